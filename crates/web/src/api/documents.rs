//! Electronic documents, signatures and certificates through the API: the same use cases
//! as the `/documents` and `/account/signing` pages (`crate::documents`).

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use otklik_domain::access::Capability;
use otklik_domain::document::Party;
use otklik_domain::{CertificateId, DocumentId};
use otklik_store::{CertificateRecord, DocumentBox, DocumentCard, DocumentDetail};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{rfc3339, ApiError, ApiJson, ApiPath, ApiQuery, Problem};
use crate::auth::ApiUser;
use crate::documents::{self as usecase, viewer_of, DocumentInput};
use crate::error::AppError;
use crate::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// A 10 MiB document in base64 and the JSON around it.
const DOCUMENT_JSON_LIMIT: usize = 15 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    let upload = || DefaultBodyLimit::max(DOCUMENT_JSON_LIMIT);
    Router::new()
        .route(
            "/documents",
            get(list_documents).post(create_document).layer(upload()),
        )
        .route("/documents/{id}", get(document))
        .route("/documents/{id}/start", post(start_document))
        .route("/documents/{id}/cancel", post(cancel_document))
        .route("/documents/{id}/sign", post(sign_document).layer(upload()))
        .route("/documents/{id}/decline", post(decline_document))
        .route("/documents/{id}/content", get(document_content))
        .route("/documents/{id}/verification", get(document_verification))
        .route("/documents/{id}/package", get(document_package))
        .route(
            "/signatures/verify",
            post(verify_signatures).layer(DefaultBodyLimit::max(2 * DOCUMENT_JSON_LIMIT)),
        )
        .route("/signatures/authorities", get(authorities))
        .route(
            "/account/certificates",
            get(list_certificates).post(issue_certificate),
        )
        .route("/account/certificates/register", post(register_certificate))
        .route(
            "/account/certificates/{id}/revoke",
            post(revoke_certificate),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(list_documents, create_document, document, start_document, cancel_document, sign_document,
        decline_document, document_content, document_verification, document_package, verify_signatures, authorities,
        list_certificates, issue_certificate, register_certificate, revoke_certificate),
    components(schemas(DocumentCardView, DocumentList, NewDocumentRequest, DocumentView, SignerView,
        RecipientView, DocumentEventView, SignRequest, DeclineRequest, VerifyRequest, VerifyResponse,
        CertificateView, CertificateList, IssueRequest, RegisterRequest, CreatedDocument, AuthorityView, BoxParam)),
    tags((name = "documents", description = "Electronic documents, signing routes and signatures (CMS, GOST R 34.10-2012 or ECDSA)"))
)]
pub struct Doc;

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentCardView {
    pub id: i64,
    pub title: String,
    /// `draft`, `signing`, `completed`, `declined`, `expired` or `cancelled`.
    pub status: &'static str,
    pub deadline_at: String,
    pub created_at: String,
    pub author_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentList {
    pub items: Vec<DocumentCardView>,
}

fn card_view(c: &DocumentCard) -> DocumentCardView {
    DocumentCardView {
        id: c.id.0,
        title: c.title.clone(),
        status: c.status.as_str(),
        deadline_at: rfc3339(c.deadline_at),
        created_at: rfc3339(c.created_at),
        author_name: c.author_name.clone(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// `to_sign` (waiting for one's signature now), `authored` (default) or `involved`
    /// (one signs or receives them).
    pub r#box: Option<BoxParam>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BoxParam {
    ToSign,
    Authored,
    Involved,
}

/// One's documents in a box, newest first (at most 200).
#[utoipa::path(get, path = "/api/v1/documents", tag = "documents", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = DocumentList), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn list_documents(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<DocumentList>> {
    user.require(Capability::OwnAccount)?;
    let which = match params.r#box {
        None | Some(BoxParam::Authored) => DocumentBox::Authored,
        Some(BoxParam::ToSign) => DocumentBox::ToSign,
        Some(BoxParam::Involved) => DocumentBox::Involved,
    };
    let items = state.store.documents(viewer_of(&user.0), which).await?;
    Ok(Json(DocumentList {
        items: items.iter().map(card_view).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDocumentRequest {
    #[schema(min_length = 2, max_length = 200)]
    pub title: String,
    /// The file's name (its extension is kept); with `content_base64`.
    pub file_name: Option<String>,
    /// The document's bytes (any format, at most 10 MiB). Without it, `text` is the
    /// document.
    pub content_base64: Option<String>,
    pub text: Option<String>,
    /// `sequential` or `parallel`.
    pub order: String,
    /// `YYYY-MM-DD` (the end of that day, Moscow time) or an RFC 3339 instant; in the
    /// future, at most a year ahead.
    pub deadline: String,
    /// Each an account's e-mail address, or an organisation's name or `#id`.
    #[schema(min_items = 1, max_items = 20)]
    pub signers: Vec<String>,
    #[schema(max_items = 20)]
    pub recipients: Option<Vec<String>>,
}

impl NewDocumentRequest {
    /// The document as the use case takes it: the file decoded (standard base64), the
    /// parties' count bounded.
    pub(crate) fn input(self) -> Result<DocumentInput, AppError> {
        let file = match self.content_base64.as_deref() {
            Some(raw) => Some((
                self.file_name
                    .clone()
                    .unwrap_or_else(|| "document".to_owned()),
                decode("content_base64", raw)?,
            )),
            None => None,
        };
        if self.signers.len() > 100 || self.recipients.as_ref().is_some_and(|r| r.len() > 100) {
            return Err(AppError::field("signers", "too_many_signers"));
        }
        Ok(DocumentInput {
            title: self.title,
            file,
            text: self.text.unwrap_or_default(),
            order: self.order,
            deadline: self.deadline,
            signers: self.signers,
            recipients: self.recipients.unwrap_or_default(),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedDocument {
    pub id: i64,
}

/// Stores a draft document with its signing route (verified accounts).
#[utoipa::path(post, path = "/api/v1/documents", tag = "documents", security(("bearer" = [])),
    request_body = NewDocumentRequest,
    responses((status = 201, body = CreatedDocument), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn create_document(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(request): ApiJson<NewDocumentRequest>,
) -> ApiResult<Response> {
    user.require(Capability::Sign)?;
    let input = request.input()?;
    let id = usecase::create(&state, &user.0, &input, OffsetDateTime::now_utc()).await?;
    Ok((StatusCode::CREATED, Json(CreatedDocument { id: id.0 })).into_response())
}

pub(crate) fn decode(field: &str, raw: &str) -> Result<Vec<u8>, AppError> {
    base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .map_err(|_| AppError::field(field, "invalid_base64"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignerView {
    pub slot: usize,
    /// The person's or the organisation's name.
    pub name: String,
    pub organisation_id: Option<i64>,
    /// `waiting`, `pending`, `signed` or `declined`.
    pub state: &'static str,
    pub acted_at: Option<String>,
    pub decline_reason: Option<String>,
    /// `platform` or `uploaded`.
    pub method: Option<String>,
    pub subject: Option<String>,
    pub algorithm: Option<String>,
    pub certificate_sha256: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientView {
    pub name: String,
    pub organisation_id: Option<i64>,
    pub delivered_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentEventView {
    pub kind: String,
    pub slot: Option<usize>,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    pub id: i64,
    pub title: String,
    pub file_name: String,
    pub media_type: String,
    pub size: u64,
    /// SHA-256 (hex) of the content, frozen when the route starts.
    pub sha256: String,
    /// `sequential` or `parallel`.
    pub order: &'static str,
    pub status: &'static str,
    pub deadline_at: String,
    pub author_name: String,
    pub submission_id: Option<i64>,
    /// The transparency-log leaf that recorded the frozen content.
    pub log_index: Option<u64>,
    /// The slot the caller may sign or decline now.
    pub your_slot: Option<usize>,
    pub signers: Vec<SignerView>,
    pub recipients: Vec<RecipientView>,
    pub events: Vec<DocumentEventView>,
}

fn document_view(d: &DocumentDetail, user: &otklik_store::UserRecord) -> DocumentView {
    let org_of = |p: Party| match p {
        Party::Organisation(org) => Some(org.0),
        Party::Person(_) => None,
    };
    DocumentView {
        id: d.id.0,
        title: d.title.clone(),
        file_name: d.file_name.clone(),
        media_type: d.mime.clone(),
        size: d.size,
        sha256: d.sha256.clone(),
        order: d.order.as_str(),
        status: d.status.as_str(),
        deadline_at: rfc3339(d.deadline_at),
        author_name: d.author_name.clone(),
        submission_id: d.submission.map(|s| s.0),
        log_index: d.log_index,
        your_slot: d.actionable_slot(&viewer_of(user)),
        signers: d
            .signers
            .iter()
            .map(|s| SignerView {
                slot: s.slot,
                name: s.name.clone(),
                organisation_id: org_of(s.party),
                state: s.state.as_str(),
                acted_at: s.acted_at.map(rfc3339),
                decline_reason: s.decline_reason.clone(),
                method: s.method.clone(),
                subject: s.subject.clone(),
                algorithm: s.algorithm.clone(),
                certificate_sha256: s.certificate_sha256.clone(),
            })
            .collect(),
        recipients: d
            .recipients
            .iter()
            .map(|r| RecipientView {
                name: r.name.clone(),
                organisation_id: org_of(r.party),
                delivered_at: r.delivered_at.map(rfc3339),
            })
            .collect(),
        events: d
            .events
            .iter()
            .map(|e| DocumentEventView {
                kind: e.kind.clone(),
                slot: e.slot,
                at: rfc3339(e.at),
            })
            .collect(),
    }
}

fn document_id(raw: &str) -> Result<DocumentId, AppError> {
    raw.parse::<i64>()
        .map(DocumentId)
        .map_err(|_| AppError::not_found())
}

/// A document with its route, recipients and history, for its author, signers and
/// recipients.
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "documents", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = DocumentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn document(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DocumentView>> {
    user.require(Capability::OwnAccount)?;
    let detail = state
        .store
        .document(document_id(&id)?, viewer_of(&user.0))
        .await?;
    Ok(Json(document_view(&detail, &user.0)))
}

/// The author sends the draft for signatures: its content is frozen and logged.
#[utoipa::path(post, path = "/api/v1/documents/{id}/start", tag = "documents", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = DocumentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn start_document(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DocumentView>> {
    author_command(&state, &user, &id, usecase::AuthorCommand::Start).await
}

async fn author_command(
    state: &AppState,
    user: &ApiUser,
    id: &str,
    command: usecase::AuthorCommand,
) -> ApiResult<Json<DocumentView>> {
    user.require(command.capability())?;
    let detail = usecase::author_command(
        state,
        &user.0,
        document_id(id)?,
        command,
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok(Json(document_view(&detail, &user.0)))
}

/// The author withdraws a document that is not complete.
#[utoipa::path(post, path = "/api/v1/documents/{id}/cancel", tag = "documents", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = DocumentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel_document(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DocumentView>> {
    author_command(&state, &user, &id, usecase::AuthorCommand::Cancel).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// Sign with this platform-held key, opened by `password`…
    pub certificate_id: Option<i64>,
    pub password: Option<String>,
    /// … or accept this detached CMS signature (DER or PEM, base64) made elsewhere.
    pub signature_base64: Option<String>,
}

/// Signs the caller's pending slot: with their platform-held key (`certificate_id` and
/// `password`), or with an uploaded detached signature that must verify.
#[utoipa::path(post, path = "/api/v1/documents/{id}/sign", tag = "documents", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = SignRequest,
    responses((status = 200, body = DocumentView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn sign_document(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<SignRequest>,
) -> ApiResult<Json<DocumentView>> {
    user.require(Capability::Sign)?;
    let id = document_id(&id)?;
    let now = OffsetDateTime::now_utc();
    let detail = match (request.certificate_id, request.signature_base64.as_deref()) {
        (Some(certificate), None) => {
            usecase::sign_with_platform_key(
                &state,
                &user.0,
                id,
                CertificateId(certificate),
                request.password.as_deref().unwrap_or_default(),
                now,
            )
            .await?
        }
        (None, Some(raw)) => {
            let signature = decode("signature_base64", raw)?;
            usecase::sign_with_upload(&state, &user.0, id, signature, now).await?
        }
        _ => return Err(AppError::field("certificate_id", "certificate_or_signature").into()),
    };
    Ok(Json(document_view(&detail, &user.0)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineRequest {
    #[schema(min_length = 3, max_length = 2000)]
    pub reason: String,
}

/// Declines the caller's pending slot; the route stops and the author is told.
#[utoipa::path(post, path = "/api/v1/documents/{id}/decline", tag = "documents", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = DeclineRequest,
    responses((status = 200, body = DocumentView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn decline_document(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<DeclineRequest>,
) -> ApiResult<Json<DocumentView>> {
    user.require(Capability::OwnAccount)?;
    let id = document_id(&id)?;
    usecase::decline(&state, &user.0, id, &request.reason).await?;
    let detail = state.store.document(id, viewer_of(&user.0)).await?;
    Ok(Json(document_view(&detail, &user.0)))
}

/// The document's bytes.
#[utoipa::path(get, path = "/api/v1/documents/{id}/content", tag = "documents", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn document_content(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    user.require(Capability::OwnAccount)?;
    let content = state
        .store
        .document_content(document_id(&id)?, viewer_of(&user.0))
        .await?;
    Ok(([(header::CONTENT_TYPE, content.mime)], content.content).into_response())
}

/// Every signature of the document verified now: integrity, signer, certificate validity
/// at signing time, chain to the trust store, revocation.
#[utoipa::path(get, path = "/api/v1/documents/{id}/verification", tag = "documents", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn document_verification(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    user.require(Capability::OwnAccount)?;
    let (detail, reports) =
        usecase::verify_document(&state, viewer_of(&user.0), document_id(&id)?).await?;
    Ok(Json(usecase::report_json(&detail, &reports)))
}

/// The signed package: a ZIP with the document, each signature (`.p7s`) and the
/// verification report (HTML and JSON).
#[utoipa::path(get, path = "/api/v1/documents/{id}/package", tag = "documents", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/zip"), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn document_package(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    use askama::Template as _;
    user.require(Capability::OwnAccount)?;
    let (name, zip) = usecase::package(&state, viewer_of(&user.0), document_id(&id)?, |d, r| {
        crate::pages::documents::StandaloneReport::of(d, r)
            .render()
            .unwrap_or_default()
    })
    .await?;
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        zip,
    )
        .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The signed bytes (base64).
    pub content_base64: String,
    /// Detached CMS signatures (DER or PEM, base64), at most 20.
    #[schema(min_items = 1, max_items = 20)]
    pub signatures_base64: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse {
    /// Every signature valid.
    pub valid: bool,
    pub content_sha256: String,
    /// One report per signature, in order.
    #[schema(value_type = Vec<Object>)]
    pub reports: Vec<serde_json::Value>,
}

/// Verifies any content and its detached signatures against the platform's trust
/// store; nothing is stored. 422 `malformed_signature` for bytes that are not CMS.
#[utoipa::path(post, path = "/api/v1/signatures/verify", tag = "documents",
    request_body = VerifyRequest,
    responses((status = 200, body = VerifyResponse), (status = 400, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem)))]
async fn verify_signatures(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<VerifyRequest>,
) -> ApiResult<Json<VerifyResponse>> {
    if request.signatures_base64.is_empty() {
        return Err(AppError::field("signatures_base64", "signature_required").into());
    }
    if request.signatures_base64.len() > 20 {
        return Err(AppError::field("signatures_base64", "too_many_signatures").into());
    }
    let content = Arc::new(decode("content_base64", &request.content_base64)?);
    let mut reports = Vec::new();
    let mut valid = true;
    // Every report hashes the same bytes: its digest is the content's.
    let mut content_sha256 = String::new();
    for raw in &request.signatures_base64 {
        let signature = decode("signatures_base64", raw)?;
        let report = state.signing.verify(content.clone(), signature).await?;
        valid &= report.valid;
        content_sha256.clone_from(&report.content_sha256);
        reports.push(serde_json::to_value(&report).unwrap_or_default());
    }
    Ok(Json(VerifyResponse {
        valid,
        content_sha256,
        reports,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    pub id: i64,
    pub algorithm: String,
    pub subject: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// Issued by the platform: the key is held here, sealed with the signing password.
    pub platform_held: bool,
    pub revoked_at: Option<String>,
    pub sha256: String,
    /// The certificate (DER, base64).
    pub certificate_base64: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateList {
    pub items: Vec<CertificateView>,
    /// The algorithms this installation issues certificates for.
    pub algorithms: Vec<&'static str>,
}

fn certificate_view(c: &CertificateRecord) -> CertificateView {
    CertificateView {
        id: c.id.0,
        algorithm: c.algorithm.clone(),
        subject: c.subject.clone(),
        serial: c.serial.clone(),
        not_before: rfc3339(c.not_before),
        not_after: rfc3339(c.not_after),
        platform_held: c.platform_held,
        revoked_at: c.revoked_at.map(rfc3339),
        sha256: c.sha256.clone(),
        certificate_base64: base64::engine::general_purpose::STANDARD.encode(&c.certificate_der),
    }
}

/// One's certificates, newest first.
#[utoipa::path(get, path = "/api/v1/account/certificates", tag = "documents", security(("bearer" = [])),
    responses((status = 200, body = CertificateList), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_certificates(
    State(state): State<AppState>,
    user: ApiUser,
) -> ApiResult<Json<CertificateList>> {
    user.require(Capability::OwnAccount)?;
    let items = state.store.certificates(user.0.id).await?;
    Ok(Json(CertificateList {
        items: items.iter().map(certificate_view).collect(),
        algorithms: state
            .signing
            .algorithms()
            .iter()
            .map(|a| a.as_str())
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// `gost2012_256` or `ecdsa_p256`.
    pub algorithm: String,
    /// The signing password that will seal the key (8–128 characters, not all letters).
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

/// Issues a certificate with a platform-held key to the (verified) caller.
#[utoipa::path(post, path = "/api/v1/account/certificates", tag = "documents", security(("bearer" = [])),
    request_body = IssueRequest,
    responses((status = 201, body = CertificateView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn issue_certificate(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(request): ApiJson<IssueRequest>,
) -> ApiResult<Response> {
    user.require(Capability::Sign)?;
    let now = OffsetDateTime::now_utc();
    let id = usecase::issue_certificate(
        &state,
        &user.0,
        &request.algorithm,
        &request.password,
        &request.password,
        now,
    )
    .await?;
    created_certificate(&state, &user.0, id).await
}

async fn created_certificate(
    state: &AppState,
    user: &otklik_store::UserRecord,
    id: CertificateId,
) -> ApiResult<Response> {
    let all = state.store.certificates(user.id).await?;
    let created = all
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(AppError::internal)?;
    Ok((StatusCode::CREATED, Json(certificate_view(created))).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The certificate of one's own key (PEM or DER, base64).
    pub certificate_base64: String,
}

/// Registers the certificate of a key the caller holds outside: signatures uploaded with
/// it are accepted. It must chain to the trust store and be valid now.
#[utoipa::path(post, path = "/api/v1/account/certificates/register", tag = "documents", security(("bearer" = [])),
    request_body = RegisterRequest,
    responses((status = 201, body = CertificateView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn register_certificate(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> ApiResult<Response> {
    user.require(Capability::Sign)?;
    let bytes = decode("certificate_base64", &request.certificate_base64)?;
    let id =
        usecase::register_certificate(&state, &user.0, &bytes, OffsetDateTime::now_utc()).await?;
    created_certificate(&state, &user.0, id).await
}

/// Revokes one of one's certificates: it signs nothing more.
#[utoipa::path(post, path = "/api/v1/account/certificates/{id}/revoke", tag = "documents", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_certificate(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    user.require(Capability::OwnAccount)?;
    let id = id.parse::<i64>().map_err(|_| AppError::not_found())?;
    state
        .store
        .revoke_certificate(user.0.id, CertificateId(id), OffsetDateTime::now_utc())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorityView {
    /// `gost2012_256` or `ecdsa_p256`.
    pub algorithm: &'static str,
    /// The platform authority's self-signed certificate (PEM): trust it to verify the
    /// platform's signatures with any tool (`openssl cms -verify -CAfile …`).
    pub certificate_pem: String,
}

/// The platform's certification authorities, one per algorithm it issues for.
#[utoipa::path(get, path = "/api/v1/signatures/authorities", tag = "documents",
    responses((status = 200, body = Vec<AuthorityView>)))]
async fn authorities(State(state): State<AppState>) -> ApiResult<Json<Vec<AuthorityView>>> {
    let mut out = Vec::new();
    for algorithm in state.signing.algorithms() {
        if let Some(authority) = state.signing.authority(algorithm) {
            out.push(AuthorityView {
                algorithm: algorithm.as_str(),
                certificate_pem: authority
                    .certificate_pem()
                    .map_err(|_| AppError::internal())?,
            });
        }
    }
    Ok(Json(out))
}
