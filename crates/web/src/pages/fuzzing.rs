//! Entry points for the fuzz targets (`fuzz/`, bodies in `crates/fuzzing`): the pages'
//! form decoding, which is otherwise private to the handlers. Not an API.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use otklik_domain::lifecycle::Role;
use otklik_domain::ValidationErrors;
use otklik_store::NotificationSettings;

pub use super::forms::FormData;
use crate::error::AppError;

/// A multipart body read as the pages read it: axum's `Multipart` extractor on a request
/// with this `Content-Type`, then `read_multipart` (the submission, action, widget and
/// document forms all go through it).
pub async fn read_multipart_body(content_type: &str, body: Vec<u8>) -> Result<FormData, AppError> {
    let request = Request::builder()
        .method("POST")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .map_err(|_| AppError::bad_request("invalid_form"))?;
    let multipart = Multipart::from_request(request, &())
        .await
        .map_err(|_| AppError::bad_request("invalid_form"))?;
    super::forms::read_multipart(multipart).await
}

/// The notification settings form's pairs read as `settings_save` reads them for a
/// person in `role`.
pub fn notification_settings(
    fields: &[(String, String)],
    role: Role,
) -> Result<NotificationSettings, ValidationErrors> {
    super::notifications::parse_settings(fields, &super::notifications::kinds_for(role))
}
