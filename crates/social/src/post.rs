//! A post as a connector hands it to the pipeline, whatever the platform.

use serde::{Deserialize, Serialize};

/// Where a post came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Vk,
    Telegram,
    Rss,
    Webhook,
}

impl Platform {
    pub const ALL: [Platform; 4] = [
        Platform::Vk,
        Platform::Telegram,
        Platform::Rss,
        Platform::Webhook,
    ];

    /// The platform of a stored name (`as_str`), if it is one.
    pub fn parse(name: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Vk => "vk",
            Platform::Telegram => "telegram",
            Platform::Rss => "rss",
            Platform::Webhook => "webhook",
        }
    }
}

/// What the connector needs to publish an answer back under the post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyTarget {
    /// A comment under a VK wall post (`wall.createComment`).
    VkWall { owner_id: i64, post_id: i64 },
    /// A reply to a Telegram message (`sendMessage` with `reply_parameters`).
    Telegram { chat_id: i64, message_id: i64 },
    /// A JSON callback to the address the generic webhook's sender gave.
    Webhook { reply_url: String },
    /// No way back (RSS): the answer is published on the portal only.
    None,
}

/// One post, as every connector hands it over. The author is deliberately absent:
/// the platform never needs it to route or answer, and it would be personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawPost {
    /// The configured source's key (`[[social.sources]] key`).
    pub source: String,
    pub platform: Platform,
    /// Unique within the source: the platform's own id (`-123_456` for VK, `chat:message`
    /// for Telegram, the entry's id or link for RSS).
    pub external_id: String,
    /// A public link to the post, where the platform has one.
    pub url: Option<String>,
    /// The post's text, as plain text (connectors strip RSS HTML and control characters).
    pub text: String,
    /// Publication time, Unix seconds.
    pub published_at: i64,
    pub reply: ReplyTarget,
}

/// Something a connector received but could not read as a post: kept with the reason,
/// never dropped silently, never stopping the connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub source: String,
    /// The platform's id of the item, when even that could be read.
    pub external_id: Option<String>,
    /// A machine-readable reason: `too_large`, `not_text`, `bad_shape`, `bad_encoding`.
    pub reason: String,
    /// At most 2 KiB of what was received, for the operator to look at.
    pub excerpt: String,
}

/// Longest excerpt kept of a quarantined item.
pub const EXCERPT_BYTES: usize = 2048;

impl Quarantined {
    pub fn new(source: &str, external_id: Option<String>, reason: &str, raw: &[u8]) -> Self {
        let cut = raw.len().min(EXCERPT_BYTES);
        Quarantined {
            source: source.to_owned(),
            external_id,
            reason: reason.to_owned(),
            excerpt: String::from_utf8_lossy(&raw[..cut]).into_owned(),
        }
    }
}
