//! Opinions about the quality of public services, on the federal quality-monitoring scale
//! (ИАС МКГУ, «Ваш контроль»): 1 to 5 points on five criteria, a criterion the opinion
//! does not express left empty (seed 7¹ ¶2, `docs/QUALITY_FEED.md`).
//!
//! A citizen's rating of an answer judges the work of the staff who answered (courtesy
//! and competence); its comment may speak to other criteria too — how long it took,
//! queues, premises, information — and those take the same score. The mapping is
//! versioned ([`MAPPING_VERSION`]), so a receiver knows which rules produced a record.

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

/// A rating of an answer on the five criteria: the staff's courtesy and competence always,
/// and every other criterion its comment speaks to.
pub fn rating_criteria(score: Score, comment: Option<&str>) -> Criteria {
    let words: Vec<String> = comment
        .unwrap_or_default()
        .to_lowercase()
        .replace('ё', "е")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let speaks_to = |criterion: Criterion| {
        criterion == Criterion::StaffCourtesyCompetence
            || words
                .iter()
                .any(|w| criterion.stems().iter().any(|stem| w.starts_with(stem)))
    };
    Criteria(Criterion::ALL.map(|c| speaks_to(c).then_some(score.value())))
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

    proptest! {
        #[test]
        fn every_criterion_is_empty_or_the_score(v in 1u8..=5, comment in "\\PC{0,200}") {
            let c = rating_criteria(score(v), Some(&comment));
            prop_assert_eq!(c.get(Criterion::StaffCourtesyCompetence), Some(v));
            prop_assert!(c.0.iter().all(|x| x.is_none() || *x == Some(v)));
        }
    }
}
