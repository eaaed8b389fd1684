//! Russian texts of the console: labels of the configuration's codes, and messages for
//! the error codes that only the console produces (the others come from `messages`).

use otklik_domain::calendar::{DayKind, TermUnit};
use otklik_domain::form::FieldKind;
use otklik_domain::lifecycle::SubmissionKind;
use time::Weekday;

/// The message for an error code of a console form.
pub fn message(code: &str) -> &'static str {
    match code {
        "invalid_name" => "Название — от 2 до 200 знаков (у организации — до 300).",
        "unknown_organisation_kind" => "Выберите вид организации из списка.",
        "unknown_parent" => "Выберите вышестоящую организацию из списка.",
        "parent_cycle" => {
            "Организация не может подчиняться сама себе, в том числе через другие организации."
        }
        "invalid_utc_offset" => {
            "Смещение от UTC — целое число минут от −720 до 840, например 180 для Москвы."
        }
        "unknown_category" => "Выберите категорию из списка.",
        "invalid_key" => {
            "Ключ: строчные латинские буквы, цифры и знак «_», начинается с буквы, не длиннее 40 знаков."
        }
        "duplicate_key" => "Такой ключ уже есть у другого поля этой формы.",
        "options_required" => "Укажите варианты выбора, по одному на строку.",
        "options_not_allowed" => {
            "Варианты нужны только спискам: очистите их или выберите тип «Список» или «Несколько из списка»."
        }
        "duplicate_option" => "Варианты не должны повторяться.",
        "invalid_option" => {
            "Вариант не может быть пустым или длиннее 200 знаков, а у множественного выбора — содержать «;»."
        }
        "too_many_options" => "Не больше 50 вариантов.",
        "too_many_fields" => "В форме не больше 30 полей.",
        "invalid_form_spec" => "Форма составлена неверно.",
        "bad_date" => "Неверная дата: нужен формат ГГГГ-ММ-ДД.",
        "missing_kind" => "Не указан вид дня (holiday, day-off, working или short).",
        "unknown_kind" => "Неизвестный вид дня: допустимы holiday, day-off, working и short.",
        "unexpected_text" => "Лишний текст после вида дня (комментарий начинается с «#»).",
        "duplicate_date" => "Эта дата уже встречалась в файле.",
        "working_on_weekday" => "Рабочим днём (working) можно сделать только субботу или воскресенье.",
        "day_off_on_weekend" => "Выходным днём (day-off) можно сделать только будний день.",
        "empty_calendar" => "В файле нет ни одного дня.",
        "file_required" => "Выберите файл календаря.",
        "not_utf8" => "Файл должен быть текстовым, в кодировке UTF-8.",
        "missing_federal_holidays" => {
            "В федеральном календаре года должны быть все праздники статьи 112 Трудового кодекса."
        }
        other => crate::messages::error(other),
    }
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
