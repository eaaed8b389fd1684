//! The versioned JSON API (`/api/v1`). Same use cases and permissions as the pages;
//! authentication by bearer token; every error is RFC 9457 `application/problem+json`
//! with a stable `code` and per-field codes.

pub mod analytics;
pub mod campaigns;
pub mod console;
pub mod discussions;
pub mod documents;
pub mod duplicates;
#[doc(hidden)]
pub mod fuzzing;
mod handlers;
pub mod idempotency;
pub mod integration;
pub mod log;
pub mod monitoring;
pub mod notifications;
pub mod oauth;
pub mod organisation;
pub mod polls;
pub mod search;
pub mod social;
pub mod templates;
mod types;

pub use handlers::{openapi, ApiDoc};

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::AppState;
pub use types::*;

/// Base64 of five 10 MiB files is ~67 MiB; leave room for the JSON around them.
pub const API_UPLOAD_LIMIT: usize = 72 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    handlers::routes()
}

/// An API error, rendered as problem+json.
#[derive(Debug)]
pub struct ApiError(pub AppError, pub Option<String>);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e, None)
    }
}

impl From<otklik_store::StoreError> for ApiError {
    fn from(e: otklik_store::StoreError) -> Self {
        Self(e.into(), None)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ApiError(e, detail) = self;
        let problem = Problem {
            problem_type: format!("/api/v1/problems/{}", e.code),
            title: crate::messages::error(e.code).to_owned(),
            status: e.status.as_u16(),
            code: e.code.to_owned(),
            detail,
            errors: e
                .fields
                .iter()
                .map(|f| ProblemField {
                    field: f.field.clone(),
                    code: f.code.to_owned(),
                    message: crate::messages::error(f.code).to_owned(),
                })
                .collect(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (
            e.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        crate::error::add_retry_after(&mut response, e.retry_after);
        if e.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"otklik\""),
            );
        }
        response
    }
}

/// A refusal because something with the same unique name exists (an e-mail address, a
/// client id, a site): the use cases, shared with the pages' forms, report it on the
/// field (422); the API says `409 Conflict`, with the same field error and the field's
/// code as the problem's code.
pub fn conflict(e: AppError) -> AppError {
    const TAKEN: &[&str] = &["email_taken", "client_id_taken", "widget_site_exists"];
    match e.fields.as_slice() {
        [field] if e.status == StatusCode::UNPROCESSABLE_ENTITY && TAKEN.contains(&field.code) => {
            AppError {
                status: StatusCode::CONFLICT,
                code: field.code,
                ..e
            }
        }
        _ => e,
    }
}

/// A JSON body whose every rejection is a problem+json with a code: `invalid_json` (400),
/// `unsupported_media_type` (415), `request_too_large` (413), `unknown_field` (422, the
/// field named in `errors`) or `invalid_body` (422, wrong types or missing fields).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "request_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        _ => "invalid_json",
    };
    let detail = match &rejection {
        JsonRejection::JsonDataError(_) | JsonRejection::JsonSyntaxError(_) => {
            Some(rejection.body_text())
        }
        _ => None,
    };
    if let Some(field) = detail.as_deref().and_then(unknown_field) {
        // `#[serde(deny_unknown_fields)]`: name the field like any other field error.
        let mut error = AppError::field(&field, "unknown_field");
        error.code = "unknown_field";
        return ApiError(error, detail);
    }
    ApiError(AppError::new(status, code), detail)
}

/// The field serde refused as unknown (its message: "unknown field `x`, expected …").
fn unknown_field(message: &str) -> Option<String> {
    let rest = &message[message.find("unknown field `")? + "unknown field `".len()..];
    Some(rest[..rest.find('`')?].to_owned())
}

/// A query string whose rejection (a value that does not fit the parameter's type, a
/// repeated parameter, a parameter without a value) is a problem+json `invalid_query`
/// (400), not axum's plain text.
/// Values that parse but are out of range are the handlers' 422 field errors.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // `?region_id=` fits no type: leave a parameter out rather than send it empty.
        let query = parts.uri.query().unwrap_or_default();
        if let Some((name, _)) =
            form_urlencoded::parse(query.as_bytes()).find(|(_, v)| v.is_empty())
        {
            return Err(ApiError(
                AppError::bad_request("invalid_query"),
                Some(format!("parameter `{name}` has no value")),
            ));
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError(
                AppError::bad_request("invalid_query"),
                Some(rejection.body_text()),
            )),
        }
    }
}

/// Path parameters whose rejection (bytes that are not UTF-8 once percent-decoded, a
/// value of the wrong type) is `404 not_found` in problem+json: a malformed id names
/// nothing, like an id that does not exist.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(_) => Err(AppError::not_found().into()),
        }
    }
}
