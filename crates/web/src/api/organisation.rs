//! An organisation's administration through the API, for its administrator and the
//! operator: officials, integration clients, widget sites (the same use cases as the
//! `/org/{id}` pages).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use otklik_domain::access::{ApiScope, Capability};
use otklik_domain::lifecycle::Role;
use otklik_domain::{OrgId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::{rfc3339, ApiError, ApiJson, Problem};
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

/// The organisation of the path, if this user administers it.
fn administered(user: &ApiUser, raw: &str) -> Result<OrgId, ApiError> {
    let org = raw
        .parse::<i64>()
        .map(OrgId)
        .map_err(|_| AppError::not_found())?;
    user.require(Capability::AdministerOrganisation(org))?;
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
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<StaffView>>> {
    let org = administered(&user, &id)?;
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
pub struct NewStaffRequest {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub full_name: String,
    /// `official` (default) or `org_admin`.
    #[serde(default)]
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewStaffResponse {
    pub id: i64,
    /// The first password, returned once.
    pub initial_password: String,
}

/// Adds an official or administrator; the first password is returned once.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/staff", tag = "organisation", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = NewStaffRequest,
    responses((status = 201, body = NewStaffResponse), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn add_staff(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewStaffRequest>,
) -> ApiResult<Response> {
    let org = administered(&user, &id)?;
    let (id, password) = orgadmin::add_staff(
        state.store.as_ref(),
        org,
        &body.email,
        &body.full_name,
        &body.role,
    )
    .await?;
    let response = NewStaffResponse {
        id: id.0,
        initial_password: password,
    };
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

/// Disables (`disable`, ending its sessions) or re-enables (`enable`) a staff account.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/staff/{user}/{state}", tag = "organisation", security(("bearer" = [])),
    params(("id" = i64, Path), ("user" = i64, Path), ("state" = String, Path, description = "disable or enable")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn staff_state(
    State(state): State<AppState>,
    user: ApiUser,
    Path((id, account, action)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let org = administered(&user, &id)?;
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
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ClientView>>> {
    let org = administered(&user, &id)?;
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
pub struct NewClientRequest {
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub name: String,
    /// `submissions:read`, `submissions:write`.
    #[serde(default)]
    pub scopes: Vec<String>,
}

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
    responses((status = 201, body = NewClientResponse), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn add_client(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewClientRequest>,
) -> ApiResult<Response> {
    let org = administered(&user, &id)?;
    let client = orgadmin::add_client(
        state.store.as_ref(),
        org,
        user.0.id,
        &body.client_id,
        &body.name,
        &body.scopes,
    )
    .await?;
    let response = NewClientResponse {
        client_id: client.client_id,
        client_secret: client.secret,
        scopes: client.scopes.iter().map(|s| ApiScope::as_str(*s)).collect(),
    };
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

/// Revokes a client: its tokens and key stop working at once.
#[utoipa::path(delete, path = "/api/v1/organisations/{id}/clients/{client}", tag = "organisation", security(("bearer" = [])),
    params(("id" = i64, Path), ("client" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_client(
    State(state): State<AppState>,
    user: ApiUser,
    Path((id, client)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let org = administered(&user, &id)?;
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
pub struct SiteRequest {
    /// `https://host[:port]`.
    #[serde(default)]
    pub origin: String,
}

/// The sites allowed to embed the organisation's widget.
#[utoipa::path(get, path = "/api/v1/organisations/{id}/widget-sites", tag = "organisation", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = Vec<SiteView>), (status = 403, body = Problem)))]
async fn sites(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<SiteView>>> {
    let org = administered(&user, &id)?;
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
    responses((status = 201, body = SiteView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn add_site(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SiteRequest>,
) -> ApiResult<Response> {
    let org = administered(&user, &id)?;
    let origin =
        orgadmin::change_site(state.store.as_ref(), org, user.0.id, &body.origin, true).await?;
    let view = SiteView {
        origin,
        added_by: user.0.full_name.clone(),
        added_at: rfc3339(time::OffsetDateTime::now_utc()),
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Removes a site: `?origin=https://host`.
#[utoipa::path(delete, path = "/api/v1/organisations/{id}/widget-sites", tag = "organisation", security(("bearer" = [])),
    params(("id" = i64, Path), ("origin" = String, Query)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn remove_site(
    State(state): State<AppState>,
    user: ApiUser,
    Path(id): Path<String>,
    query: Result<Query<SiteRequest>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<StatusCode> {
    let org = administered(&user, &id)?;
    let Query(query) = query.map_err(|_| AppError::bad_request("invalid_query"))?;
    orgadmin::change_site(state.store.as_ref(), org, user.0.id, &query.origin, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
