//! The demo data set: two regions, their organisations, the catalogue of categories and
//! subcategories with their interactive forms, routing rules, and demo accounts.
//!
//! Everything is described by the constant tables below and loaded by [`load`] into an
//! empty store. Tables refer to each other by short keys (`tver_city`, …) that [`load`]
//! resolves into store ids, so a table can be read (and checked in tests) on its own.
//!
//! Routing: every subcategory lists the organisations competent for it, at most one per
//! region (the region is that of the organisation). Where a subcategory lists none for a
//! region, the store falls back to the region's coordinator (its «Центр управления
//! регионом»). In the demo set this happens in Тверская область only, for:
//! - «Выплаты и пособия» and «Доступная среда» (no social protection body in the demo set);
//! - «Загрязнение водоёмов» (no environmental body in the demo set).

use otklik_domain::access::Verification;
use otklik_domain::form::{FieldKind, FieldSpec, FormSpec};
use otklik_domain::lifecycle::Role;
use otklik_domain::text::{Email, PersonName};
use otklik_domain::{OrgId, RegionId};
use otklik_store::{
    NewMunicipality, NewOrganisation, NewRegion, NewSubmission, NewUser, Store, StoreError,
    StoreResult,
};
use rand::rngs::OsRng;
use rand::Rng;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A demo account as created, with its password in clear text (shown once at first start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    /// `гражданин`, `должностное лицо` or `оператор`.
    pub role: &'static str,
    pub email: String,
    pub password: String,
    pub full_name: String,
    /// The official's organisation.
    pub organisation: Option<String>,
}

const ROLE_CITIZEN: &str = "гражданин";
const ROLE_OFFICIAL: &str = "должностное лицо";
const ROLE_OPERATOR: &str = "оператор";
const ROLE_COORDINATOR: &str = "координатор региона";
const ROLE_ANALYST: &str = "аналитик министерства";
const ROLE_ORG_ADMIN: &str = "администратор организации";
const ROLE_INTEGRATION: &str = "информационная система";

/// Domain of every demo e-mail address.
const EMAIL_DOMAIN: &str = "demo.otklik.local";

/// The error for a demo table that does not hold together (a bad key, name or address).
const BAD_DATA: StoreError = StoreError::InvalidReference("demo_data");

// --- regions and organisations ---------------------------------------------------------

struct RegionDef {
    key: &'static str,
    /// ISO 3166-2.
    code: &'static str,
    name: &'static str,
    utc_offset_minutes: i32,
}

const REGIONS: &[RegionDef] = &[
    RegionDef {
        key: "tver",
        code: "RU-TVE",
        name: "Тверская область",
        utc_offset_minutes: 180,
    },
    RegionDef {
        key: "nsk",
        code: "RU-NVS",
        name: "Новосибирская область",
        utc_offset_minutes: 420,
    },
];

/// A person with a demo account: full name and the local part of the e-mail address.
struct PersonDef {
    name: &'static str,
    email: &'static str,
}

const KIND_COORDINATOR: &str = "coordinator";
const KIND_REGIONAL: &str = "regional_body";
const KIND_LOCAL: &str = "local_government";
const KIND_INSTITUTION: &str = "institution";

struct OrgDef {
    key: &'static str,
    /// Key of the region; the organisation works in that region's time zone.
    region: &'static str,
    name: &'static str,
    /// One of the `KIND_*` constants; `coordinator` makes it the region's fallback.
    kind: &'static str,
    /// The organisation's demo official.
    official: PersonDef,
}

const ORGANISATIONS: &[OrgDef] = &[
    // Тверская область
    OrgDef {
        key: "tver_cur",
        region: "tver",
        name: "Центр управления регионом Тверской области",
        kind: KIND_COORDINATOR,
        official: PersonDef {
            name: "Анна Волкова",
            email: "cur.tver",
        },
    },
    OrgDef {
        key: "tver_transport",
        region: "tver",
        name: "Министерство транспорта Тверской области",
        kind: KIND_REGIONAL,
        official: PersonDef {
            name: "Дмитрий Орлов",
            email: "mintrans.tver",
        },
    },
    OrgDef {
        key: "tver_health",
        region: "tver",
        name: "Министерство здравоохранения Тверской области",
        kind: KIND_REGIONAL,
        official: PersonDef {
            name: "Ольга Морозова",
            email: "minzdrav.tver",
        },
    },
    OrgDef {
        key: "tver_housing",
        region: "tver",
        name: "Министерство энергетики и жилищно-коммунального хозяйства Тверской области",
        kind: KIND_REGIONAL,
        official: PersonDef {
            name: "Сергей Лебедев",
            email: "minzhkh.tver",
        },
    },
    OrgDef {
        key: "tver_city",
        region: "tver",
        name: "Администрация города Твери",
        kind: KIND_LOCAL,
        official: PersonDef {
            name: "Наталья Козлова",
            email: "adm.tver",
        },
    },
    OrgDef {
        key: "tver_hospital",
        region: "tver",
        name: "ГБУЗ «Городская клиническая больница № 1» г. Твери",
        kind: KIND_INSTITUTION,
        official: PersonDef {
            name: "Андрей Новиков",
            email: "gkb1.tver",
        },
    },
    // Новосибирская область
    OrgDef {
        key: "nsk_cur",
        region: "nsk",
        name: "Центр управления регионом Новосибирской области",
        kind: KIND_COORDINATOR,
        official: PersonDef {
            name: "Екатерина Фёдорова",
            email: "cur.nsk",
        },
    },
    OrgDef {
        key: "nsk_transport",
        region: "nsk",
        name: "Министерство транспорта и дорожного хозяйства Новосибирской области",
        kind: KIND_REGIONAL,
        official: PersonDef {
            name: "Павел Соловьёв",
            email: "mintrans.nsk",
        },
    },
    OrgDef {
        key: "nsk_health",
        region: "nsk",
        name: "Министерство здравоохранения Новосибирской области",
        kind: KIND_REGIONAL,
        official: PersonDef {
            name: "Татьяна Васильева",
            email: "minzdrav.nsk",
        },
    },
    OrgDef {
        key: "nsk_housing",
        region: "nsk",
        name: "Министерство жилищно-коммунального хозяйства и энергетики Новосибирской области",
        kind: KIND_REGIONAL,
        official: PersonDef {
            name: "Михаил Зайцев",
            email: "minzhkh.nsk",
        },
    },
    OrgDef {
        key: "nsk_social",
        region: "nsk",
        name: "Министерство труда и социального развития Новосибирской области",
        kind: KIND_REGIONAL,
        official: PersonDef {
            name: "Ирина Семёнова",
            email: "mintrud.nsk",
        },
    },
    OrgDef {
        key: "nsk_ecology",
        region: "nsk",
        name: "Министерство природных ресурсов и экологии Новосибирской области",
        kind: KIND_REGIONAL,
        official: PersonDef {
            name: "Владимир Голубев",
            email: "minprirody.nsk",
        },
    },
    OrgDef {
        key: "nsk_city",
        region: "nsk",
        name: "Мэрия города Новосибирска",
        kind: KIND_LOCAL,
        official: PersonDef {
            name: "Юлия Павлова",
            email: "meria.nsk",
        },
    },
];

const CITIZENS: &[PersonDef] = &[
    PersonDef {
        name: "Иван Петров",
        email: "ivan.petrov",
    },
    PersonDef {
        name: "Мария Смирнова",
        email: "maria.smirnova",
    },
];

/// How verified each demo citizen is (as if each had linked a Госуслуги account): Ivan's
/// account is confirmed, Maria's standard, so the demo shows both.
const CITIZEN_LEVELS: &[Verification] = &[Verification::Verified, Verification::Standard];

/// Organisation administrators, by organisation key.
const ORG_ADMINS: &[(&str, PersonDef)] = &[(
    "tver_city",
    PersonDef {
        name: "Светлана Егорова",
        email: "admin.tver-city",
    },
)];

const OPERATOR: PersonDef = PersonDef {
    name: "Елена Соколова",
    email: "operator",
};

/// The regional coordinators (regional management centres' moderators), by region key.
const COORDINATORS: &[(&str, PersonDef)] = &[
    (
        "tver",
        PersonDef {
            name: "Андрей Волков",
            email: "coordinator.tver",
        },
    ),
    (
        "nsk",
        PersonDef {
            name: "Ольга Морозова",
            email: "coordinator.nsk",
        },
    ),
];

/// The Ministry of Economic Development's read-only analyst.
const ANALYST: PersonDef = PersonDef {
    name: "Павел Лебедев",
    email: "analyst",
};

/// Municipalities of the demo regions (OKTMO codes), for routing by municipality.
const MUNICIPALITIES: &[(&str, &str, &str)] = &[
    ("tver", "28701000", "Город Тверь"),
    ("tver", "28745000", "Город Ржев"),
    ("nsk", "50701000", "Город Новосибирск"),
];

// --- form fields -----------------------------------------------------------------------

/// A form field as a constant; becomes a [`FieldSpec`].
#[derive(Clone, Copy)]
struct FieldDef {
    key: &'static str,
    label: &'static str,
    kind: FieldKind,
    required: bool,
    hint: Option<&'static str>,
    options: &'static [&'static str],
}

const fn field(key: &'static str, label: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef {
        key,
        label,
        kind,
        required: false,
        hint: None,
        options: &[],
    }
}

const fn select(
    key: &'static str,
    label: &'static str,
    options: &'static [&'static str],
) -> FieldDef {
    FieldDef {
        options,
        ..field(key, label, FieldKind::Select)
    }
}

impl FieldDef {
    const fn required(self) -> Self {
        Self {
            required: true,
            ..self
        }
    }

    const fn hint(self, hint: &'static str) -> Self {
        Self {
            hint: Some(hint),
            ..self
        }
    }

    fn to_spec(self) -> FieldSpec {
        FieldSpec {
            key: self.key.to_owned(),
            label: self.label.to_owned(),
            kind: self.kind,
            required: self.required,
            hint: self.hint.map(str::to_owned),
            options: self.options.iter().map(|o| (*o).to_owned()).collect(),
        }
    }
}

// Fields shared by several forms.

const ADDRESS: FieldDef = field("address", "Адрес", FieldKind::Address)
    .required()
    .hint("Населённый пункт, улица, номер дома или ближайший ориентир");
const HOUSE_ADDRESS: FieldDef = field("address", "Адрес дома", FieldKind::Address)
    .required()
    .hint("Населённый пункт, улица, номер дома");
const FLAT: FieldDef = field("flat", "Номер квартиры", FieldKind::Number);
const NOTICED_ON: FieldDef = field("noticed_on", "Когда замечено", FieldKind::Date);

const TRANSPORT_KIND: FieldDef = select(
    "transport_kind",
    "Вид транспорта",
    &["Автобус", "Троллейбус", "Трамвай", "Маршрутное такси"],
)
.required();
const ROUTE: FieldDef = field("route", "Номер маршрута", FieldKind::Number)
    .required()
    .hint("Только цифры, например 21");
const TRIP_DATE: FieldDef = field("trip_date", "Дата поездки", FieldKind::Date);
const STOP: FieldDef = field("stop", "Остановка", FieldKind::Text)
    .hint("Название остановки, на которой это произошло");
const VEHICLE_NUMBER: FieldDef = field(
    "vehicle_number",
    "Бортовой или государственный номер",
    FieldKind::Text,
)
.hint("Указан на борту и в салоне, если удалось заметить");

const CLINIC: FieldDef = field("clinic", "Медицинская организация", FieldKind::Text)
    .required()
    .hint("Название или номер поликлиники, больницы");
const INSTITUTION: FieldDef = field("institution", "Учреждение", FieldKind::Text)
    .required()
    .hint("Номер или название школы, детского сада");

// --- catalogue -------------------------------------------------------------------------

struct SubDef {
    name: &'static str,
    fields: &'static [FieldDef],
    photo_required: bool,
    /// Keys of the competent organisations, at most one per region.
    routes: &'static [&'static str],
}

impl SubDef {
    fn form(&self) -> FormSpec {
        FormSpec {
            fields: self.fields.iter().map(|f| f.to_spec()).collect(),
            photo_required: self.photo_required,
        }
    }
}

struct CategoryDef {
    name: &'static str,
    subcategories: &'static [SubDef],
}

const CATALOGUE: &[CategoryDef] = &[
    CategoryDef {
        name: "Дороги",
        subcategories: &[
            SubDef {
                name: "Ямы и выбоины на дороге",
                fields: &[
                    ADDRESS,
                    select(
                        "road_part",
                        "Где находится",
                        &[
                            "Проезжая часть",
                            "Тротуар",
                            "Обочина",
                            "Внутриквартальный проезд",
                        ],
                    ),
                    select(
                        "size",
                        "Примерный размер",
                        &["До 50 см", "От 50 см до 1 м", "Больше 1 м"],
                    ),
                ],
                photo_required: true,
                routes: &["tver_transport", "nsk_transport"],
            },
            SubDef {
                name: "Неработающий светофор",
                fields: &[
                    field("address", "Перекрёсток или адрес", FieldKind::Address)
                        .required()
                        .hint("Например: пересечение ул. Советской и ул. Горького"),
                    select(
                        "fault",
                        "Что не так",
                        &[
                            "Не работает полностью",
                            "Постоянно мигает жёлтый",
                            "Не горит одна из секций",
                            "Не работает пешеходный светофор",
                            "Не работает звуковой сигнал",
                        ],
                    )
                    .required(),
                    NOTICED_ON,
                ],
                photo_required: false,
                routes: &["tver_city", "nsk_city"],
            },
            SubDef {
                name: "Отсутствие дорожных знаков или разметки",
                fields: &[
                    ADDRESS,
                    select(
                        "problem",
                        "Что не так",
                        &[
                            "Нет дорожного знака",
                            "Дорожный знак повреждён или не виден",
                            "Стёрлась дорожная разметка",
                            "Нет разметки пешеходного перехода",
                        ],
                    )
                    .required(),
                ],
                photo_required: true,
                routes: &["tver_transport", "nsk_transport"],
            },
            SubDef {
                name: "Уборка дорог от снега и наледи",
                fields: &[
                    ADDRESS,
                    select(
                        "problem",
                        "Что не так",
                        &[
                            "Не убран снег",
                            "Гололёд, дорога не обработана",
                            "Снежный вал перекрывает проезд или тротуар",
                        ],
                    ),
                ],
                photo_required: false,
                routes: &["tver_city", "nsk_city"],
            },
        ],
    },
    CategoryDef {
        name: "Общественный транспорт",
        subcategories: &[
            SubDef {
                name: "Нарушение расписания",
                fields: &[
                    TRANSPORT_KIND,
                    ROUTE,
                    TRIP_DATE,
                    STOP,
                    field("trip_time", "Время ожидания на остановке", FieldKind::Text)
                        .hint("Например: с 7:40 до 8:10"),
                ],
                photo_required: false,
                routes: &["tver_transport", "nsk_city"],
            },
            SubDef {
                name: "Поведение водителя",
                fields: &[TRANSPORT_KIND, ROUTE, TRIP_DATE, STOP, VEHICLE_NUMBER],
                photo_required: false,
                routes: &["tver_transport", "nsk_city"],
            },
            SubDef {
                name: "Состояние транспорта",
                fields: &[
                    TRANSPORT_KIND,
                    ROUTE,
                    VEHICLE_NUMBER,
                    select(
                        "problem",
                        "Что не так",
                        &[
                            "Холодно в салоне",
                            "Грязно в салоне",
                            "Неисправны двери",
                            "Не работает валидатор или табло",
                            "Нет условий для маломобильных пассажиров",
                        ],
                    ),
                ],
                photo_required: false,
                routes: &["tver_transport", "nsk_city"],
            },
            SubDef {
                name: "Проблемы с оплатой проезда",
                fields: &[
                    TRANSPORT_KIND,
                    ROUTE,
                    TRIP_DATE,
                    select(
                        "payment",
                        "Способ оплаты",
                        &[
                            "Банковская карта",
                            "Транспортная карта",
                            "Наличные",
                            "Оплата телефоном или по QR-коду",
                        ],
                    )
                    .required(),
                ],
                photo_required: false,
                routes: &["tver_transport", "nsk_transport"],
            },
            SubDef {
                name: "Предложения по маршрутной сети",
                fields: &[],
                photo_required: false,
                routes: &["tver_transport", "nsk_city"],
            },
        ],
    },
    CategoryDef {
        name: "ЖКХ",
        subcategories: &[
            SubDef {
                name: "Отсутствие отопления",
                fields: &[
                    HOUSE_ADDRESS,
                    FLAT,
                    field("since", "С какого числа нет отопления", FieldKind::Date),
                    field(
                        "management_company",
                        "Управляющая организация",
                        FieldKind::Text,
                    )
                    .hint("Если знаете: указана в квитанции за ЖКУ"),
                ],
                photo_required: false,
                routes: &["tver_housing", "nsk_housing"],
            },
            SubDef {
                name: "Отсутствие горячей воды",
                fields: &[
                    HOUSE_ADDRESS,
                    FLAT,
                    field("since", "С какого числа нет горячей воды", FieldKind::Date),
                ],
                photo_required: false,
                routes: &["tver_housing", "nsk_housing"],
            },
            SubDef {
                name: "Протечка кровли",
                fields: &[
                    HOUSE_ADDRESS,
                    FLAT,
                    field("floor", "Этаж", FieldKind::Number),
                ],
                photo_required: true,
                routes: &["tver_housing", "nsk_housing"],
            },
            SubDef {
                name: "Вывоз мусора",
                fields: &[
                    field("address", "Адрес контейнерной площадки", FieldKind::Address)
                        .required()
                        .hint("Или адрес ближайшего дома"),
                    select(
                        "problem",
                        "Что не так",
                        &[
                            "Контейнеры переполнены",
                            "Мусор не вывозят по графику",
                            "Не вывозят крупногабаритный мусор",
                            "Площадка в неудовлетворительном состоянии",
                        ],
                    )
                    .required(),
                    field(
                        "last_pickup",
                        "Когда мусор вывозили последний раз",
                        FieldKind::Date,
                    ),
                ],
                photo_required: true,
                routes: &["tver_housing", "nsk_housing"],
            },
            SubDef {
                name: "Уборка снега во дворе",
                fields: &[HOUSE_ADDRESS],
                photo_required: false,
                routes: &["tver_city", "nsk_city"],
            },
        ],
    },
    CategoryDef {
        name: "Благоустройство",
        subcategories: &[
            SubDef {
                name: "Освещение улиц",
                fields: &[
                    ADDRESS,
                    select(
                        "problem",
                        "Что не так",
                        &[
                            "Не горят фонари",
                            "Фонари горят днём",
                            "Повреждена опора освещения",
                            "Оборваны провода",
                        ],
                    )
                    .required(),
                    field("lamps", "Сколько фонарей не работает", FieldKind::Number),
                ],
                photo_required: false,
                routes: &["tver_city", "nsk_city"],
            },
            SubDef {
                name: "Детские площадки",
                fields: &[
                    ADDRESS,
                    select(
                        "problem",
                        "Что не так",
                        &[
                            "Сломано игровое оборудование",
                            "Опасное покрытие",
                            "Мусор на площадке",
                            "Нужна новая площадка",
                        ],
                    ),
                ],
                photo_required: true,
                routes: &["tver_city", "nsk_city"],
            },
            SubDef {
                name: "Озеленение",
                fields: &[
                    ADDRESS,
                    select(
                        "problem",
                        "Что не так",
                        &[
                            "Аварийное дерево",
                            "Не скошена трава",
                            "Повреждены газоны или клумбы",
                            "Нужна посадка деревьев или кустарников",
                        ],
                    ),
                ],
                photo_required: false,
                routes: &["tver_city", "nsk_city"],
            },
            SubDef {
                name: "Скамейки и урны",
                fields: &[ADDRESS],
                photo_required: true,
                routes: &["tver_city", "nsk_city"],
            },
            SubDef {
                name: "Предложения по благоустройству",
                fields: &[],
                photo_required: false,
                routes: &["tver_city", "nsk_city"],
            },
        ],
    },
    CategoryDef {
        name: "Здравоохранение",
        subcategories: &[
            SubDef {
                name: "Запись к врачу",
                fields: &[
                    CLINIC,
                    select(
                        "specialty",
                        "Специалист",
                        &[
                            "Терапевт",
                            "Педиатр",
                            "Хирург",
                            "Кардиолог",
                            "Невролог",
                            "Офтальмолог",
                            "Оториноларинголог",
                            "Эндокринолог",
                            "Другой специалист",
                        ],
                    )
                    .required(),
                    field("tried_on", "Когда пытались записаться", FieldKind::Date),
                ],
                photo_required: false,
                routes: &["tver_hospital", "nsk_health"],
            },
            SubDef {
                name: "Вызов врача на дом",
                fields: &[
                    CLINIC,
                    field("called_on", "Дата вызова", FieldKind::Date).required(),
                ],
                photo_required: false,
                routes: &["tver_hospital", "nsk_health"],
            },
            SubDef {
                name: "Лекарственное обеспечение",
                fields: &[
                    field("medicine", "Лекарственный препарат", FieldKind::Text)
                        .required()
                        .hint("Название из рецепта"),
                    select(
                        "benefit",
                        "Право на льготное обеспечение",
                        &["Федеральная льгота", "Региональная льгота", "Нет льготы"],
                    ),
                    field("prescribed_on", "Дата выписки рецепта", FieldKind::Date),
                    field("pharmacy", "Аптека", FieldKind::Text)
                        .hint("Название или адрес аптеки, где не выдали препарат"),
                ],
                photo_required: false,
                routes: &["tver_health", "nsk_health"],
            },
            SubDef {
                name: "Работа скорой помощи",
                fields: &[
                    field("address", "Адрес вызова", FieldKind::Address).required(),
                    field("called_on", "Дата вызова", FieldKind::Date).required(),
                    field("wait_minutes", "Время ожидания, минут", FieldKind::Number),
                ],
                photo_required: false,
                routes: &["tver_health", "nsk_health"],
            },
        ],
    },
    CategoryDef {
        name: "Образование",
        subcategories: &[
            SubDef {
                name: "Запись в детский сад или школу",
                fields: &[
                    select("level", "Куда", &["Детский сад", "Школа"]).required(),
                    field("institution", "Учреждение", FieldKind::Text)
                        .hint("Номер или название, если выбрано"),
                    field(
                        "application",
                        "Номер заявления на Госуслугах",
                        FieldKind::Text,
                    ),
                    field("birth_year", "Год рождения ребёнка", FieldKind::Number),
                ],
                photo_required: false,
                routes: &["tver_city", "nsk_city"],
            },
            SubDef {
                name: "Питание в школе",
                fields: &[
                    INSTITUTION,
                    field("class", "Класс", FieldKind::Text).hint("Например: 5 «Б»"),
                    select(
                        "problem",
                        "Что не так",
                        &[
                            "Качество блюд",
                            "Недостаточные порции",
                            "Нет диетического питания",
                            "Оплата питания",
                        ],
                    ),
                ],
                photo_required: false,
                routes: &["tver_city", "nsk_city"],
            },
            SubDef {
                name: "Состояние здания школы или детского сада",
                fields: &[INSTITUTION, ADDRESS],
                photo_required: true,
                routes: &["tver_city", "nsk_city"],
            },
        ],
    },
    CategoryDef {
        name: "Экология",
        subcategories: &[
            SubDef {
                name: "Несанкционированная свалка",
                fields: &[
                    ADDRESS,
                    select(
                        "volume",
                        "Примерный объём",
                        &[
                            "Несколько мешков",
                            "Кузов легкового автомобиля",
                            "Грузовик и больше",
                        ],
                    ),
                ],
                photo_required: true,
                routes: &["tver_city", "nsk_city"],
            },
            SubDef {
                name: "Загрязнение водоёмов",
                fields: &[
                    field("water_body", "Водоём", FieldKind::Text)
                        .required()
                        .hint("Название реки, озера или пруда"),
                    field("address", "Место", FieldKind::Address)
                        .hint("Ближайший населённый пункт или ориентир"),
                    NOTICED_ON,
                ],
                photo_required: false,
                // Тверская область: no rule, the coordinator receives these.
                routes: &["nsk_ecology"],
            },
            SubDef {
                name: "Незаконная вырубка деревьев",
                fields: &[ADDRESS, NOTICED_ON],
                photo_required: false,
                routes: &["tver_city", "nsk_city"],
            },
        ],
    },
    CategoryDef {
        name: "Социальная защита",
        subcategories: &[
            SubDef {
                name: "Выплаты и пособия",
                fields: &[
                    select(
                        "payment",
                        "Вид выплаты",
                        &[
                            "Единое пособие на детей",
                            "Пособие по уходу за ребёнком",
                            "Материнский (семейный) капитал",
                            "Компенсация расходов на оплату ЖКУ",
                            "Региональная доплата к пенсии",
                            "Другая выплата",
                        ],
                    )
                    .required(),
                    field("applied_on", "Дата подачи заявления", FieldKind::Date),
                    field("application", "Номер заявления", FieldKind::Text),
                ],
                photo_required: false,
                // Тверская область: no rule, the coordinator receives these.
                routes: &["nsk_social"],
            },
            SubDef {
                name: "Доступная среда",
                fields: &[
                    field("address", "Адрес объекта", FieldKind::Address).required(),
                    select(
                        "barrier",
                        "Что мешает",
                        &[
                            "Нет пандуса",
                            "Пандус неудобный или опасный",
                            "Нет тактильной плитки",
                            "Недоступный вход в здание",
                            "Нет парковочных мест для инвалидов",
                        ],
                    )
                    .required(),
                ],
                photo_required: true,
                // Тверская область: no rule, the coordinator receives these.
                routes: &["nsk_social"],
            },
        ],
    },
];

// --- loading ---------------------------------------------------------------------------

/// Loads the demo data set into an empty store and returns the accounts it created.
/// `hash_password` turns a password into an argon2id PHC string. Passwords are random
/// per installation unless `fixed_password` is given (tests use that).
pub async fn load(
    store: &dyn Store,
    hash_password: &(dyn Fn(&str) -> String + Sync),
    fixed_password: Option<&str>,
) -> Result<Vec<DemoAccount>, StoreError> {
    let mut regions: BTreeMap<&str, RegionId> = BTreeMap::new();
    for region in REGIONS {
        // The federal subjects are loaded at start-up; an empty store gets its own.
        let id = match store.region_by_code(region.code).await? {
            Some(existing) => existing.id,
            None => {
                store
                    .create_region(NewRegion {
                        code: region.code.to_owned(),
                        name: region.name.to_owned(),
                        utc_offset_minutes: region.utc_offset_minutes,
                    })
                    .await?
            }
        };
        regions.insert(region.key, id);
    }
    let municipalities: Vec<NewMunicipality> = MUNICIPALITIES
        .iter()
        .map(|(region, oktmo, name)| {
            let offset = REGIONS
                .iter()
                .find(|r| r.key == *region)
                .map(|r| r.utc_offset_minutes)
                .ok_or(BAD_DATA)?;
            Ok(NewMunicipality {
                oktmo: (*oktmo).to_owned(),
                name: (*name).to_owned(),
                region: lookup(&regions, region)?,
                utc_offset_minutes: offset,
            })
        })
        .collect::<StoreResult<_>>()?;
    store.import_municipalities(&municipalities).await?;

    let mut orgs: BTreeMap<&str, (OrgId, RegionId)> = BTreeMap::new();
    for org in ORGANISATIONS {
        let region = lookup(&regions, org.region)?;
        let offset = REGIONS
            .iter()
            .find(|r| r.key == org.region)
            .map(|r| r.utc_offset_minutes)
            .ok_or(BAD_DATA)?;
        let id = store
            .create_organisation(NewOrganisation {
                name: org.name.to_owned(),
                kind: org.kind.to_owned(),
                region: Some(region),
                is_coordinator: org.kind == KIND_COORDINATOR,
                utc_offset_minutes: offset,
            })
            .await?;
        orgs.insert(org.key, (id, region));
    }

    for (position, category) in (1..).zip(CATALOGUE) {
        let category_id = store.create_category(category.name, position).await?;
        for (position, sub) in (1..).zip(category.subcategories) {
            let sub_id = store
                .create_subcategory(category_id, sub.name, &sub.form(), position)
                .await?;
            for org_key in sub.routes {
                let (org, region) = lookup(&orgs, org_key)?;
                store.set_route(sub_id, region, org).await?;
            }
        }
    }

    let mut accounts = Vec::new();
    for (citizen, level) in CITIZENS.iter().zip(CITIZEN_LEVELS) {
        let account = create_account(
            store,
            hash_password,
            fixed_password,
            citizen,
            Role::Citizen,
            None,
            *level,
        )
        .await?;
        accounts.push(account);
    }
    for (org_key, person) in ORG_ADMINS {
        let (id, _) = lookup(&orgs, org_key)?;
        let name = ORGANISATIONS
            .iter()
            .find(|o| o.key == *org_key)
            .map(|o| o.name)
            .ok_or(BAD_DATA)?;
        let account = create_account(
            store,
            hash_password,
            fixed_password,
            person,
            Role::OrgAdmin(id),
            Some(name),
            Verification::Verified,
        )
        .await?;
        accounts.push(account);
    }
    for org in ORGANISATIONS {
        let (id, _) = lookup(&orgs, org.key)?;
        let account = create_account(
            store,
            hash_password,
            fixed_password,
            &org.official,
            Role::Official(id),
            Some(org.name),
            Verification::Verified,
        )
        .await?;
        accounts.push(account);
    }
    let operator = create_account(
        store,
        hash_password,
        fixed_password,
        &OPERATOR,
        Role::Operator,
        None,
        Verification::Verified,
    )
    .await?;
    accounts.push(operator);
    for (region_key, person) in COORDINATORS {
        let region = lookup(&regions, region_key)?;
        let name = REGIONS
            .iter()
            .find(|r| r.key == *region_key)
            .map(|r| r.name)
            .ok_or(BAD_DATA)?;
        let account = create_account(
            store,
            hash_password,
            fixed_password,
            person,
            Role::Coordinator(region),
            Some(name),
            Verification::Verified,
        )
        .await?;
        accounts.push(account);
    }
    let analyst = create_account(
        store,
        hash_password,
        fixed_password,
        &ANALYST,
        Role::Analyst,
        Some("Минэкономразвития России"),
        Verification::Verified,
    )
    .await?;
    accounts.push(analyst);
    load_polls(store, &orgs).await?;
    Ok(accounts)
}

/// The demo's polls: the operator's vote on improvement projects (all of Russia,
/// results after the close) and the Tver city administration's survey with every kind
/// of question (Тверская область, live results), both open for a month from the first
/// start.
async fn load_polls(
    store: &dyn Store,
    orgs: &BTreeMap<&str, (OrgId, RegionId)>,
) -> Result<(), StoreError> {
    use otklik_domain::poll::{parse_text, Eligibility, PollKind, ResultsPolicy, Schedule};
    let operator =
        Email::parse(&format!("{}@{EMAIL_DOMAIN}", OPERATOR.email)).map_err(|_| BAD_DATA)?;
    let by = store.user_by_email(&operator).await?.ok_or(BAD_DATA)?.id;
    let (city, _) = lookup(orgs, "tver_city")?;
    let now = time::OffsetDateTime::now_utc();
    let schedule = Schedule::new(
        now - time::Duration::days(1),
        now + time::Duration::days(30),
    )
    .map_err(|_| BAD_DATA)?;
    let moscow = time::UtcOffset::from_hms(3, 0, 0).map_err(|_| BAD_DATA)?;
    let polls = [
        (
            None,
            PollKind::Vote,
            "Благоустройство общественных пространств — 2027",
            "Выберите до двух проектов, которые будут выполнены в первую очередь.",
            "? Какие проекты выполнить в 2027 году?\n* несколько до 2\n\
             - Набережная Волги :: освещение, скамейки и велодорожка @ 56.8609, 35.8955\n\
             - Сквер у драмтеатра :: новые посадки и фонтан @ 56.8617, 35.9030\n\
             - Детский парк :: площадки для детей разного возраста\n\
             - Городской сад :: ремонт эстрады и дорожек\n\
             - Площадь Ленина :: пешеходная зона",
            None,
            ResultsPolicy::Embargoed,
        ),
        (
            Some(city),
            PollKind::Survey,
            "Уборка улиц зимой",
            "Помогите оценить, как убирают снег в вашем районе.",
            "? Как часто вы ходите пешком по городу зимой?\n* один\n- Каждый день\n\
             - Несколько раз в неделю\n- Редко\n\
             ? Оцените уборку тротуаров\n* шкала 1..5\n\
             ? Где чаще всего не убрано?\n* несколько до 3\n* если 1 = 1\n\
             - Остановки\n- Пешеходные переходы\n- Дворы\n- Тротуары у школ\n\
             ? Что важнее всего?\n* порядок\n- Тротуары\n- Дороги\n- Вывоз снега\n\
             ? Ваши предложения\n* текст 1000\n* необязательный",
            None,
            ResultsPolicy::Live,
        ),
    ];
    for (org, kind, title, description, questions, region, results) in polls {
        let spec = parse_text(kind, questions).map_err(|_| BAD_DATA)?;
        store
            .create_poll(
                otklik_store::NewPoll {
                    org,
                    title: title.to_owned(),
                    description: description.to_owned(),
                    spec,
                    eligibility: Eligibility {
                        verification: Verification::Standard,
                        min_age: None,
                        region,
                        municipality: None,
                    },
                    offset: moscow,
                    schedule,
                    results,
                    by,
                },
                now,
            )
            .await?;
    }
    Ok(())
}

fn lookup<T: Copy>(map: &BTreeMap<&str, T>, key: &str) -> StoreResult<T> {
    map.get(key).copied().ok_or(BAD_DATA)
}

async fn create_account(
    store: &dyn Store,
    hash_password: &(dyn Fn(&str) -> String + Sync),
    fixed_password: Option<&str>,
    person: &PersonDef,
    role: Role,
    organisation: Option<&str>,
    verification: Verification,
) -> StoreResult<DemoAccount> {
    let address = format!("{}@{EMAIL_DOMAIN}", person.email);
    let email = Email::parse(&address).map_err(|_| BAD_DATA)?;
    let full_name = PersonName::parse(person.name).map_err(|_| BAD_DATA)?;
    let password = fixed_password.map_or_else(random_password, str::to_owned);
    store
        .create_user(NewUser {
            email: email.clone(),
            password_hash: hash_password(&password),
            full_name,
            role,
            verification,
        })
        .await?;
    Ok(DemoAccount {
        role: match role {
            Role::Citizen => ROLE_CITIZEN,
            Role::Official(_) => ROLE_OFFICIAL,
            Role::Operator => ROLE_OPERATOR,
            Role::Coordinator(_) => ROLE_COORDINATOR,
            Role::Analyst => ROLE_ANALYST,
            Role::OrgAdmin(_) => ROLE_ORG_ADMIN,
            Role::Integration(_) => ROLE_INTEGRATION,
        },
        email: email.as_str().to_owned(),
        password,
        full_name: person.name.to_owned(),
        organisation: organisation.map(str::to_owned),
    })
}

/// Letters and digits that cannot be mistaken for one another (no 0/O, 1/l/I).
const PASSWORD_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const PASSWORD_DIGITS: &[u8] = b"23456789";

/// A random password like `Kq7mR4-x9tWhz`: 12 characters of [`PASSWORD_ALPHABET`], at
/// least one of them a digit, with a `-` in the middle.
fn random_password() -> String {
    let mut chars: Vec<char> = (0..11).map(|_| pick(PASSWORD_ALPHABET)).collect();
    chars.insert(OsRng.gen_range(0..=chars.len()), pick(PASSWORD_DIGITS));
    chars.insert(chars.len() / 2, '-');
    chars.into_iter().collect()
}

fn pick(alphabet: &[u8]) -> char {
    char::from(alphabet[OsRng.gen_range(0..alphabet.len())])
}

// --- console output --------------------------------------------------------------------

/// Formats the accounts as a table for the console, to be printed once at first start.
/// Texts of the demo history, by the words a citizen would use.
const HISTORY_TEXTS: [&str; 6] = [
    "Прошу принять меры: проблема повторяется уже не первую неделю, жители жалуются.",
    "Обращаюсь повторно, ситуация не меняется, прошу проверить и сообщить о результатах.",
    "Во дворе дома опасная ситуация для детей и пожилых людей, прошу устранить.",
    "Прошу разобраться и дать ответ по существу, фотографии могу прислать дополнительно.",
    "Проблема возникла после ремонтных работ, подрядчик не реагирует на звонки.",
    "Прошу сообщить сроки устранения и кто отвечает за содержание этого участка.",
];

/// Comments on ratings, which the quality feed maps onto the federal criteria.
const HISTORY_COMMENTS: [&str; 5] = [
    "",
    "Сделали быстро, спасибо",
    "Ответ формальный, отписка",
    "Долго ждали, пришлось звонить по телефону",
    "Вежливо объяснили порядок, всё понятно",
];

/// A value a demo form accepts for a field.
fn sample_value(field: &FieldSpec, region: &str) -> String {
    match field.kind {
        FieldKind::Text => "см. описание".to_owned(),
        FieldKind::Number => "5".to_owned(),
        FieldKind::Date => "2026-11-02".to_owned(),
        FieldKind::Select | FieldKind::MultiSelect => {
            field.options.first().cloned().unwrap_or_default()
        }
        FieldKind::Address if region == "RU-TVE" => "г. Тверь, ул. Советская, д. 12".to_owned(),
        FieldKind::Address => "г. Новосибирск, Красный проспект, д. 20".to_owned(),
    }
}

/// Moves `at` on by about `hours` (and up to an hour more): whether it is still past.
fn advance(
    rng: &mut rand::rngs::StdRng,
    at: &mut OffsetDateTime,
    hours: i64,
    now: OffsetDateTime,
) -> bool {
    *at += time::Duration::minutes(hours * 60 + rng.gen_range(0..60));
    *at < now
}

/// A quarter of history on a first start, so that the analytics pages and the quality
/// feed have something to show: about 160 submissions of the last 90 days in both demo
/// regions, taken into work, answered (some late), redirected, rejected, rated and sent
/// back, by the demo accounts. The same every time (a fixed seed). Returns how many.
pub async fn load_history(store: &dyn Store, now: OffsetDateTime) -> StoreResult<u64> {
    use otklik_domain::lifecycle::{
        Action, Actor, Channel, RejectionGround, Score, SubmissionKind,
    };
    use otklik_domain::text::{AnswerText, RatingComment, Reason, SubmissionText};
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1467);
    let mut citizens = Vec::new();
    for person in CITIZENS {
        let email =
            Email::parse(&format!("{}@{EMAIL_DOMAIN}", person.email)).map_err(|_| BAD_DATA)?;
        if let Some(user) = store.user_by_email(&email).await? {
            citizens.push(Actor {
                user: user.id,
                role: Role::Citizen,
            });
        }
    }
    // The officials by organisation, and the organisations by region.
    let mut officials: BTreeMap<i64, Actor> = BTreeMap::new();
    let mut orgs_of: BTreeMap<&str, Vec<OrgId>> = BTreeMap::new();
    for org in ORGANISATIONS {
        let email = Email::parse(&format!("{}@{EMAIL_DOMAIN}", org.official.email))
            .map_err(|_| BAD_DATA)?;
        if let Some(user) = store.user_by_email(&email).await? {
            if let Role::Official(id) = user.role {
                officials.insert(
                    id.0,
                    Actor {
                        user: user.id,
                        role: user.role,
                    },
                );
                orgs_of.entry(org.region).or_default().push(id);
            }
        }
    }
    let mut regions = Vec::new();
    for region in REGIONS {
        if let Some(found) = store.region_by_code(region.code).await? {
            regions.push((region.key, region.code, found.id));
        }
    }
    let subcategories: Vec<(otklik_domain::SubcategoryId, FormSpec)> = store
        .catalogue()
        .await?
        .into_iter()
        .flat_map(|c| c.subcategories.into_iter().map(|s| (s.id, s.form)))
        .collect();
    if citizens.is_empty() || regions.is_empty() || subcategories.is_empty() {
        return Ok(0);
    }
    let mut starts: Vec<OffsetDateTime> = (0..160)
        .map(|_| now - time::Duration::minutes(rng.gen_range(60..90 * 24 * 60)))
        .collect();
    starts.sort();
    let text = |t: &str| SubmissionText::parse(t).map_err(|_| BAD_DATA);
    let mut made = 0;
    for start in starts {
        let (region_key, region_code, region) = regions[rng.gen_range(0..regions.len())];
        let (subcategory, form) = &subcategories[rng.gen_range(0..subcategories.len())];
        let Ok(org) = store.route(*subcategory, region).await else {
            continue;
        };
        let Some(mut official) = officials.get(&org.0).copied() else {
            continue;
        };
        let citizen = citizens[rng.gen_range(0..citizens.len())];
        let fields = form
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| (f.key.clone(), sample_value(f, region_code)))
            .collect();
        let channel = match rng.gen_range(0..100) {
            0..=69 => Channel::Portal,
            70..=84 => Channel::Widget,
            85..=94 => Channel::Api,
            _ => Channel::Open311,
        };
        let kind = if rng.gen_bool(0.15) {
            SubmissionKind::Appeal
        } else {
            SubmissionKind::Message
        };
        let registered = store
            .register_submission(
                NewSubmission {
                    kind,
                    author: citizen.user,
                    subcategory: *subcategory,
                    region,
                    org,
                    municipality: None,
                    text: text(HISTORY_TEXTS[rng.gen_range(0..HISTORY_TEXTS.len())])?,
                    fields: otklik_domain::form::FormValues::from_stored(fields),
                    attachments: Vec::new(),
                    channel,
                    origin: None,
                    // Half the demo's messages are public, so the form suggests them.
                    public: kind == SubmissionKind::Message && made % 2 == 0,
                },
                start,
            )
            .await?;
        made += 1;
        let id = registered.id;
        let mut at = start;
        let act = |actor: Actor, action: Action, at: OffsetDateTime| async move {
            store
                .apply(id, actor, action, Vec::new(), at)
                .await
                .map(|_| ())
        };
        let roll: u32 = rng.gen_range(0..100);
        if roll < 8 {
            let others: Vec<OrgId> = orgs_of
                .get(region_key)
                .map(|list| list.iter().copied().filter(|o| *o != org).collect())
                .unwrap_or_default();
            if let (Some(target), true) =
                (others.first().copied(), advance(&mut rng, &mut at, 3, now))
            {
                let reason = Reason::parse("Вопрос относится к компетенции другого органа")
                    .map_err(|_| BAD_DATA)?;
                act(official, Action::Redirect { to: target, reason }, at).await?;
                match officials.get(&target.0) {
                    Some(next) => official = *next,
                    None => continue,
                }
            }
        } else if roll < 13 {
            if advance(&mut rng, &mut at, 20, now) {
                let ground = RejectionGround::ALL[rng.gen_range(0..RejectionGround::ALL.len())];
                let comment = Reason::parse("Основание указано в ответе").map_err(|_| BAD_DATA)?;
                act(official, Action::Reject { ground, comment }, at).await?;
            }
            continue;
        }
        let until_taken = rng.gen_range(1..30);
        if !advance(&mut rng, &mut at, until_taken, now) {
            continue;
        }
        act(official, Action::TakeIntoWork, at).await?;
        // Most within the term (10 working days), some late.
        let days = if rng.gen_bool(0.12) {
            rng.gen_range(15..25)
        } else {
            rng.gen_range(1..12)
        };
        if !advance(&mut rng, &mut at, days * 24, now) {
            continue;
        }
        let answer =
            AnswerText::parse("Проблема устранена, работы приняты. Благодарим за обращение.")
                .map_err(|_| BAD_DATA)?;
        act(
            official,
            Action::Answer {
                text: answer.clone(),
            },
            at,
        )
        .await?;
        let until_rated = rng.gen_range(2..72);
        if !rng.gen_bool(0.55) || !advance(&mut rng, &mut at, until_rated, now) {
            continue;
        }
        let value = match rng.gen_range(0..100) {
            0..=39 => 5,
            40..=64 => 4,
            65..=79 => 3,
            80..=89 => 2,
            _ => 1,
        };
        let score = Score::new(value).map_err(|_| BAD_DATA)?;
        let note = HISTORY_COMMENTS[rng.gen_range(0..HISTORY_COMMENTS.len())];
        let comment = if note.is_empty() {
            None
        } else {
            Some(RatingComment::parse(note).map_err(|_| BAD_DATA)?)
        };
        act(citizen, Action::Rate { score, comment }, at).await?;
        if score.is_low() && rng.gen_bool(0.5) && advance(&mut rng, &mut at, 12, now) {
            let reason = Reason::parse("Проблема не устранена").map_err(|_| BAD_DATA)?;
            act(citizen, Action::SendBack { reason }, at).await?;
            let until_answered = rng.gen_range(1..6) * 24;
            if advance(&mut rng, &mut at, until_answered, now) {
                act(official, Action::TakeIntoWork, at).await?;
                act(official, Action::Answer { text: answer }, at).await?;
            }
        }
    }
    Ok(made)
}

pub fn format_accounts(accounts: &[DemoAccount]) -> String {
    const HEADINGS: [&str; 5] = ["Роль", "Имя", "Эл. почта", "Пароль", "Организация"];
    let rows: Vec<[&str; 5]> = accounts
        .iter()
        .map(|a| {
            [
                a.role,
                a.full_name.as_str(),
                a.email.as_str(),
                a.password.as_str(),
                a.organisation.as_deref().unwrap_or("—"),
            ]
        })
        .collect();
    let mut widths = HEADINGS.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };

    let mut out = String::from(
        "Загружены демонстрационные данные. Учётные записи \
         (пароли показываются только один раз — сохраните их):\n\n",
    );
    out.push_str(&line(HEADINGS));
    let rules = widths.map(|w| "-".repeat(w));
    out.push_str(&line(rules.each_ref().map(String::as_str)));
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use otklik_domain::text::NewPassword;
    use std::collections::BTreeSet;

    fn subcategories() -> impl Iterator<Item = &'static SubDef> {
        CATALOGUE.iter().flat_map(|c| c.subcategories.iter())
    }

    fn region_of(org_key: &str) -> Option<&'static str> {
        ORGANISATIONS
            .iter()
            .find(|o| o.key == org_key)
            .map(|o| o.region)
    }

    /// Compiles only if `load` can run on a multi-threaded runtime (its future is `Send`).
    #[allow(dead_code)]
    fn load_is_send(store: &dyn Store, hash: &(dyn Fn(&str) -> String + Sync)) {
        fn send<T: Send>(_: T) {}
        send(load(store, hash, None));
    }

    #[test]
    fn every_form_is_valid_and_the_catalogue_is_large_enough() {
        for sub in subcategories() {
            let spec = sub.form();
            assert_eq!(
                FormSpec::from_json(&spec.to_json()).as_ref(),
                Ok(&spec),
                "form of «{}»",
                sub.name
            );
        }
        assert!(CATALOGUE.len() >= 8);
        assert!(subcategories().count() >= 28);
        assert!(subcategories().filter(|s| s.photo_required).count() >= 3);
        assert!(subcategories().any(|s| s.fields.is_empty()));
    }

    #[test]
    fn names_are_unique() {
        let categories: BTreeSet<_> = CATALOGUE.iter().map(|c| c.name).collect();
        assert_eq!(categories.len(), CATALOGUE.len());
        for category in CATALOGUE {
            let subs: BTreeSet<_> = category.subcategories.iter().map(|s| s.name).collect();
            assert_eq!(
                subs.len(),
                category.subcategories.len(),
                "{}",
                category.name
            );
        }
        let orgs: BTreeSet<_> = ORGANISATIONS.iter().map(|o| o.key).collect();
        assert_eq!(orgs.len(), ORGANISATIONS.len());
        let emails: BTreeSet<_> = CITIZENS
            .iter()
            .chain(ORGANISATIONS.iter().map(|o| &o.official))
            .chain([&OPERATOR, &ANALYST])
            .chain(COORDINATORS.iter().map(|(_, p)| p))
            .chain(ORG_ADMINS.iter().map(|(_, p)| p))
            .map(|p| p.email)
            .collect();
        assert_eq!(
            emails.len(),
            CITIZENS.len() + ORGANISATIONS.len() + 2 + COORDINATORS.len() + ORG_ADMINS.len()
        );
        assert_eq!(CITIZEN_LEVELS.len(), CITIZENS.len());
    }

    #[test]
    fn every_region_has_one_coordinator_and_known_organisations() {
        const KINDS: [&str; 4] = [
            KIND_COORDINATOR,
            KIND_REGIONAL,
            KIND_LOCAL,
            KIND_INSTITUTION,
        ];
        for region in REGIONS {
            let coordinators = ORGANISATIONS
                .iter()
                .filter(|o| o.region == region.key && o.kind == KIND_COORDINATOR)
                .count();
            assert_eq!(coordinators, 1, "{}", region.name);
        }
        for org in ORGANISATIONS {
            assert!(REGIONS.iter().any(|r| r.key == org.region), "{}", org.key);
            assert!(KINDS.contains(&org.kind), "{}", org.key);
            assert!(Email::parse(&format!("{}@{EMAIL_DOMAIN}", org.official.email)).is_ok());
            assert!(PersonName::parse(org.official.name).is_ok());
        }
    }

    #[test]
    fn routes_name_known_organisations_once_per_region_and_only_the_documented_gaps_fall_back() {
        let mut fallbacks = Vec::new();
        for sub in subcategories() {
            let mut routed = Vec::new();
            for org in sub.routes {
                let region = region_of(org);
                assert!(
                    region.is_some(),
                    "«{}»: unknown organisation {org}",
                    sub.name
                );
                routed.push(region);
            }
            for region in REGIONS {
                match routed.iter().filter(|r| **r == Some(region.key)).count() {
                    0 => fallbacks.push((region.key, sub.name)),
                    1 => {}
                    _ => panic!("«{}» has two rules in {}", sub.name, region.name),
                }
            }
        }
        assert_eq!(
            fallbacks,
            vec![
                ("tver", "Загрязнение водоёмов"),
                ("tver", "Выплаты и пособия"),
                ("tver", "Доступная среда"),
            ]
        );
    }

    #[test]
    fn random_passwords_are_acceptable_and_differ() {
        let a = random_password();
        let b = random_password();
        assert_ne!(a, b);
        for p in [a, b] {
            assert_eq!(p.chars().count(), 13);
            assert!(p.contains('-'));
            assert!(p.chars().any(|c| c.is_ascii_digit()));
            assert!(NewPassword::parse(&p).is_ok(), "{p}");
        }
    }

    #[test]
    fn the_table_lists_every_account() {
        let accounts = [
            DemoAccount {
                role: ROLE_CITIZEN,
                email: "ivan.petrov@demo.otklik.local".to_owned(),
                password: "Kq7mR4-x9tWhz".to_owned(),
                full_name: "Иван Петров".to_owned(),
                organisation: None,
            },
            DemoAccount {
                role: ROLE_OFFICIAL,
                email: "adm.tver@demo.otklik.local".to_owned(),
                password: "pass-word-123".to_owned(),
                full_name: "Наталья Козлова".to_owned(),
                organisation: Some("Администрация города Твери".to_owned()),
            },
        ];
        let table = format_accounts(&accounts);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines.iter().any(|l| l.starts_with("Роль")));
        let ivan = lines.iter().find(|l| l.contains("ivan.petrov"));
        let natalia = lines.iter().find(|l| l.contains("adm.tver"));
        // Columns line up: the e-mail starts at the same character position in each row.
        let position =
            |line: &str, needle: &str| line.find(needle).map(|byte| line[..byte].chars().count());
        assert_eq!(
            ivan.and_then(|l| position(l, "ivan.petrov")),
            natalia.and_then(|l| position(l, "adm.tver"))
        );
        assert!(natalia.is_some_and(|l| l.ends_with("Администрация города Твери")));
        assert!(ivan.is_some_and(|l| l.ends_with('—')));
    }
}
