//! The search page: one box and filters in a plain GET form (works without JavaScript,
//! bookmarkable), facets as links that narrow the search, results with the matches
//! marked, and pages.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use otklik_domain::lifecycle::Status;
use otklik_search::{DocKind, Hit, SearchResults};
use std::collections::HashMap;

use super::views::Chrome;
use super::{render, render_status, PageResult};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::messages;
use crate::search::{self, SearchParams, PAGE};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/search", get(search_page))
}

pub struct HitView {
    pub href: String,
    pub title: String,
    pub kind: &'static str,
    pub date: String,
    /// HTML from the index: the text escaped, the matches in `<mark>`.
    pub snippet_html: String,
}

/// A facet's value as a link that adds it to the search.
pub struct FacetLink {
    pub label: String,
    pub count: u64,
    pub href: String,
    pub active: bool,
}

pub struct FacetGroup {
    pub title: &'static str,
    pub links: Vec<FacetLink>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    chrome: Chrome,
    q: String,
    kind: String,
    status: String,
    sort: String,
    from: String,
    to: String,
    /// The filters in force that are not form fields (category, region, …), kept as
    /// hidden inputs so a new query keeps them.
    hidden: Vec<(String, String)>,
    searched: bool,
    total: u64,
    fuzzy: bool,
    took: String,
    hits: Vec<HitView>,
    facets: Vec<FacetGroup>,
    page: u32,
    pages: u32,
    prev: Option<String>,
    next: Option<String>,
    error: Option<(String, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "submission" => "Обращение",
        "answer" => "Ответ",
        "incident" => "Инцидент",
        "social" => "Соцсети",
        "post" => "Пост",
        _ => "Запись",
    }
}

fn channel_label(channel: &str) -> &'static str {
    match channel {
        "social" => "Соцсети",
        _ => match otklik_social::Platform::parse(channel) {
            Some(platform) => messages::platform(platform),
            None => otklik_domain::lifecycle::Channel::parse(channel)
                .map_or("Другой канал", messages::channel),
        },
    }
}

fn status_label(status: &str) -> &'static str {
    match status {
        "open" => "Открыт",
        "resolved" => "Устранён",
        "dismissed" => "Отклонён",
        "merged" => "Объединён",
        _ => Status::parse(status).map_or("Другое", messages::status),
    }
}

/// Where a hit leads: a submission (or an answer) to its page, a register incident to its
/// row of the register, a social incident to its page, a post to its incident's page (a
/// post without one to the monitoring queue).
fn href_of(hit: &Hit) -> String {
    let id = hit
        .key
        .split_once(':')
        .and_then(|(_, id)| id.parse::<i64>().ok());
    match (hit.kind, id) {
        (DocKind::Incident, Some(id)) => format!("/incidents#incident-{id}"),
        (DocKind::Social, Some(id)) => format!("/social/incidents/{id}"),
        (DocKind::Post, _) => hit.parent.map_or_else(
            || "/social".to_owned(),
            |i| format!("/social/incidents/{i}"),
        ),
        _ => hit
            .submission
            .map_or_else(|| "/search".to_owned(), |s| format!("/submissions/{s}")),
    }
}

/// The query string of `params` with one field set (or removed when `value` is empty).
fn link_with(params: &SearchParams, field: &str, value: &str) -> String {
    let mut pairs: Vec<(String, String)> = vec![];
    let mut push = |name: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            pairs.push((name.to_owned(), value));
        }
    };
    let pick = |name: &str, current: Option<String>| {
        if name == field {
            Some(value.to_owned())
        } else {
            current
        }
    };
    push("q", pick("q", params.q.clone()));
    push("kind", pick("kind", params.kind.clone()));
    push("status", pick("status", params.status.clone()));
    push(
        "category",
        pick("category", params.category.map(|v| v.to_string())),
    );
    push(
        "region",
        pick("region", params.region.map(|v| v.to_string())),
    );
    push("org", pick("org", params.org.map(|v| v.to_string())));
    push("channel", pick("channel", params.channel.clone()));
    push("from", pick("from", params.from.clone()));
    push("to", pick("to", params.to.clone()));
    push("sort", pick("sort", params.sort.clone()));
    if field == "page" {
        push("page", Some(value.to_owned()));
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("/search?{query}")
}

async fn search_page(
    State(state): State<AppState>,
    ctx: Ctx,
    query: Result<Query<SearchParams>, QueryRejection>,
) -> PageResult {
    let user = ctx.require_user()?;
    let principal = crate::auth::principal_of(user, None);
    search::scope_of(&principal)?;
    let params = query
        .map(|Query(q)| q)
        .map_err(|_| AppError::bad_request("invalid_query"))?;
    let searched = params.q.as_deref().is_some_and(|q| !q.trim().is_empty())
        || params.kind.is_some()
        || params.status.is_some()
        || params.category.is_some()
        || params.region.is_some()
        || params.org.is_some()
        || params.channel.is_some()
        || params.from.is_some()
        || params.to.is_some();
    let mut page = SearchPage {
        chrome: Chrome::new(&ctx, "Поиск"),
        q: params.q.clone().unwrap_or_default(),
        kind: params.kind.clone().unwrap_or_default(),
        status: params.status.clone().unwrap_or_default(),
        sort: params.sort.clone().unwrap_or_default(),
        from: params.from.clone().unwrap_or_default(),
        to: params.to.clone().unwrap_or_default(),
        hidden: [
            ("category", params.category),
            ("region", params.region),
            ("org", params.org),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.map(|v| (name.to_owned(), v.to_string())))
        .chain(params.channel.clone().map(|c| ("channel".to_owned(), c)))
        .collect(),
        searched,
        total: 0,
        fuzzy: false,
        took: String::new(),
        hits: Vec::new(),
        facets: Vec::new(),
        page: params.page.unwrap_or(1).max(1),
        pages: 1,
        prev: None,
        next: None,
        error: None,
        statuses: Status::ALL
            .iter()
            .map(|s| (s.as_str(), messages::status(*s)))
            .collect(),
    };
    if !searched {
        return Ok(render(&page));
    }
    match search::run(&state, &principal, &params).await {
        Ok(results) => {
            fill(&state, &mut page, &params, results).await?;
            Ok(render(&page))
        }
        Err(e) if e.status == axum::http::StatusCode::UNPROCESSABLE_ENTITY => {
            let field = e.first_field().unwrap_or("q");
            page.error = Some((format!("f-{field}"), messages::error(e.first_code())));
            Ok(render_status(e.status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

async fn fill(
    state: &AppState,
    page: &mut SearchPage,
    params: &SearchParams,
    results: SearchResults,
) -> Result<(), AppError> {
    let categories: HashMap<i64, String> = state
        .store
        .catalogue()
        .await?
        .into_iter()
        .map(|c| (c.id.0, c.name))
        .collect();
    let regions: HashMap<i64, String> = state
        .store
        .regions()
        .await?
        .into_iter()
        .map(|r| (r.id.0, r.name))
        .collect();
    let orgs: HashMap<i64, String> = state
        .store
        .organisations()
        .await?
        .into_iter()
        .map(|o| (o.id.0, o.name))
        .collect();
    page.total = results.total;
    page.fuzzy = results.fuzzy;
    page.took = format!("{:.0}", results.took_ms.max(1.0));
    page.pages = u32::try_from(results.total.div_ceil(PAGE as u64).min(500))
        .unwrap_or(500)
        .max(1);
    if page.page > 1 {
        page.prev = Some(link_with(params, "page", &(page.page - 1).to_string()));
    }
    if page.page < page.pages {
        page.next = Some(link_with(params, "page", &(page.page + 1).to_string()));
    }
    page.hits = results
        .hits
        .into_iter()
        .map(|h| HitView {
            href: href_of(&h),
            title: h.title,
            kind: kind_label(h.kind.as_str()),
            date: time::OffsetDateTime::from_unix_timestamp(h.created_at)
                .map(messages::datetime)
                .unwrap_or_default(),
            snippet_html: h.snippet_html,
        })
        .collect();
    let f = results.facets;
    let group =
        |title, field: &str, values: Vec<(String, String, u64)>, current: Option<String>| {
            FacetGroup {
                title,
                links: values
                    .into_iter()
                    .map(|(value, label, count)| FacetLink {
                        active: current.as_deref() == Some(value.as_str()),
                        href: link_with(params, field, &value),
                        label,
                        count,
                    })
                    .collect(),
            }
        };
    let named = |values: Vec<(i64, u64)>, names: &HashMap<i64, String>| {
        values
            .into_iter()
            .map(|(id, n)| {
                let label = names.get(&id).cloned().unwrap_or_else(|| format!("№ {id}"));
                (id.to_string(), label, n)
            })
            .collect::<Vec<_>>()
    };
    page.facets = vec![
        group(
            "Что",
            "kind",
            f.kind
                .into_iter()
                .map(|(k, n)| (k.clone(), kind_label(&k).to_owned(), n))
                .collect(),
            params.kind.clone(),
        ),
        group(
            "Состояние",
            "status",
            f.status
                .into_iter()
                .map(|(s, n)| {
                    let label = status_label(&s).to_owned();
                    (s, label, n)
                })
                .collect(),
            params.status.clone(),
        ),
        group(
            "Категория",
            "category",
            named(f.category, &categories),
            params.category.map(|v| v.to_string()),
        ),
        group(
            "Регион",
            "region",
            named(f.region, &regions),
            params.region.map(|v| v.to_string()),
        ),
        group(
            "Организация",
            "org",
            named(f.org, &orgs),
            params.org.map(|v| v.to_string()),
        ),
        group(
            "Канал",
            "channel",
            f.channel
                .into_iter()
                .map(|(c, n)| (c.clone(), channel_label(&c).to_owned(), n))
                .collect(),
            params.channel.clone(),
        ),
    ]
    .into_iter()
    .filter(|g| !g.links.is_empty())
    .collect();
    Ok(())
}
