//! What the SQLite and PostgreSQL stores share: row decoding, value conversions and the
//! one implementation of [`Store`](crate::Store), written once in [`impl_store!`] and
//! instantiated for each backend.
//!
//! Both schemas are built so that one code path reads them: every integer is a 64-bit
//! integer (`i64`), every timestamp is unix seconds (UTC), booleans are 0/1 integers,
//! enumerations are their snake_case names. SQL text is the same for both backends
//! (`$N` placeholders, `INSERT … RETURNING`, `ON CONFLICT`); only the migrations, the
//! row-locking suffix and the statements that open a transaction differ.

use crate::*;
use otklik_domain::form::FormValues;
use otklik_domain::lifecycle::{
    EventKind, RejectionGround, Role, Score, Status, SubmissionKind, SubmissionState,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use time::UtcOffset;

/// How many characters of the text a card shows.
pub(crate) const EXCERPT_CHARS: usize = 160;
/// The most cards a page may hold.
pub(crate) const MAX_PAGE: u32 = 200;
/// Rows per multi-row `INSERT`: enough to amortise a statement, few enough to stay far
/// below SQLite's 32 766 bound parameters with twenty columns.
pub(crate) const ROWS_PER_INSERT: usize = 64;
/// The `settings` key of the installation secret.
pub(crate) const SERVER_SECRET_KEY: &str = "server_secret";

/// Stored data that does not decode into the domain: a database error (logged, never shown).
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(
        format!("corrupt stored value: {what}").into(),
    ))
}

/// Maps constraint violations of a write to the domain's codes; other errors stay database errors.
pub(crate) fn constraint(
    e: sqlx::Error,
    unique: &'static str,
    foreign: &'static str,
) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict(unique);
        }
        if db.is_foreign_key_violation() {
            return StoreError::InvalidReference(foreign);
        }
    }
    StoreError::Database(e)
}

pub(crate) fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// Instants are stored in whole seconds: what the store returns equals what it reads back.
pub(crate) fn whole_seconds(t: OffsetDateTime) -> StoreResult<OffsetDateTime> {
    from_ts(ts(t))
}

pub(crate) fn from_ts(seconds: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| corrupt("timestamp"))
}

pub(crate) fn zone(offset_minutes: i64) -> Option<UtcOffset> {
    let seconds = i32::try_from(offset_minutes.checked_mul(60)?).ok()?;
    UtcOffset::from_whole_seconds(seconds).ok()
}

/// Rejects an offset that is not a valid UTC offset, before it is stored.
pub(crate) fn check_offset(offset_minutes: i32) -> StoreResult<()> {
    zone(i64::from(offset_minutes))
        .map(|_| ())
        .ok_or(StoreError::InvalidReference("invalid_utc_offset"))
}

/// Ends a transaction by its result: commits what succeeded, rolls back what failed, so
/// that no connection goes back to the pool inside a transaction.
pub(crate) async fn finish<DB: sqlx::Database, T>(
    tx: sqlx::Transaction<'_, DB>,
    result: StoreResult<T>,
) -> StoreResult<T> {
    match result {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) fn excerpt(text: &str) -> String {
    text.chars().take(EXCERPT_CHARS).collect()
}

pub(crate) fn i32_of(value: i64, what: &str) -> StoreResult<i32> {
    i32::try_from(value).map_err(|_| corrupt(what))
}

/// The `role`, `org_id` and `region_id` columns of a role.
pub(crate) fn role_columns(role: Role) -> (&'static str, Option<i64>, Option<i64>) {
    match role {
        Role::Citizen => ("citizen", None, None),
        Role::Official(org) => ("official", Some(org.0), None),
        Role::Operator => ("operator", None, None),
        Role::Coordinator(region) => ("coordinator", None, Some(region.0)),
        Role::Analyst => ("analyst", None, None),
        Role::OrgAdmin(org) => ("org_admin", Some(org.0), None),
        Role::Integration(org) => ("integration", Some(org.0), None),
    }
}

pub(crate) fn role_of(role: &str, org: Option<i64>, region: Option<i64>) -> StoreResult<Role> {
    match (role, org, region) {
        ("citizen", None, None) => Ok(Role::Citizen),
        ("official", Some(org), None) => Ok(Role::Official(OrgId(org))),
        ("operator", None, None) => Ok(Role::Operator),
        ("coordinator", None, Some(region)) => Ok(Role::Coordinator(RegionId(region))),
        ("analyst", None, None) => Ok(Role::Analyst),
        ("org_admin", Some(org), None) => Ok(Role::OrgAdmin(OrgId(org))),
        ("integration", Some(org), None) => Ok(Role::Integration(OrgId(org))),
        _ => Err(corrupt("users.role")),
    }
}

pub(crate) fn status_of(raw: &str) -> StoreResult<Status> {
    Status::parse(raw).map_err(|_| corrupt("status"))
}

pub(crate) fn channel_of(raw: &str) -> StoreResult<otklik_domain::lifecycle::Channel> {
    otklik_domain::lifecycle::Channel::parse(raw).map_err(|_| corrupt("submissions.channel"))
}

pub(crate) fn kind_of(raw: &str) -> StoreResult<SubmissionKind> {
    SubmissionKind::parse(raw).map_err(|_| corrupt("submissions.kind"))
}

pub(crate) fn score_of(raw: Option<i64>) -> StoreResult<Option<Score>> {
    raw.map(|v| {
        u8::try_from(v)
            .ok()
            .and_then(|v| Score::new(v).ok())
            .ok_or_else(|| corrupt("score"))
    })
    .transpose()
}

pub(crate) fn round_of(raw: i64) -> StoreResult<u8> {
    u8::try_from(raw).map_err(|_| corrupt("submissions.round"))
}

/// The columns of a submission the domain decides on.
pub(crate) struct StateColumns<'a> {
    pub kind: &'a str,
    pub status: &'a str,
    pub author: i64,
    pub org: i64,
    pub region: i64,
    pub extensions: i64,
    pub round: i64,
    pub rating: Option<i64>,
    pub merge: otklik_domain::lifecycle::Merge,
}

/// A submission's place among merged duplicates, from its `merged_into` and the count of
/// the submissions merged into it.
pub(crate) fn merge_of(
    merged_into: Option<i64>,
    duplicates: i64,
) -> otklik_domain::lifecycle::Merge {
    use otklik_domain::lifecycle::Merge;
    match merged_into {
        Some(primary) => Merge::DuplicateOf(SubmissionId(primary)),
        None if duplicates > 0 => Merge::Primary,
        None => Merge::Alone,
    }
}

/// What the domain needs to decide on a submission, from its columns.
pub(crate) fn state_of(c: StateColumns<'_>) -> StoreResult<SubmissionState> {
    Ok(SubmissionState {
        kind: kind_of(c.kind)?,
        status: status_of(c.status)?,
        author: UserId(c.author),
        org: OrgId(c.org),
        region: RegionId(c.region),
        extended: c.extensions > 0,
        round: round_of(c.round)?,
        rating: score_of(c.rating)?,
        merge: c.merge,
    })
}

/// `SELECT` columns of a `StateRow`, on `submissions s`: what the domain decides on, and
/// what the term's deadline is computed from.
macro_rules! state_select {
    () => {
        "s.id, s.kind, s.status, s.author_id, s.org_id, s.region_id, s.round, s.rating, \
         s.deadline_at, (SELECT COUNT(*) FROM events x \
             WHERE x.submission_id = s.id AND x.kind = 'extended') AS extensions, \
         s.subcategory_id, s.municipality_id, s.created_at, s.term_started_at, s.paused_at, \
         s.pauses, s.extension_days, s.merged_into, \
         (SELECT COUNT(*) FROM submissions m WHERE m.merged_into = s.id) AS duplicates"
    };
}

pub(crate) fn fields_of(json: &str) -> StoreResult<FormValues> {
    serde_json::from_str::<BTreeMap<String, String>>(json)
        .map(FormValues::from_stored)
        .map_err(|_| corrupt("submissions.fields_json"))
}

pub(crate) fn form_of(json: &str) -> StoreResult<FormSpec> {
    FormSpec::from_json(json).map_err(|_| corrupt("subcategories.form_spec"))
}

/// The SQL list of the open statuses (`with_paused`), or of those whose clock runs, from
/// the domain's own definitions. The clock-running list is exactly the predicate of the
/// partial index `submissions_open_deadline`.
pub(crate) fn open_statuses_sql(with_paused: bool) -> String {
    Status::ALL
        .iter()
        .filter(|s| {
            if with_paused {
                s.is_open()
            } else {
                s.clock_runs()
            }
        })
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value bound to a dynamically built query.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Int(i64),
    Text(&'static str),
    Owned(String),
}

/// The WHERE clause of a list query (and its parameters, numbered from `$1`).
pub(crate) fn list_filter(scope: Scope, query: &ListQuery) -> (String, Vec<Param>) {
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    let mut push = |sql: &str, param: Param| {
        params.push(param);
        conditions.push(sql.replace('?', &format!("${}", params.len())));
    };
    match scope {
        Scope::Author(user) => push("s.author_id = ?", Param::Int(user.0)),
        Scope::Organisation(org) => push("s.org_id = ?", Param::Int(org.0)),
        Scope::Region(region) => push("s.region_id = ?", Param::Int(region.0)),
        Scope::All => {}
    }
    if let Some(status) = query.status {
        push("s.status = ?", Param::Text(status.as_str()));
    }
    if let Some(category) = query.category {
        // A subquery rather than a join, so that counting needs no join at all.
        push(
            "s.subcategory_id IN (SELECT id FROM subcategories WHERE category_id = ?)",
            Param::Int(category.0),
        );
    }
    if let Some(subcategory) = query.subcategory {
        push("s.subcategory_id = ?", Param::Int(subcategory.0));
    }
    if let Some(from) = query.created_from {
        push("s.created_at >= ?", Param::Int(ts(from)));
    }
    if let Some(before) = query.created_before {
        push("s.created_at < ?", Param::Int(ts(before)));
    }
    if let Some(channel) = query.channel {
        push("s.channel = ?", Param::Text(channel.as_str()));
    }
    if let Some(origin) = &query.origin {
        push("s.origin = ?", Param::Owned(origin.clone()));
    }
    if query.overdue {
        let open = format!(
            "s.status IN ({}) AND s.deadline_at < ?",
            open_statuses_sql(false)
        );
        push(&open, Param::Int(ts(query.now)));
    }
    if let Some(open) = query.open {
        let sql = format!(
            "s.status {} ({})",
            if open { "IN" } else { "NOT IN" },
            // Open includes those waiting for the citizen's clarification.
            open_statuses_sql(true)
        );
        conditions.push(sql);
    }
    let clause = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    (clause, params)
}

/// A status change waiting for the group writer of status changes (`Store::apply`).
///
/// SQLite has one writer: each change in its own transaction paid a commit (an fsync)
/// each, so officials' actions could not pass the fsync rate. There they share a
/// transaction, each in a savepoint. PostgreSQL makes each change alone: grouped, a
/// change would lock its submission's row after an earlier one of the group appended a
/// log leaf, and the log's lock must be the last a transaction takes.
pub(crate) struct Apply {
    pub id: otklik_domain::SubmissionId,
    pub actor: otklik_domain::lifecycle::Actor,
    pub action: otklik_domain::lifecycle::Action,
    pub files: Vec<otklik_domain::attachment::Attachment>,
    pub at: time::OffsetDateTime,
}

/// The queue in front of the group writer of status changes.
pub(crate) type Applier = crate::group_commit::GroupWriter<Apply, EventRecord>;

/// The most status changes one transaction takes: each is some twenty statements, so a
/// group holds the writer for tens of milliseconds at most.
pub(crate) const MAX_APPLY_GROUP: usize = 64;

/// A list's total as the counts kept per scope and status give it (`list_counts`, kept by
/// triggers on `submissions`): for lists filtered at most by status and open/finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeptCount {
    /// 0 all, 1 author, 2 organisation, 3 region (the migration's codes).
    pub scope: i64,
    pub scope_id: i64,
    status: Option<Status>,
    open: Option<bool>,
}

impl KeptCount {
    /// `None` when a filter needs the rows themselves. The destructuring is exhaustive on
    /// purpose: a new filter must decide here whether the kept counts can answer it.
    pub fn of(scope: Scope, query: &ListQuery) -> Option<Self> {
        let ListQuery {
            status,
            category,
            overdue,
            now: _,
            subcategory,
            open,
            created_from,
            created_before,
            channel,
            origin,
            limit: _,
            offset: _,
        } = query;
        let row_filters = category.is_some()
            || *overdue
            || subcategory.is_some()
            || created_from.is_some()
            || created_before.is_some()
            || channel.is_some()
            || origin.is_some();
        if row_filters {
            return None;
        }
        let (scope, scope_id) = match scope {
            Scope::All => (0, 0),
            Scope::Author(user) => (1, user.0),
            Scope::Organisation(org) => (2, org.0),
            Scope::Region(region) => (3, region.0),
        };
        Some(Self {
            scope,
            scope_id,
            status: *status,
            open: *open,
        })
    }

    /// The total from the scope's `(status, count)` rows.
    pub fn total(&self, rows: &[(String, i64)]) -> u64 {
        rows.iter()
            .filter_map(|(status, n)| Some((Status::parse(status).ok()?, *n)))
            .filter(|(status, _)| self.status.is_none_or(|wanted| wanted == *status))
            .filter(|(status, _)| self.open.is_none_or(|open| status.is_open() == open))
            .map(|(_, n)| u64::try_from(n).unwrap_or_default())
            .sum()
    }
}

/// The columns of an event row that `push_event!` binds, in its order.
macro_rules! event_columns {
    () => {
        "submission_id, kind, actor_id, at, from_status, to_status, from_org, to_org, reason, \
         body, ground, score, deadline_at, subcategory_id, extension_days, related_id"
    };
}
pub(crate) use event_columns;

/// Binds a `NewEvent` as the values of `event_columns!()`.
macro_rules! push_event {
    ($row:expr, $event:expr) => {
        $row.push_bind($event.submission)
            .push_bind($event.kind.as_str())
            .push_bind($event.actor)
            .push_bind($event.at)
            .push_bind($event.from_status.map(|s| s.as_str()))
            .push_bind($event.to_status.as_str())
            .push_bind($event.from_org)
            .push_bind($event.to_org)
            .push_bind($event.reason)
            .push_bind($event.body)
            .push_bind($event.ground.map(|g| g.as_str()))
            .push_bind($event.score)
            .push_bind($event.deadline_at)
            .push_bind($event.subcategory)
            .push_bind($event.extension_days)
            .push_bind($event.related)
    };
}
pub(crate) use push_event;

/// What an event row holds, before it is written.
pub(crate) struct NewEvent<'a> {
    pub submission: i64,
    pub kind: EventKind,
    pub actor: Option<i64>,
    pub at: i64,
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub from_org: Option<i64>,
    pub to_org: i64,
    pub reason: Option<&'a str>,
    pub body: Option<&'a str>,
    pub ground: Option<RejectionGround>,
    pub score: Option<i64>,
    pub deadline_at: i64,
    pub subcategory: Option<i64>,
    pub extension_days: Option<i64>,
    /// The other submission of a merge event.
    pub related: Option<i64>,
}

impl<'a> NewEvent<'a> {
    /// The action's own data, in the event's columns.
    pub fn with_action(mut self, action: &'a otklik_domain::lifecycle::Action) -> Self {
        use otklik_domain::lifecycle::Action;
        match action {
            Action::TakeIntoWork => {}
            Action::PostIntermediateAnswer { text } | Action::Answer { text } => {
                self.body = Some(text.as_str());
            }
            Action::Redirect { reason, .. } | Action::SendBack { reason } => {
                self.reason = Some(reason.as_str());
            }
            Action::Reject { ground, comment } => {
                self.ground = Some(*ground);
                self.reason = Some(comment.as_str());
            }
            Action::Rate { score, comment } => {
                self.score = Some(i64::from(score.value()));
                self.reason = comment.as_ref().map(|c| c.as_str());
            }
            Action::RequestClarification { question: reason } | Action::ReturnAnswer { reason } => {
                self.reason = Some(reason.as_str());
            }
            Action::Clarify { text } => {
                self.body = Some(text.as_str());
            }
            Action::Extend { days, reason } => {
                self.extension_days = Some(i64::from(days.value()));
                self.reason = Some(reason.as_str());
            }
            Action::Recategorise {
                subcategory,
                reason,
            } => {
                self.subcategory = Some(subcategory.0);
                self.reason = Some(reason.as_str());
            }
        }
        self
    }
}

// --- rows -------------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
pub(crate) struct RegionRow {
    id: i64,
    code: String,
    name: String,
    utc_offset_minutes: i64,
    okato: Option<String>,
    federal_district: Option<String>,
}

impl RegionRow {
    pub fn into_model(self) -> StoreResult<Region> {
        Ok(Region {
            id: RegionId(self.id),
            code: self.code,
            name: self.name,
            utc_offset_minutes: i32_of(self.utc_offset_minutes, "utc_offset_minutes")?,
            okato: self.okato,
            federal_district: self.federal_district,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrgRow {
    id: i64,
    name: String,
    kind: String,
    region_id: Option<i64>,
    is_coordinator: i64,
    utc_offset_minutes: i64,
    parent_id: Option<i64>,
    municipality_id: Option<i64>,
}

impl OrgRow {
    pub fn into_model(self) -> StoreResult<Organisation> {
        Ok(Organisation {
            id: OrgId(self.id),
            name: self.name,
            kind: self.kind,
            region: self.region_id.map(RegionId),
            is_coordinator: self.is_coordinator != 0,
            utc_offset_minutes: i32_of(self.utc_offset_minutes, "utc_offset_minutes")?,
            parent: self.parent_id.map(OrgId),
            municipality: self.municipality_id.map(MunicipalityId),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CategoryRow {
    pub id: i64,
    pub name: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct SubcategoryRow {
    id: i64,
    category_id: i64,
    category_name: String,
    name: String,
    form_spec: String,
}

impl SubcategoryRow {
    pub fn into_model(self) -> StoreResult<Subcategory> {
        Ok(Subcategory {
            id: SubcategoryId(self.id),
            category: CategoryId(self.category_id),
            category_name: self.category_name,
            name: self.name,
            form: form_of(&self.form_spec)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    email: String,
    full_name: String,
    role: String,
    org_id: Option<i64>,
    region_id: Option<i64>,
    password_hash: String,
    verification: String,
    locked_until: Option<i64>,
    disabled_at: Option<i64>,
}

impl UserRow {
    pub fn into_model(self) -> StoreResult<UserRecord> {
        Ok(UserRecord {
            id: UserId(self.id),
            role: role_of(&self.role, self.org_id, self.region_id)?,
            email: self.email,
            full_name: self.full_name,
            password_hash: self.password_hash,
            verification: verification_of(&self.verification)?,
            locked_until: self.locked_until.map(from_ts).transpose()?,
            disabled: self.disabled_at.is_some(),
        })
    }
}

pub(crate) fn verification_of(raw: &str) -> StoreResult<otklik_domain::access::Verification> {
    otklik_domain::access::Verification::parse(raw).ok_or_else(|| corrupt("users.verification"))
}

pub(crate) fn scopes_of(raw: &str) -> StoreResult<Vec<otklik_domain::access::ApiScope>> {
    otklik_domain::access::ApiScope::parse_list(raw).ok_or_else(|| corrupt("scopes"))
}

/// What `apply` reads (and locks) before it lets the domain decide.
#[derive(sqlx::FromRow)]
pub(crate) struct StateRow {
    pub id: i64,
    pub kind: String,
    status: String,
    author_id: i64,
    org_id: i64,
    region_id: i64,
    round: i64,
    rating: Option<i64>,
    pub deadline_at: i64,
    extensions: i64,
    pub subcategory_id: i64,
    pub municipality_id: Option<i64>,
    pub created_at: i64,
    pub term_started_at: i64,
    pub paused_at: Option<i64>,
    pub pauses: String,
    pub extension_days: i64,
    merged_into: Option<i64>,
    duplicates: i64,
}

impl StateRow {
    pub fn state(&self) -> StoreResult<SubmissionState> {
        state_of(StateColumns {
            kind: &self.kind,
            status: &self.status,
            author: self.author_id,
            org: self.org_id,
            region: self.region_id,
            extensions: self.extensions,
            round: self.round,
            rating: self.rating,
            merge: merge_of(self.merged_into, self.duplicates),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SubmissionRow {
    id: i64,
    kind: String,
    status: String,
    author_id: i64,
    author_name: String,
    author_email: String,
    category_name: String,
    subcategory_id: i64,
    subcategory_name: String,
    region_id: i64,
    region_name: String,
    org_id: i64,
    org_name: String,
    round: i64,
    rating: Option<i64>,
    text: String,
    fields_json: String,
    created_at: i64,
    deadline_at: i64,
    updated_at: i64,
    route: String,
    channel: String,
    origin: Option<String>,
    paused_at: Option<i64>,
    extensions: i64,
    public: i64,
    merged_into: Option<i64>,
}

impl SubmissionRow {
    /// The state as far as seeing it goes (who holds it); merges are read with it.
    pub fn state(&self) -> StoreResult<SubmissionState> {
        state_of(StateColumns {
            kind: &self.kind,
            status: &self.status,
            author: self.author_id,
            org: self.org_id,
            region: self.region_id,
            extensions: self.extensions,
            round: self.round,
            rating: self.rating,
            merge: merge_of(self.merged_into, 0),
        })
    }

    /// `related`: the submissions of its merges (its primary and its duplicates), as
    /// (id, created_at, merged_into).
    pub fn into_model(
        self,
        events: Vec<EventRecord>,
        attachments: Vec<FileMeta>,
        related: &[(i64, i64, Option<i64>)],
    ) -> StoreResult<SubmissionDetail> {
        let related_of = |&(id, created, _): &(i64, i64, Option<i64>)| -> StoreResult<Related> {
            Ok(Related {
                id: SubmissionId(id),
                number: RegistrationNumber::new(SubmissionId(id), from_ts(created)?),
            })
        };
        let merged_into = related
            .iter()
            .find(|r| Some(r.0) == self.merged_into)
            .map(related_of)
            .transpose()?;
        let duplicates = related
            .iter()
            .filter(|r| r.2 == Some(self.id))
            .map(related_of)
            .collect::<StoreResult<Vec<_>>>()?;
        let created_at = from_ts(self.created_at)?;
        Ok(SubmissionDetail {
            id: SubmissionId(self.id),
            number: RegistrationNumber::new(SubmissionId(self.id), created_at),
            kind: kind_of(&self.kind)?,
            status: status_of(&self.status)?,
            author: UserId(self.author_id),
            author_name: self.author_name,
            author_email: self.author_email,
            category_name: self.category_name,
            subcategory: SubcategoryId(self.subcategory_id),
            subcategory_name: self.subcategory_name,
            region: RegionId(self.region_id),
            region_name: self.region_name,
            org: OrgId(self.org_id),
            org_name: self.org_name,
            round: round_of(self.round)?,
            rating: score_of(self.rating)?,
            text: self.text,
            fields: fields_of(&self.fields_json)?,
            created_at,
            deadline_at: from_ts(self.deadline_at)?,
            updated_at: from_ts(self.updated_at)?,
            route: self.route,
            channel: channel_of(&self.channel)?,
            origin: self.origin,
            extended: self.extensions > 0,
            paused_at: self.paused_at.map(from_ts).transpose()?,
            events,
            attachments,
            public: self.public != 0,
            merged_into,
            duplicates,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    pub id: i64,
    submission_id: i64,
    kind: String,
    actor_id: Option<i64>,
    actor_name: Option<String>,
    at: i64,
    from_status: Option<String>,
    to_status: String,
    from_org: Option<i64>,
    to_org: i64,
    to_org_name: String,
    reason: Option<String>,
    body: Option<String>,
    ground: Option<String>,
    score: Option<i64>,
    deadline_at: i64,
    related_id: Option<i64>,
    related_created_at: Option<i64>,
}

impl EventRow {
    pub fn into_model(self, files: Vec<FileMeta>) -> StoreResult<EventRecord> {
        Ok(EventRecord {
            id: EventId(self.id),
            submission: SubmissionId(self.submission_id),
            kind: EventKind::parse(&self.kind).map_err(|_| corrupt("events.kind"))?,
            actor: self.actor_id.map(UserId),
            actor_name: self.actor_name,
            at: from_ts(self.at)?,
            from_status: self.from_status.as_deref().map(status_of).transpose()?,
            to_status: status_of(&self.to_status)?,
            from_org: self.from_org.map(OrgId),
            to_org: OrgId(self.to_org),
            to_org_name: self.to_org_name,
            reason: self.reason,
            body: self.body,
            ground: self
                .ground
                .as_deref()
                .map(|g| RejectionGround::parse(g).map_err(|_| corrupt("events.ground")))
                .transpose()?,
            score: score_of(self.score)?,
            deadline_at: from_ts(self.deadline_at)?,
            files,
            related: match (self.related_id, self.related_created_at) {
                (Some(id), Some(created)) => Some(Related {
                    id: SubmissionId(id),
                    number: RegistrationNumber::new(SubmissionId(id), from_ts(created)?),
                }),
                _ => None,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct FileMetaRow {
    id: i64,
    event_id: Option<i64>,
    name: String,
    mime: String,
    size: i64,
    sha256: String,
}

impl FileMetaRow {
    pub fn into_model(self) -> FileMeta {
        FileMeta {
            id: FileId(self.id),
            name: self.name,
            mime: self.mime,
            size: self.size,
            sha256: self.sha256,
            event: self.event_id.map(EventId),
        }
    }
}

/// Joins events with their files: each event gets its own, in id order; the files of no
/// event are the citizen's attachments.
pub(crate) fn timeline(
    events: Vec<EventRow>,
    files: Vec<FileMetaRow>,
) -> StoreResult<(Vec<EventRecord>, Vec<FileMeta>)> {
    let mut by_event: BTreeMap<i64, Vec<FileMeta>> = BTreeMap::new();
    let mut attachments = Vec::new();
    for file in files {
        let meta = file.into_model();
        match meta.event {
            Some(event) => by_event.entry(event.0).or_default().push(meta),
            None => attachments.push(meta),
        }
    }
    let events = events
        .into_iter()
        .map(|row| {
            let files = by_event.remove(&row.id).unwrap_or_default();
            row.into_model(files)
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok((events, attachments))
}

#[derive(sqlx::FromRow)]
pub(crate) struct FileRow {
    id: i64,
    submission_id: i64,
    event_id: Option<i64>,
    name: String,
    mime: String,
    size: i64,
    sha256: String,
    content: Vec<u8>,
    kind: String,
    status: String,
    author_id: i64,
    org_id: i64,
    region_id: i64,
    round: i64,
    rating: Option<i64>,
}

impl FileRow {
    /// The state of the file's submission, to decide who may see the file.
    pub fn state(&self) -> StoreResult<SubmissionState> {
        state_of(StateColumns {
            kind: &self.kind,
            status: &self.status,
            author: self.author_id,
            org: self.org_id,
            region: self.region_id,
            extensions: 0,
            round: self.round,
            rating: self.rating,
            // Seeing a file does not depend on merges.
            merge: otklik_domain::lifecycle::Merge::Alone,
        })
    }

    pub fn into_model(self) -> StoredFile {
        StoredFile {
            meta: FileMeta {
                id: FileId(self.id),
                name: self.name,
                mime: self.mime,
                size: self.size,
                sha256: self.sha256,
                event: self.event_id.map(EventId),
            },
            submission: SubmissionId(self.submission_id),
            author: UserId(self.author_id),
            bytes: self.content,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CardRow {
    id: i64,
    kind: String,
    status: String,
    category_name: String,
    subcategory_name: String,
    org_id: i64,
    org_name: String,
    org_utc_offset_minutes: i64,
    excerpt: String,
    subcategory_id: i64,
    region_id: i64,
    channel: String,
    created_at: i64,
    updated_at: i64,
    deadline_at: i64,
}

impl CardRow {
    pub fn into_model(self) -> StoreResult<SubmissionCard> {
        let created_at = from_ts(self.created_at)?;
        Ok(SubmissionCard {
            id: SubmissionId(self.id),
            number: RegistrationNumber::new(SubmissionId(self.id), created_at),
            kind: kind_of(&self.kind)?,
            status: status_of(&self.status)?,
            category_name: self.category_name,
            subcategory_name: self.subcategory_name,
            org: OrgId(self.org_id),
            org_name: self.org_name,
            org_utc_offset_minutes: i32_of(self.org_utc_offset_minutes, "utc_offset_minutes")?,
            excerpt: excerpt(&self.excerpt),
            subcategory: SubcategoryId(self.subcategory_id),
            region: RegionId(self.region_id),
            channel: channel_of(&self.channel)?,
            created_at,
            updated_at: from_ts(self.updated_at)?,
            deadline_at: from_ts(self.deadline_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccessRow {
    staff_id: i64,
    staff_name: String,
    submission_id: i64,
    purpose: String,
    at: i64,
}

impl AccessRow {
    pub fn into_model(self) -> StoreResult<PersonalDataAccess> {
        Ok(PersonalDataAccess {
            staff: UserId(self.staff_id),
            staff_name: self.staff_name,
            submission: SubmissionId(self.submission_id),
            purpose: self.purpose,
            at: from_ts(self.at)?,
        })
    }
}

// --- SQL shared by several operations ------------------------------------------------------

macro_rules! user_select {
    () => {
        "SELECT id, email, full_name, role, org_id, region_id, password_hash, verification, \
                locked_until, disabled_at FROM users"
    };
}

macro_rules! org_select {
    () => {
        "SELECT id, name, kind, region_id, is_coordinator, utc_offset_minutes, parent_id, \
                municipality_id FROM organisations"
    };
}

macro_rules! subcategory_select {
    () => {
        "SELECT sc.id, sc.category_id, c.name AS category_name, sc.name, sc.form_spec \
         FROM subcategories sc JOIN categories c ON c.id = sc.category_id"
    };
}

macro_rules! event_select {
    () => {
        "SELECT e.id, e.submission_id, e.kind, e.actor_id, a.full_name AS actor_name, e.at, \
                e.from_status, e.to_status, e.from_org, e.to_org, o.name AS to_org_name, \
                e.reason, e.body, e.ground, e.score, e.deadline_at, e.related_id, \
                rs.created_at AS related_created_at \
         FROM events e \
         LEFT JOIN users a ON a.id = e.actor_id \
         LEFT JOIN submissions rs ON rs.id = e.related_id \
         JOIN organisations o ON o.id = e.to_org"
    };
}

macro_rules! file_meta_select {
    () => {
        "SELECT id, event_id, name, mime, size, sha256 FROM files"
    };
}

pub(crate) use {
    event_select, file_meta_select, org_select, state_select, subcategory_select, user_select,
};

/// The one implementation of `Store`, for a backend described by:
/// - `store`: the type; `db`: its `sqlx::Database`;
/// - `write` / `read`: methods of the type returning the pool for writes and for reads;
/// - `lock`: the suffix that locks the row a transition reads (`" FOR UPDATE"` or `""`);
/// - `begin_write` / `begin_read`: the statements that open a write transaction and a
///   consistent read-only snapshot;
/// - `backend`: the name `Store::backend` reports.
macro_rules! impl_store {
    (
        store: $store:ty,
        db: $db:ty,
        write: $write:ident,
        read: $read:ident,
        lock: $lock:literal,
        begin_write: $begin_write:literal,
        begin_read: $begin_read:literal,
        backend: $backend:literal $(,)?
    ) => {
        impl $store {
            /// Starts the group writer of status changes (SQLite's: see `Apply`).
            #[allow(dead_code)]
            fn with_applier(mut self) -> Self {
                let writer = self.clone();
                self.applier = Some($crate::common::Applier::spawn(
                    $crate::common::MAX_APPLY_GROUP,
                    move |group| {
                        let writer = writer.clone();
                        async move { writer.apply_group(group).await }
                    },
                ));
                self
            }

            /// One status change in a transaction of its own.
            async fn apply_alone(
                &self,
                apply: &$crate::common::Apply,
            ) -> $crate::StoreResult<$crate::EventRecord> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let event = self.apply_one_in(&mut *tx, apply).await?;
                tx.commit().await?;
                Ok(event)
            }

            /// Status changes in one transaction, each in a savepoint of its own: a
            /// refusal (or any error that is not the database's) undoes that change
            /// alone and is its caller's answer. A database error fails the group, and
            /// each change is then made alone, so every caller gets its own true answer.
            async fn apply_group(
                &self,
                group: Vec<$crate::common::Apply>,
            ) -> Vec<$crate::StoreResult<$crate::EventRecord>> {
                match self.apply_group_in_transaction(&group).await {
                    Ok(results) => results,
                    Err(e) if group.len() == 1 => vec![Err(e)],
                    Err(e) => {
                        ::tracing::warn!(error = %e, size = group.len(),
                            "a group of status changes failed; applying each alone");
                        let mut results = Vec::with_capacity(group.len());
                        for apply in &group {
                            results.push(self.apply_alone(apply).await);
                        }
                        results
                    }
                }
            }

            async fn apply_group_in_transaction(
                &self,
                group: &[$crate::common::Apply],
            ) -> $crate::StoreResult<Vec<$crate::StoreResult<$crate::EventRecord>>> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let mut results = Vec::with_capacity(group.len());
                for apply in group {
                    let mut savepoint = ::sqlx::Acquire::begin(&mut tx).await?;
                    match self.apply_one_in(&mut *savepoint, apply).await {
                        Ok(event) => {
                            savepoint.commit().await?;
                            results.push(Ok(event));
                        }
                        Err(e @ $crate::StoreError::Database(_)) => return Err(e),
                        Err(refused) => {
                            savepoint.rollback().await?;
                            results.push(Err(refused));
                        }
                    }
                }
                tx.commit().await?;
                Ok(results)
            }

            /// A status change inside the caller's transaction: the domain decides on
            /// the row read, the state, event, files, log leaf and what follows are
            /// written, a primary's duplicates follow; the event as stored.
            async fn apply_one_in(
                &self,
                conn: &mut <$db as ::sqlx::Database>::Connection,
                apply: &$crate::common::Apply,
            ) -> $crate::StoreResult<$crate::EventRecord> {
                let $crate::common::Apply { id, actor, action, files, at } = apply;
                let (event_id, merge) =
                    self.apply_in(&mut *conn, id.0, *actor, action, files, *at).await?;
                if merge == ::otklik_domain::lifecycle::Merge::Primary {
                    self.follow_primary(&mut *conn, id.0, *actor, action, files, *at).await?;
                }
                let event_row = ::sqlx::query_as::<$db, $crate::common::EventRow>(concat!(
                    $crate::common::event_select!(),
                    " WHERE e.id = $1"
                ))
                .bind(event_id)
                .fetch_one(&mut *conn)
                .await?;
                let file_rows = ::sqlx::query_as::<$db, $crate::common::FileMetaRow>(concat!(
                    $crate::common::file_meta_select!(),
                    " WHERE event_id = $1 ORDER BY id"
                ))
                .bind(event_id)
                .fetch_all(&mut *conn)
                .await?;
                event_row.into_model(
                    file_rows
                        .into_iter()
                        .map($crate::common::FileMetaRow::into_model)
                        .collect(),
                )
            }

            /// The catalogue as stored (see `catalogue`, which keeps it a few seconds).
            async fn read_catalogue(&self) -> $crate::StoreResult<Vec<$crate::Category>> {
                let mut tx = self.$read().begin_with($begin_read).await?;
                let categories = ::sqlx::query_as::<$db, $crate::common::CategoryRow>(
                    "SELECT id, name FROM categories ORDER BY position, id",
                )
                .fetch_all(&mut *tx)
                .await?;
                let subcategories = ::sqlx::query_as::<$db, $crate::common::SubcategoryRow>(
                    concat!(
                        $crate::common::subcategory_select!(),
                        " ORDER BY sc.position, sc.id"
                    ),
                )
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                let mut catalogue: Vec<$crate::Category> = categories
                    .into_iter()
                    .map(|c| $crate::Category {
                        id: ::otklik_domain::CategoryId(c.id),
                        name: c.name,
                        subcategories: Vec::new(),
                    })
                    .collect();
                for row in subcategories {
                    let sub = row.into_model()?;
                    if let Some(category) = catalogue.iter_mut().find(|c| c.id == sub.category) {
                        category.subcategories.push(sub);
                    }
                }
                Ok(catalogue)
            }

            /// Writes one event and returns its id.
            async fn insert_event(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                event: &$crate::common::NewEvent<'_>,
            ) -> $crate::StoreResult<i64> {
                let mut insert = ::sqlx::QueryBuilder::<$db>::new(concat!(
                    "INSERT INTO events (",
                    $crate::common::event_columns!(),
                    ") "
                ));
                insert.push_values(::std::iter::once(event), |mut row, event| {
                    $crate::common::push_event!(row, event);
                });
                insert.push(" RETURNING id");
                Ok(insert.build_query_scalar::<i64>().fetch_one(&mut *conn).await?)
            }

            /// Writes events whose ids are already reserved (see `reserve_ids`).
            async fn insert_events_with_ids(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                events: &[(i64, $crate::common::NewEvent<'_>)],
            ) -> $crate::StoreResult<()> {
                for chunk in events.chunks($crate::common::ROWS_PER_INSERT) {
                    let mut insert = ::sqlx::QueryBuilder::<$db>::new(concat!(
                        "INSERT INTO events (id, ",
                        $crate::common::event_columns!(),
                        ") "
                    ));
                    insert.push_values(chunk, |mut row, (id, event)| {
                        row.push_bind(*id);
                        $crate::common::push_event!(row, event);
                    });
                    insert.build().execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// Writes the files of a submission (of an event, or the citizen's own).
            async fn insert_files(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                submission: i64,
                event: Option<i64>,
                files: &[::otklik_domain::attachment::Attachment],
            ) -> $crate::StoreResult<()> {
                let rows: Vec<_> = files.iter().map(|file| (submission, event, file)).collect();
                Self::insert_files_of(&mut *conn, &rows).await
            }

            /// Writes files, each with its submission and (if an event attached it) event.
            async fn insert_files_of(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                files: &[(i64, Option<i64>, &::otklik_domain::attachment::Attachment)],
            ) -> $crate::StoreResult<()> {
                // Files carry their content: fewer rows per statement than for metadata.
                for chunk in files.chunks(8) {
                    let mut sizes = Vec::with_capacity(chunk.len());
                    for (_, _, file) in chunk {
                        sizes.push(
                            i64::try_from(file.bytes().len())
                                .map_err(|_| $crate::StoreError::InvalidReference("file_too_large"))?,
                        );
                    }
                    let mut insert = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO files (submission_id, event_id, name, mime, size, sha256, content) ",
                    );
                    insert.push_values(chunk.iter().zip(sizes), |mut row, ((submission, event, file), size)| {
                        row.push_bind(*submission)
                            .push_bind(*event)
                            .push_bind(file.name())
                            .push_bind(file.file_type().mime())
                            .push_bind(size)
                            .push_bind($crate::common::sha256_hex(file.bytes()))
                            .push_bind(file.bytes());
                    });
                    insert.build().execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// Applies one action inside the caller's transaction: reads the state, lets
            /// the domain decide, writes the new state, the event, its files, its log
            /// leaf, deliveries, notifications and the incidents it reveals. Returns the
            /// event's id and the submission's place among merges before the action.
            async fn apply_in(
                &self,
                conn: &mut <$db as ::sqlx::Database>::Connection,
                id: i64,
                actor: ::otklik_domain::lifecycle::Actor,
                action: &::otklik_domain::lifecycle::Action,
                files: &[::otklik_domain::attachment::Attachment],
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<(i64, ::otklik_domain::lifecycle::Merge)> {
                use ::otklik_domain::lifecycle::{decide, Action, Clock, IncidentKind, SubmissionKind};
                let at_ts = $crate::common::ts(at);
                let row = Self::lock_one(&mut *conn, id, &actor).await?;
                let state = row.state()?;
                let mut transition = decide(&state, &actor, action)?;
                if !files.is_empty() && !action.accepts_files() {
                    return Err($crate::StoreError::InvalidReference("files_not_allowed"));
                }
                let (subcategory, municipality, created_at) =
                    (row.subcategory_id, row.municipality_id, row.created_at);
                let mut subcategory_after = subcategory;
                let mut route: Option<String> = None;
                if let Some(new_subcategory) = transition.reroute {
                    let exists = ::sqlx::query_scalar::<$db, i64>(
                        "SELECT COUNT(*) FROM subcategories WHERE id = $1",
                    )
                    .bind(new_subcategory.0)
                    .fetch_one(&mut *conn)
                    .await?;
                    if exists == 0 {
                        return Err($crate::StoreError::InvalidReference("unknown_subcategory"));
                    }
                    let decision =
                        Self::route_in(&mut *conn, new_subcategory.0, state.region.0, municipality).await?;
                    transition.org_after = decision.org;
                    subcategory_after = new_subcategory.0;
                    route = Some(decision.label);
                }
                if let Action::Redirect { .. } = action {
                    Self::org_offset(&mut *conn, transition.org_after.0)
                        .await?
                        .ok_or($crate::StoreError::InvalidReference("unknown_organisation"))?;
                    route = Some("manual".to_owned());
                }
                let kind = $crate::common::kind_of(&row.kind)?;
                let context = Self::term_context(
                    &self.calendars,
                    &mut *conn,
                    transition.org_after.0,
                    kind,
                    subcategory_after,
                )
                .await?;
                let mut pauses = $crate::terms::pauses_of(&row.pauses)?;
                let (mut term_started, mut paused_at, mut extension) =
                    (row.term_started_at, row.paused_at, row.extension_days);
                let mut deadline = $crate::common::from_ts(row.deadline_at)?;
                if transition.restarts_term {
                    term_started = at_ts;
                    pauses.clear();
                    paused_at = None;
                    extension = 0;
                    deadline = context.answer_due(at, &[], 0)?;
                }
                match transition.clock {
                    Clock::Runs => {}
                    Clock::Pauses => paused_at = Some(at_ts),
                    Clock::Resumes => {
                        if let Some(from) = paused_at.take() {
                            deadline = $crate::common::whole_seconds(
                                context.resume(deadline, $crate::common::from_ts(from)?, at),
                            )?;
                            pauses.push((from, at_ts));
                        }
                    }
                }
                if let Some(days) = transition.extends_by {
                    deadline = $crate::common::whole_seconds(
                        context.extend(deadline, u32::from(days.value()))?,
                    )?;
                    extension += i64::from(days.value());
                }
                let deadline_at = $crate::common::ts(deadline);
                ::sqlx::query::<$db>(
                    "UPDATE submissions \
                     SET status = $2, org_id = $3, round = $4, rating = $5, deadline_at = $6, \
                         updated_at = $7, subcategory_id = $8, term_started_at = $9, \
                         paused_at = $10, pauses = $11, extension_days = $12, \
                         route = COALESCE($13, route), \
                         merged_into = CASE WHEN $14 = 1 THEN merged_into END \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(transition.to.as_str())
                .bind(transition.org_after.0)
                .bind(i64::from(transition.round_after))
                .bind(transition.rating_after.map(|s| i64::from(s.value())))
                .bind(deadline_at)
                .bind(at_ts)
                .bind(subcategory_after)
                .bind(term_started)
                .bind(paused_at)
                .bind($crate::terms::pauses_json(&pauses))
                .bind(extension)
                .bind(route)
                // A duplicate stays merged only while it is open.
                .bind(i64::from(transition.to.is_open()))
                .execute(&mut *conn)
                .await?;
                let event = $crate::common::NewEvent {
                    submission: id,
                    kind: transition.event,
                    actor: Some(actor.user.0),
                    at: at_ts,
                    from_status: Some(transition.from),
                    to_status: transition.to,
                    from_org: Some(state.org.0),
                    to_org: transition.org_after.0,
                    reason: None,
                    body: None,
                    ground: None,
                    score: None,
                    deadline_at,
                    subcategory: None,
                    extension_days: None,
                    related: None,
                }
                .with_action(action);
                let event_id = Self::insert_event(&mut *conn, &event).await?;
                Self::insert_files(&mut *conn, id, Some(event_id), files).await?;
                Self::log_event(&mut *conn, event_id).await?;
                Self::enqueue_deliveries(
                    &mut *conn,
                    id,
                    event_id,
                    Some(state.org.0),
                    transition.org_after.0,
                    actor.role.organisation() == Some(state.org),
                    at_ts,
                )
                .await?;
                Self::enqueue_notifications(
                    &mut *conn,
                    id,
                    event_id,
                    transition.event,
                    transition.org_after != state.org,
                    at_ts,
                )
                .await?;
                // Incidents the action reveals: its own (a returned answer, a low rating),
                // and an appeal redirected after the redirect term (59-FZ art. 8 part 3).
                let mut incidents: Vec<(IncidentKind, Option<i64>)> =
                    transition.incident.map(|k| (k, None)).into_iter().collect();
                if let (Action::Redirect { .. }, SubmissionKind::Appeal) = (action, kind) {
                    let redirect_due = Self::term_context(
                        &self.calendars,
                        &mut *conn,
                        state.org.0,
                        kind,
                        subcategory,
                    )
                    .await?
                    .stage_due(
                        ::otklik_domain::calendar::DeadlineStage::Redirect,
                        $crate::common::from_ts(created_at)?,
                    )?;
                    if let Some(due) = redirect_due.filter(|due| *due < at) {
                        incidents.push((IncidentKind::LateRedirect, Some($crate::common::ts(due))));
                    }
                }
                for (incident, due) in incidents {
                    Self::raise_incident(
                        &mut *conn,
                        incident,
                        id,
                        state.org.0,
                        state.region.0,
                        due,
                        at_ts,
                    )
                    .await?;
                }
                Ok((event_id, state.merge))
            }

            /// The primary's `action` reaches its duplicates (as the domain's
            /// `merge::followed` says), each as its own events; its final answer ends
            /// every merge with it.
            async fn follow_primary(
                &self,
                conn: &mut <$db as ::sqlx::Database>::Connection,
                primary: i64,
                actor: ::otklik_domain::lifecycle::Actor,
                action: &::otklik_domain::lifecycle::Action,
                files: &[::otklik_domain::attachment::Attachment],
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let duplicates = ::sqlx::query_as::<$db, $crate::common::StateRow>(concat!(
                    "SELECT ",
                    $crate::common::state_select!(),
                    " FROM submissions s WHERE s.merged_into = $1 ORDER BY s.id",
                    $lock
                ))
                .bind(primary)
                .fetch_all(&mut *conn)
                .await?;
                for row in duplicates {
                    for step in ::otklik_domain::merge::followed(action, &row.state()?) {
                        let files = if step.accepts_files() { files } else { &[] };
                        self.apply_in(&mut *conn, row.id, actor, &step, files, at).await?;
                    }
                }
                if ::otklik_domain::merge::ends_merge(action) {
                    ::sqlx::query::<$db>(
                        "UPDATE submissions SET merged_into = NULL WHERE merged_into = $1",
                    )
                    .bind(primary)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            }

            /// The UTC offset of an organisation, or None when there is no such organisation.
            async fn org_offset(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                org: i64,
            ) -> $crate::StoreResult<Option<i64>> {
                Ok(::sqlx::query_scalar::<$db, i64>(
                    "SELECT utc_offset_minutes FROM organisations WHERE id = $1",
                )
                .bind(org)
                .fetch_optional(&mut *conn)
                .await?)
            }
        }

        #[::async_trait::async_trait]
        impl $crate::Store for $store {
            async fn health(&self) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>("SELECT 1").execute(self.$read()).await?;
                Ok(())
            }

            fn backend(&self) -> &'static str {
                $backend
            }

            // --- reference data ------------------------------------------------------

            async fn create_region(
                &self,
                region: $crate::NewRegion,
            ) -> $crate::StoreResult<::otklik_domain::RegionId> {
                $crate::common::check_offset(region.utc_offset_minutes)?;
                let id = ::sqlx::query_scalar::<$db, i64>(
                    "INSERT INTO regions (code, name, utc_offset_minutes) \
                     VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(&region.code)
                .bind(&region.name)
                .bind(i64::from(region.utc_offset_minutes))
                .fetch_one(self.$write())
                .await
                .map_err(|e| $crate::common::constraint(e, "region_code_taken", "unknown_region"))?;
                self.regions.forget();
                Ok(::otklik_domain::RegionId(id))
            }

            async fn regions(&self) -> $crate::StoreResult<Vec<$crate::Region>> {
                if let Some(regions) = self.regions.get() {
                    return Ok(regions.as_ref().clone());
                }
                let reading = self.regions.start();
                let regions: Vec<$crate::Region> = ::sqlx::query_as::<$db, $crate::common::RegionRow>(
                    "SELECT id, code, name, utc_offset_minutes, okato, federal_district FROM regions \
                     ORDER BY name, id",
                )
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map($crate::common::RegionRow::into_model)
                .collect::<$crate::StoreResult<_>>()?;
                self.regions.put(reading, ::std::sync::Arc::new(regions.clone()));
                Ok(regions)
            }

            async fn create_organisation(
                &self,
                org: $crate::NewOrganisation,
            ) -> $crate::StoreResult<::otklik_domain::OrgId> {
                $crate::common::check_offset(org.utc_offset_minutes)?;
                let id = ::sqlx::query_scalar::<$db, i64>(
                    "INSERT INTO organisations (name, kind, region_id, is_coordinator, \
                         utc_offset_minutes) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(&org.name)
                .bind(&org.kind)
                .bind(org.region.map(|r| r.0))
                .bind(i64::from(org.is_coordinator))
                .bind(i64::from(org.utc_offset_minutes))
                .fetch_one(self.$write())
                .await
                .map_err(|e| $crate::common::constraint(e, "organisation_taken", "unknown_region"))?;
                Ok(::otklik_domain::OrgId(id))
            }

            async fn organisations(&self) -> $crate::StoreResult<Vec<$crate::Organisation>> {
                ::sqlx::query_as::<$db, $crate::common::OrgRow>(concat!(
                    $crate::common::org_select!(),
                    " ORDER BY name, id"
                ))
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map($crate::common::OrgRow::into_model)
                .collect()
            }

            async fn organisation(
                &self,
                id: ::otklik_domain::OrgId,
            ) -> $crate::StoreResult<$crate::Organisation> {
                ::sqlx::query_as::<$db, $crate::common::OrgRow>(concat!(
                    $crate::common::org_select!(),
                    " WHERE id = $1"
                ))
                .bind(id.0)
                .fetch_optional(self.$read())
                .await?
                .ok_or($crate::StoreError::NotFound)?
                .into_model()
            }

            async fn create_category(
                &self,
                name: &str,
                position: i32,
            ) -> $crate::StoreResult<::otklik_domain::CategoryId> {
                let id = ::sqlx::query_scalar::<$db, i64>(
                    "INSERT INTO categories (name, position) VALUES ($1, $2) RETURNING id",
                )
                .bind(name)
                .bind(i64::from(position))
                .fetch_one(self.$write())
                .await?;
                self.catalogue.forget();
                Ok(::otklik_domain::CategoryId(id))
            }

            async fn create_subcategory(
                &self,
                category: ::otklik_domain::CategoryId,
                name: &str,
                form: &::otklik_domain::form::FormSpec,
                position: i32,
            ) -> $crate::StoreResult<::otklik_domain::SubcategoryId> {
                let id = ::sqlx::query_scalar::<$db, i64>(
                    "INSERT INTO subcategories (category_id, name, form_spec, position) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(category.0)
                .bind(name)
                .bind(form.to_json())
                .bind(i64::from(position))
                .fetch_one(self.$write())
                .await
                .map_err(|e| {
                    $crate::common::constraint(e, "subcategory_taken", "unknown_category")
                })?;
                self.catalogue.forget();
                Ok(::otklik_domain::SubcategoryId(id))
            }

            async fn catalogue(&self) -> $crate::StoreResult<Vec<$crate::Category>> {
                if let Some(catalogue) = self.catalogue.get() {
                    return Ok(catalogue.as_ref().clone());
                }
                let reading = self.catalogue.start();
                let catalogue = self.read_catalogue().await?;
                self.catalogue.put(reading, ::std::sync::Arc::new(catalogue.clone()));
                Ok(catalogue)
            }


            async fn subcategory(
                &self,
                id: ::otklik_domain::SubcategoryId,
            ) -> $crate::StoreResult<$crate::Subcategory> {
                // From the kept catalogue when it is there: the same rows, read at most
                // `KEPT_FOR` ago. A form another node changed applies within that time,
                // as on every page that shows the catalogue; a subcategory removed
                // meanwhile is still refused by the registration's own lookup.
                let kept = self.catalogue.get().and_then(|catalogue| {
                    catalogue
                        .iter()
                        .flat_map(|c| c.subcategories.iter())
                        .find(|sub| sub.id == id)
                        .cloned()
                });
                if let Some(sub) = kept {
                    return Ok(sub);
                }
                ::sqlx::query_as::<$db, $crate::common::SubcategoryRow>(concat!(
                    $crate::common::subcategory_select!(),
                    " WHERE sc.id = $1"
                ))
                .bind(id.0)
                .fetch_optional(self.$read())
                .await?
                .ok_or($crate::StoreError::NotFound)?
                .into_model()
            }

            async fn set_route(
                &self,
                subcategory: ::otklik_domain::SubcategoryId,
                region: ::otklik_domain::RegionId,
                org: ::otklik_domain::OrgId,
            ) -> $crate::StoreResult<()> {
                $crate::Admin::put_route(
                    self,
                    None,
                    subcategory,
                    $crate::RouteScope::Region(region),
                    org,
                    ::time::OffsetDateTime::now_utc(),
                )
                .await
                .map(|_| ())
            }

            async fn route(
                &self,
                subcategory: ::otklik_domain::SubcategoryId,
                region: ::otklik_domain::RegionId,
            ) -> $crate::StoreResult<::otklik_domain::OrgId> {
                $crate::Admin::route_decision(self, subcategory, region, None)
                    .await
                    .map(|decision| decision.org)
            }

            // --- accounts and sessions ---------------------------------------------------

            async fn create_user(
                &self,
                user: $crate::NewUser,
            ) -> $crate::StoreResult<::otklik_domain::UserId> {
                let (role, org, region) = $crate::common::role_columns(user.role);
                let missing = if region.is_some() {
                    "unknown_region"
                } else {
                    "unknown_organisation"
                };
                let id = ::sqlx::query_scalar::<$db, i64>(
                    "INSERT INTO users (email, password_hash, full_name, role, org_id, region_id, \
                         created_at, verification) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(user.email.as_str())
                .bind(&user.password_hash)
                .bind(user.full_name.as_str())
                .bind(role)
                .bind(org)
                .bind(region)
                .bind($crate::common::ts(::time::OffsetDateTime::now_utc()))
                .bind(user.verification.as_str())
                .fetch_one(self.$write())
                .await
                .map_err(|e| $crate::common::constraint(e, "email_taken", missing))?;
                Ok(::otklik_domain::UserId(id))
            }

            async fn user_by_email(
                &self,
                email: &::otklik_domain::text::Email,
            ) -> $crate::StoreResult<Option<$crate::UserRecord>> {
                ::sqlx::query_as::<$db, $crate::common::UserRow>(concat!(
                    $crate::common::user_select!(),
                    " WHERE email = $1"
                ))
                .bind(email.as_str())
                .fetch_optional(self.$read())
                .await?
                .map($crate::common::UserRow::into_model)
                .transpose()
            }

            async fn user(
                &self,
                id: ::otklik_domain::UserId,
            ) -> $crate::StoreResult<$crate::UserRecord> {
                ::sqlx::query_as::<$db, $crate::common::UserRow>(concat!(
                    $crate::common::user_select!(),
                    " WHERE id = $1"
                ))
                .bind(id.0)
                .fetch_optional(self.$read())
                .await?
                .ok_or($crate::StoreError::NotFound)?
                .into_model()
            }

            async fn has_users(&self) -> $crate::StoreResult<bool> {
                let any = ::sqlx::query_scalar::<$db, i64>("SELECT id FROM users LIMIT 1")
                    .fetch_optional(self.$read())
                    .await?;
                Ok(any.is_some())
            }

            async fn create_session(
                &self,
                token_sha256: &[u8; 32],
                user: ::otklik_domain::UserId,
                expires_at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "INSERT INTO sessions (token_sha256, user_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&token_sha256[..])
                .bind(user.0)
                .bind($crate::common::ts(::time::OffsetDateTime::now_utc()))
                .bind($crate::common::ts(expires_at))
                .execute(self.$write())
                .await
                .map_err(|e| $crate::common::constraint(e, "session_taken", "unknown_user"))?;
                Ok(())
            }

            async fn delete_session(&self, token_sha256: &[u8; 32]) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>("DELETE FROM sessions WHERE token_sha256 = $1")
                    .bind(&token_sha256[..])
                    .execute(self.$write())
                    .await?;
                Ok(())
            }

            async fn server_secret(&self, candidate: &[u8; 32]) -> $crate::StoreResult<Vec<u8>> {
                ::sqlx::query::<$db>(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO NOTHING",
                )
                .bind($crate::common::SERVER_SECRET_KEY)
                .bind(&candidate[..])
                .execute(self.$write())
                .await?;
                // Read through the writer: the row is there for it, whatever the readers see.
                Ok(::sqlx::query_scalar::<$db, Vec<u8>>(
                    "SELECT value FROM settings WHERE key = $1",
                )
                .bind($crate::common::SERVER_SECRET_KEY)
                .fetch_one(self.$write())
                .await?)
            }

            // --- submissions -----------------------------------------------------------

            async fn register_submission(
                &self,
                submission: $crate::NewSubmission,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::Registered> {
                self.register_one(submission, at).await
            }

            async fn apply(
                &self,
                id: ::otklik_domain::SubmissionId,
                actor: ::otklik_domain::lifecycle::Actor,
                action: ::otklik_domain::lifecycle::Action,
                files: Vec<::otklik_domain::attachment::Attachment>,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::EventRecord> {
                let apply = $crate::common::Apply {
                    id,
                    actor,
                    action,
                    files,
                    at: $crate::common::whole_seconds(at)?,
                };
                match &self.applier {
                    Some(applier) => applier.write(apply).await,
                    None => self.apply_alone(&apply).await,
                }
            }

            async fn submission(
                &self,
                id: ::otklik_domain::SubmissionId,
                actor: ::otklik_domain::lifecycle::Actor,
            ) -> $crate::StoreResult<$crate::SubmissionDetail> {
                let mut tx = self.$read().begin_with($begin_read).await?;
                let row = ::sqlx::query_as::<$db, $crate::common::SubmissionRow>(
                    "SELECT s.id, s.kind, s.status, s.author_id, u.full_name AS author_name, \
                            u.email AS author_email, c.name AS category_name, s.subcategory_id, \
                            sc.name AS subcategory_name, s.region_id, r.name AS region_name, \
                            s.org_id, o.name AS org_name, s.round, s.rating, s.text, \
                            s.fields_json, s.created_at, s.deadline_at, s.updated_at, s.route, \
                            s.channel, s.origin, s.paused_at, (SELECT COUNT(*) FROM events x \
                                WHERE x.submission_id = s.id AND x.kind = 'extended') AS extensions, \
                            s.public, s.merged_into \
                     FROM submissions s \
                     JOIN users u ON u.id = s.author_id \
                     JOIN subcategories sc ON sc.id = s.subcategory_id \
                     JOIN categories c ON c.id = sc.category_id \
                     JOIN regions r ON r.id = s.region_id \
                     JOIN organisations o ON o.id = s.org_id \
                     WHERE s.id = $1",
                )
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or($crate::StoreError::NotFound)?;
                if !::otklik_domain::lifecycle::can_view(&row.state()?, &actor) {
                    return Err($crate::StoreError::NotFound);
                }
                let events = ::sqlx::query_as::<$db, $crate::common::EventRow>(concat!(
                    $crate::common::event_select!(),
                    " WHERE e.submission_id = $1 ORDER BY e.id"
                ))
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await?;
                let files = ::sqlx::query_as::<$db, $crate::common::FileMetaRow>(concat!(
                    $crate::common::file_meta_select!(),
                    " WHERE submission_id = $1 ORDER BY id"
                ))
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await?;
                let related = ::sqlx::query_as::<$db, (i64, i64, Option<i64>)>(
                    "SELECT id, created_at, merged_into FROM submissions WHERE merged_into = $1 \
                     UNION ALL \
                     SELECT p.id, p.created_at, p.merged_into FROM submissions p \
                     JOIN submissions d ON d.merged_into = p.id WHERE d.id = $1 \
                     ORDER BY 1",
                )
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                let (events, attachments) = $crate::common::timeline(events, files)?;
                row.into_model(events, attachments, &related)
            }

            async fn list(
                &self,
                scope: $crate::Scope,
                query: &$crate::ListQuery,
            ) -> $crate::StoreResult<$crate::Page<$crate::SubmissionCard>> {
                use $crate::common::Param;
                let (filter, params) = $crate::common::list_filter(scope, query);
                // Without filters beyond the status, the total comes from the counts kept
                // per scope (`list_counts`); otherwise counting stops past COUNT_LIMIT, so a
                // page of a huge inbox costs a page, not a scan of the inbox.
                let count_sql = format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM submissions s{filter} LIMIT {cap}) counted",
                    cap = $crate::COUNT_LIMIT + 1,
                );
                let page_sql = format!(
                    "SELECT s.id, s.kind, s.status, c.name AS category_name, \
                            sc.name AS subcategory_name, s.org_id, o.name AS org_name, \
                            o.utc_offset_minutes AS org_utc_offset_minutes, \
                            SUBSTR(s.text, 1, {chars}) AS excerpt, s.subcategory_id, s.region_id, \
                            s.channel, s.created_at, s.updated_at, s.deadline_at \
                     FROM submissions s \
                     JOIN subcategories sc ON sc.id = s.subcategory_id \
                     JOIN categories c ON c.id = sc.category_id \
                     JOIN organisations o ON o.id = s.org_id{filter} \
                     ORDER BY s.id DESC LIMIT ${limit} OFFSET ${offset}",
                    chars = $crate::common::EXCERPT_CHARS,
                    limit = params.len() + 1,
                    offset = params.len() + 2,
                );
                let limit = i64::from(query.limit.clamp(1, $crate::common::MAX_PAGE));
                let offset = i64::from(query.offset);

                let mut tx = self.$read().begin_with($begin_read).await?;
                let total = match $crate::common::KeptCount::of(scope, query) {
                    // The scope's kept counts (a few rows), in the page's own snapshot.
                    Some(kept) => {
                        let rows = ::sqlx::query_as::<$db, (String, i64)>(
                            "SELECT status, CAST(SUM(n) AS BIGINT) FROM list_counts \
                             WHERE scope = $1 AND scope_id = $2 GROUP BY status",
                        )
                        .bind(kept.scope)
                        .bind(kept.scope_id)
                        .fetch_all(&mut *tx)
                        .await?;
                        (kept.total(&rows), true)
                    }
                    None => {
                        let mut count = ::sqlx::query_scalar::<$db, i64>(&count_sql);
                        for param in &params {
                            count = match param {
                                Param::Int(v) => count.bind(*v),
                                Param::Text(v) => count.bind(*v),
                                Param::Owned(v) => count.bind(v.clone()),
                            };
                        }
                        let counted =
                            u64::try_from(count.fetch_one(&mut *tx).await?).unwrap_or_default();
                        (counted.min($crate::COUNT_LIMIT), counted <= $crate::COUNT_LIMIT)
                    }
                };
                let mut page = ::sqlx::query_as::<$db, $crate::common::CardRow>(&page_sql);
                for param in &params {
                    page = match param {
                        Param::Int(v) => page.bind(*v),
                        Param::Text(v) => page.bind(*v),
                        Param::Owned(v) => page.bind(v.clone()),
                    };
                }
                let rows = page.bind(limit).bind(offset).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                Ok($crate::Page {
                    items: rows
                        .into_iter()
                        .map($crate::common::CardRow::into_model)
                        .collect::<$crate::StoreResult<Vec<_>>>()?,
                    total: total.0,
                    total_exact: total.1,
                })
            }

            async fn compact_counts(&self) -> $crate::StoreResult<u64> {
                let Some(sql) = Self::COMPACT_COUNTS else {
                    return Ok(0);
                };
                let folded = ::sqlx::query_scalar::<$db, i64>(sql)
                    .fetch_one(self.$write())
                    .await?;
                Ok(u64::try_from(folded).unwrap_or_default())
            }

            async fn list_chunk(
                &self,
                scope: $crate::Scope,
                query: &$crate::ListQuery,
                before: Option<::otklik_domain::SubmissionId>,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::SubmissionCard>> {
                use $crate::common::Param;
                let (mut filter, mut params) = $crate::common::list_filter(scope, query);
                if let Some(before) = before {
                    params.push(Param::Int(before.0));
                    let keyword = if filter.is_empty() { " WHERE" } else { " AND" };
                    filter.push_str(&format!("{keyword} s.id < ${}", params.len()));
                }
                let sql = format!(
                    "SELECT s.id, s.kind, s.status, c.name AS category_name, \
                            sc.name AS subcategory_name, s.org_id, o.name AS org_name, \
                            o.utc_offset_minutes AS org_utc_offset_minutes, \
                            '' AS excerpt, s.subcategory_id, s.region_id, \
                            s.channel, s.created_at, s.updated_at, s.deadline_at \
                     FROM submissions s \
                     JOIN subcategories sc ON sc.id = s.subcategory_id \
                     JOIN categories c ON c.id = sc.category_id \
                     JOIN organisations o ON o.id = s.org_id{filter} \
                     ORDER BY s.id DESC LIMIT ${limit}",
                    limit = params.len() + 1,
                );
                let mut chunk = ::sqlx::query_as::<$db, $crate::common::CardRow>(&sql);
                for param in &params {
                    chunk = match param {
                        Param::Int(v) => chunk.bind(*v),
                        Param::Text(v) => chunk.bind(*v),
                        Param::Owned(v) => chunk.bind(v.clone()),
                    };
                }
                chunk
                    .bind(i64::from(limit.clamp(1, 10_000)))
                    .fetch_all(self.$read())
                    .await?
                    .into_iter()
                    .map($crate::common::CardRow::into_model)
                    .collect()
            }

            async fn file(
                &self,
                id: ::otklik_domain::FileId,
                actor: ::otklik_domain::lifecycle::Actor,
            ) -> $crate::StoreResult<$crate::StoredFile> {
                let row = ::sqlx::query_as::<$db, $crate::common::FileRow>(
                    "SELECT f.id, f.submission_id, f.event_id, f.name, f.mime, f.size, f.sha256, \
                            f.content, s.kind, s.status, s.author_id, s.org_id, s.region_id, \
                            s.round, s.rating \
                     FROM files f JOIN submissions s ON s.id = f.submission_id \
                     WHERE f.id = $1",
                )
                .bind(id.0)
                .fetch_optional(self.$read())
                .await?
                .ok_or($crate::StoreError::NotFound)?;
                if !::otklik_domain::lifecycle::can_view(&row.state()?, &actor) {
                    return Err($crate::StoreError::NotFound);
                }
                Ok(row.into_model())
            }

            async fn record_personal_data_access(
                &self,
                staff: ::otklik_domain::UserId,
                submission: ::otklik_domain::SubmissionId,
                purpose: &str,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "INSERT INTO personal_data_access (staff_id, submission_id, purpose, at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(staff.0)
                .bind(submission.0)
                .bind(purpose)
                .bind($crate::common::ts(at))
                .execute(self.$write())
                .await
                .map_err(|e| $crate::common::constraint(e, "access_taken", "unknown_reference"))?;
                Ok(())
            }

            async fn personal_data_accesses(
                &self,
                submission: ::otklik_domain::SubmissionId,
            ) -> $crate::StoreResult<Vec<$crate::PersonalDataAccess>> {
                ::sqlx::query_as::<$db, $crate::common::AccessRow>(
                    "SELECT p.staff_id, u.full_name AS staff_name, p.submission_id, p.purpose, p.at \
                     FROM personal_data_access p JOIN users u ON u.id = p.staff_id \
                     WHERE p.submission_id = $1 ORDER BY p.at, p.id",
                )
                .bind(submission.0)
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map($crate::common::AccessRow::into_model)
                .collect()
            }
        }
    };
}

pub(crate) use impl_store;
