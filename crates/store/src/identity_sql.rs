//! The `Identity` trait for both backends, written once like `common::impl_store!`:
//! lockout, scoped sessions, provider logins and linked identities, staff, integration
//! clients and widget sites. Changes made by administrators are recorded in
//! `config_changes` like every other configuration change.

use sha2::{Digest, Sha256};

/// The address of an account created from a provider's identity that gave no usable
/// e-mail: unique, stable, and never deliverable (`.invalid`, RFC 2606).
pub(crate) fn placeholder_email(issuer: &str, subject: &str) -> String {
    let digest = Sha256::digest(format!("{issuer}\n{subject}").as_bytes());
    format!("id-{}@id.otklik.invalid", &hex::encode(digest)[..24])
}

/// Accounts that have no password of their own (provider logins, integration clients)
/// store this, which no PHC parser accepts, so no password ever matches.
pub(crate) const NO_PASSWORD: &str = "!";

/// Which integration clients to read.
pub(crate) enum ClientFilter {
    ClientId,
    Org,
}

macro_rules! client_select {
    () => {
        "SELECT u.id, u.email, u.full_name, u.role, u.org_id, u.region_id, \
                u.password_hash, u.verification, u.locked_until, u.disabled_at, \
                c.client_id, c.secret_sha256, c.scopes, c.created_at, c.revoked_at \
         FROM api_clients c JOIN users u ON u.id = c.user_id"
    };
}
pub(crate) use client_select;

macro_rules! impl_identity {
    (
        store: $store:ty,
        db: $db:ty,
        write: $write:ident,
        read: $read:ident,
        begin_write: $begin_write:literal $(,)?
    ) => {
        #[::async_trait::async_trait]
        impl $crate::Identity for $store {
            async fn record_login_failure(
                &self,
                user: ::otklik_domain::UserId,
                policy: $crate::LockoutPolicy,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<Option<::time::OffsetDateTime>> {
                let until = $crate::common::ts(now + policy.lock_for);
                let locked = ::sqlx::query_scalar::<$db, Option<i64>>(
                    "UPDATE users SET failed_logins = failed_logins + 1, \
                         locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 \
                                             ELSE locked_until END \
                     WHERE id = $1 RETURNING locked_until",
                )
                .bind(user.0)
                .bind(i64::from(policy.max_failures))
                .bind(until)
                .fetch_optional(self.$write())
                .await?
                .flatten();
                locked.map($crate::common::from_ts).transpose()
            }

            async fn record_login_success(
                &self,
                user: ::otklik_domain::UserId,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "UPDATE users SET failed_logins = 0, locked_until = NULL \
                     WHERE id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)",
                )
                .bind(user.0)
                .execute(self.$write())
                .await?;
                Ok(())
            }

            async fn session(
                &self,
                token_sha256: &[u8; 32],
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<Option<$crate::SessionRecord>> {
                #[derive(::sqlx::FromRow)]
                struct Row {
                    #[sqlx(flatten)]
                    user: $crate::common::UserRow,
                    scopes: Option<String>,
                }
                let row = ::sqlx::query_as::<$db, Row>(
                    "SELECT u.id, u.email, u.full_name, u.role, u.org_id, u.region_id, \
                            u.password_hash, u.verification, u.locked_until, u.disabled_at, \
                            s.scopes \
                     FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.token_sha256 = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
                )
                .bind(&token_sha256[..])
                .bind($crate::common::ts(now))
                .fetch_optional(self.$read())
                .await?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some($crate::SessionRecord {
                    user: row.user.into_model()?,
                    scopes: row.scopes.as_deref().map($crate::common::scopes_of).transpose()?,
                }))
            }

            async fn create_scoped_session(
                &self,
                token_sha256: &[u8; 32],
                user: ::otklik_domain::UserId,
                scopes: &[::otklik_domain::access::ApiScope],
                expires_at: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "INSERT INTO sessions (token_sha256, user_id, created_at, expires_at, scopes) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&token_sha256[..])
                .bind(user.0)
                .bind($crate::common::ts(::time::OffsetDateTime::now_utc()))
                .bind($crate::common::ts(expires_at))
                .bind(::otklik_domain::access::ApiScope::join(scopes))
                .execute(self.$write())
                .await
                .map_err(|e| $crate::common::constraint(e, "session_taken", "unknown_user"))?;
                Ok(())
            }

            async fn begin_provider_login(
                &self,
                pending: $crate::PendingLogin,
            ) -> $crate::StoreResult<()> {
                ::sqlx::query::<$db>(
                    "INSERT INTO oidc_logins (state_sha256, browser_sha256, nonce, pkce_verifier, \
                         link_user_id, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&pending.state_sha256[..])
                .bind(&pending.browser_sha256[..])
                .bind(&pending.nonce)
                .bind(&pending.pkce_verifier)
                .bind(pending.link_user.map(|u| u.0))
                .bind($crate::common::ts(pending.expires_at))
                .execute(self.$write())
                .await
                .map_err(|e| $crate::common::constraint(e, "state_taken", "unknown_user"))?;
                Ok(())
            }

            async fn take_provider_login(
                &self,
                state_sha256: &[u8; 32],
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<Option<$crate::PendingLogin>> {
                type Row = (Vec<u8>, Vec<u8>, String, String, Option<i64>, i64);
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<Option<Row>> = async {
                    let row = ::sqlx::query_as::<$db, Row>(
                        "DELETE FROM oidc_logins WHERE state_sha256 = $1 \
                         RETURNING state_sha256, browser_sha256, nonce, pkce_verifier, \
                                   link_user_id, expires_at",
                    )
                    .bind(&state_sha256[..])
                    .fetch_optional(&mut *tx)
                    .await?;
                    ::sqlx::query::<$db>("DELETE FROM oidc_logins WHERE expires_at <= $1")
                        .bind($crate::common::ts(now))
                        .execute(&mut *tx)
                        .await?;
                    Ok(row)
                }
                .await;
                let row = $crate::common::finish(tx, result).await?;
                let Some((state, browser, nonce, verifier, link, expires)) = row else {
                    return Ok(None);
                };
                let expires_at = $crate::common::from_ts(expires)?;
                if expires_at <= now {
                    return Ok(None);
                }
                let digest = |v: Vec<u8>| {
                    <[u8; 32]>::try_from(v).map_err(|_| $crate::common::corrupt("oidc_logins"))
                };
                Ok(Some($crate::PendingLogin {
                    state_sha256: digest(state)?,
                    browser_sha256: digest(browser)?,
                    nonce,
                    pkce_verifier: verifier,
                    link_user: link.map(::otklik_domain::UserId),
                    expires_at,
                }))
            }

            async fn sign_in_with_identity(
                &self,
                identity: $crate::ProvidedIdentity,
                link: Option<::otklik_domain::UserId>,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<$crate::UserRecord> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result = Self::sign_in_tx(&mut tx, &identity, link, now).await;
                let user = $crate::common::finish(tx, result).await?;
                $crate::Store::user(self, user).await
            }

            async fn account_profile(
                &self,
                user: ::otklik_domain::UserId,
            ) -> $crate::StoreResult<$crate::AccountProfile> {
                let record = $crate::Store::user(self, user).await?;
                let (birth, region, has_key) = ::sqlx::query_as::<$db, (Option<String>, Option<String>, bool)>(
                    "SELECT u.birth_date, r.name, u.identity_key IS NOT NULL \
                     FROM users u LEFT JOIN regions r ON r.id = u.home_region_id WHERE u.id = $1",
                )
                .bind(user.0)
                .fetch_one(self.$read())
                .await?;
                let rows = ::sqlx::query_as::<$db, (String, String, String, i64, i64)>(
                    "SELECT issuer, subject, verification, linked_at, last_login_at \
                     FROM identities WHERE user_id = $1 ORDER BY id",
                )
                .bind(user.0)
                .fetch_all(self.$read())
                .await?;
                let mut identities = Vec::with_capacity(rows.len());
                for (issuer, subject, verification, linked, last) in rows {
                    identities.push($crate::LinkedIdentity {
                        issuer,
                        subject,
                        verification: $crate::common::verification_of(&verification)?,
                        linked_at: $crate::common::from_ts(linked)?,
                        last_login_at: $crate::common::from_ts(last)?,
                    });
                }
                let birth_date = birth
                    .map(|b| {
                        ::time::Date::parse(&b, &::time::format_description::well_known::Iso8601::DATE)
                            .map_err(|_| $crate::common::corrupt("users.birth_date"))
                    })
                    .transpose()?;
                Ok($crate::AccountProfile {
                    user: record,
                    birth_date,
                    home_region: region,
                    identities,
                    has_identity_key: has_key,
                })
            }

            async fn personal_data_accesses_of(
                &self,
                citizen: ::otklik_domain::UserId,
                limit: u32,
            ) -> $crate::StoreResult<Vec<$crate::PersonalDataAccess>> {
                ::sqlx::query_as::<$db, $crate::common::AccessRow>(
                    "SELECT p.staff_id, u.full_name AS staff_name, p.submission_id, p.purpose, p.at \
                     FROM personal_data_access p \
                     JOIN submissions s ON s.id = p.submission_id \
                     JOIN users u ON u.id = p.staff_id \
                     WHERE s.author_id = $1 ORDER BY p.at DESC, p.id DESC LIMIT $2",
                )
                .bind(citizen.0)
                .bind(i64::from(limit))
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map($crate::common::AccessRow::into_model)
                .collect()
            }

            async fn staff(
                &self,
                org: ::otklik_domain::OrgId,
            ) -> $crate::StoreResult<Vec<$crate::UserRecord>> {
                ::sqlx::query_as::<$db, $crate::common::UserRow>(concat!(
                    $crate::common::user_select!(),
                    " WHERE org_id = $1 AND role IN ('official', 'org_admin') ORDER BY full_name, id"
                ))
                .bind(org.0)
                .fetch_all(self.$read())
                .await?
                .into_iter()
                .map($crate::common::UserRow::into_model)
                .collect()
            }

            async fn set_staff_disabled(
                &self,
                org: ::otklik_domain::OrgId,
                user: ::otklik_domain::UserId,
                disabled: bool,
                by: ::otklik_domain::UserId,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    let changed = ::sqlx::query::<$db>(
                        "UPDATE users SET disabled_at = $4 \
                         WHERE id = $1 AND org_id = $2 AND role IN ('official', 'org_admin') \
                           AND (disabled_at IS NULL) = $3",
                    )
                    .bind(user.0)
                    .bind(org.0)
                    .bind(disabled)
                    .bind(disabled.then(|| $crate::common::ts(now)))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if changed == 0 {
                        // Unknown, not staff of this organisation, or already so.
                        let exists = ::sqlx::query_scalar::<$db, i64>(
                            "SELECT id FROM users WHERE id = $1 AND org_id = $2 \
                               AND role IN ('official', 'org_admin')",
                        )
                        .bind(user.0)
                        .bind(org.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                        return match exists {
                            Some(_) => Ok(()),
                            None => Err($crate::StoreError::NotFound),
                        };
                    }
                    if disabled {
                        ::sqlx::query::<$db>("DELETE FROM sessions WHERE user_id = $1")
                            .bind(user.0)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let state = if disabled { "disabled" } else { "enabled" };
                    Self::record_change(
                        &mut *tx,
                        Some(by),
                        now,
                        "staff",
                        &user.0.to_string(),
                        None,
                        Some(format!("{{\"org\":{},\"state\":\"{state}\"}}", org.0)),
                    )
                    .await
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn create_api_client(
                &self,
                client: $crate::NewApiClient,
            ) -> $crate::StoreResult<::otklik_domain::UserId> {
                let now = ::time::OffsetDateTime::now_utc();
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<i64> = async {
                    let id = ::sqlx::query_scalar::<$db, i64>(
                        "INSERT INTO users (email, password_hash, full_name, role, org_id, \
                             created_at, verification) \
                         VALUES ($1, $2, $3, 'integration', $4, $5, 'verified') RETURNING id",
                    )
                    .bind(format!("{}@clients.otklik.invalid", client.client_id))
                    .bind($crate::identity_sql::NO_PASSWORD)
                    .bind(client.name.as_str())
                    .bind(client.org.0)
                    .bind($crate::common::ts(now))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| {
                        $crate::common::constraint(e, "client_id_taken", "unknown_organisation")
                    })?;
                    ::sqlx::query::<$db>(
                        "INSERT INTO api_clients (client_id, user_id, secret_sha256, scopes, \
                             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&client.client_id)
                    .bind(id)
                    .bind(&client.secret_sha256[..])
                    .bind(::otklik_domain::access::ApiScope::join(&client.scopes))
                    .bind(client.created_by.0)
                    .bind($crate::common::ts(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| $crate::common::constraint(e, "client_id_taken", "unknown_user"))?;
                    Self::record_change(
                        &mut *tx,
                        Some(client.created_by),
                        now,
                        "api_client",
                        &client.client_id,
                        None,
                        Some(format!(
                            "{{\"org\":{},\"scopes\":\"{}\"}}",
                            client.org.0,
                            ::otklik_domain::access::ApiScope::join(&client.scopes)
                        )),
                    )
                    .await?;
                    Ok(id)
                }
                .await;
                $crate::common::finish(tx, result)
                    .await
                    .map(::otklik_domain::UserId)
            }

            async fn api_client(
                &self,
                client_id: &str,
            ) -> $crate::StoreResult<Option<$crate::ApiClientRecord>> {
                let rows = Self::api_clients_where(self.$read(), $crate::identity_sql::ClientFilter::ClientId, client_id.to_owned()).await?;
                Ok(rows.into_iter().next())
            }

            async fn api_clients(
                &self,
                org: ::otklik_domain::OrgId,
            ) -> $crate::StoreResult<Vec<$crate::ApiClientRecord>> {
                Self::api_clients_where(self.$read(), $crate::identity_sql::ClientFilter::Org, org.0).await
            }

            async fn revoke_api_client(
                &self,
                org: ::otklik_domain::OrgId,
                client_id: &str,
                by: ::otklik_domain::UserId,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    let user = ::sqlx::query_scalar::<$db, i64>(
                        "SELECT c.user_id FROM api_clients c JOIN users u ON u.id = c.user_id \
                         WHERE c.client_id = $1 AND u.org_id = $2",
                    )
                    .bind(client_id)
                    .bind(org.0)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                    ::sqlx::query::<$db>(
                        "UPDATE api_clients SET revoked_at = COALESCE(revoked_at, $2) \
                         WHERE client_id = $1",
                    )
                    .bind(client_id)
                    .bind($crate::common::ts(now))
                    .execute(&mut *tx)
                    .await?;
                    ::sqlx::query::<$db>(
                        "UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1",
                    )
                    .bind(user)
                    .bind($crate::common::ts(now))
                    .execute(&mut *tx)
                    .await?;
                    ::sqlx::query::<$db>("DELETE FROM sessions WHERE user_id = $1")
                        .bind(user)
                        .execute(&mut *tx)
                        .await?;
                    Self::record_change(
                        &mut *tx,
                        Some(by),
                        now,
                        "api_client",
                        client_id,
                        None,
                        Some("{\"state\":\"revoked\"}".to_owned()),
                    )
                    .await
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn widget_sites(
                &self,
                org: ::otklik_domain::OrgId,
            ) -> $crate::StoreResult<Vec<$crate::WidgetSite>> {
                let rows = ::sqlx::query_as::<$db, (String, String, i64)>(
                    "SELECT w.origin, u.full_name, w.added_at FROM widget_sites w \
                     JOIN users u ON u.id = w.added_by WHERE w.org_id = $1 ORDER BY w.origin",
                )
                .bind(org.0)
                .fetch_all(self.$read())
                .await?;
                rows.into_iter()
                    .map(|(origin, added_by, at)| {
                        Ok($crate::WidgetSite {
                            origin,
                            added_by,
                            added_at: $crate::common::from_ts(at)?,
                        })
                    })
                    .collect()
            }

            async fn add_widget_site(
                &self,
                org: ::otklik_domain::OrgId,
                origin: &str,
                by: ::otklik_domain::UserId,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    ::sqlx::query::<$db>(
                        "INSERT INTO widget_sites (org_id, origin, added_by, added_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(org.0)
                    .bind(origin)
                    .bind(by.0)
                    .bind($crate::common::ts(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        $crate::common::constraint(e, "widget_site_exists", "unknown_organisation")
                    })?;
                    Self::record_change(
                        &mut *tx,
                        Some(by),
                        now,
                        "widget_site",
                        &format!("{}:{origin}", org.0),
                        None,
                        Some(origin.to_owned()),
                    )
                    .await
                }
                .await;
                $crate::common::finish(tx, result).await
            }

            async fn remove_widget_site(
                &self,
                org: ::otklik_domain::OrgId,
                origin: &str,
                by: ::otklik_domain::UserId,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<()> {
                let mut tx = self.$write().begin_with($begin_write).await?;
                let result: $crate::StoreResult<()> = async {
                    let removed = ::sqlx::query::<$db>(
                        "DELETE FROM widget_sites WHERE org_id = $1 AND origin = $2",
                    )
                    .bind(org.0)
                    .bind(origin)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if removed == 0 {
                        return Err($crate::StoreError::NotFound);
                    }
                    Self::record_change(
                        &mut *tx,
                        Some(by),
                        now,
                        "widget_site",
                        &format!("{}:{origin}", org.0),
                        Some(origin.to_owned()),
                        None,
                    )
                    .await
                }
                .await;
                $crate::common::finish(tx, result).await
            }
        }

        impl $store {
            async fn api_clients_where<'e, E, T>(
                executor: E,
                condition: $crate::identity_sql::ClientFilter,
                value: T,
            ) -> $crate::StoreResult<Vec<$crate::ApiClientRecord>>
            where
                E: ::sqlx::Executor<'e, Database = $db>,
                T: 'e + Send + ::sqlx::Encode<'e, $db> + ::sqlx::Type<$db>,
            {
                #[derive(::sqlx::FromRow)]
                struct Row {
                    #[sqlx(flatten)]
                    user: $crate::common::UserRow,
                    client_id: String,
                    secret_sha256: Vec<u8>,
                    scopes: String,
                    created_at: i64,
                    revoked_at: Option<i64>,
                }
                let sql = match condition {
                    $crate::identity_sql::ClientFilter::ClientId => concat!($crate::identity_sql::client_select!(), " WHERE c.client_id = $1"),
                    $crate::identity_sql::ClientFilter::Org => concat!($crate::identity_sql::client_select!(), " WHERE u.org_id = $1 ORDER BY c.created_at, c.client_id"),
                };
                let rows = ::sqlx::query_as::<$db, Row>(sql)
                    .bind(value)
                    .fetch_all(executor)
                    .await?;
                rows.into_iter()
                    .map(|row| {
                        let user = row.user.into_model()?;
                        let org = user
                            .role
                            .organisation()
                            .ok_or_else(|| $crate::common::corrupt("api_clients.user"))?;
                        Ok($crate::ApiClientRecord {
                            client_id: row.client_id,
                            name: user.full_name.clone(),
                            org,
                            user,
                            secret_sha256: row.secret_sha256,
                            scopes: $crate::common::scopes_of(&row.scopes)?,
                            created_at: $crate::common::from_ts(row.created_at)?,
                            revoked: row.revoked_at.is_some(),
                        })
                    })
                    .collect()
            }

            /// The account a provider's identity signs in to (found, linked or created),
            /// refreshed from what the provider asserted. Runs inside the caller's
            /// transaction.
            async fn sign_in_tx(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                identity: &$crate::ProvidedIdentity,
                link: Option<::otklik_domain::UserId>,
                now: ::time::OffsetDateTime,
            ) -> $crate::StoreResult<::otklik_domain::UserId> {
                let at = $crate::common::ts(now);
                let linked = ::sqlx::query_scalar::<$db, i64>(
                    "SELECT user_id FROM identities WHERE issuer = $1 AND subject = $2",
                )
                .bind(&identity.issuer)
                .bind(&identity.subject)
                .fetch_optional(&mut *conn)
                .await?;
                let key = identity.identity_key.map(|k| k.to_vec());
                let user = match (linked, link) {
                    (Some(owner), Some(wanted)) if owner != wanted.0 => {
                        return Err($crate::StoreError::Conflict("identity_linked_elsewhere"));
                    }
                    (Some(owner), _) => owner,
                    (None, link) => {
                        let user = match link {
                            Some(user) => user.0,
                            None => Self::create_from_identity(&mut *conn, identity, at).await?,
                        };
                        ::sqlx::query::<$db>(
                            "INSERT INTO identities (user_id, issuer, subject, verification, \
                                 linked_at, last_login_at) VALUES ($1, $2, $3, $4, $5, $5)",
                        )
                        .bind(user)
                        .bind(&identity.issuer)
                        .bind(&identity.subject)
                        .bind(identity.verification.as_str())
                        .bind(at)
                        .execute(&mut *conn)
                        .await
                        .map_err(|e| {
                            $crate::common::constraint(e, "identity_linked_elsewhere", "unknown_user")
                        })?;
                        user
                    }
                };
                let (role, org, region, current, stored_key, disabled) =
                    ::sqlx::query_as::<$db, (String, Option<i64>, Option<i64>, String, Option<Vec<u8>>, Option<i64>)>(
                        "SELECT role, org_id, region_id, verification, identity_key, disabled_at \
                         FROM users WHERE id = $1",
                    )
                    .bind(user)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or($crate::StoreError::NotFound)?;
                if disabled.is_some() {
                    return Err($crate::StoreError::Conflict("account_disabled"));
                }
                if let (Some(stored), Some(given)) = (&stored_key, &key) {
                    if stored != given {
                        // The provider vouches for a different person than this account's.
                        return Err($crate::StoreError::Conflict("identity_mismatch"));
                    }
                }
                let role = $crate::common::role_of(&role, org, region)?;
                let current = $crate::common::verification_of(&current)?;
                // A citizen is as verified as the provider says now (a level can be
                // withdrawn); staff were vouched for by their organisation and keep that.
                let level = if role == ::otklik_domain::lifecycle::Role::Citizen {
                    identity.verification
                } else {
                    current.max(identity.verification)
                };
                let home_region = match &identity.home_region_code {
                    Some(code) => ::sqlx::query_scalar::<$db, i64>("SELECT id FROM regions WHERE code = $1")
                        .bind(code)
                        .fetch_optional(&mut *conn)
                        .await?,
                    None => None,
                };
                let birth = identity.birth_date.map(|d| d.to_string());
                ::sqlx::query::<$db>(
                    "UPDATE users SET verification = $2, \
                         identity_key = COALESCE(identity_key, $3), \
                         full_name = COALESCE($4, full_name), \
                         birth_date = COALESCE($5, birth_date), \
                         home_region_id = COALESCE($6, home_region_id), \
                         home_municipality_id = CASE WHEN $6 IS NULL OR $6 = home_region_id \
                             THEN home_municipality_id ELSE NULL END \
                     WHERE id = $1",
                )
                .bind(user)
                .bind(level.as_str())
                .bind(key)
                .bind(identity.full_name.as_ref().map(|n| n.as_str().to_owned()))
                .bind(birth)
                .bind(home_region)
                .execute(&mut *conn)
                .await
                .map_err(|e| $crate::common::constraint(e, "identity_in_use", "unknown_region"))?;
                ::sqlx::query::<$db>(
                    "UPDATE identities SET verification = $3, last_login_at = $4 \
                     WHERE issuer = $1 AND subject = $2",
                )
                .bind(&identity.issuer)
                .bind(&identity.subject)
                .bind(identity.verification.as_str())
                .bind(at)
                .execute(&mut *conn)
                .await?;
                Ok(::otklik_domain::UserId(user))
            }

            /// A new citizen account for a first login with a provider; refused when the
            /// person (by the national identifier) already has an account.
            async fn create_from_identity(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                identity: &$crate::ProvidedIdentity,
                at: i64,
            ) -> $crate::StoreResult<i64> {
                if let Some(key) = &identity.identity_key {
                    let holder = ::sqlx::query_scalar::<$db, i64>(
                        "SELECT id FROM users WHERE identity_key = $1",
                    )
                    .bind(&key[..])
                    .fetch_optional(&mut *conn)
                    .await?;
                    if holder.is_some() {
                        return Err($crate::StoreError::Conflict("identity_in_use"));
                    }
                }
                let mut email = identity.email.as_ref().map(|e| e.as_str().to_owned());
                if let Some(address) = &email {
                    let taken = ::sqlx::query_scalar::<$db, i64>("SELECT id FROM users WHERE email = $1")
                        .bind(address)
                        .fetch_optional(&mut *conn)
                        .await?;
                    // Never attach to a local account by e-mail alone: that would let a
                    // provider account take over an account it does not own.
                    if taken.is_some() {
                        email = None;
                    }
                }
                let email = email.unwrap_or_else(|| {
                    $crate::identity_sql::placeholder_email(&identity.issuer, &identity.subject)
                });
                let name = identity
                    .full_name
                    .as_ref()
                    .map_or("Пользователь", |n| n.as_str())
                    .to_owned();
                ::sqlx::query_scalar::<$db, i64>(
                    "INSERT INTO users (email, password_hash, full_name, role, created_at, \
                         verification) VALUES ($1, $2, $3, 'citizen', $4, $5) RETURNING id",
                )
                .bind(email)
                .bind($crate::identity_sql::NO_PASSWORD)
                .bind(name)
                .bind(at)
                .bind(identity.verification.as_str())
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| $crate::common::constraint(e, "email_taken", "unknown_user"))
            }
        }
    };
}

pub(crate) use impl_identity;
