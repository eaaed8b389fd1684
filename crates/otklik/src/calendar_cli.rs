//! `otklik calendar …`: the production calendar from the command line.
//!
//! Every function takes the calendar to answer from, so the database-backed import can
//! pass its own instead of [`ProductionCalendar::russia`]. A command returns the lines
//! for stdout and the warnings for stderr; bad input is a [`CalendarError`] (exit 2).

use std::path::{Path, PathBuf};

use otklik_domain::calendar::{
    add_working_days as add_days, missing_federal_holidays, parse_calendar, CalendarEntry,
    CalendarParseError, ProductionCalendar,
};
use time::macros::format_description;
use time::Date;

/// The years the commands accept.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;
/// The most working days `add-working-days` counts.
pub const MAX_WORKING_DAYS: u32 = 100_000;

/// Input the command cannot use. Exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// An argument or a file that cannot be used.
    #[error("{0}")]
    Usage(String),
    /// A calendar file that does not parse: `FILE:LINE: CODE: text`.
    #[error("{file}:{}: {}: {}", error.line, error.code, error.text)]
    Parse {
        file: String,
        error: CalendarParseError,
    },
}

fn usage(message: impl Into<String>) -> CalendarError {
    CalendarError::Usage(message.into())
}

/// What a command prints: `lines` on stdout, `warnings` on stderr.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub lines: Vec<String>,
    pub warnings: Vec<String>,
}

/// `YYYY-MM-DD`.
pub fn iso(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

pub fn parse_year(raw: &str) -> Result<i32, CalendarError> {
    raw.trim()
        .parse::<i32>()
        .ok()
        .filter(|year| YEARS.contains(year))
        .ok_or_else(|| {
            usage(format!(
                "YEAR: `{raw}` is not a year from {} to {}",
                YEARS.start(),
                YEARS.end()
            ))
        })
}

pub fn parse_date(raw: &str) -> Result<Date, CalendarError> {
    let date = Date::parse(raw.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| usage(format!("DATE: `{raw}` is not a date YYYY-MM-DD")))?;
    if !YEARS.contains(&date.year()) {
        return Err(usage(format!(
            "DATE: {raw} is outside the years {} to {}",
            YEARS.start(),
            YEARS.end()
        )));
    }
    Ok(date)
}

pub fn parse_working_days(raw: &str) -> Result<u32, CalendarError> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n <= MAX_WORKING_DAYS)
        .ok_or_else(|| {
            usage(format!(
                "N: `{raw}` is not a number of working days from 0 to {MAX_WORKING_DAYS}"
            ))
        })
}

/// Parses the text of a calendar file; `file` names it in the error.
pub fn parse_calendar_text(file: &str, text: &str) -> Result<Vec<CalendarEntry>, CalendarError> {
    parse_calendar(text).map_err(|error| CalendarError::Parse {
        file: file.to_owned(),
        error,
    })
}

/// Reads and parses a calendar file.
pub fn read_calendar_file(path: &Path) -> Result<Vec<CalendarEntry>, CalendarError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    parse_calendar_text(&path.display().to_string(), &text)
}

/// What is layered on top of the base calendar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layers {
    /// Whole-year calendar files (a later decree); a later file wins for its years.
    pub files: Vec<PathBuf>,
    /// The federal subject (`RU-TA`) whose days apply.
    pub region: Option<String>,
    /// The region's own days, in the calendar file format; a later file wins.
    pub region_files: Vec<PathBuf>,
}

/// A calendar with its layers applied, and what the user should know about it.
#[derive(Debug, Clone)]
pub struct Layered {
    pub calendar: ProductionCalendar,
    pub warnings: Vec<String>,
}

/// Applies `layers` to `base`. A region without region files must be a known federal
/// subject; until regional calendars are stored, it then gets the federal calendar.
pub fn layered(base: &ProductionCalendar, layers: &Layers) -> Result<Layered, CalendarError> {
    let mut calendar = base.clone();
    let mut warnings = Vec::new();
    for path in &layers.files {
        calendar = calendar.with_entries(read_calendar_file(path)?);
    }
    if !layers.region_files.is_empty() && layers.region.is_none() {
        return Err(usage("--region-file needs --region CODE"));
    }
    if let Some(region) = &layers.region {
        if layers.region_files.is_empty() {
            if otklik_domain::territory::federal_subject(region).is_none() {
                return Err(usage(format!("unknown region {region}")));
            }
            warnings.push(format!(
                "no regional calendar for {region}: using the federal calendar"
            ));
        }
        for path in &layers.region_files {
            calendar = calendar.with_region_overrides(read_calendar_file(path)?);
        }
    }
    Ok(Layered { calendar, warnings })
}

fn statutory_warning(years: &str) -> String {
    format!(
        "no official production calendar for {years}: using the statutory rule (Labour Code art. 112)"
    )
}

/// One warning per run of consecutive years in `years` without official data, so a
/// count across centuries does not print a line per year.
fn statutory_warnings(
    calendar: &ProductionCalendar,
    years: std::ops::RangeInclusive<i32>,
) -> Vec<String> {
    let mut runs: Vec<(i32, i32)> = Vec::new();
    for year in years.filter(|year| !calendar.has_official_data(*year)) {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == year => *last = year,
            _ => runs.push((year, year)),
        }
    }
    runs.into_iter()
        .map(|(first, last)| {
            if first == last {
                statutory_warning(&first.to_string())
            } else {
                statutory_warning(&format!("{first}-{last}"))
            }
        })
        .collect()
}

/// `non-working-days YEAR`: every non-working date of `year`, ascending.
pub fn non_working_days(calendar: &ProductionCalendar, year: i32) -> Report {
    Report {
        lines: calendar
            .non_working_days(year)
            .into_iter()
            .map(iso)
            .collect(),
        warnings: statutory_warnings(calendar, year..=year),
    }
}

/// `add-working-days DATE N`: the `n`-th working day after `date` (`n = 0`: `date`).
/// Warns about each counted year without official data.
pub fn add_working_days(calendar: &ProductionCalendar, date: Date, n: u32) -> Report {
    let result = add_days(calendar, date, n);
    // The start day itself is not counted, so neither is its year when n = 0.
    let counted = date.next_day().filter(|_| n > 0).map(|first| first.year());
    let warnings = counted
        .map(|first| statutory_warnings(calendar, first..=result.year()))
        .unwrap_or_default();
    Report {
        lines: vec![iso(result)],
        warnings,
    }
}

/// `non-working-days YEAR [layers]` from its raw arguments.
pub fn non_working_days_command(
    base: &ProductionCalendar,
    year: &str,
    layers: &Layers,
) -> Result<Report, CalendarError> {
    let year = parse_year(year)?;
    let layered = layered(base, layers)?;
    let mut report = non_working_days(&layered.calendar, year);
    report.warnings.splice(0..0, layered.warnings);
    Ok(report)
}

/// `add-working-days DATE N [layers]` from its raw arguments.
pub fn add_working_days_command(
    base: &ProductionCalendar,
    date: &str,
    n: &str,
    layers: &Layers,
) -> Result<Report, CalendarError> {
    let date = parse_date(date)?;
    let n = parse_working_days(n)?;
    let layered = layered(base, layers)?;
    let mut report = add_working_days(&layered.calendar, date, n);
    report.warnings.splice(0..0, layered.warnings);
    Ok(report)
}

/// `check FILE`: per year of the file, `YEAR: N working days, M non-working days`, and
/// a warning for every year that lacks a federal holiday.
pub fn check(file: &str, text: &str) -> Result<Report, CalendarError> {
    let entries = parse_calendar_text(file, text)?;
    let mut years: Vec<i32> = entries.iter().map(|entry| entry.date.year()).collect();
    years.sort_unstable();
    years.dedup();
    if years.is_empty() {
        return Err(usage(format!("{file}: no calendar entries")));
    }
    let calendar = ProductionCalendar::statutory().with_entries(entries.iter().copied());
    let mut report = Report::default();
    for year in years {
        let working = calendar.working_days_in_year(year);
        let non_working = calendar.non_working_days(year).len();
        report.lines.push(format!(
            "{year}: {working} working days, {non_working} non-working days"
        ));
        let missing = missing_federal_holidays(year, &entries);
        if !missing.is_empty() {
            let dates: Vec<String> = missing.into_iter().map(iso).collect();
            report.warnings.push(format!(
                "{file}: {year}: federal holidays missing (Labour Code art. 112): {}",
                dates.join(", ")
            ));
        }
    }
    Ok(report)
}

/// [`check`] on a file.
pub fn check_file(path: &Path) -> Result<Report, CalendarError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    check(&path.display().to_string(), &text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use otklik_domain::calendar::{DayKind, WorkingCalendar};
    use std::io::Write;
    use time::macros::date;

    fn russia() -> ProductionCalendar {
        ProductionCalendar::russia()
    }

    fn temp_file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    /// A complete 2028 calendar by art. 112 alone, plus `extra` lines.
    fn year_2028(extra: &str) -> String {
        let mut text: String = otklik_domain::calendar::statutory_entries(2028)
            .into_iter()
            .map(|entry| format!("{} {}\n", iso(entry.date), entry.kind))
            .collect();
        text.push_str(extra);
        text
    }

    #[test]
    fn arguments_are_checked() {
        assert_eq!(parse_year("2025"), Ok(2025));
        assert_eq!(parse_year("1900"), Ok(1900));
        assert_eq!(parse_year("2200"), Ok(2200));
        for bad in ["1899", "2201", "-5", "twenty", ""] {
            assert!(
                matches!(parse_year(bad), Err(CalendarError::Usage(_))),
                "{bad}"
            );
        }
        assert_eq!(parse_date("2025-04-30"), Ok(date!(2025 - 04 - 30)));
        for bad in [
            "2025-02-29",
            "30.04.2025",
            "2025-4-30",
            "1899-12-31",
            "2201-01-01",
            "",
        ] {
            assert!(
                matches!(parse_date(bad), Err(CalendarError::Usage(_))),
                "{bad}"
            );
        }
        assert_eq!(parse_working_days("0"), Ok(0));
        assert_eq!(parse_working_days("100000"), Ok(MAX_WORKING_DAYS));
        for bad in ["100001", "-1", "1.5", "x"] {
            assert!(parse_working_days(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn non_working_days_of_2025() {
        let report = non_working_days(&russia(), 2025);
        assert_eq!(report.lines.len(), 365 - 247);
        assert!(report.warnings.is_empty());
        for day in [
            "2025-01-01",
            "2025-05-02",
            "2025-05-08",
            "2025-06-13",
            "2025-11-03",
            "2025-12-31",
        ] {
            assert!(report.lines.iter().any(|line| line == day), "{day}");
        }
        assert!(!report.lines.iter().any(|line| line == "2025-11-01"));
        let mut sorted = report.lines.clone();
        sorted.sort();
        assert_eq!(sorted, report.lines);
    }

    #[test]
    fn years_without_a_decree_warn() {
        for year in [2027, 2030, 1900] {
            let report = non_working_days(&russia(), year);
            assert_eq!(
                report.warnings,
                vec![format!(
                    "no official production calendar for {year}: using the statutory rule (Labour Code art. 112)"
                )]
            );
            assert!(report.lines.len() > 100);
        }
    }

    #[test]
    fn adding_working_days() {
        let cal = russia();
        let add = |date, n| add_working_days(&cal, date, n);
        assert_eq!(add(date!(2025 - 04 - 30), 1).lines, ["2025-05-05"]);
        assert_eq!(add(date!(2025 - 12 - 30), 1).lines, ["2026-01-12"]);
        assert_eq!(add(date!(2025 - 10 - 31), 1).lines, ["2025-11-01"]);
        assert_eq!(add(date!(2025 - 05 - 03), 0).lines, ["2025-05-03"]);
        assert!(add(date!(2025 - 12 - 30), 1).warnings.is_empty());
        // 31 Dec 2026 and 1–10 Jan 2027 are off: the 2nd working day is 12 Jan, in 2027,
        // which is derived only.
        let report = add(date!(2026 - 12 - 30), 2);
        assert_eq!(report.lines, ["2027-01-12"]);
        assert_eq!(report.warnings.len(), 1);
        assert!(report.warnings[0].contains("2027"));
        // n = 0 counts nothing, so the year of the start does not matter.
        assert!(add(date!(2030 - 01 - 10), 0).warnings.is_empty());
        // The largest count stays well inside the supported dates.
        let far = add(date!(2200 - 12 - 31), MAX_WORKING_DAYS);
        let year: i32 = far.lines[0][..4].parse().unwrap();
        assert!((2500..2700).contains(&year), "{year}");
        assert_eq!(far.warnings, [statutory_warning(&format!("2201-{year}"))]);
        // Official, derived and statutory years: 2027 and 2028 make one run.
        let report = add(date!(2026 - 12 - 01), 300);
        assert_eq!(report.warnings, [statutory_warning("2027-2028")]);
    }

    #[test]
    fn files_are_layered_over_the_shipped_data() {
        // 2028-03-07 (Tuesday) as an extra day off.
        let file = temp_file(&year_2028("2028-03-07 day-off\n"));
        let plain = layered(&russia(), &Layers::default()).unwrap();
        assert!(plain.calendar.is_working_day(date!(2028 - 03 - 07)));
        let with_file = layered(
            &russia(),
            &Layers {
                files: vec![file.path().to_owned()],
                ..Layers::default()
            },
        )
        .unwrap();
        assert!(!with_file.calendar.is_working_day(date!(2028 - 03 - 07)));
        assert!(with_file.calendar.has_official_data(2028));
        assert!(non_working_days(&with_file.calendar, 2028)
            .warnings
            .is_empty());
        assert_eq!(
            add_working_days(&with_file.calendar, date!(2028 - 03 - 06), 1).lines,
            ["2028-03-09"]
        );
        // Shipped years are untouched.
        assert_eq!(with_file.calendar.working_days_in_year(2025), 247);
    }

    #[test]
    fn regions() {
        let holiday = temp_file("2025-06-06 holiday  # a regional holiday\n");
        let region = layered(
            &russia(),
            &Layers {
                region: Some("RU-TA".into()),
                region_files: vec![holiday.path().to_owned()],
                ..Layers::default()
            },
        )
        .unwrap();
        assert!(region.warnings.is_empty());
        assert_eq!(
            region.calendar.day_kind(date!(2025 - 06 - 06)),
            Some(DayKind::Holiday)
        );
        assert_eq!(
            add_working_days(&region.calendar, date!(2025 - 06 - 05), 1).lines,
            ["2025-06-09"]
        );

        // A known subject without data gets the federal calendar, with a warning.
        let known = layered(
            &russia(),
            &Layers {
                region: Some("RU-TA".into()),
                ..Layers::default()
            },
        )
        .unwrap();
        assert_eq!(known.calendar, russia());
        assert_eq!(known.warnings.len(), 1);

        let unknown = layered(
            &russia(),
            &Layers {
                region: Some("RU-XX".into()),
                ..Layers::default()
            },
        )
        .unwrap_err();
        assert_eq!(unknown, CalendarError::Usage("unknown region RU-XX".into()));

        let orphan = layered(
            &russia(),
            &Layers {
                region_files: vec![holiday.path().to_owned()],
                ..Layers::default()
            },
        );
        assert!(matches!(orphan, Err(CalendarError::Usage(_))));
    }

    #[test]
    fn bad_files_are_usage_errors() {
        let missing = layered(
            &russia(),
            &Layers {
                files: vec!["/nonexistent/ru-2028.txt".into()],
                ..Layers::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(&missing, CalendarError::Usage(m) if m.starts_with("/nonexistent/ru-2028.txt: ")),
            "{missing}"
        );
        let broken = temp_file("2028-01-01 holiday\n2028-01-02 feast\n");
        let error = layered(
            &russia(),
            &Layers {
                region: Some("RU-TA".into()),
                region_files: vec![broken.path().to_owned()],
                ..Layers::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{}:2: unknown_kind: feast", broken.path().display())
        );
    }

    #[test]
    fn checking_a_file() {
        for (year, text) in ProductionCalendar::shipped_files() {
            let report = check("ru.txt", text).unwrap();
            let working = russia().working_days_in_year(year);
            let non_working = 365 + u32::from(time::util::is_leap_year(year)) - working;
            assert_eq!(
                report.lines,
                [format!(
                    "{year}: {working} working days, {non_working} non-working days"
                )]
            );
            assert!(report.warnings.is_empty(), "{year}: {:?}", report.warnings);
        }
        let partial = check("p.txt", "2028-01-01 holiday\n2028-11-04 holiday\n").unwrap();
        assert_eq!(partial.warnings.len(), 1);
        assert!(partial.warnings[0].starts_with("p.txt: 2028: federal holidays missing"));
        assert!(partial.warnings[0].contains("2028-01-02"));
        assert!(!partial.warnings[0].contains("2028-11-04"));

        let error = check(
            "bad.txt",
            "# header\n2028-01-01 holiday\n2028-02-30 holiday\n",
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "bad.txt:3: bad_date: 2028-02-30");
        assert!(matches!(
            check("empty.txt", "# nothing\n"),
            Err(CalendarError::Usage(_))
        ));
        assert!(matches!(
            check_file(Path::new("/nonexistent.txt")),
            Err(CalendarError::Usage(_))
        ));
        let file = temp_file(&year_2028(""));
        assert_eq!(
            check_file(file.path()).unwrap().lines.len(),
            1,
            "a file of one year"
        );
    }
}
