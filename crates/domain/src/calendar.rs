//! Working days and deadlines.
//!
//! A deadline ends at 23:59:59 on its last day in the responsible organisation's local
//! time, and is stored as a UTC instant. Russia has no daylight saving time, so a fixed
//! UTC offset per organisation is exact.
//!
//! This module ships the base federal calendar: Saturdays and Sundays plus the public
//! holidays of Labour Code art. 112. The government's yearly transfers of days off are
//! data that a later change loads per year; [`WorkingCalendar`] is the seam for it.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

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
        date = date.next_day().unwrap_or(date);
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
        let last = self.last_day(calendar, local_start);
        PrimitiveDateTime::new(last, Time::from_hms(23, 59, 59).unwrap_or(Time::MIDNIGHT))
            .assume_offset(zone)
            .to_offset(UtcOffset::UTC)
    }
}

#[cfg(test)]
mod tests {
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
}
