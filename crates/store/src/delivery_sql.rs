//! The `Deliveries` trait for both backends, written once like `common::impl_store!`,
//! and the outbox writes that `register_submission` and `apply` make in their own
//! transactions (`enqueue_deliveries`).
//!
//! The envelope (version 1) is built here, from the rows as they stand inside the
//! routing's transaction, and stored: what is sent, retried and signed is exactly what
//! was true when the submission was routed. Its format is in `docs/INTEGRATIONS.md`.

use crate::common::from_ts;
use crate::model::*;
use crate::StoreResult;
use otklik_domain::delivery::DeliveryMode;
use otklik_domain::*;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub(crate) const ENVELOPE_VERSION: u32 = 1;
pub(crate) const ROUTED: &str = "submission.routed";
pub(crate) const UPDATED: &str = "submission.updated";
pub(crate) const WITHDRAWN: &str = "submission.withdrawn";
/// What a pull that was never acknowledged records as its error.
pub(crate) const NOT_ACKNOWLEDGED: &str = "not acknowledged within the visibility timeout";

pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// The submission as the envelope describes it.
#[derive(sqlx::FromRow)]
pub(crate) struct EnvelopeRow {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub text: String,
    pub fields_json: String,
    pub created_at: i64,
    pub deadline_at: i64,
    pub channel: String,
    pub subcategory_id: i64,
    pub subcategory_name: String,
    pub category_name: String,
    pub region_code: String,
    pub region_name: String,
    pub municipality_id: Option<i64>,
    pub municipality_name: Option<String>,
    pub org_id: i64,
    pub org_name: String,
    pub author_name: String,
    pub author_email: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct EnvelopeFile {
    pub id: i64,
    pub name: String,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct TriggerRow {
    pub kind: String,
    pub at: i64,
    pub reason: Option<String>,
    pub body: Option<String>,
}

/// The JSON envelope of one delivery.
pub(crate) fn envelope(
    key: &str,
    event: &str,
    org: i64,
    row: &EnvelopeRow,
    files: &[EnvelopeFile],
    trigger: &TriggerRow,
) -> StoreResult<String> {
    let created_at = from_ts(row.created_at)?;
    let number = RegistrationNumber::new(SubmissionId(row.id), created_at).to_string();
    let submission = if event == WITHDRAWN {
        // It left this organisation: say so, and nothing more about it.
        json!({
            "id": row.id,
            "number": number,
            "status": row.status,
        })
    } else {
        let fields: serde_json::Value =
            serde_json::from_str(&row.fields_json).unwrap_or_else(|_| json!({}));
        json!({
            "id": row.id,
            "number": number,
            "kind": row.kind,
            "status": row.status,
            "channel": row.channel,
            "category": row.category_name,
            "subcategory_id": row.subcategory_id,
            "subcategory": row.subcategory_name,
            "region": { "code": row.region_code, "name": row.region_name },
            "municipality": row.municipality_id.map(|id| json!({
                "id": id,
                "name": row.municipality_name,
            })),
            "organisation": { "id": row.org_id, "name": row.org_name },
            "text": row.text,
            "fields": fields,
            "created_at": rfc3339(created_at),
            "deadline_at": rfc3339(from_ts(row.deadline_at)?),
            "author": { "name": row.author_name, "email": row.author_email },
            "attachments": files.iter().map(|f| json!({
                "id": f.id,
                "name": f.name,
                "mime": f.mime,
                "size": f.size,
                "sha256": f.sha256,
                "href": format!("/api/v1/files/{}", f.id),
            })).collect::<Vec<_>>(),
        })
    };
    let value = json!({
        "version": ENVELOPE_VERSION,
        "delivery_id": key,
        "event": event,
        "organisation_id": org,
        "occurred_at": rfc3339(from_ts(trigger.at)?),
        "trigger": {
            "kind": trigger.kind,
            "text": if event == WITHDRAWN { None } else { trigger.body.clone().or_else(|| trigger.reason.clone()) },
        },
        "submission": submission,
    });
    Ok(value.to_string())
}

#[derive(sqlx::FromRow)]
pub(crate) struct IntegrationRow {
    org_id: i64,
    mode: String,
    push_url: Option<String>,
    push_secret: Option<String>,
    visibility_timeout_seconds: i64,
    alert_after_failures: i64,
    updated_at: i64,
}

fn mode_of(raw: &str) -> StoreResult<DeliveryMode> {
    DeliveryMode::parse(raw).map_err(|_| crate::common::corrupt("org_integrations.mode"))
}

fn u32_of(v: i64, what: &'static str) -> StoreResult<u32> {
    u32::try_from(v).map_err(|_| crate::common::corrupt(what))
}

impl IntegrationRow {
    pub fn into_model(self) -> StoreResult<IntegrationRecord> {
        Ok(IntegrationRecord {
            org: OrgId(self.org_id),
            mode: mode_of(&self.mode)?,
            push_url: self.push_url,
            push_secret: self.push_secret,
            visibility_timeout_seconds: u64::try_from(self.visibility_timeout_seconds)
                .map_err(|_| crate::common::corrupt("org_integrations.visibility_timeout"))?,
            alert_after_failures: u32_of(self.alert_after_failures, "org_integrations.alert")?,
            updated_at: from_ts(self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    id: i64,
    idempotency_key: String,
    org_id: i64,
    submission_id: i64,
    event: String,
    created_at: i64,
    attempts: i64,
    next_attempt_at: i64,
    failing_since: Option<i64>,
    last_error: Option<String>,
    alerted_at: Option<i64>,
    delivered_at: Option<i64>,
}

macro_rules! delivery_columns {
    () => {
        "d.id, d.idempotency_key, d.org_id, d.submission_id, d.event, d.created_at, \
         d.attempts, d.next_attempt_at, d.failing_since, d.last_error, d.alerted_at, \
         d.delivered_at"
    };
}
pub(crate) use delivery_columns;

impl DeliveryRow {
    pub fn into_model(self) -> StoreResult<DeliveryRecord> {
        Ok(DeliveryRecord {
            id: DeliveryId(self.id),
            key: self.idempotency_key,
            org: OrgId(self.org_id),
            submission: SubmissionId(self.submission_id),
            event: self.event,
            created_at: from_ts(self.created_at)?,
            attempts: u32_of(self.attempts, "deliveries.attempts")?,
            next_attempt_at: from_ts(self.next_attempt_at)?,
            failing_since: self.failing_since.map(from_ts).transpose()?,
            last_error: self.last_error,
            alerted_at: self.alerted_at.map(from_ts).transpose()?,
            delivered_at: self.delivered_at.map(from_ts).transpose()?,
        })
    }
}

/// Logs the "delivery failing" alerts a transaction raised, after its commit (so that
/// the log never tells of an alert that was rolled back).
pub(crate) fn log_alerts(alerts: &[crate::admin_sql::RegisterRow]) {
    for alert in alerts {
        tracing::warn!(org = alert.org, "delivery failing: operator alerted");
    }
}

/// A due message with what it takes to send it.
#[derive(sqlx::FromRow)]
pub(crate) struct OutgoingRow {
    pub id: i64,
    idempotency_key: String,
    org_id: i64,
    event: String,
    payload: String,
    pub attempts: i64,
    push_url: Option<String>,
    push_secret: Option<String>,
    /// Pull only (read in the same query, so settings removed meanwhile cannot fail it).
    #[sqlx(default)]
    pub visibility_timeout_seconds: Option<i64>,
}

impl OutgoingRow {
    /// The row after this attempt was counted.
    pub fn into_model(self) -> StoreResult<OutgoingDelivery> {
        Ok(OutgoingDelivery {
            id: DeliveryId(self.id),
            key: self.idempotency_key,
            org: OrgId(self.org_id),
            event: self.event,
            payload: self.payload,
            attempts: u32_of(self.attempts + 1, "deliveries.attempts")?,
            push: self.push_url.zip(self.push_secret),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SummaryRow {
    pending: i64,
    failing: i64,
    delivered: i64,
    oldest: Option<i64>,
}

impl SummaryRow {
    pub fn into_model(self) -> StoreResult<DeliverySummary> {
        let count = |v: i64| u64::try_from(v).unwrap_or_default();
        Ok(DeliverySummary {
            pending: count(self.pending),
            failing: count(self.failing),
            delivered: count(self.delivered),
            oldest_undelivered_at: self.oldest.map(from_ts).transpose()?,
        })
    }
}

macro_rules! summary_select {
    () => {
        "SELECT COALESCE(SUM(CASE WHEN delivered_at IS NULL AND failing_since IS NULL \
                             THEN 1 ELSE 0 END), 0) AS pending, \
                COALESCE(SUM(CASE WHEN delivered_at IS NULL AND failing_since IS NOT NULL \
                             THEN 1 ELSE 0 END), 0) AS failing, \
                COALESCE(SUM(CASE WHEN delivered_at IS NOT NULL THEN 1 ELSE 0 END), 0) \
                    AS delivered, \
                MIN(CASE WHEN delivered_at IS NULL THEN created_at END) AS oldest \
         FROM deliveries"
    };
}
pub(crate) use summary_select;

macro_rules! impl_deliveries {
    (
        store: $store:ty,
        db: $db:ty,
        write: $write:ident,
        read: $read:ident,
        begin_write: $begin_write:literal,
        lock_row: $lock_row:literal,
        skip_locked: $skip_locked:literal $(,)?
    ) => {
        impl $store {
            /// Writes the outbox rows a routing event calls for, inside its transaction:
            /// `routed` to the organisation now holding the submission; when it moved,
            /// `withdrawn` to the one that held it; otherwise `updated` when someone
            /// outside the holding organisation acted (the citizen, the coordinator).
            /// Organisations without delivery settings get nothing.
            pub(crate) async fn enqueue_deliveries(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                submission: i64,
                event_id: i64,
                org_before: Option<i64>,
                org_after: i64,
                acted_by_holder: bool,
                at: i64,
            ) -> $crate::StoreResult<()> {
                use $crate::delivery_sql::{ROUTED, UPDATED, WITHDRAWN};
                let mut wanted: Vec<(i64, &str)> = Vec::new();
                match org_before {
                    Some(before) if before != org_after => {
                        wanted.push((org_after, ROUTED));
                        wanted.push((before, WITHDRAWN));
                    }
                    Some(_) if acted_by_holder => {}
                    Some(_) => wanted.push((org_after, UPDATED)),
                    None => wanted.push((org_after, ROUTED)),
                }
                for (org, event) in wanted {
                    let integrated = ::sqlx::query_scalar::<$db, i64>(
                        "SELECT COUNT(*) FROM org_integrations WHERE org_id = $1",
                    )
                    .bind(org)
                    .fetch_one(&mut *conn)
                    .await?;
                    if integrated == 0 {
                        continue;
                    }
                    let row = ::sqlx::query_as::<$db, $crate::delivery_sql::EnvelopeRow>(
                        "SELECT s.id, s.kind, s.status, s.text, s.fields_json, s.created_at, \
                                s.deadline_at, s.channel, s.subcategory_id, \
                                sc.name AS subcategory_name, c.name AS category_name, \
                                r.code AS region_code, r.name AS region_name, \
                                s.municipality_id, m.name AS municipality_name, s.org_id, \
                                o.name AS org_name, u.full_name AS author_name, \
                                u.email AS author_email \
                         FROM submissions s \
                         JOIN subcategories sc ON sc.id = s.subcategory_id \
                         JOIN categories c ON c.id = sc.category_id \
                         JOIN regions r ON r.id = s.region_id \
                         LEFT JOIN municipalities m ON m.id = s.municipality_id \
                         JOIN organisations o ON o.id = s.org_id \
                         JOIN users u ON u.id = s.author_id \
                         WHERE s.id = $1",
                    )
                    .bind(submission)
                    .fetch_one(&mut *conn)
                    .await?;
                    let files = ::sqlx::query_as::<$db, $crate::delivery_sql::EnvelopeFile>(
                        "SELECT id, name, mime, size, sha256 FROM files \
                         WHERE submission_id = $1 ORDER BY id",
                    )
                    .bind(submission)
                    .fetch_all(&mut *conn)
                    .await?;
                    let trigger = ::sqlx::query_as::<$db, $crate::delivery_sql::TriggerRow>(
                        "SELECT kind, at, reason, body FROM events WHERE id = $1",
                    )
                    .bind(event_id)
                    .fetch_one(&mut *conn)
                    .await?;
                    let key = format!("otklik-{submission}-{event_id}-{org}");
                    let payload =
                        $crate::delivery_sql::envelope(&key, event, org, &row, &files, &trigger)?;
                    ::sqlx::query::<$db>(
                        "INSERT INTO deliveries (idempotency_key, org_id, submission_id, \
                             event_id, event, payload, created_at, next_attempt_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                    )
                    .bind(&key)
                    .bind(org)
                    .bind(submission)
                    .bind(event_id)
                    .bind(event)
                    .bind(&payload)
                    .bind(at)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            }

            /// Counts a failed attempt of a delivery already leased; when the organisation's
            /// threshold is reached, marks it alerted and returns the alert for the caller to
            /// raise (`raise_all`, after the transaction's other rows) and, once committed,
            /// to log (`log_alerts`).
            async fn record_failure(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                id: i64,
                error: &str,
                next_attempt_at: i64,
                count_attempt: bool,
                at: i64,
            ) -> $crate::StoreResult<Option<$crate::admin_sql::RegisterRow>> {
                // The threshold is NULL when the settings were removed meanwhile: no alert.
                let row = ::sqlx::query_as::<$db, (i64, i64, i64, Option<i64>, i64, Option<i64>)>(
                    "UPDATE deliveries SET attempts = attempts + $2, last_error = $3, \
                         failing_since = COALESCE(failing_since, $4), next_attempt_at = $5 \
                     WHERE id = $1 AND delivered_at IS NULL \
                     RETURNING attempts, org_id, submission_id, alerted_at, created_at, \
                         (SELECT alert_after_failures FROM org_integrations i \
                          WHERE i.org_id = deliveries.org_id)",
                )
                .bind(id)
                .bind(i64::from(count_attempt))
                .bind(error)
                .bind(at)
                .bind(next_attempt_at)
                .fetch_optional(&mut *conn)
                .await?;
                let Some((attempts, org, submission, alerted, created, threshold)) = row else {
                    return Ok(None);
                };
                if alerted.is_none() && threshold.is_some_and(|t| attempts >= t) {
                    ::sqlx::query::<$db>("UPDATE deliveries SET alerted_at = $2 WHERE id = $1")
                        .bind(id)
                        .bind(at)
                        .execute(&mut *conn)
                        .await?;
                    let region = ::sqlx::query_scalar::<$db, i64>(
                        "SELECT region_id FROM submissions WHERE id = $1",
                    )
                    .bind(submission)
                    .fetch_one(&mut *conn)
                    .await?;
                    return Ok(Some($crate::admin_sql::RegisterRow {
                        kind: ::otklik_domain::lifecycle::IncidentKind::DeliveryFailing,
                        subject: $crate::admin_sql::RegisterSubject::Submission(submission),
                        org: Some(org),
                        region: Some(region),
                        due_at: Some(created),
                        at,
                    }));
                }
                Ok(None)
            }
        }

        #[::async_trait::async_trait]
        impl $crate::Deliveries for $store {
            async fn integration(
                &self,
                org: ::otklik_domain::OrgId,
            ) -> $crate::StoreResult<Option<$crate::IntegrationRecord>> {
                ::sqlx::query_as::<$db, $crate::delivery_sql::IntegrationRow>(
                    "SELECT org_id, mode, push_url, push_secret, visibility_timeout_seconds, \
                            alert_after_failures, updated_at \
                     FROM org_integrations WHERE org_id = $1",
                )
                .bind(org.0)
                .fetch_optional(self.$read())
                .await?
                .map($crate::delivery_sql::IntegrationRow::into_model)
                .transpose()
            }

            async fn put_integration(
                &self,
                org: ::otklik_domain::OrgId,
                settings: &::otklik_domain::delivery::DeliverySettings,
                by: Option<::otklik_domain::UserId>,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let at = $crate::common::ts(now);
                let (url, secret) = match &settings.push {
                    Some((url, secret)) => (Some(url.as_str().to_owned()), Some(secret.clone())),
                    None => (None, None),
                };
                let described = format!(
                    "{} {} timeout={}s alert_after={}",
                    settings.mode.as_str(),
                    url.as_deref().unwrap_or("-"),
                    settings.visibility_timeout.as_secs(),
                    settings.alert_after_failures
                );
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    let before = ::sqlx::query_as::<$db, (String, Option<String>, i64, i64)>(
                        "SELECT mode, push_url, visibility_timeout_seconds, alert_after_failures \
                         FROM org_integrations WHERE org_id = $1",
                    )
                    .bind(org.0)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|(mode, url, timeout, alert)| {
                        format!("{mode} {} timeout={timeout}s alert_after={alert}", url.as_deref().unwrap_or("-"))
                    });
                    ::sqlx::query::<$db>(
                        "INSERT INTO org_integrations (org_id, mode, push_url, push_secret, \
                             visibility_timeout_seconds, alert_after_failures, updated_by, \
                             updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         ON CONFLICT (org_id) DO UPDATE SET mode = excluded.mode, \
                             push_url = excluded.push_url, push_secret = excluded.push_secret, \
                             visibility_timeout_seconds = excluded.visibility_timeout_seconds, \
                             alert_after_failures = excluded.alert_after_failures, \
                             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                    )
                    .bind(org.0)
                    .bind(settings.mode.as_str())
                    .bind(url)
                    .bind(secret)
                    .bind(i64::try_from(settings.visibility_timeout.as_secs()).unwrap_or(i64::MAX))
                    .bind(i64::from(settings.alert_after_failures))
                    .bind(by.map(|u| u.0))
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| $crate::common::constraint(e, "integration_exists", "unknown_organisation"))?;
                    Self::record_change(
                        &mut *tx,
                        by,
                        now,
                        "integration",
                        &org.0.to_string(),
                        before,
                        Some(described),
                    )
                    .await
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn remove_integration(
                &self,
                org: ::otklik_domain::OrgId,
                by: Option<::otklik_domain::UserId>,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    let removed = ::sqlx::query_scalar::<$db, String>(
                        "DELETE FROM org_integrations WHERE org_id = $1 RETURNING mode",
                    )
                    .bind(org.0)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                    Self::record_change(
                        &mut *tx,
                        by,
                        now,
                        "integration",
                        &org.0.to_string(),
                        Some(removed),
                        None,
                    )
                    .await
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn claim_pushes(
                &self,
                now: ::time::OffsetDateTime,
                lease: ::std::time::Duration,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::OutgoingDelivery>> {
                let at = $crate::common::ts(now);
                let until = $crate::common::ts(now + lease);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<Vec<$crate::OutgoingDelivery>> = async {
                    let rows = ::sqlx::query_as::<$db, $crate::delivery_sql::OutgoingRow>(concat!(
                        "SELECT d.id, d.idempotency_key, d.org_id, d.event, d.payload, \
                                d.attempts, i.push_url, i.push_secret \
                         FROM deliveries d JOIN org_integrations i ON i.org_id = d.org_id \
                         WHERE d.delivered_at IS NULL AND d.next_attempt_at <= $1 \
                           AND i.mode = 'push' \
                         ORDER BY d.next_attempt_at, d.id LIMIT $2",
                        $skip_locked
                    ))
                    .bind(at)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                    for row in &rows {
                        ::sqlx::query::<$db>(
                            "UPDATE deliveries SET next_attempt_at = $2 WHERE id = $1",
                        )
                        .bind(row.id)
                        .bind(until)
                        .execute(&mut *tx)
                        .await?;
                    }
                    rows.into_iter()
                        .map($crate::delivery_sql::OutgoingRow::into_model)
                        .collect()
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn finish_pushes(
                &self,
                outcomes: &[($crate::DeliveryId, $crate::PushOutcome)],
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let at = $crate::common::ts(now);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<Vec<$crate::admin_sql::RegisterRow>> = async {
                    let mut breakers = Vec::new();
                    let mut alerts = Vec::new();
                    for (id, outcome) in outcomes {
                        match outcome {
                            $crate::PushOutcome::Delivered => {
                                ::sqlx::query::<$db>(
                                    "UPDATE deliveries SET attempts = attempts + 1, \
                                         delivered_at = $2, last_error = NULL \
                                     WHERE id = $1 AND delivered_at IS NULL",
                                )
                                .bind(id.0)
                                .bind(at)
                                .execute(&mut *tx)
                                .await?;
                            }
                            $crate::PushOutcome::Failed { error, retry_at } => {
                                let error: String = error.chars().take(300).collect();
                                let retry_at = $crate::common::ts(*retry_at);
                                alerts.extend(
                                    Self::record_failure(&mut *tx, id.0, &error, retry_at, true, at)
                                        .await?,
                                );
                                breakers.push((id.0, retry_at));
                            }
                        }
                    }
                    // A circuit breaker: the organisation's other waiting messages wait
                    // with it, so one endpoint that is down does not fill every pass with
                    // its timeouts. It runs after this batch's own rows and skips rows
                    // another transaction holds (another node claiming or finishing
                    // them), so it never waits: two nodes' breakers locking each other's
                    // rows deadlocked, and the aborted batch's accepted pushes were sent
                    // again when their lease ended.
                    for (id, retry_at) in breakers {
                        ::sqlx::query::<$db>(concat!(
                            "UPDATE deliveries SET next_attempt_at = $2 \
                             WHERE id IN (SELECT d.id FROM deliveries d \
                                 WHERE d.org_id = (SELECT org_id FROM deliveries WHERE id = $1) \
                                   AND d.delivered_at IS NULL AND d.id <> $1 \
                                   AND d.next_attempt_at < $2",
                            $skip_locked,
                            ") AND next_attempt_at < $2"
                        ))
                        .bind(id)
                        .bind(retry_at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    // The alerts last: their leaves take the log's lock, after which this
                    // transaction waits for no other row.
                    Self::raise_all(&mut *tx, &alerts).await?;
                    Ok(alerts)
                }
                .await;
                let alerts = $crate::common::finish(tx, result).await?;
                $crate::delivery_sql::log_alerts(&alerts);
                Ok(())
            }

            async fn pull_delivery(
                &self,
                org: ::otklik_domain::OrgId,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<Option<$crate::OutgoingDelivery>> {
                let at = $crate::common::ts(now);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<(
                    Option<$crate::OutgoingDelivery>,
                    Option<$crate::admin_sql::RegisterRow>,
                )> = async {
                    let row = ::sqlx::query_as::<$db, $crate::delivery_sql::OutgoingRow>(concat!(
                        "SELECT d.id, d.idempotency_key, d.org_id, d.event, d.payload, \
                                d.attempts, NULL AS push_url, NULL AS push_secret, \
                                i.visibility_timeout_seconds \
                         FROM deliveries d JOIN org_integrations i ON i.org_id = d.org_id \
                         WHERE d.org_id = $1 AND d.delivered_at IS NULL \
                           AND d.next_attempt_at <= $2 AND i.mode = 'pull' \
                         ORDER BY d.id LIMIT 1",
                        $skip_locked
                    ))
                    .bind(org.0)
                    .bind(at)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(row) = row else {
                        return Ok((None, None));
                    };
                    let visible_again = at.saturating_add(row.visibility_timeout_seconds.unwrap_or(0));
                    let mut raised = None;
                    if row.attempts > 0 {
                        // Taken before and never acknowledged: that copy failed.
                        let alert = Self::record_failure(
                            &mut *tx,
                            row.id,
                            $crate::delivery_sql::NOT_ACKNOWLEDGED,
                            visible_again,
                            true,
                            at,
                        )
                        .await?;
                        Self::raise_all(&mut *tx, alert.as_slice()).await?;
                        raised = alert;
                    } else {
                        ::sqlx::query::<$db>(
                            "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $2 \
                             WHERE id = $1",
                        )
                        .bind(row.id)
                        .bind(visible_again)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Ok((Some(row.into_model()?), raised))
                }
                .await;
                let (delivery, raised) = $crate::common::finish(tx, result).await?;
                $crate::delivery_sql::log_alerts(raised.as_slice());
                Ok(delivery)
            }

            async fn ack_delivery(
                &self,
                org: ::otklik_domain::OrgId,
                id: $crate::DeliveryId,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let found = ::sqlx::query_scalar::<$db, i64>(
                    "UPDATE deliveries SET delivered_at = COALESCE(delivered_at, $3) \
                     WHERE id = $1 AND org_id = $2 AND attempts > 0 RETURNING id",
                )
                .bind(id.0)
                .bind(org.0)
                .bind($crate::common::ts(now))
                .fetch_optional(self.$write())
                .await?;
                found.map(|_| ()).ok_or($crate::StoreError::NotFound)
            }

            async fn deliveries(
                &self,
                org: ::otklik_domain::OrgId,
                state: Option<$crate::DeliveryState>,
                limit: u32,
                offset: u32,
            ) -> $crate::StoreResult<Vec<$crate::DeliveryRecord>> {
                let condition = match state {
                    None => "",
                    Some($crate::DeliveryState::Pending) => {
                        " AND d.delivered_at IS NULL AND d.failing_since IS NULL"
                    }
                    Some($crate::DeliveryState::Failing) => {
                        " AND d.delivered_at IS NULL AND d.failing_since IS NOT NULL"
                    }
                    Some($crate::DeliveryState::Delivered) => " AND d.delivered_at IS NOT NULL",
                };
                let sql = format!(
                    "SELECT {} FROM deliveries d WHERE d.org_id = $1{condition} \
                     ORDER BY d.id DESC LIMIT $2 OFFSET $3",
                    $crate::delivery_sql::delivery_columns!()
                );
                ::sqlx::query_as::<$db, $crate::delivery_sql::DeliveryRow>(&sql)
                    .bind(org.0)
                    .bind(i64::from(limit.clamp(1, 200)))
                    .bind(i64::from(offset))
                    .fetch_all(self.$read())
                    .await?
                    .into_iter()
                    .map($crate::delivery_sql::DeliveryRow::into_model)
                    .collect()
            }

            async fn delivery_summary(
                &self,
                org: ::otklik_domain::OrgId,
            ) -> $crate::StoreResult<$crate::DeliverySummary> {
                ::sqlx::query_as::<$db, $crate::delivery_sql::SummaryRow>(concat!(
                    $crate::delivery_sql::summary_select!(),
                    " WHERE org_id = $1"
                ))
                .bind(org.0)
                .fetch_one(self.$read())
                .await?
                .into_model()
            }

            async fn integration_overview(
                &self,
            ) -> $crate::StoreResult<Vec<$crate::IntegrationOverview>> {
                let orgs = ::sqlx::query_as::<$db, (i64, String, String)>(
                    "SELECT i.org_id, o.name, i.mode FROM org_integrations i \
                     JOIN organisations o ON o.id = i.org_id ORDER BY o.name, o.id",
                )
                .fetch_all(self.$read())
                .await?;
                let mut overview = Vec::with_capacity(orgs.len());
                for (org, org_name, mode) in orgs {
                    overview.push($crate::IntegrationOverview {
                        org: ::otklik_domain::OrgId(org),
                        org_name,
                        mode: ::otklik_domain::delivery::DeliveryMode::parse(&mode)
                            .map_err(|_| $crate::common::corrupt("org_integrations.mode"))?,
                        summary: $crate::Deliveries::delivery_summary(self, ::otklik_domain::OrgId(org)).await?,
                    });
                }
                Ok(overview)
            }
        }

        #[::async_trait::async_trait]
        impl $crate::Idempotency for $store {
            async fn begin_idempotent(
                &self,
                principal: ::otklik_domain::UserId,
                key: &str,
                request_sha256: &[u8; 32],
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::IdempotencyBegin> {
                let at = $crate::common::ts(now);
                let expired = $crate::common::ts(now - $crate::IDEMPOTENCY_TTL);
                let stale = $crate::common::ts(now - $crate::IDEMPOTENCY_STALE);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<$crate::IdempotencyBegin> = async {
                    // Everyone's expired keys (by the age index), not only this caller's.
                    ::sqlx::query::<$db>("DELETE FROM idempotency_keys WHERE created_at < $1")
                    .bind(expired)
                    .execute(&mut *tx)
                    .await?;
                    let existing = ::sqlx::query_as::<$db, (Vec<u8>, Option<i64>, Option<String>, Option<String>, Option<Vec<u8>>, i64)>(concat!(
                        "SELECT request_sha256, status, content_type, location, body, created_at \
                         FROM idempotency_keys WHERE principal_id = $1 AND key = $2",
                        $lock_row
                    ))
                    .bind(principal.0)
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
                    match existing {
                        Some((digest, _, _, _, _, _)) if digest.as_slice() != request_sha256.as_slice() => {
                            Ok($crate::IdempotencyBegin::Mismatch)
                        }
                        Some((_, Some(status), content_type, location, body, _)) => {
                            Ok($crate::IdempotencyBegin::Replay($crate::StoredResponse {
                                status: u16::try_from(status)
                                    .map_err(|_| $crate::common::corrupt("idempotency_keys.status"))?,
                                content_type,
                                location,
                                body: body.unwrap_or_default(),
                            }))
                        }
                        Some((_, None, _, _, _, created)) if created >= stale => {
                            Ok($crate::IdempotencyBegin::InProgress)
                        }
                        Some(_) => {
                            ::sqlx::query::<$db>(
                                "UPDATE idempotency_keys SET created_at = $3 \
                                 WHERE principal_id = $1 AND key = $2",
                            )
                            .bind(principal.0)
                            .bind(key)
                            .bind(at)
                            .execute(&mut *tx)
                            .await?;
                            Ok($crate::IdempotencyBegin::Fresh)
                        }
                        None => {
                            ::sqlx::query::<$db>(
                                "INSERT INTO idempotency_keys (principal_id, key, request_sha256, \
                                     created_at) VALUES ($1, $2, $3, $4)",
                            )
                            .bind(principal.0)
                            .bind(key)
                            .bind(request_sha256.as_slice())
                            .bind(at)
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| $crate::common::constraint(e, "idempotency_key_in_progress", "unknown_user"))?;
                            Ok($crate::IdempotencyBegin::Fresh)
                        }
                    }
                }
                .await;
                match $crate::common::finish(tx, result).await {
                    // Two first calls at once: the loser sees the winner's claim.
                    Err($crate::StoreError::Conflict("idempotency_key_in_progress")) => {
                        Ok($crate::IdempotencyBegin::InProgress)
                    }
                    other => other,
                }
            }

            async fn finish_idempotent(
                &self,
                principal: ::otklik_domain::UserId,
                key: &str,
                response: &$crate::StoredResponse,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5, \
                         location = $6 \
                     WHERE principal_id = $1 AND key = $2",
                )
                .bind(principal.0)
                .bind(key)
                .bind(i64::from(response.status))
                .bind(response.content_type.as_deref())
                .bind(response.body.as_slice())
                .bind(response.location.as_deref())
                .execute(self.$write())
                .await?;
                Ok(())
            }

            async fn abandon_idempotent(
                &self,
                principal: ::otklik_domain::UserId,
                key: &str,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "DELETE FROM idempotency_keys \
                     WHERE principal_id = $1 AND key = $2 AND status IS NULL",
                )
                .bind(principal.0)
                .bind(key)
                .execute(self.$write())
                .await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_deliveries;
