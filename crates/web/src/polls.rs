//! Polls and votes as pages and the API both use them: creating a poll, who sees which,
//! casting a ballot through the ballot box (group commit), results within the results
//! policy, receipts, and the published list of ballots after the close.

use std::sync::Arc;

use otklik_domain::access::{self, Capability, Verification};
use otklik_domain::attachment::Attachment;
use otklik_domain::lifecycle::Role;
use otklik_domain::poll::{
    self, AgeGroup, BallotId, CheckedBallot, Eligibility, Phase, PhotoMove, PhotoSlot, PollKind,
    PollSpec, RawAnswer, ResultsPolicy, Schedule, MIN_GROUP,
};
use otklik_domain::{MunicipalityId, OrgId, PollId, RegionId, ValidationErrors};
use otklik_store::{
    BallotChannel, BallotReceipt, CastOutcome, NewBallot, NewOptionPhoto, NewPoll, OptionPhoto,
    OptionPhotoFile, PollCount, PollFilter, PollRecord, Store, StoreError, UserRecord,
};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use tokio::sync::{mpsc, oneshot};

use crate::error::AppError;
use crate::AppState;

/// The most ballots one commit takes.
const BATCH: usize = 1024;
/// Ballots waiting for the writer beyond this are refused with 503 (back-pressure).
const QUEUE: usize = 65_536;

type Reply = oneshot::Sender<Result<CastOutcome, StoreError>>;

/// The one writer of ballots: requests wait in a queue, and the writer commits whatever
/// is waiting in one transaction (group commit), then answers each. A ballot's success is
/// answered only after its commit (a commit whose answer was lost is settled by the store
/// first: the outcomes when the batch is in the box, an error when it is not).
#[derive(Clone)]
pub struct BallotBox {
    queue: mpsc::Sender<(NewBallot, Reply)>,
}

impl BallotBox {
    /// Starts the writer; it stops when the last handle is dropped.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(write_ballots(store, waiting));
        Self { queue }
    }

    pub async fn cast(&self, ballot: NewBallot) -> Result<CastOutcome, AppError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send((ballot, reply))
            .map_err(|_| AppError::too_many_requests("ballot_box_busy", 1))?;
        match answer.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(AppError::internal()),
        }
    }
}

async fn write_ballots(store: Arc<dyn Store>, mut waiting: mpsc::Receiver<(NewBallot, Reply)>) {
    let mut pending = Vec::with_capacity(BATCH);
    while waiting.recv_many(&mut pending, BATCH).await > 0 {
        let (ballots, replies): (Vec<NewBallot>, Vec<Reply>) = pending.drain(..).unzip();
        match store
            .cast_ballots(&ballots, OffsetDateTime::now_utc())
            .await
        {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(
                    code = e.code(),
                    ballots = ballots.len(),
                    "ballots not stored: {e}"
                );
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Conflict("ballots_not_stored")));
                }
            }
        }
    }
}

/// Polls as the voting path reads them, kept for a second: a ballot then costs no read
/// of the poll's definition. Safe to be a second stale: the store checks the schedule,
/// cancellation and finalisation again in the transaction that writes the ballot.
#[derive(Default)]
pub struct PollCache {
    polls:
        std::sync::Mutex<std::collections::HashMap<PollId, (std::time::Instant, Arc<PollRecord>)>>,
}

impl PollCache {
    const TTL: std::time::Duration = std::time::Duration::from_secs(1);
    const MAX: usize = 10_000;

    pub async fn get(&self, store: &dyn Store, id: PollId) -> Result<Arc<PollRecord>, AppError> {
        let now = std::time::Instant::now();
        if let Ok(polls) = self.polls.lock() {
            if let Some((at, poll)) = polls.get(&id) {
                if now.duration_since(*at) < Self::TTL {
                    return Ok(poll.clone());
                }
            }
        }
        let poll = Arc::new(store.poll(id).await?);
        if let Ok(mut polls) = self.polls.lock() {
            if polls.len() >= Self::MAX {
                polls.retain(|_, (at, _)| now.duration_since(*at) < Self::TTL);
            }
            polls.insert(id, (now, poll.clone()));
        }
        Ok(poll)
    }

    pub fn forget(&self, id: PollId) {
        if let Ok(mut polls) = self.polls.lock() {
            polls.remove(&id);
        }
    }
}

// --- creating ----------------------------------------------------------------------------

/// What an organiser typed or sent for a new poll.
#[derive(Debug, Clone, Default)]
pub struct PollInput {
    pub kind: String,
    pub title: String,
    pub description: String,
    /// The questions in the text form (`poll::parse_text`), or…
    pub questions_text: String,
    /// …as JSON (the API), when given.
    pub questions: Option<Vec<poll::Question>>,
    /// `YYYY-MM-DDTHH:MM` in the territory's local time.
    pub opens_at: String,
    pub closes_at: String,
    pub results: String,
    pub verification: String,
    /// Empty: no minimum.
    pub min_age: String,
    /// A region id; empty: all of Russia.
    pub region: String,
    /// A municipality id of that region; empty: the whole region.
    pub municipality: String,
}

/// Whose poll a person may create: an organisation's own people for it, the operator for
/// the platform (`None`).
pub fn organiser_of(user: &UserRecord) -> Result<Option<OrgId>, AppError> {
    access::check(
        Some(&crate::auth::principal_of(user, None)),
        Capability::RunPolls,
    )?;
    Ok(match user.role {
        Role::Official(org) | Role::OrgAdmin(org) => Some(org),
        _ => None,
    })
}

/// May this person manage (see texts of, cancel) this poll?
pub fn manages(user: &UserRecord, poll: &PollRecord) -> bool {
    organiser_of(user).is_ok_and(|org| match (org, user.role) {
        (_, Role::Operator) => true,
        (Some(org), _) => poll.org == Some(org),
        (None, _) => false,
    })
}

fn local_instant(raw: &str, offset: UtcOffset) -> Result<OffsetDateTime, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("required");
    }
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    PrimitiveDateTime::parse(raw, &format)
        .map(|t| t.assume_offset(offset))
        .map_err(|_| "not_a_datetime")
}

/// A poll's own values, each None when refused.
pub struct Definition {
    pub title: Option<String>,
    pub description: Option<String>,
    pub spec: Option<PollSpec>,
    pub results: Option<ResultsPolicy>,
    pub verification: Option<Verification>,
    pub min_age: Option<Option<u8>>,
}

/// Checks a poll's own values (kind, title, description, questions, results policy,
/// verification, minimum age) without the store; every refusal is added to `errors`.
/// The territory and the schedule (in the territory's time) are checked after.
pub fn check_definition(input: &PollInput, errors: &mut ValidationErrors) -> Definition {
    let kind = match PollKind::parse(input.kind.trim()) {
        Some(kind) => Some(kind),
        None => {
            errors.push("kind", "unknown_poll_kind");
            None
        }
    };
    let title = errors.check("title", text_field(&input.title, 3, 300));
    let description = errors.check("description", text_field(&input.description, 0, 5000));
    let spec = kind.and_then(|kind| {
        let parsed = match &input.questions {
            Some(questions) => PollSpec::new(kind, questions.clone()),
            None => poll::parse_text(kind, &input.questions_text),
        };
        match parsed {
            Ok(spec) => Some(spec),
            Err(e) => {
                let field = match (e.question, input.questions.is_some()) {
                    (Some(q), true) => format!("questions[{q}]"),
                    _ => "questions".to_owned(),
                };
                errors.push(field, e.code);
                None
            }
        }
    });
    let results = ResultsPolicy::parse(input.results.trim()).or_else(|| {
        errors.push("results", "unknown_results_policy");
        None
    });
    let verification = match input.verification.trim() {
        "" => Some(Verification::Verified),
        raw => Verification::parse(raw).or_else(|| {
            errors.push("verification", "unknown_verification");
            None
        }),
    };
    let min_age = match input.min_age.trim() {
        "" => Some(None),
        raw => match raw.parse::<u8>() {
            Ok(age) if age <= 120 => Some(Some(age)),
            _ => {
                errors.push("min_age", "out_of_range");
                None
            }
        },
    };
    Definition {
        title,
        description,
        spec,
        results,
        verification,
        min_age,
    }
}

/// Checks and creates a poll.
pub async fn create(
    state: &AppState,
    user: &UserRecord,
    input: &PollInput,
    now: OffsetDateTime,
) -> Result<PollId, AppError> {
    let org = organiser_of(user)?;
    let mut errors = ValidationErrors::default();
    let Definition {
        title,
        description,
        spec,
        results,
        verification,
        min_age,
    } = check_definition(input, &mut errors);
    let (region, municipality, offset) = territory(state, org, input, &mut errors).await?;
    let opens = errors.check("opens_at", local_instant(&input.opens_at, offset));
    let closes = errors.check("closes_at", local_instant(&input.closes_at, offset));
    let schedule = match (opens, closes) {
        (Some(opens), Some(closes)) if closes <= now => {
            errors.push("closes_at", "in_the_past");
            let _ = opens;
            None
        }
        (Some(opens), Some(closes)) => errors.check("closes_at", Schedule::new(opens, closes)),
        _ => None,
    };
    let (
        Some(title),
        Some(description),
        Some(spec),
        Some(results),
        Some(verification),
        Some(min_age),
        Some(schedule),
        true,
    ) = (
        title,
        description,
        spec,
        results,
        verification,
        min_age,
        schedule,
        errors.is_empty(),
    )
    else {
        return Err(AppError::validation(errors));
    };
    let poll = NewPoll {
        org,
        title,
        description,
        spec,
        eligibility: Eligibility {
            verification,
            min_age,
            region,
            municipality,
        },
        offset,
        schedule,
        results,
        by: user.id,
    };
    Ok(state.store.create_poll(poll, now).await?)
}

/// The title, the schedule (in the territory's local time, closing in the future) and
/// the region of a poll or discussion, each checked; the field errors otherwise.
pub async fn check_schedule_and_territory(
    state: &AppState,
    organiser: Option<OrgId>,
    input: &PollInput,
    now: OffsetDateTime,
) -> Result<(String, Schedule, Option<RegionId>), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let title = errors.check("title", text_field(&input.title, 3, 300));
    let (region, _, offset) = match territory(state, organiser, input, &mut errors).await {
        Ok(found) => found,
        Err(_) => {
            errors.push("region", "unknown_region");
            (None, None, UtcOffset::UTC)
        }
    };
    let opens = errors.check("opens_at", local_instant(&input.opens_at, offset));
    let closes = errors.check("closes_at", local_instant(&input.closes_at, offset));
    let schedule = match (opens, closes) {
        (Some(_), Some(closes)) if closes <= now => {
            errors.push("closes_at", "in_the_past");
            None
        }
        (Some(opens), Some(closes)) => errors.check("closes_at", Schedule::new(opens, closes)),
        _ => None,
    };
    match (title, schedule, errors.is_empty()) {
        (Some(title), Some(schedule), true) => Ok((title, schedule, region)),
        _ => Err(errors),
    }
}

fn text_field(raw: &str, min: usize, max: usize) -> Result<String, &'static str> {
    let text = raw.trim();
    let len = text.chars().count();
    if len < min {
        return Err(if len == 0 { "required" } else { "too_short" });
    }
    if len > max {
        return Err("too_long");
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err("control_characters");
    }
    Ok(text.to_owned())
}

/// The poll's territory and the UTC offset its times are in (Moscow time for all of
/// Russia).
/// The poll's region and municipality (checked against the organiser's own territory)
/// and the UTC offset its schedule is read in.
async fn territory(
    state: &AppState,
    organiser: Option<OrgId>,
    input: &PollInput,
    errors: &mut ValidationErrors,
) -> Result<(Option<RegionId>, Option<MunicipalityId>, UtcOffset), AppError> {
    let found = read_territory(state, input, errors).await?;
    if let Some(org) = organiser {
        let org = state.store.organisation(org).await?;
        if let Err((field, code)) =
            poll::organiser_may_target(org.region, org.municipality, found.0, found.1)
        {
            errors.push(field, code);
        }
    }
    Ok(found)
}

async fn read_territory(
    state: &AppState,
    input: &PollInput,
    errors: &mut ValidationErrors,
) -> Result<(Option<RegionId>, Option<MunicipalityId>, UtcOffset), AppError> {
    let moscow = UtcOffset::from_hms(3, 0, 0).unwrap_or(UtcOffset::UTC);
    let region = match input.region.trim() {
        "" => None,
        raw => {
            let regions = state.store.regions().await?;
            match raw
                .parse::<i64>()
                .ok()
                .and_then(|id| regions.into_iter().find(|r| r.id.0 == id))
            {
                Some(region) => Some(region),
                None => {
                    errors.push("region", "unknown_region");
                    return Ok((None, None, moscow));
                }
            }
        }
    };
    let Some(region) = region else {
        if !input.municipality.trim().is_empty() {
            errors.push("municipality", "region_required");
        }
        return Ok((None, None, moscow));
    };
    let region_offset = offset_of(region.utc_offset_minutes).unwrap_or(moscow);
    let municipality = match input.municipality.trim() {
        "" => None,
        raw => {
            let found = match raw.parse::<i64>() {
                Ok(id) => state
                    .store
                    .municipalities(region.id)
                    .await?
                    .into_iter()
                    .find(|m| m.id.0 == id),
                Err(_) => None,
            };
            match found {
                Some(m) => Some(m),
                None => {
                    errors.push("municipality", "unknown_municipality");
                    None
                }
            }
        }
    };
    let offset = municipality
        .as_ref()
        .and_then(|m| offset_of(m.utc_offset_minutes))
        .unwrap_or(region_offset);
    Ok((Some(region.id), municipality.map(|m| m.id), offset))
}

fn offset_of(minutes: i32) -> Option<UtcOffset> {
    UtcOffset::from_whole_seconds(minutes.checked_mul(60)?).ok()
}

// --- seeing and voting ------------------------------------------------------------------------

/// A poll as a person sees it: public unless cancelled (then only to its organisers).
pub async fn visible(
    state: &AppState,
    user: Option<&UserRecord>,
    id: PollId,
) -> Result<PollRecord, AppError> {
    let poll = state.store.poll(id).await?;
    if poll.cancelled_at.is_some() && !user.is_some_and(|u| manages(u, &poll)) {
        return Err(AppError::not_found());
    }
    Ok(poll)
}

/// The polls open now that this person may see: for a citizen, those of the whole
/// country and of their home region; for a visitor, all.
pub async fn open_polls(
    state: &AppState,
    user: Option<&UserRecord>,
    now: OffsetDateTime,
) -> Result<Vec<PollRecord>, AppError> {
    let region = match user {
        Some(u) if u.role == Role::Citizen => Some(state.store.voter(u.id).await?.facts.region),
        _ => None,
    };
    Ok(state
        .store
        .polls(
            PollFilter {
                open_at: Some(now),
                region,
                ..PollFilter::default()
            },
            200,
        )
        .await?)
}

/// Where a person stands with a poll: may vote, has voted, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    MayVote,
    Voted,
    NotOpen(Phase),
    Ineligible(&'static str),
    /// Staff and visitors do not vote.
    NotAVoter,
}

pub async fn standing(
    state: &AppState,
    user: Option<&UserRecord>,
    poll: &PollRecord,
    now: OffsetDateTime,
) -> Result<Standing, AppError> {
    let phase = phase_of(poll, now);
    if phase != Phase::Open {
        return Ok(Standing::NotOpen(phase));
    }
    let Some(user) = user.filter(|u| u.role == Role::Citizen) else {
        return Ok(Standing::NotAVoter);
    };
    let voter = state.store.voter(user.id).await?;
    if state.store.has_voted(poll.id, &voter.keys).await? {
        return Ok(Standing::Voted);
    }
    match poll.eligibility.check(&voter.facts, poll.local_date(now)) {
        Ok(()) => Ok(Standing::MayVote),
        Err(code) => Ok(Standing::Ineligible(code)),
    }
}

/// A cancelled poll counts as closed.
pub fn phase_of(poll: &PollRecord, now: OffsetDateTime) -> Phase {
    if poll.cancelled_at.is_some() {
        Phase::Closed
    } else {
        poll.schedule.phase(now)
    }
}

/// Casts a ballot: the person must be a citizen, the poll open, the person eligible and
/// not yet on its roll, and the answers valid. Answers the ballot's id (the voter's key
/// to the receipt).
pub async fn vote(
    state: &AppState,
    user: &UserRecord,
    id: PollId,
    answers: &[RawAnswer],
    channel: BallotChannel,
    now: OffsetDateTime,
) -> Result<(BallotId, u64), AppError> {
    access::check(
        Some(&crate::auth::principal_of(user, None)),
        Capability::Vote,
    )?;
    let poll = state.poll_cache.get(state.store.as_ref(), id).await?;
    if phase_of(&poll, now) != Phase::Open {
        return Err(AppError::new(
            axum::http::StatusCode::CONFLICT,
            "poll_not_open",
        ));
    }
    let voter = state.store.voter(user.id).await?;
    let today = poll.local_date(now);
    poll.eligibility
        .check(&voter.facts, today)
        .map_err(|code| AppError::new(axum::http::StatusCode::FORBIDDEN, code))?;
    let checked = check_answers(&poll.spec, answers)?;
    let ballot = NewBallot {
        poll: poll.id,
        voter_keys: voter.keys,
        ballot: checked.ballot,
        texts: checked.texts,
        region: voter.facts.region,
        age_group: AgeGroup::of(voter.facts.birth_date, today),
        channel,
    };
    match state.ballots.cast(ballot).await? {
        CastOutcome::Cast {
            ballot_id,
            leaf_index,
        } => Ok((ballot_id, leaf_index)),
        CastOutcome::AlreadyVoted => Err(AppError::new(
            axum::http::StatusCode::CONFLICT,
            "already_voted",
        )),
        CastOutcome::NotOpen => Err(AppError::new(
            axum::http::StatusCode::CONFLICT,
            "poll_not_open",
        )),
        CastOutcome::UnknownPoll => Err(AppError::not_found()),
    }
}

/// A ballot's answers checked against the poll's questions (pages, widget and API): the
/// checked ballot, or the first bad answer as the field `answers[i]`. Pure, so that it is
/// fuzzed without a store.
pub fn check_answers(spec: &PollSpec, answers: &[RawAnswer]) -> Result<CheckedBallot, AppError> {
    spec.check_ballot(answers)
        .map_err(|e| AppError::field(&format!("answers[{}]", e.question), e.code))
}

/// Cancels a poll that has not closed (its organisers).
pub async fn cancel(
    state: &AppState,
    user: &UserRecord,
    id: PollId,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let poll = visible(state, Some(user), id).await?;
    if !manages(user, &poll) {
        return Err(AppError::forbidden());
    }
    state.store.cancel_poll(id, now).await?;
    state.poll_cache.forget(id);
    Ok(())
}

// --- photos of choice questions' options (a vote's projects, a survey's answers) -------------

/// The poll an organiser edits: organisers only (403 otherwise); another organisation's
/// poll is answered as if it did not exist (404).
async fn managed(state: &AppState, user: &UserRecord, id: PollId) -> Result<PollRecord, AppError> {
    organiser_of(user)?;
    let poll = visible(state, Some(user), id).await?;
    if !manages(user, &poll) {
        return Err(AppError::not_found());
    }
    Ok(poll)
}

fn photo_refusal(code: &'static str) -> AppError {
    let status = match code {
        "unknown_option" | "unknown_question" => axum::http::StatusCode::NOT_FOUND,
        _ => axum::http::StatusCode::CONFLICT,
    };
    AppError::new(status, code)
}

/// Whether the photos of this poll's options may change now (a poll with a choice
/// question, before it opens, not cancelled): what the page offers.
pub fn photos_editable(poll: &PollRecord, now: OffsetDateTime) -> bool {
    poll::has_photo_options(&poll.spec)
        && phase_of(poll, now) == Phase::Upcoming
        && poll.cancelled_at.is_none()
}

/// Adds a photo to an option of a choice question, last in its order (its organisers,
/// before the poll opens): an image only (JPEG, PNG or WebP, ≤ 10 MiB), its metadata
/// removed, at most [`poll::MAX_OPTION_PHOTOS`] per option. A refusal changes nothing.
pub async fn add_photo(
    state: &AppState,
    user: &UserRecord,
    id: PollId,
    slot: PhotoSlot,
    file: (String, Vec<u8>),
    now: OffsetDateTime,
) -> Result<OptionPhoto, AppError> {
    let poll = managed(state, user, id).await?;
    poll::check_photos_editable(
        &poll.spec,
        slot,
        phase_of(&poll, now),
        poll.cancelled_at.is_some(),
    )
    .map_err(photo_refusal)?;
    let image = Attachment::parse_image(&file.0, file.1).map_err(|code| AppError {
        code,
        ..AppError::field("photo", code)
    })?;
    let photo = NewOptionPhoto {
        question: slot.question,
        option: slot.option,
        name: image.name().to_owned(),
        mime: image.file_type().mime().to_owned(),
        bytes: image.into_bytes(),
        by: user.id,
    };
    Ok(state.store.add_option_photo(id, photo, now).await?)
}

/// Removes a photo of a vote's option (its organisers, before it opens).
pub async fn remove_photo(
    state: &AppState,
    user: &UserRecord,
    id: PollId,
    photo: i64,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let poll = managed(state, user, id).await?;
    if phase_of(&poll, now) != Phase::Upcoming {
        return Err(photo_refusal("poll_not_editable"));
    }
    Ok(state.store.remove_option_photo(id, photo, now).await?)
}

/// Moves a photo one place among its option's photos (its organisers, before the poll
/// opens); the option's photos in their new order.
pub async fn move_photo(
    state: &AppState,
    user: &UserRecord,
    id: PollId,
    photo: i64,
    way: PhotoMove,
    now: OffsetDateTime,
) -> Result<Vec<OptionPhoto>, AppError> {
    let poll = managed(state, user, id).await?;
    if phase_of(&poll, now) != Phase::Upcoming || poll.cancelled_at.is_some() {
        return Err(photo_refusal("poll_not_editable"));
    }
    Ok(state.store.move_option_photo(id, photo, way, now).await?)
}

/// A photo of a visible poll's option, to serve.
pub async fn photo(
    state: &AppState,
    user: Option<&UserRecord>,
    id: PollId,
    photo: i64,
) -> Result<OptionPhotoFile, AppError> {
    visible(state, user, id).await?;
    Ok(state.store.option_photo(id, photo).await?)
}

/// The text alternative of an option's photo: «Фото проекта: …» in a vote, «Фото
/// варианта ответа: …» in a survey, with its number when the option has several.
pub fn photo_alt(poll: &PollRecord, slot: PhotoSlot, n: usize, of: usize) -> String {
    let title = poll
        .spec
        .questions()
        .get(usize::from(slot.question))
        .and_then(|q| q.kind.options().get(usize::from(slot.option)))
        .map_or("", |o| o.title.as_str());
    let what = match poll.kind() {
        PollKind::Vote => "Фото проекта",
        PollKind::Survey => "Фото варианта ответа",
    };
    if of > 1 {
        format!("{what}: {title} ({n} из {of})")
    } else {
        format!("{what}: {title}")
    }
}

/// Where a photo is served (public while the poll is).
pub fn photo_url(photo: &OptionPhoto) -> String {
    format!("/polls/{}/photos/{}", photo.poll.0, photo.id)
}

// --- results -------------------------------------------------------------------------------------

/// A poll's results as shown: per question, and broken down by one dimension at a time
/// where each group has at least [`MIN_GROUP`] ballots.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    pub ballots: u64,
    pub questions: Vec<QuestionResult>,
    /// (dimension, value, ballots, counts of the first question's slots) for groups big
    /// enough to show; smaller groups are summed into `hidden`.
    pub breakdowns: Vec<Breakdown>,
    pub turnout_by_day: Vec<(String, u64)>,
    pub final_results: bool,
    /// While the poll runs: how often and after how many new ballots the live counts
    /// change (`None`: exact counts, the final ones or with copies turned off).
    pub snapshot: Option<SnapshotRule>,
}

/// When live results change: at most once per `seconds`, after `min_ballots` new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotRule {
    pub seconds: u32,
    pub min_ballots: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuestionResult {
    pub text: String,
    pub kind: &'static str,
    pub answered: u64,
    /// Per option (choices, ranking) or per value (scale): label, count, share of answers
    /// in per mille; for a ranking the count is Borda points and `firsts` first places.
    pub rows: Vec<ResultRow>,
    /// A scale's mean, in hundredths.
    pub mean_centi: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    pub label: String,
    pub count: u64,
    pub per_mille: u64,
    pub firsts: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown {
    pub dimension: &'static str,
    pub groups: Vec<(String, u64)>,
    /// Ballots in groups too small to show.
    pub hidden: u64,
}

/// The results, when the policy lets anyone see them now.
pub async fn results(
    state: &AppState,
    poll: &PollRecord,
    now: OffsetDateTime,
) -> Result<Results, AppError> {
    let phase = phase_of(poll, now);
    if poll.cancelled_at.is_some() || !poll.results.visible(phase) {
        return Err(AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "results_embargoed",
        ));
    }
    let rule = live_snapshot_rule(&state.config.polls).filter(|_| phase != Phase::Closed);
    let counts = match rule {
        // A copy, so that comparing two views never shows one person's choice.
        Some(rule) => {
            let bucket = now.unix_timestamp().div_euclid(i64::from(rule.seconds));
            state
                .store
                .poll_counts_snapshot(poll.id, bucket, u64::from(rule.min_ballots))
                .await?
        }
        None => state.store.poll_counts(poll.id).await?,
    };
    let mut results = summarise(poll, &counts, turnout_of(&counts), phase == Phase::Closed);
    results.snapshot = rule;
    Ok(results)
}

fn live_snapshot_rule(config: &crate::config::PollsConfig) -> Option<SnapshotRule> {
    (config.live_snapshot_seconds > 0).then_some(SnapshotRule {
        seconds: config.live_snapshot_seconds,
        min_ballots: config.live_snapshot_min_ballots.max(1),
    })
}

/// Ballots per local day, from the counts' `day` dimension.
fn turnout_of(counts: &[PollCount]) -> Vec<(String, u64)> {
    let mut days: Vec<(String, u64)> = counts
        .iter()
        .filter(|c| c.dimension == "day" && c.question == -1)
        .map(|c| (c.value.clone(), c.count))
        .collect();
    days.sort();
    days
}

fn summarise(
    poll: &PollRecord,
    counts: &[PollCount],
    turnout_by_day: Vec<(String, u64)>,
    final_results: bool,
) -> Results {
    let overall = |question: i32, slot: u32| {
        counts
            .iter()
            .find(|c| c.dimension == "all" && c.question == question && c.slot == slot)
            .map_or(0, |c| c.count)
    };
    let ballots = overall(-1, 0);
    let questions = poll
        .spec
        .questions()
        .iter()
        .enumerate()
        .map(|(q, question)| {
            let qi = q as i32;
            let answered = overall(qi, poll::ANSWERED_SLOT);
            let share = |n: u64, of: u64| (n * 1000).checked_div(of).unwrap_or(0);
            let mut mean_centi = None;
            let rows = match &question.kind {
                poll::QuestionKind::Single { options }
                | poll::QuestionKind::Multiple { options, .. } => options
                    .iter()
                    .enumerate()
                    .map(|(o, option)| {
                        let count = overall(qi, o as u32);
                        ResultRow {
                            label: option.title.clone(),
                            count,
                            per_mille: share(count, answered),
                            firsts: None,
                        }
                    })
                    .collect(),
                poll::QuestionKind::Ranking { options } => {
                    let n = options.len() as u32;
                    let total: u64 = (0..n).map(|o| overall(qi, o)).sum();
                    options
                        .iter()
                        .enumerate()
                        .map(|(o, option)| {
                            let count = overall(qi, o as u32);
                            ResultRow {
                                label: option.title.clone(),
                                count,
                                per_mille: share(count, total),
                                firsts: Some(overall(qi, n + o as u32)),
                            }
                        })
                        .collect()
                }
                poll::QuestionKind::Scale { min, max } => {
                    let rows: Vec<ResultRow> = (*min..=*max)
                        .map(|v| {
                            let count = overall(qi, u32::from(v));
                            ResultRow {
                                label: v.to_string(),
                                count,
                                per_mille: share(count, answered),
                                firsts: None,
                            }
                        })
                        .collect();
                    let sum: u64 = (*min..=*max)
                        .map(|v| u64::from(v) * overall(qi, u32::from(v)))
                        .sum();
                    mean_centi = (answered > 0).then(|| sum * 100 / answered);
                    rows
                }
                poll::QuestionKind::FreeText { .. } => Vec::new(),
            };
            QuestionResult {
                text: question.text.clone(),
                kind: question.kind.type_name(),
                answered,
                rows,
                mean_centi,
            }
        })
        .collect();
    let breakdowns = ["region", "age", "channel"]
        .into_iter()
        .map(|dimension| {
            let mut groups = Vec::new();
            let mut hidden = 0;
            for c in counts
                .iter()
                .filter(|c| c.dimension == dimension && c.question == -1)
            {
                if c.count >= MIN_GROUP {
                    groups.push((c.value.clone(), c.count));
                } else {
                    hidden += c.count;
                }
            }
            Breakdown {
                dimension,
                groups,
                hidden,
            }
        })
        .collect();
    Results {
        ballots,
        questions,
        breakdowns,
        turnout_by_day,
        final_results,
        snapshot: None,
    }
}

// --- receipts and the published list --------------------------------------------------------

/// A ballot's receipt, signing a fresh head of the poll's log when none covers it yet.
pub async fn receipt(
    state: &AppState,
    poll: &PollRecord,
    ballot_id: &str,
    now: OffsetDateTime,
) -> Result<BallotReceipt, AppError> {
    let ballot_id = BallotId::parse(ballot_id).map_err(|_| AppError::not_found())?;
    if let Some(receipt) = state.store.ballot_receipt(poll.id, &ballot_id).await? {
        return Ok(receipt);
    }
    let signer = otklik_store::poll_signer(&state.log_signer, poll.id);
    state
        .store
        .sign_poll_head(poll.id, &signer, now, false)
        .await?;
    state
        .store
        .ballot_receipt(poll.id, &ballot_id)
        .await?
        .ok_or_else(AppError::internal)
}

/// Finalises a closed poll (signs the head of its final tree) if that was not done yet;
/// answers the number of ballots and the final head. Refused with `poll_open` before the
/// close.
pub async fn finalise(
    state: &AppState,
    poll: &PollRecord,
    now: OffsetDateTime,
) -> Result<(u64, otklik_log::SignedTreeHead), AppError> {
    if let (Some(size), Some(head)) = (poll.final_size, &poll.final_head) {
        return Ok((size, head.clone()));
    }
    if phase_of(poll, now) != Phase::Closed {
        return Err(AppError::new(axum::http::StatusCode::CONFLICT, "poll_open"));
    }
    let signer = otklik_store::poll_signer(&state.log_signer, poll.id);
    state
        .store
        .sign_poll_head(poll.id, &signer, now, true)
        .await?;
    let poll = state.store.poll(poll.id).await?;
    match (poll.final_size, poll.final_head) {
        (Some(size), Some(head)) => Ok((size, head)),
        _ => Err(AppError::internal()),
    }
}

/// The poll's public key (for its tree heads), base64.
pub fn public_key(state: &AppState, poll: PollId) -> String {
    otklik_log::encode_b64(&otklik_store::poll_signer(&state.log_signer, poll).public_key_bytes())
}
