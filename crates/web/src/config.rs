//! The web layer's settings. Each section is what the settings file's table of the same
//! name holds (see `otklik::settings`); unknown keys are refused, and secrets never print.

use otklik_domain::access::Verification;
use serde::Deserialize;
use std::net::IpAddr;

/// A secret setting (a client secret): shown as `***` by `Debug`, never logged.
pub use otklik_notify::Secret;

/// Everything the web layer is configured with.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    pub security: SecurityConfig,
    pub identity: IdentityConfig,
    pub rate_limits: RateLimits,
    /// The identity provider (ЕСИА or a regional gateway); `None`: local accounts only.
    pub oidc: Option<OidcConfig>,
    pub delivery: DeliveryConfig,
    pub signing: SigningConfig,
    pub analytics: AnalyticsConfig,
    pub polls: PollsConfig,
    pub exports: ExportsConfig,
    pub quality_feed: crate::quality::QualityFeedConfig,
    pub limits: crate::limits::LimitsConfig,
    pub metrics: crate::metrics::MetricsConfig,
}

/// Analytics: what the ministry's analyst and exports may show.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    /// Groups with fewer submissions than this are withheld from the analyst's figures
    /// and exports (at least 1).
    pub min_group: u32,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self { min_group: 5 }
    }
}

/// How live results are shown while a poll runs (`docs/POLLS.md`, threat model).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct PollsConfig {
    /// Live results change at most once per this many seconds (0: with every ballot,
    /// which lets someone watching at low turnout see one person's choice).
    pub live_snapshot_seconds: u32,
    /// ...and only once at least this many ballots came since they last changed (at
    /// least 1); before the first this many, no counts are shown.
    pub live_snapshot_min_ballots: u32,
}

impl Default for PollsConfig {
    fn default() -> Self {
        Self {
            live_snapshot_seconds: 600,
            live_snapshot_min_ballots: 10,
        }
    }
}

impl PollsConfig {
    /// Exact counts with every ballot: no copies.
    pub fn exact() -> Self {
        Self {
            live_snapshot_seconds: 0,
            live_snapshot_min_ballots: 1,
        }
    }
}

/// Background exports of lists (`docs/ANALYTICS.md`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ExportsConfig {
    /// How long a finished (or failed) job's file is kept, in hours (1 to
    /// `MAX_KEEP_HOURS`); then the sweep deletes it and the job shows it expired.
    pub keep_hours: u32,
}

impl ExportsConfig {
    /// Ten years: the longest retention the settings accept.
    pub const MAX_KEEP_HOURS: u32 = 87_600;

    /// How long a finished file is kept.
    pub fn keep(&self) -> time::Duration {
        time::Duration::hours(i64::from(self.keep_hours))
    }

    /// What the types alone cannot say.
    pub fn check(&self) -> Result<(), String> {
        if (1..=Self::MAX_KEEP_HOURS).contains(&self.keep_hours) {
            Ok(())
        } else {
            Err(format!(
                "[exports] keep_hours must be from 1 to {}",
                Self::MAX_KEEP_HOURS
            ))
        }
    }
}

impl Default for ExportsConfig {
    /// A week.
    fn default() -> Self {
        Self { keep_hours: 168 }
    }
}

/// Electronic signatures: what is trusted besides the platform's own authorities.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SigningConfig {
    /// PEM (or DER) files of certification authorities whose certificates are trusted
    /// when verifying signatures made outside the platform.
    pub trust: Vec<std::path::PathBuf>,
    /// Certificate revocation lists (PEM or DER) consulted when verifying.
    pub crls: Vec<std::path::PathBuf>,
    /// How long a certificate the platform issues to a person is valid, in days.
    pub certificate_days: u32,
}

impl Default for SigningConfig {
    fn default() -> Self {
        Self {
            trust: Vec::new(),
            crls: Vec::new(),
            certificate_days: 365,
        }
    }
}

/// The worker that pushes routed submissions to organisations' own systems.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Run the push worker on this node (several nodes may: a push is leased to one).
    pub enabled: bool,
    /// How often to look for due pushes, in milliseconds.
    pub poll_interval_ms: u64,
    /// How long one push may take, in seconds.
    pub timeout_seconds: u64,
    /// The first retry waits about this long; each next one twice as long …
    pub retry_base_seconds: u64,
    /// … up to this.
    pub retry_max_seconds: u64,
    /// Pushes taken per pass.
    pub batch: u32,
    /// Allow push endpoints on loopback or private networks (development and tests). Off:
    /// such URLs are refused when set, and names resolving to such addresses are refused
    /// when sending, so an administrator cannot make the platform probe its own network.
    pub allow_private_targets: bool,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_interval_ms: 1000,
            timeout_seconds: 10,
            retry_base_seconds: 5,
            retry_max_seconds: 3600,
            batch: 16,
            allow_private_targets: false,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// The platform is served over HTTPS (by a proxy in front): cookies are `Secure` and
    /// responses carry `Strict-Transport-Security`.
    pub tls: bool,
    /// Peers whose `X-Forwarded-For` is believed (the reverse proxy); anyone else's
    /// address is the connection's.
    pub trusted_proxies: Vec<IpAddr>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// The verification level of an account registered here with an e-mail address.
    /// `unverified` unless the installation checks identities some other way.
    pub local_accounts_level: Verification,
    /// Failed password logins in a row before the account locks.
    pub lockout_failures: u32,
    /// How long a locked account stays locked, in seconds.
    pub lockout_seconds: u32,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            local_accounts_level: Verification::Unverified,
            lockout_failures: 5,
            lockout_seconds: 15 * 60,
        }
    }
}

/// A token bucket: `burst` requests at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    pub const fn new(per_minute: u32, burst: u32) -> Self {
        Self { per_minute, burst }
    }
}

/// Rate limits per client address and per account, with `429` and `Retry-After`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Login attempts (pages and API) from one address.
    pub login_per_ip: Rate,
    /// Login attempts for one account (by the address typed).
    pub login_per_account: Rate,
    /// Registrations from one address.
    pub register_per_ip: Rate,
    /// Submissions from one address.
    pub submit_per_ip: Rate,
    /// Submissions by one account.
    pub submit_per_account: Rate,
}

impl Default for RateLimits {
    /// Per account strict (guessing passwords, flooding one inbox); per address generous,
    /// since thousands of mobile users share one carrier-grade NAT address.
    fn default() -> Self {
        Self {
            login_per_ip: Rate::new(300, 600),
            login_per_account: Rate::new(5, 10),
            register_per_ip: Rate::new(60, 120),
            submit_per_ip: Rate::new(300, 600),
            submit_per_account: Rate::new(10, 20),
        }
    }
}

impl RateLimits {
    /// Limits so high they never trigger (load tests, the test suite's many accounts).
    pub fn unlimited() -> Self {
        let huge = Rate::new(1_000_000, 1_000_000);
        Self {
            login_per_ip: huge,
            login_per_account: huge,
            register_per_ip: huge,
            submit_per_ip: huge,
            submit_per_account: huge,
        }
    }
}

/// An OpenID Connect provider and how its claims map to a person.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer URL; its discovery document is read at the first login.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// This platform's callback, as registered with the provider:
    /// `https://PLATFORM/auth/oidc/callback`.
    pub redirect_url: String,
    /// What the login button says, e.g. "Госуслуги".
    #[serde(default = "default_display_name")]
    pub display_name: String,
    /// Scopes asked for besides `openid`.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Seconds of clock difference tolerated when checking token times.
    #[serde(default = "default_clock_skew")]
    pub clock_skew_seconds: u32,
    /// Seconds to wait for the provider.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
    #[serde(default)]
    pub claims: ClaimMapping,
}

fn default_display_name() -> String {
    "Госуслуги".to_owned()
}

fn default_scopes() -> Vec<String> {
    ["profile", "email", "address"]
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn default_clock_skew() -> u32 {
    60
}

fn default_timeout() -> u32 {
    10
}

/// Which ID-token claims carry what. A name is a claim, or a path into a claim's object
/// with dots (`address.region`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimMapping {
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub birth_date: String,
    /// The region of residence as an ISO 3166-2 code (`RU-TVE`).
    pub region: String,
    /// The national identifier (e.g. `snils`) whose keyed hash makes one account per
    /// person; empty: none.
    pub identity_key: String,
    /// The claim that says how verified the account is (e.g. `acr` or `trust_level`).
    pub verification: String,
    /// Its values, each mapped to a level; a value not listed gives `default_level`.
    pub verification_values: std::collections::BTreeMap<String, Verification>,
    pub default_level: Verification,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            name: "name".to_owned(),
            given_name: "given_name".to_owned(),
            family_name: "family_name".to_owned(),
            email: "email".to_owned(),
            birth_date: "birthdate".to_owned(),
            region: "address.region".to_owned(),
            identity_key: String::new(),
            verification: "acr".to_owned(),
            verification_values: Default::default(),
            default_level: Verification::Unverified,
        }
    }
}
