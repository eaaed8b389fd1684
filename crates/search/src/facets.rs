//! Facet counts over every match of a query, in one pass beside the top-k collector.
//!
//! The six facets' values are read per match from the fast fields (columns) — or, for a
//! segment whose [`SegmentCodes`] are at hand, from small codes decoded from those columns
//! once: a match then costs one row of (here three) codes instead of six packed-column reads,
//! which were a quarter of a search's time at ten million documents.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, ColumnIndex, StrColumn};
use tantivy::index::SegmentId;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::schema::{CATEGORY, CHANNEL, KIND, ORG, REGION, STATUS};
use crate::Facets;

/// An id column's values are counted in a dense array when the segment's range of values is
/// at most this wide, in a hash map otherwise.
const DENSE_RANGE: u64 = 1 << 16;

/// A code packs several facets' values of a document (mixed radix) into a `u16`.
const MAX_CODES: usize = 1 << 16;

/// The facet codes of the segments of an index, by segment.
pub(crate) type CodesBySegment = HashMap<SegmentId, Arc<SegmentCodes>>;

/// Counts the matches and their facets, from the codes of the segments in `codes`, from the
/// columns of the others.
#[derive(Clone)]
pub(crate) struct FacetCollector {
    pub codes: Arc<CodesBySegment>,
}

#[derive(Default)]
pub(crate) struct Counts {
    pub total: u64,
    pub status: HashMap<String, u64>,
    pub channel: HashMap<String, u64>,
    pub kind: HashMap<String, u64>,
    /// Sorted by id, each id once (merged by sorting: cheaper than hashing thousands of
    /// organisations per segment).
    pub category: Vec<(i64, u64)>,
    pub region: Vec<(i64, u64)>,
    pub org: Vec<(i64, u64)>,
}

impl Counts {
    pub fn into_facets(self) -> Facets {
        Facets {
            status: sorted(self.status),
            category: by_count(self.category),
            region: by_count(self.region),
            org: by_count(self.org),
            channel: sorted(self.channel),
            kind: sorted(self.kind),
        }
    }
}

/// By count, most first; equal counts by value, for a stable order.
fn sorted<K: Ord>(map: HashMap<K, u64>) -> Vec<(K, u64)> {
    by_count(map.into_iter().collect())
}

fn by_count<K: Ord>(mut v: Vec<(K, u64)>) -> Vec<(K, u64)> {
    v.retain(|(_, n)| *n > 0);
    v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// Merges id counts (each sorted by id) into one, sorted by id: two at a time, linearly (the
/// segments mostly share their ids; sorting them all together again cost more than the
/// counting of a small query).
fn merge_ids(parts: Vec<Vec<(i64, u64)>>) -> Vec<(i64, u64)> {
    parts.into_iter().fold(Vec::new(), |merged, part| {
        if merged.is_empty() {
            return part;
        }
        let mut out = Vec::with_capacity(merged.len().max(part.len()));
        let (mut i, mut j) = (0, 0);
        while i < merged.len() && j < part.len() {
            let (a, b) = (merged[i], part[j]);
            if a.0 == b.0 {
                out.push((a.0, a.1 + b.1));
                i += 1;
                j += 1;
            } else if a.0 < b.0 {
                out.push(a);
                i += 1;
            } else {
                out.push(b);
                j += 1;
            }
        }
        out.extend_from_slice(&merged[i..]);
        out.extend_from_slice(&part[j..]);
        out
    })
}

fn add<K: std::hash::Hash + Eq>(into: &mut HashMap<K, u64>, from: HashMap<K, u64>) {
    for (k, n) in from {
        *into.entry(k).or_insert(0) += n;
    }
}

impl Collector for FacetCollector {
    type Fruit = Counts;
    type Child = SegmentFacets;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let counters = counters(reader)?;
        let mut coded = None;
        let mut by_code = [false; FACETS];
        if let Some(codes) = self.codes.get(&reader.segment_id()) {
            // The columns' ranges are the segment's: the same as when the codes were made.
            let same = codes.groups.iter().all(|group| {
                let radices: Option<Vec<usize>> =
                    group.facets.iter().map(|f| counters[*f].radix()).collect();
                radices.as_ref() == Some(&group.radices)
            });
            if same {
                for group in &codes.groups {
                    for f in &group.facets {
                        by_code[*f] = true;
                    }
                }
                coded = Some(CodeCounts {
                    codes: Arc::clone(codes),
                    counts: codes
                        .groups
                        .iter()
                        .map(|g| vec![0; g.radices.iter().product()])
                        .collect(),
                });
            }
        }
        Ok(SegmentFacets {
            total: 0,
            block: Vec::with_capacity(BLOCK),
            counters,
            coded,
            by_code,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counts>) -> tantivy::Result<Counts> {
        let mut all = Counts::default();
        let (mut category, mut region, mut org) = (Vec::new(), Vec::new(), Vec::new());
        for c in fruits {
            all.total += c.total;
            add(&mut all.status, c.status);
            add(&mut all.channel, c.channel);
            add(&mut all.kind, c.kind);
            category.push(c.category);
            region.push(c.region);
            org.push(c.org);
        }
        all.category = merge_ids(category);
        all.region = merge_ids(region);
        all.org = merge_ids(org);
        Ok(all)
    }
}

/// Documents are counted in blocks of this many (one batched column read per block).
const BLOCK: usize = 256;

/// The number of facets.
const FACETS: usize = 6;

/// A segment's counter of each facet: status, channel, kind, category, region, org.
fn counters(reader: &SegmentReader) -> tantivy::Result<[Counter; FACETS]> {
    let fast = reader.fast_fields();
    Ok([
        Counter::Str(StrCounter::new(fast.str(STATUS)?)),
        Counter::Str(StrCounter::new(fast.str(CHANNEL)?)),
        Counter::Str(StrCounter::new(fast.str(KIND)?)),
        Counter::Id(IdCounter::new(fast.column_opt::<i64>(CATEGORY)?)),
        Counter::Id(IdCounter::new(fast.column_opt::<i64>(REGION)?)),
        Counter::Id(IdCounter::new(fast.column_opt::<i64>(ORG)?)),
    ])
}

/// The facet values of every document of a segment as codes, made once per segment (the
/// index keeps them beside its reader): the facets are taken in order into groups whose
/// values combine into at most `MAX_CODES` codes (a value's place in its segment's range —
/// its term ordinal, or id less the column's least — plus one, 0 for no value, in mixed
/// radix). A facet whose values are not a dense range is left to its column. Two bytes a
/// document per group, a document's codes side by side: three groups, 60 MB for ten million
/// documents, in the benchmark.
pub(crate) struct SegmentCodes {
    groups: Vec<CodeGroup>,
    /// `groups.len()` codes per document, document after document.
    codes: Vec<u16>,
}

struct CodeGroup {
    /// Indices into `SegmentFacets::counters`, and how many codes each has.
    facets: Vec<usize>,
    radices: Vec<usize>,
}

impl SegmentCodes {
    pub fn build(reader: &SegmentReader) -> tantivy::Result<SegmentCodes> {
        Self::build_within(reader, MAX_CODES)
    }

    fn build_within(reader: &SegmentReader, max_codes: usize) -> tantivy::Result<SegmentCodes> {
        let mut counters = counters(reader)?;
        let mut groups: Vec<CodeGroup> = Vec::new();
        for (f, counter) in counters.iter().enumerate() {
            let Some(radix) = counter.radix().filter(|r| *r <= max_codes) else {
                continue;
            };
            match groups.last_mut() {
                Some(group)
                    if group
                        .radices
                        .iter()
                        .product::<usize>()
                        .saturating_mul(radix)
                        <= max_codes =>
                {
                    group.facets.push(f);
                    group.radices.push(radix);
                }
                _ => groups.push(CodeGroup {
                    facets: vec![f],
                    radices: vec![radix],
                }),
            }
        }
        let (max_doc, width) = (reader.max_doc(), groups.len());
        let mut codes = vec![0u16; max_doc as usize * width];
        let mut docs: Vec<DocId> = Vec::with_capacity(BLOCK);
        let mut places = vec![0u32; BLOCK];
        let mut block = vec![0u32; BLOCK];
        for start in (0..max_doc).step_by(BLOCK) {
            docs.clear();
            docs.extend(start..max_doc.min(start + BLOCK as u32));
            for (at, group) in groups.iter().enumerate() {
                let block = &mut block[..docs.len()];
                block.fill(0);
                for (f, radix) in group.facets.iter().zip(&group.radices) {
                    let places = &mut places[..docs.len()];
                    counters[*f].places(&docs, places);
                    for (code, place) in block.iter_mut().zip(places.iter()) {
                        *code = *code * *radix as u32 + *place;
                    }
                }
                for (doc, code) in docs.iter().zip(block.iter()) {
                    if let Some(slot) = codes.get_mut(*doc as usize * width + at) {
                        // Below the product of the radices, at most `MAX_CODES`.
                        *slot = u16::try_from(*code).unwrap_or(u16::MAX);
                    }
                }
            }
        }
        Ok(SegmentCodes { groups, codes })
    }

    /// The bytes the codes take.
    pub fn bytes(&self) -> usize {
        self.codes.len() * 2
    }
}

/// A segment's matches per code of each of its groups.
struct CodeCounts {
    codes: Arc<SegmentCodes>,
    counts: Vec<Vec<u32>>,
}

pub(crate) struct SegmentFacets {
    total: u64,
    block: Vec<DocId>,
    counters: [Counter; FACETS],
    coded: Option<CodeCounts>,
    /// The facets counted by their group's codes (their columns are not read).
    by_code: [bool; FACETS],
}

impl SegmentCollector for SegmentFacets {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.block.push(doc);
        if self.block.len() == BLOCK {
            self.flush();
        }
    }

    /// A search that does not score hands the matches over in blocks: counted as they are.
    fn collect_block(&mut self, docs: &[DocId]) {
        if !self.block.is_empty() {
            self.flush();
        }
        for chunk in docs.chunks(BLOCK) {
            self.count(chunk);
        }
    }

    fn harvest(mut self) -> Counts {
        self.flush();
        if let Some(coded) = &self.coded {
            for (group, counts) in coded.codes.groups.iter().zip(&coded.counts) {
                for (code, n) in counts.iter().enumerate() {
                    if *n == 0 {
                        continue;
                    }
                    // The last facet of the group is the lowest digit.
                    let mut rest = code;
                    for (f, radix) in group.facets.iter().zip(&group.radices).rev() {
                        let place = rest % radix;
                        rest /= radix;
                        if place > 0 {
                            self.counters[*f].add(place - 1, u64::from(*n));
                        }
                    }
                }
            }
        }
        let [status, channel, kind, category, region, org] = self.counters;
        Counts {
            total: self.total,
            status: status.harvest_str(),
            channel: channel.harvest_str(),
            kind: kind.harvest_str(),
            category: category.harvest_ids(),
            region: region.harvest_ids(),
            org: org.harvest_ids(),
        }
    }
}

impl SegmentFacets {
    fn flush(&mut self) {
        let block = std::mem::take(&mut self.block);
        self.count(&block);
        self.block = block;
        self.block.clear();
    }

    /// Counts `docs` (at most `BLOCK`).
    fn count(&mut self, docs: &[DocId]) {
        self.total += docs.len() as u64;
        if let Some(coded) = &mut self.coded {
            let width = coded.counts.len();
            for doc in docs {
                let at = *doc as usize * width;
                let Some(row) = coded.codes.codes.get(at..at + width) else {
                    continue;
                };
                for (counts, code) in coded.counts.iter_mut().zip(row) {
                    if let Some(n) = counts.get_mut(usize::from(*code)) {
                        *n += 1;
                    }
                }
            }
        }
        for (counter, coded) in self.counters.iter_mut().zip(self.by_code) {
            if !coded {
                counter.collect(docs);
            }
        }
    }
}

/// A facet's counter in a segment.
enum Counter {
    Str(StrCounter),
    Id(IdCounter),
}

impl Counter {
    fn collect(&mut self, docs: &[DocId]) {
        match self {
            Counter::Str(c) => c.collect(docs),
            Counter::Id(c) => c.collect(docs),
        }
    }

    /// How many places its values have in this segment, 0 being no value; `None` when they
    /// are not a dense range.
    fn radix(&self) -> Option<usize> {
        match self {
            Counter::Str(c) => Some(c.counts.len() + 1),
            Counter::Id(IdCounter { column: None, .. }) => Some(1),
            Counter::Id(IdCounter {
                counts: IdCounts::Dense { counts, .. },
                ..
            }) => Some(counts.len() + 1),
            Counter::Id(_) => None,
        }
    }

    /// The place of each document's value: 1 + its ordinal or its offset from the least
    /// value, or 0 for none.
    fn places(&mut self, docs: &[DocId], places: &mut [u32]) {
        places.fill(0);
        match self {
            Counter::Str(StrCounter {
                column: Some(column),
                optional,
                ..
            }) => {
                optional.clear();
                optional.resize(docs.len(), None);
                column.ords().first_vals(docs, optional);
                for (place, ord) in places.iter_mut().zip(optional.iter()) {
                    *place = ord.map_or(0, |o| o as u32 + 1);
                }
            }
            Counter::Id(IdCounter {
                column: Some(column),
                counts: IdCounts::Dense { min, .. },
                optional,
                ..
            }) => {
                optional.clear();
                optional.resize(docs.len(), None);
                column.first_vals(docs, optional);
                for (place, value) in places.iter_mut().zip(optional.iter()) {
                    *place = value.map_or(0, |v| v.abs_diff(*min) as u32 + 1);
                }
            }
            _ => {}
        }
    }

    /// Adds `n` matches to the value at `offset` (its place less one).
    fn add(&mut self, offset: usize, n: u64) {
        let counts = match self {
            Counter::Str(c) => &mut c.counts,
            Counter::Id(IdCounter {
                counts: IdCounts::Dense { counts, .. },
                ..
            }) => counts,
            Counter::Id(_) => return,
        };
        if let Some(count) = counts.get_mut(offset) {
            *count += n;
        }
    }

    fn harvest_str(self) -> HashMap<String, u64> {
        match self {
            Counter::Str(c) => c.harvest(),
            Counter::Id(_) => HashMap::new(),
        }
    }

    fn harvest_ids(self) -> Vec<(i64, u64)> {
        match self {
            Counter::Id(c) => c.harvest(),
            Counter::Str(_) => Vec::new(),
        }
    }
}

/// Reads the values of `docs` (at most `BLOCK`) from `column` into `values` — straight from
/// the packed values when every document has one (the usual case: no `Option`s to clear,
/// write and test) — and returns them; a document without a value adds nothing.
fn read<'v, T>(
    column: &Column<T>,
    docs: &[DocId],
    values: &'v mut [T],
    optional: &mut Vec<Option<T>>,
) -> &'v [T]
where
    T: Copy + PartialOrd + std::fmt::Debug + Send + Sync + 'static,
{
    if let ColumnIndex::Full = column.index {
        let values = &mut values[..docs.len()];
        column.values.get_vals(docs, values);
        return values;
    }
    optional.clear();
    optional.resize(docs.len(), None);
    column.first_vals(docs, optional);
    let mut n = 0;
    for value in optional.iter().flatten() {
        values[n] = *value;
        n += 1;
    }
    &values[..n]
}

/// Counts per term ordinal of a segment's dictionary, turned into strings at the end.
struct StrCounter {
    column: Option<StrColumn>,
    counts: Vec<u64>,
    values: Vec<u64>,
    optional: Vec<Option<u64>>,
}

impl StrCounter {
    fn new(column: Option<StrColumn>) -> Self {
        let counts = vec![0; column.as_ref().map_or(0, |c| c.num_terms())];
        StrCounter {
            column,
            counts,
            values: vec![0; BLOCK],
            optional: Vec::new(),
        }
    }

    fn collect(&mut self, docs: &[DocId]) {
        let Some(column) = &self.column else {
            return;
        };
        for ord in read(column.ords(), docs, &mut self.values, &mut self.optional) {
            if let Some(n) = usize::try_from(*ord)
                .ok()
                .and_then(|i| self.counts.get_mut(i))
            {
                *n += 1;
            }
        }
    }

    fn harvest(self) -> HashMap<String, u64> {
        let mut out = HashMap::new();
        let Some(column) = self.column else {
            return out;
        };
        let mut value = String::new();
        for (ord, n) in self.counts.into_iter().enumerate() {
            if n == 0 {
                continue;
            }
            value.clear();
            if let Ok(true) = column.ord_to_str(ord as u64, &mut value) {
                *out.entry(value.clone()).or_insert(0) += n;
            }
        }
        out
    }
}

enum IdCounts {
    Dense { min: i64, counts: Vec<u64> },
    Sparse(HashMap<i64, u64>),
}

struct IdCounter {
    column: Option<Column<i64>>,
    counts: IdCounts,
    values: Vec<i64>,
    optional: Vec<Option<i64>>,
}

impl IdCounter {
    fn new(column: Option<Column<i64>>) -> Self {
        let counts = match &column {
            Some(c) if c.max_value().abs_diff(c.min_value()) < DENSE_RANGE => {
                let width = c.max_value().abs_diff(c.min_value()) + 1;
                IdCounts::Dense {
                    min: c.min_value(),
                    counts: vec![0; width as usize],
                }
            }
            _ => IdCounts::Sparse(HashMap::new()),
        };
        IdCounter {
            column,
            counts,
            values: vec![0; BLOCK],
            optional: Vec::new(),
        }
    }

    fn collect(&mut self, docs: &[DocId]) {
        let Some(column) = &self.column else {
            return;
        };
        let values = read(column, docs, &mut self.values, &mut self.optional);
        match &mut self.counts {
            IdCounts::Dense { min, counts } => {
                for value in values {
                    if let Some(n) = counts.get_mut(value.abs_diff(*min) as usize) {
                        *n += 1;
                    }
                }
            }
            IdCounts::Sparse(map) => {
                for value in values {
                    *map.entry(*value).or_insert(0) += 1;
                }
            }
        }
    }

    /// Sorted by id.
    fn harvest(self) -> Vec<(i64, u64)> {
        match self.counts {
            IdCounts::Sparse(map) => {
                let mut v: Vec<(i64, u64)> = map.into_iter().collect();
                v.sort_unstable_by_key(|(id, _)| *id);
                v
            }
            IdCounts::Dense { min, counts } => counts
                .into_iter()
                .enumerate()
                .filter(|(_, n)| *n > 0)
                .map(|(i, n)| (min.wrapping_add(i as i64), n))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use tantivy::query::{AllQuery, Query, TermQuery};
    use tantivy::schema::IndexRecordOption;
    use tantivy::Term;

    use super::*;
    use crate::tests::corpus;

    #[test]
    fn ids_merge_in_order() {
        let merged = merge_ids(vec![
            vec![(1, 1), (5, 2), (9, 1)],
            vec![],
            vec![(-3, 4), (5, 1)],
            vec![(9, 2), (12, 7)],
        ]);
        assert_eq!(merged, [(-3, 4), (1, 1), (5, 3), (9, 3), (12, 7)]);
    }

    #[test]
    fn codes_count_what_the_columns_count() {
        let index = corpus();
        let searcher = index.reader.searcher();
        let by_columns = FacetCollector {
            codes: Arc::new(CodesBySegment::new()),
        };
        let codes = |max_codes| {
            let codes: CodesBySegment = searcher
                .segment_readers()
                .iter()
                .map(|r| {
                    let codes = SegmentCodes::build_within(r, max_codes).unwrap();
                    (r.segment_id(), Arc::new(codes))
                })
                .collect();
            FacetCollector {
                codes: Arc::new(codes),
            }
        };
        // All facets in codes; status with kind and category alone; only some facets coded.
        let collectors = [
            index.facet_collector(),
            codes(MAX_CODES),
            codes(100),
            codes(4),
        ];
        assert!(index.facet_codes_bytes() > 0);
        let queries: Vec<Box<dyn Query>> = vec![
            Box::new(AllQuery),
            Box::new(TermQuery::new(
                Term::from_field_text(index.fields.body, "ям"),
                IndexRecordOption::Basic,
            )),
            Box::new(TermQuery::new(
                Term::from_field_text(index.fields.body, "фонар"),
                IndexRecordOption::Basic,
            )),
        ];
        for query in &queries {
            let expected = searcher.search(query.as_ref(), &by_columns).unwrap();
            let (total, expected) = (expected.total, expected.into_facets());
            assert!(!expected.region.is_empty() || total == 0);
            for collector in &collectors {
                let got = searcher.search(query.as_ref(), collector).unwrap();
                assert_eq!(got.total, total);
                assert_eq!(got.into_facets(), expected);
                // Scored, one match at a time.
                let (_, got) = searcher
                    .search(
                        query.as_ref(),
                        &(
                            tantivy::collector::TopDocs::with_limit(1),
                            collector.clone(),
                        ),
                    )
                    .unwrap();
                assert_eq!(got.into_facets(), expected);
            }
        }
    }
}
