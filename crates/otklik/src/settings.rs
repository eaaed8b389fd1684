//! The settings file (TOML): the sections the command line does not cover — security,
//! identity (lockout, local accounts' level), rate limits and the OpenID Connect
//! provider. Every table refuses keys it does not know, and the error names the key, the
//! file and the line; a secret's value is never part of an error or a log line. The
//! provider's client secret may come from `OTKLIK_OIDC_CLIENT_SECRET` instead of the file.

use otklik_web::config::{
    AnalyticsConfig, DeliveryConfig, ExportsConfig, IdentityConfig, OidcConfig, RateLimits, Secret,
    SecurityConfig, SigningConfig,
};
use serde::Deserialize;
use std::path::Path;

/// The whole file. Every table is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub security: SecurityConfig,
    pub identity: IdentityConfig,
    pub rate_limits: RateLimits,
    pub oidc: Option<OidcConfig>,
    pub delivery: DeliveryConfig,
    pub notifications: otklik_notify::NotifyConfig,
    pub signing: SigningConfig,
    pub analytics: AnalyticsConfig,
    pub polls: otklik_web::config::PollsConfig,
    pub exports: ExportsConfig,
    pub quality_feed: otklik_web::quality::QualityFeedConfig,
    pub social: crate::social::SocialConfig,
    pub limits: otklik_web::limits::LimitsConfig,
    pub metrics: otklik_web::metrics::MetricsConfig,
}

impl Settings {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the settings file {}: {e}", path.display()))?;
        let mut settings = Self::parse(&text).map_err(|e| format!("{}:{e}", path.display()))?;
        settings.apply_env(|name| std::env::var(name).ok());
        settings
            .check()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(settings)
    }

    /// The defaults, with the secrets the environment supplies (no settings file).
    pub fn from_env() -> Self {
        let mut settings = Self::default();
        settings.apply_env(|name| std::env::var(name).ok());
        settings
    }

    /// Parses settings text; the error starts with the line number and never quotes the
    /// file (which may hold a secret).
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str::<Settings>(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            let message = e.message().trim().replace("unknown field", "unknown key");
            match line {
                Some(line) => format!("{line}: {message}"),
                None => format!(" {message}"),
            }
        })
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        if let (Some(smtp), Some(password)) = (
            self.notifications.smtp.as_mut(),
            var("OTKLIK_SMTP_PASSWORD"),
        ) {
            smtp.password = Some(otklik_notify::Secret::new(password));
        }
        if let Some(token) = var("OTKLIK_METRICS_TOKEN") {
            self.metrics.token = Some(Secret::new(token));
        }
        if let (Some(oidc), Some(secret)) = (self.oidc.as_mut(), var("OTKLIK_OIDC_CLIENT_SECRET")) {
            oidc.client_secret = Secret::new(secret);
        }
    }

    /// What the types alone cannot say.
    fn check(&self) -> Result<(), String> {
        self.social.check()?;
        self.limits.check()?;
        if let Some(oidc) = &self.oidc {
            for (key, value) in [
                ("issuer", &oidc.issuer),
                ("redirect_url", &oidc.redirect_url),
            ] {
                if !(value.starts_with("https://") || value.starts_with("http://")) {
                    return Err(format!("[oidc] {key} must be an http(s) URL"));
                }
            }
            if oidc.client_id.trim().is_empty() {
                return Err("[oidc] client_id is empty".to_owned());
            }
            if oidc.client_secret.expose().is_empty() {
                return Err(
                    "[oidc] client_secret is empty (set it in the file or in OTKLIK_OIDC_CLIENT_SECRET)"
                        .to_owned(),
                );
            }
        }
        if let Some(url) = &self.quality_feed.push_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err("[quality_feed] push_url must be an http(s) URL".to_owned());
            }
        }
        if !(1..=1_000).contains(&self.quality_feed.batch) {
            return Err("[quality_feed] batch must be from 1 to 1000".to_owned());
        }
        if self.analytics.min_group == 0 {
            return Err("[analytics] min_group must be at least 1".to_owned());
        }
        if self.polls.live_snapshot_min_ballots == 0 {
            return Err("[polls] live_snapshot_min_ballots must be at least 1".to_owned());
        }
        self.exports.check()?;
        let rates = [
            ("login_per_ip", self.rate_limits.login_per_ip),
            ("login_per_account", self.rate_limits.login_per_account),
            ("register_per_ip", self.rate_limits.register_per_ip),
            ("submit_per_ip", self.rate_limits.submit_per_ip),
            ("submit_per_account", self.rate_limits.submit_per_account),
        ];
        for (key, rate) in rates {
            if rate.per_minute == 0 || rate.burst == 0 {
                return Err(format!(
                    "[rate_limits] {key}: per_minute and burst must be at least 1"
                ));
            }
        }
        if self.identity.lockout_failures == 0 {
            return Err("[identity] lockout_failures must be at least 1".to_owned());
        }
        let d = &self.delivery;
        if d.poll_interval_ms == 0
            || d.timeout_seconds == 0
            || d.retry_base_seconds == 0
            || d.retry_max_seconds < d.retry_base_seconds
            || d.batch == 0
        {
            return Err(
                "[delivery] intervals, timeout and batch must be at least 1, and \
                 retry_max_seconds at least retry_base_seconds"
                    .to_owned(),
            );
        }
        self.notifications.check()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const FULL: &str = r#"
[security]
tls = true
trusted_proxies = ["127.0.0.1"]

[identity]
local_accounts_level = "standard"
lockout_failures = 3
lockout_seconds = 60

[rate_limits]
login_per_ip = { per_minute = 10, burst = 5 }

[delivery]
retry_base_seconds = 2
retry_max_seconds = 600

[analytics]
min_group = 10

[polls]
live_snapshot_seconds = 300
live_snapshot_min_ballots = 20

[exports]
keep_hours = 48

[limits]
max_in_flight = 64
admission_wait_ms = 100

[metrics]
token = "metrics-token-value"

[quality_feed]
push_url = "https://vashkontrol.example/api/opinions"
secret = "feed-secret-value"
batch = 50

[oidc]
issuer = "https://esia.gosuslugi.ru"
client_id = "OTKLIK01"
client_secret = "s3cr3t-value"
redirect_url = "https://otklik.example/auth/oidc/callback"
scopes = ["openid", "fullname", "snils"]

[oidc.claims]
identity_key = "snils"
verification = "trust"
verification_values = { "11" = "standard", "12" = "verified" }
"#;

    #[test]
    fn a_full_file_parses() {
        let s = Settings::parse(FULL).unwrap();
        assert!(s.security.tls);
        assert_eq!(s.identity.lockout_failures, 3);
        assert_eq!(s.rate_limits.login_per_ip.burst, 5);
        assert_eq!(s.delivery.retry_max_seconds, 600);
        assert_eq!(s.analytics.min_group, 10);
        assert_eq!(
            (
                s.polls.live_snapshot_seconds,
                s.polls.live_snapshot_min_ballots
            ),
            (300, 20)
        );
        assert!(Settings::parse("[polls]\nlive_snapshot_min_ballots = 0\n")
            .unwrap()
            .check()
            .unwrap_err()
            .contains("[polls] live_snapshot_min_ballots"));
        assert_eq!(s.exports.keep_hours, 48);
        assert_eq!(Settings::default().exports.keep_hours, 168);
        assert_eq!(s.limits.max_in_flight, 64);
        assert_eq!(s.limits.request_timeout_seconds, 30);
        assert_eq!(
            s.metrics.token.as_ref().map(|t| t.expose()),
            Some("metrics-token-value")
        );
        assert_eq!(s.quality_feed.batch, 50);
        assert!(s.delivery.enabled);
        let oidc = s.oidc.unwrap();
        assert_eq!(oidc.client_secret.expose(), "s3cr3t-value");
        assert_eq!(oidc.claims.identity_key, "snils");
        assert_eq!(oidc.claims.region, "address.region");
        assert_eq!(Settings::parse("").unwrap(), Settings::default());
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let e =
            Settings::parse("[identity]\nlockout_failures = 3\nlokout_seconds = 5\n").unwrap_err();
        assert!(e.starts_with("3: unknown key `lokout_seconds`"), "{e}");
        let e = Settings::parse("[securty]\ntls = true\n").unwrap_err();
        assert!(e.contains("unknown key `securty`"), "{e}");
        let e = Settings::parse(
            "[oidc]\nissuer = \"https://x\"\nclient_id = \"c\"\nclient_secret = \"hunter22\"\n\
             redirect_url = \"https://y\"\nclient_secrte = \"hunter22\"\n",
        )
        .unwrap_err();
        assert!(e.contains("unknown key `client_secrte`"), "{e}");
        assert!(
            !e.contains("hunter22"),
            "a secret leaked into the error: {e}"
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = Settings::parse(FULL).unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("s3cr3t-value"), "{printed}");
        assert!(!printed.contains("metrics-token-value"), "{printed}");
        assert!(printed.contains("***"));
    }

    #[test]
    fn the_environment_supplies_the_client_secret() {
        let mut s = Settings::parse(&FULL.replace(
            "client_secret = \"s3cr3t-value\"\n",
            "client_secret = \"\"\n",
        ))
        .unwrap();
        assert!(s.check().is_err());
        s.apply_env(|name| (name == "OTKLIK_OIDC_CLIENT_SECRET").then(|| "from-env".to_owned()));
        assert_eq!(s.oidc.as_ref().unwrap().client_secret.expose(), "from-env");
        assert!(s.check().is_ok());
    }

    #[test]
    fn bad_values_are_refused() {
        let e = Settings::parse("[identity]\nlocal_accounts_level = \"gold\"\n").unwrap_err();
        assert!(
            e.contains("unverified, standard, verified") || e.contains("unknown variant"),
            "{e}"
        );
        let s = Settings::parse("[rate_limits]\nlogin_per_ip = { per_minute = 0, burst = 1 }\n")
            .unwrap();
        assert!(s.check().unwrap_err().contains("login_per_ip"));
        let s = Settings::parse("[limits]\nmax_connections = 0\n").unwrap();
        assert!(s.check().unwrap_err().contains("[limits]"));
        for hours in ["0", "87601"] {
            let s = Settings::parse(&format!("[exports]\nkeep_hours = {hours}\n")).unwrap();
            assert!(s.check().unwrap_err().contains("[exports] keep_hours"));
        }
        let e = Settings::parse("[exports]\nkeep_days = 7\n").unwrap_err();
        assert!(e.contains("unknown key `keep_days`"), "{e}");
    }
}
