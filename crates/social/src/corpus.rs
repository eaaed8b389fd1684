//! The labelled corpus the classifier learns from: JSON Lines files kept in the
//! repository (`crates/social/data/corpus/*.jsonl`) and compiled in, so every node trains
//! the same model from the same posts without reading anything at run time.
//!
//! The held-out split is decided by a hash of each post's words: the same text always
//! falls on the same side (a post and its exact copy cannot be split between training and
//! evaluation), and the split does not change when posts are added.

use crate::signature::mix;
use crate::text::words;
use serde::Deserialize;

/// One labelled post.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub text: String,
    pub relevant: bool,
    pub category: Option<String>,
    pub subcategory: Option<String>,
    /// ISO 3166-2 code of the federal subject the text names, if it names one.
    pub region: Option<String>,
}

/// The corpus files compiled in: (file name, contents).
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "roads-transport.jsonl",
        include_str!("../data/corpus/roads-transport.jsonl"),
    ),
    (
        "housing-urban.jsonl",
        include_str!("../data/corpus/housing-urban.jsonl"),
    ),
    (
        "health-education.jsonl",
        include_str!("../data/corpus/health-education.jsonl"),
    ),
    (
        "ecology-social.jsonl",
        include_str!("../data/corpus/ecology-social.jsonl"),
    ),
    (
        "chatter.jsonl",
        include_str!("../data/corpus/chatter.jsonl"),
    ),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {code}: {detail}")]
pub struct CorpusError {
    pub file: String,
    pub line: usize,
    /// `bad_json`, `label_mismatch` or `empty_text`.
    pub code: &'static str,
    pub detail: String,
}

/// The non-blank lines of a JSON Lines file, each parsed with its 1-based number; a line
/// that is not such a value, or whose `text` is blank, is refused (`bad_json`,
/// `empty_text`). Both corpora (posts here, quality criteria in `criteria`) read so.
pub(crate) fn json_lines<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    text_of: impl Fn(&T) -> &str,
) -> Result<Vec<(usize, T)>, CorpusError> {
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: T = serde_json::from_str(line)
            .map_err(|e| CorpusError::at(file, number, "bad_json", e.to_string()))?;
        if text_of(&parsed).trim().is_empty() {
            return Err(CorpusError::at(file, number, "empty_text", String::new()));
        }
        lines.push((number, parsed));
    }
    Ok(lines)
}

impl CorpusError {
    pub(crate) fn at(file: &str, line: usize, code: &'static str, detail: String) -> Self {
        CorpusError {
            file: file.to_owned(),
            line,
            code,
            detail,
        }
    }
}

/// Parses one JSON Lines file; blank lines are skipped.
pub fn parse(file: &str, text: &str) -> Result<Vec<Example>, CorpusError> {
    let mut examples = Vec::new();
    for (number, example) in json_lines(file, text, |e: &Example| &e.text)? {
        let labelled = example.category.is_some() && example.subcategory.is_some();
        let unlabelled = example.category.is_none() && example.subcategory.is_none();
        if (example.relevant && !labelled) || (!example.relevant && !unlabelled) {
            return Err(CorpusError::at(
                file,
                number,
                "label_mismatch",
                "a relevant post has a category and a subcategory; an irrelevant one has neither"
                    .to_owned(),
            ));
        }
        examples.push(example);
    }
    Ok(examples)
}

/// Every embedded file, parsed.
pub fn embedded() -> Result<Vec<Example>, CorpusError> {
    let mut all = Vec::new();
    for (file, text) in EMBEDDED {
        all.extend(parse(file, text)?);
    }
    Ok(all)
}

/// True for the posts held out for evaluation (about one in five).
pub fn is_held_out(text: &str) -> bool {
    let joined: Vec<String> = words(text).collect();
    mix(joined.join(" ").as_bytes()) % 5 == 0
}

/// (training, held-out).
pub fn split(examples: Vec<Example>) -> (Vec<Example>, Vec<Example>) {
    examples.into_iter().partition(|e| !is_held_out(&e.text))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_corpus_parses_and_is_large_enough() {
        let all = embedded().unwrap();
        assert!(all.len() >= 3000, "{} posts", all.len());
        assert!(all.iter().any(|e| !e.relevant));
    }

    #[test]
    fn the_split_holds_out_about_a_fifth_and_never_splits_a_text() {
        let (train, test) = split(embedded().unwrap());
        let share = test.len() as f64 / (train.len() + test.len()) as f64;
        assert!((0.15..0.25).contains(&share), "{share}");
        let held: std::collections::HashSet<String> = test
            .iter()
            .map(|e| words(&e.text).collect::<Vec<_>>().join(" "))
            .collect();
        assert!(train
            .iter()
            .all(|e| !held.contains(&words(&e.text).collect::<Vec<_>>().join(" "))));
    }

    #[test]
    fn bad_lines_are_named() {
        let err = parse("x.jsonl", "\n{\"text\": 1}").unwrap_err();
        assert_eq!((err.line, err.code), (2, "bad_json"));
        let err = parse(
            "x.jsonl",
            r#"{"text":"a","relevant":true,"category":null,"subcategory":null,"region":null}"#,
        )
        .unwrap_err();
        assert_eq!(err.code, "label_mismatch");
    }
}
