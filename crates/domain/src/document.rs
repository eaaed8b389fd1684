//! Electronic documents and their signing routes (legally significant actions, S5/S11).
//!
//! A document's bytes are fixed when its author starts the route; from then on the route
//! is a small state machine: signers in order (each waits for the one before) or in
//! parallel (all at once), every one signs or declines, a decline ends the route, the
//! deadline ends it too, and when everyone has signed the document is complete and is
//! handed to the recipients. [`decide`] is the one authority on those moves. Pure: the
//! store reads the state, asks, and writes what it is told in one transaction.

use crate::{OrgId, UserId};

/// Signers per route and recipients per document: a route is a handful of parties.
pub const MAX_SIGNERS: usize = 20;
pub const MAX_RECIPIENTS: usize = 20;
/// Any format, as long as it fits in a request.
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;
/// A route's deadline is at most a year ahead.
pub const MAX_ROUTE_SECONDS: i64 = 366 * 24 * 3600;

/// Whether signers act one after another or all at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningOrder {
    Sequential,
    Parallel,
}

impl SigningOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sequential => "sequential",
            Self::Parallel => "parallel",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim() {
            "sequential" => Ok(Self::Sequential),
            "parallel" => Ok(Self::Parallel),
            _ => Err("unknown_signing_order"),
        }
    }
}

/// Where a document is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentStatus {
    /// Created; the author may still cancel it. Nothing is frozen yet.
    Draft,
    /// Frozen and out for signatures.
    Signing,
    /// Everyone signed; handed to the recipients.
    Completed,
    /// A signer declined.
    Declined,
    /// The deadline passed with signatures missing.
    Expired,
    /// The author withdrew it before it was complete.
    Cancelled,
}

impl DocumentStatus {
    pub const ALL: [DocumentStatus; 6] = [
        Self::Draft,
        Self::Signing,
        Self::Completed,
        Self::Declined,
        Self::Expired,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Signing => "signing",
            Self::Completed => "completed",
            Self::Declined => "declined",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or("unknown_document_status")
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Declined | Self::Expired | Self::Cancelled
        )
    }
}

/// One signer's place in the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignerState {
    /// Not their turn yet (sequential routes), or the route has not started.
    Waiting,
    /// May sign or decline now.
    Pending,
    Signed,
    Declined,
}

impl SignerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Pending => "pending",
            Self::Signed => "signed",
            Self::Declined => "declined",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw {
            "waiting" => Ok(Self::Waiting),
            "pending" => Ok(Self::Pending),
            "signed" => Ok(Self::Signed),
            "declined" => Ok(Self::Declined),
            _ => Err("unknown_signer_state"),
        }
    }
}

/// Who signs or receives: a person, or an organisation (any of its officials acts for
/// it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    Person(UserId),
    Organisation(OrgId),
}

/// What someone asks of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteCommand {
    /// The author freezes the document and sends it out.
    Start,
    /// The signer in this slot signed (their signature already checked).
    Sign { slot: usize },
    /// The signer in this slot declined (with a reason kept beside).
    Decline { slot: usize },
    /// The author withdrew it.
    Cancel,
    /// The deadline passed (the sweeper asks; so does any action after it).
    Expire,
}

/// What the store reads before it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteState {
    pub order: SigningOrder,
    pub status: DocumentStatus,
    pub signers: Vec<SignerState>,
    /// Unix seconds (UTC).
    pub deadline_at: i64,
}

/// What the store writes when a command is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMove {
    pub status: DocumentStatus,
    pub signers: Vec<SignerState>,
    /// The slots whose turn has just come: each is asked to sign (notified).
    pub now_pending: Vec<usize>,
}

impl RouteMove {
    pub fn completed(&self) -> bool {
        self.status == DocumentStatus::Completed
    }
}

/// Why a command was refused; stable codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("the document is not a draft")]
    NotDraft,
    #[error("the document is not out for signatures")]
    NotSigning,
    #[error("it is not this signer's turn")]
    NotYourTurn,
    #[error("no such signer")]
    UnknownSlot,
    #[error("the route's deadline has passed")]
    DeadlinePassed,
    #[error("the route's deadline has not passed")]
    DeadlineNotReached,
    #[error("the route has no signers")]
    NoSigners,
}

impl RouteError {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotDraft => "document_not_draft",
            Self::NotSigning => "document_not_signing",
            Self::NotYourTurn => "not_your_turn",
            Self::UnknownSlot => "unknown_signer",
            Self::DeadlinePassed => "route_deadline_passed",
            Self::DeadlineNotReached => "route_deadline_not_reached",
            Self::NoSigners => "no_signers",
        }
    }
}

/// The one authority on a route's moves. `now` is unix seconds (UTC).
pub fn decide(
    state: &RouteState,
    command: RouteCommand,
    now: i64,
) -> Result<RouteMove, RouteError> {
    let mut signers = state.signers.clone();
    match command {
        RouteCommand::Start => {
            if state.status != DocumentStatus::Draft {
                return Err(RouteError::NotDraft);
            }
            if signers.is_empty() {
                return Err(RouteError::NoSigners);
            }
            if now >= state.deadline_at {
                return Err(RouteError::DeadlinePassed);
            }
            let now_pending: Vec<usize> = match state.order {
                SigningOrder::Sequential => vec![0],
                SigningOrder::Parallel => (0..signers.len()).collect(),
            };
            for (slot, signer) in signers.iter_mut().enumerate() {
                *signer = if now_pending.contains(&slot) {
                    SignerState::Pending
                } else {
                    SignerState::Waiting
                };
            }
            Ok(RouteMove {
                status: DocumentStatus::Signing,
                signers,
                now_pending,
            })
        }
        RouteCommand::Sign { slot } | RouteCommand::Decline { slot } => {
            pending_slot(state, slot, now)?;
            if matches!(command, RouteCommand::Decline { .. }) {
                signers[slot] = SignerState::Declined;
                return Ok(RouteMove {
                    status: DocumentStatus::Declined,
                    signers,
                    now_pending: Vec::new(),
                });
            }
            signers[slot] = SignerState::Signed;
            let mut now_pending = Vec::new();
            if state.order == SigningOrder::Sequential {
                if let Some(next) = signers.get_mut(slot + 1) {
                    *next = SignerState::Pending;
                    now_pending.push(slot + 1);
                }
            }
            let status = if signers.iter().all(|s| *s == SignerState::Signed) {
                DocumentStatus::Completed
            } else {
                DocumentStatus::Signing
            };
            Ok(RouteMove {
                status,
                signers,
                now_pending,
            })
        }
        RouteCommand::Cancel => {
            if state.status.is_final() {
                return Err(RouteError::NotSigning);
            }
            Ok(RouteMove {
                status: DocumentStatus::Cancelled,
                signers,
                now_pending: Vec::new(),
            })
        }
        RouteCommand::Expire => {
            if state.status != DocumentStatus::Signing {
                return Err(RouteError::NotSigning);
            }
            if now < state.deadline_at {
                return Err(RouteError::DeadlineNotReached);
            }
            Ok(RouteMove {
                status: DocumentStatus::Expired,
                signers,
                now_pending: Vec::new(),
            })
        }
    }
}

fn pending_slot(state: &RouteState, slot: usize, now: i64) -> Result<(), RouteError> {
    if state.status != DocumentStatus::Signing {
        return Err(RouteError::NotSigning);
    }
    if now >= state.deadline_at {
        return Err(RouteError::DeadlinePassed);
    }
    match state.signers.get(slot) {
        None => Err(RouteError::UnknownSlot),
        Some(SignerState::Pending) => Ok(()),
        Some(_) => Err(RouteError::NotYourTurn),
    }
}

/// A document's title as people see it in lists.
pub fn parse_title(raw: &str) -> Result<String, &'static str> {
    let title = raw.trim();
    if title.chars().count() < 2 {
        return Err("too_short");
    }
    if title.chars().count() > 200 {
        return Err("too_long");
    }
    if title.chars().any(char::is_control) {
        return Err("control_characters");
    }
    Ok(title.to_owned())
}

/// A stored file name for any format: the base name's letters, digits and a few
/// separators with its extension (kept, lower-cased, when it is short and plain), so a
/// name is never a path.
pub fn safe_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let (stem, extension) = match base.rsplit_once('.') {
        Some((stem, ext))
            if !ext.is_empty()
                && ext.len() <= 8
                && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            (stem, Some(ext.to_ascii_lowercase()))
        }
        _ => (base, None),
    };
    let mut clean: String = stem
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '(' | ')'))
        .take(80)
        .collect();
    clean = clean.trim().to_owned();
    if clean.is_empty() {
        clean = "document".to_owned();
    }
    match extension {
        Some(ext) => format!("{clean}.{ext}"),
        None => clean,
    }
}

/// The media type served for a stored document: a few known ones, else octet-stream
/// (served as a download, never rendered inline).
pub fn media_type(name: &str, bytes: &[u8]) -> &'static str {
    if let Some(kind) = crate::attachment::FileType::sniff(bytes) {
        return kind.mime();
    }
    match name.rsplit_once('.').map(|(_, e)| e) {
        Some("txt") if std::str::from_utf8(bytes).is_ok() => "text/plain; charset=utf-8",
        Some("xml") => "application/xml",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("odt") => "application/vnd.oasis.opendocument.text",
        _ => "application/octet-stream",
    }
}

/// The parties of a new route, checked: 1..=[`MAX_SIGNERS`] signers with no one twice,
/// up to [`MAX_RECIPIENTS`] recipients with no one twice.
pub fn check_parties(
    signers: &[Party],
    recipients: &[Party],
) -> Result<(), crate::ValidationErrors> {
    let mut errors = crate::ValidationErrors::default();
    if signers.is_empty() {
        errors.push("signers", "no_signers");
    } else if signers.len() > MAX_SIGNERS {
        errors.push("signers", "too_many_signers");
    } else if has_duplicates(signers) {
        errors.push("signers", "duplicate_signer");
    }
    if recipients.len() > MAX_RECIPIENTS {
        errors.push("recipients", "too_many_recipients");
    } else if has_duplicates(recipients) {
        errors.push("recipients", "duplicate_recipient");
    }
    errors.into_result(|| ())
}

fn has_duplicates(parties: &[Party]) -> bool {
    let mut seen = std::collections::HashSet::new();
    parties.iter().any(|p| !seen.insert(*p))
}

/// A route's deadline: in the future, at most [`MAX_ROUTE_SECONDS`] ahead.
pub fn check_deadline(deadline_at: i64, now: i64) -> Result<i64, &'static str> {
    if deadline_at <= now {
        return Err("deadline_in_past");
    }
    if deadline_at - now > MAX_ROUTE_SECONDS {
        return Err("deadline_too_far");
    }
    Ok(deadline_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn draft(order: SigningOrder, n: usize) -> RouteState {
        RouteState {
            order,
            status: DocumentStatus::Draft,
            signers: vec![SignerState::Waiting; n],
            deadline_at: 1_000,
        }
    }

    fn apply(
        state: &mut RouteState,
        command: RouteCommand,
        now: i64,
    ) -> Result<RouteMove, RouteError> {
        let moved = decide(state, command, now)?;
        state.status = moved.status;
        state.signers = moved.signers.clone();
        Ok(moved)
    }

    #[test]
    fn sequential_signers_wait_for_the_one_before() {
        let mut route = draft(SigningOrder::Sequential, 3);
        assert_eq!(
            apply(&mut route, RouteCommand::Start, 0).map(|m| m.now_pending),
            Ok(vec![0])
        );
        assert_eq!(
            decide(&route, RouteCommand::Sign { slot: 1 }, 1),
            Err(RouteError::NotYourTurn)
        );
        assert_eq!(
            apply(&mut route, RouteCommand::Sign { slot: 0 }, 1).map(|m| m.now_pending),
            Ok(vec![1])
        );
        apply(&mut route, RouteCommand::Sign { slot: 1 }, 2).ok();
        let last = apply(&mut route, RouteCommand::Sign { slot: 2 }, 3);
        assert_eq!(last.map(|m| m.completed()), Ok(true));
    }

    #[test]
    fn parallel_signers_all_start_pending_and_any_order_completes() {
        let mut route = draft(SigningOrder::Parallel, 3);
        assert_eq!(
            apply(&mut route, RouteCommand::Start, 0).map(|m| m.now_pending),
            Ok(vec![0, 1, 2])
        );
        for slot in [2, 0] {
            assert_eq!(
                apply(&mut route, RouteCommand::Sign { slot }, 5).map(|m| m.status),
                Ok(DocumentStatus::Signing)
            );
        }
        assert_eq!(
            apply(&mut route, RouteCommand::Sign { slot: 1 }, 5).map(|m| m.status),
            Ok(DocumentStatus::Completed)
        );
    }

    #[test]
    fn a_decline_ends_the_route_and_nobody_signs_after_it() {
        let mut route = draft(SigningOrder::Parallel, 2);
        apply(&mut route, RouteCommand::Start, 0).ok();
        assert_eq!(
            apply(&mut route, RouteCommand::Decline { slot: 1 }, 1).map(|m| m.status),
            Ok(DocumentStatus::Declined)
        );
        assert_eq!(
            decide(&route, RouteCommand::Sign { slot: 0 }, 2),
            Err(RouteError::NotSigning)
        );
    }

    #[test]
    fn the_deadline_stops_signing_and_only_then_expires_the_route() {
        let mut route = draft(SigningOrder::Sequential, 1);
        apply(&mut route, RouteCommand::Start, 0).ok();
        assert_eq!(
            decide(&route, RouteCommand::Expire, 999),
            Err(RouteError::DeadlineNotReached)
        );
        assert_eq!(
            decide(&route, RouteCommand::Sign { slot: 0 }, 1_000),
            Err(RouteError::DeadlinePassed)
        );
        assert_eq!(
            decide(&route, RouteCommand::Expire, 1_000).map(|m| m.status),
            Ok(DocumentStatus::Expired)
        );
    }

    #[test]
    fn start_needs_a_draft_with_signers_and_a_future_deadline() {
        assert_eq!(
            decide(&draft(SigningOrder::Parallel, 0), RouteCommand::Start, 0),
            Err(RouteError::NoSigners)
        );
        assert_eq!(
            decide(
                &draft(SigningOrder::Parallel, 1),
                RouteCommand::Start,
                1_000
            ),
            Err(RouteError::DeadlinePassed)
        );
        let mut route = draft(SigningOrder::Parallel, 1);
        apply(&mut route, RouteCommand::Start, 0).ok();
        assert_eq!(
            decide(&route, RouteCommand::Start, 0),
            Err(RouteError::NotDraft)
        );
    }

    #[test]
    fn parties_are_checked() {
        let a = Party::Person(UserId(1));
        assert!(check_parties(&[], &[]).is_err());
        assert!(check_parties(&[a, a], &[]).is_err());
        assert!(check_parties(&[a], &[a]).is_ok());
        assert!(check_parties(&[a], &[Party::Organisation(OrgId(1)); 2]).is_err());
    }

    #[test]
    fn file_names_are_never_paths() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\x\\Договор №5.DOCX"), "Договор 5.docx");
        assert_eq!(safe_file_name(".."), "document");
        assert_eq!(safe_file_name("a.tar.gz"), "atar.gz");
    }

    proptest! {
        /// Whatever the commands, in a sequential route no signer is ever signed while
        /// an earlier one is not, and a route is complete exactly when all have signed.
        #[test]
        fn sequential_order_and_completion_hold(
            n in 1usize..6,
            commands in proptest::collection::vec((0usize..3, 0usize..7), 0..30),
        ) {
            let mut route = draft(SigningOrder::Sequential, n);
            apply(&mut route, RouteCommand::Start, 0).ok();
            for (what, slot) in commands {
                let command = match what {
                    0 => RouteCommand::Sign { slot },
                    1 => RouteCommand::Decline { slot },
                    _ => RouteCommand::Cancel,
                };
                let before = route.clone();
                if apply(&mut route, command, 1).is_err() {
                    prop_assert_eq!(&route, &before);
                }
                let first_unsigned = route.signers.iter().position(|s| *s != SignerState::Signed);
                if let Some(first) = first_unsigned {
                    prop_assert!(route.signers[first..].iter().all(|s| *s != SignerState::Signed));
                }
                prop_assert_eq!(
                    route.status == DocumentStatus::Completed,
                    route.signers.iter().all(|s| *s == SignerState::Signed)
                );
            }
        }
    }
}
