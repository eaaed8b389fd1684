//! Social-media incidents (requirement S1): posts about one problem in one place, grouped,
//! routed to the competent body like a submission, and answered publicly within a term
//! (24 hours by default). This module is the one authority on what may happen to an
//! incident and who may do it.
//!
//! An incident is open until it is answered (the answer goes back under its posts),
//! dismissed (not a problem for a public body: the reason is kept), or merged into another
//! open incident (its posts move there). Only an open incident can be acted on.

use crate::lifecycle::Role;
use crate::{OrgId, RegionId};

/// The default term of a public answer.
pub const DEFAULT_ANSWER_HOURS: u32 = 24;
/// Posts join an open incident of the same subcategory and place if the incident saw a
/// post within this many hours.
pub const DEFAULT_CLUSTER_HOURS: u32 = 72;
/// Longest public answer, in characters.
pub const MAX_ANSWER_CHARS: usize = 4_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentStatus {
    Open,
    Answered,
    Dismissed,
    Merged,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 4] =
        [Self::Open, Self::Answered, Self::Dismissed, Self::Merged];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Answered => "answered",
            Self::Dismissed => "dismissed",
            Self::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The status as the queue shows it.
    pub fn title_ru(self) -> &'static str {
        match self {
            Self::Open => "Ждёт ответа",
            Self::Answered => "Ответ опубликован",
            Self::Dismissed => "Отклонён",
            Self::Merged => "Объединён",
        }
    }
}

/// Why an incident is dismissed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DismissReason {
    /// Not about the work of a public body (the classifier was wrong).
    NotRelevant,
    /// Advertising, bots, a copy-paste campaign without a real problem.
    Spam,
    /// The problem is already solved or did not exist.
    NoProblem,
}

impl DismissReason {
    pub const ALL: [DismissReason; 3] = [Self::NotRelevant, Self::Spam, Self::NoProblem];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotRelevant => "not_relevant",
            Self::Spam => "spam",
            Self::NoProblem => "no_problem",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn title_ru(self) -> &'static str {
        match self {
            Self::NotRelevant => "Не относится к работе органов власти",
            Self::Spam => "Спам или вброс",
            Self::NoProblem => "Проблемы нет или она уже решена",
        }
    }
}

/// What someone wants to do with an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentAction {
    Answer,
    Dismiss,
    Reroute,
    Merge,
    Split,
}

impl IncidentAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answer => "answer",
            Self::Dismiss => "dismiss",
            Self::Reroute => "reroute",
            Self::Merge => "merge",
            Self::Split => "split",
        }
    }
}

/// Why an action is refused; each has a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    #[error("this person may not do that to this incident")]
    Forbidden,
    #[error("the incident is {0}; only an open incident can be acted on")]
    NotOpen(&'static str),
    #[error("an incident cannot be merged into itself")]
    MergeIntoItself,
    #[error("a split must leave posts on both sides")]
    SplitNothing,
}

impl IncidentError {
    pub fn code(self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::NotOpen(_) => "incident_not_open",
            Self::MergeIntoItself => "merge_into_itself",
            Self::SplitNothing => "split_nothing",
        }
    }
}

/// What the rules need to know of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentScope {
    pub status: IncidentStatus,
    /// The region the incident was located in (`None`: not located; the operator's).
    pub region: Option<RegionId>,
    /// The organisation it is routed to.
    pub org: Option<OrgId>,
}

/// May `role` see this incident (its posts are public, so the reach is the role's)?
pub fn can_view(role: Role, scope: &IncidentScope) -> bool {
    match role {
        Role::Operator | Role::Analyst => true,
        Role::Coordinator(region) => scope.region == Some(region),
        Role::Official(org) => scope.org == Some(org),
        Role::Citizen | Role::OrgAdmin(_) | Role::Integration(_) => false,
    }
}

/// May `role` do `action` to this incident now?
pub fn decide(
    role: Role,
    action: IncidentAction,
    scope: &IncidentScope,
) -> Result<(), IncidentError> {
    let coordinates = match role {
        Role::Operator => true,
        Role::Coordinator(region) => scope.region == Some(region),
        _ => false,
    };
    let allowed = match action {
        // The body it is routed to answers; a coordinator may answer on its behalf.
        IncidentAction::Answer => {
            coordinates || matches!(role, Role::Official(org) if scope.org == Some(org))
        }
        IncidentAction::Dismiss
        | IncidentAction::Reroute
        | IncidentAction::Merge
        | IncidentAction::Split => coordinates,
    };
    if !allowed {
        return Err(IncidentError::Forbidden);
    }
    match scope.status {
        IncidentStatus::Open => Ok(()),
        other => Err(IncidentError::NotOpen(other.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGION: RegionId = RegionId(5);
    const ORG: OrgId = OrgId(9);

    fn open() -> IncidentScope {
        IncidentScope {
            status: IncidentStatus::Open,
            region: Some(REGION),
            org: Some(ORG),
        }
    }

    #[test]
    fn the_routed_body_answers_and_the_region_coordinates() {
        let scope = open();
        assert_eq!(
            decide(Role::Official(ORG), IncidentAction::Answer, &scope),
            Ok(())
        );
        assert_eq!(
            decide(Role::Official(ORG), IncidentAction::Dismiss, &scope),
            Err(IncidentError::Forbidden)
        );
        assert_eq!(
            decide(Role::Official(OrgId(1)), IncidentAction::Answer, &scope),
            Err(IncidentError::Forbidden)
        );
        for action in [
            IncidentAction::Answer,
            IncidentAction::Dismiss,
            IncidentAction::Reroute,
            IncidentAction::Merge,
            IncidentAction::Split,
        ] {
            assert_eq!(decide(Role::Coordinator(REGION), action, &scope), Ok(()));
            assert_eq!(decide(Role::Operator, action, &scope), Ok(()));
            assert_eq!(
                decide(Role::Coordinator(RegionId(6)), action, &scope),
                Err(IncidentError::Forbidden)
            );
            assert_eq!(
                decide(Role::Analyst, action, &scope),
                Err(IncidentError::Forbidden)
            );
        }
    }

    #[test]
    fn only_open_incidents_are_acted_on() {
        for status in [
            IncidentStatus::Answered,
            IncidentStatus::Dismissed,
            IncidentStatus::Merged,
        ] {
            let scope = IncidentScope { status, ..open() };
            assert_eq!(
                decide(Role::Operator, IncidentAction::Answer, &scope),
                Err(IncidentError::NotOpen(status.as_str()))
            );
        }
    }

    #[test]
    fn reach_follows_the_role() {
        let scope = open();
        assert!(can_view(Role::Analyst, &scope));
        assert!(can_view(Role::Coordinator(REGION), &scope));
        assert!(!can_view(Role::Coordinator(RegionId(6)), &scope));
        assert!(can_view(Role::Official(ORG), &scope));
        assert!(!can_view(Role::Citizen, &scope));
        let unlocated = IncidentScope {
            region: None,
            org: None,
            ..scope
        };
        assert!(!can_view(Role::Coordinator(REGION), &unlocated));
        assert!(can_view(Role::Operator, &unlocated));
    }

    #[test]
    fn codes_round_trip() {
        for s in IncidentStatus::ALL {
            assert_eq!(IncidentStatus::parse(s.as_str()), Some(s));
        }
        for r in DismissReason::ALL {
            assert_eq!(DismissReason::parse(r.as_str()), Some(r));
        }
    }
}
