//! The operator's notifications through the API: the templates (read, edit, back to the
//! shipped ones) and campaigns (the audience's size, drafts, start, pause, resume,
//! cancel, progress) — the same store operations and checks as the console's pages.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use otklik_domain::access::Verification;
use otklik_domain::notify::{Audience, CampaignCommand, SendRate, MAX_AGE};
use otklik_domain::{CampaignId, MunicipalityId, RegionId, ValidationErrors};
use otklik_notify::templates::{self, TemplateText, Templates};
use otklik_store::{CampaignRecord, NewCampaign, StoredTemplate};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{OpenApi, ToSchema};

use super::console::Operator;
use super::{rfc3339, ApiError, ApiJson, ApiPath, Problem};
use crate::error::AppError;
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/notification-templates", get(list_templates))
        .route(
            "/notification-templates/{key}",
            axum::routing::put(put_template).delete(reset_template),
        )
        .route("/campaigns", get(list_campaigns).post(create_campaign))
        .route("/campaigns/audience", post(audience_size))
        .route("/campaigns/{id}", get(campaign))
        .route("/campaigns/{id}/{command}", post(command_campaign))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_templates, put_template, reset_template, list_campaigns, create_campaign,
        audience_size, campaign, command_campaign),
    components(schemas(TemplateView, TemplateRequest, AudienceView, CampaignView, CampaignRequest,
        AudienceSize, TemplateKeySchema, CampaignCommandSchema, CampaignStatusSchema,
        VerificationLevelSchema)),
    tags((name = "campaigns", description = "The operator's notification templates and campaigns"))
)]
pub struct Doc;

super::types::text_schema!(TemplateKeySchema, "NotificationTemplateKey", {
    super::types::one_of(templates::keys(), "A notification kind, or `digest`.")
});
super::types::text_schema!(CampaignCommandSchema, "CampaignCommand", {
    super::types::one_of(
        ["start", "pause", "resume", "cancel"],
        "What to do with a campaign.",
    )
});
super::types::text_schema!(CampaignStatusSchema, "CampaignStatus", {
    super::types::one_of(
        ["draft", "running", "paused", "finished", "cancelled"],
        "Where a campaign stands.",
    )
});
super::types::text_schema!(VerificationLevelSchema, "VerificationLevel", {
    super::types::one_of(
        Verification::ALL.map(Verification::as_str),
        "The lowest verification level of the audience.",
    )
});

// --- templates ------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    #[schema(value_type = TemplateKeySchema)]
    pub key: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The operator's version (else the shipped one).
    pub edited: bool,
    /// The placeholders this template may use.
    pub placeholders: Vec<&'static str>,
}

fn template_view(key: &'static str, templates: &Templates) -> Option<TemplateView> {
    templates.get(key).map(|(t, edited)| TemplateView {
        key,
        subject: t.subject,
        text: t.text,
        html: t.html,
        edited,
        placeholders: templates::placeholders(key).to_vec(),
    })
}

/// The template key a path names; any other is a template that does not exist.
pub(crate) fn known_key(raw: &str) -> Result<&'static str, AppError> {
    templates::key(raw).ok_or_else(AppError::not_found)
}

/// Every template in force.
#[utoipa::path(get, path = "/api/v1/notification-templates", tag = "campaigns", security(("bearer" = [])),
    responses((status = 200, body = Vec<TemplateView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_templates(
    State(state): State<AppState>,
    _: Operator,
) -> ApiResult<Json<Vec<TemplateView>>> {
    let templates = Templates::new(state.store.notification_templates().await?);
    Ok(Json(
        templates::keys()
            .into_iter()
            .filter_map(|key| template_view(key, &templates))
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    /// One line, at most 200 characters.
    #[serde(default)]
    #[schema(required, min_length = 1, max_length = 200)]
    pub subject: String,
    #[serde(default)]
    #[schema(required, min_length = 1, max_length = 20000)]
    pub text: String,
    #[serde(default)]
    #[schema(required, min_length = 1, max_length = 20000)]
    pub html: String,
}

impl TemplateRequest {
    /// The template as typed for `key`, checked: syntax, only its placeholders, a trial
    /// rendering.
    pub(crate) fn checked(&self, key: &str) -> Result<TemplateText, AppError> {
        let template = TemplateText::typed(&self.subject, &self.text, &self.html);
        templates::check(key, &template).map_err(AppError::from)?;
        Ok(template)
    }
}

/// Replaces a template (checked: syntax, only its placeholders, a trial rendering).
#[utoipa::path(put, path = "/api/v1/notification-templates/{key}", tag = "campaigns", security(("bearer" = [])),
    params(("key" = TemplateKeySchema, Path)), request_body = TemplateRequest,
    responses((status = 200, body = TemplateView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_template(
    State(state): State<AppState>,
    operator: Operator,
    ApiPath(key): ApiPath<String>,
    body: Result<ApiJson<TemplateRequest>, ApiError>,
) -> ApiResult<Json<TemplateView>> {
    let key = known_key(&key)?;
    let ApiJson(body) = body?;
    let template = body.checked(key)?;
    state
        .store
        .put_notification_template(&StoredTemplate {
            kind: key.to_owned(),
            subject: template.subject,
            text_body: template.text,
            html_body: template.html,
            updated_by: Some(operator.0 .0.id),
            updated_at: OffsetDateTime::now_utc(),
        })
        .await?;
    let templates = Templates::new(state.store.notification_templates().await?);
    template_view(key, &templates)
        .map(Json)
        .ok_or_else(|| AppError::not_found().into())
}

/// Goes back to the shipped template; 404 when it was not edited.
#[utoipa::path(delete, path = "/api/v1/notification-templates/{key}", tag = "campaigns", security(("bearer" = [])),
    params(("key" = TemplateKeySchema, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn reset_template(
    State(state): State<AppState>,
    operator: Operator,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let key = known_key(&key)?;
    state
        .store
        .reset_notification_template(key, operator.0 .0.id, OffsetDateTime::now_utc())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- campaigns ------------------------------------------------------------------------

/// An audience, read from a JSON object only (serde would also take an array).
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceView {
    /// Home region; none: all of Russia.
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub region_id: Option<i64>,
    /// A municipality of that region.
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub municipality_id: Option<i64>,
    /// Age on the day the campaign starts, from …
    #[schema(value_type = Option<u16>, minimum = 0, maximum = 120)]
    pub min_age: Option<i64>,
    /// … to (inclusive).
    #[schema(value_type = Option<u16>, minimum = 0, maximum = 120)]
    pub max_age: Option<i64>,
    #[schema(value_type = Option<VerificationLevelSchema>)]
    pub min_verification: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AudienceFields {
    #[serde(default, deserialize_with = "super::types::whole")]
    region_id: Option<i64>,
    #[serde(default, deserialize_with = "super::types::whole")]
    municipality_id: Option<i64>,
    #[serde(default, deserialize_with = "super::types::whole")]
    min_age: Option<i64>,
    #[serde(default, deserialize_with = "super::types::whole")]
    max_age: Option<i64>,
    #[serde(default)]
    min_verification: Option<String>,
}

impl<'de> Deserialize<'de> for AudienceView {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let object = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let f: AudienceFields =
            serde_json::from_value(serde_json::Value::Object(object)).map_err(D::Error::custom)?;
        Ok(Self {
            region_id: f.region_id,
            municipality_id: f.municipality_id,
            min_age: f.min_age,
            max_age: f.max_age,
            min_verification: f.min_verification,
        })
    }
}

impl AudienceView {
    fn of(audience: &Audience) -> Self {
        Self {
            region_id: audience.region.map(|r| r.0),
            municipality_id: audience.municipality.map(|m| m.0),
            min_age: audience.min_age.map(i64::from),
            max_age: audience.max_age.map(i64::from),
            min_verification: audience.min_verification.map(|v| v.as_str().to_owned()),
        }
    }
}

fn age(raw: Option<i64>, field: &str, errors: &mut ValidationErrors) -> Option<u16> {
    let raw = raw?;
    match u16::try_from(raw).ok().filter(|a| *a <= MAX_AGE) {
        Some(age) => Some(age),
        None => {
            errors.push(field, "out_of_range");
            None
        }
    }
}

/// An audience as the request names it, each reference checked against the store.
async fn parse_audience(
    state: &AppState,
    view: &AudienceView,
    errors: &mut ValidationErrors,
) -> Result<Audience, AppError> {
    let mut audience = Audience {
        min_age: age(view.min_age, "audience.min_age", errors),
        max_age: age(view.max_age, "audience.max_age", errors),
        ..Audience::default()
    };
    if let Some(id) = view.region_id {
        if state.store.regions().await?.iter().any(|r| r.id.0 == id) {
            audience.region = Some(RegionId(id));
        } else {
            errors.push("audience.region_id", "unknown_region");
        }
    }
    if let Some(id) = view.municipality_id {
        match audience.region {
            Some(region)
                if state
                    .store
                    .municipalities(region)
                    .await?
                    .iter()
                    .any(|m| m.id.0 == id) =>
            {
                audience.municipality = Some(MunicipalityId(id));
            }
            Some(_) => errors.push("audience.municipality_id", "unknown_municipality"),
            None => errors.push("audience.municipality_id", "municipality_needs_region"),
        }
    }
    if let Some(level) = view.min_verification.as_deref() {
        match Verification::parse(level) {
            Some(level) => audience.min_verification = Some(level),
            None => errors.push("audience.min_verification", "unknown_value"),
        }
    }
    if let Err((field, code)) = audience.check() {
        errors.push(format!("audience.{field}"), code);
    }
    Ok(audience)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AudienceSize {
    /// How many people the audience reaches today.
    pub size: u64,
}

/// How many people an audience reaches today (before a campaign is written).
#[utoipa::path(post, path = "/api/v1/campaigns/audience", tag = "campaigns", security(("bearer" = [])),
    request_body = AudienceView,
    responses((status = 200, body = AudienceSize), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn audience_size(
    State(state): State<AppState>,
    _: Operator,
    ApiJson(view): ApiJson<AudienceView>,
) -> ApiResult<Json<AudienceSize>> {
    let mut errors = ValidationErrors::default();
    let audience = parse_audience(&state, &view, &mut errors).await?;
    if !errors.0.is_empty() {
        return Err(AppError::validation(errors).into());
    }
    let size = state
        .store
        .audience_size(&audience, OffsetDateTime::now_utc().date())
        .await?;
    Ok(Json(AudienceSize { size }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    pub id: i64,
    pub title: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub audience: AudienceView,
    /// Messages a second at most.
    pub rate: u16,
    #[schema(value_type = CampaignStatusSchema)]
    pub status: &'static str,
    /// Fixed when the campaign starts.
    pub recipients: u64,
    pub sent: u64,
    pub pending: u64,
    pub failed: u64,
    pub opened: u64,
    pub unsubscribed: u64,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

fn campaign_view(c: &CampaignRecord) -> CampaignView {
    CampaignView {
        id: c.id.0,
        title: c.title.clone(),
        subject: c.subject.clone(),
        text: c.text_body.clone(),
        html: c.html_body.clone(),
        audience: AudienceView::of(&c.audience),
        rate: c.rate.per_second(),
        status: c.status.as_str(),
        recipients: c.recipients,
        sent: c.sent,
        pending: c.pending(),
        failed: c.failed,
        opened: c.opened,
        unsubscribed: c.unsubscribed,
        created_at: rfc3339(c.created_at),
        started_at: c.started_at.map(rfc3339),
        finished_at: c.finished_at.map(rfc3339),
    }
}

/// Every campaign, newest first (the latest 500).
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", security(("bearer" = [])),
    responses((status = 200, body = Vec<CampaignView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_campaigns(
    State(state): State<AppState>,
    _: Operator,
) -> ApiResult<Json<Vec<CampaignView>>> {
    let campaigns = state.store.campaigns().await?;
    Ok(Json(campaigns.iter().map(campaign_view).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignRequest {
    /// Seen by the operator only.
    #[serde(default)]
    #[schema(required, min_length = 1, max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(required, min_length = 1, max_length = 200)]
    pub subject: String,
    /// Placeholder: `account_link`; the opt-out link is added to every message.
    #[serde(default)]
    #[schema(required, min_length = 1, max_length = 20000)]
    pub text: String,
    #[serde(default)]
    #[schema(required, min_length = 1, max_length = 20000)]
    pub html: String,
    #[serde(default)]
    pub audience: AudienceView,
    /// Messages a second at most.
    #[serde(default, deserialize_with = "super::types::whole")]
    #[schema(required, value_type = u16, minimum = 1, maximum = 1000)]
    pub rate: Option<i64>,
}

impl CampaignRequest {
    /// The title and the message, checked (the template as the `campaign` one); each
    /// refusal is added to `errors`.
    pub(crate) fn message(&self, errors: &mut ValidationErrors) -> (&str, TemplateText) {
        let title = self.title.trim();
        if title.is_empty() {
            errors.push("title", "required");
        } else if title.chars().count() > 200 {
            errors.push("title", "too_long");
        }
        let template = TemplateText::typed(&self.subject, &self.text, &self.html);
        if let Err(e) = templates::check(templates::CAMPAIGN, &template) {
            errors.push(e.field, e.code);
        }
        (title, template)
    }

    /// The send rate, checked; a refusal is added to `errors`.
    pub(crate) fn send_rate(&self, errors: &mut ValidationErrors) -> Option<SendRate> {
        match self.rate {
            None => {
                errors.push("rate", "required");
                None
            }
            Some(raw) => {
                let rate = u16::try_from(raw).ok().and_then(SendRate::new);
                if rate.is_none() {
                    errors.push("rate", "out_of_range");
                }
                rate
            }
        }
    }
}

/// Saves a campaign as a draft.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", security(("bearer" = [])),
    request_body = CampaignRequest,
    responses((status = 201, body = CampaignView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn create_campaign(
    State(state): State<AppState>,
    operator: Operator,
    ApiJson(body): ApiJson<CampaignRequest>,
) -> ApiResult<Response> {
    let mut errors = ValidationErrors::default();
    let (title, template) = body.message(&mut errors);
    let audience = parse_audience(&state, &body.audience, &mut errors).await?;
    let rate = body.send_rate(&mut errors);
    let Some(rate) = rate.filter(|_| errors.0.is_empty()) else {
        return Err(AppError::validation(errors).into());
    };
    let now = OffsetDateTime::now_utc();
    let id = state
        .store
        .create_campaign(
            &NewCampaign {
                title: title.to_owned(),
                subject: template.subject,
                text_body: template.text,
                html_body: template.html,
                audience,
                rate,
            },
            operator.0 .0.id,
            now,
        )
        .await?;
    let created = state.store.campaign(id).await?;
    Ok((StatusCode::CREATED, Json(campaign_view(&created))).into_response())
}

/// A campaign's id from the path: anything else is a campaign that does not exist.
pub(crate) fn campaign_id(raw: &str) -> Result<CampaignId, AppError> {
    raw.parse::<i64>()
        .map(CampaignId)
        .map_err(|_| AppError::not_found())
}

/// One campaign with its progress and statistics.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn campaign(
    State(state): State<AppState>,
    _: Operator,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CampaignView>> {
    let campaign = state.store.campaign(campaign_id(&id)?).await?;
    Ok(Json(campaign_view(&campaign)))
}

/// Starts (fixing the recipients), pauses, resumes or cancels a campaign; 409
/// `campaign_command_not_allowed` when its status does not allow it now.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/{command}", tag = "campaigns", security(("bearer" = [])),
    params(("id" = i64, Path), ("command" = CampaignCommandSchema, Path)),
    responses((status = 200, body = CampaignView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn command_campaign(
    State(state): State<AppState>,
    operator: Operator,
    ApiPath((id, command)): ApiPath<(String, String)>,
) -> ApiResult<Json<CampaignView>> {
    let id = campaign_id(&id)?;
    let command = CampaignCommand::parse(&command).map_err(|_| AppError::not_found())?;
    let campaign = state
        .store
        .command_campaign(id, command, operator.0 .0.id, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(campaign_view(&campaign)))
}
