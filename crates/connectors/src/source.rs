//! A configured source (`[[social.sources]]`): which platform, where, with what
//! credentials, and the connector built from it.
//!
//! ```toml
//! [[social.sources]]
//! kind = "vk"
//! key = "vk-ekb"
//! token = "…"
//! owner_ids = [-123456]
//! queries = ["яма Екатеринбург"]
//! region = "RU-SVE"
//! ```

use crate::{rss, telegram, vk, webhook, ConnectorError, Poller, Publisher};
use otklik_social::Platform;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// One configured source. Every variant refuses unknown fields, so a misspelt setting is
/// an error at start rather than a silently ignored line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    Vk(VkSource),
    Telegram(TelegramSource),
    Rss(RssSource),
    Webhook(WebhookSource),
}

/// VK: community walls (`wall.get`), the comments under their recent posts
/// (`wall.getComments`) and keyword searches (`newsfeed.search`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VkSource {
    pub key: String,
    /// Default `https://api.vk.com/method/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    /// A user, community or service access token.
    pub token: String,
    /// Walls to watch: negative for communities (`-123456`), positive for people.
    #[serde(default)]
    pub owner_ids: Vec<i64>,
    /// `newsfeed.search` queries.
    #[serde(default)]
    pub queries: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Publish answers on behalf of this community (its positive id; needs a community
    /// admin's token). Without it answers are published as the token's user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_group: Option<u64>,
    /// Items per request, 1–100 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// Requests per poll, 1–1000 (default 20); the rest waits for the next poll (`more`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u32>,
    /// Pages read from a wall or a search the first time, 1–50 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill_pages: Option<u32>,
    /// Recent wall posts whose comments are followed, 0–100 (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_posts: Option<u32>,
    /// Least time between two requests, ms (default 350: VK allows 3 a second to a user
    /// token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_interval_ms: Option<u64>,
}

/// How Telegram updates arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TelegramMode {
    /// `getUpdates`, from the poller.
    #[default]
    Poll,
    /// Telegram POSTs updates to the web server, which checks the secret and calls
    /// [`telegram::parse_webhook_update`]; nothing is polled.
    Webhook,
}

/// A Telegram bot: the channels and groups it is a member of.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSource {
    pub key: String,
    /// Default `https://api.telegram.org`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    /// The bot's token (`123456:ABC…`).
    pub token: String,
    #[serde(default)]
    pub mode: TelegramMode,
    /// The webhook's `secret_token` (required in webhook mode): 16–256 characters of
    /// `A–Z a–z 0–9 _ -`, as Telegram allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Updates per `getUpdates`, 1–100 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// An RSS 2.0, RSS 1.0 or Atom feed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RssSource {
    pub key: String,
    /// The feed's address.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// The generic JSON webhook: a partner POSTs posts, answers go back to its `reply_url`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSource {
    pub key: String,
    /// What the sender presents (the web crate's header); at least 16 characters.
    pub secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Hosts answers may be POSTed to (exact names, lowercase). Empty: any host — the
    /// sender is trusted with the server's network position, so set it.
    #[serde(default)]
    pub reply_hosts: Vec<String>,
}

/// A setting the connector cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("source {key}: {message}")]
pub struct SourceError {
    pub key: String,
    pub message: String,
}

fn invalid(key: &str, message: impl Into<String>) -> SourceError {
    SourceError {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// Longest lists a VK source may have (each costs requests every poll).
pub const MAX_VK_OWNERS: usize = 100;
pub const MAX_VK_QUERIES: usize = 20;

impl Source {
    pub fn key(&self) -> &str {
        match self {
            Source::Vk(s) => &s.key,
            Source::Telegram(s) => &s.key,
            Source::Rss(s) => &s.key,
            Source::Webhook(s) => &s.key,
        }
    }

    pub fn platform(&self) -> Platform {
        match self {
            Source::Vk(_) => Platform::Vk,
            Source::Telegram(_) => Platform::Telegram,
            Source::Rss(_) => Platform::Rss,
            Source::Webhook(_) => Platform::Webhook,
        }
    }

    /// The region hint for posts of this source (a subject's ISO code, as configured).
    pub fn region(&self) -> Option<&str> {
        match self {
            Source::Vk(s) => s.region.as_deref(),
            Source::Telegram(s) => s.region.as_deref(),
            Source::Rss(s) => s.region.as_deref(),
            Source::Webhook(s) => s.region.as_deref(),
        }
    }

    /// Whether a poller runs for this source (webhooks are pushed, not polled).
    pub fn is_polled(&self) -> bool {
        match self {
            Source::Vk(_) | Source::Rss(_) => true,
            Source::Telegram(s) => s.mode == TelegramMode::Poll,
            Source::Webhook(_) => false,
        }
    }

    /// Checks every setting; the builders call it too.
    pub fn validate(&self) -> Result<(), SourceError> {
        let key = self.key();
        if key.is_empty()
            || key.len() > 64
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(invalid(key, "key: 1–64 characters of A–Z a–z 0–9 _ - ."));
        }
        if let Some(region) = self.region() {
            if region.is_empty() || region.len() > 16 {
                return Err(invalid(key, "region: 1–16 characters"));
            }
        }
        match self {
            Source::Vk(s) => validate_vk(s),
            Source::Telegram(s) => validate_telegram(s),
            Source::Rss(s) => {
                if crate::common::http_url(&s.url).is_none() {
                    return Err(invalid(key, "url: an http(s) address"));
                }
                Ok(())
            }
            Source::Webhook(s) => {
                if s.secret.chars().count() < 16 {
                    return Err(invalid(key, "secret: at least 16 characters"));
                }
                if s.reply_hosts
                    .iter()
                    .any(|h| h.is_empty() || h.contains('/'))
                {
                    return Err(invalid(key, "reply_hosts: host names only"));
                }
                Ok(())
            }
        }
    }
}

fn check_token(key: &str, token: &str) -> Result<(), SourceError> {
    if token.is_empty() || token.len() > 512 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(key, "token: 1–512 printable ASCII characters"));
    }
    Ok(())
}

fn check_api_base(key: &str, api_base: Option<&str>) -> Result<(), SourceError> {
    if let Some(base) = api_base {
        if crate::common::http_url(base).is_none() {
            return Err(invalid(key, "api_base: an http(s) address"));
        }
    }
    Ok(())
}

fn check_range(key: &str, name: &str, v: Option<u64>, lo: u64, hi: u64) -> Result<(), SourceError> {
    match v {
        Some(v) if v < lo || v > hi => Err(invalid(key, format!("{name}: {lo}–{hi}"))),
        _ => Ok(()),
    }
}

fn validate_vk(s: &VkSource) -> Result<(), SourceError> {
    let key = s.key.as_str();
    check_token(key, &s.token)?;
    check_api_base(key, s.api_base.as_deref())?;
    if s.owner_ids.is_empty() && s.queries.is_empty() {
        return Err(invalid(key, "nothing to watch: set owner_ids or queries"));
    }
    if s.owner_ids.len() > MAX_VK_OWNERS || s.owner_ids.contains(&0) {
        return Err(invalid(
            key,
            format!("owner_ids: up to {MAX_VK_OWNERS}, none zero"),
        ));
    }
    let mut owners = s.owner_ids.clone();
    owners.sort_unstable();
    owners.dedup();
    if owners.len() != s.owner_ids.len() {
        return Err(invalid(key, "owner_ids: repeated"));
    }
    if s.queries.len() > MAX_VK_QUERIES
        || s.queries
            .iter()
            .any(|q| q.trim().is_empty() || q.chars().count() > 200)
    {
        return Err(invalid(
            key,
            format!("queries: up to {MAX_VK_QUERIES}, each 1–200 characters"),
        ));
    }
    check_range(key, "page_size", s.page_size.map(u64::from), 1, 100)?;
    check_range(key, "max_requests", s.max_requests.map(u64::from), 1, 1000)?;
    check_range(
        key,
        "backfill_pages",
        s.backfill_pages.map(u64::from),
        1,
        50,
    )?;
    check_range(key, "comment_posts", s.comment_posts.map(u64::from), 0, 100)?;
    check_range(key, "min_interval_ms", s.min_interval_ms, 0, 60_000)?;
    if s.from_group == Some(0) {
        return Err(invalid(key, "from_group: a community's positive id"));
    }
    Ok(())
}

fn validate_telegram(s: &TelegramSource) -> Result<(), SourceError> {
    let key = s.key.as_str();
    check_token(key, &s.token)?;
    if s.token.contains('/') {
        return Err(invalid(key, "token: no '/'"));
    }
    check_api_base(key, s.api_base.as_deref())?;
    check_range(key, "limit", s.limit.map(u64::from), 1, 100)?;
    match (&s.mode, &s.secret) {
        (TelegramMode::Webhook, None) => Err(invalid(key, "webhook mode needs a secret")),
        (_, Some(secret))
            if secret.len() < 16
                || secret.len() > 256
                || !secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')) =>
        {
            Err(invalid(key, "secret: 16–256 characters of A–Z a–z 0–9 _ -"))
        }
        _ => Ok(()),
    }
}

/// The HTTP client every connector shares: 10 s to connect, 30 s for a whole request,
/// at most 5 redirects.
pub fn http_client() -> Result<reqwest::Client, ConnectorError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent(concat!("otklik-connectors/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(crate::common::transport)
}

/// The poller of a source; `None` for sources that are pushed (webhooks).
pub fn build_poller(
    source: &Source,
    client: &reqwest::Client,
) -> Result<Option<Box<dyn Poller>>, SourceError> {
    source.validate()?;
    Ok(match source {
        Source::Vk(s) => Some(Box::new(vk::Vk::new(s, client.clone())?)),
        Source::Telegram(s) if s.mode == TelegramMode::Poll => {
            Some(Box::new(telegram::Telegram::new(s, client.clone())?))
        }
        Source::Telegram(_) | Source::Webhook(_) => None,
        Source::Rss(s) => Some(Box::new(rss::Feed::new(s, client.clone())?)),
    })
}

/// The publisher of a source; `None` where there is no way back (RSS).
pub fn build_publisher(
    source: &Source,
    client: &reqwest::Client,
) -> Result<Option<Box<dyn Publisher>>, SourceError> {
    source.validate()?;
    Ok(match source {
        Source::Vk(s) => Some(Box::new(vk::Vk::new(s, client.clone())?)),
        Source::Telegram(s) => Some(Box::new(telegram::Telegram::new(s, client.clone())?)),
        Source::Rss(_) => None,
        // Its own client: a redirect must not lead an answer around `reply_hosts`.
        Source::Webhook(s) => {
            let client = webhook::reply_client().map_err(|e| invalid(&s.key, e.to_string()))?;
            Some(Box::new(webhook::WebhookPublisher::new(s, client)))
        }
    })
}

// Tokens and secrets stay out of logs.
fn redacted(s: &str) -> &'static str {
    if s.is_empty() {
        ""
    } else {
        "<redacted>"
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Vk(s) => s.fmt(f),
            Source::Telegram(s) => s.fmt(f),
            Source::Rss(s) => s.fmt(f),
            Source::Webhook(s) => s.fmt(f),
        }
    }
}

impl fmt::Debug for VkSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VkSource")
            .field("key", &self.key)
            .field("api_base", &self.api_base)
            .field("token", &redacted(&self.token))
            .field("owner_ids", &self.owner_ids)
            .field("queries", &self.queries)
            .field("region", &self.region)
            .field("from_group", &self.from_group)
            .field("page_size", &self.page_size)
            .field("max_requests", &self.max_requests)
            .field("backfill_pages", &self.backfill_pages)
            .field("comment_posts", &self.comment_posts)
            .field("min_interval_ms", &self.min_interval_ms)
            .finish()
    }
}

impl fmt::Debug for TelegramSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramSource")
            .field("key", &self.key)
            .field("api_base", &self.api_base)
            .field("token", &redacted(&self.token))
            .field("mode", &self.mode)
            .field("secret", &self.secret.as_deref().map(redacted))
            .field("region", &self.region)
            .field("limit", &self.limit)
            .finish()
    }
}

impl fmt::Debug for RssSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RssSource")
            .field("key", &self.key)
            .field("url", &self.url)
            .field("region", &self.region)
            .finish()
    }
}

impl fmt::Debug for WebhookSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSource")
            .field("key", &self.key)
            .field("secret", &redacted(&self.secret))
            .field("region", &self.region)
            .field("reply_hosts", &self.reply_hosts)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn parse(json: &str) -> Result<Source, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn reads_each_kind_and_refuses_unknown_fields() {
        let vk = parse(
            r#"{"kind":"vk","key":"vk-ekb","token":"t","owner_ids":[-1],"queries":["яма"],"region":"RU-SVE"}"#,
        )
        .unwrap();
        assert_eq!(vk.platform(), Platform::Vk);
        assert_eq!(vk.region(), Some("RU-SVE"));
        assert!(vk.validate().is_ok());
        let tg = parse(
            r#"{"kind":"telegram","key":"tg","token":"1:A","mode":"webhook","secret":"0123456789abcdef"}"#,
        )
        .unwrap();
        assert!(tg.validate().is_ok());
        assert!(!tg.is_polled());
        let rss = parse(r#"{"kind":"rss","key":"news","url":"https://example.org/feed"}"#).unwrap();
        assert!(rss.validate().is_ok());
        let wh =
            parse(r#"{"kind":"webhook","key":"partner","secret":"0123456789abcdef"}"#).unwrap();
        assert!(wh.validate().is_ok());
        assert!(!wh.is_polled());

        let err = parse(r#"{"kind":"rss","key":"news","url":"https://e.org/","tokn":"x"}"#);
        assert!(err.is_err());
        assert!(parse(r#"{"kind":"mastodon","key":"m"}"#).is_err());
        // Round trip.
        let back: Source = serde_json::from_str(&serde_json::to_string(&vk).unwrap()).unwrap();
        assert_eq!(back, vk);
    }

    #[test]
    fn validation() {
        let base = VkSource {
            key: "vk".into(),
            api_base: None,
            token: "t".into(),
            owner_ids: vec![-1],
            queries: vec![],
            region: None,
            from_group: None,
            page_size: None,
            max_requests: None,
            backfill_pages: None,
            comment_posts: None,
            min_interval_ms: None,
        };
        assert!(Source::Vk(base.clone()).validate().is_ok());
        for broken in [
            VkSource {
                owner_ids: vec![],
                ..base.clone()
            },
            VkSource {
                owner_ids: vec![0],
                ..base.clone()
            },
            VkSource {
                owner_ids: vec![-1, -1],
                ..base.clone()
            },
            VkSource {
                page_size: Some(101),
                ..base.clone()
            },
            VkSource {
                token: "a b".into(),
                ..base.clone()
            },
            VkSource {
                api_base: Some("file:///etc".into()),
                ..base.clone()
            },
            VkSource {
                key: "a/b".into(),
                ..base.clone()
            },
            VkSource {
                queries: vec![" ".into()],
                ..base.clone()
            },
        ] {
            assert!(Source::Vk(broken).validate().is_err());
        }
        let tg = TelegramSource {
            key: "tg".into(),
            api_base: None,
            token: "1:A".into(),
            mode: TelegramMode::Webhook,
            secret: None,
            region: None,
            limit: None,
        };
        assert!(Source::Telegram(tg.clone()).validate().is_err());
        let short = TelegramSource {
            secret: Some("short".into()),
            ..tg.clone()
        };
        assert!(Source::Telegram(short).validate().is_err());
        let weird = TelegramSource {
            secret: Some("0123456789abcdef!".into()),
            ..tg
        };
        assert!(Source::Telegram(weird).validate().is_err());
        let wh = WebhookSource {
            key: "w".into(),
            secret: "short".into(),
            region: None,
            reply_hosts: vec![],
        };
        assert!(Source::Webhook(wh).validate().is_err());
    }

    #[test]
    fn debug_hides_credentials() {
        let tg = parse(
            r#"{"kind":"telegram","key":"tg","token":"123:SECRETTOKEN","secret":"0123456789abcdefXYZ"}"#,
        )
        .unwrap();
        let shown = format!("{tg:?}");
        assert!(!shown.contains("SECRETTOKEN"), "{shown}");
        assert!(!shown.contains("XYZ"), "{shown}");
    }

    #[test]
    fn builders() {
        let client = http_client().unwrap();
        let rss = parse(r#"{"kind":"rss","key":"news","url":"https://example.org/feed"}"#).unwrap();
        assert!(build_poller(&rss, &client).unwrap().is_some());
        assert!(build_publisher(&rss, &client).unwrap().is_none());
        let wh =
            parse(r#"{"kind":"webhook","key":"partner","secret":"0123456789abcdef"}"#).unwrap();
        assert!(build_poller(&wh, &client).unwrap().is_none());
        assert!(build_publisher(&wh, &client).unwrap().is_some());
        let tg = parse(r#"{"kind":"telegram","key":"tg","token":"1:A"}"#).unwrap();
        assert!(build_poller(&tg, &client).unwrap().is_some());
        assert!(build_publisher(&tg, &client).unwrap().is_some());
        let bad = parse(r#"{"kind":"rss","key":"news","url":"gopher://x"}"#).unwrap();
        assert!(build_poller(&bad, &client).is_err());
    }
}
