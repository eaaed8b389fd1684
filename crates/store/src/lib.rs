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

mod admin_sql;
mod analytics_cache;
mod analytics_sql;
pub mod backup;
mod calendars;
mod common;
mod delivery_sql;
mod discussions_sql;
mod documents;
mod documents_sql;
mod exports_sql;
mod group_commit;
mod identity_sql;
pub mod ledger;
mod ledger_sql;
mod merge_sql;
mod model;
mod notify_sql;
pub mod polls;
mod polls_sql;
mod quality_sql;
mod reference;
mod register_sql;
mod search_sql;
mod social_sql;
mod templates_sql;
mod terms;

pub use analytics_sql::{
    AnalyticsAnswers, AnalyticsFilter, AnalyticsPosition, CellQuery, CellSum, FollowOutcome,
    SocialSum,
};
pub use discussions_sql::{
    CommentPage, CommentRecord, DiscussionFilter, DiscussionRecord, NewDiscussion,
};
pub use documents::*;
pub use exports_sql::{ExportJob, EXPORT_LEASE_LOST};
pub use ledger::{
    AuditOptions, AuditReport, CitizenReceipt, Divergence, InclusionProof, LogInfo, LogLeaf,
    ReceiptEntry,
};
pub use model::*;
pub use polls::*;
pub use polls_sql::poll_signer;
pub use quality_sql::{
    OpinionSource, OpinionSubject, QualityOpinion, QualityPage, QualityPushState,
};
pub use search_sql::{
    SearchAnswer, SearchChanges, SearchIncident, SearchPost, SearchSocialIncident, SearchSubmission,
};
pub use social_sql::{
    AnalysedPost, InboxItem, IngestReport, IngestRules, QuarantineRecord, ReplyJob, SocialCommand,
    SocialIncident, SocialPost, SocialQuery, SourceState,
};
pub use templates_sql::{AnswerTemplateRecord, NewAnswerTemplate};

use async_trait::async_trait;
use otklik_domain::access::ApiScope;
use otklik_domain::lifecycle::{Action, Actor, SubmissionKind, TransitionError};
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
    /// The domain refused a merge of duplicates.
    #[error(transparent)]
    Merge(#[from] otklik_domain::merge::MergeError),
    /// The domain refused a signing route's move.
    #[error(transparent)]
    Route(#[from] otklik_domain::document::RouteError),
    /// The domain refused an action on a social-media incident.
    #[error(transparent)]
    Incident(#[from] otklik_domain::social::IncidentError),
    /// The database failed; the cause is logged, never shown.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// SQLite's "database is locked" (`SQLITE_BUSY` and its extended codes): another
    /// process holds a lock a moment longer than the busy timeout covers, or a read had
    /// to be upgraded to a write after another commit. Worth trying again.
    pub fn is_busy(&self) -> bool {
        let db = match self {
            Self::Database(sqlx::Error::Database(db)) => Some(db),
            Self::Migration(sqlx::migrate::MigrateError::Execute(sqlx::Error::Database(db))) => {
                Some(db)
            }
            _ => None,
        };
        db.is_some_and(|db| {
            db.code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| c & 0xff == 5)
        })
    }

    /// The database cannot be reached for now: the connection broke or could not be
    /// made, the pool waited too long, PostgreSQL is shutting down or starting
    /// (SQLSTATE classes 08 and 57), or SQLite stayed locked. Nothing was written; the
    /// same request may succeed in a moment, so callers answer `503` with `Retry-After`.
    pub fn is_unavailable(&self) -> bool {
        let Self::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_) => true,
            sqlx::Error::Database(db) => match db.code() {
                Some(code) if code.starts_with("08") || code.starts_with("57") => true,
                _ => self.is_busy(),
            },
            _ => false,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Conflict(code) | Self::InvalidReference(code) => code,
            Self::Transition(t) => t.code(),
            Self::Merge(m) => m.code(),
            Self::Route(r) => r.code(),
            Self::Incident(i) => i.code(),
            Self::Database(_) | Self::Migration(_) => "database_error",
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Lists count matching submissions up to this many; beyond it they say "more than".
pub const COUNT_LIMIT: u64 = 10_000;

/// `Notifications::unread_count` counts up to this many.
pub const UNREAD_COUNT_LIMIT: u64 = 100;

/// The transparency log: every lifecycle event is a leaf of an RFC 9162 Merkle tree,
/// appended in the transaction that records the event.
#[async_trait]
pub trait Ledger: Send + Sync + 'static {
    /// Creates the log with hash `alg` (or checks an existing one uses it:
    /// `Conflict("log_hash_mismatch")`), then appends leaves for any events recorded
    /// before the log existed; returns how many.
    async fn init_log(&self, alg: otklik_log::HashAlg) -> StoreResult<u64>;
    /// The size and root of the log as it stands.
    async fn log_info(&self) -> StoreResult<LogInfo>;
    /// Signs and stores a tree head for the current size when it has grown since the
    /// last one; None when there is nothing new.
    async fn sign_tree_head(
        &self,
        signer: &otklik_log::Signer,
        now: OffsetDateTime,
    ) -> StoreResult<Option<otklik_log::SignedTreeHead>>;
    async fn latest_tree_head(&self) -> StoreResult<Option<otklik_log::SignedTreeHead>>;
    /// The signed tree head of exactly this size; `NotFound` when there is none.
    async fn tree_head(&self, size: u64) -> StoreResult<otklik_log::SignedTreeHead>;
    /// `InvalidReference("index_out_of_range")` unless `index < size <= log size`.
    async fn inclusion_proof(&self, index: u64, size: u64) -> StoreResult<InclusionProof>;
    /// `InvalidReference("size_out_of_range")` unless `0 < first <= second <= log size`.
    async fn consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> StoreResult<Vec<otklik_log::Hash>>;
    /// Up to `count` leaves from index `start`.
    async fn leaves(&self, start: u64, count: u32) -> StoreResult<Vec<LogLeaf>>;
    /// The leaves of a submission `actor` may see.
    async fn receipts(
        &self,
        submission: SubmissionId,
        actor: Actor,
    ) -> StoreResult<Vec<ReceiptEntry>>;
    /// The receipt of one leaf of the submission, proved against the latest signed tree
    /// head; `Conflict("receipt_pending")` until a head covers it. The author's receipt
    /// also opens the leaf's commitment.
    async fn receipt(
        &self,
        submission: SubmissionId,
        index: u64,
        actor: Actor,
    ) -> StoreResult<CitizenReceipt>;
    /// Recomputes and cross-checks the whole log; see `AuditReport`.
    async fn audit_log(&self, options: AuditOptions) -> StoreResult<AuditReport>;
}

/// Territories, routing rules, deadline policies, calendars and the record of their
/// changes; procedure incidents and the monitor that raises them.
#[async_trait]
pub trait Admin: Send + Sync + 'static {
    /// Loads (or refreshes the codes of) the federal subjects; returns how many were new.
    async fn ensure_regions(&self, subjects: &[FederalSubjectRow]) -> StoreResult<u64>;
    async fn region_by_code(&self, code: &str) -> StoreResult<Option<Region>>;
    /// Inserts or renames municipalities by OKTMO code, all or nothing; returns
    /// (inserted, updated).
    async fn import_municipalities(&self, rows: &[NewMunicipality]) -> StoreResult<(u64, u64)>;
    async fn municipalities(&self, region: RegionId) -> StoreResult<Vec<Municipality>>;

    /// The competent organisation for a subcategory in a region (and municipality): the
    /// most specific rule, else the region's coordinator; `InvalidReference("no_route")`.
    async fn route_decision(
        &self,
        subcategory: SubcategoryId,
        region: RegionId,
        municipality: Option<MunicipalityId>,
    ) -> StoreResult<RouteDecision>;
    async fn routes(&self, subcategory: Option<SubcategoryId>) -> StoreResult<Vec<RouteRule>>;
    /// Adds or replaces the rule of a scope, recording the change.
    async fn put_route(
        &self,
        actor: Option<UserId>,
        subcategory: SubcategoryId,
        scope: RouteScope,
        org: OrgId,
        at: OffsetDateTime,
    ) -> StoreResult<RouteId>;
    async fn delete_route(
        &self,
        actor: Option<UserId>,
        id: RouteId,
        at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Stored policies (the defaults apply where none is stored).
    async fn policies(&self) -> StoreResult<Vec<PolicyRecord>>;
    /// Sets a policy (validated by the domain), records the change and recomputes the
    /// open deadlines.
    async fn put_policy(
        &self,
        actor: Option<UserId>,
        kind: SubmissionKind,
        subcategory: Option<SubcategoryId>,
        policy: &otklik_domain::calendar::DeadlinePolicy,
        at: OffsetDateTime,
    ) -> StoreResult<RecomputeReport>;
    /// Days layered over the shipped calendar: `region` None is the federal layer.
    async fn calendar_days(
        &self,
        region: Option<&str>,
    ) -> StoreResult<Vec<otklik_domain::calendar::CalendarEntry>>;
    /// Adds or replaces days of a layer, records the change and recomputes the open
    /// deadlines; returns the recompute report.
    async fn put_calendar_days(
        &self,
        actor: Option<UserId>,
        region: Option<&str>,
        days: &[otklik_domain::calendar::CalendarEntry],
        at: OffsetDateTime,
    ) -> StoreResult<RecomputeReport>;
    async fn delete_calendar_day(
        &self,
        actor: Option<UserId>,
        region: Option<&str>,
        day: time::Date,
        at: OffsetDateTime,
    ) -> StoreResult<RecomputeReport>;
    /// The calendar a region's organisations use (shipped + federal layer + region layer).
    async fn calendar(
        &self,
        region: Option<&str>,
    ) -> StoreResult<std::sync::Arc<otklik_domain::calendar::ProductionCalendar>>;

    /// Recomputes the deadline of every open submission from its term's start, policy,
    /// calendar, pauses and extension; appends one log leaf when any changed.
    async fn recompute_deadlines(&self, at: OffsetDateTime) -> StoreResult<RecomputeReport>;
    /// Keeps the planner's statistics fresh (SQLite's `PRAGMA optimize`; PostgreSQL's
    /// autovacuum does it by itself). Cheap when nothing changed much.
    async fn optimize(&self) -> StoreResult<()>;
    /// One pass of the monitor: warnings before deadlines (`warn_working_days` ahead),
    /// incidents for breached deadlines and late moderation.
    async fn monitor(
        &self,
        now: OffsetDateTime,
        warn_working_days: u32,
    ) -> StoreResult<MonitorReport>;
    async fn incidents(&self, query: &IncidentQuery) -> StoreResult<IncidentPage>;
    /// One incident; `NotFound` when there is none with this id.
    async fn incident(&self, id: IncidentId) -> StoreResult<IncidentRecord>;
    async fn resolve_incident(
        &self,
        actor: UserId,
        id: IncidentId,
        resolution: &otklik_domain::text::Reason,
        at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Whether a submission's current deadline has been warned about.
    async fn warned(&self, submission: SubmissionId) -> StoreResult<bool>;
    /// Open, overdue and answered counts and open incidents per region.
    async fn region_summaries(&self, now: OffsetDateTime) -> StoreResult<Vec<RegionSummary>>;

    async fn config_changes(&self, limit: u32, offset: u32) -> StoreResult<Vec<ConfigChange>>;

    /// Queue depths and deadlines at risk for monitoring; each count capped at
    /// [`GAUGE_CAP`], each an index walk.
    async fn operational_gauges(
        &self,
        now: OffsetDateTime,
        horizon: OffsetDateTime,
    ) -> StoreResult<OperationalGauges>;

    /// The most urgent open submissions of a scope whose clock runs: the first `limit`
    /// overdue ones and the first `limit` due before `horizon`, earliest deadline first.
    /// Range scans of the deadline indexes, never a scan of all submissions.
    async fn due(
        &self,
        scope: Scope,
        now: OffsetDateTime,
        horizon: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<DueLists>;

    /// Creates (`id` None) or edits an organisation, recording the change.
    /// `InvalidReference`: `unknown_organisation_kind`, `unknown_region`,
    /// `unknown_municipality`, `unknown_parent`, `parent_cycle`, `invalid_utc_offset`.
    async fn put_organisation(
        &self,
        actor: Option<UserId>,
        id: Option<OrgId>,
        edit: &OrganisationEdit,
        at: OffsetDateTime,
    ) -> StoreResult<OrgId>;
    /// Renames a category or creates one (`id` None), recording the change.
    async fn put_category(
        &self,
        actor: Option<UserId>,
        id: Option<CategoryId>,
        name: &str,
        at: OffsetDateTime,
    ) -> StoreResult<CategoryId>;
    /// Creates (`id` None) or edits a subcategory with its form, recording the change.
    async fn put_subcategory(
        &self,
        actor: Option<UserId>,
        id: Option<SubcategoryId>,
        category: CategoryId,
        name: &str,
        form: &FormSpec,
        at: OffsetDateTime,
    ) -> StoreResult<SubcategoryId>;
}

/// Who people are and what they may do: verification levels, identities from providers,
/// lockout, scoped client tokens, organisations' staff and widget sites.
#[async_trait]
pub trait Identity: Send + Sync + 'static {
    /// Counts a failed password login; once `policy.max_failures` are reached in a row,
    /// locks password logins until now + `policy.lock_for`. Returns the lock's end.
    async fn record_login_failure(
        &self,
        user: UserId,
        policy: LockoutPolicy,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OffsetDateTime>>;
    /// A successful login clears the failure count and any lock.
    async fn record_login_success(&self, user: UserId) -> StoreResult<()>;

    /// The person and scopes of a live session of an enabled account.
    async fn session(
        &self,
        token_sha256: &[u8; 32],
        now: OffsetDateTime,
    ) -> StoreResult<Option<SessionRecord>>;
    /// A session limited to `scopes` (an integration client's access token).
    async fn create_scoped_session(
        &self,
        token_sha256: &[u8; 32],
        user: UserId,
        scopes: &[ApiScope],
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;

    async fn begin_provider_login(&self, pending: PendingLogin) -> StoreResult<()>;
    /// Takes (and deletes) a pending login by its state, if it has not expired; expired
    /// ones are swept on the way. A state can be taken once.
    async fn take_provider_login(
        &self,
        state_sha256: &[u8; 32],
        now: OffsetDateTime,
    ) -> StoreResult<Option<PendingLogin>>;
    /// Signs in with a provider's identity: the account linked to it (its verification,
    /// name, birth date and region refreshed from the provider), or a new citizen
    /// account. With `link`, attaches the identity to that account instead.
    /// `Conflict("identity_in_use")` when the national identifier belongs to another
    /// account; `Conflict("identity_linked_elsewhere")` when linking an identity that
    /// another account holds; `Conflict("account_disabled")`.
    async fn sign_in_with_identity(
        &self,
        identity: ProvidedIdentity,
        link: Option<UserId>,
        now: OffsetDateTime,
    ) -> StoreResult<UserRecord>;
    async fn account_profile(&self, user: UserId) -> StoreResult<AccountProfile>;
    /// Every staff read of this citizen's personal data, newest first.
    async fn personal_data_accesses_of(
        &self,
        citizen: UserId,
        limit: u32,
    ) -> StoreResult<Vec<PersonalDataAccess>>;

    /// The organisation's people (officials, administrators), by name.
    async fn staff(&self, org: OrgId) -> StoreResult<Vec<UserRecord>>;
    /// Disables or re-enables a staff account of `org` (its sessions end when disabled).
    /// `NotFound` when the account is not staff of `org`.
    async fn set_staff_disabled(
        &self,
        org: OrgId,
        user: UserId,
        disabled: bool,
        by: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Creates an integration client: its own principal (role `integration`) and its
    /// credentials. `Conflict("client_id_taken")`.
    async fn create_api_client(&self, client: NewApiClient) -> StoreResult<UserId>;
    async fn api_client(&self, client_id: &str) -> StoreResult<Option<ApiClientRecord>>;
    async fn api_clients(&self, org: OrgId) -> StoreResult<Vec<ApiClientRecord>>;
    /// Revokes a client of `org`: its tokens stop working at once.
    async fn revoke_api_client(
        &self,
        org: OrgId,
        client_id: &str,
        by: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    async fn widget_sites(&self, org: OrgId) -> StoreResult<Vec<WidgetSite>>;
    /// `Conflict("widget_site_exists")`.
    async fn add_widget_site(
        &self,
        org: OrgId,
        origin: &str,
        by: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// `NotFound` when the site was not registered.
    async fn remove_widget_site(
        &self,
        org: OrgId,
        origin: &str,
        by: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
}

/// Deliveries of routed submissions to organisations' own systems: settings, the outbox
/// (written in the routing's transaction by `register_submission` and `apply`), pushes
/// claimed by the worker, the pull queue, and what the organisation and operator see.
#[async_trait]
pub trait Deliveries: Send + Sync + 'static {
    async fn integration(&self, org: OrgId) -> StoreResult<Option<IntegrationRecord>>;
    /// Sets the organisation's settings (`InvalidReference("unknown_organisation")`),
    /// recording the change (never the secret). New routing events are delivered from
    /// now on; earlier undelivered ones keep going the new way.
    async fn put_integration(
        &self,
        org: OrgId,
        settings: &otklik_domain::delivery::DeliverySettings,
        by: Option<UserId>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Stops deliveries to the organisation (`NotFound` when none were set); undelivered
    /// messages stay in the outbox and go out if settings return.
    async fn remove_integration(
        &self,
        org: OrgId,
        by: Option<UserId>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Takes up to `limit` pushes that are due, leasing each for `lease` so that no other
    /// worker sends it meanwhile.
    async fn claim_pushes(
        &self,
        now: OffsetDateTime,
        lease: std::time::Duration,
        limit: u32,
    ) -> StoreResult<Vec<OutgoingDelivery>>;
    /// Records how claimed pushes ended, all in one transaction; a failure that reaches
    /// the organisation's alert threshold raises a `delivery_failing` incident (once per
    /// delivery).
    async fn finish_pushes(
        &self,
        outcomes: &[(DeliveryId, PushOutcome)],
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The pull queue: the oldest visible undelivered message of a pull organisation,
    /// hidden for its visibility timeout; `None` when there is nothing to take.
    async fn pull_delivery(
        &self,
        org: OrgId,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OutgoingDelivery>>;
    /// Acknowledges a message of `org` (again is fine); `NotFound` otherwise.
    async fn ack_delivery(
        &self,
        org: OrgId,
        id: DeliveryId,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The organisation's deliveries, newest first.
    async fn deliveries(
        &self,
        org: OrgId,
        state: Option<DeliveryState>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<DeliveryRecord>>;
    async fn delivery_summary(&self, org: OrgId) -> StoreResult<DeliverySummary>;
    /// Every organisation with settings, by name, with its summary (the operator's view).
    async fn integration_overview(&self) -> StoreResult<Vec<IntegrationOverview>>;
}

/// Notifications: the personal account's centre, each person's choices, the outbox the
/// worker sends from (written by `register_submission`, `apply` and `monitor` in their
/// own transactions), the operator's templates, and campaigns.
#[async_trait]
pub trait Notifications: Send + Sync + 'static {
    /// A person's notifications, newest first, with how many there are and are unread.
    async fn notifications(
        &self,
        user: UserId,
        limit: u32,
        offset: u32,
    ) -> StoreResult<NotificationPage>;
    /// Marks the person's notifications read (`None`: all of them); returns how many
    /// changed. Others' notifications are never touched.
    async fn mark_read(
        &self,
        user: UserId,
        ids: Option<&[NotificationId]>,
        now: OffsetDateTime,
    ) -> StoreResult<u64>;
    /// The person's unread notifications for the badge every page shows, counted up to
    /// [`UNREAD_COUNT_LIMIT`] (the badge then says "99+"), so that a page never counts a
    /// long unread history.
    async fn unread_count(&self, user: UserId) -> StoreResult<u64>;
    async fn notification_settings(&self, user: UserId) -> StoreResult<NotificationSettings>;
    /// Replaces the person's choices and gateway number; the campaign opt-out too.
    async fn put_notification_settings(
        &self,
        user: UserId,
        settings: &NotificationSettings,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Where the person lives (campaigns reach people by it): a region, and optionally
    /// one of its municipalities (`InvalidReference("unknown_municipality")` otherwise;
    /// `InvalidReference("unknown_region")` for a region that does not exist).
    async fn put_home_place(
        &self,
        user: UserId,
        region: Option<RegionId>,
        municipality: Option<MunicipalityId>,
    ) -> StoreResult<()>;
    /// One-click unsubscribe: e-mail of one kind (and its waiting messages), or every
    /// campaign (`None`), counted in `campaign`'s statistics when it came from one.
    async fn unsubscribe(
        &self,
        user: UserId,
        kind: Option<otklik_domain::notify::NotificationKind>,
        campaign: Option<CampaignId>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Takes up to `limit` messages of `channels` (those this node can send) that are
    /// due — immediate ones, and the digest of each person whose oldest digest message
    /// is older than `digest_before` — leasing each for `lease`.
    async fn claim_notifications(
        &self,
        now: OffsetDateTime,
        lease: std::time::Duration,
        limit: u32,
        digest_before: OffsetDateTime,
        channels: &[otklik_domain::notify::Channel],
    ) -> StoreResult<Vec<OutgoingNotification>>;
    /// Records how claimed messages ended, in one transaction. A message already sent
    /// stays sent.
    async fn finish_notifications(
        &self,
        outcomes: &[(NotificationId, otklik_domain::notify::Channel, SendOutcome)],
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    async fn outbox_summary(&self) -> StoreResult<OutboxSummary>;

    async fn notification_templates(&self) -> StoreResult<Vec<StoredTemplate>>;
    /// Stores the operator's version of a template (checked by the caller), recording
    /// the change.
    async fn put_notification_template(&self, template: &StoredTemplate) -> StoreResult<()>;
    /// Goes back to the shipped template; `NotFound` when there was no edit.
    async fn reset_notification_template(
        &self,
        kind: &str,
        by: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// How many people a campaign with this audience would reach today.
    async fn audience_size(
        &self,
        audience: &otklik_domain::notify::Audience,
        today: time::Date,
    ) -> StoreResult<u64>;
    async fn create_campaign(
        &self,
        campaign: &NewCampaign,
        by: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<CampaignId>;
    /// Every campaign, newest first (the latest 500).
    async fn campaigns(&self) -> StoreResult<Vec<CampaignRecord>>;
    /// The campaigns being sent, however many and old.
    async fn running_campaigns(&self) -> StoreResult<Vec<CampaignRecord>>;
    async fn campaign(&self, id: CampaignId) -> StoreResult<CampaignRecord>;
    /// Starts, pauses, resumes or cancels a campaign as `CampaignStatus::after` allows
    /// (`Conflict("campaign_command_not_allowed")`). Starting fixes its recipients.
    async fn command_campaign(
        &self,
        id: CampaignId,
        command: otklik_domain::notify::CampaignCommand,
        by: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<CampaignRecord>;
    /// Takes up to `limit` due messages of a running campaign, leasing each for `lease`,
    /// and never more than the campaign's rate in one second, whichever node asks.
    async fn claim_campaign_messages(
        &self,
        campaign: CampaignId,
        now: OffsetDateTime,
        lease: std::time::Duration,
        limit: u32,
    ) -> StoreResult<Vec<OutgoingCampaignMessage>>;
    /// Records how campaign messages ended; a campaign with nothing left to send is
    /// finished.
    async fn finish_campaign_messages(
        &self,
        campaign: CampaignId,
        outcomes: &[(UserId, SendOutcome)],
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Counts the first opening of a campaign message (its image was loaded).
    async fn record_campaign_open(
        &self,
        campaign: CampaignId,
        user: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
}

/// Inbound calls with an `Idempotency-Key` (integration clients posting actions): the
/// first answer is kept for a day and replayed to repeats of the same request.
#[async_trait]
pub trait Idempotency: Send + Sync + 'static {
    /// Claims `key` for `principal` with this request's digest. A claim left unfinished
    /// for `IDEMPOTENCY_STALE` (a crashed node) or a key older than `IDEMPOTENCY_TTL`
    /// counts as fresh.
    async fn begin_idempotent(
        &self,
        principal: UserId,
        key: &str,
        request_sha256: &[u8; 32],
        now: OffsetDateTime,
    ) -> StoreResult<IdempotencyBegin>;
    async fn finish_idempotent(
        &self,
        principal: UserId,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()>;
    /// Forgets an unfinished claim (the call failed in a way worth retrying).
    async fn abandon_idempotent(&self, principal: UserId, key: &str) -> StoreResult<()>;
}

pub const IDEMPOTENCY_TTL: time::Duration = time::Duration::hours(24);
pub const IDEMPOTENCY_STALE: time::Duration = time::Duration::minutes(2);

/// Electronic documents and their signing routes, people's certificates, and the
/// platform's certification authorities. Every move of a route is decided by
/// `otklik_domain::document::decide` on the state read in the transaction that writes it,
/// with its event, its notifications and (when the bytes are frozen or the document
/// completes) its transparency-log leaf.
#[async_trait]
pub trait Documents: Send + Sync + 'static {
    /// The authority of an algorithm, if created.
    async fn signing_authority(&self, algorithm: &str) -> StoreResult<Option<AuthorityRecord>>;
    /// Stores `candidate` unless an authority of its algorithm exists; returns the stored
    /// one, so every node uses the same.
    async fn put_signing_authority(
        &self,
        candidate: &AuthorityRecord,
        now: OffsetDateTime,
    ) -> StoreResult<AuthorityRecord>;
    async fn signing_authorities(&self) -> StoreResult<Vec<AuthorityRecord>>;

    /// Keeps a person's certificate (`Conflict("certificate_registered")` when they have
    /// it already). A platform-issued one records its issue as the key's first use.
    async fn add_certificate(
        &self,
        certificate: &NewCertificate,
        now: OffsetDateTime,
    ) -> StoreResult<CertificateId>;
    /// A person's certificates, newest first.
    async fn certificates(&self, user: UserId) -> StoreResult<Vec<CertificateRecord>>;
    /// A person's platform-held key (`NotFound` when not theirs, not platform-held or
    /// revoked).
    async fn platform_key(&self, user: UserId, id: CertificateId) -> StoreResult<PlatformKey>;
    async fn revoke_certificate(
        &self,
        user: UserId,
        id: CertificateId,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Records an attempt to use a platform-held key that did not sign (a wrong
    /// password); successful uses are recorded by `sign_document` itself.
    async fn record_key_use(
        &self,
        certificate: CertificateId,
        user: UserId,
        document: Option<DocumentId>,
        outcome: KeyUse,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The latest uses of a person's platform-held keys (at most `limit`), newest first.
    async fn key_uses(&self, user: UserId, limit: u32) -> StoreResult<Vec<KeyUseRecord>>;
    /// Failed password attempts on a key since `since`.
    async fn wrong_passwords_since(
        &self,
        certificate: CertificateId,
        since: OffsetDateTime,
    ) -> StoreResult<u64>;

    /// Stores a draft with its route (`InvalidReference("unknown_user"|
    /// "unknown_organisation")` for a party that does not exist).
    async fn create_document(
        &self,
        document: &NewDocument,
        now: OffsetDateTime,
    ) -> StoreResult<DocumentId>;
    /// The author starts the route: the bytes are frozen (their hash goes into the
    /// transparency log) and the first signers are asked.
    async fn start_document(
        &self,
        id: DocumentId,
        by: DocumentViewer,
        now: OffsetDateTime,
    ) -> StoreResult<DocumentDetail>;
    /// Stores a checked signature in the viewer's pending slot; the last one completes
    /// the document and hands it to the recipients.
    async fn sign_document(
        &self,
        id: DocumentId,
        by: DocumentViewer,
        signature: &NewSignature,
        now: OffsetDateTime,
    ) -> StoreResult<DocumentDetail>;
    async fn decline_document(
        &self,
        id: DocumentId,
        by: DocumentViewer,
        slot: usize,
        reason: &str,
        now: OffsetDateTime,
    ) -> StoreResult<DocumentDetail>;
    /// The author withdraws a document that is not complete.
    async fn cancel_document(
        &self,
        id: DocumentId,
        by: DocumentViewer,
        now: OffsetDateTime,
    ) -> StoreResult<DocumentDetail>;
    /// Ends every route whose deadline has passed; returns how many.
    async fn expire_documents(&self, now: OffsetDateTime) -> StoreResult<u64>;
    /// A document, if the viewer is its author, a signer or a recipient of it.
    async fn document(&self, id: DocumentId, viewer: DocumentViewer)
        -> StoreResult<DocumentDetail>;
    /// A document's bytes and signatures, for the same people.
    async fn document_content(
        &self,
        id: DocumentId,
        viewer: DocumentViewer,
    ) -> StoreResult<DocumentContent>;
    /// The viewer's documents in a box, newest first (at most 200).
    async fn documents(
        &self,
        viewer: DocumentViewer,
        which: DocumentBox,
    ) -> StoreResult<Vec<DocumentCard>>;
    /// The documents made of a submission's answers, oldest first, whatever their status.
    async fn answer_documents(&self, submission: SubmissionId) -> StoreResult<Vec<DocumentCard>>;
}

/// An organisation's answer templates.
#[async_trait]
pub trait AnswerTemplates: Send + Sync + 'static {
    /// The organisation's templates in force, by title.
    async fn answer_templates(&self, org: OrgId) -> StoreResult<Vec<AnswerTemplateRecord>>;
    /// One of them (`NotFound` when another organisation's or archived).
    async fn answer_template(&self, org: OrgId, id: i64) -> StoreResult<AnswerTemplateRecord>;
    /// Creates (`id` None) or replaces one of the organisation's templates; returns its id.
    async fn put_answer_template(
        &self,
        org: OrgId,
        id: Option<i64>,
        template: &NewAnswerTemplate,
        now: OffsetDateTime,
    ) -> StoreResult<i64>;
    async fn archive_answer_template(
        &self,
        org: OrgId,
        id: i64,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The templates that fit a submission of `category`: that category's first, then
    /// those for any, each by how often they were used.
    async fn template_suggestions(
        &self,
        org: OrgId,
        category: CategoryId,
        limit: u32,
    ) -> StoreResult<Vec<AnswerTemplateRecord>>;
    async fn record_template_use(&self, org: OrgId, id: i64) -> StoreResult<()>;
}

/// What the search index must hold, in the order the transparency log recorded it.
#[async_trait]
pub trait SearchFeed: Send + Sync + 'static {
    /// The submissions (with their answers, as they are now) touched by the log's leaves
    /// from index `cursor`, at most `limit` leaves, and the cursor after them.
    async fn search_changes(&self, cursor: u64, limit: u32) -> StoreResult<SearchChanges>;
}

/// Polls and votes: the voter roll, the ballot box, the poll's own log and its counts
/// (`docs/POLLS.md`).
#[async_trait]
pub trait Polls {
    async fn create_poll(
        &self,
        poll: NewPoll,
        now: time::OffsetDateTime,
    ) -> StoreResult<otklik_domain::PollId>;

    /// `NotFound` when there is none.
    async fn poll(&self, id: otklik_domain::PollId) -> StoreResult<PollRecord>;

    /// Polls by the filter, latest closing first.
    async fn polls(&self, filter: PollFilter, limit: u32) -> StoreResult<Vec<PollRecord>>;

    /// Cancels a poll that has not closed (`poll_closed` otherwise): no more ballots, and
    /// its results are never shown.
    async fn cancel_poll(
        &self,
        id: otklik_domain::PollId,
        now: time::OffsetDateTime,
    ) -> StoreResult<()>;

    /// The profile facts eligibility is judged on, and the voter roll's key of the person.
    async fn voter(&self, user: otklik_domain::UserId) -> StoreResult<Voter>;

    /// Whether any of the voter's roll keys is on the poll's roll.
    async fn has_voted(
        &self,
        poll: otklik_domain::PollId,
        voter_keys: &[String],
    ) -> StoreResult<bool>;

    /// Puts a batch of ballots in the box in one transaction; one outcome per ballot, in
    /// order. A ballot is refused (and nothing of it written) when its poll is not open
    /// at `now` or its voter is already on the roll, the first in the batch winning.
    /// When the commit's answer is lost (the connection broke), the store first finds out
    /// for certain whether the batch is in the box, and answers its outcomes if it is. An
    /// error means that nothing of the batch was stored, unless even that could not be
    /// found out (the database stayed unreachable; logged as an error).
    async fn cast_ballots(
        &self,
        batch: &[NewBallot],
        now: time::OffsetDateTime,
    ) -> StoreResult<Vec<CastOutcome>>;

    /// The running counts of a poll (every dimension).
    async fn poll_counts(&self, poll: otklik_domain::PollId) -> StoreResult<Vec<PollCount>>;

    /// The counts as live results show them while the poll runs: a copy of the running
    /// counts, taken at most once per `bucket` (an interval of time, by the caller's
    /// clock), and only when at least `min_new` ballots came since the last copy (none
    /// before the first `min_new`: then no counts at all). Between copies every reader
    /// sees the same counts, on every node; comparing two copies shows the sum of at
    /// least `min_new` ballots. Taking a copy briefly holds the poll's row.
    async fn poll_counts_snapshot(
        &self,
        poll: otklik_domain::PollId,
        bucket: i64,
        min_new: u64,
    ) -> StoreResult<Vec<PollCount>>;

    /// Free-text answers to a question, in a random order (their ids are random).
    async fn poll_texts(
        &self,
        poll: otklik_domain::PollId,
        question: u16,
        limit: u32,
    ) -> StoreResult<Vec<String>>;

    /// Signs a head of the poll's log if it grew since the last (`None` otherwise). With
    /// `finalise`, only after the close (`poll_open` before): the head of the final tree
    /// (leaf 0 the definition, then the ballots by id), recorded once with the number of
    /// ballots.
    async fn sign_poll_head(
        &self,
        poll: otklik_domain::PollId,
        signer: &otklik_log::Signer,
        now: time::OffsetDateTime,
        finalise: bool,
    ) -> StoreResult<Option<otklik_log::SignedTreeHead>>;

    async fn latest_poll_head(
        &self,
        poll: otklik_domain::PollId,
    ) -> StoreResult<Option<otklik_log::SignedTreeHead>>;

    /// A ballot's receipt against the latest signed head; `None` when no signed head
    /// covers it yet; `NotFound` for an unknown ballot.
    async fn ballot_receipt(
        &self,
        poll: otklik_domain::PollId,
        ballot_id: &otklik_domain::poll::BallotId,
    ) -> StoreResult<Option<BallotReceipt>>;

    /// Adds a photo to an option of a choice question (a vote's or a survey's), last in
    /// the option's order, in one transaction with the poll's row (locked): refused
    /// (`Conflict`) unless `poll::check_photos_editable` allows it at `now`
    /// (`poll_not_editable`, `unknown_question`, `not_a_choice_question`,
    /// `unknown_option`) and the option has fewer than `poll::MAX_OPTION_PHOTOS`
    /// (`too_many_photos`); `NotFound` without the poll. A refusal writes nothing.
    async fn add_option_photo(
        &self,
        poll: otklik_domain::PollId,
        photo: NewOptionPhoto,
        now: time::OffsetDateTime,
    ) -> StoreResult<OptionPhoto>;

    /// Removes a photo of the poll's options under the same rule; `NotFound` when the
    /// poll has no such photo.
    async fn remove_option_photo(
        &self,
        poll: otklik_domain::PollId,
        photo: i64,
        now: time::OffsetDateTime,
    ) -> StoreResult<()>;

    /// Moves a photo one place among its option's photos under the same rule and lock
    /// (`photo_at_edge` when it is already first or last); the two neighbours swap, so a
    /// reorder never loses or duplicates a photo, however many run at once. Returns the
    /// option's photos in their new order; `NotFound` when the poll has no such photo.
    async fn move_option_photo(
        &self,
        poll: otklik_domain::PollId,
        photo: i64,
        way: otklik_domain::poll::PhotoMove,
        now: time::OffsetDateTime,
    ) -> StoreResult<Vec<OptionPhoto>>;

    /// The photos of a poll's options, by question, then option, then in their order
    /// (the order they were added in unless organisers moved them).
    async fn option_photos(&self, poll: otklik_domain::PollId) -> StoreResult<Vec<OptionPhoto>>;

    /// One photo with its bytes; `NotFound` when the poll has no such photo.
    async fn option_photo(
        &self,
        poll: otklik_domain::PollId,
        photo: i64,
    ) -> StoreResult<OptionPhotoFile>;

    /// Ballots in the order of their ids (the final tree's order, which says nothing of
    /// when anyone voted), after `after`, at most `limit`.
    async fn published_ballots(
        &self,
        poll: otklik_domain::PollId,
        after: Option<otklik_domain::poll::BallotId>,
        limit: u32,
    ) -> StoreResult<Vec<(otklik_domain::poll::BallotId, otklik_domain::poll::Ballot)>>;
}

/// Public discussions: proposals, moderated comments, one position per person.
#[async_trait]
pub trait Discussions {
    async fn create_discussion(
        &self,
        discussion: NewDiscussion,
        now: time::OffsetDateTime,
    ) -> StoreResult<otklik_domain::DiscussionId>;
    /// `NotFound` when there is none.
    async fn discussion(&self, id: otklik_domain::DiscussionId) -> StoreResult<DiscussionRecord>;
    async fn discussions(
        &self,
        filter: DiscussionFilter,
        limit: u32,
    ) -> StoreResult<Vec<DiscussionRecord>>;
    /// A pending comment; `discussion_not_open` outside the discussion's dates.
    async fn add_comment(
        &self,
        id: otklik_domain::DiscussionId,
        author: UserId,
        body: &str,
        now: time::OffsetDateTime,
    ) -> StoreResult<otklik_domain::CommentId>;
    /// A page of the comments in one status, oldest first: at most `limit` of those whose
    /// id is above `after` (`None`: from the first), and whether more follow (keyset
    /// paging: a comment moderated meanwhile neither repeats nor shifts the pages).
    /// `earlier` says whether comments in this status precede the page (always `false`
    /// from the first).
    async fn comments(
        &self,
        id: otklik_domain::DiscussionId,
        status: otklik_domain::discussion::CommentStatus,
        after: Option<otklik_domain::CommentId>,
        limit: u32,
    ) -> StoreResult<CommentPage>;
    /// The page before: at most `limit` of the comments in one status whose id is below
    /// `before`, the nearest to it, still oldest first; `earlier` says whether more
    /// precede, `more` whether any follow the page. Read from a forward page's first
    /// comment, it is exactly the forward page before it.
    async fn comments_before(
        &self,
        id: otklik_domain::DiscussionId,
        status: otklik_domain::discussion::CommentStatus,
        before: otklik_domain::CommentId,
        limit: u32,
    ) -> StoreResult<CommentPage>;
    /// A person's own comments in any status.
    async fn own_comments(
        &self,
        id: otklik_domain::DiscussionId,
        author: UserId,
    ) -> StoreResult<Vec<CommentRecord>>;
    /// Moderates a comment (`otklik_domain::discussion::moderate` decides), recording who
    /// and when, and keeps the counters.
    async fn moderate_comment(
        &self,
        id: otklik_domain::DiscussionId,
        comment: otklik_domain::CommentId,
        by: UserId,
        action: &otklik_domain::discussion::Moderation,
        now: time::OffsetDateTime,
    ) -> StoreResult<otklik_domain::discussion::CommentStatus>;
    /// Records a person's position once, under every roll key of theirs
    /// (`already_supported` when any of them has one).
    async fn support(
        &self,
        id: otklik_domain::DiscussionId,
        voter_keys: &[String],
        stance: otklik_domain::discussion::Stance,
        now: time::OffsetDateTime,
    ) -> StoreResult<()>;
    async fn stance_of(
        &self,
        id: otklik_domain::DiscussionId,
        voter_keys: &[String],
    ) -> StoreResult<Option<otklik_domain::discussion::Stance>>;
}

/// Analytics: the follower that keeps the cells in step with the log, and their reads
/// (`docs/ANALYTICS.md`).
#[async_trait]
pub trait Analytics {
    /// Counts what the log's leaves from the follower's cursor mean (at most
    /// `max_leaves`), in the transaction that moves the cursor.
    async fn analytics_follow(
        &self,
        max_leaves: u32,
        now: time::OffsetDateTime,
    ) -> StoreResult<FollowOutcome>;

    /// Empties the cells and moves the cursor back to the log's start, so that the
    /// follower recomputes everything (`otklik analytics rebuild`).
    async fn analytics_reset(&self, now: time::OffsetDateTime) -> StoreResult<()>;

    /// The follower's cursor, the log's size and how much was counted.
    async fn analytics_position(&self) -> StoreResult<AnalyticsPosition>;

    /// Adds what these deltas mean to the cells directly, without the log: history
    /// carried over from another system, and the benchmark's ten million submissions.
    /// A rebuild, which counts only the log, forgets them.
    async fn analytics_import(&self, deltas: &[otklik_domain::analytics::Delta])
        -> StoreResult<()>;

    /// Sums of the cells a query selects, grouped as it asks.
    async fn analytics_cells(&self, query: &CellQuery) -> StoreResult<Vec<CellSum>>;

    /// Polls and votes open during the reporting days `from_day..=to_day` (not cancelled)
    /// run by `org` and held in `regions`, when given, and the ballots cast on those days.
    async fn analytics_polls(
        &self,
        org: Option<i64>,
        regions: Option<&[i64]>,
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<(u64, u64)>;

    /// Sums of the social-media incident cells a query selects, grouped as it asks;
    /// channel and kind do not apply (dropped from the filter and the grouping).
    async fn analytics_social_cells(&self, query: &CellQuery) -> StoreResult<Vec<SocialSum>>;

    /// Several queries of the submissions' cells and of the social-media incidents' cells,
    /// and the follower's position, read in one snapshot, so that the tables of one report
    /// agree with each other.
    async fn analytics_read(
        &self,
        queries: &[CellQuery],
        social: &[CellQuery],
    ) -> StoreResult<AnalyticsAnswers>;
}

/// The service-quality feed (`docs/QUALITY_FEED.md`): opinions read from the log by a
/// receiver's cursor, and the push's leased cursor with its retries.
#[async_trait]
pub trait QualityFeed {
    /// Opinions at log indices from `cursor`, at most `limit` (1–1000), and the next cursor.
    async fn quality_opinions(&self, cursor: u64, limit: u32) -> StoreResult<QualityPage>;

    /// Takes the push for `lease` if no node holds it and its retry is due: the cursor to
    /// push from and the failed attempts so far; `None` otherwise.
    async fn quality_push_claim(
        &self,
        now: time::OffsetDateTime,
        lease: std::time::Duration,
    ) -> StoreResult<Option<(u64, u32)>>;

    /// The receiver took the batch `from..next`: the cursor moves (only from `from`), the
    /// lease ends.
    async fn quality_push_done(&self, from: u64, next: u64, delivered: u64) -> StoreResult<()>;

    /// The batch at `from` failed with `error` (a code): try again at `retry_at`.
    async fn quality_push_failed(
        &self,
        from: u64,
        error: &str,
        retry_at: time::OffsetDateTime,
    ) -> StoreResult<()>;

    async fn quality_push_state(&self) -> StoreResult<QualityPushState>;
}

/// Long exports written in the background (`docs/ANALYTICS.md`): jobs, their lease and
/// progress, and their files in parts.
#[async_trait]
pub trait ExportJobs {
    async fn create_export_job(
        &self,
        owner: UserId,
        kind: &str,
        format: &str,
        params: &str,
        now: time::OffsetDateTime,
    ) -> StoreResult<i64>;

    /// The oldest job waiting (or running under a lease that ran out: its node died, and
    /// its parts are dropped), now leased to the caller under a new fencing token
    /// (`ExportJob::token`, one more than the previous lease's).
    async fn claim_export_job(
        &self,
        now: time::OffsetDateTime,
        lease: std::time::Duration,
    ) -> StoreResult<Option<ExportJob>>;

    /// The next part of the file (`seq` from 0), the rows written so far, a longer lease.
    /// `Conflict("export_lease_lost")`, and nothing written, unless `token` is the job's
    /// current lease and the job is running (the same for the two writes below).
    async fn add_export_part(
        &self,
        id: i64,
        token: u64,
        seq: u64,
        content: &[u8],
        rows_done: u64,
        lease_until: time::OffsetDateTime,
    ) -> StoreResult<()>;

    async fn export_job_progress(
        &self,
        id: i64,
        token: u64,
        rows_done: u64,
        lease_until: time::OffsetDateTime,
    ) -> StoreResult<()>;

    /// Done, or failed with an error code.
    async fn finish_export_job(
        &self,
        id: i64,
        token: u64,
        error: Option<&str>,
        now: time::OffsetDateTime,
    ) -> StoreResult<()>;

    /// The retention sweep: up to `limit` jobs that finished (done or failed) before
    /// `finished_before` and still keep their parts lose them and are marked expired at
    /// `now`, oldest first; how many. Idempotent, and safe on several nodes at once.
    async fn expire_export_jobs(
        &self,
        finished_before: time::OffsetDateTime,
        now: time::OffsetDateTime,
        limit: u32,
    ) -> StoreResult<u64>;

    /// `NotFound` unless it is `owner`'s.
    async fn export_job(&self, id: i64, owner: UserId) -> StoreResult<ExportJob>;
    async fn export_jobs_of(&self, owner: UserId, limit: u32) -> StoreResult<Vec<ExportJob>>;
    /// A part of a finished job's file, if `owner`'s, not expired, and it exists.
    async fn export_part(&self, id: i64, owner: UserId, seq: u64) -> StoreResult<Option<Vec<u8>>>;
}

/// Social-media monitoring (`docs/SOCIAL.md`): connectors' cursors and inbox, analysed
/// posts and their incidents, the coordinator's actions, answers published back.
#[async_trait]
pub trait Social {
    /// A connector's batch: the posts into the inbox (once per source and id), the
    /// quarantined items, and the cursor to resume from, in one transaction.
    async fn social_receive(
        &self,
        source: &str,
        posts: &[otklik_social::RawPost],
        quarantined: &[otklik_social::Quarantined],
        cursor: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<u64>;
    async fn social_cursor(&self, source: &str) -> StoreResult<Option<String>>;
    /// Takes or renews `holder`'s lease on polling `source` until `now + lease`; false
    /// while another holder's lease runs.
    async fn social_poll_lease(
        &self,
        source: &str,
        holder: &str,
        now: OffsetDateTime,
        lease: std::time::Duration,
    ) -> StoreResult<bool>;
    /// The last poll of `source` failed with `code` (the cursor stays).
    async fn social_poll_failed(
        &self,
        source: &str,
        code: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    async fn social_sources(&self) -> StoreResult<Vec<SourceState>>;
    /// The oldest posts waiting for the pipeline (they stay until `social_ingest`).
    async fn social_inbox(&self, limit: u32) -> StoreResult<Vec<InboxItem>>;
    /// Stores analysed posts (clustered into incidents, routed), quarantined items, and
    /// removes the inbox rows they came from, in one transaction.
    async fn social_ingest(
        &self,
        posts: &[AnalysedPost],
        quarantined: &[otklik_social::Quarantined],
        inbox: &[i64],
        rules: IngestRules,
        now: OffsetDateTime,
    ) -> StoreResult<IngestReport>;
    async fn social_incidents(
        &self,
        query: &SocialQuery,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<SocialIncident>>;
    /// An incident and its posts (the caller checks who may see it).
    async fn social_incident(&self, id: i64) -> StoreResult<(SocialIncident, Vec<SocialPost>)>;
    /// Acts on an incident if `social::decide` allows it; returns the incident the action
    /// leaves the posts in (the target of a merge, the new incident of a split).
    async fn social_act(
        &self,
        id: i64,
        actor: Actor,
        command: SocialCommand,
        now: OffsetDateTime,
    ) -> StoreResult<i64>;
    /// Records a breach for every open incident past its deadline, once, in the procedure
    /// incident register (`late_social_answer`) and the log; how many.
    async fn social_monitor(&self, now: OffsetDateTime) -> StoreResult<u64>;
    async fn social_claim_replies(
        &self,
        now: OffsetDateTime,
        lease: std::time::Duration,
        limit: u32,
    ) -> StoreResult<Vec<ReplyJob>>;
    async fn social_reply_sent(
        &self,
        id: i64,
        external_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// A failed publication: retried at `retry_at`, or failed for good with `None`.
    async fn social_reply_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<()>;
    async fn social_quarantined(&self, limit: u32) -> StoreResult<Vec<QuarantineRecord>>;
}

/// Duplicates and public messages: merging submissions about one problem so that one
/// answer reaches every author, messages their authors let other citizens see, and the
/// people who follow them.
#[async_trait]
pub trait Duplicates: Send + Sync + 'static {
    /// Merges `duplicate` into `primary` as the domain's `merge::decide_merge` allows:
    /// the duplicate gets a `merged` event, the primary a `merged_in` one (each with its
    /// log leaf), and the duplicate's author is notified. From then on the primary's
    /// taking into work and answers reach the duplicate. `NotFound` when the actor may
    /// not see either.
    async fn merge_submissions(
        &self,
        primary: SubmissionId,
        duplicate: SubmissionId,
        actor: Actor,
        at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Separates a duplicate from its primary (an `unmerged` event on each).
    async fn unmerge_submission(
        &self,
        duplicate: SubmissionId,
        actor: Actor,
        at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// The author shows their message to other citizens, or hides it again. Only the
    /// author, acting as a citizen; only messages (`InvalidReference("appeal_not_public")`).
    async fn set_public(
        &self,
        id: SubmissionId,
        actor: Actor,
        public: bool,
        at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// The public messages among `ids`, as anyone may see them, in the order asked.
    async fn public_submissions(&self, ids: &[SubmissionId]) -> StoreResult<Vec<PublicSubmission>>;

    /// A person follows a public message (or stops following it).
    async fn follow(
        &self,
        user: UserId,
        id: SubmissionId,
        follow: bool,
        at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// The public messages a person follows, most recently followed first (at most 200).
    async fn followed(&self, user: UserId) -> StoreResult<Vec<PublicSubmission>>;

    /// Whether a person follows a message.
    async fn follows(&self, user: UserId, id: SubmissionId) -> StoreResult<bool>;
}

/// Every operation the platform performs on its data, in the domain's words.
#[async_trait]
pub trait Store:
    Ledger
    + Admin
    + Identity
    + Deliveries
    + Idempotency
    + Notifications
    + Documents
    + SearchFeed
    + AnswerTemplates
    + Polls
    + Discussions
    + Analytics
    + QualityFeed
    + ExportJobs
    + Social
    + Duplicates
    + Send
    + Sync
    + 'static
{
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
    /// Folds the deltas of the kept list counts into one row per key where the backend
    /// appends deltas (PostgreSQL; SQLite updates its counts in place and folds nothing);
    /// returns how many delta rows were folded. Any node may run it at any time.
    async fn compact_counts(&self) -> StoreResult<u64>;

    /// The next `limit` (1–10 000) cards of a list, newest first, below `before` (keyset
    /// paging for exports: no count, no offset, any depth). Cards carry no text.
    async fn list_chunk(
        &self,
        scope: Scope,
        query: &ListQuery,
        before: Option<SubmissionId>,
        limit: u32,
    ) -> StoreResult<Vec<SubmissionCard>>;

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
