//! The operator's notifications: the templates of every kind (edit, preview, back to
//! the shipped one), the outbox at a glance, and campaigns — written with their audience
//! (whose size is shown before sending), started, paused, resumed or cancelled, with
//! their progress and statistics.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use otklik_domain::access::Verification;
use otklik_domain::notify::{Audience, CampaignCommand, CampaignStatus, SendRate};
use otklik_domain::{RegionId, ValidationErrors};
use otklik_notify::templates::{self, TemplateText};
use otklik_store::{NewCampaign, StoredTemplate};
use serde::Deserialize;
use time::OffsetDateTime;

use super::super::forms::{FieldView, SummaryItem};
use super::super::views::Chrome;
use super::super::{render, render_status};
use super::{input, operator, operator_post, region_options, summary, PageResult, Target};
use crate::api::campaigns::{campaign_id, known_key};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/notifications", get(overview))
        .route(
            "/console/notifications/templates/{key}",
            get(template_form).post(template_save),
        )
        .route("/console/campaigns", get(campaigns).post(campaign_create))
        .route("/console/campaigns/new", get(campaign_new))
        .route("/console/campaigns/{id}", get(campaign_page))
        .route("/console/campaigns/{id}/command", post(campaign_command))
}

// --- templates and the outbox ---------------------------------------------------------

pub struct TemplateRow {
    pub key: &'static str,
    pub label: &'static str,
    pub subject: String,
    pub edited: bool,
}

#[derive(Template)]
#[template(path = "console_notifications.html")]
struct OverviewPage {
    chrome: Chrome,
    rows: Vec<TemplateRow>,
    outbox: otklik_store::OutboxSummary,
    oldest: String,
}

fn key_label(key: &str) -> &'static str {
    match otklik_domain::notify::NotificationKind::parse(key) {
        Ok(kind) => crate::messages::notification_kind(kind),
        Err(_) => "Сводка для сотрудников",
    }
}

async fn overview(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    operator(&ctx)?;
    let templates = templates::Templates::new(state.store.notification_templates().await?);
    let rows = templates::keys()
        .into_iter()
        .filter_map(|key| {
            templates.get(key).map(|(t, edited)| TemplateRow {
                key,
                label: key_label(key),
                subject: t.subject,
                edited,
            })
        })
        .collect();
    let outbox = state.store.outbox_summary().await?;
    Ok(render(&OverviewPage {
        chrome: Chrome::new(&ctx, "Уведомления и рассылки"),
        oldest: outbox
            .oldest_pending_at
            .map(crate::messages::datetime)
            .unwrap_or_else(|| "—".to_owned()),
        rows,
        outbox,
    }))
}

#[derive(Template)]
#[template(path = "console_template.html")]
struct TemplatePage {
    chrome: Chrome,
    key: String,
    label: &'static str,
    edited: bool,
    fields: Vec<FieldView>,
    summary: Vec<SummaryItem>,
    placeholders: Vec<&'static str>,
    preview: Option<templates::Rendered>,
    saved: bool,
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

fn template_fields(template: &TemplateText, error: Option<&AppError>) -> Vec<FieldView> {
    vec![
        input("subject", "Тема письма", "text", &template.subject, error),
        input("text", "Текст письма", "textarea", &template.text, error),
        input("html", "Письмо в HTML", "textarea", &template.html, error),
    ]
}

fn preview(key: &str, template: &TemplateText) -> Option<templates::Rendered> {
    let footer = templates::Footer {
        settings_link: "https://otklik.example/account/notifications/settings".to_owned(),
        unsubscribe_link: "https://otklik.example/unsubscribe/…".to_owned(),
        campaign: key == templates::CAMPAIGN,
    };
    templates::render(template, &templates::sample(key), &footer).ok()
}

fn template_page(
    ctx: &Ctx,
    key: &'static str,
    template: &TemplateText,
    edited: bool,
    error: Option<&AppError>,
    saved: bool,
) -> TemplatePage {
    let fields = template_fields(template, error);
    let targets: Vec<Target> = fields.iter().map(Target::from).collect();
    TemplatePage {
        chrome: Chrome::new(ctx, "Шаблон уведомления"),
        key: key.to_owned(),
        label: key_label(key),
        edited,
        summary: summary(error, &targets),
        fields,
        placeholders: templates::placeholders(key).to_vec(),
        preview: preview(key, template),
        saved,
    }
}

async fn template_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(key): Path<String>,
    query: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    operator(&ctx)?;
    let key = known_key(&key)?;
    let templates = templates::Templates::new(state.store.notification_templates().await?);
    let (template, edited) = templates.get(key).ok_or_else(AppError::not_found)?;
    let saved = query.is_ok_and(|Query(q)| q.done.is_some());
    Ok(render(&template_page(
        &ctx, key, &template, edited, None, saved,
    )))
}

#[derive(Deserialize)]
struct TemplateForm {
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    html: String,
}

async fn template_save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(key): Path<String>,
    form: Result<Form<TemplateForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = operator_post(&ctx, &form.csrf)?.id;
    let key = known_key(&key)?;
    let now = OffsetDateTime::now_utc();
    if form.action == "reset" {
        match state
            .store
            .reset_notification_template(key, user, now)
            .await
        {
            Ok(()) | Err(otklik_store::StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        return Ok(Redirect::to(&format!(
            "/console/notifications/templates/{key}?done=reset"
        ))
        .into_response());
    }
    let template = TemplateText::typed(&form.subject, &form.text, &form.html);
    if let Err(error) = templates::check(key, &template).map_err(AppError::from) {
        let page = template_page(&ctx, key, &template, true, Some(&error), false);
        return Ok(render_status(StatusCode::BAD_REQUEST, &page));
    }
    if form.action == "preview" {
        return Ok(render(&template_page(
            &ctx, key, &template, true, None, false,
        )));
    }
    state
        .store
        .put_notification_template(&StoredTemplate {
            kind: key.to_owned(),
            subject: template.subject,
            text_body: template.text,
            html_body: template.html,
            updated_by: Some(user),
            updated_at: now,
        })
        .await?;
    Ok(Redirect::to(&format!(
        "/console/notifications/templates/{key}?done=saved"
    ))
    .into_response())
}

// --- campaigns ------------------------------------------------------------------------

pub struct CampaignRow {
    pub id: i64,
    pub title: String,
    pub status: &'static str,
    pub recipients: u64,
    pub sent: u64,
    pub created_at: String,
}

#[derive(Template)]
#[template(path = "console_campaigns.html")]
struct CampaignsPage {
    chrome: Chrome,
    rows: Vec<CampaignRow>,
}

async fn campaigns(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    operator(&ctx)?;
    let rows = state
        .store
        .campaigns()
        .await?
        .into_iter()
        .map(|c| CampaignRow {
            id: c.id.0,
            title: c.title,
            status: crate::messages::campaign_status(c.status),
            recipients: c.recipients,
            sent: c.sent,
            created_at: crate::messages::datetime(c.created_at),
        })
        .collect();
    Ok(render(&CampaignsPage {
        chrome: Chrome::new(&ctx, "Рассылки"),
        rows,
    }))
}

/// What the campaign form sends.
#[derive(Deserialize, Default, Clone)]
struct CampaignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    html: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    municipality: String,
    #[serde(default)]
    min_age: String,
    #[serde(default)]
    max_age: String,
    #[serde(default)]
    min_verification: String,
    #[serde(default)]
    rate: String,
}

#[derive(Template)]
#[template(path = "console_campaign_new.html")]
struct NewCampaignPage {
    chrome: Chrome,
    fields: Vec<FieldView>,
    summary: Vec<SummaryItem>,
    audience: Option<u64>,
    placeholders: Vec<&'static str>,
}

async fn campaign_fields(
    state: &AppState,
    form: &CampaignForm,
    error: Option<&AppError>,
) -> Result<Vec<FieldView>, AppError> {
    let regions = state.store.regions().await?;
    let mut region = input("region", "Регион проживания", "select", &form.region, error);
    region.options = region_options(&regions);
    region.hint = Some("Не выбран — вся Россия.".to_owned());
    let mut municipality = input(
        "municipality",
        "Муниципальное образование (код ОКТМО)",
        "text",
        &form.municipality,
        error,
    );
    municipality.hint = Some("Необязательно; только вместе с регионом.".to_owned());
    let mut level = input(
        "min_verification",
        "Уровень подтверждения личности не ниже",
        "select",
        &form.min_verification,
        error,
    );
    level.options = Verification::ALL
        .into_iter()
        .map(|v| {
            (
                v.as_str().to_owned(),
                super::super::account::level_label(v).to_owned(),
            )
        })
        .collect();
    level.hint = Some("Не выбран — любой.".to_owned());
    let mut rate = input(
        "rate",
        "Скорость отправки, писем в секунду",
        "number",
        &form.rate,
        error,
    );
    rate.hint = Some(format!("От 1 до {}.", SendRate::MAX));
    let mut text = input("text", "Текст письма", "textarea", &form.text, error);
    text.hint = Some("Ссылка для отказа от рассылок добавляется к каждому письму сама.".to_owned());
    Ok(vec![
        input(
            "title",
            "Название рассылки (видно только оператору)",
            "text",
            &form.title,
            error,
        ),
        input("subject", "Тема письма", "text", &form.subject, error),
        text,
        input("html", "Письмо в HTML", "textarea", &form.html, error),
        region,
        municipality,
        input("min_age", "Возраст от", "number", &form.min_age, error),
        input("max_age", "Возраст до", "number", &form.max_age, error),
        level,
        rate,
    ])
}

async fn new_campaign_page(
    state: &AppState,
    ctx: &Ctx,
    form: &CampaignForm,
    error: Option<&AppError>,
    audience: Option<u64>,
) -> Result<NewCampaignPage, AppError> {
    let fields = campaign_fields(state, form, error).await?;
    let targets: Vec<Target> = fields.iter().map(Target::from).collect();
    Ok(NewCampaignPage {
        chrome: Chrome::new(ctx, "Новая рассылка"),
        summary: summary(error, &targets),
        fields,
        audience,
        placeholders: templates::placeholders(templates::CAMPAIGN).to_vec(),
    })
}

async fn campaign_new(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    operator(&ctx)?;
    let form = CampaignForm {
        rate: "50".to_owned(),
        html: "<p></p>".to_owned(),
        ..CampaignForm::default()
    };
    Ok(render(
        &new_campaign_page(&state, &ctx, &form, None, None).await?,
    ))
}

fn optional_age(raw: &str, field: &str, errors: &mut ValidationErrors) -> Option<u16> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<u16>() {
        Ok(age) => Some(age),
        Err(_) => {
            errors.push(field, "not_a_number");
            None
        }
    }
}

/// The audience a form names; region and municipality are looked up in the store.
async fn parse_audience(
    state: &AppState,
    form: &CampaignForm,
    errors: &mut ValidationErrors,
) -> Result<Audience, AppError> {
    let mut audience = Audience::default();
    let region = form.region.trim();
    if !region.is_empty() {
        match region.parse::<i64>() {
            Ok(id) if state.store.regions().await?.iter().any(|r| r.id.0 == id) => {
                audience.region = Some(RegionId(id));
            }
            _ => errors.push("region", "unknown_value"),
        }
    }
    let oktmo = form.municipality.trim();
    if !oktmo.is_empty() {
        match audience.region {
            Some(region) => {
                match state
                    .store
                    .municipalities(region)
                    .await?
                    .into_iter()
                    .find(|m| m.oktmo == oktmo)
                {
                    Some(m) => audience.municipality = Some(m.id),
                    None => errors.push("municipality", "unknown_municipality"),
                }
            }
            None => errors.push("municipality", "municipality_needs_region"),
        }
    }
    audience.min_age = optional_age(&form.min_age, "min_age", errors);
    audience.max_age = optional_age(&form.max_age, "max_age", errors);
    if let Err((field, code)) = audience.check() {
        errors.push(field, code);
    }
    let level = form.min_verification.trim();
    if !level.is_empty() {
        match Verification::parse(level) {
            Some(level) => audience.min_verification = Some(level),
            None => errors.push("min_verification", "unknown_value"),
        }
    }
    Ok(audience)
}

async fn parse_campaign(state: &AppState, form: &CampaignForm) -> Result<NewCampaign, AppError> {
    let mut errors = ValidationErrors::default();
    let title = form.title.trim();
    if title.is_empty() {
        errors.push("title", "required");
    } else if title.chars().count() > 200 {
        errors.push("title", "too_long");
    }
    let template = TemplateText::typed(&form.subject, &form.text, &form.html);
    if let Err(e) = templates::check(templates::CAMPAIGN, &template) {
        errors.push(e.field, e.code);
    }
    let audience = parse_audience(state, form, &mut errors).await?;
    let rate = match SendRate::parse(&form.rate) {
        Ok(rate) => Some(rate),
        Err(code) => {
            errors.push("rate", code);
            None
        }
    };
    match rate {
        Some(rate) if errors.0.is_empty() => Ok(NewCampaign {
            title: title.to_owned(),
            subject: template.subject,
            text_body: template.text,
            html_body: template.html,
            audience,
            rate,
        }),
        _ => Err(AppError::validation(errors)),
    }
}

/// `action=count` shows the audience's size; `action=create` saves the draft.
async fn campaign_create(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Result<Form<CampaignForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = operator_post(&ctx, &form.csrf)?.id;
    let now = OffsetDateTime::now_utc();
    if form.action == "count" {
        let mut errors = ValidationErrors::default();
        let audience = parse_audience(&state, &form, &mut errors).await?;
        if !errors.0.is_empty() {
            let error = AppError::validation(errors);
            let page = new_campaign_page(&state, &ctx, &form, Some(&error), None).await?;
            return Ok(render_status(StatusCode::BAD_REQUEST, &page));
        }
        let size = state.store.audience_size(&audience, now.date()).await?;
        return Ok(render(
            &new_campaign_page(&state, &ctx, &form, None, Some(size)).await?,
        ));
    }
    match parse_campaign(&state, &form).await {
        Ok(campaign) => {
            let id = state.store.create_campaign(&campaign, user, now).await?;
            Ok(Redirect::to(&format!("/console/campaigns/{}", id.0)).into_response())
        }
        Err(error) => {
            let page = new_campaign_page(&state, &ctx, &form, Some(&error), None).await?;
            Ok(render_status(StatusCode::BAD_REQUEST, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "console_campaign.html")]
struct CampaignPage {
    chrome: Chrome,
    campaign: otklik_store::CampaignRecord,
    status: &'static str,
    audience: Vec<(&'static str, String)>,
    /// Recipients now, for a draft (fixed at the start).
    audience_now: Option<u64>,
    commands: Vec<(&'static str, &'static str)>,
    done_percent: u64,
    pending: u64,
    created_at: String,
    started_at: String,
    finished_at: String,
}

fn command_label(command: CampaignCommand) -> (&'static str, &'static str) {
    match command {
        CampaignCommand::Start => ("start", "Начать отправку"),
        CampaignCommand::Pause => ("pause", "Приостановить"),
        CampaignCommand::Resume => ("resume", "Продолжить"),
        CampaignCommand::Cancel => ("cancel", "Отменить"),
    }
}

async fn describe_audience(
    state: &AppState,
    audience: &Audience,
) -> Result<Vec<(&'static str, String)>, AppError> {
    let mut out = Vec::new();
    let region = match audience.region {
        Some(id) => state
            .store
            .regions()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .map_or_else(|| format!("№ {id}"), |r| r.name),
        None => "вся Россия".to_owned(),
    };
    out.push(("Регион", region));
    if let (Some(region), Some(m)) = (audience.region, audience.municipality) {
        let name = state
            .store
            .municipalities(region)
            .await?
            .into_iter()
            .find(|x| x.id == m)
            .map_or_else(|| format!("№ {m}"), |x| format!("{} ({})", x.name, x.oktmo));
        out.push(("Муниципальное образование", name));
    }
    let ages = match (audience.min_age, audience.max_age) {
        (None, None) => "любой".to_owned(),
        (Some(a), None) => format!("от {a} лет"),
        (None, Some(b)) => format!("до {b} лет"),
        (Some(a), Some(b)) => format!("от {a} до {b} лет"),
    };
    out.push(("Возраст", ages));
    out.push((
        "Уровень подтверждения",
        audience.min_verification.map_or("любой".to_owned(), |v| {
            format!("не ниже: {}", super::super::account::level_label(v))
        }),
    ));
    Ok(out)
}

async fn campaign_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> PageResult {
    operator(&ctx)?;
    let campaign = state.store.campaign(campaign_id(&id)?).await?;
    let audience_now = match campaign.status {
        CampaignStatus::Draft => Some(
            state
                .store
                .audience_size(&campaign.audience, OffsetDateTime::now_utc().date())
                .await?,
        ),
        _ => None,
    };
    let done = campaign.sent + campaign.failed;
    let when = |t: Option<OffsetDateTime>| {
        t.map(crate::messages::datetime)
            .unwrap_or_else(|| "—".to_owned())
    };
    Ok(render(&CampaignPage {
        chrome: Chrome::new(&ctx, "Рассылка"),
        status: crate::messages::campaign_status(campaign.status),
        audience: describe_audience(&state, &campaign.audience).await?,
        audience_now,
        commands: campaign
            .status
            .available()
            .into_iter()
            .map(command_label)
            .collect(),
        done_percent: (done * 100).checked_div(campaign.recipients).unwrap_or(0),
        pending: campaign.pending(),
        created_at: crate::messages::datetime(campaign.created_at),
        started_at: when(campaign.started_at),
        finished_at: when(campaign.finished_at),
        campaign,
    }))
}

#[derive(Deserialize)]
struct CommandForm {
    csrf: String,
    #[serde(default)]
    command: String,
}

async fn campaign_command(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<CommandForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = operator_post(&ctx, &form.csrf)?.id;
    let id = campaign_id(&id)?;
    let command = CampaignCommand::parse(&form.command).map_err(AppError::bad_request)?;
    state
        .store
        .command_campaign(id, command, user, OffsetDateTime::now_utc())
        .await?;
    Ok(Redirect::to(&format!("/console/campaigns/{}", id.0)).into_response())
}
