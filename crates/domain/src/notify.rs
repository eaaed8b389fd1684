//! Notifications and campaigns: which stages of a submission notify whom, through which
//! channels by default, what a person may choose, who a campaign reaches, and the states
//! a campaign moves through. Pure: the store keeps the outbox, the notify crate renders
//! and sends.

use crate::access::Verification;
use crate::lifecycle::EventKind;
use time::{Date, Month};

/// What a notification is about. Citizens' kinds follow their submission's stages;
/// staff kinds tell officials what needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotificationKind {
    // --- to the author of a submission
    Registered,
    TakenIntoWork,
    Redirected,
    Extended,
    IntermediateAnswer,
    ClarificationRequested,
    Answered,
    Rejected,
    /// The answer went back for re-review (the citizen sent it back, or the coordinator
    /// returned it to the organisation).
    ReturnedForReview,
    /// The submission was merged with a similar one; its answer will reach this author.
    Merged,
    /// A public message the person follows was answered.
    FollowedAnswered,
    /// A document waits for the person's (or their organisation's) signature.
    SigningRequest,
    /// A signed document was handed to the person (or their organisation).
    DocumentReceived,
    /// A document the person started finished its route: completed, declined or expired.
    DocumentOutcome,
    /// A poll the person voted in has its result (polls).
    PollResult,
    // --- to the officials of the organisation that holds a submission
    NewSubmission,
    CitizenReplied,
    DeadlineWarning,
    DeadlineBreach,
}

/// Who a kind is written for: it decides the defaults and which kinds a person sees in
/// their settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readers {
    Citizens,
    Staff,
    /// Citizens and staff alike (electronic documents: both sign and receive).
    Everyone,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 19] = [
        Self::Registered,
        Self::TakenIntoWork,
        Self::Redirected,
        Self::Extended,
        Self::IntermediateAnswer,
        Self::ClarificationRequested,
        Self::Answered,
        Self::Rejected,
        Self::ReturnedForReview,
        Self::Merged,
        Self::FollowedAnswered,
        Self::SigningRequest,
        Self::DocumentReceived,
        Self::DocumentOutcome,
        Self::PollResult,
        Self::NewSubmission,
        Self::CitizenReplied,
        Self::DeadlineWarning,
        Self::DeadlineBreach,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::TakenIntoWork => "taken_into_work",
            Self::Redirected => "redirected",
            Self::Extended => "extended",
            Self::IntermediateAnswer => "intermediate_answer",
            Self::ClarificationRequested => "clarification_requested",
            Self::Answered => "answered",
            Self::Rejected => "rejected",
            Self::ReturnedForReview => "returned_for_review",
            Self::Merged => "merged",
            Self::FollowedAnswered => "followed_answered",
            Self::SigningRequest => "signing_request",
            Self::DocumentReceived => "document_received",
            Self::DocumentOutcome => "document_outcome",
            Self::PollResult => "poll_result",
            Self::NewSubmission => "new_submission",
            Self::CitizenReplied => "citizen_replied",
            Self::DeadlineWarning => "deadline_warning",
            Self::DeadlineBreach => "deadline_breach",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw.trim())
            .ok_or("unknown_kind")
    }

    pub fn readers(self) -> Readers {
        match self {
            Self::NewSubmission
            | Self::CitizenReplied
            | Self::DeadlineWarning
            | Self::DeadlineBreach => Readers::Staff,
            Self::SigningRequest | Self::DocumentReceived | Self::DocumentOutcome => {
                Readers::Everyone
            }
            _ => Readers::Citizens,
        }
    }

    /// How a kind reaches a person who has not chosen: the notification centre always;
    /// e-mail at once for citizens and in a digest for staff (who may get dozens a
    /// day); the SMS/push gateway only when asked for.
    pub fn default_delivery(self, channel: Channel) -> Delivery {
        match (channel, self.readers()) {
            (Channel::Email, Readers::Citizens | Readers::Everyone) => Delivery::Immediate,
            (Channel::Email, Readers::Staff) => Delivery::Digest,
            (Channel::Gateway, _) => Delivery::Off,
        }
    }
}

/// The channels a person can choose for a kind. The notification centre of the personal
/// account is not among them: it always gets everything (it is the record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Email,
    /// A configurable webhook that sends SMS or push messages.
    Gateway,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Email, Channel::Gateway];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Gateway => "gateway",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim() {
            "email" => Ok(Self::Email),
            "gateway" => Ok(Self::Gateway),
            _ => Err("unknown_channel"),
        }
    }
}

/// How one kind reaches a person through one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    Off,
    Immediate,
    /// Collected and sent together, at most once per digest interval (e-mail only).
    Digest,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Immediate => "immediate",
            Self::Digest => "digest",
        }
    }

    /// Parses a choice for a channel: a digest exists only for e-mail.
    pub fn parse_for(raw: &str, channel: Channel) -> Result<Self, &'static str> {
        let delivery = match raw.trim() {
            "off" => Self::Off,
            "immediate" => Self::Immediate,
            "digest" => Self::Digest,
            _ => return Err("unknown_value"),
        };
        if delivery == Self::Digest && channel != Channel::Email {
            return Err("digest_email_only");
        }
        Ok(delivery)
    }
}

/// Whom an event of a submission concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressee {
    /// The citizen who wrote the submission.
    Author,
    /// The officials of the organisation that holds it after the event.
    Holder,
    /// The people who follow it (while it is public).
    Followers,
}

/// The notifications a recorded event causes. `rerouted` says the event moved the
/// submission to another organisation (a redirect or a new category), whose officials
/// then learn of a new submission.
pub fn for_event(event: EventKind, rerouted: bool) -> Vec<(Addressee, NotificationKind)> {
    use Addressee::{Author, Followers, Holder};
    use NotificationKind as K;
    let mut out = match event {
        EventKind::Registered => vec![(Author, K::Registered), (Holder, K::NewSubmission)],
        EventKind::TakenIntoWork => vec![(Author, K::TakenIntoWork)],
        EventKind::IntermediateAnswer => vec![(Author, K::IntermediateAnswer)],
        EventKind::Answered => vec![(Author, K::Answered), (Followers, K::FollowedAnswered)],
        EventKind::Rejected => vec![(Author, K::Rejected)],
        EventKind::Redirected => vec![(Author, K::Redirected)],
        EventKind::Recategorised if rerouted => vec![(Author, K::Redirected)],
        EventKind::Recategorised => vec![],
        EventKind::ClarificationRequested => vec![(Author, K::ClarificationRequested)],
        EventKind::Clarified | EventKind::Rated => vec![(Holder, K::CitizenReplied)],
        EventKind::SentBack => vec![(Author, K::ReturnedForReview), (Holder, K::CitizenReplied)],
        EventKind::AnswerReturned => vec![(Author, K::ReturnedForReview)],
        EventKind::Extended => vec![(Author, K::Extended)],
        EventKind::Merged => vec![(Author, K::Merged)],
        EventKind::MergedIn | EventKind::Unmerged => vec![],
    };
    if rerouted && !out.contains(&(Holder, K::NewSubmission)) {
        out.push((Holder, K::NewSubmission));
    }
    out
}

/// A phone number for the SMS gateway, kept as E.164 (`+` and 8 to 15 digits). Russian
/// numbers written `8 (912) 345-67-89` become `+79123456789`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("required");
        }
        if raw.len() > 32
            || !raw
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()".contains(c))
            || raw.chars().skip(1).any(|c| c == '+')
        {
            return Err("invalid_phone");
        }
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        let international = if raw.starts_with('+') {
            digits
        } else if digits.len() == 11 && digits.starts_with('8') {
            format!("7{}", &digits[1..])
        } else {
            return Err("invalid_phone");
        };
        if !(8..=15).contains(&international.len()) || international.starts_with('0') {
            return Err("invalid_phone");
        }
        Ok(Self(format!("+{international}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as shown back to its owner: the last four digits only.
    pub fn masked(&self) -> String {
        let tail: String = self
            .0
            .chars()
            .skip(self.0.len().saturating_sub(4))
            .collect();
        format!("•••{tail}")
    }
}

// --- campaigns -------------------------------------------------------------------------

/// The oldest age an audience may name.
pub const MAX_AGE: u16 = 120;

/// Who a campaign reaches: citizens with a deliverable e-mail who have not opted out,
/// narrowed by home region or municipality, age (on the day the campaign starts) and
/// verification level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    pub region: Option<crate::RegionId>,
    pub municipality: Option<crate::MunicipalityId>,
    pub min_age: Option<u16>,
    pub max_age: Option<u16>,
    pub min_verification: Option<Verification>,
}

impl Audience {
    /// Checks the bounds: ages up to `MAX_AGE`, the lower one not above the upper one.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        for (field, age) in [("min_age", self.min_age), ("max_age", self.max_age)] {
            if age.is_some_and(|age| age > MAX_AGE) {
                return Err((field, "out_of_range"));
            }
        }
        if let (Some(min), Some(max)) = (self.min_age, self.max_age) {
            if min > max {
                return Err(("max_age", "below_min_age"));
            }
        }
        Ok(())
    }

    /// The birth dates the ages mean on `today`, as an inclusive range (earliest,
    /// latest): someone is `min_age` or older when born on or before the latest date,
    /// and `max_age` or younger when born on or after the earliest.
    pub fn birth_dates(&self, today: Date) -> (Option<Date>, Option<Date>) {
        let latest = self.min_age.map(|age| years_before(today, i32::from(age)));
        let earliest = self
            .max_age
            .and_then(|age| years_before(today, i32::from(age) + 1).next_day());
        (earliest, latest)
    }
}

/// The same day `years` earlier; 29 February becomes 28 February in a common year.
fn years_before(day: Date, years: i32) -> Date {
    let year = day.year() - years;
    Date::from_calendar_date(year, day.month(), day.day())
        .or_else(|_| Date::from_calendar_date(year, Month::February, 28))
        .unwrap_or(Date::MIN)
}

/// A person's age in whole years on `today`.
pub fn age_on(birth: Date, today: Date) -> i32 {
    let mut age = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        age -= 1;
    }
    age
}

/// How fast a campaign sends: messages per second, 1 to 1,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendRate(u16);

impl SendRate {
    pub const MAX: u16 = 1000;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim().parse::<u16>() {
            Ok(rate) if (1..=Self::MAX).contains(&rate) => Ok(Self(rate)),
            Ok(_) => Err("out_of_range"),
            Err(_) if raw.trim().is_empty() => Err("required"),
            Err(_) => Err("not_a_number"),
        }
    }

    pub fn new(rate: u16) -> Option<Self> {
        (1..=Self::MAX).contains(&rate).then_some(Self(rate))
    }

    pub fn per_second(self) -> u16 {
        self.0
    }
}

/// Where a campaign stands. Draft → running ⇄ paused → finished; a draft or a paused
/// campaign may be cancelled. The recipients are fixed when it first starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignStatus {
    Draft,
    Running,
    Paused,
    Finished,
    Cancelled,
}

/// What the operator does to a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignCommand {
    Start,
    Pause,
    Resume,
    Cancel,
}

impl CampaignCommand {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim() {
            "start" => Ok(Self::Start),
            "pause" => Ok(Self::Pause),
            "resume" => Ok(Self::Resume),
            "cancel" => Ok(Self::Cancel),
            _ => Err("unknown_command"),
        }
    }
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Finished => "finished",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw {
            "draft" => Ok(Self::Draft),
            "running" => Ok(Self::Running),
            "paused" => Ok(Self::Paused),
            "finished" => Ok(Self::Finished),
            "cancelled" => Ok(Self::Cancelled),
            _ => Err("unknown_status"),
        }
    }

    /// The status a command leads to, or why it may not be given now.
    pub fn after(self, command: CampaignCommand) -> Result<Self, &'static str> {
        use CampaignCommand as C;
        match (self, command) {
            (Self::Draft, C::Start) => Ok(Self::Running),
            (Self::Running, C::Pause) => Ok(Self::Paused),
            (Self::Paused, C::Resume) => Ok(Self::Running),
            (Self::Draft | Self::Paused, C::Cancel) => Ok(Self::Cancelled),
            _ => Err("campaign_command_not_allowed"),
        }
    }

    /// The commands to offer in this status.
    pub fn available(self) -> Vec<CampaignCommand> {
        [
            CampaignCommand::Start,
            CampaignCommand::Pause,
            CampaignCommand::Resume,
            CampaignCommand::Cancel,
        ]
        .into_iter()
        .filter(|command| self.after(*command).is_ok())
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    #[test]
    fn every_event_reaches_someone_except_a_plain_recategorisation() {
        use EventKind::*;
        for event in [
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
        ] {
            assert!(!for_event(event, false).is_empty(), "{event:?}");
        }
        assert!(for_event(Recategorised, false).is_empty());
        assert_eq!(
            for_event(Redirected, true),
            vec![
                (Addressee::Author, NotificationKind::Redirected),
                (Addressee::Holder, NotificationKind::NewSubmission)
            ]
        );
        assert_eq!(
            for_event(Registered, false)
                .iter()
                .filter(|(_, k)| *k == NotificationKind::NewSubmission)
                .count(),
            1
        );
    }

    #[test]
    fn kinds_round_trip_and_defaults_follow_readers() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Ok(kind));
            assert_eq!(kind.default_delivery(Channel::Gateway), Delivery::Off);
        }
        assert_eq!(
            NotificationKind::DeadlineBreach.default_delivery(Channel::Email),
            Delivery::Digest
        );
        assert_eq!(
            NotificationKind::Answered.default_delivery(Channel::Email),
            Delivery::Immediate
        );
        assert_eq!(
            Delivery::parse_for("digest", Channel::Gateway),
            Err("digest_email_only")
        );
    }

    #[test]
    fn phone_numbers() {
        let ok = PhoneNumber::parse("8 (912) 345-67-89").map(|p| p.as_str().to_owned());
        assert_eq!(ok.as_deref(), Ok("+79123456789"));
        assert_eq!(
            PhoneNumber::parse("+44 20 7946 0958").map(|p| p.masked()),
            Ok("•••0958".to_owned())
        );
        for bad in [
            "",
            "912",
            "+7 912 abc",
            "++79123456789",
            "+0123456789",
            "1234567",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn campaign_commands() {
        use CampaignCommand::*;
        use CampaignStatus::*;
        assert_eq!(Draft.after(Start), Ok(Running));
        assert_eq!(Running.after(Pause), Ok(Paused));
        assert_eq!(Paused.after(Resume), Ok(Running));
        assert!(Running.after(Cancel).is_err());
        assert!(Finished.after(Resume).is_err());
        assert_eq!(Draft.available(), vec![Start, Cancel]);
        assert!(Finished.available().is_empty());
    }

    #[test]
    fn audience_bounds_are_checked() {
        let audience = Audience {
            min_age: Some(40),
            max_age: Some(30),
            ..Audience::default()
        };
        assert_eq!(audience.check(), Err(("max_age", "below_min_age")));
        let audience = Audience {
            max_age: Some(121),
            ..Audience::default()
        };
        assert!(audience.check().is_err());
        assert_eq!(
            Audience {
                min_age: Some(18),
                max_age: Some(18),
                ..Audience::default()
            }
            .birth_dates(date!(2026 - 12 - 05)),
            (Some(date!(2007 - 12 - 06)), Some(date!(2008 - 12 - 05)))
        );
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (1900i32..2030, 1u8..=12, 1u8..=31).prop_filter_map("a real date", |(y, m, d)| {
            Month::try_from(m)
                .ok()
                .and_then(|m| Date::from_calendar_date(y, m, d).ok())
        })
    }

    proptest! {
        /// The birth-date range an audience computes holds exactly the people whose
        /// age on that day lies within its bounds.
        #[test]
        fn birth_date_range_matches_ages(
            birth in any_date(),
            today in any_date(),
            min in 0u16..100,
            span in 0u16..30,
        ) {
            prop_assume!(birth <= today);
            let audience = Audience { min_age: Some(min), max_age: Some(min + span), ..Audience::default() };
            let (earliest, latest) = audience.birth_dates(today);
            let in_range = earliest.is_none_or(|e| birth >= e) && latest.is_none_or(|l| birth <= l);
            let age = age_on(birth, today);
            let wanted = age >= i32::from(min) && age <= i32::from(min + span);
            prop_assert_eq!(in_range, wanted, "age {} on {}", age, today);
        }

        #[test]
        fn phone_parse_is_idempotent(digits in "[1-9][0-9]{7,14}") {
            let phone = PhoneNumber::parse(&format!("+{digits}")).map_err(TestCaseError::fail)?;
            prop_assert_eq!(PhoneNumber::parse(phone.as_str()), Ok(phone.clone()));
        }
    }
}
