//! Social-media monitoring at run time (`docs/SOCIAL.md`): the classifier's model, the
//! connectors' pollers, the pipeline's workers and the publisher of answers.
//!
//! Two modes, one pipeline:
//! - **embedded** (the default): connectors and webhooks put posts into the database's
//!   inbox with their cursor in one transaction; a worker on every node analyses inbox
//!   rows and stores the result in the transaction that removes them.
//! - **nats**: connectors and webhooks publish posts to a JetStream stream (the post's
//!   source and id as `Nats-Msg-Id`, so a post published twice is stored once) and store
//!   the cursor once the broker acknowledged; any number of workers (`otklik social
//!   worker`, and every server) consume the stream as one durable consumer and acknowledge
//!   a message only after its result is stored.

use async_trait::async_trait;
use otklik_connectors::{Batch, ConnectorError, Poller, Publisher, Source};
use otklik_social::classify::{Featuriser, Model};
use otklik_social::pipeline::{Outcome, Pipeline};
use otklik_social::{Quarantined, RawPost, ReplyTarget};
use otklik_store::{AnalysedPost, IngestRules, Store};
use otklik_web::social::{PushedSource, SocialIntake, SocialSink, StoreSink};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// `[social]` in the settings file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SocialConfig {
    /// `embedded` or `nats`.
    pub mode: Mode,
    /// The NATS server (scale mode).
    pub nats_url: String,
    /// The JetStream stream (scale mode): its subject is `otklik.social.<stream>` and its
    /// durable consumer `<stream>-pipeline`. Installations sharing a NATS server need
    /// their own.
    pub nats_stream: String,
    /// Hours to the public answer's deadline.
    pub answer_hours: u32,
    /// Posts join an open incident of the same subcategory and place that saw a post
    /// within this many hours.
    pub cluster_hours: u32,
    /// Seconds between two polls of a source that had nothing more.
    pub poll_interval_secs: u64,
    /// A model file written by `otklik classify train`; default: trained from the corpus
    /// compiled in, when the first post arrives (embedded mode) or at start (NATS).
    pub model: Option<PathBuf>,
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Embedded,
    Nats,
}

impl Default for SocialConfig {
    fn default() -> Self {
        SocialConfig {
            mode: Mode::Embedded,
            nats_url: "nats://127.0.0.1:4222".to_owned(),
            nats_stream: "OTKLIK_POSTS".to_owned(),
            answer_hours: otklik_domain::social::DEFAULT_ANSWER_HOURS,
            cluster_hours: otklik_domain::social::DEFAULT_CLUSTER_HOURS,
            poll_interval_secs: 60,
            model: None,
            sources: Vec::new(),
        }
    }
}

impl SocialConfig {
    /// What the types alone cannot say.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=720).contains(&self.answer_hours) {
            return Err("[social] answer_hours must be 1–720".to_owned());
        }
        if !(1..=720).contains(&self.cluster_hours) {
            return Err("[social] cluster_hours must be 1–720".to_owned());
        }
        if self.nats_stream.is_empty()
            || self.nats_stream.len() > 64
            || !self
                .nats_stream
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        {
            return Err("[social] nats_stream: 1–64 of A–Z a–z 0–9 _ -".to_owned());
        }
        if !(1..=86_400).contains(&self.poll_interval_secs) {
            return Err("[social] poll_interval_secs must be 1–86400".to_owned());
        }
        let mut keys = std::collections::HashSet::new();
        for source in &self.sources {
            source.validate().map_err(|e| format!("[social] {e}"))?;
            if let Some(region) = source.region() {
                if otklik_domain::territory::federal_subject(region).is_none() {
                    return Err(format!(
                        "[social] source {}: unknown region {region}",
                        source.key()
                    ));
                }
            }
            if !keys.insert(source.key()) {
                return Err(format!("[social] source {} is listed twice", source.key()));
            }
        }
        Ok(())
    }

    pub fn rules(&self) -> IngestRules {
        IngestRules {
            answer_hours: self.answer_hours,
            cluster_hours: self.cluster_hours,
        }
    }

    /// Each source's region hint.
    fn hints(&self) -> HashMap<String, String> {
        self.sources
            .iter()
            .filter_map(|s| Some((s.key().to_owned(), s.region()?.to_owned())))
            .collect()
    }

    /// The sources that push to the web server, with their secrets.
    fn pushed(&self) -> HashMap<String, PushedSource> {
        use otklik_connectors::source::TelegramMode;
        self.sources
            .iter()
            .filter_map(|s| match s {
                Source::Webhook(w) => Some((
                    w.key.clone(),
                    PushedSource::Json {
                        secret: w.secret.clone(),
                    },
                )),
                Source::Telegram(t) if t.mode == TelegramMode::Webhook => Some((
                    t.key.clone(),
                    PushedSource::Telegram {
                        secret: t.secret.clone().unwrap_or_default(),
                    },
                )),
                _ => None,
            })
            .collect()
    }
}

// --- the model -----------------------------------------------------------------------------

/// The model trained from the embedded corpus, once per process.
static EMBEDDED_MODEL: OnceLock<Arc<Model>> = OnceLock::new();

/// Trains on the training split of the corpus compiled in (the split `classify eval`
/// measures, so the published figures describe exactly this model).
pub fn train_embedded() -> Result<Model, String> {
    let corpus = otklik_social::corpus::embedded().map_err(|e| e.to_string())?;
    let (train, _) = otklik_social::corpus::split(corpus);
    Model::train(&train).map_err(|e| e.to_string())
}

/// The configured model file; else one trained from the embedded corpus (0.6 s in a
/// release build), once per process. Not cached on disk: a cache would outlive an
/// upgrade that changed the corpus or the features.
pub fn load_model(configured: Option<&Path>) -> Result<Arc<Model>, String> {
    if let Some(path) = configured {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("cannot read the model {}: {e}", path.display()))?;
        return Model::from_bytes(&bytes)
            .map(Arc::new)
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    if let Some(model) = EMBEDDED_MODEL.get() {
        return Ok(model.clone());
    }
    let model = train_embedded()?;
    Ok(EMBEDDED_MODEL.get_or_init(|| Arc::new(model)).clone())
}

/// The embedded worker's pipeline, made when it is first needed. A configured model file
/// is read at start (a bad file stops the start); the model trained from the embedded
/// corpus waits for the first post: training takes 0.6 s of the start-up and its weights
/// 32 MB, which a node that receives no posts never needs.
#[derive(Clone)]
pub struct LazyPipeline(Arc<tokio::sync::OnceCell<Pipeline>>);

impl LazyPipeline {
    pub fn ready(pipeline: Pipeline) -> Self {
        LazyPipeline(Arc::new(tokio::sync::OnceCell::new_with(Some(pipeline))))
    }

    /// Trains from the embedded corpus at the first `get`.
    pub fn embedded() -> Self {
        LazyPipeline(Arc::new(tokio::sync::OnceCell::new()))
    }

    pub async fn get(&self) -> Result<&Pipeline, String> {
        self.0
            .get_or_try_init(|| async {
                let model = tokio::task::spawn_blocking(|| load_model(None))
                    .await
                    .map_err(|e| e.to_string())??;
                Ok(Pipeline::new(model))
            })
            .await
    }
}

// --- the pipeline ----------------------------------------------------------------------------

/// Runs the pipeline over posts (CPU work: call from a blocking thread).
pub fn analyse_all(
    pipeline: &Pipeline,
    hints: &HashMap<String, String>,
    posts: Vec<RawPost>,
) -> (Vec<AnalysedPost>, Vec<Quarantined>) {
    let mut scratch = Featuriser::default();
    let mut analysed = Vec::with_capacity(posts.len());
    let mut quarantined = Vec::new();
    for post in posts {
        let hint = hints.get(&post.source).map(String::as_str);
        match pipeline.analyse(&mut scratch, post, hint) {
            Outcome::Analysed(a) => analysed.push(to_store(*a)),
            Outcome::Quarantined(q) => quarantined.push(q),
        }
    }
    (analysed, quarantined)
}

fn to_store(a: otklik_social::pipeline::Analysed) -> AnalysedPost {
    let c = a.classification;
    AnalysedPost {
        text: a.normalised.text,
        language: a.normalised.language.as_str().to_owned(),
        relevant: c.relevant,
        category: c.category,
        subcategory: c.subcategory,
        confidence: c.confidence,
        sentiment: c.sentiment.as_str().to_owned(),
        urgent: c.urgent,
        region_code: a.location.as_ref().map(|l| l.region.clone()),
        place: a
            .location
            .as_ref()
            .filter(|l| l.kind != otklik_social::locate::PlaceKind::Region)
            .map(|l| l.place.clone()),
        location_confidence: a.location.as_ref().map(|l| l.confidence),
        exact: a.signature.exact,
        minhash: a.signature.minhash,
        post: a.post,
    }
}

/// Runs the pipeline on a blocking thread (it is CPU work) and adds the items that could
/// not even be read as posts to its quarantine.
async fn analyse_off_thread(
    pipeline: &Pipeline,
    hints: &Arc<HashMap<String, String>>,
    posts: Vec<RawPost>,
    unreadable: Vec<Quarantined>,
) -> Result<(Vec<AnalysedPost>, Vec<Quarantined>), String> {
    let (pipeline, hints) = (pipeline.clone(), hints.clone());
    let (analysed, mut quarantined) =
        tokio::task::spawn_blocking(move || analyse_all(&pipeline, &hints, posts))
            .await
            .map_err(|e| e.to_string())?;
    quarantined.extend(unreadable);
    Ok((analysed, quarantined))
}

/// The embedded worker: inbox rows → pipeline → store, until aborted.
fn spawn_inbox_worker(
    store: Arc<dyn Store>,
    pipeline: LazyPipeline,
    hints: Arc<HashMap<String, String>>,
    rules: IngestRules,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match inbox_pass(&store, &pipeline, &hints, rules).await {
                Ok(0) => tokio::time::sleep(Duration::from_millis(250)).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("social inbox pass failed: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    })
}

/// One batch from the inbox; how many rows it took.
pub async fn inbox_pass(
    store: &Arc<dyn Store>,
    pipeline: &LazyPipeline,
    hints: &Arc<HashMap<String, String>>,
    rules: IngestRules,
) -> Result<usize, String> {
    let items = store.social_inbox(256).await.map_err(|e| e.to_string())?;
    if items.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
    let mut posts = Vec::with_capacity(items.len());
    let mut broken = Vec::new();
    for item in items {
        match item.post {
            Ok(post) => posts.push(post),
            Err(why) => broken.push(Quarantined::new("inbox", None, "bad_shape", why.as_bytes())),
        }
    }
    let (analysed, quarantined) =
        analyse_off_thread(pipeline.get().await?, hints, posts, broken).await?;
    let report = store
        .social_ingest(
            &analysed,
            &quarantined,
            &ids,
            rules,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .map_err(|e| e.to_string())?;
    tracing::debug!(
        stored = report.stored,
        incidents = report.incidents_created,
        "social batch"
    );
    Ok(ids.len())
}

// --- NATS JetStream (scale mode) -------------------------------------------------------------

/// A JetStream stream of posts and the names around it.
#[derive(Clone)]
pub struct Broker {
    pub js: async_nats::jetstream::Context,
    pub stream: String,
    pub subject: String,
    pub consumer: String,
}

/// Connects and makes sure the stream exists (a work queue: a message leaves it when a
/// worker acknowledged it; a post published twice within two minutes is kept once).
pub async fn jetstream(url: &str, stream: &str) -> Result<Broker, String> {
    let client = async_nats::connect(url)
        .await
        .map_err(|e| format!("cannot connect to NATS at {url}: {e}"))?;
    let js = async_nats::jetstream::new(client);
    let broker = Broker {
        js,
        stream: stream.to_owned(),
        subject: format!("otklik.social.{}", stream.to_lowercase()),
        consumer: format!("{stream}-pipeline"),
    };
    broker
        .js
        .get_or_create_stream(async_nats::jetstream::stream::Config {
            name: broker.stream.clone(),
            subjects: vec![broker.subject.clone()],
            retention: async_nats::jetstream::stream::RetentionPolicy::WorkQueue,
            storage: async_nats::jetstream::stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot create the stream {stream}: {e}"))?;
    Ok(broker)
}

/// Publishes posts and stores what is not a post (quarantine, cursor) once the broker
/// acknowledged every post.
pub struct NatsSink {
    broker: Broker,
    store: Arc<dyn Store>,
}

impl NatsSink {
    pub fn new(broker: Broker, store: Arc<dyn Store>) -> Self {
        NatsSink { broker, store }
    }
}

#[async_trait]
impl SocialSink for NatsSink {
    async fn accept(&self, source: &str, batch: Batch) -> Result<u64, &'static str> {
        let mut acks = Vec::with_capacity(batch.posts.len());
        for post in &batch.posts {
            let body = serde_json::to_vec(post).map_err(|_| "bad_post")?;
            let message = async_nats::jetstream::message::PublishMessage::build()
                .payload(body.into())
                .message_id(format!("{}:{}", post.source, post.external_id));
            let ack = self
                .broker
                .js
                .send_publish(self.broker.subject.clone(), message)
                .await
                .map_err(|e| {
                    tracing::error!(source, "NATS publish failed: {e}");
                    "unavailable"
                })?;
            acks.push(ack);
        }
        let mut new = 0;
        for ack in acks {
            let ack = ack.await.map_err(|e| {
                tracing::error!(source, "NATS did not acknowledge: {e}");
                "unavailable"
            })?;
            new += u64::from(!ack.duplicate);
        }
        self.store
            .social_receive(
                source,
                &[],
                &batch.quarantined,
                batch.cursor.as_deref(),
                time::OffsetDateTime::now_utc(),
            )
            .await
            .map_err(|e| {
                tracing::error!(code = e.code(), source, "social cursor not stored: {e}");
                "unavailable"
            })?;
        Ok(new)
    }
}

/// A JetStream worker: fetches posts, analyses, stores, then acknowledges. A message
/// whose result could not be stored is not acknowledged, so it comes again.
pub fn spawn_nats_worker(
    broker: Broker,
    store: Arc<dyn Store>,
    pipeline: Pipeline,
    hints: Arc<HashMap<String, String>>,
    rules: IngestRules,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = nats_worker(&broker, &store, &pipeline, &hints, rules).await {
                tracing::warn!("social NATS worker: {e}; reconnecting");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    })
}

async fn nats_worker(
    broker: &Broker,
    store: &Arc<dyn Store>,
    pipeline: &Pipeline,
    hints: &Arc<HashMap<String, String>>,
    rules: IngestRules,
) -> Result<(), String> {
    use futures_util::StreamExt as _;
    let stream = broker
        .js
        .get_stream(&broker.stream)
        .await
        .map_err(|e| e.to_string())?;
    let consumer: async_nats::jetstream::consumer::PullConsumer = stream
        .get_or_create_consumer(
            &broker.consumer,
            async_nats::jetstream::consumer::pull::Config {
                durable_name: Some(broker.consumer.clone()),
                ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(60),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    loop {
        let mut batch = consumer
            .fetch()
            .max_messages(256)
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .map_err(|e| e.to_string())?;
        let mut messages = Vec::new();
        while let Some(message) = batch.next().await {
            messages.push(message.map_err(|e| e.to_string())?);
        }
        if messages.is_empty() {
            continue;
        }
        let mut posts = Vec::with_capacity(messages.len());
        let mut broken = Vec::new();
        for m in &messages {
            match serde_json::from_slice::<RawPost>(&m.payload) {
                Ok(post) => posts.push(post),
                Err(_) => broken.push(Quarantined::new("nats", None, "bad_shape", &m.payload)),
            }
        }
        let (analysed, quarantined) = analyse_off_thread(pipeline, hints, posts, broken).await?;
        store
            .social_ingest(
                &analysed,
                &quarantined,
                &[],
                rules,
                time::OffsetDateTime::now_utc(),
            )
            .await
            .map_err(|e| e.to_string())?;
        for m in messages {
            m.ack().await.map_err(|e| e.to_string())?;
        }
    }
}

// --- pollers and the publisher of answers ------------------------------------------------------

/// Polls one source for as long as this node holds its lease (renewed before each poll;
/// it outlasts the wait between polls, so a node that stops polling yields the source to
/// another within about two intervals and a minute).
fn spawn_poller(
    key: String,
    poller: Box<dyn Poller>,
    store: Arc<dyn Store>,
    sink: Arc<dyn SocialSink>,
    interval: Duration,
    holder: Arc<str>,
) -> tokio::task::JoinHandle<()> {
    let lease = interval.saturating_mul(2) + Duration::from_secs(60);
    tokio::spawn(async move {
        let mut failures = 0u32;
        loop {
            let now = time::OffsetDateTime::now_utc();
            match store.social_poll_lease(&key, &holder, now, lease).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!(source = %key, "another node polls this source");
                    tokio::time::sleep(interval).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(source = %key, "poll lease: {e}");
                    tokio::time::sleep(interval.min(Duration::from_secs(5))).await;
                    continue;
                }
            }
            let wait = match poll_once(&key, poller.as_ref(), &store, sink.as_ref()).await {
                Ok(true) => Duration::ZERO,
                Ok(false) => interval,
                Err(ConnectorError::RateLimited { retry_after }) => {
                    retry_after.max(Duration::from_secs(1))
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(source = %key, code = e.code(), "poll failed: {e}");
                    let _ = store
                        .social_poll_failed(&key, e.code(), time::OffsetDateTime::now_utc())
                        .await;
                    interval.min(Duration::from_secs(2u64.saturating_pow(failures.min(10))))
                }
            };
            if wait.is_zero() {
                failures = 0;
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(wait).await;
            }
        }
    })
}

/// One poll; `Ok(true)` when the platform has more right away.
async fn poll_once(
    key: &str,
    poller: &dyn Poller,
    store: &Arc<dyn Store>,
    sink: &dyn SocialSink,
) -> Result<bool, ConnectorError> {
    let cursor = store
        .social_cursor(key)
        .await
        .map_err(|e| ConnectorError::Transport(e.to_string()))?;
    let batch = match poller.poll(cursor.as_deref()).await {
        Err(ConnectorError::RateLimited { retry_after }) => {
            let _ = store
                .social_poll_failed(key, "rate_limited", time::OffsetDateTime::now_utc())
                .await;
            return Err(ConnectorError::RateLimited { retry_after });
        }
        other => other?,
    };
    let more = batch.more;
    sink.accept(key, batch)
        .await
        .map_err(|code| ConnectorError::Transport(code.to_owned()))?;
    Ok(more)
}

fn spawn_publisher(
    store: Arc<dyn Store>,
    publishers: Arc<HashMap<String, Box<dyn Publisher>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let jobs = store
                .social_claim_replies(
                    time::OffsetDateTime::now_utc(),
                    Duration::from_secs(120),
                    20,
                )
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(code = e.code(), "social replies not claimed: {e}");
                    Vec::new()
                });
            if jobs.is_empty() {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            for job in jobs {
                publish_one(&store, &publishers, job).await;
            }
        }
    })
}

/// Attempts before a reply is given up (the incident stays answered on the portal).
const MAX_REPLY_ATTEMPTS: u32 = 8;

async fn publish_one(
    store: &Arc<dyn Store>,
    publishers: &HashMap<String, Box<dyn Publisher>>,
    job: otklik_store::ReplyJob,
) {
    let now = time::OffsetDateTime::now_utc();
    let outcome = match (
        publishers.get(&job.source),
        serde_json::from_str::<ReplyTarget>(&job.target),
    ) {
        (None, _) => Err(("no_publisher", None)),
        (_, Err(_)) => Err(("bad_target", None)),
        (Some(publisher), Ok(target)) => match publisher.publish(&target, &job.text).await {
            Ok(id) => Ok(id),
            Err(ConnectorError::RateLimited { retry_after }) => Err((
                "rate_limited",
                Some(
                    now + time::Duration::seconds(
                        i64::try_from(retry_after.as_secs()).unwrap_or(60).max(1),
                    ),
                ),
            )),
            Err(e @ ConnectorError::Refused { .. }) => Err((e.code(), None)),
            Err(e) => {
                let backoff = 2i64.saturating_pow(job.attempts.min(12)).min(3600);
                let retry = (job.attempts + 1 < MAX_REPLY_ATTEMPTS)
                    .then(|| now + time::Duration::seconds(backoff));
                Err((e.code(), retry))
            }
        },
    };
    let stored = match outcome {
        Ok(id) => store.social_reply_sent(job.id, &id, now).await,
        Err((code, retry)) => {
            tracing::warn!(source = %job.source, incident = job.incident_id, code, "answer not published");
            store.social_reply_failed(job.id, code, retry).await
        }
    };
    if let Err(e) = stored {
        tracing::warn!(code = e.code(), "reply state not stored: {e}");
    }
}

// --- start-up --------------------------------------------------------------------------------

/// The running parts.
pub struct Running {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub fn stop(self) {
        self.tasks.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

/// Loads the model (in embedded mode the one trained from the corpus waits for the first
/// post), connects to NATS in scale mode, builds the connectors and starts the workers,
/// the pollers and the publisher; returns what the web server needs.
pub async fn start(
    config: &SocialConfig,
    store: Arc<dyn Store>,
) -> Result<(SocialIntake, Running), String> {
    let pipeline = match (&config.model, config.mode) {
        (None, Mode::Embedded) => LazyPipeline::embedded(),
        (configured, _) => {
            let configured = configured.clone();
            let model = tokio::task::spawn_blocking(move || load_model(configured.as_deref()))
                .await
                .map_err(|e| e.to_string())??;
            LazyPipeline::ready(Pipeline::new(model))
        }
    };
    let js = match config.mode {
        Mode::Nats => Some(jetstream(&config.nats_url, &config.nats_stream).await?),
        Mode::Embedded => None,
    };
    let sink: Arc<dyn SocialSink> = match &js {
        Some(js) => Arc::new(NatsSink::new(js.clone(), store.clone())),
        None => Arc::new(StoreSink(store.clone())),
    };
    let client = otklik_connectors::http_client().map_err(|e| e.to_string())?;
    let mut pollers = Vec::new();
    let mut publishers = HashMap::new();
    for source in &config.sources {
        if let Some(poller) =
            otklik_connectors::build_poller(source, &client).map_err(|e| e.to_string())?
        {
            pollers.push((source.key().to_owned(), poller));
        }
        if let Some(publisher) =
            otklik_connectors::build_publisher(source, &client).map_err(|e| e.to_string())?
        {
            publishers.insert(source.key().to_owned(), publisher);
        }
    }
    let intake = SocialIntake {
        pushed: config.pushed(),
        sink: sink.clone(),
    };
    let hints = Arc::new(config.hints());
    let rules = config.rules();
    let interval = Duration::from_secs(config.poll_interval_secs);
    let mut tasks = vec![match js {
        Some(js) => spawn_nats_worker(
            js,
            store.clone(),
            pipeline.get().await?.clone(),
            hints,
            rules,
        ),
        None => spawn_inbox_worker(store.clone(), pipeline, hints, rules),
    }];
    // This process's name on the sources it polls.
    let holder: Arc<str> = format!("node-{:016x}", rand::random::<u64>()).into();
    for (key, poller) in pollers {
        tasks.push(spawn_poller(
            key,
            poller,
            store.clone(),
            sink.clone(),
            interval,
            holder.clone(),
        ));
    }
    tasks.push(spawn_publisher(store, Arc::new(publishers)));
    Ok((intake, Running { tasks }))
}

/// A worker-only process (scale mode): consumes the stream until a signal.
pub async fn run_worker(config: &SocialConfig, store: Arc<dyn Store>) -> Result<(), String> {
    let model = load_model(config.model.as_deref())?;
    let broker = jetstream(&config.nats_url, &config.nats_stream).await?;
    let worker = spawn_nats_worker(
        broker,
        store,
        Pipeline::new(model),
        Arc::new(config.hints()),
        config.rules(),
    );
    let _ = tokio::signal::ctrl_c().await;
    worker.abort();
    Ok(())
}
