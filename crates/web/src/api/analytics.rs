//! The analytics API: the same report as `/analytics`, with the same parameters, scope
//! and suppression (`crate::analytics`). Aggregates only: no personal data, no links to
//! submissions.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use otklik_domain::analytics::{first_day_of_month, Grain, Measure};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{ApiError, ApiQuery, Problem};
use crate::analytics::{
    self, iso_day, parse_request, reach_of, Indicators, ReportParams, Row, SocialIndicators,
    SocialRow,
};
use crate::auth::ApiUser;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/analytics", get(report))
        .route("/quality-feed", get(quality_feed))
        .route("/quality-feed/push", get(quality_feed_push))
}

#[derive(OpenApi)]
#[openapi(
    paths(report, quality_feed, quality_feed_push),
    components(schemas(
        ReportView,
        IndicatorsView,
        RowView,
        PointView,
        CountView,
        PollsView,
        SocialView,
        SocialIndicatorsView,
        SocialRowView,
        crate::quality::FeedPage,
        crate::quality::PushStatus,
        crate::quality::OpinionRecord,
        crate::quality::RegionRef,
        crate::quality::OrganisationRef,
        crate::quality::ServiceRef,
        crate::quality::CriteriaRecord
    )),
    tags((name = "analytics", description = "Figures for any period and filters: volume, \
        timeliness, times to take, redirect and answer, redirects, rejections, ratings and \
        re-reviews, incidents; rankings of organisations and regions; social-media \
        incidents opened, answered publicly (on time or late), breached, and the time to \
        the public answer. An organisation's \
        staff read its own figures, a coordinator the region's, the operator and the \
        ministry's analyst everything (the analyst with small groups withheld). The \
        service-quality feed: opinions on the federal scale (5 points, 5 criteria) for the \
        quality-monitoring system, read with a cursor."))
)]
pub struct Doc;

/// The report's parameters (all optional).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsParams {
    /// First day, `YYYY-MM-DD` (Moscow time); default: 89 days before `to`.
    #[param(min_length = 1)]
    pub from: Option<String>,
    /// Last day, inclusive; default: today.
    #[param(min_length = 1)]
    pub to: Option<String>,
    /// A region's id.
    pub region: Option<i64>,
    /// A federal district's code (`CFD`, `NWFD`, `SFD`, `NCFD`, `VFD`, `UFD`, `SibFD`, `FEFD`).
    #[param(min_length = 1)]
    pub district: Option<String>,
    /// An organisation's id.
    pub organisation: Option<i64>,
    /// A category's id.
    pub category: Option<i64>,
    /// `portal`, `widget`, `api` or `open311`.
    #[param(min_length = 1)]
    pub channel: Option<String>,
    /// `message` or `appeal`.
    #[param(min_length = 1)]
    pub kind: Option<String>,
    /// How rankings are ordered: `received` (default), `on_time`, `answer_time`, `rating`.
    #[param(min_length = 1)]
    pub sort: Option<String>,
}

/// A group's indicators; every figure is `null` when the group is withheld.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorsView {
    /// Withheld from the analyst: fewer submissions than the minimum group, or the
    /// smallest other group of the breakdown, withheld too where the total minus the
    /// shown groups would give a small one back (the two are not told apart).
    pub suppressed: bool,
    /// New submissions and those redirected to it.
    pub received: Option<i64>,
    pub registered: Option<i64>,
    pub redirected_in: Option<i64>,
    pub taken_into_work: Option<i64>,
    pub answered: Option<i64>,
    pub answered_on_time: Option<i64>,
    /// 0–1.
    pub on_time_share: Option<f64>,
    /// Seconds from the start of the term to the answer: median and 90th percentile
    /// (within about 10 %).
    pub answer_median_seconds: Option<i64>,
    pub answer_p90_seconds: Option<i64>,
    pub take_median_seconds: Option<i64>,
    pub take_p90_seconds: Option<i64>,
    pub route_median_seconds: Option<i64>,
    pub route_p90_seconds: Option<i64>,
    pub redirected: Option<i64>,
    pub rejected: Option<i64>,
    pub rated: Option<i64>,
    pub mean_rating: Option<f64>,
    pub sent_back: Option<i64>,
    /// Answers sent back per rated answer, 0–1.
    pub re_review_share: Option<f64>,
    pub incidents: Option<i64>,
}

impl IndicatorsView {
    fn of(i: &Indicators) -> Self {
        let shown = !i.suppressed;
        let count = |v: i64| shown.then_some(v);
        let f = &i.figures;
        IndicatorsView {
            suppressed: i.suppressed,
            received: count(i.received),
            registered: count(f.get(Measure::Registered)),
            redirected_in: count(f.get(Measure::RedirectedIn)),
            taken_into_work: count(f.get(Measure::TakenIntoWork)),
            answered: count(i.answered),
            answered_on_time: count(f.get(Measure::AnsweredOnTime)),
            on_time_share: i.on_time_share,
            answer_median_seconds: i.answer.0,
            answer_p90_seconds: i.answer.1,
            take_median_seconds: i.take.0,
            take_p90_seconds: i.take.1,
            route_median_seconds: i.route.0,
            route_p90_seconds: i.route.1,
            redirected: count(i.redirected),
            rejected: count(i.rejected),
            rated: count(i.rated),
            mean_rating: i.mean_rating,
            sent_back: count(f.get(Measure::SentBack)),
            re_review_share: i.re_review_share,
            incidents: count(i.incidents),
        }
    }
}

/// One group of a breakdown or ranking.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowView {
    /// The group as a filter value: an id, a channel or a kind.
    pub id: String,
    pub name: String,
    pub indicators: IndicatorsView,
}

/// One day or month of the series.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointView {
    /// The period's first day, `YYYY-MM-DD`.
    pub start: String,
    pub label: String,
    pub indicators: IndicatorsView,
}

/// A count by code (a rating, a rejection ground, an incident kind); `null` when withheld.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountView {
    pub code: String,
    pub label: String,
    pub count: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub from: String,
    pub to: String,
    /// `day` (periods up to 62 days) or `month`.
    pub grain: String,
    /// Transparency-log entries not counted yet (the figures lag by that much).
    pub pending_log_entries: u64,
    /// The minimum group shown, when small groups are withheld.
    pub min_group: Option<i64>,
    pub totals: IndicatorsView,
    pub series: Vec<PointView>,
    /// Ordered by `sort`; withheld groups last. Empty for an organisation's own staff.
    pub organisations: Vec<RowView>,
    /// For the operator and the analyst.
    pub regions: Vec<RowView>,
    pub categories: Vec<RowView>,
    pub channels: Vec<RowView>,
    pub kinds: Vec<RowView>,
    /// Ratings 1 to 5.
    pub ratings: Vec<CountView>,
    pub rejections: Vec<CountView>,
    pub incidents: Vec<CountView>,
    pub polls: PollsView,
    pub social: SocialView,
}

/// A group of social-media incidents' indicators; every figure is `null` when the group
/// is withheld (fewer incidents opened than the minimum group).
#[derive(Debug, Serialize, ToSchema)]
pub struct SocialIndicatorsView {
    /// Withheld from the analyst: fewer incidents opened than the minimum group, or the
    /// smallest other group withheld with it (as for submissions).
    pub suppressed: bool,
    /// Incidents opened (by the monitoring, or split off another).
    pub opened: Option<i64>,
    /// Answered publicly.
    pub answered: Option<i64>,
    /// Answered by the deadline in force then.
    pub answered_on_time: Option<i64>,
    pub answered_late: Option<i64>,
    /// 0–1.
    pub on_time_share: Option<f64>,
    /// Deadlines that passed while the incident was open (the monitor's breaches).
    pub breached: Option<i64>,
    /// Dismissed (not relevant, spam, no problem).
    pub dismissed: Option<i64>,
    /// Seconds from opening to the public answer: median and 90th percentile (within
    /// about 10 %).
    pub answer_median_seconds: Option<i64>,
    pub answer_p90_seconds: Option<i64>,
}

impl SocialIndicatorsView {
    fn of(i: &SocialIndicators) -> Self {
        let count = |v: i64| (!i.suppressed).then_some(v);
        SocialIndicatorsView {
            suppressed: i.suppressed,
            opened: count(i.opened),
            answered: count(i.answered),
            answered_on_time: count(i.answered_on_time),
            answered_late: count(i.answered_late),
            on_time_share: i.on_time_share,
            breached: count(i.breached),
            dismissed: count(i.dismissed),
            answer_median_seconds: i.answer.0,
            answer_p90_seconds: i.answer.1,
        }
    }
}

/// A group (or a period) of social-media incidents.
#[derive(Debug, Serialize, ToSchema)]
pub struct SocialRowView {
    /// The group as a filter value (an id; `0`: unknown), or the period's first day,
    /// `YYYY-MM-DD`.
    pub id: String,
    pub name: String,
    pub indicators: SocialIndicatorsView,
}

/// Social-media incidents in the period, of the organisation, territory and category
/// chosen; channel and kind do not apply to them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SocialView {
    pub totals: SocialIndicatorsView,
    pub series: Vec<SocialRowView>,
    /// By the organisation they were routed to; empty for an organisation's own staff.
    pub organisations: Vec<SocialRowView>,
    /// For the operator and the analyst.
    pub regions: Vec<SocialRowView>,
    pub categories: Vec<SocialRowView>,
}

fn social_rows(rows: &[SocialRow]) -> Vec<SocialRowView> {
    rows.iter()
        .map(|r| SocialRowView {
            id: r.value.clone(),
            name: r.name.clone(),
            indicators: SocialIndicatorsView::of(&r.indicators),
        })
        .collect()
}

/// Polls and votes of the organisation (or all), held in the territory (or anywhere),
/// open during the period; not filtered by category, channel or kind.
#[derive(Debug, Serialize, ToSchema)]
pub struct PollsView {
    /// Open at some time in the period, not cancelled.
    pub count: u64,
    /// Ballots cast on the period's days.
    pub ballots: u64,
}

fn rows(rows: &[Row]) -> Vec<RowView> {
    rows.iter()
        .map(|r| RowView {
            id: r.value.clone(),
            name: r.name.clone(),
            indicators: IndicatorsView::of(&r.indicators),
        })
        .collect()
}

/// The report for a period and filters, within what the caller may read.
#[utoipa::path(get, path = "/api/v1/analytics", tag = "analytics", params(AnalyticsParams), security(("bearer" = [])),
    responses((status = 200, body = ReportView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem, description = "A parameter is invalid; each is named")))]
async fn report(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(params): ApiQuery<AnalyticsParams>,
) -> Result<Json<ReportView>, ApiError> {
    let reach = reach_of(user.0.role)?;
    let params = ReportParams {
        from: params.from.unwrap_or_default(),
        to: params.to.unwrap_or_default(),
        region: params.region.map(|id| id.to_string()).unwrap_or_default(),
        district: params.district.unwrap_or_default(),
        organisation: params
            .organisation
            .map(|id| id.to_string())
            .unwrap_or_default(),
        category: params.category.map(|id| id.to_string()).unwrap_or_default(),
        channel: params.channel.unwrap_or_default(),
        kind: params.kind.unwrap_or_default(),
        sort: params.sort.unwrap_or_default(),
    };
    let store = state.store.as_ref();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let request = parse_request(store, reach, &params, now).await?;
    let report = analytics::report(store, reach, request, state.config.analytics.min_group).await?;
    let shown = !report.totals.suppressed;
    let counts = |items: Vec<(String, String, i64)>| {
        items
            .into_iter()
            .map(|(code, label, n)| CountView {
                code,
                label,
                count: shown.then_some(n),
            })
            .collect()
    };
    let show_orgs = !matches!(report.reach, analytics::Reach::Organisation(_));
    let show_regions = matches!(
        report.reach,
        analytics::Reach::Everything | analytics::Reach::Aggregates
    );
    Ok(Json(ReportView {
        from: iso_day(report.request.from_day),
        to: iso_day(report.request.to_day),
        grain: match report.grain {
            Grain::Day => "day",
            Grain::Month => "month",
        }
        .to_owned(),
        pending_log_entries: report.lag,
        min_group: report.min_group,
        totals: IndicatorsView::of(&report.totals),
        series: report
            .series
            .iter()
            .map(|p| PointView {
                start: iso_day(match report.grain {
                    Grain::Day => p.period,
                    Grain::Month => first_day_of_month(p.period),
                }),
                label: p.label.clone(),
                indicators: IndicatorsView::of(&p.indicators),
            })
            .collect(),
        organisations: if show_orgs {
            rows(&report.by_org)
        } else {
            Vec::new()
        },
        regions: if show_regions {
            rows(&report.by_region)
        } else {
            Vec::new()
        },
        categories: rows(&report.by_category),
        channels: rows(&report.by_channel),
        kinds: rows(&report.by_kind),
        ratings: counts(
            (1..=5usize)
                .map(|s| (s.to_string(), format!("{s} из 5"), report.ratings[s - 1]))
                .collect(),
        ),
        rejections: counts(
            report
                .rejections
                .iter()
                .map(|(g, n)| {
                    (
                        g.as_str().to_owned(),
                        crate::messages::ground(*g).to_owned(),
                        *n,
                    )
                })
                .collect(),
        ),
        incidents: counts(
            report
                .incidents
                .iter()
                .map(|(k, n)| {
                    (
                        k.as_str().to_owned(),
                        crate::messages::incident(*k).to_owned(),
                        *n,
                    )
                })
                .collect(),
        ),
        polls: PollsView {
            count: report.polls.0,
            ballots: report.polls.1,
        },
        social: SocialView {
            totals: SocialIndicatorsView::of(&report.social.totals),
            series: report
                .social
                .series
                .iter()
                .map(|p| SocialRowView {
                    id: p
                        .value
                        .parse::<i64>()
                        .map(|period| {
                            iso_day(match report.grain {
                                Grain::Day => period,
                                Grain::Month => first_day_of_month(period),
                            })
                        })
                        .unwrap_or_default(),
                    name: p.name.clone(),
                    indicators: SocialIndicatorsView::of(&p.indicators),
                })
                .collect(),
            organisations: if show_orgs {
                social_rows(&report.social.by_org)
            } else {
                Vec::new()
            },
            regions: if show_regions {
                social_rows(&report.social.by_region)
            } else {
                Vec::new()
            },
            categories: social_rows(&report.social.by_category),
        },
    }))
}

/// Where to read the quality feed from.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    /// The `next_cursor` of the previous page; 0 (default) is the beginning.
    #[param(minimum = 0, maximum = 9007199254740991i64)]
    pub cursor: Option<u64>,
    /// Opinions per page, 1–1000 (default 100). A page ends after a whole log entry: the
    /// posts of one social-media ingest batch share a cursor and may take it past `limit`.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The service-quality feed (seed 7¹ ¶2): opinions about the quality of services on the
/// federal scale, in the order they were recorded, from a cursor. Each has a stable id.
#[utoipa::path(get, path = "/api/v1/quality-feed", tag = "analytics", params(FeedParams), security(("bearer" = [])),
    responses((status = 200, body = crate::quality::FeedPage), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn quality_feed(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(params): ApiQuery<FeedParams>,
) -> Result<Json<crate::quality::FeedPage>, ApiError> {
    otklik_domain::access::check_role(
        user.0.role,
        otklik_domain::access::Capability::ReadQualityFeed,
    )
    .map_err(crate::error::AppError::denied)?;
    let limit = params.limit.unwrap_or(100);
    if !(1..=1_000).contains(&limit) {
        return Err(crate::error::AppError::field("limit", "out_of_range").into());
    }
    // The largest integer every JSON reader keeps exactly.
    let cursor = params.cursor.unwrap_or(0);
    if cursor > 9_007_199_254_740_991 {
        return Err(crate::error::AppError::field("cursor", "out_of_range").into());
    }
    let page = state.store.quality_opinions(cursor, limit).await?;
    Ok(Json(crate::quality::page(&page)))
}

/// The quality feed's push (`[quality_feed] push_url`): its state, how far it got, what
/// waits, and its last failure while failing — for monitoring the receiver's uptake.
#[utoipa::path(get, path = "/api/v1/quality-feed/push", tag = "analytics", security(("bearer" = [])),
    responses((status = 200, body = crate::quality::PushStatus), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn quality_feed_push(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<crate::quality::PushStatus>, ApiError> {
    otklik_domain::access::check_role(
        user.0.role,
        otklik_domain::access::Capability::ReadQualityFeed,
    )
    .map_err(crate::error::AppError::denied)?;
    let now = OffsetDateTime::now_utc();
    let status =
        crate::quality::push_status(state.store.as_ref(), &state.config.quality_feed, now).await?;
    Ok(Json(status))
}
