//! From what the user typed to a tantivy query, built term by term (no query parser: nothing
//! the user types is syntax tantivy could choke on).
//!
//! The grammar is that of a search box: words (all required), `"a phrase"` (also «…», “…”),
//! and `prefix*` (at least three letters). Everything else is text.

use std::ops::Bound;
use std::sync::OnceLock;

use levenshtein_automata::{Distance, LevenshteinAutomatonBuilder, DFA, SINK_STATE};
use tantivy::query::{
    AllQuery, AutomatonWeight, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery,
    EnableScoring, Occur, PhraseQuery, Query, RangeQuery, TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::Term;
use tantivy_fst::Automaton;

use crate::analysis::{self, tokens};
use crate::phrase::AdjacentPairQuery;
use crate::schema::Fields;
use crate::{DocKind, Filters, Scope, SearchError, SimilarQuery};

/// Longer queries are refused (`invalid_query`).
pub(crate) const MAX_QUERY_CHARS: usize = 1_000;
/// More words, phrase words and prefixes than this are refused.
pub(crate) const MAX_TERMS: usize = 32;
/// The letters a prefix needs before `*`.
pub(crate) const MIN_PREFIX_CHARS: usize = 3;
const TITLE_BOOST: f32 = 2.0;
/// The typo matches' constant score, below an exact word's usual BM25.
const FUZZY_SCORE: f32 = 0.5;

/// A plain word of the query: as typed (lower-cased, ё → е) and stemmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    pub raw: String,
    pub stem: String,
}

/// What the user asked for, analysed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub words: Vec<Word>,
    /// Stems of each phrase with their positions (stop words leave gaps).
    pub phrases: Vec<Vec<(usize, String)>>,
    pub prefixes: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.phrases.is_empty() && self.prefixes.is_empty()
    }

    /// The typo-tolerant distance for a word of the query, if it has one.
    pub fn fuzzy_distance(word: &Word) -> Option<u8> {
        match word.raw.chars().count() {
            0..=4 => None,
            5..=8 => Some(1),
            _ => Some(2),
        }
    }

    pub fn can_be_fuzzy(&self) -> bool {
        self.words.iter().any(|w| Self::fuzzy_distance(w).is_some())
    }
}

/// Parses the text of the search box. `Ok(None)` when it is blank (list everything).
pub(crate) fn parse(
    text: &str,
    ru: &mut TextAnalyzer,
    raw: &mut TextAnalyzer,
) -> Result<Option<Plan>, SearchError> {
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(SearchError::invalid_query(format!(
            "the query is too long (more than {MAX_QUERY_CHARS} characters)"
        )));
    }
    let text: String = text
        .chars()
        .map(|c| match c {
            '«' | '»' | '“' | '”' | '„' => '"',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    if text.trim().is_empty() {
        return Ok(None);
    }
    let mut plan = Plan::default();
    // Even pieces are outside quotes, odd ones inside; an unclosed quote runs to the end.
    for (i, piece) in text.split('"').enumerate() {
        if i % 2 == 1 {
            add_phrase(&mut plan, piece, ru);
        } else {
            for chunk in piece.split_whitespace() {
                add_chunk(&mut plan, chunk, ru, raw)?;
            }
        }
    }
    let terms =
        plan.words.len() + plan.prefixes.len() + plan.phrases.iter().map(Vec::len).sum::<usize>();
    if terms > MAX_TERMS {
        return Err(SearchError::invalid_query(format!(
            "the query has too many words (more than {MAX_TERMS})"
        )));
    }
    Ok(Some(plan))
}

fn add_phrase(plan: &mut Plan, phrase: &str, ru: &mut TextAnalyzer) {
    let toks = tokens(ru, phrase);
    match toks.as_slice() {
        [] => {}
        [one] => add_word(plan, one.text.clone(), one.text.clone()),
        [first, ..] => {
            let start = first.position;
            let stems = toks
                .iter()
                .map(|t| (t.position.saturating_sub(start), t.text.clone()))
                .collect();
            if !plan.phrases.contains(&stems) {
                plan.phrases.push(stems);
            }
        }
    }
}

fn add_chunk(
    plan: &mut Plan,
    chunk: &str,
    ru: &mut TextAnalyzer,
    raw: &mut TextAnalyzer,
) -> Result<(), SearchError> {
    let is_prefix = chunk.ends_with('*');
    let mut words = analysis::analyze(raw, chunk);
    let prefix = if is_prefix { words.pop() } else { None };
    for word in words {
        // A stop word has no stem and is not searched for.
        if let Some(stem) = analysis::analyze(ru, &word).pop() {
            add_word(plan, word, stem);
        }
    }
    if let Some(prefix) = prefix {
        if prefix.chars().count() < MIN_PREFIX_CHARS {
            return Err(SearchError::invalid_query(format!(
                "a prefix needs at least {MIN_PREFIX_CHARS} letters before *: «{prefix}*»"
            )));
        }
        if !plan.prefixes.contains(&prefix) {
            plan.prefixes.push(prefix);
        }
    }
    Ok(())
}

fn add_word(plan: &mut Plan, raw: String, stem: String) {
    if !plan.words.iter().any(|w| w.stem == stem) {
        plan.words.push(Word { raw, stem });
    }
}

fn term_query(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

fn boosted(query: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    Box::new(BoostQuery::new(query, boost))
}

fn any_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        queries.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

fn phrase_query(f: &Fields, stems: &[(usize, String)]) -> Box<dyn Query> {
    if let [(0, first), (1, second)] = stems {
        // Two adjacent stems (the usual phrase): counted from the pairs, positions unread.
        return Box::new(AdjacentPairQuery::new(f.body, f.pairs, first, second));
    }
    let terms = stems
        .iter()
        .map(|(pos, stem)| (*pos, Term::from_field_text(f.body, stem)))
        .collect::<Vec<_>>();
    if terms.len() < 2 {
        // `PhraseQuery` needs two terms; `add_phrase` never makes shorter ones.
        return match terms.into_iter().next() {
            Some((_, term)) => Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
            None => Box::new(EmptyQuery),
        };
    }
    Box::new(PhraseQuery::new_with_offset(terms))
}

/// The text part of the query: every word, phrase and prefix required; with `fuzzy`, words of
/// five letters or more also match within their edit distance (first letter kept).
///
/// Matching is on `body` (title and text), one plain term or phrase scorer per clause; the
/// title's weight comes from optional clauses on `title`, which only score the documents the
/// required ones matched: score = BM25(body) + 2 × BM25(title).
pub(crate) fn text_query(plan: &Plan, f: &Fields, fuzzy: bool) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut title_stems: Vec<&str> = Vec::new();
    for word in &plan.words {
        let exact = term_query(f.body, &word.stem);
        match (fuzzy, Plan::fuzzy_distance(word)) {
            (true, Some(distance)) => {
                let mut any = vec![exact];
                for (field, form) in [(f.raw, &word.raw), (f.body, &word.stem)] {
                    if let Some(q) = FuzzyFirstLetter::new(field, form, distance) {
                        any.push(Box::new(ConstScoreQuery::new(Box::new(q), FUZZY_SCORE)));
                    }
                }
                clauses.push((Occur::Must, any_of(any)));
            }
            _ => clauses.push((Occur::Must, exact)),
        }
        title_stems.push(&word.stem);
    }
    for stems in &plan.phrases {
        // The pairs first narrow the candidates to a few documents; the phrase then checks
        // positions in those only (and that stop words stand where the query has them), or,
        // for two adjacent stems, counts them from the pairs.
        for pair in stems.windows(2) {
            let term = Term::from_field_text(f.pairs, &analysis::pair(&pair[0].1, &pair[1].1));
            clauses.push(filter(Box::new(TermQuery::new(
                term,
                IndexRecordOption::Basic,
            ))));
        }
        clauses.push((Occur::Must, phrase_query(f, stems)));
        title_stems.extend(stems.iter().map(|(_, s)| s.as_str()));
    }
    for prefix in &plan.prefixes {
        clauses.push((
            Occur::Must,
            Box::new(PrefixQuery {
                field: f.raw,
                prefix: prefix.clone(),
            }),
        ));
    }
    title_stems.sort_unstable();
    title_stems.dedup();
    for stem in title_stems {
        clauses.push((
            Occur::Should,
            boosted(term_query(f.title, stem), TITLE_BOOST),
        ));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// The text query of one word and nothing else as the union it equals — every title match is
/// a body match, and the union adds the same two scores (body + 2 × title) — or `None` for
/// any other plan. A union of term clauses is what tantivy's block-max WAND prunes when only
/// the top hits are wanted (not with a minimum of one clause to match, hence 0).
pub(crate) fn single_word_union(plan: &Plan, f: &Fields) -> Option<Box<dyn Query>> {
    match plan.words.as_slice() {
        [word] if plan.phrases.is_empty() && plan.prefixes.is_empty() => {
            Some(Box::new(BooleanQuery::with_minimum_required_clauses(
                vec![
                    (Occur::Should, term_query(f.body, &word.stem)),
                    (
                        Occur::Should,
                        boosted(term_query(f.title, &word.stem), TITLE_BOOST),
                    ),
                ],
                0,
            )))
        }
        _ => None,
    }
}

fn filter(query: Box<dyn Query>) -> (Occur, Box<dyn Query>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0)))
}

fn id_term(field: Field, value: i64) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_i64(field, value),
        IndexRecordOption::Basic,
    ))
}

fn str_term(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// The scope as a required clause that does not score (none for `Scope::All`).
fn scope_clause(scope: &Scope, f: &Fields) -> Option<(Occur, Box<dyn Query>)> {
    match scope {
        Scope::All => None,
        Scope::Author(author) => Some(filter(id_term(f.author, *author))),
        Scope::Orgs(orgs) => Some(filter(any_of(
            orgs.iter().map(|o| id_term(f.org, *o)).collect(),
        ))),
        Scope::Regions(regions) => Some(filter(any_of(
            regions.iter().map(|r| id_term(f.region, *r)).collect(),
        ))),
    }
}

/// The statuses `SimilarQuery::open_only` keeps.
pub(crate) const OPEN_STATUSES: [&str; 4] = [
    "registered",
    "in_progress",
    "reopened",
    "awaiting_clarification",
];

/// How many of `terms` distinct words a similar document must contain: the one word of a
/// one-word text, else at least two, and 30 % of them when there are many.
pub(crate) fn similar_minimum(terms: usize) -> usize {
    match terms {
        0 | 1 => terms,
        n => (n * 3).div_ceil(10).max(2),
    }
}

/// "More like this": any of `terms` (stems) in a submission's text (`like`) — the caller
/// keeps those with at least `similar_minimum` of them — scored by BM25; only submissions, never rejected ones,
/// within the scope and the query's filters.
pub(crate) fn similar_query(terms: &[String], q: &SimilarQuery, f: &Fields) -> Box<dyn Query> {
    // Any of the words (the minimum is checked on the best candidates afterwards: a
    // plain union seeks along the small filtered set, where a minimum-match disjunction
    // walked every posting of every word, ~3 ms a word at a million documents).
    let words: Vec<(Occur, Box<dyn Query>)> = terms
        .iter()
        .map(|stem| (Occur::Should, term_query(f.like, stem)))
        .collect();
    let mut clauses: Vec<(Occur, Box<dyn Query>)> =
        vec![(Occur::Must, Box::new(BooleanQuery::new(words)))];
    clauses.push(filter(str_term(f.kind, DocKind::Submission.as_str())));
    clauses.extend(scope_clause(&q.scope, f));
    for (field, value) in [
        (f.subcategory, q.subcategory),
        (f.region, q.region),
        (f.municipality, q.municipality),
    ] {
        if let Some(value) = value {
            clauses.push(filter(id_term(field, value)));
        }
    }
    if q.public_only {
        clauses.push(filter(Box::new(TermQuery::new(
            Term::from_field_u64(f.public, 1),
            IndexRecordOption::Basic,
        ))));
    }
    if q.open_only {
        clauses.push(filter(any_of(
            OPEN_STATUSES
                .iter()
                .map(|s| str_term(f.status, s))
                .collect(),
        )));
    }
    clauses.push((Occur::MustNot, str_term(f.status, "rejected")));
    if let Some(id) = q.exclude {
        clauses.push((Occur::MustNot, id_term(f.submission, id)));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// The whole query: the text (or everything), and the scope and the filters as required
/// clauses that do not score, so they restrict the matches before any counting or paging.
pub(crate) fn full_query(
    text: Option<Box<dyn Query>>,
    filters: &Filters,
    scope: &Scope,
    f: &Fields,
) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    clauses.push((
        Occur::Must,
        text.unwrap_or_else(|| Box::new(ConstScoreQuery::new(Box::new(AllQuery), 0.0))),
    ));
    clauses.extend(scope_clause(scope, f));
    if !filters.kinds.is_empty() {
        clauses.push(filter(any_of(
            filters
                .kinds
                .iter()
                .map(|k| str_term(f.kind, k.as_str()))
                .collect(),
        )));
    }
    if let Some(status) = &filters.status {
        clauses.push(filter(str_term(f.status, status)));
    }
    if let Some(channel) = &filters.channel {
        clauses.push(filter(str_term(f.channel, channel)));
    }
    for (field, value) in [
        (f.category, filters.category),
        (f.subcategory, filters.subcategory),
        (f.region, filters.region),
        (f.org, filters.org),
    ] {
        if let Some(value) = value {
            clauses.push(filter(id_term(field, value)));
        }
    }
    if filters.from.is_some() || filters.to.is_some() {
        let lower = match filters.from {
            Some(from) => Bound::Included(Term::from_field_i64(f.created_at, from)),
            None => Bound::Unbounded,
        };
        let upper = match filters.to {
            Some(to) => Bound::Excluded(Term::from_field_i64(f.created_at, to)),
            None => Bound::Unbounded,
        };
        clauses.push(filter(Box::new(RangeQuery::new(lower, upper))));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Terms of `field` that start with `prefix`.
#[derive(Debug, Clone)]
pub(crate) struct PrefixQuery {
    field: Field,
    prefix: String,
}

impl Query for PrefixQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let automaton = PrefixAutomaton(self.prefix.as_bytes().to_vec());
        Ok(Box::new(AutomatonWeight::new(self.field, automaton)))
    }
}

struct PrefixAutomaton(Vec<u8>);

impl Automaton for PrefixAutomaton {
    /// How many bytes of the prefix were seen; `None` once a byte differed.
    type State = Option<usize>;

    fn start(&self) -> Option<usize> {
        Some(0)
    }

    fn is_match(&self, state: &Option<usize>) -> bool {
        *state == Some(self.0.len())
    }

    fn can_match(&self, state: &Option<usize>) -> bool {
        state.is_some()
    }

    fn will_always_match(&self, state: &Option<usize>) -> bool {
        self.is_match(state)
    }

    fn accept(&self, state: &Option<usize>, byte: u8) -> Option<usize> {
        let seen = (*state)?;
        match self.0.get(seen) {
            None => Some(seen),
            Some(&b) if b == byte => Some(seen + 1),
            Some(_) => None,
        }
    }
}

/// Terms within a Levenshtein distance (a transposition costs one) of a word, whose first
/// letter is the word's: a typo in the first letter is rare, and allowing it would flood the
/// matches of short words.
#[derive(Debug, Clone)]
pub(crate) struct FuzzyFirstLetter {
    field: Field,
    first: String,
    rest: String,
    distance: u8,
}

impl FuzzyFirstLetter {
    fn new(field: Field, word: &str, distance: u8) -> Option<Self> {
        let first = word.chars().next()?;
        Some(FuzzyFirstLetter {
            field,
            first: first.to_string(),
            rest: word[first.len_utf8()..].to_string(),
            distance: distance.clamp(1, 2),
        })
    }
}

fn levenshtein(distance: u8) -> &'static LevenshteinAutomatonBuilder {
    static ONE: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    static TWO: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    if distance <= 1 {
        ONE.get_or_init(|| LevenshteinAutomatonBuilder::new(1, true))
    } else {
        TWO.get_or_init(|| LevenshteinAutomatonBuilder::new(2, true))
    }
}

impl Query for FuzzyFirstLetter {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let automaton = FirstThenDfa {
            first: self.first.as_bytes().to_vec(),
            dfa: levenshtein(self.distance).build_dfa(&self.rest),
        };
        Ok(Box::new(AutomatonWeight::new(self.field, automaton)))
    }
}

/// The exact bytes of `first`, then a Levenshtein DFA over the rest.
struct FirstThenDfa {
    first: Vec<u8>,
    dfa: DFA,
}

#[derive(Clone, Copy)]
enum FirstThen {
    /// This many bytes of the first letter were seen.
    First(usize),
    Dfa(u32),
    Dead,
}

impl Automaton for FirstThenDfa {
    type State = FirstThen;

    fn start(&self) -> FirstThen {
        if self.first.is_empty() {
            FirstThen::Dfa(self.dfa.initial_state())
        } else {
            FirstThen::First(0)
        }
    }

    fn is_match(&self, state: &FirstThen) -> bool {
        match state {
            FirstThen::Dfa(s) => matches!(self.dfa.distance(*s), Distance::Exact(_)),
            _ => false,
        }
    }

    fn can_match(&self, state: &FirstThen) -> bool {
        match state {
            FirstThen::First(_) => true,
            FirstThen::Dfa(s) => *s != SINK_STATE,
            FirstThen::Dead => false,
        }
    }

    fn accept(&self, state: &FirstThen, byte: u8) -> FirstThen {
        match *state {
            FirstThen::First(seen) => match self.first.get(seen) {
                Some(&b) if b == byte => {
                    if seen + 1 == self.first.len() {
                        FirstThen::Dfa(self.dfa.initial_state())
                    } else {
                        FirstThen::First(seen + 1)
                    }
                }
                _ => FirstThen::Dead,
            },
            FirstThen::Dfa(s) => FirstThen::Dfa(self.dfa.transition(s, byte)),
            FirstThen::Dead => FirstThen::Dead,
        }
    }
}

/// Whether two words are within `max` edits (a transposition of neighbours counting one) of
/// each other, their first letters equal: the automaton's test, for the snippet's marks.
pub(crate) fn within_distance(a: &str, b: &str, max: u8) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.first() != b.first() || a.is_empty() {
        return false;
    }
    let max = usize::from(max);
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    // Optimal string alignment distance, rows of the DP table.
    let n = b.len();
    let mut prev2: Vec<usize> = vec![0; n + 1];
    let mut prev: Vec<usize> = (0..=n).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; n + 1];
        for j in 1..=n {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[n] <= max
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::analysis::{raw, russian};

    fn plan(text: &str) -> Result<Option<Plan>, SearchError> {
        parse(text, &mut russian(), &mut raw())
    }

    #[test]
    fn words_are_analysed_like_the_text() {
        let p = plan("Ямы на ДОРОГАХ").unwrap().unwrap();
        let stems: Vec<_> = p.words.iter().map(|w| w.stem.as_str()).collect();
        assert_eq!(stems, ["ям", "дорог"]);
        assert_eq!(p.words[1].raw, "дорогах");
    }

    #[test]
    fn phrases_keep_the_gaps_of_stop_words() {
        let p = plan("«яма на дороге» свет").unwrap().unwrap();
        assert_eq!(
            p.phrases,
            vec![vec![(0, "ям".to_string()), (2, "дорог".to_string())]]
        );
        assert_eq!(p.words.len(), 1);
        // An unclosed quote runs to the end.
        let p = plan("\"яма на дороге").unwrap().unwrap();
        assert_eq!(p.phrases.len(), 1);
    }

    #[test]
    fn prefixes_need_three_letters() {
        let p = plan("освещ* двор").unwrap().unwrap();
        assert_eq!(p.prefixes, ["освещ"]);
        let err = plan("ос*").unwrap_err();
        assert_eq!(err.code(), "invalid_query");
        // A lone star is punctuation.
        assert_eq!(plan("* двор").unwrap().unwrap().prefixes.len(), 0);
    }

    #[test]
    fn blank_and_stop_words() {
        assert_eq!(plan("  \t ").unwrap(), None);
        assert!(plan("и на в").unwrap().unwrap().is_empty());
        assert!(plan("!!! ,,, ...").unwrap().unwrap().is_empty());
    }

    #[test]
    fn similar_minimums() {
        let got: Vec<usize> = [0, 1, 2, 3, 6, 7, 10, 32]
            .into_iter()
            .map(similar_minimum)
            .collect();
        assert_eq!(got, [0, 1, 2, 2, 2, 3, 3, 10]);
    }

    #[test]
    fn distances() {
        assert!(within_distance("дорога", "дорога", 1));
        assert!(within_distance("дорога", "дорого", 1));
        assert!(within_distance("дорога", "дрога", 1));
        assert!(within_distance("дорога", "дорогаа", 1));
        assert!(within_distance("дорога", "доорга", 1)); // transposition
        assert!(!within_distance("дорога", "торога", 2)); // the first letter is kept
        assert!(!within_distance("дорога", "дрого", 1));
        assert!(within_distance("освещение", "освешенее", 2));
    }
}
