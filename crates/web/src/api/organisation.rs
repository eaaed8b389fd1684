//! An organisation's administration through the API, for its administrator and the
//! operator: officials, integration clients, widget sites (the same use cases as the
//! `/org/{id}` pages).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use otklik_domain::access::{ApiScope, Capability};
use otklik_domain::lifecycle::Role;
use otklik_domain::{OrgId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::{rfc3339, ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::{orgadmin, AppState};

type ApiResult<T> = Result<T, ApiError>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/organisations/{id}/staff", get(staff).post(add_staff))
        .route(
            "/organisations/{id}/staff/{user}/{state}",
            post(staff_state),
        )
        .route("/organisations/{id}/clients", get(clients).post(add_client))
        .route(
            "/organisations/{id}/clients/{client}",
            axum::routing::delete(revoke_client),
        )
        .route(
            "/organisations/{id}/widget-sites",
            get(sites).post(add_site).delete(remove_site),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(staff, add_staff, staff_state, clients, add_client, revoke_client, sites, add_site, remove_site),
    components(schemas(StaffView, NewStaffRequest, NewStaffResponse, ClientView, NewClientRequest,
        NewClientResponse, SiteView, SiteRequest)),
    tags((name = "organisation", description = "An organisation's officials, integration clients and widget sites"))
)]
pub struct Doc;

/// The organisation of the path, if this user administers it: 403 for those who may
/// not, then 404 when the operator names an organisation that does not exist.
pub(super) async fn administered(
    state: &AppState,
    user: &ApiUser,
    raw: &str,
) -> Result<OrgId, ApiError> {
    let org = raw
        .parse::<i64>()
        .map(OrgId)
        .map_err(|_| AppError::not_found())?;
    user.require(Capability::AdministerOrganisation(org))?;
    state.store.organisation(org).await?;
    Ok(org)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffView {
    pub id: i64,
    pub full_name: String,
    pub email: String,
    /// `official` or `org_admin`.
    pub role: &'static str,
    pub disabled: bool,
}

/// The organisation's officials and administrators.
#[utoipa::path(get, path = "/api/v1/organisations/{id}/staff", tag = "organisation", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = Vec<StaffView>), (status = 403, body = Problem)))]
async fn staff(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<StaffView>>> {
    let org = administered(&state, &user, &id).await?;
    let people = state.store.staff(org).await?;
    Ok(Json(
        people
            .into_iter()
            .map(|u| StaffView {
                id: u.id.0,
                role: if matches!(u.role, Role::OrgAdmin(_)) {
                    "org_admin"
                } else {
                    "official"
                },
                full_name: u.full_name,
                email: u.email,
                disabled: u.disabled,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffRequest {
    #[serde(default)]
    #[schema(required, value_type = super::EmailSchema)]
    pub email: String,
    #[serde(default)]
    #[schema(required, value_type = super::PersonNameSchema)]
    pub full_name: String,
    /// `official` (when left out) or `org_admin`.
    #[serde(default)]
    #[schema(value_type = StaffRoleSchema)]
    pub role: String,
}

super::types::text_schema!(StaffRoleSchema, "StaffRole", {
    super::types::one_of(["official", "org_admin"], "A staff member's role.")
});

#[derive(Debug, Serialize, ToSchema)]
pub struct NewStaffResponse {
    pub id: i64,
    /// The first password, returned once.
    pub initial_password: String,
}

/// Adds an official or administrator; the first password is returned once.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/staff", tag = "organisation", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = NewStaffRequest,
    responses((status = 201, body = NewStaffResponse), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "`email_taken`")))]
async fn add_staff(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    body: Result<ApiJson<NewStaffRequest>, ApiError>,
) -> ApiResult<Response> {
    let org = administered(&state, &user, &id).await?;
    // The body is read once the caller may administer the organisation.
    let ApiJson(body) = body?;
    let (id, password) = orgadmin::add_staff(
        state.store.as_ref(),
        org,
        &body.email,
        &body.full_name,
        &body.role,
    )
    .await
    .map_err(super::conflict)?;
    let response = NewStaffResponse {
        id: id.0,
        initial_password: password,
    };
    Ok(super::idempotency::no_replay(
        (StatusCode::CREATED, Json(response)).into_response(),
    ))
}

/// Disables (`disable`, ending its sessions) or re-enables (`enable`) a staff account.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/staff/{user}/{state}", tag = "organisation", security(("bearer" = [])),
    params(("id" = i64, Path), ("user" = i64, Path), ("state" = String, Path, description = "disable or enable")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn staff_state(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, account, action)): ApiPath<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let org = administered(&state, &user, &id).await?;
    let account = UserId(account.parse::<i64>().map_err(|_| AppError::not_found())?);
    let disabled = match action.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return Err(AppError::not_found().into()),
    };
    orgadmin::set_staff_disabled(state.store.as_ref(), org, user.0.id, account, disabled).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<&'static str>,
    pub created_at: String,
    pub revoked: bool,
}

/// The organisation's integration clients (never their secrets).
#[utoipa::path(get, path = "/api/v1/organisations/{id}/clients", tag = "organisation", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = Vec<ClientView>), (status = 403, body = Problem)))]
async fn clients(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<ClientView>>> {
    let org = administered(&state, &user, &id).await?;
    let list = state.store.api_clients(org).await?;
    Ok(Json(
        list.into_iter()
            .map(|c| ClientView {
                client_id: c.client_id,
                name: c.name,
                scopes: c.scopes.iter().map(|s| s.as_str()).collect(),
                created_at: rfc3339(c.created_at),
                revoked: c.revoked,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClientRequest {
    /// 3 to 64 of `A–Z a–z 0–9 - _` (surrounding whitespace is trimmed); unique.
    #[serde(default)]
    #[schema(required, value_type = ClientIdSchema)]
    pub client_id: String,
    #[serde(default)]
    #[schema(required, value_type = super::PersonNameSchema)]
    pub name: String,
    /// At least one.
    #[serde(default)]
    #[schema(required, value_type = Vec<super::ApiScopeSchema>, min_items = 1)]
    pub scopes: Vec<String>,
}

super::types::text_schema!(ClientIdSchema, "ClientId", {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!(
            "^{space}*[A-Za-z0-9_-]{{3,64}}{space}*$",
            space = super::types::SPACE
        )))
        .description(Some("An integration client's identifier."))
        .build()
        .into()
});

#[derive(Debug, Serialize, ToSchema)]
pub struct NewClientResponse {
    pub client_id: String,
    /// Returned once; only its SHA-256 is kept.
    pub client_secret: String,
    pub scopes: Vec<&'static str>,
}

/// Connects an integration client; its secret is returned once.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/clients", tag = "organisation", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = NewClientRequest,
    responses((status = 201, body = NewClientResponse), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "`client_id_taken`")))]
async fn add_client(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    body: Result<ApiJson<NewClientRequest>, ApiError>,
) -> ApiResult<Response> {
    let org = administered(&state, &user, &id).await?;
    // The body is read once the caller may administer the organisation.
    let ApiJson(body) = body?;
    let client = orgadmin::add_client(
        state.store.as_ref(),
        org,
        user.0.id,
        &body.client_id,
        &body.name,
        &body.scopes,
    )
    .await
    .map_err(super::conflict)?;
    let response = NewClientResponse {
        client_id: client.client_id,
        client_secret: client.secret,
        scopes: client.scopes.iter().map(|s| ApiScope::as_str(*s)).collect(),
    };
    Ok(super::idempotency::no_replay(
        (StatusCode::CREATED, Json(response)).into_response(),
    ))
}

/// Revokes a client: its tokens and key stop working at once.
#[utoipa::path(delete, path = "/api/v1/organisations/{id}/clients/{client}", tag = "organisation", security(("bearer" = [])),
    params(("id" = i64, Path), ("client" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_client(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, client)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let org = administered(&state, &user, &id).await?;
    orgadmin::revoke_client(state.store.as_ref(), org, user.0.id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SiteView {
    pub origin: String,
    pub added_by: String,
    pub added_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteRequest {
    #[serde(default)]
    #[schema(required, value_type = WidgetOriginSchema)]
    pub origin: String,
}

/// `?origin=…` of the site to remove (other parameters are ignored, as in every query).
#[derive(Debug, Deserialize)]
pub struct SiteQuery {
    #[serde(default)]
    pub origin: String,
}

super::types::text_schema!(WidgetOriginSchema, "WidgetOrigin", {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    // `WidgetOrigin::parse`: trimmed, a trailing `/` dropped, case-insensitive; `https`,
    // or `http` for `localhost` and `127.0.0.1`; DNS labels of letters, digits and inner
    // hyphens; an optional port 1–65535.
    let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    let host = format!("{label}(?:\\.{label})*");
    let port = "(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?";
    let space = super::types::SPACE;
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!(
            "^{space}*(?:[Hh][Tt][Tt][Pp][Ss]://{host}|[Hh][Tt][Tt][Pp]://(?:[Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt]|127\\.0\\.0\\.1)){port}/*{space}*$"
        )))
        .description(Some(
            "A site allowed to embed the widget: `https://host[:port]` (or `http://` for \
             `localhost` and `127.0.0.1`), no path.",
        ))
        .build()
        .into()
});

/// The sites allowed to embed the organisation's widget.
#[utoipa::path(get, path = "/api/v1/organisations/{id}/widget-sites", tag = "organisation", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = Vec<SiteView>), (status = 403, body = Problem)))]
async fn sites(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<SiteView>>> {
    let org = administered(&state, &user, &id).await?;
    let list = state.store.widget_sites(org).await?;
    Ok(Json(
        list.into_iter()
            .map(|s| SiteView {
                origin: s.origin,
                added_by: s.added_by,
                added_at: rfc3339(s.added_at),
            })
            .collect(),
    ))
}

/// Allows a site to embed the widget.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/widget-sites", tag = "organisation", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = SiteRequest,
    responses((status = 201, body = SiteView), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "`widget_site_exists`")))]
async fn add_site(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    body: Result<ApiJson<SiteRequest>, ApiError>,
) -> ApiResult<Response> {
    let org = administered(&state, &user, &id).await?;
    // The body is read once the caller may administer the organisation.
    let ApiJson(body) = body?;
    let origin = orgadmin::change_site(state.store.as_ref(), org, user.0.id, &body.origin, true)
        .await
        .map_err(super::conflict)?;
    let view = SiteView {
        origin,
        added_by: user.0.full_name.clone(),
        added_at: rfc3339(time::OffsetDateTime::now_utc()),
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Removes a site: `?origin=https://host`.
#[utoipa::path(delete, path = "/api/v1/organisations/{id}/widget-sites", tag = "organisation", security(("bearer" = [])),
    params(("id" = i64, Path), ("origin" = WidgetOriginSchema, Query, description = "The site to remove")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn remove_site(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<SiteQuery>,
) -> ApiResult<StatusCode> {
    let org = administered(&state, &user, &id).await?;
    orgadmin::change_site(state.store.as_ref(), org, user.0.id, &query.origin, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
