//! The service-quality feed's push, as the operator sees it: where it goes, how far it
//! got, and whether it is failing (`docs/QUALITY_FEED.md`).

use askama::Template;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use time::OffsetDateTime;

use super::super::render;
use super::super::views::Chrome;
use super::{operator, PageResult};
use crate::auth::Ctx;
use crate::quality::PushStatus;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/quality-feed", get(page))
}

#[derive(Template)]
#[template(path = "console_quality_feed.html")]
struct Page {
    chrome: Chrome,
    status: PushStatus,
    /// The state in words.
    state: &'static str,
    /// The last failure in words, with its code.
    error: Option<String>,
    next_attempt: Option<String>,
    pending: String,
}

async fn page(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    operator(&ctx)?;
    let now = OffsetDateTime::now_utc();
    let status =
        crate::quality::push_status(state.store.as_ref(), &state.config.quality_feed, now).await?;
    let next_attempt = status
        .next_attempt_at
        .as_deref()
        .and_then(|at| {
            OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()
        })
        .map(crate::messages::datetime);
    Ok(render(&Page {
        chrome: Chrome::new(&ctx, "Передача мнений о качестве услуг"),
        state: state_text(status.state),
        error: status
            .last_error
            .as_deref()
            .map(|code| format!("{} ({code})", error_text(code))),
        next_attempt,
        pending: match (status.pending, status.pending_exact) {
            (n, true) => n.to_string(),
            (n, false) => format!("не менее {n}"),
        },
        status,
    }))
}

fn state_text(state: &str) -> &'static str {
    match state {
        "off" => "выключена: адрес получателя не задан, мнения только выдаются по запросу",
        "up_to_date" => "всё передано",
        "delivering" => "идёт передача",
        _ => "ошибка, передача повторяется",
    }
}

fn error_text(code: &str) -> &'static str {
    match code {
        "timeout" => "получатель не ответил вовремя",
        "unreachable" => "получатель недоступен",
        code if code.starts_with("http_") => "получатель отклонил передачу",
        _ => "ошибка передачи",
    }
}
