//! The interactive form of a subcategory: its own extra fields, checked against what the
//! citizen sent. The spec is data (stored as JSON), so the operator can change it later
//! without a release.

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
}

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
    /// Allowed values of a `select` field.
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

    fn check(&self) -> Result<(), &'static str> {
        let mut seen = std::collections::BTreeSet::new();
        for f in &self.fields {
            let key_ok = !f.key.is_empty()
                && f.key.len() <= 40
                && f.key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !key_ok || !seen.insert(f.key.as_str()) {
                return Err("invalid_form_spec");
            }
            if (f.kind == FieldKind::Select) == f.options.is_empty() {
                return Err("invalid_form_spec");
            }
        }
        Ok(())
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
            if value.is_empty() {
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
}
