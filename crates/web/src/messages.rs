//! Russian texts of the interface for the domain's codes. The domain and the API speak in
//! stable codes; people read these.

use otklik_domain::lifecycle::{EventKind, IncidentKind, RejectionGround, Status, SubmissionKind};
use otklik_domain::notify::{CampaignStatus, Delivery, NotificationKind};

pub fn status(s: Status) -> &'static str {
    match s {
        Status::Registered => "Зарегистрировано",
        Status::InProgress => "В работе",
        Status::Answered => "Дан ответ",
        Status::Rated => "Ответ оценён",
        Status::Rejected => "Оставлено без ответа по существу",
        Status::Reopened => "На повторном рассмотрении",
        Status::AwaitingClarification => "Ожидает уточнения от заявителя",
    }
}

/// How a submission arrived.
pub fn channel(c: otklik_domain::lifecycle::Channel) -> &'static str {
    use otklik_domain::lifecycle::Channel;
    match c {
        Channel::Portal => "Портал",
        Channel::Widget => "Виджет на сайте",
        Channel::Api => "API (приложения)",
        Channel::Open311 => "Open311",
    }
}

pub fn platform(p: otklik_social::Platform) -> &'static str {
    use otklik_social::Platform;
    match p {
        Platform::Vk => "ВКонтакте",
        Platform::Telegram => "Telegram",
        Platform::Rss => "Сайт (RSS)",
        Platform::Webhook => "Партнёрская система",
    }
}

pub fn kind(k: SubmissionKind) -> &'static str {
    match k {
        SubmissionKind::Message => "Сообщение",
        SubmissionKind::Appeal => "Обращение (59-ФЗ)",
    }
}

pub fn event(e: EventKind) -> &'static str {
    match e {
        EventKind::Registered => "Зарегистрировано и направлено",
        EventKind::TakenIntoWork => "Взято в работу",
        EventKind::IntermediateAnswer => "Промежуточный ответ",
        EventKind::Answered => "Дан ответ",
        EventKind::Redirected => "Перенаправлено",
        EventKind::Rejected => "Оставлено без ответа по существу",
        EventKind::Rated => "Ответ оценён",
        EventKind::SentBack => "Возвращено на повторное рассмотрение",
        EventKind::ClarificationRequested => "Запрошено уточнение (срок приостановлен)",
        EventKind::Clarified => "Заявитель дал уточнение (срок продолжен)",
        EventKind::Extended => "Срок рассмотрения продлён",
        EventKind::AnswerReturned => "Ответ возвращён координатором на доработку",
        EventKind::Recategorised => "Тема изменена координатором, обращение направлено заново",
        EventKind::Merged => "Объединено с похожим обращением: ответ на него придёт и сюда",
        EventKind::MergedIn => "Присоединено похожее обращение",
        EventKind::Unmerged => "Отделено от обращения, с которым было объединено",
    }
}

pub fn incident(k: IncidentKind) -> &'static str {
    match k {
        IncidentKind::LateRegistration => "Нарушен срок регистрации",
        IncidentKind::LateModeration => "Нарушен срок модерации",
        IncidentKind::LateRedirect => "Нарушен срок перенаправления (7 дней)",
        IncidentKind::LateAnswer => "Нарушен срок ответа",
        IncidentKind::AnswerRejected => "Ответ отклонён координатором",
        IncidentKind::LowRating => "Низкая оценка ответа (1–2)",
        IncidentKind::DeliveryFailing => "Не доставлено в систему организации",
        IncidentKind::LateSocialAnswer => "Нет публичного ответа в соцсети в срок",
    }
}

pub fn ground(g: RejectionGround) -> &'static str {
    match g {
        RejectionGround::ObsceneLanguage => "Нецензурные либо оскорбительные выражения, угрозы",
        RejectionGround::UnreadableText => "Текст не поддаётся прочтению",
        RejectionGround::RepeatedQuestion => {
            "Повторный вопрос, на который уже дан ответ по существу"
        }
        RejectionGround::CourtMatter => "Обжалование судебного решения",
        RejectionGround::ProtectedSecret => "Ответ раскрыл бы охраняемую законом тайну",
    }
}

/// The message for an error code, whether of a whole request or of one field.
pub fn error(code: &str) -> &'static str {
    match code {
        "required" => "Заполните это поле.",
        "incident_not_open" => "Инцидент уже закрыт: действовать можно только с открытым инцидентом.",
        "merge_into_itself" => "Инцидент нельзя объединить сам с собой.",
        "split_nothing" => "Отметьте часть постов: в каждом инциденте должен остаться хотя бы один.",
        "unknown_incident" => "Такого инцидента нет.",
        "unknown_post" => "Такого поста в инциденте нет.",
        "unknown_source" => "Такого источника нет.",
        "discussion_not_open" => "Обсуждение сейчас не идёт.",
        "already_supported" => "Вы уже высказали своё отношение к предложению.",
        "unknown_stance" => "Выберите: за или против.",
        "already_published" => "Комментарий уже опубликован.",
        "already_rejected" => "Комментарий уже отклонён.",
        "unknown_rejection_reason" => "Укажите причину отклонения.",
        "unknown_moderation" => "Выберите: опубликовать или отклонить.",
        "unknown_comment_status" => "Статус комментария: pending, published или rejected.",
        "unknown_poll_kind" => "Выберите вид: опрос или голосование.",
        "no_questions" => "Добавьте хотя бы один вопрос.",
        "too_many_questions" => "Не больше 50 вопросов.",
        "vote_needs_one_choice_question" => "В голосовании один вопрос с выбором вариантов.",
        "too_few_options" => "Нужно не меньше двух вариантов.",
        "too_many_poll_options" => "Не больше 200 вариантов.",
        "empty_option" => "Вариант не может быть пустым.",
        "max_out_of_range" => "Число вариантов для выбора должно быть от 1 до числа вариантов.",
        "scale_out_of_range" => "Шкала — от 0 до 10, начало меньше конца.",
        "too_many_to_rank" => "Упорядочить можно не больше 20 вариантов.",
        "length_out_of_range" => "Длина ответа — от 1 до 5000 знаков.",
        "condition_not_earlier" => "Условие может ссылаться только на предыдущий вопрос.",
        "condition_not_a_choice" => "Условие может ссылаться только на вопрос с выбором вариантов.",
        "condition_unknown_option" => "В условии указан несуществующий вариант.",
        "text_before_first_question" => "Начните с вопроса: строка со знаком «?».",
        "unrecognised_line" => "Строка не распознана: начните её с «?», «*» или «-».",
        "malformed_type" => "Тип вопроса не распознан: один, несколько до K, шкала A..B, порядок, текст N.",
        "malformed_condition" => "Условие записывается так: если 1 = 2.",
        "scale_or_text_has_no_options" => "У шкалы и текстового ответа нет вариантов.",
        "not_a_location" => "Координаты записываются так: 55.75, 37.61.",
        "malformed" => "Данные не распознаны.",
        "unknown_results_policy" => "Выберите, когда показывать результаты.",
        "unknown_verification" => "Выберите уровень подтверждения учётной записи.",
        "not_a_datetime" => "Введите дату и время, например 2026-12-31T18:00.",
        "in_the_past" => "Дата уже прошла.",
        "closes_before_it_opens" => "Окончание должно быть позже начала.",
        "longer_than_a_year" => "Опрос длится не больше года.",
        "region_required" => "Чтобы выбрать муниципальное образование, выберите регион.",
        "poll_not_open" => "Голосование сейчас не идёт.",
        "poll_open" => "Голосование ещё идёт.",
        "poll_closed" => "Голосование уже закончилось.",
        "poll_not_editable" => {
            "Фотографии вариантов меняют только до начала голосования или опроса, пока он не отменён."
        }
        "not_an_image" => "Можно загрузить только изображение JPEG, PNG или WebP.",
        "too_many_photos" => "У варианта уже 3 фотографии: сначала удалите одну из них.",
        "not_a_choice_question" => {
            "Фотографии бывают только у вариантов ответа в вопросах с выбором или порядком."
        }
        "photo_at_edge" => "Фотография уже на краю: дальше в эту сторону её не передвинуть.",
        "unknown_direction" => "Выберите, куда передвинуть фотографию: выше или ниже.",
        "after_and_before" => {
            "Комментарии листают либо вперёд (after), либо назад (before), но не в обе стороны сразу."
        }
        "already_voted" => "Вы уже проголосовали. Голос учитывается один раз.",
        "verification_required" => "Для участия нужна подтверждённая учётная запись нужного уровня.",
        "age_unknown" => "Укажите дату рождения в профиле: участие ограничено по возрасту.",
        "too_young" => "Участвовать могут граждане старше указанного возраста.",
        "outside_region" => "Голосование проводится для жителей другого региона.",
        "outside_organisation_region" => {
            "Организация проводит опросы и обсуждения только в своём регионе."
        }
        "outside_organisation_municipality" => {
            "Организация проводит опросы и обсуждения только в своём муниципальном образовании."
        }
        "outside_municipality" => "Голосование проводится для жителей другого муниципального образования.",
        "hidden_question_answered" => "На этот вопрос не нужно отвечать при выбранных ответах.",
        "one_choice_only" => "Выберите один вариант.",
        "too_many_choices" => "Выбрано больше вариантов, чем можно.",
        "duplicate_choice" => "Вариант выбран дважды.",
        "unknown_option" => "Такого варианта нет.",
        "wrong_answer_type" => "Ответ не подходит к вопросу.",
        "not_a_ranking" => "Расставьте все варианты по порядку, каждый на своё место.",
        "unknown_question" => "Лишний ответ: такого вопроса нет.",
        "too_many_answers" => "Слишком много ответов.",
        "results_embargoed" => "Результаты будут опубликованы после окончания голосования.",
        "ballot_box_busy" => "Слишком много голосов одновременно. Повторите через секунду.",
        "ballots_not_stored" => "Голос не сохранён. Повторите попытку.",
        "invalid_phone" => "Введите номер телефона, например +7 912 345-67-89.",
        "digest_email_only" => "Сводку можно получать только по электронной почте.",
        "invalid_subject" => "Тема — одна строка не длиннее 200 знаков.",
        "template_syntax" => "В шаблоне ошибка синтаксиса: проверьте парные {{ }} и {% %}.",
        "template_error" => "Шаблон не удаётся заполнить пробными значениями.",
        "unknown_placeholder" => "В шаблоне есть подстановка, которой нет в списке допустимых.",
        "below_min_age" => "Верхняя граница возраста меньше нижней.",
        "campaign_command_not_allowed" => "Это действие с рассылкой сейчас недоступно.",
        "invalid_token" => "Ссылка недействительна или повреждена. Откройте её из письма ещё раз.",
        "municipality_needs_region" => "Чтобы выбрать муниципальное образование, выберите регион.",
        "too_short" => "Слишком коротко.",
        "too_long" => "Слишком длинно.",
        "control_characters" => "Текст содержит недопустимые управляющие символы.",
        "invalid_email" => "Введите адрес электронной почты, например name@example.ru.",
        "too_weak" => "Пароль должен содержать и буквы, и цифры или знаки.",
        "passwords_differ" => "Пароли не совпадают.",
        "email_taken" => "Этот адрес уже зарегистрирован. Войдите или укажите другой.",
        "invalid_credentials" => "Неверный адрес электронной почты или пароль.",
        "not_a_number" => "Введите целое число.",
        "not_a_date" => "Введите дату в формате ГГГГ-ММ-ДД.",
        "not_an_option" | "unknown_value" => "Выберите значение из списка.",
        "unknown_field" => "Такого поля в форме нет.",
        "file_empty" => "Файл пустой.",
        "file_type_not_allowed" => "Можно прикладывать только JPEG, PNG и PDF.",
        "too_many_files" => "Можно приложить не больше 5 файлов.",
        "photo_required" => "Для этой темы нужна хотя бы одна фотография (JPEG или PNG).",
        "files_not_allowed" => "К этому действию нельзя прикладывать файлы.",
        "out_of_range" => "Выберите значение из допустимого диапазона.",
        "invalid_url" => "Введите адрес вида https://сервер/путь без логина и пароля.",
        "https_required" => "Адрес должен начинаться с https:// (http:// — только для локального сервера).",
        "private_address" => "Адрес во внутренней сети платформы недопустим: укажите внешний адрес системы.",
        "weak_secret" => "Ключ подписи — от 32 до 200 печатных латинских символов.",
        "idempotency_key_reused" => "Этот ключ идемпотентности уже использован для другого запроса.",
        "idempotency_key_in_progress" => "Запрос с этим ключом идемпотентности ещё выполняется.",
        "invalid_idempotency_key" => "Ключ идемпотентности — от 1 до 255 видимых символов ASCII.",
        "unknown_region" => "Выберите регион из списка.",
        "unknown_subcategory" => "Такой темы нет.",
        "unknown_organisation" => "Такой организации нет.",
        "same_organisation" => "Нельзя перенаправить в ту же организацию.",
        "no_route" => "Для этой темы в выбранном регионе пока нет ответственной организации.",
        "illegal_transition" => "Это действие невозможно в текущем статусе.",
        "already_rated" => "Ответ уже оценён.",
        "rating_not_low" => {
            "Вернуть ответ на повторное рассмотрение можно только при оценке 1 или 2."
        }
        "re_review_used" => "Повторное рассмотрение уже было использовано.",
        "validation_failed" => "Проверьте поля формы.",
        "not_found" => "Страница не найдена.",
        "export_expired" => "Файл удалён по истечении срока хранения. Запросите новую выгрузку на странице списка или на странице «Аналитика».",
        "export_reach_changed" => "Ваши права на аналитику изменились после запроса: файл не подготовлен. Запросите выгрузку снова.",
        "export_too_large" => "Таблица не помещается на лист XLSX: выберите CSV или сократите период.",
        "export_not_ready" => "Файл ещё не готов: посмотрите состояние выгрузки и вернитесь позже.",
        "unauthorized" => "Войдите, чтобы продолжить.",
        "forbidden" => "У вас нет прав на это действие.",
        "citizens_only" => "Подавать сообщения и обращения могут только граждане. Войдите под учётной записью гражданина.",
        "csrf_failed" => "Форма устарела. Обновите страницу и отправьте её ещё раз.",
        "request_too_large" => {
            "Слишком большой запрос: файлы не больше 10 МБ каждый, не больше 5 файлов."
        }
        "invalid_body" | "invalid_json" | "invalid_form" | "invalid_query" => "Запрос не удалось разобрать.",
        "method_not_allowed" => "Этот адрес не принимает такой запрос.",
        "not_an_appeal" => "Продлить срок можно только для обращения по 59-ФЗ.",
        "extension_used" => "Срок уже продлевался: продлить его можно один раз.",
        "appeal_not_public" => "Обращение по закону № 59-ФЗ нельзя показать другим жителям; показать можно только сообщение.",
        "merged" => "Обращение объединено с другими: сначала отделите присоединённые обращения.",
        "same_submission" => "Обращение нельзя объединить само с собой.",
        "not_open" => "Объединять можно только обращения, которые ещё рассматриваются (не ждут уточнения).",
        "different_organisation" => "Обращения рассматривают разные организации: объединить их нельзя.",
        "already_merged" => "Это обращение уже присоединено к другому.",
        "primary_is_duplicate" => "Это обращение само присоединено к другому: присоединяйте к основному.",
        "has_duplicates" => "К этому обращению присоединены другие: сначала отделите их.",
        "not_merged" => "Обращение ни с чем не объединено.",
        "extension_not_allowed" => "Для этой темы продление срока не предусмотрено.",
        "extension_too_long" => "Продлить срок можно не более чем на 30 дней.",
        "term_out_of_range" => "Срок должен быть от 1 до 365 дней.",
        "unknown_municipality" => "Выберите муниципальное образование из списка этого региона.",
        "already_resolved" => "Инцидент уже закрыт.",
        "receipt_pending" => "Событие ещё не вошло в подписанную вершину журнала. Повторите через несколько секунд.",
        "no_tree_head" => "Журнал ещё не подписан: в нём нет ни одной вершины.",
        "index_out_of_range" | "size_out_of_range" => "В журнале нет записи с таким номером или размером.",
        "missing_parameter" => "Не хватает параметра запроса.",
        "invalid_parameter" => "Параметр запроса должен быть неотрицательным целым числом.",
        "unsupported_media_type" => "Тело запроса должно быть в формате JSON.",
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
        "rate_limited" => "Слишком много попыток подряд. Подождите немного и повторите.",
        "image_damaged" => {
            "Изображение повреждено, его нельзя принять. Сохраните снимок заново и приложите ещё раз."
        }
        "overloaded" => {
            "Сервис сейчас перегружен, запрос не выполнялся. Повторите через несколько секунд."
        }
        "database_unavailable" => {
            "База данных сейчас недоступна. Повторите через несколько секунд."
        }
        "request_timeout" => {
            "Запрос выполняется дольше обычного. Проверьте результат через несколько секунд, прежде чем повторять."
        }
        "account_locked" => {
            "Вход временно заблокирован после нескольких неверных паролей. Повторите позже или войдите через Госуслуги."
        }
        "verification_standard_required" => {
            "Для этого действия нужна подтверждённая личность (стандартная или подтверждённая учётная запись)."
        }
        "verification_verified_required" => {
            "Для этого действия нужна подтверждённая учётная запись (личность подтверждена лично, электронной подписью или банком)."
        }
        "insufficient_scope" => "Ключу доступа системы не выдано это разрешение.",
        "provider_unavailable" => {
            "Сервис входа сейчас недоступен. Попробуйте позже или войдите по паролю."
        }
        "login_not_configured" => "Вход через внешний сервис не настроен на этой площадке.",
        "login_expired" | "bad_state" => {
            "Вход не завершён: ссылка устарела или уже использована. Начните вход заново."
        }
        "provider_refused" => "Сервис входа отказал во входе. Начните вход заново.",
        "invalid_id_token" => {
            "Сервис входа прислал неверное или просроченное подтверждение личности. Начните вход заново."
        }
        "id_token_expired" => {
            "Подтверждение личности от сервиса входа просрочено (возможно, расходятся часы). Начните вход заново."
        }
        "identity_in_use" => {
            "У этого человека уже есть учётная запись на платформе. Войдите в неё: второй учётной записи быть не может."
        }
        "identity_linked_elsewhere" => "Эта учётная запись Госуслуг уже привязана к другому пользователю.",
        "identity_mismatch" => {
            "Эта учётная запись Госуслуг принадлежит другому человеку, чем уже подтверждённый владелец вашей учётной записи."
        }
        "account_disabled" => "Учётная запись отключена. Обратитесь к администратору организации.",
        "common_password" => "Этот пароль слишком распространён. Придумайте другой.",
        "password_contains_email" => "Пароль не должен содержать адрес электронной почты.",
        "invalid_origin" => {
            "Укажите адрес сайта в виде https://example.ru (схема, домен и, если нужно, порт, без пути)."
        }
        "widget_site_exists" => "Этот сайт уже добавлен.",
        "client_id_taken" | "invalid_client_id" => {
            "Идентификатор системы: латинские буквы, цифры, «-» и «_», от 3 до 64 знаков, и он должен быть свободен."
        }
        "invalid_scope" => "Выберите хотя бы одно разрешение из списка.",
        "invalid_client" => "Неверный идентификатор или секрет системы.",
        "unsupported_grant_type" => "Поддерживается только grant_type=client_credentials.",
        // --- electronic documents and signatures
        "document_required" => "Приложите файл документа или введите его текст.",
        "file_too_large" => "Файл больше 10 МБ.",
        "unknown_signing_order" => "Выберите порядок подписания.",
        "invalid_date" => "Введите дату в виде ГГГГ-ММ-ДД.",
        "before_start" => "Дата окончания периода раньше даты начала.",
        "period_too_long" => "Период не может быть длиннее десяти лет.",
        "unknown_district" => "Выберите федеральный округ из списка.",
        "deadline_in_past" => "Срок должен быть в будущем.",
        "deadline_too_far" => "Срок — не дальше чем через год.",
        "unknown_person" => "Нет учётной записи с таким адресом электронной почты (проверьте каждую строку).",
        "no_signers" => "Укажите хотя бы одного подписанта.",
        "too_many_signers" => "Подписантов — не больше 20.",
        "duplicate_signer" => "Один и тот же подписант указан дважды.",
        "too_many_recipients" => "Получателей — не больше 20.",
        "duplicate_recipient" => "Один и тот же получатель указан дважды.",
        "document_not_draft" => "Документ уже отправлен на подпись.",
        "document_not_signing" => "Документ сейчас не на подписи: маршрут завершён или ещё не начат.",
        "not_your_turn" => "Сейчас не ваша очередь подписывать этот документ.",
        "unknown_signer" => "Такого подписанта в маршруте нет.",
        "route_deadline_passed" => "Срок подписания истёк.",
        "route_deadline_not_reached" => "Срок подписания ещё не истёк.",
        "not_the_author" => "Это может сделать только автор документа.",
        "content_mismatch" => "Подпись относится к другому содержимому: документ изменён или подписан не тот файл.",
        "unknown_certificate" => "Выберите свой действующий сертификат.",
        "certificate_expired" => "Срок действия сертификата истёк.",
        "algorithm_unavailable" => "Этот алгоритм подписи на сервере сейчас недоступен.",
        "unknown_algorithm" => "Выберите алгоритм подписи.",
        "wrong_password" => "Неверный пароль подписи.",
        "too_many_wrong_passwords" => "Слишком много неверных паролей. Ключ заблокирован на 15 минут.",
        "signing_failed" => "Не удалось выполнить подпись. Попробуйте позже.",
        "signature_required" => "Приложите файл подписи.",
        "certificate_required" => "Приложите файл сертификата.",
        "certificate_not_registered" => "Подпись сделана сертификатом, которого нет в вашем разделе «Электронная подпись». Сначала добавьте его.",
        "certificate_registered" => "Этот сертификат уже добавлен.",
        "one_signer_expected" => "В файле должна быть одна подпись — ваша.",
        "signature_invalid" => "Подпись недействительна.",
        "unclosed_placeholder" => "Подстановка не закрыта: после {{ нужно }}.",
        "query_too_long" => "Запрос слишком длинный: не больше 500 знаков.",
        "no_answer_in_force" => "У обращения нет действующего ответа: его ещё не дали, вернули на повторное рассмотрение или обращение отклонено.",
        code if signature_problem_known(code) => signature_problem(code),
        _ => "Что-то пошло не так. Попробуйте ещё раз позже.",
    }
}

/// What a person can do about an error, with a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Help {
    pub text: &'static str,
    pub href: &'static str,
    pub link: &'static str,
}

pub fn help(code: &str) -> Option<Help> {
    match code {
        "verification_standard_required" | "verification_verified_required" => Some(Help {
            text: "Войдите через Госуслуги с подтверждённой учётной записью или привяжите её к этой учётной записи — уровень подтверждения перейдёт с ней.",
            href: "/account",
            link: "Как подтвердить личность",
        }),
        "account_locked" | "identity_in_use" => Some(Help {
            text: "Если это ваша учётная запись, войдите в неё.",
            href: "/login",
            link: "Ко входу",
        }),
        _ => None,
    }
}

/// Russian dates in the interface: `04.12.2026 19:30 МСК`, Moscow time, labelled so that
/// a reader in another of Russia's eleven zones is not misled.
pub fn datetime(at: time::OffsetDateTime) -> String {
    let local = at.to_offset(moscow());
    format!(
        "{:02}.{:02}.{} {:02}:{:02} МСК",
        local.day(),
        u8::from(local.month()),
        local.year(),
        local.hour(),
        local.minute()
    )
}

pub fn date(at: time::OffsetDateTime, offset_minutes: i32) -> String {
    let zone =
        time::UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap_or(time::UtcOffset::UTC);
    let local = at.to_offset(zone);
    format!(
        "{:02}.{:02}.{}",
        local.day(),
        u8::from(local.month()),
        local.year()
    )
}

fn moscow() -> time::UtcOffset {
    time::UtcOffset::from_hms(3, 0, 0).unwrap_or(time::UtcOffset::UTC)
}

/// A delivery's event, for the organisation's administrator.
pub fn delivery_event(event: &str) -> &'static str {
    match event {
        "submission.routed" => "поступило в организацию",
        "submission.updated" => "действие заявителя или координатора",
        "submission.withdrawn" => "передано в другую организацию",
        _ => "событие",
    }
}

pub fn delivery_state(state: otklik_store::DeliveryState) -> &'static str {
    match state {
        otklik_store::DeliveryState::Pending => "ожидает передачи",
        otklik_store::DeliveryState::Failing => "ошибка, повторяется",
        otklik_store::DeliveryState::Delivered => "передано",
    }
}

pub fn notification_kind(kind: NotificationKind) -> &'static str {
    use NotificationKind as K;
    match kind {
        K::Registered => "Обращение зарегистрировано",
        K::TakenIntoWork => "Обращение взято в работу",
        K::Redirected => "Обращение передано в другую организацию",
        K::Extended => "Срок ответа продлён",
        K::IntermediateAnswer => "Промежуточный ответ",
        K::ClarificationRequested => "Запрошено уточнение",
        K::Answered => "Дан ответ",
        K::Rejected => "Оставлено без ответа по существу",
        K::ReturnedForReview => "Повторное рассмотрение",
        K::Merged => "Обращение объединено с похожим",
        K::FollowedAnswered => "Ответ на сообщение, за которым вы следите",
        K::SigningRequest => "Документ ждёт подписи",
        K::DocumentReceived => "Передан подписанный документ",
        K::DocumentOutcome => "Маршрут подписания завершён",
        K::PollResult => "Итоги голосования",
        K::NewSubmission => "Новое обращение в организацию",
        K::CitizenReplied => "Заявитель ответил",
        K::DeadlineWarning => "Скоро истекает срок ответа",
        K::DeadlineBreach => "Нарушен срок ответа",
    }
}

pub fn delivery(delivery: Delivery) -> &'static str {
    match delivery {
        Delivery::Off => "Не присылать",
        Delivery::Immediate => "Сразу",
        Delivery::Digest => "В ежедневной сводке",
    }
}

pub fn campaign_status(status: CampaignStatus) -> &'static str {
    match status {
        CampaignStatus::Draft => "Черновик",
        CampaignStatus::Running => "Идёт отправка",
        CampaignStatus::Paused => "Приостановлена",
        CampaignStatus::Finished => "Завершена",
        CampaignStatus::Cancelled => "Отменена",
    }
}

fn signature_problem_known(code: &str) -> bool {
    signature_problem(code) != SIGNATURE_PROBLEM_UNKNOWN
}

const SIGNATURE_PROBLEM_UNKNOWN: &str = "Подпись не прошла проверку.";

/// What a verification problem (`otklik_sign::Problem::code`) means.
pub fn signature_problem(code: &str) -> &'static str {
    match code {
        "malformed_signature" => "Файл не является подписью CMS (повреждён, обрезан или другого формата).",
        "not_detached" => "Подпись должна быть отсоединённой (без вложенного документа).",
        "content_mismatch" => "Документ изменён после подписания: его хэш не совпадает с подписанным.",
        "bad_signature" => "Значение подписи неверно: подпись подделана или повреждена.",
        "certificate_missing" => "В подписи нет сертификата подписанта.",
        "certificate_expired" => "Сертификат подписанта истёк к моменту подписания.",
        "certificate_not_yet_valid" => "Сертификат подписанта ещё не действовал в момент подписания.",
        "untrusted_chain" => "Сертификат выдан удостоверяющим центром, которому платформа не доверяет.",
        "revoked" => "Сертификат подписанта отозван.",
        "signing_certificate_mismatch" => "Атрибут signing-certificate указывает на другой сертификат.",
        "unsupported_algorithm" => "Алгоритм подписи не поддерживается.",
        "no_signers" => "В файле нет ни одной подписи.",
        "gost_unavailable" => "Подписи по ГОСТ на этом сервере сейчас не проверяются: не установлен модуль ГОСТ для OpenSSL.",
        "bad_certificate" => "Файл не является сертификатом X.509 (PEM или DER).",
        "certificate_not_trusted" => "Сертификат выдан удостоверяющим центром, которому платформа не доверяет.",
        _ => SIGNATURE_PROBLEM_UNKNOWN,
    }
}

/// An algorithm's name for people.
pub fn algorithm(code: &str) -> &'static str {
    match code {
        "gost2012_256" => "ГОСТ Р 34.10-2012 (256 бит)",
        "gost2012_512" => "ГОСТ Р 34.10-2012 (512 бит)",
        "ecdsa_p256" => "ECDSA P-256",
        "ecdsa_p384" => "ECDSA P-384",
        "rsa" => "RSA",
        _ => "другой алгоритм",
    }
}

pub fn document_status(status: otklik_domain::document::DocumentStatus) -> &'static str {
    use otklik_domain::document::DocumentStatus as S;
    match status {
        S::Draft => "Черновик",
        S::Signing => "На подписи",
        S::Completed => "Подписан всеми",
        S::Declined => "Отказ в подписании",
        S::Expired => "Срок подписания истёк",
        S::Cancelled => "Отозван автором",
    }
}

pub fn signer_state(state: otklik_domain::document::SignerState) -> &'static str {
    use otklik_domain::document::SignerState as S;
    match state {
        S::Waiting => "Ждёт очереди",
        S::Pending => "Может подписать",
        S::Signed => "Подписал",
        S::Declined => "Отказался",
    }
}

pub fn document_event(kind: &str) -> &'static str {
    match kind {
        "created" => "Создан черновик",
        "started" => "Отправлен на подпись, содержимое зафиксировано",
        "signed" => "Подписан",
        "declined" => "Отказ в подписании",
        "cancelled" => "Отозван автором",
        "expired" => "Срок подписания истёк",
        "completed" => "Подписан всеми участниками",
        "delivered" => "Передан получателю",
        _ => "Событие",
    }
}

/// A size in bytes as people read it.
pub fn size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} Б")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} КБ", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} МБ", bytes as f64 / (1024.0 * 1024.0))
    }
}
