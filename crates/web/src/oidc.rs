//! Login with an OpenID Connect provider (ЕСИА, a regional gateway): the authorization
//! code flow with PKCE (S256), `state` and `nonce`, via the `openidconnect` crate, which
//! checks the ID token's signature (the provider's JWKS), issuer, audience, expiry and
//! nonce. The provider's claims are mapped to a person by the settings' claim mapping.
//!
//! The pending login (state, nonce, PKCE verifier) is kept in the database, one use, and
//! bound to the browser that started it (login CSRF). The provider's discovery document
//! and keys are cached for ten minutes; a failed check of a signature refetches them once,
//! so a key rotation does not lock people out.

use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    TokenResponse,
};
use otklik_domain::access::Verification;
use otklik_domain::text::{Email, PersonName};
use otklik_domain::UserId;
use otklik_store::{PendingLogin, ProvidedIdentity};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

use crate::config::{ClaimMapping, OidcConfig};
use crate::error::AppError;

/// How long a started login may take at the provider.
pub const LOGIN_LIFETIME: time::Duration = time::Duration::minutes(10);
const METADATA_TTL: Duration = Duration::from_secs(600);

/// A configured identity provider.
pub struct Provider {
    config: OidcConfig,
    http: reqwest::Client,
    metadata: tokio::sync::RwLock<Option<(Instant, CoreProviderMetadata)>>,
    /// Keys the national identifier's hash, so the stored key is useless elsewhere.
    identity_key_secret: Vec<u8>,
}

/// Where to send the browser, and what to keep until it returns.
pub struct Started {
    pub authorize_url: String,
    pub pending: PendingLogin,
}

impl Provider {
    pub fn new(config: OidcConfig, installation_key: &[u8]) -> Self {
        let http = reqwest::Client::builder()
            // Following redirects would open the door to SSRF.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(u64::from(
                config.timeout_seconds.max(1),
            )))
            .build()
            .unwrap_or_default();
        // A key of its own, derived from the installation's secret.
        let mut derived = Sha256::new();
        derived.update(b"otklik-identity-key/v1\n");
        derived.update(installation_key);
        Self {
            config,
            http,
            metadata: tokio::sync::RwLock::new(None),
            identity_key_secret: derived.finalize().to_vec(),
        }
    }

    pub fn display_name(&self) -> &str {
        &self.config.display_name
    }

    /// The provider's discovery document and keys, from the cache or fetched.
    async fn metadata(&self, refresh: bool) -> Result<CoreProviderMetadata, AppError> {
        if !refresh {
            if let Some((at, meta)) = self.metadata.read().await.as_ref() {
                if at.elapsed() < METADATA_TTL {
                    return Ok(meta.clone());
                }
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|_| unavailable())?;
        let meta = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "identity provider discovery failed");
                unavailable()
            })?;
        *self.metadata.write().await = Some((Instant::now(), meta.clone()));
        Ok(meta)
    }

    async fn client(
        &self,
        refresh: bool,
    ) -> Result<
        openidconnect::core::CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        AppError,
    > {
        let meta = self.metadata(refresh).await?;
        let redirect = RedirectUrl::new(self.config.redirect_url.clone()).map_err(|_| {
            tracing::error!("the identity provider's redirect_url is not a URL");
            AppError::new(StatusCode::SERVICE_UNAVAILABLE, "login_not_configured")
        })?;
        Ok(CoreClient::from_provider_metadata(
            meta,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(
                self.config.client_secret.expose().to_owned(),
            )),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a login (or, with `link`, the linking of an identity to that account) for
    /// the browser whose cookie is `browser`.
    pub async fn begin(
        &self,
        browser: &str,
        link: Option<UserId>,
        now: OffsetDateTime,
    ) -> Result<Started, AppError> {
        let client = self.client(false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(Started {
            authorize_url: url.to_string(),
            pending: PendingLogin {
                state_sha256: Sha256::digest(state.secret().as_bytes()).into(),
                browser_sha256: Sha256::digest(browser.as_bytes()).into(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                link_user: link,
                expires_at: now + LOGIN_LIFETIME,
            },
        })
    }

    /// Exchanges the code, checks the ID token and maps its claims to a person.
    pub async fn finish(
        &self,
        code: &str,
        pending: &PendingLogin,
    ) -> Result<ProvidedIdentity, AppError> {
        let client = self.client(false).await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| unavailable())?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => {
                    tracing::warn!(error = ?r.error(), "the identity provider refused the code");
                    AppError::new(StatusCode::BAD_REQUEST, "provider_refused")
                }
                other => {
                    tracing::warn!(error = %other, "token request failed");
                    unavailable()
                }
            })?;
        let token = response.id_token().ok_or_else(|| {
            tracing::warn!("the identity provider returned no ID token");
            invalid_token()
        })?;
        let nonce = Nonce::new(pending.nonce.clone());
        let skew = i64::from(self.config.clock_skew_seconds);
        let check = |client: &CoreClient<_, _, _, _, _, _>| {
            let verifier = client
                .id_token_verifier()
                .set_time_fn(move || chrono::Utc::now() - chrono::Duration::seconds(skew));
            token
                .claims(&verifier, &nonce)
                .map(|c| (c.issuer().to_string(), c.subject().to_string()))
        };
        let (issuer, subject) = match check(&client) {
            Ok(found) => found,
            // The provider may have rotated its keys: fetch them again, once.
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                check(&self.client(true).await?).map_err(claims_error)?
            }
            Err(e) => return Err(claims_error(e)),
        };
        // The token is verified; its payload holds the claims to map.
        let payload = jwt_payload(&token.to_string()).ok_or_else(invalid_token)?;
        Ok(self.identity_of(issuer, subject, &payload))
    }

    fn identity_of(&self, issuer: String, subject: String, claims: &Value) -> ProvidedIdentity {
        let map = &self.config.claims;
        let text = |path: &str| claim_str(claims, path);
        let full_name = text(&map.name)
            .or_else(|| {
                let given = text(&map.given_name)?;
                let family = text(&map.family_name)?;
                Some(format!("{given} {family}"))
            })
            .and_then(|n| PersonName::parse(&n).ok());
        ProvidedIdentity {
            issuer,
            subject,
            identity_key: text(&map.identity_key).and_then(|id| self.identity_key(&id)),
            full_name,
            email: text(&map.email).and_then(|e| Email::parse(&e).ok()),
            birth_date: text(&map.birth_date).and_then(|d| {
                time::Date::parse(&d, &time::format_description::well_known::Iso8601::DATE).ok()
            }),
            home_region_code: text(&map.region).filter(|c| {
                c.len() <= 10 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
            }),
            verification: level_of(map, text(&map.verification).as_deref()),
        }
    }

    /// HMAC of the normalised national identifier (digits and letters only, upper case).
    fn identity_key(&self, raw: &str) -> Option<[u8; 32]> {
        let normalised: String = raw
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if normalised.is_empty() {
            return None;
        }
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.identity_key_secret).ok()?;
        mac.update(normalised.as_bytes());
        Some(mac.finalize().into_bytes().into())
    }
}

/// The verification level a claim's value maps to.
fn level_of(map: &ClaimMapping, value: Option<&str>) -> Verification {
    let Some(value) = value else {
        return map.default_level;
    };
    if map.verification_values.is_empty() {
        return Verification::parse(value).unwrap_or(map.default_level);
    }
    map.verification_values
        .get(value)
        .copied()
        .unwrap_or(map.default_level)
}

/// A claim by name or dotted path, as text (strings as they are, numbers printed).
fn claim_str(claims: &Value, path: &str) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    let mut value = claims;
    for part in path.split('.') {
        value = value.get(part)?;
    }
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The JSON payload of a compact JWS.
fn jwt_payload(jwt: &str) -> Option<Value> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn claims_error(e: ClaimsVerificationError) -> AppError {
    tracing::warn!(error = %e, "ID token refused");
    match e {
        ClaimsVerificationError::Expired(_) => {
            AppError::new(StatusCode::BAD_REQUEST, "id_token_expired")
        }
        _ => invalid_token(),
    }
}

fn invalid_token() -> AppError {
    AppError::new(StatusCode::BAD_REQUEST, "invalid_id_token")
}

fn unavailable() -> AppError {
    AppError::unavailable("provider_unavailable", 30)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_are_found_by_dotted_paths() {
        let claims = json!({"address": {"region": "RU-TVE"}, "snils": "112-233-445 95", "n": 5});
        assert_eq!(
            claim_str(&claims, "address.region").as_deref(),
            Some("RU-TVE")
        );
        assert_eq!(claim_str(&claims, "n").as_deref(), Some("5"));
        assert_eq!(claim_str(&claims, "address.city"), None);
        assert_eq!(claim_str(&claims, ""), None);
    }

    #[test]
    fn verification_levels_map_by_the_settings() {
        let mut map = ClaimMapping::default();
        assert_eq!(level_of(&map, Some("verified")), Verification::Verified);
        assert_eq!(level_of(&map, Some("gold")), Verification::Unverified);
        map.verification_values
            .insert("urn:esia:loa:3".to_owned(), Verification::Verified);
        map.default_level = Verification::Standard;
        assert_eq!(
            level_of(&map, Some("urn:esia:loa:3")),
            Verification::Verified
        );
        assert_eq!(level_of(&map, Some("verified")), Verification::Standard);
        assert_eq!(level_of(&map, None), Verification::Standard);
    }

    #[test]
    fn identity_keys_ignore_formatting_and_depend_on_the_installation() {
        let config = OidcConfig {
            issuer: "http://127.0.0.1:1".to_owned(),
            client_id: "c".to_owned(),
            client_secret: crate::config::Secret::new("s"),
            redirect_url: "http://127.0.0.1:2/auth/oidc/callback".to_owned(),
            display_name: "x".to_owned(),
            scopes: vec![],
            clock_skew_seconds: 0,
            timeout_seconds: 1,
            claims: ClaimMapping::default(),
        };
        let a = Provider::new(config.clone(), b"installation-a");
        let b = Provider::new(config, b"installation-b");
        let key = a.identity_key("112-233-445 95");
        assert!(key.is_some());
        assert_eq!(key, a.identity_key("11223344595"));
        assert_ne!(key, b.identity_key("11223344595"));
        assert_eq!(a.identity_key(" - "), None);
    }
}
