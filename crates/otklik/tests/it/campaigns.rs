//! Campaigns end to end: the real server with its sending worker and a real SMTP server on
//! loopback (`smtp_sink`). The operator writes a campaign on its page (the audience's
//! size first), starts, pauses and resumes it; exactly the audience receives one e-mail
//! each, at the campaign's rate, with the opt-out link and the open-tracking image; the
//! statistics count openings and opt-outs once; a restart mid-campaign loses and
//! repeats nothing. Only the operator may do any of it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use otklik_domain::access::Verification;
use otklik_domain::notify::CampaignStatus;
use otklik_domain::text::{Email, PersonName};
use otklik_domain::{CampaignId, RegionId, UserId};
use otklik_notify::config::{SmtpConfig, SmtpSecurity};
use otklik_notify::NotifyConfig;
use otklik_store::{CampaignRecord, ProvidedIdentity};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

use crate::smtp_sink::{Received, SmtpSink};
use crate::support::{
    csrf_in, page_login, spawn_app_with, Backend, TestApp, CITIZEN, DEMO_PASSWORD, OPERATOR,
};

/// How long anything the worker should do may take here.
const PATIENCE: Duration = Duration::from_secs(30);
const SUBJECT: &str = "Новая услуга: запись к врачу онлайн";
const TEXT: &str = "Теперь записаться к врачу можно в личном кабинете: {{ account_link }}";
const HTML: &str =
    "<p>Теперь записаться к врачу можно <a href=\"{{ account_link }}\">в личном кабинете</a>.</p>";
const CITY: &str = "Администрация города Твери";

struct World {
    app: TestApp,
    sink: SmtpSink,
    tver: RegionId,
}

/// A person a campaign may reach.
#[derive(Debug, Clone)]
struct Person {
    id: UserId,
    email: String,
}

/// The server sending e-mail to a fresh SMTP sink.
async fn world(backend: Backend) -> World {
    let sink = SmtpSink::start();
    let port = sink.port;
    let app = spawn_app_with(backend, |c| {
        c.notifications = NotifyConfig {
            smtp: Some(SmtpConfig {
                host: "127.0.0.1".to_owned(),
                port,
                security: SmtpSecurity::None,
                username: None,
                password: None,
                timeout_seconds: 5,
            }),
            poll_interval_ms: 50,
            ..NotifyConfig::default()
        };
    })
    .await;
    let tver = app
        .store
        .region_by_code("RU-TVE")
        .await
        .unwrap()
        .expect("Тверская область")
        .id;
    World { app, sink, tver }
}

impl World {
    /// A citizen as the identity provider describes them (the only way to a birth date
    /// and a home region): `age` years and about half a year old today, far from any
    /// birthday; without `mail` the account has no deliverable address.
    async fn resident(&self, n: u32, region: &str, age: i32, mail: bool) -> Person {
        let today = OffsetDateTime::now_utc().date();
        let year = today.year() - age;
        let anniversary = time::Date::from_calendar_date(year, today.month(), today.day())
            .unwrap_or_else(|_| {
                time::Date::from_calendar_date(year, time::Month::February, 28).unwrap()
            });
        let user = self
            .app
            .store
            .sign_in_with_identity(
                ProvidedIdentity {
                    issuer: "https://esia.test".to_owned(),
                    subject: format!("resident-{n}"),
                    identity_key: None,
                    full_name: Some(PersonName::parse("Житель Области").unwrap()),
                    email: mail.then(|| Email::parse(&format!("resident{n}@example.ru")).unwrap()),
                    birth_date: Some(anniversary - time::Duration::days(182)),
                    home_region_code: Some(region.to_owned()),
                    verification: Verification::Verified,
                },
                None,
                OffsetDateTime::now_utc(),
            )
            .await
            .unwrap();
        Person {
            id: user.id,
            email: user.email,
        }
    }

    /// The audience of the default form (Тверская область, 25 to 40): three people; and
    /// five just outside it (too young, too old, another region, no e-mail address,
    /// opted out of campaigns).
    async fn residents(&self) -> (Vec<Person>, Vec<Person>) {
        let inside = vec![
            self.resident(1, "RU-TVE", 25, true).await,
            self.resident(2, "RU-TVE", 30, true).await,
            self.resident(3, "RU-TVE", 40, true).await,
        ];
        let outside = vec![
            self.resident(4, "RU-TVE", 24, true).await,
            self.resident(5, "RU-TVE", 41, true).await,
            self.resident(6, "RU-NVS", 30, true).await,
            self.resident(7, "RU-TVE", 30, false).await,
            self.resident(8, "RU-TVE", 30, true).await,
        ];
        let store = &self.app.store;
        let mut settings = store.notification_settings(outside[4].id).await.unwrap();
        settings.campaigns_opted_out = true;
        store
            .put_notification_settings(outside[4].id, &settings, OffsetDateTime::now_utc())
            .await
            .unwrap();
        (inside, outside)
    }

    /// The campaign form as the operator fills it in: the audience of `residents`, five
    /// messages a second; `changes` replace fields.
    fn form(&self, csrf: &str, action: &str, changes: &[(&str, &str)]) -> Vec<(String, String)> {
        let region = self.tver.0.to_string();
        let mut fields: Vec<(String, String)> = [
            ("csrf", csrf),
            ("action", action),
            ("title", "Запись к врачу онлайн"),
            ("subject", SUBJECT),
            ("text", TEXT),
            ("html", HTML),
            ("region", region.as_str()),
            ("municipality", ""),
            ("min_age", "25"),
            ("max_age", "40"),
            ("min_verification", ""),
            ("rate", "5"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (name, value) in changes {
            let field = fields
                .iter_mut()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("no field {name}"));
            field.1 = (*value).to_owned();
        }
        fields
    }

    /// Posts the campaign form (with the token of the new-campaign page).
    async fn post_form(
        &self,
        browser: &reqwest::Client,
        action: &str,
        changes: &[(&str, &str)],
    ) -> reqwest::Response {
        let (status, html) = page(browser, &self.app.url("/console/campaigns/new")).await;
        assert_eq!(status, 200, "{html}");
        browser
            .post(self.app.url("/console/campaigns"))
            .form(&self.form(&csrf_in(&html), action, changes))
            .send()
            .await
            .unwrap()
    }

    /// The audience's size as "Посчитать аудиторию" shows it.
    async fn count(&self, op: &reqwest::Client, changes: &[(&str, &str)]) -> u64 {
        let r = self.post_form(op, "count", changes).await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        attribute(&html, "data-audience")
            .unwrap_or_else(|| panic!("no audience size in {html}"))
            .parse()
            .unwrap()
    }

    /// Saves a draft through the page; its id.
    async fn create(&self, op: &reqwest::Client, changes: &[(&str, &str)]) -> CampaignId {
        let r = self.post_form(op, "create", changes).await;
        let status = r.status();
        let location = r
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        assert_eq!(status, 303, "{}", r.text().await.unwrap());
        let id = location
            .unwrap()
            .strip_prefix("/console/campaigns/")
            .expect("a campaign's page")
            .parse()
            .unwrap();
        CampaignId(id)
    }

    /// Gives a command with the button of the campaign's page.
    async fn command(&self, op: &reqwest::Client, id: CampaignId, command: &str) {
        let path = format!("/console/campaigns/{}", id.0);
        let (status, html) = page(op, &self.app.url(&path)).await;
        assert_eq!(status, 200);
        assert!(
            html.contains(&format!(r#"name="command" value="{command}""#)),
            "no {command} button on {html}"
        );
        let r = op
            .post(self.app.url(&format!("{path}/command")))
            .form(&[("csrf", csrf_in(&html).as_str()), ("command", command)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{command}");
        assert_eq!(r.headers()[reqwest::header::LOCATION], path.as_str());
    }

    /// The campaign's page: its status and statistics.
    async fn stats(&self, op: &reqwest::Client, id: CampaignId) -> Stats {
        let (status, html) = page(op, &self.app.url(&format!("/console/campaigns/{}", id.0))).await;
        assert_eq!(status, 200);
        let mut stats = BTreeMap::new();
        for name in [
            "recipients",
            "sent",
            "pending",
            "failed",
            "opened",
            "unsubscribed",
        ] {
            let marker = format!(r#"data-stat="{name}">"#);
            if let Some(at) = html.find(&marker) {
                let rest = &html[at + marker.len()..];
                stats.insert(name, rest[..rest.find('<').unwrap()].parse().unwrap());
            }
        }
        Stats {
            status: attribute(&html, "data-status").expect("a status"),
            stats,
        }
    }

    /// Waits until the campaign is in `status`.
    async fn wait_status(&self, id: CampaignId, status: CampaignStatus) -> CampaignRecord {
        let started = Instant::now();
        loop {
            let record = self.app.store.campaign(id).await.unwrap();
            if record.status == status {
                return record;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "campaign {} not {status:?}: {record:?}",
                id.0
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The messages of one campaign the sink accepted, in order.
    fn mails_of(&self, id: CampaignId) -> Vec<Received> {
        let prefix = format!("<c{}.u", id.0);
        self.sink
            .messages()
            .into_iter()
            .filter(|m| {
                m.header("Message-ID")
                    .is_some_and(|h| h.starts_with(&prefix))
            })
            .collect()
    }
}

#[derive(Debug)]
struct Stats {
    status: String,
    stats: BTreeMap<&'static str, u64>,
}

impl Stats {
    fn get(&self, name: &str) -> u64 {
        *self
            .stats
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {self:?}"))
    }
}

/// The value of the first `name="…"` attribute of a page.
fn attribute(html: &str, name: &str) -> Option<String> {
    let marker = format!("{name}=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..start + html[start..].find('"')?].to_owned())
}

/// A signed-in browser.
async fn browser_of(app: &TestApp, email: &str) -> reqwest::Client {
    let browser = app.browser();
    let r = page_login(app, &browser, email, DEMO_PASSWORD).await;
    assert_eq!(r.status(), 303, "login of {email}");
    browser
}

async fn page(browser: &reqwest::Client, url: &str) -> (u16, String) {
    let r = browser.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// How many messages each address got.
fn tally(mails: &[Received]) -> BTreeMap<String, usize> {
    let mut tally = BTreeMap::new();
    for mail in mails {
        for to in &mail.rcpt_to {
            *tally.entry(to.clone()).or_default() += 1;
        }
    }
    tally
}

/// Each of these people once.
fn once_each(people: &[Person]) -> BTreeMap<String, usize> {
    people.iter().map(|p| (p.email.clone(), 1)).collect()
}

/// The address in `List-Unsubscribe: <…>`.
fn unsubscribe_url(mail: &Received) -> String {
    mail.header("List-Unsubscribe")
        .expect("List-Unsubscribe")
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// The open-tracking image's address in the HTML body.
fn open_url(mail: &Received) -> String {
    let html = mail.html_body();
    let at = html.find("/n/open/").expect("the open-tracking image");
    let start = html[..at].rfind("src=\"").expect("an image") + "src=\"".len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

// --- writing a campaign ---------------------------------------------------------------------

/// The operator writes a campaign on its page: the audience's size, then the draft;
/// invalid forms answer 400 with the error summary and create nothing; nobody else may
/// see or touch campaigns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_counts_the_audience_and_saves_a_draft_others_may_not() {
    let w = world(Backend::Sqlite).await;
    let (inside, _) = w.residents().await;
    let op = browser_of(&w.app, OPERATOR).await;
    let (status, html) = page(&op, &w.app.url("/console/campaigns/new")).await;
    assert_eq!(status, 200);
    for name in [
        "title", "subject", "text", "html", "region", "min_age", "max_age", "rate",
    ] {
        assert!(html.contains(&format!(r#"name="{name}""#)), "{name}");
    }

    // The count: region and ages; the region alone; the form keeps its values.
    assert_eq!(w.count(&op, &[]).await, inside.len() as u64);
    assert_eq!(
        w.count(&op, &[("min_age", ""), ("max_age", "")]).await,
        5,
        "also the 24- and 41-year-olds"
    );
    let r = w.post_form(&op, "count", &[]).await;
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"value="25""#) && html.contains(r#"value="40""#));
    assert!(html.contains(&format!(r#"<option value="{}" selected>"#, w.tver.0)));
    assert!(
        w.app.store.campaigns().await.unwrap().is_empty(),
        "counting saves nothing"
    );

    // Invalid forms: 400, the summary links to the field, nothing is created.
    for (action, changes, target, message) in [
        (
            "create",
            vec![("rate", "0")],
            "#f-rate",
            "Выберите значение из допустимого диапазона.",
        ),
        (
            "create",
            vec![("min_age", "40"), ("max_age", "25")],
            "#f-max-age",
            "Верхняя граница возраста меньше нижней.",
        ),
        (
            "count",
            vec![("min_age", "40"), ("max_age", "25")],
            "#f-max-age",
            "Верхняя граница возраста меньше нижней.",
        ),
        (
            "create",
            vec![("text", "Ваше обращение № {{ number }} рассмотрено")],
            "#f-text",
            "В шаблоне есть подстановка, которой нет в списке допустимых.",
        ),
    ] {
        let r = w.post_form(&op, action, &changes).await;
        assert_eq!(r.status(), 400, "{changes:?}");
        let html = r.text().await.unwrap();
        assert!(html.contains(r#"class="error-summary""#), "{html}");
        assert!(
            html.contains(&format!(r#"href="{target}""#)),
            "{target}: {html}"
        );
        assert!(html.contains(message), "{message}: {html}");
        assert!(
            !html.contains("data-audience="),
            "no count of an invalid audience"
        );
        assert!(
            w.app.store.campaigns().await.unwrap().is_empty(),
            "{changes:?}"
        );
    }

    // The draft.
    let id = w.create(&op, &[]).await;
    let saved = w.app.store.campaign(id).await.unwrap();
    assert_eq!(
        (
            saved.title.as_str(),
            saved.subject.as_str(),
            saved.text_body.as_str(),
            saved.html_body.as_str(),
            saved.rate.per_second(),
            saved.status,
            saved.recipients
        ),
        (
            "Запись к врачу онлайн",
            SUBJECT,
            TEXT,
            HTML,
            5,
            CampaignStatus::Draft,
            0
        )
    );
    assert_eq!(
        (
            saved.audience.region,
            saved.audience.min_age,
            saved.audience.max_age,
            saved.audience.min_verification
        ),
        (Some(w.tver), Some(25), Some(40), None)
    );
    let (status, html) = page(&op, &w.app.url(&format!("/console/campaigns/{}", id.0))).await;
    assert_eq!(status, 200);
    assert_eq!(attribute(&html, "data-status").as_deref(), Some("draft"));
    assert_eq!(attribute(&html, "data-audience").as_deref(), Some("3"));
    let (status, list) = page(&op, &w.app.url("/console/campaigns")).await;
    assert_eq!(status, 200);
    assert!(
        list.contains(&format!(r#"href="/console/campaigns/{}""#, id.0)),
        "{list}"
    );

    // Nobody else: a citizen, an official.
    let official = w.app.official_of(CITY).email.clone();
    for who in [CITIZEN, official.as_str()] {
        let browser = browser_of(&w.app, who).await;
        for path in [
            "/console/campaigns".to_owned(),
            "/console/campaigns/new".to_owned(),
            format!("/console/campaigns/{}", id.0),
        ] {
            assert_eq!(
                page(&browser, &w.app.url(&path)).await.0,
                403,
                "{who} {path}"
            );
        }
        let (_, home) = page(&browser, &w.app.url("/")).await;
        let csrf = csrf_in(&home);
        for action in ["count", "create"] {
            let r = browser
                .post(w.app.url("/console/campaigns"))
                .form(&w.form(&csrf, action, &[]))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{who} {action}");
        }
        let r = browser
            .post(w.app.url(&format!("/console/campaigns/{}/command", id.0)))
            .form(&[("csrf", csrf.as_str()), ("command", "start")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{who} start");
    }
    let all = w.app.store.campaigns().await.unwrap();
    assert_eq!(
        all.iter().map(|c| (c.id, c.status)).collect::<Vec<_>>(),
        vec![(id, CampaignStatus::Draft)]
    );
    assert!(w.sink.messages().is_empty());
    w.app.stop().await;
}

// --- sending ------------------------------------------------------------------------------

/// Started, a campaign reaches exactly its audience, one e-mail each with the opt-out
/// link (headers and text) and the open-tracking image; openings count once per person;
/// the opt-out link counts and leaves the person out of the next campaign.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_reaches_exactly_its_audience_and_counts_openings_and_opt_outs() {
    let w = world(Backend::Sqlite).await;
    let (inside, _) = w.residents().await;
    let op = browser_of(&w.app, OPERATOR).await;
    let id = w.create(&op, &[]).await;
    w.command(&op, id, "start").await;
    let record = w.wait_status(id, CampaignStatus::Finished).await;
    assert_eq!((record.recipients, record.sent, record.failed), (3, 3, 0));
    // Nothing more comes, to anyone.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mails = w.mails_of(id);
    assert_eq!(w.sink.messages().len(), mails.len());
    assert_eq!(tally(&mails), once_each(&inside));

    let base = w.app.base.clone();
    for mail in &mails {
        let person = inside
            .iter()
            .find(|p| mail.rcpt_to == [p.email.clone()])
            .unwrap();
        let user = person.id.0;
        assert_eq!(
            mail.header("Message-ID"),
            Some(format!("<c{}.u{user}@127.0.0.1>", id.0).as_str())
        );
        assert_eq!(mail.subject().as_deref(), Some(SUBJECT));
        let unsubscribe = unsubscribe_url(mail);
        assert!(
            unsubscribe.starts_with(&format!("{base}/unsubscribe/{user}.c{}.", id.0)),
            "{unsubscribe}"
        );
        assert_eq!(
            mail.header("List-Unsubscribe-Post"),
            Some("List-Unsubscribe=One-Click")
        );
        let text = mail.text_body();
        assert!(
            text.contains(&format!("Не получать такие рассылки: {unsubscribe}")),
            "{text}"
        );
        assert!(
            text.contains(&format!("в личном кабинете: {base}/account/notifications")),
            "{text}"
        );
        let html = mail.html_body();
        assert!(
            html.contains(&format!(r#"<img src="{base}/n/open/{}.{user}."#, id.0)),
            "{html}"
        );
        assert_eq!(html.matches("/n/open/").count(), 1, "{html}");
        assert!(html.contains(&format!("href=\"{unsubscribe}\"")), "{html}");
    }
    let stats = w.stats(&op, id).await;
    assert_eq!(stats.status, "finished");
    for (name, value) in [
        ("recipients", 3),
        ("sent", 3),
        ("pending", 0),
        ("failed", 0),
        ("opened", 0),
        ("unsubscribed", 0),
    ] {
        assert_eq!(stats.get(name), value, "{name}");
    }

    // Openings: the image loaded twice counts once; another reader's counts too; a forged
    // address is 404 and counts nothing.
    let stranger = reqwest::Client::new();
    let image = open_url(&mails[0]);
    for _ in 0..2 {
        let r = stranger.get(&image).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[reqwest::header::CONTENT_TYPE], "image/gif");
    }
    assert_eq!(w.stats(&op, id).await.get("opened"), 1);
    let r = stranger.get(open_url(&mails[1])).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let forged = format!(
        "{}{}",
        &image[..image.len() - 1],
        if image.ends_with('A') { 'B' } else { 'A' }
    );
    assert_eq!(stranger.get(&forged).send().await.unwrap().status(), 404);
    assert_eq!(w.stats(&op, id).await.get("opened"), 2);

    // Opt-out: the mail client's one-click POST, no session; counted once.
    let leaver = inside
        .iter()
        .find(|p| mails[2].rcpt_to == [p.email.clone()])
        .unwrap()
        .clone();
    let unsubscribe = unsubscribe_url(&mails[2]);
    for _ in 0..2 {
        let r = stranger
            .post(&unsubscribe)
            .form(&[("List-Unsubscribe", "One-Click")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    assert_eq!(w.stats(&op, id).await.get("unsubscribed"), 1);
    assert!(
        w.app
            .store
            .notification_settings(leaver.id)
            .await
            .unwrap()
            .campaigns_opted_out
    );

    // The next campaign leaves them out.
    assert_eq!(w.count(&op, &[]).await, 2);
    let next = w.create(&op, &[("title", "Вторая рассылка")]).await;
    w.command(&op, next, "start").await;
    let record = w.wait_status(next, CampaignStatus::Finished).await;
    assert_eq!((record.recipients, record.sent), (2, 2));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let others: Vec<Person> = inside
        .iter()
        .filter(|p| p.id != leaver.id)
        .cloned()
        .collect();
    assert_eq!(tally(&w.mails_of(next)), once_each(&others));
    assert_eq!(w.sink.messages().len(), 5);
    w.app.stop().await;
}

/// Paused after its first messages, a campaign sends nothing more; resumed, it goes on
/// at its rate and finishes with every recipient exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_campaign_holds_and_a_resumed_one_finishes_once_each() {
    let w = world(Backend::Sqlite).await;
    let mut people = Vec::new();
    for n in 1..=12 {
        people.push(w.resident(n, "RU-TVE", 30, true).await);
    }
    let op = browser_of(&w.app, OPERATOR).await;
    let id = w.create(&op, &[("rate", "2")]).await;
    w.command(&op, id, "start").await;
    let started = Instant::now();
    while w.mails_of(id).len() < 2 {
        assert!(started.elapsed() < PATIENCE, "nothing sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.command(&op, id, "pause").await;
    assert_eq!(
        w.app.store.campaign(id).await.unwrap().status,
        CampaignStatus::Paused
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = w.mails_of(id).len();
    assert!((2..12).contains(&held), "{held} sent before the pause");
    let stats = w.stats(&op, id).await;
    assert_eq!(stats.status, "paused");
    assert_eq!(
        (
            stats.get("recipients"),
            stats.get("sent"),
            stats.get("pending")
        ),
        (12, held as u64, 12 - held as u64)
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(w.mails_of(id).len(), held, "nothing is sent while paused");

    let resumed = Instant::now();
    w.command(&op, id, "resume").await;
    w.wait_status(id, CampaignStatus::Finished).await;
    // Two a second: the rest takes at least (passes - 1) seconds.
    let passes = (12 - held).div_ceil(2) as u64;
    assert!(
        resumed.elapsed() >= Duration::from_millis((passes - 1) * 1000 - 300),
        "{passes} passes in {:?}",
        resumed.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(tally(&w.mails_of(id)), once_each(&people));
    let stats = w.stats(&op, id).await;
    assert_eq!(stats.status, "finished");
    assert_eq!(
        (
            stats.get("recipients"),
            stats.get("sent"),
            stats.get("pending"),
            stats.get("failed")
        ),
        (12, 12, 0, 0)
    );
    w.app.stop().await;
}

/// The server restarts mid-campaign (between two passes of the worker): the new one
/// goes on where the old one stopped; every recipient gets exactly one message, by
/// Message-ID.
async fn a_restart_mid_campaign_loses_and_repeats_nothing(backend: Backend) {
    let mut w = world(backend).await;
    let mut people = Vec::new();
    for n in 1..=12 {
        people.push(w.resident(n, "RU-TVE", 30, true).await);
    }
    let op = browser_of(&w.app, OPERATOR).await;
    let id = w.create(&op, &[("rate", "2")]).await;
    w.command(&op, id, "start").await;
    // Right after a pass is recorded, with some sent and most waiting.
    let started = Instant::now();
    let mut seen = 0;
    let sent = loop {
        let sent = w.app.store.campaign(id).await.unwrap().sent;
        if sent != seen && sent >= 4 {
            break sent;
        }
        seen = sent;
        assert!(started.elapsed() < PATIENCE, "only {sent} sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    w.app.restart().await;
    assert_eq!(w.mails_of(id).len() as u64, sent);
    assert!(sent < 12, "the campaign was over before the restart");

    let record = w.wait_status(id, CampaignStatus::Finished).await;
    assert_eq!((record.recipients, record.sent, record.failed), (12, 12, 0));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mails = w.mails_of(id);
    let mut ids: Vec<String> = mails
        .iter()
        .map(|m| m.header("Message-ID").unwrap().to_owned())
        .collect();
    ids.sort();
    let mut expected: Vec<String> = people
        .iter()
        .map(|p| format!("<c{}.u{}@127.0.0.1>", id.0, p.id.0))
        .collect();
    expected.sort();
    assert_eq!(ids, expected, "each recipient once, none twice");
    assert_eq!(tally(&mails), once_each(&people));
    // The operator's session survived too.
    let stats = w.stats(&op, id).await;
    assert_eq!((stats.get("sent"), stats.get("pending")), (12, 0));
    w.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_campaign_loses_and_repeats_nothing_sqlite() {
    a_restart_mid_campaign_loses_and_repeats_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_campaign_loses_and_repeats_nothing_postgres() {
    a_restart_mid_campaign_loses_and_repeats_nothing(Backend::Postgres).await;
}

/// The same through the API: the audience's size, a draft (invalid ones refused with the
/// field named, nothing created), the start fixing the recipients, a command the status
/// does not allow (409), the progress read back once the worker is done; and the
/// templates: read, a refused edit (unknown placeholder) that changes nothing, an edit,
/// back to the shipped text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_runs_campaigns_and_templates_through_the_api() {
    let w = world(Backend::Sqlite).await;
    let (inside, _) = w.residents().await;
    let operator = w.app.api(&w.app.token(OPERATOR).await);
    let audience = serde_json::json!({ "region_id": w.tver.0, "min_age": 25, "max_age": 40 });
    let (status, size) = operator
        .post("/api/v1/campaigns/audience", audience.clone())
        .await;
    assert_eq!((status, size["size"].as_u64()), (200, Some(3)), "{size}");
    let (status, refused) = operator
        .post(
            "/api/v1/campaigns/audience",
            serde_json::json!({ "min_age": 40, "max_age": 25 }),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        refused["errors"][0]["field"], "audience.max_age",
        "{refused}"
    );
    let draft = serde_json::json!({
        "title": "Запись к врачу", "subject": SUBJECT, "text": TEXT, "html": HTML,
        "audience": audience, "rate": 5
    });
    let mut bad = draft.clone();
    bad["text"] = serde_json::json!("Обращение {{ number }}");
    let (status, refused) = operator.post("/api/v1/campaigns", bad).await;
    assert_eq!(status, 422);
    assert_eq!(
        refused["errors"][0]["code"], "unknown_placeholder",
        "{refused}"
    );
    assert!(operator
        .get("/api/v1/campaigns")
        .await
        .1
        .as_array()
        .unwrap()
        .is_empty());
    let (status, created) = operator.post("/api/v1/campaigns", draft).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "draft");
    let id = created["id"].as_i64().unwrap();
    let (status, started) = operator
        .post(
            &format!("/api/v1/campaigns/{id}/start"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(
        (status, started["recipients"].as_u64()),
        (200, Some(3)),
        "{started}"
    );
    let (status, again) = operator
        .post(
            &format!("/api/v1/campaigns/{id}/start"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(again["code"], "campaign_command_not_allowed");
    let mails = w.sink.wait_for(inside.len(), PATIENCE).await;
    assert_eq!(tally(&mails), once_each(&inside));
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, view) = operator.get(&format!("/api/v1/campaigns/{id}")).await;
        if view["status"] == "finished" {
            assert_eq!(
                (view["sent"].as_u64(), view["pending"].as_u64()),
                (Some(3), Some(0))
            );
            break;
        }
        assert!(Instant::now() < deadline, "not finished: {view}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Templates.
    let (status, all) = operator.get("/api/v1/notification-templates").await;
    assert_eq!(status, 200);
    let shipped = all
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "answered")
        .unwrap()
        .clone();
    assert_eq!(shipped["edited"], false);
    let (status, refused) = operator
        .put_json(
            "/api/v1/notification-templates/answered",
            serde_json::json!({ "subject": "Ответ для {{ full_name }}", "text": "t", "html": "h" }),
        )
        .await;
    assert_eq!(
        (status, refused["errors"][0]["field"].as_str()),
        (422, Some("subject"))
    );
    let (status, edited) = operator
        .put_json(
            "/api/v1/notification-templates/answered",
            serde_json::json!({ "subject": "Ответ на № {{ number }}", "text": "Готово: {{ link }}", "html": "<p>Готово</p>" }),
        )
        .await;
    assert_eq!(
        (status, edited["edited"].as_bool()),
        (200, Some(true)),
        "{edited}"
    );
    let reset = operator
        .client
        .delete(format!(
            "{}/api/v1/notification-templates/answered",
            operator.base
        ))
        .bearer_auth(&operator.token)
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    let (_, all) = operator.get("/api/v1/notification-templates").await;
    let back = all
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "answered")
        .unwrap();
    assert_eq!(back["subject"], shipped["subject"]);
    // A citizen may do none of it.
    let citizen = w.app.api(&w.app.token(CITIZEN).await);
    assert_eq!(citizen.get("/api/v1/campaigns").await.0, 403);
    w.app.stop().await;
}
