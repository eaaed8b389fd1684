//! Normalisation: what a post's text becomes before anything reads it. Links and emoji
//! are taken out (and kept aside), control characters dropped, whitespace collapsed, the
//! language guessed from the script. Words are lower-cased with «ё» read as «е», so that
//! «ещё» and «еще» are one word for the classifier, the signatures and the gazetteer.

use serde::{Deserialize, Serialize};

/// The longest text the pipeline reads, in bytes; connectors quarantine longer items, and
/// this is the second line of defence (a post is cut here, at a character boundary).
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// The language of a post, as far as its letters tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Mostly Cyrillic letters.
    Ru,
    /// Mostly Latin letters.
    En,
    /// Too few letters to tell (emoji, digits, links only).
    Unknown,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Ru => "ru",
            Language::En => "en",
            Language::Unknown => "und",
        }
    }
}

/// A post's text after clean-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Normalised {
    /// Readable text: no links, no emoji, no control characters, single spaces.
    pub text: String,
    pub links: Vec<String>,
    pub emoji: Vec<char>,
    pub language: Language,
}

/// Why a text is not worth reading at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// Nothing but whitespace, links, emoji or punctuation.
    Empty,
    /// More than a quarter of the characters are control or replacement characters:
    /// binary data that happened to decode.
    NotText,
}

impl Unreadable {
    pub fn code(self) -> &'static str {
        match self {
            Unreadable::Empty => "empty",
            Unreadable::NotText => "not_text",
        }
    }
}

/// Cleans `raw` up; refuses binary garbage.
pub fn normalise(raw: &str) -> Result<Normalised, Unreadable> {
    let raw = cut_at_boundary(raw, MAX_TEXT_BYTES);
    let total = raw.chars().count().max(1);
    let junk = raw
        .chars()
        .filter(|c| (c.is_control() && !c.is_whitespace()) || *c == '\u{FFFD}')
        .count();
    if junk * 4 > total {
        return Err(Unreadable::NotText);
    }
    let mut text = String::with_capacity(raw.len());
    let mut links = Vec::new();
    let mut emoji = Vec::new();
    for word in raw.split_whitespace() {
        if is_link(word) {
            links.push(word.trim_end_matches([',', '.', ')', '!', '?']).to_owned());
            continue;
        }
        let mut kept = false;
        for c in word.chars() {
            if is_emoji(c) {
                emoji.push(c);
            } else if !c.is_control() && !is_invisible(c) {
                if !kept && !text.is_empty() {
                    text.push(' ');
                }
                kept = true;
                text.push(c);
            }
        }
    }
    if !text.chars().any(char::is_alphanumeric) {
        return Err(Unreadable::Empty);
    }
    let language = language_of(&text);
    Ok(Normalised {
        text,
        links,
        emoji,
        language,
    })
}

/// The words of `text`: runs of letters and digits, lower-cased, «ё» as «е».
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(fold_word)
}

/// Lower case with «ё» folded into «е».
pub fn fold_word(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect()
}

fn language_of(text: &str) -> Language {
    let (mut cyrillic, mut latin) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        if ('\u{0400}'..='\u{04FF}').contains(&c) {
            cyrillic += 1;
        } else if c.is_ascii_alphabetic() {
            latin += 1;
        }
    }
    match (cyrillic, latin) {
        (0, 0) => Language::Unknown,
        (c, l) if c >= l => Language::Ru,
        _ => Language::En,
    }
}

fn is_link(word: &str) -> bool {
    let lower = word.trim_start_matches(['(', '«', '"']);
    ["http://", "https://", "www.", "t.me/", "vk.com/", "vk.cc/"]
        .iter()
        .any(|prefix| {
            lower.len() > prefix.len()
                && lower
                    .get(..prefix.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        })
}

/// Pictographs, symbols and their modifiers: the blocks emoji live in.
fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2190..=0x21FF)
}

/// Zero-width joiners, variation selectors and the like: they glue emoji together.
fn is_invisible(c: char) -> bool {
    matches!(c as u32, 0x200B..=0x200F | 0xFE00..=0xFE0F | 0x2060..=0x2064 | 0xFEFF)
}

/// The longest prefix of `text` of at most `limit` bytes ending at a character boundary.
pub fn cut_at_boundary(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn links_and_emoji_are_taken_aside() {
        let n = normalise("Яма 🕳️ на Ленина!!! фото https://vk.com/photo1, 😡😡").unwrap();
        assert_eq!(n.text, "Яма на Ленина!!! фото");
        assert_eq!(n.links, vec!["https://vk.com/photo1"]);
        assert_eq!(n.emoji, vec!['🕳', '😡', '😡']);
        assert_eq!(n.language, Language::Ru);
    }

    #[test]
    fn whitespace_and_control_characters_collapse() {
        let n = normalise("  нет\tгорячей\n\n воды\u{7} ").unwrap();
        assert_eq!(n.text, "нет горячей воды");
    }

    #[test]
    fn binary_garbage_is_not_text() {
        let garbage: String = (0u8..64).map(|b| (b % 20) as char).collect();
        assert_eq!(normalise(&garbage), Err(Unreadable::NotText));
        assert_eq!(normalise("🤬🤬 https://t.me/x"), Err(Unreadable::Empty));
    }

    #[test]
    fn language_follows_the_script() {
        assert_eq!(normalise("hello world").unwrap().language, Language::En);
        assert_eq!(normalise("123 456").unwrap().language, Language::Unknown);
    }

    #[test]
    fn words_fold_case_and_yo() {
        let w: Vec<String> = words("ЕЩЁ раз, Ёлки-палки 2024").collect();
        assert_eq!(w, ["еще", "раз", "елки", "палки", "2024"]);
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        let long = "ж".repeat(MAX_TEXT_BYTES);
        let n = normalise(&long).unwrap();
        assert!(n.text.len() <= MAX_TEXT_BYTES);
    }
}
