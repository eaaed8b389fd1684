//! The embedded full-text search of submissions, answers, incidents and social-media
//! incidents and posts, in Russian.
//!
//! One [`SearchIndex`] per process holds a tantivy index (on disk, or in memory for tests),
//! its single writer and a reader reloaded after every commit. The caller feeds it
//! [`IndexedDoc`]s with [`SearchIndex::apply`], which commits together with the caller's
//! cursor (the last source position indexed), and asks it [`SearchQuery`]s, or
//! [`SimilarQuery`]s ("more like this": the submissions like a text being typed).
//!
//! Invariants: the scope of a query is a clause of the query itself, so a document outside it
//! is neither counted, nor faceted, nor paged; nothing the user types reaches tantivy's query
//! parser (the query is built term by term); this crate knows nothing of HTTP or SQL.

mod analysis;
mod error;
mod facets;
mod phrase;
mod query;
mod schema;
mod snippet;

use std::fmt;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::Query;
use tantivy::schema::Value;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument,
    Term,
};

pub use error::{ErrorKind, SearchError};

use facets::{CodesBySegment, Counts, FacetCollector, SegmentCodes};
use query::Plan;
use schema::{Fields, SCHEMA_VERSION};
use snippet::Marker;

/// The most hits one page returns.
pub const MAX_LIMIT: usize = 100;
/// The deepest page offset.
pub const MAX_OFFSET: usize = 10_000;

/// The file beside tantivy's that records the schema version of the index in a directory.
const VERSION_FILE: &str = "otklik-search.version";
/// Indexing memory per writer thread.
const WRITER_BUDGET_PER_THREAD: usize = 64 << 20;
const WRITER_BUDGET_IN_MEMORY: usize = 32 << 20;

/// What an indexed document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocKind {
    Submission,
    Answer,
    /// A row of the procedure incident register.
    Incident,
    /// A social-media incident (posts about one problem in one place).
    Social,
    /// One relevant social-media post.
    Post,
}

impl DocKind {
    pub const ALL: [DocKind; 5] = [
        DocKind::Submission,
        DocKind::Answer,
        DocKind::Incident,
        DocKind::Social,
        DocKind::Post,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Submission => "submission",
            DocKind::Answer => "answer",
            DocKind::Incident => "incident",
            DocKind::Social => "social",
            DocKind::Post => "post",
        }
    }

    pub fn parse(s: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One document as the caller indexes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedDoc {
    /// Unique: "submission:12", "answer:34" (an answer event), "incident:5" (a register
    /// row), "social:7" (a social-media incident), "post:9".
    pub key: String,
    pub kind: DocKind,
    /// The submission it belongs to (for answers and submissions).
    pub submission: Option<i64>,
    /// Short: e.g. "2026-0000012 · Ямы и выбоины на дороге". Searched, weighted ×2.
    pub title: String,
    /// The searchable body.
    pub text: String,
    pub status: Option<String>,
    pub category: Option<i64>,
    pub subcategory: Option<i64>,
    pub region: Option<i64>,
    pub municipality: Option<i64>,
    pub org: Option<i64>,
    /// portal, widget, api, open311, …
    pub channel: Option<String>,
    /// The citizen who wrote it (the scope `Scope::Author` matches this).
    pub author: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// A public submission (its author agreed that other citizens see it): what
    /// `SimilarQuery::public_only` keeps.
    #[serde(default)]
    pub public: bool,
    /// Where the document belongs besides its submission: a post's social incident.
    #[serde(default)]
    pub parent: Option<i64>,
}

/// The most hits `SearchIndex::similar` returns.
pub const MAX_SIMILAR: usize = 20;
/// The characters of `SimilarQuery::text` read (the rest is ignored).
pub const MAX_SIMILAR_CHARS: usize = 5_000;
/// The distinct words of the text a similarity query looks for, the rarest first.
pub const MAX_SIMILAR_TERMS: usize = 32;
/// How many candidates per wanted hit `similar` checks for the minimum of shared words.
const SIMILAR_CANDIDATES: usize = 4;

/// "More like this": submissions whose text resembles `text` (what a citizen is typing),
/// for duplicate suggestions. Only submissions; a rejected one never.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimilarQuery {
    /// Any text; only its first `MAX_SIMILAR_CHARS` characters are read.
    pub text: String,
    pub subcategory: Option<i64>,
    pub region: Option<i64>,
    pub municipality: Option<i64>,
    /// Only public submissions.
    pub public_only: bool,
    /// Only open ones (registered, in progress, reopened, awaiting clarification).
    pub open_only: bool,
    /// A submission not to return (the one being looked at).
    pub exclude: Option<i64>,
    pub scope: Scope,
    /// 1 to `MAX_SIMILAR` (more is cut to it; 0 returns nothing).
    pub limit: usize,
}

/// What the searcher may read, applied inside the query (never after paging).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    All,
    /// The documents whose `author` is this person.
    Author(i64),
    /// The documents of these organisations (none: nothing).
    Orgs(Vec<i64>),
    /// The documents of these regions (none: nothing).
    Regions(Vec<i64>),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// BM25 (title ×2). A query without text is always sorted by `Newest`.
    #[default]
    Relevance,
    /// By `created_at`, newest first.
    Newest,
}

/// Restrictions on the matches, each one required when set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// Any of these kinds; empty: any kind.
    pub kinds: Vec<DocKind>,
    pub status: Option<String>,
    pub category: Option<i64>,
    pub subcategory: Option<i64>,
    pub region: Option<i64>,
    pub org: Option<i64>,
    pub channel: Option<String>,
    /// `created_at >= from` (unix seconds, inclusive).
    pub from: Option<i64>,
    /// `created_at < to` (unix seconds, exclusive).
    pub to: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// What the user typed: words (all required), "phrases", prefix* (3+ letters). Blank: every
    /// document in scope matching the filters, newest first.
    pub text: String,
    pub filters: Filters,
    pub scope: Scope,
    pub sort: Sort,
    /// At most `MAX_LIMIT` (more is cut to it); 0 returns the total and facets only.
    pub limit: usize,
    /// At most `MAX_OFFSET` (more is an `invalid_query`).
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub key: String,
    pub kind: DocKind,
    pub submission: Option<i64>,
    pub title: String,
    /// A post's social incident (see `IndexedDoc::parent`).
    pub parent: Option<i64>,
    /// BM25 for `Sort::Relevance`; 0 for `Sort::Newest`.
    pub score: f32,
    pub created_at: i64,
    /// Text around the matches, HTML-escaped, matches in `<mark>…</mark>`.
    pub snippet_html: String,
}

/// Counts over all the matches of the query, scope and filters, most first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facets {
    pub status: Vec<(String, u64)>,
    pub category: Vec<(i64, u64)>,
    pub region: Vec<(i64, u64)>,
    pub org: Vec<(i64, u64)>,
    pub channel: Vec<(String, u64)>,
    pub kind: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// All the matches (not the page).
    pub total: u64,
    pub hits: Vec<Hit>,
    pub facets: Facets,
    pub took_ms: f64,
    /// The words matched nothing as typed, and these are the matches allowing a typo or two.
    pub fuzzy: bool,
}

/// The search index. `Send + Sync`: share one per process (an `Arc`); searches run in
/// parallel, `apply` and `clear` one at a time.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    /// `None` only while `wait_merging` swaps it, or after a failure to reopen it.
    writer: Mutex<Option<IndexWriter>>,
    threads: usize,
    budget_per_thread: usize,
    fields: Fields,
    cursor: AtomicU64,
    ru: TextAnalyzer,
    raw: TextAnalyzer,
    /// The facet codes of the reader's segments (see `facets::SegmentCodes`), made when the
    /// reader is reloaded; a search takes the map as it is (a segment missing from it is
    /// counted from its columns).
    codes: Mutex<Arc<CodesBySegment>>,
    /// Held while the codes are made, so that two reloads do not make them twice.
    coding: Mutex<()>,
}

impl fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SearchIndex")
            .field("docs", &self.count())
            .field("cursor", &self.cursor())
            .finish_non_exhaustive()
    }
}

fn io_failed(doing: String) -> impl FnOnce(std::io::Error) -> SearchError {
    move |e| SearchError::failed(doing, e)
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4))
}

impl SearchIndex {
    /// Opens (or creates) the index in `dir`, a directory of its own. If the stored schema
    /// version differs from this build's, the directory is wiped and recreated empty (the
    /// caller then sees `cursor() == 0` and reindexes). An index that cannot be read is
    /// `index_corrupt`: `recreate` starts it again.
    pub fn open(dir: &Path) -> Result<Self, SearchError> {
        fs::create_dir_all(dir).map_err(io_failed(format!("creating {}", dir.display())))?;
        let (schema, fields) = schema::build();
        if dir.join("meta.json").exists() {
            if read_version(dir) == Some(SCHEMA_VERSION) {
                let index = Index::open_in_dir(dir)
                    .map_err(|e| SearchError::tantivy("opening the index", e))?;
                if index.schema() == schema {
                    return Self::start(index, fields, threads(), WRITER_BUDGET_PER_THREAD);
                }
            }
            ensure_unused(dir)?;
            wipe(dir)?;
        }
        let index = Index::builder()
            .schema(schema)
            .create_in_dir(dir)
            .map_err(|e| SearchError::tantivy("creating the index", e))?;
        write_version(dir)?;
        Self::start(index, fields, threads(), WRITER_BUDGET_PER_THREAD)
    }

    /// Wipes `dir` and opens a new empty index there (unless another process has it open).
    pub fn recreate(dir: &Path) -> Result<Self, SearchError> {
        if dir.exists() {
            ensure_unused(dir)?;
            wipe(dir)?;
        }
        Self::open(dir)
    }

    /// An index in memory (tests, demos).
    pub fn in_memory() -> Result<Self, SearchError> {
        let (schema, fields) = schema::build();
        let index = Index::builder()
            .schema(schema)
            .create_in_ram()
            .map_err(|e| SearchError::tantivy("creating the index", e))?;
        Self::start(index, fields, 1, WRITER_BUDGET_IN_MEMORY)
    }

    fn start(
        mut index: Index,
        fields: Fields,
        threads: usize,
        budget_per_thread: usize,
    ) -> Result<Self, SearchError> {
        analysis::register(index.tokenizers());
        index
            .set_multithread_executor(threads)
            .map_err(|e| SearchError::tantivy("starting the search threads", e))?;
        let writer = new_writer(&index, threads, budget_per_thread)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| SearchError::tantivy("opening the reader", e))?;
        let cursor = index
            .load_metas()
            .map_err(|e| SearchError::tantivy("reading the index's metadata", e))?
            .payload
            .and_then(|p| p.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let index = SearchIndex {
            index,
            reader,
            writer: Mutex::new(Some(writer)),
            threads,
            budget_per_thread,
            fields,
            cursor: AtomicU64::new(cursor),
            ru: analysis::russian(),
            raw: analysis::raw(),
            codes: Mutex::new(Arc::new(CodesBySegment::new())),
            coding: Mutex::new(()),
        };
        index.code_segments();
        Ok(index)
    }

    /// Replaces the documents with the same keys (delete, then add), removes the `deletes`
    /// keys — deletes first, so a key in both ends up present — and commits with `cursor` as
    /// the commit's payload, so that after a crash the index and its cursor agree. Nothing of a
    /// failed call is kept. An empty call still commits the cursor.
    pub fn apply(
        &self,
        upserts: &[IndexedDoc],
        deletes: &[String],
        cursor: u64,
    ) -> Result<(), SearchError> {
        let mut guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let writer = guard.as_mut().ok_or_else(no_writer)?;
        let key_term = |key: &str| Term::from_field_text(self.fields.key, key);
        let written = (|| {
            for key in deletes {
                writer.delete_term(key_term(key));
            }
            for doc in upserts {
                writer.delete_term(key_term(&doc.key));
                writer.add_document(schema::to_document(doc, &self.fields))?;
            }
            commit(writer, cursor)
        })();
        if let Err(e) = written {
            // Drops whatever was added since the last commit; the error is the first one.
            let _ = writer.rollback();
            return Err(SearchError::tantivy("indexing", e));
        }
        self.cursor.store(cursor, Ordering::SeqCst);
        drop(guard);
        self.reload()
    }

    /// The cursor of the last commit (0 when empty or new).
    pub fn cursor(&self) -> u64 {
        self.cursor.load(Ordering::SeqCst)
    }

    /// Empties the index and sets its cursor to 0 (for `otklik search reindex`).
    pub fn clear(&self) -> Result<(), SearchError> {
        let mut guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let writer = guard.as_mut().ok_or_else(no_writer)?;
        let done = writer
            .delete_all_documents()
            .and_then(|_| commit(writer, 0));
        if let Err(e) = done {
            let _ = writer.rollback();
            return Err(SearchError::tantivy("clearing the index", e));
        }
        self.cursor.store(0, Ordering::SeqCst);
        drop(guard);
        self.reload()
    }

    /// The number of documents searchable now.
    pub fn count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The bytes the index's files take (0 in memory).
    pub fn size_on_disk(&self) -> u64 {
        self.reader
            .searcher()
            .space_usage()
            .map_or(0, |u| u.total().get_bytes())
    }

    /// Waits for the segment merges running in the background to end (before measuring, or
    /// at shutdown), then opens the writer again.
    pub fn wait_merging(&self) -> Result<(), SearchError> {
        let mut guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let writer = guard.take().ok_or_else(no_writer)?;
        writer
            .wait_merging_threads()
            .map_err(|e| SearchError::tantivy("merging segments", e))?;
        *guard = Some(new_writer(
            &self.index,
            self.threads,
            self.budget_per_thread,
        )?);
        drop(guard);
        self.reload()
    }

    /// The number of segments searched now (many small ones slow searches down).
    pub fn segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    fn reload(&self) -> Result<(), SearchError> {
        self.reader
            .reload()
            .map_err(|e| SearchError::tantivy("reloading the reader", e))?;
        self.code_segments();
        Ok(())
    }

    /// Makes the facet codes of the segments that have none yet and forgets those of the
    /// segments gone (merged or emptied). A segment whose codes cannot be made is counted
    /// from its columns, as before the codes.
    fn code_segments(&self) {
        let _coding = self.coding.lock().unwrap_or_else(PoisonError::into_inner);
        let searcher = self.reader.searcher();
        let known = Arc::clone(&self.codes.lock().unwrap_or_else(PoisonError::into_inner));
        let mut codes = CodesBySegment::with_capacity(searcher.segment_readers().len());
        for segment in searcher.segment_readers() {
            let id = segment.segment_id();
            let coded = match known.get(&id) {
                Some(coded) => Arc::clone(coded),
                None => match SegmentCodes::build(segment) {
                    Ok(coded) => Arc::new(coded),
                    Err(_) => continue,
                },
            };
            codes.insert(id, coded);
        }
        *self.codes.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(codes);
    }

    /// The facet collector of a search: the codes of the segments as they are now.
    fn facet_collector(&self) -> FacetCollector {
        FacetCollector {
            codes: Arc::clone(&self.codes.lock().unwrap_or_else(PoisonError::into_inner)),
        }
    }

    /// The bytes the facet codes take in memory.
    pub fn facet_codes_bytes(&self) -> usize {
        let codes = Arc::clone(&self.codes.lock().unwrap_or_else(PoisonError::into_inner));
        codes.values().map(|c| c.bytes()).sum()
    }

    /// Runs a query. See the crate's README for the syntax; errors are `invalid_query` (the
    /// user's text or paging) or the index's.
    pub fn search(&self, q: &SearchQuery) -> Result<SearchResults, SearchError> {
        let started = Instant::now();
        if q.offset > MAX_OFFSET {
            return Err(SearchError::invalid_query(format!(
                "the page is too deep (offset over {MAX_OFFSET})"
            )));
        }
        let limit = q.limit.min(MAX_LIMIT);
        let (mut ru, mut raw) = (self.ru.clone(), self.raw.clone());
        let plan = query::parse(&q.text, &mut ru, &mut raw)?;
        let (plan, sort) = match plan {
            None => (None, Sort::Newest),
            // Only stop words or punctuation: nothing to look for.
            Some(p) if p.is_empty() => {
                return Ok(SearchResults {
                    total: 0,
                    hits: Vec::new(),
                    facets: Facets::default(),
                    took_ms: elapsed_ms(started),
                    fuzzy: false,
                })
            }
            Some(p) => (Some(p), q.sort),
        };
        let searcher = self.reader.searcher();
        let facets = self.facet_collector();
        let unrestricted = q.filters == Filters::default() && q.scope == Scope::All;
        let run = |fuzzy: bool| {
            let text = plan
                .as_ref()
                .map(|p| query::text_query(p, &self.fields, fuzzy));
            let full = query::full_query(text, &q.filters, &q.scope, &self.fields);
            // One word, nothing else: its top hits are found apart, by block-max WAND.
            let union = plan
                .as_ref()
                .filter(|_| unrestricted && !fuzzy)
                .and_then(|p| query::single_word_union(p, &self.fields));
            collect(
                &searcher,
                &*full,
                union.as_deref(),
                facets.clone(),
                sort,
                limit,
                q.offset,
            )
        };
        let (mut top, mut counts) = run(false)?;
        let mut fuzzy = false;
        if counts.total == 0 && plan.as_ref().is_some_and(Plan::can_be_fuzzy) {
            let (t, c) = run(true)?;
            if c.total > 0 {
                (top, counts, fuzzy) = (t, c, true);
            }
        }
        let marker = plan.as_ref().map(|p| Marker::new(p, fuzzy));
        let hits = top
            .into_iter()
            .map(|(score, address)| {
                self.hit(
                    &searcher,
                    address,
                    score,
                    marker.as_ref(),
                    &mut ru,
                    &mut raw,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SearchResults {
            total: counts.total,
            hits,
            facets: counts.into_facets(),
            took_ms: elapsed_ms(started),
            fuzzy,
        })
    }

    /// The submissions most like `q.text` (BM25 over the submissions' texts — not their
    /// titles — for its rarer distinct words, at least
    /// two of them — or 30 % of them when there are many — required; one word when the
    /// text has only one), within the scope and the filters, best first. A text with no
    /// word to look for (blank, stop words, punctuation) finds nothing; never an
    /// `invalid_query`.
    pub fn similar(&self, q: &SimilarQuery) -> Result<Vec<Hit>, SearchError> {
        let limit = q.limit.min(MAX_SIMILAR);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let text: String = q.text.chars().take(MAX_SIMILAR_CHARS).collect();
        let (mut ru, mut raw) = (self.ru.clone(), self.raw.clone());
        let mut stems: Vec<String> = Vec::new();
        for stem in analysis::analyze(&mut ru, &text) {
            if !stems.contains(&stem) {
                stems.push(stem);
            }
        }
        let searcher = self.reader.searcher();
        // The rarer a word, the more it says: keep the rarest that occur at all.
        let mut known: Vec<(u64, usize, String)> = Vec::with_capacity(stems.len());
        for (order, stem) in stems.into_iter().enumerate() {
            let df = searcher
                .doc_freq(&Term::from_field_text(self.fields.like, &stem))
                .map_err(|e| SearchError::tantivy("searching", e))?;
            if df > 0 {
                known.push((df, order, stem));
            }
        }
        known.sort_unstable();
        known.truncate(MAX_SIMILAR_TERMS);
        if known.is_empty() {
            return Ok(Vec::new());
        }
        let terms: Vec<String> = known.into_iter().map(|(_, _, stem)| stem).collect();
        let full = query::similar_query(&terms, q, &self.fields);
        // The best candidates by BM25, then those that share enough of the words.
        let top = searcher
            .search(&*full, &TopDocs::with_limit(limit * SIMILAR_CANDIDATES))
            .map_err(|e| SearchError::tantivy("searching", e))?;
        let minimum = query::similar_minimum(terms.len());
        let mut kept = Vec::with_capacity(limit);
        for (score, address) in top {
            if kept.len() == limit {
                break;
            }
            let doc: TantivyDocument = searcher
                .doc(address)
                .map_err(|e| SearchError::tantivy("reading a document", e))?;
            let text = doc
                .get_first(self.fields.text)
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let words = analysis::analyze(&mut ru, text);
            let shared = terms.iter().filter(|t| words.contains(t)).count();
            if shared >= minimum {
                kept.push((score, address));
            }
        }
        let top = kept;
        let plan = query::Plan {
            words: terms
                .iter()
                .map(|stem| query::Word {
                    raw: stem.clone(),
                    stem: stem.clone(),
                })
                .collect(),
            ..query::Plan::default()
        };
        let marker = Marker::new(&plan, false);
        top.into_iter()
            .map(|(score, address)| {
                self.hit(&searcher, address, score, Some(&marker), &mut ru, &mut raw)
            })
            .collect()
    }

    fn hit(
        &self,
        searcher: &Searcher,
        address: DocAddress,
        score: f32,
        marker: Option<&Marker<'_>>,
        ru: &mut TextAnalyzer,
        raw: &mut TextAnalyzer,
    ) -> Result<Hit, SearchError> {
        let f = &self.fields;
        let doc: TantivyDocument = searcher
            .doc(address)
            .map_err(|e| SearchError::tantivy("reading a document", e))?;
        let text_of = |field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or("");
        let int_of = |field| doc.get_first(field).and_then(|v| v.as_i64());
        let kind = DocKind::parse(text_of(f.kind))
            .ok_or_else(|| SearchError::corrupt("a document of an unknown kind"))?;
        Ok(Hit {
            key: text_of(f.key).to_string(),
            kind,
            submission: int_of(f.submission),
            title: text_of(f.title).to_string(),
            parent: int_of(f.parent),
            score,
            created_at: int_of(f.created_at).unwrap_or(0),
            snippet_html: snippet::snippet(text_of(f.text), marker, ru, raw),
        })
    }
}

fn elapsed_ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

type Top = Vec<(f32, DocAddress)>;

/// The page and the counts of one query: in one pass, or — when `union` is the same query as
/// a union of term clauses (the same matches and scores) — in two: the counts without
/// scoring, and the page from the union, where block-max WAND skips the blocks of postings
/// that cannot reach the page. Scoring and counting every match of a frequent word together
/// cost twice as much.
fn collect(
    searcher: &Searcher,
    query: &dyn Query,
    union: Option<&dyn Query>,
    facets: FacetCollector,
    sort: Sort,
    limit: usize,
    offset: usize,
) -> Result<(Top, Counts), SearchError> {
    let searching = |e| SearchError::tantivy("searching", e);
    if limit == 0 {
        let counts = searcher.search(query, &facets).map_err(searching)?;
        return Ok((Vec::new(), counts));
    }
    let page = TopDocs::with_limit(limit).and_offset(offset);
    match (sort, union) {
        (Sort::Relevance, Some(union)) => {
            let counts = searcher.search(query, &facets).map_err(searching)?;
            let top = searcher.search(union, &page).map_err(searching)?;
            Ok((top, counts))
        }
        (Sort::Relevance, None) => searcher.search(query, &(page, facets)).map_err(searching),
        (Sort::Newest, _) => {
            let by_date = page.order_by_fast_field::<i64>(schema::CREATED_AT, Order::Desc);
            let (top, counts) = searcher
                .search(query, &(by_date, facets))
                .map_err(searching)?;
            Ok((top.into_iter().map(|(_, a)| (0.0, a)).collect(), counts))
        }
    }
}

fn new_writer(
    index: &Index,
    threads: usize,
    budget_per_thread: usize,
) -> Result<IndexWriter, SearchError> {
    index
        .writer_with_num_threads(threads, threads * budget_per_thread)
        .map_err(|e| SearchError::tantivy("opening the writer", e))
}

fn no_writer() -> SearchError {
    SearchError::corrupt("the index's writer could not be reopened")
}

fn commit(writer: &mut IndexWriter, cursor: u64) -> tantivy::Result<u64> {
    let mut prepared = writer.prepare_commit()?;
    prepared.set_payload(&cursor.to_string());
    prepared.commit()
}

fn read_version(dir: &Path) -> Option<u32> {
    fs::read_to_string(dir.join(VERSION_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

fn write_version(dir: &Path) -> Result<(), SearchError> {
    let tmp = dir.join(format!("{VERSION_FILE}.tmp"));
    fs::write(&tmp, format!("{SCHEMA_VERSION}\n"))
        .and_then(|()| fs::rename(&tmp, dir.join(VERSION_FILE)))
        .map_err(io_failed(format!(
            "writing {}",
            dir.join(VERSION_FILE).display()
        )))
}

/// Fails with `index_failed` if another process holds the index in `dir` open for writing
/// (its writer's lock), so that it is not wiped under it.
fn ensure_unused(dir: &Path) -> Result<(), SearchError> {
    // An index that does not even open is no one's.
    let Ok(index) = Index::open_in_dir(dir) else {
        return Ok(());
    };
    match index.writer_with_num_threads::<TantivyDocument>(1, 15 << 20) {
        Err(e @ tantivy::TantivyError::LockFailure(..)) => {
            Err(SearchError::tantivy("replacing the index", e))
        }
        _ => Ok(()),
    }
}

/// Removes everything inside `dir` (the directory itself stays: it may be a mount point).
fn wipe(dir: &Path) -> Result<(), SearchError> {
    let failed = |p: &Path| io_failed(format!("wiping {}", p.display()));
    for entry in fs::read_dir(dir).map_err(failed(dir))? {
        let entry = entry.map_err(failed(dir))?;
        let path = entry.path();
        let is_dir = entry.file_type().map_err(failed(&path))?.is_dir();
        if is_dir {
            fs::remove_dir_all(&path).map_err(failed(&path))?;
        } else {
            fs::remove_file(&path).map_err(failed(&path))?;
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    #[test]
    fn the_index_is_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        shared::<SearchIndex>();
    }

    /// Forms of a few stems, stop words, and a token too long to be indexed.
    const WORDS: [&str; 11] = [
        "яма",
        "ямы",
        "дорога",
        "дороге",
        "двор",
        "свет",
        "на",
        "в",
        "и",
        "дом",
        "жжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжж",
    ];

    fn text(rng: &mut StdRng, words: usize) -> String {
        (0..words)
            .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Four segments of short random documents (a title and a text each, some facets).
    pub(crate) fn corpus() -> SearchIndex {
        let index = SearchIndex::in_memory().unwrap();
        let mut rng = StdRng::seed_from_u64(12);
        for batch in 0..4 {
            let docs: Vec<IndexedDoc> = (0..800)
                .map(|i| {
                    let id = batch * 800 + i;
                    let title_words = rng.gen_range(0..4);
                    let text_words = rng.gen_range(0..25);
                    IndexedDoc {
                        key: format!("submission:{id}"),
                        kind: DocKind::Submission,
                        submission: Some(id),
                        title: text(&mut rng, title_words),
                        text: text(&mut rng, text_words),
                        status: Some(["registered", "answered"][rng.gen_range(0..2)].into()),
                        category: Some(rng.gen_range(1..4)),
                        subcategory: None,
                        region: rng.gen_bool(0.8).then(|| rng.gen_range(1..90)),
                        municipality: None,
                        org: Some(rng.gen_range(1..300)),
                        channel: None,
                        author: None,
                        created_at: 0,
                        public: false,
                        parent: None,
                    }
                })
                .collect();
            index.apply(&docs, &[], batch as u64 + 1).unwrap();
        }
        index
    }

    #[test]
    fn one_word_pages_by_wand_are_the_pages_of_the_whole_query() {
        let index = corpus();
        let searcher = index.reader.searcher();
        let (mut ru, mut raw) = (analysis::russian(), analysis::raw());
        for word in ["яма", "дороге", "двор", "свет", "дом", "фонарь"] {
            let plan = query::parse(word, &mut ru, &mut raw).unwrap().unwrap();
            let text = query::text_query(&plan, &index.fields, false);
            let full =
                query::full_query(Some(text), &Filters::default(), &Scope::All, &index.fields);
            let union = query::single_word_union(&plan, &index.fields).unwrap();
            for (limit, offset) in [(1, 0), (20, 0), (20, 40), (100, 500)] {
                let bits = |top: Top| -> Vec<(u32, DocAddress)> {
                    top.into_iter().map(|(s, a)| (s.to_bits(), a)).collect()
                };
                let (top, counts) = collect(
                    &searcher,
                    &*full,
                    None,
                    index.facet_collector(),
                    Sort::Relevance,
                    limit,
                    offset,
                )
                .unwrap();
                let (pruned, pruned_counts) = collect(
                    &searcher,
                    &*full,
                    Some(&*union),
                    index.facet_collector(),
                    Sort::Relevance,
                    limit,
                    offset,
                )
                .unwrap();
                assert_eq!(bits(pruned), bits(top), "{word} {limit} {offset}");
                assert_eq!(pruned_counts.total, counts.total);
                assert_eq!(pruned_counts.into_facets(), counts.into_facets());
            }
        }
    }

    #[test]
    fn kinds_round_trip() {
        for k in DocKind::ALL {
            assert_eq!(DocKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(DocKind::parse("Submission"), None);
    }
}
