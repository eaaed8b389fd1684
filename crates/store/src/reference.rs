//! The list of regions (the federal subjects: they change about once a decade) kept in
//! memory for a few seconds. Every submission form and many pages ask for it, and
//! reading its ~90 rows costs more than the rest of a page's queries together. This
//! process forgets it at once when it adds or changes a region; another process's
//! change (`otklik admin load-territories` beside a running server, another node) is
//! seen within [`REGIONS_TTL`]. The write path checks regions in its own transaction.

use crate::Region;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a read list of regions is served from memory.
pub(crate) const REGIONS_TTL: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub(crate) struct RegionCache {
    read: Mutex<Read>,
}

#[derive(Debug, Default)]
struct Read {
    /// Bumped by every `forget`: a list read across a change is not kept.
    generation: u64,
    list: Option<(Instant, Arc<Vec<Region>>)>,
}

/// A read about to start: when, and in which generation.
pub(crate) struct Reading(Instant, u64);

impl RegionCache {
    /// The list, when read less than `REGIONS_TTL` ago.
    pub fn get(&self) -> Option<Arc<Vec<Region>>> {
        let read = self.read.lock().ok()?;
        read.list
            .as_ref()
            .filter(|(at, _)| at.elapsed() < REGIONS_TTL)
            .map(|(_, regions)| Arc::clone(regions))
    }

    pub fn start(&self) -> Reading {
        let generation = self.read.lock().map_or(u64::MAX, |r| r.generation);
        Reading(Instant::now(), generation)
    }

    /// Keeps a list, unless this process changed the regions while it was read.
    pub fn put(&self, reading: Reading, regions: Arc<Vec<Region>>) {
        if let Ok(mut read) = self.read.lock() {
            if read.generation == reading.1 {
                read.list = Some((reading.0, regions));
            }
        }
    }

    pub fn forget(&self) {
        if let Ok(mut read) = self.read.lock() {
            read.generation += 1;
            read.list = None;
        }
    }
}
