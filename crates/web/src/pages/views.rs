//! The pages' view models: plain data the templates draw, prepared here so that the
//! templates hold no logic beyond loops and conditions.

use askama::Template;
use otklik_domain::form::{FieldKind, FIELD_PREFIX};
use otklik_domain::lifecycle::{RejectionGround, Status, SubmissionKind};
use otklik_domain::*;
use otklik_store::{Category, FileMeta, ListQuery, Page, SubmissionCard, UserRecord};
use time::OffsetDateTime;

use super::forms::{summary, FieldView, SummaryItem};
use crate::auth::{self, Ctx};
use crate::error::AppError;
use crate::messages;
use crate::usecases::{self, ActInput, ListFilters, RegisterInput, SubmitInput};
use crate::AppState;

/// What the layout needs on every page.
pub struct Chrome {
    pub title: String,
    pub user_name: Option<String>,
    pub role: &'static str,
    pub csrf: String,
    /// Unread notifications as the menu's badge shows them: empty for none, "99+" past
    /// what the store counts (`UNREAD_COUNT_LIMIT`).
    pub unread: String,
}

/// The menu's badge for `unread` notifications.
fn unread_badge(unread: u64) -> String {
    match unread {
        0 => String::new(),
        n if n >= otklik_store::UNREAD_COUNT_LIMIT => {
            format!("{}+", otklik_store::UNREAD_COUNT_LIMIT - 1)
        }
        n => n.to_string(),
    }
}

impl Chrome {
    pub fn new(ctx: &Ctx, title: &str) -> Self {
        Self {
            title: title.to_owned(),
            user_name: ctx.user.as_ref().map(|u| u.full_name.clone()),
            role: ctx.user.as_ref().map_or("", |u| auth::role_name(u.role)),
            csrf: ctx.csrf.clone(),
            unread: unread_badge(ctx.unread),
        }
    }

    pub fn anonymous(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            user_name: None,
            role: "",
            csrf: String::new(),
            unread: String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub status: u16,
    pub message: &'static str,
    /// What to do about it, with a link (e.g. how to verify one's identity).
    pub help: Option<crate::messages::Help>,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub chrome: Chrome,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub chrome: Chrome,
    pub fields: Vec<FieldView>,
    pub error: Option<&'static str>,
    /// The identity provider's name, when login through it is offered.
    pub provider: Option<String>,
}

impl LoginPage {
    pub fn new(
        ctx: &Ctx,
        email: &str,
        error: Option<&'static str>,
        provider: Option<String>,
    ) -> Self {
        Self {
            provider,
            chrome: Chrome::new(ctx, "Вход"),
            fields: vec![
                FieldView::new("email", "Электронная почта", "email")
                    .value(email)
                    .required()
                    .autocomplete("username"),
                FieldView::new("password", "Пароль", "password")
                    .required()
                    .autocomplete("current-password"),
            ],
            error,
        }
    }
}

#[derive(Template)]
#[template(path = "register.html")]
pub struct RegisterPage {
    pub chrome: Chrome,
    pub fields: Vec<FieldView>,
    pub summary: Vec<SummaryItem>,
}

impl RegisterPage {
    pub fn new(ctx: &Ctx, input: &RegisterInput, error: Option<&AppError>) -> Self {
        let fields = vec![
            FieldView::new("full_name", "Фамилия, имя и отчество", "text")
                .value(&input.full_name)
                .required()
                .autocomplete("name")
                .hint("Так к вам будут обращаться в ответах.")
                .error_from(error),
            FieldView::new("email", "Электронная почта", "email")
                .value(&input.email)
                .required()
                .autocomplete("email")
                .error_from(error),
            FieldView::new("password", "Пароль", "password")
                .required()
                .autocomplete("new-password")
                .hint("Не короче 8 символов, буквы и цифры или знаки.")
                .error_from(error),
            FieldView::new("password_repeat", "Пароль ещё раз", "password")
                .required()
                .autocomplete("new-password")
                .error_from(error),
        ];
        let summary = summary(&fields, error);
        Self {
            chrome: Chrome::new(ctx, "Регистрация"),
            fields,
            summary,
        }
    }
}

#[derive(Template)]
#[template(path = "choose.html")]
pub struct ChoosePage {
    pub chrome: Chrome,
    pub categories: Vec<Category>,
}

#[derive(Template)]
#[template(path = "submit.html")]
pub struct SubmitPage {
    pub chrome: Chrome,
    pub category_name: String,
    pub subcategory_name: String,
    pub action: String,
    pub kind: FieldView,
    pub kinds: Vec<(String, String, String)>,
    pub fields: Vec<FieldView>,
    pub photo_required: bool,
    pub attachments_error: Option<&'static str>,
    pub summary: Vec<SummaryItem>,
    /// The author lets other citizens see the message.
    pub public: bool,
    pub public_error: Option<&'static str>,
    /// Public messages like the one typed (after «Проверить похожие»).
    pub similar: Option<Vec<super::duplicates::PublicView>>,
}

/// The most municipalities the submission page lists as options.
const MAX_MUNICIPALITY_OPTIONS: usize = 500;

impl SubmitPage {
    pub async fn build(
        state: &AppState,
        ctx: &Ctx,
        id: SubcategoryId,
        input: &SubmitInput,
        error: Option<&AppError>,
    ) -> Result<Self, AppError> {
        let sub = state.store.subcategory(id).await?;
        let regions = state.store.regions().await?;
        let kind = FieldView::new("kind", "Что вы отправляете", "radio")
            .value(if input.kind.is_empty() {
                "message"
            } else {
                &input.kind
            })
            .required()
            .error_from(error);
        let kinds = vec![
            (
                "message".to_owned(),
                messages::kind(SubmissionKind::Message).to_owned(),
                "Сообщение о проблеме: рассматривается в течение 10 рабочих дней.".to_owned(),
            ),
            (
                "appeal".to_owned(),
                messages::kind(SubmissionKind::Appeal).to_owned(),
                "Предложение, заявление или жалоба по закону № 59-ФЗ: ответ в течение 30 дней. \
                 Нужна подтверждённая личность (стандартная или подтверждённая учётная запись \
                 Госуслуг) — уровень вашей учётной записи указан на странице «Учётная запись»."
                    .to_owned(),
            ),
        ];
        let mut fields = vec![FieldView::new("region", "Регион", "select")
            .value(&input.region)
            .required()
            .options(
                regions
                    .iter()
                    .map(|r| (r.id.to_string(), r.name.clone()))
                    .collect(),
            )
            .error_from(error)];
        // The municipality is optional; offered as one list (grouped by region in the
        // labels) while an installation's list stays small enough for a page.
        let mut municipalities = Vec::new();
        for region in &regions {
            for m in state.store.municipalities(region.id).await? {
                municipalities.push((m.id.to_string(), format!("{} — {}", region.name, m.name)));
            }
            if municipalities.len() > MAX_MUNICIPALITY_OPTIONS {
                break;
            }
        }
        if !municipalities.is_empty() && municipalities.len() <= MAX_MUNICIPALITY_OPTIONS {
            fields.push(
                FieldView::new("municipality", "Муниципальное образование (необязательно)", "select")
                    .value(&input.municipality)
                    .hint("Если укажете город или район, сообщение попадёт прямо в его администрацию, когда для него есть правило.")
                    .options(municipalities)
                    .error_from(error),
            );
        }
        for spec in &sub.form.fields {
            let name = format!("{FIELD_PREFIX}{}", spec.key);
            let input_kind = match spec.kind {
                FieldKind::Text | FieldKind::Address => "text",
                FieldKind::Number => "number",
                FieldKind::Date => "date",
                FieldKind::Select => "select",
                FieldKind::MultiSelect => "checkboxes",
            };
            let mut field = FieldView::new(&name, &spec.label, input_kind)
                .value(input.fields.get(&spec.key).map_or("", String::as_str))
                .options(
                    spec.options
                        .iter()
                        .map(|o| (o.clone(), o.clone()))
                        .collect(),
                )
                .error_from(error);
            if spec.kind == FieldKind::Address {
                field = field.autocomplete("street-address");
            }
            if let Some(hint) = &spec.hint {
                field = field.hint(hint);
            }
            if spec.required {
                field = field.required();
            }
            fields.push(field);
        }
        fields.push(
            FieldView::new("text", "Опишите ситуацию", "textarea")
                .value(&input.text)
                .required()
                .hint("От 10 до 5000 знаков: что случилось, где и с какого времени, чего вы ждёте.")
                .error_from(error),
        );
        let attachments_error = error
            .and_then(|e| e.field_code("attachments"))
            .map(messages::error);
        let mut all = vec![kind.clone()];
        all.extend(fields.iter().cloned());
        let mut summary = summary(&all, error);
        if let Some(message) = attachments_error {
            summary.retain(|s| s.message != message);
            summary.push(SummaryItem {
                href: "#f-attachments".to_owned(),
                message: format!("Файлы: {message}"),
            });
        }
        let public_error = error
            .and_then(|e| e.field_code("public"))
            .map(messages::error);
        if let Some(message) = public_error {
            summary.push(SummaryItem {
                href: "#f-public".to_owned(),
                message: format!("Видимость: {message}"),
            });
        }
        Ok(Self {
            chrome: Chrome::new(ctx, &sub.name),
            category_name: sub.category_name,
            subcategory_name: sub.name,
            action: format!("/submit/{id}"),
            kind,
            kinds,
            fields,
            photo_required: sub.form.photo_required,
            attachments_error,
            summary,
            public: input.public,
            public_error,
            similar: None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Mine,
    Inbox,
    /// The regional coordinator's queue: every submission of the region.
    Region,
    All,
}

pub struct CardView {
    pub href: String,
    pub number: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub status_code: &'static str,
    pub topic: String,
    pub org_name: String,
    pub excerpt: String,
    pub created: String,
    pub deadline: String,
    pub overdue: bool,
    /// «осталось 3 дн.», «последний день», «просрочено на 2 дн.»; empty when closed.
    pub remaining: String,
}

/// The time left until a deadline, in whole days, as officials read it on every card.
pub fn remaining(status: Status, deadline: OffsetDateTime, now: OffsetDateTime) -> String {
    if !status.is_open() {
        return String::new();
    }
    if status == Status::AwaitingClarification {
        return "срок приостановлен".to_owned();
    }
    let seconds = (deadline - now).whole_seconds();
    let days = seconds.div_euclid(86_400);
    match seconds {
        s if s < 0 => format!("просрочено на {} дн.", (-s + 86_399) / 86_400),
        _ if days == 0 => "последний день".to_owned(),
        _ => format!("осталось {days} дн."),
    }
}

#[derive(Template)]
#[template(path = "list.html")]
pub struct ListPage {
    pub chrome: Chrome,
    pub heading: &'static str,
    pub path: &'static str,
    pub cards: Vec<CardView>,
    pub total: String,
    pub statuses: Vec<(String, String)>,
    pub categories: Vec<(String, String)>,
    pub status: String,
    pub category: String,
    pub overdue: bool,
    pub page: u32,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub done: Option<&'static str>,
    /// The filters as the exports' query string.
    pub export_query: String,
    /// The public messages the person follows (their own list only).
    pub followed: Vec<super::duplicates::PublicView>,
}

impl ListPage {
    pub fn new(
        ctx: &Ctx,
        kind: ListKind,
        filters: &ListFilters,
        query: &ListQuery,
        page: Page<SubmissionCard>,
        catalogue: &[Category],
        now: OffsetDateTime,
    ) -> Self {
        let (heading, path) = match kind {
            ListKind::Mine => ("Мои сообщения и обращения", "/my"),
            ListKind::Inbox => ("Входящие организации", "/inbox"),
            ListKind::Region => ("Координация региона", "/coordination"),
            ListKind::All => ("Все сообщения и обращения", "/operator"),
        };
        let cards = page
            .items
            .iter()
            .map(|c| CardView {
                href: format!("/submissions/{}", c.id),
                number: c.number.to_string(),
                kind: messages::kind(c.kind),
                status: messages::status(c.status),
                status_code: c.status.as_str(),
                topic: format!("{} → {}", c.category_name, c.subcategory_name),
                org_name: c.org_name.clone(),
                excerpt: c.excerpt.clone(),
                created: messages::datetime(c.created_at),
                deadline: messages::date(c.deadline_at, c.org_utc_offset_minutes),
                overdue: c.status.clock_runs() && c.deadline_at < now,
                remaining: remaining(c.status, c.deadline_at, now),
            })
            .collect();
        let number = query.offset / usecases::PAGE_SIZE + 1;
        let link = |p: u32| {
            format!(
                "{path}?status={}&category={}&overdue={}&page={p}",
                filters.status.as_deref().unwrap_or(""),
                filters.category.as_deref().unwrap_or(""),
                if query.overdue { "1" } else { "" }
            )
        };
        let shown = u64::from(query.offset) + page.items.len() as u64;
        let export_query = form_urlencoded::Serializer::new(String::new())
            .append_pair("status", filters.status.as_deref().unwrap_or(""))
            .append_pair("category", filters.category.as_deref().unwrap_or(""))
            .append_pair("overdue", if query.overdue { "1" } else { "" })
            .finish();
        Self {
            export_query,
            followed: Vec::new(),
            chrome: Chrome::new(ctx, heading),
            heading,
            path,
            cards,
            total: if page.total_exact {
                page.total.to_string()
            } else {
                format!("более {}", page.total)
            },
            statuses: Status::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), messages::status(*s).to_owned()))
                .collect(),
            categories: catalogue
                .iter()
                .map(|c| (c.id.to_string(), c.name.clone()))
                .collect(),
            status: query
                .status
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            category: query.category.map(|c| c.to_string()).unwrap_or_default(),
            overdue: query.overdue,
            page: number,
            prev: (number > 1).then(|| link(number - 1)),
            next: (shown < page.total || !page.total_exact).then(|| link(number + 1)),
            done: match filters.done.as_deref() {
                Some("registered_account") => {
                    Some("Учётная запись создана, вы вошли. Теперь можно подать сообщение.")
                }
                Some("redirected") => Some("Перенаправлено в другую организацию."),
                _ => None,
            },
        }
    }
}

pub struct FileView {
    pub href: String,
    pub name: String,
    pub size: String,
}

fn file_views(files: &[FileMeta]) -> Vec<FileView> {
    files
        .iter()
        .map(|f| FileView {
            href: format!("/files/{}", f.id),
            name: f.name.clone(),
            size: human_size(f.size),
        })
        .collect()
}

fn human_size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} МБ", bytes as f64 / 1024.0 / 1024.0)
    } else {
        format!("{} КБ", (bytes + 1023) / 1024)
    }
}

pub struct EventView {
    pub at: String,
    pub title: &'static str,
    pub org: String,
    pub actor: String,
    pub lines: Vec<(String, String)>,
    pub body: Option<String>,
    pub files: Vec<FileView>,
}

/// An action that failed validation, so its form is shown again with what was typed.
pub struct FailedAction {
    pub name: String,
    pub input: ActInput,
    pub error: AppError,
}

#[derive(Template)]
#[template(path = "submission.html")]
pub struct DetailPage {
    pub chrome: Chrome,
    pub base: String,
    pub number: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub status_code: &'static str,
    pub topic: String,
    pub org_name: String,
    pub region_name: String,
    pub author: Option<(String, String)>,
    pub created: String,
    pub deadline: String,
    pub overdue: bool,
    pub is_open: bool,
    pub text: String,
    pub fields: Vec<(String, String)>,
    pub attachments: Vec<FileView>,
    pub events: Vec<EventView>,
    pub rating: Option<u8>,
    pub actions: Vec<String>,
    pub organisations: Vec<(String, String)>,
    pub grounds: Vec<(String, String)>,
    pub done: Option<&'static str>,
    pub failed: Option<String>,
    pub failed_message: Option<&'static str>,
    pub failed_fields: Vec<(String, &'static str)>,
    pub typed: ActInput,
    pub accesses: Vec<(String, String)>,
    pub receipts: Vec<ReceiptRow>,
    pub remaining: String,
    pub extended: bool,
    /// How it was routed, for staff.
    pub route: Option<String>,
    /// Subcategories to recategorise to, when that is offered.
    pub subcategories: Vec<(String, String)>,
    /// The answer as signed electronic documents (id, title).
    pub signed_answers: Vec<(i64, String)>,
    /// An official of the holder may sign the answer (there is one).
    pub may_sign_answer: bool,
    /// The holder's answer templates that fit this submission (id, title), for its
    /// officials while an answer is offered.
    pub templates: Vec<(i64, String)>,
    /// An answer filled from a chosen template, put in the answer's text box.
    pub prefill_answer: Option<String>,
    /// Merges, publicity and duplicate candidates.
    pub merge: super::duplicates::MergeView,
}

fn templates_offer(templates: &[(i64, String)], id: i64) -> bool {
    templates.iter().any(|(t, _)| *t == id)
}

/// How a submission was routed, for staff: the kind of rule that matched.
fn route_text(route: &str) -> String {
    let (kind, id) = route.split_once(':').unwrap_or((route, ""));
    let what = match kind {
        "municipality" => "правило муниципального образования",
        "region" => "правило региона",
        "federal" => "федеральное правило",
        "coordinator" => "правила нет — направлено координатору региона",
        "manual" => "направлено вручную",
        _ => "не записано",
    };
    if id.is_empty() {
        what.to_owned()
    } else {
        format!("{what} (№ {id})")
    }
}

/// One event of the submission as recorded in the transparency log.
pub struct ReceiptRow {
    pub index: u64,
    pub label: &'static str,
    pub at: String,
    pub signed: bool,
}

impl DetailPage {
    pub async fn build(
        state: &AppState,
        ctx: &Ctx,
        user: &UserRecord,
        id: SubmissionId,
        done: Option<&str>,
        failed: Option<FailedAction>,
        template: Option<i64>,
    ) -> Result<Self, AppError> {
        let actor = auth::actor_of(user);
        let now = OffsetDateTime::now_utc();
        let d = usecases::view(
            state.store.as_ref(),
            &auth::principal_of(user, None),
            id,
            now,
        )
        .await?;
        let org = state.store.organisation(d.org).await?;
        let sub = state.store.subcategory(d.subcategory).await?;
        let is_author = user.id == d.author;
        let actions = usecases::offered_actions(&d.state(), &actor);
        let organisations = if actions.iter().any(|a| a == "redirect") {
            state
                .store
                .organisations()
                .await?
                .into_iter()
                .filter(|o| o.id != d.org)
                .map(|o| (o.id.to_string(), o.name))
                .collect()
        } else {
            Vec::new()
        };
        let accesses = if is_author {
            state
                .store
                .personal_data_accesses(id)
                .await?
                .into_iter()
                .map(|a| (messages::datetime(a.at), a.staff_name))
                .collect()
        } else {
            Vec::new()
        };
        let subcategories = if actions.iter().any(|a| a == "recategorise") {
            state
                .store
                .catalogue()
                .await?
                .into_iter()
                .flat_map(|c| {
                    c.subcategories
                        .into_iter()
                        .filter(|s| s.id != d.subcategory)
                        .map(move |s| (s.id.to_string(), format!("{} → {}", c.name, s.name)))
                })
                .collect()
        } else {
            Vec::new()
        };
        let route =
            (user.role != otklik_domain::lifecycle::Role::Citizen).then(|| route_text(&d.route));
        let receipts = state
            .store
            .receipts(id, actor)
            .await?
            .into_iter()
            .map(|r| ReceiptRow {
                index: r.index,
                label: match r.kind.as_str() {
                    "visibility" => "Изменено, видят ли сообщение другие жители",
                    kind => otklik_domain::lifecycle::EventKind::parse(kind)
                        .map(messages::event)
                        .unwrap_or("Событие"),
                },
                at: messages::datetime(r.at),
                signed: r.signed,
            })
            .collect();
        let fields = sub
            .form
            .fields
            .iter()
            .filter_map(|f| {
                d.fields
                    .as_map()
                    .get(&f.key)
                    .map(|v| (f.label.clone(), v.clone()))
            })
            .collect();
        let events = d.events.iter().map(event_view).collect();
        let (failed_name, failed_message, failed_fields, typed) = match failed {
            Some(f) => (
                Some(usecases::action_to_url(&f.name)),
                Some(messages::error(f.error.code)),
                f.error
                    .fields
                    .iter()
                    .map(|e| (e.field.clone(), messages::error(e.code)))
                    .collect(),
                f.input,
            ),
            None => (None, None, Vec::new(), ActInput::default()),
        };
        let title = match failed_message {
            Some(_) => format!("Ошибка: № {}", d.number),
            None => format!("№ {}", d.number),
        };
        let signed_answers = state
            .store
            .answer_documents(d.id)
            .await?
            .into_iter()
            .filter(|doc| doc.status == otklik_domain::document::DocumentStatus::Completed)
            .map(|doc| (doc.id.0, doc.title))
            .collect();
        let may_sign_answer = matches!(user.role, otklik_domain::lifecycle::Role::Official(org) if org == d.org)
            && otklik_domain::access::check(
                Some(&auth::principal_of(user, None)),
                otklik_domain::access::Capability::Sign,
            )
            .is_ok()
            && matches!(
                d.status,
                otklik_domain::lifecycle::Status::Answered
                    | otklik_domain::lifecycle::Status::Rated
            );
        let templates = match user.role {
            otklik_domain::lifecycle::Role::Official(org)
                if org == d.org && actions.iter().any(|a| a == "answer") =>
            {
                let category = state.store.subcategory(d.subcategory).await?.category;
                state
                    .store
                    .template_suggestions(org, category, 10)
                    .await?
                    .into_iter()
                    .map(|t| (t.id, t.title))
                    .collect()
            }
            _ => Vec::new(),
        };
        let prefill_answer = match (template, user.role) {
            (Some(id), otklik_domain::lifecycle::Role::Official(holder))
                if templates_offer(&templates, id) =>
            {
                let chosen = state.store.answer_template(holder, id).await?;
                state.store.record_template_use(holder, id).await?;
                otklik_domain::answer_template::TemplateBody::parse(&chosen.body)
                    .ok()
                    .map(|body| crate::templates::fill(&body, &d, org.utc_offset_minutes))
            }
            _ => None,
        };
        let merge = super::duplicates::MergeView::build(state, user, &d).await?;
        Ok(Self {
            chrome: Chrome::new(ctx, &title),
            base: format!("/submissions/{}", d.id),
            number: d.number.to_string(),
            kind: messages::kind(d.kind),
            status: messages::status(d.status),
            status_code: d.status.as_str(),
            topic: format!("{} → {}", d.category_name, d.subcategory_name),
            org_name: d.org_name.clone(),
            region_name: d.region_name.clone(),
            author: (!is_author).then(|| (d.author_name.clone(), d.author_email.clone())),
            created: messages::datetime(d.created_at),
            deadline: messages::date(d.deadline_at, org.utc_offset_minutes),
            overdue: d.status.clock_runs() && d.deadline_at < now,
            remaining: remaining(d.status, d.deadline_at, now),
            extended: d.extended,
            route,
            subcategories,
            is_open: d.status.is_open(),
            text: d.text.clone(),
            fields,
            attachments: file_views(&d.attachments),
            events,
            rating: d.rating.map(|s| s.value()),
            actions,
            organisations,
            grounds: RejectionGround::ALL
                .iter()
                .map(|g| (g.as_str().to_owned(), messages::ground(*g).to_owned()))
                .collect(),
            done: done.and_then(done_message),
            failed: failed_name,
            failed_message,
            failed_fields,
            typed,
            accesses,
            receipts,
            signed_answers,
            may_sign_answer,
            templates,
            prefill_answer,
            merge,
        })
    }

    pub fn offers(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a == action)
    }

    /// The message of a field of the action that failed, if it is this one's.
    pub fn error_of(&self, action: &str, field: &str) -> Option<&'static str> {
        if self.failed.as_deref() != Some(action) {
            return None;
        }
        self.failed_fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| *m)
    }

    pub fn failed_is(&self, action: &str) -> bool {
        self.failed.as_deref() == Some(action)
    }

    /// Links from the error summary to the invalid fields of the failed action (their
    /// ids are `{action}-{field}`), with each field's message.
    pub fn failed_links(&self) -> Vec<(String, String)> {
        let action = self.failed.as_deref().unwrap_or_default();
        self.failed_fields
            .iter()
            .map(|(field, message)| (format!("#{action}-{field}"), (*message).to_owned()))
            .collect()
    }

    pub fn typed_for(&self, action: &str) -> ActInput {
        if self.failed.as_deref() == Some(action) {
            self.typed.clone()
        } else if let (Some(text), "answer") = (&self.prefill_answer, action) {
            ActInput {
                text: text.clone(),
                ..ActInput::default()
            }
        } else {
            ActInput::default()
        }
    }
}

fn event_view(e: &otklik_store::EventRecord) -> EventView {
    let mut lines = Vec::new();
    if let Some(from) = e.from_status {
        if from != e.to_status {
            lines.push((
                "Статус".to_owned(),
                messages::status(e.to_status).to_owned(),
            ));
        }
    }
    if let Some(ground) = e.ground {
        lines.push(("Основание".to_owned(), messages::ground(ground).to_owned()));
    }
    if let Some(score) = e.score {
        lines.push(("Оценка".to_owned(), format!("{} из 5", score.value())));
    }
    if let Some(related) = e.related {
        lines.push(("Обращение".to_owned(), format!("№ {}", related.number)));
    }
    if let Some(reason) = &e.reason {
        let label = match e.kind {
            lifecycle::EventKind::Rated => "Комментарий",
            lifecycle::EventKind::Rejected => "Пояснение",
            _ => "Причина",
        };
        lines.push((label.to_owned(), reason.clone()));
    }
    if matches!(
        e.kind,
        lifecycle::EventKind::Registered
            | lifecycle::EventKind::Redirected
            | lifecycle::EventKind::SentBack
    ) {
        lines.push(("Срок ответа".to_owned(), messages::datetime(e.deadline_at)));
    }
    EventView {
        at: messages::datetime(e.at),
        title: messages::event(e.kind),
        org: e.to_org_name.clone(),
        actor: e.actor_name.clone().unwrap_or_default(),
        lines,
        body: e.body.clone(),
        files: file_views(&e.files),
    }
}

fn done_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "registered" => "Зарегистрировано. Номер и срок ответа указаны ниже; все изменения вы увидите на этой странице.",
        "taken_into_work" => "Взято в работу.",
        "intermediate_answer" => "Промежуточный ответ опубликован.",
        "answered" => "Ответ отправлен заявителю.",
        "redirected" => "Перенаправлено в другую организацию.",
        "rejected" => "Оставлено без ответа по существу; заявитель уведомлён.",
        "rated" => "Спасибо, ваша оценка сохранена.",
        "sent_back" => "Ответ возвращён на повторное рассмотрение.",
        "merged_in" => "Похожее обращение присоединено: ответ на это обращение получат оба заявителя.",
        "unmerged" => "Обращение отделено и рассматривается самостоятельно.",
        "public" => "Сообщение теперь видно другим жителям (без вашего имени и данных формы).",
        "private" => "Сообщение скрыто от других жителей.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::unread_badge;

    #[test]
    fn the_badge_says_99_plus_past_what_is_counted() {
        assert_eq!(unread_badge(0), "");
        assert_eq!(unread_badge(1), "1");
        assert_eq!(unread_badge(99), "99");
        assert_eq!(unread_badge(otklik_store::UNREAD_COUNT_LIMIT), "99+");
    }
}
