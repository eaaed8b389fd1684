//! Analytics: what each event adds to the figures, and the indicators read from them.
//!
//! The figures are kept as additive counters in *cells*: a period (a day or a month, in
//! Moscow time) × a projection of the dimensions (region, organisation, subcategory,
//! channel, kind). [`Replay`] walks one submission's events in order and says what each
//! adds; the store's follower applies that to the cells as the log grows, and a rebuild
//! applies the very same function to every event from the start, so the two agree by
//! construction (and a test checks that they do). Times (to take into work, to redirect,
//! to answer) are kept as counts per logarithmic bucket, so medians and p90 add up across
//! cells like the counters do.

use crate::lifecycle::{Channel, EventKind, IncidentKind, RejectionGround, Score, SubmissionKind};

/// Seconds east of UTC of the day boundaries (Moscow time, the federal reporting day).
pub const REPORTING_OFFSET_SECONDS: i64 = 3 * 3600;

// --- measures ------------------------------------------------------------------------------

/// An additive counter. `column()` names it in storage; the order is the storage order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    Registered,
    RedirectedIn,
    TakenIntoWork,
    IntermediateAnswers,
    Answered,
    AnsweredOnTime,
    Redirected,
    Recategorised,
    Rejected(RejectionGround),
    Rated(u8),
    SentBack,
    AnswerReturned,
    ClarificationRequested,
    Extended,
    Incident(IncidentKind),
}

/// How many measures there are (the length of [`Figures`]).
pub const MEASURES: usize = 29;

const SIMPLE: [(Measure, &str); 12] = [
    (Measure::Registered, "registered"),
    (Measure::RedirectedIn, "redirected_in"),
    (Measure::TakenIntoWork, "taken_into_work"),
    (Measure::IntermediateAnswers, "intermediate_answers"),
    (Measure::Answered, "answered"),
    (Measure::AnsweredOnTime, "answered_on_time"),
    (Measure::Redirected, "redirected"),
    (Measure::Recategorised, "recategorised"),
    (Measure::SentBack, "sent_back"),
    (Measure::AnswerReturned, "answer_returned"),
    (Measure::ClarificationRequested, "clarification_requested"),
    (Measure::Extended, "extended"),
];

impl Measure {
    /// Every measure, in storage order.
    pub fn all() -> Vec<Measure> {
        let mut all: Vec<Measure> = SIMPLE.iter().map(|(m, _)| *m).collect();
        all.extend(RejectionGround::ALL.iter().map(|g| Measure::Rejected(*g)));
        all.extend((1..=5).map(Measure::Rated));
        all.extend(
            IncidentKind::OF_SUBMISSIONS
                .iter()
                .map(|k| Measure::Incident(*k)),
        );
        all
    }

    /// The position in [`Figures`].
    pub fn index(self) -> usize {
        match self {
            Measure::Registered => 0,
            Measure::RedirectedIn => 1,
            Measure::TakenIntoWork => 2,
            Measure::IntermediateAnswers => 3,
            Measure::Answered => 4,
            Measure::AnsweredOnTime => 5,
            Measure::Redirected => 6,
            Measure::Recategorised => 7,
            Measure::SentBack => 8,
            Measure::AnswerReturned => 9,
            Measure::ClarificationRequested => 10,
            Measure::Extended => 11,
            Measure::Rejected(g) => 12 + position(RejectionGround::ALL, g),
            Measure::Rated(score) => 17 + usize::from(score.clamp(1, 5)) - 1,
            Measure::Incident(k) => 22 + position(IncidentKind::OF_SUBMISSIONS, k),
        }
    }

    /// The storage column (a fixed identifier, never user input).
    pub fn column(self) -> String {
        match self {
            Measure::Rejected(g) => format!("rejected_{}", g.as_str()),
            Measure::Rated(score) => format!("rated_{}", score.clamp(1, 5)),
            Measure::Incident(k) => format!("incident_{}", k.as_str()),
            simple => SIMPLE
                .iter()
                .find(|(m, _)| *m == simple)
                .map_or_else(String::new, |(_, name)| (*name).to_owned()),
        }
    }
}

fn position<T: PartialEq>(all: &[T], value: T) -> usize {
    all.iter().position(|v| *v == value).unwrap_or(0)
}

/// The counters of one cell (or of a sum of cells), indexed by [`Measure::index`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures(pub [i64; MEASURES]);

impl Default for Figures {
    fn default() -> Self {
        Figures([0; MEASURES])
    }
}

impl Figures {
    pub fn get(&self, measure: Measure) -> i64 {
        self.0[measure.index()]
    }

    pub fn bump(&mut self, measure: Measure) {
        self.0[measure.index()] += 1;
    }

    pub fn add(&mut self, other: &Figures) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0.iter()) {
            *mine += theirs;
        }
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|v| *v == 0)
    }

    /// Submissions that reached the organisation: new ones and those moved to it.
    pub fn received(&self) -> i64 {
        self.get(Measure::Registered) + self.get(Measure::RedirectedIn)
    }

    pub fn rejected(&self) -> i64 {
        RejectionGround::ALL
            .iter()
            .map(|g| self.get(Measure::Rejected(*g)))
            .sum()
    }

    pub fn rated(&self) -> i64 {
        (1..=5).map(|s| self.get(Measure::Rated(s))).sum()
    }

    pub fn incidents(&self) -> i64 {
        IncidentKind::OF_SUBMISSIONS
            .iter()
            .map(|k| self.get(Measure::Incident(*k)))
            .sum()
    }

    /// The share of answers given by their deadline, when any were given.
    pub fn on_time_share(&self) -> Option<f64> {
        ratio(
            self.get(Measure::AnsweredOnTime),
            self.get(Measure::Answered),
        )
    }

    /// The mean rating, when any answer was rated.
    pub fn mean_rating(&self) -> Option<f64> {
        let weighted: i64 = (1..=5)
            .map(|s| i64::from(s) * self.get(Measure::Rated(s)))
            .sum();
        ratio(weighted, self.rated())
    }

    /// Answers sent back for re-review per rated answer.
    pub fn re_review_share(&self) -> Option<f64> {
        ratio(self.get(Measure::SentBack), self.rated())
    }
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

// --- times ---------------------------------------------------------------------------------

/// A time the platform measures per submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timing {
    /// From the start of the term to being taken into work.
    Take,
    /// From the start of the term to a redirect to another organisation.
    Route,
    /// From the start of the term to the final answer.
    Answer,
}

impl Timing {
    pub const ALL: [Timing; 3] = [Timing::Take, Timing::Route, Timing::Answer];

    pub fn as_str(self) -> &'static str {
        match self {
            Timing::Take => "take",
            Timing::Route => "route",
            Timing::Answer => "answer",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        Timing::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or("unknown_value")
    }
}

/// Buckets of durations: bucket `b` holds `[LOWER[b], LOWER[b + 1])` seconds, growing by
/// 2^(1/4) (about 19 %) from one minute, so a quantile read as a bucket's midpoint is
/// within ~9 % of the true value. The last bucket is open (beyond ~1.6 years).
pub const BUCKETS: usize = 80;

/// The lower bound of each bucket in seconds: `60 · (2^(b/4) − 1)`, rounded, fixed here
/// as integers so every machine buckets alike.
pub fn bucket_lower(bucket: usize) -> i64 {
    if bucket == 0 {
        return 0;
    }
    let b = bucket.min(BUCKETS - 1) as i32;
    (60.0 * (2f64.powf(f64::from(b) / 4.0) - 1.0)).round() as i64
}

/// The bucket of a duration (negative durations, from clock skew, count as zero).
pub fn bucket_of(seconds: i64) -> usize {
    let seconds = seconds.max(0);
    // The bounds grow monotonically: the last bucket whose lower bound is ≤ seconds.
    let (mut low, mut high) = (0usize, BUCKETS - 1);
    while low < high {
        let mid = (low + high).div_ceil(2);
        if bucket_lower(mid) <= seconds {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    low
}

/// Counts per bucket for each [`Timing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histograms(pub [[i64; BUCKETS]; 3]);

impl Default for Histograms {
    fn default() -> Self {
        Histograms([[0; BUCKETS]; 3])
    }
}

impl Histograms {
    pub fn add_count(&mut self, timing: Timing, bucket: usize, count: i64) {
        if let Some(slot) = self.0[timing_index(timing)].get_mut(bucket) {
            *slot += count;
        }
    }

    pub fn add(&mut self, other: &Histograms) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0.iter()) {
            for (m, t) in mine.iter_mut().zip(theirs.iter()) {
                *m += t;
            }
        }
    }

    pub fn count(&self, timing: Timing) -> i64 {
        self.0[timing_index(timing)].iter().sum()
    }

    /// The `q`-quantile (0 < q ≤ 1) in seconds, as the midpoint of the bucket it falls in;
    /// `None` without data.
    pub fn quantile(&self, timing: Timing, q: f64) -> Option<i64> {
        let counts = &self.0[timing_index(timing)];
        let total: i64 = counts.iter().sum();
        if total <= 0 || !q.is_finite() {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as i64).max(1);
        let mut seen = 0;
        for (bucket, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let low = bucket_lower(bucket);
                let high = if bucket + 1 < BUCKETS {
                    bucket_lower(bucket + 1)
                } else {
                    low
                };
                return Some((low + high) / 2);
            }
        }
        None
    }
}

fn timing_index(timing: Timing) -> usize {
    match timing {
        Timing::Take => 0,
        Timing::Route => 1,
        Timing::Answer => 2,
    }
}

// --- cells ---------------------------------------------------------------------------------

/// A dimension figures are broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    Region,
    Org,
    Subcategory,
    Channel,
    Kind,
}

impl Dim {
    fn bit(self) -> u8 {
        match self {
            Dim::Region => 1,
            Dim::Org => 2,
            Dim::Subcategory => 4,
            Dim::Channel => 8,
            Dim::Kind => 16,
        }
    }
}

/// A set of dimensions a cell keeps (the others are summed over).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mask(pub u8);

impl Mask {
    pub const NONE: Mask = Mask(0);
    pub const ALL: Mask = Mask(31);

    pub fn of(dims: &[Dim]) -> Mask {
        Mask(dims.iter().fold(0, |m, d| m | d.bit()))
    }

    pub fn has(self, dim: Dim) -> bool {
        self.0 & dim.bit() != 0
    }

    pub fn covers(self, other: Mask) -> bool {
        self.0 & other.0 == other.0
    }
}

/// The projections kept in storage, smallest first: a query reads the first one that
/// keeps every dimension it filters or groups by, so a country-wide dashboard reads a
/// few hundred rows, not one per organisation, subcategory and channel.
pub const MATERIALISED: [Mask; 6] = [
    Mask(0),          // totals
    Mask(1 | 2),      // region, organisation
    Mask(4 | 8 | 16), // subcategory, channel, kind
    Mask(1 | 8 | 16), // region, channel, kind
    Mask(1 | 2 | 4),  // region, organisation, subcategory
    Mask::ALL,        // everything
];

/// The smallest materialised projection that keeps `needed`.
pub fn projection_for(needed: Mask) -> Mask {
    MATERIALISED
        .into_iter()
        .find(|m| m.covers(needed))
        .unwrap_or(Mask::ALL)
}

/// Where a count lands: the full set of dimensions of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    pub region: i64,
    pub org: i64,
    pub subcategory: i64,
    /// `None` in a projection that drops it.
    pub channel: Option<ChannelKey>,
    pub kind: Option<KindKey>,
}

/// [`Channel`] as an ordered key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelKey(pub u8);

/// [`SubmissionKind`] as an ordered key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KindKey(pub u8);

impl ChannelKey {
    pub fn of(channel: Channel) -> Self {
        ChannelKey(position(Channel::ALL, channel) as u8)
    }
    pub fn channel(self) -> Channel {
        Channel::ALL
            .get(usize::from(self.0))
            .copied()
            .unwrap_or_default()
    }
}

impl KindKey {
    pub fn of(kind: SubmissionKind) -> Self {
        KindKey(position(SubmissionKind::ALL, kind) as u8)
    }
    pub fn kind(self) -> SubmissionKind {
        SubmissionKind::ALL
            .get(usize::from(self.0))
            .copied()
            .unwrap_or(SubmissionKind::Message)
    }
}

impl CellKey {
    /// The key with the dimensions outside `mask` dropped (ids 0, enums `None`).
    pub fn project(self, mask: Mask) -> CellKey {
        CellKey {
            region: if mask.has(Dim::Region) {
                self.region
            } else {
                0
            },
            org: if mask.has(Dim::Org) { self.org } else { 0 },
            subcategory: if mask.has(Dim::Subcategory) {
                self.subcategory
            } else {
                0
            },
            channel: self.channel.filter(|_| mask.has(Dim::Channel)),
            kind: self.kind.filter(|_| mask.has(Dim::Kind)),
        }
    }
}

/// A reporting period's grain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    Day,
    Month,
}

impl Grain {
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Day => "d",
            Grain::Month => "m",
        }
    }
}

/// The reporting day (days since 1970-01-01, Moscow time) of a unix instant.
pub fn day_of(at: i64) -> i64 {
    (at + REPORTING_OFFSET_SECONDS).div_euclid(86_400)
}

/// The month number (`year · 12 + month − 1`) of a reporting day.
pub fn month_of_day(day: i64) -> i64 {
    let (year, month, _) = civil_from_days(day);
    year * 12 + month - 1
}

/// The first reporting day of a month number.
pub fn first_day_of_month(month: i64) -> i64 {
    days_from_civil(month.div_euclid(12), month.rem_euclid(12) + 1, 1)
}

/// (year, month 1–12, day 1–31) of days since 1970-01-01 (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// What one event or incident adds: counts and timed buckets under one key at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub key: CellKey,
    pub at: i64,
    pub measures: Vec<Measure>,
    pub timings: Vec<(Timing, usize)>,
}

// --- replay --------------------------------------------------------------------------------

/// What never changes about a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmissionFacts {
    pub region: i64,
    pub channel: Channel,
    pub kind: SubmissionKind,
}

/// What analytics reads of a stored event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFacts {
    pub kind: EventKind,
    pub at: i64,
    pub from_org: Option<i64>,
    pub to_org: i64,
    /// The subcategory in force after the event, when the event records one (a
    /// registration, a recategorisation).
    pub subcategory: Option<i64>,
    pub ground: Option<RejectionGround>,
    pub score: Option<Score>,
    /// The deadline after the event.
    pub deadline_at: i64,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    org: i64,
    subcategory: i64,
    term_started: i64,
    deadline: i64,
    taken: bool,
}

/// One submission's events in order → what each adds to the figures.
#[derive(Debug, Clone)]
pub struct Replay {
    submission: SubmissionFacts,
    /// The subcategory to assume when the registration does not record one (events
    /// written before it did).
    fallback_subcategory: i64,
    held: Option<Held>,
}

impl Replay {
    pub fn new(submission: SubmissionFacts, fallback_subcategory: i64) -> Self {
        Replay {
            submission,
            fallback_subcategory,
            held: None,
        }
    }

    /// The subcategory in force now (after the events stepped so far).
    pub fn subcategory(&self) -> i64 {
        self.held
            .map_or(self.fallback_subcategory, |held| held.subcategory)
    }

    fn key(&self, org: i64, subcategory: i64) -> CellKey {
        CellKey {
            region: self.submission.region,
            org,
            subcategory,
            channel: Some(ChannelKey::of(self.submission.channel)),
            kind: Some(KindKey::of(self.submission.kind)),
        }
    }

    /// The next event: what it adds (usually one delta; a move adds one for each side).
    pub fn step(&mut self, event: &EventFacts) -> Vec<Delta> {
        let Some(mut held) = self.held else {
            // Whatever the first event is, the submission starts with it.
            let subcategory = event.subcategory.unwrap_or(self.fallback_subcategory);
            self.held = Some(Held {
                org: event.to_org,
                subcategory,
                term_started: event.at,
                deadline: event.deadline_at,
                taken: false,
            });
            return vec![self.delta(event.to_org, subcategory, event.at, Measure::Registered)];
        };
        let before = held;
        let mut deltas = Vec::with_capacity(2);
        let mut main = self.delta(
            before.org,
            before.subcategory,
            event.at,
            Measure::Registered,
        );
        main.measures.clear();
        let elapsed = event.at - before.term_started;
        match event.kind {
            EventKind::Registered => main.measures.push(Measure::Registered),
            EventKind::TakenIntoWork => {
                main.measures.push(Measure::TakenIntoWork);
                if !before.taken {
                    main.timings.push((Timing::Take, bucket_of(elapsed)));
                }
                held.taken = true;
            }
            EventKind::IntermediateAnswer => main.measures.push(Measure::IntermediateAnswers),
            EventKind::Answered => {
                main.measures.push(Measure::Answered);
                if event.at <= before.deadline {
                    main.measures.push(Measure::AnsweredOnTime);
                }
                main.timings.push((Timing::Answer, bucket_of(elapsed)));
            }
            EventKind::Redirected => {
                main.measures.push(Measure::Redirected);
                main.timings.push((Timing::Route, bucket_of(elapsed)));
            }
            EventKind::Recategorised => {
                main.measures.push(Measure::Recategorised);
                held.subcategory = event.subcategory.unwrap_or(before.subcategory);
            }
            EventKind::Rejected => main.measures.push(Measure::Rejected(
                event.ground.unwrap_or(RejectionGround::RepeatedQuestion),
            )),
            EventKind::Rated => {
                if let Some(score) = event.score {
                    main.measures.push(Measure::Rated(score.value()));
                }
            }
            EventKind::SentBack => main.measures.push(Measure::SentBack),
            EventKind::ClarificationRequested => {
                main.measures.push(Measure::ClarificationRequested)
            }
            // A merge changes neither status nor term: nothing to count.
            EventKind::Clarified
            | EventKind::Merged
            | EventKind::MergedIn
            | EventKind::Unmerged => {}
            EventKind::Extended => main.measures.push(Measure::Extended),
            EventKind::AnswerReturned => main.measures.push(Measure::AnswerReturned),
        }
        if matches!(
            event.kind,
            EventKind::Redirected | EventKind::SentBack | EventKind::Recategorised
        ) {
            held.term_started = event.at;
            held.taken = false;
        }
        held.org = event.to_org;
        held.deadline = event.deadline_at;
        if !main.measures.is_empty() || !main.timings.is_empty() {
            deltas.push(main);
        }
        if event.to_org != before.org && event.kind != EventKind::Registered {
            deltas.push(self.delta(
                event.to_org,
                held.subcategory,
                event.at,
                Measure::RedirectedIn,
            ));
        }
        self.held = Some(held);
        deltas
    }

    fn delta(&self, org: i64, subcategory: i64, at: i64, measure: Measure) -> Delta {
        Delta {
            key: self.key(org, subcategory),
            at,
            measures: vec![measure],
            timings: Vec::new(),
        }
    }
}

/// What a procedure incident adds (under the organisation and region it was raised for).
pub fn incident_delta(
    kind: IncidentKind,
    submission: SubmissionFacts,
    org: i64,
    region: i64,
    subcategory: i64,
    at: i64,
) -> Delta {
    Delta {
        key: CellKey {
            region,
            org,
            subcategory,
            channel: Some(ChannelKey::of(submission.channel)),
            kind: Some(KindKey::of(submission.kind)),
        },
        at,
        measures: vec![Measure::Incident(kind)],
        timings: Vec::new(),
    }
}

/// The cells a delta changes: every materialised projection, by day and by month.
pub fn cells_of(delta: &Delta) -> impl Iterator<Item = (Mask, Grain, i64, CellKey)> + '_ {
    let day = day_of(delta.at);
    let month = month_of_day(day);
    MATERIALISED.into_iter().flat_map(move |mask| {
        let key = delta.key.project(mask);
        [
            (mask, Grain::Day, day, key),
            (mask, Grain::Month, month, key),
        ]
    })
}

// --- social-media incidents ----------------------------------------------------------------

/// A counter of social-media incidents (`docs/SOCIAL.md`). Channel and kind do not apply
/// to them (their channel is social media by nature), so they are kept in cells of their
/// own, keyed by region, organisation and subcategory only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocialMeasure {
    /// An incident was opened (by an ingest, or split off another).
    Opened,
    /// It was answered publicly.
    Answered,
    /// … by the deadline in force then.
    AnsweredOnTime,
    /// Its deadline passed while it was open (the monitor's breach).
    Breached,
    /// It was dismissed (not relevant, spam, no problem).
    Dismissed,
}

/// How many social measures there are (the length of [`SocialFigures`]).
pub const SOCIAL_MEASURES: usize = 5;

impl SocialMeasure {
    /// Every measure, in storage order.
    pub const ALL: [SocialMeasure; SOCIAL_MEASURES] = [
        SocialMeasure::Opened,
        SocialMeasure::Answered,
        SocialMeasure::AnsweredOnTime,
        SocialMeasure::Breached,
        SocialMeasure::Dismissed,
    ];

    /// The position in [`SocialFigures`].
    pub fn index(self) -> usize {
        position(&SocialMeasure::ALL, self)
    }

    /// The storage column (a fixed identifier, never user input).
    pub fn column(self) -> &'static str {
        match self {
            SocialMeasure::Opened => "opened",
            SocialMeasure::Answered => "answered",
            SocialMeasure::AnsweredOnTime => "answered_on_time",
            SocialMeasure::Breached => "breached",
            SocialMeasure::Dismissed => "dismissed",
        }
    }
}

/// The counters of social-media incidents in one cell (or a sum of cells).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SocialFigures(pub [i64; SOCIAL_MEASURES]);

impl SocialFigures {
    pub fn get(&self, measure: SocialMeasure) -> i64 {
        self.0[measure.index()]
    }

    pub fn bump(&mut self, measure: SocialMeasure) {
        self.0[measure.index()] += 1;
    }

    pub fn add(&mut self, other: &SocialFigures) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0.iter()) {
            *mine += theirs;
        }
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|v| *v == 0)
    }

    /// Public answers given after the deadline in force then.
    pub fn answered_late(&self) -> i64 {
        self.get(SocialMeasure::Answered) - self.get(SocialMeasure::AnsweredOnTime)
    }

    /// The share of public answers given by their deadline, when any were given.
    pub fn on_time_share(&self) -> Option<f64> {
        ratio(
            self.get(SocialMeasure::AnsweredOnTime),
            self.get(SocialMeasure::Answered),
        )
    }
}

/// The projections of social cells kept in storage, smallest first: the submissions'
/// [`MATERIALISED`] without channel and kind.
pub const SOCIAL_MATERIALISED: [Mask; 5] = [
    Mask(0),         // totals
    Mask(1 | 2),     // region, organisation
    Mask(4),         // subcategory
    Mask(1),         // region
    Mask(1 | 2 | 4), // region, organisation, subcategory
];

/// The dimensions social cells keep (channel and kind never apply).
pub const SOCIAL_DIMS: Mask = Mask(1 | 2 | 4);

/// The smallest materialised social projection that keeps `needed` (channel and kind
/// dropped).
pub fn social_projection_for(needed: Mask) -> Mask {
    let needed = Mask(needed.0 & SOCIAL_DIMS.0);
    SOCIAL_MATERIALISED
        .into_iter()
        .find(|m| m.covers(needed))
        .unwrap_or(SOCIAL_DIMS)
}

/// Where a social incident is counted: its region, its organisation and its subcategory
/// at the time (each unknown when nobody could place, route or classify it: 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SocialRoute {
    pub region: Option<i64>,
    pub org: Option<i64>,
    pub subcategory: Option<i64>,
}

impl SocialRoute {
    fn key(self) -> CellKey {
        CellKey {
            region: self.region.unwrap_or(0),
            org: self.org.unwrap_or(0),
            subcategory: self.subcategory.unwrap_or(0),
            channel: None,
            kind: None,
        }
    }
}

/// What one logged change of a social incident adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialDelta {
    /// Channel and kind are always `None`.
    pub key: CellKey,
    pub at: i64,
    pub measures: Vec<SocialMeasure>,
    /// The bucket of the time from opening to the public answer.
    pub answer_bucket: Option<usize>,
}

impl SocialDelta {
    fn one(route: SocialRoute, at: i64, measure: SocialMeasure) -> Self {
        SocialDelta {
            key: route.key(),
            at,
            measures: vec![measure],
            answer_bucket: None,
        }
    }

    /// An incident opened at `at` under `route`.
    pub fn opened(route: SocialRoute, at: i64) -> Self {
        SocialDelta::one(route, at, SocialMeasure::Opened)
    }

    /// The public answer at `at` of an incident opened at `opened_at`, due at `due_at`
    /// (on time when given by it, as submissions' answers are).
    pub fn answered(route: SocialRoute, opened_at: i64, due_at: i64, at: i64) -> Self {
        let mut delta = SocialDelta::one(route, at, SocialMeasure::Answered);
        if at <= due_at {
            delta.measures.push(SocialMeasure::AnsweredOnTime);
        }
        delta.answer_bucket = Some(bucket_of(at - opened_at));
        delta
    }

    /// The monitor found the incident open past its deadline at `at`.
    pub fn breached(route: SocialRoute, at: i64) -> Self {
        SocialDelta::one(route, at, SocialMeasure::Breached)
    }

    /// The incident was dismissed at `at`.
    pub fn dismissed(route: SocialRoute, at: i64) -> Self {
        SocialDelta::one(route, at, SocialMeasure::Dismissed)
    }
}

/// The social cells a delta changes: every materialised social projection, by day and by
/// month.
pub fn social_cells_of(
    delta: &SocialDelta,
) -> impl Iterator<Item = (Mask, Grain, i64, CellKey)> + '_ {
    let day = day_of(delta.at);
    let month = month_of_day(day);
    SOCIAL_MATERIALISED.into_iter().flat_map(move |mask| {
        let key = delta.key.project(mask);
        [
            (mask, Grain::Day, day, key),
            (mask, Grain::Month, month, key),
        ]
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn measures_have_distinct_indices_and_columns() {
        let all = Measure::all();
        assert_eq!(all.len(), MEASURES);
        let mut indices: Vec<usize> = all.iter().map(|m| m.index()).collect();
        indices.sort_unstable();
        assert_eq!(indices, (0..MEASURES).collect::<Vec<_>>());
        let mut columns: Vec<String> = all.iter().map(|m| m.column()).collect();
        columns.sort();
        columns.dedup();
        assert_eq!(columns.len(), MEASURES);
        assert!(columns.iter().all(|c| !c.is_empty()
            && c.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch == '_' || ch.is_ascii_digit())));
    }

    #[test]
    fn calendar_round_trips_and_knows_moscow_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2026, 12, 5), 20_792);
        // 2026-01-31 22:00 UTC is already 1 February in Moscow.
        let at = days_from_civil(2026, 1, 31) * 86_400 + 22 * 3600;
        assert_eq!(civil_from_days(day_of(at)), (2026, 2, 1));
        assert_eq!(month_of_day(day_of(at)), 2026 * 12 + 1);
        assert_eq!(
            first_day_of_month(2026 * 12 + 1),
            days_from_civil(2026, 2, 1)
        );
    }

    fn facts() -> SubmissionFacts {
        SubmissionFacts {
            region: 7,
            channel: Channel::Widget,
            kind: SubmissionKind::Appeal,
        }
    }

    fn event(kind: EventKind, at: i64, from: i64, to: i64) -> EventFacts {
        EventFacts {
            kind,
            at,
            from_org: Some(from),
            to_org: to,
            subcategory: None,
            ground: None,
            score: None,
            deadline_at: 1_000_000,
        }
    }

    #[test]
    fn a_redirect_charges_both_organisations_and_restarts_the_clock() {
        let mut replay = Replay::new(facts(), 3);
        let first = replay.step(&EventFacts {
            subcategory: Some(4),
            from_org: None,
            ..event(EventKind::Registered, 100, 0, 10)
        });
        assert_eq!(first[0].key.org, 10);
        assert_eq!(first[0].key.subcategory, 4);
        let moved = replay.step(&event(EventKind::Redirected, 3_700, 10, 11));
        assert_eq!(moved.len(), 2);
        assert_eq!(moved[0].key.org, 10);
        assert_eq!(moved[0].measures, vec![Measure::Redirected]);
        assert_eq!(moved[0].timings, vec![(Timing::Route, bucket_of(3_600))]);
        assert_eq!(
            (moved[1].key.org, moved[1].measures.clone()),
            (11, vec![Measure::RedirectedIn])
        );
        let taken = replay.step(&event(EventKind::TakenIntoWork, 3_760, 11, 11));
        assert_eq!(taken[0].timings, vec![(Timing::Take, bucket_of(60))]);
        let answered = replay.step(&event(EventKind::Answered, 2_000_000, 11, 11));
        assert_eq!(
            answered[0].measures,
            vec![Measure::Answered],
            "late: not on time"
        );
    }

    #[test]
    fn quantiles_fall_in_their_bucket() {
        let mut h = Histograms::default();
        for seconds in [60, 3_600, 86_400, 86_400 * 3, 86_400 * 10] {
            h.add_count(Timing::Answer, bucket_of(seconds), 1);
        }
        let median = h.quantile(Timing::Answer, 0.5).unwrap();
        assert!(
            (86_400 * 9 / 10..=86_400 * 11 / 10).contains(&median),
            "{median}"
        );
        assert_eq!(h.quantile(Timing::Take, 0.5), None);
    }

    #[test]
    fn social_answers_are_on_time_by_their_deadline_and_timed_from_opening() {
        let route = SocialRoute {
            region: Some(7),
            org: None,
            subcategory: Some(3),
        };
        let opened = 1_000_000;
        let on_time = SocialDelta::answered(route, opened, opened + 86_400, opened + 86_400);
        assert_eq!(
            on_time.measures,
            vec![SocialMeasure::Answered, SocialMeasure::AnsweredOnTime]
        );
        assert_eq!(on_time.answer_bucket, Some(bucket_of(86_400)));
        assert_eq!((on_time.key.org, on_time.key.region), (0, 7));
        assert_eq!((on_time.key.channel, on_time.key.kind), (None, None));
        let late = SocialDelta::answered(route, opened, opened + 86_400, opened + 86_401);
        assert_eq!(late.measures, vec![SocialMeasure::Answered]);
        let mut f = SocialFigures::default();
        for m in on_time.measures.iter().chain(&late.measures) {
            f.bump(*m);
        }
        assert_eq!((f.answered_late(), f.on_time_share()), (1, Some(0.5)));
    }

    #[test]
    fn social_projections_keep_what_a_query_needs() {
        let columns: std::collections::BTreeSet<_> =
            SocialMeasure::ALL.iter().map(|m| m.column()).collect();
        assert_eq!(columns.len(), SOCIAL_MEASURES);
        assert_eq!(social_projection_for(Mask::NONE), Mask(0));
        assert_eq!(social_projection_for(Mask::of(&[Dim::Org])), Mask(3));
        assert_eq!(
            social_projection_for(Mask::of(&[Dim::Subcategory, Dim::Channel])),
            Mask(4)
        );
        assert_eq!(
            social_projection_for(Mask::of(&[Dim::Org, Dim::Subcategory])),
            Mask(7)
        );
        let delta = SocialDelta::opened(SocialRoute::default(), 0);
        assert_eq!(
            social_cells_of(&delta).count(),
            2 * SOCIAL_MATERIALISED.len()
        );
    }

    proptest! {
        #[test]
        fn every_duration_lands_in_the_bucket_that_bounds_it(seconds in 0i64..400_000_000) {
            let b = bucket_of(seconds);
            prop_assert!(bucket_lower(b) <= seconds);
            if b + 1 < BUCKETS {
                prop_assert!(seconds < bucket_lower(b + 1));
            }
        }

        #[test]
        fn a_quantile_is_within_a_tenth_of_the_true_value(
            samples in proptest::collection::vec(600i64..40_000_000, 1..200),
            q in 0.05f64..1.0,
        ) {
            let mut h = Histograms::default();
            for s in &samples {
                h.add_count(Timing::Answer, bucket_of(*s), 1);
            }
            let mut sorted = samples.clone();
            sorted.sort_unstable();
            let rank = ((q * sorted.len() as f64).ceil() as usize).max(1) - 1;
            let truth = sorted[rank] as f64;
            let estimate = h.quantile(Timing::Answer, q).unwrap() as f64;
            prop_assert!((estimate - truth).abs() <= truth * 0.1 + 1.0, "{estimate} vs {truth}");
        }

        #[test]
        fn any_order_of_civil_days_round_trips(days in -100_000i64..200_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
            let month = month_of_day(days);
            prop_assert!(first_day_of_month(month) <= days);
            prop_assert!(days - first_day_of_month(month) < 31);
        }

        #[test]
        fn a_replay_counts_each_submission_once_wherever_it_moves(
            moves in proptest::collection::vec((0u8..6, 1i64..5, 0i64..100_000), 0..30),
        ) {
            let mut replay = Replay::new(facts(), 1);
            let mut totals = Figures::default();
            let mut org = 1;
            let mut at = 0;
            let mut all = replay.step(&EventFacts {
                from_org: None,
                ..event(EventKind::Registered, at, 0, org)
            });
            for (kind, to, later) in moves {
                at += later;
                let kind = [
                    EventKind::Redirected, EventKind::TakenIntoWork, EventKind::Answered,
                    EventKind::SentBack, EventKind::Recategorised, EventKind::Clarified,
                ][usize::from(kind)];
                if kind == EventKind::Redirected && to == org {
                    continue; // the domain refuses a redirect to the same organisation
                }
                let to = if kind == EventKind::Redirected { to } else { org };
                all.extend(replay.step(&event(kind, at, org, to)));
                org = to;
            }
            for delta in &all {
                let mut f = Figures::default();
                for m in &delta.measures {
                    f.bump(*m);
                }
                totals.add(&f);
            }
            prop_assert_eq!(totals.get(Measure::Registered), 1);
            // Every move away is a move in somewhere else.
            prop_assert_eq!(totals.get(Measure::RedirectedIn), totals.get(Measure::Redirected));
            prop_assert!(totals.get(Measure::AnsweredOnTime) <= totals.get(Measure::Answered));
        }
    }
}
