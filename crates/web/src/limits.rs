//! Overload protection: a bounded number of requests run at once, a bounded wait for a
//! turn, and a bounded time for each request. Beyond them the server answers at once
//! (`503` with `Retry-After`) instead of queueing without end, so that memory stays
//! bounded and the requests it did admit keep their latency.
//!
//! Health checks and metrics are never shed: monitoring must see an overloaded node.

use crate::error::AppError;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The settings file's `[limits]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Requests handled at once by this node; more wait for a turn.
    pub max_in_flight: u32,
    /// How long a request may wait for a turn before it is refused with `503 overloaded`.
    pub admission_wait_ms: u64,
    /// How long a request may run before its client gets `503 request_timeout`. A write
    /// already under way still completes or rolls back as a whole.
    pub request_timeout_seconds: u64,
    /// Connections open at once; further ones wait in the kernel's backlog.
    pub max_connections: u32,
    /// How long a client may take to send a request's headers (slow clients that hold a
    /// connection without finishing a request are cut off).
    pub header_timeout_seconds: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 512,
            admission_wait_ms: 2_000,
            request_timeout_seconds: 30,
            max_connections: 4_096,
            header_timeout_seconds: 10,
        }
    }
}

impl LimitsConfig {
    /// What the types alone cannot say.
    pub fn check(&self) -> Result<(), String> {
        if self.max_in_flight == 0
            || self.request_timeout_seconds == 0
            || self.max_connections == 0
            || self.header_timeout_seconds == 0
        {
            return Err("[limits] every limit must be at least 1".to_owned());
        }
        Ok(())
    }
}

/// The node's turns: one permit per request running.
#[derive(Debug)]
pub struct Admission {
    turns: Arc<Semaphore>,
    capacity: u32,
    wait: Duration,
    timeout: Duration,
}

impl Admission {
    pub fn new(config: &LimitsConfig) -> Self {
        let capacity = config.max_in_flight.max(1);
        Self {
            turns: Arc::new(Semaphore::new(capacity as usize)),
            capacity,
            wait: Duration::from_millis(config.admission_wait_ms),
            timeout: Duration::from_secs(config.request_timeout_seconds.max(1)),
        }
    }

    /// Requests running now.
    pub fn in_flight(&self) -> u32 {
        let free = u32::try_from(self.turns.available_permits()).unwrap_or(self.capacity);
        self.capacity.saturating_sub(free)
    }
}

/// Paths that bypass admission: the node's own health and its metrics.
fn never_shed(path: &str) -> bool {
    path == "/healthz" || path == "/metrics"
}

/// Waits for a turn (at most the admission wait), then runs the request in a task of its
/// own under the request timeout. The task is never cancelled: a client who disconnects,
/// or whose request timed out, does not leave a transaction half-way (a dropped
/// transaction would return its connection to the pool inside the transaction), and the
/// write still completes or rolls back as a whole.
pub async fn admit(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let admission = state.admission.clone();
    let metrics = state.metrics.clone();
    let machines = for_machines(request.uri().path());
    if never_shed(request.uri().path()) {
        return run_to_completion(next.run(request), admission.timeout, machines).await;
    }
    let permit =
        match tokio::time::timeout(admission.wait, admission.turns.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            // Waited too long, or the semaphore closed (never: it is not closed).
            Ok(Err(_)) | Err(_) => {
                metrics.shed();
                return refused("overloaded", machines);
            }
        };
    run_to_completion(
        async move {
            let response = next.run(request).await;
            drop(permit);
            response
        },
        admission.timeout,
        machines,
    )
    .await
}

async fn run_to_completion(
    handling: impl std::future::Future<Output = Response> + Send + 'static,
    timeout: Duration,
    machines: bool,
) -> Response {
    use tracing::Instrument as _;
    let task = tokio::spawn(handling.in_current_span());
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(response)) => response,
        // The handler panicked: a bare 500, the cause is in the task's panic message.
        Ok(Err(_)) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Err(_) => refused("request_timeout", machines),
    }
}

/// `503` with `Retry-After: 1`: problem+json for machines (the API, Open311), a short
/// page for people (the page layer's own error page needs a session this layer has not
/// looked up, and an overloaded node should not look one up).
fn refused(code: &'static str, for_machines: bool) -> Response {
    let error = AppError::unavailable(code, 1);
    if for_machines {
        return crate::api::ApiError::from(error).into_response();
    }
    let text = crate::messages::error(code);
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Сервис временно недоступен — Отклик</title>\
         <link rel=\"stylesheet\" href=\"/static/style.css\"></head>\
         <body><main id=\"main\"><h1>Сервис временно недоступен</h1>\
         <p role=\"alert\">{text}</p><p><a href=\"/\">На главную</a></p></main></body></html>\n"
    );
    let mut response = (
        error.status,
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response();
    crate::error::add_retry_after(&mut response, error.retry_after);
    response
}

/// Whether the path is one whose clients read problem+json rather than pages.
fn for_machines(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/open311")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn in_flight_counts_the_permits_taken() {
        let admission = Admission::new(&LimitsConfig {
            max_in_flight: 3,
            ..Default::default()
        });
        assert_eq!(admission.in_flight(), 0);
        let held = admission.turns.clone().try_acquire_owned().unwrap();
        assert_eq!(admission.in_flight(), 1);
        drop(held);
        assert_eq!(admission.in_flight(), 0);
    }

    #[test]
    fn zero_limits_are_refused() {
        let zero = LimitsConfig {
            max_in_flight: 0,
            ..Default::default()
        };
        assert!(zero.check().is_err());
        assert!(LimitsConfig::default().check().is_ok());
    }

    #[tokio::test]
    async fn a_refusal_says_when_to_come_back() {
        let response = refused("overloaded", true);
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
    }
}
