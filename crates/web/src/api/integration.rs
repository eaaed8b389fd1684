//! Organisations' own systems: their delivery settings (administrator, operator), the
//! state of their deliveries, the pull queue their integration clients read, and the
//! operator's overview. Pushes are sent by `crate::delivery`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use otklik_domain::access::Capability;
use otklik_domain::OrgId;
use otklik_store::{DeliveryId, DeliveryRecord, DeliveryState, DeliverySummary};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::organisation::administered;
use super::{rfc3339, ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::{orgadmin, AppState};

type ApiResult<T> = Result<T, ApiError>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/organisations/{id}/integration",
            get(settings).put(put_settings).delete(remove_settings),
        )
        .route("/organisations/{id}/deliveries", get(deliveries))
        .route("/deliveries/next", get(next))
        .route("/deliveries/{id}/ack", post(ack))
        .route("/console/integrations", get(overview))
}

#[derive(OpenApi)]
#[openapi(
    paths(settings, put_settings, remove_settings, deliveries, next, ack, overview),
    components(schemas(IntegrationView, IntegrationRequest, IntegrationResponse, DeliveryView,
        DeliveryList, SummaryView, PulledMessage, OverviewLine, DeliveryModeSchema,
        DeliveryStateSchema, PushUrlSchema, PushSecretSchema)),
    tags((name = "integration", description = "Delivery of routed submissions to organisations' own systems: push, pull queue, state"))
)]
pub struct Doc;

super::types::text_schema!(DeliveryModeSchema, "DeliveryMode", {
    super::types::one_of(
        ["push", "pull"],
        "`push`: the platform POSTs to `push_url`; `pull`: the system reads `/api/v1/deliveries/next`.",
    )
});
super::types::text_schema!(DeliveryStateSchema, "DeliveryState", {
    super::types::one_of(
        ["pending", "failing", "delivered"],
        "Where a delivery stands.",
    )
});
super::types::text_schema!(PushUrlSchema, "PushUrl", {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^(https://[A-Za-z0-9.-]+(:[1-9][0-9]{0,3})?|http://(127\.0\.0\.1|localhost)(:[1-9][0-9]{0,3})?)(/[A-Za-z0-9._~/-]*)?$"))
        .max_length(Some(2000))
        .description(Some("`https://…`, or `http://` to a loopback host; no credentials, no fragment."))
        .build()
        .into()
});
super::types::text_schema!(PushSecretSchema, "PushSecret", {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[!-~]{32,200}$"))
        .description(Some("32 to 200 printable ASCII characters."))
        .build()
        .into()
});

/// An organisation's delivery settings; the push secret is never shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationView {
    /// `push` or `pull`.
    pub mode: String,
    pub push_url: Option<String>,
    /// Whether a push secret is set (its value is shown once, when generated).
    pub push_secret_set: bool,
    pub visibility_timeout_seconds: u64,
    pub alert_after_failures: u32,
    pub updated_at: String,
    pub summary: SummaryView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    pub pending: u64,
    pub failing: u64,
    pub delivered: u64,
    pub oldest_undelivered_at: Option<String>,
}

impl From<DeliverySummary> for SummaryView {
    fn from(s: DeliverySummary) -> Self {
        Self {
            pending: s.pending,
            failing: s.failing,
            delivered: s.delivered,
            oldest_undelivered_at: s.oldest_undelivered_at.map(rfc3339),
        }
    }
}

/// The organisation's delivery settings and the state of its outbox; 404 when none are
/// set.
#[utoipa::path(get, path = "/api/v1/organisations/{id}/integration", tag = "integration", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = IntegrationView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn settings(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<IntegrationView>> {
    let org = administered(&state, &user, &id).await?;
    let record = state
        .store
        .integration(org)
        .await?
        .ok_or_else(AppError::not_found)?;
    let summary = state.store.delivery_summary(org).await?;
    Ok(Json(IntegrationView {
        mode: record.mode.as_str().to_owned(),
        push_url: record.push_url,
        push_secret_set: record.push_secret.is_some(),
        visibility_timeout_seconds: record.visibility_timeout_seconds,
        alert_after_failures: record.alert_after_failures,
        updated_at: rfc3339(record.updated_at),
        summary: summary.into(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationRequest {
    /// `push` (the platform POSTs to `push_url`) or `pull` (the system reads
    /// `/api/v1/deliveries/next`).
    #[serde(default)]
    #[schema(required, value_type = DeliveryModeSchema)]
    pub mode: String,
    /// Push (required there): `https://…` (or `http://` to a loopback host).
    #[serde(default)]
    #[schema(nullable, value_type = PushUrlSchema)]
    pub push_url: Option<String>,
    /// Push: the HMAC key. Omitted or null: the stored one is kept, or a new one is
    /// generated and returned once. (Null, like omitted, means the default everywhere.)
    #[serde(default)]
    #[schema(nullable, value_type = PushSecretSchema)]
    pub push_secret: Option<String>,
    /// Pull: how long a taken message stays hidden before it comes back (default 300).
    #[serde(default)]
    #[schema(nullable, value_type = u64, minimum = 10, maximum = 86400)]
    pub visibility_timeout_seconds: Option<u64>,
    /// After this many failed attempts of one message the operator is alerted (default 5).
    #[serde(default)]
    #[schema(nullable, value_type = u32, minimum = 1, maximum = 1000)]
    pub alert_after_failures: Option<u32>,
}

impl IntegrationRequest {
    /// The settings as `orgadmin` takes them. A value given must be valid whatever the
    /// mode (a form's empty field is "not given"; in JSON that is an absent or null one).
    pub(crate) fn input(self) -> Result<orgadmin::IntegrationInput, AppError> {
        let mut errors = otklik_domain::ValidationErrors::default();
        if let Some(url) = &self.push_url {
            errors.check("push_url", otklik_domain::delivery::PushUrl::parse(url));
        }
        if let Some(secret) = &self.push_secret {
            if !otklik_domain::delivery::secret_is_strong(secret) {
                errors.push("push_secret", "weak_secret");
            }
        }
        if !errors.is_empty() {
            return Err(AppError::validation(errors));
        }
        Ok(orgadmin::IntegrationInput {
            mode: self.mode,
            push_url: self.push_url.unwrap_or_default(),
            push_secret: self.push_secret.unwrap_or_default(),
            visibility_timeout_seconds: self.visibility_timeout_seconds,
            alert_after_failures: self.alert_after_failures,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationResponse {
    /// The generated push secret, returned only this once.
    pub push_secret: Option<String>,
}

/// Sets (or replaces) the organisation's delivery settings.
#[utoipa::path(put, path = "/api/v1/organisations/{id}/integration", tag = "integration", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = IntegrationRequest,
    responses((status = 200, body = IntegrationResponse), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_settings(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<IntegrationRequest>,
) -> ApiResult<Response> {
    let org = administered(&state, &user, &id).await?;
    let generated = orgadmin::set_integration(
        state.store.as_ref(),
        org,
        user.0.id,
        body.input()?,
        state.config.delivery.allow_private_targets,
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok(super::idempotency::no_replay(
        Json(IntegrationResponse {
            push_secret: generated,
        })
        .into_response(),
    ))
}

/// Stops deliveries; undelivered messages stay and go out if settings return.
#[utoipa::path(delete, path = "/api/v1/organisations/{id}/integration", tag = "integration", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn remove_settings(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let org = administered(&state, &user, &id).await?;
    state
        .store
        .remove_integration(org, Some(user.0.id), OffsetDateTime::now_utc())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// The idempotency key the receiving system deduplicates by.
    pub delivery_id: String,
    pub submission_id: i64,
    pub event: String,
    /// `pending`, `failing` or `delivered`.
    pub state: &'static str,
    pub attempts: u32,
    pub created_at: String,
    pub next_attempt_at: Option<String>,
    pub failing_since: Option<String>,
    pub last_error: Option<String>,
    pub alerted_at: Option<String>,
    pub delivered_at: Option<String>,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(d: DeliveryRecord) -> Self {
        let state = d.state();
        Self {
            id: d.id.0,
            delivery_id: d.key,
            submission_id: d.submission.0,
            event: d.event,
            state: state.as_str(),
            attempts: d.attempts,
            created_at: rfc3339(d.created_at),
            next_attempt_at: (state != DeliveryState::Delivered)
                .then(|| rfc3339(d.next_attempt_at)),
            failing_since: d.failing_since.map(rfc3339),
            last_error: d.last_error,
            alerted_at: d.alerted_at.map(rfc3339),
            delivered_at: d.delivered_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub summary: SummaryView,
    /// Newest first.
    pub items: Vec<DeliveryView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// `pending`, `failing` or `delivered`; all when absent.
    #[param(value_type = Option<DeliveryStateSchema>)]
    pub state: Option<String>,
    /// 1-based page of 50.
    #[param(minimum = 1, maximum = 10000)]
    pub page: Option<u32>,
}

/// The organisation's deliveries and their state.
#[utoipa::path(get, path = "/api/v1/organisations/{id}/deliveries", tag = "integration", security(("bearer" = [])),
    params(("id" = i64, Path), DeliveryParams),
    responses((status = 200, body = DeliveryList), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn deliveries(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<DeliveryParams>,
) -> ApiResult<Json<DeliveryList>> {
    let org = administered(&state, &user, &id).await?;
    let filter = match params.state.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(DeliveryState::parse(raw).map_err(|c| AppError::field("state", c))?),
    };
    let page = params.page.unwrap_or(1);
    if page == 0 || page > 10_000 {
        return Err(AppError::field("page", "out_of_range").into());
    }
    let items = state
        .store
        .deliveries(org, filter, 50, (page - 1) * 50)
        .await?;
    Ok(Json(DeliveryList {
        summary: state.store.delivery_summary(org).await?.into(),
        items: items.into_iter().map(DeliveryView::from).collect(),
    }))
}

/// A message taken from the pull queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct PulledMessage {
    /// Acknowledge with `POST /api/v1/deliveries/{id}/ack`.
    pub id: i64,
    /// The idempotency key: the same message may come again if not acknowledged in time.
    pub delivery_id: String,
    pub event: String,
    /// How many times it was handed out, this time included.
    pub attempts: u32,
    /// Until then it is hidden from other reads; then it comes back.
    pub visible_again_at: String,
    /// The envelope (the same JSON a push carries; see docs/INTEGRATIONS.md).
    #[schema(value_type = Object)]
    pub envelope: serde_json::Value,
}

/// The next message for the caller's organisation (an integration client with
/// `submissions:read`); 204 when the queue is empty.
#[utoipa::path(get, path = "/api/v1/deliveries/next", tag = "integration", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = PulledMessage), (status = 204, description = "Nothing to take"),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn next(State(state): State<AppState>, user: ApiUser) -> ApiResult<Response> {
    let org = receiving_org(&user)?;
    let now = OffsetDateTime::now_utc();
    let Some(message) = state.store.pull_delivery(org, now).await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let timeout = state
        .store
        .integration(org)
        .await?
        .map_or(0, |i| i.visibility_timeout_seconds);
    let envelope = serde_json::from_str(&message.payload).map_err(|_| AppError::internal())?;
    Ok(Json(PulledMessage {
        id: message.id.0,
        delivery_id: message.key,
        event: message.event,
        attempts: message.attempts,
        visible_again_at: rfc3339(now + std::time::Duration::from_secs(timeout)),
        envelope,
    })
    .into_response())
}

fn receiving_org(user: &ApiUser) -> Result<OrgId, ApiError> {
    user.require(Capability::ReceiveDeliveries)?;
    user.0
        .role
        .organisation()
        .ok_or_else(|| AppError::from(otklik_domain::access::Denied::Forbidden).into())
}

/// Acknowledges a message of the caller's organisation; acknowledging again is fine.
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/ack", tag = "integration", security(("bearer" = []), ("api_key" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn ack(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let org = receiving_org(&user)?;
    let id = id
        .parse::<i64>()
        .map(DeliveryId)
        .map_err(|_| AppError::not_found())?;
    state
        .store
        .ack_delivery(org, id, OffsetDateTime::now_utc())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverviewLine {
    pub organisation_id: i64,
    pub organisation: String,
    pub mode: String,
    pub summary: SummaryView,
}

/// Every organisation's delivery state (the operator).
#[utoipa::path(get, path = "/api/v1/console/integrations", tag = "integration", security(("bearer" = [])),
    responses((status = 200, body = Vec<OverviewLine>), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
async fn overview(
    State(state): State<AppState>,
    user: ApiUser,
) -> ApiResult<Json<Vec<OverviewLine>>> {
    user.require(Capability::Configure)?;
    let lines = state.store.integration_overview().await?;
    Ok(Json(
        lines
            .into_iter()
            .map(|l| OverviewLine {
                organisation_id: l.org.0,
                organisation: l.org_name,
                mode: l.mode.as_str().to_owned(),
                summary: l.summary.into(),
            })
            .collect(),
    ))
}
