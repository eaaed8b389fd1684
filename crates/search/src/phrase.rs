//! A phrase of two adjacent stems («яма дорога»), matched and counted from the `pairs` field
//! instead of positions.
//!
//! Over a frequent pair, reading both stems' positions in every candidate was most of a
//! phrase query's time (a million candidates at ten million documents). `pairs` holds a token
//! for each two consecutive stems, and a second, gapped one when words were removed between
//! them; so the times the stems stand side by side in a document are the pair's frequency
//! less the gapped pair's — exactly the count tantivy's `PhraseQuery` reads from positions,
//! since body's positions leave a gap where a word was removed and between title and text.
//! The score is the phrase's (BM25 with the stems' summed idf, body's field norms, that
//! count), and the scorer reports the phrase scorer's size (the rarer stem's document
//! frequency), so the clauses of a query are intersected and summed in the same order as
//! before: the same matches, counts and scores.

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::{Bm25Weight, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyError, Term, TERMINATED};

use crate::analysis;

/// Two stems next to each other (positions 0 and 1 of a phrase).
#[derive(Debug, Clone)]
pub(crate) struct AdjacentPairQuery {
    /// The stems in `body`: the phrase's idf, field norms and size.
    stems: [Term; 2],
    /// The pair in `pairs`, and its gapped token.
    pair: Term,
    gapped: Term,
}

impl AdjacentPairQuery {
    pub fn new(body: Field, pairs: Field, first: &str, second: &str) -> Self {
        AdjacentPairQuery {
            stems: [
                Term::from_field_text(body, first),
                Term::from_field_text(body, second),
            ],
            pair: Term::from_field_text(pairs, &analysis::pair(first, second)),
            gapped: Term::from_field_text(pairs, &analysis::gapped_pair(first, second)),
        }
    }
}

impl Query for AdjacentPairQuery {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        // As `PhraseQuery` weighs the phrase on body.
        let bm25 = match scoring {
            EnableScoring::Enabled {
                statistics_provider,
                ..
            } => Some(Bm25Weight::for_terms(statistics_provider, &self.stems)?),
            EnableScoring::Disabled { .. } => None,
        };
        Ok(Box::new(AdjacentPairWeight {
            query: self.clone(),
            bm25,
        }))
    }
}

struct AdjacentPairWeight {
    query: AdjacentPairQuery,
    bm25: Option<Bm25Weight>,
}

impl Weight for AdjacentPairWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let body = self.query.stems[0].field();
        let stems = reader.inverted_index(body)?;
        // The phrase scorer's size: its rarer stem's document frequency (none: no scorer).
        let mut size = u32::MAX;
        for stem in &self.query.stems {
            match stems.get_term_info(stem)? {
                Some(info) => size = size.min(info.doc_freq),
                None => return Ok(Box::new(EmptyScorer)),
            }
        }
        let pairs = reader.inverted_index(self.query.pair.field())?;
        let Some(pair) = pairs.read_postings(&self.query.pair, IndexRecordOption::WithFreqs)?
        else {
            return Ok(Box::new(EmptyScorer));
        };
        let gapped = pairs.read_postings(&self.query.gapped, IndexRecordOption::WithFreqs)?;
        let fieldnorms = match &self.bm25 {
            Some(_) => reader.fieldnorms_readers().get_field(body)?,
            None => None,
        }
        .unwrap_or_else(|| FieldNormReader::constant(reader.max_doc(), 1));
        Ok(Box::new(AdjacentPairScorer::new(
            pair,
            gapped,
            fieldnorms,
            self.bm25.as_ref().map(|w| w.boost_by(boost)),
            size,
        )))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        Ok(Explanation::new("adjacent pair (phrase)", scorer.score()))
    }
}

struct AdjacentPairScorer {
    pair: SegmentPostings,
    gapped: Option<SegmentPostings>,
    fieldnorms: FieldNormReader,
    bm25: Option<Bm25Weight>,
    size: u32,
    /// How often the stems stand side by side in the current document.
    adjacent: u32,
}

impl AdjacentPairScorer {
    fn new(
        pair: SegmentPostings,
        gapped: Option<SegmentPostings>,
        fieldnorms: FieldNormReader,
        bm25: Option<Bm25Weight>,
        size: u32,
    ) -> Self {
        let mut scorer = AdjacentPairScorer {
            pair,
            gapped,
            fieldnorms,
            bm25,
            size,
            adjacent: 0,
        };
        if scorer.doc() != TERMINATED && !scorer.counted() {
            scorer.advance();
        }
        scorer
    }

    /// Counts the adjacent occurrences in the current document: whether there are any.
    fn counted(&mut self) -> bool {
        let doc = self.pair.doc();
        let mut adjacent = self.pair.term_freq();
        if let Some(gapped) = &mut self.gapped {
            if gapped.doc() < doc {
                gapped.seek(doc);
            }
            if gapped.doc() == doc {
                adjacent = adjacent.saturating_sub(gapped.term_freq());
            }
        }
        self.adjacent = adjacent;
        adjacent > 0
    }
}

impl DocSet for AdjacentPairScorer {
    fn advance(&mut self) -> DocId {
        loop {
            let doc = self.pair.advance();
            if doc == TERMINATED || self.counted() {
                return doc;
            }
        }
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let doc = self.pair.seek(target);
        if doc == TERMINATED || self.counted() {
            return doc;
        }
        self.advance()
    }

    fn doc(&self) -> DocId {
        self.pair.doc()
    }

    fn size_hint(&self) -> u32 {
        self.size
    }
}

impl Scorer for AdjacentPairScorer {
    fn score(&mut self) -> Score {
        match &self.bm25 {
            Some(bm25) => bm25.score(self.fieldnorms.fieldnorm_id(self.doc()), self.adjacent),
            None => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{
        BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, TermQuery,
    };

    use super::*;
    use crate::tests::corpus;
    use crate::SearchIndex;

    const STEMS: [&str; 5] = ["ям", "дорог", "двор", "свет", "дом"];

    fn all(index: &SearchIndex, query: &dyn Query) -> Vec<(u32, tantivy::DocAddress)> {
        let searcher = index.reader.searcher();
        let hits = searcher
            .search(query, &TopDocs::with_limit(100_000))
            .unwrap();
        // Scores compared bit for bit.
        hits.into_iter().map(|(s, a)| (s.to_bits(), a)).collect()
    }

    #[test]
    fn adjacent_pairs_match_count_and_score_as_positions_do() {
        let index = corpus();
        assert!(index.segments() > 1);
        let f = index.fields;
        let searcher = index.reader.searcher();
        let body = |s: &str| Term::from_field_text(f.body, s);
        let mut matched = 0;
        for a in STEMS {
            for b in STEMS {
                let positions = PhraseQuery::new_with_offset(vec![(0, body(a)), (1, body(b))]);
                let pairs = AdjacentPairQuery::new(f.body, f.pairs, a, b);
                let expected = all(&index, &positions);
                matched += expected.len();
                assert_eq!(all(&index, &pairs), expected, "«{a} {b}»");
                // Without scoring too.
                assert_eq!(
                    searcher.search(&pairs, &Count).unwrap(),
                    searcher.search(&positions, &Count).unwrap()
                );
                // Inside a query as the search builds it: the pair filter, a word, the
                // title's clauses — the same order of clauses, the same sums.
                let query = |phrase: Box<dyn Query>| {
                    let title = |s: &str| -> Box<dyn Query> {
                        Box::new(BoostQuery::new(
                            Box::new(TermQuery::new(
                                Term::from_field_text(f.title, s),
                                IndexRecordOption::WithFreqs,
                            )),
                            2.0,
                        ))
                    };
                    BooleanQuery::new(vec![
                        (
                            Occur::Must,
                            Box::new(TermQuery::new(body("двор"), IndexRecordOption::WithFreqs)),
                        ),
                        (
                            Occur::Must,
                            Box::new(ConstScoreQuery::new(
                                Box::new(TermQuery::new(
                                    Term::from_field_text(f.pairs, &analysis::pair(a, b)),
                                    IndexRecordOption::Basic,
                                )),
                                0.0,
                            )),
                        ),
                        (Occur::Must, phrase),
                        (Occur::Should, title(a)),
                        (Occur::Should, title(b)),
                        (Occur::Should, title("двор")),
                    ])
                };
                assert_eq!(
                    all(&index, &query(Box::new(pairs.clone()))),
                    all(&index, &query(Box::new(positions.clone()))),
                    "двор «{a} {b}»"
                );
            }
        }
        assert!(matched > 1_000, "{matched}");
    }
}
