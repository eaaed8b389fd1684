//! The monitor of timing and quality (seed clause 18): a background task that warns
//! before deadlines and records a procedure incident for every breach.

use std::sync::Arc;
use std::time::Duration;

use otklik_store::Store;

/// How the monitor runs.
#[derive(Debug, Clone, Copy)]
pub struct MonitorConfig {
    /// One pass every this often.
    pub interval: Duration,
    /// Warn this many working days before a deadline.
    pub warn_working_days: u32,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            warn_working_days: 1,
        }
    }
}

/// Runs a pass every `interval` until aborted; a failed pass is logged and retried at the
/// next tick (every pass starts from what the database says, so nothing is lost).
pub fn spawn(store: Arc<dyn Store>, config: MonitorConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(config.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match store
                .monitor(time::OffsetDateTime::now_utc(), config.warn_working_days)
                .await
            {
                Ok(report) if report.incidents > 0 || report.warnings > 0 => tracing::info!(
                    incidents = report.incidents,
                    warnings = report.warnings,
                    "monitor pass"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(code = e.code(), "monitor pass failed: {e}"),
            }
            // Social-media incidents past their public answer's term.
            match store.social_monitor(time::OffsetDateTime::now_utc()).await {
                Ok(0) => {}
                Ok(breaches) => tracing::info!(breaches, "social incidents overdue"),
                Err(e) => tracing::warn!(code = e.code(), "social incidents not checked: {e}"),
            }
            // Signing routes whose deadline passed end as expired (their authors are told).
            match store
                .expire_documents(time::OffsetDateTime::now_utc())
                .await
            {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "signing routes expired"),
                Err(e) => tracing::warn!(code = e.code(), "signing routes not expired: {e}"),
            }
            if let Err(e) = store.optimize().await {
                tracing::warn!(code = e.code(), "planner statistics not refreshed: {e}");
            }
        }
    })
}
