//! Public discussions through the API: the same use cases as the `/discussions` pages.
//! Reading a discussion and its published comments needs no account.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use otklik_domain::discussion::CommentStatus;
use otklik_domain::{CommentId, DiscussionId};
use otklik_store::{CommentPage, CommentRecord, DiscussionRecord};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::polls::phase_name;
use super::{rfc3339, ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::auth::ApiUser;
use crate::discussions::{self as usecase, CommentsCursor, DiscussionInput};
use crate::error::AppError;
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/discussions",
            get(list_discussions).post(create_discussion),
        )
        .route("/discussions/{id}", get(get_discussion))
        .route(
            "/discussions/{id}/comments",
            get(moderation_queue).post(add_comment),
        )
        .route(
            "/discussions/{id}/comments/{comment_id}/moderation",
            post(moderate_comment),
        )
        .route("/discussions/{id}/support", post(support_discussion))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_discussions, create_discussion, get_discussion, moderation_queue, add_comment,
        moderate_comment, support_discussion),
    components(schemas(DiscussionView, CommentView, DiscussionRequest, CommentRequest, CommentCreated,
        ModerationRequest, SupportRequest)),
    tags((name = "discussions", description = "Public discussions: proposals, moderated comments, support"))
)]
pub struct Doc;

#[derive(Debug, Serialize, ToSchema)]
pub struct DiscussionView {
    pub id: i64,
    pub title: String,
    pub proposal: String,
    pub organisation: Option<String>,
    pub region_id: Option<i64>,
    pub opens_at: String,
    pub closes_at: String,
    /// `upcoming`, `open` or `closed`.
    pub phase: String,
    pub support_for: u64,
    pub support_against: u64,
    pub comments_published: u64,
    /// One page of the published comments (only in a single discussion's view), oldest
    /// first.
    pub comments: Option<Vec<CommentView>>,
    /// The `after` that reads the next page of `comments`; `null` when none follows.
    pub comments_next: Option<i64>,
    /// The `before` that reads the previous page of `comments`; `null` on the first.
    pub comments_prev: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentView {
    pub id: i64,
    pub body: String,
    /// `pending`, `published` or `rejected`.
    pub status: String,
    /// Why a comment was rejected: `abusive`, `off_topic`, `personal_data`, `spam`.
    pub reason: Option<String>,
    pub created_at: String,
}

fn comment_view(c: &CommentRecord) -> CommentView {
    CommentView {
        id: c.id.0,
        body: c.body.clone(),
        status: c.status.as_str().to_owned(),
        reason: c.reason.map(|r| r.as_str().to_owned()),
        created_at: rfc3339(c.created_at),
    }
}

fn view(
    d: &DiscussionRecord,
    now: OffsetDateTime,
    comments: Option<(&CommentPage, &CommentsCursor)>,
) -> DiscussionView {
    DiscussionView {
        id: d.id.0,
        title: d.title.clone(),
        proposal: d.proposal.clone(),
        organisation: d.org_name.clone(),
        region_id: d.region.map(|r| r.0),
        opens_at: rfc3339(d.schedule.opens_at()),
        closes_at: rfc3339(d.schedule.closes_at()),
        phase: phase_name(d.schedule.phase(now)).to_owned(),
        support_for: d.support_for,
        support_against: d.support_against,
        comments_published: d.comments_published,
        comments: comments.map(|(page, _)| page.comments.iter().map(comment_view).collect()),
        comments_next: comments
            .and_then(|(page, cursor)| usecase::next_after(page, cursor))
            .map(|c| c.0),
        comments_prev: comments
            .and_then(|(page, cursor)| usecase::prev_before(page, cursor))
            .map(|c| c.0),
    }
}

fn discussion_id(raw: &str) -> Result<DiscussionId, AppError> {
    raw.parse()
        .map(DiscussionId)
        .map_err(|_| AppError::not_found())
}

/// The discussions open now.
#[utoipa::path(get, path = "/api/v1/discussions", tag = "discussions",
    responses((status = 200, body = Vec<DiscussionView>)))]
async fn list_discussions(State(state): State<AppState>) -> ApiResult<Json<Vec<DiscussionView>>> {
    let now = OffsetDateTime::now_utc();
    let found = usecase::open_discussions(&state, now).await?;
    Ok(Json(found.iter().map(|d| view(d, now, None)).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscussionRequest {
    #[schema(min_length = 3, max_length = 300)]
    pub title: String,
    #[schema(min_length = 20, max_length = 20000)]
    pub proposal: String,
    /// Local time of the region (Moscow time for all of Russia), `YYYY-MM-DDTHH:MM`.
    pub opens_at: String,
    pub closes_at: String,
    pub region_id: Option<i64>,
}

/// Opens a public discussion of a proposal (an organisation's officials and
/// administrators, the operator).
#[utoipa::path(post, path = "/api/v1/discussions", tag = "discussions", security(("bearer" = [])),
    request_body = DiscussionRequest,
    responses((status = 201, body = DiscussionView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_discussion(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(request): ApiJson<DiscussionRequest>,
) -> ApiResult<Response> {
    if user.1.is_some() {
        return Err(AppError::forbidden().into());
    }
    let now = OffsetDateTime::now_utc();
    let input = DiscussionInput {
        title: request.title,
        proposal: request.proposal,
        opens_at: request.opens_at,
        closes_at: request.closes_at,
        region: request.region_id.map(|r| r.to_string()).unwrap_or_default(),
    };
    let id = usecase::create(&state, &user.0, &input, now).await?;
    let d = state.store.discussion(id).await?;
    let comments = CommentPage::default();
    let cursor = CommentsCursor::default();
    Ok((
        StatusCode::CREATED,
        Json(view(&d, now, Some((&comments, &cursor)))),
    )
        .into_response())
}

/// Where a page of comments starts and how long it is.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommentsQuery {
    /// The id of the last comment already read (the previous page's next cursor);
    /// without it (and without `before`), from the first comment.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 9223372036854775807i64)]
    pub after: Option<String>,
    /// The id of the first comment of the page already read (its `comments_prev`): the
    /// page before it. Not with `after` (422 `after_and_before`).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 9223372036854775807i64)]
    pub before: Option<String>,
    /// Comments per page, from 1 (default 50); more than 200 reads as 200.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub limit: Option<String>,
}

/// A discussion with a page of its published comments, oldest first (no account
/// needed); `comments_next` is the `after` of the next page, `comments_prev` the
/// `before` of the previous one.
#[utoipa::path(get, path = "/api/v1/discussions/{id}", tag = "discussions",
    params(("id" = i64, Path), CommentsQuery),
    responses((status = 200, body = DiscussionView), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn get_discussion(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<CommentsQuery>,
) -> ApiResult<Json<DiscussionView>> {
    let d = state.store.discussion(discussion_id(&id)?).await?;
    let cursor = CommentsCursor::parse(
        query.after.as_deref(),
        query.before.as_deref(),
        query.limit.as_deref(),
    )?;
    let page = usecase::comments(&state, None, &d, CommentStatus::Published, cursor).await?;
    Ok(Json(view(
        &d,
        OffsetDateTime::now_utc(),
        Some((&page, &cursor)),
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// `pending` (the default), `published` or `rejected`.
    #[param(min_length = 1)]
    pub status: Option<String>,
    /// The id of the last comment already read (from the previous page's `Link`
    /// header, `rel="next"`); without it (and without `before`), from the first comment.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 9223372036854775807i64)]
    pub after: Option<String>,
    /// The id of the first comment of the page already read (from its `Link` header,
    /// `rel="prev"`): the page before it. Not with `after` (422 `after_and_before`).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 9223372036854775807i64)]
    pub before: Option<String>,
    /// Comments per page, from 1 (default 50); more than 200 reads as 200.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub limit: Option<String>,
}

/// A page of the comments in one status, oldest first, for the discussion's moderators
/// (its organisation's people, the operator). The `Link` header names the next page
/// (`rel="next"`) while more follow and the previous one (`rel="prev"`) while any
/// precede.
#[utoipa::path(get, path = "/api/v1/discussions/{id}/comments", tag = "discussions", security(("bearer" = [])),
    params(("id" = i64, Path), QueueQuery),
    responses((status = 200, body = Vec<CommentView>,
            headers(("Link" = String, description = "`<…?status=…&after=…&limit=…>; rel=\"next\"` while more comments follow, `<…?status=…&before=…&limit=…>; rel=\"prev\"` while any precede"))),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn moderation_queue(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<QueueQuery>,
) -> ApiResult<Response> {
    let d = state.store.discussion(discussion_id(&id)?).await?;
    let status = match query.status.as_deref() {
        None => CommentStatus::Pending,
        Some(raw) => CommentStatus::parse(raw)
            .ok_or_else(|| AppError::field("status", "unknown_comment_status"))?,
    };
    let cursor = CommentsCursor::parse(
        query.after.as_deref(),
        query.before.as_deref(),
        query.limit.as_deref(),
    )?;
    if user.1.is_some() || !usecase::moderates(&user.0, &d) {
        return Err(AppError::forbidden().into());
    }
    let page = usecase::comments(&state, Some(&user.0), &d, status, cursor).await?;
    let body = Json(page.comments.iter().map(comment_view).collect::<Vec<_>>());
    let base = format!("/api/v1/discussions/{}/comments", d.id.0);
    let link = |rel: &str, param: &str, at: CommentId| {
        format!(
            "<{base}?status={}&{param}={}&limit={}>; rel=\"{rel}\"",
            status.as_str(),
            at.0,
            cursor.limit
        )
    };
    let links: Vec<String> = [
        usecase::prev_before(&page, &cursor).map(|at| link("prev", "before", at)),
        usecase::next_after(&page, &cursor).map(|at| link("next", "after", at)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if links.is_empty() {
        return Ok(body.into_response());
    }
    Ok(([(header::LINK, links.join(", "))], body).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    #[schema(min_length = 3, max_length = 3000)]
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentCreated {
    pub id: i64,
    /// `pending` for a new comment (shown once a moderator publishes it); after
    /// moderation, `published` or `rejected`.
    pub status: String,
}

/// Comments on the proposal (a citizen, while the discussion is open).
#[utoipa::path(post, path = "/api/v1/discussions/{id}/comments", tag = "discussions", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = CommentRequest,
    responses((status = 201, body = CommentCreated), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn add_comment(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<CommentRequest>,
) -> ApiResult<Response> {
    let id = discussion_id(&id)?;
    if user.1.is_some() {
        return Err(AppError::forbidden().into());
    }
    let comment = usecase::comment(
        &state,
        &user.0,
        id,
        &request.body,
        OffsetDateTime::now_utc(),
    )
    .await?;
    let created = CommentCreated {
        id: comment.0,
        status: "pending".to_owned(),
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModerationRequest {
    /// `publish` or `reject`.
    pub action: String,
    /// With `reject`: `abusive`, `off_topic`, `personal_data` or `spam`.
    pub reason: Option<String>,
}

/// Publishes or rejects a comment (the discussion's moderators).
#[utoipa::path(post, path = "/api/v1/discussions/{id}/comments/{comment_id}/moderation", tag = "discussions",
    security(("bearer" = [])), params(("id" = i64, Path), ("comment_id" = i64, Path)),
    request_body = ModerationRequest,
    responses((status = 200, body = CommentCreated), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn moderate_comment(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, comment)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<ModerationRequest>,
) -> ApiResult<Json<CommentCreated>> {
    let id = discussion_id(&id)?;
    let comment = CommentId(comment.parse().map_err(|_| AppError::not_found())?);
    if user.1.is_some() {
        return Err(AppError::forbidden().into());
    }
    let action =
        usecase::parse_moderation(&request.action, request.reason.as_deref().unwrap_or(""))?;
    let d = state.store.discussion(id).await?;
    if !usecase::moderates(&user.0, &d) {
        return Err(AppError::forbidden().into());
    }
    let status = usecase::moderate(
        &state,
        &user.0,
        id,
        comment,
        &action,
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok(Json(CommentCreated {
        id: comment.0,
        status: status.as_str().to_owned(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportRequest {
    /// `for` or `against`.
    pub stance: String,
}

/// Says whether the caller supports the proposal: once per person, while it is open.
#[utoipa::path(post, path = "/api/v1/discussions/{id}/support", tag = "discussions", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = SupportRequest,
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn support_discussion(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<SupportRequest>,
) -> ApiResult<StatusCode> {
    let id = discussion_id(&id)?;
    if user.1.is_some() {
        return Err(AppError::forbidden().into());
    }
    usecase::support(
        &state,
        &user.0,
        id,
        &request.stance,
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
