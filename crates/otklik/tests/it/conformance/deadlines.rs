//! Territories, routing by specificity, deadline policies and calendars as data, the
//! clock's pauses and an appeal's extension, the coordinator's moderation, and the
//! monitor's incidents — through the `Admin` and `Store` traits, on both backends.

use super::*;
use otklik_domain::calendar::{
    CalendarEntry, DayKind, DeadlinePolicy, DeadlinePolicySpec, TermUnit,
};
use otklik_domain::lifecycle::{ExtensionDays, IncidentKind};
use time::macros::date;

/// Friday 18 December 2026, 23:59:59 in Moscow: T0 plus 10 working days.
const TEN_WORKING_DAYS: OffsetDateTime = datetime!(2026-12-18 20:59:59 UTC);

async fn municipality(store: &dyn Store, w: &World, oktmo: &str, name: &str) -> MunicipalityId {
    store
        .import_municipalities(&[NewMunicipality {
            oktmo: oktmo.to_owned(),
            name: name.to_owned(),
            region: w.region,
            utc_offset_minutes: 180,
        }])
        .await
        .unwrap();
    store
        .municipalities(w.region)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.oktmo == oktmo)
        .unwrap()
        .id
}

async fn coordinator_of(store: &dyn Store, region: RegionId, mail: &str) -> Actor {
    let user = store
        .create_user(NewUser {
            email: email(mail),
            password_hash: PASSWORD_HASH.to_owned(),
            full_name: PersonName::parse("Координатор Региона").unwrap(),
            role: Role::Coordinator(region),
            verification: otklik_domain::access::Verification::Verified,
        })
        .await
        .unwrap();
    Actor {
        user,
        role: Role::Coordinator(region),
    }
}

pub(super) async fn routing_by_specificity(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let tver = municipality(store.as_ref(), &w, "28701000", "Город Тверь").await;
    let (lighting, region) = (w.lighting, w.region);
    let decide = |m: Option<MunicipalityId>| {
        let store = Arc::clone(&store);
        async move { store.route_decision(lighting, region, m).await.unwrap() }
    };
    // No rule: the region's coordinator.
    assert_eq!(
        decide(Some(tver)).await,
        RouteDecision {
            org: w.coordinator,
            label: "coordinator".into()
        }
    );
    let federal = store
        .put_route(
            Some(w.operator.user),
            w.lighting,
            RouteScope::Federal,
            w.other_org,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(decide(None).await.label, format!("federal:{}", federal.0));
    let regional = store
        .put_route(
            Some(w.operator.user),
            w.lighting,
            RouteScope::Region(w.region),
            w.org,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(decide(None).await.label, format!("region:{}", regional.0));
    let city = store
        .put_route(
            Some(w.operator.user),
            w.lighting,
            RouteScope::Municipality(w.region, tver),
            w.coordinator,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        decide(Some(tver)).await,
        RouteDecision {
            org: w.coordinator,
            label: format!("municipality:{}", city.0)
        }
    );
    assert_eq!(decide(None).await.org, w.org);
    // The region without rules of its own takes the federal rule.
    assert_eq!(
        store
            .route_decision(w.lighting, w.bare_region, None)
            .await
            .unwrap()
            .org,
        w.other_org
    );
    // Replacing a rule keeps its id; a municipality of another region is refused.
    let again = store
        .put_route(
            None,
            w.lighting,
            RouteScope::Region(w.region),
            w.other_org,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(again, regional);
    assert_eq!(
        outcome(
            store
                .put_route(
                    None,
                    w.lighting,
                    RouteScope::Municipality(w.bare_region, tver),
                    w.org,
                    T0
                )
                .await
        ),
        "invalid:unknown_municipality"
    );
    assert_eq!(store.routes(Some(w.lighting)).await.unwrap().len(), 3);
    // The registration records the rule that matched.
    let id = store
        .register_submission(
            NewSubmission {
                municipality: Some(tver),
                org: w.coordinator,
                ..w.submission(
                    w.citizen,
                    w.lighting,
                    "Не горит фонарь у дома 3 на Советской",
                )
            },
            T0,
        )
        .await
        .unwrap()
        .id;
    let seen = store.submission(id, w.operator).await.unwrap();
    assert_eq!(seen.route, format!("municipality:{}", city.0));
    let manual = store
        .register_submission(
            NewSubmission {
                // The rules now send it to `other_org`; the caller chose otherwise.
                org: w.org,
                ..w.submission(
                    w.citizen,
                    w.lighting,
                    "Не горит фонарь у дома 5 на Советской",
                )
            },
            T0,
        )
        .await
        .unwrap()
        .id;
    assert_eq!(
        store.submission(manual, w.operator).await.unwrap().route,
        "manual"
    );
    // Deleting falls back to the next rule; every change is on record.
    store
        .delete_route(Some(w.operator.user), city, T0)
        .await
        .unwrap();
    assert_eq!(decide(Some(tver)).await.org, w.other_org);
    let changes = store.config_changes(50, 0).await.unwrap();
    let routes: Vec<_> = changes.iter().filter(|c| c.entity == "route").collect();
    // The world's two rules, then this test's four puts and one deletion.
    assert_eq!(routes.len(), 7);
    assert_eq!(routes[0].after, None, "the newest is the deletion");
    assert!(routes[0]
        .before
        .as_deref()
        .unwrap()
        .contains(&format!("\"org\":{}", w.coordinator.0)));
    assert_eq!(routes[0].actor_name.as_deref(), Some("Оператор"));
}

fn policy(unit: TermUnit, answer: u32) -> DeadlinePolicy {
    DeadlinePolicy::new(DeadlinePolicySpec {
        unit,
        moderation: Some(1),
        registration: None,
        redirect: None,
        answer,
        extension: None,
    })
    .unwrap()
}

pub(super) async fn deadlines_follow_policies_and_calendars(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let id = w.submit(store.as_ref(), w.citizen, T0).await;
    let operator = w.operator;
    let deadline = |store: Arc<dyn Store>| async move {
        store.submission(id, operator).await.unwrap().deadline_at
    };
    assert_eq!(deadline(store.clone()).await, TEN_WORKING_DAYS);
    let before = store.log_info().await.unwrap().size;
    // Five working days for every message: recomputed at once.
    let report = store
        .put_policy(
            Some(w.operator.user),
            SubmissionKind::Message,
            None,
            &policy(TermUnit::WorkingDays, 5),
            T0,
        )
        .await
        .unwrap();
    assert_eq!((report.checked, report.changed), (1, 1));
    assert_eq!(
        deadline(store.clone()).await,
        datetime!(2026-12-11 20:59:59 UTC)
    );
    assert_eq!(
        store.log_info().await.unwrap().size,
        before + 1,
        "one recompute leaf"
    );
    // The region's own holiday on Monday 7 December moves it a working day on.
    let report = store
        .put_calendar_days(
            Some(w.operator.user),
            Some("RU-TVE"),
            &[CalendarEntry::new(date!(2026 - 12 - 07), DayKind::Holiday)],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(report.changed, 1);
    assert_eq!(
        deadline(store.clone()).await,
        datetime!(2026-12-14 20:59:59 UTC)
    );
    assert_eq!(
        store.calendar_days(Some("RU-TVE")).await.unwrap(),
        [CalendarEntry::new(date!(2026 - 12 - 07), DayKind::Holiday)]
    );
    // A subcategory's own policy wins over the kind's.
    store
        .put_policy(
            None,
            SubmissionKind::Message,
            Some(w.pothole),
            &policy(TermUnit::CalendarDays, 20),
            T0,
        )
        .await
        .unwrap();
    // 24 December is a Thursday: a working day.
    assert_eq!(
        deadline(store.clone()).await,
        datetime!(2026-12-24 20:59:59 UTC)
    );
    assert_eq!(store.policies().await.unwrap().len(), 2);
    // Removing the holiday and recomputing again changes nothing more for a calendar term.
    store
        .delete_calendar_day(None, Some("RU-TVE"), date!(2026 - 12 - 07), T0)
        .await
        .unwrap();
    let report = store.recompute_deadlines(T0).await.unwrap();
    assert_eq!((report.checked, report.changed), (1, 0));
    assert_eq!(
        outcome(store.put_calendar_days(None, Some("RU-XXX"), &[], T0).await),
        "invalid:unknown_region"
    );
    // History still checks out: deadlines are derived, states are logged.
    let audit = store.audit_log(AuditOptions::default()).await.unwrap();
    assert_eq!(audit.divergence, None, "{audit:?}");
}

pub(super) async fn the_clock_pauses_while_the_citizen_clarifies(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let id = w.submit(store.as_ref(), w.citizen, T0).await;
    act(store.as_ref(), id, w.official, Action::TakeIntoWork, T0).await;
    let monday = datetime!(2026-12-07 07:00 UTC);
    let thursday = datetime!(2026-12-10 07:00 UTC);
    let asked = act(
        store.as_ref(),
        id,
        w.official,
        Action::RequestClarification {
            question: reason("Уточните номер дома"),
        },
        monday,
    )
    .await;
    assert_eq!(asked.to_status, Status::AwaitingClarification);
    let paused = store.submission(id, w.citizen).await.unwrap();
    assert_eq!(paused.paused_at, Some(monday));
    // While paused it is not overdue, even far past the deadline.
    let far = datetime!(2027-02-01 07:00 UTC);
    store.monitor(far, 1).await.unwrap();
    assert_eq!(
        store
            .incidents(&IncidentQuery {
                limit: 50,
                ..Default::default()
            })
            .await
            .unwrap()
            .total,
        0
    );
    // Only the author clarifies; the deadline moves by the 3 working days paused.
    assert_eq!(
        outcome(
            store
                .apply(
                    id,
                    w.official,
                    Action::Clarify {
                        text: answer("Дом 5")
                    },
                    Vec::new(),
                    thursday
                )
                .await
        ),
        "transition:forbidden"
    );
    let clarified = act(
        store.as_ref(),
        id,
        w.citizen,
        Action::Clarify {
            text: answer("Дом 5, подъезд 2"),
        },
        thursday,
    )
    .await;
    assert_eq!(clarified.to_status, Status::InProgress);
    assert_eq!(clarified.deadline_at, datetime!(2026-12-23 20:59:59 UTC));
    // A recompute re-derives the same deadline from the stored pause.
    let report = store.recompute_deadlines(thursday).await.unwrap();
    assert_eq!(report.changed, 0);
    assert_eq!(
        store.submission(id, w.citizen).await.unwrap().paused_at,
        None
    );
}

pub(super) async fn an_appeal_is_extended_once(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let appeal = store
        .register_submission(
            NewSubmission {
                kind: SubmissionKind::Appeal,
                ..w.submission(
                    w.citizen,
                    w.pothole,
                    "Прошу отремонтировать дорогу на улице Ленина",
                )
            },
            T0,
        )
        .await
        .unwrap();
    // 30 days end on Sunday 3 January, inside the holidays: moved back to 30 December.
    assert_eq!(appeal.deadline_at, datetime!(2026-12-30 20:59:59 UTC));
    let extend = || Action::Extend {
        days: ExtensionDays::parse("30").unwrap(),
        reason: reason("Нужна выездная проверка"),
    };
    let extended = act(store.as_ref(), appeal.id, w.official, extend(), T0).await;
    assert_eq!(extended.deadline_at, datetime!(2027-01-29 20:59:59 UTC));
    assert!(
        store
            .submission(appeal.id, w.citizen)
            .await
            .unwrap()
            .extended
    );
    assert_eq!(
        outcome(
            store
                .apply(appeal.id, w.official, extend(), Vec::new(), T0)
                .await
        ),
        "transition:extension_used"
    );
    let message = w.submit(store.as_ref(), w.citizen, T0).await;
    assert_eq!(
        outcome(
            store
                .apply(message, w.official, extend(), Vec::new(), T0)
                .await
        ),
        "transition:not_an_appeal"
    );
    // The extension survives a recompute.
    assert_eq!(store.recompute_deadlines(T0).await.unwrap().changed, 0);
}

pub(super) async fn the_coordinator_moderates_its_region(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let tver = coordinator_of(store.as_ref(), w.region, "centre@tver.ru").await;
    let samara = coordinator_of(store.as_ref(), w.bare_region, "centre@samara.ru").await;
    // Unrouted: the coordinator receives it.
    let id = store
        .register_submission(
            NewSubmission {
                org: w.coordinator,
                ..w.submission(w.citizen, w.lighting, "На самом деле это яма, а не фонарь")
            },
            T0,
        )
        .await
        .unwrap()
        .id;
    let queue = store
        .list(Scope::Region(w.region), &list_query())
        .await
        .unwrap();
    assert!(queue.items.iter().any(|c| c.id == id));
    assert!(store
        .list(Scope::Region(w.bare_region), &list_query())
        .await
        .unwrap()
        .items
        .is_empty());
    let recategorise = Action::Recategorise {
        subcategory: w.pothole,
        reason: reason("Это яма на дороге"),
    };
    assert_eq!(
        outcome(
            store
                .apply(id, samara, recategorise.clone(), Vec::new(), T0)
                .await
        ),
        "not_found"
    );
    let moved = act(
        store.as_ref(),
        id,
        tver,
        recategorise,
        T0 + Duration::hours(1),
    )
    .await;
    assert_eq!(
        (moved.kind, moved.to_org),
        (EventKind::Recategorised, w.org)
    );
    let now = store.submission(id, w.operator).await.unwrap();
    assert_eq!((now.subcategory, now.org), (w.pothole, w.org));
    assert!(now.route.starts_with("region:"), "{}", now.route);
    // The new term starts at the recategorisation.
    assert_eq!(now.deadline_at, TEN_WORKING_DAYS);
    // An answer the coordinator returns is an incident.
    act(store.as_ref(), id, w.official, Action::TakeIntoWork, T0).await;
    act(
        store.as_ref(),
        id,
        w.official,
        Action::Answer {
            text: answer("Отремонтируем весной"),
        },
        T0,
    )
    .await;
    let returned = act(
        store.as_ref(),
        id,
        tver,
        Action::ReturnAnswer {
            reason: reason("Нет сроков работ"),
        },
        T0,
    )
    .await;
    assert_eq!(returned.to_status, Status::InProgress);
    let page = store
        .incidents(&IncidentQuery {
            region: Some(w.region),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].kind, IncidentKind::AnswerRejected);
    // Left with the coordinator past one working day: late moderation, once.
    let waiting = store
        .register_submission(
            NewSubmission {
                org: w.coordinator,
                ..w.submission(w.citizen, w.lighting, "Не горит фонарь во дворе дома 9")
            },
            T0,
        )
        .await
        .unwrap()
        .id;
    let tuesday = datetime!(2026-12-08 07:00 UTC);
    assert_eq!(store.monitor(tuesday, 1).await.unwrap().incidents, 1);
    assert_eq!(store.monitor(tuesday, 1).await.unwrap().incidents, 0);
    let late = store
        .incidents(&IncidentQuery {
            kind: Some(IncidentKind::LateModeration),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(late.items[0].submission(), Some(waiting));
    assert_eq!(
        late.items[0].due_at,
        Some(datetime!(2026-12-07 20:59:59 UTC))
    );
}

pub(super) async fn an_appeal_redirected_late_is_an_incident(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let appeal = store
        .register_submission(
            NewSubmission {
                kind: SubmissionKind::Appeal,
                ..w.submission(
                    w.citizen,
                    w.pothole,
                    "Прошу отремонтировать дорогу на улице Ленина",
                )
            },
            T0,
        )
        .await
        .unwrap()
        .id;
    let on_time = store
        .register_submission(
            NewSubmission {
                kind: SubmissionKind::Appeal,
                ..w.submission(
                    w.citizen,
                    w.pothole,
                    "Прошу отремонтировать тротуар на улице Ленина",
                )
            },
            T0,
        )
        .await
        .unwrap()
        .id;
    let redirect = || Action::Redirect {
        to: w.other_org,
        reason: reason("Дорога в ведении Самары"),
    };
    act(
        store.as_ref(),
        on_time,
        w.official,
        redirect(),
        T0 + Duration::days(6),
    )
    .await;
    act(
        store.as_ref(),
        appeal,
        w.official,
        redirect(),
        T0 + Duration::days(8),
    )
    .await;
    let page = store
        .incidents(&IncidentQuery {
            kind: Some(IncidentKind::LateRedirect),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].submission(), Some(appeal));
    assert_eq!(
        page.items[0].org,
        Some(w.org),
        "the organisation that was late"
    );
    assert_eq!(
        page.items[0].due_at,
        Some(datetime!(2026-12-11 20:59:59 UTC))
    );
}

pub(super) async fn the_monitor_warns_and_records_breaches_once(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let first = w.submit(store.as_ref(), w.citizen, T0).await;
    let second = w.submit(store.as_ref(), w.citizen, T0).await;
    let rated = w.submit(store.as_ref(), w.citizen, T0).await;
    act(store.as_ref(), rated, w.official, Action::TakeIntoWork, T0).await;
    act(
        store.as_ref(),
        rated,
        w.official,
        Action::Answer {
            text: answer("Готово"),
        },
        T0,
    )
    .await;
    act(
        store.as_ref(),
        rated,
        w.citizen,
        Action::Rate {
            score: score(1),
            comment: None,
        },
        T0,
    )
    .await;
    // A working day before the deadline: warned once.
    let thursday = datetime!(2026-12-17 07:00 UTC);
    let report = store.monitor(thursday, 1).await.unwrap();
    assert_eq!((report.warnings, report.incidents), (2, 0));
    assert!(store.warned(first).await.unwrap());
    assert_eq!(store.monitor(thursday, 1).await.unwrap().warnings, 0);
    // After it: a late-answer incident per open submission, once.
    let saturday = datetime!(2026-12-19 07:00 UTC);
    assert_eq!(store.monitor(saturday, 1).await.unwrap().incidents, 2);
    assert_eq!(store.monitor(saturday, 1).await.unwrap().incidents, 0);
    let all = store
        .incidents(&IncidentQuery {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.total, 3);
    let count = |kind| {
        all.by_kind
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, n)| *n)
    };
    assert_eq!(count(IncidentKind::LateAnswer), Some(2));
    assert_eq!(count(IncidentKind::LowRating), Some(1));
    assert_eq!(count(IncidentKind::LateRedirect), Some(0));
    let late: Vec<_> = all
        .items
        .iter()
        .filter(|i| i.kind == IncidentKind::LateAnswer)
        .filter_map(|i| i.submission())
        .collect();
    assert!(late.contains(&first) && late.contains(&second));
    // Filters; resolution once; the analyst's aggregates.
    let other = store
        .incidents(&IncidentQuery {
            region: Some(w.bare_region),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(other.total, 0);
    let incident = all.items[0].id;
    store
        .resolve_incident(
            w.operator.user,
            incident,
            &reason("Ответ дан, срок нарушен по вине подрядчика"),
            saturday,
        )
        .await
        .unwrap();
    assert_eq!(
        outcome(
            store
                .resolve_incident(w.operator.user, incident, &reason("Ещё раз"), saturday)
                .await
        ),
        "conflict:already_resolved"
    );
    let open = store
        .incidents(&IncidentQuery {
            resolved: Some(false),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.total, 2);
    let summaries = store.region_summaries(saturday).await.unwrap();
    let tver = summaries.iter().find(|s| s.region == w.region).unwrap();
    assert_eq!(
        (tver.open, tver.overdue, tver.answered, tver.incidents_open),
        (2, 2, 1, 2)
    );
    // The first page of overdue and soon-due work, earliest first.
    let due = store
        .due(
            Scope::Organisation(w.org),
            saturday,
            saturday + Duration::days(3),
            25,
        )
        .await
        .unwrap();
    assert_eq!(
        due.overdue.iter().map(|c| c.id).collect::<Vec<_>>(),
        [first, second]
    );
    assert!(due.soon.is_empty());
    // Incidents are in the log, and the log still audits clean.
    let audit = store.audit_log(AuditOptions::default()).await.unwrap();
    assert_eq!(audit.divergence, None, "{audit:?}");
    let leaves = store.leaves(0, 100).await.unwrap();
    let incidents = leaves
        .iter()
        .filter(|l| String::from_utf8_lossy(&l.data).contains("\"event\":\"incident\""))
        .count();
    assert_eq!(incidents, 3);
}

pub(super) async fn organisations_and_catalogue_are_edited_on_record(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let edit = |name: &str, parent: Option<OrgId>| OrganisationEdit {
        name: name.to_owned(),
        kind: "institution".to_owned(),
        region: Some(w.region),
        municipality: None,
        parent,
        is_coordinator: false,
        utc_offset_minutes: 180,
    };
    let school = store
        .put_organisation(
            Some(w.operator.user),
            None,
            &edit("Школа № 1", Some(w.org)),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        store.organisation(school).await.unwrap().parent,
        Some(w.org)
    );
    // A ministry cannot be put under its own school.
    assert_eq!(
        outcome(
            store
                .put_organisation(
                    None,
                    Some(w.org),
                    &OrganisationEdit {
                        kind: "regional_body".into(),
                        ..edit("Министерство транспорта", Some(school))
                    },
                    T0
                )
                .await
        ),
        "invalid:parent_cycle"
    );
    assert_eq!(
        outcome(
            store
                .put_organisation(
                    None,
                    None,
                    &OrganisationEdit {
                        kind: "bank".into(),
                        ..edit("Банк", None)
                    },
                    T0
                )
                .await
        ),
        "invalid:unknown_organisation_kind"
    );
    store
        .put_organisation(
            Some(w.operator.user),
            Some(school),
            &edit("Школа № 1 им. Пушкина", Some(w.org)),
            T0,
        )
        .await
        .unwrap();
    let category = store
        .put_category(Some(w.operator.user), None, "Образование", T0)
        .await
        .unwrap();
    let sub = store
        .put_subcategory(
            Some(w.operator.user),
            None,
            category,
            "Школьное питание",
            &FormSpec::default(),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        store.subcategory(sub).await.unwrap().name,
        "Школьное питание"
    );
    let changes = store.config_changes(50, 0).await.unwrap();
    let kinds: Vec<&str> = changes.iter().map(|c| c.entity.as_str()).collect();
    // Newest first; the world's own routing rules were recorded before.
    assert_eq!(
        kinds,
        [
            "subcategory",
            "category",
            "organisation",
            "organisation",
            "route",
            "route"
        ]
    );
    let renamed = &changes[2];
    assert!(renamed.before.as_deref().unwrap().contains("Школа № 1\""));
    assert!(renamed.after.as_deref().unwrap().contains("им. Пушкина"));
}
