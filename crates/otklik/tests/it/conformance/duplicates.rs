//! The `Duplicates` trait on both backends: merging submissions about one problem so
//! that the primary's taking into work and answers reach every author (each keeping their
//! own history and rating), separating them again, refusals that change nothing, and
//! public messages that other citizens follow.

use super::*;
use otklik_domain::notify::NotificationKind;

fn code<T>(result: StoreResult<T>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.code().to_owned(),
    }
}

async fn register(s: &dyn Store, w: &World, author: Actor, body: &str) -> SubmissionId {
    s.register_submission(w.submission(author, w.pothole, body), T0)
        .await
        .unwrap()
        .id
}

async fn two_potholes(s: &dyn Store, w: &World) -> (SubmissionId, SubmissionId) {
    let primary = register(s, w, w.citizen, "Яма на дороге у дома 5").await;
    let duplicate = register(s, w, w.other_citizen, "Огромная яма у дома 5, опасно").await;
    (primary, duplicate)
}

pub(super) async fn duplicates_follow_their_primary_and_each_keeps_its_own_rating(
    store: Arc<dyn Store>,
) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let (primary, duplicate) = two_potholes(s, &w).await;
    act(s, primary, w.official, Action::TakeIntoWork, T0).await;
    s.merge_submissions(primary, duplicate, w.official, T0)
        .await
        .unwrap();

    let p = s.submission(primary, w.official).await.unwrap();
    let d = s.submission(duplicate, w.official).await.unwrap();
    assert_eq!(d.merged_into.map(|r| r.id), Some(primary));
    assert_eq!(
        p.duplicates.iter().map(|r| r.id).collect::<Vec<_>>(),
        [duplicate]
    );
    let last = |detail: &SubmissionDetail| detail.events.last().cloned().unwrap();
    assert_eq!(
        (last(&d).kind, last(&d).related.map(|r| r.id)),
        (EventKind::Merged, Some(primary))
    );
    assert_eq!(
        (last(&p).kind, last(&p).related.map(|r| r.number)),
        (EventKind::MergedIn, Some(d.number))
    );
    // The duplicate's author is told, and can see where the answer will come from.
    let told = s.notifications(w.other_citizen.user, 20, 0).await.unwrap();
    assert!(told
        .items
        .iter()
        .any(|n| n.kind == NotificationKind::Merged && n.submission == Some(duplicate)));
    let seen = s.submission(duplicate, w.other_citizen).await.unwrap();
    assert_eq!(seen.merged_into.map(|r| r.id), Some(primary));

    // An intermediate answer reaches the duplicate, which is taken into work first.
    act(
        s,
        primary,
        w.official,
        Action::PostIntermediateAnswer {
            text: answer("Заявка передана подрядчику."),
        },
        T0 + Duration::hours(1),
    )
    .await;
    let d = s.submission(duplicate, w.official).await.unwrap();
    let kinds: Vec<EventKind> = d.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Registered,
            EventKind::Merged,
            EventKind::TakenIntoWork,
            EventKind::IntermediateAnswer
        ]
    );
    assert_eq!(d.status, Status::InProgress);

    // The final answer, with its result document, reaches both authors and ends the merge.
    s.apply(
        primary,
        w.official,
        Action::Answer {
            text: answer("Яма заделана 5 декабря."),
        },
        vec![pdf("акт.pdf")],
        T0 + Duration::hours(2),
    )
    .await
    .unwrap();
    let p = s.submission(primary, w.citizen).await.unwrap();
    let d = s.submission(duplicate, w.other_citizen).await.unwrap();
    for detail in [&p, &d] {
        assert_eq!(detail.status, Status::Answered);
        let answer = last(detail);
        assert_eq!(answer.body.as_deref(), Some("Яма заделана 5 декабря."));
        assert_eq!(
            answer.files.len(),
            1,
            "each author gets the result document"
        );
    }
    assert_eq!(d.merged_into, None);
    assert!(p.duplicates.is_empty());

    // Each author rates their own answer; a low rating sends back only theirs.
    act(
        s,
        primary,
        w.citizen,
        Action::Rate {
            score: score(5),
            comment: None,
        },
        T0 + Duration::hours(3),
    )
    .await;
    act(
        s,
        duplicate,
        w.other_citizen,
        Action::Rate {
            score: score(1),
            comment: None,
        },
        T0 + Duration::hours(3),
    )
    .await;
    act(
        s,
        duplicate,
        w.other_citizen,
        Action::SendBack {
            reason: reason("Яма снова появилась"),
        },
        T0 + Duration::hours(4),
    )
    .await;
    let p = s.submission(primary, w.citizen).await.unwrap();
    let d = s.submission(duplicate, w.other_citizen).await.unwrap();
    assert_eq!(
        (p.status, p.rating, d.status, d.rating),
        (Status::Rated, Some(score(5)), Status::Reopened, None)
    );
    // Every merge event is in the transparency log like any other.
    let receipts = s.receipts(duplicate, w.other_citizen).await.unwrap();
    assert!(receipts.iter().any(|r| r.kind == "merged"));
}

pub(super) async fn merges_that_break_the_rules_change_nothing(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let (primary, duplicate) = two_potholes(s, &w).await;
    let third = register(s, &w, w.citizen, "Яма у дома 7").await;
    assert_eq!(
        code(s.merge_submissions(primary, primary, w.official, T0).await),
        "same_submission"
    );
    assert_eq!(
        code(
            s.merge_submissions(primary, duplicate, w.other_official, T0)
                .await
        ),
        "not_found"
    );
    assert_eq!(
        code(s.merge_submissions(primary, duplicate, w.citizen, T0).await),
        "not_found"
    );
    assert_eq!(
        code(
            s.merge_submissions(primary, duplicate, w.operator, T0)
                .await
        ),
        "forbidden"
    );
    assert_eq!(
        code(
            s.merge_submissions(primary, SubmissionId(999_999), w.official, T0)
                .await
        ),
        "not_found"
    );
    let before = s.submission(duplicate, w.official).await.unwrap();
    s.merge_submissions(primary, duplicate, w.official, T0)
        .await
        .unwrap();
    assert_eq!(
        code(s.merge_submissions(third, duplicate, w.official, T0).await),
        "already_merged"
    );
    assert_eq!(
        code(s.merge_submissions(duplicate, third, w.official, T0).await),
        "primary_is_duplicate"
    );
    assert_eq!(
        code(s.merge_submissions(third, primary, w.official, T0).await),
        "has_duplicates"
    );
    // Moving either away, or rejecting the primary, would split them.
    let redirect = |_: ()| Action::Redirect {
        to: w.other_org,
        reason: reason("Не наш вопрос"),
    };
    for id in [primary, duplicate] {
        assert_eq!(
            code(s.apply(id, w.official, redirect(()), Vec::new(), T0).await),
            "merged"
        );
    }
    assert_eq!(
        code(
            s.apply(
                primary,
                w.official,
                Action::Reject {
                    ground: RejectionGround::ObsceneLanguage,
                    comment: reason("Нецензурно"),
                },
                Vec::new(),
                T0,
            )
            .await
        ),
        "merged"
    );
    let after = s.submission(duplicate, w.official).await.unwrap();
    assert_eq!(
        after.events.len(),
        before.events.len() + 1,
        "only the merge"
    );

    // Separated, the duplicate no longer follows the primary.
    assert_eq!(
        code(s.unmerge_submission(primary, w.official, T0).await),
        "not_merged"
    );
    s.unmerge_submission(duplicate, w.official, T0 + Duration::minutes(1))
        .await
        .unwrap();
    act(
        s,
        primary,
        w.official,
        Action::TakeIntoWork,
        T0 + Duration::minutes(2),
    )
    .await;
    let d = s.submission(duplicate, w.official).await.unwrap();
    assert_eq!((d.status, d.merged_into), (Status::Registered, None));
    assert_eq!(d.events.last().unwrap().kind, EventKind::Unmerged);
    let p = s.submission(primary, w.official).await.unwrap();
    assert!(p.duplicates.is_empty());
    assert!(p.events.iter().any(|e| e.kind == EventKind::Unmerged));

    // A rejected duplicate leaves its primary.
    s.merge_submissions(primary, duplicate, w.official, T0 + Duration::minutes(3))
        .await
        .unwrap();
    act(
        s,
        duplicate,
        w.official,
        Action::Reject {
            ground: RejectionGround::ObsceneLanguage,
            comment: reason("Нецензурно"),
        },
        T0 + Duration::minutes(4),
    )
    .await;
    let p = s.submission(primary, w.official).await.unwrap();
    assert!(p.duplicates.is_empty());
}

pub(super) async fn crossed_merges_at_once_one_wins(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    for round in 0..5 {
        let (a, b) = two_potholes(store.as_ref(), &w).await;
        let (s1, s2) = (store.clone(), store.clone());
        let official = w.official;
        let at = T0 + Duration::minutes(round);
        let one = tokio::spawn(async move { s1.merge_submissions(a, b, official, at).await });
        let two = tokio::spawn(async move { s2.merge_submissions(b, a, official, at).await });
        let outcomes = [code(one.await.unwrap()), code(two.await.unwrap())];
        let won = outcomes.iter().filter(|o| *o == "ok").count();
        assert_eq!(won, 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes.iter().any(|o| matches!(
                o.as_str(),
                "already_merged" | "primary_is_duplicate" | "has_duplicates"
            )),
            "round {round}: {outcomes:?}"
        );
        let (da, db) = (
            store.submission(a, w.official).await.unwrap(),
            store.submission(b, w.official).await.unwrap(),
        );
        assert!(da.merged_into.is_some() != db.merged_into.is_some());
    }
}

pub(super) async fn public_messages_are_shown_and_followed(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let (message, _) = two_potholes(s, &w).await;
    assert!(s.public_submissions(&[message]).await.unwrap().is_empty());
    assert_eq!(
        code(s.set_public(message, w.other_citizen, true, T0).await),
        "not_found"
    );
    assert_eq!(
        code(s.set_public(message, w.official, true, T0).await),
        "forbidden"
    );
    assert_eq!(
        code(s.follow(w.other_citizen.user, message, true, T0).await),
        "not_found"
    );
    // The choice is logged, so every node's search index reads the submission again;
    // choosing what already holds logs nothing.
    let before = s.log_info().await.unwrap().size;
    s.set_public(message, w.citizen, true, T0).await.unwrap();
    s.set_public(message, w.citizen, true, T0).await.unwrap();
    assert_eq!(s.log_info().await.unwrap().size, before + 1);
    let fed = s.search_changes(before, 10).await.unwrap();
    assert_eq!(fed.leaves, 1);
    assert_eq!(fed.submissions.len(), 1);
    assert!(fed.submissions[0].public && fed.submissions[0].id == message.0);
    let shown = s.public_submissions(&[message]).await.unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].text, "Яма на дороге у дома 5");
    assert_eq!((shown[0].followers, shown[0].answer.clone()), (0, None));

    s.follow(w.other_citizen.user, message, true, T0)
        .await
        .unwrap();
    s.follow(w.other_citizen.user, message, true, T0)
        .await
        .unwrap();
    assert!(s.follows(w.other_citizen.user, message).await.unwrap());
    let followed = s.followed(w.other_citizen.user).await.unwrap();
    assert_eq!(
        (followed.len(), followed[0].id, followed[0].followers),
        (1, message, 1)
    );

    // The answer is public with the message.
    act(s, message, w.official, Action::TakeIntoWork, T0).await;
    act(
        s,
        message,
        w.official,
        Action::Answer {
            text: answer("Яма заделана."),
        },
        T0 + Duration::hours(1),
    )
    .await;
    let shown = s.public_submissions(&[message]).await.unwrap();
    assert_eq!(
        shown[0].answer.as_ref().map(|(body, _)| body.as_str()),
        Some("Яма заделана.")
    );
    // The follower is told, with a link to the public page (not to the submission,
    // which is not theirs to open); the author gets their own answer notice only.
    let told = s.notifications(w.other_citizen.user, 20, 0).await.unwrap();
    let followed_answer: Vec<_> = told
        .items
        .iter()
        .filter(|n| n.kind == NotificationKind::FollowedAnswered)
        .collect();
    assert_eq!(followed_answer.len(), 1, "{told:?}");
    assert_eq!(followed_answer[0].submission, None);
    assert_eq!(
        followed_answer[0].vars["path"],
        format!("/public/{message}")
    );
    let authors = s.notifications(w.citizen.user, 20, 0).await.unwrap();
    assert!(!authors
        .items
        .iter()
        .any(|n| n.kind == NotificationKind::FollowedAnswered));

    // Hidden again, it is gone from everyone's view.
    s.set_public(message, w.citizen, false, T0).await.unwrap();
    assert!(s.public_submissions(&[message]).await.unwrap().is_empty());
    assert!(s.followed(w.other_citizen.user).await.unwrap().is_empty());
    s.follow(w.other_citizen.user, message, false, T0)
        .await
        .unwrap_err();

    // Appeals are never public.
    let mut appeal = w.submission(w.citizen, w.pothole, "Жалоба на дорожную службу");
    appeal.kind = SubmissionKind::Appeal;
    let appeal = s.register_submission(appeal, T0).await.unwrap().id;
    assert_eq!(
        code(s.set_public(appeal, w.citizen, true, T0).await),
        "appeal_not_public"
    );
}
