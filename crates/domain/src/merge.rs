//! Duplicates merged into one submission: several citizens report the same pothole, an
//! official merges their submissions into one (the primary), and one answer reaches every
//! author. Each duplicate keeps its own history, deadline and rating; it follows the
//! primary's taking into work and answers ([`followed`]) until the final answer reaches
//! it, when the link ends. [`decide_merge`] and [`decide_unmerge`] are the only places that
//! say when a merge is legal; [`crate::lifecycle::decide`] refuses what would split merged
//! submissions.

use crate::lifecycle::{Action, Actor, Merge, Role, Status, SubmissionState};
use crate::SubmissionId;

/// One side of a merge: a submission's id and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side {
    pub id: SubmissionId,
    pub state: SubmissionState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("this person may not merge these submissions")]
    Forbidden,
    #[error("a submission cannot be merged with itself")]
    SameSubmission,
    #[error("only submissions that are being worked on can be merged")]
    NotOpen,
    #[error("the submissions are held by different organisations")]
    DifferentOrganisation,
    #[error("the submission is already a duplicate of another")]
    AlreadyMerged,
    #[error("the chosen primary is itself a duplicate of another submission")]
    PrimaryIsDuplicate,
    #[error("the submission has duplicates of its own; separate them first")]
    HasDuplicates,
    #[error("the submission is not a duplicate of another")]
    NotMerged,
}

impl MergeError {
    pub fn code(self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::SameSubmission => "same_submission",
            Self::NotOpen => "not_open",
            Self::DifferentOrganisation => "different_organisation",
            Self::AlreadyMerged => "already_merged",
            Self::PrimaryIsDuplicate => "primary_is_duplicate",
            Self::HasDuplicates => "has_duplicates",
            Self::NotMerged => "not_merged",
        }
    }
}

/// Who merges: the officials of the holding organisation, and the coordinator of the
/// submission's region (who moderates it). The operator does not judge content.
fn may_merge(state: &SubmissionState, actor: &Actor) -> bool {
    actor.role.handling_org() == Some(state.org) && matches!(actor.role, Role::Official(_))
        || actor.role == Role::Coordinator(state.region)
}

/// Statuses a merge accepts on both sides: the organisation still owes an answer and is
/// not waiting for the citizen.
fn mergeable(status: Status) -> bool {
    matches!(
        status,
        Status::Registered | Status::InProgress | Status::Reopened
    )
}

/// May `actor` merge `duplicate` into `primary`?
pub fn decide_merge(primary: &Side, duplicate: &Side, actor: &Actor) -> Result<(), MergeError> {
    if !may_merge(&primary.state, actor) || !may_merge(&duplicate.state, actor) {
        return Err(MergeError::Forbidden);
    }
    if primary.id == duplicate.id {
        return Err(MergeError::SameSubmission);
    }
    if !mergeable(primary.state.status) || !mergeable(duplicate.state.status) {
        return Err(MergeError::NotOpen);
    }
    if primary.state.org != duplicate.state.org {
        return Err(MergeError::DifferentOrganisation);
    }
    match (primary.state.merge, duplicate.state.merge) {
        (_, Merge::DuplicateOf(_)) => Err(MergeError::AlreadyMerged),
        (Merge::DuplicateOf(_), _) => Err(MergeError::PrimaryIsDuplicate),
        (_, Merge::Primary) => Err(MergeError::HasDuplicates),
        _ => Ok(()),
    }
}

/// May `actor` separate `duplicate` from its primary? Returns the primary.
pub fn decide_unmerge(duplicate: &Side, actor: &Actor) -> Result<SubmissionId, MergeError> {
    if !may_merge(&duplicate.state, actor) {
        return Err(MergeError::Forbidden);
    }
    match duplicate.state.merge {
        Merge::DuplicateOf(primary) => Ok(primary),
        _ => Err(MergeError::NotMerged),
    }
}

/// What a duplicate in `duplicate`'s state does when its primary takes `action`: the
/// same taking into work and answers (intermediate and final), taking it into work first
/// when it was not yet. Everything else stays the primary's own; a duplicate that cannot
/// follow (waiting for its author's clarification) does nothing.
pub fn followed(action: &Action, duplicate: &SubmissionState) -> Vec<Action> {
    let waiting = matches!(duplicate.status, Status::Registered | Status::Reopened);
    match action {
        Action::TakeIntoWork if waiting => vec![Action::TakeIntoWork],
        Action::Answer { .. } | Action::PostIntermediateAnswer { .. } if waiting => {
            vec![Action::TakeIntoWork, action.clone()]
        }
        Action::Answer { .. } | Action::PostIntermediateAnswer { .. }
            if duplicate.status == Status::InProgress =>
        {
            vec![action.clone()]
        }
        _ => vec![],
    }
}

/// Does the primary's `action` end every merge with it? Its final answer does: each
/// duplicate then has its own answer to rate or send back.
pub fn ends_merge(action: &Action) -> bool {
    matches!(action, Action::Answer { .. })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::lifecycle::{decide, registered, SubmissionKind};
    use crate::text::AnswerText;
    use crate::{OrgId, RegionId, UserId};
    use proptest::prelude::*;

    const ORG: OrgId = OrgId(10);
    const REGION: RegionId = RegionId(69);

    fn side(id: i64, status: Status, merge: Merge) -> Side {
        let mut state = registered(SubmissionKind::Message, UserId(id), ORG, REGION);
        state.status = status;
        state.merge = merge;
        Side {
            id: SubmissionId(id),
            state,
        }
    }

    fn official(org: OrgId) -> Actor {
        Actor {
            user: UserId(500),
            role: Role::Official(org),
        }
    }

    fn answer() -> Action {
        Action::Answer {
            text: AnswerText::parse("Яма заделана.").expect("valid answer"),
        }
    }

    #[test]
    fn an_official_merges_two_open_submissions_of_their_organisation() {
        let primary = side(1, Status::InProgress, Merge::Alone);
        let duplicate = side(2, Status::Registered, Merge::Alone);
        assert_eq!(decide_merge(&primary, &duplicate, &official(ORG)), Ok(()));
        let coordinator = Actor {
            user: UserId(7),
            role: Role::Coordinator(REGION),
        };
        assert_eq!(decide_merge(&primary, &duplicate, &coordinator), Ok(()));
    }

    #[test]
    fn strangers_citizens_and_the_operator_may_not_merge() {
        let primary = side(1, Status::InProgress, Merge::Alone);
        let duplicate = side(2, Status::Registered, Merge::Alone);
        for role in [
            Role::Official(OrgId(11)),
            Role::Citizen,
            Role::Operator,
            Role::Analyst,
            Role::OrgAdmin(ORG),
            Role::Integration(ORG),
            Role::Coordinator(RegionId(70)),
        ] {
            let actor = Actor {
                user: UserId(1),
                role,
            };
            assert_eq!(
                decide_merge(&primary, &duplicate, &actor),
                Err(MergeError::Forbidden),
                "{role:?}"
            );
        }
    }

    #[test]
    fn merges_that_would_break_the_chain_are_refused() {
        let alone = side(1, Status::InProgress, Merge::Alone);
        let other = side(2, Status::Registered, Merge::Alone);
        let dup = side(3, Status::Registered, Merge::DuplicateOf(SubmissionId(9)));
        let primary = side(4, Status::InProgress, Merge::Primary);
        let answered = side(5, Status::Answered, Merge::Alone);
        let waiting = side(6, Status::AwaitingClarification, Merge::Alone);
        let o = official(ORG);
        assert_eq!(
            decide_merge(&alone, &alone, &o),
            Err(MergeError::SameSubmission)
        );
        assert_eq!(
            decide_merge(&alone, &dup, &o),
            Err(MergeError::AlreadyMerged)
        );
        assert_eq!(
            decide_merge(&dup, &alone, &o),
            Err(MergeError::PrimaryIsDuplicate)
        );
        assert_eq!(
            decide_merge(&alone, &primary, &o),
            Err(MergeError::HasDuplicates)
        );
        assert_eq!(decide_merge(&primary, &other, &o), Ok(()));
        assert_eq!(
            decide_merge(&answered, &other, &o),
            Err(MergeError::NotOpen)
        );
        assert_eq!(decide_merge(&alone, &waiting, &o), Err(MergeError::NotOpen));
        let mut elsewhere = side(7, Status::Registered, Merge::Alone);
        elsewhere.state.org = OrgId(11);
        let coordinator = Actor {
            user: UserId(7),
            role: Role::Coordinator(REGION),
        };
        assert_eq!(
            decide_merge(&alone, &elsewhere, &coordinator),
            Err(MergeError::DifferentOrganisation)
        );
    }

    #[test]
    fn unmerging_needs_a_duplicate() {
        let dup = side(3, Status::InProgress, Merge::DuplicateOf(SubmissionId(1)));
        assert_eq!(decide_unmerge(&dup, &official(ORG)), Ok(SubmissionId(1)));
        let alone = side(1, Status::InProgress, Merge::Alone);
        assert_eq!(
            decide_unmerge(&alone, &official(ORG)),
            Err(MergeError::NotMerged)
        );
        assert_eq!(
            decide_unmerge(&dup, &official(OrgId(11))),
            Err(MergeError::Forbidden)
        );
    }

    #[test]
    fn merged_submissions_are_not_moved_apart() {
        use crate::text::Reason;
        let reason = Reason::parse("не наш вопрос").expect("valid reason");
        let redirect = Action::Redirect {
            to: OrgId(11),
            reason: reason.clone(),
        };
        for merge in [Merge::Primary, Merge::DuplicateOf(SubmissionId(1))] {
            let s = side(2, Status::InProgress, merge).state;
            assert_eq!(
                decide(&s, &official(ORG), &redirect),
                Err(crate::lifecycle::TransitionError::Merged)
            );
        }
        let reject = Action::Reject {
            ground: crate::lifecycle::RejectionGround::ObsceneLanguage,
            comment: reason,
        };
        let primary = side(1, Status::InProgress, Merge::Primary).state;
        assert_eq!(
            decide(&primary, &official(ORG), &reject),
            Err(crate::lifecycle::TransitionError::Merged)
        );
        let duplicate = side(2, Status::InProgress, Merge::DuplicateOf(SubmissionId(1))).state;
        assert!(decide(&duplicate, &official(ORG), &reject).is_ok());
    }

    fn any_status() -> impl Strategy<Value = Status> {
        prop::sample::select(Status::ALL.to_vec())
    }

    proptest! {
        /// Whatever the duplicate's status, the actions it follows are legal for the
        /// primary's official in that order, and an answer always ends answered when the
        /// duplicate could be answered at all.
        #[test]
        fn followed_actions_are_legal_in_order(status in any_status(), final_answer in any::<bool>()) {
            let mut state = side(2, status, Merge::DuplicateOf(SubmissionId(1))).state;
            let action = if final_answer {
                answer()
            } else {
                Action::PostIntermediateAnswer { text: AnswerText::parse("Работы начаты.").expect("valid") }
            };
            let steps = followed(&action, &state);
            for step in &steps {
                let t = decide(&state, &official(ORG), step).expect("a followed step is legal");
                state.status = t.to;
            }
            let answerable = matches!(status, Status::Registered | Status::Reopened | Status::InProgress);
            prop_assert_eq!(!steps.is_empty(), answerable);
            if final_answer && answerable {
                prop_assert_eq!(state.status, Status::Answered);
            }
        }
    }
}
