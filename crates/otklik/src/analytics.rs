//! The analytics follower (keeps the cells in step with the transparency log) and
//! `otklik analytics rebuild`.

use otklik_store::Store;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

use crate::AppError;

/// Log leaves per follower transaction: small enough that a batch holds SQLite's write
/// lock for a few milliseconds, large enough to catch up quickly.
const BATCH: u32 = 500;

/// Follows the log every `interval` (at once again while there is more to read). Any
/// node may run it: the follower's state row serialises them.
pub fn spawn_follower(store: Arc<dyn Store>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match store
                .analytics_follow(BATCH, OffsetDateTime::now_utc())
                .await
            {
                Ok(outcome) if outcome.leaves >= u64::from(BATCH) => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(code = e.code(), "analytics not updated: {e}"),
            }
            tokio::time::sleep(interval).await;
        }
    })
}

/// Empties the cells and counts everything again from the start of the log, showing
/// progress; returns how many events and incidents were counted.
pub async fn rebuild(store: &dyn Store) -> Result<u64, AppError> {
    store.analytics_reset(OffsetDateTime::now_utc()).await?;
    let total = store.analytics_position().await?.log_size;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} log entries ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut counted = 0;
    loop {
        let outcome = store
            .analytics_follow(BATCH * 20, OffsetDateTime::now_utc())
            .await?;
        counted += outcome.counted;
        bar.set_position(outcome.cursor);
        if outcome.leaves == 0 {
            break;
        }
    }
    bar.finish();
    Ok(counted)
}
