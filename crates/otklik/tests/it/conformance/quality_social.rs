//! The service-quality feed's second source on both backends: posts found by social-media
//! monitoring that judge a service (relevant, routed, a sentiment either way, a criterion
//! named) are opinions at their ingest batch's log index, in post id order, between the
//! ratings around them; problem reports, neutral, irrelevant, unrouted and copied posts are
//! not; a post routed later is an opinion at the leaf that routed it, and a re-route
//! rewrites nothing already read; a page ends after a whole batch; and no text, link or
//! author leaves.

use super::*;
use otklik_social::{RawPost, ReplyTarget};

const SOURCE: &str = "vk-tver";

/// A post as the pipeline hands it over: relevant, a pothole in Tver, with `sentiment`.
fn post(n: i64, text: &str, sentiment: &str) -> AnalysedPost {
    let published = (T0 + Duration::minutes(n)).unix_timestamp();
    let base = crate::support::analysed_post("Ямы", &format!("-100_{n}"), text, published);
    AnalysedPost {
        post: RawPost {
            source: SOURCE.to_owned(),
            url: Some(format!("https://vk.example.ru/wall-100_{n}")),
            reply: ReplyTarget::VkWall {
                owner_id: -100,
                post_id: n,
            },
            ..base.post
        },
        sentiment: sentiment.to_owned(),
        ..base
    }
}

async fn ingest(store: &dyn Store, posts: &[AnalysedPost], now: OffsetDateTime) {
    let rules = IngestRules {
        answer_hours: 24,
        cluster_hours: 72,
    };
    store
        .social_ingest(posts, &[], &[], rules, now)
        .await
        .unwrap();
}

/// A rated answer (score 3, «долго»): one `rated` leaf.
async fn rated(store: &dyn Store, w: &World, at: OffsetDateTime) {
    let id = w.submit(store, w.citizen, at).await;
    act(store, id, w.official, Action::TakeIntoWork, at).await;
    let text = answer("Яма заделана");
    act(store, id, w.official, Action::Answer { text }, at).await;
    let comment = Some(RatingComment::parse("Долго, но сделали").unwrap());
    let rate = Action::Rate {
        score: score(3),
        comment,
    };
    act(store, id, w.citizen, rate, at).await;
}

/// The log's size now: a page of everything ends there.
async fn size(store: &dyn Store) -> u64 {
    store.quality_opinions(0, 1_000).await.unwrap().next_cursor
}

/// Every incident (the first 500).
async fn all_incidents(store: &dyn Store) -> Vec<otklik_store::SocialIncident> {
    let query = SocialQuery {
        limit: 500,
        ..SocialQuery::default()
    };
    store.social_incidents(&query, T0).await.unwrap()
}

/// Post ids by external id, from every incident.
async fn post_ids(store: &dyn Store) -> BTreeMap<i64, String> {
    let mut ids = BTreeMap::new();
    for incident in all_incidents(store).await {
        for p in store.social_incident(incident.id).await.unwrap().1 {
            ids.insert(p.id, p.external_id);
        }
    }
    ids
}

pub(super) async fn quality_feed_carries_posts_that_judge_a_service(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    rated(s, &w, T0).await;
    let before = size(s).await;

    let queue = "В МФЦ огромная очередь, сотрудники хамят";
    let batch = vec![
        // A problem report: no criterion named.
        post(1, "Яма на Советской у дома 3", "negative"),
        // Waiting time and staff, negative: 2 on both.
        post(2, queue, "negative"),
        // Service time, positive: 4.
        post(3, "Яму заделали быстро, спасибо", "positive"),
        // Names a criterion but is neutral.
        post(4, "Очередь в МФЦ с утра, талоны выдают", "neutral"),
        // Not about a public body.
        AnalysedPost {
            relevant: false,
            subcategory: None,
            ..post(5, "Очередь в кино огромная, сотрудники грубые", "negative")
        },
        // Routed nowhere: a region with neither route nor coordinator.
        AnalysedPost {
            region_code: Some("RU-SAM".to_owned()),
            place: Some("Самара".to_owned()),
            ..post(6, "Ждали ремонта месяцами, сроки сорваны", "negative")
        },
        // A copy of post 2: the same opinion once.
        post(7, queue, "negative"),
        // Unrouted lighting in Tver goes to the coordinator: routed, so it counts.
        AnalysedPost {
            subcategory: Some("Освещение".to_owned()),
            ..post(8, "На сайте ничего не разъяснили про сроки", "positive")
        },
    ];
    ingest(s, &batch, T0 + Duration::minutes(10)).await;
    let leaf = size(s).await - 1;
    assert_eq!(leaf, before, "one leaf per batch");
    // A batch of problem reports only, and a staff action's leaf: no opinions.
    ingest(
        s,
        &[post(9, "Яма на Московском шоссе", "negative")],
        T0 + Duration::minutes(20),
    )
    .await;
    let empty_leaf = size(s).await - 1;
    rated(s, &w, T0 + Duration::minutes(30)).await;
    let end = size(s).await;

    let ids = post_ids(s).await;
    let id_of = |external: &str| *ids.iter().find(|(_, e)| e.as_str() == external).unwrap().0;
    let page = s.quality_opinions(0, 1_000).await.unwrap();
    assert_eq!(page.next_cursor, end);
    let seen: Vec<(OpinionSource, u64)> =
        page.opinions.iter().map(|o| (o.source, o.cursor)).collect();
    assert_eq!(
        seen,
        vec![
            (OpinionSource::AnswerRating, before - 1),
            (OpinionSource::SocialPost, leaf),
            (OpinionSource::SocialPost, leaf),
            (OpinionSource::SocialPost, leaf),
            (OpinionSource::AnswerRating, end - 1),
        ],
        "{page:?}"
    );
    assert!(empty_leaf > leaf && empty_leaf < end - 1);
    let posts: Vec<&QualityOpinion> = page.opinions[1..4].iter().collect();
    // In post id order, and only the three that judge the service.
    let mut expected = vec![id_of("-100_2"), id_of("-100_3"), id_of("-100_8")];
    expected.sort_unstable();
    assert_eq!(
        posts.iter().map(|o| o.source_id).collect::<Vec<_>>(),
        expected
    );
    let by_post = |external: &str| {
        *posts
            .iter()
            .find(|o| o.source_id == id_of(external))
            .unwrap()
    };
    let q = by_post("-100_2");
    assert_eq!(q.overall, 2);
    assert_eq!(q.criteria.0, [None, Some(2), Some(2), None, None]);
    assert_eq!(
        (
            q.subject.org_id,
            q.subject.region_code.as_str(),
            q.subject.subcategory_id,
            q.subject.category_name.as_str()
        ),
        (w.org.0, "RU-TVE", w.pothole.0, "Дороги")
    );
    assert_eq!(q.at, T0 + Duration::minutes(2), "the post's time");
    let fast = by_post("-100_3");
    assert_eq!(fast.overall, 4);
    assert_eq!(fast.criteria.0, [Some(4), None, None, None, None]);
    let site = by_post("-100_8");
    // Mapping version 2: «про сроки» asks about information, it does not judge the time
    // (version 1's stem «срок» filled `service_time` too).
    assert_eq!(site.criteria.0, [None, None, None, None, Some(4)]);
    assert_eq!(
        (site.subject.org_id, site.subject.subcategory_id),
        (w.coordinator.0, w.lighting.0)
    );
    // No text, link or author goes out with an opinion.
    let shown = format!("{page:?}");
    for secret in ["МФЦ", "хамят", "сайте", "быстро", "example.ru", "-100_"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }

    // Pages end after whole leaves: a limit of 2 takes the rating and the whole batch.
    let first = s.quality_opinions(0, 2).await.unwrap();
    assert_eq!(first.opinions, page.opinions[..4].to_vec());
    assert_eq!(first.next_cursor, leaf + 1);
    let second = s.quality_opinions(first.next_cursor, 2).await.unwrap();
    assert_eq!(second.opinions, page.opinions[4..].to_vec());
    assert_eq!(second.next_cursor, end);
    // From the batch's own cursor, a limit of 1: the whole batch, the same each time.
    let batch_page = s.quality_opinions(leaf, 1).await.unwrap();
    assert_eq!(batch_page.opinions, page.opinions[1..4].to_vec());
    assert_eq!(batch_page.next_cursor, leaf + 1);
    assert_eq!(s.quality_opinions(leaf, 1).await.unwrap(), batch_page);
    // Past the batch, through the empty one, to the last rating.
    let rest = s.quality_opinions(leaf + 1, 1).await.unwrap();
    assert_eq!(rest.opinions, page.opinions[4..].to_vec());
    assert_eq!(rest.next_cursor, end);

    // A staff action on an incident appends a `social` leaf without posts: read past.
    let incident = all_incidents(s)
        .await
        .into_iter()
        .find(|i| i.org == Some(w.org))
        .unwrap();
    s.social_act(
        incident.id,
        w.official,
        SocialCommand::Answer {
            text: "Работы запланированы".to_owned(),
        },
        T0 + Duration::hours(1),
    )
    .await
    .unwrap();
    let after = s.quality_opinions(end, 10).await.unwrap();
    assert!(after.opinions.is_empty());
    assert_eq!(after.next_cursor, end + 1);
    assert_eq!(
        s.quality_opinions(0, 1_000).await.unwrap().opinions,
        page.opinions
    );

    // Many batches without an opinion: a page stops after a bounded scan, short of the end
    // and empty, yet its cursor moves; following it reaches the next rating.
    let from = end + 1;
    for n in 0..20 {
        let report = post(100 + n, &format!("Яма номер {n} на Лесной"), "negative");
        ingest(s, &[report], T0 + Duration::hours(2) + Duration::minutes(n)).await;
    }
    rated(s, &w, T0 + Duration::hours(3)).await;
    let (mut cursor, mut pages, mut found) = (from, 0, Vec::new());
    loop {
        let page = s.quality_opinions(cursor, 1).await.unwrap();
        pages += 1;
        found.extend(page.opinions);
        if page.next_cursor == cursor {
            break;
        }
        cursor = page.next_cursor;
    }
    assert_eq!(cursor, size(s).await);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].source, OpinionSource::AnswerRating);
    assert!(pages > 2, "the scan is bounded: {pages} pages");

    // A post routed nowhere becomes an opinion when the operator routes its incident: at
    // that action's leaf, after every cursor handed out before, never at its old batch.
    let everything = s.quality_opinions(0, 1_000).await.unwrap();
    let incidents = all_incidents(s).await;
    let dark = incidents.iter().find(|i| i.org.is_none()).unwrap().id;
    s.social_act(
        dark,
        w.operator,
        SocialCommand::Reroute { org: w.org },
        T0 + Duration::hours(4),
    )
    .await
    .unwrap();
    let routing_leaf = size(s).await - 1;
    let late = s
        .quality_opinions(everything.next_cursor, 10)
        .await
        .unwrap();
    assert_eq!(late.next_cursor, routing_leaf + 1);
    assert_eq!(late.opinions.len(), 1, "{late:?}");
    let samara = &late.opinions[0];
    assert_eq!(
        (samara.source_id, samara.cursor, samara.subject.org_id),
        (id_of("-100_6"), routing_leaf, w.org.0)
    );
    assert_eq!(samara.subject.region_code, "RU-SAM");

    // Re-routing an incident whose posts were read (the lighting one, still open) does not
    // rewrite them, nor add them again.
    let mut lighting = None;
    for incident in incidents.iter().filter(|i| i.id != dark) {
        let posts = s.social_incident(incident.id).await.unwrap().1;
        if posts.iter().any(|p| p.id == id_of("-100_8")) {
            lighting = Some(incident.id);
        }
    }
    s.social_act(
        lighting.unwrap(),
        w.operator,
        SocialCommand::Reroute { org: w.other_org },
        T0 + Duration::hours(5),
    )
    .await
    .unwrap();
    let all = s.quality_opinions(0, 1_000).await.unwrap();
    let mut expected = everything.opinions.clone();
    expected.extend(late.opinions.clone());
    assert_eq!(all.opinions, expected);
    assert_eq!(all.next_cursor, size(s).await);
    let site = all
        .opinions
        .iter()
        .find(|o| o.source == OpinionSource::SocialPost && o.source_id == id_of("-100_8"))
        .unwrap();
    assert_eq!(
        site.subject.org_id, w.coordinator.0,
        "the organisation of the moment it was routed"
    );
}
