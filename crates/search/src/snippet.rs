//! The snippet of a hit: the stretch of its text with the most matches, HTML-escaped, the
//! matches in `<mark>`.

use tantivy::tokenizer::TextAnalyzer;

use crate::analysis::tokens;
use crate::query::{within_distance, Plan};

/// The snippet's length in characters (about two lines).
pub(crate) const SNIPPET_CHARS: usize = 200;
/// Characters of context kept before the first match of the window.
const LEAD_CHARS: usize = 30;

/// What marks a word of the text: the query's stems, prefixes and, after a typo fallback,
/// words within the edit distance.
pub(crate) struct Marker<'p> {
    plan: &'p Plan,
    fuzzy: bool,
}

impl<'p> Marker<'p> {
    pub fn new(plan: &'p Plan, fuzzy: bool) -> Self {
        Marker { plan, fuzzy }
    }

    fn stem_matches(&self, stem: &str) -> bool {
        self.plan.words.iter().any(|w| {
            w.stem == stem
                || (self.fuzzy
                    && Plan::fuzzy_distance(w).is_some_and(|d| within_distance(&w.stem, stem, d)))
        }) || self
            .plan
            .phrases
            .iter()
            .any(|p| p.iter().any(|(_, s)| s == stem))
    }

    fn raw_matches(&self, raw: &str) -> bool {
        self.plan
            .prefixes
            .iter()
            .any(|p| raw.starts_with(p.as_str()))
            || (self.fuzzy
                && self.plan.words.iter().any(|w| {
                    Plan::fuzzy_distance(w).is_some_and(|d| within_distance(&w.raw, raw, d))
                }))
    }

    /// The byte ranges of `text` to mark, sorted and disjoint.
    fn spans(
        &self,
        text: &str,
        ru: &mut TextAnalyzer,
        raw: &mut TextAnalyzer,
    ) -> Vec<(usize, usize)> {
        let mut spans: Vec<(usize, usize)> = tokens(ru, text)
            .into_iter()
            .filter(|t| self.stem_matches(&t.text))
            .map(|t| (t.offset_from, t.offset_to))
            .collect();
        if !self.plan.prefixes.is_empty() || self.fuzzy {
            spans.extend(
                tokens(raw, text)
                    .into_iter()
                    .filter(|t| self.raw_matches(&t.text))
                    .map(|t| (t.offset_from, t.offset_to)),
            );
        }
        spans.sort_unstable();
        spans.dedup();
        let mut disjoint: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
        for (from, to) in spans {
            match disjoint.last_mut() {
                Some(last) if from < last.1 => last.1 = last.1.max(to),
                _ => disjoint.push((from, to)),
            }
        }
        disjoint
    }
}

/// The snippet of `text` for the query.
pub(crate) fn snippet(
    text: &str,
    marker: Option<&Marker<'_>>,
    ru: &mut TextAnalyzer,
    raw: &mut TextAnalyzer,
) -> String {
    let spans = marker.map_or_else(Vec::new, |m| m.spans(text, ru, raw));
    // Byte offset of every character, and the end.
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let chars = bounds.len() - 1;
    let char_at = |byte: usize| bounds.partition_point(|&b| b < byte);

    // The window: starting a little before the match that begins the densest run.
    let mut start = 0;
    if let Some(best) = densest(&spans, &char_at) {
        start = char_at(spans[best].0).saturating_sub(LEAD_CHARS);
    }
    let mut end = (start + SNIPPET_CHARS).min(chars);
    if end == chars {
        start = end.saturating_sub(SNIPPET_CHARS);
    }
    // Do not cut words: move inwards to a space, if one is near.
    let is_space = |c: usize| text[bounds[c]..].starts_with(char::is_whitespace);
    if start > 0 {
        if let Some(s) = (start..(start + 20).min(end)).find(|&c| is_space(c)) {
            start = s + 1;
        }
    }
    if end < chars {
        if let Some(e) = (end.saturating_sub(20).max(start)..end)
            .rev()
            .find(|&c| is_space(c))
        {
            end = e;
        }
    }
    let (from, to) = (bounds[start], bounds[end]);

    let mut out = String::with_capacity((to - from) + 64);
    if start > 0 {
        out.push('…');
    }
    let mut at = from;
    for &(s, e) in &spans {
        if e <= from || s >= to {
            continue;
        }
        let (s, e) = (s.max(from), e.min(to));
        escape_into(&mut out, &text[at..s]);
        out.push_str("<mark>");
        escape_into(&mut out, &text[s..e]);
        out.push_str("</mark>");
        at = e;
    }
    escape_into(&mut out, &text[at..to]);
    if end < chars {
        out.push('…');
    }
    out
}

/// The index of the span starting the window of `SNIPPET_CHARS` with the most spans.
fn densest(spans: &[(usize, usize)], char_at: &dyn Fn(usize) -> usize) -> Option<usize> {
    let starts: Vec<usize> = spans.iter().map(|s| char_at(s.0)).collect();
    let mut best: Option<(usize, usize)> = None; // (index, count)
    let mut j = 0;
    for i in 0..starts.len() {
        j = j.max(i);
        while j < starts.len() && starts[j] < starts[i] + SNIPPET_CHARS - LEAD_CHARS {
            j += 1;
        }
        let count = j - i;
        if best.is_none_or(|(_, c)| count > c) {
            best = Some((i, count));
        }
    }
    best.map(|(i, _)| i)
}

/// Appends `text` escaped for HTML text and attribute values.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::analysis::{raw, russian};
    use crate::query::parse;

    fn snip(text: &str, query: &str) -> String {
        let (mut ru, mut rw) = (russian(), raw());
        let plan = parse(query, &mut ru, &mut rw).unwrap().unwrap();
        let marker = Marker::new(&plan, false);
        snippet(text, Some(&marker), &mut ru, &mut rw)
    }

    #[test]
    fn marks_and_escapes() {
        assert_eq!(
            snip("Яма <b>на</b> дороге & во дворе", "дорога"),
            "Яма &lt;b&gt;на&lt;/b&gt; <mark>дороге</mark> &amp; во дворе"
        );
    }

    #[test]
    fn finds_the_window_of_matches_in_a_long_text() {
        let filler = "слово ".repeat(100);
        let text = format!("{filler}тут разбитая дорога {filler}");
        let s = snip(&text, "дорога");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<mark>дорога</mark>"), "{s}");
        assert!(s.chars().count() < SNIPPET_CHARS + 30, "{s}");
    }

    #[test]
    fn without_matches_the_start_of_the_text() {
        let text = "а".repeat(500);
        let s = snip(&text, "дорога");
        assert!(s.ends_with('…'));
        assert!(!s.contains("<mark>"));
    }
}
