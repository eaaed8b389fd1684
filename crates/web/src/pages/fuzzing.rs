//! Entry points for the fuzz targets (`fuzz/`, bodies in `crates/fuzzing`): the pages'
//! form decoding, which is otherwise private to the handlers. Not an API.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use axum::Form;
use otklik_domain::access::ApiScope;
use otklik_domain::calendar::CalendarEntry;
use otklik_domain::lifecycle::Role;
use otklik_domain::poll::{CheckedBallot, PollSpec};
use otklik_domain::text::{ClientId, PersonName};
use otklik_domain::ValidationErrors;
use otklik_store::NotificationSettings;

pub use super::forms::FormData;
use crate::error::AppError;
use crate::orgadmin::IntegrationInput;

/// A `POST` request with this `Content-Type` and body, as the extractors see it.
fn request(content_type: &str, body: Vec<u8>) -> Result<Request, AppError> {
    Request::builder()
        .method("POST")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .map_err(|_| AppError::bad_request("invalid_form"))
}

/// axum's `Multipart` extractor on a request with this `Content-Type`.
async fn multipart(content_type: &str, body: Vec<u8>) -> Result<Multipart, AppError> {
    Multipart::from_request(request(content_type, body)?, &())
        .await
        .map_err(|_| AppError::bad_request("invalid_form"))
}

/// A multipart body read as the pages read it: axum's `Multipart` extractor on a request
/// with this `Content-Type`, then `read_multipart` (the submission, action, widget and
/// document forms all go through it).
pub async fn read_multipart_body(content_type: &str, body: Vec<u8>) -> Result<FormData, AppError> {
    super::forms::read_multipart(multipart(content_type, body).await?).await
}

/// The notification settings form's pairs read as `settings_save` reads them for a
/// person in `role`.
pub fn notification_settings(
    fields: &[(String, String)],
    role: Role,
) -> Result<NotificationSettings, ValidationErrors> {
    super::notifications::parse_settings(fields, &super::notifications::kinds_for(role))
}

/// The console's calendar upload (`/console/calendars/{layer}/upload`) read as the
/// handler reads it: axum's `Multipart`, then `read_upload` — the CSRF token and the
/// file's bytes.
pub async fn read_calendar_upload(
    content_type: &str,
    body: Vec<u8>,
) -> Result<(String, Option<Vec<u8>>), AppError> {
    super::console::calendars::read_upload(multipart(content_type, body).await?).await
}

/// The uploaded file checked as the upload checks it before the store is touched
/// (`check_upload`), for the federal layer or a region's: the days, or the page's
/// message.
pub fn check_calendar_upload(
    federal: bool,
    file: Option<Vec<u8>>,
) -> Result<Vec<CalendarEntry>, String> {
    super::console::calendars::check_upload(&crate::api::fuzzing::layer(federal), file)
}

/// A poll page's ballot form, as `vote_post` and the widget read it: the answers from
/// the pairs (`form_answers`), checked against the poll's questions
/// (`polls::check_answers`).
pub fn ballot_form(spec: &PollSpec, pairs: &[(String, String)]) -> Result<CheckedBallot, AppError> {
    let answers = super::polls::form_answers(spec, pairs);
    crate::polls::check_answers(spec, &answers)
}

/// An organisation's integration client form (`/org/{id}/clients`), as `add_client`
/// reads it (`client_form`) and checks it (`orgadmin::check_client`) before the store is
/// asked.
pub fn client_form(body: &[u8]) -> Result<(ClientId, PersonName, Vec<ApiScope>), AppError> {
    let form = super::organisation::client_form(body);
    crate::orgadmin::check_client(&form.client_id, &form.name, &form.scope)
}

/// An organisation's delivery settings form (`/org/{id}/integration`), as
/// `set_integration` reads it: axum's `Form` extractor, then the numbers
/// (`integration_input`). `orgadmin::integration_settings` checks the rest.
pub async fn integration_form(body: Vec<u8>) -> Result<IntegrationInput, AppError> {
    let request = request("application/x-www-form-urlencoded", body)?;
    let Form(form) = Form::<super::organisation::IntegrationForm>::from_request(request, &())
        .await
        .map_err(|_| AppError::bad_request("invalid_form"))?;
    super::organisation::integration_input(&form)
}
