//! HTML to plain text, simply: tags dropped (block elements become line breaks, scripts
//! and styles with their content), character references decoded, whitespace collapsed.
//! Not a browser: enough for a feed item's description.

/// A named character reference's character (the common ones; HTML's full table has
/// two thousand, feeds use these).
pub(crate) fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" => '\u{00A0}',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "thinsp" => '\u{2009}',
        "zwnj" => '\u{200C}',
        "zwj" => '\u{200D}',
        "lrm" => '\u{200E}',
        "rlm" => '\u{200F}',
        "shy" => '\u{00AD}',
        "ndash" => '–',
        "mdash" => '—',
        "minus" => '−',
        "hellip" => '…',
        "laquo" => '«',
        "raquo" => '»',
        "lsaquo" => '‹',
        "rsaquo" => '›',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "prime" => '′',
        "Prime" => '″',
        "middot" => '·',
        "bull" => '•',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "numero" => '№',
        "sect" => '§',
        "para" => '¶',
        "deg" => '°',
        "plusmn" => '±',
        "times" => '×',
        "divide" => '÷',
        "frac12" => '½',
        "frac14" => '¼',
        "frac34" => '¾',
        "sup2" => '²',
        "sup3" => '³',
        "micro" => 'µ',
        "euro" => '€',
        "cent" => '¢',
        "pound" => '£',
        "yen" => '¥',
        "curren" => '¤',
        "larr" => '←',
        "rarr" => '→',
        "uarr" => '↑',
        "darr" => '↓',
        "harr" => '↔',
        "iexcl" => '¡',
        "iquest" => '¿',
        "acute" => '´',
        "uml" => '¨',
        "ordf" => 'ª',
        "ordm" => 'º',
        "not" => '¬',
        "macr" => '¯',
        "cedil" => '¸',
        "agrave" => 'à',
        "aacute" => 'á',
        "eacute" => 'é',
        "egrave" => 'è',
        "ecirc" => 'ê',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "auml" => 'ä',
        "szlig" => 'ß',
        "ccedil" => 'ç',
        "ntilde" => 'ñ',
        _ => return None,
    })
}

/// `#1234`, `#x4D2` or a name: the character it stands for.
pub(crate) fn decode_reference(reference: &str) -> Option<char> {
    if let Some(num) = reference.strip_prefix('#') {
        let code = if let Some(hex) = num.strip_prefix(['x', 'X']) {
            u32::from_str_radix(hex, 16).ok()?
        } else {
            num.parse::<u32>().ok()?
        };
        return match code {
            0 => Some('\u{FFFD}'),
            // Windows-1252's C1 block, as browsers read it.
            0x80..=0x9F => Some(windows_1252_c1(code)),
            _ => char::from_u32(code).or(Some('\u{FFFD}')),
        };
    }
    named_entity(reference)
}

fn windows_1252_c1(code: u32) -> char {
    const TABLE: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    TABLE
        .get((code - 0x80) as usize)
        .copied()
        .unwrap_or('\u{FFFD}')
}

fn is_block(tag: &str) -> bool {
    matches!(
        tag,
        "p" | "br"
            | "div"
            | "li"
            | "ul"
            | "ol"
            | "tr"
            | "table"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "blockquote"
            | "hr"
            | "pre"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "figure"
            | "figcaption"
            | "dd"
            | "dt"
    )
}

/// Decodes character references only (`&amp;` → `&`); unknown ones stay as written.
pub(crate) fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let (c, used) = reference_at(rest);
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `s` starts with `&`: the character and the bytes used, if it is a reference.
fn reference_at(s: &str) -> (Option<char>, usize) {
    let body = &s[1..];
    let end = body
        .char_indices()
        .take(33)
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '#'))
        .map(|(i, c)| (i, c == ';'));
    match end {
        Some((i, true)) if i > 0 => (decode_reference(&body[..i]), i + 2),
        _ => (None, 0),
    }
}

/// HTML to text.
pub(crate) fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find(['<', '&']) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if rest.starts_with('&') {
            let (c, used) = reference_at(rest);
            match c {
                Some(c) => {
                    out.push(c);
                    rest = &rest[used..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
            continue;
        }
        // '<': a tag only when followed by a letter, '/', '!' or '?'.
        let next = rest[1..].chars().next();
        if !next.is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?')) {
            out.push('<');
            rest = &rest[1..];
            continue;
        }
        if rest.starts_with("<!--") {
            rest = match rest.find("-->") {
                Some(end) => &rest[end + 3..],
                None => "",
            };
            continue;
        }
        let Some(close) = rest.find('>') else {
            // An unclosed tag at the end: drop it.
            rest = "";
            break;
        };
        let inner = &rest[1..close];
        let closing = inner.starts_with('/');
        let name: String = inner
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        rest = &rest[close + 1..];
        if !closing && (name == "script" || name == "style") {
            let end_tag = format!("</{name}");
            rest = match find_ignore_case(rest, &end_tag) {
                Some(end) => match rest[end..].find('>') {
                    Some(gt) => &rest[end + gt + 1..],
                    None => "",
                },
                None => "",
            };
            continue;
        }
        if is_block(&name) {
            out.push('\n');
        }
    }
    out.push_str(rest);
    collapse_whitespace(&out)
}

/// Where `needle` (ASCII) first occurs in `hay`, ignoring ASCII case.
fn find_ignore_case(hay: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    hay.as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Runs of spaces become one space, lines are trimmed, more than one empty line in a row
/// becomes one.
pub(crate) fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank_lines = 0usize;
    for line in s.split('\n') {
        let mut words = line
            .split(|c: char| c.is_whitespace())
            .filter(|w| !w.is_empty())
            .peekable();
        if words.peek().is_none() {
            blank_lines += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_lines > 0 { "\n\n" } else { "\n" });
        }
        blank_lines = 0;
        let mut first = true;
        for w in words {
            if !first {
                out.push(' ');
            }
            out.push_str(w);
            first = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn strips_tags_and_decodes() {
        assert_eq!(
            to_text("<p>Яма &amp; лужа &lt;здесь&gt; &#8212; &#x2014; &mdash;</p><p>Второй&nbsp;абзац</p>"),
            "Яма & лужа <здесь> — — —\n\nВторой абзац"
        );
        assert_eq!(to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(to_text("AT&T &unknown; &;"), "AT&T &unknown; &;");
        assert_eq!(
            to_text("x<script>alert('<b>')</script>y<STYLE>p{}</STYLE>z"),
            "xyz"
        );
        assert_eq!(to_text("a<!-- <p>hidden</p> -->b"), "ab");
        assert_eq!(to_text("line<br/>break<br>again"), "line\nbreak\nagain");
        assert_eq!(to_text("text <a href=\"x\">link</a> end"), "text link end");
        assert_eq!(to_text("broken <a href="), "broken");
        assert_eq!(to_text("&#0;&#x110000;&#150;"), "\u{FFFD}\u{FFFD}–");
        assert_eq!(to_text("  many   \n\n\n\n spaces  "), "many\n\nspaces");
    }

    #[test]
    fn entity_only_decoding() {
        assert_eq!(decode_entities("&lt;b&gt; &amp;amp; &copy;"), "<b> &amp; ©");
        assert_eq!(decode_entities("tail &"), "tail &");
        assert_eq!(decode_entities("&#1071;&#x44f;"), "Яя");
    }
}
