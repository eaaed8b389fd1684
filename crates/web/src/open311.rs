//! Open311 GeoReport v2 (<http://wiki.open311.org/GeoReport_v2>), the de-facto API of
//! civic-issue trackers, over the same use cases as the pages and `/api/v1`. Every
//! endpoint answers in JSON or XML by its suffix (`requests.json`, `requests.xml`).
//!
//! The mapping (see `docs/OPEN311.md`): a service is a subcategory, its definition's
//! attributes are its interactive form; a service request is a submission; submitting is
//! a citizen's act, so the `api_key` is a citizen's personal API token; the region comes
//! from `jurisdiction_id`. Reading follows 59-FZ and 152-FZ: with a key, the principal's
//! own scope with the texts; without one, only messages (never appeals) and nothing that
//! could identify anybody.
//!
//! axum cannot match `{id}.json` inside one segment, so each route takes the whole last
//! segment and [`split_format`] splits the suffix. Errors are GeoReport v2's: a list of
//! `{code, description}` in the request's format, with the matching HTTP status.

mod wire;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use otklik_domain::access::{self, ApiScope, Capability, Principal};
use otklik_domain::form::{FieldKind, FieldSpec, FormSpec, MULTI_SEPARATOR};
use otklik_domain::lifecycle::{
    Actor, Channel, EventKind, RejectionGround, Role, Status, SubmissionKind,
};
use otklik_domain::text::SubmissionText;
use otklik_domain::{RegionId, RegistrationNumber, SubcategoryId, SubmissionId, UserId};
use otklik_store::{
    ListQuery, Region, StoreError, Subcategory, SubmissionCard, SubmissionDetail, UserRecord,
};
use std::collections::{BTreeMap, HashSet};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::auth::{self, ClientIp};
use crate::error::AppError;
use crate::messages;
use crate::usecases::{self, SubmitInput};
use crate::AppState;
use wire::Node;

/// The specification every endpoint implements, as discovery names it.
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
/// When this endpoint's behaviour last changed (discovery's `changeset`).
const CHANGESET: &str = "2026-12-04T00:00:00Z";
/// At most this many requests in one answer, newest first (the spec's default).
const MAX_RESULTS: usize = 1000;
/// The store's largest page.
const PAGE: u32 = 200;
/// A list reads at most this many submissions, whatever it keeps of them.
const SCAN_LIMIT: u32 = 10_000;
/// The longest date range of one search, and the default one (the spec's 90 days).
const MAX_SPAN: Duration = Duration::days(90);
/// At most this many ids in one `service_request_id`.
const MAX_IDS: usize = 100;
/// A form-encoded request is a few kilobytes; files are never sent (nor fetched).
const BODY_LIMIT: usize = 64 * 1024;

/// Lines appended to a submission's text for what has no field in its form.
const ADDRESS_LINE: &str = "Адрес: ";
const COORDINATES_LINE: &str = "Координаты: ";
const ADDRESS_ID_LINE: &str = "Код адреса: ";
const PHOTO_LINE: &str = "Фото: ";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/open311/v2/{file}",
            get(root_get)
                .post(root_post)
                .layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(request))
        .route("/open311/v2/tokens/{file}", get(token))
        .method_not_allowed_fallback(method_not_allowed)
}

// --- formats and errors ---------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

impl Format {
    fn suffix(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Xml => "xml",
        }
    }
}

/// `name.json` → (`name`, JSON); `None` for a missing or unknown suffix.
fn split_format(file: &str) -> Option<(&str, Format)> {
    let (stem, suffix) = file.rsplit_once('.')?;
    let format = match suffix {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return None,
    };
    (!stem.is_empty()).then_some((stem, format))
}

/// The last path segment as sent: its stem and format (`None`: a 404, in JSON).
fn file_of(path: Result<Path<String>, PathRejection>) -> Option<(String, Format)> {
    path.ok()
        .and_then(|Path(file)| split_format(&file).map(|(s, f)| (s.to_owned(), f)))
}

/// The answer for a path whose format is unknown.
fn no_such_file() -> Response {
    Failure::not_found().render(Format::Json)
}

fn reply(format: Format, status: StatusCode, root: &str, node: &Node) -> Response {
    let (content_type, body) = match format {
        Format::Json => ("application/json; charset=utf-8", wire::to_json(node)),
        Format::Xml => ("text/xml; charset=utf-8", wire::to_xml(root, node)),
    };
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A refusal: GeoReport v2 errors, each a description, under one HTTP status.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    descriptions: Vec<String>,
    retry_after: Option<u64>,
    allow: Option<&'static str>,
}

impl Failure {
    fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            descriptions: vec![description.into()],
            retry_after: None,
            allow: None,
        }
    }

    fn bad(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, description)
    }

    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Не найдено.")
    }

    fn invalid_key() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "api_key: ключ неверен, отозван или срок его действия истёк.",
        )
    }

    fn citizens_only() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "api_key: подавать сообщения могут только граждане — нужен личный ключ \
             гражданина (токен из POST /api/v1/auth/token), а не ключ сотрудника или системы.",
        )
    }

    fn method_not_allowed(allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                messages::error("method_not_allowed"),
            )
        }
    }

    /// Parameter problems, all at once.
    fn problems(descriptions: Vec<String>) -> Self {
        Self {
            descriptions,
            ..Self::bad("")
        }
    }

    /// An error of the use cases, with fields named as this API names its parameters
    /// (`renames` first: fields this endpoint filled from other parameters).
    fn from_app(e: AppError, renames: &[(String, &'static str)]) -> Self {
        let status = match e.status {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            other => other,
        };
        let descriptions = if e.fields.is_empty() {
            vec![match e.code {
                "no_route" => format!("jurisdiction_id: {}", messages::error(e.code)),
                "citizens_only" => return Self::citizens_only(),
                code => messages::error(code).to_owned(),
            }]
        } else {
            e.fields
                .iter()
                .map(|f| {
                    let parameter = renames
                        .iter()
                        .find(|(field, _)| *field == f.field)
                        .map(|(_, p)| (*p).to_owned())
                        .unwrap_or_else(|| parameter_of(&f.field));
                    let mut text = format!("{parameter}: {}", messages::error(f.code));
                    if f.code == "photo_required" {
                        text.push_str(
                            " Open311 не передаёт файлы (media_url не загружается): \
                             подайте такое сообщение на портале.",
                        );
                    }
                    text
                })
                .collect()
        };
        Self {
            status,
            descriptions,
            retry_after: e.retry_after,
            allow: None,
        }
    }

    fn render(self, format: Format) -> Response {
        let code = i64::from(self.status.as_u16());
        let errors = self
            .descriptions
            .into_iter()
            .map(|d| {
                Node::Object(vec![
                    ("code", Node::Int(code)),
                    ("description", Node::Text(d)),
                ])
            })
            .collect();
        let mut response = reply(format, self.status, "errors", &Node::List("error", errors));
        crate::error::add_retry_after(&mut response, self.retry_after);
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Self::from_app(e, &[])
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

/// The Open311 parameter a use case's field comes from.
fn parameter_of(field: &str) -> String {
    if let Some(key) = field.strip_prefix(otklik_domain::form::FIELD_PREFIX) {
        return format!("attribute[{key}]");
    }
    match field {
        "text" => "description",
        "region" => "jurisdiction_id",
        "subcategory_id" | "kind" => "service_code",
        "attachments" => "media_url",
        other => other,
    }
    .to_owned()
}

async fn method_not_allowed(uri: Uri) -> Response {
    let file = uri.path().rsplit('/').next().and_then(split_format);
    let format = file.map_or(Format::Json, |(_, f)| f);
    // Only `requests.{json,xml}` itself also takes a POST.
    let allow = match (uri.path().trim_matches('/').split('/').count(), file) {
        (3, Some(("requests", _))) => "GET, POST",
        _ => "GET",
    };
    Failure::method_not_allowed(allow).render(format)
}

// --- parameters -------------------------------------------------------------------------

/// Decoded `name=value` pairs (query string, form body), in order.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The one value of a parameter, trimmed; a blank value counts as absent, and a
    /// parameter given twice is refused (which of the two would be meant?).
    fn one(&self, name: &str) -> Result<Option<&str>, Failure> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty());
        let first = values.next();
        if values.next().is_some() {
            return Err(Failure::bad(format!(
                "{name}: параметр указан несколько раз."
            )));
        }
        Ok(first)
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

// --- who asks ---------------------------------------------------------------------------

/// A caller who sent a valid key: a person's API token, an integration client's access
/// token or its `client_id.secret` key.
struct Keyed {
    user: UserRecord,
    scopes: Option<Vec<ApiScope>>,
}

impl Keyed {
    fn principal(&self) -> Principal {
        auth::principal_of(&self.user, self.scopes.clone())
    }

    fn actor(&self) -> Actor {
        auth::actor_of(&self.user)
    }
}

/// The caller, by the `api_key` parameter or else the headers `/api/v1` reads
/// (`Authorization: Bearer`, `X-Api-Key`); `None` when no key is sent; 403 for a key
/// that is not valid now.
async fn caller(
    state: &AppState,
    api_key: Option<&str>,
    headers: &HeaderMap,
) -> Result<Option<Keyed>, Failure> {
    let header_key = || {
        auth::bearer_token(headers).or_else(|| {
            headers
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|k| !k.is_empty())
        })
    };
    let Some(key) = api_key.or_else(header_key) else {
        return Ok(None);
    };
    // Session tokens are URL-safe base64 (no dot); a client's key is `client_id.secret`.
    if let Some((client_id, secret)) = key.split_once('.') {
        let client = auth::authenticate_client(state, client_id, secret)
            .await?
            .ok_or_else(Failure::invalid_key)?;
        return Ok(Some(Keyed {
            user: client.user,
            scopes: Some(client.scopes),
        }));
    }
    let session = state
        .store
        .session(&auth::token_digest(key), OffsetDateTime::now_utc())
        .await?
        .ok_or_else(Failure::invalid_key)?;
    Ok(Some(Keyed {
        user: session.user,
        scopes: session.scopes,
    }))
}

// --- territories and times ----------------------------------------------------------------

/// A region by ISO 3166-2 code (`RU-TVE`, any case) or by our numeric id.
fn find_region(regions: &[Region], raw: &str) -> Option<RegionId> {
    let raw = raw.trim();
    let found = if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        let id = raw.parse::<i64>().ok()?;
        regions.iter().find(|r| r.id.0 == id)
    } else {
        regions.iter().find(|r| r.code.eq_ignore_ascii_case(raw))
    };
    found.map(|r| r.id)
}

const UNKNOWN_JURISDICTION: &str = "jurisdiction_id: такого региона нет — укажите код \
                                    ISO 3166-2 (например, RU-TVE) или номер региона.";

/// Checks a `jurisdiction_id` given to an endpoint that does not depend on the region.
async fn check_jurisdiction(state: &AppState, params: &Params) -> Result<(), Failure> {
    if let Some(raw) = params.one("jurisdiction_id")? {
        let regions = state.store.regions().await?;
        find_region(&regions, raw).ok_or_else(|| Failure::bad(UNKNOWN_JURISDICTION))?;
    }
    Ok(())
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// A W3C / RFC 3339 instant (`2026-05-01T10:00:00+03:00`), or a bare date (midnight
/// UTC). A `+` of an offset sent unencoded arrives as a space, and is read as `+`.
fn parse_instant(raw: &str) -> Option<OffsetDateTime> {
    let attempt = |s: &str| OffsetDateTime::parse(s, &Rfc3339).ok();
    attempt(raw)
        .or_else(|| attempt(&raw.replace(' ', "+")))
        .or_else(|| {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(raw, &format)
                .ok()
                .map(|d| d.midnight().assume_utc())
        })
}

fn local_date(t: OffsetDateTime, utc_offset_minutes: i32) -> String {
    let offset = UtcOffset::from_whole_seconds(utc_offset_minutes.saturating_mul(60))
        .unwrap_or(UtcOffset::UTC);
    let d = t.to_offset(offset).date();
    format!("{:02}.{:02}.{}", d.day(), u8::from(d.month()), d.year())
}

// --- discovery and services ------------------------------------------------------------

async fn root_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let (stem, format) = match file_of(path) {
        Some(file) => file,
        None => return no_such_file(),
    };
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let result = match stem.as_str() {
        "discovery" => Ok(discovery(&state, &headers, format)),
        "services" => services(&state, &params, format).await,
        "requests" => list_requests(&state, &headers, &params, format).await,
        _ => Err(Failure::not_found()),
    };
    result.unwrap_or_else(|e| e.render(format))
}

/// This endpoint's address as the client reached it (scheme from the settings, host
/// from `Host` when it is a plain host name), else the path alone.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        });
    match host {
        Some(host) => {
            let scheme = if state.config.security.tls {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}/open311/v2")
        }
        None => "/open311/v2".to_owned(),
    }
}

fn discovery(state: &AppState, headers: &HeaderMap, format: Format) -> Response {
    let endpoint = Node::Object(vec![
        ("specification", Node::text(SPECIFICATION)),
        ("url", Node::Text(base_url(state, headers))),
        ("changeset", Node::text(CHANGESET)),
        ("type", Node::text("production")),
        (
            "formats",
            Node::List(
                "format",
                vec![Node::text("text/xml"), Node::text("application/json")],
            ),
        ),
    ]);
    let node = Node::Object(vec![
        ("changeset", Node::text(CHANGESET)),
        (
            "contact",
            Node::text("Оператор платформы «Отклик»: раздел «Помощь» на портале."),
        ),
        (
            "key_service",
            Node::text(
                "api_key — личный токен гражданина: POST /api/v1/auth/token с адресом \
                 электронной почты и паролем учётной записи портала.",
            ),
        ),
        ("endpoints", Node::List("endpoint", vec![endpoint])),
    ]);
    reply(format, StatusCode::OK, "discovery", &node)
}

async fn services(state: &AppState, params: &Params, format: Format) -> Result<Response, Failure> {
    check_jurisdiction(state, params).await?;
    let catalogue = state.store.catalogue().await?;
    let services = catalogue
        .iter()
        .flat_map(|c| c.subcategories.iter().map(move |s| (c, s)))
        .map(|(c, s)| {
            let mut description = format!("{} (раздел «{}»).", s.name, c.name);
            if s.form.photo_required {
                description.push_str(
                    " Нужна фотография: через Open311 файлы не передаются, \
                     такое сообщение подаётся на портале.",
                );
            }
            Node::Object(vec![
                ("service_code", Node::Text(s.id.to_string())),
                ("service_name", Node::Text(s.name.clone())),
                ("description", Node::Text(description)),
                ("metadata", Node::Bool(!s.form.fields.is_empty())),
                ("type", Node::text("realtime")),
                (
                    "keywords",
                    Node::Text(format!(
                        "{}, {}",
                        s.name.to_lowercase(),
                        c.name.to_lowercase()
                    )),
                ),
                ("group", Node::Text(c.name.clone())),
            ])
        })
        .collect();
    Ok(reply(
        format,
        StatusCode::OK,
        "services",
        &Node::List("service", services),
    ))
}

/// GeoReport v2's datatype of a form field.
fn datatype(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "string",
        FieldKind::Number => "number",
        FieldKind::Date => "datetime",
        FieldKind::Address => "text",
        FieldKind::Select => "singlevaluelist",
        FieldKind::MultiSelect => "multivaluelist",
    }
}

fn datatype_description(field: &FieldSpec) -> String {
    if let Some(hint) = field.hint.as_deref().filter(|h| !h.trim().is_empty()) {
        return hint.to_owned();
    }
    match field.kind {
        FieldKind::Text => "Строка, до 200 знаков.",
        FieldKind::Number => "Целое число.",
        FieldKind::Date => "Дата в формате ГГГГ-ММ-ДД (или дата и время по RFC 3339).",
        FieldKind::Address => "Адрес или описание места, до 500 знаков.",
        FieldKind::Select => "Одно значение из списка: его key.",
        FieldKind::MultiSelect => {
            "Одно или несколько значений из списка: attribute[код][]=key для каждого."
        }
    }
    .to_owned()
}

fn attributes(form: &FormSpec) -> Vec<Node> {
    form.fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut fields = vec![
                ("variable", Node::Bool(true)),
                ("code", Node::Text(f.key.clone())),
                ("datatype", Node::text(datatype(f.kind))),
                ("required", Node::Bool(f.required)),
                ("datatype_description", Node::Text(datatype_description(f))),
                ("order", Node::Int(i64::try_from(i + 1).unwrap_or(i64::MAX))),
                ("description", Node::Text(f.label.clone())),
            ];
            if f.kind.has_options() {
                let values = f
                    .options
                    .iter()
                    .map(|o| {
                        Node::Object(vec![
                            ("key", Node::Text(o.clone())),
                            ("name", Node::Text(o.clone())),
                        ])
                    })
                    .collect();
                fields.push(("values", Node::List("value", values)));
            }
            Node::Object(fields)
        })
        .collect()
}

/// The subcategory a `service_code` names, if any.
async fn service(state: &AppState, code: &str) -> Result<Option<Subcategory>, Failure> {
    let Some(id) = code
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0 && code.bytes().all(|b| b.is_ascii_digit()))
    else {
        return Ok(None);
    };
    match state.store.subcategory(SubcategoryId(id)).await {
        Ok(sub) => Ok(Some(sub)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn service_definition(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let (code, format) = match file_of(path) {
        Some(file) => file,
        None => return no_such_file(),
    };
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let result = async {
        check_jurisdiction(&state, &params).await?;
        let sub = service(&state, &code)
            .await?
            .ok_or_else(Failure::not_found)?;
        let node = Node::Object(vec![
            ("service_code", Node::Text(sub.id.to_string())),
            ("attributes", Node::List("attribute", attributes(&sub.form))),
        ]);
        Ok(reply(format, StatusCode::OK, "service_definition", &node))
    }
    .await;
    result.unwrap_or_else(|e: Failure| e.render(format))
}

// --- reading requests ---------------------------------------------------------------------

/// Reads a submission for the public view: the store is asked with the operator's reach,
/// and only [`public_node`]'s fields (no text, no author, no place) leave this module.
const PUBLIC_READER: Actor = Actor {
    user: UserId(0),
    role: Role::Operator,
};

fn open311_status(status: Status) -> &'static str {
    if status.is_open() {
        "open"
    } else {
        "closed"
    }
}

fn status_notes(status: Status, ground: Option<RejectionGround>) -> String {
    match ground.filter(|_| status == Status::Rejected) {
        Some(ground) => format!(
            "{}. Основание: {}.",
            messages::status(status),
            messages::ground(ground)
        ),
        None => format!("{}.", messages::status(status)),
    }
}

/// The ground of the last rejection in a submission's timeline.
fn ground_of(detail: &SubmissionDetail) -> Option<RejectionGround> {
    detail
        .events
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::Rejected)
        .and_then(|e| e.ground)
}

/// What anybody may know of a message: no text, no author, no place, no files.
struct Summary<'a> {
    id: SubmissionId,
    status: Status,
    service_code: SubcategoryId,
    service_name: &'a str,
    agency: &'a str,
    requested: OffsetDateTime,
    updated: OffsetDateTime,
    expected: OffsetDateTime,
}

impl<'a> Summary<'a> {
    fn of_card(c: &'a SubmissionCard) -> Self {
        Self {
            id: c.id,
            status: c.status,
            service_code: c.subcategory,
            service_name: &c.subcategory_name,
            agency: &c.org_name,
            requested: c.created_at,
            updated: c.updated_at,
            expected: c.deadline_at,
        }
    }

    fn of_detail(d: &'a SubmissionDetail) -> Self {
        Self {
            id: d.id,
            status: d.status,
            service_code: d.subcategory,
            service_name: &d.subcategory_name,
            agency: &d.org_name,
            requested: d.created_at,
            updated: d.updated_at,
            expected: d.deadline_at,
        }
    }
}

/// What a caller who may read the submission sees besides.
#[derive(Default)]
struct Private {
    status_notes: String,
    description: String,
    place: Place,
}

/// The place and photo link of a submission, as this endpoint wrote them.
#[derive(Debug, Default, PartialEq)]
struct Place {
    address: Option<String>,
    address_id: Option<String>,
    coordinates: Option<(f64, f64)>,
    media_url: Option<String>,
}

fn request_node(s: &Summary<'_>, private: Option<&Private>) -> Node {
    let mut fields = vec![
        ("service_request_id", Node::Text(s.id.to_string())),
        ("status", Node::text(open311_status(s.status))),
    ];
    if let Some(p) = private {
        fields.push(("status_notes", Node::Text(p.status_notes.clone())));
    }
    fields.push(("service_name", Node::text(s.service_name)));
    fields.push(("service_code", Node::Text(s.service_code.to_string())));
    if let Some(p) = private {
        fields.push(("description", Node::Text(p.description.clone())));
    }
    fields.extend([
        ("agency_responsible", Node::text(s.agency)),
        ("requested_datetime", Node::Text(rfc3339(s.requested))),
        ("updated_datetime", Node::Text(rfc3339(s.updated))),
        ("expected_datetime", Node::Text(rfc3339(s.expected))),
    ]);
    if let Some(p) = private {
        let place = &p.place;
        if let Some(address) = &place.address {
            fields.push(("address", Node::Text(address.clone())));
        }
        if let Some(id) = &place.address_id {
            fields.push(("address_id", Node::Text(id.clone())));
        }
        if let Some((lat, long)) = place.coordinates {
            fields.push(("lat", Node::Float(lat)));
            fields.push(("long", Node::Float(long)));
        }
        if let Some(url) = &place.media_url {
            fields.push(("media_url", Node::Text(url.clone())));
        }
    }
    Node::Object(fields)
}

fn public_node(d: &SubmissionDetail) -> Node {
    request_node(&Summary::of_detail(d), None)
}

/// A submission with what its reader may see of it.
enum Loaded {
    /// The caller may read it: with its text (the read of a staff member is recorded).
    Keyed(SubmissionDetail),
    /// A message, for everybody: the summary only.
    Public(SubmissionDetail),
}

impl Loaded {
    fn detail(&self) -> &SubmissionDetail {
        match self {
            Self::Keyed(d) | Self::Public(d) => d,
        }
    }
}

/// One submission as `caller` may see it: in full when the caller may read it, else
/// the public summary of a message; `None` when neither (appeals stay hidden). A key
/// never shows less than no key.
async fn load(
    state: &AppState,
    caller: Option<&Keyed>,
    id: SubmissionId,
    now: OffsetDateTime,
) -> Result<Option<Loaded>, Failure> {
    if let Some(keyed) = caller {
        match usecases::view(state.store.as_ref(), &keyed.principal(), id, now).await {
            Ok(detail) => return Ok(Some(Loaded::Keyed(detail))),
            Err(e) if matches!(e.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) => {}
            Err(e) => return Err(e.into()),
        }
    }
    match state.store.submission(id, PUBLIC_READER).await {
        Ok(detail) if detail.kind == SubmissionKind::Message => Ok(Some(Loaded::Public(detail))),
        Ok(_) | Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The answer for a loaded submission.
async fn loaded_node(state: &AppState, loaded: &Loaded) -> Result<Node, Failure> {
    match loaded {
        Loaded::Public(d) => Ok(public_node(d)),
        Loaded::Keyed(d) => {
            let form = match state.store.subcategory(d.subcategory).await {
                Ok(sub) => sub.form,
                Err(StoreError::NotFound) => FormSpec::default(),
                Err(e) => return Err(e.into()),
            };
            let private = Private {
                status_notes: status_notes(d.status, ground_of(d)),
                description: d.text.clone(),
                place: place_of(&d.text, address_value(&form, d)),
            };
            Ok(request_node(&Summary::of_detail(d), Some(&private)))
        }
    }
}

/// The value of the form's address field of a submission, if it has one.
fn address_value<'a>(form: &FormSpec, d: &'a SubmissionDetail) -> Option<&'a str> {
    form.fields
        .iter()
        .filter(|f| f.kind == FieldKind::Address)
        .find_map(|f| d.fields.as_map().get(&f.key))
        .map(String::as_str)
}

/// Reads back the place: the address field (unless it holds only coordinates or an
/// address code, as [`place_into`] writes them when nothing else is known), and the
/// lines appended to the text.
fn place_of(text: &str, address_field: Option<&str>) -> Place {
    let line = |prefix: &str| {
        text.lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let field = address_field.map(str::trim).filter(|v| !v.is_empty());
    let field_is = |prefix: &str| {
        field
            .and_then(|v| v.strip_prefix(prefix))
            .map(|v| v.trim().to_owned())
    };
    let address = field
        .filter(|v| !v.starts_with(COORDINATES_LINE) && !v.starts_with(ADDRESS_ID_LINE))
        .map(str::to_owned)
        .or_else(|| line(ADDRESS_LINE));
    let coordinates = field_is(COORDINATES_LINE)
        .or_else(|| line(COORDINATES_LINE))
        .and_then(|v| {
            let (lat, long) = v.split_once(',')?;
            let (lat, long): (f64, f64) = (lat.trim().parse().ok()?, long.trim().parse().ok()?);
            (lat.is_finite() && long.is_finite()).then_some((lat, long))
        });
    Place {
        address,
        address_id: field_is(ADDRESS_ID_LINE).or_else(|| line(ADDRESS_ID_LINE)),
        coordinates,
        media_url: line(PHOTO_LINE),
    }
}

async fn request(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let (raw_id, format) = match file_of(path) {
        Some(file) => file,
        None => return no_such_file(),
    };
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let result = async {
        let caller = caller(&state, params.one("api_key")?, &headers).await?;
        check_jurisdiction(&state, &params).await?;
        let id = parse_id(&raw_id).ok_or_else(Failure::not_found)?;
        let now = OffsetDateTime::now_utc();
        let loaded = load(&state, caller.as_ref(), id, now)
            .await?
            .ok_or_else(Failure::not_found)?;
        let node = loaded_node(&state, &loaded).await?;
        Ok(reply(
            format,
            StatusCode::OK,
            "service_requests",
            &Node::List("request", vec![node]),
        ))
    }
    .await;
    result.unwrap_or_else(|e: Failure| e.render(format))
}

fn parse_id(raw: &str) -> Option<SubmissionId> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 18 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(SubmissionId)
}

/// A registration number `YYYY-NNNNNNN`: its year and submission id.
fn parse_token(raw: &str) -> Option<(i32, SubmissionId)> {
    let (year, id) = raw.trim().split_once('-')?;
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((year.parse().ok()?, parse_id(id)?))
}

async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let (raw, format) = match file_of(path) {
        Some(file) => file,
        None => return no_such_file(),
    };
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let result = async {
        let caller = caller(&state, params.one("api_key")?, &headers).await?;
        check_jurisdiction(&state, &params).await?;
        let (year, id) = parse_token(&raw).ok_or_else(Failure::not_found)?;
        let now = OffsetDateTime::now_utc();
        let loaded = load(&state, caller.as_ref(), id, now)
            .await?
            .ok_or_else(Failure::not_found)?;
        let d = loaded.detail();
        let number = RegistrationNumber::new(d.id, d.created_at);
        if number.year != year {
            return Err(Failure::not_found());
        }
        let node = Node::Object(vec![
            ("service_request_id", Node::Text(d.id.to_string())),
            ("token", Node::Text(number.to_string())),
        ]);
        Ok(reply(
            format,
            StatusCode::OK,
            "service_requests",
            &Node::List("request", vec![node]),
        ))
    }
    .await;
    result.unwrap_or_else(|e: Failure| e.render(format))
}

/// The filters of a search, checked.
struct Search {
    subcategory: Option<SubcategoryId>,
    open: Option<bool>,
    from: OffsetDateTime,
    /// Exclusive.
    before: OffsetDateTime,
}

async fn parse_search(
    state: &AppState,
    params: &Params,
    now: OffsetDateTime,
) -> Result<Search, Failure> {
    let mut problems = Vec::new();
    let subcategory = match params.one("service_code")? {
        Some(code) => match service(state, code).await? {
            Some(sub) => Some(sub.id),
            None => {
                problems.push("service_code: такой услуги нет (см. services.json).".to_owned());
                None
            }
        },
        None => None,
    };
    let mut open = None;
    if let Some(raw) = params.one("status")? {
        let (mut wants_open, mut wants_closed) = (false, false);
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "open" => wants_open = true,
                "closed" => wants_closed = true,
                _ => {
                    problems.push(
                        "status: допустимы значения open и closed (через запятую).".to_owned(),
                    );
                    break;
                }
            }
        }
        if wants_open != wants_closed {
            open = Some(wants_open);
        }
    }
    let mut instant = |name: &str| match params.one(name) {
        Ok(Some(raw)) => match parse_instant(raw) {
            Some(t) => Ok(Some(t)),
            None => {
                problems.push(format!(
                    "{name}: нужна дата и время в формате W3C/RFC 3339, например \
                     2026-05-01T00:00:00+03:00."
                ));
                Ok(None)
            }
        },
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    let start = instant("start_date")?;
    let end = instant("end_date")?;
    let range = match (start, end) {
        (Some(s), Some(e)) => Some((s, e)),
        (Some(s), None) => s.checked_add(MAX_SPAN).map(|e| (s, e)),
        (None, Some(e)) => e.checked_sub(MAX_SPAN).map(|s| (s, e)),
        (None, None) => now.checked_sub(MAX_SPAN).map(|s| (s, now)),
    };
    let Some((from, to)) = range else {
        problems.push("start_date, end_date: дата вне допустимого диапазона.".to_owned());
        return Err(Failure::problems(problems));
    };
    if to < from {
        problems.push("end_date: не может быть раньше start_date.".to_owned());
    } else if to - from > MAX_SPAN {
        problems.push("start_date, end_date: период поиска — не больше 90 дней.".to_owned());
    }
    if !problems.is_empty() {
        return Err(Failure::problems(problems));
    }
    // Instants are whole seconds: the end is included.
    let whole = to.replace_nanosecond(0).unwrap_or(to);
    let before = whole.checked_add(Duration::seconds(1)).unwrap_or(whole);
    Ok(Search {
        subcategory,
        open,
        from,
        before,
    })
}

async fn list_requests(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    format: Format,
) -> Result<Response, Failure> {
    let now = OffsetDateTime::now_utc();
    let caller = caller(state, params.one("api_key")?, headers).await?;
    let region = match params.one("jurisdiction_id")? {
        Some(raw) => {
            let regions = state.store.regions().await?;
            Some(find_region(&regions, raw).ok_or_else(|| Failure::bad(UNKNOWN_JURISDICTION))?)
        }
        None => None,
    };
    // With ids, the other filters are ignored (the spec's rule).
    let nodes = match params.one("service_request_id")? {
        Some(raw) => by_ids(state, caller.as_ref(), raw, now).await?,
        None => {
            let search = parse_search(state, params, now).await?;
            search_requests(state, caller.as_ref(), region, &search, now).await?
        }
    };
    Ok(reply(
        format,
        StatusCode::OK,
        "service_requests",
        &Node::List("request", nodes),
    ))
}

async fn by_ids(
    state: &AppState,
    caller: Option<&Keyed>,
    raw: &str,
    now: OffsetDateTime,
) -> Result<Vec<Node>, Failure> {
    let mut ids = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = parse_id(part).ok_or_else(|| {
            Failure::bad("service_request_id: номера заявок — целые числа через запятую.")
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_IDS {
        return Err(Failure::bad(format!(
            "service_request_id: не больше {MAX_IDS} номеров за один запрос."
        )));
    }
    let mut nodes = Vec::new();
    for id in ids {
        if let Some(loaded) = load(state, caller, id, now).await? {
            nodes.push(loaded_node(state, &loaded).await?);
        }
    }
    Ok(nodes)
}

/// A search: with a key, the principal's own list (citizen: own; official and system:
/// the organisation's; coordinator: the region's; operator: all) with excerpts of the
/// texts; without, every message (never an appeal) as a summary. Newest first.
async fn search_requests(
    state: &AppState,
    caller: Option<&Keyed>,
    region: Option<RegionId>,
    search: &Search,
    now: OffsetDateTime,
) -> Result<Vec<Node>, Failure> {
    let scope = match caller {
        Some(keyed) => usecases::scope_of(&keyed.principal())?,
        None => otklik_store::Scope::All,
    };
    // The store's `open` filter counts a submission awaiting the citizen's clarification
    // as finished (its clock is paused); for GeoReport v2 it is open. So only `closed`
    // is asked of the store, and the statuses are checked here either way.
    let mut query = ListQuery {
        subcategory: search.subcategory,
        open: search.open.filter(|open| !open),
        created_from: Some(search.from),
        created_before: Some(search.before),
        limit: PAGE,
        offset: 0,
        ..ListQuery::new(now)
    };
    let mut seen = HashSet::new();
    let mut cards = Vec::new();
    loop {
        let page = state.store.list(scope, &query).await?;
        let got = page.items.len();
        cards.extend(page.items.into_iter().filter(|c| {
            seen.insert(c.id)
                && search.open.is_none_or(|open| c.status.is_open() == open)
                && (caller.is_some() || c.kind == SubmissionKind::Message)
                && region.is_none_or(|r| r == c.region)
        }));
        query.offset += PAGE;
        if cards.len() >= MAX_RESULTS || got < PAGE as usize || query.offset >= SCAN_LIMIT {
            break;
        }
    }
    cards.truncate(MAX_RESULTS);
    let Some(keyed) = caller else {
        return Ok(cards
            .iter()
            .map(|c| request_node(&Summary::of_card(c), None))
            .collect());
    };
    let mut nodes = Vec::with_capacity(cards.len());
    for card in &cards {
        // The ground is in the timeline; only rejected ones need it.
        let ground = if card.status == Status::Rejected {
            match state.store.submission(card.id, keyed.actor()).await {
                Ok(detail) => ground_of(&detail),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            }
        } else {
            None
        };
        let private = Private {
            status_notes: status_notes(card.status, ground),
            description: card.excerpt.clone(),
            place: Place::default(),
        };
        nodes.push(request_node(&Summary::of_card(card), Some(&private)));
    }
    Ok(nodes)
}

// --- submitting -------------------------------------------------------------------------

async fn root_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (stem, format) = match file_of(path) {
        Some(file) => file,
        None => return no_such_file(),
    };
    let result = match stem.as_str() {
        "requests" => create(&state, &headers, ip, query, body, format).await,
        "discovery" | "services" => Err(Failure::method_not_allowed("GET")),
        _ => Err(Failure::not_found()),
    };
    result.unwrap_or_else(|e| e.render(format))
}

/// The parameters of a submission: the query string's and the form body's together.
fn submission_params(
    headers: &HeaderMap,
    query: Option<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Params, Failure> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Failure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Слишком большой запрос: файлы через Open311 не принимаются.",
            )
        } else {
            Failure::bad(messages::error("invalid_body"))
        }
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    if !body.is_empty()
        && content_type
            .as_deref()
            .is_some_and(|t| t != "application/x-www-form-urlencoded")
    {
        return Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Тело запроса должно быть в формате application/x-www-form-urlencoded.",
        ));
    }
    let mut params = Params::parse(query.unwrap_or_default().as_bytes());
    params.0.extend(Params::parse(&body).0);
    Ok(params)
}

async fn create(
    state: &AppState,
    headers: &HeaderMap,
    ip: std::net::IpAddr,
    query: Option<String>,
    body: Result<Bytes, BytesRejection>,
    format: Format,
) -> Result<Response, Failure> {
    let now = OffsetDateTime::now_utc();
    let params = submission_params(headers, query, body)?;
    let keyed = caller(state, params.one("api_key")?, headers)
        .await?
        .ok_or_else(|| {
            Failure::bad(
                "api_key: укажите личный ключ API гражданина (токен из POST /api/v1/auth/token).",
            )
        })?;
    let principal = keyed.principal();
    // Submitting is a citizen's act: a staff member's or a system's key is refused
    // before anything else is looked at (`usecases::submit` checks it again).
    match access::check(
        Some(&principal),
        Capability::Submit(SubmissionKind::Message),
    ) {
        Ok(()) => {}
        Err(access::Denied::Forbidden) => return Err(Failure::citizens_only()),
        Err(other) => return Err(AppError::from(other).into()),
    }
    state.limiter.submit(ip, keyed.user.id)?;
    let code = params
        .one("service_code")?
        .ok_or_else(|| Failure::bad("service_code: укажите код услуги (см. services.json)."))?;
    let sub = service(state, code)
        .await?
        .ok_or_else(|| Failure::bad("service_code: такой услуги нет (см. services.json)."))?;
    let draft = draft(state, &params, &keyed, &sub).await?;
    let input = SubmitInput {
        kind: SubmissionKind::Message.as_str().to_owned(),
        region: draft.region.to_string(),
        municipality: String::new(),
        text: draft.text,
        fields: draft.fields,
        files: Vec::new(),
        channel: Channel::Open311,
        origin: None,
        public: false,
    };
    let registered = usecases::submit(state.store.as_ref(), &principal, sub.id, input, now)
        .await
        .map_err(|e| Failure::from_app(e, &draft.renames))?;
    let org = state.store.organisation(registered.org).await?;
    let notice = format!(
        "Сообщение зарегистрировано под номером {} и направлено в организацию «{}». \
         Ответ — не позднее {}.",
        registered.number,
        org.name,
        local_date(registered.deadline_at, org.utc_offset_minutes)
    );
    let node = Node::List(
        "request",
        vec![Node::Object(vec![
            ("service_request_id", Node::Text(registered.id.to_string())),
            ("token", Node::Text(registered.number.to_string())),
            ("service_notice", Node::Text(notice)),
            ("account_id", Node::Null),
        ])],
    );
    let mut response = reply(format, StatusCode::CREATED, "service_requests", &node);
    if let Ok(location) = HeaderValue::from_str(&format!(
        "/open311/v2/requests/{}.{}",
        registered.id,
        format.suffix()
    )) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// A submission assembled from Open311 parameters, before the use case checks it.
struct Draft {
    region: RegionId,
    text: String,
    fields: BTreeMap<String, String>,
    /// Form fields filled from other parameters, by the parameter's name (for errors).
    renames: Vec<(String, &'static str)>,
}

/// The place as sent: at least one of an address, coordinates or an address code.
#[derive(Debug, Default, PartialEq)]
struct PlaceInput {
    address: Option<String>,
    coordinates: Option<(f64, f64)>,
    address_id: Option<String>,
}

/// Collects every parameter problem at once; `Err` lists them all.
async fn draft(
    state: &AppState,
    params: &Params,
    keyed: &Keyed,
    sub: &Subcategory,
) -> Result<Draft, Failure> {
    let mut problems = Vec::new();
    let regions = state.store.regions().await?;
    let region = match params.one("jurisdiction_id")? {
        Some(raw) => {
            let found = find_region(&regions, raw);
            if found.is_none() {
                problems.push(UNKNOWN_JURISDICTION.to_owned());
            }
            found
        }
        None => {
            let home = state
                .store
                .account_profile(keyed.user.id)
                .await?
                .home_region;
            let found = home.and_then(|name| regions.iter().find(|r| r.name == name).map(|r| r.id));
            if found.is_none() {
                problems.push(
                    "jurisdiction_id: укажите регион — код ISO 3166-2 (например, RU-TVE) или \
                     номер региона; в учётной записи регион проживания не указан."
                        .to_owned(),
                );
            }
            found
        }
    };
    let Content {
        text,
        fields,
        renames,
    } = content(params, &sub.form, problems)?;
    match region {
        Some(region) => Ok(Draft {
            region,
            text,
            fields,
            renames,
        }),
        None => Err(Failure::bad(UNKNOWN_JURISDICTION)),
    }
}

/// A submission's text and form values, and the form fields filled from other parameters.
struct Content {
    text: String,
    fields: BTreeMap<String, String>,
    renames: Vec<(String, &'static str)>,
}

/// What a submission says, from its parameters: the place, the photo link, the form's
/// attributes and the description, each checked. `problems` may already hold the
/// caller's; any problem at all refuses the whole submission, listing every one.
fn content(
    params: &Params,
    form: &FormSpec,
    mut problems: Vec<String>,
) -> Result<Content, Failure> {
    let place = parse_place(params, &mut problems)?;
    let media_url = match params.one("media_url")? {
        Some(url) if is_web_url(url) => Some(url.to_owned()),
        Some(_) => {
            problems.push(
                "media_url: нужна ссылка http:// или https:// без пробелов, до 2000 знаков."
                    .to_owned(),
            );
            None
        }
        None => None,
    };
    let mut fields = parse_attributes(params, form, &mut problems);
    let description = params.one("description")?.unwrap_or_default();
    if let Err(code) = SubmissionText::parse(description) {
        problems.push(format!("description: {}", messages::error(code)));
    }
    // Contact fields (email, first_name, last_name, phone, device_id, account_id) are not
    // stored: the account the key belongs to already has them.
    if !problems.is_empty() {
        return Err(Failure::problems(problems));
    }
    let mut renames = Vec::new();
    let mut lines = place_into(&place, form, &mut fields, &mut renames);
    if let Some(url) = media_url {
        lines.push(format!("{PHOTO_LINE}{url}"));
    }
    let mut text = description.trim().to_owned();
    if !lines.is_empty() {
        text.push_str("\n\n");
        text.push_str(&lines.join("\n"));
    }
    Ok(Content {
        text,
        fields,
        renames,
    })
}

/// The fuzz targets' entry (`fuzz/`, `crates/fuzzing`): a `POST /requests` form body
/// checked against `form` as `create` checks it before the use case — the submission's
/// text and form values, or the GeoReport error descriptions.
#[doc(hidden)]
pub fn parse_request_body(
    body: &[u8],
    form: &FormSpec,
) -> Result<(String, BTreeMap<String, String>), Vec<String>> {
    let params = Params::parse(body);
    params
        .one("service_code")
        .and_then(|_| params.one("api_key"))
        .and_then(|_| content(&params, form, Vec::new()))
        .map(|content| (content.text, content.fields))
        .map_err(|failure| failure.descriptions)
}

fn parse_place(params: &Params, problems: &mut Vec<String>) -> Result<PlaceInput, Failure> {
    let mut place = PlaceInput::default();
    match (params.one("lat")?, params.one("long")?) {
        (Some(lat), Some(long)) => {
            let lat = lat
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && x.abs() <= 90.0);
            let long = long
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && x.abs() <= 180.0);
            match (lat, long) {
                (Some(lat), Some(long)) => place.coordinates = Some((lat, long)),
                _ => problems.push(
                    "lat, long: широта — число от -90 до 90, долгота — от -180 до 180 \
                     (WGS 84, десятичные градусы через точку)."
                        .to_owned(),
                ),
            }
        }
        (None, None) => {}
        _ => problems.push("lat, long: укажите обе координаты.".to_owned()),
    }
    if let Some(address) = params.one("address_string")? {
        let address = address.split_whitespace().collect::<Vec<_>>().join(" ");
        if address.chars().count() > 500 || has_control(&address) {
            problems.push(
                "address_string: адрес — одна строка до 500 знаков без управляющих символов."
                    .to_owned(),
            );
        } else {
            place.address = Some(address);
        }
    }
    if let Some(id) = params.one("address_id")? {
        if id.chars().count() > 100 || has_control(id) {
            problems.push("address_id: до 100 знаков без управляющих символов.".to_owned());
        } else {
            place.address_id = Some(id.to_owned());
        }
    }
    let sent = params.one("lat")?.is_some()
        || params.one("long")?.is_some()
        || params.one("address_string")?.is_some()
        || params.one("address_id")?.is_some();
    if !sent {
        problems.push(
            "lat, long, address_string, address_id: укажите место — координаты (lat и long), \
             адрес (address_string) или код адреса (address_id)."
                .to_owned(),
        );
    }
    Ok(place)
}

fn is_web_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty())
        && url.chars().count() <= 2000
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `attribute[CODE]=value` and, for a multivaluelist, `attribute[CODE][]=value` repeated:
/// the form's raw values by key. A date may come as an RFC 3339 instant (its own date).
fn parse_attributes(
    params: &Params,
    form: &FormSpec,
    problems: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let mut given: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &params.0 {
        let Some(rest) = name.strip_prefix("attribute[") else {
            continue;
        };
        let parsed = rest
            .split_once(']')
            .filter(|(code, tail)| !code.is_empty() && (tail.is_empty() || *tail == "[]"));
        match parsed {
            Some((code, _)) => given
                .entry(code.to_owned())
                .or_default()
                .push(value.trim().to_owned()),
            None => problems.push(format!(
                "{name}: параметр не распознан — нужно attribute[код]=значение."
            )),
        }
    }
    let mut fields = BTreeMap::new();
    for (code, values) in given {
        let kind = form.fields.iter().find(|f| f.key == code).map(|f| f.kind);
        let value = match kind {
            Some(FieldKind::MultiSelect) => values
                .iter()
                .filter(|v| !v.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(MULTI_SEPARATOR),
            _ if values.len() > 1 => {
                problems.push(format!(
                    "attribute[{code}]: можно указать только одно значение."
                ));
                continue;
            }
            Some(FieldKind::Date) => {
                let raw = values.concat();
                match OffsetDateTime::parse(&raw, &Rfc3339) {
                    Ok(t) => t.date().to_string(),
                    Err(_) => raw,
                }
            }
            _ => values.concat(),
        };
        fields.insert(code, value);
    }
    fields
}

/// Puts the place where the form wants it: into its address field when it has one the
/// client did not fill (an address first, else coordinates, else the address code);
/// whatever is left becomes lines of the text, which are returned.
fn place_into(
    place: &PlaceInput,
    form: &FormSpec,
    fields: &mut BTreeMap<String, String>,
    renames: &mut Vec<(String, &'static str)>,
) -> Vec<String> {
    let mut address = place
        .address
        .as_ref()
        .map(|a| (format!("{ADDRESS_LINE}{a}"), a.clone(), "address_string"));
    let mut coordinates = place.coordinates.map(|(lat, long)| {
        let value = format!("{COORDINATES_LINE}{lat}, {long}");
        (value.clone(), value, "lat")
    });
    let mut address_id = place.address_id.as_ref().map(|id| {
        let value = format!("{ADDRESS_ID_LINE}{id}");
        (value.clone(), value, "address_id")
    });
    let free_field = form
        .fields
        .iter()
        .find(|f| f.kind == FieldKind::Address)
        .filter(|f| fields.get(&f.key).is_none_or(|v| v.trim().is_empty()));
    if let Some(field) = free_field {
        let chosen = address
            .take()
            .or_else(|| coordinates.take())
            .or_else(|| address_id.take());
        if let Some((_, value, parameter)) = chosen {
            fields.insert(field.key.clone(), value);
            renames.push((
                format!("{}{}", otklik_domain::form::FIELD_PREFIX, field.key),
                parameter,
            ));
        }
    }
    [address, coordinates, address_id]
        .into_iter()
        .flatten()
        .map(|(line, _, _)| line)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    fn form() -> FormSpec {
        FormSpec::from_json(
            r#"{"fields":[
                {"key":"address","label":"Адрес","kind":"address","required":true},
                {"key":"route","label":"Маршрут","kind":"number"},
                {"key":"seen","label":"Когда","kind":"date"},
                {"key":"problems","label":"Что","kind":"multi_select","options":["Грязно","Темно"]}
            ]}"#,
        )
        .unwrap_or_default()
    }

    #[test]
    fn suffixes_choose_the_format() {
        assert_eq!(
            split_format("requests.json"),
            Some(("requests", Format::Json))
        );
        assert_eq!(
            split_format("2026-0000001.xml"),
            Some(("2026-0000001", Format::Xml))
        );
        assert_eq!(split_format("requests"), None);
        assert_eq!(split_format("requests.csv"), None);
        assert_eq!(split_format(".json"), None);
    }

    #[test]
    fn ids_and_tokens_parse_strictly() {
        assert_eq!(parse_id("12"), Some(SubmissionId(12)));
        for bad in ["", "0", "-1", "+1", "1e3", "99999999999999999999", " "] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
        assert_eq!(parse_token("2026-0000012"), Some((2026, SubmissionId(12))));
        for bad in ["2026", "26-12", "2026-", "2026-x", "abcd-12"] {
            assert_eq!(parse_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn instants_are_rfc3339_or_dates() {
        let t = parse_instant("2026-05-01T10:00:00+03:00");
        assert_eq!(t.map(rfc3339).as_deref(), Some("2026-05-01T07:00:00Z"));
        // An unencoded `+` arrives as a space.
        let t = parse_instant("2026-05-01T10:00:00 03:00");
        assert_eq!(t.map(rfc3339).as_deref(), Some("2026-05-01T07:00:00Z"));
        let t = parse_instant("2026-05-01");
        assert_eq!(t.map(rfc3339).as_deref(), Some("2026-05-01T00:00:00Z"));
        assert_eq!(parse_instant("вчера"), None);
        assert_eq!(parse_instant("2026-13-01"), None);
    }

    #[test]
    fn repeated_parameters_are_refused_and_blank_ones_absent() {
        let p = params(&[("a", "1"), ("a", "2"), ("b", "  ")]);
        assert!(p.one("a").is_err());
        assert!(matches!(p.one("b"), Ok(None)));
        assert!(matches!(p.one("c"), Ok(None)));
    }

    #[test]
    fn the_place_fills_the_address_field_and_the_rest_goes_to_the_text() {
        let place = PlaceInput {
            address: Some("Тверь, ул. Советская, 5".to_owned()),
            coordinates: Some((56.8587, 35.9176)),
            address_id: None,
        };
        let mut fields = BTreeMap::new();
        let mut renames = Vec::new();
        let lines = place_into(&place, &form(), &mut fields, &mut renames);
        assert_eq!(
            fields.get("address").map(String::as_str),
            Some("Тверь, ул. Советская, 5")
        );
        assert_eq!(lines, vec!["Координаты: 56.8587, 35.9176".to_owned()]);
        assert_eq!(
            renames,
            vec![("fields.address".to_owned(), "address_string")]
        );
        let text = format!(
            "Текст сообщения.\n\n{}\nФото: https://e.example/1.jpg",
            lines[0]
        );
        let back = place_of(&text, fields.get("address").map(String::as_str));
        assert_eq!(
            back,
            Place {
                address: Some("Тверь, ул. Советская, 5".to_owned()),
                address_id: None,
                coordinates: Some((56.8587, 35.9176)),
                media_url: Some("https://e.example/1.jpg".to_owned()),
            }
        );
    }

    #[test]
    fn coordinates_alone_fill_the_field_and_read_back() {
        let place = PlaceInput {
            coordinates: Some((-33.5, 151.25)),
            ..PlaceInput::default()
        };
        let mut fields = BTreeMap::new();
        let lines = place_into(&place, &form(), &mut fields, &mut Vec::new());
        assert!(lines.is_empty());
        let back = place_of(
            "Текст сообщения.",
            fields.get("address").map(String::as_str),
        );
        assert_eq!(back.address, None);
        assert_eq!(back.coordinates, Some((-33.5, 151.25)));
        // Without an address field, everything becomes lines.
        let mut fields = BTreeMap::new();
        let lines = place_into(&place, &FormSpec::default(), &mut fields, &mut Vec::new());
        assert!(fields.is_empty());
        assert_eq!(lines, vec!["Координаты: -33.5, 151.25".to_owned()]);
    }

    #[test]
    fn attributes_map_onto_the_form() {
        let p = params(&[
            ("attribute[route]", "21"),
            ("attribute[seen]", "2026-05-01T23:30:00+03:00"),
            ("attribute[problems][]", "Грязно"),
            ("attribute[problems][]", "Темно"),
            ("attribute[bad", "x"),
            ("attribute[route2]", "1"),
            ("attribute[route2]", "2"),
        ]);
        let mut problems = Vec::new();
        let fields = parse_attributes(&p, &form(), &mut problems);
        assert_eq!(fields.get("route").map(String::as_str), Some("21"));
        assert_eq!(fields.get("seen").map(String::as_str), Some("2026-05-01"));
        assert_eq!(
            fields.get("problems").map(String::as_str),
            Some("Грязно; Темно")
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("attribute[bad:"), "{problems:?}");
        assert!(
            problems[1].starts_with("attribute[route2]:"),
            "{problems:?}"
        );
    }

    #[test]
    fn media_urls_are_web_links() {
        assert!(is_web_url("https://example.org/a.jpg"));
        assert!(is_web_url("HTTP://example.org/a.jpg"));
        for bad in [
            "ftp://x",
            "https://",
            "javascript:alert(1)",
            "https://a b",
            "file:///etc/passwd",
        ] {
            assert!(!is_web_url(bad), "{bad}");
        }
    }

    #[test]
    fn statuses_and_notes() {
        assert_eq!(open311_status(Status::AwaitingClarification), "open");
        assert_eq!(open311_status(Status::Rated), "closed");
        assert_eq!(
            status_notes(Status::Rejected, Some(RejectionGround::UnreadableText)),
            "Оставлено без ответа по существу. Основание: Текст не поддаётся прочтению."
        );
        assert_eq!(status_notes(Status::InProgress, None), "В работе.");
    }

    #[test]
    fn use_case_fields_are_named_as_parameters() {
        assert_eq!(parameter_of("text"), "description");
        assert_eq!(parameter_of("fields.route"), "attribute[route]");
        assert_eq!(parameter_of("region"), "jurisdiction_id");
        let mut errors = otklik_domain::ValidationErrors::default();
        errors.push("fields.address", "too_long");
        let failure = Failure::from_app(
            AppError::validation(errors),
            &[("fields.address".to_owned(), "address_string")],
        );
        assert_eq!(failure.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            failure.descriptions,
            vec!["address_string: Слишком длинно.".to_owned()]
        );
    }

    #[test]
    fn regions_by_code_or_number() {
        let regions = vec![Region {
            id: RegionId(69),
            code: "RU-TVE".to_owned(),
            name: "Тверская область".to_owned(),
            utc_offset_minutes: 180,
            okato: None,
            federal_district: None,
        }];
        assert_eq!(find_region(&regions, "RU-TVE"), Some(RegionId(69)));
        assert_eq!(find_region(&regions, "ru-tve"), Some(RegionId(69)));
        assert_eq!(find_region(&regions, "69"), Some(RegionId(69)));
        assert_eq!(find_region(&regions, "70"), None);
        assert_eq!(find_region(&regions, "99999999999999999999999"), None);
        assert_eq!(find_region(&regions, ""), None);
    }

    #[test]
    fn deadlines_are_told_in_the_organisations_time() {
        let t = parse_instant("2026-05-01T23:30:00Z").unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(local_date(t, 180), "02.05.2026");
        assert_eq!(local_date(t, 0), "01.05.2026");
    }
}
