//! Pushing routed submissions to organisations' own systems: the signature every push
//! carries and the worker that sends the outbox.
//!
//! A push is `POST <push_url>` with the stored JSON envelope as its body and
//! - `Content-Type: application/json`,
//! - `Idempotency-Key` and `X-Otklik-Delivery`: the delivery's key (receivers deduplicate
//!   by it: delivery is at least once),
//! - `X-Otklik-Event`: `submission.routed`, `submission.updated` or `submission.withdrawn`,
//! - `X-Otklik-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." ‖ body)>`.
//!
//! Any 2xx ends the delivery; anything else (another status, a timeout, a refused
//! connection) is retried with exponential backoff and jitter, for ever: nothing is
//! dropped, and after the organisation's threshold the operator is alerted.

use otklik_store::{OutgoingDelivery, PushOutcome, Store};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

use crate::config::DeliveryConfig;

pub use otklik_notify::webhook::{signature, verify_signature};

/// Whether an address is on the public internet: not loopback, private, link-local,
/// shared (CGNAT), unspecified, multicast or unique-local, nor such an IPv4 address
/// mapped into IPv6.
pub fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b))
                || a == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// Whether a push URL may be used when private targets are not allowed: its host is not
/// `localhost` and, when it is an address, a public one. (Names are resolved at sending
/// time by [`PublicOnly`].)
pub fn may_target(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name != "localhost" && !name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(v4)) => is_public(v4.into()),
        Some(url::Host::Ipv6(v6)) => is_public(v6.into()),
        None => false,
    }
}

/// A resolver that gives only public addresses: a name pointing into the platform's own
/// network (or re-pointed there later) cannot be pushed to.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let public: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if public.is_empty() {
                return Err("the name resolves to no public address".into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Starts the push worker (when enabled): it claims due pushes, sends them and records
/// the outcome, until the task is aborted.
pub fn spawn_worker(
    store: Arc<dyn Store>,
    config: DeliveryConfig,
) -> Option<tokio::task::JoinHandle<()>> {
    if !config.enabled {
        return None;
    }
    let mut builder = reqwest::Client::builder();
    if !config.allow_private_targets {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    let client = match builder
        .timeout(Duration::from_secs(config.timeout_seconds))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("otklik/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "the delivery worker cannot build its HTTP client");
            return None;
        }
    };
    Some(tokio::spawn(async move {
        let idle = Duration::from_millis(config.poll_interval_ms);
        loop {
            match pass(store.as_ref(), &client, &config).await {
                // A full batch: there may be more due right away.
                Ok(n) if n >= config.batch as usize => {}
                Ok(_) => tokio::time::sleep(idle).await,
                Err(e) => {
                    tracing::warn!(code = e.code(), "delivery pass failed: {e}");
                    tokio::time::sleep(idle).await;
                }
            }
        }
    }))
}

/// One pass: claims what is due and sends it all concurrently. Returns how many.
pub async fn pass(
    store: &dyn Store,
    client: &reqwest::Client,
    config: &DeliveryConfig,
) -> Result<usize, otklik_store::StoreError> {
    // A lease longer than a push can take: another node will not send it meanwhile, and
    // if this one dies mid-push, the delivery becomes due again when the lease ends.
    let lease = Duration::from_secs(config.timeout_seconds + 30);
    let due = store
        .claim_pushes(OffsetDateTime::now_utc(), lease, config.batch)
        .await?;
    let count = due.len();
    let sends = due.into_iter().map(|delivery| async move {
        let outcome = send(client, &delivery, config).await;
        if let PushOutcome::Failed { error, .. } = &outcome {
            tracing::info!(delivery = delivery.id.0, org = delivery.org.0, attempt = delivery.attempts, %error, "push failed");
        }
        (delivery.id, outcome)
    });
    let outcomes = futures_util::future::join_all(sends).await;
    if !outcomes.is_empty() {
        store
            .finish_pushes(&outcomes, OffsetDateTime::now_utc())
            .await?;
    }
    Ok(count)
}

async fn send(
    client: &reqwest::Client,
    delivery: &OutgoingDelivery,
    config: &DeliveryConfig,
) -> PushOutcome {
    let Some((url, secret)) = &delivery.push else {
        return failed("no push endpoint", delivery.attempts, config);
    };
    // Names are checked by the resolver; addresses written in the URL are checked here.
    if !config.allow_private_targets && !may_target(url) {
        return failed("private address refused", delivery.attempts, config);
    }
    let now = OffsetDateTime::now_utc();
    let body = delivery.payload.as_bytes().to_vec();
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Idempotency-Key", &delivery.key)
        .header("X-Otklik-Delivery", &delivery.key)
        .header("X-Otklik-Event", &delivery.event)
        .header(
            "X-Otklik-Signature",
            signature(secret, now.unix_timestamp(), &body),
        )
        .body(body)
        .send()
        .await;
    match response {
        Ok(r) if r.status().is_success() => PushOutcome::Delivered,
        Ok(r) => failed(
            &format!("status {}", r.status().as_u16()),
            delivery.attempts,
            config,
        ),
        Err(e) if e.is_timeout() => failed("timeout", delivery.attempts, config),
        Err(e) if e.is_connect() => failed("connection failed", delivery.attempts, config),
        Err(_) => failed("request failed", delivery.attempts, config),
    }
}

fn failed(error: &str, attempts: u32, config: &DeliveryConfig) -> PushOutcome {
    let delay = otklik_domain::delivery::retry_delay(
        attempts,
        Duration::from_secs(config.retry_base_seconds),
        Duration::from_secs(config.retry_max_seconds),
        rand::random::<f64>(),
    );
    PushOutcome::Failed {
        error: error.to_owned(),
        retry_at: OffsetDateTime::now_utc() + delay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_targets_are_allowed() {
        for url in [
            "http://127.0.0.1:9/hook",
            "http://localhost/hook",
            "https://10.1.2.3/in",
            "https://192.168.0.10/in",
            "https://169.254.169.254/latest",
            "https://100.64.0.1/in",
            "https://[::1]/in",
            "https://[fd00::1]/in",
            "https://[::ffff:127.0.0.1]/in",
            "https://db.localhost/in",
        ] {
            assert!(!may_target(url), "{url}");
        }
        for url in [
            "https://sed.tver.ru/in",
            "https://8.8.8.8/in",
            "https://[2a00:1450::1]/in",
        ] {
            assert!(may_target(url), "{url}");
        }
    }

    #[test]
    fn signatures_verify_and_refuse_changes() {
        let now = OffsetDateTime::now_utc();
        let t = now.unix_timestamp();
        let header = signature("k".repeat(32).as_str(), t, b"{\"a\":1}");
        let secret = "k".repeat(32);
        let ok = |h: &str, body: &[u8], at| {
            verify_signature(&secret, h, body, at, Duration::from_secs(300))
        };
        assert!(ok(&header, b"{\"a\":1}", now));
        assert!(!ok(&header, b"{\"a\":2}", now));
        assert!(!ok(&header, b"{\"a\":1}", now + Duration::from_secs(301)));
        assert!(!ok("t=1,v1=zz", b"", now));
        assert!(!verify_signature(
            "another-secret-of-thirty-two-chars",
            &header,
            b"{\"a\":1}",
            now,
            Duration::from_secs(300)
        ));
        assert!(header.starts_with(&format!("t={t},v1=")));
    }
}
