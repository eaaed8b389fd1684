//! One post through the whole pipeline: normalise, sign, classify, locate. The caller
//! stores the result; duplicates and clusters are decided against what is stored.

use crate::classify::{Classification, Featuriser, Model};
use crate::locate::{Gazetteer, Location};
use crate::post::{Quarantined, RawPost};
use crate::signature::Signature;
use crate::text::{normalise, Normalised, MAX_TEXT_BYTES};
use std::sync::Arc;

/// A post after the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysed {
    pub post: RawPost,
    pub normalised: Normalised,
    pub signature: Signature,
    pub classification: Classification,
    pub location: Option<Location>,
}

/// What became of a post.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Analysed(Box<Analysed>),
    Quarantined(Quarantined),
}

/// The pipeline's fixed parts, shared by every worker thread.
#[derive(Clone)]
pub struct Pipeline {
    model: Arc<Model>,
    gazetteer: &'static Gazetteer,
}

impl Pipeline {
    pub fn new(model: Arc<Model>) -> Pipeline {
        Pipeline {
            model,
            gazetteer: Gazetteer::embedded(),
        }
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Analyses `post`; `hint` is the source's configured region (ISO code), if any.
    /// Oversized or unreadable posts are quarantined with a reason, never dropped.
    pub fn analyse(&self, scratch: &mut Featuriser, post: RawPost, hint: Option<&str>) -> Outcome {
        if post.text.len() > MAX_TEXT_BYTES {
            return Outcome::Quarantined(Quarantined::new(
                &post.source,
                Some(post.external_id.clone()),
                "too_large",
                post.text.as_bytes(),
            ));
        }
        let normalised = match normalise(&post.text) {
            Ok(n) => n,
            Err(why) => {
                return Outcome::Quarantined(Quarantined::new(
                    &post.source,
                    Some(post.external_id.clone()),
                    why.code(),
                    post.text.as_bytes(),
                ))
            }
        };
        let signature = Signature::of(&normalised.text);
        let classification = self
            .model
            .classify(scratch, &normalised.text, &normalised.emoji);
        let location = self.gazetteer.locate(&normalised.text, hint);
        Outcome::Analysed(Box::new(Analysed {
            post,
            normalised,
            signature,
            classification,
            location,
        }))
    }
}
