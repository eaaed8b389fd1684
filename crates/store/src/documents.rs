//! The values of electronic documents, signatures, certificates and authorities as the
//! store takes and returns them.

use otklik_domain::document::{DocumentStatus, Party, SignerState, SigningOrder};
use otklik_domain::{CertificateId, DocumentId, OrgId, SubmissionId, UserId};
use time::OffsetDateTime;

/// Who looks at or acts on a document: a person, and the organisation they act for when
/// they are its official (or administrator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentViewer {
    pub user: UserId,
    pub org: Option<OrgId>,
}

impl DocumentViewer {
    /// Whether this viewer is, or acts for, `party`.
    pub fn is(&self, party: Party) -> bool {
        match party {
            Party::Person(user) => user == self.user,
            Party::Organisation(org) => self.org == Some(org),
        }
    }
}

/// A platform certification authority, as stored (one per algorithm).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorityRecord {
    pub algorithm: String,
    pub certificate_der: Vec<u8>,
    pub sealed_key: Vec<u8>,
}

impl std::fmt::Debug for AuthorityRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorityRecord")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// A certificate to keep for a person: issued by the platform (with the sealed key) or
/// registered by them (no key).
#[derive(Clone)]
pub struct NewCertificate {
    pub user: UserId,
    pub algorithm: String,
    pub certificate_der: Vec<u8>,
    pub sha256: String,
    pub subject: String,
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    pub sealed_key: Option<Vec<u8>>,
}

impl std::fmt::Debug for NewCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCertificate")
            .field("user", &self.user)
            .field("algorithm", &self.algorithm)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// A person's certificate as their account lists it (never the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    pub id: CertificateId,
    pub algorithm: String,
    pub sha256: String,
    pub subject: String,
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Issued by the platform: the key is held (sealed) here.
    pub platform_held: bool,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub certificate_der: Vec<u8>,
}

/// What signing with a platform-held key needs: the certificate and the sealed key.
#[derive(Clone)]
pub struct PlatformKey {
    pub id: CertificateId,
    pub algorithm: String,
    pub certificate_der: Vec<u8>,
    pub sealed_key: Vec<u8>,
    pub not_after: i64,
}

impl std::fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformKey")
            .field("id", &self.id)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// How a use of a platform-held key ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    Issued,
    Signed,
    WrongPassword,
}

impl KeyUse {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Signed => "signed",
            Self::WrongPassword => "wrong_password",
        }
    }
}

/// A new document with its route, stored as a draft.
#[derive(Clone)]
pub struct NewDocument {
    pub author: UserId,
    pub title: String,
    pub file_name: String,
    pub mime: String,
    pub content: Vec<u8>,
    pub order: SigningOrder,
    pub deadline_at: OffsetDateTime,
    pub signers: Vec<Party>,
    pub recipients: Vec<Party>,
    /// For an official's signed answer: the submission it answers.
    pub submission: Option<SubmissionId>,
}

impl std::fmt::Debug for NewDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewDocument")
            .field("author", &self.author)
            .field("file_name", &self.file_name)
            .field("len", &self.content.len())
            .finish_non_exhaustive()
    }
}

/// How a signature was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    /// With the person's platform-held key, after they confirmed with their password.
    Platform(CertificateId),
    /// Made outside and uploaded; the platform verified it.
    Uploaded,
}

impl SignatureMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Platform(_) => "platform",
            Self::Uploaded => "uploaded",
        }
    }
}

/// A checked signature for one slot of a route.
#[derive(Debug, Clone)]
pub struct NewSignature {
    pub slot: usize,
    pub method: SignatureMethod,
    /// CMS SignedData, DER.
    pub signature: Vec<u8>,
    /// The SHA-256 (hex) of the content the signature was checked against: the store
    /// refuses it unless that is the document's frozen content.
    pub content_sha256: String,
    pub certificate_sha256: String,
    pub subject: String,
    pub algorithm: String,
}

/// One slot of a route as a page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerRecord {
    pub slot: usize,
    pub party: Party,
    /// The person's name or the organisation's name.
    pub name: String,
    pub state: SignerState,
    pub acted_by: Option<String>,
    pub acted_at: Option<OffsetDateTime>,
    pub decline_reason: Option<String>,
    pub method: Option<String>,
    pub subject: Option<String>,
    pub algorithm: Option<String>,
    pub certificate_sha256: Option<String>,
    pub has_signature: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRecord {
    pub party: Party,
    pub name: String,
    pub delivered_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentEventRecord {
    pub kind: String,
    pub actor: Option<String>,
    pub slot: Option<usize>,
    pub detail: Option<String>,
    pub at: OffsetDateTime,
}

/// A document with its route, recipients and history (not its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentDetail {
    pub id: DocumentId,
    pub author: UserId,
    pub author_name: String,
    pub title: String,
    pub file_name: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    pub order: SigningOrder,
    pub status: DocumentStatus,
    pub deadline_at: OffsetDateTime,
    pub submission: Option<SubmissionId>,
    pub created_at: OffsetDateTime,
    pub started_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
    pub log_index: Option<u64>,
    pub signers: Vec<SignerRecord>,
    pub recipients: Vec<RecipientRecord>,
    pub events: Vec<DocumentEventRecord>,
}

impl DocumentDetail {
    /// The slot this viewer may sign or decline now, if any (only while it is out).
    pub fn actionable_slot(&self, viewer: &DocumentViewer) -> Option<usize> {
        if self.status != DocumentStatus::Signing {
            return None;
        }
        self.signers
            .iter()
            .find(|s| s.state == SignerState::Pending && viewer.is(s.party))
            .map(|s| s.slot)
    }
}

/// A document's bytes and its signatures, for downloads and verification.
#[derive(Clone)]
pub struct DocumentContent {
    pub file_name: String,
    pub mime: String,
    pub content: Vec<u8>,
    /// (slot, DER) of every signature made so far, in slot order.
    pub signatures: Vec<(usize, Vec<u8>)>,
}

/// Which documents a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentBox {
    /// Written by the viewer.
    Authored,
    /// Waiting for the viewer's (or their organisation's) signature now.
    ToSign,
    /// Where the viewer is, or acts for, a signer or a recipient (delivered).
    Involved,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentCard {
    pub id: DocumentId,
    pub title: String,
    pub status: DocumentStatus,
    pub deadline_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub author_name: String,
}

/// One recorded use of a person's platform-held key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUseRecord {
    pub certificate: CertificateId,
    pub serial: String,
    pub document: Option<DocumentId>,
    /// `issued`, `signed` or `wrong_password`.
    pub outcome: String,
    pub at: OffsetDateTime,
}
