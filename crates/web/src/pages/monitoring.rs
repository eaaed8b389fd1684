//! Monitoring pages: the incident register, regional summaries, and the help for staff.

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
