//! Social-media monitoring on the web side (requirement S1, `docs/SOCIAL.md`): the
//! webhooks through which Telegram and partners push posts, the sink the posts go to
//! (the embedded inbox, or NATS JetStream in scale mode — the binary chooses), and what
//! the queue pages and the API share: reach, views, commands.

use async_trait::async_trait;
use otklik_connectors::Batch;
use otklik_domain::lifecycle::Role;
use otklik_domain::social::{can_view, DismissReason, IncidentScope, IncidentStatus};
use otklik_domain::{OrgId, RegionId};
use otklik_store::{SocialCommand, SocialIncident, SocialQuery, Store};
use std::collections::HashMap;
use std::sync::Arc;

use crate::error::AppError;

/// Where received posts go.
#[async_trait]
pub trait SocialSink: Send + Sync {
    /// Accepts a batch durably (stored, or acknowledged by the broker) before answering;
    /// returns how many posts were new. The error is a code.
    async fn accept(&self, source: &str, batch: Batch) -> Result<u64, &'static str>;
}

/// The embedded mode: the batch goes to the store's inbox.
pub struct StoreSink(pub Arc<dyn Store>);

#[async_trait]
impl SocialSink for StoreSink {
    async fn accept(&self, source: &str, batch: Batch) -> Result<u64, &'static str> {
        self.0
            .social_receive(
                source,
                &batch.posts,
                &batch.quarantined,
                batch.cursor.as_deref(),
                time::OffsetDateTime::now_utc(),
            )
            .await
            .map_err(|e| {
                tracing::error!(code = e.code(), source, "social batch not stored: {e}");
                "unavailable"
            })
    }
}

/// How a pushed source proves itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushedSource {
    /// Telegram's `X-Telegram-Bot-Api-Secret-Token`.
    Telegram { secret: String },
    /// The generic webhook's `Authorization: Bearer …`.
    Json { secret: String },
}

/// The sources that push to this server, and where their posts go.
#[derive(Clone)]
pub struct SocialIntake {
    pub pushed: HashMap<String, PushedSource>,
    pub sink: Arc<dyn SocialSink>,
}

impl SocialIntake {
    /// No pushed sources; posts (if any) into the store's inbox.
    pub fn embedded(store: Arc<dyn Store>) -> Self {
        SocialIntake {
            pushed: HashMap::new(),
            sink: Arc::new(StoreSink(store)),
        }
    }
}

/// Which incidents a role's queue holds.
pub fn reach(role: Role) -> Result<(Option<RegionId>, Option<OrgId>), AppError> {
    otklik_domain::access::check_role(role, otklik_domain::access::Capability::ReadSocial)?;
    Ok(match role {
        Role::Coordinator(region) => (Some(region), None),
        Role::Official(org) => (None, Some(org)),
        _ => (None, None),
    })
}

/// The queue's query for `role` with the filters asked for.
pub fn query_for(
    role: Role,
    status: Option<&str>,
    overdue: bool,
    limit: u32,
    offset: u32,
) -> Result<SocialQuery, AppError> {
    let (region, org) = reach(role)?;
    let status = match status.filter(|s| !s.is_empty()) {
        None => None,
        Some("all") => None,
        Some(s) => Some(
            IncidentStatus::parse(s).ok_or_else(|| AppError::field("status", "unknown_value"))?,
        ),
    };
    Ok(SocialQuery {
        status,
        region,
        org,
        overdue,
        limit,
        offset,
    })
}

pub fn scope_of(incident: &SocialIncident) -> IncidentScope {
    IncidentScope {
        status: incident.status,
        region: incident.region,
        org: incident.org,
    }
}

/// `NotFound` unless `role` may see the incident (nobody learns what exists elsewhere).
pub fn check_view(role: Role, incident: &SocialIncident) -> Result<(), AppError> {
    reach(role)?;
    if can_view(role, &scope_of(incident)) {
        Ok(())
    } else {
        Err(AppError::not_found())
    }
}

/// A command from a form or a JSON body: `action` and its one parameter.
pub fn command(
    action: &str,
    text: Option<&str>,
    reason: Option<&str>,
    org: Option<&str>,
    into: Option<&str>,
    posts: &[String],
) -> Result<SocialCommand, AppError> {
    let number = |field: &str, raw: Option<&str>| -> Result<i64, AppError> {
        raw.map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| AppError::field(field, "required"))?
            .trim_start_matches('№')
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| AppError::field(field, "not_a_number"))
    };
    match action {
        "answer" => {
            let text = text.map(str::trim).unwrap_or("");
            if text.is_empty() {
                return Err(AppError::field("text", "required"));
            }
            if text.chars().count() > otklik_domain::social::MAX_ANSWER_CHARS {
                return Err(AppError::field("text", "too_long"));
            }
            Ok(SocialCommand::Answer {
                text: text.to_owned(),
            })
        }
        "dismiss" => {
            let reason = reason
                .filter(|r| !r.is_empty())
                .ok_or_else(|| AppError::field("reason", "required"))?;
            let reason = DismissReason::parse(reason)
                .ok_or_else(|| AppError::field("reason", "unknown_value"))?;
            Ok(SocialCommand::Dismiss { reason })
        }
        "reroute" => Ok(SocialCommand::Reroute {
            org: OrgId(number("organisation", org)?),
        }),
        "merge" => Ok(SocialCommand::Merge {
            into: number("into", into)?,
        }),
        "split" => {
            if posts.is_empty() {
                return Err(AppError::field("posts", "required"));
            }
            let posts = posts
                .iter()
                .map(|p| number("posts", Some(p)))
                .collect::<Result<Vec<_>, _>>()?;
            if posts.len() > 500 {
                return Err(AppError::field("posts", "too_long"));
            }
            Ok(SocialCommand::Split { posts })
        }
        _ => Err(AppError::field("action", "unknown_value")),
    }
}
