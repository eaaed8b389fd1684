//! The messages' words: a shipped Russian template for every kind (a subject, a plain
//! text and an HTML body, in MiniJinja syntax), the operator's edits over them, their
//! check before they are saved, and rendering. Values are HTML-escaped in HTML bodies;
//! an unknown placeholder is refused when a template is saved, never met while sending.
//!
//! Every message ends with a footer the operator cannot remove: where to change one's
//! settings and the one-click unsubscribe link.

use minijinja::{Environment, UndefinedBehavior};
use otklik_domain::notify::NotificationKind;
use otklik_store::StoredTemplate;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The template of a campaign's message (written per campaign, not stored here).
pub const CAMPAIGN: &str = "campaign";
/// The template that wraps an official's digest.
pub const DIGEST: &str = "digest";

/// Subjects are one line of at most this many characters …
pub const MAX_SUBJECT: usize = 200;
/// … and bodies at most this many.
pub const MAX_BODY: usize = 20_000;

/// The values a submission's messages may use.
const SUBMISSION_VARS: &[&str] = &[
    "number",
    "subcategory",
    "organisation",
    "deadline",
    "link",
    "account_link",
];
/// Kinds about something other than a submission (a document, a poll).
const OTHER_VARS: &[&str] = &["title", "link", "account_link"];
const DIGEST_VARS: &[&str] = &["count", "items", "account_link"];
const CAMPAIGN_VARS: &[&str] = &["account_link"];

/// The placeholders a template key may use.
pub fn placeholders(key: &str) -> &'static [&'static str] {
    match key {
        CAMPAIGN => CAMPAIGN_VARS,
        DIGEST => DIGEST_VARS,
        _ => match NotificationKind::parse(key) {
            Ok(
                NotificationKind::SigningRequest
                | NotificationKind::DocumentReceived
                | NotificationKind::DocumentOutcome
                | NotificationKind::PollResult,
            ) => OTHER_VARS,
            _ => SUBMISSION_VARS,
        },
    }
}

/// Every key the operator may edit: the kinds and the digest.
pub fn keys() -> Vec<&'static str> {
    NotificationKind::ALL
        .iter()
        .map(|kind| kind.as_str())
        .chain([DIGEST])
        .collect()
}

/// One template's three parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateText {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl TemplateText {
    /// A template as a person typed it: the subject trimmed, line ends as `\n`.
    pub fn typed(subject: &str, text: &str, html: &str) -> Self {
        Self {
            subject: subject.trim().to_owned(),
            text: text.replace("\r\n", "\n"),
            html: html.replace("\r\n", "\n"),
        }
    }
}

/// The editable key a path names, if it is one.
pub fn key(raw: &str) -> Option<&'static str> {
    keys().into_iter().find(|k| *k == raw)
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a template cannot be saved: the part (`subject`, `text`, `html`), a stable code
/// and, for syntax errors, the engine's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {code} {detail}")]
pub struct TemplateError {
    pub field: &'static str,
    pub code: &'static str,
    pub detail: String,
}

fn error(field: &'static str, code: &'static str, detail: impl Into<String>) -> TemplateError {
    TemplateError {
        field,
        code,
        detail: detail.into(),
    }
}

/// The (subject, lead) the shipped templates are made of.
fn shipped_words(kind: NotificationKind) -> (&'static str, &'static str) {
    use NotificationKind as K;
    match kind {
        K::Registered => (
            "Обращение № {{ number }} зарегистрировано",
            "Ваше обращение № {{ number }} ({{ subcategory }}) зарегистрировано и направлено в организацию «{{ organisation }}». Ответ будет дан до {{ deadline }}.",
        ),
        K::TakenIntoWork => (
            "Обращение № {{ number }} взято в работу",
            "Организация «{{ organisation }}» приступила к рассмотрению обращения № {{ number }}. Срок ответа — до {{ deadline }}.",
        ),
        K::Redirected => (
            "Обращение № {{ number }} передано по компетенции",
            "Ваше обращение № {{ number }} передано в организацию «{{ organisation }}». Срок ответа — до {{ deadline }}.",
        ),
        K::Extended => (
            "Срок ответа на обращение № {{ number }} продлён",
            "Организация «{{ organisation }}» продлила срок рассмотрения обращения № {{ number }} до {{ deadline }}. Причина указана на странице обращения.",
        ),
        K::IntermediateAnswer => (
            "Промежуточный ответ по обращению № {{ number }}",
            "Организация «{{ organisation }}» сообщила о ходе рассмотрения обращения № {{ number }}.",
        ),
        K::ClarificationRequested => (
            "Нужно уточнение по обращению № {{ number }}",
            "Организация «{{ organisation }}» просит уточнить обращение № {{ number }}. Пока вы не ответите, срок рассмотрения приостановлен.",
        ),
        K::Answered => (
            "Дан ответ на обращение № {{ number }}",
            "Организация «{{ organisation }}» ответила на ваше обращение № {{ number }}. Прочитайте ответ и оцените его; если он вас не устраивает, верните обращение на повторное рассмотрение.",
        ),
        K::Rejected => (
            "Обращение № {{ number }} оставлено без ответа по существу",
            "Организация «{{ organisation }}» оставила обращение № {{ number }} без ответа по существу. Основание указано на странице обращения.",
        ),
        K::ReturnedForReview => (
            "Обращение № {{ number }} на повторном рассмотрении",
            "Обращение № {{ number }} возвращено в организацию «{{ organisation }}» на повторное рассмотрение. Срок ответа — до {{ deadline }}.",
        ),
        K::FollowedAnswered => (
            "Ответ на сообщение № {{ number }}, за которым вы следите",
            "Организация «{{ organisation }}» ответила на сообщение № {{ number }} ({{ subcategory }}), за которым вы следите. Ответ — на странице сообщения.",
        ),
        K::Merged => (
            "Обращение № {{ number }} объединено с похожим",
            "Организация «{{ organisation }}» объединила ваше обращение № {{ number }} с похожим обращением о той же проблеме. Ответ на него придёт и вам; срок ответа — до {{ deadline }}.",
        ),
        K::SigningRequest => (
            "Документ ждёт вашей подписи",
            "Документ «{{ title }}» ждёт вашей подписи.",
        ),
        K::DocumentReceived => (
            "Вам передан подписанный документ",
            "Вам передан подписанный документ «{{ title }}». Он хранится в личном кабинете; там же его можно проверить и скачать с подписями.",
        ),
        K::DocumentOutcome => (
            "Маршрут подписания завершён",
            "Маршрут подписания документа «{{ title }}» завершён. Итог — на странице документа.",
        ),
        K::PollResult => (
            "Подведены итоги голосования",
            "Подведены итоги голосования «{{ title }}», в котором вы участвовали.",
        ),
        K::NewSubmission => (
            "Новое обращение № {{ number }}",
            "В организацию «{{ organisation }}» поступило обращение № {{ number }} ({{ subcategory }}). Срок ответа — до {{ deadline }}.",
        ),
        K::CitizenReplied => (
            "Заявитель ответил по обращению № {{ number }}",
            "Автор обращения № {{ number }} уточнил его, оценил ответ или вернул обращение на повторное рассмотрение.",
        ),
        K::DeadlineWarning => (
            "Скоро истекает срок ответа на обращение № {{ number }}",
            "Срок ответа на обращение № {{ number }} ({{ subcategory }}) истекает {{ deadline }}.",
        ),
        K::DeadlineBreach => (
            "Нарушен срок ответа на обращение № {{ number }}",
            "Срок ответа на обращение № {{ number }} истёк {{ deadline }}. Нарушение зафиксировано.",
        ),
    }
}

/// The shipped template of a key (`None` for an unknown key).
pub fn shipped(key: &str) -> Option<TemplateText> {
    if key == DIGEST {
        return Some(TemplateText {
            subject: "Сводка уведомлений: {{ count }}".to_owned(),
            text: "Новое в ваших обращениях:\n{% for item in items %}\n— {{ item.subject }}\n  {{ item.link }}\n{% endfor %}".to_owned(),
            html: "<p>Новое в ваших обращениях:</p>\n<ul>{% for item in items %}\n<li><a href=\"{{ item.link }}\">{{ item.subject }}</a></li>{% endfor %}\n</ul>".to_owned(),
        });
    }
    let kind = NotificationKind::parse(key).ok()?;
    let (subject, lead) = shipped_words(kind);
    let link_text = match kind.readers() {
        _ if placeholders(key) == OTHER_VARS => "Открыть в личном кабинете",
        _ => "Открыть обращение № {{ number }}",
    };
    Some(TemplateText {
        subject: subject.to_owned(),
        text: format!("{lead}\n\n{link_text}: {{{{ link }}}}"),
        html: format!("<p>{lead}</p>\n<p><a href=\"{{{{ link }}}}\">{link_text}</a></p>"),
    })
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

/// Checks a template for `key` before it is saved: lengths, a one-line subject, the
/// syntax, only known placeholders, and a trial rendering with sample values.
pub fn check(key: &str, template: &TemplateText) -> Result<(), TemplateError> {
    let allowed = placeholders(key);
    let subject = template.subject.trim();
    if subject.is_empty() {
        return Err(error("subject", "required", ""));
    }
    if subject.chars().count() > MAX_SUBJECT || subject.contains(['\r', '\n']) {
        return Err(error("subject", "invalid_subject", ""));
    }
    for (field, body) in [("text", &template.text), ("html", &template.html)] {
        if body.trim().is_empty() {
            return Err(error(field, "required", ""));
        }
        if body.chars().count() > MAX_BODY {
            return Err(error(field, "too_long", ""));
        }
    }
    let env = environment();
    for (field, source) in [
        ("subject", subject),
        ("text", template.text.as_str()),
        ("html", template.html.as_str()),
    ] {
        let parsed = env
            .template_from_str(source)
            .map_err(|e| error(field, "template_syntax", e.to_string()))?;
        let mut unknown: Vec<String> = parsed
            .undeclared_variables(false)
            .into_iter()
            .filter(|name| !allowed.contains(&name.as_str()))
            .collect();
        unknown.sort();
        if !unknown.is_empty() {
            return Err(error(field, "unknown_placeholder", unknown.join(", ")));
        }
        parsed
            .render(minijinja::Value::from(minijinja::value::Serde(sample(key))))
            .map_err(|e| error(field, "template_error", e.to_string()))?;
    }
    Ok(())
}

/// Values for trial renderings and the operator's preview.
pub fn sample(key: &str) -> Value {
    let mut values = Map::new();
    for name in placeholders(key) {
        let value = match *name {
            "number" => Value::from("2026-0000042"),
            "subcategory" => Value::from("Ямы на дорогах"),
            "organisation" => Value::from("Администрация города"),
            "deadline" => Value::from("18.12.2026"),
            "title" => Value::from("Благоустройство парка"),
            "count" => Value::from(2),
            "items" => serde_json::json!([
                {"subject": "Новое обращение № 2026-0000042", "link": "https://otklik.example/submissions/42"},
                {"subject": "Нарушен срок ответа на обращение № 2026-0000041", "link": "https://otklik.example/submissions/41"}
            ]),
            _ => Value::from("https://otklik.example/…"),
        };
        values.insert((*name).to_owned(), value);
    }
    Value::Object(values)
}

/// A notification's stored values with the links added: to its submission (else the
/// notification centre) and to the centre, under `base` (`https://host`).
pub fn with_links(
    vars: &Value,
    submission: Option<otklik_domain::SubmissionId>,
    base: &str,
) -> Value {
    let mut values = vars.clone();
    if let Value::Object(map) = &mut values {
        // Documents and polls name their page in `path`.
        let path = map.get("path").and_then(Value::as_str).map(str::to_owned);
        let link = match (submission, path) {
            (Some(id), _) => format!("{base}/submissions/{}", id.0),
            (None, Some(path)) if path.starts_with('/') => format!("{base}{path}"),
            (None, _) => format!("{base}/account/notifications"),
        };
        map.insert("link".into(), link.into());
        map.insert(
            "account_link".into(),
            format!("{base}/account/notifications").into(),
        );
    }
    values
}

/// The links every message's footer carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footer {
    pub settings_link: String,
    pub unsubscribe_link: String,
    /// For campaigns: what the link stops, said in the footer.
    pub campaign: bool,
}

/// The templates in force: the shipped ones with the operator's edits over them.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    edited: BTreeMap<String, TemplateText>,
}

impl Templates {
    pub fn new(stored: Vec<StoredTemplate>) -> Self {
        Self {
            edited: stored
                .into_iter()
                .map(|t| {
                    (
                        t.kind,
                        TemplateText {
                            subject: t.subject,
                            text: t.text_body,
                            html: t.html_body,
                        },
                    )
                })
                .collect(),
        }
    }

    /// The template in force for a key, and whether it is the operator's.
    pub fn get(&self, key: &str) -> Option<(TemplateText, bool)> {
        match self.edited.get(key) {
            Some(template) => Some((template.clone(), true)),
            None => shipped(key).map(|t| (t, false)),
        }
    }

    /// The subject alone (the notification centre's list).
    pub fn subject(&self, key: &str, values: &Value) -> Result<String, String> {
        let (template, _) = self.get(key).ok_or("unknown template")?;
        environment()
            .render_str(
                &template.subject,
                minijinja::Value::from(minijinja::value::Serde(values)),
            )
            .map(|s| s.replace(['\r', '\n'], " ").trim().to_owned())
            .map_err(|e| e.to_string())
    }

    pub fn render(&self, key: &str, values: &Value, footer: &Footer) -> Result<Rendered, String> {
        let (template, _) = self.get(key).ok_or("unknown template")?;
        render(&template, values, footer)
    }
}

/// Renders a template with `values` (an object), adding the footer.
pub fn render(
    template: &TemplateText,
    values: &Value,
    footer: &Footer,
) -> Result<Rendered, String> {
    Ok(render_body(template, values)?.with_footer(footer))
}

/// Renders a template's three parts without the footer: a campaign renders its body once
/// and adds each recipient's footer.
pub fn render_body(template: &TemplateText, values: &Value) -> Result<Rendered, String> {
    let env = environment();
    let part = |source: &str, html: bool| -> Result<String, String> {
        let parsed = env
            .template_from_named_str(if html { "body.html" } else { "body.txt" }, source)
            .map_err(|e| e.to_string())?;
        parsed
            .render(minijinja::Value::from(minijinja::value::Serde(values)))
            .map_err(|e| e.to_string())
    };
    Ok(Rendered {
        subject: part(&template.subject, false)?
            .replace(['\r', '\n'], " ")
            .trim()
            .to_owned(),
        text: part(&template.text, false)?.trim_end().to_owned(),
        html: part(&template.html, true)?.trim_end().to_owned(),
    })
}

impl Rendered {
    /// The message as sent: the body with the footer every message carries.
    pub fn with_footer(&self, footer: &Footer) -> Rendered {
        let stop = if footer.campaign {
            "Не получать такие рассылки"
        } else {
            "Не получать такие письма"
        };
        let text = format!(
            "{}\n\n—\nОтклик — обратная связь с органами власти.\nНастроить уведомления: {}\n{stop}: {}\n",
            self.text, footer.settings_link, footer.unsubscribe_link,
        );
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n{body}\n<hr>\n<p>Отклик — обратная связь с органами власти.<br>\n<a href=\"{settings}\">Настроить уведомления</a> · <a href=\"{unsubscribe}\">{stop}</a></p>\n</body></html>\n",
            title = escape(&self.subject),
            body = self.html,
            settings = escape(&footer.settings_link),
            unsubscribe = escape(&footer.unsubscribe_link),
        );
        Rendered {
            subject: self.subject.clone(),
            text,
            html,
        }
    }
}

/// HTML escaping for the values the footer inserts itself.
fn escape(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn footer() -> Footer {
        Footer {
            settings_link: "https://o.example/account/notifications/settings".into(),
            unsubscribe_link: "https://o.example/unsubscribe/1.answered.x".into(),
            campaign: false,
        }
    }

    #[test]
    fn every_shipped_template_passes_its_own_check() {
        for key in keys() {
            let template = shipped(key).unwrap();
            check(key, &template).unwrap_or_else(|e| panic!("{key}: {e}"));
        }
    }

    #[test]
    fn html_bodies_escape_values_and_text_does_not() {
        let values = serde_json::json!({
            "number": "2026-0000001", "subcategory": "Свет", "organisation": "<b>ООО «Рога & копыта»</b>",
            "deadline": "01.01.2027", "link": "https://o.example/submissions/1", "account_link": "x"
        });
        let out = Templates::default()
            .render("answered", &values, &footer())
            .unwrap();
        assert!(
            out.html.contains("&lt;b&gt;ООО «Рога &amp; копыта»&lt;"),
            "{}",
            out.html
        );
        assert!(out.text.contains("<b>ООО «Рога & копыта»</b>"));
        assert_eq!(out.subject, "Дан ответ на обращение № 2026-0000001");
        assert!(out
            .text
            .contains("https://o.example/unsubscribe/1.answered.x"));
        assert!(out
            .html
            .contains("href=\"https://o.example/unsubscribe/1.answered.x\""));
    }

    #[test]
    fn unknown_placeholders_and_bad_syntax_are_refused() {
        let mut template = shipped("answered").unwrap();
        template.text = "Здравствуйте, {{ full_name }}".into();
        let e = check("answered", &template).unwrap_err();
        assert_eq!(
            (e.field, e.code, e.detail.as_str()),
            ("text", "unknown_placeholder", "full_name")
        );
        template.text = "{% if %}".into();
        assert_eq!(
            check("answered", &template).unwrap_err().code,
            "template_syntax"
        );
        template = shipped("answered").unwrap();
        template.subject = "a\nb".into();
        assert_eq!(
            check("answered", &template).unwrap_err().code,
            "invalid_subject"
        );
        // A campaign knows no submission.
        let campaign = TemplateText {
            subject: "Услуга {{ number }}".into(),
            text: "x".into(),
            html: "x".into(),
        };
        assert_eq!(
            check(CAMPAIGN, &campaign).unwrap_err().code,
            "unknown_placeholder"
        );
    }

    #[test]
    fn the_operators_edit_wins_over_the_shipped_template() {
        let templates = Templates::new(vec![StoredTemplate {
            kind: "registered".into(),
            subject: "Принято: {{ number }}".into(),
            text_body: "t".into(),
            html_body: "h".into(),
            updated_by: None,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        }]);
        let out = templates
            .render("registered", &sample("registered"), &footer())
            .unwrap();
        assert_eq!(out.subject, "Принято: 2026-0000042");
        assert!(templates.get("answered").is_some_and(|(_, edited)| !edited));
    }
}
