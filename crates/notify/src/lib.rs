//! Notifications and campaigns leave the platform here: the templates (shipped in
//! Russian, editable by the operator), e-mail over SMTP, the SMS/push gateway webhook,
//! the links that work without signing in (one-click unsubscribe, campaign opens), and
//! the worker that empties the outbox the store writes in each event's transaction.
//!
//! Invariants kept here:
//! - a message keeps one identifier across retries (`Message-ID`, `Idempotency-Key`), so
//!   the at-least-once sending is deduplicable by the receiver;
//! - no personal data in messages beyond the recipient's own address: templates see only
//!   the registration number, category, organisation, deadline and links;
//! - every e-mail carries a working one-click unsubscribe link (RFC 8058), which the
//!   operator's templates cannot remove.

pub mod config;
pub mod email;
pub mod templates;
pub mod tokens;
pub mod webhook;
pub mod worker;

pub use config::{NotifyConfig, Secret};
pub use worker::Notifier;
