//! The transparency log's public API: tree heads, proofs and leaves for anyone, and the
//! receipts of a submission for those who may see it.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use otklik_domain::SubmissionId;
use otklik_log::encode_hash;
use serde::Serialize;
use utoipa::ToSchema;

use super::types::rfc3339;
use super::{ApiError, ApiPath, ApiQuery};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// The most leaves one request returns.
pub const MAX_LEAVES: u32 = 1_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/log", get(info))
        .route("/log/tree-head", get(latest_tree_head))
        .route("/log/tree-head/{size}", get(tree_head))
        .route("/log/proof/inclusion", get(inclusion))
        .route("/log/proof/consistency", get(consistency))
        .route("/log/leaves", get(leaves))
        .route("/submissions/{id}/receipts", get(receipts))
        .route("/submissions/{id}/receipts/{index}", get(receipt))
}

/// A signed tree head: `{"version":1,"alg","size","root","timestamp_ms","key_id",
/// "public_key","signature"}`, hashes, key and signature in base64.
#[derive(Debug, Serialize, ToSchema)]
pub struct TreeHeadView {
    pub version: u32,
    pub alg: String,
    pub size: u64,
    pub root: String,
    pub timestamp_ms: u64,
    pub key_id: String,
    pub public_key: String,
    pub signature: String,
}

#[derive(Serialize, ToSchema)]
pub struct LogInfoView {
    pub alg: String,
    /// Leaves appended so far (the newest may not be signed yet).
    pub size: u64,
    pub root: String,
    pub latest_tree_head: Option<TreeHeadView>,
}

#[derive(Serialize, ToSchema)]
pub struct InclusionView {
    pub alg: String,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    pub proof: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsistencyView {
    pub alg: String,
    pub first: u64,
    pub second: u64,
    pub proof: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LeafView {
    pub index: u64,
    /// Base64 of the leaf's canonical bytes (see docs/TRANSPARENCY_LOG.md).
    pub data: String,
    pub leaf_hash: String,
}

#[derive(Serialize, ToSchema)]
pub struct LeavesView {
    pub leaves: Vec<LeafView>,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptEntryView {
    pub index: u64,
    pub kind: String,
    pub at: String,
    /// A signed tree head covers the leaf: its receipt can be downloaded.
    pub signed: bool,
    pub receipt_url: String,
}

pub fn tree_head_view(head: &otklik_log::SignedTreeHead) -> TreeHeadView {
    TreeHeadView {
        version: otklik_log::WIRE_VERSION,
        alg: head.head.alg.as_str().to_owned(),
        size: head.head.size,
        root: encode_hash(&head.head.root),
        timestamp_ms: head.head.timestamp_ms,
        key_id: head.key_id.clone(),
        public_key: otklik_log::encode_b64(&head.public_key),
        signature: otklik_log::encode_b64(&head.signature),
    }
}

/// A non-negative integer parameter; `invalid_parameter` otherwise.
fn number(query: &HashMap<String, String>, name: &str) -> Result<u64, AppError> {
    query
        .get(name)
        .ok_or_else(|| AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "missing_parameter"))?
        .parse::<u64>()
        .map_err(|_| AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter"))
}

/// The log's size and root now, with the latest signed tree head.
#[utoipa::path(get, path = "/api/v1/log", tag = "log", responses((status = 200, body = LogInfoView)))]
async fn info(State(state): State<AppState>) -> ApiResult<Json<LogInfoView>> {
    let info = state.store.log_info().await?;
    let head = state.store.latest_tree_head().await?;
    Ok(Json(LogInfoView {
        alg: info.alg.as_str().to_owned(),
        size: info.size,
        root: encode_hash(&info.root),
        latest_tree_head: head.as_ref().map(tree_head_view),
    }))
}

/// The latest signed tree head; 404 `no_tree_head` before the first.
#[utoipa::path(get, path = "/api/v1/log/tree-head", tag = "log",
    responses((status = 200, body = TreeHeadView), (status = 404, body = super::types::Problem)))]
async fn latest_tree_head(State(state): State<AppState>) -> ApiResult<Json<TreeHeadView>> {
    let head = state
        .store
        .latest_tree_head()
        .await?
        .ok_or_else(|| AppError::new(StatusCode::NOT_FOUND, "no_tree_head"))?;
    Ok(Json(tree_head_view(&head)))
}

/// The signed tree head of exactly this size (heads are kept forever).
#[utoipa::path(get, path = "/api/v1/log/tree-head/{size}", tag = "log",
    params(("size" = u64, Path, description = "tree size")),
    responses((status = 200, body = TreeHeadView), (status = 404, body = super::types::Problem)))]
async fn tree_head(
    State(state): State<AppState>,
    ApiPath(size): ApiPath<String>,
) -> ApiResult<Json<TreeHeadView>> {
    let size = size.parse::<u64>().map_err(|_| AppError::not_found())?;
    let head = state.store.tree_head(size).await?;
    Ok(Json(tree_head_view(&head)))
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3).
#[utoipa::path(get, path = "/api/v1/log/proof/inclusion", tag = "log",
    params(("index" = u64, Query, minimum = 0, description = "leaf index"), ("size" = u64, Query, minimum = 0, description = "tree size")),
    responses((status = 200, body = InclusionView), (status = 422, body = super::types::Problem)))]
async fn inclusion(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
) -> ApiResult<Json<InclusionView>> {
    let index = number(&query, "index")?;
    let size = number(&query, "size")?;
    let proof = state.store.inclusion_proof(index, size).await?;
    Ok(Json(InclusionView {
        alg: proof.alg.as_str().to_owned(),
        leaf_index: proof.leaf_index,
        tree_size: proof.tree_size,
        leaf_hash: encode_hash(&proof.leaf_hash),
        proof: proof.proof.iter().map(encode_hash).collect(),
    }))
}

/// The consistency proof between the trees of `first` and `second` leaves
/// (RFC 9162 §2.1.4); `0 < first <= second <= size`.
#[utoipa::path(get, path = "/api/v1/log/proof/consistency", tag = "log",
    params(("first" = u64, Query, minimum = 0, description = "older size"), ("second" = u64, Query, minimum = 0, description = "newer size")),
    responses((status = 200, body = ConsistencyView), (status = 422, body = super::types::Problem)))]
async fn consistency(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
) -> ApiResult<Json<ConsistencyView>> {
    let first = number(&query, "first")?;
    let second = number(&query, "second")?;
    let proof = state.store.consistency_proof(first, second).await?;
    let info = state.store.log_info().await?;
    Ok(Json(ConsistencyView {
        alg: info.alg.as_str().to_owned(),
        first,
        second,
        proof: proof.iter().map(encode_hash).collect(),
    }))
}

/// Leaves from `start`, at most `count` (≤ 1000), for auditors who recompute the tree.
#[utoipa::path(get, path = "/api/v1/log/leaves", tag = "log",
    params(("start" = u64, Query, minimum = 0, description = "first index"), ("count" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "how many, ≤ 1000 (default 100)")),
    responses((status = 200, body = LeavesView), (status = 422, body = super::types::Problem)))]
async fn leaves(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
) -> ApiResult<Json<LeavesView>> {
    let start = number(&query, "start")?;
    let count = match query.get("count") {
        None => 100,
        Some(_) => u32::try_from(number(&query, "count")?)
            .ok()
            .filter(|c| (1..=MAX_LEAVES).contains(c))
            .ok_or_else(|| AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter"))?,
    };
    let leaves = state.store.leaves(start, count).await?;
    Ok(Json(LeavesView {
        leaves: leaves
            .into_iter()
            .map(|leaf| LeafView {
                index: leaf.index,
                data: otklik_log::encode_b64(&leaf.data),
                leaf_hash: encode_hash(&leaf.leaf_hash),
            })
            .collect(),
    }))
}

fn submission_id(raw: &str) -> Result<SubmissionId, AppError> {
    raw.parse::<i64>()
        .map(SubmissionId)
        .map_err(|_| AppError::not_found())
}

/// The log leaves of a submission, each with its receipt's address.
#[utoipa::path(get, path = "/api/v1/submissions/{id}/receipts", tag = "log", security(("bearer" = [])),
    params(("id" = i64, Path, description = "submission id")),
    responses((status = 200, body = Vec<ReceiptEntryView>), (status = 403, body = super::types::Problem), (status = 404, body = super::types::Problem)))]
async fn receipts(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<ReceiptEntryView>>> {
    let id = submission_id(&id)?;
    otklik_domain::access::read_submissions(&user.principal()).map_err(AppError::from)?;
    let entries = state.store.receipts(id, user.actor()).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| ReceiptEntryView {
                receipt_url: format!("/api/v1/submissions/{}/receipts/{}", id.0, e.index),
                index: e.index,
                kind: e.kind,
                at: rfc3339(e.at),
                signed: e.signed,
            })
            .collect(),
    ))
}

/// A receipt: the leaf, the latest signed tree head and the inclusion proof; for the
/// author also the salt and words behind the leaf's commitment. 409 `receipt_pending`
/// until a tree head covers the leaf. Check it with `otklik log verify-receipt`.
#[utoipa::path(get, path = "/api/v1/submissions/{id}/receipts/{index}", tag = "log", security(("bearer" = [])),
    params(("id" = i64, Path, description = "submission id"), ("index" = u64, Path, description = "leaf index")),
    responses((status = 200, description = "The receipt (see docs/TRANSPARENCY_LOG.md), as a download", body = ReceiptSchema),
        (status = 403, body = super::types::Problem), (status = 404, body = super::types::Problem),
        (status = 409, body = super::types::Problem)))]
async fn receipt(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, index)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let id = submission_id(&id)?;
    let index = index.parse::<u64>().map_err(|_| AppError::not_found())?;
    otklik_domain::access::read_submissions(&user.principal()).map_err(AppError::from)?;
    let receipt = state.store.receipt(id, index, user.actor()).await?;
    Ok(receipt_response(&receipt, id, index))
}

/// A receipt as a JSON download.
pub fn receipt_response(
    receipt: &otklik_store::CitizenReceipt,
    id: SubmissionId,
    index: u64,
) -> Response {
    let body = serde_json::to_string_pretty(receipt).unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"otklik-receipt-{}-{index}.json\"",
                    id.0
                ),
            ),
        ],
        body,
    )
        .into_response()
}

super::types::text_schema!(
    /// A receipt: the leaf, the signed tree head and the inclusion proof (and, for the
    /// author, what the leaf's commitment hides), checked by `otklik log verify-receipt`.
    ReceiptSchema,
    "Receipt",
    {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "The format is described in docs/TRANSPARENCY_LOG.md; `otklik log \
                 verify-receipt` checks it offline.",
            ))
            .build()
            .into()
    }
);
