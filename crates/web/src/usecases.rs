//! What users do, independent of HTTP: pages and the API both call these, so both have
//! the same validation and the same permissions. Inputs arrive as raw strings and bytes
//! and are parsed here into domain values; every invalid field is reported at once.

use otklik_domain::access::{self, Capability, Principal, Verification};
use otklik_domain::attachment::{self, Attachment};
use otklik_domain::lifecycle::{
    Action, Actor, Channel, RejectionGround, Role, Score, SubmissionKind,
};
use otklik_domain::text::{
    AnswerText, Email, NewPassword, PersonName, RatingComment, Reason, SubmissionText, WidgetOrigin,
};
use otklik_domain::*;
use otklik_store::{
    EventRecord, ListQuery, NewSubmission, NewUser, Page, Registered, Scope, Store, SubmissionCard,
    SubmissionDetail,
};
use std::collections::BTreeMap;
use time::OffsetDateTime;

use crate::auth;
use crate::error::AppError;

/// A citizen's registration as typed.
#[derive(Debug, Clone, Default)]
pub struct RegisterInput {
    pub email: String,
    pub full_name: String,
    pub password: String,
    /// The repeated password (pages); None where the client does not ask for it (API).
    pub password_repeat: Option<String>,
}

/// Creates a citizen account. Staff accounts are created by the operator's CLI.
pub async fn register_citizen(
    store: &dyn Store,
    input: &RegisterInput,
    level: Verification,
) -> Result<UserId, AppError> {
    let mut errors = ValidationErrors::default();
    let email = errors.check("email", Email::parse(&input.email));
    let name = errors.check("full_name", PersonName::parse(&input.full_name));
    let password = errors.check(
        "password",
        NewPassword::parse(&input.password).and_then(|p| password_rules(p, &input.email)),
    );
    if let Some(repeat) = &input.password_repeat {
        if password.is_some() && repeat != &input.password {
            errors.push("password_repeat", "passwords_differ");
        }
    }
    let (Some(email), Some(full_name), Some(password), true) =
        (email, name, password, errors.is_empty())
    else {
        return Err(AppError::validation(errors));
    };
    let secret = password.as_str().to_owned();
    let password_hash = auth::with_argon2(move || auth::hash_password(&secret))
        .await
        .ok_or_else(AppError::internal)??;
    let user = NewUser {
        email,
        password_hash,
        full_name,
        role: Role::Citizen,
        verification: level,
    };
    store.create_user(user).await.map_err(|e| match e {
        otklik_store::StoreError::Conflict("email_taken") => {
            AppError::field("email", "email_taken")
        }
        other => other.into(),
    })
}

/// Beyond length and variety: not one of the passwords every attacker tries first, and
/// not the account's own address.
pub fn password_rules(password: NewPassword, email: &str) -> Result<NewPassword, &'static str> {
    const COMMON: &[&str] = &[
        "password1",
        "password123",
        "qwerty123",
        "qwerty1234",
        "12345678a",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "qwe123456",
        "a1234567",
        "abc12345",
        "abcd1234",
        "iloveyou1",
        "parol123",
        "пароль123",
        "passw0rd",
        "p@ssw0rd",
        "zaq12wsx",
        "1qaz2wsx",
        "admin123",
        "welcome1",
        "qwertyuiop1",
        "gosuslugi1",
        "password2026",
        "qwerty2026",
    ];
    let lower = password.as_str().to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err("common_password");
    }
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if local.chars().count() >= 4 && lower.contains(local) {
        return Err("password_contains_email");
    }
    Ok(password)
}

/// A submission as typed: raw values, to be checked against the subcategory's form.
#[derive(Debug, Clone, Default)]
pub struct SubmitInput {
    pub kind: String,
    pub region: String,
    /// Optional: the municipality (id) the submission is about.
    pub municipality: String,
    pub text: String,
    /// Values of the subcategory's own fields, by key.
    pub fields: BTreeMap<String, String>,
    /// Uploaded files: (name as sent, content).
    pub files: Vec<(String, Vec<u8>)>,
    /// How it arrives (the caller knows), and the widget's registered site.
    pub channel: Channel,
    pub origin: Option<WidgetOrigin>,
    /// The author lets other citizens see it (messages only).
    pub public: bool,
}

/// Checks a submission against its subcategory's form, routes it to the competent
/// organisation and registers it. Only citizens submit.
pub async fn submit(
    store: &dyn Store,
    author: &Principal,
    subcategory: SubcategoryId,
    input: SubmitInput,
    now: OffsetDateTime,
) -> Result<Registered, AppError> {
    // Staff accounts act for their organisation; submitting is a citizen's act.
    access::check(Some(author), Capability::Submit(SubmissionKind::Message)).map_err(
        |d| match d {
            access::Denied::Forbidden => {
                AppError::new(axum::http::StatusCode::FORBIDDEN, "citizens_only")
            }
            other => other.into(),
        },
    )?;
    let sub = store.subcategory(subcategory).await.map_err(|e| match e {
        otklik_store::StoreError::NotFound => {
            AppError::field("subcategory_id", "unknown_subcategory")
        }
        other => other.into(),
    })?;
    let regions = store.regions().await?;
    let mut errors = ValidationErrors::default();
    let kind = errors.check(
        "kind",
        SubmissionKind::parse(input.kind.trim())
            .map_err(|_| required_or(&input.kind, "unknown_value")),
    );
    let region = errors.check(
        "region",
        input
            .region
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|id| regions.iter().find(|r| r.id.0 == id))
            .map(|r| r.id)
            .ok_or_else(|| required_or(&input.region, "unknown_region")),
    );
    let municipality = match (region, input.municipality.trim()) {
        (_, "") => Some(None),
        (Some(region), raw) => {
            let known = store.municipalities(region).await?;
            errors
                .check(
                    "municipality",
                    raw.parse::<i64>()
                        .ok()
                        .and_then(|id| known.iter().find(|m| m.id.0 == id))
                        .map(|m| m.id)
                        .ok_or("unknown_municipality"),
                )
                .map(Some)
        }
        (None, _) => None,
    };
    let text = errors.check("text", SubmissionText::parse(&input.text));
    let fields = match sub.form.validate(&input.fields) {
        Ok(values) => Some(values),
        Err(field_errors) => {
            errors.0.extend(field_errors.0);
            None
        }
    };
    let attachments = match attachment::parse_all("attachments", input.files) {
        Ok(files) => Some(files),
        Err(file_errors) => {
            errors.0.extend(file_errors.0);
            None
        }
    };
    if sub.form.photo_required
        && attachments
            .as_ref()
            .is_some_and(|a| !a.iter().any(|f| f.file_type().is_image()))
    {
        errors.push("attachments", "photo_required");
    }
    if input.public && kind == Some(SubmissionKind::Appeal) {
        errors.push("public", "appeal_not_public");
    }
    let (
        Some(kind),
        Some(region),
        Some(municipality),
        Some(text),
        Some(fields),
        Some(attachments),
        true,
    ) = (
        kind,
        region,
        municipality,
        text,
        fields,
        attachments,
        errors.is_empty(),
    )
    else {
        return Err(AppError::validation(errors));
    };
    // A 59-FZ appeal asks more of the author's identity than a message.
    access::check(Some(author), Capability::Submit(kind))?;
    let decision = store.route_decision(sub.id, region, municipality).await?;
    let submission = NewSubmission {
        kind,
        author: author.actor.user,
        subcategory: sub.id,
        region,
        municipality,
        org: decision.org,
        text,
        fields,
        attachments,
        channel: input.channel,
        origin: input.origin,
        public: input.public,
    };
    Ok(store.register_submission(submission, now).await?)
}

fn required_or(raw: &str, code: &'static str) -> &'static str {
    if raw.trim().is_empty() {
        "required"
    } else {
        code
    }
}

/// An action as typed. Which fields matter depends on the action.
#[derive(Debug, Clone, Default)]
pub struct ActInput {
    pub text: String,
    pub to_org: String,
    pub reason: String,
    pub ground: String,
    pub score: String,
    pub comment: String,
    /// Extension: how many days.
    pub days: String,
    /// Recategorisation: the new subcategory id.
    pub subcategory: String,
    pub files: Vec<(String, Vec<u8>)>,
}

/// The action named in a URL: the domain's name with hyphens (`take-into-work`).
pub fn action_from_url(segment: &str) -> String {
    segment.replace('-', "_")
}

/// The URL segment of an action named by the domain (`take_into_work`).
pub fn action_to_url(name: &str) -> String {
    name.replace('_', "-")
}

/// The actions `actor` may take now, as URL segments: what the detail page offers and
/// the API lists in `available_actions`.
pub fn offered_actions(state: &lifecycle::SubmissionState, actor: &Actor) -> Vec<String> {
    lifecycle::available(state, actor)
        .into_iter()
        .map(action_to_url)
        .collect()
}

/// Parses an action by its domain name; `None` for an unknown name.
pub fn parse_action(name: &str, input: &ActInput) -> Option<Result<Action, ValidationErrors>> {
    let mut errors = ValidationErrors::default();
    let action = match name {
        "take_into_work" => Some(Action::TakeIntoWork),
        "intermediate_answer" => errors
            .check("text", AnswerText::parse(&input.text))
            .map(|text| Action::PostIntermediateAnswer { text }),
        "answer" => errors
            .check("text", AnswerText::parse(&input.text))
            .map(|text| Action::Answer { text }),
        "redirect" => {
            let to = errors.check(
                "to_org",
                input
                    .to_org
                    .trim()
                    .parse::<i64>()
                    .map(OrgId)
                    .map_err(|_| required_or(&input.to_org, "unknown_organisation")),
            );
            let reason = errors.check("reason", Reason::parse(&input.reason));
            to.zip(reason)
                .map(|(to, reason)| Action::Redirect { to, reason })
        }
        "reject" => {
            let ground = errors.check(
                "ground",
                RejectionGround::parse(input.ground.trim())
                    .map_err(|_| required_or(&input.ground, "unknown_value")),
            );
            let comment = errors.check("comment", Reason::parse(&input.comment));
            ground
                .zip(comment)
                .map(|(ground, comment)| Action::Reject { ground, comment })
        }
        "rate" => {
            let score = errors.check("score", Score::parse(&input.score));
            let comment = if input.comment.trim().is_empty() {
                Some(None)
            } else {
                errors
                    .check("comment", RatingComment::parse(&input.comment))
                    .map(Some)
            };
            score
                .zip(comment)
                .map(|(score, comment)| Action::Rate { score, comment })
        }
        "send_back" => errors
            .check("reason", Reason::parse(&input.reason))
            .map(|reason| Action::SendBack { reason }),
        "request_clarification" => errors
            .check("reason", Reason::parse(&input.reason))
            .map(|question| Action::RequestClarification { question }),
        "clarify" => errors
            .check("text", AnswerText::parse(&input.text))
            .map(|text| Action::Clarify { text }),
        "extend" => {
            let days = errors.check("days", lifecycle::ExtensionDays::parse(&input.days));
            let reason = errors.check("reason", Reason::parse(&input.reason));
            days.zip(reason)
                .map(|(days, reason)| Action::Extend { days, reason })
        }
        "return_answer" => errors
            .check("reason", Reason::parse(&input.reason))
            .map(|reason| Action::ReturnAnswer { reason }),
        "recategorise" => {
            let subcategory = errors.check(
                "subcategory",
                input
                    .subcategory
                    .trim()
                    .parse::<i64>()
                    .map(SubcategoryId)
                    .map_err(|_| required_or(&input.subcategory, "unknown_subcategory")),
            );
            let reason = errors.check("reason", Reason::parse(&input.reason));
            subcategory
                .zip(reason)
                .map(|(subcategory, reason)| Action::Recategorise {
                    subcategory,
                    reason,
                })
        }
        _ => return None,
    };
    Some(match action {
        Some(action) if errors.is_empty() => Ok(action),
        _ => Err(errors),
    })
}

/// Takes an action (named as the domain names it) on a submission on behalf of `actor`.
pub async fn act(
    store: &dyn Store,
    principal: &Principal,
    id: SubmissionId,
    name: &str,
    mut input: ActInput,
    now: OffsetDateTime,
) -> Result<EventRecord, AppError> {
    access::handle_submission(principal)?;
    let actor = principal.actor;
    let files = std::mem::take(&mut input.files);
    let action = parse_action(name, &input).ok_or_else(AppError::not_found)?;
    let mut errors = match &action {
        Ok(_) => ValidationErrors::default(),
        Err(e) => e.clone(),
    };
    let attachments: Vec<Attachment> = match attachment::parse_all("attachments", files) {
        Ok(files) => files,
        Err(file_errors) => {
            errors.0.extend(file_errors.0);
            Vec::new()
        }
    };
    let action = match action {
        Ok(action) if errors.is_empty() => action,
        _ => return Err(AppError::validation(errors)),
    };
    if !attachments.is_empty() && !action.accepts_files() {
        return Err(AppError::field("attachments", "files_not_allowed"));
    }
    store
        .apply(id, actor, action, attachments, now)
        .await
        .map_err(|e| match e {
            otklik_store::StoreError::InvalidReference("unknown_organisation") => {
                AppError::field("to_org", "unknown_organisation")
            }
            otklik_store::StoreError::InvalidReference("unknown_subcategory") => {
                AppError::field("subcategory", "unknown_subcategory")
            }
            otklik_store::StoreError::InvalidReference(
                code @ ("extension_not_allowed" | "extension_too_long" | "term_out_of_range"),
            ) => AppError::field("days", code),
            other => other.into(),
        })
}

/// One submission for `actor`; a staff member's read of the author's personal data is
/// recorded in the access log (152-FZ).
pub async fn view(
    store: &dyn Store,
    principal: &Principal,
    id: SubmissionId,
    now: OffsetDateTime,
) -> Result<SubmissionDetail, AppError> {
    let actor = principal.actor;
    let detail = store.submission(id, actor).await?;
    access::view_submission(principal, &detail.state())?;
    record_staff_access(store, actor, detail.author, id, "view_submission", now).await?;
    Ok(detail)
}

/// A file of a submission for `actor`; a staff member's download is recorded like a read.
pub async fn download(
    store: &dyn Store,
    principal: &Principal,
    id: FileId,
    now: OffsetDateTime,
) -> Result<otklik_store::StoredFile, AppError> {
    let actor = principal.actor;
    access::read_submissions(principal)?;
    let file = store.file(id, actor).await?;
    record_staff_access(
        store,
        actor,
        file.author,
        file.submission,
        "download_file",
        now,
    )
    .await?;
    Ok(file)
}

/// Records that staff read a citizen's personal data (152-FZ), unless they read their own.
async fn record_staff_access(
    store: &dyn Store,
    actor: Actor,
    author: UserId,
    id: SubmissionId,
    purpose: &str,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    if actor.user != author && actor.role != Role::Citizen {
        store
            .record_personal_data_access(actor.user, id, purpose, now)
            .await?;
    }
    Ok(())
}

/// Whose submissions a person's list shows: the citizen's own, the official's
/// organisation's inbox, the coordinator's region, or everything for the operator. The
/// ministry's analyst sees no submission, only aggregates: `forbidden`.
pub fn scope_of(principal: &Principal) -> Result<Scope, AppError> {
    let actor = principal.actor;
    // The role says whose list it is; the policy says whether it may be read.
    let (capability, scope) = match actor.role {
        Role::Citizen => (Capability::ListOwn, Scope::Author(actor.user)),
        Role::Official(org) | Role::Integration(org) => {
            (Capability::ListOrganisation, Scope::Organisation(org))
        }
        Role::Coordinator(region) => (Capability::ListRegion, Scope::Region(region)),
        Role::Operator => (Capability::ListAll, Scope::All),
        Role::Analyst | Role::OrgAdmin(_) => return Err(AppError::forbidden()),
    };
    access::check(Some(principal), capability)?;
    Ok(scope)
}

/// List filters as typed (query string).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct ListFilters {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub overdue: Option<String>,
    #[serde(default)]
    pub page: Option<String>,
    /// What just happened (after a redirect), for a confirmation message.
    #[serde(default)]
    pub done: Option<String>,
}

pub const PAGE_SIZE: u32 = 25;

/// Parses list filters; an unknown value is a field error, an empty one means "any".
pub fn parse_filters(f: &ListFilters, now: OffsetDateTime) -> Result<ListQuery, AppError> {
    let mut errors = ValidationErrors::default();
    let status = match f.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => errors.check("status", lifecycle::Status::parse(s)),
        None => None,
    };
    let category = match f
        .category
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(c) => errors.check(
            "category",
            c.parse::<i64>()
                .map(CategoryId)
                .map_err(|_| "unknown_value"),
        ),
        None => None,
    };
    let overdue = matches!(f.overdue.as_deref(), Some("1" | "true" | "on"));
    let page = match f.page.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(p) => errors
            .check(
                "page",
                p.parse::<u32>()
                    .ok()
                    .filter(|p| (1..=100_000).contains(p))
                    .ok_or("out_of_range"),
            )
            .unwrap_or(1),
        None => 1,
    };
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    Ok(ListQuery {
        status,
        category,
        overdue,
        limit: PAGE_SIZE,
        offset: (page - 1) * PAGE_SIZE,
        ..ListQuery::new(now)
    })
}

pub async fn list(
    store: &dyn Store,
    principal: &Principal,
    query: &ListQuery,
) -> Result<Page<SubmissionCard>, AppError> {
    Ok(store.list(scope_of(principal)?, query).await?)
}
