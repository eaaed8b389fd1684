//! Duplicates and public messages through the API: the same use cases as the pages
//! (`pages/duplicates.rs`): suggestions of public messages like a text, public messages
//! and following them, the author's choice of visibility, and an organisation's
//! officials merging duplicates (likely ones found by the search index).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use otklik_domain::lifecycle::Role;
use otklik_domain::{SubcategoryId, SubmissionId};
use otklik_store::PublicSubmission;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{OpenApi, ToSchema};

use super::types::whole;
use super::{rfc3339, ApiError, ApiJson, ApiPath, Problem};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// The longest text `similar` reads (a submission's own limit).
const MAX_TEXT_CHARS: usize = 5_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/similar-submissions", post(similar_submissions))
        .route("/public-submissions/{id}", get(public_submission))
        .route(
            "/public-submissions/{id}/follow",
            put(follow_submission).delete(unfollow_submission),
        )
        .route("/follows", get(followed_submissions))
        .route("/submissions/{id}/visibility", put(set_visibility))
        .route(
            "/submissions/{id}/duplicates",
            get(likely_duplicates).post(merge_duplicate),
        )
        .route(
            "/submissions/{id}/duplicates/{duplicate}",
            axum::routing::delete(separate_duplicate),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(similar_submissions, public_submission, follow_submission, unfollow_submission,
        followed_submissions, set_visibility, likely_duplicates, merge_duplicate, separate_duplicate),
    components(schemas(SimilarRequest, PublicSubmissionView, PublicAnswerView, PublicList,
        VisibilityRequest, MergeRequest, CandidateView)),
    tags((name = "duplicates", description = "Public messages, following them, and merging duplicates so that one answer reaches every author"))
)]
pub struct Doc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimilarRequest {
    #[serde(default, deserialize_with = "whole")]
    #[schema(required, value_type = i64)]
    pub subcategory_id: Option<i64>,
    #[serde(default, deserialize_with = "whole")]
    pub region_id: Option<i64>,
    #[serde(default, deserialize_with = "whole")]
    pub municipality_id: Option<i64>,
    /// What the citizen is writing.
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub text: String,
}

/// A public message as anyone sees it: no author, no form fields, no files.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicSubmissionView {
    pub id: i64,
    pub number: String,
    pub status: String,
    pub category: String,
    pub subcategory_id: i64,
    pub subcategory: String,
    /// The region, and the municipality when named.
    pub place: String,
    pub organisation: String,
    pub text: String,
    pub created_at: String,
    pub answer: Option<PublicAnswerView>,
    pub followers: u64,
    /// How many duplicates are merged into it now.
    pub duplicates: u64,
    /// Its public page.
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicAnswerView {
    pub text: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicList {
    pub items: Vec<PublicSubmissionView>,
}

fn public_view(p: &PublicSubmission) -> PublicSubmissionView {
    PublicSubmissionView {
        id: p.id.0,
        number: p.number.to_string(),
        status: p.status.as_str().to_owned(),
        category: p.category_name.clone(),
        subcategory_id: p.subcategory.0,
        subcategory: p.subcategory_name.clone(),
        place: p.place(),
        organisation: p.org_name.clone(),
        text: p.text.clone(),
        created_at: rfc3339(p.created_at),
        answer: p.answer.as_ref().map(|(text, at)| PublicAnswerView {
            text: text.clone(),
            at: rfc3339(*at),
        }),
        followers: p.followers,
        duplicates: p.duplicates,
        url: format!("/public/{}", p.id),
    }
}

fn id_of(raw: &str) -> Result<SubmissionId, AppError> {
    raw.parse()
        .map(SubmissionId)
        .map_err(|_| AppError::not_found())
}

/// Public messages of the subcategory in the region (and municipality) whose text is
/// like the one given, best first: what to follow instead of reporting again.
#[utoipa::path(post, path = "/api/v1/similar-submissions", tag = "duplicates", security(("bearer" = [])),
    request_body = SimilarRequest,
    responses((status = 200, body = PublicList), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn similar_submissions(
    State(state): State<AppState>,
    _user: ApiUser,
    ApiJson(request): ApiJson<SimilarRequest>,
) -> ApiResult<Json<PublicList>> {
    let Some(subcategory) = request.subcategory_id else {
        return Err(AppError::field("subcategory_id", "required").into());
    };
    if request.text.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::field("text", "too_long").into());
    }
    let subcategory = SubcategoryId(subcategory);
    state.store.subcategory(subcategory).await?;
    let input = crate::usecases::SubmitInput {
        text: request.text,
        region: request.region_id.map(|r| r.to_string()).unwrap_or_default(),
        municipality: request
            .municipality_id
            .map(|m| m.to_string())
            .unwrap_or_default(),
        ..Default::default()
    };
    let found = crate::pages::duplicates::similar_ids(&state, subcategory, &input).await?;
    let items = state.store.public_submissions(&found).await?;
    Ok(Json(PublicList {
        items: items.iter().map(public_view).collect(),
    }))
}

/// A public message; anyone may read it, without signing in.
#[utoipa::path(get, path = "/api/v1/public-submissions/{id}", tag = "duplicates", params(("id" = i64, Path)),
    responses((status = 200, body = PublicSubmissionView), (status = 404, body = Problem)))]
async fn public_submission(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PublicSubmissionView>> {
    let id = id_of(&id)?;
    let found = state.store.public_submissions(&[id]).await?;
    let first = found.first().ok_or_else(AppError::not_found)?;
    Ok(Json(public_view(first)))
}

/// Follow a public message: it is listed in `/api/v1/follows` and the personal account.
#[utoipa::path(put, path = "/api/v1/public-submissions/{id}/follow", tag = "duplicates", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn follow_submission(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    following(&state, &user, &id, true).await
}

/// Stop following a public message.
#[utoipa::path(delete, path = "/api/v1/public-submissions/{id}/follow", tag = "duplicates", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn unfollow_submission(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    following(&state, &user, &id, false).await
}

async fn following(state: &AppState, user: &ApiUser, id: &str, on: bool) -> ApiResult<StatusCode> {
    let id = id_of(id)?;
    state
        .store
        .follow(user.0.id, id, on, OffsetDateTime::now_utc())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The public messages the caller follows, most recently followed first.
#[utoipa::path(get, path = "/api/v1/follows", tag = "duplicates", security(("bearer" = [])),
    responses((status = 200, body = PublicList), (status = 401, body = Problem)))]
async fn followed_submissions(
    State(state): State<AppState>,
    user: ApiUser,
) -> ApiResult<Json<PublicList>> {
    let items = state.store.followed(user.0.id).await?;
    Ok(Json(PublicList {
        items: items.iter().map(public_view).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisibilityRequest {
    /// Let other citizens see the message (messages only).
    #[serde(default)]
    #[schema(required, value_type = bool)]
    pub public: Option<bool>,
}

/// The author shows their message to other citizens, or hides it again.
#[utoipa::path(put, path = "/api/v1/submissions/{id}/visibility", tag = "duplicates", params(("id" = i64, Path)),
    security(("bearer" = [])), request_body = VisibilityRequest,
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_visibility(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<VisibilityRequest>,
) -> ApiResult<StatusCode> {
    let id = id_of(&id)?;
    let Some(public) = request.public else {
        return Err(AppError::field("public", "required").into());
    };
    state
        .store
        .set_public(id, user.actor(), public, OffsetDateTime::now_utc())
        .await
        .map_err(|e| match e {
            otklik_store::StoreError::InvalidReference(code) => AppError::field("public", code),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// A likely duplicate of a submission: an open submission of the same organisation,
/// category and region with a similar text.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateView {
    pub id: i64,
    pub title: String,
    /// An extract with the matching words in `<mark>` (HTML-escaped).
    pub snippet_html: String,
}

/// Officials and coordinators only (asked after the submission is found visible, so
/// that those who may not see it get 404, as everywhere).
fn merger(user: &ApiUser) -> Result<(), AppError> {
    match user.0.role {
        Role::Official(_) | Role::Coordinator(_) => Ok(()),
        _ => Err(AppError::forbidden()),
    }
}

/// Likely duplicates of a submission the caller could merge into it, best first.
#[utoipa::path(get, path = "/api/v1/submissions/{id}/duplicates", tag = "duplicates", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<CandidateView>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn likely_duplicates(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<CandidateView>>> {
    let id = id_of(&id)?;
    // The card's own fields only (no author's contact): not a read of personal data.
    let detail = state.store.submission(id, user.actor()).await?;
    merger(&user)?;
    let found = crate::pages::duplicates::candidates(&state, &detail).await?;
    Ok(Json(
        found
            .into_iter()
            .map(|c| CandidateView {
                id: c.id,
                title: c.title,
                snippet_html: c.snippet_html,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The submission that becomes a duplicate of this one.
    #[serde(default, deserialize_with = "whole")]
    #[schema(required, value_type = i64)]
    pub duplicate_id: Option<i64>,
}

/// Merges a duplicate into this submission: its taking into work and answers reach the
/// duplicate too, whose author keeps their own history and rating.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/duplicates", tag = "duplicates", params(("id" = i64, Path)),
    security(("bearer" = [])), request_body = MergeRequest,
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn merge_duplicate(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<MergeRequest>,
) -> ApiResult<StatusCode> {
    let primary = id_of(&id)?;
    let Some(duplicate) = request.duplicate_id else {
        return Err(AppError::field("duplicate_id", "required").into());
    };
    state
        .store
        .merge_submissions(
            primary,
            SubmissionId(duplicate),
            user.actor(),
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Separates a duplicate from this submission: it is handled on its own again.
#[utoipa::path(delete, path = "/api/v1/submissions/{id}/duplicates/{duplicate}", tag = "duplicates",
    params(("id" = i64, Path), ("duplicate" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn separate_duplicate(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, duplicate)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let primary = id_of(&id)?;
    let duplicate = id_of(&duplicate)?;
    let detail = state.store.submission(duplicate, user.actor()).await?;
    merger(&user)?;
    if detail.merged_into.map(|r| r.id) != Some(primary) {
        return Err(AppError::not_found().into());
    }
    state
        .store
        .unmerge_submission(duplicate, user.actor(), OffsetDateTime::now_utc())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
