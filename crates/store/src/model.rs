//! Records the store takes and returns. Inputs hold parsed domain types, so the store
//! never receives an unchecked value.

use otklik_domain::access::{ApiScope, Verification};
use otklik_domain::attachment::Attachment;
use otklik_domain::form::{FormSpec, FormValues};
use otklik_domain::lifecycle::{
    Channel, EventKind, RejectionGround, Role, Score, Status, SubmissionKind, SubmissionState,
};
use otklik_domain::text::{Email, PersonName, SubmissionText, WidgetOrigin};
use otklik_domain::*;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct NewRegion {
    /// ISO 3166-2 code, e.g. `RU-TVE`.
    pub code: String,
    pub name: String,
    pub utc_offset_minutes: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub id: RegionId,
    pub code: String,
    pub name: String,
    pub utc_offset_minutes: i32,
    /// The first-level OKATO code, and the federal district (None for the subjects no
    /// decree assigns to one), for the federal subjects loaded from the shipped data.
    pub okato: Option<String>,
    pub federal_district: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewOrganisation {
    pub name: String,
    /// `regional_body`, `local_government`, `institution`, `coordinator`, …
    pub kind: String,
    pub region: Option<RegionId>,
    /// The region's coordinator (regional management centre): receives what no rule routes.
    pub is_coordinator: bool,
    pub utc_offset_minutes: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: OrgId,
    pub name: String,
    pub kind: String,
    pub region: Option<RegionId>,
    pub is_coordinator: bool,
    pub utc_offset_minutes: i32,
    /// The organisation above it (a ministry above its institution), if any.
    pub parent: Option<OrgId>,
    /// A local government's or institution's municipality, if any.
    pub municipality: Option<MunicipalityId>,
}

/// Everything the operator edits about an organisation.
#[derive(Debug, Clone)]
pub struct OrganisationEdit {
    pub name: String,
    /// One of [`ORGANISATION_KINDS`].
    pub kind: String,
    pub region: Option<RegionId>,
    pub municipality: Option<MunicipalityId>,
    pub parent: Option<OrgId>,
    pub is_coordinator: bool,
    pub utc_offset_minutes: i32,
}

/// The kinds of organisations connected to the platform (seed: bodies of state power,
/// local governments, state and municipal institutions, other organisations with public
/// functions) and the regional coordinators.
pub const ORGANISATION_KINDS: &[&str] = &[
    "federal_body",
    "regional_body",
    "local_government",
    "institution",
    "other_public",
    "coordinator",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub subcategories: Vec<Subcategory>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subcategory {
    pub id: SubcategoryId,
    pub category: CategoryId,
    pub category_name: String,
    pub name: String,
    pub form: FormSpec,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    /// An argon2id PHC string; the store never sees a password.
    pub password_hash: String,
    pub full_name: PersonName,
    pub role: Role,
    /// How well the identity is established; staff accounts are vouched for by whoever
    /// creates them.
    pub verification: Verification,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    pub email: String,
    pub full_name: String,
    pub role: Role,
    pub password_hash: String,
    pub verification: Verification,
    /// Password logins are refused until then (too many failures).
    pub locked_until: Option<OffsetDateTime>,
    /// A disabled account can neither sign in nor use its sessions.
    pub disabled: bool,
}

/// A live session: its person or system and, for an integration client's token, the
/// scopes it was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: UserRecord,
    pub scopes: Option<Vec<ApiScope>>,
}

/// When password logins lock: after `max_failures` failures in a row, for `lock_for`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub lock_for: time::Duration,
}

/// What an identity provider asserted about a person, after its token was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvidedIdentity {
    pub issuer: String,
    pub subject: String,
    /// HMAC of the national identifier, when the provider gave one: one account per person.
    pub identity_key: Option<[u8; 32]>,
    pub full_name: Option<PersonName>,
    pub email: Option<Email>,
    pub birth_date: Option<time::Date>,
    /// The region of residence, by ISO 3166-2 code (resolved by the store).
    pub home_region_code: Option<String>,
    pub verification: Verification,
}

/// A login started at the identity provider, kept until the browser returns (once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    pub state_sha256: [u8; 32],
    /// SHA-256 of the browser's cookie: the login completes only in the browser that began it.
    pub browser_sha256: [u8; 32],
    pub nonce: String,
    pub pkce_verifier: String,
    /// Link the identity to this signed-in account instead of signing in with it.
    pub link_user: Option<UserId>,
    pub expires_at: OffsetDateTime,
}

/// An identity provider account linked to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedIdentity {
    pub issuer: String,
    pub subject: String,
    pub verification: Verification,
    pub linked_at: OffsetDateTime,
    pub last_login_at: OffsetDateTime,
}

/// A person's own profile as the account page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountProfile {
    pub user: UserRecord,
    pub birth_date: Option<time::Date>,
    pub home_region: Option<String>,
    pub identities: Vec<LinkedIdentity>,
    /// Whether a national identifier is on record (the key itself is never shown).
    pub has_identity_key: bool,
}

#[derive(Debug, Clone)]
pub struct NewApiClient {
    pub client_id: String,
    pub org: OrgId,
    pub name: PersonName,
    pub secret_sha256: [u8; 32],
    pub scopes: Vec<ApiScope>,
    pub created_by: UserId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClientRecord {
    pub client_id: String,
    pub user: UserRecord,
    pub name: String,
    pub org: OrgId,
    pub secret_sha256: Vec<u8>,
    pub scopes: Vec<ApiScope>,
    pub created_at: OffsetDateTime,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetSite {
    pub origin: String,
    pub added_by: String,
    pub added_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewSubmission {
    pub kind: SubmissionKind,
    pub author: UserId,
    pub subcategory: SubcategoryId,
    pub region: RegionId,
    /// The competent organisation, as decided by routing.
    pub org: OrgId,
    /// The municipality it is about, when the citizen named one (routing prefers the
    /// municipality's own rules).
    pub municipality: Option<MunicipalityId>,
    pub text: SubmissionText,
    pub fields: FormValues,
    pub attachments: Vec<Attachment>,
    /// How it arrived.
    pub channel: Channel,
    /// The registered site it was sent from (widget submissions only).
    pub origin: Option<WidgetOrigin>,
    /// The author lets other citizens see it (messages only; see `Store::set_public`).
    pub public: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registered {
    pub id: SubmissionId,
    pub number: RegistrationNumber,
    pub org: OrgId,
    pub deadline_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    pub id: FileId,
    pub name: String,
    pub mime: String,
    pub size: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// The event the file belongs to; None for the citizen's own attachments.
    pub event: Option<EventId>,
}

#[derive(Debug, Clone)]
pub struct StoredFile {
    pub meta: FileMeta,
    pub submission: SubmissionId,
    /// The submission's author (whose personal data a staff download reads).
    pub author: UserId,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub id: EventId,
    pub submission: SubmissionId,
    pub kind: EventKind,
    pub actor: Option<UserId>,
    pub actor_name: Option<String>,
    pub at: OffsetDateTime,
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub from_org: Option<OrgId>,
    pub to_org: OrgId,
    pub to_org_name: String,
    /// Redirect or send-back reason, rejection comment, rating comment.
    pub reason: Option<String>,
    /// Text of an intermediate or final answer.
    pub body: Option<String>,
    pub ground: Option<RejectionGround>,
    pub score: Option<Score>,
    /// The deadline after this event.
    pub deadline_at: OffsetDateTime,
    pub files: Vec<FileMeta>,
    /// The other submission of a merge event.
    pub related: Option<Related>,
}

/// A public message as any citizen sees it: no author, no form fields, no files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicSubmission {
    pub id: SubmissionId,
    pub number: RegistrationNumber,
    pub status: Status,
    pub category_name: String,
    pub subcategory: SubcategoryId,
    pub subcategory_name: String,
    pub region_name: String,
    pub municipality_name: Option<String>,
    pub org_name: String,
    pub text: String,
    pub created_at: OffsetDateTime,
    /// The final answer, when given: its text and time.
    pub answer: Option<(String, OffsetDateTime)>,
    /// How many people follow it.
    pub followers: u64,
    /// How many duplicates are merged into it now.
    pub duplicates: u64,
}

impl PublicSubmission {
    /// Where it is: the region, and the municipality when named.
    pub fn place(&self) -> String {
        match &self.municipality_name {
            Some(m) => format!("{}, {m}", self.region_name),
            None => self.region_name.clone(),
        }
    }
}

/// Another submission named by a merge: its id and registration number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Related {
    pub id: SubmissionId,
    pub number: RegistrationNumber,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionDetail {
    pub id: SubmissionId,
    pub number: RegistrationNumber,
    pub kind: SubmissionKind,
    pub status: Status,
    pub author: UserId,
    pub author_name: String,
    pub author_email: String,
    pub category_name: String,
    pub subcategory: SubcategoryId,
    pub subcategory_name: String,
    pub region: RegionId,
    pub region_name: String,
    pub org: OrgId,
    pub org_name: String,
    pub round: u8,
    pub rating: Option<Score>,
    pub text: String,
    /// Values of the subcategory's form, by field key.
    pub fields: FormValues,
    pub created_at: OffsetDateTime,
    pub deadline_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// How it was routed: `municipality:ID`, `region:ID`, `federal:ID` (rule ids),
    /// `coordinator` (no rule matched) or `manual`.
    pub route: String,
    /// How it arrived, and from which registered site when through the widget.
    pub channel: Channel,
    pub origin: Option<String>,
    /// The term was extended once (appeals).
    pub extended: bool,
    /// Since when the clock is paused (waiting for the citizen), if it is.
    pub paused_at: Option<OffsetDateTime>,
    /// Oldest first.
    pub events: Vec<EventRecord>,
    /// The citizen's own attachments (files of events are in `events`).
    pub attachments: Vec<FileMeta>,
    /// Other citizens may see it (without the author or form fields).
    pub public: bool,
    /// The primary it is a duplicate of, while merged.
    pub merged_into: Option<Related>,
    /// Its own duplicates, oldest first.
    pub duplicates: Vec<Related>,
}

impl SubmissionDetail {
    pub fn state(&self) -> SubmissionState {
        use otklik_domain::lifecycle::Merge;
        SubmissionState {
            kind: self.kind,
            status: self.status,
            author: self.author,
            org: self.org,
            region: self.region,
            extended: self.extended,
            round: self.round,
            rating: self.rating,
            merge: match (self.merged_into, self.duplicates.is_empty()) {
                (Some(primary), _) => Merge::DuplicateOf(primary.id),
                (None, false) => Merge::Primary,
                (None, true) => Merge::Alone,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionCard {
    pub id: SubmissionId,
    pub number: RegistrationNumber,
    pub kind: SubmissionKind,
    pub status: Status,
    pub category_name: String,
    pub subcategory_name: String,
    pub org: OrgId,
    pub org_name: String,
    /// The holding organisation's UTC offset: its deadline dates are in its own calendar.
    pub org_utc_offset_minutes: i32,
    /// The first 160 characters of the text.
    pub excerpt: String,
    pub subcategory: SubcategoryId,
    pub region: RegionId,
    pub channel: Channel,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub deadline_at: OffsetDateTime,
}

/// Whose submissions a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A citizen's own (personal account).
    Author(UserId),
    /// Those an organisation holds now (its inbox).
    Organisation(OrgId),
    /// Every submission about a region (its coordinator's queue).
    Region(RegionId),
    /// All (the operator).
    All,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub category: Option<CategoryId>,
    /// Only open submissions whose deadline is before `now`.
    pub overdue: bool,
    pub now: OffsetDateTime,
    pub subcategory: Option<SubcategoryId>,
    /// Only open (`Some(true)`) or only finished (`Some(false)`) submissions.
    pub open: Option<bool>,
    /// Registered at or after / before these instants.
    pub created_from: Option<OffsetDateTime>,
    pub created_before: Option<OffsetDateTime>,
    /// Only those that arrived through this channel (and from this widget site).
    pub channel: Option<Channel>,
    pub origin: Option<String>,
    /// 1 to 200.
    pub limit: u32,
    pub offset: u32,
}

impl ListQuery {
    /// No filters: the first 50, newest first.
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            status: None,
            category: None,
            overdue: false,
            now,
            subcategory: None,
            open: None,
            created_from: None,
            created_before: None,
            channel: None,
            origin: None,
            limit: 50,
            offset: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many match the filters in all pages: exact where the store keeps the count
    /// (a list filtered at most by status), otherwise counted up to
    /// [`crate::COUNT_LIMIT`].
    pub total: u64,
    /// False when the count stopped at [`crate::COUNT_LIMIT`] (then `total` is the limit).
    pub total_exact: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalDataAccess {
    pub staff: UserId,
    pub staff_name: String,
    pub submission: SubmissionId,
    pub purpose: String,
    pub at: OffsetDateTime,
}

// --- territories, routing, deadlines, incidents, configuration --------------------------

/// A federal subject as loaded from the domain's data.
#[derive(Debug, Clone)]
pub struct FederalSubjectRow {
    pub code: String,
    pub okato: String,
    pub name: String,
    pub federal_district: Option<String>,
    pub utc_offset_minutes: i32,
}

#[derive(Debug, Clone)]
pub struct NewMunicipality {
    pub oktmo: String,
    pub name: String,
    pub region: RegionId,
    pub utc_offset_minutes: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Municipality {
    pub id: MunicipalityId,
    pub region: RegionId,
    pub oktmo: String,
    pub name: String,
    pub utc_offset_minutes: i32,
}

/// Where a routing rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteScope {
    /// Every region (a federal body's subcategory).
    Federal,
    Region(RegionId),
    Municipality(RegionId, MunicipalityId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    pub id: RouteId,
    pub subcategory: SubcategoryId,
    pub scope: RouteScope,
    pub org: OrgId,
}

/// The competent organisation and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecision {
    pub org: OrgId,
    /// `municipality:ID`, `region:ID`, `federal:ID` or `coordinator`.
    pub label: String,
}

/// A stored deadline policy: per kind, optionally per subcategory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    pub kind: SubmissionKind,
    pub subcategory: Option<SubcategoryId>,
    pub spec_json: String,
}

/// Who changed the configuration, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    pub id: i64,
    pub actor: Option<UserId>,
    pub actor_name: Option<String>,
    pub at: OffsetDateTime,
    pub entity: String,
    pub entity_key: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What the operator's monitoring scrapes (`/metrics`): the depth of each queue and how
/// many deadlines are broken or at risk. Each count stops at [`GAUGE_CAP`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OperationalGauges {
    /// Pushes to organisations' systems not yet delivered and not failing.
    pub deliveries_pending: u64,
    /// Pushes whose receiver keeps failing.
    pub deliveries_failing: u64,
    /// Notification messages (mail, gateway) waiting to be sent.
    pub notifications_pending: u64,
    /// Export jobs queued or running.
    pub exports_waiting: u64,
    /// Open submissions past their deadline, clock running.
    pub deadlines_overdue: u64,
    /// Open submissions due before the horizon asked for.
    pub deadlines_at_risk: u64,
}

/// A gauge counts at most this many rows, so that a scrape stays a bounded index walk.
pub const GAUGE_CAP: u64 = 1_000_000;

/// Overdue and soon-due submissions, most urgent first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DueLists {
    pub overdue: Vec<SubmissionCard>,
    pub soon: Vec<SubmissionCard>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecomputeReport {
    pub checked: u64,
    pub changed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MonitorReport {
    pub warnings: u64,
    pub incidents: u64,
}

/// What a register row is about: a submission or a social-media incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentSubject {
    Submission {
        id: SubmissionId,
        number: RegistrationNumber,
    },
    /// A `social_incidents` row.
    Social(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRecord {
    pub id: IncidentId,
    pub kind: otklik_domain::lifecycle::IncidentKind,
    pub subject: IncidentSubject,
    /// Unknown only for a social incident nobody had routed when it was raised.
    pub org: Option<OrgId>,
    pub org_name: Option<String>,
    pub region: Option<RegionId>,
    pub region_name: Option<String>,
    pub due_at: Option<OffsetDateTime>,
    pub detected_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
    pub resolution: Option<String>,
}

impl IncidentRecord {
    /// The submission the incident is about, if it is about one.
    pub fn submission(&self) -> Option<SubmissionId> {
        match self.subject {
            IncidentSubject::Submission { id, .. } => Some(id),
            IncidentSubject::Social(_) => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct IncidentQuery {
    pub kind: Option<otklik_domain::lifecycle::IncidentKind>,
    pub region: Option<RegionId>,
    pub org: Option<OrgId>,
    /// Some(false): open only; Some(true): resolved only.
    pub resolved: Option<bool>,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentPage {
    pub items: Vec<IncidentRecord>,
    pub total: u64,
    /// Counts by kind for the same filters (without the kind filter).
    pub by_kind: Vec<(otklik_domain::lifecycle::IncidentKind, u64)>,
}

/// Aggregates for monitoring: no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionSummary {
    pub region: RegionId,
    pub region_name: String,
    pub open: u64,
    pub overdue: u64,
    pub answered: u64,
    pub incidents_open: u64,
}

// --- deliveries to organisations' own systems -------------------------------------------

/// An outbox row's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(pub i64);

/// An organisation's delivery settings as stored. The push secret is here because the
/// platform must sign with it; pages and the API never show it after it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationRecord {
    pub org: OrgId,
    pub mode: otklik_domain::delivery::DeliveryMode,
    pub push_url: Option<String>,
    pub push_secret: Option<String>,
    pub visibility_timeout_seconds: u64,
    pub alert_after_failures: u32,
    pub updated_at: OffsetDateTime,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not delivered yet, no failed attempt.
    Pending,
    /// Not delivered yet, the last attempt failed (or a pulled copy was not acknowledged).
    Failing,
    Delivered,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Failing => "failing",
            Self::Delivered => "delivered",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw {
            "pending" => Ok(Self::Pending),
            "failing" => Ok(Self::Failing),
            "delivered" => Ok(Self::Delivered),
            _ => Err("unknown_value"),
        }
    }
}

/// One delivery as the organisation and the operator see it (without its payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    /// The idempotency key the receiver deduplicates by.
    pub key: String,
    pub org: OrgId,
    pub submission: SubmissionId,
    /// `submission.routed`, `submission.updated` or `submission.withdrawn`.
    pub event: String,
    pub created_at: OffsetDateTime,
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub failing_since: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub alerted_at: Option<OffsetDateTime>,
    pub delivered_at: Option<OffsetDateTime>,
}

impl DeliveryRecord {
    pub fn state(&self) -> DeliveryState {
        match (self.delivered_at, self.failing_since) {
            (Some(_), _) => DeliveryState::Delivered,
            (None, Some(_)) => DeliveryState::Failing,
            (None, None) => DeliveryState::Pending,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliverySummary {
    pub pending: u64,
    pub failing: u64,
    pub delivered: u64,
    /// The oldest undelivered one was created then.
    pub oldest_undelivered_at: Option<OffsetDateTime>,
}

/// One organisation's line of the operator's overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationOverview {
    pub org: OrgId,
    pub org_name: String,
    pub mode: otklik_domain::delivery::DeliveryMode,
    pub summary: DeliverySummary,
}

/// A message on its way out: what to send and (push) where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingDelivery {
    pub id: DeliveryId,
    pub key: String,
    pub org: OrgId,
    pub event: String,
    /// The JSON envelope, exactly as sent and signed.
    pub payload: String,
    /// Attempts including this one.
    pub attempts: u32,
    /// Push: the endpoint and the signing key.
    pub push: Option<(String, String)>,
}

/// How a push ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    Delivered,
    Failed {
        /// Short, without personal data (`status 503`, `timeout`, `connection refused`).
        error: String,
        retry_at: OffsetDateTime,
    },
}

/// What the first answer to an idempotent call was, kept to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    /// The `Location` of what the call created, if it created something.
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// Where a call with an `Idempotency-Key` stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// First time: go ahead, then `finish_idempotent` (or `abandon_idempotent`).
    Fresh,
    /// Done before with the same request: answer this again.
    Replay(StoredResponse),
    /// The same key is being processed right now.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

// --- notifications and campaigns -------------------------------------------------------

/// One entry of a person's notification centre.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub kind: otklik_domain::notify::NotificationKind,
    pub submission: Option<SubmissionId>,
    /// The values its templates use (see `docs/NOTIFICATIONS.md`).
    pub vars: serde_json::Value,
    pub created_at: OffsetDateTime,
    pub read_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NotificationPage {
    pub items: Vec<NotificationRecord>,
    pub total: u64,
    pub unread: u64,
}

/// A person's notification settings as stored: their choices (kinds and channels
/// without a row use the kind's default), the gateway number, whether e-mail can reach
/// them, and whether they opted out of campaigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSettings {
    pub choices: Vec<(
        otklik_domain::notify::NotificationKind,
        otklik_domain::notify::Channel,
        otklik_domain::notify::Delivery,
    )>,
    pub phone: Option<otklik_domain::notify::PhoneNumber>,
    pub email_deliverable: bool,
    pub campaigns_opted_out: bool,
    /// Where the person lives, for campaigns' audiences (read here; written by
    /// `put_home_place`, or vouched for by the identity provider).
    pub home_region: Option<RegionId>,
    pub home_municipality: Option<MunicipalityId>,
}

impl NotificationSettings {
    /// The delivery in force for a kind and channel.
    pub fn delivery(
        &self,
        kind: otklik_domain::notify::NotificationKind,
        channel: otklik_domain::notify::Channel,
    ) -> otklik_domain::notify::Delivery {
        self.choices
            .iter()
            .find(|(k, c, _)| *k == kind && *c == channel)
            .map(|(_, _, d)| *d)
            .unwrap_or_else(|| kind.default_delivery(channel))
    }
}

/// A message the worker is to send: one notification through one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingNotification {
    pub id: NotificationId,
    pub channel: otklik_domain::notify::Channel,
    pub user: UserId,
    pub email: String,
    pub phone: Option<String>,
    pub kind: otklik_domain::notify::NotificationKind,
    pub submission: Option<SubmissionId>,
    pub vars: serde_json::Value,
    pub created_at: OffsetDateTime,
    /// Part of the person's digest rather than a message of its own.
    pub digest: bool,
    /// The digest's identifier, kept across its retries (its `Message-ID`).
    pub digest_id: Option<String>,
    /// Attempts including this one.
    pub attempts: u32,
}

/// How sending one message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    /// A temporary failure: try again at `retry_at`.
    Retry {
        error: String,
        retry_at: OffsetDateTime,
    },
    /// A permanent failure (the server refused the address): not tried again.
    Failed {
        error: String,
    },
    /// Not sent and never will be (the channel is not configured here).
    Skipped {
        reason: String,
    },
}

/// The outbox at a glance (the operator's view).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxSummary {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
    /// The oldest message still waiting (digests excluded), if any.
    pub oldest_pending_at: Option<OffsetDateTime>,
}

/// An operator's version of a template (the shipped one applies where there is none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTemplate {
    /// A notification kind, or `digest`.
    pub kind: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub updated_by: Option<UserId>,
    pub updated_at: OffsetDateTime,
}

/// A campaign as the operator writes it (checked by the web layer and the notify
/// crate's template check before it gets here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    pub title: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub audience: otklik_domain::notify::Audience,
    pub rate: otklik_domain::notify::SendRate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRecord {
    pub id: CampaignId,
    pub title: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub audience: otklik_domain::notify::Audience,
    pub rate: otklik_domain::notify::SendRate,
    pub status: otklik_domain::notify::CampaignStatus,
    /// Fixed when the campaign starts.
    pub recipients: u64,
    pub sent: u64,
    pub failed: u64,
    pub opened: u64,
    pub unsubscribed: u64,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    pub started_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
}

impl CampaignRecord {
    /// Recipients not yet sent to nor given up on.
    pub fn pending(&self) -> u64 {
        self.recipients.saturating_sub(self.sent + self.failed)
    }
}

/// One campaign message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingCampaignMessage {
    pub campaign: CampaignId,
    pub user: UserId,
    pub email: String,
    pub attempts: u32,
}
