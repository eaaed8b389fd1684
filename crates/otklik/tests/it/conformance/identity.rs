//! The `Identity` trait on both backends: lockout, provider identities (one account per
//! person), pending logins taken once, scoped sessions and integration clients, staff and
//! widget sites — each change on record, each refusal changing nothing.

use super::*;
use otklik_domain::access::{ApiScope, Verification};

const LOCKOUT: LockoutPolicy = LockoutPolicy {
    max_failures: 3,
    lock_for: Duration::minutes(15),
};

fn provided(subject: &str, key: Option<u8>, level: Verification) -> ProvidedIdentity {
    ProvidedIdentity {
        issuer: "https://esia.example".to_owned(),
        subject: subject.to_owned(),
        identity_key: key.map(|k| [k; 32]),
        full_name: Some(PersonName::parse("Сергей Кузнецов").unwrap()),
        email: Some(email("sergey@example.ru")),
        birth_date: Some(time::macros::date!(1980 - 05 - 17)),
        home_region_code: Some("RU-TVE".to_owned()),
        verification: level,
    }
}

pub(super) async fn lockout_counts_failures_and_a_success_clears_them(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let ivan = w.citizen.user;
    assert_eq!(
        store.record_login_failure(ivan, LOCKOUT, T0).await.unwrap(),
        None
    );
    store.record_login_success(ivan).await.unwrap();
    for _ in 0..2 {
        assert_eq!(
            store.record_login_failure(ivan, LOCKOUT, T0).await.unwrap(),
            None
        );
    }
    let until = store.record_login_failure(ivan, LOCKOUT, T0).await.unwrap();
    assert_eq!(until, Some(T0 + Duration::minutes(15)));
    assert_eq!(store.user(ivan).await.unwrap().locked_until, until);
    store.record_login_success(ivan).await.unwrap();
    assert_eq!(store.user(ivan).await.unwrap().locked_until, None);
    // The count started again.
    assert_eq!(
        store.record_login_failure(ivan, LOCKOUT, T0).await.unwrap(),
        None
    );
}

pub(super) async fn provider_identities_make_one_account_per_person(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    // A first login creates a citizen with the provider's data.
    let sergey = store
        .sign_in_with_identity(provided("sub-1", Some(1), Verification::Verified), None, T0)
        .await
        .unwrap();
    assert_eq!(sergey.role, Role::Citizen);
    assert_eq!(sergey.verification, Verification::Verified);
    assert_eq!(sergey.full_name, "Сергей Кузнецов");
    assert_eq!(sergey.email, "sergey@example.ru");
    let profile = store.account_profile(sergey.id).await.unwrap();
    assert_eq!(
        profile.birth_date,
        Some(time::macros::date!(1980 - 05 - 17))
    );
    assert_eq!(profile.home_region.as_deref(), Some("Тверская область"));
    assert!(profile.has_identity_key);
    assert_eq!(profile.identities.len(), 1);

    // Again: the same account, its level as the provider says now.
    let again = store
        .sign_in_with_identity(provided("sub-1", Some(1), Verification::Standard), None, T0)
        .await
        .unwrap();
    assert_eq!(again.id, sergey.id);
    assert_eq!(again.verification, Verification::Standard);

    // Another subject of the same person: no second account.
    assert_eq!(
        outcome(
            store
                .sign_in_with_identity(provided("sub-2", Some(1), Verification::Verified), None, T0)
                .await
        ),
        "conflict:identity_in_use"
    );
    // A person without a national identifier and a taken e-mail gets a placeholder address.
    let other = store
        .sign_in_with_identity(provided("sub-3", None, Verification::Unverified), None, T0)
        .await
        .unwrap();
    assert_ne!(other.id, sergey.id);
    assert!(
        other.email.ends_with("@id.otklik.invalid"),
        "{}",
        other.email
    );

    // Linking to a local account raises its level; linking someone else's is refused.
    let ivan = w.citizen.user;
    let linked = store
        .sign_in_with_identity(
            provided("sub-4", Some(4), Verification::Verified),
            Some(ivan),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        (linked.id, linked.verification),
        (ivan, Verification::Verified)
    );
    assert_eq!(
        outcome(
            store
                .sign_in_with_identity(
                    provided("sub-4", Some(4), Verification::Verified),
                    Some(w.other_citizen.user),
                    T0
                )
                .await
        ),
        "conflict:identity_linked_elsewhere"
    );
    // A provider account of a different person cannot be attached to Ivan's.
    assert_eq!(
        outcome(
            store
                .sign_in_with_identity(
                    provided("sub-5", Some(5), Verification::Verified),
                    Some(ivan),
                    T0
                )
                .await
        ),
        "conflict:identity_mismatch"
    );
    // The refusals wrote nothing: sub-2 and sub-5 are linked to nobody.
    let ivan_profile = store.account_profile(ivan).await.unwrap();
    assert_eq!(ivan_profile.identities.len(), 1);
    assert_eq!(
        store
            .account_profile(sergey.id)
            .await
            .unwrap()
            .identities
            .len(),
        1
    );
}

pub(super) async fn pending_provider_logins_are_taken_once(store: Arc<dyn Store>) {
    let pending = |state: u8, expires_at| PendingLogin {
        state_sha256: [state; 32],
        browser_sha256: [9; 32],
        nonce: format!("nonce-{state}"),
        pkce_verifier: "verifier".to_owned(),
        link_user: None,
        expires_at,
    };
    store
        .begin_provider_login(pending(1, T0 + Duration::minutes(10)))
        .await
        .unwrap();
    store
        .begin_provider_login(pending(2, T0 + Duration::minutes(1)))
        .await
        .unwrap();
    assert_eq!(
        outcome(store.begin_provider_login(pending(1, T0)).await),
        "conflict:state_taken"
    );
    let taken = store
        .take_provider_login(&[1; 32], T0 + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(taken, Some(pending(1, T0 + Duration::minutes(10))));
    // Once only.
    assert_eq!(
        store
            .take_provider_login(&[1; 32], T0 + Duration::minutes(5))
            .await
            .unwrap(),
        None
    );
    // Expired logins are not handed out (and are swept).
    assert_eq!(
        store
            .take_provider_login(&[2; 32], T0 + Duration::minutes(5))
            .await
            .unwrap(),
        None
    );
}

pub(super) async fn integration_clients_get_scoped_sessions_until_revoked(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let client = |id: &str| NewApiClient {
        client_id: id.to_owned(),
        org: w.org,
        name: PersonName::parse("СЭД министерства").unwrap(),
        secret_sha256: [3; 32],
        scopes: vec![ApiScope::SubmissionsRead],
        created_by: w.operator.user,
    };
    let principal = store.create_api_client(client("sed")).await.unwrap();
    assert_eq!(
        outcome(store.create_api_client(client("sed")).await),
        "conflict:client_id_taken"
    );
    let record = store.api_client("sed").await.unwrap().unwrap();
    assert_eq!(record.user.id, principal);
    assert_eq!(record.user.role, Role::Integration(w.org));
    assert_eq!(record.scopes, vec![ApiScope::SubmissionsRead]);
    assert!(!record.revoked);
    assert_eq!(store.api_clients(w.org).await.unwrap().len(), 1);
    assert!(store.api_clients(w.other_org).await.unwrap().is_empty());

    let token = [4u8; 32];
    store
        .create_scoped_session(
            &token,
            principal,
            &[ApiScope::SubmissionsRead],
            T0 + Duration::days(3650),
        )
        .await
        .unwrap();
    let session = store.session(&token, T0).await.unwrap().unwrap();
    assert_eq!(session.scopes, Some(vec![ApiScope::SubmissionsRead]));
    // (Pages refuse a scoped session as a person's: `Ctx` in the web crate, covered by the
    // access matrix.)

    // Only its own organisation may revoke it.
    assert_eq!(
        outcome(
            store
                .revoke_api_client(w.other_org, "sed", w.operator.user, T0)
                .await
        ),
        "not_found"
    );
    store
        .revoke_api_client(w.org, "sed", w.operator.user, T0)
        .await
        .unwrap();
    assert!(store.api_client("sed").await.unwrap().unwrap().revoked);
    assert!(store.session(&token, T0).await.unwrap().is_none());
    let changes = store.config_changes(10, 0).await.unwrap();
    assert!(changes
        .iter()
        .any(|c| c.entity == "api_client" && c.entity_key == "sed"));
}

pub(super) async fn staff_and_widget_sites_are_managed_on_record(store: Arc<dyn Store>) {
    let w = World::new(store.as_ref()).await;
    let staff = store.staff(w.org).await.unwrap();
    assert_eq!(
        staff.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![w.official.user]
    );

    let token = [5u8; 32];
    store
        .create_session(&token, w.official.user, T0 + Duration::days(3650))
        .await
        .unwrap();
    store
        .set_staff_disabled(w.org, w.official.user, true, w.operator.user, T0)
        .await
        .unwrap();
    assert!(store.user(w.official.user).await.unwrap().disabled);
    assert!(
        store.session(&token, T0).await.unwrap().is_none(),
        "sessions end"
    );
    // Not staff of that organisation: not found, nothing changed.
    assert_eq!(
        outcome(
            store
                .set_staff_disabled(w.org, w.other_official.user, true, w.operator.user, T0)
                .await
        ),
        "not_found"
    );
    assert!(!store.user(w.other_official.user).await.unwrap().disabled);
    store
        .set_staff_disabled(w.org, w.official.user, false, w.operator.user, T0)
        .await
        .unwrap();
    assert!(!store.user(w.official.user).await.unwrap().disabled);

    store
        .add_widget_site(w.org, "https://tver.ru", w.operator.user, T0)
        .await
        .unwrap();
    assert_eq!(
        outcome(
            store
                .add_widget_site(w.org, "https://tver.ru", w.operator.user, T0)
                .await
        ),
        "conflict:widget_site_exists"
    );
    let sites = store.widget_sites(w.org).await.unwrap();
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0].origin, "https://tver.ru");
    assert!(store.widget_sites(w.other_org).await.unwrap().is_empty());
    assert_eq!(
        outcome(
            store
                .remove_widget_site(w.other_org, "https://tver.ru", w.operator.user, T0)
                .await
        ),
        "not_found"
    );
    store
        .remove_widget_site(w.org, "https://tver.ru", w.operator.user, T0)
        .await
        .unwrap();
    assert!(store.widget_sites(w.org).await.unwrap().is_empty());
    let changes = store.config_changes(20, 0).await.unwrap();
    assert_eq!(
        changes.iter().filter(|c| c.entity == "widget_site").count(),
        2
    );
    assert_eq!(changes.iter().filter(|c| c.entity == "staff").count(), 2);
}
