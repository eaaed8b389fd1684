//! Text analysis: the same chain for the documents and for the query.
//!
//! `otklik_ru` (the searched fields): split on anything not alphanumeric, drop tokens over
//! 80 bytes, lower-case, «ё» → «е», drop Russian stop words, Russian Snowball stem.
//! `otklik_raw` (the prefix and typo field): the same without stop words and stemming.

use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    Token, TokenFilter, TokenStream, Tokenizer, TokenizerManager,
};

pub(crate) const RU: &str = "otklik_ru";
pub(crate) const RAW: &str = "otklik_raw";

/// Tokens longer than this many bytes (40 Cyrillic letters) are not indexed.
const MAX_TOKEN_BYTES: usize = 80;

/// Replaces «ё» by «е» (and «Ё» by «Е») in every token: Russian writes both for one letter.
#[derive(Clone, Copy, Debug, Default)]
pub struct YoToYe;

impl TokenFilter for YoToYe {
    type Tokenizer<T: Tokenizer> = YoToYeFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> YoToYeFilter<T> {
        YoToYeFilter { inner: tokenizer }
    }
}

#[derive(Clone)]
pub struct YoToYeFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for YoToYeFilter<T> {
    type TokenStream<'a> = YoToYeStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        YoToYeStream {
            tail: self.inner.token_stream(text),
        }
    }
}

pub struct YoToYeStream<S> {
    tail: S,
}

impl<S: TokenStream> TokenStream for YoToYeStream<S> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        if token.text.contains(['ё', 'Ё']) {
            token.text = token.text.replace('ё', "е").replace('Ё', "Е");
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// The analyzer of the searched (stemmed) fields.
pub fn russian() -> TextAnalyzer {
    let stop_words = StopWordFilter::new(Language::Russian)
        .unwrap_or_else(|| StopWordFilter::remove(Vec::<String>::new()));
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(YoToYe)
        .filter(stop_words)
        .filter(Stemmer::new(Language::Russian))
        .build()
}

/// The analyzer of the raw field: lower-cased words, «ё» → «е», nothing dropped or stemmed.
pub fn raw() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(YoToYe)
        .build()
}

pub(crate) fn register(manager: &TokenizerManager) {
    manager.register(RU, russian());
    manager.register(RAW, raw());
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
