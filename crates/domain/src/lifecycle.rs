//! The life of a submission: its kinds, statuses, the actions people take on it, and
//! [`decide`], the one authority on which of those actions are legal and by whom.
//!
//! ```text
//!  registered ──take──▶ in_progress ──answer──▶ answered ──rate──▶ rated
//!     │  ▲                 │  │  ▲ (intermediate answer)  │           │ score ≤ 2,
//!     │  └────redirect─────┘  │  └────return (coordinator)┘           │ first round
//!     │  (recategorise)       │  ▲                        reopened ◀──┘ send back
//!     │                request│  │clarify                   │
//!     │                       ▼  │                          │
//!     │             awaiting_clarification (clock paused)   │
//!     └──────reject───────────┴─────reject──▶ rejected ◀──reject─┘
//! ```
//!
//! The regional coordinator (the regional management centre) moderates its region: it
//! fixes the category (the submission is routed again), routes by hand (redirect), rejects
//! spam, and returns answers that do not answer. An appeal's term may be extended once.

use crate::text::{AnswerText, RatingComment, Reason};
use crate::{OrgId, RegionId, SubcategoryId, SubmissionId, UserId};

/// A message to a body (сообщение) or an appeal under Federal Law 59-FZ (обращение).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubmissionKind {
    Message,
    Appeal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Registered and delivered to the organisation; nobody has taken it yet.
    Registered,
    /// An official of the organisation works on it.
    InProgress,
    /// The final answer is given; the citizen may rate it.
    Answered,
    /// The citizen rated the answer. Final, unless sent back after a low rating.
    Rated,
    /// Rejected on a legal ground. Final.
    Rejected,
    /// Sent back by the citizen for re-review, with the same organisation.
    Reopened,
    /// The official asked the citizen to clarify; the term's clock is paused.
    AwaitingClarification,
}

/// Grounds on which an appeal may be left without an answer on the merits (59-FZ art. 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionGround {
    /// Obscene or offensive language, threats to officials (art. 11 part 3).
    ObsceneLanguage,
    /// The text cannot be read (art. 11 part 4).
    UnreadableText,
    /// The same question was already answered on the merits (art. 11 part 5).
    RepeatedQuestion,
    /// The matter is for a court: appeals against court decisions (art. 11 part 2).
    CourtMatter,
    /// An answer would disclose a state or other protected secret (art. 11 part 6).
    ProtectedSecret,
}

/// A rating of an answer, 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(u8);

/// Who acts: a person and the role they act in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user: UserId,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Citizen,
    /// An official of exactly one organisation.
    Official(OrgId),
    /// The platform operator.
    Operator,
    /// The regional coordinator (regional management centre) of one region: moderates
    /// and coordinates every submission of that region.
    Coordinator(RegionId),
    /// The ministry's read-only analyst: monitoring and incidents of all regions, never a
    /// submission itself (no personal data).
    Analyst,
    /// The administrator of one organisation: manages its officials, its integration
    /// clients and the sites that embed its widget. Does not handle submissions and does
    /// not read citizens' personal data (separation of duties).
    OrgAdmin(OrgId),
    /// An external system of one organisation (its case-management system), acting
    /// through the API within the scopes granted to it, like an official of that
    /// organisation.
    Integration(OrgId),
}

impl Role {
    /// The organisation whose submissions this role handles (an official or the
    /// organisation's system).
    pub fn handling_org(self) -> Option<OrgId> {
        match self {
            Role::Official(org) | Role::Integration(org) => Some(org),
            _ => None,
        }
    }

    /// The organisation this role belongs to, whatever it does there.
    pub fn organisation(self) -> Option<OrgId> {
        match self {
            Role::Official(org) | Role::Integration(org) | Role::OrgAdmin(org) => Some(org),
            _ => None,
        }
    }

    /// Staff: everyone but citizens.
    pub fn is_staff(self) -> bool {
        self != Role::Citizen
    }
}

/// What `decide` needs to know about a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmissionState {
    pub kind: SubmissionKind,
    pub status: Status,
    pub author: UserId,
    pub org: OrgId,
    /// The region the submission is about (its coordinator moderates it).
    pub region: RegionId,
    /// An appeal's term has been extended (possible once).
    pub extended: bool,
    /// 1, or 2 after the citizen sent the answer back for re-review.
    pub round: u8,
    /// The rating of the current round's answer.
    pub rating: Option<Score>,
    /// Whether it is merged with other submissions (see [`crate::merge`]).
    pub merge: Merge,
}

/// A submission's place among merged duplicates. A duplicate follows its primary's
/// taking into work and answers until the final answer reaches it; it keeps its own
/// history, deadline and rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Merge {
    /// Neither merged into another submission nor holding duplicates.
    #[default]
    Alone,
    /// A duplicate of this (open) submission, its primary.
    DuplicateOf(SubmissionId),
    /// Holds duplicates that follow it.
    Primary,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    TakeIntoWork,
    PostIntermediateAnswer {
        text: AnswerText,
    },
    Answer {
        text: AnswerText,
    },
    Redirect {
        to: OrgId,
        reason: Reason,
    },
    Reject {
        ground: RejectionGround,
        comment: Reason,
    },
    Rate {
        score: Score,
        comment: Option<RatingComment>,
    },
    SendBack {
        reason: Reason,
    },
    /// Ask the citizen to clarify; pauses the clock.
    RequestClarification {
        question: Reason,
    },
    /// The citizen's clarification; the clock resumes, the deadline moves by the pause.
    Clarify {
        text: AnswerText,
    },
    /// Extend an appeal's term once, with notice to the citizen (59-FZ art. 12 part 2).
    Extend {
        days: ExtensionDays,
        reason: Reason,
    },
    /// The coordinator returns an answer that does not answer (a procedure incident).
    ReturnAnswer {
        reason: Reason,
    },
    /// The coordinator fixes the category; the submission is routed again.
    Recategorise {
        subcategory: SubcategoryId,
        reason: Reason,
    },
}

/// How many days an appeal's term is extended by: 1 to 30 (59-FZ art. 12 part 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExtensionDays(u8);

impl ExtensionDays {
    pub const MAX: u8 = 30;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("required");
        }
        match raw.parse::<u8>() {
            Ok(days) if (1..=Self::MAX).contains(&days) => Ok(Self(days)),
            _ => Err("out_of_range"),
        }
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

/// Procedure incidents (seed clause 18): deadline breaches and other faults, recorded
/// and never deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentKind {
    /// Registered later than 3 days after receipt (59-FZ art. 8 part 2).
    LateRegistration,
    /// Left with the coordinator longer than the moderation term.
    LateModeration,
    /// An appeal redirected later than 7 days after registration (59-FZ art. 8 part 3).
    LateRedirect,
    /// Not answered by the deadline.
    LateAnswer,
    /// The coordinator returned the answer.
    AnswerRejected,
    /// The citizen rated the answer 2 or lower.
    LowRating,
    /// A routed submission could not be delivered to the organisation's own system after
    /// the configured number of attempts (the operator's alert; delivery goes on).
    DeliveryFailing,
    /// A social-media incident not answered publicly by its deadline (24 hours by
    /// default; `social::DEFAULT_ANSWER_HOURS`).
    LateSocialAnswer,
}

impl IncidentKind {
    /// The kinds raised for submissions, which analytics counts per organisation,
    /// subcategory, channel and kind (a social incident has no channel or kind).
    pub const OF_SUBMISSIONS: &'static [IncidentKind] = &[
        IncidentKind::LateRegistration,
        IncidentKind::LateModeration,
        IncidentKind::LateRedirect,
        IncidentKind::LateAnswer,
        IncidentKind::AnswerRejected,
        IncidentKind::LowRating,
        IncidentKind::DeliveryFailing,
    ];
}

/// How a submission reached the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Channel {
    /// The portal's own pages.
    #[default]
    Portal,
    /// The form embedded on a registered site of an organisation.
    Widget,
    /// The JSON API (`/api/v1`), from an application acting for the citizen.
    Api,
    /// The Open311 GeoReport v2 endpoint.
    Open311,
}

/// What an action does to the term's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    Runs,
    Pauses,
    Resumes,
}

/// What an event in a submission's timeline records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Registered,
    TakenIntoWork,
    IntermediateAnswer,
    Answered,
    Redirected,
    Rejected,
    Rated,
    SentBack,
    ClarificationRequested,
    Clarified,
    Extended,
    AnswerReturned,
    Recategorised,
    /// This submission became a duplicate of another (`related`).
    Merged,
    /// A duplicate (`related`) joined this submission.
    MergedIn,
    /// This duplicate was separated from its primary (`related`).
    Unmerged,
}

/// The effect of a legal action, to be stored together with its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub event: EventKind,
    pub from: Status,
    pub to: Status,
    pub org_after: OrgId,
    pub round_after: u8,
    pub rating_after: Option<Score>,
    /// The deadline starts again from the moment of the action (redirect, re-review,
    /// new category).
    pub restarts_term: bool,
    pub clock: Clock,
    /// An extension of the term by this many calendar days.
    pub extends_by: Option<ExtensionDays>,
    /// The category changes: the store routes the submission again.
    pub reroute: Option<SubcategoryId>,
    pub extended_after: bool,
    /// An incident the action itself reveals.
    pub incident: Option<IncidentKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("this person may not do that to this submission")]
    Forbidden,
    #[error("{action} is not possible in status {from}")]
    Illegal { from: Status, action: &'static str },
    #[error("the answer has already been rated")]
    AlreadyRated,
    #[error("only a rating of 2 or lower allows sending the answer back")]
    RatingNotLow,
    #[error("the answer was already sent back once")]
    ReReviewUsed,
    #[error("a submission cannot be redirected to the organisation that holds it")]
    SameOrganisation,
    #[error("only an appeal's term can be extended")]
    NotAnAppeal,
    #[error("the term was already extended once")]
    ExtensionUsed,
    /// Redirecting, recategorising or rejecting would leave merged duplicates behind.
    #[error("the submission is merged with others; separate them first")]
    Merged,
}

impl TransitionError {
    pub fn code(self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::Illegal { .. } => "illegal_transition",
            Self::AlreadyRated => "already_rated",
            Self::RatingNotLow => "rating_not_low",
            Self::ReReviewUsed => "re_review_used",
            Self::SameOrganisation => "same_organisation",
            Self::NotAnAppeal => "not_an_appeal",
            Self::ExtensionUsed => "extension_used",
            Self::Merged => "merged",
        }
    }
}

/// The initial state of a newly registered submission.
pub fn registered(
    kind: SubmissionKind,
    author: UserId,
    org: OrgId,
    region: RegionId,
) -> SubmissionState {
    SubmissionState {
        kind,
        status: Status::Registered,
        author,
        org,
        region,
        extended: false,
        round: 1,
        rating: None,
        merge: Merge::Alone,
    }
}

/// May `actor` see this submission? Its author, the officials of the organisation that
/// holds it now, the coordinator of its region, and the operator. Nobody else — not the
/// organisations it left, not the ministry's analyst (aggregates only).
pub fn can_view(state: &SubmissionState, actor: &Actor) -> bool {
    match actor.role {
        Role::Operator => true,
        Role::Official(org) => org == state.org || actor.user == state.author,
        Role::Integration(org) => org == state.org,
        Role::Coordinator(region) => region == state.region || actor.user == state.author,
        Role::Citizen => actor.user == state.author,
        Role::Analyst | Role::OrgAdmin(_) => false,
    }
}

/// Decides whether `actor` may take `action` on a submission in `state`, and what follows.
pub fn decide(
    state: &SubmissionState,
    actor: &Actor,
    action: &Action,
) -> Result<Transition, TransitionError> {
    use Status::*;
    if !may_act(state, actor, action) {
        return Err(TransitionError::Forbidden);
    }
    if blocked_by_merge(state.merge, action) {
        return Err(TransitionError::Merged);
    }
    let from = state.status;
    let illegal = || TransitionError::Illegal {
        from,
        action: action.name(),
    };
    let to = |to: Status| Transition {
        event: action.event_kind(),
        from,
        to,
        org_after: state.org,
        round_after: state.round,
        rating_after: state.rating,
        restarts_term: false,
        clock: Clock::Runs,
        extends_by: None,
        reroute: None,
        extended_after: state.extended,
        incident: None,
    };
    match action {
        Action::TakeIntoWork => match from {
            Registered | Reopened => Ok(to(InProgress)),
            _ => Err(illegal()),
        },
        Action::PostIntermediateAnswer { .. } | Action::Answer { .. } if from != InProgress => {
            Err(illegal())
        }
        Action::PostIntermediateAnswer { .. } => Ok(to(InProgress)),
        Action::Answer { .. } => Ok(to(Answered)),
        Action::Redirect { to: target, .. } => match from {
            Registered | InProgress if *target == state.org => {
                Err(TransitionError::SameOrganisation)
            }
            Registered | InProgress => Ok(Transition {
                org_after: *target,
                restarts_term: true,
                ..to(Registered)
            }),
            _ => Err(illegal()),
        },
        Action::Reject { .. } => match from {
            Registered | InProgress | Reopened => Ok(to(Rejected)),
            _ => Err(illegal()),
        },
        Action::Rate { score, .. } => match from {
            Answered => Ok(Transition {
                rating_after: Some(*score),
                incident: score.is_low().then_some(IncidentKind::LowRating),
                ..to(Rated)
            }),
            Rated => Err(TransitionError::AlreadyRated),
            _ => Err(illegal()),
        },
        Action::SendBack { .. } => match (from, state.rating) {
            (Rated, _) if state.round > 1 => Err(TransitionError::ReReviewUsed),
            (Rated, Some(score)) if score.is_low() => Ok(Transition {
                round_after: state.round + 1,
                rating_after: None,
                restarts_term: true,
                ..to(Reopened)
            }),
            (Rated, _) => Err(TransitionError::RatingNotLow),
            _ => Err(illegal()),
        },
        Action::RequestClarification { .. } => match from {
            InProgress => Ok(Transition {
                clock: Clock::Pauses,
                ..to(AwaitingClarification)
            }),
            _ => Err(illegal()),
        },
        Action::Clarify { .. } => match from {
            AwaitingClarification => Ok(Transition {
                clock: Clock::Resumes,
                ..to(InProgress)
            }),
            _ => Err(illegal()),
        },
        Action::Extend { days, .. } => match from {
            _ if state.kind != SubmissionKind::Appeal => Err(TransitionError::NotAnAppeal),
            Registered | InProgress | Reopened if state.extended => {
                Err(TransitionError::ExtensionUsed)
            }
            Registered | InProgress | Reopened => Ok(Transition {
                extends_by: Some(*days),
                extended_after: true,
                ..to(from)
            }),
            _ => Err(illegal()),
        },
        Action::ReturnAnswer { .. } => match from {
            Answered => Ok(Transition {
                incident: Some(IncidentKind::AnswerRejected),
                ..to(InProgress)
            }),
            _ => Err(illegal()),
        },
        Action::Recategorise { subcategory, .. } => match from {
            Registered => Ok(Transition {
                reroute: Some(*subcategory),
                restarts_term: true,
                ..to(Registered)
            }),
            _ => Err(illegal()),
        },
    }
}

/// The actions `actor` may take now, found by asking [`decide`] with placeholder values,
/// so that pages offer exactly what the status machine would accept.
pub fn available(state: &SubmissionState, actor: &Actor) -> Vec<&'static str> {
    let placeholder = AnswerText::placeholder();
    let reason = Reason::placeholder();
    let probes = [
        Action::TakeIntoWork,
        Action::PostIntermediateAnswer {
            text: placeholder.clone(),
        },
        Action::Answer { text: placeholder },
        // No organisation has id -1, so this probe never hits `SameOrganisation`.
        Action::Redirect {
            to: OrgId(-1),
            reason: reason.clone(),
        },
        Action::Reject {
            ground: RejectionGround::UnreadableText,
            comment: reason.clone(),
        },
        Action::Rate {
            score: Score(5),
            comment: None,
        },
        Action::SendBack {
            reason: reason.clone(),
        },
        Action::RequestClarification {
            question: reason.clone(),
        },
        Action::Clarify {
            text: AnswerText::placeholder(),
        },
        Action::Extend {
            days: ExtensionDays(ExtensionDays::MAX),
            reason: reason.clone(),
        },
        Action::ReturnAnswer {
            reason: reason.clone(),
        },
        // No subcategory has id -1; the probe only asks whether recategorising is legal.
        Action::Recategorise {
            subcategory: SubcategoryId(-1),
            reason,
        },
    ];
    probes
        .iter()
        .filter(|action| decide(state, actor, action).is_ok())
        .map(Action::name)
        .collect()
}

/// Merged submissions share one organisation, and a primary's duplicates wait for its
/// answer: moving either to another organisation (redirect, new category) would split
/// them, and rejecting a primary would leave its duplicates waiting for nothing. A
/// duplicate may still be rejected on its own ground, which separates it.
fn blocked_by_merge(merge: Merge, action: &Action) -> bool {
    match (merge, action) {
        (Merge::Alone, _) => false,
        (_, Action::Redirect { .. } | Action::Recategorise { .. }) => true,
        (Merge::Primary, Action::Reject { .. }) => true,
        _ => false,
    }
}

/// Staff actions belong to the officials of the holding organisation; the region's
/// coordinator moderates (routes by hand, fixes the category, rejects spam, returns
/// answers) and the operator may do what the coordinator does; the citizen's actions
/// belong to the author alone, acting as a citizen.
fn may_act(state: &SubmissionState, actor: &Actor, action: &Action) -> bool {
    let holds = actor.role.handling_org() == Some(state.org);
    let coordinates = match actor.role {
        Role::Coordinator(region) => region == state.region,
        Role::Operator => true,
        _ => false,
    };
    let author = actor.user == state.author && actor.role == Role::Citizen;
    match action {
        Action::TakeIntoWork
        | Action::PostIntermediateAnswer { .. }
        | Action::Answer { .. }
        | Action::RequestClarification { .. }
        | Action::Extend { .. } => holds,
        // The coordinator rejects spam; the operator does not judge content.
        Action::Reject { .. } => {
            holds || matches!(actor.role, Role::Coordinator(region) if region == state.region)
        }
        Action::Redirect { .. } => holds || coordinates,
        Action::ReturnAnswer { .. } | Action::Recategorise { .. } => coordinates,
        // Only as a citizen: staff must not rate answers, least of all their own.
        Action::Rate { .. } | Action::SendBack { .. } | Action::Clarify { .. } => author,
    }
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Self::TakeIntoWork => "take_into_work",
            Self::PostIntermediateAnswer { .. } => "intermediate_answer",
            Self::Answer { .. } => "answer",
            Self::Redirect { .. } => "redirect",
            Self::Reject { .. } => "reject",
            Self::Rate { .. } => "rate",
            Self::SendBack { .. } => "send_back",
            Self::RequestClarification { .. } => "request_clarification",
            Self::Clarify { .. } => "clarify",
            Self::Extend { .. } => "extend",
            Self::ReturnAnswer { .. } => "return_answer",
            Self::Recategorise { .. } => "recategorise",
        }
    }

    pub fn event_kind(&self) -> EventKind {
        match self {
            Self::TakeIntoWork => EventKind::TakenIntoWork,
            Self::PostIntermediateAnswer { .. } => EventKind::IntermediateAnswer,
            Self::Answer { .. } => EventKind::Answered,
            Self::Redirect { .. } => EventKind::Redirected,
            Self::Reject { .. } => EventKind::Rejected,
            Self::Rate { .. } => EventKind::Rated,
            Self::SendBack { .. } => EventKind::SentBack,
            Self::RequestClarification { .. } => EventKind::ClarificationRequested,
            Self::Clarify { .. } => EventKind::Clarified,
            Self::Extend { .. } => EventKind::Extended,
            Self::ReturnAnswer { .. } => EventKind::AnswerReturned,
            Self::Recategorise { .. } => EventKind::Recategorised,
        }
    }

    /// May files be attached to this action? Only to answers.
    pub fn accepts_files(&self) -> bool {
        matches!(
            self,
            Self::Answer { .. } | Self::PostIntermediateAnswer { .. }
        )
    }
}

impl Score {
    pub fn new(value: u8) -> Result<Self, &'static str> {
        if (1..=5).contains(&value) {
            Ok(Self(value))
        } else {
            Err("out_of_range")
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("required");
        }
        raw.parse::<u8>()
            .map_err(|_| "out_of_range")
            .and_then(Self::new)
    }

    pub fn value(self) -> u8 {
        self.0
    }

    /// A rating that allows sending the answer back (and later raises an incident).
    pub fn is_low(self) -> bool {
        self.0 <= 2
    }
}

/// Stable snake_case names used in storage and the API.
macro_rules! named_enum {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),* }
            }

            pub fn parse(raw: &str) -> Result<Self, &'static str> {
                match raw { $($name => Ok($ty::$variant),)* _ => Err("unknown_value") }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(SubmissionKind { Message => "message", Appeal => "appeal" });
named_enum!(Status {
    Registered => "registered",
    InProgress => "in_progress",
    Answered => "answered",
    Rated => "rated",
    Rejected => "rejected",
    Reopened => "reopened",
    AwaitingClarification => "awaiting_clarification",
});
named_enum!(RejectionGround {
    ObsceneLanguage => "obscene_language",
    UnreadableText => "unreadable_text",
    RepeatedQuestion => "repeated_question",
    CourtMatter => "court_matter",
    ProtectedSecret => "protected_secret",
});
named_enum!(EventKind {
    Registered => "registered",
    TakenIntoWork => "taken_into_work",
    IntermediateAnswer => "intermediate_answer",
    Answered => "answered",
    Redirected => "redirected",
    Rejected => "rejected",
    Rated => "rated",
    SentBack => "sent_back",
    ClarificationRequested => "clarification_requested",
    Clarified => "clarified",
    Extended => "extended",
    AnswerReturned => "answer_returned",
    Recategorised => "recategorised",
    Merged => "merged",
    MergedIn => "merged_in",
    Unmerged => "unmerged",
});
named_enum!(IncidentKind {
    LateRegistration => "late_registration",
    LateModeration => "late_moderation",
    LateRedirect => "late_redirect",
    LateAnswer => "late_answer",
    AnswerRejected => "answer_rejected",
    LowRating => "low_rating",
    DeliveryFailing => "delivery_failing",
    LateSocialAnswer => "late_social_answer",
});
named_enum!(Channel {
    Portal => "portal",
    Widget => "widget",
    Api => "api",
    Open311 => "open311",
});

impl Status {
    /// Open submissions are the organisation's to finish.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Registered | Self::InProgress | Self::Reopened | Self::AwaitingClarification
        )
    }

    /// Open, and the term's clock runs (not waiting for the citizen): such submissions can
    /// become overdue.
    pub fn clock_runs(self) -> bool {
        self.is_open() && self != Self::AwaitingClarification
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTHOR: UserId = UserId(1);
    const ORG: OrgId = OrgId(10);
    const OTHER_ORG: OrgId = OrgId(11);
    const REGION: RegionId = RegionId(69);

    fn citizen() -> Actor {
        Actor {
            user: AUTHOR,
            role: Role::Citizen,
        }
    }
    fn official() -> Actor {
        Actor {
            user: UserId(2),
            role: Role::Official(ORG),
        }
    }
    fn stranger_official() -> Actor {
        Actor {
            user: UserId(3),
            role: Role::Official(OTHER_ORG),
        }
    }
    fn operator() -> Actor {
        Actor {
            user: UserId(4),
            role: Role::Operator,
        }
    }
    fn other_citizen() -> Actor {
        Actor {
            user: UserId(5),
            role: Role::Citizen,
        }
    }

    fn state(status: Status) -> SubmissionState {
        SubmissionState {
            status,
            ..registered(SubmissionKind::Message, AUTHOR, ORG, REGION)
        }
    }

    fn text() -> AnswerText {
        AnswerText::parse("Яма будет заделана до 20 декабря.").unwrap_or_else(|_| unreachable!())
    }
    fn reason() -> Reason {
        Reason::parse("Не в нашей компетенции").unwrap_or_else(|_| unreachable!())
    }
    fn score(v: u8) -> Score {
        Score::new(v).unwrap_or_else(|_| unreachable!())
    }

    fn coordinator() -> Actor {
        Actor {
            user: UserId(6),
            role: Role::Coordinator(REGION),
        }
    }
    fn other_coordinator() -> Actor {
        Actor {
            user: UserId(7),
            role: Role::Coordinator(RegionId(54)),
        }
    }
    fn analyst() -> Actor {
        Actor {
            user: UserId(8),
            role: Role::Analyst,
        }
    }
    fn days(n: &str) -> ExtensionDays {
        ExtensionDays::parse(n).unwrap_or_else(|_| unreachable!())
    }

    fn every_action() -> Vec<(Action, Actor)> {
        vec![
            (Action::TakeIntoWork, official()),
            (Action::PostIntermediateAnswer { text: text() }, official()),
            (Action::Answer { text: text() }, official()),
            (
                Action::Redirect {
                    to: OTHER_ORG,
                    reason: reason(),
                },
                official(),
            ),
            (
                Action::Reject {
                    ground: RejectionGround::CourtMatter,
                    comment: reason(),
                },
                official(),
            ),
            (
                Action::Rate {
                    score: score(2),
                    comment: None,
                },
                citizen(),
            ),
            (Action::SendBack { reason: reason() }, citizen()),
            (
                Action::RequestClarification { question: reason() },
                official(),
            ),
            (Action::Clarify { text: text() }, citizen()),
            (
                Action::Extend {
                    days: days("30"),
                    reason: reason(),
                },
                official(),
            ),
            (Action::ReturnAnswer { reason: reason() }, coordinator()),
            (
                Action::Recategorise {
                    subcategory: SubcategoryId(3),
                    reason: reason(),
                },
                coordinator(),
            ),
        ]
    }

    /// The full table: for every status and every action by its rightful actor, the
    /// status that follows, or None where the action is illegal. The submission is an
    /// appeal whose term was not extended yet.
    #[test]
    fn transition_table() {
        use Status::*;
        const N: Option<Status> = None;
        #[rustfmt::skip]
        let expected: &[(Status, [Option<Status>; 12])] = &[
            //           take            interim          answer          redirect          reject          rate         send back clarify?                      clarify          extend            return           recategorise
            (Registered, [Some(InProgress), N, N, Some(Registered), Some(Rejected), N, N, N, N, Some(Registered), N, Some(Registered)]),
            (InProgress, [N, Some(InProgress), Some(Answered), Some(Registered), Some(Rejected), N, N, Some(AwaitingClarification), N, Some(InProgress), N, N]),
            (Answered, [N, N, N, N, N, Some(Rated), N, N, N, N, Some(InProgress), N]),
            (Rated, [N, N, N, N, N, N, N, N, N, N, N, N]),
            (Rejected, [N, N, N, N, N, N, N, N, N, N, N, N]),
            (Reopened, [Some(InProgress), N, N, N, Some(Rejected), N, N, N, N, Some(Reopened), N, N]),
            (AwaitingClarification, [N, N, N, N, N, N, N, N, Some(InProgress), N, N, N]),
        ];
        assert_eq!(expected.len(), Status::ALL.len());
        for (status, row) in expected {
            for ((action, actor), want) in every_action().iter().zip(row) {
                // A rated state here has a high rating, so send back is illegal too.
                let s = SubmissionState {
                    kind: SubmissionKind::Appeal,
                    rating: Some(score(4)),
                    ..state(*status)
                };
                let got = decide(&s, actor, action).ok().map(|t| t.to);
                assert_eq!(got, *want, "{status} + {}", action.name());
            }
        }
    }

    #[test]
    fn the_clock_pauses_for_the_citizen_and_resumes() {
        let asked = decide(
            &state(Status::InProgress),
            &official(),
            &Action::RequestClarification { question: reason() },
        )
        .unwrap_or_else(|_| unreachable!());
        assert_eq!(asked.clock, Clock::Pauses);
        assert!(Status::AwaitingClarification.is_open());
        assert!(!Status::AwaitingClarification.clock_runs());
        let clarify = Action::Clarify { text: text() };
        let answered = decide(&state(Status::AwaitingClarification), &citizen(), &clarify)
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(
            (answered.to, answered.clock),
            (Status::InProgress, Clock::Resumes)
        );
        // Only the author answers the question.
        for actor in [official(), other_citizen(), operator(), coordinator()] {
            assert_eq!(
                decide(&state(Status::AwaitingClarification), &actor, &clarify),
                Err(TransitionError::Forbidden)
            );
        }
    }

    #[test]
    fn only_an_appeal_is_extended_and_only_once() {
        let extend = Action::Extend {
            days: days("30"),
            reason: reason(),
        };
        let appeal = SubmissionState {
            kind: SubmissionKind::Appeal,
            ..state(Status::InProgress)
        };
        let t = decide(&appeal, &official(), &extend).unwrap_or_else(|_| unreachable!());
        assert_eq!((t.extends_by, t.extended_after), (Some(days("30")), true));
        let extended = SubmissionState {
            extended: true,
            ..appeal
        };
        assert_eq!(
            decide(&extended, &official(), &extend),
            Err(TransitionError::ExtensionUsed)
        );
        assert_eq!(
            decide(&state(Status::InProgress), &official(), &extend),
            Err(TransitionError::NotAnAppeal)
        );
        assert_eq!(ExtensionDays::parse("31"), Err("out_of_range"));
        assert_eq!(ExtensionDays::parse("0"), Err("out_of_range"));
        assert_eq!(ExtensionDays::parse(" "), Err("required"));
    }

    #[test]
    fn the_coordinator_moderates_its_region_only() {
        let registered = state(Status::Registered);
        let recategorise = Action::Recategorise {
            subcategory: SubcategoryId(3),
            reason: reason(),
        };
        let t =
            decide(&registered, &coordinator(), &recategorise).unwrap_or_else(|_| unreachable!());
        assert_eq!((t.reroute, t.restarts_term), (Some(SubcategoryId(3)), true));
        let spam = Action::Reject {
            ground: RejectionGround::ObsceneLanguage,
            comment: reason(),
        };
        assert!(decide(&registered, &coordinator(), &spam).is_ok());
        let by_hand = Action::Redirect {
            to: OTHER_ORG,
            reason: reason(),
        };
        assert!(decide(&registered, &coordinator(), &by_hand).is_ok());
        let returned = decide(
            &state(Status::Answered),
            &coordinator(),
            &Action::ReturnAnswer { reason: reason() },
        )
        .unwrap_or_else(|_| unreachable!());
        assert_eq!(returned.incident, Some(IncidentKind::AnswerRejected));
        // Another region's coordinator can do none of it, nor see it.
        for action in [&recategorise, &spam, &by_hand] {
            assert_eq!(
                decide(&registered, &other_coordinator(), action),
                Err(TransitionError::Forbidden)
            );
        }
        assert!(!can_view(&registered, &other_coordinator()));
        // The coordinator moderates; it does not answer for the organisation.
        assert_eq!(
            decide(&registered, &coordinator(), &Action::TakeIntoWork),
            Err(TransitionError::Forbidden)
        );
        // The holding official may not return its own answer or recategorise.
        assert_eq!(
            decide(&registered, &official(), &recategorise),
            Err(TransitionError::Forbidden)
        );
    }

    #[test]
    fn a_low_rating_is_an_incident() {
        let rate = |v| Action::Rate {
            score: score(v),
            comment: None,
        };
        let answered = state(Status::Answered);
        for (v, want) in [(1, true), (2, true), (3, false), (5, false)] {
            let t = decide(&answered, &citizen(), &rate(v)).unwrap_or_else(|_| unreachable!());
            assert_eq!(t.incident == Some(IncidentKind::LowRating), want, "{v}");
        }
    }

    #[test]
    fn staff_actions_only_by_the_holding_organisation() {
        for status in Status::ALL {
            for (action, _) in every_action().iter().take(5) {
                for actor in [citizen(), stranger_official(), other_citizen()] {
                    assert_eq!(
                        decide(&state(*status), &actor, action),
                        Err(TransitionError::Forbidden),
                        "{status} + {} by {actor:?}",
                        action.name()
                    );
                }
            }
        }
    }

    #[test]
    fn operator_may_redirect_but_not_answer() {
        let redirect = Action::Redirect {
            to: OTHER_ORG,
            reason: reason(),
        };
        let moved = decide(&state(Status::InProgress), &operator(), &redirect);
        assert_eq!(
            moved.map(|t| (t.org_after, t.restarts_term)),
            Ok((OTHER_ORG, true))
        );
        let answer = Action::Answer { text: text() };
        assert_eq!(
            decide(&state(Status::InProgress), &operator(), &answer),
            Err(TransitionError::Forbidden)
        );
    }

    #[test]
    fn only_the_author_rates() {
        let rate = Action::Rate {
            score: score(5),
            comment: None,
        };
        for actor in [official(), other_citizen(), operator()] {
            assert_eq!(
                decide(&state(Status::Answered), &actor, &rate),
                Err(TransitionError::Forbidden)
            );
        }
        // Staff who are somehow the author still cannot rate the answer.
        let staff_author = Actor {
            user: AUTHOR,
            role: Role::Official(ORG),
        };
        assert_eq!(
            decide(&state(Status::Answered), &staff_author, &rate),
            Err(TransitionError::Forbidden)
        );
    }

    #[test]
    fn redirect_to_self_is_refused() {
        let redirect = Action::Redirect {
            to: ORG,
            reason: reason(),
        };
        assert_eq!(
            decide(&state(Status::Registered), &official(), &redirect),
            Err(TransitionError::SameOrganisation)
        );
    }

    #[test]
    fn rating_twice_is_refused() {
        let rate = Action::Rate {
            score: score(3),
            comment: None,
        };
        let rated = SubmissionState {
            rating: Some(score(4)),
            ..state(Status::Rated)
        };
        assert_eq!(
            decide(&rated, &citizen(), &rate),
            Err(TransitionError::AlreadyRated)
        );
    }

    #[test]
    fn a_low_rating_allows_one_re_review() {
        let send_back = Action::SendBack { reason: reason() };
        let low = SubmissionState {
            rating: Some(score(2)),
            ..state(Status::Rated)
        };
        let t = decide(&low, &citizen(), &send_back);
        assert_eq!(
            t.map(|t| (
                t.to,
                t.round_after,
                t.rating_after,
                t.restarts_term,
                t.org_after
            )),
            Ok((Status::Reopened, 2, None, true, ORG))
        );
        let high = SubmissionState {
            rating: Some(score(3)),
            ..state(Status::Rated)
        };
        assert_eq!(
            decide(&high, &citizen(), &send_back),
            Err(TransitionError::RatingNotLow)
        );
        let second = SubmissionState { round: 2, ..low };
        assert_eq!(
            decide(&second, &citizen(), &send_back),
            Err(TransitionError::ReReviewUsed)
        );
        assert_eq!(
            decide(&low, &official(), &send_back),
            Err(TransitionError::Forbidden)
        );
    }

    #[test]
    fn a_full_life_with_re_review() {
        let mut s = registered(SubmissionKind::Message, AUTHOR, ORG, REGION);
        let steps = [
            (Action::TakeIntoWork, official()),
            (Action::PostIntermediateAnswer { text: text() }, official()),
            (Action::Answer { text: text() }, official()),
            (
                Action::Rate {
                    score: score(1),
                    comment: None,
                },
                citizen(),
            ),
            (Action::SendBack { reason: reason() }, citizen()),
            (Action::TakeIntoWork, official()),
            (Action::Answer { text: text() }, official()),
            (
                Action::Rate {
                    score: score(5),
                    comment: None,
                },
                citizen(),
            ),
        ];
        for (action, actor) in steps {
            let t =
                decide(&s, &actor, &action).unwrap_or_else(|e| panic!("{}: {e}", action.name()));
            s = SubmissionState {
                status: t.to,
                org: t.org_after,
                round: t.round_after,
                rating: t.rating_after,
                ..s
            };
        }
        assert_eq!(
            (s.status, s.round, s.rating),
            (Status::Rated, 2, Some(score(5)))
        );
    }

    #[test]
    fn available_actions_follow_the_machine() {
        assert_eq!(
            available(&state(Status::Registered), &official()),
            vec!["take_into_work", "redirect", "reject"]
        );
        assert_eq!(
            available(&state(Status::InProgress), &official()),
            vec![
                "intermediate_answer",
                "answer",
                "redirect",
                "reject",
                "request_clarification"
            ]
        );
        assert_eq!(
            available(&state(Status::Registered), &coordinator()),
            vec!["redirect", "reject", "recategorise"]
        );
        assert!(available(&state(Status::Registered), &analyst()).is_empty());
        assert_eq!(
            available(&state(Status::Answered), &citizen()),
            vec!["rate"]
        );
        let low = SubmissionState {
            rating: Some(score(1)),
            ..state(Status::Rated)
        };
        assert_eq!(available(&low, &citizen()), vec!["send_back"]);
        assert!(available(&state(Status::InProgress), &stranger_official()).is_empty());
        assert_eq!(
            available(&state(Status::Registered), &operator()),
            vec!["redirect", "recategorise"]
        );
    }

    #[test]
    fn visibility() {
        let s = state(Status::InProgress);
        assert!(can_view(&s, &citizen()));
        assert!(can_view(&s, &official()));
        assert!(can_view(&s, &operator()));
        assert!(!can_view(&s, &other_citizen()));
        assert!(!can_view(&s, &stranger_official()));
        assert!(can_view(&s, &coordinator()));
        assert!(!can_view(&s, &other_coordinator()));
        assert!(!can_view(&s, &analyst()));
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Ok(*s));
        }
        for g in RejectionGround::ALL {
            assert_eq!(RejectionGround::parse(g.as_str()), Ok(*g));
        }
        for e in EventKind::ALL {
            assert_eq!(EventKind::parse(e.as_str()), Ok(*e));
        }
        assert!(Status::parse("closed").is_err());
        assert_eq!(Score::parse("0"), Err("out_of_range"));
        assert_eq!(Score::parse("6"), Err("out_of_range"));
        assert_eq!(Score::parse("x"), Err("out_of_range"));
    }
}
