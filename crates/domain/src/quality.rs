//! Opinions about the quality of public services, on the federal quality-monitoring scale
//! (ИАС МКГУ, «Ваш контроль»): 1 to 5 points on five criteria, a criterion the opinion
//! does not express left empty (seed 7¹ ¶2, `docs/QUALITY_FEED.md`).
//!
//! A citizen's rating of an answer judges the work of the staff who answered (courtesy
//! and competence); its comment may speak to other criteria too — how long it took,
//! queues, premises, information — and those take the same score. A post found by
//! social-media monitoring is an opinion only when its text speaks to a criterion and its
//! sentiment is not neutral ([`post_opinion`]). The mapping is versioned
//! ([`MAPPING_VERSION`]), so a receiver knows which rules produced a record.

use crate::lifecycle::Score;

/// The version of the mapping (and of the feed's record format).
pub const MAPPING_VERSION: &str = "1";

/// The five criteria of the federal scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Criterion {
    /// Время предоставления услуги.
    ServiceTime,
    /// Время ожидания в очереди.
    WaitingTime,
    /// Вежливость и компетентность сотрудника.
    StaffCourtesyCompetence,
    /// Комфортность условий в помещении.
    PremisesComfort,
    /// Доступность информации о порядке предоставления услуги.
    InformationAvailability,
}

impl Criterion {
    pub const ALL: [Criterion; 5] = [
        Criterion::ServiceTime,
        Criterion::WaitingTime,
        Criterion::StaffCourtesyCompetence,
        Criterion::PremisesComfort,
        Criterion::InformationAvailability,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::ServiceTime => "service_time",
            Criterion::WaitingTime => "waiting_time",
            Criterion::StaffCourtesyCompetence => "staff_courtesy_competence",
            Criterion::PremisesComfort => "premises_comfort",
            Criterion::InformationAvailability => "information_availability",
        }
    }

    /// Word stems (lower case, ё as е) by which a comment speaks to the criterion.
    fn stems(self) -> &'static [&'static str] {
        match self {
            Criterion::ServiceTime => &[
                "срок",
                "долго",
                "долгий",
                "быстр",
                "затян",
                "опозд",
                "поздно",
                "медлен",
                "вовремя",
                "оператив",
                "неделями",
                "месяцами",
            ],
            Criterion::WaitingTime => &["очеред", "ожидан", "ждал", "ждать", "ждем", "талон"],
            Criterion::StaffCourtesyCompetence => &[
                "вежлив",
                "груб",
                "хам",
                "компетент",
                "некомпетент",
                "специалист",
                "сотрудник",
                "чиновник",
                "отписк",
                "внимател",
                "профессионал",
            ],
            Criterion::PremisesComfort => &[
                "помещен",
                "душно",
                "холодно",
                "тесно",
                "пандус",
                "туалет",
                "кабинет",
                "здани",
                "парковк",
                "гардероб",
            ],
            Criterion::InformationAvailability => &[
                "информац",
                "сайт",
                "разъясн",
                "непонятн",
                "понятн",
                "объясн",
                "консульт",
                "инструкц",
                "телефон",
            ],
        }
    }
}

/// Scores on the five criteria, in [`Criterion::ALL`]'s order; `None`: not expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Criteria(pub [Option<u8>; 5]);

impl Criteria {
    pub fn get(&self, criterion: Criterion) -> Option<u8> {
        let index = Criterion::ALL
            .iter()
            .position(|c| *c == criterion)
            .unwrap_or(0);
        self.0[index]
    }
}

/// Which criteria a text speaks to: word stems matched at the start of words, in lower
/// case with ё read as е.
fn expressed(text: &str) -> [bool; 5] {
    let words: Vec<String> = text
        .to_lowercase()
        .replace('ё', "е")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    Criterion::ALL.map(|criterion| {
        words
            .iter()
            .any(|w| criterion.stems().iter().any(|stem| w.starts_with(stem)))
    })
}

/// A rating of an answer on the five criteria: the staff's courtesy and competence always,
/// and every other criterion its comment speaks to.
pub fn rating_criteria(score: Score, comment: Option<&str>) -> Criteria {
    let said = expressed(comment.unwrap_or_default());
    let mut criteria = [None; 5];
    for (i, criterion) in Criterion::ALL.into_iter().enumerate() {
        if criterion == Criterion::StaffCourtesyCompetence || said[i] {
            criteria[i] = Some(score.value());
        }
    }
    Criteria(criteria)
}

/// The overall score of a social-media post from the pipeline's sentiment lexicon, which
/// gives only a polarity (`negative`, `neutral`, `positive`), not a strength: a negative
/// post is 2 and a positive one 4, the middle of each side of the scale, never its ends.
/// A neutral (or unknown) sentiment is no opinion.
pub fn sentiment_score(sentiment: &str) -> Option<Score> {
    let value = match sentiment {
        "negative" => 2,
        "positive" => 4,
        _ => return None,
    };
    Score::new(value).ok()
}

/// A post found by social-media monitoring, as an opinion on the five criteria: the overall
/// score from its sentiment, and every criterion its text speaks to at that score. Unlike
/// a rating, a post judges nobody's work unless it says so (no criterion is implied). A
/// post that speaks to no criterion reports a problem rather than judging the service, and
/// a neutral one judges nothing: both are `None`.
pub fn post_opinion(sentiment: &str, text: &str) -> Option<(Score, Criteria)> {
    let score = sentiment_score(sentiment)?;
    let said = expressed(text);
    if !said.contains(&true) {
        return None;
    }
    Some((score, Criteria(said.map(|s| s.then_some(score.value())))))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn score(v: u8) -> Score {
        Score::new(v).unwrap()
    }

    #[test]
    fn a_bare_rating_judges_the_staff_only() {
        let c = rating_criteria(score(4), None);
        assert_eq!(c.0, [None, None, Some(4), None, None]);
    }

    #[test]
    fn a_comment_adds_the_criteria_it_speaks_to() {
        let c = rating_criteria(
            score(2),
            Some("Ждали ответа ДОЛГО, на сайте ничего не разъяснили"),
        );
        assert_eq!(c.get(Criterion::ServiceTime), Some(2));
        assert_eq!(c.get(Criterion::WaitingTime), Some(2));
        assert_eq!(c.get(Criterion::InformationAvailability), Some(2));
        assert_eq!(c.get(Criterion::PremisesComfort), None);
        assert_eq!(c.get(Criterion::StaffCourtesyCompetence), Some(2));
        // «помещение» in a word that is not about premises does not count: only stems
        // at the start of a word.
        let c = rating_criteria(score(5), Some("Всё решили, спасибо"));
        assert_eq!(c.0, [None, None, Some(5), None, None]);
    }

    #[test]
    fn a_post_speaks_only_to_what_it_names() {
        let (overall, c) = post_opinion(
            "negative",
            "В МФЦ огромная ОЧЕРЕДЬ, сотрудники хамят, на сайте пусто",
        )
        .unwrap();
        assert_eq!(overall.value(), 2);
        assert_eq!(c.0, [None, Some(2), Some(2), None, Some(2)]);
        let (overall, c) = post_opinion("positive", "Сделали быстро, спасибо").unwrap();
        assert_eq!(overall.value(), 4);
        assert_eq!(c.0, [Some(4), None, None, None, None]);
    }

    #[test]
    fn a_problem_report_or_a_neutral_post_is_no_opinion() {
        // A problem, not a judgement of the service: no criterion named.
        assert_eq!(post_opinion("negative", "Яма на Советской у дома 3"), None);
        // Named criteria, but no sentiment either way.
        assert_eq!(post_opinion("neutral", "Очередь в МФЦ с утра"), None);
        assert_eq!(post_opinion("", "Очередь в МФЦ с утра"), None);
        assert_eq!(sentiment_score("negative").map(Score::value), Some(2));
        assert_eq!(sentiment_score("positive").map(Score::value), Some(4));
        assert_eq!(sentiment_score("neutral"), None);
    }

    proptest! {
        #[test]
        fn a_post_criterion_is_empty_or_the_overall_score(
            sentiment in prop_oneof![
                Just("negative".to_owned()),
                Just("positive".to_owned()),
                Just("neutral".to_owned()),
                "[a-z]{0,10}"
            ],
            // Random text with the criteria's words mixed in, so both branches are hit.
            text in prop::collection::vec(
                prop_oneof![
                    Just("очередь".to_owned()), Just("Сайт".to_owned()),
                    Just("грубые".to_owned()), Just("яма".to_owned()), "\\PC{0,12}"
                ],
                0..8,
            ).prop_map(|words| words.join(" ")),
        ) {
            match post_opinion(&sentiment, &text) {
                Some((overall, c)) => {
                    prop_assert_eq!(Some(overall), sentiment_score(&sentiment));
                    prop_assert!(c.0.iter().any(Option::is_some), "no criterion: no opinion");
                    prop_assert!(c.0.iter().all(|x| x.is_none() || *x == Some(overall.value())));
                }
                None => prop_assert!(
                    sentiment_score(&sentiment).is_none() || !expressed(&text).contains(&true)
                ),
            }
        }

        #[test]
        fn every_criterion_is_empty_or_the_score(v in 1u8..=5, comment in "\\PC{0,200}") {
            let c = rating_criteria(score(v), Some(&comment));
            prop_assert_eq!(c.get(Criterion::StaffCourtesyCompetence), Some(v));
            prop_assert!(c.0.iter().all(|x| x.is_none() || *x == Some(v)));
        }
    }
}
