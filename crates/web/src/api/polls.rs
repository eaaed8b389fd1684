//! Polls and votes through the API: the same use cases as the `/polls` pages. Reading a
//! poll, its results (within the results policy), a receipt by ballot id and the
//! published ballots needs no account; voting needs a citizen's, creating an organiser's.

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::Engine;
use otklik_domain::poll::{BallotId, Phase, PhotoMove, RawAnswer};
use otklik_domain::PollId;
use otklik_store::{BallotChannel, BallotReceipt, OptionPhoto, PollFilter, PollRecord};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::log::{tree_head_view, TreeHeadView};
use super::{rfc3339, ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::polls::{self as usecase, PollInput};
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// Ballots per page of the published list's store reads.
const PAGE: u32 = 10_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/polls", get(list_polls).post(create_poll))
        .route("/polls/{id}", get(get_poll))
        .route("/polls/{id}/cancel", post(cancel_poll))
        .route(
            "/polls/{id}/ballots",
            post(cast_ballot).get(published_ballots),
        )
        .route("/polls/{id}/results", get(poll_results))
        .route("/polls/{id}/receipts/{ballot_id}", get(ballot_receipt))
        .route(
            "/polls/{id}/options/{option}/photos",
            post(add_photo).layer(DefaultBodyLimit::max(PHOTO_JSON_LIMIT)),
        )
        .route(
            "/polls/{id}/questions/{question}/options/{option}/photos",
            post(add_question_photo).layer(DefaultBodyLimit::max(PHOTO_JSON_LIMIT)),
        )
        .route("/polls/{id}/photos/{photo_id}", delete(remove_photo))
        .route("/polls/{id}/photos/{photo_id}/move", post(move_photo))
}

/// One photo in base64 (4/3 of ≤ 10 MiB) and its name.
const PHOTO_JSON_LIMIT: usize = otklik_domain::attachment::MAX_FILE_BYTES / 3 * 4 + 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    paths(list_polls, create_poll, get_poll, cancel_poll, cast_ballot, published_ballots, poll_results, ballot_receipt,
        add_photo, add_question_photo, remove_photo, move_photo),
    components(schemas(PollView, PhotoView, PhotoRequest, MoveRequest, PhotoDirectionSchema, PollRequest, BallotRequest, AnswerInput, BallotView, ResultsView, QuestionResultView,
        ResultRowView, BreakdownView, ReceiptView)),
    tags((name = "polls", description = "Polls and votes: one person, one vote, secret, verifiable"))
)]
pub struct Doc;

#[derive(Debug, Serialize, ToSchema)]
pub struct PollView {
    pub id: i64,
    /// `survey` or `vote`.
    pub kind: String,
    pub title: String,
    pub description: String,
    pub organisation: Option<String>,
    pub region_id: Option<i64>,
    pub municipality_id: Option<i64>,
    pub min_age: Option<u8>,
    /// The verification level a voter needs.
    pub verification: String,
    pub opens_at: String,
    pub closes_at: String,
    /// `live` or `embargoed` (until the close).
    pub results: String,
    /// `upcoming`, `open` or `closed`.
    pub phase: String,
    pub cancelled: bool,
    /// Ballots in the box so far.
    pub ballots: u64,
    /// The questions (`otklik_domain::poll::Question`, see docs/POLLS.md).
    #[schema(value_type = Vec<Object>)]
    pub questions: serde_json::Value,
    /// The key that signs this poll's tree heads (Ed25519, base64).
    pub public_key: String,
    /// Set after the close: the size of the final signed tree head.
    pub final_tree_size: Option<u64>,
    /// Photos of the options of choice questions (a vote's projects, a survey's
    /// answers), by question, then option, then in their order (as added, unless the
    /// organisers moved them).
    pub photos: Vec<PhotoView>,
}

/// A photo of a choice question's option, served at `url` (public while the poll is).
#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoView {
    pub id: i64,
    /// The question's 0-based index (a vote's one question is 0).
    pub question: u16,
    /// The option's 0-based index in that question.
    pub option: u16,
    /// Where the image is served, e.g. `/polls/7/photos/3`.
    pub url: String,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub mime: String,
    pub size: u64,
    /// SHA-256 of the served bytes (metadata already removed), hex.
    pub sha256: String,
    /// The text alternative pages give it: «Фото проекта: …» (a vote), «Фото варианта
    /// ответа: …» (a survey).
    pub alt: String,
}

/// Which way a photo moves among its option's photos.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// `up` (towards the first) or `down` (towards the last).
    #[schema(value_type = PhotoDirectionSchema)]
    pub direction: String,
}

super::types::text_schema!(PhotoDirectionSchema, "PhotoDirection", {
    super::types::one_of(
        [PhotoMove::Up, PhotoMove::Down].map(PhotoMove::as_str),
        "Which way a photo moves among its option's photos: `up` (towards the first) or \
         `down` (towards the last).",
    )
});

/// A photo to add to an option: JPEG, PNG or WebP (checked from the bytes), ≤ 10 MiB;
/// EXIF, GPS, XMP and other metadata are removed before it is stored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhotoRequest {
    /// The original name; only letters, digits and a few separators are kept.
    #[serde(default)]
    pub name: String,
    /// The image's bytes, standard base64.
    #[schema(content_encoding = "base64")]
    pub content_base64: String,
}

impl PhotoRequest {
    /// The name and the decoded bytes (standard base64).
    pub(crate) fn file(self) -> Result<(String, Vec<u8>), AppError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(self.content_base64.trim())
            .map_err(|_| AppError::field("content_base64", "invalid_base64"))?;
        Ok((self.name, bytes))
    }
}

fn photo_view(poll: &PollRecord, photo: &OptionPhoto) -> PhotoView {
    PhotoView {
        id: photo.id,
        question: photo.question,
        option: photo.option,
        url: usecase::photo_url(photo),
        mime: photo.mime.clone(),
        size: photo.size,
        sha256: photo.sha256.clone(),
        alt: usecase::photo_alt(poll, photo.slot(), 1, 1),
    }
}

/// The poll's view with its options' photos.
async fn full_view(
    state: &AppState,
    poll: &PollRecord,
    now: OffsetDateTime,
) -> ApiResult<PollView> {
    let photos = state.store.option_photos(poll.id).await?;
    Ok(view(state, poll, &photos, now))
}

pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Upcoming => "upcoming",
        Phase::Open => "open",
        Phase::Closed => "closed",
    }
}

fn view(
    state: &AppState,
    poll: &PollRecord,
    photos: &[OptionPhoto],
    now: OffsetDateTime,
) -> PollView {
    PollView {
        id: poll.id.0,
        kind: poll.kind().as_str().to_owned(),
        title: poll.title.clone(),
        description: poll.description.clone(),
        organisation: poll.org_name.clone(),
        region_id: poll.eligibility.region.map(|r| r.0),
        municipality_id: poll.eligibility.municipality.map(|m| m.0),
        min_age: poll.eligibility.min_age,
        verification: poll.eligibility.verification.as_str().to_owned(),
        opens_at: rfc3339(poll.schedule.opens_at()),
        closes_at: rfc3339(poll.schedule.closes_at()),
        results: poll.results.as_str().to_owned(),
        phase: phase_name(usecase::phase_of(poll, now)).to_owned(),
        cancelled: poll.cancelled_at.is_some(),
        ballots: poll.ballots,
        questions: serde_json::from_str(&poll.spec.questions_json()).unwrap_or_default(),
        public_key: usecase::public_key(state, poll.id),
        final_tree_size: poll.final_size,
        photos: photos.iter().map(|p| photo_view(poll, p)).collect(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollRequest {
    /// `survey` or `vote`.
    pub kind: String,
    #[schema(min_length = 3, max_length = 300)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub description: String,
    /// The questions as JSON (see docs/POLLS.md)…
    #[schema(value_type = Option<Vec<Object>>)]
    pub questions: Option<serde_json::Value>,
    /// …or in the text form officials type on the page.
    pub questions_text: Option<String>,
    /// Local time of the poll's territory, `YYYY-MM-DDTHH:MM`.
    pub opens_at: String,
    pub closes_at: String,
    /// `live` or `embargoed`.
    pub results: String,
    /// `unverified`, `standard` or `verified` (the default).
    pub verification: Option<String>,
    #[schema(minimum = 0, maximum = 120)]
    pub min_age: Option<u8>,
    pub region_id: Option<i64>,
    pub municipality_id: Option<i64>,
}

impl PollRequest {
    pub(crate) fn input(&self) -> Result<PollInput, AppError> {
        let questions = match &self.questions {
            None => None,
            Some(value) => Some(
                serde_json::from_value(value.clone())
                    .map_err(|_| AppError::field("questions", "malformed"))?,
            ),
        };
        Ok(PollInput {
            kind: self.kind.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            questions_text: self.questions_text.clone().unwrap_or_default(),
            questions,
            opens_at: self.opens_at.clone(),
            closes_at: self.closes_at.clone(),
            results: self.results.clone(),
            verification: self.verification.clone().unwrap_or_default(),
            min_age: self.min_age.map(|a| a.to_string()).unwrap_or_default(),
            region: self.region_id.map(|r| r.to_string()).unwrap_or_default(),
            municipality: self
                .municipality_id
                .map(|m| m.to_string())
                .unwrap_or_default(),
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `true`: the polls the caller runs (an organisation's, or the operator's), in any
    /// phase; otherwise the polls open to the caller now.
    pub managed: Option<bool>,
}

fn poll_id(raw: &str) -> Result<PollId, AppError> {
    raw.parse().map(PollId).map_err(|_| AppError::not_found())
}

/// The polls open to the caller now, or (`managed=true`) those the caller runs.
#[utoipa::path(get, path = "/api/v1/polls", tag = "polls", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Vec<PollView>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
async fn list_polls(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<PollView>>> {
    let now = OffsetDateTime::now_utc();
    if user.1.is_some() {
        return Err(AppError::forbidden().into());
    }
    let polls = if query.managed == Some(true) {
        let org = usecase::organiser_of(&user.0)?;
        let filter = PollFilter {
            org: match user.0.role {
                otklik_domain::lifecycle::Role::Operator => None,
                _ => Some(org),
            },
            ..PollFilter::default()
        };
        state.store.polls(filter, 500).await?
    } else {
        usecase::open_polls(&state, Some(&user.0), now).await?
    };
    let mut views = Vec::with_capacity(polls.len());
    for poll in &polls {
        views.push(full_view(&state, poll, now).await?);
    }
    Ok(Json(views))
}

/// Creates a poll or a vote (an organisation's officials and administrators, the operator).
#[utoipa::path(post, path = "/api/v1/polls", tag = "polls", security(("bearer" = [])),
    request_body = PollRequest,
    responses((status = 201, body = PollView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_poll(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(request): ApiJson<PollRequest>,
) -> ApiResult<Response> {
    if user.1.is_some() {
        return Err(AppError::forbidden().into());
    }
    usecase::organiser_of(&user.0)?;
    let now = OffsetDateTime::now_utc();
    let id = usecase::create(&state, &user.0, &request.input()?, now).await?;
    let poll = state.store.poll(id).await?;
    Ok((
        StatusCode::CREATED,
        Json(full_view(&state, &poll, now).await?),
    )
        .into_response())
}

/// A poll: its questions, schedule, eligibility and phase (no account needed).
#[utoipa::path(get, path = "/api/v1/polls/{id}", tag = "polls", params(("id" = i64, Path)),
    responses((status = 200, body = PollView), (status = 404, body = Problem)))]
async fn get_poll(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PollView>> {
    let poll = usecase::visible(&state, None, poll_id(&id)?).await?;
    Ok(Json(
        full_view(&state, &poll, OffsetDateTime::now_utc()).await?,
    ))
}

/// Cancels a poll before it closes (its organisers): no more ballots, no results.
#[utoipa::path(post, path = "/api/v1/polls/{id}/cancel", tag = "polls", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel_poll(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id = poll_id(&id)?;
    if user.1.is_some() {
        return Err(AppError::forbidden().into());
    }
    usecase::cancel(&state, &user.0, id, OffsetDateTime::now_utc()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a photo to option `option` (0-based) of the poll's first question (a vote's
/// projects), last in its order, before the poll opens (its organisers; another
/// organisation's poll is not found). Refusals change nothing: `poll_not_editable`
/// (open, closed or cancelled), `not_a_choice_question`, `unknown_option`,
/// `too_many_photos` (3 per option), `not_an_image`, `file_too_large`, `image_damaged`.
#[utoipa::path(post, path = "/api/v1/polls/{id}/options/{option}/photos", tag = "polls", security(("bearer" = [])),
    params(("id" = i64, Path), ("option" = u16, Path)), request_body = PhotoRequest,
    responses((status = 201, body = PhotoView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn add_photo(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, option)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<PhotoRequest>,
) -> ApiResult<Response> {
    add_photo_to(state, user, &id, "0", &option, request).await
}

/// Adds a photo to option `option` of question `question` (both 0-based) of a vote or a
/// survey: single, multiple and ranking questions' options have photos, a scale or free
/// text has none (`not_a_choice_question`); `unknown_question`, `unknown_option` are
/// 404. Otherwise as `POST /api/v1/polls/{id}/options/{option}/photos`.
#[utoipa::path(post, path = "/api/v1/polls/{id}/questions/{question}/options/{option}/photos", tag = "polls",
    security(("bearer" = [])),
    params(("id" = i64, Path), ("question" = u16, Path), ("option" = u16, Path)), request_body = PhotoRequest,
    responses((status = 201, body = PhotoView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn add_question_photo(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, question, option)): ApiPath<(String, String, String)>,
    ApiJson(request): ApiJson<PhotoRequest>,
) -> ApiResult<Response> {
    add_photo_to(state, user, &id, &question, &option, request).await
}

async fn add_photo_to(
    state: AppState,
    user: ApiUser,
    id: &str,
    question: &str,
    option: &str,
    request: PhotoRequest,
) -> ApiResult<Response> {
    let id = poll_id(id)?;
    let slot = otklik_domain::poll::PhotoSlot {
        question: question.parse().map_err(|_| AppError::not_found())?,
        option: option.parse().map_err(|_| AppError::not_found())?,
    };
    if user.1.is_some() {
        return Err(AppError::forbidden().into());
    }
    let file = request.file()?;
    let now = OffsetDateTime::now_utc();
    let photo = usecase::add_photo(&state, &user.0, id, slot, file, now).await?;
    let poll = state.store.poll(id).await?;
    Ok((StatusCode::CREATED, Json(photo_view(&poll, &photo))).into_response())
}

/// Moves a photo one place among its option's photos (`up`: towards the first, `down`:
/// towards the last), before the poll opens (its organisers); the option's photos in
/// their new order, which every page, the widget and this API show. Refusals change
/// nothing: `photo_at_edge` (already first or last), `poll_not_editable`;
/// `unknown_direction` (422).
#[utoipa::path(post, path = "/api/v1/polls/{id}/photos/{photo_id}/move", tag = "polls", security(("bearer" = [])),
    params(("id" = i64, Path), ("photo_id" = i64, Path)), request_body = MoveRequest,
    responses((status = 200, body = Vec<PhotoView>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn move_photo(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, photo)): ApiPath<(String, String)>,
    ApiJson(request): ApiJson<MoveRequest>,
) -> ApiResult<Json<Vec<PhotoView>>> {
    let id = poll_id(&id)?;
    let photo: i64 = photo.parse().map_err(|_| AppError::not_found())?;
    if user.1.is_some() {
        return Err(AppError::forbidden().into());
    }
    let way = PhotoMove::parse(request.direction.trim())
        .ok_or_else(|| AppError::field("direction", "unknown_direction"))?;
    let now = OffsetDateTime::now_utc();
    let photos = usecase::move_photo(&state, &user.0, id, photo, way, now).await?;
    let poll = state.store.poll(id).await?;
    Ok(Json(photos.iter().map(|p| photo_view(&poll, p)).collect()))
}

/// Removes a photo of an option, before the poll opens (its organisers).
#[utoipa::path(delete, path = "/api/v1/polls/{id}/photos/{photo_id}", tag = "polls", security(("bearer" = [])),
    params(("id" = i64, Path), ("photo_id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn remove_photo(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, photo)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = poll_id(&id)?;
    let photo: i64 = photo.parse().map_err(|_| AppError::not_found())?;
    if user.1.is_some() {
        return Err(AppError::forbidden().into());
    }
    usecase::remove_photo(&state, &user.0, id, photo, OffsetDateTime::now_utc()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One answer per question, in order: `null` (skipped), `{"choices": [0, 2]}`,
/// `{"scale": 4}`, `{"ranking": [2, 0, 1]}` or `{"text": "…"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BallotRequest {
    #[schema(max_items = 50)]
    pub answers: Vec<Option<AnswerInput>>,
}

/// One answer: exactly one of the properties.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerInput {
    Choices(Vec<u16>),
    Scale(i64),
    Ranking(Vec<u16>),
    Text(String),
}

impl BallotRequest {
    pub(crate) fn raw(&self) -> Result<Vec<RawAnswer>, AppError> {
        if self.answers.len() > otklik_domain::poll::MAX_QUESTIONS {
            return Err(AppError::field("answers", "too_many_answers"));
        }
        Ok(self
            .answers
            .iter()
            .map(|a| match a {
                None => RawAnswer::None,
                Some(AnswerInput::Choices(c)) => RawAnswer::Choices(c.clone()),
                Some(AnswerInput::Scale(v)) => RawAnswer::Scale(*v),
                Some(AnswerInput::Ranking(r)) => RawAnswer::Ranking(r.clone()),
                Some(AnswerInput::Text(t)) => RawAnswer::Text(t.clone()),
            })
            .collect())
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BallotView {
    /// The ballot's random id: keep it to check the ballot is counted. It is not linked to
    /// the voter anywhere.
    pub ballot_id: String,
    pub receipt_url: String,
}

/// Casts the caller's ballot (a citizen, eligible, once per poll).
#[utoipa::path(post, path = "/api/v1/polls/{id}/ballots", tag = "polls", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = BallotRequest,
    responses((status = 201, body = BallotView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn cast_ballot(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<BallotRequest>,
) -> ApiResult<Response> {
    let id = poll_id(&id)?;
    if user.1.is_some() {
        return Err(AppError::forbidden().into());
    }
    let raw = request.raw()?;
    let (ballot_id, _) = usecase::vote(
        &state,
        &user.0,
        id,
        &raw,
        BallotChannel::Api,
        OffsetDateTime::now_utc(),
    )
    .await?;
    let view = BallotView {
        receipt_url: format!("/api/v1/polls/{}/receipts/{}", id.0, ballot_id.as_str()),
        ballot_id: ballot_id.as_str().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultsView {
    pub ballots: u64,
    /// The poll has closed: these are the final results.
    pub final_results: bool,
    /// While the poll runs, the counts are a copy that changes at most once per
    /// `updated_every_seconds` and only after `updated_after_ballots` new ballots (so that
    /// comparing two views never shows one person's choice); both `null` when the counts
    /// are exact (final, or copies turned off).
    pub updated_every_seconds: Option<u32>,
    pub updated_after_ballots: Option<u32>,
    pub questions: Vec<QuestionResultView>,
    /// Ballots by region, age group and channel, one at a time; groups under 10 ballots
    /// are not shown (their sum is `hidden`).
    pub breakdowns: Vec<BreakdownView>,
    /// Voters per local day: `[["2026-12-05", 120], …]`.
    #[schema(value_type = Vec<Vec<Object>>)]
    pub turnout_by_day: Vec<(String, u64)>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionResultView {
    pub text: String,
    /// `single`, `multiple`, `scale`, `ranking` or `free_text`.
    pub kind: String,
    pub answered: u64,
    pub rows: Vec<ResultRowView>,
    /// A scale's mean, to two decimals.
    pub mean: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultRowView {
    pub label: String,
    /// Choices for an option or a scale value; Borda points for a ranking.
    pub count: u64,
    /// Share in per mille (of answers; of all points for a ranking).
    pub per_mille: u64,
    /// A ranking's first places.
    pub firsts: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BreakdownView {
    /// `region`, `age` or `channel`.
    pub dimension: String,
    #[schema(value_type = Vec<Vec<Object>>)]
    pub groups: Vec<(String, u64)>,
    pub hidden: u64,
}

/// The results, when the poll's policy shows them now (live, or after the close).
#[utoipa::path(get, path = "/api/v1/polls/{id}/results", tag = "polls", params(("id" = i64, Path)),
    responses((status = 200, body = ResultsView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn poll_results(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ResultsView>> {
    let poll = usecase::visible(&state, None, poll_id(&id)?).await?;
    let results = usecase::results(&state, &poll, OffsetDateTime::now_utc()).await?;
    Ok(Json(ResultsView {
        ballots: results.ballots,
        final_results: results.final_results,
        updated_every_seconds: results.snapshot.map(|s| s.seconds),
        updated_after_ballots: results.snapshot.map(|s| s.min_ballots),
        questions: results
            .questions
            .into_iter()
            .map(|q| QuestionResultView {
                text: q.text,
                kind: q.kind.to_owned(),
                answered: q.answered,
                rows: q
                    .rows
                    .into_iter()
                    .map(|r| ResultRowView {
                        label: r.label,
                        count: r.count,
                        per_mille: r.per_mille,
                        firsts: r.firsts,
                    })
                    .collect(),
                mean: q.mean_centi.map(|m| m as f64 / 100.0),
            })
            .collect(),
        breakdowns: results
            .breakdowns
            .into_iter()
            .map(|b| BreakdownView {
                dimension: b.dimension.to_owned(),
                groups: b.groups,
                hidden: b.hidden,
            })
            .collect(),
        turnout_by_day: results.turnout_by_day,
    }))
}

/// A ballot's receipt: its answers, its leaf in the poll's log, and the inclusion proof
/// against a signed tree head of that log. Verify it offline with
/// `otklik poll verify-receipt`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptView {
    pub poll: i64,
    pub ballot_id: String,
    #[schema(value_type = Vec<Object>)]
    pub answers: serde_json::Value,
    pub alg: String,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    pub proof: Vec<String>,
    pub tree_head: TreeHeadView,
}

pub fn receipt_view(receipt: &BallotReceipt) -> ReceiptView {
    ReceiptView {
        poll: receipt.poll.0,
        ballot_id: receipt.ballot_id.as_str().to_owned(),
        answers: serde_json::to_value(&receipt.answers).unwrap_or_default(),
        alg: receipt.proof.alg.as_str().to_owned(),
        leaf_index: receipt.proof.leaf_index,
        tree_size: receipt.proof.tree_size,
        leaf_hash: otklik_log::encode_hash(&receipt.proof.leaf_hash),
        proof: receipt
            .proof
            .proof
            .iter()
            .map(otklik_log::encode_hash)
            .collect(),
        tree_head: tree_head_view(&receipt.head),
    }
}

/// The receipt of a ballot, by its id (whoever holds the id; no account needed).
#[utoipa::path(get, path = "/api/v1/polls/{id}/receipts/{ballot_id}", tag = "polls",
    params(("id" = i64, Path), ("ballot_id" = String, Path)),
    responses((status = 200, body = ReceiptView), (status = 404, body = Problem)))]
async fn ballot_receipt(
    State(state): State<AppState>,
    ApiPath((id, ballot_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<ReceiptView>> {
    let poll = usecase::visible(&state, None, poll_id(&id)?).await?;
    let receipt = usecase::receipt(&state, &poll, &ballot_id, OffsetDateTime::now_utc()).await?;
    Ok(Json(receipt_view(&receipt)))
}

/// After the close: every ballot (id and answers, in the order of the ids) with the poll's
/// questions, its close, and the signed head of its final tree (leaf 0 the definition,
/// then the ballots), so that anyone can recount with `otklik poll recount`. Streamed:
/// `{"poll","title","kind","closes_at","questions","tree_head","ballots":[…]}`.
#[utoipa::path(get, path = "/api/v1/polls/{id}/ballots", tag = "polls", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/json", body = Object), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn published_ballots(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let poll = usecase::visible(&state, None, poll_id(&id)?).await?;
    if poll.cancelled_at.is_some() {
        return Err(AppError::not_found().into());
    }
    let (size, head) = usecase::finalise(&state, &poll, OffsetDateTime::now_utc()).await?;
    let opening = serde_json::json!({
        "poll": poll.id.0,
        "title": poll.title,
        "kind": poll.kind().as_str(),
        "closes_at": poll.schedule.closes_at().unix_timestamp(),
        "questions": serde_json::from_str::<serde_json::Value>(&poll.spec.questions_json()).unwrap_or_default(),
        "tree_head": serde_json::to_value(tree_head_view(&head)).unwrap_or_default(),
    })
    .to_string();
    // `{…opening fields…,"ballots":[` then the ballots page by page (in the order of their
    // ids, the final tree's), then `]}`.
    let head_part = format!(
        "{},\"ballots\":[",
        opening.strip_suffix('}').unwrap_or(&opening)
    );
    let store = state.store.clone();
    let poll_id = poll.id;
    let pages = futures_util::stream::unfold(Some((None::<BallotId>, 0u64)), move |next| {
        let store = store.clone();
        async move {
            let (after, sent) = next?;
            if sent >= size {
                return Some((Ok::<_, std::io::Error>("]}".to_owned()), None));
            }
            match store.published_ballots(poll_id, after, PAGE).await {
                Ok(rows) if !rows.is_empty() => {
                    let mut chunk = String::new();
                    for (i, (ballot_id, answers)) in rows.iter().enumerate() {
                        if sent > 0 || i > 0 {
                            chunk.push(',');
                        }
                        let entry = serde_json::json!({"ballot_id": ballot_id.as_str(), "answers": answers});
                        chunk.push_str(&entry.to_string());
                    }
                    let last = rows.last().map(|(id, _)| id.clone());
                    Some((Ok(chunk), Some((last, sent + rows.len() as u64))))
                }
                Ok(_) => Some((Err(std::io::Error::other("ballots missing")), None)),
                Err(e) => {
                    tracing::error!(code = e.code(), "published ballots: {e}");
                    Some((Err(std::io::Error::other("store failed")), None))
                }
            }
        }
    });
    let body =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(head_part) }).chain(pages);
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

use futures_util::StreamExt as _;
