//! The `Duplicates` trait's implementation (`impl_duplicates!`): merging submissions,
//! public messages and following them. The domain (`otklik_domain::merge`) decides every
//! merge; what a primary's actions do to its duplicates is in `Store::apply`
//! (`follow_primary`).

use crate::common::{from_ts, status_of};
use crate::{PublicSubmission, StoreResult};
use otklik_domain::{RegistrationNumber, SubcategoryId, SubmissionId};

/// The columns of a public message (`public_select!` on `submissions s`).
#[derive(sqlx::FromRow)]
pub(crate) struct PublicRow {
    id: i64,
    status: String,
    category_name: String,
    subcategory_id: i64,
    subcategory_name: String,
    region_name: String,
    municipality_name: Option<String>,
    org_name: String,
    text: String,
    created_at: i64,
    answer: Option<String>,
    answered_at: Option<i64>,
    followers: i64,
    duplicates: i64,
}

impl PublicRow {
    pub fn into_model(self) -> StoreResult<PublicSubmission> {
        let created_at = from_ts(self.created_at)?;
        let answer = match (self.answer, self.answered_at) {
            (Some(body), Some(at)) => Some((body, from_ts(at)?)),
            _ => None,
        };
        Ok(PublicSubmission {
            id: SubmissionId(self.id),
            number: RegistrationNumber::new(SubmissionId(self.id), created_at),
            status: status_of(&self.status)?,
            category_name: self.category_name,
            subcategory: SubcategoryId(self.subcategory_id),
            subcategory_name: self.subcategory_name,
            region_name: self.region_name,
            municipality_name: self.municipality_name,
            org_name: self.org_name,
            text: self.text,
            created_at,
            answer,
            followers: u64::try_from(self.followers).unwrap_or(0),
            duplicates: u64::try_from(self.duplicates).unwrap_or(0),
        })
    }
}

/// The log leaf of an author's choice to show their message to other citizens or not.
pub(crate) fn visibility_leaf(submission: i64, public: bool, at: i64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "v": 1,
        "event": "visibility",
        "submission": submission,
        "public": public,
        "at": at,
    }))
    .unwrap_or_default()
}

/// A public message: shown to anyone unless rejected (spam and abuse stay hidden). The
/// answer shown is the latest final answer.
macro_rules! public_select {
    () => {
        "SELECT s.id, s.status, c.name AS category_name, s.subcategory_id, \
                sc.name AS subcategory_name, r.name AS region_name, \
                m.name AS municipality_name, o.name AS org_name, s.text, s.created_at, \
                (SELECT e.body FROM events e WHERE e.submission_id = s.id \
                   AND e.kind = 'answered' ORDER BY e.id DESC LIMIT 1) AS answer, \
                (SELECT e.at FROM events e WHERE e.submission_id = s.id \
                   AND e.kind = 'answered' ORDER BY e.id DESC LIMIT 1) AS answered_at, \
                (SELECT COUNT(*) FROM follows f WHERE f.submission_id = s.id) AS followers, \
                (SELECT COUNT(*) FROM submissions d WHERE d.merged_into = s.id) AS duplicates \
         FROM submissions s \
         JOIN subcategories sc ON sc.id = s.subcategory_id \
         JOIN categories c ON c.id = sc.category_id \
         JOIN regions r ON r.id = s.region_id \
         LEFT JOIN municipalities m ON m.id = s.municipality_id \
         JOIN organisations o ON o.id = s.org_id \
         WHERE s.public = 1 AND s.status <> 'rejected'"
    };
}
pub(crate) use public_select;

macro_rules! impl_duplicates {
    (
        store: $store:ty,
        db: $db:ty,
        write: $write:ident,
        read: $read:ident,
        lock: $lock:literal,
        begin_write: $begin_write:literal $(,)?
    ) => {
        impl $store {
            /// Reads and locks the submissions `ids` (in id order, so two merges never
            /// wait for each other in a circle), refusing those the actor may not see.
            async fn lock_visible(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                ids: &[i64],
                actor: &::otklik_domain::lifecycle::Actor,
            ) -> $crate::StoreResult<Vec<$crate::common::StateRow>> {
                let mut rows = Vec::with_capacity(ids.len());
                let mut sorted = ids.to_vec();
                sorted.sort_unstable();
                sorted.dedup();
                for id in sorted {
                    let row = ::sqlx::query_as::<$db, $crate::common::StateRow>(concat!(
                        "SELECT ",
                        $crate::common::state_select!(),
                        " FROM submissions s WHERE s.id = $1",
                        $lock
                    ))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                    if !::otklik_domain::lifecycle::can_view(&row.state()?, actor) {
                        return Err($crate::StoreError::NotFound);
                    }
                    rows.push(row);
                }
                Ok(rows)
            }

            /// One submission read and locked for `actor`, as [`Self::lock_visible`].
            pub(crate) async fn lock_one(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                id: i64,
                actor: &::otklik_domain::lifecycle::Actor,
            ) -> $crate::StoreResult<$crate::common::StateRow> {
                Self::lock_visible(conn, &[id], actor)
                    .await?
                    .pop()
                    .ok_or($crate::StoreError::NotFound)
            }

            /// Merges `duplicate` into `primary` (`merged`), or separates them, with an
            /// event on each side.
            async fn link(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                duplicate: &$crate::common::StateRow,
                primary: &$crate::common::StateRow,
                merged: bool,
                actor: &::otklik_domain::lifecycle::Actor,
                at: i64,
            ) -> $crate::StoreResult<()> {
                use ::otklik_domain::lifecycle::EventKind;
                ::sqlx::query::<$db>(
                    "UPDATE submissions SET merged_into = $2, updated_at = $3 WHERE id = $1",
                )
                .bind(duplicate.id)
                .bind(merged.then_some(primary.id))
                .bind(at)
                .execute(&mut *conn)
                .await?;
                let (on_duplicate, on_primary) = if merged {
                    (EventKind::Merged, EventKind::MergedIn)
                } else {
                    (EventKind::Unmerged, EventKind::Unmerged)
                };
                Self::merge_event(&mut *conn, duplicate, primary.id, on_duplicate, actor, at).await?;
                Self::merge_event(&mut *conn, primary, duplicate.id, on_primary, actor, at).await
            }

            /// Records a merge event (`merged`, `merged_in`, `unmerged`) on `subject`,
            /// naming `other`, with its log leaf, notifications and deliveries.
            async fn merge_event(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                subject: &$crate::common::StateRow,
                other: i64,
                kind: ::otklik_domain::lifecycle::EventKind,
                actor: &::otklik_domain::lifecycle::Actor,
                at: i64,
            ) -> $crate::StoreResult<()> {
                let state = subject.state()?;
                let event = $crate::common::NewEvent {
                    submission: subject.id,
                    kind,
                    actor: Some(actor.user.0),
                    at,
                    from_status: Some(state.status),
                    to_status: state.status,
                    from_org: Some(state.org.0),
                    to_org: state.org.0,
                    reason: None,
                    body: None,
                    ground: None,
                    score: None,
                    deadline_at: subject.deadline_at,
                    subcategory: None,
                    extension_days: None,
                    related: Some(other),
                };
                let event_id = Self::insert_event(&mut *conn, &event).await?;
                Self::log_event(&mut *conn, event_id).await?;
                Self::enqueue_deliveries(
                    &mut *conn,
                    subject.id,
                    event_id,
                    Some(state.org.0),
                    state.org.0,
                    actor.role.organisation() == Some(state.org),
                    at,
                )
                .await?;
                Self::enqueue_notifications(&mut *conn, subject.id, event_id, kind, false, at)
                    .await?;
                Ok(())
            }
        }

        #[::async_trait::async_trait]
        impl $crate::Duplicates for $store {
            async fn merge_submissions(
                &self,
                primary: ::otklik_domain::SubmissionId,
                duplicate: ::otklik_domain::SubmissionId,
                actor: ::otklik_domain::lifecycle::Actor,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                use ::otklik_domain::merge::{decide_merge, Side};
                let at = $crate::common::ts($crate::common::whole_seconds(at)?);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let rows = Self::lock_visible(&mut *tx, &[primary.0, duplicate.0], &actor).await?;
                let side = |id: ::otklik_domain::SubmissionId| -> $crate::StoreResult<(Side, &$crate::common::StateRow)> {
                    let row = rows.iter().find(|r| r.id == id.0).ok_or($crate::StoreError::NotFound)?;
                    Ok((Side { id, state: row.state()? }, row))
                };
                let (primary_side, primary_row) = side(primary)?;
                let (duplicate_side, duplicate_row) = side(duplicate)?;
                decide_merge(&primary_side, &duplicate_side, &actor)?;
                Self::link(&mut *tx, duplicate_row, primary_row, true, &actor, at).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn unmerge_submission(
                &self,
                duplicate: ::otklik_domain::SubmissionId,
                actor: ::otklik_domain::lifecycle::Actor,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                use ::otklik_domain::merge::{decide_unmerge, Side};
                let at = $crate::common::ts($crate::common::whole_seconds(at)?);
                let mut tx = self.$write().begin_with($begin_write).await?;
                // Both rows are locked in id order, as a merge locks them; which primary
                // to lock is read first and confirmed under the lock.
                let peeked = ::sqlx::query_scalar::<$db, Option<i64>>(
                    "SELECT merged_into FROM submissions WHERE id = $1",
                )
                .bind(duplicate.0)
                .fetch_optional(&mut *tx)
                .await?
                .flatten();
                let ids: Vec<i64> = [Some(duplicate.0), peeked].into_iter().flatten().collect();
                let rows = Self::lock_visible(&mut *tx, &ids, &actor).await?;
                let find = |id: i64| rows.iter().find(|r| r.id == id).ok_or($crate::StoreError::NotFound);
                let row = find(duplicate.0)?;
                let primary = decide_unmerge(&Side { id: duplicate, state: row.state()? }, &actor)?;
                let primary_row = find(primary.0)?;
                Self::link(&mut *tx, row, primary_row, false, &actor, at).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_public(
                &self,
                id: ::otklik_domain::SubmissionId,
                actor: ::otklik_domain::lifecycle::Actor,
                public: bool,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                use ::otklik_domain::lifecycle::{Role, SubmissionKind, TransitionError};
                let at = $crate::common::ts($crate::common::whole_seconds(at)?);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let state = Self::lock_one(&mut *tx, id.0, &actor).await?.state()?;
                if state.author != actor.user || actor.role != Role::Citizen {
                    return Err(TransitionError::Forbidden.into());
                }
                if public && state.kind == SubmissionKind::Appeal {
                    return Err($crate::StoreError::InvalidReference("appeal_not_public"));
                }
                let changed = ::sqlx::query::<$db>(
                    "UPDATE submissions SET public = $2, updated_at = $3 WHERE id = $1 AND public <> $2",
                )
                .bind(id.0)
                .bind(i64::from(public))
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed > 0 {
                    // Its leaf tells every node's search index to read the submission again.
                    let leaf = $crate::merge_sql::visibility_leaf(id.0, public, at);
                    Self::log_append(&mut *tx, "visibility", Some(id.0), None, &leaf, &[], at).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn public_submissions(
                &self,
                ids: &[::otklik_domain::SubmissionId],
            ) -> $crate::StoreResult<Vec<$crate::PublicSubmission>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                // Ids are integers: safe to list in the statement (which then differs from
                // call to call, so it is not kept prepared).
                let list = ids.iter().map(|id| id.0.to_string()).collect::<Vec<_>>().join(", ");
                let rows = ::sqlx::query_as::<$db, $crate::merge_sql::PublicRow>(&format!(
                    "{} AND s.id IN ({list})",
                    $crate::merge_sql::public_select!()
                ))
                .persistent(false)
                .fetch_all(self.$read())
                .await?;
                let mut found = rows
                    .into_iter()
                    .map($crate::merge_sql::PublicRow::into_model)
                    .collect::<$crate::StoreResult<Vec<_>>>()?;
                found.sort_by_key(|p| ids.iter().position(|id| *id == p.id));
                Ok(found)
            }

            async fn follow(
                &self,
                user: ::otklik_domain::UserId,
                id: ::otklik_domain::SubmissionId,
                follow: bool,
                at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let at = $crate::common::ts($crate::common::whole_seconds(at)?);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let public = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT COUNT(*) FROM submissions WHERE id = $1 AND public = 1 \
                       AND status <> 'rejected'",
                )
                .bind(id.0)
                .fetch_one(&mut *tx)
                .await?;
                if public == 0 {
                    return Err($crate::StoreError::NotFound);
                }
                if follow {
                    ::sqlx::query::<$db>(
                        "INSERT INTO follows (user_id, submission_id, created_at) \
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(user.0)
                    .bind(id.0)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                } else {
                    ::sqlx::query::<$db>("DELETE FROM follows WHERE user_id = $1 AND submission_id = $2")
                        .bind(user.0)
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn followed(
                &self,
                user: ::otklik_domain::UserId,
            ) -> $crate::StoreResult<Vec<$crate::PublicSubmission>> {
                let ids = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT submission_id FROM follows WHERE user_id = $1 \
                     ORDER BY created_at DESC, submission_id DESC LIMIT 200",
                )
                .bind(user.0)
                .fetch_all(self.$read())
                .await?;
                let ids: Vec<_> = ids.into_iter().map(::otklik_domain::SubmissionId).collect();
                self.public_submissions(&ids).await
            }

            async fn follows(
                &self,
                user: ::otklik_domain::UserId,
                id: ::otklik_domain::SubmissionId,
            ) -> $crate::StoreResult<bool> {
                let n = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT COUNT(*) FROM follows WHERE user_id = $1 AND submission_id = $2",
                )
                .bind(user.0)
                .bind(id.0)
                .fetch_one(self.$read())
                .await?;
                Ok(n > 0)
            }
        }
    };
}

pub(crate) use impl_duplicates;
