//! The `Notifications` trait for both backends, written once like `common::impl_store!`,
//! and the writes that `register_submission`, `apply` and `monitor` make in their own
//! transactions (`enqueue_notifications`, `notify_staff`).
//!
//! A cause (an event, a deadline warning, a breach) notifies a person once per kind:
//! `notifications` is unique by (source, kind, user). Each notification gets one outbox
//! row per channel the person wants — the key a send is deduplicated by — so a crash or
//! an outage delays messages but never loses or multiplies them in the store.

use crate::common::{corrupt, from_ts};
use crate::model::*;
use crate::StoreResult;
use otklik_domain::access::Verification;
use otklik_domain::notify::{
    Audience, CampaignStatus, Channel, Delivery, NotificationKind, PhoneNumber, SendRate,
};
use otklik_domain::*;

/// Accounts made from a provider's identity without an e-mail have an address in this
/// reserved domain (RFC 2606): nothing is ever sent there.
pub(crate) const UNDELIVERABLE_SUFFIX: &str = "%.invalid";

/// People whose digests one claim takes at most.
pub(crate) const DIGESTS_PER_PASS: i64 = 16;

/// The values a submission's notification templates use. No personal data: no names,
/// no texts, only what the citizen's own list shows.
#[derive(sqlx::FromRow)]
pub(crate) struct VarsRow {
    pub id: i64,
    pub created_at: i64,
    pub deadline_at: i64,
    pub status: String,
    pub kind: String,
    pub subcategory: String,
    pub organisation: String,
    pub utc_offset_minutes: i64,
}

impl VarsRow {
    pub(crate) fn to_json(&self) -> StoreResult<String> {
        let created = from_ts(self.created_at)?;
        let zone = crate::common::zone(self.utc_offset_minutes).ok_or_else(|| corrupt("zone"))?;
        let deadline = from_ts(self.deadline_at)?.to_offset(zone).date();
        let number = RegistrationNumber::new(SubmissionId(self.id), created).to_string();
        Ok(serde_json::json!({
            "submission_id": self.id,
            "number": number,
            "kind": self.kind,
            "status": self.status,
            "subcategory": self.subcategory,
            "organisation": self.organisation,
            "deadline": format!(
                "{:02}.{:02}.{}",
                deadline.day(),
                deadline.month() as u8,
                deadline.year()
            ),
        })
        .to_string())
    }
}

/// Which notifications `queue_outbox` writes outbox rows for (with their kind).
#[derive(Clone, Copy)]
pub(crate) enum OutboxOf<'a> {
    /// Those of one cause (`event:42`, …).
    Source(&'a str),
    /// Those of several causes.
    Sources(&'a [String]),
}

/// Template values with the page a notification links to (`path`), for notifications
/// that name no submission the reader may open.
pub(crate) fn with_path(vars: &str, path: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(vars) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.insert("path".into(), path.into());
            serde_json::Value::Object(map).to_string()
        }
        _ => vars.to_owned(),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct NotificationRow {
    pub id: i64,
    pub kind: String,
    pub submission_id: Option<i64>,
    pub vars: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

impl NotificationRow {
    pub(crate) fn into_model(self) -> StoreResult<NotificationRecord> {
        Ok(NotificationRecord {
            id: NotificationId(self.id),
            kind: NotificationKind::parse(&self.kind).map_err(corrupt)?,
            submission: self.submission_id.map(SubmissionId),
            vars: serde_json::from_str(&self.vars).map_err(|_| corrupt("notification vars"))?,
            created_at: from_ts(self.created_at)?,
            read_at: self.read_at.map(from_ts).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OutgoingRow {
    pub notification_id: i64,
    pub channel: String,
    pub user_id: i64,
    pub email: String,
    pub phone: Option<String>,
    pub kind: String,
    pub submission_id: Option<i64>,
    pub vars: String,
    pub created_at: i64,
    pub digest: i64,
    pub digest_id: Option<String>,
    pub attempts: i64,
}

impl OutgoingRow {
    pub(crate) fn into_model(self) -> StoreResult<OutgoingNotification> {
        Ok(OutgoingNotification {
            id: NotificationId(self.notification_id),
            channel: Channel::parse(&self.channel).map_err(corrupt)?,
            user: UserId(self.user_id),
            email: self.email,
            phone: self.phone,
            kind: NotificationKind::parse(&self.kind).map_err(corrupt)?,
            submission: self.submission_id.map(SubmissionId),
            vars: serde_json::from_str(&self.vars).map_err(|_| corrupt("notification vars"))?,
            created_at: from_ts(self.created_at)?,
            digest: self.digest != 0,
            digest_id: self.digest_id,
            attempts: u32::try_from(self.attempts + 1).unwrap_or(u32::MAX),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TemplateRow {
    pub kind: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub updated_by: Option<i64>,
    pub updated_at: i64,
}

impl TemplateRow {
    pub(crate) fn into_model(self) -> StoreResult<StoredTemplate> {
        Ok(StoredTemplate {
            kind: self.kind,
            subject: self.subject,
            text_body: self.text_body,
            html_body: self.html_body,
            updated_by: self.updated_by.map(UserId),
            updated_at: from_ts(self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CampaignRow {
    pub id: i64,
    pub title: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub region_id: Option<i64>,
    pub municipality_id: Option<i64>,
    pub min_age: Option<i64>,
    pub max_age: Option<i64>,
    pub min_verification: Option<String>,
    pub rate_per_second: i64,
    pub status: String,
    pub recipients: i64,
    pub sent: i64,
    pub failed: i64,
    pub opened: i64,
    pub unsubscribed: i64,
    pub created_by: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

pub(crate) const CAMPAIGN_COLUMNS: &str = "id, title, subject, text_body, html_body, region_id, \
     municipality_id, min_age, max_age, min_verification, rate_per_second, status, \
     recipients, sent, failed, opened, unsubscribed, created_by, created_at, started_at, \
     finished_at";

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn age(n: Option<i64>) -> StoreResult<Option<u16>> {
    n.map(|n| u16::try_from(n).map_err(|_| corrupt("campaign age")))
        .transpose()
}

impl CampaignRow {
    pub(crate) fn into_model(self) -> StoreResult<CampaignRecord> {
        let rate = u16::try_from(self.rate_per_second)
            .ok()
            .and_then(SendRate::new)
            .ok_or_else(|| corrupt("campaign rate"))?;
        let min_verification = self
            .min_verification
            .as_deref()
            .map(|v| Verification::parse(v).ok_or_else(|| corrupt("campaign verification")))
            .transpose()?;
        Ok(CampaignRecord {
            id: CampaignId(self.id),
            title: self.title,
            subject: self.subject,
            text_body: self.text_body,
            html_body: self.html_body,
            audience: Audience {
                region: self.region_id.map(RegionId),
                municipality: self.municipality_id.map(MunicipalityId),
                min_age: age(self.min_age)?,
                max_age: age(self.max_age)?,
                min_verification,
            },
            rate,
            status: CampaignStatus::parse(&self.status).map_err(corrupt)?,
            recipients: count(self.recipients),
            sent: count(self.sent),
            failed: count(self.failed),
            opened: count(self.opened),
            unsubscribed: count(self.unsubscribed),
            created_by: UserId(self.created_by),
            created_at: from_ts(self.created_at)?,
            started_at: self.started_at.map(from_ts).transpose()?,
            finished_at: self.finished_at.map(from_ts).transpose()?,
        })
    }
}

/// The values of an audience's filter as bound parameters: the SQL condition on `u`
/// (users) and what to bind, in order, after the first `first` parameters.
pub(crate) fn audience_filter(
    audience: &Audience,
    today: time::Date,
    first: usize,
) -> (String, Vec<crate::common::Param>) {
    use crate::common::Param;
    let mut clause = format!(
        "u.role = 'citizen' AND u.disabled_at IS NULL AND u.campaign_opt_out_at IS NULL \
         AND u.email NOT LIKE '{UNDELIVERABLE_SUFFIX}'"
    );
    let mut params = Vec::new();
    let next = |clause: &mut String, sql: &str, param: Param, params: &mut Vec<Param>| {
        params.push(param);
        clause.push_str(&sql.replace("$?", &format!("${}", first + params.len())));
    };
    if let Some(region) = audience.region {
        next(
            &mut clause,
            " AND u.home_region_id = $?",
            Param::Int(region.0),
            &mut params,
        );
    }
    if let Some(municipality) = audience.municipality {
        next(
            &mut clause,
            " AND u.home_municipality_id = $?",
            Param::Int(municipality.0),
            &mut params,
        );
    }
    let (earliest, latest) = audience.birth_dates(today);
    if let Some(earliest) = earliest {
        next(
            &mut clause,
            " AND u.birth_date >= $?",
            Param::Owned(earliest.to_string()),
            &mut params,
        );
    }
    if let Some(latest) = latest {
        next(
            &mut clause,
            " AND u.birth_date <= $?",
            Param::Owned(latest.to_string()),
            &mut params,
        );
    }
    if let Some(level) = audience.min_verification {
        let allowed: Vec<String> = Verification::ALL
            .into_iter()
            .filter(|v| *v >= level)
            .map(|v| format!("'{}'", v.as_str()))
            .collect();
        clause.push_str(&format!(" AND u.verification IN ({})", allowed.join(", ")));
    }
    (clause, params)
}

/// A delivery choice as stored.
pub(crate) fn delivery_of(raw: &str) -> StoreResult<Delivery> {
    match raw {
        "off" => Ok(Delivery::Off),
        "immediate" => Ok(Delivery::Immediate),
        "digest" => Ok(Delivery::Digest),
        _ => Err(corrupt("delivery")),
    }
}

pub(crate) fn phone_of(raw: Option<String>) -> StoreResult<Option<PhoneNumber>> {
    raw.map(|p| PhoneNumber::parse(&p).map_err(|_| corrupt("phone")))
        .transpose()
}

macro_rules! impl_notifications {
    (
        store: $store:ty,
        db: $db:ty,
        write: $write:ident,
        read: $read:ident,
        begin_write: $begin_write:literal,
        skip_locked: $skip_locked:literal $(,)?
    ) => {
        impl $store {
            /// Writes the notifications an event of a submission causes, inside the
            /// event's transaction: to its author and to the officials of the
            /// organisation holding it (see `notify::for_event`).
            pub(crate) async fn enqueue_notifications(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                submission: i64,
                event_id: i64,
                event: ::otklik_domain::lifecycle::EventKind,
                rerouted: bool,
                at: i64,
            ) -> $crate::StoreResult<()> {
                let wanted = ::otklik_domain::notify::for_event(event, rerouted);
                if wanted.is_empty() {
                    return Ok(());
                }
                let source = format!("event:{event_id}");
                let vars = Self::notification_vars(&mut *conn, submission).await?;
                for (addressee, kind) in wanted {
                    Self::notify_kind(&mut *conn, submission, addressee, kind, &source, &vars, at)
                        .await?;
                }
                Ok(())
            }

            /// Tells the officials holding a submission of a deadline (a warning or a
            /// breach), once per `source`.
            pub(crate) async fn notify_staff(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                submission: i64,
                kind: ::otklik_domain::notify::NotificationKind,
                source: &str,
                at: i64,
            ) -> $crate::StoreResult<()> {
                let vars = Self::notification_vars(&mut *conn, submission).await?;
                Self::notify_kind(
                    &mut *conn,
                    submission,
                    ::otklik_domain::notify::Addressee::Holder,
                    kind,
                    source,
                    &vars,
                    at,
                )
                .await
            }

            async fn notification_vars(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                submission: i64,
            ) -> $crate::StoreResult<String> {
                ::sqlx::query_as::<$db, $crate::notify_sql::VarsRow>(
                    "SELECT s.id, s.created_at, s.deadline_at, s.status, s.kind, \
                            sc.name AS subcategory, o.name AS organisation, o.utc_offset_minutes \
                     FROM submissions s \
                     JOIN subcategories sc ON sc.id = s.subcategory_id \
                     JOIN organisations o ON o.id = s.org_id \
                     WHERE s.id = $1",
                )
                .bind(submission)
                .fetch_one(&mut *conn)
                .await?
                .to_json()
            }

            /// One kind to one addressee: the centre's rows, then an outbox row for each
            /// channel each person wants and can be reached by.
            async fn notify_kind(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                submission: i64,
                addressee: ::otklik_domain::notify::Addressee,
                kind: ::otklik_domain::notify::NotificationKind,
                source: &str,
                vars: &str,
                at: i64,
            ) -> $crate::StoreResult<()> {
                use ::otklik_domain::notify::Addressee;
                let recipients = match addressee {
                    Addressee::Author => "SELECT author_id AS id FROM submissions WHERE id = $1",
                    Addressee::Holder => {
                        "SELECT u.id AS id FROM submissions s JOIN users u ON u.org_id = s.org_id \
                         WHERE s.id = $1 AND u.role = 'official' AND u.disabled_at IS NULL"
                    }
                    Addressee::Followers => {
                        // Followers may not open the submission itself: their link is its
                        // public page, and the notification names no submission.
                        let vars = $crate::notify_sql::with_path(vars, &format!("/public/{submission}"));
                        return Self::notify_people(
                            &mut *conn,
                            "SELECT f.user_id AS id FROM follows f \
                             JOIN submissions s ON s.id = f.submission_id \
                             WHERE f.submission_id = $1 AND s.public = 1 AND f.user_id <> s.author_id",
                            submission,
                            None,
                            kind,
                            source,
                            &vars,
                            at,
                        )
                        .await;
                    }
                };
                Self::notify_people(&mut *conn, recipients, submission, Some(submission), kind, source, vars, at)
                    .await
            }

            /// One kind to the people `recipients` selects (a query of `id`s whose `$1`
            /// is `key`): the centre's rows, then an outbox row for each channel each
            /// person wants and can be reached by.
            #[allow(clippy::too_many_arguments)]
            pub(crate) async fn notify_people(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                recipients: &str,
                key: i64,
                submission: Option<i64>,
                kind: ::otklik_domain::notify::NotificationKind,
                source: &str,
                vars: &str,
                at: i64,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(&format!(
                    "INSERT INTO notifications (user_id, kind, source, submission_id, vars, created_at) \
                     SELECT r.id, CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($6 AS BIGINT), CAST($4 AS TEXT), \
                            CAST($5 AS BIGINT) \
                     FROM ({recipients}) AS r \
                     WHERE 1 = 1 ON CONFLICT DO NOTHING"
                ))
                .bind(key)
                .bind(kind.as_str())
                .bind(source)
                .bind(vars)
                .bind(at)
                .bind(submission)
                .execute(&mut *conn)
                .await?;
                Self::queue_outbox(&mut *conn, kind, at, $crate::notify_sql::OutboxOf::Source(source))
                    .await
            }

            /// The outbox rows of notifications of `kind` that `of` selects: one for each
            /// channel each person wants (their preference, else the kind's default) and
            /// can be reached by.
            pub(crate) async fn queue_outbox(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                kind: ::otklik_domain::notify::NotificationKind,
                at: i64,
                of: $crate::notify_sql::OutboxOf<'_>,
            ) -> $crate::StoreResult<()> {
                use ::otklik_domain::notify::{Channel, Delivery};
                for channel in Channel::ALL {
                    let default = kind.default_delivery(channel).as_str();
                    let reachable = match channel {
                        Channel::Email => format!(
                            "u.email NOT LIKE '{}'",
                            $crate::notify_sql::UNDELIVERABLE_SUFFIX
                        ),
                        Channel::Gateway => "u.phone IS NOT NULL".to_owned(),
                    };
                    // `CROSS JOIN` keeps SQLite's join order whatever its statistics say:
                    // with `users` recorded when it was small, the planner walked every
                    // person (a group's outbox statement went from 0.07 ms to 2 ms with
                    // 100 000 people); PostgreSQL reorders it like any inner join.
                    let mut insert = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO notification_outbox \
                             (notification_id, channel, user_id, digest, created_at, next_attempt_at) \
                         SELECT n.id, ",
                    );
                    insert
                        .push_bind(channel.as_str())
                        .push(", n.user_id, CASE WHEN COALESCE(p.delivery, ")
                        .push_bind(default)
                        .push(format!(") = '{}' THEN 1 ELSE 0 END, CAST(", Delivery::Digest.as_str()))
                        .push_bind(at)
                        .push(" AS BIGINT), CAST(")
                        .push_bind(at)
                        .push(
                            " AS BIGINT) \
                             FROM notifications n CROSS JOIN users u \
                             LEFT JOIN notification_preferences p \
                                 ON p.user_id = n.user_id AND p.kind = n.kind AND p.channel = ",
                        )
                        .push_bind(channel.as_str())
                        .push(" WHERE u.id = n.user_id AND n.kind = ")
                        .push_bind(kind.as_str());
                    match of {
                        $crate::notify_sql::OutboxOf::Source(source) => {
                            insert.push(" AND n.source = ").push_bind(source);
                        }
                        $crate::notify_sql::OutboxOf::Sources(sources) => {
                            insert.push(" AND n.source IN (");
                            let mut list = insert.separated(", ");
                            for source in sources {
                                list.push_bind(source.as_str());
                            }
                            insert.push(")");
                        }
                    }
                    insert
                        .push(" AND u.disabled_at IS NULL AND COALESCE(p.delivery, ")
                        .push_bind(default)
                        .push(format!(
                            ") <> '{}' AND {reachable} ON CONFLICT DO NOTHING",
                            Delivery::Off.as_str()
                        ));
                    insert.build().execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// A person's digest: the set a failed attempt stamped, again (so that a retry
            /// keeps its `Message-ID`), else what waits now, stamped with its identifier.
            async fn claim_digest(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                user: i64,
                at: i64,
            ) -> $crate::StoreResult<Vec<(i64, String)>> {
                let stamped = ::sqlx::query_scalar::<$db, Option<String>>(
                    "SELECT MIN(digest_id) FROM notification_outbox \
                     WHERE state = 'pending' AND digest = 1 AND user_id = $1",
                )
                .bind(user)
                .fetch_one(&mut *conn)
                .await?;
                if let Some(digest) = stamped {
                    return Ok(::sqlx::query_as::<$db, (i64, String)>(concat!(
                        "SELECT notification_id, channel FROM notification_outbox \
                         WHERE state = 'pending' AND digest = 1 AND user_id = $1 \
                           AND digest_id = $2 AND next_attempt_at <= $3 \
                         ORDER BY notification_id",
                        $skip_locked
                    ))
                    .bind(user)
                    .bind(digest)
                    .bind(at)
                    .fetch_all(&mut *conn)
                    .await?);
                }
                let rows = ::sqlx::query_as::<$db, (i64, String)>(concat!(
                    "SELECT notification_id, channel FROM notification_outbox \
                     WHERE state = 'pending' AND digest = 1 AND user_id = $1 \
                       AND next_attempt_at <= $2 \
                     ORDER BY notification_id LIMIT 100",
                    $skip_locked
                ))
                .bind(user)
                .bind(at)
                .fetch_all(&mut *conn)
                .await?;
                if let (Some((first, _)), Some((last, _))) = (rows.first(), rows.last()) {
                    let digest = format!("d{first}-{last}");
                    for (id, channel) in &rows {
                        ::sqlx::query::<$db>(
                            "UPDATE notification_outbox SET digest_id = $3 \
                             WHERE notification_id = $1 AND channel = $2",
                        )
                        .bind(id)
                        .bind(channel)
                        .bind(&digest)
                        .execute(&mut *conn)
                        .await?;
                    }
                }
                Ok(rows)
            }

            async fn outgoing_rows(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                keys: &[(i64, String)],
            ) -> $crate::StoreResult<Vec<$crate::OutgoingNotification>> {
                let mut out = Vec::with_capacity(keys.len());
                for (id, channel) in keys {
                    let row = ::sqlx::query_as::<$db, $crate::notify_sql::OutgoingRow>(
                        "SELECT o.notification_id, o.channel, o.user_id, u.email, u.phone, \
                                n.kind, n.submission_id, n.vars, n.created_at, o.digest, o.digest_id, \
                                o.attempts \
                         FROM notification_outbox o \
                         JOIN notifications n ON n.id = o.notification_id \
                         JOIN users u ON u.id = o.user_id \
                         WHERE o.notification_id = $1 AND o.channel = $2",
                    )
                    .bind(id)
                    .bind(channel)
                    .fetch_one(&mut *conn)
                    .await?;
                    out.push(row.into_model()?);
                }
                Ok(out)
            }
        }

        #[::async_trait::async_trait]
        impl $crate::Notifications for $store {
            async fn notifications(
                &self,
                user: ::otklik_domain::UserId,
                limit: u32,
                offset: u32,
            ) -> $crate::StoreResult<$crate::NotificationPage> {
                let mut conn = self.$read().acquire().await?;
                let rows = ::sqlx::query_as::<$db, $crate::notify_sql::NotificationRow>(
                    "SELECT id, kind, submission_id, vars, created_at, read_at \
                     FROM notifications WHERE user_id = $1 \
                     ORDER BY id DESC LIMIT $2 OFFSET $3",
                )
                .bind(user.0)
                .bind(i64::from(limit.min($crate::common::MAX_PAGE)))
                .bind(i64::from(offset))
                .fetch_all(&mut *conn)
                .await?;
                let (total, unread) = ::sqlx::query_as::<$db, (i64, i64)>(
                    "SELECT COUNT(*), COALESCE(SUM(CASE WHEN read_at IS NULL THEN 1 ELSE 0 END), 0) \
                     FROM notifications WHERE user_id = $1",
                )
                .bind(user.0)
                .fetch_one(&mut *conn)
                .await?;
                Ok($crate::NotificationPage {
                    items: rows
                        .into_iter()
                        .map($crate::notify_sql::NotificationRow::into_model)
                        .collect::<$crate::StoreResult<_>>()?,
                    total: u64::try_from(total).unwrap_or(0),
                    unread: u64::try_from(unread).unwrap_or(0),
                })
            }

            async fn mark_read(
                &self,
                user: ::otklik_domain::UserId,
                ids: Option<&[::otklik_domain::NotificationId]>,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<u64> {
                let at = $crate::common::ts(now);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<u64> = async {
                    let mut changed = 0;
                    match ids {
                        None => {
                            changed += ::sqlx::query::<$db>(
                                "UPDATE notifications SET read_at = $2 \
                                 WHERE user_id = $1 AND read_at IS NULL",
                            )
                            .bind(user.0)
                            .bind(at)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        }
                        Some(ids) => {
                            for id in ids {
                                changed += ::sqlx::query::<$db>(
                                    "UPDATE notifications SET read_at = $3 \
                                     WHERE id = $1 AND user_id = $2 AND read_at IS NULL",
                                )
                                .bind(id.0)
                                .bind(user.0)
                                .bind(at)
                                .execute(&mut *tx)
                                .await?
                                .rows_affected();
                            }
                        }
                    }
                    Ok(changed)
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn unread_count(&self, user: ::otklik_domain::UserId) -> $crate::StoreResult<u64> {
                let unread = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM notifications \
                     WHERE user_id = $1 AND read_at IS NULL LIMIT $2) counted",
                )
                .bind(user.0)
                .bind(i64::try_from($crate::UNREAD_COUNT_LIMIT).unwrap_or(i64::MAX))
                .fetch_one(self.$read())
                .await?;
                Ok(u64::try_from(unread).unwrap_or(0))
            }

            async fn notification_settings(
                &self,
                user: ::otklik_domain::UserId,
            ) -> $crate::StoreResult<$crate::NotificationSettings> {
                use ::otklik_domain::notify::{Channel, NotificationKind};
                let mut conn = self.$read().acquire().await?;
                let (email, phone, opted_out, region, municipality) =
                    ::sqlx::query_as::<$db, (String, Option<String>, Option<i64>, Option<i64>, Option<i64>)>(
                    "SELECT email, phone, campaign_opt_out_at, home_region_id, home_municipality_id \
                     FROM users WHERE id = $1",
                )
                .bind(user.0)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or($crate::StoreError::NotFound)?;
                let rows = ::sqlx::query_as::<$db, (String, String, String)>(
                    "SELECT kind, channel, delivery FROM notification_preferences \
                     WHERE user_id = $1 ORDER BY kind, channel",
                )
                .bind(user.0)
                .fetch_all(&mut *conn)
                .await?;
                let mut choices = Vec::with_capacity(rows.len());
                for (kind, channel, delivery) in rows {
                    // A kind this version no longer knows is ignored, not an error.
                    let (Ok(kind), Ok(channel)) =
                        (NotificationKind::parse(&kind), Channel::parse(&channel))
                    else {
                        continue;
                    };
                    choices.push((kind, channel, $crate::notify_sql::delivery_of(&delivery)?));
                }
                Ok($crate::NotificationSettings {
                    choices,
                    phone: $crate::notify_sql::phone_of(phone)?,
                    email_deliverable: !email.ends_with(".invalid"),
                    campaigns_opted_out: opted_out.is_some(),
                    home_region: region.map(::otklik_domain::RegionId),
                    home_municipality: municipality.map(::otklik_domain::MunicipalityId),
                })
            }

            async fn put_home_place(
                &self,
                user: ::otklik_domain::UserId,
                region: Option<::otklik_domain::RegionId>,
                municipality: Option<::otklik_domain::MunicipalityId>,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    if let Some(region) = region {
                        let known = ::sqlx::query_scalar::<$db, i64>(
                            "SELECT COUNT(*) FROM regions WHERE id = $1",
                        )
                        .bind(region.0)
                        .fetch_one(&mut *tx)
                        .await?;
                        if known == 0 {
                            return Err($crate::StoreError::InvalidReference("unknown_region"));
                        }
                    }
                    if let Some(municipality) = municipality {
                        let of = ::sqlx::query_scalar::<$db, i64>(
                            "SELECT region_id FROM municipalities WHERE id = $1",
                        )
                        .bind(municipality.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                        if of.is_none() || of != region.map(|r| r.0) {
                            return Err($crate::StoreError::InvalidReference("unknown_municipality"));
                        }
                    }
                    let changed = ::sqlx::query::<$db>(
                        "UPDATE users SET home_region_id = $2, home_municipality_id = $3 WHERE id = $1",
                    )
                    .bind(user.0)
                    .bind(region.map(|r| r.0))
                    .bind(municipality.map(|m| m.0))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if changed == 0 {
                        return Err($crate::StoreError::NotFound);
                    }
                    Ok(())
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn put_notification_settings(
                &self,
                user: ::otklik_domain::UserId,
                settings: &$crate::NotificationSettings,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    let now = $crate::common::ts(now);
                    let updated = ::sqlx::query::<$db>(
                        "UPDATE users SET phone = $2, \
                             campaign_opt_out_at = CASE WHEN $3 IS NULL THEN NULL \
                                 ELSE COALESCE(campaign_opt_out_at, $3) END \
                         WHERE id = $1",
                    )
                    .bind(user.0)
                    .bind(settings.phone.as_ref().map(|p| p.as_str().to_owned()))
                    .bind(settings.campaigns_opted_out.then_some(now))
                    .execute(&mut *tx)
                    .await?;
                    if updated.rows_affected() == 0 {
                        return Err($crate::StoreError::NotFound);
                    }
                    ::sqlx::query::<$db>("DELETE FROM notification_preferences WHERE user_id = $1")
                        .bind(user.0)
                        .execute(&mut *tx)
                        .await?;
                    for (kind, channel, delivery) in &settings.choices {
                        // What already waits follows the new choice: turned off, it is
                        // not sent; moved to or from the digest, it goes that way.
                        ::sqlx::query::<$db>(
                            "UPDATE notification_outbox SET \
                                 state = CASE WHEN $4 = 'off' THEN 'skipped' ELSE state END, \
                                 last_error = CASE WHEN $4 = 'off' THEN 'turned_off' ELSE last_error END, \
                                 digest = CASE WHEN $4 = 'digest' THEN 1 ELSE 0 END, \
                                 digest_id = CASE WHEN $4 = 'digest' THEN digest_id ELSE NULL END \
                             WHERE user_id = $1 AND channel = $3 AND state = 'pending' \
                               AND notification_id IN \
                                   (SELECT id FROM notifications WHERE user_id = $1 AND kind = $2)",
                        )
                        .bind(user.0)
                        .bind(kind.as_str())
                        .bind(channel.as_str())
                        .bind(delivery.as_str())
                        .execute(&mut *tx)
                        .await?;
                        if *delivery == kind.default_delivery(*channel) {
                            continue;
                        }
                        ::sqlx::query::<$db>(
                            "INSERT INTO notification_preferences (user_id, kind, channel, delivery) \
                             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, kind, channel) \
                             DO UPDATE SET delivery = excluded.delivery",
                        )
                        .bind(user.0)
                        .bind(kind.as_str())
                        .bind(channel.as_str())
                        .bind(delivery.as_str())
                        .execute(&mut *tx)
                        .await?;
                    }
                    Ok(())
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn unsubscribe(
                &self,
                user: ::otklik_domain::UserId,
                kind: Option<::otklik_domain::notify::NotificationKind>,
                campaign: Option<::otklik_domain::CampaignId>,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let at = $crate::common::ts(now);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    match kind {
                        Some(kind) => {
                            let exists = ::sqlx::query_scalar::<$db, i64>(
                                "SELECT COUNT(*) FROM users WHERE id = $1",
                            )
                            .bind(user.0)
                            .fetch_one(&mut *tx)
                            .await?;
                            if exists == 0 {
                                return Err($crate::StoreError::NotFound);
                            }
                            ::sqlx::query::<$db>(
                                "INSERT INTO notification_preferences (user_id, kind, channel, delivery) \
                                 VALUES ($1, $2, 'email', 'off') ON CONFLICT (user_id, kind, channel) \
                                 DO UPDATE SET delivery = 'off'",
                            )
                            .bind(user.0)
                            .bind(kind.as_str())
                            .execute(&mut *tx)
                            .await?;
                            // What already waits for the person is not sent either.
                            ::sqlx::query::<$db>(
                                "UPDATE notification_outbox SET state = 'skipped', \
                                     last_error = 'unsubscribed' \
                                 WHERE user_id = $1 AND channel = 'email' AND state = 'pending' \
                                   AND notification_id IN \
                                       (SELECT id FROM notifications WHERE user_id = $1 AND kind = $2)",
                            )
                            .bind(user.0)
                            .bind(kind.as_str())
                            .execute(&mut *tx)
                            .await?;
                        }
                        None => {
                            let changed = ::sqlx::query::<$db>(
                                "UPDATE users SET campaign_opt_out_at = $2 \
                                 WHERE id = $1 AND campaign_opt_out_at IS NULL",
                            )
                            .bind(user.0)
                            .bind(at)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                            // Messages of campaigns not yet sent to the person are dropped
                            // and counted as not delivered — each exactly once, since only
                            // the rows this update changes are counted. Recipients' rows
                            // are locked before campaigns' (the order the worker's finish
                            // takes), so the two never deadlock.
                            let dropped = ::sqlx::query_scalar::<$db, i64>(
                                "UPDATE campaign_recipients SET state = 'failed' \
                                 WHERE user_id = $1 AND state = 'pending' RETURNING campaign_id",
                            )
                            .bind(user.0)
                            .fetch_all(&mut *tx)
                            .await?;
                            if let (1, Some(campaign)) = (changed, campaign) {
                                ::sqlx::query::<$db>(
                                    "UPDATE campaigns SET unsubscribed = unsubscribed + 1 WHERE id = $1",
                                )
                                .bind(campaign.0)
                                .execute(&mut *tx)
                                .await?;
                            }
                            for campaign in dropped {
                                ::sqlx::query::<$db>(
                                    "UPDATE campaigns SET failed = failed + 1 WHERE id = $1",
                                )
                                .bind(campaign)
                                .execute(&mut *tx)
                                .await?;
                                // A running campaign left with nothing to send is finished.
                                Self::finish_if_done(&mut *tx, campaign, at).await?;
                            }
                        }
                    }
                    Ok(())
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn claim_notifications(
                &self,
                now: ::time::OffsetDateTime,
                lease: ::std::time::Duration,
                limit: u32,
                digest_before: ::time::OffsetDateTime,
                channels: &[::otklik_domain::notify::Channel],
            ) -> $crate::StoreResult<Vec<$crate::OutgoingNotification>> {
                if channels.is_empty() {
                    return Ok(Vec::new());
                }
                // The names come from the enumeration, never from input.
                let channel_list = channels
                    .iter()
                    .map(|c| format!("'{}'", c.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ");
                let at = $crate::common::ts(now);
                let until = $crate::common::ts(now + lease);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<Vec<$crate::OutgoingNotification>> = async {
                    let mut keys = ::sqlx::query_as::<$db, (i64, String)>(&format!(
                        "SELECT notification_id, channel FROM notification_outbox \
                         WHERE state = 'pending' AND digest = 0 AND next_attempt_at <= $1 \
                           AND channel IN ({channel_list}) \
                         ORDER BY next_attempt_at, notification_id LIMIT $2{}",
                        $skip_locked
                    ))
                    .bind(at)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                    // Digests (e-mail only): everyone whose oldest waiting digest message
                    // is old enough gets theirs at once — a few people per pass, so that
                    // a claim stays a short transaction.
                    let room = i64::from(limit)
                        .saturating_sub(keys.len() as i64)
                        .min($crate::notify_sql::DIGESTS_PER_PASS);
                    if room > 0 && channels.contains(&::otklik_domain::notify::Channel::Email) {
                        let users = ::sqlx::query_scalar::<$db, i64>(
                            "SELECT DISTINCT user_id FROM notification_outbox \
                             WHERE state = 'pending' AND digest = 1 AND created_at <= $1 \
                               AND next_attempt_at <= $2 LIMIT $3",
                        )
                        .bind($crate::common::ts(digest_before))
                        .bind(at)
                        .bind(room)
                        .fetch_all(&mut *tx)
                        .await?;
                        for user in users {
                            keys.extend(Self::claim_digest(&mut *tx, user, at).await?);
                        }
                    }
                    for (id, channel) in &keys {
                        ::sqlx::query::<$db>(
                            "UPDATE notification_outbox SET next_attempt_at = $3 \
                             WHERE notification_id = $1 AND channel = $2",
                        )
                        .bind(id)
                        .bind(channel)
                        .bind(until)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Self::outgoing_rows(&mut *tx, &keys).await
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn finish_notifications(
                &self,
                outcomes: &[(
                    ::otklik_domain::NotificationId,
                    ::otklik_domain::notify::Channel,
                    $crate::SendOutcome,
                )],
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let at = $crate::common::ts(now);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    for (id, channel, outcome) in outcomes {
                        let (state, error, next) = match outcome {
                            $crate::SendOutcome::Sent => ("sent", None, at),
                            $crate::SendOutcome::Retry { error, retry_at } => {
                                ("pending", Some(error.as_str()), $crate::common::ts(*retry_at))
                            }
                            $crate::SendOutcome::Failed { error } => ("failed", Some(error.as_str()), at),
                            $crate::SendOutcome::Skipped { reason } => ("skipped", Some(reason.as_str()), at),
                        };
                        let error: Option<String> = error.map(|e| e.chars().take(300).collect());
                        ::sqlx::query::<$db>(
                            "UPDATE notification_outbox SET state = $3, attempts = attempts + 1, \
                                 last_error = $4, next_attempt_at = $5, \
                                 sent_at = CASE WHEN $3 = 'sent' THEN $6 ELSE sent_at END \
                             WHERE notification_id = $1 AND channel = $2 AND state = 'pending'",
                        )
                        .bind(id.0)
                        .bind(channel.as_str())
                        .bind(state)
                        .bind(error)
                        .bind(next)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Ok(())
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn outbox_summary(&self) -> $crate::StoreResult<$crate::OutboxSummary> {
                let mut conn = self.$read().acquire().await?;
                let rows = ::sqlx::query_as::<$db, (String, i64)>(
                    "SELECT state, COUNT(*) FROM notification_outbox GROUP BY state",
                )
                .fetch_all(&mut *conn)
                .await?;
                let mut summary = $crate::OutboxSummary::default();
                for (state, n) in rows {
                    let n = u64::try_from(n).unwrap_or(0);
                    match state.as_str() {
                        "pending" => summary.pending = n,
                        "sent" => summary.sent = n,
                        "failed" => summary.failed = n,
                        _ => summary.skipped = n,
                    }
                }
                let oldest = ::sqlx::query_scalar::<$db, Option<i64>>(
                    "SELECT MIN(created_at) FROM notification_outbox \
                     WHERE state = 'pending' AND digest = 0",
                )
                .fetch_one(&mut *conn)
                .await?;
                summary.oldest_pending_at = oldest.map($crate::common::from_ts).transpose()?;
                Ok(summary)
            }

            async fn notification_templates(&self) -> $crate::StoreResult<Vec<$crate::StoredTemplate>> {
                ::sqlx::query_as::<$db, $crate::notify_sql::TemplateRow>(
                    "SELECT kind, subject, text_body, html_body, updated_by, updated_at \
                     FROM notification_templates ORDER BY kind",
                )
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map($crate::notify_sql::TemplateRow::into_model)
                .collect()
            }

            async fn put_notification_template(
                &self,
                template: &$crate::StoredTemplate,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    let before = ::sqlx::query_scalar::<$db, String>(
                        "SELECT subject FROM notification_templates WHERE kind = $1",
                    )
                    .bind(&template.kind)
                    .fetch_optional(&mut *tx)
                    .await?;
                    ::sqlx::query::<$db>(
                        "INSERT INTO notification_templates \
                             (kind, subject, text_body, html_body, updated_by, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind) DO UPDATE SET \
                             subject = excluded.subject, text_body = excluded.text_body, \
                             html_body = excluded.html_body, updated_by = excluded.updated_by, \
                             updated_at = excluded.updated_at",
                    )
                    .bind(&template.kind)
                    .bind(&template.subject)
                    .bind(&template.text_body)
                    .bind(&template.html_body)
                    .bind(template.updated_by.map(|u| u.0))
                    .bind($crate::common::ts(template.updated_at))
                    .execute(&mut *tx)
                    .await?;
                    Self::record_change(
                        &mut *tx,
                        template.updated_by,
                        template.updated_at,
                        "notification_template",
                        &template.kind,
                        before,
                        Some(template.subject.clone()),
                    )
                    .await
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn reset_notification_template(
                &self,
                kind: &str,
                by: ::otklik_domain::UserId,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    let before = ::sqlx::query_scalar::<$db, String>(
                        "DELETE FROM notification_templates WHERE kind = $1 RETURNING subject",
                    )
                    .bind(kind)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                    Self::record_change(
                        &mut *tx,
                        Some(by),
                        now,
                        "notification_template",
                        kind,
                        Some(before),
                        None,
                    )
                    .await
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn audience_size(
                &self,
                audience: &::otklik_domain::notify::Audience,
                today: ::time::Date,
            ) -> $crate::StoreResult<u64> {
                let (clause, params) = $crate::notify_sql::audience_filter(audience, today, 0);
                let sql = format!("SELECT COUNT(*) FROM users u WHERE {clause}");
                let mut query = ::sqlx::query_scalar::<$db, i64>(&sql);
                for param in params {
                    query = match param {
                        $crate::common::Param::Int(v) => query.bind(v),
                        $crate::common::Param::Text(v) => query.bind(v),
                        $crate::common::Param::Owned(v) => query.bind(v),
                    };
                }
                let n = query.fetch_one(self.$read()).await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn create_campaign(
                &self,
                campaign: &$crate::NewCampaign,
                by: ::otklik_domain::UserId,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<::otklik_domain::CampaignId> {
                let audience = &campaign.audience;
                let id = ::sqlx::query_scalar::<$db, i64>(
                    "INSERT INTO campaigns (title, subject, text_body, html_body, region_id, \
                         municipality_id, min_age, max_age, min_verification, rate_per_second, \
                         created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                )
                .bind(&campaign.title)
                .bind(&campaign.subject)
                .bind(&campaign.text_body)
                .bind(&campaign.html_body)
                .bind(audience.region.map(|r| r.0))
                .bind(audience.municipality.map(|m| m.0))
                .bind(audience.min_age.map(i64::from))
                .bind(audience.max_age.map(i64::from))
                .bind(audience.min_verification.map(|v| v.as_str()))
                .bind(i64::from(campaign.rate.per_second()))
                .bind(by.0)
                .bind($crate::common::ts(now))
                .fetch_one(self.$write())
                .await
                .map_err(|e| $crate::common::constraint(e, "campaign_exists", "unknown_territory"))?;
                Ok(::otklik_domain::CampaignId(id))
            }

            async fn campaigns(&self) -> $crate::StoreResult<Vec<$crate::CampaignRecord>> {
                ::sqlx::query_as::<$db, $crate::notify_sql::CampaignRow>(&format!(
                    "SELECT {} FROM campaigns ORDER BY id DESC LIMIT 500",
                    $crate::notify_sql::CAMPAIGN_COLUMNS
                ))
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map($crate::notify_sql::CampaignRow::into_model)
                .collect()
            }

            async fn running_campaigns(&self) -> $crate::StoreResult<Vec<$crate::CampaignRecord>> {
                ::sqlx::query_as::<$db, $crate::notify_sql::CampaignRow>(&format!(
                    "SELECT {} FROM campaigns WHERE status = 'running' ORDER BY id",
                    $crate::notify_sql::CAMPAIGN_COLUMNS
                ))
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map($crate::notify_sql::CampaignRow::into_model)
                .collect()
            }

            async fn campaign(
                &self,
                id: ::otklik_domain::CampaignId,
            ) -> $crate::StoreResult<$crate::CampaignRecord> {
                ::sqlx::query_as::<$db, $crate::notify_sql::CampaignRow>(&format!(
                    "SELECT {} FROM campaigns WHERE id = $1",
                    $crate::notify_sql::CAMPAIGN_COLUMNS
                ))
                .bind(id.0)
                .fetch_optional(self.$read())
                .await?
                .ok_or($crate::StoreError::NotFound)?
                .into_model()
            }

            async fn command_campaign(
                &self,
                id: ::otklik_domain::CampaignId,
                command: ::otklik_domain::notify::CampaignCommand,
                by: ::otklik_domain::UserId,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::CampaignRecord> {
                use ::otklik_domain::notify::CampaignStatus;
                let at = $crate::common::ts(now);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    let current = ::sqlx::query_as::<$db, $crate::notify_sql::CampaignRow>(&format!(
                        "SELECT {} FROM campaigns WHERE id = $1",
                        $crate::notify_sql::CAMPAIGN_COLUMNS
                    ))
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?
                    .into_model()?;
                    let next = current
                        .status
                        .after(command)
                        .map_err($crate::StoreError::Conflict)?;
                    // The status moves only from the one read: of two commands at once
                    // (a double click, two operators, the worker finishing it), the
                    // second finds it changed and is refused.
                    let finished = matches!(next, CampaignStatus::Cancelled).then_some(at);
                    let moved = ::sqlx::query::<$db>(
                        "UPDATE campaigns SET status = $2, finished_at = COALESCE($3, finished_at) \
                         WHERE id = $1 AND status = $4",
                    )
                    .bind(id.0)
                    .bind(next.as_str())
                    .bind(finished)
                    .bind(current.status.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if moved == 0 {
                        return Err($crate::StoreError::Conflict("campaign_command_not_allowed"));
                    }
                    if current.status == CampaignStatus::Draft && next == CampaignStatus::Running {
                        // The recipients are fixed now, in one statement.
                        let (clause, params) = $crate::notify_sql::audience_filter(
                            &current.audience,
                            now.date(),
                            2,
                        );
                        let sql = format!(
                            "INSERT INTO campaign_recipients (campaign_id, user_id, next_attempt_at) \
                             SELECT CAST($1 AS BIGINT), u.id, CAST($2 AS BIGINT) FROM users u \
                             WHERE {clause} ORDER BY u.id"
                        );
                        let mut query = ::sqlx::query::<$db>(&sql).bind(id.0).bind(at);
                        for param in params {
                            query = match param {
                                $crate::common::Param::Int(v) => query.bind(v),
                                $crate::common::Param::Text(v) => query.bind(v),
                                $crate::common::Param::Owned(v) => query.bind(v),
                            };
                        }
                        let recipients = query.execute(&mut *tx).await?.rows_affected();
                        ::sqlx::query::<$db>(
                            "UPDATE campaigns SET recipients = $2, started_at = $3 WHERE id = $1",
                        )
                        .bind(id.0)
                        .bind(i64::try_from(recipients).unwrap_or(i64::MAX))
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Self::record_change(
                        &mut *tx,
                        Some(by),
                        now,
                        "campaign",
                        &id.0.to_string(),
                        Some(current.status.as_str().to_owned()),
                        Some(next.as_str().to_owned()),
                    )
                    .await?;
                    // A campaign that reached nobody is done at once.
                    Self::finish_if_done(&mut *tx, id.0, at).await
                }
                .await;
                $crate::common::finish(tx, result).await?;
                self.campaign(id).await
            }

            async fn claim_campaign_messages(
                &self,
                campaign: ::otklik_domain::CampaignId,
                now: ::time::OffsetDateTime,
                lease: ::std::time::Duration,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::OutgoingCampaignMessage>> {
                let at = $crate::common::ts(now);
                let until = $crate::common::ts(now + lease);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<Vec<$crate::OutgoingCampaignMessage>> = async {
                    // The rate's window, shared by every node: this second's remaining
                    // room (the update also locks the campaign's row on PostgreSQL).
                    let room = ::sqlx::query_scalar::<$db, i64>(
                        "UPDATE campaigns SET \
                             window_claimed = CASE WHEN window_start = $2 THEN window_claimed ELSE 0 END, \
                             window_start = $2 \
                         WHERE id = $1 AND status = 'running' \
                         RETURNING rate_per_second - window_claimed",
                    )
                    .bind(campaign.0)
                    .bind(at)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(room) = room else {
                        return Ok(Vec::new());
                    };
                    let limit = i64::from(limit).min(room.max(0));
                    if limit == 0 {
                        return Ok(Vec::new());
                    }
                    let rows = ::sqlx::query_as::<$db, (i64, i64)>(concat!(
                        "SELECT user_id, attempts FROM campaign_recipients \
                         WHERE campaign_id = $1 AND state = 'pending' AND next_attempt_at <= $2 \
                         ORDER BY next_attempt_at, user_id LIMIT $3",
                        $skip_locked
                    ))
                    .bind(campaign.0)
                    .bind(at)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                    ::sqlx::query::<$db>(
                        "UPDATE campaigns SET window_claimed = window_claimed + $2 WHERE id = $1",
                    )
                    .bind(campaign.0)
                    .bind(rows.len() as i64)
                    .execute(&mut *tx)
                    .await?;
                    let mut out = Vec::with_capacity(rows.len());
                    for (user, attempts) in rows {
                        ::sqlx::query::<$db>(
                            "UPDATE campaign_recipients SET next_attempt_at = $3 \
                             WHERE campaign_id = $1 AND user_id = $2",
                        )
                        .bind(campaign.0)
                        .bind(user)
                        .bind(until)
                        .execute(&mut *tx)
                        .await?;
                        let email = ::sqlx::query_scalar::<$db, String>(
                            "SELECT email FROM users WHERE id = $1",
                        )
                        .bind(user)
                        .fetch_one(&mut *tx)
                        .await?;
                        out.push($crate::OutgoingCampaignMessage {
                            campaign,
                            user: ::otklik_domain::UserId(user),
                            email,
                            attempts: u32::try_from(attempts + 1).unwrap_or(u32::MAX),
                        });
                    }
                    Ok(out)
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn finish_campaign_messages(
                &self,
                campaign: ::otklik_domain::CampaignId,
                outcomes: &[(::otklik_domain::UserId, $crate::SendOutcome)],
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let at = $crate::common::ts(now);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    let (mut sent, mut failed) = (0i64, 0i64);
                    for (user, outcome) in outcomes {
                        let (state, next) = match outcome {
                            $crate::SendOutcome::Sent => ("sent", at),
                            $crate::SendOutcome::Retry { retry_at, .. } => {
                                ("pending", $crate::common::ts(*retry_at))
                            }
                            $crate::SendOutcome::Failed { .. } | $crate::SendOutcome::Skipped { .. } => {
                                ("failed", at)
                            }
                        };
                        let changed = ::sqlx::query::<$db>(
                            "UPDATE campaign_recipients SET state = $3, attempts = attempts + 1, \
                                 next_attempt_at = $4, \
                                 sent_at = CASE WHEN $3 = 'sent' THEN $5 ELSE sent_at END \
                             WHERE campaign_id = $1 AND user_id = $2 AND state = 'pending'",
                        )
                        .bind(campaign.0)
                        .bind(user.0)
                        .bind(state)
                        .bind(next)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        match (changed, state) {
                            (1, "sent") => sent += 1,
                            (1, "failed") => failed += 1,
                            _ => {}
                        }
                    }
                    ::sqlx::query::<$db>(
                        "UPDATE campaigns SET sent = sent + $2, failed = failed + $3 WHERE id = $1",
                    )
                    .bind(campaign.0)
                    .bind(sent)
                    .bind(failed)
                    .execute(&mut *tx)
                    .await?;
                    Self::finish_if_done(&mut *tx, campaign.0, at).await
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn record_campaign_open(
                &self,
                campaign: ::otklik_domain::CampaignId,
                user: ::otklik_domain::UserId,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    let changed = ::sqlx::query::<$db>(
                        "UPDATE campaign_recipients SET opened_at = $3 \
                         WHERE campaign_id = $1 AND user_id = $2 AND opened_at IS NULL",
                    )
                    .bind(campaign.0)
                    .bind(user.0)
                    .bind($crate::common::ts(now))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if changed == 1 {
                        ::sqlx::query::<$db>("UPDATE campaigns SET opened = opened + 1 WHERE id = $1")
                            .bind(campaign.0)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Ok(())
                }
                .await;
                $crate::common::finish(tx, result).await
            }
        }

        impl $store {
            /// A running campaign whose recipients are all sent to (or given up on) is
            /// finished.
            async fn finish_if_done(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                campaign: i64,
                at: i64,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "UPDATE campaigns SET status = 'finished', finished_at = $2 \
                     WHERE id = $1 AND status = 'running' AND NOT EXISTS \
                         (SELECT 1 FROM campaign_recipients r \
                          WHERE r.campaign_id = $1 AND r.state = 'pending')",
                )
                .bind(campaign)
                .bind(at)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_notifications;
