//! The campaign benchmark (`scripts/bench-campaign`): how long fixing a campaign's
//! recipients takes for a large audience, and how fast the worker then delivers to an
//! SMTP server on loopback. Not a test: it prints figures for docs/BENCHMARKS.md.
//!
//!   bench_campaign <database-url> <citizens> <smtp-port> <send-seconds> <rate>
//!
//! The citizens are inserted with one SQL statement (a generated series), spread over
//! regions, birth dates and verification levels; the campaign is created and started
//! through the `Notifications` trait, as the console does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use otklik_domain::access::Verification;
use otklik_domain::lifecycle::Role;
use otklik_domain::notify::{Audience, CampaignCommand, CampaignStatus, SendRate};
use otklik_domain::text::{Email, PersonName};
use otklik_notify::config::{SmtpConfig, SmtpSecurity};
use otklik_notify::{Notifier, NotifyConfig};
use otklik_store::{NewCampaign, NewUser};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, citizens, smtp_port, seconds, rate] = args.as_slice() else {
        eprintln!(
            "usage: bench_campaign <database-url> <citizens> <smtp-port> <send-seconds> <rate>"
        );
        std::process::exit(2);
    };
    let citizens: i64 = citizens.parse().expect("citizens");
    let seconds: u64 = seconds.parse().expect("seconds");
    let rate = SendRate::new(rate.parse().expect("rate")).expect("rate 1..=1000");
    let store = otklik_store::open(url).await.expect("store opens");
    otklik::load_federal_subjects(store.as_ref())
        .await
        .expect("regions");
    let operator = store
        .create_user(NewUser {
            email: Email::parse("bench.operator@example.ru").unwrap(),
            password_hash: "!".into(),
            full_name: PersonName::parse("Оператор Бенчмарка").unwrap(),
            role: Role::Operator,
            verification: Verification::Verified,
        })
        .await
        .expect("operator");

    let started = Instant::now();
    seed(url, citizens).await;
    println!(
        "seeded {citizens} citizens in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let campaign = store
        .create_campaign(
            &NewCampaign {
                title: "Бенчмарк".into(),
                subject: "Услуга теперь доступна онлайн".into(),
                text_body: "Подайте заявление в личном кабинете: {{ account_link }}".into(),
                html_body:
                    "<p>Подайте заявление <a href=\"{{ account_link }}\">в личном кабинете</a>.</p>"
                        .into(),
                audience: Audience::default(),
                rate,
            },
            operator,
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("campaign");
    let counted = Instant::now();
    let audience = store
        .audience_size(&Audience::default(), OffsetDateTime::now_utc().date())
        .await
        .expect("audience");
    println!(
        "audience size {audience} counted in {:.2} s",
        counted.elapsed().as_secs_f64()
    );
    let enqueue = Instant::now();
    let record = store
        .command_campaign(
            campaign,
            CampaignCommand::Start,
            operator,
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("start");
    let took = enqueue.elapsed();
    println!(
        "enqueued {} recipients in {:.2} s ({:.0} recipients/s)",
        record.recipients,
        took.as_secs_f64(),
        record.recipients as f64 / took.as_secs_f64()
    );
    assert_eq!(record.status, CampaignStatus::Running);

    // The store's share of a pass: claiming a second's worth and recording outcomes
    // (here "retry now", so that they are sent below like the rest).
    let claim_started = Instant::now();
    let claimed = store
        .claim_campaign_messages(
            campaign,
            OffsetDateTime::now_utc(),
            Duration::from_secs(60),
            u32::from(rate.per_second()),
        )
        .await
        .expect("claim");
    let claim_took = claim_started.elapsed();
    let outcomes: Vec<_> = claimed
        .iter()
        .map(|m| {
            (
                m.user,
                otklik_store::SendOutcome::Retry {
                    error: "bench".into(),
                    retry_at: OffsetDateTime::now_utc(),
                },
            )
        })
        .collect();
    let finish_started = Instant::now();
    store
        .finish_campaign_messages(campaign, &outcomes, OffsetDateTime::now_utc())
        .await
        .expect("finish");
    println!(
        "store share of a pass of {}: claim {:.0} ms, outcomes {:.0} ms",
        claimed.len(),
        claim_took.as_secs_f64() * 1000.0,
        finish_started.elapsed().as_secs_f64() * 1000.0
    );
    tokio::time::sleep(Duration::from_secs(1)).await;

    let config = NotifyConfig {
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port: smtp_port.parse().expect("port"),
            security: SmtpSecurity::None,
            username: None,
            password: None,
            timeout_seconds: 10,
        }),
        ..NotifyConfig::default()
    };
    let notifier = Notifier::new(
        store.clone(),
        config,
        Arc::from(vec![7u8; 32]),
        "http://127.0.0.1:8080",
    )
    .expect("notifier");
    let sending = Instant::now();
    let mut sent_before = 0;
    while sending.elapsed() < Duration::from_secs(seconds) {
        let second = Instant::now();
        let current = store.campaign(campaign).await.expect("campaign");
        notifier
            .campaign_pass(&current, u32::from(rate.per_second()))
            .await
            .expect("pass");
        if let Some(rest) = Duration::from_secs(1).checked_sub(second.elapsed()) {
            tokio::time::sleep(rest).await;
        }
        sent_before = current.sent;
    }
    let after = store.campaign(campaign).await.expect("campaign");
    let elapsed = sending.elapsed().as_secs_f64();
    println!(
        "delivered {} messages in {elapsed:.1} s ({:.0} messages/s at a configured rate of {}/s; failed {}); last pass began at {sent_before}",
        after.sent,
        after.sent as f64 / elapsed,
        rate.per_second(),
        after.failed
    );
}

/// Inserts the citizens in one statement: regions in turn, ages 18 to 90, verification
/// levels in turn; every address deliverable.
async fn seed(url: &str, citizens: i64) {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("pg");
        sqlx::query(
            "INSERT INTO users (email, password_hash, full_name, role, created_at, verification, \
                 birth_date, home_region_id) \
             SELECT 'bench' || g || '@example.ru', '!', 'Гражданин ' || g, 'citizen', 0, \
                    (ARRAY['unverified', 'standard', 'verified'])[1 + g % 3], \
                    to_char(DATE '1936-01-01' + (g % 26000) * INTERVAL '1 day', 'YYYY-MM-DD'), \
                    (SELECT id FROM regions ORDER BY id LIMIT 1 OFFSET (g % 89)) \
             FROM generate_series(1, $1) AS g",
        )
        .bind(citizens)
        .execute(&pool)
        .await
        .expect("seed");
    } else {
        let path = url.trim_start_matches("sqlite://");
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
            .await
            .expect("sqlite");
        sqlx::query(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $1) \
             INSERT INTO users (email, password_hash, full_name, role, created_at, verification, \
                 birth_date, home_region_id) \
             SELECT 'bench' || n || '@example.ru', '!', 'Гражданин ' || n, 'citizen', 0, \
                    CASE n % 3 WHEN 0 THEN 'unverified' WHEN 1 THEN 'standard' ELSE 'verified' END, \
                    date('1936-01-01', '+' || (n % 26000) || ' days'), \
                    (SELECT MIN(id) FROM regions) + n % 89 \
             FROM g",
        )
        .bind(citizens)
        .execute(&pool)
        .await
        .expect("seed");
    }
}
