//! Prometheus metrics at `/metrics` (OpenMetrics text): requests by route template and
//! status, their latency, requests running and refused for overload, and at each scrape
//! the depth of the queues (pushes, notifications, exports) and the deadlines broken or
//! at risk.
//!
//! Labels are route templates (`/api/v1/submissions/{id}`), never paths, queries or
//! anything a person typed: metrics hold no personal data and their number is bounded.
//!
//! Who may scrape: a client on the same machine whose request did not pass through a
//! proxy (no `Forwarded`/`X-Forwarded-For`), or anyone with `[metrics] token` as a
//! bearer token.

use crate::AppState;
use axum::extract::{ConnectInfo, MatchedPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde::Deserialize;
use std::net::SocketAddr;

/// The settings file's `[metrics]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A bearer token that lets a scraper on another machine read `/metrics`.
    pub token: Option<crate::config::Secret>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// The route template a request matched, put in its response's extensions by
/// [`mark_route`] for [`Metrics::observe`] further out.
#[derive(Debug, Clone)]
struct Route(MatchedPath);

/// The node's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    shed: Counter,
    in_flight: Gauge,
    database_up: Gauge,
    queues: [Gauge; 6],
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("otklik");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.5 ms to ~8 s.
            Histogram::new(exponential_buckets(0.000_5, 2.0, 15))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from receiving a request to its response, by method and route template",
            latency.clone(),
        );
        let shed = Counter::default();
        registry.register(
            "http_requests_shed",
            "Requests refused with 503 overloaded (no turn within the admission wait)",
            shed.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "Requests being handled at the scrape",
            in_flight.clone(),
        );
        let database_up = Gauge::default();
        registry.register(
            "database_up",
            "1 when the database answered the scrape's queries, else 0",
            database_up.clone(),
        );
        let queues: [Gauge; 6] = Default::default();
        let described = [
            (
                "deliveries_pending",
                "Pushes to organisations' systems waiting, not failing",
            ),
            ("deliveries_failing", "Pushes whose receiver keeps failing"),
            (
                "notifications_pending",
                "E-mail and gateway messages waiting to be sent",
            ),
            ("exports_waiting", "Export jobs queued or running"),
            ("deadlines_overdue", "Open submissions past their deadline"),
            ("deadlines_at_risk", "Open submissions due within 24 hours"),
        ];
        for ((name, help), gauge) in described.into_iter().zip(&queues) {
            registry.register(name, help, gauge.clone());
        }
        Self {
            registry,
            requests,
            latency,
            shed,
            in_flight,
            database_up,
            queues,
        }
    }

    /// Counts a request refused for overload.
    pub fn shed(&self) {
        self.shed.inc();
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status: status.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    async fn render(&self, state: &AppState) -> String {
        self.in_flight.set(i64::from(state.admission.in_flight()));
        let now = time::OffsetDateTime::now_utc();
        match state
            .store
            .operational_gauges(now, now + time::Duration::days(1))
            .await
        {
            Ok(g) => {
                self.database_up.set(1);
                let values = [
                    g.deliveries_pending,
                    g.deliveries_failing,
                    g.notifications_pending,
                    g.exports_waiting,
                    g.deadlines_overdue,
                    g.deadlines_at_risk,
                ];
                for (gauge, value) in self.queues.iter().zip(values) {
                    gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: the database did not answer");
                self.database_up.set(0);
            }
        }
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

/// Innermost (a route layer): records which route template the request matched.
pub async fn mark_route(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .cloned()
        .map(Route);
    let mut response = next.run(request).await;
    if let Some(route) = matched {
        response.extensions_mut().insert(route);
    }
    response
}

/// Outermost: counts every answer and its latency under the route it matched
/// (`unmatched` for paths no route has).
pub async fn observe(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<Route>()
        .map_or("unmatched", |r| r.0.as_str());
    state.metrics.observe(
        &method,
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
pub async fn scrape(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !may_scrape(&state.config.metrics, peer, &headers) {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    let text = state.metrics.render(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Loopback without a proxy in between, or the configured token. Anyone else gets the
/// same `404` as for a path that does not exist.
fn may_scrape(config: &MetricsConfig, peer: SocketAddr, headers: &HeaderMap) -> bool {
    let proxied = headers.contains_key("x-forwarded-for") || headers.contains_key("forwarded");
    if peer.ip().is_loopback() && !proxied {
        return true;
    }
    let Some(token) = config.token.as_ref().map(|t| t.expose()) else {
        return false;
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    presented.is_some_and(|p| !token.is_empty() && constant_time_eq(p.as_bytes(), token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40_000)
    }

    #[test]
    fn only_local_unproxied_clients_or_the_token_may_scrape() {
        let open = MetricsConfig::default();
        let mut headers = HeaderMap::new();
        assert!(may_scrape(&open, peer("127.0.0.1"), &headers));
        assert!(!may_scrape(&open, peer("203.0.113.5"), &headers));
        headers.insert("x-forwarded-for", "203.0.113.5".parse().unwrap());
        assert!(!may_scrape(&open, peer("127.0.0.1"), &headers));
        let with_token = MetricsConfig {
            token: Some(crate::config::Secret::new("scrape-me")),
        };
        headers.insert(header::AUTHORIZATION, "Bearer scrape-me".parse().unwrap());
        assert!(may_scrape(&with_token, peer("203.0.113.5"), &headers));
        headers.insert(header::AUTHORIZATION, "Bearer scrape-mE".parse().unwrap());
        assert!(!may_scrape(&with_token, peer("203.0.113.5"), &headers));
    }

    #[test]
    fn requests_are_counted_by_route_template() {
        let metrics = Metrics::new();
        metrics.observe("GET", "/submissions/{id}", 200, 0.004);
        metrics.observe("GET", "/submissions/{id}", 200, 0.006);
        metrics.shed();
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.registry).unwrap();
        assert!(
            text.contains(
                "otklik_http_requests_total{method=\"GET\",route=\"/submissions/{id}\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("otklik_http_requests_shed_total 1"), "{text}");
    }
}
