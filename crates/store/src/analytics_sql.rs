//! The `Analytics` trait's implementation (`impl_analytics!`): the follower that turns the
//! transparency log's events and incidents into additive cells, and the reads of those
//! cells. The follower reads the log by index (commit order on both backends, as the
//! search feed does) and moves its cursor in the transaction that adds the batch, so a
//! crash neither loses nor repeats anything; on PostgreSQL the state row's lock makes
//! several nodes take turns.

use otklik_domain::analytics::{
    incident_delta, ChannelKey, Delta, Dim, EventFacts, Figures, Grain, Histograms, KindKey, Mask,
    Measure, Replay, SocialDelta, SocialFigures, SocialMeasure, SocialRoute, SubmissionFacts,
    Timing,
};
use otklik_domain::lifecycle::{
    Channel, EventKind, IncidentKind, RejectionGround, Score, SubmissionKind,
};
use std::collections::{BTreeMap, HashMap};

/// Which cells a report reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyticsFilter {
    /// `Some(empty)` matches nothing.
    pub regions: Option<Vec<i64>>,
    pub org: Option<i64>,
    pub subcategories: Option<Vec<i64>>,
    pub channel: Option<Channel>,
    pub kind: Option<SubmissionKind>,
}

impl AnalyticsFilter {
    pub(crate) fn dims(&self) -> Vec<Dim> {
        let mut dims = Vec::new();
        if self.regions.is_some() {
            dims.push(Dim::Region);
        }
        if self.org.is_some() {
            dims.push(Dim::Org);
        }
        if self.subcategories.is_some() {
            dims.push(Dim::Subcategory);
        }
        if self.channel.is_some() {
            dims.push(Dim::Channel);
        }
        if self.kind.is_some() {
            dims.push(Dim::Kind);
        }
        dims
    }

    /// The filter as social cells read it: channel and kind do not apply.
    pub(crate) fn for_social(&self) -> AnalyticsFilter {
        AnalyticsFilter {
            channel: None,
            kind: None,
            ..self.clone()
        }
    }

    pub(crate) fn matches_nothing(&self) -> bool {
        self.regions.as_ref().is_some_and(Vec::is_empty)
            || self.subcategories.as_ref().is_some_and(Vec::is_empty)
    }

    /// The WHERE conditions after the fixed ones. Ids are integers and enum names are
    /// fixed identifiers: safe to write into the statement.
    pub(crate) fn conditions(&self) -> String {
        let list = |ids: &[i64]| {
            ids.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut sql = String::new();
        if let Some(regions) = &self.regions {
            sql.push_str(&format!(" AND region_id IN ({})", list(regions)));
        }
        if let Some(org) = self.org {
            sql.push_str(&format!(" AND org_id = {org}"));
        }
        if let Some(subcategories) = &self.subcategories {
            sql.push_str(&format!(" AND subcategory_id IN ({})", list(subcategories)));
        }
        if let Some(channel) = self.channel {
            sql.push_str(&format!(" AND channel = '{}'", channel.as_str()));
        }
        if let Some(kind) = self.kind {
            sql.push_str(&format!(" AND kind = '{}'", kind.as_str()));
        }
        sql
    }
}

/// A read of the cells: a filter, an inclusive range of reporting days, the dimensions
/// to group by, and whether to keep the periods apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellQuery {
    pub filter: AnalyticsFilter,
    pub from_day: i64,
    pub to_day: i64,
    pub group: Vec<Dim>,
    /// `Some(Day)`: one sum per day; `Some(Month)`: per month; `None`: one sum.
    pub series: Option<Grain>,
}

/// One group's sums (dimensions outside the grouping are 0 / `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellSum {
    pub key: otklik_domain::analytics::CellKey,
    /// The day or month number, when the query keeps periods apart.
    pub period: Option<i64>,
    pub figures: Figures,
    pub times: Histograms,
}

/// One group's social-media incident sums (dimensions outside the grouping are 0; channel
/// and kind are always `None`: they do not apply to social incidents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialSum {
    pub key: otklik_domain::analytics::CellKey,
    /// The day or month number, when the query keeps periods apart.
    pub period: Option<i64>,
    pub figures: SocialFigures,
    /// Times from opening to the public answer, under [`Timing::Answer`].
    pub times: Histograms,
}

/// What one report reads in one snapshot: the follower's position, the submissions'
/// queries' sums and the social queries' sums, each in the order asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsAnswers {
    pub position: AnalyticsPosition,
    pub cells: Vec<Vec<CellSum>>,
    pub social: Vec<Vec<SocialSum>>,
}

/// What one run of the follower did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FollowOutcome {
    /// Log leaves read.
    pub leaves: u64,
    /// Events and incidents counted.
    pub counted: u64,
    /// The next log index to read.
    pub cursor: u64,
}

/// Where the follower is, against the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalyticsPosition {
    pub cursor: u64,
    pub log_size: u64,
    pub counted: u64,
}

pub(crate) const DIM_COLUMNS: [(Dim, &str, &str); 5] = [
    (Dim::Region, "region_id", "CAST(0 AS BIGINT)"),
    (Dim::Org, "org_id", "CAST(0 AS BIGINT)"),
    (Dim::Subcategory, "subcategory_id", "CAST(0 AS BIGINT)"),
    (Dim::Channel, "channel", "''"),
    (Dim::Kind, "kind", "''"),
];

/// The SELECT list of the dimensions and the period, and the GROUP BY list: grouped
/// dimensions as columns, others as constants; the period only for a series (otherwise
/// a constant, so a year's read is one row per group, not one per group and month).
/// `mask` is constant in every read: grouping by it alone keeps "no cells" as no rows.
pub(crate) fn dim_select(group: &[Dim], series: bool) -> (String, String) {
    let mut select = Vec::new();
    let mut group_by = Vec::new();
    for (dim, column, constant) in DIM_COLUMNS {
        if group.contains(&dim) {
            select.push(column.to_owned());
            group_by.push(column);
        } else {
            select.push(format!("{constant} AS {column}"));
        }
    }
    if series {
        select.push("period".to_owned());
        group_by.push("period");
    } else {
        select.push("CAST(0 AS BIGINT) AS period".to_owned());
        group_by.push("mask");
    }
    (select.join(", "), group_by.join(", "))
}

/// The ranges of a day range read from each grain: whole months from the month cells,
/// the days at either end from the day cells. With a daily series, all days.
pub(crate) fn plan_ranges(query: &CellQuery) -> Vec<(Grain, i64, i64)> {
    use otklik_domain::analytics::{first_day_of_month, month_of_day};
    let (from, to) = (query.from_day, query.to_day);
    if from > to {
        return Vec::new();
    }
    if query.series == Some(Grain::Day) {
        return vec![(Grain::Day, from, to)];
    }
    let first_month = if first_day_of_month(month_of_day(from)) == from {
        month_of_day(from)
    } else {
        month_of_day(from) + 1
    };
    let last_month = if first_day_of_month(month_of_day(to) + 1) - 1 == to {
        month_of_day(to)
    } else {
        month_of_day(to) - 1
    };
    if first_month > last_month {
        return vec![(Grain::Day, from, to)];
    }
    let mut ranges = vec![(Grain::Month, first_month, last_month)];
    let months_start = first_day_of_month(first_month);
    let months_end = first_day_of_month(last_month + 1) - 1;
    if from < months_start {
        ranges.push((Grain::Day, from, months_start - 1));
    }
    if to > months_end {
        ranges.push((Grain::Day, months_end + 1, to));
    }
    ranges
}

/// The key of a row's dimension columns (first five columns of a cell read).
pub(crate) fn key_of(
    region: i64,
    org: i64,
    subcategory: i64,
    channel: &str,
    kind: &str,
) -> otklik_domain::analytics::CellKey {
    otklik_domain::analytics::CellKey {
        region,
        org,
        subcategory,
        channel: Channel::parse(channel).ok().map(ChannelKey::of),
        kind: SubmissionKind::parse(kind).ok().map(KindKey::of),
    }
}

/// The period a row belongs to in the answer.
pub(crate) fn answer_period(query: &CellQuery, grain: Grain, period: i64) -> Option<i64> {
    match (query.series, grain) {
        (None, _) => None,
        (Some(Grain::Month), Grain::Day) => Some(otklik_domain::analytics::month_of_day(period)),
        (Some(_), _) => Some(period),
    }
}

/// The figures and times one follower batch adds, per cell.
#[derive(Default)]
pub(crate) struct Batch {
    pub cells: BTreeMap<CellId, (Figures, TimeCounts)>,
    /// Social-media incidents' cells: counters and answer times per bucket.
    pub social: BTreeMap<CellId, (SocialFigures, BTreeMap<usize, i64>)>,
    pub counted: u64,
}

impl Batch {
    /// The periods the batch writes, of either kind of cell.
    pub fn periods(&self) -> Vec<(Grain, i64)> {
        let periods: std::collections::BTreeSet<(Grain, i64)> = self
            .cells
            .keys()
            .chain(self.social.keys())
            .map(|(_, grain, period, _)| (*grain, *period))
            .collect();
        periods.into_iter().collect()
    }
}

/// One group's sums as a read answers them and a node keeps them per range: submissions'
/// ([`CellSum`]) or social-media incidents' ([`SocialSum`]).
pub(crate) trait GroupSum: Sized {
    type Figures: Default;
    fn of(
        key: otklik_domain::analytics::CellKey,
        period: Option<i64>,
        figures: Self::Figures,
        times: Histograms,
    ) -> Self;
    fn slot(&self) -> Slot;
    fn add_to(&self, sums: &mut (Self::Figures, Histograms));
}

/// Where a group's sums go in an answer: its key and, in a series, its period.
pub(crate) type Slot = (otklik_domain::analytics::CellKey, Option<i64>);

/// Sums being gathered, by slot.
pub(crate) type Gathered<T> = BTreeMap<Slot, (<T as GroupSum>::Figures, Histograms)>;

impl GroupSum for CellSum {
    type Figures = Figures;
    fn of(
        key: otklik_domain::analytics::CellKey,
        period: Option<i64>,
        figures: Figures,
        times: Histograms,
    ) -> Self {
        CellSum {
            key,
            period,
            figures,
            times,
        }
    }
    fn slot(&self) -> Slot {
        (self.key, self.period)
    }
    fn add_to(&self, sums: &mut (Figures, Histograms)) {
        sums.0.add(&self.figures);
        sums.1.add(&self.times);
    }
}

impl GroupSum for SocialSum {
    type Figures = SocialFigures;
    fn of(
        key: otklik_domain::analytics::CellKey,
        period: Option<i64>,
        figures: SocialFigures,
        times: Histograms,
    ) -> Self {
        SocialSum {
            key,
            period,
            figures,
            times,
        }
    }
    fn slot(&self) -> Slot {
        (self.key, self.period)
    }
    fn add_to(&self, sums: &mut (SocialFigures, Histograms)) {
        sums.0.add(&self.figures);
        sums.1.add(&self.times);
    }
}

/// The gathered sums as an answer, in slot order.
pub(crate) fn answer_of<T: GroupSum>(gathered: Gathered<T>) -> Vec<T> {
    gathered
        .into_iter()
        .map(|((key, period), (figures, times))| T::of(key, period, figures, times))
        .collect()
}

/// Adds a range's sums to the answer being gathered.
pub(crate) fn gather<T: GroupSum>(answer: &mut Gathered<T>, rows: &[T]) {
    for sum in rows {
        sum.add_to(answer.entry(sum.slot()).or_default());
    }
}

/// Ranges' versions already read in one snapshot, by (grain, first, last period).
pub(crate) type Versions = HashMap<(Grain, i64, i64), Option<i64>>;

/// The kept sums' key of one range read by one query.
pub(crate) fn range_key(
    shape: &str,
    mask: Mask,
    query: &CellQuery,
    grain: Grain,
    from: i64,
    to: i64,
) -> crate::analytics_cache::RangeKey {
    crate::analytics_cache::RangeKey {
        shape: shape.to_owned(),
        mask: mask.0,
        series: query.series.map(Grain::as_str),
        grain: grain.as_str(),
        from,
        to,
    }
}

pub(crate) type CellId = (Mask, Grain, i64, otklik_domain::analytics::CellKey);
/// Counts per (timing, bucket) of one cell.
pub(crate) type TimeCounts = BTreeMap<(Timing, usize), i64>;

impl Batch {
    pub fn add(&mut self, delta: &Delta) {
        self.counted += 1;
        for cell in otklik_domain::analytics::cells_of(delta) {
            let (figures, times) = self.cells.entry(cell).or_default();
            for measure in &delta.measures {
                figures.bump(*measure);
            }
            for (timing, bucket) in &delta.timings {
                *times.entry((*timing, *bucket)).or_default() += 1;
            }
        }
    }

    pub fn add_social(&mut self, delta: &SocialDelta) {
        self.counted += 1;
        for cell in otklik_domain::analytics::social_cells_of(delta) {
            let (figures, times) = self.social.entry(cell).or_default();
            for measure in &delta.measures {
                figures.bump(*measure);
            }
            if let Some(bucket) = delta.answer_bucket {
                *times.entry(bucket).or_default() += 1;
            }
        }
    }
}

/// A `social` leaf's fields analytics reads (`social_sql::ingest_leaf`, `action_leaf`);
/// others are ignored.
#[derive(serde::Deserialize)]
pub(crate) struct SocialLeafFields {
    pub event: String,
    /// The incident acted on (`social_incident`).
    #[serde(default)]
    pub incident: Option<i64>,
    #[serde(default)]
    pub action: Option<String>,
    /// The incidents the leaf opened, with their routes then (leaves written before
    /// openings were recorded have none).
    #[serde(default)]
    pub opened: Vec<crate::social_sql::OpenedLeaf>,
    pub at: i64,
}

/// A register incident leaf about a social incident (`admin_sql::RegisterRow::leaf`).
#[derive(serde::Deserialize)]
pub(crate) struct SocialBreachLeafFields {
    pub incident: String,
    #[serde(default)]
    pub social_incident: Option<i64>,
    #[serde(default)]
    pub org: Option<i64>,
    #[serde(default)]
    pub region: Option<i64>,
    pub at: i64,
}

/// What a leaf says happened to a social incident, before its row is read.
pub(crate) enum SocialCounted {
    /// Self-contained: the route is in the leaf.
    Opened(SocialRoute, i64),
    /// The incident's row holds the rest: closed, it never changes again.
    Answered(i64, i64),
    Dismissed(i64, i64),
    /// The breach leaf's organisation and region (those when it was found); the
    /// subcategory, which never changes, from the row.
    Breached(i64, Option<i64>, Option<i64>, i64),
}

impl SocialCounted {
    /// The incident whose row is needed, if any.
    pub fn row(&self) -> Option<i64> {
        match self {
            SocialCounted::Opened(..) => None,
            SocialCounted::Answered(id, _)
            | SocialCounted::Dismissed(id, _)
            | SocialCounted::Breached(id, ..) => Some(*id),
        }
    }
}

/// What analytics reads of a social incident's row: only what never changes once the
/// incident is closed (route, opening, deadline) or at all (region, subcategory).
#[derive(sqlx::FromRow)]
pub(crate) struct SocialFactsRow {
    pub id: i64,
    pub region_id: Option<i64>,
    pub org_id: Option<i64>,
    pub subcategory_id: Option<i64>,
    pub created_at: i64,
    pub due_at: i64,
}

/// What a `social` leaf or a social breach leaf counts (nothing for other leaves).
pub(crate) fn social_counted(kind: &str, data: &[u8]) -> crate::StoreResult<Vec<SocialCounted>> {
    let corrupt = || crate::common::corrupt("log_leaves.data");
    match kind {
        "social" => {
            let leaf: SocialLeafFields = serde_json::from_slice(data).map_err(|_| corrupt())?;
            let mut counted: Vec<SocialCounted> = leaf
                .opened
                .iter()
                .map(|o| {
                    SocialCounted::Opened(
                        SocialRoute {
                            region: o.region,
                            org: o.org,
                            subcategory: o.subcategory,
                        },
                        leaf.at,
                    )
                })
                .collect();
            if let ("social_incident", Some(id)) = (leaf.event.as_str(), leaf.incident) {
                match leaf.action.as_deref() {
                    Some("answered") => counted.push(SocialCounted::Answered(id, leaf.at)),
                    Some("dismissed") => counted.push(SocialCounted::Dismissed(id, leaf.at)),
                    _ => {}
                }
            }
            Ok(counted)
        }
        "incident" => {
            let leaf: SocialBreachLeafFields =
                serde_json::from_slice(data).map_err(|_| corrupt())?;
            Ok(match (leaf.incident.as_str(), leaf.social_incident) {
                ("late_social_answer", Some(id)) => {
                    vec![SocialCounted::Breached(id, leaf.org, leaf.region, leaf.at)]
                }
                _ => Vec::new(),
            })
        }
        _ => Ok(Vec::new()),
    }
}

/// The deltas of a batch's social leaves, given the rows they need (a leaf whose row is
/// missing counts nothing).
pub(crate) fn social_deltas(
    counted: Vec<SocialCounted>,
    rows: &HashMap<i64, SocialFactsRow>,
) -> Vec<SocialDelta> {
    let route = |row: &SocialFactsRow| SocialRoute {
        region: row.region_id,
        org: row.org_id,
        subcategory: row.subcategory_id,
    };
    counted
        .into_iter()
        .filter_map(|item| match item {
            SocialCounted::Opened(r, at) => Some(SocialDelta::opened(r, at)),
            SocialCounted::Answered(id, at) => rows
                .get(&id)
                .map(|row| SocialDelta::answered(route(row), row.created_at, row.due_at, at)),
            SocialCounted::Dismissed(id, at) => rows
                .get(&id)
                .map(|row| SocialDelta::dismissed(route(row), at)),
            SocialCounted::Breached(id, org, region, at) => rows.get(&id).map(|row| {
                SocialDelta::breached(
                    SocialRoute {
                        region,
                        org,
                        subcategory: row.subcategory_id,
                    },
                    at,
                )
            }),
        })
        .collect()
}

/// The social measure columns in storage order.
pub(crate) fn social_columns() -> Vec<&'static str> {
    SocialMeasure::ALL.iter().map(|m| m.column()).collect()
}

/// The dimension values of a cell as stored.
pub(crate) fn stored_dims(
    key: &otklik_domain::analytics::CellKey,
) -> (i64, i64, i64, &'static str, &'static str) {
    (
        key.region,
        key.org,
        key.subcategory,
        key.channel.map_or("", |c| c.channel().as_str()),
        key.kind.map_or("", |k| k.kind().as_str()),
    )
}

/// A stored event as the replay reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct ReplayRow {
    pub submission_id: i64,
    pub idx: i64,
    pub kind: String,
    pub at: i64,
    pub from_org: Option<i64>,
    pub to_org: i64,
    pub subcategory_id: Option<i64>,
    pub ground: Option<String>,
    pub score: Option<i64>,
    pub deadline_at: i64,
}

impl ReplayRow {
    pub fn facts(&self) -> crate::StoreResult<EventFacts> {
        let corrupt = |what: &'static str| crate::common::corrupt(what);
        Ok(EventFacts {
            kind: EventKind::parse(&self.kind).map_err(|_| corrupt("events.kind"))?,
            at: self.at,
            from_org: self.from_org,
            to_org: self.to_org,
            subcategory: self.subcategory_id,
            ground: match &self.ground {
                Some(g) => Some(RejectionGround::parse(g).map_err(|_| corrupt("events.ground"))?),
                None => None,
            },
            score: match self.score {
                Some(s) => Some(
                    u8::try_from(s)
                        .ok()
                        .and_then(|s| Score::new(s).ok())
                        .ok_or_else(|| corrupt("events.score"))?,
                ),
                None => None,
            },
            deadline_at: self.deadline_at,
        })
    }
}

/// A submission incident leaf's fields (its canonical JSON, `admin_sql::RegisterRow::leaf`).
#[derive(serde::Deserialize)]
pub(crate) struct IncidentLeafFields {
    pub incident: String,
    pub org: i64,
    pub region: i64,
    pub at: i64,
}

/// The submission's fixed facts as stored.
#[derive(sqlx::FromRow)]
pub(crate) struct FactsRow {
    pub id: i64,
    pub region_id: i64,
    pub channel: String,
    pub kind: String,
    pub subcategory_id: i64,
}

impl FactsRow {
    pub fn facts(&self) -> crate::StoreResult<SubmissionFacts> {
        let corrupt = |what: &'static str| crate::common::corrupt(what);
        Ok(SubmissionFacts {
            region: self.region_id,
            channel: Channel::parse(&self.channel).map_err(|_| corrupt("submissions.channel"))?,
            kind: SubmissionKind::parse(&self.kind).map_err(|_| corrupt("submissions.kind"))?,
        })
    }
}

/// What a leaf in the batch is, for the replay.
pub(crate) enum Counted {
    Event(EventFacts),
    Incident(IncidentKind, i64, i64, i64),
}

/// Replays each submission's history up to the batch's end and collects what the leaves
/// at or after `from` add.
pub(crate) fn replay_batch(
    from: i64,
    facts: &HashMap<i64, (SubmissionFacts, i64)>,
    history: BTreeMap<(i64, i64), Counted>,
) -> Batch {
    let mut batch = Batch::default();
    let mut replay: Option<(i64, Replay)> = None;
    for ((submission, idx), item) in history {
        let Some((submission_facts, fallback)) = facts.get(&submission) else {
            continue;
        };
        if replay.as_ref().map(|(id, _)| *id) != Some(submission) {
            replay = Some((submission, Replay::new(*submission_facts, *fallback)));
        }
        let Some((_, replay)) = replay.as_mut() else {
            continue;
        };
        match item {
            Counted::Event(event) => {
                let deltas = replay.step(&event);
                if idx >= from {
                    deltas.iter().for_each(|delta| batch.add(delta));
                }
            }
            Counted::Incident(kind, org, region, at) if idx >= from => {
                let subcategory = replay.subcategory();
                batch.add(&incident_delta(
                    kind,
                    *submission_facts,
                    org,
                    region,
                    subcategory,
                    at,
                ));
            }
            Counted::Incident(..) => {}
        }
    }
    batch
}

/// The VALUES rows of a multi-row insert: `rows` groups of `per_row` placeholders.
/// SQLite looks a numbered parameter up by name, one by one, so thousands of `$N` in one
/// statement cost quadratic time: there (`anonymous`) plain `?`, which binds in order.
pub(crate) fn values_rows(rows: usize, per_row: usize, anonymous: bool) -> String {
    (0..rows)
        .map(|row| {
            let params = (0..per_row)
                .map(|p| {
                    if anonymous {
                        "?".to_owned()
                    } else {
                        format!("${}", row * per_row + p + 1)
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("({params})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A reporting day as `YYYY-MM-DD` (how poll turnout days are stored).
pub(crate) fn iso_day(day: i64) -> String {
    let (y, m, d) = otklik_domain::analytics::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The measure columns in storage order.
pub(crate) fn measure_columns() -> Vec<String> {
    Measure::all().into_iter().map(Measure::column).collect()
}

macro_rules! impl_analytics {
    (store: $store:ty, db: $db:ty, write: $write:ident, read: $read:ident,
     begin_write: $begin_write:literal, begin_read: $begin_read:literal, lock: $lock:literal $(,)?) => {
        #[::async_trait::async_trait]
        impl $crate::Analytics for $store {
            async fn analytics_follow(
                &self,
                max_leaves: u32,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::FollowOutcome> {
                use $crate::analytics_sql::*;
                use ::std::collections::{BTreeMap, BTreeSet, HashMap};
                // Caught up: nothing to take the write lock for.
                let (cursor, size) = ::sqlx::query_as::<$db, (i64, i64)>(
                    "SELECT a.next_idx, l.size FROM analytics_state a, log_state l \
                     WHERE a.id = 1 AND l.id = 1",
                )
                .fetch_one(self.$read())
                .await?;
                if cursor >= size {
                    return Ok($crate::FollowOutcome {
                        leaves: 0,
                        counted: 0,
                        cursor: $crate::ledger_sql::u64_of(cursor, "analytics_state.next_idx")?,
                    });
                }
                let mut tx = self.$write().begin_with($begin_write).await?;
                let (cursor,) = ::sqlx::query_as::<$db, (i64,)>(concat!(
                    "SELECT next_idx FROM analytics_state WHERE id = 1",
                    $lock
                ))
                .fetch_one(&mut *tx)
                .await?;
                let leaves = ::sqlx::query_as::<$db, (i64, String, Option<i64>, Option<i64>, Option<Vec<u8>>)>(
                    "SELECT idx, kind, submission_id, event_id, \
                            CASE WHEN kind IN ('incident', 'social') THEN data ELSE NULL END \
                     FROM log_leaves WHERE idx >= $1 ORDER BY idx LIMIT $2",
                )
                .bind(cursor)
                .bind(i64::from(max_leaves.max(1)))
                .fetch_all(&mut *tx)
                .await?;
                let Some(last) = leaves.last().map(|l| l.0) else {
                    tx.rollback().await?;
                    return Ok($crate::FollowOutcome {
                        leaves: 0,
                        counted: 0,
                        cursor: $crate::ledger_sql::u64_of(cursor, "analytics_state.next_idx")?,
                    });
                };
                let end = last + 1;
                let mut history: BTreeMap<(i64, i64), Counted> = BTreeMap::new();
                let mut submissions: BTreeSet<i64> = BTreeSet::new();
                let mut social: Vec<SocialCounted> = Vec::new();
                for (idx, kind, submission, event, data) in &leaves {
                    match (kind.as_str(), submission, event, data) {
                        (_, Some(submission), Some(_), _) => {
                            submissions.insert(*submission);
                        }
                        ("incident", Some(submission), None, Some(data)) => {
                            let leaf: IncidentLeafFields = ::serde_json::from_slice(data)
                                .map_err(|_| $crate::common::corrupt("log_leaves.data"))?;
                            let kind = ::otklik_domain::lifecycle::IncidentKind::parse(&leaf.incident)
                                .map_err(|_| $crate::common::corrupt("log_leaves.data"))?;
                            history.insert(
                                (*submission, *idx),
                                Counted::Incident(kind, leaf.org, leaf.region, leaf.at),
                            );
                            submissions.insert(*submission);
                        }
                        // Social-media incidents: openings, answers, dismissals, breaches.
                        (kind @ ("social" | "incident"), None, None, Some(data)) => {
                            social.extend(social_counted(kind, data)?);
                        }
                        _ => {}
                    }
                }
                let mut facts: HashMap<i64, (::otklik_domain::analytics::SubmissionFacts, i64)> =
                    HashMap::new();
                if !submissions.is_empty() {
                    // Ids are integers read from the database: safe to list in the statement.
                    // Such a statement is never the same twice: not kept prepared.
                    let list = submissions.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
                    for row in ::sqlx::query_as::<$db, FactsRow>(&format!(
                        "SELECT id, region_id, channel, kind, subcategory_id FROM submissions \
                         WHERE id IN ({list})"
                    ))
                    .persistent(false)
                    .fetch_all(&mut *tx)
                    .await?
                    {
                        facts.insert(row.id, (row.facts()?, row.subcategory_id));
                    }
                    for row in ::sqlx::query_as::<$db, ReplayRow>(&format!(
                        "SELECT e.submission_id, l.idx, e.kind, e.at, e.from_org, e.to_org, \
                                e.subcategory_id, e.ground, e.score, e.deadline_at \
                         FROM events e JOIN log_leaves l ON l.event_id = e.id \
                         WHERE e.submission_id IN ({list}) AND l.idx < $1"
                    ))
                    .bind(end)
                    .persistent(false)
                    .fetch_all(&mut *tx)
                    .await?
                    {
                        history.insert((row.submission_id, row.idx), Counted::Event(row.facts()?));
                    }
                }
                let mut batch = replay_batch(cursor, &facts, history);
                let rows: BTreeSet<i64> = social.iter().filter_map(SocialCounted::row).collect();
                let mut social_rows: HashMap<i64, SocialFactsRow> = HashMap::new();
                if !rows.is_empty() {
                    // Ids are integers read from the log: safe to list in the statement.
                    let list = rows.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
                    for row in ::sqlx::query_as::<$db, SocialFactsRow>(&format!(
                        "SELECT id, region_id, org_id, subcategory_id, created_at, due_at \
                         FROM social_incidents WHERE id IN ({list})"
                    ))
                    .persistent(false)
                    .fetch_all(&mut *tx)
                    .await?
                    {
                        social_rows.insert(row.id, row);
                    }
                }
                for delta in social_deltas(social, &social_rows) {
                    batch.add_social(&delta);
                }
                Self::analytics_write(&mut *tx, &batch).await?;
                ::sqlx::query::<$db>(
                    "UPDATE analytics_state SET next_idx = $1, counted = counted + $2, updated_at = $3 \
                     WHERE id = 1",
                )
                .bind(end)
                .bind($crate::ledger_sql::i64_of(batch.counted)?)
                .bind($crate::common::ts(now))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok($crate::FollowOutcome {
                    leaves: leaves.len() as u64,
                    counted: batch.counted,
                    cursor: $crate::ledger_sql::u64_of(end, "analytics_state.next_idx")?,
                })
            }

            async fn analytics_import(
                &self,
                deltas: &[::otklik_domain::analytics::Delta],
            ) -> $crate::StoreResult<()> {
                let mut batch = $crate::analytics_sql::Batch::default();
                deltas.iter().for_each(|delta| batch.add(delta));
                let mut tx = self.$write().begin_with($begin_write).await?;
                Self::analytics_write(&mut *tx, &batch).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn analytics_reset(&self, now: ::time::OffsetDateTime) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                ::sqlx::query::<$db>(concat!("SELECT next_idx FROM analytics_state WHERE id = 1", $lock))
                    .execute(&mut *tx)
                    .await?;
                ::sqlx::query::<$db>("DELETE FROM analytics_cells").execute(&mut *tx).await?;
                ::sqlx::query::<$db>("DELETE FROM analytics_times").execute(&mut *tx).await?;
                ::sqlx::query::<$db>("DELETE FROM analytics_social_cells").execute(&mut *tx).await?;
                ::sqlx::query::<$db>("DELETE FROM analytics_social_times").execute(&mut *tx).await?;
                // Versions only grow (`writes` is never reset): nothing kept before the reset
                // matches a range again.
                ::sqlx::query::<$db>("DELETE FROM analytics_periods").execute(&mut *tx).await?;
                ::sqlx::query::<$db>(
                    "UPDATE analytics_state SET next_idx = 0, counted = 0, updated_at = $1 WHERE id = 1",
                )
                .bind($crate::common::ts(now))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn analytics_position(&self) -> $crate::StoreResult<$crate::AnalyticsPosition> {
                let (cursor, counted, size) = ::sqlx::query_as::<$db, (i64, i64, i64)>(
                    "SELECT a.next_idx, a.counted, l.size FROM analytics_state a, log_state l \
                     WHERE a.id = 1 AND l.id = 1",
                )
                .fetch_one(self.$read())
                .await?;
                Ok($crate::AnalyticsPosition {
                    cursor: $crate::ledger_sql::u64_of(cursor, "analytics_state.next_idx")?,
                    log_size: $crate::ledger_sql::u64_of(size, "log_state.size")?,
                    counted: $crate::ledger_sql::u64_of(counted, "analytics_state.counted")?,
                })
            }

            async fn analytics_cells(
                &self,
                query: &$crate::CellQuery,
            ) -> $crate::StoreResult<Vec<$crate::CellSum>> {
                let mut answers = self.analytics_read(::std::slice::from_ref(query), &[]).await?;
                Ok(answers.cells.pop().unwrap_or_default())
            }

            async fn analytics_polls(
                &self,
                org: Option<i64>,
                regions: Option<&[i64]>,
                from_day: i64,
                to_day: i64,
            ) -> $crate::StoreResult<(u64, u64)> {
                use ::otklik_domain::analytics::REPORTING_OFFSET_SECONDS;
                if regions.is_some_and(|r| r.is_empty()) {
                    return Ok((0, 0));
                }
                // Ids are integers: safe to write into the statement.
                let mut conditions = String::new();
                if let Some(org) = org {
                    conditions.push_str(&format!(" AND p.org_id = {org}"));
                }
                if let Some(regions) = regions {
                    let list = regions.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
                    conditions.push_str(&format!(" AND p.region_id IN ({list})"));
                }
                let start = from_day * 86_400 - REPORTING_OFFSET_SECONDS;
                let end = (to_day + 1) * 86_400 - REPORTING_OFFSET_SECONDS;
                let (polls, ballots) = ::sqlx::query_as::<$db, (i64, i64)>(&format!(
                    "SELECT COUNT(*), CAST(COALESCE(SUM(b.n), 0) AS BIGINT) FROM polls p \
                     LEFT JOIN (SELECT poll_id, SUM(count) AS n FROM poll_counts \
                                WHERE dimension = 'day' AND question = -1 \
                                  AND value >= $1 AND value <= $2 GROUP BY poll_id) b \
                       ON b.poll_id = p.id \
                     WHERE p.cancelled_at IS NULL AND p.opens_at < $3 AND p.closes_at > $4{conditions}"
                ))
                .bind($crate::analytics_sql::iso_day(from_day))
                .bind($crate::analytics_sql::iso_day(to_day))
                .bind(end)
                .bind(start)
                .fetch_one(self.$read())
                .await?;
                Ok((
                    $crate::ledger_sql::u64_of(polls, "polls")?,
                    $crate::ledger_sql::u64_of(ballots, "poll_counts.count")?,
                ))
            }

            async fn analytics_social_cells(
                &self,
                query: &$crate::CellQuery,
            ) -> $crate::StoreResult<Vec<$crate::SocialSum>> {
                let mut answers = self.analytics_read(&[], ::std::slice::from_ref(query)).await?;
                Ok(answers.social.pop().unwrap_or_default())
            }

            async fn analytics_read(
                &self,
                queries: &[$crate::CellQuery],
                social: &[$crate::CellQuery],
            ) -> $crate::StoreResult<$crate::AnalyticsAnswers> {
                // One snapshot: every table of a report agrees with the others.
                let mut tx = self.$read().begin_with($begin_read).await?;
                let (cursor, counted, size) = ::sqlx::query_as::<$db, (i64, i64, i64)>(
                    "SELECT a.next_idx, a.counted, l.size FROM analytics_state a, log_state l \
                     WHERE a.id = 1 AND l.id = 1",
                )
                .fetch_one(&mut *tx)
                .await?;
                let position = $crate::AnalyticsPosition {
                    cursor: $crate::ledger_sql::u64_of(cursor, "analytics_state.next_idx")?,
                    log_size: $crate::ledger_sql::u64_of(size, "log_state.size")?,
                    counted: $crate::ledger_sql::u64_of(counted, "analytics_state.counted")?,
                };
                let mut versions = $crate::analytics_sql::Versions::new();
                let mut cells = Vec::with_capacity(queries.len());
                for query in queries {
                    cells.push(
                        Self::analytics_sums(&mut *tx, query, &self.analytics_cache.cells, &mut versions)
                            .await?,
                    );
                }
                let mut social_sums = Vec::with_capacity(social.len());
                for query in social {
                    social_sums.push(
                        Self::analytics_social_sums(
                            &mut *tx,
                            query,
                            &self.analytics_cache.social,
                            &mut versions,
                        )
                        .await?,
                    );
                }
                tx.commit().await?;
                Ok($crate::AnalyticsAnswers {
                    position,
                    cells,
                    social: social_sums,
                })
            }
        }

        impl $store {
            /// The sums one query asks for, in the read's snapshot: each range of periods
            /// from the node's kept sums when its version still holds, else from the cells.
            async fn analytics_sums(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                query: &$crate::CellQuery,
                kept: &$crate::analytics_cache::RangeSums<$crate::CellSum>,
                versions: &mut $crate::analytics_sql::Versions,
            ) -> $crate::StoreResult<Vec<$crate::CellSum>> {
                use $crate::analytics_sql::*;
                use ::otklik_domain::analytics::{projection_for, Figures, Mask, Timing};
                use ::sqlx::Row;
                use ::std::collections::BTreeMap;
                if query.filter.matches_nothing() {
                    return Ok(Vec::new());
                }
                let mut needed = query.filter.dims();
                needed.extend(query.group.iter().copied());
                let mask = projection_for(Mask::of(&needed));
                let (dims, group_by) = dim_select(&query.group, query.series.is_some());
                let conditions = query.filter.conditions();
                let columns = measure_columns();
                let sums = columns
                    .iter()
                    .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let shape = format!("cells|{dims}|{group_by}|{conditions}");
                let mut answer: Gathered<$crate::CellSum> = BTreeMap::new();
                // The first six columns of either read: the group's key and its period.
                let place = |row: &<$db as ::sqlx::Database>::Row, grain| {
                    let key = key_of(
                        row.try_get::<i64, _>(0)?,
                        row.try_get::<i64, _>(1)?,
                        row.try_get::<i64, _>(2)?,
                        &row.try_get::<String, _>(3)?,
                        &row.try_get::<String, _>(4)?,
                    );
                    let period = answer_period(query, grain, row.try_get::<i64, _>(5)?);
                    Ok::<_, $crate::StoreError>((key, period))
                };
                for (grain, planned_from, planned_to) in plan_ranges(query) {
                    for (from, to) in $crate::analytics_cache::split_last(planned_from, planned_to) {
                        // No version: nothing was ever written in the range.
                        let Some(version) =
                            Self::analytics_version(&mut *conn, versions, grain, from, to).await?
                        else {
                            continue;
                        };
                        let key = range_key(&shape, mask, query, grain, from, to);
                        let rows = match kept.get(&key, version) {
                            Some(rows) => rows,
                            None => {
                                let mut range: Gathered<$crate::CellSum> = BTreeMap::new();
                                let rows = ::sqlx::query::<$db>(&format!(
                                    "SELECT {dims}, {sums} FROM analytics_cells \
                                     WHERE mask = $1 AND grain = $2 AND period >= $3 AND period <= $4{conditions} \
                                     GROUP BY {group_by}"
                                ))
                                .bind(i64::from(mask.0))
                                .bind(grain.as_str())
                                .bind(from)
                                .bind(to)
                                .fetch_all(&mut *conn)
                                .await?;
                                for row in rows {
                                    let (key, period) = place(&row, grain)?;
                                    let mut figures = Figures::default();
                                    for (i, slot) in figures.0.iter_mut().enumerate() {
                                        *slot = row.try_get::<i64, _>(6 + i)?;
                                    }
                                    range.entry((key, period)).or_default().0.add(&figures);
                                }
                                let rows = ::sqlx::query::<$db>(&format!(
                                    "SELECT {dims}, timing, bucket, CAST(SUM(n) AS BIGINT) FROM analytics_times \
                                     WHERE mask = $1 AND grain = $2 AND period >= $3 AND period <= $4{conditions} \
                                     GROUP BY {group_by}, timing, bucket"
                                ))
                                .bind(i64::from(mask.0))
                                .bind(grain.as_str())
                                .bind(from)
                                .bind(to)
                                .fetch_all(&mut *conn)
                                .await?;
                                for row in rows {
                                    let (key, period) = place(&row, grain)?;
                                    let timing = Timing::parse(&row.try_get::<String, _>(6)?)
                                        .map_err(|_| $crate::common::corrupt("analytics_times.timing"))?;
                                    let bucket = usize::try_from(row.try_get::<i64, _>(7)?).unwrap_or(usize::MAX);
                                    let count = row.try_get::<i64, _>(8)?;
                                    range.entry((key, period)).or_default().1.add_count(timing, bucket, count);
                                }
                                let rows = ::std::sync::Arc::new(answer_of::<$crate::CellSum>(range));
                                kept.put(key, version, rows.clone());
                                rows
                            }
                        };
                        gather(&mut answer, &rows);
                    }
                }
                Ok(answer_of(answer))
            }

            /// The social-media incident sums one query asks for (channel and kind, which do
            /// not apply, dropped from its filter and grouping), in the read's snapshot, each
            /// range from the node's kept sums when its version still holds.
            async fn analytics_social_sums(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                query: &$crate::CellQuery,
                kept: &$crate::analytics_cache::RangeSums<$crate::SocialSum>,
                versions: &mut $crate::analytics_sql::Versions,
            ) -> $crate::StoreResult<Vec<$crate::SocialSum>> {
                use $crate::analytics_sql::*;
                use ::otklik_domain::analytics::{
                    social_projection_for, Dim, Mask, SocialFigures, Timing,
                };
                use ::sqlx::Row;
                use ::std::collections::BTreeMap;
                let query = $crate::CellQuery {
                    filter: query.filter.for_social(),
                    group: query
                        .group
                        .iter()
                        .copied()
                        .filter(|d| !matches!(d, Dim::Channel | Dim::Kind))
                        .collect(),
                    ..query.clone()
                };
                if query.filter.matches_nothing() {
                    return Ok(Vec::new());
                }
                let mut needed = query.filter.dims();
                needed.extend(query.group.iter().copied());
                let mask = social_projection_for(Mask::of(&needed));
                let (dims, group_by) = dim_select(&query.group, query.series.is_some());
                let conditions = query.filter.conditions();
                let sums = social_columns()
                    .iter()
                    .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let shape = format!("social|{dims}|{group_by}|{conditions}");
                let mut answer: Gathered<$crate::SocialSum> = BTreeMap::new();
                // The tables have no channel and kind: the constants `dim_select` writes for
                // them (never grouped here) read the same.
                let place = |row: &<$db as ::sqlx::Database>::Row, grain| {
                    let key = key_of(
                        row.try_get::<i64, _>(0)?,
                        row.try_get::<i64, _>(1)?,
                        row.try_get::<i64, _>(2)?,
                        "",
                        "",
                    );
                    let period = answer_period(&query, grain, row.try_get::<i64, _>(5)?);
                    Ok::<_, $crate::StoreError>((key, period))
                };
                for (grain, planned_from, planned_to) in plan_ranges(&query) {
                    for (from, to) in $crate::analytics_cache::split_last(planned_from, planned_to) {
                        let Some(version) =
                            Self::analytics_version(&mut *conn, versions, grain, from, to).await?
                        else {
                            continue;
                        };
                        let key = range_key(&shape, mask, &query, grain, from, to);
                        let rows = match kept.get(&key, version) {
                            Some(rows) => rows,
                            None => {
                                let mut range: Gathered<$crate::SocialSum> = BTreeMap::new();
                                let rows = ::sqlx::query::<$db>(&format!(
                                    "SELECT {dims}, {sums} FROM analytics_social_cells \
                                     WHERE mask = $1 AND grain = $2 AND period >= $3 AND period <= $4{conditions} \
                                     GROUP BY {group_by}"
                                ))
                                .bind(i64::from(mask.0))
                                .bind(grain.as_str())
                                .bind(from)
                                .bind(to)
                                .fetch_all(&mut *conn)
                                .await?;
                                for row in rows {
                                    let (key, period) = place(&row, grain)?;
                                    let mut figures = SocialFigures::default();
                                    for (i, slot) in figures.0.iter_mut().enumerate() {
                                        *slot = row.try_get::<i64, _>(6 + i)?;
                                    }
                                    range.entry((key, period)).or_default().0.add(&figures);
                                }
                                let rows = ::sqlx::query::<$db>(&format!(
                                    "SELECT {dims}, bucket, CAST(SUM(n) AS BIGINT) FROM analytics_social_times \
                                     WHERE mask = $1 AND grain = $2 AND period >= $3 AND period <= $4{conditions} \
                                     GROUP BY {group_by}, bucket"
                                ))
                                .bind(i64::from(mask.0))
                                .bind(grain.as_str())
                                .bind(from)
                                .bind(to)
                                .fetch_all(&mut *conn)
                                .await?;
                                for row in rows {
                                    let (key, period) = place(&row, grain)?;
                                    let bucket = usize::try_from(row.try_get::<i64, _>(6)?).unwrap_or(usize::MAX);
                                    let count = row.try_get::<i64, _>(7)?;
                                    range.entry((key, period)).or_default().1.add_count(Timing::Answer, bucket, count);
                                }
                                let rows = ::std::sync::Arc::new(answer_of::<$crate::SocialSum>(range));
                                kept.put(key, version, rows.clone());
                                rows
                            }
                        };
                        gather(&mut answer, &rows);
                    }
                }
                Ok(answer_of(answer))
            }

            /// The highest version among a range's periods in the read's snapshot (`None`:
            /// nothing was ever written there), asked once per range and read.
            async fn analytics_version(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                versions: &mut $crate::analytics_sql::Versions,
                grain: ::otklik_domain::analytics::Grain,
                from: i64,
                to: i64,
            ) -> $crate::StoreResult<Option<i64>> {
                if let Some(version) = versions.get(&(grain, from, to)) {
                    return Ok(*version);
                }
                let (version,) = ::sqlx::query_as::<$db, (Option<i64>,)>(
                    "SELECT MAX(version) FROM analytics_periods \
                     WHERE grain = $1 AND period >= $2 AND period <= $3",
                )
                .bind(grain.as_str())
                .bind(from)
                .bind(to)
                .fetch_one(&mut *conn)
                .await?;
                versions.insert((grain, from, to), version);
                Ok(version)
            }

            /// Adds a batch's sums to the stored cells: multi-row upserts that add.
            async fn analytics_write(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                batch: &$crate::analytics_sql::Batch,
            ) -> $crate::StoreResult<()> {
                use $crate::analytics_sql::*;
                let columns = measure_columns();
                let key_columns = "mask, grain, period, region_id, org_id, subcategory_id, channel, kind";
                let per_row = 8 + columns.len();
                let anonymous = <$db as ::sqlx::Database>::NAME == "SQLite";
                let cells: Vec<_> = batch.cells.iter().collect();
                for chunk in cells.chunks(200) {
                    let mut sql = format!(
                        "INSERT INTO analytics_cells ({key_columns}, {}) VALUES ",
                        columns.join(", ")
                    );
                    sql.push_str(&values_rows(chunk.len(), per_row, anonymous));
                    sql.push_str(&format!(" ON CONFLICT ({key_columns}) DO UPDATE SET "));
                    sql.push_str(
                        &columns
                            .iter()
                            .map(|c| format!("{c} = analytics_cells.{c} + excluded.{c}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    );
                    let mut statement = ::sqlx::query::<$db>(&sql);
                    for ((mask, grain, period, key), (figures, _)) in chunk {
                        let (region, org, subcategory, channel, kind) = stored_dims(key);
                        statement = statement
                            .bind(i64::from(mask.0))
                            .bind(grain.as_str())
                            .bind(*period)
                            .bind(region)
                            .bind(org)
                            .bind(subcategory)
                            .bind(channel)
                            .bind(kind);
                        for value in figures.0 {
                            statement = statement.bind(value);
                        }
                    }
                    statement.execute(&mut *conn).await?;
                }
                let times: Vec<_> = batch
                    .cells
                    .iter()
                    .flat_map(|(cell, (_, times))| times.iter().map(move |(t, n)| (cell, t, *n)))
                    .collect();
                for chunk in times.chunks(500) {
                    let mut sql = format!(
                        "INSERT INTO analytics_times ({key_columns}, timing, bucket, n) VALUES "
                    );
                    sql.push_str(&values_rows(chunk.len(), 11, anonymous));
                    sql.push_str(&format!(
                        " ON CONFLICT ({key_columns}, timing, bucket) DO UPDATE SET n = analytics_times.n + excluded.n"
                    ));
                    let mut statement = ::sqlx::query::<$db>(&sql);
                    for ((mask, grain, period, key), (timing, bucket), n) in chunk {
                        let (region, org, subcategory, channel, kind) = stored_dims(key);
                        statement = statement
                            .bind(i64::from(mask.0))
                            .bind(grain.as_str())
                            .bind(*period)
                            .bind(region)
                            .bind(org)
                            .bind(subcategory)
                            .bind(channel)
                            .bind(kind)
                            .bind(timing.as_str())
                            .bind(i64::try_from(*bucket).unwrap_or(0))
                            .bind(n);
                    }
                    statement.execute(&mut *conn).await?;
                }
                Self::analytics_write_social(&mut *conn, batch).await?;
                Self::analytics_touch(&mut *conn, batch).await
            }

            /// Gives every period the batch wrote a version greater than any before
            /// (`analytics_cache`): the node's kept sums of those periods are read again.
            async fn analytics_touch(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                batch: &$crate::analytics_sql::Batch,
            ) -> $crate::StoreResult<()> {
                use $crate::analytics_sql::*;
                let periods = batch.periods();
                if periods.is_empty() {
                    return Ok(());
                }
                let (version,) = ::sqlx::query_as::<$db, (i64,)>(
                    "UPDATE analytics_state SET writes = writes + 1 WHERE id = 1 RETURNING writes",
                )
                .fetch_one(&mut *conn)
                .await?;
                let anonymous = <$db as ::sqlx::Database>::NAME == "SQLite";
                for chunk in periods.chunks(300) {
                    let mut sql = "INSERT INTO analytics_periods (grain, period, version) VALUES ".to_owned();
                    sql.push_str(&values_rows(chunk.len(), 3, anonymous));
                    sql.push_str(" ON CONFLICT (grain, period) DO UPDATE SET version = excluded.version");
                    let mut statement = ::sqlx::query::<$db>(&sql);
                    for (grain, period) in chunk {
                        statement = statement.bind(grain.as_str()).bind(*period).bind(version);
                    }
                    statement.execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// Adds a batch's social-media incident sums: multi-row upserts that add.
            async fn analytics_write_social(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                batch: &$crate::analytics_sql::Batch,
            ) -> $crate::StoreResult<()> {
                use $crate::analytics_sql::*;
                let columns = social_columns();
                let key_columns = "mask, grain, period, region_id, org_id, subcategory_id";
                let anonymous = <$db as ::sqlx::Database>::NAME == "SQLite";
                let cells: Vec<_> = batch.social.iter().collect();
                for chunk in cells.chunks(200) {
                    let mut sql = format!(
                        "INSERT INTO analytics_social_cells ({key_columns}, {}) VALUES ",
                        columns.join(", ")
                    );
                    sql.push_str(&values_rows(chunk.len(), 6 + columns.len(), anonymous));
                    sql.push_str(&format!(" ON CONFLICT ({key_columns}) DO UPDATE SET "));
                    sql.push_str(
                        &columns
                            .iter()
                            .map(|c| format!("{c} = analytics_social_cells.{c} + excluded.{c}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    );
                    let mut statement = ::sqlx::query::<$db>(&sql);
                    for ((mask, grain, period, key), (figures, _)) in chunk {
                        statement = statement
                            .bind(i64::from(mask.0))
                            .bind(grain.as_str())
                            .bind(*period)
                            .bind(key.region)
                            .bind(key.org)
                            .bind(key.subcategory);
                        for value in figures.0 {
                            statement = statement.bind(value);
                        }
                    }
                    statement.execute(&mut *conn).await?;
                }
                let times: Vec<_> = batch
                    .social
                    .iter()
                    .flat_map(|(cell, (_, times))| times.iter().map(move |(b, n)| (cell, *b, *n)))
                    .collect();
                for chunk in times.chunks(500) {
                    let mut sql = format!(
                        "INSERT INTO analytics_social_times ({key_columns}, bucket, n) VALUES "
                    );
                    sql.push_str(&values_rows(chunk.len(), 8, anonymous));
                    sql.push_str(&format!(
                        " ON CONFLICT ({key_columns}, bucket) DO UPDATE SET n = analytics_social_times.n + excluded.n"
                    ));
                    let mut statement = ::sqlx::query::<$db>(&sql);
                    for ((mask, grain, period, key), bucket, n) in chunk {
                        statement = statement
                            .bind(i64::from(mask.0))
                            .bind(grain.as_str())
                            .bind(*period)
                            .bind(key.region)
                            .bind(key.org)
                            .bind(key.subcategory)
                            .bind(i64::try_from(*bucket).unwrap_or(0))
                            .bind(n);
                    }
                    statement.execute(&mut *conn).await?;
                }
                Ok(())
            }
        }
    };
}

pub(crate) use impl_analytics;
