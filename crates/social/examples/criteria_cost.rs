//! The cost of the quality feed's criteria model (`otklik_social::criteria`): training
//! time, the model's memory and bytes, and the time to decide one text (model and stems,
//! as the feed does), over every text of its corpus. A command, not a test:
//!
//! ```sh
//! cargo run --release -p otklik-social --example criteria_cost
//! ```

use otklik_social::classify::Featuriser;
use otklik_social::criteria::{self, CriteriaModel};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let all = criteria::embedded()?;
    let (train, _) = criteria::split(all.clone());
    let started = Instant::now();
    let model = CriteriaModel::train(&train);
    let trained = started.elapsed();
    println!(
        "trained on {} texts in {:.1} ms; {} features, {} KiB in memory, {} KiB as bytes",
        train.len(),
        trained.as_secs_f64() * 1e3,
        model.len(),
        model.heap_bytes() / 1024,
        model.to_bytes().len() / 1024,
    );
    let mut featuriser = Featuriser::default();
    let rounds = 50;
    let mut found = 0usize;
    let started = Instant::now();
    for _ in 0..rounds {
        for e in &all {
            found += model
                .expressed(&mut featuriser, &e.text)
                .iter()
                .filter(|x| **x)
                .count();
        }
    }
    let elapsed = started.elapsed();
    let texts = rounds * all.len();
    let mean_chars = all.iter().map(|e| e.text.chars().count()).sum::<usize>() / all.len();
    println!(
        "decided {texts} texts (mean {mean_chars} characters) in {:.1} ms: {:.1} µs a text \
         ({found} criteria found)",
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e6 / texts as f64,
    );
    let started = Instant::now();
    let mut stems = 0usize;
    for _ in 0..rounds {
        for e in &all {
            stems += otklik_domain::quality::stem_criteria(&e.text)
                .iter()
                .filter(|x| **x)
                .count();
        }
    }
    let elapsed = started.elapsed();
    println!(
        "the stems alone: {:.1} µs a text ({stems} criteria found)",
        elapsed.as_secs_f64() * 1e6 / texts as f64,
    );
    Ok(())
}
