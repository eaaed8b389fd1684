//! Public discussions (public hearings): an organisation's proposal that citizens comment
//! on and support or oppose while it is open. Comments are moderated before anyone else
//! sees them; `moderate` is the one authority on a comment's moves. Pure.

/// A comment's state. Pending → published or rejected; a published comment may still be
/// rejected later (with a reason, e.g. personal data found in it); a rejection is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommentStatus {
    Pending,
    Published,
    Rejected,
}

impl CommentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Published => "published",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "published" => Some(Self::Published),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// What a moderator does to a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moderation {
    Publish,
    Reject(RejectionReason),
}

/// Why a comment is not shown: one of the published grounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionReason {
    /// Insults, threats, obscenity.
    Abusive,
    /// Nothing to do with the proposal.
    OffTopic,
    /// Someone's personal data.
    PersonalData,
    /// Advertising or repeated text.
    Spam,
}

impl RejectionReason {
    pub const ALL: [RejectionReason; 4] = [
        Self::Abusive,
        Self::OffTopic,
        Self::PersonalData,
        Self::Spam,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Abusive => "abusive",
            Self::OffTopic => "off_topic",
            Self::PersonalData => "personal_data",
            Self::Spam => "spam",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

/// The comment's next state, or why the move is refused.
pub fn moderate(
    current: CommentStatus,
    action: &Moderation,
) -> Result<CommentStatus, &'static str> {
    match (current, action) {
        (CommentStatus::Pending, Moderation::Publish) => Ok(CommentStatus::Published),
        (CommentStatus::Pending | CommentStatus::Published, Moderation::Reject(_)) => {
            Ok(CommentStatus::Rejected)
        }
        (CommentStatus::Published, Moderation::Publish) => Err("already_published"),
        (CommentStatus::Rejected, _) => Err("already_rejected"),
    }
}

/// A citizen's position on the proposal: one per person, final once given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stance {
    For,
    Against,
}

impl Stance {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::For => "for",
            Self::Against => "against",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "for" => Some(Self::For),
            "against" => Some(Self::Against),
            _ => None,
        }
    }
}

/// A comment's text: 3–3 000 characters, no control characters but line breaks.
pub fn parse_comment(raw: &str) -> Result<String, &'static str> {
    let text = raw.trim();
    let len = text.chars().count();
    if len == 0 {
        return Err("required");
    }
    if len < 3 {
        return Err("too_short");
    }
    if len > 3000 {
        return Err("too_long");
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err("control_characters");
    }
    Ok(text.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn moderation_moves() {
        use CommentStatus::*;
        let reject = Moderation::Reject(RejectionReason::Spam);
        assert_eq!(moderate(Pending, &Moderation::Publish), Ok(Published));
        assert_eq!(moderate(Pending, &reject), Ok(Rejected));
        assert_eq!(moderate(Published, &reject), Ok(Rejected));
        assert_eq!(
            moderate(Published, &Moderation::Publish),
            Err("already_published")
        );
        assert_eq!(
            moderate(Rejected, &Moderation::Publish),
            Err("already_rejected")
        );
        assert_eq!(moderate(Rejected, &reject), Err("already_rejected"));
    }

    #[test]
    fn comments_are_checked() {
        assert_eq!(
            parse_comment("  Поддерживаю  "),
            Ok("Поддерживаю".to_owned())
        );
        assert_eq!(parse_comment(" "), Err("required"));
        assert_eq!(parse_comment("да"), Err("too_short"));
        assert_eq!(parse_comment(&"я".repeat(3001)), Err("too_long"));
        assert_eq!(parse_comment("abc\u{7}"), Err("control_characters"));
        assert_eq!(parse_comment("строка\nещё"), Ok("строка\nещё".to_owned()));
    }

    fn action() -> impl Strategy<Value = Moderation> {
        prop_oneof![
            Just(Moderation::Publish),
            (0usize..4).prop_map(|i| Moderation::Reject(RejectionReason::ALL[i])),
        ]
    }

    proptest! {
        /// Whatever moderators do, a rejected comment never comes back, and a comment is
        /// published only from pending.
        #[test]
        fn rejection_is_final(actions in proptest::collection::vec(action(), 0..12)) {
            let mut status = CommentStatus::Pending;
            let mut rejected = false;
            for a in &actions {
                let before = status;
                if let Ok(next) = moderate(status, a) {
                    if next == CommentStatus::Published {
                        prop_assert_eq!(before, CommentStatus::Pending);
                    }
                    status = next;
                }
                if rejected {
                    prop_assert_eq!(status, CommentStatus::Rejected);
                }
                rejected |= status == CommentStatus::Rejected;
            }
        }
    }
}
