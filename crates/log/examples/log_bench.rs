//! Throughput of the log's core operations on an in-memory tree.
//!
//! `cargo run --release -p otklik-log --example log_bench -- --leaves 100000000`
//! Options: `--leaves N` (default 1,000,000), `--proofs K` (default 10,000),
//! `--alg sha256|streebog256`, `--seed S`. Needs about 64 bytes of RAM per leaf.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use otklik_log::{
    consistency_proof, inclusion_proof, root, verify_consistency, verify_inclusion, CompactRange,
    HashAlg, MemoryTree,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

struct Args {
    leaves: u64,
    proofs: usize,
    alg: HashAlg,
    seed: u64,
}

fn parse_args() -> Args {
    let mut args = Args {
        leaves: 1_000_000,
        proofs: 10_000,
        alg: HashAlg::Sha256,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--leaves" => args.leaves = value.replace('_', "").parse().expect("--leaves"),
            "--proofs" => args.proofs = value.parse().expect("--proofs"),
            "--alg" => args.alg = HashAlg::parse(&value).expect("--alg"),
            "--seed" => args.seed = value.parse().expect("--seed"),
            _ => panic!("unknown option {flag}"),
        }
    }
    assert!(args.leaves >= 2, "--leaves must be at least 2");
    args
}

struct Stats {
    median: Duration,
    p99: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        median: at(0.5),
        p99: at(0.99),
    }
}

fn us(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

fn rate(n: u64, d: Duration) -> String {
    let r = n as f64 / d.as_secs_f64();
    if r >= 1e6 {
        format!("{:.2} M/s", r / 1e6)
    } else {
        format!("{:.0} k/s", r / 1e3)
    }
}

fn main() {
    let args = parse_args();
    let n = args.leaves;
    let alg = args.alg;
    let mut rng = StdRng::seed_from_u64(args.seed);
    eprintln!("building a tree of {n} leaves ({alg})...");

    // Appends: leaf hashing plus the completed parents, through `append_nodes`.
    let mut tree = MemoryTree::with_capacity(alg, n);
    let start = Instant::now();
    for i in 0..n {
        tree.push(&i.to_le_bytes()).unwrap();
    }
    let build = start.elapsed();
    let full_root = tree.root().unwrap();

    // Inclusion proofs at the full size, from stored nodes; then their verification.
    let mut gen = Vec::with_capacity(args.proofs);
    let mut ver = Vec::with_capacity(args.proofs);
    let mut reads = 0usize;
    for _ in 0..args.proofs {
        let index = rng.gen_range(0..n);
        let t = Instant::now();
        let proof = inclusion_proof(alg, index, n, &tree).unwrap();
        gen.push(t.elapsed());
        reads += otklik_log::inclusion_nodes(index, n).len();
        let leaf = tree.leaf(index).unwrap();
        let t = Instant::now();
        verify_inclusion(alg, &leaf, index, n, &proof, &full_root).unwrap();
        ver.push(t.elapsed());
    }
    let incl = stats(gen);
    let incl_ver = stats(ver);
    let incl_reads = reads as f64 / args.proofs as f64;

    // Consistency proofs from a random earlier size to the full size.
    let mut gen = Vec::with_capacity(args.proofs);
    let mut ver = Vec::with_capacity(args.proofs);
    let mut reads = 0usize;
    for _ in 0..args.proofs {
        let size1 = rng.gen_range(1..n);
        let t = Instant::now();
        let proof = consistency_proof(alg, size1, n, &tree).unwrap();
        gen.push(t.elapsed());
        reads += otklik_log::consistency_nodes(size1, n).len();
        // The old root is computed outside the timed section.
        let old_root = root(alg, size1, &tree).unwrap();
        let t = Instant::now();
        verify_consistency(alg, size1, n, &proof, &old_root, &full_root).unwrap();
        ver.push(t.elapsed());
    }
    let cons = stats(gen);
    let cons_ver = stats(ver);
    let cons_reads = reads as f64 / args.proofs as f64;

    // Audit: recompute the root from the leaf hashes with a compact range.
    let mut range = CompactRange::new(alg);
    let start = Instant::now();
    for i in 0..n {
        range.push(tree.leaf(i).unwrap()).unwrap();
    }
    let audit = start.elapsed();
    assert_eq!(range.root(), full_root, "audit root differs");

    println!("| {n} leaves, {alg} | result |");
    println!("|---|---|");
    println!(
        "| appends (leaf hash + completed nodes) | {} ({:.1} s total) |",
        rate(n, build),
        build.as_secs_f64()
    );
    println!(
        "| inclusion proof, median / p99 ({} proofs, {:.1} node reads avg) | {} / {} |",
        args.proofs,
        incl_reads,
        us(incl.median),
        us(incl.p99)
    );
    println!(
        "| inclusion verify, median / p99 | {} / {} |",
        us(incl_ver.median),
        us(incl_ver.p99)
    );
    println!(
        "| consistency proof, median / p99 ({} proofs, {:.1} node reads avg) | {} / {} |",
        args.proofs,
        cons_reads,
        us(cons.median),
        us(cons.p99)
    );
    println!(
        "| consistency verify, median / p99 | {} / {} |",
        us(cons_ver.median),
        us(cons_ver.p99)
    );
    println!(
        "| compact-range audit from leaf hashes | {} ({:.1} s total) |",
        rate(n, audit),
        audit.as_secs_f64()
    );
}
