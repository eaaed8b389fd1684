//! Entry points for the fuzz targets (`fuzz/`, bodies in `crates/fuzzing`): the parts of
//! request decoding that are otherwise private to the handlers. Not an API.
//!
//! Each calls the function its handler calls on the decoded body, before the store is
//! asked anything; the request types themselves are public in their modules.

use otklik_domain::calendar::{CalendarEntry, DeadlinePolicy};
use otklik_domain::form::FormSpec;
use otklik_domain::poll::RawAnswer;
use otklik_domain::ValidationErrors;
use otklik_store::{NotificationSettings, SocialCommand};
use time::OffsetDateTime;

use super::campaigns::{CampaignRequest, TemplateRequest as NotificationTemplateRequest};
use super::console::{CalendarDayRequest, FormBody, Layer, PolicyInput, PolicyRequest};
use super::documents::NewDocumentRequest;
use super::integration::IntegrationRequest;
use super::notifications::SettingsRequest;
use super::polls::{BallotRequest, PhotoRequest, PollRequest};
use super::social::ActionRequest;
use super::templates::TemplateRequest as AnswerTemplateRequest;
use super::FileUpload;
use crate::error::AppError;
use crate::orgadmin::IntegrationInput;
use crate::polls::PollInput;
use crate::templates::TemplateInput;

/// A JSON body's attachments decoded as the handlers decode them (standard base64).
pub fn decode_files(files: Vec<FileUpload>) -> Result<Vec<(String, Vec<u8>)>, AppError> {
    super::handlers::decode_files(files)
}

/// A base64 field as the documents' handlers decode it (signatures, certificates).
pub fn decode_base64(field: &str, raw: &str) -> Result<Vec<u8>, AppError> {
    super::documents::decode(field, raw)
}

/// `POST /polls`: the request as the use case takes it (questions as JSON read).
pub fn poll_input(request: &PollRequest) -> Result<PollInput, AppError> {
    request.input()
}

/// `POST /polls/{id}/ballots`: the answers as `polls::check_answers` takes them.
pub fn ballot_answers(request: &BallotRequest) -> Result<Vec<RawAnswer>, AppError> {
    request.raw()
}

/// `POST /polls/{id}/options/{option}/photos`: the name and the decoded bytes.
pub fn photo_file(request: PhotoRequest) -> Result<(String, Vec<u8>), AppError> {
    request.file()
}

/// `POST`/`PUT /answer-templates`: the template as `templates::save` takes it.
pub fn answer_template_input(request: &AnswerTemplateRequest) -> TemplateInput {
    request.input()
}

/// `PUT /notification-templates/{key}`: the template checked for `key` (syntax, only
/// its placeholders, a trial rendering).
pub fn notification_template(
    request: &NotificationTemplateRequest,
    key: &str,
) -> Result<(), AppError> {
    request.checked(key).map(|_| ())
}

/// The keys of the notification templates the operator edits.
pub fn notification_template_keys() -> Vec<&'static str> {
    otklik_notify::templates::keys()
}

/// `POST /campaigns`: the title, message and send rate checked (the audience is checked
/// against the store after); the field errors.
pub fn campaign(request: &CampaignRequest) -> ValidationErrors {
    let mut errors = ValidationErrors::default();
    let _ = request.message(&mut errors);
    let _ = request.send_rate(&mut errors);
    errors
}

/// `POST /social/incidents/{id}/actions`: the command the request names.
pub fn social_command(request: &ActionRequest) -> Result<SocialCommand, AppError> {
    request.command()
}

/// `PUT /organisations/{id}/integration`: the settings as `orgadmin` takes them.
pub fn integration_input(request: IntegrationRequest) -> Result<IntegrationInput, AppError> {
    request.input()
}

/// `PUT /notifications/settings`: the request applied to `current`.
pub fn notification_settings(
    current: NotificationSettings,
    request: &SettingsRequest,
) -> Result<NotificationSettings, AppError> {
    super::notifications::apply(current, request)
}

/// `POST`/`PUT /console/subcategories`: the form the request describes.
pub fn subcategory_form(form: FormBody) -> Result<FormSpec, ValidationErrors> {
    form.build()
}

/// `POST`/`PUT /console/categories`: the name.
pub fn category_name(raw: &str) -> Result<String, AppError> {
    super::console::parse_category_name(raw)
}

/// `PUT /console/policies`: the policy checked against an empty catalogue (a named
/// subcategory is unknown).
pub fn policy(request: PolicyRequest) -> Result<DeadlinePolicy, AppError> {
    super::console::check_policy(&[], &PolicyInput::from(request)).map(|(_, _, policy)| policy)
}

/// `POST /console/calendars/{layer}/days`: the day.
pub fn calendar_day(request: &CalendarDayRequest) -> Result<CalendarEntry, AppError> {
    super::console::parse_day(&request.date, &request.kind)
}

/// `POST /console/calendars/{layer}/import`: the file checked for the federal layer or
/// a region's; a refusal's code and detail.
pub fn calendar_import(federal: bool, text: &str) -> Result<Vec<CalendarEntry>, (String, String)> {
    super::console::parse_import(&layer(federal), text)
        .map_err(|r| (r.code().to_owned(), r.detail()))
}

/// The federal calendar layer, or a region's (which one does not matter: only the
/// federal layer has rules of its own).
pub(crate) fn layer(federal: bool) -> Layer {
    if federal {
        Layer::Federal
    } else {
        Layer::Region(otklik_store::Region {
            id: otklik_domain::RegionId(69),
            code: "RU-TVE".to_owned(),
            name: "Тверская область".to_owned(),
            utc_offset_minutes: 180,
            okato: None,
            federal_district: None,
        })
    }
}

/// `POST /documents`: the request as the use case takes it, then the document's own
/// values checked at `now` (the parties are resolved against the store after); the
/// field errors.
pub fn new_document(
    request: NewDocumentRequest,
    now: OffsetDateTime,
) -> Result<ValidationErrors, AppError> {
    let input = request.input()?;
    let mut errors = ValidationErrors::default();
    let _ = crate::documents::check_fields(&input, now, &mut errors);
    Ok(errors)
}
