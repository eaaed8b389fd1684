//! The `[notifications]` table of the settings file. Unknown keys are refused; secrets
//! never print.

use serde::Deserialize;

/// A secret setting (a password, a signing key): shown as `***` by `Debug`, never logged.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Run the sending worker on this node (several nodes may: a message is leased to
    /// one). The notification centre works either way.
    pub enabled: bool,
    /// The platform's address as people reach it, for the links in messages; empty: the
    /// address the server listens on.
    pub public_url: String,
    /// The sender of every e-mail.
    pub from: String,
    /// The mail server; none: e-mail is not sent (those messages are marked skipped).
    pub smtp: Option<SmtpConfig>,
    /// The SMS/push gateway; none: gateway messages are marked skipped.
    pub gateway: Option<GatewayConfig>,
    /// How often to look for due messages, in milliseconds.
    pub poll_interval_ms: u64,
    /// Messages taken per pass.
    pub batch: u32,
    /// The first retry waits about this long; each next one twice as long …
    pub retry_base_seconds: u64,
    /// … up to this.
    pub retry_max_seconds: u64,
    /// A digest goes out when its oldest message has waited this long.
    pub digest_seconds: u64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            public_url: String::new(),
            from: "Отклик <noreply@otklik.localhost>".to_owned(),
            smtp: None,
            gateway: None,
            poll_interval_ms: 1000,
            batch: 64,
            retry_base_seconds: 30,
            retry_max_seconds: 3600,
            digest_seconds: 24 * 60 * 60,
        }
    }
}

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain SMTP: only for a relay on the same host or a trusted network.
    None,
    /// STARTTLS after connecting (port 587).
    #[default]
    Starttls,
    /// TLS from the start (port 465).
    Tls,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// How long one message may take, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Where messages are POSTed (`docs/NOTIFICATIONS.md` describes the request).
    pub url: String,
    /// The key of the `X-Otklik-Signature` HMAC.
    pub secret: Secret,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_timeout() -> u64 {
    15
}

impl NotifyConfig {
    /// What the types alone cannot say; the message names the key.
    pub fn check(&self) -> Result<(), String> {
        if self.poll_interval_ms == 0
            || self.batch == 0
            || self.retry_base_seconds == 0
            || self.retry_max_seconds < self.retry_base_seconds
            || self.digest_seconds == 0
        {
            return Err(
                "[notifications] intervals and batch must be at least 1, and \
                 retry_max_seconds at least retry_base_seconds"
                    .to_owned(),
            );
        }
        let web = |url: &str| url.starts_with("https://") || url.starts_with("http://");
        if !(self.public_url.is_empty() || web(&self.public_url)) {
            return Err("[notifications] public_url must be an http(s) URL".to_owned());
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err("[notifications] from is not an e-mail address".to_owned());
        }
        if let Some(smtp) = &self.smtp {
            if smtp.host.trim().is_empty() || smtp.port == 0 || smtp.timeout_seconds == 0 {
                return Err(
                    "[notifications.smtp] host, port and timeout_seconds are required".to_owned(),
                );
            }
            if smtp.username.is_some() != smtp.password.is_some() {
                return Err("[notifications.smtp] username and password go together".to_owned());
            }
        }
        if let Some(gateway) = &self.gateway {
            if !web(&gateway.url) {
                return Err("[notifications.gateway] url must be an http(s) URL".to_owned());
            }
            if gateway.secret.expose().len() < 32 {
                return Err(
                    "[notifications.gateway] secret must be at least 32 characters".to_owned(),
                );
            }
        }
        Ok(())
    }
}
