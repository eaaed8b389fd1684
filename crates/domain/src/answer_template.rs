//! Answer templates: an organisation's prepared answers, per category or for any, with
//! placeholders filled from the submission being answered. Pure: the text is checked
//! when saved (only known placeholders, balanced braces), filled when used.

/// The placeholders a template may use, and what each stands for.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("number", "the submission's registration number"),
    ("date", "the date it was registered"),
    ("citizen", "the author's name"),
    ("organisation", "the answering organisation"),
    ("subcategory", "the submission's topic"),
];

/// A template's title: one line, 3–200 characters.
pub fn parse_title(raw: &str) -> Result<String, &'static str> {
    let title = raw.trim();
    let len = title.chars().count();
    if len < 3 {
        return Err("too_short");
    }
    if len > 200 {
        return Err("too_long");
    }
    if title.chars().any(char::is_control) {
        return Err("control_characters");
    }
    Ok(title.to_owned())
}

/// A template's body: 10–10 000 characters, `{{ name }}` placeholders of
/// [`PLACEHOLDERS`] only, every `{{` closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateBody(String);

impl TemplateBody {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let body = raw.trim();
        let len = body.chars().count();
        if len < 10 {
            return Err("too_short");
        }
        if len > 10_000 {
            return Err("too_long");
        }
        for piece in pieces(body) {
            match piece {
                Piece::Text(_) => {}
                Piece::Placeholder(name) => {
                    if !PLACEHOLDERS.iter().any(|(known, _)| *known == name) {
                        return Err("unknown_placeholder");
                    }
                }
                Piece::Unclosed => return Err("unclosed_placeholder"),
            }
        }
        Ok(Self(body.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text with each placeholder replaced by its value (an unknown value: empty).
    pub fn fill(&self, value: impl Fn(&str) -> Option<String>) -> String {
        let mut out = String::with_capacity(self.0.len());
        for piece in pieces(&self.0) {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Placeholder(name) => out.push_str(&value(name).unwrap_or_default()),
                Piece::Unclosed => {}
            }
        }
        out
    }
}

enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
    Unclosed,
}

fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push(Piece::Text(&rest[..open]));
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) => {
                out.push(Piece::Placeholder(after[..close].trim()));
                rest = &after[close + 2..];
            }
            None => {
                out.push(Piece::Unclosed);
                return out;
            }
        }
    }
    out.push(Piece::Text(rest));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn placeholders_are_checked_and_filled() {
        let body = TemplateBody::parse("Ваше обращение № {{ number }} от {{date}} рассмотрено.")
            .unwrap_or_else(|e| panic!("{e}"));
        let filled = body.fill(|name| match name {
            "number" => Some("2026-0000012".to_owned()),
            "date" => Some("05.12.2026".to_owned()),
            _ => None,
        });
        assert_eq!(
            filled,
            "Ваше обращение № 2026-0000012 от 05.12.2026 рассмотрено."
        );
        assert_eq!(
            TemplateBody::parse("Здравствуйте, {{ name }}!!"),
            Err("unknown_placeholder")
        );
        assert_eq!(
            TemplateBody::parse("Здравствуйте, {{ citizen"),
            Err("unclosed_placeholder")
        );
        assert_eq!(TemplateBody::parse("коротко"), Err("too_short"));
    }

    proptest! {
        /// Any text is either refused with a code or filled without panicking, and a
        /// text without braces fills to itself.
        #[test]
        fn any_text_is_checked_without_panicking(raw in "\\PC{0,200}") {
            if let Ok(body) = TemplateBody::parse(&raw) {
                let filled = body.fill(|_| Some("x".to_owned()));
                if !raw.contains("{{") {
                    prop_assert_eq!(filled, raw.trim());
                }
            }
        }
    }
}
