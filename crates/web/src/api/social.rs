//! Social-media monitoring through the API: the incident queue and its actions (the same
//! use cases as `/social`), and the webhooks through which Telegram and partner systems
//! push posts.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use otklik_connectors::Batch;
use otklik_store::{SocialIncident, SocialPost};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{rfc3339, ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::auth::{self, ApiUser};
use crate::error::AppError;
use crate::social::{self as usecase, PushedSource};
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/social/incidents", get(list_social_incidents))
        .route("/social/incidents/{id}", get(get_social_incident))
        .route(
            "/social/incidents/{id}/actions",
            post(act_on_social_incident),
        )
        .route("/social/webhook/{source}", post(receive_webhook_posts))
        .route("/social/telegram/{source}", post(receive_telegram_update))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_social_incidents, get_social_incident, act_on_social_incident, receive_webhook_posts, receive_telegram_update),
    components(schemas(IncidentView, PostView, IncidentDetail, ActionRequest, ActionDone, Accepted,
        SocialStatusFilter, SocialAction, DismissReasonSchema)),
    tags((name = "social", description = "Monitoring of social media and messengers: public \
        posts about the work of public bodies, grouped into incidents (one problem in one \
        place), routed like submissions and answered publicly within 24 hours; the answer is \
        published back under the posts. The operator and the ministry's analyst see every \
        incident, a coordinator the region's, an official those routed to the organisation. \
        Telegram and partner systems push posts through webhooks."))
)]
pub struct Doc;

super::types::text_schema!(SocialStatusFilter, "SocialStatusFilter", {
    super::types::one_of(
        ["open", "answered", "dismissed", "merged", "all"],
        "Which incidents: one status, or all.",
    )
});
super::types::text_schema!(SocialAction, "SocialAction", {
    super::types::one_of(
        ["answer", "dismiss", "reroute", "merge", "split"],
        "What to do with the incident.",
    )
});
super::types::text_schema!(DismissReasonSchema, "DismissReason", {
    super::types::one_of(
        otklik_domain::social::DismissReason::ALL.map(otklik_domain::social::DismissReason::as_str),
        "Why an incident is dismissed.",
    )
});

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentView {
    pub id: i64,
    /// `open`, `answered`, `dismissed` or `merged`.
    pub status: String,
    pub title: String,
    pub category: Option<String>,
    pub subcategory: Option<String>,
    /// ISO 3166-2 code of the region.
    pub region: Option<String>,
    pub place: Option<String>,
    pub organisation_id: Option<i64>,
    pub organisation: Option<String>,
    pub urgent: bool,
    pub posts: u64,
    pub first_post_at: String,
    pub last_post_at: String,
    pub due_at: String,
    pub overdue: bool,
    /// When the monitor recorded the breach of the deadline.
    pub breached_at: Option<String>,
    pub merged_into: Option<i64>,
    pub answer: Option<String>,
    /// `not_relevant`, `spam` or `no_problem`.
    pub dismiss_reason: Option<String>,
    pub closed_at: Option<String>,
}

fn view(i: &SocialIncident, now: OffsetDateTime) -> IncidentView {
    IncidentView {
        id: i.id,
        status: i.status.as_str().to_owned(),
        title: i.title.clone(),
        category: i.category_name.clone(),
        subcategory: i.subcategory_name.clone(),
        region: i.region_code.clone(),
        place: i.place.clone(),
        organisation_id: i.org.map(|o| o.0),
        organisation: i.org_name.clone(),
        urgent: i.urgent,
        posts: i.posts,
        first_post_at: rfc3339(i.first_post_at),
        last_post_at: rfc3339(i.last_post_at),
        due_at: rfc3339(i.due_at),
        overdue: i.status == otklik_domain::social::IncidentStatus::Open && i.due_at < now,
        breached_at: i.breached_at.map(rfc3339),
        merged_into: i.merged_into,
        answer: i.answer.clone(),
        dismiss_reason: i.dismiss_reason.map(|r| r.as_str().to_owned()),
        closed_at: i.closed_at.map(rfc3339),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostView {
    pub id: i64,
    /// `vk`, `telegram`, `rss` or `webhook`.
    pub platform: String,
    pub source: String,
    pub external_id: String,
    pub url: Option<String>,
    /// The normalised text (links and emoji taken out).
    pub text: String,
    pub published_at: String,
    /// The classifier's confidence, 0–1.
    pub confidence: f64,
    /// `negative`, `neutral` or `positive`.
    pub sentiment: String,
    pub urgent: bool,
    pub place: Option<String>,
    /// The post this one copies (a repost, a copy-paste campaign).
    pub duplicate_of: Option<i64>,
    /// `pending`, `sent` or `failed`: the answer's publication under this post.
    pub reply_status: Option<String>,
}

fn post_view(p: &SocialPost) -> PostView {
    PostView {
        id: p.id,
        platform: p.platform.as_str().to_owned(),
        source: p.source.clone(),
        external_id: p.external_id.clone(),
        url: p.url.clone(),
        text: p.text.clone(),
        published_at: rfc3339(p.published_at),
        confidence: p.confidence,
        sentiment: p.sentiment.clone(),
        urgent: p.urgent,
        place: p.place.clone(),
        duplicate_of: p.duplicate_of,
        reply_status: p.reply_status.clone(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDetail {
    pub incident: IncidentView,
    pub posts: Vec<PostView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `open` (the default), `answered`, `dismissed`, `merged` or `all`.
    #[param(value_type = Option<SocialStatusFilter>)]
    pub status: Option<String>,
    /// Only open incidents past their deadline.
    pub overdue: Option<bool>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    #[param(minimum = 0, maximum = 1000000)]
    pub offset: Option<u32>,
}

/// People only: an integration client's token does not reach the social queue.
fn person(user: &ApiUser) -> Result<(), AppError> {
    if user.1.is_some() {
        return Err(AppError::forbidden());
    }
    Ok(())
}

/// The caller's queue: urgent and nearest deadlines first.
#[utoipa::path(get, path = "/api/v1/social/incidents", tag = "social", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = Vec<IncidentView>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_social_incidents(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<IncidentView>>> {
    person(&user)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::field("limit", "out_of_range").into());
    }
    let offset = query.offset.unwrap_or(0);
    if offset > 1_000_000 {
        return Err(AppError::field("offset", "out_of_range").into());
    }
    let status = query.status.as_deref().unwrap_or("open");
    let q = usecase::query_for(
        user.0.role,
        Some(status),
        query.overdue.unwrap_or(false),
        limit,
        offset,
    )?;
    let now = OffsetDateTime::now_utc();
    let incidents = state.store.social_incidents(&q, now).await?;
    Ok(Json(incidents.iter().map(|i| view(i, now)).collect()))
}

fn incident_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(AppError::not_found)
}

/// An incident with its posts.
#[utoipa::path(get, path = "/api/v1/social/incidents/{id}", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = IncidentDetail), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn get_social_incident(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<IncidentDetail>> {
    person(&user)?;
    usecase::reach(user.0.role)?;
    let (incident, posts) = state.store.social_incident(incident_id(&id)?).await?;
    usecase::check_view(user.0.role, &incident)?;
    Ok(Json(IncidentDetail {
        incident: view(&incident, OffsetDateTime::now_utc()),
        posts: posts.iter().map(post_view).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// `answer` (with `text`), `dismiss` (with `reason`), `reroute` (with
    /// `organisation_id`), `merge` (with `into`) or `split` (with `posts`).
    #[schema(value_type = SocialAction)]
    pub action: String,
    #[schema(min_length = 1, max_length = 4000)]
    pub text: Option<String>,
    #[schema(value_type = Option<DismissReasonSchema>)]
    pub reason: Option<String>,
    #[schema(minimum = 1)]
    #[serde(default, deserialize_with = "super::types::whole")]
    pub organisation_id: Option<i64>,
    /// The open incident to merge into.
    #[schema(minimum = 1)]
    #[serde(default, deserialize_with = "super::types::whole")]
    pub into: Option<i64>,
    /// Posts of this incident to move into a new one (at most 500).
    #[schema(value_type = Option<Vec<i64>>)]
    #[serde(default)]
    pub posts: Option<Vec<serde_json::Number>>,
}

impl ActionRequest {
    /// The command the request names, checked as the page's form is (`social::command`).
    pub(crate) fn command(&self) -> Result<otklik_store::SocialCommand, AppError> {
        let org = self.organisation_id.map(|o| o.to_string());
        let into = self.into.map(|i| i.to_string());
        // Whole numbers, however written (`7` or `7.0`); the command checks each is an id.
        let posts: Vec<String> = self
            .posts
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|n| match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => i.to_string(),
                (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{f:.0}"),
                _ => n.to_string(),
            })
            .collect();
        usecase::command(
            &self.action,
            self.text.as_deref(),
            self.reason.as_deref(),
            org.as_deref(),
            into.as_deref(),
            &posts,
        )
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionDone {
    /// The incident the posts are in now: this one, the merge's target, or the split's
    /// new incident.
    pub incident_id: i64,
}

/// Acts on an incident: the routed body answers; the region's coordinator and the
/// operator also re-route, merge, split and dismiss.
#[utoipa::path(post, path = "/api/v1/social/incidents/{id}/actions", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ActionRequest,
    responses((status = 200, body = ActionDone), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn act_on_social_incident(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<ActionRequest>,
) -> ApiResult<Json<ActionDone>> {
    person(&user)?;
    usecase::reach(user.0.role)?;
    let id = incident_id(&id)?;
    let (incident, _) = state.store.social_incident(id).await?;
    usecase::check_view(user.0.role, &incident)?;
    let command = request.command()?;
    let next = state
        .store
        .social_act(
            id,
            auth::actor_of(&user.0),
            command,
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(Json(ActionDone { incident_id: next }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// Posts accepted for analysis (new ones; a post sent again is not counted twice).
    pub accepted: u64,
    /// Items kept in quarantine with a reason (too large, not text, unexpected shape).
    pub quarantined: u64,
}

/// A pushed source's secret, if `source` is one of the given kind. Unknown sources and
/// wrong secrets get the same answer, so nobody learns which sources exist.
fn pushed_secret<'a>(state: &'a AppState, source: &str, telegram: bool) -> Option<&'a str> {
    match state.social.pushed.get(source)? {
        PushedSource::Telegram { secret } if telegram => Some(secret),
        PushedSource::Json { secret } if !telegram => Some(secret),
        _ => None,
    }
}

async fn accept(state: &AppState, source: &str, batch: Batch) -> Result<Accepted, AppError> {
    let quarantined = batch.quarantined.len() as u64;
    let accepted = state
        .social
        .sink
        .accept(source, batch)
        .await
        .map_err(|code| AppError::new(StatusCode::SERVICE_UNAVAILABLE, code))?;
    Ok(Accepted {
        accepted,
        quarantined,
    })
}

/// The generic JSON webhook: one post or an array (`id`, `text`, and optionally `url`,
/// `published_at`, `reply_url`), with `Authorization: Bearer <the source's secret>`.
/// Items that cannot be read are quarantined; the rest are accepted.
#[utoipa::path(post, path = "/api/v1/social/webhook/{source}", tag = "social",
    params(("source" = String, Path, description = "The configured source's key")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 202, body = Accepted), (status = 401, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn receive_webhook_posts(
    State(state): State<AppState>,
    ApiPath(source): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(secret) = pushed_secret(&state, &source, false) else {
        return Err(AppError::unauthorized().into());
    };
    if !otklik_connectors::verify_secret(secret, presented) {
        return Err(AppError::unauthorized().into());
    }
    let batch = otklik_connectors::webhook::parse_webhook(&source, &body)
        .map_err(|_| AppError::bad_request("invalid_body"))?;
    let accepted = accept(&state, &source, batch).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
}

/// Telegram's webhook: one `Update` per request, with the `X-Telegram-Bot-Api-Secret-Token`
/// set by `setWebhook`. Updates without text are acknowledged and skipped; unreadable ones
/// are quarantined and acknowledged (Telegram would otherwise send them again and again).
#[utoipa::path(post, path = "/api/v1/social/telegram/{source}", tag = "social",
    params(("source" = String, Path, description = "The configured source's key")),
    request_body(content = serde_json::Value, content_type = "application/json"),
    responses((status = 200, body = Accepted), (status = 401, body = Problem), (status = 503, body = Problem)))]
async fn receive_telegram_update(
    State(state): State<AppState>,
    ApiPath(source): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Accepted>> {
    let presented = headers
        .get(otklik_connectors::telegram::SECRET_HEADER)
        .and_then(|v| v.to_str().ok());
    let Some(secret) = pushed_secret(&state, &source, true) else {
        return Err(AppError::unauthorized().into());
    };
    if !otklik_connectors::telegram::verify_webhook_secret(secret, presented) {
        return Err(AppError::unauthorized().into());
    }
    let mut batch = Batch::default();
    match otklik_connectors::telegram::parse_webhook_update(&source, &body) {
        Ok(Some(post)) => batch.posts.push(post),
        Ok(None) => {
            return Ok(Json(Accepted {
                accepted: 0,
                quarantined: 0,
            }))
        }
        Err(quarantined) => batch.quarantined.push(quarantined),
    }
    Ok(Json(accept(&state, &source, batch).await?))
}
