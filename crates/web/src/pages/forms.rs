//! Decoding of multipart forms and the view model of one form field.

use axum::extract::Multipart;
use std::collections::BTreeMap;

use crate::error::AppError;

/// The decoded parts of a form: text values by name, and uploaded files.
#[derive(Debug, Default)]
pub struct FormData {
    pub values: BTreeMap<String, String>,
    pub files: Vec<(String, Vec<u8>)>,
    /// Files of other inputs (a document, a signature, a certificate): by input name,
    /// the file's name and content; several files of one input are all kept.
    pub named_files: BTreeMap<String, Vec<(String, Vec<u8>)>>,
}

impl FormData {
    /// A text value, or "" when absent.
    pub fn text(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// The first file chosen in input `name`, if any.
    pub fn file(&self, name: &str) -> Option<&(String, Vec<u8>)> {
        self.named_files.get(name).and_then(|files| files.first())
    }

    /// The values whose names start with `prefix`, keyed without it.
    pub fn prefixed(&self, prefix: &str) -> BTreeMap<String, String> {
        self.values
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
            .collect()
    }
}

/// Upload inputs are named `attachments`; a part with no file chosen (empty name and
/// content, as browsers send for an empty input) is skipped.
pub async fn read_multipart(mut multipart: Multipart) -> Result<FormData, AppError> {
    let mut data = FormData::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(&e)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.map_err(|e| multipart_error(&e))?;
        match file_name {
            Some(file_name) if name == "attachments" => {
                if !(file_name.is_empty() && bytes.is_empty()) {
                    data.files.push((file_name, bytes.to_vec()));
                }
            }
            Some(file_name) => {
                if !(file_name.is_empty() && bytes.is_empty()) {
                    data.named_files
                        .entry(name)
                        .or_default()
                        .push((file_name, bytes.to_vec()));
                }
            }
            None => {
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| AppError::bad_request("invalid_form"))?;
                // A repeated name is a group of checkboxes (a multi-select field): its
                // values are joined the way the form stores them.
                match data.values.get_mut(&name) {
                    Some(value) => {
                        value.push_str(otklik_domain::form::MULTI_SEPARATOR);
                        value.push_str(&text);
                    }
                    None => {
                        data.values.insert(name, text);
                    }
                }
            }
        }
    }
    Ok(data)
}

fn multipart_error(e: &axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::too_large()
    } else {
        AppError::bad_request("invalid_form")
    }
}

/// Percent-encodes a file name for `filename*=` (RFC 5987).
pub fn percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// One input of a form as the templates draw it, with its value and its error.
#[derive(Debug, Clone)]
pub struct FieldView {
    pub name: String,
    pub id: String,
    pub label: String,
    /// `text`, `email`, `password`, `number`, `date`, `textarea`, `select`, `checkboxes`
    /// (a multi-select: one checkbox per option, `value` holds the chosen ones).
    pub input: &'static str,
    pub value: String,
    pub required: bool,
    pub hint: Option<String>,
    pub options: Vec<(String, String)>,
    pub error: Option<&'static str>,
    pub autocomplete: &'static str,
}

impl FieldView {
    pub fn new(name: &str, label: &str, input: &'static str) -> Self {
        Self {
            name: name.to_owned(),
            id: format!("f-{}", name.replace(['.', '_'], "-")),
            label: label.to_owned(),
            input,
            value: String::new(),
            required: false,
            hint: None,
            options: Vec::new(),
            error: None,
            autocomplete: "off",
        }
    }

    pub fn value(mut self, value: &str) -> Self {
        self.value = value.to_owned();
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.to_owned());
        self
    }

    pub fn options(mut self, options: Vec<(String, String)>) -> Self {
        self.options = options;
        self
    }

    pub fn autocomplete(mut self, token: &'static str) -> Self {
        self.autocomplete = token;
        self
    }

    /// Attaches the message of this field's error, if the error names it.
    pub fn error_from(mut self, error: Option<&AppError>) -> Self {
        self.error = error
            .and_then(|e| e.field_code(&self.name))
            .map(crate::messages::error);
        self
    }

    pub fn is_selected(&self, option: &str) -> bool {
        self.value == option
    }

    /// Whether a checkbox of a multi-select is ticked: `value` is the chosen options
    /// joined by `; `.
    pub fn is_checked(&self, option: &str) -> bool {
        self.value.split(';').any(|v| v.trim() == option)
    }

    /// The ids the input is described by: its hint and its error.
    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }
}

/// An error summary entry: a link to the field and its message.
#[derive(Debug, Clone)]
pub struct SummaryItem {
    pub href: String,
    pub message: String,
}

/// The summary of a failed form, every invalid field with a link to it.
pub fn summary(fields: &[FieldView], error: Option<&AppError>) -> Vec<SummaryItem> {
    let Some(error) = error else {
        return Vec::new();
    };
    let mut items: Vec<SummaryItem> = fields
        .iter()
        .filter_map(|f| {
            f.error.map(|m| SummaryItem {
                href: format!("#{}", f.id),
                message: format!("{}: {}", f.label, m),
            })
        })
        .collect();
    for f in &error.fields {
        if !fields.iter().any(|v| v.name == f.field) {
            items.push(SummaryItem {
                href: "#main".to_owned(),
                message: crate::messages::error(f.code).to_owned(),
            });
        }
    }
    if items.is_empty() {
        items.push(SummaryItem {
            href: "#main".to_owned(),
            message: crate::messages::error(error.code).to_owned(),
        });
    }
    items
}
