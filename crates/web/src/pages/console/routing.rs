//! Routing rules: the list, adding or replacing a rule, deleting one after a confirmation
//! page, and the check of which organisation routing would choose.

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use otklik_domain::{RegionId, RouteId};
use otklik_store::{Municipality, RouteRule, RouteScope, Store};
use serde::Deserialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

use super::super::forms::{FieldView, SummaryItem};
use super::super::views::Chrome;
use super::super::CsrfForm;
use super::super::{render, render_status};
use super::{
    input, operator, operator_post, org_options, region_options, subcategory_options, summary,
    Choice, PageResult, Target,
};
use crate::api::console::{
    decision_parts, on_field, parse_decision, parse_route, RouteInput, ROUTE_FIELDS, SCOPES,
};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/routes", get(list).post(save))
        .route("/console/routes/check", get(check))
        .route(
            "/console/routes/{id}/delete",
            get(confirm_delete).post(delete),
        )
}

const MUNICIPALITY_HINT: &str = "Только для правила муниципального образования. В списке — \
    муниципальные образования выбранного региона; сменили регион — нажмите «Обновить список \
    муниципальных образований».";

fn scope_label(level: &str) -> &'static str {
    match level {
        "federal" => "Вся Россия (федеральное правило)",
        "region" => "Регион",
        _ => "Муниципальное образование региона",
    }
}

/// Names of what rules refer to.
struct Names {
    topics: BTreeMap<i64, String>,
    regions: BTreeMap<i64, String>,
    orgs: BTreeMap<i64, String>,
    municipalities: BTreeMap<i64, String>,
}

impl Names {
    async fn load(store: &dyn Store, rules: &[RouteRule]) -> Result<Self, AppError> {
        let catalogue = store.catalogue().await?;
        let regions = store.regions().await?;
        let orgs = store.organisations().await?;
        let mut municipalities = BTreeMap::new();
        let mut loaded = Vec::new();
        for rule in rules {
            if let RouteScope::Municipality(region, _) = rule.scope {
                if !loaded.contains(&region) {
                    loaded.push(region);
                    for m in store.municipalities(region).await? {
                        municipalities.insert(m.id.0, m.name);
                    }
                }
            }
        }
        Ok(Self {
            topics: subcategory_options(&catalogue)
                .into_iter()
                .filter_map(|(id, name)| id.parse().ok().map(|id| (id, name)))
                .collect(),
            regions: regions.into_iter().map(|r| (r.id.0, r.name)).collect(),
            orgs: orgs.into_iter().map(|o| (o.id.0, o.name)).collect(),
            municipalities,
        })
    }

    fn name(map: &BTreeMap<i64, String>, id: i64) -> String {
        map.get(&id).cloned().unwrap_or_else(|| format!("№ {id}"))
    }

    fn scope(&self, scope: RouteScope) -> String {
        match scope {
            RouteScope::Federal => "Вся Россия".to_owned(),
            RouteScope::Region(r) => Self::name(&self.regions, r.0),
            RouteScope::Municipality(r, m) => format!(
                "{}, {}",
                Self::name(&self.regions, r.0),
                Self::name(&self.municipalities, m.0)
            ),
        }
    }

    fn row(&self, rule: &RouteRule) -> RuleRow {
        RuleRow {
            id: rule.id.0,
            topic: Self::name(&self.topics, rule.subcategory.0),
            scope: self.scope(rule.scope),
            organisation: Self::name(&self.orgs, rule.org.0),
            delete_href: format!("/console/routes/{}/delete", rule.id),
        }
    }
}

pub struct RuleRow {
    pub id: i64,
    pub topic: String,
    pub scope: String,
    pub organisation: String,
    pub delete_href: String,
}

/// The municipalities of the region typed into a form (none when there is none).
async fn municipalities_of(store: &dyn Store, region: &str) -> Result<Vec<Municipality>, AppError> {
    let Ok(id) = region.trim().parse::<i64>() else {
        return Ok(Vec::new());
    };
    if !store.regions().await?.iter().any(|r| r.id.0 == id) {
        return Ok(Vec::new());
    }
    Ok(store.municipalities(RegionId(id)).await?)
}

fn municipality_options(list: &[Municipality]) -> Vec<(String, String)> {
    list.iter()
        .map(|m| (m.id.to_string(), format!("{} (ОКТМО {})", m.name, m.oktmo)))
        .collect()
}

// --- the list and the rule form ------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    subcategory: String,
    #[serde(default)]
    done: String,
}

#[derive(Debug, Default, Deserialize)]
struct RuleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    subcategory_id: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    region_id: String,
    #[serde(default)]
    municipality_id: String,
    #[serde(default)]
    organisation_id: String,
    /// `save`, or `refresh` to reload the municipalities of the chosen region.
    #[serde(default)]
    action: String,
}

#[derive(Template)]
#[template(path = "console_routes.html")]
struct RoutesPage {
    chrome: Chrome,
    rows: Vec<RuleRow>,
    filter: String,
    filter_name: Option<String>,
    topics: Vec<(String, String)>,
    topic: Vec<FieldView>,
    scope: Choice,
    place: Vec<FieldView>,
    target: Vec<FieldView>,
    summary: Vec<SummaryItem>,
    done: Option<&'static str>,
}

impl RoutesPage {
    async fn build(
        state: &AppState,
        ctx: &Ctx,
        filter: &str,
        typed: &RouteInput,
        error: Option<&AppError>,
        done: Option<&'static str>,
    ) -> Result<Self, AppError> {
        let store = state.store.as_ref();
        let filter_id = filter
            .trim()
            .parse::<i64>()
            .ok()
            .map(otklik_domain::SubcategoryId);
        let rules = store.routes(filter_id).await?;
        let names = Names::load(store, &rules).await?;
        let catalogue = store.catalogue().await?;
        let regions = store.regions().await?;
        let orgs = store.organisations().await?;
        let municipalities = municipalities_of(store, &typed.region).await?;
        let topics = subcategory_options(&catalogue);
        let topic = vec![input(
            "subcategory_id",
            "Тема (подкатегория)",
            "select",
            &typed.subcategory,
            error,
        )
        .options(topics.clone())
        .required()];
        let scope = Choice::new(
            "scope",
            "Где действует правило",
            &typed.scope,
            SCOPES
                .iter()
                .map(|s| ((*s).to_owned(), scope_label(s).to_owned()))
                .collect(),
            error,
        )
        .hint("Действует самое точное правило: муниципального образования, затем региона, затем федеральное; если правил нет — сообщение получает центр управления регионом.");
        let place = vec![
            input("region_id", "Регион", "select", &typed.region, error)
                .options(region_options(&regions))
                .hint("Для правила региона или муниципального образования."),
            input(
                "municipality_id",
                "Муниципальное образование",
                "select",
                &typed.municipality,
                error,
            )
            .options(municipality_options(&municipalities))
            .hint(MUNICIPALITY_HINT),
        ];
        let target = vec![input(
            "organisation_id",
            "Организация, которая получает сообщения",
            "select",
            &typed.organisation,
            error,
        )
        .options(org_options(&orgs))
        .required()];
        let mut targets: Vec<Target> = topic.iter().map(Target::from).collect();
        targets.push(Target::from(&scope));
        targets.extend(place.iter().chain(&target).map(Target::from));
        let title = if error.is_some() {
            "Ошибка: маршрутизация"
        } else {
            "Маршрутизация"
        };
        Ok(Self {
            chrome: Chrome::new(ctx, title),
            rows: rules.iter().map(|r| names.row(r)).collect(),
            filter: filter.trim().to_owned(),
            filter_name: filter_id.map(|id| Names::name(&names.topics, id.0)),
            topics,
            topic,
            scope,
            place,
            target,
            summary: summary(error, &targets),
            done,
        })
    }
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|_| AppError::bad_request("invalid_query"))?;
    operator(&ctx)?;
    let done = match q.done.as_str() {
        "saved" => Some("Правило сохранено. Новые сообщения по теме направляются по нему."),
        "deleted" => Some("Правило удалено."),
        _ => None,
    };
    let typed = RouteInput {
        subcategory: q.subcategory.clone(),
        scope: "region".to_owned(),
        ..RouteInput::default()
    };
    let page = RoutesPage::build(&state, &ctx, &q.subcategory, &typed, None, done).await?;
    Ok(render(&page))
}

async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Result<Form<RuleForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = operator_post(&ctx, &form.csrf)?;
    let typed = RouteInput {
        subcategory: form.subcategory_id,
        scope: form.scope,
        region: form.region_id,
        municipality: form.municipality_id,
        organisation: form.organisation_id,
    };
    if form.action == "refresh" {
        let page = RoutesPage::build(&state, &ctx, "", &typed, None, None).await?;
        return Ok(render(&page));
    }
    let store = state.store.as_ref();
    let result = match parse_route(store, &typed).await {
        Ok((sub, scope, org)) => store
            .put_route(Some(user.id), sub, scope, org, OffsetDateTime::now_utc())
            .await
            .map(|_| sub)
            .map_err(|e| on_field(e.into(), ROUTE_FIELDS)),
        Err(e) => Err(e),
    };
    match result {
        Ok(sub) => Ok(
            Redirect::to(&format!("/console/routes?done=saved&subcategory={sub}")).into_response(),
        ),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let page = RoutesPage::build(&state, &ctx, "", &typed, Some(&e), None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

// --- deleting a rule -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console_route_delete.html")]
struct DeletePage {
    chrome: Chrome,
    rule: RuleRow,
    action: String,
}

fn route_id(raw: &str) -> Result<RouteId, AppError> {
    raw.parse::<i64>()
        .map(RouteId)
        .map_err(|_| AppError::not_found())
}

async fn rule_of(store: &dyn Store, id: RouteId) -> Result<RouteRule, AppError> {
    store
        .routes(None)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(AppError::not_found)
}

async fn confirm_delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> PageResult {
    operator(&ctx)?;
    let store = state.store.as_ref();
    let rule = rule_of(store, route_id(&id)?).await?;
    let names = Names::load(store, std::slice::from_ref(&rule)).await?;
    let row = names.row(&rule);
    Ok(render(&DeletePage {
        chrome: Chrome::new(&ctx, "Удалить правило маршрутизации"),
        action: row.delete_href.clone(),
        rule: row,
    }))
}

async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = operator_post(&ctx, &form.csrf)?;
    state
        .store
        .delete_route(Some(user.id), route_id(&id)?, OffsetDateTime::now_utc())
        .await?;
    Ok(Redirect::to("/console/routes?done=deleted").into_response())
}

// --- checking routing -----------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct CheckQuery {
    #[serde(default)]
    subcategory_id: String,
    #[serde(default)]
    region_id: String,
    #[serde(default)]
    municipality_id: String,
    #[serde(default)]
    action: String,
}

/// What routing decided.
pub struct Outcome {
    pub organisation: String,
    pub how: String,
}

#[derive(Template)]
#[template(path = "console_route_check.html")]
struct CheckPage {
    chrome: Chrome,
    fields: Vec<FieldView>,
    summary: Vec<SummaryItem>,
    outcome: Option<Outcome>,
}

fn how(label: &str) -> String {
    let (matched, id) = decision_parts(label);
    let rule = id.map(|id| format!(" № {id}")).unwrap_or_default();
    match matched {
        "municipality" => format!("по правилу муниципального образования{rule}"),
        "region" => format!("по правилу региона{rule}"),
        "federal" => format!("по федеральному правилу для всей России{rule}"),
        _ => {
            "правил для этой темы нет — сообщение получает центр управления регионом (координатор)"
                .to_owned()
        }
    }
}

async fn check(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Result<Query<CheckQuery>, QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|_| AppError::bad_request("invalid_query"))?;
    operator(&ctx)?;
    let store = state.store.as_ref();
    let asked = !(q.subcategory_id.is_empty() && q.region_id.is_empty()) && q.action != "refresh";
    let result = if asked {
        match parse_decision(store, &q.subcategory_id, &q.region_id, &q.municipality_id).await {
            Ok((sub, region, municipality)) => {
                match store.route_decision(sub, region, municipality).await {
                    Ok(decision) => {
                        let org = store.organisation(decision.org).await?;
                        Ok(Some(Outcome {
                            organisation: org.name,
                            how: how(&decision.label),
                        }))
                    }
                    Err(e) => Err(AppError::from(e)),
                }
            }
            Err(e) => Err(e),
        }
    } else {
        Ok(None)
    };
    let (outcome, error) = match result {
        Ok(outcome) => (outcome, None),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => (None, Some(e)),
        Err(e) => return Err(e.into()),
    };
    let catalogue = store.catalogue().await?;
    let regions = store.regions().await?;
    let municipalities = municipalities_of(store, &q.region_id).await?;
    let error = error.as_ref();
    let fields = vec![
        input("subcategory_id", "Тема (подкатегория)", "select", &q.subcategory_id, error)
            .options(subcategory_options(&catalogue))
            .required(),
        input("region_id", "Регион", "select", &q.region_id, error)
            .options(region_options(&regions))
            .required(),
        input(
            "municipality_id",
            "Муниципальное образование (необязательно)",
            "select",
            &q.municipality_id,
            error,
        )
        .options(municipality_options(&municipalities))
        .hint("В списке — муниципальные образования выбранного региона; сменили регион — нажмите «Обновить список муниципальных образований»."),
    ];
    let targets: Vec<Target> = fields.iter().map(Target::from).collect();
    let page = CheckPage {
        chrome: Chrome::new(
            &ctx,
            if error.is_some() {
                "Ошибка: проверка маршрутизации"
            } else {
                "Проверка маршрутизации"
            },
        ),
        summary: summary(error, &targets),
        fields,
        outcome,
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render_status(status, &page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use otklik_domain::MunicipalityId;

    #[test]
    fn decisions_are_told_in_words() {
        assert_eq!(how("region:7"), "по правилу региона № 7");
        assert!(how("coordinator").contains("координатор"));
        assert!(how("municipality:3").contains("муниципального"));
    }

    #[test]
    fn unknown_ids_are_named_by_number() {
        let names = Names {
            topics: BTreeMap::new(),
            regions: BTreeMap::from([(1, "Тверская область".to_owned())]),
            orgs: BTreeMap::new(),
            municipalities: BTreeMap::from([(5, "Город Ржев".to_owned())]),
        };
        assert_eq!(
            names.scope(RouteScope::Municipality(RegionId(1), MunicipalityId(5))),
            "Тверская область, Город Ржев"
        );
        assert_eq!(names.scope(RouteScope::Region(RegionId(2))), "№ 2");
    }
}
