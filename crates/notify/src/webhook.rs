//! The signature of the platform's outgoing webhooks (organisations' push endpoints, the
//! SMS/push gateway): `X-Otklik-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//! "<t>." ‖ body)>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;
use time::OffsetDateTime;

/// The signature header's value for `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let hex = keyed(secret, timestamp, body)
        .map(|mac| hex::encode(mac.finalize().into_bytes()))
        .unwrap_or_default();
    format!("t={timestamp},v1={hex}")
}

fn keyed(secret: &str, timestamp: i64, body: &[u8]) -> Option<Hmac<Sha256>> {
    // HMAC takes a key of any length; the error cannot happen.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// What a receiver does: checks the signature in constant time and that the timestamp is
/// within `tolerance` of `now` (against replays).
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now: OffsetDateTime,
    tolerance: Duration,
) -> bool {
    let mut timestamp = None;
    let mut given = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => given = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(given)) = (timestamp, given) else {
        return false;
    };
    if now.unix_timestamp().abs_diff(timestamp) > tolerance.as_secs() {
        return false;
    }
    keyed(secret, timestamp, body).is_some_and(|mac| mac.verify_slice(&given).is_ok())
}
