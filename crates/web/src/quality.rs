//! The service-quality feed (seed 7¹ ¶2, `docs/QUALITY_FEED.md`): opinions on the federal
//! quality-monitoring scale as versioned JSON records, pulled with a cursor
//! (`GET /api/v1/quality-feed`) or pushed to the configured endpoint with retries. Each
//! record has a stable id; the push's cursor moves only after the receiver took a batch,
//! so nothing is lost across restarts, and a batch sent again carries the same ids.

use otklik_domain::quality::{Criterion, MAPPING_VERSION};
use otklik_store::{OpinionSource, QualityOpinion, QualityPage, Store};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::config::Secret;

/// Where an opinion comes from (`source`), and its id's prefix.
fn source(source: OpinionSource) -> (&'static str, &'static str) {
    match source {
        OpinionSource::AnswerRating => ("answer_rating", "otklik-rating"),
        OpinionSource::SocialPost => ("social_post", "otklik-post"),
    }
}

/// The push: where and how (`[quality_feed]` in the settings file). No URL: pull only.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct QualityFeedConfig {
    /// The receiving system's endpoint (`POST`, JSON).
    pub push_url: Option<String>,
    /// Signs each push (`X-Otklik-Signature`, as organisations' pushes) when set.
    pub secret: Option<Secret>,
    /// Opinions per push (1–1000).
    pub batch: u32,
    pub poll_interval_ms: u64,
    pub timeout_seconds: u64,
    pub retry_base_seconds: u64,
    pub retry_max_seconds: u64,
}

impl Default for QualityFeedConfig {
    fn default() -> Self {
        Self {
            push_url: None,
            secret: None,
            batch: 100,
            poll_interval_ms: 2_000,
            timeout_seconds: 10,
            retry_base_seconds: 5,
            retry_max_seconds: 3_600,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionRef {
    /// ISO 3166-2, e.g. `RU-TVE`.
    pub iso: String,
    /// The first-level OKATO code.
    pub okato: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganisationRef {
    pub id: i64,
    pub name: String,
}

/// The service: the platform's subcategory within its category.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceRef {
    pub id: i64,
    pub name: String,
    pub category_id: i64,
    pub category: String,
}

/// Scores 1–5 on the five federal criteria; `null`: the opinion does not express it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CriteriaRecord {
    pub service_time: Option<u8>,
    pub waiting_time: Option<u8>,
    pub staff_courtesy_competence: Option<u8>,
    pub premises_comfort: Option<u8>,
    pub information_availability: Option<u8>,
}

/// One opinion. No personal data: no author, no free text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpinionRecord {
    /// Stable across pulls and pushes: a receiver keeps each id once
    /// (`otklik-rating-<event>`, `otklik-post-<post>`).
    pub id: String,
    /// The mapping's version (`2`).
    pub version: String,
    /// `answer_rating`: a citizen's rating of an answer; `social_post`: a post about the
    /// service found by social-media monitoring. A receiver should accept sources it does
    /// not know yet.
    pub source: String,
    /// RFC 3339, UTC.
    pub observed_at: String,
    /// The log index it was read at (a pull's cursor just after it is `cursor + 1`). The
    /// posts routed together (by one ingest batch, or by one staff action on an incident)
    /// share that entry's index.
    pub cursor: u64,
    pub region: RegionRef,
    pub organisation: OrganisationRef,
    pub service: ServiceRef,
    /// The rating, 1–5; for a post, from its sentiment (negative 2, positive 4).
    pub overall: u8,
    pub criteria: CriteriaRecord,
}

/// A page of the feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedPage {
    /// The record format's version (`2`).
    pub version: String,
    /// Ask again from here. A page with fewer opinions than `limit` may still not reach
    /// the end (a page stops after a bounded scan of entries without opinions): the end is
    /// where `next_cursor` stops moving.
    pub next_cursor: u64,
    pub opinions: Vec<OpinionRecord>,
}

pub fn record(opinion: &QualityOpinion) -> OpinionRecord {
    let score = |c: Criterion| opinion.criteria.get(c);
    let (source, prefix) = source(opinion.source);
    OpinionRecord {
        id: format!("{prefix}-{}", opinion.source_id),
        version: MAPPING_VERSION.to_owned(),
        source: source.to_owned(),
        observed_at: crate::api::rfc3339(opinion.at),
        cursor: opinion.cursor,
        region: RegionRef {
            iso: opinion.subject.region_code.clone(),
            okato: opinion.subject.region_okato.clone(),
        },
        organisation: OrganisationRef {
            id: opinion.subject.org_id,
            name: opinion.subject.org_name.clone(),
        },
        service: ServiceRef {
            id: opinion.subject.subcategory_id,
            name: opinion.subject.subcategory_name.clone(),
            category_id: opinion.subject.category_id,
            category: opinion.subject.category_name.clone(),
        },
        overall: opinion.overall,
        criteria: CriteriaRecord {
            service_time: score(Criterion::ServiceTime),
            waiting_time: score(Criterion::WaitingTime),
            staff_courtesy_competence: score(Criterion::StaffCourtesyCompetence),
            premises_comfort: score(Criterion::PremisesComfort),
            information_availability: score(Criterion::InformationAvailability),
        },
    }
}

pub fn page(page: &QualityPage) -> FeedPage {
    FeedPage {
        version: MAPPING_VERSION.to_owned(),
        next_cursor: page.next_cursor,
        opinions: page.opinions.iter().map(record).collect(),
    }
}

/// The push body: the records from `from_cursor`, and where the next batch starts.
#[derive(Debug, Serialize)]
struct PushBody<'a> {
    version: &'a str,
    from_cursor: u64,
    next_cursor: u64,
    opinions: Vec<OpinionRecord>,
}

/// Starts the push when an endpoint is configured. Any node may run it: the cursor row
/// is leased to one at a time.
pub fn spawn_pusher(
    store: Arc<dyn Store>,
    config: QualityFeedConfig,
) -> Option<tokio::task::JoinHandle<()>> {
    let url = config.push_url.clone()?;
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(config.timeout_seconds.max(1)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("otklik/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "the quality feed cannot build its HTTP client");
            return None;
        }
    };
    Some(tokio::spawn(async move {
        let idle = Duration::from_millis(config.poll_interval_ms.max(10));
        loop {
            match push_once(store.as_ref(), &client, &url, &config).await {
                Ok(true) => {}
                Ok(false) => tokio::time::sleep(idle).await,
                Err(e) => {
                    tracing::warn!(code = e.code(), "quality feed push not made: {e}");
                    tokio::time::sleep(idle).await;
                }
            }
        }
    }))
}

/// One push: claims the cursor, sends what follows it, records the outcome. `true` when
/// a full batch went out (there may be more at once).
pub async fn push_once(
    store: &dyn Store,
    client: &reqwest::Client,
    url: &str,
    config: &QualityFeedConfig,
) -> Result<bool, otklik_store::StoreError> {
    // Look before leasing: an idle pass takes no lease (and no write lock), so a node
    // stopped between passes leaves nothing held for the next start to wait out.
    let state = store.quality_push_state().await?;
    if state.next_attempt_at > OffsetDateTime::now_utc().unix_timestamp() {
        return Ok(false);
    }
    let ahead = store.quality_opinions(state.next_cursor, 1).await?;
    if ahead.opinions.is_empty() && ahead.next_cursor <= state.next_cursor {
        return Ok(false);
    }
    let lease = Duration::from_secs(config.timeout_seconds.max(1) * 3);
    let Some((from, attempts)) = store
        .quality_push_claim(OffsetDateTime::now_utc(), lease)
        .await?
    else {
        return Ok(false);
    };
    let batch = config.batch.clamp(1, 1_000);
    let found = store.quality_opinions(from, batch).await?;
    if found.opinions.is_empty() {
        // Nothing to tell: move past the other entries without a request.
        store.quality_push_done(from, found.next_cursor, 0).await?;
        return Ok(false);
    }
    let body = PushBody {
        version: MAPPING_VERSION,
        from_cursor: from,
        next_cursor: found.next_cursor,
        opinions: found.opinions.iter().map(record).collect(),
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        // The key names the exact range, so a retry that carries more opinions (new ones
        // arrived meanwhile) is not dropped by a receiver that deduplicates by key.
        .header(
            "Idempotency-Key",
            format!("otklik-quality-{from}-{}", found.next_cursor),
        );
    if let Some(secret) = &config.secret {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        request = request.header(
            "X-Otklik-Signature",
            otklik_notify::webhook::signature(secret.expose(), now, &bytes),
        );
    }
    let outcome = match request.body(bytes).send().await {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(format!("http_{}", response.status().as_u16())),
        Err(e) if e.is_timeout() => Err("timeout".to_owned()),
        Err(_) => Err("unreachable".to_owned()),
    };
    match outcome {
        Ok(()) => {
            let delivered = body.opinions.len() as u64;
            store
                .quality_push_done(from, found.next_cursor, delivered)
                .await?;
            Ok(delivered >= u64::from(batch))
        }
        Err(code) => {
            let delay = otklik_domain::delivery::retry_delay(
                attempts.saturating_add(1),
                Duration::from_secs(config.retry_base_seconds.max(1)),
                Duration::from_secs(config.retry_max_seconds.max(1)),
                rand::random::<f64>(),
            );
            tracing::warn!(code = %code, attempts = attempts + 1, "quality feed push failed");
            let retry_at = OffsetDateTime::now_utc() + delay;
            store.quality_push_failed(from, &code, retry_at).await?;
            Ok(false)
        }
    }
}

// --- the push's state, for people and monitors ------------------------------------------

/// Pages of the feed read at most to count what waits after the push's cursor.
const PENDING_PAGES: usize = 4;

/// The push as the operator's console and `GET /api/v1/quality-feed/push` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PushStatus {
    /// `off` (no endpoint configured: pull only), `up_to_date`, `delivering` (opinions
    /// wait and the last attempt did not fail) or `failing` (retried after
    /// `next_attempt_at`).
    pub state: &'static str,
    /// The receiver's scheme, host and port; never its path, query or credentials.
    pub receiver: Option<String>,
    /// The log index the next push starts from.
    pub next_cursor: u64,
    /// The transparency log's size: the push is done when its cursor gets there.
    pub log_size: u64,
    /// Opinions the receiver accepted, in all.
    pub delivered: u64,
    /// Failed attempts since the last accepted push.
    pub attempts: u32,
    /// The last failure's code (`http_503`, `timeout`, `unreachable`), while failing.
    pub last_error: Option<String>,
    /// When the next attempt is made (RFC 3339), while failing.
    pub next_attempt_at: Option<String>,
    /// Opinions waiting after the cursor, counted up to a bound (`pending_exact` false
    /// when more may wait).
    pub pending: u64,
    pub pending_exact: bool,
}

/// The push's state now. Counting what waits reads a few pages of the feed at most.
pub async fn push_status(
    store: &dyn Store,
    config: &QualityFeedConfig,
    now: OffsetDateTime,
) -> Result<PushStatus, otklik_store::StoreError> {
    let state = store.quality_push_state().await?;
    let log_size = store.log_info().await?.size;
    let (mut pending, mut cursor, mut pages) = (0u64, state.next_cursor, 0);
    while cursor < log_size && pages < PENDING_PAGES {
        let page = store.quality_opinions(cursor, 1_000).await?;
        pending += page.opinions.len() as u64;
        pages += 1;
        if page.next_cursor <= cursor {
            break;
        }
        cursor = page.next_cursor;
    }
    let failing = state.last_error.is_some() && state.attempts > 0;
    let retry_at = OffsetDateTime::from_unix_timestamp(state.next_attempt_at)
        .ok()
        .filter(|at| failing && *at > now);
    Ok(PushStatus {
        state: match (&config.push_url, failing, pending) {
            (None, _, _) => "off",
            (Some(_), true, _) => "failing",
            (Some(_), false, 0) => "up_to_date",
            (Some(_), false, _) => "delivering",
        },
        receiver: config.push_url.as_deref().and_then(receiver_of),
        next_cursor: state.next_cursor,
        log_size,
        delivered: state.delivered,
        attempts: state.attempts,
        last_error: state.last_error.filter(|_| failing),
        next_attempt_at: retry_at.and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        }),
        pending,
        pending_exact: cursor >= log_size,
    })
}

/// `scheme://host[:port]` of a URL: enough to tell which receiver, nothing secret.
fn receiver_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

#[cfg(test)]
mod push_status_tests {
    use super::receiver_of;

    #[test]
    fn the_receiver_is_shown_without_path_query_or_credentials() {
        assert_eq!(
            receiver_of("https://user:pw@ias.example.ru:8443/in/opinions?token=s3cret").as_deref(),
            Some("https://ias.example.ru:8443")
        );
        assert_eq!(
            receiver_of("http://127.0.0.1/x").as_deref(),
            Some("http://127.0.0.1")
        );
        assert_eq!(receiver_of("not a url"), None);
    }
}
