//! Reference data that every form and list page asks for and that changes rarely — the
//! regions (the federal subjects) and the catalogue of categories — kept in memory for a
//! few seconds. Reading them costs more than the rest of a page's queries together (each
//! row is a message from sqlx's SQLite worker thread). This process forgets a list at
//! once when it changes it; another process's change (`otklik admin load-territories`
//! beside a running server, another node's console) shows within [`KEPT_FOR`]. A
//! submission's subcategory and region are looked up again by the write path (one removed
//! meanwhile is refused); the subcategory's form a submission is checked against comes
//! from here when kept, so another process's change to a form applies within `KEPT_FOR`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a list read from the database is served from memory.
pub(crate) const KEPT_FOR: Duration = Duration::from_secs(5);

/// One kept list.
#[derive(Debug)]
pub(crate) struct Kept<T> {
    read: Mutex<Read<T>>,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Self {
            read: Mutex::new(Read {
                generation: 0,
                value: None,
            }),
        }
    }
}

#[derive(Debug)]
struct Read<T> {
    /// Bumped by every `forget`: a list read across a change is not kept.
    generation: u64,
    value: Option<(Instant, Arc<T>)>,
}

/// A read about to start: when, and in which generation.
pub(crate) struct Reading(Instant, u64);

impl<T> Kept<T> {
    /// The list, when read less than `KEPT_FOR` ago.
    pub fn get(&self) -> Option<Arc<T>> {
        let read = self.read.lock().ok()?;
        read.value
            .as_ref()
            .filter(|(at, _)| at.elapsed() < KEPT_FOR)
            .map(|(_, value)| Arc::clone(value))
    }

    pub fn start(&self) -> Reading {
        let generation = self.read.lock().map_or(u64::MAX, |r| r.generation);
        Reading(Instant::now(), generation)
    }

    /// Keeps what was read, unless this process changed it while it was read.
    pub fn put(&self, reading: Reading, value: Arc<T>) {
        if let Ok(mut read) = self.read.lock() {
            if read.generation == reading.1 {
                read.value = Some((reading.0, value));
            }
        }
    }

    pub fn forget(&self) {
        if let Ok(mut read) = self.read.lock() {
            read.generation += 1;
            read.value = None;
        }
    }
}
