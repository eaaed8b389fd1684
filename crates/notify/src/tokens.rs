//! Links that act without signing in: one-click unsubscribe (RFC 8058) and the image
//! that counts a campaign message as opened. Each is the person and what it is about,
//! with an HMAC of the installation's secret key, so nobody can forge another person's.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use otklik_domain::notify::NotificationKind;
use otklik_domain::{CampaignId, UserId};
use sha2::Sha256;

/// What an unsubscribe link stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsubscribe {
    /// E-mail of one kind.
    Kind(NotificationKind),
    /// Every campaign; the campaign the link came from is counted.
    Campaigns(CampaignId),
    /// A staff member's digest: e-mail of every staff kind.
    Digest,
}

impl Unsubscribe {
    fn scope(self) -> String {
        match self {
            Self::Kind(kind) => kind.as_str().to_owned(),
            Self::Campaigns(campaign) => format!("c{}", campaign.0),
            Self::Digest => "digest".to_owned(),
        }
    }

    fn parse_scope(raw: &str) -> Option<Self> {
        if raw == "digest" {
            return Some(Self::Digest);
        }
        match raw.strip_prefix('c') {
            Some(id) if id.bytes().all(|b| b.is_ascii_digit()) => {
                id.parse().ok().map(|id| Self::Campaigns(CampaignId(id)))
            }
            _ => NotificationKind::parse(raw).ok().map(Self::Kind),
        }
    }
}

fn mac(key: &[u8], purpose: &str, parts: &[&str]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(purpose.as_bytes());
    for part in parts {
        mac.update(b"\n");
        mac.update(part.as_bytes());
    }
    URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..16])
}

fn same(a: &str, b: &str) -> bool {
    // Constant time in the length of the expected value.
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub fn unsubscribe_token(key: &[u8], user: UserId, what: Unsubscribe) -> String {
    let (user, scope) = (user.0.to_string(), what.scope());
    let mac = mac(key, "unsubscribe", &[&user, &scope]);
    format!("{user}.{scope}.{mac}")
}

pub fn verify_unsubscribe(key: &[u8], token: &str) -> Option<(UserId, Unsubscribe)> {
    let mut parts = token.splitn(3, '.');
    let (user, scope, given) = (parts.next()?, parts.next()?, parts.next()?);
    let expected = mac(key, "unsubscribe", &[user, scope]);
    if !same(&expected, given) {
        return None;
    }
    Some((UserId(user.parse().ok()?), Unsubscribe::parse_scope(scope)?))
}

pub fn open_token(key: &[u8], campaign: CampaignId, user: UserId) -> String {
    let (campaign, user) = (campaign.0.to_string(), user.0.to_string());
    let mac = mac(key, "open", &[&campaign, &user]);
    format!("{campaign}.{user}.{mac}")
}

pub fn verify_open(key: &[u8], token: &str) -> Option<(CampaignId, UserId)> {
    let mut parts = token.splitn(3, '.');
    let (campaign, user, given) = (parts.next()?, parts.next()?, parts.next()?);
    if !same(&mac(key, "open", &[campaign, user]), given) {
        return None;
    }
    Some((
        CampaignId(campaign.parse().ok()?),
        UserId(user.parse().ok()?),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_refuse_tampering() {
        let key = [7u8; 32];
        let what = Unsubscribe::Kind(NotificationKind::Answered);
        let token = unsubscribe_token(&key, UserId(42), what);
        assert_eq!(verify_unsubscribe(&key, &token), Some((UserId(42), what)));
        assert_eq!(verify_unsubscribe(&[8u8; 32], &token), None);
        let forged = token.replacen("42.", "43.", 1);
        assert_eq!(verify_unsubscribe(&key, &forged), None);
        let campaigns = unsubscribe_token(&key, UserId(5), Unsubscribe::Campaigns(CampaignId(9)));
        assert_eq!(
            verify_unsubscribe(&key, &campaigns),
            Some((UserId(5), Unsubscribe::Campaigns(CampaignId(9))))
        );
        for bad in ["", "1", "1.answered", "x.answered.abc", "1.nonsense.abc"] {
            assert_eq!(verify_unsubscribe(&key, bad), None, "{bad}");
        }
        let open = open_token(&key, CampaignId(3), UserId(4));
        assert_eq!(verify_open(&key, &open), Some((CampaignId(3), UserId(4))));
        // An unsubscribe token is not an open token, and the reverse.
        assert_eq!(verify_open(&key, &campaigns), None);
    }
}
