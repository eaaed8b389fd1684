//! Electronic documents as pages and the API both use them: a new document and its
//! route from what a person typed, signing with a platform-held key (after the person's
//! password) or with an uploaded signature (verified first), certificates, verification
//! reports and the signed package. One implementation, so that the two surfaces agree.

use std::sync::Arc;

use otklik_domain::access::Capability;
use otklik_domain::document::{self, Party, SigningOrder};
use otklik_domain::lifecycle::Role;
use otklik_domain::text::{Email, NewPassword};
use otklik_domain::{CertificateId, DocumentId, SubmissionId, ValidationErrors};
use otklik_sign::{Algorithm, Report};
use otklik_store::{
    DocumentDetail, DocumentViewer, KeyUse, NewCertificate, NewDocument, NewSignature,
    SignatureMethod, UserRecord,
};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::signing::blocking;
use crate::AppState;

/// Wrong signing passwords tolerated per key in [`PASSWORD_WINDOW`].
pub const MAX_WRONG_PASSWORDS: u64 = 5;
pub const PASSWORD_WINDOW: time::Duration = time::Duration::minutes(15);
/// A date-only deadline ends at 23:59:59 Moscow time (UTC+3) that day.
const MOSCOW_OFFSET_SECONDS: i32 = 3 * 3600;

/// Who acts: a person, and the organisation they act for when they are its official or
/// administrator.
pub fn viewer_of(user: &UserRecord) -> DocumentViewer {
    DocumentViewer {
        user: user.id,
        org: match user.role {
            Role::Official(org) | Role::OrgAdmin(org) => Some(org),
            _ => None,
        },
    }
}

/// What an author does to their own document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorCommand {
    /// Freeze it and send it out (a signature-capable account).
    Start,
    /// Withdraw it before it is complete.
    Cancel,
}

impl AuthorCommand {
    pub fn capability(self) -> Capability {
        match self {
            Self::Start => Capability::Sign,
            Self::Cancel => Capability::OwnAccount,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Cancel => "cancel",
        }
    }
}

/// The author starts or cancels their document.
pub async fn author_command(
    state: &AppState,
    user: &UserRecord,
    id: DocumentId,
    command: AuthorCommand,
    now: OffsetDateTime,
) -> Result<DocumentDetail, AppError> {
    let viewer = viewer_of(user);
    Ok(match command {
        AuthorCommand::Start => state.store.start_document(id, viewer, now).await?,
        AuthorCommand::Cancel => state.store.cancel_document(id, viewer, now).await?,
    })
}

/// What a person typed to make a document.
#[derive(Debug, Default, Clone)]
pub struct DocumentInput {
    pub title: String,
    /// An uploaded file (name, bytes); when absent the document is `text`.
    pub file: Option<(String, Vec<u8>)>,
    pub text: String,
    pub order: String,
    /// `YYYY-MM-DD` (the end of that day in Moscow) or an RFC 3339 instant.
    pub deadline: String,
    /// One party per entry: an e-mail address, or an organisation's name or `#id`.
    pub signers: Vec<String>,
    pub recipients: Vec<String>,
}

/// A new document's own values, each None when refused.
pub(crate) struct DocumentFields {
    pub title: Option<String>,
    pub order: Option<SigningOrder>,
    pub deadline: Option<OffsetDateTime>,
    pub content: Option<(String, Vec<u8>)>,
}

/// Checks a new document's own values (title, order, deadline, content) without the
/// store; every refusal is added to `errors`. The parties are resolved after.
pub(crate) fn check_fields(
    input: &DocumentInput,
    now: OffsetDateTime,
    errors: &mut ValidationErrors,
) -> DocumentFields {
    let title = errors.check("title", document::parse_title(&input.title));
    let order = errors.check("order", SigningOrder::parse(&input.order));
    let deadline = errors.check(
        "deadline",
        parse_deadline(&input.deadline).and_then(|d| {
            document::check_deadline(d.unix_timestamp(), now.unix_timestamp()).map(|_| d)
        }),
    );
    let content = match &input.file {
        Some((name, bytes)) if !bytes.is_empty() => {
            if bytes.len() > document::MAX_DOCUMENT_BYTES {
                errors.push("document", "file_too_large");
                None
            } else {
                Some((document::safe_file_name(name), bytes.clone()))
            }
        }
        _ => {
            let text = input.text.trim();
            if text.is_empty() {
                errors.push("document", "document_required");
                None
            } else if text.len() > 100_000 {
                errors.push("text", "too_long");
                None
            } else {
                let title = title.clone().unwrap_or_default();
                let body = format!("{title}\n\n{text}\n");
                Some((
                    document::safe_file_name(&format!("{title}.txt")),
                    body.into_bytes(),
                ))
            }
        }
    };
    DocumentFields {
        title,
        order,
        deadline,
        content,
    }
}

/// Checks the input, resolves its parties and stores a draft.
pub async fn create(
    state: &AppState,
    author: &UserRecord,
    input: &DocumentInput,
    now: OffsetDateTime,
) -> Result<DocumentId, AppError> {
    let mut errors = ValidationErrors::default();
    let DocumentFields {
        title,
        order,
        deadline,
        content,
    } = check_fields(input, now, &mut errors);
    let signers = resolve_parties(state, "signers", &input.signers, &mut errors).await?;
    let recipients = resolve_parties(state, "recipients", &input.recipients, &mut errors).await?;
    if errors.is_empty() {
        if let Err(e) = document::check_parties(&signers, &recipients) {
            errors.0.extend(e.0);
        }
    }
    let (Some(title), Some(order), Some(deadline), Some((file_name, bytes)), true) =
        (title, order, deadline, content, errors.is_empty())
    else {
        return Err(AppError::validation(errors));
    };
    let mime = document::media_type(&file_name, &bytes).to_owned();
    let id = state
        .store
        .create_document(
            &NewDocument {
                author: author.id,
                title,
                file_name,
                mime,
                content: bytes,
                order,
                deadline_at: deadline,
                signers,
                recipients,
                submission: None,
            },
            now,
        )
        .await?;
    Ok(id)
}

fn parse_deadline(raw: &str) -> Result<OffsetDateTime, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("required");
    }
    if let Ok(instant) = OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
    {
        return Ok(instant);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(raw, &format).map_err(|_| "invalid_date")?;
    let moscow =
        time::UtcOffset::from_whole_seconds(MOSCOW_OFFSET_SECONDS).map_err(|_| "invalid_date")?;
    Ok(date
        .with_hms(23, 59, 59)
        .map_err(|_| "invalid_date")?
        .assume_offset(moscow)
        .to_offset(time::UtcOffset::UTC))
}

/// Each entry is an e-mail address of an account, or an organisation by `#id` or name.
async fn resolve_parties(
    state: &AppState,
    field: &str,
    entries: &[String],
    errors: &mut ValidationErrors,
) -> Result<Vec<Party>, AppError> {
    let mut parties = Vec::new();
    let mut organisations = None;
    for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        if entry.contains('@') {
            let found = match Email::parse(entry) {
                Ok(email) => state.store.user_by_email(&email).await?,
                Err(_) => None,
            };
            match found {
                Some(user) if !user.disabled && !matches!(user.role, Role::Integration(_)) => {
                    parties.push(Party::Person(user.id));
                }
                _ => {
                    errors.push(field, "unknown_person");
                    return Ok(parties);
                }
            }
            continue;
        }
        if organisations.is_none() {
            organisations = Some(state.store.organisations().await?);
        }
        let orgs = organisations.as_deref().unwrap_or_default();
        let wanted = entry.trim_start_matches('#');
        let found = orgs.iter().find(|o| {
            o.id.0.to_string() == wanted || o.name.to_lowercase() == entry.to_lowercase()
        });
        match found {
            Some(org) => parties.push(Party::Organisation(org.id)),
            None => {
                errors.push(field, "unknown_organisation");
                return Ok(parties);
            }
        }
    }
    Ok(parties)
}

/// Signs the viewer's pending slot with their platform-held key, once their password
/// opens it. Every attempt is recorded; too many wrong passwords lock the key a while.
pub async fn sign_with_platform_key(
    state: &AppState,
    user: &UserRecord,
    id: DocumentId,
    certificate: CertificateId,
    password: &str,
    now: OffsetDateTime,
) -> Result<DocumentDetail, AppError> {
    let viewer = viewer_of(user);
    let (detail, slot) = pending(state, viewer, id).await?;
    let key = state
        .store
        .platform_key(user.id, certificate)
        .await
        .map_err(|_| AppError::field("certificate", "unknown_certificate"))?;
    if key.not_after < now.unix_timestamp() {
        return Err(AppError::field("certificate", "certificate_expired"));
    }
    if state
        .store
        .wrong_passwords_since(certificate, now - PASSWORD_WINDOW)
        .await?
        >= MAX_WRONG_PASSWORDS
    {
        return Err(AppError::too_many_requests(
            "too_many_wrong_passwords",
            PASSWORD_WINDOW.whole_seconds().unsigned_abs(),
        ));
    }
    let algorithm: Algorithm = key
        .algorithm
        .parse()
        .map_err(|_| AppError::field("certificate", "unknown_certificate"))?;
    let authority = state
        .signing
        .authority(algorithm)
        .ok_or_else(|| AppError::field("certificate", "algorithm_unavailable"))?;
    let chain = vec![authority.certificate_der.clone()];
    let content = Arc::new(state.store.document_content(id, viewer).await?.content);
    let seal_key = state.signing.seal_key();
    let password = password.to_owned();
    let signed = {
        let content = content.clone();
        let certificate_der = key.certificate_der.clone();
        let sealed = key.sealed_key.clone();
        blocking(move || {
            otklik_sign::sign_sealed(
                &certificate_der,
                &chain,
                &sealed,
                &password,
                &seal_key,
                &content,
            )
        })
        .await?
    };
    let signature = match signed {
        Ok(signature) => signature,
        Err(e) if e.code() == "wrong_password" => {
            state
                .store
                .record_key_use(certificate, user.id, Some(id), KeyUse::WrongPassword, now)
                .await?;
            return Err(AppError::field("password", "wrong_password"));
        }
        Err(e) => {
            tracing::error!(code = e.code(), "platform signature failed");
            return Err(AppError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "signing_failed",
            ));
        }
    };
    let report = state.signing.verify(content, signature.clone()).await?;
    let signer = only_valid_signer(&report)?;
    let new = NewSignature {
        slot,
        method: SignatureMethod::Platform(certificate),
        signature,
        content_sha256: detail.sha256.clone(),
        certificate_sha256: signer.certificate_sha256.clone(),
        subject: signer.subject.clone(),
        algorithm: signer.algorithm.clone(),
    };
    Ok(state.store.sign_document(id, viewer, &new, now).await?)
}

/// Accepts a detached signature made outside the platform: it must verify against the
/// frozen content and the trust store, and be made with a certificate the person has
/// registered (or was issued) here and not revoked.
pub async fn sign_with_upload(
    state: &AppState,
    user: &UserRecord,
    id: DocumentId,
    signature: Vec<u8>,
    now: OffsetDateTime,
) -> Result<DocumentDetail, AppError> {
    let viewer = viewer_of(user);
    let (detail, slot) = pending(state, viewer, id).await?;
    if signature.is_empty() {
        return Err(AppError::field("signature", "signature_required"));
    }
    let content = Arc::new(state.store.document_content(id, viewer).await?.content);
    let report = state.signing.verify(content, signature.clone()).await?;
    let signer = only_valid_signer(&report)?;
    let own = state.store.certificates(user.id).await?;
    if !own
        .iter()
        .any(|c| c.sha256 == signer.certificate_sha256 && c.revoked_at.is_none())
    {
        return Err(AppError::field("signature", "certificate_not_registered"));
    }
    let new = NewSignature {
        slot,
        method: SignatureMethod::Uploaded,
        signature: der_of(&signature),
        content_sha256: detail.sha256.clone(),
        certificate_sha256: signer.certificate_sha256.clone(),
        subject: signer.subject.clone(),
        algorithm: signer.algorithm.clone(),
    };
    Ok(state.store.sign_document(id, viewer, &new, now).await?)
}

/// PEM signatures are kept as DER, the form `.p7s` files and the package carry.
fn der_of(signature: &[u8]) -> Vec<u8> {
    otklik_sign::to_der(signature).unwrap_or_else(|_| signature.to_vec())
}

/// The document and the viewer's slot that may sign now.
async fn pending(
    state: &AppState,
    viewer: DocumentViewer,
    id: DocumentId,
) -> Result<(DocumentDetail, usize), AppError> {
    let detail = state.store.document(id, viewer).await?;
    let slot = actionable(&detail, viewer)?;
    Ok((detail, slot))
}

/// The viewer's slot that may act now: 409 `document_not_signing` when the route is not
/// out, `not_your_turn` when it is but not for them.
fn actionable(detail: &DocumentDetail, viewer: DocumentViewer) -> Result<usize, AppError> {
    if detail.status != otklik_domain::document::DocumentStatus::Signing {
        return Err(AppError::new(
            axum::http::StatusCode::CONFLICT,
            "document_not_signing",
        ));
    }
    detail
        .actionable_slot(&viewer)
        .ok_or_else(|| AppError::new(axum::http::StatusCode::CONFLICT, "not_your_turn"))
}

/// A route's signature holds one signer, and that signer checks out.
fn only_valid_signer(report: &Report) -> Result<&otklik_sign::SignerReport, AppError> {
    match report.signers.as_slice() {
        [one] if one.valid => Ok(one),
        [one] => Err(AppError::field(
            "signature",
            one.problems.first().map_or("signature_invalid", |p| p.code),
        )),
        [] => Err(AppError::field("signature", "no_signers")),
        _ => Err(AppError::field("signature", "one_signer_expected")),
    }
}

/// Issues a certificate with a platform-held key to a verified person; the key is
/// sealed with the signing password they choose (not their login password).
pub async fn issue_certificate(
    state: &AppState,
    user: &UserRecord,
    algorithm: &str,
    password: &str,
    confirm: &str,
    now: OffsetDateTime,
) -> Result<CertificateId, AppError> {
    let mut errors = ValidationErrors::default();
    let algorithm = errors.check(
        "algorithm",
        algorithm
            .parse::<Algorithm>()
            .map_err(|_| "unknown_algorithm")
            .and_then(|a| {
                state
                    .signing
                    .authority(a)
                    .map(|_| a)
                    .ok_or("algorithm_unavailable")
            }),
    );
    let password = errors.check("password", NewPassword::parse(password));
    if password.as_ref().is_some_and(|p| p.as_str() != confirm) {
        errors.push("confirm", "passwords_differ");
    }
    let (Some(algorithm), Some(password), true) = (algorithm, password, errors.is_empty()) else {
        return Err(AppError::validation(errors));
    };
    let authority = state
        .signing
        .authority(algorithm)
        .cloned()
        .ok_or_else(|| AppError::field("algorithm", "algorithm_unavailable"))?;
    let organisation = match user.role {
        Role::Official(org) | Role::OrgAdmin(org) => {
            Some(state.store.organisation(org).await?.name)
        }
        _ => None,
    };
    let subject = otklik_sign::Subject {
        common_name: user.full_name.clone(),
        organisation,
        uid: format!("otklik-user-{}", user.id.0),
    };
    let seal_key = state.signing.seal_key();
    let days = state.signing.certificate_days;
    let at = now.unix_timestamp();
    let issued = blocking(move || {
        otklik_sign::issue(&authority, &seal_key, &subject, password.as_str(), at, days)
    })
    .await?
    .map_err(|e| {
        tracing::error!(code = e.code(), "certificate issue failed");
        AppError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "signing_failed",
        )
    })?;
    let info =
        otklik_sign::certificate_info(&issued.certificate_der).map_err(|_| AppError::internal())?;
    Ok(state
        .store
        .add_certificate(
            &NewCertificate {
                user: user.id,
                algorithm: algorithm.as_str().to_owned(),
                certificate_der: issued.certificate_der,
                sha256: info.sha256,
                subject: info.subject,
                serial: issued.serial_hex,
                not_before: issued.not_before,
                not_after: issued.not_after,
                sealed_key: Some(issued.sealed_key),
            },
            now,
        )
        .await?)
}

/// Registers a certificate of the person's own key (held outside), if it chains to the
/// trust store and is valid now.
pub async fn register_certificate(
    state: &AppState,
    user: &UserRecord,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<CertificateId, AppError> {
    if bytes.is_empty() {
        return Err(AppError::field("certificate", "certificate_required"));
    }
    let info = otklik_sign::certificate_info(bytes)
        .map_err(|e| AppError::field("certificate", e.code()))?;
    state
        .signing
        .trust()
        .check_certificate(&info.der, now.unix_timestamp())
        .map_err(|e| AppError::field("certificate", e.code()))?;
    Ok(state
        .store
        .add_certificate(
            &NewCertificate {
                user: user.id,
                algorithm: info.algorithm.clone(),
                certificate_der: info.der.clone(),
                sha256: info.sha256.clone(),
                subject: info.subject.clone(),
                serial: info.serial.clone(),
                not_before: info.not_before,
                not_after: info.not_after,
                sealed_key: None,
            },
            now,
        )
        .await?)
}

/// Every signature of a document checked now against its frozen bytes.
pub async fn verify_document(
    state: &AppState,
    viewer: DocumentViewer,
    id: DocumentId,
) -> Result<(DocumentDetail, Vec<(usize, Report)>), AppError> {
    let (detail, _, reports) = verified(state, viewer, id).await?;
    Ok((detail, reports))
}

/// A document, its bytes and signatures (read once), and each signature's report.
async fn verified(
    state: &AppState,
    viewer: DocumentViewer,
    id: DocumentId,
) -> Result<
    (
        DocumentDetail,
        otklik_store::DocumentContent,
        Vec<(usize, Report)>,
    ),
    AppError,
> {
    let detail = state.store.document(id, viewer).await?;
    let mut content = state.store.document_content(id, viewer).await?;
    let bytes = Arc::new(std::mem::take(&mut content.content));
    let mut reports = Vec::with_capacity(content.signatures.len());
    for (slot, signature) in &content.signatures {
        reports.push((
            *slot,
            state
                .signing
                .verify(bytes.clone(), signature.clone())
                .await?,
        ));
    }
    content.content = Arc::unwrap_or_clone(bytes);
    Ok((detail, content, reports))
}

/// The signed package: the document, each signature, and the verification report as
/// HTML and JSON.
pub async fn package(
    state: &AppState,
    viewer: DocumentViewer,
    id: DocumentId,
    report_html: impl FnOnce(&DocumentDetail, &[(usize, Report)]) -> String,
) -> Result<(String, Vec<u8>), AppError> {
    let (detail, content, reports) = verified(state, viewer, id).await?;
    let stem = detail
        .file_name
        .rsplit_once('.')
        .map_or(detail.file_name.as_str(), |(stem, _)| stem)
        .to_owned();
    let mut entries = vec![(detail.file_name.clone(), content.content)];
    for (slot, signature) in content.signatures {
        entries.push((format!("{stem}.signer-{}.p7s", slot + 1), signature));
    }
    let json = serde_json::to_vec_pretty(&report_json(&detail, &reports)).unwrap_or_default();
    entries.push(("verification.json".to_owned(), json));
    entries.push((
        "verification.html".to_owned(),
        report_html(&detail, &reports).into_bytes(),
    ));
    let zip = blocking(move || otklik_sign::package(&entries))
        .await?
        .map_err(|e| {
            tracing::error!(code = e.code(), "package failed");
            AppError::internal()
        })?;
    Ok((format!("document-{}.zip", id.0), zip))
}

/// The machine-readable verification report of a document.
pub fn report_json(detail: &DocumentDetail, reports: &[(usize, Report)]) -> serde_json::Value {
    serde_json::json!({
        "document": detail.id.0,
        "title": detail.title,
        "file_name": detail.file_name,
        "sha256": detail.sha256,
        "status": detail.status.as_str(),
        "valid": !reports.is_empty() && reports.iter().all(|(_, r)| r.valid),
        "signatures": reports.iter().map(|(slot, r)| serde_json::json!({
            "slot": slot,
            "report": r,
        })).collect::<Vec<_>>(),
    })
}

/// Declines the viewer's pending slot with a reason.
pub async fn decline(
    state: &AppState,
    user: &UserRecord,
    id: DocumentId,
    reason: &str,
) -> Result<(), AppError> {
    let reason = otklik_domain::text::Reason::parse(reason)
        .map_err(|code| AppError::field("reason", code))?;
    let viewer = viewer_of(user);
    let detail = state.store.document(id, viewer).await?;
    let slot = actionable(&detail, viewer)?;
    state
        .store
        .decline_document(id, viewer, slot, reason.as_str(), OffsetDateTime::now_utc())
        .await?;
    Ok(())
}

/// An official turns the answer of a submission they hold into a document they sign,
/// addressed to its author. Starts the route at once (the official is its one signer).
pub async fn answer_document(
    state: &AppState,
    user: &UserRecord,
    submission: SubmissionId,
    now: OffsetDateTime,
) -> Result<DocumentId, AppError> {
    otklik_domain::access::check(
        Some(&crate::auth::principal_of(user, None)),
        Capability::Sign,
    )?;
    // Who may not see the submission does not learn it exists; who may, but is not its
    // official, may not sign for the organisation.
    let actor = crate::auth::actor_of(user);
    let detail = state.store.submission(submission, actor).await?;
    if user.role != Role::Official(detail.org) {
        return Err(AppError::forbidden());
    }
    // The answer in force: given and not sent back (nor rejected since).
    if !matches!(
        detail.status,
        otklik_domain::lifecycle::Status::Answered | otklik_domain::lifecycle::Status::Rated
    ) {
        return Err(AppError::new(
            axum::http::StatusCode::CONFLICT,
            "no_answer_in_force",
        ));
    }
    let answer = detail
        .events
        .iter()
        .rev()
        .find(|e| e.kind == otklik_domain::lifecycle::EventKind::Answered)
        .ok_or_else(|| AppError::new(axum::http::StatusCode::CONFLICT, "no_answer_yet"))?;
    // One document per answer: a second press opens the one already made (unless it was
    // withdrawn, declined or let expire).
    let existing = state
        .store
        .answer_documents(submission)
        .await?
        .into_iter()
        .rev()
        .find(|doc| {
            doc.created_at >= answer.at
                && matches!(
                    doc.status,
                    otklik_domain::document::DocumentStatus::Draft
                        | otklik_domain::document::DocumentStatus::Signing
                        | otklik_domain::document::DocumentStatus::Completed
                )
        });
    if let Some(doc) = existing {
        return Ok(doc.id);
    }
    let number = detail.number.to_string();
    let organisation = detail.org_name.clone();
    let mut text = format!(
        "Ответ на обращение № {number}\nОрганизация: {organisation}\nДата ответа: {}\n\n{}\n",
        crate::messages::datetime(answer.at),
        answer.body.as_deref().unwrap_or_default()
    );
    let files = &answer.files;
    if !files.is_empty() {
        text.push_str("\nФайлы ответа (SHA-256):\n");
        for f in files {
            text.push_str(&format!("{}  {}\n", f.sha256, f.name));
        }
    }
    let viewer = viewer_of(user);
    let id = state
        .store
        .create_document(
            &NewDocument {
                author: user.id,
                title: format!("Ответ на обращение № {number}"),
                file_name: format!("answer-{number}.txt"),
                mime: "text/plain; charset=utf-8".to_owned(),
                content: text.into_bytes(),
                order: SigningOrder::Sequential,
                deadline_at: now + time::Duration::days(30),
                signers: vec![Party::Person(user.id)],
                recipients: vec![Party::Person(detail.author)],
                submission: Some(submission),
            },
            now,
        )
        .await?;
    state.store.start_document(id, viewer, now).await?;
    Ok(id)
}
