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
//!
//! Which criteria a text speaks to is decided outside this crate and passed in as an
//! [`Expressed`]: since version 2 by the trained criteria model of `otklik-social`
//! (`otklik_social::criteria`), which combines it, criterion by criterion, with the word
//! stems of version 1 ([`stem_criteria`]) where that measured better. The domain keeps the
//! rules that turn those decisions into scores, and the stems, and reads no model.

use crate::lifecycle::Score;

/// The version of the mapping (and of the feed's record format). Version 1 found the
/// criteria by word stems alone; version 2 by the trained model of `otklik-social`
/// combined with the stems (`docs/QUALITY_FEED.md`).
pub const MAPPING_VERSION: &str = "2";

/// Which of the five criteria a text speaks to, in [`Criterion::ALL`]'s order.
pub type Expressed = [bool; 5];

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

    /// Word stems (lower case, ё as е) by which a comment speaks to the criterion
    /// (version 1's rules; [`stem_criteria`]).
    pub fn stems(self) -> &'static [&'static str] {
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

/// Which criteria a text speaks to by the word stems of version 1 ([`Criterion::stems`]):
/// stems matched at the start of words, in lower case with ё read as е. Version 2 uses
/// them where they measured better than the model (`otklik_social::criteria`).
pub fn stem_criteria(text: &str) -> Expressed {
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
/// and every other criterion its comment speaks to (`said`: what the comment expresses;
/// all `false` without a comment).
pub fn rating_criteria(score: Score, said: Expressed) -> Criteria {
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
/// a neutral one judges nothing: both are `None`. `said`: what the post's text expresses.
pub fn post_opinion(sentiment: &str, said: Expressed) -> Option<(Score, Criteria)> {
    let score = sentiment_score(sentiment)?;
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

    const NOTHING: Expressed = [false; 5];

    #[test]
    fn a_bare_rating_judges_the_staff_only() {
        let c = rating_criteria(score(4), NOTHING);
        assert_eq!(c.0, [None, None, Some(4), None, None]);
    }

    #[test]
    fn a_comment_adds_the_criteria_it_speaks_to() {
        let c = rating_criteria(score(2), [true, true, false, false, true]);
        assert_eq!(c.get(Criterion::ServiceTime), Some(2));
        assert_eq!(c.get(Criterion::WaitingTime), Some(2));
        assert_eq!(c.get(Criterion::InformationAvailability), Some(2));
        assert_eq!(c.get(Criterion::PremisesComfort), None);
        assert_eq!(c.get(Criterion::StaffCourtesyCompetence), Some(2));
        // The staff are judged whatever the comment says.
        let c = rating_criteria(score(5), [false, false, false, true, false]);
        assert_eq!(c.0, [None, None, Some(5), Some(5), None]);
    }

    #[test]
    fn the_stems_of_version_1_match_at_the_start_of_words() {
        assert_eq!(
            stem_criteria("Ждали ответа ДОЛГО, на сайте ничего не разъяснили"),
            [true, true, false, false, true]
        );
        assert_eq!(
            stem_criteria("В МФЦ огромная ОЧЕРЕДЬ, сотрудники хамят, на сайте пусто"),
            [false, true, true, false, true]
        );
        // Only at the start of a word: «переждали» is not «ждали».
        assert_eq!(stem_criteria("Всё решили, спасибо"), NOTHING);
        assert_eq!(stem_criteria("переждали дождь"), NOTHING);
        assert_eq!(
            stem_criteria("Ещё ОЧЕРЁДНОЙ раз"),
            [false, true, false, false, false]
        );
    }

    #[test]
    fn a_post_speaks_only_to_what_it_names() {
        let (overall, c) = post_opinion("negative", [false, true, true, false, true]).unwrap();
        assert_eq!(overall.value(), 2);
        assert_eq!(c.0, [None, Some(2), Some(2), None, Some(2)]);
        let (overall, c) = post_opinion("positive", [true, false, false, false, false]).unwrap();
        assert_eq!(overall.value(), 4);
        assert_eq!(c.0, [Some(4), None, None, None, None]);
    }

    #[test]
    fn a_problem_report_or_a_neutral_post_is_no_opinion() {
        // A problem, not a judgement of the service: no criterion named.
        assert_eq!(post_opinion("negative", NOTHING), None);
        // Named criteria, but no sentiment either way.
        let waiting = [false, true, false, false, false];
        assert_eq!(post_opinion("neutral", waiting), None);
        assert_eq!(post_opinion("", waiting), None);
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
            said in prop::array::uniform5(any::<bool>()),
        ) {
            match post_opinion(&sentiment, said) {
                Some((overall, c)) => {
                    prop_assert_eq!(Some(overall), sentiment_score(&sentiment));
                    prop_assert!(c.0.iter().any(Option::is_some), "no criterion: no opinion");
                    prop_assert!(c.0.iter().all(|x| x.is_none() || *x == Some(overall.value())));
                    // Exactly what the text expresses is filled.
                    prop_assert_eq!(c.0.map(|x| x.is_some()), said);
                }
                None => prop_assert!(
                    sentiment_score(&sentiment).is_none() || !said.contains(&true)
                ),
            }
        }

        #[test]
        fn every_criterion_is_empty_or_the_score(
            v in 1u8..=5,
            said in prop::array::uniform5(any::<bool>()),
        ) {
            let c = rating_criteria(score(v), said);
            prop_assert_eq!(c.get(Criterion::StaffCourtesyCompetence), Some(v));
            prop_assert!(c.0.iter().all(|x| x.is_none() || *x == Some(v)));
            for (i, criterion) in Criterion::ALL.into_iter().enumerate() {
                if criterion != Criterion::StaffCourtesyCompetence {
                    prop_assert_eq!(c.0[i].is_some(), said[i]);
                }
            }
        }

        #[test]
        fn the_stems_never_panic_and_ignore_case(
            any_text in "\\PC{0,200}",
            text in "[а-яА-ЯёЁa-zA-Z0-9 ,.!?-]{0,200}",
        ) {
            stem_criteria(&any_text);
            let said = stem_criteria(&text);
            prop_assert_eq!(stem_criteria(&text.to_uppercase()), said);
        }
    }
}
