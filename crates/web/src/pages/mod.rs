//! Server-rendered pages. Every page works without JavaScript: plain links, GET filter
//! forms, POST forms with a CSRF token, and POST-redirect-GET after every change.

pub(crate) mod account;
mod analytics;
mod console;
mod discussions;
pub(crate) mod documents;
pub(crate) mod duplicates;
mod export_jobs;
pub(crate) mod forms;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod list_export;
mod monitoring;
mod notifications;
mod organisation;
mod polls;
mod search;
mod social;
mod templates;
mod views;
mod widget;

pub(crate) use widget::script as widget_script;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Form, Router};
use axum_extra::extract::cookie::CookieJar;
use otklik_domain::lifecycle::Role;
use otklik_domain::*;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::auth::{self, ClientIp, Ctx};
use crate::error::AppError;
use crate::usecases::{self, ActInput, ListFilters, RegisterInput, SubmitInput};
use crate::AppState;
use forms::read_multipart;
use otklik_domain::access::Capability;
use otklik_domain::lifecycle::SubmissionKind;
use views::*;

/// Room for five 10 MiB files and the form around them.
pub const UPLOAD_LIMIT: usize = 5 * otklik_domain::attachment::MAX_FILE_BYTES + 1024 * 1024;

pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login_submit))
        .route("/register", get(register_form).post(register_submit))
        .route("/logout", post(logout))
        .route("/submit", get(choose_subcategory))
        .route(
            "/submit/{id}",
            get(submit_form)
                .post(submit_post)
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/my", get(my_list))
        .route("/inbox", get(inbox))
        .route("/coordination", get(coordination))
        .route("/operator", get(operator_list))
        .route("/submissions/{id}", get(detail))
        .route("/submissions/{id}/receipts/{index}", get(receipt_download))
        .route(
            "/submissions/{id}/{action}",
            post(act_post).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/files/{id}", get(download))
        .merge(monitoring::routes())
        .merge(analytics::routes())
        .merge(list_export::routes())
        .merge(export_jobs::routes())
        .merge(account::routes())
        .merge(notifications::routes())
        .merge(documents::routes())
        .merge(search::routes())
        .merge(duplicates::routes())
        .merge(templates::routes())
        .merge(organisation::routes())
        .merge(polls::routes())
        .merge(discussions::routes())
        .merge(social::routes())
        .merge(console::routes())
        .merge(widget::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(|| async {
            PageError(AppError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
            ))
        })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::ensure_csrf_cookie,
        ))
}

/// An error shown as a page: 401 sends the visitor to the login page, anything else
/// renders a page with the status and a message in Russian.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl From<otklik_store::StoreError> for PageError {
    fn from(e: otklik_store::StoreError) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if self.0.status == StatusCode::UNAUTHORIZED {
            return Redirect::to("/login").into_response();
        }
        let page = ErrorPage {
            chrome: Chrome::anonymous(title_for(self.0.status)),
            status: self.0.status.as_u16(),
            message: crate::messages::error(self.0.code),
            help: crate::messages::help(self.0.code),
        };
        let mut response = (self.0.status, render(&page)).into_response();
        crate::error::add_retry_after(&mut response, self.0.retry_after);
        response
    }
}

fn title_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "Не найдено",
        StatusCode::GONE => "Больше недоступно",
        StatusCode::FORBIDDEN => "Доступ запрещён",
        StatusCode::PAYLOAD_TOO_LARGE => "Слишком большой запрос",
        StatusCode::TOO_MANY_REQUESTS => "Слишком много попыток",
        s if s.is_server_error() => "Ошибка сервера",
        _ => "Ошибка",
    }
}

pub(crate) type PageResult = Result<Response, PageError>;

pub(crate) fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Ошибка отображения страницы",
            )
                .into_response()
        }
    }
}

pub(crate) fn render_status(status: StatusCode, t: &impl Template) -> Response {
    let mut response = render(t);
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}

/// Staff who open the submission form are told that submitting is for citizens.
pub(crate) fn citizens_only(e: AppError) -> AppError {
    if e.code == "forbidden" {
        AppError::new(StatusCode::FORBIDDEN, "citizens_only")
    } else {
        e
    }
}

async fn not_found() -> PageError {
    PageError(AppError::not_found())
}

// --- home and accounts ------------------------------------------------------------------

async fn home(ctx: Ctx) -> Response {
    render(&HomePage {
        chrome: Chrome::new(&ctx, "Обратная связь с органами власти"),
    })
}

#[derive(Deserialize, Default)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn login_form(State(state): State<AppState>, ctx: Ctx) -> Response {
    render(&LoginPage::new(&ctx, "", None, provider_name(&state)))
}

fn provider_name(state: &AppState) -> Option<String> {
    state.oidc.as_ref().map(|p| p.display_name().to_owned())
}

async fn login_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    match auth::login(&state, ip, &form.email, &form.password).await {
        Ok((user, token, _)) => {
            // A new session at every sign-in; the one this browser had (if any) ends.
            if let Some(old) = &ctx.session {
                state.store.delete_session(&auth::token_digest(old)).await?;
            }
            let jar = jar.add(auth::session_cookie(token, state.config.security.tls));
            Ok((jar, Redirect::to(&home_of(user.role))).into_response())
        }
        Err(e) if e.code == "invalid_credentials" || e.status == StatusCode::TOO_MANY_REQUESTS => {
            let mut response = render_status(
                e.status,
                &LoginPage::new(
                    &ctx,
                    &form.email,
                    Some(crate::messages::error(e.code)),
                    provider_name(&state),
                ),
            );
            crate::error::add_retry_after(&mut response, e.retry_after);
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

/// Where a person lands after signing in.
pub(crate) fn home_of(role: Role) -> String {
    match role {
        Role::Citizen => "/my".to_owned(),
        Role::Official(_) | Role::Integration(_) => "/inbox".to_owned(),
        Role::Operator => "/operator".to_owned(),
        Role::Coordinator(_) => "/coordination".to_owned(),
        Role::Analyst => "/monitoring".to_owned(),
        Role::OrgAdmin(org) => format!("/org/{org}"),
    }
}

#[derive(Deserialize, Default)]
struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_repeat: String,
}

async fn register_form(ctx: Ctx) -> Response {
    render(&RegisterPage::new(&ctx, &RegisterInput::default(), None))
}

async fn register_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    form: Result<Form<RegisterForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    state.limiter.register(ip)?;
    let input = RegisterInput {
        email: form.email,
        full_name: form.full_name,
        password: form.password,
        password_repeat: Some(form.password_repeat),
    };
    let level = state.config.identity.local_accounts_level;
    match usecases::register_citizen(state.store.as_ref(), &input, level).await {
        Ok(user) => {
            if let Some(old) = &ctx.session {
                state.store.delete_session(&auth::token_digest(old)).await?;
            }
            let (token, _) = auth::open_session(&state, user).await?;
            let jar = jar.add(auth::session_cookie(token, state.config.security.tls));
            Ok((jar, Redirect::to("/my?done=registered_account")).into_response())
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &RegisterPage::new(&ctx, &input, Some(&e)),
        )),
        Err(e) => Err(e.into()),
    }
}

/// A form that carries nothing but its CSRF token (logout, confirmations).
#[derive(Debug, Deserialize, Default)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    pub(crate) csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    ctx: Ctx,
    jar: CookieJar,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    if let Some(token) = &ctx.session {
        state
            .store
            .delete_session(&auth::token_digest(token))
            .await?;
    }
    Ok((jar.add(auth::removal_cookie()), Redirect::to("/")).into_response())
}

// --- submitting ---------------------------------------------------------------------------

async fn choose_subcategory(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let catalogue = state.store.catalogue().await?;
    Ok(render(&ChoosePage {
        chrome: Chrome::new(&ctx, "Выберите тему"),
        categories: catalogue,
    }))
}

/// An id from the URL; anything that is not a number is a page that does not exist.
fn parse_id(raw: &str) -> Result<i64, PageError> {
    raw.parse::<i64>()
        .map_err(|_| PageError(AppError::not_found()))
}

async fn submit_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> PageResult {
    let id = parse_id(&id)?;
    ctx.require(Capability::Submit(SubmissionKind::Message))
        .map_err(citizens_only)?;
    let page = SubmitPage::build(
        &state,
        &ctx,
        SubcategoryId(id),
        &SubmitInput::default(),
        None,
    )
    .await?;
    Ok(render(&page))
}

async fn submit_post(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let id = parse_id(&id)?;
    let user = ctx.require_user()?.clone();
    state.limiter.submit(ip, user.id)?;
    let data =
        read_multipart(multipart.map_err(|_| AppError::bad_request("invalid_form"))?).await?;
    ctx.check_csrf(data.text("csrf"))?;
    let public = data.text("public") == "1";
    let data_intent = data.text("intent").to_owned();
    let input = SubmitInput {
        kind: data.text("kind").to_owned(),
        region: data.text("region").to_owned(),
        municipality: data.text("municipality").to_owned(),
        text: data.text("text").to_owned(),
        fields: data.prefixed(otklik_domain::form::FIELD_PREFIX),
        files: data.files,
        channel: otklik_domain::lifecycle::Channel::Portal,
        origin: None,
        public,
    };
    let subcategory = SubcategoryId(id);
    if data_intent == "similar" {
        let mut page = SubmitPage::build(&state, &ctx, subcategory, &input, None).await?;
        page.similar = Some(duplicates::similar_public(&state, subcategory, &input).await?);
        return Ok(render(&page).into_response());
    }
    match usecases::submit(
        state.store.as_ref(),
        &auth::principal_of(&user, None),
        subcategory,
        input.clone(),
        OffsetDateTime::now_utc(),
    )
    .await
    {
        Ok(registered) => Ok(Redirect::to(&format!(
            "/submissions/{}?done=registered",
            registered.id
        ))
        .into_response()),
        Err(e)
            if e.status == StatusCode::UNPROCESSABLE_ENTITY
                && e.field_code("subcategory_id").is_none() =>
        {
            let page = SubmitPage::build(&state, &ctx, subcategory, &input, Some(&e)).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) if e.field_code("subcategory_id").is_some() => Err(AppError::not_found().into()),
        // Not verified enough for an appeal: the form again, the reason at the choice.
        Err(e) if e.code.starts_with("verification_") => {
            let mut errors = otklik_domain::ValidationErrors::default();
            errors.push("kind", e.code);
            let shown = AppError {
                status: StatusCode::FORBIDDEN,
                ..AppError::validation(errors)
            };
            let page = SubmitPage::build(&state, &ctx, subcategory, &input, Some(&shown)).await?;
            Ok(render_status(StatusCode::FORBIDDEN, &page))
        }
        Err(e) => Err(e.into()),
    }
}

// --- lists --------------------------------------------------------------------------------

async fn my_list(
    state: State<AppState>,
    ctx: Ctx,
    filters: Result<Query<ListFilters>, QueryRejection>,
) -> PageResult {
    list_page(state, ctx, filters, ListKind::Mine).await
}

async fn inbox(
    state: State<AppState>,
    ctx: Ctx,
    filters: Result<Query<ListFilters>, QueryRejection>,
) -> PageResult {
    list_page(state, ctx, filters, ListKind::Inbox).await
}

async fn coordination(
    state: State<AppState>,
    ctx: Ctx,
    filters: Result<Query<ListFilters>, QueryRejection>,
) -> PageResult {
    list_page(state, ctx, filters, ListKind::Region).await
}

async fn operator_list(
    state: State<AppState>,
    ctx: Ctx,
    filters: Result<Query<ListFilters>, QueryRejection>,
) -> PageResult {
    list_page(state, ctx, filters, ListKind::All).await
}

async fn list_page(
    State(state): State<AppState>,
    ctx: Ctx,
    filters: Result<Query<ListFilters>, QueryRejection>,
    kind: ListKind,
) -> PageResult {
    let Query(filters) = filters.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = ctx.require(match kind {
        ListKind::Mine => Capability::ListOwn,
        ListKind::Inbox => Capability::ListOrganisation,
        ListKind::Region => Capability::ListRegion,
        ListKind::All => Capability::ListAll,
    })?;
    let now = OffsetDateTime::now_utc();
    let query = usecases::parse_filters(&filters, now)?;
    let scope = match kind {
        ListKind::Mine => otklik_store::Scope::Author(user.id),
        _ => usecases::scope_of(&auth::principal_of(user, None))?,
    };
    let page = state.store.list(scope, &query).await?;
    let catalogue = state.store.catalogue().await?;
    let mut list = ListPage::new(&ctx, kind, &filters, &query, page, &catalogue, now);
    if kind == ListKind::Mine {
        list.followed = state
            .store
            .followed(user.id)
            .await?
            .iter()
            .map(duplicates::PublicView::of)
            .collect();
    }
    Ok(render(&list))
}

// --- one submission -----------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct DetailQuery {
    #[serde(default)]
    done: Option<String>,
    /// An answer template to fill the answer with.
    #[serde(default)]
    template: Option<i64>,
}

async fn detail(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    q: Result<Query<DetailQuery>, QueryRejection>,
) -> PageResult {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let id = parse_id(&id)?;
    let user = ctx.require_user()?;
    let page = DetailPage::build(
        &state,
        &ctx,
        user,
        SubmissionId(id),
        q.done.as_deref(),
        None,
        q.template,
    )
    .await?;
    Ok(render(&page))
}

async fn receipt_download(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, index)): Path<(String, String)>,
) -> PageResult {
    let id = SubmissionId(parse_id(&id)?);
    let index = index.parse::<u64>().map_err(|_| AppError::not_found())?;
    let user = ctx.require_user()?;
    let receipt = state.store.receipt(id, index, auth::actor_of(user)).await?;
    Ok(crate::api::log::receipt_response(&receipt, id, index))
}

async fn act_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, action)): Path<(String, String)>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let id = parse_id(&id)?;
    let user = ctx.require_user()?.clone();
    // Every action form is multipart (answers carry files), so one decoder serves all.
    let data =
        read_multipart(multipart.map_err(|_| AppError::bad_request("invalid_form"))?).await?;
    ctx.check_csrf(data.text("csrf"))?;
    let name = usecases::action_from_url(&action);
    let input = ActInput {
        text: data.text("text").to_owned(),
        to_org: data.text("to_org").to_owned(),
        reason: data.text("reason").to_owned(),
        ground: data.text("ground").to_owned(),
        score: data.text("score").to_owned(),
        comment: data.text("comment").to_owned(),
        days: data.text("days").to_owned(),
        subcategory: data.text("subcategory").to_owned(),
        files: data.files,
    };
    let id = SubmissionId(id);
    let now = OffsetDateTime::now_utc();
    match usecases::act(
        state.store.as_ref(),
        &auth::principal_of(&user, None),
        id,
        &name,
        input.clone(),
        now,
    )
    .await
    {
        Ok(event) => {
            // After redirecting to another organisation, its official may no longer see it.
            let target = match state.store.submission(id, auth::actor_of(&user)).await {
                Ok(_) => format!("/submissions/{id}?done={}", event.kind),
                Err(otklik_store::StoreError::NotFound) => {
                    format!("{}?done={}", home_of(user.role), event.kind)
                }
                Err(e) => return Err(e.into()),
            };
            Ok(Redirect::to(&target).into_response())
        }
        Err(e)
            if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::CONFLICT =>
        {
            let failed = FailedAction {
                name,
                input,
                error: e.clone(),
            };
            let page = DetailPage::build(&state, &ctx, &user, id, None, Some(failed), None).await?;
            Ok(render_status(e.status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

async fn download(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let id = parse_id(&id)?;
    let user = ctx.require_user()?;
    let now = OffsetDateTime::now_utc();
    let file = usecases::download(
        state.store.as_ref(),
        &auth::principal_of(user, None),
        FileId(id),
        now,
    )
    .await?;
    Ok(file_response(file))
}

/// A stored file as a download: its stored type, never rendered inline by guesswork.
pub fn file_response(file: otklik_store::StoredFile) -> Response {
    let disposition = format!(
        "attachment; filename=\"file.{}\"; filename*=UTF-8''{}",
        otklik_domain::attachment::FileType::from_mime(&file.meta.mime)
            .map_or("bin", |t| t.extension()),
        forms::percent_encode(&file.meta.name)
    );
    (
        [
            (header::CONTENT_TYPE, file.meta.mime.clone()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        file.bytes,
    )
        .into_response()
}
