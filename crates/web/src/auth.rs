//! Accounts, sessions and CSRF.
//!
//! - Passwords: argon2id (PHC strings); the store never sees a password.
//! - Sessions: a random 256-bit token in an `HttpOnly`, `SameSite=Lax` cookie (pages) or
//!   a bearer header (API); only its SHA-256 is stored.
//! - CSRF: forms carry HMAC-SHA256(installation key, binding), where the binding is the
//!   live session when signed in, and otherwise a random per-browser `otklik_csrf`
//!   cookie. A cross-site page can neither read these cookies nor compute the token.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use axum::extract::{FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use hmac::{Hmac, Mac};
use otklik_domain::access::{self, ApiScope, Capability, Principal};
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

/// The embedded widget's own session and CSRF cookies (see `docs/WIDGET.md`): sent only
/// to `/widget…` paths, and behind TLS `SameSite=None; Secure; Partitioned`, so that they
/// work inside a cross-site frame and live in the host site's partition. The portal's
/// cookies are never read there, nor these on the portal.
pub const WIDGET_SESSION_COOKIE: &str = "otklik_widget_session";
pub const WIDGET_CSRF_COOKIE: &str = "otklik_widget_csrf";
pub const WIDGET_PATH: &str = "/widget";

/// Whether a request path is the widget's (its pages, not `/widget.js`).
pub fn is_widget_path(path: &str) -> bool {
    path == WIDGET_PATH
        || path
            .strip_prefix(WIDGET_PATH)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Hashes a password with argon2id (default parameters) and a random salt.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    let failed = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "password hashing failed");
        AppError::internal()
    };
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| failed(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_blocks(params.block_count(), |blocks| {
        argon.hash_password_into_with_memory(password.as_bytes(), salt_raw, &mut out, blocks)
    })
    .map_err(|e| failed(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(argon2::password_hash::Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(hash.to_string())
}

/// Checks a password against its PHC string, in constant time.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) =
        (Algorithm::try_from(hash.algorithm), Params::try_from(&hash))
    else {
        return false;
    };
    let version = hash
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or_default();
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_raw) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let computed = with_blocks(params.block_count(), |blocks| {
        argon.hash_password_into_with_memory(password.as_bytes(), salt_raw, &mut out, blocks)
    });
    computed.is_ok()
        && argon2::password_hash::Output::new(&out).is_ok_and(|actual| actual == expected)
}

/// Runs argon2 in a reused block of memory. Each hash needs ~19 MiB; allocating and
/// freeing that per login left the allocator holding hundreds of megabytes under a login
/// flood, so the blocks are kept while logins come (at most one per concurrent hash, see
/// [`with_argon2`]) and given back once none has run for [`ARGON2_KEEP`].
fn with_blocks<T>(count: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    let taken = ARGON2_POOL.lock().ok().and_then(|mut pool| pool.pop());
    let mut blocks = match taken {
        Some((_, b)) if b.len() == count => b,
        _ => vec![Block::default(); count],
    };
    let result = work(&mut blocks);
    if let Ok(mut pool) = ARGON2_POOL.lock() {
        if pool.len() < ARGON2_POOL_LIMIT {
            pool.push((std::time::Instant::now(), blocks));
        }
    }
    result
}

/// Blocks kept for reuse, each with when it was last used.
static ARGON2_POOL: std::sync::Mutex<Vec<(std::time::Instant, Vec<Block>)>> =
    std::sync::Mutex::new(Vec::new());

/// Blocks kept for reuse: as many as hashes may run at once on a large machine.
const ARGON2_POOL_LIMIT: usize = 16;

/// How long an unused block is kept: a node that had one sign-in does not hold 19 MiB
/// for ever (an idle node's memory, issue 13).
const ARGON2_KEEP: std::time::Duration = std::time::Duration::from_secs(30);

/// Drops the blocks unused for `idle` or longer.
fn release_idle_blocks(idle: std::time::Duration) {
    if let Ok(mut pool) = ARGON2_POOL.lock() {
        keep_recent(&mut pool, idle);
    }
}

fn keep_recent<B>(pool: &mut Vec<(std::time::Instant, B)>, idle: std::time::Duration) {
    pool.retain(|(used, _)| used.elapsed() < idle);
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
        tokio::sync::Semaphore::new((cores * 2).min(ARGON2_POOL_LIMIT))
    });
    let _permit = permits.acquire().await.ok()?;
    let done = tokio::task::spawn_blocking(work).await.ok();
    // Once logins stop, the blocks they used go back to the system.
    tokio::spawn(async {
        tokio::time::sleep(ARGON2_KEEP).await;
        release_idle_blocks(ARGON2_KEEP);
    });
    done
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
/// and a wrong password, with the same cost, so accounts cannot be enumerated. Rate
/// limited per client address and per account; after repeated failures the account's
/// password logins lock for a while (`429 account_locked` with `Retry-After`).
pub async fn login(
    state: &AppState,
    ip: std::net::IpAddr,
    email: &str,
    password: &str,
) -> Result<(UserRecord, String, OffsetDateTime), AppError> {
    state.limiter.login(ip, email)?;
    let invalid = || AppError::new(axum::http::StatusCode::UNAUTHORIZED, "invalid_credentials");
    let user = match Email::parse(email) {
        Ok(email) => state.store.user_by_email(&email).await?,
        Err(_) => None,
    };
    let now = OffsetDateTime::now_utc();
    if let Some(until) = user
        .as_ref()
        .and_then(|u| u.locked_until)
        .filter(|t| *t > now)
    {
        return Err(locked(until, now));
    }
    let phc = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(dummy_hash);
    let password = password.to_owned();
    let ok = with_argon2(move || verify_password(&password, &phc))
        .await
        .unwrap_or(false);
    let Some(user) = user else {
        return Err(invalid());
    };
    if !ok {
        let policy = otklik_store::LockoutPolicy {
            max_failures: state.config.identity.lockout_failures.max(1),
            lock_for: Duration::seconds(i64::from(state.config.identity.lockout_seconds)),
        };
        let locked_until = state
            .store
            .record_login_failure(user.id, policy, now)
            .await?;
        return Err(match locked_until.filter(|t| *t > now) {
            Some(until) => locked(until, now),
            None => invalid(),
        });
    }
    if user.disabled {
        return Err(invalid());
    }
    state.store.record_login_success(user.id).await?;
    let (token, expires) = open_session(state, user.id).await?;
    Ok((user, token, expires))
}

/// A new session for `user`: the token to hand out and when it expires.
pub async fn open_session(
    state: &AppState,
    user: otklik_domain::UserId,
) -> Result<(String, OffsetDateTime), AppError> {
    let token = new_token();
    let expires = OffsetDateTime::now_utc() + SESSION_LIFETIME;
    state
        .store
        .create_session(&token_digest(&token), user, expires)
        .await?;
    Ok((token, expires))
}

fn locked(until: OffsetDateTime, now: OffsetDateTime) -> AppError {
    let seconds = (until - now).whole_seconds().max(1);
    AppError::too_many_requests("account_locked", seconds.unsigned_abs())
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

/// Who asks, for the policy: a person (no scopes) or an integration client's token.
pub fn principal_of(user: &UserRecord, scopes: Option<Vec<ApiScope>>) -> Principal {
    Principal {
        actor: actor_of(user),
        verification: user.verification,
        scopes,
    }
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Citizen => "citizen",
        Role::Official(_) => "official",
        Role::Operator => "operator",
        Role::Coordinator(_) => "coordinator",
        Role::Analyst => "analyst",
        Role::OrgAdmin(_) => "org_admin",
        Role::Integration(_) => "integration",
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

/// A cookie of the widget: `Path=/widget`, `HttpOnly`; behind TLS `SameSite=None; Secure;
/// Partitioned` (a frame on another site gets it, in that site's partition only); on plain
/// HTTP (development, loopback) `SameSite=Lax`, since browsers refuse `None` without
/// `Secure`.
pub fn widget_cookie(
    name: &'static str,
    value: String,
    tls: bool,
    max_age: Duration,
) -> Cookie<'static> {
    let builder = Cookie::build((name, value))
        .path(WIDGET_PATH)
        .http_only(true)
        .max_age(max_age);
    if tls {
        builder
            .secure(true)
            .same_site(SameSite::None)
            .partitioned(true)
            .build()
    } else {
        builder.same_site(SameSite::Lax).build()
    }
}

/// Tells the browser to forget the widget's session (in the same partition).
pub fn widget_removal_cookie(tls: bool) -> Cookie<'static> {
    widget_cookie(WIDGET_SESSION_COOKIE, String::new(), tls, Duration::ZERO)
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
/// page already carries a valid token in its forms. The widget's pages get the widget's
/// own cookie instead (a `Lax` cookie is not sent to a frame on another site).
pub async fn ensure_csrf_cookie(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let widget = is_widget_path(request.uri().path());
    let name = if widget {
        WIDGET_CSRF_COOKIE
    } else {
        CSRF_COOKIE
    };
    if CookieJar::from_headers(request.headers())
        .get(name)
        .is_some()
    {
        return next.run(request).await;
    }
    let value = new_token();
    if let Ok(header_value) = HeaderValue::from_str(&format!("{name}={value}")) {
        request.headers_mut().append(header::COOKIE, header_value);
    }
    let mut response = next.run(request).await;
    let tls = state.config.security.tls;
    let cookie = if widget {
        widget_cookie(name, value, tls, Duration::days(365))
    } else {
        Cookie::build((CSRF_COOKIE, value))
            .path("/")
            .http_only(true)
            .secure(tls)
            .same_site(SameSite::Lax)
            .max_age(Duration::days(365))
            .build()
    };
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
    /// This browser's own cookie value: a login at an identity provider is bound to it.
    pub browser: Option<String>,
    /// This platform's origin as the browser addressed it (`https://host`), for text
    /// that names the platform's own address (the widget's snippet).
    pub platform: String,
    /// The signed-in person's unread notifications (portal pages only), for the menu.
    pub unread: u64,
}

impl Ctx {
    pub fn actor(&self) -> Option<Actor> {
        self.user.as_ref().map(actor_of)
    }

    pub fn principal(&self) -> Option<Principal> {
        self.user.as_ref().map(|u| principal_of(u, None))
    }

    /// The signed-in person, if the policy lets them do `capability`.
    pub fn require(&self, capability: Capability) -> Result<&UserRecord, AppError> {
        access::check(self.principal().as_ref(), capability)?;
        self.require_user()
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
        Self::from_cookies(parts, state, SESSION_COOKIE, CSRF_COOKIE, "").await
    }
}

/// The context of a widget page (`/widget/…`): the same as [`Ctx`], but from the widget's
/// own session and CSRF cookies, and with tokens that differ from the portal's.
#[derive(Debug, Clone)]
pub struct WidgetCtx(pub Ctx);

impl FromRequestParts<AppState> for WidgetCtx {
    type Rejection = crate::pages::PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ctx::from_cookies(
            parts,
            state,
            WIDGET_SESSION_COOKIE,
            WIDGET_CSRF_COOKIE,
            "widget-",
        )
        .await
        .map(Self)
    }
}

impl Ctx {
    /// Who is signed in by the session cookie `session_name`, and the CSRF token bound to
    /// that session or to the browser's cookie `csrf_name`; `tag` keeps the tokens of
    /// different cookie pairs apart.
    async fn from_cookies(
        parts: &Parts,
        state: &AppState,
        session_name: &str,
        csrf_name: &str,
        tag: &str,
    ) -> Result<Self, crate::pages::PageError> {
        let jar = CookieJar::from_headers(&parts.headers);
        let binding = jar
            .get(csrf_name)
            .map(|c| c.value().to_owned())
            .unwrap_or_default();
        let session = jar
            .get(session_name)
            .map(|c| c.value().to_owned())
            .filter(|v| !v.is_empty());
        // Pages are for people: a client's scoped token never opens a page session.
        let user = match &session {
            Some(token) => state
                .store
                .session(&token_digest(token), OffsetDateTime::now_utc())
                .await
                .map_err(AppError::from)?
                .filter(|s| s.scopes.is_none())
                .map(|s| s.user),
            None => None,
        };
        // Signed in, forms are bound to the live session, so a cookie planted by a
        // sibling site cannot yield a valid token; signed out, to the browser's cookie.
        let binding = match (&user, &session) {
            (Some(_), Some(token)) => format!("{tag}session:{token}"),
            _ if binding.is_empty() => String::new(),
            _ => format!("{tag}browser:{binding}"),
        };
        let unread = match (&user, tag) {
            (Some(user), "") => state
                .store
                .unread_count(user.id)
                .await
                .map_err(AppError::from)?,
            _ => 0,
        };
        Ok(Self {
            unread,
            user: user.clone(),
            csrf: if binding.is_empty() {
                String::new()
            } else {
                csrf_token(&state.csrf_key, &binding)
            },
            session: user.and(session),
            browser: jar
                .get(csrf_name)
                .map(|c| c.value().to_owned())
                .filter(|v| !v.is_empty()),
            platform: platform_origin(parts, state.config.security.tls),
        })
    }
}

/// This platform's origin as the request addressed it: the scheme the installation is
/// served with, and the `Host` the browser sent (or the URI's authority, HTTP/2).
fn platform_origin(parts: &Parts, tls: bool) -> String {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()))
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// The user of an API request, authenticated by `Authorization: Bearer <token>` (a
/// person's session or an integration client's access token), or by an integration
/// client's API key (`X-Api-Key: <client_id>.<secret>`). The second field holds the
/// scopes of a client; `None` for a person.
#[derive(Debug, Clone)]
pub struct ApiUser(pub UserRecord, pub Option<Vec<ApiScope>>);

impl ApiUser {
    pub fn actor(&self) -> Actor {
        actor_of(&self.0)
    }

    pub fn principal(&self) -> Principal {
        principal_of(&self.0, self.1.clone())
    }

    /// Refuses unless the policy lets this user do `capability`.
    pub fn require(&self, capability: Capability) -> Result<(), AppError> {
        access::check(Some(&self.principal()), capability).map_err(AppError::from)
    }
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = crate::api::ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(key) = api_key(&parts.headers) {
            return client_by_key(state, key).await.map_err(Into::into);
        }
        let token = bearer_token(&parts.headers).ok_or_else(AppError::unauthorized)?;
        let session = state
            .store
            .session(&token_digest(token), OffsetDateTime::now_utc())
            .await
            .map_err(AppError::from)?
            .ok_or_else(AppError::unauthorized)?;
        Ok(Self(session.user, session.scopes))
    }
}

/// The `X-Api-Key` header of an integration client.
fn api_key(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// An integration client by `<client_id>.<secret>`: live, not revoked, secret matching.
async fn client_by_key(state: &AppState, key: &str) -> Result<ApiUser, AppError> {
    let (client_id, secret) = key.split_once('.').ok_or_else(AppError::unauthorized)?;
    let client = authenticate_client(state, client_id, secret)
        .await?
        .ok_or_else(AppError::unauthorized)?;
    Ok(ApiUser(client.user, Some(client.scopes)))
}

/// Checks an integration client's credentials in constant time; `None` when unknown,
/// revoked or wrong.
pub async fn authenticate_client(
    state: &AppState,
    client_id: &str,
    secret: &str,
) -> Result<Option<otklik_store::ApiClientRecord>, AppError> {
    let Some(client) = state.store.api_client(client_id).await? else {
        return Ok(None);
    };
    let given = token_digest(secret);
    let same = client.secret_sha256.len() == given.len()
        && client
            .secret_sha256
            .iter()
            .zip(given.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    Ok((same && !client.revoked && !client.user.disabled).then_some(client))
}

/// The address of the client: the connection's peer, or (behind a trusted proxy) the
/// last address the proxies added to `X-Forwarded-For`.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let proxies = &state.config.security.trusted_proxies;
        if !proxies.contains(&peer) {
            return Ok(Self(peer));
        }
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
            .collect::<Vec<_>>();
        let client = forwarded
            .iter()
            .rev()
            .find(|a| !proxies.contains(a))
            .copied()
            .unwrap_or(peer);
        Ok(Self(client))
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
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("пароль-2026", &hash));
        assert!(!verify_password("пароль-2027", &hash));
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password("x", "!"));
    }

    #[test]
    fn unused_argon2_blocks_are_given_back() {
        let now = std::time::Instant::now();
        let old = now - std::time::Duration::from_secs(60);
        let mut pool = vec![(old, "old"), (now, "new")];
        keep_recent(&mut pool, ARGON2_KEEP);
        assert_eq!(pool, vec![(now, "new")]);
        keep_recent(&mut pool, std::time::Duration::ZERO);
        assert!(pool.is_empty());
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_itself_verify_and_vice_versa() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password("пароль-2026".as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(verify_password("пароль-2026", &theirs));
        assert!(!verify_password("пароль-2025", &theirs));
        let ours = hash_password("пароль-2026").unwrap_or_default();
        let parsed = PasswordHash::new(&ours);
        assert!(parsed.is_ok_and(|p| Argon2::default()
            .verify_password("пароль-2026".as_bytes(), &p)
            .is_ok()));
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
            browser: None,
            platform: String::new(),
            unread: 0,
        };
        assert!(ctx.check_csrf(&a).is_ok());
        assert!(ctx.check_csrf("").is_err());
        let empty = Ctx {
            user: None,
            csrf: String::new(),
            session: None,
            browser: None,
            platform: String::new(),
            unread: 0,
        };
        assert!(empty.check_csrf("").is_err());
    }
}
