//! An official's answer templates through the API (the same use cases as the
//! `/templates` page and the submission page's suggestions).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use otklik_domain::SubmissionId;
use otklik_store::AnswerTemplateRecord;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{OpenApi, ToSchema};

use super::{rfc3339, ApiError, ApiJson, ApiPath, Problem};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::templates::{self as usecase, TemplateInput};
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/answer-templates",
            get(list_answer_templates).post(create_answer_template),
        )
        .route(
            "/answer-templates/{id}",
            put(update_answer_template).delete(archive_answer_template_op),
        )
        .route(
            "/submissions/{id}/answer-templates",
            get(suggested_answer_templates),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(list_answer_templates, create_answer_template, update_answer_template, archive_answer_template_op, suggested_answer_templates),
    components(schemas(TemplateView, TemplateRequest, SuggestionView)),
    tags((name = "answer-templates", description = "An organisation's prepared answers with placeholders"))
)]
pub struct Doc;

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub id: i64,
    /// `None`: for any category.
    pub category_id: Option<i64>,
    pub title: String,
    /// With placeholders: `{{ number }}`, `{{ date }}`, `{{ citizen }}`, `{{ organisation }}`, `{{ subcategory }}`.
    pub body: String,
    pub uses: u64,
    pub updated_at: String,
}

fn view(t: &AnswerTemplateRecord) -> TemplateView {
    TemplateView {
        id: t.id,
        category_id: t.category.map(|c| c.0),
        title: t.title.clone(),
        body: t.body.clone(),
        uses: t.uses,
        updated_at: rfc3339(t.updated_at),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    #[schema(min_length = 3, max_length = 200)]
    pub title: String,
    #[schema(min_length = 10, max_length = 10000)]
    pub body: String,
    /// A category's id; absent: for any category.
    pub category_id: Option<i64>,
}

impl TemplateRequest {
    pub(crate) fn input(&self) -> TemplateInput {
        TemplateInput {
            title: self.title.clone(),
            body: self.body.clone(),
            category: self.category_id.map(|c| c.to_string()).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionView {
    pub template: TemplateView,
    /// The body filled from the submission.
    pub text: String,
}

fn template_id(raw: &str) -> Result<i64, AppError> {
    raw.parse().map_err(|_| AppError::not_found())
}

/// The organisation's templates (its officials).
#[utoipa::path(get, path = "/api/v1/answer-templates", tag = "answer-templates", security(("bearer" = [])),
    responses((status = 200, body = Vec<TemplateView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_answer_templates(
    State(state): State<AppState>,
    user: ApiUser,
) -> ApiResult<Json<Vec<TemplateView>>> {
    let org = usecase::org_of(&user.0)?;
    let all = state.store.answer_templates(org).await?;
    Ok(Json(all.iter().map(view).collect()))
}

async fn saved(
    state: &AppState,
    user: &ApiUser,
    id: i64,
    status: StatusCode,
) -> ApiResult<Response> {
    let org = usecase::org_of(&user.0)?;
    let template = state.store.answer_template(org, id).await?;
    Ok((status, Json(view(&template))).into_response())
}

/// Creates a template.
#[utoipa::path(post, path = "/api/v1/answer-templates", tag = "answer-templates", security(("bearer" = [])),
    request_body = TemplateRequest,
    responses((status = 201, body = TemplateView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_answer_template(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(request): ApiJson<TemplateRequest>,
) -> ApiResult<Response> {
    usecase::org_of(&user.0)?;
    let id = usecase::save(
        &state,
        &user.0,
        None,
        &request.input(),
        OffsetDateTime::now_utc(),
    )
    .await?;
    saved(&state, &user, id, StatusCode::CREATED).await
}

/// Replaces one of the organisation's templates.
#[utoipa::path(put, path = "/api/v1/answer-templates/{id}", tag = "answer-templates", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = TemplateRequest,
    responses((status = 200, body = TemplateView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_answer_template(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<TemplateRequest>,
) -> ApiResult<Response> {
    usecase::org_of(&user.0)?;
    let id = template_id(&id)?;
    usecase::save(
        &state,
        &user.0,
        Some(id),
        &request.input(),
        OffsetDateTime::now_utc(),
    )
    .await?;
    saved(&state, &user, id, StatusCode::OK).await
}

/// Archives a template: it is no longer listed or suggested.
#[utoipa::path(delete, path = "/api/v1/answer-templates/{id}", tag = "answer-templates", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn archive_answer_template_op(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let org = usecase::org_of(&user.0)?;
    state
        .store
        .archive_answer_template(org, template_id(&id)?, OffsetDateTime::now_utc())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The templates that fit a submission the caller's organisation holds, filled from it:
/// its category's first, then those for any category, the most used first.
#[utoipa::path(get, path = "/api/v1/submissions/{id}/answer-templates", tag = "answer-templates", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<SuggestionView>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn suggested_answer_templates(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<SuggestionView>>> {
    let id = id.parse::<i64>().map_err(|_| AppError::not_found())?;
    let found = usecase::suggestions(&state, &user.0, SubmissionId(id)).await?;
    Ok(Json(
        found
            .iter()
            .map(|(t, text)| SuggestionView {
                template: view(t),
                text: text.clone(),
            })
            .collect(),
    ))
}
