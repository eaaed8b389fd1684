//! The operators' commands through the real binary on a fresh SQLite database: importing
//! municipalities (all or nothing), a region's calendar days, and the deadline commands.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn otklik(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(args)
        .env("OTKLIK_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

#[test]
fn municipalities_are_imported_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "oktmo,name,region_iso\n28701000,Город Тверь,RU-TVE\n99999999,Нигде,RU-TVE\n",
    )
    .unwrap();
    let (code, _, err) = otklik(&[
        "territory",
        "import-municipalities",
        bad.to_str().unwrap(),
        "--data-dir",
        data,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("bad.csv:3:"), "{err}");
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        "oktmo,name,region_iso\n28701000,Город Тверь,RU-TVE\n28745000,Город Ржев,RU-TVE\n50701000,Город Новосибирск,RU-NVS\n",
    )
    .unwrap();
    let (code, out, err) = otklik(&[
        "territory",
        "import-municipalities",
        good.to_str().unwrap(),
        "--data-dir",
        data,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "imported 3 municipalities: 3 new, 0 updated");
    // Again: the same rows are updated, not duplicated.
    let (_, out, _) = otklik(&[
        "territory",
        "import-municipalities",
        good.to_str().unwrap(),
        "--data-dir",
        data,
    ]);
    assert_eq!(out, "imported 3 municipalities: 0 new, 3 updated");
}

#[test]
fn a_region_s_days_are_imported_and_used_by_the_calendar_commands() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    assert_eq!(otklik(&["migrate", "--data-dir", data]).0, 0);
    let days = dir.path().join("tatarstan.txt");
    std::fs::write(&days, "# Курбан-байрам\n2026-05-27 holiday\n").unwrap();
    let (code, out, err) = otklik(&[
        "calendar",
        "import",
        days.to_str().unwrap(),
        "--region",
        "RU-TA",
        "--data-dir",
        data,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("imported 1 days into the RU-TA calendar"),
        "{out}"
    );
    let (code, out, _) = otklik(&[
        "calendar",
        "non-working-days",
        "2026",
        "--region",
        "RU-TA",
        "--installation",
        "--data-dir",
        data,
    ]);
    assert_eq!(code, 0);
    assert!(out.lines().any(|l| l == "2026-05-27"), "{out}");
    assert_eq!(out.lines().count(), 365 - 247 + 1);
    // Without the installation's data, the shipped calendar alone.
    let (_, out, _) = otklik(&["calendar", "non-working-days", "2026"]);
    assert!(!out.lines().any(|l| l == "2026-05-27"));
    let (code, out, _) = otklik(&[
        "calendar",
        "add-working-days",
        "2026-05-26",
        "1",
        "--region",
        "RU-TA",
        "--installation",
        "--data-dir",
        data,
    ]);
    assert_eq!((code, out.as_str()), (0, "2026-05-28"));
    // A bad file names its line and imports nothing; an unknown region is refused.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "2026-06-01 holiday\n2026-13-01 holiday\n").unwrap();
    let (code, _, err) = otklik(&[
        "calendar",
        "import",
        bad.to_str().unwrap(),
        "--region",
        "RU-TA",
        "--data-dir",
        data,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("bad.txt:2: bad_date"), "{err}");
    let (code, _, err) = otklik(&[
        "calendar",
        "import",
        days.to_str().unwrap(),
        "--region",
        "RU-XX",
        "--data-dir",
        data,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("unknown region RU-XX"), "{err}");
}

#[test]
fn the_deadline_commands_report_what_they_did() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    assert_eq!(otklik(&["demo-data", "--data-dir", data]).0, 0);
    let (code, out, err) = otklik(&["sla", "recompute", "--data-dir", data]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("checked 0 open submissions, changed 0 deadlines"),
        "{out}"
    );
    let (code, out, err) = otklik(&["sla", "due", "--limit", "5", "--data-dir", data]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("overdue (first 0)") && out.contains("query time:"),
        "{out}"
    );
}

#[test]
fn the_settings_file_refuses_unknown_keys_naming_key_file_and_line_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let settings = dir.path().join("otklik.toml");
    std::fs::write(
        &settings,
        "[identity]\nlockout_failures = 3\n\n[oidc]\nissuer = \"https://esia.example\"\n\
         client_id = \"OTKLIK\"\nclient_secret = \"do-not-print-me\"\n\
         redirect_url = \"https://otklik.example/auth/oidc/callback\"\n\
         clinet_secret = \"do-not-print-me\"\n",
    )
    .unwrap();
    let (code, out, err) = otklik(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
        "--config",
        settings.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    let shown = format!("{out}\n{err}");
    assert!(
        shown.contains("otklik.toml:9: unknown key `clinet_secret`"),
        "{shown}"
    );
    assert!(
        !shown.contains("do-not-print-me"),
        "a secret was printed: {shown}"
    );
    // Nothing was started or created.
    assert!(!data.join("otklik.db").exists());
}
