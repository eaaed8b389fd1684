//! Delivery of routed submissions to organisations' own systems: the settings an
//! organisation chooses (push to its endpoint, or a pull queue it polls), and the retry
//! arithmetic of pushes. Pure: the store keeps the outbox, the web crate speaks HTTP.

use std::time::Duration;

/// How an organisation's system takes its submissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryMode {
    /// The platform POSTs each message to the organisation's endpoint.
    Push,
    /// The organisation's system asks for the next message and acknowledges it.
    Pull,
}

impl DeliveryMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Pull => "pull",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim() {
            "push" => Ok(Self::Push),
            "pull" => Ok(Self::Pull),
            "" => Err("required"),
            _ => Err("unknown_value"),
        }
    }
}

/// Where pushes go: `https://` anywhere, `http://` only to a loopback host (development
/// and tests). No credentials in the URL, no fragment, at most 2,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushUrl(String);

impl PushUrl {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("required");
        }
        if value.len() > 2000 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("invalid_url");
        }
        let (scheme, rest) = value.split_once("://").ok_or("invalid_url")?;
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if authority.is_empty() || authority.contains('@') || value.contains('#') {
            return Err("invalid_url");
        }
        let (host, port) = match authority.strip_prefix('[') {
            // An IPv6 address: `[addr]` or `[addr]:port`.
            Some(rest) => {
                let (addr, after) = rest.split_once(']').ok_or("invalid_url")?;
                if addr.is_empty()
                    || !addr
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
                {
                    return Err("invalid_url");
                }
                match after {
                    "" => (format!("[{addr}]"), None),
                    _ => (
                        format!("[{addr}]"),
                        Some(after.strip_prefix(':').ok_or("invalid_url")?),
                    ),
                }
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_owned(), Some(port)),
                None => (authority.to_owned(), None),
            },
        };
        if host.is_empty() || (!host.starts_with('[') && host.contains(':')) {
            return Err("invalid_url");
        }
        if let Some(port) = port {
            port.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or("invalid_url")?;
        }
        let host = host.to_ascii_lowercase();
        let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]");
        match scheme.to_ascii_lowercase().as_str() {
            "https" => Ok(Self(value.to_owned())),
            "http" if loopback => Ok(Self(value.to_owned())),
            "http" => Err("https_required"),
            _ => Err("invalid_url"),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organisation's delivery settings, each value checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySettings {
    pub mode: DeliveryMode,
    /// Push only: the endpoint and the HMAC key of signatures.
    pub push: Option<(PushUrl, String)>,
    /// Pull only: how long a taken message stays invisible before it comes back.
    pub visibility_timeout: Duration,
    /// After this many failed attempts in a row the operator is alerted.
    pub alert_after_failures: u32,
}

pub const VISIBILITY_TIMEOUT_SECONDS: std::ops::RangeInclusive<u64> = 10..=86_400;
pub const ALERT_AFTER_FAILURES: std::ops::RangeInclusive<u32> = 1..=1000;
pub const DEFAULT_VISIBILITY_TIMEOUT_SECONDS: u64 = 300;
pub const DEFAULT_ALERT_AFTER_FAILURES: u32 = 5;
/// A push secret: at least 32 characters of printable ASCII.
pub const MIN_SECRET_LEN: usize = 32;

impl DeliverySettings {
    /// Checks every value; the errors are by field.
    pub fn new(
        mode: DeliveryMode,
        push: Option<(PushUrl, String)>,
        visibility_timeout_seconds: u64,
        alert_after_failures: u32,
    ) -> Result<Self, crate::ValidationErrors> {
        let mut errors = crate::ValidationErrors::default();
        if !VISIBILITY_TIMEOUT_SECONDS.contains(&visibility_timeout_seconds) {
            errors.push("visibility_timeout_seconds", "out_of_range");
        }
        if !ALERT_AFTER_FAILURES.contains(&alert_after_failures) {
            errors.push("alert_after_failures", "out_of_range");
        }
        let push = match (mode, push) {
            (DeliveryMode::Push, Some((url, secret))) => {
                if !secret_is_strong(&secret) {
                    errors.push("push_secret", "weak_secret");
                }
                Some((url, secret))
            }
            (DeliveryMode::Push, None) => {
                errors.push("push_url", "required");
                None
            }
            (DeliveryMode::Pull, _) => None,
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            mode,
            push,
            visibility_timeout: Duration::from_secs(visibility_timeout_seconds),
            alert_after_failures,
        })
    }
}

/// 32 to 200 printable ASCII characters.
pub fn secret_is_strong(secret: &str) -> bool {
    (MIN_SECRET_LEN..=200).contains(&secret.len()) && secret.chars().all(|c| c.is_ascii_graphic())
}

/// How long to wait before the next push after `failures` failed attempts in a row
/// (1 or more): exponential from `base`, capped at `cap`, with "equal jitter" — a random
/// point in the upper half of the step (`jitter` in `[0, 1)`), so that many failing
/// deliveries spread out and yet none retries sooner than half its step.
pub fn retry_delay(failures: u32, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let exponent = failures.saturating_sub(1).min(30);
    let step = base.saturating_mul(1u32 << exponent).min(cap);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let half = step / 2;
    half + (step - half).mul_f64(jitter).min(step - half)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn push_urls_are_https_or_loopback() {
        for ok in [
            "https://sed.tver.ru/otklik",
            "https://sed.tver.ru:8443/in?x=1",
            "http://127.0.0.1:4100/hook",
            "http://localhost/hook",
            "http://[::1]:80/",
            "https://[2a00:1450::1]/in",
        ] {
            assert!(PushUrl::parse(ok).is_ok(), "{ok}");
        }
        for (bad, code) in [
            ("", "required"),
            ("http://sed.tver.ru/", "https_required"),
            ("ftp://sed.tver.ru/", "invalid_url"),
            ("https://user:pw@sed.tver.ru/", "invalid_url"),
            ("https:///path", "invalid_url"),
            ("https://sed.tver.ru/a b", "invalid_url"),
            ("https://sed.tver.ru:0/", "invalid_url"),
            ("https://[::1/", "invalid_url"),
            ("https://[]/", "invalid_url"),
            ("https://a:b:c/", "invalid_url"),
            ("https://sed.tver.ru/#x", "invalid_url"),
            ("sed.tver.ru", "invalid_url"),
        ] {
            assert_eq!(PushUrl::parse(bad), Err(code), "{bad}");
        }
    }

    #[test]
    fn settings_check_every_field() {
        let url = PushUrl::parse("https://sed.tver.ru/in").unwrap();
        let err = DeliverySettings::new(DeliveryMode::Push, Some((url, "short".into())), 5, 0)
            .unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            vec![
                ("visibility_timeout_seconds", "out_of_range"),
                ("alert_after_failures", "out_of_range"),
                ("push_secret", "weak_secret"),
            ]
        );
        assert!(DeliverySettings::new(DeliveryMode::Push, None, 300, 5).is_err());
        let pull = DeliverySettings::new(DeliveryMode::Pull, None, 300, 5).unwrap();
        assert_eq!(pull.push, None);
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let (base, cap) = (Duration::from_secs(5), Duration::from_secs(3600));
        let top = |n| retry_delay(n, base, cap, 0.999_999_999);
        assert_eq!(retry_delay(1, base, cap, 0.0), Duration::from_millis(2500));
        assert_eq!(top(1).as_secs(), 4);
        assert_eq!(retry_delay(2, base, cap, 0.0), Duration::from_secs(5));
        assert_eq!(retry_delay(40, base, cap, 0.0), Duration::from_secs(1800));
        assert!(top(40) <= cap);
    }

    proptest! {
        /// Every delay lies in the upper half of its step, never beyond the cap, and the
        /// steps never shrink as failures accumulate.
        #[test]
        fn delays_stay_in_the_upper_half_of_a_growing_step(
            failures in 1u32..200,
            base_ms in 1u64..60_000,
            cap_ms in 1u64..7_200_000,
            jitter in 0.0f64..1.0,
        ) {
            let (base, cap) = (Duration::from_millis(base_ms), Duration::from_millis(cap_ms));
            let step = |n: u32| base.saturating_mul(1u32 << n.saturating_sub(1).min(30)).min(cap);
            let delay = retry_delay(failures, base, cap, jitter);
            prop_assert!(delay <= step(failures));
            prop_assert!(delay >= step(failures) / 2);
            prop_assert!(delay <= cap);
            prop_assert!(step(failures + 1) >= step(failures));
        }
    }
}
