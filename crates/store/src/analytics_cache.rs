//! Sums of analytics cells read once per range of periods and kept on the node
//! (`docs/ANALYTICS.md`, "Periods read once").
//!
//! Every write to the cells (a follower batch, an import) gives each period it touches a
//! version greater than any before (`analytics_periods`); a rebuild drops the versions
//! with the cells. A range's highest version therefore changes whenever anything in the
//! range changes, and never comes back: an entry read under the version the range still
//! has holds exactly what the cells hold. Finished months and days keep their version, so
//! a dashboard reads from the database only the period still being written.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Memory the sums of one kind may take on a node. A country-wide report's range is
/// about 2 MB (a thousand groups of figures and histograms).
pub(crate) const BUDGET_BYTES: usize = 48 << 20;

/// One read of one range: the statements' shape (table, grouping, filter), the
/// projection, the answer's series, and the range itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RangeKey {
    pub shape: String,
    pub mask: u8,
    pub series: Option<&'static str>,
    pub grain: &'static str,
    pub from: i64,
    pub to: i64,
}

struct Entry<T> {
    version: i64,
    rows: Arc<Vec<T>>,
    bytes: usize,
    used: u64,
}

struct Kept<T> {
    entries: HashMap<RangeKey, Entry<T>>,
    bytes: usize,
    tick: u64,
}

/// Ranges' sums of one kind, least recently used first out past the budget.
pub(crate) struct RangeSums<T> {
    kept: Mutex<Kept<T>>,
    budget: usize,
}

impl<T> RangeSums<T> {
    pub fn new(budget: usize) -> Self {
        Self {
            kept: Mutex::new(Kept {
                entries: HashMap::new(),
                bytes: 0,
                tick: 0,
            }),
            budget,
        }
    }

    /// The range's sums, when they were read under `version`.
    pub fn get(&self, key: &RangeKey, version: i64) -> Option<Arc<Vec<T>>> {
        let mut kept = self.kept.lock().ok()?;
        kept.tick += 1;
        let tick = kept.tick;
        let entry = kept.entries.get_mut(key)?;
        if entry.version != version {
            return None;
        }
        entry.used = tick;
        Some(entry.rows.clone())
    }

    /// Keeps the range's sums read under `version` (a range larger than a quarter of the
    /// budget is not kept: it would push everything else out).
    pub fn put(&self, key: RangeKey, version: i64, rows: Arc<Vec<T>>) {
        let bytes = rows.len() * std::mem::size_of::<T>() + std::mem::size_of::<Entry<T>>();
        if bytes > self.budget / 4 {
            return;
        }
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        kept.tick += 1;
        let used = kept.tick;
        if let Some(old) = kept.entries.insert(
            key,
            Entry {
                version,
                rows,
                bytes,
                used,
            },
        ) {
            kept.bytes -= old.bytes;
        }
        kept.bytes += bytes;
        while kept.bytes > self.budget {
            let Some(oldest) = kept
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(gone) = kept.entries.remove(&oldest) {
                kept.bytes -= gone.bytes;
            }
        }
    }
}

/// The node's kept sums: submissions' cells and social-media incidents' cells.
pub(crate) struct AnalyticsCache {
    pub cells: RangeSums<crate::CellSum>,
    pub social: RangeSums<crate::SocialSum>,
}

impl Default for AnalyticsCache {
    fn default() -> Self {
        Self {
            cells: RangeSums::new(BUDGET_BYTES),
            social: RangeSums::new(BUDGET_BYTES / 2),
        }
    }
}

impl std::fmt::Debug for AnalyticsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AnalyticsCache")
    }
}

/// The ranges a planned range is read in: its last period apart from the rest, since the
/// last is most often the one still being written.
pub(crate) fn split_last(from: i64, to: i64) -> Vec<(i64, i64)> {
    if from < to {
        vec![(from, to - 1), (to, to)]
    } else {
        vec![(from, to)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(from: i64) -> RangeKey {
        RangeKey {
            shape: "s".to_owned(),
            mask: 0,
            series: None,
            grain: "d",
            from,
            to: from,
        }
    }

    #[test]
    fn an_entry_serves_only_its_version() {
        let sums = RangeSums::<u64>::new(1 << 20);
        sums.put(key(1), 7, Arc::new(vec![1, 2]));
        assert_eq!(sums.get(&key(1), 7).as_deref(), Some(&vec![1, 2]));
        assert!(sums.get(&key(1), 8).is_none());
        assert!(sums.get(&key(2), 7).is_none());
        sums.put(key(1), 8, Arc::new(vec![3]));
        assert!(sums.get(&key(1), 7).is_none());
        assert_eq!(sums.get(&key(1), 8).as_deref(), Some(&vec![3]));
    }

    #[test]
    fn the_least_recently_used_goes_first_past_the_budget() {
        let one = 100 * std::mem::size_of::<u64>() + std::mem::size_of::<Entry<u64>>();
        let sums = RangeSums::<u64>::new(one * 4 + one / 2);
        for from in 0..4 {
            sums.put(key(from), 1, Arc::new(vec![0; 100]));
        }
        assert!(sums.get(&key(0), 1).is_some());
        sums.put(key(4), 1, Arc::new(vec![0; 100]));
        assert!(
            sums.get(&key(1), 1).is_none(),
            "the least recently used left"
        );
        for from in [0, 2, 3, 4] {
            assert!(sums.get(&key(from), 1).is_some(), "{from} kept");
        }
        let bytes = sums.kept.lock().map(|k| k.bytes).unwrap_or(0);
        assert!(bytes <= one * 4 + one / 2);
    }

    #[test]
    fn a_range_too_large_is_not_kept() {
        let sums = RangeSums::<u64>::new(1000);
        sums.put(key(1), 1, Arc::new(vec![0; 100]));
        assert!(sums.get(&key(1), 1).is_none());
    }

    #[test]
    fn the_last_period_is_read_apart() {
        assert_eq!(split_last(3, 3), vec![(3, 3)]);
        assert_eq!(split_last(3, 4), vec![(3, 3), (4, 4)]);
        assert_eq!(split_last(1, 12), vec![(1, 11), (12, 12)]);
    }
}
