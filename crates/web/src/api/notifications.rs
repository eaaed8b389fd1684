//! The notification centre and one's notification settings through the API (the same
//! store operations as the `/account/notifications` pages).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use otklik_domain::access::Capability;
use otklik_domain::notify::{Channel, Delivery, NotificationKind, PhoneNumber};
use otklik_domain::{NotificationId, ValidationErrors};
use otklik_notify::templates::{self, Templates};
use otklik_store::NotificationSettings;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{rfc3339, ApiError, ApiJson, ApiQuery, Problem};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list_notifications))
        .route("/notifications/read", post(read_notifications))
        .route(
            "/notifications/settings",
            get(notification_settings).put(put_notification_settings),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(list_notifications, read_notifications, notification_settings, put_notification_settings),
    components(schemas(NotificationView, NotificationList, ReadRequest, ReadResponse, ChoiceView,
        SettingsView, SettingsRequest, NotificationIdSchema, NotificationKindSchema, ChannelSchema, DeliverySchema)),
    tags((name = "notifications", description = "The personal account's notifications and how they reach the person"))
)]
pub struct Doc;

super::types::text_schema!(NotificationKindSchema, "NotificationKind", {
    super::types::one_of(
        NotificationKind::ALL.map(NotificationKind::as_str),
        "What a notification is about.",
    )
});
super::types::text_schema!(ChannelSchema, "NotificationChannel", {
    super::types::one_of(
        ["email", "gateway"],
        "`email`, or `gateway`: the SMS/push gateway.",
    )
});
super::types::text_schema!(DeliverySchema, "NotificationDelivery", {
    super::types::one_of(
        ["off", "immediate", "digest"],
        "`digest` exists for e-mail only.",
    )
});

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    #[schema(value_type = NotificationKindSchema)]
    pub kind: &'static str,
    /// The subject as the templates in force write it.
    pub subject: String,
    pub submission_id: Option<i64>,
    pub created_at: String,
    pub read: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<NotificationView>,
    pub total: u64,
    pub unread: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// At most this many, newest first (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(minimum = 0, maximum = 1000000)]
    pub offset: Option<u32>,
}

/// A notification's subject as the templates in force write it (links under `base`);
/// its kind's name should a stored template fail to render.
pub(crate) fn subject_of(
    templates: &Templates,
    n: &otklik_store::NotificationRecord,
    base: &str,
) -> String {
    templates
        .subject(
            n.kind.as_str(),
            &templates::with_links(&n.vars, n.submission, base),
        )
        .unwrap_or_else(|_| crate::messages::notification_kind(n.kind).to_owned())
}

/// One's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = NotificationList), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn list_notifications(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<NotificationList>> {
    user.require(Capability::OwnAccount)?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::field("limit", "out_of_range").into());
    }
    let offset = params.offset.unwrap_or(0);
    if offset > 1_000_000 {
        return Err(AppError::field("offset", "out_of_range").into());
    }
    let page = state.store.notifications(user.0.id, limit, offset).await?;
    let templates = Templates::new(state.store.notification_templates().await?);
    let items = page
        .items
        .iter()
        .map(|n| NotificationView {
            id: n.id.0,
            kind: n.kind.as_str(),
            subject: subject_of(&templates, n, ""),
            submission_id: n.submission.map(|s| s.0),
            created_at: rfc3339(n.created_at),
            read: n.read_at.is_some(),
        })
        .collect();
    Ok(Json(NotificationList {
        items,
        total: page.total,
        unread: page.unread,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// The notifications to mark read (at most 200); all of them when absent.
    #[schema(max_items = 200, value_type = Option<Vec<NotificationIdSchema>>)]
    pub ids: Option<Vec<WholeId>>,
}

/// A notification's id: a positive JSON integer (`42`, or `42.0`, which JSON Schema
/// also calls an integer).
#[derive(Debug)]
pub struct WholeId(i64);

impl<'de> Deserialize<'de> for WholeId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::types::whole(deserializer)?
            .filter(|id| *id >= 1)
            .map(WholeId)
            .ok_or_else(|| serde::de::Error::custom("a positive integer"))
    }
}

super::types::text_schema!(NotificationIdSchema, "NotificationId", {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(1))
        .description(Some("A notification's id."))
        .build()
        .into()
});

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadResponse {
    /// How many were unread and are read now.
    pub changed: u64,
}

/// Marks one's notifications read (others' are never touched).
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", security(("bearer" = [])),
    request_body = ReadRequest,
    responses((status = 200, body = ReadResponse), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn read_notifications(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(request): ApiJson<ReadRequest>,
) -> ApiResult<Json<ReadResponse>> {
    user.require(Capability::OwnAccount)?;
    let ids: Option<Vec<NotificationId>> = request
        .ids
        .map(|ids| ids.into_iter().map(|id| NotificationId(id.0)).collect());
    if ids.as_ref().is_some_and(|ids| ids.len() > 200) {
        return Err(AppError::field("ids", "too_long").into());
    }
    let changed = state
        .store
        .mark_read(user.0.id, ids.as_deref(), OffsetDateTime::now_utc())
        .await?;
    Ok(Json(ReadResponse { changed }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceView {
    #[serde(default)]
    #[schema(required, value_type = NotificationKindSchema)]
    pub kind: String,
    #[serde(default)]
    #[schema(required, value_type = ChannelSchema)]
    pub channel: String,
    #[serde(default)]
    #[schema(required, value_type = DeliverySchema)]
    pub delivery: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    /// Every kind and channel, with the delivery in force (chosen or default).
    pub choices: Vec<ChoiceView>,
    /// The gateway number, masked (`•••4567`).
    pub phone: Option<String>,
    /// Whether e-mail can reach the person (an address is known).
    pub email_deliverable: bool,
    /// Whether the person receives campaigns.
    pub campaigns: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsRequest {
    /// Choices to change; kinds and channels not listed keep theirs.
    #[serde(default)]
    #[schema(max_items = 64)]
    pub choices: Vec<ChoiceView>,
    /// The gateway number; `""` removes it; absent: unchanged.
    #[schema(max_length = 32)]
    pub phone: Option<String>,
    /// Receive campaigns; absent: unchanged.
    pub campaigns: Option<bool>,
}

fn view(settings: &NotificationSettings) -> SettingsView {
    SettingsView {
        choices: NotificationKind::ALL
            .into_iter()
            .flat_map(|kind| Channel::ALL.map(move |channel| (kind, channel)))
            .map(|(kind, channel)| ChoiceView {
                kind: kind.as_str().to_owned(),
                channel: channel.as_str().to_owned(),
                delivery: settings.delivery(kind, channel).as_str().to_owned(),
            })
            .collect(),
        phone: settings.phone.as_ref().map(PhoneNumber::masked),
        email_deliverable: settings.email_deliverable,
        campaigns: !settings.campaigns_opted_out,
    }
}

/// How one's notifications reach one.
#[utoipa::path(get, path = "/api/v1/notifications/settings", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = SettingsView), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn notification_settings(
    State(state): State<AppState>,
    user: ApiUser,
) -> ApiResult<Json<SettingsView>> {
    user.require(Capability::OwnAccount)?;
    let settings = state.store.notification_settings(user.0.id).await?;
    Ok(Json(view(&settings)))
}

/// Applies a request to the current settings; every invalid value is a field error.
pub(crate) fn apply(
    current: NotificationSettings,
    request: &SettingsRequest,
) -> Result<NotificationSettings, AppError> {
    let mut settings = current;
    let mut errors = ValidationErrors::default();
    if request.choices.len() > 64 {
        errors.push("choices", "too_long");
    }
    for (i, choice) in request.choices.iter().enumerate().take(64) {
        let kind = NotificationKind::parse(&choice.kind)
            .map_err(|code| errors.push(format!("choices[{i}].kind"), code));
        let channel = Channel::parse(&choice.channel)
            .map_err(|code| errors.push(format!("choices[{i}].channel"), code));
        let (Ok(kind), Ok(channel)) = (kind, channel) else {
            continue;
        };
        match Delivery::parse_for(&choice.delivery, channel) {
            Ok(delivery) => {
                settings
                    .choices
                    .retain(|(k, c, _)| (*k, *c) != (kind, channel));
                settings.choices.push((kind, channel, delivery));
            }
            Err(code) => errors.push(format!("choices[{i}].delivery"), code),
        }
    }
    match request.phone.as_deref().map(str::trim) {
        None => {}
        Some("") => settings.phone = None,
        Some(raw) => match PhoneNumber::parse(raw) {
            Ok(phone) => settings.phone = Some(phone),
            Err(code) => errors.push("phone", code),
        },
    }
    if let Some(campaigns) = request.campaigns {
        settings.campaigns_opted_out = !campaigns;
    }
    let wants_gateway = settings
        .choices
        .iter()
        .any(|(_, c, d)| *c == Channel::Gateway && *d != Delivery::Off);
    if errors.0.is_empty() && wants_gateway && settings.phone.is_none() {
        errors.push("phone", "required");
    }
    if errors.0.is_empty() {
        Ok(settings)
    } else {
        Err(AppError::validation(errors))
    }
}

/// Changes how one's notifications reach one.
#[utoipa::path(put, path = "/api/v1/notifications/settings", tag = "notifications", security(("bearer" = [])),
    request_body = SettingsRequest,
    responses((status = 200, body = SettingsView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn put_notification_settings(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(request): ApiJson<SettingsRequest>,
) -> ApiResult<Json<SettingsView>> {
    user.require(Capability::OwnAccount)?;
    let current = state.store.notification_settings(user.0.id).await?;
    let settings = apply(current, &request)?;
    state
        .store
        .put_notification_settings(user.0.id, &settings, OffsetDateTime::now_utc())
        .await?;
    let stored = state.store.notification_settings(user.0.id).await?;
    Ok(Json(view(&stored)))
}
