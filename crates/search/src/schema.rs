//! The index's schema and the mapping of an [`IndexedDoc`] onto it.

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST,
    INDEXED, STORED, STRING,
};
use tantivy::TantivyDocument;

use crate::analysis::{PAIRS, RAW, RU};
use crate::{DocKind, IndexedDoc};

/// Bump whenever the schema, the analysis or the meaning of a field changes: an index on disk
/// with another version is wiped and rebuilt by the caller from cursor 0.
pub(crate) const SCHEMA_VERSION: u32 = 4;

pub(crate) const KIND: &str = "kind";
pub(crate) const STATUS: &str = "status";
pub(crate) const CATEGORY: &str = "category";
pub(crate) const REGION: &str = "region";
pub(crate) const ORG: &str = "org";
pub(crate) const CHANNEL: &str = "channel";
pub(crate) const CREATED_AT: &str = "created_at";

#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    pub key: Field,
    pub kind: Field,
    pub submission: Field,
    /// Stored; indexed (stemmed, with frequencies) to weigh title matches ×2.
    pub title: Field,
    /// Stored only.
    pub text: Field,
    /// Title and text, stemmed, with positions: every word and phrase is matched here.
    pub body: Field,
    /// Title and text as pairs of consecutive stems, with frequencies; a pair with words
    /// removed between its stems also as a second, gapped token. A phrase requires its pairs,
    /// which finds its few candidates before positions are read; a phrase of two adjacent
    /// stems is matched and counted from these alone (pairs minus gapped pairs).
    pub pairs: Field,
    /// Title and text, lower-cased but neither stemmed nor stripped of stop words: prefixes
    /// and typos are matched here.
    pub raw: Field,
    pub status: Field,
    pub category: Field,
    pub subcategory: Field,
    pub region: Field,
    pub municipality: Field,
    pub org: Field,
    pub channel: Field,
    pub author: Field,
    pub created_at: Field,
    /// 1 when the submission is public (other citizens may see it), else 0.
    pub public: Field,
    /// Stored: the social incident of a post (where its hit links to).
    pub parent: Field,
    /// A submission's text only (not its title, which names its subcategory: every
    /// submission of one would share those words), stemmed, with frequencies: what
    /// `SearchIndex::similar` matches and scores.
    pub like: Field,
}

pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let title = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(RU)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
        .set_stored();
    let body = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(RU)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let raw = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(RAW)
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false),
    );
    let pairs = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(PAIRS)
            .set_index_option(IndexRecordOption::WithFreqs)
            .set_fieldnorms(false),
    );
    let like = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(RU)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let facet_id = NumericOptions::default().set_indexed().set_fast();
    let fields = Fields {
        key: b.add_text_field("key", STRING | STORED),
        kind: b.add_text_field(KIND, STRING | FAST | STORED),
        submission: b.add_i64_field("submission", INDEXED | STORED),
        title: b.add_text_field("title", title),
        text: b.add_text_field("text", STORED),
        body: b.add_text_field("body", body),
        raw: b.add_text_field("raw", raw),
        pairs: b.add_text_field("pairs", pairs),
        status: b.add_text_field(STATUS, STRING | FAST),
        category: b.add_i64_field(CATEGORY, facet_id.clone()),
        subcategory: b.add_i64_field("subcategory", INDEXED),
        region: b.add_i64_field(REGION, facet_id.clone()),
        municipality: b.add_i64_field("municipality", INDEXED),
        org: b.add_i64_field(ORG, facet_id),
        channel: b.add_text_field(CHANNEL, STRING | FAST),
        author: b.add_i64_field("author", INDEXED),
        created_at: b.add_i64_field(CREATED_AT, INDEXED | FAST | STORED),
        public: b.add_u64_field("public", INDEXED | FAST),
        parent: b.add_i64_field("parent", STORED),
        like: b.add_text_field("like", like),
    };
    (b.build(), fields)
}

pub(crate) fn to_document(d: &IndexedDoc, f: &Fields) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_text(f.key, &d.key);
    doc.add_text(f.kind, d.kind.as_str());
    doc.add_text(f.title, &d.title);
    doc.add_text(f.text, &d.text);
    doc.add_text(f.body, &d.title);
    doc.add_text(f.body, &d.text);
    doc.add_text(f.pairs, &d.title);
    doc.add_text(f.pairs, &d.text);
    doc.add_text(f.raw, &d.title);
    doc.add_text(f.raw, &d.text);
    if d.kind == DocKind::Submission {
        doc.add_text(f.like, &d.text);
    }
    doc.add_i64(f.created_at, d.created_at);
    doc.add_u64(f.public, u64::from(d.public));
    let ids = [
        (f.submission, d.submission),
        (f.category, d.category),
        (f.subcategory, d.subcategory),
        (f.region, d.region),
        (f.municipality, d.municipality),
        (f.org, d.org),
        (f.author, d.author),
        (f.parent, d.parent),
    ];
    for (field, value) in ids {
        if let Some(value) = value {
            doc.add_i64(field, value);
        }
    }
    for (field, value) in [(f.status, &d.status), (f.channel, &d.channel)] {
        if let Some(value) = value {
            doc.add_text(field, value);
        }
    }
    doc
}
