//! Accounts, sessions and CSRF.
//!
//! - Passwords: argon2id (PHC strings); the store never sees a password.
//! - Sessions: a random 256-bit token in an `HttpOnly`, `SameSite=Lax` cookie (pages) or
//!   a bearer header (API); only its SHA-256 is stored.
//! - CSRF: forms carry HMAC-SHA256(installation key, binding), where the binding is the
//!   live session when signed in, and otherwise a random per-browser `otklik_csrf`
//!   cookie. A cross-site page can neither read these cookies nor compute the token.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use axum::extract::{FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use hmac::{Hmac, Mac};
use otklik_domain::lifecycle::{Actor, Role};
use otklik_domain::text::Email;
use otklik_store::UserRecord;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::error::AppError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "otklik_session";
pub const CSRF_COOKIE: &str = "otklik_csrf";
pub const SESSION_LIFETIME: Duration = Duration::days(14);

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            AppError::internal()
        })
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Runs argon2 work off the async threads, at most two per core at a time: each hash
/// takes ~19 MiB and tens of milliseconds, so a flood of logins queues here instead of
/// exhausting memory. `None` if the work could not run.
pub async fn with_argon2<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        tokio::sync::Semaphore::new(cores * 2)
    });
    let _permit = permits.acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

/// A fresh random token, URL-safe base64 of 32 bytes.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Checks the credentials and opens a session; the same error for an unknown address
/// and a wrong password, with the same cost, so accounts cannot be enumerated.
pub async fn login(
    state: &AppState,
    email: &str,
    password: &str,
) -> Result<(UserRecord, String, OffsetDateTime), AppError> {
    let invalid = || AppError::new(axum::http::StatusCode::UNAUTHORIZED, "invalid_credentials");
    let user = match Email::parse(email) {
        Ok(email) => state.store.user_by_email(&email).await?,
        Err(_) => None,
    };
    let phc = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(dummy_hash);
    let password = password.to_owned();
    let ok = with_argon2(move || verify_password(&password, &phc))
        .await
        .unwrap_or(false);
    let user = user.filter(|_| ok).ok_or_else(invalid)?;
    let token = new_token();
    let expires = OffsetDateTime::now_utc() + SESSION_LIFETIME;
    state
        .store
        .create_session(&token_digest(&token), user.id, expires)
        .await?;
    Ok((user, token, expires))
}

/// A valid hash of a random password, verified when the account does not exist.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| hash_password(&new_token()).unwrap_or_default())
        .clone()
}

pub fn actor_of(user: &UserRecord) -> Actor {
    Actor {
        user: user.id,
        role: user.role,
    }
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Citizen => "citizen",
        Role::Official(_) => "official",
        Role::Operator => "operator",
        Role::Coordinator(_) => "coordinator",
        Role::Analyst => "analyst",
    }
}

pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(SESSION_LIFETIME)
        .build()
}

/// Tells the browser to forget the session cookie at once.
pub fn removal_cookie() -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, ""))
        .path("/")
        .http_only(true)
        .max_age(Duration::ZERO)
        .build()
}

fn csrf_token(key: &[u8], binding: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(b"otklik-csrf:");
    mac.update(binding.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Gives every browser a CSRF cookie before the page handlers run, so that the first
/// page already carries a valid token in its forms.
pub async fn ensure_csrf_cookie(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if CookieJar::from_headers(request.headers())
        .get(CSRF_COOKIE)
        .is_some()
    {
        return next.run(request).await;
    }
    let value = new_token();
    if let Ok(header_value) = HeaderValue::from_str(&format!("{CSRF_COOKIE}={value}")) {
        request.headers_mut().append(header::COOKIE, header_value);
    }
    let mut response = next.run(request).await;
    let cookie = Cookie::build((CSRF_COOKIE, value))
        .path("/")
        .http_only(true)
        .secure(state.config.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(Duration::days(365))
        .build();
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// The context of a page request: who is signed in, and the CSRF token for its forms.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub user: Option<UserRecord>,
    pub csrf: String,
    /// The session token, for logout.
    pub session: Option<String>,
}

impl Ctx {
    pub fn actor(&self) -> Option<Actor> {
        self.user.as_ref().map(actor_of)
    }

    pub fn require_user(&self) -> Result<&UserRecord, AppError> {
        self.user.as_ref().ok_or_else(AppError::unauthorized)
    }

    /// Checks a submitted form token in constant time.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), AppError> {
        let a = self.csrf.as_bytes();
        let b = submitted.as_bytes();
        let same = !a.is_empty()
            && a.len() == b.len()
            && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        if same {
            Ok(())
        } else {
            Err(AppError::csrf())
        }
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = crate::pages::PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let binding = jar
            .get(CSRF_COOKIE)
            .map(|c| c.value().to_owned())
            .unwrap_or_default();
        let session = jar
            .get(SESSION_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|v| !v.is_empty());
        let user = match &session {
            Some(token) => state
                .store
                .session_user(&token_digest(token), OffsetDateTime::now_utc())
                .await
                .map_err(AppError::from)?,
            None => None,
        };
        // Signed in, forms are bound to the live session, so a cookie planted by a
        // sibling site cannot yield a valid token; signed out, to the browser's cookie.
        let binding = match (&user, &session) {
            (Some(_), Some(token)) => format!("session:{token}"),
            _ if binding.is_empty() => String::new(),
            _ => format!("browser:{binding}"),
        };
        Ok(Self {
            user: user.clone(),
            csrf: if binding.is_empty() {
                String::new()
            } else {
                csrf_token(&state.csrf_key, &binding)
            },
            session: user.and(session),
        })
    }
}

/// The user of an API request, authenticated by `Authorization: Bearer <token>`.
#[derive(Debug, Clone)]
pub struct ApiUser(pub UserRecord);

impl ApiUser {
    pub fn actor(&self) -> Actor {
        actor_of(&self.0)
    }
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = crate::api::ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers).ok_or_else(AppError::unauthorized)?;
        let user = state
            .store
            .session_user(&token_digest(token), OffsetDateTime::now_utc())
            .await
            .map_err(AppError::from)?
            .ok_or_else(AppError::unauthorized)?;
        Ok(Self(user))
    }
}

/// The bearer token of an API request: authentication, and logout.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("пароль-2026").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("пароль-2026", &hash));
        assert!(!verify_password("пароль-2027", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn csrf_tokens_depend_on_key_and_binding() {
        let a = csrf_token(b"key-one", "browser-1");
        assert_eq!(a, csrf_token(b"key-one", "browser-1"));
        assert_ne!(a, csrf_token(b"key-two", "browser-1"));
        assert_ne!(a, csrf_token(b"key-one", "browser-2"));
        let ctx = Ctx {
            user: None,
            csrf: a.clone(),
            session: None,
        };
        assert!(ctx.check_csrf(&a).is_ok());
        assert!(ctx.check_csrf("").is_err());
        let empty = Ctx {
            user: None,
            csrf: String::new(),
            session: None,
        };
        assert!(empty.check_csrf("").is_err());
    }
}
