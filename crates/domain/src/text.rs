//! Validated text values. Each can only be built through `parse`, so a holder of one
//! holds a valid value. Errors are stable codes (see `error.rs`).

/// Trims, rejects control characters other than line breaks and tabs, and bounds the
/// length in characters (not bytes: Cyrillic is two bytes a letter in UTF-8).
fn bounded(raw: &str, min: usize, max: usize) -> Result<String, &'static str> {
    let value = raw.trim().replace("\r\n", "\n");
    if value.is_empty() {
        return Err("required");
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("control_characters");
    }
    let len = value.chars().count();
    if len < min {
        return Err("too_short");
    }
    if len > max {
        return Err("too_long");
    }
    Ok(value)
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MIN_CHARS: usize = $min;
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, &'static str> {
                bounded(raw, $min, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }

            /// A value that skips validation, for probing the status machine only.
            #[allow(dead_code)]
            pub(crate) fn placeholder() -> Self {
                Self(String::new())
            }
        }
    };
}

bounded_text!(
    /// The citizen's own words: what happened and what they ask for.
    SubmissionText, 10, 5000
);
bounded_text!(
    /// An official's intermediate or final answer.
    AnswerText, 2, 10000
);
bounded_text!(
    /// Why a submission was redirected, sent back, or what a rejection ground refers to.
    Reason, 3, 2000
);
bounded_text!(
    /// A citizen's comment on a rating (optional in the UI; empty input means none).
    RatingComment, 1, 2000
);
bounded_text!(
    /// A person's name as they want to be addressed in answers.
    PersonName, 2, 200
);

/// An e-mail address, lower-cased. Checked for shape only; delivery proves the rest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err("required");
        }
        if value.chars().count() > 254 {
            return Err("too_long");
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err("invalid_email");
        };
        let shape_ok = !local.is_empty()
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && domain.contains('.')
            && !domain.contains('@')
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if shape_ok {
            Ok(Self(value))
        } else {
            Err("invalid_email")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 8 to 128 characters, not all of one kind of character.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    pub const MIN_CHARS: usize = 8;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let len = raw.chars().count();
        if len == 0 {
            return Err("required");
        }
        if len < Self::MIN_CHARS {
            return Err("too_short");
        }
        if len > 128 {
            return Err("too_long");
        }
        let has_letter = raw.chars().any(char::is_alphabetic);
        let has_other = raw.chars().any(|c| !c.is_alphabetic());
        if !(has_letter && has_other) {
            return Err("too_weak");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submission_text_is_trimmed_and_bounded_in_characters() {
        assert_eq!(
            SubmissionText::parse("  Яма на дороге у дома 5  ")
                .map(|t| t.into_string())
                .as_deref(),
            Ok("Яма на дороге у дома 5")
        );
        assert_eq!(SubmissionText::parse("   "), Err("required"));
        assert_eq!(SubmissionText::parse("коротко"), Err("too_short"));
        assert_eq!(SubmissionText::parse(&"я".repeat(5001)), Err("too_long"));
        assert!(SubmissionText::parse(&"я".repeat(5000)).is_ok());
        assert_eq!(
            SubmissionText::parse("текст с \u{0007} звонком"),
            Err("control_characters")
        );
    }

    #[test]
    fn email_shape() {
        assert_eq!(
            Email::parse(" Ivan@Example.RU ").map(|e| e.as_str().to_owned()),
            Ok("ivan@example.ru".to_owned())
        );
        for bad in [
            "",
            "ivan",
            "ivan@",
            "@example.ru",
            "ivan@ru",
            "iv an@example.ru",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} must be rejected");
        }
    }

    #[test]
    fn password_rules() {
        assert_eq!(NewPassword::parse("").err(), Some("required"));
        assert_eq!(NewPassword::parse("a1").err(), Some("too_short"));
        assert_eq!(NewPassword::parse("abcdefghij").err(), Some("too_weak"));
        assert_eq!(NewPassword::parse("1234567890").err(), Some("too_weak"));
        assert!(NewPassword::parse("пароль-2026").is_ok());
        assert_eq!(
            format!("{:?}", NewPassword::parse("secret-123")),
            "Ok(NewPassword(***))"
        );
    }
}

/// A web origin allowed to embed an organisation's widget: `https://host[:port]`, or
/// `http://` for loopback hosts (development, tests). Lower case, no path, no trailing
/// slash — exactly as browsers send it in `Origin` and as CSP `frame-ancestors` wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetOrigin(String);

impl WidgetOrigin {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim().trim_end_matches('/').to_ascii_lowercase();
        if value.is_empty() {
            return Err("required");
        }
        let (scheme, rest) = value.split_once("://").ok_or("invalid_origin")?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !host.contains(']') || host.ends_with(']') => {
                let port: u16 = port.parse().map_err(|_| "invalid_origin")?;
                (host, Some(port))
            }
            _ => (rest, None),
        };
        if port == Some(0) || host.is_empty() || host.len() > 253 {
            return Err("invalid_origin");
        }
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if !host.split('.').all(label_ok) {
            return Err("invalid_origin");
        }
        let loopback = host == "localhost" || host == "127.0.0.1";
        match scheme {
            "https" => {}
            "http" if loopback => {}
            _ => return Err("invalid_origin"),
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An integration client's identifier: 3–64 of `A–Z a–z 0–9 - _`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = raw.trim();
        let ok = (3..=64).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if value.is_empty() {
            Err("required")
        } else if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err("invalid_client_id")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod origin_tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        let ok = |s: &str| WidgetOrigin::parse(s).map(|o| o.as_str().to_owned());
        assert_eq!(ok("https://Mos.RU/").as_deref(), Ok("https://mos.ru"));
        assert_eq!(
            ok("https://xn--80ak6aa92e.xn--p1ai:8443").as_deref(),
            Ok("https://xn--80ak6aa92e.xn--p1ai:8443")
        );
        assert_eq!(
            ok("http://127.0.0.1:41000").as_deref(),
            Ok("http://127.0.0.1:41000")
        );
        for bad in [
            "mos.ru",
            "http://mos.ru",
            "https://mos.ru/path",
            "https://mos.ru:0",
            "https://mos.ru:99999",
            "javascript://x",
            "https://-bad.ru",
            "https://a b.ru",
            "https://",
            "https://*.mos.ru",
        ] {
            assert!(WidgetOrigin::parse(bad).is_err(), "{bad} must be refused");
        }
        assert_eq!(WidgetOrigin::parse(" "), Err("required"));
    }

    #[test]
    fn client_ids_are_short_and_plain() {
        assert!(ClientId::parse("sed-tver_1").is_ok());
        assert_eq!(ClientId::parse("ab"), Err("invalid_client_id"));
        assert_eq!(ClientId::parse("a.b.c"), Err("invalid_client_id"));
        assert_eq!(ClientId::parse(""), Err("required"));
    }
}
