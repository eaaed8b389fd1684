//! Deadline policies: the terms of each stage for messages and appeals, and a
//! subcategory's own terms. Saving one recomputes the deadline of every open submission
//! and says how many moved.

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use otklik_domain::calendar::{DeadlinePolicy, DeadlinePolicySpec};
use otklik_domain::lifecycle::SubmissionKind;
use serde::Deserialize;

use super::super::forms::{FieldView, SummaryItem};
use super::super::views::Chrome;
use super::super::{render, render_status};
use super::{
    count, input, operator, operator_post, subcategory_options, summary, text, Choice, PageResult,
    Target,
};
use crate::api::console::{policy_rows, save_policy, PolicyInput, PolicyRow, UNITS};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/policies", get(page).post(save))
}

pub struct PolicyLine {
    pub kind: &'static str,
    pub topic: String,
    pub unit: &'static str,
    pub moderation: String,
    pub registration: String,
    pub redirect: String,
    pub answer: String,
    pub extension: String,
    pub source: &'static str,
    pub edit_href: String,
}

fn days(d: Option<u32>) -> String {
    d.map_or_else(|| "—".to_owned(), |d| d.to_string())
}

#[derive(Template)]
#[template(path = "console_policies.html")]
struct PoliciesPage {
    chrome: Chrome,
    lines: Vec<PolicyLine>,
    kind: Choice,
    topic: Vec<FieldView>,
    unit: Choice,
    terms: Vec<FieldView>,
    summary: Vec<SummaryItem>,
    done: Option<String>,
}

impl PoliciesPage {
    async fn build(
        state: &AppState,
        ctx: &Ctx,
        typed: &PolicyInput,
        error: Option<&AppError>,
        done: Option<String>,
    ) -> Result<Self, AppError> {
        let store = state.store.as_ref();
        let rows = policy_rows(store).await?;
        let catalogue = store.catalogue().await?;
        let topics = subcategory_options(&catalogue);
        let topic_name = |row: &PolicyRow| match row.subcategory {
            None => "Все темы".to_owned(),
            Some(id) => topics
                .iter()
                .find(|(value, _)| *value == id.to_string())
                .map_or_else(|| format!("№ {id}"), |(_, name)| name.clone()),
        };
        let lines = rows
            .iter()
            .map(|r| PolicyLine {
                kind: text::submission_kind(r.kind),
                topic: topic_name(r),
                unit: text::unit(r.spec.unit),
                moderation: days(r.spec.moderation),
                registration: days(r.spec.registration),
                redirect: days(r.spec.redirect),
                answer: r.spec.answer.to_string(),
                extension: days(r.spec.extension),
                source: if r.stored {
                    "Изменена оператором"
                } else {
                    "По умолчанию (закон)"
                },
                edit_href: format!(
                    "/console/policies?kind={}&subcategory={}#policy-form",
                    r.kind.as_str(),
                    r.subcategory.map(|s| s.to_string()).unwrap_or_default()
                ),
            })
            .collect();
        let kind = Choice::new(
            "kind",
            "Вид",
            &typed.kind,
            SubmissionKind::ALL
                .iter()
                .map(|k| (k.as_str().to_owned(), text::submission_kind(*k).to_owned()))
                .collect(),
            error,
        );
        let topic = vec![input(
            "subcategory_id",
            "Тема (необязательно)",
            "select",
            &typed.subcategory,
            error,
        )
        .options(topics.clone())
        .hint("Оставьте пустым, чтобы задать сроки для всех тем этого вида. Политика темы действует вместо общей.")];
        let unit = Choice::new(
            "unit",
            "Как считаются дни",
            &typed.unit,
            UNITS
                .iter()
                .map(|u| (u.as_str().to_owned(), text::unit(*u).to_owned()))
                .collect(),
            error,
        )
        .hint("Рабочие дни считаются по производственному календарю региона организации. Срок в календарных днях, истекающий в нерабочий день, переносится на предыдущий рабочий день.");
        let optional = "Дней, от 1 до 365. Оставьте пустым, если этап не применяется.";
        let terms = vec![
            input(
                "moderation",
                "Модерация сообщения",
                "number",
                &typed.moderation,
                error,
            )
            .hint(optional),
            input(
                "registration",
                "Регистрация обращения",
                "number",
                &typed.registration,
                error,
            )
            .hint(optional),
            input(
                "redirect",
                "Перенаправление по компетенции",
                "number",
                &typed.redirect,
                error,
            )
            .hint(optional),
            input(
                "answer",
                "Ответ по существу",
                "number",
                &typed.answer,
                error,
            )
            .required()
            .hint("Дней, от 1 до 365."),
            input(
                "extension",
                "Наибольшее продление срока ответа",
                "number",
                &typed.extension,
                error,
            )
            .hint("Дней, от 1 до 30. Оставьте пустым, если продление не предусмотрено."),
        ];
        let mut targets = vec![Target::from(&kind)];
        targets.extend(topic.iter().map(Target::from));
        targets.push(Target::from(&unit));
        targets.extend(terms.iter().map(Target::from));
        Ok(Self {
            chrome: Chrome::new(
                ctx,
                if error.is_some() {
                    "Ошибка: сроки"
                } else {
                    "Сроки"
                },
            ),
            lines,
            kind,
            topic,
            unit,
            terms,
            summary: summary(error, &targets),
            done,
        })
    }
}

fn spec_input(kind: SubmissionKind, subcategory: &str, spec: &DeadlinePolicySpec) -> PolicyInput {
    let text = |d: Option<u32>| d.map(|d| d.to_string()).unwrap_or_default();
    PolicyInput {
        kind: kind.as_str().to_owned(),
        subcategory: subcategory.to_owned(),
        unit: spec.unit.as_str().to_owned(),
        moderation: text(spec.moderation),
        registration: text(spec.registration),
        redirect: text(spec.redirect),
        answer: spec.answer.to_string(),
        extension: text(spec.extension),
    }
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    subcategory: String,
    #[serde(default)]
    done: String,
    #[serde(default)]
    checked: String,
    #[serde(default)]
    changed: String,
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|_| AppError::bad_request("invalid_query"))?;
    operator(&ctx)?;
    // The form starts from the policy in force for the kind and topic asked about.
    let kind = SubmissionKind::parse(&q.kind).unwrap_or(SubmissionKind::Message);
    let rows = policy_rows(state.store.as_ref()).await?;
    let subcategory = q.subcategory.trim();
    let spec = rows
        .iter()
        .find(|r| {
            r.kind == kind
                && r.subcategory.map(|s| s.to_string()).unwrap_or_default() == subcategory
        })
        .or_else(|| {
            rows.iter()
                .find(|r| r.kind == kind && r.subcategory.is_none())
        })
        .map_or_else(|| DeadlinePolicy::default_for(kind).spec(), |r| r.spec);
    let typed = spec_input(kind, subcategory, &spec);
    let done = (q.done == "saved").then(|| {
        format!(
            "Политика сроков сохранена. {}",
            text::recomputed(&count(&q.changed), &count(&q.checked))
        )
    });
    let page = PoliciesPage::build(&state, &ctx, &typed, None, done).await?;
    Ok(render(&page))
}

#[derive(Debug, Default, Deserialize)]
struct PolicyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    subcategory_id: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    moderation: String,
    #[serde(default)]
    registration: String,
    #[serde(default)]
    redirect: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    extension: String,
}

async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Result<Form<PolicyForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = operator_post(&ctx, &form.csrf)?;
    let typed = PolicyInput {
        kind: form.kind,
        subcategory: form.subcategory_id,
        unit: form.unit,
        moderation: form.moderation,
        registration: form.registration,
        redirect: form.redirect,
        answer: form.answer,
        extension: form.extension,
    };
    match save_policy(&state, user, &typed).await {
        Ok(report) => Ok(Redirect::to(&format!(
            "/console/policies?done=saved&checked={}&changed={}&kind={}&subcategory={}",
            report.checked,
            report.changed,
            typed.kind.trim(),
            typed.subcategory.trim()
        ))
        .into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let page = PoliciesPage::build(&state, &ctx, &typed, Some(&e), None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}
