//! Storage of Otklik behind one trait of domain operations, with SQLite (the embedded
//! default) and PostgreSQL implementations.
//!
//! Invariants kept here:
//! - the only crate that writes SQL;
//! - every status change is stored as an event in the same transaction as the state it
//!   changes, and the transition is decided by `otklik_domain::lifecycle::decide` inside
//!   that transaction, on the state read in it: nothing is ever half-written;
//! - deadlines are computed by the domain (`calendar::Term`) from the holding
//!   organisation's UTC offset, inside the same transaction.

mod common;
mod model;

pub use model::*;

use async_trait::async_trait;
use otklik_domain::lifecycle::{Action, Actor, TransitionError};
use otklik_domain::text::Email;
use otklik_domain::{attachment::Attachment, form::FormSpec, *};
use std::sync::Arc;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such record, or the actor may not see it (the two are not told apart, so that
    /// nobody learns what exists in another organisation).
    #[error("not found")]
    NotFound,
    /// A unique value is taken (`email_taken`, …).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A reference to something that does not exist (`unknown_organisation`, …).
    #[error("invalid reference: {0}")]
    InvalidReference(&'static str),
    /// The domain refused the transition.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The database failed; the cause is logged, never shown.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Conflict(code) | Self::InvalidReference(code) => code,
            Self::Transition(t) => t.code(),
            Self::Database(_) | Self::Migration(_) => "database_error",
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Lists count matching submissions up to this many; beyond it they say "more than".
pub const COUNT_LIMIT: u64 = 10_000;

/// Every operation the platform performs on its data, in the domain's words.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers only when the database answers a query.
    async fn health(&self) -> StoreResult<()>;

    /// Which backend this is (`sqlite` or `postgres`), for logs and `/healthz`.
    fn backend(&self) -> &'static str;

    // --- reference data -------------------------------------------------------------

    async fn create_region(&self, region: NewRegion) -> StoreResult<RegionId>;
    async fn regions(&self) -> StoreResult<Vec<Region>>;

    async fn create_organisation(&self, org: NewOrganisation) -> StoreResult<OrgId>;
    async fn organisations(&self) -> StoreResult<Vec<Organisation>>;
    async fn organisation(&self, id: OrgId) -> StoreResult<Organisation>;

    async fn create_category(&self, name: &str, position: i32) -> StoreResult<CategoryId>;
    async fn create_subcategory(
        &self,
        category: CategoryId,
        name: &str,
        form: &FormSpec,
        position: i32,
    ) -> StoreResult<SubcategoryId>;
    /// Categories in order, each with its subcategories in order.
    async fn catalogue(&self) -> StoreResult<Vec<Category>>;
    async fn subcategory(&self, id: SubcategoryId) -> StoreResult<Subcategory>;

    /// Sets (or replaces) the organisation competent for a subcategory in a region.
    async fn set_route(
        &self,
        subcategory: SubcategoryId,
        region: RegionId,
        org: OrgId,
    ) -> StoreResult<()>;
    /// The competent organisation: the routing rule for (subcategory, region), else the
    /// region's coordinator organisation; `InvalidReference("no_route")` when neither.
    async fn route(&self, subcategory: SubcategoryId, region: RegionId) -> StoreResult<OrgId>;

    // --- accounts and sessions ------------------------------------------------------

    /// `Conflict("email_taken")` when the address is registered already.
    async fn create_user(&self, user: NewUser) -> StoreResult<UserId>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<UserRecord>>;
    async fn user(&self, id: UserId) -> StoreResult<UserRecord>;
    async fn has_users(&self) -> StoreResult<bool>;

    /// Stores a session by the SHA-256 of its token (the token itself is never stored).
    async fn create_session(
        &self,
        token_sha256: &[u8; 32],
        user: UserId,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The user of a live session, or None when unknown or expired.
    async fn session_user(
        &self,
        token_sha256: &[u8; 32],
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>>;
    async fn delete_session(&self, token_sha256: &[u8; 32]) -> StoreResult<()>;

    /// The installation's secret key (CSRF tokens): `candidate` is stored on first call,
    /// and every call returns the stored one, so all nodes agree.
    async fn server_secret(&self, candidate: &[u8; 32]) -> StoreResult<Vec<u8>>;

    // --- submissions ------------------------------------------------------------------

    /// Registers a submission with its attachments and its `registered` event, computing
    /// the deadline from the organisation's time zone. All or nothing.
    async fn register_submission(
        &self,
        submission: NewSubmission,
        at: OffsetDateTime,
    ) -> StoreResult<Registered>;

    /// Applies an action: reads the state, lets the domain decide, writes the new state,
    /// the event and the files in one transaction. `NotFound` when the actor may not see
    /// the submission; `InvalidReference("unknown_organisation")` for a redirect target
    /// that does not exist; `Transition(..)` when the domain refuses.
    async fn apply(
        &self,
        id: SubmissionId,
        actor: Actor,
        action: Action,
        files: Vec<Attachment>,
        at: OffsetDateTime,
    ) -> StoreResult<EventRecord>;

    /// One submission with its timeline and files, if `actor` may see it.
    async fn submission(&self, id: SubmissionId, actor: Actor) -> StoreResult<SubmissionDetail>;

    /// Cards of the submissions in `scope`, newest first, with filters and paging.
    async fn list(&self, scope: Scope, query: &ListQuery) -> StoreResult<Page<SubmissionCard>>;

    /// A stored file with its content, if `actor` may see its submission.
    async fn file(&self, id: FileId, actor: Actor) -> StoreResult<StoredFile>;

    /// Records that a staff member read a citizen's personal data (152-FZ).
    async fn record_personal_data_access(
        &self,
        staff: UserId,
        submission: SubmissionId,
        purpose: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The access log of one submission, oldest first.
    async fn personal_data_accesses(
        &self,
        submission: SubmissionId,
    ) -> StoreResult<Vec<PersonalDataAccess>>;
}

/// Opens the store a URL names: `sqlite://PATH` (created when missing) or
/// `postgres://…`, and applies that backend's migrations.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::open(url).await?))
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(sqlite::SqliteStore::open(path).await?))
    } else {
        Err(StoreError::InvalidReference("unsupported_database_url"))
    }
}

pub mod postgres;
pub mod sqlite;
