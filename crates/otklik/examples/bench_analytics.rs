//! The analytics benchmark (`scripts/bench-analytics`): the dashboards of `/analytics`
//! over a synthetic history of millions of submissions, on SQLite or PostgreSQL, and the
//! follower's throughput. Not a test: it prints figures for docs/BENCHMARKS.md, one line
//! each. The target: a dashboard over 10 million submissions answers in under 200 ms.
//!
//!   bench_analytics <database-url|sqlite> <submissions> [months] [followed]
//!
//! 1. Reference data, through the store: the 89 federal subjects, ten organisations per
//!    region (the first its coordinator), 8 categories with 31 subcategories, and a route
//!    for every subcategory in every region to one of that region's organisations.
//! 2. History: `submissions` submissions registered over the last `months` months (24),
//!    ending now, from a seeded RNG (every run generates the same history): regions by a
//!    Zipf law (Moscow first), categories and subcategories skewed, channels portal 70 % /
//!    widget 15 % / api 10 % / open311 5 %, messages 85 % / appeals 15 %, more on working
//!    days and growing over time. Each submission's events go through `Replay::step`:
//!    registered; redirected to another organisation of the region (8 %); rejected with
//!    a ground (5 %); taken into work after hours; answered within the term, or late
//!    (10 %, with the monitor's `late_answer` incident at the deadline); rated 1–5 (45 %,
//!    mostly high; a low rating is a `low_rating` incident and is sent back 40 % of the
//!    time, then taken and answered again). What would happen after now has not happened
//!    yet (open submissions). The deltas are added with `analytics_import`, 50 000 at a
//!    time in the order of their days (so that a chunk's cells merge before the upserts),
//!    while a thread generates the next ones: the history is never held in memory as a
//!    whole. Figures: load time, deltas per second, rows and size of the cells, the
//!    planner's statistics refreshed afterwards (SQLite: `optimize()`, what the monitor
//!    runs; PostgreSQL: `ANALYZE`, what autovacuum would have done).
//! 3. Dashboards: `otklik_web::analytics::parse_request` + `report`, all of `/analytics`
//!    but the HTML (totals, series, by organisation, region, category, channel, kind),
//!    for seven typical views: first on a store opened for it (a node that has kept no
//!    sums yet), then 2 warm-ups and 20 timed runs each: p50, p95, max (a view that takes
//!    seconds is run fewer times, at least 3, about a minute in all). Before each run a
//!    registration today is added to the cells, as the follower adds what happens, so
//!    today and this month are always read from the cells.
//! 4. Follower: `followed` (2 000) submissions created through the store (registered,
//!    taken into work, answered, every other one rated, phase by phase as in life, so
//!    that a batch reads the earlier history of its submissions), then
//!    `analytics_follow(500)` until caught up: events and incidents counted per second.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use otklik_domain::access::Verification;
use otklik_domain::analytics::{
    day_of, first_day_of_month, incident_delta, month_of_day, Delta, EventFacts, Grain, Measure,
    Replay, SubmissionFacts, REPORTING_OFFSET_SECONDS,
};
use otklik_domain::form::{FormSpec, FormValues};
use otklik_domain::lifecycle::{
    Action, Actor, Channel, EventKind, IncidentKind, RejectionGround, Role, Score, SubmissionKind,
};
use otklik_domain::text::{AnswerText, Email, PersonName, SubmissionText};
use otklik_domain::{OrgId, RegionId, SubcategoryId, SubmissionId};
use otklik_store::{AnalyticsFilter, CellQuery, NewOrganisation, NewSubmission, NewUser, Store};
use otklik_web::analytics::{iso_day, parse_request, report, Reach, ReportParams};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Deltas per `analytics_import` call.
const CHUNK: usize = 50_000;
/// Organisations per region; the first is the coordinator.
const ORGS_PER_REGION: usize = 10;
/// Timed runs of each dashboard after its warm-ups (a second warm-up that took longer than
/// `SLOW` counts as a run); fewer, but at least `MIN_RUNS`, once they took `TIME_PER_VIEW`.
const RUNS: usize = 20;
const WARM_UPS: usize = 2;
const SLOW: Duration = Duration::from_secs(5);
const MIN_RUNS: usize = 3;
const TIME_PER_VIEW: Duration = Duration::from_secs(60);
/// Log leaves per follower transaction, as the server's follower reads them.
const FOLLOW_BATCH: u32 = 500;
const SEED: u64 = 20_261_101;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// The most populous subjects first; the rest follow in the shipped list's order.
const BY_POPULATION: &[&str] = &[
    "RU-MOW", "RU-MOS", "RU-KDA", "RU-SPE", "RU-SVE", "RU-ROS", "RU-BA", "RU-TA", "RU-DA",
    "RU-CHE", "RU-NIZ", "RU-SAM", "RU-KYA", "RU-NVS", "RU-PER", "RU-VGG", "RU-SAR", "RU-VOR",
    "RU-KEM", "RU-STA", "RU-IRK", "RU-ALT", "RU-ORE", "RU-OMS", "RU-PRI", "RU-LEN",
];

/// Categories and their subcategories, most frequent first.
const CATALOGUE: [(&str, &[&str]); 8] = [
    (
        "Дороги и транспорт",
        &[
            "Ямы на дорогах",
            "Общественный транспорт",
            "Уборка снега",
            "Светофоры и знаки",
            "Парковки",
            "Тротуары",
        ],
    ),
    (
        "ЖКХ",
        &[
            "Отопление",
            "Водоснабжение",
            "Вывоз мусора",
            "Управляющие компании",
            "Капитальный ремонт",
        ],
    ),
    (
        "Благоустройство",
        &["Дворы", "Освещение", "Детские площадки", "Озеленение"],
    ),
    (
        "Здравоохранение",
        &[
            "Запись к врачу",
            "Лекарства",
            "Скорая помощь",
            "Поликлиники",
        ],
    ),
    (
        "Образование",
        &[
            "Детские сады",
            "Школы",
            "Дополнительное образование",
            "Питание",
        ],
    ),
    (
        "Социальная защита",
        &["Выплаты и пособия", "Доступная среда", "Многодетные семьи"],
    ),
    (
        "Экология",
        &["Свалки", "Загрязнение воздуха", "Загрязнение водоёмов"],
    ),
    (
        "Безопасность",
        &["Бродячие животные", "Общественный порядок"],
    ),
];

/// The organisations of each region after its coordinator: (name, kind).
const BODIES: [(&str, &str); ORGS_PER_REGION - 1] = [
    ("Министерство транспорта", "regional_body"),
    ("Министерство ЖКХ", "regional_body"),
    ("Министерство благоустройства", "regional_body"),
    ("Министерство здравоохранения", "regional_body"),
    ("Министерство образования", "regional_body"),
    ("Министерство социальной защиты", "regional_body"),
    ("Министерство природных ресурсов", "regional_body"),
    ("Администрация регионального центра", "local_government"),
    ("Дорожное агентство", "institution"),
];

/// The reference data the history refers to.
struct World {
    /// By population rank: (id, code, name, federal district).
    regions: Vec<(RegionId, String, String, Option<String>)>,
    region_cdf: Vec<f64>,
    /// `orgs[region][i]`, the coordinator first.
    orgs: Vec<Vec<OrgId>>,
    /// (category, subcategory) by frequency rank.
    subcategories: Vec<(i64, SubcategoryId)>,
    subcategory_cdf: Vec<f64>,
    /// `routes[region][subcategory]`.
    routes: Vec<Vec<OrgId>>,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, submissions, months, followed) = match args.as_slice() {
        [_, url, n] => (url, n, "24", "2000"),
        [_, url, n, months] => (url, n, months.as_str(), "2000"),
        [_, url, n, months, followed] => (url, n, months.as_str(), followed.as_str()),
        _ => {
            eprintln!(
                "usage: bench_analytics <database-url|sqlite> <submissions> [months] [followed]"
            );
            std::process::exit(2);
        }
    };
    let submissions: u64 = submissions.parse().expect("submissions");
    let months: i64 = months.parse().expect("months");
    let followed: usize = followed.parse().expect("followed");
    assert!(months >= 1, "months ≥ 1");
    let dir = tempfile::tempdir().expect("temp dir");
    // BENCH_ANALYTICS_DIR keeps a SQLite history for later runs, which then skip the
    // load (and the follower, whose people already exist): the dashboards can be timed
    // again on a quiet machine without loading ten million submissions each time.
    let kept_dir = std::env::var("BENCH_ANALYTICS_DIR").ok();
    let data_dir = kept_dir
        .as_deref()
        .map_or_else(|| dir.path().to_path_buf(), std::path::PathBuf::from);
    let db_url = if url == "sqlite" {
        std::fs::create_dir_all(&data_dir).expect("data directory");
        format!("sqlite://{}", data_dir.join("otklik.db").display())
    } else {
        url.clone()
    };
    let store = otklik_store::open(&db_url).await.expect("store");
    store
        .init_log(otklik_log::HashAlg::Sha256)
        .await
        .expect("log");
    println!("backend: {}", store.backend());
    let reused = !store.organisations().await.unwrap().is_empty();

    let started = Instant::now();
    let world = Arc::new(reference_data(store.as_ref(), reused).await);
    println!(
        "reference data: {} regions, {} organisations, {} categories, {} subcategories, {} routes in {:.1} s",
        world.regions.len(),
        world.orgs.iter().map(Vec::len).sum::<usize>(),
        CATALOGUE.len(),
        world.subcategories.len(),
        world.routes.iter().map(Vec::len).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );

    // --- the history -------------------------------------------------------------------
    let now = OffsetDateTime::now_utc();
    let now_unix = now.unix_timestamp();
    let today = day_of(now_unix);
    let start_day = today - (months as f64 * 365.25 / 12.0).round() as i64 + 1;
    let busiest = if reused {
        println!("history: kept from an earlier run ({db_url}), not loaded again");
        None
    } else {
        Some(
            load_history(
                store.as_ref(),
                &world,
                submissions,
                months,
                start_day,
                now_unix,
            )
            .await,
        )
    };
    let whole = store
        .analytics_cells(&CellQuery {
            filter: AnalyticsFilter::default(),
            from_day: start_day,
            to_day: today,
            group: Vec::new(),
            series: None,
        })
        .await
        .expect("totals");
    let registered: i64 = whole
        .iter()
        .map(|c| c.figures.get(Measure::Registered))
        .sum();
    if reused {
        assert!(
            registered as u64 >= submissions,
            "the kept history is as large"
        );
    } else {
        assert_eq!(
            registered as u64, submissions,
            "every submission counted once"
        );
    }
    let started = Instant::now();
    let (cells, times, bytes) = table_sizes(store.as_ref(), &db_url, &data_dir).await;
    println!(
        "cells: analytics_cells {cells} rows, analytics_times {times} rows, {:.0} MB on disk (counted in {:.1} s)",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    refresh_statistics(store.as_ref(), &db_url).await;
    println!(
        "statistics refreshed in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // --- dashboards ----------------------------------------------------------------------
    let min_group = otklik_web::config::AnalyticsConfig::default().min_group;
    let this_month = month_of_day(today);
    let twelve = ReportParams {
        from: iso_day(first_day_of_month(this_month - 11)),
        to: iso_day(today),
        ..Default::default()
    };
    let (largest, ..) = &world.regions[0];
    let district = world
        .regions
        .iter()
        .find(|r| r.1 == "RU-NIZ")
        .and_then(|r| r.3.clone())
        .expect("the Volga district");
    let busiest = match busiest {
        Some(org) => org,
        None => busiest_of(store.as_ref(), start_day, today).await,
    };
    let (first_category, _) = world.subcategories[0];
    let views: Vec<(String, Reach, ReportParams)> = vec![
        (
            "(a) operator, country, 12 months".to_owned(),
            Reach::Everything,
            twelve.clone(),
        ),
        (
            "(b) operator, country, 30 days (daily)".to_owned(),
            Reach::Everything,
            ReportParams {
                from: iso_day(today - 29),
                to: iso_day(today),
                ..Default::default()
            },
        ),
        (
            format!("(c) coordinator, region {}, 12 months", world.regions[0].1),
            Reach::Region(*largest),
            twelve.clone(),
        ),
        (
            format!("(d) organisation {}, own, 12 months", busiest.0),
            Reach::Organisation(busiest),
            twelve.clone(),
        ),
        (
            format!("(e) analyst, district {district}, 12 months"),
            Reach::Aggregates,
            ReportParams {
                district: district.clone(),
                ..twelve.clone()
            },
        ),
        (
            "(f) operator, category + channel, 12 months".to_owned(),
            Reach::Everything,
            ReportParams {
                category: first_category.to_string(),
                channel: "portal".to_owned(),
                ..twelve.clone()
            },
        ),
        (
            "(g) operator, 17th 7 months ago to yesterday".to_owned(),
            Reach::Everything,
            ReportParams {
                from: {
                    let month = this_month - 7;
                    iso_day(first_day_of_month(month) + 16)
                },
                to: iso_day(today - 1),
                ..Default::default()
            },
        ),
    ];
    let live = Live {
        key: otklik_domain::analytics::CellKey {
            region: world.regions[0].0 .0,
            org: world.routes[0][0].0,
            subcategory: world.subcategories[0].1 .0,
            channel: Some(otklik_domain::analytics::ChannelKey::of(Channel::Portal)),
            kind: Some(otklik_domain::analytics::KindKey::of(
                SubmissionKind::Message,
            )),
        },
        at: now_unix,
    };
    for (label, reach, params) in &views {
        // A node that has not shown a dashboard yet: nothing of the range read before.
        let fresh = otklik_store::open(&db_url).await.expect("store");
        dashboard(
            store.as_ref(),
            fresh.as_ref(),
            &live,
            label,
            *reach,
            params,
            now_unix,
            min_group,
        )
        .await;
    }

    // --- the follower --------------------------------------------------------------------
    if followed > 0 && !reused {
        follower(store.clone(), &world, followed).await;
    }
}

/// Generates the history and loads it with `analytics_import`; the organisation that
/// received the most.
async fn load_history(
    store: &dyn Store,
    world: &Arc<World>,
    submissions: u64,
    months: i64,
    start_day: i64,
    now_unix: i64,
) -> OrgId {
    let today = day_of(now_unix);
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<(i64, Vec<Delta>)>(2);
    let generator = {
        let world = world.clone();
        std::thread::spawn(move || generate(&world, submissions, start_day, now_unix, &sender))
    };
    let started = Instant::now();
    let (mut imported, mut shown) = (0u64, 0i64);
    let span = today - start_day + 1;
    while let Some((day, chunk)) = receiver.recv().await {
        store.analytics_import(&chunk).await.expect("import");
        imported += chunk.len() as u64;
        let percent = (day - start_day + 1) * 100 / span;
        if percent >= shown + 10 {
            shown = percent - percent % 10;
            eprintln!(
                "  … {percent:3} % of the days ({}), {imported} deltas in {:.0} s",
                iso_day(day),
                started.elapsed().as_secs_f64()
            );
        }
    }
    let load = started.elapsed();
    let stats = generator.join().expect("generator");
    assert_eq!(stats.deltas, imported);
    println!(
        "history: {submissions} submissions over {months} months ({}..{}): {} events, {} incidents, {} deltas",
        iso_day(start_day),
        iso_day(today),
        stats.events,
        stats.incidents,
        stats.deltas
    );
    println!(
        "load: {} deltas in {:.1} s = {:.0} deltas/s = {:.0} submissions/s (analytics_import, {CHUNK} a call)",
        stats.deltas,
        load.as_secs_f64(),
        stats.deltas as f64 / load.as_secs_f64(),
        submissions as f64 / load.as_secs_f64()
    );
    stats
        .received
        .iter()
        .max_by_key(|(org, n)| (**n, std::cmp::Reverse(**org)))
        .map(|(org, _)| OrgId(*org))
        .expect("some organisation")
}

/// The organisation with the most registrations in a kept history.
async fn busiest_of(store: &dyn Store, from_day: i64, to_day: i64) -> OrgId {
    let by_org = store
        .analytics_cells(&CellQuery {
            filter: AnalyticsFilter::default(),
            from_day,
            to_day,
            group: vec![otklik_domain::analytics::Dim::Org],
            series: None,
        })
        .await
        .unwrap();
    by_org
        .iter()
        .max_by_key(|c| {
            (
                c.figures.get(Measure::Registered),
                std::cmp::Reverse(c.key.org),
            )
        })
        .map(|c| OrgId(c.key.org))
        .expect("some organisation")
}

// --- reference data ------------------------------------------------------------------------

/// Creates the reference data, or (`kept`) reads back what an earlier run created in the
/// same order.
async fn reference_data(store: &dyn Store, kept: bool) -> World {
    otklik::load_federal_subjects(store)
        .await
        .expect("federal subjects");
    let mut regions: Vec<_> = store
        .regions()
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let rank = BY_POPULATION
                .iter()
                .position(|c| *c == r.code)
                .unwrap_or(BY_POPULATION.len());
            (rank, r)
        })
        .collect();
    regions.sort_by_key(|(rank, r)| (*rank, r.id));
    let offsets: HashMap<RegionId, i32> = regions
        .iter()
        .map(|(_, r)| (r.id, r.utc_offset_minutes))
        .collect();
    let regions: Vec<_> = regions
        .into_iter()
        .map(|(_, r)| (r.id, r.code, r.name, r.federal_district))
        .collect();
    let region_cdf = cdf((1..=regions.len()).map(|rank| (rank as f64).powf(-0.8)));

    let mut subcategories = Vec::new();
    let mut weights = Vec::new();
    let catalogue = if kept {
        store.catalogue().await.unwrap()
    } else {
        Vec::new()
    };
    for (c, (name, subs)) in CATALOGUE.iter().enumerate() {
        let category = match catalogue.get(c) {
            Some(category) => category.id,
            None => store.create_category(name, c as i32 + 1).await.unwrap(),
        };
        for (s, sub) in subs.iter().enumerate() {
            let id = match catalogue.get(c).and_then(|k| k.subcategories.get(s)) {
                Some(existing) => existing.id,
                None => store
                    .create_subcategory(category, sub, &FormSpec::default(), s as i32 + 1)
                    .await
                    .unwrap(),
            };
            subcategories.push((category.0, id, c, s));
            weights.push(1.0 / (c + 1) as f64 / (s + 1) as f64);
        }
    }
    let mut existing: Vec<OrgId> = if kept {
        store
            .organisations()
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.id)
            .collect()
    } else {
        Vec::new()
    };
    existing.sort_unstable();
    let mut existing = existing.into_iter();
    let subcategory_cdf = cdf(weights.into_iter());

    let mut orgs = Vec::new();
    let mut routes = Vec::new();
    for (region, _, name, _) in &regions {
        let offset = offsets.get(region).copied().unwrap_or(180);
        let mut own = Vec::with_capacity(ORGS_PER_REGION);
        let add = |org_name: String, kind: &str, is_coordinator: bool| NewOrganisation {
            name: org_name,
            kind: kind.to_owned(),
            region: Some(*region),
            is_coordinator,
            utc_offset_minutes: offset,
        };
        if kept {
            own.extend(existing.by_ref().take(ORGS_PER_REGION));
        } else {
            let coordinator = add(format!("ЦУР: {name}"), "coordinator", true);
            own.push(store.create_organisation(coordinator).await.unwrap());
            for (body, kind) in BODIES {
                let org = add(format!("{body}: {name}"), kind, false);
                own.push(store.create_organisation(org).await.unwrap());
            }
        }
        // Category c goes to body c (transport, housing, …); every third subcategory of
        // a category to the city administration, the second of roads to the agency.
        let mut region_routes = Vec::new();
        for (_, sub, c, s) in &subcategories {
            let body = match (c, s) {
                (0, 1) => 9,
                (_, s) if s % 3 == 2 => 8,
                (c, _) => 1 + (*c).min(7),
            };
            if !kept {
                store.set_route(*sub, *region, own[body]).await.unwrap();
            }
            region_routes.push(own[body]);
        }
        routes.push(region_routes);
        orgs.push(own);
    }
    World {
        regions,
        region_cdf,
        orgs,
        subcategories: subcategories
            .into_iter()
            .map(|(c, s, _, _)| (c, s))
            .collect(),
        subcategory_cdf,
        routes,
    }
}

/// The cumulative distribution of weights, normalised to end at 1.
fn cdf(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut sum = 0.0;
    let mut out: Vec<f64> = weights
        .map(|w| {
            sum += w;
            sum
        })
        .collect();
    out.iter_mut().for_each(|c| *c /= sum);
    out
}

fn pick(rng: &mut StdRng, cdf: &[f64]) -> usize {
    let u: f64 = rng.gen();
    cdf.partition_point(|c| *c < u).min(cdf.len() - 1)
}

// --- the history ---------------------------------------------------------------------------

#[derive(Default)]
struct Generated {
    events: u64,
    incidents: u64,
    deltas: u64,
    /// Registrations per organisation.
    received: HashMap<i64, u64>,
}

/// A submission's story, in time order.
enum Step {
    Event(EventFacts),
    Incident(IncidentKind, OrgId, i64),
}

/// Generates the history day by day and sends its deltas in chunks of [`CHUNK`] in the
/// order of their days (a day's deltas are complete once its registrations are made:
/// nothing happens to a submission before it exists).
fn generate(
    world: &World,
    submissions: u64,
    start_day: i64,
    now: i64,
    sender: &tokio::sync::mpsc::Sender<(i64, Vec<Delta>)>,
) -> Generated {
    let mut rng = StdRng::seed_from_u64(SEED);
    let today = day_of(now);
    let days = (today - start_day + 1) as usize;
    // More on working days, a third more at the end than at the start.
    let weights: Vec<f64> = (0..days)
        .map(|i| {
            let day = start_day + i as i64;
            let weekend = matches!((day + 3).rem_euclid(7), 5 | 6);
            let trend = 1.0 + 0.33 * i as f64 / days as f64;
            let elapsed = if day == today {
                (now - (day * DAY - REPORTING_OFFSET_SECONDS)) as f64 / DAY as f64
            } else {
                1.0
            };
            trend * if weekend { 0.55 } else { 1.0 } * elapsed
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mut generated = Generated::default();
    let mut buckets: Vec<Vec<Delta>> = (0..days).map(|_| Vec::new()).collect();
    let mut pending: Vec<Delta> = Vec::with_capacity(CHUNK * 2);
    let mut story = Vec::new();
    let (mut cumulative, mut made) = (0.0, 0u64);
    for (i, weight) in weights.iter().enumerate() {
        cumulative += weight;
        let until = ((cumulative / total) * submissions as f64).round() as u64;
        let count = until.min(submissions) - made;
        made += count;
        let day = start_day + i as i64;
        let day_start = day * DAY - REPORTING_OFFSET_SECONDS;
        let day_length = (now - day_start).clamp(1, DAY);
        for _ in 0..count {
            let registered = day_start + rng.gen_range(0..day_length);
            let r = pick(&mut rng, &world.region_cdf);
            let s = pick(&mut rng, &world.subcategory_cdf);
            let channel = match rng.gen_range(0..100) {
                0..70 => Channel::Portal,
                70..85 => Channel::Widget,
                85..95 => Channel::Api,
                _ => Channel::Open311,
            };
            let kind = if rng.gen_bool(0.85) {
                SubmissionKind::Message
            } else {
                SubmissionKind::Appeal
            };
            story.clear();
            tell(&mut rng, world, r, s, kind, registered, &mut story);
            let facts = SubmissionFacts {
                region: world.regions[r].0 .0,
                channel,
                kind,
            };
            *generated.received.entry(world.routes[r][s].0).or_default() += 1;
            let mut replay = Replay::new(facts, world.subcategories[s].1 .0);
            for step in &story {
                let deltas = match step {
                    Step::Event(event) if event.at <= now => {
                        generated.events += 1;
                        replay.step(event)
                    }
                    Step::Incident(incident, org, at) if *at <= now => {
                        generated.incidents += 1;
                        vec![incident_delta(
                            *incident,
                            facts,
                            org.0,
                            facts.region,
                            replay.subcategory(),
                            *at,
                        )]
                    }
                    // Not yet: the rest of the story is in the future.
                    _ => break,
                };
                for delta in deltas {
                    generated.deltas += 1;
                    let bucket = (day_of(delta.at) - start_day) as usize;
                    buckets[bucket].push(delta);
                }
            }
        }
        pending.append(&mut buckets[i]);
        buckets[i] = Vec::new();
        while pending.len() >= CHUNK {
            let rest = pending.split_off(CHUNK);
            let chunk = std::mem::replace(&mut pending, rest);
            sender.blocking_send((day, chunk)).expect("importer");
        }
    }
    if !pending.is_empty() {
        sender.blocking_send((today, pending)).expect("importer");
    }
    generated
}

fn hours(rng: &mut StdRng, from: f64, to: f64) -> i64 {
    (rng.gen_range(from..to) * HOUR as f64) as i64
}

/// One submission's events and incidents, in time order (some may lie after now).
fn tell(
    rng: &mut StdRng,
    world: &World,
    r: usize,
    s: usize,
    kind: SubmissionKind,
    registered: i64,
    story: &mut Vec<Step>,
) {
    let term = match kind {
        SubmissionKind::Message => 14 * DAY,
        SubmissionKind::Appeal => 30 * DAY,
    };
    let mut org = world.routes[r][s];
    let mut deadline = registered + term;
    let event = |kind: EventKind, at: i64, from: OrgId, to: OrgId, deadline: i64| EventFacts {
        kind,
        at,
        from_org: Some(from.0),
        to_org: to.0,
        subcategory: None,
        ground: None,
        score: None,
        deadline_at: deadline,
    };
    story.push(Step::Event(EventFacts {
        from_org: None,
        subcategory: Some(world.subcategories[s].1 .0),
        ..event(EventKind::Registered, registered, org, org, deadline)
    }));
    let mut t = registered;
    if rng.gen_bool(0.08) {
        t += hours(rng, 0.5, 48.0);
        let own = &world.orgs[r];
        let to = loop {
            let candidate = own[rng.gen_range(1..own.len())];
            if candidate != org {
                break candidate;
            }
        };
        deadline = t + term;
        story.push(Step::Event(event(
            EventKind::Redirected,
            t,
            org,
            to,
            deadline,
        )));
        org = to;
    }
    if rng.gen_bool(0.05) {
        t += hours(rng, 1.0, 72.0);
        let ground = match rng.gen_range(0..100) {
            0..50 => RejectionGround::RepeatedQuestion,
            50..70 => RejectionGround::UnreadableText,
            70..85 => RejectionGround::ObsceneLanguage,
            85..95 => RejectionGround::CourtMatter,
            _ => RejectionGround::ProtectedSecret,
        };
        story.push(Step::Event(EventFacts {
            ground: Some(ground),
            ..event(EventKind::Rejected, t, org, org, deadline)
        }));
        return;
    }
    // The first round, and another after a low rating sent back.
    for round in 0..2 {
        // Taken into work after ten minutes to a few days (exponential, mean 8 hours).
        let wait = -(1.0 - rng.gen::<f64>()).ln() * 8.0 * HOUR as f64;
        t += 600 + (wait as i64).min(5 * DAY);
        story.push(Step::Event(event(
            EventKind::TakenIntoWork,
            t,
            org,
            org,
            deadline,
        )));
        if kind == SubmissionKind::Appeal && rng.gen_bool(0.2) && deadline - t > 2 * DAY {
            t += rng.gen_range(HOUR..(deadline - t) / 2);
            story.push(Step::Event(event(
                EventKind::IntermediateAnswer,
                t,
                org,
                org,
                deadline,
            )));
        }
        t = if rng.gen_bool(0.10) && deadline > t {
            // Late: the monitor raises the incident a few minutes after the deadline.
            story.push(Step::Incident(
                IncidentKind::LateAnswer,
                org,
                deadline + 300,
            ));
            deadline + HOUR + rng.gen_range(0..20 * DAY)
        } else {
            let left = (deadline - t).max(HOUR) as f64;
            (t + 1_800 + (left * rng.gen::<f64>().powf(1.5)) as i64).min(deadline.max(t + 1_800))
        };
        story.push(Step::Event(event(
            EventKind::Answered,
            t,
            org,
            org,
            deadline,
        )));
        if !rng.gen_bool(if round == 0 { 0.45 } else { 0.3 }) {
            return;
        }
        t += hours(rng, 1.0, 7.0 * 24.0);
        let score = match rng.gen_range(0..100) {
            0..10 => 1,
            10..18 => 2,
            18..30 => 3,
            30..55 => 4,
            _ => 5,
        };
        story.push(Step::Event(EventFacts {
            score: Some(Score::new(score).unwrap()),
            ..event(EventKind::Rated, t, org, org, deadline)
        }));
        if score > 2 {
            return;
        }
        story.push(Step::Incident(IncidentKind::LowRating, org, t));
        if round == 1 || !rng.gen_bool(0.4) {
            return;
        }
        t += hours(rng, 1.0, 72.0);
        deadline = t + term;
        story.push(Step::Event(event(
            EventKind::SentBack,
            t,
            org,
            org,
            deadline,
        )));
    }
}

// --- sizes ---------------------------------------------------------------------------------

/// Rows of the two tables and their size on disk (SQLite: the whole file and its WAL).
async fn table_sizes(store: &dyn Store, url: &str, dir: &std::path::Path) -> (i64, i64, u64) {
    if store.backend() == "sqlite" {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let cells: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM analytics_cells")
            .fetch_one(&pool)
            .await
            .unwrap();
        let times: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM analytics_times")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        let bytes = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("otklik.db"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum();
        (cells, times, bytes)
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let (cells, times, bytes): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM analytics_cells), (SELECT COUNT(*) FROM analytics_times), \
                    pg_total_relation_size('analytics_cells') + pg_total_relation_size('analytics_times')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        (cells, times, bytes as u64)
    }
}

async fn refresh_statistics(store: &dyn Store, url: &str) {
    if store.backend() == "sqlite" {
        store.optimize().await.unwrap();
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query("ANALYZE analytics_cells, analytics_times")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

// --- dashboards ----------------------------------------------------------------------------

/// A registration today, added before each timed run as the follower adds what happens
/// (every half second in the server): today's day and this month are written while the
/// dashboards are read, so a run reads them from the cells, never from kept sums.
struct Live {
    key: otklik_domain::analytics::CellKey,
    at: i64,
}

impl Live {
    async fn write(&self, store: &dyn Store) {
        let delta = Delta {
            key: self.key,
            at: self.at,
            measures: vec![Measure::Registered],
            timings: Vec::new(),
        };
        store.analytics_import(&[delta]).await.unwrap();
    }
}

#[allow(clippy::too_many_arguments)]
async fn dashboard(
    store: &dyn Store,
    fresh: &dyn Store,
    live: &Live,
    label: &str,
    reach: Reach,
    params: &ReportParams,
    now: i64,
    min_group: u32,
) {
    // The first view on a node: every range read from the cells.
    live.write(store).await;
    let started = Instant::now();
    let request = parse_request(fresh, reach, params, now).await.unwrap();
    report(fresh, reach, request, min_group).await.unwrap();
    let first = started.elapsed();
    let mut latencies = Vec::with_capacity(RUNS);
    let mut last = None;
    let mut warm_ups = 0;
    let mut spent = Duration::ZERO;
    // A slow view (seconds a run) is run fewer times, so that the whole stays bounded.
    while latencies.len() < RUNS && (latencies.len() < MIN_RUNS || spent < TIME_PER_VIEW) {
        live.write(store).await;
        let started = Instant::now();
        let request = parse_request(store, reach, params, now).await.unwrap();
        last = Some(report(store, reach, request, min_group).await.unwrap());
        let elapsed = started.elapsed();
        if warm_ups < WARM_UPS && (warm_ups == 0 || elapsed < SLOW) {
            warm_ups += 1;
        } else {
            warm_ups = WARM_UPS;
            spent += elapsed;
            latencies.push(elapsed);
        }
    }
    let report = last.unwrap();
    latencies.sort_unstable();
    let at = |q: f64| ms(latencies[((latencies.len() as f64 * q).ceil() as usize).max(1) - 1]);
    println!(
        "dashboard {label}: first on a node {:.1} ms; then, today written before each run: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms of {} runs ({} received, {} {} points, {} organisations, {} regions)",
        ms(first),
        at(0.5),
        at(0.95),
        ms(latencies[latencies.len() - 1]),
        latencies.len(),
        report.totals.received,
        report.series.len(),
        match report.grain {
            Grain::Day => "daily",
            Grain::Month => "monthly",
        },
        report.by_org.len(),
        report.by_region.len(),
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// --- the follower --------------------------------------------------------------------------

/// When, after its registration, each submission meets what (if anything).
type Phase<'a> = (time::Duration, &'a dyn Fn(usize) -> Option<(Actor, Action)>);

async fn follower(store: Arc<dyn Store>, world: &World, n: usize) {
    const WORKERS: usize = 4;
    let mut rng = StdRng::seed_from_u64(SEED + 1);
    let person = |mail: String, role: Role| NewUser {
        email: Email::parse(&mail).unwrap(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".to_owned(),
        full_name: PersonName::parse("Участник Бенчмарка").unwrap(),
        role,
        verification: Verification::Verified,
    };
    let citizen = store
        .create_user(person(
            "citizen@bench.otklik.local".to_owned(),
            Role::Citizen,
        ))
        .await
        .unwrap();
    let citizen = Actor {
        user: citizen,
        role: Role::Citizen,
    };
    // Everything in the largest region, each to its routed organisation.
    let (region, ..) = world.regions[0];
    let mut officials = HashMap::new();
    for org in &world.orgs[0] {
        let role = Role::Official(*org);
        let user = store
            .create_user(person(
                format!("official{}@bench.otklik.local", org.0),
                role,
            ))
            .await
            .unwrap();
        officials.insert(*org, Actor { user, role });
    }
    let base = OffsetDateTime::now_utc() - time::Duration::days(3);
    let started = Instant::now();
    let mut made: Vec<(SubmissionId, OrgId)> = Vec::with_capacity(n);
    for i in 0..n {
        let s = pick(&mut rng, &world.subcategory_cdf);
        let org = world.routes[0][s];
        let registered = store
            .register_submission(
                NewSubmission {
                    kind: SubmissionKind::Message,
                    author: citizen.user,
                    subcategory: world.subcategories[s].1,
                    region,
                    org,
                    municipality: None,
                    text: SubmissionText::parse("Яма на дороге у дома 5 по улице Ленина").unwrap(),
                    fields: FormValues::default(),
                    attachments: Vec::new(),
                    channel: Channel::Portal,
                    origin: None,
                    public: false,
                },
                base + time::Duration::seconds(i as i64),
            )
            .await
            .unwrap();
        made.push((registered.id, org));
    }
    let answer = AnswerText::parse("Яма будет заделана в течение недели").unwrap();
    let phases: [Phase; 3] = [
        (time::Duration::hours(2), &|i| {
            Some((officials[&made[i].1], Action::TakeIntoWork))
        }),
        (time::Duration::days(1), &|i| {
            Some((
                officials[&made[i].1],
                Action::Answer {
                    text: answer.clone(),
                },
            ))
        }),
        (time::Duration::days(1) + time::Duration::hours(1), &|i| {
            (i % 2 == 0).then(|| {
                (
                    citizen,
                    Action::Rate {
                        score: Score::new((i / 2 % 5) as u8 + 1).unwrap(),
                        comment: None,
                    },
                )
            })
        }),
    ];
    for (later, action_of) in phases {
        let mut work: Vec<Vec<_>> = (0..WORKERS).map(|_| Vec::new()).collect();
        for (i, (id, _)) in made.iter().enumerate() {
            if let Some((actor, action)) = action_of(i) {
                let at = base + later + time::Duration::seconds(i as i64);
                work[i % WORKERS].push((*id, actor, action, at));
            }
        }
        let mut tasks = tokio::task::JoinSet::new();
        for items in work {
            let store = store.clone();
            tasks.spawn(async move {
                for (id, actor, action, at) in items {
                    store
                        .apply(id, actor, action, Vec::new(), at)
                        .await
                        .unwrap();
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    }
    let position = store.analytics_position().await.unwrap();
    let leaves = position.log_size - position.cursor;
    println!(
        "follower: {n} submissions, {leaves} log leaves created through the store in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut batches = Vec::new();
    let (mut counted, mut read) = (0u64, 0u64);
    let started = Instant::now();
    loop {
        let batch = Instant::now();
        let outcome = store
            .analytics_follow(FOLLOW_BATCH, OffsetDateTime::now_utc())
            .await
            .unwrap();
        if outcome.leaves == 0 {
            break;
        }
        batches.push(batch.elapsed());
        counted += outcome.counted;
        read += outcome.leaves;
    }
    let elapsed = started.elapsed();
    assert_eq!(read, leaves, "caught up");
    batches.sort_unstable();
    println!(
        "follower: {counted} events and incidents ({read} leaves) counted in {:.2} s = {:.0} events/s; {FOLLOW_BATCH} leaves a batch: p50 {:.1} ms, max {:.1} ms",
        elapsed.as_secs_f64(),
        counted as f64 / elapsed.as_secs_f64(),
        ms(batches[batches.len() / 2]),
        ms(batches[batches.len() - 1]),
    );
}
