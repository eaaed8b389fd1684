//! `otklik calendar …` through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::Command;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

fn calendar(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .arg("calendar")
        .args(args)
        .output()
        .expect("run otklik");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// The answer of a successful run.
fn answer(args: &[&str]) -> String {
    let run = calendar(args);
    assert_eq!(run.code, Some(0), "{args:?}: {}", run.stderr);
    run.stdout.trim_end().to_owned()
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

fn path(file: &tempfile::NamedTempFile) -> &str {
    file.path().to_str().unwrap()
}

/// A 2028 calendar: the art. 112 holidays, their carry-over, and `extra`.
fn calendar_2028(extra: &str) -> String {
    let mut text = String::from("# 2028 for the tests\n");
    for entry in otklik_domain::calendar::statutory_entries(2028) {
        text.push_str(&format!("{} {}\n", entry.date, entry.kind));
    }
    text.push_str(extra);
    text
}

#[test]
fn non_working_days_of_2025_follow_the_decree() {
    let run = calendar(&["non-working-days", "2025"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stderr, "");
    let lines = run.lines();
    assert_eq!(lines.len(), 365 - 247);
    for day in [
        "2025-05-02",
        "2025-05-08",
        "2025-06-13",
        "2025-11-03",
        "2025-12-31",
    ] {
        assert!(lines.contains(&day), "{day}");
    }
    assert!(!lines.contains(&"2025-11-01"), "a working Saturday");
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, lines);
    assert!(lines.iter().all(|line| line.len() == 10));
}

#[test]
fn non_working_days_of_2026() {
    let run = calendar(&["non-working-days", "2026"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.lines().len(), 365 - 247);
}

#[test]
fn a_year_without_a_decree_warns_and_still_answers() {
    let run = calendar(&["non-working-days", "2030"]);
    assert_eq!(run.code, Some(0));
    assert!(
        run.stderr.contains(
            "no official production calendar for 2030: using the statutory rule (Labour Code art. 112)"
        ),
        "{}",
        run.stderr
    );
    assert!(run.lines().contains(&"2030-01-01"));
    assert!(run.lines().len() > 110);
}

#[test]
fn add_working_days_skips_days_off_and_counts_working_saturdays() {
    assert_eq!(
        answer(&["add-working-days", "2025-04-30", "1"]),
        "2025-05-05"
    );
    assert_eq!(
        answer(&["add-working-days", "2025-12-30", "1"]),
        "2026-01-12"
    );
    assert_eq!(
        answer(&["add-working-days", "2025-10-31", "1"]),
        "2025-11-01"
    );
    assert_eq!(
        answer(&["add-working-days", "2025-05-03", "0"]),
        "2025-05-03"
    );
}

#[test]
fn bad_input_exits_2_without_panicking() {
    for args in [
        &["add-working-days", "2025-02-30", "1"][..],
        &["add-working-days", "30.04.2025", "1"],
        &["add-working-days", "2025-04-30", "100001"],
        &["add-working-days", "2025-04-30", "many"],
        &["add-working-days", "2201-01-01", "1"],
        &["non-working-days", "1899"],
        &["non-working-days", "2201"],
        &[
            "non-working-days",
            "2025",
            "--file",
            "/nonexistent/ru-2028.txt",
        ],
        &["check", "/nonexistent/ru-2028.txt"],
    ] {
        let run = calendar(args);
        assert_eq!(run.code, Some(2), "{args:?}");
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{args:?}");
    }
}

#[test]
fn a_file_layers_a_later_year() {
    // 2028-03-07 is a Tuesday; a "decree" makes it a day off.
    let decree = file(&calendar_2028("2028-03-07 day-off\n"));
    let args = ["add-working-days", "2028-03-06", "1"];
    assert_eq!(answer(&args), "2028-03-07");
    let run = calendar(&[&args[..], &["--file", path(&decree)]].concat());
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "2028-03-09\n");
    assert_eq!(run.stderr, "", "official data now: no warning");
    let days = calendar(&["non-working-days", "2028", "--file", path(&decree)]);
    assert!(days.lines().contains(&"2028-03-07"));
}

#[test]
fn a_region_file_shifts_an_answer() {
    let args = ["add-working-days", "2025-06-05", "1"];
    assert_eq!(answer(&args), "2025-06-06");
    let region = file("2025-06-06 holiday  # a regional holiday\n");
    let shifted = answer(
        &[
            &args[..],
            &["--region", "RU-TA", "--region-file", path(&region)],
        ]
        .concat(),
    );
    assert_eq!(shifted, "2025-06-09");
    let days = calendar(&[
        "non-working-days",
        "2025",
        "--region",
        "RU-TA",
        "--region-file",
        path(&region),
    ]);
    assert_eq!(days.lines().len(), 365 - 247 + 1);
}

#[test]
fn a_region_must_be_known_without_its_file() {
    let run = calendar(&["non-working-days", "2025", "--region", "RU-XX"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("unknown region RU-XX"),
        "{}",
        run.stderr
    );
    let known = calendar(&["non-working-days", "2025", "--region", "RU-TA"]);
    assert_eq!(known.code, Some(0));
    assert_eq!(known.lines().len(), 365 - 247);
}

#[test]
fn check_reports_totals_missing_holidays_and_the_first_bad_line() {
    let good = file(&calendar_2028(""));
    let run = calendar(&["check", path(&good)]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "2028: 249 working days, 117 non-working days\n");
    assert_eq!(run.stderr, "");

    let partial = file("2028-01-01 holiday\n2028-11-04 holiday\n");
    let run = calendar(&["check", path(&partial)]);
    assert_eq!(run.code, Some(0));
    assert!(
        run.stderr.contains("federal holidays missing"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("2028-06-12"), "{}", run.stderr);

    let bad = file("# header\n2028-01-01 holiday\n\n2028-01-02 feast\n2028-13-01 holiday\n");
    let run = calendar(&["check", path(&bad)]);
    assert_eq!(run.code, Some(2));
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr.trim_end(),
        format!("{}:4: unknown_kind: feast", path(&bad))
    );
    // The same file as a layer fails the same way.
    let run = calendar(&["non-working-days", "2028", "--file", path(&bad)]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains(":4: unknown_kind: feast"),
        "{}",
        run.stderr
    );
}
