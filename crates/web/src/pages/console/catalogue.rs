//! The catalogue and the form builder: categories (create, rename) and subcategories
//! (create, edit name, category, photo requirement and form fields).
//!
//! The builder works without JavaScript: the page shows a block of inputs per field and
//! one empty block; «Добавить поле» posts the form and shows it again, everything typed
//! kept, with one more empty block; «Сохранить» checks and saves. Blocks left empty are
//! not fields; a block marked «Удалить» is dropped when saved.

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use otklik_domain::form::{FieldKind, FormSpec, MAX_FIELDS};
use otklik_domain::{CategoryId, SubcategoryId};
use serde::Deserialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

use super::super::forms::{FieldView, SummaryItem};
use super::super::views::Chrome;
use super::super::{render, render_status};
use super::{input, operator, operator_post, summary, text, PageResult, Target};
use crate::api::console::{
    build_form, on_field, parse_category_name, save_subcategory, FieldRow, CATEGORY_FIELDS,
};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/catalogue", get(catalogue))
        .route("/console/categories", post(create_category))
        .route(
            "/console/categories/{id}",
            get(category_form).post(rename_category),
        )
        .route("/console/subcategories", post(create_subcategory))
        .route("/console/subcategories/new", get(new_subcategory))
        .route(
            "/console/subcategories/{id}",
            get(edit_subcategory).post(update_subcategory),
        )
}

// --- the catalogue ----------------------------------------------------------------------------

pub struct SubRow {
    pub href: String,
    pub name: String,
    pub fields: usize,
    pub photo_required: bool,
}

pub struct CategoryBlock {
    pub id: i64,
    pub name: String,
    pub rename_href: String,
    pub add_href: String,
    pub subcategories: Vec<SubRow>,
}

#[derive(Template)]
#[template(path = "console_catalogue.html")]
struct CataloguePage {
    chrome: Chrome,
    categories: Vec<CategoryBlock>,
    new_category: Vec<FieldView>,
    summary: Vec<SummaryItem>,
    done: Option<&'static str>,
}

impl CataloguePage {
    async fn build(
        state: &AppState,
        ctx: &Ctx,
        typed_name: &str,
        error: Option<&AppError>,
        done: Option<&'static str>,
    ) -> Result<Self, AppError> {
        let catalogue = state.store.catalogue().await?;
        let categories = catalogue
            .iter()
            .map(|c| CategoryBlock {
                id: c.id.0,
                name: c.name.clone(),
                rename_href: format!("/console/categories/{}", c.id),
                add_href: format!("/console/subcategories/new?category={}", c.id),
                subcategories: c
                    .subcategories
                    .iter()
                    .map(|s| SubRow {
                        href: format!("/console/subcategories/{}", s.id),
                        name: s.name.clone(),
                        fields: s.form.fields.len(),
                        photo_required: s.form.photo_required,
                    })
                    .collect(),
            })
            .collect();
        let new_category = vec![input(
            "name",
            "Название новой категории",
            "text",
            typed_name,
            error,
        )
        .required()];
        let targets: Vec<Target> = new_category.iter().map(Target::from).collect();
        Ok(Self {
            chrome: Chrome::new(
                ctx,
                if error.is_some() {
                    "Ошибка: темы и формы"
                } else {
                    "Темы и формы"
                },
            ),
            categories,
            summary: summary(error, &targets),
            new_category,
            done,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn catalogue(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Result<Query<DoneQuery>, QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|_| AppError::bad_request("invalid_query"))?;
    operator(&ctx)?;
    let done = match q.done.as_str() {
        "category_created" => Some("Категория создана."),
        "category_saved" => Some("Категория переименована."),
        _ => None,
    };
    Ok(render(
        &CataloguePage::build(&state, &ctx, "", None, done).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
struct NameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

async fn create_category(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Result<Form<NameForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = operator_post(&ctx, &form.csrf)?;
    let saved = match parse_category_name(&form.name) {
        Ok(name) => state
            .store
            .put_category(Some(user.id), None, &name, OffsetDateTime::now_utc())
            .await
            .map_err(|e| on_field(e.into(), CATEGORY_FIELDS)),
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(Redirect::to("/console/catalogue?done=category_created").into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let page = CataloguePage::build(&state, &ctx, &form.name, Some(&e), None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

// --- renaming a category ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console_category.html")]
struct CategoryPage {
    chrome: Chrome,
    action: String,
    current: String,
    fields: Vec<FieldView>,
    summary: Vec<SummaryItem>,
}

fn category_id(raw: &str) -> Result<CategoryId, AppError> {
    raw.parse::<i64>()
        .map(CategoryId)
        .map_err(|_| AppError::not_found())
}

async fn category_name(state: &AppState, id: CategoryId) -> Result<String, AppError> {
    state
        .store
        .catalogue()
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .map(|c| c.name)
        .ok_or_else(AppError::not_found)
}

fn category_page(
    ctx: &Ctx,
    id: CategoryId,
    current: String,
    typed: &str,
    error: Option<&AppError>,
) -> CategoryPage {
    let fields = vec![input("name", "Новое название", "text", typed, error).required()];
    let targets: Vec<Target> = fields.iter().map(Target::from).collect();
    CategoryPage {
        chrome: Chrome::new(
            ctx,
            if error.is_some() {
                "Ошибка: переименовать категорию"
            } else {
                "Переименовать категорию"
            },
        ),
        action: format!("/console/categories/{id}"),
        current,
        summary: summary(error, &targets),
        fields,
    }
}

async fn category_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> PageResult {
    operator(&ctx)?;
    let id = category_id(&id)?;
    let current = category_name(&state, id).await?;
    Ok(render(&category_page(
        &ctx,
        id,
        current.clone(),
        &current,
        None,
    )))
}

async fn rename_category(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<NameForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = operator_post(&ctx, &form.csrf)?;
    let id = category_id(&id)?;
    let current = category_name(&state, id).await?;
    let saved = match parse_category_name(&form.name) {
        Ok(name) => state
            .store
            .put_category(Some(user.id), Some(id), &name, OffsetDateTime::now_utc())
            .await
            .map_err(|e| on_field(e.into(), CATEGORY_FIELDS)),
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(Redirect::to("/console/catalogue?done=category_saved").into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &category_page(&ctx, id, current, &form.name, Some(&e)),
        )),
        Err(e) => Err(e.into()),
    }
}

// --- the form builder -------------------------------------------------------------------------

/// One block of the builder as typed.
#[derive(Debug, Clone, Default)]
struct Row {
    field: FieldRow,
    /// The options as typed: one per line.
    options_text: String,
    remove: bool,
}

impl Row {
    /// The spare block: nothing typed, the commonest type preselected.
    fn spare() -> Self {
        Self {
            field: FieldRow {
                kind: FieldKind::Text.as_str().to_owned(),
                ..FieldRow::default()
            },
            ..Self::default()
        }
    }
}

/// The builder's form as typed.
#[derive(Debug, Clone, Default)]
struct Builder {
    name: String,
    category: String,
    photo_required: bool,
    rows: Vec<Row>,
}

/// The most blocks a posted builder may hold (the form's limit and spare ones).
const MAX_ROWS: usize = MAX_FIELDS + 10;

impl Builder {
    fn from_spec(name: &str, category: CategoryId, form: &FormSpec) -> Self {
        let mut rows: Vec<Row> = form
            .fields
            .iter()
            .map(|f| Row {
                field: FieldRow {
                    key: f.key.clone(),
                    label: f.label.clone(),
                    kind: f.kind.as_str().to_owned(),
                    required: f.required,
                    hint: f.hint.clone().unwrap_or_default(),
                    options: f.options.clone(),
                },
                options_text: f.options.join("\n"),
                remove: false,
            })
            .collect();
        rows.push(Row::spare());
        Self {
            name: name.to_owned(),
            category: category.to_string(),
            photo_required: form.photo_required,
            rows,
        }
    }

    /// Reads the posted pairs; `fields.{i}.{part}` are the blocks, `rows` how many the
    /// page showed (so that empty ones are kept).
    fn from_pairs(pairs: &[(String, String)]) -> (Self, String, String) {
        let mut builder = Self::default();
        let (mut csrf, mut action) = (String::new(), String::new());
        let mut parts: BTreeMap<usize, BTreeMap<&str, &str>> = BTreeMap::new();
        let mut shown = 0;
        for (name, value) in pairs {
            match name.as_str() {
                "csrf" => csrf = value.clone(),
                "action" => action = value.clone(),
                "name" => builder.name = value.clone(),
                "category_id" => builder.category = value.clone(),
                "photo_required" => builder.photo_required = !value.is_empty(),
                "rows" => shown = value.trim().parse::<usize>().unwrap_or(0).min(MAX_ROWS),
                other => {
                    let Some((index, part)) = other
                        .strip_prefix("fields.")
                        .and_then(|rest| rest.split_once('.'))
                    else {
                        continue;
                    };
                    if let Some(index) = index.parse::<usize>().ok().filter(|i| *i < MAX_ROWS) {
                        parts.entry(index).or_default().insert(part, value.as_str());
                    }
                }
            }
        }
        let count = parts.keys().next_back().map_or(0, |i| i + 1).max(shown);
        builder.rows = (0..count)
            .map(|i| {
                let part = |name: &str| {
                    parts
                        .get(&i)
                        .and_then(|p| p.get(name))
                        .map_or(String::new(), |v| (*v).to_owned())
                };
                let options_text = part("options");
                Row {
                    field: FieldRow {
                        key: part("key"),
                        label: part("label"),
                        kind: part("kind"),
                        required: !part("required").is_empty(),
                        hint: part("hint"),
                        options: options_text
                            .lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    },
                    options_text,
                    remove: !part("remove").is_empty(),
                }
            })
            .collect();
        (builder, csrf, action)
    }

    /// The blocks that are fields, with their place on the page.
    fn fields(&self) -> Vec<(usize, FieldRow)> {
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.remove && !r.field.is_blank())
            .map(|(i, r)| (i, r.field.clone()))
            .collect()
    }
}

/// One block of the builder as the template draws it.
pub struct RowView {
    pub index: usize,
    pub legend: String,
    pub id: String,
    pub main: Vec<FieldView>,
    pub required: bool,
    pub options: Vec<FieldView>,
    pub remove: bool,
    /// The spare block: nothing typed in it yet.
    pub blank: bool,
}

#[derive(Template)]
#[template(path = "console_subcategory.html")]
struct BuilderPage {
    chrome: Chrome,
    heading: String,
    action: String,
    top: Vec<FieldView>,
    photo_required: bool,
    rows: Vec<RowView>,
    summary: Vec<SummaryItem>,
    done: Option<&'static str>,
    /// Where the citizen's form of this subcategory is, once it exists.
    preview: Option<String>,
}

impl BuilderPage {
    async fn build(
        state: &AppState,
        ctx: &Ctx,
        id: Option<SubcategoryId>,
        typed: &Builder,
        error: Option<&AppError>,
        done: Option<&'static str>,
    ) -> Result<Self, AppError> {
        let catalogue = state.store.catalogue().await?;
        let top = vec![
            input("name", "Название подкатегории", "text", &typed.name, error).required(),
            input("category_id", "Категория", "select", &typed.category, error)
                .options(
                    catalogue
                        .iter()
                        .map(|c| (c.id.to_string(), c.name.clone()))
                        .collect(),
                )
                .required(),
        ];
        let kinds: Vec<(String, String)> = FieldKind::ALL
            .iter()
            .map(|k| (k.as_str().to_owned(), text::field_kind(*k).to_owned()))
            .collect();
        let mut targets: Vec<Target> = top.iter().map(Target::from).collect();
        let mut number = 0;
        let rows: Vec<RowView> = typed
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let blank = row.field.is_blank();
                let legend = if blank {
                    "Новое поле".to_owned()
                } else {
                    number += 1;
                    format!("Поле {number}")
                };
                let name = |part: &str| format!("fields.{i}.{part}");
                let main = vec![
                    input(&name("key"), "Ключ", "text", &row.field.key, error)
                        .hint("Строчные латинские буквы, цифры и «_», например route_number. По ключу хранятся ответы: не меняйте его у поля, которое уже заполняли."),
                    input(&name("label"), "Подпись для гражданина", "text", &row.field.label, error),
                    input(&name("kind"), "Тип поля", "select", &row.field.kind, error)
                        .options(kinds.clone()),
                    input(&name("hint"), "Подсказка (необязательно)", "text", &row.field.hint, error),
                ];
                let options = vec![input(
                    &name("options"),
                    "Варианты выбора, по одному на строку",
                    "textarea",
                    &row.options_text,
                    error,
                )
                .hint("Только для типов «Список» и «Несколько из списка».")];
                for f in main.iter().chain(&options) {
                    let mut target = Target::from(f);
                    target.label = format!("{legend}, {}", f.label.to_lowercase());
                    targets.push(target);
                }
                RowView {
                    index: i,
                    id: format!("row-{i}"),
                    legend,
                    main,
                    required: row.field.required,
                    options,
                    remove: row.remove,
                    blank,
                }
            })
            .collect();
        let heading = match id {
            Some(_) => format!("Подкатегория «{}»", typed.name.trim()),
            None => "Новая подкатегория".to_owned(),
        };
        let title = match error {
            Some(_) => format!("Ошибка: {heading}"),
            None => heading.clone(),
        };
        Ok(Self {
            chrome: Chrome::new(ctx, &title),
            heading,
            action: id.map_or_else(
                || "/console/subcategories".to_owned(),
                |id| format!("/console/subcategories/{id}"),
            ),
            top,
            photo_required: typed.photo_required,
            rows,
            summary: summary(error, &targets),
            done,
            preview: id.map(|id| format!("/submit/{id}")),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    #[serde(default)]
    category: String,
}

async fn new_subcategory(
    State(state): State<AppState>,
    ctx: Ctx,
    q: Result<Query<NewQuery>, QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|_| AppError::bad_request("invalid_query"))?;
    operator(&ctx)?;
    let typed = Builder {
        category: q.category,
        rows: vec![Row::spare()],
        ..Builder::default()
    };
    Ok(render(
        &BuilderPage::build(&state, &ctx, None, &typed, None, None).await?,
    ))
}

async fn edit_subcategory(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    q: Result<Query<DoneQuery>, QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|_| AppError::bad_request("invalid_query"))?;
    operator(&ctx)?;
    let id = subcategory_id(&id)?;
    let sub = state.store.subcategory(id).await?;
    let typed = Builder::from_spec(&sub.name, sub.category, &sub.form);
    let done = match q.done.as_str() {
        "saved" => Some("Подкатегория и форма сохранены. Новые сообщения заполняют эту форму."),
        "created" => Some("Подкатегория создана. Не забудьте правило маршрутизации для неё."),
        _ => None,
    };
    Ok(render(
        &BuilderPage::build(&state, &ctx, Some(id), &typed, None, done).await?,
    ))
}

fn subcategory_id(raw: &str) -> Result<SubcategoryId, AppError> {
    raw.parse::<i64>()
        .map(SubcategoryId)
        .map_err(|_| AppError::not_found())
}

async fn create_subcategory(
    state: State<AppState>,
    ctx: Ctx,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> PageResult {
    submit(state, ctx, None, form).await
}

async fn update_subcategory(
    state: State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> PageResult {
    let id = subcategory_id(&id)?;
    submit(state, ctx, Some(id), form).await
}

async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    id: Option<SubcategoryId>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> PageResult {
    let Form(pairs) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let (mut typed, csrf, action) = Builder::from_pairs(&pairs);
    let user = operator_post(&ctx, &csrf)?;
    if let Some(id) = id {
        state.store.subcategory(id).await?;
    }
    if action == "add_row" {
        if typed.rows.len() < MAX_ROWS {
            typed.rows.push(Row::spare());
        }
        let page = BuilderPage::build(&state, &ctx, id, &typed, None, None).await?;
        return Ok(render(&page));
    }
    let form = build_form(typed.photo_required, &typed.fields(), "");
    match save_subcategory(&state, user, id, &typed.category, &typed.name, form).await {
        Ok(sub) => {
            let done = if id.is_some() { "saved" } else { "created" };
            Ok(
                Redirect::to(&format!("/console/subcategories/{}?done={done}", sub.id))
                    .into_response(),
            )
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let page = BuilderPage::build(&state, &ctx, id, &typed, Some(&e), None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn posted_blocks_are_read_in_place_and_blank_ones_skipped() {
        let (b, csrf, action) = Builder::from_pairs(&pairs(&[
            ("csrf", "t"),
            ("action", "save"),
            ("name", "Тема"),
            ("rows", "4"),
            ("fields.0.key", "a"),
            ("fields.0.label", "А"),
            ("fields.0.kind", "multi_select"),
            ("fields.0.options", "x\r\n\r\n y \n"),
            ("fields.0.required", "1"),
            ("fields.2.key", "b"),
            ("fields.2.kind", "text"),
            ("fields.2.remove", "1"),
            ("fields.1.kind", "text"),
        ]));
        assert_eq!((csrf.as_str(), action.as_str()), ("t", "save"));
        assert_eq!(b.rows.len(), 4);
        assert_eq!(b.rows[0].field.options, vec!["x", "y"]);
        assert!(b.rows[0].field.required);
        let fields = b.fields();
        assert_eq!(
            fields.len(),
            1,
            "the blank and the removed blocks are not fields"
        );
        assert_eq!(fields[0].0, 0);
    }

    #[test]
    fn errors_name_the_block_on_the_page() {
        let (b, _, _) = Builder::from_pairs(&pairs(&[
            ("fields.0.key", "ok"),
            ("fields.0.label", "Хорошо"),
            ("fields.0.kind", "text"),
            ("fields.3.key", "ok"),
            ("fields.3.label", "Дубль"),
            ("fields.3.kind", "select"),
        ]));
        let errors = build_form(false, &b.fields(), "").err().unwrap_or_default();
        let codes: Vec<(&str, &str)> = errors
            .0
            .iter()
            .map(|e| (e.field.as_str(), e.code))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("fields.3.key", "duplicate_key"),
                ("fields.3.options", "options_required")
            ]
        );
    }

    #[test]
    fn a_stored_form_opens_with_one_spare_block() {
        let spec = FormSpec::from_json(
            r#"{"fields":[{"key":"k","label":"К","kind":"select","options":["a","b"]}]}"#,
        )
        .unwrap_or_default();
        let b = Builder::from_spec("Тема", CategoryId(1), &spec);
        assert_eq!(b.rows.len(), 2);
        assert_eq!(b.rows[0].options_text, "a\nb");
        assert!(b.rows[1].field.is_blank());
    }
}
