//! The analytics area (`/analytics`): the report for any period and filters, charts as
//! accessible SVG with the same numbers in tables, and every table as CSV and XLSX —
//! downloaded at once, or prepared in the background (`POST /analytics/exports`, a job
//! on `/exports`), as can the whole report. A GET form: it works without JavaScript, and
//! a report's address can be shared.

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use otklik_domain::lifecycle::{Channel, SubmissionKind};
use serde::Deserialize;
use time::OffsetDateTime;

use super::views::Chrome;
use super::{render_status, PageError};
use crate::analytics::{
    self, cell_text, iso_day, parse_request, period_text, reach_of, Reach, ReportParams, SortBy,
    TableView,
};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::export;
use crate::messages;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/analytics", get(page))
        .route("/analytics/export.csv", get(export_csv))
        .route("/analytics/export.xlsx", get(export_xlsx))
        .route("/analytics/exports", post(create_job))
}

/// A filter as the template draws it: a date input, or a select with «Все» first.
pub struct Filter {
    pub name: &'static str,
    pub label: &'static str,
    pub date: bool,
    pub value: String,
    pub options: Vec<(String, String)>,
    pub error: Option<&'static str>,
}

/// A table as the template draws it.
pub struct TableBlock {
    pub id: &'static str,
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub chart: Option<String>,
    pub csv: String,
    pub xlsx: String,
}

#[derive(Template)]
#[template(path = "analytics.html")]
pub struct AnalyticsPage {
    pub chrome: Chrome,
    pub scope_note: String,
    pub data_note: String,
    pub filters: Vec<Filter>,
    pub summary: Vec<(String, &'static str)>,
    pub key_figures: Vec<(&'static str, String)>,
    pub suppressed_note: Option<String>,
    pub tables: Vec<TableBlock>,
    /// The report's parameters as hidden fields of the background exports' forms (the
    /// period made explicit, so the file covers the days shown).
    pub job_fields: Vec<(&'static str, String)>,
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Result<Query<ReportParams>, QueryRejection>,
) -> Result<Response, PageError> {
    let user = ctx.require_user()?.clone();
    let reach = reach_of(user.role)?;
    let Query(params) = q.map_err(|_| AppError::bad_request("invalid_query"))?;
    let store = state.store.as_ref();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut page = AnalyticsPage {
        chrome: Chrome::new(&ctx, "Аналитика"),
        scope_note: scope_note(&state, reach).await?,
        data_note: String::new(),
        filters: filters(&state, reach, &params, None).await?,
        summary: Vec::new(),
        key_figures: Vec::new(),
        suppressed_note: None,
        tables: Vec::new(),
        job_fields: Vec::new(),
    };
    let request = match parse_request(store, reach, &params, now).await {
        Ok(request) => request,
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            page.filters = filters(&state, reach, &params, Some(&e)).await?;
            page.summary = e
                .fields
                .iter()
                .map(|f| (format!("#f-{}", f.field), messages::error(f.code)))
                .collect();
            return Ok(render_status(e.status, &page));
        }
        Err(e) => return Err(e.into()),
    };
    let report = analytics::report(store, reach, request, state.config.analytics.min_group).await?;
    page.data_note = format!(
        "Период {} (московское время).{}",
        period_text(&report.request),
        if report.lag > 0 {
            format!(
                " Ещё не учтено записей журнала: {} — показатели обновятся через несколько секунд.",
                report.lag
            )
        } else {
            " Учтены все события.".to_owned()
        }
    );
    let t = &report.totals;
    page.key_figures = if t.suppressed {
        Vec::new()
    } else {
        vec![
            ("Поступило", t.received.to_string()),
            ("Дан ответ", t.answered.to_string()),
            ("Ответов в срок", analytics::share_label(t.on_time_share)),
            (
                "Время до ответа: медиана / 90 %",
                format!(
                    "{} / {}",
                    analytics::duration_label(t.answer.0),
                    analytics::duration_label(t.answer.1)
                ),
            ),
            (
                "До принятия в работу: медиана / 90 %",
                format!(
                    "{} / {}",
                    analytics::duration_label(t.take.0),
                    analytics::duration_label(t.take.1)
                ),
            ),
            (
                "До переадресации: медиана",
                analytics::duration_label(t.route.0),
            ),
            ("Переадресовано", t.redirected.to_string()),
            ("Отказано", t.rejected.to_string()),
            (
                "Средняя оценка ответов",
                t.mean_rating.map_or_else(
                    || "—".to_owned(),
                    |r| otklik_charts::format_value(r, otklik_charts::Unit::Score),
                ),
            ),
            (
                "Возвращено на повторное рассмотрение",
                analytics::share_label(t.re_review_share),
            ),
            ("Инциденты", t.incidents.to_string()),
        ]
    };
    page.key_figures.extend([
        ("Опросов и голосований шло", report.polls.0.to_string()),
        ("Бюллетеней подано", report.polls.1.to_string()),
    ]);
    let social = &report.social.totals;
    if !social.suppressed {
        page.key_figures.extend([
            ("Инцидентов в соцсетях выявлено", social.opened.to_string()),
            (
                "Публичных ответов: в срок / с опозданием",
                format!("{} / {}", social.answered_on_time, social.answered_late),
            ),
            (
                "До публичного ответа: медиана / 90 %",
                format!(
                    "{} / {}",
                    analytics::duration_label(social.answer.0),
                    analytics::duration_label(social.answer.1)
                ),
            ),
        ]);
    }
    page.suppressed_note = report.min_group.map(|min| {
        format!(
            "Показатели групп, в которых меньше {min} сообщений и обращений (для соцсетей — выявленных инцидентов), скрыты («{withheld}»). Чтобы скрытое нельзя было вычислить как разность итога и показанных строк, в таблице, где скрыта одна группа или в скрытых вместе меньше {min}, скрыта и наименьшая из остальных групп.",
            withheld = analytics::WITHHELD
        )
    });
    let query = query_string(&params);
    page.job_fields = job_fields(&params, &report.request);
    page.tables = analytics::tables(&report)
        .into_iter()
        .map(|table| block(table, &query))
        .collect();
    Ok(render_status(StatusCode::OK, &page))
}

fn block(table: TableView, query: &str) -> TableBlock {
    let rows = table
        .sheet
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(table.units.iter())
                .map(|(cell, unit)| cell_text(cell, *unit))
                .collect()
        })
        .collect();
    let link = |format: &str| {
        let sep = if query.is_empty() { "" } else { "&" };
        format!("/analytics/export.{format}?table={}{sep}{query}", table.id)
    };
    TableBlock {
        id: table.id,
        title: table.title,
        header: table.sheet.header,
        rows,
        chart: table.chart,
        csv: link("csv"),
        xlsx: link("xlsx"),
    }
}

/// The parameters given (not blank), trimmed, in the form's order.
fn given(params: &ReportParams) -> Vec<(&'static str, String)> {
    [
        ("from", &params.from),
        ("to", &params.to),
        ("region", &params.region),
        ("district", &params.district),
        ("organisation", &params.organisation),
        ("category", &params.category),
        ("channel", &params.channel),
        ("kind", &params.kind),
        ("sort", &params.sort),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, v)| (k, v.trim().to_owned()))
    .collect()
}

/// The hidden fields of the background exports' forms: the parameters given, with the
/// period's days as the report used them.
fn job_fields(
    params: &ReportParams,
    request: &analytics::ReportRequest,
) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("from", iso_day(request.from_day)),
        ("to", iso_day(request.to_day)),
    ];
    fields.extend(
        given(params)
            .into_iter()
            .filter(|(k, _)| !matches!(*k, "from" | "to")),
    );
    fields
}

/// The parameters as a query string (only those given).
fn query_string(params: &ReportParams) -> String {
    given(params)
        .iter()
        .fold(
            form_urlencoded::Serializer::new(String::new()),
            |mut q, (k, v)| {
                q.append_pair(k, v);
                q
            },
        )
        .finish()
}

async fn scope_note(state: &AppState, reach: Reach) -> Result<String, AppError> {
    let store = state.store.as_ref();
    Ok(match reach {
        Reach::Organisation(org) => {
            format!(
                "Показатели вашей организации: {}.",
                store.organisation(org).await?.name
            )
        }
        Reach::Region(region) => {
            let name = store
                .regions()
                .await?
                .into_iter()
                .find(|r| r.id == region)
                .map(|r| r.name)
                .unwrap_or_default();
            format!("Показатели вашего региона: {name}.")
        }
        Reach::Everything => "Показатели всех регионов и организаций.".to_owned(),
        Reach::Aggregates => {
            "Сводные показатели всех регионов и организаций, без персональных данных.".to_owned()
        }
    })
}

async fn filters(
    state: &AppState,
    reach: Reach,
    params: &ReportParams,
    error: Option<&AppError>,
) -> Result<Vec<Filter>, AppError> {
    let store = state.store.as_ref();
    let error_of = |name: &str| error.and_then(|e| e.field_code(name)).map(messages::error);
    let today = otklik_domain::analytics::day_of(OffsetDateTime::now_utc().unix_timestamp());
    let date = |name: &'static str, label: &'static str, value: &str, default: i64| Filter {
        name,
        label,
        date: true,
        value: if value.trim().is_empty() {
            iso_day(default)
        } else {
            value.to_owned()
        },
        options: Vec::new(),
        error: error_of(name),
    };
    let select = |name: &'static str, label: &'static str, value: &str, options| Filter {
        name,
        label,
        date: false,
        value: value.to_owned(),
        options,
        error: error_of(name),
    };
    let mut filters = vec![
        date("from", "С даты", &params.from, today - 89),
        date("to", "По дату", &params.to, today),
    ];
    let regions = store.regions().await?;
    if matches!(reach, Reach::Everything | Reach::Aggregates) {
        // The shipped districts, in their official order, with their Russian names.
        let districts = otklik_domain::territory::federal_districts()
            .unwrap_or_default()
            .into_iter()
            .filter(|d| {
                regions
                    .iter()
                    .any(|r| r.federal_district.as_deref() == Some(&d.code))
            })
            .map(|d| (d.code, d.name_ru))
            .collect();
        filters.push(select(
            "district",
            "Федеральный округ",
            &params.district,
            districts,
        ));
        let mut by_name: Vec<(String, String)> = regions
            .iter()
            .map(|r| (r.id.0.to_string(), r.name.clone()))
            .collect();
        by_name.sort_by(|a, b| a.1.cmp(&b.1));
        filters.push(select("region", "Регион", &params.region, by_name));
    }
    if !matches!(reach, Reach::Organisation(_)) {
        let mut orgs: Vec<(String, String)> = store
            .organisations()
            .await?
            .into_iter()
            .filter(|o| match reach {
                Reach::Region(region) => o.region.is_none_or(|r| r == region),
                _ => true,
            })
            .map(|o| (o.id.0.to_string(), o.name))
            .collect();
        orgs.sort_by(|a, b| a.1.cmp(&b.1));
        filters.push(select(
            "organisation",
            "Организация",
            &params.organisation,
            orgs,
        ));
    }
    let categories = store
        .catalogue()
        .await?
        .into_iter()
        .map(|c| (c.id.0.to_string(), c.name))
        .collect();
    filters.push(select(
        "category",
        "Категория",
        &params.category,
        categories,
    ));
    filters.push(select(
        "channel",
        "Канал поступления",
        &params.channel,
        Channel::ALL
            .iter()
            .map(|c| {
                (
                    c.as_str().to_owned(),
                    analytics::channel_label(*c).to_owned(),
                )
            })
            .collect(),
    ));
    filters.push(select(
        "kind",
        "Вид",
        &params.kind,
        SubmissionKind::ALL
            .iter()
            .map(|k| (k.as_str().to_owned(), analytics::kind_label(*k).to_owned()))
            .collect(),
    ));
    let mut sort = select(
        "sort",
        "Упорядочить рейтинги",
        &params.sort,
        SortBy::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), sort_label(*s).to_owned()))
            .collect(),
    );
    // Rankings are always ordered by something: no «Все».
    if sort.value.is_empty() {
        sort.value = SortBy::default().as_str().to_owned();
    }
    filters.push(sort);
    Ok(filters)
}

fn sort_label(sort: SortBy) -> &'static str {
    match sort {
        SortBy::Received => "по числу поступивших",
        SortBy::OnTime => "по доле ответов в срок",
        SortBy::AnswerTime => "по скорости ответа",
        SortBy::Rating => "по средней оценке",
    }
}

/// The exports' parameters: the report's, and which table.
#[derive(Debug, Default, Deserialize)]
struct ExportParams {
    #[serde(default)]
    table: String,
    #[serde(flatten)]
    report: ReportParams,
}

async fn export_table(
    state: &AppState,
    ctx: &Ctx,
    q: Result<Query<ExportParams>, QueryRejection>,
) -> Result<TableView, PageError> {
    let user = ctx.require_user()?;
    let reach = reach_of(user.role)?;
    let Query(params) = q.map_err(|_| AppError::bad_request("invalid_query"))?;
    let store = state.store.as_ref();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let request = parse_request(store, reach, &params.report, now).await?;
    let report = analytics::report(store, reach, request, state.config.analytics.min_group).await?;
    Ok(analytics::tables(&report)
        .into_iter()
        .find(|t| t.id == params.table)
        .ok_or_else(|| AppError::field("table", "unknown_value"))?)
}

async fn export_csv(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Response, PageError> {
    export_file(&state, &ctx, q, false).await
}

async fn export_xlsx(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Response, PageError> {
    export_file(&state, &ctx, q, true).await
}

async fn export_file(
    state: &AppState,
    ctx: &Ctx,
    q: Result<Query<ExportParams>, QueryRejection>,
    xlsx: bool,
) -> Result<Response, PageError> {
    let table = export_table(state, ctx, q).await?;
    Ok(if xlsx {
        export::download(
            export::to_xlsx(&table.sheet)?,
            export::XLSX,
            &format!("otklik-{}.xlsx", table.id),
        )
    } else {
        export::download(
            export::to_csv(&table.sheet).into_bytes(),
            export::CSV,
            &format!("otklik-{}.csv", table.id),
        )
    })
}

/// A background export's request: a table (or the whole report), a format and the
/// report's parameters, as the page's forms send them.
#[derive(Debug, Default, Deserialize)]
struct JobForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    table: String,
    #[serde(default)]
    format: String,
    #[serde(flatten)]
    report: ReportParams,
}

/// Asks for a table (or the whole report) as a background export: the parameters are
/// checked now as the page checks them, with the person's reach (nothing is stored when
/// any is wrong: 422, each at its field); the job records them with the reach and the
/// analyst's minimum group, and its page (`/exports/{id}`) shows its progress.
async fn create_job(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Result<Form<JobForm>, FormRejection>,
) -> Result<Response, PageError> {
    let user = ctx.require_user()?.clone();
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    let reach = reach_of(user.role)?;
    let now = OffsetDateTime::now_utc();
    let job = analytics::check_job(
        state.store.as_ref(),
        reach,
        &form.table,
        &form.format,
        &form.report,
        state.config.analytics.min_group,
        now.unix_timestamp(),
    )
    .await
    .map_err(|e| {
        // The page's forms send only valid values, so this is a hand-made or stale
        // request: the error page names its first problem.
        if e.status == StatusCode::UNPROCESSABLE_ENTITY {
            AppError {
                code: e.first_code(),
                ..e
            }
        } else {
            e
        }
    })?;
    let params = serde_json::to_string(&job).map_err(|_| AppError::internal())?;
    let id = state
        .store
        .create_export_job(user.id, analytics::JOB_KIND, &form.format, &params, now)
        .await?;
    Ok(Redirect::to(&format!("/exports/{id}")).into_response())
}
