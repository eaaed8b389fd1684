//! The `Notifications` trait on both backends: notifications are written in the event's
//! own transaction (none for a refused action), the outbox is claimed under a lease and
//! finished once, digests go out per person when their oldest message is due, each
//! person's choices and reachability decide the outbox rows, one-click unsubscribe skips
//! what waits, marking read touches only one's own; campaigns: the audience (region,
//! age on a day, verification), the status machine, claims, counters, opt-outs and
//! openings.

use super::*;
use otklik_domain::access::Verification;
use otklik_domain::notify::{
    self, Audience, CampaignCommand, CampaignStatus, Delivery, NotificationKind as Kind,
    PhoneNumber, SendRate,
};
use time::macros::date;

const LEASE: std::time::Duration = std::time::Duration::from_secs(60);
const EMAIL: notify::Channel = notify::Channel::Email;
const GATEWAY: notify::Channel = notify::Channel::Gateway;

/// Everything due at `at`, every person's digest included, claimed.
async fn claim_all(s: &dyn Store, at: OffsetDateTime) -> Vec<OutgoingNotification> {
    s.claim_notifications(at, LEASE, 1000, at, &notify::Channel::ALL)
        .await
        .unwrap()
}

/// Claims everything due at `at` and records it sent: what the outbox held.
async fn drain(s: &dyn Store, at: OffsetDateTime) -> Vec<OutgoingNotification> {
    let due = claim_all(s, at).await;
    let sent: Vec<_> = due
        .iter()
        .map(|n| (n.id, n.channel, SendOutcome::Sent))
        .collect();
    s.finish_notifications(&sent, at).await.unwrap();
    due
}

/// (person, kind, channel, digest) of each message, sorted.
fn messages(due: &[OutgoingNotification]) -> Vec<(UserId, Kind, notify::Channel, bool)> {
    let mut out: Vec<_> = due
        .iter()
        .map(|n| (n.user, n.kind, n.channel, n.digest))
        .collect();
    out.sort();
    out
}

fn of(due: &[OutgoingNotification], user: UserId) -> Vec<OutgoingNotification> {
    due.iter().filter(|n| n.user == user).cloned().collect()
}

/// A person's notification centre: (kind, submission), newest first.
async fn centre(s: &dyn Store, user: UserId) -> Vec<(Kind, Option<SubmissionId>)> {
    s.notifications(user, 100, 0)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|n| (n.kind, n.submission))
        .collect()
}

fn counts(summary: &OutboxSummary) -> (u64, u64, u64, u64) {
    (
        summary.pending,
        summary.sent,
        summary.failed,
        summary.skipped,
    )
}

/// One more official of the world's regional body.
async fn official(s: &dyn Store, w: &World, mail: &str, name: &str) -> Actor {
    let user = s
        .create_user(NewUser {
            email: email(mail),
            password_hash: PASSWORD_HASH.to_owned(),
            full_name: PersonName::parse(name).unwrap(),
            role: Role::Official(w.org),
            verification: Verification::Verified,
        })
        .await
        .unwrap();
    Actor {
        user,
        role: Role::Official(w.org),
    }
}

/// A citizen as an identity provider describes them: the only way to a birth date and a
/// home region. Without `mail` the account gets an undeliverable `.invalid` address.
async fn resident(
    s: &dyn Store,
    n: u32,
    region: Option<&str>,
    birth: Option<time::Date>,
    mail: bool,
    level: Verification,
) -> UserId {
    let user = s
        .sign_in_with_identity(
            ProvidedIdentity {
                issuer: "https://esia.test".to_owned(),
                subject: format!("resident-{n}"),
                identity_key: None,
                full_name: Some(PersonName::parse("Житель Области").unwrap()),
                email: mail.then(|| email(&format!("resident{n}@example.ru"))),
                birth_date: birth,
                home_region_code: region.map(str::to_owned),
                verification: level,
            },
            None,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(user.role, Role::Citizen);
    user.id
}

fn settings(
    choices: Vec<(Kind, notify::Channel, Delivery)>,
    phone: Option<&str>,
) -> NotificationSettings {
    NotificationSettings {
        choices,
        phone: phone.map(|p| PhoneNumber::parse(p).unwrap()),
        email_deliverable: true,
        campaigns_opted_out: false,
        home_region: None,
        home_municipality: None,
    }
}

// --- the outbox ------------------------------------------------------------------------------

/// Registration notifies the author (`registered`) and every active official of the
/// holding organisation (`new_submission`), with an outbox row each, in the event's
/// transaction; a refused action writes nothing; a redirect tells the new holder; the
/// monitor's warning and breach reach the officials once each.
pub(super) async fn notifications_are_written_with_the_event(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    let second = official(s, &w, "clerk2@tver.ru", "Мария Иванова").await;
    let gone = official(s, &w, "gone@tver.ru", "Семён Уволенный").await;
    s.set_staff_disabled(w.org, gone.user, true, w.operator.user, T0)
        .await
        .unwrap();

    // A registration refused for a reference that does not exist notifies nobody.
    let refused = s
        .register_submission(
            NewSubmission {
                org: OrgId(9_999),
                ..w.submission(w.citizen, w.pothole, "Яма на дороге у дома 5")
            },
            T0,
        )
        .await;
    assert_eq!(outcome(refused), "invalid:unknown_organisation");
    assert_eq!(
        s.notifications(w.citizen.user, 10, 0).await.unwrap().total,
        0
    );
    assert_eq!(s.outbox_summary().await.unwrap(), OutboxSummary::default());

    let registered = s
        .register_submission(
            w.submission(
                w.citizen,
                w.pothole,
                "Яма на дороге у дома 5 по улице Ленина",
            ),
            T0,
        )
        .await
        .unwrap();
    let id = registered.id;
    let page = s.notifications(w.citizen.user, 10, 0).await.unwrap();
    assert_eq!((page.total, page.unread, page.items.len()), (1, 1, 1));
    let note = &page.items[0];
    assert_eq!(
        (note.kind, note.submission, note.created_at, note.read_at),
        (Kind::Registered, Some(id), T0, None)
    );
    assert_eq!(note.vars["number"], registered.number.to_string());
    assert_eq!(note.vars["submission_id"], id.0);
    assert_eq!(note.vars["organisation"], "Министерство транспорта");
    assert_eq!(note.vars["subcategory"], "Ямы");
    assert_eq!(note.vars["deadline"], "18.12.2026");
    let vars = note.vars.to_string();
    assert!(
        !vars.contains("Ленина") && !vars.contains("Иван"),
        "no texts, no names: {vars}"
    );
    for staff in [w.official, second] {
        assert_eq!(
            centre(s, staff.user).await,
            vec![(Kind::NewSubmission, Some(id))]
        );
    }
    for nobody in [gone, w.other_official, w.operator, w.other_citizen] {
        assert!(centre(s, nobody.user).await.is_empty(), "{nobody:?}");
    }
    assert_eq!(s.unread_count(w.official.user).await.unwrap(), 1);

    // The outbox: the author's e-mail at once, the officials' in their digests.
    let summary = s.outbox_summary().await.unwrap();
    assert_eq!(counts(&summary), (3, 0, 0, 0));
    assert_eq!(summary.oldest_pending_at, Some(T0));
    let due = drain(s, T0 + Duration::seconds(1)).await;
    let mut expected = vec![
        (w.citizen.user, Kind::Registered, EMAIL, false),
        (w.official.user, Kind::NewSubmission, EMAIL, true),
        (second.user, Kind::NewSubmission, EMAIL, true),
    ];
    expected.sort();
    assert_eq!(messages(&due), expected);
    let mine = &of(&due, w.citizen.user)[0];
    assert_eq!(
        (
            mine.id,
            mine.email.as_str(),
            mine.phone.as_deref(),
            mine.attempts,
            mine.submission,
            mine.created_at
        ),
        (note.id, "ivan@example.ru", None, 1, Some(id), T0)
    );
    assert_eq!(mine.vars, note.vars);
    assert_eq!(counts(&s.outbox_summary().await.unwrap()), (0, 3, 0, 0));

    // Refused actions write nothing, for anyone.
    let at = T0 + Duration::minutes(5);
    assert_eq!(
        outcome(
            s.apply(id, w.citizen, Action::TakeIntoWork, Vec::new(), at)
                .await
        ),
        transition(TransitionError::Forbidden)
    );
    assert_eq!(
        outcome(
            s.apply(id, w.other_official, Action::TakeIntoWork, Vec::new(), at)
                .await
        ),
        "not_found"
    );
    let early_answer = s
        .apply(
            id,
            w.official,
            Action::Answer {
                text: answer("Ответ"),
            },
            Vec::new(),
            at,
        )
        .await;
    assert!(
        matches!(early_answer, Err(StoreError::Transition(_))),
        "{early_answer:?}"
    );
    for who in [w.citizen, w.official, second, w.other_official] {
        assert_eq!(
            s.notifications(who.user, 10, 0).await.unwrap().total,
            1 - u64::from(who == w.other_official),
            "{who:?}"
        );
    }
    assert_eq!(counts(&s.outbox_summary().await.unwrap()), (0, 3, 0, 0));

    // An accepted action: the author only.
    act(s, id, w.official, Action::TakeIntoWork, at).await;
    assert_eq!(
        centre(s, w.citizen.user).await,
        vec![
            (Kind::TakenIntoWork, Some(id)),
            (Kind::Registered, Some(id))
        ]
    );
    assert_eq!(centre(s, w.official.user).await.len(), 1);
    assert_eq!(
        messages(&drain(s, at).await),
        vec![(w.citizen.user, Kind::TakenIntoWork, EMAIL, false)]
    );

    // A redirect: the author learns of it, the new holder's official of a new submission.
    act(
        s,
        id,
        w.official,
        Action::Redirect {
            to: w.other_org,
            reason: reason("Не наша компетенция"),
        },
        at,
    )
    .await;
    assert_eq!(
        centre(s, w.other_official.user).await,
        vec![(Kind::NewSubmission, Some(id))]
    );
    assert_eq!(centre(s, w.official.user).await.len(), 1);
    let mut expected = vec![
        (w.citizen.user, Kind::Redirected, EMAIL, false),
        (w.other_official.user, Kind::NewSubmission, EMAIL, true),
    ];
    expected.sort();
    assert_eq!(messages(&drain(s, at).await), expected);

    // The monitor: a warning before the deadline and a breach after it, once each, to
    // the officials of the organisation holding it.
    let other = w.submit(s, w.citizen, T0).await;
    drain(s, T0 + Duration::minutes(6)).await;
    let thursday = datetime!(2026-12-17 07:00 UTC);
    assert!(s.monitor(thursday, 1).await.unwrap().warnings >= 1);
    assert_eq!(s.monitor(thursday, 1).await.unwrap().warnings, 0);
    let saturday = datetime!(2026-12-19 07:00 UTC);
    s.monitor(saturday, 1).await.unwrap();
    s.monitor(saturday, 1).await.unwrap();
    for staff in [w.official, second] {
        assert_eq!(
            centre(s, staff.user).await[..2],
            [
                (Kind::DeadlineBreach, Some(other)),
                (Kind::DeadlineWarning, Some(other)),
            ],
            "{staff:?}"
        );
        assert_eq!(centre(s, staff.user).await.len(), 4);
    }
    assert!(!centre(s, w.citizen.user)
        .await
        .iter()
        .any(|(k, _)| matches!(k, Kind::DeadlineWarning | Kind::DeadlineBreach)));
    let monitored = drain(s, saturday).await;
    assert_eq!(
        messages(&monitored)
            .into_iter()
            .filter(|(user, ..)| *user == w.official.user)
            .map(|(_, kind, _, digest)| (kind, digest))
            .collect::<Vec<_>>(),
        vec![(Kind::DeadlineWarning, true), (Kind::DeadlineBreach, true)]
    );
}

/// Claims lease messages; outcomes are recorded once: a retry comes back at its time, a
/// failure or a skip is final, and a sent message never goes back to pending.
pub(super) async fn notifications_are_claimed_under_a_lease_and_finished_once(
    store: Arc<dyn Store>,
) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    let first = w.submit(s, w.citizen, T0).await;
    let second = w.submit(s, w.citizen, T0).await;
    let third = w.submit(s, w.citizen, T0).await;
    let fourth = w.submit(s, w.citizen, T0).await;
    // A node that can send nothing, or only through the gateway, takes no e-mail: it
    // stays for a node that can send it.
    let later = T0 + Duration::seconds(1);
    let early = T0 - Duration::days(1);
    assert!(s
        .claim_notifications(later, LEASE, 10, early, &[])
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .claim_notifications(later, LEASE, 10, early, &[notify::Channel::Gateway])
        .await
        .unwrap()
        .is_empty());
    // Digests are never due here: only the citizen's immediate e-mails are claimed.
    let claim = |at: OffsetDateTime| async move {
        s.claim_notifications(at, LEASE, 10, T0 - Duration::days(1), &notify::Channel::ALL)
            .await
            .unwrap()
    };
    let submissions = |due: &[OutgoingNotification]| {
        due.iter()
            .map(|n| n.submission.unwrap())
            .collect::<Vec<_>>()
    };
    let t = T0 + Duration::seconds(1);
    let due = claim(t).await;
    assert_eq!(submissions(&due), vec![first, second, third, fourth]);
    assert!(due
        .iter()
        .all(|n| (n.user, n.kind, n.channel, n.digest, n.attempts)
            == (w.citizen.user, Kind::Registered, EMAIL, false, 1)));
    // Leased: a second claim gets nothing until the lease passes, then all of them again.
    assert!(claim(t).await.is_empty());
    assert!(claim(t + Duration::seconds(59)).await.is_empty());
    let t = t + Duration::seconds(60);
    let again = claim(t).await;
    assert_eq!(submissions(&again), submissions(&due));
    assert!(claim(t).await.is_empty());

    let retry_at = t + Duration::seconds(30);
    s.finish_notifications(
        &[
            (due[0].id, EMAIL, SendOutcome::Sent),
            (
                due[1].id,
                EMAIL,
                SendOutcome::Retry {
                    error: "451 4.3.0 Try again later".to_owned(),
                    retry_at,
                },
            ),
            (
                due[2].id,
                EMAIL,
                SendOutcome::Failed {
                    error: "550 5.1.1 Mailbox unavailable".to_owned(),
                },
            ),
            (
                due[3].id,
                EMAIL,
                SendOutcome::Skipped {
                    reason: "email_not_configured".to_owned(),
                },
            ),
        ],
        t,
    )
    .await
    .unwrap();
    // Pending: the retry and the officials' four digest messages.
    let summary = s.outbox_summary().await.unwrap();
    assert_eq!(counts(&summary), (5, 1, 1, 1));
    assert_eq!(summary.oldest_pending_at, Some(T0));
    assert!(claim(retry_at - Duration::seconds(1)).await.is_empty());
    let retried = claim(retry_at).await;
    assert_eq!(
        retried
            .iter()
            .map(|n| (n.id, n.attempts))
            .collect::<Vec<_>>(),
        vec![(due[1].id, 2)]
    );

    // Late or repeated outcomes change nothing that is final: sent stays sent, failed
    // and skipped stay so.
    let late = retry_at + Duration::seconds(5);
    let retry = || SendOutcome::Retry {
        error: "timeout".to_owned(),
        retry_at: late,
    };
    s.finish_notifications(
        &[
            (due[0].id, EMAIL, retry()),
            (
                due[0].id,
                EMAIL,
                SendOutcome::Failed {
                    error: "550".to_owned(),
                },
            ),
            (due[2].id, EMAIL, SendOutcome::Sent),
            (due[3].id, EMAIL, retry()),
            // Not a row of the outbox: the citizen has no gateway message.
            (due[1].id, GATEWAY, SendOutcome::Sent),
        ],
        late,
    )
    .await
    .unwrap();
    assert_eq!(counts(&s.outbox_summary().await.unwrap()), (5, 1, 1, 1));
    // Only the retried one comes back, once its lease has passed.
    let back = claim(late + Duration::hours(1)).await;
    assert_eq!(
        back.iter().map(|n| (n.id, n.attempts)).collect::<Vec<_>>(),
        vec![(due[1].id, 2)]
    );

    s.finish_notifications(&[(due[1].id, EMAIL, SendOutcome::Sent)], late)
        .await
        .unwrap();
    s.finish_notifications(&[(due[1].id, EMAIL, retry())], late)
        .await
        .unwrap();
    let summary = s.outbox_summary().await.unwrap();
    assert_eq!(counts(&summary), (4, 2, 1, 1));
    assert_eq!(summary.oldest_pending_at, None, "digests are not counted");
    assert!(claim(late + Duration::days(30)).await.is_empty());
}

/// A person's digest messages wait until the oldest is older than `digest_before`; then
/// all of theirs go at once, newer ones too, while another person's wait for their own.
pub(super) async fn notifications_digests_go_per_person_when_the_oldest_is_due(
    store: Arc<dyn Store>,
) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    let hours = |h: i64| T0 + Duration::hours(h);
    let digests = |now: OffsetDateTime, before: OffsetDateTime| async move {
        s.claim_notifications(now, LEASE, 100, before, &notify::Channel::ALL)
            .await
            .unwrap()
    };
    let a = w.submit(s, w.citizen, T0).await;
    // Joins after the first submission: only the second reaches them.
    let late = official(s, &w, "clerk2@tver.ru", "Мария Иванова").await;
    let b = w.submit(s, w.citizen, hours(2)).await;
    // The citizen's immediate e-mails are no digest and go at once.
    let immediate = digests(hours(2), T0 - Duration::days(1)).await;
    assert_eq!(
        messages(&immediate),
        vec![
            (w.citizen.user, Kind::Registered, EMAIL, false),
            (w.citizen.user, Kind::Registered, EMAIL, false)
        ]
    );
    let sent: Vec<_> = immediate
        .iter()
        .map(|n| (n.id, n.channel, SendOutcome::Sent))
        .collect();
    s.finish_notifications(&sent, hours(2)).await.unwrap();

    let now = hours(3);
    assert!(digests(now, T0 - Duration::seconds(1)).await.is_empty());
    let due = digests(now, hours(1)).await;
    assert!(due.iter().all(|n| (n.user, n.kind, n.channel, n.digest)
        == (w.official.user, Kind::NewSubmission, EMAIL, true)));
    let mut got: Vec<_> = due.iter().map(|n| n.submission.unwrap()).collect();
    got.sort();
    assert_eq!(got, vec![a, b], "the whole digest, the newer message too");
    // Leased; the late official's oldest is two hours old only now.
    assert!(digests(now, hours(1)).await.is_empty());
    let theirs = digests(now, hours(2) + Duration::minutes(1)).await;
    assert_eq!(
        theirs
            .iter()
            .map(|n| (n.user, n.submission.unwrap(), n.digest))
            .collect::<Vec<_>>(),
        vec![(late.user, b, true)]
    );
    let sent: Vec<_> = due
        .iter()
        .chain(&theirs)
        .map(|n| (n.id, n.channel, SendOutcome::Sent))
        .collect();
    s.finish_notifications(&sent, now).await.unwrap();

    // The next digest waits for its own oldest message, not the ones already sent.
    let c = w.submit(s, w.citizen, hours(4)).await;
    let immediate = digests(hours(4), T0 - Duration::days(1)).await;
    assert_eq!(immediate.len(), 1);
    s.finish_notifications(&[(immediate[0].id, EMAIL, SendOutcome::Sent)], hours(4))
        .await
        .unwrap();
    assert!(digests(hours(5), hours(3)).await.is_empty());
    let due = digests(hours(5), hours(4) + Duration::minutes(1)).await;
    let mut expected = vec![
        (w.official.user, Kind::NewSubmission, EMAIL, true),
        (late.user, Kind::NewSubmission, EMAIL, true),
    ];
    expected.sort();
    assert_eq!(messages(&due), expected);
    assert!(due.iter().all(|n| n.submission == Some(c)));

    // A digest that failed is retried as the same set with the same identifier, even
    // when a newer message has joined the wait meanwhile; the newer one goes next time,
    // under its own.
    let mine: Vec<_> = due.iter().filter(|n| n.user == w.official.user).collect();
    let first_id = mine[0]
        .digest_id
        .clone()
        .expect("a digest is stamped when claimed");
    let retry = SendOutcome::Retry {
        error: "smtp 451".into(),
        retry_at: hours(6),
    };
    s.finish_notifications(&[(mine[0].id, EMAIL, retry)], hours(5))
        .await
        .unwrap();
    let others: Vec<_> = due
        .iter()
        .filter(|n| n.user != w.official.user)
        .map(|n| (n.id, n.channel, SendOutcome::Sent))
        .collect();
    s.finish_notifications(&others, hours(5)).await.unwrap();
    let d = w.submit(s, w.citizen, hours(5)).await;
    let immediate = digests(hours(5), T0 - Duration::days(1)).await;
    let sent: Vec<_> = immediate
        .iter()
        .map(|n| (n.id, n.channel, SendOutcome::Sent))
        .collect();
    s.finish_notifications(&sent, hours(5)).await.unwrap();
    let again: Vec<_> = digests(hours(7), hours(6))
        .await
        .into_iter()
        .filter(|n| n.user == w.official.user)
        .collect();
    assert_eq!(
        again
            .iter()
            .map(|n| (n.submission.unwrap(), n.digest_id.clone()))
            .collect::<Vec<_>>(),
        vec![(c, Some(first_id.clone()))],
        "the retry sends the same set under the same id"
    );
    s.finish_notifications(&[(again[0].id, EMAIL, SendOutcome::Sent)], hours(7))
        .await
        .unwrap();
    let next: Vec<_> = digests(hours(8), hours(6))
        .await
        .into_iter()
        .filter(|n| n.user == w.official.user)
        .collect();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].submission, Some(d));
    assert_ne!(next[0].digest_id, Some(first_id));
}

/// Each person's choices and reachability decide the outbox: `off` writes no row for
/// that channel, the gateway needs a phone, an undeliverable address gets no e-mail; the
/// centre gets everything. One-click unsubscribe turns one kind's e-mail off and skips
/// what of it waits, nothing else.
pub(super) async fn notifications_follow_choices_and_reachability(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    let at = |m: i64| T0 + Duration::minutes(m);
    let citizen = w.citizen.user;

    let defaults = s.notification_settings(citizen).await.unwrap();
    assert_eq!(defaults, settings(Vec::new(), None));
    assert_eq!(
        (
            defaults.delivery(Kind::Registered, EMAIL),
            defaults.delivery(Kind::Registered, GATEWAY),
            defaults.delivery(Kind::NewSubmission, EMAIL)
        ),
        (Delivery::Immediate, Delivery::Off, Delivery::Digest)
    );
    assert_eq!(
        outcome(s.notification_settings(UserId(999_999)).await.map(|_| ())),
        "not_found"
    );

    // Registered: no e-mail, the gateway at once — but there is no phone yet.
    let mut choices = vec![
        (Kind::Registered, EMAIL, Delivery::Off),
        (Kind::Registered, GATEWAY, Delivery::Immediate),
        (Kind::Answered, GATEWAY, Delivery::Immediate),
        // The default, stored as no choice at all.
        (Kind::TakenIntoWork, EMAIL, Delivery::Immediate),
    ];
    s.put_notification_settings(citizen, &settings(choices.clone(), None), T0)
        .await
        .unwrap();
    let stored = s.notification_settings(citizen).await.unwrap();
    let mut got = stored.choices.clone();
    got.sort_by_key(|(k, c, _)| (*k, *c));
    choices.pop();
    choices.sort_by_key(|(k, c, _)| (*k, *c));
    assert_eq!(got, choices);
    assert_eq!(stored.phone, None);
    let first = w.submit(s, w.citizen, at(1)).await;
    assert_eq!(
        centre(s, citizen).await,
        vec![(Kind::Registered, Some(first))]
    );
    assert!(of(&drain(s, at(1)).await, citizen).is_empty());

    // With a phone: the gateway message, still no e-mail.
    s.put_notification_settings(
        citizen,
        &settings(choices.clone(), Some("8 (912) 345-67-89")),
        at(2),
    )
    .await
    .unwrap();
    assert_eq!(
        s.notification_settings(citizen)
            .await
            .unwrap()
            .phone
            .map(|p| p.as_str().to_owned()),
        Some("+79123456789".to_owned())
    );
    let second = w.submit(s, w.citizen, at(3)).await;
    let mine = of(&drain(s, at(3)).await, citizen);
    assert_eq!(
        messages(&mine),
        vec![(citizen, Kind::Registered, GATEWAY, false)]
    );
    assert_eq!(
        (mine[0].submission, mine[0].phone.as_deref()),
        (Some(second), Some("+79123456789"))
    );

    // Staff: one official wants new submissions at once, another none by e-mail.
    let other = official(s, &w, "clerk2@tver.ru", "Мария Иванова").await;
    s.put_notification_settings(
        w.official.user,
        &settings(
            vec![(Kind::NewSubmission, EMAIL, Delivery::Immediate)],
            None,
        ),
        at(4),
    )
    .await
    .unwrap();
    s.put_notification_settings(
        other.user,
        &settings(vec![(Kind::NewSubmission, EMAIL, Delivery::Off)], None),
        at(4),
    )
    .await
    .unwrap();
    let third = w.submit(s, w.citizen, at(5)).await;
    let due = drain(s, at(5)).await;
    assert_eq!(
        messages(&of(&due, w.official.user)),
        vec![(w.official.user, Kind::NewSubmission, EMAIL, false)]
    );
    assert!(of(&due, other.user).is_empty());
    assert_eq!(
        centre(s, other.user).await,
        vec![(Kind::NewSubmission, Some(third))]
    );

    // An account without a deliverable address: the centre only.
    let nomail = resident(s, 1, None, None, false, Verification::Standard).await;
    let record = s.user(nomail).await.unwrap();
    assert!(record.email.ends_with(".invalid"), "{}", record.email);
    assert!(
        !s.notification_settings(nomail)
            .await
            .unwrap()
            .email_deliverable
    );
    let author = Actor {
        user: nomail,
        role: Role::Citizen,
    };
    let theirs = w.submit(s, author, at(6)).await;
    assert!(of(&drain(s, at(6)).await, nomail).is_empty());
    assert_eq!(
        centre(s, nomail).await,
        vec![(Kind::Registered, Some(theirs))]
    );

    // One-click unsubscribe from a kind: its waiting e-mails are skipped; other kinds,
    // and the gateway, still go.
    let olga = w.other_citizen.user;
    s.put_notification_settings(
        olga,
        &settings(
            vec![(Kind::Registered, GATEWAY, Delivery::Immediate)],
            Some("+79001234567"),
        ),
        at(7),
    )
    .await
    .unwrap();
    let x = w.submit(s, w.other_citizen, at(8)).await;
    w.submit(s, w.other_citizen, at(8)).await;
    act(s, x, w.official, Action::TakeIntoWork, at(8)).await;
    let skipped_before = s.outbox_summary().await.unwrap().skipped;
    s.unsubscribe(olga, Some(Kind::Registered), None, at(9))
        .await
        .unwrap();
    assert_eq!(
        s.outbox_summary().await.unwrap().skipped,
        skipped_before + 2
    );
    let mine = of(&drain(s, at(9)).await, olga);
    assert_eq!(
        messages(&mine),
        vec![
            (olga, Kind::Registered, GATEWAY, false),
            (olga, Kind::Registered, GATEWAY, false),
            (olga, Kind::TakenIntoWork, EMAIL, false),
        ]
    );
    let after = s.notification_settings(olga).await.unwrap();
    assert_eq!(
        (
            after.delivery(Kind::Registered, EMAIL),
            after.delivery(Kind::Registered, GATEWAY),
            after.delivery(Kind::Answered, EMAIL)
        ),
        (Delivery::Off, Delivery::Immediate, Delivery::Immediate)
    );
    assert!(!after.campaigns_opted_out);
    // From now on that kind writes no e-mail row; the centre still gets it.
    let y = w.submit(s, w.other_citizen, at(10)).await;
    assert_eq!(
        messages(&of(&drain(s, at(10)).await, olga)),
        vec![(olga, Kind::Registered, GATEWAY, false)]
    );
    assert_eq!(centre(s, olga).await[0], (Kind::Registered, Some(y)));
    assert_eq!(
        outcome(
            s.unsubscribe(UserId(999_999), Some(Kind::Answered), None, at(10))
                .await
        ),
        "not_found"
    );
}

/// Marking read touches only the person's own notifications.
pub(super) async fn notifications_are_marked_read_by_their_owner_only(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    let ivan = w.citizen.user;
    let olga = w.other_citizen.user;
    let a = w.submit(s, w.citizen, T0).await;
    let b = w.submit(s, w.citizen, T0 + Duration::minutes(1)).await;
    w.submit(s, w.other_citizen, T0 + Duration::minutes(2))
        .await;
    let page = s.notifications(ivan, 10, 0).await.unwrap();
    assert_eq!((page.total, page.unread), (2, 2));
    let ids: Vec<_> = page.items.iter().map(|n| n.id).collect();
    assert_eq!(
        page.items.iter().map(|n| n.submission).collect::<Vec<_>>(),
        vec![Some(b), Some(a)],
        "newest first"
    );
    let (newer, older) = (ids[0], ids[1]);
    let hers = s.notifications(olga, 10, 0).await.unwrap().items[0].id;
    let t1 = T0 + Duration::hours(1);
    let t2 = T0 + Duration::hours(2);

    assert_eq!(s.mark_read(ivan, Some(&[hers]), t1).await.unwrap(), 0);
    assert_eq!(s.unread_count(olga).await.unwrap(), 1);
    assert_eq!(
        s.mark_read(ivan, Some(&[older, hers]), t1).await.unwrap(),
        1
    );
    assert_eq!(s.unread_count(ivan).await.unwrap(), 1);
    assert_eq!(s.mark_read(ivan, Some(&[older]), t2).await.unwrap(), 0);
    assert_eq!(s.mark_read(ivan, Some(&[]), t2).await.unwrap(), 0);
    let page = s.notifications(ivan, 10, 0).await.unwrap();
    assert_eq!(
        page.items
            .iter()
            .map(|n| (n.id, n.read_at))
            .collect::<Vec<_>>(),
        vec![(newer, None), (older, Some(t1))]
    );
    assert_eq!(page.unread, 1);

    assert_eq!(s.mark_read(ivan, None, t2).await.unwrap(), 1);
    assert_eq!(s.mark_read(ivan, None, t2).await.unwrap(), 0);
    assert_eq!(s.unread_count(ivan).await.unwrap(), 0);
    let page = s.notifications(ivan, 10, 0).await.unwrap();
    assert_eq!(
        page.items.iter().map(|n| n.read_at).collect::<Vec<_>>(),
        vec![Some(t2), Some(t1)]
    );
    // Nobody else's changed.
    assert_eq!(s.unread_count(olga).await.unwrap(), 1);
    assert_eq!(s.unread_count(w.official.user).await.unwrap(), 3);
    assert_eq!(s.mark_read(olga, None, t2).await.unwrap(), 1);
    assert_eq!(s.unread_count(w.official.user).await.unwrap(), 3);
    // Paging.
    let second_page = s.notifications(ivan, 1, 1).await.unwrap();
    assert_eq!(
        (
            second_page.total,
            second_page.items.iter().map(|n| n.id).collect::<Vec<_>>()
        ),
        (2, vec![older])
    );
}

// --- campaigns -----------------------------------------------------------------------------

/// A campaign as the operator writes it.
fn campaign(title: &str, audience: Audience) -> NewCampaign {
    NewCampaign {
        title: title.to_owned(),
        subject: "Новая услуга: запись к врачу".to_owned(),
        text_body: "Теперь записаться к врачу можно в личном кабинете: {{ account_link }}"
            .to_owned(),
        html_body: "<p>Теперь записаться к врачу можно <a href=\"{{ account_link }}\">в личном кабинете</a>.</p>".to_owned(),
        audience,
        rate: SendRate::new(5).unwrap(),
    }
}

fn in_region(region: RegionId) -> Audience {
    Audience {
        region: Some(region),
        ..Audience::default()
    }
}

/// (status, recipients, sent, failed, pending, opened, unsubscribed)
fn progress(c: &CampaignRecord) -> (CampaignStatus, u64, u64, u64, u64, u64, u64) {
    (
        c.status,
        c.recipients,
        c.sent,
        c.failed,
        c.pending(),
        c.opened,
        c.unsubscribed,
    )
}

fn users(due: &[OutgoingCampaignMessage]) -> Vec<UserId> {
    let mut users: Vec<_> = due.iter().map(|m| m.user).collect();
    users.sort();
    users
}

/// Who an audience counts on a given day: region, municipality, age on that day (just
/// inside and just outside each bound), verification; never staff, people without a
/// deliverable address, or people who opted out.
pub(super) async fn notifications_campaign_audience_by_region_age_and_verification(
    store: Arc<dyn Store>,
) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    let today = T0.date(); // 4 December 2026
    assert_eq!(today, date!(2026 - 12 - 04));
    let tver = Some("RU-TVE");
    use Verification::{Standard, Unverified, Verified};
    // 1: 18 today, in an audience from 18.
    let turns_18_today = resident(s, 1, tver, Some(date!(2008 - 12 - 04)), true, Verified).await;
    // 2: 18 tomorrow, not yet.
    resident(s, 2, tver, Some(date!(2008 - 12 - 05)), true, Verified).await;
    // 3: 30 until tomorrow, in an audience up to 30.
    resident(s, 3, tver, Some(date!(1995 - 12 - 05)), true, Standard).await;
    // 4: 31 today, too old.
    resident(s, 4, tver, Some(date!(1995 - 12 - 04)), true, Verified).await;
    // 5: another region; 6: no birth date.
    resident(
        s,
        5,
        Some("RU-SAM"),
        Some(date!(2000 - 01 - 01)),
        true,
        Verified,
    )
    .await;
    resident(s, 6, tver, None, true, Unverified).await;
    // Never in an audience: no deliverable address; opted out.
    resident(s, 7, tver, Some(date!(2000 - 06 - 01)), false, Verified).await;
    let opted_out = resident(s, 8, tver, Some(date!(2000 - 06 - 01)), true, Verified).await;
    s.put_notification_settings(
        opted_out,
        &NotificationSettings {
            campaigns_opted_out: true,
            ..settings(Vec::new(), None)
        },
        T0,
    )
    .await
    .unwrap();
    assert!(
        s.notification_settings(opted_out)
            .await
            .unwrap()
            .campaigns_opted_out
    );
    let profile = s.account_profile(turns_18_today).await.unwrap();
    assert_eq!(
        (profile.birth_date, profile.home_region.as_deref()),
        (Some(date!(2008 - 12 - 04)), Some("Тверская область"))
    );

    let size = |audience: Audience, day: time::Date| async move {
        audience.check().unwrap();
        s.audience_size(&audience, day).await.unwrap()
    };
    let ages = |min: Option<u16>, max: Option<u16>| Audience {
        min_age: min,
        max_age: max,
        ..Audience::default()
    };
    // Everyone: the world's two citizens (no region, no birth date) and residents 1–6;
    // no staff.
    assert_eq!(size(Audience::default(), today).await, 8);
    assert_eq!(size(in_region(w.region), today).await, 5);
    assert_eq!(size(in_region(w.bare_region), today).await, 1);
    assert_eq!(size(ages(Some(18), None), today).await, 4, "1, 3, 4, 5");
    assert_eq!(size(ages(None, Some(30)), today).await, 4, "1, 2, 3, 5");
    let young_tver = Audience {
        region: Some(w.region),
        ..ages(Some(18), Some(30))
    };
    assert_eq!(size(young_tver.clone(), today).await, 2, "1 and 3");
    // A day later, 2 turns 18 and 3 turns 31.
    assert_eq!(
        size(young_tver.clone(), today.next_day().unwrap()).await,
        2,
        "1 and 2"
    );
    assert_eq!(
        size(ages(Some(18), Some(18)), today).await,
        1,
        "1 only: 18 today"
    );
    assert_eq!(size(ages(Some(31), Some(31)), today).await, 1, "4 only");
    assert_eq!(size(ages(Some(100), None), today).await, 0);
    let level = |min_verification| Audience {
        min_verification: Some(min_verification),
        ..Audience::default()
    };
    assert_eq!(
        size(level(Verified), today).await,
        6,
        "the world's two, 1, 2, 4, 5"
    );
    assert_eq!(size(level(Standard), today).await, 7, "and 3");
    assert_eq!(size(level(Unverified), today).await, 8);
    assert_eq!(
        size(
            Audience {
                min_verification: Some(Verified),
                ..young_tver.clone()
            },
            today
        )
        .await,
        1
    );
    // A municipality: nobody here has one on record, so nobody in the region is in it.
    s.import_municipalities(&[NewMunicipality {
        oktmo: "28701000".to_owned(),
        name: "Город Тверь".to_owned(),
        region: w.region,
        utc_offset_minutes: 180,
    }])
    .await
    .unwrap();
    let city = s.municipalities(w.region).await.unwrap()[0].id;
    assert_eq!(
        size(
            Audience {
                municipality: Some(city),
                ..in_region(w.region)
            },
            today
        )
        .await,
        0
    );
    // A citizen who says where they live is in that municipality's audience; a
    // municipality outside the region, or a region that does not exist, is refused and
    // changes nothing.
    s.put_home_place(turns_18_today, Some(w.region), Some(city))
        .await
        .unwrap();
    let in_city = Audience {
        municipality: Some(city),
        ..in_region(w.region)
    };
    assert_eq!(size(in_city.clone(), today).await, 1);
    assert!(matches!(
        s.put_home_place(turns_18_today, None, Some(city)).await,
        Err(StoreError::InvalidReference("unknown_municipality"))
    ));
    assert!(matches!(
        s.put_home_place(turns_18_today, Some(RegionId(999_999_999)), None)
            .await,
        Err(StoreError::InvalidReference("unknown_region"))
    ));
    let place = s.notification_settings(turns_18_today).await.unwrap();
    assert_eq!(
        (place.home_region, place.home_municipality),
        (Some(w.region), Some(city))
    );
    assert_eq!(size(in_city, today).await, 1);
    // Opting in again brings the person back.
    s.put_notification_settings(opted_out, &settings(Vec::new(), None), T0)
        .await
        .unwrap();
    assert_eq!(size(in_region(w.region), today).await, 6);
    // Staff are never counted, whatever their region.
    assert_eq!(size(level(Verified), today).await, 7);
}

/// Draft → running ⇄ paused → finished, cancel from a draft or a paused campaign; the
/// start fixes the recipients; claims are leased and only while running; outcomes count
/// once, and the campaign finishes when nothing is left to send.
pub(super) async fn notifications_campaign_commands_claims_and_counters(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    let op = w.operator.user;
    let tver = Some("RU-TVE");
    let mut residents = Vec::new();
    for n in 1..=3 {
        residents.push(resident(s, n, tver, None, true, Verification::Verified).await);
    }
    residents.sort();
    let not_allowed = "conflict:campaign_command_not_allowed";
    let command = |id, command, at| async move { s.command_campaign(id, command, op, at).await };
    let claim = |id, at, limit| async move {
        s.claim_campaign_messages(id, at, LEASE, limit)
            .await
            .unwrap()
    };
    use CampaignCommand::{Cancel, Pause, Resume, Start};

    let id = s
        .create_campaign(&campaign("Запись к врачу", in_region(w.region)), op, T0)
        .await
        .unwrap();
    let draft = s.campaign(id).await.unwrap();
    assert_eq!(
        draft,
        CampaignRecord {
            id,
            title: "Запись к врачу".to_owned(),
            subject: "Новая услуга: запись к врачу".to_owned(),
            text_body: campaign("", Audience::default()).text_body,
            html_body: campaign("", Audience::default()).html_body,
            audience: in_region(w.region),
            rate: SendRate::new(5).unwrap(),
            status: CampaignStatus::Draft,
            recipients: 0,
            sent: 0,
            failed: 0,
            opened: 0,
            unsubscribed: 0,
            created_by: op,
            created_at: T0,
            started_at: None,
            finished_at: None,
        }
    );
    for refused in [Pause, Resume] {
        assert_eq!(outcome(command(id, refused, T0).await), not_allowed);
    }
    assert!(claim(id, T0 + Duration::hours(1), 10).await.is_empty());
    assert_eq!(outcome(s.campaign(CampaignId(999_999)).await), "not_found");
    assert_eq!(
        outcome(command(CampaignId(999_999), Start, T0).await),
        "not_found"
    );

    let started_at = T0 + Duration::minutes(1);
    let running = command(id, Start, started_at).await.unwrap();
    assert_eq!(
        progress(&running),
        (CampaignStatus::Running, 3, 0, 0, 3, 0, 0)
    );
    assert_eq!(
        s.audience_size(&in_region(w.region), started_at.date())
            .await
            .unwrap(),
        running.recipients
    );
    assert_eq!(
        (running.started_at, running.finished_at),
        (Some(started_at), None)
    );
    assert_eq!(outcome(command(id, Start, started_at).await), not_allowed);
    assert_eq!(
        outcome(command(id, Cancel, started_at).await),
        not_allowed,
        "a running campaign is paused before it is cancelled"
    );
    // The recipients are fixed: someone joining the audience now is not one of them.
    let newcomer = resident(s, 4, tver, None, true, Verification::Verified).await;
    assert_eq!(
        s.audience_size(&in_region(w.region), started_at.date())
            .await
            .unwrap(),
        4
    );
    assert_eq!(s.campaign(id).await.unwrap().recipients, 3);

    // Claims lease: the first two, then the last one, then nothing.
    let t = T0 + Duration::minutes(2);
    let first = claim(id, t, 2).await;
    assert_eq!(first.len(), 2);
    let rest = claim(id, t, 10).await;
    assert_eq!(rest.len(), 1);
    assert!(claim(id, t, 10).await.is_empty());
    let all: Vec<_> = first.iter().chain(&rest).cloned().collect();
    assert_eq!(users(&all), residents);
    for message in &all {
        assert_eq!(message.campaign, id);
        assert_eq!(message.attempts, 1);
        assert_eq!(message.email, s.user(message.user).await.unwrap().email);
    }
    assert!(!users(&all).contains(&newcomer));

    s.finish_campaign_messages(
        id,
        &[
            (first[0].user, SendOutcome::Sent),
            (
                first[1].user,
                SendOutcome::Retry {
                    error: "451".to_owned(),
                    retry_at: t + Duration::seconds(30),
                },
            ),
        ],
        t,
    )
    .await
    .unwrap();
    assert_eq!(
        progress(&s.campaign(id).await.unwrap()),
        (CampaignStatus::Running, 3, 1, 0, 2, 0, 0)
    );

    // Paused: nothing is claimed, even what is due; what was in flight still counts.
    let paused = command(id, Pause, t).await.unwrap();
    assert_eq!(paused.status, CampaignStatus::Paused);
    assert_eq!(outcome(command(id, Pause, t).await), not_allowed);
    assert!(claim(id, t + Duration::minutes(5), 10).await.is_empty());
    s.finish_campaign_messages(
        id,
        &[(
            rest[0].user,
            SendOutcome::Failed {
                error: "550".to_owned(),
            },
        )],
        t + Duration::seconds(1),
    )
    .await
    .unwrap();
    assert_eq!(
        progress(&s.campaign(id).await.unwrap()),
        (CampaignStatus::Paused, 3, 1, 1, 1, 0, 0)
    );

    let later = t + Duration::minutes(5);
    assert_eq!(
        command(id, Resume, later).await.unwrap().status,
        CampaignStatus::Running
    );
    let retried = claim(id, later, 10).await;
    assert_eq!(
        retried
            .iter()
            .map(|m| (m.user, m.attempts))
            .collect::<Vec<_>>(),
        vec![(first[1].user, 2)]
    );
    // Repeated or late outcomes of finished messages count nothing.
    s.finish_campaign_messages(
        id,
        &[
            (first[0].user, SendOutcome::Sent),
            (rest[0].user, SendOutcome::Sent),
            (newcomer, SendOutcome::Sent),
        ],
        later,
    )
    .await
    .unwrap();
    assert_eq!(
        progress(&s.campaign(id).await.unwrap()),
        (CampaignStatus::Running, 3, 1, 1, 1, 0, 0)
    );
    s.finish_campaign_messages(id, &[(first[1].user, SendOutcome::Sent)], later)
        .await
        .unwrap();
    let finished = s.campaign(id).await.unwrap();
    assert_eq!(
        progress(&finished),
        (CampaignStatus::Finished, 3, 2, 1, 0, 0, 0)
    );
    assert_eq!(finished.finished_at, Some(later));
    for refused in [Start, Pause, Resume, Cancel] {
        assert_eq!(outcome(command(id, refused, later).await), not_allowed);
    }
    assert!(claim(id, later + Duration::hours(1), 10).await.is_empty());

    // Cancelled from a draft, and from a paused campaign; nothing is sent after.
    let draft = s
        .create_campaign(&campaign("Черновик", in_region(w.region)), op, later)
        .await
        .unwrap();
    let cancelled = command(draft, Cancel, later).await.unwrap();
    assert_eq!(
        (
            cancelled.status,
            cancelled.recipients,
            cancelled.finished_at
        ),
        (CampaignStatus::Cancelled, 0, Some(later))
    );
    assert_eq!(outcome(command(draft, Start, later).await), not_allowed);
    let third = s
        .create_campaign(&campaign("Отменённая", in_region(w.region)), op, later)
        .await
        .unwrap();
    assert_eq!(command(third, Start, later).await.unwrap().recipients, 4);
    command(third, Pause, later).await.unwrap();
    let cancelled = command(third, Cancel, later).await.unwrap();
    assert_eq!(
        progress(&cancelled),
        (CampaignStatus::Cancelled, 4, 0, 0, 4, 0, 0)
    );
    assert!(claim(third, later + Duration::hours(1), 10)
        .await
        .is_empty());
    assert_eq!(outcome(command(third, Resume, later).await), not_allowed);

    // A campaign that reaches nobody finishes as it starts.
    let nobody = s
        .create_campaign(
            &campaign(
                "Никому",
                Audience {
                    region: Some(w.bare_region),
                    min_age: Some(100),
                    ..Audience::default()
                },
            ),
            op,
            later,
        )
        .await
        .unwrap();
    let done = command(nobody, Start, later).await.unwrap();
    assert_eq!(
        progress(&done),
        (CampaignStatus::Finished, 0, 0, 0, 0, 0, 0)
    );
    assert_eq!(
        (done.started_at, done.finished_at),
        (Some(later), Some(later))
    );

    assert_eq!(
        s.campaigns()
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        vec![nobody, third, draft, id],
        "newest first"
    );
    // Every command is on record.
    let changes = s.config_changes(100, 0).await.unwrap();
    let started = changes
        .iter()
        .find(|c| {
            c.entity == "campaign"
                && c.entity_key == id.0.to_string()
                && c.after.as_deref() == Some("running")
                && c.before.as_deref() == Some("draft")
        })
        .expect("the start is on record");
    assert_eq!((started.actor, started.at), (Some(op), started_at));
}

/// The opt-out link during a running campaign drops the person's waiting message and
/// counts once; after their message it only counts; opted-out people leave later
/// audiences. An opening counts once per person. A campaign whose last waiting message
/// is dropped, or whose last message finishes while paused, is finished.
pub(super) async fn notifications_campaign_opt_outs_and_openings(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let s = store.as_ref();
    let op = w.operator.user;
    let tver = Some("RU-TVE");
    for n in 1..=4 {
        resident(s, n, tver, None, true, Verification::Standard).await;
    }
    let audience = in_region(w.region);
    let claim = |id, at, limit| async move {
        s.claim_campaign_messages(id, at, LEASE, limit)
            .await
            .unwrap()
    };
    let send = |id, due: Vec<OutgoingCampaignMessage>, at| async move {
        let outcomes: Vec<_> = due.iter().map(|m| (m.user, SendOutcome::Sent)).collect();
        s.finish_campaign_messages(id, &outcomes, at).await.unwrap();
    };
    let opted_out = |user| async move {
        s.notification_settings(user)
            .await
            .unwrap()
            .campaigns_opted_out
    };

    let id = s
        .create_campaign(&campaign("Первая", audience.clone()), op, T0)
        .await
        .unwrap();
    let started = s
        .command_campaign(id, CampaignCommand::Start, op, T0)
        .await
        .unwrap();
    let recipients: Vec<UserId> = {
        let t = T0 + Duration::seconds(1);
        let all = claim(id, t, 10).await;
        // Give them back: the lease passes without outcomes (a worker died).
        users(&all)
    };
    assert_eq!((started.recipients, recipients.len()), (4, 4));
    let t = T0 + Duration::minutes(2);
    let first = claim(id, t, 1).await;
    assert_eq!(first.len(), 1);
    let reader = first[0].user;
    send(id, first, t).await;

    // Openings: once per person; someone who is no recipient counts nothing.
    s.record_campaign_open(id, reader, t).await.unwrap();
    s.record_campaign_open(id, reader, t + Duration::seconds(5))
        .await
        .unwrap();
    s.record_campaign_open(id, w.citizen.user, t).await.unwrap();
    assert_eq!(
        progress(&s.campaign(id).await.unwrap()),
        (CampaignStatus::Running, 4, 1, 0, 3, 1, 0)
    );

    // Opting out while the message waits: dropped, counted once.
    let leaver = *recipients.iter().find(|u| **u != reader).unwrap();
    s.unsubscribe(leaver, None, Some(id), t).await.unwrap();
    assert!(opted_out(leaver).await);
    assert_eq!(
        progress(&s.campaign(id).await.unwrap()),
        (CampaignStatus::Running, 4, 1, 1, 2, 1, 1)
    );
    s.unsubscribe(leaver, None, Some(id), t + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        progress(&s.campaign(id).await.unwrap()),
        (CampaignStatus::Running, 4, 1, 1, 2, 1, 1)
    );
    // Opting out after one's message was sent: counted, nothing dropped.
    s.unsubscribe(reader, None, Some(id), t).await.unwrap();
    assert_eq!(
        progress(&s.campaign(id).await.unwrap()),
        (CampaignStatus::Running, 4, 1, 1, 2, 1, 2)
    );
    let rest = claim(id, t, 10).await;
    let others: Vec<UserId> = recipients
        .iter()
        .copied()
        .filter(|u| *u != reader && *u != leaver)
        .collect();
    assert_eq!(users(&rest), others);
    send(id, rest, t).await;
    assert_eq!(
        progress(&s.campaign(id).await.unwrap()),
        (CampaignStatus::Finished, 4, 3, 1, 0, 1, 2)
    );
    // Later audiences leave them out; opting in again brings one back.
    assert_eq!(s.audience_size(&audience, t.date()).await.unwrap(), 2);
    s.put_notification_settings(leaver, &settings(Vec::new(), None), t)
        .await
        .unwrap();
    assert!(!opted_out(leaver).await);
    assert_eq!(s.audience_size(&audience, t.date()).await.unwrap(), 3);

    // The last waiting message dropped by an opt-out: nothing is left, it is finished.
    let second = s
        .create_campaign(&campaign("Вторая", audience.clone()), op, t)
        .await
        .unwrap();
    s.command_campaign(second, CampaignCommand::Start, op, t)
        .await
        .unwrap();
    let two = claim(second, t, 2).await;
    send(second, two.clone(), t).await;
    let last = [others[0], others[1], leaver]
        .into_iter()
        .find(|u| !users(&two).contains(u))
        .unwrap();
    s.unsubscribe(last, None, Some(second), t).await.unwrap();
    let after = s.campaign(second).await.unwrap();
    assert_eq!(
        progress(&after),
        (CampaignStatus::Finished, 3, 2, 1, 0, 0, 1),
        "nothing is left to send"
    );
    assert!(claim(second, t + Duration::hours(1), 10).await.is_empty());

    // The last message finishing while paused: resuming finishes it.
    let third = s
        .create_campaign(&campaign("Третья", audience.clone()), op, t)
        .await
        .unwrap();
    s.command_campaign(third, CampaignCommand::Start, op, t)
        .await
        .unwrap();
    let due = claim(third, t, 10).await;
    assert_eq!(due.len(), 2);
    s.command_campaign(third, CampaignCommand::Pause, op, t)
        .await
        .unwrap();
    send(third, due, t).await;
    assert_eq!(
        progress(&s.campaign(third).await.unwrap()),
        (CampaignStatus::Paused, 2, 2, 0, 0, 0, 0)
    );
    let resumed = s
        .command_campaign(third, CampaignCommand::Resume, op, t)
        .await
        .unwrap();
    assert_eq!(
        (resumed.status, resumed.finished_at),
        (CampaignStatus::Finished, Some(t))
    );
}
