//! The `Discussions` trait on both backends: comments wait for moderation and keep the
//! counters, moderation follows `discussion::moderate`, one position per person (also
//! under concurrency), nothing is written outside the discussion's dates.

use super::*;
use otklik_domain::discussion::{CommentStatus, Moderation, RejectionReason, Stance};
use otklik_domain::poll::Schedule;
use otklik_domain::{CommentId, DiscussionId};

pub(super) async fn discussions_comments_moderation_and_support(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let opens = T0 + Duration::hours(1);
    let closes = T0 + Duration::days(10);
    let id = s
        .create_discussion(
            NewDiscussion {
                org: Some(w.org),
                title: "Проект планировки набережной".to_owned(),
                proposal: "Предлагается расширить пешеходную зону набережной.".to_owned(),
                region: Some(w.region),
                schedule: Schedule::new(opens, closes).unwrap(),
                by: w.official.user,
            },
            T0,
        )
        .await
        .unwrap();
    let during = opens + Duration::minutes(1);

    // Before the opening nothing is written.
    let early = s
        .add_comment(id, w.citizen.user, "Поддерживаю проект", T0)
        .await;
    assert_eq!(early.unwrap_err().code(), "discussion_not_open");
    let early = s.support(id, &["k:ivan".to_owned()], Stance::For, T0).await;
    assert_eq!(early.unwrap_err().code(), "discussion_not_open");

    let first = s
        .add_comment(id, w.citizen.user, "Поддерживаю проект", during)
        .await
        .unwrap();
    let second = s
        .add_comment(id, w.other_citizen.user, "Нужны скамейки", during)
        .await
        .unwrap();
    let third = s
        .add_comment(id, w.other_citizen.user, "Реклама!", during)
        .await
        .unwrap();
    let d = s.discussion(id).await.unwrap();
    assert_eq!((d.comments_pending, d.comments_published), (3, 0));
    assert!(s
        .comments(id, CommentStatus::Published, 10)
        .await
        .unwrap()
        .is_empty());

    let publish = Moderation::Publish;
    let spam = Moderation::Reject(RejectionReason::Spam);
    let by = w.official.user;
    assert_eq!(
        s.moderate_comment(id, first, by, &publish, during)
            .await
            .unwrap(),
        CommentStatus::Published
    );
    assert_eq!(
        s.moderate_comment(id, second, by, &publish, during)
            .await
            .unwrap(),
        CommentStatus::Published
    );
    assert_eq!(
        s.moderate_comment(id, third, by, &spam, during)
            .await
            .unwrap(),
        CommentStatus::Rejected
    );
    // Refused moves change nothing.
    let again = s.moderate_comment(id, first, by, &publish, during).await;
    assert_eq!(again.unwrap_err().code(), "already_published");
    let back = s.moderate_comment(id, third, by, &publish, during).await;
    assert_eq!(back.unwrap_err().code(), "already_rejected");
    let elsewhere = s
        .moderate_comment(DiscussionId(id.0 + 1), first, by, &spam, during)
        .await;
    assert!(matches!(elsewhere, Err(StoreError::NotFound)));
    let unknown = s
        .moderate_comment(id, CommentId(999_999), by, &spam, during)
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)));
    // A published comment may still be taken down.
    s.moderate_comment(
        id,
        second,
        by,
        &Moderation::Reject(RejectionReason::PersonalData),
        during,
    )
    .await
    .unwrap();
    let d = s.discussion(id).await.unwrap();
    assert_eq!((d.comments_pending, d.comments_published), (0, 1));
    let published = s.comments(id, CommentStatus::Published, 10).await.unwrap();
    assert_eq!(published.iter().map(|c| c.id).collect::<Vec<_>>(), [first]);
    let rejected = s.comments(id, CommentStatus::Rejected, 10).await.unwrap();
    assert_eq!(
        rejected
            .iter()
            .map(|c| (c.id, c.reason))
            .collect::<Vec<_>>(),
        [
            (second, Some(RejectionReason::PersonalData)),
            (third, Some(RejectionReason::Spam))
        ]
    );
    let own = s.own_comments(id, w.other_citizen.user).await.unwrap();
    assert_eq!(own.len(), 2);

    // One position per person, even when sent many times at once.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        let stance = if i % 2 == 0 {
            Stance::For
        } else {
            Stance::Against
        };
        tasks.push(tokio::spawn(async move {
            store
                .support(id, &["k:ivan".to_owned()], stance, during)
                .await
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => accepted += 1,
            Err(e) => assert_eq!(e.code(), "already_supported"),
        }
    }
    assert_eq!(accepted, 1);
    s.support(id, &["k:maria".to_owned()], Stance::Against, during)
        .await
        .unwrap();
    let d = s.discussion(id).await.unwrap();
    assert_eq!(d.support_for + d.support_against, 2);
    assert_eq!(
        s.stance_of(id, &["k:maria".to_owned()]).await.unwrap(),
        Some(Stance::Against)
    );
    assert_eq!(
        s.stance_of(id, &["k:nobody".to_owned()]).await.unwrap(),
        None
    );

    // After the close: closed to comments and positions; listed only when open.
    let after = closes + Duration::seconds(1);
    assert_eq!(
        s.add_comment(id, w.citizen.user, "Поздно", after)
            .await
            .unwrap_err()
            .code(),
        "discussion_not_open"
    );
    let open = s
        .discussions(
            DiscussionFilter {
                open_at: Some(during),
                ..DiscussionFilter::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(open.iter().map(|d| d.id).collect::<Vec<_>>(), [id]);
    let later = s
        .discussions(
            DiscussionFilter {
                open_at: Some(after),
                ..DiscussionFilter::default()
            },
            10,
        )
        .await
        .unwrap();
    assert!(later.is_empty());
    let mine = s
        .discussions(
            DiscussionFilter {
                org: Some(Some(w.org)),
                ..DiscussionFilter::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert!(matches!(
        s.discussion(DiscussionId(999_999)).await,
        Err(StoreError::NotFound)
    ));
}
