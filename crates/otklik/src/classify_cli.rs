//! `otklik classify`: train the social-media classifier, evaluate it on the held-out
//! split, and classify posts from standard input (one per line, one JSON object out per
//! line, in the same order).

use clap::Subcommand;
use otklik_social::classify::{evaluate, ClassScore, Evaluation, Featuriser, Model};
use otklik_social::corpus::{self, Example};
use otklik_social::pipeline::{Outcome, Pipeline};
use otklik_social::{Platform, RawPost, ReplyTarget};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum ClassifyCommand {
    /// Train on the training split of the corpus and write the model.
    Train {
        /// A directory of `*.jsonl` files instead of the corpus compiled in.
        #[arg(long)]
        corpus: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Precision, recall and F1 per class on the held-out split (never trained on).
    Eval {
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// A model written by `train`; default: train one now on the training split.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Reads one post per line on stdin; prints one JSON object per line.
    Text {
        #[arg(long)]
        model: Option<PathBuf>,
        /// The source's region (ISO 3166-2 code), used when the text names no place.
        #[arg(long)]
        region: Option<String>,
    },
}

pub fn run(command: ClassifyCommand) -> Result<ExitCode, String> {
    match command {
        ClassifyCommand::Train { corpus, out } => {
            let (train, held_out) = corpus::split(load_corpus(corpus.as_deref())?);
            let model = Model::train(&train).map_err(|e| e.to_string())?;
            std::fs::write(&out, model.to_bytes())
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            println!(
                "trained on {} posts ({} held out), {} classes; written to {}",
                train.len(),
                held_out.len(),
                model.labels().len(),
                out.display()
            );
        }
        ClassifyCommand::Eval { corpus, model } => {
            let (train, held_out) = corpus::split(load_corpus(corpus.as_deref())?);
            let model = match model {
                Some(path) => read_model(&path)?,
                None => Model::train(&train).map_err(|e| e.to_string())?,
            };
            print!("{}", report(&evaluate(&model, train.len(), &held_out)));
        }
        ClassifyCommand::Text { model, region } => {
            let model = match model {
                Some(path) => read_model(&path)?,
                None => crate::social::train_embedded()?,
            };
            classify_lines(Arc::new(model), region.as_deref())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn load_corpus(dir: Option<&Path>) -> Result<Vec<Example>, String> {
    let Some(dir) = dir else {
        return corpus::embedded().map_err(|e| e.to_string());
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.jsonl files in {}", dir.display()));
    }
    let mut all = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        all.extend(corpus::parse(&file.display().to_string(), &text).map_err(|e| e.to_string())?);
    }
    Ok(all)
}

fn read_model(path: &Path) -> Result<Model, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Model::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn table(title: &str, scores: &[ClassScore]) -> String {
    let mut out = format!(
        "\n{title}\n{:<42} {:>7} {:>9} {:>7} {:>7}\n",
        "class", "support", "precision", "recall", "F1"
    );
    for s in scores {
        out.push_str(&format!(
            "{:<42} {:>7} {:>9.3} {:>7.3} {:>7.3}\n",
            s.class, s.support, s.precision, s.recall, s.f1
        ));
    }
    out.push_str(&format!(
        "{:<42} {:>7} {:>9} {:>7} {:>7.3}\n",
        "macro average",
        scores.iter().map(|s| s.support).sum::<usize>(),
        "",
        "",
        Evaluation::macro_f1(scores)
    ));
    out
}

/// The evaluation as text tables.
pub fn report(e: &Evaluation) -> String {
    let mut out = format!(
        "trained on {} posts, evaluated on {} held-out posts (never trained on)\n",
        e.trained_on, e.held_out
    );
    out.push_str(&table("Relevance", &e.relevance));
    out.push_str(&table(
        "Category («—» = not about a public body)",
        &e.categories,
    ));
    out.push_str(&table("Subcategory", &e.subcategories));
    out
}

/// One output line per input line, in order.
fn classify_lines(model: Arc<Model>, region: Option<&str>) -> Result<(), String> {
    let pipeline = Pipeline::new(model);
    let mut scratch = Featuriser::default();
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", n + 1))?;
        let post = RawPost {
            source: "stdin".to_owned(),
            platform: Platform::Webhook,
            external_id: (n + 1).to_string(),
            url: None,
            text: line,
            published_at: 0,
            reply: ReplyTarget::None,
        };
        let json = match pipeline.analyse(&mut scratch, post, region) {
            Outcome::Analysed(a) => serde_json::json!({
                "relevant": a.classification.relevant,
                "category": a.classification.category,
                "subcategory": a.classification.subcategory,
                "region": a.location.as_ref().map(|l| l.region.clone()),
                "place": a.location.as_ref().map(|l| l.place.clone()),
                "confidence": (f64::from(a.classification.confidence) * 1000.0).round() / 1000.0,
                "sentiment": a.classification.sentiment.as_str(),
                "urgent": a.classification.urgent,
            }),
            Outcome::Quarantined(q) => serde_json::json!({
                "relevant": false,
                "category": null,
                "subcategory": null,
                "region": null,
                "confidence": 0.0,
                "error": q.reason,
            }),
        };
        writeln!(out, "{json}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}
