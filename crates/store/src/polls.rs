//! Polls and votes as the store keeps them (`Polls`, implemented in `polls_sql.rs`).

use otklik_domain::access::Verification;
use otklik_domain::poll::{
    AgeGroup, Ballot, BallotId, Eligibility, PollKind, PollSpec, ResultsPolicy, Schedule,
    VoterFacts,
};
use otklik_domain::{OrgId, PollId, RegionId, UserId};
use time::{Date, OffsetDateTime, UtcOffset};

/// A poll to create (every part already checked by the domain).
#[derive(Debug, Clone)]
pub struct NewPoll {
    /// `None`: the operator's own poll.
    pub org: Option<OrgId>,
    pub title: String,
    pub description: String,
    pub spec: PollSpec,
    pub eligibility: Eligibility,
    pub offset: UtcOffset,
    pub schedule: Schedule,
    pub results: ResultsPolicy,
    pub by: UserId,
}

/// A poll as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PollRecord {
    pub id: PollId,
    pub org: Option<OrgId>,
    pub org_name: Option<String>,
    pub title: String,
    pub description: String,
    pub spec: PollSpec,
    pub eligibility: Eligibility,
    pub offset: UtcOffset,
    pub schedule: Schedule,
    pub results: ResultsPolicy,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    pub cancelled_at: Option<OffsetDateTime>,
    /// Ballots in the box (the size of the poll's log).
    pub ballots: u64,
    /// The number of ballots, once the poll is finalised.
    pub final_size: Option<u64>,
    /// The signed head of the final tree (the definition, then the ballots by id).
    pub final_head: Option<otklik_log::SignedTreeHead>,
}

impl PollRecord {
    pub fn kind(&self) -> PollKind {
        self.spec.kind()
    }

    /// The poll's local date at `now` (its territory's offset).
    pub fn local_date(&self, now: OffsetDateTime) -> Date {
        now.to_offset(self.offset).date()
    }
}

/// Which polls to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct PollFilter {
    /// Only this organisation's (`Some(None)`: only the operator's).
    pub org: Option<Option<OrgId>>,
    /// Only polls open at this instant (not cancelled).
    pub open_at: Option<OffsetDateTime>,
    /// Only polls a resident of this region may see: for the whole country or the region.
    pub region: Option<Option<RegionId>>,
}

/// What the profile says about a voter, and the keys the voter roll knows them by: the
/// account (`u:`), and the identity provider's key of the person (`k:`) when the account
/// has one. A ballot takes a roll row for every key, so neither a second account of the
/// same person nor an identity linked to the account after voting votes again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voter {
    pub keys: Vec<String>,
    pub facts: VoterFacts,
}

/// How a ballot was cast: which channel, for the breakdowns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BallotChannel {
    Web,
    Widget,
    Api,
}

impl BallotChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Widget => "widget",
            Self::Api => "api",
        }
    }
}

/// One ballot to put in the box.
#[derive(Debug, Clone)]
pub struct NewBallot {
    pub poll: PollId,
    /// The voter's roll keys (`Voter::keys`).
    pub voter_keys: Vec<String>,
    pub ballot: Ballot,
    /// Free-text answers (question, text), stored apart from the ballot.
    pub texts: Vec<(u16, String)>,
    pub region: Option<RegionId>,
    pub age_group: AgeGroup,
    pub channel: BallotChannel,
}

/// What happened to one ballot of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CastOutcome {
    /// In the box, as leaf `leaf_index` of the poll's log.
    Cast {
        ballot_id: BallotId,
        leaf_index: u64,
    },
    /// This person has already voted in this poll: nothing was written.
    AlreadyVoted,
    /// The poll is not open (not yet, closed, or cancelled): nothing was written.
    NotOpen,
    /// No such poll.
    UnknownPoll,
}

/// One running count (see `poll_counts` in the migration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollCount {
    pub dimension: String,
    pub value: String,
    /// -1: the number of ballots.
    pub question: i32,
    pub slot: u32,
    pub count: u64,
}

/// A ballot's receipt: where it is in the poll's log, proven against a signed head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BallotReceipt {
    pub poll: PollId,
    pub ballot_id: BallotId,
    pub answers: Ballot,
    pub proof: crate::InclusionProof,
    pub head: otklik_log::SignedTreeHead,
}

pub(crate) fn verification_of(raw: &str) -> crate::StoreResult<Verification> {
    Verification::ALL
        .into_iter()
        .find(|v| v.as_str() == raw)
        .ok_or_else(|| crate::common::corrupt("verification"))
}

/// A photo of an option of a choice question (a vote's project, a survey's answer) to
/// store (checked and stripped by `otklik_domain::attachment::Attachment::parse_image`).
#[derive(Clone)]
pub struct NewOptionPhoto {
    /// The question (0-based; a vote's one question is 0).
    pub question: u16,
    pub option: u16,
    pub name: String,
    pub mime: String,
    pub bytes: Vec<u8>,
    pub by: UserId,
}

impl std::fmt::Debug for NewOptionPhoto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOptionPhoto")
            .field("question", &self.question)
            .field("option", &self.option)
            .field("name", &self.name)
            .field("mime", &self.mime)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// A stored photo of a choice question's option, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionPhoto {
    pub id: i64,
    pub poll: PollId,
    pub question: u16,
    pub option: u16,
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
}

/// A photo with its bytes, to serve.
#[derive(Clone)]
pub struct OptionPhotoFile {
    pub meta: OptionPhoto,
    pub bytes: Vec<u8>,
}

impl OptionPhoto {
    /// The question and option it shows.
    pub fn slot(&self) -> otklik_domain::poll::PhotoSlot {
        otklik_domain::poll::PhotoSlot {
            question: self.question,
            option: self.option,
        }
    }
}
