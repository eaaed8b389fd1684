//! Operators' commands on a database: recompute deadlines, list what is overdue, import a
//! year's production calendar or a region's own days, and import municipalities.

use std::time::Instant;

use otklik_domain::calendar::{add_working_days, parse_calendar};
use otklik_domain::territory::{federal_subjects, parse_municipalities};
use otklik_store::{NewMunicipality, Scope, Store, SubmissionCard};
use time::OffsetDateTime;

use crate::AppError;

fn usage(message: impl Into<String>) -> AppError {
    AppError::Usage(message.into())
}

/// `otklik sla recompute`: every open deadline re-derived from its term's start, policy,
/// calendar, pauses and extension.
pub async fn recompute(store: &dyn Store) -> Result<String, AppError> {
    let started = Instant::now();
    let report = store.recompute_deadlines(OffsetDateTime::now_utc()).await?;
    Ok(format!(
        "checked {} open submissions, changed {} deadlines in {:.2} s",
        report.checked,
        report.changed,
        started.elapsed().as_secs_f64()
    ))
}

/// `otklik sla due`: the first page of overdue and soon-due submissions (due within
/// `within` working days), with the time the query took.
pub async fn due(store: &dyn Store, limit: u32, within: u32) -> Result<String, AppError> {
    let now = OffsetDateTime::now_utc();
    let calendar = store.calendar(None).await?;
    let moscow = time::UtcOffset::from_hms(3, 0, 0).map_err(|_| usage("time zone"))?;
    let last = add_working_days(&*calendar, now.to_offset(moscow).date(), within);
    let horizon = last
        .next_day()
        .and_then(|d| d.with_hms(0, 0, 0).ok())
        .map(|d| d.assume_offset(moscow))
        .ok_or_else(|| usage("--within: too far"))?;
    let started = Instant::now();
    let lists = store.due(Scope::All, now, horizon, limit).await?;
    let elapsed = started.elapsed();
    let mut out = format!(
        "overdue (first {}):\n{}\ndue within {within} working day(s) (first {}):\n{}\nquery time: {:.2} ms",
        lists.overdue.len(),
        lines(&lists.overdue),
        lists.soon.len(),
        lines(&lists.soon),
        elapsed.as_secs_f64() * 1000.0,
    );
    out.push('\n');
    Ok(out)
}

fn lines(cards: &[SubmissionCard]) -> String {
    cards
        .iter()
        .map(|c| {
            format!(
                "  {}  {}  {}  {}",
                c.number, c.status, c.deadline_at, c.org_name
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `otklik calendar import FILE [--region CODE]`: a later year's decree into the federal
/// layer (whole years replace those years), or a region's own days.
pub async fn import_calendar(
    store: &dyn Store,
    file: &std::path::Path,
    region: Option<&str>,
) -> Result<String, AppError> {
    let text =
        std::fs::read_to_string(file).map_err(|e| usage(format!("{}: {e}", file.display())))?;
    let entries = parse_calendar(&text).map_err(|e| {
        usage(format!(
            "{}:{}: {}: {}",
            file.display(),
            e.line,
            e.code,
            e.text
        ))
    })?;
    if entries.is_empty() {
        return Err(usage(format!("{}: no days in the file", file.display())));
    }
    let report = store
        .put_calendar_days(None, region, &entries, OffsetDateTime::now_utc())
        .await
        .map_err(|e| match e {
            otklik_store::StoreError::InvalidReference("unknown_region") => {
                usage(format!("unknown region {}", region.unwrap_or_default()))
            }
            other => other.into(),
        })?;
    Ok(format!(
        "imported {} days into the {} calendar; recomputed {} open deadlines, {} changed",
        entries.len(),
        region.unwrap_or("federal"),
        report.checked,
        report.changed
    ))
}

/// `otklik territory import-municipalities FILE`: CSV lines `oktmo,name,region_iso[,utc
/// offset minutes]`; every bad line is reported and nothing is imported; otherwise all
/// rows are imported, in batches, with a progress bar on the terminal.
pub async fn import_municipalities(
    store: &dyn Store,
    file: &std::path::Path,
) -> Result<String, AppError> {
    let text =
        std::fs::read_to_string(file).map_err(|e| usage(format!("{}: {e}", file.display())))?;
    let subjects = federal_subjects().map_err(|e| usage(format!("federal subjects: {e}")))?;
    let rows = parse_municipalities(&text, &subjects).map_err(|errors| {
        usage(
            errors
                .iter()
                .take(20)
                .map(|e| format!("{}:{}: {}: {}", file.display(), e.line, e.code, e.text))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let mut regions = std::collections::HashMap::new();
    let mut batch = Vec::with_capacity(rows.len());
    for row in &rows {
        let region = match regions.get(&row.region_iso) {
            Some(id) => *id,
            None => {
                let id = store
                    .region_by_code(&row.region_iso)
                    .await?
                    .ok_or_else(|| usage(format!("unknown region {}", row.region_iso)))?
                    .id;
                regions.insert(row.region_iso.clone(), id);
                id
            }
        };
        batch.push(NewMunicipality {
            oktmo: row.oktmo.as_str().to_owned(),
            name: row.name_ru.clone(),
            region,
            utc_offset_minutes: row.utc_offset_minutes,
        });
    }
    let bar = indicatif::ProgressBar::new(batch.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} municipalities")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (mut inserted, mut updated) = (0, 0);
    for chunk in batch.chunks(1_000) {
        let (i, u) = store.import_municipalities(chunk).await?;
        inserted += i;
        updated += u;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(format!(
        "imported {} municipalities: {inserted} new, {updated} updated",
        batch.len()
    ))
}
