//! Answer templates as pages and the API both use them: an official manages their
//! organisation's templates, and gets those that fit a submission filled from it.

use otklik_domain::access::{self, Capability};
use otklik_domain::answer_template::{self, TemplateBody};
use otklik_domain::lifecycle::Role;
use otklik_domain::{CategoryId, OrgId, SubmissionId, ValidationErrors};
use otklik_store::{AnswerTemplateRecord, NewAnswerTemplate, SubmissionDetail, UserRecord};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::AppState;

/// The organisation whose templates this person manages: an official's own.
pub fn org_of(user: &UserRecord) -> Result<OrgId, AppError> {
    access::check(
        Some(&crate::auth::principal_of(user, None)),
        Capability::ListOrganisation,
    )?;
    match user.role {
        Role::Official(org) => Ok(org),
        _ => Err(AppError::forbidden()),
    }
}

/// What a person typed for a template.
#[derive(Debug, Default, Clone)]
pub struct TemplateInput {
    pub title: String,
    pub body: String,
    /// A category id, or empty for any.
    pub category: String,
}

/// Checks and saves a template (a new one when `id` is None).
pub async fn save(
    state: &AppState,
    user: &UserRecord,
    id: Option<i64>,
    input: &TemplateInput,
    now: OffsetDateTime,
) -> Result<i64, AppError> {
    let org = org_of(user)?;
    let mut errors = ValidationErrors::default();
    let title = errors.check("title", answer_template::parse_title(&input.title));
    let body = errors.check("body", TemplateBody::parse(&input.body));
    let category = match input.category.trim() {
        "" => None,
        raw => match raw.parse::<i64>() {
            Ok(id) if state.store.catalogue().await?.iter().any(|c| c.id.0 == id) => {
                Some(CategoryId(id))
            }
            _ => {
                errors.push("category", "unknown_category");
                None
            }
        },
    };
    let (Some(title), Some(body), true) = (title, body, errors.is_empty()) else {
        return Err(AppError::validation(errors));
    };
    let template = NewAnswerTemplate {
        category,
        title,
        body,
        by: user.id,
    };
    Ok(state
        .store
        .put_answer_template(org, id, &template, now)
        .await?)
}

/// The templates that fit a submission the official's organisation holds, each filled
/// from it.
pub async fn suggestions(
    state: &AppState,
    user: &UserRecord,
    submission: SubmissionId,
) -> Result<Vec<(AnswerTemplateRecord, String)>, AppError> {
    // Whoever may not see the submission does not learn it exists.
    let detail = state
        .store
        .submission(submission, crate::auth::actor_of(user))
        .await?;
    let org = org_of(user)?;
    if detail.org != org {
        return Err(AppError::forbidden());
    }
    let category = state.store.subcategory(detail.subcategory).await?.category;
    let offset = state.store.organisation(org).await?.utc_offset_minutes;
    let templates = state.store.template_suggestions(org, category, 10).await?;
    Ok(templates
        .into_iter()
        .filter_map(|t| {
            let body = TemplateBody::parse(&t.body).ok()?;
            let filled = fill(&body, &detail, offset);
            Some((t, filled))
        })
        .collect())
}

/// A template's text with the submission's values in its placeholders (`offset_minutes`:
/// the organisation's UTC offset, for the date).
pub fn fill(body: &TemplateBody, detail: &SubmissionDetail, offset_minutes: i32) -> String {
    body.fill(|name| match name {
        "number" => Some(detail.number.to_string()),
        "date" => Some(crate::messages::date(detail.created_at, offset_minutes)),
        "citizen" => Some(detail.author_name.clone()),
        "organisation" => Some(detail.org_name.clone()),
        "subcategory" => Some(detail.subcategory_name.clone()),
        _ => None,
    })
}
