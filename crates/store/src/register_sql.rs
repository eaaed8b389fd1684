//! Registering submissions by group commit: the registrations that wait at one moment
//! share one write transaction, so one commit (one fsync) makes them all durable, and
//! their rows go in with a handful of multi-row statements instead of some twenty
//! statements each.
//!
//! [`Registrar`] is the queue (a `group_commit::GroupWriter`): a task takes whatever is
//! waiting (up to [`MAX_GROUP`]), registers it with `register_group` (written once for
//! both backends in [`impl_register!`]) and answers each caller only after the commit. A refusal that
//! concerns one registration (an unknown region, …) is that caller's answer alone; a
//! database error fails the group's transaction, and each registration is then tried in
//! a transaction of its own, so that every caller gets its own true answer.

use crate::group_commit::GroupWriter;
use crate::{NewSubmission, Registered};
use time::OffsetDateTime;

pub(crate) use crate::group_commit::stopped;

/// The most registrations one transaction takes.
pub(crate) const MAX_GROUP: usize = 256;

/// A submission to register, with the instant it arrived.
pub(crate) type Registration = (NewSubmission, OffsetDateTime);

/// The queue in front of the group writer of registrations.
pub(crate) type Registrar = GroupWriter<Registration, Registered>;

/// A registration that passed its checks, with what the writes need.
pub(crate) struct Accepted {
    /// Its place in the group.
    pub index: usize,
    pub at: OffsetDateTime,
    pub deadline_at: OffsetDateTime,
    pub route: String,
    /// The author's role, as the log leaf names the actor.
    pub author_role: String,
    /// The subcategory's name, as notifications name it.
    pub subcategory_name: String,
}

/// Ids as a deduplicated, sorted list (for `IN (…)` lookups).
pub(crate) fn distinct(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    ids.collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The registrations of a group that passed, with their reserved ids: what the writes
/// after the checks take.
pub(crate) struct Passed<'a> {
    pub group: &'a [Registration],
    pub accepted: &'a [Accepted],
    pub ids: &'a [i64],
    pub event_ids: &'a [i64],
}

impl Passed<'_> {
    /// Each registration that passed: its checks' outcome, the submission, its id and
    /// its `registered` event's id.
    pub fn each(&self) -> impl Iterator<Item = (&Accepted, &NewSubmission, i64, i64)> {
        self.accepted
            .iter()
            .zip(self.ids)
            .zip(self.event_ids)
            .map(|((a, id), event)| (a, &self.group[a.index].0, *id, *event))
    }

    /// The organisations that receive them.
    pub fn orgs(&self) -> Vec<i64> {
        distinct(self.each().map(|(_, s, _, _)| s.org.0))
    }
}

/// The registration code for a backend; see `common::impl_store!` for the parameters.
/// The backend provides `reserve_ids(conn, table, n)`: ids for `n` new rows.
macro_rules! impl_register {
    (
        store: $store:ty,
        db: $db:ty,
        write: $write:ident,
        begin_write: $begin_write:literal $(,)?
    ) => {
        impl $store {
            /// Starts this store's group writer (see `register_sql`).
            fn with_registrar(mut self) -> Self {
                let writer = self.clone();
                self.registrar = Some($crate::register_sql::Registrar::spawn(
                    $crate::register_sql::MAX_GROUP,
                    move |group| {
                        let writer = writer.clone();
                        async move { writer.register_group(group).await }
                    },
                ));
                self
            }

            /// Registers through the group writer when this store has one.
            async fn register_one(
                &self,
                submission: $crate::NewSubmission,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::Registered> {
                match &self.registrar {
                    Some(registrar) => registrar.write((submission, at)).await,
                    None => self
                        .register_group(vec![(submission, at)])
                        .await
                        .pop()
                        .unwrap_or_else(|| Err($crate::register_sql::stopped())),
                }
            }

            /// Registers a group in one transaction; on a database error, each alone.
            /// Returns one answer per registration, in order.
            async fn register_group(
                &self,
                group: Vec<$crate::register_sql::Registration>,
            ) -> Vec<$crate::StoreResult<$crate::Registered>> {
                match self.register_in_transaction(&group).await {
                    Ok(results) => results,
                    Err(e) if group.len() == 1 => vec![Err(e)],
                    Err(e) => {
                        ::tracing::warn!(error = %e, size = group.len(),
                            "a registration group failed; registering each alone");
                        let mut results = Vec::with_capacity(group.len());
                        for one in group.chunks(1) {
                            results.push(match self.register_in_transaction(one).await {
                                Ok(mut answer) => answer
                                    .pop()
                                    .unwrap_or_else(|| Err($crate::register_sql::stopped())),
                                Err(e) => Err(e),
                            });
                        }
                        results
                    }
                }
            }

            async fn register_in_transaction(
                &self,
                group: &[$crate::register_sql::Registration],
            ) -> $crate::StoreResult<Vec<$crate::StoreResult<$crate::Registered>>> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let results = self.register_in(&mut *tx, group).await?;
                tx.commit().await?;
                Ok(results)
            }

            /// Checks every registration of the group, then writes those that passed:
            /// submissions, `registered` events, files, log leaves, deliveries and
            /// notifications, each kind of row in multi-row statements.
            async fn register_in(
                &self,
                conn: &mut <$db as ::sqlx::Database>::Connection,
                group: &[$crate::register_sql::Registration],
            ) -> $crate::StoreResult<Vec<$crate::StoreResult<$crate::Registered>>> {
                let (accepted, mut results) = self.check_group(&mut *conn, group).await?;
                if accepted.is_empty() {
                    return Ok(results.into_iter().map(|r| r.unwrap_or_else(|| Err($crate::register_sql::stopped()))).collect());
                }
                let ids = Self::reserve_ids(&mut *conn, "submissions", accepted.len()).await?;
                let event_ids = Self::reserve_ids(&mut *conn, "events", accepted.len()).await?;
                let passed = $crate::register_sql::Passed {
                    group,
                    accepted: &accepted,
                    ids: &ids,
                    event_ids: &event_ids,
                };
                Self::insert_registered(&mut *conn, &passed).await?;
                Self::log_registered(&mut *conn, &passed).await?;
                Self::deliver_registered(&mut *conn, &passed).await?;
                Self::notify_registered(&mut *conn, &passed).await?;
                for (a, submission, id, _) in passed.each() {
                    let id = ::otklik_domain::SubmissionId(id);
                    results[a.index] = Some(Ok($crate::Registered {
                        id,
                        number: ::otklik_domain::RegistrationNumber::new(id, a.at),
                        org: submission.org,
                        deadline_at: a.deadline_at,
                    }));
                }
                Ok(results
                    .into_iter()
                    .map(|r| r.unwrap_or_else(|| Err($crate::register_sql::stopped())))
                    .collect())
            }

            /// The checks of a registration, in the order a single one reports them:
            /// subcategory, region, author, municipality, the organisation's deadline
            /// rules, the deadline itself. Lookups are shared by the group.
            #[allow(clippy::type_complexity)]
            async fn check_group(
                &self,
                conn: &mut <$db as ::sqlx::Database>::Connection,
                group: &[$crate::register_sql::Registration],
            ) -> $crate::StoreResult<(
                Vec<$crate::register_sql::Accepted>,
                Vec<Option<$crate::StoreResult<$crate::Registered>>>,
            )> {
                use ::std::collections::HashMap;
                use $crate::register_sql::distinct;
                let subcategories = Self::keyed::<String>(
                    &mut *conn,
                    "SELECT id, name FROM subcategories WHERE id IN ",
                    &distinct(group.iter().map(|(s, _)| s.subcategory.0)),
                )
                .await?;
                let regions = Self::keyed::<String>(
                    &mut *conn,
                    "SELECT id, code FROM regions WHERE id IN ",
                    &distinct(group.iter().map(|(s, _)| s.region.0)),
                )
                .await?;
                let authors = Self::keyed::<String>(
                    &mut *conn,
                    "SELECT id, role FROM users WHERE id IN ",
                    &distinct(group.iter().map(|(s, _)| s.author.0)),
                )
                .await?;
                let municipalities = Self::keyed::<i64>(
                    &mut *conn,
                    "SELECT id, region_id FROM municipalities WHERE id IN ",
                    &distinct(group.iter().filter_map(|(s, _)| s.municipality.map(|m| m.0))),
                )
                .await?;
                let mut terms: HashMap<(i64, &'static str, i64), Result<$crate::terms::TermContext, &'static str>> =
                    HashMap::new();
                let mut routes: HashMap<(i64, i64, Option<i64>), Option<$crate::RouteDecision>> =
                    HashMap::new();
                let mut accepted = Vec::with_capacity(group.len());
                let mut results = Vec::with_capacity(group.len());
                for (index, (s, at)) in group.iter().enumerate() {
                    let at = match $crate::common::whole_seconds(*at) {
                        Ok(at) => at,
                        Err(e) => {
                            results.push(Some(Err(e)));
                            continue;
                        }
                    };
                    let refusal = if !subcategories.contains_key(&s.subcategory.0) {
                        Some("unknown_subcategory")
                    } else if !regions.contains_key(&s.region.0) {
                        Some("unknown_region")
                    } else if !authors.contains_key(&s.author.0) {
                        Some("unknown_user")
                    } else if s
                        .municipality
                        .is_some_and(|m| municipalities.get(&m.0) != Some(&s.region.0))
                    {
                        Some("unknown_municipality")
                    } else {
                        None
                    };
                    let (None, Some(author_role), Some(subcategory_name)) = (
                        refusal,
                        authors.get(&s.author.0),
                        subcategories.get(&s.subcategory.0),
                    ) else {
                        let code = refusal.unwrap_or("unknown_user");
                        results.push(Some(Err($crate::StoreError::InvalidReference(code))));
                        continue;
                    };
                    let key = (s.org.0, s.kind.as_str(), s.subcategory.0);
                    if !terms.contains_key(&key) {
                        let context = match Self::term_context(
                            &self.calendars,
                            &mut *conn,
                            s.org.0,
                            s.kind,
                            s.subcategory.0,
                        )
                        .await
                        {
                            Ok(context) => Ok(context),
                            Err($crate::StoreError::InvalidReference(code)) => Err(code),
                            Err(e) => return Err(e),
                        };
                        terms.insert(key, context);
                    }
                    let deadline_at = match terms.get(&key) {
                        Some(Ok(context)) => context.answer_due(at, &[], 0),
                        Some(Err(code)) => Err($crate::StoreError::InvalidReference(code)),
                        None => Err($crate::register_sql::stopped()),
                    };
                    let deadline_at = match deadline_at {
                        Ok(due) => due,
                        Err(e) => {
                            results.push(Some(Err(e)));
                            continue;
                        }
                    };
                    let place = (s.subcategory.0, s.region.0, s.municipality.map(|m| m.0));
                    if !routes.contains_key(&place) {
                        let decision = match Self::route_in(&mut *conn, place.0, place.1, place.2).await {
                            Ok(decision) => Some(decision),
                            Err($crate::StoreError::InvalidReference(_)) => None,
                            Err(e) => return Err(e),
                        };
                        routes.insert(place, decision);
                    }
                    // The routing decision as the rules give it now; an organisation
                    // chosen otherwise by the caller is recorded as such.
                    let route = match routes.get(&place) {
                        Some(Some(decision)) if decision.org == s.org => decision.label.clone(),
                        _ => "manual".to_owned(),
                    };
                    results.push(None);
                    accepted.push($crate::register_sql::Accepted {
                        index,
                        at,
                        deadline_at,
                        route,
                        author_role: author_role.clone(),
                        subcategory_name: subcategory_name.clone(),
                    });
                }
                Ok((accepted, results))
            }

            /// `id → value` for the rows `select` (`SELECT id, value FROM … WHERE id IN `)
            /// finds among `ids`.
            async fn keyed<T>(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                select: &'static str,
                ids: &[i64],
            ) -> $crate::StoreResult<::std::collections::HashMap<i64, T>>
            where
                T: Send + Unpin + 'static,
                (i64, T): for<'r> ::sqlx::FromRow<'r, <$db as ::sqlx::Database>::Row>,
            {
                Ok(Self::rows_among::<(i64, T)>(&mut *conn, select, ids)
                    .await?
                    .into_iter()
                    .collect())
            }

            /// The rows `select` (`… WHERE x IN `) finds among `ids`.
            async fn rows_among<R>(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                select: &'static str,
                ids: &[i64],
            ) -> $crate::StoreResult<Vec<R>>
            where
                R: Send + Unpin + 'static + for<'r> ::sqlx::FromRow<'r, <$db as ::sqlx::Database>::Row>,
            {
                let mut found = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(500) {
                    let mut query = ::sqlx::QueryBuilder::<$db>::new(select);
                    query.push("(");
                    let mut list = query.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    query.push(")");
                    found.extend(query.build_query_as::<R>().fetch_all(&mut *conn).await?);
                }
                Ok(found)
            }

            /// The submissions, their `registered` events and their files.
            async fn insert_registered(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                passed: &$crate::register_sql::Passed<'_>,
            ) -> $crate::StoreResult<()> {
                use ::otklik_domain::lifecycle::{EventKind, Status};
                let rows: Vec<_> = passed.each().collect();
                for chunk in rows.chunks($crate::common::ROWS_PER_INSERT) {
                    let mut insert = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO submissions (id, kind, author_id, subcategory_id, region_id, \
                             org_id, status, round, rating, text, fields_json, created_at, \
                             deadline_at, updated_at, municipality_id, route, term_started_at, \
                             channel, origin, public) ",
                    );
                    insert.push_values(chunk, |mut row, (a, s, id, _)| {
                        let at = $crate::common::ts(a.at);
                        row.push_bind(*id)
                            .push_bind(s.kind.as_str())
                            .push_bind(s.author.0)
                            .push_bind(s.subcategory.0)
                            .push_bind(s.region.0)
                            .push_bind(s.org.0)
                            .push_bind(Status::Registered.as_str())
                            .push_bind(1_i64)
                            .push_bind(None::<i64>)
                            .push_bind(s.text.as_str())
                            .push_bind(s.fields.to_json())
                            .push_bind(at)
                            .push_bind($crate::common::ts(a.deadline_at))
                            .push_bind(at)
                            .push_bind(s.municipality.map(|m| m.0))
                            .push_bind(a.route.as_str())
                            .push_bind(at)
                            .push_bind(s.channel.as_str())
                            .push_bind(s.origin.as_ref().map(|o| o.as_str().to_owned()))
                            .push_bind(i64::from(s.public));
                    });
                    insert.build().execute(&mut *conn).await?;
                }
                let events: Vec<_> = rows
                    .iter()
                    .map(|(a, s, id, event_id)| {
                        (
                            *event_id,
                            $crate::common::NewEvent {
                                submission: *id,
                                kind: EventKind::Registered,
                                actor: Some(s.author.0),
                                at: $crate::common::ts(a.at),
                                from_status: None,
                                to_status: Status::Registered,
                                from_org: None,
                                to_org: s.org.0,
                                reason: None,
                                body: None,
                                ground: None,
                                score: None,
                                deadline_at: $crate::common::ts(a.deadline_at),
                                // The category it starts with (analytics replays from it).
                                subcategory: Some(s.subcategory.0),
                                extension_days: None,
                                related: None,
                            },
                        )
                    })
                    .collect();
                Self::insert_events_with_ids(&mut *conn, &events).await?;
                let files: Vec<_> = rows
                    .iter()
                    .flat_map(|(_, s, id, _)| s.attachments.iter().map(move |f| (*id, None, f)))
                    .collect();
                Self::insert_files_of(&mut *conn, &files).await
            }

            /// One log leaf per registration, appended in the group's order.
            async fn log_registered(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                passed: &$crate::register_sql::Passed<'_>,
            ) -> $crate::StoreResult<()> {
                use ::otklik_domain::lifecycle::{EventKind, Status};
                let mut encoded = Vec::with_capacity(passed.accepted.len());
                for (a, s, id, event_id) in passed.each() {
                    let at = $crate::common::ts(a.at);
                    let source = $crate::ledger_sql::LeafSourceRow {
                        event_id,
                        submission_id: id,
                        event_kind: EventKind::Registered.as_str().to_owned(),
                        kind: s.kind.as_str().to_owned(),
                        author_id: s.author.0,
                        created_at: at,
                        text: s.text.as_str().to_owned(),
                        fields_json: s.fields.to_json(),
                        actor_role: Some(a.author_role.clone()),
                        at,
                        from_status: None,
                        to_status: Status::Registered.as_str().to_owned(),
                        from_org: None,
                        to_org: s.org.0,
                        reason: None,
                        body: None,
                        ground: None,
                        score: None,
                        deadline_at: $crate::common::ts(a.deadline_at),
                    };
                    let files = s
                        .attachments
                        .iter()
                        .map(|f| $crate::common::sha256_hex(f.bytes()))
                        .collect();
                    let salt: [u8; $crate::ledger::SALT_LEN] = ::rand::random();
                    let (leaf, _) = source.leaf(files, &salt)?;
                    encoded.push((leaf.encode(), salt, leaf.event, id, event_id, at));
                }
                let leaves: Vec<_> = encoded
                    .iter()
                    .map(|(data, salt, kind, id, event_id, at)| $crate::ledger_sql::NewLeaf {
                        kind,
                        submission: Some(*id),
                        event: Some(*event_id),
                        data,
                        salt,
                        at: *at,
                    })
                    .collect();
                Self::log_append_many(&mut *conn, &leaves).await?;
                Ok(())
            }

            /// `routed` outbox rows for the registrations held by integrated organisations.
            async fn deliver_registered(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                passed: &$crate::register_sql::Passed<'_>,
            ) -> $crate::StoreResult<()> {
                let integrated = Self::keyed::<i64>(
                    &mut *conn,
                    "SELECT org_id, org_id FROM org_integrations WHERE org_id IN ",
                    &passed.orgs(),
                )
                .await?;
                for (a, s, id, event_id) in passed.each() {
                    let org = s.org.0;
                    if integrated.contains_key(&org) {
                        let at = $crate::common::ts(a.at);
                        Self::enqueue_deliveries(&mut *conn, id, event_id, None, org, false, at)
                            .await?;
                    }
                }
                Ok(())
            }

            /// The notifications of the registrations (`notify::for_event`): the
            /// centre's rows for everyone at once, then the outbox rows per kind.
            async fn notify_registered(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                passed: &$crate::register_sql::Passed<'_>,
            ) -> $crate::StoreResult<()> {
                use ::otklik_domain::lifecycle::{EventKind, Status};
                use ::otklik_domain::notify::Addressee;
                let wanted = ::otklik_domain::notify::for_event(EventKind::Registered, false);
                let orgs = passed.orgs();
                let organisations: ::std::collections::HashMap<i64, (String, i64)> =
                    Self::rows_among::<(i64, String, i64)>(
                        &mut *conn,
                        "SELECT id, name, utc_offset_minutes FROM organisations WHERE id IN ",
                        &orgs,
                    )
                    .await?
                    .into_iter()
                    .map(|(id, name, offset)| (id, (name, offset)))
                    .collect();
                let mut officials: ::std::collections::HashMap<i64, Vec<i64>> = Default::default();
                if wanted.iter().any(|(to, _)| *to == Addressee::Holder) {
                    let by_user = Self::keyed::<i64>(
                        &mut *conn,
                        "SELECT id, org_id FROM users \
                         WHERE role = 'official' AND disabled_at IS NULL AND org_id IN ",
                        &orgs,
                    )
                    .await?;
                    for (user, org) in by_user {
                        officials.entry(org).or_default().push(user);
                    }
                }
                let mut rows = Vec::new();
                for (a, s, id, event_id) in passed.each() {
                    let (organisation, utc_offset_minutes) = organisations
                        .get(&s.org.0)
                        .cloned()
                        .ok_or($crate::StoreError::InvalidReference("unknown_organisation"))?;
                    let vars = $crate::notify_sql::VarsRow {
                        id,
                        created_at: $crate::common::ts(a.at),
                        deadline_at: $crate::common::ts(a.deadline_at),
                        status: Status::Registered.as_str().to_owned(),
                        kind: s.kind.as_str().to_owned(),
                        subcategory: a.subcategory_name.clone(),
                        organisation,
                        utc_offset_minutes,
                    }
                    .to_json()?;
                    let source = format!("event:{event_id}");
                    for (addressee, kind) in &wanted {
                        let people = match addressee {
                            Addressee::Author => vec![s.author.0],
                            Addressee::Holder => officials.get(&s.org.0).cloned().unwrap_or_default(),
                            // Nobody follows a submission that did not exist a moment ago.
                            Addressee::Followers => Vec::new(),
                        };
                        for user in people {
                            rows.push((user, *kind, source.clone(), id, vars.clone(), $crate::common::ts(a.at)));
                        }
                    }
                }
                for chunk in rows.chunks($crate::common::ROWS_PER_INSERT) {
                    let mut insert = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO notifications (user_id, kind, source, submission_id, vars, created_at) ",
                    );
                    insert.push_values(chunk, |mut row, (user, kind, source, id, vars, at)| {
                        row.push_bind(*user)
                            .push_bind(kind.as_str())
                            .push_bind(source.as_str())
                            .push_bind(*id)
                            .push_bind(vars.as_str())
                            .push_bind(*at);
                    });
                    insert.push(" ON CONFLICT DO NOTHING");
                    insert.build().execute(&mut *conn).await?;
                }
                // One outbox pass per kind and instant: the rows' times are their own.
                let mut passes: Vec<(::otklik_domain::notify::NotificationKind, i64)> = rows
                    .iter()
                    .map(|(_, kind, _, _, _, at)| (*kind, *at))
                    .collect();
                passes.sort_by_key(|(kind, at)| (kind.as_str(), *at));
                passes.dedup_by_key(|(kind, at)| (kind.as_str(), *at));
                for (kind, at) in passes {
                    let mut of: Vec<String> = rows
                        .iter()
                        .filter(|(_, k, _, _, _, t)| *k == kind && *t == at)
                        .map(|(_, _, source, _, _, _)| source.clone())
                        .collect();
                    of.dedup();
                    for chunk in of.chunks(500) {
                        Self::queue_outbox(
                            &mut *conn,
                            kind,
                            at,
                            $crate::notify_sql::OutboxOf::Sources(chunk),
                        )
                        .await?;
                    }
                }
                Ok(())
            }
        }
    };
}
pub(crate) use impl_register;
