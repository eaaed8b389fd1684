//! What every connector shares: reading an HTTP answer with a limit, the platform's
//! "slow down", the checks a post's text passes before it becomes a [`RawPost`], and the
//! constant-time comparison of webhook secrets.
//!
//! [`RawPost`]: otklik_social::RawPost

use crate::ConnectorError;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};
use std::time::Duration;

/// Longest text of one post (bytes); a longer one is quarantined as `too_large`.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Longest answer read from a platform (bytes); a longer one is `Malformed`, unread.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Retry-After when the platform said "slow down" without saying for how long.
pub(crate) const DEFAULT_RETRY: Duration = Duration::from_secs(60);

/// The longest wait a platform may impose through Retry-After (a day).
const MAX_RETRY: Duration = Duration::from_secs(24 * 3600);

/// An HTTP answer read to the end (at most [`MAX_BODY_BYTES`]).
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Sends the request and reads the answer with the body limit. Transport errors never
/// carry the URL (a Telegram URL holds the bot's token).
pub(crate) async fn send(request: RequestBuilder) -> Result<Answer, ConnectorError> {
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status();
    let headers = response.headers().clone();
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(ConnectorError::Malformed(format!(
            "the answer is larger than {MAX_BODY_BYTES} bytes"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ConnectorError::Malformed(format!(
                "the answer is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

pub(crate) fn transport(e: reqwest::Error) -> ConnectorError {
    ConnectorError::Transport(e.without_url().to_string())
}

/// Retry-After: delta-seconds or an HTTP date; absent or unreadable → `default`.
pub(crate) fn retry_after(headers: &HeaderMap, default: Duration) -> Duration {
    let Some(value) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) else {
        return default;
    };
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return clamp_retry(Duration::from_secs(seconds));
    }
    if let Some(at) = parse_rfc2822(value) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        return clamp_retry(Duration::from_secs(at.saturating_sub(now).max(0) as u64));
    }
    default
}

pub(crate) fn clamp_retry(d: Duration) -> Duration {
    d.min(MAX_RETRY)
}

/// An HTTP status that is not a success, as the error a caller can act on:
/// 429 and 503 → `RateLimited` (Retry-After), other 4xx → `Refused`, the rest → `Transport`.
pub(crate) fn status_error(answer: &Answer) -> ConnectorError {
    let status = answer.status;
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        let default = if status == StatusCode::TOO_MANY_REQUESTS {
            DEFAULT_RETRY
        } else {
            Duration::from_secs(30)
        };
        return ConnectorError::RateLimited {
            retry_after: retry_after(&answer.headers, default),
        };
    }
    if status.is_client_error() {
        return ConnectorError::Refused {
            code: format!("http_{}", status.as_u16()),
            message: excerpt_str(&answer.body, 200),
        };
    }
    ConnectorError::Transport(format!("HTTP {}", status.as_u16()))
}

/// At most `max` bytes of `raw` as text (for error messages).
pub(crate) fn excerpt_str(raw: &[u8], max: usize) -> String {
    let cut = raw.len().min(max);
    String::from_utf8_lossy(&raw[..cut]).into_owned()
}

/// Why a text is not accepted as a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextVerdict {
    TooLarge,
    NotText,
    /// Nothing left after trimming (a photo without a caption, a sticker): not a post.
    Empty,
}

impl TextVerdict {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            TextVerdict::TooLarge => "too_large",
            TextVerdict::NotText => "not_text",
            TextVerdict::Empty => "empty",
        }
    }
}

/// A character that has no place in a post's text: NUL and the other C0/C1 controls
/// (but tab and line breaks), the replacement character, the non-characters U+FFFE/U+FFFF.
fn is_garbage(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(c, '\u{FFFD}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Checks a post's text and cleans it: longer than [`MAX_TEXT_BYTES`] → `TooLarge`; half or
/// more of its visible characters garbage (controls, NUL, U+FFFD) → `NotText`; nothing
/// left → `Empty`. An accepted text loses its stray controls (PostgreSQL refuses NUL in
/// text) and its surrounding whitespace; U+FFFD stays, it marks what the sender lost.
pub(crate) fn check_text(text: &str) -> Result<String, TextVerdict> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(TextVerdict::TooLarge);
    }
    let mut visible = 0usize;
    let mut garbage = 0usize;
    for c in text.chars() {
        if c.is_whitespace() && !is_garbage(c) {
            continue;
        }
        visible += 1;
        if is_garbage(c) {
            garbage += 1;
        }
    }
    if visible > 0 && garbage * 2 >= visible {
        return Err(TextVerdict::NotText);
    }
    let cleaned: String = text
        .chars()
        .filter(|&c| !is_garbage(c) || c == '\u{FFFD}')
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() {
        return Err(TextVerdict::Empty);
    }
    Ok(if trimmed.len() == cleaned.len() {
        cleaned
    } else {
        trimmed.to_owned()
    })
}

/// Compares a presented secret with the expected one in time independent of where they
/// differ. An empty expected secret matches nothing: a webhook without a secret is closed.
pub fn verify_secret(expected: &str, presented: Option<&str>) -> bool {
    let Some(presented) = presented else {
        return false;
    };
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    if a.is_empty() {
        return false;
    }
    // Walk the expected secret's length whatever is presented; the length itself is not
    // a secret worth hiding (Telegram's is up to 256 characters of a public alphabet).
    let mut diff = (a.len() ^ b.len()) as u64;
    for (i, &x) in a.iter().enumerate() {
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

/// Now, Unix seconds.
pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// An RFC 2822 date (RSS `pubDate`, HTTP dates), tolerating a wrong day of the week.
pub(crate) fn parse_rfc2822(s: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc2822;
    let s = s.trim();
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc2822) {
        return Some(t.unix_timestamp());
    }
    // "Thu, 31 Jan 2024 …" where the 31st was a Wednesday: the day of the week is only
    // a check, drop it and read the rest.
    let (_, rest) = s.split_once(',')?;
    time::OffsetDateTime::parse(rest.trim(), &Rfc2822)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// An RFC 3339 date (Atom, the generic webhook).
pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(s.trim(), &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// An `http://` or `https://` URL with a host, parsed.
pub(crate) fn http_url(s: &str) -> Option<reqwest::Url> {
    let url = reqwest::Url::parse(s).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    Some(url)
}

/// FNV-1a, 64 bits: a stable short name for a long or missing id (not a defence).
pub(crate) fn fnv64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separate the parts so ("ab","c") and ("a","bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn text_checks() {
        assert_eq!(
            check_text("  Яма на дороге \n").as_deref(),
            Ok("Яма на дороге")
        );
        assert_eq!(check_text("a\0b\u{1}c").as_deref(), Ok("abc"));
        assert_eq!(check_text("\0\0\0a"), Err(TextVerdict::NotText));
        assert_eq!(
            check_text("\u{FFFD}\u{FFFD}\u{FFFD}  ok"),
            Err(TextVerdict::NotText)
        );
        assert_eq!(check_text(" \n\t "), Err(TextVerdict::Empty));
        assert_eq!(check_text(""), Err(TextVerdict::Empty));
        let big = "я".repeat(MAX_TEXT_BYTES / 2 + 1);
        assert_eq!(check_text(&big), Err(TextVerdict::TooLarge));
        let edge = "a".repeat(MAX_TEXT_BYTES);
        assert!(check_text(&edge).is_ok());
        // A replacement character here and there is kept.
        assert_eq!(
            check_text("Улица \u{FFFD}енина").as_deref(),
            Ok("Улица \u{FFFD}енина")
        );
    }

    #[test]
    fn secrets() {
        assert!(verify_secret("s3cret-token_1", Some("s3cret-token_1")));
        assert!(!verify_secret("s3cret-token_1", Some("s3cret-token_2")));
        assert!(!verify_secret("s3cret-token_1", Some("s3cret-token_1x")));
        assert!(!verify_secret("s3cret-token_1", Some("s3cret")));
        assert!(!verify_secret("s3cret-token_1", Some("")));
        assert!(!verify_secret("s3cret-token_1", None));
        assert!(!verify_secret("", Some("")));
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_rfc2822("Mon, 15 Jan 2024 10:00:00 GMT"),
            Some(1_705_312_800)
        );
        assert_eq!(
            parse_rfc2822("Mon, 15 Jan 2024 13:00:00 +0300"),
            Some(1_705_312_800)
        );
        // Wrong day of the week (the 15th was a Monday).
        assert_eq!(
            parse_rfc2822("Fri, 15 Jan 2024 10:00:00 GMT"),
            Some(1_705_312_800)
        );
        assert_eq!(
            parse_rfc2822("15 Jan 2024 10:00:00 UT"),
            Some(1_705_312_800)
        );
        assert_eq!(parse_rfc2822("yesterday"), None);
        assert_eq!(
            parse_rfc3339("2024-01-15T13:00:00+03:00"),
            Some(1_705_312_800)
        );
        assert_eq!(parse_rfc3339("2024-01-15"), None);
    }

    #[test]
    fn retry_after_header() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, DEFAULT_RETRY), DEFAULT_RETRY);
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h, DEFAULT_RETRY), Duration::from_secs(7));
        h.insert(RETRY_AFTER, "99999999".parse().unwrap());
        assert_eq!(retry_after(&h, DEFAULT_RETRY), MAX_RETRY);
        h.insert(
            RETRY_AFTER,
            "Mon, 15 Jan 2024 10:00:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h, DEFAULT_RETRY), Duration::ZERO);
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h, DEFAULT_RETRY), DEFAULT_RETRY);
    }

    #[test]
    fn urls() {
        assert!(http_url("https://example.org/cb?x=1").is_some());
        assert!(http_url("http://127.0.0.1:8080/").is_some());
        assert!(http_url("ftp://example.org/").is_none());
        assert!(http_url("javascript:alert(1)").is_none());
        assert!(http_url("not a url").is_none());
    }

    #[test]
    fn fnv_is_stable_and_separates_parts() {
        assert_eq!(fnv64(&[b"abc"]), fnv64(&[b"abc"]));
        assert_ne!(fnv64(&[b"ab", b"c"]), fnv64(&[b"a", b"bc"]));
    }
}
