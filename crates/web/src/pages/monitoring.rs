//! Monitoring pages: the incident register, regional summaries, and the help for staff.
//!
//! The access rules are those of the API (`api::monitoring`): the operator sees and
//! resolves everything, a coordinator its own region (another region is 404), the
//! ministry's analyst reads only and gets no links into submissions; officials and
//! citizens get 403.

mod help;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use otklik_domain::lifecycle::{IncidentKind, Role};
use otklik_domain::{IncidentId, OrgId, RegionId};
use otklik_store::{IncidentQuery, IncidentSubject, UserRecord};
use serde::Deserialize;
use time::OffsetDateTime;

use super::views::Chrome;
use super::{render, render_status, PageError};
use crate::api::monitoring::{
    incident_query, may_resolve, opens_submissions, page_of, reach_of, resolve, summaries,
    visible_organisations, FilterNames, IncidentFilters, Reach, PAGE_SIZE,
};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::messages;
use crate::AppState;

type PageResult = Result<Response, PageError>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(register))
        .route("/incidents/{id}/resolve", post(resolve_post))
        .route("/monitoring", get(monitoring))
        .merge(help::routes())
}

/// The register's query string: `status` is `open` or `resolved`.
const PAGE_NAMES: FilterNames = FilterNames {
    kind: "kind",
    region: "region",
    organisation: "organisation",
    resolved: "status",
    open_value: "open",
    resolved_value: "resolved",
    page: "page",
};

// --- the incident register -------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct RegisterQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
    /// What just happened (after a redirect), for a confirmation.
    #[serde(default)]
    done: String,
}

impl RegisterQuery {
    fn filters(&self) -> IncidentFilters {
        IncidentFilters {
            kind: self.kind.clone(),
            region: self.region.clone(),
            organisation: self.organisation.clone(),
            resolved: self.status.clone(),
            page: self.page.clone(),
        }
    }
}

async fn register(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Result<Query<RegisterQuery>, QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|_| AppError::bad_request("invalid_query"))?;
    let user = ctx.require_user()?;
    let done = (q.done == "resolved").then_some("Инцидент закрыт, решение записано в реестр.");
    let page = RegisterPage::build(&state, &ctx, user, &q.filters(), done, None).await?;
    Ok(render_status(page.status, &page))
}

/// The resolve form: the resolution, and the register's filters to return to.
#[derive(Debug, Default, Deserialize)]
struct ResolveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    resolution: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
}

async fn resolve_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<ResolveForm>, FormRejection>,
) -> PageResult {
    let user = ctx.require_user()?.clone();
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    let id = id
        .parse::<i64>()
        .map(IncidentId)
        .map_err(|_| AppError::not_found())?;
    let reach = reach_of(user.role)?;
    // The filters ride along in the form; ones that no longer parse are dropped.
    let typed = IncidentFilters {
        kind: form.kind.clone(),
        region: form.region.clone(),
        organisation: form.organisation.clone(),
        resolved: form.status.clone(),
        page: form.page.clone(),
    };
    let back = match incident_query(state.store.as_ref(), reach, &typed, &PAGE_NAMES).await {
        Ok(query) => Some((typed, query)),
        Err(_) => None,
    };
    let now = OffsetDateTime::now_utc();
    match resolve(state.store.as_ref(), &user, id, &form.resolution, now).await {
        Ok(()) => {
            let target = match &back {
                Some((_, q)) => link(reach, q.kind, q.region, q.org, q.resolved, page_of(q)),
                None => "/incidents".to_owned(),
            };
            let separator = if target.contains('?') { '&' } else { '?' };
            Ok(Redirect::to(&format!("{target}{separator}done=resolved")).into_response())
        }
        Err(e)
            if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::CONFLICT =>
        {
            let filters = back.map(|(f, _)| f).unwrap_or_default();
            let failure = ResolveFailure {
                id,
                typed: form.resolution,
                error: e.clone(),
            };
            let page =
                RegisterPage::build(&state, &ctx, &user, &filters, None, Some(failure)).await?;
            Ok(render_status(e.status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

/// A resolve that failed, shown again on its row with what was typed.
struct ResolveFailure {
    id: IncidentId,
    typed: String,
    error: AppError,
}

/// A filter of the register as the template draws it: a select with «Все» first.
pub struct FilterField {
    pub name: &'static str,
    pub id: String,
    pub label: &'static str,
    pub options: Vec<(String, String)>,
    pub value: String,
    pub error: Option<&'static str>,
}

/// One kind's count, a link that filters by it.
pub struct CountLink {
    pub label: &'static str,
    pub count: u64,
    pub href: String,
    pub current: bool,
}

pub struct IncidentRow {
    pub id: i64,
    /// «№ 2026-0000001» for a submission, «Соцсети, № 42» for a social incident.
    pub label: String,
    /// The submission, for those who may open it (not the analyst); the social incident,
    /// whose page checks its own access.
    pub href: Option<String>,
    pub kind: &'static str,
    pub org: String,
    pub region: String,
    pub due: String,
    pub detected: String,
    pub resolved_at: Option<String>,
    pub resolution: String,
    pub resolvable: bool,
    /// What was typed into a resolve form that failed, and its message.
    pub typed: String,
    pub error: Option<&'static str>,
    pub expanded: bool,
}

#[derive(Template)]
#[template(path = "monitoring_incidents.html")]
pub struct RegisterPage {
    pub chrome: Chrome,
    pub scope_note: String,
    pub done: Option<&'static str>,
    pub summary_title: &'static str,
    pub summary: Vec<(String, String)>,
    pub filters: Vec<FilterField>,
    pub show_results: bool,
    pub counts: Vec<CountLink>,
    pub all_kinds_href: String,
    pub all_kinds_current: bool,
    pub total: u64,
    pub rows: Vec<IncidentRow>,
    pub caption: String,
    pub page: u32,
    pub pages: u32,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub first: Option<String>,
    /// The current filters, carried by every resolve form.
    pub hidden: Vec<(&'static str, String)>,
    pub status: StatusCode,
}

/// `/incidents?…` with the given filters; `&done=…` may be appended.
fn link(
    reach: Reach,
    kind: Option<IncidentKind>,
    region: Option<RegionId>,
    org: Option<OrgId>,
    resolved: Option<bool>,
    page: u32,
) -> String {
    let mut parts = Vec::new();
    if let Some(k) = kind {
        parts.push(format!("kind={}", k.as_str()));
    }
    // A coordinator's region is implied; naming it would only lengthen the links.
    if let (Reach::All, Some(r)) = (reach, region) {
        parts.push(format!("region={r}"));
    }
    if let Some(o) = org {
        parts.push(format!("organisation={o}"));
    }
    match resolved {
        Some(false) => parts.push("status=open".to_owned()),
        Some(true) => parts.push("status=resolved".to_owned()),
        None => {}
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() {
        "/incidents".to_owned()
    } else {
        format!("/incidents?{}", parts.join("&"))
    }
}

impl RegisterPage {
    async fn build(
        state: &AppState,
        ctx: &Ctx,
        user: &UserRecord,
        filters: &IncidentFilters,
        done: Option<&'static str>,
        failure: Option<ResolveFailure>,
    ) -> Result<Self, AppError> {
        let store = state.store.as_ref();
        let reach = reach_of(user.role)?;
        let regions = store.regions().await?;
        let orgs = visible_organisations(store.organisations().await?, reach);
        let parsed = match incident_query(store, reach, filters, &PAGE_NAMES).await {
            Ok(query) => Ok(query),
            Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => Err(e),
            Err(e) => return Err(e),
        };
        let filter_error = parsed.as_ref().err();
        let error_of = |name: &str| {
            filter_error
                .and_then(|e| e.field_code(name))
                .map(messages::error)
        };
        let mut fields = vec![FilterField {
            name: "kind",
            id: "filter-kind".to_owned(),
            label: "Вид инцидента",
            options: IncidentKind::ALL
                .iter()
                .map(|k| (k.as_str().to_owned(), messages::incident(*k).to_owned()))
                .collect(),
            value: filters.kind.trim().to_owned(),
            error: error_of("kind"),
        }];
        if reach == Reach::All {
            fields.push(FilterField {
                name: "region",
                id: "filter-region".to_owned(),
                label: "Регион",
                options: regions
                    .iter()
                    .map(|r| (r.id.to_string(), r.name.clone()))
                    .collect(),
                value: filters.region.trim().to_owned(),
                error: error_of("region"),
            });
        }
        fields.push(FilterField {
            name: "organisation",
            id: "filter-organisation".to_owned(),
            label: "Организация",
            options: orgs
                .iter()
                .map(|o| (o.id.to_string(), o.name.clone()))
                .collect(),
            value: filters.organisation.trim().to_owned(),
            error: error_of("organisation"),
        });
        fields.push(FilterField {
            name: "status",
            id: "filter-status".to_owned(),
            label: "Состояние",
            options: vec![
                ("open".to_owned(), "Открытые".to_owned()),
                ("resolved".to_owned(), "Закрытые".to_owned()),
            ],
            value: filters.resolved.trim().to_owned(),
            error: error_of("status"),
        });

        let scope_note = match (user.role, reach) {
            (_, Reach::Region(own)) => format!(
                "Инциденты вашего региона: {}.",
                regions
                    .iter()
                    .find(|r| r.id == own)
                    .map_or("—", |r| r.name.as_str())
            ),
            (Role::Analyst, _) => "Только просмотр: инциденты всех регионов, без персональных \
                                   данных заявителей и без доступа к текстам обращений."
                .to_owned(),
            _ => "Инциденты всех регионов. Закрыть инцидент может оператор или координатор \
                  его региона."
                .to_owned(),
        };
        let can_resolve = may_resolve(user.role);
        let mut page = Self {
            chrome: Chrome::new(ctx, "Реестр инцидентов"),
            scope_note,
            done,
            summary_title: "Исправьте фильтры",
            summary: Vec::new(),
            filters: Vec::new(),
            show_results: false,
            counts: Vec::new(),
            all_kinds_href: String::new(),
            all_kinds_current: false,
            total: 0,
            rows: Vec::new(),
            caption: String::new(),
            page: 1,
            pages: 1,
            prev: None,
            next: None,
            first: None,
            hidden: Vec::new(),
            status: StatusCode::OK,
        };

        let query = match parsed {
            Ok(query) => query,
            Err(e) => {
                page.chrome = Chrome::new(ctx, "Ошибка: реестр инцидентов");
                page.status = e.status;
                page.summary = fields
                    .iter()
                    .filter_map(|f| {
                        f.error
                            .map(|m| (format!("#{}", f.id), format!("{}: {m}", f.label)))
                    })
                    .collect();
                // Errors of values without a select of their own (the page number).
                for field in &e.fields {
                    if !fields.iter().any(|f| f.name == field.field) {
                        let label = if field.field == "page" {
                            "Номер страницы"
                        } else {
                            "Фильтр"
                        };
                        let message = messages::error(field.code);
                        page.summary
                            .push(("#main".to_owned(), format!("{label}: {message}")));
                    }
                }
                if page.summary.is_empty() {
                    page.summary
                        .push(("#main".to_owned(), messages::error(e.code).to_owned()));
                }
                page.filters = fields;
                return Ok(page);
            }
        };
        page.filters = fields;
        let found = store.incidents(&query).await?;
        let number = page_of(&query);
        let pages = u32::try_from(found.total.div_ceil(u64::from(PAGE_SIZE)))
            .unwrap_or(u32::MAX)
            .max(1);
        let to = |kind: Option<IncidentKind>, p: u32| {
            link(reach, kind, query.region, query.org, query.resolved, p)
        };
        page.show_results = true;
        page.total = found.total;
        page.counts = found
            .by_kind
            .iter()
            .map(|(kind, count)| CountLink {
                label: messages::incident(*kind),
                count: *count,
                href: to(Some(*kind), 1),
                current: query.kind == Some(*kind),
            })
            .collect();
        page.all_kinds_href = to(None, 1);
        page.all_kinds_current = query.kind.is_none();
        page.page = number;
        page.pages = pages;
        page.caption = format!("Инциденты, страница {number} из {pages}");
        page.prev = (number > 1 && number <= pages).then(|| to(query.kind, number - 1));
        page.next = (number < pages).then(|| to(query.kind, number + 1));
        page.first = (number > pages).then(|| to(query.kind, 1));
        page.hidden = hidden_filters(reach, &query);

        let opens = opens_submissions(user.role);
        page.rows = found
            .items
            .iter()
            .map(|i| {
                let failed = failure.as_ref().filter(|f| f.id == i.id);
                IncidentRow {
                    id: i.id.0,
                    label: subject_label(&i.subject),
                    href: subject_href(&i.subject, opens),
                    kind: messages::incident(i.kind),
                    org: i
                        .org_name
                        .clone()
                        .unwrap_or_else(|| "не определена".to_owned()),
                    region: i
                        .region_name
                        .clone()
                        .unwrap_or_else(|| "не определён".to_owned()),
                    due: i.due_at.map_or_else(|| "—".to_owned(), messages::datetime),
                    detected: messages::datetime(i.detected_at),
                    resolved_at: i.resolved_at.map(messages::datetime),
                    resolution: i.resolution.clone().unwrap_or_default(),
                    resolvable: can_resolve && i.resolved_at.is_none(),
                    typed: failed.map(|f| f.typed.clone()).unwrap_or_default(),
                    error: failed
                        .and_then(|f| f.error.field_code("resolution"))
                        .map(messages::error),
                    expanded: failed.is_some(),
                }
            })
            .collect();

        if let Some(f) = failure {
            let shown = page.rows.iter().find(|r| r.id == f.id.0);
            let label = shown.map(|r| r.label.clone());
            page.chrome = Chrome::new(ctx, "Ошибка: реестр инцидентов");
            page.status = f.error.status;
            page.summary_title = "Инцидент не закрыт";
            let message = match f.error.field_code("resolution") {
                Some(code) => format!("Решение: {}", messages::error(code)),
                None => messages::error(f.error.code).to_owned(),
            };
            let href = match (shown, f.error.field_code("resolution")) {
                (Some(row), Some(_)) => format!("#resolution-{}", row.id),
                (Some(row), None) => format!("#incident-{}", row.id),
                (None, _) => "#main".to_owned(),
            };
            let message = match label {
                Some(label) => format!("{label}. {message}"),
                None => message,
            };
            page.summary.push((href, message));
        }
        Ok(page)
    }
}

/// The filters of `query` as hidden inputs of the resolve forms, so that the register
/// comes back as it was.
fn hidden_filters(reach: Reach, query: &IncidentQuery) -> Vec<(&'static str, String)> {
    let mut hidden = Vec::new();
    if let Some(k) = query.kind {
        hidden.push(("kind", k.as_str().to_owned()));
    }
    if let (Reach::All, Some(r)) = (reach, query.region) {
        hidden.push(("region", r.to_string()));
    }
    if let Some(o) = query.org {
        hidden.push(("organisation", o.to_string()));
    }
    match query.resolved {
        Some(false) => hidden.push(("status", "open".to_owned())),
        Some(true) => hidden.push(("status", "resolved".to_owned())),
        None => {}
    }
    let page = page_of(query);
    if page > 1 {
        hidden.push(("page", page.to_string()));
    }
    hidden
}

// --- regional summaries ----------------------------------------------------------------

pub struct SummaryRow {
    pub name: String,
    pub href: String,
    pub open: u64,
    pub overdue: u64,
    pub answered: u64,
    pub incidents: u64,
    pub incidents_href: String,
}

#[derive(Template)]
#[template(path = "monitoring_regions.html")]
pub struct MonitoringPage {
    pub chrome: Chrome,
    pub scope_note: String,
    pub generated: String,
    pub rows: Vec<SummaryRow>,
    pub totals: Option<SummaryRow>,
    /// Open incidents by kind: label, count, link to the register.
    pub kinds: Vec<(&'static str, u64, String)>,
    pub open_total: u64,
}

async fn monitoring(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let user = ctx.require_user()?;
    let reach = reach_of(user.role)?;
    let store = state.store.as_ref();
    let now = OffsetDateTime::now_utc();
    let rows: Vec<SummaryRow> = summaries(store, reach, now)
        .await?
        .into_iter()
        .map(|s| SummaryRow {
            href: link(reach, None, Some(s.region), None, None, 1),
            incidents_href: link(reach, None, Some(s.region), None, Some(false), 1),
            name: s.region_name,
            open: s.open,
            overdue: s.overdue,
            answered: s.answered,
            incidents: s.incidents_open,
        })
        .collect();
    let totals = (rows.len() > 1).then(|| SummaryRow {
        name: "Итого".to_owned(),
        href: link(reach, None, None, None, None, 1),
        incidents_href: link(reach, None, None, None, Some(false), 1),
        open: rows.iter().map(|r| r.open).sum(),
        overdue: rows.iter().map(|r| r.overdue).sum(),
        answered: rows.iter().map(|r| r.answered).sum(),
        incidents: rows.iter().map(|r| r.incidents).sum(),
    });
    let open = store
        .incidents(&IncidentQuery {
            region: match reach {
                Reach::All => None,
                Reach::Region(own) => Some(own),
            },
            resolved: Some(false),
            limit: 1,
            ..IncidentQuery::default()
        })
        .await
        .map_err(AppError::from)?;
    let kinds = open
        .by_kind
        .iter()
        .map(|(kind, count)| {
            (
                messages::incident(*kind),
                *count,
                link(reach, Some(*kind), None, None, Some(false), 1),
            )
        })
        .collect();
    let scope_note = match reach {
        Reach::Region(_) => "Сводка по вашему региону.",
        Reach::All if user.role == Role::Analyst => {
            "Сводка по всем регионам, только для просмотра: агрегированные данные без \
             персональных данных."
        }
        Reach::All => "Сводка по всем регионам, где есть сообщения и обращения.",
    };
    Ok(render(&MonitoringPage {
        chrome: Chrome::new(&ctx, "Мониторинг сроков и качества"),
        scope_note: scope_note.to_owned(),
        generated: messages::datetime(now),
        rows,
        totals,
        kinds,
        open_total: open.total,
    }))
}

/// How a register row names what it is about.
fn subject_label(subject: &IncidentSubject) -> String {
    match subject {
        IncidentSubject::Submission { number, .. } => format!("№ {number}"),
        IncidentSubject::Social(id) => format!("Соцсети, № {id}"),
    }
}

/// Where a register row links: the submission for those who may open it; the social
/// incident always (its page refuses whom it must).
fn subject_href(subject: &IncidentSubject, opens_submissions: bool) -> Option<String> {
    match subject {
        IncidentSubject::Submission { id, .. } => {
            opens_submissions.then(|| format!("/submissions/{id}"))
        }
        IncidentSubject::Social(id) => Some(format!("/social/incidents/{id}")),
    }
}
