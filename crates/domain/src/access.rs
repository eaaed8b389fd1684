//! Who may do what: the one policy every page and API handler asks.
//!
//! Handlers never test roles themselves. They name the [`Capability`] a route needs and
//! call [`check`]; for one particular submission they call [`view_submission`] and
//! [`handle_submission`], which add the API scopes to [`lifecycle::can_view`] and
//! [`lifecycle::decide`] (still the one authority on the status machine).
//!
//! Three things are checked, in this order: someone is signed in; the role may do it
//! (organisation and region scopes included); an integration client holds the API scope;
//! and the person's identity is verified enough for it (a 59-FZ appeal, a vote, a
//! signature).

use crate::lifecycle::{self, Actor, Role, SubmissionKind, SubmissionState};
use crate::{OrgId, RegionId};

/// How well a person's identity is established, as the identity provider says (ЕСИА:
/// simplified, standard, confirmed account). Ordered: `Verified` > `Standard` >
/// `Unverified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// Only an e-mail address or a phone number is known.
    Unverified,
    /// Identity documents were checked online (e.g. the insurance number against the
    /// pension fund).
    Standard,
    /// Identity confirmed in person, by a qualified signature, or by a bank.
    Verified,
}

impl Verification {
    pub const ALL: [Verification; 3] = [Self::Unverified, Self::Standard, Self::Verified];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unverified => "unverified",
            Self::Standard => "standard",
            Self::Verified => "verified",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// What an integration client's token may do. A person's session has no scopes: it may
/// do what the role may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiScope {
    /// Read the organisation's submissions (personal data included, logged).
    SubmissionsRead,
    /// Act on them: take into work, answer, redirect, request clarification.
    SubmissionsWrite,
}

impl ApiScope {
    pub const ALL: [ApiScope; 2] = [Self::SubmissionsRead, Self::SubmissionsWrite];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SubmissionsRead => "submissions:read",
            Self::SubmissionsWrite => "submissions:write",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Parses a space-separated scope list (OAuth 2.0 §3.3); `None` if any is unknown.
    pub fn parse_list(s: &str) -> Option<Vec<ApiScope>> {
        let mut scopes = Vec::new();
        for word in s.split_ascii_whitespace() {
            let scope = Self::parse(word)?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        Some(scopes)
    }

    pub fn join(scopes: &[ApiScope]) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Who is asking: the acting person or system, how verified they are, and (for an
/// integration client's token) the scopes it was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub actor: Actor,
    pub verification: Verification,
    /// `None` for a person; the granted scopes for an integration client.
    pub scopes: Option<Vec<ApiScope>>,
}

impl Principal {
    pub fn role(&self) -> Role {
        self.actor.role
    }

    fn has_scope(&self, scope: ApiScope) -> bool {
        self.scopes.as_ref().is_none_or(|s| s.contains(&scope))
    }
}

/// Something a route lets people do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Send a message or a 59-FZ appeal (citizens).
    Submit(SubmissionKind),
    /// Cast a ballot in a poll or vote (citizens; each poll sets the verification level
    /// it needs, verified unless it says otherwise).
    Vote,
    /// Run polls and votes: an organisation's officials and administrators for it, the
    /// operator for the platform.
    RunPolls,
    /// Sign an electronic document.
    Sign,
    /// See one's own account: verification, linked identities, who read one's data.
    OwnAccount,
    /// The citizen's list of their own submissions.
    ListOwn,
    /// An organisation's inbox (its officials and its systems).
    ListOrganisation,
    /// A region's coordination queue (its coordinator).
    ListRegion,
    /// Every submission (the operator).
    ListAll,
    /// Read monitoring and incidents: operator and analyst everywhere, a coordinator in
    /// the region. The analyst sees aggregates and no personal data.
    ReadMonitoring,
    /// Resolve incidents and note their cause (operator, coordinator).
    ManageIncidents,
    /// Read the analytics: an organisation's officials and administrator its own
    /// figures, a coordinator the region's, the operator and the analyst everything (the
    /// analyst in aggregates only, small groups suppressed).
    ReadAnalytics,
    /// Pull the service-quality feed (the operator, and the ministry's analyst for the
    /// federal quality-monitoring system).
    ReadQualityFeed,
    /// The social-media incident queue (requirement S1): the operator and the analyst
    /// everywhere, a coordinator the region's, an official the incidents routed to the
    /// organisation. What each may do to an incident is `social::decide`'s.
    ReadSocial,
    /// The platform's configuration: routing, organisations, catalogue, policies,
    /// calendars (the operator).
    Configure,
    /// An organisation's own administration: its officials, integration clients and
    /// widget sites (its administrator, and the operator).
    AdministerOrganisation(OrgId),
    /// Take the organisation's messages from the pull queue and acknowledge them (its
    /// integration clients, with the read scope).
    ReceiveDeliveries,
}

impl Capability {
    /// The least verification a person needs for this.
    pub fn min_verification(self) -> Verification {
        match self {
            Self::Submit(SubmissionKind::Appeal) => Verification::Standard,
            Self::Sign => Verification::Verified,
            _ => Verification::Unverified,
        }
    }

    /// The scope an integration client needs for this; `None` if no client may do it.
    fn api_scope(self) -> Option<ApiScope> {
        match self {
            Self::ListOrganisation | Self::ReceiveDeliveries => Some(ApiScope::SubmissionsRead),
            _ => None,
        }
    }
}

/// Why access is refused; each has a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// Nobody is signed in.
    SignInRequired,
    /// The role may not do this, or not in this organisation or region.
    Forbidden,
    /// The role may, but the person's identity must first reach this level.
    VerificationRequired(Verification),
    /// The integration client was not granted this scope.
    ScopeRequired(ApiScope),
}

impl Denied {
    pub fn code(self) -> &'static str {
        match self {
            Self::SignInRequired => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::VerificationRequired(Verification::Standard) => "verification_standard_required",
            Self::VerificationRequired(_) => "verification_verified_required",
            Self::ScopeRequired(_) => "insufficient_scope",
        }
    }
}

/// May `principal` (or an anonymous visitor, `None`) do `capability`?
pub fn check(principal: Option<&Principal>, capability: Capability) -> Result<(), Denied> {
    let principal = principal.ok_or(Denied::SignInRequired)?;
    if !role_may(principal.role(), capability) {
        return Err(Denied::Forbidden);
    }
    if principal.scopes.is_some() {
        match capability.api_scope() {
            Some(scope) if principal.has_scope(scope) => {}
            Some(scope) => return Err(Denied::ScopeRequired(scope)),
            None => return Err(Denied::Forbidden),
        }
    }
    let needed = capability.min_verification();
    if principal.verification < needed {
        return Err(Denied::VerificationRequired(needed));
    }
    Ok(())
}

/// The role-level part of [`check`] alone, for reads whose reach depends only on the
/// role (monitoring), where neither scopes nor verification apply.
pub fn check_role(role: Role, capability: Capability) -> Result<(), Denied> {
    if role_may(role, capability) {
        Ok(())
    } else {
        Err(Denied::Forbidden)
    }
}

/// May `principal` read submissions at all (before the store finds which)? An
/// integration client needs the read scope; everyone else is judged per submission.
pub fn read_submissions(principal: &Principal) -> Result<(), Denied> {
    if principal.has_scope(ApiScope::SubmissionsRead) {
        Ok(())
    } else {
        Err(Denied::ScopeRequired(ApiScope::SubmissionsRead))
    }
}

/// May `principal` read this submission, with the personal data in it?
pub fn view_submission(principal: &Principal, state: &SubmissionState) -> Result<(), Denied> {
    read_submissions(principal)?;
    if lifecycle::can_view(state, &principal.actor) {
        Ok(())
    } else {
        Err(Denied::Forbidden)
    }
}

/// May `principal` act on submissions at all (before `decide` judges the action)? An
/// integration client needs the write scope; everyone else is judged by `decide`.
pub fn handle_submission(principal: &Principal) -> Result<(), Denied> {
    if principal.has_scope(ApiScope::SubmissionsWrite) {
        Ok(())
    } else {
        Err(Denied::ScopeRequired(ApiScope::SubmissionsWrite))
    }
}

/// The region a role's reach is limited to, if any.
pub fn region_of(role: Role) -> Option<RegionId> {
    match role {
        Role::Coordinator(region) => Some(region),
        _ => None,
    }
}

/// The role-level rule, without verification or scopes.
fn role_may(role: Role, capability: Capability) -> bool {
    use Capability::*;
    match capability {
        Submit(_) | Vote | ListOwn => role == Role::Citizen,
        // Staff sign too (answers, documents); an integration client never signs.
        Sign => !matches!(role, Role::Integration(_) | Role::Analyst),
        OwnAccount => !matches!(role, Role::Integration(_)),
        ListOrganisation => role.handling_org().is_some(),
        ListRegion => matches!(role, Role::Coordinator(_)),
        ListAll | Configure => role == Role::Operator,
        ReadMonitoring => matches!(role, Role::Operator | Role::Analyst | Role::Coordinator(_)),
        ManageIncidents => matches!(role, Role::Operator | Role::Coordinator(_)),
        ReadAnalytics => !matches!(role, Role::Citizen | Role::Integration(_)),
        ReadQualityFeed => matches!(role, Role::Operator | Role::Analyst),
        ReadSocial => matches!(
            role,
            Role::Operator | Role::Analyst | Role::Coordinator(_) | Role::Official(_)
        ),
        AdministerOrganisation(org) => role == Role::Operator || role == Role::OrgAdmin(org),
        ReceiveDeliveries => matches!(role, Role::Integration(_)),
        RunPolls => matches!(role, Role::Official(_) | Role::OrgAdmin(_) | Role::Operator),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserId;

    const ORG: OrgId = OrgId(1);
    const OTHER: OrgId = OrgId(2);

    fn person(role: Role, verification: Verification) -> Principal {
        Principal {
            actor: Actor {
                user: UserId(7),
                role,
            },
            verification,
            scopes: None,
        }
    }

    #[test]
    fn anonymous_visitors_must_sign_in() {
        assert_eq!(
            check(None, Capability::ListOwn),
            Err(Denied::SignInRequired)
        );
    }

    #[test]
    fn appeals_need_a_standard_identity_and_signatures_a_verified_one() {
        let simple = person(Role::Citizen, Verification::Unverified);
        let standard = person(Role::Citizen, Verification::Standard);
        let verified = person(Role::Citizen, Verification::Verified);
        let message = Capability::Submit(SubmissionKind::Message);
        let appeal = Capability::Submit(SubmissionKind::Appeal);
        assert_eq!(check(Some(&simple), message), Ok(()));
        assert_eq!(
            check(Some(&simple), appeal),
            Err(Denied::VerificationRequired(Verification::Standard))
        );
        assert_eq!(check(Some(&standard), appeal), Ok(()));
        assert_eq!(
            check(Some(&standard), Capability::Sign),
            Err(Denied::VerificationRequired(Verification::Verified))
        );
        assert_eq!(check(Some(&verified), Capability::Sign), Ok(()));
        // Each poll sets the level its voters need (`poll::Eligibility`).
        assert_eq!(check(Some(&simple), Capability::Vote), Ok(()));
    }

    #[test]
    fn the_role_is_checked_before_the_verification() {
        let official = person(Role::Official(ORG), Verification::Unverified);
        assert_eq!(
            check(Some(&official), Capability::Submit(SubmissionKind::Appeal)),
            Err(Denied::Forbidden)
        );
    }

    #[test]
    fn organisation_administration_is_scoped_to_the_organisation() {
        let admin = person(Role::OrgAdmin(ORG), Verification::Verified);
        assert_eq!(
            check(Some(&admin), Capability::AdministerOrganisation(ORG)),
            Ok(())
        );
        assert_eq!(
            check(Some(&admin), Capability::AdministerOrganisation(OTHER)),
            Err(Denied::Forbidden)
        );
        let official = person(Role::Official(ORG), Verification::Verified);
        assert_eq!(
            check(Some(&official), Capability::AdministerOrganisation(ORG)),
            Err(Denied::Forbidden)
        );
        let operator = person(Role::Operator, Verification::Verified);
        assert_eq!(
            check(Some(&operator), Capability::AdministerOrganisation(OTHER)),
            Ok(())
        );
        // The administrator does not handle submissions.
        assert_eq!(
            check(Some(&admin), Capability::ListOrganisation),
            Err(Denied::Forbidden)
        );
    }

    #[test]
    fn integration_clients_are_limited_to_their_scopes() {
        let mut client = person(Role::Integration(ORG), Verification::Verified);
        client.scopes = Some(vec![ApiScope::SubmissionsRead]);
        assert_eq!(check(Some(&client), Capability::ListOrganisation), Ok(()));
        assert_eq!(
            handle_submission(&client),
            Err(Denied::ScopeRequired(ApiScope::SubmissionsWrite))
        );
        assert_eq!(
            check(Some(&client), Capability::OwnAccount),
            Err(Denied::Forbidden)
        );
        client.scopes = Some(vec![]);
        assert_eq!(
            check(Some(&client), Capability::ListOrganisation),
            Err(Denied::ScopeRequired(ApiScope::SubmissionsRead))
        );
        let official = person(Role::Official(ORG), Verification::Verified);
        assert_eq!(handle_submission(&official), Ok(()));
    }

    #[test]
    fn integration_clients_see_only_their_organisations_submissions() {
        let state = lifecycle::registered(SubmissionKind::Message, UserId(1), ORG, RegionId(69));
        let mut client = person(Role::Integration(ORG), Verification::Verified);
        client.scopes = Some(vec![ApiScope::SubmissionsRead]);
        assert_eq!(view_submission(&client, &state), Ok(()));
        let mut other = person(Role::Integration(OTHER), Verification::Verified);
        other.scopes = Some(vec![ApiScope::SubmissionsRead]);
        assert_eq!(view_submission(&other, &state), Err(Denied::Forbidden));
        let admin = person(Role::OrgAdmin(ORG), Verification::Verified);
        assert_eq!(view_submission(&admin, &state), Err(Denied::Forbidden));
    }

    #[test]
    fn only_integration_clients_with_the_read_scope_take_deliveries() {
        let mut client = person(Role::Integration(ORG), Verification::Verified);
        client.scopes = Some(vec![ApiScope::SubmissionsRead]);
        assert_eq!(check(Some(&client), Capability::ReceiveDeliveries), Ok(()));
        client.scopes = Some(vec![ApiScope::SubmissionsWrite]);
        assert_eq!(
            check(Some(&client), Capability::ReceiveDeliveries),
            Err(Denied::ScopeRequired(ApiScope::SubmissionsRead))
        );
        for role in [Role::Official(ORG), Role::OrgAdmin(ORG), Role::Operator] {
            let staff = person(role, Verification::Verified);
            assert_eq!(
                check(Some(&staff), Capability::ReceiveDeliveries),
                Err(Denied::Forbidden)
            );
        }
    }

    #[test]
    fn scope_lists_parse_strictly() {
        assert_eq!(
            ApiScope::parse_list("submissions:read submissions:write submissions:read"),
            Some(vec![ApiScope::SubmissionsRead, ApiScope::SubmissionsWrite])
        );
        assert_eq!(ApiScope::parse_list("submissions:delete"), None);
        assert_eq!(ApiScope::parse_list(""), Some(vec![]));
    }
}
