//! The Otklik domain: what a submission is, who may do what to it, and when it is due.
//!
//! Invariants kept here:
//! - no I/O, no async, no HTTP, no SQL; time is always passed in;
//! - every value that crosses into the domain is parsed into a type that can only hold
//!   a valid value (`SubmissionText`, `Email`, `Attachment`, …);
//! - [`lifecycle::decide`] is the single authority on which status transitions are legal
//!   and who may make them.

pub mod access;
pub mod analytics;
pub mod answer_template;
pub mod attachment;
pub mod calendar;
pub mod delivery;
pub mod discussion;
pub mod document;
pub mod error;
pub mod form;
pub mod ids;
pub mod image_metadata;
pub mod lifecycle;
pub mod merge;
pub mod notify;
pub mod poll;
pub mod quality;
pub mod social;
pub mod suppression;
pub mod territory;
pub mod text;

pub use error::{FieldError, ValidationErrors};
pub use ids::*;
