//! The generic JSON webhook: a partner POSTs one post or a list of them, and receives the
//! answer as a JSON POST to the `reply_url` it gave.
//!
//! ```json
//! {"id": "42", "text": "Нет света на Ленина, 5", "url": "https://partner.example/p/42",
//!  "published_at": "2024-01-15T10:00:00Z", "reply_url": "https://partner.example/answers"}
//! ```
//!
//! `id` (string or integer) and `text` are required; `published_at` is RFC 3339 or Unix
//! seconds; `url` and `reply_url` are http(s) addresses. Other fields are ignored.
//! The answer goes back as `{"in_reply_to": "<id>", "text": "…"}`.
//!
//! [`ReplyTarget::Webhook`] has only the address, so the post's id travels in its fragment
//! (`https://partner.example/answers#in_reply_to=42`, percent-encoded); fragments are never
//! sent over HTTP, the publisher takes it off and puts it in the body.

use crate::common::{self, check_text, now_unix, TextVerdict, MAX_BODY_BYTES};
use crate::source::WebhookSource;
use crate::{Batch, ConnectorError, Publisher};
use async_trait::async_trait;
use otklik_social::{Platform, Quarantined, RawPost, ReplyTarget};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

/// Most posts in one webhook call.
pub const MAX_ITEMS: usize = 1000;
/// Longest id.
pub const MAX_ID_CHARS: usize = 256;
/// The fragment key that carries the post's id in a reply URL.
const FRAGMENT_KEY: &str = "in_reply_to=";

/// Reads a webhook's body: one object or a list of them. An item that is not a post
/// (wrong shape, too large, not text) is quarantined and the others go on; a body that is
/// not JSON, not an object or list, or longer than [`MAX_ITEMS`] is `Malformed`.
pub fn parse_webhook(source: &str, body: &[u8]) -> Result<Batch, ConnectorError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ConnectorError::Malformed(format!(
            "the body is larger than {MAX_BODY_BYTES} bytes"
        )));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ConnectorError::Malformed(format!("not JSON: {e}")))?;
    let items = match value {
        Value::Object(_) => vec![value],
        Value::Array(items) if items.len() <= MAX_ITEMS => items,
        Value::Array(items) => {
            return Err(ConnectorError::Malformed(format!(
                "{} items, at most {MAX_ITEMS}",
                items.len()
            )))
        }
        _ => {
            return Err(ConnectorError::Malformed(
                "neither an object nor a list".into(),
            ))
        }
    };
    let mut batch = Batch::default();
    let mut taken = HashSet::new();
    for item in &items {
        match parse_item(source, item) {
            Ok(post) => {
                if taken.insert(post.external_id.clone()) {
                    batch.posts.push(post);
                }
            }
            Err(q) => batch.quarantined.push(q),
        }
    }
    Ok(batch)
}

fn parse_item(source: &str, item: &Value) -> Result<RawPost, Quarantined> {
    let raw = || serde_json::to_vec(item).unwrap_or_default();
    let bad = |id: Option<String>, reason: &str| Quarantined::new(source, id, reason, &raw());
    let Some(obj) = item.as_object() else {
        return Err(bad(None, "bad_shape"));
    };
    let id = match obj.get("id") {
        Some(Value::String(s))
            if !s.trim().is_empty()
                && s.chars().count() <= MAX_ID_CHARS
                && !s.chars().any(char::is_control) =>
        {
            s.trim().to_owned()
        }
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        _ => return Err(bad(None, "bad_shape")),
    };
    let Some(Value::String(text)) = obj.get("text") else {
        return Err(bad(Some(id), "bad_shape"));
    };
    let url = match obj.get("url") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) => match common::http_url(u) {
            Some(u) => Some(String::from(u)),
            None => return Err(bad(Some(id), "bad_shape")),
        },
        Some(_) => return Err(bad(Some(id), "bad_shape")),
    };
    let published_at = match obj.get("published_at") {
        None | Some(Value::Null) => now_unix(),
        Some(Value::String(s)) => match common::parse_rfc3339(s) {
            Some(t) => t,
            None => return Err(bad(Some(id), "bad_shape")),
        },
        // Up to the year 9999.
        Some(Value::Number(n)) => match n.as_i64().filter(|t| (0..=253_402_300_799).contains(t)) {
            Some(t) => t,
            None => return Err(bad(Some(id), "bad_shape")),
        },
        Some(_) => return Err(bad(Some(id), "bad_shape")),
    };
    let reply = match obj.get("reply_url") {
        None | Some(Value::Null) => ReplyTarget::None,
        Some(Value::String(u)) => match common::http_url(u) {
            Some(mut u) => {
                u.set_fragment(Some(&format!("{FRAGMENT_KEY}{}", percent_encode(&id))));
                ReplyTarget::Webhook {
                    reply_url: u.into(),
                }
            }
            None => return Err(bad(Some(id), "bad_shape")),
        },
        Some(_) => return Err(bad(Some(id), "bad_shape")),
    };
    let text = match check_text(text) {
        Ok(t) => t,
        Err(TextVerdict::Empty) => return Err(bad(Some(id), "not_text")),
        Err(v) => return Err(bad(Some(id), v.reason())),
    };
    Ok(RawPost {
        source: source.to_owned(),
        platform: Platform::Webhook,
        external_id: id,
        url,
        text,
        published_at,
        reply,
    })
}

/// Everything but `A–Z a–z 0–9 - . _ ~` as `%XX`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Publishes answers to the `reply_url` a webhook's sender gave.
pub struct WebhookPublisher {
    client: reqwest::Client,
    reply_hosts: Vec<String>,
}

impl WebhookPublisher {
    /// `client` is used as given; [`build_publisher`](crate::build_publisher) gives one that
    /// never follows redirects (a redirect would lead around `reply_hosts`).
    pub fn new(cfg: &WebhookSource, client: reqwest::Client) -> WebhookPublisher {
        WebhookPublisher {
            client,
            reply_hosts: cfg
                .reply_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        }
    }
}

/// A client for answers to webhooks: the shared timeouts, no redirects.
pub fn reply_client() -> Result<reqwest::Client, ConnectorError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("otklik-connectors/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(common::transport)
}

#[async_trait]
impl Publisher for WebhookPublisher {
    async fn publish(&self, target: &ReplyTarget, text: &str) -> Result<String, ConnectorError> {
        let refused = |code: &str, message: &str| ConnectorError::Refused {
            code: code.into(),
            message: message.into(),
        };
        let ReplyTarget::Webhook { reply_url } = target else {
            return Err(refused("wrong_target", "not a webhook's post"));
        };
        let Some(mut url) = common::http_url(reply_url) else {
            return Err(refused("bad_reply_url", "not an http(s) address"));
        };
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        if !self.reply_hosts.is_empty() && !self.reply_hosts.contains(&host) {
            return Err(refused("reply_host_not_allowed", &host));
        }
        let in_reply_to = url
            .fragment()
            .and_then(|f| f.strip_prefix(FRAGMENT_KEY))
            .and_then(percent_decode);
        url.set_fragment(None);
        let body = json!({ "in_reply_to": in_reply_to, "text": text });
        let answer = common::send(self.client.post(url).json(&body)).await?;
        if !answer.status.is_success() {
            return Err(common::status_error(&answer));
        }
        // The receiver's id of the answer, if it says one.
        let id = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|v| match v.get("id") {
                Some(Value::String(s)) => Some(s.chars().take(MAX_ID_CHARS).collect()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
            .unwrap_or_default();
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn one_object_or_a_list() {
        let one = parse_webhook(
            "p",
            r#"{"id":42,"text":" Нет света ","url":"https://p.example/42","published_at":"2024-01-15T10:00:00Z","reply_url":"https://p.example/answers?x=1"}"#.as_bytes(),
        )
        .unwrap();
        assert_eq!(one.posts.len(), 1);
        let post = &one.posts[0];
        assert_eq!(post.external_id, "42");
        assert_eq!(post.text, "Нет света");
        assert_eq!(post.url.as_deref(), Some("https://p.example/42"));
        assert_eq!(post.published_at, 1_705_312_800);
        assert_eq!(post.platform, Platform::Webhook);
        assert_eq!(
            post.reply,
            ReplyTarget::Webhook {
                reply_url: "https://p.example/answers?x=1#in_reply_to=42".into()
            }
        );
        assert_eq!(one.cursor, None);

        let list = parse_webhook(
            "p",
            br#"[{"id":"a b/&=#","text":"one","published_at":1700000000},{"id":"2","text":"two"},{"id":"2","text":"again"}]"#,
        )
        .unwrap();
        assert_eq!(list.posts.len(), 2);
        assert_eq!(list.posts[0].external_id, "a b/&=#");
        assert_eq!(list.posts[0].published_at, 1_700_000_000);
        assert_eq!(list.posts[0].reply, ReplyTarget::None);
    }

    #[test]
    fn hostile_items_are_quarantined_one_by_one() {
        let big = "x".repeat(crate::MAX_TEXT_BYTES + 1);
        let body = format!(
            r#"[{{"id":1,"text":"ok"}},
                {{"id":2,"text":5}},
                {{"text":"no id"}},
                {{"id":{{"nested":[1,[2,[3]]]}},"text":"x"}},
                {{"id":3,"text":"{big}"}},
                {{"id":4,"text":"\u0000\u0000\u0000\u0000"}},
                {{"id":5,"text":"x","published_at":"yesterday"}},
                {{"id":6,"text":"x","reply_url":"javascript:alert(1)"}},
                {{"id":7,"text":"x","url":7}},
                {{"id":1.5,"text":"x"}},
                "a string",
                {{"id":8,"text":""}}]"#
        );
        let batch = parse_webhook("p", body.as_bytes()).unwrap();
        assert_eq!(batch.posts.len(), 1);
        let reasons: Vec<(Option<&str>, &str)> = batch
            .quarantined
            .iter()
            .map(|q| (q.external_id.as_deref(), q.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (Some("2"), "bad_shape"),
                (None, "bad_shape"),
                (None, "bad_shape"),
                (Some("3"), "too_large"),
                (Some("4"), "not_text"),
                (Some("5"), "bad_shape"),
                (Some("6"), "bad_shape"),
                (Some("7"), "bad_shape"),
                (None, "bad_shape"),
                (None, "bad_shape"),
                (Some("8"), "not_text"),
            ]
        );
        assert!(batch.quarantined.iter().all(|q| q.excerpt.len() <= 2048));
    }

    #[test]
    fn unreadable_bodies() {
        for body in [&b"<xml/>"[..], b"", b"42", b"\"text\"", b"{\"id\":"] {
            assert!(matches!(
                parse_webhook("p", body),
                Err(ConnectorError::Malformed(_))
            ));
        }
        let many = format!(
            "[{}]",
            vec![r#"{"id":1,"text":"x"}"#; MAX_ITEMS + 1].join(",")
        );
        assert!(matches!(
            parse_webhook("p", many.as_bytes()),
            Err(ConnectorError::Malformed(_))
        ));
    }

    #[test]
    fn percent_round_trip() {
        for s in ["42", "a b/&=#%", "Привет", ""] {
            assert_eq!(percent_decode(&percent_encode(s)).as_deref(), Some(s));
        }
        assert_eq!(percent_decode("%G1"), None);
        assert_eq!(percent_decode("%4"), None);
    }
}
