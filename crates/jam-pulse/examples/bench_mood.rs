//! The mood section of `just bench-pulse`: what scoring adds to a post's write, per post, p50 and
//! p99 over every text of the evaluation sets (English sentences, and the French reviews when
//! `scripts/fetch-pulse-eval.sh` has fetched them), scored as the server scores them: language
//! detected, then the analyser. Goal: p99 ≤ 1 ms.
//!
//!   cargo run --release -p jam-pulse --example bench_mood [-- --small]

use std::time::Instant;

use jam_pulse::mood;

fn main() {
    let small = std::env::args().any(|a| a == "--small");
    let mut texts: Vec<String> = include_str!("../tests/data/en-uci-sentences.tsv")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.splitn(3, '\t').nth(2).map(str::to_string))
        .collect();
    let english = texts.len();
    let french_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/pulse-eval/polarity-fr-amazon.csv"
    );
    if let Ok(mut reader) = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(french_path)
    {
        texts.extend(reader.records().filter_map(Result::ok).map(|r| r[0].to_string()));
    }
    let french = texts.len() - english;
    if small {
        texts.truncate(300);
    }
    // The first call builds the lexicons (once per process, at the first post).
    let warm = Instant::now();
    let _ = mood::score("warm up", None);
    let first = warm.elapsed();
    let rounds = if small { 1 } else { 5 };
    let mut times = Vec::with_capacity(texts.len() * rounds);
    let mut bytes = 0usize;
    for _ in 0..rounds {
        for text in &texts {
            let start = Instant::now();
            let m = mood::score(text, None);
            times.push(start.elapsed());
            std::hint::black_box(m);
            bytes += text.len();
        }
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let mean_len = bytes / times.len().max(1);
    println!(
        "\n### mood: scoring per post ({english} English + {french} French texts × {rounds}, mean {mean_len} bytes)\n"
    );
    println!("| posts scored | p50 | p99 | max | first call (lexicons built) | goal p99 |");
    println!("|---:|---:|---:|---:|---:|---|");
    let p99 = at(0.99);
    println!(
        "| {} | {:.1} µs | {:.1} µs | {:.1} µs | {:.1} ms | ≤ 1 ms: {} |",
        times.len(),
        at(0.5).as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        times.last().map_or(0.0, |t| t.as_secs_f64() * 1e6),
        first.as_secs_f64() * 1e3,
        if p99.as_secs_f64() <= 1e-3 {
            "met"
        } else {
            "MISSED"
        }
    );
}
