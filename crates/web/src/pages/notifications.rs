//! The notification centre of the personal account, each person's notification
//! settings, and the links that act without signing in: one-click unsubscribe (RFC 8058:
//! a mail client POSTs to the same address) and the image that counts a campaign
//! message as opened.

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use otklik_domain::access::Capability;
use otklik_domain::lifecycle::Role;
use otklik_domain::notify::{Channel, Delivery, NotificationKind, PhoneNumber, Readers};
use otklik_domain::{NotificationId, ValidationErrors};
use otklik_notify::templates::Templates;
use otklik_notify::tokens::{self, Unsubscribe};
use otklik_store::NotificationSettings;
use serde::Deserialize;
use time::OffsetDateTime;

use super::views::Chrome;
use super::{render, render_status, PageResult};
use crate::auth::Ctx;
use crate::error::AppError;
use crate::AppState;

const PAGE: u32 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/notifications", get(centre))
        .route("/account/notifications/read", post(mark_read))
        .route(
            "/account/notifications/settings",
            get(settings_form).post(settings_save),
        )
        .route("/account/notifications/home", post(home_save))
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe_form).post(unsubscribe),
        )
        .route("/n/open/{token}", get(opened))
}

/// One entry of the centre as shown.
pub struct Entry {
    pub id: i64,
    pub kind: &'static str,
    pub subject: String,
    pub at: String,
    pub link: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct CentrePage {
    chrome: Chrome,
    entries: Vec<Entry>,
    total: u64,
    unread: u64,
    page: u32,
    pages: u32,
}

#[derive(Deserialize, Default)]
struct CentreQuery {
    page: Option<u32>,
}

/// The subjects and links of a person's notifications, with the templates in force.
pub async fn entries(
    state: &AppState,
    items: &[otklik_store::NotificationRecord],
    base: &str,
) -> Result<Vec<Entry>, AppError> {
    let templates = Templates::new(state.store.notification_templates().await?);
    Ok(items
        .iter()
        .map(|n| Entry {
            id: n.id.0,
            kind: crate::messages::notification_kind(n.kind),
            subject: crate::api::notifications::subject_of(&templates, n, base),
            at: crate::messages::datetime(n.created_at),
            link: match (n.submission, n.vars.get("path").and_then(|p| p.as_str())) {
                (Some(id), _) => format!("/submissions/{}", id.0),
                (None, Some(path)) if path.starts_with('/') => path.to_owned(),
                (None, _) => "/account/notifications".to_owned(),
            },
            unread: n.read_at.is_none(),
        })
        .collect())
}

async fn centre(
    State(state): State<AppState>,
    ctx: Ctx,
    query: Result<Query<CentreQuery>, QueryRejection>,
) -> PageResult {
    let user = ctx.require(Capability::OwnAccount)?;
    let page = query
        .map(|Query(q)| q.page.unwrap_or(1))
        .unwrap_or(1)
        .clamp(1, 10_000);
    let found = state
        .store
        .notifications(user.id, PAGE, (page - 1) * PAGE)
        .await?;
    let entries = entries(&state, &found.items, &ctx.platform).await?;
    let pages = u32::try_from(found.total.div_ceil(u64::from(PAGE)))
        .unwrap_or(u32::MAX)
        .max(1);
    Ok(render(&CentrePage {
        chrome: Chrome::new(&ctx, "Уведомления"),
        entries,
        total: found.total,
        unread: found.unread,
        page,
        pages,
    }))
}

#[derive(Deserialize)]
struct ReadForm {
    csrf: String,
    /// One notification; none: all of them.
    id: Option<String>,
}

async fn mark_read(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Result<Form<ReadForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = ctx.require(Capability::OwnAccount)?.id;
    ctx.check_csrf(&form.csrf)?;
    let ids = match form.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => Some(vec![NotificationId(
            id.parse()
                .map_err(|_| AppError::bad_request("invalid_form"))?,
        )]),
        None => None,
    };
    state
        .store
        .mark_read(user, ids.as_deref(), OffsetDateTime::now_utc())
        .await?;
    Ok(Redirect::to("/account/notifications").into_response())
}

/// One kind's row of the settings form.
pub struct KindRow {
    pub kind: &'static str,
    pub label: &'static str,
    pub email: &'static str,
    pub gateway: &'static str,
}

#[derive(Template)]
#[template(path = "notification_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    rows: Vec<KindRow>,
    email_options: Vec<(&'static str, &'static str)>,
    gateway_options: Vec<(&'static str, &'static str)>,
    phone: String,
    phone_error: Option<&'static str>,
    email_deliverable: bool,
    campaigns: bool,
    show_campaigns: bool,
    saved: bool,
    /// Where the person lives (citizens): the choices and the current values.
    place: Option<Place>,
    /// A failed form's error: the element it links to and the message.
    error: Option<(String, &'static str)>,
    /// The name of the invalid select, if the error is at one.
    invalid: String,
}

pub struct Place {
    pub regions: Vec<(String, String)>,
    pub municipalities: Vec<(String, String)>,
    pub region: String,
    pub municipality: String,
    pub error: Option<&'static str>,
    pub saved: bool,
}

impl Place {
    /// The place as the store holds it, with the choices of its region.
    async fn load(
        state: &AppState,
        settings: &NotificationSettings,
        error: Option<&'static str>,
        saved: bool,
    ) -> Result<Self, AppError> {
        let regions = state.store.regions().await?;
        let municipalities = match settings.home_region {
            Some(region) => state.store.municipalities(region).await?,
            None => Vec::new(),
        };
        Ok(Self {
            regions: regions
                .into_iter()
                .map(|r| (r.id.to_string(), r.name))
                .collect(),
            municipalities: municipalities
                .into_iter()
                .map(|m| (m.id.to_string(), m.name))
                .collect(),
            region: settings
                .home_region
                .map(|r| r.to_string())
                .unwrap_or_default(),
            municipality: settings
                .home_municipality
                .map(|m| m.to_string())
                .unwrap_or_default(),
            error,
            saved,
        })
    }
}

/// The kinds a person sees in their settings: citizens' for citizens, staff kinds for
/// officials.
pub(super) fn kinds_for(role: Role) -> Vec<NotificationKind> {
    let readers = match role {
        Role::Citizen => Some(Readers::Citizens),
        Role::Official(_) => Some(Readers::Staff),
        _ => None,
    };
    NotificationKind::ALL
        .into_iter()
        .filter(|k| readers.is_none_or(|r| k.readers() == r || k.readers() == Readers::Everyone))
        // Nothing sends this until polls exist: not offered.
        .filter(|k| *k != NotificationKind::PollResult)
        .collect()
}

fn options(channel: Channel) -> Vec<(&'static str, &'static str)> {
    let mut all = vec![Delivery::Immediate, Delivery::Digest, Delivery::Off];
    if channel != Channel::Email {
        all.retain(|d| *d != Delivery::Digest);
    }
    all.into_iter()
        .map(|d| (d.as_str(), crate::messages::delivery(d)))
        .collect()
}

fn settings_page(
    ctx: &Ctx,
    role: Role,
    settings: &NotificationSettings,
    phone: String,
    phone_error: Option<&'static str>,
    saved: bool,
) -> SettingsPage {
    SettingsPage {
        chrome: Chrome::new(ctx, "Настройка уведомлений"),
        rows: kinds_for(role)
            .into_iter()
            .map(|kind| KindRow {
                kind: kind.as_str(),
                label: crate::messages::notification_kind(kind),
                email: settings.delivery(kind, Channel::Email).as_str(),
                gateway: settings.delivery(kind, Channel::Gateway).as_str(),
            })
            .collect(),
        email_options: options(Channel::Email),
        gateway_options: options(Channel::Gateway),
        phone,
        phone_error,
        email_deliverable: settings.email_deliverable,
        campaigns: !settings.campaigns_opted_out,
        show_campaigns: role == Role::Citizen,
        saved,
        place: None,
        error: phone_error.map(|message| ("f-phone".to_owned(), message)),
        invalid: String::new(),
    }
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    saved: Option<String>,
}

/// The page with the place form for citizens.
async fn with_place(
    state: &AppState,
    role: Role,
    settings: &NotificationSettings,
    mut page: SettingsPage,
    error: Option<&'static str>,
    saved: bool,
) -> Result<SettingsPage, AppError> {
    if role == Role::Citizen {
        page.place = Some(Place::load(state, settings, error, saved).await?);
    }
    Ok(page)
}

async fn settings_form(
    State(state): State<AppState>,
    ctx: Ctx,
    query: Result<Query<SavedQuery>, QueryRejection>,
) -> PageResult {
    let user = ctx.require(Capability::OwnAccount)?;
    let settings = state.store.notification_settings(user.id).await?;
    let phone = settings
        .phone
        .as_ref()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let (saved, place_saved) = match query {
        Ok(Query(q)) => (
            q.saved.as_deref() == Some("1"),
            q.saved.as_deref() == Some("home"),
        ),
        Err(_) => (false, false),
    };
    let page = settings_page(&ctx, user.role, &settings, phone, None, saved);
    let page = with_place(&state, user.role, &settings, page, None, place_saved).await?;
    Ok(render(&page))
}

#[derive(Deserialize)]
struct HomeForm {
    csrf: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    municipality: String,
}

fn optional_id(raw: &str) -> Result<Option<i64>, &'static str> {
    match raw.trim() {
        "" => Ok(None),
        raw => raw.parse().map(Some).map_err(|_| "unknown_value"),
    }
}

/// Saves where a citizen lives. A new region drops the municipality of the old one.
async fn home_save(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Result<Form<HomeForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = ctx.require(Capability::ListOwn)?;
    ctx.check_csrf(&form.csrf)?;
    let current = state.store.notification_settings(user.id).await?;
    let parsed = optional_id(&form.region).and_then(|region| {
        let region = region.map(otklik_domain::RegionId);
        let municipality = if region == current.home_region {
            optional_id(&form.municipality)?.map(otklik_domain::MunicipalityId)
        } else {
            None
        };
        Ok((region, municipality))
    });
    let refused = match parsed {
        Ok((region, municipality)) => {
            match state
                .store
                .put_home_place(user.id, region, municipality)
                .await
            {
                Ok(()) => None,
                Err(otklik_store::StoreError::InvalidReference(code)) => Some(code),
                Err(other) => return Err(other.into()),
            }
        }
        Err(code) => Some(code),
    };
    let Some(code) = refused else {
        return Ok(Redirect::to("/account/notifications/settings?saved=home").into_response());
    };
    let phone = current
        .phone
        .as_ref()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let page = settings_page(&ctx, user.role, &current, phone, None, false);
    let message = crate::messages::error(code);
    let page = with_place(&state, user.role, &current, page, Some(message), false).await?;
    Ok(render_status(StatusCode::BAD_REQUEST, &page))
}

/// Parses the settings form: `email.<kind>` and `gateway.<kind>` choices, `phone`,
/// `campaigns`. Every kind the form shows must be there.
pub fn parse_settings(
    fields: &[(String, String)],
    kinds: &[NotificationKind],
) -> Result<NotificationSettings, ValidationErrors> {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut errors = ValidationErrors::default();
    let mut choices = Vec::new();
    for kind in kinds {
        for channel in Channel::ALL {
            let name = format!("{}.{}", channel.as_str(), kind.as_str());
            match value(&name).map(|raw| Delivery::parse_for(raw, channel)) {
                Some(Ok(delivery)) => choices.push((*kind, channel, delivery)),
                Some(Err(code)) => errors.push(&name, code),
                None => errors.push(&name, "required"),
            }
        }
    }
    let phone = match value("phone").map(str::trim).filter(|p| !p.is_empty()) {
        Some(raw) => match PhoneNumber::parse(raw) {
            Ok(phone) => Some(phone),
            Err(code) => {
                errors.push("phone", code);
                None
            }
        },
        None => None,
    };
    let wants_gateway = choices
        .iter()
        .any(|(_, c, d)| *c == Channel::Gateway && *d != Delivery::Off);
    if wants_gateway && phone.is_none() && errors.0.is_empty() {
        errors.push("phone", "required");
    }
    if !errors.0.is_empty() {
        return Err(errors);
    }
    Ok(NotificationSettings {
        choices,
        phone,
        email_deliverable: true,
        campaigns_opted_out: value("campaigns") != Some("1"),
        home_region: None,
        home_municipality: None,
    })
}

/// The settings a failed form showed: the stored ones with every valid choice sent.
fn as_submitted(
    mut settings: NotificationSettings,
    fields: &[(String, String)],
    kinds: &[NotificationKind],
) -> NotificationSettings {
    for kind in kinds {
        for channel in Channel::ALL {
            let name = format!("{}.{}", channel.as_str(), kind.as_str());
            let sent = fields.iter().find(|(k, _)| *k == name);
            if let Some(Ok(delivery)) = sent.map(|(_, v)| Delivery::parse_for(v, channel)) {
                settings
                    .choices
                    .retain(|(k, c, _)| (k, c) != (kind, &channel));
                settings.choices.push((*kind, channel, delivery));
            }
        }
    }
    settings.campaigns_opted_out = !fields.iter().any(|(k, v)| k == "campaigns" && v == "1");
    settings
}

async fn settings_save(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> PageResult {
    let Form(fields) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = ctx.require(Capability::OwnAccount)?;
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    ctx.check_csrf(csrf)?;
    let kinds = kinds_for(user.role);
    let mut settings = match parse_settings(&fields, &kinds) {
        Ok(settings) => settings,
        Err(errors) => {
            let current = state.store.notification_settings(user.id).await?;
            let typed = fields
                .iter()
                .find(|(k, _)| k == "phone")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            // The form comes back as it was sent, the summary linking to the field.
            let shown = as_submitted(current, &fields, &kinds);
            let (field, code) = errors
                .0
                .first()
                .map_or(("phone", "invalid_form"), |e| (e.field.as_str(), e.code));
            let mut page = settings_page(&ctx, user.role, &shown, typed, None, false);
            let anchor = match field {
                "phone" => "f-phone".to_owned(),
                select => select.replace('.', "-"),
            };
            page.error = Some((anchor, crate::messages::error(code)));
            if field == "phone" {
                page.phone_error = Some(crate::messages::error(code));
            } else {
                page.invalid = field.to_owned();
            }
            let page = with_place(&state, user.role, &shown, page, None, false).await?;
            return Ok(render_status(StatusCode::BAD_REQUEST, &page));
        }
    };
    // Kinds the form does not show keep what the person chose before.
    let current = state.store.notification_settings(user.id).await?;
    settings.choices.extend(
        current
            .choices
            .into_iter()
            .filter(|(k, _, _)| !kinds.contains(k)),
    );
    if user.role != Role::Citizen {
        settings.campaigns_opted_out = current.campaigns_opted_out;
    }
    state
        .store
        .put_notification_settings(user.id, &settings, OffsetDateTime::now_utc())
        .await?;
    Ok(Redirect::to("/account/notifications/settings?saved=1").into_response())
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    chrome: Chrome,
    token: String,
    what: String,
    done: bool,
}

fn describe(what: Unsubscribe) -> String {
    match what {
        Unsubscribe::Kind(kind) => format!("письма «{}»", crate::messages::notification_kind(kind)),
        Unsubscribe::Campaigns(_) => "информационные рассылки".to_owned(),
        Unsubscribe::Digest => "сводки уведомлений для сотрудников".to_owned(),
    }
}

fn verified(
    state: &AppState,
    token: &str,
) -> Result<(otklik_domain::UserId, Unsubscribe), AppError> {
    if token.len() > 200 {
        return Err(AppError::new(StatusCode::NOT_FOUND, "invalid_token"));
    }
    tokens::verify_unsubscribe(&state.csrf_key, token)
        .ok_or_else(|| AppError::new(StatusCode::NOT_FOUND, "invalid_token"))
}

/// The page the e-mail's link opens: what the link stops, and one button.
async fn unsubscribe_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> PageResult {
    let (_, what) = verified(&state, &token)?;
    Ok(render(&UnsubscribePage {
        chrome: Chrome::new(&ctx, "Отписка от писем"),
        token,
        what: describe(what),
        done: false,
    }))
}

/// Unsubscribes. The signed token is the authority, so no session or form token is
/// needed: a mail client's one-click POST (`List-Unsubscribe=One-Click`) works as is.
async fn unsubscribe(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> PageResult {
    let (user, what) = verified(&state, &token)?;
    let now = OffsetDateTime::now_utc();
    match what {
        Unsubscribe::Kind(kind) => state.store.unsubscribe(user, Some(kind), None, now).await?,
        Unsubscribe::Campaigns(campaign) => {
            state
                .store
                .unsubscribe(user, None, Some(campaign), now)
                .await?
        }
        Unsubscribe::Digest => {
            for kind in NotificationKind::ALL
                .into_iter()
                .filter(|k| k.readers() == Readers::Staff)
            {
                state.store.unsubscribe(user, Some(kind), None, now).await?;
            }
        }
    }
    Ok(render(&UnsubscribePage {
        chrome: Chrome::new(&ctx, "Отписка от писем"),
        token,
        what: describe(what),
        done: true,
    }))
}

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Counts a campaign message as opened (once per recipient; only the count is shown).
async fn opened(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some((campaign, user)) = tokens::verify_open(&state.csrf_key, &token) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Err(e) = state
        .store
        .record_campaign_open(campaign, user, OffsetDateTime::now_utc())
        .await
    {
        tracing::warn!(code = e.code(), "cannot record a campaign opening");
    }
    (
        [
            (header::CONTENT_TYPE, "image/gif"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PIXEL,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn settings_need_every_shown_kind_and_a_phone_for_the_gateway() {
        let kinds = [NotificationKind::Answered];
        let ok = parse_settings(
            &form(&[
                ("email.answered", "off"),
                ("gateway.answered", "off"),
                ("campaigns", "1"),
            ]),
            &kinds,
        );
        assert!(ok.is_ok_and(|s| !s.campaigns_opted_out && s.phone.is_none()));
        let missing = parse_settings(&form(&[("email.answered", "off")]), &kinds);
        assert!(missing.is_err());
        let no_phone = parse_settings(
            &form(&[("email.answered", "off"), ("gateway.answered", "immediate")]),
            &kinds,
        );
        assert!(no_phone.is_err_and(|e| e.0[0].field == "phone"));
        let digest_sms = parse_settings(
            &form(&[("email.answered", "off"), ("gateway.answered", "digest")]),
            &kinds,
        );
        assert!(digest_sms.is_err_and(|e| e.0[0].code == "digest_email_only"));
    }
}
