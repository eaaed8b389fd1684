//! Background exports of lists and of the analytics report: the request for a list (a
//! POST form on every list page; the analytics page asks at `POST /analytics/exports`),
//! the owner's jobs with their progress, and the finished file, streamed part by part —
//! kept for `[exports] keep_hours`, then `410 Gone` (the job itself stays listed, marked
//! so).

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use futures_util::StreamExt;
use otklik_store::ExportJob;
use serde::Deserialize;
use time::OffsetDateTime;

use super::views::Chrome;
use super::{render, PageError};
use crate::auth::{self, Ctx};
use crate::error::AppError;
use crate::export;
use crate::messages;
use crate::usecases::{self, ListFilters};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/exports", get(list).post(create))
        .route("/exports/{id}", get(show))
        .route("/exports/{id}/file", get(file))
}

/// The request: a format and the list's filters.
#[derive(Debug, Default, Deserialize)]
struct ExportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    overdue: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Result<Form<ExportForm>, FormRejection>,
) -> Result<Response, PageError> {
    let user = ctx.require_user()?.clone();
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    // Only those who may read a list may export it; the filters are checked now, so a
    // job never fails on them later.
    usecases::scope_of(&auth::principal_of(&user, None))?;
    let filters = ListFilters {
        status: form.status,
        category: form.category,
        overdue: form.overdue,
        page: None,
        done: None,
    };
    usecases::parse_filters(&filters, OffsetDateTime::now_utc())?;
    if !matches!(form.format.as_str(), "csv" | "xlsx") {
        return Err(AppError::field("format", "unknown_value").into());
    }
    let params = serde_json::to_string(&filters).map_err(|_| AppError::internal())?;
    let id = state
        .store
        .create_export_job(
            user.id,
            "submissions",
            &form.format,
            &params,
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(Redirect::to(&format!("/exports/{id}")).into_response())
}

/// A job as the pages show it.
pub struct JobView {
    pub id: i64,
    pub href: String,
    /// What is exported: «Список обращений», «Аналитика: …».
    pub what: String,
    pub format: &'static str,
    pub status: &'static str,
    pub done: bool,
    pub running: bool,
    /// The file was deleted when its retention ran out.
    pub expired: bool,
    pub rows: u64,
    pub size: String,
    pub created: String,
    /// Until when a finished file is kept.
    pub kept_until: Option<String>,
    pub error: Option<&'static str>,
}

/// What a job exports, as its pages name it.
fn what(job: &ExportJob) -> String {
    match job.kind.as_str() {
        crate::analytics::JOB_KIND => {
            serde_json::from_str::<crate::analytics::ReportJob>(&job.params)
                .map_or_else(|_| "Аналитика".to_owned(), |asked| asked.describe())
        }
        _ => "Список обращений".to_owned(),
    }
}

/// What a page says of a job whose file was deleted when its retention ran out.
pub const EXPIRED: &str = "Файл удалён по истечении срока хранения";

fn view(job: &ExportJob, keep: time::Duration) -> JobView {
    let expired = job.expired_at.is_some();
    let done = job.status == "done" && !expired;
    JobView {
        id: job.id,
        href: format!("/exports/{}", job.id),
        what: what(job),
        format: if job.format == "xlsx" { "XLSX" } else { "CSV" },
        status: match job.status.as_str() {
            "queued" => "В очереди",
            "running" => "Готовится",
            "done" if expired => EXPIRED,
            "done" => "Готово",
            _ => "Не удалось",
        },
        done,
        running: matches!(job.status.as_str(), "queued" | "running"),
        expired,
        rows: job.rows_done,
        size: messages::size(job.bytes),
        created: messages::datetime(job.created_at),
        kept_until: job
            .finished_at
            .filter(|_| done)
            .and_then(|at| at.checked_add(keep))
            .map(messages::datetime),
        error: job.error.as_deref().map(messages::error),
    }
}

#[derive(Template)]
#[template(path = "exports.html")]
pub struct ExportsPage {
    pub chrome: Chrome,
    pub jobs: Vec<JobView>,
    /// How long a finished file is kept: «7 дней», «36 часов».
    pub keep: String,
}

/// `[exports] keep_hours` in words: whole days as days, anything else as hours.
fn keep_words(hours: u32) -> String {
    let (n, one, few, many) = if hours.is_multiple_of(24) {
        (hours / 24, "день", "дня", "дней")
    } else {
        (hours, "час", "часа", "часов")
    };
    format!("{n} {}", super::polls::plural(u64::from(n), one, few, many))
}

#[derive(Template)]
#[template(path = "export.html")]
pub struct ExportPage {
    pub chrome: Chrome,
    pub job: JobView,
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = ctx.require_user()?;
    let jobs = state.store.export_jobs_of(user.id, 50).await?;
    Ok(render(&ExportsPage {
        chrome: Chrome::new(&ctx, "Выгрузки"),
        jobs: jobs
            .iter()
            .map(|job| view(job, state.config.exports.keep()))
            .collect(),
        keep: keep_words(state.config.exports.keep_hours),
    }))
}

fn job_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>().map_err(|_| AppError::not_found())
}

async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let user = ctx.require_user()?;
    let job = state.store.export_job(job_id(&id)?, user.id).await?;
    Ok(render(&ExportPage {
        chrome: Chrome::new(&ctx, "Выгрузка"),
        job: view(&job, state.config.exports.keep()),
    }))
}

async fn file(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let user = ctx.require_user()?;
    let job = state.store.export_job(job_id(&id)?, user.id).await?;
    let expired = || AppError::new(axum::http::StatusCode::GONE, "export_expired");
    if job.expired_at.is_some() {
        return Err(expired().into());
    }
    if job.status != "done" {
        return Err(AppError::new(axum::http::StatusCode::CONFLICT, "export_not_ready").into());
    }
    let (store, owner, id) = (state.store.clone(), user.id, job.id);
    // The first part is read before answering: a finished file has at least one, so none
    // means the sweep deleted it a moment ago.
    let Some(first) = store.export_part(id, owner, 0).await? else {
        return Err(expired().into());
    };
    // One part in memory at a time.
    let rest = futures_util::stream::unfold(1u64, move |seq| {
        let store = store.clone();
        async move {
            match store.export_part(id, owner, seq).await {
                Ok(Some(part)) => Some((Ok::<_, std::io::Error>(Bytes::from(part)), seq + 1)),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(code = e.code(), "export download stopped: {e}");
                    Some((Err(std::io::Error::other("export failed")), u64::MAX))
                }
            }
        }
    });
    let parts = futures_util::stream::once(async move { Ok(Bytes::from(first)) }).chain(rest);
    let (media, name) = if job.format == "xlsx" {
        (export::XLSX, format!("otklik-export-{id}.xlsx"))
    } else {
        (export::CSV, format!("otklik-export-{id}.csv"))
    };
    Ok(export::download(Body::from_stream(parts), media, &name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_in_words() {
        assert_eq!(keep_words(168), "7 дней");
        assert_eq!(keep_words(24), "1 день");
        assert_eq!(keep_words(48), "2 дня");
        assert_eq!(keep_words(36), "36 часов");
        assert_eq!(keep_words(1), "1 час");
        assert_eq!(keep_words(22), "22 часа");
    }
}
