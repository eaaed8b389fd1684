//! Duplicates and public messages on the pages: the merge panel of a submission's page
//! (likely duplicates found by the search index, merging and separating), the author's
//! choice to show a message to other citizens, and the public page of a message that
//! anyone may follow.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use otklik_domain::lifecycle::{Merge, Role, Status, SubmissionKind};
use otklik_domain::SubmissionId;
use otklik_store::{PublicSubmission, SubmissionDetail, UserRecord};
use serde::Deserialize;
use time::OffsetDateTime;

use super::views::Chrome;
use super::{parse_id, render, PageError, PageResult};
use crate::auth::{self, Ctx};
use crate::error::AppError;
use crate::{messages, AppState};

/// How many likely duplicates a submission's page offers to merge.
const CANDIDATES: usize = 5;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/submissions/{id}/duplicates/merge", post(merge))
        .route("/submissions/{id}/duplicates/unmerge", post(unmerge))
        .route("/submissions/{id}/visibility", post(visibility))
        .route("/submit/{id}/similar", post(similar_fragment))
        .route("/public/{id}", get(public_page))
        .route("/public/{id}/follow", post(follow))
}

/// A submission named on the merge panel.
pub struct Linked {
    pub href: String,
    pub number: String,
}

/// A likely duplicate an official may merge into the submission on the page.
pub struct Candidate {
    pub id: i64,
    pub href: String,
    pub title: String,
    pub snippet_html: String,
}

/// The merge panel of a submission's page.
#[derive(Default)]
pub struct MergeView {
    /// The author may show or hide the message (Some: whether it is public now).
    pub public_toggle: Option<bool>,
    /// Whether it is public, and its public page.
    pub public: bool,
    pub public_href: String,
    pub merged_into: Option<Linked>,
    pub duplicates: Vec<Linked>,
    /// The viewer may separate it from its primary.
    pub may_unmerge: bool,
    /// Likely duplicates the viewer may merge into this one.
    pub candidates: Vec<Candidate>,
}

impl MergeView {
    pub async fn build(
        state: &AppState,
        user: &UserRecord,
        d: &SubmissionDetail,
    ) -> Result<Self, AppError> {
        let actor = auth::actor_of(user);
        let this = otklik_domain::merge::Side {
            id: d.id,
            state: d.state(),
        };
        let linked = |r: &otklik_store::Related| Linked {
            href: format!("/submissions/{}", r.id),
            number: r.number.to_string(),
        };
        let is_author = actor.user == d.author && actor.role == Role::Citizen;
        let may_unmerge = otklik_domain::merge::decide_unmerge(&this, &actor).is_ok();
        // Offered only where a merge into this one could succeed.
        let receives = otklik_domain::merge::decide_merge(&this, &probe_other(&this), &actor);
        let candidates = if receives.is_ok() {
            candidates(state, d).await?
        } else {
            Vec::new()
        };
        Ok(Self {
            public_toggle: (is_author && d.kind == SubmissionKind::Message).then_some(d.public),
            public: d.public,
            public_href: format!("/public/{}", d.id),
            merged_into: d.merged_into.as_ref().map(linked),
            duplicates: d.duplicates.iter().map(linked).collect(),
            may_unmerge,
            candidates,
        })
    }
}

/// Another open submission of the same organisation, to ask the domain whether this one
/// can receive duplicates at all.
fn probe_other(this: &otklik_domain::merge::Side) -> otklik_domain::merge::Side {
    let mut other = *this;
    other.id = SubmissionId(-1);
    other.state.status = Status::Registered;
    other.state.merge = Merge::Alone;
    other
}

/// Open submissions of the holder in the same category and region whose text is like
/// this one's, best first (from the search index; at most a moment behind).
pub(crate) async fn candidates(
    state: &AppState,
    d: &SubmissionDetail,
) -> Result<Vec<Candidate>, AppError> {
    let query = otklik_search::SimilarQuery {
        text: d.text.clone(),
        subcategory: Some(d.subcategory.0),
        region: Some(d.region.0),
        municipality: None,
        public_only: false,
        open_only: true,
        exclude: Some(d.id.0),
        scope: otklik_search::Scope::Orgs(vec![d.org.0]),
        limit: CANDIDATES,
    };
    let hits = similar(state, query).await?;
    Ok(hits
        .into_iter()
        .filter_map(|hit| {
            let id = hit.submission?;
            Some(Candidate {
                id,
                href: format!("/submissions/{id}"),
                title: hit.title,
                snippet_html: hit.snippet_html,
            })
        })
        .collect())
}

/// How many public messages the submission form suggests.
const SUGGESTIONS: usize = 5;

/// Public messages of the same category and territory like the text being written,
/// best first: "this is already reported — follow it instead?". Rejected messages and
/// those no longer public are left out (the store confirms each hit).
pub async fn similar_public(
    state: &AppState,
    subcategory: otklik_domain::SubcategoryId,
    input: &crate::usecases::SubmitInput,
) -> Result<Vec<PublicView>, AppError> {
    let ids = similar_ids(state, subcategory, input).await?;
    Ok(state
        .store
        .public_submissions(&ids)
        .await?
        .iter()
        .map(PublicView::of)
        .collect())
}

/// The public messages like the text typed, best first, by id (see [`similar_public`]).
pub async fn similar_ids(
    state: &AppState,
    subcategory: otklik_domain::SubcategoryId,
    input: &crate::usecases::SubmitInput,
) -> Result<Vec<SubmissionId>, AppError> {
    let query = otklik_search::SimilarQuery {
        text: input.text.clone(),
        subcategory: Some(subcategory.0),
        region: input.region.trim().parse().ok(),
        municipality: input.municipality.trim().parse().ok(),
        public_only: true,
        open_only: false,
        exclude: None,
        scope: otklik_search::Scope::All,
        limit: SUGGESTIONS,
    };
    Ok(similar(state, query)
        .await?
        .iter()
        .filter_map(|h| h.submission)
        .map(SubmissionId)
        .collect())
}

/// Runs a similarity query on the index, off the async threads.
async fn similar(
    state: &AppState,
    query: otklik_search::SimilarQuery,
) -> Result<Vec<otklik_search::Hit>, AppError> {
    let index = state.search.clone();
    crate::signing::blocking(move || index.similar(&query))
        .await?
        .map_err(|e| {
            tracing::error!(code = e.code(), "similar search failed: {e}");
            AppError::internal()
        })
}

/// Who may merge and separate: officials and coordinators (the domain then checks the
/// organisation and region); everyone else is refused before anything is looked up.
fn merger(ctx: &Ctx) -> Result<&UserRecord, AppError> {
    let user = ctx.require_user()?;
    match user.role {
        Role::Official(_) | Role::Coordinator(_) => Ok(user),
        _ => Err(AppError::forbidden()),
    }
}

#[derive(Template)]
#[template(path = "similar_results.html")]
struct SimilarFragment {
    similar: Option<Vec<PublicView>>,
}

#[derive(Deserialize)]
struct SimilarForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    municipality: String,
}

/// The suggestions alone, as the submission form's script asks for them while the
/// citizen types.
async fn similar_fragment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<SimilarForm>, FormRejection>,
) -> PageResult {
    let subcategory = otklik_domain::SubcategoryId(parse_id(&id)?);
    ctx.require(otklik_domain::access::Capability::Submit(
        SubmissionKind::Message,
    ))
    .map_err(super::citizens_only)?;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    state.store.subcategory(subcategory).await?;
    let input = crate::usecases::SubmitInput {
        text: form.text,
        region: form.region,
        municipality: form.municipality,
        ..Default::default()
    };
    let similar = similar_public(&state, subcategory, &input).await?;
    Ok(render(&SimilarFragment {
        similar: Some(similar),
    })
    .into_response())
}

#[derive(Deserialize)]
struct MergeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    duplicate: String,
}

/// Merges the chosen duplicate into the submission of the page.
async fn merge(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<MergeForm>, FormRejection>,
) -> PageResult {
    let primary = SubmissionId(parse_id(&id)?);
    let user = merger(&ctx)?;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    let duplicate = SubmissionId(parse_id(&form.duplicate)?);
    state
        .store
        .merge_submissions(
            primary,
            duplicate,
            auth::actor_of(user),
            OffsetDateTime::now_utc(),
        )
        .await?;
    Ok(Redirect::to(&format!("/submissions/{primary}?done=merged_in")).into_response())
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// Separates the submission of the page from its primary.
async fn unmerge(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> PageResult {
    let id = SubmissionId(parse_id(&id)?);
    let user = merger(&ctx)?;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    state
        .store
        .unmerge_submission(id, auth::actor_of(user), OffsetDateTime::now_utc())
        .await?;
    Ok(Redirect::to(&format!("/submissions/{id}?done=unmerged")).into_response())
}

#[derive(Deserialize)]
struct ToggleForm {
    #[serde(default)]
    csrf: String,
    /// "1" to show, "0" to hide (publicity); "1" to follow, "0" to stop (following).
    #[serde(default)]
    on: String,
}

impl ToggleForm {
    fn on(&self) -> Result<bool, AppError> {
        match self.on.as_str() {
            "1" => Ok(true),
            "0" => Ok(false),
            _ => Err(AppError::field("on", "unknown_value")),
        }
    }
}

/// A switch posted about a submission: its id, who posts, and on or off.
fn toggled<'a>(
    ctx: &'a Ctx,
    id: &str,
    form: Result<Form<ToggleForm>, FormRejection>,
) -> Result<(SubmissionId, &'a UserRecord, bool), PageError> {
    let id = SubmissionId(parse_id(id)?);
    let user = ctx.require_user()?;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    Ok((id, user, form.on()?))
}

/// The author shows the message to other citizens or hides it.
async fn visibility(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<ToggleForm>, FormRejection>,
) -> PageResult {
    // Only the author chooses, as a citizen (the store refuses anyone else; those who
    // may not see the submission get 404, as everywhere).
    let (id, user, public) = toggled(&ctx, &id, form)?;
    state
        .store
        .set_public(id, auth::actor_of(user), public, OffsetDateTime::now_utc())
        .await?;
    let done = if public { "public" } else { "private" };
    Ok(Redirect::to(&format!("/submissions/{id}?done={done}")).into_response())
}

/// A public message as anyone sees it.
pub struct PublicView {
    pub href: String,
    pub number: String,
    pub status: &'static str,
    pub status_code: &'static str,
    pub topic: String,
    pub place: String,
    pub org_name: String,
    pub created: String,
    pub text: String,
    pub answer: Option<(String, String)>,
    pub followers: u64,
    pub duplicates: u64,
}

impl PublicView {
    pub fn of(p: &PublicSubmission) -> Self {
        Self {
            href: format!("/public/{}", p.id),
            number: p.number.to_string(),
            status: messages::status(p.status),
            status_code: p.status.as_str(),
            topic: format!("{} → {}", p.category_name, p.subcategory_name),
            place: p.place(),
            org_name: p.org_name.clone(),
            created: messages::datetime(p.created_at),
            text: p.text.clone(),
            answer: p
                .answer
                .as_ref()
                .map(|(body, at)| (body.clone(), messages::datetime(*at))),
            followers: p.followers,
            duplicates: p.duplicates,
        }
    }
}

#[derive(Template)]
#[template(path = "public_submission.html")]
struct PublicPage {
    chrome: Chrome,
    item: PublicView,
    /// Signed in: whether the visitor follows it.
    following: Option<bool>,
    action: String,
}

async fn public_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> PageResult {
    let id = SubmissionId(parse_id(&id)?);
    let found = state
        .store
        .public_submissions(&[id])
        .await?
        .pop()
        .ok_or_else(AppError::not_found)?;
    let following = match ctx.user.as_ref() {
        Some(user) => Some(state.store.follows(user.id, id).await?),
        None => None,
    };
    let item = PublicView::of(&found);
    Ok(render(&PublicPage {
        chrome: Chrome::new(&ctx, &format!("Сообщение № {}", item.number)),
        action: format!("/public/{id}/follow"),
        item,
        following,
    })
    .into_response())
}

/// Follow a public message (or stop): it is listed in the personal account.
async fn follow(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<ToggleForm>, FormRejection>,
) -> PageResult {
    let (id, user, on) = toggled(&ctx, &id, form)?;
    state
        .store
        .follow(user.id, id, on, OffsetDateTime::now_utc())
        .await?;
    Ok(Redirect::to(&format!("/public/{id}")).into_response())
}
