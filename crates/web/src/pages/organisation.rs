//! An organisation's own administration, for its administrator (and the operator): its
//! officials and administrators, its integration clients (API keys with scopes), and the
//! sites allowed to embed its widget. Secrets (a new official's first password, a
//! client's secret) are shown once, on the page that answers the form, and never stored
//! in the clear.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use otklik_domain::access::{ApiScope, Capability};
use otklik_domain::lifecycle::Role;
use otklik_domain::{OrgId, UserId};
use serde::Deserialize;

use super::views::Chrome;
use super::{render, render_status, CsrfForm, PageError, PageResult};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::orgadmin;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/org", get(mine))
        .route("/org/{id}", get(page))
        .route("/org/{id}/staff", post(add_staff))
        .route("/org/{id}/staff/{user}/{state}", post(staff_state))
        .route("/org/{id}/clients", post(add_client))
        .route("/org/{id}/clients/{client}/revoke", post(revoke_client))
        .route("/org/{id}/sites", post(add_site))
        .route("/org/{id}/sites/remove", post(remove_site))
        .route("/org/{id}/integration", post(set_integration))
        .route("/org/{id}/integration/remove", post(remove_integration))
}

/// An administrator's own organisation; the operator administers them all from the
/// console's list.
async fn mine(ctx: Ctx) -> PageResult {
    let user = ctx.require_user()?;
    match user.role {
        Role::OrgAdmin(org) => Ok(Redirect::to(&format!("/org/{org}")).into_response()),
        _ => {
            ctx.require(Capability::Configure)?;
            Ok(Redirect::to("/console/organisations").into_response())
        }
    }
}

fn org_id(raw: &str) -> Result<OrgId, PageError> {
    raw.parse::<i64>()
        .map(OrgId)
        .map_err(|_| PageError(AppError::not_found()))
}

/// The administrator of `org` (the policy decides), before any input is looked at.
fn admin(ctx: &Ctx, org: OrgId) -> Result<&otklik_store::UserRecord, PageError> {
    Ok(ctx.require(Capability::AdministerOrganisation(org))?)
}

#[derive(Template)]
#[template(path = "organisation_admin.html")]
struct AdminPage {
    chrome: Chrome,
    org: i64,
    org_name: String,
    staff: Vec<StaffRow>,
    clients: Vec<ClientRow>,
    sites: Vec<SiteRow>,
    /// The widget's snippet for the organisation's sites.
    snippet: String,
    scopes: Vec<(&'static str, &'static str)>,
    integration: Option<IntegrationBlock>,
    /// The recent deliveries, newest first.
    deliveries: Vec<DeliveryRow>,
    /// A secret to show once: (what it is, the value).
    revealed: Option<(String, String)>,
    error: Option<&'static str>,
    done: Option<&'static str>,
}

struct StaffRow {
    id: i64,
    name: String,
    email: String,
    role: &'static str,
    disabled: bool,
}

struct ClientRow {
    client_id: String,
    name: String,
    scopes: String,
    created_at: String,
    revoked: bool,
}

/// The organisation's delivery settings and its outbox's state.
struct IntegrationBlock {
    push: bool,
    push_url: String,
    visibility_timeout_seconds: u64,
    alert_after_failures: u32,
    pending: u64,
    failing: u64,
    delivered: u64,
    oldest_undelivered_at: Option<String>,
}

struct DeliveryRow {
    submission: i64,
    event: String,
    state: &'static str,
    failing: bool,
    attempts: u32,
    created_at: String,
    last_error: String,
    next_attempt_at: String,
}

struct SiteRow {
    origin: String,
    added_by: String,
    added_at: String,
}

async fn build(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    revealed: Option<(String, String)>,
    error: Option<&'static str>,
    done: Option<&'static str>,
) -> Result<AdminPage, AppError> {
    let organisation = state.store.organisation(org).await?;
    let staff = state.store.staff(org).await?;
    let clients = state.store.api_clients(org).await?;
    let sites = state.store.widget_sites(org).await?;
    let integration = match state.store.integration(org).await? {
        Some(i) => {
            let summary = state.store.delivery_summary(org).await?;
            Some(IntegrationBlock {
                push: i.mode == otklik_domain::delivery::DeliveryMode::Push,
                push_url: i.push_url.unwrap_or_default(),
                visibility_timeout_seconds: i.visibility_timeout_seconds,
                alert_after_failures: i.alert_after_failures,
                pending: summary.pending,
                failing: summary.failing,
                delivered: summary.delivered,
                oldest_undelivered_at: summary.oldest_undelivered_at.map(crate::messages::datetime),
            })
        }
        None => None,
    };
    let deliveries = state.store.deliveries(org, None, 20, 0).await?;
    Ok(AdminPage {
        chrome: Chrome::new(ctx, "Администрирование организации"),
        org: org.0,
        org_name: organisation.name,
        staff: staff
            .into_iter()
            .map(|u| StaffRow {
                id: u.id.0,
                name: u.full_name,
                email: u.email,
                role: match u.role {
                    Role::OrgAdmin(_) => "администратор",
                    _ => "должностное лицо",
                },
                disabled: u.disabled,
            })
            .collect(),
        clients: clients
            .into_iter()
            .map(|c| ClientRow {
                client_id: c.client_id,
                name: c.name,
                scopes: ApiScope::join(&c.scopes),
                created_at: crate::messages::datetime(c.created_at),
                revoked: c.revoked,
            })
            .collect(),
        sites: sites
            .into_iter()
            .map(|s| SiteRow {
                origin: s.origin,
                added_by: s.added_by,
                added_at: crate::messages::datetime(s.added_at),
            })
            .collect(),
        snippet: super::widget::snippet(&ctx.platform, org),
        integration,
        deliveries: deliveries
            .into_iter()
            .map(|d| {
                let state = d.state();
                DeliveryRow {
                    submission: d.submission.0,
                    event: crate::messages::delivery_event(&d.event).to_owned(),
                    state: crate::messages::delivery_state(state),
                    failing: state == otklik_store::DeliveryState::Failing,
                    attempts: d.attempts,
                    created_at: crate::messages::datetime(d.created_at),
                    last_error: d.last_error.unwrap_or_default(),
                    next_attempt_at: if state == otklik_store::DeliveryState::Delivered {
                        String::new()
                    } else {
                        crate::messages::datetime(d.next_attempt_at)
                    },
                }
            })
            .collect(),
        scopes: vec![
            ("submissions:read", "Читать обращения организации"),
            (
                "submissions:write",
                "Работать с обращениями: брать в работу, отвечать, перенаправлять",
            ),
        ],
        revealed,
        error,
        done,
    })
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    query: Result<axum::extract::Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let org = org_id(&id)?;
    admin(&ctx, org)?;
    let done = query
        .ok()
        .and_then(|q| q.0.done)
        .and_then(|d| done_message(&d));
    Ok(render(&build(&state, &ctx, org, None, None, done).await?))
}

fn done_message(code: &str) -> Option<&'static str> {
    match code {
        "staff_disabled" => Some("Учётная запись отключена, её сеансы завершены."),
        "staff_enabled" => Some("Учётная запись снова включена."),
        "client_revoked" => Some("Доступ системы отозван: её ключи больше не действуют."),
        "site_added" => Some("Сайт добавлен: он может встраивать форму организации."),
        "site_removed" => Some("Сайт удалён."),
        "integration_set" => Some("Настройки передачи сохранены."),
        "integration_removed" => Some(
            "Передача остановлена. Недоставленные сообщения сохранены и уйдут, если передачу снова включить.",
        ),
        _ => None,
    }
}

/// Re-renders the page with an error for a refused form, with its status.
async fn refused(state: &AppState, ctx: &Ctx, org: OrgId, e: AppError) -> PageResult {
    if e.status.is_server_error() || e.status == StatusCode::NOT_FOUND {
        return Err(e.into());
    }
    let code = e.first_code();
    let page = build(
        state,
        ctx,
        org,
        None,
        Some(crate::messages::error(code)),
        None,
    )
    .await?;
    Ok(render_status(e.status, &page))
}

#[derive(Deserialize, Default)]
struct StaffForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    role: String,
}

/// Adds an official (or administrator); the first password is generated and shown once.
async fn add_staff(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<StaffForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let org = org_id(&id)?;
    admin(&ctx, org)?;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    match orgadmin::add_staff(
        state.store.as_ref(),
        org,
        &form.email,
        &form.full_name,
        &form.role,
    )
    .await
    {
        Ok((_, password)) => {
            let page = build(
                &state,
                &ctx,
                org,
                Some((
                    format!("Пароль для первого входа {}", form.email.trim()),
                    password,
                )),
                None,
                Some("Учётная запись создана. Передайте пароль сотруднику лично; он показан один раз."),
            )
            .await?;
            Ok(render_status(StatusCode::CREATED, &page))
        }
        Err(e) => refused(&state, &ctx, org, e).await,
    }
}

async fn staff_state(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, user, action)): Path<(String, String, String)>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let org = org_id(&id)?;
    let me = admin(&ctx, org)?.id;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    let user = UserId(user.parse::<i64>().map_err(|_| AppError::not_found())?);
    let disabled = match action.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return Err(AppError::not_found().into()),
    };
    if let Err(e) =
        orgadmin::set_staff_disabled(state.store.as_ref(), org, me, user, disabled).await
    {
        return refused(&state, &ctx, org, e).await;
    }
    let done = if disabled {
        "staff_disabled"
    } else {
        "staff_enabled"
    };
    Ok(Redirect::to(&format!("/org/{org}?done={done}")).into_response())
}

#[derive(Deserialize, Default)]
pub(super) struct ClientForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub name: String,
    /// Repeated checkboxes arrive as one value each.
    #[serde(default)]
    pub scope: Vec<String>,
}

/// The client form's body. Checkbox lists repeat a key, which `Form` cannot gather;
/// the pairs are read directly.
pub(super) fn client_form(body: &[u8]) -> ClientForm {
    let mut form = ClientForm::default();
    for (key, value) in form_urlencoded::parse(body) {
        match key.as_ref() {
            "csrf" => form.csrf = value.into_owned(),
            "client_id" => form.client_id = value.into_owned(),
            "name" => form.name = value.into_owned(),
            "scope" => form.scope.push(value.into_owned()),
            _ => {}
        }
    }
    form
}

/// Registers an integration client; its secret is generated and shown once.
async fn add_client(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> PageResult {
    let org = org_id(&id)?;
    let me = admin(&ctx, org)?.id;
    let form = client_form(&body);
    ctx.check_csrf(&form.csrf)?;
    let created = orgadmin::add_client(
        state.store.as_ref(),
        org,
        me,
        &form.client_id,
        &form.name,
        &form.scope,
    )
    .await;
    match created {
        Ok(client) => {
            let page = build(
                &state,
                &ctx,
                org,
                Some((
                    format!("Секрет системы {} (client_secret)", client.client_id),
                    client.secret,
                )),
                None,
                Some("Система подключена. Сохраните секрет: он показан один раз. Ключ для заголовка X-Api-Key — идентификатор, точка и секрет."),
            )
            .await?;
            Ok(render_status(StatusCode::CREATED, &page))
        }
        Err(e) => refused(&state, &ctx, org, e).await,
    }
}

async fn revoke_client(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, client)): Path<(String, String)>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let org = org_id(&id)?;
    let me = admin(&ctx, org)?.id;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    orgadmin::revoke_client(state.store.as_ref(), org, me, &client).await?;
    Ok(Redirect::to(&format!("/org/{org}?done=client_revoked")).into_response())
}

#[derive(Deserialize, Default)]
struct SiteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    origin: String,
}

async fn add_site(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<SiteForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    site_change(state, ctx, id, form, true).await
}

async fn remove_site(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<SiteForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    site_change(state, ctx, id, form, false).await
}

async fn site_change(
    state: AppState,
    ctx: Ctx,
    id: String,
    form: Result<Form<SiteForm>, axum::extract::rejection::FormRejection>,
    add: bool,
) -> Result<Response, PageError> {
    let org = org_id(&id)?;
    let me = admin(&ctx, org)?.id;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    let result = orgadmin::change_site(state.store.as_ref(), org, me, &form.origin, add).await;
    match result {
        Ok(_) => {
            let done = if add { "site_added" } else { "site_removed" };
            Ok(Redirect::to(&format!("/org/{org}?done={done}")).into_response())
        }
        Err(e) => refused(&state, &ctx, org, e).await,
    }
}

#[derive(Deserialize, Default)]
pub(super) struct IntegrationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    push_url: String,
    #[serde(default)]
    push_secret: String,
    #[serde(default)]
    visibility_timeout_seconds: String,
    #[serde(default)]
    alert_after_failures: String,
}

/// A number field: empty is the default; anything else must parse.
fn number<T: std::str::FromStr>(raw: &str, field: &str) -> Result<Option<T>, AppError> {
    match raw.trim() {
        "" => Ok(None),
        value => value
            .parse()
            .map(Some)
            .map_err(|_| AppError::field(field, "out_of_range")),
    }
}

/// The integration form's values as `orgadmin` takes them (numbers read).
pub(super) fn integration_input(
    form: &IntegrationForm,
) -> Result<orgadmin::IntegrationInput, AppError> {
    number(
        &form.visibility_timeout_seconds,
        "visibility_timeout_seconds",
    )
    .and_then(|timeout| {
        Ok(orgadmin::IntegrationInput {
            mode: form.mode.clone(),
            push_url: form.push_url.clone(),
            push_secret: form.push_secret.clone(),
            visibility_timeout_seconds: timeout,
            alert_after_failures: number(&form.alert_after_failures, "alert_after_failures")?,
        })
    })
}

/// Sets how the organisation's own system takes its submissions; a generated push
/// secret is shown once.
async fn set_integration(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<IntegrationForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let org = org_id(&id)?;
    let me = admin(&ctx, org)?.id;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    let result = match integration_input(&form) {
        Ok(input) => {
            orgadmin::set_integration(
                state.store.as_ref(),
                org,
                me,
                input,
                state.config.delivery.allow_private_targets,
                time::OffsetDateTime::now_utc(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(Some(secret)) => {
            let page = build(
                &state,
                &ctx,
                org,
                Some(("Ключ подписи (push_secret)".to_owned(), secret)),
                None,
                Some("Настройки сохранены. Передайте ключ подписи администратору системы организации: он показан один раз."),
            )
            .await?;
            Ok(render(&page))
        }
        Ok(None) => Ok(
            Redirect::to(&format!("/org/{org}?done=integration_set#integration")).into_response(),
        ),
        Err(e) => refused(&state, &ctx, org, e).await,
    }
}

async fn remove_integration(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let org = org_id(&id)?;
    let me = admin(&ctx, org)?.id;
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    state
        .store
        .remove_integration(org, Some(me), time::OffsetDateTime::now_utc())
        .await?;
    Ok(Redirect::to(&format!("/org/{org}?done=integration_removed#integration")).into_response())
}
