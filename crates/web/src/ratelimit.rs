//! Rate limits per client address and per account (login, registration, submission):
//! token buckets (GCRA, the `governor` crate) kept in memory per node. A refused request
//! gets `429 Too Many Requests` with `Retry-After`, and changes nothing.

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::config::{Rate, RateLimits};
use crate::error::AppError;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// One bucket per key, with its quota.
struct Limit<K: std::hash::Hash + Eq + Clone> {
    limiter: Keyed<K>,
    checks: AtomicU32,
}

impl<K: std::hash::Hash + Eq + Clone> Limit<K> {
    fn new(rate: Rate) -> Self {
        let per_minute = NonZeroU32::new(rate.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(rate.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
            checks: AtomicU32::new(0),
        }
    }

    /// Takes a token for `key`, or says how many seconds until one is free.
    fn check(&self, key: &K) -> Result<(), u64> {
        // Forget idle keys now and then, so memory stays bounded under a flood of
        // distinct addresses.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// The limits of one node.
pub struct Limiter {
    login_ip: Limit<IpAddr>,
    login_account: Limit<String>,
    register_ip: Limit<IpAddr>,
    submit_ip: Limit<IpAddr>,
    submit_account: Limit<i64>,
}

impl Limiter {
    pub fn new(limits: &RateLimits) -> Self {
        Self {
            login_ip: Limit::new(limits.login_per_ip),
            login_account: Limit::new(limits.login_per_account),
            register_ip: Limit::new(limits.register_per_ip),
            submit_ip: Limit::new(limits.submit_per_ip),
            submit_account: Limit::new(limits.submit_per_account),
        }
    }

    /// A login attempt from `ip` for the account typed as `login` (existing or not, so
    /// the answer does not tell which accounts exist).
    pub fn login(&self, ip: IpAddr, login: &str) -> Result<(), AppError> {
        self.login_ip.check(&ip).map_err(too_many)?;
        let account = login.trim().to_lowercase();
        self.login_account.check(&account).map_err(too_many)
    }

    pub fn register(&self, ip: IpAddr) -> Result<(), AppError> {
        self.register_ip.check(&ip).map_err(too_many)
    }

    pub fn submit(&self, ip: IpAddr, account: otklik_domain::UserId) -> Result<(), AppError> {
        self.submit_ip.check(&ip).map_err(too_many)?;
        self.submit_account.check(&account.0).map_err(too_many)
    }
}

fn too_many(retry_after: u64) -> AppError {
    AppError::too_many_requests("rate_limited", retry_after.max(1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_burst_passes_then_the_next_request_waits() {
        let limiter = Limiter::new(&RateLimits {
            login_per_ip: Rate::new(60, 3),
            ..RateLimits::unlimited()
        });
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            assert!(limiter.login(ip, "a@example.org").is_ok());
        }
        let refused = limiter.login(ip, "b@example.org").unwrap_err();
        assert_eq!(refused.status.as_u16(), 429);
        assert_eq!(refused.retry_after, Some(1));
        // Another address has its own bucket.
        assert!(limiter.login([10, 0, 0, 2].into(), "a@example.org").is_ok());
    }

    #[test]
    fn accounts_are_limited_whatever_the_address() {
        let limiter = Limiter::new(&RateLimits {
            login_per_account: Rate::new(1, 2),
            ..RateLimits::unlimited()
        });
        assert!(limiter
            .login([10, 0, 0, 1].into(), "Ivan@example.org")
            .is_ok());
        assert!(limiter
            .login([10, 0, 0, 2].into(), "ivan@example.org ")
            .is_ok());
        let refused = limiter
            .login([10, 0, 0, 3].into(), "IVAN@example.org")
            .unwrap_err();
        assert!(refused.retry_after.is_some_and(|s| s > 1 && s <= 60));
    }
}
