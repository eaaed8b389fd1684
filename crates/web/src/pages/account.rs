//! Signing in with the identity provider, linking it to an account, and the personal
//! account page: verification level, linked identities, who read one's personal data.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::CookieJar;
use otklik_domain::access::{Capability, Verification};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::views::Chrome;
use super::{home_of, render, CsrfForm, PageResult};
use crate::auth::{self, Ctx};
use crate::error::AppError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/oidc/start", get(start))
        .route("/auth/oidc/link", post(link))
        .route("/auth/oidc/callback", get(callback))
        .route("/account", get(account))
}

fn provider(state: &AppState) -> Result<&crate::oidc::Provider, AppError> {
    state
        .oidc
        .as_deref()
        .ok_or_else(|| AppError::new(StatusCode::NOT_FOUND, "login_not_configured"))
}

/// Sends the browser to the provider to sign in.
async fn start(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    begin(&state, &ctx, None).await
}

/// Sends a signed-in person to the provider to link that identity to this account.
async fn link(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = ctx.require(Capability::OwnAccount)?.id;
    ctx.check_csrf(&form.csrf)?;
    begin(&state, &ctx, Some(user)).await
}

async fn begin(state: &AppState, ctx: &Ctx, link: Option<otklik_domain::UserId>) -> PageResult {
    let provider = provider(state)?;
    // The browser cookie is set by the CSRF middleware before any handler runs.
    let browser = ctx
        .browser
        .as_deref()
        .ok_or_else(|| AppError::bad_request("bad_state"))?;
    let started = provider
        .begin(browser, link, OffsetDateTime::now_utc())
        .await?;
    state.store.begin_provider_login(started.pending).await?;
    Ok(Redirect::to(&started.authorize_url).into_response())
}

#[derive(Deserialize, Default)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The provider sends the browser back here with a code (or an error). Every failure
/// is a clear page and leaves nobody signed in.
async fn callback(
    State(state): State<AppState>,
    ctx: Ctx,
    jar: CookieJar,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> PageResult {
    let Query(query) = query.map_err(|_| AppError::bad_request("bad_state"))?;
    let provider = provider(&state)?;
    let now = OffsetDateTime::now_utc();
    let state_param = query
        .state
        .filter(|s| !s.is_empty() && s.len() <= 512)
        .ok_or_else(|| AppError::bad_request("bad_state"))?;
    // One use: the pending login is taken (deleted) whatever happens next.
    let pending = state
        .store
        .take_provider_login(&Sha256::digest(state_param.as_bytes()).into(), now)
        .await?
        .ok_or_else(|| AppError::bad_request("bad_state"))?;
    let browser: [u8; 32] = Sha256::digest(ctx.browser.as_deref().unwrap_or("").as_bytes()).into();
    if browser != pending.browser_sha256 {
        return Err(AppError::bad_request("bad_state").into());
    }
    if query.error.is_some() {
        return Err(AppError::bad_request("provider_refused").into());
    }
    let code = query
        .code
        .filter(|c| !c.is_empty() && c.len() <= 2048)
        .ok_or_else(|| AppError::bad_request("provider_refused"))?;
    let identity = provider.finish(&code, &pending).await?;
    if let Some(owner) = pending.link_user {
        // Linking: only for the person still signed in who asked for it.
        if ctx.user.as_ref().map(|u| u.id) != Some(owner) {
            return Err(AppError::bad_request("bad_state").into());
        }
    }
    let user = state
        .store
        .sign_in_with_identity(identity, pending.link_user, now)
        .await?;
    if pending.link_user.is_some() {
        return Ok(Redirect::to("/account?done=linked").into_response());
    }
    // A new session at every sign-in; the one this browser had (if any) ends.
    if let Some(old) = &ctx.session {
        state.store.delete_session(&auth::token_digest(old)).await?;
    }
    let (token, _) = auth::open_session(&state, user.id).await?;
    let jar = jar.add(auth::session_cookie(token, state.config.security.tls));
    Ok((jar, Redirect::to(&home_of(user.role))).into_response())
}

#[derive(Deserialize, Default)]
struct AccountQuery {
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    email: String,
    role: &'static str,
    level: &'static str,
    level_code: &'static str,
    birth_date: Option<String>,
    home_region: Option<String>,
    has_identity_key: bool,
    identities: Vec<IdentityRow>,
    accesses: Vec<AccessRow>,
    provider: Option<String>,
    linked_now: bool,
    can_appeal: bool,
    can_vote: bool,
}

struct IdentityRow {
    issuer: String,
    level: &'static str,
    linked_at: String,
    last_login_at: String,
}

struct AccessRow {
    at: String,
    staff: String,
    submission: i64,
    purpose: &'static str,
}

async fn account(
    State(state): State<AppState>,
    ctx: Ctx,
    query: Result<Query<AccountQuery>, QueryRejection>,
) -> PageResult {
    let user = ctx.require(Capability::OwnAccount)?;
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let profile = state.store.account_profile(user.id).await?;
    let accesses = state.store.personal_data_accesses_of(user.id, 100).await?;
    let level = profile.user.verification;
    Ok(render(&AccountPage {
        chrome: Chrome::new(&ctx, "Учётная запись"),
        email: profile.user.email.clone(),
        role: role_label(profile.user.role),
        level: level_label(level),
        level_code: level.as_str(),
        birth_date: profile
            .birth_date
            .map(|d| format!("{:02}.{:02}.{}", d.day(), u8::from(d.month()), d.year())),
        home_region: profile.home_region.clone(),
        has_identity_key: profile.has_identity_key,
        identities: profile
            .identities
            .iter()
            .map(|i| IdentityRow {
                issuer: i.issuer.clone(),
                level: level_label(i.verification),
                linked_at: crate::messages::datetime(i.linked_at),
                last_login_at: crate::messages::datetime(i.last_login_at),
            })
            .collect(),
        accesses: accesses
            .into_iter()
            .map(|a| AccessRow {
                at: crate::messages::datetime(a.at),
                staff: a.staff_name,
                submission: a.submission.0,
                purpose: purpose_label(&a.purpose),
            })
            .collect(),
        provider: state.oidc.as_ref().map(|p| p.display_name().to_owned()),
        linked_now: query.done.as_deref() == Some("linked"),
        can_appeal: level >= Verification::Standard,
        can_vote: level >= Verification::Verified,
    }))
}

pub fn level_label(level: Verification) -> &'static str {
    match level {
        Verification::Unverified => "Упрощённая (личность не подтверждена)",
        Verification::Standard => "Стандартная (данные документов проверены)",
        Verification::Verified => "Подтверждённая",
    }
}

fn role_label(role: otklik_domain::lifecycle::Role) -> &'static str {
    use otklik_domain::lifecycle::Role;
    match role {
        Role::Citizen => "Гражданин",
        Role::Official(_) => "Должностное лицо организации",
        Role::OrgAdmin(_) => "Администратор организации",
        Role::Integration(_) => "Информационная система организации",
        Role::Coordinator(_) => "Региональный координатор",
        Role::Operator => "Оператор платформы",
        Role::Analyst => "Аналитик министерства",
    }
}

fn purpose_label(purpose: &str) -> &'static str {
    match purpose {
        "view_submission" => "Просмотр обращения для его рассмотрения",
        "download_file" => "Просмотр приложенного файла",
        _ => "Работа с обращением",
    }
}
