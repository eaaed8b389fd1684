//! Polls and votes: what a poll asks, who may take part, when, what a valid ballot is,
//! and how ballots are counted. Pure: the store keeps the voter roll and the ballot box
//! apart, the log crate proves inclusion; this module decides validity and arithmetic.
//!
//! - A **survey** asks up to [`MAX_QUESTIONS`] questions: single choice, multiple choice
//!   (up to K), a scale, a full ranking, free text; a question may be shown only when an
//!   earlier single/multiple-choice answer includes a given option.
//! - A **vote** asks one question: choose up to K of N options (projects).
//! - A ballot's free-text answers are not part of the ballot: the ballot records only
//!   that the question was answered, and the texts are kept on their own, linked to
//!   neither the voter nor the ballot (see `docs/POLLS.md`).

use crate::access::Verification;
use crate::{MunicipalityId, RegionId};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

pub const MAX_QUESTIONS: usize = 50;
pub const MAX_OPTIONS: usize = 200;
pub const MAX_TEXT_ANSWER: u16 = 5000;
/// Breakdowns (by territory, age group, channel) show only groups of at least this many
/// ballots, so that a small group's choices cannot be singled out.
pub const MIN_GROUP: u64 = 10;
/// The slot of a question's tally that counts the ballots answering it.
pub const ANSWERED_SLOT: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PollKind {
    /// Questions of any type (a survey).
    Survey,
    /// Choose up to K of N options (e.g. improvement projects).
    Vote,
}

impl PollKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Survey => "survey",
            Self::Vote => "vote",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "survey" => Some(Self::Survey),
            "vote" => Some(Self::Vote),
            _ => None,
        }
    }
}

/// When results may be seen: while the poll runs, or only after it closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultsPolicy {
    Live,
    Embargoed,
}

impl ResultsPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Embargoed => "embargoed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "live" => Some(Self::Live),
            "embargoed" => Some(Self::Embargoed),
            _ => None,
        }
    }
}

/// One option of a choice, ranking or vote: a title, and for a project its description
/// and location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionSpec {
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Latitude and longitude in millionths of a degree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat_e6: i32,
    pub lon_e6: i32,
}

impl GeoPoint {
    /// `"55.7558, 37.6173"` → a point; latitude within ±90, longitude within ±180.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let (lat, lon) = raw.split_once(',').ok_or("not_a_location")?;
        let degrees = |s: &str, limit: f64| -> Result<i32, &'static str> {
            let value: f64 = s.trim().parse().map_err(|_| "not_a_location")?;
            if !value.is_finite() || value.abs() > limit {
                return Err("out_of_range");
            }
            // Bounded by ±180e6 above, so the cast cannot overflow.
            Ok((value * 1e6).round() as i32)
        };
        Ok(Self {
            lat_e6: degrees(lat, 90.0)?,
            lon_e6: degrees(lon, 180.0)?,
        })
    }
}

impl std::fmt::Display for GeoPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let part = |v: i32| {
            let sign = if v < 0 { "-" } else { "" };
            format!(
                "{sign}{}.{:06}",
                v.unsigned_abs() / 1_000_000,
                v.unsigned_abs() % 1_000_000
            )
        };
        write!(f, "{}, {}", part(self.lat_e6), part(self.lon_e6))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    Single {
        options: Vec<OptionSpec>,
    },
    /// Choose one to `max` options.
    Multiple {
        options: Vec<OptionSpec>,
        max: u16,
    },
    /// A whole number from `min` to `max` (0 ≤ min < max ≤ 10).
    Scale {
        min: u8,
        max: u8,
    },
    /// Put every option in order of preference.
    Ranking {
        options: Vec<OptionSpec>,
    },
    FreeText {
        max_chars: u16,
    },
}

impl QuestionKind {
    pub fn options(&self) -> &[OptionSpec] {
        match self {
            Self::Single { options }
            | Self::Multiple { options, .. }
            | Self::Ranking { options } => options,
            Self::Scale { .. } | Self::FreeText { .. } => &[],
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Single { .. } => "single",
            Self::Multiple { .. } => "multiple",
            Self::Scale { .. } => "scale",
            Self::Ranking { .. } => "ranking",
            Self::FreeText { .. } => "free_text",
        }
    }
}

/// Show a question only when the answer to an earlier choice question includes an option
/// (0-based indexes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub question: u16,
    pub option: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub text: String,
    #[serde(flatten)]
    pub kind: QuestionKind,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_if: Option<Condition>,
}

fn yes() -> bool {
    true
}

/// A checked poll: its kind and questions. Only [`PollSpec::new`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PollSpec {
    kind: PollKind,
    questions: Vec<Question>,
}

/// Why a poll definition was refused: the question (0-based, when one is at fault) and a
/// stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecError {
    pub question: Option<usize>,
    pub code: &'static str,
}

fn spec_error(question: usize, code: &'static str) -> SpecError {
    SpecError {
        question: Some(question),
        code,
    }
}

impl PollSpec {
    /// Checks a definition: 1–50 questions (a vote: exactly one single or multiple
    /// choice), texts of sane length, 2–200 options with distinct titles, `max` within
    /// the options, scales within 0–10, free text up to 5 000 characters, and conditions
    /// that point back at an existing option of an earlier choice question.
    pub fn new(kind: PollKind, questions: Vec<Question>) -> Result<Self, SpecError> {
        if questions.is_empty() {
            return Err(SpecError {
                question: None,
                code: "no_questions",
            });
        }
        if questions.len() > MAX_QUESTIONS {
            return Err(SpecError {
                question: None,
                code: "too_many_questions",
            });
        }
        let mut checked = Vec::with_capacity(questions.len());
        for (i, question) in questions.into_iter().enumerate() {
            let question = check_question(i, question, &checked)?;
            checked.push(question);
        }
        if kind == PollKind::Vote {
            let fits = checked.len() == 1
                && matches!(
                    checked[0].kind,
                    QuestionKind::Single { .. } | QuestionKind::Multiple { .. }
                );
            if !fits {
                return Err(SpecError {
                    question: None,
                    code: "vote_needs_one_choice_question",
                });
            }
        }
        Ok(Self {
            kind,
            questions: checked,
        })
    }

    pub fn kind(&self) -> PollKind {
        self.kind
    }

    pub fn questions(&self) -> &[Question] {
        &self.questions
    }

    /// The definition as stored: JSON of the questions.
    pub fn questions_json(&self) -> String {
        serde_json::to_string(&self.questions).unwrap_or_else(|_| "[]".to_owned())
    }

    /// Reads back a stored definition (checked again).
    pub fn from_json(kind: PollKind, json: &str) -> Result<Self, SpecError> {
        let questions: Vec<Question> = serde_json::from_str(json).map_err(|_| SpecError {
            question: None,
            code: "malformed",
        })?;
        Self::new(kind, questions)
    }
}

fn check_text(raw: &str, max: usize) -> Result<String, &'static str> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("required");
    }
    if text.chars().count() > max {
        return Err("too_long");
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err("control_characters");
    }
    Ok(text.to_owned())
}

fn check_options(i: usize, options: Vec<OptionSpec>) -> Result<Vec<OptionSpec>, SpecError> {
    if options.len() < 2 {
        return Err(spec_error(i, "too_few_options"));
    }
    if options.len() > MAX_OPTIONS {
        return Err(spec_error(i, "too_many_poll_options"));
    }
    let mut checked: Vec<OptionSpec> = Vec::with_capacity(options.len());
    for option in options {
        let title = check_text(&option.title, 300).map_err(|code| {
            spec_error(
                i,
                if code == "required" {
                    "empty_option"
                } else {
                    code
                },
            )
        })?;
        if checked.iter().any(|o| o.title == title) {
            return Err(spec_error(i, "duplicate_option"));
        }
        let description = match option.description.trim() {
            "" => String::new(),
            raw => check_text(raw, 2000).map_err(|code| spec_error(i, code))?,
        };
        // A location sent as JSON is held to the same bounds as the text form's.
        if let Some(at) = option.location {
            if at.lat_e6.unsigned_abs() > 90_000_000 || at.lon_e6.unsigned_abs() > 180_000_000 {
                return Err(spec_error(i, "out_of_range"));
            }
        }
        checked.push(OptionSpec {
            title,
            description,
            location: option.location,
        });
    }
    Ok(checked)
}

fn check_question(i: usize, q: Question, earlier: &[Question]) -> Result<Question, SpecError> {
    let text = check_text(&q.text, 1000).map_err(|code| spec_error(i, code))?;
    let kind = match q.kind {
        QuestionKind::Single { options } => QuestionKind::Single {
            options: check_options(i, options)?,
        },
        QuestionKind::Multiple { options, max } => {
            let options = check_options(i, options)?;
            if max == 0 || usize::from(max) > options.len() {
                return Err(spec_error(i, "max_out_of_range"));
            }
            QuestionKind::Multiple { options, max }
        }
        QuestionKind::Scale { min, max } => {
            if min >= max || max > 10 {
                return Err(spec_error(i, "scale_out_of_range"));
            }
            QuestionKind::Scale { min, max }
        }
        QuestionKind::Ranking { options } => {
            let options = check_options(i, options)?;
            if options.len() > 20 {
                return Err(spec_error(i, "too_many_to_rank"));
            }
            QuestionKind::Ranking { options }
        }
        QuestionKind::FreeText { max_chars } => {
            if max_chars == 0 || max_chars > MAX_TEXT_ANSWER {
                return Err(spec_error(i, "length_out_of_range"));
            }
            QuestionKind::FreeText { max_chars }
        }
    };
    if let Some(condition) = q.shown_if {
        let target = earlier
            .get(usize::from(condition.question))
            .ok_or(spec_error(i, "condition_not_earlier"))?;
        let choice = matches!(
            target.kind,
            QuestionKind::Single { .. } | QuestionKind::Multiple { .. }
        );
        if !choice {
            return Err(spec_error(i, "condition_not_a_choice"));
        }
        if usize::from(condition.option) >= target.kind.options().len() {
            return Err(spec_error(i, "condition_unknown_option"));
        }
    }
    Ok(Question {
        text,
        kind,
        required: q.required,
        shown_if: q.shown_if,
    })
}

// --- ballots ------------------------------------------------------------------------------

/// An answer as it arrives (from a form or JSON), before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawAnswer {
    None,
    Choices(Vec<u16>),
    Scale(i64),
    Ranking(Vec<u16>),
    Text(String),
}

/// A checked answer. Free text is not carried: only that it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Skipped,
    /// Distinct option indexes, ascending.
    Choices(Vec<u16>),
    Scale(u8),
    /// Option indexes, most preferred first.
    Ranking(Vec<u16>),
    Text,
}

/// A checked ballot: one answer per question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ballot(Vec<Answer>);

impl Ballot {
    pub fn answers(&self) -> &[Answer] {
        &self.0
    }
}

/// A checked ballot together with its free-text answers (question index, text), which
/// are stored apart from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedBallot {
    pub ballot: Ballot,
    pub texts: Vec<(u16, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BallotError {
    pub question: usize,
    pub code: &'static str,
}

impl PollSpec {
    /// Checks a ballot against the questions: every shown required question answered,
    /// hidden ones left empty, each answer of its question's type and within its options.
    pub fn check_ballot(&self, raw: &[RawAnswer]) -> Result<CheckedBallot, BallotError> {
        if raw.len() > self.questions.len() {
            return Err(BallotError {
                question: self.questions.len(),
                code: "unknown_question",
            });
        }
        let mut answers: Vec<Answer> = Vec::with_capacity(self.questions.len());
        let mut texts = Vec::new();
        for (i, question) in self.questions.iter().enumerate() {
            let given = raw.get(i).unwrap_or(&RawAnswer::None);
            let fail = |code| BallotError { question: i, code };
            let shown = question.shown_if.is_none_or(|c| {
                matches!(answers.get(usize::from(c.question)),
                    Some(Answer::Choices(chosen)) if chosen.contains(&c.option))
            });
            if !shown {
                if !is_empty(given) {
                    return Err(fail("hidden_question_answered"));
                }
                answers.push(Answer::Skipped);
                continue;
            }
            if is_empty(given) {
                if question.required {
                    return Err(fail("required"));
                }
                answers.push(Answer::Skipped);
                continue;
            }
            let answer = check_answer(&question.kind, given).map_err(fail)?;
            if let (Answer::Text, RawAnswer::Text(text)) = (&answer, given) {
                texts.push((i as u16, text.trim().to_owned()));
            }
            answers.push(answer);
        }
        Ok(CheckedBallot {
            ballot: Ballot(answers),
            texts,
        })
    }

    /// Checks a ballot read back from a published list (free texts are not published):
    /// the same rules as [`PollSpec::check_ballot`], with `Text` standing for any text.
    pub fn check_published(&self, ballot: &Ballot) -> Result<(), BallotError> {
        let raw: Vec<RawAnswer> = ballot
            .0
            .iter()
            .map(|answer| match answer {
                Answer::Skipped => RawAnswer::None,
                Answer::Choices(c) => RawAnswer::Choices(c.clone()),
                Answer::Scale(v) => RawAnswer::Scale(i64::from(*v)),
                Answer::Ranking(r) => RawAnswer::Ranking(r.clone()),
                Answer::Text => RawAnswer::Text("-".to_owned()),
            })
            .collect();
        if ballot.0.len() != self.questions.len() {
            return Err(BallotError {
                question: ballot.0.len().min(self.questions.len()),
                code: "wrong_number_of_answers",
            });
        }
        let checked = self.check_ballot(&raw)?;
        if checked.ballot != *ballot {
            return Err(BallotError {
                question: 0,
                code: "not_canonical",
            });
        }
        Ok(())
    }
}

fn is_empty(raw: &RawAnswer) -> bool {
    match raw {
        RawAnswer::None => true,
        RawAnswer::Choices(c) | RawAnswer::Ranking(c) => c.is_empty(),
        RawAnswer::Text(t) => t.trim().is_empty(),
        RawAnswer::Scale(_) => false,
    }
}

fn check_answer(kind: &QuestionKind, raw: &RawAnswer) -> Result<Answer, &'static str> {
    match (kind, raw) {
        (QuestionKind::Single { options }, RawAnswer::Choices(chosen)) => {
            if chosen.len() != 1 {
                return Err("one_choice_only");
            }
            choices(options.len(), chosen)
        }
        (QuestionKind::Multiple { options, max }, RawAnswer::Choices(chosen)) => {
            if chosen.len() > usize::from(*max) {
                return Err("too_many_choices");
            }
            choices(options.len(), chosen)
        }
        (QuestionKind::Scale { min, max }, RawAnswer::Scale(value)) => {
            if *value < i64::from(*min) || *value > i64::from(*max) {
                return Err("out_of_range");
            }
            // Within 0..=10 after the check above.
            Ok(Answer::Scale(*value as u8))
        }
        (QuestionKind::Ranking { options }, RawAnswer::Ranking(order)) => {
            let mut sorted = order.clone();
            sorted.sort_unstable();
            let permutation = sorted.len() == options.len()
                && sorted.iter().enumerate().all(|(i, &o)| usize::from(o) == i);
            if !permutation {
                return Err("not_a_ranking");
            }
            Ok(Answer::Ranking(order.clone()))
        }
        (QuestionKind::FreeText { max_chars }, RawAnswer::Text(text)) => {
            check_text(text, usize::from(*max_chars))?;
            Ok(Answer::Text)
        }
        _ => Err("wrong_answer_type"),
    }
}

fn choices(count: usize, chosen: &[u16]) -> Result<Answer, &'static str> {
    if chosen.iter().any(|&c| usize::from(c) >= count) {
        return Err("unknown_option");
    }
    let mut sorted = chosen.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != chosen.len() {
        return Err("duplicate_choice");
    }
    Ok(Answer::Choices(sorted))
}

// --- the log --------------------------------------------------------------------------------

/// A ballot's public identifier: 128 random bits as 32 lowercase hex digits. The store
/// draws it; it links the ballot to its receipt and to nothing else.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BallotId(String);

impl BallotId {
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let valid = raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err("not_a_ballot_id")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A ballot as published and as hashed into the poll's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedBallot {
    pub ballot_id: String,
    pub answers: Ballot,
}

/// The bytes of a ballot's log leaf: canonical JSON of the poll, the ballot id and the
/// answers, so that a recount from the published list rebuilds the same tree.
pub fn ballot_leaf(poll: i64, ballot_id: &BallotId, ballot: &Ballot) -> Vec<u8> {
    let mut out = Vec::new();
    write_ballot_leaf(&mut out, poll, ballot_id, ballot);
    out
}

/// [`ballot_leaf`] appended to `out`, for a recount that reuses one buffer for millions
/// of leaves.
pub fn write_ballot_leaf(out: &mut Vec<u8>, poll: i64, ballot_id: &BallotId, ballot: &Ballot) {
    #[derive(Serialize)]
    struct Leaf<'a> {
        poll: i64,
        ballot_id: &'a str,
        answers: &'a Ballot,
    }
    // Writing these plain types into a Vec cannot fail.
    let _ = serde_json::to_writer(
        out,
        &Leaf {
            poll,
            ballot_id: ballot_id.as_str(),
            answers: ballot,
        },
    );
}

/// Leaf 0 of a poll's final tree: the poll's definition (its id, kind, questions and the
/// close as Unix seconds), so the signed final head commits to what was asked and when
/// the poll ended, and a published list with other questions does not recount.
pub fn definition_leaf(
    poll: i64,
    kind: PollKind,
    questions: &serde_json::Value,
    closes_at_unix: i64,
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Definition<'a> {
        poll: i64,
        kind: &'a str,
        closes_at: i64,
        questions: &'a serde_json::Value,
    }
    serde_json::to_vec(&Definition {
        poll,
        kind: kind.as_str(),
        closes_at: closes_at_unix,
        questions,
    })
    .unwrap_or_default()
}

// --- who may vote, and when -----------------------------------------------------------------

/// Who may take part: a verification level, a minimum age, a region or a municipality of
/// residence (from the voter's profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eligibility {
    pub verification: Verification,
    pub min_age: Option<u8>,
    pub region: Option<RegionId>,
    pub municipality: Option<MunicipalityId>,
}

/// What the profile says about a voter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoterFacts {
    pub verification: Verification,
    pub birth_date: Option<Date>,
    pub region: Option<RegionId>,
    pub municipality: Option<MunicipalityId>,
}

impl Eligibility {
    /// Checks a voter on `today` (the poll's local date); refusals are stable codes.
    pub fn check(&self, voter: &VoterFacts, today: Date) -> Result<(), &'static str> {
        if voter.verification < self.verification {
            return Err("verification_required");
        }
        if let Some(min_age) = self.min_age {
            let birth = voter.birth_date.ok_or("age_unknown")?;
            if crate::notify::age_on(birth, today) < i32::from(min_age) {
                return Err("too_young");
            }
        }
        if let Some(region) = self.region {
            if voter.region != Some(region) {
                return Err("outside_region");
            }
        }
        if let Some(municipality) = self.municipality {
            if voter.municipality != Some(municipality) {
                return Err("outside_municipality");
            }
        }
        Ok(())
    }
}

/// Where an organisation may run a poll or a discussion: one with a region only there,
/// and one with a municipality only there; a federal body (no region) and the operator
/// (no organisation) anywhere. Refusals are (field, code).
pub fn organiser_may_target(
    organiser_region: Option<RegionId>,
    organiser_municipality: Option<MunicipalityId>,
    region: Option<RegionId>,
    municipality: Option<MunicipalityId>,
) -> Result<(), (&'static str, &'static str)> {
    let Some(own_region) = organiser_region else {
        return Ok(());
    };
    if region != Some(own_region) {
        return Err(("region", "outside_organisation_region"));
    }
    match organiser_municipality {
        Some(own) if municipality != Some(own) => {
            Err(("municipality", "outside_organisation_municipality"))
        }
        _ => Ok(()),
    }
}

/// The age groups results are broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgeGroup {
    Unknown,
    Under18,
    From18To24,
    From25To34,
    From35To44,
    From45To54,
    From55To64,
    From65,
}

impl AgeGroup {
    pub const ALL: [AgeGroup; 8] = [
        Self::Unknown,
        Self::Under18,
        Self::From18To24,
        Self::From25To34,
        Self::From35To44,
        Self::From45To54,
        Self::From55To64,
        Self::From65,
    ];

    pub fn of(birth: Option<Date>, today: Date) -> Self {
        let Some(birth) = birth else {
            return Self::Unknown;
        };
        match crate::notify::age_on(birth, today) {
            i32::MIN..=17 => Self::Under18,
            18..=24 => Self::From18To24,
            25..=34 => Self::From25To34,
            35..=44 => Self::From35To44,
            45..=54 => Self::From45To54,
            55..=64 => Self::From55To64,
            _ => Self::From65,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Under18 => "under_18",
            Self::From18To24 => "18_24",
            Self::From25To34 => "25_34",
            Self::From35To44 => "35_44",
            Self::From45To54 => "45_54",
            Self::From55To64 => "55_64",
            Self::From65 => "65_plus",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == raw)
    }
}

/// When a poll accepts ballots: from `opens_at` (inclusive) to `closes_at` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    opens_at: OffsetDateTime,
    closes_at: OffsetDateTime,
}

/// Photos of one option of a choice question (a vote's project, a survey's answer): at
/// most this many.
pub const MAX_OPTION_PHOTOS: usize = 3;

/// Which option a photo shows: the option `option` of question `question` (both
/// 0-based; a vote's one question is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhotoSlot {
    pub question: u16,
    pub option: u16,
}

/// May the organisers change the photos of `slot` now? Options of choice questions
/// (single, multiple, ranking) have photos, in votes and surveys, and only before the
/// poll opens and while it is not cancelled: once ballots may be cast, what voters see of
/// the options does not change. `poll_not_editable`, `unknown_question`,
/// `not_a_choice_question`, `unknown_option`.
pub fn check_photos_editable(
    spec: &PollSpec,
    slot: PhotoSlot,
    phase: Phase,
    cancelled: bool,
) -> Result<(), &'static str> {
    if cancelled || phase != Phase::Upcoming {
        return Err("poll_not_editable");
    }
    check_photo_option(spec, slot)
}

/// Is `slot` an option of one of the poll's choice questions? `unknown_question`,
/// `not_a_choice_question` (a scale or free text), `unknown_option`.
pub fn check_photo_option(spec: &PollSpec, slot: PhotoSlot) -> Result<(), &'static str> {
    let question = spec
        .questions()
        .get(usize::from(slot.question))
        .ok_or("unknown_question")?;
    if matches!(
        question.kind,
        QuestionKind::Scale { .. } | QuestionKind::FreeText { .. }
    ) {
        return Err("not_a_choice_question");
    }
    if usize::from(slot.option) >= question.kind.options().len() {
        return Err("unknown_option");
    }
    Ok(())
}

/// Whether any question of the poll has options that may carry photos.
pub fn has_photo_options(spec: &PollSpec) -> bool {
    spec.questions()
        .iter()
        .any(|q| !q.kind.options().is_empty())
}

/// Which way a photo moves among its option's photos (the order they are shown in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoMove {
    /// Towards the first.
    Up,
    /// Towards the last.
    Down,
}

impl PhotoMove {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "up" => Some(Self::Up),
            "down" => Some(Self::Down),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
        }
    }

    /// The photos of one option in their order, with the one at `at` moved one place:
    /// the two neighbours swap, nothing else changes. `photo_at_edge` when it is
    /// already first (up) or last (down).
    pub fn apply<T>(self, order: &mut [T], at: usize) -> Result<(), &'static str> {
        let other = match self {
            Self::Up => at.checked_sub(1),
            Self::Down => at.checked_add(1).filter(|&j| j < order.len()),
        }
        .ok_or("photo_at_edge")?;
        if at >= order.len() {
            return Err("photo_at_edge");
        }
        order.swap(at, other);
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Upcoming,
    Open,
    Closed,
}

impl Schedule {
    /// At most a year long, closing after it opens.
    pub fn new(opens_at: OffsetDateTime, closes_at: OffsetDateTime) -> Result<Self, &'static str> {
        if closes_at <= opens_at {
            return Err("closes_before_it_opens");
        }
        if closes_at - opens_at > time::Duration::days(366) {
            return Err("longer_than_a_year");
        }
        Ok(Self {
            opens_at,
            closes_at,
        })
    }

    pub fn opens_at(&self) -> OffsetDateTime {
        self.opens_at
    }

    pub fn closes_at(&self) -> OffsetDateTime {
        self.closes_at
    }

    pub fn phase(&self, now: OffsetDateTime) -> Phase {
        if now < self.opens_at {
            Phase::Upcoming
        } else if now < self.closes_at {
            Phase::Open
        } else {
            Phase::Closed
        }
    }
}

impl ResultsPolicy {
    /// Whether results may be shown in this phase: live results once the poll opens,
    /// embargoed ones only after it closes — to everyone, its organisers included.
    pub fn visible(self, phase: Phase) -> bool {
        match self {
            Self::Live => phase != Phase::Upcoming,
            Self::Embargoed => phase == Phase::Closed,
        }
    }
}

// --- counting ---------------------------------------------------------------------------------

/// One counter of a tally: `(question, slot) += count`. Slots: for choices the option; for
/// a scale the value; for a ranking the option's Borda points (slot = option) and its
/// first places (slot = options + option); [`ANSWERED_SLOT`] counts the answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    pub question: u16,
    pub slot: u32,
}

/// The counters one ballot adds.
pub fn cells(ballot: &Ballot) -> Vec<(Cell, u64)> {
    let mut out = Vec::new();
    for (q, answer) in ballot.0.iter().enumerate() {
        let question = q as u16;
        let cell = |slot| Cell { question, slot };
        match answer {
            Answer::Skipped => continue,
            Answer::Choices(chosen) => {
                out.extend(chosen.iter().map(|&o| (cell(u32::from(o)), 1)));
            }
            Answer::Scale(v) => out.push((cell(u32::from(*v)), 1)),
            Answer::Ranking(order) => {
                let n = order.len() as u64;
                for (place, &option) in order.iter().enumerate() {
                    out.push((cell(u32::from(option)), n - 1 - place as u64));
                }
                if let Some(&first) = order.first() {
                    out.push((cell(n as u32 + u32::from(first)), 1));
                }
            }
            Answer::Text => {}
        }
        out.push((cell(ANSWERED_SLOT), 1));
    }
    out
}

/// A poll's counts: the number of ballots and every counter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub ballots: u64,
    pub counts: std::collections::BTreeMap<Cell, u64>,
}

impl Tally {
    pub fn add(&mut self, ballot: &Ballot) {
        self.ballots += 1;
        for (cell, n) in cells(ballot) {
            *self.counts.entry(cell).or_default() += n;
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        self.ballots += other.ballots;
        for (cell, n) in &other.counts {
            *self.counts.entry(*cell).or_default() += n;
        }
    }

    pub fn count(&self, question: u16, slot: u32) -> u64 {
        self.counts
            .get(&Cell { question, slot })
            .copied()
            .unwrap_or(0)
    }

    pub fn answered(&self, question: u16) -> u64 {
        self.count(question, ANSWERED_SLOT)
    }
}

// --- the text form ------------------------------------------------------------------------------

/// The plain-text form officials write a poll in (a page without JavaScript):
///
/// ```text
/// ? Как часто вы бываете в парке?
/// * один
/// - Каждый день
/// - Раз в неделю :: и по выходным
/// ? Что улучшить?
/// * несколько до 2
/// * если 1 = 1
/// * необязательный
/// - Освещение
/// - Дорожки @ 55.75, 37.61
/// ```
///
/// `?` starts a question; `*` lines set its type (`один`, `несколько до K`,
/// `шкала A..B`, `порядок`, `текст N`), its condition (`если Q = O`, 1-based) and
/// `необязательный`; `-` lines are options, with ` :: description` and ` @ lat, lon`.
pub fn parse_text(kind: PollKind, text: &str) -> Result<PollSpec, SpecError> {
    let mut questions: Vec<Question> = Vec::new();
    let mut options: Vec<Vec<OptionSpec>> = Vec::new();
    let mut types: Vec<Option<String>> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let current = questions.len().checked_sub(1);
        if let Some(rest) = line.strip_prefix('?') {
            questions.push(Question {
                text: rest.trim().to_owned(),
                kind: QuestionKind::FreeText { max_chars: 1 },
                required: true,
                shown_if: None,
            });
            options.push(Vec::new());
            types.push(None);
            continue;
        }
        let Some(i) = current else {
            return Err(SpecError {
                question: None,
                code: "text_before_first_question",
            });
        };
        if let Some(rest) = line.strip_prefix('*') {
            let rest = rest.trim();
            if rest == "необязательный" {
                questions[i].required = false;
            } else if let Some(cond) = rest.strip_prefix("если") {
                questions[i].shown_if = Some(parse_condition(cond).map_err(|c| spec_error(i, c))?);
            } else {
                types[i] = Some(rest.to_owned());
            }
        } else if let Some(rest) = line.strip_prefix('-') {
            options[i].push(parse_option(rest).map_err(|c| spec_error(i, c))?);
        } else {
            return Err(spec_error(i, "unrecognised_line"));
        }
    }
    for (i, question) in questions.iter_mut().enumerate() {
        let opts = std::mem::take(&mut options[i]);
        question.kind = parse_type(types[i].as_deref(), opts).map_err(|c| spec_error(i, c))?;
    }
    PollSpec::new(kind, questions)
}

fn parse_condition(raw: &str) -> Result<Condition, &'static str> {
    let (q, o) = raw.split_once('=').ok_or("malformed_condition")?;
    let one_based = |s: &str| -> Result<u16, &'static str> {
        match s.trim().parse::<u16>() {
            Ok(n) if n >= 1 => Ok(n - 1),
            _ => Err("malformed_condition"),
        }
    };
    Ok(Condition {
        question: one_based(q)?,
        option: one_based(o)?,
    })
}

fn parse_option(raw: &str) -> Result<OptionSpec, &'static str> {
    let (rest, location) = match raw.rsplit_once(" @ ") {
        Some((rest, at)) => (rest, Some(GeoPoint::parse(at)?)),
        None => (raw, None),
    };
    let (title, description) = rest.split_once(" :: ").unwrap_or((rest, ""));
    Ok(OptionSpec {
        title: title.trim().to_owned(),
        description: description.trim().to_owned(),
        location,
    })
}

fn parse_type(raw: Option<&str>, options: Vec<OptionSpec>) -> Result<QuestionKind, &'static str> {
    let raw = raw.unwrap_or(if options.is_empty() {
        "текст 1000"
    } else {
        "один"
    });
    let words: Vec<&str> = raw.split_whitespace().collect();
    let number = |s: &str| s.parse::<u16>().map_err(|_| "malformed_type");
    let no_options = |options: &[OptionSpec]| {
        if options.is_empty() {
            Ok(())
        } else {
            Err("scale_or_text_has_no_options")
        }
    };
    Ok(match words.as_slice() {
        ["один"] => QuestionKind::Single { options },
        ["несколько"] => {
            let max = options.len().min(usize::from(u16::MAX)) as u16;
            QuestionKind::Multiple { options, max }
        }
        ["несколько", "до", k] => QuestionKind::Multiple {
            options,
            max: number(k)?,
        },
        ["порядок"] => QuestionKind::Ranking { options },
        ["шкала", range] => {
            no_options(&options)?;
            let (a, b) = range.split_once("..").ok_or("malformed_type")?;
            let bound = |s: &str| s.parse::<u8>().map_err(|_| "malformed_type");
            QuestionKind::Scale {
                min: bound(a)?,
                max: bound(b)?,
            }
        }
        ["текст", n] => {
            no_options(&options)?;
            QuestionKind::FreeText {
                max_chars: number(n)?,
            }
        }
        ["текст"] => {
            no_options(&options)?;
            QuestionKind::FreeText { max_chars: 1000 }
        }
        _ => return Err("malformed_type"),
    })
}

/// The text form of a checked definition ([`parse_text`] reads it back unchanged).
pub fn to_text(spec: &PollSpec) -> String {
    let mut out = String::new();
    for question in &spec.questions {
        out.push_str(&format!("? {}\n", question.text));
        let kind = match &question.kind {
            QuestionKind::Single { .. } => "один".to_owned(),
            QuestionKind::Multiple { max, .. } => format!("несколько до {max}"),
            QuestionKind::Scale { min, max } => format!("шкала {min}..{max}"),
            QuestionKind::Ranking { .. } => "порядок".to_owned(),
            QuestionKind::FreeText { max_chars } => format!("текст {max_chars}"),
        };
        out.push_str(&format!("* {kind}\n"));
        if let Some(c) = question.shown_if {
            out.push_str(&format!("* если {} = {}\n", c.question + 1, c.option + 1));
        }
        if !question.required {
            out.push_str("* необязательный\n");
        }
        for option in question.kind.options() {
            out.push_str(&format!("- {}", option.title));
            if !option.description.is_empty() {
                out.push_str(&format!(" :: {}", option.description));
            }
            if let Some(at) = option.location {
                out.push_str(&format!(" @ {at}"));
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::{date, datetime};

    fn option(title: &str) -> OptionSpec {
        OptionSpec {
            title: title.to_owned(),
            description: String::new(),
            location: None,
        }
    }

    fn options(n: usize) -> Vec<OptionSpec> {
        (0..n).map(|i| option(&format!("Вариант {i}"))).collect()
    }

    fn question(kind: QuestionKind) -> Question {
        Question {
            text: "Вопрос".to_owned(),
            kind,
            required: true,
            shown_if: None,
        }
    }

    /// Single (3 options) → multiple up to 2 (4, shown if option 2 of the first) →
    /// scale 1..5 (optional) → ranking of 3 → free text.
    fn survey() -> PollSpec {
        let mut conditional = question(QuestionKind::Multiple {
            options: options(4),
            max: 2,
        });
        conditional.shown_if = Some(Condition {
            question: 0,
            option: 1,
        });
        let mut scale = question(QuestionKind::Scale { min: 1, max: 5 });
        scale.required = false;
        PollSpec::new(
            PollKind::Survey,
            vec![
                question(QuestionKind::Single {
                    options: options(3),
                }),
                conditional,
                scale,
                question(QuestionKind::Ranking {
                    options: options(3),
                }),
                question(QuestionKind::FreeText { max_chars: 20 }),
            ],
        )
        .unwrap()
    }

    #[test]
    fn photos_go_on_options_of_choice_questions_before_the_poll_opens() {
        let spec = survey();
        let slot = |question, option| PhotoSlot { question, option };
        for ok in [slot(0, 2), slot(1, 3), slot(3, 0)] {
            assert_eq!(
                check_photos_editable(&spec, ok, Phase::Upcoming, false),
                Ok(()),
                "{ok:?}"
            );
        }
        for (bad, code) in [
            (slot(0, 3), "unknown_option"),
            (slot(2, 0), "not_a_choice_question"),
            (slot(4, 0), "not_a_choice_question"),
            (slot(5, 0), "unknown_question"),
            (slot(u16::MAX, 0), "unknown_question"),
        ] {
            assert_eq!(
                check_photos_editable(&spec, bad, Phase::Upcoming, false),
                Err(code),
                "{bad:?}"
            );
        }
        for (phase, cancelled) in [
            (Phase::Open, false),
            (Phase::Closed, false),
            (Phase::Upcoming, true),
        ] {
            assert_eq!(
                check_photos_editable(&spec, slot(0, 0), phase, cancelled),
                Err("poll_not_editable")
            );
        }
        assert!(has_photo_options(&spec));
        let texts = PollSpec::new(
            PollKind::Survey,
            vec![question(QuestionKind::FreeText { max_chars: 20 })],
        )
        .unwrap();
        assert!(!has_photo_options(&texts));
    }

    #[test]
    fn a_photo_moves_one_place_and_never_past_the_edges() {
        let mut order = [1, 2, 3];
        PhotoMove::Up.apply(&mut order, 2).unwrap();
        assert_eq!(order, [1, 3, 2]);
        PhotoMove::Down.apply(&mut order, 0).unwrap();
        assert_eq!(order, [3, 1, 2]);
        assert_eq!(PhotoMove::Up.apply(&mut order, 0), Err("photo_at_edge"));
        assert_eq!(PhotoMove::Down.apply(&mut order, 2), Err("photo_at_edge"));
        assert_eq!(PhotoMove::Down.apply(&mut order, 7), Err("photo_at_edge"));
        assert_eq!(PhotoMove::Up.apply(&mut order, 7), Err("photo_at_edge"));
        assert_eq!(order, [3, 1, 2]);
        assert_eq!(PhotoMove::parse("up"), Some(PhotoMove::Up));
        assert_eq!(
            PhotoMove::parse("down").map(PhotoMove::as_str),
            Some("down")
        );
        assert_eq!(PhotoMove::parse("left"), None);
    }

    proptest! {
        /// Any sequence of moves keeps the same photos, each once.
        #[test]
        fn moves_keep_every_photo_once(n in 1usize..6, moves in proptest::collection::vec((any::<bool>(), 0usize..7), 0..30)) {
            let mut order: Vec<usize> = (0..n).collect();
            for (up, at) in moves {
                let way = if up { PhotoMove::Up } else { PhotoMove::Down };
                let before = order.clone();
                if way.apply(&mut order, at).is_err() {
                    prop_assert_eq!(&order, &before);
                }
                let mut sorted = order.clone();
                sorted.sort_unstable();
                prop_assert_eq!(sorted, (0..n).collect::<Vec<_>>());
            }
        }
    }

    fn code(spec: &PollSpec, raw: &[RawAnswer]) -> Option<(usize, &'static str)> {
        spec.check_ballot(raw).err().map(|e| (e.question, e.code))
    }

    #[test]
    fn a_ballot_follows_the_questions() {
        let spec = survey();
        let good = [
            RawAnswer::Choices(vec![1]),
            RawAnswer::Choices(vec![3, 0]),
            RawAnswer::None,
            RawAnswer::Ranking(vec![2, 0, 1]),
            RawAnswer::Text(" хорошо ".to_owned()),
        ];
        let checked = spec.check_ballot(&good).unwrap();
        assert_eq!(
            checked.ballot.answers(),
            &[
                Answer::Choices(vec![1]),
                Answer::Choices(vec![0, 3]),
                Answer::Skipped,
                Answer::Ranking(vec![2, 0, 1]),
                Answer::Text,
            ]
        );
        assert_eq!(checked.texts, vec![(4, "хорошо".to_owned())]);
        spec.check_published(&checked.ballot).unwrap();

        let mut hidden = good.clone();
        hidden[0] = RawAnswer::Choices(vec![0]);
        assert_eq!(code(&spec, &hidden), Some((1, "hidden_question_answered")));
        hidden[1] = RawAnswer::None;
        assert!(spec.check_ballot(&hidden).is_ok());

        let cases: [(usize, RawAnswer, &str); 9] = [
            (0, RawAnswer::None, "required"),
            (0, RawAnswer::Choices(vec![0, 1]), "one_choice_only"),
            (0, RawAnswer::Choices(vec![3]), "unknown_option"),
            (0, RawAnswer::Scale(1), "wrong_answer_type"),
            (1, RawAnswer::Choices(vec![0, 1, 2]), "too_many_choices"),
            (1, RawAnswer::Choices(vec![2, 2]), "duplicate_choice"),
            (2, RawAnswer::Scale(6), "out_of_range"),
            (3, RawAnswer::Ranking(vec![0, 0, 1]), "not_a_ranking"),
            (4, RawAnswer::Text("x".repeat(21)), "too_long"),
        ];
        for (q, answer, expected) in cases {
            let mut raw = good.clone();
            raw[q] = answer;
            assert_eq!(code(&spec, &raw), Some((q, expected)), "{expected}");
        }
        let mut extra = good.to_vec();
        extra.push(RawAnswer::None);
        assert_eq!(code(&spec, &extra), Some((5, "unknown_question")));
    }

    #[test]
    fn definitions_are_checked() {
        let err = |kind, questions| PollSpec::new(kind, questions).unwrap_err().code;
        assert_eq!(err(PollKind::Survey, vec![]), "no_questions");
        let one = question(QuestionKind::Single {
            options: vec![option("Да")],
        });
        assert_eq!(err(PollKind::Survey, vec![one]), "too_few_options");
        let dup = question(QuestionKind::Single {
            options: vec![option("Да"), option(" Да ")],
        });
        assert_eq!(err(PollKind::Survey, vec![dup]), "duplicate_option");
        let k = question(QuestionKind::Multiple {
            options: options(3),
            max: 4,
        });
        assert_eq!(err(PollKind::Survey, vec![k]), "max_out_of_range");
        let scale = question(QuestionKind::Scale { min: 5, max: 5 });
        assert_eq!(
            err(PollKind::Survey, vec![scale.clone()]),
            "scale_out_of_range"
        );
        let mut forward = question(QuestionKind::Scale { min: 1, max: 5 });
        forward.shown_if = Some(Condition {
            question: 0,
            option: 0,
        });
        assert_eq!(
            err(PollKind::Survey, vec![forward.clone()]),
            "condition_not_earlier"
        );
        let scale_ok = question(QuestionKind::Scale { min: 1, max: 5 });
        assert_eq!(
            err(PollKind::Survey, vec![scale_ok.clone(), forward]),
            "condition_not_a_choice"
        );
        assert_eq!(
            err(PollKind::Vote, vec![scale_ok]),
            "vote_needs_one_choice_question"
        );
        let vote = PollSpec::new(
            PollKind::Vote,
            vec![question(QuestionKind::Multiple {
                options: options(10),
                max: 3,
            })],
        );
        assert!(vote.is_ok());
    }

    #[test]
    fn the_text_form_reads_what_officials_write() {
        let text = "? Как часто вы бываете в парке?\n* один\n- Каждый день\n- Раз в неделю :: и по выходным\n\
                    ? Что улучшить?\n* несколько до 2\n* если 1 = 2\n* необязательный\n- Освещение\n- Дорожки @ 55.75, 37.61\n\
                    ? Оценка\n* шкала 1..5\n? Комментарий";
        let spec = parse_text(PollKind::Survey, text).unwrap();
        let q = spec.questions();
        assert_eq!(q.len(), 4);
        assert_eq!(q[0].kind.options()[1].description, "и по выходным");
        assert_eq!(
            q[1].shown_if,
            Some(Condition {
                question: 0,
                option: 1
            })
        );
        assert!(!q[1].required);
        assert_eq!(
            q[1].kind.options()[1].location,
            Some(GeoPoint {
                lat_e6: 55_750_000,
                lon_e6: 37_610_000
            })
        );
        assert_eq!(q[2].kind, QuestionKind::Scale { min: 1, max: 5 });
        assert_eq!(q[3].kind, QuestionKind::FreeText { max_chars: 1000 });
        assert_eq!(parse_text(PollKind::Survey, &to_text(&spec)).unwrap(), spec);
        let bad = |text| parse_text(PollKind::Survey, text).unwrap_err().code;
        assert_eq!(bad("- Вариант"), "text_before_first_question");
        assert_eq!(
            bad("? Вопрос\n* шкала 1..5\n- Нет"),
            "scale_or_text_has_no_options"
        );
        assert_eq!(bad("? Вопрос\n* всякий"), "malformed_type");
        assert_eq!(bad("? Вопрос\nпросто строка"), "unrecognised_line");
        assert_eq!(bad("? Вопрос\n- А @ 91, 0\n- Б"), "out_of_range");
        let mut far = option("Полюс");
        far.location = Some(GeoPoint {
            lat_e6: 2_000_000_000,
            lon_e6: 0,
        });
        let json = PollSpec::new(
            PollKind::Survey,
            vec![question(QuestionKind::Single {
                options: vec![far, option("Экватор")],
            })],
        );
        assert_eq!(json.unwrap_err().code, "out_of_range");
    }

    #[test]
    fn eligibility_rules() {
        let rule = Eligibility {
            verification: Verification::Verified,
            min_age: Some(14),
            region: Some(RegionId(77)),
            municipality: Some(MunicipalityId(5)),
        };
        let voter = VoterFacts {
            verification: Verification::Verified,
            birth_date: Some(date!(2012 - 12 - 05)),
            region: Some(RegionId(77)),
            municipality: Some(MunicipalityId(5)),
        };
        let today = date!(2026 - 12 - 05);
        assert_eq!(rule.check(&voter, today), Ok(()));
        let check = |change: fn(&mut VoterFacts)| {
            let mut v = voter;
            change(&mut v);
            rule.check(&v, today).unwrap_err()
        };
        assert_eq!(
            check(|v| v.verification = Verification::Standard),
            "verification_required"
        );
        assert_eq!(check(|v| v.birth_date = None), "age_unknown");
        assert_eq!(
            check(|v| v.birth_date = Some(date!(2012 - 12 - 06))),
            "too_young"
        );
        assert_eq!(check(|v| v.region = Some(RegionId(78))), "outside_region");
        assert_eq!(check(|v| v.municipality = None), "outside_municipality");
        assert_eq!(
            AgeGroup::of(Some(date!(2012 - 12 - 05)), today),
            AgeGroup::Under18
        );
        assert_eq!(
            AgeGroup::of(Some(date!(1961 - 12 - 05)), today),
            AgeGroup::From65
        );
        assert_eq!(AgeGroup::of(None, today), AgeGroup::Unknown);
    }

    #[test]
    fn the_schedule_and_the_embargo() {
        let schedule = Schedule::new(
            datetime!(2026-12-01 00:00 UTC),
            datetime!(2026-12-08 00:00 UTC),
        )
        .unwrap();
        assert_eq!(
            schedule.phase(datetime!(2026-11-30 23:59 UTC)),
            Phase::Upcoming
        );
        assert_eq!(schedule.phase(datetime!(2026-12-01 00:00 UTC)), Phase::Open);
        assert_eq!(
            schedule.phase(datetime!(2026-12-08 00:00 UTC)),
            Phase::Closed
        );
        assert!(!ResultsPolicy::Embargoed.visible(Phase::Open));
        assert!(ResultsPolicy::Embargoed.visible(Phase::Closed));
        assert!(ResultsPolicy::Live.visible(Phase::Open));
        assert!(!ResultsPolicy::Live.visible(Phase::Upcoming));
        assert_eq!(
            Schedule::new(
                datetime!(2026-12-08 00:00 UTC),
                datetime!(2026-12-08 00:00 UTC)
            ),
            Err("closes_before_it_opens")
        );
    }

    #[test]
    fn ballot_ids_and_leaves() {
        let id = BallotId::from_bytes([0xab; 16]);
        assert_eq!(BallotId::parse(id.as_str()), Ok(id.clone()));
        assert_eq!(BallotId::parse("AB"), Err("not_a_ballot_id"));
        let ballot = Ballot(vec![
            Answer::Choices(vec![0, 2]),
            Answer::Skipped,
            Answer::Scale(3),
        ]);
        let leaf = String::from_utf8(ballot_leaf(7, &id, &ballot)).unwrap();
        assert_eq!(
            leaf,
            format!(
                r#"{{"poll":7,"ballot_id":"{}","answers":[{{"choices":[0,2]}},"skipped",{{"scale":3}}]}}"#,
                id.as_str()
            )
        );
    }

    fn raw_answer() -> impl Strategy<Value = RawAnswer> {
        prop_oneof![
            Just(RawAnswer::None),
            proptest::collection::vec(0u16..6, 0..5).prop_map(RawAnswer::Choices),
            (-2i64..12).prop_map(RawAnswer::Scale),
            proptest::collection::vec(0u16..4, 0..5).prop_map(RawAnswer::Ranking),
            "[а-я ]{0,25}".prop_map(RawAnswer::Text),
        ]
    }

    /// Valid ballots of [`survey`], built answer by answer.
    fn valid_ballot() -> impl Strategy<Value = Ballot> {
        (
            0u16..3,
            proptest::collection::btree_set(0u16..4, 1..=2),
            proptest::option::of(1i64..=5),
            Just(vec![0u16, 1, 2]).prop_shuffle(),
        )
            .prop_map(|(first, second, scale, ranking)| {
                let raw = [
                    RawAnswer::Choices(vec![first]),
                    if first == 1 {
                        RawAnswer::Choices(second.into_iter().collect())
                    } else {
                        RawAnswer::None
                    },
                    scale.map_or(RawAnswer::None, RawAnswer::Scale),
                    RawAnswer::Ranking(ranking),
                    RawAnswer::Text("да".to_owned()),
                ];
                survey().check_ballot(&raw).unwrap().ballot
            })
    }

    fn text_safe() -> impl Strategy<Value = String> {
        "[А-Яа-я][а-я0-9 ]{0,12}[а-я0-9]"
    }

    fn spec_strategy() -> impl Strategy<Value = PollSpec> {
        let kind = prop_oneof![
            proptest::collection::btree_set(text_safe(), 2..5).prop_flat_map(|titles| {
                let options: Vec<OptionSpec> = titles.iter().map(|t| option(t)).collect();
                let n = options.len() as u16;
                (Just(options), 0usize..3, 1..=n).prop_map(|(options, which, max)| match which {
                    0 => QuestionKind::Single { options },
                    1 => QuestionKind::Multiple { options, max },
                    _ => QuestionKind::Ranking { options },
                })
            }),
            (0u8..10, 1u8..=10)
                .prop_filter("min < max", |(a, b)| a < b)
                .prop_map(|(min, max)| QuestionKind::Scale { min, max }),
            (1u16..=MAX_TEXT_ANSWER).prop_map(|max_chars| QuestionKind::FreeText { max_chars }),
        ];
        proptest::collection::vec((text_safe(), kind, any::<bool>()), 1..6).prop_map(|qs| {
            let mut questions: Vec<Question> = Vec::new();
            for (text, kind, required) in qs {
                // A condition on the first earlier single choice, if there is one.
                let shown_if = questions
                    .iter()
                    .position(|q| matches!(q.kind, QuestionKind::Single { .. }))
                    .filter(|_| !required)
                    .map(|q| Condition {
                        question: q as u16,
                        option: 1,
                    });
                questions.push(Question {
                    text,
                    kind,
                    required,
                    shown_if,
                });
            }
            PollSpec::new(PollKind::Survey, questions).unwrap()
        })
    }

    proptest! {
        #[test]
        fn any_ballot_is_refused_with_a_code_or_accepted_consistently(
            raw in proptest::collection::vec(raw_answer(), 0..7)
        ) {
            let spec = survey();
            match spec.check_ballot(&raw) {
                Ok(checked) => {
                    prop_assert_eq!(checked.ballot.answers().len(), 5);
                    prop_assert!(spec.check_published(&checked.ballot).is_ok());
                    let answered = checked.ballot.answers().iter()
                        .filter(|a| **a != Answer::Skipped).count() as u64;
                    let counted: u64 = cells(&checked.ballot).iter()
                        .filter(|(c, _)| c.slot == ANSWERED_SLOT).map(|(_, n)| n).sum();
                    prop_assert_eq!(answered, counted);
                }
                Err(e) => prop_assert!(!e.code.is_empty() && e.question <= 6),
            }
        }

        #[test]
        fn tallies_add_up_in_any_split(
            ballots in proptest::collection::vec(valid_ballot(), 0..40),
            split in 0usize..40,
        ) {
            let split = split.min(ballots.len());
            let mut whole = Tally::default();
            ballots.iter().for_each(|b| whole.add(b));
            let (mut left, mut right) = (Tally::default(), Tally::default());
            ballots[..split].iter().for_each(|b| left.add(b));
            ballots[split..].iter().for_each(|b| right.add(b));
            left.merge(&right);
            prop_assert_eq!(&left, &whole);
            prop_assert_eq!(whole.ballots, ballots.len() as u64);
            // The first question is required and always shown: every ballot chose once.
            let firsts: u64 = (0..3).map(|o| whole.count(0, o)).sum();
            prop_assert_eq!(firsts, ballots.len() as u64);
            prop_assert_eq!(whole.answered(0), ballots.len() as u64);
            // A ranking of three hands out 2 + 1 + 0 points per ballot.
            let points: u64 = (0..3).map(|o| whole.count(3, o)).sum();
            prop_assert_eq!(points, 3 * whole.answered(3));
        }

        #[test]
        fn the_text_form_round_trips(spec in spec_strategy()) {
            prop_assert_eq!(parse_text(PollKind::Survey, &to_text(&spec)).unwrap(), spec.clone());
            prop_assert_eq!(PollSpec::from_json(PollKind::Survey, &spec.questions_json()).unwrap(), spec);
        }

        #[test]
        fn locations_round_trip(lat in -90_000_000i32..=90_000_000, lon in -180_000_000i32..=180_000_000) {
            let point = GeoPoint { lat_e6: lat, lon_e6: lon };
            prop_assert_eq!(GeoPoint::parse(&point.to_string()), Ok(point));
        }
    }

    #[test]
    fn organisers_run_polls_only_in_their_territory() {
        let (tver, moscow) = (Some(RegionId(69)), Some(RegionId(77)));
        let (town, village) = (Some(MunicipalityId(1)), Some(MunicipalityId(2)));
        // A federal body and the operator: anywhere, all of Russia too.
        assert_eq!(organiser_may_target(None, None, None, None), Ok(()));
        assert_eq!(organiser_may_target(None, None, moscow, village), Ok(()));
        // A regional body: its region, any of its municipalities; never all of Russia.
        assert_eq!(organiser_may_target(tver, None, tver, None), Ok(()));
        assert_eq!(organiser_may_target(tver, None, tver, town), Ok(()));
        let outside = Err(("region", "outside_organisation_region"));
        assert_eq!(organiser_may_target(tver, None, moscow, None), outside);
        assert_eq!(organiser_may_target(tver, None, None, None), outside);
        // A local government: its own municipality only.
        assert_eq!(organiser_may_target(tver, town, tver, town), Ok(()));
        let elsewhere = Err(("municipality", "outside_organisation_municipality"));
        assert_eq!(organiser_may_target(tver, town, tver, village), elsewhere);
        assert_eq!(organiser_may_target(tver, town, tver, None), elsewhere);
    }
}
