//! The social-media incident queue (`/social`): incidents with their posts, by reach (the
//! operator and the analyst everything, a coordinator the region, an official what is
//! routed to the organisation), and the actions on one: answer publicly, re-route, merge,
//! split, dismiss. Plain forms: everything works without JavaScript.

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use otklik_domain::lifecycle::Role;
use otklik_domain::social::{decide, DismissReason, IncidentAction, IncidentStatus};
use otklik_store::{QuarantineRecord, SocialIncident, SocialPost, SourceState};
use serde::Deserialize;
use time::OffsetDateTime;

use super::views::Chrome;
use super::{render, render_status, PageError};
use crate::auth::{self, Ctx};
use crate::error::AppError;
use crate::messages;
use crate::social::{self as social_web, check_view, query_for, scope_of};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/social", get(queue))
        .route("/social/quarantine", get(quarantine))
        .route("/social/incidents/{id}", get(show))
        .route("/social/incidents/{id}/{action}", post(act))
}

const PAGE_SIZE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
struct QueueParams {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    overdue: Option<String>,
    #[serde(default)]
    page: Option<u32>,
}

/// An incident as the pages show it.
pub struct IncidentView {
    pub id: i64,
    pub href: String,
    pub title: String,
    pub status: &'static str,
    pub topic: String,
    pub place: String,
    pub org: String,
    pub posts: u64,
    pub due: String,
    pub overdue: bool,
    pub breached: bool,
    pub urgent: bool,
    pub answer: Option<String>,
    pub dismissed: Option<&'static str>,
    pub merged_into: Option<String>,
    pub route: String,
}

fn view(i: &SocialIncident, now: OffsetDateTime) -> IncidentView {
    let topic = match (&i.category_name, &i.subcategory_name) {
        (Some(c), Some(s)) => format!("{c} — {s}"),
        (_, Some(s)) => s.clone(),
        _ => "Без категории".to_owned(),
    };
    let place = match (&i.place, &i.region_name) {
        (Some(p), Some(r)) if p != r => format!("{p}, {r}"),
        (_, Some(r)) => r.clone(),
        (Some(p), None) => p.clone(),
        (None, None) => "Территория не определена".to_owned(),
    };
    IncidentView {
        id: i.id,
        href: format!("/social/incidents/{}", i.id),
        title: i.title.clone(),
        status: i.status.title_ru(),
        topic,
        place,
        org: i
            .org_name
            .clone()
            .unwrap_or_else(|| "Не назначен (оператор)".to_owned()),
        posts: i.posts,
        due: messages::datetime(i.due_at),
        overdue: i.status == IncidentStatus::Open && i.due_at < now,
        breached: i.breached_at.is_some(),
        urgent: i.urgent,
        answer: i.answer.clone(),
        dismissed: i.dismiss_reason.map(DismissReason::title_ru),
        merged_into: i.merged_into.map(|m| format!("/social/incidents/{m}")),
        route: match i.route_label.as_deref() {
            Some("manual") => "вручную".to_owned(),
            Some("coordinator") => "координатору региона (правила нет)".to_owned(),
            Some(_) => "по правилу маршрутизации".to_owned(),
            None => "не маршрутизирован".to_owned(),
        },
    }
}

pub struct PostView {
    pub id: i64,
    pub platform: &'static str,
    pub url: Option<String>,
    pub text: String,
    pub published: String,
    pub duplicate: bool,
    pub urgent: bool,
    pub confidence: String,
    pub reply: Option<&'static str>,
}

fn post_view(p: &SocialPost) -> PostView {
    PostView {
        id: p.id,
        platform: messages::platform(p.platform),
        url: p.url.clone(),
        text: p.text.clone(),
        published: messages::datetime(p.published_at),
        duplicate: p.duplicate_of.is_some(),
        urgent: p.urgent,
        confidence: format!("{:.0} %", p.confidence * 100.0),
        reply: p.reply_status.as_deref().map(|s| match s {
            "sent" => "ответ опубликован под постом",
            "failed" => "ответ под постом опубликовать не удалось",
            _ => "ответ публикуется",
        }),
    }
}

#[derive(Template)]
#[template(path = "social_queue.html")]
pub struct QueuePage {
    pub chrome: Chrome,
    pub incidents: Vec<IncidentView>,
    pub status: String,
    pub overdue: bool,
    pub statuses: Vec<(&'static str, &'static str)>,
    pub next_page: Option<String>,
    pub operator: bool,
}

async fn queue(
    State(state): State<AppState>,
    ctx: Ctx,
    params: Result<Query<QueueParams>, QueryRejection>,
) -> Result<Response, PageError> {
    let user = ctx.require_user()?;
    let Query(params) = params.map_err(|_| AppError::bad_request("invalid_query"))?;
    let status = params.status.clone().unwrap_or_else(|| "open".to_owned());
    let overdue = params.overdue.as_deref() == Some("1");
    let page = params.page.unwrap_or(0).min(10_000);
    let query = query_for(
        user.role,
        Some(&status),
        overdue,
        PAGE_SIZE + 1,
        page * PAGE_SIZE,
    )?;
    let now = OffsetDateTime::now_utc();
    let mut incidents = state.store.social_incidents(&query, now).await?;
    let more = incidents.len() > PAGE_SIZE as usize;
    incidents.truncate(PAGE_SIZE as usize);
    let next_page = more.then(|| {
        format!(
            "/social?status={status}{}&page={}",
            if overdue { "&overdue=1" } else { "" },
            page + 1
        )
    });
    let mut statuses = vec![("all", "Все")];
    statuses.extend(
        IncidentStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.title_ru())),
    );
    Ok(render(&QueuePage {
        chrome: Chrome::new(&ctx, "Инциденты из соцсетей"),
        incidents: incidents.iter().map(|i| view(i, now)).collect(),
        status,
        overdue,
        statuses,
        next_page,
        operator: user.role == Role::Operator,
    }))
}

#[derive(Template)]
#[template(path = "social_incident.html")]
pub struct IncidentPage {
    pub chrome: Chrome,
    pub incident: IncidentView,
    pub posts: Vec<PostView>,
    pub can_answer: bool,
    pub can_coordinate: bool,
    pub organisations: Vec<(i64, String, bool)>,
    pub reasons: Vec<(&'static str, &'static str)>,
    pub error: Option<&'static str>,
    pub text: String,
}

fn incident_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(AppError::not_found)
}

async fn incident_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    error: Option<&'static str>,
    text: String,
) -> Result<IncidentPage, PageError> {
    let user = ctx.require_user()?;
    // Who may not read the queue at all learns nothing of what exists.
    social_web::reach(user.role)?;
    let (incident, posts) = state.store.social_incident(id).await?;
    check_view(user.role, &incident)?;
    let scope = scope_of(&incident);
    let can_answer = decide(user.role, IncidentAction::Answer, &scope).is_ok();
    let can_coordinate = decide(user.role, IncidentAction::Reroute, &scope).is_ok();
    let organisations = if can_coordinate {
        let region = match user.role {
            Role::Coordinator(region) => Some(region),
            _ => None,
        };
        state
            .store
            .organisations()
            .await?
            .into_iter()
            .filter(|o| region.is_none() || o.region == region)
            .map(|o| (o.id.0, o.name, Some(o.id) == incident.org))
            .collect()
    } else {
        Vec::new()
    };
    Ok(IncidentPage {
        chrome: Chrome::new(ctx, &format!("Инцидент № {id}")),
        incident: view(&incident, OffsetDateTime::now_utc()),
        posts: posts.iter().map(post_view).collect(),
        can_answer,
        can_coordinate,
        organisations,
        reasons: DismissReason::ALL
            .iter()
            .map(|r| (r.as_str(), r.title_ru()))
            .collect(),
        error,
        text,
    })
}

async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = incident_id(&id)?;
    Ok(render(
        &incident_page(&state, &ctx, id, None, String::new()).await?,
    ))
}

async fn act(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let user = ctx.require_user()?.clone();
    let id = incident_id(&id)?;
    let mut fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let take = |name: &str, fields: &mut Vec<(String, String)>| -> Option<String> {
        fields
            .iter()
            .position(|(k, _)| k == name)
            .map(|i| fields.remove(i).1)
    };
    let csrf = take("csrf", &mut fields).unwrap_or_default();
    ctx.check_csrf(&csrf)?;
    social_web::reach(user.role)?;
    let text = take("text", &mut fields);
    let posts: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "posts")
        .map(|(_, v)| v.clone())
        .collect();
    let command = social_web::command(
        &action,
        text.as_deref(),
        take("reason", &mut fields).as_deref(),
        take("organisation", &mut fields).as_deref(),
        take("into", &mut fields).as_deref(),
        &posts,
    );
    let outcome = match command {
        Ok(command) => state
            .store
            .social_act(
                id,
                auth::actor_of(&user),
                command,
                OffsetDateTime::now_utc(),
            )
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(next) => Ok(Redirect::to(&format!("/social/incidents/{next}")).into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(e.into()),
        Err(e) => {
            // The page again, with the reason and what was typed.
            let code = e.fields.first().map_or(e.code, |f| f.code);
            let page = incident_page(
                &state,
                &ctx,
                id,
                Some(messages::error(code)),
                text.unwrap_or_default(),
            )
            .await?;
            Ok(render_status(e.status, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "social_quarantine.html")]
pub struct QuarantinePage {
    pub chrome: Chrome,
    pub sources: Vec<SourceView>,
    pub items: Vec<QuarantineView>,
}

pub struct SourceView {
    pub source: String,
    pub polled: String,
    pub received: u64,
    pub quarantined: u64,
    pub error: String,
}

pub struct QuarantineView {
    pub source: String,
    pub external_id: String,
    pub reason: &'static str,
    pub excerpt: String,
    pub received: String,
}

fn source_view(s: &SourceState) -> SourceView {
    SourceView {
        source: s.source.clone(),
        polled: s
            .polled_at
            .map_or_else(|| "ещё не опрашивался".to_owned(), messages::datetime),
        received: s.received,
        quarantined: s.quarantined,
        error: s.error_code.clone().unwrap_or_else(|| "—".to_owned()),
    }
}

fn quarantine_view(q: &QuarantineRecord) -> QuarantineView {
    let excerpt: String = q.excerpt.chars().take(300).collect();
    QuarantineView {
        source: q.source.clone(),
        external_id: q.external_id.clone().unwrap_or_else(|| "—".to_owned()),
        reason: match q.reason.as_str() {
            "too_large" => "слишком большой",
            "not_text" => "не текст (двоичные данные)",
            "bad_shape" => "неожиданная структура",
            "bad_encoding" => "неверная кодировка",
            "empty" => "пустой текст",
            _ => "другая причина",
        },
        excerpt,
        received: messages::datetime(q.received_at),
    }
}

/// The operator's view of the connectors and of what they could not read.
async fn quarantine(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = ctx.require_user()?;
    if user.role != Role::Operator {
        return Err(AppError::forbidden().into());
    }
    let sources = state.store.social_sources().await?;
    let items = state.store.social_quarantined(200).await?;
    Ok(render(&QuarantinePage {
        chrome: Chrome::new(&ctx, "Источники и карантин"),
        sources: sources.iter().map(source_view).collect(),
        items: items.iter().map(quarantine_view).collect(),
    }))
}
