//! Russian texts of the console: labels of the configuration's codes, and messages for
//! the error codes that only the console produces (the others come from `messages`).

use otklik_domain::calendar::{DayKind, TermUnit};
use otklik_domain::form::FieldKind;
use otklik_domain::lifecycle::SubmissionKind;
use time::Weekday;

/// The message for an error code of a console form (all texts live in `messages`).
pub fn message(code: &str) -> &'static str {
    crate::messages::error(code)
}

/// The kinds of organisations (`otklik_store::ORGANISATION_KINDS`).
pub fn org_kind(kind: &str) -> &'static str {
    match kind {
        "federal_body" => "Федеральный орган исполнительной власти",
        "regional_body" => "Орган исполнительной власти субъекта Российской Федерации",
        "local_government" => "Орган местного самоуправления",
        "institution" => "Государственное или муниципальное учреждение",
        "other_public" => "Иная организация, выполняющая публично значимые функции",
        "coordinator" => "Центр управления регионом (координатор)",
        _ => "Другое",
    }
}

pub fn field_kind(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "Строка текста",
        FieldKind::Number => "Целое число",
        FieldKind::Date => "Дата",
        FieldKind::Select => "Список (один вариант)",
        FieldKind::MultiSelect => "Несколько из списка (флажки)",
        FieldKind::Address => "Адрес или место",
    }
}

pub fn day_kind(kind: DayKind) -> &'static str {
    match kind {
        DayKind::Holiday => "Праздничный нерабочий день",
        DayKind::DayOff => "Выходной день (перенос, будний день)",
        DayKind::Working => "Рабочий день (перенос, суббота или воскресенье)",
        DayKind::Short => "Сокращённый предпраздничный день",
    }
}

pub fn unit(unit: TermUnit) -> &'static str {
    match unit {
        TermUnit::WorkingDays => "Рабочие дни",
        TermUnit::CalendarDays => "Календарные дни",
    }
}

pub fn submission_kind(kind: SubmissionKind) -> &'static str {
    match kind {
        SubmissionKind::Message => "Сообщения",
        SubmissionKind::Appeal => "Обращения (59-ФЗ)",
    }
}

/// What a record of the change log is about.
pub fn entity(entity: &str) -> &'static str {
    match entity {
        "route" => "Правило маршрутизации",
        "organisation" => "Организация",
        "category" => "Категория",
        "subcategory" => "Подкатегория и форма",
        "deadline_policy" => "Политика сроков",
        "calendar" => "Производственный календарь",
        _ => "Настройка",
    }
}

pub fn weekday(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "понедельник",
        Weekday::Tuesday => "вторник",
        Weekday::Wednesday => "среда",
        Weekday::Thursday => "четверг",
        Weekday::Friday => "пятница",
        Weekday::Saturday => "суббота",
        Weekday::Sunday => "воскресенье",
    }
}

/// «пересчитано сроков: N из M» after a change of policy or calendar.
pub fn recomputed(changed: &str, checked: &str) -> String {
    format!("Пересчитано сроков открытых обращений: {changed} из {checked}.")
}
