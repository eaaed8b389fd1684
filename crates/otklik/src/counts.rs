//! Folds the kept list counts (`Store::compact_counts`) every second, so that a list
//! page's total reads a few rows per scope however many writes came since.

use otklik_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Runs on every node; folding is safe from several nodes at once.
pub fn spawn_compactor(store: Arc<dyn Store>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = store.compact_counts().await {
                tracing::warn!(code = e.code(), "list counts not folded: {e}");
            }
            tokio::time::sleep(interval).await;
        }
    })
}
