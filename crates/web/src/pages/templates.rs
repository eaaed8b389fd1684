//! An official's answer templates: the list, a new one, editing and archiving.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::collections::HashMap;
use time::OffsetDateTime;

use super::forms::{self, FieldView};
use super::views::Chrome;
use super::{render, render_status, PageResult};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::templates::{self as usecase, TemplateInput};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/templates", get(list).post(create))
        .route("/templates/{id}", get(edit).post(update))
        .route("/templates/{id}/archive", post(archive))
}

pub struct TemplateRow {
    pub id: i64,
    pub title: String,
    pub category: String,
    pub uses: u64,
}

#[derive(Template)]
#[template(path = "answer_templates.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<TemplateRow>,
    form: EditForm,
}

#[derive(Template)]
#[template(path = "answer_template.html")]
struct EditPage {
    chrome: Chrome,
    form: EditForm,
}

/// The form of a template (new or existing), with its errors.
pub struct EditForm {
    pub action: String,
    pub fields: Vec<FieldView>,
    pub summary: Vec<forms::SummaryItem>,
    pub csrf: String,
}

async fn form_of(
    state: &AppState,
    ctx: &Ctx,
    id: Option<i64>,
    input: &TemplateInput,
    error: Option<&AppError>,
) -> Result<EditForm, AppError> {
    let categories = state
        .store
        .catalogue()
        .await?
        .into_iter()
        .map(|c| (c.id.0.to_string(), c.name))
        .collect();
    let placeholders = otklik_domain::answer_template::PLACEHOLDERS
        .iter()
        .map(|(name, _)| format!("{{{{ {name} }}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    let fields = vec![
        FieldView::new("title", "Название", "text")
            .value(&input.title)
            .required()
            .error_from(error),
        FieldView::new("category", "Категория обращений", "select")
            .value(&input.category)
            .options(categories)
            .hint("Не выбрана — шаблон подходит для любой категории.")
            .error_from(error),
        FieldView::new("body", "Текст ответа", "textarea")
            .value(&input.body)
            .required()
            .hint(&format!(
                "Можно вставлять: {placeholders} — номер обращения, дату регистрации, имя заявителя, организацию и тему."
            ))
            .error_from(error),
    ];
    Ok(EditForm {
        action: id.map_or_else(|| "/templates".to_owned(), |id| format!("/templates/{id}")),
        summary: forms::summary(&fields, error),
        fields,
        csrf: ctx.csrf.clone(),
    })
}

async fn list_page(
    state: &AppState,
    ctx: &Ctx,
    input: &TemplateInput,
    error: Option<&AppError>,
) -> Result<ListPage, AppError> {
    let user = ctx.require_user()?;
    let org = usecase::org_of(user)?;
    let names: HashMap<i64, String> = state
        .store
        .catalogue()
        .await?
        .into_iter()
        .map(|c| (c.id.0, c.name))
        .collect();
    let rows = state
        .store
        .answer_templates(org)
        .await?
        .into_iter()
        .map(|t| TemplateRow {
            id: t.id,
            title: t.title,
            category: t
                .category
                .and_then(|c| names.get(&c.0).cloned())
                .unwrap_or_else(|| "любая".to_owned()),
            uses: t.uses,
        })
        .collect();
    Ok(ListPage {
        chrome: Chrome::new(ctx, "Шаблоны ответов"),
        rows,
        form: form_of(state, ctx, None, input, error).await?,
    })
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    Ok(render(
        &list_page(&state, &ctx, &TemplateInput::default(), None).await?,
    ))
}

#[derive(Deserialize)]
struct TemplateForm {
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    category: String,
}

impl TemplateForm {
    fn input(&self) -> TemplateInput {
        TemplateInput {
            title: self.title.clone(),
            body: self.body.clone(),
            category: self.category.clone(),
        }
    }
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Result<Form<TemplateForm>, FormRejection>,
) -> PageResult {
    let user = ctx.require_user()?.clone();
    usecase::org_of(&user)?;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    let input = form.input();
    match usecase::save(&state, &user, None, &input, OffsetDateTime::now_utc()).await {
        Ok(_) => Ok(Redirect::to("/templates").into_response()),
        Err(e) if e.status == axum::http::StatusCode::UNPROCESSABLE_ENTITY => {
            let page = list_page(&state, &ctx, &input, Some(&e)).await?;
            Ok(render_status(e.status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

async fn edit(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let user = ctx.require_user()?;
    let org = usecase::org_of(user)?;
    let t = state.store.answer_template(org, id).await?;
    let input = TemplateInput {
        title: t.title,
        body: t.body,
        category: t.category.map(|c| c.0.to_string()).unwrap_or_default(),
    };
    Ok(render(&EditPage {
        chrome: Chrome::new(&ctx, "Шаблон ответа"),
        form: form_of(&state, &ctx, Some(id), &input, None).await?,
    }))
}

async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Result<Form<TemplateForm>, FormRejection>,
) -> PageResult {
    let user = ctx.require_user()?.clone();
    usecase::org_of(&user)?;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    let input = form.input();
    match usecase::save(&state, &user, Some(id), &input, OffsetDateTime::now_utc()).await {
        Ok(_) => Ok(Redirect::to("/templates").into_response()),
        Err(e) if e.status == axum::http::StatusCode::UNPROCESSABLE_ENTITY => {
            let page = EditPage {
                chrome: Chrome::new(&ctx, "Шаблон ответа"),
                form: form_of(&state, &ctx, Some(id), &input, Some(&e)).await?,
            };
            Ok(render_status(e.status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn archive(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    let user = ctx.require_user()?;
    let org = usecase::org_of(user)?;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    state
        .store
        .archive_answer_template(org, id, OffsetDateTime::now_utc())
        .await?;
    Ok(Redirect::to("/templates").into_response())
}
