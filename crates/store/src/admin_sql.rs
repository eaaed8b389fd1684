//! Territories, routing rules, deadline policies, calendars, the configuration record,
//! procedure incidents and the monitor: the `Admin` trait for both backends, written once
//! like `common::impl_store!`.

use otklik_domain::lifecycle::IncidentKind;

/// `(region_id, municipality_id)` columns of a rule's scope.
pub(crate) fn scope_columns(scope: crate::RouteScope) -> (Option<i64>, Option<i64>) {
    match scope {
        crate::RouteScope::Federal => (None, None),
        crate::RouteScope::Region(region) => (Some(region.0), None),
        crate::RouteScope::Municipality(region, municipality) => {
            (Some(region.0), Some(municipality.0))
        }
    }
}

pub(crate) fn scope_of(
    region: Option<i64>,
    municipality: Option<i64>,
) -> crate::StoreResult<crate::RouteScope> {
    use otklik_domain::{MunicipalityId, RegionId};
    match (region, municipality) {
        (None, None) => Ok(crate::RouteScope::Federal),
        (Some(region), None) => Ok(crate::RouteScope::Region(RegionId(region))),
        (Some(region), Some(m)) => Ok(crate::RouteScope::Municipality(
            RegionId(region),
            MunicipalityId(m),
        )),
        (None, Some(_)) => Err(crate::common::corrupt("routes scope")),
    }
}

/// The label a routing decision records.
pub(crate) fn route_label(id: i64, region: Option<i64>, municipality: Option<i64>) -> String {
    match (region, municipality) {
        (_, Some(_)) => format!("municipality:{id}"),
        (Some(_), None) => format!("region:{id}"),
        (None, None) => format!("federal:{id}"),
    }
}

/// What a register row is about (the table's CHECK: exactly one of the two).
#[derive(Debug, Clone, Copy)]
pub(crate) enum RegisterSubject {
    Submission(i64),
    SocialIncident(i64),
}

/// A row of the procedure incident register.
pub(crate) struct RegisterRow {
    pub kind: IncidentKind,
    pub subject: RegisterSubject,
    pub org: Option<i64>,
    pub region: Option<i64>,
    pub due_at: Option<i64>,
    pub at: i64,
}

/// The canonical log leaf of an incident (no personal data: ids and instants only). A
/// submission's leaf has no `social_incident` key and a social incident's no `submission`
/// key; analytics counts the leaves that name a submission.
#[derive(serde::Serialize)]
struct IncidentLeaf<'a> {
    v: u32,
    event: &'static str,
    incident: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    submission: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    social_incident: Option<i64>,
    org: Option<i64>,
    region: Option<i64>,
    due_at: Option<i64>,
    at: i64,
}

impl RegisterRow {
    /// The subject as the table's two columns: `(submission_id, social_incident_id)`.
    pub fn subject_ids(&self) -> (Option<i64>, Option<i64>) {
        match self.subject {
            RegisterSubject::Submission(id) => (Some(id), None),
            RegisterSubject::SocialIncident(id) => (None, Some(id)),
        }
    }

    pub fn leaf(&self) -> Vec<u8> {
        let (submission, social_incident) = self.subject_ids();
        serde_json::to_vec(&IncidentLeaf {
            v: 1,
            event: "incident",
            incident: self.kind.as_str(),
            submission,
            social_incident,
            org: self.org,
            region: self.region,
            due_at: self.due_at,
            at: self.at,
        })
        .unwrap_or_default()
    }
}

/// The log leaf of a register incident's resolution: which row, about what, when.
pub(crate) fn resolved_leaf(
    incident: i64,
    submission: Option<i64>,
    social_incident: Option<i64>,
    at: i64,
) -> Vec<u8> {
    let mut leaf = serde_json::json!({
        "v": 1,
        "event": "incident_resolved",
        "register_incident": incident,
        "at": at,
    });
    if let Some(map) = leaf.as_object_mut() {
        if let Some(id) = submission {
            map.insert("submission".to_owned(), id.into());
        }
        if let Some(id) = social_incident {
            map.insert("social_incident".to_owned(), id.into());
        }
    }
    serde_json::to_vec(&leaf).unwrap_or_default()
}

/// The log leaf of a recompute run.
pub(crate) fn recompute_leaf(checked: u64, changed: u64, cause: &str, at: i64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "v": 1,
        "event": "deadlines_recomputed",
        "cause": cause,
        "checked": checked,
        "changed": changed,
        "at": at,
    }))
    .unwrap_or_default()
}

#[derive(sqlx::FromRow)]
pub(crate) struct IncidentRow {
    pub id: i64,
    pub kind: String,
    pub submission_id: Option<i64>,
    pub created_at: Option<i64>,
    pub social_incident_id: Option<i64>,
    pub org_id: Option<i64>,
    pub org_name: Option<String>,
    pub region_id: Option<i64>,
    pub region_name: Option<String>,
    pub due_at: Option<i64>,
    pub detected_at: i64,
    pub resolved_at: Option<i64>,
    pub resolution: Option<String>,
}

/// The columns of [`IncidentRow`], over `incidents i` joined by [`INCIDENT_JOINS`].
pub(crate) const INCIDENT_COLUMNS: &str = "i.id, i.kind, i.submission_id, s.created_at, \
     i.social_incident_id, i.org_id, o.name AS org_name, i.region_id, r.name AS region_name, \
     i.due_at, i.detected_at, i.resolved_at, i.resolution";

/// Outer joins: a social incident's row has no submission and may have no organisation.
pub(crate) const INCIDENT_JOINS: &str = "LEFT JOIN submissions s ON s.id = i.submission_id \
     LEFT JOIN organisations o ON o.id = i.org_id \
     LEFT JOIN regions r ON r.id = i.region_id";

impl IncidentRow {
    pub fn into_model(self) -> crate::StoreResult<crate::IncidentRecord> {
        use crate::common::{corrupt, from_ts};
        use otklik_domain::*;
        let subject = match (self.submission_id, self.created_at, self.social_incident_id) {
            (Some(id), Some(created_at), None) => {
                let submission = SubmissionId(id);
                crate::IncidentSubject::Submission {
                    id: submission,
                    number: RegistrationNumber::new(submission, from_ts(created_at)?),
                }
            }
            (None, None, Some(social)) => crate::IncidentSubject::Social(social),
            _ => return Err(corrupt("incidents.subject")),
        };
        Ok(crate::IncidentRecord {
            id: IncidentId(self.id),
            kind: IncidentKind::parse(&self.kind).map_err(|_| corrupt("incidents.kind"))?,
            subject,
            org: self.org_id.map(OrgId),
            org_name: self.org_name,
            region: self.region_id.map(RegionId),
            region_name: self.region_name,
            due_at: self.due_at.map(from_ts).transpose()?,
            detected_at: from_ts(self.detected_at)?,
            resolved_at: self.resolved_at.map(from_ts).transpose()?,
            resolution: self.resolution,
        })
    }
}

/// The WHERE clause of an incident query, numbered from `$1`.
pub(crate) fn incident_filter(
    query: &crate::IncidentQuery,
    with_kind: bool,
) -> (String, Vec<crate::common::Param>) {
    use crate::common::Param;
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    let mut push = |sql: &str, param: Param| {
        params.push(param);
        conditions.push(sql.replace('?', &format!("${}", params.len())));
    };
    if let (true, Some(kind)) = (with_kind, query.kind) {
        push("i.kind = ?", Param::Text(kind.as_str()));
    }
    if let Some(region) = query.region {
        push("i.region_id = ?", Param::Int(region.0));
    }
    if let Some(org) = query.org {
        push("i.org_id = ?", Param::Int(org.0));
    }
    let mut clause = conditions.join(" AND ");
    if let Some(resolved) = query.resolved {
        let test = if resolved {
            "i.resolved_at IS NOT NULL"
        } else {
            "i.resolved_at IS NULL"
        };
        if !clause.is_empty() {
            clause.push_str(" AND ");
        }
        clause.push_str(test);
    }
    let clause = if clause.is_empty() {
        String::new()
    } else {
        format!(" WHERE {clause}")
    };
    (clause, params)
}

macro_rules! impl_admin {
    (
        store: $store:ty,
        db: $db:ty,
        write: $write:ident,
        read: $read:ident,
        lock: $lock:literal,
        begin_write: $begin_write:literal,
        begin_read: $begin_read:literal $(,)?
    ) => {
        impl $store {
            /// The calendar of a region (None: federal), from the cache when the layers
            /// have not changed.
            async fn calendar_in(
                cache: &$crate::calendars::CalendarCache,
                conn: &mut <$db as ::sqlx::Database>::Connection,
                region: Option<&str>,
            ) -> $crate::StoreResult<::std::sync::Arc<::otklik_domain::calendar::ProductionCalendar>> {
                let version = $crate::calendars::version_of(
                    ::sqlx::query_scalar::<$db, Vec<u8>>("SELECT value FROM settings WHERE key = $1")
                        .bind($crate::calendars::VERSION_KEY)
                        .fetch_optional(&mut *conn)
                        .await?,
                );
                let key = $crate::calendars::layer(region);
                if let Some(calendar) = cache.get(version, key) {
                    return Ok(calendar);
                }
                let rows = ::sqlx::query_as::<$db, (String, String, String)>(
                    "SELECT region_code, day, kind FROM calendar_days \
                     WHERE region_code = '' OR region_code = $1 ORDER BY day",
                )
                .bind(key)
                .fetch_all(&mut *conn)
                .await?;
                let (mut federal, mut own) = (Vec::new(), Vec::new());
                for (code, day, kind) in rows {
                    let entry = $crate::calendars::entry_of(&day, &kind)?;
                    if code.is_empty() {
                        federal.push(entry);
                    } else {
                        own.push(entry);
                    }
                }
                let calendar = ::std::sync::Arc::new($crate::calendars::build(federal, own));
                cache.put(version, key, calendar.clone());
                Ok(calendar)
            }

            /// The policy for a kind and subcategory: the subcategory's own, else the
            /// kind's, else the domain's default.
            async fn policy_in(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                kind: ::otklik_domain::lifecycle::SubmissionKind,
                subcategory: i64,
            ) -> $crate::StoreResult<::otklik_domain::calendar::DeadlinePolicy> {
                let spec = ::sqlx::query_scalar::<$db, String>(
                    "SELECT spec FROM deadline_policies \
                     WHERE kind = $1 AND (subcategory_id = $2 OR subcategory_id IS NULL) \
                     ORDER BY subcategory_id IS NULL LIMIT 1",
                )
                .bind(kind.as_str())
                .bind(subcategory)
                .fetch_optional(&mut *conn)
                .await?;
                match spec {
                    Some(spec) => $crate::terms::policy_of(&spec),
                    None => Ok(::otklik_domain::calendar::DeadlinePolicy::default_for(kind)),
                }
            }

            /// What a deadline at organisation `org` depends on.
            async fn term_context(
                cache: &$crate::calendars::CalendarCache,
                conn: &mut <$db as ::sqlx::Database>::Connection,
                org: i64,
                kind: ::otklik_domain::lifecycle::SubmissionKind,
                subcategory: i64,
            ) -> $crate::StoreResult<$crate::terms::TermContext> {
                let (offset, region) = ::sqlx::query_as::<$db, (i64, Option<String>)>(
                    "SELECT o.utc_offset_minutes, r.code FROM organisations o \
                     LEFT JOIN regions r ON r.id = o.region_id WHERE o.id = $1",
                )
                .bind(org)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or($crate::StoreError::InvalidReference("unknown_organisation"))?;
                let zone = $crate::common::zone(offset)
                    .ok_or_else(|| $crate::common::corrupt("utc_offset_minutes"))?;
                let calendar = Self::calendar_in(cache, &mut *conn, region.as_deref()).await?;
                let policy = Self::policy_in(&mut *conn, kind, subcategory).await?;
                Ok($crate::terms::TermContext {
                    policy,
                    calendar,
                    zone,
                })
            }

            /// The most specific rule for (subcategory, region, municipality), else the
            /// region's coordinator.
            async fn route_in(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                subcategory: i64,
                region: i64,
                municipality: Option<i64>,
            ) -> $crate::StoreResult<$crate::RouteDecision> {
                let rule = ::sqlx::query_as::<$db, (i64, Option<i64>, Option<i64>, i64)>(
                    "SELECT id, region_id, municipality_id, org_id FROM routes \
                     WHERE subcategory_id = $1 \
                       AND (region_id IS NULL OR region_id = $2) \
                       AND (municipality_id IS NULL OR municipality_id = $3) \
                     ORDER BY municipality_id IS NULL, region_id IS NULL LIMIT 1",
                )
                .bind(subcategory)
                .bind(region)
                .bind(municipality.unwrap_or(-1))
                .fetch_optional(&mut *conn)
                .await?;
                if let Some((id, region, municipality, org)) = rule {
                    return Ok($crate::RouteDecision {
                        org: ::otklik_domain::OrgId(org),
                        label: $crate::admin_sql::route_label(id, region, municipality),
                    });
                }
                let coordinator = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT id FROM organisations WHERE region_id = $1 AND is_coordinator = 1 \
                     ORDER BY id LIMIT 1",
                )
                .bind(region)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or($crate::StoreError::InvalidReference("no_route"))?;
                Ok($crate::RouteDecision {
                    org: ::otklik_domain::OrgId(coordinator),
                    label: "coordinator".to_owned(),
                })
            }

            /// Records a configuration change (who, when, before → after).
            async fn record_change(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                actor: Option<::otklik_domain::UserId>,
                at: ::time::OffsetDateTime,
                entity: &str,
                key: &str,
                before: Option<String>,
                after: Option<String>,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "INSERT INTO config_changes (actor_id, at, entity, entity_key, before, after) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(actor.map(|a| a.0))
                .bind($crate::common::ts(at))
                .bind(entity)
                .bind(key)
                .bind(before)
                .bind(after)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// Records an incident once (per submission, kind and deadline) and appends
            /// its leaf to the log; returns whether it was new.
            async fn raise_incident(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                kind: ::otklik_domain::lifecycle::IncidentKind,
                submission: i64,
                org: i64,
                region: i64,
                due_at: Option<i64>,
                at: i64,
            ) -> $crate::StoreResult<bool> {
                let row = $crate::admin_sql::RegisterRow {
                    kind,
                    subject: $crate::admin_sql::RegisterSubject::Submission(submission),
                    org: Some(org),
                    region: Some(region),
                    due_at,
                    at,
                };
                Self::raise(conn, &row).await
            }

            /// Records a register row once (per subject, kind and deadline) with its log
            /// leaf; returns whether it was new.
            async fn raise(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                row: &$crate::admin_sql::RegisterRow,
            ) -> $crate::StoreResult<bool> {
                let raised = Self::raise_all(conn, ::std::slice::from_ref(row)).await?;
                Ok(raised.first().copied().unwrap_or(false))
            }

            /// Records register rows once each with their log leaves; returns which were
            /// new. Every row goes in before the first leaf: a row waits for its subject's
            /// lock, which an action in progress holds while it waits for the log's, so a
            /// transaction that holds the log's lock must not wait for another row after
            /// it (two nodes deadlocked so: a push batch raising two alerts, an answer).
            async fn raise_all(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                rows: &[$crate::admin_sql::RegisterRow],
            ) -> $crate::StoreResult<Vec<bool>> {
                let mut inserted = Vec::with_capacity(rows.len());
                for row in rows {
                    let (submission, social_incident) = row.subject_ids();
                    inserted.push(
                        ::sqlx::query::<$db>(
                            "INSERT INTO incidents (kind, submission_id, social_incident_id, org_id, \
                                 region_id, due_at, detected_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                        )
                        .bind(row.kind.as_str())
                        .bind(submission)
                        .bind(social_incident)
                        .bind(row.org)
                        .bind(row.region)
                        .bind(row.due_at)
                        .bind(row.at)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected()
                            == 1,
                    );
                }
                for (row, new) in rows.iter().zip(&inserted) {
                    if *new {
                        let (submission, _) = row.subject_ids();
                        Self::log_append(&mut *conn, "incident", submission, None, &row.leaf(), &[], row.at)
                            .await?;
                    }
                }
                Ok(inserted)
            }

            /// Bumps the calendar version so that every node rebuilds its calendars.
            async fn bump_calendar_version(
                conn: &mut <$db as ::sqlx::Database>::Connection,
            ) -> $crate::StoreResult<()> {
                let version = $crate::calendars::version_of(
                    ::sqlx::query_scalar::<$db, Vec<u8>>("SELECT value FROM settings WHERE key = $1")
                        .bind($crate::calendars::VERSION_KEY)
                        .fetch_optional(&mut *conn)
                        .await?,
                );
                ::sqlx::query::<$db>(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind($crate::calendars::VERSION_KEY)
                .bind($crate::calendars::version_bytes(version + 1))
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            async fn recompute_with_cause(
                &self,
                at: ::time::OffsetDateTime,
                cause: &str,
            ) -> $crate::StoreResult<$crate::RecomputeReport> {
                const BATCH: i64 = 2_000;
                let at = $crate::common::whole_seconds(at)?;
                let mut report = $crate::RecomputeReport::default();
                let mut contexts: ::std::collections::HashMap<(i64, String, i64), $crate::terms::TermContext> =
                    ::std::collections::HashMap::new();
                let mut after = 0i64;
                loop {
                    let mut tx = self.$write().begin_with($begin_write).await?;
                    let sql = format!(
                        "SELECT id, kind, subcategory_id, org_id, term_started_at, pauses, \
                                extension_days, deadline_at \
                         FROM submissions WHERE status IN ({}) AND id > $1 ORDER BY id LIMIT $2",
                        $crate::common::open_statuses_sql(true)
                    );
                    let rows = ::sqlx::query_as::<$db, (i64, String, i64, i64, i64, String, i64, i64)>(&sql)
                        .bind(after)
                        .bind(BATCH)
                        .fetch_all(&mut *tx)
                        .await?;
                    let Some(last) = rows.last() else {
                        tx.commit().await?;
                        break;
                    };
                    after = last.0;
                    let mut changed = Vec::new();
                    for (id, kind, subcategory, org, started, pauses, extension, deadline) in rows {
                        let key = (org, kind.clone(), subcategory);
                        if !contexts.contains_key(&key) {
                            let context = Self::term_context(
                                &self.calendars,
                                &mut *tx,
                                org,
                                $crate::common::kind_of(&kind)?,
                                subcategory,
                            )
                            .await?;
                            contexts.insert(key.clone(), context);
                        }
                        let Some(context) = contexts.get(&key) else { continue };
                        let due = context.answer_due(
                            $crate::common::from_ts(started)?,
                            &$crate::terms::pauses_of(&pauses)?,
                            u32::try_from(extension).unwrap_or(0),
                        )?;
                        report.checked += 1;
                        let due = $crate::common::ts(due);
                        if due != deadline {
                            changed.push((id, due));
                        }
                    }
                    // One statement per 1,000 rows, joined to a VALUES list (integers only,
                    // so nothing to escape): both backends name its columns column1, column2.
                    for chunk in changed.chunks(1_000) {
                        let values = chunk
                            .iter()
                            .map(|(id, due)| format!("({id}, {due})"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        let sql = format!(
                            "UPDATE submissions SET deadline_at = v.column2 \
                             FROM (VALUES {values}) AS v WHERE submissions.id = v.column1"
                        );
                        ::sqlx::query::<$db>(&sql).persistent(false).execute(&mut *tx).await?;
                    }
                    report.changed += changed.len() as u64;
                    tx.commit().await?;
                }
                if report.changed > 0 {
                    let mut tx = self.$write().begin_with($begin_write).await?;
                    let at_ts = $crate::common::ts(at);
                    let data = $crate::admin_sql::recompute_leaf(report.checked, report.changed, cause, at_ts);
                    Self::log_append(&mut *tx, "deadlines_recomputed", None, None, &data, &[], at_ts)
                        .await?;
                    tx.commit().await?;
                }
                Ok(report)
            }
        }

        #[::async_trait::async_trait]
        impl $crate::Admin for $store {
            async fn ensure_regions(
                &self,
                subjects: &[$crate::FederalSubjectRow],
            ) -> $crate::StoreResult<u64> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let mut new = 0;
                for subject in subjects {
                    $crate::common::check_offset(subject.utc_offset_minutes)?;
                    let existed = ::sqlx::query_scalar::<$db, i64>(
                        "SELECT COUNT(*) FROM regions WHERE code = $1",
                    )
                    .bind(&subject.code)
                    .fetch_one(&mut *tx)
                    .await?;
                    ::sqlx::query::<$db>(
                        "INSERT INTO regions (code, name, utc_offset_minutes, okato, federal_district) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (code) DO UPDATE \
                         SET okato = excluded.okato, federal_district = excluded.federal_district",
                    )
                    .bind(&subject.code)
                    .bind(&subject.name)
                    .bind(i64::from(subject.utc_offset_minutes))
                    .bind(&subject.okato)
                    .bind(&subject.federal_district)
                    .execute(&mut *tx)
                    .await?;
                    if existed == 0 {
                        new += 1;
                    }
                }
                tx.commit().await?;
                self.regions.forget();
                Ok(new)
            }

            async fn region_by_code(
                &self,
                code: &str,
            ) -> $crate::StoreResult<Option<$crate::Region>> {
                ::sqlx::query_as::<$db, $crate::common::RegionRow>(
                    "SELECT id, code, name, utc_offset_minutes, okato, federal_district FROM regions \
                     WHERE code = $1",
                )
                .bind(code)
                .fetch_optional(self.$read())
                .await?
                .map($crate::common::RegionRow::into_model)
                .transpose()
            }

            async fn import_municipalities(
                &self,
                rows: &[$crate::NewMunicipality],
            ) -> $crate::StoreResult<(u64, u64)> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let (mut inserted, mut updated) = (0u64, 0u64);
                for row in rows {
                    $crate::common::check_offset(row.utc_offset_minutes)?;
                    let regions = ::sqlx::query_scalar::<$db, i64>(
                        "SELECT COUNT(*) FROM regions WHERE id = $1",
                    )
                    .bind(row.region.0)
                    .fetch_one(&mut *tx)
                    .await?;
                    if regions == 0 {
                        return Err($crate::StoreError::InvalidReference("unknown_region"));
                    }
                    let existing = ::sqlx::query_scalar::<$db, i64>(
                        "SELECT id FROM municipalities WHERE oktmo = $1",
                    )
                    .bind(&row.oktmo)
                    .fetch_optional(&mut *tx)
                    .await?;
                    match existing {
                        Some(id) => {
                            ::sqlx::query::<$db>(
                                "UPDATE municipalities SET name = $2, region_id = $3, \
                                     utc_offset_minutes = $4 WHERE id = $1",
                            )
                            .bind(id)
                            .bind(&row.name)
                            .bind(row.region.0)
                            .bind(i64::from(row.utc_offset_minutes))
                            .execute(&mut *tx)
                            .await?;
                            updated += 1;
                        }
                        None => {
                            ::sqlx::query::<$db>(
                                "INSERT INTO municipalities (region_id, oktmo, name, utc_offset_minutes) \
                                 VALUES ($1, $2, $3, $4)",
                            )
                            .bind(row.region.0)
                            .bind(&row.oktmo)
                            .bind(&row.name)
                            .bind(i64::from(row.utc_offset_minutes))
                            .execute(&mut *tx)
                            .await?;
                            inserted += 1;
                        }
                    }
                }
                tx.commit().await?;
                Ok((inserted, updated))
            }

            async fn municipalities(
                &self,
                region: ::otklik_domain::RegionId,
            ) -> $crate::StoreResult<Vec<$crate::Municipality>> {
                let rows = ::sqlx::query_as::<$db, (i64, i64, String, String, i64)>(
                    "SELECT id, region_id, oktmo, name, utc_offset_minutes FROM municipalities \
                     WHERE region_id = $1 ORDER BY name",
                )
                .bind(region.0)
                .fetch_all(self.$read())
                .await?;
                rows.into_iter()
                    .map(|(id, region, oktmo, name, offset)| {
                        Ok($crate::Municipality {
                            id: ::otklik_domain::MunicipalityId(id),
                            region: ::otklik_domain::RegionId(region),
                            oktmo,
                            name,
                            utc_offset_minutes: $crate::common::i32_of(offset, "utc_offset_minutes")?,
                        })
                    })
                    .collect()
            }

            async fn route_decision(
                &self,
                subcategory: ::otklik_domain::SubcategoryId,
                region: ::otklik_domain::RegionId,
                municipality: Option<::otklik_domain::MunicipalityId>,
            ) -> $crate::StoreResult<$crate::RouteDecision> {
                let mut conn = self.$read().acquire().await?;
                Self::route_in(&mut *conn, subcategory.0, region.0, municipality.map(|m| m.0)).await
            }

            async fn routes(
                &self,
                subcategory: Option<::otklik_domain::SubcategoryId>,
            ) -> $crate::StoreResult<Vec<$crate::RouteRule>> {
                let rows = ::sqlx::query_as::<$db, (i64, i64, Option<i64>, Option<i64>, i64)>(
                    "SELECT id, subcategory_id, region_id, municipality_id, org_id FROM routes \
                     WHERE ($1 = 0 OR subcategory_id = $1) \
                     ORDER BY subcategory_id, region_id IS NOT NULL, region_id, municipality_id",
                )
                .bind(subcategory.map_or(0, |s| s.0))
                .fetch_all(self.$read())
                .await?;
                rows.into_iter()
                    .map(|(id, subcategory, region, municipality, org)| {
                        Ok($crate::RouteRule {
                            id: ::otklik_domain::RouteId(id),
                            subcategory: ::otklik_domain::SubcategoryId(subcategory),
                            scope: $crate::admin_sql::scope_of(region, municipality)?,
                            org: ::otklik_domain::OrgId(org),
                        })
                    })
                    .collect()
            }

            async fn put_route(
                &self,
                actor: Option<::otklik_domain::UserId>,
                subcategory: ::otklik_domain::SubcategoryId,
                scope: $crate::RouteScope,
                org: ::otklik_domain::OrgId,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<::otklik_domain::RouteId> {
                let (region, municipality) = $crate::admin_sql::scope_columns(scope);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let (subs, orgs, regions, municipalities) =
                    ::sqlx::query_as::<$db, (i64, i64, i64, i64)>(
                        "SELECT (SELECT COUNT(*) FROM subcategories WHERE id = $1), \
                                (SELECT COUNT(*) FROM organisations WHERE id = $2), \
                                (SELECT COUNT(*) FROM regions WHERE id = $3), \
                                (SELECT COUNT(*) FROM municipalities WHERE id = $4 AND region_id = $3)",
                    )
                    .bind(subcategory.0)
                    .bind(org.0)
                    .bind(region.unwrap_or(-1))
                    .bind(municipality.unwrap_or(-1))
                    .fetch_one(&mut *tx)
                    .await?;
                if subs == 0 {
                    return Err($crate::StoreError::InvalidReference("unknown_subcategory"));
                }
                if orgs == 0 {
                    return Err($crate::StoreError::InvalidReference("unknown_organisation"));
                }
                if region.is_some() && regions == 0 {
                    return Err($crate::StoreError::InvalidReference("unknown_region"));
                }
                if municipality.is_some() && municipalities == 0 {
                    return Err($crate::StoreError::InvalidReference("unknown_municipality"));
                }
                let existing = ::sqlx::query_as::<$db, (i64, i64)>(
                    "SELECT id, org_id FROM routes WHERE subcategory_id = $1 \
                     AND COALESCE(region_id, 0) = $2 AND COALESCE(municipality_id, 0) = $3",
                )
                .bind(subcategory.0)
                .bind(region.unwrap_or(0))
                .bind(municipality.unwrap_or(0))
                .fetch_optional(&mut *tx)
                .await?;
                let (id, before) = match existing {
                    Some((id, before)) => {
                        ::sqlx::query::<$db>("UPDATE routes SET org_id = $2 WHERE id = $1")
                            .bind(id)
                            .bind(org.0)
                            .execute(&mut *tx)
                            .await?;
                        (id, Some(before))
                    }
                    None => {
                        let id = ::sqlx::query_scalar::<$db, i64>(
                            "INSERT INTO routes (subcategory_id, region_id, municipality_id, org_id) \
                             VALUES ($1, $2, $3, $4) RETURNING id",
                        )
                        .bind(subcategory.0)
                        .bind(region)
                        .bind(municipality)
                        .bind(org.0)
                        .fetch_one(&mut *tx)
                        .await?;
                        (id, None)
                    }
                };
                let describe = |org: i64| {
                    ::serde_json::json!({
                        "subcategory": subcategory.0,
                        "region": region,
                        "municipality": municipality,
                        "org": org,
                    })
                    .to_string()
                };
                Self::record_change(
                    &mut *tx,
                    actor,
                    at,
                    "route",
                    &id.to_string(),
                    before.map(describe),
                    Some(describe(org.0)),
                )
                .await?;
                tx.commit().await?;
                Ok(::otklik_domain::RouteId(id))
            }

            async fn delete_route(
                &self,
                actor: Option<::otklik_domain::UserId>,
                id: ::otklik_domain::RouteId,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let row = ::sqlx::query_as::<$db, (i64, Option<i64>, Option<i64>, i64)>(
                    "SELECT subcategory_id, region_id, municipality_id, org_id FROM routes WHERE id = $1",
                )
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or($crate::StoreError::NotFound)?;
                ::sqlx::query::<$db>("DELETE FROM routes WHERE id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                let before = ::serde_json::json!({
                    "subcategory": row.0, "region": row.1, "municipality": row.2, "org": row.3,
                })
                .to_string();
                Self::record_change(&mut *tx, actor, at, "route", &id.0.to_string(), Some(before), None)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn policies(&self) -> $crate::StoreResult<Vec<$crate::PolicyRecord>> {
                let rows = ::sqlx::query_as::<$db, (String, Option<i64>, String)>(
                    "SELECT kind, subcategory_id, spec FROM deadline_policies \
                     ORDER BY kind, subcategory_id IS NOT NULL, subcategory_id",
                )
                .fetch_all(self.$read())
                .await?;
                rows.into_iter()
                    .map(|(kind, subcategory, spec)| {
                        Ok($crate::PolicyRecord {
                            kind: $crate::common::kind_of(&kind)?,
                            subcategory: subcategory.map(::otklik_domain::SubcategoryId),
                            spec_json: spec,
                        })
                    })
                    .collect()
            }

            async fn put_policy(
                &self,
                actor: Option<::otklik_domain::UserId>,
                kind: ::otklik_domain::lifecycle::SubmissionKind,
                subcategory: Option<::otklik_domain::SubcategoryId>,
                policy: &::otklik_domain::calendar::DeadlinePolicy,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::RecomputeReport> {
                let spec = ::serde_json::to_string(policy)
                    .map_err(|_| $crate::common::corrupt("policy"))?;
                let mut tx = self.$write().begin_with($begin_write).await?;
                if let Some(sub) = subcategory {
                    let found = ::sqlx::query_scalar::<$db, i64>(
                        "SELECT COUNT(*) FROM subcategories WHERE id = $1",
                    )
                    .bind(sub.0)
                    .fetch_one(&mut *tx)
                    .await?;
                    if found == 0 {
                        return Err($crate::StoreError::InvalidReference("unknown_subcategory"));
                    }
                }
                let before = ::sqlx::query_as::<$db, (i64, String)>(
                    "SELECT id, spec FROM deadline_policies \
                     WHERE kind = $1 AND COALESCE(subcategory_id, 0) = $2",
                )
                .bind(kind.as_str())
                .bind(subcategory.map_or(0, |s| s.0))
                .fetch_optional(&mut *tx)
                .await?;
                match &before {
                    Some((id, _)) => {
                        ::sqlx::query::<$db>(
                            "UPDATE deadline_policies SET spec = $2, updated_at = $3 WHERE id = $1",
                        )
                        .bind(*id)
                        .bind(&spec)
                        .bind($crate::common::ts(at))
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        ::sqlx::query::<$db>(
                            "INSERT INTO deadline_policies (kind, subcategory_id, spec, updated_at) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(kind.as_str())
                        .bind(subcategory.map(|s| s.0))
                        .bind(&spec)
                        .bind($crate::common::ts(at))
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                let key = format!(
                    "{}:{}",
                    kind.as_str(),
                    subcategory.map_or("*".to_owned(), |s| s.0.to_string())
                );
                Self::record_change(&mut *tx, actor, at, "deadline_policy", &key, before.map(|b| b.1), Some(spec))
                    .await?;
                tx.commit().await?;
                self.recompute_with_cause(at, "deadline_policy").await
            }

            async fn calendar_days(
                &self,
                region: Option<&str>,
            ) -> $crate::StoreResult<Vec<::otklik_domain::calendar::CalendarEntry>> {
                let rows = ::sqlx::query_as::<$db, (String, String)>(
                    "SELECT day, kind FROM calendar_days WHERE region_code = $1 ORDER BY day",
                )
                .bind($crate::calendars::layer(region))
                .fetch_all(self.$read())
                .await?;
                rows.iter()
                    .map(|(day, kind)| $crate::calendars::entry_of(day, kind))
                    .collect()
            }

            async fn put_calendar_days(
                &self,
                actor: Option<::otklik_domain::UserId>,
                region: Option<&str>,
                days: &[::otklik_domain::calendar::CalendarEntry],
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::RecomputeReport> {
                let layer = $crate::calendars::layer(region);
                let mut tx = self.$write().begin_with($begin_write).await?;
                if let Some(code) = region {
                    let found = ::sqlx::query_scalar::<$db, i64>(
                        "SELECT COUNT(*) FROM regions WHERE code = $1",
                    )
                    .bind(code)
                    .fetch_one(&mut *tx)
                    .await?;
                    if found == 0 {
                        return Err($crate::StoreError::InvalidReference("unknown_region"));
                    }
                } else {
                    // The federal layer holds whole years: an import replaces its years.
                    let mut years: Vec<i32> = days.iter().map(|d| d.date.year()).collect();
                    years.sort_unstable();
                    years.dedup();
                    for year in years {
                        ::sqlx::query::<$db>(
                            "DELETE FROM calendar_days WHERE region_code = '' AND day LIKE $1",
                        )
                        .bind(format!("{year:04}-%"))
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                for day in days {
                    ::sqlx::query::<$db>(
                        "INSERT INTO calendar_days (region_code, day, kind) VALUES ($1, $2, $3) \
                         ON CONFLICT (region_code, day) DO UPDATE SET kind = excluded.kind",
                    )
                    .bind(layer)
                    .bind($crate::calendars::day_text(day.date))
                    .bind(day.kind.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
                let summary = ::serde_json::json!({
                    "days": days.iter().map(|d| format!("{} {}", $crate::calendars::day_text(d.date), d.kind.as_str())).collect::<Vec<_>>(),
                })
                .to_string();
                Self::record_change(&mut *tx, actor, at, "calendar", if layer.is_empty() { "federal" } else { layer }, None, Some(summary))
                    .await?;
                Self::bump_calendar_version(&mut *tx).await?;
                tx.commit().await?;
                self.recompute_with_cause(at, "calendar").await
            }

            async fn delete_calendar_day(
                &self,
                actor: Option<::otklik_domain::UserId>,
                region: Option<&str>,
                day: ::time::Date,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::RecomputeReport> {
                let layer = $crate::calendars::layer(region);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let kind = ::sqlx::query_scalar::<$db, String>(
                    "SELECT kind FROM calendar_days WHERE region_code = $1 AND day = $2",
                )
                .bind(layer)
                .bind($crate::calendars::day_text(day))
                .fetch_optional(&mut *tx)
                .await?
                .ok_or($crate::StoreError::NotFound)?;
                ::sqlx::query::<$db>("DELETE FROM calendar_days WHERE region_code = $1 AND day = $2")
                    .bind(layer)
                    .bind($crate::calendars::day_text(day))
                    .execute(&mut *tx)
                    .await?;
                Self::record_change(
                    &mut *tx,
                    actor,
                    at,
                    "calendar",
                    if layer.is_empty() { "federal" } else { layer },
                    Some(format!("{} {kind}", $crate::calendars::day_text(day))),
                    None,
                )
                .await?;
                Self::bump_calendar_version(&mut *tx).await?;
                tx.commit().await?;
                self.recompute_with_cause(at, "calendar").await
            }

            async fn calendar(
                &self,
                region: Option<&str>,
            ) -> $crate::StoreResult<::std::sync::Arc<::otklik_domain::calendar::ProductionCalendar>> {
                let mut conn = self.$read().acquire().await?;
                Self::calendar_in(&self.calendars, &mut *conn, region).await
            }

            async fn recompute_deadlines(
                &self,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::RecomputeReport> {
                self.recompute_with_cause(at, "manual").await
            }

            async fn optimize(&self) -> $crate::StoreResult<()> {
                self.refresh_statistics().await
            }

            async fn monitor(
                &self,
                now: ::time::OffsetDateTime,
                warn_working_days: u32,
            ) -> $crate::StoreResult<$crate::MonitorReport> {
                use ::otklik_domain::calendar::DeadlineStage;
                use ::otklik_domain::lifecycle::{IncidentKind, SubmissionKind};
                let now = $crate::common::whole_seconds(now)?;
                let now_ts = $crate::common::ts(now);
                let mut report = $crate::MonitorReport::default();
                let clock = $crate::common::open_statuses_sql(false);
                // Breached answer deadlines: a range scan of the open-deadline index.
                loop {
                    let mut tx = self.$write().begin_with($begin_write).await?;
                    let sql = format!(
                        "SELECT s.id, s.org_id, s.region_id, s.deadline_at FROM submissions s \
                         WHERE s.status IN ({clock}) AND s.deadline_at < $1 \
                           AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.submission_id = s.id \
                                AND i.kind = 'late_answer' AND i.due_at = s.deadline_at) \
                         ORDER BY s.deadline_at LIMIT 500"
                    );
                    let rows = ::sqlx::query_as::<$db, (i64, i64, i64, i64)>(&sql)
                        .bind(now_ts)
                        .fetch_all(&mut *tx)
                        .await?;
                    if rows.is_empty() {
                        tx.commit().await?;
                        break;
                    }
                    let register: Vec<_> = rows
                        .iter()
                        .map(|(id, org, region, due)| $crate::admin_sql::RegisterRow {
                            kind: IncidentKind::LateAnswer,
                            subject: $crate::admin_sql::RegisterSubject::Submission(*id),
                            org: Some(*org),
                            region: Some(*region),
                            due_at: Some(*due),
                            at: now_ts,
                        })
                        .collect();
                    let raised = Self::raise_all(&mut *tx, &register).await?;
                    for ((id, _, _, due), new) in rows.into_iter().zip(raised) {
                        if new {
                            report.incidents += 1;
                            Self::notify_staff(
                                &mut *tx,
                                id,
                                ::otklik_domain::notify::NotificationKind::DeadlineBreach,
                                &format!("breach:{id}:{due}"),
                                now_ts,
                            )
                            .await?;
                        }
                    }
                    tx.commit().await?;
                }
                // Warnings: deadlines within the next `warn_working_days` working days
                // (counted on the federal calendar, Moscow time).
                let mut conn = self.$read().acquire().await?;
                let federal = Self::calendar_in(&self.calendars, &mut *conn, None).await?;
                drop(conn);
                let moscow = ::time::UtcOffset::from_hms(3, 0, 0)
                    .map_err(|_| $crate::common::corrupt("zone"))?;
                let horizon_day = ::otklik_domain::calendar::add_working_days(
                    &*federal,
                    now.to_offset(moscow).date(),
                    warn_working_days,
                );
                let horizon = $crate::common::ts(
                    horizon_day
                        .with_hms(23, 59, 59)
                        .map_err(|_| $crate::common::corrupt("date"))?
                        .assume_offset(moscow),
                );
                loop {
                    let mut tx = self.$write().begin_with($begin_write).await?;
                    let sql = format!(
                        "SELECT s.id, s.deadline_at FROM submissions s \
                         WHERE s.status IN ({clock}) AND s.deadline_at >= $1 AND s.deadline_at <= $2 \
                           AND NOT EXISTS (SELECT 1 FROM deadline_warnings w \
                                WHERE w.submission_id = s.id AND w.due_at = s.deadline_at) \
                         ORDER BY s.deadline_at LIMIT 500"
                    );
                    let rows = ::sqlx::query_as::<$db, (i64, i64)>(&sql)
                        .bind(now_ts)
                        .bind(horizon)
                        .fetch_all(&mut *tx)
                        .await?;
                    if rows.is_empty() {
                        tx.commit().await?;
                        break;
                    }
                    for (id, due) in rows {
                        ::sqlx::query::<$db>(
                            "INSERT INTO deadline_warnings (submission_id, due_at, warned_at) \
                             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                        )
                        .bind(id)
                        .bind(due)
                        .bind(now_ts)
                        .execute(&mut *tx)
                        .await?;
                        Self::notify_staff(
                            &mut *tx,
                            id,
                            ::otklik_domain::notify::NotificationKind::DeadlineWarning,
                            &format!("warning:{id}:{due}"),
                            now_ts,
                        )
                        .await?;
                        report.warnings += 1;
                    }
                    tx.commit().await?;
                }
                // The coordinator's queue: late moderation (messages) and late redirect
                // (appeals) of what waits there longer than its stage's term.
                let mut tx = self.$write().begin_with($begin_write).await?;
                let waiting = ::sqlx::query_as::<$db, (i64, String, i64, i64, i64, i64)>(
                    "SELECT s.id, s.kind, s.subcategory_id, s.org_id, s.region_id, s.term_started_at \
                     FROM submissions s JOIN organisations o ON o.id = s.org_id \
                     WHERE o.is_coordinator = 1 AND s.status = 'registered' \
                       AND s.term_started_at < $1 ORDER BY s.id",
                )
                .bind(now_ts - 86_400)
                .fetch_all(&mut *tx)
                .await?;
                let mut register = Vec::new();
                for (id, kind, subcategory, org, region, started) in waiting {
                    let kind = $crate::common::kind_of(&kind)?;
                    let context = Self::term_context(&self.calendars, &mut *tx, org, kind, subcategory).await?;
                    let (stage, incident) = match kind {
                        SubmissionKind::Message => (DeadlineStage::Moderation, IncidentKind::LateModeration),
                        SubmissionKind::Appeal => (DeadlineStage::Redirect, IncidentKind::LateRedirect),
                    };
                    let Some(due) = context.stage_due(stage, $crate::common::from_ts(started)?)? else {
                        continue;
                    };
                    if due < now {
                        register.push($crate::admin_sql::RegisterRow {
                            kind: incident,
                            subject: $crate::admin_sql::RegisterSubject::Submission(id),
                            org: Some(org),
                            region: Some(region),
                            due_at: Some($crate::common::ts(due)),
                            at: now_ts,
                        });
                    }
                }
                let raised = Self::raise_all(&mut *tx, &register).await?;
                report.incidents += raised.into_iter().filter(|new| *new).count() as u64;
                tx.commit().await?;
                Ok(report)
            }

            async fn incidents(
                &self,
                query: &$crate::IncidentQuery,
            ) -> $crate::StoreResult<$crate::IncidentPage> {
                use $crate::common::Param;
                let bind_all = |sql: String, params: Vec<Param>| (sql, params);
                let (clause, params) = $crate::admin_sql::incident_filter(query, true);
                let n = params.len();
                let (sql, params) = bind_all(
                    format!(
                        "SELECT {} FROM incidents i {}{clause} \
                         ORDER BY i.detected_at DESC, i.id DESC LIMIT ${} OFFSET ${}",
                        $crate::admin_sql::INCIDENT_COLUMNS,
                        $crate::admin_sql::INCIDENT_JOINS,
                        n + 1,
                        n + 2
                    ),
                    params,
                );
                let mut q = ::sqlx::query_as::<$db, $crate::admin_sql::IncidentRow>(&sql);
                for p in &params {
                    q = match p {
                        Param::Int(v) => q.bind(*v),
                        Param::Text(v) => q.bind(*v),
                        Param::Owned(v) => q.bind(v.clone()),
                    };
                }
                let mut tx = self.$read().begin_with($begin_read).await?;
                let result: $crate::StoreResult<_> = async {
                let rows = q
                    .bind(i64::from(query.limit.clamp(1, 200)))
                    .bind(i64::from(query.offset))
                    .fetch_all(&mut *tx)
                    .await?;
                let count_sql = format!("SELECT COUNT(*) FROM incidents i{clause}");
                let mut count = ::sqlx::query_scalar::<$db, i64>(&count_sql);
                for p in &params {
                    count = match p {
                        Param::Int(v) => count.bind(*v),
                        Param::Text(v) => count.bind(*v),
                        Param::Owned(v) => count.bind(v.clone()),
                    };
                }
                let total = count.fetch_one(&mut *tx).await?;
                let (kind_clause, kind_params) = $crate::admin_sql::incident_filter(query, false);
                let by_kind_sql = format!("SELECT i.kind, COUNT(*) FROM incidents i{kind_clause} GROUP BY i.kind");
                let mut by_kind_q = ::sqlx::query_as::<$db, (String, i64)>(&by_kind_sql);
                for p in &kind_params {
                    by_kind_q = match p {
                        Param::Int(v) => by_kind_q.bind(*v),
                        Param::Text(v) => by_kind_q.bind(*v),
                        Param::Owned(v) => by_kind_q.bind(v.clone()),
                    };
                }
                let counted = by_kind_q.fetch_all(&mut *tx).await?;
                let by_kind = ::otklik_domain::lifecycle::IncidentKind::ALL
                    .iter()
                    .map(|kind| {
                        let n = counted
                            .iter()
                            .find(|(k, _)| k == kind.as_str())
                            .map_or(0, |(_, n)| *n);
                        (*kind, u64::try_from(n).unwrap_or(0))
                    })
                    .collect();
                Ok($crate::IncidentPage {
                    items: rows
                        .into_iter()
                        .map($crate::admin_sql::IncidentRow::into_model)
                        .collect::<$crate::StoreResult<_>>()?,
                    total: u64::try_from(total).unwrap_or(0),
                    by_kind,
                })
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn incident(
                &self,
                id: ::otklik_domain::IncidentId,
            ) -> $crate::StoreResult<$crate::IncidentRecord> {
                ::sqlx::query_as::<$db, $crate::admin_sql::IncidentRow>(&format!(
                    "SELECT {} FROM incidents i {} WHERE i.id = $1",
                    $crate::admin_sql::INCIDENT_COLUMNS,
                    $crate::admin_sql::INCIDENT_JOINS,
                ))
                .bind(id.0)
                .fetch_optional(self.$read())
                .await?
                .ok_or($crate::StoreError::NotFound)?
                .into_model()
            }

            async fn resolve_incident(
                &self,
                actor: ::otklik_domain::UserId,
                id: ::otklik_domain::IncidentId,
                resolution: &::otklik_domain::text::Reason,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let at = $crate::common::ts(at);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let updated = ::sqlx::query::<$db>(
                    "UPDATE incidents SET resolved_at = $2, resolved_by = $3, resolution = $4 \
                     WHERE id = $1 AND resolved_at IS NULL",
                )
                .bind(id.0)
                .bind(at)
                .bind(actor.0)
                .bind(resolution.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 1 {
                    // Its leaf (ids and the instant only: the resolution's text stays out of
                    // the public log), so that followers of the log see it resolved.
                    let (submission, social_incident) = ::sqlx::query_as::<$db, (Option<i64>, Option<i64>)>(
                        "SELECT submission_id, social_incident_id FROM incidents WHERE id = $1",
                    )
                    .bind(id.0)
                    .fetch_one(&mut *tx)
                    .await?;
                    let leaf = $crate::admin_sql::resolved_leaf(id.0, submission, social_incident, at);
                    Self::log_append(&mut *tx, "incident_resolved", submission, None, &leaf, &[], at).await?;
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                if updated == 0 {
                    let exists = ::sqlx::query_scalar::<$db, i64>("SELECT COUNT(*) FROM incidents WHERE id = $1")
                        .bind(id.0)
                        .fetch_one(self.$read())
                        .await?;
                    return Err(if exists == 0 {
                        $crate::StoreError::NotFound
                    } else {
                        $crate::StoreError::Conflict("already_resolved")
                    });
                }
                Ok(())
            }

            async fn warned(
                &self,
                submission: ::otklik_domain::SubmissionId,
            ) -> $crate::StoreResult<bool> {
                let n = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT COUNT(*) FROM deadline_warnings w JOIN submissions s \
                     ON s.id = w.submission_id AND s.deadline_at = w.due_at WHERE s.id = $1",
                )
                .bind(submission.0)
                .fetch_one(self.$read())
                .await?;
                Ok(n > 0)
            }

            async fn region_summaries(
                &self,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<Vec<$crate::RegionSummary>> {
                let open = $crate::common::open_statuses_sql(true);
                let clock = $crate::common::open_statuses_sql(false);
                let sql = format!(
                    "SELECT r.id, r.name, \
                        COALESCE(SUM(CASE WHEN s.status IN ({open}) THEN 1 ELSE 0 END), 0), \
                        COALESCE(SUM(CASE WHEN s.status IN ({clock}) AND s.deadline_at < $1 THEN 1 ELSE 0 END), 0), \
                        COALESCE(SUM(CASE WHEN s.status IN ('answered', 'rated') THEN 1 ELSE 0 END), 0), \
                        (SELECT COUNT(*) FROM incidents i WHERE i.region_id = r.id AND i.resolved_at IS NULL) \
                     FROM regions r JOIN submissions s ON s.region_id = r.id \
                     GROUP BY r.id, r.name ORDER BY r.name"
                );
                let rows = ::sqlx::query_as::<$db, (i64, String, i64, i64, i64, i64)>(&sql)
                    .bind($crate::common::ts(now))
                    .fetch_all(self.$read())
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, name, open, overdue, answered, incidents)| $crate::RegionSummary {
                        region: ::otklik_domain::RegionId(id),
                        region_name: name,
                        open: u64::try_from(open).unwrap_or(0),
                        overdue: u64::try_from(overdue).unwrap_or(0),
                        answered: u64::try_from(answered).unwrap_or(0),
                        incidents_open: u64::try_from(incidents).unwrap_or(0),
                    })
                    .collect())
            }

            async fn operational_gauges(
                &self,
                now: ::time::OffsetDateTime,
                horizon: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::OperationalGauges> {
                let capped = |from_where: &str| {
                    format!(
                        "SELECT COUNT(*) FROM (SELECT 1 FROM {from_where} LIMIT {cap}) capped",
                        cap = $crate::GAUGE_CAP
                    )
                };
                let clock = $crate::common::open_statuses_sql(false);
                let queries = [
                    capped("deliveries WHERE delivered_at IS NULL AND failing_since IS NULL AND $1 = $1 AND $2 = $2"),
                    capped("deliveries WHERE delivered_at IS NULL AND failing_since IS NOT NULL AND $1 = $1 AND $2 = $2"),
                    capped("notification_outbox WHERE state = 'pending' AND $1 = $1 AND $2 = $2"),
                    capped("export_jobs WHERE status IN ('queued', 'running') AND $1 = $1 AND $2 = $2"),
                    capped(&format!(
                        "submissions s WHERE s.status IN ({clock}) AND s.deadline_at < $1 AND $2 = $2"
                    )),
                    capped(&format!(
                        "submissions s WHERE s.status IN ({clock}) \
                         AND s.deadline_at >= $1 AND s.deadline_at < $2"
                    )),
                ];
                let mut tx = self.$read().begin_with($begin_read).await?;
                let mut counts = [0u64; 6];
                for (count, sql) in counts.iter_mut().zip(&queries) {
                    let n: i64 = ::sqlx::query_scalar::<$db, i64>(sql)
                        .bind($crate::common::ts(now))
                        .bind($crate::common::ts(horizon))
                        .fetch_one(&mut *tx)
                        .await?;
                    *count = u64::try_from(n).unwrap_or(0);
                }
                tx.commit().await?;
                let [deliveries_pending, deliveries_failing, notifications_pending, exports_waiting, deadlines_overdue, deadlines_at_risk] =
                    counts;
                Ok($crate::OperationalGauges {
                    deliveries_pending,
                    deliveries_failing,
                    notifications_pending,
                    exports_waiting,
                    deadlines_overdue,
                    deadlines_at_risk,
                })
            }

            async fn due(
                &self,
                scope: $crate::Scope,
                now: ::time::OffsetDateTime,
                horizon: ::time::OffsetDateTime,
                limit: u32,
            ) -> $crate::StoreResult<$crate::DueLists> {
                let (scope_sql, scope_value) = match scope {
                    $crate::Scope::All => ("", 0),
                    $crate::Scope::Author(user) => (" AND s.author_id = $3", user.0),
                    $crate::Scope::Organisation(org) => (" AND s.org_id = $3", org.0),
                    $crate::Scope::Region(region) => (" AND s.region_id = $3", region.0),
                };
                let sql = |range: &str| {
                    format!(
                        "SELECT s.id, s.kind, s.status, c.name AS category_name, \
                                sc.name AS subcategory_name, s.org_id, o.name AS org_name, \
                                o.utc_offset_minutes AS org_utc_offset_minutes, \
                                SUBSTR(s.text, 1, {chars}) AS excerpt, s.subcategory_id, \
                                s.region_id, s.channel, s.created_at, s.updated_at, s.deadline_at \
                         FROM submissions s \
                         JOIN subcategories sc ON sc.id = s.subcategory_id \
                         JOIN categories c ON c.id = sc.category_id \
                         JOIN organisations o ON o.id = s.org_id \
                         WHERE s.status IN ({clock}) AND {range}{scope_sql} \
                         ORDER BY s.deadline_at, s.id LIMIT {limit}",
                        chars = $crate::common::EXCERPT_CHARS,
                        clock = $crate::common::open_statuses_sql(false),
                        limit = limit.clamp(1, $crate::common::MAX_PAGE),
                    )
                };
                let overdue_sql = sql("s.deadline_at < $1 AND $2 = $2");
                let soon_sql = sql("s.deadline_at >= $1 AND s.deadline_at < $2");
                let mut tx = self.$read().begin_with($begin_read).await?;
                let mut lists = Vec::new();
                for sql in [overdue_sql, soon_sql] {
                    let mut query = ::sqlx::query_as::<$db, $crate::common::CardRow>(&sql)
                        .bind($crate::common::ts(now))
                        .bind($crate::common::ts(horizon));
                    if !scope_sql.is_empty() {
                        query = query.bind(scope_value);
                    }
                    lists.push(
                        query
                            .fetch_all(&mut *tx)
                            .await?
                            .into_iter()
                            .map($crate::common::CardRow::into_model)
                            .collect::<$crate::StoreResult<Vec<_>>>()?,
                    );
                }
                tx.commit().await?;
                let soon = lists.pop().unwrap_or_default();
                let overdue = lists.pop().unwrap_or_default();
                Ok($crate::DueLists { overdue, soon })
            }

            async fn put_organisation(
                &self,
                actor: Option<::otklik_domain::UserId>,
                id: Option<::otklik_domain::OrgId>,
                edit: &$crate::OrganisationEdit,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<::otklik_domain::OrgId> {
                if !$crate::ORGANISATION_KINDS.contains(&edit.kind.as_str()) {
                    return Err($crate::StoreError::InvalidReference("unknown_organisation_kind"));
                }
                if edit.name.trim().chars().count() < 2 || edit.name.chars().count() > 300 {
                    return Err($crate::StoreError::InvalidReference("invalid_name"));
                }
                $crate::common::check_offset(edit.utc_offset_minutes)?;
                let mut tx = self.$write().begin_with($begin_write).await?;
                let (regions, municipalities, parents) = ::sqlx::query_as::<$db, (i64, i64, i64)>(
                    "SELECT (SELECT COUNT(*) FROM regions WHERE id = $1), \
                            (SELECT COUNT(*) FROM municipalities WHERE id = $2 AND region_id = $1), \
                            (SELECT COUNT(*) FROM organisations WHERE id = $3)",
                )
                .bind(edit.region.map_or(-1, |r| r.0))
                .bind(edit.municipality.map_or(-1, |m| m.0))
                .bind(edit.parent.map_or(-1, |p| p.0))
                .fetch_one(&mut *tx)
                .await?;
                if edit.region.is_some() && regions == 0 {
                    return Err($crate::StoreError::InvalidReference("unknown_region"));
                }
                if edit.municipality.is_some() && municipalities == 0 {
                    return Err($crate::StoreError::InvalidReference("unknown_municipality"));
                }
                if edit.parent.is_some() && parents == 0 {
                    return Err($crate::StoreError::InvalidReference("unknown_parent"));
                }
                // No organisation may end up above itself.
                if let (Some(me), Some(parent)) = (id, edit.parent) {
                    let mut next = Some(parent.0);
                    let mut steps = 0;
                    while let Some(current) = next {
                        if current == me.0 || steps > 64 {
                            return Err($crate::StoreError::InvalidReference("parent_cycle"));
                        }
                        next = ::sqlx::query_scalar::<$db, Option<i64>>(
                            "SELECT parent_id FROM organisations WHERE id = $1",
                        )
                        .bind(current)
                        .fetch_optional(&mut *tx)
                        .await?
                        .flatten();
                        steps += 1;
                    }
                }
                let describe = |e: &$crate::OrganisationEdit| {
                    ::serde_json::json!({
                        "name": e.name, "kind": e.kind, "region": e.region.map(|r| r.0),
                        "municipality": e.municipality.map(|m| m.0), "parent": e.parent.map(|p| p.0),
                        "is_coordinator": e.is_coordinator, "utc_offset_minutes": e.utc_offset_minutes,
                    })
                    .to_string()
                };
                let (id, before) = match id {
                    Some(id) => {
                        let before = ::sqlx::query_as::<$db, $crate::common::OrgRow>(concat!(
                            $crate::common::org_select!(),
                            " WHERE id = $1"
                        ))
                        .bind(id.0)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or($crate::StoreError::NotFound)?
                        .into_model()?;
                        ::sqlx::query::<$db>(
                            "UPDATE organisations SET name = $2, kind = $3, region_id = $4, \
                                 municipality_id = $5, parent_id = $6, is_coordinator = $7, \
                                 utc_offset_minutes = $8 WHERE id = $1",
                        )
                        .bind(id.0)
                        .bind(edit.name.trim())
                        .bind(&edit.kind)
                        .bind(edit.region.map(|r| r.0))
                        .bind(edit.municipality.map(|m| m.0))
                        .bind(edit.parent.map(|p| p.0))
                        .bind(i64::from(edit.is_coordinator))
                        .bind(i64::from(edit.utc_offset_minutes))
                        .execute(&mut *tx)
                        .await?;
                        let before = $crate::OrganisationEdit {
                            name: before.name,
                            kind: before.kind,
                            region: before.region,
                            municipality: before.municipality,
                            parent: before.parent,
                            is_coordinator: before.is_coordinator,
                            utc_offset_minutes: before.utc_offset_minutes,
                        };
                        (id.0, Some(describe(&before)))
                    }
                    None => {
                        let id = ::sqlx::query_scalar::<$db, i64>(
                            "INSERT INTO organisations (name, kind, region_id, municipality_id, \
                                 parent_id, is_coordinator, utc_offset_minutes) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                        )
                        .bind(edit.name.trim())
                        .bind(&edit.kind)
                        .bind(edit.region.map(|r| r.0))
                        .bind(edit.municipality.map(|m| m.0))
                        .bind(edit.parent.map(|p| p.0))
                        .bind(i64::from(edit.is_coordinator))
                        .bind(i64::from(edit.utc_offset_minutes))
                        .fetch_one(&mut *tx)
                        .await?;
                        (id, None)
                    }
                };
                Self::record_change(&mut *tx, actor, at, "organisation", &id.to_string(), before, Some(describe(edit)))
                    .await?;
                tx.commit().await?;
                Ok(::otklik_domain::OrgId(id))
            }

            async fn put_category(
                &self,
                actor: Option<::otklik_domain::UserId>,
                id: Option<::otklik_domain::CategoryId>,
                name: &str,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<::otklik_domain::CategoryId> {
                let name = name.trim();
                if name.chars().count() < 2 || name.chars().count() > 200 {
                    return Err($crate::StoreError::InvalidReference("invalid_name"));
                }
                let mut tx = self.$write().begin_with($begin_write).await?;
                let (id, before) = match id {
                    Some(id) => {
                        let before = ::sqlx::query_scalar::<$db, String>("SELECT name FROM categories WHERE id = $1")
                            .bind(id.0)
                            .fetch_optional(&mut *tx)
                            .await?
                            .ok_or($crate::StoreError::NotFound)?;
                        ::sqlx::query::<$db>("UPDATE categories SET name = $2 WHERE id = $1")
                            .bind(id.0)
                            .bind(name)
                            .execute(&mut *tx)
                            .await?;
                        (id.0, Some(before))
                    }
                    None => {
                        let position = ::sqlx::query_scalar::<$db, i64>(
                            "SELECT COALESCE(MAX(position), 0) + 1 FROM categories",
                        )
                        .fetch_one(&mut *tx)
                        .await?;
                        let id = ::sqlx::query_scalar::<$db, i64>(
                            "INSERT INTO categories (name, position) VALUES ($1, $2) RETURNING id",
                        )
                        .bind(name)
                        .bind(position)
                        .fetch_one(&mut *tx)
                        .await?;
                        (id, None)
                    }
                };
                Self::record_change(&mut *tx, actor, at, "category", &id.to_string(), before, Some(name.to_owned()))
                    .await?;
                tx.commit().await?;
                self.catalogue.forget();
                Ok(::otklik_domain::CategoryId(id))
            }

            async fn put_subcategory(
                &self,
                actor: Option<::otklik_domain::UserId>,
                id: Option<::otklik_domain::SubcategoryId>,
                category: ::otklik_domain::CategoryId,
                name: &str,
                form: &::otklik_domain::form::FormSpec,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<::otklik_domain::SubcategoryId> {
                let name = name.trim();
                if name.chars().count() < 2 || name.chars().count() > 200 {
                    return Err($crate::StoreError::InvalidReference("invalid_name"));
                }
                let mut tx = self.$write().begin_with($begin_write).await?;
                let categories = ::sqlx::query_scalar::<$db, i64>("SELECT COUNT(*) FROM categories WHERE id = $1")
                    .bind(category.0)
                    .fetch_one(&mut *tx)
                    .await?;
                if categories == 0 {
                    return Err($crate::StoreError::InvalidReference("unknown_category"));
                }
                let after = ::serde_json::json!({"category": category.0, "name": name, "form": form.to_json()}).to_string();
                let (id, before) = match id {
                    Some(id) => {
                        let (old_category, old_name, old_form) = ::sqlx::query_as::<$db, (i64, String, String)>(
                            "SELECT category_id, name, form_spec FROM subcategories WHERE id = $1",
                        )
                        .bind(id.0)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or($crate::StoreError::NotFound)?;
                        ::sqlx::query::<$db>(
                            "UPDATE subcategories SET category_id = $2, name = $3, form_spec = $4 WHERE id = $1",
                        )
                        .bind(id.0)
                        .bind(category.0)
                        .bind(name)
                        .bind(form.to_json())
                        .execute(&mut *tx)
                        .await?;
                        let before = ::serde_json::json!({"category": old_category, "name": old_name, "form": old_form}).to_string();
                        (id.0, Some(before))
                    }
                    None => {
                        let position = ::sqlx::query_scalar::<$db, i64>(
                            "SELECT COALESCE(MAX(position), 0) + 1 FROM subcategories WHERE category_id = $1",
                        )
                        .bind(category.0)
                        .fetch_one(&mut *tx)
                        .await?;
                        let id = ::sqlx::query_scalar::<$db, i64>(
                            "INSERT INTO subcategories (category_id, name, form_spec, position) \
                             VALUES ($1, $2, $3, $4) RETURNING id",
                        )
                        .bind(category.0)
                        .bind(name)
                        .bind(form.to_json())
                        .bind(position)
                        .fetch_one(&mut *tx)
                        .await?;
                        (id, None)
                    }
                };
                Self::record_change(&mut *tx, actor, at, "subcategory", &id.to_string(), before, Some(after))
                    .await?;
                tx.commit().await?;
                self.catalogue.forget();
                Ok(::otklik_domain::SubcategoryId(id))
            }

            async fn config_changes(
                &self,
                limit: u32,
                offset: u32,
            ) -> $crate::StoreResult<Vec<$crate::ConfigChange>> {
                let rows = ::sqlx::query_as::<$db, (i64, Option<i64>, Option<String>, i64, String, String, Option<String>, Option<String>)>(
                    "SELECT c.id, c.actor_id, u.full_name, c.at, c.entity, c.entity_key, c.before, c.after \
                     FROM config_changes c LEFT JOIN users u ON u.id = c.actor_id \
                     ORDER BY c.id DESC LIMIT $1 OFFSET $2",
                )
                .bind(i64::from(limit.clamp(1, 500)))
                .bind(i64::from(offset))
                .fetch_all(self.$read())
                .await?;
                rows.into_iter()
                    .map(|(id, actor, actor_name, at, entity, entity_key, before, after)| {
                        Ok($crate::ConfigChange {
                            id,
                            actor: actor.map(::otklik_domain::UserId),
                            actor_name,
                            at: $crate::common::from_ts(at)?,
                            entity,
                            entity_key,
                            before,
                            after,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_admin;
