//! Public discussions as pages and the API both use them: organisers open a proposal
//! and moderate its comments; citizens comment (shown once published) and say whether
//! they support it, once.

use otklik_domain::access::{self, Capability};
use otklik_domain::discussion::{self, CommentStatus, Moderation, RejectionReason, Stance};
use otklik_domain::{CommentId, DiscussionId, ValidationErrors};
use otklik_store::{CommentRecord, DiscussionFilter, DiscussionRecord, NewDiscussion, UserRecord};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::polls::{organiser_of, PollInput};
use crate::AppState;

/// The most comments one page lists.
pub const COMMENTS_PAGE: u32 = 500;

/// What an organiser typed or sent for a new discussion.
#[derive(Debug, Clone, Default)]
pub struct DiscussionInput {
    pub title: String,
    pub proposal: String,
    /// `YYYY-MM-DDTHH:MM`, local time of the region (Moscow time for all of Russia).
    pub opens_at: String,
    pub closes_at: String,
    /// A region id; empty: all of Russia.
    pub region: String,
}

/// May this person moderate this discussion: its organisation's people, or the operator
/// (for every discussion)?
pub fn moderates(user: &UserRecord, d: &DiscussionRecord) -> bool {
    match organiser_of(user) {
        Ok(Some(org)) => d.org == Some(org),
        Ok(None) => user.role == otklik_domain::lifecycle::Role::Operator,
        Err(_) => false,
    }
}

pub async fn create(
    state: &AppState,
    user: &UserRecord,
    input: &DiscussionInput,
    now: OffsetDateTime,
) -> Result<DiscussionId, AppError> {
    let org = organiser_of(user)?;
    // The schedule and territory are checked as a poll's are.
    let as_poll = PollInput {
        kind: "survey".to_owned(),
        title: input.title.clone(),
        questions_text: "? -\n* текст 1".to_owned(),
        opens_at: input.opens_at.clone(),
        closes_at: input.closes_at.clone(),
        results: "live".to_owned(),
        region: input.region.clone(),
        ..PollInput::default()
    };
    let mut errors = ValidationErrors::default();
    let proposal = errors.check("proposal", text(&input.proposal, 20, 20_000));
    let checked = crate::polls::check_schedule_and_territory(state, org, &as_poll, now).await;
    let (title, schedule, region) = match checked {
        Ok(parts) => (Some(parts.0), Some(parts.1), parts.2),
        Err(mut e) => {
            errors.0.append(&mut e.0);
            (None, None, None)
        }
    };
    let (Some(title), Some(proposal), Some(schedule), true) =
        (title, proposal, schedule, errors.is_empty())
    else {
        return Err(AppError::validation(errors));
    };
    Ok(state
        .store
        .create_discussion(
            NewDiscussion {
                org,
                title,
                proposal,
                region,
                schedule,
                by: user.id,
            },
            now,
        )
        .await?)
}

fn text(raw: &str, min: usize, max: usize) -> Result<String, &'static str> {
    let t = raw.trim();
    let len = t.chars().count();
    if len == 0 {
        return Err("required");
    }
    if len < min {
        return Err("too_short");
    }
    if len > max {
        return Err("too_long");
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err("control_characters");
    }
    Ok(t.to_owned())
}

pub async fn open_discussions(
    state: &AppState,
    now: OffsetDateTime,
) -> Result<Vec<DiscussionRecord>, AppError> {
    Ok(state
        .store
        .discussions(
            DiscussionFilter {
                open_at: Some(now),
                ..DiscussionFilter::default()
            },
            200,
        )
        .await?)
}

/// A citizen's comment: checked, then pending until a moderator publishes it.
pub async fn comment(
    state: &AppState,
    user: &UserRecord,
    id: DiscussionId,
    body: &str,
    now: OffsetDateTime,
) -> Result<CommentId, AppError> {
    access::check(
        Some(&crate::auth::principal_of(user, None)),
        Capability::Vote,
    )?;
    state.store.discussion(id).await?;
    let body = discussion::parse_comment(body).map_err(|code| AppError::field("body", code))?;
    Ok(state.store.add_comment(id, user.id, &body, now).await?)
}

/// A citizen's position, once per person (by the voter roll's key).
pub async fn support(
    state: &AppState,
    user: &UserRecord,
    id: DiscussionId,
    stance: &str,
    now: OffsetDateTime,
) -> Result<Stance, AppError> {
    access::check(
        Some(&crate::auth::principal_of(user, None)),
        Capability::Vote,
    )?;
    state.store.discussion(id).await?;
    let stance =
        Stance::parse(stance.trim()).ok_or_else(|| AppError::field("stance", "unknown_stance"))?;
    let voter = state.store.voter(user.id).await?;
    state.store.support(id, &voter.keys, stance, now).await?;
    Ok(stance)
}

/// The person's own position, if a citizen gave one.
pub async fn stance_of(
    state: &AppState,
    user: &UserRecord,
    id: DiscussionId,
) -> Result<Option<Stance>, AppError> {
    if user.role != otklik_domain::lifecycle::Role::Citizen {
        return Ok(None);
    }
    let voter = state.store.voter(user.id).await?;
    Ok(state.store.stance_of(id, &voter.keys).await?)
}

/// `publish`, or `reject` with a reason.
pub fn parse_moderation(action: &str, reason: &str) -> Result<Moderation, AppError> {
    match action.trim() {
        "publish" => Ok(Moderation::Publish),
        "reject" => RejectionReason::parse(reason.trim())
            .map(Moderation::Reject)
            .ok_or_else(|| AppError::field("reason", "unknown_rejection_reason")),
        _ => Err(AppError::field("action", "unknown_moderation")),
    }
}

pub async fn moderate(
    state: &AppState,
    user: &UserRecord,
    id: DiscussionId,
    comment: CommentId,
    action: &Moderation,
    now: OffsetDateTime,
) -> Result<CommentStatus, AppError> {
    organiser_of(user)?;
    let d = state.store.discussion(id).await?;
    if !moderates(user, &d) {
        return Err(AppError::forbidden());
    }
    Ok(state
        .store
        .moderate_comment(id, comment, user.id, action, now)
        .await?)
}

/// The comments this person may see: published ones for everyone; moderators also see
/// pending ones (no author names: moderation needs none).
pub async fn comments(
    state: &AppState,
    user: Option<&UserRecord>,
    d: &DiscussionRecord,
    status: CommentStatus,
) -> Result<Vec<CommentRecord>, AppError> {
    let may = status == CommentStatus::Published || user.is_some_and(|u| moderates(u, d));
    if !may {
        return Err(AppError::forbidden());
    }
    Ok(state.store.comments(d.id, status, COMMENTS_PAGE).await?)
}
