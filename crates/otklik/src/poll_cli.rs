//! `otklik poll …`: anyone's recount of a poll from its published ballots, and the check
//! of a voter's receipt. Offline: only the files and, optionally, the poll's public key.
//!
//! Exit codes: 0 valid, 1 invalid (the reason on stdout), 2 unreadable input.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use otklik_domain::poll::{
    ballot_leaf, definition_leaf, Ballot, BallotId, PollKind, PollSpec, QuestionKind, Tally,
};
use otklik_log::{CompactRange, SignedTreeHead};
use serde::Deserialize;

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
struct Published {
    poll: i64,
    kind: String,
    closes_at: i64,
    questions: serde_json::Value,
    tree_head: serde_json::Value,
    ballots: Vec<PublishedEntry>,
}

#[derive(Deserialize)]
struct PublishedEntry {
    ballot_id: String,
    answers: Ballot,
}

/// The recount: `Ok(Ok(report))` when everything matches, `Ok(Err(reason))` when not,
/// `Err(usage)` when a file is not what it should be. `receipt` is a voter's receipt (its
/// text), whose ballot must be in the list with the same answers.
pub fn recount(
    text: &str,
    public_key: Option<&str>,
    receipt: Option<&str>,
) -> Result<Result<String, String>, String> {
    let list: Published =
        serde_json::from_str(text).map_err(|e| format!("not a published list of ballots: {e}"))?;
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
    let mut range = CompactRange::new(alg);
    range
        .push(otklik_log::leaf_hash(
            alg,
            &definition_leaf(list.poll, kind, &list.questions, list.closes_at),
        ))
        .map_err(|e| e.to_string())?;
    let mut tally = Tally::default();
    let mut previous: Option<BallotId> = None;
    let mut ballots = std::collections::HashMap::with_capacity(list.ballots.len());
    for (i, entry) in list.ballots.iter().enumerate() {
        let Ok(id) = BallotId::parse(&entry.ballot_id) else {
            return Ok(Err(format!(
                "ballot_id: entry {i} has a malformed ballot id"
            )));
        };
        // The final tree orders ballots by id: strictly ascending, so also no repeats.
        if previous.as_ref().is_some_and(|p| *p >= id) {
            return Ok(Err(format!(
                "not_in_order: {} is out of order or repeated",
                id.as_str()
            )));
        }
        if let Err(e) = spec.check_published(&entry.answers) {
            return Ok(Err(format!(
                "invalid_ballot: {} (question {}): {}",
                id.as_str(),
                e.question + 1,
                e.code
            )));
        }
        range
            .push(otklik_log::leaf_hash(
                alg,
                &ballot_leaf(list.poll, &id, &entry.answers),
            ))
            .map_err(|e| e.to_string())?;
        tally.add(&entry.answers);
        ballots.insert(id.clone(), &entry.answers);
        previous = Some(id);
    }
    if range.size() != head.head.size {
        return Ok(Err(format!(
            "size_mismatch: the definition and {} ballots, the signed head says {} leaves",
            tally.ballots, head.head.size
        )));
    }
    if range.root() != head.head.root {
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
    if let Some(receipt) = receipt {
        let receipt: ReceiptJson =
            serde_json::from_str(receipt).map_err(|e| format!("not a ballot receipt: {e}"))?;
        if receipt.poll != list.poll {
            return Ok(Err("receipt_of_another_poll".to_owned()));
        }
        let id =
            BallotId::parse(&receipt.ballot_id).map_err(|_| "malformed ballot id".to_owned())?;
        match ballots.get(&id) {
            None => {
                return Ok(Err(format!(
                    "ballot_missing: {} is not in the list",
                    id.as_str()
                )))
            }
            Some(answers) if **answers != receipt.answers => {
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
