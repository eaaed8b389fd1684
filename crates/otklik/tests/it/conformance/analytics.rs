//! The `Analytics` trait on both backends: the follower counts what the log's events and
//! incidents mean, in small batches as they happen, exactly once; every materialised
//! projection sums to the same totals; a rebuild from the start reproduces every cell.

use super::*;
use otklik_domain::analytics::{day_of, days_from_civil, Dim, Figures, Grain, Measure, Timing};

async fn catch_up(store: &dyn Store, batch: u32) -> u64 {
    let mut counted = 0;
    loop {
        let outcome = store.analytics_follow(batch, T0).await.unwrap();
        counted += outcome.counted;
        if outcome.leaves == 0 {
            return counted;
        }
    }
}

fn query(from_day: i64, to_day: i64, group: &[Dim], series: Option<Grain>) -> CellQuery {
    CellQuery {
        filter: AnalyticsFilter::default(),
        from_day,
        to_day,
        group: group.to_vec(),
        series,
    }
}

/// Every read worth comparing: each grouping the dashboards use, by day, by month, and
/// over ranges that do and do not fall on month boundaries.
async fn snapshot(store: &dyn Store, from: i64, to: i64) -> Vec<Vec<CellSum>> {
    let groups: [&[Dim]; 6] = [
        &[],
        &[Dim::Org],
        &[Dim::Region, Dim::Org],
        &[Dim::Subcategory],
        &[Dim::Channel, Dim::Kind],
        &[
            Dim::Region,
            Dim::Org,
            Dim::Subcategory,
            Dim::Channel,
            Dim::Kind,
        ],
    ];
    let mut all = Vec::new();
    for group in groups {
        for series in [None, Some(Grain::Day), Some(Grain::Month)] {
            for (a, b) in [(from, to), (from + 3, to - 2)] {
                all.push(
                    store
                        .analytics_cells(&query(a, b, group, series))
                        .await
                        .unwrap(),
                );
            }
        }
    }
    all
}

pub(super) async fn analytics_follower_agrees_with_a_rebuild(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let early = T0 - Duration::days(40);
    // An appeal through the widget, taken and answered on time.
    let appeal = s
        .register_submission(
            NewSubmission {
                kind: SubmissionKind::Appeal,
                channel: Channel::Widget,
                ..w.submission(w.citizen, w.bus, "Автобус 21 не ходит по выходным")
            },
            early,
        )
        .await
        .unwrap()
        .id;
    act(
        s,
        appeal,
        w.official,
        Action::TakeIntoWork,
        early + Duration::hours(2),
    )
    .await;
    assert_eq!(
        s.analytics_follow(2, T0).await.unwrap().counted,
        2,
        "a batch of two leaves"
    );
    act(
        s,
        appeal,
        w.official,
        Action::Answer {
            text: answer("Рейсы по выходным добавлены с 1 декабря"),
        },
        early + Duration::days(3),
    )
    .await;
    // A message redirected to another organisation, which rejects it.
    let moved = w
        .submit(s, w.other_citizen, early + Duration::days(1))
        .await;
    act(
        s,
        moved,
        w.official,
        Action::Redirect {
            to: w.other_org,
            reason: reason("Дорога муниципальная"),
        },
        early + Duration::days(2),
    )
    .await;
    act(
        s,
        moved,
        w.other_official,
        Action::Reject {
            ground: RejectionGround::UnreadableText,
            comment: reason("Текст не поддаётся прочтению"),
        },
        early + Duration::days(2) + Duration::hours(5),
    )
    .await;
    catch_up(s, 3).await;
    // A message answered late, rated 1 (an incident) and sent back.
    let late = w.submit(s, w.citizen, T0 - Duration::days(30)).await;
    act(
        s,
        late,
        w.official,
        Action::TakeIntoWork,
        T0 - Duration::days(29),
    )
    .await;
    act(
        s,
        late,
        w.official,
        Action::Answer {
            text: answer("Яма будет заделана весной"),
        },
        T0 - Duration::days(2),
    )
    .await;
    act(
        s,
        late,
        w.citizen,
        Action::Rate {
            score: score(1),
            comment: None,
        },
        T0 - Duration::days(1),
    )
    .await;
    act(
        s,
        late,
        w.citizen,
        Action::SendBack {
            reason: reason("Яма на месте"),
        },
        T0 - Duration::hours(20),
    )
    .await;
    let counted = catch_up(s, 4).await;
    assert!(counted > 0);
    assert_eq!(
        catch_up(s, 4).await,
        0,
        "caught up: nothing is counted twice"
    );
    let position = s.analytics_position().await.unwrap();
    assert_eq!(position.cursor, position.log_size);

    let from = day_of((early - Duration::days(5)).unix_timestamp());
    let to = day_of(T0.unix_timestamp());
    let totals = s
        .analytics_cells(&query(from, to, &[], None))
        .await
        .unwrap();
    assert_eq!(totals.len(), 1);
    let f = &totals[0].figures;
    let seen = |m: Measure| f.get(m);
    assert_eq!(seen(Measure::Registered), 3);
    assert_eq!(seen(Measure::RedirectedIn), 1);
    assert_eq!(f.received(), 4);
    assert_eq!(seen(Measure::TakenIntoWork), 2);
    assert_eq!(
        (seen(Measure::Answered), seen(Measure::AnsweredOnTime)),
        (2, 1)
    );
    assert_eq!(seen(Measure::Redirected), 1);
    assert_eq!(seen(Measure::Rejected(RejectionGround::UnreadableText)), 1);
    assert_eq!((seen(Measure::Rated(1)), seen(Measure::SentBack)), (1, 1));
    assert_eq!(
        seen(Measure::Incident(
            otklik_domain::lifecycle::IncidentKind::LowRating
        )),
        1
    );
    assert_eq!(totals[0].times.count(Timing::Answer), 2);
    assert_eq!(totals[0].times.count(Timing::Route), 1);
    let median = totals[0].times.quantile(Timing::Take, 0.5).unwrap();
    assert!(
        (3_000..=100_000).contains(&median),
        "taken after 2 h and after a day: {median}"
    );

    // Organisations: the redirect charges the first, the rejection the second.
    let by_org = s
        .analytics_cells(&query(from, to, &[Dim::Org], None))
        .await
        .unwrap();
    let of = |org: OrgId| {
        by_org
            .iter()
            .find(|c| c.key.org == org.0)
            .map(|c| c.figures)
            .unwrap_or_default()
    };
    assert_eq!(of(w.org).get(Measure::Redirected), 1);
    assert_eq!(of(w.other_org).get(Measure::RedirectedIn), 1);
    assert_eq!(of(w.other_org).rejected(), 1);
    assert_eq!(of(w.org).rejected(), 0);
    // Channels and kinds.
    let by_channel = s
        .analytics_cells(&query(from, to, &[Dim::Channel, Dim::Kind], None))
        .await
        .unwrap();
    let widget: i64 = by_channel
        .iter()
        .filter(|c| c.key.channel.map(|k| k.channel()) == Some(Channel::Widget))
        .map(|c| c.figures.get(Measure::Registered))
        .sum();
    assert_eq!(widget, 1);
    // Filters: the other organisation's figures alone; an empty region list is nothing.
    let other = s
        .analytics_cells(&CellQuery {
            filter: AnalyticsFilter {
                org: Some(w.other_org.0),
                ..Default::default()
            },
            ..query(from, to, &[], None)
        })
        .await
        .unwrap();
    assert_eq!(other[0].figures.received(), 1);
    let nothing = s
        .analytics_cells(&CellQuery {
            filter: AnalyticsFilter {
                regions: Some(Vec::new()),
                ..Default::default()
            },
            ..query(from, to, &[], None)
        })
        .await
        .unwrap();
    assert!(nothing.is_empty());
    // Every projection and every way of cutting the period sums to the same totals.
    let groups: [&[Dim]; 4] = [
        &[Dim::Region, Dim::Org],
        &[Dim::Subcategory, Dim::Kind],
        &[Dim::Region, Dim::Org, Dim::Subcategory],
        &[Dim::Org, Dim::Channel],
    ];
    for group in groups {
        for series in [None, Some(Grain::Day), Some(Grain::Month)] {
            let sums = s
                .analytics_cells(&query(from, to, group, series))
                .await
                .unwrap();
            let mut total = Figures::default();
            sums.iter().for_each(|c| total.add(&c.figures));
            assert_eq!(total, *f, "{group:?} {series:?}");
        }
    }
    // A month boundary inside the range: months and edge days together equal the days.
    let nov = days_from_civil(2026, 11, 1);
    let by_days = s
        .analytics_cells(&query(nov - 3, nov + 40, &[], Some(Grain::Day)))
        .await
        .unwrap();
    let mut from_days = Figures::default();
    by_days.iter().for_each(|c| from_days.add(&c.figures));
    let whole = s
        .analytics_cells(&query(nov - 3, nov + 40, &[], None))
        .await
        .unwrap();
    assert_eq!(
        whole.first().map(|c| c.figures).unwrap_or_default(),
        from_days
    );

    // Exports page through a list by keyset: every card once, newest first.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let chunk = s
            .list_chunk(Scope::All, &list_query(), before, 2)
            .await
            .unwrap();
        if chunk.is_empty() {
            break;
        }
        before = chunk.last().map(|c| c.id);
        seen.extend(chunk.iter().map(|c| c.id.0));
    }
    assert_eq!(seen, [late.0, moved.0, appeal.0]);
    let org_only = s
        .list_chunk(Scope::Organisation(w.other_org), &list_query(), None, 10)
        .await
        .unwrap();
    assert_eq!(org_only.iter().map(|c| c.id).collect::<Vec<_>>(), [moved]);

    // The rebuild recomputes every cell exactly.
    let before = snapshot(s, from, to).await;
    s.analytics_reset(T0).await.unwrap();
    assert!(s
        .analytics_cells(&query(from, to, &[], None))
        .await
        .unwrap()
        .is_empty());
    catch_up(s, 10_000).await;
    assert_eq!(snapshot(s, from, to).await, before);
}

/// A node keeps the sums it read per range of periods; every write, into any period (a
/// late incident lands on an old day), a reset, and a rebuild are seen by the next read.
pub(super) async fn analytics_kept_sums_follow_every_write(store: Arc<dyn Store>) {
    use otklik_domain::analytics::{CellKey, ChannelKey, Delta, KindKey, REPORTING_OFFSET_SECONDS};
    use otklik_domain::lifecycle::{Channel, SubmissionKind};
    let s = store.as_ref();
    let key = |org: i64| CellKey {
        region: 1,
        org,
        subcategory: 1,
        channel: Some(ChannelKey::of(Channel::Portal)),
        kind: Some(KindKey::of(SubmissionKind::Message)),
    };
    let delta = |org: i64, day: i64, bucket: usize| Delta {
        key: key(org),
        at: day * 86_400 - REPORTING_OFFSET_SECONDS + 3_600,
        measures: vec![Measure::Registered],
        timings: vec![(Timing::Answer, bucket)],
    };
    let sep = days_from_civil(2026, 9, 1);
    let (from, to) = (sep, sep + 75);
    // What a dashboard reads: totals, by organisation, a monthly and a daily series.
    let reads = [
        query(from, to, &[], None),
        query(from, to, &[Dim::Org], None),
        query(from, to, &[], Some(Grain::Month)),
        query(from + 3, to - 2, &[Dim::Org], Some(Grain::Day)),
    ];
    let read = || async {
        let mut all = Vec::new();
        for q in &reads {
            all.push(s.analytics_cells(q).await.unwrap());
        }
        all
    };
    let registered = |sums: &[CellSum]| -> i64 {
        sums.iter()
            .map(|c| c.figures.get(Measure::Registered))
            .sum()
    };
    let answered_in = |sums: &[CellSum], bucket: usize| -> i64 {
        sums.iter().map(|c| c.times.0[2][bucket]).sum()
    };
    assert!(read().await.iter().all(Vec::is_empty));
    s.analytics_import(&[delta(1, sep + 5, 3), delta(2, sep + 40, 4), delta(1, to, 5)])
        .await
        .unwrap();
    let first = read().await;
    assert_eq!(registered(&first[0]), 3);
    assert_eq!(first, read().await, "the same, read again");
    // A write into an old day, inside a range read before.
    s.analytics_import(&[delta(2, sep + 5, 3)]).await.unwrap();
    let second = read().await;
    assert_eq!(registered(&second[0]), 4);
    assert_eq!(answered_in(&second[0], 3), 2);
    assert_eq!(second[1].len(), 2, "two organisations");
    assert_eq!(registered(&second[2]), 4, "the monthly series");
    assert_eq!(
        registered(&second[3]),
        3,
        "the daily series leaves out the last day"
    );
    // Into the last day: the range read apart.
    s.analytics_import(&[delta(1, to, 5)]).await.unwrap();
    assert_eq!(registered(&read().await[0]), 5);
    // A reset empties every read; what is added again is read again.
    s.analytics_reset(T0).await.unwrap();
    assert!(read().await.iter().all(Vec::is_empty));
    s.analytics_import(&[delta(1, sep + 5, 7)]).await.unwrap();
    let after = read().await;
    assert_eq!(registered(&after[0]), 1);
    assert_eq!(answered_in(&after[0], 7), 1);
    assert_eq!(answered_in(&after[0], 3), 0);
}

pub(super) async fn quality_feed_reads_ratings_by_cursor_and_leases_the_push(
    store: Arc<dyn Store>,
) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let empty = s.quality_opinions(0, 10).await.unwrap();
    assert!(empty.opinions.is_empty());
    let id = w.submit(s, w.citizen, T0).await;
    act(
        s,
        id,
        w.official,
        Action::TakeIntoWork,
        T0 + Duration::hours(1),
    )
    .await;
    act(
        s,
        id,
        w.official,
        Action::Answer {
            text: answer("Яма заделана"),
        },
        T0 + Duration::hours(2),
    )
    .await;
    act(
        s,
        id,
        w.citizen,
        Action::Rate {
            score: score(3),
            comment: Some(RatingComment::parse("Долго, но сделали").unwrap()),
        },
        T0 + Duration::hours(3),
    )
    .await;
    let page = s.quality_opinions(0, 10).await.unwrap();
    assert_eq!(page.opinions.len(), 1);
    let o = &page.opinions[0];
    assert_eq!(
        (o.overall, o.subject.org_id, o.subject.region_code.as_str()),
        (3, w.org.0, "RU-TVE")
    );
    assert_eq!(o.criteria.0, [Some(3), None, Some(3), None, None]);
    assert_eq!(page.next_cursor, 4, "the log's size: four events");
    assert!(s
        .quality_opinions(page.next_cursor, 10)
        .await
        .unwrap()
        .opinions
        .is_empty());
    // The push's lease: one holder at a time; a failure defers; done moves the cursor
    // only from where it was.
    let lease = std::time::Duration::from_secs(30);
    assert_eq!(s.quality_push_claim(T0, lease).await.unwrap(), Some((0, 0)));
    assert_eq!(
        s.quality_push_claim(T0, lease).await.unwrap(),
        None,
        "leased"
    );
    s.quality_push_failed(0, "http_503", T0 + Duration::seconds(10))
        .await
        .unwrap();
    assert_eq!(
        s.quality_push_claim(T0, lease).await.unwrap(),
        None,
        "not due yet"
    );
    let later = T0 + Duration::seconds(11);
    assert_eq!(
        s.quality_push_claim(later, lease).await.unwrap(),
        Some((0, 1))
    );
    s.quality_push_done(0, 4, 1).await.unwrap();
    s.quality_push_done(0, 9, 5).await.unwrap(); // stale: ignored
    let state = s.quality_push_state().await.unwrap();
    assert_eq!(
        (state.next_cursor, state.delivered, state.attempts),
        (4, 1, 0)
    );
    assert_eq!(state.last_error, None);
}

pub(super) async fn export_jobs_are_leased_resumed_and_private(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let lease = std::time::Duration::from_secs(60);
    let me = w.official.user;
    let id = s
        .create_export_job(me, "submissions", "csv", "{}", T0)
        .await
        .unwrap();
    let job = s.claim_export_job(T0, lease).await.unwrap().unwrap();
    assert_eq!((job.id, job.status.as_str()), (id, "running"));
    assert!(
        s.claim_export_job(T0, lease).await.unwrap().is_none(),
        "leased"
    );
    s.add_export_part(id, job.token, 0, b"first", 10, T0 + Duration::seconds(60))
        .await
        .unwrap();
    // Its node dies: after the lease another takes it again, from nothing.
    let later = T0 + Duration::seconds(61);
    let again = s.claim_export_job(later, lease).await.unwrap().unwrap();
    assert_eq!((again.id, again.rows_done, again.bytes), (id, 0, 0));
    s.add_export_part(id, again.token, 0, b"hello ", 1, later)
        .await
        .unwrap();
    s.add_export_part(id, again.token, 1, b"world", 2, later)
        .await
        .unwrap();
    assert_eq!(
        s.export_part(id, me, 0).await.unwrap(),
        None,
        "not done yet"
    );
    s.finish_export_job(id, again.token, None, later)
        .await
        .unwrap();
    let done = s.export_job(id, me).await.unwrap();
    assert_eq!(
        (done.status.as_str(), done.rows_done, done.bytes),
        ("done", 2, 11)
    );
    assert_eq!(s.export_part(id, me, 1).await.unwrap().unwrap(), b"world");
    assert_eq!(s.export_part(id, me, 2).await.unwrap(), None);
    let other = w.other_official.user;
    assert_eq!(outcome(s.export_job(id, other).await), "not_found");
    assert_eq!(s.export_part(id, other, 0).await.unwrap(), None);
    assert!(s.export_jobs_of(other, 10).await.unwrap().is_empty());
    let failed = s
        .create_export_job(me, "submissions", "xlsx", "{}", T0)
        .await
        .unwrap();
    let failing = s.claim_export_job(later, lease).await.unwrap().unwrap();
    s.finish_export_job(failed, failing.token, Some("internal_error"), later)
        .await
        .unwrap();
    let mine = s.export_jobs_of(me, 10).await.unwrap();
    let states: Vec<(&str, Option<&str>)> = mine
        .iter()
        .map(|j| (j.status.as_str(), j.error.as_deref()))
        .collect();
    assert_eq!(states, [("failed", Some("internal_error")), ("done", None)]);
    // The analytics page's tables are a kind of their own, leased and kept the same way.
    let params = r#"{"table":"kinds","params":{},"reach":"everything","min_group":5}"#;
    let report = s
        .create_export_job(me, "analytics", "csv", params, T0)
        .await
        .unwrap();
    let claimed = s.claim_export_job(later, lease).await.unwrap().unwrap();
    assert_eq!(
        (claimed.id, claimed.kind.as_str(), claimed.params.as_str()),
        (report, "analytics", params)
    );
    s.add_export_part(report, claimed.token, 0, b"\xef\xbb\xbf", 0, later)
        .await
        .unwrap();
    s.finish_export_job(report, claimed.token, None, later)
        .await
        .unwrap();
    assert_eq!(
        s.export_part(report, me, 0).await.unwrap().unwrap(),
        b"\xef\xbb\xbf"
    );
    assert_eq!(s.export_part(report, other, 0).await.unwrap(), None);
    assert!(
        s.create_export_job(me, "everything", "csv", "{}", T0)
            .await
            .is_err(),
        "no other kinds"
    );
}
