//! Full-text search as pages and the API both use it: what a person may search (the
//! same policy as lists: a citizen their own submissions, an official their
//! organisation's, a coordinator their region's, the operator everything), the query
//! parsed from what they typed, and the search run off the async threads.

use otklik_domain::access::{self, Capability, Principal};
use otklik_domain::lifecycle::Role;
use otklik_search::{DocKind, Filters, Scope, SearchQuery, SearchResults, Sort};
use serde::Deserialize;

use crate::error::AppError;
use crate::AppState;

pub const PAGE: usize = 20;
/// The deepest page: a search is for finding, not for walking the whole archive.
pub const MAX_OFFSET: usize = 10_000;
/// A query longer than this is refused (422 `query_too_long`).
pub const MAX_QUERY_CHARS: usize = 500;

/// The states of what is not a submission: a register incident (`open`, `resolved`) and
/// a social-media incident (`open`, `answered` — a submission's too —, `dismissed`,
/// `merged`).
pub const OTHER_STATUSES: [&str; 4] = ["open", "resolved", "dismissed", "merged"];
/// The channels of what is not a submission: a social-media incident (`social`) and a
/// post (its platform).
pub const OTHER_CHANNELS: [&str; 5] = ["social", "vk", "telegram", "rss", "webhook"];

/// The search form's fields, as the page's query string and the API's parameters carry
/// them; everything optional, every value checked.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SearchParams {
    pub q: Option<String>,
    /// `submission`, `answer`, `incident` (the register), `social` (a social-media
    /// incident) or `post`.
    pub kind: Option<String>,
    pub status: Option<String>,
    pub category: Option<i64>,
    pub region: Option<i64>,
    pub org: Option<i64>,
    pub channel: Option<String>,
    /// `YYYY-MM-DD`, inclusive, Moscow time.
    pub from: Option<String>,
    pub to: Option<String>,
    /// `relevance` (default) or `newest`.
    pub sort: Option<String>,
    pub page: Option<u32>,
}

/// What the person may search, by the same policy as lists.
pub fn scope_of(principal: &Principal) -> Result<Scope, AppError> {
    let capability = match principal.role() {
        Role::Citizen => Capability::ListOwn,
        Role::Official(_) | Role::Integration(_) => Capability::ListOrganisation,
        Role::Coordinator(_) => Capability::ListRegion,
        Role::Operator => Capability::ListAll,
        // The analyst reads aggregates only; an organisation's administrator does not
        // read citizens' submissions.
        Role::Analyst | Role::OrgAdmin(_) => return Err(AppError::forbidden()),
    };
    access::check(Some(principal), capability)?;
    Ok(match principal.role() {
        Role::Citizen => Scope::Author(principal.actor.user.0),
        Role::Official(org) | Role::Integration(org) => Scope::Orgs(vec![org.0]),
        Role::Coordinator(region) => Scope::Regions(vec![region.0]),
        _ => Scope::All,
    })
}

/// Checks the parameters into a query for `scope`.
pub fn query_of(params: &SearchParams, scope: Scope) -> Result<SearchQuery, AppError> {
    let mut errors = otklik_domain::ValidationErrors::default();
    let text = params.q.clone().unwrap_or_default();
    if text.chars().count() > MAX_QUERY_CHARS {
        errors.push("q", "query_too_long");
    }
    let kinds = match params.kind.as_deref().filter(|k| !k.is_empty()) {
        None => Vec::new(),
        Some(raw) => match DocKind::parse(raw) {
            Some(kind) => vec![kind],
            None => {
                errors.push("kind", "unknown_value");
                Vec::new()
            }
        },
    };
    let status = match params.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => match otklik_domain::lifecycle::Status::parse(raw) {
            Ok(status) => Some(status.as_str().to_owned()),
            Err(_) if OTHER_STATUSES.contains(&raw) => Some(raw.to_owned()),
            Err(_) => {
                errors.push("status", "unknown_value");
                None
            }
        },
    };
    let channel = match params.channel.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => match otklik_domain::lifecycle::Channel::parse(raw) {
            Ok(channel) => Some(channel.as_str().to_owned()),
            Err(_) if OTHER_CHANNELS.contains(&raw) => Some(raw.to_owned()),
            Err(_) => {
                errors.push("channel", "unknown_value");
                None
            }
        },
    };
    let from = day(&mut errors, "from", params.from.as_deref(), false);
    let to = day(&mut errors, "to", params.to.as_deref(), true);
    let sort = match params.sort.as_deref().filter(|s| !s.is_empty()) {
        None | Some("relevance") => Sort::Relevance,
        Some("newest") => Sort::Newest,
        Some(_) => {
            errors.push("sort", "unknown_value");
            Sort::Relevance
        }
    };
    let page = params.page.unwrap_or(1) as usize;
    let offset = page.saturating_sub(1).saturating_mul(PAGE);
    if page == 0 || offset > MAX_OFFSET {
        errors.push("page", "out_of_range");
    }
    errors
        .into_result(|| SearchQuery {
            text: text.trim().to_owned(),
            filters: Filters {
                kinds,
                status,
                category: params.category,
                subcategory: None,
                region: params.region,
                org: params.org,
                channel,
                from,
                to,
            },
            scope,
            sort,
            limit: PAGE,
            offset,
        })
        .map_err(AppError::validation)
}

/// A day's start (or, for `to`, its last second) in Moscow time, as unix seconds.
fn day(
    errors: &mut otklik_domain::ValidationErrors,
    field: &str,
    raw: Option<&str>,
    end: bool,
) -> Option<i64> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let Ok(date) = time::Date::parse(raw, &format) else {
        errors.push(field, "invalid_date");
        return None;
    };
    let moscow = time::macros::offset!(+3);
    let at = if end {
        date.with_hms(23, 59, 59).ok()?
    } else {
        date.midnight()
    };
    Some(at.assume_offset(moscow).unix_timestamp())
}

/// Runs a search for this person.
pub async fn run(
    state: &AppState,
    principal: &Principal,
    params: &SearchParams,
) -> Result<SearchResults, AppError> {
    let query = query_of(params, scope_of(principal)?)?;
    let index = state.search.clone();
    crate::signing::blocking(move || index.search(&query))
        .await?
        .map_err(|e| match e.code() {
            "invalid_query" => AppError::field("q", "invalid_query"),
            code => {
                tracing::error!(code, "search failed: {e}");
                AppError::internal()
            }
        })
}
