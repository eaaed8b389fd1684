//! The `QualityFeed` trait's implementation (`impl_quality_feed!`): opinions about the
//! quality of services, read from the transparency log by index (commit order on both
//! backends, so a receiver's cursor never skips one), and the push's leased cursor.
//!
//! Two kinds of leaf carry opinions: a `rated` leaf (one rating of an answer) and a
//! `social` leaf that routed posts: an ingest batch's, for the posts it routed at once, or
//! a staff action's (re-route, merge, split) for posts that were routed nowhere before.
//! Each post keeps that leaf's index and the organisation of that moment (`feed_idx`,
//! `feed_org_id`, set once), so a post routed late comes after every cursor handed out
//! before, and a later re-route does not rewrite what was read. Those of a leaf's posts
//! that judge a service are opinions at its index, in post id order. A page always ends
//! after a whole leaf, so it may exceed `limit` by the rest of one batch.

use otklik_domain::lifecycle::Score;
use otklik_domain::quality::{post_opinion, rating_criteria, Criteria};
use time::OffsetDateTime;

/// Rounds of leaves a page reads at most (each up to `limit` leaves of each kind) before
/// it returns what it found with the cursor where it stopped: long runs of ingest batches
/// without an opinion cost a bounded amount of work per request.
pub(crate) const SCAN_ROUNDS: usize = 8;

/// Where an opinion comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpinionSource {
    /// A citizen's rating of an answer (`source_id`: the rating event).
    AnswerRating,
    /// A post found by social-media monitoring (`source_id`: the stored post).
    SocialPost,
}

/// One opinion, on the federal scale. Nothing that identifies the citizen: no author, no
/// texts, no link (a comment or post is read only to map it onto the criteria).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualityOpinion {
    /// The log index it was read at.
    pub cursor: u64,
    pub source: OpinionSource,
    /// The rating event's or the post's id: stable, so receivers can deduplicate.
    pub source_id: i64,
    pub at: OffsetDateTime,
    pub overall: u8,
    pub criteria: Criteria,
    pub subject: OpinionSubject,
}

/// What an opinion is about: where, the organisation it was routed to, and the service.
/// Read by every opinion's query under these column names.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OpinionSubject {
    pub region_code: String,
    pub region_okato: Option<String>,
    pub org_id: i64,
    pub org_name: String,
    pub subcategory_id: i64,
    pub subcategory_name: String,
    pub category_id: i64,
    pub category_name: String,
}

/// A page of opinions and the cursor after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualityPage {
    pub opinions: Vec<QualityOpinion>,
    /// Where to read next: after the last opinion when the page is full, else the log's
    /// size when it was read (nothing below it is still to come).
    pub next_cursor: u64,
}

/// The push's state, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualityPushState {
    pub next_cursor: u64,
    pub delivered: u64,
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct OpinionRow {
    pub idx: i64,
    pub event_id: i64,
    pub at: i64,
    pub score: i64,
    pub reason: Option<String>,
    #[sqlx(flatten)]
    pub subject: OpinionSubject,
}

impl OpinionRow {
    pub fn opinion(self) -> crate::StoreResult<QualityOpinion> {
        let score = u8::try_from(self.score)
            .ok()
            .and_then(|s| Score::new(s).ok())
            .ok_or_else(|| crate::common::corrupt("events.score"))?;
        Ok(QualityOpinion {
            cursor: crate::ledger_sql::u64_of(self.idx, "log_leaves.idx")?,
            source: OpinionSource::AnswerRating,
            source_id: self.event_id,
            at: crate::common::from_ts(self.at)?,
            overall: score.value(),
            criteria: rating_criteria(
                score,
                otklik_social::criteria::expressed(self.reason.as_deref().unwrap_or_default()),
            ),
            subject: self.subject,
        })
    }
}

/// A stored post that may be an opinion: relevant, an original (not a copy), located,
/// classified, with a sentiment, and routed to an organisation (`feed_idx`: where).
#[derive(sqlx::FromRow)]
pub(crate) struct PostRow {
    pub feed_idx: i64,
    pub post_id: i64,
    pub published_at: i64,
    pub received_at: i64,
    pub sentiment: String,
    pub text: String,
    #[sqlx(flatten)]
    pub subject: OpinionSubject,
}

/// [`PostRow`]s placed in the feed at leaves `$1 <= feed_idx < $2`, in feed order.
pub(crate) const POST_ROWS: &str = "SELECT p.feed_idx, p.id AS post_id, p.published_at, \
         p.received_at, p.sentiment, p.text, r.code AS region_code, r.okato AS region_okato, \
         o.id AS org_id, o.name AS org_name, sc.id AS subcategory_id, sc.name AS subcategory_name, \
         c.id AS category_id, c.name AS category_name \
     FROM social_posts p \
     JOIN organisations o ON o.id = p.feed_org_id \
     JOIN regions r ON r.id = p.region_id \
     JOIN subcategories sc ON sc.id = p.subcategory_id \
     JOIN categories c ON c.id = sc.category_id \
     WHERE p.feed_idx >= $1 AND p.feed_idx < $2 \
       AND p.relevant = 1 AND p.duplicate_of IS NULL AND p.sentiment <> 'neutral' \
     ORDER BY p.feed_idx, p.id";

impl PostRow {
    /// The post as an opinion read at `cursor`, if its text judges the service
    /// (`quality::post_opinion`, the criteria it expresses by `otklik_social::criteria`);
    /// the text itself goes no further.
    pub fn opinion(self, cursor: u64) -> crate::StoreResult<Option<QualityOpinion>> {
        let said = otklik_social::criteria::expressed(&self.text);
        let Some((overall, criteria)) = post_opinion(&self.sentiment, said) else {
            return Ok(None);
        };
        Ok(Some(QualityOpinion {
            cursor,
            source: OpinionSource::SocialPost,
            source_id: self.post_id,
            // A post "published" after it was received (a connector's clock ahead) is
            // dated when it was received, as its incident is.
            at: crate::common::from_ts(self.published_at.min(self.received_at))?,
            overall: overall.value(),
            criteria,
            subject: self.subject,
        }))
    }
}

macro_rules! impl_quality_feed {
    (store: $store:ty, db: $db:ty, write: $write:ident, read: $read:ident $(,)?) => {
        #[::async_trait::async_trait]
        impl $crate::QualityFeed for $store {
            async fn quality_opinions(
                &self,
                cursor: u64,
                limit: u32,
            ) -> $crate::StoreResult<$crate::QualityPage> {
                let mut conn = self.$read().acquire().await?;
                // The log's size first: every leaf below it is committed.
                let (size,) = ::sqlx::query_as::<$db, (i64,)>("SELECT size FROM log_state WHERE id = 1")
                    .fetch_one(&mut *conn)
                    .await?;
                let limit = limit.clamp(1, 1_000);
                let want = limit as usize;
                let mut opinions: Vec<$crate::QualityOpinion> = Vec::new();
                let mut from = $crate::ledger_sql::i64_of(cursor)?;
                for _ in 0..$crate::quality_sql::SCAN_ROUNDS {
                    if from >= size {
                        break;
                    }
                    let ratings = ::sqlx::query_as::<$db, $crate::quality_sql::OpinionRow>(
                        "SELECT l.idx, e.id AS event_id, e.at, e.score, e.reason, \
                                r.code AS region_code, r.okato AS region_okato, \
                                o.id AS org_id, o.name AS org_name, \
                                sc.id AS subcategory_id, sc.name AS subcategory_name, \
                                c.id AS category_id, c.name AS category_name \
                         FROM log_leaves l \
                         JOIN events e ON e.id = l.event_id \
                         JOIN submissions s ON s.id = e.submission_id \
                         JOIN regions r ON r.id = s.region_id \
                         JOIN organisations o ON o.id = e.to_org \
                         JOIN subcategories sc ON sc.id = s.subcategory_id \
                         JOIN categories c ON c.id = sc.category_id \
                         WHERE l.idx >= $1 AND l.idx < $2 AND l.kind = 'rated' AND e.score IS NOT NULL \
                         ORDER BY l.idx LIMIT $3",
                    )
                    .bind(from)
                    .bind(size)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *conn)
                    .await?;
                    // The leaves that placed posts, as many as ratings: posts come whole
                    // leaves at a time.
                    let placed = ::sqlx::query_scalar::<$db, i64>(
                        "SELECT feed_idx FROM social_posts \
                         WHERE feed_idx >= $1 AND feed_idx < $2 \
                         GROUP BY feed_idx ORDER BY feed_idx LIMIT $3",
                    )
                    .bind(from)
                    .bind(size)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *conn)
                    .await?;
                    // Both lists are complete below the horizon: past it, a full list may
                    // have left leaves out.
                    let mut horizon = size;
                    if ratings.len() == want {
                        horizon = horizon.min(ratings.last().map_or(size, |r| r.idx + 1));
                    }
                    if placed.len() == want {
                        horizon = horizon.min(placed.last().map_or(size, |idx| idx + 1));
                    }
                    let mut by_leaf: ::std::collections::BTreeMap<i64, Vec<$crate::QualityOpinion>> =
                        ::std::collections::BTreeMap::new();
                    for row in ratings.into_iter().filter(|r| r.idx < horizon) {
                        by_leaf.entry(row.idx).or_default().push(row.opinion()?);
                    }
                    if !placed.is_empty() {
                        let posts = ::sqlx::query_as::<$db, $crate::quality_sql::PostRow>(
                            $crate::quality_sql::POST_ROWS,
                        )
                        .bind(from)
                        .bind(horizon)
                        .fetch_all(&mut *conn)
                        .await?;
                        for row in posts {
                            let idx = row.feed_idx;
                            let at = $crate::ledger_sql::u64_of(idx, "social_posts.feed_idx")?;
                            if let Some(opinion) = row.opinion(at)? {
                                by_leaf.entry(idx).or_default().push(opinion);
                            }
                        }
                    }
                    for (idx, found) in by_leaf {
                        opinions.extend(found);
                        // Whole leaves only: a batch's opinions share its cursor, so a page
                        // cut inside one could not be resumed.
                        if opinions.len() >= want {
                            let next_cursor = $crate::ledger_sql::u64_of(idx + 1, "log_leaves.idx")?;
                            return Ok($crate::QualityPage { opinions, next_cursor });
                        }
                    }
                    from = horizon;
                }
                // Everything below `from` is read: the log's size, or where the scan stopped.
                let next_cursor = $crate::ledger_sql::u64_of(from, "log_state.size")?.max(cursor);
                Ok($crate::QualityPage { opinions, next_cursor })
            }

            async fn quality_push_claim(
                &self,
                now: ::time::OffsetDateTime,
                lease: ::std::time::Duration,
            ) -> $crate::StoreResult<Option<(u64, u32)>> {
                let now = $crate::common::ts(now);
                let until = now.saturating_add(i64::try_from(lease.as_secs()).unwrap_or(60).max(1));
                let claimed = ::sqlx::query_as::<$db, (i64, i64)>(
                    "UPDATE quality_feed_push SET leased_until = $1 \
                     WHERE id = 1 AND leased_until <= $2 AND next_attempt_at <= $2 \
                     RETURNING next_idx, attempts",
                )
                .bind(until)
                .bind(now)
                .fetch_optional(self.$write())
                .await?;
                claimed
                    .map(|(next, attempts)| {
                        Ok((
                            $crate::ledger_sql::u64_of(next, "quality_feed_push.next_idx")?,
                            u32::try_from(attempts).unwrap_or(u32::MAX),
                        ))
                    })
                    .transpose()
            }

            async fn quality_push_done(
                &self,
                from: u64,
                next: u64,
                delivered: u64,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "UPDATE quality_feed_push SET next_idx = $2, delivered = delivered + $3, \
                         attempts = 0, next_attempt_at = 0, leased_until = 0, last_error = NULL \
                     WHERE id = 1 AND next_idx = $1",
                )
                .bind($crate::ledger_sql::i64_of(from)?)
                .bind($crate::ledger_sql::i64_of(next)?)
                .bind($crate::ledger_sql::i64_of(delivered)?)
                .execute(self.$write())
                .await?;
                Ok(())
            }

            async fn quality_push_failed(
                &self,
                from: u64,
                error: &str,
                retry_at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "UPDATE quality_feed_push SET attempts = attempts + 1, next_attempt_at = $2, \
                         leased_until = 0, last_error = $3 \
                     WHERE id = 1 AND next_idx = $1",
                )
                .bind($crate::ledger_sql::i64_of(from)?)
                .bind($crate::common::ts(retry_at))
                .bind(error)
                .execute(self.$write())
                .await?;
                Ok(())
            }

            async fn quality_push_state(&self) -> $crate::StoreResult<$crate::QualityPushState> {
                let (next, delivered, attempts, next_attempt_at, last_error) =
                    ::sqlx::query_as::<$db, (i64, i64, i64, i64, Option<String>)>(
                        "SELECT next_idx, delivered, attempts, next_attempt_at, last_error \
                         FROM quality_feed_push WHERE id = 1",
                    )
                    .fetch_one(self.$read())
                    .await?;
                Ok($crate::QualityPushState {
                    next_cursor: $crate::ledger_sql::u64_of(next, "quality_feed_push.next_idx")?,
                    delivered: $crate::ledger_sql::u64_of(delivered, "quality_feed_push.delivered")?,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    next_attempt_at,
                    last_error,
                })
            }
        }
    };
}

pub(crate) use impl_quality_feed;
