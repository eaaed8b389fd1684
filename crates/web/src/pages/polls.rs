//! Polls and votes as pages: the polls open now, a poll with its ballot form, the
//! acknowledgement of a vote (the ballot id is shown once in the page, never put in a
//! URL), the results, a new poll for organisers and cancelling one. Every page works
//! without JavaScript: radio buttons, checkboxes, selects for a ranking, and a plain-text
//! form for the questions.

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FormRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use otklik_domain::access::{self, Capability, Verification};
use otklik_domain::lifecycle::Role;
use otklik_domain::poll::{
    AgeGroup, Phase, PhotoMove, PhotoSlot, PollKind, PollSpec, QuestionKind, RawAnswer,
    ResultsPolicy,
};
use otklik_domain::PollId;
use otklik_store::{PollFilter, PollRecord, UserRecord};
use serde::Deserialize;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::forms::{self, FieldView, SummaryItem};
use super::views::Chrome;
use super::{render, render_status, CsrfForm, PageError, PageResult};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::export::{self, download, to_csv, to_xlsx, Cell, Sheet};
use crate::messages;
use crate::polls::{self as usecase, PollInput, Standing};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/polls", get(list))
        .route("/polls/new", get(new_form).post(new_post))
        .route("/polls/{id}", get(show))
        .route("/polls/{id}/vote", post(vote_post))
        .route("/polls/{id}/results", get(results_page))
        .route("/polls/{id}/results.csv", get(results_csv))
        .route("/polls/{id}/results.xlsx", get(results_xlsx))
        .route("/polls/{id}/receipt", post(receipt_lookup))
        .route("/polls/{id}/cancel", post(cancel_post))
        .route(
            "/polls/{id}/options/{option}/photos",
            post(photo_post).layer(DefaultBodyLimit::max(PHOTO_UPLOAD_LIMIT)),
        )
        .route(
            "/polls/{id}/questions/{question}/options/{option}/photos",
            post(question_photo_post).layer(DefaultBodyLimit::max(PHOTO_UPLOAD_LIMIT)),
        )
        .route("/polls/{id}/photos/{photo}", get(photo_get))
        .route("/polls/{id}/photos/{photo}/delete", post(photo_delete_post))
        .route("/polls/{id}/photos/{photo}/move", post(photo_move_post))
}

/// An id from the URL; anything that is not a number is a page that does not exist.
fn poll_id(raw: &str) -> Result<PollId, PageError> {
    raw.parse::<i64>()
        .map(PollId)
        .map_err(|_| PageError(AppError::not_found()))
}

fn kind_label(kind: PollKind) -> &'static str {
    match kind {
        PollKind::Survey => "Опрос",
        PollKind::Vote => "Голосование",
    }
}

fn organisation(poll: &PollRecord) -> String {
    poll.org_name
        .clone()
        .unwrap_or_else(|| "Оператор платформы".to_owned())
}

fn phase_label(poll: &PollRecord, now: OffsetDateTime) -> &'static str {
    if poll.cancelled_at.is_some() {
        return "Отменён";
    }
    match usecase::phase_of(poll, now) {
        Phase::Upcoming => "Ещё не начался",
        Phase::Open => "Идёт",
        Phase::Closed => "Завершён",
    }
}

/// A moment as people read it: in the poll's (or discussion's) local time with its
/// zone, and as RFC 3339 for `<time datetime>`.
pub struct When {
    pub iso: String,
    pub text: String,
}

pub(crate) fn when(at: OffsetDateTime, offset: UtcOffset) -> When {
    let local = at.to_offset(offset);
    When {
        iso: local
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        text: format!(
            "{:02}.{:02}.{} {:02}:{:02} {}",
            local.day(),
            u8::from(local.month()),
            local.year(),
            local.hour(),
            local.minute(),
            zone_name(offset)
        ),
    }
}

pub(crate) fn zone_name(offset: UtcOffset) -> String {
    let minutes = offset.whole_minutes();
    if minutes == 180 {
        return "МСК".to_owned();
    }
    let sign = if minutes < 0 { '−' } else { '+' };
    let (h, m) = (minutes.unsigned_abs() / 60, minutes.unsigned_abs() % 60);
    if m == 0 {
        format!("UTC{sign}{h}")
    } else {
        format!("UTC{sign}{h}:{m:02}")
    }
}

pub(crate) fn moscow() -> UtcOffset {
    UtcOffset::from_hms(3, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// «лет» or «года» after «от N» (от 14 лет, от 21 года).
fn years_after_from(n: u8) -> &'static str {
    if n % 10 == 1 && n % 100 != 11 {
        "года"
    } else {
        "лет"
    }
}

/// The word after a number: `one` (1, 21), `few` (2–4, 22–24) or `many` (5–20, 25…).
pub(crate) fn plural(
    n: u64,
    one: &'static str,
    few: &'static str,
    many: &'static str,
) -> &'static str {
    match (n % 10, n % 100) {
        (_, 11..=14) => many,
        (1, _) => one,
        (2..=4, _) => few,
        _ => many,
    }
}

/// «голос», «голоса» or «голосов» after a number.
fn votes_word(n: u64) -> &'static str {
    plural(n, "голос", "голоса", "голосов")
}

/// `YYYY-MM-DDTHH:MM`, as a `datetime-local` input takes it.
pub(crate) fn local_input(t: OffsetDateTime) -> String {
    format!(
        "{}-{:02}-{:02}T{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

// --- the list -------------------------------------------------------------------------------

pub struct PollCard {
    pub id: i64,
    pub title: String,
    pub organisation: String,
    pub kind: &'static str,
    pub phase: &'static str,
    pub opens: When,
    pub closes: When,
}

pub(crate) fn card(poll: &PollRecord, now: OffsetDateTime) -> PollCard {
    PollCard {
        id: poll.id.0,
        title: poll.title.clone(),
        organisation: organisation(poll),
        kind: kind_label(poll.kind()),
        phase: phase_label(poll, now),
        opens: when(poll.schedule.opens_at(), poll.offset),
        closes: when(poll.schedule.closes_at(), poll.offset),
    }
}

#[derive(Template)]
#[template(path = "polls.html")]
struct ListPage {
    chrome: Chrome,
    polls: Vec<PollCard>,
    may_create: bool,
    /// The polls this organiser runs, in any phase (organisers only).
    managed: Vec<PollCard>,
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let now = OffsetDateTime::now_utc();
    let user = ctx.user.as_ref();
    let polls = usecase::open_polls(&state, user, now).await?;
    let organiser = user.and_then(|u| usecase::organiser_of(u).ok().map(|org| (u, org)));
    let managed = match organiser {
        Some((u, org)) => {
            let filter = PollFilter {
                org: match u.role {
                    Role::Operator => None,
                    _ => Some(org),
                },
                ..PollFilter::default()
            };
            state.store.polls(filter, 500).await?
        }
        None => Vec::new(),
    };
    Ok(render(&ListPage {
        chrome: Chrome::new(&ctx, "Опросы и голосования"),
        polls: polls.iter().map(|p| card(p, now)).collect(),
        may_create: organiser.is_some(),
        managed: managed.iter().map(|p| card(p, now)).collect(),
    }))
}

// --- one poll ------------------------------------------------------------------------------

/// What the page says about a poll, whoever looks.
pub struct PollSummary {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub organisation: String,
    pub kind: &'static str,
    pub phase: &'static str,
    pub opens: When,
    pub closes: When,
    pub eligibility: Vec<String>,
    pub results_policy: &'static str,
    pub ballots: u64,
    pub cancelled: bool,
    /// Closed and not cancelled: the ballots are published.
    pub published: bool,
    pub public_key: String,
}

pub(crate) async fn summary_of(
    state: &AppState,
    poll: &PollRecord,
    now: OffsetDateTime,
) -> Result<PollSummary, AppError> {
    let phase = usecase::phase_of(poll, now);
    Ok(PollSummary {
        id: poll.id.0,
        title: poll.title.clone(),
        description: poll.description.clone(),
        organisation: organisation(poll),
        kind: kind_label(poll.kind()),
        phase: phase_label(poll, now),
        opens: when(poll.schedule.opens_at(), poll.offset),
        closes: when(poll.schedule.closes_at(), poll.offset),
        eligibility: eligibility_words(state, poll).await?,
        results_policy: match poll.results {
            ResultsPolicy::Live => "видны сразу, пока идёт голосование",
            ResultsPolicy::Embargoed => "публикуются после окончания",
        },
        ballots: poll.ballots,
        cancelled: poll.cancelled_at.is_some(),
        published: poll.cancelled_at.is_none() && phase == Phase::Closed,
        public_key: usecase::public_key(state, poll.id),
    })
}

/// Who may take part, in words.
async fn eligibility_words(state: &AppState, poll: &PollRecord) -> Result<Vec<String>, AppError> {
    let rules = &poll.eligibility;
    let mut words = vec![match rules.verification {
        Verification::Unverified => {
            "Граждане с любой учётной записью: подтверждение личности не требуется.".to_owned()
        }
        Verification::Standard => {
            "Граждане с учётной записью со стандартным подтверждением личности (документы проверены онлайн) или выше.".to_owned()
        }
        Verification::Verified => {
            "Граждане с подтверждённой учётной записью (личность подтверждена лично, электронной подписью или через банк).".to_owned()
        }
    }];
    if let Some(age) = rules.min_age {
        words.push(format!(
            "Возраст: от {age} {} на день голосования.",
            years_after_from(age)
        ));
    }
    match rules.region {
        None => words.push("Территория: вся Россия.".to_owned()),
        Some(region) => {
            let name = state
                .store
                .regions()
                .await?
                .into_iter()
                .find(|r| r.id == region)
                .map_or_else(|| format!("регион № {}", region.0), |r| r.name);
            match rules.municipality {
                None => words.push(format!("Жители региона: {name}.")),
                Some(m) => {
                    let municipality = state
                        .store
                        .municipalities(region)
                        .await?
                        .into_iter()
                        .find(|x| x.id == m)
                        .map_or_else(|| format!("№ {}", m.0), |x| x.name);
                    words.push(format!(
                        "Жители муниципального образования: {municipality} ({name})."
                    ));
                }
            }
        }
    }
    Ok(words)
}

/// Where the person stands, as the page shows it.
pub struct StandingView {
    /// `may_vote`, `voted`, `upcoming`, `closed`, `ineligible`, `not_a_voter`.
    pub kind: &'static str,
    pub message: String,
    /// A link to the login page (a visitor).
    pub login: bool,
    /// What to do about it, with a link.
    pub help: Option<messages::Help>,
}

pub(crate) fn standing_view(
    standing: &Standing,
    poll: &PollSummary,
    anonymous: bool,
) -> StandingView {
    let plain = |kind, message: String| StandingView {
        kind,
        message,
        login: false,
        help: None,
    };
    match standing {
        Standing::MayVote => plain("may_vote", String::new()),
        Standing::Voted => plain(
            "voted",
            "Вы уже проголосовали. Голос учитывается один раз.".to_owned(),
        ),
        Standing::NotOpen(Phase::Upcoming) => plain(
            "upcoming",
            format!(
                "Голосование ещё не началось: оно откроется {}.",
                poll.opens.text
            ),
        ),
        Standing::NotOpen(_) if poll.cancelled => {
            plain("closed", "Опрос отменён организатором.".to_owned())
        }
        Standing::NotOpen(_) => plain(
            "closed",
            format!("Голосование завершено {}.", poll.closes.text),
        ),
        Standing::Ineligible(code) => StandingView {
            kind: "ineligible",
            message: messages::error(code).to_owned(),
            login: false,
            help: match *code {
                "verification_required" => messages::help("verification_verified_required"),
                "age_unknown" | "outside_region" | "outside_municipality" => Some(messages::Help {
                    text: "Проверьте сведения в профиле.",
                    href: "/account",
                    link: "Учётная запись",
                }),
                _ => None,
            },
        },
        Standing::NotAVoter => StandingView {
            kind: "not_a_voter",
            message: if anonymous {
                "Войдите как гражданин, чтобы проголосовать.".to_owned()
            } else {
                "Голосуют граждане: войдите как гражданин, чтобы проголосовать.".to_owned()
            },
            login: anonymous,
            help: None,
        },
    }
}

/// One option of a question as the ballot form draws it.
pub struct ChoiceView {
    pub id: String,
    pub name: String,
    pub value: String,
    pub label: String,
    pub description: String,
    pub location: String,
    pub checked: bool,
    /// A ranking's places (1..=n), the chosen one marked.
    pub places: Vec<(usize, bool)>,
    /// Photos of a choice question's option (a vote's project, a survey's answer), in
    /// their order.
    pub photos: Vec<PhotoImg>,
}

/// A photo of an option as an `<img>`: where it is served and its text alternative.
#[derive(Clone)]
pub struct PhotoImg {
    pub id: i64,
    pub url: String,
    pub alt: String,
}

/// The photos of each option of each question, by question then option, in their
/// order (no options, so no photos, for a scale or free text).
fn photo_imgs(poll: &PollRecord, photos: &[otklik_store::OptionPhoto]) -> Vec<Vec<Vec<PhotoImg>>> {
    poll.spec
        .questions()
        .iter()
        .enumerate()
        .map(|(i, q)| {
            (0..q.kind.options().len())
                .map(|j| {
                    let mine: Vec<_> = photos
                        .iter()
                        .filter(|p| usize::from(p.question) == i && usize::from(p.option) == j)
                        .collect();
                    mine.iter()
                        .enumerate()
                        .map(|(k, p)| PhotoImg {
                            id: p.id,
                            url: usecase::photo_url(p),
                            alt: usecase::photo_alt(poll, p.slot(), k + 1, mine.len()),
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// The photos of each option of each question, by question then option, as every ballot
/// shows them (the portal's and the widget's).
pub(crate) async fn option_photo_imgs(
    state: &AppState,
    poll: &PollRecord,
) -> Result<Vec<Vec<Vec<PhotoImg>>>, AppError> {
    if !otklik_domain::poll::has_photo_options(&poll.spec) {
        return Ok(Vec::new());
    }
    let photos = state.store.option_photos(poll.id).await?;
    Ok(photo_imgs(poll, &photos))
}

/// Puts each option's photos beside it, in every choice question of the ballot (a
/// scale's choices are its values, never photographed).
pub(crate) fn attach_photos(questions: &mut [QuestionView], mut imgs: Vec<Vec<Vec<PhotoImg>>>) {
    for (q, by_option) in questions.iter_mut().zip(imgs.iter_mut()) {
        if q.input == "scale" || q.input == "text" {
            continue;
        }
        for (choice, photos) in q.choices.iter_mut().zip(by_option.iter_mut()) {
            choice.photos = std::mem::take(photos);
        }
    }
}

/// One choice question in the organisers' photo editor.
struct PhotoQuestionView {
    number: usize,
    text: String,
    options: Vec<PhotoOptionView>,
}

/// One option of a choice question in the organisers' photo editor.
struct PhotoOptionView {
    /// `photos-{question}-{option}`: the editor's section, where a change returns to.
    anchor: String,
    /// Where its upload form posts.
    action: String,
    title: String,
    photos: Vec<PhotoImg>,
    full: bool,
}

/// The organisers' photo editor: every choice question's options with their photos.
fn photo_editor(poll: &PollRecord, imgs: &[Vec<Vec<PhotoImg>>]) -> Vec<PhotoQuestionView> {
    poll.spec
        .questions()
        .iter()
        .enumerate()
        .filter(|(_, q)| !q.kind.options().is_empty())
        .map(|(i, q)| PhotoQuestionView {
            number: i + 1,
            text: q.text.clone(),
            options: q
                .kind
                .options()
                .iter()
                .enumerate()
                .map(|(j, o)| {
                    let photos = imgs
                        .get(i)
                        .and_then(|by_option| by_option.get(j))
                        .cloned()
                        .unwrap_or_default();
                    PhotoOptionView {
                        anchor: photo_anchor(i, j),
                        action: format!("/polls/{}/questions/{i}/options/{j}/photos", poll.id),
                        title: o.title.clone(),
                        full: photos.len() >= otklik_domain::poll::MAX_OPTION_PHOTOS,
                        photos,
                    }
                })
                .collect(),
        })
        .collect()
}

/// The id of an option's section in the photo editor.
fn photo_anchor(question: usize, option: usize) -> String {
    format!("photos-{question}-{option}")
}

impl ChoiceView {
    pub fn has_hint(&self) -> bool {
        !self.description.is_empty() || !self.location.is_empty()
    }

    /// The option's description and place, as one hint.
    pub fn hint_text(&self) -> String {
        let place = (!self.location.is_empty()).then(|| format!("Место: {}.", self.location));
        [
            Some(self.description.clone()).filter(|d| !d.is_empty()),
            place,
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// One question of the ballot form, with the answer given and its error.
pub struct QuestionView {
    pub number: usize,
    pub id: String,
    pub name: String,
    pub text: String,
    pub required: bool,
    /// `single`, `multiple`, `scale`, `ranking`, `text`.
    pub input: &'static str,
    /// Said in the legend (e.g. «выберите не больше 2»).
    pub note: Option<String>,
    pub hint: Option<String>,
    pub condition: Option<String>,
    pub choices: Vec<ChoiceView>,
    pub max_chars: u16,
    pub text_value: String,
    pub error: Option<&'static str>,
}

impl QuestionView {
    /// The ids the group is described by: its condition, hint and error.
    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if self.condition.is_some() {
            ids.push(format!("{}-condition", self.id));
        }
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }

    /// The first input of the question, which the error summary links to.
    pub fn first_input(&self) -> String {
        if self.input == "text" {
            return format!("{}-text", self.id);
        }
        self.choices
            .first()
            .map_or_else(|| self.id.clone(), |c| c.id.clone())
    }
}

/// The form's name/value pairs (names repeat for checkboxes).
type Pairs = [(String, String)];

fn values<'a>(pairs: &'a Pairs, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    pairs
        .iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn first_value<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// A ballot's error summary: each question's error, else the refusal as a whole (worded
/// by `message_of`: the portal's or the widget's texts).
pub(crate) fn ballot_summary(
    questions: &[QuestionView],
    error: Option<&AppError>,
    message_of: fn(&str) -> &'static str,
) -> Vec<SummaryItem> {
    let mut summary: Vec<SummaryItem> = questions
        .iter()
        .filter_map(|q| {
            q.error.map(|m| SummaryItem {
                href: format!("#{}", q.first_input()),
                message: format!("Вопрос {}: {m}", q.number),
            })
        })
        .collect();
    if let (Some(e), true) = (error, summary.is_empty()) {
        summary.push(SummaryItem {
            href: "#standing".to_owned(),
            message: message_of(e.first_code()).to_owned(),
        });
    }
    summary
}

pub(crate) fn question_views(
    poll: &PollRecord,
    given: &Pairs,
    error: Option<&AppError>,
) -> Vec<QuestionView> {
    let questions = poll.spec.questions();
    questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let name = format!("q{i}");
            let id = format!("q-{i}");
            let chosen: Vec<&str> = values(given, &name).collect();
            let option = |j: usize, o: &otklik_domain::poll::OptionSpec| ChoiceView {
                id: format!("{id}-{j}"),
                name: name.clone(),
                value: j.to_string(),
                label: o.title.clone(),
                description: o.description.clone(),
                location: o.location.map(|at| at.to_string()).unwrap_or_default(),
                checked: chosen.contains(&j.to_string().as_str()),
                places: Vec::new(),
                photos: Vec::new(),
            };
            let (input, note, hint, choices, max_chars) = match &q.kind {
                QuestionKind::Single { options } => (
                    "single",
                    None,
                    None,
                    options.iter().enumerate().map(|(j, o)| option(j, o)).collect(),
                    0,
                ),
                QuestionKind::Multiple { options, max } => (
                    "multiple",
                    Some(if usize::from(*max) >= options.len() {
                        "выберите один или несколько вариантов".to_owned()
                    } else {
                        format!("выберите не больше {max}")
                    }),
                    None,
                    options.iter().enumerate().map(|(j, o)| option(j, o)).collect(),
                    0,
                ),
                QuestionKind::Scale { min, max } => (
                    "scale",
                    None,
                    Some(format!("Оценка от {min} до {max}: {min} — наименьшая, {max} — наибольшая.")),
                    (*min..=*max)
                        .map(|v| ChoiceView {
                            id: format!("{id}-{v}"),
                            name: name.clone(),
                            value: v.to_string(),
                            label: v.to_string(),
                            description: String::new(),
                            location: String::new(),
                            checked: chosen.contains(&v.to_string().as_str()),
                            places: Vec::new(),
                            photos: Vec::new(),
                        })
                        .collect(),
                    0,
                ),
                QuestionKind::Ranking { options } => {
                    let n = options.len();
                    let choices = options
                        .iter()
                        .enumerate()
                        .map(|(j, o)| {
                            let field = format!("q{i}_o{j}");
                            let place = first_value(given, &field).trim().parse::<usize>().ok();
                            ChoiceView {
                                id: format!("{id}-o-{j}"),
                                places: (1..=n).map(|p| (p, place == Some(p))).collect(),
                                photos: Vec::new(),
                                name: field,
                                ..option(j, o)
                            }
                        })
                        .collect();
                    (
                        "ranking",
                        None,
                        Some(format!(
                            "Поставьте каждому варианту своё место от 1 до {n}: 1 — самый предпочтительный. Места не должны повторяться."
                        )),
                        choices,
                        0,
                    )
                }
                QuestionKind::FreeText { max_chars } => (
                    "text",
                    None,
                    Some(format!("Не больше {max_chars} знаков.")),
                    Vec::new(),
                    *max_chars,
                ),
            };
            let condition = q.shown_if.map(|c| {
                let option = questions
                    .get(usize::from(c.question))
                    .and_then(|earlier| earlier.kind.options().get(usize::from(c.option)))
                    .map_or_else(|| format!("вариант {}", c.option + 1), |o| o.title.clone());
                format!(
                    "Ответьте, если в вопросе {} выбрали «{option}». Иначе оставьте этот вопрос без ответа.",
                    c.question + 1
                )
            });
            QuestionView {
                number: i + 1,
                text: q.text.clone(),
                required: q.required,
                input,
                note,
                hint,
                condition,
                choices,
                max_chars,
                text_value: if input == "text" {
                    first_value(given, &name).to_owned()
                } else {
                    String::new()
                },
                // An unanswered choice is not a field left empty: say what to do.
                error: error
                    .and_then(|e| e.field_code(&format!("answers[{i}]")))
                    .map(|code| match (code, input) {
                        ("required", "text") => messages::error(code),
                        ("required", _) => "Выберите ответ.",
                        _ => messages::error(code),
                    }),
                id,
                name,
            }
        })
        .collect()
}

/// The answers of the ballot form, one per question of the poll.
pub(crate) fn raw_answers(poll: &PollRecord, pairs: &Pairs) -> Vec<RawAnswer> {
    form_answers(&poll.spec, pairs)
}

/// The answers of the ballot form, one per question. Numbers that do not parse become
/// options that do not exist, so that the domain refuses them with its own code. Pure:
/// the form's pairs and the poll's questions only.
pub(crate) fn form_answers(spec: &PollSpec, pairs: &Pairs) -> Vec<RawAnswer> {
    spec.questions()
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let name = format!("q{i}");
            let given: Vec<&str> = values(pairs, &name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .collect();
            match &q.kind {
                QuestionKind::Single { .. } | QuestionKind::Multiple { .. } => RawAnswer::Choices(
                    given
                        .iter()
                        .map(|v| v.parse::<u16>().unwrap_or(u16::MAX))
                        .collect(),
                ),
                QuestionKind::Scale { .. } => match given.first() {
                    None => RawAnswer::None,
                    Some(v) => RawAnswer::Scale(v.parse::<i64>().unwrap_or(i64::MIN)),
                },
                QuestionKind::Ranking { options } => ranking(i, options.len(), pairs),
                QuestionKind::FreeText { .. } => {
                    RawAnswer::Text(first_value(pairs, &name).to_owned())
                }
            }
        })
        .collect()
}

/// A ranking from the places chosen for each option (`q{i}_o{j}` = 1-based place):
/// no place chosen at all is no answer; a partial or repeated choice is an order the
/// domain refuses (`not_a_ranking`), so the voter is told rather than silently skipped.
fn ranking(question: usize, n: usize, pairs: &Pairs) -> RawAnswer {
    let places: Vec<&str> = (0..n)
        .map(|j| first_value(pairs, &format!("q{question}_o{j}")).trim())
        .collect();
    if places.iter().all(|p| p.is_empty()) {
        return RawAnswer::Ranking(Vec::new());
    }
    let mut order: Vec<Option<u16>> = vec![None; n];
    for (j, place) in places.iter().enumerate() {
        let slot = place
            .parse::<usize>()
            .ok()
            .and_then(|p| p.checked_sub(1))
            .and_then(|p| order.get_mut(p));
        match (slot, u16::try_from(j)) {
            (Some(slot @ None), Ok(j)) => *slot = Some(j),
            _ => return RawAnswer::Ranking(vec![u16::MAX]),
        }
    }
    match order.into_iter().collect::<Option<Vec<u16>>>() {
        Some(order) => RawAnswer::Ranking(order),
        None => RawAnswer::Ranking(vec![u16::MAX]),
    }
}

#[derive(Template)]
#[template(path = "poll.html")]
struct PollPage {
    chrome: Chrome,
    poll: PollSummary,
    standing: StandingView,
    questions: Vec<QuestionView>,
    summary_title: &'static str,
    summary: Vec<SummaryItem>,
    may_cancel: bool,
    /// The organisers' photo editor (before the poll opens), by question then option.
    photo_questions: Vec<PhotoQuestionView>,
    /// A vote's options are projects; a survey's are answers.
    photo_vote: bool,
    photo_formats: &'static str,
    receipt_value: String,
    receipt_error: Option<&'static str>,
}

/// A failed attempt shown on the poll page: the answers given and why they were refused,
/// or a receipt id that is not one.
#[derive(Default)]
struct Failure<'a> {
    answers: &'a Pairs,
    error: Option<&'a AppError>,
    receipt: Option<(&'a str, &'static str)>,
}

const RECEIPT_FORMAT: &str =
    "Номер бюллетеня — 32 знака: цифры 0–9 и латинские буквы a–f, как на странице «Ваш голос принят».";
const RECEIPT_UNKNOWN: &str = "В этом опросе нет бюллетеня с таким номером.";

async fn poll_page(
    state: &AppState,
    ctx: &Ctx,
    poll: &PollRecord,
    failure: Failure<'_>,
) -> Result<PollPage, AppError> {
    let now = OffsetDateTime::now_utc();
    let user: Option<&UserRecord> = ctx.user.as_ref();
    let standing = usecase::standing(state, user, poll, now).await?;
    let summary_view = summary_of(state, poll, now).await?;
    let standing = standing_view(&standing, &summary_view, user.is_none());
    let mut questions = question_views(poll, failure.answers, failure.error);
    let photos = option_photo_imgs(state, poll).await?;
    let photo_questions =
        if user.is_some_and(|u| usecase::manages(u, poll)) && usecase::photos_editable(poll, now) {
            photo_editor(poll, &photos)
        } else {
            Vec::new()
        };
    attach_photos(&mut questions, photos);
    let mut summary = ballot_summary(&questions, failure.error, messages::error);
    if let Some((_, message)) = failure.receipt {
        summary.push(SummaryItem {
            href: "#f-ballot".to_owned(),
            message: format!("Номер бюллетеня: {message}"),
        });
    }
    let title = if summary.is_empty() {
        poll.title.clone()
    } else {
        format!("Ошибка: {}", poll.title)
    };
    Ok(PollPage {
        chrome: Chrome::new(ctx, &title),
        may_cancel: user.is_some_and(|u| usecase::manages(u, poll))
            && poll.cancelled_at.is_none()
            && usecase::phase_of(poll, now) != Phase::Closed,
        photo_questions,
        photo_vote: poll.kind() == PollKind::Vote,
        photo_formats: "JPEG, PNG или WebP, до 10 МБ; сведения о месте съёмки и камере удаляются",
        poll: summary_view,
        standing,
        questions,
        summary_title: if failure.receipt.is_some() {
            "Проверьте номер бюллетеня"
        } else {
            "Голос не принят"
        },
        summary,
        receipt_value: failure
            .receipt
            .map(|(v, _)| v.to_owned())
            .unwrap_or_default(),
        receipt_error: failure.receipt.map(|(_, m)| m),
    })
}

async fn show(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let id = poll_id(&id)?;
    let poll = usecase::visible(&state, ctx.user.as_ref(), id).await?;
    Ok(render(
        &poll_page(&state, &ctx, &poll, Failure::default()).await?,
    ))
}

// --- voting ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "poll_voted.html")]
struct VotedPage {
    chrome: Chrome,
    poll_id: i64,
    title: String,
    ballot_id: String,
}

async fn vote_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> PageResult {
    let id = poll_id(&id)?;
    let user = ctx.require_user()?.clone();
    let body = body.map_err(|_| AppError::bad_request("invalid_form"))?;
    // Checkboxes repeat a name, which `Form` cannot gather; parse the pairs directly.
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    ctx.check_csrf(first_value(&pairs, "csrf"))?;
    // Staff never vote: refused before the poll is looked up, as in the API.
    access::check(
        Some(&crate::auth::principal_of(&user, None)),
        Capability::Vote,
    )
    .map_err(AppError::from)?;
    let poll = usecase::visible(&state, Some(&user), id).await?;
    let answers = raw_answers(&poll, &pairs);
    let now = OffsetDateTime::now_utc();
    match usecase::vote(
        &state,
        &user,
        id,
        &answers,
        otklik_store::BallotChannel::Web,
        now,
    )
    .await
    {
        // Shown in the page (not redirected to) so that the ballot id, the voter's only key
        // to the receipt, never ends up in a URL, a history or a log.
        Ok((ballot_id, _)) => Ok(render(&VotedPage {
            chrome: Chrome::new(&ctx, "Ваш голос принят"),
            poll_id: poll.id.0,
            title: poll.title.clone(),
            ballot_id: ballot_id.as_str().to_owned(),
        })),
        Err(e)
            if matches!(
                e.status,
                StatusCode::UNPROCESSABLE_ENTITY
                    | StatusCode::CONFLICT
                    | StatusCode::FORBIDDEN
                    | StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::SERVICE_UNAVAILABLE
            ) =>
        {
            let failure = Failure {
                answers: &pairs,
                error: Some(&e),
                receipt: None,
            };
            let page = poll_page(&state, &ctx, &poll, failure).await?;
            let mut response = render_status(e.status, &page);
            crate::error::add_retry_after(&mut response, e.retry_after);
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

// --- receipts -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct ReceiptQuery {
    #[serde(default)]
    ballot: String,
}

fn is_ballot_id(raw: &str) -> bool {
    raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Looks a receipt up by the ballot id the voter kept: the API's receipt (JSON), or the
/// poll page again with the error.
/// `POST /polls/{id}/receipt`: the receipt of a ballot as a JSON download. A POST, so
/// that the ballot id (which gives the answers) stays out of URLs, histories and logs; a
/// read that changes nothing, so it takes no CSRF token (the widget's frame posts it too).
async fn receipt_lookup(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<ReceiptQuery>, FormRejection>,
) -> PageResult {
    let id = poll_id(&id)?;
    let q = form.map(|Form(q)| q).unwrap_or_default();
    let poll = usecase::visible(&state, ctx.user.as_ref(), id).await?;
    let ballot = q.ballot.trim().to_ascii_lowercase();
    let message = if ballot.is_empty() {
        messages::error("required")
    } else if !is_ballot_id(&ballot) {
        RECEIPT_FORMAT
    } else {
        match usecase::receipt(&state, &poll, &ballot, OffsetDateTime::now_utc()).await {
            Ok(receipt) => {
                let body = serde_json::to_vec_pretty(&crate::api::polls::receipt_view(&receipt))
                    .map_err(|_| AppError::internal())?;
                return Ok((
                    [
                        (
                            axum::http::header::CONTENT_TYPE,
                            "application/json".to_owned(),
                        ),
                        (
                            axum::http::header::CONTENT_DISPOSITION,
                            format!("attachment; filename=\"poll-{}-receipt.json\"", id.0),
                        ),
                    ],
                    body,
                )
                    .into_response());
            }
            Err(e) if e.status == StatusCode::NOT_FOUND => RECEIPT_UNKNOWN,
            Err(e) => return Err(e.into()),
        }
    };
    let failure = Failure {
        receipt: Some((q.ballot.as_str(), message)),
        ..Failure::default()
    };
    let page = poll_page(&state, &ctx, &poll, failure).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

// --- results --------------------------------------------------------------------------------

pub struct RowView {
    pub label: String,
    pub count: u64,
    pub percent: String,
    /// The bar's length in thousandths of the full width.
    pub bar: u64,
    pub firsts: Option<u64>,
}

pub struct QuestionResultView {
    pub number: usize,
    pub text: String,
    pub kind: &'static str,
    pub answered: u64,
    pub rows: Vec<RowView>,
    pub mean: Option<String>,
}

pub struct BreakdownView {
    pub title: &'static str,
    pub column: &'static str,
    pub groups: Vec<(String, u64)>,
    pub hidden: Option<String>,
}

pub struct ResultsView {
    pub ballots: u64,
    pub final_results: bool,
    /// While the poll runs, when the live counts change, in words.
    pub snapshot_note: Option<String>,
    pub questions: Vec<QuestionResultView>,
    pub breakdowns: Vec<BreakdownView>,
    pub turnout: Vec<(String, u64)>,
}

#[derive(Template)]
#[template(path = "poll_results.html")]
struct ResultsPage {
    chrome: Chrome,
    poll_id: i64,
    title: String,
    embargo: Option<&'static str>,
    results: Option<ResultsView>,
}

/// Per mille as a percentage with one decimal: 125 → «12,5 %».
fn percent(per_mille: u64) -> String {
    format!("{},{} %", per_mille / 10, per_mille % 10)
}

fn age_label(raw: &str) -> String {
    match AgeGroup::parse(raw) {
        Some(AgeGroup::Unknown) | None => "Возраст не указан".to_owned(),
        Some(AgeGroup::Under18) => "До 18 лет".to_owned(),
        Some(AgeGroup::From18To24) => "18–24 года".to_owned(),
        Some(AgeGroup::From25To34) => "25–34 года".to_owned(),
        Some(AgeGroup::From35To44) => "35–44 года".to_owned(),
        Some(AgeGroup::From45To54) => "45–54 года".to_owned(),
        Some(AgeGroup::From55To64) => "55–64 года".to_owned(),
        Some(AgeGroup::From65) => "65 лет и старше".to_owned(),
    }
}

fn channel_label(raw: &str) -> String {
    match raw {
        "web" => "Сайт".to_owned(),
        "widget" => "Виджет на сайте организации".to_owned(),
        "api" => "Приложения (API)".to_owned(),
        other => other.to_owned(),
    }
}

/// `YYYY-MM-DD` → `dd.mm.yyyy`; anything else as it is.
fn day_label(raw: &str) -> String {
    let parts: Vec<&str> = raw.split('-').collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => format!("{d}.{m}.{y}"),
        _ => raw.to_owned(),
    }
}

async fn results_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> PageResult {
    let id = poll_id(&id)?;
    let poll = usecase::visible(&state, ctx.user.as_ref(), id).await?;
    let now = OffsetDateTime::now_utc();
    let page = |embargo, results| ResultsPage {
        chrome: Chrome::new(&ctx, &format!("Результаты: {}", poll.title)),
        poll_id: poll.id.0,
        title: poll.title.clone(),
        embargo,
        results,
    };
    let results = match usecase::results(&state, &poll, now).await {
        Ok(results) => results,
        Err(e) if e.code == "results_embargoed" => {
            return Ok(render_status(
                e.status,
                &page(Some(messages::error(e.code)), None),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let regions = if results
        .breakdowns
        .iter()
        .any(|b| b.dimension == "region" && !b.groups.is_empty())
    {
        state.store.regions().await?
    } else {
        Vec::new()
    };
    let region_label = |raw: &str| {
        raw.parse::<i64>()
            .ok()
            .and_then(|id| regions.iter().find(|r| r.id.0 == id))
            .map_or_else(|| "Регион не указан".to_owned(), |r| r.name.clone())
    };
    let view = ResultsView {
        ballots: results.ballots,
        final_results: results.final_results,
        snapshot_note: results.snapshot.map(snapshot_note),
        questions: results
            .questions
            .into_iter()
            .enumerate()
            .map(|(i, q)| QuestionResultView {
                number: i + 1,
                text: q.text,
                kind: q.kind,
                answered: q.answered,
                rows: q
                    .rows
                    .into_iter()
                    .map(|r| RowView {
                        label: r.label,
                        count: r.count,
                        percent: percent(r.per_mille),
                        bar: r.per_mille.min(1000),
                        firsts: r.firsts,
                    })
                    .collect(),
                mean: q
                    .mean_centi
                    .map(|m| format!("{},{:02}", m / 100, m % 100)),
            })
            .collect(),
        breakdowns: results
            .breakdowns
            .into_iter()
            .filter(|b| !b.groups.is_empty() || b.hidden > 0)
            .map(|b| {
                let (title, column): (&'static str, &'static str) = match b.dimension {
                    "region" => ("По регионам", "Регион"),
                    "age" => ("По возрасту", "Возраст"),
                    "channel" => ("По способу голосования", "Способ"),
                    _ => ("Другое", "Группа"),
                };
                let groups = b
                    .groups
                    .into_iter()
                    .map(|(value, n)| {
                        let label = match b.dimension {
                            "region" => region_label(&value),
                            "age" => age_label(&value),
                            "channel" => channel_label(&value),
                            _ => value,
                        };
                        (label, n)
                    })
                    .collect();
                BreakdownView {
                    title,
                    column,
                    groups,
                    hidden: (b.hidden > 0).then(|| {
                        format!(
                            "Ещё {} {} в группах меньше {} не {}, чтобы выбор небольшой группы нельзя было отличить.",
                            b.hidden,
                            votes_word(b.hidden),
                            otklik_domain::poll::MIN_GROUP,
                            if votes_word(b.hidden) == "голос" {
                                "показан"
                            } else {
                                "показаны"
                            }
                        )
                    }),
                }
            })
            .collect(),
        turnout: results
            .turnout_by_day
            .into_iter()
            .map(|(day, n)| (day_label(&day), n))
            .collect(),
    };
    Ok(render(&page(None, Some(view))))
}

// --- a new poll -----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct NewPollForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    questions_text: String,
    #[serde(default)]
    opens_at: String,
    #[serde(default)]
    closes_at: String,
    #[serde(default)]
    results: String,
    #[serde(default)]
    verification: String,
    #[serde(default)]
    min_age: String,
    #[serde(default)]
    region: String,
}

impl NewPollForm {
    fn input(self) -> PollInput {
        PollInput {
            kind: self.kind,
            title: self.title,
            description: self.description,
            questions_text: self.questions_text,
            questions: None,
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            results: self.results,
            verification: self.verification,
            min_age: self.min_age,
            region: self.region,
            municipality: String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "poll_new.html")]
struct NewPage {
    chrome: Chrome,
    fields: Vec<FieldView>,
    summary: Vec<SummaryItem>,
}

/// A fresh form: opens at the next full hour (Moscow time), runs for two weeks, results
/// after the close, for verified citizens from 14.
fn blank_input(now: OffsetDateTime) -> PollInput {
    let local = now.to_offset(moscow()) + Duration::hours(1);
    let opens = local.replace_minute(0).unwrap_or(local);
    let closes = opens + Duration::days(14);
    PollInput {
        kind: "survey".to_owned(),
        opens_at: local_input(opens),
        closes_at: local_input(closes),
        results: "embargoed".to_owned(),
        verification: "verified".to_owned(),
        min_age: "14".to_owned(),
        ..PollInput::default()
    }
}

async fn new_page(
    state: &AppState,
    ctx: &Ctx,
    input: &PollInput,
    error: Option<&AppError>,
) -> Result<NewPage, AppError> {
    // The text form's errors are reported at `questions`; the input is `questions_text`.
    let error = error.map(|e| {
        let mut e = e.clone();
        for f in &mut e.fields {
            if f.field == "questions" {
                f.field = "questions_text".to_owned();
            }
        }
        e
    });
    let error = error.as_ref();
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
        FieldView::new("kind", "Вид", "radios")
            .value(&input.kind)
            .required()
            .options(vec![
                (
                    "survey".to_owned(),
                    "Опрос — вопросы любого типа".to_owned(),
                ),
                (
                    "vote".to_owned(),
                    "Голосование — один вопрос: выбрать не больше K из N вариантов (например, проекты благоустройства)".to_owned(),
                ),
            ])
            .error_from(error),
        FieldView::new("title", "Название", "text")
            .value(&input.title)
            .required()
            .hint("От 3 до 300 знаков.")
            .error_from(error),
        FieldView::new("description", "Описание", "textarea")
            .value(&input.description)
            .hint("Зачем проводится опрос и как будут использованы результаты. До 5000 знаков.")
            .error_from(error),
        FieldView::new("questions_text", "Вопросы", "questions")
            .value(&input.questions_text)
            .required()
            .hint("Каждая строка начинается со знака: «?» — вопрос, «*» — его настройка, «-» — вариант ответа. Правила и пример — ниже.")
            .error_from(error),
        FieldView::new("opens_at", "Начало", "datetime-local")
            .value(&input.opens_at)
            .required()
            .hint("Дата и время по местному времени территории опроса (для всей России — московское), например 2026-09-01T09:00.")
            .error_from(error),
        FieldView::new("closes_at", "Окончание", "datetime-local")
            .value(&input.closes_at)
            .required()
            .hint("Голоса принимаются до этого момента. Опрос длится не больше года.")
            .error_from(error),
        FieldView::new("results", "Когда показывать результаты", "radios")
            .value(&input.results)
            .required()
            .options(vec![
                ("live".to_owned(), "Сразу — пока идёт голосование".to_owned()),
                ("embargoed".to_owned(), "После окончания".to_owned()),
            ])
            .error_from(error),
        FieldView::new("verification", "Кто может участвовать", "select")
            .value(&input.verification)
            .options(vec![
                (
                    "unverified".to_owned(),
                    "Любой гражданин с учётной записью".to_owned(),
                ),
                (
                    "standard".to_owned(),
                    "Граждане со стандартным подтверждением личности".to_owned(),
                ),
                (
                    "verified".to_owned(),
                    "Граждане с подтверждённой личностью".to_owned(),
                ),
            ])
            .hint("Уровень подтверждения учётной записи, нужный для участия.")
            .error_from(error),
        FieldView::new("min_age", "Минимальный возраст", "number")
            .value(&input.min_age)
            .hint("Полных лет на день голосования. Оставьте пустым, если возраст не ограничен.")
            .error_from(error),
        FieldView::new("region", "Территория", "select")
            .value(&input.region)
            .options(regions)
            .hint("Участвуют жители выбранного региона (по профилю). «Вся Россия» — без ограничения.")
            .error_from(error),
    ];
    let title = if error.is_some() {
        "Ошибка: Новый опрос"
    } else {
        "Новый опрос"
    };
    Ok(NewPage {
        chrome: Chrome::new(ctx, title),
        summary: forms::summary(&fields, error),
        fields,
    })
}

async fn new_form(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let user = ctx.require_user()?;
    usecase::organiser_of(user)?;
    let input = blank_input(OffsetDateTime::now_utc());
    Ok(render(&new_page(&state, &ctx, &input, None).await?))
}

async fn new_post(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Result<Form<NewPollForm>, FormRejection>,
) -> PageResult {
    let user = ctx.require_user()?.clone();
    usecase::organiser_of(&user)?;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    let input = form.input();
    match usecase::create(&state, &user, &input, OffsetDateTime::now_utc()).await {
        Ok(id) => Ok(Redirect::to(&format!("/polls/{id}")).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let page = new_page(&state, &ctx, &input, Some(&e)).await?;
            Ok(render_status(e.status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

// --- cancelling ----------------------------------------------------------------------------

async fn cancel_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    let id = poll_id(&id)?;
    let user = ctx.require_user()?.clone();
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    usecase::cancel(&state, &user, id, OffsetDateTime::now_utc()).await?;
    Ok(Redirect::to(&format!("/polls/{id}")).into_response())
}

// --- photos of choice questions' options ------------------------------------------------------

/// One photo and the form around it.
const PHOTO_UPLOAD_LIMIT: usize = otklik_domain::attachment::MAX_FILE_BYTES + 1024 * 1024;

fn photo_id(raw: &str) -> Result<i64, PageError> {
    raw.parse::<i64>()
        .map_err(|_| PageError(AppError::not_found()))
}

/// Adds a photo to an option of the first question (a vote's projects; the organisers'
/// form on the poll's page; multipart).
async fn photo_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, option)): Path<(String, String)>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    add_photo_from(state, ctx, &id, "0", &option, multipart).await
}

/// Adds a photo to an option of any choice question (the organisers' form on the poll's
/// page; multipart).
async fn question_photo_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, question, option)): Path<(String, String, String)>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    add_photo_from(state, ctx, &id, &question, &option, multipart).await
}

async fn add_photo_from(
    state: AppState,
    ctx: Ctx,
    id: &str,
    question: &str,
    option: &str,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let id = poll_id(id)?;
    let number = |raw: &str| {
        raw.parse::<u16>()
            .map_err(|_| PageError(AppError::not_found()))
    };
    let slot = PhotoSlot {
        question: number(question)?,
        option: number(option)?,
    };
    let user = ctx.require_user()?.clone();
    let data = forms::read_multipart(multipart.map_err(|_| AppError::bad_request("invalid_form"))?)
        .await?;
    ctx.check_csrf(data.text("csrf"))?;
    let file = data.file("photo").cloned().unwrap_or_default();
    usecase::add_photo(&state, &user, id, slot, file, OffsetDateTime::now_utc()).await?;
    let anchor = photo_anchor(usize::from(slot.question), usize::from(slot.option));
    Ok(Redirect::to(&format!("/polls/{id}#{anchor}")).into_response())
}

/// Removes a photo (the organisers' form on the poll's page).
async fn photo_delete_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, photo)): Path<(String, String)>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    let id = poll_id(&id)?;
    let photo = photo_id(&photo)?;
    let user = ctx.require_user()?.clone();
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    usecase::remove_photo(&state, &user, id, photo, OffsetDateTime::now_utc()).await?;
    Ok(Redirect::to(&format!("/polls/{id}#photos")).into_response())
}

/// The move buttons of a photo: which way (`up`, `down`).
#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    direction: String,
}

/// Moves a photo one place among its option's photos (the buttons «Выше», «Ниже» on the
/// poll's page), then back to that option's photos.
async fn photo_move_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, photo)): Path<(String, String)>,
    form: Result<Form<MoveForm>, FormRejection>,
) -> PageResult {
    let id = poll_id(&id)?;
    let photo = photo_id(&photo)?;
    let user = ctx.require_user()?.clone();
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    let way = PhotoMove::parse(form.direction.trim())
        .ok_or_else(|| AppError::field("direction", "unknown_direction"))?;
    let photos =
        usecase::move_photo(&state, &user, id, photo, way, OffsetDateTime::now_utc()).await?;
    let anchor = photos.first().map_or_else(
        || "photos".to_owned(),
        |p| photo_anchor(usize::from(p.question), usize::from(p.option)),
    );
    Ok(Redirect::to(&format!("/polls/{id}#{anchor}")).into_response())
}

/// A photo of an option, public while its poll is: its stored type, never sniffed, shown
/// inline, cached for an hour and revalidated by its SHA-256.
async fn photo_get(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, photo)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> PageResult {
    use axum::http::header;
    let id = poll_id(&id)?;
    let photo = photo_id(&photo)?;
    let file = usecase::photo(&state, ctx.user.as_ref(), id, photo).await?;
    let etag = format!("\"{}\"", file.meta.sha256);
    let cache = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "public, max-age=3600".to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    let disposition = format!(
        "inline; filename=\"photo.{}\"; filename*=UTF-8''{}",
        otklik_domain::attachment::FileType::from_mime(&file.meta.mime)
            .map_or("bin", |t| t.extension()),
        forms::percent_encode(&file.meta.name)
    );
    Ok((
        cache,
        [
            (header::CONTENT_TYPE, file.meta.mime),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        file.bytes,
    )
        .into_response())
}

// --- downloads: the results as CSV and XLSX ---------------------------------------------------

/// One row of the results table: section, question, answer or group, count, share in
/// per mille (none for turnout and groups), first places (rankings).
struct ExportRow {
    section: String,
    question: String,
    item: String,
    count: u64,
    per_mille: Option<u64>,
    firsts: Option<u64>,
}

const EXPORT_HEADER: [&str; 6] = [
    "Раздел",
    "Вопрос",
    "Ответ или группа",
    "Число",
    "Доля, %",
    "Первых мест",
];

/// The results within the results policy, as rows (the same numbers as the page).
async fn export_rows(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
) -> Result<(PollRecord, Vec<ExportRow>), PageError> {
    let id = poll_id(id)?;
    let poll = usecase::visible(state, ctx.user.as_ref(), id).await?;
    let results = usecase::results(state, &poll, OffsetDateTime::now_utc()).await?;
    let regions = state.store.regions().await?;
    let mut rows = vec![ExportRow {
        section: "Итого".to_owned(),
        question: String::new(),
        item: "Бюллетеней".to_owned(),
        count: results.ballots,
        per_mille: None,
        firsts: None,
    }];
    for (i, q) in results.questions.iter().enumerate() {
        let question = format!("{}. {}", i + 1, q.text);
        rows.push(ExportRow {
            section: "Ответы".to_owned(),
            question: question.clone(),
            item: "Ответили".to_owned(),
            count: q.answered,
            per_mille: None,
            firsts: None,
        });
        for r in &q.rows {
            rows.push(ExportRow {
                section: "Ответы".to_owned(),
                question: question.clone(),
                item: r.label.clone(),
                count: r.count,
                per_mille: Some(r.per_mille),
                firsts: r.firsts,
            });
        }
    }
    for b in &results.breakdowns {
        let section = match b.dimension {
            "region" => "По регионам",
            "age" => "По возрасту",
            _ => "По способу голосования",
        };
        for (value, n) in &b.groups {
            let item = match b.dimension {
                "region" => value
                    .parse::<i64>()
                    .ok()
                    .and_then(|id| regions.iter().find(|r| r.id.0 == id))
                    .map_or_else(|| "Регион не указан".to_owned(), |r| r.name.clone()),
                "age" => age_label(value),
                _ => channel_label(value),
            };
            rows.push(ExportRow {
                section: section.to_owned(),
                question: String::new(),
                item,
                count: *n,
                per_mille: None,
                firsts: None,
            });
        }
        if b.hidden > 0 {
            rows.push(ExportRow {
                section: section.to_owned(),
                question: String::new(),
                item: format!("Группы меньше {}", otklik_domain::poll::MIN_GROUP),
                count: b.hidden,
                per_mille: None,
                firsts: None,
            });
        }
    }
    for (day, n) in &results.turnout_by_day {
        rows.push(ExportRow {
            section: "Явка по дням".to_owned(),
            question: String::new(),
            item: day.clone(),
            count: *n,
            per_mille: None,
            firsts: None,
        });
    }
    Ok((poll, rows))
}

/// The results as an exported table (shares in percent with one decimal).
fn sheet(title: &str, rows: &[ExportRow]) -> Sheet {
    Sheet {
        title: title.to_owned(),
        header: EXPORT_HEADER.iter().map(|h| (*h).to_owned()).collect(),
        rows: rows
            .iter()
            .map(|row| {
                vec![
                    Cell::text(&row.section),
                    Cell::text(&row.question),
                    Cell::text(&row.item),
                    Cell::Number(row.count as f64),
                    Cell::maybe(row.per_mille.map(|p| p as f64 / 10.0)),
                    Cell::maybe(row.firsts.map(|f| f as f64)),
                ]
            })
            .collect(),
    }
}

async fn results_csv(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<axum::response::Response, PageError> {
    let (poll, rows) = export_rows(&state, &ctx, &id).await?;
    Ok(download(
        to_csv(&sheet(&poll.title, &rows)).into_bytes(),
        export::CSV,
        &format!("poll-{}-results.csv", poll.id.0),
    ))
}

async fn results_xlsx(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<axum::response::Response, PageError> {
    let (poll, rows) = export_rows(&state, &ctx, &id).await?;
    Ok(download(
        to_xlsx(&sheet(&poll.title, &rows))?,
        export::XLSX,
        &format!("poll-{}-results.xlsx", poll.id.0),
    ))
}

/// When live results change, in words (the reason is the secrecy of each ballot).
fn snapshot_note(rule: crate::polls::SnapshotRule) -> String {
    let minutes = rule.seconds.div_ceil(60).max(1);
    format!(
        "Числа обновляются не чаще раза в {minutes} мин. и только после того, как проголосуют ещё не менее {} человек: так по их изменению нельзя узнать, как проголосовал кто-то один.",
        rule.min_ballots
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn results_export_with_shares_in_percent() {
        let rows = [ExportRow {
            section: "Ответы".to_owned(),
            question: "=HYPERLINK(\"http://x\")".to_owned(),
            item: "Сквер".to_owned(),
            count: 3,
            per_mille: Some(125),
            firsts: None,
        }];
        let csv = to_csv(&sheet("Опрос", &rows));
        let line = csv.lines().nth(1).unwrap();
        assert_eq!(
            line,
            "Ответы,\"'=HYPERLINK(\"\"http://x\"\")\",Сквер,3,12.5,"
        );
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_ranking_is_read_from_the_places() {
        let given = pairs(&[("q0_o0", "2"), ("q0_o1", "3"), ("q0_o2", "1")]);
        assert_eq!(ranking(0, 3, &given), RawAnswer::Ranking(vec![2, 0, 1]));
        assert_eq!(ranking(0, 3, &[]), RawAnswer::Ranking(vec![]));
        let partial = pairs(&[("q0_o0", "1")]);
        assert_eq!(ranking(0, 3, &partial), RawAnswer::Ranking(vec![u16::MAX]));
        let repeated = pairs(&[("q0_o0", "1"), ("q0_o1", "1"), ("q0_o2", "2")]);
        assert_eq!(ranking(0, 3, &repeated), RawAnswer::Ranking(vec![u16::MAX]));
    }

    #[test]
    fn numbers_read_as_people_do() {
        assert_eq!(percent(125), "12,5 %");
        assert_eq!(percent(1000), "100,0 %");
        assert_eq!(votes_word(1), "голос");
        assert_eq!(votes_word(3), "голоса");
        assert_eq!(votes_word(11), "голосов");
        assert_eq!(votes_word(25), "голосов");
        assert_eq!(years_after_from(21), "года");
        assert_eq!(years_after_from(14), "лет");
        assert_eq!(day_label("2026-09-01"), "01.09.2026");
        assert!(is_ballot_id("0123456789abcdef0123456789abcdef"));
        assert!(!is_ballot_id("0123456789ABCDEF0123456789abcdef"));
        assert_eq!(zone_name(UtcOffset::from_hms(7, 0, 0).unwrap()), "UTC+7");
    }
}
