//! Full-text search through the API: the same use case and access policy as the
//! `/search` page (`crate::search`).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{ApiError, ApiQuery, Problem};
use crate::auth::ApiUser;
use crate::search::{self, SearchParams};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/search", get(search_api))
}

#[derive(OpenApi)]
#[openapi(
    paths(search_api),
    components(schemas(SearchResponse, HitView, FacetCount)),
    tags((name = "search", description = "Full-text search in Russian over submissions, answers, register incidents, social-media incidents and posts, within what the caller may read"))
)]
pub struct Doc;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Words in any form (Russian stemming), `"a phrase"`, `prefix*`; at most 500 characters.
    #[param(min_length = 1, max_length = 500)]
    pub q: Option<String>,
    /// `submission`, `answer`, `incident` (a register incident: staff only), `social` (a
    /// social-media incident) or `post` (a social-media post).
    #[param(min_length = 1)]
    pub kind: Option<String>,
    /// A submission status (`registered`, `in_progress`, `answered`, …); an incident's
    /// `open` or `resolved`; a social-media incident's `open`, `answered`, `dismissed` or
    /// `merged`.
    #[param(min_length = 1)]
    pub status: Option<String>,
    pub category: Option<i64>,
    pub region: Option<i64>,
    pub org: Option<i64>,
    /// `portal`, `widget`, `api` or `open311`; `social` (social-media incidents); a post's
    /// platform: `vk`, `telegram`, `rss` or `webhook`.
    #[param(min_length = 1)]
    pub channel: Option<String>,
    /// `YYYY-MM-DD`, Moscow time, inclusive.
    #[param(min_length = 1)]
    pub from: Option<String>,
    #[param(min_length = 1)]
    pub to: Option<String>,
    /// `relevance` (default) or `newest`.
    #[param(min_length = 1)]
    pub sort: Option<String>,
    /// From 1; 20 results a page, at most 10 000 results deep.
    #[param(minimum = 1, maximum = 501)]
    pub page: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HitView {
    pub key: String,
    /// `submission`, `answer`, `incident`, `social` or `post`; the key is `{kind}:{id}`
    /// (an answer's id is its event's).
    pub kind: &'static str,
    pub submission_id: Option<i64>,
    /// A post's social-media incident, or the one a register incident is about.
    pub social_incident_id: Option<i64>,
    pub title: String,
    pub created_at: String,
    /// The text around the matches, HTML-escaped, the matches in `<mark>`.
    pub snippet_html: String,
    pub score: f32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    pub total: u64,
    /// No exact match: the words were matched allowing a typo.
    pub fuzzy: bool,
    pub took_ms: f64,
    pub hits: Vec<HitView>,
    /// Counts over all matches, per field: `kind`, `status`, `category`, `region`, `org`, `channel`.
    #[schema(value_type = Object)]
    pub facets: std::collections::BTreeMap<&'static str, Vec<FacetCount>>,
}

fn counts<T: ToString>(values: Vec<(T, u64)>) -> Vec<FacetCount> {
    values
        .into_iter()
        .map(|(v, count)| FacetCount {
            value: v.to_string(),
            count,
        })
        .collect()
}

/// Searches what the caller may read: a citizen their own submissions, an official (or an
/// integration client with the read scope) their organisation's, a coordinator their
/// region's, the operator everything.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", security(("bearer" = [])),
    params(Params),
    responses((status = 200, body = SearchResponse), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn search_api(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(params): ApiQuery<Params>,
) -> Result<Json<SearchResponse>, ApiError> {
    let params = SearchParams {
        q: params.q,
        kind: params.kind,
        status: params.status,
        category: params.category,
        region: params.region,
        org: params.org,
        channel: params.channel,
        from: params.from,
        to: params.to,
        sort: params.sort,
        page: params.page,
    };
    let results = search::run(&state, &user.principal(), &params).await?;
    let f = results.facets;
    let facets = [
        ("kind", counts(f.kind)),
        ("status", counts(f.status)),
        ("category", counts(f.category)),
        ("region", counts(f.region)),
        ("org", counts(f.org)),
        ("channel", counts(f.channel)),
    ]
    .into_iter()
    .collect();
    Ok(Json(SearchResponse {
        total: results.total,
        fuzzy: results.fuzzy,
        took_ms: results.took_ms,
        hits: results
            .hits
            .into_iter()
            .map(|h| HitView {
                kind: h.kind.as_str(),
                submission_id: h.submission,
                social_incident_id: h.parent,
                created_at: time::OffsetDateTime::from_unix_timestamp(h.created_at)
                    .map(super::rfc3339)
                    .unwrap_or_default(),
                key: h.key,
                title: h.title,
                snippet_html: h.snippet_html,
                score: h.score,
            })
            .collect(),
        facets,
    }))
}
