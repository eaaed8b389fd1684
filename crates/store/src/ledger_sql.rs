//! The transparency log's SQL, shared by both backends like `common::impl_store!`.
//!
//! Appends run inside the caller's write transaction, after the event and its files are
//! written, so a leaf exists exactly when its event does. `log_state` is the one row that
//! serialises appends (locked `FOR UPDATE` on PostgreSQL; SQLite has one writer).

/// `log_nodes.id` of a perfect subtree: `level << 56 | index`.
pub(crate) fn node_key(id: otklik_log::NodeId) -> i64 {
    ((i64::from(id.level)) << 56) | (id.index as i64 & ((1i64 << 56) - 1))
}

/// A list of node keys as SQL (`1, 2, 3`): integers only, so nothing to escape.
pub(crate) fn key_list(ids: &[otklik_log::NodeId]) -> String {
    ids.iter()
        .map(|id| node_key(*id).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Nodes fetched from `log_nodes`, as a proof source.
pub(crate) struct FetchedNodes(pub std::collections::HashMap<i64, otklik_log::Hash>);

impl otklik_log::NodeSource for FetchedNodes {
    fn node(&self, id: otklik_log::NodeId) -> Option<otklik_log::Hash> {
        self.0.get(&node_key(id)).copied()
    }
}

pub(crate) fn hash_of(bytes: &[u8], what: &str) -> crate::StoreResult<otklik_log::Hash> {
    <otklik_log::Hash>::try_from(bytes).map_err(|_| crate::common::corrupt(what))
}

/// The frontier of a compact range as stored in `log_state`.
pub(crate) fn frontier_bytes(range: &otklik_log::CompactRange) -> Vec<u8> {
    range
        .nodes()
        .iter()
        .flat_map(|(_, h)| h.iter().copied())
        .collect()
}

pub(crate) fn frontier_of(bytes: &[u8]) -> crate::StoreResult<Vec<otklik_log::Hash>> {
    if !bytes.len().is_multiple_of(32) {
        return Err(crate::common::corrupt("log_state.frontier"));
    }
    bytes
        .chunks(32)
        .map(|c| hash_of(c, "log_state.frontier"))
        .collect()
}

pub(crate) fn u64_of(value: i64, what: &str) -> crate::StoreResult<u64> {
    u64::try_from(value).map_err(|_| crate::common::corrupt(what))
}

/// A leaf to append (see `log_append_many`): its kind, what it is about, its encoded
/// data and the salt of its commitment.
pub(crate) struct NewLeaf<'a> {
    pub kind: &'a str,
    pub submission: Option<i64>,
    pub event: Option<i64>,
    pub data: &'a [u8],
    pub salt: &'a [u8],
    pub at: i64,
}

pub(crate) fn i64_of(value: u64) -> crate::StoreResult<i64> {
    i64::try_from(value).map_err(|_| crate::StoreError::InvalidReference("index_out_of_range"))
}

/// The files of a chunk of submissions, by what attached them.
pub(crate) struct FilesByOwner {
    by_event: std::collections::HashMap<i64, Vec<String>>,
    by_submission: std::collections::HashMap<i64, Vec<String>>,
}

impl FilesByOwner {
    pub fn new(rows: Vec<(i64, Option<i64>, String)>) -> Self {
        let mut files = Self {
            by_event: std::collections::HashMap::new(),
            by_submission: std::collections::HashMap::new(),
        };
        for (submission, event, sha256) in rows {
            match event {
                Some(event) => files.by_event.entry(event).or_default().push(sha256),
                None => files
                    .by_submission
                    .entry(submission)
                    .or_default()
                    .push(sha256),
            }
        }
        files
    }

    /// What `leaf_files` would read for this event.
    pub fn of(&self, source: &LeafSourceRow) -> Vec<String> {
        let found = if source.is_registration() {
            self.by_submission.get(&source.submission_id)
        } else {
            self.by_event.get(&source.event_id)
        };
        found.cloned().unwrap_or_default()
    }
}

macro_rules! leaf_source_select {
    () => {
        "SELECT e.id AS event_id, e.submission_id, e.kind AS event_kind, s.kind, \
                s.author_id, s.created_at, s.text, s.fields_json, a.role AS actor_role, e.at, \
                e.from_status, e.to_status, e.from_org, e.to_org, e.reason, e.body, e.ground, \
                e.score, e.deadline_at \
         FROM events e \
         JOIN submissions s ON s.id = e.submission_id \
         LEFT JOIN users a ON a.id = e.actor_id"
    };
}
pub(crate) use leaf_source_select;

/// Everything a leaf is computed from: one event row with its submission.
#[derive(sqlx::FromRow)]
pub(crate) struct LeafSourceRow {
    pub event_id: i64,
    pub submission_id: i64,
    pub event_kind: String,
    pub kind: String,
    pub author_id: i64,
    pub created_at: i64,
    pub text: String,
    pub fields_json: String,
    pub actor_role: Option<String>,
    pub at: i64,
    pub from_status: Option<String>,
    pub to_status: String,
    pub from_org: Option<i64>,
    pub to_org: i64,
    pub reason: Option<String>,
    pub body: Option<String>,
    pub ground: Option<String>,
    pub score: Option<i64>,
    pub deadline_at: i64,
}

impl LeafSourceRow {
    pub fn is_registration(&self) -> bool {
        self.event_kind == otklik_domain::lifecycle::EventKind::Registered.as_str()
    }

    /// The leaf and the disclosure of this event, with the files' hashes and a salt.
    pub fn leaf(
        &self,
        files: Vec<String>,
        salt: &[u8],
    ) -> crate::StoreResult<(crate::ledger::LeafV1, crate::ledger::Disclosure)> {
        let created_at = crate::common::from_ts(self.created_at)?;
        let number = otklik_domain::RegistrationNumber::new(
            otklik_domain::SubmissionId(self.submission_id),
            created_at,
        );
        let registration = self.is_registration();
        let disclosure = crate::ledger::Disclosure {
            author: self.author_id,
            text: registration.then(|| self.text.clone()),
            fields: registration.then(|| self.fields_json.clone()),
            reason: self.reason.clone(),
            body: self.body.clone(),
        };
        let leaf = crate::ledger::LeafV1 {
            v: crate::ledger::LEAF_VERSION,
            event: self.event_kind.clone(),
            submission: self.submission_id,
            number: number.to_string(),
            kind: self.kind.clone(),
            at: self.at,
            actor: self.actor_role.clone(),
            from_status: self.from_status.clone(),
            to_status: self.to_status.clone(),
            from_org: self.from_org,
            to_org: self.to_org,
            deadline_at: self.deadline_at,
            ground: self.ground.clone(),
            score: self.score,
            files,
            commitment: disclosure.commitment_b64(salt),
        };
        Ok((leaf, disclosure))
    }
}

/// The transparency log's operations for a backend; see `common::impl_store!` for the
/// parameters.
macro_rules! impl_ledger {
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
            /// Appends the leaf of event `event_id` (already written, with its files)
            /// in the caller's transaction.
            async fn log_event(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                event_id: i64,
            ) -> $crate::StoreResult<u64> {
                let salt: [u8; $crate::ledger::SALT_LEN] = ::rand::random();
                let source = ::sqlx::query_as::<$db, $crate::ledger_sql::LeafSourceRow>(concat!(
                    $crate::ledger_sql::leaf_source_select!(),
                    " WHERE e.id = $1"
                ))
                .bind(event_id)
                .fetch_one(&mut *conn)
                .await?;
                let files = Self::leaf_files(&mut *conn, &source).await?;
                let (leaf, _) = source.leaf(files, &salt)?;
                Self::log_append(
                    &mut *conn,
                    &leaf.event,
                    Some(source.submission_id),
                    Some(event_id),
                    &leaf.encode(),
                    &salt,
                    source.at,
                )
                .await
            }

            /// The hashes of the files an event attached (for the registration, the
            /// citizen's own files), in storage order.
            async fn leaf_files(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                source: &$crate::ledger_sql::LeafSourceRow,
            ) -> $crate::StoreResult<Vec<String>> {
                let rows = if source.is_registration() {
                    ::sqlx::query_scalar::<$db, String>(
                        "SELECT sha256 FROM files \
                         WHERE submission_id = $1 AND event_id IS NULL ORDER BY id",
                    )
                    .bind(source.submission_id)
                    .fetch_all(&mut *conn)
                    .await?
                } else {
                    ::sqlx::query_scalar::<$db, String>(
                        "SELECT sha256 FROM files WHERE event_id = $1 ORDER BY id",
                    )
                    .bind(source.event_id)
                    .fetch_all(&mut *conn)
                    .await?
                };
                Ok(rows)
            }

            /// Appends one leaf; see [`log_append_many`](Self::log_append_many).
            async fn log_append(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                kind: &str,
                submission: Option<i64>,
                event: Option<i64>,
                data: &[u8],
                salt: &[u8],
                at: i64,
            ) -> $crate::StoreResult<u64> {
                let leaf = $crate::ledger_sql::NewLeaf { kind, submission, event, data, salt, at };
                Self::log_append_many(&mut *conn, ::std::slice::from_ref(&leaf)).await
            }

            /// Appends leaves in order: reads and locks the tree's frontier once, writes
            /// the leaves, the perfect subtrees they complete, and the new frontier.
            /// Returns the index of the first.
            async fn log_append_many(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                leaves: &[$crate::ledger_sql::NewLeaf<'_>],
            ) -> $crate::StoreResult<u64> {
                let (alg, size, frontier) = ::sqlx::query_as::<$db, (String, i64, Vec<u8>)>(
                    concat!("SELECT alg, size, frontier FROM log_state WHERE id = 1", $lock),
                )
                .fetch_optional(&mut *conn)
                .await?
                .ok_or($crate::StoreError::InvalidReference("log_not_initialised"))?;
                let alg = ::otklik_log::HashAlg::parse(&alg)
                    .map_err(|_| $crate::common::corrupt("log_state.alg"))?;
                let index = $crate::ledger_sql::u64_of(size, "log_state.size")?;
                let mut range = ::otklik_log::CompactRange::from_nodes(
                    alg,
                    index,
                    &$crate::ledger_sql::frontier_of(&frontier)?,
                )
                .map_err(|_| $crate::common::corrupt("log_state.frontier"))?;
                let mut completed = Vec::new();
                for leaf in leaves {
                    completed.extend(
                        range
                            .push(::otklik_log::leaf_hash(alg, leaf.data))
                            .map_err(|e| $crate::common::corrupt(e.code()))?,
                    );
                }
                let mut next = size;
                for chunk in leaves.chunks($crate::common::ROWS_PER_INSERT) {
                    let mut insert = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO log_leaves (idx, kind, submission_id, event_id, data, salt, at) ",
                    );
                    insert.push_values(chunk, |mut row, leaf| {
                        row.push_bind(next)
                            .push_bind(leaf.kind)
                            .push_bind(leaf.submission)
                            .push_bind(leaf.event)
                            .push_bind(leaf.data)
                            .push_bind(leaf.salt)
                            .push_bind(leaf.at);
                        next += 1;
                    });
                    insert.build().execute(&mut *conn).await?;
                }
                for chunk in completed.chunks(8 * $crate::common::ROWS_PER_INSERT) {
                    let mut insert =
                        ::sqlx::QueryBuilder::<$db>::new("INSERT INTO log_nodes (id, hash) ");
                    insert.push_values(chunk, |mut row, (id, hash)| {
                        row.push_bind($crate::ledger_sql::node_key(*id))
                            .push_bind(hash.to_vec());
                    });
                    insert.build().execute(&mut *conn).await?;
                }
                ::sqlx::query::<$db>("UPDATE log_state SET size = $1, frontier = $2 WHERE id = 1")
                    .bind(next)
                    .bind($crate::ledger_sql::frontier_bytes(&range))
                    .execute(&mut *conn)
                    .await?;
                Ok(index)
            }

            /// The stored nodes with these ids.
            async fn log_nodes(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                ids: &[::otklik_log::NodeId],
            ) -> $crate::StoreResult<$crate::ledger_sql::FetchedNodes> {
                let mut nodes = ::std::collections::HashMap::with_capacity(ids.len());
                for chunk in ids.chunks(500) {
                    let sql = format!(
                        "SELECT id, hash FROM log_nodes WHERE id IN ({})",
                        $crate::ledger_sql::key_list(chunk)
                    );
                    // A proof's nodes are rarely asked for twice: not kept prepared.
                    let rows = ::sqlx::query_as::<$db, (i64, Vec<u8>)>(&sql)
                        .persistent(false)
                        .fetch_all(&mut *conn)
                        .await?;
                    for (id, hash) in rows {
                        nodes.insert(id, $crate::ledger_sql::hash_of(&hash, "log_nodes.hash")?);
                    }
                }
                Ok($crate::ledger_sql::FetchedNodes(nodes))
            }

            async fn log_alg_size(
                conn: &mut <$db as ::sqlx::Database>::Connection,
            ) -> $crate::StoreResult<(::otklik_log::HashAlg, u64, Vec<u8>)> {
                let (alg, size, frontier) = ::sqlx::query_as::<$db, (String, i64, Vec<u8>)>(
                    "SELECT alg, size, frontier FROM log_state WHERE id = 1",
                )
                .fetch_optional(&mut *conn)
                .await?
                .ok_or($crate::StoreError::InvalidReference("log_not_initialised"))?;
                let alg = ::otklik_log::HashAlg::parse(&alg)
                    .map_err(|_| $crate::common::corrupt("log_state.alg"))?;
                Ok((alg, $crate::ledger_sql::u64_of(size, "log_state.size")?, frontier))
            }

            async fn head_rows(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                alg: ::otklik_log::HashAlg,
                filter: &'static str,
                size: Option<i64>,
            ) -> $crate::StoreResult<Vec<::otklik_log::SignedTreeHead>> {
                let sql = format!(
                    "SELECT h.size, h.root, h.timestamp_ms, h.key_id, h.signature, k.public_key \
                     FROM log_tree_heads h JOIN log_keys k ON k.key_id = h.key_id {filter}"
                );
                let mut query = ::sqlx::query_as::<$db, $crate::ledger_sql::HeadRow>(&sql);
                if let Some(size) = size {
                    query = query.bind(size);
                }
                query
                    .fetch_all(&mut *conn)
                    .await?
                    .into_iter()
                    .map(|row| row.into_head(alg))
                    .collect()
            }
        }

        impl $store {
            /// The state of a submission `actor` may see; `NotFound` otherwise.
            async fn visible_state(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                submission: ::otklik_domain::SubmissionId,
                actor: &::otklik_domain::lifecycle::Actor,
            ) -> $crate::StoreResult<::otklik_domain::lifecycle::SubmissionState> {
                let row = ::sqlx::query_as::<$db, $crate::common::StateRow>(concat!(
                    "SELECT ",
                    $crate::common::state_select!(),
                    " FROM submissions s WHERE s.id = $1"
                ))
                .bind(submission.0)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or($crate::StoreError::NotFound)?;
                let state = row.state()?;
                if !::otklik_domain::lifecycle::can_view(&state, actor) {
                    return Err($crate::StoreError::NotFound);
                }
                Ok(state)
            }

            /// Recomputes the tree from the stored leaves, checks every stored subtree and
            /// signed tree head, re-derives every event's leaf from the event tables, and
            /// compares each submission with what its last leaf says. Stops at the first
            /// divergence.
            async fn run_audit(
                &self,
                options: $crate::AuditOptions,
            ) -> $crate::StoreResult<$crate::AuditReport> {
                use $crate::ledger::divergence;
                const CHUNK: i64 = 2_000;
                let mut tx = self.$read().begin_with($begin_read).await?;
                let result: $crate::StoreResult<_> = async {
                let (alg, size, frontier) = Self::log_alg_size(&mut *tx).await?;
                let mut report = $crate::AuditReport {
                    alg,
                    size,
                    from_size: options.from_size,
                    leaves_checked: 0,
                    heads_checked: 0,
                    events_checked: 0,
                    submissions_checked: 0,
                    divergence: None,
                };
                let heads = Self::head_rows(&mut *tx, alg, "ORDER BY h.size", None).await?;
                let start = if options.from_size == 0 {
                    ::otklik_log::CompactRange::new(alg)
                } else {
                    if !heads.iter().any(|h| h.head.size == options.from_size) {
                        report.divergence = Some(divergence(
                            "no_tree_head_at_size",
                            None,
                            None,
                            format!("there is no signed tree head of size {}", options.from_size),
                        ));
                        return Ok(report);
                    }
                    let ids = ::otklik_log::root_nodes(options.from_size);
                    let nodes = Self::log_nodes(&mut *tx, &ids).await?;
                    let hashes: Option<Vec<_>> = ids
                        .iter()
                        .map(|id| ::otklik_log::NodeSource::node(&nodes, *id))
                        .collect();
                    match hashes.and_then(|h| {
                        ::otklik_log::CompactRange::from_nodes(alg, options.from_size, &h).ok()
                    }) {
                        Some(range) => range,
                        None => {
                            report.divergence = Some(divergence(
                                "node_missing",
                                None,
                                None,
                                format!("the subtrees of the first {} leaves are not all stored", options.from_size),
                            ));
                            return Ok(report);
                        }
                    }
                };
                let mut auditor = match $crate::ledger::Auditor::new(alg, start, heads, options.public_keys.clone()) {
                    Ok(auditor) => auditor,
                    Err(d) => {
                        report.divergence = Some(d);
                        return Ok(report);
                    }
                };
                let mut next = $crate::ledger_sql::i64_of(options.from_size)?;
                loop {
                    let rows = ::sqlx::query_as::<$db, (i64, Option<i64>, Vec<u8>, Vec<u8>)>(
                        "SELECT idx, event_id, data, salt FROM log_leaves \
                         WHERE idx >= $1 ORDER BY idx LIMIT $2",
                    )
                    .bind(next)
                    .bind(CHUNK)
                    .fetch_all(&mut *tx)
                    .await?;
                    let Some(last) = rows.last() else { break };
                    next = last.0 + 1;
                    // The tree: leaves hash into the stored subtrees and the signed heads.
                    let mut completed = Vec::new();
                    for (idx, event, data, _) in &rows {
                        let index = $crate::ledger_sql::u64_of(*idx, "log_leaves.idx")?;
                        match auditor.leaf(index, data, event.is_some()) {
                            Ok(nodes) => completed.extend(nodes.into_iter().map(|n| (index, n))),
                            Err(d) => {
                                report.divergence = Some(d);
                                break;
                            }
                        }
                    }
                    if report.divergence.is_none() {
                        let ids: Vec<_> = completed.iter().map(|(_, (id, _))| *id).collect();
                        let stored = Self::log_nodes(&mut *tx, &ids).await?;
                        for (index, (id, hash)) in &completed {
                            if ::otklik_log::NodeSource::node(&stored, *id) != Some(*hash) {
                                report.divergence = Some(divergence(
                                    "node_mismatch",
                                    Some(*index),
                                    None,
                                    format!(
                                        "the stored subtree (level {}, index {}) differs from the leaves",
                                        id.level, id.index
                                    ),
                                ));
                                break;
                            }
                        }
                    }
                    if report.divergence.is_none() {
                        report.divergence = auditor.head_failure();
                    }
                    // The events: each leaf is what its event rows say, under its salt.
                    if report.divergence.is_none() {
                        report.divergence = Self::audit_events(&mut *tx, &rows, &mut report).await?;
                    }
                    // The documents: each frozen hash and each set of signatures is still
                    // what the document rows hold.
                    if report.divergence.is_none() {
                        report.divergence = Self::audit_documents(&mut *tx, &rows).await?;
                    }
                    if report.divergence.is_some() {
                        break;
                    }
                }
                report.leaves_checked = auditor.leaves_checked;
                report.heads_checked = auditor.heads_checked;
                if report.divergence.is_none() {
                    report.divergence = if auditor.size() != size {
                        Some(divergence(
                            "size_mismatch",
                            None,
                            None,
                            format!("log_state says {size} leaves, {} are stored", auditor.size()),
                        ))
                    } else if frontier != $crate::ledger_sql::frontier_bytes(auditor.range()) {
                        Some(divergence(
                            "frontier_mismatch",
                            None,
                            None,
                            "the stored frontier differs from the leaves".to_owned(),
                        ))
                    } else {
                        auditor.finish().err()
                    };
                }
                if report.divergence.is_none() {
                    let unlogged = ::sqlx::query_as::<$db, (i64, i64)>(
                        "SELECT e.id, e.submission_id FROM events e \
                         WHERE NOT EXISTS (SELECT 1 FROM log_leaves l WHERE l.event_id = e.id) \
                         ORDER BY e.id LIMIT 1",
                    )
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some((event, submission)) = unlogged {
                        report.divergence = Some(divergence(
                            "event_not_logged",
                            None,
                            Some(submission),
                            format!("event {event} has no leaf"),
                        ));
                    }
                }
                if report.divergence.is_none() {
                    report.divergence = Self::audit_state(&mut *tx, &auditor.tails, &mut report).await?;
                }
                Ok(report)
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            /// Re-derives the leaves of a chunk from the event tables and compares bytes.
            async fn audit_events(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                rows: &[(i64, Option<i64>, Vec<u8>, Vec<u8>)],
                report: &mut $crate::AuditReport,
            ) -> $crate::StoreResult<Option<$crate::Divergence>> {
                use $crate::ledger::divergence;
                let events: Vec<i64> = rows.iter().filter_map(|r| r.1).collect();
                if events.is_empty() {
                    return Ok(None);
                }
                let list = events.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
                let sql = format!("{} WHERE e.id IN ({list})", $crate::ledger_sql::leaf_source_select!());
                let sources: ::std::collections::HashMap<i64, $crate::ledger_sql::LeafSourceRow> =
                    ::sqlx::query_as::<$db, $crate::ledger_sql::LeafSourceRow>(&sql)
                        .persistent(false)
                        .fetch_all(&mut *conn)
                        .await?
                        .into_iter()
                        .map(|row| (row.event_id, row))
                        .collect();
                let submissions = sources
                    .values()
                    .map(|s| s.submission_id.to_string())
                    .collect::<::std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", ");
                let files = if submissions.is_empty() {
                    Vec::new()
                } else {
                    let sql = format!(
                        "SELECT submission_id, event_id, sha256 FROM files \
                         WHERE submission_id IN ({submissions}) ORDER BY id"
                    );
                    ::sqlx::query_as::<$db, (i64, Option<i64>, String)>(&sql)
                        .persistent(false)
                        .fetch_all(&mut *conn)
                        .await?
                };
                let files = $crate::ledger_sql::FilesByOwner::new(files);
                for (idx, event, data, salt) in rows {
                    let Some(event) = event else { continue };
                    let index = $crate::ledger_sql::u64_of(*idx, "log_leaves.idx")?;
                    let Some(source) = sources.get(event) else {
                        return Ok(Some(divergence(
                            "event_missing",
                            Some(index),
                            None,
                            format!("leaf {index} records event {event}, which is not in the events table"),
                        )));
                    };
                    let (leaf, _) = source.leaf(files.of(source), salt)?;
                    if leaf.encode() != *data {
                        return Ok(Some(divergence(
                            "event_mismatch",
                            Some(index),
                            Some(source.submission_id),
                            format!("event {event} as stored now is not the event the log recorded"),
                        )));
                    }
                    report.events_checked += 1;
                }
                Ok(None)
            }

            /// Re-reads the documents that a chunk's document leaves record.
            async fn audit_documents(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                rows: &[(i64, Option<i64>, Vec<u8>, Vec<u8>)],
            ) -> $crate::StoreResult<Option<$crate::Divergence>> {
                use $crate::ledger::divergence;
                for (idx, event, data, _) in rows {
                    if event.is_some() {
                        continue;
                    }
                    let Some(leaf) = $crate::documents_sql::DocumentLeaf::decode(data) else {
                        continue;
                    };
                    let index = $crate::ledger_sql::u64_of(*idx, "log_leaves.idx")?;
                    // The bytes themselves are hashed again: a rewrite that kept the hash
                    // column is found too.
                    let stored = ::sqlx::query_scalar::<$db, Vec<u8>>(
                        "SELECT content FROM documents WHERE id = $1",
                    )
                    .bind(leaf.document)
                    .fetch_optional(&mut *conn)
                    .await?;
                    let content = match &stored {
                        None => Some(format!("document {} is not in the documents table", leaf.document)),
                        Some(bytes) if $crate::common::sha256_hex(bytes) != leaf.sha256 => Some(format!(
                            "document {}'s bytes are not those the log recorded",
                            leaf.document
                        )),
                        Some(_) => None,
                    };
                    let content = match content {
                        Some(content) => Some(content),
                        None if leaf.event == "completed" => {
                            let signatures = ::sqlx::query_scalar::<$db, Option<Vec<u8>>>(
                                "SELECT signature FROM document_signers WHERE document_id = $1 ORDER BY slot",
                            )
                            .bind(leaf.document)
                            .fetch_all(&mut *conn)
                            .await?;
                            let hashes: Vec<String> = signatures
                                .iter()
                                .map(|s| s.as_deref().map($crate::common::sha256_hex).unwrap_or_default())
                                .collect();
                            (hashes != leaf.signatures).then(|| {
                                format!("document {}'s signatures are not those the log recorded", leaf.document)
                            })
                        }
                        None => None,
                    };
                    if let Some(detail) = content {
                        let code = if stored.is_none() { "document_missing" } else { "document_mismatch" };
                        return Ok(Some(divergence(code, Some(index), None, detail)));
                    }
                }
                Ok(None)
            }

            /// Each submission must be in the state its last leaf records.
            async fn audit_state(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                tails: &::std::collections::HashMap<i64, $crate::ledger::Tail>,
                report: &mut $crate::AuditReport,
            ) -> $crate::StoreResult<Option<$crate::Divergence>> {
                use $crate::ledger::divergence;
                let mut after = 0i64;
                loop {
                    let rows = ::sqlx::query_as::<$db, (i64, String, i64, i64)>(
                        "SELECT id, status, org_id, deadline_at FROM submissions \
                         WHERE id > $1 ORDER BY id LIMIT 5000",
                    )
                    .bind(after)
                    .fetch_all(&mut *conn)
                    .await?;
                    let Some(last) = rows.last() else { return Ok(None) };
                    after = last.0;
                    for (id, status, org, deadline_at) in rows {
                        let Some(tail) = tails.get(&id) else {
                            if report.from_size == 0 {
                                return Ok(Some(divergence(
                                    "submission_not_logged",
                                    None,
                                    Some(id),
                                    format!("submission {id} has no leaf"),
                                )));
                            }
                            continue;
                        };
                        // Deadlines are not compared: a policy or calendar change recomputes
                        // them after the fact (logged as one `deadlines_recomputed` leaf).
                        if tail.status != status || tail.org != org {
                            return Ok(Some(divergence(
                                "state_mismatch",
                                None,
                                Some(id),
                                format!(
                                    "submission {id} is {status} at organisation {org} \
                                     (due {deadline_at}); its last leaf says {} at {}",
                                    tail.status, tail.org
                                ),
                            )));
                        }
                        report.submissions_checked += 1;
                    }
                }
            }
        }

        #[::async_trait::async_trait]
        impl $crate::Ledger for $store {
            async fn init_log(&self, alg: ::otklik_log::HashAlg) -> $crate::StoreResult<u64> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let existing = ::sqlx::query_as::<$db, (String, i64)>(concat!(
                    "SELECT alg, size FROM log_state WHERE id = 1",
                    $lock
                ))
                .fetch_optional(&mut *tx)
                .await?;
                match existing {
                    None => {
                        ::sqlx::query::<$db>(
                            "INSERT INTO log_state (id, alg, size, frontier) VALUES (1, $1, 0, $2)",
                        )
                        .bind(alg.as_str())
                        .bind(Vec::<u8>::new())
                        .execute(&mut *tx)
                        .await?;
                    }
                    Some((_, 0)) => {
                        ::sqlx::query::<$db>("UPDATE log_state SET alg = $1 WHERE id = 1")
                            .bind(alg.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                    Some((existing, _)) if existing != alg.as_str() => {
                        return Err($crate::StoreError::Conflict("log_hash_mismatch"));
                    }
                    Some(_) => {}
                }
                // Events recorded before the log existed get their leaves now, in order.
                let pending = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT id FROM events \
                     WHERE id > COALESCE((SELECT MAX(event_id) FROM log_leaves), 0) \
                     ORDER BY id",
                )
                .fetch_all(&mut *tx)
                .await?;
                for event in &pending {
                    Self::log_event(&mut *tx, *event).await?;
                }
                tx.commit().await?;
                Ok(pending.len() as u64)
            }

            async fn log_info(&self) -> $crate::StoreResult<$crate::LogInfo> {
                let mut conn = self.$read().acquire().await?;
                let (alg, size, frontier) = Self::log_alg_size(&mut *conn).await?;
                let range = ::otklik_log::CompactRange::from_nodes(
                    alg,
                    size,
                    &$crate::ledger_sql::frontier_of(&frontier)?,
                )
                .map_err(|_| $crate::common::corrupt("log_state.frontier"))?;
                Ok($crate::LogInfo {
                    alg,
                    size,
                    root: range.root(),
                })
            }

            async fn sign_tree_head(
                &self,
                signer: &::otklik_log::Signer,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<Option<::otklik_log::SignedTreeHead>> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let (alg, size, frontier) = Self::log_alg_size(&mut *tx).await?;
                let signed: Option<i64> =
                    ::sqlx::query_scalar::<$db, Option<i64>>("SELECT MAX(size) FROM log_tree_heads")
                        .fetch_one(&mut *tx)
                        .await?;
                let signed = $crate::ledger_sql::u64_of(signed.unwrap_or(0), "log_tree_heads.size")?;
                if size == 0 || size <= signed {
                    tx.commit().await?;
                    return Ok(None);
                }
                let range = ::otklik_log::CompactRange::from_nodes(
                    alg,
                    size,
                    &$crate::ledger_sql::frontier_of(&frontier)?,
                )
                .map_err(|_| $crate::common::corrupt("log_state.frontier"))?;
                let timestamp_ms = u64::try_from(now.unix_timestamp_nanos() / 1_000_000)
                    .map_err(|_| $crate::common::corrupt("clock"))?;
                let head = signer.sign(&::otklik_log::TreeHead {
                    size,
                    root: range.root(),
                    timestamp_ms,
                    alg,
                });
                ::sqlx::query::<$db>(
                    "INSERT INTO log_keys (key_id, public_key, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (key_id) DO NOTHING",
                )
                .bind(&head.key_id)
                .bind(signer.public_key_bytes().to_vec())
                .bind(now.unix_timestamp())
                .execute(&mut *tx)
                .await?;
                ::sqlx::query::<$db>(
                    "INSERT INTO log_tree_heads (size, root, timestamp_ms, key_id, signature) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind($crate::ledger_sql::i64_of(size)?)
                .bind(head.head.root.to_vec())
                .bind($crate::ledger_sql::i64_of(timestamp_ms)?)
                .bind(&head.key_id)
                .bind(head.signature.to_vec())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some(head))
            }

            async fn latest_tree_head(
                &self,
            ) -> $crate::StoreResult<Option<::otklik_log::SignedTreeHead>> {
                let mut conn = self.$read().acquire().await?;
                let (alg, _, _) = Self::log_alg_size(&mut *conn).await?;
                Ok(Self::head_rows(
                    &mut *conn,
                    alg,
                    "WHERE h.size = (SELECT MAX(size) FROM log_tree_heads)",
                    None,
                )
                .await?
                .pop())
            }

            async fn tree_head(
                &self,
                size: u64,
            ) -> $crate::StoreResult<::otklik_log::SignedTreeHead> {
                let size = i64::try_from(size).map_err(|_| $crate::StoreError::NotFound)?;
                let mut conn = self.$read().acquire().await?;
                let (alg, _, _) = Self::log_alg_size(&mut *conn).await?;
                Self::head_rows(&mut *conn, alg, "WHERE h.size = $1", Some(size))
                    .await?
                    .pop()
                    .ok_or($crate::StoreError::NotFound)
            }

            async fn inclusion_proof(
                &self,
                index: u64,
                size: u64,
            ) -> $crate::StoreResult<$crate::InclusionProof> {
                let mut tx = self.$read().begin_with($begin_read).await?;
                let result: $crate::StoreResult<_> = async {
                let (alg, current, _) = Self::log_alg_size(&mut *tx).await?;
                if size == 0 || size > current || index >= size {
                    return Err($crate::StoreError::InvalidReference("index_out_of_range"));
                }
                let data = ::sqlx::query_scalar::<$db, Vec<u8>>(
                    "SELECT data FROM log_leaves WHERE idx = $1",
                )
                .bind($crate::ledger_sql::i64_of(index)?)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| $crate::common::corrupt("log_leaves: missing leaf"))?;
                let nodes = Self::log_nodes(&mut *tx, &::otklik_log::inclusion_nodes(index, size))
                    .await?;
                let proof = ::otklik_log::inclusion_proof(alg, index, size, &nodes)
                    .map_err(|e| $crate::common::corrupt(e.code()))?;
                Ok($crate::InclusionProof {
                    alg,
                    leaf_index: index,
                    tree_size: size,
                    leaf_hash: ::otklik_log::leaf_hash(alg, &data),
                    proof,
                })
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn consistency_proof(
                &self,
                first: u64,
                second: u64,
            ) -> $crate::StoreResult<Vec<::otklik_log::Hash>> {
                let mut tx = self.$read().begin_with($begin_read).await?;
                let result: $crate::StoreResult<_> = async {
                let (alg, current, _) = Self::log_alg_size(&mut *tx).await?;
                if first == 0 || first > second || second > current {
                    return Err($crate::StoreError::InvalidReference("size_out_of_range"));
                }
                let nodes =
                    Self::log_nodes(&mut *tx, &::otklik_log::consistency_nodes(first, second))
                        .await?;
                ::otklik_log::consistency_proof(alg, first, second, &nodes)
                    .map_err(|e| $crate::common::corrupt(e.code()))
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn leaves(
                &self,
                start: u64,
                count: u32,
            ) -> $crate::StoreResult<Vec<$crate::LogLeaf>> {
                let mut conn = self.$read().acquire().await?;
                let (alg, _, _) = Self::log_alg_size(&mut *conn).await?;
                let rows = ::sqlx::query_as::<$db, (i64, Vec<u8>)>(
                    "SELECT idx, data FROM log_leaves WHERE idx >= $1 ORDER BY idx LIMIT $2",
                )
                .bind($crate::ledger_sql::i64_of(start)?)
                .bind(i64::from(count))
                .fetch_all(&mut *conn)
                .await?;
                rows.into_iter()
                    .map(|(idx, data)| {
                        Ok($crate::LogLeaf {
                            index: $crate::ledger_sql::u64_of(idx, "log_leaves.idx")?,
                            leaf_hash: ::otklik_log::leaf_hash(alg, &data),
                            data,
                        })
                    })
                    .collect()
            }

            async fn receipts(
                &self,
                submission: ::otklik_domain::SubmissionId,
                actor: ::otklik_domain::lifecycle::Actor,
            ) -> $crate::StoreResult<Vec<$crate::ReceiptEntry>> {
                let mut tx = self.$read().begin_with($begin_read).await?;
                let result: $crate::StoreResult<_> = async {
                Self::visible_state(&mut *tx, submission, &actor).await?;
                let covered: Option<i64> =
                    ::sqlx::query_scalar::<$db, Option<i64>>("SELECT MAX(size) FROM log_tree_heads")
                        .fetch_one(&mut *tx)
                        .await?;
                let rows = ::sqlx::query_as::<$db, (i64, String, Option<i64>, i64)>(
                    "SELECT idx, kind, event_id, at FROM log_leaves \
                     WHERE submission_id = $1 ORDER BY idx",
                )
                .bind(submission.0)
                .fetch_all(&mut *tx)
                .await?;
                rows.into_iter()
                    .map(|(idx, kind, event, at)| {
                        Ok($crate::ReceiptEntry {
                            index: $crate::ledger_sql::u64_of(idx, "log_leaves.idx")?,
                            kind,
                            event: event.map(::otklik_domain::EventId),
                            at: $crate::common::from_ts(at)?,
                            signed: covered.is_some_and(|size| idx < size),
                        })
                    })
                    .collect()
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn receipt(
                &self,
                submission: ::otklik_domain::SubmissionId,
                index: u64,
                actor: ::otklik_domain::lifecycle::Actor,
            ) -> $crate::StoreResult<$crate::ledger::CitizenReceipt> {
                let mut tx = self.$read().begin_with($begin_read).await?;
                let result: $crate::StoreResult<_> = async {
                let state = Self::visible_state(&mut *tx, submission, &actor).await?;
                let (alg, _, _) = Self::log_alg_size(&mut *tx).await?;
                let (data, salt) = ::sqlx::query_as::<$db, (Vec<u8>, Vec<u8>)>(
                    "SELECT data, salt FROM log_leaves WHERE idx = $1 AND submission_id = $2",
                )
                .bind($crate::ledger_sql::i64_of(index)?)
                .bind(submission.0)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or($crate::StoreError::NotFound)?;
                let head = Self::head_rows(
                    &mut *tx,
                    alg,
                    "WHERE h.size = (SELECT MAX(size) FROM log_tree_heads)",
                    None,
                )
                .await?
                .pop()
                .filter(|head| head.head.size > index)
                .ok_or($crate::StoreError::Conflict("receipt_pending"))?;
                let nodes = Self::log_nodes(
                    &mut *tx,
                    &::otklik_log::inclusion_nodes(index, head.head.size),
                )
                .await?;
                let proof = ::otklik_log::inclusion_proof(alg, index, head.head.size, &nodes)
                    .map_err(|e| $crate::common::corrupt(e.code()))?;
                // Only the author is shown what the commitment hides.
                let disclosure = if actor.user == state.author {
                    let event = ::sqlx::query_scalar::<$db, Option<i64>>(
                        "SELECT event_id FROM log_leaves WHERE idx = $1",
                    )
                    .bind($crate::ledger_sql::i64_of(index)?)
                    .fetch_one(&mut *tx)
                    .await?;
                    match event {
                        Some(event) => {
                            let source = ::sqlx::query_as::<$db, $crate::ledger_sql::LeafSourceRow>(
                                concat!($crate::ledger_sql::leaf_source_select!(), " WHERE e.id = $1"),
                            )
                            .bind(event)
                            .fetch_one(&mut *tx)
                            .await?;
                            let files = Self::leaf_files(&mut *tx, &source).await?;
                            let (_, disclosure) = source.leaf(files, &salt)?;
                            Some($crate::ledger::DisclosureOpening::new(&salt, disclosure))
                        }
                        None => None,
                    }
                } else {
                    None
                };
                Ok($crate::ledger::CitizenReceipt::new(
                    alg, index, &data, head, &proof, disclosure,
                ))
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn audit_log(
                &self,
                options: $crate::AuditOptions,
            ) -> $crate::StoreResult<$crate::AuditReport> {
                self.run_audit(options).await
            }
        }
    };
}

pub(crate) use impl_ledger;

#[derive(sqlx::FromRow)]
pub(crate) struct HeadRow {
    pub size: i64,
    pub root: Vec<u8>,
    pub timestamp_ms: i64,
    pub key_id: String,
    pub signature: Vec<u8>,
    pub public_key: Vec<u8>,
}

impl HeadRow {
    pub fn into_head(
        self,
        alg: otklik_log::HashAlg,
    ) -> crate::StoreResult<otklik_log::SignedTreeHead> {
        let signature = <[u8; 64]>::try_from(self.signature.as_slice())
            .map_err(|_| crate::common::corrupt("log_tree_heads.signature"))?;
        let public_key = <[u8; 32]>::try_from(self.public_key.as_slice())
            .map_err(|_| crate::common::corrupt("log_keys.public_key"))?;
        Ok(otklik_log::SignedTreeHead {
            head: otklik_log::TreeHead {
                size: u64_of(self.size, "log_tree_heads.size")?,
                root: hash_of(&self.root, "log_tree_heads.root")?,
                timestamp_ms: u64_of(self.timestamp_ms, "log_tree_heads.timestamp_ms")?,
                alg,
            },
            key_id: self.key_id,
            public_key,
            signature,
        })
    }
}
