//! The `Polls` trait on both backends: one person, one vote under concurrency; a batch
//! refuses what is not open and who already voted, counts the rest; receipts prove
//! inclusion against the poll's own signed heads; the close freezes the box; the
//! published ballots rebuild the signed tree and recount to the running counts.

use super::*;
use otklik_domain::access::Verification;
use otklik_domain::poll::{
    self, AgeGroup, Eligibility, PollKind, PollSpec, RawAnswer, ResultsPolicy, Schedule, Tally,
};
use otklik_domain::PollId;

fn spec() -> PollSpec {
    poll::parse_text(
        PollKind::Survey,
        "? Что построить?\n* несколько до 2\n- Сквер\n- Площадку\n- Парковку\n\
         ? Оценка\n* шкала 1..5\n* необязательный\n? Пожелания\n* текст 200\n* необязательный",
    )
    .unwrap()
}

async fn new_poll(
    s: &dyn Store,
    w: &World,
    opens: OffsetDateTime,
    closes: OffsetDateTime,
) -> PollId {
    s.create_poll(
        NewPoll {
            org: Some(w.org),
            title: "Благоустройство двора".to_owned(),
            description: "Выберите, что сделать во дворе.".to_owned(),
            spec: spec(),
            eligibility: Eligibility {
                verification: Verification::Standard,
                min_age: Some(14),
                region: Some(w.region),
                municipality: None,
            },
            offset: time::UtcOffset::from_hms(3, 0, 0).unwrap(),
            schedule: Schedule::new(opens, closes).unwrap(),
            results: ResultsPolicy::Embargoed,
            by: w.official.user,
        },
        T0,
    )
    .await
    .unwrap()
}

fn ballot(
    poll: PollId,
    voter: &str,
    choices: Vec<u16>,
    scale: Option<i64>,
    text: &str,
) -> NewBallot {
    let raw = [
        RawAnswer::Choices(choices),
        scale.map_or(RawAnswer::None, RawAnswer::Scale),
        RawAnswer::Text(text.to_owned()),
    ];
    let checked = spec().check_ballot(&raw).unwrap();
    NewBallot {
        poll,
        voter_keys: voter.split('+').map(str::to_owned).collect(),
        ballot: checked.ballot,
        texts: checked.texts,
        region: None,
        age_group: AgeGroup::From25To34,
        channel: BallotChannel::Web,
    }
}

pub(super) async fn polls_one_person_one_vote_under_concurrency(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let poll = new_poll(store.as_ref(), &w, T0, T0 + Duration::days(7)).await;
    let during = T0 + Duration::hours(1);
    let mut tasks = Vec::new();
    for i in 0..100u16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let b = ballot(poll, "k:same-person", vec![i % 3], None, "");
            store.cast_ballots(&[b], during).await.unwrap().remove(0)
        }));
    }
    let mut cast = 0;
    for task in tasks {
        match task.await.unwrap() {
            CastOutcome::Cast { .. } => cast += 1,
            CastOutcome::AlreadyVoted => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(cast, 1);
    let record = store.poll(poll).await.unwrap();
    assert_eq!(record.ballots, 1);
    let counts = store.poll_counts(poll).await.unwrap();
    let ballots = counts
        .iter()
        .find(|c| c.dimension == "all" && c.question == -1)
        .unwrap();
    assert_eq!(ballots.count, 1);
    assert!(store
        .has_voted(poll, &["k:same-person".to_owned()])
        .await
        .unwrap());
    let days: Vec<(&str, u64)> = counts
        .iter()
        .filter(|c| c.dimension == "day" && c.question == -1)
        .map(|c| (c.value.as_str(), c.count))
        .collect();
    assert_eq!(days, vec![("2026-12-04", 1)], "ballots per local day");
    // Analytics count the poll and the day's ballot (4 December, Moscow time).
    let day = otklik_domain::analytics::days_from_civil(2026, 12, 4);
    assert_eq!(
        store.analytics_polls(None, None, day, day).await.unwrap(),
        (1, 1)
    );
    assert_eq!(
        store
            .analytics_polls(None, None, day + 1, day + 1)
            .await
            .unwrap(),
        (1, 0)
    );
    assert_eq!(
        store
            .analytics_polls(Some(-1), None, day, day)
            .await
            .unwrap(),
        (0, 0)
    );
    assert_eq!(
        store
            .analytics_polls(None, Some(&[]), day, day)
            .await
            .unwrap(),
        (0, 0)
    );

    // A person is every key of theirs: another account with the same identity, or an
    // identity linked to the account after voting, does not vote again, and a refused
    // ballot leaves none of its keys on the roll.
    let cast = |keys: &'static str| {
        let store = store.clone();
        async move {
            store
                .cast_ballots(&[ballot(poll, keys, vec![0], None, "")], during)
                .await
                .unwrap()
                .remove(0)
        }
    };
    let on_roll = |key: &'static str| {
        let store = store.clone();
        async move { store.has_voted(poll, &[key.to_owned()]).await.unwrap() }
    };
    assert_eq!(cast("u:5+k:same-person").await, CastOutcome::AlreadyVoted);
    assert!(!on_roll("u:5").await);
    assert!(matches!(cast("u:6").await, CastOutcome::Cast { .. }));
    assert_eq!(cast("u:6+k:linked-later").await, CastOutcome::AlreadyVoted);
    assert!(!on_roll("k:linked-later").await);
    assert!(matches!(
        cast("u:7+k:linked-later").await,
        CastOutcome::Cast { .. }
    ));
    assert_eq!(cast("u:8+k:linked-later").await, CastOutcome::AlreadyVoted);
    // Within one batch too: the second ballot sharing a key is refused.
    let both = store
        .cast_ballots(
            &[
                ballot(poll, "u:9+k:twin", vec![1], None, ""),
                ballot(poll, "u:10+k:twin", vec![2], None, ""),
            ],
            during,
        )
        .await
        .unwrap();
    assert!(matches!(both[0], CastOutcome::Cast { .. }));
    assert_eq!(both[1], CastOutcome::AlreadyVoted);
    assert!(!on_roll("u:10").await);
    assert_eq!(store.poll(poll).await.unwrap().ballots, 4);
}

pub(super) async fn polls_batches_receipts_close_and_recount(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let opens = T0 + Duration::hours(1);
    let closes = T0 + Duration::days(1);
    let poll = new_poll(s, &w, opens, closes).await;
    let during = opens + Duration::minutes(5);

    // Before the opening nothing is written.
    let early = s
        .cast_ballots(&[ballot(poll, "k:a", vec![0], None, "")], T0)
        .await
        .unwrap();
    assert_eq!(early, vec![CastOutcome::NotOpen]);
    assert!(!s.has_voted(poll, &["k:a".to_owned()]).await.unwrap());

    // One batch: three voters, one of them twice, and a ballot for an unknown poll.
    let batch = vec![
        ballot(poll, "k:a", vec![0, 1], Some(5), "Больше скамеек"),
        ballot(poll, "k:b", vec![1], None, ""),
        ballot(poll, "k:a", vec![2], None, ""),
        ballot(PollId(999_999), "k:c", vec![0], None, ""),
        ballot(poll, "k:c", vec![1, 2], Some(3), ""),
    ];
    let outcomes = s.cast_ballots(&batch, during).await.unwrap();
    assert!(matches!(outcomes[0], CastOutcome::Cast { .. }));
    assert!(matches!(outcomes[1], CastOutcome::Cast { .. }));
    assert_eq!(outcomes[2], CastOutcome::AlreadyVoted);
    assert_eq!(outcomes[3], CastOutcome::UnknownPoll);
    assert!(matches!(outcomes[4], CastOutcome::Cast { .. }));
    let mut leaves: Vec<u64> = outcomes
        .iter()
        .filter_map(|o| match o {
            CastOutcome::Cast { leaf_index, .. } => Some(*leaf_index),
            _ => None,
        })
        .collect();
    leaves.sort_unstable();
    assert_eq!(leaves, [0, 1, 2]);
    // A later batch: the voter already on the roll is refused, a new one counted.
    let later = s
        .cast_ballots(
            &[
                ballot(poll, "k:b", vec![0], None, ""),
                ballot(poll, "k:d", vec![0], Some(4), ""),
            ],
            during,
        )
        .await
        .unwrap();
    assert_eq!(later[0], CastOutcome::AlreadyVoted);
    let CastOutcome::Cast {
        ballot_id: d_ballot,
        leaf_index: 3,
    } = later[1].clone()
    else {
        panic!("{later:?}");
    };

    // The free text is kept apart; the counts follow the ballots.
    assert_eq!(
        s.poll_texts(poll, 2, 10).await.unwrap(),
        vec!["Больше скамеек"]
    );
    let counts = s.poll_counts(poll).await.unwrap();
    let all = |question: i32, slot: u32| {
        counts
            .iter()
            .find(|c| c.dimension == "all" && c.question == question && c.slot == slot)
            .map_or(0, |c| c.count)
    };
    assert_eq!(all(-1, 0), 4);
    assert_eq!((all(0, 0), all(0, 1), all(0, 2)), (2, 3, 1));
    assert_eq!(all(1, poll::ANSWERED_SLOT), 3);
    let by_channel = counts
        .iter()
        .find(|c| c.dimension == "channel" && c.value == "web" && c.question == -1)
        .unwrap();
    assert_eq!(by_channel.count, 4);

    // A receipt: none until a head is signed, then a proof that verifies.
    assert_eq!(s.ballot_receipt(poll, &d_ballot).await.unwrap(), None);
    let log_signer = otklik_log::Signer::from_secret_bytes(&[7u8; 32]);
    let signer = otklik_store::poll_signer(&log_signer, poll);
    assert_ne!(
        signer.public_key_bytes(),
        otklik_store::poll_signer(&log_signer, PollId(poll.0 + 1)).public_key_bytes()
    );
    let head = s
        .sign_poll_head(poll, &signer, during, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.head.size, 4);
    assert_eq!(
        s.sign_poll_head(poll, &signer, during, false)
            .await
            .unwrap(),
        None
    );
    let receipt = s.ballot_receipt(poll, &d_ballot).await.unwrap().unwrap();
    assert_eq!(receipt.proof.leaf_index, 3);
    let leaf = otklik_log::leaf_hash(
        head.head.alg,
        &poll::ballot_leaf(poll.0, &d_ballot, &receipt.answers),
    );
    assert_eq!(leaf, receipt.proof.leaf_hash);
    otklik_log::verify_inclusion(
        head.head.alg,
        &leaf,
        3,
        4,
        &receipt.proof.proof,
        &head.head.root,
    )
    .unwrap();
    receipt
        .head
        .verify(Some(&signer.public_key_bytes()))
        .unwrap();
    let unknown = poll::BallotId::from_bytes([9; 16]);
    assert!(matches!(
        s.ballot_receipt(poll, &unknown).await,
        Err(StoreError::NotFound)
    ));

    // Finalising waits for the close; after it, the box is frozen.
    assert_eq!(
        s.sign_poll_head(poll, &signer, during, true)
            .await
            .unwrap_err()
            .code(),
        "poll_open"
    );
    let after = closes + Duration::seconds(1);
    let late = s
        .cast_ballots(&[ballot(poll, "k:e", vec![0], None, "")], after)
        .await
        .unwrap();
    assert_eq!(late, vec![CastOutcome::NotOpen]);
    let last = s
        .sign_poll_head(poll, &signer, after, true)
        .await
        .unwrap()
        .unwrap();
    let record = s.poll(poll).await.unwrap();
    assert_eq!(record.final_size, Some(4));
    assert_eq!(record.final_head.as_ref(), Some(&last));
    assert_eq!(last.head.size, 5, "the definition and four ballots");
    last.verify(Some(&signer.public_key_bytes())).unwrap();
    assert_eq!(
        s.sign_poll_head(poll, &signer, after, true).await.unwrap(),
        None
    );

    // The published ballots, in the order of their ids, rebuild the final tree (after the
    // definition) and recount to the running counts.
    let published = s.published_ballots(poll, None, 100).await.unwrap();
    assert_eq!(published.len(), 4);
    assert!(published.windows(2).all(|w| w[0].0 < w[1].0));
    let questions: serde_json::Value = serde_json::from_str(&record.spec.questions_json()).unwrap();
    let mut range = otklik_log::CompactRange::new(last.head.alg);
    range
        .push(otklik_log::leaf_hash(
            last.head.alg,
            &poll::definition_leaf(
                poll.0,
                PollKind::Survey,
                &questions,
                closes.unix_timestamp(),
            ),
        ))
        .unwrap();
    let mut tally = Tally::default();
    for (id, answers) in &published {
        range
            .push(otklik_log::leaf_hash(
                last.head.alg,
                &poll::ballot_leaf(poll.0, id, answers),
            ))
            .unwrap();
        tally.add(answers);
    }
    assert_eq!(range.root(), last.head.root);
    for (cell, n) in &tally.counts {
        assert_eq!(all(i32::from(cell.question), cell.slot), *n, "{cell:?}");
    }
    let page = s
        .published_ballots(poll, Some(published[1].0.clone()), 1)
        .await
        .unwrap();
    assert_eq!(page, vec![published[2].clone()]);

    // Cancelling: only before the close.
    assert_eq!(
        s.cancel_poll(poll, after).await.unwrap_err().code(),
        "poll_closed"
    );
    let second = new_poll(s, &w, opens, closes).await;
    s.cancel_poll(second, during).await.unwrap();
    let refused = s
        .cast_ballots(&[ballot(second, "k:a", vec![0], None, "")], during)
        .await
        .unwrap();
    assert_eq!(refused, vec![CastOutcome::NotOpen]);

    // Listing: open now, by organisation, by region.
    let open = s
        .polls(
            PollFilter {
                open_at: Some(during),
                ..PollFilter::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(open.iter().map(|p| p.id).collect::<Vec<_>>(), [poll]);
    let elsewhere = s
        .polls(
            PollFilter {
                open_at: Some(during),
                region: Some(Some(w.bare_region)),
                ..PollFilter::default()
            },
            10,
        )
        .await
        .unwrap();
    assert!(elsewhere.is_empty());
    let mine = s
        .polls(
            PollFilter {
                org: Some(Some(w.org)),
                ..PollFilter::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(mine.len(), 2);
    let record = s.poll(poll).await.unwrap();
    assert_eq!(record.spec, spec());
    assert_eq!(record.eligibility.region, Some(w.region));
    assert!(matches!(
        s.poll(PollId(999_999)).await,
        Err(StoreError::NotFound)
    ));
}

fn photo(option: u16, by: UserId, byte: u8) -> NewOptionPhoto {
    question_photo(0, option, by, byte)
}

fn question_photo(question: u16, option: u16, by: UserId, byte: u8) -> NewOptionPhoto {
    NewOptionPhoto {
        question,
        option,
        name: format!("project-{byte}.png"),
        mime: "image/png".to_owned(),
        bytes: vec![0x89, b'P', b'N', b'G', byte],
        by,
    }
}

pub(super) async fn polls_option_photos_add_list_remove_and_limits(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    let opens = T0 + Duration::days(1);
    let vote_spec = poll::parse_text(
        PollKind::Vote,
        "? Какие проекты выполнить?\n* несколько до 2\n- Сквер у школы :: скамейки @ 56.8587, 35.9176\n- Детская площадка",
    )
    .unwrap();
    let vote = s
        .create_poll(
            NewPoll {
                org: Some(w.org),
                title: "Проекты благоустройства".to_owned(),
                description: String::new(),
                spec: vote_spec,
                eligibility: Eligibility {
                    verification: Verification::Standard,
                    min_age: None,
                    region: Some(w.region),
                    municipality: None,
                },
                offset: time::UtcOffset::from_hms(3, 0, 0).unwrap(),
                schedule: Schedule::new(opens, opens + Duration::days(7)).unwrap(),
                results: ResultsPolicy::Live,
                by: w.official.user,
            },
            T0,
        )
        .await
        .unwrap();
    let by = w.official.user;
    let before = T0 + Duration::hours(1);

    // Three per option; the fourth is refused and nothing is written.
    let mut added = Vec::new();
    for i in 0..3u8 {
        added.push(
            s.add_option_photo(vote, photo(0, by, i), before)
                .await
                .unwrap(),
        );
    }
    assert!(matches!(
        s.add_option_photo(vote, photo(0, by, 9), before).await,
        Err(StoreError::Conflict("too_many_photos"))
    ));
    let other = s
        .add_option_photo(vote, photo(1, by, 7), before)
        .await
        .unwrap();
    assert!(matches!(
        s.add_option_photo(vote, photo(2, by, 1), before).await,
        Err(StoreError::Conflict("unknown_option"))
    ));
    let listed = s.option_photos(vote).await.unwrap();
    assert_eq!(listed.len(), 4);
    assert_eq!(listed[..3], added[..]);
    assert_eq!(listed[3], other);
    assert_eq!(listed[3].option, 1);
    assert_eq!(listed[3].mime, "image/png");
    assert_eq!(listed[3].size, 5);
    let file = s.option_photo(vote, other.id).await.unwrap();
    assert_eq!(file.bytes, vec![0x89, b'P', b'N', b'G', 7]);
    assert_eq!(file.meta.sha256.len(), 64);

    // A photo is the poll's own: another poll's id does not reach it.
    let survey = new_poll(s, &w, opens, opens + Duration::days(7)).await;
    assert!(matches!(
        s.option_photo(survey, other.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.remove_option_photo(survey, other.id, before).await,
        Err(StoreError::NotFound)
    ));
    // A survey's choice questions have photos too, each question's options their own;
    // a scale or free text has none, and a question beyond the last is unknown.
    let answer = s
        .add_option_photo(survey, question_photo(0, 2, by, 3), before)
        .await
        .unwrap();
    assert_eq!((answer.question, answer.option), (0, 2));
    for (question, code) in [
        (1, "not_a_choice_question"),
        (2, "not_a_choice_question"),
        (3, "unknown_question"),
    ] {
        let refused = s
            .add_option_photo(survey, question_photo(question, 0, by, 1), before)
            .await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(c)) if c == code),
            "{question}: {refused:?}"
        );
    }
    assert!(matches!(
        s.add_option_photo(survey, question_photo(0, 3, by, 1), before)
            .await,
        Err(StoreError::Conflict("unknown_option"))
    ));
    assert_eq!(s.option_photos(survey).await.unwrap(), vec![answer]);
    assert!(matches!(
        s.add_option_photo(PollId(999_999_999), photo(0, by, 1), before)
            .await,
        Err(StoreError::NotFound)
    ));

    // Removing frees a place.
    s.remove_option_photo(vote, added[1].id, before)
        .await
        .unwrap();
    assert!(matches!(
        s.remove_option_photo(vote, added[1].id, before).await,
        Err(StoreError::NotFound)
    ));
    let fourth = s
        .add_option_photo(vote, photo(0, by, 4), before)
        .await
        .unwrap();
    assert_eq!(s.option_photos(vote).await.unwrap().len(), 4);

    // Once the poll opens nothing changes.
    let during = opens + Duration::minutes(1);
    assert!(matches!(
        s.add_option_photo(vote, photo(1, by, 5), during).await,
        Err(StoreError::Conflict("poll_not_editable"))
    ));
    assert!(matches!(
        s.remove_option_photo(vote, fourth.id, during).await,
        Err(StoreError::Conflict("poll_not_editable"))
    ));
    assert_eq!(s.option_photos(vote).await.unwrap().len(), 4);

    // Nor after a cancellation, even before the opening.
    s.cancel_poll(vote, before).await.unwrap();
    assert!(matches!(
        s.remove_option_photo(vote, fourth.id, before).await,
        Err(StoreError::Conflict("poll_not_editable"))
    ));
    assert_eq!(s.option_photos(vote).await.unwrap().len(), 4);
}

/// Live results' copies: none before `min_new` ballots; one per bucket, the same for
/// every reader; a new bucket takes a new copy only once `min_new` more came; the running
/// counts stay exact throughout.
pub(super) async fn polls_live_results_are_copied_coarsely(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let w = World::new(s).await;
    let opens = T0 + Duration::hours(1);
    let poll = new_poll(s, &w, opens, T0 + Duration::days(1)).await;
    let during = opens + Duration::minutes(5);
    let ballots_in = |counts: &[otklik_store::PollCount]| {
        counts
            .iter()
            .find(|c| c.dimension == "all" && c.question == -1)
            .map_or(0, |c| c.count)
    };
    let cast = |voters: &'static [&'static str]| async move {
        let batch: Vec<NewBallot> = voters
            .iter()
            .map(|v| ballot(poll, v, vec![0], None, ""))
            .collect();
        for outcome in s.cast_ballots(&batch, during).await.unwrap() {
            assert!(matches!(outcome, CastOutcome::Cast { .. }), "{outcome:?}");
        }
    };

    // Two ballots, fewer than three: no counts yet, in this bucket or the next.
    cast(&["k:a", "k:b"]).await;
    assert!(s.poll_counts_snapshot(poll, 1, 3).await.unwrap().is_empty());
    assert!(s.poll_counts_snapshot(poll, 2, 3).await.unwrap().is_empty());
    // A third: still nothing within bucket 2; bucket 3 copies all three.
    cast(&["k:c"]).await;
    assert!(s.poll_counts_snapshot(poll, 2, 3).await.unwrap().is_empty());
    let first = s.poll_counts_snapshot(poll, 3, 3).await.unwrap();
    assert_eq!(ballots_in(&first), 3);
    let running = s.poll_counts(poll).await.unwrap();
    assert_eq!(first, running, "a copy of every running count");
    // Two more: the copy holds through bucket 4 (not enough new), and within bucket 3.
    cast(&["k:d", "k:e"]).await;
    assert_eq!(s.poll_counts_snapshot(poll, 3, 3).await.unwrap(), first);
    assert_eq!(s.poll_counts_snapshot(poll, 4, 3).await.unwrap(), first);
    assert_eq!(ballots_in(&s.poll_counts(poll).await.unwrap()), 5);
    // One more makes three new: bucket 5 copies six; many readers of it, one copy.
    cast(&["k:f"]).await;
    let readers = (0..8).map(|_| s.poll_counts_snapshot(poll, 5, 3));
    let seen = futures_util::future::join_all(readers).await;
    for counts in &seen {
        assert_eq!(ballots_in(counts.as_ref().unwrap()), 6);
    }
    // An earlier bucket asked late (a node with a slow clock) does not roll it back.
    assert_eq!(
        ballots_in(&s.poll_counts_snapshot(poll, 4, 3).await.unwrap()),
        6
    );
}

/// A survey whose first question (multiple choice) and third (a ranking) have options.
async fn survey_with_ranking(s: &dyn Store, w: &World, opens: OffsetDateTime) -> PollId {
    let spec = poll::parse_text(
        PollKind::Survey,
        "? Что построить?\n* несколько до 2\n- Сквер\n- Площадку\n\
         ? Оценка\n* шкала 1..5\n? Порядок работ\n* порядок\n- Дорога\n- Свет\n- Двор",
    )
    .unwrap();
    s.create_poll(
        NewPoll {
            org: Some(w.org),
            title: "Порядок работ".to_owned(),
            description: String::new(),
            spec,
            eligibility: Eligibility {
                verification: Verification::Standard,
                min_age: None,
                region: Some(w.region),
                municipality: None,
            },
            offset: time::UtcOffset::from_hms(3, 0, 0).unwrap(),
            schedule: Schedule::new(opens, opens + Duration::days(7)).unwrap(),
            results: ResultsPolicy::Live,
            by: w.official.user,
        },
        T0,
    )
    .await
    .unwrap()
}

fn ids(photos: &[otklik_store::OptionPhoto]) -> Vec<i64> {
    photos.iter().map(|p| p.id).collect()
}

/// Photos of a ranking's option move one place at a time, the order kept and shown by
/// every read; the edges refuse; many moves at once never lose or duplicate a photo; a
/// removal and a new photo keep the others' order; nothing moves once the poll opens.
pub(super) async fn polls_option_photos_are_reordered_without_loss(store: Arc<dyn Store>) {
    use otklik_domain::poll::PhotoMove;
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    let opens = T0 + Duration::days(1);
    let survey = survey_with_ranking(s, &w, opens).await;
    let by = w.official.user;
    let before = T0 + Duration::hours(1);
    let mut added = Vec::new();
    for i in 0..3u8 {
        let p = s
            .add_option_photo(survey, question_photo(2, 1, by, i), before)
            .await
            .unwrap();
        added.push(p.id);
    }
    // A photo of another option and another question, which no move touches.
    let elsewhere = s
        .add_option_photo(survey, question_photo(0, 1, by, 9), before)
        .await
        .unwrap();
    let (a, b, c) = (added[0], added[1], added[2]);
    let order = s
        .move_option_photo(survey, c, PhotoMove::Up, before)
        .await
        .unwrap();
    assert_eq!(ids(&order), [a, c, b]);
    assert!(order.iter().all(|p| (p.question, p.option) == (2, 1)));
    let order = s
        .move_option_photo(survey, a, PhotoMove::Down, before)
        .await
        .unwrap();
    assert_eq!(ids(&order), [c, a, b]);
    for (photo, way) in [(c, PhotoMove::Up), (b, PhotoMove::Down)] {
        assert!(matches!(
            s.move_option_photo(survey, photo, way, before).await,
            Err(StoreError::Conflict("photo_at_edge"))
        ));
    }
    assert!(matches!(
        s.move_option_photo(survey, elsewhere.id, PhotoMove::Up, before)
            .await,
        Err(StoreError::Conflict("photo_at_edge"))
    ));
    assert!(matches!(
        s.move_option_photo(survey, 999_999_999, PhotoMove::Up, before)
            .await,
        Err(StoreError::NotFound)
    ));
    let other = new_poll(s, &w, opens, opens + Duration::days(7)).await;
    assert!(matches!(
        s.move_option_photo(other, a, PhotoMove::Up, before).await,
        Err(StoreError::NotFound)
    ));
    // Every read lists the option's photos in the new order, by question then option.
    let listed = ids(&s.option_photos(survey).await.unwrap());
    assert_eq!(listed, [elsewhere.id, c, a, b]);

    // Forty moves at once, up and down: each is whole or refused at an edge, and the
    // option keeps its three photos, each once, with distinct places.
    let moves = (0..40).map(|i| {
        let photo = [a, b, c][i % 3];
        let way = if i % 2 == 0 {
            PhotoMove::Up
        } else {
            PhotoMove::Down
        };
        s.move_option_photo(survey, photo, way, before)
    });
    for outcome in futures_util::future::join_all(moves).await {
        match outcome {
            Ok(order) => {
                let mut seen = ids(&order);
                seen.sort_unstable();
                assert_eq!(seen, added, "{order:?}");
            }
            Err(StoreError::Conflict("photo_at_edge")) => {}
            Err(e) => panic!("a move failed: {e:?}"),
        }
    }
    let now = s.option_photos(survey).await.unwrap();
    let mut seen = ids(&now);
    seen.sort_unstable();
    let mut expected = added.clone();
    expected.push(elsewhere.id);
    expected.sort_unstable();
    assert_eq!(seen, expected);
    assert_eq!(now[0].id, elsewhere.id);

    // A removal keeps the others' order; a new photo goes last.
    let current: Vec<i64> = ids(&now[1..]);
    s.remove_option_photo(survey, current[1], before)
        .await
        .unwrap();
    let fresh = s
        .add_option_photo(survey, question_photo(2, 1, by, 5), before)
        .await
        .unwrap();
    let listed = ids(&s.option_photos(survey).await.unwrap());
    assert_eq!(
        listed,
        [elsewhere.id, current[0], current[2], fresh.id],
        "{current:?}"
    );
    let order = s
        .move_option_photo(survey, fresh.id, PhotoMove::Up, before)
        .await
        .unwrap();
    assert_eq!(ids(&order), [current[0], fresh.id, current[2]]);

    // Once the poll opens, and after a cancellation, nothing moves.
    let during = opens + Duration::minutes(1);
    assert!(matches!(
        s.move_option_photo(survey, fresh.id, PhotoMove::Up, during)
            .await,
        Err(StoreError::Conflict("poll_not_editable"))
    ));
    s.cancel_poll(survey, before).await.unwrap();
    assert!(matches!(
        s.move_option_photo(survey, fresh.id, PhotoMove::Up, before)
            .await,
        Err(StoreError::Conflict("poll_not_editable"))
    ));
    assert_eq!(
        ids(&s.option_photos(survey).await.unwrap()),
        [elsewhere.id, current[0], fresh.id, current[2]]
    );
}

// --- a commit whose answer is lost (PostgreSQL) ---------------------------------------------

/// The ballots the database holds for `poll` (id → leaf index) and its voter roll, read
/// directly from the server (not through the proxy).
async fn held_in_database(url: &str, poll: PollId) -> (BTreeMap<String, u64>, Vec<String>) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let ballots: Vec<(String, i64)> =
        sqlx::query_as("SELECT ballot_id, idx FROM poll_ballots WHERE poll_id = $1")
            .bind(poll.0)
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut roll: Vec<String> =
        sqlx::query_scalar("SELECT voter_key FROM poll_voters WHERE poll_id = $1")
            .bind(poll.0)
            .fetch_all(&mut conn)
            .await
            .unwrap();
    roll.sort();
    let _ = conn.close().await;
    let ballots = ballots
        .into_iter()
        .map(|(id, idx)| (id, u64::try_from(idx).unwrap()))
        .collect();
    (ballots, roll)
}

/// The ballots an answer says are cast: id → leaf index.
fn answered_cast(outcomes: &[CastOutcome]) -> BTreeMap<String, u64> {
    outcomes
        .iter()
        .filter_map(|o| match o {
            CastOutcome::Cast {
                ballot_id,
                leaf_index,
            } => Some((ballot_id.as_str().to_owned(), *leaf_index)),
            _ => None,
        })
        .collect()
}

/// The number of ballots the running counts hold.
async fn counted(store: &dyn Store, poll: PollId) -> u64 {
    store
        .poll_counts(poll)
        .await
        .unwrap()
        .iter()
        .find(|c| c.dimension == "all" && c.question == -1)
        .map_or(0, |c| c.count)
}

/// A store on `url` through a proxy that can cut a connection at its COMMIT, with a poll
/// open at `T0 + 1 h` that already holds one ballot (of `k:first`, leaf 0).
async fn through_a_cutter(
    url: &str,
) -> (
    crate::pg::CommitCutter,
    Arc<dyn Store>,
    PollId,
    OffsetDateTime,
) {
    let proxy = crate::pg::CommitCutter::start(url).await;
    let store = open(&proxy.url_through(url), "postgres").await;
    let w = World::new(store.as_ref()).await;
    let poll = new_poll(store.as_ref(), &w, T0, T0 + Duration::days(7)).await;
    let during = T0 + Duration::hours(1);
    let first = store
        .cast_ballots(&[ballot(poll, "k:first", vec![0], Some(3), "")], during)
        .await
        .unwrap();
    assert!(
        matches!(first[0], CastOutcome::Cast { leaf_index: 0, .. }),
        "{first:?}"
    );
    assert!(proxy.cuts().is_empty());
    (proxy, store, poll, during)
}

/// Three new voters (one of them twice), one who already voted, and a ballot of a poll
/// that does not exist.
fn mixed_batch(poll: PollId) -> Vec<NewBallot> {
    vec![
        ballot(poll, "k:a", vec![0, 1], Some(5), "Больше скамеек"),
        ballot(poll, "k:b", vec![1], None, ""),
        ballot(poll, "k:first", vec![2], None, ""),
        ballot(poll, "u:7+k:c", vec![1, 2], Some(1), ""),
        ballot(poll, "k:a", vec![2], None, ""),
        ballot(PollId(poll.0 + 1000), "k:d", vec![0], None, ""),
    ]
}

/// What `mixed_batch` is answered, ballot by ballot, when the first voter (`k:first`)
/// has voted before: the second `k:a` loses to the first, and the last poll is unknown.
const MIXED_BATCH_SHAPES: [&str; 6] = [
    "cast",
    "cast",
    "already_voted",
    "cast",
    "already_voted",
    "unknown_poll",
];

/// Each outcome's kind, without the ballot ids and leaves a cast one carries.
fn shapes(outcomes: &[CastOutcome]) -> Vec<&'static str> {
    outcomes
        .iter()
        .map(|outcome| match outcome {
            CastOutcome::Cast { .. } => "cast",
            CastOutcome::AlreadyVoted => "already_voted",
            CastOutcome::NotOpen => "not_open",
            CastOutcome::UnknownPoll => "unknown_poll",
        })
        .collect()
}

/// The COMMIT of a batch reaches the server but its answer never comes back: the store
/// finds the batch in the database and answers each ballot as a commit would have.
pub(super) async fn polls_a_commit_whose_answer_is_lost_answers_what_is_stored(url: &str) {
    lost_answer(url, crate::pg::Cut::AfterCommit).await;
}

/// The client sees the connection drop before the server even reads the COMMIT (as when
/// the server is slow to finish it): the store waits for the server's session to end
/// before it looks, and finds the batch.
pub(super) async fn polls_a_commit_the_server_finishes_late_is_waited_for(url: &str) {
    let started = std::time::Instant::now();
    lost_answer(url, crate::pg::Cut::LateCommit).await;
    assert!(started.elapsed() >= crate::pg::LATE_COMMIT);
}

async fn lost_answer(url: &str, cut: crate::pg::Cut) {
    let (proxy, store, poll, during) = through_a_cutter(url).await;

    proxy.arm(cut);
    let outcomes = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        store.cast_ballots(&mixed_batch(poll), during),
    )
    .await
    .expect("the store settles a lost commit in bounded time")
    .unwrap();
    assert_eq!(proxy.cuts(), vec![cut], "the COMMIT was cut");
    assert_eq!(shapes(&outcomes), MIXED_BATCH_SHAPES, "{outcomes:?}");

    // What was answered is what the database holds: the same ids at the same leaves.
    let (held, roll) = held_in_database(url, poll).await;
    let mut answered = answered_cast(&outcomes);
    assert_eq!(answered.len(), 3);
    assert_eq!(
        answered
            .values()
            .copied()
            .collect::<std::collections::BTreeSet<u64>>(),
        std::collections::BTreeSet::from([1, 2, 3])
    );
    let (first_id, first_leaf) = held.iter().find(|(_, leaf)| **leaf == 0).unwrap();
    answered.insert(first_id.clone(), *first_leaf);
    assert_eq!(held, answered);
    assert_eq!(roll, ["k:a", "k:b", "k:c", "k:first", "u:7"]);

    // The pool replaced the cut connection; the same voters have voted, once.
    let again = store
        .cast_ballots(
            &[
                ballot(poll, "k:a", vec![0], None, ""),
                ballot(poll, "k:b", vec![0], None, ""),
                ballot(poll, "u:7", vec![0], None, ""),
                ballot(poll, "k:c", vec![0], None, ""),
            ],
            during,
        )
        .await
        .unwrap();
    assert_eq!(again, vec![CastOutcome::AlreadyVoted; 4]);
    assert_eq!(store.poll(poll).await.unwrap().ballots, 4);
    assert_eq!(counted(store.as_ref(), poll).await, 4);
    assert_eq!(
        store.poll_texts(poll, 2, 10).await.unwrap(),
        vec!["Больше скамеек"]
    );

    // A receipt for a ballot of the cut batch proves the answered leaf.
    let CastOutcome::Cast {
        ballot_id,
        leaf_index,
    } = outcomes[3].clone()
    else {
        unreachable!()
    };
    let signer =
        otklik_store::poll_signer(&otklik_log::Signer::from_secret_bytes(&[7u8; 32]), poll);
    let head = store
        .sign_poll_head(poll, &signer, during, false)
        .await
        .unwrap()
        .unwrap();
    let receipt = store
        .ballot_receipt(poll, &ballot_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(receipt.proof.leaf_index, leaf_index);
    otklik_log::verify_inclusion(
        head.head.alg,
        &receipt.proof.leaf_hash,
        leaf_index,
        4,
        &receipt.proof.proof,
        &head.head.root,
    )
    .unwrap();
    assert_eq!(proxy.cuts().len(), 1, "one cut only");
}

/// The connection is lost before the COMMIT reaches the server: nothing of the batch is
/// stored, the batch fails as a whole, and the same voters then vote.
pub(super) async fn polls_a_connection_lost_before_commit_stores_nothing(url: &str) {
    not_stored(url, crate::pg::Cut::BeforeCommit).await;
}

/// The connection is lost before the COMMIT reaches the server, and the server's session
/// stays (its client's socket silent but open): the store waits for it, ends it, and
/// then finds that nothing of the batch is stored.
pub(super) async fn polls_a_session_that_stays_is_ended_and_its_batch_not_stored(url: &str) {
    let started = std::time::Instant::now();
    not_stored(url, crate::pg::Cut::Stall).await;
    // The store waited 10 s for the session before it ended it.
    assert!(started.elapsed() >= std::time::Duration::from_secs(10));
}

async fn not_stored(url: &str, cut: crate::pg::Cut) {
    let (proxy, store, poll, during) = through_a_cutter(url).await;
    let before = held_in_database(url, poll).await;

    proxy.arm(cut);
    // Bounded: a session left running would hold the poll's row lock for ever.
    let refused = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        store.cast_ballots(&mixed_batch(poll), during),
    )
    .await
    .expect("the store settles a lost commit in bounded time");
    assert_eq!(proxy.cuts(), vec![cut], "the COMMIT was cut");
    let error = match refused {
        Ok(outcomes) => panic!("a batch never committed was answered: {outcomes:?}"),
        Err(error) => error,
    };
    assert!(error.is_unavailable(), "{error:?}");
    assert_eq!(held_in_database(url, poll).await, before, "nothing stored");
    assert_eq!(store.poll(poll).await.unwrap().ballots, 1);
    assert_eq!(counted(store.as_ref(), poll).await, 1);
    assert!(!store.has_voted(poll, &["k:a".to_owned()]).await.unwrap());

    // The same voters vote (through new connections), and are counted once.
    let outcomes = store
        .cast_ballots(&mixed_batch(poll), during)
        .await
        .unwrap();
    assert_eq!(shapes(&outcomes), MIXED_BATCH_SHAPES, "{outcomes:?}");
    let (held, _) = held_in_database(url, poll).await;
    assert_eq!(held.len(), 4);
    for (id, leaf) in answered_cast(&outcomes) {
        assert_eq!(held.get(&id), Some(&leaf));
    }
    assert_eq!(counted(store.as_ref(), poll).await, 4);
    assert_eq!(proxy.cuts().len(), 1, "one cut only");
}
