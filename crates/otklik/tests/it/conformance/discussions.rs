//! The `Discussions` trait on both backends: comments wait for moderation and keep the
//! counters, moderation follows `discussion::moderate`, one position per person (also
//! under concurrency), nothing is written outside the discussion's dates.

use super::*;
use otklik_domain::discussion::{CommentStatus, Moderation, RejectionReason, Stance};
use otklik_domain::poll::Schedule;
use otklik_domain::{CommentId, DiscussionId};

/// Seven published comments, paged three by three, give 3 + 3 + 1 in order and nothing
/// twice; comments in other statuses, between and after them, are neither listed nor
/// counted as more, and another discussion's never show.
pub(super) async fn discussions_comments_are_paged_by_id(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let opens = T0 + Duration::hours(1);
    let during = opens + Duration::minutes(1);
    let open = |title: &str| NewDiscussion {
        org: Some(w.org),
        title: title.to_owned(),
        proposal: "Предлагается обсудить план благоустройства двора.".to_owned(),
        region: Some(w.region),
        schedule: Schedule::new(opens, T0 + Duration::days(10)).unwrap(),
        by: w.official.user,
    };
    let id = s
        .create_discussion(open("Двор на Садовой"), T0)
        .await
        .unwrap();
    let other = s
        .create_discussion(open("Двор на Лесной"), T0)
        .await
        .unwrap();
    let by = w.official.user;
    let spam = Moderation::Reject(RejectionReason::Spam);
    let mut published = Vec::new();
    let mut pending = Vec::new();
    for i in 0..7 {
        let c = s
            .add_comment(id, w.citizen.user, &format!("Комментарий {i}"), during)
            .await
            .unwrap();
        s.moderate_comment(id, c, by, &Moderation::Publish, during)
            .await
            .unwrap();
        published.push(c);
        // Between the published ones: one left pending, one rejected, one elsewhere.
        if i % 3 == 1 {
            let waiting = s
                .add_comment(id, w.other_citizen.user, "Ждёт модерации", during)
                .await
                .unwrap();
            pending.push(waiting);
            let rejected = s
                .add_comment(id, w.other_citizen.user, "Реклама", during)
                .await
                .unwrap();
            s.moderate_comment(id, rejected, by, &spam, during)
                .await
                .unwrap();
            s.add_comment(other, w.citizen.user, "В другом обсуждении", during)
                .await
                .unwrap();
        }
    }
    // Comments in other statuses after the last published one: still no further page.
    pending.push(
        s.add_comment(id, w.other_citizen.user, "Последний, ждёт", during)
            .await
            .unwrap(),
    );

    let mut read = Vec::new();
    let mut sizes = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .comments(id, CommentStatus::Published, after, 3)
            .await
            .unwrap();
        assert!(page
            .comments
            .iter()
            .all(|c| c.status == CommentStatus::Published));
        sizes.push(page.comments.len());
        read.extend(page.comments.iter().map(|c| c.id));
        if !page.more {
            break;
        }
        after = page.comments.last().map(|c| c.id);
        assert!(sizes.len() < 10, "the pages never end: {sizes:?}");
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(read, published, "in order, each once");

    // Exactly a page's worth: no empty page promised after it.
    let whole = s
        .comments(id, CommentStatus::Published, None, 7)
        .await
        .unwrap();
    assert_eq!((whole.comments.len(), whole.more), (7, false));
    let past_the_end = s
        .comments(id, CommentStatus::Published, published.last().copied(), 3)
        .await
        .unwrap();
    assert_eq!(
        past_the_end,
        CommentPage {
            earlier: true,
            ..CommentPage::default()
        },
        "an empty page past the end still leads back"
    );

    // Back again, from every page size: the pages going back are exactly the pages
    // going forward, in the same order within each, never repeating or skipping.
    for limit in 1..=8u32 {
        let mut forward: Vec<Vec<CommentId>> = Vec::new();
        let mut after = None;
        loop {
            let page = s
                .comments(id, CommentStatus::Published, after, limit)
                .await
                .unwrap();
            assert_eq!(page.earlier, after.is_some(), "limit {limit}");
            forward.push(page.comments.iter().map(|c| c.id).collect());
            if !page.more {
                break;
            }
            after = page.comments.last().map(|c| c.id);
        }
        let mut back: Vec<Vec<CommentId>> = Vec::new();
        // From the last page's first comment (nothing to go back to from a lone page).
        let mut before = forward
            .last()
            .filter(|_| forward.len() > 1)
            .and_then(|p| p.first().copied());
        while let Some(at) = before {
            let page = s
                .comments_before(id, CommentStatus::Published, at, limit)
                .await
                .unwrap();
            assert!(page.more, "limit {limit}: the page read back has followers");
            assert!(page
                .comments
                .iter()
                .all(|c| c.status == CommentStatus::Published));
            back.push(page.comments.iter().map(|c| c.id).collect());
            before = if page.earlier {
                page.comments.first().map(|c| c.id)
            } else {
                None
            };
            assert!(back.len() <= forward.len(), "limit {limit}: {back:?}");
        }
        back.reverse();
        assert_eq!(
            back[..],
            forward[..forward.len() - 1],
            "limit {limit}: back the way it came"
        );
    }
    // Read back from past the end: the last comments, the later of them last.
    let last = s
        .comments_before(id, CommentStatus::Published, CommentId(i64::MAX), 3)
        .await
        .unwrap();
    assert_eq!(
        (
            last.comments.iter().map(|c| c.id).collect::<Vec<_>>(),
            last.earlier,
            last.more
        ),
        (published[4..].to_vec(), true, false)
    );
    // Read back from the first: nothing before it, and the rest follow.
    let none = s
        .comments_before(id, CommentStatus::Published, published[0], 3)
        .await
        .unwrap();
    assert_eq!(
        none,
        CommentPage {
            more: true,
            ..CommentPage::default()
        }
    );
    // Each status pages back on its own: the pending before the last one waiting.
    let waiting_back = s
        .comments_before(id, CommentStatus::Pending, pending[2], 5)
        .await
        .unwrap();
    assert_eq!(
        (
            waiting_back
                .comments
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>(),
            waiting_back.earlier,
            waiting_back.more
        ),
        (pending[..2].to_vec(), false, true)
    );

    // Each status pages on its own.
    let waiting = s
        .comments(id, CommentStatus::Pending, None, 2)
        .await
        .unwrap();
    assert_eq!(
        (
            waiting.comments.iter().map(|c| c.id).collect::<Vec<_>>(),
            waiting.more
        ),
        (pending[..2].to_vec(), true)
    );
    let rest = s
        .comments(id, CommentStatus::Pending, Some(pending[1]), 2)
        .await
        .unwrap();
    assert_eq!(
        (
            rest.comments.iter().map(|c| c.id).collect::<Vec<_>>(),
            rest.more
        ),
        (pending[2..].to_vec(), false)
    );
    assert!(rest.earlier);

    // Moderation between two pages moves nothing: a comment published meanwhile (the
    // one waiting between the 5th and 6th) joins the later pages, one taken down (the
    // 5th) leaves them, and the rest stay in order.
    s.moderate_comment(id, pending[1], by, &Moderation::Publish, during)
        .await
        .unwrap();
    s.moderate_comment(id, published[4], by, &spam, during)
        .await
        .unwrap();
    let second = s
        .comments(id, CommentStatus::Published, Some(published[2]), 3)
        .await
        .unwrap();
    assert_eq!(
        (
            second.comments.iter().map(|c| c.id).collect::<Vec<_>>(),
            second.more
        ),
        (vec![published[3], pending[1], published[5]], true)
    );
}

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
        .comments(id, CommentStatus::Published, None, 10)
        .await
        .unwrap()
        .comments
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
    let published = s.comments(id, CommentStatus::Published, None, 10);
    let published = published.await.unwrap().comments;
    assert_eq!(published.iter().map(|c| c.id).collect::<Vec<_>>(), [first]);
    let rejected = s.comments(id, CommentStatus::Rejected, None, 10);
    let rejected = rejected.await.unwrap().comments;
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
