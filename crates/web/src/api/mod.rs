//! The versioned JSON API (`/api/v1`). Same use cases and permissions as the pages;
//! authentication by bearer token; every error is RFC 9457 `application/problem+json`
//! with a stable `code` and per-field codes.

pub mod console;
mod handlers;
pub mod log;
pub mod monitoring;
pub mod oauth;
pub mod organisation;
mod types;

pub use handlers::ApiDoc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
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

/// A JSON body whose every rejection is a problem+json with a code.
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
    ApiError(AppError::new(status, code), detail)
}
