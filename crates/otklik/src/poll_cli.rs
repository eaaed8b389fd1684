//! `otklik poll …`: anyone's recount of a poll from its published ballots, and the check
//! of a voter's receipt. Offline: only the files and, optionally, the poll's public key.
//!
//! Exit codes: 0 valid, 1 invalid (the reason on stdout), 2 unreadable input.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use std::borrow::Cow;

use otklik_domain::poll::{
    ballot_leaf, definition_leaf, write_ballot_leaf, Ballot, BallotId, PollKind, PollSpec,
    QuestionKind, Tally,
};
use otklik_log::SignedTreeHead;
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Subcommand)]
pub enum PollCommand {
    /// Recount a poll from the list published after its close
    /// (`GET /api/v1/polls/{id}/ballots`): checks every ballot against the questions and
    /// the order of the ids, rebuilds the final tree (the definition, then the ballots)
    /// and compares it with the signed final head, signed after the close, then prints
    /// the tally.
    Recount {
        /// The published list (JSON).
        file: PathBuf,
        /// The poll's public key (base64), as shown on the poll's page: without it the
        /// head is only checked against the key it names.
        #[arg(long)]
        public_key: Option<String>,
        /// A voter's receipt: also check that this ballot is counted exactly as it was cast.
        #[arg(long)]
        receipt: Option<PathBuf>,
    },
    /// Verify a ballot's receipt (`GET /api/v1/polls/{id}/receipts/{ballot_id}`): the
    /// ballot is the leaf the proof says, under the signed tree head.
    VerifyReceipt {
        file: PathBuf,
        #[arg(long)]
        public_key: Option<String>,
    },
}

pub fn run(command: PollCommand) -> ExitCode {
    let outcome = match command {
        PollCommand::Recount {
            file,
            public_key,
            receipt,
        } => read(&file).and_then(|text| {
            let receipt = receipt.as_ref().map(read).transpose()?;
            recount(&text, public_key.as_deref(), receipt.as_deref())
        }),
        PollCommand::VerifyReceipt { file, public_key } => {
            read(&file).and_then(|text| verify_receipt(&text, public_key.as_deref()))
        }
    };
    match outcome {
        Ok(Ok(report)) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Ok(Err(reason)) => {
            println!("invalid: {reason}");
            ExitCode::from(1)
        }
        Err(usage) => {
            eprintln!("error: {usage}");
            ExitCode::from(2)
        }
    }
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// A signed tree head in its wire form (as `GET /api/v1/log/tree-head` serves it).
fn head_of(value: &serde_json::Value) -> Result<SignedTreeHead, String> {
    SignedTreeHead::from_json(&value.to_string())
        .map_err(|e| format!("the tree head is not a signed tree head: {e}"))
}

/// Verifies the head's signature, against the pinned key when one is given.
fn check_head(
    head: &SignedTreeHead,
    public_key: Option<&str>,
) -> Result<Result<(), String>, String> {
    let pinned = public_key
        .map(|k| otklik_log::decode_b64(k).map_err(|e| format!("--public-key: {e}")))
        .transpose()?;
    Ok(head
        .verify(pinned.as_deref())
        .map_err(|e| format!("{}: the tree head's signature does not verify", e.code())))
}

#[derive(Deserialize)]
struct Published<'a> {
    poll: i64,
    kind: String,
    closes_at: i64,
    questions: serde_json::Value,
    tree_head: serde_json::Value,
    /// Each ballot as its raw JSON: the list is only split here; ballots are parsed in
    /// parallel chunks.
    #[serde(borrow)]
    ballots: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct PublishedEntry<'a> {
    #[serde(borrow)]
    ballot_id: Cow<'a, str>,
    answers: Ballot,
}

/// Ballots per parallel chunk: large enough that a chunk's bookkeeping is noise, small
/// enough that the cores share the work evenly.
const CHUNK: usize = 1 << 14;

/// Leaves below which the Merkle root is computed on one thread.
const SEQUENTIAL_ROOT: usize = 1 << 14;

/// The recount: `Ok(Ok(report))` when everything matches, `Ok(Err(reason))` when not,
/// `Err(usage)` when a file is not what it should be. `receipt` is a voter's receipt (its
/// text), whose ballot must be in the list with the same answers.
///
/// Ballots are checked, hashed and tallied in parallel chunks; the verdict is the one a
/// single pass in list order would give (the first unreadable entry, else the first
/// invalid one).
pub fn recount(
    text: &str,
    public_key: Option<&str>,
    receipt: Option<&str>,
) -> Result<Result<String, String>, String> {
    recount_in_chunks(text, public_key, receipt, CHUNK)
}

fn recount_in_chunks(
    text: &str,
    public_key: Option<&str>,
    receipt: Option<&str>,
    chunk: usize,
) -> Result<Result<String, String>, String> {
    let list: Published =
        serde_json::from_str(text).map_err(|e| format!("not a published list of ballots: {e}"))?;
    let receipt: Option<ReceiptJson> = receipt
        .map(|r| serde_json::from_str(r).map_err(|e| format!("not a ballot receipt: {e}")))
        .transpose()?;
    let receipt_id = receipt
        .as_ref()
        .map(|r| BallotId::parse(&r.ballot_id).map_err(|_| "malformed ballot id".to_owned()))
        .transpose()?;
    let kind = PollKind::parse(&list.kind).ok_or("unknown poll kind")?;
    let spec = PollSpec::from_json(kind, &list.questions.to_string())
        .map_err(|e| format!("the questions are not a valid poll: {}", e.code))?;
    let head = head_of(&list.tree_head)?;
    if let Err(reason) = check_head(&head, public_key)? {
        return Ok(Err(reason));
    }
    if head.head.timestamp_ms
        < u64::try_from(list.closes_at.saturating_mul(1000)).unwrap_or(u64::MAX)
    {
        return Ok(Err(
            "head_before_close: the head was signed before the poll closed".to_owned(),
        ));
    }
    let alg = head.head.alg;
    // Leaf 0 is the definition; ballot i is leaf i + 1.
    let mut leaves = vec![[0u8; 32]; list.ballots.len() + 1];
    leaves[0] = otklik_log::leaf_hash(
        alg,
        &definition_leaf(list.poll, kind, &list.questions, list.closes_at),
    );
    let chunk = chunk.max(1);
    let context = ChunkContext {
        poll: list.poll,
        alg,
        spec: &spec,
        receipt_id: receipt_id.as_ref(),
    };
    let chunks: Vec<ChunkOutcome> = list
        .ballots
        .par_chunks(chunk)
        .zip(leaves[1..].par_chunks_mut(chunk))
        .enumerate()
        .map(|(n, (entries, hashes))| context.run(n * chunk, entries, hashes))
        .collect();
    // Unreadable entries first, as a parse of the whole file would have failed on them.
    if let Some(usage) = chunks.iter().find_map(|c| c.unreadable.clone()) {
        return Err(format!("not a published list of ballots: {usage}"));
    }
    let mut tally = Tally::default();
    let mut counted_as = None;
    let mut previous: Option<&BallotId> = None;
    for outcome in &chunks {
        if let (Some(previous), Some(first)) = (previous, outcome.first.as_ref()) {
            if previous >= first {
                return Ok(Err(not_in_order(first)));
            }
        }
        if let Some(reason) = &outcome.invalid {
            return Ok(Err(reason.clone()));
        }
        tally.merge(&outcome.tally);
        counted_as = counted_as.or(outcome.receipt_answers.as_ref());
        previous = outcome.last.as_ref().or(previous);
    }
    let size = leaves.len() as u64;
    if size != head.head.size {
        return Ok(Err(format!(
            "size_mismatch: the definition and {} ballots, the signed head says {} leaves",
            tally.ballots, head.head.size
        )));
    }
    if merkle_root(alg, &leaves) != head.head.root {
        return Ok(Err(
            "root_mismatch: the questions or the ballots are not the signed tree".to_owned(),
        ));
    }
    let mut report = format!("valid: {} ballots\n", tally.ballots);
    if public_key.is_none() {
        report.push_str(
            "warning: no --public-key: the head was checked against the key it names only; \
             compare that key with the poll's page\n",
        );
    }
    for (q, question) in spec.questions().iter().enumerate() {
        report.push_str(&describe(q as u16, &question.text, &question.kind, &tally));
    }
    if let (Some(receipt), Some(id)) = (receipt, receipt_id) {
        if receipt.poll != list.poll {
            return Ok(Err("receipt_of_another_poll".to_owned()));
        }
        match counted_as {
            None => {
                return Ok(Err(format!(
                    "ballot_missing: {} is not in the list",
                    id.as_str()
                )))
            }
            Some(answers) if *answers != receipt.answers => {
                return Ok(Err(format!(
                    "ballot_changed: {} is counted with other answers than it was cast with",
                    id.as_str()
                )))
            }
            Some(_) => report.push_str(&format!("ballot {}: counted as cast\n", id.as_str())),
        }
    }
    Ok(Ok(report.trim_end().to_owned()))
}

fn not_in_order(id: &BallotId) -> String {
    format!("not_in_order: {} is out of order or repeated", id.as_str())
}

/// What every chunk needs to know of the poll.
struct ChunkContext<'a> {
    poll: i64,
    alg: otklik_log::HashAlg,
    spec: &'a PollSpec,
    receipt_id: Option<&'a BallotId>,
}

/// One chunk's part of the recount. A chunk stops at its first fault; `first` and `last`
/// let the caller check the order across chunk boundaries.
#[derive(Default)]
struct ChunkOutcome {
    first: Option<BallotId>,
    last: Option<BallotId>,
    tally: Tally,
    receipt_answers: Option<Ballot>,
    unreadable: Option<String>,
    invalid: Option<String>,
}

impl ChunkContext<'_> {
    /// Checks, hashes (into `hashes`) and tallies `entries`, the ballots from `offset` on.
    /// After an invalid ballot the rest is only parsed: an unreadable entry anywhere makes
    /// the file unusable, which outranks an invalid ballot.
    fn run(&self, offset: usize, entries: &[&RawValue], hashes: &mut [[u8; 32]]) -> ChunkOutcome {
        let mut out = ChunkOutcome::default();
        let mut leaf = Vec::with_capacity(256);
        for (i, (raw, hash)) in entries.iter().zip(hashes).enumerate() {
            let at = offset + i;
            let entry: PublishedEntry = match serde_json::from_str(raw.get()) {
                Ok(entry) => entry,
                Err(e) => {
                    out.unreadable = Some(format!("ballot entry {at}: {e}"));
                    return out;
                }
            };
            if out.invalid.is_none() {
                if let Err(reason) = self.count(&mut out, at, entry, &mut leaf, hash) {
                    out.invalid = Some(reason);
                }
            }
        }
        out
    }

    /// One readable ballot: its id, its order after the chunk's previous one, its answers
    /// against the questions; then its leaf hash and its counts.
    fn count(
        &self,
        out: &mut ChunkOutcome,
        at: usize,
        entry: PublishedEntry,
        leaf: &mut Vec<u8>,
        hash: &mut [u8; 32],
    ) -> Result<(), String> {
        let id = BallotId::parse(&entry.ballot_id)
            .map_err(|_| format!("ballot_id: entry {at} has a malformed ballot id"))?;
        // The final tree orders ballots by id: strictly ascending, so also no repeats.
        // A chunk's first ballot is compared with the previous chunk's last by the caller.
        if out.last.as_ref().is_some_and(|p| *p >= id) {
            return Err(not_in_order(&id));
        }
        if out.first.is_none() {
            out.first = Some(id.clone());
        }
        self.spec.check_published(&entry.answers).map_err(|e| {
            format!(
                "invalid_ballot: {} (question {}): {}",
                id.as_str(),
                e.question + 1,
                e.code
            )
        })?;
        leaf.clear();
        write_ballot_leaf(leaf, self.poll, &id, &entry.answers);
        *hash = otklik_log::leaf_hash(self.alg, leaf);
        out.tally.add(&entry.answers);
        if self.receipt_id == Some(&id) {
            out.receipt_answers = Some(entry.answers);
        }
        out.last = Some(id);
        Ok(())
    }
}

/// The RFC 9162 Merkle tree hash of `leaves` (at least one), its two halves computed on
/// two threads while they are large.
fn merkle_root(alg: otklik_log::HashAlg, leaves: &[otklik_log::Hash]) -> otklik_log::Hash {
    match leaves {
        [] => otklik_log::empty_root(alg),
        [leaf] => *leaf,
        _ => {
            // The split is the largest power of two smaller than the number of leaves.
            let split = 1usize << (usize::BITS - 1 - (leaves.len() - 1).leading_zeros());
            let (left, right) = leaves.split_at(split);
            let (l, r) = if leaves.len() > SEQUENTIAL_ROOT {
                rayon::join(|| merkle_root(alg, left), || merkle_root(alg, right))
            } else {
                (merkle_root(alg, left), merkle_root(alg, right))
            };
            otklik_log::node_hash(alg, &l, &r)
        }
    }
}

fn describe(q: u16, text: &str, kind: &QuestionKind, tally: &Tally) -> String {
    let mut out = format!("{}. {text} — answered {}\n", q + 1, tally.answered(q));
    match kind {
        QuestionKind::Single { options } | QuestionKind::Multiple { options, .. } => {
            for (o, option) in options.iter().enumerate() {
                out.push_str(&format!(
                    "   {}: {}\n",
                    option.title,
                    tally.count(q, o as u32)
                ));
            }
        }
        QuestionKind::Ranking { options } => {
            let n = options.len() as u32;
            for (o, option) in options.iter().enumerate() {
                let o = o as u32;
                out.push_str(&format!(
                    "   {}: {} points, {} first places\n",
                    option.title,
                    tally.count(q, o),
                    tally.count(q, n + o)
                ));
            }
        }
        QuestionKind::Scale { min, max } => {
            for v in *min..=*max {
                out.push_str(&format!("   {v}: {}\n", tally.count(q, u32::from(v))));
            }
        }
        QuestionKind::FreeText { .. } => {}
    }
    out
}

#[derive(Deserialize)]
struct ReceiptJson {
    poll: i64,
    ballot_id: String,
    answers: Ballot,
    leaf_index: u64,
    tree_size: u64,
    proof: Vec<String>,
    tree_head: serde_json::Value,
}

pub fn verify_receipt(
    text: &str,
    public_key: Option<&str>,
) -> Result<Result<String, String>, String> {
    let receipt: ReceiptJson =
        serde_json::from_str(text).map_err(|e| format!("not a ballot receipt: {e}"))?;
    let head = head_of(&receipt.tree_head)?;
    if let Err(reason) = check_head(&head, public_key)? {
        return Ok(Err(reason));
    }
    let id = BallotId::parse(&receipt.ballot_id).map_err(|_| "malformed ballot id".to_owned())?;
    let proof: Vec<otklik_log::Hash> = receipt
        .proof
        .iter()
        .map(|h| otklik_log::decode_hash(h).map_err(|e| format!("proof: {e}")))
        .collect::<Result<_, _>>()?;
    if receipt.tree_size != head.head.size {
        return Ok(Err(
            "size_mismatch: the proof is for another tree size".to_owned()
        ));
    }
    let alg = head.head.alg;
    let leaf = otklik_log::leaf_hash(alg, &ballot_leaf(receipt.poll, &id, &receipt.answers));
    Ok(otklik_log::verify_inclusion(
        alg,
        &leaf,
        receipt.leaf_index,
        receipt.tree_size,
        &proof,
        &head.head.root,
    )
    .map(|()| {
        format!(
            "valid: ballot {} is leaf {} of {}",
            id.as_str(),
            receipt.leaf_index,
            receipt.tree_size
        )
    })
    .map_err(|e| format!("{}: the ballot is not in the signed tree", e.code())))
}

/// A signed published list of `n` random ballots of a vote "up to 3 of 10", in the final
/// tree's order, and its public key (base64): what benchmarks and tests recount.
pub fn synthetic_published_list(n: usize) -> Result<(String, String), String> {
    use otklik_domain::poll::{parse_text, RawAnswer};
    let mut questions = String::from("? Какие проекты выполнить?\n* несколько до 3\n");
    for option in 1..=10 {
        questions.push_str(&format!("- Проект {option}\n"));
    }
    let spec = parse_text(PollKind::Vote, &questions).map_err(|e| e.code.to_owned())?;
    let questions: serde_json::Value =
        serde_json::from_str(&spec.questions_json()).map_err(|e| e.to_string())?;
    let mut ballots = (0..n)
        .map(|i| {
            let raw = [RawAnswer::Choices(vec![(i % 10) as u16])];
            let ballot = spec.check_ballot(&raw).map_err(|e| e.code.to_owned())?;
            Ok((BallotId::from_bytes(rand::random()), ballot.ballot))
        })
        .collect::<Result<Vec<_>, String>>()?;
    ballots.sort_by(|a, b| a.0.cmp(&b.0));
    let (poll, closes_at, alg) = (1, 1_800_000_000i64, otklik_log::HashAlg::Sha256);
    let mut leaves = vec![otklik_log::leaf_hash(
        alg,
        &definition_leaf(poll, PollKind::Vote, &questions, closes_at),
    )];
    let mut list = String::with_capacity(n * 80);
    for (i, (id, ballot)) in ballots.iter().enumerate() {
        leaves.push(otklik_log::leaf_hash(alg, &ballot_leaf(poll, id, ballot)));
        if i > 0 {
            list.push(',');
        }
        let entry = serde_json::json!({"ballot_id": id.as_str(), "answers": ballot});
        list.push_str(&entry.to_string());
    }
    let signer = otklik_log::Signer::generate(&mut rand::rngs::OsRng);
    let head = signer.sign(&otklik_log::TreeHead {
        size: leaves.len() as u64,
        root: merkle_root(alg, &leaves),
        timestamp_ms: closes_at as u64 * 1000,
        alg,
    });
    let text = format!(
        "{{\"poll\":{poll},\"kind\":\"vote\",\"closes_at\":{closes_at},\"questions\":{questions},\
         \"tree_head\":{},\"ballots\":[{list}]}}",
        head.to_json()
    );
    Ok((text, otklik_log::encode_b64(&signer.public_key_bytes())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    /// The list with its ballots replaced by `ballots` (the head stays the same).
    fn with_ballots(text: &str, ballots: &[serde_json::Value]) -> String {
        let mut list: serde_json::Value = serde_json::from_str(text).unwrap();
        list["ballots"] = serde_json::Value::Array(ballots.to_vec());
        list.to_string()
    }

    #[test]
    fn the_merkle_root_is_the_compact_ranges() {
        for n in [1usize, 2, 3, 5, 8, 13, 100, SEQUENTIAL_ROOT + 3] {
            let leaves: Vec<_> = (0..n as u32)
                .map(|i| otklik_log::leaf_hash(otklik_log::HashAlg::Sha256, &i.to_be_bytes()))
                .collect();
            let mut range = otklik_log::CompactRange::new(otklik_log::HashAlg::Sha256);
            for leaf in &leaves {
                range.push(*leaf).unwrap();
            }
            assert_eq!(
                merkle_root(otklik_log::HashAlg::Sha256, &leaves),
                range.root()
            );
        }
    }

    #[test]
    fn a_valid_list_recounts_the_same_in_any_chunks() {
        let (text, key) = synthetic_published_list(40).unwrap();
        let whole = recount_in_chunks(&text, Some(&key), None, usize::MAX).unwrap();
        assert!(
            whole.as_ref().unwrap().starts_with("valid: 40 ballots"),
            "{whole:?}"
        );
        for chunk in [1, 2, 3, 7, 39, 40] {
            assert_eq!(
                recount_in_chunks(&text, Some(&key), None, chunk).unwrap(),
                whole
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever is done to the ballots (swapped, repeated, dropped, given another
        /// answer, an id or an entry spoiled), the verdict does not depend on the chunks:
        /// it is the first fault in list order, as one pass would find it.
        #[test]
        fn a_tampered_list_gets_the_same_verdict_in_any_chunks(
            edits in proptest::collection::vec((0usize..5, 0usize..30, 0usize..30), 1..4),
            chunk in 1usize..12,
        ) {
            let (text, key) = synthetic_published_list(30).unwrap();
            let list: serde_json::Value = serde_json::from_str(&text).unwrap();
            let mut ballots = list["ballots"].as_array().unwrap().clone();
            for (kind, a, b) in edits {
                let (a, b) = (a % ballots.len(), b % ballots.len());
                match kind {
                    0 => ballots.swap(a, b),
                    1 => ballots.insert(b, ballots[a].clone()),
                    2 => { ballots.remove(a); }
                    3 => ballots[a]["answers"] = serde_json::json!([{"choices": [11]}]),
                    _ => ballots[a]["ballot_id"] = serde_json::json!("not-an-id"),
                }
                if ballots.is_empty() { break; }
            }
            let tampered = with_ballots(&text, &ballots);
            prop_assert_eq!(
                recount_in_chunks(&tampered, Some(&key), None, chunk),
                recount_in_chunks(&tampered, Some(&key), None, usize::MAX)
            );
        }
    }

    #[test]
    fn an_unreadable_entry_is_a_usage_error_even_after_an_invalid_one() {
        let (text, key) = synthetic_published_list(10).unwrap();
        let list: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut ballots = list["ballots"].as_array().unwrap().clone();
        ballots[1]["ballot_id"] = serde_json::json!("not-an-id");
        ballots[8] = serde_json::json!({"ballot_id": 5});
        let tampered = with_ballots(&text, &ballots);
        for chunk in [1, 4, usize::MAX] {
            let verdict = recount_in_chunks(&tampered, Some(&key), None, chunk);
            assert!(
                verdict.as_ref().is_err_and(|e| e.contains("entry 8")),
                "{verdict:?}"
            );
        }
    }
}
