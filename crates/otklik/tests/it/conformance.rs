//! The conformance suite of `Store`: one set of scenarios, run against a fresh SQLite file
//! and a fresh PostgreSQL database (see `pg.rs`), so that both backends behave alike.
//! Test data is created through the trait only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use otklik_domain::attachment::Attachment;
use otklik_domain::form::{FormSpec, FormValues};
use otklik_domain::lifecycle::{
    Action, Actor, Channel, EventKind, RejectionGround, Role, Score, Status, SubmissionKind,
    TransitionError,
};
use otklik_domain::text::{AnswerText, Email, PersonName, RatingComment, Reason, SubmissionText};
use otklik_domain::*;
use otklik_store::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

// --- the two backends ---------------------------------------------------------------------

/// Runs every scenario against both backends: `conformance::sqlite::<name>` and
/// `conformance::postgres::<name>`. Scenarios get the store; those listed after `url:`
/// also get the database URL, to open more stores on it. Those after `postgres_url:`
/// run on PostgreSQL only (what SQLite cannot meet) and get only the URL.
macro_rules! conformance {
    (
        store: [$($name:ident),* $(,)?],
        url: [$($url_name:ident),* $(,)?],
        postgres_url: [$($pg_name:ident),* $(,)?] $(,)?
    ) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::SqliteDb::create();
                    super::$name(super::open(&db.url, "sqlite").await).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $url_name() {
                    let db = super::SqliteDb::create();
                    super::$url_name(super::open(&db.url, "sqlite").await, &db.url).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::pg::TestDb::create().await;
                    super::$name(super::open(&db.url, "postgres").await).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $url_name() {
                    let db = crate::pg::TestDb::create().await;
                    super::$url_name(super::open(&db.url, "postgres").await, &db.url).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $pg_name() {
                    let db = crate::pg::TestDb::create().await;
                    super::$pg_name(&db.url).await;
                }
            )*
        }
    };
}

conformance!(
    store: [
        reference_data_and_catalogue,
        routing,
        users,
        sessions,
        server_secret,
        register,
        register_refuses_unknown_references,
        full_life,
        refusals_change_nothing,
        redirect,
        lists,
        kept_list_counts_match_the_rows,
        file_access,
        personal_data_log,
        concurrent_actions,
        actions_arriving_together_each_get_their_own_answer,
        log_records_every_event,
        log_proofs_and_receipts,
        log_refusals_append_nothing,
        log_hash_is_fixed_at_the_first_leaf,
        log_concurrent_appends,
        registrations_at_once_commit_together_and_refuse_alone,
        routing_by_specificity,
        deadlines_follow_policies_and_calendars,
        the_clock_pauses_while_the_citizen_clarifies,
        an_appeal_is_extended_once,
        the_coordinator_moderates_its_region,
        an_appeal_redirected_late_is_an_incident,
        the_monitor_warns_and_records_breaches_once,
        organisations_and_catalogue_are_edited_on_record,
        lockout_counts_failures_and_a_success_clears_them,
        provider_identities_make_one_account_per_person,
        pending_provider_logins_are_taken_once,
        integration_clients_get_scoped_sessions_until_revoked,
        staff_and_widget_sites_are_managed_on_record,
        the_outbox_is_written_with_the_routing,
        pushes_retry_then_alert_once,
        concurrent_push_outcomes_of_one_organisation_all_count,
        the_pull_queue_hides_and_returns_messages,
        idempotency_keys_replay_the_first_answer,
        lists_filter_by_channel_site_state_and_dates,
        notifications_are_written_with_the_event,
        notifications_are_claimed_under_a_lease_and_finished_once,
        notifications_digests_go_per_person_when_the_oldest_is_due,
        notifications_follow_choices_and_reachability,
        notifications_are_marked_read_by_their_owner_only,
        notifications_campaign_audience_by_region_age_and_verification,
        notifications_campaign_commands_claims_and_counters,
        notifications_campaign_opt_outs_and_openings,
        documents_sequential_route_completes_and_delivers,
        documents_parallel_decline_and_expiry,
        documents_only_the_author_moves_a_draft,
        documents_certificates_and_key_uses,
        documents_one_signature_per_slot_under_concurrency,
        search_feed_follows_the_log,
        search_feed_brings_incidents_social_incidents_and_posts,
        answer_templates_are_the_organisations_own,
        polls_one_person_one_vote_under_concurrency,
        polls_batches_receipts_close_and_recount,
        polls_option_photos_add_list_remove_and_limits,
        polls_option_photos_are_reordered_without_loss,
        polls_live_results_are_copied_coarsely,
        discussions_comments_moderation_and_support,
        discussions_comments_are_paged_by_id,
        analytics_follower_agrees_with_a_rebuild,
        analytics_kept_sums_follow_every_write,
        quality_feed_reads_ratings_by_cursor_and_leases_the_push,
        quality_feed_carries_posts_that_judge_a_service,
        export_jobs_are_leased_resumed_and_private,
        export_jobs_refuse_a_stale_lease_and_finish_under_the_new_one,
        export_jobs_a_stalled_writer_racing_a_takeover_mixes_nothing,
        export_jobs_sweep_expires_only_old_finished_files,
        social_receive_is_idempotent_and_keeps_the_cursor,
        social_inbox_to_incidents,
        social_duplicates_and_clusters,
        social_actions_follow_the_rules,
        social_monitor_records_breaches_once,
        social_queue_reach,
        social_concurrent_actions_one_wins,
        social_poll_leases_give_a_source_to_one_node,
        social_concurrent_ingests_share_one_incident,
        social_batch_sees_its_own_earlier_posts,
        social_analytics_follower_agrees_with_a_rebuild,
        duplicates_follow_their_primary_and_each_keeps_its_own_rating,
        merges_that_break_the_rules_change_nothing,
        crossed_merges_at_once_one_wins,
        public_messages_are_shown_and_followed,
    ],
    url: [reopening_the_store, opening_waits_for_another_writer, statistics_follow_a_grown_table, log_audit_detects_edits, documents_log_audit_detects_edited_documents],
    postgres_url: [
        polls_a_commit_whose_answer_is_lost_answers_what_is_stored,
        polls_a_commit_the_server_finishes_late_is_waited_for,
        polls_a_connection_lost_before_commit_stores_nothing,
        polls_a_session_that_stays_is_ended_and_its_batch_not_stored,
    ],
);

mod analytics;
mod deadlines;
mod deliveries;
mod discussions;
mod documents;
mod duplicates;
mod exports;
mod identity;
mod ledger;
mod notifications;
mod polls;
mod quality_social;
mod search;
mod social;
mod templates;
use analytics::*;
use deadlines::*;
use deliveries::*;
use discussions::*;
use documents::*;
use duplicates::*;
use exports::*;
use identity::*;
use ledger::*;
use notifications::*;
use polls::*;
use quality_social::*;
use search::*;
use social::*;
use templates::*;

async fn open(url: &str, backend: &str) -> Arc<dyn Store> {
    let store = otklik_store::open(url)
        .await
        .unwrap_or_else(|e| panic!("open {backend} store: {e:?}"));
    assert_eq!(store.backend(), backend);
    store
}

/// A database file in a directory of its own (which does not exist yet: `open` creates
/// it), removed afterwards.
struct SqliteDb {
    dir: std::path::PathBuf,
    url: String,
}

impl SqliteDb {
    fn create() -> Self {
        let dir = std::env::temp_dir().join(format!("otklik-test-{:016x}", rand::random::<u64>()));
        let url = format!("sqlite://{}", dir.join("data").join("otklik.db").display());
        Self { dir, url }
    }
}

impl Drop for SqliteDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// --- test data -------------------------------------------------------------------------------

/// Friday 4 December 2026, 10:00 in Moscow.
const T0: OffsetDateTime = datetime!(2026-12-04 07:00 UTC);
const PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
const PNG_SHA256: &str = "2aa4fa20701cdd6d8d56046069001186b5267e3ee7d0ef618ad2f4a683723e11";
const PDF_SHA256: &str = "fcb1663257eb4fadd87c736c912bcf40d4f710ddb1fb79a96b9addfd327e3039";

/// A real PNG without metadata: stored exactly as uploaded.
fn png_bytes() -> Vec<u8> {
    crate::support::PNG_1X1.to_vec()
}

fn pdf_bytes() -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend("тест".as_bytes());
    bytes.extend([0, 255, 0, 13, 10]);
    bytes
}

fn png(name: &str) -> Attachment {
    Attachment::parse(name, png_bytes()).unwrap()
}

fn pdf(name: &str) -> Attachment {
    Attachment::parse(name, pdf_bytes()).unwrap()
}

fn text(s: &str) -> SubmissionText {
    SubmissionText::parse(s).unwrap()
}

fn answer(s: &str) -> AnswerText {
    AnswerText::parse(s).unwrap()
}

fn reason(s: &str) -> Reason {
    Reason::parse(s).unwrap()
}

fn score(v: u8) -> Score {
    Score::new(v).unwrap()
}

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

fn form_spec() -> FormSpec {
    FormSpec::from_json(
        r#"{"fields":[
            {"key":"route","label":"Номер маршрута","kind":"text","required":true},
            {"key":"stop","label":"Остановка","kind":"select","options":["Центр","Вокзал"]}
        ],"photo_required":false}"#,
    )
    .unwrap()
}

fn fields(route: &str) -> FormValues {
    FormValues::from_stored(BTreeMap::from([("route".to_owned(), route.to_owned())]))
}

/// A compact rendering of a result, for `assert_eq!`.
fn outcome<T>(result: StoreResult<T>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(StoreError::NotFound) => "not_found".to_owned(),
        Err(StoreError::Conflict(code)) => format!("conflict:{code}"),
        Err(StoreError::InvalidReference(code)) => format!("invalid:{code}"),
        Err(StoreError::Transition(t)) => format!("transition:{}", t.code()),
        Err(e) => format!("error:{e}"),
    }
}

fn transition(error: TransitionError) -> String {
    format!("transition:{}", error.code())
}

fn list_query() -> ListQuery {
    ListQuery::new(T0)
}

/// A region with a regional body, a second body in another time zone, a coordinator,
/// two categories, and people of every role.
struct World {
    region: RegionId,
    /// A region without a coordinator.
    bare_region: RegionId,
    org: OrgId,
    other_org: OrgId,
    coordinator: OrgId,
    transport: CategoryId,
    roads: CategoryId,
    /// Under `transport`, routed to `org`.
    bus: SubcategoryId,
    /// Under `roads`, routed to `org`.
    pothole: SubcategoryId,
    /// Under `roads`, not routed (the coordinator receives it).
    lighting: SubcategoryId,
    citizen: Actor,
    other_citizen: Actor,
    official: Actor,
    other_official: Actor,
    operator: Actor,
}

impl World {
    /// The citizen's pothole report with one photo, registered at `T0`.
    async fn register_pothole_with_photo(&self, store: &dyn Store) -> SubmissionId {
        let submission = NewSubmission {
            attachments: vec![png("photo.png")],
            ..self.submission(
                self.citizen,
                self.pothole,
                "Яма на дороге у дома 5 по улице Ленина",
            )
        };
        store.register_submission(submission, T0).await.unwrap().id
    }

    async fn new(store: &dyn Store) -> Self {
        let region = store
            .create_region(NewRegion {
                code: "RU-TVE".to_owned(),
                name: "Тверская область".to_owned(),
                utc_offset_minutes: 180,
            })
            .await
            .unwrap();
        let bare_region = store
            .create_region(NewRegion {
                code: "RU-SAM".to_owned(),
                name: "Самарская область".to_owned(),
                utc_offset_minutes: 240,
            })
            .await
            .unwrap();
        let org = store
            .create_organisation(NewOrganisation {
                name: "Министерство транспорта".to_owned(),
                kind: "regional_body".to_owned(),
                region: Some(region),
                is_coordinator: false,
                utc_offset_minutes: 180,
            })
            .await
            .unwrap();
        let other_org = store
            .create_organisation(NewOrganisation {
                name: "Администрация Самары".to_owned(),
                kind: "local_government".to_owned(),
                region: Some(bare_region),
                is_coordinator: false,
                utc_offset_minutes: 240,
            })
            .await
            .unwrap();
        let coordinator = store
            .create_organisation(NewOrganisation {
                name: "ЦУР Тверской области".to_owned(),
                kind: "coordinator".to_owned(),
                region: Some(region),
                is_coordinator: true,
                utc_offset_minutes: 180,
            })
            .await
            .unwrap();
        let transport = store.create_category("Транспорт", 1).await.unwrap();
        let roads = store.create_category("Дороги", 2).await.unwrap();
        let bus = store
            .create_subcategory(transport, "Автобусы", &form_spec(), 1)
            .await
            .unwrap();
        let pothole = store
            .create_subcategory(roads, "Ямы", &FormSpec::default(), 1)
            .await
            .unwrap();
        let lighting = store
            .create_subcategory(roads, "Освещение", &FormSpec::default(), 2)
            .await
            .unwrap();
        store.set_route(bus, region, org).await.unwrap();
        store.set_route(pothole, region, org).await.unwrap();

        let person = |mail: &str, name: &str, role: Role| NewUser {
            email: email(mail),
            password_hash: PASSWORD_HASH.to_owned(),
            full_name: PersonName::parse(name).unwrap(),
            role,
            verification: otklik_domain::access::Verification::Verified,
        };
        let actor = |user, role| Actor { user, role };
        let citizen = store
            .create_user(person("ivan@example.ru", "Иван Петров", Role::Citizen))
            .await
            .unwrap();
        let other_citizen = store
            .create_user(person("olga@example.ru", "Ольга Смирнова", Role::Citizen))
            .await
            .unwrap();
        let official = store
            .create_user(person("clerk@tver.ru", "Пётр Сидоров", Role::Official(org)))
            .await
            .unwrap();
        let other_official = store
            .create_user(person(
                "clerk@samara.ru",
                "Анна Кузнецова",
                Role::Official(other_org),
            ))
            .await
            .unwrap();
        let operator = store
            .create_user(person("operator@otklik.ru", "Оператор", Role::Operator))
            .await
            .unwrap();
        Self {
            region,
            bare_region,
            org,
            other_org,
            coordinator,
            transport,
            roads,
            bus,
            pothole,
            lighting,
            citizen: actor(citizen, Role::Citizen),
            other_citizen: actor(other_citizen, Role::Citizen),
            official: actor(official, Role::Official(org)),
            other_official: actor(other_official, Role::Official(other_org)),
            operator: actor(operator, Role::Operator),
        }
    }

    fn submission(&self, author: Actor, subcategory: SubcategoryId, body: &str) -> NewSubmission {
        NewSubmission {
            kind: SubmissionKind::Message,
            author: author.user,
            subcategory,
            region: self.region,
            municipality: None,
            org: self.org,
            text: text(body),
            fields: if subcategory == self.bus {
                fields("21")
            } else {
                FormValues::default()
            },
            attachments: Vec::new(),
            channel: Default::default(),
            origin: None,
            public: false,
        }
    }

    /// Registers a message from `author` to `org`.
    async fn submit(&self, store: &dyn Store, author: Actor, at: OffsetDateTime) -> SubmissionId {
        store
            .register_submission(
                self.submission(
                    author,
                    self.pothole,
                    "Яма на дороге у дома 5 по улице Ленина",
                ),
                at,
            )
            .await
            .unwrap()
            .id
    }
}

async fn act(
    store: &dyn Store,
    id: SubmissionId,
    actor: Actor,
    action: Action,
    at: OffsetDateTime,
) -> EventRecord {
    let name = action.name();
    store
        .apply(id, actor, action, Vec::new(), at)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

// --- scenarios -------------------------------------------------------------------------------

async fn reference_data_and_catalogue(store: Arc<dyn Store>) {
    let store = store.as_ref();
    store.health().await.unwrap();

    let tver = store
        .create_region(NewRegion {
            code: "RU-TVE".to_owned(),
            name: "Тверская область".to_owned(),
            utc_offset_minutes: 180,
        })
        .await
        .unwrap();
    let amur = store
        .create_region(NewRegion {
            code: "RU-AMU".to_owned(),
            name: "Амурская область".to_owned(),
            utc_offset_minutes: 540,
        })
        .await
        .unwrap();
    let duplicate = store
        .create_region(NewRegion {
            code: "RU-TVE".to_owned(),
            name: "Другая".to_owned(),
            utc_offset_minutes: 180,
        })
        .await;
    assert_eq!(outcome(duplicate), "conflict:region_code_taken");
    let regions = store.regions().await.unwrap();
    assert_eq!(
        regions,
        vec![
            Region {
                id: amur,
                code: "RU-AMU".to_owned(),
                name: "Амурская область".to_owned(),
                utc_offset_minutes: 540,
                okato: None,
                federal_district: None,
            },
            Region {
                id: tver,
                code: "RU-TVE".to_owned(),
                name: "Тверская область".to_owned(),
                utc_offset_minutes: 180,
                okato: None,
                federal_district: None,
            },
        ]
    );

    let ministry = NewOrganisation {
        name: "Министерство".to_owned(),
        kind: "regional_body".to_owned(),
        region: Some(tver),
        is_coordinator: false,
        utc_offset_minutes: 180,
    };
    let ministry_id = store.create_organisation(ministry.clone()).await.unwrap();
    let federal_id = store
        .create_organisation(NewOrganisation {
            name: "Федеральное ведомство".to_owned(),
            kind: "federal_body".to_owned(),
            region: None,
            is_coordinator: false,
            utc_offset_minutes: 180,
        })
        .await
        .unwrap();
    let centre_id = store
        .create_organisation(NewOrganisation {
            name: "ЦУР".to_owned(),
            kind: "coordinator".to_owned(),
            region: Some(amur),
            is_coordinator: true,
            utc_offset_minutes: 540,
        })
        .await
        .unwrap();
    let centre = store.organisation(centre_id).await.unwrap();
    assert_eq!(
        centre,
        Organisation {
            id: centre_id,
            name: "ЦУР".to_owned(),
            kind: "coordinator".to_owned(),
            region: Some(amur),
            is_coordinator: true,
            utc_offset_minutes: 540,
            parent: None,
            municipality: None,
        }
    );
    let federal = store.organisation(federal_id).await.unwrap();
    assert_eq!((federal.region, federal.is_coordinator), (None, false));
    let names: Vec<_> = store
        .organisations()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(names.len(), 3);
    assert!(names.contains(&ministry_id));
    assert_eq!(outcome(store.organisation(OrgId(9_999)).await), "not_found");
    let orphan = store
        .create_organisation(NewOrganisation {
            region: Some(RegionId(9_999)),
            ..ministry.clone()
        })
        .await;
    assert_eq!(outcome(orphan), "invalid:unknown_region");
    let bad_zone = store
        .create_organisation(NewOrganisation {
            utc_offset_minutes: 100_000,
            ..ministry
        })
        .await;
    assert_eq!(outcome(bad_zone), "invalid:invalid_utc_offset");

    // Created out of order: the catalogue follows positions, then ids.
    let roads = store.create_category("Дороги", 2).await.unwrap();
    let transport = store.create_category("Транспорт", 1).await.unwrap();
    let empty = store.create_category("Прочее", 3).await.unwrap();
    let lighting = store
        .create_subcategory(roads, "Освещение", &FormSpec::default(), 2)
        .await
        .unwrap();
    let pothole = store
        .create_subcategory(roads, "Ямы", &FormSpec::default(), 1)
        .await
        .unwrap();
    let bus = store
        .create_subcategory(transport, "Автобусы", &form_spec(), 1)
        .await
        .unwrap();
    let tram = store
        .create_subcategory(transport, "Трамваи", &FormSpec::default(), 1)
        .await
        .unwrap();
    let missing = store
        .create_subcategory(CategoryId(9_999), "Нет", &FormSpec::default(), 1)
        .await;
    assert_eq!(outcome(missing), "invalid:unknown_category");

    let catalogue = store.catalogue().await.unwrap();
    let shape: Vec<(CategoryId, Vec<SubcategoryId>)> = catalogue
        .iter()
        .map(|c| (c.id, c.subcategories.iter().map(|s| s.id).collect()))
        .collect();
    assert_eq!(
        shape,
        vec![
            (transport, vec![bus, tram]),
            (roads, vec![pothole, lighting]),
            (empty, vec![]),
        ]
    );
    assert_eq!(catalogue[0].name, "Транспорт");
    let stored_bus = store.subcategory(bus).await.unwrap();
    assert_eq!(
        stored_bus,
        Subcategory {
            id: bus,
            category: transport,
            category_name: "Транспорт".to_owned(),
            name: "Автобусы".to_owned(),
            form: form_spec(),
        }
    );
    assert_eq!(catalogue[0].subcategories[0], stored_bus);
    assert_eq!(
        outcome(store.subcategory(SubcategoryId(9_999)).await),
        "not_found"
    );
}

async fn routing(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let w = World::new(store).await;
    assert_eq!(store.route(w.pothole, w.region).await.unwrap(), w.org);
    // No rule: the region's coordinator.
    assert_eq!(
        store.route(w.lighting, w.region).await.unwrap(),
        w.coordinator
    );
    // No rule, no coordinator.
    assert_eq!(
        outcome(store.route(w.pothole, w.bare_region).await),
        "invalid:no_route"
    );
    // A rule in a region without a coordinator; a rule replaced.
    store
        .set_route(w.pothole, w.bare_region, w.other_org)
        .await
        .unwrap();
    assert_eq!(
        store.route(w.pothole, w.bare_region).await.unwrap(),
        w.other_org
    );
    store
        .set_route(w.pothole, w.region, w.coordinator)
        .await
        .unwrap();
    assert_eq!(
        store.route(w.pothole, w.region).await.unwrap(),
        w.coordinator
    );
    assert_eq!(
        outcome(store.set_route(w.pothole, w.region, OrgId(9_999)).await),
        "invalid:unknown_organisation"
    );
    assert_eq!(
        outcome(store.set_route(SubcategoryId(9_999), w.region, w.org).await),
        "invalid:unknown_subcategory"
    );
    assert_eq!(
        outcome(store.set_route(w.pothole, RegionId(9_999), w.org).await),
        "invalid:unknown_region"
    );
    assert_eq!(
        store.route(w.pothole, w.region).await.unwrap(),
        w.coordinator
    );
}

async fn users(store: Arc<dyn Store>) {
    let store = store.as_ref();
    assert!(!store.has_users().await.unwrap());
    let org = store
        .create_organisation(NewOrganisation {
            name: "Министерство".to_owned(),
            kind: "regional_body".to_owned(),
            region: None,
            is_coordinator: false,
            utc_offset_minutes: 180,
        })
        .await
        .unwrap();
    let new = |mail: &str, role: Role| NewUser {
        email: email(mail),
        password_hash: PASSWORD_HASH.to_owned(),
        full_name: PersonName::parse("Иван Петров").unwrap(),
        role,
        verification: otklik_domain::access::Verification::Standard,
    };
    // Addresses are stored as parsed: trimmed and lower-cased.
    let ivan = store
        .create_user(new(" Ivan@Example.RU ", Role::Citizen))
        .await
        .unwrap();
    assert!(store.has_users().await.unwrap());
    let found = store
        .user_by_email(&email("ivan@example.ru"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found,
        UserRecord {
            id: ivan,
            email: "ivan@example.ru".to_owned(),
            full_name: "Иван Петров".to_owned(),
            role: Role::Citizen,
            password_hash: PASSWORD_HASH.to_owned(),
            verification: otklik_domain::access::Verification::Standard,
            locked_until: None,
            disabled: false,
        }
    );
    assert_eq!(store.user(ivan).await.unwrap(), found);
    assert_eq!(
        outcome(
            store
                .create_user(new("IVAN@example.ru", Role::Operator))
                .await
        ),
        "conflict:email_taken"
    );
    assert!(store
        .user_by_email(&email("nobody@example.ru"))
        .await
        .unwrap()
        .is_none());
    assert_eq!(outcome(store.user(UserId(9_999)).await), "not_found");

    let clerk = store
        .create_user(new("clerk@example.ru", Role::Official(org)))
        .await
        .unwrap();
    let operator = store
        .create_user(new("operator@example.ru", Role::Operator))
        .await
        .unwrap();
    assert_eq!(store.user(clerk).await.unwrap().role, Role::Official(org));
    assert_eq!(store.user(operator).await.unwrap().role, Role::Operator);
    assert_eq!(
        outcome(
            store
                .create_user(new("ghost@example.ru", Role::Official(OrgId(9_999))))
                .await
        ),
        "invalid:unknown_organisation"
    );
}

async fn sessions(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let w = World::new(store).await;
    let token = [7u8; 32];
    let other = [8u8; 32];
    let expires = T0 + Duration::hours(1);
    store
        .create_session(&token, w.official.user, expires)
        .await
        .unwrap();
    store
        .create_session(&other, w.citizen.user, expires)
        .await
        .unwrap();
    let user = store
        .session(&token, T0)
        .await
        .unwrap()
        .map(|s| s.user)
        .unwrap();
    assert_eq!(
        (user.id, user.role, user.email.as_str()),
        (w.official.user, w.official.role, "clerk@tver.ru")
    );
    let just_before = expires - Duration::seconds(1);
    assert!(store
        .session(&token, just_before)
        .await
        .unwrap()
        .map(|s| s.user)
        .is_some());
    assert!(store
        .session(&token, expires)
        .await
        .unwrap()
        .map(|s| s.user)
        .is_none());
    assert!(store
        .session(&token, expires + Duration::days(1))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .session(&[9u8; 32], T0)
        .await
        .unwrap()
        .map(|s| s.user)
        .is_none());

    store.delete_session(&token).await.unwrap();
    assert!(store
        .session(&token, T0)
        .await
        .unwrap()
        .map(|s| s.user)
        .is_none());
    // Deleting is idempotent and touches no other session.
    store.delete_session(&token).await.unwrap();
    assert_eq!(
        store
            .session(&other, T0)
            .await
            .unwrap()
            .map(|s| s.user)
            .map(|u| u.id),
        Some(w.citizen.user)
    );
    assert_eq!(
        outcome(
            store
                .create_session(&[1u8; 32], UserId(9_999), expires)
                .await
        ),
        "invalid:unknown_user"
    );
}

async fn server_secret(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let first = store.server_secret(&[1u8; 32]).await.unwrap();
    assert_eq!(first, vec![1u8; 32]);
    let second = store.server_secret(&[2u8; 32]).await.unwrap();
    assert_eq!(second, first);
}

async fn register(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let w = World::new(store).await;
    let at = T0 + Duration::milliseconds(250);
    let new = NewSubmission {
        attachments: vec![png("../../photo.png"), pdf("схема.pdf")],
        ..w.submission(
            w.citizen,
            w.bus,
            "Автобус 21 не пришёл утром, ждали сорок минут",
        )
    };
    let registered = store.register_submission(new, at).await.unwrap();
    let id = registered.id;
    // Friday 4 December + 10 working days = Friday 18 December, 23:59:59 in Moscow.
    let deadline = datetime!(2026-12-18 20:59:59 UTC);
    assert_eq!(
        registered,
        Registered {
            id,
            number: RegistrationNumber::new(id, T0),
            org: w.org,
            deadline_at: deadline,
        }
    );
    assert_eq!(registered.number.to_string(), format!("2026-{:07}", id.0));

    let detail = store.submission(id, w.citizen).await.unwrap();
    assert_eq!(detail.number, registered.number);
    assert_eq!(detail.kind, SubmissionKind::Message);
    assert_eq!(detail.status, Status::Registered);
    assert_eq!(
        (
            detail.author,
            detail.author_name.as_str(),
            detail.author_email.as_str()
        ),
        (w.citizen.user, "Иван Петров", "ivan@example.ru")
    );
    assert_eq!(
        (
            detail.category_name.as_str(),
            detail.subcategory,
            detail.subcategory_name.as_str()
        ),
        ("Транспорт", w.bus, "Автобусы")
    );
    assert_eq!(
        (detail.region, detail.region_name.as_str()),
        (w.region, "Тверская область")
    );
    assert_eq!(
        (detail.org, detail.org_name.as_str()),
        (w.org, "Министерство транспорта")
    );
    assert_eq!((detail.round, detail.rating), (1, None));
    assert_eq!(detail.text, "Автобус 21 не пришёл утром, ждали сорок минут");
    assert_eq!(detail.fields, fields("21"));
    // Instants are kept in whole seconds.
    assert_eq!(
        (detail.created_at, detail.updated_at, detail.deadline_at),
        (T0, T0, deadline)
    );

    assert_eq!(detail.events.len(), 1);
    let event = &detail.events[0];
    assert_eq!(
        event,
        &EventRecord {
            id: event.id,
            submission: id,
            kind: EventKind::Registered,
            actor: Some(w.citizen.user),
            actor_name: Some("Иван Петров".to_owned()),
            at: T0,
            from_status: None,
            to_status: Status::Registered,
            from_org: None,
            to_org: w.org,
            to_org_name: "Министерство транспорта".to_owned(),
            reason: None,
            body: None,
            ground: None,
            score: None,
            deadline_at: deadline,
            files: Vec::new(),
            related: None,
        }
    );

    let files = &detail.attachments;
    assert_eq!(files.len(), 2);
    assert_eq!(
        (
            files[0].name.as_str(),
            files[0].mime.as_str(),
            files[0].size,
            files[0].sha256.as_str(),
            files[0].event
        ),
        ("photo.png", "image/png", 68, PNG_SHA256, None)
    );
    assert_eq!(
        (
            files[1].name.as_str(),
            files[1].mime.as_str(),
            files[1].size,
            files[1].sha256.as_str(),
            files[1].event
        ),
        ("схема.pdf", "application/pdf", 22, PDF_SHA256, None)
    );
    let photo = store.file(files[0].id, w.citizen).await.unwrap();
    assert_eq!(photo.bytes, png_bytes());
    assert_eq!(photo.meta, files[0]);
    assert_eq!(photo.submission, id);
    let scheme = store.file(files[1].id, w.official).await.unwrap();
    assert_eq!(scheme.bytes, pdf_bytes());

    // An appeal: 30 days from 4 December is Sunday 3 January, a holiday; 31 December 2026
    // is a day off by decree (from Sunday 4 January), so the last working day before it is
    // Wednesday 30 December.
    let appeal = store
        .register_submission(
            NewSubmission {
                kind: SubmissionKind::Appeal,
                ..w.submission(
                    w.citizen,
                    w.pothole,
                    "Прошу отремонтировать дорогу на улице Мира",
                )
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!(appeal.deadline_at, datetime!(2026-12-30 20:59:59 UTC));
    assert!(appeal.id.0 > id.0);
    let detail = store.submission(appeal.id, w.operator).await.unwrap();
    assert_eq!(
        (
            detail.kind,
            detail.fields.as_map().len(),
            detail.attachments.len()
        ),
        (SubmissionKind::Appeal, 0, 0)
    );
}

async fn register_refuses_unknown_references(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let w = World::new(store).await;
    let base = || NewSubmission {
        attachments: vec![png("photo.png")],
        ..w.submission(
            w.citizen,
            w.pothole,
            "Яма на дороге у дома 5 по улице Ленина",
        )
    };
    let cases = [
        (
            NewSubmission {
                org: OrgId(9_999),
                ..base()
            },
            "invalid:unknown_organisation",
        ),
        (
            NewSubmission {
                subcategory: SubcategoryId(9_999),
                ..base()
            },
            "invalid:unknown_subcategory",
        ),
        (
            NewSubmission {
                region: RegionId(9_999),
                ..base()
            },
            "invalid:unknown_region",
        ),
    ];
    for (submission, expected) in cases {
        assert_eq!(
            outcome(store.register_submission(submission, T0).await),
            expected
        );
    }
    let all = store.list(Scope::All, &list_query()).await.unwrap();
    assert_eq!((all.total, all.items.len()), (0, 0));
    // Nothing half-written: the next submission is registered normally.
    let id = store.register_submission(base(), T0).await.unwrap().id;
    let detail = store.submission(id, w.citizen).await.unwrap();
    assert_eq!((detail.events.len(), detail.attachments.len()), (1, 1));
}

async fn full_life(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let w = World::new(store).await;
    let id = w.register_pothole_with_photo(store).await;
    let first_deadline = datetime!(2026-12-18 20:59:59 UTC);
    let hour = |n: i64| T0 + Duration::hours(n);
    let mut returned = Vec::new();

    let taken = act(store, id, w.official, Action::TakeIntoWork, hour(1)).await;
    assert_eq!(
        (taken.kind, taken.from_status, taken.to_status),
        (
            EventKind::TakenIntoWork,
            Some(Status::Registered),
            Status::InProgress
        )
    );
    assert_eq!(
        (
            taken.actor,
            taken.actor_name.as_deref(),
            taken.from_org,
            taken.to_org,
            taken.to_org_name.as_str()
        ),
        (
            Some(w.official.user),
            Some("Пётр Сидоров"),
            Some(w.org),
            w.org,
            "Министерство транспорта"
        )
    );
    assert_eq!((taken.at, taken.deadline_at), (hour(1), first_deadline));
    returned.push(taken);

    let interim = act(
        store,
        id,
        w.official,
        Action::PostIntermediateAnswer {
            text: answer("Передано в дорожную службу"),
        },
        hour(2),
    )
    .await;
    assert_eq!(
        (interim.kind, interim.to_status, interim.body.as_deref()),
        (
            EventKind::IntermediateAnswer,
            Status::InProgress,
            Some("Передано в дорожную службу")
        )
    );
    returned.push(interim);

    let answered = store
        .apply(
            id,
            w.official,
            Action::Answer {
                text: answer("Яма заделана"),
            },
            vec![pdf("акт.pdf")],
            hour(3),
        )
        .await
        .unwrap();
    assert_eq!(
        (answered.kind, answered.to_status, answered.body.as_deref()),
        (EventKind::Answered, Status::Answered, Some("Яма заделана"))
    );
    assert_eq!(answered.files.len(), 1);
    assert_eq!(
        (
            answered.files[0].name.as_str(),
            answered.files[0].sha256.as_str(),
            answered.files[0].event
        ),
        ("акт.pdf", PDF_SHA256, Some(answered.id))
    );
    let act_file = store.file(answered.files[0].id, w.citizen).await.unwrap();
    assert_eq!(act_file.bytes, pdf_bytes());
    returned.push(answered);

    let rated = act(
        store,
        id,
        w.citizen,
        Action::Rate {
            score: score(1),
            comment: Some(RatingComment::parse("Яма осталась").unwrap()),
        },
        hour(4),
    )
    .await;
    assert_eq!(
        (
            rated.kind,
            rated.to_status,
            rated.score,
            rated.reason.as_deref()
        ),
        (
            EventKind::Rated,
            Status::Rated,
            Some(score(1)),
            Some("Яма осталась")
        )
    );
    returned.push(rated);
    let detail = store.submission(id, w.citizen).await.unwrap();
    assert_eq!(
        (detail.status, detail.round, detail.rating),
        (Status::Rated, 1, Some(score(1)))
    );

    // Sent back on Monday 7 December: the term starts again from then.
    let monday = datetime!(2026-12-07 09:00 UTC);
    let sent_back = act(
        store,
        id,
        w.citizen,
        Action::SendBack {
            reason: reason("Ответ не соответствует действительности"),
        },
        monday,
    )
    .await;
    let second_deadline = datetime!(2026-12-21 20:59:59 UTC);
    assert_eq!(
        (
            sent_back.kind,
            sent_back.from_status,
            sent_back.to_status,
            sent_back.deadline_at,
            sent_back.reason.as_deref()
        ),
        (
            EventKind::SentBack,
            Some(Status::Rated),
            Status::Reopened,
            second_deadline,
            Some("Ответ не соответствует действительности")
        )
    );
    returned.push(sent_back);
    let detail = store.submission(id, w.official).await.unwrap();
    assert_eq!(
        (
            detail.status,
            detail.round,
            detail.rating,
            detail.deadline_at
        ),
        (Status::Reopened, 2, None, second_deadline)
    );

    let later = |n: i64| monday + Duration::hours(n);
    returned.push(act(store, id, w.official, Action::TakeIntoWork, later(1)).await);
    returned.push(
        act(
            store,
            id,
            w.official,
            Action::Answer {
                text: answer("Яма заделана повторно, фото приложено"),
            },
            later(2),
        )
        .await,
    );
    let final_rating = act(
        store,
        id,
        w.citizen,
        Action::Rate {
            score: score(5),
            comment: None,
        },
        later(3),
    )
    .await;
    assert_eq!(
        (final_rating.score, final_rating.reason.as_deref()),
        (Some(score(5)), None)
    );
    returned.push(final_rating);

    let detail = store.submission(id, w.citizen).await.unwrap();
    assert_eq!(
        (
            detail.status,
            detail.round,
            detail.rating,
            detail.deadline_at,
            detail.updated_at,
            detail.created_at
        ),
        (
            Status::Rated,
            2,
            Some(score(5)),
            second_deadline,
            later(3),
            T0
        )
    );
    let kinds: Vec<EventKind> = detail.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::Registered,
            EventKind::TakenIntoWork,
            EventKind::IntermediateAnswer,
            EventKind::Answered,
            EventKind::Rated,
            EventKind::SentBack,
            EventKind::TakenIntoWork,
            EventKind::Answered,
            EventKind::Rated,
        ]
    );
    // What `apply` returned is exactly what is stored.
    assert_eq!(detail.events[1..], returned[..]);
    assert!(detail.events.windows(2).all(|p| p[0].id < p[1].id));
    // The answer's file belongs to its event, not to the citizen's attachments.
    assert_eq!(detail.attachments.len(), 1);
    assert_eq!(detail.attachments[0].name, "photo.png");
    assert_eq!(detail.events[3].files.len(), 1);
}

async fn refusals_change_nothing(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let w = World::new(store).await;
    let at = T0 + Duration::hours(1);
    let id = w.submit(store, w.citizen, T0).await;

    // Every refusal leaves the stored submission exactly as it was.
    async fn refused(
        store: &dyn Store,
        w: &World,
        id: SubmissionId,
        actor: Actor,
        action: Action,
        files: Vec<Attachment>,
        expected: &str,
    ) {
        let before = store.submission(id, w.operator).await.unwrap();
        let name = action.name();
        let result = store
            .apply(id, actor, action, files, T0 + Duration::days(3))
            .await;
        assert_eq!(outcome(result), expected, "{name} by {actor:?}");
        let after = store.submission(id, w.operator).await.unwrap();
        assert_eq!(after, before, "{name} by {actor:?} changed the submission");
    }

    let none = Vec::new;
    let text = || Action::Answer {
        text: answer("Ответ"),
    };
    let forbidden = transition(TransitionError::Forbidden);
    refused(
        store,
        &w,
        id,
        w.citizen,
        Action::TakeIntoWork,
        none(),
        &forbidden,
    )
    .await;
    refused(store, &w, id, w.operator, text(), none(), &forbidden).await;
    refused(
        store,
        &w,
        id,
        w.other_official,
        Action::TakeIntoWork,
        none(),
        "not_found",
    )
    .await;
    refused(
        store,
        &w,
        id,
        w.other_citizen,
        Action::Rate {
            score: score(5),
            comment: None,
        },
        none(),
        "not_found",
    )
    .await;
    let illegal_answer = transition(TransitionError::Illegal {
        from: Status::Registered,
        action: "answer",
    });
    refused(store, &w, id, w.official, text(), none(), &illegal_answer).await;
    refused(
        store,
        &w,
        id,
        w.official,
        Action::TakeIntoWork,
        vec![png("photo.png")],
        "invalid:files_not_allowed",
    )
    .await;
    refused(
        store,
        &w,
        id,
        w.official,
        Action::Redirect {
            to: w.org,
            reason: reason("Не наша компетенция"),
        },
        none(),
        &transition(TransitionError::SameOrganisation),
    )
    .await;
    refused(
        store,
        &w,
        id,
        w.official,
        Action::Redirect {
            to: OrgId(9_999),
            reason: reason("Не наша компетенция"),
        },
        none(),
        "invalid:unknown_organisation",
    )
    .await;
    assert_eq!(
        outcome(
            store
                .apply(
                    SubmissionId(9_999),
                    w.operator,
                    Action::TakeIntoWork,
                    none(),
                    at
                )
                .await
        ),
        "not_found"
    );

    // A rejected submission is final.
    let rejected = act(
        store,
        id,
        w.official,
        Action::Reject {
            ground: RejectionGround::ObsceneLanguage,
            comment: reason("Нецензурные выражения"),
        },
        at,
    )
    .await;
    assert_eq!(
        (
            rejected.kind,
            rejected.to_status,
            rejected.ground,
            rejected.reason.as_deref()
        ),
        (
            EventKind::Rejected,
            Status::Rejected,
            Some(RejectionGround::ObsceneLanguage),
            Some("Нецензурные выражения")
        )
    );
    let illegal = |action: &'static str| {
        transition(TransitionError::Illegal {
            from: Status::Rejected,
            action,
        })
    };
    refused(
        store,
        &w,
        id,
        w.official,
        text(),
        none(),
        &illegal("answer"),
    )
    .await;
    refused(
        store,
        &w,
        id,
        w.official,
        Action::TakeIntoWork,
        none(),
        &illegal("take_into_work"),
    )
    .await;
    refused(
        store,
        &w,
        id,
        w.citizen,
        Action::Rate {
            score: score(1),
            comment: None,
        },
        none(),
        &illegal("rate"),
    )
    .await;

    // Rated with a good mark: no second rating, no sending back.
    let good = w.submit(store, w.citizen, T0).await;
    act(store, good, w.official, Action::TakeIntoWork, at).await;
    act(store, good, w.official, text(), at).await;
    refused(
        store,
        &w,
        good,
        w.official,
        Action::Rate {
            score: score(5),
            comment: None,
        },
        none(),
        &forbidden,
    )
    .await;
    let rate = |v| Action::Rate {
        score: score(v),
        comment: None,
    };
    act(store, good, w.citizen, rate(4), at).await;
    refused(
        store,
        &w,
        good,
        w.citizen,
        rate(1),
        none(),
        &transition(TransitionError::AlreadyRated),
    )
    .await;
    let send_back = || Action::SendBack {
        reason: reason("Не согласен с ответом"),
    };
    refused(
        store,
        &w,
        good,
        w.citizen,
        send_back(),
        none(),
        &transition(TransitionError::RatingNotLow),
    )
    .await;

    // Only one re-review.
    let bad = w.submit(store, w.citizen, T0).await;
    act(store, bad, w.official, Action::TakeIntoWork, at).await;
    act(store, bad, w.official, text(), at).await;
    act(store, bad, w.citizen, rate(2), at).await;
    act(store, bad, w.citizen, send_back(), at).await;
    act(store, bad, w.official, Action::TakeIntoWork, at).await;
    act(store, bad, w.official, text(), at).await;
    act(store, bad, w.citizen, rate(1), at).await;
    refused(
        store,
        &w,
        bad,
        w.citizen,
        send_back(),
        none(),
        &transition(TransitionError::ReReviewUsed),
    )
    .await;
    let detail = store.submission(bad, w.citizen).await.unwrap();
    assert_eq!((detail.events.len(), detail.round), (8, 2));
}

async fn redirect(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let w = World::new(store).await;
    let id = w.register_pothole_with_photo(store).await;
    let photo = store.submission(id, w.citizen).await.unwrap().attachments[0].id;
    act(
        store,
        id,
        w.official,
        Action::TakeIntoWork,
        T0 + Duration::hours(1),
    )
    .await;

    // Monday 7 December, 13:00 in Samara (UTC+4): 10 working days end on Monday 21
    // December, 23:59:59 Samara time.
    let monday = datetime!(2026-12-07 09:00 UTC);
    let moved = act(
        store,
        id,
        w.official,
        Action::Redirect {
            to: w.other_org,
            reason: reason("Дорога муниципальная"),
        },
        monday,
    )
    .await;
    let deadline = datetime!(2026-12-21 19:59:59 UTC);
    assert_eq!(
        (
            moved.kind,
            moved.from_status,
            moved.to_status,
            moved.from_org,
            moved.to_org,
            moved.to_org_name.as_str(),
            moved.reason.as_deref(),
            moved.deadline_at
        ),
        (
            EventKind::Redirected,
            Some(Status::InProgress),
            Status::Registered,
            Some(w.org),
            w.other_org,
            "Администрация Самары",
            Some("Дорога муниципальная"),
            deadline
        )
    );

    // The first organisation no longer sees it, nor its files; the second does.
    assert_eq!(outcome(store.submission(id, w.official).await), "not_found");
    assert_eq!(outcome(store.file(photo, w.official).await), "not_found");
    assert_eq!(
        outcome(
            store
                .apply(id, w.official, Action::TakeIntoWork, Vec::new(), monday)
                .await
        ),
        "not_found"
    );
    let detail = store.submission(id, w.other_official).await.unwrap();
    assert_eq!(
        (
            detail.status,
            detail.org,
            detail.org_name.as_str(),
            detail.deadline_at
        ),
        (
            Status::Registered,
            w.other_org,
            "Администрация Самары",
            deadline
        )
    );
    assert_eq!(detail.events.len(), 3);
    assert!(store.file(photo, w.other_official).await.is_ok());
    let inbox = |org| async move { store.list(Scope::Organisation(org), &list_query()).await };
    assert_eq!(inbox(w.org).await.unwrap().total, 0);
    assert_eq!(inbox(w.other_org).await.unwrap().items[0].id, id);

    act(store, id, w.other_official, Action::TakeIntoWork, monday).await;
    // The operator routes by hand.
    let back = act(
        store,
        id,
        w.operator,
        Action::Redirect {
            to: w.org,
            reason: reason("Ошибка маршрутизации"),
        },
        monday,
    )
    .await;
    assert_eq!(
        (back.to_org, back.actor, back.deadline_at),
        (
            w.org,
            Some(w.operator.user),
            datetime!(2026-12-21 20:59:59 UTC)
        )
    );
    assert!(store.submission(id, w.official).await.is_ok());
    assert_eq!(
        outcome(store.submission(id, w.other_official).await),
        "not_found"
    );
}

async fn lists(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let w = World::new(store).await;
    let minute = |n: i64| T0 + Duration::minutes(n);
    let long: String = "Очень длинное описание проблемы. ".repeat(20);
    let first = store
        .register_submission(w.submission(w.citizen, w.pothole, &long), minute(1))
        .await
        .unwrap()
        .id;
    let bus = store
        .register_submission(
            w.submission(w.citizen, w.bus, "Автобус 21 не пришёл утром"),
            minute(2),
        )
        .await
        .unwrap()
        .id;
    let answered = w.submit(store, w.citizen, minute(3)).await;
    let foreign = w.submit(store, w.other_citizen, minute(4)).await;
    let moved = w.submit(store, w.citizen, minute(5)).await;
    act(store, bus, w.official, Action::TakeIntoWork, minute(10)).await;
    act(
        store,
        answered,
        w.official,
        Action::TakeIntoWork,
        minute(10),
    )
    .await;
    act(
        store,
        answered,
        w.official,
        Action::Answer {
            text: answer("Сделано"),
        },
        minute(11),
    )
    .await;
    act(
        store,
        moved,
        w.official,
        Action::Redirect {
            to: w.other_org,
            reason: reason("Не наша компетенция"),
        },
        minute(12),
    )
    .await;

    let ids = |page: &Page<SubmissionCard>| page.items.iter().map(|c| c.id).collect::<Vec<_>>();
    let list = |scope, query: ListQuery| async move { store.list(scope, &query).await.unwrap() };

    let mine = list(Scope::Author(w.citizen.user), list_query()).await;
    assert_eq!(mine.total, 4);
    assert_eq!(ids(&mine), vec![moved, answered, bus, first]);
    let card = &mine.items[3];
    assert_eq!(
        card,
        &SubmissionCard {
            id: first,
            number: RegistrationNumber::new(first, T0),
            kind: SubmissionKind::Message,
            status: Status::Registered,
            category_name: "Дороги".to_owned(),
            subcategory_name: "Ямы".to_owned(),
            org: w.org,
            org_name: "Министерство транспорта".to_owned(),
            org_utc_offset_minutes: 180,
            excerpt: long.chars().take(160).collect(),
            subcategory: w.pothole,
            region: w.region,
            channel: Channel::Portal,
            created_at: minute(1),
            updated_at: minute(1),
            deadline_at: datetime!(2026-12-18 20:59:59 UTC),
        }
    );
    assert_eq!(card.excerpt.chars().count(), 160);
    assert_eq!(mine.items[2].excerpt, "Автобус 21 не пришёл утром");
    assert_eq!(mine.items[2].status, Status::InProgress);
    assert_eq!(
        (
            mine.items[0].org,
            mine.items[0].org_name.as_str(),
            mine.items[0].org_utc_offset_minutes
        ),
        (w.other_org, "Администрация Самары", 240)
    );

    let theirs = list(Scope::Author(w.other_citizen.user), list_query()).await;
    assert_eq!((theirs.total, ids(&theirs)), (1, vec![foreign]));
    let inbox = list(Scope::Organisation(w.org), list_query()).await;
    assert_eq!(
        (inbox.total, ids(&inbox)),
        (4, vec![foreign, answered, bus, first])
    );
    let other_inbox = list(Scope::Organisation(w.other_org), list_query()).await;
    assert_eq!((other_inbox.total, ids(&other_inbox)), (1, vec![moved]));
    let coordinator = list(Scope::Organisation(w.coordinator), list_query()).await;
    assert_eq!((coordinator.total, coordinator.items.len()), (0, 0));
    let all = list(Scope::All, list_query()).await;
    assert_eq!(
        (all.total, ids(&all)),
        (5, vec![moved, foreign, answered, bus, first])
    );

    // Filters.
    let by_status = |status| ListQuery {
        status: Some(status),
        ..list_query()
    };
    let in_progress = list(Scope::All, by_status(Status::InProgress)).await;
    assert_eq!((in_progress.total, ids(&in_progress)), (1, vec![bus]));
    let registered = list(Scope::Organisation(w.org), by_status(Status::Registered)).await;
    assert_eq!(
        (registered.total, ids(&registered)),
        (2, vec![foreign, first])
    );
    let rated = list(Scope::All, by_status(Status::Rated)).await;
    assert_eq!(rated.total, 0);
    let transport = list(
        Scope::Author(w.citizen.user),
        ListQuery {
            category: Some(w.transport),
            ..list_query()
        },
    )
    .await;
    assert_eq!((transport.total, ids(&transport)), (1, vec![bus]));
    let roads_in_progress = list(
        Scope::All,
        ListQuery {
            category: Some(w.roads),
            ..by_status(Status::InProgress)
        },
    )
    .await;
    assert_eq!(roads_in_progress.total, 0);

    // Overdue: open submissions past their deadline at `now`.
    let overdue_at = |now| ListQuery {
        overdue: true,
        now,
        ..list_query()
    };
    assert_eq!(list(Scope::All, overdue_at(T0)).await.total, 0);
    let late = list(Scope::All, overdue_at(datetime!(2027-06-01 00:00 UTC))).await;
    assert_eq!(
        (late.total, ids(&late)),
        (4, vec![moved, foreign, bus, first])
    );
    // The redirected one's term restarted in UTC+4: it ends an hour earlier in UTC. A
    // deadline is overdue only once it has passed.
    let edge = list(Scope::All, overdue_at(datetime!(2026-12-18 20:59:59 UTC))).await;
    assert_eq!(ids(&edge), vec![moved]);
    let edge = list(Scope::All, overdue_at(datetime!(2026-12-18 21:00 UTC))).await;
    assert_eq!(ids(&edge), vec![moved, foreign, bus, first]);
    let late_inbox = list(
        Scope::Organisation(w.org),
        ListQuery {
            status: Some(Status::InProgress),
            ..overdue_at(datetime!(2027-06-01 00:00 UTC))
        },
    )
    .await;
    assert_eq!(ids(&late_inbox), vec![bus]);

    // Paging.
    let page = |limit, offset| ListQuery {
        limit,
        offset,
        ..list_query()
    };
    let mut paged = Vec::new();
    for offset in [0, 2, 4] {
        let p = list(Scope::All, page(2, offset)).await;
        assert_eq!(p.total, 5);
        paged.extend(ids(&p));
    }
    assert_eq!(paged, ids(&all));
    let beyond = list(Scope::All, page(2, 10)).await;
    assert_eq!((beyond.total, beyond.items.len()), (5, 0));
    // The limit is clamped to 1..=200.
    assert_eq!(list(Scope::All, page(0, 0)).await.items.len(), 1);
    assert_eq!(list(Scope::All, page(100_000, 0)).await.items.len(), 5);
}

/// The totals kept per scope and status (`list_counts`, kept by triggers) equal what
/// counting the rows gives, for every scope and status filter, after registrations in
/// groups, transitions and redirects, with two folders of the counts running meanwhile.
async fn kept_list_counts_match_the_rows(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let folding = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let folders: Vec<_> = (0..2)
        .map(|_| {
            let (store, folding) = (store.clone(), folding.clone());
            tokio::spawn(async move {
                let mut folded = 0;
                while folding.load(std::sync::atomic::Ordering::Relaxed) {
                    folded += store.compact_counts().await.unwrap();
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
                folded
            })
        })
        .collect();

    // Registrations arriving together go in as groups (multi-row inserts).
    let registering: Vec<_> = (0..40)
        .map(|n| {
            let store = store.clone();
            let author = if n % 3 == 0 {
                w.other_citizen
            } else {
                w.citizen
            };
            let new = w.submission(author, w.pothole, "Яма на дороге у дома 5 по улице Ленина");
            tokio::spawn(async move { store.register_submission(new, T0).await.unwrap().id })
        })
        .collect();
    let mut ids = Vec::new();
    for task in registering {
        ids.push(task.await.unwrap());
    }
    let at = T0 + Duration::minutes(5);
    for (n, id) in ids.iter().enumerate() {
        let store = store.as_ref();
        match n % 5 {
            0 => {}
            1 => {
                act(store, *id, w.official, Action::TakeIntoWork, at).await;
            }
            2 | 3 => {
                act(store, *id, w.official, Action::TakeIntoWork, at).await;
                let text = answer("Яму заделали");
                act(store, *id, w.official, Action::Answer { text }, at).await;
            }
            _ => {
                let redirect = Action::Redirect {
                    to: w.other_org,
                    reason: reason("Не наша компетенция"),
                };
                act(store, *id, w.official, redirect, at).await;
            }
        }
    }
    folding.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut folded = 0;
    for folder in folders {
        folded += folder.await.unwrap();
    }
    let last = store.compact_counts().await.unwrap();
    match store.backend() {
        // Every write appended deltas, and the folders folded them all.
        "postgres" => assert!(folded + last > 0, "nothing was folded"),
        _ => assert_eq!(folded + last, 0),
    }
    assert_eq!(store.compact_counts().await.unwrap(), 0, "folded twice");

    let scopes = [
        Scope::All,
        Scope::Author(w.citizen.user),
        Scope::Author(w.other_citizen.user),
        Scope::Organisation(w.org),
        Scope::Organisation(w.other_org),
        Scope::Organisation(w.coordinator),
        Scope::Region(w.region),
    ];
    let mut filters = vec![(None, None), (None, Some(true)), (None, Some(false))];
    for status in Status::ALL.iter().copied() {
        filters.extend([(Some(status), None), (Some(status), Some(true))]);
    }
    let mut nonzero = 0;
    for scope in scopes {
        for (status, open) in &filters {
            let kept_query = ListQuery {
                status: *status,
                open: *open,
                ..list_query()
            };
            // A filter that keeps every row but makes the store count them.
            let counted_query = ListQuery {
                created_from: Some(T0 - Duration::days(1)),
                ..kept_query.clone()
            };
            let kept = store.list(scope, &kept_query).await.unwrap();
            let counted = store.list(scope, &counted_query).await.unwrap();
            assert_eq!(
                (kept.total, kept.total_exact),
                (counted.total, counted.total_exact),
                "{scope:?} {status:?} {open:?}"
            );
            nonzero += usize::from(kept.total > 0);
        }
    }
    assert!(
        nonzero > 20,
        "too few non-empty totals to compare: {nonzero}"
    );
    let all = store.list(Scope::All, &list_query()).await.unwrap();
    assert_eq!(all.total, 40);
}

async fn file_access(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let w = World::new(store).await;
    let id = w.register_pothole_with_photo(store).await;
    let photo = store.submission(id, w.citizen).await.unwrap().attachments[0].id;
    for actor in [w.citizen, w.official, w.operator] {
        let file = store.file(photo, actor).await.unwrap();
        assert_eq!(file.bytes, png_bytes(), "{actor:?}");
    }
    for actor in [w.other_citizen, w.other_official] {
        assert_eq!(
            outcome(store.file(photo, actor).await),
            "not_found",
            "{actor:?}"
        );
        assert_eq!(
            outcome(store.submission(id, actor).await),
            "not_found",
            "{actor:?}"
        );
    }
    assert_eq!(
        outcome(store.file(FileId(9_999), w.operator).await),
        "not_found"
    );
    // An official who is also the author sees their own submission.
    let own = w.submit(store, w.other_official, T0).await;
    assert!(store.submission(own, w.other_official).await.is_ok());
}

async fn personal_data_log(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let w = World::new(store).await;
    let id = w.submit(store, w.citizen, T0).await;
    let other = w.submit(store, w.citizen, T0).await;
    assert!(store.personal_data_accesses(id).await.unwrap().is_empty());
    let later = T0 + Duration::hours(2);
    store
        .record_personal_data_access(w.operator.user, id, "проверка жалобы", later)
        .await
        .unwrap();
    store
        .record_personal_data_access(w.official.user, id, "подготовка ответа", T0)
        .await
        .unwrap();
    let log = store.personal_data_accesses(id).await.unwrap();
    assert_eq!(
        log,
        vec![
            PersonalDataAccess {
                staff: w.official.user,
                staff_name: "Пётр Сидоров".to_owned(),
                submission: id,
                purpose: "подготовка ответа".to_owned(),
                at: T0,
            },
            PersonalDataAccess {
                staff: w.operator.user,
                staff_name: "Оператор".to_owned(),
                submission: id,
                purpose: "проверка жалобы".to_owned(),
                at: later,
            },
        ]
    );
    assert!(store
        .personal_data_accesses(other)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .record_personal_data_access(w.official.user, SubmissionId(9_999), "x", T0)
        .await
        .is_err());
}

/// Actions that race on one submission: exactly one wins, the others are decided on the
/// state the winner left, and the timeline holds one event per success.
/// Officials' actions on many submissions at once (on SQLite they share a transaction,
/// each in a savepoint): every taking into work succeeds, every refused action among them
/// is its own caller's answer and writes nothing, and the log holds exactly one leaf per
/// event that was answered.
async fn actions_arriving_together_each_get_their_own_answer(store: Arc<dyn Store>) {
    let w = Arc::new(World::new(store.as_ref()).await);
    let mut ids = Vec::new();
    for n in 0..24 {
        ids.push(
            w.submit(store.as_ref(), w.citizen, T0 + Duration::minutes(n))
                .await,
        );
    }
    let before = store.log_info().await.unwrap().size;
    let at = T0 + Duration::hours(1);
    let tasks: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let (store, w, id) = (store.clone(), w.clone(), *id);
            tokio::spawn(async move {
                let (actor, action) = match n % 3 {
                    // An answer to a submission nobody has taken into work: refused.
                    0 => (
                        w.official,
                        Action::Answer {
                            text: answer("Сделано"),
                        },
                    ),
                    // Another organisation's official: the submission is not theirs.
                    1 => (w.other_official, Action::TakeIntoWork),
                    _ => (w.official, Action::TakeIntoWork),
                };
                (
                    n,
                    outcome(store.apply(id, actor, action, Vec::new(), at).await),
                )
            })
        })
        .collect();
    let mut taken = 0;
    for task in tasks {
        let (n, answered) = task.await.unwrap();
        match n % 3 {
            0 => assert!(answered.starts_with("transition:"), "{n}: {answered}"),
            1 => assert_eq!(answered, "not_found", "{n}"),
            _ => {
                assert_eq!(answered, "ok", "{n}");
                taken += 1;
            }
        }
    }
    for (n, id) in ids.iter().enumerate() {
        let detail = store.submission(*id, w.official).await.unwrap();
        let expected = if n % 3 == 2 {
            Status::InProgress
        } else {
            Status::Registered
        };
        assert_eq!(
            (detail.status, detail.events.len()),
            (expected, 1 + usize::from(n % 3 == 2)),
            "{n}"
        );
    }
    assert_eq!(store.log_info().await.unwrap().size, before + taken);
}

async fn concurrent_actions(store: Arc<dyn Store>) {
    let w = Arc::new(World::new(store.as_ref()).await);
    let id = w.submit(store.as_ref(), w.citizen, T0).await;
    let race = |action: Action, actor: Actor| {
        let tasks: Vec<_> = (0..6)
            .map(|i| {
                let store = Arc::clone(&store);
                let action = action.clone();
                tokio::spawn(async move {
                    outcome(
                        store
                            .apply(id, actor, action, Vec::new(), T0 + Duration::minutes(i))
                            .await,
                    )
                })
            })
            .collect();
        async move {
            let mut outcomes = Vec::new();
            for task in tasks {
                outcomes.push(task.await.unwrap());
            }
            outcomes.sort();
            outcomes
        }
    };
    let takes = race(Action::TakeIntoWork, w.official).await;
    let illegal = transition(TransitionError::Illegal {
        from: Status::InProgress,
        action: "take_into_work",
    });
    assert_eq!(takes.iter().filter(|o| *o == "ok").count(), 1, "{takes:?}");
    assert!(
        takes.iter().all(|o| o == "ok" || *o == illegal),
        "{takes:?}"
    );

    act(
        store.as_ref(),
        id,
        w.official,
        Action::Answer {
            text: answer("Сделано"),
        },
        T0 + Duration::hours(1),
    )
    .await;
    let rates = race(
        Action::Rate {
            score: score(2),
            comment: None,
        },
        w.citizen,
    )
    .await;
    let already = transition(TransitionError::AlreadyRated);
    assert_eq!(rates.iter().filter(|o| *o == "ok").count(), 1, "{rates:?}");
    assert!(
        rates.iter().all(|o| o == "ok" || *o == already),
        "{rates:?}"
    );

    let detail = store.submission(id, w.citizen).await.unwrap();
    assert_eq!(detail.events.len(), 4);
    assert_eq!(
        (detail.status, detail.rating),
        (Status::Rated, Some(score(2)))
    );
}

/// What is written is there for a second store opened on the same database (a restart,
/// or a second node), and opening runs the migrations again without harm.
async fn reopening_the_store(store: Arc<dyn Store>, url: &str) {
    let w = World::new(store.as_ref()).await;
    let id = w.submit(store.as_ref(), w.citizen, T0).await;
    let secret = store.server_secret(&[3u8; 32]).await.unwrap();

    let second = otklik_store::open(url).await.unwrap();
    second.health().await.unwrap();
    assert_eq!(second.server_secret(&[4u8; 32]).await.unwrap(), secret);
    let detail = second.submission(id, w.operator).await.unwrap();
    assert_eq!(detail, store.submission(id, w.operator).await.unwrap());
    // Writes through either are seen by both.
    act(second.as_ref(), id, w.official, Action::TakeIntoWork, T0).await;
    let detail = store.submission(id, w.citizen).await.unwrap();
    assert_eq!(
        (detail.status, detail.events.len()),
        (Status::InProgress, 2)
    );
    drop(second);
    drop(store);

    let third = otklik_store::open(url).await.unwrap();
    assert_eq!(
        third.submission(id, w.citizen).await.unwrap().status,
        Status::InProgress
    );
}

/// Planner statistics taken while a table was small follow it once it has grown (the
/// periodic `optimize`): with `users` recorded at a handful of rows, SQLite's plan for
/// a registration's outbox statement walked every person (that statement now fixes its
/// join order, but others may lean on fresh statistics).
async fn statistics_follow_a_grown_table(store: Arc<dyn Store>, url: &str) {
    let _w = World::new(store.as_ref()).await;
    store.optimize().await.unwrap();
    let Some(path) = url.strip_prefix("sqlite://") else {
        // PostgreSQL's autovacuum keeps its own statistics.
        return;
    };
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    let recorded = || async {
        // No row: the table was empty when analysed.
        sqlx::query_scalar::<_, Option<String>>(
            "SELECT MAX(stat) FROM sqlite_stat1 WHERE tbl = 'users'",
        )
        .fetch_one(&db)
        .await
        .unwrap()
        .map_or(0, |stat| {
            stat.split(' ').next().unwrap().parse::<i64>().unwrap()
        })
    };
    let before = recorded().await;
    assert!(before < 100, "{before}");
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) \
         INSERT INTO users (email, password_hash, full_name, role, created_at, verification) \
         SELECT 'grown-' || i || '@example.ru', 'x', 'Житель', 'citizen', 0, 'verified' FROM n",
    )
    .execute(&db)
    .await
    .unwrap();
    store.optimize().await.unwrap();
    assert!(recorded().await >= 20_000);
}

/// A second process (a CLI command) opens the database while the server holds its write
/// lock: opening waits for the lock rather than failing with "database is locked".
async fn opening_waits_for_another_writer(store: Arc<dyn Store>, url: &str) {
    let w = World::new(store.as_ref()).await;
    w.submit(store.as_ref(), w.citizen, T0).await;
    let Some(path) = url.strip_prefix("sqlite://") else {
        // PostgreSQL opens without writing; the reopening scenario covers it.
        return;
    };
    let holder = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
        .await
        .unwrap();
    let mut conn = holder.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await
        .unwrap();
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        sqlx::query("COMMIT").execute(&mut *conn).await.unwrap();
    };
    let (second, ()) = tokio::join!(otklik_store::open(url), release);
    let second = second.unwrap_or_else(|e| panic!("open beside a writer: {e:?}"));
    second.health().await.unwrap();
}
