//! The API's wire types. Field names are English snake_case; dates are RFC 3339 UTC.

use otklik_store::{EventRecord, FileMeta, SubmissionCard, SubmissionDetail, UserRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth;

/// An optional integer of a request body. JSON Schema counts `4.0` as the integer 4, and
/// so does this: a number with a fraction, or outside `i64`, is refused like any value of
/// the wrong type (`invalid_body`).
pub fn whole<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    struct Whole;

    impl<'de> serde::de::Visitor<'de> for Whole {
        type Value = Option<i64>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an integer")
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // i64::MIN is -2^63 exactly; 2^63 is the first float past i64::MAX.
            const LIMIT: f64 = 9_223_372_036_854_775_808.0;
            if v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v) {
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(v as i64))
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
            }
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(Whole)
        }
    }

    deserializer.deserialize_option(Whole)
}

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

// Request bodies: unknown properties are refused (`unknown_field`); a missing property
// reads as empty and is refused by the field's own check (`required`), so every
// property the schema marks required is one the server needs.

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[serde(default)]
    #[schema(required, value_type = EmailSchema)]
    pub email: String,
    #[serde(default)]
    #[schema(required, value_type = PersonNameSchema)]
    pub full_name: String,
    #[serde(default)]
    #[schema(required, value_type = PasswordSchema)]
    pub password: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Anything else than a known account's address gets 401 `invalid_credentials`.
    #[serde(default)]
    #[schema(required)]
    pub email: String,
    #[serde(default)]
    #[schema(required)]
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
#[serde(deny_unknown_fields)]
pub struct FileUpload {
    /// The original name; only its letters, digits and a few separators are kept, and
    /// the extension follows the real type.
    #[serde(default)]
    pub name: String,
    /// The file's bytes, standard base64. JPEG, PNG or PDF (checked from the bytes), ≤ 10 MiB.
    #[serde(default)]
    #[schema(required, content_encoding = "base64")]
    pub content_base64: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// `message` or `appeal` (59-FZ).
    #[serde(default)]
    #[schema(required, value_type = SubmissionKindSchema)]
    pub kind: String,
    #[serde(default, deserialize_with = "whole")]
    #[schema(required, value_type = i64)]
    pub subcategory_id: Option<i64>,
    #[serde(default, deserialize_with = "whole")]
    #[schema(required, value_type = i64)]
    pub region_id: Option<i64>,
    /// Optional: the municipality the submission is about (see `/regions/{id}/municipalities`).
    #[serde(default, deserialize_with = "whole")]
    pub municipality_id: Option<i64>,
    #[serde(default)]
    #[schema(required, value_type = SubmissionTextSchema)]
    pub text: String,
    /// Values of the subcategory's form fields, by key; a `multi_select` value is the
    /// chosen options joined by `"; "`.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Up to 5 files.
    #[serde(default)]
    #[schema(max_items = 5)]
    pub attachments: Vec<FileUpload>,
    /// Let other citizens see the message (without the author's name or form fields), so
    /// that they follow it instead of reporting it again. Messages only.
    #[serde(default)]
    pub public: bool,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    #[serde(default)]
    #[schema(required, value_type = AnswerTextSchema)]
    pub text: String,
    /// Result documents, up to 5 files.
    #[serde(default)]
    #[schema(max_items = 5)]
    pub attachments: Vec<FileUpload>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    #[serde(default)]
    #[schema(required, value_type = ReasonSchema)]
    pub reason: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClarifyRequest {
    #[serde(default)]
    #[schema(required, value_type = AnswerTextSchema)]
    pub text: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendRequest {
    /// 1 to 30.
    #[serde(default, deserialize_with = "whole")]
    #[schema(required, value_type = u32, minimum = 1, maximum = 30)]
    pub days: Option<i64>,
    #[serde(default)]
    #[schema(required, value_type = ReasonSchema)]
    pub reason: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecategoriseRequest {
    #[serde(default, deserialize_with = "whole")]
    #[schema(required, value_type = i64)]
    pub subcategory_id: Option<i64>,
    #[serde(default)]
    #[schema(required, value_type = ReasonSchema)]
    pub reason: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedirectRequest {
    #[serde(default, deserialize_with = "whole")]
    #[schema(required, value_type = i64)]
    pub organisation_id: Option<i64>,
    #[serde(default)]
    #[schema(required, value_type = ReasonSchema)]
    pub reason: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// The legal ground (59-FZ art. 11).
    #[serde(default)]
    #[schema(required, value_type = RejectionGroundSchema)]
    pub ground: String,
    #[serde(default)]
    #[schema(required, value_type = ReasonSchema)]
    pub comment: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateRequest {
    /// 1 to 5.
    #[serde(default, deserialize_with = "whole")]
    #[schema(required, value_type = u8, minimum = 1, maximum = 5)]
    pub score: Option<i64>,
    #[serde(default)]
    #[schema(value_type = RatingCommentSchema)]
    pub comment: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBackRequest {
    #[serde(default)]
    #[schema(required, value_type = ReasonSchema)]
    pub reason: String,
}

/// The query of the submission list. Values are read as text and checked by the
/// handler, which names the parameter in its 422; the types below are what it accepts.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Filter by status.
    #[param(value_type = Option<StatusSchema>)]
    pub status: Option<String>,
    #[param(value_type = Option<i64>)]
    pub category_id: Option<String>,
    /// Only open submissions past their deadline.
    #[param(value_type = Option<bool>)]
    pub overdue: Option<String>,
    /// 1 to 200, default 25.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    #[param(value_type = Option<u32>, minimum = 0, maximum = 4294967295u32)]
    pub offset: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionList {
    pub items: Vec<CardView>,
    /// How many match: exact for a list filtered at most by status (or open/finished),
    /// otherwise counted up to 10 000.
    pub total: u64,
    /// False when the count stopped at 10 000 (`total` is then 10 000).
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
    /// Other citizens may see it (messages only; `/public/{id}`).
    pub public: bool,
    /// The submission it is merged into while it waits for that one's answer.
    pub merged_into_id: Option<i64>,
    /// The submissions merged into it, which its answer reaches too.
    pub duplicate_ids: Vec<i64>,
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
            public: d.public,
            merged_into_id: d.merged_into.map(|r| r.id.0),
            duplicate_ids: d.duplicates.iter().map(|r| r.id.0).collect(),
        }
    }
}

// --- the schemas of validated text ------------------------------------------------------
//
// The domain trims text (Rust's `char::is_whitespace`), turns CRLF into LF, refuses
// control characters other than tab and line feed, and bounds the length in characters
// (`otklik_domain::text`). These schemas say exactly that as an ECMA-262 pattern built
// from the same bounds, so that a client (or a fuzzer) can tell valid text from invalid
// without asking the server.

/// Whitespace as `str::trim` sees it (the Unicode `White_Space` property).
pub(crate) const SPACE: &str = r"[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";
/// A character that may start or end a text: neither whitespace nor a control character.
const EDGE: &str = r"[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";
/// A character inside a text: anything but a control character other than tab and line
/// feed; CRLF counts as one character (it is stored as LF).
const INNER: &str = r"(?:\r\n|[^\x00-\x08\x0B-\x1F\x7F-\x9F])";
/// A character inside a name: no control characters at all.
const NAME_INNER: &str = r"[^\x00-\x1F\x7F-\x9F]";

/// The pattern of a trimmed text of `min..=max` characters (`min >= 1`) whose inner
/// characters match `inner`; `optional` also accepts nothing but whitespace.
pub fn trimmed_pattern(min: usize, max: usize, inner: &str, optional: bool) -> String {
    let body = if min >= 2 {
        format!("{EDGE}{inner}{{{},{}}}{EDGE}", min - 2, max - 2)
    } else {
        format!("{EDGE}(?:{inner}{{0,{}}}{EDGE})?", max.saturating_sub(2))
    };
    let body = if optional {
        format!("(?:{body})?")
    } else {
        body
    };
    format!("^{SPACE}*{body}{SPACE}*$")
}

fn string_schema(pattern: String, description: &str) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .build()
        .into()
}

/// A named string schema, registered as a component under `$name`.
macro_rules! text_schema {
    ($(#[$doc:meta])* $marker:ident, $name:literal, $schema:expr) => {
        $(#[$doc])*
        pub struct $marker;

        impl utoipa::PartialSchema for $marker {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::RefOr::T($schema)
            }
        }

        impl utoipa::ToSchema for $marker {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }
        }
    };
}

pub(crate) use text_schema;

fn bounded(min: usize, max: usize, what: &str) -> utoipa::openapi::schema::Schema {
    string_schema(
        trimmed_pattern(min, max, INNER, false),
        &format!(
            "{what}: {min} to {max} characters once surrounding whitespace is trimmed; \
             no control characters other than tab and line breaks."
        ),
    )
}

fn name_of(max: usize, what: &str) -> utoipa::openapi::schema::Schema {
    string_schema(
        trimmed_pattern(2, max, NAME_INNER, false),
        &format!(
            "{what}: 2 to {max} characters once surrounding whitespace is trimmed; no \
             control characters."
        ),
    )
}

text_schema!(SubmissionTextSchema, "SubmissionText", {
    use otklik_domain::text::SubmissionText as T;
    bounded(T::MIN_CHARS, T::MAX_CHARS, "The citizen's own words")
});
text_schema!(AnswerTextSchema, "AnswerText", {
    use otklik_domain::text::AnswerText as T;
    bounded(T::MIN_CHARS, T::MAX_CHARS, "An answer or a clarification")
});
text_schema!(ReasonSchema, "Reason", {
    use otklik_domain::text::Reason as T;
    bounded(T::MIN_CHARS, T::MAX_CHARS, "A reason or comment")
});
text_schema!(PersonNameSchema, "PersonName", {
    use otklik_domain::text::PersonName as T;
    bounded(T::MIN_CHARS, T::MAX_CHARS, "A name")
});
text_schema!(RatingCommentSchema, "RatingComment", {
    use otklik_domain::text::RatingComment as T;
    string_schema(
        trimmed_pattern(T::MIN_CHARS, T::MAX_CHARS, INNER, true),
        &format!(
            "Optional: empty or only whitespace means none; else at most {} characters \
             once trimmed, no control characters other than tab and line breaks.",
            T::MAX_CHARS
        ),
    )
});
text_schema!(
    /// An organisation's name in the console (`parse_name(…, 300)`).
    OrganisationNameSchema,
    "OrganisationName",
    name_of(300, "An organisation's name")
);
text_schema!(
    /// A category's or subcategory's name (`parse_name(…, 200)`).
    CategoryNameSchema,
    "CategoryName",
    name_of(200, "A category's or subcategory's name")
);
text_schema!(EmailSchema, "Email", {
    // `Email::parse`: trimmed, one `@`, something before it, a domain with a dot that
    // neither starts nor ends it, no whitespace or control characters, ≤ 254 characters.
    const CHAR: &str = r"[^@\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";
    const NOT_DOT: &str =
        r"[^@.\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";
    let mut schema = string_schema(
        format!("^{SPACE}*{CHAR}+@{NOT_DOT}{CHAR}*\\.{CHAR}*{NOT_DOT}{SPACE}*$"),
        "An e-mail address (compared in lower case), at most 254 characters.",
    );
    if let utoipa::openapi::schema::Schema::Object(o) = &mut schema {
        o.max_length = Some(254);
    }
    schema
});
text_schema!(PasswordSchema, "Password", {
    use otklik_domain::text::NewPassword as T;
    let mut schema = string_schema(
        ".*".to_owned(),
        "A new password: 8 to 128 characters, with at least one letter and one \
         character that is not a letter, not a common password and not the e-mail \
         address (`too_short`, `too_long`, `too_weak`).",
    );
    if let utoipa::openapi::schema::Schema::Object(o) = &mut schema {
        o.pattern = None;
        o.min_length = Some(T::MIN_CHARS);
        o.max_length = Some(128);
    }
    schema
});

// --- the schemas of names from a closed list ---------------------------------------------

pub(crate) fn one_of<'a>(
    values: impl IntoIterator<Item = &'a str>,
    description: &str,
) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .build()
        .into()
}

text_schema!(SubmissionKindSchema, "SubmissionKind", {
    use otklik_domain::lifecycle::SubmissionKind as T;
    one_of(
        T::ALL.iter().map(|k| k.as_str()),
        "`message`, or `appeal` under 59-FZ.",
    )
});
text_schema!(StatusSchema, "Status", {
    use otklik_domain::lifecycle::Status as T;
    one_of(T::ALL.iter().map(|k| k.as_str()), "A submission's status.")
});
text_schema!(RejectionGroundSchema, "RejectionGround", {
    use otklik_domain::lifecycle::RejectionGround as T;
    one_of(
        T::ALL.iter().map(|k| k.as_str()),
        "A legal ground to leave a submission without an answer on the merits.",
    )
});
text_schema!(IncidentKindSchema, "IncidentKind", {
    use otklik_domain::lifecycle::IncidentKind as T;
    one_of(
        T::ALL.iter().map(|k| k.as_str()),
        "A procedure incident's kind.",
    )
});
text_schema!(ApiScopeSchema, "ApiScope", {
    use otklik_domain::access::ApiScope as T;
    one_of(
        T::ALL.iter().map(|k| k.as_str()),
        "What an integration client may do.",
    )
});
text_schema!(DayKindSchema, "DayKind", {
    use otklik_domain::calendar::DayKind as T;
    one_of(
        T::ALL.iter().map(|k| k.as_str()),
        "`holiday`, `day-off` (a weekday off), `working` (a Saturday or Sunday worked) or \
         `short` (a shortened working day).",
    )
});

text_schema!(
    /// A downloaded file's bytes.
    FileBytesSchema,
    "FileBytes",
    {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .build()
            .into()
    }
);

text_schema!(
    /// The OpenAPI document itself.
    OpenApiDocumentSchema,
    "OpenApiDocument",
    {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("openapi", ObjectBuilder::new().schema_type(Type::String))
            .required("openapi")
            .build()
            .into()
    }
);
