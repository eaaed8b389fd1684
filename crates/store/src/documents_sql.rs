//! The `Documents` trait's implementation (`impl_documents!`), written once for both
//! backends. A route's every move reads the document and its slots in the transaction
//! that writes the move, asks `document::decide`, and writes the new states, the event,
//! the notifications and, when the bytes are frozen or the document completes, a leaf
//! of the transparency log — all or nothing.

use crate::documents::*;
use crate::{StoreError, StoreResult};
use otklik_domain::document::{DocumentStatus, Party, SignerState, SigningOrder};
use otklik_domain::{CertificateId, DocumentId, OrgId, SubmissionId, UserId};
use serde::Serialize;

/// Who may see a document: its author; once it is out, its signers; once delivered, its
/// recipients (`$2` the viewer's id, `$3` the organisation they act for or NULL).
pub(crate) const VISIBLE: &str = "(d.author_id = $2 \
     OR (d.status <> 'draft' AND EXISTS (SELECT 1 FROM document_signers vs \
         WHERE vs.document_id = d.id AND (vs.user_id = $2 OR vs.org_id = $3))) \
     OR EXISTS (SELECT 1 FROM document_recipients vr \
         WHERE vr.document_id = d.id AND vr.delivered_at IS NOT NULL \
           AND (vr.user_id = $2 OR vr.org_id = $3)))";

pub(crate) const DOC_SELECT: &str =
    "SELECT d.id, d.author_id, u.full_name AS author_name, d.title, \
            d.file_name, d.mime, d.size, d.sha256, d.signing_order, d.status, d.deadline_at, \
            d.submission_id, d.created_at, d.started_at, d.finished_at, d.log_index \
     FROM documents d JOIN users u ON u.id = d.author_id";

#[derive(sqlx::FromRow)]
pub(crate) struct DocRow {
    pub id: i64,
    pub author_id: i64,
    pub author_name: String,
    pub title: String,
    pub file_name: String,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
    pub signing_order: String,
    pub status: String,
    pub deadline_at: i64,
    pub submission_id: Option<i64>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub log_index: Option<i64>,
}

impl DocRow {
    pub fn status(&self) -> StoreResult<DocumentStatus> {
        DocumentStatus::parse(&self.status).map_err(crate::common::corrupt)
    }

    pub fn order(&self) -> StoreResult<SigningOrder> {
        SigningOrder::parse(&self.signing_order).map_err(crate::common::corrupt)
    }

    pub fn card(&self) -> StoreResult<DocumentCard> {
        Ok(DocumentCard {
            id: DocumentId(self.id),
            title: self.title.clone(),
            status: self.status()?,
            deadline_at: crate::common::from_ts(self.deadline_at)?,
            created_at: crate::common::from_ts(self.created_at)?,
            author_name: self.author_name.clone(),
        })
    }
}

pub(crate) const SIGNER_SELECT: &str = "SELECT s.slot, s.user_id, s.org_id, \
            COALESCE(u.full_name, o.name, '') AS name, s.state, a.full_name AS acted_by, \
            s.acted_at, s.decline_reason, s.method, s.signer_subject, s.algorithm, \
            s.certificate_sha256, CAST(CASE WHEN s.signature IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_signature \
     FROM document_signers s \
     LEFT JOIN users u ON u.id = s.user_id \
     LEFT JOIN organisations o ON o.id = s.org_id \
     LEFT JOIN users a ON a.id = s.acted_by \
     WHERE s.document_id = $1 ORDER BY s.slot";

#[derive(sqlx::FromRow)]
pub(crate) struct SignerRow {
    pub slot: i64,
    pub user_id: Option<i64>,
    pub org_id: Option<i64>,
    pub name: String,
    pub state: String,
    pub acted_by: Option<String>,
    pub acted_at: Option<i64>,
    pub decline_reason: Option<String>,
    pub method: Option<String>,
    pub signer_subject: Option<String>,
    pub algorithm: Option<String>,
    pub certificate_sha256: Option<String>,
    pub has_signature: i64,
}

impl SignerRow {
    pub fn state(&self) -> StoreResult<SignerState> {
        SignerState::parse(&self.state).map_err(crate::common::corrupt)
    }

    fn record(&self) -> StoreResult<SignerRecord> {
        Ok(SignerRecord {
            slot: slot_of(self.slot)?,
            party: party_of(self.user_id, self.org_id)?,
            name: self.name.clone(),
            state: self.state()?,
            acted_by: self.acted_by.clone(),
            acted_at: self.acted_at.map(crate::common::from_ts).transpose()?,
            decline_reason: self.decline_reason.clone(),
            method: self.method.clone(),
            subject: self.signer_subject.clone(),
            algorithm: self.algorithm.clone(),
            certificate_sha256: self.certificate_sha256.clone(),
            has_signature: self.has_signature != 0,
        })
    }
}

pub(crate) const RECIPIENT_SELECT: &str = "SELECT r.user_id, r.org_id, \
            COALESCE(u.full_name, o.name, '') AS name, r.delivered_at \
     FROM document_recipients r \
     LEFT JOIN users u ON u.id = r.user_id \
     LEFT JOIN organisations o ON o.id = r.org_id \
     WHERE r.document_id = $1 ORDER BY r.slot";

#[derive(sqlx::FromRow)]
pub(crate) struct RecipientRow {
    pub user_id: Option<i64>,
    pub org_id: Option<i64>,
    pub name: String,
    pub delivered_at: Option<i64>,
}

pub(crate) const EVENT_SELECT: &str =
    "SELECT e.kind, u.full_name AS actor, e.slot, e.detail, e.at \
     FROM document_events e LEFT JOIN users u ON u.id = e.actor_id \
     WHERE e.document_id = $1 ORDER BY e.id";

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    pub kind: String,
    pub actor: Option<String>,
    pub slot: Option<i64>,
    pub detail: Option<String>,
    pub at: i64,
}

pub(crate) const CERT_SELECT: &str = "SELECT id, algorithm, sha256, subject, serial, not_before, \
            not_after, CAST(CASE WHEN sealed_key IS NULL THEN 0 ELSE 1 END AS BIGINT) AS platform_held, \
            created_at, revoked_at, certificate \
     FROM signing_certificates";

#[derive(sqlx::FromRow)]
pub(crate) struct CertRow {
    pub id: i64,
    pub algorithm: String,
    pub sha256: String,
    pub subject: String,
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    pub platform_held: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub certificate: Vec<u8>,
}

impl CertRow {
    pub fn record(self) -> StoreResult<CertificateRecord> {
        use crate::common::from_ts;
        Ok(CertificateRecord {
            id: CertificateId(self.id),
            algorithm: self.algorithm,
            sha256: self.sha256,
            subject: self.subject,
            serial: self.serial,
            not_before: from_ts(self.not_before)?,
            not_after: from_ts(self.not_after)?,
            platform_held: self.platform_held != 0,
            created_at: from_ts(self.created_at)?,
            revoked_at: self.revoked_at.map(from_ts).transpose()?,
            certificate_der: self.certificate,
        })
    }
}

pub(crate) fn slot_of(raw: i64) -> StoreResult<usize> {
    usize::try_from(raw).map_err(|_| crate::common::corrupt("document slot"))
}

pub(crate) fn party_of(user: Option<i64>, org: Option<i64>) -> StoreResult<Party> {
    match (user, org) {
        (Some(user), None) => Ok(Party::Person(UserId(user))),
        (None, Some(org)) => Ok(Party::Organisation(OrgId(org))),
        _ => Err(crate::common::corrupt("document party")),
    }
}

pub(crate) fn party_columns(party: Party) -> (Option<i64>, Option<i64>) {
    match party {
        Party::Person(user) => (Some(user.0), None),
        Party::Organisation(org) => (None, Some(org.0)),
    }
}

/// The people a party stands for, as a query of `id`s whose `$1` is the party's id.
pub(crate) fn people_of(party: Party) -> (&'static str, i64) {
    match party {
        Party::Person(user) => (
            "SELECT id FROM users WHERE id = $1 AND disabled_at IS NULL",
            user.0,
        ),
        Party::Organisation(org) => (
            "SELECT id FROM users WHERE org_id = $1 \
             AND role IN ('official', 'org_admin') AND disabled_at IS NULL",
            org.0,
        ),
    }
}

pub(crate) fn detail_of(
    doc: DocRow,
    signers: Vec<SignerRow>,
    recipients: Vec<RecipientRow>,
    events: Vec<EventRow>,
) -> StoreResult<DocumentDetail> {
    use crate::common::from_ts;
    Ok(DocumentDetail {
        id: DocumentId(doc.id),
        author: UserId(doc.author_id),
        status: doc.status()?,
        order: doc.order()?,
        author_name: doc.author_name,
        title: doc.title,
        file_name: doc.file_name,
        mime: doc.mime,
        size: u64::try_from(doc.size).map_err(|_| crate::common::corrupt("documents.size"))?,
        sha256: doc.sha256,
        deadline_at: from_ts(doc.deadline_at)?,
        submission: doc.submission_id.map(SubmissionId),
        created_at: from_ts(doc.created_at)?,
        started_at: doc.started_at.map(from_ts).transpose()?,
        finished_at: doc.finished_at.map(from_ts).transpose()?,
        log_index: doc
            .log_index
            .map(|i| crate::ledger_sql::u64_of(i, "documents.log_index"))
            .transpose()?,
        signers: signers
            .iter()
            .map(SignerRow::record)
            .collect::<Result<_, _>>()?,
        recipients: recipients
            .into_iter()
            .map(|r| {
                Ok(RecipientRecord {
                    party: party_of(r.user_id, r.org_id)?,
                    name: r.name,
                    delivered_at: r.delivered_at.map(from_ts).transpose()?,
                })
            })
            .collect::<StoreResult<_>>()?,
        events: events
            .into_iter()
            .map(|e| {
                Ok(DocumentEventRecord {
                    kind: e.kind,
                    actor: e.actor,
                    slot: e.slot.map(slot_of).transpose()?,
                    detail: e.detail,
                    at: from_ts(e.at)?,
                })
            })
            .collect::<StoreResult<_>>()?,
    })
}

/// What the transparency log records about a document: its frozen bytes' hash when the
/// route starts, and the hashes of the signatures when it completes. No names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DocumentLeaf {
    pub v: u32,
    pub record: String,
    pub event: String,
    pub document: i64,
    pub sha256: String,
    pub signatures: Vec<String>,
    pub at: i64,
}

impl DocumentLeaf {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A leaf's bytes as a document record, if they are one.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice::<Self>(bytes)
            .ok()
            .filter(|leaf| leaf.record == "document")
    }
}

/// The values document notifications may use: the title and the page.
pub(crate) fn document_vars(id: i64, title: &str) -> String {
    serde_json::json!({ "title": title, "path": format!("/documents/{id}") }).to_string()
}

pub(crate) fn not_found_unless(found: bool) -> StoreResult<()> {
    if found {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

macro_rules! impl_documents {
    (
        store: $store:ty,
        db: $db:ty,
        write: $write:ident,
        read: $read:ident,
        begin_write: $begin_write:literal,
        lock: $lock:literal $(,)?
    ) => {
        impl $store {
            async fn doc_detail(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                id: i64,
            ) -> $crate::StoreResult<$crate::DocumentDetail> {
                use $crate::documents_sql::*;
                let doc = ::sqlx::query_as::<$db, DocRow>(&format!("{DOC_SELECT} WHERE d.id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                let signers = ::sqlx::query_as::<$db, SignerRow>(SIGNER_SELECT)
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await?;
                let recipients = ::sqlx::query_as::<$db, RecipientRow>(RECIPIENT_SELECT)
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await?;
                let events = ::sqlx::query_as::<$db, EventRow>(EVENT_SELECT)
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await?;
                detail_of(doc, signers, recipients, events)
            }

            async fn doc_visible(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                id: i64,
                viewer: $crate::DocumentViewer,
            ) -> $crate::StoreResult<()> {
                let found = ::sqlx::query_scalar::<$db, i64>(&format!(
                    "SELECT d.id FROM documents d WHERE d.id = $1 AND {}",
                    $crate::documents_sql::VISIBLE
                ))
                .bind(id)
                .bind(viewer.user.0)
                .bind(viewer.org.map(|o| o.0))
                .fetch_optional(&mut *conn)
                .await?;
                $crate::documents_sql::not_found_unless(found.is_some())
            }

            async fn doc_event(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                id: i64,
                kind: &str,
                actor: Option<i64>,
                slot: Option<usize>,
                detail: Option<&str>,
                at: i64,
            ) -> $crate::StoreResult<()> {
                let slot = slot.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
                ::sqlx::query::<$db>(
                    "INSERT INTO document_events (document_id, kind, actor_id, slot, detail, at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(kind)
                .bind(actor)
                .bind(slot)
                .bind(detail)
                .bind(at)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// Tells a party (a person, or every official of an organisation) once per
            /// `what` of this document.
            async fn doc_notify(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                id: i64,
                title: &str,
                party: ::otklik_domain::document::Party,
                kind: ::otklik_domain::notify::NotificationKind,
                what: &str,
                at: i64,
            ) -> $crate::StoreResult<()> {
                let (people, key) = $crate::documents_sql::people_of(party);
                let source = format!("document:{id}:{what}");
                let vars = $crate::documents_sql::document_vars(id, title);
                Self::notify_people(&mut *conn, people, key, None, kind, &source, &vars, at).await
            }

            /// Reads a route under lock, lets the domain decide, writes the document's and
            /// the slots' new states. The caller writes the rest in the same transaction.
            async fn doc_move(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                id: i64,
                command: ::otklik_domain::document::RouteCommand,
                at: i64,
            ) -> $crate::StoreResult<(
                $crate::documents_sql::DocRow,
                Vec<::otklik_domain::document::Party>,
                ::otklik_domain::document::RouteMove,
            )> {
                use $crate::documents_sql::*;
                use ::otklik_domain::document::{decide, DocumentStatus, RouteState};
                let doc = ::sqlx::query_as::<$db, DocRow>(&format!(
                    "{DOC_SELECT} WHERE d.id = $1{}",
                    if $lock.is_empty() { "" } else { " FOR UPDATE OF d" }
                ))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or($crate::StoreError::NotFound)?;
                let slots = ::sqlx::query_as::<$db, SignerRow>(SIGNER_SELECT)
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await?;
                let state = RouteState {
                    order: doc.order()?,
                    status: doc.status()?,
                    signers: slots.iter().map(SignerRow::state).collect::<Result<_, _>>()?,
                    deadline_at: doc.deadline_at,
                };
                let moved = decide(&state, command, at)?;
                let parties = slots
                    .iter()
                    .map(|s| party_of(s.user_id, s.org_id))
                    .collect::<Result<Vec<_>, _>>()?;
                let started = (state.status == DocumentStatus::Draft
                    && moved.status == DocumentStatus::Signing)
                    .then_some(at);
                let finished = moved.status.is_final().then_some(at);
                ::sqlx::query::<$db>(
                    "UPDATE documents SET status = $2, \
                         started_at = COALESCE(started_at, $3), \
                         finished_at = COALESCE(finished_at, $4) \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(moved.status.as_str())
                .bind(started)
                .bind(finished)
                .execute(&mut *conn)
                .await?;
                for (slot, (before, after)) in state.signers.iter().zip(&moved.signers).enumerate() {
                    if before != after {
                        ::sqlx::query::<$db>(
                            "UPDATE document_signers SET state = $3 WHERE document_id = $1 AND slot = $2",
                        )
                        .bind(id)
                        .bind(i64::try_from(slot).unwrap_or(i64::MAX))
                        .bind(after.as_str())
                        .execute(&mut *conn)
                        .await?;
                    }
                }
                Ok((doc, parties, moved))
            }

            /// Asks each signer whose turn has come.
            async fn doc_ask(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                doc: &$crate::documents_sql::DocRow,
                parties: &[::otklik_domain::document::Party],
                pending: &[usize],
                at: i64,
            ) -> $crate::StoreResult<()> {
                for slot in pending {
                    if let Some(party) = parties.get(*slot) {
                        Self::doc_notify(
                            &mut *conn,
                            doc.id,
                            &doc.title,
                            *party,
                            ::otklik_domain::notify::NotificationKind::SigningRequest,
                            &format!("slot:{slot}"),
                            at,
                        )
                        .await?;
                    }
                }
                Ok(())
            }

            /// The route ended: the author is told how.
            async fn doc_outcome(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                doc: &$crate::documents_sql::DocRow,
                at: i64,
            ) -> $crate::StoreResult<()> {
                Self::doc_notify(
                    &mut *conn,
                    doc.id,
                    &doc.title,
                    ::otklik_domain::document::Party::Person(::otklik_domain::UserId(doc.author_id)),
                    ::otklik_domain::notify::NotificationKind::DocumentOutcome,
                    "outcome",
                    at,
                )
                .await
            }

            /// Everyone signed: the signatures' hashes go into the log, and the document
            /// is handed to each recipient.
            async fn doc_complete(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                doc: &$crate::documents_sql::DocRow,
                at: i64,
            ) -> $crate::StoreResult<()> {
                use $crate::documents_sql::*;
                let signatures = ::sqlx::query_scalar::<$db, Vec<u8>>(
                    "SELECT signature FROM document_signers WHERE document_id = $1 ORDER BY slot",
                )
                .bind(doc.id)
                .fetch_all(&mut *conn)
                .await?;
                let leaf = DocumentLeaf {
                    v: 1,
                    record: "document".to_owned(),
                    event: "completed".to_owned(),
                    document: doc.id,
                    sha256: doc.sha256.clone(),
                    signatures: signatures.iter().map(|s| $crate::common::sha256_hex(s)).collect(),
                    at,
                };
                Self::log_append(&mut *conn, "document", None, None, &leaf.encode(), &[], at).await?;
                Self::doc_event(&mut *conn, doc.id, "completed", None, None, None, at).await?;
                let recipients = ::sqlx::query_as::<$db, RecipientRow>(RECIPIENT_SELECT)
                    .bind(doc.id)
                    .fetch_all(&mut *conn)
                    .await?;
                ::sqlx::query::<$db>(
                    "UPDATE document_recipients SET delivered_at = $2 WHERE document_id = $1",
                )
                .bind(doc.id)
                .bind(at)
                .execute(&mut *conn)
                .await?;
                for recipient in recipients {
                    let party = party_of(recipient.user_id, recipient.org_id)?;
                    Self::doc_event(&mut *conn, doc.id, "delivered", None, None, Some(&recipient.name), at)
                        .await?;
                    Self::doc_notify(
                        &mut *conn,
                        doc.id,
                        &doc.title,
                        party,
                        ::otklik_domain::notify::NotificationKind::DocumentReceived,
                        "received",
                        at,
                    )
                    .await?;
                }
                Self::doc_outcome(&mut *conn, doc, at).await
            }

            /// A route command from someone who must be the author.
            async fn doc_author_command(
                &self,
                id: ::otklik_domain::DocumentId,
                by: $crate::DocumentViewer,
                command: ::otklik_domain::document::RouteCommand,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::DocumentDetail> {
                use ::otklik_domain::document::RouteCommand;
                let at = $crate::common::ts(now);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<$crate::DocumentDetail> = async {
                    Self::doc_visible(&mut *tx, id.0, by).await?;
                    let author = ::sqlx::query_scalar::<$db, i64>(
                        "SELECT author_id FROM documents WHERE id = $1",
                    )
                    .bind(id.0)
                    .fetch_one(&mut *tx)
                    .await?;
                    if author != by.user.0 {
                        return Err($crate::StoreError::Conflict("not_the_author"));
                    }
                    let (doc, parties, moved) = Self::doc_move(&mut *tx, id.0, command, at).await?;
                    match command {
                        RouteCommand::Start => {
                            let leaf = $crate::documents_sql::DocumentLeaf {
                                v: 1,
                                record: "document".to_owned(),
                                event: "frozen".to_owned(),
                                document: doc.id,
                                sha256: doc.sha256.clone(),
                                signatures: Vec::new(),
                                at,
                            };
                            let index =
                                Self::log_append(&mut *tx, "document", None, None, &leaf.encode(), &[], at)
                                    .await?;
                            ::sqlx::query::<$db>("UPDATE documents SET log_index = $2 WHERE id = $1")
                                .bind(doc.id)
                                .bind($crate::ledger_sql::i64_of(index)?)
                                .execute(&mut *tx)
                                .await?;
                            Self::doc_event(&mut *tx, doc.id, "started", Some(by.user.0), None, Some(&doc.sha256), at)
                                .await?;
                            Self::doc_ask(&mut *tx, &doc, &parties, &moved.now_pending, at).await?;
                        }
                        _ => {
                            Self::doc_event(&mut *tx, doc.id, "cancelled", Some(by.user.0), None, None, at)
                                .await?;
                        }
                    }
                    Self::doc_detail(&mut *tx, id.0).await
                }
                .await;
                $crate::common::finish(tx, result).await
            }
        }

        #[::async_trait::async_trait]
        impl $crate::Documents for $store {
            async fn signing_authority(
                &self,
                algorithm: &str,
            ) -> $crate::StoreResult<Option<$crate::AuthorityRecord>> {
                let row = ::sqlx::query_as::<$db, (String, Vec<u8>, Vec<u8>)>(
                    "SELECT algorithm, certificate, sealed_key FROM signing_authorities WHERE algorithm = $1",
                )
                .bind(algorithm)
                .fetch_optional(self.$read())
                .await?;
                Ok(row.map(|(algorithm, certificate_der, sealed_key)| $crate::AuthorityRecord {
                    algorithm,
                    certificate_der,
                    sealed_key,
                }))
            }

            async fn put_signing_authority(
                &self,
                candidate: &$crate::AuthorityRecord,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::AuthorityRecord> {
                ::sqlx::query::<$db>(
                    "INSERT INTO signing_authorities (algorithm, certificate, sealed_key, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (algorithm) DO NOTHING",
                )
                .bind(&candidate.algorithm)
                .bind(&candidate.certificate_der)
                .bind(&candidate.sealed_key)
                .bind($crate::common::ts(now))
                .execute(self.$write())
                .await?;
                let row = ::sqlx::query_as::<$db, (String, Vec<u8>, Vec<u8>)>(
                    "SELECT algorithm, certificate, sealed_key FROM signing_authorities WHERE algorithm = $1",
                )
                .bind(&candidate.algorithm)
                .fetch_one(self.$write())
                .await?;
                Ok($crate::AuthorityRecord {
                    algorithm: row.0,
                    certificate_der: row.1,
                    sealed_key: row.2,
                })
            }

            async fn signing_authorities(&self) -> $crate::StoreResult<Vec<$crate::AuthorityRecord>> {
                let rows = ::sqlx::query_as::<$db, (String, Vec<u8>, Vec<u8>)>(
                    "SELECT algorithm, certificate, sealed_key FROM signing_authorities ORDER BY algorithm",
                )
                .fetch_all(self.$read())
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(algorithm, certificate_der, sealed_key)| $crate::AuthorityRecord {
                        algorithm,
                        certificate_der,
                        sealed_key,
                    })
                    .collect())
            }

            async fn add_certificate(
                &self,
                certificate: &$crate::NewCertificate,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<::otklik_domain::CertificateId> {
                let at = $crate::common::ts(now);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<::otklik_domain::CertificateId> = async {
                    let id = ::sqlx::query_scalar::<$db, i64>(
                        "INSERT INTO signing_certificates (user_id, algorithm, certificate, sha256, \
                             subject, serial, not_before, not_after, sealed_key, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                    )
                    .bind(certificate.user.0)
                    .bind(&certificate.algorithm)
                    .bind(&certificate.certificate_der)
                    .bind(&certificate.sha256)
                    .bind(&certificate.subject)
                    .bind(&certificate.serial)
                    .bind(certificate.not_before)
                    .bind(certificate.not_after)
                    .bind(certificate.sealed_key.as_deref())
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| $crate::common::constraint(e, "certificate_registered", "unknown_user"))?;
                    if certificate.sealed_key.is_some() {
                        ::sqlx::query::<$db>(
                            "INSERT INTO key_uses (certificate_id, user_id, document_id, outcome, at) \
                             VALUES ($1, $2, NULL, 'issued', $3)",
                        )
                        .bind(id)
                        .bind(certificate.user.0)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Ok(::otklik_domain::CertificateId(id))
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn certificates(
                &self,
                user: ::otklik_domain::UserId,
            ) -> $crate::StoreResult<Vec<$crate::CertificateRecord>> {
                ::sqlx::query_as::<$db, $crate::documents_sql::CertRow>(&format!(
                    "{} WHERE user_id = $1 ORDER BY id DESC",
                    $crate::documents_sql::CERT_SELECT
                ))
                .bind(user.0)
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map($crate::documents_sql::CertRow::record)
                .collect()
            }

            async fn platform_key(
                &self,
                user: ::otklik_domain::UserId,
                id: ::otklik_domain::CertificateId,
            ) -> $crate::StoreResult<$crate::PlatformKey> {
                let row = ::sqlx::query_as::<$db, (String, Vec<u8>, Vec<u8>, i64)>(
                    "SELECT algorithm, certificate, sealed_key, not_after FROM signing_certificates \
                     WHERE id = $1 AND user_id = $2 AND sealed_key IS NOT NULL AND revoked_at IS NULL",
                )
                .bind(id.0)
                .bind(user.0)
                .fetch_optional(self.$read())
                .await?
                .ok_or($crate::StoreError::NotFound)?;
                Ok($crate::PlatformKey {
                    id,
                    algorithm: row.0,
                    certificate_der: row.1,
                    sealed_key: row.2,
                    not_after: row.3,
                })
            }

            async fn revoke_certificate(
                &self,
                user: ::otklik_domain::UserId,
                id: ::otklik_domain::CertificateId,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let changed = ::sqlx::query::<$db>(
                    "UPDATE signing_certificates SET revoked_at = $3 \
                     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
                )
                .bind(id.0)
                .bind(user.0)
                .bind($crate::common::ts(now))
                .execute(self.$write())
                .await?
                .rows_affected();
                $crate::documents_sql::not_found_unless(changed == 1)
            }

            async fn record_key_use(
                &self,
                certificate: ::otklik_domain::CertificateId,
                user: ::otklik_domain::UserId,
                document: Option<::otklik_domain::DocumentId>,
                outcome: $crate::KeyUse,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "INSERT INTO key_uses (certificate_id, user_id, document_id, outcome, at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(certificate.0)
                .bind(user.0)
                .bind(document.map(|d| d.0))
                .bind(outcome.as_str())
                .bind($crate::common::ts(now))
                .execute(self.$write())
                .await
                .map_err(|e| $crate::common::constraint(e, "key_use_conflict", "unknown_certificate"))?;
                Ok(())
            }

            async fn key_uses(
                &self,
                user: ::otklik_domain::UserId,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::KeyUseRecord>> {
                ::sqlx::query_as::<$db, (i64, String, Option<i64>, String, i64)>(
                    "SELECT k.certificate_id, c.serial, k.document_id, k.outcome, k.at \
                     FROM key_uses k JOIN signing_certificates c ON c.id = k.certificate_id \
                     WHERE k.user_id = $1 ORDER BY k.id DESC LIMIT $2",
                )
                .bind(user.0)
                .bind(i64::from(limit))
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map(|(certificate, serial, document, outcome, at)| {
                    Ok($crate::KeyUseRecord {
                        certificate: ::otklik_domain::CertificateId(certificate),
                        serial,
                        document: document.map(::otklik_domain::DocumentId),
                        outcome,
                        at: $crate::common::from_ts(at)?,
                    })
                })
                .collect()
            }

            async fn wrong_passwords_since(
                &self,
                certificate: ::otklik_domain::CertificateId,
                since: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<u64> {
                let count = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT COUNT(*) FROM key_uses \
                     WHERE certificate_id = $1 AND outcome = 'wrong_password' AND at >= $2",
                )
                .bind(certificate.0)
                .bind($crate::common::ts(since))
                .fetch_one(self.$write())
                .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn create_document(
                &self,
                document: &$crate::NewDocument,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<::otklik_domain::DocumentId> {
                use $crate::documents_sql::party_columns;
                let at = $crate::common::ts(now);
                let size = i64::try_from(document.content.len()).unwrap_or(i64::MAX);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<::otklik_domain::DocumentId> = async {
                    let id = ::sqlx::query_scalar::<$db, i64>(
                        "INSERT INTO documents (author_id, title, file_name, mime, size, sha256, content, \
                             signing_order, status, deadline_at, submission_id, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9, $10, $11) RETURNING id",
                    )
                    .bind(document.author.0)
                    .bind(&document.title)
                    .bind(&document.file_name)
                    .bind(&document.mime)
                    .bind(size)
                    .bind($crate::common::sha256_hex(&document.content))
                    .bind(&document.content)
                    .bind(document.order.as_str())
                    .bind($crate::common::ts(document.deadline_at))
                    .bind(document.submission.map(|s| s.0))
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| $crate::common::constraint(e, "document_conflict", "unknown_user"))?;
                    for (slot, party) in document.signers.iter().enumerate() {
                        let (user, org) = party_columns(*party);
                        ::sqlx::query::<$db>(
                            "INSERT INTO document_signers (document_id, slot, user_id, org_id, state) \
                             VALUES ($1, $2, $3, $4, 'waiting')",
                        )
                        .bind(id)
                        .bind(i64::try_from(slot).unwrap_or(i64::MAX))
                        .bind(user)
                        .bind(org)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| $crate::common::constraint(e, "duplicate_signer", "unknown_party"))?;
                    }
                    for (slot, party) in document.recipients.iter().enumerate() {
                        let (user, org) = party_columns(*party);
                        ::sqlx::query::<$db>(
                            "INSERT INTO document_recipients (document_id, slot, user_id, org_id) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(id)
                        .bind(i64::try_from(slot).unwrap_or(i64::MAX))
                        .bind(user)
                        .bind(org)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| $crate::common::constraint(e, "duplicate_recipient", "unknown_party"))?;
                    }
                    Self::doc_event(&mut *tx, id, "created", Some(document.author.0), None, None, at).await?;
                    Ok(::otklik_domain::DocumentId(id))
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn start_document(
                &self,
                id: ::otklik_domain::DocumentId,
                by: $crate::DocumentViewer,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::DocumentDetail> {
                self.doc_author_command(id, by, ::otklik_domain::document::RouteCommand::Start, now)
                    .await
            }

            async fn cancel_document(
                &self,
                id: ::otklik_domain::DocumentId,
                by: $crate::DocumentViewer,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::DocumentDetail> {
                self.doc_author_command(id, by, ::otklik_domain::document::RouteCommand::Cancel, now)
                    .await
            }

            async fn sign_document(
                &self,
                id: ::otklik_domain::DocumentId,
                by: $crate::DocumentViewer,
                signature: &$crate::NewSignature,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::DocumentDetail> {
                use ::otklik_domain::document::{RouteCommand, RouteError};
                let at = $crate::common::ts(now);
                let slot = i64::try_from(signature.slot).map_err(|_| RouteError::UnknownSlot)?;
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<$crate::DocumentDetail> = async {
                    Self::doc_visible(&mut *tx, id.0, by).await?;
                    let (doc, parties, moved) =
                        Self::doc_move(&mut *tx, id.0, RouteCommand::Sign { slot: signature.slot }, at).await?;
                    if !parties.get(signature.slot).is_some_and(|p| by.is(*p)) {
                        return Err(RouteError::NotYourTurn.into());
                    }
                    if doc.sha256 != signature.content_sha256 {
                        return Err($crate::StoreError::Conflict("content_mismatch"));
                    }
                    ::sqlx::query::<$db>(
                        "UPDATE document_signers SET acted_by = $3, acted_at = $4, method = $5, \
                             signature = $6, certificate_sha256 = $7, signer_subject = $8, algorithm = $9 \
                         WHERE document_id = $1 AND slot = $2",
                    )
                    .bind(id.0)
                    .bind(slot)
                    .bind(by.user.0)
                    .bind(at)
                    .bind(signature.method.as_str())
                    .bind(&signature.signature)
                    .bind(&signature.certificate_sha256)
                    .bind(&signature.subject)
                    .bind(&signature.algorithm)
                    .execute(&mut *tx)
                    .await?;
                    if let $crate::SignatureMethod::Platform(certificate) = signature.method {
                        ::sqlx::query::<$db>(
                            "INSERT INTO key_uses (certificate_id, user_id, document_id, outcome, at) \
                             VALUES ($1, $2, $3, 'signed', $4)",
                        )
                        .bind(certificate.0)
                        .bind(by.user.0)
                        .bind(id.0)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Self::doc_event(
                        &mut *tx,
                        id.0,
                        "signed",
                        Some(by.user.0),
                        Some(signature.slot),
                        Some(&signature.subject),
                        at,
                    )
                    .await?;
                    Self::doc_ask(&mut *tx, &doc, &parties, &moved.now_pending, at).await?;
                    if moved.completed() {
                        Self::doc_complete(&mut *tx, &doc, at).await?;
                    }
                    Self::doc_detail(&mut *tx, id.0).await
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn decline_document(
                &self,
                id: ::otklik_domain::DocumentId,
                by: $crate::DocumentViewer,
                slot: usize,
                reason: &str,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::DocumentDetail> {
                use ::otklik_domain::document::{RouteCommand, RouteError};
                let at = $crate::common::ts(now);
                let slot_value = i64::try_from(slot).map_err(|_| RouteError::UnknownSlot)?;
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<$crate::DocumentDetail> = async {
                    Self::doc_visible(&mut *tx, id.0, by).await?;
                    let (doc, parties, _) =
                        Self::doc_move(&mut *tx, id.0, RouteCommand::Decline { slot }, at).await?;
                    if !parties.get(slot).is_some_and(|p| by.is(*p)) {
                        return Err(RouteError::NotYourTurn.into());
                    }
                    ::sqlx::query::<$db>(
                        "UPDATE document_signers SET acted_by = $3, acted_at = $4, decline_reason = $5 \
                         WHERE document_id = $1 AND slot = $2",
                    )
                    .bind(id.0)
                    .bind(slot_value)
                    .bind(by.user.0)
                    .bind(at)
                    .bind(reason)
                    .execute(&mut *tx)
                    .await?;
                    Self::doc_event(&mut *tx, id.0, "declined", Some(by.user.0), Some(slot), Some(reason), at)
                        .await?;
                    Self::doc_outcome(&mut *tx, &doc, at).await?;
                    Self::doc_detail(&mut *tx, id.0).await
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn expire_documents(&self, now: ::time::OffsetDateTime) -> $crate::StoreResult<u64> {
                let at = $crate::common::ts(now);
                let due = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT id FROM documents WHERE status = 'signing' AND deadline_at <= $1 \
                     ORDER BY deadline_at LIMIT 500",
                )
                .bind(at)
                .fetch_all(self.$read())
                .await?;
                let mut expired = 0;
                for id in due {
                    let mut tx = self.$write().begin_with($begin_write).await?;
                    let result: $crate::StoreResult<bool> = async {
                        let moved = Self::doc_move(
                            &mut *tx,
                            id,
                            ::otklik_domain::document::RouteCommand::Expire,
                            at,
                        )
                        .await;
                        let (doc, _, _) = match moved {
                            Ok(moved) => moved,
                            // Another node expired it, or it completed meanwhile.
                            Err($crate::StoreError::Route(_)) => return Ok(false),
                            Err(e) => return Err(e),
                        };
                        Self::doc_event(&mut *tx, id, "expired", None, None, None, at).await?;
                        Self::doc_outcome(&mut *tx, &doc, at).await?;
                        Ok(true)
                    }
                    .await;
                    if $crate::common::finish(tx, result).await? {
                        expired += 1;
                    }
                }
                Ok(expired)
            }

            async fn document(
                &self,
                id: ::otklik_domain::DocumentId,
                viewer: $crate::DocumentViewer,
            ) -> $crate::StoreResult<$crate::DocumentDetail> {
                let mut conn = self.$read().acquire().await?;
                Self::doc_visible(&mut *conn, id.0, viewer).await?;
                Self::doc_detail(&mut *conn, id.0).await
            }

            async fn document_content(
                &self,
                id: ::otklik_domain::DocumentId,
                viewer: $crate::DocumentViewer,
            ) -> $crate::StoreResult<$crate::DocumentContent> {
                let mut conn = self.$read().acquire().await?;
                Self::doc_visible(&mut *conn, id.0, viewer).await?;
                let (file_name, mime, content) = ::sqlx::query_as::<$db, (String, String, Vec<u8>)>(
                    "SELECT file_name, mime, content FROM documents WHERE id = $1",
                )
                .bind(id.0)
                .fetch_one(&mut *conn)
                .await?;
                let signatures = ::sqlx::query_as::<$db, (i64, Vec<u8>)>(
                    "SELECT slot, signature FROM document_signers \
                     WHERE document_id = $1 AND signature IS NOT NULL ORDER BY slot",
                )
                .bind(id.0)
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(|(slot, der)| Ok(($crate::documents_sql::slot_of(slot)?, der)))
                .collect::<$crate::StoreResult<Vec<_>>>()?;
                Ok($crate::DocumentContent {
                    file_name,
                    mime,
                    content,
                    signatures,
                })
            }

            async fn documents(
                &self,
                viewer: $crate::DocumentViewer,
                which: $crate::DocumentBox,
            ) -> $crate::StoreResult<Vec<$crate::DocumentCard>> {
                use $crate::documents_sql::*;
                let filter = match which {
                    $crate::DocumentBox::Authored => "d.author_id = $1",
                    $crate::DocumentBox::ToSign => "d.status = 'signing' AND EXISTS (SELECT 1 FROM document_signers s \
                         WHERE s.document_id = d.id AND s.state = 'pending' AND (s.user_id = $1 OR s.org_id = $2))",
                    $crate::DocumentBox::Involved => "((d.status <> 'draft' AND EXISTS (SELECT 1 FROM document_signers s \
                             WHERE s.document_id = d.id AND (s.user_id = $1 OR s.org_id = $2))) \
                         OR EXISTS (SELECT 1 FROM document_recipients r WHERE r.document_id = d.id \
                             AND r.delivered_at IS NOT NULL AND (r.user_id = $1 OR r.org_id = $2)))",
                };
                let sql = format!("{DOC_SELECT} WHERE {filter} ORDER BY d.id DESC LIMIT 200");
                let mut query = ::sqlx::query_as::<$db, DocRow>(&sql).bind(viewer.user.0);
                if which != $crate::DocumentBox::Authored {
                    query = query.bind(viewer.org.map(|o| o.0));
                }
                query
                    .fetch_all(self.$read())
                    .await?
                    .iter()
                    .map(DocRow::card)
                    .collect()
            }

            async fn answer_documents(
                &self,
                submission: ::otklik_domain::SubmissionId,
            ) -> $crate::StoreResult<Vec<$crate::DocumentCard>> {
                use $crate::documents_sql::*;
                ::sqlx::query_as::<$db, DocRow>(&format!(
                    "{DOC_SELECT} WHERE d.submission_id = $1 ORDER BY d.id"
                ))
                .bind(submission.0)
                .fetch_all(self.$read())
                .await?
                .iter()
                .map(DocRow::card)
                .collect()
            }
        }
    };
}

pub(crate) use impl_documents;
