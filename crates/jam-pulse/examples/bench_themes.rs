//! Themes at scale (`just bench-pulse`, section `themes`): clusters 100,000 planted ideas (8
//! topics × English and French, with noise; `tests/support/planted.rs`) in process, once from
//! nothing and once continuing the first run's themes (what the server's job does every
//! `pulse.themes_interval_secs`), and prints wall time, peak resident memory (`VmHWM` of
//! `/proc/self/status`, the whole process: corpus, vectors and clustering) and the adjusted Rand
//! index against the planted topics, as a markdown table with the goals (≤ 60 s, ≤ 500 MiB).
//!
//! `--ideas N` (default 100,000), `--small` (10,000).

#[path = "../tests/support/planted.rs"]
mod planted;

use std::time::Instant;

use jam_pulse::themes::{Config, Idea, Previous, ThemeKey, adjusted_rand_index, cluster};
use uuid::Uuid;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut ideas_wanted = 100_000usize;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--small" => ideas_wanted = 10_000,
            "--ideas" => {
                i += 1;
                ideas_wanted = args.get(i).and_then(|v| v.parse().ok()).unwrap_or(ideas_wanted);
            }
            other => {
                eprintln!("unknown option {other}");
                std::process::exit(2);
            }
        }
        i += 1;
    }
    // 16 topic/language pairs plus 10% noise: per_topic × 16 × 1.1 ideas.
    let per_topic = (ideas_wanted as f64 / 17.6).ceil() as usize;
    let mut corpus = planted::generate(per_topic, 7);
    corpus.truncate(ideas_wanted);
    let ids: Vec<Uuid> = (0..corpus.len())
        .map(|i| Uuid::from_u128(1 + i as u128))
        .collect();
    let ideas: Vec<Idea> = ids
        .iter()
        .zip(&corpus)
        .map(|(id, idea)| Idea {
            id: *id,
            text: &idea.text,
        })
        .collect();
    let config = Config::default();
    let truth: Vec<&str> = corpus.iter().map(|idea| idea.topic.as_str()).collect();
    let ari = |outcome: &jam_pulse::themes::Outcome| {
        let assignment = outcome.assignment();
        let (t, f): (Vec<&str>, Vec<String>) = ids
            .iter()
            .zip(&truth)
            .filter(|(_, topic)| **topic != "noise")
            .map(|(id, topic)| {
                (
                    *topic,
                    assignment.get(id).map_or("none".into(), |k| format!("{k:?}")),
                )
            })
            .unzip();
        adjusted_rand_index(&t, &f)
    };

    let start = Instant::now();
    let first = cluster(&ideas, &[], &config);
    let first_secs = start.elapsed().as_secs_f64();
    let first_rss = peak_rss_mib();
    let previous: Vec<Previous> = first
        .themes
        .iter()
        .enumerate()
        .map(|(n, theme)| Previous {
            id: match theme.key {
                ThemeKey::Existing(id) => id,
                ThemeKey::New(_) => Uuid::from_u128(0xAAAA_0000 + n as u128),
            },
            members: theme.members.clone(),
        })
        .collect();
    let start = Instant::now();
    let second = cluster(&ideas, &previous, &config);
    let second_secs = start.elapsed().as_secs_f64();
    let second_rss = peak_rss_mib();
    let before: std::collections::HashMap<Uuid, Uuid> = previous
        .iter()
        .flat_map(|p| p.members.iter().map(move |m| (*m, p.id)))
        .collect();
    let after = second.assignment();
    let kept = ids
        .iter()
        .filter(
            |id| matches!((before.get(id), after.get(id)), (Some(b), Some(ThemeKey::Existing(a))) if a == b),
        )
        .count() as f64
        / ids.len() as f64;

    let verdict = |ok: bool| if ok { "✅" } else { "❌" };
    println!(
        "\n### Themes: {} ideas clustered in process ({} threads)\n",
        ideas.len(),
        config.threads
    );
    println!(
        "| run | themes | unassigned | time (s) | peak RSS (MiB) | ARI vs planted | ideas keeping their id | goal |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| from nothing | {} | {} | {first_secs:.1} | {first_rss:.0} | {:.3} | – | ≤ 60 s, ≤ 500 MiB {} |",
        first.themes.len(),
        first.unassigned.len(),
        ari(&first),
        verdict(first_secs <= 60.0 && first_rss <= 500.0)
    );
    println!(
        "| continuing the first | {} | {} | {second_secs:.1} | {second_rss:.0} | {:.3} | {:.1}% | ≤ 60 s, ≤ 500 MiB {} |",
        second.themes.len(),
        second.unassigned.len(),
        ari(&second),
        kept * 100.0,
        verdict(second_secs <= 60.0 && second_rss <= 500.0)
    );
}
