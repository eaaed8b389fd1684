//! Public discussions as pages: the discussions open now, a new discussion for
//! organisers, and one discussion with its proposal, its published comments, the
//! citizen's support and comment forms, the citizen's own comments with their status, and
//! the moderation queue for the discussion's moderators. Every page works without
//! JavaScript; every change is a POST with the CSRF token followed by a redirect back,
//! and a refused change shows the page again with the error where it happened.

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use otklik_domain::discussion::{CommentStatus, RejectionReason, Stance};
use otklik_domain::lifecycle::Role;
use otklik_domain::poll::Phase;
use otklik_domain::{CommentId, DiscussionId, RegionId};
use otklik_store::{CommentRecord, DiscussionFilter, DiscussionRecord, Region, UserRecord};
use serde::Deserialize;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::forms::{self, FieldView, SummaryItem};
use super::polls::{local_input, moscow, plural, when, When};
use super::views::Chrome;
use super::{render, render_status, PageError, PageResult};
use crate::auth::Ctx;
use crate::discussions::{self as usecase, CommentsCursor, DiscussionInput};
use crate::error::AppError;
use crate::messages;
use crate::polls::organiser_of;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/discussions", get(list))
        .route("/discussions/new", get(new_form).post(new_post))
        .route("/discussions/{id}", get(show))
        .route("/discussions/{id}/comments", post(comment_post))
        .route("/discussions/{id}/support", post(support_post))
        .route(
            "/discussions/{id}/comments/{comment_id}/moderation",
            post(moderation_post),
        )
}

/// An id from the URL; anything that is not a number is a page that does not exist.
fn discussion_id(raw: &str) -> Result<DiscussionId, PageError> {
    raw.parse::<i64>()
        .map(DiscussionId)
        .map_err(|_| PageError(AppError::not_found()))
}

fn comment_id(raw: &str) -> Result<CommentId, PageError> {
    raw.parse::<i64>()
        .map(CommentId)
        .map_err(|_| PageError(AppError::not_found()))
}

fn organisation(d: &DiscussionRecord) -> String {
    d.org_name
        .clone()
        .unwrap_or_else(|| "Оператор платформы".to_owned())
}

fn phase_label(phase: Phase) -> &'static str {
    match phase {
        Phase::Upcoming => "Ещё не началось",
        Phase::Open => "Идёт",
        Phase::Closed => "Завершено",
    }
}

/// The offset a discussion's times are read in: its region's, Moscow time for all of
/// Russia (as the dates were entered).
fn offset_of(regions: &[Region], region: Option<RegionId>) -> UtcOffset {
    region
        .and_then(|id| regions.iter().find(|r| r.id == id))
        .and_then(|r| r.utc_offset_minutes.checked_mul(60))
        .and_then(|seconds| UtcOffset::from_whole_seconds(seconds).ok())
        .unwrap_or_else(moscow)
}

fn comments_count(n: u64) -> String {
    format!(
        "{n} {}",
        plural(n, "комментарий", "комментария", "комментариев")
    )
}

/// A text typed into a textarea, as paragraphs of lines: blank lines separate
/// paragraphs, single line breaks are kept within one. The template escapes each line
/// and puts `<br>` between them, so line breaks survive without any markup from the text.
fn paragraphs(text: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line.to_owned());
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn reason_label(reason: RejectionReason) -> &'static str {
    match reason {
        RejectionReason::Abusive => "оскорбления",
        RejectionReason::OffTopic => "не по теме",
        RejectionReason::PersonalData => "персональные данные",
        RejectionReason::Spam => "реклама или повтор",
    }
}

fn status_label(c: &CommentRecord) -> String {
    match c.status {
        CommentStatus::Pending => "на модерации".to_owned(),
        CommentStatus::Published => "опубликован".to_owned(),
        CommentStatus::Rejected => match c.reason {
            Some(reason) => format!("отклонён: {}", reason_label(reason)),
            None => "отклонён".to_owned(),
        },
    }
}

// --- the list -------------------------------------------------------------------------------

pub struct DiscussionCard {
    pub id: i64,
    pub title: String,
    pub organisation: String,
    pub phase: &'static str,
    pub opens: When,
    pub closes: When,
    pub support_for: u64,
    pub support_against: u64,
    pub comments_published: u64,
    pub comments_pending: u64,
}

fn card(d: &DiscussionRecord, regions: &[Region], now: OffsetDateTime) -> DiscussionCard {
    let offset = offset_of(regions, d.region);
    DiscussionCard {
        id: d.id.0,
        title: d.title.clone(),
        organisation: organisation(d),
        phase: phase_label(d.schedule.phase(now)),
        opens: when(d.schedule.opens_at(), offset),
        closes: when(d.schedule.closes_at(), offset),
        support_for: d.support_for,
        support_against: d.support_against,
        comments_published: d.comments_published,
        comments_pending: d.comments_pending,
    }
}

#[derive(Template)]
#[template(path = "discussions.html")]
struct ListPage {
    chrome: Chrome,
    discussions: Vec<DiscussionCard>,
    may_create: bool,
    /// The discussions this organiser runs, in any phase, with their moderation queues
    /// (organisers only).
    managed: Vec<DiscussionCard>,
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let now = OffsetDateTime::now_utc();
    let user = ctx.user.as_ref();
    let open = usecase::open_discussions(&state, now).await?;
    let organiser = user.and_then(|u| organiser_of(u).ok().map(|org| (u, org)));
    let managed = match organiser {
        Some((u, org)) => {
            let filter = DiscussionFilter {
                org: match u.role {
                    Role::Operator => None,
                    _ => Some(org),
                },
                ..DiscussionFilter::default()
            };
            state.store.discussions(filter, 500).await?
        }
        None => Vec::new(),
    };
    let regions = state.store.regions().await?;
    Ok(render(&ListPage {
        chrome: Chrome::new(&ctx, "Общественные обсуждения"),
        discussions: open.iter().map(|d| card(d, &regions, now)).collect(),
        may_create: organiser.is_some(),
        managed: managed.iter().map(|d| card(d, &regions, now)).collect(),
    }))
}

// --- a new discussion -----------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct NewDiscussionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    proposal: String,
    #[serde(default)]
    opens_at: String,
    #[serde(default)]
    closes_at: String,
    #[serde(default)]
    region: String,
}

impl NewDiscussionForm {
    fn input(self) -> DiscussionInput {
        DiscussionInput {
            title: self.title,
            proposal: self.proposal,
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            region: self.region,
        }
    }
}

#[derive(Template)]
#[template(path = "discussion_new.html")]
struct NewPage {
    chrome: Chrome,
    fields: Vec<FieldView>,
    summary: Vec<SummaryItem>,
}

/// A fresh form: opens at the next full hour (Moscow time), runs for 30 days, for all of
/// Russia.
fn blank_input(now: OffsetDateTime) -> DiscussionInput {
    let local = now.to_offset(moscow()) + Duration::hours(1);
    let opens = local.replace_minute(0).unwrap_or(local);
    let closes = opens + Duration::days(30);
    DiscussionInput {
        opens_at: local_input(opens),
        closes_at: local_input(closes),
        ..DiscussionInput::default()
    }
}

async fn new_page(
    state: &AppState,
    ctx: &Ctx,
    input: &DiscussionInput,
    error: Option<&AppError>,
) -> Result<NewPage, AppError> {
    let mut regions: Vec<(String, String)> = vec![(String::new(), "Вся Россия".to_owned())];
    regions.extend(
        state
            .store
            .regions()
            .await?
            .into_iter()
            .map(|r| (r.id.0.to_string(), r.name)),
    );
    let fields = vec![
        FieldView::new("title", "Название", "text")
            .value(&input.title)
            .required()
            .hint("От 3 до 300 знаков, например «Реконструкция сквера на Садовой улице».")
            .error_from(error),
        FieldView::new("proposal", "Предложение", "textarea")
            .value(&input.proposal)
            .required()
            .hint("Что предлагается, зачем и что изменится для жителей. От 20 до 20 000 знаков; пустая строка начинает новый абзац.")
            .error_from(error),
        FieldView::new("opens_at", "Начало", "datetime-local")
            .value(&input.opens_at)
            .required()
            .hint("Дата и время по местному времени территории обсуждения (для всей России — московское), например 2026-09-01T09:00.")
            .error_from(error),
        FieldView::new("closes_at", "Окончание", "datetime-local")
            .value(&input.closes_at)
            .required()
            .hint("Комментарии и голоса «за» и «против» принимаются до этого момента.")
            .error_from(error),
        FieldView::new("region", "Территория", "select")
            .value(&input.region)
            .options(regions)
            .hint("Регион, которого касается предложение. «Вся Россия» — без ограничения.")
            .error_from(error),
    ];
    Ok(NewPage {
        chrome: Chrome::new(ctx, "Новое обсуждение"),
        summary: forms::summary(&fields, error),
        fields,
    })
}

async fn new_form(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let user = ctx.require_user()?;
    organiser_of(user)?;
    let input = blank_input(OffsetDateTime::now_utc());
    Ok(render(&new_page(&state, &ctx, &input, None).await?))
}

async fn new_post(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Result<Form<NewDiscussionForm>, FormRejection>,
) -> PageResult {
    let user = ctx.require_user()?.clone();
    organiser_of(&user)?;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    let input = form.input();
    match usecase::create(&state, &user, &input, OffsetDateTime::now_utc()).await {
        Ok(id) => Ok(Redirect::to(&format!("/discussions/{id}")).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let page = new_page(&state, &ctx, &input, Some(&e)).await?;
            Ok(render_status(e.status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

// --- one discussion -------------------------------------------------------------------------

/// What the page says about a discussion, whoever looks.
pub struct DiscussionView {
    pub id: i64,
    pub title: String,
    pub proposal: Vec<Vec<String>>,
    pub organisation: String,
    pub territory: String,
    pub phase: &'static str,
    pub opens: When,
    pub closes: When,
    pub support_for: u64,
    pub support_against: u64,
    pub comments_published: String,
}

/// A comment as the page shows it: never its author.
pub struct CommentView {
    pub id: i64,
    pub paragraphs: Vec<Vec<String>>,
    pub date: When,
    pub status: String,
    /// The badge's colour class (the text says the same).
    pub status_class: &'static str,
}

fn comment_view(c: &CommentRecord, offset: UtcOffset) -> CommentView {
    CommentView {
        id: c.id.0,
        paragraphs: paragraphs(&c.body),
        date: when(c.created_at, offset),
        status: status_label(c),
        status_class: match c.status {
            CommentStatus::Pending => "status-in_progress",
            CommentStatus::Published => "status-answered",
            CommentStatus::Rejected => "status-rejected",
        },
    }
}

/// Where the person stands, as the page shows it.
pub struct Participation {
    /// `open` (a citizen may act), `login`, `not_a_citizen`, `upcoming`, `closed`.
    pub kind: &'static str,
    pub message: String,
    /// The citizen's position, once given: the sentence that says it.
    pub stance_given: Option<&'static str>,
}

/// One pending comment with its moderation form.
pub struct PendingView {
    pub comment: CommentView,
    pub reason: String,
    pub error: Option<&'static str>,
}

/// The reasons a moderator may choose from: value and label.
pub struct ReasonOption {
    pub value: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "discussion.html")]
struct DiscussionPage {
    chrome: Chrome,
    discussion: DiscussionView,
    summary: Vec<SummaryItem>,
    participation: Participation,
    stance_value: String,
    stance_error: Option<&'static str>,
    body_value: String,
    body_error: Option<&'static str>,
    /// The citizen's own comments, in every status.
    own: Vec<CommentView>,
    published: Vec<CommentView>,
    /// The published comments' pages: back to the first, back to the previous, on to
    /// the next.
    pager: CommentsPager,
    moderates: bool,
    pending: Vec<PendingView>,
    /// More comments wait for moderation than the queue shows.
    pending_more: bool,
    reasons: Vec<ReasonOption>,
    /// A moderation error for a comment no longer in the queue.
    moderation_error: Option<&'static str>,
}

/// Links through the published comments, which the page lists a page at a time.
pub struct CommentsPager {
    /// Set on any page reached by a cursor but the first page itself.
    pub first: Option<String>,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl CommentsPager {
    fn new(
        id: DiscussionId,
        cursor: CommentsCursor,
        prev: Option<CommentId>,
        next: Option<CommentId>,
    ) -> Self {
        let base = format!("/discussions/{id}");
        let paged = cursor.after.is_some() || cursor.before.is_some();
        Self {
            // Back to the start, while anything precedes this page.
            first: (paged && prev.is_some()).then(|| format!("{base}#comments")),
            prev: prev.map(|before| format!("{base}?before={}#comments", before.0)),
            next: next.map(|after| format!("{base}?after={}#comments", after.0)),
        }
    }

    /// A page reached by a cursor that shows nothing (everything moved on).
    fn paged(&self) -> bool {
        self.first.is_some() || self.prev.is_some()
    }

    fn is_shown(&self) -> bool {
        self.first.is_some() || self.prev.is_some() || self.next.is_some()
    }
}

/// A refused attempt, shown on the discussion page where it happened.
enum Attempt<'a> {
    None,
    Support {
        stance: &'a str,
        error: &'a AppError,
    },
    Comment {
        body: &'a str,
        error: &'a AppError,
    },
    Moderation {
        comment: CommentId,
        reason: &'a str,
        error: &'a AppError,
    },
}

fn participation(
    user: Option<&UserRecord>,
    phase: Phase,
    view: &DiscussionView,
    stance: Option<Stance>,
) -> Participation {
    let plain = |kind, message: String| Participation {
        kind,
        message,
        stance_given: None,
    };
    match (user, phase) {
        (_, Phase::Upcoming) => plain(
            "upcoming",
            format!(
                "Обсуждение ещё не началось: оно откроется {}.",
                view.opens.text
            ),
        ),
        (_, Phase::Closed) => plain(
            "closed",
            format!(
                "Обсуждение завершено {}. Комментарии и голоса больше не принимаются.",
                view.closes.text
            ),
        ),
        (None, Phase::Open) => plain(
            "login",
            "Войдите как гражданин, чтобы поддержать предложение или оставить комментарий."
                .to_owned(),
        ),
        (Some(u), Phase::Open) if u.role != Role::Citizen => plain(
            "not_a_citizen",
            "Поддерживать предложение и оставлять комментарии могут граждане.".to_owned(),
        ),
        (Some(_), Phase::Open) => Participation {
            kind: "open",
            message: String::new(),
            stance_given: stance.map(|s| match s {
                Stance::For => "Вы поддержали предложение.",
                Stance::Against => "Вы не поддержали предложение.",
            }),
        },
    }
}

async fn discussion_page(
    state: &AppState,
    ctx: &Ctx,
    d: &DiscussionRecord,
    cursor: CommentsCursor,
    attempt: Attempt<'_>,
) -> Result<DiscussionPage, AppError> {
    let now = OffsetDateTime::now_utc();
    let user = ctx.user.as_ref();
    let regions = state.store.regions().await?;
    let offset = offset_of(&regions, d.region);
    let territory = match d.region {
        None => "Вся Россия".to_owned(),
        Some(id) => regions
            .iter()
            .find(|r| r.id == id)
            .map_or_else(|| format!("Регион № {}", id.0), |r| r.name.clone()),
    };
    let phase = d.schedule.phase(now);
    let view = DiscussionView {
        id: d.id.0,
        title: d.title.clone(),
        proposal: paragraphs(&d.proposal),
        organisation: organisation(d),
        territory,
        phase: phase_label(phase),
        opens: when(d.schedule.opens_at(), offset),
        closes: when(d.schedule.closes_at(), offset),
        support_for: d.support_for,
        support_against: d.support_against,
        comments_published: comments_count(d.comments_published),
    };
    let citizen = user.filter(|u| u.role == Role::Citizen);
    let stance = match citizen {
        Some(u) if phase == Phase::Open => usecase::stance_of(state, u, d.id).await?,
        _ => None,
    };
    let participation = participation(user, phase, &view, stance);
    let own = match citizen {
        Some(u) => state.store.own_comments(d.id, u.id).await?,
        None => Vec::new(),
    };
    let published = usecase::comments(state, user, d, CommentStatus::Published, cursor).await?;
    let pager = CommentsPager::new(
        d.id,
        cursor,
        usecase::prev_before(&published, &cursor),
        usecase::next_after(&published, &cursor),
    );
    let moderates = user.is_some_and(|u| usecase::moderates(u, d));
    // The queue shrinks as moderators decide, so its first page is all it needs.
    let pending = match user {
        Some(u) if moderates => {
            let first = CommentsCursor::default();
            usecase::comments(state, Some(u), d, CommentStatus::Pending, first).await?
        }
        _ => otklik_store::CommentPage::default(),
    };

    let mut summary = Vec::new();
    let (mut stance_value, mut stance_error) = (String::new(), None);
    let (mut body_value, mut body_error) = (String::new(), None);
    let mut moderation_error = None;
    let mut pending_views: Vec<PendingView> = pending
        .comments
        .iter()
        .map(|c| PendingView {
            comment: comment_view(c, offset),
            reason: String::new(),
            error: None,
        })
        .collect();
    let form_shown = participation.kind == "open";
    match attempt {
        Attempt::None => {}
        Attempt::Support { stance, error } => {
            let message = messages::error(error.first_code());
            let shown = form_shown && participation.stance_given.is_none();
            summary.push(SummaryItem {
                href: if shown { "#f-stance" } else { "#participation" }.to_owned(),
                message: format!("Отношение к предложению: {message}"),
            });
            stance_value = stance.trim().to_owned();
            stance_error = Some(message);
        }
        Attempt::Comment { body, error } => {
            let message = messages::error(error.first_code());
            summary.push(SummaryItem {
                href: if form_shown {
                    "#f-body"
                } else {
                    "#participation"
                }
                .to_owned(),
                message: format!("Комментарий: {message}"),
            });
            body_value = body.to_owned();
            body_error = Some(message);
        }
        Attempt::Moderation {
            comment,
            reason,
            error,
        } => {
            let message = messages::error(error.first_code());
            match pending_views.iter_mut().find(|p| p.comment.id == comment.0) {
                Some(p) => {
                    summary.push(SummaryItem {
                        href: format!("#m-{}-reason", comment.0),
                        message: format!("Модерация комментария № {}: {message}", comment.0),
                    });
                    p.reason = reason.trim().to_owned();
                    p.error = Some(message);
                }
                None => {
                    summary.push(SummaryItem {
                        href: "#moderation".to_owned(),
                        message: format!("Модерация комментария № {}: {message}", comment.0),
                    });
                    moderation_error = Some(message);
                }
            }
        }
    }

    Ok(DiscussionPage {
        chrome: Chrome::new(ctx, &d.title),
        discussion: view,
        summary,
        participation,
        stance_value,
        stance_error,
        body_value,
        body_error,
        own: own.iter().map(|c| comment_view(c, offset)).collect(),
        published: published
            .comments
            .iter()
            .map(|c| comment_view(c, offset))
            .collect(),
        pager,
        moderates,
        pending: pending_views,
        pending_more: pending.more,
        reasons: RejectionReason::ALL
            .into_iter()
            .map(|r| ReasonOption {
                value: r.as_str(),
                label: reason_label(r),
            })
            .collect(),
        moderation_error,
    })
}

/// `?after=ID`: the published comments after that one; `?before=ID`: those before it
/// (the pager's links).
#[derive(Deserialize, Default)]
struct ShowQuery {
    after: Option<String>,
    before: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    query: Result<Query<ShowQuery>, QueryRejection>,
) -> PageResult {
    let id = discussion_id(&id)?;
    let Query(query) = query.map_err(|_| AppError::bad_request("invalid_query"))?;
    let d = state.store.discussion(id).await?;
    let cursor = CommentsCursor::parse(query.after.as_deref(), query.before.as_deref(), None)?;
    Ok(render(
        &discussion_page(&state, &ctx, &d, cursor, Attempt::None).await?,
    ))
}

/// The statuses a refused change is shown on the page with; anything else is an error page.
fn shown_on_page(e: &AppError) -> bool {
    matches!(
        e.status,
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT | StatusCode::FORBIDDEN
    )
}

// --- support --------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct SupportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    stance: String,
}

async fn support_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<SupportForm>, FormRejection>,
) -> PageResult {
    let id = discussion_id(&id)?;
    let user = ctx.require_user()?.clone();
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    // Staff never comment or take a side: refused before the discussion is looked up.
    otklik_domain::access::check(
        Some(&crate::auth::principal_of(&user, None)),
        otklik_domain::access::Capability::Vote,
    )
    .map_err(AppError::from)?;
    match usecase::support(&state, &user, id, &form.stance, OffsetDateTime::now_utc()).await {
        Ok(_) => Ok(Redirect::to(&format!("/discussions/{id}#participation")).into_response()),
        Err(e) if shown_on_page(&e) => {
            let d = state.store.discussion(id).await?;
            let attempt = Attempt::Support {
                stance: &form.stance,
                error: &e,
            };
            let page =
                discussion_page(&state, &ctx, &d, CommentsCursor::default(), attempt).await?;
            Ok(render_status(e.status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

// --- comments -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct CommentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

async fn comment_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<CommentForm>, FormRejection>,
) -> PageResult {
    let id = discussion_id(&id)?;
    let user = ctx.require_user()?.clone();
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    // Staff never comment or take a side: refused before the discussion is looked up.
    otklik_domain::access::check(
        Some(&crate::auth::principal_of(&user, None)),
        otklik_domain::access::Capability::Vote,
    )
    .map_err(AppError::from)?;
    match usecase::comment(&state, &user, id, &form.body, OffsetDateTime::now_utc()).await {
        // The own-comments list shows the new comment as pending.
        Ok(_) => Ok(Redirect::to(&format!("/discussions/{id}#own-comments")).into_response()),
        Err(e) if shown_on_page(&e) => {
            let d = state.store.discussion(id).await?;
            let attempt = Attempt::Comment {
                body: &form.body,
                error: &e,
            };
            let page =
                discussion_page(&state, &ctx, &d, CommentsCursor::default(), attempt).await?;
            Ok(render_status(e.status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

// --- moderation -----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct ModerationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
}

async fn moderation_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, comment)): Path<(String, String)>,
    form: Result<Form<ModerationForm>, FormRejection>,
) -> PageResult {
    let id = discussion_id(&id)?;
    let comment = comment_id(&comment)?;
    let user = ctx.require_user()?.clone();
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    let d = state.store.discussion(id).await?;
    // Only the discussion's moderators have a queue to show an error in.
    if !usecase::moderates(&user, &d) {
        return Err(AppError::forbidden().into());
    }
    let outcome = match usecase::parse_moderation(&form.action, &form.reason) {
        Ok(action) => {
            usecase::moderate(
                &state,
                &user,
                id,
                comment,
                &action,
                OffsetDateTime::now_utc(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/discussions/{id}#moderation")).into_response()),
        Err(e) if shown_on_page(&e) => {
            let d = state.store.discussion(id).await?;
            let attempt = Attempt::Moderation {
                comment,
                reason: &form.reason,
                error: &e,
            };
            let page =
                discussion_page(&state, &ctx, &d, CommentsCursor::default(), attempt).await?;
            Ok(render_status(e.status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::pages::polls::zone_name;

    fn lines(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter()
            .map(|p| p.iter().map(|l| (*l).to_owned()).collect())
            .collect()
    }

    #[test]
    fn text_is_split_into_paragraphs_and_lines() {
        assert_eq!(
            paragraphs("Первый абзац,\r\nвторая строка.\r\n\r\n  \n\nВторой абзац.  \n"),
            lines(&[&["Первый абзац,", "вторая строка."], &["Второй абзац."]])
        );
        assert_eq!(paragraphs(""), lines(&[]));
        assert_eq!(paragraphs("\n \n"), lines(&[]));
        assert_eq!(
            paragraphs("  отступ сохраняется"),
            lines(&[&["  отступ сохраняется"]])
        );
        // Markup is kept as text: the template escapes it.
        assert_eq!(paragraphs("<b>x</b>"), lines(&[&["<b>x</b>"]]));
    }

    #[test]
    fn numbers_read_as_people_do() {
        assert_eq!(comments_count(1), "1 комментарий");
        assert_eq!(comments_count(3), "3 комментария");
        assert_eq!(comments_count(11), "11 комментариев");
        assert_eq!(comments_count(21), "21 комментарий");
        assert_eq!(comments_count(0), "0 комментариев");
        assert_eq!(zone_name(UtcOffset::from_hms(7, 0, 0).unwrap()), "UTC+7");
        assert_eq!(zone_name(moscow()), "МСК");
    }

    #[test]
    fn a_new_discussion_opens_at_the_next_full_hour_for_thirty_days() {
        let now = time::macros::datetime!(2026-03-10 09:41:17 UTC);
        let input = blank_input(now);
        // 12:41 in Moscow: the next full hour is 13:00.
        assert_eq!(input.opens_at, "2026-03-10T13:00");
        assert_eq!(input.closes_at, "2026-04-09T13:00");
        assert_eq!(input.region, "");
    }

    #[test]
    fn a_rejected_comment_says_why() {
        let comment = CommentRecord {
            id: CommentId(1),
            body: "текст".to_owned(),
            status: CommentStatus::Rejected,
            reason: Some(RejectionReason::PersonalData),
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(status_label(&comment), "отклонён: персональные данные");
        let pending = CommentRecord {
            status: CommentStatus::Pending,
            reason: None,
            ..comment
        };
        assert_eq!(status_label(&pending), "на модерации");
    }

    #[test]
    fn times_are_read_in_the_region() {
        let regions = vec![Region {
            id: RegionId(54),
            code: "54".to_owned(),
            name: "Новосибирская область".to_owned(),
            utc_offset_minutes: 420,
            okato: None,
            federal_district: None,
        }];
        assert_eq!(offset_of(&regions, Some(RegionId(54))).whole_minutes(), 420);
        assert_eq!(offset_of(&regions, None).whole_minutes(), 180);
        assert_eq!(offset_of(&regions, Some(RegionId(1))).whole_minutes(), 180);
        let at = time::macros::datetime!(2026-03-10 09:05 UTC);
        assert_eq!(when(at, moscow()).text, "10.03.2026 12:05 МСК");
    }
}
