//! Telegram Bot API (<https://core.telegram.org/bots/api>): messages and channel posts the
//! bot sees, through `getUpdates` or a webhook; answers are replies (`sendMessage` with
//! `reply_parameters`).
//!
//! ## The cursor
//!
//! The next `offset` as a decimal number (the highest `update_id` received + 1). A poll
//! makes exactly one `getUpdates` call: asking with an offset confirms to Telegram every
//! update before it, which are then gone from its side, so the next page may only be asked
//! for once the caller has stored this one (`more` says a full page came).

use crate::common::{
    self, check_text, now_unix, verify_secret, Answer, TextVerdict, MAX_BODY_BYTES,
};
use crate::source::{Source, SourceError, TelegramSource};
use crate::{Batch, ConnectorError, Poller, Publisher};
use async_trait::async_trait;
use otklik_social::{Platform, Quarantined, RawPost, ReplyTarget};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";

/// The kinds of update asked for.
pub const ALLOWED_UPDATES: [&str; 4] = [
    "message",
    "channel_post",
    "edited_message",
    "edited_channel_post",
];

/// The longest message Telegram sends (characters after entities parsing).
pub const MAX_MESSAGE_CHARS: usize = 4096;

/// The header Telegram sends a webhook's secret in.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

/// A Telegram bot: its poller and its publisher.
pub struct Telegram {
    source: String,
    api_base: String,
    token: String,
    limit: u32,
    client: reqwest::Client,
}

impl Telegram {
    pub fn new(cfg: &TelegramSource, client: reqwest::Client) -> Result<Telegram, SourceError> {
        Source::Telegram(cfg.clone()).validate()?;
        let base = cfg.api_base.as_deref().unwrap_or(DEFAULT_API_BASE);
        if common::http_url(base).is_none() {
            return Err(SourceError {
                key: cfg.key.clone(),
                message: "api_base: an http(s) address".into(),
            });
        }
        Ok(Telegram {
            source: cfg.key.clone(),
            api_base: base.trim_end_matches('/').to_owned(),
            token: cfg.token.clone(),
            limit: cfg.limit.unwrap_or(100).clamp(1, 100),
            client,
        })
    }

    async fn call(&self, method: &str, body: &Value) -> Result<Value, ConnectorError> {
        let url = format!("{}/bot{}/{}", self.api_base, self.token, method);
        let answer = common::send(self.client.post(url).json(body)).await?;
        read_answer(&answer)
    }
}

/// A Bot API answer: its `result`, or the error it says (`ok: false`), or `Malformed`.
fn read_answer(answer: &Answer) -> Result<Value, ConnectorError> {
    let Ok(mut value) = serde_json::from_slice::<Value>(&answer.body) else {
        if !answer.status.is_success() {
            return Err(common::status_error(answer));
        }
        return Err(ConnectorError::Malformed("not JSON".into()));
    };
    if value.get("ok").and_then(Value::as_bool) == Some(true) {
        return match value.get_mut("result") {
            Some(result) => Ok(result.take()),
            None => Err(ConnectorError::Malformed("ok without result".into())),
        };
    }
    let code = value
        .get("error_code")
        .and_then(Value::as_i64)
        .unwrap_or(i64::from(answer.status.as_u16()));
    let description: String = value
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    let retry = value
        .get("parameters")
        .and_then(|p| p.get("retry_after"))
        .and_then(Value::as_u64);
    Err(api_error(code, description, retry, &answer.headers))
}

fn api_error(
    code: i64,
    description: String,
    retry_after: Option<u64>,
    headers: &reqwest::header::HeaderMap,
) -> ConnectorError {
    match code {
        429 => ConnectorError::RateLimited {
            retry_after: match retry_after {
                Some(s) => common::clamp_retry(Duration::from_secs(s)),
                None => common::retry_after(headers, Duration::from_secs(5)),
            },
        },
        500..=599 => ConnectorError::Transport(format!("telegram {code}: {description}")),
        // 401 bad token, 403 kicked or blocked, 404 unknown method or token, 409 a webhook
        // is set (or another getUpdates runs), 400 what was asked is wrong.
        _ => ConnectorError::Refused {
            code: format!("telegram_{code}"),
            message: description,
        },
    }
}

#[derive(Debug, Deserialize)]
struct WireUpdate {
    #[allow(dead_code)]
    update_id: i64,
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    edited_message: Option<WireMessage>,
    #[serde(default)]
    channel_post: Option<WireMessage>,
    #[serde(default)]
    edited_channel_post: Option<WireMessage>,
}

#[derive(Debug, Deserialize)]
struct WireMessage {
    message_id: i64,
    #[serde(default)]
    date: i64,
    chat: WireChat,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    caption: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireChat {
    id: i64,
    #[serde(default)]
    username: Option<String>,
}

/// `chat:message` read leniently from whatever shape, for a quarantined update.
fn loose_id(update: &Value) -> Option<String> {
    ALLOWED_UPDATES.iter().find_map(|kind| {
        let m = update.get(kind)?;
        let chat = m.get("chat")?.get("id")?.as_i64()?;
        let id = m.get("message_id")?.as_i64()?;
        Some(format!("{chat}:{id}"))
    })
}

/// A public username: 4–32 of `A–Z a–z 0–9 _` (anything else never goes into a URL).
fn public_username(u: &str) -> bool {
    (4..=32).contains(&u.len()) && u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// One `Update` object as a post: `Ok(None)` when it carries no text (a sticker, a photo
/// without a caption, a kind of update not asked for).
pub fn parse_update(source: &str, update: &Value) -> Result<Option<RawPost>, Quarantined> {
    let raw = || serde_json::to_vec(update).unwrap_or_default();
    let wire = WireUpdate::deserialize(update)
        .map_err(|_| Quarantined::new(source, loose_id(update), "bad_shape", &raw()))?;
    let Some(message) = wire
        .message
        .or(wire.channel_post)
        .or(wire.edited_message)
        .or(wire.edited_channel_post)
    else {
        return Ok(None);
    };
    let external_id = format!("{}:{}", message.chat.id, message.message_id);
    let Some(text) = message.text.as_deref().or(message.caption.as_deref()) else {
        return Ok(None);
    };
    let text = match check_text(text) {
        Ok(t) => t,
        Err(TextVerdict::Empty) => return Ok(None),
        Err(v) => {
            return Err(Quarantined::new(
                source,
                Some(external_id),
                v.reason(),
                &raw(),
            ))
        }
    };
    let url = message
        .chat
        .username
        .as_deref()
        .filter(|u| public_username(u))
        .map(|u| format!("https://t.me/{u}/{}", message.message_id));
    Ok(Some(RawPost {
        source: source.to_owned(),
        platform: Platform::Telegram,
        external_id,
        url,
        text,
        published_at: if message.date > 0 {
            message.date
        } else {
            now_unix()
        },
        reply: ReplyTarget::Telegram {
            chat_id: message.chat.id,
            message_id: message.message_id,
        },
    }))
}

/// The body of a webhook POST (one `Update`) as a post. Check the secret first
/// ([`verify_webhook_secret`]).
pub fn parse_webhook_update(source: &str, body: &[u8]) -> Result<Option<RawPost>, Quarantined> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Quarantined::new(source, None, "too_large", body));
    }
    let update: Value = serde_json::from_slice(body)
        .map_err(|_| Quarantined::new(source, None, "bad_shape", body))?;
    if !update.is_object() {
        return Err(Quarantined::new(source, None, "bad_shape", body));
    }
    parse_update(source, &update)
}

/// Whether the `X-Telegram-Bot-Api-Secret-Token` header holds the configured secret
/// (compared in constant time; no header or no secret configured → false).
pub fn verify_webhook_secret(expected: &str, header: Option<&str>) -> bool {
    verify_secret(expected, header)
}

fn read_offset(cursor: Option<&str>) -> Result<Option<i64>, ConnectorError> {
    cursor
        .map(|c| {
            c.trim()
                .parse::<i64>()
                .map_err(|_| ConnectorError::Malformed(format!("stored cursor: {c:.40}")))
        })
        .transpose()
}

#[async_trait]
impl Poller for Telegram {
    async fn poll(&self, cursor: Option<&str>) -> Result<Batch, ConnectorError> {
        let offset = read_offset(cursor)?;
        let mut request = json!({
            "limit": self.limit,
            "timeout": 0,
            "allowed_updates": ALLOWED_UPDATES,
        });
        if let (Some(offset), Some(obj)) = (offset, request.as_object_mut()) {
            obj.insert("offset".into(), json!(offset));
        }
        let result = self.call("getUpdates", &request).await?;
        updates_batch(&self.source, &result, offset, self.limit)
    }
}

/// The `result` of `getUpdates` as a batch: each update a post, nothing or quarantined,
/// and the offset to ask next (never lower than `offset`, the one asked with).
fn updates_batch(
    source: &str,
    result: &Value,
    offset: Option<i64>,
    limit: u32,
) -> Result<Batch, ConnectorError> {
    let Some(updates) = result.as_array() else {
        return Err(ConnectorError::Malformed("result is not a list".into()));
    };
    let mut batch = Batch::default();
    let mut highest: Option<i64> = None;
    for update in updates {
        match update.get("update_id").and_then(Value::as_i64) {
            Some(id) => highest = Some(highest.map_or(id, |h| h.max(id))),
            None => {
                let raw = serde_json::to_vec(update).unwrap_or_default();
                batch.quarantined.push(Quarantined::new(
                    source,
                    loose_id(update),
                    "bad_shape",
                    &raw,
                ));
                continue;
            }
        }
        match parse_update(source, update) {
            Ok(Some(post)) => batch.posts.push(post),
            Ok(None) => {}
            Err(q) => batch.quarantined.push(q),
        }
    }
    let next = highest.map(|h| h.saturating_add(1));
    // Never go back: an offset only moves forward.
    batch.cursor = match (next, offset) {
        (Some(n), Some(o)) if n <= o => None,
        (Some(n), _) => Some(n.to_string()),
        (None, _) => None,
    };
    batch.more = updates.len() >= limit as usize;
    Ok(batch)
}

/// The fuzz targets' entry (`fuzz/`, `crates/fuzzing`): a `getUpdates` answer read as the
/// poller reads it after asking with `cursor`. Not an API.
#[doc(hidden)]
pub fn fuzz_get_updates(body: &[u8], cursor: Option<&str>) -> Result<Batch, ConnectorError> {
    let offset = read_offset(cursor)?;
    let answer = Answer {
        status: reqwest::StatusCode::OK,
        headers: reqwest::header::HeaderMap::new(),
        body: body.to_vec(),
    };
    updates_batch("fuzz", &read_answer(&answer)?, offset, 100)
}

#[async_trait]
impl Publisher for Telegram {
    async fn publish(&self, target: &ReplyTarget, text: &str) -> Result<String, ConnectorError> {
        let ReplyTarget::Telegram {
            chat_id,
            message_id,
        } = target
        else {
            return Err(ConnectorError::Refused {
                code: "wrong_target".into(),
                message: "not a Telegram message".into(),
            });
        };
        let chars = text.chars().count();
        if chars == 0 || chars > MAX_MESSAGE_CHARS {
            return Err(ConnectorError::Refused {
                code: "text_length".into(),
                message: format!("a message is 1–{MAX_MESSAGE_CHARS} characters, this is {chars}"),
            });
        }
        let body = json!({
            "chat_id": chat_id,
            "text": text,
            "reply_parameters": {
                "message_id": message_id,
                "allow_sending_without_reply": true,
            },
        });
        let message = self.call("sendMessage", &body).await?;
        match message.get("message_id").and_then(Value::as_i64) {
            Some(id) => Ok(id.to_string()),
            None => Err(ConnectorError::Malformed("no message_id".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_channel_post_with_text() {
        let body = r#"{"update_id":10,"channel_post":{"message_id":5,"date":1700000000,
            "chat":{"id":-1001234567890,"type":"channel","title":"Город","username":"gorod_news"},
            "text":"Нет воды на Ленина, 5"}}"#
            .as_bytes();
        let post = parse_webhook_update("tg", body).unwrap().unwrap();
        assert_eq!(post.external_id, "-1001234567890:5");
        assert_eq!(post.url.as_deref(), Some("https://t.me/gorod_news/5"));
        assert_eq!(post.text, "Нет воды на Ленина, 5");
        assert_eq!(post.published_at, 1_700_000_000);
        assert_eq!(post.platform, Platform::Telegram);
        assert_eq!(
            post.reply,
            ReplyTarget::Telegram {
                chat_id: -1_001_234_567_890,
                message_id: 5
            }
        );
    }

    #[test]
    fn captions_private_chats_and_no_text() {
        let caption =
            r#"{"update_id":1,"message":{"message_id":7,"date":1,"chat":{"id":42,"type":"private"},
            "photo":[{"file_id":"x"}],"caption":"Фото ямы"}}"#
                .as_bytes();
        let post = parse_webhook_update("tg", caption).unwrap().unwrap();
        assert_eq!(post.text, "Фото ямы");
        assert_eq!(post.url, None);
        let sticker = br#"{"update_id":2,"message":{"message_id":8,"date":1,"chat":{"id":42},"sticker":{"file_id":"y"}}}"#;
        assert_eq!(parse_webhook_update("tg", sticker), Ok(None));
        let callback = br#"{"update_id":3,"callback_query":{"id":"1"}}"#;
        assert_eq!(parse_webhook_update("tg", callback), Ok(None));
        let edited = br#"{"update_id":4,"edited_message":{"message_id":9,"date":1,"edit_date":2,"chat":{"id":42},"text":"fixed"}}"#;
        assert_eq!(
            parse_webhook_update("tg", edited)
                .unwrap()
                .unwrap()
                .external_id,
            "42:9"
        );
        // A username that would bend the URL is not used.
        let odd = br#"{"update_id":5,"channel_post":{"message_id":1,"date":1,"chat":{"id":-1,"username":"a/../b"},"text":"x"}}"#;
        assert_eq!(parse_webhook_update("tg", odd).unwrap().unwrap().url, None);
    }

    #[test]
    fn hostile_updates() {
        let q = parse_webhook_update("tg", b"\x00\x01not json").unwrap_err();
        assert_eq!(q.reason, "bad_shape");
        let q = parse_webhook_update("tg", b"[1,2]").unwrap_err();
        assert_eq!(q.reason, "bad_shape");
        let q = parse_webhook_update(
            "tg",
            br#"{"update_id":1,"message":{"message_id":3,"date":1,"chat":{"id":4},"text":17}}"#,
        )
        .unwrap_err();
        assert_eq!(
            (q.reason.as_str(), q.external_id.as_deref()),
            ("bad_shape", Some("4:3"))
        );
        let big = "а".repeat(40_000);
        let body = format!(
            r#"{{"update_id":1,"message":{{"message_id":3,"date":1,"chat":{{"id":4}},"text":"{big}"}}}}"#
        );
        let q = parse_webhook_update("tg", body.as_bytes()).unwrap_err();
        assert_eq!(q.reason, "too_large");
        assert!(q.excerpt.len() <= otklik_social::post::EXCERPT_BYTES);
        let body = r#"{"update_id":1,"message":{"message_id":3,"date":1,"chat":{"id":4},"text":"\u0000\u0000\u0000\u0001"}}"#;
        let q = parse_webhook_update("tg", body.as_bytes()).unwrap_err();
        assert_eq!(q.reason, "not_text");
        let deep = "[".repeat(10_000);
        assert_eq!(
            parse_webhook_update("tg", deep.as_bytes())
                .unwrap_err()
                .reason,
            "bad_shape"
        );
    }

    #[test]
    fn secret_header() {
        assert!(verify_webhook_secret(
            "0123456789abcdef",
            Some("0123456789abcdef")
        ));
        assert!(!verify_webhook_secret(
            "0123456789abcdef",
            Some("0123456789abcdeF")
        ));
        assert!(!verify_webhook_secret("0123456789abcdef", None));
    }

    #[test]
    fn errors() {
        let h = reqwest::header::HeaderMap::new();
        assert!(matches!(
            api_error(429, "Too Many Requests: retry after 7".into(), Some(7), &h),
            ConnectorError::RateLimited { retry_after } if retry_after == Duration::from_secs(7)
        ));
        assert_eq!(
            api_error(401, "Unauthorized".into(), None, &h).code(),
            "refused"
        );
        assert_eq!(
            api_error(403, "Forbidden".into(), None, &h).code(),
            "refused"
        );
        assert_eq!(
            api_error(409, "Conflict".into(), None, &h).code(),
            "refused"
        );
        assert_eq!(
            api_error(502, "Bad Gateway".into(), None, &h).code(),
            "transport"
        );
        assert_eq!(read_offset(Some("42")).unwrap(), Some(42));
        assert!(read_offset(Some("{}")).is_err());
    }
}
