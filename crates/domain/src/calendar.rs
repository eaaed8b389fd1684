//! Working days and deadlines.
//!
//! A deadline ends at 23:59:59 on its last day in the responsible organisation's local
//! time, and is stored as a UTC instant. Russia has no daylight saving time, so a fixed
//! UTC offset per organisation is exact.
//!
//! [`BaseCalendar`] knows only Saturdays, Sundays and the public holidays of Labour Code
//! art. 112. [`ProductionCalendar`] is the real one: the government's yearly transfers
//! of days off are data (`data/calendar/ru-YYYY.txt`, format in `data/README.md`),
//! years without data fall back to the statutory rule, and a region's own holidays
//! override the federal calendar. [`DeadlinePolicy`] holds the terms of each stage.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, UtcOffset, Weekday};

use crate::error::ValidationErrors;
use crate::lifecycle::SubmissionKind;

pub trait WorkingCalendar {
    fn is_working_day(&self, date: Date) -> bool;
}

/// Weekends and the fixed public holidays of the Russian Federation (Labour Code art. 112):
/// 1–8 January, 23 February, 8 March, 1 and 9 May, 12 June, 4 November.
#[derive(Debug, Clone, Copy, Default)]
pub struct BaseCalendar;

impl BaseCalendar {
    pub fn is_public_holiday(date: Date) -> bool {
        let (month, day) = (date.month(), date.day());
        matches!(
            (month, day),
            (Month::January, 1..=8)
                | (Month::February, 23)
                | (Month::March, 8)
                | (Month::May, 1 | 9)
                | (Month::June, 12)
                | (Month::November, 4)
        )
    }
}

impl WorkingCalendar for BaseCalendar {
    fn is_working_day(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
            && !Self::is_public_holiday(date)
    }
}

/// The `n`-th working day after `start` (`start` itself is not counted; `n = 0` is `start`).
pub fn add_working_days(calendar: &impl WorkingCalendar, start: Date, n: u32) -> Date {
    let mut date = start;
    let mut left = n;
    while left > 0 {
        // The last representable day ends the count: staying on it when it is a day off
        // would loop for ever (a calendar file may declare 9999-12-31 a holiday).
        let Some(next) = date.next_day() else {
            break;
        };
        date = next;
        if calendar.is_working_day(date) {
            left -= 1;
        }
    }
    date
}

/// How many working days lie in `(from, to]`.
pub fn working_days_between(calendar: &impl WorkingCalendar, from: Date, to: Date) -> u32 {
    let mut count = 0;
    let mut date = from;
    while date < to {
        date = date.next_day().unwrap_or(to);
        if calendar.is_working_day(date) {
            count += 1;
        }
    }
    count
}

/// How a term is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    /// Working days of the production calendar (messages through the platform).
    WorkingDays(u32),
    /// Calendar days (appeals under 59-FZ). When the last day is not a working day the
    /// answer is due on the working day before it, so the citizen never waits longer
    /// than the law allows.
    CalendarDays(u32),
}

impl Term {
    /// Default terms: a message is answered within 10 working days; an appeal under
    /// 59-FZ within 30 days of registration (art. 12 part 1).
    pub fn for_kind(kind: SubmissionKind) -> Self {
        match kind {
            SubmissionKind::Message => Self::WorkingDays(10),
            SubmissionKind::Appeal => Self::CalendarDays(30),
        }
    }

    /// The last day of the term that starts on `start` (a local date).
    pub fn last_day(self, calendar: &impl WorkingCalendar, start: Date) -> Date {
        match self {
            Self::WorkingDays(n) => add_working_days(calendar, start, n),
            Self::CalendarDays(n) => {
                let mut day = start + Duration::days(i64::from(n));
                while !calendar.is_working_day(day) && day > start {
                    day = day.previous_day().unwrap_or(start);
                }
                day
            }
        }
    }

    /// The instant the term ends: 23:59:59 local time on its last day, as UTC.
    pub fn due_at(
        self,
        calendar: &impl WorkingCalendar,
        from: OffsetDateTime,
        zone: UtcOffset,
    ) -> OffsetDateTime {
        let local_start = from.to_offset(zone).date();
        end_of_local_day(self.last_day(calendar, local_start), zone)
    }
}

impl Term {
    /// How the term counts days.
    pub fn unit(self) -> TermUnit {
        match self {
            Self::WorkingDays(_) => TermUnit::WorkingDays,
            Self::CalendarDays(_) => TermUnit::CalendarDays,
        }
    }

    pub fn days(self) -> u32 {
        match self {
            Self::WorkingDays(n) | Self::CalendarDays(n) => n,
        }
    }
}

/// 23:59:59 local time on `date` in `zone`, as UTC.
fn end_of_local_day(date: Date, zone: UtcOffset) -> OffsetDateTime {
    PrimitiveDateTime::new(date, time::macros::time!(23:59:59))
        .assume_offset(zone)
        .to_offset(UtcOffset::UTC)
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

// ---------------------------------------------------------------------------------------
// Production calendar data
// ---------------------------------------------------------------------------------------

/// What a listed day of a production calendar is. Days not listed follow the rule
/// "Monday–Friday work, Saturday–Sunday rest".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayKind {
    /// A public non-working holiday (Labour Code art. 112 or a regional law).
    Holiday,
    /// A weekday made non-working: a transferred day off or a holiday's carry-over.
    DayOff,
    /// A Saturday or Sunday made a working day by a transfer.
    Working,
    /// A working day one hour shorter before a holiday. On a weekend it also makes the
    /// day a working day. Irrelevant for deadlines.
    Short,
}

impl DayKind {
    pub const ALL: &'static [DayKind] = &[Self::Holiday, Self::DayOff, Self::Working, Self::Short];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Holiday => "holiday",
            Self::DayOff => "day-off",
            Self::Working => "working",
            Self::Short => "short",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == raw)
            .ok_or("unknown_kind")
    }

    pub fn is_working(self) -> bool {
        matches!(self, Self::Working | Self::Short)
    }
}

impl std::fmt::Display for DayKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of a calendar file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalendarEntry {
    pub date: Date,
    pub kind: DayKind,
}

impl CalendarEntry {
    pub fn new(date: Date, kind: DayKind) -> Self {
        Self { date, kind }
    }
}

/// A calendar file that does not parse: the 1-based line, a stable code and the
/// offending text.
///
/// Codes: `bad_date`, `missing_kind`, `unknown_kind`, `unexpected_text`,
/// `duplicate_date`, `working_on_weekday` (a `working` day must be a Saturday or
/// Sunday), `day_off_on_weekend` (a `day-off` must be a weekday).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("calendar line {line}: {code}: {text:?}")]
pub struct CalendarParseError {
    pub line: usize,
    pub code: &'static str,
    pub text: String,
}

/// Parses a calendar file: `YYYY-MM-DD <holiday|day-off|working|short> [# comment]`
/// per line; blank lines and `#` comments are skipped. Entries come back in file order.
pub fn parse_calendar(text: &str) -> Result<Vec<CalendarEntry>, CalendarParseError> {
    let format = format_description!("[year]-[month]-[day]");
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let error = |code, text: &str| CalendarParseError {
            line,
            code,
            text: text.to_owned(),
        };
        let content = raw.split('#').next().unwrap_or("").trim();
        let mut tokens = content.split_whitespace();
        let Some(date_text) = tokens.next() else {
            continue;
        };
        let date = Date::parse(date_text, &format).map_err(|_| error("bad_date", date_text))?;
        let kind_text = tokens
            .next()
            .ok_or_else(|| error("missing_kind", content))?;
        let kind = DayKind::parse(kind_text).map_err(|code| error(code, kind_text))?;
        if let Some(extra) = tokens.next() {
            return Err(error("unexpected_text", extra));
        }
        match kind {
            DayKind::Working if !is_weekend(date) => {
                return Err(error("working_on_weekday", date_text))
            }
            DayKind::DayOff if is_weekend(date) => {
                return Err(error("day_off_on_weekend", date_text))
            }
            _ => {}
        }
        if !seen.insert(date) {
            return Err(error("duplicate_date", date_text));
        }
        entries.push(CalendarEntry { date, kind });
    }
    Ok(entries)
}

/// The holidays of art. 112 that fall outside January; a weekend one of these carries
/// over to the next working day by law, without a decree.
const MOVABLE_HOLIDAYS: [(Month, u8); 6] = [
    (Month::February, 23),
    (Month::March, 8),
    (Month::May, 1),
    (Month::May, 9),
    (Month::June, 12),
    (Month::November, 4),
];

/// The weekdays that art. 112 makes days off in `year` because a non-January holiday
/// fell on a weekend (the next working day after the holiday). January weekend days
/// move only by the yearly decree, so they are not here.
fn statutory_carry_overs(year: i32) -> [Option<Date>; 6] {
    let mut carried = [None; 6];
    for (slot, (month, day)) in MOVABLE_HOLIDAYS.into_iter().enumerate() {
        let Ok(holiday) = Date::from_calendar_date(year, month, day) else {
            continue;
        };
        if !is_weekend(holiday) {
            continue;
        }
        let mut date = holiday;
        while let Some(next) = date.next_day() {
            date = next;
            if !is_weekend(date)
                && !BaseCalendar::is_public_holiday(date)
                && !carried.contains(&Some(date))
            {
                carried[slot] = Some(date);
                break;
            }
        }
    }
    carried
}

/// The statutory kind of a day in a year without calendar data.
fn statutory_kind(date: Date) -> Option<DayKind> {
    if BaseCalendar::is_public_holiday(date) {
        Some(DayKind::Holiday)
    } else if is_weekend(date)
        // A carry-over stays within its holiday's month; skip the work elsewhere.
        || !matches!(
            date.month(),
            Month::February | Month::March | Month::May | Month::June | Month::November
        )
    {
        None
    } else if statutory_carry_overs(date.year()).contains(&Some(date)) {
        Some(DayKind::DayOff)
    } else {
        None
    }
}

/// The calendar that Labour Code art. 112 alone gives for `year`: its holidays and the
/// carry-over days off, in date order. This is what a year without data falls back to.
pub fn statutory_entries(year: i32) -> Vec<CalendarEntry> {
    days_of_year(year)
        .filter_map(|date| statutory_kind(date).map(|kind| CalendarEntry { date, kind }))
        .collect()
}

/// The art. 112 holidays of `year` that `entries` do not list as holidays: a
/// completeness check for an imported year.
pub fn missing_federal_holidays(year: i32, entries: &[CalendarEntry]) -> Vec<Date> {
    days_of_year(year)
        .filter(|date| BaseCalendar::is_public_holiday(*date))
        .filter(|date| {
            !entries
                .iter()
                .any(|entry| entry.date == *date && entry.kind == DayKind::Holiday)
        })
        .collect()
}

fn days_of_year(year: i32) -> impl Iterator<Item = Date> {
    let first = Date::from_calendar_date(year, Month::January, 1).ok();
    std::iter::successors(first, |date| date.next_day()).take_while(move |date| date.year() == year)
}

/// Where a year's days come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum YearSource {
    /// The government's decree, shipped or imported.
    Official,
    /// Shipped, but derived from art. 112 while the decree is not out.
    Derived,
    /// No data: the statutory rule is applied on the fly.
    Statutory,
}

/// The calendar years shipped with the binary, and whether each is official.
const SHIPPED_YEARS: [(i32, &str, YearSource); 4] = [
    (
        2024,
        include_str!("../data/calendar/ru-2024.txt"),
        YearSource::Official,
    ),
    (
        2025,
        include_str!("../data/calendar/ru-2025.txt"),
        YearSource::Official,
    ),
    (
        2026,
        include_str!("../data/calendar/ru-2026.txt"),
        YearSource::Official,
    ),
    (
        2027,
        include_str!("../data/calendar/ru-2027.txt"),
        YearSource::Derived,
    ),
];

/// The Russian production calendar: per-year data where there is some, the statutory
/// rule elsewhere, and a region's own days on top.
///
/// Lookups are a couple of hash-map probes (plus, for years without data, a constant
/// amount of date arithmetic), since deadlines of millions of submissions are
/// recomputed with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductionCalendar {
    /// Listed days of the years in `years`.
    days: HashMap<Date, DayKind>,
    years: BTreeMap<i32, YearSource>,
    /// A region's own days; they win over the federal calendar.
    region: HashMap<Date, DayKind>,
}

impl ProductionCalendar {
    /// No data at all: the statutory rule for every year.
    pub fn statutory() -> Self {
        Self::default()
    }

    /// The federal calendar with the shipped years (2024–2026 official, 2027 derived).
    pub fn russia() -> Self {
        static RUSSIA: OnceLock<ProductionCalendar> = OnceLock::new();
        RUSSIA
            .get_or_init(|| {
                let mut calendar = Self::default();
                for (_, text, source) in SHIPPED_YEARS {
                    // The shipped files are checked by the tests; were one broken, its
                    // year would fall back to the statutory rule instead of panicking.
                    if let Ok(entries) = parse_calendar(text) {
                        calendar.insert_years(entries, source);
                    }
                }
                calendar
            })
            .clone()
    }

    /// The raw text of the shipped calendar files, by year.
    pub fn shipped_files() -> impl Iterator<Item = (i32, &'static str)> {
        SHIPPED_YEARS
            .into_iter()
            .map(|(year, text, _)| (year, text))
    }

    /// Adds official data (e.g. imported from a decree). Each year present in `entries`
    /// replaces whatever the calendar had for that year, so `entries` must list the
    /// whole year.
    pub fn with_entries(mut self, entries: impl IntoIterator<Item = CalendarEntry>) -> Self {
        self.insert_years(entries.into_iter().collect(), YearSource::Official);
        self
    }

    /// Adds a region's own days (e.g. Tatarstan's Kurban Bayram). They take precedence
    /// over the federal calendar in every year; a later entry for the same date wins.
    /// Regional data is explicit: no carry-over is derived for a regional holiday.
    pub fn with_region_overrides(
        mut self,
        entries: impl IntoIterator<Item = CalendarEntry>,
    ) -> Self {
        self.region
            .extend(entries.into_iter().map(|entry| (entry.date, entry.kind)));
        self
    }

    fn insert_years(&mut self, entries: Vec<CalendarEntry>, source: YearSource) {
        let mut years: Vec<i32> = entries.iter().map(|entry| entry.date.year()).collect();
        years.sort_unstable();
        years.dedup();
        self.days
            .retain(|date, _| years.binary_search(&date.year()).is_err());
        for year in years {
            self.years.insert(year, source);
        }
        self.days
            .extend(entries.into_iter().map(|entry| (entry.date, entry.kind)));
    }

    /// Where the federal days of `year` come from.
    pub fn year_source(&self, year: i32) -> YearSource {
        self.years
            .get(&year)
            .copied()
            .unwrap_or(YearSource::Statutory)
    }

    /// Whether `year` follows the government's decree rather than a derivation.
    pub fn has_official_data(&self, year: i32) -> bool {
        self.year_source(year) == YearSource::Official
    }

    /// The years with data (official or derived), ascending.
    pub fn covered_years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// The kind of a day that differs from the weekday rule, or `None` for an ordinary
    /// day (Monday–Friday working, Saturday–Sunday rest).
    pub fn day_kind(&self, date: Date) -> Option<DayKind> {
        if let Some(kind) = self.region.get(&date) {
            return Some(*kind);
        }
        if self.years.contains_key(&date.year()) {
            // A year with data lists its days exactly; the art. 112 carry-over does not
            // apply because decrees often move such days elsewhere.
            return self.days.get(&date).copied();
        }
        statutory_kind(date)
    }

    /// The non-working days of `year` (weekends included), ascending.
    pub fn non_working_days(&self, year: i32) -> Vec<Date> {
        days_of_year(year)
            .filter(|date| !self.is_working_day(*date))
            .collect()
    }

    pub fn working_days_in_year(&self, year: i32) -> u32 {
        let count = days_of_year(year)
            .filter(|date| self.is_working_day(*date))
            .count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }
}

impl WorkingCalendar for ProductionCalendar {
    fn is_working_day(&self, date: Date) -> bool {
        self.day_kind(date)
            .map_or(!is_weekend(date), DayKind::is_working)
    }
}

// ---------------------------------------------------------------------------------------
// Deadline policy
// ---------------------------------------------------------------------------------------

/// How the terms of a policy count days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermUnit {
    WorkingDays,
    CalendarDays,
}

impl TermUnit {
    pub fn term(self, days: u32) -> Term {
        match self {
            Self::WorkingDays => Term::WorkingDays(days),
            Self::CalendarDays => Term::CalendarDays(days),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::WorkingDays => "working_days",
            Self::CalendarDays => "calendar_days",
        }
    }
}

/// A stage of handling a submission that has its own term, counted from the moment the
/// stage starts (receipt, registration, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadlineStage {
    /// Pre-moderation of a message before it reaches the organisation.
    Moderation,
    /// Registration of an appeal (59-FZ art. 8 part 2: 3 days).
    Registration,
    /// Redirecting an appeal to the competent body (59-FZ art. 8 part 3: 7 days).
    Redirect,
    /// The answer on the merits.
    Answer,
}

impl DeadlineStage {
    pub const ALL: &'static [DeadlineStage] = &[
        Self::Moderation,
        Self::Registration,
        Self::Redirect,
        Self::Answer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Moderation => "moderation",
            Self::Registration => "registration",
            Self::Redirect => "redirect",
            Self::Answer => "answer",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        Self::ALL
            .iter()
            .copied()
            .find(|stage| stage.as_str() == raw)
            .ok_or("unknown_value")
    }
}

/// The serialised form of a [`DeadlinePolicy`], as stored in configuration:
/// `{"unit":"calendar_days","registration":3,"redirect":7,"answer":30,"extension":30}`.
/// A stage left out does not apply to the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlinePolicySpec {
    pub unit: TermUnit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderation: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<u32>,
    pub answer: u32,
    /// The longest single extension of the answer term (59-FZ art. 12 part 2: 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<u32>,
}

/// The terms of each stage for one kind of submission. Valid by construction: every
/// term is 1..=365 days and an extension at most 30.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DeadlinePolicySpec", into = "DeadlinePolicySpec")]
pub struct DeadlinePolicy(DeadlinePolicySpec);

impl DeadlinePolicy {
    pub const MAX_TERM_DAYS: u32 = 365;
    pub const MAX_EXTENSION_DAYS: u32 = 30;

    /// Validates a spec. Codes: `term_out_of_range` (not 1..=365),
    /// `extension_too_long` (over 30 days).
    pub fn new(spec: DeadlinePolicySpec) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let terms = [
            ("moderation", spec.moderation),
            ("registration", spec.registration),
            ("redirect", spec.redirect),
            ("answer", Some(spec.answer)),
        ];
        for (field, days) in terms {
            if days.is_some_and(|days| !(1..=Self::MAX_TERM_DAYS).contains(&days)) {
                errors.push(field, "term_out_of_range");
            }
        }
        match spec.extension {
            Some(0) => errors.push("extension", "term_out_of_range"),
            Some(days) if days > Self::MAX_EXTENSION_DAYS => {
                errors.push("extension", "extension_too_long")
            }
            _ => {}
        }
        errors.into_result(|| Self(spec))
    }

    /// The defaults: a message is pre-moderated within 1 working day and answered within
    /// 10 working days; an appeal under 59-FZ is registered within 3 days, redirected
    /// within 7, answered within 30, and the answer term may be extended once by up to
    /// 30 days.
    pub fn default_for(kind: SubmissionKind) -> Self {
        Self(match kind {
            SubmissionKind::Message => DeadlinePolicySpec {
                unit: TermUnit::WorkingDays,
                moderation: Some(1),
                registration: None,
                redirect: None,
                answer: 10,
                extension: None,
            },
            SubmissionKind::Appeal => DeadlinePolicySpec {
                unit: TermUnit::CalendarDays,
                moderation: None,
                registration: Some(3),
                redirect: Some(7),
                answer: 30,
                extension: Some(30),
            },
        })
    }

    pub fn spec(&self) -> DeadlinePolicySpec {
        self.0
    }

    pub fn unit(&self) -> TermUnit {
        self.0.unit
    }

    /// The term of `stage`, or `None` when the stage does not apply.
    pub fn term(&self, stage: DeadlineStage) -> Option<Term> {
        let days = match stage {
            DeadlineStage::Moderation => self.0.moderation,
            DeadlineStage::Registration => self.0.registration,
            DeadlineStage::Redirect => self.0.redirect,
            DeadlineStage::Answer => Some(self.0.answer),
        };
        days.map(|days| self.0.unit.term(days))
    }

    /// When `stage`, started at `from`, is due (see [`Term::due_at`]); `None` when the
    /// stage does not apply to this kind.
    pub fn due_at(
        &self,
        stage: DeadlineStage,
        calendar: &impl WorkingCalendar,
        from: OffsetDateTime,
        zone: UtcOffset,
    ) -> Option<OffsetDateTime> {
        self.term(stage)
            .map(|term| term.due_at(calendar, from, zone))
    }

    /// The answer deadline after extending `due` by `days`. The extension counts from
    /// the local date of the current deadline (which, for calendar terms, may already
    /// have been moved back from a day off) and ends like any term of the policy's unit.
    /// The law allows one extension; the caller, which keeps the history, enforces that.
    /// Codes: `extension_not_allowed`, `term_out_of_range`, `extension_too_long`.
    pub fn extended_due_at(
        &self,
        due: OffsetDateTime,
        days: u32,
        calendar: &impl WorkingCalendar,
        zone: UtcOffset,
    ) -> Result<OffsetDateTime, &'static str> {
        let max = self.0.extension.ok_or("extension_not_allowed")?;
        if days == 0 {
            return Err("term_out_of_range");
        }
        if days > max {
            return Err("extension_too_long");
        }
        let last = self
            .0
            .unit
            .term(days)
            .last_day(calendar, due.to_offset(zone).date());
        Ok(end_of_local_day(last, zone))
    }

    /// [`shift_for_pause`] with this policy's unit.
    pub fn shift_for_pause(
        &self,
        due: OffsetDateTime,
        paused_from: OffsetDateTime,
        resumed_at: OffsetDateTime,
        calendar: &impl WorkingCalendar,
        zone: UtcOffset,
    ) -> OffsetDateTime {
        shift_for_pause(due, paused_from, resumed_at, self.0.unit, calendar, zone)
    }
}

impl TryFrom<DeadlinePolicySpec> for DeadlinePolicy {
    type Error = ValidationErrors;

    fn try_from(spec: DeadlinePolicySpec) -> Result<Self, Self::Error> {
        Self::new(spec)
    }
}

impl From<DeadlinePolicy> for DeadlinePolicySpec {
    fn from(policy: DeadlinePolicy) -> Self {
        policy.0
    }
}

/// The deadline after the clock was stopped from `paused_from` to `resumed_at` (e.g.
/// while the citizen was asked to clarify).
///
/// The rule: the organisation gets back the days the pause took, counted like the
/// term itself on local dates, with the day of the pause not counted and the day of the
/// resumption counted (the same convention as [`add_working_days`]):
/// - working-day terms move forward by the working days in (pause date, resume date];
/// - calendar-day terms move forward by the calendar days between the two dates, and
///   a last day that is not a working day is moved back to the working day before it,
///   as [`Term::CalendarDays`] does — but never before the original deadline.
///
/// A pause and resumption on the same day shift nothing. A pause that starts after the
/// deadline has passed shifts nothing either: a pause cannot cure a missed deadline.
/// Several pauses are applied one after another to the shifted deadline.
pub fn shift_for_pause(
    due: OffsetDateTime,
    paused_from: OffsetDateTime,
    resumed_at: OffsetDateTime,
    unit: TermUnit,
    calendar: &impl WorkingCalendar,
    zone: UtcOffset,
) -> OffsetDateTime {
    if resumed_at <= paused_from || paused_from > due {
        return due;
    }
    let paused = paused_from.to_offset(zone).date();
    let resumed = resumed_at.to_offset(zone).date();
    let last = due.to_offset(zone).date();
    let shifted = match unit {
        TermUnit::WorkingDays => add_working_days(
            calendar,
            last,
            working_days_between(calendar, paused, resumed),
        ),
        TermUnit::CalendarDays => {
            let days = u32::try_from((resumed - paused).whole_days()).unwrap_or(0);
            Term::CalendarDays(days).last_day(calendar, last)
        }
    };
    if shifted == last {
        due
    } else {
        end_of_local_day(shifted, zone)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;
    use time::macros::{date, datetime, offset};

    #[test]
    fn weekends_and_fixed_holidays_are_not_working_days() {
        let cal = BaseCalendar;
        assert!(!cal.is_working_day(date!(2026 - 01 - 05))); // Monday, New Year holidays
        assert!(!cal.is_working_day(date!(2026 - 06 - 12))); // Russia Day, Friday
        assert!(!cal.is_working_day(date!(2026 - 12 - 05))); // Saturday
        assert!(cal.is_working_day(date!(2026 - 12 - 04))); // Friday
    }

    #[test]
    fn ten_working_days_skip_weekends() {
        // Friday 4 Dec 2026 + 10 working days = Friday 18 Dec 2026.
        assert_eq!(
            add_working_days(&BaseCalendar, date!(2026 - 12 - 04), 10),
            date!(2026 - 12 - 18)
        );
        // Registered on 29 Dec 2026: 30, 31 Dec, then the holidays run to 8 Jan (Friday),
        // then 11–15 and 18–20 Jan: the 10th working day is 20 Jan 2027.
        assert_eq!(
            add_working_days(&BaseCalendar, date!(2026 - 12 - 29), 10),
            date!(2027 - 01 - 20)
        );
    }

    #[test]
    fn counting_stops_at_the_last_representable_day() {
        // A calendar file may make 9999-12-31 a holiday; the count used to loop there for
        // ever (fuzz/regressions/calendar_file holds the same input).
        let entries = parse_calendar("9999-12-31 holiday\n").unwrap();
        let cal = ProductionCalendar::statutory().with_entries(entries);
        assert_eq!(
            add_working_days(&cal, date!(9999 - 12 - 30), 1),
            date!(9999 - 12 - 31)
        );
        assert_eq!(
            add_working_days(&BaseCalendar, date!(9999 - 12 - 31), 5),
            date!(9999 - 12 - 31)
        );
    }

    #[test]
    fn appeal_due_in_thirty_days_moved_back_from_a_day_off() {
        // 4 Dec 2026 + 30 days = Sunday 3 Jan 2027, a holiday; the working day before is
        // Thursday 31 Dec 2026.
        assert_eq!(
            Term::for_kind(SubmissionKind::Appeal).last_day(&BaseCalendar, date!(2026 - 12 - 04)),
            date!(2026 - 12 - 31)
        );
        assert_eq!(
            Term::for_kind(SubmissionKind::Appeal).last_day(&BaseCalendar, date!(2026 - 11 - 02)),
            date!(2026 - 12 - 02)
        );
    }

    #[test]
    fn due_at_is_end_of_local_day_in_utc() {
        // Registered at 20:00 UTC on Friday 4 Dec = 03:00 Saturday in Novosibirsk (+7):
        // the term starts from the local date, Saturday 5 Dec.
        let due = Term::WorkingDays(1).due_at(
            &BaseCalendar,
            datetime!(2026-12-04 20:00 UTC),
            offset!(+7),
        );
        assert_eq!(due, datetime!(2026-12-07 16:59:59 UTC));
        let moscow = Term::WorkingDays(1).due_at(
            &BaseCalendar,
            datetime!(2026-12-04 20:00 UTC),
            offset!(+3),
        );
        assert_eq!(moscow, datetime!(2026-12-07 20:59:59 UTC));
    }

    proptest! {
        #[test]
        fn adding_then_counting_back_gives_n(day in 0i64..3650, n in 0u32..400) {
            let start = date!(2024 - 01 - 01) + Duration::days(day);
            let end = add_working_days(&BaseCalendar, start, n);
            prop_assert_eq!(working_days_between(&BaseCalendar, start, end), n);
            prop_assert!(n == 0 || BaseCalendar.is_working_day(end));
        }

        #[test]
        fn calendar_term_never_exceeds_its_days(day in 0i64..3650, n in 1u32..60) {
            let start = date!(2024 - 01 - 01) + Duration::days(day);
            let last = Term::CalendarDays(n).last_day(&BaseCalendar, start);
            prop_assert!(last <= start + Duration::days(i64::from(n)));
            prop_assert!(last >= start);
        }
    }

    // --- production calendar -----------------------------------------------------------

    fn russia() -> ProductionCalendar {
        ProductionCalendar::russia()
    }

    #[test]
    fn shipped_files_parse_and_give_the_official_totals() {
        for (year, text) in ProductionCalendar::shipped_files() {
            let entries = parse_calendar(text).unwrap();
            assert!(entries.iter().all(|entry| entry.date.year() == year));
            assert!(
                missing_federal_holidays(year, &entries).is_empty(),
                "{year}"
            );
        }
        let cal = russia();
        assert_eq!(cal.covered_years(), vec![2024, 2025, 2026, 2027]);
        assert_eq!(cal.working_days_in_year(2024), 248);
        assert_eq!(cal.working_days_in_year(2025), 247);
        assert_eq!(cal.working_days_in_year(2026), 247);
        assert_eq!(cal.non_working_days(2024).len(), 118);
        assert_eq!(cal.non_working_days(2025).len(), 118);
        assert_eq!(cal.non_working_days(2026).len(), 118);
        for year in [2024, 2025, 2026] {
            assert!(cal.has_official_data(year));
        }
    }

    #[test]
    fn twenty_twenty_seven_is_derived_from_article_112() {
        let cal = russia();
        assert!(!cal.has_official_data(2027));
        assert_eq!(cal.year_source(2027), YearSource::Derived);
        assert_eq!(cal.working_days_in_year(2027), 249);
        let (_, text) = ProductionCalendar::shipped_files()
            .find(|(year, _)| *year == 2027)
            .unwrap();
        assert!(text.contains("DERIVED from Labour Code art. 112"));
        assert!(text.contains("otklik calendar import"));
        // The file is exactly what the statutory fallback computes.
        assert_eq!(parse_calendar(text).unwrap(), statutory_entries(2027));
        assert_eq!(
            ProductionCalendar::statutory().working_days_in_year(2027),
            249
        );
    }

    #[test]
    fn transfers_of_2024() {
        let cal = russia();
        for working in [
            date!(2024 - 04 - 27),
            date!(2024 - 11 - 02),
            date!(2024 - 12 - 28),
        ] {
            assert!(cal.is_working_day(working), "{working}");
        }
        for off in [
            date!(2024 - 04 - 29),
            date!(2024 - 04 - 30),
            date!(2024 - 05 - 10),
            date!(2024 - 11 - 04),
            date!(2024 - 12 - 30),
            date!(2024 - 12 - 31),
        ] {
            assert!(!cal.is_working_day(off), "{off}");
        }
        assert_eq!(cal.day_kind(date!(2024 - 11 - 04)), Some(DayKind::Holiday));
        assert_eq!(cal.day_kind(date!(2024 - 05 - 10)), Some(DayKind::DayOff));
    }

    #[test]
    fn transfers_of_2025() {
        let cal = russia();
        for off in [
            date!(2025 - 05 - 02),
            date!(2025 - 05 - 08),
            date!(2025 - 06 - 13),
            date!(2025 - 11 - 03),
            date!(2025 - 12 - 31),
        ] {
            assert!(!cal.is_working_day(off), "{off}");
        }
        // A Saturday made a working day.
        assert!(cal.is_working_day(date!(2025 - 11 - 01)));
        // The decree moved the weekend holidays of 23 Feb and 8 Mar elsewhere, so the
        // Mondays after them are working days, unlike the art. 112 default.
        assert!(cal.is_working_day(date!(2025 - 02 - 24)));
        assert!(cal.is_working_day(date!(2025 - 03 - 10)));
        assert!(!ProductionCalendar::statutory().is_working_day(date!(2025 - 02 - 24)));
    }

    #[test]
    fn transfers_of_2026() {
        let cal = russia();
        for off in [
            date!(2026 - 01 - 09),
            date!(2026 - 03 - 09),
            date!(2026 - 05 - 11),
            date!(2026 - 12 - 31),
        ] {
            assert!(!cal.is_working_day(off), "{off}");
        }
        assert!(cal.is_working_day(date!(2026 - 01 - 12)));
        // Without the decree only the art. 112 carry-overs remain.
        let statutory = ProductionCalendar::statutory();
        assert!(statutory.is_working_day(date!(2026 - 01 - 09)));
        assert!(!statutory.is_working_day(date!(2026 - 03 - 09)));
        assert!(!statutory.is_working_day(date!(2026 - 05 - 11)));
        assert_eq!(statutory.working_days_in_year(2026), 249);
    }

    #[test]
    fn a_year_without_data_follows_the_statute() {
        let cal = russia();
        assert_eq!(cal.year_source(2028), YearSource::Statutory);
        assert!(!cal.has_official_data(2028));
        // 4 Nov 2028 is a Saturday: the day off moves to Monday 6 Nov.
        assert!(!cal.is_working_day(date!(2028 - 11 - 04)));
        assert_eq!(cal.day_kind(date!(2028 - 11 - 06)), Some(DayKind::DayOff));
        assert!(cal.is_working_day(date!(2028 - 11 - 07)));
        // 1 Jan 2028 is a Saturday, but January weekends move only by decree.
        assert!(cal.is_working_day(date!(2028 - 01 - 10)));
        // Two weekend holidays in a row each get their own Monday… 2021: Sat 1 May → 3 May,
        // Sun 9 May → 10 May.
        assert_eq!(
            statutory_entries(2021)
                .into_iter()
                .filter(|entry| entry.kind == DayKind::DayOff)
                .map(|entry| entry.date)
                .collect::<Vec<_>>(),
            vec![
                date!(2021 - 05 - 03),
                date!(2021 - 05 - 10),
                date!(2021 - 06 - 14)
            ]
        );
    }

    #[test]
    fn imported_entries_replace_a_whole_year() {
        // A hypothetical decree for 2027: Jan 2 → Fri May 7, Jan 3 → Fri Dec 31.
        let decree = "\
2027-01-01 holiday
2027-01-02 holiday
2027-01-03 holiday
2027-01-04 holiday
2027-01-05 holiday
2027-01-06 holiday
2027-01-07 holiday
2027-01-08 holiday
2027-02-23 holiday
2027-03-08 holiday
2027-05-01 holiday
2027-05-03 day-off
2027-05-07 day-off
2027-05-09 holiday
2027-05-10 day-off
2027-06-12 holiday
2027-06-14 day-off
2027-11-04 holiday
2027-12-31 day-off
";
        let cal = russia().with_entries(parse_calendar(decree).unwrap());
        assert!(cal.has_official_data(2027));
        assert_eq!(cal.working_days_in_year(2027), 247);
        assert!(!cal.is_working_day(date!(2027 - 12 - 31)));
        assert_eq!(cal.working_days_in_year(2026), 247);
        assert_eq!(cal.covered_years(), vec![2024, 2025, 2026, 2027]);
    }

    #[test]
    fn regional_days_take_precedence() {
        // Tatarstan: Kurban Bayram, Friday 6 June 2025.
        let tatarstan = russia().with_region_overrides(
            parse_calendar("2025-06-06 holiday # Kurban Bayram\n2025-06-13 holiday").unwrap(),
        );
        assert!(russia().is_working_day(date!(2025 - 06 - 06)));
        assert!(!tatarstan.is_working_day(date!(2025 - 06 - 06)));
        assert_eq!(
            Term::WorkingDays(1).last_day(&russia(), date!(2025 - 06 - 05)),
            date!(2025 - 06 - 06)
        );
        assert_eq!(
            Term::WorkingDays(1).last_day(&tatarstan, date!(2025 - 06 - 05)),
            date!(2025 - 06 - 09)
        );
        assert_eq!(tatarstan.working_days_in_year(2025), 246);
        // A region may also make a federal day off a working day.
        let working = russia()
            .with_region_overrides([CalendarEntry::new(date!(2025 - 05 - 08), DayKind::Short)]);
        assert!(working.is_working_day(date!(2025 - 05 - 08)));
    }

    #[test]
    fn parse_errors_name_line_code_and_text() {
        let check = |text: &str, line: usize, code: &str, bad: &str| {
            let error = parse_calendar(text).unwrap_err();
            assert_eq!(
                (error.line, error.code, error.text.as_str()),
                (line, code, bad)
            );
        };
        let head = "# comment\n2024-01-01 holiday  # New Year\n\n";
        check(
            &format!("{head}2024-13-01 holiday"),
            4,
            "bad_date",
            "2024-13-01",
        );
        check(
            &format!("{head}1.1.2024 holiday"),
            4,
            "bad_date",
            "1.1.2024",
        );
        check(
            &format!("{head}2024-01-02 feast"),
            4,
            "unknown_kind",
            "feast",
        );
        check(
            &format!("{head}2024-01-02  # no kind"),
            4,
            "missing_kind",
            "2024-01-02",
        );
        check(
            &format!("{head}2024-01-02 holiday extra"),
            4,
            "unexpected_text",
            "extra",
        );
        check(
            &format!("{head}2024-01-01 day-off"),
            4,
            "duplicate_date",
            "2024-01-01",
        );
        check(
            &format!("{head}2024-01-10 working"),
            4,
            "working_on_weekday",
            "2024-01-10",
        );
        check(
            &format!("{head}2024-01-13 day-off"),
            4,
            "day_off_on_weekend",
            "2024-01-13",
        );
        assert_eq!(
            parse_calendar("\n  # only comments\n\n").unwrap(),
            Vec::<CalendarEntry>::new()
        );
        let error = parse_calendar("2024-02-30 holiday").unwrap_err();
        assert_eq!(
            error.to_string(),
            "calendar line 1: bad_date: \"2024-02-30\""
        );
    }

    #[test]
    fn day_kind_names_round_trip() {
        for kind in DayKind::ALL {
            assert_eq!(DayKind::parse(kind.as_str()), Ok(*kind));
        }
        assert_eq!(DayKind::parse("Holiday"), Err("unknown_kind"));
    }

    #[test]
    fn missing_holidays_are_reported() {
        let partial = parse_calendar("2024-01-01 holiday\n2024-02-23 holiday").unwrap();
        let missing = missing_federal_holidays(2024, &partial);
        assert_eq!(missing.len(), 12);
        assert!(missing.contains(&date!(2024 - 11 - 04)));
    }

    // --- deadline policy -----------------------------------------------------------------

    #[test]
    fn default_policies_match_the_law_and_term_for_kind() {
        for kind in [SubmissionKind::Message, SubmissionKind::Appeal] {
            let policy = DeadlinePolicy::default_for(kind);
            assert_eq!(
                policy.term(DeadlineStage::Answer),
                Some(Term::for_kind(kind))
            );
            assert_eq!(DeadlinePolicy::new(policy.spec()), Ok(policy));
        }
        let message = DeadlinePolicy::default_for(SubmissionKind::Message);
        assert_eq!(
            message.term(DeadlineStage::Moderation),
            Some(Term::WorkingDays(1))
        );
        assert_eq!(message.term(DeadlineStage::Redirect), None);
        let appeal = DeadlinePolicy::default_for(SubmissionKind::Appeal);
        assert_eq!(
            appeal.term(DeadlineStage::Registration),
            Some(Term::CalendarDays(3))
        );
        assert_eq!(
            appeal.term(DeadlineStage::Redirect),
            Some(Term::CalendarDays(7))
        );
        assert_eq!(appeal.term(DeadlineStage::Moderation), None);
        assert_eq!(appeal.spec().extension, Some(30));
    }

    #[test]
    fn policy_json_round_trips_and_is_validated() {
        let appeal = DeadlinePolicy::default_for(SubmissionKind::Appeal);
        let json = serde_json::to_string(&appeal).unwrap();
        assert_eq!(
            json,
            r#"{"unit":"calendar_days","registration":3,"redirect":7,"answer":30,"extension":30}"#
        );
        assert_eq!(
            serde_json::from_str::<DeadlinePolicy>(&json).unwrap(),
            appeal
        );
        let message: DeadlinePolicy =
            serde_json::from_str(r#"{"unit":"working_days","moderation":1,"answer":15}"#).unwrap();
        assert_eq!(
            message.term(DeadlineStage::Answer),
            Some(Term::WorkingDays(15))
        );

        for bad in [
            r#"{"unit":"working_days","answer":0}"#,
            r#"{"unit":"working_days","answer":366}"#,
            r#"{"unit":"calendar_days","answer":30,"extension":31}"#,
            r#"{"unit":"calendar_days","answer":30,"redirect":0}"#,
            r#"{"unit":"weeks","answer":3}"#,
            r#"{"unit":"working_days","answer":10,"typo":1}"#,
        ] {
            assert!(
                serde_json::from_str::<DeadlinePolicy>(bad).is_err(),
                "{bad}"
            );
        }
        let errors = DeadlinePolicy::new(DeadlinePolicySpec {
            unit: TermUnit::CalendarDays,
            moderation: Some(0),
            registration: None,
            redirect: None,
            answer: 400,
            extension: Some(45),
        })
        .unwrap_err();
        let codes: Vec<_> = errors
            .0
            .iter()
            .map(|e| (e.field.as_str(), e.code))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("moderation", "term_out_of_range"),
                ("answer", "term_out_of_range"),
                ("extension", "extension_too_long"),
            ]
        );
    }

    #[test]
    fn policy_due_at_uses_the_production_calendar() {
        let cal = russia();
        let message = DeadlinePolicy::default_for(SubmissionKind::Message);
        // Received Thursday 25 Apr 2024 in Moscow. Working days after it: 26, 27 (a
        // working Saturday) Apr; 29 Apr – 1 May off; 2, 3, 6, 7, 8 May; 9, 10 May off;
        // 13, 14, 15 May — the 10th is Wednesday 15 May.
        let from = datetime!(2024-04-25 09:00 UTC);
        assert_eq!(
            message.due_at(DeadlineStage::Moderation, &cal, from, offset!(+3)),
            Some(datetime!(2024-04-26 20:59:59 UTC))
        );
        assert_eq!(
            message.due_at(DeadlineStage::Answer, &cal, from, offset!(+3)),
            Some(datetime!(2024-05-15 20:59:59 UTC))
        );
        assert_eq!(
            message.due_at(DeadlineStage::Redirect, &cal, from, offset!(+3)),
            None
        );
        let appeal = DeadlinePolicy::default_for(SubmissionKind::Appeal);
        // Registered 1 Oct 2025 + 3 days = Saturday 4 Oct → Friday 3 Oct.
        assert_eq!(
            appeal.due_at(
                DeadlineStage::Registration,
                &cal,
                datetime!(2025-10-01 09:00 UTC),
                offset!(+3)
            ),
            Some(datetime!(2025-10-03 20:59:59 UTC))
        );
    }

    #[test]
    fn an_appeal_is_extended_once_by_up_to_thirty_days() {
        let cal = russia();
        let appeal = DeadlinePolicy::default_for(SubmissionKind::Appeal);
        let due = datetime!(2026-12-02 20:59:59 UTC);
        // 2 Dec + 30 = 1 Jan 2027, a holiday: moved back to Wed 30 Dec (31 Dec is off).
        assert_eq!(
            appeal.extended_due_at(due, 30, &cal, offset!(+3)),
            Ok(datetime!(2026-12-30 20:59:59 UTC))
        );
        assert_eq!(
            appeal.extended_due_at(due, 31, &cal, offset!(+3)),
            Err("extension_too_long")
        );
        assert_eq!(
            appeal.extended_due_at(due, 0, &cal, offset!(+3)),
            Err("term_out_of_range")
        );
        let message = DeadlinePolicy::default_for(SubmissionKind::Message);
        assert_eq!(
            message.extended_due_at(due, 5, &cal, offset!(+3)),
            Err("extension_not_allowed")
        );
    }

    #[test]
    fn a_pause_gives_back_the_working_days_it_took() {
        let cal = russia();
        let zone = offset!(+3);
        let due = datetime!(2026-12-18 20:59:59 UTC); // Friday 18 Dec, Moscow
                                                      // Paused Monday 14 Dec, resumed Wednesday 16 Dec: 15 and 16 Dec are given back.
        let shifted = shift_for_pause(
            due,
            datetime!(2026-12-14 07:00 UTC),
            datetime!(2026-12-16 09:00 UTC),
            TermUnit::WorkingDays,
            &cal,
            zone,
        );
        assert_eq!(shifted, datetime!(2026-12-22 20:59:59 UTC));
        // Paused Friday, resumed Monday: one working day.
        let shifted = shift_for_pause(
            due,
            datetime!(2026-12-11 07:00 UTC),
            datetime!(2026-12-14 09:00 UTC),
            TermUnit::WorkingDays,
            &cal,
            zone,
        );
        assert_eq!(shifted, datetime!(2026-12-21 20:59:59 UTC));
        // Same day: nothing; after the deadline: nothing; resumed before paused: nothing.
        for (from, to) in [
            (
                datetime!(2026-12-14 07:00 UTC),
                datetime!(2026-12-14 12:00 UTC),
            ),
            (
                datetime!(2026-12-19 07:00 UTC),
                datetime!(2026-12-25 12:00 UTC),
            ),
            (
                datetime!(2026-12-16 07:00 UTC),
                datetime!(2026-12-14 12:00 UTC),
            ),
        ] {
            assert_eq!(
                shift_for_pause(due, from, to, TermUnit::WorkingDays, &cal, zone),
                due
            );
        }
        // Resumed after the deadline had passed: the paused working days still count.
        let shifted = shift_for_pause(
            due,
            datetime!(2026-12-17 07:00 UTC),
            datetime!(2026-12-22 09:00 UTC),
            TermUnit::WorkingDays,
            &cal,
            zone,
        );
        // (17 Dec, 22 Dec] holds 18, 21, 22 Dec: 3 working days after Friday 18 Dec.
        assert_eq!(shifted, datetime!(2026-12-23 20:59:59 UTC));
    }

    #[test]
    fn a_pause_gives_back_the_calendar_days_it_took() {
        let cal = russia();
        let zone = offset!(+3);
        let appeal = DeadlinePolicy::default_for(SubmissionKind::Appeal);
        let due = datetime!(2026-12-03 20:59:59 UTC); // Thursday 3 Dec
                                                      // Five days paused: 8 Dec, a Tuesday.
        assert_eq!(
            appeal.shift_for_pause(
                due,
                datetime!(2026-11-20 07:00 UTC),
                datetime!(2026-11-25 07:00 UTC),
                &cal,
                zone
            ),
            datetime!(2026-12-08 20:59:59 UTC)
        );
        // Two days paused: Saturday 5 Dec, moved back to Friday 4 Dec.
        assert_eq!(
            appeal.shift_for_pause(
                due,
                datetime!(2026-11-20 07:00 UTC),
                datetime!(2026-11-22 07:00 UTC),
                &cal,
                zone
            ),
            datetime!(2026-12-04 20:59:59 UTC)
        );
    }

    proptest! {
        #[test]
        fn production_add_then_count_back(day in 0i64..(5 * 366), n in 0u32..300) {
            let cal = russia();
            let start = date!(2024 - 01 - 01) + Duration::days(day);
            let end = add_working_days(&cal, start, n);
            prop_assert_eq!(working_days_between(&cal, start, end), n);
            prop_assert!(n == 0 || cal.is_working_day(end));
        }

        #[test]
        fn a_regional_holiday_never_brings_a_working_day_deadline_forward(
            day in 0i64..(5 * 366),
            n in 1u32..60,
            holiday in 0i64..(5 * 366),
        ) {
            let cal = russia();
            let start = date!(2024 - 01 - 01) + Duration::days(day);
            let region = cal.clone().with_region_overrides([CalendarEntry::new(
                date!(2024 - 01 - 01) + Duration::days(holiday),
                DayKind::Holiday,
            )]);
            let term = Term::WorkingDays(n);
            prop_assert!(term.last_day(&region, start) >= term.last_day(&cal, start));
        }

        #[test]
        fn production_calendar_term_never_exceeds_its_days(day in 0i64..(5 * 366), n in 1u32..60) {
            let cal = russia();
            let start = date!(2024 - 01 - 01) + Duration::days(day);
            let last = Term::CalendarDays(n).last_day(&cal, start);
            prop_assert!(last <= start + Duration::days(i64::from(n)));
            prop_assert!(last >= start);
        }

        #[test]
        fn statutory_carry_overs_land_on_free_weekdays(year in 1990i32..2100) {
            for date in statutory_carry_overs(year).into_iter().flatten() {
                prop_assert!(!is_weekend(date));
                prop_assert!(!BaseCalendar::is_public_holiday(date));
                prop_assert_eq!(date.year(), year);
                // `statutory_kind` relies on a carry-over staying in its holiday's month.
                let in_month = MOVABLE_HOLIDAYS.iter().any(|(month, day)| {
                    *month == date.month() && date.day() > *day && date.day() <= *day + 3
                });
                prop_assert!(in_month, "{}", date);
            }
        }

        #[test]
        fn a_pause_never_brings_a_deadline_forward(
            day in 0i64..(4 * 366),
            n in 1u32..40,
            pause_start in 0i64..40,
            pause_len in 0i64..20,
            working in any::<bool>(),
        ) {
            let cal = russia();
            let zone = offset!(+5);
            let from = datetime!(2024-01-01 06:00 UTC) + Duration::days(day);
            let unit = if working { TermUnit::WorkingDays } else { TermUnit::CalendarDays };
            let due = unit.term(n).due_at(&cal, from, zone);
            let paused = from + Duration::days(pause_start);
            let resumed = paused + Duration::days(pause_len);
            let shifted = shift_for_pause(due, paused, resumed, unit, &cal, zone);
            prop_assert!(shifted >= due);
            if working && shifted != due {
                prop_assert!(cal.is_working_day(shifted.to_offset(zone).date()));
            }
        }
    }
}
