//! `Idempotency-Key` on state-changing API calls (the inbound half of integrations: an
//! organisation's system posting status changes, answers and redirects may retry).
//!
//! For an authenticated caller, the first call with a key runs and its answer (any
//! status below 500 except 429) is kept for a day; a repeat of the same request (method,
//! path, query, content type and body) gets that answer again with `Idempotent-Replayed:
//! true` and changes nothing; the same key with another request is refused
//! (`idempotency_key_reused`, 422), and a repeat while the first is still running waits
//! for nothing (`idempotency_key_in_progress`, 409). Answers worth retrying (5xx, 429)
//! are not kept. Calls without the header, or that are not authenticated, pass through.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use otklik_store::{IdempotencyBegin, StoredResponse};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{ApiError, API_UPLOAD_LIMIT};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

pub const HEADER: &str = "idempotency-key";

/// Marks an answer that carries a secret shown once (a first password, a client secret,
/// a token): it is never kept for replay, so no copy of the secret rests in the database.
/// A repeat of such a call runs again and gets the domain's own answer (409 for a taken
/// name, a new token for a login).
#[derive(Debug, Clone, Copy)]
pub struct NoReplay;

/// Adds [`NoReplay`] to a response.
pub fn no_replay(mut response: Response) -> Response {
    response.extensions_mut().insert(NoReplay);
    response
}
pub const REPLAYED: &str = "idempotent-replayed";

/// A key: 1 to 255 visible ASCII characters.
fn parse_key(value: &HeaderValue) -> Option<String> {
    let key = value.to_str().ok()?.trim();
    (!key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| key.to_owned())
}

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(raw_key) = request.headers().get(HEADER).cloned() else {
        return next.run(request).await;
    };
    if !matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return next.run(request).await;
    }
    let Some(key) = parse_key(&raw_key) else {
        return ApiError(
            AppError::bad_request("invalid_idempotency_key"),
            Some("Idempotency-Key: 1 to 255 visible ASCII characters".to_owned()),
        )
        .into_response();
    };
    let (mut parts, body) = request.into_parts();
    let Ok(user) = ApiUser::from_request_parts(&mut parts, &state).await else {
        // Not authenticated: the handler answers 401 itself.
        return next.run(Request::from_parts(parts, body)).await;
    };
    let principal = user.0.id;
    let Ok(bytes) = axum::body::to_bytes(body, API_UPLOAD_LIMIT).await else {
        return ApiError::from(AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
        ))
        .into_response();
    };
    let digest = request_digest(&parts, &bytes);
    let store = state.store.as_ref();
    let begun = store
        .begin_idempotent(principal, &key, &digest, OffsetDateTime::now_utc())
        .await;
    match begun {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(IdempotencyBegin::Replay(stored)) => return replay(stored),
        Ok(IdempotencyBegin::InProgress) => {
            return ApiError::from(AppError::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_progress",
            ))
            .into_response()
        }
        Ok(IdempotencyBegin::Mismatch) => {
            return ApiError::from(AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
            ))
            .into_response()
        }
        Ok(IdempotencyBegin::Fresh) => {}
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status();
    let secret = response.extensions().get::<NoReplay>().is_some();
    if secret || status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        if let Err(e) = store.abandon_idempotent(principal, &key).await {
            tracing::warn!(code = e.code(), "cannot release an idempotency key: {e}");
        }
        return response;
    }
    let (head, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let stored = StoredResponse {
        status: status.as_u16(),
        content_type: head
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        location: head
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.to_vec(),
    };
    if let Err(e) = store.finish_idempotent(principal, &key, &stored).await {
        // The action is done and durable; only its replay copy is missing, so a retry
        // would run it again and get the domain's own refusal (a 409) at worst.
        tracing::warn!(code = e.code(), "cannot keep an idempotent answer: {e}");
    }
    Response::from_parts(head, Body::from(body))
}

fn request_digest(parts: &axum::http::request::Parts, body: &Bytes) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b"\n");
    hasher.update(parts.uri.path().as_bytes());
    hasher.update(b"\n");
    hasher.update(parts.uri.query().unwrap_or_default().as_bytes());
    hasher.update(b"\n");
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    hasher.update(content_type);
    hasher.update(b"\n");
    hasher.update(body);
    hasher.finalize().into()
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    if let Some(value) = stored
        .content_type
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Some(value) = stored.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
