//! The embeddable widget: `GET /widget.js` for the host site, and the pages it shows in
//! its frame — sign-in (`/widget/{org}/login`), the choice of topic and the form
//! (`/widget/{org}`), the citizen's own submissions from that site (`/widget/{org}/my`),
//! and the organisation's open polls with their ballot form (`/widget/{org}/polls…`).
//!
//! Every widget page names the host site in `?origin=` (the script passes
//! `location.origin`); it must be one of the organisation's registered sites, and the
//! page's `Content-Security-Policy` allows exactly that site in `frame-ancestors`, so a
//! page elsewhere cannot show the form even by claiming a registered site's name. The
//! widget has its own session and CSRF cookies (`auth::WidgetCtx`); the portal's session
//! is never used here. See `docs/WIDGET.md`.

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FormRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::CookieJar;
use otklik_domain::access::Capability;
use otklik_domain::lifecycle::{Channel, SubmissionKind};
use otklik_domain::text::WidgetOrigin;
use otklik_domain::{OrgId, PollId, SubcategoryId, SubmissionId};
use otklik_store::{BallotChannel, Category, ListQuery, Organisation, PollFilter, PollRecord};
use serde::Deserialize;
use std::collections::BTreeSet;
use time::OffsetDateTime;

use super::forms::{read_multipart, FieldView, SummaryItem};
use super::polls::{self as poll_pages, PollSummary, QuestionView, StandingView, When};
use super::views::{remaining, SubmitPage};
use super::{render, render_status, CsrfForm, UPLOAD_LIMIT};
use crate::auth::{self, ClientIp, Ctx, WidgetCtx};
use crate::error::AppError;
use crate::polls as poll_usecases;
use crate::usecases::{self, SubmitInput};
use crate::{messages, AppState, Frameable};

/// The script a host site embeds, and that the widget's own pages load for Esc.
const SCRIPT: &str = include_str!("../../static/widget.js");

/// How many of the citizen's submissions from a site the widget lists (the portal has all).
const MY_LIMIT: u32 = 20;

/// How many of the organisation's open polls the widget lists.
const POLLS_LIMIT: u32 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/widget/{org}",
            get(start)
                .post(submit)
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/widget/{org}/login", get(login_form).post(login_submit))
        .route("/widget/{org}/logout", post(logout))
        .route("/widget/{org}/my", get(my))
        .route("/widget/{org}/polls", get(polls))
        .route("/widget/{org}/polls/{id}", get(poll))
        .route("/widget/{org}/polls/{id}/vote", post(vote))
}

/// The snippet an organisation's administrator pastes into a site.
pub fn snippet(platform: &str, org: OrgId) -> String {
    format!(r#"<script src="{platform}/widget.js" data-org="{org}" async></script>"#)
}

// --- the script -----------------------------------------------------------------------------

/// `GET /widget.js`: public, cacheable for an hour and revalidated by its `ETag`, loadable
/// from any site (no cookies are set or read).
pub async fn script(headers: HeaderMap) -> Response {
    let etag = script_etag();
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let common = [
        (header::CACHE_CONTROL, "public, max-age=3600"),
        (header::ETAG, etag),
        (
            header::HeaderName::from_static("cross-origin-resource-policy"),
            "cross-origin",
        ),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

/// A strong validator of the script: the first 16 bytes of its SHA-256, quoted.
fn script_etag() -> &'static str {
    use sha2::{Digest, Sha256};
    static ETAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ETAG.get_or_init(|| {
        let digest = Sha256::digest(SCRIPT.as_bytes());
        format!("\"{}\"", hex::encode(&digest[..16]))
    })
}

// --- the frame: which organisation, which host site ------------------------------------------

#[derive(Debug, Deserialize, Default)]
struct WidgetQuery {
    #[serde(default)]
    origin: Option<String>,
    /// The topic chosen (start page).
    #[serde(default)]
    subcategory: Option<String>,
    /// After sign-in: `my` for the list, `polls` for the polls, otherwise the start.
    #[serde(default)]
    next: Option<String>,
    /// After submitting: the new submission, confirmed above the list.
    #[serde(default)]
    registered: Option<String>,
}

/// The organisation and the registered host site a widget request is for.
struct Frame {
    org: Organisation,
    origin: WidgetOrigin,
}

impl Frame {
    /// `/widget/{org}{path}?origin=…[&extra]`.
    fn href(&self, path: &str, extra: &str) -> String {
        let origin: String =
            form_urlencoded::byte_serialize(self.origin.as_str().as_bytes()).collect();
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("&{extra}")
        };
        format!("/widget/{}{path}?origin={origin}{extra}", self.org.id)
    }

    /// The page may be framed by its host site only.
    fn respond(&self, response: impl IntoResponse) -> Response {
        frameable(response, self.origin.as_str())
    }

    fn redirect(&self, path: &str, extra: &str) -> Response {
        self.respond(Redirect::to(&self.href(path, extra)))
    }

    /// An error inside this frame.
    fn fail(&self, ctx: &Ctx, error: AppError) -> WidgetError {
        WidgetError {
            error,
            framed: Some(Box::new((
                self.chrome(ctx, ""),
                self.origin.as_str().to_owned(),
            ))),
        }
    }

    fn chrome(&self, ctx: &Ctx, title: &str) -> WidgetChrome {
        WidgetChrome {
            title: title.to_owned(),
            org_name: self.org.name.clone(),
            origin: self.origin.as_str().to_owned(),
            start: self.href("", ""),
            my: self.href("/my", ""),
            polls: self.href("/polls", ""),
            logout: self.href("/logout", ""),
            user_name: ctx.user.as_ref().map(|u| u.full_name.clone()),
            csrf: ctx.csrf.clone(),
        }
    }
}

/// The content policy of a widget page: the portal's, with `frame-ancestors` naming who
/// may frame it (`*` for error pages: they hold no form and no personal data).
fn frameable(response: impl IntoResponse, ancestors: &str) -> Response {
    let mut response = response.into_response();
    let policy = format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
         object-src 'none'; frame-ancestors {ancestors}; base-uri 'none'; form-action 'self'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
        response.extensions_mut().insert(Frameable);
    }
    response
}

/// The organisation of the path and the host site of the query, which must be one of the
/// organisation's registered sites.
async fn frame(state: &AppState, org: &str, origin: Option<&str>) -> Result<Frame, WidgetError> {
    let id = org
        .parse::<i64>()
        .map(OrgId)
        .map_err(|_| AppError::not_found())?;
    let org = state.store.organisation(id).await.map_err(AppError::from)?;
    let raw = origin
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .ok_or_else(|| AppError::bad_request("widget_origin_missing"))?;
    let not_registered = || AppError::new(StatusCode::FORBIDDEN, "widget_origin_not_registered");
    let origin = WidgetOrigin::parse(raw).map_err(|_| not_registered())?;
    let sites = state.store.widget_sites(id).await.map_err(AppError::from)?;
    if !sites.iter().any(|s| s.origin == origin.as_str()) {
        return Err(not_registered().into());
    }
    Ok(Frame { org, origin })
}

fn query(q: Result<Query<WidgetQuery>, QueryRejection>) -> Result<WidgetQuery, WidgetError> {
    q.map(|Query(q)| q)
        .map_err(|_| AppError::bad_request("invalid_form").into())
}

/// The topics the widget offers: the subcategories whose routing rules name the
/// organisation; when none do (a coordination centre, an organisation not yet in the
/// routing table), the whole catalogue, and routing decides.
async fn topics(state: &AppState, org: OrgId) -> Result<Vec<Category>, AppError> {
    let own: BTreeSet<SubcategoryId> = state
        .store
        .routes(None)
        .await?
        .into_iter()
        .filter(|r| r.org == org)
        .map(|r| r.subcategory)
        .collect();
    let catalogue = state.store.catalogue().await?;
    if own.is_empty() {
        return Ok(catalogue);
    }
    Ok(catalogue
        .into_iter()
        .filter_map(|mut c| {
            c.subcategories.retain(|s| own.contains(&s.id));
            (!c.subcategories.is_empty()).then_some(c)
        })
        .collect())
}

// --- errors -----------------------------------------------------------------------------------

/// An error shown inside the frame: a compact page with the status and a message in
/// Russian. Before the frame is known (an unknown organisation, an unregistered site) any
/// site may frame it (it holds no form and no personal data), so that whoever embeds the
/// widget wrongly sees why it refuses; within a known frame it keeps the frame's layout
/// (navigation, sign-out) and only its site may frame it.
struct WidgetError {
    error: AppError,
    /// The layout of the frame it happened in and that frame's site.
    framed: Option<Box<(WidgetChrome, String)>>,
}

impl From<AppError> for WidgetError {
    fn from(error: AppError) -> Self {
        Self {
            error,
            framed: None,
        }
    }
}

#[derive(Template)]
#[template(path = "widget_error.html")]
struct ErrorPage {
    chrome: WidgetChrome,
    status: u16,
    message: &'static str,
}

impl IntoResponse for WidgetError {
    fn into_response(self) -> Response {
        let title = match self.error.status {
            StatusCode::NOT_FOUND => "Не найдено",
            StatusCode::FORBIDDEN => "Доступ запрещён",
            StatusCode::PAYLOAD_TOO_LARGE => "Слишком большой запрос",
            StatusCode::TOO_MANY_REQUESTS => "Слишком много попыток",
            s if s.is_server_error() => "Ошибка сервера",
            _ => "Ошибка",
        };
        let (chrome, ancestors) = match self.framed.map(|f| *f) {
            Some((mut chrome, origin)) => {
                title.clone_into(&mut chrome.title);
                (chrome, origin)
            }
            None => (WidgetChrome::bare(title), "*".to_owned()),
        };
        let page = ErrorPage {
            chrome,
            status: self.error.status.as_u16(),
            message: widget_message(self.error.code),
        };
        let mut response = render(&page);
        if response.status() == StatusCode::OK {
            *response.status_mut() = self.error.status;
        }
        crate::error::add_retry_after(&mut response, self.error.retry_after);
        frameable(response, &ancestors)
    }
}

/// Messages of the widget's own refusals; the portal's for everything else.
fn widget_message(code: &str) -> &'static str {
    match code {
        "widget_origin_missing" => {
            "Не указан сайт, на котором размещена форма. Разместите форму кодом со страницы \
             организации на портале «Отклик»: он передаёт адрес сайта сам."
        }
        "widget_origin_not_registered" => {
            "Этот сайт не подключён к форме обратной связи организации. Администратор \
             организации может добавить его на портале «Отклик» в разделе «Сайты с формой \
             обратной связи»."
        }
        "citizens_only" | "forbidden" => {
            "Через форму на сайте сообщения отправляют и голосуют граждане. Войдите под учётной \
             записью гражданина."
        }
        other => messages::error(other),
    }
}

// --- view models --------------------------------------------------------------------------------

/// What the widget's layout needs on every page.
struct WidgetChrome {
    title: String,
    org_name: String,
    /// The host site, for the frame's script (Esc closes the dialog there).
    origin: String,
    start: String,
    my: String,
    polls: String,
    logout: String,
    user_name: Option<String>,
    csrf: String,
}

impl WidgetChrome {
    /// For error pages: no organisation or site known, nobody shown as signed in.
    fn bare(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            org_name: "Отклик".to_owned(),
            origin: String::new(),
            start: String::new(),
            my: String::new(),
            polls: String::new(),
            logout: String::new(),
            user_name: None,
            csrf: String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "widget_login.html")]
struct LoginPage {
    chrome: WidgetChrome,
    action: String,
    fields: Vec<FieldView>,
    error: Option<&'static str>,
    /// The identity provider's name, when one is configured.
    provider: Option<String>,
}

impl LoginPage {
    fn new(
        state: &AppState,
        frame: &Frame,
        ctx: &Ctx,
        next: &str,
        email: &str,
        error: Option<&'static str>,
    ) -> Self {
        Self {
            chrome: frame.chrome(ctx, "Вход"),
            action: frame.href("/login", next),
            fields: vec![
                FieldView::new("email", "Электронная почта", "email")
                    .value(email)
                    .required()
                    .autocomplete("username"),
                FieldView::new("password", "Пароль", "password")
                    .required()
                    .autocomplete("current-password"),
            ],
            error,
            provider: state.oidc.as_ref().map(|p| p.display_name().to_owned()),
        }
    }
}

struct TopicLink {
    href: String,
    name: String,
}

struct TopicGroup {
    name: String,
    topics: Vec<TopicLink>,
}

#[derive(Template)]
#[template(path = "widget_choose.html")]
struct ChoosePage {
    chrome: WidgetChrome,
    groups: Vec<TopicGroup>,
    region_name: Option<String>,
}

#[derive(Template)]
#[template(path = "widget_form.html")]
struct FormPage {
    chrome: WidgetChrome,
    action: String,
    subcategory: i64,
    category_name: String,
    subcategory_name: String,
    /// Back to the choice of topic, when there is a choice.
    back: Option<String>,
    kind: FieldView,
    kinds: Vec<(String, String, String)>,
    fields: Vec<FieldView>,
    photo_required: bool,
    attachments_error: Option<&'static str>,
    summary: Vec<SummaryItem>,
}

impl FormPage {
    async fn build(
        state: &AppState,
        frame: &Frame,
        ctx: &Ctx,
        subcategory: SubcategoryId,
        input: &SubmitInput,
        error: Option<&AppError>,
        back: bool,
    ) -> Result<Self, AppError> {
        let form = SubmitPage::build(state, ctx, subcategory, input, error).await?;
        let title = if form.summary.is_empty() {
            form.subcategory_name.clone()
        } else {
            format!("Ошибка: {}", form.subcategory_name)
        };
        Ok(Self {
            chrome: frame.chrome(ctx, &title),
            action: frame.href("", ""),
            subcategory: subcategory.0,
            category_name: form.category_name,
            subcategory_name: form.subcategory_name,
            back: back.then(|| frame.href("", "")),
            kind: form.kind,
            kinds: form.kinds,
            fields: form.fields,
            photo_required: form.photo_required,
            attachments_error: form.attachments_error,
            summary: form.summary,
        })
    }
}

/// The organisation's region and municipality, preset in the form.
fn preset(org: &Organisation) -> SubmitInput {
    SubmitInput {
        region: org.region.map(|r| r.to_string()).unwrap_or_default(),
        municipality: org.municipality.map(|m| m.to_string()).unwrap_or_default(),
        ..SubmitInput::default()
    }
}

struct MyCard {
    number: String,
    href: String,
    topic: String,
    status: &'static str,
    status_code: &'static str,
    org_name: String,
    created: String,
    deadline: String,
    remaining: String,
    overdue: bool,
}

/// The confirmation after submitting.
struct Registered {
    number: String,
    href: String,
    org_name: String,
    deadline: String,
}

#[derive(Template)]
#[template(path = "widget_my.html")]
struct MyPage {
    chrome: WidgetChrome,
    registered: Option<Registered>,
    cards: Vec<MyCard>,
    /// More than the widget lists: the portal has them all.
    more: bool,
}

// --- handlers ------------------------------------------------------------------------------------

type WidgetResult = Result<Response, WidgetError>;

/// Staff may sign in, but sending is a citizen's act.
fn citizens_only(e: AppError) -> AppError {
    if e.code == "forbidden" {
        AppError::new(StatusCode::FORBIDDEN, "citizens_only")
    } else {
        e
    }
}

/// `GET /widget/{org}`: the choice of topic, or with `subcategory` the form; signed out,
/// the widget's sign-in.
async fn start(
    State(state): State<AppState>,
    WidgetCtx(ctx): WidgetCtx,
    Path(org): Path<String>,
    q: Result<Query<WidgetQuery>, QueryRejection>,
) -> WidgetResult {
    let q = query(q)?;
    let frame = frame(&state, &org, q.origin.as_deref()).await?;
    start_in(&state, &frame, &ctx, &q)
        .await
        .map_err(|e| frame.fail(&ctx, e))
}

async fn start_in(
    state: &AppState,
    frame: &Frame,
    ctx: &Ctx,
    q: &WidgetQuery,
) -> Result<Response, AppError> {
    if ctx.user.is_none() {
        return Ok(frame.redirect("/login", ""));
    }
    ctx.require(Capability::Submit(SubmissionKind::Message))
        .map_err(citizens_only)?;
    let topics = topics(state, frame.org.id).await?;
    let offered: Vec<SubcategoryId> = topics
        .iter()
        .flat_map(|c| c.subcategories.iter().map(|s| s.id))
        .collect();
    let chosen = match (q.subcategory.as_deref().map(str::trim), offered.as_slice()) {
        (Some(raw), _) => Some(
            raw.parse::<i64>()
                .ok()
                .map(SubcategoryId)
                .filter(|id| offered.contains(id))
                .ok_or_else(AppError::not_found)?,
        ),
        (None, [only]) => Some(*only),
        (None, _) => None,
    };
    if let Some(subcategory) = chosen {
        let page = FormPage::build(
            state,
            frame,
            ctx,
            subcategory,
            &preset(&frame.org),
            None,
            offered.len() > 1,
        )
        .await?;
        return Ok(frame.respond(render(&page)));
    }
    let region_name = match frame.org.region {
        Some(id) => state
            .store
            .regions()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .map(|r| r.name),
        None => None,
    };
    let page = ChoosePage {
        chrome: frame.chrome(ctx, "Выберите тему"),
        groups: topics
            .into_iter()
            .map(|c| TopicGroup {
                name: c.name,
                topics: c
                    .subcategories
                    .into_iter()
                    .map(|s| TopicLink {
                        href: frame.href("", &format!("subcategory={}", s.id)),
                        name: s.name,
                    })
                    .collect(),
            })
            .collect(),
        region_name,
    };
    Ok(frame.respond(render(&page)))
}

/// `POST /widget/{org}`: registers the submission with channel `widget` and the host site.
async fn submit(
    State(state): State<AppState>,
    WidgetCtx(ctx): WidgetCtx,
    ClientIp(ip): ClientIp,
    Path(org): Path<String>,
    q: Result<Query<WidgetQuery>, QueryRejection>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> WidgetResult {
    let q = query(q)?;
    let frame = frame(&state, &org, q.origin.as_deref()).await?;
    submit_in(&state, &frame, &ctx, ip, multipart)
        .await
        .map_err(|e| frame.fail(&ctx, e))
}

async fn submit_in(
    state: &AppState,
    frame: &Frame,
    ctx: &Ctx,
    ip: std::net::IpAddr,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(frame.redirect("/login", ""));
    };
    state.limiter.submit(ip, user.id)?;
    let data =
        read_multipart(multipart.map_err(|_| AppError::bad_request("invalid_form"))?).await?;
    ctx.check_csrf(data.text("csrf"))?;
    let topics = topics(state, frame.org.id).await?;
    let offered: Vec<SubcategoryId> = topics
        .iter()
        .flat_map(|c| c.subcategories.iter().map(|s| s.id))
        .collect();
    let subcategory = data
        .text("subcategory")
        .trim()
        .parse::<i64>()
        .ok()
        .map(SubcategoryId)
        .filter(|id| offered.contains(id))
        .ok_or_else(AppError::not_found)?;
    let input = SubmitInput {
        kind: data.text("kind").to_owned(),
        region: data.text("region").to_owned(),
        municipality: data.text("municipality").to_owned(),
        text: data.text("text").to_owned(),
        fields: data.prefixed(otklik_domain::form::FIELD_PREFIX),
        files: data.files,
        channel: Channel::Widget,
        origin: Some(frame.origin.clone()),
        public: false,
    };
    let back = offered.len() > 1;
    match usecases::submit(
        state.store.as_ref(),
        &auth::principal_of(&user, None),
        subcategory,
        input.clone(),
        OffsetDateTime::now_utc(),
    )
    .await
    {
        Ok(registered) => Ok(frame.redirect("/my", &format!("registered={}", registered.id))),
        Err(e) if e.field_code("subcategory_id").is_some() => Err(AppError::not_found()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let page =
                FormPage::build(state, frame, ctx, subcategory, &input, Some(&e), back).await?;
            Ok(frame.respond((StatusCode::UNPROCESSABLE_ENTITY, render(&page))))
        }
        // Not verified enough for an appeal: the form again, the reason at the choice.
        Err(e) if e.code.starts_with("verification_") => {
            let mut errors = otklik_domain::ValidationErrors::default();
            errors.push("kind", e.code);
            let shown = AppError {
                status: StatusCode::FORBIDDEN,
                ..AppError::validation(errors)
            };
            let page =
                FormPage::build(state, frame, ctx, subcategory, &input, Some(&shown), back).await?;
            Ok(frame.respond((StatusCode::FORBIDDEN, render(&page))))
        }
        Err(e) => Err(e),
    }
}

/// Where to go after signing in: the list, the polls, or the start.
fn next_of(q: &WidgetQuery) -> (&'static str, &'static str) {
    match q.next.as_deref() {
        Some("my") => ("/my", "next=my"),
        Some("polls") => ("/polls", "next=polls"),
        _ => ("", ""),
    }
}

async fn login_form(
    State(state): State<AppState>,
    WidgetCtx(ctx): WidgetCtx,
    Path(org): Path<String>,
    q: Result<Query<WidgetQuery>, QueryRejection>,
) -> WidgetResult {
    let q = query(q)?;
    let frame = frame(&state, &org, q.origin.as_deref()).await?;
    let (path, next) = next_of(&q);
    if ctx.user.is_some() {
        return Ok(frame.redirect(path, ""));
    }
    let page = LoginPage::new(&state, &frame, &ctx, next, "", None);
    Ok(frame.respond(render(&page)))
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

/// Signs in with e-mail and password (the portal's login: lockout and rate limits) and
/// opens a widget session.
async fn login_submit(
    State(state): State<AppState>,
    WidgetCtx(ctx): WidgetCtx,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Path(org): Path<String>,
    q: Result<Query<WidgetQuery>, QueryRejection>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> WidgetResult {
    let q = query(q)?;
    let frame = frame(&state, &org, q.origin.as_deref()).await?;
    login_submit_in(&state, &frame, &ctx, &q, ip, jar, form)
        .await
        .map_err(|e| frame.fail(&ctx, e))
}

async fn login_submit_in(
    state: &AppState,
    frame: &Frame,
    ctx: &Ctx,
    q: &WidgetQuery,
    ip: std::net::IpAddr,
    jar: CookieJar,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, AppError> {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    let (path, next) = next_of(q);
    match auth::login(state, ip, &form.email, &form.password).await {
        Ok((_, token, _)) => {
            if let Some(old) = &ctx.session {
                state.store.delete_session(&auth::token_digest(old)).await?;
            }
            let tls = state.config.security.tls;
            let cookie = auth::widget_cookie(
                auth::WIDGET_SESSION_COOKIE,
                token,
                tls,
                auth::SESSION_LIFETIME,
            );
            Ok(frame.respond((jar.add(cookie), Redirect::to(&frame.href(path, "")))))
        }
        Err(e) if e.code == "invalid_credentials" || e.status == StatusCode::TOO_MANY_REQUESTS => {
            let page = LoginPage::new(
                state,
                frame,
                ctx,
                next,
                &form.email,
                Some(messages::error(e.code)),
            );
            let mut response = render(&page);
            *response.status_mut() = e.status;
            crate::error::add_retry_after(&mut response, e.retry_after);
            Ok(frame.respond(response))
        }
        Err(e) => Err(e),
    }
}

/// Ends the widget session (the portal's, if any, is another session and stays).
async fn logout(
    State(state): State<AppState>,
    WidgetCtx(ctx): WidgetCtx,
    jar: CookieJar,
    Path(org): Path<String>,
    q: Result<Query<WidgetQuery>, QueryRejection>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> WidgetResult {
    let q = query(q)?;
    let frame = frame(&state, &org, q.origin.as_deref()).await?;
    logout_in(&state, &frame, &ctx, jar, form)
        .await
        .map_err(|e| frame.fail(&ctx, e))
}

async fn logout_in(
    state: &AppState,
    frame: &Frame,
    ctx: &Ctx,
    jar: CookieJar,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, AppError> {
    let Some(token) = &ctx.session else {
        // Nobody to sign out: the sign-in page.
        return Ok(frame.redirect("/login", ""));
    };
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    ctx.check_csrf(&form.csrf)?;
    state
        .store
        .delete_session(&auth::token_digest(token))
        .await?;
    let jar = jar.add(auth::widget_removal_cookie(state.config.security.tls));
    Ok(frame.respond((jar, Redirect::to(&frame.href("/login", "")))))
}

/// `GET /widget/{org}/my`: what the citizen sent through the widget from this site, with
/// status and deadline; after submitting, the confirmation with the registration number.
async fn my(
    State(state): State<AppState>,
    WidgetCtx(ctx): WidgetCtx,
    Path(org): Path<String>,
    q: Result<Query<WidgetQuery>, QueryRejection>,
) -> WidgetResult {
    let q = query(q)?;
    let frame = frame(&state, &org, q.origin.as_deref()).await?;
    my_in(&state, &frame, &ctx, &q)
        .await
        .map_err(|e| frame.fail(&ctx, e))
}

async fn my_in(
    state: &AppState,
    frame: &Frame,
    ctx: &Ctx,
    q: &WidgetQuery,
) -> Result<Response, AppError> {
    if ctx.user.is_none() {
        return Ok(frame.redirect("/login", "next=my"));
    }
    let user = ctx.require(Capability::ListOwn).map_err(citizens_only)?;
    let now = OffsetDateTime::now_utc();
    let principal = auth::principal_of(user, None);
    let registered = match q
        .registered
        .as_deref()
        .and_then(|r| r.trim().parse::<i64>().ok())
    {
        Some(id) => {
            match usecases::view(state.store.as_ref(), &principal, SubmissionId(id), now).await {
                Ok(d) => {
                    let org = state.store.organisation(d.org).await?;
                    Some(Registered {
                        number: d.number.to_string(),
                        href: format!("/submissions/{}", d.id),
                        org_name: d.org_name,
                        deadline: messages::date(d.deadline_at, org.utc_offset_minutes),
                    })
                }
                // Not theirs, or gone: no confirmation, the list as usual.
                Err(e)
                    if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::FORBIDDEN =>
                {
                    None
                }
                Err(e) => return Err(e),
            }
        }
        None => None,
    };
    let query = ListQuery {
        channel: Some(Channel::Widget),
        origin: Some(frame.origin.as_str().to_owned()),
        limit: MY_LIMIT,
        ..ListQuery::new(now)
    };
    let page = state
        .store
        .list(otklik_store::Scope::Author(user.id), &query)
        .await?;
    let more = page.total > page.items.len() as u64 || !page.total_exact;
    let cards = page
        .items
        .iter()
        .map(|c| MyCard {
            number: c.number.to_string(),
            href: format!("/submissions/{}", c.id),
            topic: format!("{} → {}", c.category_name, c.subcategory_name),
            status: messages::status(c.status),
            status_code: c.status.as_str(),
            org_name: c.org_name.clone(),
            created: messages::datetime(c.created_at),
            deadline: messages::date(c.deadline_at, c.org_utc_offset_minutes),
            remaining: remaining(c.status, c.deadline_at, now),
            overdue: c.status.clock_runs() && c.deadline_at < now,
        })
        .collect();
    let title = if registered.is_some() {
        "Сообщение зарегистрировано"
    } else {
        "Мои сообщения с этого сайта"
    };
    let page = MyPage {
        chrome: frame.chrome(ctx, title),
        registered,
        cards,
        more,
    };
    Ok(frame.respond(render(&page)))
}

// --- polls ------------------------------------------------------------------------------------------

/// One open poll in the widget's list.
struct PollLink {
    href: String,
    title: String,
    kind: &'static str,
    closes: When,
}

#[derive(Template)]
#[template(path = "widget_polls.html")]
struct PollsPage {
    chrome: WidgetChrome,
    polls: Vec<PollLink>,
    /// The widget's sign-in, for a visitor.
    login: Option<String>,
}

/// A poll in the frame: its ballot form, or where the person stands; after voting, the
/// ballot id (shown in the page once, never put in a URL).
#[derive(Template)]
#[template(path = "widget_poll.html")]
struct PollPage {
    chrome: WidgetChrome,
    /// Back to the list.
    back: String,
    /// Where the ballot form posts.
    action: String,
    poll: PollSummary,
    standing: StandingView,
    questions: Vec<QuestionView>,
    /// The widget's sign-in, for a visitor.
    login: Option<String>,
    summary_title: &'static str,
    summary: Vec<SummaryItem>,
    ballot_id: Option<String>,
}

/// `GET /widget/{org}/polls`: the organisation's polls open now. Public, as on the portal;
/// a visitor is offered the widget's sign-in.
async fn polls(
    State(state): State<AppState>,
    WidgetCtx(ctx): WidgetCtx,
    Path(org): Path<String>,
    q: Result<Query<WidgetQuery>, QueryRejection>,
) -> WidgetResult {
    let q = query(q)?;
    let frame = frame(&state, &org, q.origin.as_deref()).await?;
    polls_in(&state, &frame, &ctx)
        .await
        .map_err(|e| frame.fail(&ctx, e))
}

async fn polls_in(state: &AppState, frame: &Frame, ctx: &Ctx) -> Result<Response, AppError> {
    let now = OffsetDateTime::now_utc();
    let filter = PollFilter {
        org: Some(Some(frame.org.id)),
        open_at: Some(now),
        ..PollFilter::default()
    };
    let polls = state.store.polls(filter, POLLS_LIMIT).await?;
    let page = PollsPage {
        chrome: frame.chrome(ctx, "Опросы"),
        polls: polls
            .iter()
            .map(|p| {
                let card = poll_pages::card(p, now);
                PollLink {
                    href: frame.href(&format!("/polls/{}", card.id), ""),
                    title: card.title,
                    kind: card.kind,
                    closes: card.closes,
                }
            })
            .collect(),
        login: ctx
            .user
            .is_none()
            .then(|| frame.href("/login", "next=polls")),
    };
    Ok(frame.respond(render(&page)))
}

/// A poll of the frame's organisation (any other, or none, does not exist here).
async fn own_poll(
    state: &AppState,
    frame: &Frame,
    ctx: &Ctx,
    raw: &str,
) -> Result<PollRecord, AppError> {
    let id = raw
        .trim()
        .parse::<i64>()
        .map(PollId)
        .map_err(|_| AppError::not_found())?;
    let poll = poll_usecases::visible(state, ctx.user.as_ref(), id).await?;
    if poll.org != Some(frame.org.id) {
        return Err(AppError::not_found());
    }
    Ok(poll)
}

/// The poll page in the frame, with the answers given and why they were refused.
async fn poll_page(
    state: &AppState,
    frame: &Frame,
    ctx: &Ctx,
    poll: &PollRecord,
    answers: &[(String, String)],
    error: Option<&AppError>,
) -> Result<PollPage, AppError> {
    let now = OffsetDateTime::now_utc();
    let user = ctx.user.as_ref();
    let standing = poll_usecases::standing(state, user, poll, now).await?;
    let summary_view = poll_pages::summary_of(state, poll, now).await?;
    let standing = poll_pages::standing_view(&standing, &summary_view, user.is_none());
    let mut questions = poll_pages::question_views(poll, answers, error);
    // The portal's ballot markup shows each project's photos once they are attached.
    let photos = poll_pages::option_photo_imgs(state, poll).await?;
    poll_pages::attach_photos(&mut questions, photos);
    let summary = poll_pages::ballot_summary(&questions, error, widget_message);
    let title = if summary.is_empty() {
        poll.title.clone()
    } else {
        format!("Ошибка: {}", poll.title)
    };
    Ok(PollPage {
        chrome: frame.chrome(ctx, &title),
        back: frame.href("/polls", ""),
        action: frame.href(&format!("/polls/{}/vote", poll.id.0), ""),
        login: standing.login.then(|| frame.href("/login", "next=polls")),
        poll: summary_view,
        standing,
        questions,
        summary_title: "Голос не принят",
        summary,
        ballot_id: None,
    })
}

/// `GET /widget/{org}/polls/{id}`: the poll with the ballot form when the person may
/// vote, else where they stand; public, as on the portal.
async fn poll(
    State(state): State<AppState>,
    WidgetCtx(ctx): WidgetCtx,
    Path((org, id)): Path<(String, String)>,
    q: Result<Query<WidgetQuery>, QueryRejection>,
) -> WidgetResult {
    let q = query(q)?;
    let frame = frame(&state, &org, q.origin.as_deref()).await?;
    poll_in(&state, &frame, &ctx, &id)
        .await
        .map_err(|e| frame.fail(&ctx, e))
}

async fn poll_in(
    state: &AppState,
    frame: &Frame,
    ctx: &Ctx,
    id: &str,
) -> Result<Response, AppError> {
    let poll = own_poll(state, frame, ctx, id).await?;
    let page = poll_page(state, frame, ctx, &poll, &[], None).await?;
    Ok(frame.respond(render(&page)))
}

/// `POST /widget/{org}/polls/{id}/vote`: casts the ballot with channel `widget`; the
/// ballot id is shown in the frame, or the form again with the errors.
async fn vote(
    State(state): State<AppState>,
    WidgetCtx(ctx): WidgetCtx,
    Path((org, id)): Path<(String, String)>,
    q: Result<Query<WidgetQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> WidgetResult {
    let q = query(q)?;
    let frame = frame(&state, &org, q.origin.as_deref()).await?;
    vote_in(&state, &frame, &ctx, &id, body)
        .await
        .map_err(|e| frame.fail(&ctx, e))
}

async fn vote_in(
    state: &AppState,
    frame: &Frame,
    ctx: &Ctx,
    id: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(frame.redirect("/login", "next=polls"));
    };
    let body = body.map_err(|_| AppError::bad_request("invalid_form"))?;
    // Checkboxes repeat a name, which `Form` cannot gather; parse the pairs directly.
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    ctx.check_csrf(poll_pages::first_value(&pairs, "csrf"))?;
    // Staff never vote: refused before the poll is looked up, as on the portal.
    ctx.require(Capability::Vote).map_err(citizens_only)?;
    let poll = own_poll(state, frame, ctx, id).await?;
    let answers = poll_pages::raw_answers(&poll, &pairs);
    let now = OffsetDateTime::now_utc();
    match poll_usecases::vote(state, &user, poll.id, &answers, BallotChannel::Widget, now).await {
        // Shown in the page (not redirected to): the ballot id never ends up in a URL.
        Ok((ballot_id, _)) => {
            let mut page = poll_page(state, frame, ctx, &poll, &[], None).await?;
            page.chrome = frame.chrome(ctx, "Ваш голос принят");
            page.ballot_id = Some(ballot_id.as_str().to_owned());
            Ok(frame.respond(render(&page)))
        }
        Err(e)
            if matches!(
                e.status,
                StatusCode::UNPROCESSABLE_ENTITY
                    | StatusCode::CONFLICT
                    | StatusCode::FORBIDDEN
                    | StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::SERVICE_UNAVAILABLE
            ) =>
        {
            let page = poll_page(state, frame, ctx, &poll, &pairs, Some(&e)).await?;
            let mut response = render_status(e.status, &page);
            crate::error::add_retry_after(&mut response, e.retry_after);
            Ok(frame.respond(response))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippet_names_the_platform_and_the_organisation() {
        assert_eq!(
            snippet("https://otklik.example", OrgId(7)),
            r#"<script src="https://otklik.example/widget.js" data-org="7" async></script>"#
        );
    }

    #[test]
    fn the_script_is_small_and_its_etag_is_stable() {
        assert!(
            SCRIPT.len() < 10 * 1024,
            "widget.js is {} bytes",
            SCRIPT.len()
        );
        assert_eq!(script_etag(), script_etag());
        assert!(script_etag().starts_with('"') && script_etag().len() == 34);
    }

    #[test]
    fn widget_paths_are_the_frames_not_the_script() {
        assert!(auth::is_widget_path("/widget/5"));
        assert!(auth::is_widget_path("/widget/5/my"));
        assert!(!auth::is_widget_path("/widget.js"));
        assert!(!auth::is_widget_path("/widgets/5"));
        assert!(!auth::is_widget_path("/"));
    }
}
