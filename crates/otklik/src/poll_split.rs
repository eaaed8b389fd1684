//! Splitting a published list's `ballots` array into raw entries on every core.
//!
//! The recount's one serial step was serde_json's scan of the whole list (1.5 GB at 20
//! million ballots) into raw entries. Here the array is cut at guessed entry starts
//! (`,{"answers"` as the server writes entries, or `,{"ballot_id"`), each part is scanned
//! on its own core, and the guess is accepted only when it is proven:
//! - every part is a comma-separated run of JSON values that ends exactly where the next
//!   part starts, and the last one at the array's `]`, so the parts are the array's
//!   elements (a parse from the array's first element is deterministic);
//! - the document with that array replaced by `["<random nonce>"]` parses as a published
//!   list whose `ballots` is exactly that nonce, so the array cut is the top-level
//!   `ballots` member and not a look-alike inside a question's text.
//!
//! Anything else — another layout, a malformed file, a look-alike — gives `None`, and the
//! caller parses the whole document serially, which also gives the same error messages.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// Where the guessed parts start: an entry's `{` after the previous entry's comma, with
/// either of its keys first. (Inside a JSON string a `"` is escaped, so neither can be
/// found in a text; a look-alike nested in an answer makes the proof fail.)
const ENTRY_STARTS: [&str; 2] = [",{\"answers\"", ",{\"ballot_id\""];

/// The array member `key` of `text` cut into `parts` parts scanned in parallel, with the
/// rest of the document parsed as `H` (`H::ballots` must be the array's elements as raw
/// values); `None` when the split cannot be proven (see the module's comment).
pub fn split_ballots<'a, H>(text: &'a str, parts: usize) -> Option<(H, Vec<&'a RawValue>)>
where
    H: DeserializeOwned + HasBallots,
{
    let open = array_start(text)?;
    let first = skip_whitespace(text, open + 1);
    if text.as_bytes().get(first) == Some(&b']') {
        return None; // empty: nothing to gain
    }
    let starts = part_starts(text, first, parts);
    let scanned: Vec<Option<Part<'a>>> = {
        use rayon::prelude::*;
        starts
            .par_iter()
            .enumerate()
            .map(|(n, &from)| scan_part(text, from, starts.get(n + 1).copied()))
            .collect()
    };
    let mut ballots = Vec::new();
    let mut close = None;
    for part in scanned {
        let part = part?;
        ballots.extend(part.values);
        close = part.close;
    }
    let close = close?;
    let nonce = format!("otklik-split-{:032x}", rand::random::<u128>());
    let rest = format!("{}[\"{nonce}\"]{}", &text[..open], &text[close + 1..]);
    let head: H = serde_json::from_str(&rest).ok()?;
    let proven = matches!(head.ballots(), [only] if only.get() == format!("\"{nonce}\""));
    proven.then_some((head, ballots))
}

/// A header type whose `ballots` member, parsed from the document with the array
/// replaced, is checked to be the sentinel.
pub trait HasBallots {
    fn ballots(&self) -> &[Box<RawValue>];
}

/// The `[` of the first `"ballots"` member (a look-alike is caught by the sentinel).
fn array_start(text: &str) -> Option<usize> {
    let key = text.find("\"ballots\"")?;
    let colon = skip_whitespace(text, key + "\"ballots\"".len());
    (text.as_bytes().get(colon) == Some(&b':')).then_some(())?;
    let open = skip_whitespace(text, colon + 1);
    (text.as_bytes().get(open) == Some(&b'[')).then_some(open)
}

fn skip_whitespace(text: &str, mut at: usize) -> usize {
    let bytes = text.as_bytes();
    while bytes
        .get(at)
        .is_some_and(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
    {
        at += 1;
    }
    at
}

/// The first part starts at the array's first element; each other at the first guessed
/// entry start after an even share of the text, if there is one.
fn part_starts(text: &str, first: usize, parts: usize) -> Vec<usize> {
    let mut starts = vec![first];
    let share = (text.len() - first) / parts.max(1);
    for n in 1..parts {
        let mut from = (first + n * share).max(starts[starts.len() - 1] + 1);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        let tail = &text[from..];
        let Some(found) = ENTRY_STARTS
            .iter()
            .filter_map(|start| tail.find(start))
            .min()
            .map(|at| from + at + 1)
        else {
            break;
        };
        starts.push(found);
    }
    starts
}

/// One part's values and, for the last part, the position of the array's `]`.
struct Part<'a> {
    values: Vec<&'a RawValue>,
    close: Option<usize>,
}

/// Scans the values from `from`: each followed by a comma, up to `until` (the next part's
/// start, right after a comma), or for the last part by the array's `]`. `None` when the
/// text is anything else.
fn scan_part(text: &str, from: usize, until: Option<usize>) -> Option<Part<'_>> {
    let end = until.unwrap_or(text.len());
    let mut values = Vec::new();
    let mut at = from;
    loop {
        let mut stream =
            serde_json::Deserializer::from_str(text.get(at..end)?).into_iter::<&RawValue>();
        values.push(stream.next()?.ok()?);
        at = skip_whitespace(text, at + stream.byte_offset());
        match (text.as_bytes().get(at), until) {
            (Some(b','), Some(until)) if at + 1 == until => {
                return Some(Part {
                    values,
                    close: None,
                })
            }
            (Some(b','), _) => at = skip_whitespace(text, at + 1),
            (Some(b']'), None) => {
                return Some(Part {
                    values,
                    close: Some(at),
                })
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Head {
        questions: serde_json::Value,
        ballots: Vec<Box<RawValue>>,
    }

    impl HasBallots for Head {
        fn ballots(&self) -> &[Box<RawValue>] {
            &self.ballots
        }
    }

    /// What a serial parse gives: the questions and the entries' texts, or `None`.
    fn serial(text: &str) -> Option<(serde_json::Value, Vec<String>)> {
        let head: Head = serde_json::from_str(text).ok()?;
        let entries = head.ballots.iter().map(|b| b.get().to_owned()).collect();
        Some((head.questions, entries))
    }

    fn split(text: &str, parts: usize) -> Option<(serde_json::Value, Vec<String>)> {
        let (head, ballots) = split_ballots::<Head>(text, parts)?;
        let entries = ballots.iter().map(|b| b.get().to_owned()).collect();
        Some((head.questions, entries))
    }

    fn list(questions: &str, entries: &[String]) -> String {
        format!(
            "{{\"poll\":1,\"questions\":{questions},\"ballots\":[{}],\"tree_head\":{{}}}}",
            entries.join(",")
        )
    }

    fn entry(n: usize, text: &str) -> String {
        serde_json::json!({"ballot_id": format!("id-{n:04}"), "answers": [{"text": text}]})
            .to_string()
    }

    #[test]
    fn a_list_splits_into_the_same_entries_as_a_serial_parse() {
        let entries: Vec<String> = (0..50).map(|n| entry(n, "ок")).collect();
        let text = list("[]", &entries);
        for parts in [1, 2, 3, 7, 50, 80] {
            assert_eq!(split(&text, parts), serial(&text), "{parts} parts");
        }
        let first = skip_whitespace(&text, array_start(&text).unwrap() + 1);
        assert_eq!(
            part_starts(&text, first, 4).len(),
            4,
            "cut where entries start"
        );
        // Entries written with the id first are cut too.
        let id_first: Vec<String> = (0..50)
            .map(|n| format!("{{\"ballot_id\":\"id-{n}\",\"answers\":[]}}"))
            .collect();
        let text = list("[]", &id_first);
        assert_eq!(part_starts(&text, first, 4).len(), 4);
        assert_eq!(split(&text, 4), serial(&text));
    }

    #[test]
    fn look_alikes_in_texts_and_questions_are_not_taken_for_the_list() {
        // Entries whose free text holds an entry start, and questions holding a fake
        // `"ballots":[` member before the real one.
        let tricky = ",{\"ballot_id\":\"x\"}],\"ballots\":[";
        let entries: Vec<String> = (0..40).map(|n| entry(n, tricky)).collect();
        let questions = serde_json::json!([{"text": tricky, "ballots": ["fake"]}]).to_string();
        let text = list(&questions, &entries);
        for parts in [1, 2, 3, 5, 9] {
            let got = split(&text, parts);
            assert!(got.is_none() || got == serial(&text), "{parts} parts");
        }
    }

    #[test]
    fn a_pretty_printed_or_empty_list_is_left_to_the_serial_parse() {
        let entries: Vec<String> = (0..10).map(|n| entry(n, "ок")).collect();
        let value: serde_json::Value = serde_json::from_str(&list("[]", &entries)).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        // One part (no entry start found): still proven, still the same.
        assert_eq!(split(&pretty, 4), serial(&pretty));
        assert!(split(&list("[]", &[]), 4).is_none());
    }

    #[test]
    fn a_second_ballots_member_is_refused_as_the_serial_parse_refuses_it() {
        let entries: Vec<String> = (0..10).map(|n| entry(n, "ок")).collect();
        let text = list("[]", &entries).replace("\"tree_head\"", "\"ballots\":[],\"x\"");
        assert!(serial(&text).is_none());
        assert!(split(&text, 3).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Whatever bytes are inserted or removed anywhere, the split either declines or
        /// agrees with the serial parse: it never yields other entries.
        #[test]
        fn a_split_never_disagrees_with_the_serial_parse(
            edits in proptest::collection::vec((0usize..4, 0usize..10_000, 0usize..8), 1..5),
            parts in 2usize..9,
        ) {
            let entries: Vec<String> = (0..30).map(|n| entry(n, "ок, \"в\" {x}")).collect();
            let mut text = list("[{\"text\":\"Вопрос\"}]", &entries);
            let pieces = [",", "]", "[", ENTRY_STARTS[0], "\"", "\\", " ", ENTRY_STARTS[1]];
            for (kind, at, piece) in edits {
                let mut at = at % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                match kind {
                    0 | 1 => text.insert_str(at, pieces[piece]),
                    _ => {
                        let mut to = (at + 1 + piece).min(text.len());
                        while !text.is_char_boundary(to) {
                            to += 1;
                        }
                        text.replace_range(at..to, "");
                    }
                }
            }
            if let Some(got) = split(&text, parts) {
                prop_assert_eq!(Some(got), serial(&text));
            }
        }
    }
}
