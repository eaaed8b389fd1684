//! Analytics, independent of HTTP: whose figures a person reads, the report's parameters
//! (shared by the page, its exports and the API), and the report itself, built from the
//! store's cells (`docs/ANALYTICS.md`).

use otklik_domain::access::{self, Capability};
use otklik_domain::analytics::{
    civil_from_days, day_of, days_from_civil, first_day_of_month, Dim, Figures, Grain, Histograms,
    Measure, SocialFigures, SocialMeasure, Timing,
};
use otklik_domain::lifecycle::{Channel, IncidentKind, RejectionGround, Role, SubmissionKind};
use otklik_domain::suppression;
use otklik_domain::{CategoryId, OrgId, RegionId, ValidationErrors};
use otklik_store::{AnalyticsFilter, CellQuery, CellSum, SocialSum, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::error::AppError;
use crate::export::{Cell, Sheet};
use otklik_charts::Unit;

/// The longest period a report covers (about ten years), so a daily series stays small.
const MAX_DAYS: i64 = 3_700;
/// Up to this many days the series is daily, beyond it monthly.
const DAILY_UP_TO: i64 = 62;
/// The default period: the last 90 days.
const DEFAULT_DAYS: i64 = 90;

/// Whose figures a person reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// An organisation's officials and administrator: its own.
    Organisation(OrgId),
    /// A coordinator: the region's.
    Region(RegionId),
    /// The operator: everything.
    Everything,
    /// The ministry's analyst: everything, in aggregates, small groups suppressed.
    Aggregates,
}

/// The reach of a role; citizens and integration clients have none (403).
pub fn reach_of(role: Role) -> Result<Reach, AppError> {
    access::check_role(role, Capability::ReadAnalytics)?;
    Ok(match role {
        Role::Official(org) | Role::OrgAdmin(org) | Role::Integration(org) => {
            Reach::Organisation(org)
        }
        Role::Coordinator(region) => Reach::Region(region),
        Role::Analyst => Reach::Aggregates,
        Role::Operator | Role::Citizen => Reach::Everything,
    })
}

impl Reach {
    /// How a background export records the reach it was asked with.
    pub fn code(self) -> String {
        match self {
            Reach::Organisation(org) => format!("organisation:{}", org.0),
            Reach::Region(region) => format!("region:{}", region.0),
            Reach::Everything => "everything".to_owned(),
            Reach::Aggregates => "aggregates".to_owned(),
        }
    }
}

/// The parameters as typed (a GET form or the API's query string).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct ReportParams {
    /// `YYYY-MM-DD`, inclusive; empty: 90 days before `to`.
    #[serde(default)]
    pub from: String,
    /// `YYYY-MM-DD`, inclusive; empty: today (Moscow time).
    #[serde(default)]
    pub to: String,
    /// A region's id.
    #[serde(default)]
    pub region: String,
    /// A federal district's name (as in the shipped list of subjects).
    #[serde(default)]
    pub district: String,
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub category: String,
    /// `portal`, `widget`, `api`, `open311`.
    #[serde(default)]
    pub channel: String,
    /// `message` or `appeal`.
    #[serde(default)]
    pub kind: String,
    /// How rankings are ordered: `received` (default), `on_time`, `answer_time`, `rating`.
    #[serde(default)]
    pub sort: String,
}

/// How rankings are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Received,
    OnTime,
    AnswerTime,
    Rating,
}

impl SortBy {
    pub const ALL: [SortBy; 4] = [
        SortBy::Received,
        SortBy::OnTime,
        SortBy::AnswerTime,
        SortBy::Rating,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortBy::Received => "received",
            SortBy::OnTime => "on_time",
            SortBy::AnswerTime => "answer_time",
            SortBy::Rating => "rating",
        }
    }
}

/// The parameters, checked against what the person may read.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRequest {
    pub from_day: i64,
    pub to_day: i64,
    pub region: Option<RegionId>,
    pub district: Option<String>,
    pub org: Option<OrgId>,
    pub category: Option<CategoryId>,
    pub channel: Option<Channel>,
    pub kind: Option<SubmissionKind>,
    pub sort: SortBy,
    pub filter: AnalyticsFilter,
}

/// `YYYY-MM-DD` → a reporting day.
pub fn parse_day(raw: &str) -> Option<i64> {
    let mut parts = raw.trim().splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if !(1900..=2200).contains(&year) || !(1..=12).contains(&month) || day < 1 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    (civil_from_days(days) == (year, month, day)).then_some(days)
}

/// A reporting day as `YYYY-MM-DD`.
pub fn iso_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A reporting day as people read it: `05.12.2026`.
pub fn ru_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{d:02}.{m:02}.{y:04}")
}

/// Checks the parameters; every problem is named at its field (422), and the reach is
/// applied: an organisation reads its own cells, a coordinator its region's.
pub async fn parse_request(
    store: &dyn Store,
    reach: Reach,
    params: &ReportParams,
    now_unix: i64,
) -> Result<ReportRequest, AppError> {
    let mut errors = ValidationErrors::default();
    let today = day_of(now_unix);
    let to_day = match params.to.trim() {
        "" => Some(today),
        raw => parse_day(raw),
    };
    if to_day.is_none() {
        errors.push("to", "invalid_date");
    }
    let from_day = match params.from.trim() {
        "" => to_day.map(|to| to - (DEFAULT_DAYS - 1)),
        raw => parse_day(raw),
    };
    if from_day.is_none() {
        errors.push("from", "invalid_date");
    }
    if let (Some(from), Some(to)) = (from_day, to_day) {
        if from > to {
            errors.push("to", "before_start");
        } else if to - from >= MAX_DAYS {
            errors.push("from", "period_too_long");
        }
    }
    let regions = store.regions().await?;
    let region = match params.region.trim() {
        "" => None,
        raw => match raw
            .parse::<i64>()
            .ok()
            .filter(|id| regions.iter().any(|r| r.id.0 == *id))
        {
            Some(id) => Some(RegionId(id)),
            None => {
                errors.push("region", "unknown_region");
                None
            }
        },
    };
    let district = match params.district.trim() {
        "" => None,
        raw if regions
            .iter()
            .any(|r| r.federal_district.as_deref() == Some(raw)) =>
        {
            Some(raw.to_owned())
        }
        _ => {
            errors.push("district", "unknown_district");
            None
        }
    };
    let org = match params.organisation.trim() {
        "" => None,
        raw => match raw.parse::<i64>().ok() {
            Some(id) if store.organisation(OrgId(id)).await.is_ok() => Some(OrgId(id)),
            _ => {
                errors.push("organisation", "unknown_organisation");
                None
            }
        },
    };
    let catalogue = store.catalogue().await?;
    let category = match params.category.trim() {
        "" => None,
        raw => match raw
            .parse::<i64>()
            .ok()
            .filter(|id| catalogue.iter().any(|c| c.id.0 == *id))
        {
            Some(id) => Some(CategoryId(id)),
            None => {
                errors.push("category", "unknown_category");
                None
            }
        },
    };
    let channel = match params.channel.trim() {
        "" => None,
        raw => Channel::parse(raw)
            .map_err(|code| errors.push("channel", code))
            .ok(),
    };
    let kind = match params.kind.trim() {
        "" => None,
        raw => SubmissionKind::parse(raw)
            .map_err(|code| errors.push("kind", code))
            .ok(),
    };
    let sort = match params.sort.trim() {
        "" => SortBy::default(),
        raw => SortBy::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .unwrap_or_else(|| {
                errors.push("sort", "unknown_value");
                SortBy::default()
            }),
    };
    let (Some(from_day), Some(to_day), true) = (from_day, to_day, errors.is_empty()) else {
        return Err(AppError::validation(errors));
    };
    // The territory: a region, else a district's regions; a coordinator's own region.
    let mut territory: Option<Vec<i64>> = match (&region, &district) {
        (Some(r), _) => Some(vec![r.0]),
        (None, Some(d)) => Some(
            regions
                .iter()
                .filter(|r| r.federal_district.as_deref() == Some(d.as_str()))
                .map(|r| r.id.0)
                .collect(),
        ),
        (None, None) => None,
    };
    let mut org_filter = org.map(|o| o.0);
    match reach {
        Reach::Organisation(own) => org_filter = Some(own.0),
        Reach::Region(own) => {
            territory = Some(match territory {
                Some(ids) => ids.into_iter().filter(|id| *id == own.0).collect(),
                None => vec![own.0],
            });
        }
        Reach::Everything | Reach::Aggregates => {}
    }
    if matches!(reach, Reach::Organisation(own) if org.is_some_and(|o| o != own)) {
        // Another organisation's figures: nothing to show, and nothing told.
        territory = Some(Vec::new());
    }
    let subcategories = category.map(|id| {
        catalogue
            .iter()
            .filter(|c| c.id == id)
            .flat_map(|c| c.subcategories.iter().map(|s| s.id.0))
            .collect()
    });
    Ok(ReportRequest {
        from_day,
        to_day,
        region,
        district,
        org,
        category,
        channel,
        kind,
        sort,
        filter: AnalyticsFilter {
            regions: territory,
            org: org_filter,
            subcategories,
            channel,
            kind,
        },
    })
}

/// The indicators of a group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Indicators {
    pub figures: Figures,
    pub received: i64,
    pub answered: i64,
    pub on_time_share: Option<f64>,
    /// Median and p90, seconds.
    pub take: (Option<i64>, Option<i64>),
    pub route: (Option<i64>, Option<i64>),
    pub answer: (Option<i64>, Option<i64>),
    pub redirected: i64,
    pub rejected: i64,
    pub rated: i64,
    pub mean_rating: Option<f64>,
    pub re_review_share: Option<f64>,
    pub incidents: i64,
    /// Withheld from the analyst: fewer than the minimum group, or the complement that
    /// keeps another withheld group from being worked out from the total.
    pub suppressed: bool,
}

impl Indicators {
    pub fn of(figures: &Figures, times: &Histograms, min_group: Option<i64>) -> Self {
        let received = figures.received();
        if min_group.is_some_and(|min| received < min) {
            return Indicators::withheld();
        }
        let pair = |t: Timing| (times.quantile(t, 0.5), times.quantile(t, 0.9));
        Indicators {
            figures: *figures,
            received,
            answered: figures.get(Measure::Answered),
            on_time_share: figures.on_time_share(),
            take: pair(Timing::Take),
            route: pair(Timing::Route),
            answer: pair(Timing::Answer),
            redirected: figures.get(Measure::Redirected),
            rejected: figures.rejected(),
            rated: figures.rated(),
            mean_rating: figures.mean_rating(),
            re_review_share: figures.re_review_share(),
            incidents: figures.incidents(),
            suppressed: false,
        }
    }

    /// A withheld group: no figures at all.
    pub fn withheld() -> Self {
        Indicators {
            suppressed: true,
            ..Indicators::default()
        }
    }

    /// The groups of one breakdown (they add up to the totals), with those the reach
    /// withholds emptied: for the analyst the small groups and their complements
    /// ([`suppression::withheld`]), for everyone else none.
    pub fn of_groups(groups: &[(&Figures, &Histograms)], min_group: Option<i64>) -> Vec<Self> {
        groups_of(
            groups,
            |(f, _)| f.received(),
            min_group,
            |(f, t)| Indicators::of(f, t, min_group),
            Indicators::withheld,
        )
    }
}

/// One breakdown's groups (sized by `size`) as `shown` makes them, those the reach
/// withholds as `withheld` makes them: for the analyst the small groups and their
/// complements ([`suppression::withheld`]), without a minimum group none.
fn groups_of<G, T>(
    groups: &[G],
    size: impl Fn(&G) -> i64,
    min_group: Option<i64>,
    shown: impl Fn(&G) -> T,
    withheld: impl Fn() -> T,
) -> Vec<T> {
    let sizes: Vec<i64> = groups.iter().map(&size).collect();
    let hidden = min_group.map_or_else(
        || vec![false; sizes.len()],
        |min| suppression::withheld(&sizes, min),
    );
    hidden
        .into_iter()
        .zip(groups)
        .map(|(hidden, group)| if hidden { withheld() } else { shown(group) })
        .collect()
}

/// The indicators of a group of social-media incidents.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SocialIndicators {
    pub figures: SocialFigures,
    pub opened: i64,
    pub answered: i64,
    pub answered_on_time: i64,
    pub answered_late: i64,
    pub on_time_share: Option<f64>,
    pub breached: i64,
    pub dismissed: i64,
    /// From opening to the public answer: median and p90, seconds.
    pub answer: (Option<i64>, Option<i64>),
    /// Withheld from the analyst: fewer incidents opened than the minimum group, or the
    /// complement that keeps another withheld group from being worked out from the total.
    pub suppressed: bool,
}

impl SocialIndicators {
    pub fn of(figures: &SocialFigures, times: &Histograms, min_group: Option<i64>) -> Self {
        let opened = figures.get(SocialMeasure::Opened);
        if min_group.is_some_and(|min| opened < min) {
            return SocialIndicators::withheld();
        }
        SocialIndicators {
            figures: *figures,
            opened,
            answered: figures.get(SocialMeasure::Answered),
            answered_on_time: figures.get(SocialMeasure::AnsweredOnTime),
            answered_late: figures.answered_late(),
            on_time_share: figures.on_time_share(),
            breached: figures.get(SocialMeasure::Breached),
            dismissed: figures.get(SocialMeasure::Dismissed),
            answer: (
                times.quantile(Timing::Answer, 0.5),
                times.quantile(Timing::Answer, 0.9),
            ),
            suppressed: false,
        }
    }

    /// A withheld group: no figures at all.
    pub fn withheld() -> Self {
        SocialIndicators {
            suppressed: true,
            ..SocialIndicators::default()
        }
    }

    /// The groups of one breakdown of incidents, sized by incidents opened, with those the
    /// reach withholds emptied (as [`Indicators::of_groups`]).
    pub fn of_groups(
        groups: &[(&SocialFigures, &Histograms)],
        min_group: Option<i64>,
    ) -> Vec<Self> {
        groups_of(
            groups,
            |(f, _)| f.get(SocialMeasure::Opened),
            min_group,
            |(f, t)| SocialIndicators::of(f, t, min_group),
            SocialIndicators::withheld,
        )
    }
}

/// One row of a social-media breakdown, or one period of its series.
#[derive(Debug, Clone, PartialEq)]
pub struct SocialRow {
    /// The group's id as a filter value, or the period's number.
    pub value: String,
    pub name: String,
    pub indicators: SocialIndicators,
}

/// Social-media incidents: the period, the territory, the organisation and the category
/// apply; channel and kind do not (`docs/ANALYTICS.md`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SocialReport {
    pub totals: SocialIndicators,
    /// One row per period (`value`: the day or month number).
    pub series: Vec<SocialRow>,
    pub by_org: Vec<SocialRow>,
    pub by_region: Vec<SocialRow>,
    pub by_category: Vec<SocialRow>,
}

/// One row of a breakdown or ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The group's id as a filter value (an id, a channel, a kind).
    pub value: String,
    pub name: String,
    pub indicators: Indicators,
}

/// One period of the series.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub period: i64,
    pub label: String,
    pub indicators: Indicators,
}

/// Everything the analytics page, its exports and the API show.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub request: ReportRequest,
    pub reach: Reach,
    pub grain: Grain,
    pub totals: Indicators,
    pub series: Vec<Point>,
    pub by_org: Vec<Row>,
    pub by_region: Vec<Row>,
    pub by_category: Vec<Row>,
    pub by_channel: Vec<Row>,
    pub by_kind: Vec<Row>,
    pub ratings: [i64; 5],
    pub rejections: Vec<(RejectionGround, i64)>,
    pub incidents: Vec<(IncidentKind, i64)>,
    /// Polls and votes open in the period (of the organisation, in the territory) and the
    /// ballots cast in it.
    pub polls: (u64, u64),
    /// Social-media incidents opened, answered publicly (on time, late), breached.
    pub social: SocialReport,
    /// Log entries the figures do not count yet.
    pub lag: u64,
    /// The minimum group shown, when small groups are suppressed.
    pub min_group: Option<i64>,
}

/// Builds the report a request asks for.
pub async fn report(
    store: &dyn Store,
    reach: Reach,
    request: ReportRequest,
    min_group: u32,
) -> Result<Report, AppError> {
    let min = (reach == Reach::Aggregates).then_some(i64::from(min_group.max(1)));
    let grain = if request.to_day - request.from_day < DAILY_UP_TO {
        Grain::Day
    } else {
        Grain::Month
    };
    let read = |group: &[Dim], series: Option<Grain>| CellQuery {
        filter: request.filter.clone(),
        from_day: request.from_day,
        to_day: request.to_day,
        group: group.to_vec(),
        series,
    };
    let read_all = store
        .analytics_read(
            &[
                read(&[], None),
                read(&[], Some(grain)),
                read(&[Dim::Org], None),
                read(&[Dim::Region], None),
                read(&[Dim::Subcategory], None),
                read(&[Dim::Channel], None),
                read(&[Dim::Kind], None),
            ],
            &[
                read(&[], None),
                read(&[], Some(grain)),
                read(&[Dim::Org], None),
                read(&[Dim::Region], None),
                read(&[Dim::Subcategory], None),
            ],
        )
        .await?;
    let position = read_all.position;
    let mut answers = read_all.cells;
    let mut social_answers = read_all.social;
    let mut next_social = || {
        if social_answers.is_empty() {
            Vec::new()
        } else {
            social_answers.remove(0)
        }
    };
    let mut next = || {
        if answers.is_empty() {
            Vec::new()
        } else {
            answers.remove(0)
        }
    };
    let totals_cells = next();
    let (figures, times) = sum(&totals_cells);
    let totals = Indicators::of(&figures, &times, min);
    let periods: Vec<(i64, CellSum)> = next()
        .into_iter()
        .filter_map(|c| Some((c.period?, c)))
        .collect();
    let series = Indicators::of_groups(
        &periods
            .iter()
            .map(|(_, c)| (&c.figures, &c.times))
            .collect::<Vec<_>>(),
        min,
    )
    .into_iter()
    .zip(&periods)
    .map(|(indicators, (period, _))| Point {
        period: *period,
        label: period_label(grain, *period),
        indicators,
    })
    .collect();
    let orgs: BTreeMap<i64, String> = store
        .organisations()
        .await?
        .into_iter()
        .map(|o| (o.id.0, o.name))
        .collect();
    let regions: BTreeMap<i64, String> = store
        .regions()
        .await?
        .into_iter()
        .map(|r| (r.id.0, r.name))
        .collect();
    let catalogue = store.catalogue().await?;
    let category_of: BTreeMap<i64, (i64, String)> = catalogue
        .iter()
        .flat_map(|c| {
            c.subcategories
                .iter()
                .map(move |s| (s.id.0, (c.id.0, c.name.clone())))
        })
        .collect();
    let named = |cells: Vec<CellSum>, name: &dyn Fn(&CellSum) -> Option<(String, String)>| {
        let mut groups: BTreeMap<String, (String, Figures, Histograms)> = BTreeMap::new();
        for cell in &cells {
            let Some((value, label)) = name(cell) else {
                continue;
            };
            let entry = groups
                .entry(value)
                .or_insert_with(|| (label, Figures::default(), Histograms::default()));
            entry.1.add(&cell.figures);
            entry.2.add(&cell.times);
        }
        let indicators = Indicators::of_groups(
            &groups.values().map(|(_, f, t)| (f, t)).collect::<Vec<_>>(),
            min,
        );
        let mut rows: Vec<Row> = groups
            .into_iter()
            .zip(indicators)
            .map(|((value, (name, _, _)), indicators)| Row {
                value,
                name,
                indicators,
            })
            .collect();
        // Withheld rows go last, so the order does not tell the complements apart.
        sort_rows(&mut rows, request.sort);
        rows
    };
    let by_org = named(next(), &|c| {
        let name = orgs
            .get(&c.key.org)
            .cloned()
            .unwrap_or_else(|| format!("№ {}", c.key.org));
        Some((c.key.org.to_string(), name))
    });
    let by_region = named(next(), &|c| {
        let name = regions.get(&c.key.region).cloned().unwrap_or_default();
        Some((c.key.region.to_string(), name))
    });
    let by_category = named(next(), &|c| {
        let (id, name) = category_of.get(&c.key.subcategory)?;
        Some((id.to_string(), name.clone()))
    });
    let by_channel = named(next(), &|c| {
        let channel = c.key.channel?.channel();
        Some((
            channel.as_str().to_owned(),
            channel_label(channel).to_owned(),
        ))
    });
    let by_kind = named(next(), &|c| {
        let kind = c.key.kind?.kind();
        Some((kind.as_str().to_owned(), kind_label(kind).to_owned()))
    });
    let shown = !totals.suppressed;
    let ratings = std::array::from_fn(|i| {
        if shown {
            figures.get(Measure::Rated(i as u8 + 1))
        } else {
            0
        }
    });
    let rejections = RejectionGround::ALL
        .iter()
        .map(|g| {
            (
                *g,
                if shown {
                    figures.get(Measure::Rejected(*g))
                } else {
                    0
                },
            )
        })
        .collect();
    let incidents = IncidentKind::OF_SUBMISSIONS
        .iter()
        .map(|k| {
            (
                *k,
                if shown {
                    figures.get(Measure::Incident(*k))
                } else {
                    0
                },
            )
        })
        .collect();
    let social_named = |cells: Vec<SocialSum>, name: &dyn Fn(&SocialSum) -> (String, String)| {
        let mut groups: BTreeMap<String, (String, SocialFigures, Histograms)> = BTreeMap::new();
        for cell in &cells {
            let (value, label) = name(cell);
            let entry = groups
                .entry(value)
                .or_insert_with(|| (label, SocialFigures::default(), Histograms::default()));
            entry.1.add(&cell.figures);
            entry.2.add(&cell.times);
        }
        let indicators = SocialIndicators::of_groups(
            &groups.values().map(|(_, f, t)| (f, t)).collect::<Vec<_>>(),
            min,
        );
        let mut rows: Vec<SocialRow> = groups
            .into_iter()
            .zip(indicators)
            .map(|((value, (name, _, _)), indicators)| SocialRow {
                value,
                name,
                indicators,
            })
            .collect();
        sort_social_rows(&mut rows, request.sort);
        rows
    };
    let social = {
        let (mut figures, mut times) = (SocialFigures::default(), Histograms::default());
        for cell in next_social() {
            figures.add(&cell.figures);
            times.add(&cell.times);
        }
        let periods: Vec<(i64, SocialSum)> = next_social()
            .into_iter()
            .filter_map(|c| Some((c.period?, c)))
            .collect();
        let series = SocialIndicators::of_groups(
            &periods
                .iter()
                .map(|(_, c)| (&c.figures, &c.times))
                .collect::<Vec<_>>(),
            min,
        )
        .into_iter()
        .zip(&periods)
        .map(|(indicators, (period, _))| SocialRow {
            value: period.to_string(),
            name: period_label(grain, *period),
            indicators,
        })
        .collect();
        let by_org = social_named(next_social(), &|c| {
            let name = match c.key.org {
                0 => "Не назначена".to_owned(),
                id => orgs.get(&id).cloned().unwrap_or_else(|| format!("№ {id}")),
            };
            (c.key.org.to_string(), name)
        });
        let by_region = social_named(next_social(), &|c| {
            let name = match c.key.region {
                0 => "Регион не определён".to_owned(),
                id => regions.get(&id).cloned().unwrap_or_default(),
            };
            (c.key.region.to_string(), name)
        });
        let by_category = social_named(next_social(), &|c| {
            category_of.get(&c.key.subcategory).map_or_else(
                || ("0".to_owned(), "Без категории".to_owned()),
                |(id, name)| (id.to_string(), name.clone()),
            )
        });
        SocialReport {
            totals: SocialIndicators::of(&figures, &times, min),
            series,
            by_org,
            by_region,
            by_category,
        }
    };
    let polls = store
        .analytics_polls(
            request.filter.org,
            request.filter.regions.as_deref(),
            request.from_day,
            request.to_day,
        )
        .await?;
    Ok(Report {
        polls,
        request,
        reach,
        grain,
        totals,
        series,
        by_org,
        by_region,
        by_category,
        by_channel,
        by_kind,
        ratings,
        rejections,
        incidents,
        social,
        lag: position.log_size.saturating_sub(position.cursor),
        min_group: min,
    })
}

fn sum(cells: &[CellSum]) -> (Figures, Histograms) {
    let mut figures = Figures::default();
    let mut times = Histograms::default();
    for cell in cells {
        figures.add(&cell.figures);
        times.add(&cell.times);
    }
    (figures, times)
}

/// Suppressed rows last; otherwise by the chosen indicator (more first; for the time to
/// answer, less first), ties by name.
fn sort_rows(rows: &mut [Row], sort: SortBy) {
    let score = |row: &Row| -> f64 {
        let i = &row.indicators;
        match sort {
            SortBy::Received => i.received as f64,
            SortBy::OnTime => i.on_time_share.unwrap_or(-1.0),
            SortBy::AnswerTime => i.answer.0.map_or(f64::NEG_INFINITY, |s| -(s as f64)),
            SortBy::Rating => i.mean_rating.unwrap_or(-1.0),
        }
    };
    rows.sort_by(|a, b| {
        a.indicators
            .suppressed
            .cmp(&b.indicators.suppressed)
            .then(score(b).total_cmp(&score(a)))
            .then(a.name.cmp(&b.name))
    });
}

/// Social rows as rankings are ordered: suppressed last; by incidents opened (for
/// `received` and `rating`, which do not apply), the on-time share, or the median time to
/// the public answer (less first); ties by name.
fn sort_social_rows(rows: &mut [SocialRow], sort: SortBy) {
    let score = |row: &SocialRow| -> f64 {
        let i = &row.indicators;
        match sort {
            SortBy::Received | SortBy::Rating => i.opened as f64,
            SortBy::OnTime => i.on_time_share.unwrap_or(-1.0),
            SortBy::AnswerTime => i.answer.0.map_or(f64::NEG_INFINITY, |s| -(s as f64)),
        }
    };
    rows.sort_by(|a, b| {
        a.indicators
            .suppressed
            .cmp(&b.indicators.suppressed)
            .then(score(b).total_cmp(&score(a)))
            .then(a.name.cmp(&b.name))
    });
}

/// A period as people read it: `05.12` for a day, `12.2026` for a month.
pub fn period_label(grain: Grain, period: i64) -> String {
    match grain {
        Grain::Day => {
            let (_, m, d) = civil_from_days(period);
            format!("{d:02}.{m:02}")
        }
        Grain::Month => {
            let (y, m, _) = civil_from_days(first_day_of_month(period));
            format!("{m:02}.{y}")
        }
    }
}

pub fn channel_label(channel: Channel) -> &'static str {
    crate::messages::channel(channel)
}

pub fn kind_label(kind: SubmissionKind) -> &'static str {
    match kind {
        SubmissionKind::Message => "Сообщения",
        SubmissionKind::Appeal => "Обращения (59-ФЗ)",
    }
}

/// A duration as people read it: hours under two days, days beyond.
pub fn duration_label(seconds: Option<i64>) -> String {
    match seconds {
        None => "—".to_owned(),
        Some(s) if s < 2 * 86_400 => {
            otklik_charts::format_value(s as f64 / 3_600.0, otklik_charts::Unit::Hours)
        }
        Some(s) => otklik_charts::format_value(s as f64 / 86_400.0, otklik_charts::Unit::Days),
    }
}

/// A share as people read it: `87,5 %`.
pub fn share_label(share: Option<f64>) -> String {
    share.map_or_else(
        || "—".to_owned(),
        |s| otklik_charts::format_value(s * 100.0, otklik_charts::Unit::Percent),
    )
}

// --- tables ----------------------------------------------------------------------------

/// One of the report's tables, as the page draws it and the exports write it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableView {
    /// The `table=` value of its exports.
    pub id: &'static str,
    pub title: String,
    pub sheet: Sheet,
    /// How each column's numbers read (`None`: text).
    pub units: Vec<Option<Unit>>,
    /// The chart beside it (accessible SVG), when one helps.
    pub chart: Option<String>,
}

const INDICATOR_COLUMNS: [(&str, Unit); 12] = [
    ("Поступило", Unit::Count),
    ("Дан ответ", Unit::Count),
    ("Ответов в срок, %", Unit::Percent),
    ("Медиана до ответа, дн.", Unit::Days),
    ("90 % ответов за, дн.", Unit::Days),
    ("Медиана до принятия в работу, ч", Unit::Hours),
    ("Переадресовано", Unit::Count),
    ("Отказано", Unit::Count),
    ("Оценено ответов", Unit::Count),
    ("Средняя оценка", Unit::Score),
    ("Возвращено на повторное рассмотрение, %", Unit::Percent),
    ("Инциденты", Unit::Count),
];

fn days(seconds: Option<i64>) -> Option<f64> {
    seconds.map(|s| (s as f64 / 86_400.0 * 10.0).round() / 10.0)
}

fn hours(seconds: Option<i64>) -> Option<f64> {
    seconds.map(|s| (s as f64 / 3_600.0 * 10.0).round() / 10.0)
}

fn percent(share: Option<f64>) -> Option<f64> {
    share.map(|s| (s * 1_000.0).round() / 10.0)
}

/// What a withheld row says. The same for a small group and for its complement, so a
/// reader cannot tell which is which (the page's note explains both).
pub const WITHHELD: &str = "скрыто";

fn indicator_cells(i: &Indicators) -> Vec<Cell> {
    if i.suppressed {
        let mut cells = vec![Cell::text(WITHHELD)];
        cells.resize(INDICATOR_COLUMNS.len(), Cell::Empty);
        return cells;
    }
    vec![
        Cell::count(i.received),
        Cell::count(i.answered),
        Cell::maybe(percent(i.on_time_share)),
        Cell::maybe(days(i.answer.0)),
        Cell::maybe(days(i.answer.1)),
        Cell::maybe(hours(i.take.0)),
        Cell::count(i.redirected),
        Cell::count(i.rejected),
        Cell::count(i.rated),
        Cell::maybe(i.mean_rating.map(|r| (r * 10.0).round() / 10.0)),
        Cell::maybe(percent(i.re_review_share)),
        Cell::count(i.incidents),
    ]
}

const SOCIAL_COLUMNS: [(&str, Unit); 9] = [
    ("Выявлено", Unit::Count),
    ("Дан публичный ответ", Unit::Count),
    ("Ответ в срок", Unit::Count),
    ("Ответ с опозданием", Unit::Count),
    ("Ответов в срок, %", Unit::Percent),
    ("Нарушен срок ответа", Unit::Count),
    ("Отклонено", Unit::Count),
    ("Медиана до ответа, ч", Unit::Hours),
    ("90 % ответов за, ч", Unit::Hours),
];

fn social_cells(i: &SocialIndicators) -> Vec<Cell> {
    if i.suppressed {
        let mut cells = vec![Cell::text(WITHHELD)];
        cells.resize(SOCIAL_COLUMNS.len(), Cell::Empty);
        return cells;
    }
    vec![
        Cell::count(i.opened),
        Cell::count(i.answered),
        Cell::count(i.answered_on_time),
        Cell::count(i.answered_late),
        Cell::maybe(percent(i.on_time_share)),
        Cell::count(i.breached),
        Cell::count(i.dismissed),
        Cell::maybe(hours(i.answer.0)),
        Cell::maybe(hours(i.answer.1)),
    ]
}

/// A table of social-media incidents: by period (with a line chart) or by group.
fn social_table(
    id: &'static str,
    title: &str,
    first: &str,
    rows: &[SocialRow],
    report: &Report,
) -> TableView {
    let mut header = vec![first.to_owned()];
    header.extend(SOCIAL_COLUMNS.iter().map(|(h, _)| (*h).to_owned()));
    let mut units = vec![None];
    units.extend(SOCIAL_COLUMNS.iter().map(|(_, u)| Some(*u)));
    TableView {
        id,
        title: title.to_owned(),
        sheet: Sheet {
            title: format!("{title}, {}", period_text(&report.request)),
            header,
            rows: rows
                .iter()
                .map(|row| {
                    let mut cells = vec![Cell::text(&row.name)];
                    cells.extend(social_cells(&row.indicators));
                    cells
                })
                .collect(),
        },
        units,
        chart: None,
    }
}

/// The social-media incidents' tables: the series with its chart, then the breakdowns the
/// reach shows.
fn social_tables(report: &Report) -> Vec<TableView> {
    let social = &report.social;
    let mut series = social_table(
        "social",
        "Инциденты в социальных сетях",
        match report.grain {
            Grain::Day => "День",
            Grain::Month => "Месяц",
        },
        &social.series,
        report,
    );
    let values = |f: &dyn Fn(&SocialIndicators) -> i64| -> Vec<Option<f64>> {
        social
            .series
            .iter()
            .map(|p| (!p.indicators.suppressed).then(|| f(&p.indicators) as f64))
            .collect()
    };
    series.chart = Some(otklik_charts::time_series(&otklik_charts::TimeSeries {
        id: "chart-social".to_owned(),
        title: "Инциденты в социальных сетях: выявлено и дан публичный ответ".to_owned(),
        description: format!(
            "Линейный график: сколько инцидентов в социальных сетях выявлено и на сколько дан публичный ответ (из них в срок), {} {}; те же числа — в таблице ниже.",
            match report.grain {
                Grain::Day => "по дням",
                Grain::Month => "по месяцам",
            },
            period_text(&report.request)
        ),
        labels: social.series.iter().map(|p| p.name.clone()).collect(),
        series: vec![
            otklik_charts::Series {
                name: "Выявлено".to_owned(),
                values: values(&|i| i.opened),
            },
            otklik_charts::Series {
                name: "Дан публичный ответ".to_owned(),
                values: values(&|i| i.answered),
            },
            otklik_charts::Series {
                name: "Ответ в срок".to_owned(),
                values: values(&|i| i.answered_on_time),
            },
        ],
        unit: Unit::Count,
    }));
    let mut tables = vec![series];
    if !matches!(report.reach, Reach::Organisation(_)) {
        tables.push(social_table(
            "social_organisations",
            "Инциденты в социальных сетях по организациям",
            "Организация",
            &social.by_org,
            report,
        ));
    }
    if matches!(report.reach, Reach::Everything | Reach::Aggregates) {
        tables.push(social_table(
            "social_regions",
            "Инциденты в социальных сетях по регионам",
            "Регион",
            &social.by_region,
            report,
        ));
    }
    tables.push(social_table(
        "social_categories",
        "Инциденты в социальных сетях по категориям",
        "Категория",
        &social.by_category,
        report,
    ));
    tables
}

/// The value a ranking's chart draws for a row.
fn ranked_value(i: &Indicators, sort: SortBy) -> Option<f64> {
    if i.suppressed {
        return None;
    }
    match sort {
        SortBy::Received => Some(i.received as f64),
        SortBy::OnTime => percent(i.on_time_share),
        SortBy::AnswerTime => days(i.answer.0),
        SortBy::Rating => i.mean_rating,
    }
}

fn sort_unit(sort: SortBy) -> (&'static str, Unit) {
    match sort {
        SortBy::Received => ("поступило", Unit::Count),
        SortBy::OnTime => ("доля ответов в срок", Unit::Percent),
        SortBy::AnswerTime => ("медиана времени до ответа", Unit::Days),
        SortBy::Rating => ("средняя оценка", Unit::Score),
    }
}

fn ranking(
    id: &'static str,
    title: &str,
    first: &str,
    rows: &[Row],
    report: &Report,
    chart: bool,
) -> TableView {
    let mut header = vec![first.to_owned()];
    header.extend(INDICATOR_COLUMNS.iter().map(|(h, _)| (*h).to_owned()));
    let mut units = vec![None];
    units.extend(INDICATOR_COLUMNS.iter().map(|(_, u)| Some(*u)));
    let sheet = Sheet {
        title: format!("{title}, {}", period_text(&report.request)),
        header,
        rows: rows
            .iter()
            .map(|row| {
                let mut cells = vec![Cell::text(&row.name)];
                cells.extend(indicator_cells(&row.indicators));
                cells
            })
            .collect(),
    };
    let chart = (chart && !rows.is_empty()).then(|| {
        let (what, unit) = sort_unit(report.request.sort);
        let shown: Vec<&Row> = rows.iter().take(20).collect();
        otklik_charts::bars(&otklik_charts::Bars {
            id: format!("chart-{id}"),
            title: format!("{title}: {what}"),
            description: format!(
                "{} {} из {}, по убыванию показателя «{what}»; те же числа — в таблице ниже.",
                if shown.len() < rows.len() {
                    "Первые"
                } else {
                    "Все"
                },
                shown.len(),
                rows.len()
            ),
            bars: shown
                .iter()
                .map(|row| otklik_charts::Bar {
                    label: row.name.clone(),
                    value: ranked_value(&row.indicators, report.request.sort),
                })
                .collect(),
            unit,
        })
    });
    TableView {
        id,
        title: title.to_owned(),
        sheet,
        units,
        chart,
    }
}

fn counts_table(
    id: &'static str,
    title: &str,
    first: &str,
    rows: Vec<(String, i64)>,
    report: &Report,
) -> TableView {
    let chart = otklik_charts::bars(&otklik_charts::Bars {
        id: format!("chart-{id}"),
        title: title.to_owned(),
        description: format!("{title}; те же числа — в таблице ниже."),
        bars: rows
            .iter()
            .map(|(label, n)| otklik_charts::Bar {
                label: label.clone(),
                value: (!report.totals.suppressed).then_some(*n as f64),
            })
            .collect(),
        unit: Unit::Count,
    });
    TableView {
        id,
        title: title.to_owned(),
        sheet: Sheet {
            title: format!("{title}, {}", period_text(&report.request)),
            header: vec![first.to_owned(), "Количество".to_owned()],
            rows: rows
                .into_iter()
                .map(|(label, n)| {
                    let count = if report.totals.suppressed {
                        Cell::Empty
                    } else {
                        Cell::count(n)
                    };
                    vec![Cell::text(label), count]
                })
                .collect(),
        },
        units: vec![None, Some(Unit::Count)],
        chart: Some(chart),
    }
}

/// «с 01.09.2026 по 30.11.2026».
pub fn period_text(request: &ReportRequest) -> String {
    format!(
        "с {} по {}",
        ru_day(request.from_day),
        ru_day(request.to_day)
    )
}

/// Every table of the report, in the page's order.
pub fn tables(report: &Report) -> Vec<TableView> {
    let mut tables = Vec::new();
    let grain_name = match report.grain {
        Grain::Day => "День",
        Grain::Month => "Месяц",
    };
    let series_rows: Vec<Row> = report
        .series
        .iter()
        .map(|p| Row {
            value: p.period.to_string(),
            name: p.label.clone(),
            indicators: p.indicators.clone(),
        })
        .collect();
    let mut series = ranking(
        "series",
        "Динамика",
        grain_name,
        &series_rows,
        report,
        false,
    );
    series.chart = Some(otklik_charts::time_series(&otklik_charts::TimeSeries {
        id: "chart-series".to_owned(),
        title: "Поступило и дан ответ по периодам".to_owned(),
        description: format!(
            "Линейный график: сколько сообщений и обращений поступило и на сколько дан ответ, {} {}; те же числа — в таблице ниже.",
            match report.grain {
                Grain::Day => "по дням",
                Grain::Month => "по месяцам",
            },
            period_text(&report.request)
        ),
        labels: report.series.iter().map(|p| p.label.clone()).collect(),
        series: vec![
            otklik_charts::Series {
                name: "Поступило".to_owned(),
                values: report
                    .series
                    .iter()
                    .map(|p| (!p.indicators.suppressed).then_some(p.indicators.received as f64))
                    .collect(),
            },
            otklik_charts::Series {
                name: "Дан ответ".to_owned(),
                values: report
                    .series
                    .iter()
                    .map(|p| (!p.indicators.suppressed).then_some(p.indicators.answered as f64))
                    .collect(),
            },
        ],
        unit: Unit::Count,
    }));
    tables.push(series);
    if !matches!(report.reach, Reach::Organisation(_)) {
        tables.push(ranking(
            "organisations",
            "Рейтинг организаций",
            "Организация",
            &report.by_org,
            report,
            true,
        ));
    }
    if matches!(report.reach, Reach::Everything | Reach::Aggregates) {
        tables.push(ranking(
            "regions",
            "Рейтинг регионов",
            "Регион",
            &report.by_region,
            report,
            true,
        ));
    }
    tables.push(ranking(
        "categories",
        "По категориям",
        "Категория",
        &report.by_category,
        report,
        true,
    ));
    tables.push(ranking(
        "channels",
        "По каналам поступления",
        "Канал",
        &report.by_channel,
        report,
        false,
    ));
    tables.push(ranking(
        "kinds",
        "По видам",
        "Вид",
        &report.by_kind,
        report,
        false,
    ));
    tables.push(counts_table(
        "ratings",
        "Оценки ответов",
        "Оценка",
        (1..=5)
            .map(|s: usize| (format!("{s} из 5"), report.ratings[s - 1]))
            .collect(),
        report,
    ));
    tables.push(counts_table(
        "rejections",
        "Отказы по основаниям",
        "Основание",
        report
            .rejections
            .iter()
            .map(|(g, n)| (crate::messages::ground(*g).to_owned(), *n))
            .collect(),
        report,
    ));
    tables.push(counts_table(
        "incidents",
        "Инциденты по видам",
        "Вид инцидента",
        report
            .incidents
            .iter()
            .map(|(k, n)| (crate::messages::incident(*k).to_owned(), *n))
            .collect(),
        report,
    ));
    tables.extend(social_tables(report));
    tables
}

/// The ids and titles of the tables a reach is shown, in the page's order: what
/// [`tables`] gives for any report of that reach (a test holds them together), known
/// without building the report, so a background export's table is checked when asked.
pub fn table_titles(reach: Reach) -> Vec<(&'static str, &'static str)> {
    let all_ranks = matches!(reach, Reach::Everything | Reach::Aggregates);
    let orgs = !matches!(reach, Reach::Organisation(_));
    let mut titles = vec![("series", "Динамика")];
    if orgs {
        titles.push(("organisations", "Рейтинг организаций"));
    }
    if all_ranks {
        titles.push(("regions", "Рейтинг регионов"));
    }
    titles.extend([
        ("categories", "По категориям"),
        ("channels", "По каналам поступления"),
        ("kinds", "По видам"),
        ("ratings", "Оценки ответов"),
        ("rejections", "Отказы по основаниям"),
        ("incidents", "Инциденты по видам"),
        ("social", "Инциденты в социальных сетях"),
    ]);
    if orgs {
        titles.push((
            "social_organisations",
            "Инциденты в социальных сетях по организациям",
        ));
    }
    if all_ranks {
        titles.push(("social_regions", "Инциденты в социальных сетях по регионам"));
    }
    titles.push((
        "social_categories",
        "Инциденты в социальных сетях по категориям",
    ));
    titles
}

/// The `table` value of a background export of the whole report.
pub const WHOLE_REPORT: &str = "all";

/// A background export of the report (an export job of kind `analytics`): what was asked
/// for, checked when asked, with the period made explicit (a job run after midnight
/// covers the days the page showed) and the reach and small-group minimum of the page
/// it was asked from. Stored as the job's parameters (JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReportJob {
    /// A table's id, or [`WHOLE_REPORT`].
    pub table: String,
    pub params: ReportParams,
    /// [`Reach::code`] of the person when they asked.
    pub reach: String,
    /// `[analytics] min_group` when they asked (applied to the analyst only).
    pub min_group: u32,
}

/// The export job's kind for the report's tables.
pub const JOB_KIND: &str = "analytics";

/// Checks a request for a background export of `table` (or the whole report) in `format`
/// with the report's parameters: every problem at its field (422), the same checks as the
/// page's, nothing stored. The job records the checked parameters with the period made
/// explicit.
pub async fn check_job(
    store: &dyn Store,
    reach: Reach,
    table: &str,
    format: &str,
    params: &ReportParams,
    min_group: u32,
    now_unix: i64,
) -> Result<ReportJob, AppError> {
    let mut errors = ValidationErrors::default();
    let table = table.trim();
    if table != WHOLE_REPORT && !table_titles(reach).iter().any(|(id, _)| *id == table) {
        errors.push("table", "unknown_value");
    }
    if !matches!(format, "csv" | "xlsx") {
        errors.push("format", "unknown_value");
    }
    let request = match parse_request(store, reach, params, now_unix).await {
        Ok(request) => Some(request),
        Err(e) if e.status == axum::http::StatusCode::UNPROCESSABLE_ENTITY => {
            errors.0.extend(e.fields);
            None
        }
        Err(e) => return Err(e),
    };
    let (Some(request), true) = (request, errors.is_empty()) else {
        return Err(AppError::validation(errors));
    };
    let trimmed = |v: &str| v.trim().to_owned();
    Ok(ReportJob {
        table: table.to_owned(),
        params: ReportParams {
            from: iso_day(request.from_day),
            to: iso_day(request.to_day),
            region: trimmed(&params.region),
            district: trimmed(&params.district),
            organisation: trimmed(&params.organisation),
            category: trimmed(&params.category),
            channel: trimmed(&params.channel),
            kind: trimmed(&params.kind),
            sort: trimmed(&params.sort),
        },
        reach: reach.code(),
        min_group: min_group.max(1),
    })
}

impl ReportJob {
    /// What the job exports, as its pages name it: «Аналитика: Рейтинг организаций, с
    /// 01.09.2026 по 30.11.2026».
    pub fn describe(&self) -> String {
        let what = if self.table == WHOLE_REPORT {
            "весь отчёт"
        } else {
            table_titles(Reach::Everything)
                .into_iter()
                .find(|(id, _)| *id == self.table)
                .map_or("таблица", |(_, title)| title)
        };
        match (parse_day(&self.params.from), parse_day(&self.params.to)) {
            (Some(from), Some(to)) => {
                format!("Аналитика: {what}, с {} по {}", ru_day(from), ru_day(to))
            }
            _ => format!("Аналитика: {what}"),
        }
    }

    /// The tables the job writes, computed now as the page would compute them for its
    /// owner, whose role is `role` now: the reach must be the one it was asked with (a
    /// person who lost it, or moved, gets `export_reach_changed` and no file), and the
    /// analyst's small groups are withheld with the larger of the minimum then and now.
    pub async fn tables(
        &self,
        store: &dyn Store,
        role: Role,
        min_group_now: u32,
        now_unix: i64,
    ) -> Result<Vec<TableView>, AppError> {
        let reach = reach_of(role)?;
        if reach.code() != self.reach {
            return Err(AppError::new(
                axum::http::StatusCode::FORBIDDEN,
                "export_reach_changed",
            ));
        }
        let request = parse_request(store, reach, &self.params, now_unix).await?;
        let min_group = self.min_group.max(min_group_now);
        let report = report(store, reach, request, min_group).await?;
        let tables: Vec<TableView> = tables(&report)
            .into_iter()
            .filter(|t| self.table == WHOLE_REPORT || t.id == self.table)
            .collect();
        if tables.is_empty() {
            return Err(AppError::field("table", "unknown_value"));
        }
        Ok(tables)
    }
}

/// A cell as the page shows it.
pub fn cell_text(cell: &Cell, unit: Option<Unit>) -> String {
    match (cell, unit) {
        (Cell::Text(text), _) => text.clone(),
        (Cell::Number(n), Some(unit)) => otklik_charts::format_value(*n, unit),
        (Cell::Number(n), None) => otklik_charts::format_value(*n, Unit::Count),
        (Cell::Empty, _) => "—".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_report(reach: Reach) -> Report {
        Report {
            request: ReportRequest {
                from_day: days_from_civil(2026, 9, 1),
                to_day: days_from_civil(2026, 11, 30),
                region: None,
                district: None,
                org: None,
                category: None,
                channel: None,
                kind: None,
                sort: SortBy::default(),
                filter: AnalyticsFilter::default(),
            },
            reach,
            grain: Grain::Month,
            totals: Indicators::default(),
            series: Vec::new(),
            by_org: Vec::new(),
            by_region: Vec::new(),
            by_category: Vec::new(),
            by_channel: Vec::new(),
            by_kind: Vec::new(),
            ratings: [0; 5],
            rejections: Vec::new(),
            incidents: Vec::new(),
            polls: (0, 0),
            social: SocialReport::default(),
            lag: 0,
            min_group: None,
        }
    }

    #[test]
    fn the_tables_a_job_may_ask_for_are_the_pages() {
        for reach in [
            Reach::Organisation(OrgId(3)),
            Reach::Region(RegionId(7)),
            Reach::Everything,
            Reach::Aggregates,
        ] {
            let drawn: Vec<(&str, String)> = tables(&empty_report(reach))
                .into_iter()
                .map(|t| (t.id, t.title))
                .collect();
            let listed: Vec<(&str, String)> = table_titles(reach)
                .into_iter()
                .map(|(id, title)| (id, title.to_owned()))
                .collect();
            assert_eq!(listed, drawn, "{reach:?}");
        }
        let job = ReportJob {
            table: "organisations".to_owned(),
            params: ReportParams {
                from: "2026-09-01".to_owned(),
                to: "2026-11-30".to_owned(),
                ..ReportParams::default()
            },
            reach: Reach::Aggregates.code(),
            min_group: 5,
        };
        assert_eq!(
            job.describe(),
            "Аналитика: Рейтинг организаций, с 01.09.2026 по 30.11.2026"
        );
        let stored = serde_json::to_string(&job).unwrap_or_default();
        assert_eq!(serde_json::from_str::<ReportJob>(&stored).ok(), Some(job));
        assert_eq!(Reach::Region(RegionId(7)).code(), "region:7");
    }

    #[test]
    fn days_parse_only_when_real() {
        assert_eq!(
            parse_day("2026-12-05").map(iso_day).as_deref(),
            Some("2026-12-05")
        );
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "12.05.2026",
            "",
            "2026-1-1x",
            "99999-01-01",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
        assert_eq!(ru_day(days_from_civil(2026, 12, 5)), "05.12.2026");
    }

    #[test]
    fn small_groups_are_withheld_for_aggregates() {
        let mut f = Figures::default();
        for _ in 0..4 {
            f.bump(Measure::Registered);
        }
        let h = Histograms::default();
        assert!(Indicators::of(&f, &h, Some(5)).suppressed);
        assert_eq!(Indicators::of(&f, &h, Some(5)).received, 0);
        assert_eq!(Indicators::of(&f, &h, None).received, 4);
        let mut social = SocialFigures::default();
        for _ in 0..4 {
            social.bump(SocialMeasure::Opened);
        }
        assert!(SocialIndicators::of(&social, &h, Some(5)).suppressed);
        assert_eq!(SocialIndicators::of(&social, &h, Some(5)).opened, 0);
        assert_eq!(SocialIndicators::of(&social, &h, None).opened, 4);
    }

    fn figures(received: usize, measure: Measure) -> Figures {
        let mut f = Figures::default();
        for _ in 0..received {
            f.bump(measure);
        }
        f
    }

    #[test]
    fn a_lone_small_group_takes_the_smallest_other_with_it_for_aggregates_only() {
        let h = Histograms::default();
        // 20 and 1 registered, 7 redirected in: the 1 alone would be the total minus 27.
        let breakdown = [
            figures(20, Measure::Registered),
            figures(1, Measure::Registered),
            figures(7, Measure::RedirectedIn),
        ];
        let groups: Vec<(&Figures, &Histograms)> = breakdown.iter().map(|f| (f, &h)).collect();
        let rows = Indicators::of_groups(&groups, Some(5));
        let withheld: Vec<bool> = rows.iter().map(|i| i.suppressed).collect();
        assert_eq!(withheld, [false, true, true]);
        assert_eq!(
            rows[2],
            Indicators::withheld(),
            "no figure of the complement is left"
        );
        assert_eq!(rows[0].received, 20);
        assert!(Indicators::of_groups(&groups, None)
            .iter()
            .all(|i| !i.suppressed));
        let mut social = [SocialFigures::default(), SocialFigures::default()];
        for _ in 0..9 {
            social[0].bump(SocialMeasure::Opened);
        }
        social[1].bump(SocialMeasure::Opened);
        let groups: Vec<(&SocialFigures, &Histograms)> = social.iter().map(|f| (f, &h)).collect();
        assert!(SocialIndicators::of_groups(&groups, Some(5))
            .iter()
            .all(|i| i.suppressed));
    }
}
