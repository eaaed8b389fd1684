//! HTTP for Otklik: server-rendered pages (working without JavaScript), the versioned
//! JSON API with its OpenAPI document, and the security plumbing around them.
//!
//! Invariants kept here:
//! - the only crate that knows HTTP; handlers parse requests into domain values, call
//!   [`usecases`] or the store, and render — they make no decisions of their own about
//!   legal transitions (that is `otklik_domain::lifecycle::decide`);
//! - pages and API share the same use cases, so they have the same permissions;
//! - every state-changing form carries a CSRF token; the API authenticates by bearer
//!   token only and ignores cookies.

pub mod analytics;
pub mod api;
pub mod auth;
pub mod config;
pub mod delivery;
pub mod discussions;
pub mod documents;
pub mod error;
pub mod export;
pub mod export_jobs;
pub mod limits;
pub mod messages;
pub mod metrics;
pub mod oidc;
pub mod open311;
pub mod orgadmin;
pub mod pages;
pub mod polls;
pub mod quality;
pub mod ratelimit;
pub mod search;
pub mod signing;
pub mod social;
pub mod templates;
pub mod usecases;

pub use config::WebConfig;

use axum::http::{header, HeaderValue};
use axum::Router;
use otklik_store::Store;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub csrf_key: Arc<[u8]>,
    pub config: Arc<WebConfig>,
    pub limiter: Arc<ratelimit::Limiter>,
    /// The identity provider's client, when one is configured.
    pub oidc: Option<Arc<oidc::Provider>>,
    /// Certification authorities, the trust store and the key sealing private keys.
    pub signing: Arc<signing::Signing>,
    /// This node's full-text index (kept in step with the database by the binary).
    pub search: Arc<otklik_search::SearchIndex>,
    /// The transparency log's key, from which each poll's log key is derived.
    pub log_signer: Arc<otklik_log::Signer>,
    /// The one writer of ballots (group commit).
    pub ballots: polls::BallotBox,
    pub poll_cache: Arc<polls::PollCache>,
    /// Social-media sources that push (webhooks) and where their posts go.
    pub social: Arc<social::SocialIntake>,
    /// How many requests run at once, how long they may wait and run.
    pub admission: Arc<limits::Admission>,
    pub metrics: Arc<metrics::Metrics>,
}

impl AppState {
    /// Loads (or creates on first start) the installation's secret key.
    pub async fn new(
        store: Arc<dyn Store>,
        config: WebConfig,
        search: Arc<otklik_search::SearchIndex>,
    ) -> Result<Self, signing::SigningStartError> {
        let candidate: [u8; 32] = rand::random();
        let key = store.server_secret(&candidate).await?;
        let signing =
            Arc::new(signing::Signing::load(store.as_ref(), &key, &config.signing).await?);
        let oidc = config
            .oidc
            .clone()
            .map(|c| Arc::new(oidc::Provider::new(c, &key)));
        Ok(Self {
            csrf_key: key.into(),
            limiter: Arc::new(ratelimit::Limiter::new(&config.rate_limits)),
            admission: Arc::new(limits::Admission::new(&config.limits)),
            metrics: Arc::default(),
            config: Arc::new(config),
            oidc,
            signing,
            search,
            log_signer: Arc::new(otklik_log::Signer::generate(&mut rand::rngs::OsRng)),
            ballots: polls::BallotBox::start(store.clone()),
            poll_cache: Arc::default(),
            social: Arc::new(social::SocialIntake::embedded(store.clone())),
            store,
        })
    }

    /// Uses these pushed sources and this sink for social-media posts.
    pub fn with_social(mut self, intake: social::SocialIntake) -> Self {
        self.social = Arc::new(intake);
        self
    }

    /// Uses the installation's log key (the binary's) instead of a key of this process.
    pub fn with_log_signer(mut self, signer: otklik_log::Signer) -> Self {
        self.log_signer = Arc::new(signer);
        self
    }
}

/// The whole application: pages, API, static assets, health check, metrics.
///
/// Layers, outermost first: the access log (one span per request, with its id), the
/// metrics, the security headers, admission (overload and timeouts, each request in a
/// task of its own), and on every route the mark of its template.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(pages::routes(&state))
        .nest(
            "/api/v1",
            api::routes().layer(axum::middleware::from_fn_with_state(
                state.clone(),
                api::idempotency::layer,
            )),
        )
        .merge(open311::routes())
        .route("/healthz", axum::routing::get(healthz))
        .route("/metrics", axum::routing::get(metrics::scrape))
        .route("/static/style.css", axum::routing::get(stylesheet))
        .route("/static/similar.js", axum::routing::get(similar_script))
        .route("/widget.js", axum::routing::get(pages::widget_script))
        .route_layer(axum::middleware::from_fn(metrics::mark_route))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::admit,
        ))
        .layer(axum::middleware::map_response_with_state(
            state.config.security.tls,
            security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::observe,
        ))
        .layer(axum::middleware::from_fn(access_log))
        .with_state(state)
}

/// How long requests in flight may take to finish after shutdown begins.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Serves the application on `listener` until `shutdown` completes, then stops accepting,
/// lets the requests in flight finish (at most [`SHUTDOWN_GRACE`]) and returns.
///
/// Its own accept loop rather than `axum::serve`, for two bounds that one lacks: at most
/// `[limits] max_connections` connections at once (further ones wait in the kernel's
/// backlog), and a client must send a request's headers within
/// `[limits] header_timeout_seconds`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let limits = state.config.limits.clone();
    let app = router(state);
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(
            limits.header_timeout_seconds.max(1),
        ));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let connections = Arc::new(tokio::sync::Semaphore::new(
        limits.max_connections.max(1) as usize
    ));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                use tower::ServiceExt as _;
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                app.clone().oneshot(request)
            },
        );
        let connection = graceful.watch(
            builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned(),
        );
        tokio::spawn(async move {
            // An error here is the client's: it went away, or was too slow.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running at shutdown were abandoned");
    }
    Ok(())
}

async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, String) {
    match state.store.health().await {
        Ok(()) => (
            axum::http::StatusCode::OK,
            format!("ok {}\n", state.store.backend()),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable\n".to_owned(),
            )
        }
    }
}

async fn stylesheet() -> impl axum::response::IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/style.css"),
    )
}

/// The submission form's suggestions while typing (progressive: the form works without).
async fn similar_script() -> impl axum::response::IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/similar.js"),
    )
}

/// Put in a response's extensions by a handler whose page may be shown in a frame on
/// other sites (the widget's, whose own `Content-Security-Policy` names in
/// `frame-ancestors` the sites allowed): no `X-Frame-Options: DENY` is added to it.
/// Without its own policy such a response still gets `frame-ancestors 'none'`.
#[derive(Debug, Clone, Copy)]
pub struct Frameable;

/// Headers every response carries: no sniffing, no framing (except [`Frameable`]
/// responses, by their own policy), a strict content policy (pages need no inline
/// script), no referrer leaks; behind TLS, HSTS.
async fn security_headers(
    axum::extract::State(tls): axum::extract::State<bool>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    let frameable = response.extensions().get::<Frameable>().is_some();
    let headers = response.headers_mut();
    if tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    let set = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    ];
    for (name, value) in set {
        if frameable && name == header::X_FRAME_OPTIONS {
            continue;
        }
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    // Pages and API answers may hold personal data: no shared or disk caches, unless a
    // handler said otherwise (the stylesheet).
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// A path as the access log writes it: a ballot's id (the voter's key to their receipt) is
/// replaced, so that the log cannot link a ballot to the time someone was online.
fn loggable_path(path: &str) -> String {
    match path.split_once("/receipts/") {
        Some((poll, _)) if poll.starts_with("/api/v1/polls/") => {
            format!("{poll}/receipts/{{ballot_id}}")
        }
        _ => path.to_owned(),
    }
}

/// One log line per request: method, path (never the query or body, which may hold
/// personal data; never a ballot id), status and duration, inside a span that carries
/// the request's id, so that every line logged while handling it names the request. The
/// id is the client's `X-Request-Id` when it is a plain token, else a new one; the
/// response carries it back.
async fn access_log(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument as _;
    let method = request.method().clone();
    let path = loggable_path(request.uri().path());
    let id = request_id(request.headers().get("x-request-id"));
    let span = tracing::info_span!("request", id = %id);
    let started = std::time::Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let micros = started.elapsed().as_micros();
    span.in_scope(|| {
        // A 503 is load shed or a database away for a moment, which the client retries
        // (`Retry-After`): a warning. Any other 5xx is a fault.
        if status == 503 {
            tracing::warn!(%method, %path, status, micros, "request");
        } else if status >= 500 {
            tracing::error!(%method, %path, status, micros, "request");
        } else {
            tracing::info!(%method, %path, status, micros, "request");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// The client's request id when it is 1–64 letters, digits, `-` or `_` (anything else
/// could forge log lines), else 16 random hex digits.
fn request_id(offered: Option<&HeaderValue>) -> String {
    let plain = |s: &&str| {
        (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    match offered.and_then(|v| v.to_str().ok()).filter(plain) {
        Some(id) => id.to_owned(),
        None => format!("{:016x}", rand::random::<u64>()),
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn ballot_ids_never_reach_the_access_log() {
        assert_eq!(
            loggable_path("/api/v1/polls/7/receipts/0123456789abcdef0123456789abcdef"),
            "/api/v1/polls/7/receipts/{ballot_id}"
        );
        // A submission's receipts name log leaves, not ballots: kept as they are.
        assert_eq!(
            loggable_path("/api/v1/submissions/5/receipts/12"),
            "/api/v1/submissions/5/receipts/12"
        );
        assert_eq!(loggable_path("/polls/7"), "/polls/7");
    }

    #[test]
    fn request_ids_are_kept_only_when_plain() {
        use axum::http::HeaderValue;
        let kept = HeaderValue::from_static("abc-123_X");
        assert_eq!(super::request_id(Some(&kept)), "abc-123_X");
        let forged = HeaderValue::from_static("x\" level=error msg=\"forged");
        let fresh = super::request_id(Some(&forged));
        assert_eq!(fresh.len(), 16);
        assert!(fresh.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(super::request_id(None).len(), 16);
    }
}
