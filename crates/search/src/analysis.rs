//! Text analysis: the same chain for the documents and for the query.
//!
//! `otklik_ru` (the searched fields): words (runs of letters and digits), lower-cased with
//! «ё» → «е», tokens over 80 bytes dropped, Russian stop words dropped, Russian Snowball stems.
//! `otklik_raw` (the prefix and typo field): the same words, neither dropped nor stemmed.
//! `otklik_pairs` (the phrase accelerator): each stem of `otklik_ru` joined to the next one,
//! «яма на дороге» → «ям дорог».
//!
//! Tokenising is most of the cost of indexing, so the words are split and lower-cased in one
//! pass with fast paths for ASCII and Cyrillic, and stems are cached per thread.

use std::cell::RefCell;
use std::collections::HashMap;
use std::str::CharIndices;

use rust_stemmers::{Algorithm, Stemmer};
use tantivy::tokenizer::{
    Language, RemoveLongFilter, StopWordFilter, TextAnalyzer, Token, TokenFilter, TokenStream,
    Tokenizer, TokenizerManager,
};

pub(crate) const RU: &str = "otklik_ru";
pub(crate) const RAW: &str = "otklik_raw";
pub(crate) const PAIRS: &str = "otklik_pairs";

/// Tokens longer than this many bytes (40 Cyrillic letters) are not indexed.
const MAX_TOKEN_BYTES: usize = 80;
/// Stems cached per thread before the cache starts again.
const STEM_CACHE: usize = 100_000;

fn is_word_char(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' | 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' => true,
        c if c.is_ascii() => false,
        c => c.is_alphanumeric(),
    }
}

/// Appends `c` lower-cased, «ё» as «е».
fn push_folded(out: &mut String, c: char) {
    match c {
        'а'..='я' | 'a'..='z' | '0'..='9' => out.push(c),
        'ё' | 'Ё' => out.push('е'),
        'А'..='Я' => out.push(char::from_u32(u32::from(c) + 0x20).unwrap_or(c)),
        'A'..='Z' => out.push(c.to_ascii_lowercase()),
        c => {
            for l in c.to_lowercase() {
                out.push(if l == 'ё' { 'е' } else { l });
            }
        }
    }
}

/// Words: maximal runs of letters and digits (anything else separates them), lower-cased,
/// «ё» → «е».
#[derive(Clone, Default)]
pub struct Words {
    token: Token,
}

pub struct WordsStream<'a> {
    text: &'a str,
    chars: CharIndices<'a>,
    token: &'a mut Token,
}

impl Tokenizer for Words {
    type TokenStream<'a> = WordsStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordsStream<'a> {
        self.token.reset();
        WordsStream {
            text,
            chars: text.char_indices(),
            token: &mut self.token,
        }
    }
}

impl TokenStream for WordsStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        self.token.position = self.token.position.wrapping_add(1);
        let start = loop {
            match self.chars.next() {
                None => return false,
                Some((i, c)) if is_word_char(c) => {
                    push_folded(&mut self.token.text, c);
                    break i;
                }
                Some(_) => {}
            }
        };
        let mut end = self.text.len();
        for (i, c) in self.chars.by_ref() {
            if !is_word_char(c) {
                end = i;
                break;
            }
            push_folded(&mut self.token.text, c);
        }
        self.token.offset_from = start;
        self.token.offset_to = end;
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// The Russian Snowball stemmer, with a per-thread cache of stems.
#[derive(Clone, Copy, Debug, Default)]
pub struct RussianStemmer;

impl TokenFilter for RussianStemmer {
    type Tokenizer<T: Tokenizer> = RussianStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> RussianStemmerFilter<T> {
        RussianStemmerFilter { inner: tokenizer }
    }
}

#[derive(Clone)]
pub struct RussianStemmerFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for RussianStemmerFilter<T> {
    type TokenStream<'a> = RussianStemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        RussianStemmerStream {
            tail: self.inner.token_stream(text),
        }
    }
}

pub struct RussianStemmerStream<S> {
    tail: S,
}

thread_local! {
    static STEMMER: Stemmer = Stemmer::create(Algorithm::Russian);
    static STEMS: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

/// Replaces `word` by its stem.
fn stem_in_place(word: &mut String) {
    STEMS.with(|stems| {
        let mut stems = stems.borrow_mut();
        if let Some(stem) = stems.get(word.as_str()) {
            word.clone_from(stem);
            return;
        }
        let stem = STEMMER.with(|s| s.stem(word).into_owned());
        if stems.len() >= STEM_CACHE {
            stems.clear();
        }
        stems.insert(std::mem::replace(word, stem.clone()), stem);
    });
}

impl<S: TokenStream> TokenStream for RussianStemmerStream<S> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        stem_in_place(&mut self.tail.token_mut().text);
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

fn stop_words() -> StopWordFilter {
    StopWordFilter::new(Language::Russian)
        .unwrap_or_else(|| StopWordFilter::remove(Vec::<String>::new()))
}

/// The analyzer of the searched (stemmed) fields.
pub fn russian() -> TextAnalyzer {
    TextAnalyzer::builder(Words::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(stop_words())
        .filter(RussianStemmer)
        .build()
}

/// The analyzer of the raw field: lower-cased words, «ё» → «е», nothing dropped or stemmed.
pub fn raw() -> TextAnalyzer {
    TextAnalyzer::builder(Words::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .build()
}

/// Each token joined to the next one by a space (the token after a removed stop word counts
/// as the next one); a single token makes nothing. When words were removed between the two
/// (stop words, over-long tokens), the pair is followed by a second token, the two joined by
/// ` _ ` (see [`gapped_pair`]): so the pairs of adjacent words are counted too, as the
/// difference, without reading positions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pairs;

impl TokenFilter for Pairs {
    type Tokenizer<T: Tokenizer> = PairsFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> PairsFilter<T> {
        PairsFilter { inner: tokenizer }
    }
}

#[derive(Clone)]
pub struct PairsFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for PairsFilter<T> {
    type TokenStream<'a> = PairsStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        PairsStream {
            tail: self.inner.token_stream(text),
            previous: None,
            token: Token::default(),
            gapped: None,
        }
    }
}

pub struct PairsStream<S> {
    tail: S,
    /// The previous token's text, start and position.
    previous: Option<(String, usize, usize)>,
    token: Token,
    /// The gapped pair to emit after the pair just emitted.
    gapped: Option<Token>,
}

impl<S: TokenStream> TokenStream for PairsStream<S> {
    fn advance(&mut self) -> bool {
        if let Some(gapped) = self.gapped.take() {
            self.token = gapped;
            return true;
        }
        while self.tail.advance() {
            let current = self.tail.token();
            let next = (current.text.clone(), current.offset_from, current.position);
            if let Some((previous, from, at)) = self.previous.replace(next) {
                self.token.text.clear();
                self.token.text.push_str(&previous);
                self.token.text.push(' ');
                self.token.text.push_str(&current.text);
                self.token.offset_from = from;
                self.token.offset_to = current.offset_to;
                self.token.position = current.position;
                if current.position > at + 1 {
                    let mut gapped = self.token.clone();
                    gapped.text = gapped_pair(&previous, &current.text);
                    self.gapped = Some(gapped);
                }
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// The pairs of consecutive stems.
pub fn pairs() -> TextAnalyzer {
    TextAnalyzer::builder(Words::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(stop_words())
        .filter(RussianStemmer)
        .filter(Pairs)
        .build()
}

/// The text of the pair token of two stems (with or without words removed between them).
pub(crate) fn pair(first: &str, second: &str) -> String {
    format!("{first} {second}")
}

/// The text of the second token of a pair with words removed between its stems (a stem never
/// holds `_`, which is not alphanumeric).
pub(crate) fn gapped_pair(first: &str, second: &str) -> String {
    format!("{first} _ {second}")
}

pub(crate) fn register(manager: &TokenizerManager) {
    manager.register(RU, russian());
    manager.register(RAW, raw());
    manager.register(PAIRS, pairs());
}

/// The tokens `analyzer` makes of `text` (text, byte offsets, position).
pub(crate) fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<Token> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().clone());
    }
    out
}

/// `text` through `analyzer`, as the token texts only.
pub fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    tokens(analyzer, text).into_iter().map(|t| t.text).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_russian_chain() {
        assert_eq!(
            analyze(&mut russian(), "Ёлки и ЯМЫ на дорогах, её не убрали!"),
            ["елк", "ям", "дорог", "убра"]
        );
        assert_eq!(analyze(&mut raw(), "Ёлки и ЯМЫ"), ["елки", "и", "ямы"]);
        let long = "а".repeat(41);
        assert!(analyze(&mut raw(), &long).is_empty());
    }

    #[test]
    fn words_split_and_fold_like_unicode() {
        let text = "Ёж,ЁЛКА-2026 ŒUVRE Ǆ straße\u{301}x Ⅻ ½ 𝔸 — ab_c";
        let mut expected = Vec::new();
        let mut word = String::new();
        for c in text.chars() {
            if c.is_alphanumeric() {
                for l in c.to_lowercase() {
                    word.push(if l == 'ё' { 'е' } else { l });
                }
            } else if !word.is_empty() {
                expected.push(std::mem::take(&mut word));
            }
        }
        expected.push(word);
        assert_eq!(analyze(&mut raw(), text), expected);
        let mut stream = raw();
        let toks = tokens(&mut stream, "  Ёж, ёлка");
        assert_eq!(
            toks.iter()
                .map(|t| (t.offset_from, t.offset_to, t.position))
                .collect::<Vec<_>>(),
            [(2, 6, 0), (8, 16, 1)]
        );
    }

    #[test]
    fn stems_are_cached_and_the_same() {
        for _ in 0..3 {
            assert_eq!(
                analyze(&mut russian(), "дорогами дороги"),
                ["дорог", "дорог"]
            );
        }
    }

    #[test]
    fn pairs_of_consecutive_stems() {
        assert_eq!(
            analyze(&mut pairs(), "Яма на дороге, у школы"),
            ["ям дорог", "ям _ дорог", "дорог школ", "дорог _ школ"]
        );
        // Adjacent words make one token; words removed between them (stop words, an over-long
        // token) a second one.
        let long = "ж".repeat(41);
        assert_eq!(
            analyze(&mut pairs(), &format!("Яма дороги {long} школа дороги")),
            ["ям дорог", "дорог школ", "дорог _ школ", "школ дорог"]
        );
        assert!(analyze(&mut pairs(), "яма").is_empty());
        assert!(analyze(&mut pairs(), "").is_empty());
    }
}
