//! The monitoring API: incidents and regional summaries (seed clause 18).
//!
//! Who may do what, in one place (the pages in `pages::monitoring` use the same rules):
//! - the operator reads and resolves every incident;
//! - a regional coordinator reads and resolves the incidents of its own region only; a
//!   request about another region is answered as if it did not exist (404);
//! - the ministry's analyst reads everything and changes nothing, and never sees what
//!   identifies a citizen nor a link into a submission;
//! - officials and citizens are refused (403).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use otklik_domain::access::{self, Capability};
use otklik_domain::lifecycle::{IncidentKind, Role};
use otklik_domain::text::Reason;
use otklik_domain::{IncidentId, OrgId, RegionId, ValidationErrors};
use otklik_store::{
    IncidentQuery, IncidentRecord, IncidentSubject, Organisation, RegionSummary, Store,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{rfc3339, ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// Incidents per page, in the API and on the register page.
pub const PAGE_SIZE: u32 = 25;
/// The highest page number accepted (keeps offsets well inside `u32`).
const MAX_PAGE: u32 = 100_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list_incidents))
        .route("/incidents/{id}/resolve", post(resolve_incident))
        .route("/monitoring/regions", get(region_summaries))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_incidents, resolve_incident, region_summaries),
    components(schemas(
        super::IncidentKindSchema,
        IncidentView,
        IncidentList,
        KindCount,
        ResolveRequest,
        RegionSummaryView
    )),
    tags((name = "monitoring", description = "Procedure incidents and regional summaries: \
        the operator and the regional coordinators (own region) read and resolve; the \
        ministry's analyst reads only, without personal data"))
)]
pub struct Doc;

// --- access rules shared with the pages -----------------------------------------------

/// Whose incidents and summaries a person may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Every region: the operator, and the ministry's analyst (read-only).
    All,
    /// One region: its coordinator.
    Region(RegionId),
}

/// The reach of a role; officials and citizens have none (403).
pub fn reach_of(role: Role) -> Result<Reach, AppError> {
    access::check_role(role, Capability::ReadMonitoring)?;
    Ok(match access::region_of(role) {
        Some(region) => Reach::Region(region),
        None => Reach::All,
    })
}

/// Whether the role may resolve incidents (of its reach): not the analyst.
pub fn may_resolve(role: Role) -> bool {
    access::check_role(role, Capability::ManageIncidents).is_ok()
}

/// Whether the role may open the submission behind an incident of its reach. The
/// analyst sees aggregates only (`lifecycle::can_view`): those who manage incidents do.
pub fn opens_submissions(role: Role) -> bool {
    access::check_role(role, Capability::ManageIncidents).is_ok()
}

/// The organisations a person may filter by: all, or for a coordinator those of its
/// region and the federal ones (which hold submissions of every region).
pub fn visible_organisations(orgs: Vec<Organisation>, reach: Reach) -> Vec<Organisation> {
    match reach {
        Reach::All => orgs,
        Reach::Region(region) => orgs
            .into_iter()
            .filter(|o| o.region.is_none_or(|r| r == region))
            .collect(),
    }
}

/// Incident filters as typed; an empty value means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentFilters {
    pub kind: String,
    pub region: String,
    pub organisation: String,
    /// Open or resolved, in the words of [`FilterNames`].
    pub resolved: String,
    pub page: String,
}

/// How a caller names the filters (for field errors) and the values of the open/resolved
/// filter.
#[derive(Debug, Clone, Copy)]
pub struct FilterNames {
    pub kind: &'static str,
    pub region: &'static str,
    pub organisation: &'static str,
    pub resolved: &'static str,
    pub open_value: &'static str,
    pub resolved_value: &'static str,
    pub page: &'static str,
}

pub const API_NAMES: FilterNames = FilterNames {
    kind: "kind",
    region: "region_id",
    organisation: "organisation_id",
    resolved: "resolved",
    open_value: "false",
    resolved_value: "true",
    page: "page",
};

fn given(raw: &str) -> Option<&str> {
    Some(raw.trim()).filter(|s| !s.is_empty())
}

/// Parses the filters for a person of `reach` into a store query with paging.
/// Unknown values are field errors (422); a coordinator naming another region gets 404,
/// and its own region is always applied.
pub async fn incident_query(
    store: &dyn Store,
    reach: Reach,
    f: &IncidentFilters,
    names: &FilterNames,
) -> Result<IncidentQuery, AppError> {
    let mut errors = ValidationErrors::default();
    let kind = given(&f.kind).and_then(|k| errors.check(names.kind, IncidentKind::parse(k)));
    let region = given(&f.region).and_then(|r| {
        errors.check(
            names.region,
            r.parse::<i64>().map(RegionId).map_err(|_| "unknown_region"),
        )
    });
    let org = given(&f.organisation).and_then(|o| {
        errors.check(
            names.organisation,
            o.parse::<i64>()
                .map(OrgId)
                .map_err(|_| "unknown_organisation"),
        )
    });
    let resolved = given(&f.resolved).and_then(|v| {
        let parsed = match v {
            _ if v == names.open_value => Ok(false),
            _ if v == names.resolved_value => Ok(true),
            _ => Err("unknown_value"),
        };
        errors.check(names.resolved, parsed)
    });
    let page = given(&f.page)
        .and_then(|p| {
            errors.check(
                names.page,
                p.parse::<u32>()
                    .ok()
                    .filter(|p| (1..=MAX_PAGE).contains(p))
                    .ok_or("out_of_range"),
            )
        })
        .unwrap_or(1);
    if let (Reach::All, Some(id)) = (reach, region) {
        if !store.regions().await?.iter().any(|r| r.id == id) {
            errors.push(names.region, "unknown_region");
        }
    }
    if let Some(id) = org {
        let orgs = visible_organisations(store.organisations().await?, reach);
        if !orgs.iter().any(|o| o.id == id) {
            errors.push(names.organisation, "unknown_organisation");
        }
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let region = match reach {
        Reach::All => region,
        Reach::Region(own) if region.is_none_or(|r| r == own) => Some(own),
        Reach::Region(_) => return Err(AppError::not_found()),
    };
    Ok(IncidentQuery {
        kind,
        region,
        org,
        resolved,
        limit: PAGE_SIZE,
        offset: (page - 1) * PAGE_SIZE,
    })
}

/// The page number of a query (1-based).
pub fn page_of(query: &IncidentQuery) -> u32 {
    query.offset / PAGE_SIZE + 1
}

/// Resolves an incident with a resolution text. Checks in order: the role (403), the text
/// (422 on `resolution`), the reach (404 for another region's incident), then the store
/// (404 unknown, 409 `already_resolved`).
pub async fn resolve(
    store: &dyn Store,
    user: &otklik_store::UserRecord,
    id: IncidentId,
    resolution: &str,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    if !may_resolve(user.role) {
        return Err(AppError::forbidden());
    }
    let reason = Reason::parse(resolution).map_err(|code| AppError::field("resolution", code))?;
    if let Reach::Region(region) = reach_of(user.role)? {
        find_in_region(store, id, region).await?;
    }
    store.resolve_incident(user.id, id, &reason, now).await?;
    Ok(())
}

/// The incident, if it belongs to `region`; another region's is `not_found`.
async fn find_in_region(
    store: &dyn Store,
    id: IncidentId,
    region: RegionId,
) -> Result<IncidentRecord, AppError> {
    let incident = store.incident(id).await?;
    if incident.region != Some(region) {
        return Err(AppError::not_found());
    }
    Ok(incident)
}

/// The regional summaries a person of `reach` may read.
pub async fn summaries(
    store: &dyn Store,
    reach: Reach,
    now: OffsetDateTime,
) -> Result<Vec<RegionSummary>, AppError> {
    let all = store.region_summaries(now).await?;
    Ok(match reach {
        Reach::All => all,
        Reach::Region(own) => all.into_iter().filter(|s| s.region == own).collect(),
    })
}

// --- wire types ------------------------------------------------------------------------

/// The query of the incident register. Values are read as text and checked by
/// [`incident_query`], which names the parameter in its 422; the types below are what it
/// accepts.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentParams {
    #[param(value_type = Option<super::IncidentKindSchema>)]
    pub kind: Option<String>,
    /// A region's id; a coordinator may name only its own (another gives 404).
    #[param(value_type = Option<i64>)]
    pub region_id: Option<String>,
    #[param(value_type = Option<i64>)]
    pub organisation_id: Option<String>,
    /// `false`: open only; `true`: resolved only; absent: both.
    #[param(value_type = Option<bool>)]
    pub resolved: Option<String>,
    /// 1-based, 25 incidents a page.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100000)]
    pub page: Option<String>,
}

/// A procedure incident. No personal data: no author, no texts of the submission.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentView {
    pub id: i64,
    /// `late_registration`, `late_moderation`, `late_redirect`, `late_answer`,
    /// `answer_rejected`, `low_rating`, `delivery_failing` or `late_social_answer`.
    pub kind: String,
    /// The kind in Russian.
    pub kind_label: String,
    /// The submission's registration number, `YYYY-NNNNNNN`; null for a social incident.
    pub number: Option<String>,
    /// The submission in this API, for callers who may open it; null for the analyst.
    pub submission_url: Option<String>,
    /// The social-media incident, for `late_social_answer`.
    pub social_incident_id: Option<i64>,
    /// The social-media incident in this API (it answers 404 to whom may not read it).
    pub social_incident_url: Option<String>,
    /// Null only for a social incident nobody had routed when it was raised.
    pub organisation_id: Option<i64>,
    pub organisation: Option<String>,
    pub region_id: Option<i64>,
    pub region: Option<String>,
    /// The deadline that was breached, if the incident is about one.
    pub due_at: Option<String>,
    pub detected_at: String,
    /// `open` or `resolved`.
    pub status: String,
    pub resolved_at: Option<String>,
    pub resolution: Option<String>,
}

impl IncidentView {
    pub fn new(i: &IncidentRecord, role: Role) -> Self {
        let (number, submission_url, social) = match i.subject {
            IncidentSubject::Submission { id, number } => (
                Some(number.to_string()),
                opens_submissions(role).then(|| format!("/api/v1/submissions/{id}")),
                None,
            ),
            IncidentSubject::Social(id) => (None, None, Some(id)),
        };
        Self {
            id: i.id.0,
            kind: i.kind.as_str().to_owned(),
            kind_label: crate::messages::incident(i.kind).to_owned(),
            number,
            submission_url,
            social_incident_id: social,
            social_incident_url: social.map(|id| format!("/api/v1/social/incidents/{id}")),
            organisation_id: i.org.map(|o| o.0),
            organisation: i.org_name.clone(),
            region_id: i.region.map(|r| r.0),
            region: i.region_name.clone(),
            due_at: i.due_at.map(rfc3339),
            detected_at: rfc3339(i.detected_at),
            status: if i.resolved_at.is_some() {
                "resolved"
            } else {
                "open"
            }
            .to_owned(),
            resolved_at: i.resolved_at.map(rfc3339),
            resolution: i.resolution.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KindCount {
    pub kind: String,
    pub label: String,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentList {
    /// Newest first.
    pub items: Vec<IncidentView>,
    /// How many match the filters in all pages.
    pub total: u64,
    /// Counts by kind for the same filters except the kind, every kind listed.
    pub by_kind: Vec<KindCount>,
    pub page: u32,
    pub page_size: u32,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// What was done about the incident.
    #[serde(default)]
    #[schema(required, value_type = super::ReasonSchema)]
    pub resolution: String,
}

/// One region's aggregates; no personal data.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionSummaryView {
    pub region_id: i64,
    pub region: String,
    /// Submissions not yet finished.
    pub open: u64,
    /// Open ones past their deadline (paused clocks excluded).
    pub overdue: u64,
    /// Answered (rated or not).
    pub answered: u64,
    pub incidents_open: u64,
}

// --- handlers --------------------------------------------------------------------------

/// Procedure incidents, newest first, with counts by kind. Operator and analyst: all
/// regions; a coordinator: its own region only.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "monitoring", params(IncidentParams), security(("bearer" = [])),
    responses((status = 200, body = IncidentList), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem, description = "A coordinator named another region"), (status = 422, body = Problem)))]
async fn list_incidents(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(params): ApiQuery<IncidentParams>,
) -> ApiResult<Json<IncidentList>> {
    let reach = reach_of(user.0.role)?;
    let filters = IncidentFilters {
        kind: params.kind.unwrap_or_default(),
        region: params.region_id.unwrap_or_default(),
        organisation: params.organisation_id.unwrap_or_default(),
        resolved: params.resolved.unwrap_or_default(),
        page: params.page.unwrap_or_default(),
    };
    let query = incident_query(state.store.as_ref(), reach, &filters, &API_NAMES).await?;
    let page = state.store.incidents(&query).await?;
    Ok(Json(IncidentList {
        items: page
            .items
            .iter()
            .map(|i| IncidentView::new(i, user.0.role))
            .collect(),
        total: page.total,
        by_kind: page
            .by_kind
            .iter()
            .map(|(kind, count)| KindCount {
                kind: kind.as_str().to_owned(),
                label: crate::messages::incident(*kind).to_owned(),
                count: *count,
            })
            .collect(),
        page: page_of(&query),
        page_size: PAGE_SIZE,
    }))
}

/// Resolves an incident with what was done about it. The operator: any; a coordinator:
/// its region's (another region's is 404); the analyst may not (403).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/resolve", tag = "monitoring", params(("id" = i64, Path)),
    request_body = ResolveRequest, security(("bearer" = [])),
    responses((status = 204, description = "Resolved"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "`already_resolved`"),
        (status = 422, body = Problem)))]
async fn resolve_incident(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    body: Result<ApiJson<ResolveRequest>, ApiError>,
) -> ApiResult<StatusCode> {
    // Those who may not resolve are refused whatever they send.
    if !may_resolve(user.0.role) {
        return Err(AppError::forbidden().into());
    }
    let ApiJson(body) = body?;
    let id = id
        .parse::<i64>()
        .map(IncidentId)
        .map_err(|_| AppError::not_found())?;
    resolve(
        state.store.as_ref(),
        &user.0,
        id,
        &body.resolution,
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Open, overdue and answered submissions and open incidents per region (regions with
/// submissions). A coordinator gets its own region only.
#[utoipa::path(get, path = "/api/v1/monitoring/regions", tag = "monitoring", security(("bearer" = [])),
    responses((status = 200, body = Vec<RegionSummaryView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn region_summaries(
    State(state): State<AppState>,
    user: ApiUser,
) -> ApiResult<Json<Vec<RegionSummaryView>>> {
    let reach = reach_of(user.0.role)?;
    let rows = summaries(state.store.as_ref(), reach, OffsetDateTime::now_utc()).await?;
    Ok(Json(
        rows.into_iter()
            .map(|s| RegionSummaryView {
                region_id: s.region.0,
                region: s.region_name,
                open: s.open,
                overdue: s.overdue,
                answered: s.answered,
                incidents_open: s.incidents_open,
            })
            .collect(),
    ))
}
