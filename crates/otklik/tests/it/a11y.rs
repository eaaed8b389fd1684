//! The accessibility audit: every public page and every staff page of each role that has
//! one, opened in headless Chromium (Debian's, through chromedriver) with real ids from the
//! demo data and from what the test creates first (submissions in several states, an
//! incident, a document, a poll, a discussion, answer templates, a campaign, an export, a
//! social-media incident, a widget site). On each page:
//!
//! - axe-core (`tests/a11y/node_modules/axe-core/axe.min.js`, pinned by
//!   `tests/a11y/package-lock.json`, injected through WebDriver's execute) runs with the
//!   WCAG 2.1 A and AA rules (`wcag2a`, `wcag2aa`, `wcag21a`, `wcag21aa`) at 1280 px, with
//!   every `<details>` opened first (axe skips what is hidden), and must find nothing;
//! - text zoom to 200 %: at a 640 px wide window the root font size is doubled (every
//!   size in the stylesheet is in rem or em, so all text doubles) and the page must not
//!   scroll sideways (`scrollWidth <= clientWidth` of the root: the width without a
//!   vertical scroll bar, stricter than `innerWidth`; WCAG 1.4.4 and 1.4.10); axe runs
//!   again in that layout, where tables scroll in their own regions.
//!
//! Every page is checked before the test fails, and the failure lists each page with each
//! rule, its impact and the offending selectors. No rule is disabled and no element is
//! excluded. See `docs/ACCESSIBILITY.md`.
//!
//! `scripts/test` installs axe-core (`npm ci` in `tests/a11y`); without it this test fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, Locator};
use otklik_connectors::source::WebhookSource;
use otklik_connectors::Source;
use otklik_domain::{OrgId, UserId};
use serde_json::{json, Value};

use crate::browser::{browser, fill, start_driver, submit};
use crate::support::moscow;
use crate::support::{spawn_app_with, Api, Backend, TestApp, CITIZEN, DEMO_PASSWORD, OPERATOR};

/// The axe-core tags of WCAG 2.0 and 2.1, levels A and AA.
const WCAG_21_AA: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
/// The window of the axe run (a desktop) and of the text-zoom check.
const DESKTOP_WIDTH: u32 = 1280;
const ZOOM_WIDTH: u32 = 640;
const WINDOW_HEIGHT: u32 = 1000;

const TVER: &str = "Тверская область";
const CITY: &str = "Администрация города Твери";
const TRAFFIC_LIGHT: &str = "Неработающий светофор";
const ORG_ADMIN: &str = "admin.tver-city@demo.otklik.local";
const COORDINATOR: &str = "coordinator.tver@demo.otklik.local";
const ANALYST: &str = "analyst@demo.otklik.local";
/// The site the city administration's widget is registered for.
const WIDGET_SITE: &str = "https://widget.a11y.example";
/// The partner's webhook that feeds the social-media monitoring.
const SOCIAL_SECRET: &str = "a11y-partner-secret-0123456789";
const SIGNING_PASSWORD: &str = "подпись-2026";

/// axe-core's browser bundle, installed by the test command.
fn axe_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/a11y/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): axe-core is not installed. Run the test command \
             (scripts/test), which runs `npm ci --prefix tests/a11y`",
            path.display()
        )
    })
}

/// Opens every disclosure (`<details>`: the less common actions of a submission's page,
/// for instance), since axe skips what is hidden, then runs axe-core on the document;
/// answers the violations, each with its nodes' selectors. The bundle is sent with every
/// call: a page load forgets it.
fn axe_script(axe: &str) -> String {
    format!(
        "{axe}\n;\
         document.querySelectorAll('details').forEach(d => {{ d.open = true; }});\
         return axe.run(document, {{ runOnly: {{ type: 'tag', values: arguments[0] }}, \
                                   resultTypes: ['violations'] }})\
           .then(r => r.violations.map(v => ({{ id: v.id, impact: v.impact, help: v.help, \
             nodes: v.nodes.map(n => ({{ target: n.target.map(String).join(' '), \
                                         html: n.html.slice(0, 160) }})) }})));"
    )
}

/// Doubles the root font size (left so: axe runs next), measures how far the page
/// scrolls sideways, and names the elements past the edge when it does.
const ZOOM_IN_SCRIPT: &str = r#"
const root = document.documentElement;
const before = root.style.fontSize;
root.style.fontSize = '200%';
const overflow = root.scrollWidth - root.clientWidth;
const widest = [];
if (overflow > 0) {
  const limit = root.clientWidth;
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    const inside = [...el.children].some(c => c.getBoundingClientRect().right > limit + 1);
    if (box.right > limit + 1 && !inside) {
      const id = el.id ? '#' + el.id : '';
      const classes = el.classList.length ? '.' + [...el.classList].join('.') : '';
      widest.push(el.tagName.toLowerCase() + id + classes + ' (right edge ' + Math.round(box.right) + ' px)');
      if (widest.length >= 6) break;
    }
  }
}
return { overflow, width: root.clientWidth, widest, before };
"#;

/// The browser and what it found so far.
struct Audit<'a> {
    c: &'a Client,
    app: &'a TestApp,
    axe_script: String,
    findings: Vec<String>,
    pages: Vec<String>,
}

impl Audit<'_> {
    /// Opens `path` as `who` and audits it. The page must answer 200 and must not send
    /// the browser to the login page (a missing permission would audit the wrong page).
    /// [`Self::page`] for each path in turn.
    async fn pages(&mut self, who: &str, paths: impl IntoIterator<Item = impl AsRef<str>>) {
        for path in paths {
            self.page(who, path.as_ref()).await;
        }
    }

    async fn page(&mut self, who: &str, path: &str) {
        self.c.goto(&self.app.url(path)).await.unwrap();
        let label = format!("{who}: GET {path}");
        let landed = self.c.current_url().await.unwrap();
        let wanted = path.split('?').next().unwrap_or(path);
        if landed.path() == "/login" && wanted != "/login" {
            self.findings
                .push(format!("{label}: sent to the login page, not audited"));
            return;
        }
        let status = self
            .c
            .execute(
                "return performance.getEntriesByType('navigation')[0].responseStatus;",
                vec![],
            )
            .await
            .unwrap();
        if status.as_u64() != Some(200) {
            self.findings
                .push(format!("{label}: answered {status}, not audited"));
            return;
        }
        self.here(&label).await;
    }

    /// Audits the page the browser shows now (reached by a form, for instance): axe at
    /// 1280 px; then at 640 px with the text at 200 %, the sideways scroll and axe again
    /// (a narrow layout may scroll a table, or show what the wide one hides).
    async fn here(&mut self, label: &str) {
        let started = Instant::now();
        self.c
            .set_window_size(DESKTOP_WIDTH, WINDOW_HEIGHT)
            .await
            .unwrap();
        self.axe(&format!("{label} [{DESKTOP_WIDTH} px]")).await;

        self.c
            .set_window_size(ZOOM_WIDTH, WINDOW_HEIGHT)
            .await
            .unwrap();
        let zoomed = format!("{label} [{ZOOM_WIDTH} px, text 200 %]");
        let zoom = self.c.execute(ZOOM_IN_SCRIPT, vec![]).await.unwrap();
        let overflow = zoom["overflow"].as_i64().unwrap_or(1);
        if overflow > 0 {
            let widest: Vec<&str> = zoom["widest"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            self.findings.push(format!(
                "{zoomed}: reflow [serious] the page scrolls sideways by {overflow} px \
                 (visible width {} px); elements past the edge:\n      {}",
                zoom["width"],
                widest.join("\n      ")
            ));
        }
        self.axe(&zoomed).await;
        self.c
            .execute(
                "document.documentElement.style.fontSize = arguments[0];",
                vec![zoom["before"].clone()],
            )
            .await
            .unwrap();
        self.c
            .set_window_size(DESKTOP_WIDTH, WINDOW_HEIGHT)
            .await
            .unwrap();
        self.pages
            .push(format!("{label} ({} ms)", started.elapsed().as_millis()));
    }

    /// Runs axe-core on the page as it is now; each violation becomes a finding.
    async fn axe(&mut self, label: &str) {
        let violations = self
            .c
            .execute(&self.axe_script, vec![json!(WCAG_21_AA)])
            .await
            .unwrap_or_else(|e| panic!("{label}: axe-core did not run: {e}"));
        for v in violations.as_array().unwrap() {
            let mut line = format!(
                "{label}: {} [{}] {}",
                v["id"].as_str().unwrap_or("?"),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or("")
            );
            for node in v["nodes"].as_array().unwrap() {
                write!(
                    line,
                    "\n      {}   {}",
                    node["target"].as_str().unwrap_or(""),
                    node["html"].as_str().unwrap_or("")
                )
                .unwrap();
            }
            self.findings.push(line);
        }
    }

    /// Signs in through the login form as `email` (in a fresh browser state).
    async fn sign_in(&mut self, email: &str) {
        self.c.delete_all_cookies().await.unwrap();
        self.c.goto(&self.app.url("/login")).await.unwrap();
        fill(self.c, "#f-email", email).await;
        fill(self.c, "#f-password", DEMO_PASSWORD).await;
        submit(self.c, "form.form button[type=submit]").await;
        let landed = self.c.current_url().await.unwrap();
        assert_ne!(landed.path(), "/login", "{email} could not sign in");
    }

    async fn sign_out(&mut self) {
        self.c.delete_all_cookies().await.unwrap();
    }
}

/// What the pages need, made through the API before the browser opens them.
struct World {
    tver: i64,
    city: i64,
    category: i64,
    traffic_light: i64,
    traffic_light_fields: Value,
    /// Ivan's public message: answered, the answer returned by the coordinator (an
    /// incident), so it is in work again with the official's answer forms.
    returned: i64,
    /// Ivan's message, answered: the citizen's rating form.
    answered: i64,
    /// Ivan's message as registered: the official's «take into work».
    registered: i64,
    /// The demo data's open poll of the city administration.
    poll: i64,
    /// The official's vote with results shown while it runs (none cast yet).
    live_poll: i64,
    /// The official's survey before it opens, with photos of its options: the photo
    /// editor with its move buttons.
    photo_survey: i64,
    /// The operator's survey for all of Russia, open, with photos beside the options of
    /// a single choice and a ranking.
    open_photo_survey: i64,
    discussion: i64,
    /// A published comment of the discussion, its last: the page after it leads back.
    published_comment: i64,
    template: i64,
    document: i64,
    campaign: i64,
    route: i64,
    social_incident: i64,
    unsubscribe_token: String,
}

fn named<'v>(list: &'v Value, name: &str) -> &'v Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|item| item["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

fn created(answer: (u16, Value), what: &str) -> Value {
    assert!(
        (200..300).contains(&answer.0),
        "{what}: {} {}",
        answer.0,
        answer.1
    );
    answer.1
}

async fn message(api: &Api, w: &World, public: bool, text: &str) -> i64 {
    let sent = created(
        api.post(
            "/api/v1/submissions",
            json!({
                "kind": "message", "subcategory_id": w.traffic_light, "region_id": w.tver,
                "public": public, "text": text, "fields": w.traffic_light_fields,
            }),
        )
        .await,
        "message",
    );
    sent["id"].as_i64().unwrap()
}

/// Two photos of a survey's first option, one of its ranking's second.
async fn with_photos(api: &Api, id: i64) {
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD.encode(crate::support::PNG_1X1);
    for (question, option) in [(0, 0), (0, 0), (2, 1)] {
        created(
            api.post(
                &format!("/api/v1/polls/{id}/questions/{question}/options/{option}/photos"),
                json!({"name": "photo.png", "content_base64": png}),
            )
            .await,
            "photo",
        );
    }
}

async fn prepare(app: &TestApp) -> World {
    let citizen = app.api(&app.token(CITIZEN).await);
    let official = app.api(&app.token(&app.official_of(CITY).email.clone()).await);
    let coordinator = app.api(&app.token(COORDINATOR).await);
    let operator = app.api(&app.token(OPERATOR).await);
    let org_admin = app.api(&app.token(ORG_ADMIN).await);

    let catalogue = citizen.get("/api/v1/catalogue").await.1;
    let regions = citizen.get("/api/v1/regions").await.1;
    let orgs = citizen.get("/api/v1/organisations").await.1;
    let (category, light) = catalogue
        .as_array()
        .unwrap()
        .iter()
        .find_map(|c| {
            c["subcategories"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == TRAFFIC_LIGHT)
                .map(|s| (c["id"].as_i64().unwrap(), s.clone()))
        })
        .unwrap();
    let mut w = World {
        tver: named(&regions, TVER)["id"].as_i64().unwrap(),
        city: named(&orgs, CITY)["id"].as_i64().unwrap(),
        category,
        traffic_light: light["id"].as_i64().unwrap(),
        traffic_light_fields: json!({
            "address": "г. Тверь, ул. Советская, 20", "fault": "Не работает полностью"
        }),
        returned: 0,
        answered: 0,
        registered: 0,
        poll: 0,
        live_poll: 0,
        photo_survey: 0,
        open_photo_survey: 0,
        discussion: 0,
        published_comment: 0,
        template: 0,
        document: 0,
        campaign: 0,
        route: 0,
        social_incident: 0,
        unsubscribe_token: String::new(),
    };

    // Three messages in three states.
    w.returned = message(
        &citizen,
        &w,
        true,
        "Светофор на перекрёстке Советской и Горького не работает третий день.",
    )
    .await;
    w.answered = message(
        &citizen,
        &w,
        false,
        "Светофор у школы № 5 мигает жёлтым круглые сутки, дети переходят без сигнала.",
    )
    .await;
    w.registered = message(
        &citizen,
        &w,
        false,
        "На перекрёстке у рынка светофор погас после грозы, движение не регулируется.",
    )
    .await;
    for id in [w.returned, w.answered] {
        let path = |action: &str| format!("/api/v1/submissions/{id}/{action}");
        created(
            official.post(&path("take-into-work"), json!({})).await,
            "take",
        );
        created(
            official
                .post(
                    &path("answer"),
                    json!({ "text": "Светофор отремонтирован, работает в штатном режиме." }),
                )
                .await,
            "answer",
        );
    }
    created(
        coordinator
            .post(
                &format!("/api/v1/submissions/{}/return-answer", w.returned),
                json!({ "reason": "Ответ не подтверждён фотографией." }),
            )
            .await,
        "return the answer",
    );

    let polls = citizen.get("/api/v1/polls").await.1;
    w.poll = polls
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["organisation"] == CITY)
        .unwrap_or_else(|| panic!("no open poll of {CITY}: {polls}"))["id"]
        .as_i64()
        .unwrap();
    // A vote for all of Russia (the operator's), so that the citizen may vote whatever
    // their region; the city administration's discussion is in its own region.
    let tver = named(&citizen.get("/api/v1/regions").await.1, "Тверская область")["id"].clone();
    w.live_poll = created(
        operator
            .post(
                "/api/v1/polls",
                json!({"kind": "vote", "title": "Благоустройство Твери",
                       "description": "Выберите до двух проектов.",
                       "questions_text": "? Какие проекты благоустройства выполнить?\n* несколько до 2\n\
                           - Сквер у школы :: скамейки и освещение\n- Детская площадка\n- Фонтан",
                       "opens_at": moscow(-1), "closes_at": moscow(60 * 24), "results": "live"}),
            )
            .await,
        "poll",
    )["id"]
        .as_i64()
        .unwrap();
    w.discussion = created(
        official
            .post(
                "/api/v1/discussions",
                json!({"title": "Проект планировки набережной",
                       "proposal": "Предлагается расширить пешеходную зону набережной Степана Разина.",
                       "opens_at": moscow(-1), "closes_at": moscow(60 * 24 * 7),
                       "region_id": tver}),
            )
            .await,
        "discussion",
    )["id"]
        .as_i64()
        .unwrap();
    created(
        citizen
            .post(
                &format!("/api/v1/discussions/{}/comments", w.discussion),
                json!({"body": "Поддерживаю, но нужны урны и скамейки."}),
            )
            .await,
        "comment",
    );
    w.published_comment = created(
        citizen
            .post(
                &format!("/api/v1/discussions/{}/comments", w.discussion),
                json!({"body": "И хорошо бы освещение вдоль всей набережной."}),
            )
            .await,
        "comment",
    )["id"]
        .as_i64()
        .unwrap();
    created(
        official
            .post(
                &format!(
                    "/api/v1/discussions/{}/comments/{}/moderation",
                    w.discussion, w.published_comment
                ),
                json!({"action": "publish"}),
            )
            .await,
        "publish a comment",
    );

    // Surveys with photos of their options: one before it opens (the editor), one open.
    let survey_text =
        "? Что построить во дворе?\n* один\n- Сквер :: деревья и скамейки\n- Площадку\n\
        ? Оценка двора\n* шкала 1..5\n\
        ? В каком порядке выполнять работы?\n* порядок\n- Дорога\n- Освещение";
    w.photo_survey = created(
        official
            .post(
                "/api/v1/polls",
                json!({"kind": "survey", "title": "Двор на Садовой",
                       "questions_text": survey_text, "region_id": tver,
                       "opens_at": moscow(60 * 24), "closes_at": moscow(60 * 24 * 8), "results": "live"}),
            )
            .await,
        "survey",
    )["id"]
        .as_i64()
        .unwrap();
    with_photos(&official, w.photo_survey).await;
    w.open_photo_survey = created(
        operator
            .post(
                "/api/v1/polls",
                json!({"kind": "survey", "title": "Дворы России",
                       "questions_text": survey_text,
                       "opens_at": moscow(60), "closes_at": moscow(60 * 24), "results": "live"}),
            )
            .await,
        "survey",
    )["id"]
        .as_i64()
        .unwrap();
    with_photos(&operator, w.open_photo_survey).await;
    crate::support::open_poll_now(app, w.open_photo_survey, true).await;
    w.template = created(
        official
            .post(
                "/api/v1/answer-templates",
                json!({ "title": "Светофор отремонтирован",
                        "body": "{{ citizen }}, по обращению № {{ number }} светофор отремонтирован." }),
            )
            .await,
        "answer template",
    )["id"]
        .as_i64()
        .unwrap();

    // A document sent to Ivan for signing, with a certificate he can sign it with.
    created(
        citizen
            .post(
                "/api/v1/account/certificates",
                json!({ "algorithm": "ecdsa_p256", "password": SIGNING_PASSWORD }),
            )
            .await,
        "certificate",
    );
    let deadline = time::OffsetDateTime::now_utc().date() + time::Duration::days(3);
    w.document = created(
        citizen
            .post(
                "/api/v1/documents",
                json!({ "title": "Заявление о согласии", "text": "Согласен на ремонт подъезда в мае.",
                        "order": "sequential", "deadline": format!("{deadline}"), "signers": [CITIZEN] }),
            )
            .await,
        "document",
    )["id"]
        .as_i64()
        .unwrap();
    created(
        citizen
            .post(
                &format!("/api/v1/documents/{}/start", w.document),
                json!({}),
            )
            .await,
        "start the document",
    );

    w.campaign = created(
        operator
            .post(
                "/api/v1/campaigns",
                json!({ "title": "Запись к врачу", "subject": "Новая услуга: запись к врачу онлайн",
                        "text": "Теперь записаться к врачу можно в личном кабинете.",
                        "html": "<p>Теперь записаться к врачу можно в личном кабинете.</p>",
                        "audience": { "region_id": w.tver }, "rate": 5 }),
            )
            .await,
        "campaign",
    )["id"]
        .as_i64()
        .unwrap();
    w.route = operator.get("/api/v1/console/routes").await.1[0]["id"]
        .as_i64()
        .unwrap();

    // The widget of the city administration, on a site of its own.
    let admin_id = UserId(org_admin.get("/api/v1/me").await.1["id"].as_i64().unwrap());
    app.store
        .add_widget_site(
            OrgId(w.city),
            WIDGET_SITE,
            admin_id,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();

    // The one-click unsubscribe link of Ivan's «registered» e-mails, signed with the
    // installation's own key as the mails' links are.
    let ivan = citizen.get("/api/v1/me").await.1["id"].as_i64().unwrap();
    let key = app.store.server_secret(&[0; 32]).await.unwrap();
    w.unsubscribe_token = otklik_notify::tokens::unsubscribe_token(
        &key,
        UserId(ivan),
        otklik_notify::tokens::Unsubscribe::Kind(
            otklik_domain::notify::NotificationKind::parse("registered").unwrap(),
        ),
    );

    // Two posts about one pothole become a social-media incident.
    let posts = json!([
        {"id": "a11y-1", "text": "В Твери на Советской улице огромная яма на дороге, вчера пробил колесо. Когда отремонтируют асфальт?",
         "url": "https://example.org/a11y-1", "published_at": hours_ago(3)},
        {"id": "a11y-2", "text": "Тверь, опять яма на проезжей части у остановки, машины бьют колёса, дорожники где?",
         "published_at": hours_ago(2)},
    ]);
    let pushed = reqwest::Client::new()
        .post(app.url("/api/v1/social/webhook/partner"))
        .bearer_auth(SOCIAL_SECRET)
        .json(&posts)
        .send()
        .await
        .unwrap();
    assert!(pushed.status().is_success(), "{}", pushed.status());
    let waited = Instant::now() + Duration::from_secs(30);
    w.social_incident = loop {
        let list = operator.get("/api/v1/social/incidents?status=all").await.1;
        if let Some(first) = list.as_array().and_then(|l| l.first()) {
            break first["id"].as_i64().unwrap();
        }
        assert!(Instant::now() < waited, "no social incident: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    w
}

fn hours_ago(hours: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::hours(hours))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A site's origin as a query value.
fn enc(origin: &str) -> String {
    origin.replace(':', "%3A").replace('/', "%2F")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_axe_at_wcag_21_aa_and_reflows_at_200_percent_text() {
    let axe = axe_source();
    let started = Instant::now();
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.social.sources = vec![Source::Webhook(WebhookSource {
            key: "partner".into(),
            secret: SOCIAL_SECRET.into(),
            region: None,
            reply_hosts: vec![],
        })];
    })
    .await;
    let w = prepare(&app).await;
    let driver = start_driver().await;
    let c = browser(&driver).await;
    c.update_timeouts(TimeoutConfiguration::new(
        Some(Duration::from_secs(120)),
        Some(Duration::from_secs(60)),
        None,
    ))
    .await
    .unwrap();
    let mut audit = Audit {
        c: &c,
        app: &app,
        axe_script: axe_script(&axe),
        findings: Vec::new(),
        pages: Vec::new(),
    };
    let site = enc(WIDGET_SITE);
    let city = w.city;

    // ---- anyone, signed out ----------------------------------------------------------------
    let who = "anonymous";
    audit
        .pages(
            who,
            [
                "/".to_owned(),
                "/login".to_owned(),
                "/register".to_owned(),
                "/submit".to_owned(),
                "/polls".to_owned(),
                format!("/polls/{}", w.poll),
                format!("/polls/{}/results", w.live_poll),
                "/discussions".to_owned(),
                format!("/discussions/{}", w.discussion),
                format!(
                    "/discussions/{}?after={}",
                    w.discussion, w.published_comment
                ),
                format!("/public/{}", w.returned),
                "/help".to_owned(),
                "/help/inbox".to_owned(),
                "/help/deadlines".to_owned(),
                "/help/coordination".to_owned(),
                "/help/incidents".to_owned(),
                "/verify".to_owned(),
                format!("/unsubscribe/{}", w.unsubscribe_token),
                format!("/widget/{city}/login?origin={site}"),
                format!("/widget/{city}/polls?origin={site}"),
                format!("/widget/{city}/polls/{}?origin={site}", w.poll),
            ],
        )
        .await;
    // Error pages, forms sent back with their errors, the answer to a form.
    c.goto(&app.url("/polls/999999999")).await.unwrap();
    audit.here("anonymous: GET /polls/999999999 (404)").await;
    c.goto(&app.url(&format!("/widget/{city}/polls/999999999?origin={site}")))
        .await
        .unwrap();
    audit
        .here("anonymous: GET /widget/{org}/polls/999999999 (404)")
        .await;
    c.goto(&app.url(&format!("/unsubscribe/{}", w.unsubscribe_token)))
        .await
        .unwrap();
    submit(&c, "main form button[type=submit]").await;
    audit.here("anonymous: POST /unsubscribe/{token}").await;
    c.goto(&app.url("/register")).await.unwrap();
    submit(&c, "form.form button[type=submit]").await;
    audit.here("anonymous: POST /register (errors)").await;
    c.goto(&app.url("/login")).await.unwrap();
    fill(&c, "#f-email", CITIZEN).await;
    fill(&c, "#f-password", "wrong-password").await;
    submit(&c, "form.form button[type=submit]").await;
    audit.here("anonymous: POST /login (errors)").await;

    // ---- a citizen: Ivan, verified -----------------------------------------------------------
    let who = "citizen";
    audit.sign_in(CITIZEN).await;
    audit
        .pages(
            who,
            [
                "/".to_owned(),
                "/my".to_owned(),
                "/submit".to_owned(),
                format!("/submit/{}", w.traffic_light),
                format!("/submissions/{}", w.returned),
                format!("/submissions/{}", w.answered),
                format!("/public/{}", w.returned),
                format!("/polls/{}", w.poll),
                format!("/polls/{}", w.open_photo_survey),
                format!("/discussions/{}", w.discussion),
                "/search?q=%D1%81%D0%B2%D0%B5%D1%82%D0%BE%D1%84%D0%BE%D1%80".to_owned(),
                "/documents".to_owned(),
                "/documents/new".to_owned(),
                format!("/documents/{}", w.document),
                format!("/documents/{}/verification", w.document),
                format!("/submissions/{}", w.registered),
                "/search".to_owned(),
                "/account".to_owned(),
                "/account/signing".to_owned(),
                "/account/notifications".to_owned(),
                "/account/notifications/settings".to_owned(),
            ],
        )
        .await;
    // The submission form sent back with its errors.
    c.goto(&app.url(&format!("/submit/{}", w.traffic_light)))
        .await
        .unwrap();
    fill(&c, "#f-text", "Коротко").await;
    submit(&c, "form.form button[type=submit]").await;
    audit.here("citizen: POST /submit/{id} (errors)").await;
    // A vote: refused empty, then cast; its receipt page and the live results.
    c.goto(&app.url(&format!("/polls/{}", w.live_poll)))
        .await
        .unwrap();
    submit(&c, "form[action$='/vote'] button[type=submit]").await;
    audit.here("citizen: POST /polls/{id}/vote (errors)").await;
    c.find(Locator::Css("form[action$='/vote'] input[type=checkbox]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    submit(&c, "form[action$='/vote'] button[type=submit]").await;
    audit.here("citizen: POST /polls/{id}/vote").await;
    audit
        .page(who, &format!("/polls/{}/results", w.live_poll))
        .await;
    // A long list in the background: asked for from the list, its progress page.
    c.goto(&app.url("/my")).await.unwrap();
    submit(&c, "form[action='/exports'] button[type=submit]").await;
    let job = c.current_url().await.unwrap().path().to_owned();
    assert!(job.starts_with("/exports/"), "{job}");
    audit.here(&format!("citizen: GET {job}")).await;
    audit.page(who, "/exports").await;
    // The widget, signed in there.
    c.goto(&app.url(&format!("/widget/{city}/login?origin={site}")))
        .await
        .unwrap();
    fill(&c, "#f-email", CITIZEN).await;
    fill(&c, "#f-password", DEMO_PASSWORD).await;
    submit(&c, "form.form button[type=submit]").await;
    audit
        .pages(
            who,
            [
                format!("/widget/{city}?origin={site}"),
                format!(
                    "/widget/{city}?origin={site}&subcategory={}",
                    w.traffic_light
                ),
                format!("/widget/{city}/my?origin={site}"),
                format!("/widget/{city}/polls/{}?origin={site}", w.poll),
            ],
        )
        .await;
    audit.sign_out().await;

    // ---- the official of the city administration ----------------------------------------------
    let who = "official";
    audit.sign_in(&app.official_of(CITY).email.clone()).await;
    audit
        .pages(
            who,
            [
                "/".to_owned(),
                "/inbox".to_owned(),
                format!("/submissions/{}", w.registered),
                format!("/submissions/{}", w.returned),
                "/templates".to_owned(),
                format!("/templates/{}", w.template),
                "/polls/new".to_owned(),
                format!("/polls/{}", w.photo_survey),
                "/discussions/new".to_owned(),
                format!("/discussions/{}", w.discussion),
                "/social".to_owned(),
                "/analytics".to_owned(),
                "/search?q=%D1%81%D0%B2%D0%B5%D1%82%D0%BE%D1%84%D0%BE%D1%80".to_owned(),
                format!("/submissions/{}", w.answered),
                "/documents".to_owned(),
                "/exports".to_owned(),
                "/help".to_owned(),
                "/account".to_owned(),
                "/account/notifications".to_owned(),
            ],
        )
        .await;
    // The answer form sent back with its errors.
    c.goto(&app.url(&format!("/submissions/{}", w.returned)))
        .await
        .unwrap();
    submit(&c, "form[action$='/answer'] button[type=submit]").await;
    audit
        .here("official: POST /submissions/{id}/answer (errors)")
        .await;
    audit.sign_out().await;

    // ---- the city administration's administrator --------------------------------------------
    let who = "org administrator";
    audit.sign_in(ORG_ADMIN).await;
    audit
        .pages(
            who,
            [
                "/".to_owned(),
                format!("/org/{city}"),
                "/analytics".to_owned(),
            ],
        )
        .await;
    audit.sign_out().await;

    // ---- the coordinator of Тверская область --------------------------------------------------
    let who = "coordinator";
    audit.sign_in(COORDINATOR).await;
    audit
        .pages(
            who,
            [
                "/".to_owned(),
                "/coordination".to_owned(),
                format!("/submissions/{}", w.returned),
                "/incidents".to_owned(),
                "/monitoring".to_owned(),
                "/social".to_owned(),
                format!("/social/incidents/{}", w.social_incident),
                "/analytics".to_owned(),
            ],
        )
        .await;
    audit.sign_out().await;

    // ---- the operator ------------------------------------------------------------------------
    let who = "operator";
    audit.sign_in(OPERATOR).await;
    audit
        .pages(
            who,
            [
                "/".to_owned(),
                "/operator".to_owned(),
                format!("/submissions/{}", w.returned),
                "/incidents".to_owned(),
                "/monitoring".to_owned(),
                "/social".to_owned(),
                "/social/quarantine".to_owned(),
                format!("/social/incidents/{}", w.social_incident),
                "/console".to_owned(),
                "/console/routes".to_owned(),
                "/console/routes/check".to_owned(),
                format!(
                    "/console/routes/check?subcategory_id={}&region_id={}",
                    w.traffic_light, w.tver
                ),
                format!("/console/routes/{}/delete", w.route),
                "/console/organisations".to_owned(),
                "/console/organisations/new".to_owned(),
                format!("/console/organisations/{city}"),
                "/console/catalogue".to_owned(),
                format!("/console/categories/{}", w.category),
                "/console/subcategories/new".to_owned(),
                format!("/console/subcategories/{}", w.traffic_light),
                "/console/policies".to_owned(),
                "/console/calendars".to_owned(),
                "/console/calendars/federal".to_owned(),
                "/console/notifications".to_owned(),
                "/console/notifications/templates/registered".to_owned(),
                "/console/campaigns".to_owned(),
                "/console/campaigns/new".to_owned(),
                format!("/console/campaigns/{}", w.campaign),
                "/console/changes".to_owned(),
                "/console/quality-feed".to_owned(),
                format!("/org/{city}"),
                "/analytics".to_owned(),
            ],
        )
        .await;
    audit.sign_out().await;

    // ---- the ministry's analyst ----------------------------------------------------------------
    let who = "analyst";
    audit.sign_in(ANALYST).await;
    audit
        .pages(
            who,
            [
                "/",
                "/analytics",
                "/incidents",
                "/monitoring",
                "/social",
                "/help",
            ],
        )
        .await;
    // A table of the report in the background: asked for from the page, its progress
    // page, and the list of one's exports.
    c.goto(&app.url("/analytics")).await.unwrap();
    submit(
        &c,
        "#organisations form[action='/analytics/exports'] button[type=submit]",
    )
    .await;
    let job = c.current_url().await.unwrap().path().to_owned();
    assert!(job.starts_with("/exports/"), "{job}");
    audit.here(&format!("analyst: GET {job}")).await;
    audit.page(who, "/exports").await;

    let Audit {
        findings, pages, ..
    } = audit;
    println!(
        "a11y: {} pages audited in {:.0?}:\n  {}",
        pages.len(),
        started.elapsed(),
        pages.join("\n  ")
    );
    c.close().await.unwrap();
    app.stop().await;
    assert!(
        findings.is_empty(),
        "{} accessibility findings (WCAG 2.1 AA by axe-core, and text at 200 % at {ZOOM_WIDTH} px):\n{}",
        findings.len(),
        findings.join("\n")
    );
}
