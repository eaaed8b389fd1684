//! The operator's console: routing rules, organisations, catalogue and forms, deadline policies, calendars, and the record of changes.

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
