//! An organisation's own administration — its officials, integration clients and widget
//! sites — independent of HTTP, shared by the pages (`/org/{id}`) and the API
//! (`/api/v1/organisations/{id}/…`). The caller has already asked the policy for
//! `Capability::AdministerOrganisation(org)`. Secrets are generated here, returned once,
//! and stored only as hashes.

use otklik_domain::access::{ApiScope, Verification};
use otklik_domain::lifecycle::Role;
use otklik_domain::text::{ClientId, Email, PersonName, WidgetOrigin};
use otklik_domain::{OrgId, UserId};
use otklik_store::Store;
use time::OffsetDateTime;

use crate::auth;
use crate::error::AppError;

/// Adds an official (`official`) or administrator (`org_admin`) of `org`; returns the new
/// account and its first password.
pub async fn add_staff(
    store: &dyn Store,
    org: OrgId,
    email: &str,
    full_name: &str,
    role: &str,
) -> Result<(UserId, String), AppError> {
    let (email, full_name, role) = check_staff(org, email, full_name, role)?;
    let password = auth::new_token();
    let secret = password.clone();
    let password_hash = auth::with_argon2(move || auth::hash_password(&secret))
        .await
        .ok_or_else(AppError::internal)??;
    let id = store
        .create_user(otklik_store::NewUser {
            email,
            password_hash,
            full_name,
            role,
            // The organisation vouches for its staff.
            verification: Verification::Verified,
        })
        .await
        .map_err(|e| match e {
            otklik_store::StoreError::Conflict(code) => AppError::field("email", code),
            other => other.into(),
        })?;
    Ok((id, password))
}

/// A new staff account's values as typed, checked: the first refusal as a field error.
pub fn check_staff(
    org: OrgId,
    email: &str,
    full_name: &str,
    role: &str,
) -> Result<(Email, PersonName, Role), AppError> {
    let email = Email::parse(email).map_err(|c| AppError::field("email", c))?;
    let full_name = PersonName::parse(full_name).map_err(|c| AppError::field("full_name", c))?;
    let role = match role {
        "official" | "" => Role::Official(org),
        "org_admin" => Role::OrgAdmin(org),
        _ => return Err(AppError::field("role", "unknown_value")),
    };
    Ok((email, full_name, role))
}

/// Disables (ending its sessions) or re-enables a staff account of `org`. Nobody
/// disables themselves: another administrator or the operator can.
pub async fn set_staff_disabled(
    store: &dyn Store,
    org: OrgId,
    by: UserId,
    user: UserId,
    disabled: bool,
) -> Result<(), AppError> {
    if disabled && user == by {
        return Err(AppError::forbidden());
    }
    Ok(store
        .set_staff_disabled(org, user, disabled, by, OffsetDateTime::now_utc())
        .await?)
}

/// A client connected: its id, its secret (shown once) and its scopes.
pub struct NewClient {
    pub client_id: String,
    pub secret: String,
    pub scopes: Vec<ApiScope>,
}

/// An integration client's values as typed (page form or API body), checked: the first
/// refusal as a field error.
pub fn check_client(
    client_id: &str,
    name: &str,
    scopes: &[String],
) -> Result<(ClientId, PersonName, Vec<ApiScope>), AppError> {
    let client_id = ClientId::parse(client_id).map_err(|c| AppError::field("client_id", c))?;
    let name = PersonName::parse(name).map_err(|c| AppError::field("name", c))?;
    let scopes = ApiScope::parse_list(&scopes.join(" "))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AppError::field("scope", "invalid_scope"))?;
    Ok((client_id, name, scopes))
}

/// Connects an integration client of `org` with the given scopes (names as in OAuth).
pub async fn add_client(
    store: &dyn Store,
    org: OrgId,
    by: UserId,
    client_id: &str,
    name: &str,
    scopes: &[String],
) -> Result<NewClient, AppError> {
    let (client_id, name, scopes) = check_client(client_id, name, scopes)?;
    let secret = auth::new_token();
    store
        .create_api_client(otklik_store::NewApiClient {
            client_id: client_id.as_str().to_owned(),
            org,
            name,
            secret_sha256: auth::token_digest(&secret),
            scopes: scopes.clone(),
            created_by: by,
        })
        .await
        .map_err(|e| match e {
            otklik_store::StoreError::Conflict(code) => AppError::field("client_id", code),
            other => other.into(),
        })?;
    Ok(NewClient {
        client_id: client_id.as_str().to_owned(),
        secret,
        scopes,
    })
}

pub async fn revoke_client(
    store: &dyn Store,
    org: OrgId,
    by: UserId,
    client_id: &str,
) -> Result<(), AppError> {
    Ok(store
        .revoke_api_client(org, client_id, by, OffsetDateTime::now_utc())
        .await?)
}

/// Adds (or removes) a site allowed to embed the organisation's widget.
pub async fn change_site(
    store: &dyn Store,
    org: OrgId,
    by: UserId,
    origin: &str,
    add: bool,
) -> Result<String, AppError> {
    let origin = WidgetOrigin::parse(origin).map_err(|c| AppError::field("origin", c))?;
    let now = OffsetDateTime::now_utc();
    let result = if add {
        store.add_widget_site(org, origin.as_str(), by, now).await
    } else {
        store
            .remove_widget_site(org, origin.as_str(), by, now)
            .await
    };
    result.map_err(|e| match e {
        otklik_store::StoreError::Conflict(code) => AppError::field("origin", code),
        other => other.into(),
    })?;
    Ok(origin.as_str().to_owned())
}

/// Delivery settings as typed (page form or API body).
#[derive(Debug, Clone, Default)]
pub struct IntegrationInput {
    pub mode: String,
    pub push_url: String,
    /// Empty: keep the stored secret, or generate one when there is none.
    pub push_secret: String,
    pub visibility_timeout_seconds: Option<u64>,
    pub alert_after_failures: Option<u32>,
}

/// Delivery settings as typed, checked without the store: `kept_secret` is the push
/// secret used when none is typed (the stored one, or a new one). Every bad value is a
/// field error.
pub fn integration_settings(
    input: &IntegrationInput,
    allow_private_targets: bool,
    kept_secret: String,
) -> Result<otklik_domain::delivery::DeliverySettings, AppError> {
    use otklik_domain::delivery::{self, DeliveryMode, DeliverySettings, PushUrl};
    let mut errors = otklik_domain::ValidationErrors::default();
    let mode = errors.check("mode", DeliveryMode::parse(&input.mode));
    let push = match mode {
        Some(DeliveryMode::Push) => {
            let url = errors
                .check("push_url", PushUrl::parse(&input.push_url))
                .filter(|url| {
                    let allowed =
                        allow_private_targets || crate::delivery::may_target(url.as_str());
                    if !allowed {
                        errors.push("push_url", "private_address");
                    }
                    allowed
                });
            let secret = match input.push_secret.trim() {
                "" => kept_secret,
                given => given.to_owned(),
            };
            url.map(|url| (url, secret))
        }
        _ => None,
    };
    let (Some(mode), true) = (mode, errors.is_empty()) else {
        return Err(AppError::validation(errors));
    };
    DeliverySettings::new(
        mode,
        push,
        input
            .visibility_timeout_seconds
            .unwrap_or(delivery::DEFAULT_VISIBILITY_TIMEOUT_SECONDS),
        input
            .alert_after_failures
            .unwrap_or(delivery::DEFAULT_ALERT_AFTER_FAILURES),
    )
    .map_err(AppError::validation)
}

/// Sets how `org`'s own system takes its submissions. Returns the push secret when one
/// was generated (shown once; only the organisation's system needs it).
pub async fn set_integration(
    store: &dyn Store,
    org: OrgId,
    by: UserId,
    input: IntegrationInput,
    allow_private_targets: bool,
    now: OffsetDateTime,
) -> Result<Option<String>, AppError> {
    use otklik_domain::delivery::DeliveryMode;
    // Only a push whose secret is left empty needs the stored one (or a new one).
    let mut generated = None;
    let kept = if DeliveryMode::parse(&input.mode) == Ok(DeliveryMode::Push)
        && input.push_secret.trim().is_empty()
    {
        match store.integration(org).await?.and_then(|i| i.push_secret) {
            Some(kept) => kept,
            None => {
                let fresh = auth::new_token();
                generated = Some(fresh.clone());
                fresh
            }
        }
    } else {
        String::new()
    };
    let settings = integration_settings(&input, allow_private_targets, kept)?;
    store
        .put_integration(org, &settings, Some(by), now)
        .await
        .map_err(|e| match e {
            otklik_store::StoreError::InvalidReference(_) => AppError::not_found(),
            other => other.into(),
        })?;
    Ok(generated)
}
