//! The `Discussions` trait's implementation (`impl_discussions!`): public discussions, their
//! moderated comments and one position per person, counted with each write.

use otklik_domain::discussion::{CommentStatus, RejectionReason, Stance};
use otklik_domain::{CommentId, DiscussionId, OrgId, RegionId, UserId};
use time::OffsetDateTime;

/// A discussion to open (checked by the web crate's use case).
#[derive(Debug, Clone)]
pub struct NewDiscussion {
    /// `None`: the operator's own.
    pub org: Option<OrgId>,
    pub title: String,
    pub proposal: String,
    pub region: Option<RegionId>,
    pub schedule: otklik_domain::poll::Schedule,
    pub by: UserId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscussionRecord {
    pub id: DiscussionId,
    pub org: Option<OrgId>,
    pub org_name: Option<String>,
    pub title: String,
    pub proposal: String,
    pub region: Option<RegionId>,
    pub schedule: otklik_domain::poll::Schedule,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    pub support_for: u64,
    pub support_against: u64,
    pub comments_published: u64,
    pub comments_pending: u64,
}

/// A comment as moderators and readers see it: never its author's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentRecord {
    pub id: CommentId,
    pub body: String,
    pub status: CommentStatus,
    pub reason: Option<RejectionReason>,
    pub created_at: OffsetDateTime,
}

/// One page of a discussion's comments in one status, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommentPage {
    pub comments: Vec<CommentRecord>,
    /// More comments in this status follow the page's last one.
    pub more: bool,
    /// Comments in this status precede the page's first one (for an empty page: precede
    /// the place it starts at).
    pub earlier: bool,
}

/// Which discussions to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscussionFilter {
    /// Only this organisation's (`Some(None)`: only the operator's).
    pub org: Option<Option<OrgId>>,
    pub open_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct DiscussionRow {
    id: i64,
    org_id: Option<i64>,
    org_name: Option<String>,
    title: String,
    proposal: String,
    region_id: Option<i64>,
    opens_at: i64,
    closes_at: i64,
    created_by: i64,
    created_at: i64,
    support_for: i64,
    support_against: i64,
    comments_published: i64,
    comments_pending: i64,
}

pub(crate) const DISCUSSION_SELECT: &str = "SELECT d.id, d.org_id, o.name AS org_name, d.title, \
    d.proposal, d.region_id, d.opens_at, d.closes_at, d.created_by, d.created_at, \
    d.support_for, d.support_against, d.comments_published, d.comments_pending \
    FROM discussions d LEFT JOIN organisations o ON o.id = d.org_id";

impl DiscussionRow {
    pub fn record(self) -> crate::StoreResult<DiscussionRecord> {
        use crate::common::{corrupt, from_ts};
        use crate::ledger_sql::u64_of;
        Ok(DiscussionRecord {
            id: DiscussionId(self.id),
            org: self.org_id.map(OrgId),
            org_name: self.org_name,
            title: self.title,
            proposal: self.proposal,
            region: self.region_id.map(RegionId),
            schedule: otklik_domain::poll::Schedule::new(
                from_ts(self.opens_at)?,
                from_ts(self.closes_at)?,
            )
            .map_err(|_| corrupt("discussions.schedule"))?,
            created_by: UserId(self.created_by),
            created_at: from_ts(self.created_at)?,
            support_for: u64_of(self.support_for, "discussions.support_for")?,
            support_against: u64_of(self.support_against, "discussions.support_against")?,
            comments_published: u64_of(self.comments_published, "discussions.comments")?,
            comments_pending: u64_of(self.comments_pending, "discussions.comments")?,
        })
    }
}

pub(crate) fn comment_of(
    row: (i64, String, String, Option<String>, i64),
) -> crate::StoreResult<CommentRecord> {
    use crate::common::corrupt;
    let (id, body, status, reason, at) = row;
    Ok(CommentRecord {
        id: CommentId(id),
        body,
        status: CommentStatus::parse(&status).ok_or_else(|| corrupt("comment status"))?,
        reason: reason
            .map(|r| RejectionReason::parse(&r).ok_or_else(|| corrupt("comment reason")))
            .transpose()?,
        created_at: crate::common::from_ts(at)?,
    })
}

/// A comment row as the pages read it.
pub(crate) type CommentRow = (i64, String, String, Option<String>, i64);

/// The first `limit` rows as a page; a row beyond them means more follow.
pub(crate) fn comment_page(rows: Vec<CommentRow>, limit: u32) -> crate::StoreResult<CommentPage> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    let comments = rows
        .into_iter()
        .take(limit)
        .map(comment_of)
        .collect::<crate::StoreResult<Vec<_>>>()?;
    Ok(CommentPage {
        comments,
        more,
        earlier: false,
    })
}

/// Rows read newest first (`id < before ORDER BY id DESC`) as a page oldest first: the
/// `limit` nearest to `before`; a row beyond them means earlier ones precede.
pub(crate) fn comment_page_back(
    mut rows: Vec<CommentRow>,
    limit: u32,
) -> crate::StoreResult<CommentPage> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let earlier = rows.len() > limit;
    rows.truncate(limit);
    rows.reverse();
    let comments = rows
        .into_iter()
        .map(comment_of)
        .collect::<crate::StoreResult<Vec<_>>>()?;
    Ok(CommentPage {
        comments,
        more: false,
        earlier,
    })
}

/// Where a forward page starts, for the question whether comments precede it: below its
/// first comment, or (an empty page) at or below `after`.
pub(crate) fn earlier_bound(page: &CommentPage, after: i64) -> i64 {
    page.comments
        .first()
        .map_or(after.saturating_add(1), |c| c.id.0)
}

/// Where a backward page ends, for the question whether comments follow it: above its
/// last comment, or (an empty page) at or above `before`.
pub(crate) fn later_bound(page: &CommentPage, before: i64) -> i64 {
    page.comments
        .last()
        .map_or(before.saturating_sub(1), |c| c.id.0)
}

/// The counter column a stance adds to.
pub(crate) fn stance_column(stance: Stance) -> &'static str {
    match stance {
        Stance::For => "support_for",
        Stance::Against => "support_against",
    }
}

/// The counter a comment in this status is counted in, if any.
pub(crate) fn status_column(status: CommentStatus) -> Option<&'static str> {
    match status {
        CommentStatus::Pending => Some("comments_pending"),
        CommentStatus::Published => Some("comments_published"),
        CommentStatus::Rejected => None,
    }
}

macro_rules! impl_discussions {
    (
        store: $store:ty,
        db: $db:ty,
        write: $write:ident,
        read: $read:ident,
        begin_write: $begin_write:literal,
        lock: $lock:literal $(,)?
    ) => {
        #[::async_trait::async_trait]
        impl $crate::Discussions for $store {
            async fn create_discussion(
                &self,
                d: $crate::NewDiscussion,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<::otklik_domain::DiscussionId> {
                let id = ::sqlx::query_scalar::<$db, i64>(
                    "INSERT INTO discussions (org_id, title, proposal, region_id, opens_at, \
                     closes_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     RETURNING id",
                )
                .bind(d.org.map(|o| o.0))
                .bind(&d.title)
                .bind(&d.proposal)
                .bind(d.region.map(|r| r.0))
                .bind($crate::common::ts(d.schedule.opens_at()))
                .bind($crate::common::ts(d.schedule.closes_at()))
                .bind(d.by.0)
                .bind($crate::common::ts(now))
                .fetch_one(self.$write())
                .await
                .map_err(|e| $crate::common::constraint(e, "duplicate", "unknown_reference"))?;
                Ok(::otklik_domain::DiscussionId(id))
            }

            async fn discussion(
                &self,
                id: ::otklik_domain::DiscussionId,
            ) -> $crate::StoreResult<$crate::DiscussionRecord> {
                let row = ::sqlx::query_as::<$db, $crate::discussions_sql::DiscussionRow>(&format!(
                    "{} WHERE d.id = $1",
                    $crate::discussions_sql::DISCUSSION_SELECT
                ))
                .bind(id.0)
                .fetch_optional(self.$read())
                .await?;
                row.ok_or($crate::StoreError::NotFound)?.record()
            }

            async fn discussions(
                &self,
                filter: $crate::DiscussionFilter,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::DiscussionRecord>> {
                let mut sql = ::sqlx::QueryBuilder::<$db>::new(
                    $crate::discussions_sql::DISCUSSION_SELECT,
                );
                sql.push(" WHERE 1 = 1");
                match filter.org {
                    Some(Some(org)) => {
                        sql.push(" AND d.org_id = ").push_bind(org.0);
                    }
                    Some(None) => {
                        sql.push(" AND d.org_id IS NULL");
                    }
                    None => {}
                }
                if let Some(at) = filter.open_at {
                    let at = $crate::common::ts(at);
                    sql.push(" AND d.opens_at <= ")
                        .push_bind(at)
                        .push(" AND d.closes_at > ")
                        .push_bind(at);
                }
                sql.push(" ORDER BY d.closes_at DESC, d.id DESC LIMIT ")
                    .push_bind(i64::from(limit));
                sql.build_query_as::<$crate::discussions_sql::DiscussionRow>()
                    .fetch_all(self.$read())
                    .await?
                    .into_iter()
                    .map($crate::discussions_sql::DiscussionRow::record)
                    .collect()
            }

            async fn add_comment(
                &self,
                id: ::otklik_domain::DiscussionId,
                author: ::otklik_domain::UserId,
                body: &str,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<::otklik_domain::CommentId> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<i64> = async {
                    Self::lock_open_discussion(&mut tx, id, now).await?;
                    let comment = ::sqlx::query_scalar::<$db, i64>(
                        "INSERT INTO discussion_comments (discussion_id, author_id, body, status, \
                         created_at) VALUES ($1, $2, $3, 'pending', $4) RETURNING id",
                    )
                    .bind(id.0)
                    .bind(author.0)
                    .bind(body)
                    .bind($crate::common::ts(now))
                    .fetch_one(&mut *tx)
                    .await?;
                    ::sqlx::query::<$db>(
                        "UPDATE discussions SET comments_pending = comments_pending + 1 WHERE id = $1",
                    )
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                    Ok(comment)
                }
                .await;
                $crate::common::finish(tx, result).await.map(::otklik_domain::CommentId)
            }

            async fn comments(
                &self,
                id: ::otklik_domain::DiscussionId,
                status: ::otklik_domain::discussion::CommentStatus,
                after: Option<::otklik_domain::CommentId>,
                limit: u32,
            ) -> $crate::StoreResult<$crate::CommentPage> {
                // One row beyond the page says whether another page follows.
                let rows = ::sqlx::query_as::<$db, (i64, String, String, Option<String>, i64)>(
                    "SELECT id, body, status, reason, created_at FROM discussion_comments \
                     WHERE discussion_id = $1 AND status = $2 AND id > $3 ORDER BY id LIMIT $4",
                )
                .bind(id.0)
                .bind(status.as_str())
                .bind(after.map_or(0, |c| c.0))
                .bind(i64::from(limit) + 1)
                .fetch_all(self.$read())
                .await?;
                let mut page = $crate::discussions_sql::comment_page(rows, limit)?;
                if let Some(after) = after {
                    page.earlier = ::sqlx::query_scalar::<$db, i64>(
                        "SELECT id FROM discussion_comments \
                         WHERE discussion_id = $1 AND status = $2 AND id < $3 \
                         ORDER BY id DESC LIMIT 1",
                    )
                    .bind(id.0)
                    .bind(status.as_str())
                    .bind($crate::discussions_sql::earlier_bound(&page, after.0))
                    .fetch_optional(self.$read())
                    .await?
                    .is_some();
                }
                Ok(page)
            }

            async fn comments_before(
                &self,
                id: ::otklik_domain::DiscussionId,
                status: ::otklik_domain::discussion::CommentStatus,
                before: ::otklik_domain::CommentId,
                limit: u32,
            ) -> $crate::StoreResult<$crate::CommentPage> {
                // Newest first from `before`, one row beyond the page saying whether
                // earlier ones precede; then turned oldest first.
                let rows = ::sqlx::query_as::<$db, $crate::discussions_sql::CommentRow>(
                    "SELECT id, body, status, reason, created_at FROM discussion_comments \
                     WHERE discussion_id = $1 AND status = $2 AND id < $3 \
                     ORDER BY id DESC LIMIT $4",
                )
                .bind(id.0)
                .bind(status.as_str())
                .bind(before.0)
                .bind(i64::from(limit) + 1)
                .fetch_all(self.$read())
                .await?;
                let mut page = $crate::discussions_sql::comment_page_back(rows, limit)?;
                page.more = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT id FROM discussion_comments \
                     WHERE discussion_id = $1 AND status = $2 AND id > $3 ORDER BY id LIMIT 1",
                )
                .bind(id.0)
                .bind(status.as_str())
                .bind($crate::discussions_sql::later_bound(&page, before.0))
                .fetch_optional(self.$read())
                .await?
                .is_some();
                Ok(page)
            }

            async fn own_comments(
                &self,
                id: ::otklik_domain::DiscussionId,
                author: ::otklik_domain::UserId,
            ) -> $crate::StoreResult<Vec<$crate::CommentRecord>> {
                ::sqlx::query_as::<$db, (i64, String, String, Option<String>, i64)>(
                    "SELECT id, body, status, reason, created_at FROM discussion_comments \
                     WHERE discussion_id = $1 AND author_id = $2 ORDER BY id",
                )
                .bind(id.0)
                .bind(author.0)
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map($crate::discussions_sql::comment_of)
                .collect()
            }

            async fn moderate_comment(
                &self,
                id: ::otklik_domain::DiscussionId,
                comment: ::otklik_domain::CommentId,
                by: ::otklik_domain::UserId,
                action: &::otklik_domain::discussion::Moderation,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<::otklik_domain::discussion::CommentStatus> {
                use ::otklik_domain::discussion::{moderate, CommentStatus, Moderation};
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<CommentStatus> = async {
                    let status = ::sqlx::query_scalar::<$db, String>(concat!(
                        "SELECT status FROM discussion_comments WHERE id = $1 AND discussion_id = $2",
                        $lock
                    ))
                    .bind(comment.0)
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                    let current = CommentStatus::parse(&status)
                        .ok_or_else(|| $crate::common::corrupt("comment status"))?;
                    let next = moderate(current, action).map_err($crate::StoreError::Conflict)?;
                    let reason = match action {
                        Moderation::Reject(reason) => Some(reason.as_str()),
                        Moderation::Publish => None,
                    };
                    ::sqlx::query::<$db>(
                        "UPDATE discussion_comments SET status = $2, reason = $3, moderated_by = $4, \
                         moderated_at = $5 WHERE id = $1",
                    )
                    .bind(comment.0)
                    .bind(next.as_str())
                    .bind(reason)
                    .bind(by.0)
                    .bind($crate::common::ts(now))
                    .execute(&mut *tx)
                    .await?;
                    let mut counters = Vec::new();
                    if let Some(column) = $crate::discussions_sql::status_column(current) {
                        counters.push(format!("{column} = {column} - 1"));
                    }
                    if let Some(column) = $crate::discussions_sql::status_column(next) {
                        counters.push(format!("{column} = {column} + 1"));
                    }
                    if !counters.is_empty() {
                        ::sqlx::query::<$db>(&format!(
                            "UPDATE discussions SET {} WHERE id = $1",
                            counters.join(", ")
                        ))
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Ok(next)
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn support(
                &self,
                id: ::otklik_domain::DiscussionId,
                voter_keys: &[String],
                stance: ::otklik_domain::discussion::Stance,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    Self::lock_open_discussion(&mut tx, id, now).await?;
                    if voter_keys.is_empty() {
                        return Err($crate::StoreError::InvalidReference("voter_key"));
                    }
                    // Every key of the person, or none (the transaction rolls back).
                    for key in voter_keys {
                        let inserted = ::sqlx::query::<$db>(
                            "INSERT INTO discussion_support (discussion_id, voter_key, stance) \
                             VALUES ($1, $2, $3) ON CONFLICT (discussion_id, voter_key) DO NOTHING",
                        )
                        .bind(id.0)
                        .bind(key)
                        .bind(stance.as_str())
                        .execute(&mut *tx)
                        .await?;
                        if inserted.rows_affected() == 0 {
                            return Err($crate::StoreError::Conflict("already_supported"));
                        }
                    }
                    let column = $crate::discussions_sql::stance_column(stance);
                    ::sqlx::query::<$db>(&format!(
                        "UPDATE discussions SET {column} = {column} + 1 WHERE id = $1"
                    ))
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn stance_of(
                &self,
                id: ::otklik_domain::DiscussionId,
                voter_keys: &[String],
            ) -> $crate::StoreResult<Option<::otklik_domain::discussion::Stance>> {
                let stance = ::sqlx::query_scalar::<$db, String>(&format!(
                    "SELECT stance FROM discussion_support WHERE discussion_id = $1 \
                     AND voter_key IN ({}) LIMIT 1",
                    $crate::polls_sql::key_list(voter_keys)?
                ))
                .bind(id.0)
                .fetch_optional(self.$read())
                .await?;
                stance
                    .map(|s| {
                        ::otklik_domain::discussion::Stance::parse(&s)
                            .ok_or_else(|| $crate::common::corrupt("stance"))
                    })
                    .transpose()
            }
        }

        impl $store {
            /// Locks the discussion's row; `NotFound` or `Conflict("discussion_not_open")`.
            async fn lock_open_discussion(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                id: ::otklik_domain::DiscussionId,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let (opens_at, closes_at) = ::sqlx::query_as::<$db, (i64, i64)>(concat!(
                    "SELECT opens_at, closes_at FROM discussions WHERE id = $1",
                    $lock
                ))
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or($crate::StoreError::NotFound)?;
                let at = $crate::common::ts(now);
                if at < opens_at || at >= closes_at {
                    return Err($crate::StoreError::Conflict("discussion_not_open"));
                }
                Ok(())
            }
        }
    };
}

pub(crate) use impl_discussions;
