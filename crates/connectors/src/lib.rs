//! Connectors: one module per platform, each speaking that platform's real wire format.
//! A connector reads a batch of posts after a cursor and says the cursor to store next;
//! the caller stores the posts and the cursor together, so a restart neither loses nor
//! repeats posts. A connector never stores anything itself.
//!
//! - [`vk`]: community walls, their comments and keyword searches; comments back.
//! - [`telegram`]: `getUpdates` or the webhook; replies back.
//! - [`rss`]: RSS 2.0/1.0 and Atom, asked conditionally; no way back.
//! - [`webhook`]: the generic JSON webhook; answers POSTed to the sender's `reply_url`.
//! - [`source`]: the configuration of a source and the connector built from it.
//!
//! Every answer is read up to [`MAX_BODY_BYTES`]; an item whose text is longer than
//! [`MAX_TEXT_BYTES`], mostly control characters, or of an unexpected shape is
//! quarantined (`too_large`, `not_text`, `bad_shape`) and the rest of the batch goes on;
//! an answer that is not the platform's format at all is [`ConnectorError::Malformed`].

mod common;
mod html;
pub mod rss;
pub mod source;
pub mod telegram;
pub mod vk;
pub mod webhook;

pub use common::{verify_secret, MAX_BODY_BYTES, MAX_TEXT_BYTES};
pub use source::{
    build_poller, build_publisher, http_client, RssSource, Source, SourceError, TelegramMode,
    TelegramSource, VkSource, WebhookSource,
};

use async_trait::async_trait;
use otklik_social::{Quarantined, RawPost, ReplyTarget};
use std::time::Duration;

/// What one poll returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub posts: Vec<RawPost>,
    /// Items received but unreadable as posts; the connector went on past them.
    pub quarantined: Vec<Quarantined>,
    /// The cursor to store with this batch (`None`: keep the old one).
    pub cursor: Option<String>,
    /// True when the platform said there is more right away (another page).
    pub more: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The platform asked us to slow down (HTTP 429, VK error 6/9, Telegram flood wait).
    #[error("rate limited; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// The platform refused the request (bad token, no access, …).
    #[error("the platform refused: {code}: {message}")]
    Refused { code: String, message: String },
    /// Network or HTTP failure; worth retrying.
    #[error("transport: {0}")]
    Transport(String),
    /// The whole answer was unreadable (not a single item could be parsed).
    #[error("unreadable answer: {0}")]
    Malformed(String),
}

impl ConnectorError {
    /// A stable code for logs and the source status page.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectorError::RateLimited { .. } => "rate_limited",
            ConnectorError::Refused { .. } => "refused",
            ConnectorError::Transport(_) => "transport",
            ConnectorError::Malformed(_) => "malformed",
        }
    }
}

/// A source that is polled.
#[async_trait]
pub trait Poller: Send + Sync {
    /// Reads what came after `cursor` (`None`: from the start the source allows).
    async fn poll(&self, cursor: Option<&str>) -> Result<Batch, ConnectorError>;
}

/// A source an answer can be published back to.
#[async_trait]
pub trait Publisher: Send + Sync {
    /// Publishes `text` under the post; returns the platform's id of the reply.
    async fn publish(&self, target: &ReplyTarget, text: &str) -> Result<String, ConnectorError>;
}
