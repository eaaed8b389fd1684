//! Facet counts over every match of a query, read from the fast fields (columns) in one pass
//! beside the top-k collector.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::schema::{CATEGORY, CHANNEL, KIND, ORG, REGION, STATUS};
use crate::Facets;

/// An id column's values are counted in a dense array when the segment's range of values is
/// at most this wide, in a hash map otherwise.
const DENSE_RANGE: u64 = 1 << 16;

/// Counts the matches and their facets.
pub(crate) struct FacetCollector;

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

/// Merges id counts (each sorted by id) into one, sorted by id.
fn merge_ids(parts: Vec<Vec<(i64, u64)>>) -> Vec<(i64, u64)> {
    let mut all: Vec<(i64, u64)> = parts.into_iter().flatten().collect();
    all.sort_unstable_by_key(|(id, _)| *id);
    let mut merged: Vec<(i64, u64)> = Vec::with_capacity(all.len());
    for (id, n) in all {
        match merged.last_mut() {
            Some(last) if last.0 == id => last.1 += n,
            _ => merged.push((id, n)),
        }
    }
    merged
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
        let fast = reader.fast_fields();
        Ok(SegmentFacets {
            total: 0,
            block: Vec::with_capacity(BLOCK),
            status: StrCounter::new(fast.str(STATUS)?),
            channel: StrCounter::new(fast.str(CHANNEL)?),
            kind: StrCounter::new(fast.str(KIND)?),
            category: IdCounter::new(fast.column_opt::<i64>(CATEGORY)?),
            region: IdCounter::new(fast.column_opt::<i64>(REGION)?),
            org: IdCounter::new(fast.column_opt::<i64>(ORG)?),
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

pub(crate) struct SegmentFacets {
    total: u64,
    block: Vec<DocId>,
    status: StrCounter,
    channel: StrCounter,
    kind: StrCounter,
    category: IdCounter,
    region: IdCounter,
    org: IdCounter,
}

impl SegmentCollector for SegmentFacets {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.block.push(doc);
        if self.block.len() == BLOCK {
            self.flush();
        }
    }

    fn harvest(mut self) -> Counts {
        self.flush();
        Counts {
            total: self.total,
            status: self.status.harvest(),
            channel: self.channel.harvest(),
            kind: self.kind.harvest(),
            category: self.category.harvest(),
            region: self.region.harvest(),
            org: self.org.harvest(),
        }
    }
}

impl SegmentFacets {
    fn flush(&mut self) {
        let docs = &self.block[..];
        self.total += docs.len() as u64;
        self.status.collect(docs);
        self.channel.collect(docs);
        self.kind.collect(docs);
        self.category.collect(docs);
        self.region.collect(docs);
        self.org.collect(docs);
        self.block.clear();
    }
}

/// Counts per term ordinal of a segment's dictionary, turned into strings at the end.
struct StrCounter {
    column: Option<StrColumn>,
    counts: Vec<u64>,
    values: Vec<Option<u64>>,
}

impl StrCounter {
    fn new(column: Option<StrColumn>) -> Self {
        let counts = vec![0; column.as_ref().map_or(0, |c| c.num_terms())];
        StrCounter {
            column,
            counts,
            values: vec![None; BLOCK],
        }
    }

    fn collect(&mut self, docs: &[DocId]) {
        let Some(column) = &self.column else {
            return;
        };
        let values = &mut self.values[..docs.len()];
        values.fill(None);
        column.ords().first_vals(docs, values);
        for ord in values.iter().flatten() {
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
    values: Vec<Option<i64>>,
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
            values: vec![None; BLOCK],
        }
    }

    fn collect(&mut self, docs: &[DocId]) {
        let Some(column) = &self.column else {
            return;
        };
        let values = &mut self.values[..docs.len()];
        values.fill(None);
        column.first_vals(docs, values);
        match &mut self.counts {
            IdCounts::Dense { min, counts } => {
                for value in values.iter().flatten() {
                    if let Some(n) = counts.get_mut(value.abs_diff(*min) as usize) {
                        *n += 1;
                    }
                }
            }
            IdCounts::Sparse(map) => {
                for value in values.iter().flatten() {
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
