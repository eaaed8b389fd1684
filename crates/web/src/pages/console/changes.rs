//! The record of configuration changes: who changed what, when, and what it was before
//! and after, newest first, a page at a time.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use otklik_domain::lifecycle::SubmissionKind;
use otklik_store::ConfigChange;
use serde::Deserialize;

use super::super::render;
use super::super::views::Chrome;
use super::{operator, text, PageResult};
use crate::api::console::CHANGES_PAGE;
use crate::auth::Ctx;
use crate::error::AppError;
use crate::{messages, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/changes", get(page))
}

/// The highest page number accepted (keeps offsets inside `u32`).
const MAX_PAGE: u32 = 100_000;

pub struct ChangeRow {
    pub at: String,
    pub actor: String,
    pub entity: &'static str,
    pub key: String,
    pub before: String,
    pub after: String,
}

/// Which record of its kind a change is about, in words.
fn key_text(entity: &str, key: &str) -> String {
    match entity {
        "deadline_policy" => {
            let (kind, topic) = key.split_once(':').unwrap_or((key, "*"));
            let kind = SubmissionKind::parse(kind).map_or("—", text::submission_kind);
            match topic {
                "*" => format!("{kind}, все темы"),
                id => format!("{kind}, тема № {id}"),
            }
        }
        "calendar" if key == "federal" => "федеральный слой".to_owned(),
        "calendar" => format!("регион {key}"),
        _ => format!("№ {key}"),
    }
}

/// A stored value as people read it: JSON indented, anything else as is; "—" for none.
fn value_text(value: Option<&str>) -> String {
    match value {
        None => "—".to_owned(),
        Some(raw) => serde_json::from_str::<serde_json::Value>(raw)
            .ok()
            .filter(|v| v.is_object() || v.is_array())
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| raw.to_owned()),
    }
}

fn row(c: &ConfigChange) -> ChangeRow {
    ChangeRow {
        at: messages::datetime(c.at),
        actor: c
            .actor_name
            .clone()
            .unwrap_or_else(|| "Система (командная строка)".to_owned()),
        entity: text::entity(&c.entity),
        key: key_text(&c.entity, &c.entity_key),
        before: value_text(c.before.as_deref()),
        after: value_text(c.after.as_deref()),
    }
}

#[derive(Template)]
#[template(path = "console_changes.html")]
struct ChangesPage {
    chrome: Chrome,
    rows: Vec<ChangeRow>,
    page: u32,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(default)]
    page: String,
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|_| AppError::bad_request("invalid_query"))?;
    operator(&ctx)?;
    let number = match q.page.trim() {
        "" => 1,
        raw => raw
            .parse::<u32>()
            .ok()
            .filter(|p| (1..=MAX_PAGE).contains(p))
            .ok_or_else(|| AppError::bad_request("invalid_query"))?,
    };
    // One more than a page tells whether there is a next page.
    let mut changes = state
        .store
        .config_changes(CHANGES_PAGE + 1, (number - 1) * CHANGES_PAGE)
        .await?;
    let more = changes.len() > CHANGES_PAGE as usize;
    changes.truncate(CHANGES_PAGE as usize);
    Ok(render(&ChangesPage {
        chrome: Chrome::new(&ctx, "Журнал изменений"),
        rows: changes.iter().map(row).collect(),
        page: number,
        prev: (number > 1).then(|| format!("/console/changes?page={}", number - 1)),
        next: more.then(|| format!("/console/changes?page={}", number + 1)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_read_in_words() {
        assert_eq!(
            key_text("deadline_policy", "message:*"),
            "Сообщения, все темы"
        );
        assert_eq!(
            key_text("deadline_policy", "appeal:7"),
            "Обращения (59-ФЗ), тема № 7"
        );
        assert_eq!(key_text("calendar", "RU-TVE"), "регион RU-TVE");
        assert_eq!(key_text("route", "3"), "№ 3");
        assert_eq!(value_text(None), "—");
        assert_eq!(value_text(Some("Транспорт")), "Транспорт");
        assert_eq!(value_text(Some(r#"{"org":1}"#)), "{\n  \"org\": 1\n}");
    }
}
