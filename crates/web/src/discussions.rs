//! Public discussions as pages and the API both use them: organisers open a proposal
//! and moderate its comments; citizens comment (shown once published) and say whether
//! they support it, once.

use otklik_domain::access::{self, Capability};
use otklik_domain::discussion::{self, CommentStatus, Moderation, RejectionReason, Stance};
use otklik_domain::{CommentId, DiscussionId, ValidationErrors};
use otklik_store::{CommentPage, DiscussionFilter, DiscussionRecord, NewDiscussion, UserRecord};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::polls::{organiser_of, PollInput};
use crate::AppState;

/// Comments per page unless a reader asks for another number.
pub const COMMENTS_PAGE: u32 = 50;

/// The most comments one page lists: a larger `limit` reads as this one.
pub const MAX_COMMENTS_PAGE: u32 = 200;

/// Where a page of comments starts and how many it lists (keyset paging by comment id):
/// forward after a comment, or back before one; never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommentsCursor {
    /// The last comment already read; `None` (and no `before`): from the first.
    pub after: Option<CommentId>,
    /// The first comment of the page already read: the page before it.
    pub before: Option<CommentId>,
    pub limit: u32,
}

impl Default for CommentsCursor {
    fn default() -> Self {
        Self {
            after: None,
            before: None,
            limit: COMMENTS_PAGE,
        }
    }
}

impl CommentsCursor {
    /// Reads `after`, `before` and `limit` as a query string carries them. `after` and
    /// `before` are comment ids (0 or more), at most one of them
    /// (`before`: `after_and_before`); `limit` a whole number from 1, cut down to
    /// `MAX_COMMENTS_PAGE`. Anything else is a 422 naming the parameter
    /// (`not_a_number`, `out_of_range`).
    pub fn parse(
        after: Option<&str>,
        before: Option<&str>,
        limit: Option<&str>,
    ) -> Result<Self, AppError> {
        let mut errors = ValidationErrors::default();
        let both = after.is_some() && before.is_some();
        let after = match after.map(str::trim) {
            None => Some(None),
            Some(raw) => errors.check("after", comment_id(raw).map(Some)),
        };
        let before = match before.map(str::trim) {
            None => Some(None),
            Some(_) if both => {
                errors.check("before", Err::<Option<CommentId>, _>("after_and_before"))
            }
            Some(raw) => errors.check("before", comment_id(raw).map(Some)),
        };
        let limit = match limit.map(str::trim) {
            None => Some(COMMENTS_PAGE),
            Some(raw) => errors.check("limit", page_size(raw)),
        };
        match (after, before, limit, errors.is_empty()) {
            (Some(after), Some(before), Some(limit), true) => Ok(Self {
                after,
                before,
                limit,
            }),
            _ => Err(AppError::validation(errors)),
        }
    }
}

fn comment_id(raw: &str) -> Result<CommentId, &'static str> {
    let id = raw.parse::<i64>().map_err(|_| "not_a_number")?;
    if id < 0 {
        return Err("out_of_range");
    }
    Ok(CommentId(id))
}

/// Any run of digits from 1 up, however long: a larger page than allowed is clamped,
/// not refused.
fn page_size(raw: &str) -> Result<u32, &'static str> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not_a_number");
    }
    let size = raw.parse::<u64>().unwrap_or(u64::MAX);
    if size == 0 {
        return Err("out_of_range");
    }
    Ok(u32::try_from(size.min(u64::from(MAX_COMMENTS_PAGE))).unwrap_or(MAX_COMMENTS_PAGE))
}

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

/// A page of the comments this person may see: published ones for everyone; moderators
/// also see the other statuses (no author names: moderation needs none).
pub async fn comments(
    state: &AppState,
    user: Option<&UserRecord>,
    d: &DiscussionRecord,
    status: CommentStatus,
    cursor: CommentsCursor,
) -> Result<CommentPage, AppError> {
    let may = status == CommentStatus::Published || user.is_some_and(|u| moderates(u, d));
    if !may {
        return Err(AppError::forbidden());
    }
    let page = match cursor.before {
        Some(before) => {
            state
                .store
                .comments_before(d.id, status, before, cursor.limit)
                .await?
        }
        None => {
            state
                .store
                .comments(d.id, status, cursor.after, cursor.limit)
                .await?
        }
    };
    Ok(page)
}

/// The `after` of the page that follows this one (read with `cursor`), if any follows:
/// its last comment, or for an empty page read back, just below where it ended.
pub fn next_after(page: &CommentPage, cursor: &CommentsCursor) -> Option<CommentId> {
    if !page.more {
        return None;
    }
    match (page.comments.last(), cursor.before) {
        (Some(last), _) => Some(last.id),
        (None, Some(before)) => Some(CommentId(before.0.saturating_sub(1).max(0))),
        (None, None) => None,
    }
}

/// The `before` of the page that precedes this one (read with `cursor`), if any
/// precedes: its first comment, or for an empty page read forward, just above where it
/// started.
pub fn prev_before(page: &CommentPage, cursor: &CommentsCursor) -> Option<CommentId> {
    if !page.earlier {
        return None;
    }
    match (page.comments.first(), cursor.after) {
        (Some(first), _) => Some(first.id),
        (None, Some(after)) => Some(CommentId(after.0.saturating_add(1))),
        (None, None) => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn codes(e: &AppError) -> Vec<(String, String)> {
        e.fields
            .iter()
            .map(|f| (f.field.clone(), f.code.to_owned()))
            .collect()
    }

    #[test]
    fn a_cursor_reads_after_and_a_clamped_limit() {
        assert_eq!(
            CommentsCursor::parse(None, None, None).unwrap(),
            CommentsCursor::default()
        );
        let read = CommentsCursor::parse(Some(" 42 "), None, Some("3")).unwrap();
        assert_eq!((read.after, read.limit), (Some(CommentId(42)), 3));
        for big in ["201", "100000", "99999999999999999999999999"] {
            let read = CommentsCursor::parse(None, None, Some(big)).unwrap();
            assert_eq!(read.limit, MAX_COMMENTS_PAGE, "{big}");
        }
        assert_eq!(
            CommentsCursor::parse(Some("0"), None, None).unwrap().after,
            Some(CommentId(0))
        );
    }

    #[test]
    fn a_bad_cursor_names_the_parameter() {
        let e = CommentsCursor::parse(Some("abc"), None, Some("0")).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            codes(&e),
            [
                ("after".to_owned(), "not_a_number".to_owned()),
                ("limit".to_owned(), "out_of_range".to_owned())
            ]
        );
        for (after, limit, field, code) in [
            ("-1", "5", "after", "out_of_range"),
            ("1.5", "5", "after", "not_a_number"),
            ("99999999999999999999", "5", "after", "not_a_number"),
            ("1", "-5", "limit", "not_a_number"),
            ("1", "+5", "limit", "not_a_number"),
            ("1", "", "limit", "not_a_number"),
        ] {
            let e = CommentsCursor::parse(Some(after), None, Some(limit)).unwrap_err();
            assert_eq!(
                codes(&e),
                [(field.to_owned(), code.to_owned())],
                "{after} {limit}"
            );
        }
    }

    #[test]
    fn a_cursor_reads_before_but_never_with_after() {
        let read = CommentsCursor::parse(None, Some("17"), Some("5")).unwrap();
        assert_eq!(
            (read.after, read.before, read.limit),
            (None, Some(CommentId(17)), 5)
        );
        let e = CommentsCursor::parse(Some("3"), Some("17"), None).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            codes(&e),
            [("before".to_owned(), "after_and_before".to_owned())]
        );
        for (before, code) in [("-1", "out_of_range"), ("x", "not_a_number")] {
            let e = CommentsCursor::parse(None, Some(before), None).unwrap_err();
            assert_eq!(codes(&e), [("before".to_owned(), code.to_owned())]);
        }
    }

    #[test]
    fn the_cursors_around_a_page() {
        let comment = |id| otklik_store::CommentRecord {
            id: CommentId(id),
            body: String::new(),
            status: CommentStatus::Published,
            reason: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        let page = CommentPage {
            comments: vec![comment(4), comment(9)],
            more: true,
            earlier: true,
        };
        let cursor = CommentsCursor::default();
        assert_eq!(next_after(&page, &cursor), Some(CommentId(9)));
        assert_eq!(prev_before(&page, &cursor), Some(CommentId(4)));
        let empty = CommentPage {
            comments: Vec::new(),
            more: true,
            earlier: true,
        };
        let after = CommentsCursor {
            after: Some(CommentId(12)),
            ..cursor
        };
        assert_eq!(prev_before(&empty, &after), Some(CommentId(13)));
        let before = CommentsCursor {
            before: Some(CommentId(12)),
            ..cursor
        };
        assert_eq!(next_after(&empty, &before), Some(CommentId(11)));
        assert_eq!(next_after(&CommentPage::default(), &cursor), None);
        assert_eq!(prev_before(&CommentPage::default(), &after), None);
    }
}
