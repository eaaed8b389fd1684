//! API handlers and the OpenAPI document that describes them.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use otklik_domain::*;
use time::OffsetDateTime;
use utoipa::OpenApi;

use super::types::*;
use super::{ApiError, ApiJson, ApiPath, ApiQuery, API_UPLOAD_LIMIT};
use crate::auth::{self, ApiUser, ClientIp};
use crate::error::AppError;
use crate::usecases::{self, ActInput, RegisterInput, SubmitInput};
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

pub fn routes() -> Router<AppState> {
    let upload = || DefaultBodyLimit::max(API_UPLOAD_LIMIT);
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/auth/register", post(register))
        .route("/auth/token", post(create_token).delete(revoke_token))
        .route("/me", get(me))
        .route("/regions", get(regions))
        .route("/regions/{id}/municipalities", get(municipalities))
        .route("/organisations", get(organisations))
        .route("/catalogue", get(catalogue))
        .route("/submissions", get(list).post(create).layer(upload()))
        .route("/submissions/{id}", get(show))
        .route("/submissions/{id}/take-into-work", post(take_into_work))
        .route(
            "/submissions/{id}/intermediate-answer",
            post(intermediate_answer).layer(upload()),
        )
        .route("/submissions/{id}/answer", post(answer).layer(upload()))
        .route("/submissions/{id}/redirect", post(redirect))
        .route("/submissions/{id}/reject", post(reject))
        .route("/submissions/{id}/rate", post(rate))
        .route("/submissions/{id}/send-back", post(send_back))
        .route(
            "/submissions/{id}/request-clarification",
            post(request_clarification),
        )
        .route("/submissions/{id}/clarify", post(clarify))
        .route("/submissions/{id}/extend", post(extend))
        .route("/submissions/{id}/return-answer", post(return_answer))
        .route("/submissions/{id}/recategorise", post(recategorise))
        .route("/files/{id}", get(file))
        .merge(super::oauth::routes())
        .merge(super::organisation::routes())
        .merge(super::log::routes())
        .merge(super::monitoring::routes())
        .merge(super::console::routes())
        .merge(super::integration::routes())
        .merge(super::notifications::routes())
        .merge(super::campaigns::routes())
        .merge(super::documents::routes())
        .merge(super::search::routes())
        .merge(super::templates::routes())
        .merge(super::duplicates::routes())
        .merge(super::polls::routes())
        .merge(super::analytics::routes())
        .merge(super::discussions::routes())
        .merge(super::social::routes())
        .fallback(|| async { ApiError::from(AppError::not_found()) })
        .method_not_allowed_fallback(|| async {
            ApiError::from(AppError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
            ))
        })
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Otklik API",
        version = "1.0.0",
        description = "Citizens' messages and appeals to public bodies: submit, track, answer, rate. \
                       Errors are RFC 9457 problem+json with a stable `code`."
    ),
    paths(
        openapi_json, register, create_token, revoke_token, me, regions, municipalities, organisations, catalogue,
        list, create, show, take_into_work, intermediate_answer, answer, redirect, reject,
        rate, send_back, request_clarification, clarify, extend, return_answer, recategorise,
        file, super::oauth::token,
        super::log::info, super::log::latest_tree_head, super::log::tree_head,
        super::log::inclusion, super::log::consistency, super::log::leaves,
        super::log::receipts, super::log::receipt
    ),
    components(schemas(
        Problem, ProblemField, StatusSchema, RegisterRequest, TokenRequest, TokenResponse, UserView,
        RegionView, MunicipalityView, OrganisationView, CategoryView, SubcategoryView, FormView, FormFieldView,
        FileUpload, SubmitRequest, AnswerRequest, RedirectRequest, RejectRequest, RateRequest,
        SendBackRequest, ReasonRequest, ClarifyRequest, ExtendRequest, RecategoriseRequest,
        SubmissionList, CardView, FileView, EventView, AuthorView, SubmissionView,
        super::log::TreeHeadView, super::log::LogInfoView, super::log::InclusionView,
        super::log::ConsistencyView, super::log::LeafView, super::log::LeavesView,
        super::log::ReceiptEntryView, super::oauth::ClientTokenResponse, super::oauth::OAuthError
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "reference", description = "Regions, organisations, categories and their forms"),
        (name = "submissions", description = "Messages and appeals and their life"),
        (name = "log", description = "The transparency log (RFC 9162): signed tree heads, proofs, leaves, receipts")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // An integration client's `<client_id>.<secret>`.
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
    }
}

/// The whole API's document: this module's paths and those of the sections that keep
/// their own (`monitoring`, `console`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(super::monitoring::Doc::openapi());
    doc.merge(super::console::Doc::openapi());
    doc.merge(super::organisation::Doc::openapi());
    doc.merge(super::integration::Doc::openapi());
    doc.merge(super::notifications::Doc::openapi());
    doc.merge(super::campaigns::Doc::openapi());
    doc.merge(super::documents::Doc::openapi());
    doc.merge(super::search::Doc::openapi());
    doc.merge(super::templates::Doc::openapi());
    doc.merge(super::duplicates::Doc::openapi());
    doc.merge(super::polls::Doc::openapi());
    doc.merge(super::analytics::Doc::openapi());
    doc.merge(super::discussions::Doc::openapi());
    doc.merge(super::social::Doc::openapi());
    complete_errors(&mut doc);
    doc
}

/// The problem responses every operation can give because of how it reads its request,
/// whatever its handler does: `(status, component name, description)`.
const STANDARD_PROBLEMS: &[(&str, &str, &str)] = &[
    ("400", "BadRequest", "The JSON body does not parse (`invalid_json`), or a query parameter does not fit its type, is repeated or has no value (`invalid_query`)."),
    ("401", "Unauthorized", "No valid bearer token or API key (`unauthorized`)."),
    ("403", "Forbidden", "The policy refuses this caller (`forbidden` or a more precise code)."),
    ("404", "NotFound", "Nothing with this id, or nothing this caller may see (`not_found`); a malformed id is not found either."),
    ("409", "Conflict", "The resource's state does not allow this now (e.g. `illegal_transition`, `already_resolved`)."),
    ("413", "PayloadTooLarge", "The body is larger than this operation accepts (`request_too_large`)."),
    ("415", "UnsupportedMediaType", "The body is not sent as `application/json` (`unsupported_media_type`)."),
    ("422", "UnprocessableEntity", "The request is well-formed but its values are not accepted: `validation_failed` with a code per field in `errors`, `unknown_field` (a property the body type does not have), or `invalid_body` (a property of the wrong type, or a required one missing)."),
    ("429", "TooManyRequests", "Too many attempts from this address or account (`rate_limited`); `Retry-After` says when to try again."),
];

/// Completes every operation's error responses from its shape, so that the document
/// says what the extractors do without each annotation repeating it: a secured
/// operation can answer 401 (`ApiUser`), one with a JSON body 400, 413, 415 and 422
/// (`ApiJson`), one with path parameters 404 (`ApiPath`), one with query parameters 400
/// and 422 (`ApiQuery` and the handlers' checks). Problems are served as
/// `application/problem+json`; an annotation's own description of a status is kept,
/// other problem responses point at the shared `components.responses`.
fn complete_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{Ref, RefOr};

    let components = doc.components.get_or_insert_with(Default::default);
    for (status, name, description) in STANDARD_PROBLEMS {
        components.responses.insert(
            (*name).to_owned(),
            RefOr::T(problem_response(status, description)),
        );
    }
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let params = operation.parameters.as_deref().unwrap_or_default();
            let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
            let (in_path, in_query) = (has(ParameterIn::Path), has(ParameterIn::Query));
            let json_body = operation
                .request_body
                .as_ref()
                .is_some_and(|b| b.content.contains_key("application/json"));
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let mut statuses = Vec::new();
            if json_body || in_query {
                statuses.extend(["400", "422"]);
            }
            if secured {
                statuses.push("401");
            }
            if in_path {
                statuses.push("404");
            }
            if json_body {
                statuses.extend(["413", "415"]);
            }
            let responses = &mut operation.responses.responses;
            for status in statuses {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::T(utoipa::openapi::Response::new("")));
            }
            for (status, response) in responses.iter_mut() {
                let RefOr::T(r) = response else { continue };
                let is_problem = r.content.is_empty() || r.content.values().any(is_problem_schema);
                if !is_problem || !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                let standard = STANDARD_PROBLEMS.iter().find(|(s, ..)| s == status);
                match standard {
                    Some((_, name, _)) if r.description.is_empty() => {
                        *response = RefOr::Ref(Ref::new(format!("#/components/responses/{name}")));
                    }
                    _ => {
                        let own = std::mem::take(&mut r.description);
                        *r = problem_response(status, &own);
                    }
                }
            }
        }
    }
}

fn is_problem_schema(content: &utoipa::openapi::Content) -> bool {
    matches!(&content.schema, Some(utoipa::openapi::RefOr::Ref(r))
        if r.ref_location == "#/components/schemas/Problem")
}

/// A problem+json response, with `WWW-Authenticate` on 401 and `Retry-After` on 429.
fn problem_response(status: &str, description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{Content, Ref, ResponseBuilder};
    let mut response = ResponseBuilder::new().description(description).content(
        "application/problem+json",
        Content::new(Some(Ref::from_schema_name("Problem"))),
    );
    let header = |kind: Type, text: &str| {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(kind).build())
            .description(Some(text))
            .build()
    };
    match status {
        "401" => {
            response = response.header(
                "WWW-Authenticate",
                header(Type::String, "`Bearer realm=\"otklik\"`"),
            );
        }
        "429" => {
            response = response.header("Retry-After", header(Type::Integer, "Seconds to wait."));
        }
        _ => {}
    }
    response.build()
}

/// This document (OpenAPI 3.1).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "reference",
    responses((status = 200, description = "The OpenAPI document", body = OpenApiDocumentSchema)))]
async fn openapi_json() -> Response {
    match openapi().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(_) => ApiError::from(AppError::internal()).into_response(),
    }
}

/// Registers a citizen account.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = UserView), (status = 409, body = Problem, description = "`email_taken`: an account with this address exists"),
        (status = 429, body = Problem)))]
async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<Response> {
    state.limiter.register(ip)?;
    let input = RegisterInput {
        email: body.email,
        full_name: body.full_name,
        password: body.password,
        password_repeat: None,
    };
    let id = usecases::register_citizen(
        state.store.as_ref(),
        &input,
        state.config.identity.local_accounts_level,
    )
    .await
    .map_err(super::conflict)?;
    let user = state.store.user(id).await?;
    Ok((StatusCode::CREATED, Json(UserView::from(&user))).into_response())
}

/// Exchanges credentials for a bearer token (valid 14 days).
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = TokenRequest,
    responses((status = 201, body = TokenResponse), (status = 401, body = Problem, description = "`invalid_credentials`, or `account_locked` after repeated failures"),
        (status = 429, body = Problem)))]
async fn create_token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<TokenRequest>,
) -> ApiResult<Response> {
    let (user, token, expires) = auth::login(&state, ip, &body.email, &body.password).await?;
    let response = TokenResponse {
        token,
        expires_at: rfc3339(expires),
        user: UserView::from(&user),
    };
    Ok(super::idempotency::no_replay(
        (StatusCode::CREATED, Json(response)).into_response(),
    ))
}

/// Revokes the bearer token of this request.
#[utoipa::path(delete, path = "/api/v1/auth/token", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
async fn revoke_token(
    State(state): State<AppState>,
    _user: ApiUser,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    if let Some(token) = auth::bearer_token(&headers) {
        state
            .store
            .delete_session(&auth::token_digest(token))
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = Problem)))]
async fn me(user: ApiUser) -> Json<UserView> {
    Json(UserView::from(&user.0))
}

/// Regions where submissions can be sent.
#[utoipa::path(get, path = "/api/v1/regions", tag = "reference", responses((status = 200, body = Vec<RegionView>)))]
async fn regions(State(state): State<AppState>) -> ApiResult<Json<Vec<RegionView>>> {
    let regions = state.store.regions().await?;
    Ok(Json(
        regions
            .into_iter()
            .map(|r| RegionView {
                id: r.id.0,
                code: r.code,
                name: r.name,
                utc_offset_minutes: r.utc_offset_minutes,
                okato: r.okato,
                federal_district: r.federal_district,
            })
            .collect(),
    ))
}

/// The municipalities of a region loaded in this installation (for `municipality_id`).
#[utoipa::path(get, path = "/api/v1/regions/{id}/municipalities", tag = "reference", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<MunicipalityView>), (status = 404, body = Problem)))]
async fn municipalities(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<MunicipalityView>>> {
    let id = id
        .parse::<i64>()
        .map(RegionId)
        .map_err(|_| AppError::not_found())?;
    if !state.store.regions().await?.iter().any(|r| r.id == id) {
        return Err(AppError::not_found().into());
    }
    Ok(Json(
        state
            .store
            .municipalities(id)
            .await?
            .into_iter()
            .map(|m| MunicipalityView {
                id: m.id.0,
                oktmo: m.oktmo,
                name: m.name,
                utc_offset_minutes: m.utc_offset_minutes,
            })
            .collect(),
    ))
}

/// Organisations connected to the platform.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "reference", responses((status = 200, body = Vec<OrganisationView>)))]
async fn organisations(State(state): State<AppState>) -> ApiResult<Json<Vec<OrganisationView>>> {
    let orgs = state.store.organisations().await?;
    Ok(Json(
        orgs.into_iter()
            .map(|o| OrganisationView {
                id: o.id.0,
                name: o.name,
                kind: o.kind,
                region_id: o.region.map(|r| r.0),
                is_coordinator: o.is_coordinator,
            })
            .collect(),
    ))
}

/// Categories and subcategories, each with its interactive form.
#[utoipa::path(get, path = "/api/v1/catalogue", tag = "reference", responses((status = 200, body = Vec<CategoryView>)))]
async fn catalogue(State(state): State<AppState>) -> ApiResult<Json<Vec<CategoryView>>> {
    let catalogue = state.store.catalogue().await?;
    Ok(Json(
        catalogue
            .into_iter()
            .map(|c| CategoryView {
                id: c.id.0,
                name: c.name,
                subcategories: c
                    .subcategories
                    .into_iter()
                    .map(|s| SubcategoryView {
                        id: s.id.0,
                        name: s.name,
                        form: FormView {
                            photo_required: s.form.photo_required,
                            fields: s
                                .form
                                .fields
                                .into_iter()
                                .map(|f| FormFieldView {
                                    key: f.key,
                                    label: f.label,
                                    kind: serde_json::to_value(f.kind)
                                        .ok()
                                        .and_then(|v| v.as_str().map(str::to_owned))
                                        .unwrap_or_default(),
                                    required: f.required,
                                    hint: f.hint,
                                    options: f.options,
                                })
                                .collect(),
                        },
                    })
                    .collect(),
            })
            .collect(),
    ))
}

/// The caller's list: own submissions (citizen), the organisation's inbox (official),
/// everything (operator). Newest first.
#[utoipa::path(get, path = "/api/v1/submissions", tag = "submissions", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = SubmissionList), (status = 403, body = Problem, description = "Roles without submissions (an organisation's administrator)")))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<SubmissionList>> {
    let now = OffsetDateTime::now_utc();
    // The pages take a checkbox's `on`; the API a boolean, and nothing else.
    let overdue = match params.overdue.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Some("true".to_owned()),
        Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => None,
        Some(_) => return Err(AppError::field("overdue", "unknown_value").into()),
    };
    let filters = usecases::ListFilters {
        status: params.status,
        category: params.category_id,
        overdue,
        page: None,
        done: None,
    };
    let mut query = usecases::parse_filters(&filters, now)?;
    let mut errors = ValidationErrors::default();
    if let Some(limit) = params.limit.as_deref().filter(|s| !s.is_empty()) {
        if let Some(l) = errors.check(
            "limit",
            limit
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=200).contains(l))
                .ok_or("out_of_range"),
        ) {
            query.limit = l;
        }
    }
    if let Some(offset) = params.offset.as_deref().filter(|s| !s.is_empty()) {
        if let Some(o) = errors.check("offset", offset.parse::<u32>().map_err(|_| "out_of_range")) {
            query.offset = o;
        }
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors).into());
    }
    let page = usecases::list(state.store.as_ref(), &user.principal(), &query).await?;
    Ok(Json(SubmissionList {
        items: page.items.iter().map(|c| CardView::new(c, now)).collect(),
        total: page.total,
        total_exact: page.total_exact,
        limit: query.limit,
        offset: query.offset,
    }))
}

pub(super) fn decode_files(files: Vec<FileUpload>) -> Result<Vec<(String, Vec<u8>)>, AppError> {
    files
        .into_iter()
        .map(|f| {
            base64::engine::general_purpose::STANDARD
                .decode(f.content_base64.trim())
                .map(|bytes| (f.name, bytes))
                .map_err(|_| AppError::field("attachments", "invalid_base64"))
        })
        .collect()
}

/// Sends a message or an appeal. It is registered at once with a number and a deadline
/// and routed to the competent organisation.
#[utoipa::path(post, path = "/api/v1/submissions", tag = "submissions", request_body = SubmitRequest, security(("bearer" = [])),
    responses((status = 201, body = SubmissionView, headers(("Location" = String, description = "The new submission"))),
        (status = 403, body = Problem, description = "Only citizens submit (`citizens_only`); an appeal needs a standard identity"),
        (status = 429, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<SubmitRequest>,
) -> ApiResult<Response> {
    let now = OffsetDateTime::now_utc();
    state.limiter.submit(ip, user.0.id)?;
    let Some(subcategory) = body.subcategory_id else {
        return Err(AppError::field("subcategory_id", "required").into());
    };
    let input = SubmitInput {
        kind: body.kind,
        region: body.region_id.map(|r| r.to_string()).unwrap_or_default(),
        municipality: body
            .municipality_id
            .map(|m| m.to_string())
            .unwrap_or_default(),
        text: body.text,
        fields: body.fields,
        files: decode_files(body.attachments)?,
        channel: otklik_domain::lifecycle::Channel::Api,
        origin: None,
        public: body.public,
    };
    let registered = usecases::submit(
        state.store.as_ref(),
        &user.principal(),
        SubcategoryId(subcategory),
        input,
        now,
    )
    .await?;
    let detail =
        usecases::view(state.store.as_ref(), &user.principal(), registered.id, now).await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v1/submissions/{}", registered.id),
        )],
        Json(SubmissionView::new(&detail, user.actor(), now)),
    )
        .into_response())
}

/// One submission with its timeline, files and the actions the caller may take.
#[utoipa::path(get, path = "/api/v1/submissions/{id}", tag = "submissions", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = SubmissionView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SubmissionView>> {
    let id = parse_id(&id)?;
    let now = OffsetDateTime::now_utc();
    let detail = usecases::view(state.store.as_ref(), &user.principal(), id, now).await?;
    Ok(Json(SubmissionView::new(&detail, user.actor(), now)))
}

fn parse_id(raw: &str) -> Result<SubmissionId, AppError> {
    raw.parse::<i64>()
        .map(SubmissionId)
        .map_err(|_| AppError::not_found())
}

async fn act(
    state: &AppState,
    user: &ApiUser,
    id: &str,
    name: &str,
    input: ActInput,
) -> ApiResult<Response> {
    let id = parse_id(id)?;
    let now = OffsetDateTime::now_utc();
    usecases::act(
        state.store.as_ref(),
        &user.principal(),
        id,
        name,
        input,
        now,
    )
    .await?;
    // A client that may act but not read gets the success without the submission.
    if otklik_domain::access::read_submissions(&user.principal()).is_err() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    // The response shows the author's contact to staff: a read like any other.
    match usecases::view(state.store.as_ref(), &user.principal(), id, now).await {
        Ok(detail) => Ok(Json(SubmissionView::new(&detail, user.actor(), now)).into_response()),
        // The action took the submission out of the caller's sight (an official redirected
        // it to another organisation): it succeeded, and there is nothing left to show.
        Err(e) if e.code == "not_found" => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e) => Err(e.into()),
    }
}

/// An official of the holding organisation takes the submission into work.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/take-into-work", tag = "submissions", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = SubmissionView), (status = 204, description = "Done; the caller may not read submissions (a client without `submissions:read`) or no longer sees this one"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn take_into_work(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    act(&state, &user, &id, "take_into_work", ActInput::default()).await
}

/// Posts an intermediate answer (the submission stays in work).
#[utoipa::path(post, path = "/api/v1/submissions/{id}/intermediate-answer", tag = "submissions", params(("id" = i64, Path)), request_body = AnswerRequest, security(("bearer" = [])),
    responses((status = 200, body = SubmissionView), (status = 204, description = "Done; the caller may not read submissions (a client without `submissions:read`) or no longer sees this one"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn intermediate_answer(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AnswerRequest>,
) -> ApiResult<Response> {
    let input = ActInput {
        text: body.text,
        files: decode_files(body.attachments)?,
        ..ActInput::default()
    };
    act(&state, &user, &id, "intermediate_answer", input).await
}

/// Gives the final answer, with result documents.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/answer", tag = "submissions", params(("id" = i64, Path)), request_body = AnswerRequest, security(("bearer" = [])),
    responses((status = 200, body = SubmissionView), (status = 204, description = "Done; the caller may not read submissions (a client without `submissions:read`) or no longer sees this one"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn answer(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AnswerRequest>,
) -> ApiResult<Response> {
    let input = ActInput {
        text: body.text,
        files: decode_files(body.attachments)?,
        ..ActInput::default()
    };
    act(&state, &user, &id, "answer", input).await
}

/// Redirects the submission to another organisation, with a reason.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/redirect", tag = "submissions", params(("id" = i64, Path)), request_body = RedirectRequest, security(("bearer" = [])),
    responses((status = 200, body = SubmissionView), (status = 204, description = "Redirected out of the caller's organisation, which no longer sees it, or the caller may not read submissions"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn redirect(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RedirectRequest>,
) -> ApiResult<Response> {
    let input = ActInput {
        to_org: body
            .organisation_id
            .map(|o| o.to_string())
            .unwrap_or_default(),
        reason: body.reason,
        ..ActInput::default()
    };
    act(&state, &user, &id, "redirect", input).await
}

/// Leaves the submission without an answer on the merits, on a legal ground.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/reject", tag = "submissions", params(("id" = i64, Path)), request_body = RejectRequest, security(("bearer" = [])),
    responses((status = 200, body = SubmissionView), (status = 204, description = "Done; the caller may not read submissions (a client without `submissions:read`) or no longer sees this one"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn reject(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RejectRequest>,
) -> ApiResult<Response> {
    let input = ActInput {
        ground: body.ground,
        comment: body.comment,
        ..ActInput::default()
    };
    act(&state, &user, &id, "reject", input).await
}

/// The author rates the answer, 1 to 5.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/rate", tag = "submissions", params(("id" = i64, Path)), request_body = RateRequest, security(("bearer" = [])),
    responses((status = 200, body = SubmissionView), (status = 204, description = "Done; the caller may not read submissions (a client without `submissions:read`) or no longer sees this one"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn rate(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RateRequest>,
) -> ApiResult<Response> {
    let input = ActInput {
        score: body.score.map(|s| s.to_string()).unwrap_or_default(),
        comment: body.comment,
        ..ActInput::default()
    };
    act(&state, &user, &id, "rate", input).await
}

/// After a rating of 1 or 2, the author sends the answer back for re-review, once.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/send-back", tag = "submissions", params(("id" = i64, Path)), request_body = SendBackRequest, security(("bearer" = [])),
    responses((status = 200, body = SubmissionView), (status = 204, description = "Done; the caller may not read submissions (a client without `submissions:read`) or no longer sees this one"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn send_back(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SendBackRequest>,
) -> ApiResult<Response> {
    let input = ActInput {
        reason: body.reason,
        ..ActInput::default()
    };
    act(&state, &user, &id, "send_back", input).await
}

/// The holding official asks the citizen to clarify; the term's clock pauses until the
/// citizen answers.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/request-clarification", tag = "submissions", params(("id" = i64, Path)), request_body = ReasonRequest, security(("bearer" = [])),
    responses((status = 200, body = SubmissionView), (status = 204, description = "Done; the caller may not read submissions (a client without `submissions:read`) or no longer sees this one"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn request_clarification(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonRequest>,
) -> ApiResult<Response> {
    let input = ActInput {
        reason: body.reason,
        ..ActInput::default()
    };
    act(&state, &user, &id, "request_clarification", input).await
}

/// The author's clarification; the clock resumes and the deadline moves by the pause.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/clarify", tag = "submissions", params(("id" = i64, Path)), request_body = ClarifyRequest, security(("bearer" = [])),
    responses((status = 200, body = SubmissionView), (status = 204, description = "Done; the caller may not read submissions (a client without `submissions:read`) or no longer sees this one"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn clarify(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ClarifyRequest>,
) -> ApiResult<Response> {
    let input = ActInput {
        text: body.text,
        ..ActInput::default()
    };
    act(&state, &user, &id, "clarify", input).await
}

/// Extends an appeal's term once, by 1–30 days, with notice to the citizen.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/extend", tag = "submissions", params(("id" = i64, Path)), request_body = ExtendRequest, security(("bearer" = [])),
    responses((status = 200, body = SubmissionView), (status = 204, description = "Done; the caller may not read submissions (a client without `submissions:read`) or no longer sees this one"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn extend(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ExtendRequest>,
) -> ApiResult<Response> {
    let input = ActInput {
        days: body.days.map(|d| d.to_string()).unwrap_or_default(),
        reason: body.reason,
        ..ActInput::default()
    };
    act(&state, &user, &id, "extend", input).await
}

/// The region's coordinator returns an answer that does not answer (an incident).
#[utoipa::path(post, path = "/api/v1/submissions/{id}/return-answer", tag = "submissions", params(("id" = i64, Path)), request_body = ReasonRequest, security(("bearer" = [])),
    responses((status = 200, body = SubmissionView), (status = 204, description = "Done; the caller may not read submissions (a client without `submissions:read`) or no longer sees this one"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn return_answer(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonRequest>,
) -> ApiResult<Response> {
    let input = ActInput {
        reason: body.reason,
        ..ActInput::default()
    };
    act(&state, &user, &id, "return_answer", input).await
}

/// The region's coordinator fixes the category; the submission is routed again.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/recategorise", tag = "submissions", params(("id" = i64, Path)), request_body = RecategoriseRequest, security(("bearer" = [])),
    responses((status = 200, body = SubmissionView), (status = 204, description = "Done; the caller may not read submissions or no longer sees this one"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn recategorise(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RecategoriseRequest>,
) -> ApiResult<Response> {
    let input = ActInput {
        subcategory: body
            .subcategory_id
            .map(|s| s.to_string())
            .unwrap_or_default(),
        reason: body.reason,
        ..ActInput::default()
    };
    act(&state, &user, &id, "recategorise", input).await
}

/// Downloads a file of a submission the caller may see.
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "submissions", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 403, body = Problem), (status = 200, description = "The file's bytes, as uploaded",
        content((FileBytesSchema = "image/jpeg"), (FileBytesSchema = "image/png"), (FileBytesSchema = "application/pdf")))))]
async fn file(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let id = id
        .parse::<i64>()
        .map(FileId)
        .map_err(|_| AppError::not_found())?;
    let now = OffsetDateTime::now_utc();
    let file = usecases::download(state.store.as_ref(), &user.principal(), id, now).await?;
    Ok(crate::pages::file_response(file))
}
