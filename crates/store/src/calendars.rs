//! The production calendars in use: the shipped federal calendar, with the database's
//! federal layer (later years' decrees) and a region's own days on top. Built once per
//! region and reused until the layers change; the change bumps a version in `settings`,
//! which every deadline computation reads, so all nodes see a change at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use otklik_domain::calendar::{CalendarEntry, DayKind, ProductionCalendar};
use time::macros::format_description;
use time::Date;

use crate::common::corrupt;
use crate::StoreResult;

pub(crate) const VERSION_KEY: &str = "calendar_version";

/// The layer key of the federal layer in `calendar_days.region_code`.
pub(crate) const FEDERAL: &str = "";

#[derive(Debug, Default)]
pub(crate) struct CalendarCache {
    inner: Mutex<Cached>,
}

#[derive(Debug, Default)]
struct Cached {
    version: i64,
    by_region: HashMap<String, Arc<ProductionCalendar>>,
}

impl CalendarCache {
    pub fn get(&self, version: i64, region: &str) -> Option<Arc<ProductionCalendar>> {
        let cached = self.inner.lock().ok()?;
        (cached.version == version)
            .then(|| cached.by_region.get(region).cloned())
            .flatten()
    }

    pub fn put(&self, version: i64, region: &str, calendar: Arc<ProductionCalendar>) {
        if let Ok(mut cached) = self.inner.lock() {
            if cached.version != version {
                cached.version = version;
                cached.by_region.clear();
            }
            cached.by_region.insert(region.to_owned(), calendar);
        }
    }
}

/// The calendar of a region from the shipped data and the two stored layers.
pub(crate) fn build(federal: Vec<CalendarEntry>, region: Vec<CalendarEntry>) -> ProductionCalendar {
    let mut calendar = ProductionCalendar::russia();
    if !federal.is_empty() {
        calendar = calendar.with_entries(federal);
    }
    calendar.with_region_overrides(region)
}

pub(crate) fn version_of(value: Option<Vec<u8>>) -> i64 {
    value
        .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).ok())
        .map(i64::from_be_bytes)
        .unwrap_or(0)
}

pub(crate) fn version_bytes(version: i64) -> Vec<u8> {
    version.to_be_bytes().to_vec()
}

pub(crate) fn day_text(date: Date) -> String {
    let format = format_description!("[year]-[month]-[day]");
    date.format(&format).unwrap_or_default()
}

pub(crate) fn date_of(raw: &str) -> StoreResult<Date> {
    let format = format_description!("[year]-[month]-[day]");
    Date::parse(raw, &format).map_err(|_| corrupt("calendar_days.day"))
}

pub(crate) fn entry_of(day: &str, kind: &str) -> StoreResult<CalendarEntry> {
    Ok(CalendarEntry::new(
        date_of(day)?,
        DayKind::parse(kind).map_err(|_| corrupt("calendar_days.kind"))?,
    ))
}

/// The layer key of a region code (None: federal).
pub(crate) fn layer(region: Option<&str>) -> &str {
    region.unwrap_or(FEDERAL)
}
