//! The operator's console API: routing rules, organisations, catalogue and forms,
//! deadline policies, calendars, and the record of configuration changes.
//!
//! Only the operator may use it (everyone else: 403). The parsing and checking of what
//! the operator sends lives here and is shared with the pages (`pages::console`), so both
//! accept and refuse the same things with the same field codes. Every change goes through
//! the store's `Admin` methods, which record it with the acting user.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use otklik_domain::calendar::{
    missing_federal_holidays, parse_calendar, CalendarEntry, CalendarParseError, DayKind,
    DeadlinePolicy, DeadlinePolicySpec, TermUnit,
};
use otklik_domain::form::{FieldKind, FieldSpec, FormSpec};
use otklik_domain::lifecycle::SubmissionKind;
use otklik_domain::*;
use otklik_store::{
    Category, ConfigChange, Organisation, OrganisationEdit, RecomputeReport, Region, RouteRule,
    RouteScope, Store, UserRecord, ORGANISATION_KINDS,
};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{rfc3339, ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/routes", get(list_routes).post(put_route))
        .route("/console/routes/decision", get(route_decision))
        .route("/console/routes/{id}", delete(delete_route))
        .route(
            "/console/organisations",
            get(list_organisations).post(create_organisation),
        )
        .route(
            "/console/organisations/{id}",
            get(show_organisation).put(update_organisation),
        )
        .route(
            "/console/categories",
            get(list_categories).post(create_category),
        )
        .route("/console/categories/{id}", put(rename_category))
        .route("/console/subcategories", post(create_subcategory))
        .route(
            "/console/subcategories/{id}",
            get(show_subcategory).put(update_subcategory),
        )
        .route("/console/policies", get(list_policies).put(put_policy))
        .route("/console/calendars/{layer}", get(calendar_days))
        .route("/console/calendars/{layer}/days", post(add_calendar_day))
        .route(
            "/console/calendars/{layer}/days/{date}",
            delete(delete_calendar_day),
        )
        .route("/console/calendars/{layer}/import", post(import_calendar))
        .route("/console/changes", get(changes))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list_routes, put_route, delete_route, route_decision,
        list_organisations, show_organisation, create_organisation, update_organisation,
        list_categories, create_category, rename_category,
        show_subcategory, create_subcategory, update_subcategory,
        list_policies, put_policy,
        calendar_days, add_calendar_day, delete_calendar_day, import_calendar,
        changes
    ),
    components(schemas(
        RouteRuleView, RouteRequest, RouteDecisionView, ConsoleOrganisationView,
        ConsoleOrganisationRequest, ConsoleCategoryView, ConsoleSubcategoryView, FormBody,
        FormFieldBody, CategoryRequest, SubcategoryRequest, PolicyView, PolicyRequest,
        RecomputeView, CalendarView, CalendarDayView, CalendarDayRequest,
        CalendarImportRequest, CalendarImportView, ConfigChangeView
    )),
    tags((name = "console", description = "The operator's configuration: routing rules, \
        organisations, categories and their forms, deadline policies, production calendars, \
        and the record of every change. Operator only."))
)]
pub struct Doc;

// --- access and errors shared with the pages ---------------------------------------------

/// The console is the operator's alone (the policy's `Configure`).
pub(crate) fn require_operator(user: &UserRecord) -> Result<(), AppError> {
    otklik_domain::access::check_role(user.role, otklik_domain::access::Capability::Configure)
        .map_err(AppError::from)
}

/// The caller, once the policy lets it configure: the operator. An extractor, so that it
/// runs before the body is read and everyone else gets 401 or 403 whatever they send.
pub struct Operator(pub ApiUser);

impl axum::extract::FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = ApiUser::from_request_parts(parts, state).await?;
        user.require(otklik_domain::access::Capability::Configure)?;
        Ok(Self(user))
    }
}

/// A store refusal that names one input (`unknown_region`, …) moved onto that input, so
/// that forms show it next to the field and the API names the field.
pub(crate) fn on_field(e: AppError, fields: &[(&str, &str)]) -> AppError {
    if e.status == StatusCode::UNPROCESSABLE_ENTITY && e.fields.is_empty() {
        if let Some((_, field)) = fields.iter().find(|(code, _)| *code == e.code) {
            return AppError::field(field, e.code);
        }
    }
    e
}

/// A required reference among `known` ids.
fn pick(
    raw: &str,
    known: impl IntoIterator<Item = i64>,
    unknown: &'static str,
) -> Result<i64, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("required");
    }
    raw.parse::<i64>()
        .ok()
        .filter(|id| known.into_iter().any(|k| k == *id))
        .ok_or(unknown)
}

/// An optional reference: empty is None.
fn pick_optional(
    raw: &str,
    known: impl IntoIterator<Item = i64>,
    unknown: &'static str,
) -> Result<Option<i64>, &'static str> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        pick(raw, known, unknown).map(Some)
    }
}

fn id_text(id: Option<i64>) -> String {
    id.map(|i| i.to_string()).unwrap_or_default()
}

fn subcategory_ids(catalogue: &[Category]) -> impl Iterator<Item = i64> + '_ {
    catalogue
        .iter()
        .flat_map(|c| c.subcategories.iter().map(|s| s.id.0))
}

/// A non-empty name of 2 to `max` characters.
fn parse_name(raw: &str, max: usize) -> Result<String, &'static str> {
    let name = raw.trim();
    let chars = name.chars().count();
    if name.is_empty() {
        Err("required")
    } else if chars < 2 || chars > max || name.chars().any(char::is_control) {
        Err("invalid_name")
    } else {
        Ok(name.to_owned())
    }
}

// --- routing rules -----------------------------------------------------------------------

/// The scope levels of a rule, as forms and the API name them.
pub(crate) const SCOPES: &[&str] = &["federal", "region", "municipality"];

/// A routing rule as typed (ids as text).
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteInput {
    pub subcategory: String,
    pub scope: String,
    pub region: String,
    pub municipality: String,
    pub organisation: String,
}

/// Field names of a routing rule, in forms, in the API and in its errors.
pub(crate) const ROUTE_FIELDS: &[(&str, &str)] = &[
    ("unknown_subcategory", "subcategory_id"),
    ("unknown_organisation", "organisation_id"),
    ("unknown_region", "region_id"),
    ("unknown_municipality", "municipality_id"),
];

pub(crate) async fn parse_route(
    store: &dyn Store,
    input: &RouteInput,
) -> Result<(SubcategoryId, RouteScope, OrgId), AppError> {
    let catalogue = store.catalogue().await?;
    let orgs = store.organisations().await?;
    let mut errors = ValidationErrors::default();
    let subcategory = errors.check(
        "subcategory_id",
        pick(
            &input.subcategory,
            subcategory_ids(&catalogue),
            "unknown_subcategory",
        ),
    );
    let org = errors.check(
        "organisation_id",
        pick(
            &input.organisation,
            orgs.iter().map(|o| o.id.0),
            "unknown_organisation",
        ),
    );
    let scope = match input.scope.trim() {
        "federal" => Some(RouteScope::Federal),
        level @ ("region" | "municipality") => {
            // A region rule has no municipality, whatever the form still holds.
            let municipality = if level == "municipality" {
                input.municipality.as_str()
            } else {
                ""
            };
            let (region, municipality) =
                parse_place(store, &mut errors, &input.region, municipality).await?;
            match (level, region, municipality) {
                ("region", Some(region), _) => Some(RouteScope::Region(region)),
                ("municipality", Some(region), Some(Some(m))) => {
                    Some(RouteScope::Municipality(region, m))
                }
                ("municipality", Some(_), Some(None)) => {
                    errors.push("municipality_id", "required");
                    None
                }
                _ => None,
            }
        }
        "" => {
            errors.push("scope", "required");
            None
        }
        _ => {
            errors.push("scope", "unknown_value");
            None
        }
    };
    match (subcategory, scope, org, errors.is_empty()) {
        (Some(s), Some(scope), Some(o), true) => Ok((SubcategoryId(s), scope, OrgId(o))),
        _ => Err(AppError::validation(errors)),
    }
}

/// A required region and an optional municipality of it (`region_id`, `municipality_id`).
/// The municipality is Some(..) when it could be checked.
async fn parse_place(
    store: &dyn Store,
    errors: &mut ValidationErrors,
    region: &str,
    municipality: &str,
) -> Result<(Option<RegionId>, Option<Option<MunicipalityId>>), AppError> {
    let regions = store.regions().await?;
    let region = errors
        .check(
            "region_id",
            pick(region, regions.iter().map(|r| r.id.0), "unknown_region"),
        )
        .map(RegionId);
    let municipality = match region {
        Some(region) => {
            let known = store.municipalities(region).await?;
            errors
                .check(
                    "municipality_id",
                    pick_optional(
                        municipality,
                        known.iter().map(|m| m.id.0),
                        "unknown_municipality",
                    ),
                )
                .map(|m| m.map(MunicipalityId))
        }
        None => None,
    };
    Ok((region, municipality))
}

/// What routing would do for a subcategory in a region (and municipality): the question
/// of the "check routing" form.
pub(crate) async fn parse_decision(
    store: &dyn Store,
    subcategory: &str,
    region: &str,
    municipality: &str,
) -> Result<(SubcategoryId, RegionId, Option<MunicipalityId>), AppError> {
    let catalogue = store.catalogue().await?;
    let mut errors = ValidationErrors::default();
    let sub = errors.check(
        "subcategory_id",
        pick(
            subcategory,
            subcategory_ids(&catalogue),
            "unknown_subcategory",
        ),
    );
    let (region, municipality) = parse_place(store, &mut errors, region, municipality).await?;
    match (sub, region, municipality, errors.is_empty()) {
        (Some(s), Some(r), Some(m), true) => Ok((SubcategoryId(s), r, m)),
        _ => Err(AppError::validation(errors)),
    }
}

/// `federal`, `region` or `municipality`.
pub(crate) fn scope_level(scope: RouteScope) -> &'static str {
    match scope {
        RouteScope::Federal => "federal",
        RouteScope::Region(_) => "region",
        RouteScope::Municipality(..) => "municipality",
    }
}

/// A routing rule for the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteRuleView {
    pub id: i64,
    pub subcategory_id: i64,
    /// `federal` (all of Russia), `region` or `municipality`.
    pub scope: String,
    pub region_id: Option<i64>,
    pub municipality_id: Option<i64>,
    pub organisation_id: i64,
}

impl From<&RouteRule> for RouteRuleView {
    fn from(r: &RouteRule) -> Self {
        let (region, municipality) = match r.scope {
            RouteScope::Federal => (None, None),
            RouteScope::Region(region) => (Some(region.0), None),
            RouteScope::Municipality(region, m) => (Some(region.0), Some(m.0)),
        };
        Self {
            id: r.id.0,
            subcategory_id: r.subcategory.0,
            scope: scope_level(r.scope).to_owned(),
            region_id: region,
            municipality_id: municipality,
            organisation_id: r.org.0,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRequest {
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(required, value_type = i64)]
    pub subcategory_id: Option<i64>,
    /// `federal`, `region` (needs `region_id`) or `municipality` (needs `region_id` and
    /// `municipality_id` of that region).
    #[serde(default)]
    #[schema(required, value_type = ScopeSchema)]
    pub scope: String,
    #[serde(default, deserialize_with = "super::whole")]
    pub region_id: Option<i64>,
    #[serde(default, deserialize_with = "super::whole")]
    pub municipality_id: Option<i64>,
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(required, value_type = i64)]
    pub organisation_id: Option<i64>,
}

super::types::text_schema!(ScopeSchema, "RouteScope", {
    super::types::one_of(SCOPES.iter().copied(), "Where a routing rule applies.")
});

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RouteListParams {
    /// Only the rules of this subcategory.
    #[param(value_type = Option<i64>)]
    pub subcategory_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DecisionParams {
    #[param(required, value_type = i64)]
    pub subcategory_id: Option<String>,
    #[param(required, value_type = i64)]
    pub region_id: Option<String>,
    /// Optional: a municipality of the region.
    #[param(value_type = Option<i64>)]
    pub municipality_id: Option<String>,
}

/// Which organisation routing chooses, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteDecisionView {
    pub organisation_id: i64,
    pub organisation_name: String,
    /// `municipality`, `region`, `federal` (a rule of that scope) or `coordinator` (no
    /// rule: the region's coordinator).
    pub matched: String,
    /// The rule used, if any.
    pub rule_id: Option<i64>,
}

/// Splits the store's decision label (`region:12`, `coordinator`).
pub(crate) fn decision_parts(label: &str) -> (&str, Option<i64>) {
    match label.split_once(':') {
        Some((kind, id)) => (kind, id.parse().ok()),
        None => (label, None),
    }
}

/// The routing rules, by subcategory.
#[utoipa::path(get, path = "/api/v1/console/routes", tag = "console", params(RouteListParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<RouteRuleView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_routes(
    State(state): State<AppState>,
    _: Operator,
    ApiQuery(params): ApiQuery<RouteListParams>,
) -> ApiResult<Json<Vec<RouteRuleView>>> {
    let filter = match params.subcategory_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => {
            Some(SubcategoryId(raw.parse::<i64>().map_err(|_| {
                AppError::field("subcategory_id", "unknown_subcategory")
            })?))
        }
    };
    let rules = state.store.routes(filter).await?;
    Ok(Json(rules.iter().map(RouteRuleView::from).collect()))
}

/// Adds the rule of a scope, or replaces the organisation of the rule that scope has
/// (201 when new, 200 when replaced).
#[utoipa::path(post, path = "/api/v1/console/routes", tag = "console", request_body = RouteRequest, security(("bearer" = [])),
    responses((status = 201, body = RouteRuleView), (status = 200, body = RouteRuleView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_route(
    State(state): State<AppState>,
    Operator(user): Operator,
    ApiJson(body): ApiJson<RouteRequest>,
) -> ApiResult<Response> {
    let input = RouteInput {
        subcategory: id_text(body.subcategory_id),
        scope: body.scope,
        region: id_text(body.region_id),
        municipality: id_text(body.municipality_id),
        organisation: id_text(body.organisation_id),
    };
    let store = state.store.as_ref();
    let (sub, scope, org) = parse_route(store, &input).await?;
    let existed = store
        .routes(Some(sub))
        .await?
        .iter()
        .any(|r| r.scope == scope);
    let id = store
        .put_route(Some(user.0.id), sub, scope, org, OffsetDateTime::now_utc())
        .await
        .map_err(|e| on_field(e.into(), ROUTE_FIELDS))?;
    let view = RouteRuleView::from(&RouteRule {
        id,
        subcategory: sub,
        scope,
        org,
    });
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(view)).into_response())
}

/// Deletes a routing rule.
#[utoipa::path(delete, path = "/api/v1/console/routes/{id}", tag = "console", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_route(
    State(state): State<AppState>,
    Operator(user): Operator,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = id.parse::<i64>().map_err(|_| AppError::not_found())?;
    state
        .store
        .delete_route(Some(user.0.id), RouteId(id), OffsetDateTime::now_utc())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which organisation a submission of a subcategory in a region (and municipality) would
/// go to, and by which rule.
#[utoipa::path(get, path = "/api/v1/console/routes/decision", tag = "console", params(DecisionParams), security(("bearer" = [])),
    responses((status = 200, body = RouteDecisionView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn route_decision(
    State(state): State<AppState>,
    _: Operator,
    ApiQuery(p): ApiQuery<DecisionParams>,
) -> ApiResult<Json<RouteDecisionView>> {
    let store = state.store.as_ref();
    let (sub, region, municipality) = parse_decision(
        store,
        p.subcategory_id.as_deref().unwrap_or(""),
        p.region_id.as_deref().unwrap_or(""),
        p.municipality_id.as_deref().unwrap_or(""),
    )
    .await?;
    let decision = store.route_decision(sub, region, municipality).await?;
    let org = store.organisation(decision.org).await?;
    let (matched, rule_id) = decision_parts(&decision.label);
    Ok(Json(RouteDecisionView {
        organisation_id: org.id.0,
        organisation_name: org.name,
        matched: matched.to_owned(),
        rule_id,
    }))
}

// --- organisations -----------------------------------------------------------------------

/// An organisation as typed.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrganisationInput {
    pub name: String,
    pub kind: String,
    pub region: String,
    pub municipality: String,
    pub parent: String,
    pub is_coordinator: bool,
    /// Empty: the municipality's, else the region's, else Moscow time.
    pub utc_offset_minutes: String,
}

pub(crate) const ORGANISATION_FIELDS: &[(&str, &str)] = &[
    ("invalid_name", "name"),
    ("unknown_organisation_kind", "kind"),
    ("unknown_region", "region_id"),
    ("unknown_municipality", "municipality_id"),
    ("unknown_parent", "parent_id"),
    ("parent_cycle", "parent_id"),
    ("invalid_utc_offset", "utc_offset_minutes"),
];

/// Moscow time, for organisations without a region (federal bodies).
pub(crate) const MOSCOW_OFFSET_MINUTES: i32 = 180;

pub(crate) async fn parse_organisation(
    store: &dyn Store,
    id: Option<OrgId>,
    input: &OrganisationInput,
) -> Result<OrganisationEdit, AppError> {
    let regions = store.regions().await?;
    let orgs = store.organisations().await?;
    let mut errors = ValidationErrors::default();
    let name = errors.check("name", parse_name(&input.name, 300));
    let kind = input.kind.trim();
    let kind = errors.check(
        "kind",
        if kind.is_empty() {
            Err("required")
        } else if ORGANISATION_KINDS.contains(&kind) {
            Ok(kind.to_owned())
        } else {
            Err("unknown_organisation_kind")
        },
    );
    let region = errors
        .check(
            "region_id",
            pick_optional(
                &input.region,
                regions.iter().map(|r| r.id.0),
                "unknown_region",
            ),
        )
        .map(|r| r.and_then(|id| regions.iter().find(|r| r.id.0 == id)));
    let municipality = match (region, input.municipality.trim()) {
        (_, "") => Some(None),
        (Some(Some(region)), raw) => {
            let known = store.municipalities(region.id).await?;
            errors
                .check(
                    "municipality_id",
                    pick(raw, known.iter().map(|m| m.id.0), "unknown_municipality"),
                )
                .and_then(|id| known.into_iter().find(|m| m.id.0 == id))
                .map(Some)
        }
        (Some(None), _) => {
            // A municipality belongs to a region: name the region first.
            errors.push("municipality_id", "unknown_municipality");
            None
        }
        (None, _) => None,
    };
    let parent = errors.check(
        "parent_id",
        pick_optional(&input.parent, orgs.iter().map(|o| o.id.0), "unknown_parent").and_then(|p| {
            match (p, id) {
                (Some(p), Some(me)) if p == me.0 => Err("parent_cycle"),
                _ => Ok(p.map(OrgId)),
            }
        }),
    );
    let offset = match input.utc_offset_minutes.trim() {
        "" => Some(
            municipality
                .as_ref()
                .and_then(|m| m.as_ref().map(|m| m.utc_offset_minutes))
                .or_else(|| region.flatten().map(|r| r.utc_offset_minutes))
                .unwrap_or(MOSCOW_OFFSET_MINUTES),
        ),
        raw => errors.check(
            "utc_offset_minutes",
            raw.parse::<i32>()
                .map_err(|_| "not_a_number")
                .and_then(|m| {
                    if (-720..=840).contains(&m) {
                        Ok(m)
                    } else {
                        Err("invalid_utc_offset")
                    }
                }),
        ),
    };
    match (name, kind, region, municipality, parent, offset) {
        (Some(name), Some(kind), Some(region), Some(municipality), Some(parent), Some(offset))
            if errors.is_empty() =>
        {
            Ok(OrganisationEdit {
                name,
                kind,
                region: region.map(|r| r.id),
                municipality: municipality.map(|m| m.id),
                parent,
                is_coordinator: input.is_coordinator,
                utc_offset_minutes: offset,
            })
        }
        _ => Err(AppError::validation(errors)),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsoleOrganisationView {
    pub id: i64,
    pub name: String,
    /// One of `federal_body`, `regional_body`, `local_government`, `institution`,
    /// `other_public`, `coordinator`.
    pub kind: String,
    pub region_id: Option<i64>,
    pub municipality_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub is_coordinator: bool,
    pub utc_offset_minutes: i32,
}

impl From<&Organisation> for ConsoleOrganisationView {
    fn from(o: &Organisation) -> Self {
        Self {
            id: o.id.0,
            name: o.name.clone(),
            kind: o.kind.clone(),
            region_id: o.region.map(|r| r.0),
            municipality_id: o.municipality.map(|m| m.0),
            parent_id: o.parent.map(|p| p.0),
            is_coordinator: o.is_coordinator,
            utc_offset_minutes: o.utc_offset_minutes,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsoleOrganisationRequest {
    #[serde(default)]
    #[schema(required, value_type = super::OrganisationNameSchema)]
    pub name: String,
    #[serde(default)]
    #[schema(required, value_type = OrganisationKindSchema)]
    pub kind: String,
    #[serde(default, deserialize_with = "super::whole")]
    pub region_id: Option<i64>,
    /// A municipality of `region_id`.
    #[serde(default, deserialize_with = "super::whole")]
    pub municipality_id: Option<i64>,
    #[serde(default, deserialize_with = "super::whole")]
    pub parent_id: Option<i64>,
    /// The region's coordinator: receives what no rule routes.
    #[serde(default)]
    pub is_coordinator: bool,
    /// Left out: the municipality's, else the region's, else Moscow time (180).
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(minimum = -720, maximum = 840)]
    pub utc_offset_minutes: Option<i64>,
}

super::types::text_schema!(OrganisationKindSchema, "OrganisationKind", {
    super::types::one_of(
        ORGANISATION_KINDS.iter().copied(),
        "An organisation's kind.",
    )
});

impl From<ConsoleOrganisationRequest> for OrganisationInput {
    fn from(b: ConsoleOrganisationRequest) -> Self {
        Self {
            name: b.name,
            kind: b.kind,
            region: id_text(b.region_id),
            municipality: id_text(b.municipality_id),
            parent: id_text(b.parent_id),
            is_coordinator: b.is_coordinator,
            utc_offset_minutes: id_text(b.utc_offset_minutes),
        }
    }
}

fn org_id(raw: &str) -> Result<OrgId, AppError> {
    raw.parse::<i64>()
        .map(OrgId)
        .map_err(|_| AppError::not_found())
}

/// Every organisation with its kind, place, parent and time zone.
#[utoipa::path(get, path = "/api/v1/console/organisations", tag = "console", security(("bearer" = [])),
    responses((status = 200, body = Vec<ConsoleOrganisationView>), (status = 403, body = Problem)))]
async fn list_organisations(
    State(state): State<AppState>,
    _: Operator,
) -> ApiResult<Json<Vec<ConsoleOrganisationView>>> {
    let orgs = state.store.organisations().await?;
    Ok(Json(
        orgs.iter().map(ConsoleOrganisationView::from).collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/console/organisations/{id}", tag = "console", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = ConsoleOrganisationView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn show_organisation(
    State(state): State<AppState>,
    _: Operator,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ConsoleOrganisationView>> {
    let org = state.store.organisation(org_id(&id)?).await?;
    Ok(Json(ConsoleOrganisationView::from(&org)))
}

/// Connects a new organisation.
#[utoipa::path(post, path = "/api/v1/console/organisations", tag = "console", request_body = ConsoleOrganisationRequest, security(("bearer" = [])),
    responses((status = 201, body = ConsoleOrganisationView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_organisation(
    State(state): State<AppState>,
    Operator(user): Operator,
    ApiJson(body): ApiJson<ConsoleOrganisationRequest>,
) -> ApiResult<Response> {
    let org = save_organisation(&state, &user.0, None, body.into()).await?;
    Ok((
        StatusCode::CREATED,
        Json(ConsoleOrganisationView::from(&org)),
    )
        .into_response())
}

/// Edits an organisation.
#[utoipa::path(put, path = "/api/v1/console/organisations/{id}", tag = "console", params(("id" = i64, Path)), request_body = ConsoleOrganisationRequest, security(("bearer" = [])),
    responses((status = 200, body = ConsoleOrganisationView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_organisation(
    State(state): State<AppState>,
    Operator(user): Operator,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ConsoleOrganisationRequest>,
) -> ApiResult<Json<ConsoleOrganisationView>> {
    let id = org_id(&id)?;
    state.store.organisation(id).await?;
    let org = save_organisation(&state, &user.0, Some(id), body.into()).await?;
    Ok(Json(ConsoleOrganisationView::from(&org)))
}

/// Checks and saves an organisation (pages and API).
pub(crate) async fn save_organisation(
    state: &AppState,
    user: &UserRecord,
    id: Option<OrgId>,
    input: OrganisationInput,
) -> Result<Organisation, AppError> {
    let store = state.store.as_ref();
    let edit = parse_organisation(store, id, &input).await?;
    let id = store
        .put_organisation(Some(user.id), id, &edit, OffsetDateTime::now_utc())
        .await
        .map_err(|e| on_field(e.into(), ORGANISATION_FIELDS))?;
    Ok(store.organisation(id).await?)
}

// --- catalogue and forms -----------------------------------------------------------------

pub(crate) const CATEGORY_FIELDS: &[(&str, &str)] = &[("invalid_name", "name")];
pub(crate) const SUBCATEGORY_FIELDS: &[(&str, &str)] = &[
    ("invalid_name", "name"),
    ("unknown_category", "category_id"),
];

/// One field of the form builder as typed.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldRow {
    pub key: String,
    pub label: String,
    pub kind: String,
    pub required: bool,
    pub hint: String,
    pub options: Vec<String>,
}

impl FieldRow {
    /// A row with nothing typed in it (the builder's spare row) is not a field.
    pub fn is_blank(&self) -> bool {
        self.key.trim().is_empty()
            && self.label.trim().is_empty()
            && self.hint.trim().is_empty()
            && self.options.iter().all(|o| o.trim().is_empty())
    }
}

/// Builds a form from the builder's rows (each with its index on the page or in the
/// request), checked by the domain; errors are named `{prefix}fields.{index}.{part}`.
pub(crate) fn build_form(
    photo_required: bool,
    rows: &[(usize, FieldRow)],
    prefix: &str,
) -> Result<FormSpec, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut fields = Vec::new();
    for (index, row) in rows {
        let kind = errors.check(
            &format!("{prefix}fields.{index}.kind"),
            match row.kind.trim() {
                "" => Err("required"),
                raw => FieldKind::parse(raw),
            },
        );
        let hint = row.hint.trim();
        fields.push(FieldSpec {
            key: row.key.trim().to_owned(),
            label: row.label.trim().to_owned(),
            kind: kind.unwrap_or(FieldKind::Text),
            required: row.required,
            hint: (!hint.is_empty()).then(|| hint.to_owned()),
            options: row.options.clone(),
        })
    }
    let spec = FormSpec {
        fields,
        photo_required,
    };
    if let Err(found) = spec.check_new() {
        for e in found.0 {
            // `fields.{i}.{part}`: i is the position among the rows sent.
            let name = match e
                .field
                .strip_prefix("fields.")
                .and_then(|r| r.split_once('.'))
            {
                Some((i, part)) => {
                    let index = i
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| rows.get(i))
                        .map_or(0, |(index, _)| *index);
                    format!("{prefix}fields.{index}.{part}")
                }
                None => format!("{prefix}{}", e.field),
            };
            // A bad kind is reported once, as the kind.
            if !errors.0.iter().any(|x| x.field == name) {
                errors.push(name, e.code);
            }
        }
    }
    errors.into_result(|| spec)
}

/// A category's or subcategory's name.
pub(crate) fn parse_category_name(raw: &str) -> Result<String, AppError> {
    parse_name(raw, 200).map_err(|code| AppError::field("name", code))
}

/// A subcategory as typed: its category, name and form.
pub(crate) async fn parse_subcategory(
    store: &dyn Store,
    category: &str,
    name: &str,
    form: Result<FormSpec, ValidationErrors>,
) -> Result<(CategoryId, String, FormSpec), AppError> {
    let catalogue = store.catalogue().await?;
    let mut errors = ValidationErrors::default();
    let category = errors.check(
        "category_id",
        pick(
            category,
            catalogue.iter().map(|c| c.id.0),
            "unknown_category",
        ),
    );
    let name = errors.check("name", parse_name(name, 200));
    let form = match form {
        Ok(form) => Some(form),
        Err(found) => {
            errors.0.extend(found.0);
            None
        }
    };
    match (category, name, form, errors.is_empty()) {
        (Some(c), Some(n), Some(f), true) => Ok((CategoryId(c), n, f)),
        _ => Err(AppError::validation(errors)),
    }
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormFieldBody {
    /// `[a-z][a-z0-9_]*`, at most 40 characters, unique in the form.
    #[serde(default)]
    #[schema(required)]
    pub key: String,
    #[serde(default)]
    #[schema(required)]
    pub label: String,
    #[serde(default)]
    #[schema(required, value_type = FieldKindSchema)]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub hint: Option<String>,
    /// The choices of `select` and `multi_select` (no `;` in a multi-select's options).
    #[serde(default)]
    pub options: Vec<String>,
}

super::types::text_schema!(FieldKindSchema, "FieldKind", {
    super::types::one_of(
        FieldKind::ALL.iter().map(|k| k.as_str()),
        "A form field's kind; `date` values are `YYYY-MM-DD`.",
    )
});

/// A subcategory's form. Photos and files are attachments, not fields:
/// `photo_required` asks for at least one photo.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormBody {
    #[serde(default)]
    pub photo_required: bool,
    #[serde(default)]
    pub fields: Vec<FormFieldBody>,
}

impl FormBody {
    /// The form the request describes, checked by the domain; errors are named
    /// `form.fields.{i}.{part}`.
    pub(crate) fn build(self) -> Result<FormSpec, ValidationErrors> {
        let rows: Vec<(usize, FieldRow)> = self
            .fields
            .into_iter()
            .map(|f| FieldRow {
                key: f.key,
                label: f.label,
                kind: f.kind,
                required: f.required,
                hint: f.hint.unwrap_or_default(),
                options: f.options,
            })
            .enumerate()
            .collect();
        build_form(self.photo_required, &rows, "form.")
    }
}

impl From<&FormSpec> for FormBody {
    fn from(f: &FormSpec) -> Self {
        Self {
            photo_required: f.photo_required,
            fields: f
                .fields
                .iter()
                .map(|f| FormFieldBody {
                    key: f.key.clone(),
                    label: f.label.clone(),
                    kind: f.kind.as_str().to_owned(),
                    required: f.required,
                    hint: f.hint.clone(),
                    options: f.options.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsoleSubcategoryView {
    pub id: i64,
    pub category_id: i64,
    pub name: String,
    pub form: FormBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsoleCategoryView {
    pub id: i64,
    pub name: String,
    pub subcategories: Vec<ConsoleSubcategoryView>,
}

fn subcategory_view(s: &otklik_store::Subcategory) -> ConsoleSubcategoryView {
    ConsoleSubcategoryView {
        id: s.id.0,
        category_id: s.category.0,
        name: s.name.clone(),
        form: FormBody::from(&s.form),
    }
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryRequest {
    #[serde(default)]
    #[schema(required, value_type = super::CategoryNameSchema)]
    pub name: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubcategoryRequest {
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(required, value_type = i64)]
    pub category_id: Option<i64>,
    #[serde(default)]
    #[schema(required, value_type = super::CategoryNameSchema)]
    pub name: String,
    #[serde(default)]
    pub form: FormBody,
}

/// The catalogue with every subcategory's form.
#[utoipa::path(get, path = "/api/v1/console/categories", tag = "console", security(("bearer" = [])),
    responses((status = 200, body = Vec<ConsoleCategoryView>), (status = 403, body = Problem)))]
async fn list_categories(
    State(state): State<AppState>,
    _: Operator,
) -> ApiResult<Json<Vec<ConsoleCategoryView>>> {
    let catalogue = state.store.catalogue().await?;
    Ok(Json(
        catalogue
            .iter()
            .map(|c| ConsoleCategoryView {
                id: c.id.0,
                name: c.name.clone(),
                subcategories: c.subcategories.iter().map(subcategory_view).collect(),
            })
            .collect(),
    ))
}

/// Creates a category (placed last).
#[utoipa::path(post, path = "/api/v1/console/categories", tag = "console", request_body = CategoryRequest, security(("bearer" = [])),
    responses((status = 201, body = ConsoleCategoryView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_category(
    State(state): State<AppState>,
    Operator(user): Operator,
    ApiJson(body): ApiJson<CategoryRequest>,
) -> ApiResult<Response> {
    let name = parse_category_name(&body.name)?;
    let id = state
        .store
        .put_category(Some(user.0.id), None, &name, OffsetDateTime::now_utc())
        .await
        .map_err(|e| on_field(e.into(), CATEGORY_FIELDS))?;
    let view = ConsoleCategoryView {
        id: id.0,
        name,
        subcategories: Vec::new(),
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Renames a category.
#[utoipa::path(put, path = "/api/v1/console/categories/{id}", tag = "console", params(("id" = i64, Path)), request_body = CategoryRequest, security(("bearer" = [])),
    responses((status = 200, body = ConsoleCategoryView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn rename_category(
    State(state): State<AppState>,
    Operator(user): Operator,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CategoryRequest>,
) -> ApiResult<Json<ConsoleCategoryView>> {
    let id = CategoryId(id.parse::<i64>().map_err(|_| AppError::not_found())?);
    let name = parse_category_name(&body.name)?;
    state
        .store
        .put_category(Some(user.0.id), Some(id), &name, OffsetDateTime::now_utc())
        .await
        .map_err(|e| on_field(e.into(), CATEGORY_FIELDS))?;
    let catalogue = state.store.catalogue().await?;
    let category = catalogue
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(AppError::not_found)?;
    Ok(Json(ConsoleCategoryView {
        id: id.0,
        name: category.name.clone(),
        subcategories: category
            .subcategories
            .iter()
            .map(subcategory_view)
            .collect(),
    }))
}

fn subcategory_id(raw: &str) -> Result<SubcategoryId, AppError> {
    raw.parse::<i64>()
        .map(SubcategoryId)
        .map_err(|_| AppError::not_found())
}

#[utoipa::path(get, path = "/api/v1/console/subcategories/{id}", tag = "console", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = ConsoleSubcategoryView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn show_subcategory(
    State(state): State<AppState>,
    _: Operator,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ConsoleSubcategoryView>> {
    let sub = state.store.subcategory(subcategory_id(&id)?).await?;
    Ok(Json(subcategory_view(&sub)))
}

/// Creates a subcategory with its form. Field errors are named `form.fields.{i}.{part}`.
#[utoipa::path(post, path = "/api/v1/console/subcategories", tag = "console", request_body = SubcategoryRequest, security(("bearer" = [])),
    responses((status = 201, body = ConsoleSubcategoryView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_subcategory(
    State(state): State<AppState>,
    Operator(user): Operator,
    ApiJson(body): ApiJson<SubcategoryRequest>,
) -> ApiResult<Response> {
    let sub = save_subcategory_request(&state, &user.0, None, body).await?;
    Ok((StatusCode::CREATED, Json(subcategory_view(&sub))).into_response())
}

/// Edits a subcategory: its name, category and form. Submissions already made keep the
/// values they were sent with.
#[utoipa::path(put, path = "/api/v1/console/subcategories/{id}", tag = "console", params(("id" = i64, Path)), request_body = SubcategoryRequest, security(("bearer" = [])),
    responses((status = 200, body = ConsoleSubcategoryView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_subcategory(
    State(state): State<AppState>,
    Operator(user): Operator,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SubcategoryRequest>,
) -> ApiResult<Json<ConsoleSubcategoryView>> {
    let id = subcategory_id(&id)?;
    state.store.subcategory(id).await?;
    let sub = save_subcategory_request(&state, &user.0, Some(id), body).await?;
    Ok(Json(subcategory_view(&sub)))
}

async fn save_subcategory_request(
    state: &AppState,
    user: &UserRecord,
    id: Option<SubcategoryId>,
    body: SubcategoryRequest,
) -> Result<otklik_store::Subcategory, AppError> {
    let form = body.form.build();
    save_subcategory(
        state,
        user,
        id,
        &id_text(body.category_id),
        &body.name,
        form,
    )
    .await
}

/// Checks and saves a subcategory (pages and API).
pub(crate) async fn save_subcategory(
    state: &AppState,
    user: &UserRecord,
    id: Option<SubcategoryId>,
    category: &str,
    name: &str,
    form: Result<FormSpec, ValidationErrors>,
) -> Result<otklik_store::Subcategory, AppError> {
    let store = state.store.as_ref();
    let (category, name, form) = parse_subcategory(store, category, name, form).await?;
    let id = store
        .put_subcategory(
            Some(user.id),
            id,
            category,
            &name,
            &form,
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(|e| on_field(e.into(), SUBCATEGORY_FIELDS))?;
    Ok(store.subcategory(id).await?)
}

// --- deadline policies -------------------------------------------------------------------

/// A policy as typed (numbers as text).
#[derive(Debug, Clone, Default)]
pub(crate) struct PolicyInput {
    pub kind: String,
    pub subcategory: String,
    pub unit: String,
    pub moderation: String,
    pub registration: String,
    pub redirect: String,
    pub answer: String,
    pub extension: String,
}

pub(crate) const UNITS: &[TermUnit] = &[TermUnit::WorkingDays, TermUnit::CalendarDays];

fn days(raw: &str) -> Result<Option<u32>, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let n = raw.parse::<i64>().map_err(|_| "not_a_number")?;
    u32::try_from(n).map(Some).map_err(|_| "term_out_of_range")
}

pub(crate) async fn parse_policy(
    store: &dyn Store,
    input: &PolicyInput,
) -> Result<(SubmissionKind, Option<SubcategoryId>, DeadlinePolicy), AppError> {
    let catalogue = store.catalogue().await?;
    check_policy(&catalogue, input)
}

/// A policy as typed, checked against the catalogue (pure: the fuzz targets call it).
pub(crate) fn check_policy(
    catalogue: &[Category],
    input: &PolicyInput,
) -> Result<(SubmissionKind, Option<SubcategoryId>, DeadlinePolicy), AppError> {
    let mut errors = ValidationErrors::default();
    let kind = errors.check(
        "kind",
        match input.kind.trim() {
            "" => Err("required"),
            raw => SubmissionKind::parse(raw),
        },
    );
    let subcategory = errors.check(
        "subcategory_id",
        pick_optional(
            &input.subcategory,
            subcategory_ids(catalogue),
            "unknown_subcategory",
        ),
    );
    let unit = errors.check(
        "unit",
        match input.unit.trim() {
            "" => Err("required"),
            raw => UNITS
                .iter()
                .copied()
                .find(|u| u.as_str() == raw)
                .ok_or("unknown_value"),
        },
    );
    let moderation = errors.check("moderation", days(&input.moderation));
    let registration = errors.check("registration", days(&input.registration));
    let redirect = errors.check("redirect", days(&input.redirect));
    let answer = errors.check(
        "answer",
        days(&input.answer).and_then(|d| d.ok_or("required")),
    );
    let extension = errors.check("extension", days(&input.extension));
    let (
        Some(kind),
        Some(subcategory),
        Some(unit),
        Some(moderation),
        Some(registration),
        Some(redirect),
        Some(answer),
        Some(extension),
        true,
    ) = (
        kind,
        subcategory,
        unit,
        moderation,
        registration,
        redirect,
        answer,
        extension,
        errors.is_empty(),
    )
    else {
        return Err(AppError::validation(errors));
    };
    let policy = DeadlinePolicy::new(DeadlinePolicySpec {
        unit,
        moderation,
        registration,
        redirect,
        answer,
        extension,
    })
    .map_err(AppError::validation)?;
    Ok((kind, subcategory.map(SubcategoryId), policy))
}

/// Saves a policy and recomputes the open deadlines (pages and API).
pub(crate) async fn save_policy(
    state: &AppState,
    user: &UserRecord,
    input: &PolicyInput,
) -> Result<RecomputeReport, AppError> {
    let store = state.store.as_ref();
    let (kind, subcategory, policy) = parse_policy(store, input).await?;
    store
        .put_policy(
            Some(user.id),
            kind,
            subcategory,
            &policy,
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(|e| on_field(e.into(), &[("unknown_subcategory", "subcategory_id")]))
}

/// A policy in force: a stored one, or a kind's default.
#[derive(Debug, Clone)]
pub(crate) struct PolicyRow {
    pub kind: SubmissionKind,
    pub subcategory: Option<SubcategoryId>,
    /// False for a default of the domain that nobody has changed.
    pub stored: bool,
    pub spec: DeadlinePolicySpec,
}

/// Every kind's policy (stored or default), then the subcategories' own.
pub(crate) async fn policy_rows(store: &dyn Store) -> Result<Vec<PolicyRow>, AppError> {
    let stored = store.policies().await?;
    let mut rows = Vec::new();
    for kind in SubmissionKind::ALL {
        let own = stored
            .iter()
            .find(|p| p.kind == *kind && p.subcategory.is_none());
        let spec = own
            .and_then(|p| serde_json::from_str::<DeadlinePolicy>(&p.spec_json).ok())
            .unwrap_or_else(|| DeadlinePolicy::default_for(*kind));
        rows.push(PolicyRow {
            kind: *kind,
            subcategory: None,
            stored: own.is_some(),
            spec: spec.spec(),
        });
    }
    for p in stored.iter().filter(|p| p.subcategory.is_some()) {
        if let Ok(policy) = serde_json::from_str::<DeadlinePolicy>(&p.spec_json) {
            rows.push(PolicyRow {
                kind: p.kind,
                subcategory: p.subcategory,
                stored: true,
                spec: policy.spec(),
            });
        }
    }
    Ok(rows)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    /// `message` or `appeal`.
    pub kind: String,
    /// None: the kind's policy for every subcategory without its own.
    pub subcategory_id: Option<i64>,
    /// False: the default, never changed.
    pub stored: bool,
    /// `working_days` or `calendar_days`.
    pub unit: String,
    pub moderation: Option<u32>,
    pub registration: Option<u32>,
    pub redirect: Option<u32>,
    pub answer: u32,
    pub extension: Option<u32>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    #[serde(default)]
    #[schema(required, value_type = super::SubmissionKindSchema)]
    pub kind: String,
    /// Left out: the policy of the kind.
    #[serde(default, deserialize_with = "super::whole")]
    pub subcategory_id: Option<i64>,
    #[serde(default)]
    #[schema(required, value_type = TermUnitSchema)]
    pub unit: String,
    /// Days, 1 to 365; left out: the stage does not apply.
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(minimum = 1, maximum = 365)]
    pub moderation: Option<i64>,
    /// Days, 1 to 365; left out: the stage does not apply.
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(minimum = 1, maximum = 365)]
    pub registration: Option<i64>,
    /// Days, 1 to 365; left out: the stage does not apply.
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(minimum = 1, maximum = 365)]
    pub redirect: Option<i64>,
    /// Days, 1 to 365.
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(required, value_type = u32, minimum = 1, maximum = 365)]
    pub answer: Option<i64>,
    /// The longest extension, 1 to 30 days; left out: no extension.
    #[serde(default, deserialize_with = "super::whole")]
    #[schema(minimum = 1, maximum = 30)]
    pub extension: Option<i64>,
}

impl From<PolicyRequest> for PolicyInput {
    fn from(body: PolicyRequest) -> Self {
        Self {
            kind: body.kind,
            subcategory: id_text(body.subcategory_id),
            unit: body.unit,
            moderation: id_text(body.moderation),
            registration: id_text(body.registration),
            redirect: id_text(body.redirect),
            answer: id_text(body.answer),
            extension: id_text(body.extension),
        }
    }
}

super::types::text_schema!(TermUnitSchema, "TermUnit", {
    super::types::one_of(UNITS.iter().map(|u| u.as_str()), "How a term counts days.")
});

/// How many open deadlines were recomputed, and how many of them moved.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecomputeView {
    pub checked: u64,
    pub changed: u64,
}

impl From<RecomputeReport> for RecomputeView {
    fn from(r: RecomputeReport) -> Self {
        Self {
            checked: r.checked,
            changed: r.changed,
        }
    }
}

/// The deadline policies in force: each kind's, then the subcategories' own.
#[utoipa::path(get, path = "/api/v1/console/policies", tag = "console", security(("bearer" = [])),
    responses((status = 200, body = Vec<PolicyView>), (status = 403, body = Problem)))]
async fn list_policies(
    State(state): State<AppState>,
    _: Operator,
) -> ApiResult<Json<Vec<PolicyView>>> {
    let rows = policy_rows(state.store.as_ref()).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| PolicyView {
                kind: r.kind.as_str().to_owned(),
                subcategory_id: r.subcategory.map(|s| s.0),
                stored: r.stored,
                unit: r.spec.unit.as_str().to_owned(),
                moderation: r.spec.moderation,
                registration: r.spec.registration,
                redirect: r.spec.redirect,
                answer: r.spec.answer,
                extension: r.spec.extension,
            })
            .collect(),
    ))
}

/// Sets the policy of a kind (or of one subcategory) and recomputes every open deadline.
#[utoipa::path(put, path = "/api/v1/console/policies", tag = "console", request_body = PolicyRequest, security(("bearer" = [])),
    responses((status = 200, body = RecomputeView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_policy(
    State(state): State<AppState>,
    Operator(user): Operator,
    ApiJson(body): ApiJson<PolicyRequest>,
) -> ApiResult<Json<RecomputeView>> {
    let report = save_policy(&state, &user.0, &PolicyInput::from(body)).await?;
    Ok(Json(report.into()))
}

// --- calendars ---------------------------------------------------------------------------

/// A layer of days over the shipped calendar: the federal one, or a region's own.
#[derive(Debug, Clone)]
pub(crate) enum Layer {
    Federal,
    Region(Region),
}

impl Layer {
    /// The region code the store takes (None: federal).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Federal => None,
            Self::Region(r) => Some(&r.code),
        }
    }

    /// The layer's name in URLs: `federal` or the region code.
    pub fn slug(&self) -> &str {
        self.code().unwrap_or("federal")
    }
}

/// `federal` or a region's ISO code; anything else does not exist.
pub(crate) async fn layer_of(store: &dyn Store, raw: &str) -> Result<Layer, AppError> {
    if raw == "federal" {
        return Ok(Layer::Federal);
    }
    store
        .region_by_code(raw)
        .await?
        .map(Layer::Region)
        .ok_or_else(AppError::not_found)
}

pub(crate) fn iso_date(date: Date) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    date.format(&format).unwrap_or_default()
}

/// One day as typed (`date`, `kind`), checked like a line of a calendar file.
pub(crate) fn parse_day(date: &str, kind: &str) -> Result<CalendarEntry, AppError> {
    let mut errors = ValidationErrors::default();
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = errors.check(
        "date",
        match date.trim() {
            "" => Err("required"),
            raw => Date::parse(raw, &format).map_err(|_| "not_a_date"),
        },
    );
    let kind = errors.check(
        "kind",
        match kind.trim() {
            "" => Err("required"),
            raw => DayKind::parse(raw).map_err(|_| "unknown_value"),
        },
    );
    let (Some(day), Some(kind), true) = (day, kind, errors.is_empty()) else {
        return Err(AppError::validation(errors));
    };
    // The file format's own rules (a working day on a weekend, …).
    parse_calendar(&format!("{} {}", iso_date(day), kind.as_str()))
        .map_err(|e| AppError::field("kind", e.code))?;
    Ok(CalendarEntry::new(day, kind))
}

/// Adds (or changes) one day of a layer. The federal layer holds whole years (a year
/// there replaces the shipped year), so a day added to it joins the year's days as the
/// calendar has them now.
pub(crate) async fn add_day(
    store: &dyn Store,
    user: &UserRecord,
    layer: &Layer,
    entry: CalendarEntry,
) -> Result<RecomputeReport, AppError> {
    let at = OffsetDateTime::now_utc();
    let days = match layer {
        Layer::Region(_) => vec![entry],
        Layer::Federal => {
            let year = entry.date.year();
            let mut days: Vec<CalendarEntry> = store
                .calendar_days(None)
                .await?
                .into_iter()
                .filter(|d| d.date.year() == year)
                .collect();
            if days.is_empty() {
                let calendar = store.calendar(None).await?;
                days = days_of_year(year)
                    .filter_map(|d| calendar.day_kind(d).map(|k| CalendarEntry::new(d, k)))
                    .collect();
            }
            days.retain(|d| d.date != entry.date);
            days.push(entry);
            days.sort_by_key(|d| d.date);
            days
        }
    };
    Ok(store
        .put_calendar_days(Some(user.id), layer.code(), &days, at)
        .await?)
}

fn days_of_year(year: i32) -> impl Iterator<Item = Date> {
    let first = Date::from_calendar_date(year, time::Month::January, 1).ok();
    std::iter::successors(first, |d| d.next_day()).take_while(move |d| d.year() == year)
}

/// Why a calendar file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImportRefusal {
    /// A line that does not parse.
    Line(CalendarParseError),
    /// No days at all.
    Empty,
    /// A federal year without all of the Labour Code's holidays: it would replace the
    /// shipped year and turn them into working days.
    MissingHolidays(i32, Vec<Date>),
}

impl ImportRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Line(e) => e.code,
            Self::Empty => "empty_calendar",
            Self::MissingHolidays(..) => "missing_federal_holidays",
        }
    }

    /// For the API's `detail`: the line, or the missing dates.
    pub fn detail(&self) -> String {
        match self {
            Self::Line(e) => format!("line {}: {}: {:?}", e.line, e.code, e.text),
            Self::Empty => "no calendar days in the file".to_owned(),
            Self::MissingHolidays(year, dates) => format!(
                "{year}: federal holidays missing: {}",
                dates
                    .iter()
                    .map(|d| iso_date(*d))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Checks a calendar file for a layer; nothing is stored.
pub(crate) fn parse_import(layer: &Layer, text: &str) -> Result<Vec<CalendarEntry>, ImportRefusal> {
    let entries = parse_calendar(text).map_err(ImportRefusal::Line)?;
    if entries.is_empty() {
        return Err(ImportRefusal::Empty);
    }
    if matches!(layer, Layer::Federal) {
        let mut years: Vec<i32> = entries.iter().map(|e| e.date.year()).collect();
        years.sort_unstable();
        years.dedup();
        for year in years {
            let missing = missing_federal_holidays(year, &entries);
            if !missing.is_empty() {
                return Err(ImportRefusal::MissingHolidays(year, missing));
            }
        }
    }
    Ok(entries)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarDayView {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `holiday`, `day-off`, `working` or `short`.
    pub kind: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarView {
    /// `federal` or the region's code.
    pub layer: String,
    pub days: Vec<CalendarDayView>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarDayRequest {
    /// `YYYY-MM-DD`.
    #[serde(default)]
    #[schema(required, format = Date)]
    pub date: String,
    /// A `day-off` must be a weekday, a `working` day a Saturday or Sunday.
    #[serde(default)]
    #[schema(required, value_type = super::DayKindSchema)]
    pub kind: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarImportRequest {
    /// A calendar file: `YYYY-MM-DD <holiday|day-off|working|short> [# comment]` per
    /// line. For the federal layer each year in it replaces that year and must list all
    /// the Labour Code's holidays.
    #[serde(default)]
    #[schema(required)]
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarImportView {
    /// Days stored.
    pub days: usize,
    pub checked: u64,
    pub changed: u64,
}

/// The days of a layer (`federal` or a region's code such as `RU-TVE`).
#[utoipa::path(get, path = "/api/v1/console/calendars/{layer}", tag = "console", params(("layer" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = CalendarView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn calendar_days(
    State(state): State<AppState>,
    _: Operator,
    ApiPath(layer): ApiPath<String>,
) -> ApiResult<Json<CalendarView>> {
    let layer = layer_of(state.store.as_ref(), &layer).await?;
    let days = state.store.calendar_days(layer.code()).await?;
    Ok(Json(CalendarView {
        layer: layer.slug().to_owned(),
        days: days
            .iter()
            .map(|d| CalendarDayView {
                date: iso_date(d.date),
                kind: d.kind.as_str().to_owned(),
            })
            .collect(),
    }))
}

/// Adds or changes one day of a layer and recomputes the open deadlines.
#[utoipa::path(post, path = "/api/v1/console/calendars/{layer}/days", tag = "console", params(("layer" = String, Path)), request_body = CalendarDayRequest, security(("bearer" = [])),
    responses((status = 200, body = RecomputeView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_calendar_day(
    State(state): State<AppState>,
    Operator(user): Operator,
    ApiPath(layer): ApiPath<String>,
    ApiJson(body): ApiJson<CalendarDayRequest>,
) -> ApiResult<Json<RecomputeView>> {
    let store = state.store.as_ref();
    let layer = layer_of(store, &layer).await?;
    let entry = parse_day(&body.date, &body.kind)?;
    let report = add_day(store, &user.0, &layer, entry).await?;
    Ok(Json(report.into()))
}

/// Deletes one day of a layer and recomputes the open deadlines.
#[utoipa::path(delete, path = "/api/v1/console/calendars/{layer}/days/{date}", tag = "console", params(("layer" = String, Path), ("date" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = RecomputeView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_calendar_day(
    State(state): State<AppState>,
    Operator(user): Operator,
    ApiPath((layer, date)): ApiPath<(String, String)>,
) -> ApiResult<Json<RecomputeView>> {
    let store = state.store.as_ref();
    let layer = layer_of(store, &layer).await?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(&date, &format).map_err(|_| AppError::not_found())?;
    let report = store
        .delete_calendar_day(
            Some(user.0.id),
            layer.code(),
            date,
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(Json(report.into()))
}

/// Imports a calendar file into a layer, all or nothing, and recomputes the open
/// deadlines. A refused file changes nothing: 422 with the code of the first bad line
/// (`bad_date`, `unknown_kind`, …) on field `text` and the line number in `detail`.
#[utoipa::path(post, path = "/api/v1/console/calendars/{layer}/import", tag = "console", params(("layer" = String, Path)), request_body = CalendarImportRequest, security(("bearer" = [])),
    responses((status = 200, body = CalendarImportView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn import_calendar(
    State(state): State<AppState>,
    Operator(user): Operator,
    ApiPath(layer): ApiPath<String>,
    ApiJson(body): ApiJson<CalendarImportRequest>,
) -> ApiResult<Json<CalendarImportView>> {
    let store = state.store.as_ref();
    let layer = layer_of(store, &layer).await?;
    let entries = parse_import(&layer, &body.text)
        .map_err(|r| ApiError(AppError::field("text", r.code()), Some(r.detail())))?;
    let report = store
        .put_calendar_days(
            Some(user.0.id),
            layer.code(),
            &entries,
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(Json(CalendarImportView {
        days: entries.len(),
        checked: report.checked,
        changed: report.changed,
    }))
}

// --- the record of changes ---------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigChangeView {
    pub id: i64,
    pub actor_id: Option<i64>,
    /// Who made the change (None for the system, e.g. the CLI).
    pub actor_name: Option<String>,
    pub at: String,
    /// `route`, `organisation`, `category`, `subcategory`, `deadline_policy`, `calendar`.
    pub entity: String,
    pub entity_key: String,
    /// JSON or text as stored; None when created.
    pub before: Option<String>,
    /// None when deleted.
    pub after: Option<String>,
}

impl From<&ConfigChange> for ConfigChangeView {
    fn from(c: &ConfigChange) -> Self {
        Self {
            id: c.id,
            actor_id: c.actor.map(|a| a.0),
            actor_name: c.actor_name.clone(),
            at: rfc3339(c.at),
            entity: c.entity.clone(),
            entity_key: c.entity_key.clone(),
            before: c.before.clone(),
            after: c.after.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// 1 to 200, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    #[param(value_type = Option<u32>, minimum = 0, maximum = 10000000)]
    pub offset: Option<String>,
}

/// Changes per page of the record.
pub(crate) const CHANGES_PAGE: u32 = 50;

/// The record of configuration changes, newest first.
#[utoipa::path(get, path = "/api/v1/console/changes", tag = "console", params(ChangesParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<ConfigChangeView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn changes(
    State(state): State<AppState>,
    _: Operator,
    ApiQuery(p): ApiQuery<ChangesParams>,
) -> ApiResult<Json<Vec<ConfigChangeView>>> {
    let mut errors = ValidationErrors::default();
    let limit = match p.limit.as_deref().map(str::trim) {
        None | Some("") => Some(CHANGES_PAGE),
        Some(raw) => errors.check(
            "limit",
            raw.parse::<u32>()
                .ok()
                .filter(|l| (1..=200).contains(l))
                .ok_or("out_of_range"),
        ),
    };
    let offset = match p.offset.as_deref().map(str::trim) {
        None | Some("") => Some(0),
        Some(raw) => errors.check(
            "offset",
            raw.parse::<u32>()
                .ok()
                .filter(|o| *o <= 10_000_000)
                .ok_or("out_of_range"),
        ),
    };
    let (Some(limit), Some(offset), true) = (limit, offset, errors.is_empty()) else {
        return Err(AppError::validation(errors).into());
    };
    let changes = state.store.config_changes(limit, offset).await?;
    Ok(Json(changes.iter().map(ConfigChangeView::from).collect()))
}
