//! The interactive form of a subcategory: its own extra fields, checked against what the
//! citizen sent. The spec is data (stored as JSON), so the operator can change it later
//! without a release.
//!
//! Photos and files are not fields: they are the submission's attachments, and a form
//! asks for them with [`FormSpec::photo_required`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::ValidationErrors;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of free text.
    Text,
    /// A whole number (route numbers, floors, flat numbers).
    Number,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of `options`.
    Select,
    /// A postal address or a place description.
    Address,
    /// Several of `options` (checkboxes). The value is the chosen options in the order
    /// of `options`, joined by [`MULTI_SEPARATOR`]; so an option may not contain `;`.
    MultiSelect,
}

impl FieldKind {
    pub const ALL: &'static [FieldKind] = &[
        Self::Text,
        Self::Number,
        Self::Date,
        Self::Select,
        Self::MultiSelect,
        Self::Address,
    ];

    /// The stored name (`text`, `multi_select`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Date => "date",
            Self::Select => "select",
            Self::Address => "address",
            Self::MultiSelect => "multi_select",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == raw)
            .ok_or("unknown_value")
    }

    /// Whether the field offers a list of options.
    pub fn has_options(self) -> bool {
        matches!(self, Self::Select | Self::MultiSelect)
    }
}

/// Joins the chosen options of a multi-select value.
pub const MULTI_SEPARATOR: &str = "; ";

/// Limits of the form builder.
pub const MAX_KEY_CHARS: usize = 40;
pub const MAX_LABEL_CHARS: usize = 200;
pub const MAX_HINT_CHARS: usize = 500;
pub const MAX_OPTION_CHARS: usize = 200;
pub const MAX_OPTIONS: usize = 50;
pub const MAX_FIELDS: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSpec {
    /// Stable key, `[a-z0-9_]+`; the API and the stored values use it.
    pub key: String,
    /// The label shown to the citizen (Russian).
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// A hint shown under the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Allowed values of a `select` or `multi_select` field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormSpec {
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    /// At least one photo (JPEG or PNG) must be attached.
    #[serde(default)]
    pub photo_required: bool,
}

/// The values of a form that passed its spec: only known keys, each valid for its kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormValues(BTreeMap<String, String>);

impl FormValues {
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// Rebuilds values read back from storage (they were validated when written).
    pub fn from_stored(values: BTreeMap<String, String>) -> Self {
        Self(values)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// Prefix of form-field names in error lists, so `fields.route` cannot clash with `text`.
pub const FIELD_PREFIX: &str = "fields.";

impl FormSpec {
    pub fn from_json(json: &str) -> Result<Self, &'static str> {
        let spec: Self = serde_json::from_str(json).map_err(|_| "invalid_form_spec")?;
        spec.check()?;
        Ok(spec)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The rules every stored spec keeps (what older specs were written under, so they
    /// all still load); [`FormSpec::check_new`] is stricter for specs being saved.
    fn check(&self) -> Result<(), &'static str> {
        let mut seen = std::collections::BTreeSet::new();
        for f in &self.fields {
            let key_ok = !f.key.is_empty()
                && f.key.len() <= MAX_KEY_CHARS
                && f.key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !key_ok || !seen.insert(f.key.as_str()) {
                return Err("invalid_form_spec");
            }
            if f.kind.has_options() == f.options.is_empty() {
                return Err("invalid_form_spec");
            }
            if f.kind == FieldKind::MultiSelect && f.options.iter().any(|o| o.contains(';')) {
                return Err("invalid_form_spec");
            }
        }
        Ok(())
    }

    /// Checks a spec the operator is about to save, reporting every problem by field:
    /// `fields.{i}.key` (`required`, `invalid_key`: not `[a-z][a-z0-9_]*` of at most 40
    /// characters, `duplicate_key`), `fields.{i}.label` (`required`, `too_long`),
    /// `fields.{i}.hint` (`too_long`), `fields.{i}.options` (`options_required`,
    /// `options_not_allowed`, `duplicate_option`, `invalid_option`: empty, too long, or
    /// with `;` in a multi-select, `too_many_options`) and `fields` (`too_many_fields`).
    /// A spec that passes also passes [`FormSpec::from_json`].
    pub fn check_new(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if self.fields.len() > MAX_FIELDS {
            errors.push("fields", "too_many_fields");
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, f) in self.fields.iter().enumerate() {
            let name = |part: &str| format!("fields.{i}.{part}");
            let key_ok = f.key.len() <= MAX_KEY_CHARS
                && f.key.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                && f.key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if f.key.is_empty() {
                errors.push(name("key"), "required");
            } else if !key_ok {
                errors.push(name("key"), "invalid_key");
            } else if !seen.insert(f.key.as_str()) {
                errors.push(name("key"), "duplicate_key");
            }
            if f.label.trim().is_empty() {
                errors.push(name("label"), "required");
            } else if f.label.chars().count() > MAX_LABEL_CHARS
                || f.label.chars().any(char::is_control)
            {
                errors.push(name("label"), "too_long");
            }
            if f.hint.as_ref().is_some_and(|h| {
                h.chars().count() > MAX_HINT_CHARS || h.chars().any(char::is_control)
            }) {
                errors.push(name("hint"), "too_long");
            }
            let mut options = std::collections::BTreeSet::new();
            let option_error = if f.kind.has_options() && f.options.is_empty() {
                Some("options_required")
            } else if !f.kind.has_options() && !f.options.is_empty() {
                Some("options_not_allowed")
            } else if f.options.len() > MAX_OPTIONS {
                Some("too_many_options")
            } else if f.options.iter().any(|o| {
                o.trim().is_empty()
                    || o.trim() != o
                    || o.chars().count() > MAX_OPTION_CHARS
                    || o.chars().any(char::is_control)
                    || (f.kind == FieldKind::MultiSelect && o.contains(';'))
            }) {
                Some("invalid_option")
            } else if !f.options.iter().all(|o| options.insert(o.as_str())) {
                Some("duplicate_option")
            } else {
                None
            };
            if let Some(code) = option_error {
                errors.push(name("options"), code);
            }
        }
        errors.into_result(|| ())
    }

    /// Checks submitted values: required fields present, each value valid for its kind,
    /// no unknown keys. Empty optional values are dropped.
    pub fn validate(&self, raw: &BTreeMap<String, String>) -> Result<FormValues, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let mut values = BTreeMap::new();
        for key in raw.keys() {
            if !self.fields.iter().any(|f| &f.key == key) {
                errors.push(format!("{FIELD_PREFIX}{key}"), "unknown_field");
            }
        }
        for field in &self.fields {
            let name = format!("{FIELD_PREFIX}{}", field.key);
            let value = raw.get(&field.key).map(|v| v.trim()).unwrap_or("");
            // "; ;" chooses nothing: as empty as "".
            let chose_nothing = field.kind == FieldKind::MultiSelect
                && value.split(';').all(|part| part.trim().is_empty());
            if value.is_empty() || chose_nothing {
                if field.required {
                    errors.push(name, "required");
                }
                continue;
            }
            match field.check_value(value) {
                Ok(clean) => {
                    values.insert(field.key.clone(), clean);
                }
                Err(code) => errors.push(name, code),
            }
        }
        errors.into_result(|| FormValues(values))
    }
}

impl FieldSpec {
    fn check_value(&self, value: &str) -> Result<String, &'static str> {
        if value.chars().any(|c| c.is_control()) {
            return Err("control_characters");
        }
        let max = match self.kind {
            FieldKind::Address => 500,
            FieldKind::MultiSelect => (MAX_OPTION_CHARS + MULTI_SEPARATOR.len()) * MAX_OPTIONS,
            _ => 200,
        };
        if value.chars().count() > max {
            return Err("too_long");
        }
        match self.kind {
            FieldKind::Text | FieldKind::Address => Ok(value.to_owned()),
            FieldKind::Number => value
                .parse::<i64>()
                .map(|n| n.to_string())
                .map_err(|_| "not_a_number"),
            FieldKind::Date => {
                let format = time::macros::format_description!("[year]-[month]-[day]");
                time::Date::parse(value, &format)
                    .map(|_| value.to_owned())
                    .map_err(|_| "not_a_date")
            }
            FieldKind::Select => self
                .options
                .iter()
                .find(|o| o.as_str() == value)
                .cloned()
                .ok_or("not_an_option"),
            FieldKind::MultiSelect => {
                let chosen: Vec<&str> = value
                    .split(';')
                    .map(str::trim)
                    .filter(|part| !part.is_empty())
                    .collect();
                if chosen.iter().any(|c| !self.options.iter().any(|o| o == c)) {
                    return Err("not_an_option");
                }
                // The options' own order, each once: the same choice is stored the same way.
                Ok(self
                    .options
                    .iter()
                    .filter(|o| chosen.contains(&o.as_str()))
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(MULTI_SEPARATOR))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FormSpec {
        FormSpec::from_json(
            r#"{"photo_required":true,"fields":[
                {"key":"address","label":"Адрес","kind":"address","required":true},
                {"key":"route","label":"Номер маршрута","kind":"number"},
                {"key":"seen_on","label":"Дата","kind":"date"},
                {"key":"transport","label":"Вид транспорта","kind":"select","options":["Автобус","Трамвай"]}
            ]}"#,
        )
        .unwrap_or_default()
    }

    fn raw(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn valid_values_pass_and_empty_optionals_are_dropped() {
        let values = spec()
            .validate(&raw(&[
                ("address", " ул. Ленина, 5 "),
                ("route", "42"),
                ("seen_on", ""),
            ]))
            .map(|v| v.as_map().clone());
        assert_eq!(
            values,
            Ok(raw(&[("address", "ул. Ленина, 5"), ("route", "42")]))
        );
        assert!(spec().photo_required);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let errors = spec()
            .validate(&raw(&[
                ("route", "сорок два"),
                ("seen_on", "2026-02-30"),
                ("transport", "Метро"),
                ("extra", "x"),
            ]))
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        let codes: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            codes,
            vec![
                ("fields.extra", "unknown_field"),
                ("fields.address", "required"),
                ("fields.route", "not_a_number"),
                ("fields.seen_on", "not_a_date"),
                ("fields.transport", "not_an_option"),
            ]
        );
    }

    #[test]
    fn malformed_specs_are_refused() {
        assert!(FormSpec::from_json("not json").is_err());
        assert!(
            FormSpec::from_json(r#"{"fields":[{"key":"A B","label":"x","kind":"text"}]}"#).is_err()
        );
        assert!(
            FormSpec::from_json(r#"{"fields":[{"key":"s","label":"x","kind":"select"}]}"#).is_err()
        );
        assert!(FormSpec::from_json(
            r#"{"fields":[{"key":"a","label":"x","kind":"text"},{"key":"a","label":"y","kind":"text"}]}"#
        )
        .is_err());
    }

    fn with_extras() -> FormSpec {
        FormSpec::from_json(
            r#"{"photo_required":false,"fields":[
                {"key":"problems","label":"Что не так","kind":"multi_select","required":true,
                 "options":["Грязно","Темно","Шумно"]}
            ]}"#,
        )
        .unwrap_or_default()
    }

    #[test]
    fn multi_select_keeps_known_options_in_their_order_once() {
        let spec = with_extras();
        assert_eq!(spec.fields.len(), 1);
        let values = spec
            .validate(&raw(&[("problems", "Шумно; Грязно;Шумно ")]))
            .map(|v| v.as_map().clone());
        assert_eq!(values, Ok(raw(&[("problems", "Грязно; Шумно")])));
    }

    #[test]
    fn multi_select_refuses_unknown_options_and_empty_choices() {
        let codes = |value: &str| {
            with_extras()
                .validate(&raw(&[("problems", value)]))
                .err()
                .map(|e| {
                    e.0.iter()
                        .map(|f| (f.field.clone(), f.code))
                        .collect::<Vec<_>>()
                })
        };
        assert_eq!(
            codes("Грязно; Скучно"),
            Some(vec![("fields.problems".to_owned(), "not_an_option")])
        );
        assert_eq!(
            codes(" ; ;"),
            Some(vec![("fields.problems".to_owned(), "required")])
        );
    }

    #[test]
    fn stored_json_round_trips_and_old_specs_still_load() {
        let spec = with_extras();
        assert_eq!(FormSpec::from_json(&spec.to_json()), Ok(spec.clone()));
        assert!(spec.to_json().contains(r#""kind":"multi_select""#));
        // A spec written before multi-select existed (no `required`, no `photo_required`).
        let old = FormSpec::from_json(
            r#"{"fields":[{"key":"route","label":"Маршрут","kind":"number"},
                {"key":"t","label":"Транспорт","kind":"select","options":["Автобус"]}]}"#,
        );
        assert!(old.is_ok_and(|s| s.fields.len() == 2 && !s.photo_required));
        assert!(FormSpec::from_json(
            r#"{"fields":[{"key":"m","label":"x","kind":"multi_select","options":[]}]}"#
        )
        .is_err());
        assert!(FormSpec::from_json(
            r#"{"fields":[{"key":"m","label":"x","kind":"multi_select","options":["a;b"]}]}"#
        )
        .is_err());
    }

    #[test]
    fn kinds_parse_from_their_stored_names() {
        for kind in FieldKind::ALL {
            assert_eq!(FieldKind::parse(kind.as_str()), Ok(*kind));
            let json = serde_json::to_string(kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(FieldKind::parse("photo"), Err("unknown_value"));
    }

    fn field(key: &str, label: &str, kind: FieldKind, options: &[&str]) -> FieldSpec {
        FieldSpec {
            key: key.to_owned(),
            label: label.to_owned(),
            kind,
            required: false,
            hint: None,
            options: options.iter().map(|o| o.to_string()).collect(),
        }
    }

    #[test]
    fn new_specs_are_checked_field_by_field() {
        let spec = FormSpec {
            fields: vec![
                field("ok_key", "Поле", FieldKind::Text, &[]),
                field("Bad Key", "Поле", FieldKind::Text, &[]),
                field("ok_key", "", FieldKind::Number, &[]),
                field("", "Список", FieldKind::Select, &[]),
                field("tags", "Теги", FieldKind::MultiSelect, &["a;b"]),
                field("dup", "Дубли", FieldKind::Select, &["x", "x"]),
                field("txt", "Текст", FieldKind::Text, &["лишнее"]),
                field("9lives", "Цифра", FieldKind::Text, &[]),
            ],
            photo_required: true,
        };
        let codes: Vec<(String, &str)> = spec
            .check_new()
            .err()
            .map(|e| e.0.into_iter().map(|f| (f.field, f.code)).collect())
            .unwrap_or_default();
        let want = [
            ("fields.1.key", "invalid_key"),
            ("fields.2.key", "duplicate_key"),
            ("fields.2.label", "required"),
            ("fields.3.key", "required"),
            ("fields.3.options", "options_required"),
            ("fields.4.options", "invalid_option"),
            ("fields.5.options", "duplicate_option"),
            ("fields.6.options", "options_not_allowed"),
            ("fields.7.key", "invalid_key"),
        ];
        let want: Vec<(String, &str)> = want.iter().map(|(f, c)| (f.to_string(), *c)).collect();
        assert_eq!(codes, want);
        let good = FormSpec {
            fields: vec![
                field("a", "А", FieldKind::Text, &[]),
                field("b", "Б", FieldKind::MultiSelect, &["x", "y"]),
            ],
            photo_required: false,
        };
        assert_eq!(good.check_new(), Ok(()));
        assert!(FormSpec::from_json(&good.to_json()).is_ok());
    }
}
