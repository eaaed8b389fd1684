//! The worker that empties the outbox: it claims due messages under a lease, renders
//! them with the templates in force, sends them (e-mail, the gateway), and records each
//! outcome; and it sends running campaigns at their rate.
//!
//! Delivery is at least once and deduplicable: a message keeps one `Message-ID`
//! (`Idempotency-Key` for the gateway) across retries, and is marked sent right after
//! the server accepts it. A node that dies between the two leaves it leased; it is sent
//! again, with the same identifier, when the lease ends.

use crate::config::{GatewayConfig, NotifyConfig};
use crate::email::{Mailer, Outgoing, Sent};
use crate::templates::{self, Footer, Rendered, Templates};
use crate::tokens::{self, Unsubscribe};
use futures_util::StreamExt;
use otklik_domain::notify::Channel;
use otklik_domain::UserId;
use otklik_store::{
    CampaignRecord, OutgoingCampaignMessage, OutgoingNotification, SendOutcome, Store, StoreError,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Campaign messages sent at once.
const CAMPAIGN_CONCURRENCY: usize = 32;

pub struct Notifier {
    store: Arc<dyn Store>,
    config: NotifyConfig,
    key: Arc<[u8]>,
    public_url: String,
    /// The right-hand side of every `Message-ID`.
    domain: String,
    mailer: Option<Mailer>,
    http: reqwest::Client,
}

impl Notifier {
    /// `key` is the installation's secret (it signs unsubscribe links); `public_url`
    /// the platform's address for links, without a trailing slash.
    pub fn new(
        store: Arc<dyn Store>,
        config: NotifyConfig,
        key: Arc<[u8]>,
        public_url: &str,
    ) -> Result<Self, String> {
        let mailer = config
            .smtp
            .as_ref()
            .map(|smtp| Mailer::new(smtp, &config.from))
            .transpose()?;
        let timeout = config.gateway.as_ref().map_or(15, |g| g.timeout_seconds);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("otklik/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        let public_url = public_url.trim_end_matches('/').to_owned();
        let domain = reqwest::Url::parse(&public_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_else(|| "otklik.localhost".to_owned());
        Ok(Self {
            store,
            config,
            key,
            public_url,
            domain,
            mailer,
            http,
        })
    }

    fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    fn unsubscribe_link(&self, user: UserId, what: Unsubscribe) -> String {
        self.link(&format!(
            "/unsubscribe/{}",
            tokens::unsubscribe_token(&self.key, user, what)
        ))
    }

    fn footer(&self, user: UserId, what: Unsubscribe) -> Footer {
        Footer {
            settings_link: self.link("/account/notifications/settings"),
            unsubscribe_link: self.unsubscribe_link(user, what),
            campaign: matches!(what, Unsubscribe::Campaigns(_)),
        }
    }

    /// The values of one notification: what the store kept, and the links.
    fn values(&self, n: &OutgoingNotification) -> Value {
        templates::with_links(&n.vars, n.submission, &self.public_url)
    }

    fn retry(&self, attempts: u32, error: String) -> SendOutcome {
        let delay = otklik_domain::delivery::retry_delay(
            attempts,
            Duration::from_secs(self.config.retry_base_seconds),
            Duration::from_secs(self.config.retry_max_seconds),
            rand::random::<f64>(),
        );
        SendOutcome::Retry {
            error,
            retry_at: OffsetDateTime::now_utc() + delay,
        }
    }

    fn outcome(&self, sent: Sent, attempts: u32) -> SendOutcome {
        match sent {
            Sent::Ok => SendOutcome::Sent,
            Sent::Transient(error) => self.retry(attempts, error),
            Sent::Permanent(error) => SendOutcome::Failed { error },
        }
    }

    /// The channels this node can send: the others' messages wait for a node that can
    /// (or for this one, once configured), rather than being given up.
    fn channels(&self) -> Vec<Channel> {
        let mut channels = Vec::new();
        if self.mailer.is_some() {
            channels.push(Channel::Email);
        }
        if self.config.gateway.is_some() {
            channels.push(Channel::Gateway);
        }
        channels
    }

    /// How long claimed messages stay leased: longer than sending them can take, `waves`
    /// rounds of sends one after another, each of at most five SMTP commands that may
    /// each time out — so that no other node sends them again meanwhile.
    fn lease(&self, waves: usize) -> Duration {
        let timeout = [
            self.config.smtp.as_ref().map_or(0, |s| s.timeout_seconds),
            self.config
                .gateway
                .as_ref()
                .map_or(0, |g| g.timeout_seconds),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        Duration::from_secs(60 + waves.max(1) as u64 * 5 * timeout)
    }

    /// One pass over the outbox. Returns how many messages it took.
    pub async fn notifications_pass(&self) -> Result<usize, StoreError> {
        let channels = self.channels();
        if channels.is_empty() {
            return Ok(0);
        }
        let now = OffsetDateTime::now_utc();
        let digest_before = now - Duration::from_secs(self.config.digest_seconds);
        let due = self
            .store
            .claim_notifications(
                now,
                self.lease(1),
                self.config.batch,
                digest_before,
                &channels,
            )
            .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let templates = Templates::new(self.store.notification_templates().await?);
        let count = due.len();
        let (digests, single): (Vec<_>, Vec<_>) = due.into_iter().partition(|n| n.digest);
        let mut by_user: BTreeMap<UserId, Vec<OutgoingNotification>> = BTreeMap::new();
        for n in digests {
            by_user.entry(n.user).or_default().push(n);
        }
        // Futures collected in loops, not closures: the worker's task must be `Send`
        // for every lifetime, which closures returning borrowing futures defeat.
        let mut sends = Vec::with_capacity(single.len() + by_user.len());
        for n in &single {
            sends.push(futures_util::future::Either::Left(
                self.send_single(&templates, n),
            ));
        }
        for items in by_user.values() {
            sends.push(futures_util::future::Either::Right(
                self.send_digest(&templates, items),
            ));
        }
        let outcomes: Vec<_> = futures_util::future::join_all(sends)
            .await
            .into_iter()
            .flatten()
            .collect();
        for (id, channel, outcome) in &outcomes {
            if !matches!(outcome, SendOutcome::Sent) {
                tracing::info!(
                    notification = id.0,
                    channel = channel.as_str(),
                    ?outcome,
                    "notification not sent"
                );
            }
        }
        self.store
            .finish_notifications(&outcomes, OffsetDateTime::now_utc())
            .await?;
        Ok(count)
    }

    async fn send_single(
        &self,
        templates: &Templates,
        n: &OutgoingNotification,
    ) -> Vec<(otklik_domain::NotificationId, Channel, SendOutcome)> {
        vec![(n.id, n.channel, self.send_one(templates, n).await)]
    }

    async fn send_one(&self, templates: &Templates, n: &OutgoingNotification) -> SendOutcome {
        let footer = self.footer(n.user, Unsubscribe::Kind(n.kind));
        let rendered = match templates.render(n.kind.as_str(), &self.values(n), &footer) {
            Ok(rendered) => rendered,
            Err(error) => {
                return SendOutcome::Failed {
                    error: format!("template: {error}"),
                }
            }
        };
        match n.channel {
            Channel::Email => {
                let Some(mailer) = &self.mailer else {
                    return SendOutcome::Skipped {
                        reason: "email_not_configured".into(),
                    };
                };
                let sent = mailer
                    .send(Outgoing {
                        to: &n.email,
                        message_id: format!("n{}.email@{}", n.id.0, self.domain),
                        rendered: &rendered,
                        unsubscribe_link: &footer.unsubscribe_link,
                    })
                    .await;
                self.outcome(sent, n.attempts)
            }
            Channel::Gateway => {
                let Some(gateway) = &self.config.gateway else {
                    return SendOutcome::Skipped {
                        reason: "gateway_not_configured".into(),
                    };
                };
                let Some(phone) = &n.phone else {
                    return SendOutcome::Skipped {
                        reason: "no_phone".into(),
                    };
                };
                let link = self.values(n)["link"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let sent = self.post_gateway(gateway, n, phone, &rendered, &link).await;
                self.outcome(sent, n.attempts)
            }
        }
    }

    async fn post_gateway(
        &self,
        gateway: &GatewayConfig,
        n: &OutgoingNotification,
        phone: &str,
        rendered: &Rendered,
        link: &str,
    ) -> Sent {
        let key = format!("n{}.gateway", n.id.0);
        let body = json!({
            "id": key,
            "kind": n.kind.as_str(),
            "to": phone,
            "subject": rendered.subject,
            "text": format!("{}. {link}", rendered.subject),
            "link": link,
        })
        .to_string();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let response = self
            .http
            .post(&gateway.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", &key)
            .header(
                "X-Otklik-Signature",
                crate::webhook::signature(gateway.secret.expose(), now, body.as_bytes()),
            )
            .body(body)
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => Sent::Ok,
            Ok(r) if r.status().is_client_error() && ![408, 429].contains(&r.status().as_u16()) => {
                Sent::Permanent(format!("gateway status {}", r.status().as_u16()))
            }
            Ok(r) => Sent::Transient(format!("gateway status {}", r.status().as_u16())),
            Err(e) if e.is_timeout() => Sent::Transient("gateway timeout".into()),
            Err(_) => Sent::Transient("gateway connection failed".into()),
        }
    }

    /// One e-mail for all of a person's waiting digest messages.
    async fn send_digest(
        &self,
        templates: &Templates,
        items: &[OutgoingNotification],
    ) -> Vec<(otklik_domain::NotificationId, Channel, SendOutcome)> {
        let outcome = self.digest_outcome(templates, items).await;
        items
            .iter()
            .map(|n| (n.id, n.channel, outcome.clone()))
            .collect()
    }

    async fn digest_outcome(
        &self,
        templates: &Templates,
        items: &[OutgoingNotification],
    ) -> SendOutcome {
        let (Some(first), Some(last)) = (items.first(), items.last()) else {
            return SendOutcome::Sent;
        };
        let Some(mailer) = &self.mailer else {
            return SendOutcome::Skipped {
                reason: "email_not_configured".into(),
            };
        };
        let mut entries = Vec::with_capacity(items.len());
        for n in items {
            let footer = self.footer(n.user, Unsubscribe::Kind(n.kind));
            match templates.render(n.kind.as_str(), &self.values(n), &footer) {
                Ok(r) => {
                    entries.push(json!({"subject": r.subject, "link": self.values(n)["link"]}))
                }
                Err(error) => {
                    return SendOutcome::Failed {
                        error: format!("template: {error}"),
                    }
                }
            }
        }
        let values = json!({
            "count": items.len(),
            "items": entries,
            "account_link": self.link("/account/notifications"),
        });
        // The digest's one-click link stops the digest: e-mail of every staff kind.
        let footer = self.footer(first.user, Unsubscribe::Digest);
        let rendered = match templates.render(templates::DIGEST, &values, &footer) {
            Ok(r) => r,
            Err(error) => {
                return SendOutcome::Failed {
                    error: format!("template: {error}"),
                }
            }
        };
        let attempts = items.iter().map(|n| n.attempts).max().unwrap_or(1);
        let sent = mailer
            .send(Outgoing {
                to: &first.email,
                message_id: format!(
                    "{}.email@{}",
                    first
                        .digest_id
                        .clone()
                        .unwrap_or_else(|| format!("d{}-{}", first.id.0, last.id.0)),
                    self.domain
                ),
                rendered: &rendered,
                unsubscribe_link: &footer.unsubscribe_link,
            })
            .await;
        self.outcome(sent, attempts)
    }

    /// Sends up to `limit` messages of a running campaign; returns how many it took.
    pub async fn campaign_pass(
        &self,
        campaign: &CampaignRecord,
        limit: u32,
    ) -> Result<usize, StoreError> {
        let lease = self.lease((limit as usize).div_ceil(CAMPAIGN_CONCURRENCY));
        let due = self
            .store
            .claim_campaign_messages(campaign.id, OffsetDateTime::now_utc(), lease, limit)
            .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let count = due.len();
        let template = templates::TemplateText {
            subject: campaign.subject.clone(),
            text: campaign.text_body.clone(),
            html: campaign.html_body.clone(),
        };
        // The body is the same for everyone: rendered once, each message adding its
        // recipient's footer and opening image.
        let values = json!({"account_link": self.link("/account/notifications")});
        let body = templates::render_body(&template, &values);
        let mut sends = Vec::with_capacity(due.len());
        for message in &due {
            sends.push(self.send_campaign_message(campaign, &body, message));
        }
        let outcomes: Vec<(UserId, SendOutcome)> = futures_util::stream::iter(sends)
            .buffer_unordered(CAMPAIGN_CONCURRENCY)
            .collect()
            .await;
        self.store
            .finish_campaign_messages(campaign.id, &outcomes, OffsetDateTime::now_utc())
            .await?;
        Ok(count)
    }

    async fn send_campaign_message(
        &self,
        campaign: &CampaignRecord,
        body: &Result<Rendered, String>,
        message: &OutgoingCampaignMessage,
    ) -> (UserId, SendOutcome) {
        (
            message.user,
            self.campaign_outcome(campaign, body, message).await,
        )
    }

    async fn campaign_outcome(
        &self,
        campaign: &CampaignRecord,
        body: &Result<Rendered, String>,
        message: &OutgoingCampaignMessage,
    ) -> SendOutcome {
        let Some(mailer) = &self.mailer else {
            return SendOutcome::Skipped {
                reason: "email_not_configured".into(),
            };
        };
        let footer = self.footer(message.user, Unsubscribe::Campaigns(campaign.id));
        let mut rendered = match body {
            Ok(body) => body.with_footer(&footer),
            Err(error) => {
                return SendOutcome::Failed {
                    error: format!("template: {error}"),
                }
            }
        };
        let open = self.link(&format!(
            "/n/open/{}",
            tokens::open_token(&self.key, campaign.id, message.user)
        ));
        rendered.html = rendered.html.replace(
            "</body>",
            &format!("<img src=\"{open}\" width=\"1\" height=\"1\" alt=\"\">\n</body>"),
        );
        let sent = mailer
            .send(Outgoing {
                to: &message.email,
                message_id: format!("c{}.u{}@{}", campaign.id.0, message.user.0, self.domain),
                rendered: &rendered,
                unsubscribe_link: &footer.unsubscribe_link,
            })
            .await;
        self.outcome(sent, message.attempts)
    }
}

/// Starts the worker (when enabled): the outbox and the campaigns, until aborted.
pub fn spawn(notifier: Arc<Notifier>) -> Option<tokio::task::JoinHandle<()>> {
    if !notifier.config.enabled {
        return None;
    }
    Some(tokio::spawn(async move {
        tokio::join!(outbox_loop(&notifier), campaign_loop(&notifier));
    }))
}

async fn outbox_loop(notifier: &Notifier) {
    let idle = Duration::from_millis(notifier.config.poll_interval_ms);
    loop {
        match notifier.notifications_pass().await {
            Ok(n) if n >= notifier.config.batch as usize => {}
            Ok(_) => tokio::time::sleep(idle).await,
            Err(e) => {
                tracing::warn!(code = e.code(), "notification pass failed: {e}");
                tokio::time::sleep(idle).await;
            }
        }
    }
}

/// Each second, every running campaign sends at most its rate.
async fn campaign_loop(notifier: &Notifier) {
    let second = Duration::from_secs(1);
    loop {
        let started = tokio::time::Instant::now();
        // Campaigns are e-mail: a node without a mail server leaves them to others.
        let campaigns = match notifier.mailer {
            Some(_) => notifier.store.running_campaigns().await,
            None => Ok(Vec::new()),
        };
        match campaigns {
            Ok(campaigns) => {
                for campaign in &campaigns {
                    let rate = u32::from(campaign.rate.per_second());
                    if let Err(e) = notifier.campaign_pass(campaign, rate).await {
                        tracing::warn!(
                            code = e.code(),
                            campaign = campaign.id.0,
                            "campaign pass failed: {e}"
                        );
                    }
                }
            }
            Err(e) => tracing::warn!(code = e.code(), "cannot read campaigns: {e}"),
        }
        tokio::time::sleep_until(started + second).await;
    }
}
