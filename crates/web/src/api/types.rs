//! The API's wire types. Field names are English snake_case; dates are RFC 3339 UTC.

use otklik_store::{EventRecord, FileMeta, SubmissionCard, SubmissionDetail, UserRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth;

pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// RFC 9457 problem details, with Otklik's stable `code` and per-field errors.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A human-readable summary (Russian).
    pub title: String,
    pub status: u16,
    /// Stable machine-readable code, e.g. `validation_failed`, `illegal_transition`.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default)]
    pub errors: Vec<ProblemField>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProblemField {
    /// The request field, e.g. `text`, `fields.address`, `attachments`.
    pub field: String,
    /// e.g. `required`, `too_short`, `file_type_not_allowed`.
    pub code: String,
    pub message: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RegisterRequest {
    pub email: String,
    pub full_name: String,
    pub password: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct TokenRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: String,
    pub user: UserView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    /// `citizen`, `official`, `org_admin`, `integration`, `coordinator`, `operator` or
    /// `analyst`.
    pub role: String,
    pub organisation_id: Option<i64>,
    /// How well the identity is established: `unverified`, `standard` or `verified`.
    /// A 59-FZ appeal needs `standard`; votes and signatures need `verified`.
    pub verification: String,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        Self {
            id: u.id.0,
            email: u.email.clone(),
            full_name: u.full_name.clone(),
            role: auth::role_name(u.role).to_owned(),
            organisation_id: u.role.organisation().map(|o| o.0),
            verification: u.verification.as_str().to_owned(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegionView {
    pub id: i64,
    /// ISO 3166-2:RU (or the same style where ISO has none).
    pub code: String,
    pub name: String,
    pub utc_offset_minutes: i32,
    /// First-level OKATO code.
    pub okato: Option<String>,
    /// Federal district code (`CFD`, `NWFD`, …); none for subjects outside any district.
    pub federal_district: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MunicipalityView {
    pub id: i64,
    pub oktmo: String,
    pub name: String,
    pub utc_offset_minutes: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationView {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub region_id: Option<i64>,
    pub is_coordinator: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryView {
    pub id: i64,
    pub name: String,
    pub subcategories: Vec<SubcategoryView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubcategoryView {
    pub id: i64,
    pub name: String,
    pub form: FormView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FormView {
    /// At least one JPEG or PNG must be attached.
    pub photo_required: bool,
    pub fields: Vec<FormFieldView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FormFieldView {
    /// The key to use in `fields` of a submission.
    pub key: String,
    pub label: String,
    /// `text`, `number`, `date` (YYYY-MM-DD), `select`, `multi_select` or `address`.
    pub kind: String,
    pub required: bool,
    pub hint: Option<String>,
    pub options: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FileUpload {
    pub name: String,
    /// The file's bytes, standard base64. JPEG, PNG or PDF (checked from the bytes), ≤ 10 MiB.
    pub content_base64: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SubmitRequest {
    /// `message` or `appeal` (59-FZ).
    pub kind: String,
    pub subcategory_id: Option<i64>,
    pub region_id: Option<i64>,
    /// Optional: the municipality the submission is about (see `/regions/{id}/municipalities`).
    pub municipality_id: Option<i64>,
    pub text: String,
    /// Values of the subcategory's form fields, by key; a `multi_select` value is the
    /// chosen options joined by `"; "`.
    pub fields: BTreeMap<String, String>,
    /// Up to 5 files.
    pub attachments: Vec<FileUpload>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct AnswerRequest {
    pub text: String,
    /// Result documents, up to 5 files.
    pub attachments: Vec<FileUpload>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ReasonRequest {
    pub reason: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ClarifyRequest {
    pub text: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ExtendRequest {
    /// 1 to 30.
    pub days: Option<u32>,
    pub reason: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RecategoriseRequest {
    pub subcategory_id: Option<i64>,
    pub reason: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RedirectRequest {
    pub organisation_id: Option<i64>,
    pub reason: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RejectRequest {
    /// `obscene_language`, `unreadable_text`, `repeated_question`, `court_matter`, `protected_secret`.
    pub ground: String,
    pub comment: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RateRequest {
    /// 1 to 5.
    pub score: Option<i64>,
    pub comment: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SendBackRequest {
    pub reason: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Filter by status: `registered`, `in_progress`, `answered`, `rated`, `rejected`, `reopened`.
    pub status: Option<String>,
    pub category_id: Option<String>,
    /// Only open submissions past their deadline.
    pub overdue: Option<String>,
    /// 1 to 200, default 25.
    pub limit: Option<String>,
    pub offset: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionList {
    pub items: Vec<CardView>,
    /// How many match, counted up to 10 000.
    pub total: u64,
    /// False when more than 10 000 match (`total` is then 10 000).
    pub total_exact: bool,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CardView {
    pub id: i64,
    pub number: String,
    pub kind: String,
    pub status: String,
    pub category: String,
    pub subcategory: String,
    pub organisation_id: i64,
    pub organisation: String,
    pub excerpt: String,
    pub created_at: String,
    pub deadline_at: String,
    pub overdue: bool,
    /// How it arrived: `portal`, `widget`, `api` or `open311`.
    pub channel: String,
}

impl CardView {
    pub fn new(c: &SubmissionCard, now: OffsetDateTime) -> Self {
        Self {
            id: c.id.0,
            number: c.number.to_string(),
            kind: c.kind.as_str().to_owned(),
            status: c.status.as_str().to_owned(),
            category: c.category_name.clone(),
            subcategory: c.subcategory_name.clone(),
            organisation_id: c.org.0,
            organisation: c.org_name.clone(),
            excerpt: c.excerpt.clone(),
            created_at: rfc3339(c.created_at),
            deadline_at: rfc3339(c.deadline_at),
            overdue: c.status.is_open() && c.deadline_at < now,
            channel: c.channel.as_str().to_owned(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FileView {
    pub id: i64,
    pub name: String,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
    /// Download with the same bearer token.
    pub url: String,
}

impl From<&FileMeta> for FileView {
    fn from(f: &FileMeta) -> Self {
        Self {
            id: f.id.0,
            name: f.name.clone(),
            mime: f.mime.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
            url: format!("/api/v1/files/{}", f.id),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    /// `registered`, `taken_into_work`, `intermediate_answer`, `answered`, `redirected`,
    /// `rejected`, `rated`, `sent_back`, `clarification_requested`, `clarified`, `extended`,
    /// `answer_returned`, `recategorised`.
    pub kind: String,
    pub at: String,
    pub actor_name: Option<String>,
    pub from_status: Option<String>,
    pub to_status: String,
    pub from_organisation_id: Option<i64>,
    pub to_organisation_id: i64,
    pub to_organisation: String,
    pub reason: Option<String>,
    pub body: Option<String>,
    pub ground: Option<String>,
    pub score: Option<u8>,
    pub deadline_at: String,
    pub files: Vec<FileView>,
}

impl From<&EventRecord> for EventView {
    fn from(e: &EventRecord) -> Self {
        Self {
            id: e.id.0,
            kind: e.kind.as_str().to_owned(),
            at: rfc3339(e.at),
            actor_name: e.actor_name.clone(),
            from_status: e.from_status.map(|s| s.as_str().to_owned()),
            to_status: e.to_status.as_str().to_owned(),
            from_organisation_id: e.from_org.map(|o| o.0),
            to_organisation_id: e.to_org.0,
            to_organisation: e.to_org_name.clone(),
            reason: e.reason.clone(),
            body: e.body.clone(),
            ground: e.ground.map(|g| g.as_str().to_owned()),
            score: e.score.map(|s| s.value()),
            deadline_at: rfc3339(e.deadline_at),
            files: e.files.iter().map(FileView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorView {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionView {
    pub id: i64,
    pub number: String,
    pub kind: String,
    pub status: String,
    pub category: String,
    pub subcategory_id: i64,
    pub subcategory: String,
    pub region_id: i64,
    pub region: String,
    pub organisation_id: i64,
    pub organisation: String,
    /// 1, or 2 after the answer was sent back for re-review.
    pub round: u8,
    pub rating: Option<u8>,
    pub text: String,
    pub fields: BTreeMap<String, String>,
    pub created_at: String,
    pub deadline_at: String,
    pub updated_at: String,
    pub overdue: bool,
    /// How it arrived: `portal`, `widget`, `api` or `open311`.
    pub channel: String,
    /// The registered site a widget submission was sent from.
    pub origin: Option<String>,
    /// The author's contact, shown to staff only (each such read is logged).
    pub author: Option<AuthorView>,
    pub attachments: Vec<FileView>,
    /// Oldest first.
    pub events: Vec<EventView>,
    /// Actions the caller may take now, as URL segments (`take-into-work`, `answer`, …).
    pub available_actions: Vec<String>,
}

impl SubmissionView {
    pub fn new(
        d: &SubmissionDetail,
        actor: otklik_domain::lifecycle::Actor,
        now: OffsetDateTime,
    ) -> Self {
        let staff_view = actor.user != d.author;
        Self {
            id: d.id.0,
            number: d.number.to_string(),
            kind: d.kind.as_str().to_owned(),
            status: d.status.as_str().to_owned(),
            category: d.category_name.clone(),
            subcategory_id: d.subcategory.0,
            subcategory: d.subcategory_name.clone(),
            region_id: d.region.0,
            region: d.region_name.clone(),
            organisation_id: d.org.0,
            organisation: d.org_name.clone(),
            round: d.round,
            rating: d.rating.map(|s| s.value()),
            text: d.text.clone(),
            fields: d.fields.as_map().clone(),
            created_at: rfc3339(d.created_at),
            deadline_at: rfc3339(d.deadline_at),
            updated_at: rfc3339(d.updated_at),
            overdue: d.status.is_open() && d.deadline_at < now,
            channel: d.channel.as_str().to_owned(),
            origin: d.origin.clone(),
            author: staff_view.then(|| AuthorView {
                name: d.author_name.clone(),
                email: d.author_email.clone(),
            }),
            attachments: d.attachments.iter().map(FileView::from).collect(),
            events: d.events.iter().map(EventView::from).collect(),
            available_actions: crate::usecases::offered_actions(&d.state(), &actor),
        }
    }
}
