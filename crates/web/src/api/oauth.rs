//! OAuth 2.0 client credentials (RFC 6749 §4.4) for integration clients: an
//! organisation's system trades its `client_id` and secret for a bearer token limited to
//! the scopes it was granted and to its organisation. Errors follow RFC 6749 §5.2
//! (`{"error": "invalid_client"}`), as OAuth clients expect.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use otklik_domain::access::ApiScope;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use crate::auth::{self, ClientIp};
use crate::AppState;

/// How long a client's access token lives.
pub const CLIENT_TOKEN_LIFETIME: Duration = Duration::hours(1);

pub fn routes() -> Router<AppState> {
    Router::new().route("/oauth/token", post(token))
}

/// RFC 6749 §5.1.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientTokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds.
    pub expires_in: i64,
    /// The granted scopes, space-separated.
    pub scope: String,
}

/// The token request (RFC 6749 §4.4.2), as `application/x-www-form-urlencoded`. Unlike
/// the JSON bodies of this API, unknown parameters are ignored, as RFC 6749 §3.2 asks.
#[derive(Debug, ToSchema)]
pub struct ClientTokenRequest {
    #[schema(value_type = GrantTypeSchema)]
    pub grant_type: String,
    /// Space-separated scopes, a subset of the client's (all of them when left out).
    #[schema(value_type = ScopeListSchema, required = false)]
    pub scope: Option<String>,
    /// With `client_secret`, when the credentials are not sent in HTTP Basic.
    #[schema(value_type = String, required = false)]
    pub client_id: Option<String>,
    #[schema(value_type = String, required = false)]
    pub client_secret: Option<String>,
}

super::types::text_schema!(GrantTypeSchema, "GrantType", {
    super::types::one_of(["client_credentials"], "Only the client credentials grant.")
});

super::types::text_schema!(ScopeListSchema, "ScopeList", {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    // `ApiScope::parse_list`: split at ASCII whitespace.
    let one = ApiScope::ALL
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join("|");
    let space = r"[\t\n\x0C\r ]";
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^(?:{space}*(?:{one}))*{space}*$")))
        .build()
        .into()
});

/// RFC 6749 §5.2.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    pub error: &'static str,
    pub error_description: &'static str,
}

fn oauth_error(status: StatusCode, code: &'static str) -> Response {
    let mut response = (
        status,
        Json(OAuthError {
            error: code,
            error_description: crate::messages::error(code),
        }),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"otklik\""),
        );
    }
    response
}

/// Issues an access token to an integration client. Send
/// `grant_type=client_credentials` (and optionally `scope`) as a form, with the client's
/// credentials in HTTP Basic or as `client_id` and `client_secret` fields.
#[utoipa::path(post, path = "/api/v1/oauth/token", tag = "auth",
    request_body(content = ClientTokenRequest, content_type = "application/x-www-form-urlencoded",
        description = "grant_type=client_credentials&scope=submissions:read"),
    responses((status = 200, body = ClientTokenResponse), (status = 400, body = OAuthError),
        (status = 401, body = OAuthError), (status = 429, body = OAuthError)))]
pub async fn token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut grant = String::new();
    let mut scope = None;
    let (mut id, mut secret) = basic_credentials(&headers).unwrap_or_default();
    for (key, value) in form_urlencoded::parse(&body) {
        match key.as_ref() {
            "grant_type" => grant = value.into_owned(),
            "scope" => scope = Some(value.into_owned()),
            "client_id" if id.is_empty() => id = value.into_owned(),
            "client_secret" if secret.is_empty() => secret = value.into_owned(),
            _ => {}
        }
    }
    if let Err(e) = state.limiter.login(ip, &format!("client:{id}")) {
        let mut response = oauth_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        crate::error::add_retry_after(&mut response, e.retry_after);
        return response;
    }
    if grant != "client_credentials" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let client = match auth::authenticate_client(&state, &id, &secret).await {
        Ok(Some(client)) => client,
        Ok(None) => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client"),
        Err(e) => return crate::api::ApiError::from(e).into_response(),
    };
    // A narrower set may be asked for; never a wider one.
    let granted = match scope.as_deref().map(ApiScope::parse_list) {
        None => client.scopes.clone(),
        Some(Some(asked)) if asked.iter().all(|s| client.scopes.contains(s)) => asked,
        Some(_) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope"),
    };
    let token = auth::new_token();
    let expires = OffsetDateTime::now_utc() + CLIENT_TOKEN_LIFETIME;
    if let Err(e) = state
        .store
        .create_scoped_session(
            &auth::token_digest(&token),
            client.user.id,
            &granted,
            expires,
        )
        .await
    {
        return crate::api::ApiError::from(e).into_response();
    }
    let mut response = Json(ClientTokenResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: CLIENT_TOKEN_LIFETIME.whole_seconds(),
        scope: ApiScope::join(&granted),
    })
    .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    crate::api::idempotency::no_replay(response)
}

/// `Authorization: Basic base64(client_id:client_secret)` (RFC 6749 §2.3.1: both
/// form-urlencoded before encoding).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let raw = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}
