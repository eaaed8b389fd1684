//! Electronic documents in the personal account: the lists, a new document and its
//! signing route, a document's page (start, sign with the platform-held key or an
//! uploaded signature, decline, cancel), downloads (the file, each signature, the
//! verification report, the signed package), the person's certificates, and the public
//! verification of any document and signature.

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use otklik_domain::access::Capability;
use otklik_domain::document::{DocumentStatus, Party, SignerState};
use otklik_domain::{CertificateId, DocumentId, SubmissionId};
use otklik_sign::Report;
use otklik_store::{DocumentBox, DocumentCard, DocumentDetail};
use serde::Deserialize;
use std::sync::Arc;
use time::OffsetDateTime;

use super::forms::{self, FormData};
use super::views::Chrome;
use super::{render, render_status, PageResult};
use crate::auth::Ctx;
use crate::documents::{self as usecase, viewer_of, DocumentInput};
use crate::error::AppError;
use crate::messages;
use crate::AppState;

/// A document (10 MiB) and the form around it.
const DOCUMENT_LIMIT: usize = otklik_domain::document::MAX_DOCUMENT_BYTES + 2 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/documents", get(list))
        .route(
            "/documents/new",
            get(new_form)
                .post(new_post)
                .layer(DefaultBodyLimit::max(DOCUMENT_LIMIT)),
        )
        .route("/documents/{id}", get(show))
        .route("/documents/{id}/start", post(start))
        .route("/documents/{id}/cancel", post(cancel))
        .route("/documents/{id}/decline", post(decline))
        .route(
            "/documents/{id}/sign",
            post(sign).layer(DefaultBodyLimit::max(2 * 1024 * 1024)),
        )
        .route("/documents/{id}/file", get(file))
        .route("/documents/{id}/signatures/{slot}", get(signature_file))
        .route("/documents/{id}/verification", get(verification))
        .route("/documents/{id}/package", get(package))
        .route("/submissions/{id}/sign-answer", post(sign_answer))
        .route(
            "/account/signing",
            get(certificates)
                .post(certificates_post)
                .layer(DefaultBodyLimit::max(1024 * 1024)),
        )
        .route("/verify/authorities/{algorithm}", get(authority_pem))
        .route(
            "/verify",
            get(verify_form)
                .post(verify_post)
                .layer(DefaultBodyLimit::max(DOCUMENT_LIMIT)),
        )
}

/// A card in a list as shown.
pub struct CardView {
    pub id: i64,
    pub title: String,
    pub status: &'static str,
    pub deadline: String,
    pub author: String,
}

fn cards(found: Vec<DocumentCard>) -> Vec<CardView> {
    found
        .into_iter()
        .map(|c| CardView {
            id: c.id.0,
            title: c.title,
            status: messages::document_status(c.status),
            deadline: messages::datetime(c.deadline_at),
            author: c.author_name,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "documents.html")]
struct ListPage {
    chrome: Chrome,
    to_sign: Vec<CardView>,
    authored: Vec<CardView>,
    involved: Vec<CardView>,
    may_create: bool,
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let user = ctx.require(Capability::OwnAccount)?;
    let viewer = viewer_of(user);
    let to_sign = state.store.documents(viewer, DocumentBox::ToSign).await?;
    let authored = state.store.documents(viewer, DocumentBox::Authored).await?;
    let involved = state.store.documents(viewer, DocumentBox::Involved).await?;
    Ok(render(&ListPage {
        chrome: Chrome::new(&ctx, "Документы"),
        to_sign: cards(to_sign),
        authored: cards(authored),
        involved: cards(involved),
        may_create: ctx.require(Capability::Sign).is_ok(),
    }))
}

#[derive(Template)]
#[template(path = "document_new.html")]
struct NewPage {
    chrome: Chrome,
    fields: Vec<forms::FieldView>,
    order: String,
    order_error: Option<&'static str>,
    document_error: Option<&'static str>,
    summary: Vec<forms::SummaryItem>,
    organisations: Vec<String>,
}

impl NewPage {
    async fn build(
        state: &AppState,
        ctx: &Ctx,
        input: &DocumentInput,
        error: Option<&AppError>,
    ) -> Result<Self, AppError> {
        use forms::FieldView;
        let fields = vec![
            FieldView::new("title", "Название документа", "text")
                .value(&input.title)
                .required()
                .error_from(error),
            FieldView::new("text", "Текст документа", "textarea")
                .value(&input.text)
                .hint("Заполните, если не прикладываете файл: документ будет сохранён как текст.")
                .error_from(error),
            FieldView::new("deadline", "Подписать до", "date")
                .value(&input.deadline)
                .required()
                .hint("Маршрут завершится в 23:59 по московскому времени этого дня.")
                .error_from(error),
            FieldView::new("signers", "Подписанты", "textarea")
                .value(&input.signers.join("\n"))
                .required()
                .hint("По одному в строке: адрес электронной почты человека или название организации (её подпишет любой из её сотрудников). При последовательном порядке — в порядке подписания.")
                .error_from(error),
            FieldView::new("recipients", "Кому передать подписанный документ", "textarea")
                .value(&input.recipients.join("\n"))
                .hint("По одному в строке, как подписантов. Можно оставить пустым.")
                .error_from(error),
        ];
        let mut summary = forms::summary(&fields, error);
        let document_error = error
            .and_then(|e| e.field_code("document"))
            .map(messages::error);
        if let Some(message) = document_error {
            summary.push(forms::SummaryItem {
                href: "#f-document".to_owned(),
                message: format!("Файл документа: {message}"),
            });
        }
        let order_error = error
            .and_then(|e| e.field_code("order"))
            .map(messages::error);
        Ok(Self {
            chrome: Chrome::new(ctx, "Новый документ"),
            fields,
            order: if input.order.is_empty() {
                "sequential".to_owned()
            } else {
                input.order.clone()
            },
            order_error,
            document_error,
            summary,
            organisations: state
                .store
                .organisations()
                .await?
                .into_iter()
                .map(|o| o.name)
                .collect(),
        })
    }
}

async fn new_form(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    ctx.require(Capability::Sign)?;
    Ok(render(
        &NewPage::build(&state, &ctx, &DocumentInput::default(), None).await?,
    ))
}

fn lines(raw: &str) -> Vec<String> {
    raw.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn multipart_of(
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<FormData, AppError> {
    let multipart = multipart.map_err(|_| AppError::bad_request("invalid_form"))?;
    forms::read_multipart(multipart).await
}

async fn new_post(
    State(state): State<AppState>,
    ctx: Ctx,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let user = ctx.require(Capability::Sign)?.clone();
    let form = multipart_of(multipart).await?;
    ctx.check_csrf(form.text("csrf"))?;
    let input = DocumentInput {
        title: form.text("title").to_owned(),
        file: form.file("document").cloned(),
        text: form.text("text").to_owned(),
        order: form.text("order").to_owned(),
        deadline: form.text("deadline").to_owned(),
        signers: lines(form.text("signers")),
        recipients: lines(form.text("recipients")),
    };
    match usecase::create(&state, &user, &input, OffsetDateTime::now_utc()).await {
        Ok(id) => Ok(Redirect::to(&format!("/documents/{}", id.0)).into_response()),
        Err(e) if e.status == axum::http::StatusCode::UNPROCESSABLE_ENTITY => {
            let page = NewPage::build(&state, &ctx, &input, Some(&e)).await?;
            Ok(render_status(e.status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

/// One slot of the route as shown.
pub struct SignerView {
    pub number: usize,
    pub name: String,
    pub organisation: bool,
    pub state: &'static str,
    pub signed: bool,
    pub declined: bool,
    pub acted: String,
    pub subject: String,
    pub algorithm: &'static str,
    pub method: &'static str,
    pub reason: String,
    pub has_signature: bool,
}

pub struct RecipientView {
    pub name: String,
    pub delivered: String,
}

pub struct EventView {
    pub label: &'static str,
    pub actor: String,
    pub detail: String,
    pub at: String,
}

/// A platform-held certificate the person can sign with.
pub struct KeyChoice {
    pub id: i64,
    pub label: String,
}

#[derive(Template)]
#[template(path = "document.html")]
struct DocumentPage {
    chrome: Chrome,
    id: i64,
    title: String,
    status: &'static str,
    final_status: bool,
    file_name: String,
    size: String,
    sha256: String,
    order: &'static str,
    deadline: String,
    author: String,
    log_index: String,
    signers: Vec<SignerView>,
    recipients: Vec<RecipientView>,
    events: Vec<EventView>,
    is_author: bool,
    draft: bool,
    /// The viewer may sign or decline now (their slot).
    my_slot: Option<usize>,
    keys: Vec<KeyChoice>,
    may_sign: bool,
    any_signature: bool,
    /// A failed action: which, and the messages by field.
    error_action: String,
    error_field: String,
    error_message: String,
    notice: String,
    submission: Option<i64>,
}

impl DocumentPage {
    fn error_at(&self, field: &str) -> bool {
        self.error_field == field
    }
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    done: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    query: Result<Query<ShowQuery>, QueryRejection>,
) -> PageResult {
    let user = ctx.require(Capability::OwnAccount)?;
    let detail = state
        .store
        .document(DocumentId(id), viewer_of(user))
        .await?;
    let notice = match query.ok().and_then(|Query(q)| q.done).as_deref() {
        Some("signed") => "Документ подписан.",
        Some("declined") => "Вы отказались подписывать документ.",
        Some("started") => "Документ отправлен на подпись.",
        Some("cancelled") => "Документ отозван.",
        _ => "",
    };
    let mut page = document_page(&state, &ctx, detail).await?;
    page.notice = notice.to_owned();
    Ok(render(&page))
}

async fn document_page(
    state: &AppState,
    ctx: &Ctx,
    detail: DocumentDetail,
) -> Result<DocumentPage, AppError> {
    let user = ctx.require_user()?;
    let viewer = viewer_of(user);
    let my_slot = detail.actionable_slot(&viewer);
    let keys = if my_slot.is_some() {
        let now = OffsetDateTime::now_utc();
        state
            .store
            .certificates(user.id)
            .await?
            .into_iter()
            .filter(|c| c.platform_held && c.revoked_at.is_none() && c.not_after > now)
            .map(|c| KeyChoice {
                id: c.id.0,
                label: format!(
                    "{} — {}, действует до {}",
                    messages::algorithm(&c.algorithm),
                    c.subject,
                    messages::datetime(c.not_after)
                ),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(DocumentPage {
        chrome: Chrome::new(ctx, &detail.title),
        id: detail.id.0,
        title: detail.title.clone(),
        status: messages::document_status(detail.status),
        final_status: detail.status.is_final(),
        file_name: detail.file_name.clone(),
        size: messages::size(detail.size),
        sha256: detail.sha256.clone(),
        order: match detail.order {
            otklik_domain::document::SigningOrder::Sequential => "по очереди",
            otklik_domain::document::SigningOrder::Parallel => "одновременно",
        },
        deadline: messages::datetime(detail.deadline_at),
        author: detail.author_name.clone(),
        log_index: detail.log_index.map(|i| i.to_string()).unwrap_or_default(),
        signers: detail
            .signers
            .iter()
            .map(|s| SignerView {
                number: s.slot + 1,
                name: s.name.clone(),
                organisation: matches!(s.party, Party::Organisation(_)),
                state: messages::signer_state(s.state),
                signed: s.state == SignerState::Signed,
                declined: s.state == SignerState::Declined,
                acted: match (&s.acted_by, s.acted_at) {
                    (Some(by), Some(at)) => format!("{by}, {}", messages::datetime(at)),
                    (None, Some(at)) => messages::datetime(at),
                    _ => String::new(),
                },
                subject: s.subject.clone().unwrap_or_default(),
                algorithm: s.algorithm.as_deref().map_or("", messages::algorithm),
                method: match s.method.as_deref() {
                    Some("platform") => "ключом, хранящимся на платформе",
                    Some("uploaded") => "своим средством подписи",
                    _ => "",
                },
                reason: s.decline_reason.clone().unwrap_or_default(),
                has_signature: s.has_signature,
            })
            .collect(),
        recipients: detail
            .recipients
            .iter()
            .map(|r| RecipientView {
                name: r.name.clone(),
                delivered: r.delivered_at.map(messages::datetime).unwrap_or_default(),
            })
            .collect(),
        events: detail
            .events
            .iter()
            .map(|e| EventView {
                label: messages::document_event(&e.kind),
                actor: e.actor.clone().unwrap_or_default(),
                detail: match e.kind.as_str() {
                    "declined" | "delivered" | "signed" => e.detail.clone().unwrap_or_default(),
                    _ => String::new(),
                },
                at: messages::datetime(e.at),
            })
            .collect(),
        is_author: detail.author == user.id,
        draft: detail.status == DocumentStatus::Draft,
        my_slot,
        keys,
        may_sign: ctx.require(Capability::Sign).is_ok(),
        any_signature: detail.signers.iter().any(|s| s.has_signature),
        error_action: String::new(),
        error_field: String::new(),
        error_message: String::new(),
        notice: String::new(),
        submission: detail.submission.map(|s| s.0),
    })
}

/// Shows the document again with a failed action's message at its field.
async fn failed(
    state: &AppState,
    ctx: &Ctx,
    id: DocumentId,
    action: &str,
    error: AppError,
) -> PageResult {
    if !matches!(
        error.status,
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
            | axum::http::StatusCode::CONFLICT
            | axum::http::StatusCode::TOO_MANY_REQUESTS
    ) {
        return Err(error.into());
    }
    let user = ctx.require_user()?;
    let detail = state.store.document(id, viewer_of(user)).await?;
    let mut page = document_page(state, ctx, detail).await?;
    let code = error.first_code();
    page.error_action = action.to_owned();
    page.error_field = error.first_field().unwrap_or_default().to_owned();
    page.error_message = messages::error(code).to_owned();
    let mut response = render_status(error.status, &page);
    crate::error::add_retry_after(&mut response, error.retry_after);
    Ok(response)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

#[derive(Deserialize)]
struct DeclineForm {
    csrf: String,
    reason: String,
}

async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    author_action(&state, &ctx, id, form, usecase::AuthorCommand::Start).await
}

async fn cancel(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> PageResult {
    author_action(&state, &ctx, id, form, usecase::AuthorCommand::Cancel).await
}

async fn author_action(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    form: Result<Form<CsrfForm>, FormRejection>,
    command: usecase::AuthorCommand,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = ctx.require(command.capability())?;
    ctx.check_csrf(&form.csrf)?;
    let id = DocumentId(id);
    let done = match command {
        usecase::AuthorCommand::Start => "started",
        usecase::AuthorCommand::Cancel => "cancelled",
    };
    match usecase::author_command(state, user, id, command, OffsetDateTime::now_utc()).await {
        Ok(_) => Ok(Redirect::to(&format!("/documents/{}?done={done}", id.0)).into_response()),
        Err(e) => failed(state, ctx, id, command.as_str(), e).await,
    }
}

async fn decline(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Result<Form<DeclineForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = ctx.require(Capability::OwnAccount)?;
    ctx.check_csrf(&form.csrf)?;
    let id = DocumentId(id);
    let result = usecase::decline(&state, user, id, &form.reason).await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/documents/{}?done=declined", id.0)).into_response()),
        Err(e) => failed(&state, &ctx, id, "decline", e).await,
    }
}

async fn sign(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let user = ctx.require(Capability::Sign)?.clone();
    let form = multipart_of(multipart).await?;
    ctx.check_csrf(form.text("csrf"))?;
    let id = DocumentId(id);
    let now = OffsetDateTime::now_utc();
    let result = match form.text("way") {
        "upload" => {
            let signature = form
                .file("signature")
                .map(|f| f.1.clone())
                .unwrap_or_default();
            usecase::sign_with_upload(&state, &user, id, signature, now).await
        }
        _ => match form.text("certificate").trim().parse::<i64>() {
            Ok(certificate) => {
                usecase::sign_with_platform_key(
                    &state,
                    &user,
                    id,
                    CertificateId(certificate),
                    form.text("password"),
                    now,
                )
                .await
            }
            Err(_) => Err(AppError::field("certificate", "required")),
        },
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/documents/{}?done=signed", id.0)).into_response()),
        Err(e) => failed(&state, &ctx, id, "sign", e).await,
    }
}

async fn file(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let user = ctx.require(Capability::OwnAccount)?;
    let content = state
        .store
        .document_content(DocumentId(id), viewer_of(user))
        .await?;
    Ok(download(&content.mime, &content.file_name, content.content))
}

async fn signature_file(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, slot)): Path<(i64, String)>,
) -> PageResult {
    let user = ctx.require(Capability::OwnAccount)?;
    let slot: usize = slot
        .trim_end_matches(".p7s")
        .parse()
        .map_err(|_| AppError::not_found())?;
    let content = state
        .store
        .document_content(DocumentId(id), viewer_of(user))
        .await?;
    let (_, der) = content
        .signatures
        .into_iter()
        .find(|(s, _)| *s + 1 == slot)
        .ok_or_else(AppError::not_found)?;
    Ok(download(
        "application/pkcs7-signature",
        &format!("document-{id}.signer-{slot}.p7s"),
        der,
    ))
}

fn download(mime: &str, name: &str, bytes: Vec<u8>) -> Response {
    let disposition = format!(
        "attachment; filename=\"download\"; filename*=UTF-8''{}",
        forms::percent_encode(name)
    );
    (
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// One signer's verification as shown.
pub struct SignerCheck {
    pub number: usize,
    pub valid: bool,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub algorithm: &'static str,
    pub signing_time: String,
    pub validity: String,
    pub certificate_sha256: String,
    pub cades: bool,
    pub problems: Vec<String>,
}

/// One signature file's verification as shown.
pub struct SignatureCheck {
    pub label: String,
    pub valid: bool,
    pub signers: Vec<SignerCheck>,
}

pub fn checks_of(reports: &[(String, Report)]) -> Vec<SignatureCheck> {
    reports
        .iter()
        .map(|(label, report)| SignatureCheck {
            label: label.clone(),
            valid: report.valid,
            signers: report
                .signers
                .iter()
                .enumerate()
                .map(|(i, s)| SignerCheck {
                    number: i + 1,
                    valid: s.valid,
                    subject: s.subject.clone(),
                    issuer: s.issuer.clone(),
                    serial: s.serial.clone(),
                    algorithm: messages::algorithm(&s.algorithm),
                    signing_time: s
                        .signing_time
                        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
                        .map(messages::datetime)
                        .unwrap_or_else(|| "не указано".to_owned()),
                    validity: match (s.not_before, s.not_after) {
                        (Some(a), Some(b)) => format!(
                            "с {} по {}",
                            OffsetDateTime::from_unix_timestamp(a)
                                .map(messages::datetime)
                                .unwrap_or_default(),
                            OffsetDateTime::from_unix_timestamp(b)
                                .map(messages::datetime)
                                .unwrap_or_default()
                        ),
                        _ => String::new(),
                    },
                    certificate_sha256: s.certificate_sha256.clone(),
                    cades: s.cades_signing_certificate,
                    problems: s
                        .problems
                        .iter()
                        .map(|p| messages::signature_problem(p.code).to_owned())
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "document_report.html")]
struct ReportPage {
    chrome: Chrome,
    id: i64,
    title: String,
    file_name: String,
    sha256: String,
    checked_at: String,
    valid: bool,
    checks: Vec<SignatureCheck>,
}

/// The report as a file of its own (downloads and the package): no menu, no scripts.
#[derive(Template)]
#[template(path = "signature_report.html")]
pub struct StandaloneReport {
    pub title: String,
    pub file_name: String,
    pub sha256: String,
    pub checked_at: String,
    pub valid: bool,
    pub checks: Vec<SignatureCheck>,
}

impl StandaloneReport {
    pub fn of(detail: &DocumentDetail, reports: &[(usize, Report)]) -> Self {
        let labelled = labelled(reports);
        Self {
            title: detail.title.clone(),
            file_name: detail.file_name.clone(),
            sha256: detail.sha256.clone(),
            checked_at: messages::datetime(OffsetDateTime::now_utc()),
            valid: !reports.is_empty() && reports.iter().all(|(_, r)| r.valid),
            checks: checks_of(&labelled),
        }
    }
}

fn labelled(reports: &[(usize, Report)]) -> Vec<(String, Report)> {
    reports
        .iter()
        .map(|(slot, r)| (format!("Подпись участника № {}", slot + 1), r.clone()))
        .collect()
}

#[derive(Deserialize, Default)]
struct ReportQuery {
    format: Option<String>,
}

async fn verification(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> PageResult {
    let user = ctx.require(Capability::OwnAccount)?;
    let (detail, reports) =
        usecase::verify_document(&state, viewer_of(user), DocumentId(id)).await?;
    match query.ok().and_then(|Query(q)| q.format).as_deref() {
        Some("json") => Ok(axum::Json(usecase::report_json(&detail, &reports)).into_response()),
        Some("html") => {
            let page = StandaloneReport::of(&detail, &reports);
            let body = page.render().map_err(|_| AppError::internal())?;
            Ok(download(
                "text/html; charset=utf-8",
                &format!("verification-{id}.html"),
                body.into_bytes(),
            ))
        }
        _ => Ok(render(&ReportPage {
            chrome: Chrome::new(&ctx, "Проверка подписей"),
            id,
            title: detail.title.clone(),
            file_name: detail.file_name.clone(),
            sha256: detail.sha256.clone(),
            checked_at: messages::datetime(OffsetDateTime::now_utc()),
            valid: !reports.is_empty() && reports.iter().all(|(_, r)| r.valid),
            checks: checks_of(&labelled(&reports)),
        })),
    }
}

async fn package(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let user = ctx.require(Capability::OwnAccount)?;
    let (name, zip) = usecase::package(&state, viewer_of(user), DocumentId(id), |d, r| {
        StandaloneReport::of(d, r).render().unwrap_or_default()
    })
    .await?;
    Ok(download("application/zip", &name, zip))
}

#[derive(Deserialize)]
struct SignAnswerForm {
    csrf: String,
}

async fn sign_answer(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    form: Result<Form<SignAnswerForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form.map_err(|_| AppError::bad_request("invalid_form"))?;
    let user = ctx.require(Capability::Sign)?;
    ctx.check_csrf(&form.csrf)?;
    let document =
        usecase::answer_document(&state, user, SubmissionId(id), OffsetDateTime::now_utc()).await?;
    Ok(Redirect::to(&format!("/documents/{}", document.0)).into_response())
}

pub struct CertificateView {
    pub id: i64,
    pub algorithm: &'static str,
    pub subject: String,
    pub serial: String,
    pub validity: String,
    pub platform_held: bool,
    pub revoked: String,
    pub active: bool,
    pub sha256: String,
}

#[derive(Template)]
#[template(path = "signing_account.html")]
struct CertificatesPage {
    chrome: Chrome,
    certificates: Vec<CertificateView>,
    /// The latest uses of one's platform-held keys: (when, serial, what, document).
    uses: Vec<(String, String, &'static str, Option<i64>)>,
    algorithms: Vec<(&'static str, &'static str)>,
    gost_unavailable: bool,
    may_sign: bool,
    error_form: String,
    error_field: String,
    error_message: String,
    notice: &'static str,
}

impl CertificatesPage {
    fn error_at(&self, field: &str) -> bool {
        self.error_field == field
    }
}

async fn certificates_page(
    state: &AppState,
    ctx: &Ctx,
    error: Option<(&str, AppError)>,
    notice: &'static str,
) -> Result<CertificatesPage, AppError> {
    let user = ctx.require(Capability::OwnAccount)?;
    let now = OffsetDateTime::now_utc();
    let certificates = state
        .store
        .certificates(user.id)
        .await?
        .into_iter()
        .map(|c| CertificateView {
            id: c.id.0,
            algorithm: messages::algorithm(&c.algorithm),
            subject: c.subject,
            serial: c.serial,
            validity: format!(
                "с {} по {}",
                messages::datetime(c.not_before),
                messages::datetime(c.not_after)
            ),
            platform_held: c.platform_held,
            revoked: c.revoked_at.map(messages::datetime).unwrap_or_default(),
            active: c.revoked_at.is_none() && c.not_after > now,
            sha256: c.sha256,
        })
        .collect();
    let (error_form, error_field, error_message) = match error {
        Some((form, e)) => {
            let field = e.first_field().unwrap_or_default().to_owned();
            (
                form.to_owned(),
                field,
                messages::error(e.first_code()).to_owned(),
            )
        }
        None => Default::default(),
    };
    let uses = state
        .store
        .key_uses(user.id, 50)
        .await?
        .into_iter()
        .map(|u| {
            let what = match u.outcome.as_str() {
                "issued" => "ключ создан",
                "signed" => "подписан документ",
                "wrong_password" => "неверный пароль подписи",
                _ => "использование",
            };
            (
                messages::datetime(u.at),
                u.serial,
                what,
                u.document.map(|d| d.0),
            )
        })
        .collect();
    Ok(CertificatesPage {
        chrome: Chrome::new(ctx, "Электронная подпись"),
        certificates,
        uses,
        algorithms: state
            .signing
            .algorithms()
            .into_iter()
            .map(|a| (a.as_str(), messages::algorithm(a.as_str())))
            .collect(),
        gost_unavailable: state.signing.gost_unavailable().is_some(),
        may_sign: ctx.require(Capability::Sign).is_ok(),
        error_form,
        error_field,
        error_message,
        notice,
    })
}

#[derive(Deserialize, Default)]
struct CertificatesQuery {
    done: Option<String>,
}

async fn certificates(
    State(state): State<AppState>,
    ctx: Ctx,
    query: Result<Query<CertificatesQuery>, QueryRejection>,
) -> PageResult {
    let notice = match query.ok().and_then(|Query(q)| q.done).as_deref() {
        Some("issued") => "Сертификат выпущен. Ключ подписи хранится на платформе в зашифрованном виде и открывается только вашим паролем подписи.",
        Some("registered") => "Сертификат добавлен: подписи, сделанные этим ключом, будут приниматься.",
        Some("revoked") => "Сертификат отозван: подписывать им больше нельзя.",
        _ => "",
    };
    Ok(render(
        &certificates_page(&state, &ctx, None, notice).await?,
    ))
}

async fn certificates_post(
    State(state): State<AppState>,
    ctx: Ctx,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    ctx.require(Capability::OwnAccount)?;
    let form = multipart_of(multipart).await?;
    ctx.check_csrf(form.text("csrf"))?;
    let now = OffsetDateTime::now_utc();
    let action = form.text("action").to_owned();
    let result: Result<&str, AppError> = async {
        match action.as_str() {
            "issue" => {
                let user = ctx.require(Capability::Sign)?;
                usecase::issue_certificate(
                    &state,
                    user,
                    form.text("algorithm"),
                    form.text("password"),
                    form.text("confirm"),
                    now,
                )
                .await?;
                Ok("issued")
            }
            "register" => {
                let user = ctx.require(Capability::Sign)?;
                let bytes = form
                    .file("certificate")
                    .map(|f| f.1.clone())
                    .unwrap_or_default();
                usecase::register_certificate(&state, user, &bytes, now).await?;
                Ok("registered")
            }
            "revoke" => {
                let user = ctx.require(Capability::OwnAccount)?;
                let id = form
                    .text("id")
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| AppError::bad_request("invalid_form"))?;
                state
                    .store
                    .revoke_certificate(user.id, CertificateId(id), now)
                    .await?;
                Ok("revoked")
            }
            _ => Err(AppError::bad_request("invalid_form")),
        }
    }
    .await;
    match result {
        Ok(done) => Ok(Redirect::to(&format!("/account/signing?done={done}")).into_response()),
        Err(e)
            if matches!(
                e.status,
                axum::http::StatusCode::UNPROCESSABLE_ENTITY | axum::http::StatusCode::CONFLICT
            ) =>
        {
            let status = e.status;
            let page = certificates_page(&state, &ctx, Some((action.as_str(), e)), "").await?;
            Ok(render_status(status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    chrome: Chrome,
    authorities: Vec<(&'static str, &'static str)>,
    error: Option<(&'static str, &'static str)>,
    checked: bool,
    file_name: String,
    sha256: String,
    checked_at: String,
    valid: bool,
    checks: Vec<SignatureCheck>,
}

async fn verify_form(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    Ok(render(&VerifyPage {
        chrome: Chrome::new(&ctx, "Проверка электронной подписи"),
        authorities: authorities(&state),
        error: None,
        checked: false,
        file_name: String::new(),
        sha256: String::new(),
        checked_at: String::new(),
        valid: false,
        checks: Vec::new(),
    }))
}

/// Anyone may check a document and its detached signatures against the platform's
/// trust store; nothing is stored.
async fn verify_post(
    State(state): State<AppState>,
    ctx: Ctx,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let form = multipart_of(multipart).await?;
    ctx.check_csrf(form.text("csrf"))?;
    let mut page = VerifyPage {
        chrome: Chrome::new(&ctx, "Проверка электронной подписи"),
        authorities: authorities(&state),
        error: None,
        checked: false,
        file_name: String::new(),
        sha256: String::new(),
        checked_at: String::new(),
        valid: false,
        checks: Vec::new(),
    };
    let Some((name, content)) = form.file("document").cloned() else {
        page.error = Some(("f-document", messages::error("document_required")));
        return Ok(render_status(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            &page,
        ));
    };
    let signatures = form
        .named_files
        .get("signatures")
        .cloned()
        .unwrap_or_default();
    if signatures.is_empty() {
        page.error = Some(("f-signatures", messages::error("signature_required")));
        return Ok(render_status(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            &page,
        ));
    }
    let content = Arc::new(content);
    let mut reports = Vec::new();
    for (signature_name, bytes) in signatures.into_iter().take(20) {
        match state.signing.verify(content.clone(), bytes).await {
            Ok(report) => reports.push((signature_name, report)),
            Err(e) => {
                let code = e.first_code();
                page.error = Some(("f-signatures", messages::signature_problem(code)));
                return Ok(render_status(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    &page,
                ));
            }
        }
    }
    page.checked = true;
    page.file_name = otklik_domain::document::safe_file_name(&name);
    // Every report hashed the same bytes.
    page.sha256 = reports
        .first()
        .map(|(_, r)| r.content_sha256.clone())
        .unwrap_or_default();
    page.checked_at = messages::datetime(OffsetDateTime::now_utc());
    page.valid = reports.iter().all(|(_, r)| r.valid);
    page.checks = checks_of(&reports);
    Ok(render(&page))
}

/// A platform authority's certificate (PEM), to verify the platform's signatures anywhere.
async fn authority_pem(State(state): State<AppState>, Path(algorithm): Path<String>) -> PageResult {
    let algorithm: otklik_sign::Algorithm = algorithm
        .trim_end_matches(".pem")
        .parse()
        .map_err(|_| AppError::not_found())?;
    let authority = state
        .signing
        .authority(algorithm)
        .ok_or_else(AppError::not_found)?;
    let pem = authority
        .certificate_pem()
        .map_err(|_| AppError::internal())?;
    Ok(download(
        "application/x-pem-file",
        &format!("otklik-ca-{}.pem", algorithm.as_str()),
        pem.into_bytes(),
    ))
}

fn authorities(state: &AppState) -> Vec<(&'static str, &'static str)> {
    state
        .signing
        .algorithms()
        .into_iter()
        .map(|a| (a.as_str(), messages::algorithm(a.as_str())))
        .collect()
}
