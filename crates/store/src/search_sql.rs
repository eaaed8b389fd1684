//! The `SearchFeed` trait's implementation (`impl_search_feed!`): what the search index
//! must hold, read in the order the transparency log appended it. The log's index is
//! assigned under the lock that serialises appends, so it follows commit order on both
//! backends (an event's own id does not on PostgreSQL, where a transaction that took an
//! id earlier may commit later); a cursor over it never skips a change.
//!
//! Besides submissions, the leaves name register incidents (`incident` and
//! `incident_resolved`: the submission's, or the social incident's in its JSON), and social-media monitoring (`social`: an ingest
//! batch's incidents and posts, or a staff action on a social incident); each is re-read
//! as it is now.

/// One submission as the index holds it, with its answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchSubmission {
    pub id: i64,
    pub number: String,
    pub kind: String,
    pub status: String,
    pub text: String,
    pub subcategory: i64,
    pub subcategory_name: String,
    pub category: i64,
    pub region: i64,
    pub municipality: Option<i64>,
    pub org: i64,
    pub channel: String,
    pub author: i64,
    pub created_at: i64,
    /// Its author agreed that other citizens see it (messages only).
    pub public: bool,
    pub answers: Vec<SearchAnswer>,
}

/// An answer (final or intermediate) of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchAnswer {
    pub event: i64,
    pub kind: String,
    pub body: String,
    pub at: i64,
}

/// A row of the procedure incident register, with what names its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchIncident {
    pub id: i64,
    /// `IncidentKind::as_str` (`late_answer`, …).
    pub kind: String,
    /// The submission's, when it is about one: its id, number and subcategory.
    pub submission: Option<i64>,
    pub submission_number: Option<String>,
    pub subcategory: Option<i64>,
    pub subcategory_name: Option<String>,
    pub category: Option<i64>,
    /// The social incident's, when it is about one: its id and title.
    pub social_incident: Option<i64>,
    pub social_title: Option<String>,
    /// As recorded on the row (a social incident's may be unknown).
    pub org: Option<i64>,
    pub region: Option<i64>,
    pub resolved: bool,
    pub detected_at: i64,
}

/// A social-media incident as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchSocialIncident {
    pub id: i64,
    /// `open`, `answered`, `dismissed` or `merged`.
    pub status: String,
    pub title: String,
    pub place: Option<String>,
    /// The public answer, once given.
    pub answer: Option<String>,
    pub subcategory: Option<i64>,
    pub category: Option<i64>,
    pub region: Option<i64>,
    pub org: Option<i64>,
    pub created_at: i64,
}

/// A relevant social-media post, placed where its incident is (or, without one, where
/// the post itself was located and classified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPost {
    pub id: i64,
    pub platform: String,
    pub text: String,
    pub incident: Option<i64>,
    pub subcategory: Option<i64>,
    pub category: Option<i64>,
    pub region: Option<i64>,
    pub org: Option<i64>,
    pub published_at: i64,
}

/// What changed since a cursor, and the cursor after it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchChanges {
    /// The next log index to read.
    pub cursor: u64,
    pub submissions: Vec<SearchSubmission>,
    pub incidents: Vec<SearchIncident>,
    pub social_incidents: Vec<SearchSocialIncident>,
    pub posts: Vec<SearchPost>,
    /// How many log leaves were read (fewer than asked: the feed is caught up).
    pub leaves: u64,
}

/// The ids a `social` leaf names (`social_sql::SocialLeaf`); unknown fields ignored.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct SocialLeafRefs {
    /// The incident acted on (`social_incident`).
    pub incident: Option<i64>,
    /// A merge's target, or the incident a split made.
    pub related: Option<i64>,
    pub action: String,
    /// An ingest batch's incidents and posts (`social_posts`).
    pub incidents: Vec<i64>,
    pub posts: Vec<i64>,
}

/// The social incident an `incident` leaf names, if it names one.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct IncidentLeafRefs {
    pub social_incident: Option<i64>,
}

/// What a batch of leaves asks the feed to re-read, besides submissions.
#[derive(Default)]
pub(crate) struct Touched {
    pub social_register: std::collections::BTreeSet<i64>,
    pub social_incidents: std::collections::BTreeSet<i64>,
    /// Incidents all of whose posts are re-read (rerouted, merged, split).
    pub posts_of: std::collections::BTreeSet<i64>,
    pub posts: std::collections::BTreeSet<i64>,
}

impl Touched {
    /// Notes what one leaf without a submission names; leaves it cannot read are skipped
    /// (the index must not stall on them).
    pub fn leaf(&mut self, kind: &str, data: Option<&[u8]>) {
        let Some(data) = data else { return };
        match kind {
            "incident" | "incident_resolved" => {
                if let Ok(IncidentLeafRefs {
                    social_incident: Some(id),
                }) = serde_json::from_slice(data)
                {
                    self.social_register.insert(id);
                }
            }
            "social" => {
                let Ok(refs) = serde_json::from_slice::<SocialLeafRefs>(data) else {
                    return;
                };
                self.social_incidents.extend(refs.incidents);
                self.posts.extend(refs.posts);
                for id in refs.incident.into_iter().chain(refs.related) {
                    self.social_incidents.insert(id);
                    if matches!(refs.action.as_str(), "rerouted" | "merged" | "split") {
                        self.posts_of.insert(id);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Integers read from the database, as an SQL list (safe to put in a statement).
pub(crate) fn id_list<'a>(ids: impl IntoIterator<Item = &'a i64>) -> String {
    ids.into_iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(sqlx::FromRow)]
pub(crate) struct SearchRow {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub text: String,
    pub subcategory_id: i64,
    pub subcategory_name: String,
    pub category_id: i64,
    pub region_id: i64,
    pub municipality_id: Option<i64>,
    pub org_id: i64,
    pub channel: String,
    pub author_id: i64,
    pub created_at: i64,
    pub public: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct SearchIncidentRow {
    pub id: i64,
    pub kind: String,
    pub submission_id: Option<i64>,
    pub submission_created_at: Option<i64>,
    pub subcategory_id: Option<i64>,
    pub subcategory_name: Option<String>,
    pub category_id: Option<i64>,
    pub social_incident_id: Option<i64>,
    pub social_title: Option<String>,
    pub org_id: Option<i64>,
    pub region_id: Option<i64>,
    pub resolved_at: Option<i64>,
    pub detected_at: i64,
}

impl SearchIncidentRow {
    pub fn incident(self) -> crate::StoreResult<SearchIncident> {
        let number = match (self.submission_id, self.submission_created_at) {
            (Some(id), Some(at)) => Some(
                otklik_domain::RegistrationNumber::new(
                    otklik_domain::SubmissionId(id),
                    crate::common::from_ts(at)?,
                )
                .to_string(),
            ),
            _ => None,
        };
        Ok(SearchIncident {
            id: self.id,
            kind: self.kind,
            submission: self.submission_id,
            submission_number: number,
            subcategory: self.subcategory_id,
            subcategory_name: self.subcategory_name,
            category: self.category_id,
            social_incident: self.social_incident_id,
            social_title: self.social_title,
            org: self.org_id,
            region: self.region_id,
            resolved: self.resolved_at.is_some(),
            detected_at: self.detected_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SearchSocialRow {
    pub id: i64,
    pub status: String,
    pub title: String,
    pub place: Option<String>,
    pub answer: Option<String>,
    pub subcategory_id: Option<i64>,
    pub category_id: Option<i64>,
    pub region_id: Option<i64>,
    pub org_id: Option<i64>,
    pub created_at: i64,
}

impl SearchSocialRow {
    pub fn incident(self) -> SearchSocialIncident {
        SearchSocialIncident {
            id: self.id,
            status: self.status,
            title: self.title,
            place: self.place,
            answer: self.answer,
            subcategory: self.subcategory_id,
            category: self.category_id,
            region: self.region_id,
            org: self.org_id,
            created_at: self.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SearchPostRow {
    pub id: i64,
    pub platform: String,
    pub text: String,
    pub incident_id: Option<i64>,
    pub subcategory_id: Option<i64>,
    pub category_id: Option<i64>,
    pub region_id: Option<i64>,
    pub org_id: Option<i64>,
    pub published_at: i64,
}

impl SearchPostRow {
    pub fn post(self) -> SearchPost {
        SearchPost {
            id: self.id,
            platform: self.platform,
            text: self.text,
            incident: self.incident_id,
            subcategory: self.subcategory_id,
            category: self.category_id,
            region: self.region_id,
            org: self.org_id,
            published_at: self.published_at,
        }
    }
}

impl SearchRow {
    pub fn submission(self, answers: Vec<SearchAnswer>) -> crate::StoreResult<SearchSubmission> {
        let created = crate::common::from_ts(self.created_at)?;
        Ok(SearchSubmission {
            number: otklik_domain::RegistrationNumber::new(
                otklik_domain::SubmissionId(self.id),
                created,
            )
            .to_string(),
            id: self.id,
            kind: self.kind,
            status: self.status,
            text: self.text,
            subcategory: self.subcategory_id,
            subcategory_name: self.subcategory_name,
            category: self.category_id,
            region: self.region_id,
            municipality: self.municipality_id,
            org: self.org_id,
            channel: self.channel,
            author: self.author_id,
            created_at: self.created_at,
            public: self.public != 0,
            answers,
        })
    }
}

macro_rules! impl_search_feed {
    (store: $store:ty, db: $db:ty, read: $read:ident $(,)?) => {
        #[::async_trait::async_trait]
        impl $crate::SearchFeed for $store {
            async fn search_changes(
                &self,
                cursor: u64,
                limit: u32,
            ) -> $crate::StoreResult<$crate::SearchChanges> {
                use $crate::search_sql::*;
                let mut conn = self.$read().acquire().await?;
                let leaves = ::sqlx::query_as::<$db, (i64, String, Option<i64>, Option<Vec<u8>>)>(
                    "SELECT idx, kind, submission_id, \
                            CASE WHEN submission_id IS NULL AND kind IN ('incident', 'incident_resolved', 'social') \
                                 THEN data ELSE NULL END \
                     FROM log_leaves WHERE idx >= $1 ORDER BY idx LIMIT $2",
                )
                .bind($crate::ledger_sql::i64_of(cursor)?)
                .bind(i64::from(limit))
                .fetch_all(&mut *conn)
                .await?;
                let next = match leaves.last() {
                    Some((idx, ..)) => $crate::ledger_sql::u64_of(*idx, "log_leaves.idx")? + 1,
                    None => cursor,
                };
                let ids: ::std::collections::BTreeSet<i64> =
                    leaves.iter().filter_map(|(_, _, s, _)| *s).collect();
                let mut touched = Touched::default();
                for (_, kind, submission, data) in &leaves {
                    if submission.is_none() {
                        touched.leaf(kind, data.as_deref());
                    }
                }
                let mut changes = $crate::SearchChanges {
                    cursor: next,
                    submissions: Vec::with_capacity(ids.len()),
                    leaves: leaves.len() as u64,
                    ..$crate::SearchChanges::default()
                };
                if !ids.is_empty() {
                    // Ids are integers read from the database: safe to list in the statement.
                    // Such a statement is never the same twice: it is not kept prepared
                    // (sqlx keeps 100 per connection; with 2 000 ids each holds ~0.3 MB).
                    let list = id_list(&ids);
                    let rows = ::sqlx::query_as::<$db, SearchRow>(&format!(
                        "SELECT s.id, s.kind, s.status, s.text, s.subcategory_id, sc.name AS subcategory_name, \
                                sc.category_id, s.region_id, s.municipality_id, s.org_id, s.channel, \
                                s.author_id, s.created_at, s.public \
                         FROM submissions s JOIN subcategories sc ON sc.id = s.subcategory_id \
                         WHERE s.id IN ({list}) ORDER BY s.id"
                    ))
                    .persistent(false)
                    .fetch_all(&mut *conn)
                    .await?;
                    let answers = ::sqlx::query_as::<$db, (i64, i64, String, String, i64)>(&format!(
                        "SELECT id, submission_id, kind, body, at FROM events \
                         WHERE submission_id IN ({list}) AND body IS NOT NULL \
                           AND kind IN ('answered', 'intermediate_answer') ORDER BY id"
                    ))
                    .persistent(false)
                    .fetch_all(&mut *conn)
                    .await?;
                    let mut by_submission: ::std::collections::HashMap<i64, Vec<SearchAnswer>> =
                        ::std::collections::HashMap::new();
                    for (event, submission, kind, body, at) in answers {
                        by_submission
                            .entry(submission)
                            .or_default()
                            .push(SearchAnswer { event, kind, body, at });
                    }
                    for row in rows {
                        let answers = by_submission.remove(&row.id).unwrap_or_default();
                        changes.submissions.push(row.submission(answers)?);
                    }
                }
                // The register rows of the submissions touched and of the social incidents
                // whose register leaves were read.
                let mut subjects = Vec::new();
                if !ids.is_empty() {
                    subjects.push(format!("r.submission_id IN ({})", id_list(&ids)));
                }
                if !touched.social_register.is_empty() {
                    subjects.push(format!(
                        "r.social_incident_id IN ({})",
                        id_list(&touched.social_register)
                    ));
                }
                if !subjects.is_empty() {
                    let rows = ::sqlx::query_as::<$db, SearchIncidentRow>(&format!(
                        "SELECT r.id, r.kind, r.submission_id, s.created_at AS submission_created_at, \
                                COALESCE(s.subcategory_id, si.subcategory_id) AS subcategory_id, \
                                sc.name AS subcategory_name, sc.category_id, r.social_incident_id, \
                                si.title AS social_title, r.org_id, r.region_id, r.resolved_at, r.detected_at \
                         FROM incidents r \
                         LEFT JOIN submissions s ON s.id = r.submission_id \
                         LEFT JOIN social_incidents si ON si.id = r.social_incident_id \
                         LEFT JOIN subcategories sc ON sc.id = COALESCE(s.subcategory_id, si.subcategory_id) \
                         WHERE {} ORDER BY r.id",
                        subjects.join(" OR ")
                    ))
                    .persistent(false)
                    .fetch_all(&mut *conn)
                    .await?;
                    for row in rows {
                        changes.incidents.push(row.incident()?);
                    }
                }
                if !touched.social_incidents.is_empty() {
                    changes.social_incidents = ::sqlx::query_as::<$db, SearchSocialRow>(&format!(
                        "SELECT i.id, i.status, i.title, i.place, i.answer, i.subcategory_id, sc.category_id, \
                                i.region_id, i.org_id, i.created_at \
                         FROM social_incidents i LEFT JOIN subcategories sc ON sc.id = i.subcategory_id \
                         WHERE i.id IN ({}) ORDER BY i.id",
                        id_list(&touched.social_incidents)
                    ))
                    .persistent(false)
                    .fetch_all(&mut *conn)
                    .await?
                    .into_iter()
                    .map(SearchSocialRow::incident)
                    .collect();
                }
                let mut which = Vec::new();
                if !touched.posts.is_empty() {
                    which.push(format!("p.id IN ({})", id_list(&touched.posts)));
                }
                if !touched.posts_of.is_empty() {
                    which.push(format!("p.incident_id IN ({})", id_list(&touched.posts_of)));
                }
                if !which.is_empty() {
                    // A post is where its incident is; without one, where it was located.
                    changes.posts = ::sqlx::query_as::<$db, SearchPostRow>(&format!(
                        "SELECT p.id, p.platform, p.text, p.incident_id, \
                                CASE WHEN i.id IS NULL THEN p.subcategory_id ELSE i.subcategory_id END \
                                    AS subcategory_id, \
                                sc.category_id, \
                                CASE WHEN i.id IS NULL THEN p.region_id ELSE i.region_id END AS region_id, \
                                i.org_id, p.published_at \
                         FROM social_posts p \
                         LEFT JOIN social_incidents i ON i.id = p.incident_id \
                         LEFT JOIN subcategories sc ON sc.id = \
                             (CASE WHEN i.id IS NULL THEN p.subcategory_id ELSE i.subcategory_id END) \
                         WHERE p.relevant = 1 AND ({}) ORDER BY p.id",
                        which.join(" OR ")
                    ))
                    .persistent(false)
                    .fetch_all(&mut *conn)
                    .await?
                    .into_iter()
                    .map(SearchPostRow::post)
                    .collect();
                }
                Ok(changes)
            }
        }
    };
}

pub(crate) use impl_search_feed;
