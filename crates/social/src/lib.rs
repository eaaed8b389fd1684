//! The text pipeline of social-media monitoring (requirement S1): what happens to a post
//! between a connector and an incident. Pure functions and data, no I/O, so the same code
//! runs in the embedded worker, in a NATS consumer and in the benchmark.
//!
//! - [`post`]: the post as every connector hands it over ([`RawPost`]) and what a
//!   connector could not read ([`Quarantined`]).
//! - [`text`]: normalisation (links, emoji, control characters, language).
//! - [`signature`]: exact and MinHash signatures for duplicates and near duplicates.
//! - [`corpus`]: the labelled posts kept in the repository, and the held-out split.
//! - [`classify`]: the Russian classifier (relevance, category, subcategory, sentiment,
//!   urgency) and its evaluation.
//! - [`criteria`]: which of the federal quality criteria a text speaks to (the quality
//!   feed's mapping, version 2), its corpus and its evaluation against the stems.
//! - [`locate`]: the gazetteer of Russian places and the locator (the place a post is
//!   about, declined names, ambiguous words, districts, the source's region as a hint).
//! - [`pipeline`]: all of the above for one post, in one call.

pub mod classify;
pub mod corpus;
pub mod criteria;
pub mod locate;
pub mod pipeline;

pub mod post;
pub mod signature;
pub mod text;

pub use post::{Platform, Quarantined, RawPost, ReplyTarget};
