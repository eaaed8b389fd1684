//! The text pipeline of social-media monitoring (requirement S1): what happens to a post
//! between a connector and an incident. Pure functions and data, no I/O, so the same code
//! runs in the embedded worker, in a NATS consumer and in the benchmark.
//!
//! - [`post`]: the post as every connector hands it over ([`RawPost`]) and what a
//!   connector could not read ([`Quarantined`]).

pub mod post;

pub use post::{Platform, Quarantined, RawPost, ReplyTarget};
