//! The `Deliveries` and `Idempotency` traits on both backends: the outbox is written in
//! the routing's transaction (and only for organisations with settings), pushes are
//! leased, retried and alerted once, the pull queue hides and returns messages, and
//! idempotency keys replay the first answer.

use super::*;
use otklik_domain::delivery::{DeliveryMode, DeliverySettings, PushUrl};
use otklik_domain::lifecycle::IncidentKind;

const SECRET: &str = "0123456789abcdef0123456789abcdef-secret";

fn push_settings(alert_after: u32) -> DeliverySettings {
    DeliverySettings::new(
        DeliveryMode::Push,
        Some((
            PushUrl::parse("https://sed.example.ru/otklik").unwrap(),
            SECRET.to_owned(),
        )),
        300,
        alert_after,
    )
    .unwrap()
}

fn pull_settings(timeout: u64) -> DeliverySettings {
    DeliverySettings::new(DeliveryMode::Pull, None, timeout, 2).unwrap()
}

fn envelope(d: &OutgoingDelivery) -> serde_json::Value {
    serde_json::from_str(&d.payload).unwrap()
}

pub(super) async fn the_outbox_is_written_with_the_routing(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    // No settings: nothing is queued.
    let quiet = w.register_pothole_with_photo(s).await;
    assert_eq!(
        s.delivery_summary(w.org).await.unwrap(),
        DeliverySummary::default()
    );

    s.put_integration(w.org, &push_settings(3), Some(w.operator.user), T0)
        .await
        .unwrap();
    s.put_integration(w.other_org, &pull_settings(60), None, T0)
        .await
        .unwrap();
    let stored = s.integration(w.org).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.mode,
            stored.push_url.as_deref(),
            stored.push_secret.as_deref()
        ),
        (
            DeliveryMode::Push,
            Some("https://sed.example.ru/otklik"),
            Some(SECRET)
        )
    );
    let change = s.config_changes(1, 0).await.unwrap().remove(0);
    assert!(
        !format!("{change:?}").contains(SECRET),
        "the secret is never on record"
    );

    let id = w.register_pothole_with_photo(s).await;
    let due = s
        .claim_pushes(
            T0 + Duration::seconds(1),
            std::time::Duration::from_secs(40),
            10,
        )
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    let push = &due[0];
    assert_eq!(push.attempts, 1);
    assert_eq!(
        push.push,
        Some((
            "https://sed.example.ru/otklik".to_owned(),
            SECRET.to_owned()
        ))
    );
    let body = envelope(push);
    assert_eq!(body["event"], "submission.routed");
    assert_eq!(body["delivery_id"], push.key.as_str());
    assert_eq!(body["submission"]["id"], id.0);
    assert_eq!(
        body["submission"]["text"],
        "Яма на дороге у дома 5 по улице Ленина"
    );
    assert_eq!(body["submission"]["region"]["code"], "RU-TVE");
    assert_eq!(body["submission"]["attachments"][0]["name"], "photo.png");
    assert_eq!(body["trigger"]["kind"], "registered");
    assert_ne!(id, quiet);

    // Leased: a second worker finds nothing until the lease ends.
    let again = s
        .claim_pushes(
            T0 + Duration::seconds(2),
            std::time::Duration::from_secs(40),
            10,
        )
        .await
        .unwrap();
    assert!(again.is_empty());

    // Redirected to the pull organisation: routed there, withdrawn here.
    act(
        s,
        id,
        w.official,
        Action::Redirect {
            to: w.other_org,
            reason: reason("Не наша компетенция"),
        },
        T0 + Duration::minutes(5),
    )
    .await;
    let pulled = s
        .pull_delivery(w.other_org, T0 + Duration::minutes(6))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(envelope(&pulled)["event"], "submission.routed");
    let later = T0 + Duration::minutes(7);
    let pushes = s
        .claim_pushes(later, std::time::Duration::from_secs(40), 10)
        .await
        .unwrap();
    let events: Vec<_> = pushes.iter().map(|d| d.event.as_str()).collect();
    assert_eq!(events, vec!["submission.routed", "submission.withdrawn"]);
    let withdrawn = envelope(&pushes[1]);
    assert_eq!(withdrawn["submission"].as_object().unwrap().len(), 3);
    assert!(withdrawn["submission"].get("text").is_none());

    // The holder's own actions are not echoed; the citizen's are.
    let before = s.delivery_summary(w.other_org).await.unwrap();
    act(s, id, w.other_official, Action::TakeIntoWork, later).await;
    assert_eq!(s.delivery_summary(w.other_org).await.unwrap(), before);
}

pub(super) async fn pushes_retry_then_alert_once(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    s.put_integration(w.org, &push_settings(2), None, T0)
        .await
        .unwrap();
    let id = w.register_pothole_with_photo(s).await;
    let lease = std::time::Duration::from_secs(40);
    let fail = |at: OffsetDateTime| PushOutcome::Failed {
        error: "status 503".to_owned(),
        retry_at: at + Duration::seconds(10),
    };
    let mut at = T0 + Duration::seconds(1);
    for attempt in 1..=3u32 {
        let due = s.claim_pushes(at, lease, 10).await.unwrap();
        assert_eq!(due.len(), 1, "attempt {attempt}");
        assert_eq!(due[0].attempts, attempt);
        s.finish_pushes(&[(due[0].id, fail(at))], at).await.unwrap();
        // Not due again before its retry time.
        assert!(s
            .claim_pushes(at + Duration::seconds(9), lease, 10)
            .await
            .unwrap()
            .is_empty());
        at += Duration::seconds(10);
    }
    let list = s
        .deliveries(w.org, Some(DeliveryState::Failing), 10, 0)
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    let failing = &list[0];
    assert_eq!(failing.attempts, 3);
    assert_eq!(failing.last_error.as_deref(), Some("status 503"));
    assert_eq!(failing.failing_since, Some(T0 + Duration::seconds(1)));
    assert!(failing.alerted_at.is_some());
    let incidents = s
        .incidents(&IncidentQuery {
            kind: Some(IncidentKind::DeliveryFailing),
            region: None,
            org: None,
            resolved: None,
            limit: 10,
            offset: 0,
        })
        .await
        .unwrap();
    assert_eq!(incidents.total, 1, "alerted once, not at every failure");
    assert_eq!(incidents.items[0].submission(), Some(id));

    let due = s.claim_pushes(at, lease, 10).await.unwrap();
    s.finish_pushes(&[(due[0].id, PushOutcome::Delivered)], at)
        .await
        .unwrap();
    let done = s.deliveries(w.org, None, 10, 0).await.unwrap().remove(0);
    assert_eq!(done.state(), DeliveryState::Delivered);
    assert_eq!(done.attempts, 4);
    assert!(s
        .claim_pushes(at + Duration::hours(2), lease, 10)
        .await
        .unwrap()
        .is_empty());
    let summary = s.delivery_summary(w.org).await.unwrap();
    assert_eq!(
        (summary.pending, summary.failing, summary.delivered),
        (0, 0, 1)
    );
    let overview = s.integration_overview().await.unwrap();
    assert_eq!(overview.len(), 1);
    assert_eq!(overview[0].summary.delivered, 1);
}

/// Two nodes finish their batches of one organisation's pushes at the same moment, some
/// failed with a retry beyond the other batch's lease (a long backoff): each node's
/// circuit breaker then reaches the other's rows in flight. Neither waits for the other
/// for ever, and every outcome counts: a batch lost to a deadlock would leave pushes the
/// receiver accepted undelivered, to be sent again when their lease ends.
pub(super) async fn concurrent_push_outcomes_of_one_organisation_all_count(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    s.put_integration(w.org, &push_settings(1000), None, T0)
        .await
        .unwrap();
    let lease = std::time::Duration::from_secs(40);
    let (mut delivered, mut failed) = (0, 0);
    for round in 0..8 {
        for _ in 0..8 {
            w.register_pothole_with_photo(s).await;
        }
        let at = T0 + Duration::minutes(round + 1);
        let first = s.claim_pushes(at, lease, 4).await.unwrap();
        let second = s.claim_pushes(at, lease, 4).await.unwrap();
        assert_eq!((first.len(), second.len()), (4, 4), "round {round}");
        // Failed, delivered, failed, delivered: each batch's breaker runs between its
        // own rows.
        let outcomes = |batch: &[OutgoingDelivery]| {
            batch
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let outcome = if i % 2 == 0 {
                        PushOutcome::Failed {
                            error: "status 503".to_owned(),
                            retry_at: at + Duration::hours(2),
                        }
                    } else {
                        PushOutcome::Delivered
                    };
                    (d.id, outcome)
                })
                .collect::<Vec<_>>()
        };
        let (a, b) = (outcomes(&first), outcomes(&second));
        let (done_a, done_b) = tokio::join!(s.finish_pushes(&a, at), s.finish_pushes(&b, at));
        assert_eq!(
            (outcome(done_a), outcome(done_b)),
            ("ok".to_owned(), "ok".to_owned()),
            "round {round}"
        );
        delivered += 4;
        failed += 4;
    }
    let summary = s.delivery_summary(w.org).await.unwrap();
    assert_eq!(
        (summary.pending, summary.failing, summary.delivered),
        (0, failed, delivered)
    );
    for record in s.deliveries(w.org, None, 100, 0).await.unwrap() {
        assert_eq!(record.attempts, 1, "{record:?}");
    }
}

pub(super) async fn the_pull_queue_hides_and_returns_messages(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    s.put_integration(w.org, &pull_settings(60), None, T0)
        .await
        .unwrap();
    let first = w.register_pothole_with_photo(s).await;
    let t = T0 + Duration::seconds(1);
    let taken = s.pull_delivery(w.org, t).await.unwrap().unwrap();
    assert_eq!(envelope(&taken)["submission"]["id"], first.0);
    // Hidden for the visibility timeout; another organisation sees nothing of it.
    assert_eq!(
        s.pull_delivery(w.org, t + Duration::seconds(59))
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.pull_delivery(w.other_org, t).await.unwrap(), None);
    assert!(matches!(
        s.ack_delivery(w.other_org, taken.id, t).await,
        Err(StoreError::NotFound)
    ));
    // Not acknowledged in time: it comes back, counted as a failure.
    let back = s
        .pull_delivery(w.org, t + Duration::seconds(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((back.id, back.attempts), (taken.id, 2));
    let record = s.deliveries(w.org, None, 10, 0).await.unwrap().remove(0);
    assert_eq!(record.state(), DeliveryState::Failing);
    assert!(record.alerted_at.is_some(), "the threshold of 2 is reached");
    s.ack_delivery(w.org, back.id, t + Duration::seconds(61))
        .await
        .unwrap();
    s.ack_delivery(w.org, back.id, t + Duration::seconds(62))
        .await
        .unwrap();
    assert_eq!(
        s.pull_delivery(w.org, t + Duration::hours(1))
            .await
            .unwrap(),
        None
    );
    let record = s.deliveries(w.org, None, 10, 0).await.unwrap().remove(0);
    assert_eq!(record.delivered_at, Some(t + Duration::seconds(61)));
    // Pushes never take pull messages.
    let second = w.register_pothole_with_photo(s).await;
    assert!(s
        .claim_pushes(
            T0 + Duration::hours(1),
            std::time::Duration::from_secs(40),
            10
        )
        .await
        .unwrap()
        .is_empty());
    let next = s
        .pull_delivery(w.org, T0 + Duration::hours(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(envelope(&next)["submission"]["id"], second.0);
    s.remove_integration(w.org, None, T0).await.unwrap();
    assert!(matches!(
        s.remove_integration(w.org, None, T0).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.integration(w.org).await.unwrap(), None);
}

pub(super) async fn idempotency_keys_replay_the_first_answer(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    let who = w.official.user;
    let request = [7u8; 32];
    assert_eq!(
        s.begin_idempotent(who, "k-1", &request, T0).await.unwrap(),
        IdempotencyBegin::Fresh
    );
    assert_eq!(
        s.begin_idempotent(who, "k-1", &request, T0).await.unwrap(),
        IdempotencyBegin::InProgress
    );
    let answer = StoredResponse {
        status: 201,
        content_type: Some("application/json".to_owned()),
        location: Some("/api/v1/submissions/7".to_owned()),
        body: b"{\"ok\":true}".to_vec(),
    };
    s.finish_idempotent(who, "k-1", &answer).await.unwrap();
    assert_eq!(
        s.begin_idempotent(who, "k-1", &request, T0).await.unwrap(),
        IdempotencyBegin::Replay(answer.clone())
    );
    assert_eq!(
        s.begin_idempotent(who, "k-1", &[8u8; 32], T0)
            .await
            .unwrap(),
        IdempotencyBegin::Mismatch
    );
    // Keys are per principal.
    assert_eq!(
        s.begin_idempotent(w.other_official.user, "k-1", &[8u8; 32], T0)
            .await
            .unwrap(),
        IdempotencyBegin::Fresh
    );
    // An abandoned claim can be retried; a stale one too; an old key is forgotten.
    s.begin_idempotent(who, "k-2", &request, T0).await.unwrap();
    s.abandon_idempotent(who, "k-2").await.unwrap();
    assert_eq!(
        s.begin_idempotent(who, "k-2", &request, T0).await.unwrap(),
        IdempotencyBegin::Fresh
    );
    assert_eq!(
        s.begin_idempotent(who, "k-2", &request, T0 + Duration::minutes(3))
            .await
            .unwrap(),
        IdempotencyBegin::Fresh
    );
    assert_eq!(
        s.begin_idempotent(who, "k-1", &[8u8; 32], T0 + Duration::hours(25))
            .await
            .unwrap(),
        IdempotencyBegin::Fresh
    );
}

/// The list filters the widget and Open311 read by: subcategory, open or finished (a
/// submission waiting for a clarification is open), creation range, channel and site.
pub(super) async fn lists_filter_by_channel_site_state_and_dates(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    let site = otklik_domain::text::WidgetOrigin::parse("https://tver.example").unwrap();
    let from_widget = s
        .register_submission(
            NewSubmission {
                channel: Channel::Widget,
                origin: Some(site.clone()),
                ..w.submission(w.citizen, w.bus, "Автобус 21 не пришёл")
            },
            T0,
        )
        .await
        .unwrap()
        .id;
    let later = T0 + Duration::hours(1);
    let from_portal = s
        .register_submission(w.submission(w.citizen, w.pothole, "Яма у дома 7"), later)
        .await
        .unwrap()
        .id;
    act(s, from_widget, w.official, Action::TakeIntoWork, later).await;
    act(
        s,
        from_widget,
        w.official,
        Action::RequestClarification {
            question: reason("Уточните номер остановки"),
        },
        later,
    )
    .await;
    let ids = |q: ListQuery| async move {
        s.list(Scope::Author(w.citizen.user), &q)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    let base = || ListQuery::new(later);
    assert_eq!(
        ids(ListQuery {
            channel: Some(Channel::Widget),
            origin: Some(site.as_str().to_owned()),
            ..base()
        })
        .await,
        vec![from_widget]
    );
    assert_eq!(
        ids(ListQuery {
            channel: Some(Channel::Widget),
            origin: Some("https://other.example".to_owned()),
            ..base()
        })
        .await,
        Vec::<SubmissionId>::new()
    );
    assert_eq!(
        ids(ListQuery {
            channel: Some(Channel::Portal),
            ..base()
        })
        .await,
        vec![from_portal]
    );
    assert_eq!(
        ids(ListQuery {
            subcategory: Some(w.bus),
            ..base()
        })
        .await,
        vec![from_widget]
    );
    assert_eq!(
        ids(ListQuery {
            open: Some(true),
            ..base()
        })
        .await,
        vec![from_portal, from_widget],
        "awaiting a clarification is still open"
    );
    assert_eq!(
        ids(ListQuery {
            open: Some(false),
            ..base()
        })
        .await,
        Vec::<SubmissionId>::new()
    );
    assert_eq!(
        ids(ListQuery {
            created_from: Some(later),
            ..base()
        })
        .await,
        vec![from_portal]
    );
    assert_eq!(
        ids(ListQuery {
            created_before: Some(later),
            ..base()
        })
        .await,
        vec![from_widget]
    );
    let detail = s.submission(from_widget, w.citizen).await.unwrap();
    assert_eq!(
        (detail.channel, detail.origin.as_deref()),
        (Channel::Widget, Some("https://tver.example"))
    );
}
