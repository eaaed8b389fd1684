//! Organisations: the list, connecting a new one, editing one.

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use otklik_domain::{OrgId, RegionId};
use otklik_store::Store;
use serde::Deserialize;
use std::collections::BTreeMap;

use super::super::forms::{FieldView, SummaryItem};
use super::super::views::Chrome;
use super::super::{render, render_status};
use super::{
    input, operator, operator_post, org_kind_options, org_options, region_options, summary, text,
    PageResult, Target,
};
use crate::api::console::{save_organisation, OrganisationInput};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/organisations", get(list).post(create))
        .route("/console/organisations/new", get(new_form))
        .route("/console/organisations/{id}", get(edit_form).post(update))
}

/// `UTC+3`, `UTC+5:30`.
fn utc(offset_minutes: i32) -> String {
    let sign = if offset_minutes < 0 { '−' } else { '+' };
    let abs = offset_minutes.unsigned_abs();
    match abs % 60 {
        0 => format!("UTC{sign}{}", abs / 60),
        m => format!("UTC{sign}{}:{m:02}", abs / 60),
    }
}

// --- the list --------------------------------------------------------------------------------

pub struct OrgRow {
    pub href: String,
    pub name: String,
    pub kind: &'static str,
    pub region: String,
    pub municipality: String,
    pub parent: String,
    pub coordinator: bool,
    pub utc: String,
    /// Deliveries to the organisation's own system: how, and what is stuck.
    pub delivery: String,
    pub delivery_failing: bool,
}

#[derive(Template)]
#[template(path = "console_organisations.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<OrgRow>,
    done: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    done: String,
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|_| AppError::bad_request("invalid_query"))?;
    operator(&ctx)?;
    let store = state.store.as_ref();
    let orgs = store.organisations().await?;
    let regions: BTreeMap<i64, String> = store
        .regions()
        .await?
        .into_iter()
        .map(|r| (r.id.0, r.name))
        .collect();
    let mut municipalities = BTreeMap::new();
    let mut loaded = Vec::new();
    for org in orgs.iter().filter(|o| o.municipality.is_some()) {
        if let Some(region) = org.region.filter(|r| !loaded.contains(r)) {
            loaded.push(region);
            for m in store.municipalities(region).await? {
                municipalities.insert(m.id.0, m.name);
            }
        }
    }
    let names: BTreeMap<i64, String> = orgs.iter().map(|o| (o.id.0, o.name.clone())).collect();
    let name_of = |map: &BTreeMap<i64, String>, id: Option<i64>| {
        id.map(|id| map.get(&id).cloned().unwrap_or_else(|| format!("№ {id}")))
            .unwrap_or_else(|| "—".to_owned())
    };
    let deliveries: BTreeMap<i64, otklik_store::IntegrationOverview> = store
        .integration_overview()
        .await?
        .into_iter()
        .map(|line| (line.org.0, line))
        .collect();
    let delivery_of = |org: i64| match deliveries.get(&org) {
        None => ("—".to_owned(), false),
        Some(line) => (
            format!(
                "{}: ожидают {}, с ошибками {}, передано {}",
                line.mode.as_str(),
                line.summary.pending,
                line.summary.failing,
                line.summary.delivered
            ),
            line.summary.failing > 0,
        ),
    };
    let rows = orgs
        .iter()
        .map(|o| (o, delivery_of(o.id.0)))
        .map(|(o, (delivery, delivery_failing))| OrgRow {
            delivery,
            delivery_failing,
            href: format!("/console/organisations/{}", o.id),
            name: o.name.clone(),
            kind: text::org_kind(&o.kind),
            region: o.region.map_or_else(
                || "— (федеральная)".to_owned(),
                |r| name_of(&regions, Some(r.0)),
            ),
            municipality: name_of(&municipalities, o.municipality.map(|m| m.0)),
            parent: name_of(&names, o.parent.map(|p| p.0)),
            coordinator: o.is_coordinator,
            utc: utc(o.utc_offset_minutes),
        })
        .collect();
    let done = match q.done.as_str() {
        "created" => Some("Организация подключена."),
        "saved" => Some("Изменения сохранены."),
        _ => None,
    };
    Ok(render(&ListPage {
        chrome: Chrome::new(&ctx, "Организации"),
        rows,
        done,
    }))
}

// --- the form ---------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct OrgForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    region_id: String,
    #[serde(default)]
    municipality_id: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    is_coordinator: String,
    #[serde(default)]
    utc_offset_minutes: String,
    /// `save`, or `refresh` to reload the municipalities of the chosen region.
    #[serde(default)]
    action: String,
}

impl OrgForm {
    fn input(&self) -> OrganisationInput {
        OrganisationInput {
            name: self.name.clone(),
            kind: self.kind.clone(),
            region: self.region_id.clone(),
            municipality: self.municipality_id.clone(),
            parent: self.parent_id.clone(),
            is_coordinator: !self.is_coordinator.is_empty(),
            utc_offset_minutes: self.utc_offset_minutes.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "console_organisation.html")]
struct FormPage {
    chrome: Chrome,
    heading: String,
    action: String,
    top: Vec<FieldView>,
    is_coordinator: bool,
    bottom: Vec<FieldView>,
    summary: Vec<SummaryItem>,
}

impl FormPage {
    async fn build(
        store: &dyn Store,
        ctx: &Ctx,
        id: Option<OrgId>,
        typed: &OrganisationInput,
        error: Option<&AppError>,
    ) -> Result<Self, AppError> {
        let regions = store.regions().await?;
        let orgs: Vec<_> = store
            .organisations()
            .await?
            .into_iter()
            .filter(|o| Some(o.id) != id)
            .collect();
        let region = typed
            .region
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|r| regions.iter().any(|x| x.id.0 == *r));
        let municipalities = match region {
            Some(r) => store.municipalities(RegionId(r)).await?,
            None => Vec::new(),
        };
        let top = vec![
            input("name", "Название", "text", &typed.name, error).required(),
            input("kind", "Вид организации", "select", &typed.kind, error)
                .options(org_kind_options())
                .required(),
            input("region_id", "Регион", "select", &typed.region, error)
                .options(region_options(&regions))
                .hint("Не выбирайте регион для федеральной организации."),
            input(
                "municipality_id",
                "Муниципальное образование",
                "select",
                &typed.municipality,
                error,
            )
            .options(
                municipalities
                    .iter()
                    .map(|m| (m.id.to_string(), format!("{} (ОКТМО {})", m.name, m.oktmo)))
                    .collect(),
            )
            .hint("Для органа местного самоуправления или муниципального учреждения. В списке — муниципальные образования выбранного региона; сменили регион — нажмите «Обновить список муниципальных образований»."),
            input("parent_id", "Вышестоящая организация", "select", &typed.parent, error)
                .options(org_options(&orgs))
                .hint("Например, министерство для подведомственного учреждения. Оставьте пустым, если её нет."),
        ];
        let bottom = vec![input(
            "utc_offset_minutes",
            "Часовой пояс: смещение от UTC в минутах",
            "number",
            &typed.utc_offset_minutes,
            error,
        )
        .hint("Например, 180 — московское время, 420 — новосибирское. Оставьте пустым, чтобы взять часовой пояс муниципального образования или региона. По нему считаются сроки ответа.")];
        let targets: Vec<Target> = top.iter().chain(&bottom).map(Target::from).collect();
        let heading = match id {
            Some(_) => "Изменить организацию".to_owned(),
            None => "Подключить организацию".to_owned(),
        };
        let title = match error {
            Some(_) => format!("Ошибка: {heading}"),
            None => heading.clone(),
        };
        Ok(Self {
            chrome: Chrome::new(ctx, &title),
            heading,
            action: id.map_or_else(
                || "/console/organisations".to_owned(),
                |id| format!("/console/organisations/{id}"),
            ),
            top,
            is_coordinator: typed.is_coordinator,
            bottom,
            summary: summary(error, &targets),
        })
    }
}

fn org_id(raw: &str) -> Result<OrgId, AppError> {
    raw.parse::<i64>()
        .map(OrgId)
        .map_err(|_| AppError::not_found())
}

async fn new_form(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    operator(&ctx)?;
    let page = FormPage::build(
        state.store.as_ref(),
        &ctx,
        None,
        &OrganisationInput::default(),
        None,
    )
    .await?;
    Ok(render(&page))
}

async fn edit_form(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> PageResult {
    operator(&ctx)?;
    let id = org_id(&id)?;
    let org = state.store.organisation(id).await?;
    let typed = OrganisationInput {
        name: org.name,
        kind: org.kind,
        region: org.region.map(|r| r.to_string()).unwrap_or_default(),
        municipality: org.municipality.map(|m| m.to_string()).unwrap_or_default(),
        parent: org.parent.map(|p| p.to_string()).unwrap_or_default(),
        is_coordinator: org.is_coordinator,
        utc_offset_minutes: org.utc_offset_minutes.to_string(),
    };
    let page = FormPage::build(state.store.as_ref(), &ctx, Some(id), &typed, None).await?;
    Ok(render(&page))
}

async fn create(
    state: State<AppState>,
    ctx: Ctx,
    form: Result<Form<OrgForm>, FormRejection>,
) -> PageResult {
    submit(state, ctx, None, form).await
}

async fn update(
    state: State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<OrgForm>, FormRejection>,
) -> PageResult {
    let id = org_id(&id)?;
    submit(state, ctx, Some(id), form).await
}

async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    id: Option<OrgId>,
    form: Result<Form<OrgForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = operator_post(&ctx, &form.csrf)?;
    if let Some(id) = id {
        state.store.organisation(id).await?;
    }
    let typed = form.input();
    if form.action == "refresh" {
        let page = FormPage::build(state.store.as_ref(), &ctx, id, &typed, None).await?;
        return Ok(render(&page));
    }
    match save_organisation(&state, user, id, typed.clone()).await {
        Ok(_) => {
            let done = if id.is_some() { "saved" } else { "created" };
            Ok(Redirect::to(&format!("/console/organisations?done={done}")).into_response())
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let page = FormPage::build(state.store.as_ref(), &ctx, id, &typed, Some(&e)).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn offsets_read_as_utc() {
        assert_eq!(utc(180), "UTC+3");
        assert_eq!(utc(330), "UTC+5:30");
        assert_eq!(utc(-60), "UTC−1");
        assert_eq!(utc(0), "UTC+0");
    }
}
