//! The `Polls` trait's implementation (`impl_polls!`), shared by both backends.
//!
//! Ballots arrive in batches (the web crate's ballot box commits whatever is waiting in
//! one transaction). A batch locks each poll's row (its log's frontier), refuses ballots
//! of polls that are not open and of people already on the roll, puts the rest in the
//! box in a random order as leaves of the poll's log, and adds them to the running counts.

use crate::polls::{NewBallot, PollCount, PollRecord};
use crate::{StoreError, StoreResult};
use otklik_domain::poll::{cells, Eligibility, PollKind, PollSpec, ResultsPolicy, Schedule};
use otklik_domain::{MunicipalityId, OrgId, PollId, RegionId, UserId};
use std::collections::BTreeMap;

pub(crate) const POLL_SELECT: &str = "SELECT p.id, p.kind, p.org_id, o.name AS org_name, \
    p.title, p.description, p.questions, p.region_id, p.municipality_id, p.min_age, \
    p.verification, p.offset_minutes, p.opens_at, p.closes_at, p.results, p.created_by, \
    p.created_at, p.cancelled_at, p.size, p.final_size, p.final_head \
    FROM polls p LEFT JOIN organisations o ON o.id = p.org_id";

#[derive(sqlx::FromRow)]
pub(crate) struct PollRow {
    id: i64,
    kind: String,
    org_id: Option<i64>,
    org_name: Option<String>,
    title: String,
    description: String,
    questions: String,
    region_id: Option<i64>,
    municipality_id: Option<i64>,
    min_age: Option<i64>,
    verification: String,
    offset_minutes: i64,
    opens_at: i64,
    closes_at: i64,
    results: String,
    created_by: i64,
    created_at: i64,
    cancelled_at: Option<i64>,
    size: i64,
    final_size: Option<i64>,
    final_head: Option<String>,
}

impl PollRow {
    pub fn record(self) -> StoreResult<PollRecord> {
        use crate::common::{corrupt, from_ts};
        let kind = PollKind::parse(&self.kind).ok_or_else(|| corrupt("polls.kind"))?;
        let spec =
            PollSpec::from_json(kind, &self.questions).map_err(|_| corrupt("polls.questions"))?;
        let schedule = Schedule::new(from_ts(self.opens_at)?, from_ts(self.closes_at)?)
            .map_err(|_| corrupt("polls.schedule"))?;
        Ok(PollRecord {
            id: PollId(self.id),
            org: self.org_id.map(OrgId),
            org_name: self.org_name,
            title: self.title,
            description: self.description,
            spec,
            eligibility: Eligibility {
                verification: crate::polls::verification_of(&self.verification)?,
                min_age: self
                    .min_age
                    .map(|a| u8::try_from(a).map_err(|_| corrupt("polls.min_age")))
                    .transpose()?,
                region: self.region_id.map(RegionId),
                municipality: self.municipality_id.map(MunicipalityId),
            },
            offset: crate::common::zone(self.offset_minutes)
                .ok_or_else(|| corrupt("polls.offset_minutes"))?,
            schedule,
            results: ResultsPolicy::parse(&self.results).ok_or_else(|| corrupt("polls.results"))?,
            created_by: UserId(self.created_by),
            created_at: from_ts(self.created_at)?,
            cancelled_at: self.cancelled_at.map(from_ts).transpose()?,
            ballots: crate::ledger_sql::u64_of(self.size, "polls.size")?,
            final_size: self
                .final_size
                .map(|s| crate::ledger_sql::u64_of(s, "polls.final_size"))
                .transpose()?,
            final_head: self
                .final_head
                .map(|h| {
                    otklik_log::SignedTreeHead::from_json(&h)
                        .map_err(|_| corrupt("polls.final_head"))
                })
                .transpose()?,
        })
    }
}

/// The counts a batch adds, keyed as `poll_counts` is, so each key is written once.
pub(crate) fn count_deltas(
    ballots: &[&NewBallot],
    day: &str,
) -> BTreeMap<(&'static str, String, i32, i64), i64> {
    let mut deltas = BTreeMap::new();
    if !ballots.is_empty() {
        // Ballots per local day: turnout over time without scanning the roll.
        deltas.insert(("day", day.to_owned(), -1, 0), ballots.len() as i64);
    }
    for ballot in ballots {
        let region = ballot
            .region
            .map_or_else(|| "unknown".to_owned(), |r| r.0.to_string());
        let values: [(&'static str, String); 4] = [
            ("all", String::new()),
            ("region", region),
            ("age", ballot.age_group.as_str().to_owned()),
            ("channel", ballot.channel.as_str().to_owned()),
        ];
        let cells = cells(&ballot.ballot);
        for (dimension, value) in values {
            *deltas.entry((dimension, value.clone(), -1, 0)).or_default() += 1;
            for (cell, n) in &cells {
                let key = (
                    dimension,
                    value.clone(),
                    i32::from(cell.question),
                    i64::from(cell.slot),
                );
                *deltas.entry(key).or_default() += *n as i64;
            }
        }
    }
    deltas
}

/// A poll's log key: derived from the transparency log's key and the poll id, so that
/// each poll's log has its own and no head of one passes for another's.
pub fn poll_signer(log_signer: &otklik_log::Signer, poll: PollId) -> otklik_log::Signer {
    let secret = otklik_log::HashAlg::Sha256.digest(&[
        b"otklik poll log key\0",
        &log_signer.to_secret_bytes(),
        &poll.0.to_be_bytes(),
    ]);
    otklik_log::Signer::from_secret_bytes(&secret)
}

#[derive(sqlx::FromRow)]
pub(crate) struct PollHeadRow {
    size: i64,
    root: Vec<u8>,
    timestamp_ms: i64,
    key_id: String,
    signature: Vec<u8>,
    public_key: Vec<u8>,
}

impl PollHeadRow {
    pub fn into_head(self, alg: otklik_log::HashAlg) -> StoreResult<otklik_log::SignedTreeHead> {
        crate::ledger_sql::HeadRow {
            size: self.size,
            root: self.root,
            timestamp_ms: self.timestamp_ms,
            key_id: self.key_id,
            signature: self.signature,
            public_key: self.public_key,
        }
        .into_head(alg)
    }
}

pub(crate) fn count_of(row: (String, String, i64, i64, i64)) -> StoreResult<PollCount> {
    let (dimension, value, question, slot, count) = row;
    Ok(PollCount {
        dimension,
        value,
        question: i32::try_from(question).map_err(|_| crate::common::corrupt("poll_counts"))?,
        slot: u32::try_from(slot).map_err(|_| crate::common::corrupt("poll_counts"))?,
        count: crate::ledger_sql::u64_of(count, "poll_counts.count")?,
    })
}

/// Groups a batch by poll, keeping each ballot's place in the batch.
pub(crate) fn by_poll(batch: &[NewBallot]) -> BTreeMap<PollId, Vec<usize>> {
    let mut groups: BTreeMap<PollId, Vec<usize>> = BTreeMap::new();
    for (i, ballot) in batch.iter().enumerate() {
        groups.entry(ballot.poll).or_default().push(i);
    }
    groups
}

/// The first ballot of each voter in a group (voters are the same when any of their keys
/// is); the others are refused as already voted.
pub(crate) fn first_per_voter(batch: &[NewBallot], group: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut seen: std::collections::HashSet<&str> =
        std::collections::HashSet::with_capacity(group.len());
    let (mut first, mut repeated) = (Vec::new(), Vec::new());
    for &i in group {
        let keys = &batch[i].voter_keys;
        if keys.is_empty() || keys.iter().any(|k| seen.contains(k.as_str())) {
            repeated.push(i);
        } else {
            seen.extend(keys.iter().map(String::as_str));
            first.push(i);
        }
    }
    (first, repeated)
}

/// `'a', 'b'` for an `IN (…)` list of roll keys: keys are `u:` or `k:` and base64 or
/// digits, never a quote; anything else is refused.
pub(crate) fn key_list(keys: &[String]) -> StoreResult<String> {
    let safe = |k: &String| {
        k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=:_-".contains(c))
    };
    if keys.is_empty() || !keys.iter().all(safe) {
        return Err(StoreError::InvalidReference("voter_key"));
    }
    Ok(keys
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", "))
}

/// What the photos' editing rule reads of a poll (its row locked on PostgreSQL).
#[derive(sqlx::FromRow)]
pub(crate) struct EditRow {
    kind: String,
    questions: String,
    opens_at: i64,
    closes_at: i64,
    cancelled_at: Option<i64>,
}

/// `otklik_domain::poll::check_photos_editable` on the poll as read in the transaction.
pub(crate) fn check_photos_editable(
    row: Option<EditRow>,
    slot: otklik_domain::poll::PhotoSlot,
    now: time::OffsetDateTime,
) -> StoreResult<()> {
    use crate::common::{corrupt, from_ts};
    let row = not_found(row)?;
    let kind = PollKind::parse(&row.kind).ok_or_else(|| corrupt("polls.kind"))?;
    let spec = PollSpec::from_json(kind, &row.questions).map_err(|_| corrupt("polls.questions"))?;
    let schedule = Schedule::new(from_ts(row.opens_at)?, from_ts(row.closes_at)?)
        .map_err(|_| corrupt("polls.schedule"))?;
    otklik_domain::poll::check_photos_editable(
        &spec,
        slot,
        schedule.phase(now),
        row.cancelled_at.is_some(),
    )
    .map_err(StoreError::Conflict)
}

/// A photo's row without its bytes: id, question, option, name, type, size, SHA-256.
pub(crate) type PhotoRow = (i64, i64, i64, String, String, i64, String);

/// The columns of a [`PhotoRow`].
pub(crate) const PHOTO_COLUMNS: &str = "id, question_idx, option_idx, name, mime, size, sha256";

/// The question and option a photo's row names.
pub(crate) fn slot_of(question: i64, option: i64) -> StoreResult<otklik_domain::poll::PhotoSlot> {
    let bad = || crate::common::corrupt("poll_option_photos");
    Ok(otklik_domain::poll::PhotoSlot {
        question: u16::try_from(question).map_err(|_| bad())?,
        option: u16::try_from(option).map_err(|_| bad())?,
    })
}

pub(crate) fn option_photo_of(
    poll: PollId,
    (id, question, option, name, mime, size, sha256): PhotoRow,
) -> StoreResult<crate::polls::OptionPhoto> {
    let bad = || crate::common::corrupt("poll_option_photos");
    let slot = slot_of(question, option)?;
    Ok(crate::polls::OptionPhoto {
        id,
        poll,
        question: slot.question,
        option: slot.option,
        name,
        mime,
        size: u64::try_from(size).map_err(|_| bad())?,
        sha256,
    })
}

/// The PostgreSQL server process that runs a transaction: its pid, and when it started
/// (in microseconds since 1970), since a pid may be reused. SQLite, in the process, has
/// none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServerSession {
    pub pid: i32,
    pub started_us: i64,
}

pub(crate) fn not_found<T>(found: Option<T>) -> StoreResult<T> {
    found.ok_or(StoreError::NotFound)
}

macro_rules! impl_polls {
    (
        store: $store:ty,
        db: $db:ty,
        write: $write:ident,
        read: $read:ident,
        begin_write: $begin_write:literal,
        lock: $lock:literal $(,)?
    ) => {
        #[::async_trait::async_trait]
        impl $crate::Polls for $store {
            async fn create_poll(
                &self,
                poll: $crate::polls::NewPoll,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<::otklik_domain::PollId> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<i64> = async {
                    let (alg,) = ::sqlx::query_as::<$db, (String,)>(
                        "SELECT alg FROM log_state WHERE id = 1",
                    )
                    .fetch_one(&mut *tx)
                    .await?;
                    let id = ::sqlx::query_scalar::<$db, i64>(
                        "INSERT INTO polls (kind, org_id, title, description, questions, \
                         region_id, municipality_id, min_age, verification, offset_minutes, \
                         opens_at, closes_at, results, created_by, created_at, alg) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                         RETURNING id",
                    )
                    .bind(poll.spec.kind().as_str())
                    .bind(poll.org.map(|o| o.0))
                    .bind(&poll.title)
                    .bind(&poll.description)
                    .bind(poll.spec.questions_json())
                    .bind(poll.eligibility.region.map(|r| r.0))
                    .bind(poll.eligibility.municipality.map(|m| m.0))
                    .bind(poll.eligibility.min_age.map(i64::from))
                    .bind(poll.eligibility.verification.as_str())
                    .bind(i64::from(poll.offset.whole_minutes()))
                    .bind($crate::common::ts(poll.schedule.opens_at()))
                    .bind($crate::common::ts(poll.schedule.closes_at()))
                    .bind(poll.results.as_str())
                    .bind(poll.by.0)
                    .bind($crate::common::ts(now))
                    .bind(alg)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| $crate::common::constraint(e, "duplicate", "unknown_reference"))?;
                    Ok(id)
                }
                .await;
                $crate::common::finish(tx, result).await.map(::otklik_domain::PollId)
            }

            async fn poll(
                &self,
                id: ::otklik_domain::PollId,
            ) -> $crate::StoreResult<$crate::polls::PollRecord> {
                let row = ::sqlx::query_as::<$db, $crate::polls_sql::PollRow>(&format!(
                    "{} WHERE p.id = $1",
                    $crate::polls_sql::POLL_SELECT
                ))
                .bind(id.0)
                .fetch_optional(self.$read())
                .await?;
                $crate::polls_sql::not_found(row)?.record()
            }

            async fn polls(
                &self,
                filter: $crate::polls::PollFilter,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::polls::PollRecord>> {
                let mut sql = ::sqlx::QueryBuilder::<$db>::new(
                    $crate::polls_sql::POLL_SELECT,
                );
                sql.push(" WHERE 1 = 1");
                match filter.org {
                    Some(Some(org)) => {
                        sql.push(" AND p.org_id = ").push_bind(org.0);
                    }
                    Some(None) => {
                        sql.push(" AND p.org_id IS NULL");
                    }
                    None => {}
                }
                if let Some(at) = filter.open_at {
                    let at = $crate::common::ts(at);
                    sql.push(" AND p.cancelled_at IS NULL AND p.opens_at <= ")
                        .push_bind(at)
                        .push(" AND p.closes_at > ")
                        .push_bind(at);
                }
                match filter.region {
                    Some(Some(region)) => {
                        sql.push(" AND (p.region_id IS NULL OR p.region_id = ")
                            .push_bind(region.0)
                            .push(")");
                    }
                    Some(None) => {
                        sql.push(" AND p.region_id IS NULL");
                    }
                    None => {}
                }
                sql.push(" ORDER BY p.closes_at DESC, p.id DESC LIMIT ")
                    .push_bind(i64::from(limit));
                sql.build_query_as::<$crate::polls_sql::PollRow>()
                    .fetch_all(self.$read())
                    .await?
                    .into_iter()
                    .map($crate::polls_sql::PollRow::record)
                    .collect()
            }

            async fn cancel_poll(
                &self,
                id: ::otklik_domain::PollId,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let done = ::sqlx::query::<$db>(
                    "UPDATE polls SET cancelled_at = $2 \
                     WHERE id = $1 AND cancelled_at IS NULL AND closes_at > $2",
                )
                .bind(id.0)
                .bind($crate::common::ts(now))
                .execute(self.$write())
                .await?;
                if done.rows_affected() == 1 {
                    return Ok(());
                }
                self.poll(id).await?;
                Err($crate::StoreError::Conflict("poll_closed"))
            }

            async fn add_option_photo(
                &self,
                poll: ::otklik_domain::PollId,
                photo: $crate::polls::NewOptionPhoto,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::polls::OptionPhoto> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<$crate::polls::OptionPhoto> = async {
                    $crate::polls_sql::check_photos_editable(
                        ::sqlx::query_as::<$db, $crate::polls_sql::EditRow>(concat!(
                            "SELECT kind, questions, opens_at, closes_at, cancelled_at \
                             FROM polls WHERE id = $1",
                            $lock
                        ))
                        .bind(poll.0)
                        .fetch_optional(&mut *tx)
                        .await?,
                        ::otklik_domain::poll::PhotoSlot {
                            question: photo.question,
                            option: photo.option,
                        },
                        now,
                    )?;
                    let (count, last) = ::sqlx::query_as::<$db, (i64, Option<i64>)>(
                        "SELECT COUNT(*), MAX(seq) FROM poll_option_photos \
                         WHERE poll_id = $1 AND question_idx = $2 AND option_idx = $3",
                    )
                    .bind(poll.0)
                    .bind(i64::from(photo.question))
                    .bind(i64::from(photo.option))
                    .fetch_one(&mut *tx)
                    .await?;
                    if count >= ::otklik_domain::poll::MAX_OPTION_PHOTOS as i64 {
                        return Err($crate::StoreError::Conflict("too_many_photos"));
                    }
                    let sha256 = $crate::common::sha256_hex(&photo.bytes);
                    let size = photo.bytes.len() as u64;
                    let id = ::sqlx::query_scalar::<$db, i64>(
                        "INSERT INTO poll_option_photos (poll_id, question_idx, option_idx, \
                         seq, name, mime, size, sha256, content, created_by, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                    )
                    .bind(poll.0)
                    .bind(i64::from(photo.question))
                    .bind(i64::from(photo.option))
                    .bind(last.map_or(0, |l| l.saturating_add(1)))
                    .bind(&photo.name)
                    .bind(&photo.mime)
                    .bind(size as i64)
                    .bind(&sha256)
                    .bind(&photo.bytes)
                    .bind(photo.by.0)
                    .bind($crate::common::ts(now))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| $crate::common::constraint(e, "duplicate", "unknown_reference"))?;
                    Ok($crate::polls::OptionPhoto {
                        id,
                        poll,
                        question: photo.question,
                        option: photo.option,
                        name: photo.name,
                        mime: photo.mime,
                        size,
                        sha256,
                    })
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn remove_option_photo(
                &self,
                poll: ::otklik_domain::PollId,
                photo: i64,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    Self::editable_photo_slot(&mut *tx, poll, photo, now).await?;
                    ::sqlx::query::<$db>(
                        "DELETE FROM poll_option_photos WHERE poll_id = $1 AND id = $2",
                    )
                    .bind(poll.0)
                    .bind(photo)
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn move_option_photo(
                &self,
                poll: ::otklik_domain::PollId,
                photo: i64,
                way: ::otklik_domain::poll::PhotoMove,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<Vec<$crate::polls::OptionPhoto>> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<Vec<$crate::polls::OptionPhoto>> = async {
                    let slot = Self::editable_photo_slot(&mut *tx, poll, photo, now).await?;
                    let (question, option) = (i64::from(slot.question), i64::from(slot.option));
                    // The option's photos in their order, read under the poll's lock.
                    let order = ::sqlx::query_as::<$db, (i64, i64)>(
                        "SELECT id, seq FROM poll_option_photos \
                         WHERE poll_id = $1 AND question_idx = $2 AND option_idx = $3 \
                         ORDER BY seq, id",
                    )
                    .bind(poll.0)
                    .bind(question)
                    .bind(option)
                    .fetch_all(&mut *tx)
                    .await?;
                    let at = order
                        .iter()
                        .position(|&(id, _)| id == photo)
                        .ok_or($crate::StoreError::NotFound)?;
                    let mut moved = order.clone();
                    way.apply(&mut moved, at).map_err($crate::StoreError::Conflict)?;
                    // The two that swapped take each other's place; the first steps
                    // aside to a place no photo has (seq is unique per option).
                    let changed: Vec<(i64, i64)> = moved
                        .iter()
                        .zip(&order)
                        .filter(|((moved_id, _), (id, _))| moved_id != id)
                        .map(|((moved_id, _), (_, seq))| (*moved_id, *seq))
                        .collect();
                    if let Some(&(first, _)) = changed.first() {
                        ::sqlx::query::<$db>(
                            "UPDATE poll_option_photos SET seq = -1 - seq WHERE id = $1",
                        )
                        .bind(first)
                        .execute(&mut *tx)
                        .await?;
                    }
                    for &(id, seq) in changed.iter().rev() {
                        ::sqlx::query::<$db>(
                            "UPDATE poll_option_photos SET seq = $2 WHERE id = $1",
                        )
                        .bind(id)
                        .bind(seq)
                        .execute(&mut *tx)
                        .await?;
                    }
                    ::sqlx::query_as::<$db, $crate::polls_sql::PhotoRow>(&format!(
                        "SELECT {} FROM poll_option_photos \
                         WHERE poll_id = $1 AND question_idx = $2 AND option_idx = $3 \
                         ORDER BY seq, id",
                        $crate::polls_sql::PHOTO_COLUMNS
                    ))
                    .bind(poll.0)
                    .bind(question)
                    .bind(option)
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .map(|row| $crate::polls_sql::option_photo_of(poll, row))
                    .collect()
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn option_photos(
                &self,
                poll: ::otklik_domain::PollId,
            ) -> $crate::StoreResult<Vec<$crate::polls::OptionPhoto>> {
                ::sqlx::query_as::<$db, $crate::polls_sql::PhotoRow>(&format!(
                    "SELECT {} FROM poll_option_photos \
                     WHERE poll_id = $1 ORDER BY question_idx, option_idx, seq, id",
                    $crate::polls_sql::PHOTO_COLUMNS
                ))
                .bind(poll.0)
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map(|row| $crate::polls_sql::option_photo_of(poll, row))
                .collect()
            }

            async fn option_photo(
                &self,
                poll: ::otklik_domain::PollId,
                photo: i64,
            ) -> $crate::StoreResult<$crate::polls::OptionPhotoFile> {
                let row = ::sqlx::query_as::<
                    $db,
                    (i64, i64, i64, String, String, i64, String, Vec<u8>),
                >(
                    "SELECT id, question_idx, option_idx, name, mime, size, sha256, content \
                     FROM poll_option_photos WHERE poll_id = $1 AND id = $2",
                )
                .bind(poll.0)
                .bind(photo)
                .fetch_optional(self.$read())
                .await?;
                let (id, question, option, name, mime, size, sha256, bytes) =
                    $crate::polls_sql::not_found(row)?;
                Ok($crate::polls::OptionPhotoFile {
                    meta: $crate::polls_sql::option_photo_of(
                        poll,
                        (id, question, option, name, mime, size, sha256),
                    )?,
                    bytes,
                })
            }

            async fn voter(
                &self,
                user: ::otklik_domain::UserId,
            ) -> $crate::StoreResult<$crate::polls::Voter> {
                let row = ::sqlx::query_as::<
                    $db,
                    (String, Option<String>, Option<i64>, Option<i64>, Option<Vec<u8>>),
                >(
                    "SELECT verification, birth_date, home_region_id, home_municipality_id, \
                     identity_key FROM users WHERE id = $1",
                )
                .bind(user.0)
                .fetch_optional(self.$read())
                .await?;
                let (verification, birth, region, municipality, key) =
                    $crate::polls_sql::not_found(row)?;
                let birth_date = birth
                    .map(|b| {
                        ::time::Date::parse(&b, &::time::format_description::well_known::Iso8601::DATE)
                            .map_err(|_| $crate::common::corrupt("users.birth_date"))
                    })
                    .transpose()?;
                let mut keys = vec![format!("u:{}", user.0)];
                if let Some(k) = key {
                    keys.push(format!("k:{}", ::otklik_log::encode_b64(&k)));
                }
                Ok($crate::polls::Voter {
                    keys,
                    facts: ::otklik_domain::poll::VoterFacts {
                        verification: $crate::polls::verification_of(&verification)?,
                        birth_date,
                        region: region.map(::otklik_domain::RegionId),
                        municipality: municipality.map(::otklik_domain::MunicipalityId),
                    },
                })
            }

            async fn has_voted(
                &self,
                poll: ::otklik_domain::PollId,
                voter_keys: &[String],
            ) -> $crate::StoreResult<bool> {
                let found = ::sqlx::query_scalar::<$db, i64>(&format!(
                    "SELECT COUNT(*) FROM poll_voters WHERE poll_id = $1 AND voter_key IN ({})",
                    $crate::polls_sql::key_list(voter_keys)?
                ))
                .bind(poll.0)
                .fetch_one(self.$read())
                .await?;
                Ok(found > 0)
            }

            async fn cast_ballots(
                &self,
                batch: &[$crate::polls::NewBallot],
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<Vec<$crate::polls::CastOutcome>> {
                let mut outcomes = vec![$crate::polls::CastOutcome::UnknownPoll; batch.len()];
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<_> = async {
                    // Which server session runs the batch: should the commit's answer be
                    // lost, its end tells that the outcome is final (`settle_lost_commit`).
                    let session = Self::write_session(&mut tx).await?;
                    for (poll, group) in $crate::polls_sql::by_poll(batch) {
                        Self::cast_group(&mut tx, poll, batch, &group, now, &mut outcomes).await?;
                    }
                    Ok(session)
                }
                .await;
                let session = match result {
                    Ok(session) => session,
                    Err(e) => {
                        // Before the commit: rolled back, nothing of the batch stored.
                        let _ = tx.rollback().await;
                        return Err(e);
                    }
                };
                match tx.commit().await {
                    Ok(()) => Ok(outcomes),
                    Err(e) => self.settle_lost_commit(session, e, batch, outcomes).await,
                }
            }

            async fn poll_counts(
                &self,
                poll: ::otklik_domain::PollId,
            ) -> $crate::StoreResult<Vec<$crate::polls::PollCount>> {
                self.counts_in("poll_counts", poll).await
            }

            async fn poll_counts_snapshot(
                &self,
                poll: ::otklik_domain::PollId,
                bucket: i64,
                min_new: u64,
            ) -> $crate::StoreResult<Vec<$crate::polls::PollCount>> {
                let taken = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT bucket FROM poll_snapshot_state WHERE poll_id = $1",
                )
                .bind(poll.0)
                .fetch_optional(self.$read())
                .await?;
                // Once per bucket (per poll) a writer decides whether a new copy is due; a
                // node whose clock is behind reads the newer copy as it is.
                if taken.is_none_or(|taken| taken < bucket) {
                    let mut tx = self.$write().begin_with($begin_write).await?;
                    let result = Self::take_poll_snapshot(&mut tx, poll, bucket, min_new).await;
                    $crate::common::finish(tx, result).await?;
                }
                self.counts_in("poll_count_snapshots", poll).await
            }

            async fn poll_texts(
                &self,
                poll: ::otklik_domain::PollId,
                question: u16,
                limit: u32,
            ) -> $crate::StoreResult<Vec<String>> {
                Ok(::sqlx::query_scalar::<$db, String>(
                    "SELECT text FROM poll_texts WHERE poll_id = $1 AND question = $2 \
                     ORDER BY id LIMIT $3",
                )
                .bind(poll.0)
                .bind(i64::from(question))
                .bind(i64::from(limit))
                .fetch_all(self.$read())
                .await?)
            }

            async fn sign_poll_head(
                &self,
                poll: ::otklik_domain::PollId,
                signer: &::otklik_log::Signer,
                now: ::time::OffsetDateTime,
                finalise: bool,
            ) -> $crate::StoreResult<Option<::otklik_log::SignedTreeHead>> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result = Self::sign_poll_head_in(&mut tx, poll, signer, now, finalise).await;
                $crate::common::finish(tx, result).await
            }

            async fn latest_poll_head(
                &self,
                poll: ::otklik_domain::PollId,
            ) -> $crate::StoreResult<Option<::otklik_log::SignedTreeHead>> {
                let mut conn = self.$read().acquire().await?;
                let alg = Self::poll_alg(&mut *conn, poll).await?;
                let row = ::sqlx::query_as::<$db, $crate::polls_sql::PollHeadRow>(
                    "SELECT size, root, timestamp_ms, key_id, signature, public_key \
                     FROM poll_heads WHERE poll_id = $1 ORDER BY size DESC LIMIT 1",
                )
                .bind(poll.0)
                .fetch_optional(&mut *conn)
                .await?;
                row.map(|r| r.into_head(alg)).transpose()
            }

            async fn ballot_receipt(
                &self,
                poll: ::otklik_domain::PollId,
                ballot_id: &::otklik_domain::poll::BallotId,
            ) -> $crate::StoreResult<Option<$crate::polls::BallotReceipt>> {
                let mut conn = self.$read().acquire().await?;
                let alg = Self::poll_alg(&mut *conn, poll).await?;
                let row = ::sqlx::query_as::<$db, (i64, String)>(
                    "SELECT idx, answers FROM poll_ballots WHERE poll_id = $1 AND ballot_id = $2",
                )
                .bind(poll.0)
                .bind(ballot_id.as_str())
                .fetch_optional(&mut *conn)
                .await?;
                let (idx, answers) = $crate::polls_sql::not_found(row)?;
                let head = ::sqlx::query_as::<$db, $crate::polls_sql::PollHeadRow>(
                    "SELECT size, root, timestamp_ms, key_id, signature, public_key \
                     FROM poll_heads WHERE poll_id = $1 AND size > $2 ORDER BY size DESC LIMIT 1",
                )
                .bind(poll.0)
                .bind(idx)
                .fetch_optional(&mut *conn)
                .await?;
                // No signed head covers the ballot yet: the caller signs one and asks again.
                let Some(head) = head else { return Ok(None) };
                let head = head.into_head(alg)?;
                let answers: ::otklik_domain::poll::Ballot = ::serde_json::from_str(&answers)
                    .map_err(|_| $crate::common::corrupt("poll_ballots.answers"))?;
                let index = $crate::ledger_sql::u64_of(idx, "poll_ballots.idx")?;
                let size = head.head.size;
                let ids = ::otklik_log::inclusion_nodes(index, size);
                let nodes = Self::poll_nodes(&mut *conn, poll, &ids).await?;
                let proof = ::otklik_log::inclusion_proof(alg, index, size, &nodes)
                    .map_err(|e| $crate::common::corrupt(e.code()))?;
                let leaf = ::otklik_domain::poll::ballot_leaf(poll.0, ballot_id, &answers);
                Ok(Some($crate::polls::BallotReceipt {
                    poll,
                    ballot_id: ballot_id.clone(),
                    answers,
                    proof: $crate::InclusionProof {
                        alg,
                        leaf_index: index,
                        tree_size: size,
                        leaf_hash: ::otklik_log::leaf_hash(alg, &leaf),
                        proof,
                    },
                    head,
                }))
            }

            async fn published_ballots(
                &self,
                poll: ::otklik_domain::PollId,
                after: Option<::otklik_domain::poll::BallotId>,
                limit: u32,
            ) -> $crate::StoreResult<Vec<(::otklik_domain::poll::BallotId, ::otklik_domain::poll::Ballot)>> {
                ::sqlx::query_as::<$db, (String, String)>(
                    "SELECT ballot_id, answers FROM poll_ballots \
                     WHERE poll_id = $1 AND ballot_id > $2 ORDER BY ballot_id LIMIT $3",
                )
                .bind(poll.0)
                .bind(after.as_ref().map_or("", |a| a.as_str()))
                .bind(i64::from(limit))
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map(|(id, answers)| {
                    let corrupt = || $crate::common::corrupt("poll_ballots");
                    Ok((
                        ::otklik_domain::poll::BallotId::parse(&id).map_err(|_| corrupt())?,
                        ::serde_json::from_str(&answers).map_err(|_| corrupt())?,
                    ))
                })
                .collect()
            }
        }

        impl $store {
            /// After `cast_ballots`' commit failed: the batch's outcomes when it is certain
            /// that it was stored, its error when it is certain that it was not.
            ///
            /// An error the server sent in answer to the COMMIT means it rolled the
            /// transaction back. Any other (the connection broke, no answer) leaves the
            /// outcome unknown, and the server may still be finishing the commit. Once the
            /// session that ran it is over (`await_session_end`) its transaction is
            /// committed or rolled back for good, and a commit is visible to every read
            /// that starts afterwards. The batch is one transaction: its ballots (random
            /// 128-bit ids, so no other's) are then all in the box or none is. All in:
            /// every outcome stands as computed in the transaction, and the leaf indexes
            /// are those read back. None: nothing of the batch was stored.
            async fn settle_lost_commit(
                &self,
                session: Option<$crate::polls_sql::ServerSession>,
                error: ::sqlx::Error,
                batch: &[$crate::polls::NewBallot],
                mut outcomes: Vec<$crate::polls::CastOutcome>,
            ) -> $crate::StoreResult<Vec<$crate::polls::CastOutcome>> {
                use $crate::polls::CastOutcome;
                let error = $crate::StoreError::from(error);
                if matches!(error, $crate::StoreError::Database(::sqlx::Error::Database(_))) {
                    return Err(error);
                }
                let cast: Vec<(usize, ::otklik_domain::PollId, ::otklik_domain::poll::BallotId)> = outcomes
                    .iter()
                    .enumerate()
                    .filter_map(|(i, outcome)| match outcome {
                        CastOutcome::Cast { ballot_id, .. } => {
                            Some((i, batch[i].poll, ballot_id.clone()))
                        }
                        _ => None,
                    })
                    .collect();
                // Without a ballot cast the transaction left nothing behind (a refused
                // voter's roll rows are removed in it): the refusals stand either way.
                if cast.is_empty() {
                    ::tracing::warn!(code = error.code(), ballots = batch.len(),
                        "ballots' commit lost its answer; none was to be cast");
                    return Ok(outcomes);
                }
                if let Err(wait) = self.await_session_end(session).await {
                    ::tracing::error!(code = error.code(), wait = wait.code(), ballots = batch.len(),
                        cast = cast.len(), "ballots' commit lost its answer; its outcome is unknown");
                    return Err(error);
                }
                let stored = match self.stored_ballots(&cast).await {
                    Ok(stored) => stored,
                    Err(read) => {
                        ::tracing::error!(code = error.code(), read = read.code(), ballots = batch.len(),
                            cast = cast.len(), "ballots' commit lost its answer; its outcome is unknown");
                        return Err(error);
                    }
                };
                if stored.is_empty() {
                    ::tracing::warn!(code = error.code(), ballots = batch.len(), cast = cast.len(),
                        "ballots' commit lost its answer; the batch was not stored");
                    return Err(error);
                }
                if stored.len() != cast.len() {
                    ::tracing::error!(code = error.code(), ballots = batch.len(), cast = cast.len(),
                        stored = stored.len(), "ballots' commit lost its answer; part of the batch is stored");
                    return Err($crate::common::corrupt("poll_ballots"));
                }
                let cast_count = cast.len();
                for (i, poll, ballot_id) in cast {
                    let leaf_index = stored
                        .get(&(poll, ballot_id.as_str().to_owned()))
                        .copied()
                        .ok_or_else(|| $crate::common::corrupt("poll_ballots"))?;
                    outcomes[i] = CastOutcome::Cast {
                        ballot_id,
                        leaf_index: $crate::ledger_sql::u64_of(leaf_index, "poll_ballots.idx")?,
                    };
                }
                ::tracing::warn!(code = error.code(), ballots = batch.len(), cast = cast_count,
                    "ballots' commit lost its answer; the batch is stored");
                Ok(outcomes)
            }

            /// Which of these ballots are in the box: their leaf indexes by poll and id.
            async fn stored_ballots(
                &self,
                ballots: &[(usize, ::otklik_domain::PollId, ::otklik_domain::poll::BallotId)],
            ) -> $crate::StoreResult<::std::collections::HashMap<(::otklik_domain::PollId, String), i64>> {
                let mut by_poll: ::std::collections::BTreeMap<::otklik_domain::PollId, Vec<&str>> =
                    ::std::collections::BTreeMap::new();
                for (_, poll, id) in ballots {
                    by_poll.entry(*poll).or_default().push(id.as_str());
                }
                let mut stored = ::std::collections::HashMap::with_capacity(ballots.len());
                for (poll, ids) in by_poll {
                    for chunk in ids.chunks(500) {
                        let mut select = ::sqlx::QueryBuilder::<$db>::new(
                            "SELECT ballot_id, idx FROM poll_ballots WHERE poll_id = ",
                        );
                        select.push_bind(poll.0).push(" AND ballot_id IN (");
                        let mut list = select.separated(", ");
                        for id in chunk {
                            list.push_bind(*id);
                        }
                        select.push(")");
                        let rows = select
                            .build_query_as::<(String, i64)>()
                            .fetch_all(self.$read())
                            .await?;
                        stored.extend(rows.into_iter().map(|(id, idx)| ((poll, id), idx)));
                    }
                }
                Ok(stored)
            }

            /// Locks the poll and finds photo `photo`'s question and option, refusing when
            /// the poll's photos may not change now (or there is no such photo).
            async fn editable_photo_slot(
                tx: &mut <$db as ::sqlx::Database>::Connection,
                poll: ::otklik_domain::PollId,
                photo: i64,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<::otklik_domain::poll::PhotoSlot> {
                let row = ::sqlx::query_as::<$db, $crate::polls_sql::EditRow>(concat!(
                    "SELECT kind, questions, opens_at, closes_at, cancelled_at \
                     FROM polls WHERE id = $1",
                    $lock
                ))
                .bind(poll.0)
                .fetch_optional(&mut *tx)
                .await?;
                let slot = ::sqlx::query_as::<$db, (i64, i64)>(
                    "SELECT question_idx, option_idx FROM poll_option_photos \
                     WHERE poll_id = $1 AND id = $2",
                )
                .bind(poll.0)
                .bind(photo)
                .fetch_optional(&mut *tx)
                .await?;
                let (question, option) = $crate::polls_sql::not_found(slot)?;
                let slot = $crate::polls_sql::slot_of(question, option)?;
                $crate::polls_sql::check_photos_editable(row, slot, now)?;
                Ok(slot)
            }

            async fn poll_alg(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                poll: ::otklik_domain::PollId,
            ) -> $crate::StoreResult<::otklik_log::HashAlg> {
                let alg = ::sqlx::query_scalar::<$db, String>("SELECT alg FROM polls WHERE id = $1")
                    .bind(poll.0)
                    .fetch_optional(&mut *conn)
                    .await?;
                ::otklik_log::HashAlg::parse(&$crate::polls_sql::not_found(alg)?)
                    .map_err(|_| $crate::common::corrupt("polls.alg"))
            }

            async fn poll_nodes(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                poll: ::otklik_domain::PollId,
                ids: &[::otklik_log::NodeId],
            ) -> $crate::StoreResult<$crate::ledger_sql::FetchedNodes> {
                let mut nodes = ::std::collections::HashMap::with_capacity(ids.len());
                if ids.is_empty() {
                    return Ok($crate::ledger_sql::FetchedNodes(nodes));
                }
                let sql = format!(
                    "SELECT id, hash FROM poll_nodes WHERE poll_id = $1 AND id IN ({})",
                    $crate::ledger_sql::key_list(ids)
                );
                let rows = ::sqlx::query_as::<$db, (i64, Vec<u8>)>(&sql)
                    .bind(poll.0)
                    .fetch_all(&mut *conn)
                    .await?;
                for (id, hash) in rows {
                    nodes.insert(id, $crate::ledger_sql::hash_of(&hash, "poll_nodes.hash")?);
                }
                Ok($crate::ledger_sql::FetchedNodes(nodes))
            }

            /// Signs a head of the poll's log when it has grown since the last one; with
            /// `finalise`, once the poll has closed, the head of the final tree instead
            /// (leaf 0 the definition, then the ballots by id), recorded once.
            async fn sign_poll_head_in(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                poll: ::otklik_domain::PollId,
                signer: &::otklik_log::Signer,
                now: ::time::OffsetDateTime,
                finalise: bool,
            ) -> $crate::StoreResult<Option<::otklik_log::SignedTreeHead>> {
                let row = ::sqlx::query_as::<$db, (String, i64, Vec<u8>, i64, Option<i64>, Option<i64>)>(
                    concat!(
                        "SELECT alg, size, frontier, closes_at, cancelled_at, final_size \
                         FROM polls WHERE id = $1",
                        $lock
                    ),
                )
                .bind(poll.0)
                .fetch_optional(&mut *conn)
                .await?;
                let (alg, size, frontier, closes_at, cancelled_at, final_size) =
                    $crate::polls_sql::not_found(row)?;
                let alg = ::otklik_log::HashAlg::parse(&alg)
                    .map_err(|_| $crate::common::corrupt("polls.alg"))?;
                let timestamp_ms = u64::try_from(now.unix_timestamp_nanos() / 1_000_000)
                    .map_err(|_| $crate::common::corrupt("clock"))?;
                if finalise {
                    let closed = $crate::common::ts(now) >= closes_at || cancelled_at.is_some();
                    if !closed {
                        return Err($crate::StoreError::Conflict("poll_open"));
                    }
                    if final_size.is_some() {
                        return Ok(None);
                    }
                    let range = Self::final_tree(&mut *conn, poll, alg).await?;
                    let head = signer.sign(&::otklik_log::TreeHead {
                        size: range.size(),
                        root: range.root(),
                        timestamp_ms,
                        alg,
                    });
                    ::sqlx::query::<$db>(
                        "UPDATE polls SET final_size = size, final_head = $2 WHERE id = $1",
                    )
                    .bind(poll.0)
                    .bind(head.to_json())
                    .execute(&mut *conn)
                    .await?;
                    return Ok(Some(head));
                }
                let signed: Option<i64> = ::sqlx::query_scalar::<$db, Option<i64>>(
                    "SELECT MAX(size) FROM poll_heads WHERE poll_id = $1",
                )
                .bind(poll.0)
                .fetch_one(&mut *conn)
                .await?;
                if signed.is_some_and(|s| s >= size) {
                    return Ok(None);
                }
                let range = ::otklik_log::CompactRange::from_nodes(
                    alg,
                    $crate::ledger_sql::u64_of(size, "polls.size")?,
                    &$crate::ledger_sql::frontier_of(&frontier)?,
                )
                .map_err(|_| $crate::common::corrupt("polls.frontier"))?;
                let head = signer.sign(&::otklik_log::TreeHead {
                    size: range.size(),
                    root: range.root(),
                    timestamp_ms,
                    alg,
                });
                ::sqlx::query::<$db>(
                    "INSERT INTO poll_heads (poll_id, size, root, timestamp_ms, key_id, \
                     signature, public_key) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(poll.0)
                .bind(size)
                .bind(head.head.root.to_vec())
                .bind($crate::ledger_sql::i64_of(timestamp_ms)?)
                .bind(&head.key_id)
                .bind(head.signature.to_vec())
                .bind(signer.public_key_bytes().to_vec())
                .execute(&mut *conn)
                .await?;
                Ok(Some(head))
            }

            /// The final tree of a closed poll: its definition, then every ballot in the
            /// order of the ballot ids (read by pages of 10 000).
            async fn final_tree(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                poll: ::otklik_domain::PollId,
                alg: ::otklik_log::HashAlg,
            ) -> $crate::StoreResult<::otklik_log::CompactRange> {
                let (kind, questions, closes_at) = ::sqlx::query_as::<$db, (String, String, i64)>(
                    "SELECT kind, questions, closes_at FROM polls WHERE id = $1",
                )
                .bind(poll.0)
                .fetch_one(&mut *conn)
                .await?;
                let corrupt = || $crate::common::corrupt("polls.questions");
                let kind = ::otklik_domain::poll::PollKind::parse(&kind).ok_or_else(corrupt)?;
                let questions: ::serde_json::Value =
                    ::serde_json::from_str(&questions).map_err(|_| corrupt())?;
                let mut range = ::otklik_log::CompactRange::new(alg);
                let push = |range: &mut ::otklik_log::CompactRange, leaf: &[u8]| {
                    range
                        .push(::otklik_log::leaf_hash(alg, leaf))
                        .map(|_| ())
                        .map_err(|e| $crate::common::corrupt(e.code()))
                };
                push(
                    &mut range,
                    &::otklik_domain::poll::definition_leaf(poll.0, kind, &questions, closes_at),
                )?;
                let mut after = String::new();
                loop {
                    let rows = ::sqlx::query_as::<$db, (String, String)>(
                        "SELECT ballot_id, answers FROM poll_ballots \
                         WHERE poll_id = $1 AND ballot_id > $2 ORDER BY ballot_id LIMIT 10000",
                    )
                    .bind(poll.0)
                    .bind(&after)
                    .fetch_all(&mut *conn)
                    .await?;
                    let Some((last, _)) = rows.last() else { break };
                    after = last.clone();
                    for (id, answers) in &rows {
                        let bad = || $crate::common::corrupt("poll_ballots");
                        let id = ::otklik_domain::poll::BallotId::parse(id).map_err(|_| bad())?;
                        let answers: ::otklik_domain::poll::Ballot =
                            ::serde_json::from_str(answers).map_err(|_| bad())?;
                        push(&mut range, &::otklik_domain::poll::ballot_leaf(poll.0, &id, &answers))?;
                    }
                }
                Ok(range)
            }

            /// A poll's counts from `table` (the running ones or their live copy), in key
            /// order.
            async fn counts_in(
                &self,
                table: &'static str,
                poll: ::otklik_domain::PollId,
            ) -> $crate::StoreResult<Vec<$crate::polls::PollCount>> {
                ::sqlx::query_as::<$db, (String, String, i64, i64, i64)>(&format!(
                    "SELECT dimension, value, question, slot, count FROM {table} \
                     WHERE poll_id = $1 ORDER BY dimension, value, question, slot"
                ))
                .bind(poll.0)
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map($crate::polls_sql::count_of)
                .collect()
            }

            /// Under the poll's row lock: the copy for `bucket` — the running counts when at
            /// least `min_new` ballots came since the last copy, else the last copy kept.
            async fn take_poll_snapshot(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                poll: ::otklik_domain::PollId,
                bucket: i64,
                min_new: u64,
            ) -> $crate::StoreResult<()> {
                let ballots = ::sqlx::query_scalar::<$db, i64>(concat!(
                    "SELECT size FROM polls WHERE id = $1",
                    $lock
                ))
                .bind(poll.0)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or($crate::StoreError::NotFound)?; // the running log: one leaf a ballot
                let state = ::sqlx::query_as::<$db, (i64, i64)>(
                    "SELECT bucket, ballots FROM poll_snapshot_state WHERE poll_id = $1",
                )
                .bind(poll.0)
                .fetch_optional(&mut *conn)
                .await?;
                if state.is_some_and(|(taken, _)| taken >= bucket) {
                    return Ok(()); // another node took it meanwhile
                }
                let shown = state.map_or(0, |(_, shown)| shown);
                let min_new = i64::try_from(min_new).unwrap_or(i64::MAX);
                let copied = if ballots.saturating_sub(shown) >= min_new.max(1) {
                    ::sqlx::query::<$db>("DELETE FROM poll_count_snapshots WHERE poll_id = $1")
                        .bind(poll.0)
                        .execute(&mut *conn)
                        .await?;
                    ::sqlx::query::<$db>(
                        "INSERT INTO poll_count_snapshots (poll_id, dimension, value, question, slot, count) \
                         SELECT poll_id, dimension, value, question, slot, count FROM poll_counts \
                         WHERE poll_id = $1",
                    )
                    .bind(poll.0)
                    .execute(&mut *conn)
                    .await?;
                    ballots
                } else {
                    shown
                };
                ::sqlx::query::<$db>(
                    "INSERT INTO poll_snapshot_state (poll_id, bucket, ballots) VALUES ($1, $2, $3) \
                     ON CONFLICT (poll_id) DO UPDATE SET bucket = excluded.bucket, ballots = excluded.ballots",
                )
                .bind(poll.0)
                .bind(bucket)
                .bind(copied)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// One poll's share of a batch, in the batch's transaction.
            async fn cast_group(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                poll: ::otklik_domain::PollId,
                batch: &[$crate::polls::NewBallot],
                group: &[usize],
                now: ::time::OffsetDateTime,
                outcomes: &mut [$crate::polls::CastOutcome],
            ) -> $crate::StoreResult<()> {
                use $crate::polls::CastOutcome;
                let row = ::sqlx::query_as::<$db, (String, i64, Vec<u8>, i64, i64, Option<i64>, i64)>(
                    concat!(
                        "SELECT alg, size, frontier, opens_at, closes_at, \
                         COALESCE(cancelled_at, final_size), offset_minutes \
                         FROM polls WHERE id = $1",
                        $lock
                    ),
                )
                .bind(poll.0)
                .fetch_optional(&mut *conn)
                .await?;
                // `ended`: cancelled, or finalised (a batch that read the clock before the
                // close but waited for the lock behind the finalisation is refused too).
                let Some((alg, size, frontier, opens_at, closes_at, ended, offset)) = row else {
                    return Ok(()); // every outcome stays UnknownPoll
                };
                let at = $crate::common::ts(now);
                if ended.is_some() || at < opens_at || at >= closes_at {
                    for &i in group {
                        outcomes[i] = CastOutcome::NotOpen;
                    }
                    return Ok(());
                }
                let (first, repeated) = $crate::polls_sql::first_per_voter(batch, group);
                for i in repeated {
                    outcomes[i] = CastOutcome::AlreadyVoted;
                }
                let offset = $crate::common::zone(offset)
                    .ok_or_else(|| $crate::common::corrupt("polls.offset_minutes"))?;
                let day = now.to_offset(offset).date().to_string();
                // The roll: one row per key of each voter; a voter any of whose keys is
                // already on it is refused, and the rows just taken for them are removed.
                let mut accepted = ::std::collections::HashSet::with_capacity(first.len() * 2);
                let rows: Vec<(usize, &str)> = first
                    .iter()
                    .flat_map(|&i| batch[i].voter_keys.iter().map(move |k| (i, k.as_str())))
                    .collect();
                for chunk in rows.chunks(500) {
                    let mut insert = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO poll_voters (poll_id, voter_key) ",
                    );
                    insert.push_values(chunk, |mut row, (_, key)| {
                        row.push_bind(poll.0).push_bind(*key);
                    });
                    insert.push(" ON CONFLICT (poll_id, voter_key) DO NOTHING RETURNING voter_key");
                    let keys = insert
                        .build_query_scalar::<String>()
                        .fetch_all(&mut *conn)
                        .await?;
                    accepted.extend(keys);
                }
                let mut cast: Vec<usize> = Vec::with_capacity(first.len());
                let mut stray: Vec<String> = Vec::new();
                for i in first {
                    let keys = &batch[i].voter_keys;
                    if keys.iter().all(|k| accepted.contains(k)) {
                        cast.push(i);
                    } else {
                        outcomes[i] = CastOutcome::AlreadyVoted;
                        stray.extend(keys.iter().filter(|k| accepted.contains(*k)).cloned());
                    }
                }
                if !stray.is_empty() {
                    ::sqlx::query::<$db>(&format!(
                        "DELETE FROM poll_voters WHERE poll_id = $1 AND voter_key IN ({})",
                        $crate::polls_sql::key_list(&stray)?
                    ))
                    .bind(poll.0)
                    .execute(&mut *conn)
                    .await?;
                }
                if cast.is_empty() {
                    return Ok(());
                }
                // The box: a random order, so a leaf's place says nothing of who voted when
                // within the batch.
                {
                    use ::rand::seq::SliceRandom;
                    cast.shuffle(&mut ::rand::thread_rng());
                }
                let alg = ::otklik_log::HashAlg::parse(&alg)
                    .map_err(|_| $crate::common::corrupt("polls.alg"))?;
                let mut range = ::otklik_log::CompactRange::from_nodes(
                    alg,
                    $crate::ledger_sql::u64_of(size, "polls.size")?,
                    &$crate::ledger_sql::frontier_of(&frontier)?,
                )
                .map_err(|_| $crate::common::corrupt("polls.frontier"))?;
                let mut leaves = Vec::with_capacity(cast.len());
                let mut nodes = Vec::new();
                for &i in &cast {
                    let ballot_id = ::otklik_domain::poll::BallotId::from_bytes(::rand::random());
                    let leaf =
                        ::otklik_domain::poll::ballot_leaf(poll.0, &ballot_id, &batch[i].ballot);
                    let index = range.size();
                    nodes.extend(
                        range
                            .push(::otklik_log::leaf_hash(alg, &leaf))
                            .map_err(|e| $crate::common::corrupt(e.code()))?,
                    );
                    let answers = ::serde_json::to_string(&batch[i].ballot)
                        .map_err(|_| $crate::common::corrupt("ballot"))?;
                    leaves.push((i, index, ballot_id, answers));
                }
                for chunk in leaves.chunks(500) {
                    let mut insert = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO poll_ballots (poll_id, idx, ballot_id, answers) ",
                    );
                    insert.push_values(chunk, |mut row, (_, index, id, answers)| {
                        row.push_bind(poll.0)
                            .push_bind(*index as i64)
                            .push_bind(id.as_str())
                            .push_bind(answers.as_str());
                    });
                    insert.build().execute(&mut *conn).await?;
                }
                for chunk in nodes.chunks(500) {
                    let mut insert = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO poll_nodes (poll_id, id, hash) ",
                    );
                    insert.push_values(chunk, |mut row, (id, hash)| {
                        row.push_bind(poll.0)
                            .push_bind($crate::ledger_sql::node_key(*id))
                            .push_bind(hash.to_vec());
                    });
                    insert.build().execute(&mut *conn).await?;
                }
                ::sqlx::query::<$db>("UPDATE polls SET size = $2, frontier = $3 WHERE id = $1")
                    .bind(poll.0)
                    .bind($crate::ledger_sql::i64_of(range.size())?)
                    .bind($crate::ledger_sql::frontier_bytes(&range))
                    .execute(&mut *conn)
                    .await?;
                let counted: Vec<&$crate::polls::NewBallot> = cast.iter().map(|&i| &batch[i]).collect();
                let deltas: Vec<_> = $crate::polls_sql::count_deltas(&counted, &day).into_iter().collect();
                for chunk in deltas.chunks(400) {
                    let mut upsert = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO poll_counts (poll_id, dimension, value, question, slot, count) ",
                    );
                    upsert.push_values(chunk, |mut row, ((dimension, value, question, slot), n)| {
                        row.push_bind(poll.0)
                            .push_bind(*dimension)
                            .push_bind(value.as_str())
                            .push_bind(i64::from(*question))
                            .push_bind(*slot)
                            .push_bind(*n);
                    });
                    upsert.push(
                        " ON CONFLICT (poll_id, dimension, value, question, slot) \
                         DO UPDATE SET count = poll_counts.count + excluded.count",
                    );
                    upsert.build().execute(&mut *conn).await?;
                }
                let mut texts: Vec<(u16, String, &str)> = counted
                    .iter()
                    .flat_map(|b| b.texts.iter())
                    .map(|(q, text)| {
                        let id: [u8; 16] = ::rand::random();
                        (*q, ::otklik_domain::poll::BallotId::from_bytes(id).as_str().to_owned(), text.as_str())
                    })
                    .collect();
                texts.sort();
                for chunk in texts.chunks(500) {
                    let mut insert = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO poll_texts (poll_id, question, id, text) ",
                    );
                    insert.push_values(chunk, |mut row, (q, id, text)| {
                        row.push_bind(poll.0)
                            .push_bind(i64::from(*q))
                            .push_bind(id.as_str())
                            .push_bind(*text);
                    });
                    insert.build().execute(&mut *conn).await?;
                }
                for (i, index, ballot_id, _) in leaves {
                    outcomes[i] = CastOutcome::Cast {
                        ballot_id,
                        leaf_index: index,
                    };
                }
                Ok(())
            }
        }
    };
}

pub(crate) use impl_polls;
