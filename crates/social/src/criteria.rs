//! Which of the federal quality criteria (ИАС МКГУ: time to provide the service, waiting
//! time in the queue, courtesy and competence of staff, comfort of premises, availability
//! of information) a citizen's text speaks to — a rating's comment or a post — for the
//! service-quality feed's mapping, version 2 (`docs/QUALITY_FEED.md`).
//!
//! Multi-label: one binary logistic regression per criterion over the classifier's own
//! hashed features ([`Featuriser`]: Snowball stems, stem bigrams, character 4-grams that
//! survive typos) and one feature per criterion whose version-1 stems occur in the text,
//! trained by averaged stochastic gradient descent with a fixed seed from the labelled
//! corpus compiled in (`data/criteria/*.jsonl`), so every node trains the same model, byte
//! for byte, and the same model bytes always give the same answer. A criterion is
//! expressed when its probability is above its threshold ([`THRESHOLDS`]).
//!
//! The model does not replace the stems of version 1 (`otklik_domain::quality::
//! stem_criteria`) wholesale: each criterion has a [`Rule`] — the stems, the model, or
//! either of them. The thresholds and the rules are chosen by 5-fold cross-validation on
//! the training split ([`choose_thresholds`], [`choose_rules`]) and fixed in constants that
//! a test keeps equal to that choice; the held-out split measures the result
//! ([`evaluate`]). The domain turns the decision ([`Expressed`]) into scores and reads no
//! model.

use crate::classify::{ClassScore, Featuriser};
use crate::corpus::{is_held_out, CorpusError};
use crate::signature::mix;
use crate::text::{normalise, words};
use otklik_domain::quality::{stem_criteria, Criterion, Expressed};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::sync::OnceLock;

/// Buckets of the featuriser's hashed features (its `DIM_BITS`).
const DIM_BITS: u32 = 18;
const DIM: usize = 1 << DIM_BITS;

/// Training's settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params {
    epochs: usize,
    rate: f32,
    decay: f32,
    /// Class weights: 0 none, 1 positives and negatives weigh the same in total.
    balance: f32,
    l2: f32,
    stems: bool,
    /// A text's features count `1 / count^length_power` each (the classifier's is 0.5).
    length_power: f32,
}

impl Params {
    /// What 5-fold cross-validation on the training split preferred (the ignored test
    /// `tune` prints the grid).
    const DEFAULT: Params = Params {
        epochs: 30,
        rate: 0.25,
        decay: 0.5,
        balance: 1.0,
        l2: 0.0,
        stems: true,
        length_power: 0.25,
    };
}
const SEED: u64 = 0x0c71_7e71_a5ee_d002;
/// The probabilities [`choose_thresholds`] tries.
const THRESHOLD_CHOICES: [f32; 6] = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
const FORMAT: &str = "otklik-criteria-1";
const N: usize = Criterion::ALL.len();

/// How version 2 decides whether a text expresses one criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    /// Version 1's word stems alone.
    Stems,
    /// The trained model alone.
    Model,
    /// The model or the stems.
    Either,
}

impl Rule {
    pub const ALL: [Rule; 3] = [Rule::Stems, Rule::Model, Rule::Either];

    fn apply(self, stems: bool, model: bool) -> bool {
        match self {
            Rule::Stems => stems,
            Rule::Model => model,
            Rule::Either => stems || model,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Stems => "stems",
            Rule::Model => "model",
            Rule::Either => "either",
        }
    }
}

/// The model says a criterion is expressed when its probability is above its threshold,
/// in [`Criterion::ALL`]'s order: what 5-fold cross-validation on the training split
/// chose for the model alone ([`choose_thresholds`]; a test keeps the two equal).
pub const THRESHOLDS: [f32; N] = [0.3, 0.6, 0.4, 0.4, 0.3];

/// The rule of each criterion, in [`Criterion::ALL`]'s order: what 5-fold
/// cross-validation on the training split chose ([`choose_rules`]; a test keeps the two
/// equal, so a change of the corpus or the features that changes the choice is seen).
pub const RULES: [Rule; N] = [
    Rule::Model,
    Rule::Model,
    Rule::Either,
    Rule::Either,
    Rule::Either,
];

/// The criteria corpus files compiled in: (file name, contents).
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "offices.jsonl",
        include_str!("../data/criteria/offices.jsonl"),
    ),
    (
        "health.jsonl",
        include_str!("../data/criteria/health.jsonl"),
    ),
    (
        "housing-transport.jsonl",
        include_str!("../data/criteria/housing-transport.jsonl"),
    ),
    ("posts.jsonl", include_str!("../data/criteria/posts.jsonl")),
    (
        "comments.jsonl",
        include_str!("../data/criteria/comments.jsonl"),
    ),
];

/// One labelled text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriteriaExample {
    pub text: String,
    /// What it expresses, in [`Criterion::ALL`]'s order.
    pub criteria: Expressed,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    text: String,
    criteria: Vec<String>,
}

/// Parses one JSON Lines file of `{"text": …, "criteria": ["waiting_time", …]}`; blank
/// lines are skipped. Codes: `bad_json`, `empty_text`, `unknown_criterion`,
/// `repeated_criterion`.
pub fn parse(file: &str, text: &str) -> Result<Vec<CriteriaExample>, CorpusError> {
    let mut examples = Vec::new();
    for (number, parsed) in crate::corpus::json_lines(file, text, |l: &Line| &l.text)? {
        let mut criteria = [false; N];
        for name in &parsed.criteria {
            let at = Criterion::ALL
                .iter()
                .position(|c| c.as_str() == name)
                .ok_or_else(|| CorpusError::at(file, number, "unknown_criterion", name.clone()))?;
            if criteria[at] {
                return Err(CorpusError::at(
                    file,
                    number,
                    "repeated_criterion",
                    name.clone(),
                ));
            }
            criteria[at] = true;
        }
        examples.push(CriteriaExample {
            text: parsed.text,
            criteria,
        });
    }
    Ok(examples)
}

/// Every embedded file, parsed.
pub fn embedded() -> Result<Vec<CriteriaExample>, CorpusError> {
    let mut all = Vec::new();
    for (file, text) in EMBEDDED {
        all.extend(parse(file, text)?);
    }
    Ok(all)
}

/// (training, held-out): the classifier corpus's split ([`is_held_out`]), about one text
/// in five, the same on every run.
pub fn split(examples: Vec<CriteriaExample>) -> (Vec<CriteriaExample>, Vec<CriteriaExample>) {
    examples.into_iter().partition(|e| !is_held_out(&e.text))
}

/// The text the model reads: normalised as the pipeline stores a post (links and emoji
/// out); a comment too short or too odd to normalise is read as it is.
fn readable(raw: &str) -> String {
    match normalise(raw) {
        Ok(n) => n.text,
        Err(_) => raw.to_owned(),
    }
}

/// The trained model: for every feature seen in training, its five weights (sorted by
/// feature, searched by bisection), and five biases.
#[derive(Debug, Clone, PartialEq)]
pub struct CriteriaModel {
    /// Whether the stems' features are read.
    stems: bool,
    /// How a text's length scales its features.
    length_power: f32,
    features: Vec<u32>,
    weights: Vec<[f32; N]>,
    bias: [f32; N],
}

#[derive(Debug, thiserror::Error)]
#[error("not a criteria model: {0}")]
pub struct BadModel(String);

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

impl CriteriaModel {
    /// Trains on `examples`, deterministically. Each criterion's positives and negatives
    /// weigh as much in total (most texts express no given criterion).
    pub fn train(examples: &[CriteriaExample]) -> CriteriaModel {
        Self::train_with(examples, &Params::DEFAULT)
    }

    pub(crate) fn train_with(examples: &[CriteriaExample], params: &Params) -> CriteriaModel {
        let mut featuriser = Featuriser::default();
        let data: Vec<(Vec<u32>, Expressed)> = examples
            .iter()
            .map(|e| {
                (
                    features_of(&mut featuriser, &e.text, params.stems),
                    e.criteria,
                )
            })
            .collect();
        let total = data.len().max(1) as f32;
        let mut class_weight = [[1.0f32; 2]; N];
        for (c, w) in class_weight.iter_mut().enumerate() {
            let positives = data.iter().filter(|(_, y)| y[c]).count();
            let negatives = data.len() - positives;
            *w = [
                (total / (2.0 * negatives.max(1) as f32)).powf(params.balance),
                (total / (2.0 * positives.max(1) as f32)).powf(params.balance),
            ];
        }
        let mut weights = vec![[0.0f32; N]; DIM];
        let mut bias = [0.0f32; N];
        // Averaged SGD, as the classifier's: `sum` holds each update times its step.
        let mut sum = vec![[0.0f32; N]; DIM];
        let mut sum_bias = [0.0f32; N];
        let mut step_count: f32 = 1.0;
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut rng = SEED;
        for epoch in 0..params.epochs {
            shuffle(&mut order, &mut rng);
            let rate = params.rate / (1.0 + epoch as f32 * params.decay);
            for &i in &order {
                let (features, target) = &data[i];
                let scale = scale_of(features.len(), params.length_power);
                if params.l2 > 0.0 {
                    for f in features {
                        for w in weights[*f as usize].iter_mut() {
                            *w *= 1.0 - rate * params.l2;
                        }
                    }
                }
                let mut z = bias;
                for f in features {
                    for (z, w) in z.iter_mut().zip(&weights[*f as usize]) {
                        *z += w * scale;
                    }
                }
                for c in 0..N {
                    let y = target[c];
                    let gradient = f32::from(u8::from(y)) - sigmoid(z[c]);
                    let step = rate * gradient * class_weight[c][usize::from(y)];
                    bias[c] += step * 0.1;
                    sum_bias[c] += step * 0.1 * step_count;
                    for f in features {
                        weights[*f as usize][c] += step * scale;
                        sum[*f as usize][c] += step * scale * step_count;
                    }
                }
                step_count += 1.0;
            }
        }
        for (row, updates) in weights.iter_mut().zip(&sum) {
            for (w, u) in row.iter_mut().zip(updates) {
                *w -= u / step_count;
            }
        }
        for (b, u) in bias.iter_mut().zip(&sum_bias) {
            *b -= u / step_count;
        }
        if data.is_empty() {
            // A model that has seen nothing says nothing (not «maybe» everywhere).
            bias = [-16.0; N];
        }
        let mut model = CriteriaModel {
            stems: params.stems,
            length_power: params.length_power,
            features: Vec::new(),
            weights: Vec::new(),
            bias,
        };
        for (index, row) in weights.into_iter().enumerate() {
            if row.iter().any(|w| *w != 0.0) {
                model.features.push(index as u32);
                model.weights.push(row);
            }
        }
        model
    }

    /// The probability of each criterion for a (raw) text; 0 for a text without words
    /// (no comment), which expresses nothing.
    pub fn probabilities(&self, featuriser: &mut Featuriser, text: &str) -> [f32; N] {
        let features = features_of(featuriser, text, self.stems);
        if features.is_empty() {
            return [0.0; N];
        }
        let scale = scale_of(features.len(), self.length_power);
        let mut z = self.bias;
        for f in &features {
            if let Ok(at) = self.features.binary_search(f) {
                for (z, w) in z.iter_mut().zip(&self.weights[at]) {
                    *z += w * scale;
                }
            }
        }
        z.map(sigmoid)
    }

    /// What the model alone says a text expresses (at [`THRESHOLDS`]).
    pub fn predict(&self, featuriser: &mut Featuriser, text: &str) -> Expressed {
        above(self.probabilities(featuriser, text), &THRESHOLDS)
    }

    /// What version 2 says a text expresses: each criterion by its [`RULES`] entry.
    pub fn expressed(&self, featuriser: &mut Featuriser, text: &str) -> Expressed {
        combine(&RULES, stem_criteria(text), self.predict(featuriser, text))
    }

    /// The memory the model holds: its feature indices and weights.
    pub fn heap_bytes(&self) -> usize {
        self.features.capacity() * std::mem::size_of::<u32>()
            + self.weights.capacity() * std::mem::size_of::<[f32; N]>()
    }

    /// The features the model knows.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The model as bytes: a JSON header line (format, criteria, biases), then each
    /// feature's index and five weights, little-endian, in feature order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::json!({
            "format": FORMAT,
            "dim_bits": DIM_BITS,
            "criteria": Criterion::ALL.map(Criterion::as_str),
            "bias": self.bias,
            "stems": self.stems,
            "length_power": self.length_power,
        });
        let mut out = header.to_string().into_bytes();
        out.push(b'\n');
        for (index, row) in self.features.iter().zip(&self.weights) {
            out.extend_from_slice(&index.to_le_bytes());
            row.iter()
                .for_each(|w| out.extend_from_slice(&w.to_le_bytes()));
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<CriteriaModel, BadModel> {
        let bad = |why: &str| BadModel(why.to_owned());
        let newline = bytes
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| bad("no header"))?;
        #[derive(Deserialize)]
        struct Header {
            format: String,
            dim_bits: u32,
            criteria: Vec<String>,
            bias: [f32; N],
            stems: bool,
            length_power: f32,
        }
        let header: Header =
            serde_json::from_slice(&bytes[..newline]).map_err(|e| bad(&e.to_string()))?;
        if header.format != FORMAT
            || header.dim_bits != DIM_BITS
            || header.criteria != Criterion::ALL.map(Criterion::as_str)
        {
            return Err(bad("unknown format"));
        }
        let body = &bytes[newline + 1..];
        let row_bytes = 4 + 4 * N;
        if body.len() % row_bytes != 0 {
            return Err(bad("truncated rows"));
        }
        let mut model = CriteriaModel {
            stems: header.stems,
            length_power: header.length_power,
            features: Vec::with_capacity(body.len() / row_bytes),
            weights: Vec::with_capacity(body.len() / row_bytes),
            bias: header.bias,
        };
        for row in body.chunks(row_bytes) {
            let index = u32::from_le_bytes([row[0], row[1], row[2], row[3]]);
            if index as usize >= DIM || model.features.last().is_some_and(|last| *last >= index) {
                return Err(bad("feature indices out of range or order"));
            }
            let mut weights = [0.0f32; N];
            for (w, b) in weights.iter_mut().zip(row[4..].chunks(4)) {
                *w = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
            model.features.push(index);
            model.weights.push(weights);
        }
        Ok(model)
    }
}

/// The text's features: the featuriser's, and one per criterion whose stems of version 1
/// it contains (so the model can learn how far to trust them).
fn features_of(featuriser: &mut Featuriser, raw: &str, with_stems: bool) -> Vec<u32> {
    let text = readable(raw);
    let mut features = featuriser.features(&text, &[]).to_vec();
    if with_stems && !features.is_empty() {
        for (c, hit) in stem_criteria(raw).into_iter().enumerate() {
            if hit {
                features.push(STEM_FEATURE + c as u32);
            }
        }
        features.sort_unstable();
        features.dedup();
    }
    features
}

/// The buckets of the stem features (the featuriser's hashes may share them: a
/// collision only adds a little noise, as any other).
const STEM_FEATURE: u32 = (DIM - 8) as u32;

fn scale_of(features: usize, power: f32) -> f32 {
    (features.max(1) as f32).powf(-power)
}

fn above(probabilities: [f32; N], thresholds: &[f32; N]) -> Expressed {
    std::array::from_fn(|c| probabilities[c] > thresholds[c])
}

fn combine(rules: &[Rule; N], stems: Expressed, model: Expressed) -> Expressed {
    std::array::from_fn(|c| rules[c].apply(stems[c], model[c]))
}

/// Fisher–Yates with xorshift64*, as the classifier's.
fn shuffle(order: &mut [usize], state: &mut u64) {
    for i in (1..order.len()).rev() {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        order.swap(i, (r % (i as u64 + 1)) as usize);
    }
}

/// The model trained from the training split of the embedded corpus, once per process
/// (the split [`evaluate`] is measured on, so the published figures describe this model).
/// Never read from a file: the feed's records must be the same on every node.
pub fn embedded_model() -> &'static CriteriaModel {
    static MODEL: OnceLock<CriteriaModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        // The corpus's own test rules a parse error out; an empty model would find
        // nothing, and the stems of the `Either` rules would still decide.
        let (train, _) = split(embedded().unwrap_or_default());
        CriteriaModel::train(&train)
    })
}

/// What version 2 says `text` expresses, by the embedded model (trained at the first
/// call) and [`RULES`].
pub fn expressed(text: &str) -> Expressed {
    thread_local! {
        static FEATURISER: RefCell<Featuriser> = RefCell::new(Featuriser::default());
    }
    let model = embedded_model();
    FEATURISER.with(|f| model.expressed(&mut f.borrow_mut(), text))
}

/// Per-criterion scores of the three rules and of the adopted ones ([`RULES`]) on
/// held-out texts. Each list has the five criteria in [`Criterion::ALL`]'s order, then
/// `any` (whether a text expresses at least one criterion, which decides whether a post
/// is an opinion at all; not counted in [`CriteriaEvaluation::macro_f1`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriteriaEvaluation {
    pub trained_on: usize,
    pub held_out: usize,
    /// Held-out texts that express no criterion.
    pub held_out_none: usize,
    pub stems: Vec<ClassScore>,
    pub model: Vec<ClassScore>,
    pub either: Vec<ClassScore>,
    pub adopted: Vec<ClassScore>,
}

impl CriteriaEvaluation {
    /// The mean F1 of the five criteria (not `any`).
    pub fn macro_f1(scores: &[ClassScore]) -> f64 {
        scores.iter().take(N).map(|s| s.f1).sum::<f64>() / N as f64
    }
}

/// For each text: what it expresses, what the stems say, the model's probabilities.
type Decided = (Expressed, Expressed, [f32; N]);

fn decisions(model: &CriteriaModel, texts: &[CriteriaExample]) -> Vec<Decided> {
    let mut featuriser = Featuriser::default();
    texts
        .iter()
        .map(|e| {
            (
                e.criteria,
                stem_criteria(&e.text),
                model.probabilities(&mut featuriser, &e.text),
            )
        })
        .collect()
}

/// The scores of `rules` at `thresholds` over decided texts.
fn scores_of(decided: &[Decided], rules: &[Rule; N], thresholds: &[f32; N]) -> Vec<ClassScore> {
    let pairs: Vec<(Expressed, Expressed)> = decided
        .iter()
        .map(|(e, s, p)| (*e, combine(rules, *s, above(*p, thresholds))))
        .collect();
    binary_scores(&pairs)
}

/// Precision, recall and F1 of each criterion and of `any`.
fn binary_scores(pairs: &[(Expressed, Expressed)]) -> Vec<ClassScore> {
    let names = Criterion::ALL.map(Criterion::as_str);
    let score = |class: &str, of: &dyn Fn(&Expressed) -> bool| {
        let (mut tp, mut expected, mut predicted) = (0usize, 0usize, 0usize);
        for (e, g) in pairs {
            let (e, g) = (of(e), of(g));
            tp += usize::from(e && g);
            expected += usize::from(e);
            predicted += usize::from(g);
        }
        ClassScore::of_counts(class, tp, expected, predicted)
    };
    let mut scores: Vec<ClassScore> = (0..N)
        .map(|c| score(names[c], &|x: &Expressed| x[c]))
        .collect();
    scores.push(score("any", &|x: &Expressed| x.contains(&true)));
    scores
}

/// Evaluates `model` (trained on `trained_on` texts) on `held_out`.
pub fn evaluate(
    model: &CriteriaModel,
    trained_on: usize,
    held_out: &[CriteriaExample],
) -> CriteriaEvaluation {
    let decided = decisions(model, held_out);
    let by = |rules: [Rule; N]| scores_of(&decided, &rules, &THRESHOLDS);
    CriteriaEvaluation {
        trained_on,
        held_out: held_out.len(),
        held_out_none: held_out
            .iter()
            .filter(|e| !e.criteria.contains(&true))
            .count(),
        stems: by([Rule::Stems; N]),
        model: by([Rule::Model; N]),
        either: by([Rule::Either; N]),
        adopted: by(RULES),
    }
}

/// The training split's texts decided by 5-fold cross-validation: each fold's texts by
/// a model trained on the other four. The folds are the quotient of the held-out hash
/// (whose remainder the training split shares); the held-out split is never looked at.
pub fn cross_validated(train: &[CriteriaExample]) -> Vec<Decided> {
    cross_validated_with(train, &Params::DEFAULT)
}

fn cross_validated_with(train: &[CriteriaExample], params: &Params) -> Vec<Decided> {
    const FOLDS: u64 = 5;
    let fold_of = |e: &CriteriaExample| {
        let joined: Vec<String> = words(&e.text).collect();
        (mix(joined.join(" ").as_bytes()) / 5) % FOLDS
    };
    let mut decided = Vec::with_capacity(train.len());
    for fold in 0..FOLDS {
        let (rest, test): (Vec<CriteriaExample>, Vec<CriteriaExample>) =
            train.iter().cloned().partition(|e| fold_of(e) != fold);
        let model = CriteriaModel::train_with(&rest, params);
        decided.extend(decisions(&model, &test));
    }
    decided
}

/// Each criterion's threshold for the model alone: the one of [`THRESHOLD_CHOICES`] with
/// the best F1 over cross-validated texts; on a tie the one nearest 0.5.
pub fn choose_thresholds(decided: &[Decided]) -> [f32; N] {
    let mut best = [0.5f32; N];
    let mut best_f1 = [-1.0f64; N];
    let mut by_distance = THRESHOLD_CHOICES;
    by_distance.sort_by(|a, b| {
        (a - 0.5)
            .abs()
            .total_cmp(&(b - 0.5).abs())
            .then(a.total_cmp(b))
    });
    for t in by_distance {
        let scores = scores_of(decided, &[Rule::Model; N], &[t; N]);
        for c in 0..N {
            if scores[c].f1 > best_f1[c] + 1e-9 {
                best_f1[c] = scores[c].f1;
                best[c] = t;
            }
        }
    }
    best
}

/// Each criterion's [`Rule`] given the model's `thresholds`: the one with the best F1
/// over cross-validated texts; on a tie the simpler, in [`Rule::ALL`]'s order (stems
/// first). Returns the rules and, per criterion, each rule's F1.
pub fn choose_rules(decided: &[Decided], thresholds: &[f32; N]) -> ([Rule; N], [[f64; 3]; N]) {
    let mut f1 = [[0.0f64; 3]; N];
    for (r, rule) in Rule::ALL.into_iter().enumerate() {
        for (c, score) in scores_of(decided, &[rule; N], thresholds)
            .iter()
            .take(N)
            .enumerate()
        {
            f1[c][r] = score.f1;
        }
    }
    let rules = std::array::from_fn(|c| {
        let mut best = 0;
        for r in 1..Rule::ALL.len() {
            if f1[c][r] > f1[c][best] + 1e-9 {
                best = r;
            }
        }
        Rule::ALL[best]
    });
    (rules, f1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_parses_and_bad_lines_are_named() {
        let all = embedded().unwrap();
        assert!(all.len() >= 600, "{} texts", all.len());
        let none = all.iter().filter(|e| !e.criteria.contains(&true)).count();
        assert!(none * 5 >= all.len(), "{none} texts without a criterion");
        for c in 0..N {
            let support = all.iter().filter(|e| e.criteria[c]).count();
            assert!(support >= 50, "{}: {support}", Criterion::ALL[c].as_str());
        }
        let err = parse("x.jsonl", "\n{\"text\": 1}").unwrap_err();
        assert_eq!((err.line, err.code), (2, "bad_json"));
        let err = parse("x.jsonl", r#"{"text":"a","criteria":["queue"]}"#).unwrap_err();
        assert_eq!(err.code, "unknown_criterion");
        let err = parse(
            "x.jsonl",
            r#"{"text":"a","criteria":["waiting_time","waiting_time"]}"#,
        )
        .unwrap_err();
        assert_eq!(err.code, "repeated_criterion");
        let err = parse("x.jsonl", r#"{"text":" ","criteria":[]}"#).unwrap_err();
        assert_eq!(err.code, "empty_text");
    }

    #[test]
    fn no_text_is_labelled_twice() {
        let all = embedded().unwrap();
        let mut seen = std::collections::HashSet::new();
        for e in &all {
            let key: Vec<String> = words(&e.text).collect();
            assert!(seen.insert(key.join(" ")), "twice: {}", e.text);
        }
    }

    #[test]
    fn training_is_deterministic_and_the_bytes_round_trip() {
        let (train, _) = split(embedded().unwrap());
        let a = CriteriaModel::train(&train[..200]);
        let b = CriteriaModel::train(&train[..200]);
        assert_eq!(a.to_bytes(), b.to_bytes());
        let c = CriteriaModel::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(c, a);
        let mut f = Featuriser::default();
        let text = "очередь три часа, сотрудники хамят";
        assert_eq!(c.probabilities(&mut f, text), a.probabilities(&mut f, text));
        assert!(CriteriaModel::from_bytes(b"junk").is_err());
        let mut cut = a.to_bytes();
        cut.truncate(cut.len() - 3);
        assert!(CriteriaModel::from_bytes(&cut).is_err());
    }

    #[test]
    fn an_empty_model_finds_nothing_and_the_stems_still_count() {
        let model = CriteriaModel::train(&[]);
        let mut f = Featuriser::default();
        assert_eq!(model.predict(&mut f, "огромная очередь"), [false; N]);
        // No words, no criterion, whatever the biases.
        let trained = embedded_model();
        for nothing in ["", "   ", "!!!", "👍👍"] {
            assert_eq!(trained.predict(&mut f, nothing), [false; N], "{nothing:?}");
            assert_eq!(expressed(nothing), [false; N], "{nothing:?}");
        }
        assert_eq!(
            combine(
                &[Rule::Either; N],
                stem_criteria("огромная очередь"),
                [false; N]
            ),
            [false, true, false, false, false]
        );
    }

    /// Clear cases, in words the stems of version 1 do not know.
    #[test]
    fn the_model_reads_clear_cases() {
        let model = embedded_model();
        let mut f = Featuriser::default();
        const T: Expressed = [true, false, false, false, false];
        const W: Expressed = [false, true, false, false, false];
        const S: Expressed = [false, false, true, false, false];
        const P: Expressed = [false, false, false, true, false];
        const I: Expressed = [false, false, false, false, true];
        const NONE: Expressed = [false; N];
        let cases: [(&str, Expressed); 13] = [
            ("Прождали в коридоре четыре часа, так и не попали", W),
            ("очереди не было совсем, зашла и сразу к окну", W),
            ("специалист некомпетентный, ничего не знает", S),
            ("В зале душно, присесть негде, стульев нет", P),
            ("пандуса нет, на коляске не заехать", P),
            ("Документы делали полгода вместо месяца", T),
            ("сделали всё за один день, быстро", T),
            (
                "Никто не смог сказать, какие бумаги нужны, на госуслугах тоже пусто",
                I,
            ),
            ("в регистратуру не дозвониться, трубку не берут", I),
            ("Яма на дороге у дома 5, колесо пробил", NONE),
            ("Продаю коляску, самовывоз", NONE),
            ("Мусор не вывозят вторую неделю", NONE),
            ("Отказали в субсидии, не согласен", NONE),
        ];
        let mut wrong = Vec::new();
        for (text, want) in cases {
            let got = model.expressed(&mut f, text);
            if got != want {
                let p = model.probabilities(&mut f, text);
                wrong.push(format!("{text}: want {want:?}, got {got:?} {p:?}"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
        // «нагрубила» is no stem's word (the stems match at the start of a word), the
        // model knows it.
        let rude = "Девушка в окне нагрубила и наорала на маму";
        assert!(!stem_criteria(rude)[2]);
        assert!(model.expressed(&mut f, rude)[2]);
        // Known misses, listed in `docs/QUALITY_FEED.md` (printed, not asserted: they
        // are what a better corpus should fix): a thanks read as judging the staff, a
        // passport's validity read as the service's time.
        for text in [
            "Спасибо, вопрос решён",
            "Срок действия паспорта истекает, что делать",
            rude,
        ] {
            eprintln!(
                "{text}: {:?} {:?}",
                model.expressed(&mut f, text),
                model.probabilities(&mut f, text)
            );
        }
        // The convenience function is the same decision.
        assert_eq!(
            expressed("Прождали в коридоре четыре часа, так и не попали"),
            [false, true, false, false, false]
        );
    }

    /// The grid of training settings, by cross-validation on the training split (run by
    /// hand: `cargo test -p otklik-social criteria::tests::tune -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn tune() {
        let (train, _) = split(embedded().unwrap());
        for length_power in [0.0f32, 0.25, 0.5] {
            for rate in [0.25f32, 1.0, 4.0] {
                for balance in [0.5f32, 1.0] {
                    for epochs in [30, 60] {
                        let params = Params {
                            epochs,
                            rate,
                            decay: 0.5,
                            balance,
                            l2: 0.0,
                            stems: true,
                            length_power,
                        };
                        let decided = cross_validated_with(&train, &params);
                        let thresholds = choose_thresholds(&decided);
                        let (rules, _) = choose_rules(&decided, &thresholds);
                        let model = scores_of(&decided, &[Rule::Model; N], &thresholds);
                        let chosen = scores_of(&decided, &rules, &thresholds);
                        eprintln!(
                            "{params:?} model {:.3} [{}] chosen {:.3}",
                            CriteriaEvaluation::macro_f1(&model),
                            model
                                .iter()
                                .take(N)
                                .map(|s| format!("{:.2}", s.f1))
                                .collect::<Vec<_>>()
                                .join(" "),
                            CriteriaEvaluation::macro_f1(&chosen)
                        );
                    }
                }
            }
        }
    }

    /// The thresholds and rules in force are the ones cross-validation on the training
    /// split chooses.
    #[test]
    fn the_rules_are_what_cross_validation_chooses() {
        let (train, _) = split(embedded().unwrap());
        let decided = cross_validated(&train);
        let thresholds = choose_thresholds(&decided);
        let (rules, f1) = choose_rules(&decided, &thresholds);
        for (c, criterion) in Criterion::ALL.into_iter().enumerate() {
            eprintln!(
                "{:<26} threshold {:.1}  stems {:.3}  model {:.3}  either {:.3}  → {}",
                criterion.as_str(),
                thresholds[c],
                f1[c][0],
                f1[c][1],
                f1[c][2],
                rules[c].as_str()
            );
        }
        assert_eq!(thresholds, THRESHOLDS);
        assert_eq!(rules, RULES);
    }

    /// The bar of issue 10, measured on the held-out split: the adopted rules' macro-F1
    /// over the five criteria is at least 0.68 (measured 0.694, the stems 0.550: see
    /// `docs/QUALITY_FEED.md`), and better than the stems of version 1.
    #[test]
    fn the_adopted_mapping_meets_the_bar_on_held_out_texts() {
        let (train, test) = split(embedded().unwrap());
        let model = CriteriaModel::train(&train);
        let report = evaluate(&model, train.len(), &test);
        eprintln!(
            "trained on {}, held out {} ({} without a criterion)",
            report.trained_on, report.held_out, report.held_out_none
        );
        for (name, scores) in [
            ("stems", &report.stems),
            ("model", &report.model),
            ("either", &report.either),
            ("adopted", &report.adopted),
        ] {
            for s in scores {
                eprintln!(
                    "{name:<8} {:<26} n={:<3} P {:.3} R {:.3} F1 {:.3}",
                    s.class, s.support, s.precision, s.recall, s.f1
                );
            }
            eprintln!(
                "{name:<8} macro-F1 {:.3}",
                CriteriaEvaluation::macro_f1(scores)
            );
        }
        let adopted = CriteriaEvaluation::macro_f1(&report.adopted);
        let stems = CriteriaEvaluation::macro_f1(&report.stems);
        assert!(adopted >= 0.68, "adopted macro-F1 {adopted:.3}");
        assert!(adopted > stems, "adopted {adopted:.3} vs stems {stems:.3}");
    }
}
