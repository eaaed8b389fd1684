//! The operator's console: routing rules, organisations, catalogue and forms, deadline
//! policies, calendars, and the record of changes.
//!
//! Only the operator may open it: anonymous visitors are sent to the login page, everyone
//! else gets 403. What the forms send is parsed and checked by `api::console`, so the
//! pages and the API accept the same things; every change is recorded by the store with
//! the operator as its actor. Pages follow POST-redirect-GET; a form that fails is shown
//! again with what was typed, an error summary and the errors at their fields.

pub(super) mod calendars;
mod catalogue;
mod changes;
mod notifications;
mod organisations;
mod policies;
mod quality_feed;
mod routing;
mod text;

use askama::Template;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use otklik_store::{Category, Organisation, Region, UserRecord};

use super::forms::{FieldView, SummaryItem};
use super::views::Chrome;
use super::{render, PageError};
use crate::api::console::require_operator;
use crate::auth::Ctx;
use crate::error::AppError;
use crate::AppState;

type PageResult = Result<Response, PageError>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(index))
        .merge(routing::routes())
        .merge(organisations::routes())
        .merge(catalogue::routes())
        .merge(policies::routes())
        .merge(calendars::routes())
        .merge(changes::routes())
        .merge(notifications::routes())
        .merge(quality_feed::routes())
}

/// The signed-in operator; anonymous visitors go to the login page, others get 403.
fn operator(ctx: &Ctx) -> Result<&UserRecord, PageError> {
    let user = ctx.require_user()?;
    require_operator(user)?;
    Ok(user)
}

/// The operator of a form post, whose CSRF token is checked (after the role, so that
/// nobody else learns anything from the token check).
fn operator_post<'a>(ctx: &'a Ctx, csrf: &str) -> Result<&'a UserRecord, PageError> {
    let user = operator(ctx)?;
    ctx.check_csrf(csrf)?;
    Ok(user)
}

/// One input with its value and, when the error names it, its message.
fn input(
    name: &str,
    label: &str,
    kind: &'static str,
    value: &str,
    error: Option<&AppError>,
) -> FieldView {
    let mut field = FieldView::new(name, label, kind).value(value);
    field.error = error.and_then(|e| e.field_code(name)).map(text::message);
    field
}

/// A group of radio buttons (or a single choice drawn as radios), as
/// `console_radios.html` draws it.
pub struct Choice {
    pub name: String,
    pub id: String,
    pub legend: String,
    pub value: String,
    pub options: Vec<(String, String)>,
    pub hint: Option<String>,
    pub error: Option<&'static str>,
}

impl Choice {
    fn new(
        name: &str,
        legend: &str,
        value: &str,
        options: Vec<(String, String)>,
        error: Option<&AppError>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            id: format!("f-{}", name.replace(['.', '_'], "-")),
            legend: legend.to_owned(),
            value: value.to_owned(),
            options,
            hint: None,
            error: error.and_then(|e| e.field_code(name)).map(text::message),
        }
    }

    fn hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.to_owned());
        self
    }

    /// The id of one option's radio button.
    pub fn option_id(&self, value: &str) -> String {
        format!("{}-{}", self.id, value.replace(['.', '_'], "-"))
    }

    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }
}

/// An input the error summary can link to: its name, its element id and its label.
struct Target {
    name: String,
    id: String,
    label: String,
}

impl From<&FieldView> for Target {
    fn from(f: &FieldView) -> Self {
        Self {
            name: f.name.clone(),
            id: f.id.clone(),
            label: f.label.clone(),
        }
    }
}

impl From<&Choice> for Target {
    fn from(c: &Choice) -> Self {
        Self {
            name: c.name.clone(),
            id: c.id.clone(),
            label: c.legend.clone(),
        }
    }
}

/// The error summary of a failed form: each invalid input linked, in the error's order;
/// errors of inputs not on the page link to the page's start.
fn summary(error: Option<&AppError>, targets: &[Target]) -> Vec<SummaryItem> {
    let Some(error) = error else {
        return Vec::new();
    };
    let mut items: Vec<SummaryItem> = error
        .fields
        .iter()
        .map(|f| match targets.iter().find(|t| t.name == f.field) {
            Some(t) => SummaryItem {
                href: format!("#{}", t.id),
                message: format!("{}: {}", t.label, text::message(f.code)),
            },
            None => SummaryItem {
                href: "#main".to_owned(),
                message: text::message(f.code).to_owned(),
            },
        })
        .collect();
    if items.is_empty() {
        items.push(SummaryItem {
            href: "#main".to_owned(),
            message: text::message(error.code).to_owned(),
        });
    }
    items
}

/// Subcategories as «Категория → Подкатегория».
fn subcategory_options(catalogue: &[Category]) -> Vec<(String, String)> {
    catalogue
        .iter()
        .flat_map(|c| {
            c.subcategories
                .iter()
                .map(move |s| (s.id.to_string(), format!("{} → {}", c.name, s.name)))
        })
        .collect()
}

fn region_options(regions: &[Region]) -> Vec<(String, String)> {
    regions
        .iter()
        .map(|r| (r.id.to_string(), r.name.clone()))
        .collect()
}

fn org_options(orgs: &[Organisation]) -> Vec<(String, String)> {
    orgs.iter()
        .map(|o| (o.id.to_string(), o.name.clone()))
        .collect()
}

/// Russian labels of the organisation kinds, in the store's order.
fn org_kind_options() -> Vec<(String, String)> {
    otklik_store::ORGANISATION_KINDS
        .iter()
        .map(|k| ((*k).to_owned(), text::org_kind(k).to_owned()))
        .collect()
}

/// A number from a redirect's query (`checked`, `changed`), digits only.
fn count(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_digit).take(20).collect()
}

// --- the index -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console_index.html")]
struct IndexPage {
    chrome: Chrome,
}

async fn index(ctx: Ctx) -> PageResult {
    operator(&ctx)?;
    Ok(render(&IndexPage {
        chrome: Chrome::new(&ctx, "Настройка платформы"),
    }))
}
