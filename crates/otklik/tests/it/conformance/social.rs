//! The `Social` trait on both backends: a connector's batches are stored once with their
//! cursor and quarantine, the inbox becomes analysed posts clustered into incidents and
//! routed like submissions, duplicates join their original, actions follow
//! `social::decide` (a refused action changes nothing), answers are queued under the posts
//! and leased out, the monitor records a breach once, and the queue filters and orders.
//!
//! Signatures are `Signature::of` the texts, as the pipeline computes them; two are made
//! by hand from the original's, to sit exactly on `NEAR_DISTANCE` and one bit past it.

use super::*;
use otklik_domain::lifecycle::IncidentKind;
use otklik_domain::social::{DismissReason, IncidentError, IncidentScope, IncidentStatus};
use otklik_social::signature::{distance, Signature, NEAR_DISTANCE};
use otklik_social::{Platform, Quarantined, RawPost, ReplyTarget};

const VK: &str = "vk-tver";
const TG: &str = "tg-tver";
const POTHOLES: &str = "Ямы";
const LIGHTING: &str = "Освещение";
const TVER: &str = "RU-TVE";
const SAMARA: &str = "RU-SAM";
/// Thursday 3 December 2026, 22:00 in Moscow: published before the first poll.
const EVENING: OffsetDateTime = datetime!(2026-12-03 19:00 UTC);

fn rules() -> IngestRules {
    IngestRules {
        answer_hours: 24,
        cluster_hours: 72,
    }
}

/// A post as a connector hands it over.
fn raw(
    source: &str,
    external_id: &str,
    text: &str,
    published: OffsetDateTime,
    reply: ReplyTarget,
) -> RawPost {
    RawPost {
        source: source.to_owned(),
        platform: if source == TG {
            Platform::Telegram
        } else {
            Platform::Vk
        },
        external_id: external_id.to_owned(),
        url: Some(format!("https://example.ru/{source}/{external_id}")),
        text: text.to_owned(),
        published_at: published.unix_timestamp(),
        reply,
    }
}

fn quarantined(
    source: &str,
    external_id: Option<&str>,
    reason: &str,
    excerpt: &str,
) -> Quarantined {
    Quarantined {
        source: source.to_owned(),
        external_id: external_id.map(str::to_owned),
        reason: reason.to_owned(),
        excerpt: excerpt.to_owned(),
    }
}

fn vk_wall(post_id: i64) -> ReplyTarget {
    ReplyTarget::VkWall {
        owner_id: -100,
        post_id,
    }
}

fn telegram(message_id: i64) -> ReplyTarget {
    ReplyTarget::Telegram {
        chat_id: -200,
        message_id,
    }
}

fn webhook(n: i64) -> ReplyTarget {
    ReplyTarget::Webhook {
        reply_url: format!("https://partner.example.ru/reply#{n}"),
    }
}

/// A relevant pothole post in Tver, answerable under the VK post (`-100_<n>`), with the
/// signatures of its text.
fn analysed(
    source: &str,
    external_id: &str,
    text: &str,
    published: OffsetDateTime,
) -> AnalysedPost {
    let post_id = external_id
        .rsplit(['_', ':'])
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let signature = Signature::of(text);
    AnalysedPost {
        post: raw(source, external_id, text, published, vk_wall(post_id)),
        text: text.to_owned(),
        language: "ru".to_owned(),
        relevant: true,
        category: None,
        subcategory: Some(POTHOLES.to_owned()),
        confidence: 0.875,
        sentiment: "negative".to_owned(),
        urgent: false,
        region_code: Some(TVER.to_owned()),
        place: Some("Тверь".to_owned()),
        location_confidence: Some(0.75),
        exact: signature.exact,
        minhash: signature.minhash,
    }
}

fn replying(mut post: AnalysedPost, reply: ReplyTarget) -> AnalysedPost {
    post.post.reply = reply;
    post
}

fn at_place(post: AnalysedPost, place: &str) -> AnalysedPost {
    AnalysedPost {
        place: Some(place.to_owned()),
        ..post
    }
}

fn everything() -> SocialQuery {
    SocialQuery {
        limit: 500,
        ..SocialQuery::default()
    }
}

async fn person(store: &dyn Store, mail: &str, role: Role) -> Actor {
    let user = store
        .create_user(NewUser {
            email: email(mail),
            password_hash: PASSWORD_HASH.to_owned(),
            full_name: PersonName::parse("Сотрудник ЦУР").unwrap(),
            role,
            verification: otklik_domain::access::Verification::Verified,
        })
        .await
        .unwrap();
    Actor { user, role }
}

async fn ingest(
    store: &dyn Store,
    posts: &[AnalysedPost],
    rules: IngestRules,
    now: OffsetDateTime,
) -> IngestReport {
    store
        .social_ingest(posts, &[], &[], rules, now)
        .await
        .unwrap()
}

/// Ingests one post (which must create an incident) and returns the incident's id.
async fn incident_of(
    store: &dyn Store,
    post: AnalysedPost,
    rules: IngestRules,
    now: OffsetDateTime,
) -> i64 {
    let report = ingest(store, std::slice::from_ref(&post), rules, now).await;
    assert_eq!(report.incidents_created, 1, "{report:?}");
    latest(store).await
}

/// The newest incident's id.
async fn latest(store: &dyn Store) -> i64 {
    store
        .social_incidents(&everything(), T0)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .max()
        .unwrap()
}

async fn incident(store: &dyn Store, id: i64) -> SocialIncident {
    store.social_incident(id).await.unwrap().0
}

async fn posts_of(store: &dyn Store, id: i64) -> Vec<SocialPost> {
    store.social_incident(id).await.unwrap().1
}

/// The external ids of an incident's posts, in the order the store lists them.
async fn external_ids(store: &dyn Store, id: i64) -> Vec<String> {
    posts_of(store, id)
        .await
        .into_iter()
        .map(|p| p.external_id)
        .collect()
}

/// Every incident with its posts: what a refused action must leave as it was.
async fn snapshot(store: &dyn Store) -> Vec<(SocialIncident, Vec<SocialPost>)> {
    let mut all = Vec::new();
    for i in store.social_incidents(&everything(), T0).await.unwrap() {
        all.push(store.social_incident(i.id).await.unwrap());
    }
    all
}

/// Acts, expects a refusal, checks that nothing changed, and returns the error.
async fn refused(
    store: &dyn Store,
    id: i64,
    actor: Actor,
    command: SocialCommand,
    at: OffsetDateTime,
) -> StoreError {
    let before = snapshot(store).await;
    let error = store
        .social_act(id, actor, command.clone(), at)
        .await
        .expect_err(&format!("{command:?} on {id} by {:?}", actor.role));
    assert_eq!(
        snapshot(store).await,
        before,
        "{command:?} refused with {error:?} changed something"
    );
    error
}

fn forbidden(error: &StoreError) -> bool {
    matches!(error, StoreError::Incident(IncidentError::Forbidden))
}

// --- scenarios -------------------------------------------------------------------------------

pub(super) async fn social_receive_is_idempotent_and_keeps_the_cursor(store: Arc<dyn Store>) {
    let s = store.as_ref();
    assert_eq!(s.social_cursor(VK).await.unwrap(), None);
    assert!(s.social_sources().await.unwrap().is_empty());
    assert!(s.social_inbox(10).await.unwrap().is_empty());

    let posts = vec![
        raw(
            VK,
            "-100_1",
            "Яма на Советской у дома 3",
            EVENING,
            vk_wall(1),
        ),
        // A NUL in a post's text survives the inbox on both backends.
        raw(
            VK,
            "-100_2",
            "Не горят фонари\0 на Лесной",
            EVENING,
            ReplyTarget::None,
        ),
    ];
    // A NUL byte in an excerpt (PostgreSQL's text cannot hold it) and an excerpt longer
    // than the store keeps (3 000 two-byte letters).
    let long = "я".repeat(3_000);
    let first = vec![
        quarantined(VK, Some("-100_3"), "bad_encoding", "раз\0два"),
        quarantined(VK, None, "too_large", &long),
    ];
    assert_eq!(
        s.social_receive(VK, &posts, &first, Some("c1"), T0)
            .await
            .unwrap(),
        2
    );
    assert_eq!(s.social_cursor(VK).await.unwrap().as_deref(), Some("c1"));
    assert_eq!(s.social_cursor(TG).await.unwrap(), None);

    // The same batch again (a crash before the acknowledgement): nothing new, the cursor
    // moves on; a batch without a cursor keeps the last one.
    let later = T0 + Duration::minutes(1);
    assert_eq!(
        s.social_receive(VK, &posts, &[], Some("c2"), later)
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.social_cursor(VK).await.unwrap().as_deref(), Some("c2"));
    assert_eq!(
        s.social_receive(VK, &posts[..1], &[], None, later)
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.social_cursor(VK).await.unwrap().as_deref(), Some("c2"));

    // The inbox holds each post once, oldest first, exactly as received.
    let inbox = s.social_inbox(10).await.unwrap();
    let received: Vec<_> = inbox.iter().map(|i| i.post.clone().unwrap()).collect();
    assert_eq!(received, posts);
    assert!(inbox[0].id < inbox[1].id);
    let oldest = s.social_inbox(1).await.unwrap();
    assert_eq!(oldest.len(), 1);
    assert_eq!(oldest[0], inbox[0]);

    // The quarantine, newest first: the NUL replaced, the long excerpt cut at a
    // character boundary within 2 KiB.
    let kept = s.social_quarantined(10).await.unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(
        (kept[0].source.as_str(), kept[0].external_id.as_deref()),
        (VK, None)
    );
    assert_eq!(kept[0].reason, "too_large");
    assert_eq!(kept[0].excerpt, "я".repeat(1_024));
    assert_eq!(kept[1].external_id.as_deref(), Some("-100_3"));
    assert_eq!(kept[1].reason, "bad_encoding");
    assert_eq!(kept[1].excerpt, "раз\u{FFFD}два");
    assert_eq!(kept[1].received_at, T0);
    assert!(kept[0].id > kept[1].id);
    assert_eq!(s.social_quarantined(1).await.unwrap(), kept[..1]);

    // A failed poll records its code and keeps the cursor; a source that never succeeded
    // gets a row of its own.
    let failed = T0 + Duration::minutes(2);
    s.social_poll_failed(VK, "http_503", failed).await.unwrap();
    s.social_poll_failed(TG, "unauthorised", failed)
        .await
        .unwrap();
    assert_eq!(s.social_cursor(VK).await.unwrap().as_deref(), Some("c2"));
    assert_eq!(s.social_cursor(TG).await.unwrap(), None);
    assert_eq!(
        s.social_sources().await.unwrap(),
        vec![
            SourceState {
                source: TG.to_owned(),
                polled_at: Some(failed),
                received: 0,
                quarantined: 0,
                error_code: Some("unauthorised".to_owned()),
            },
            SourceState {
                source: VK.to_owned(),
                polled_at: Some(failed),
                // What the connector handed over (2 + 2 + 1), repeated deliveries included.
                received: 5,
                quarantined: 2,
                error_code: Some("http_503".to_owned()),
            },
        ]
    );

    // The next successful poll clears the error.
    let again = T0 + Duration::minutes(3);
    assert_eq!(
        s.social_receive(VK, &[], &[], Some("c3"), again)
            .await
            .unwrap(),
        0
    );
    let vk = s.social_sources().await.unwrap().pop().unwrap();
    assert_eq!(
        (vk.polled_at, vk.error_code, vk.received),
        (Some(again), None, 5)
    );
    assert_eq!(s.social_cursor(VK).await.unwrap().as_deref(), Some("c3"));
    assert_eq!(s.social_inbox(10).await.unwrap().len(), 2);
}

pub(super) async fn social_inbox_to_incidents(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let long = format!(
        "Не горит ни один фонарь на улице Лесной {}",
        "а".repeat(200)
    );
    let posts = vec![
        raw(
            VK,
            "-100_1",
            "Яма на Советской у дома 3",
            EVENING,
            vk_wall(1),
        ),
        raw(VK, "-100_2", &long, EVENING, vk_wall(2)),
        // Published "in the future" (a connector's clock ahead): the incident starts when
        // the post was received.
        raw(
            VK,
            "-100_3",
            "Яма на Московском шоссе",
            T0 + Duration::hours(3),
            ReplyTarget::None,
        ),
    ];
    assert_eq!(
        s.social_receive(VK, &posts, &[], Some("c1"), T0)
            .await
            .unwrap(),
        3
    );
    let inbox = s.social_inbox(10).await.unwrap();
    assert_eq!(inbox.len(), 3);
    for (item, post) in inbox.iter().zip(&posts) {
        assert_eq!(item.post.as_ref(), Ok(post));
    }

    // The pipeline's analysis: a routed pothole, an unrouted lighting problem (the
    // coordinator's), and a pothole in a region with neither route nor coordinator.
    let post = |i: usize| inbox[i].post.clone().unwrap();
    let analysed_posts = vec![
        AnalysedPost {
            post: post(0),
            category: Some("Дороги".to_owned()),
            ..analysed(VK, "-", "Яма на Советской у дома 3", EVENING)
        },
        AnalysedPost {
            post: post(1),
            subcategory: Some(LIGHTING.to_owned()),
            place: None,
            urgent: true,
            ..analysed(VK, "-", &long, EVENING)
        },
        AnalysedPost {
            post: post(2),
            region_code: Some(SAMARA.to_owned()),
            place: Some("Самара".to_owned()),
            ..analysed(VK, "-", "Яма на Московском шоссе", EVENING)
        },
    ];
    let ids: Vec<i64> = inbox.iter().map(|i| i.id).collect();
    let now = T0 + Duration::minutes(5);
    let kept: Vec<_> = vec![quarantined(VK, Some("-100_4"), "not_text", "\u{1F600}")];
    let report = s
        .social_ingest(&analysed_posts, &kept, &ids, rules(), now)
        .await
        .unwrap();
    assert_eq!(
        report,
        IngestReport {
            stored: 3,
            incidents_created: 3,
            ..IngestReport::default()
        }
    );
    assert!(s.social_inbox(10).await.unwrap().is_empty());
    assert_eq!(
        s.social_quarantined(10).await.unwrap()[0].reason,
        "not_text"
    );

    let all = s.social_incidents(&everything(), now).await.unwrap();
    assert_eq!(all.len(), 3);
    let by_subcategory = |sub: SubcategoryId, region: RegionId| {
        all.iter()
            .find(|i| i.subcategory == Some(sub) && i.region == Some(region))
            .unwrap()
            .clone()
    };

    let pothole = by_subcategory(w.pothole, w.region);
    let due = now + Duration::hours(24);
    assert_eq!(
        pothole,
        SocialIncident {
            id: pothole.id,
            status: IncidentStatus::Open,
            subcategory: Some(w.pothole),
            subcategory_name: Some(POTHOLES.to_owned()),
            category_name: Some("Дороги".to_owned()),
            region: Some(w.region),
            region_code: Some(TVER.to_owned()),
            region_name: Some("Тверская область".to_owned()),
            org: Some(w.org),
            org_name: Some("Министерство транспорта".to_owned()),
            route_label: pothole.route_label.clone(),
            place: Some("Тверь".to_owned()),
            title: "Яма на Советской у дома 3".to_owned(),
            urgent: false,
            posts: 1,
            first_post_at: EVENING,
            last_post_at: EVENING,
            created_at: now,
            due_at: due,
            breached_at: None,
            merged_into: None,
            answer: None,
            dismiss_reason: None,
            closed_at: None,
        }
    );
    assert!(pothole
        .route_label
        .as_deref()
        .is_some_and(|l| l.starts_with("region:")));
    let stored = posts_of(s, pothole.id).await;
    assert_eq!(stored[0].platform.as_str(), "vk");
    assert_eq!(
        stored,
        vec![SocialPost {
            id: stored[0].id,
            source: VK.to_owned(),
            platform: stored[0].platform,
            external_id: "-100_1".to_owned(),
            url: Some(format!("https://example.ru/{VK}/-100_1")),
            text: "Яма на Советской у дома 3".to_owned(),
            published_at: EVENING,
            relevant: true,
            confidence: 0.875,
            sentiment: "negative".to_owned(),
            urgent: false,
            place: Some("Тверь".to_owned()),
            duplicate_of: None,
            reply_status: None,
        }]
    );

    let lighting = by_subcategory(w.lighting, w.region);
    assert_eq!(lighting.org, Some(w.coordinator));
    assert_eq!(lighting.route_label.as_deref(), Some("coordinator"));
    assert_eq!(lighting.org_name.as_deref(), Some("ЦУР Тверской области"));
    assert_eq!(lighting.place, None);
    assert!(lighting.urgent);
    assert_eq!(
        lighting.title,
        format!("{}…", long.chars().take(160).collect::<String>())
    );

    let samara = by_subcategory(w.pothole, w.bare_region);
    assert_eq!((samara.org, samara.route_label.as_deref()), (None, None));
    assert_eq!(samara.region_code.as_deref(), Some(SAMARA));
    assert_eq!((samara.first_post_at, samara.last_post_at), (now, now));
    assert_eq!(
        posts_of(s, samara.id).await[0].published_at,
        T0 + Duration::hours(3)
    );

    // The same analysis delivered again (the pipeline crashed before acknowledging):
    // counted as repeated, nothing changes.
    let before = snapshot(s).await;
    let report = s
        .social_ingest(
            &analysed_posts,
            &[],
            &ids,
            rules(),
            now + Duration::minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(
        report,
        IngestReport {
            repeated: 3,
            ..IngestReport::default()
        }
    );
    assert_eq!(snapshot(s).await, before);
    assert_eq!(s.social_quarantined(10).await.unwrap().len(), 1);
}

pub(super) async fn social_duplicates_and_clusters(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let text = "Третью неделю огромная яма на Советской улице у дома 3, машины бьют колёса и \
        диски, пешеходы обходят её по проезжей части, в управе говорят ждите весны. Сколько \
        можно ждать, кто-нибудь сломает ногу или разобьёт машину";
    let original = analysed(VK, "-100_1", text, EVENING);
    let signature = Signature::of(text);
    let first = incident_of(s, original, rules(), T0).await;

    // One word changed: another exact signature, a MinHash at most 3 bytes away.
    let edited = text.replace("Третью", "Вторую");
    let near = Signature::of(&edited);
    assert_ne!(near.exact, signature.exact);
    assert!(distance(near.minhash, signature.minhash) <= NEAR_DISTANCE);
    // Made by hand: exactly `NEAR_DISTANCE` bytes away (bytes 5–7), and one byte more
    // (bytes 4–7) — both share bands 0 and 1 with the original, only the first is near.
    let edge = signature.minhash ^ (1 << 40 | 1 << 48 | 1 << 56);
    let beyond = signature.minhash ^ (1 << 32 | 1 << 40 | 1 << 48 | 1 << 56);
    assert_eq!(distance(edge, signature.minhash), NEAR_DISTANCE);
    assert_eq!(distance(beyond, signature.minhash), NEAR_DISTANCE + 1);

    let later = T0 + Duration::minutes(10);
    let published = later - Duration::minutes(1);
    let batch = vec![
        // The same words from another source (in other case, with emoji).
        replying(
            analysed(
                TG,
                "-200:1",
                &format!("{}!!! 😡", text.to_uppercase()),
                published,
            ),
            telegram(1),
        ),
        // The near copy, located elsewhere: a duplicate still goes with its original.
        at_place(analysed(VK, "-100_2", &edited, published), "Ржев"),
        AnalysedPost {
            minhash: edge,
            ..analysed(
                VK,
                "-100_3",
                "Яму на Советской так никто и не заделал",
                published,
            )
        },
        // Another post about the same pothole: joins the incident, not a duplicate.
        analysed(
            VK,
            "-100_4",
            "На Советской огромная яма, когда заделают",
            published,
        ),
        // Another place, another subcategory: incidents of their own.
        at_place(
            analysed(VK, "-100_5", "Яма на проспекте Ленина", published),
            "Ржев",
        ),
        AnalysedPost {
            subcategory: Some(LIGHTING.to_owned()),
            ..analysed(VK, "-100_6", "Не горят фонари на Лесной", published)
        },
        AnalysedPost {
            minhash: beyond,
            ..at_place(
                analysed(VK, "-100_7", "Яма у вокзала в Торжке", published),
                "Торжок",
            )
        },
        // Irrelevant (whatever the classifier's subcategory), an unknown subcategory, a
        // subcategory under another category: stored, no incident.
        AnalysedPost {
            relevant: false,
            ..analysed(VK, "-100_8", "Продам гараж недорого", published)
        },
        AnalysedPost {
            subcategory: Some("Несуществующая".to_owned()),
            ..analysed(VK, "-100_9", "Что-то совсем непонятное", published)
        },
        AnalysedPost {
            category: Some("Транспорт".to_owned()),
            ..analysed(VK, "-100_10", "Дыра в асфальте возле остановки", published)
        },
        // Not located: an incident without a region or an organisation.
        AnalysedPost {
            region_code: None,
            place: None,
            ..analysed(VK, "-100_11", "Где-то опять провалился асфальт", published)
        },
    ];
    let report = ingest(s, &batch, rules(), later).await;
    assert_eq!(
        report,
        IngestReport {
            stored: 11,
            repeated: 0,
            duplicates: 3,
            incidents_created: 4,
            joined: 4,
        }
    );

    let posts = posts_of(s, first).await;
    let original_id = posts[0].id;
    assert_eq!(
        posts
            .iter()
            .map(|p| (p.external_id.as_str(), p.duplicate_of))
            .collect::<Vec<_>>(),
        vec![
            ("-100_1", None),
            ("-200:1", Some(original_id)),
            ("-100_2", Some(original_id)),
            ("-100_3", Some(original_id)),
            ("-100_4", None),
        ]
    );
    assert_eq!(posts[1].platform, Platform::Telegram);
    assert_eq!(posts[2].place.as_deref(), Some("Ржев"));
    let first_incident = incident(s, first).await;
    assert_eq!(first_incident.posts, 5);
    assert_eq!(
        (first_incident.first_post_at, first_incident.last_post_at),
        (EVENING, published)
    );

    let all = s.social_incidents(&everything(), later).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all.iter().map(|i| i.posts).sum::<u64>(), 9);
    let find =
        |pred: &dyn Fn(&SocialIncident) -> bool| all.iter().find(|i| pred(i)).unwrap().clone();
    let rzhev = find(&|i| i.place.as_deref() == Some("Ржев"));
    assert_eq!(external_ids(s, rzhev.id).await, ["-100_5"]);
    let lighting = find(&|i| i.subcategory == Some(w.lighting));
    assert_eq!(external_ids(s, lighting.id).await, ["-100_6"]);
    let torzhok = find(&|i| i.place.as_deref() == Some("Торжок"));
    let torzhok_posts = posts_of(s, torzhok.id).await;
    assert_eq!(torzhok_posts.len(), 1);
    assert_eq!(torzhok_posts[0].duplicate_of, None);
    let nowhere = find(&|i| i.region.is_none());
    assert_eq!(
        (
            nowhere.org,
            nowhere.route_label.as_deref(),
            nowhere.place.as_deref()
        ),
        (None, None, None)
    );
    assert_eq!(external_ids(s, nowhere.id).await, ["-100_11"]);

    // A copy of the irrelevant post is its duplicate: no incident either.
    let copy = AnalysedPost {
        relevant: false,
        ..analysed(TG, "-200:8", "Продам гараж недорого!", published)
    };
    let report = ingest(s, &[copy], rules(), later).await;
    assert_eq!(
        report,
        IngestReport {
            stored: 1,
            duplicates: 1,
            ..IngestReport::default()
        }
    );

    // An earlier post joining later moves the incident's first post back.
    let early = analysed(
        VK,
        "-100_12",
        "Эта яма на Советской была ещё с осени",
        EVENING - Duration::hours(5),
    );
    let report = ingest(s, &[early], rules(), later).await;
    assert_eq!((report.joined, report.incidents_created), (1, 0));
    let first_incident = incident(s, first).await;
    assert_eq!(first_incident.posts, 6);
    assert_eq!(
        (first_incident.first_post_at, first_incident.last_post_at),
        (EVENING - Duration::hours(5), published)
    );

    // Past the clustering window (72 hours after the incident's last post, and after the
    // original was received) neither a copy nor a post about the same place joins.
    let days_later = T0 + Duration::days(4);
    let stale = vec![
        analysed(VK, "-100_13", text, days_later),
        analysed(VK, "-100_14", "Снова провал на Советской", days_later),
    ];
    let report = ingest(s, &stale, rules(), days_later).await;
    assert_eq!(
        report,
        IngestReport {
            stored: 2,
            incidents_created: 1,
            joined: 1,
            ..IngestReport::default()
        }
    );
    assert_eq!(incident(s, first).await.posts, 6);
    let fresh = latest(s).await;
    assert_eq!(external_ids(s, fresh).await, ["-100_13", "-100_14"]);

    // An answered incident collects no more posts: a copy of its post is only marked, a
    // new post about the same place opens another incident.
    s.social_act(
        fresh,
        w.official,
        SocialCommand::Answer {
            text: "Яму заделают до пятницы.".to_owned(),
        },
        days_later,
    )
    .await
    .unwrap();
    let after = days_later + Duration::hours(1);
    let report = ingest(
        s,
        &[
            analysed(TG, "-200:13", text, after),
            analysed(VK, "-100_15", "Советскую перекопали и бросили", after),
        ],
        rules(),
        after,
    )
    .await;
    assert_eq!(
        report,
        IngestReport {
            stored: 2,
            duplicates: 1,
            incidents_created: 1,
            ..IngestReport::default()
        }
    );
    assert_eq!(incident(s, fresh).await.posts, 2);
    assert_eq!(
        s.social_incidents(&everything(), after)
            .await
            .unwrap()
            .len(),
        7
    );
}

pub(super) async fn social_actions_follow_the_rules(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let coordinator = person(s, "cur@tver.ru", Role::Coordinator(w.region)).await;
    let samara_coordinator = person(s, "cur@samara.ru", Role::Coordinator(w.bare_region)).await;
    let published = EVENING;

    // One pothole seen four times (a copy, two more originals): only originals with a way
    // back get the answer.
    let text = "Яма на Советской у дома 3";
    let answered_posts = vec![
        analysed(VK, "-100_1", text, published),
        replying(analysed(TG, "-200:1", text, published), telegram(1)),
        replying(
            analysed(VK, "-100_2", "И на Советской 5 тоже яма", published),
            ReplyTarget::None,
        ),
        replying(
            analysed(VK, "-100_3", "Советская — сплошные ямы", published),
            webhook(3),
        ),
    ];
    assert_eq!(
        ingest(s, &answered_posts, rules(), T0)
            .await
            .incidents_created,
        1
    );
    let answered = latest(s).await;
    // Three posts in Rzhev (merged and split below), one in Torzhok (merged into Rzhev),
    // an unrouted lighting problem (rerouted), a pothole in Samara (another region).
    let rzhev = incident_of(
        s,
        at_place(analysed(VK, "-100_10", "Яма в Ржеве", EVENING), "Ржев"),
        rules(),
        T0,
    )
    .await;
    let rzhev_more = vec![
        at_place(
            analysed(VK, "-100_11", "В Ржеве яма", EVENING - Duration::hours(2)),
            "Ржев",
        ),
        AnalysedPost {
            urgent: true,
            ..at_place(
                analysed(
                    VK,
                    "-100_12",
                    "Ржев: в яме застрял автобус",
                    EVENING + Duration::hours(1),
                ),
                "Ржев",
            )
        },
    ];
    assert_eq!(ingest(s, &rzhev_more, rules(), T0).await.joined, 2);
    let torzhok = incident_of(
        s,
        at_place(analysed(VK, "-100_20", "Яма в Торжке", EVENING), "Торжок"),
        rules(),
        T0 - Duration::hours(1),
    )
    .await;
    let lighting = incident_of(
        s,
        AnalysedPost {
            subcategory: Some(LIGHTING.to_owned()),
            ..analysed(VK, "-100_30", "Не горят фонари", EVENING)
        },
        rules(),
        T0,
    )
    .await;
    let samara = incident_of(
        s,
        AnalysedPost {
            region_code: Some(SAMARA.to_owned()),
            place: Some("Самара".to_owned()),
            ..analysed(VK, "-100_40", "Яма в Самаре", EVENING)
        },
        rules(),
        T0,
    )
    .await;
    assert_eq!(incident(s, answered).await.posts, 4);
    assert_eq!(incident(s, rzhev).await.posts, 3);

    // --- answer ---------------------------------------------------------------------------
    let at = T0 + Duration::hours(1);
    let answer = |text: &str| SocialCommand::Answer {
        text: text.to_owned(),
    };
    for actor in [w.other_official, samara_coordinator, w.citizen] {
        let error = refused(s, answered, actor, answer("Не наш ответ"), at).await;
        assert!(forbidden(&error), "{:?}: {error:?}", actor.role);
    }
    let dismiss = SocialCommand::Dismiss {
        reason: DismissReason::Spam,
    };
    assert!(forbidden(
        &refused(s, answered, w.official, dismiss.clone(), at).await
    ));
    assert!(matches!(
        s.social_act(i64::MAX, w.official, answer("Кому?"), at)
            .await,
        Err(StoreError::NotFound)
    ));

    let text = "Яму на Советской заделают до 10 декабря.";
    assert_eq!(
        s.social_act(answered, w.official, answer(text), at)
            .await
            .unwrap(),
        answered
    );
    let (done, posts) = s.social_incident(answered).await.unwrap();
    assert_eq!(done.status, IncidentStatus::Answered);
    assert_eq!(done.answer.as_deref(), Some(text));
    assert_eq!(done.closed_at, Some(at));
    assert_eq!(done.dismiss_reason, None);
    assert_eq!(
        posts
            .iter()
            .map(|p| (p.external_id.as_str(), p.reply_status.as_deref()))
            .collect::<Vec<_>>(),
        vec![
            ("-100_1", Some("pending")),
            ("-200:1", None),
            ("-100_2", None),
            ("-100_3", Some("pending")),
        ]
    );

    // Only an open incident is acted on, by anyone; nor is anything merged into it.
    for (actor, command) in [
        (w.official, answer("Ещё раз")),
        (coordinator, dismiss.clone()),
        (coordinator, SocialCommand::Reroute { org: w.other_org }),
        (coordinator, SocialCommand::Merge { into: rzhev }),
        (
            coordinator,
            SocialCommand::Split {
                posts: vec![posts[0].id],
            },
        ),
    ] {
        let error = refused(s, answered, actor, command, at).await;
        assert!(
            matches!(
                error,
                StoreError::Incident(IncidentError::NotOpen("answered"))
            ),
            "{error:?}"
        );
    }
    let error = refused(
        s,
        rzhev,
        coordinator,
        SocialCommand::Merge { into: answered },
        at,
    )
    .await;
    assert!(matches!(
        error,
        StoreError::Incident(IncidentError::NotOpen("answered"))
    ));

    // --- replies: leased, sent, retried, failed for good -------------------------------
    let lease = std::time::Duration::from_secs(60);
    let jobs = s.social_claim_replies(at, lease, 10).await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert!(jobs
        .iter()
        .all(|j| j.incident_id == answered && j.text == text && j.attempts == 0 && j.source == VK));
    let target = |j: &ReplyJob| serde_json::from_str::<ReplyTarget>(&j.target).unwrap();
    assert_eq!(target(&jobs[0]), vk_wall(1));
    assert_eq!(target(&jobs[1]), webhook(3));
    assert!(s
        .social_claim_replies(at + Duration::seconds(30), lease, 10)
        .await
        .unwrap()
        .is_empty());
    s.social_reply_sent(jobs[0].id, "comment-1", at + Duration::seconds(31))
        .await
        .unwrap();
    let retry_at = at + Duration::hours(1);
    s.social_reply_failed(jobs[1].id, "http_502", Some(retry_at))
        .await
        .unwrap();
    // Past the lease, before the retry: nothing; at the retry: the failed one only.
    assert!(s
        .social_claim_replies(at + Duration::minutes(5), lease, 10)
        .await
        .unwrap()
        .is_empty());
    let retried = s.social_claim_replies(retry_at, lease, 10).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id, retried[0].attempts), (jobs[1].id, 1));
    s.social_reply_failed(retried[0].id, "http_400", None)
        .await
        .unwrap();
    assert!(s
        .social_claim_replies(retry_at + Duration::days(1), lease, 10)
        .await
        .unwrap()
        .is_empty());
    let statuses: Vec<_> = posts_of(s, answered)
        .await
        .into_iter()
        .map(|p| p.reply_status)
        .collect();
    assert_eq!(
        statuses,
        [
            Some("sent".to_owned()),
            None,
            None,
            Some("failed".to_owned())
        ]
    );

    // --- dismiss ----------------------------------------------------------------------------
    let error = refused(s, lighting, samara_coordinator, dismiss.clone(), at).await;
    assert!(forbidden(&error), "{error:?}");
    assert!(forbidden(
        &refused(s, samara, coordinator, dismiss.clone(), at).await
    ));
    assert_eq!(
        s.social_act(samara, samara_coordinator, dismiss.clone(), at)
            .await
            .unwrap(),
        samara
    );
    let dismissed = incident(s, samara).await;
    assert_eq!(
        (
            dismissed.status,
            dismissed.dismiss_reason,
            dismissed.answer,
            dismissed.closed_at
        ),
        (
            IncidentStatus::Dismissed,
            Some(DismissReason::Spam),
            None,
            Some(at)
        )
    );
    assert_eq!(posts_of(s, samara).await[0].reply_status, None);
    assert!(matches!(
        refused(s, samara, w.operator, answer("Поздно"), at).await,
        StoreError::Incident(IncidentError::NotOpen("dismissed"))
    ));

    // --- merge --------------------------------------------------------------------------------
    let merge = |into| SocialCommand::Merge { into };
    assert!(matches!(
        refused(s, torzhok, coordinator, merge(torzhok), at).await,
        StoreError::Incident(IncidentError::MergeIntoItself)
    ));
    assert!(matches!(
        refused(s, torzhok, coordinator, merge(i64::MAX), at).await,
        StoreError::InvalidReference("unknown_incident")
    ));
    assert!(forbidden(
        &refused(s, torzhok, w.official, merge(rzhev), at).await
    ));
    assert!(forbidden(
        &refused(s, torzhok, samara_coordinator, merge(rzhev), at).await
    ));
    // The target must be the actor's too (and open).
    let samara_open = incident_of(
        s,
        AnalysedPost {
            region_code: Some(SAMARA.to_owned()),
            place: Some("Сызрань".to_owned()),
            ..analysed(VK, "-100_41", "Яма в Сызрани", EVENING)
        },
        rules(),
        T0,
    )
    .await;
    assert!(forbidden(
        &refused(s, torzhok, coordinator, merge(samara_open), at).await
    ));
    assert!(matches!(
        refused(s, torzhok, w.operator, merge(samara), at).await,
        StoreError::Incident(IncidentError::NotOpen("dismissed"))
    ));

    let (before_target, before_source) = (incident(s, rzhev).await, incident(s, torzhok).await);
    assert_eq!(
        s.social_act(torzhok, coordinator, merge(rzhev), at)
            .await
            .unwrap(),
        rzhev
    );
    let merged = incident(s, torzhok).await;
    assert_eq!(merged.status, IncidentStatus::Merged);
    assert_eq!(merged.merged_into, Some(rzhev));
    assert_eq!((merged.posts, merged.closed_at), (0, Some(at)));
    assert!(posts_of(s, torzhok).await.is_empty());
    let target = incident(s, rzhev).await;
    assert_eq!(target.posts, 4);
    assert_eq!(
        external_ids(s, rzhev).await,
        ["-100_11", "-100_10", "-100_20", "-100_12"]
    );
    // The earlier deadline of the two (Torzhok's was ingested an hour earlier) and the
    // span of both incidents' posts.
    assert_eq!(target.due_at, before_source.due_at);
    assert_eq!(target.first_post_at, before_target.first_post_at);
    assert_eq!(target.last_post_at, before_target.last_post_at);
    assert!(target.urgent);
    assert!(matches!(
        refused(s, torzhok, coordinator, answer("После слияния"), at).await,
        StoreError::Incident(IncidentError::NotOpen("merged"))
    ));

    // --- split -------------------------------------------------------------------------------
    let ids: Vec<i64> = posts_of(s, rzhev).await.iter().map(|p| p.id).collect();
    let split = |posts: Vec<i64>| SocialCommand::Split { posts };
    for posts in [Vec::new(), ids.clone(), [ids.clone(), ids.clone()].concat()] {
        assert!(matches!(
            refused(s, rzhev, coordinator, split(posts), at).await,
            StoreError::Incident(IncidentError::SplitNothing)
        ));
    }
    let foreign = posts_of(s, answered).await[0].id;
    assert!(matches!(
        refused(s, rzhev, coordinator, split(vec![ids[0], foreign]), at).await,
        StoreError::InvalidReference("unknown_post")
    ));
    assert!(matches!(
        refused(s, rzhev, coordinator, split(vec![i64::MAX]), at).await,
        StoreError::InvalidReference("unknown_post")
    ));
    assert!(forbidden(
        &refused(s, rzhev, w.official, split(vec![ids[0]]), at).await
    ));

    // The urgent post (-100_12) and Torzhok's post leave, listed latest first.
    let (torzhok_post, urgent_post) = (ids[2], ids[3]);
    let parted = s
        .social_act(
            rzhev,
            coordinator,
            split(vec![urgent_post, torzhok_post, urgent_post]),
            at,
        )
        .await
        .unwrap();
    assert_ne!(parted, rzhev);
    let (new, new_posts) = s.social_incident(parted).await.unwrap();
    let (old, old_posts) = s.social_incident(rzhev).await.unwrap();
    assert_eq!((new.posts, old.posts), (2, 2));
    assert_eq!(
        new_posts.iter().map(|p| p.id).collect::<Vec<_>>(),
        [torzhok_post, urgent_post]
    );
    assert_eq!(
        old_posts.iter().map(|p| p.id).collect::<Vec<_>>(),
        [ids[0], ids[1]]
    );
    assert_eq!(new.status, IncidentStatus::Open);
    assert_eq!(
        (new.subcategory, new.region, new.org, new.place.as_deref()),
        (old.subcategory, old.region, old.org, old.place.as_deref())
    );
    assert_eq!((new.created_at, new.due_at), (at, old.due_at));
    // Each side spans its own posts, is urgent if one of its posts is, and is titled by
    // its first post.
    assert_eq!(
        (new.first_post_at, new.last_post_at),
        (EVENING, EVENING + Duration::hours(1))
    );
    assert_eq!(
        (old.first_post_at, old.last_post_at),
        (EVENING - Duration::hours(2), EVENING)
    );
    assert!(new.urgent);
    assert!(!old.urgent);
    assert_eq!(new.title, "Яма в Торжке");

    // --- reroute ------------------------------------------------------------------------------
    let reroute = |org| SocialCommand::Reroute { org };
    assert!(matches!(
        refused(s, lighting, coordinator, reroute(OrgId(i64::MAX)), at).await,
        StoreError::InvalidReference("unknown_organisation")
    ));
    assert!(forbidden(
        &refused(s, lighting, w.official, reroute(w.org), at).await
    ));
    assert!(forbidden(
        &refused(s, lighting, samara_coordinator, reroute(w.org), at).await
    ));
    assert_eq!(incident(s, lighting).await.org, Some(w.coordinator));
    assert_eq!(
        s.social_act(lighting, coordinator, reroute(w.org), at)
            .await
            .unwrap(),
        lighting
    );
    let rerouted = incident(s, lighting).await;
    assert_eq!(
        (
            rerouted.org,
            rerouted.org_name.as_deref(),
            rerouted.route_label.as_deref(),
            rerouted.status
        ),
        (
            Some(w.org),
            Some("Министерство транспорта"),
            Some("manual"),
            IncidentStatus::Open
        )
    );
    // Now the organisation's official answers it.
    assert_eq!(
        s.social_act(lighting, w.official, answer("Фонари починят"), at)
            .await
            .unwrap(),
        lighting
    );
    assert_eq!(incident(s, lighting).await.status, IncidentStatus::Answered);
}

pub(super) async fn social_monitor_records_breaches_once(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let hourly = IngestRules {
        answer_hours: 1,
        cluster_hours: 72,
    };
    let late = incident_of(
        s,
        analysed(VK, "-100_1", "Яма на Советской", EVENING),
        hourly,
        T0,
    )
    .await;
    let prompt = incident_of(
        s,
        at_place(analysed(VK, "-100_2", "Яма в Ржеве", EVENING), "Ржев"),
        hourly,
        T0,
    )
    .await;
    let dismissed = incident_of(
        s,
        at_place(analysed(VK, "-100_3", "Яма в Торжке", EVENING), "Торжок"),
        hourly,
        T0,
    )
    .await;
    // Nobody can tell where this one is: its breach is still recorded, with no region.
    let unplaced = incident_of(
        s,
        AnalysedPost {
            region_code: None,
            place: None,
            location_confidence: None,
            ..analysed(VK, "-100_4", "Опять яма, колесо пробил, позор", EVENING)
        },
        hourly,
        T0,
    )
    .await;
    assert_eq!(incident(s, late).await.due_at, T0 + Duration::hours(1));
    s.social_act(
        prompt,
        w.official,
        SocialCommand::Answer {
            text: "Заделаем".to_owned(),
        },
        T0 + Duration::minutes(30),
    )
    .await
    .unwrap();
    s.social_act(
        dismissed,
        w.operator,
        SocialCommand::Dismiss {
            reason: DismissReason::NoProblem,
        },
        T0 + Duration::minutes(30),
    )
    .await
    .unwrap();

    let overdue = SocialQuery {
        overdue: true,
        ..everything()
    };
    // At the deadline itself nothing is late yet.
    let due = T0 + Duration::hours(1);
    assert_eq!(s.social_monitor(due).await.unwrap(), 0);
    assert!(s.social_incidents(&overdue, due).await.unwrap().is_empty());

    let two_hours = T0 + Duration::hours(2);
    let log_before = s.log_info().await.unwrap().size;
    assert_eq!(s.social_monitor(two_hours).await.unwrap(), 2);
    assert_eq!(s.social_monitor(two_hours).await.unwrap(), 0);
    // Each breach is one row of the procedure incident register and one log leaf.
    assert_eq!(s.log_info().await.unwrap().size, log_before + 2);
    let register = s
        .incidents(&IncidentQuery {
            kind: Some(IncidentKind::LateSocialAnswer),
            limit: 25,
            ..IncidentQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(register.total, 2);
    let row_of = |id: i64| {
        register
            .items
            .iter()
            .find(|r| r.subject == IncidentSubject::Social(id))
            .cloned()
            .unwrap()
    };
    let late_row = row_of(late);
    let late_now = incident(s, late).await;
    assert_eq!(
        (
            late_row.region,
            late_row.org,
            late_row.due_at,
            late_row.detected_at
        ),
        (
            late_now.region,
            late_now.org,
            Some(late_now.due_at),
            two_hours
        )
    );
    assert!(late_row.region.is_some() && late_row.region_name.is_some());
    let unplaced_row = row_of(unplaced);
    assert_eq!(unplaced_row.region, None);
    assert_eq!(s.incident(unplaced_row.id).await.unwrap(), unplaced_row);
    // A coordinator's filter finds its region's breach; the register resolves it as any other.
    let regional = s
        .incidents(&IncidentQuery {
            region: Some(w.region),
            limit: 25,
            ..IncidentQuery::default()
        })
        .await
        .unwrap();
    assert!(regional.items.iter().any(|r| r.id == late_row.id));
    assert!(regional
        .by_kind
        .contains(&(IncidentKind::LateSocialAnswer, 1)));
    s.resolve_incident(
        w.operator.user,
        late_row.id,
        &reason("Ответ опубликован с опозданием, разобрано"),
        two_hours + Duration::hours(1),
    )
    .await
    .unwrap();
    assert!(s.incident(late_row.id).await.unwrap().resolved_at.is_some());
    assert_eq!(
        s.social_monitor(two_hours + Duration::days(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(incident(s, late).await.breached_at, Some(two_hours));
    assert_eq!(incident(s, unplaced).await.breached_at, Some(two_hours));
    for id in [prompt, dismissed] {
        assert_eq!(incident(s, id).await.breached_at, None);
    }
    let listed: Vec<i64> = s
        .social_incidents(&overdue, two_hours)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&late) && listed.contains(&unplaced));

    // Answered late: the breach stays on record, the incident leaves the overdue list.
    let answered_at = T0 + Duration::hours(3);
    s.social_act(
        late,
        w.official,
        SocialCommand::Answer {
            text: "Заделали".to_owned(),
        },
        answered_at,
    )
    .await
    .unwrap();
    let late = incident(s, late).await;
    assert_eq!(
        (late.status, late.breached_at),
        (IncidentStatus::Answered, Some(two_hours))
    );
    let still_overdue: Vec<i64> = s
        .social_incidents(&overdue, answered_at)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(still_overdue, [unplaced]);
    assert_eq!(
        s.social_monitor(answered_at + Duration::days(30))
            .await
            .unwrap(),
        0
    );
}

pub(super) async fn social_queue_reach(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let coordinator = person(s, "cur@tver.ru", Role::Coordinator(w.region)).await;
    // Ingested ten minutes apart, so their deadlines are in that order.
    let at = |minutes: i64| T0 + Duration::minutes(minutes);
    let plain = incident_of(
        s,
        analysed(VK, "-100_1", "Яма на Советской", EVENING),
        rules(),
        at(0),
    )
    .await;
    let lights = incident_of(
        s,
        AnalysedPost {
            subcategory: Some(LIGHTING.to_owned()),
            ..analysed(VK, "-100_2", "Не горят фонари", EVENING)
        },
        rules(),
        at(10),
    )
    .await;
    let samara = incident_of(
        s,
        AnalysedPost {
            region_code: Some(SAMARA.to_owned()),
            place: Some("Самара".to_owned()),
            ..analysed(VK, "-100_3", "Яма в Самаре", EVENING)
        },
        rules(),
        at(20),
    )
    .await;
    let urgent = incident_of(
        s,
        AnalysedPost {
            urgent: true,
            ..at_place(
                analysed(VK, "-100_4", "В Ржеве провал дороги", EVENING),
                "Ржев",
            )
        },
        rules(),
        at(30),
    )
    .await;
    let closed = incident_of(
        s,
        at_place(analysed(VK, "-100_5", "Яма в Торжке", EVENING), "Торжок"),
        rules(),
        at(40),
    )
    .await;
    s.social_act(
        closed,
        w.official,
        SocialCommand::Answer {
            text: "Заделали".to_owned(),
        },
        at(45),
    )
    .await
    .unwrap();

    let now = at(50);
    let ids = |list: Vec<SocialIncident>| list.into_iter().map(|i| i.id).collect::<Vec<_>>();
    let query = |q: SocialQuery| async move { ids(s.social_incidents(&q, now).await.unwrap()) };
    // Open first, urgent first among them, then by deadline; closed ones last.
    assert_eq!(
        query(everything()).await,
        [urgent, plain, lights, samara, closed]
    );
    assert_eq!(
        query(SocialQuery {
            limit: 2,
            offset: 1,
            ..everything()
        })
        .await,
        [plain, lights]
    );
    assert_eq!(
        query(SocialQuery {
            status: Some(IncidentStatus::Open),
            ..everything()
        })
        .await,
        [urgent, plain, lights, samara]
    );
    assert_eq!(
        query(SocialQuery {
            status: Some(IncidentStatus::Answered),
            ..everything()
        })
        .await,
        [closed]
    );
    assert!(query(SocialQuery {
        status: Some(IncidentStatus::Merged),
        ..everything()
    })
    .await
    .is_empty());

    // An urgent post joining makes its incident urgent; the lighting one now leads (the
    // earlier deadline of the two urgent ones).
    let report = ingest(
        s,
        &[AnalysedPost {
            subcategory: Some(LIGHTING.to_owned()),
            urgent: true,
            ..analysed(VK, "-100_6", "Темно, на Лесной сбили пешехода", EVENING)
        }],
        rules(),
        now,
    )
    .await;
    assert_eq!(report.joined, 1);
    assert_eq!(
        query(everything()).await,
        [lights, urgent, plain, samara, closed]
    );

    // Every role's queue is exactly what `can_view` lets it see.
    let all = s.social_incidents(&everything(), now).await.unwrap();
    for (actor, region, org) in [
        (coordinator, Some(w.region), None),
        (
            person(s, "cur@samara.ru", Role::Coordinator(w.bare_region)).await,
            Some(w.bare_region),
            None,
        ),
        (w.official, None, Some(w.org)),
        (w.other_official, None, Some(w.other_org)),
        (
            person(s, "cur-staff@tver.ru", Role::Official(w.coordinator)).await,
            None,
            Some(w.coordinator),
        ),
        (w.operator, None, None),
    ] {
        let visible: Vec<i64> = all
            .iter()
            .filter(|i| {
                otklik_domain::social::can_view(
                    actor.role,
                    &IncidentScope {
                        status: i.status,
                        region: i.region,
                        org: i.org,
                    },
                )
            })
            .map(|i| i.id)
            .collect();
        let queue = query(SocialQuery {
            region,
            org,
            ..everything()
        })
        .await;
        assert_eq!(queue, visible, "{:?}", actor.role);
    }
    assert_eq!(
        query(SocialQuery {
            region: Some(w.region),
            ..everything()
        })
        .await,
        [lights, urgent, plain, closed]
    );
    assert_eq!(
        query(SocialQuery {
            org: Some(w.org),
            status: Some(IncidentStatus::Open),
            ..everything()
        })
        .await,
        [urgent, plain]
    );
    assert_eq!(
        query(SocialQuery {
            region: Some(w.bare_region),
            ..everything()
        })
        .await,
        [samara]
    );
    assert!(query(SocialQuery {
        org: Some(w.other_org),
        ..everything()
    })
    .await
    .is_empty());
}

const STREETS: [&str; 12] = [
    "Лесной",
    "Садовой",
    "Речной",
    "Полевой",
    "Школьной",
    "Заводской",
    "Луговой",
    "Вокзальной",
    "Парковой",
    "Берёзовой",
    "Солнечной",
    "Цветочной",
];

/// Concurrent actions on one incident (two nodes, two people): exactly one wins, the
/// others find it closed, and the incident is in one consistent state.
pub(super) async fn social_concurrent_actions_one_wins(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let coordinator = person(store.as_ref(), "cur@tver.ru", Role::Coordinator(w.region)).await;
    let mut incidents = Vec::new();
    for (n, street) in STREETS[..4].iter().enumerate() {
        let place = format!("Район {n}");
        let posts = [
            at_place(
                analysed(
                    VK,
                    &format!("-100_{n}1"),
                    &format!("Яма на {street} улице"),
                    EVENING,
                ),
                &place,
            ),
            at_place(
                analysed(
                    VK,
                    &format!("-100_{n}2"),
                    &format!("Провалился асфальт на {street}"),
                    EVENING,
                ),
                &place,
            ),
        ];
        let report = ingest(store.as_ref(), &posts, rules(), T0).await;
        assert_eq!((report.incidents_created, report.joined), (1, 1));
    }
    for i in store.social_incidents(&everything(), T0).await.unwrap() {
        incidents.push(i.id);
    }
    let at = T0 + Duration::hours(1);
    for &id in &incidents {
        let mut tasks = Vec::new();
        for k in 0..6 {
            let store = store.clone();
            let (actor, command) = if k % 2 == 0 {
                (
                    w.official,
                    SocialCommand::Answer {
                        text: format!("Ответ {k}"),
                    },
                )
            } else {
                (
                    coordinator,
                    SocialCommand::Dismiss {
                        reason: DismissReason::NoProblem,
                    },
                )
            };
            tasks.push(tokio::spawn(async move {
                store.social_act(id, actor, command, at).await
            }));
        }
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => won += 1,
                Err(StoreError::Incident(IncidentError::NotOpen(_))) => {}
                Err(e) => panic!("incident {id}: {e:?}"),
            }
        }
        assert_eq!(won, 1, "incident {id}");
        let (i, posts) = store.social_incident(id).await.unwrap();
        match i.status {
            IncidentStatus::Answered => {
                assert!(i.answer.is_some() && i.dismiss_reason.is_none());
                // One reply under each original; none under a copy.
                assert!(posts
                    .iter()
                    .all(|p| p.reply_status.as_deref()
                        == p.duplicate_of.is_none().then_some("pending")));
            }
            IncidentStatus::Dismissed => {
                assert!(i.answer.is_none() && i.dismiss_reason.is_some());
                assert!(posts.iter().all(|p| p.reply_status.is_none()));
            }
            other => panic!("incident {id} is {other:?}"),
        }
    }
    let replies = store
        .social_claim_replies(at, std::time::Duration::from_secs(60), 100)
        .await
        .unwrap();
    let answered = store
        .social_incidents(
            &SocialQuery {
                status: Some(IncidentStatus::Answered),
                ..everything()
            },
            at,
        )
        .await
        .unwrap();
    // One reply under each original post of every answered incident (none under copies).
    let mut originals = 0;
    for incident in &answered {
        let (_, posts) = store.social_incident(incident.id).await.unwrap();
        originals += posts.iter().filter(|p| p.duplicate_of.is_none()).count();
    }
    assert_eq!(replies.len(), originals);

    // Two incidents merged into each other at once: one merge wins, no cycle.
    let post = |street: &str| {
        at_place(
            analysed(
                VK,
                &format!("-300_{street}"),
                &format!("Яма на {street} улице"),
                EVENING,
            ),
            street,
        )
    };
    let mut pairs = Vec::new();
    for streets in STREETS[4..].chunks(2) {
        let a = incident_of(store.as_ref(), post(streets[0]), rules(), T0).await;
        let b = incident_of(store.as_ref(), post(streets[1]), rules(), T0).await;
        pairs.push((a, b));
    }
    for (a, b) in pairs {
        let one = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .social_act(a, coordinator, SocialCommand::Merge { into: b }, at)
                    .await
            })
        };
        let other = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .social_act(b, coordinator, SocialCommand::Merge { into: a }, at)
                    .await
            })
        };
        let results = [one.await.unwrap(), other.await.unwrap()];
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "{results:?}");
        for r in &results {
            if let Err(e) = r {
                assert!(
                    matches!(e, StoreError::Incident(IncidentError::NotOpen("merged"))),
                    "{e:?}"
                );
            }
        }
        let (ia, ib) = (
            incident(store.as_ref(), a).await,
            incident(store.as_ref(), b).await,
        );
        let statuses = [ia.status, ib.status];
        assert!(statuses.contains(&IncidentStatus::Open), "{statuses:?}");
        assert!(statuses.contains(&IncidentStatus::Merged), "{statuses:?}");
        assert_eq!(ia.posts + ib.posts, 2);
    }
}

/// One node polls a source at a time: a running lease of another holder refuses, the
/// holder renews its own, and an expired lease passes to whoever asks.
pub(super) async fn social_poll_leases_give_a_source_to_one_node(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let minute = std::time::Duration::from_secs(60);
    assert!(s.social_poll_lease(VK, "node-a", T0, minute).await.unwrap());
    assert!(!s.social_poll_lease(VK, "node-b", T0, minute).await.unwrap());
    // Another source is free.
    assert!(s.social_poll_lease(TG, "node-b", T0, minute).await.unwrap());
    let later = T0 + Duration::seconds(50);
    assert!(s
        .social_poll_lease(VK, "node-a", later, minute)
        .await
        .unwrap());
    // Renewed at +50 s, so still held at +100 s.
    let renewed = T0 + Duration::seconds(100);
    assert!(!s
        .social_poll_lease(VK, "node-b", renewed, minute)
        .await
        .unwrap());
    // node-a stopped renewing: at +110 s the lease has run out.
    let expired = T0 + Duration::seconds(110);
    assert!(s
        .social_poll_lease(VK, "node-b", expired, minute)
        .await
        .unwrap());
    assert!(!s
        .social_poll_lease(VK, "node-a", expired, minute)
        .await
        .unwrap());
    // The lease leaves the cursor alone, and storing a batch leaves the lease alone.
    s.social_receive(VK, &[], &[], Some("cursor-7"), expired)
        .await
        .unwrap();
    assert_eq!(
        s.social_cursor(VK).await.unwrap().as_deref(),
        Some("cursor-7")
    );
    assert!(!s
        .social_poll_lease(VK, "node-a", expired, minute)
        .await
        .unwrap());
    assert!(s
        .social_poll_lease(VK, "node-b", expired, minute)
        .await
        .unwrap());
    assert_eq!(
        s.social_cursor(VK).await.unwrap().as_deref(),
        Some("cursor-7")
    );
}

/// Two batches stored at once with posts about one problem in one place end up in one
/// incident, however their transactions interleave (PostgreSQL: advisory locks per
/// clustering key; SQLite: one writer).
pub(super) async fn social_concurrent_ingests_share_one_incident(store: Arc<dyn Store>) {
    World::new(store.as_ref()).await;
    for (n, street) in STREETS[..8].iter().enumerate() {
        let place = format!("Посёлок {n}");
        let first = at_place(
            analysed(
                VK,
                &format!("-200_{n}1"),
                &format!("Яма на {street} улице"),
                EVENING,
            ),
            &place,
        );
        let second = at_place(
            analysed(
                TG,
                &format!("-200_{n}2"),
                &format!("Провалился асфальт на {street}"),
                EVENING,
            ),
            &place,
        );
        let tasks = [first, second].map(|post| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .social_ingest(std::slice::from_ref(&post), &[], &[], rules(), T0)
                    .await
                    .unwrap()
            })
        });
        let mut created = 0;
        for task in tasks {
            created += task.await.unwrap().incidents_created;
        }
        assert_eq!(created, 1, "{place}: the posts were split");
    }
    let all = store.social_incidents(&everything(), T0).await.unwrap();
    assert_eq!(all.len(), 8);
    assert!(all.iter().all(|i| i.posts == 2), "{all:?}");
}

/// Within one batch a post sees what the earlier posts of the batch did: a copy that
/// brings an old incident back into the window lets the next post about the same problem
/// join it rather than open another (the counters are written once, at the batch's end).
pub(super) async fn social_batch_sees_its_own_earlier_posts(store: Arc<dyn Store>) {
    let s = store.as_ref();
    World::new(s).await;
    let old = T0 - Duration::hours(100);
    let first = "Огромная яма на Советской у остановки, третий месяц не ремонтируют";
    let x = incident_of(s, analysed(VK, "-300_1", first, old), rules(), T0).await;
    assert_eq!(incident(s, x).await.last_post_at, old);
    let report = ingest(
        s,
        &[
            analysed(TG, "-300_2", first, EVENING),
            analysed(
                VK,
                "-300_3",
                "Провалился асфальт, машины бьют колёса",
                EVENING,
            ),
        ],
        rules(),
        T0,
    )
    .await;
    assert_eq!(
        (report.duplicates, report.joined, report.incidents_created),
        (1, 2, 0),
        "{report:?}"
    );
    let x = incident(s, x).await;
    assert_eq!(
        (x.posts, x.first_post_at, x.last_post_at),
        (3, old, EVENING)
    );
    assert_eq!(posts_of(s, x.id).await.len(), 3);
}

// --- analytics -------------------------------------------------------------------------------

async fn follow_all(store: &dyn Store, batch: u32) -> u64 {
    let mut counted = 0;
    loop {
        let outcome = store.analytics_follow(batch, T0).await.unwrap();
        counted += outcome.counted;
        if outcome.leaves == 0 {
            return counted;
        }
    }
}

fn social_query(
    from_day: i64,
    to_day: i64,
    group: &[otklik_domain::analytics::Dim],
    series: Option<otklik_domain::analytics::Grain>,
) -> CellQuery {
    CellQuery {
        filter: AnalyticsFilter::default(),
        from_day,
        to_day,
        group: group.to_vec(),
        series,
    }
}

/// Every social read worth comparing: each grouping, by day, by month, and over ranges
/// that do and do not fall on month boundaries.
async fn social_snapshot(store: &dyn Store, from: i64, to: i64) -> Vec<Vec<SocialSum>> {
    use otklik_domain::analytics::{Dim, Grain};
    let groups: [&[Dim]; 6] = [
        &[],
        &[Dim::Org],
        &[Dim::Region, Dim::Org],
        &[Dim::Subcategory],
        &[Dim::Region],
        &[Dim::Region, Dim::Org, Dim::Subcategory, Dim::Channel],
    ];
    let mut all = Vec::new();
    for group in groups {
        for series in [None, Some(Grain::Day), Some(Grain::Month)] {
            for (a, b) in [(from, to), (from + 3, to - 2), (to, to)] {
                all.push(
                    store
                        .analytics_social_cells(&social_query(a, b, group, series))
                        .await
                        .unwrap(),
                );
            }
        }
    }
    all
}

pub(super) async fn social_analytics_follower_agrees_with_a_rebuild(store: Arc<dyn Store>) {
    use otklik_domain::analytics::{bucket_lower, bucket_of, day_of, Dim, Grain, SocialMeasure};
    let s = store.as_ref();
    let w = World::new(s).await;
    let hourly = IngestRules {
        answer_hours: 1,
        cluster_hours: 72,
    };
    // Four incidents in Tver's region, all routed to the organisation; the fourth gets two
    // posts, of which one is split off into a fifth.
    let rerouted = incident_of(
        s,
        analysed(VK, "-100_1", "Яма на Советской", EVENING),
        hourly,
        T0,
    )
    .await;
    let late = incident_of(
        s,
        at_place(analysed(VK, "-100_2", "Яма в Ржеве", EVENING), "Ржев"),
        hourly,
        T0,
    )
    .await;
    // The follower counts the openings now, before anything moves.
    assert_eq!(follow_all(s, 1).await, 2);
    let dismissed = incident_of(
        s,
        at_place(analysed(VK, "-100_3", "Яма в Торжке", EVENING), "Торжок"),
        hourly,
        T0,
    )
    .await;
    let report = ingest(
        s,
        &[
            at_place(
                analysed(VK, "-100_4", "Яма у вокзала в Бологом", EVENING),
                "Бологое",
            ),
            at_place(
                analysed(TG, "tg:5", "Колесо пробил на Октябрьской, Бологое", EVENING),
                "Бологое",
            ),
        ],
        hourly,
        T0,
    )
    .await;
    assert_eq!((report.incidents_created, report.joined), (1, 1));
    let clustered = latest(s).await;
    assert_eq!(incident(s, clustered).await.posts, 2);
    let second = posts_of(s, clustered).await[1].id;
    let split = s
        .social_act(
            clustered,
            w.operator,
            SocialCommand::Split {
                posts: vec![second],
            },
            T0 + Duration::minutes(20),
        )
        .await
        .unwrap();
    // Re-routed after the follower counted its opening, then answered on time there.
    s.social_act(
        rerouted,
        w.operator,
        SocialCommand::Reroute { org: w.other_org },
        T0 + Duration::minutes(10),
    )
    .await
    .unwrap();
    s.social_act(
        rerouted,
        w.other_official,
        SocialCommand::Answer {
            text: "Заделаем".to_owned(),
        },
        T0 + Duration::minutes(30),
    )
    .await
    .unwrap();
    s.social_act(
        dismissed,
        w.operator,
        SocialCommand::Dismiss {
            reason: DismissReason::NoProblem,
        },
        T0 + Duration::minutes(30),
    )
    .await
    .unwrap();
    follow_all(s, 2).await;
    // Three open past their deadline: the late one, the clustered one and its split.
    assert_eq!(s.social_monitor(T0 + Duration::hours(2)).await.unwrap(), 3);
    s.social_act(
        late,
        w.official,
        SocialCommand::Answer {
            text: "Заделали".to_owned(),
        },
        T0 + Duration::hours(3),
    )
    .await
    .unwrap();
    follow_all(s, 3).await;
    assert_eq!(
        follow_all(s, 3).await,
        0,
        "caught up: nothing counted twice"
    );

    let from = day_of((T0 - Duration::days(40)).unix_timestamp());
    let to = day_of((T0 + Duration::days(1)).unix_timestamp());
    let totals = s
        .analytics_social_cells(&social_query(from, to, &[], None))
        .await
        .unwrap();
    assert_eq!(totals.len(), 1);
    let f = totals[0].figures;
    let seen = |m: SocialMeasure| f.get(m);
    assert_eq!(
        seen(SocialMeasure::Opened),
        5,
        "four ingested and one split off"
    );
    assert_eq!(
        (
            seen(SocialMeasure::Answered),
            seen(SocialMeasure::AnsweredOnTime),
            f.answered_late()
        ),
        (2, 1, 1)
    );
    assert_eq!(seen(SocialMeasure::Breached), 3);
    assert_eq!(seen(SocialMeasure::Dismissed), 1);
    // Times from opening to the public answer: 30 minutes and 3 hours, in their buckets.
    use otklik_domain::analytics::Timing;
    let times = &totals[0].times;
    assert_eq!(times.count(Timing::Answer), 2);
    let within = |seconds: i64, q: f64| {
        let b = bucket_of(seconds);
        let estimate = times.quantile(Timing::Answer, q).unwrap();
        assert!(
            (bucket_lower(b)..=bucket_lower(b + 1)).contains(&estimate),
            "{q}: {estimate} for {seconds}"
        );
    };
    within(30 * 60, 0.5);
    within(3 * 3600, 0.9);
    // By organisation: the opening stays where it was routed then; the answer is the
    // holder's at the time.
    let by_org = s
        .analytics_social_cells(&social_query(from, to, &[Dim::Org], None))
        .await
        .unwrap();
    let of = |org: OrgId| {
        by_org
            .iter()
            .find(|c| c.key.org == org.0)
            .map(|c| c.figures)
            .unwrap_or_default()
    };
    assert_eq!(of(w.org).get(SocialMeasure::Opened), 5);
    assert_eq!(of(w.org).get(SocialMeasure::Answered), 1);
    assert_eq!(of(w.org).answered_late(), 1);
    assert_eq!(of(w.org).get(SocialMeasure::Breached), 3);
    assert_eq!(of(w.other_org).get(SocialMeasure::Opened), 0);
    assert_eq!(of(w.other_org).get(SocialMeasure::AnsweredOnTime), 1);
    assert!(by_org
        .iter()
        .all(|c| c.key.channel.is_none() && c.key.kind.is_none()));
    // Filters: the organisation; channel and kind do not apply; an unknown subcategory
    // and an empty territory select nothing; the region keeps everything.
    let filtered = |filter: AnalyticsFilter| {
        let query = CellQuery {
            filter,
            ..social_query(from, to, &[], None)
        };
        async move { s.analytics_social_cells(&query).await.unwrap() }
    };
    let other = filtered(AnalyticsFilter {
        org: Some(w.other_org.0),
        ..Default::default()
    })
    .await;
    assert_eq!(other[0].figures.get(SocialMeasure::Answered), 1);
    assert_eq!(other[0].figures.get(SocialMeasure::Opened), 0);
    let by_channel = filtered(AnalyticsFilter {
        channel: Some(Channel::Portal),
        kind: Some(SubmissionKind::Appeal),
        ..Default::default()
    })
    .await;
    assert_eq!(by_channel[0].figures, f);
    assert_eq!(
        filtered(AnalyticsFilter {
            regions: Some(vec![w.region.0]),
            subcategories: Some(vec![w.pothole.0]),
            ..Default::default()
        })
        .await[0]
            .figures,
        f
    );
    assert!(filtered(AnalyticsFilter {
        subcategories: Some(vec![w.bus.0]),
        ..Default::default()
    })
    .await
    .is_empty());
    assert!(filtered(AnalyticsFilter {
        regions: Some(Vec::new()),
        ..Default::default()
    })
    .await
    .is_empty());
    // Every projection and every cut of the period sums to the same totals.
    for group in [
        &[Dim::Region, Dim::Org][..],
        &[Dim::Subcategory],
        &[Dim::Region, Dim::Org, Dim::Subcategory],
    ] {
        for series in [None, Some(Grain::Day), Some(Grain::Month)] {
            let sums = s
                .analytics_social_cells(&social_query(from, to, group, series))
                .await
                .unwrap();
            let mut total = otklik_domain::analytics::SocialFigures::default();
            sums.iter().for_each(|c| total.add(&c.figures));
            assert_eq!(total, f, "{group:?} {series:?}");
        }
    }
    // One snapshot read returns the same social sums as the single reads.
    let answers = s
        .analytics_read(&[], &[social_query(from, to, &[], None)])
        .await
        .unwrap();
    assert!(answers.cells.is_empty());
    assert_eq!(answers.social, vec![totals.clone()]);
    assert_eq!(answers.position.cursor, answers.position.log_size);
    assert_ne!(split, clustered);

    // The rebuild, which reads every row after all the moves, recomputes every cell.
    let before = social_snapshot(s, from, to).await;
    s.analytics_reset(T0).await.unwrap();
    assert!(s
        .analytics_social_cells(&social_query(from, to, &[], None))
        .await
        .unwrap()
        .is_empty());
    follow_all(s, 10_000).await;
    assert_eq!(social_snapshot(s, from, to).await, before);
}
