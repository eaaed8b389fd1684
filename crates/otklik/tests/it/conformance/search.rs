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
