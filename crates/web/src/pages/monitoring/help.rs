//! Help for staff: the inbox, the deadlines, coordination, incidents.
//!
//! Open to everyone, signed in or not: it holds no data, the procedures are public law,
//! and a citizen may want to know the terms too. The menu links to it for staff only.

use askama::Template;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use otklik_domain::lifecycle::{IncidentKind, RejectionGround};

use crate::auth::Ctx;
use crate::messages;
use crate::pages::render;
use crate::pages::views::Chrome;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/help", get(index))
        .route("/help/inbox", get(inbox))
        .route("/help/deadlines", get(deadlines))
        .route("/help/coordination", get(coordination))
        .route("/help/incidents", get(incidents))
}

/// One section of the help, as the index and the section menu list it.
pub struct Section {
    pub href: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
}

pub const SECTIONS: &[Section] = &[
    Section {
        href: "/help/inbox",
        title: "Работа с входящими",
        summary: "Для должностных лиц: взять в работу, промежуточный ответ, ответ с \
                  документами, перенаправление, отказ, запрос уточнения, продление срока.",
    },
    Section {
        href: "/help/deadlines",
        title: "Сроки рассмотрения",
        summary: "10 рабочих дней для сообщений, сроки 59-ФЗ для обращений, \
                  производственный календарь, окончание срока, приостановка.",
    },
    Section {
        href: "/help/coordination",
        title: "Координация региона",
        summary: "Для координаторов: проверка текста и темы, направление вручную, спам, \
                  возврат ответов, сроки модерации.",
    },
    Section {
        href: "/help/incidents",
        title: "Инциденты и мониторинг",
        summary: "Что фиксирует мониторинг, как закрыть инцидент, кто что видит.",
    },
];

#[derive(Template)]
#[template(path = "help_index.html")]
pub struct HelpIndex {
    pub chrome: Chrome,
    pub sections: &'static [Section],
}

#[derive(Template)]
#[template(path = "help_inbox.html")]
pub struct HelpInbox {
    pub chrome: Chrome,
    pub current: &'static str,
    pub sections: &'static [Section],
    /// The legal grounds for leaving a submission without an answer on the merits.
    pub grounds: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "help_deadlines.html")]
pub struct HelpDeadlines {
    pub chrome: Chrome,
    pub current: &'static str,
    pub sections: &'static [Section],
}

#[derive(Template)]
#[template(path = "help_coordination.html")]
pub struct HelpCoordination {
    pub chrome: Chrome,
    pub current: &'static str,
    pub sections: &'static [Section],
}

#[derive(Template)]
#[template(path = "help_incidents.html")]
pub struct HelpIncidents {
    pub chrome: Chrome,
    pub current: &'static str,
    pub sections: &'static [Section],
    /// Each kind's label (as the register shows it) and what raises it.
    pub kinds: Vec<(&'static str, &'static str)>,
}

async fn index(ctx: Ctx) -> Response {
    render(&HelpIndex {
        chrome: Chrome::new(&ctx, "Справка для сотрудников"),
        sections: SECTIONS,
    })
}

async fn inbox(ctx: Ctx) -> Response {
    render(&HelpInbox {
        chrome: Chrome::new(&ctx, "Работа с входящими"),
        current: "/help/inbox",
        sections: SECTIONS,
        grounds: RejectionGround::ALL
            .iter()
            .map(|g| messages::ground(*g))
            .collect(),
    })
}

async fn deadlines(ctx: Ctx) -> Response {
    render(&HelpDeadlines {
        chrome: Chrome::new(&ctx, "Сроки рассмотрения"),
        current: "/help/deadlines",
        sections: SECTIONS,
    })
}

async fn coordination(ctx: Ctx) -> Response {
    render(&HelpCoordination {
        chrome: Chrome::new(&ctx, "Координация региона"),
        current: "/help/coordination",
        sections: SECTIONS,
    })
}

async fn incidents(ctx: Ctx) -> Response {
    render(&HelpIncidents {
        chrome: Chrome::new(&ctx, "Инциденты и мониторинг"),
        current: "/help/incidents",
        sections: SECTIONS,
        kinds: IncidentKind::ALL
            .iter()
            .map(|k| (messages::incident(*k), raised_by(*k)))
            .collect(),
    })
}

/// What raises each kind of incident, as the monitor and the actions implement it.
fn raised_by(kind: IncidentKind) -> &'static str {
    match kind {
        IncidentKind::LateRegistration => {
            "Обращение зарегистрировано позже трёх дней со дня поступления (часть 2 \
             статьи 8 закона № 59-ФЗ). На платформе обращение регистрируется автоматически \
             в момент подачи, поэтому при обычной работе такой инцидент не возникает."
        }
        IncidentKind::LateModeration => {
            "Сообщение ждёт в очереди координатора региона (не проверено и не направлено в \
             организацию) дольше срока модерации — 1 рабочего дня."
        }
        IncidentKind::LateRedirect => {
            "Обращение по 59-ФЗ ждёт в очереди координатора региона дольше 7 дней со дня \
             регистрации и не направлено в компетентную организацию (часть 3 статьи 8 \
             закона № 59-ФЗ)."
        }
        IncidentKind::LateAnswer => {
            "Срок ответа истёк, а ответа нет: сообщение или обращение всё ещё открыто. \
             Фиксируется один раз на каждый срок; если срок продлён и снова нарушен, \
             фиксируется новый инцидент. Пока срок приостановлен в ожидании уточнения, \
             просрочка не считается."
        }
        IncidentKind::AnswerRejected => {
            "Координатор региона вернул ответ организации на доработку, потому что ответ не \
             отвечает на вопрос заявителя."
        }
        IncidentKind::LowRating => {
            "Заявитель оценил ответ на 1 или 2 из 5. Инцидент фиксируется в момент оценки."
        }
        IncidentKind::DeliveryFailing => {
            "Сообщение или обращение не удаётся передать в собственную систему организации: \
             столько попыток подряд завершились ошибкой, сколько задано в настройках \
             интеграции. Доставка продолжается; оператор проверяет адрес и доступность \
             системы организации."
        }
        IncidentKind::LateSocialAnswer => {
            "Инцидент из социальных сетей или мессенджеров (несколько публикаций об одной \
             проблеме в одном месте) не получил публичного ответа за 24 часа (срок задаёт \
             оператор). Фиксируется один раз; ссылка в реестре ведёт к инциденту и его \
             публикациям. Если организация или регион инцидента ещё не определены, запись \
             видит оператор."
        }
    }
}
