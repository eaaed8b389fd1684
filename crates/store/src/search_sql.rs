//! The `SearchFeed` trait's implementation (`impl_search_feed!`): what the search index
//! must hold, read in the order the transparency log appended it. The log's index is
//! assigned under the lock that serialises appends, so it follows commit order on both
//! backends (an event's own id does not on PostgreSQL, where a transaction that took an
//! id earlier may commit later); a cursor over it never skips a change.

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

/// The submissions changed since a cursor, and the cursor after them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchChanges {
    /// The next log index to read.
    pub cursor: u64,
    pub submissions: Vec<SearchSubmission>,
    /// How many log leaves were read (fewer than asked: the feed is caught up).
    pub leaves: u64,
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
                let leaves = ::sqlx::query_as::<$db, (i64, Option<i64>)>(
                    "SELECT idx, submission_id FROM log_leaves WHERE idx >= $1 ORDER BY idx LIMIT $2",
                )
                .bind($crate::ledger_sql::i64_of(cursor)?)
                .bind(i64::from(limit))
                .fetch_all(&mut *conn)
                .await?;
                let next = match leaves.last() {
                    Some((idx, _)) => $crate::ledger_sql::u64_of(*idx, "log_leaves.idx")? + 1,
                    None => cursor,
                };
                let ids: ::std::collections::BTreeSet<i64> =
                    leaves.iter().filter_map(|(_, s)| *s).collect();
                let mut changes = $crate::SearchChanges {
                    cursor: next,
                    submissions: Vec::with_capacity(ids.len()),
                    leaves: leaves.len() as u64,
                };
                if ids.is_empty() {
                    return Ok(changes);
                }
                // Ids are integers read from the database: safe to list in the statement.
                let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
                let rows = ::sqlx::query_as::<$db, SearchRow>(&format!(
                    "SELECT s.id, s.kind, s.status, s.text, s.subcategory_id, sc.name AS subcategory_name, \
                            sc.category_id, s.region_id, s.municipality_id, s.org_id, s.channel, \
                            s.author_id, s.created_at \
                     FROM submissions s JOIN subcategories sc ON sc.id = s.subcategory_id \
                     WHERE s.id IN ({list}) ORDER BY s.id"
                ))
                .fetch_all(&mut *conn)
                .await?;
                let answers = ::sqlx::query_as::<$db, (i64, i64, String, String, i64)>(&format!(
                    "SELECT id, submission_id, kind, body, at FROM events \
                     WHERE submission_id IN ({list}) AND body IS NOT NULL \
                       AND kind IN ('answered', 'intermediate_answer') ORDER BY id"
                ))
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
                Ok(changes)
            }
        }
    };
}

pub(crate) use impl_search_feed;
