//! The `SearchFeed` trait on both backends: the submissions touched since a cursor over
//! the transparency log, as they are now, with their answers; a caught-up feed returns
//! nothing; a later event brings the submission back with its new state.

use super::*;

pub(super) async fn search_feed_follows_the_log(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let empty = s.search_changes(0, 100).await.unwrap();
    assert_eq!((empty.cursor, empty.submissions.len()), (0, 0));

    let pothole = w.register_pothole_with_photo(s).await;
    let bus = s
        .register_submission(
            w.submission(w.other_citizen, w.bus, "Автобус 21 не пришёл утром"),
            T0,
        )
        .await
        .unwrap()
        .id;
    let first = s.search_changes(0, 100).await.unwrap();
    assert_eq!(first.cursor, 2);
    let ids: Vec<i64> = first.submissions.iter().map(|x| x.id).collect();
    assert_eq!(ids, [pothole.0, bus.0]);
    let p = &first.submissions[0];
    assert_eq!(
        (
            p.status.as_str(),
            p.author,
            p.org,
            p.region,
            p.channel.as_str()
        ),
        (
            "registered",
            w.citizen.user.0,
            w.org.0,
            w.region.0,
            "portal"
        )
    );
    assert!(p.text.contains("Яма на дороге"));
    assert!(p.answers.is_empty());
    // Caught up: nothing, and the cursor stays.
    let none = s.search_changes(first.cursor, 100).await.unwrap();
    assert_eq!(
        (none.cursor, none.submissions.len(), none.leaves),
        (2, 0, 0)
    );

    act(
        s,
        pothole,
        w.official,
        Action::TakeIntoWork,
        T0 + Duration::hours(1),
    )
    .await;
    act(
        s,
        pothole,
        w.official,
        Action::Answer {
            text: answer("Яма заделана асфальтом"),
        },
        T0 + Duration::hours(2),
    )
    .await;
    let next = s.search_changes(first.cursor, 100).await.unwrap();
    assert_eq!(next.cursor, 4);
    assert_eq!(next.submissions.len(), 1, "one submission, touched twice");
    let answered = &next.submissions[0];
    assert_eq!(answered.status, "answered");
    assert_eq!(answered.answers.len(), 1);
    assert_eq!(answered.answers[0].body, "Яма заделана асфальтом");
    // A small limit pages through the log.
    let page = s.search_changes(0, 1).await.unwrap();
    assert_eq!((page.cursor, page.leaves), (1, 1));
}

/// A relevant post about a burst pipe in Tver, as the pipeline hands it over.
fn pipe_post(external_id: &str, text: &str, relevant: bool) -> AnalysedPost {
    let published = (T0 - Duration::hours(1)).unix_timestamp();
    AnalysedPost {
        relevant,
        ..crate::support::analysed_post("Ямы", external_id, text, published)
    }
}

/// Register incidents, social-media incidents and their posts come through the feed
/// too: an incident's leaf brings its register row (and a submission's leaves all of its
/// rows), an ingest batch's leaf its incidents and relevant posts, a staff action's leaf the
/// incident as it is now (and, when it moves or reroutes posts, those posts).
pub(super) async fn search_feed_brings_incidents_social_incidents_and_posts(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let pothole = w.register_pothole_with_photo(s).await;
    act(s, pothole, w.official, Action::TakeIntoWork, T0).await;
    act(
        s,
        pothole,
        w.official,
        Action::Answer {
            text: answer("Готово"),
        },
        T0,
    )
    .await;
    let start = s.search_changes(0, 1000).await.unwrap();
    assert!(start.incidents.is_empty() && start.social_incidents.is_empty());
    assert!(!start.submissions[0].public);
    // A low rating raises a register incident with its leaf.
    act(
        s,
        pothole,
        w.citizen,
        Action::Rate {
            score: score(1),
            comment: None,
        },
        T0,
    )
    .await;
    let rated = s.search_changes(start.cursor, 1000).await.unwrap();
    assert_eq!(rated.incidents.len(), 1, "{rated:?}");
    let low = &rated.incidents[0];
    assert_eq!(
        (
            low.kind.as_str(),
            low.submission,
            low.subcategory_name.as_deref(),
            low.org,
            low.region,
            low.resolved,
            low.social_incident,
        ),
        (
            "low_rating",
            Some(pothole.0),
            Some("Ямы"),
            Some(w.org.0),
            Some(w.region.0),
            false,
            None,
        )
    );
    assert!(low.submission_number.is_some());

    // One ingest batch: one leaf naming its incident and its posts; irrelevant posts are
    // stored but not returned.
    let log_before = s.log_info().await.unwrap().size;
    let report = s
        .social_ingest(
            &[
                pipe_post("1", "Прорвало трубу на Садовой, кипяток хлещет", true),
                pipe_post("2", "На Садовой опять прорвало трубу", true),
                pipe_post("3", "Поздравляем всех с праздником", false),
            ],
            &[],
            &[],
            IngestRules {
                answer_hours: 24,
                cluster_hours: 72,
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!(report.stored, 3);
    assert_eq!(s.log_info().await.unwrap().size, log_before + 1);
    let ingested = s.search_changes(rated.cursor, 1000).await.unwrap();
    assert_eq!(ingested.leaves, 1);
    assert!(ingested.submissions.is_empty());
    assert_eq!(ingested.social_incidents.len(), 1, "{ingested:?}");
    let social = &ingested.social_incidents[0];
    assert_eq!(
        (
            social.status.as_str(),
            social.region,
            social.subcategory,
            social.org
        ),
        ("open", Some(w.region.0), Some(w.pothole.0), Some(w.org.0))
    );
    let texts: Vec<&str> = ingested.posts.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Прорвало трубу на Садовой, кипяток хлещет",
            "На Садовой опять прорвало трубу"
        ]
    );
    assert!(ingested
        .posts
        .iter()
        .all(|p| p.incident == Some(social.id) && p.org == Some(w.org.0) && p.platform == "vk"));

    // A staff action: one leaf, the incident as it is now.
    s.social_act(
        social.id,
        w.operator,
        SocialCommand::Answer {
            text: "Бригада выехала на Садовую.".to_owned(),
        },
        T0 + Duration::minutes(5),
    )
    .await
    .unwrap();
    let answered = s.search_changes(ingested.cursor, 1000).await.unwrap();
    assert_eq!(answered.leaves, 1);
    assert_eq!(answered.social_incidents.len(), 1);
    assert_eq!(answered.social_incidents[0].status, "answered");
    assert_eq!(
        answered.social_incidents[0].answer.as_deref(),
        Some("Бригада выехала на Садовую.")
    );
    assert!(answered.posts.is_empty(), "an answer moves no post");

    // A reroute moves the incident's posts to the new organisation.
    let other = s
        .social_ingest(
            &[pipe_post("4", "Нет света в подъезде на Тверской", true)],
            &[],
            &[],
            IngestRules {
                answer_hours: 24,
                cluster_hours: 72,
            },
            T0 + Duration::minutes(10),
        )
        .await
        .unwrap();
    assert_eq!(other.incidents_created, 1);
    let before = s.search_changes(answered.cursor, 1000).await.unwrap();
    let dark = before.social_incidents[0].id;
    s.social_act(
        dark,
        w.operator,
        SocialCommand::Reroute { org: w.other_org },
        T0 + Duration::minutes(15),
    )
    .await
    .unwrap();
    let rerouted = s.search_changes(before.cursor, 1000).await.unwrap();
    assert_eq!(rerouted.social_incidents[0].org, Some(w.other_org.0));
    assert_eq!(rerouted.posts.len(), 1);
    assert_eq!(rerouted.posts[0].org, Some(w.other_org.0));

    // A social incident's breach: its register row, without organisation's scope lost.
    let late = T0 + Duration::days(3);
    assert_eq!(s.social_monitor(late).await.unwrap(), 1);
    let breached = s.search_changes(rerouted.cursor, 1000).await.unwrap();
    assert_eq!(breached.incidents.len(), 1, "{breached:?}");
    assert_eq!(
        (
            breached.incidents[0].kind.as_str(),
            breached.incidents[0].social_incident,
            breached.incidents[0].social_title.is_some(),
            breached.incidents[0].submission
        ),
        ("late_social_answer", Some(dark), true, None)
    );

    // Resolving a register incident appends a leaf: both come back resolved (the
    // submission's through its submission, the social incident's through its JSON).
    for (incident, at) in [(low.id, 1), (breached.incidents[0].id, 2)] {
        s.resolve_incident(
            w.operator.user,
            IncidentId(incident),
            &reason("Разобрано"),
            late + Duration::minutes(at),
        )
        .await
        .unwrap();
    }
    let resolved = s.search_changes(breached.cursor, 1000).await.unwrap();
    assert_eq!(resolved.leaves, 2);
    let states: Vec<(i64, bool)> = resolved
        .incidents
        .iter()
        .map(|i| (i.id, i.resolved))
        .collect();
    assert_eq!(states, [(low.id, true), (breached.incidents[0].id, true)]);

    // The new leaves keep the log auditable, and analytics skips them.
    let report = s.audit_log(AuditOptions::default()).await.unwrap();
    assert!(report.divergence.is_none(), "{report:?}");
    s.analytics_follow(10_000, late).await.unwrap();
    s.quality_opinions(0, 10_000).await.unwrap();
}
