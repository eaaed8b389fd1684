//! Production calendars: the federal layer (decrees over the shipped years) and each
//! region's own days. Days are added one at a time or from a calendar file; every change
//! recomputes the open deadlines, and the page says how many moved. A file with a bad
//! line is refused whole, with the line's number.

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use otklik_domain::calendar::{CalendarEntry, DayKind};
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::super::forms::{FieldView, SummaryItem};
use super::super::views::Chrome;
use super::super::CsrfForm;
use super::super::{render, render_status};
use super::{
    count, input, operator, operator_post, region_options, summary, text, PageResult, Target,
};
use crate::api::console::{
    add_day, iso_date, layer_of, parse_day, parse_import, ImportRefusal, Layer,
};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/calendars", get(index))
        .route("/console/calendars/{layer}", get(layer_page))
        .route("/console/calendars/{layer}/days", post(add))
        .route(
            "/console/calendars/{layer}/days/{date}/delete",
            post(delete),
        )
        .route("/console/calendars/{layer}/upload", post(upload))
}

// --- choosing a layer ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console_calendars.html")]
struct IndexPage {
    chrome: Chrome,
    regions: Vec<FieldView>,
}

#[derive(Debug, Default, Deserialize)]
struct IndexQuery {
    #[serde(default)]
    region: String,
}

async fn index(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Result<Query<IndexQuery>, QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|_| AppError::bad_request("invalid_query"))?;
    operator(&ctx)?;
    let regions = state.store.regions().await?;
    // The region picker is a GET form: go straight to the chosen region's calendar.
    if let Some(region) = q
        .region
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|id| regions.iter().find(|r| r.id.0 == id))
    {
        return Ok(Redirect::to(&format!("/console/calendars/{}", region.code)).into_response());
    }
    Ok(render(&IndexPage {
        chrome: Chrome::new(&ctx, "Производственные календари"),
        regions: vec![FieldView::new("region", "Регион", "select")
            .value(&q.region)
            .options(region_options(&regions))],
    }))
}

// --- one layer -------------------------------------------------------------------------------

pub struct DayRow {
    pub date: String,
    pub weekday: &'static str,
    pub kind: &'static str,
    pub delete_action: String,
}

#[derive(Template)]
#[template(path = "console_calendar.html")]
struct LayerPage {
    chrome: Chrome,
    heading: String,
    federal: bool,
    slug: String,
    days: Vec<DayRow>,
    add_fields: Vec<FieldView>,
    upload_error: Option<String>,
    summary: Vec<SummaryItem>,
    done: Option<String>,
}

/// What failed on the page, if anything: the add form, or the upload.
enum Failure<'a> {
    None,
    Add(&'a AppError),
    Upload(String),
}

impl LayerPage {
    async fn build(
        state: &AppState,
        ctx: &Ctx,
        layer: &Layer,
        typed: (&str, &str),
        failure: Failure<'_>,
        done: Option<String>,
    ) -> Result<Self, AppError> {
        let days = state.store.calendar_days(layer.code()).await?;
        let slug = layer.slug().to_owned();
        let heading = match layer {
            Layer::Federal => "Федеральный производственный календарь".to_owned(),
            Layer::Region(r) => format!("Календарь региона: {}", r.name),
        };
        let add_error = match &failure {
            Failure::Add(e) => Some(*e),
            _ => None,
        };
        let add_fields = vec![
            input("date", "Дата", "date", typed.0, add_error)
                .required()
                .hint("В формате ГГГГ-ММ-ДД, например 2026-08-30."),
            input("kind", "Вид дня", "select", typed.1, add_error)
                .required()
                .options(
                    DayKind::ALL
                        .iter()
                        .map(|k| (k.as_str().to_owned(), text::day_kind(*k).to_owned()))
                        .collect(),
                ),
        ];
        let (summary, upload_error) = match failure {
            Failure::None => (Vec::new(), None),
            Failure::Add(e) => {
                let targets: Vec<Target> = add_fields.iter().map(Target::from).collect();
                (summary(Some(e), &targets), None)
            }
            Failure::Upload(message) => (
                vec![SummaryItem {
                    href: "#f-calendar".to_owned(),
                    message: format!("Файл календаря: {message}"),
                }],
                Some(message),
            ),
        };
        let failed = !summary.is_empty();
        Ok(Self {
            chrome: Chrome::new(
                ctx,
                &if failed {
                    format!("Ошибка: {heading}")
                } else {
                    heading.clone()
                },
            ),
            heading,
            federal: matches!(layer, Layer::Federal),
            days: days
                .iter()
                .map(|d| DayRow {
                    date: iso_date(d.date),
                    weekday: text::weekday(d.date.weekday()),
                    kind: text::day_kind(d.kind),
                    delete_action: format!(
                        "/console/calendars/{slug}/days/{}/delete",
                        iso_date(d.date)
                    ),
                })
                .collect(),
            slug,
            add_fields,
            upload_error,
            summary,
            done,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
struct LayerQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    checked: String,
    #[serde(default)]
    changed: String,
    #[serde(default)]
    days: String,
}

async fn layer_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(layer): Path<String>,
    q: Result<Query<LayerQuery>, QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|_| AppError::bad_request("invalid_query"))?;
    operator(&ctx)?;
    let layer = layer_of(state.store.as_ref(), &layer).await?;
    let what = match q.done.as_str() {
        "added" => Some("День сохранён.".to_owned()),
        "deleted" => Some("День удалён.".to_owned()),
        "uploaded" => Some(format!("Календарь загружен, дней: {}.", count(&q.days))),
        _ => None,
    };
    let done = what.map(|w| {
        format!(
            "{w} {}",
            text::recomputed(&count(&q.changed), &count(&q.checked))
        )
    });
    let page = LayerPage::build(&state, &ctx, &layer, ("", ""), Failure::None, done).await?;
    Ok(render(&page))
}

#[derive(Debug, Default, Deserialize)]
struct DayForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    kind: String,
}

fn back(layer: &Layer, done: &str, report: otklik_store::RecomputeReport, days: usize) -> String {
    format!(
        "/console/calendars/{}?done={done}&checked={}&changed={}&days={days}",
        layer.slug(),
        report.checked,
        report.changed
    )
}

async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(layer): Path<String>,
    form: Result<Form<DayForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = operator_post(&ctx, &form.csrf)?;
    let store = state.store.as_ref();
    let layer = layer_of(store, &layer).await?;
    let result = match parse_day(&form.date, &form.kind) {
        Ok(entry) => add_day(store, user, &layer, entry).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(report) => Ok(Redirect::to(&back(&layer, "added", report, 1)).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let page = LayerPage::build(
                &state,
                &ctx,
                &layer,
                (&form.date, &form.kind),
                Failure::Add(&e),
                None,
            )
            .await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((layer, date)): Path<(String, String)>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = operator_post(&ctx, &form.csrf)?;
    let store = state.store.as_ref();
    let layer = layer_of(store, &layer).await?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(&date, &format).map_err(|_| AppError::not_found())?;
    let report = store
        .delete_calendar_day(Some(user.id), layer.code(), date, OffsetDateTime::now_utc())
        .await?;
    Ok(Redirect::to(&back(&layer, "deleted", report, 1)).into_response())
}

/// The upload form's parts: the token and the file's text.
pub(in crate::pages) async fn read_upload(
    mut multipart: Multipart,
) -> Result<(String, Option<Vec<u8>>), AppError> {
    let (mut csrf, mut file) = (String::new(), None);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::too_large())
            }
            Err(_) => return Err(AppError::bad_request("invalid_form")),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|_| AppError::bad_request("invalid_form"))?;
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            // A file input left empty still sends an empty part.
            "calendar" if !bytes.is_empty() => file = Some(bytes.to_vec()),
            _ => {}
        }
    }
    Ok((csrf, file))
}

/// Why a file was refused, in words, with the line's number.
fn refusal_message(refusal: &ImportRefusal) -> String {
    match refusal {
        ImportRefusal::Line(e) => format!(
            "строка {}: {} («{}»). Файл не загружен, календарь не изменился.",
            e.line,
            text::message(e.code),
            e.text
        ),
        ImportRefusal::Empty => text::message("empty_calendar").to_owned(),
        ImportRefusal::MissingHolidays(year, dates) => format!(
            "{year} год: {} Нет: {}. Файл не загружен.",
            text::message("missing_federal_holidays"),
            dates
                .iter()
                .map(|d| iso_date(*d))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The uploaded file checked for the layer before the store is touched: present, UTF-8
/// (a byte-order mark dropped), and a calendar file the layer accepts; else the page's
/// message.
pub(in crate::pages) fn check_upload(
    layer: &Layer,
    file: Option<Vec<u8>>,
) -> Result<Vec<CalendarEntry>, String> {
    match file {
        None => Err(text::message("file_required").to_owned()),
        Some(bytes) => match String::from_utf8(bytes) {
            Err(_) => Err(text::message("not_utf8").to_owned()),
            Ok(text) => parse_import(layer, text.trim_start_matches('\u{feff}'))
                .map_err(|r| refusal_message(&r)),
        },
    }
}

async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(layer): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let multipart = multipart.map_err(|_| AppError::bad_request("invalid_form"))?;
    let (csrf, file) = read_upload(multipart).await?;
    let user = operator_post(&ctx, &csrf)?;
    let store = state.store.as_ref();
    let layer = layer_of(store, &layer).await?;
    match check_upload(&layer, file) {
        Ok(entries) => {
            let report = store
                .put_calendar_days(
                    Some(user.id),
                    layer.code(),
                    &entries,
                    OffsetDateTime::now_utc(),
                )
                .await?;
            Ok(Redirect::to(&back(&layer, "uploaded", report, entries.len())).into_response())
        }
        Err(message) => {
            let page = LayerPage::build(
                &state,
                &ctx,
                &layer,
                ("", ""),
                Failure::Upload(message),
                None,
            )
            .await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otklik_domain::calendar::parse_calendar;

    #[test]
    fn a_bad_line_is_told_with_its_number() {
        let refusal = parse_calendar("2026-01-01 holiday\n\n2026-13-01 holiday\n")
            .map(|_| ())
            .map_err(ImportRefusal::Line)
            .err();
        let message = refusal.as_ref().map(refusal_message).unwrap_or_default();
        assert!(message.starts_with("строка 3: Неверная дата"), "{message}");
        assert!(message.contains("2026-13-01"));
    }
}
