//! The `Social` trait's implementation (`impl_social!`): connectors' cursors and inbox,
//! quarantine, analysed posts with their duplicate signatures, incidents (clustering,
//! routing, the coordinator's actions) and the answers published back.
//!
//! Every write is one transaction: a connector's batch with its cursor; a batch of
//! analysed posts with their incidents and the removal of their inbox rows; an action with
//! the replies it queues. A post is stored once per `(source, external_id)`, so a batch
//! delivered twice (a crash between storing and acknowledging) changes nothing.

use otklik_domain::social::{DismissReason, IncidentStatus};
use otklik_domain::{OrgId, RegionId, SubcategoryId};
use otklik_social::{Platform, RawPost};
use time::OffsetDateTime;

/// A post as the pipeline analysed it, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysedPost {
    pub post: RawPost,
    /// The normalised text.
    pub text: String,
    pub language: String,
    pub relevant: bool,
    /// The classifier's category and subcategory names (the catalogue's own).
    pub category: Option<String>,
    pub subcategory: Option<String>,
    pub confidence: f32,
    pub sentiment: String,
    pub urgent: bool,
    /// ISO 3166-2 code of the located federal subject.
    pub region_code: Option<String>,
    pub place: Option<String>,
    pub location_confidence: Option<f32>,
    pub exact: u64,
    pub minhash: u64,
}

/// The terms the ingest applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestRules {
    /// Hours to the public answer's deadline.
    pub answer_hours: u32,
    /// A post joins an open incident that saw a post within this many hours; duplicates
    /// are looked for in the same window.
    pub cluster_hours: u32,
}

/// What one ingest did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub stored: u64,
    /// Already stored (delivered again).
    pub repeated: u64,
    pub duplicates: u64,
    pub incidents_created: u64,
    pub joined: u64,
}

/// A post waiting in the embedded inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxItem {
    pub id: i64,
    /// `None` when the stored body no longer parses (kept for the quarantine).
    pub post: Result<RawPost, String>,
}

/// Which incidents a queue shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocialQuery {
    pub status: Option<IncidentStatus>,
    pub region: Option<RegionId>,
    pub org: Option<OrgId>,
    /// Only incidents past their deadline.
    pub overdue: bool,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SocialIncident {
    pub id: i64,
    pub status: IncidentStatus,
    pub subcategory: Option<SubcategoryId>,
    pub subcategory_name: Option<String>,
    pub category_name: Option<String>,
    pub region: Option<RegionId>,
    pub region_code: Option<String>,
    pub region_name: Option<String>,
    pub org: Option<OrgId>,
    pub org_name: Option<String>,
    pub route_label: Option<String>,
    pub place: Option<String>,
    pub title: String,
    pub urgent: bool,
    pub posts: u64,
    pub first_post_at: OffsetDateTime,
    pub last_post_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub due_at: OffsetDateTime,
    pub breached_at: Option<OffsetDateTime>,
    pub merged_into: Option<i64>,
    pub answer: Option<String>,
    pub dismiss_reason: Option<DismissReason>,
    pub closed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SocialPost {
    pub id: i64,
    pub source: String,
    pub platform: Platform,
    pub external_id: String,
    pub url: Option<String>,
    pub text: String,
    pub published_at: OffsetDateTime,
    pub relevant: bool,
    pub confidence: f64,
    pub sentiment: String,
    pub urgent: bool,
    pub place: Option<String>,
    pub duplicate_of: Option<i64>,
    /// How the answer's publication under this post went: `pending`, `sent`, `failed`.
    pub reply_status: Option<String>,
}

/// What someone does to an incident (after `social::decide` allowed it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocialCommand {
    Answer {
        text: String,
    },
    Dismiss {
        reason: DismissReason,
    },
    Reroute {
        org: OrgId,
    },
    Merge {
        into: i64,
    },
    /// Moves these posts (of this incident) to a new incident; returns its id.
    Split {
        posts: Vec<i64>,
    },
}

/// An answer to publish under one post.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyJob {
    pub id: i64,
    pub incident_id: i64,
    pub source: String,
    /// The post's `ReplyTarget`, JSON.
    pub target: String,
    pub text: String,
    pub attempts: u32,
}

/// A connector's state, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceState {
    pub source: String,
    pub polled_at: Option<OffsetDateTime>,
    pub received: u64,
    pub quarantined: u64,
    pub error_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineRecord {
    pub id: i64,
    pub source: String,
    pub external_id: Option<String>,
    pub reason: String,
    pub excerpt: String,
    pub received_at: OffsetDateTime,
}

/// The catalogue's subcategories and the regions, read once per ingested batch.
pub(crate) struct Catalogue {
    /// (id, name, category's name), by id.
    pub subcategories: Vec<(i64, String, String)>,
    /// (id, ISO code).
    pub regions: Vec<(i64, String)>,
}

impl Catalogue {
    /// The first subcategory of this name (under this category, when given).
    pub fn subcategory(&self, category: Option<&str>, name: &str) -> Option<i64> {
        self.subcategories
            .iter()
            .find(|(_, n, c)| {
                n == name && category.is_none_or(|wanted| wanted.is_empty() || c == wanted)
            })
            .map(|(id, _, _)| *id)
    }

    pub fn region(&self, code: &str) -> Option<i64> {
        self.regions
            .iter()
            .find(|(_, c)| c == code)
            .map(|(id, _)| *id)
    }

    /// A post's subcategory and region ids (only a relevant post has a subcategory), its
    /// signature bands and its reply target as stored.
    pub(crate) fn place(&self, a: &AnalysedPost) -> crate::StoreResult<Placed> {
        let subcategory = match &a.subcategory {
            Some(name) if a.relevant => self.subcategory(a.category.as_deref(), name),
            _ => None,
        };
        Ok(Placed {
            subcategory,
            region: a.region_code.as_deref().and_then(|code| self.region(code)),
            bands: otklik_social::signature::bands(a.minhash),
            reply: serde_json::to_string(&a.post.reply)
                .map_err(|_| crate::common::corrupt("reply target"))?,
        })
    }

    /// The clustering keys a batch may open or join incidents under (the subcategory and
    /// region of posts that have a subcategory), as sorted distinct lock ids tagged to stay
    /// clear of any other advisory lock.
    pub(crate) fn cluster_keys(places: &[Placed]) -> Vec<i64> {
        const TAG: i64 = 0x5C << 56;
        const MASK: i64 = (1 << 28) - 1;
        let mut keys: Vec<i64> = places
            .iter()
            .filter_map(|p| {
                let subcategory = p.subcategory?;
                let region = p.region.unwrap_or(0);
                Some(TAG | ((subcategory & MASK) << 28) | (region & MASK))
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

/// Rows per multi-row statement (23 parameters a post: well under SQLite's and
/// PostgreSQL's limits).
pub(crate) const INSERT_CHUNK: usize = 500;

/// What the catalogue makes of a post before it is stored.
pub(crate) struct Placed {
    pub subcategory: Option<i64>,
    pub region: Option<i64>,
    pub bands: [u16; 4],
    /// The reply target, JSON.
    pub reply: String,
}

/// What the ingest decided about one post of the batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decision {
    pub duplicate_of: Option<i64>,
    pub incident: Option<i64>,
}

/// Where clustering looks: subcategory, region (0: none) and place ('' : none).
pub(crate) type ClusterKey = (i64, i64, String);

/// An incident's counters this batch adds, applied once at its end.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub posts: i64,
    pub first: i64,
    /// The incident's last post time counting this batch's posts (what the table will say).
    pub last: i64,
    pub urgent: bool,
    pub key: Option<ClusterKey>,
}

/// What one ingest has decided so far: each stored post's original and incident, and the
/// incidents' pending counters (by id: the batch updates incidents in ascending order, so
/// two concurrent batches on PostgreSQL lock shared incidents in the same order).
#[derive(Debug, Default)]
pub(crate) struct BatchState {
    pub decided: std::collections::HashMap<i64, Decision>,
    pub pending: std::collections::BTreeMap<i64, Pending>,
    /// The incidents the batch opened, with their routes, in the order it opened them.
    pub opened: Vec<OpenedLeaf>,
}

impl BatchState {
    /// Starts counting for an incident whose last post time is `last` now.
    pub fn touch(&mut self, id: i64, last: i64, key: Option<ClusterKey>) {
        self.pending.entry(id).or_insert(Pending {
            posts: 0,
            first: last,
            last,
            urgent: false,
            key,
        });
    }

    /// A post at `at` joined incident `id` (touched before).
    pub fn count(&mut self, id: i64, at: i64, urgent: bool) {
        if let Some(p) = self.pending.get_mut(&id) {
            p.posts += 1;
            p.first = p.first.min(at);
            p.last = p.last.max(at);
            p.urgent |= urgent;
        }
    }

    /// The open incident of `key` with the latest post within the window, as the table
    /// will say after this batch: the stored one the query found, or one whose pending
    /// posts moved it into the window or ahead.
    pub fn latest(
        &self,
        stored: Option<(i64, i64)>,
        key: &ClusterKey,
        since: i64,
    ) -> Option<(i64, i64)> {
        let stored =
            stored.map(|(id, last)| (id, self.pending.get(&id).map_or(last, |p| p.last.max(last))));
        self.pending
            .iter()
            .filter(|(_, p)| p.key.as_ref() == Some(key) && p.last >= since)
            .map(|(id, p)| (*id, p.last))
            .chain(stored)
            .max_by_key(|(id, last)| (*last, std::cmp::Reverse(*id)))
    }
}

/// The terms of one ingest.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Terms {
    pub rules: IngestRules,
    pub now: i64,
    /// How many posts of the batch were stored.
    pub batch: usize,
}

pub(crate) fn bits(value: u64) -> i64 {
    i64::from_ne_bytes(value.to_ne_bytes())
}

pub(crate) fn unbits(value: i64) -> u64 {
    u64::from_ne_bytes(value.to_ne_bytes())
}

pub(crate) const INCIDENT_COLUMNS: &str =
    "i.id, i.status, i.subcategory_id, sc.name AS subcategory_name, \
     c.name AS category_name, i.region_id, r.code AS region_code, r.name AS region_name, \
     i.org_id, o.name AS org_name, i.route_label, i.place, i.title, i.urgent, i.posts, \
     i.first_post_at, i.last_post_at, i.created_at, i.due_at, i.breached_at, i.merged_into, \
     i.answer, i.dismiss_reason, i.closed_at";

pub(crate) const INCIDENT_JOINS: &str = "FROM social_incidents i \
     LEFT JOIN subcategories sc ON sc.id = i.subcategory_id \
     LEFT JOIN categories c ON c.id = sc.category_id \
     LEFT JOIN regions r ON r.id = i.region_id \
     LEFT JOIN organisations o ON o.id = i.org_id";

#[derive(sqlx::FromRow)]
pub(crate) struct IncidentRow {
    id: i64,
    status: String,
    subcategory_id: Option<i64>,
    subcategory_name: Option<String>,
    category_name: Option<String>,
    region_id: Option<i64>,
    region_code: Option<String>,
    region_name: Option<String>,
    org_id: Option<i64>,
    org_name: Option<String>,
    route_label: Option<String>,
    place: Option<String>,
    title: String,
    urgent: i64,
    posts: i64,
    first_post_at: i64,
    last_post_at: i64,
    created_at: i64,
    due_at: i64,
    breached_at: Option<i64>,
    merged_into: Option<i64>,
    answer: Option<String>,
    dismiss_reason: Option<String>,
    closed_at: Option<i64>,
}

impl IncidentRow {
    pub fn incident(self) -> crate::StoreResult<SocialIncident> {
        use crate::common::{corrupt, from_ts};
        let opt_ts = |t: Option<i64>| t.map(from_ts).transpose();
        Ok(SocialIncident {
            id: self.id,
            status: IncidentStatus::parse(&self.status)
                .ok_or_else(|| corrupt("social_incidents.status"))?,
            subcategory: self.subcategory_id.map(SubcategoryId),
            subcategory_name: self.subcategory_name,
            category_name: self.category_name,
            region: self.region_id.map(RegionId),
            region_code: self.region_code,
            region_name: self.region_name,
            org: self.org_id.map(OrgId),
            org_name: self.org_name,
            route_label: self.route_label,
            place: self.place,
            title: self.title,
            urgent: self.urgent != 0,
            posts: crate::ledger_sql::u64_of(self.posts, "social_incidents.posts")?,
            first_post_at: from_ts(self.first_post_at)?,
            last_post_at: from_ts(self.last_post_at)?,
            created_at: from_ts(self.created_at)?,
            due_at: from_ts(self.due_at)?,
            breached_at: opt_ts(self.breached_at)?,
            merged_into: self.merged_into,
            answer: self.answer,
            dismiss_reason: self
                .dismiss_reason
                .map(|r| DismissReason::parse(&r).ok_or_else(|| corrupt("dismiss_reason")))
                .transpose()?,
            closed_at: opt_ts(self.closed_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PostRow {
    id: i64,
    source: String,
    platform: String,
    external_id: String,
    url: Option<String>,
    text: String,
    published_at: i64,
    relevant: i64,
    confidence: f64,
    sentiment: String,
    urgent: i64,
    place: Option<String>,
    duplicate_of: Option<i64>,
    reply_status: Option<String>,
}

impl PostRow {
    pub fn post(self) -> crate::StoreResult<SocialPost> {
        let platform = Platform::parse(&self.platform)
            .ok_or_else(|| crate::common::corrupt("social_posts.platform"))?;
        Ok(SocialPost {
            id: self.id,
            source: self.source,
            platform,
            external_id: self.external_id,
            url: self.url,
            text: self.text,
            published_at: crate::common::from_ts(self.published_at)?,
            relevant: self.relevant != 0,
            confidence: self.confidence,
            sentiment: self.sentiment,
            urgent: self.urgent != 0,
            place: self.place,
            duplicate_of: self.duplicate_of,
            reply_status: self.reply_status,
        })
    }
}

/// An incident a leaf opened, with where it was routed then (ids only), so that analytics
/// counts the opening under the route of that moment, however the incident moves later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct OpenedLeaf {
    pub incident: i64,
    pub org: Option<i64>,
    pub region: Option<i64>,
    pub subcategory: Option<i64>,
}

/// The log leaf of an ingest batch: the ids of the incidents it touched and of the posts it
/// stored (no texts: the log is public), so that followers (the search index) re-read them,
/// and the incidents it opened with their routes (`opened`, only when it opened any).
pub(crate) fn ingest_leaf(
    incidents: &[i64],
    posts: &[i64],
    opened: &[OpenedLeaf],
    at: i64,
) -> Vec<u8> {
    let mut leaf = serde_json::json!({
        "v": 1,
        "event": "social_posts",
        "incidents": incidents,
        "posts": posts,
        "at": at,
    });
    if let (false, Some(map)) = (opened.is_empty(), leaf.as_object_mut()) {
        map.insert("opened".to_owned(), serde_json::json!(opened));
    }
    serde_json::to_vec(&leaf).unwrap_or_default()
}

/// The log leaf of a staff action on a social incident: `answered`, `dismissed`,
/// `rerouted`, `merged` (`related`: the target) or `split` (`related`: the new incident,
/// also listed in `opened` with its route).
pub(crate) fn action_leaf(
    incident: i64,
    action: &str,
    related: Option<i64>,
    opened: Option<OpenedLeaf>,
    at: i64,
) -> Vec<u8> {
    let mut leaf = serde_json::json!({
        "v": 1,
        "event": "social_incident",
        "incident": incident,
        "action": action,
        "at": at,
    });
    if let Some(map) = leaf.as_object_mut() {
        if let Some(related) = related {
            map.insert("related".to_owned(), related.into());
        }
        if let Some(opened) = opened {
            map.insert("opened".to_owned(), serde_json::json!([opened]));
        }
    }
    serde_json::to_vec(&leaf).unwrap_or_default()
}

/// Which posts [`impl_social`]'s `social_feed_mark` looks at: a batch's new posts by id,
/// or every post of the incidents a staff action touched.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FeedMark {
    Posts,
    Incidents,
}

impl FeedMark {
    pub(crate) fn as_sql(self) -> &'static str {
        match self {
            FeedMark::Posts => "id",
            FeedMark::Incidents => "incident_id",
        }
    }
}

/// The first 160 characters of a text, for an incident's title.
pub(crate) fn title_of(text: &str) -> String {
    let mut title: String = text.chars().take(160).collect();
    if text.chars().count() > 160 {
        title.push('…');
    }
    title
}

macro_rules! impl_social {
    (store: $store:ty, db: $db:ty, write: $write:ident, read: $read:ident,
     begin_write: $begin_write:literal $(,)?) => {
        impl $store {
            /// Inserts a batch's posts with one multi-row statement per chunk; for each
            /// post, its new id, or None when it was stored before (delivered again).
            async fn social_insert_posts(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                posts: &[$crate::social_sql::AnalysedPost],
                places: &[$crate::social_sql::Placed],
                now: i64,
            ) -> $crate::StoreResult<Vec<Option<i64>>> {
                use $crate::social_sql::bits;
                let mut ids = vec![None; posts.len()];
                let chunks = posts.chunks($crate::social_sql::INSERT_CHUNK).zip(places.chunks($crate::social_sql::INSERT_CHUNK));
                for (n, (chunk, placed)) in chunks.enumerate() {
                    let mut insert = ::sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO social_posts (source, platform, external_id, url, text, language, \
                             published_at, received_at, relevant, subcategory_id, confidence, sentiment, \
                             urgent, region_id, place, location_confidence, exact_sig, minhash, \
                             band0, band1, band2, band3, reply) ",
                    );
                    insert.push_values(chunk.iter().zip(placed), |mut row, (a, p)| {
                        row.push_bind(a.post.source.clone())
                            .push_bind(a.post.platform.as_str())
                            .push_bind(a.post.external_id.clone())
                            .push_bind(a.post.url.clone())
                            .push_bind(a.text.clone())
                            .push_bind(a.language.clone())
                            .push_bind(a.post.published_at)
                            .push_bind(now)
                            .push_bind(i64::from(a.relevant))
                            .push_bind(p.subcategory)
                            .push_bind(f64::from(a.confidence))
                            .push_bind(a.sentiment.clone())
                            .push_bind(i64::from(a.urgent))
                            .push_bind(p.region)
                            .push_bind(a.place.clone())
                            .push_bind(a.location_confidence.map(f64::from))
                            .push_bind(bits(a.exact))
                            .push_bind(bits(a.minhash))
                            .push_bind(i64::from(p.bands[0]))
                            .push_bind(i64::from(p.bands[1]))
                            .push_bind(i64::from(p.bands[2]))
                            .push_bind(i64::from(p.bands[3]))
                            .push_bind(p.reply.clone());
                    });
                    insert.push(" ON CONFLICT (source, external_id) DO NOTHING RETURNING id, source, external_id");
                    let stored: Vec<(i64, String, String)> =
                        insert.build_query_as().fetch_all(&mut *conn).await?;
                    for (id, source, external_id) in stored {
                        // The first of the chunk with this key is the one inserted.
                        let at = chunk.iter().enumerate().position(|(i, a)| {
                            ids[n * $crate::social_sql::INSERT_CHUNK + i].is_none()
                                && a.post.source == source
                                && a.post.external_id == external_id
                        });
                        if let Some(i) = at {
                            ids[n * $crate::social_sql::INSERT_CHUNK + i] = Some(id);
                        }
                    }
                }
                Ok(ids)
            }

            /// Decides a stored post's original (exact or near duplicate) and incident,
            /// creating or updating the incident. Posts of this batch are already in the
            /// table but their own decisions are in `decided` until the batch's update.
            async fn social_place_one(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                a: &$crate::social_sql::AnalysedPost,
                p: &$crate::social_sql::Placed,
                post_id: i64,
                batch: &mut $crate::social_sql::BatchState,
                terms: $crate::social_sql::Terms,
                report: &mut $crate::social_sql::IngestReport,
            ) -> $crate::StoreResult<()> {
                use $crate::social_sql::bits;
                let since = terms.now - i64::from(terms.rules.cluster_hours) * 3600;
                // Room for the batch's own posts (stored already, before or after this
                // one), which the query cannot tell apart.
                let room = 64 + terms.batch;
                // The window and "stored before this post" are applied here, not in SQL:
                // with `received_at >= $n` or `id < $n` in the query, PostgreSQL's generic
                // plan (made while the table was small) read every recent post through the
                // time or primary-key index beside the band indexes (found with
                // auto_explain: 3 ms a post instead of 0.1). `p.id + 0` keeps the same
                // plan from walking the primary key backwards for `ORDER BY … LIMIT`,
                // filtering every post (23 ms instead of 0.3 at 30 000 posts).
                let candidates = ::sqlx::query_as::<$db, (i64, i64, i64, Option<i64>, Option<String>, i64)>(
                    "SELECT p.id, p.exact_sig, p.minhash, p.incident_id, i.status, p.received_at \
                     FROM social_posts p LEFT JOIN social_incidents i ON i.id = p.incident_id \
                     WHERE p.duplicate_of IS NULL \
                       AND (p.exact_sig = $1 OR p.band0 = $2 OR p.band1 = $3 OR p.band2 = $4 OR p.band3 = $5) \
                     ORDER BY p.id + 0 DESC LIMIT $6",
                )
                .bind(bits(a.exact))
                .bind(i64::from(p.bands[0]))
                .bind(i64::from(p.bands[1]))
                .bind(i64::from(p.bands[2]))
                .bind(i64::from(p.bands[3]))
                .bind(i64::try_from(room).unwrap_or(i64::MAX))
                .fetch_all(&mut *conn)
                .await?;
                let original = candidates
                    .into_iter()
                    .filter(|candidate| candidate.0 < post_id && candidate.5 >= since)
                    // A post of this batch: its decision, not its row, says what it is.
                    .filter_map(|(id, exact, minhash, incident, status, _)| match batch.decided.get(&id) {
                        Some(d) if d.duplicate_of.is_some() => None,
                        Some(d) => Some((id, exact, minhash, d.incident, d.incident.map(|_| "open".to_owned()))),
                        None => Some((id, exact, minhash, incident, status)),
                    })
                    .find(|(_, exact, minhash, _, _)| {
                        $crate::social_sql::unbits(*exact) == a.exact
                            || ::otklik_social::signature::distance($crate::social_sql::unbits(*minhash), a.minhash)
                                <= ::otklik_social::signature::NEAR_DISTANCE
                    });
                let mut incident = None;
                if let Some((_, _, _, original_incident, status)) = &original {
                    report.duplicates += 1;
                    if status.as_deref() == Some("open") {
                        incident = *original_incident;
                    }
                }
                let at = a.post.published_at.min(terms.now);
                if incident.is_none() && original.is_none() {
                    if let Some(subcategory) = p.subcategory {
                        let key = (subcategory, p.region.unwrap_or(0), a.place.clone().unwrap_or_default());
                        let stored = ::sqlx::query_as::<$db, (i64, i64)>(
                            "SELECT id, last_post_at FROM social_incidents \
                             WHERE status = 'open' AND subcategory_id = $1 \
                               AND COALESCE(region_id, 0) = $2 AND COALESCE(place, '') = $3 \
                               AND last_post_at >= $4 \
                             ORDER BY last_post_at DESC LIMIT 1",
                        )
                        .bind(key.0)
                        .bind(key.1)
                        .bind(&key.2)
                        .bind(since)
                        .fetch_optional(&mut *conn)
                        .await?;
                        // The batch's pending counters may have moved an incident of this
                        // key into the window or ahead of the stored one.
                        match batch.latest(stored, &key, since) {
                            Some((id, last)) => {
                                batch.touch(id, last, Some(key));
                                incident = Some(id);
                                report.joined += 1;
                            }
                            None => {
                                let (id, org) = Self::social_create_incident(&mut *conn, a, subcategory, p.region, terms.rules, terms.now)
                                    .await?;
                                batch.opened.push($crate::social_sql::OpenedLeaf {
                                    incident: id,
                                    org,
                                    region: p.region,
                                    subcategory: Some(subcategory),
                                });
                                batch.touch(id, at, Some(key));
                                incident = Some(id);
                                report.incidents_created += 1;
                            }
                        }
                    }
                } else if let Some(id) = incident {
                    report.joined += 1;
                    if !batch.pending.contains_key(&id) {
                        // Joined through a duplicate: where it clusters, and when its last
                        // post was, once per batch.
                        let (last, subcategory, region, place) =
                            ::sqlx::query_as::<$db, (i64, Option<i64>, i64, String)>(
                                "SELECT last_post_at, subcategory_id, COALESCE(region_id, 0), \
                                     COALESCE(place, '') FROM social_incidents WHERE id = $1",
                            )
                            .bind(id)
                            .fetch_one(&mut *conn)
                            .await?;
                        batch.touch(id, last, subcategory.map(|s| (s, region, place)));
                    }
                }
                if let Some(id) = incident {
                    batch.count(id, at, a.urgent);
                }
                batch.decided.insert(
                    post_id,
                    $crate::social_sql::Decision {
                        duplicate_of: original.map(|o| o.0),
                        incident,
                    },
                );
                Ok(())
            }

            /// Gives the posts named by `column IN ids` that have no place in the quality
            /// feed yet, and whose incident is routed, the place `idx` (the log leaf that
            /// routed them) with the organisation of that moment. Set once: a later
            /// re-route changes neither, so a feed read twice reads the same history, and
            /// a post routed after its batch comes after every cursor already handed out.
            async fn social_feed_mark(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                idx: u64,
                column: $crate::social_sql::FeedMark,
                ids: &[i64],
            ) -> $crate::StoreResult<()> {
                let idx = $crate::ledger_sql::i64_of(idx)?;
                for chunk in ids.chunks($crate::social_sql::INSERT_CHUNK) {
                    let mut update = ::sqlx::QueryBuilder::<$db>::new(
                        "UPDATE social_posts SET feed_idx = ",
                    );
                    update.push_bind(idx).push(
                        ", feed_org_id = (SELECT i.org_id FROM social_incidents i \
                             WHERE i.id = social_posts.incident_id) \
                         WHERE feed_idx IS NULL AND incident_id IN \
                             (SELECT i.id FROM social_incidents i WHERE i.org_id IS NOT NULL) AND ",
                    );
                    update.push(column.as_sql()).push(" IN (");
                    let mut list = update.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    update.push(")");
                    update.build().execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// Writes the batch's decisions onto its posts in one statement per chunk, and
            /// each touched incident's counters once.
            async fn social_write_decisions(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                batch: &$crate::social_sql::BatchState,
            ) -> $crate::StoreResult<()> {
                for (id, p) in &batch.pending {
                    ::sqlx::query::<$db>(
                        "UPDATE social_incidents SET posts = posts + $2, \
                             first_post_at = CASE WHEN first_post_at < $3 THEN first_post_at ELSE $3 END, \
                             last_post_at = CASE WHEN last_post_at > $4 THEN last_post_at ELSE $4 END, \
                             urgent = CASE WHEN urgent > $5 THEN urgent ELSE $5 END \
                         WHERE id = $1",
                    )
                    .bind(id)
                    .bind(p.posts)
                    .bind(p.first)
                    .bind(p.last)
                    .bind(i64::from(p.urgent))
                    .execute(&mut *conn)
                    .await?;
                }
                let rows: Vec<(i64, Option<i64>, Option<i64>)> = batch
                    .decided
                    .iter()
                    .filter(|(_, d)| d.duplicate_of.is_some() || d.incident.is_some())
                    .map(|(id, d)| (*id, d.duplicate_of, d.incident))
                    .collect();
                for chunk in rows.chunks($crate::social_sql::INSERT_CHUNK) {
                    let mut update = ::sqlx::QueryBuilder::<$db>::new("WITH v (id, dup, inc) AS (");
                    update.push_values(chunk, |mut row, (id, dup, inc)| {
                        row.push_bind(*id).push_bind(*dup).push_bind(*inc);
                    });
                    update.push(
                        ") UPDATE social_posts SET \
                             duplicate_of = (SELECT dup FROM v WHERE v.id = social_posts.id), \
                             incident_id = (SELECT inc FROM v WHERE v.id = social_posts.id) \
                         WHERE id IN (SELECT id FROM v)",
                    );
                    update.build().execute(&mut *conn).await?;
                }
                Ok(())
            }

            async fn social_create_incident(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                a: &$crate::social_sql::AnalysedPost,
                subcategory: i64,
                region: Option<i64>,
                rules: $crate::social_sql::IngestRules,
                now: i64,
            ) -> $crate::StoreResult<(i64, Option<i64>)> {
                let route = match region {
                    Some(region) => match Self::route_in(&mut *conn, subcategory, region, None).await {
                        Ok(route) => Some(route),
                        Err($crate::StoreError::InvalidReference(_)) => None,
                        Err(e) => return Err(e),
                    },
                    None => None,
                };
                let at = a.post.published_at.min(now);
                let org = route.as_ref().map(|r| r.org.0);
                let id = ::sqlx::query_scalar::<$db, i64>(
                    "INSERT INTO social_incidents (status, subcategory_id, region_id, org_id, route_label, \
                         place, title, urgent, posts, first_post_at, last_post_at, created_at, due_at) \
                     VALUES ('open', $1, $2, $3, $4, $5, $6, 0, 0, $7, $7, $8, $9) RETURNING id",
                )
                .bind(subcategory)
                .bind(region)
                .bind(org)
                .bind(route.map(|r| r.label))
                .bind(&a.place)
                .bind($crate::social_sql::title_of(&a.text))
                .bind(at)
                .bind(now)
                .bind(now + i64::from(rules.answer_hours) * 3600)
                .fetch_one(&mut *conn)
                .await?;
                Ok((id, org))
            }

            async fn social_incident_in(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                id: i64,
            ) -> $crate::StoreResult<$crate::social_sql::SocialIncident> {
                ::sqlx::query_as::<$db, $crate::social_sql::IncidentRow>(&format!(
                    "SELECT {} {} WHERE i.id = $1",
                    $crate::social_sql::INCIDENT_COLUMNS,
                    $crate::social_sql::INCIDENT_JOINS
                ))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or($crate::StoreError::NotFound)?
                .incident()
            }
        }

        #[::async_trait::async_trait]
        impl $crate::Social for $store {
            async fn social_receive(
                &self,
                source: &str,
                posts: &[::otklik_social::RawPost],
                quarantined: &[::otklik_social::Quarantined],
                cursor: Option<&str>,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<u64> {
                let now = $crate::common::ts(now);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let mut added = 0u64;
                for post in posts {
                    let body = ::serde_json::to_string(post)
                        .map_err(|_| $crate::common::corrupt("raw post"))?;
                    let result = ::sqlx::query::<$db>(
                        "INSERT INTO social_inbox (source, external_id, body, received_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (source, external_id) DO NOTHING",
                    )
                    .bind(&post.source)
                    .bind(&post.external_id)
                    .bind(body)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    added += result.rows_affected();
                }
                Self::social_quarantine_in(&mut *tx, quarantined, now).await?;
                ::sqlx::query::<$db>(
                    "INSERT INTO social_cursors (source, cursor, polled_at, received, quarantined) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (source) DO UPDATE SET \
                         cursor = COALESCE(excluded.cursor, social_cursors.cursor), \
                         polled_at = excluded.polled_at, \
                         received = social_cursors.received + excluded.received, \
                         quarantined = social_cursors.quarantined + excluded.quarantined, \
                         error_code = NULL, error_at = NULL",
                )
                .bind(source)
                .bind(cursor)
                .bind(now)
                .bind(i64::try_from(posts.len()).unwrap_or(i64::MAX))
                .bind(i64::try_from(quarantined.len()).unwrap_or(i64::MAX))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(added)
            }

            async fn social_cursor(&self, source: &str) -> $crate::StoreResult<Option<String>> {
                Ok(::sqlx::query_scalar::<$db, Option<String>>(
                    "SELECT cursor FROM social_cursors WHERE source = $1",
                )
                .bind(source)
                .fetch_optional(self.$read())
                .await?
                .flatten())
            }

            async fn social_poll_lease(
                &self,
                source: &str,
                holder: &str,
                now: ::time::OffsetDateTime,
                lease: ::std::time::Duration,
            ) -> $crate::StoreResult<bool> {
                let now = $crate::common::ts(now);
                let until = now.saturating_add(i64::try_from(lease.as_secs()).unwrap_or(60).max(1));
                // One statement: the row is created free, or taken when free, expired or
                // already ours; a running lease of another holder leaves it unchanged.
                let taken = ::sqlx::query::<$db>(
                    "INSERT INTO social_cursors (source, holder, leased_until) VALUES ($1, $2, $3) \
                     ON CONFLICT (source) DO UPDATE SET holder = excluded.holder, \
                         leased_until = excluded.leased_until \
                     WHERE social_cursors.holder IS NULL OR social_cursors.holder = excluded.holder \
                        OR social_cursors.leased_until <= $4",
                )
                .bind(source)
                .bind(holder)
                .bind(until)
                .bind(now)
                .execute(self.$write())
                .await?
                .rows_affected();
                Ok(taken == 1)
            }

            async fn social_poll_failed(
                &self,
                source: &str,
                code: &str,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "INSERT INTO social_cursors (source, polled_at, error_code, error_at) \
                     VALUES ($1, $2, $3, $2) \
                     ON CONFLICT (source) DO UPDATE SET polled_at = excluded.polled_at, \
                         error_code = excluded.error_code, error_at = excluded.error_at",
                )
                .bind(source)
                .bind($crate::common::ts(now))
                .bind(code)
                .execute(self.$write())
                .await?;
                Ok(())
            }

            async fn social_sources(&self) -> $crate::StoreResult<Vec<$crate::social_sql::SourceState>> {
                let rows = ::sqlx::query_as::<$db, (String, i64, i64, i64, Option<String>)>(
                    "SELECT source, polled_at, received, quarantined, error_code FROM social_cursors \
                     ORDER BY source",
                )
                .fetch_all(self.$read())
                .await?;
                rows.into_iter()
                    .map(|(source, polled, received, quarantined, error_code)| {
                        Ok($crate::social_sql::SourceState {
                            source,
                            polled_at: (polled > 0).then(|| $crate::common::from_ts(polled)).transpose()?,
                            received: $crate::ledger_sql::u64_of(received, "received")?,
                            quarantined: $crate::ledger_sql::u64_of(quarantined, "quarantined")?,
                            error_code,
                        })
                    })
                    .collect()
            }

            async fn social_inbox(&self, limit: u32) -> $crate::StoreResult<Vec<$crate::social_sql::InboxItem>> {
                let rows = ::sqlx::query_as::<$db, (i64, String)>(
                    "SELECT id, body FROM social_inbox ORDER BY id LIMIT $1",
                )
                .bind(i64::from(limit.clamp(1, 10_000)))
                .fetch_all(self.$read())
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, body)| $crate::social_sql::InboxItem {
                        id,
                        post: ::serde_json::from_str(&body).map_err(|e| e.to_string()),
                    })
                    .collect())
            }

            async fn social_ingest(
                &self,
                posts: &[$crate::social_sql::AnalysedPost],
                quarantined: &[::otklik_social::Quarantined],
                inbox: &[i64],
                rules: $crate::social_sql::IngestRules,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::social_sql::IngestReport> {
                let now = $crate::common::ts(now);
                let mut report = $crate::social_sql::IngestReport::default();
                let mut tx = self.$write().begin_with($begin_write).await?;
                // Names to ids once per batch, not twice per post.
                let catalogue = $crate::social_sql::Catalogue {
                    subcategories: ::sqlx::query_as::<$db, (i64, String, String)>(
                        "SELECT sc.id, sc.name, c.name FROM subcategories sc \
                         JOIN categories c ON c.id = sc.category_id ORDER BY sc.id",
                    )
                    .fetch_all(&mut *tx)
                    .await?,
                    regions: ::sqlx::query_as::<$db, (i64, String)>("SELECT id, code FROM regions")
                        .fetch_all(&mut *tx)
                        .await?,
                };
                let places = posts
                    .iter()
                    .map(|a| catalogue.place(a))
                    .collect::<$crate::StoreResult<Vec<_>>>()?;
                Self::social_cluster_locks(&mut *tx, &$crate::social_sql::Catalogue::cluster_keys(&places)).await?;
                let ids = Self::social_insert_posts(&mut *tx, posts, &places, now).await?;
                let terms = $crate::social_sql::Terms {
                    rules,
                    now,
                    batch: ids.iter().flatten().count(),
                };
                let mut batch = $crate::social_sql::BatchState::default();
                let stored: Vec<i64> = ids.iter().flatten().copied().collect();
                for ((a, p), id) in posts.iter().zip(&places).zip(ids) {
                    match id {
                        Some(id) => {
                            report.stored += 1;
                            Self::social_place_one(&mut *tx, a, p, id, &mut batch, terms, &mut report).await?;
                        }
                        None => report.repeated += 1,
                    }
                }
                Self::social_write_decisions(&mut *tx, &batch).await?;
                Self::social_quarantine_in(&mut *tx, quarantined, now).await?;
                for chunk in inbox.chunks($crate::social_sql::INSERT_CHUNK) {
                    let mut delete = ::sqlx::QueryBuilder::<$db>::new("DELETE FROM social_inbox WHERE id IN (");
                    let mut ids = delete.separated(", ");
                    for id in chunk {
                        ids.push_bind(*id);
                    }
                    delete.push(")");
                    delete.build().execute(&mut *tx).await?;
                }
                // One leaf per batch that stored posts, last: the log's lock is held for
                // the shortest time, and after the incidents' rows (the order every
                // transaction that writes both keeps, so none waits on another in a cycle).
                if !stored.is_empty() {
                    let touched: Vec<i64> = batch.pending.keys().copied().collect();
                    let leaf = $crate::social_sql::ingest_leaf(&touched, &stored, &batch.opened, now);
                    let idx = Self::log_append(&mut *tx, "social", None, None, &leaf, &[], now).await?;
                    Self::social_feed_mark(&mut *tx, idx, $crate::social_sql::FeedMark::Posts, &stored).await?;
                }
                tx.commit().await?;
                Ok(report)
            }

            async fn social_incidents(
                &self,
                query: &$crate::social_sql::SocialQuery,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<Vec<$crate::social_sql::SocialIncident>> {
                let rows = ::sqlx::query_as::<$db, $crate::social_sql::IncidentRow>(&format!(
                    "SELECT {} {} \
                     WHERE ($1 = '' OR i.status = $1) AND ($2 = 0 OR i.region_id = $2) \
                       AND ($3 = 0 OR i.org_id = $3) AND ($4 = 0 OR (i.status = 'open' AND i.due_at < $5)) \
                     ORDER BY CASE WHEN i.status = 'open' THEN 0 ELSE 1 END, i.urgent DESC, i.due_at, i.id DESC \
                     LIMIT $6 OFFSET $7",
                    $crate::social_sql::INCIDENT_COLUMNS,
                    $crate::social_sql::INCIDENT_JOINS
                ))
                .bind(query.status.map_or("", |s| s.as_str()))
                .bind(query.region.map_or(0, |r| r.0))
                .bind(query.org.map_or(0, |o| o.0))
                .bind(i64::from(query.overdue))
                .bind($crate::common::ts(now))
                .bind(i64::from(query.limit.clamp(1, 500)))
                .bind(i64::from(query.offset))
                .fetch_all(self.$read())
                .await?;
                rows.into_iter().map($crate::social_sql::IncidentRow::incident).collect()
            }

            async fn social_incident(
                &self,
                id: i64,
            ) -> $crate::StoreResult<($crate::social_sql::SocialIncident, Vec<$crate::social_sql::SocialPost>)> {
                let mut conn = self.$read().acquire().await?;
                let incident = Self::social_incident_in(&mut *conn, id).await?;
                let posts = ::sqlx::query_as::<$db, $crate::social_sql::PostRow>(
                    "SELECT p.id, p.source, p.platform, p.external_id, p.url, p.text, p.published_at, \
                         p.relevant, p.confidence, p.sentiment, p.urgent, p.place, p.duplicate_of, \
                         (SELECT status FROM social_replies sr WHERE sr.post_id = p.id AND sr.incident_id = $1) \
                             AS reply_status \
                     FROM social_posts p WHERE p.incident_id = $1 ORDER BY p.published_at, p.id LIMIT 500",
                )
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
                let posts = posts
                    .into_iter()
                    .map($crate::social_sql::PostRow::post)
                    .collect::<$crate::StoreResult<Vec<_>>>()?;
                Ok((incident, posts))
            }

            async fn social_act(
                &self,
                id: i64,
                actor: ::otklik_domain::lifecycle::Actor,
                command: $crate::social_sql::SocialCommand,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<i64> {
                use ::otklik_domain::social::{decide, IncidentAction, IncidentError, IncidentScope};
                use $crate::social_sql::SocialCommand;
                let now = $crate::common::ts(now);
                let mut tx = self.$write().begin_with($begin_write).await?;
                // Lock the incident (and a merge's target) before reading it: otherwise two
                // PostgreSQL transactions both read it open and both act (answered and
                // dismissed at once, two incidents merged into each other). A no-op update
                // takes the row lock on both backends (SQLite's write transaction holds the
                // database already); rows are locked in id order, so that two merges of one
                // pair wait for each other instead of deadlocking.
                let mut locked = vec![id];
                if let SocialCommand::Merge { into } = &command {
                    locked.push(*into);
                }
                locked.sort_unstable();
                locked.dedup();
                for row in locked {
                    ::sqlx::query::<$db>("UPDATE social_incidents SET status = status WHERE id = $1")
                        .bind(row)
                        .execute(&mut *tx)
                        .await?;
                }
                let incident = Self::social_incident_in(&mut *tx, id).await?;
                let scope = |i: &$crate::social_sql::SocialIncident| IncidentScope {
                    status: i.status,
                    region: i.region,
                    org: i.org,
                };
                let action = match &command {
                    SocialCommand::Answer { .. } => IncidentAction::Answer,
                    SocialCommand::Dismiss { .. } => IncidentAction::Dismiss,
                    SocialCommand::Reroute { .. } => IncidentAction::Reroute,
                    SocialCommand::Merge { .. } => IncidentAction::Merge,
                    SocialCommand::Split { .. } => IncidentAction::Split,
                };
                decide(actor.role, action, &scope(&incident))?;
                let mut result = id;
                let mut related = None;
                let mut opened = None;
                let done = match &command {
                    SocialCommand::Answer { .. } => "answered",
                    SocialCommand::Dismiss { .. } => "dismissed",
                    SocialCommand::Reroute { .. } => "rerouted",
                    SocialCommand::Merge { .. } => "merged",
                    SocialCommand::Split { .. } => "split",
                };
                match command {
                    SocialCommand::Answer { text } => {
                        ::sqlx::query::<$db>(
                            "UPDATE social_incidents SET status = 'answered', answer = $2, answered_by = $3, \
                                 closed_by = $3, closed_at = $4 WHERE id = $1",
                        )
                        .bind(id)
                        .bind(&text)
                        .bind(actor.user.0)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        // One reply under every original post that has a way back.
                        ::sqlx::query::<$db>(
                            "INSERT INTO social_replies (incident_id, post_id, status, next_attempt_at, created_at) \
                             SELECT $1, id, 'pending', $2, $2 FROM social_posts \
                             WHERE incident_id = $1 AND duplicate_of IS NULL \
                               AND reply NOT LIKE '{\"kind\":\"none\"%' \
                             ORDER BY id LIMIT 100",
                        )
                        .bind(id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    SocialCommand::Dismiss { reason } => {
                        ::sqlx::query::<$db>(
                            "UPDATE social_incidents SET status = 'dismissed', dismiss_reason = $2, \
                                 closed_by = $3, closed_at = $4 WHERE id = $1",
                        )
                        .bind(id)
                        .bind(reason.as_str())
                        .bind(actor.user.0)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    SocialCommand::Reroute { org } => {
                        let exists = ::sqlx::query_scalar::<$db, i64>("SELECT id FROM organisations WHERE id = $1")
                            .bind(org.0)
                            .fetch_optional(&mut *tx)
                            .await?;
                        if exists.is_none() {
                            return Err($crate::StoreError::InvalidReference("unknown_organisation"));
                        }
                        ::sqlx::query::<$db>(
                            "UPDATE social_incidents SET org_id = $2, route_label = 'manual' WHERE id = $1",
                        )
                        .bind(id)
                        .bind(org.0)
                        .execute(&mut *tx)
                        .await?;
                    }
                    SocialCommand::Merge { into } => {
                        if into == id {
                            return Err(IncidentError::MergeIntoItself.into());
                        }
                        let target = match Self::social_incident_in(&mut *tx, into).await {
                            Ok(target) => target,
                            Err($crate::StoreError::NotFound) => {
                                return Err($crate::StoreError::InvalidReference("unknown_incident"))
                            }
                            Err(e) => return Err(e),
                        };
                        decide(actor.role, IncidentAction::Merge, &scope(&target))?;
                        ::sqlx::query::<$db>("UPDATE social_posts SET incident_id = $2 WHERE incident_id = $1")
                            .bind(id)
                            .bind(into)
                            .execute(&mut *tx)
                            .await?;
                        ::sqlx::query::<$db>(
                            "UPDATE social_incidents SET posts = posts + $2, \
                                 first_post_at = CASE WHEN first_post_at < $3 THEN first_post_at ELSE $3 END, \
                                 last_post_at = CASE WHEN last_post_at > $4 THEN last_post_at ELSE $4 END, \
                                 urgent = CASE WHEN urgent > $5 THEN urgent ELSE $5 END, \
                                 due_at = CASE WHEN due_at < $6 THEN due_at ELSE $6 END \
                             WHERE id = $1",
                        )
                        .bind(into)
                        .bind($crate::ledger_sql::i64_of(incident.posts)?)
                        .bind($crate::common::ts(incident.first_post_at))
                        .bind($crate::common::ts(incident.last_post_at))
                        .bind(i64::from(incident.urgent))
                        .bind($crate::common::ts(incident.due_at))
                        .execute(&mut *tx)
                        .await?;
                        ::sqlx::query::<$db>(
                            "UPDATE social_incidents SET status = 'merged', merged_into = $2, posts = 0, \
                                 closed_by = $3, closed_at = $4 WHERE id = $1",
                        )
                        .bind(id)
                        .bind(into)
                        .bind(actor.user.0)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        result = into;
                        related = Some(into);
                    }
                    SocialCommand::Split { posts } => {
                        let mut moving = Vec::new();
                        for post in posts {
                            let belongs = ::sqlx::query_scalar::<$db, i64>(
                                "SELECT id FROM social_posts WHERE id = $1 AND incident_id = $2",
                            )
                            .bind(post)
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await?;
                            match belongs {
                                Some(p) if !moving.contains(&p) => moving.push(p),
                                Some(_) => {}
                                None => return Err($crate::StoreError::InvalidReference("unknown_post")),
                            }
                        }
                        let total = $crate::ledger_sql::i64_of(incident.posts)?;
                        let count = i64::try_from(moving.len()).unwrap_or(i64::MAX);
                        if count == 0 || count >= total {
                            return Err(IncidentError::SplitNothing.into());
                        }
                        let new_id = ::sqlx::query_scalar::<$db, i64>(
                            "INSERT INTO social_incidents (status, subcategory_id, region_id, org_id, route_label, \
                                 place, title, urgent, posts, first_post_at, last_post_at, created_at, due_at) \
                             VALUES ('open', $1, $2, $3, $4, $5, '', 0, $6, $7, $8, $9, $10) RETURNING id",
                        )
                        .bind(incident.subcategory.map(|s| s.0))
                        .bind(incident.region.map(|r| r.0))
                        .bind(incident.org.map(|o| o.0))
                        .bind(&incident.route_label)
                        .bind(&incident.place)
                        .bind(count)
                        .bind($crate::common::ts(incident.first_post_at))
                        .bind($crate::common::ts(incident.last_post_at))
                        .bind(now)
                        .bind($crate::common::ts(incident.due_at))
                        .fetch_one(&mut *tx)
                        .await?;
                        for post in &moving {
                            ::sqlx::query::<$db>("UPDATE social_posts SET incident_id = $2 WHERE id = $1")
                                .bind(post)
                                .bind(new_id)
                                .execute(&mut *tx)
                                .await?;
                        }
                        ::sqlx::query::<$db>("UPDATE social_incidents SET posts = posts - $2 WHERE id = $1")
                            .bind(id)
                            .bind(count)
                            .execute(&mut *tx)
                            .await?;
                        // The new incident is titled by its earliest post (not by whichever the
                        // caller listed first); each side spans its own posts and is urgent if
                        // one of its posts is (as ingest counts them: the publication time, or
                        // the reception if the post claims a later one).
                        let first_text = ::sqlx::query_scalar::<$db, String>(
                            "SELECT text FROM social_posts WHERE incident_id = $1 \
                             ORDER BY published_at, id LIMIT 1",
                        )
                        .bind(new_id)
                        .fetch_one(&mut *tx)
                        .await?;
                        ::sqlx::query::<$db>("UPDATE social_incidents SET title = $2 WHERE id = $1")
                            .bind(new_id)
                            .bind($crate::social_sql::title_of(&first_text))
                            .execute(&mut *tx)
                            .await?;
                        for side in [id, new_id] {
                            ::sqlx::query::<$db>(
                                "UPDATE social_incidents SET \
                                     first_post_at = COALESCE((SELECT MIN(CASE WHEN p.published_at < p.received_at \
                                         THEN p.published_at ELSE p.received_at END) \
                                         FROM social_posts p WHERE p.incident_id = $1), first_post_at), \
                                     last_post_at = COALESCE((SELECT MAX(CASE WHEN p.published_at < p.received_at \
                                         THEN p.published_at ELSE p.received_at END) \
                                         FROM social_posts p WHERE p.incident_id = $1), last_post_at), \
                                     urgent = COALESCE((SELECT MAX(p.urgent) FROM social_posts p \
                                         WHERE p.incident_id = $1), urgent) \
                                 WHERE id = $1",
                            )
                            .bind(side)
                            .execute(&mut *tx)
                            .await?;
                        }
                        result = new_id;
                        related = Some(new_id);
                        opened = Some($crate::social_sql::OpenedLeaf {
                            incident: new_id,
                            org: incident.org.map(|o| o.0),
                            region: incident.region.map(|r| r.0),
                            subcategory: incident.subcategory.map(|s| s.0),
                        });
                    }
                }
                let leaf = $crate::social_sql::action_leaf(id, done, related, opened, now);
                let idx = Self::log_append(&mut *tx, "social", None, None, &leaf, &[], now).await?;
                // A re-route, merge or split may route posts that were routed nowhere.
                let incidents: Vec<i64> = ::std::iter::once(id).chain(related).collect();
                Self::social_feed_mark(&mut *tx, idx, $crate::social_sql::FeedMark::Incidents, &incidents)
                    .await?;
                tx.commit().await?;
                Ok(result)
            }

            async fn social_monitor(&self, now: ::time::OffsetDateTime) -> $crate::StoreResult<u64> {
                let now = $crate::common::ts(now);
                let mut raised = 0;
                // In batches, each one transaction: the mark on the incident, its register
                // row and its log leaf land together or not at all.
                loop {
                    let mut tx = self.$write().begin_with($begin_write).await?;
                    let due = ::sqlx::query_as::<$db, (i64, Option<i64>, Option<i64>, i64)>(
                        "SELECT id, org_id, region_id, due_at FROM social_incidents \
                         WHERE status = 'open' AND due_at < $1 AND breached_at IS NULL \
                         ORDER BY due_at, id LIMIT 500",
                    )
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await?;
                    if due.is_empty() {
                        tx.commit().await?;
                        return Ok(raised);
                    }
                    // Every incident's row first, then the register and its leaves: the
                    // log's lock is taken after the incidents' rows, as ingest and the
                    // staff's actions take them, so that none waits on another in a cycle.
                    let mut marked = Vec::with_capacity(due.len());
                    for (id, _, _, _) in &due {
                        marked.push(
                            ::sqlx::query::<$db>(
                                "UPDATE social_incidents SET breached_at = $2 \
                                 WHERE id = $1 AND breached_at IS NULL",
                            )
                            .bind(id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected(),
                        );
                    }
                    for ((id, org, region, due_at), marked) in due.into_iter().zip(marked) {
                        let row = $crate::admin_sql::RegisterRow {
                            kind: ::otklik_domain::lifecycle::IncidentKind::LateSocialAnswer,
                            subject: $crate::admin_sql::RegisterSubject::SocialIncident(id),
                            org,
                            region,
                            due_at: Some(due_at),
                            at: now,
                        };
                        if marked == 1 && Self::raise(&mut *tx, &row).await? {
                            raised += 1;
                        }
                    }
                    tx.commit().await?;
                }
            }

            async fn social_claim_replies(
                &self,
                now: ::time::OffsetDateTime,
                lease: ::std::time::Duration,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::social_sql::ReplyJob>> {
                let now = $crate::common::ts(now);
                let due = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT id FROM social_replies WHERE status = 'pending' \
                       AND next_attempt_at <= $1 AND leased_until <= $1 ORDER BY id LIMIT $2",
                )
                .bind(now)
                .bind(i64::from(limit.clamp(1, 100)))
                .fetch_all(self.$read())
                .await?;
                if due.is_empty() {
                    return Ok(Vec::new());
                }
                let until = now + i64::try_from(lease.as_secs()).unwrap_or(60).max(1);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let mut jobs = Vec::new();
                for id in due {
                    let job = ::sqlx::query_as::<$db, (i64, i64, String, String, String, i64)>(
                        "UPDATE social_replies SET leased_until = $2 \
                         WHERE id = $1 AND status = 'pending' AND leased_until <= $3 \
                         RETURNING id, incident_id, \
                             (SELECT source FROM social_posts p WHERE p.id = post_id), \
                             (SELECT reply FROM social_posts p WHERE p.id = post_id), \
                             (SELECT answer FROM social_incidents i WHERE i.id = incident_id), attempts",
                    )
                    .bind(id)
                    .bind(until)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some((id, incident_id, source, target, text, attempts)) = job {
                        jobs.push($crate::social_sql::ReplyJob {
                            id,
                            incident_id,
                            source,
                            target,
                            text,
                            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                        });
                    }
                }
                tx.commit().await?;
                Ok(jobs)
            }

            async fn social_reply_sent(
                &self,
                id: i64,
                external_id: &str,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "UPDATE social_replies SET status = 'sent', external_id = $2, sent_at = $3, \
                         leased_until = 0, error = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(external_id)
                .bind($crate::common::ts(now))
                .execute(self.$write())
                .await?;
                Ok(())
            }

            async fn social_reply_failed(
                &self,
                id: i64,
                error: &str,
                retry_at: Option<::time::OffsetDateTime>,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "UPDATE social_replies SET attempts = attempts + 1, leased_until = 0, error = $2, \
                         status = CASE WHEN $3 = 0 THEN 'failed' ELSE 'pending' END, \
                         next_attempt_at = CASE WHEN $3 = 0 THEN next_attempt_at ELSE $3 END \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(error)
                .bind(retry_at.map_or(0, $crate::common::ts))
                .execute(self.$write())
                .await?;
                Ok(())
            }

            async fn social_quarantined(
                &self,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::social_sql::QuarantineRecord>> {
                let rows = ::sqlx::query_as::<$db, (i64, String, Option<String>, String, String, i64)>(
                    "SELECT id, source, external_id, reason, excerpt, received_at FROM social_quarantine \
                     ORDER BY id DESC LIMIT $1",
                )
                .bind(i64::from(limit.clamp(1, 1_000)))
                .fetch_all(self.$read())
                .await?;
                rows.into_iter()
                    .map(|(id, source, external_id, reason, excerpt, at)| {
                        Ok($crate::social_sql::QuarantineRecord {
                            id,
                            source,
                            external_id,
                            reason,
                            excerpt,
                            received_at: $crate::common::from_ts(at)?,
                        })
                    })
                    .collect()
            }
        }

        impl $store {
            async fn social_quarantine_in(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                items: &[::otklik_social::Quarantined],
                now: i64,
            ) -> $crate::StoreResult<()> {
                for q in items {
                    ::sqlx::query::<$db>(
                        "INSERT INTO social_quarantine (source, external_id, reason, excerpt, received_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&q.source)
                    .bind(&q.external_id)
                    .bind(&q.reason)
                    .bind(::otklik_social::text::cut_at_boundary(&q.excerpt, ::otklik_social::post::EXCERPT_BYTES).replace('\0', "\u{FFFD}"))
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(())
            }
        }
    };
}

pub(crate) use impl_social;
