//! Reports: the markdown summary of one run, and the hub benchmark's table over its runs (a
//! single-node run and the processes of a cluster run), with each goal and whether it was met.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::run::{PhaseReport, Report, machine_us_per_frame};
use crate::stats::{Quantiles, histogram};

fn thousands(n: f64) -> String {
    let n = n.round() as i64;
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn map<K: std::fmt::Display>(m: &BTreeMap<K, u64>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One run's phases as a markdown table, with its connection and server figures.
pub fn summary(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {}: {} of {} connections in {:.1} s (errors: {}), nodes {}\n",
        r.label,
        thousands(r.connected as f64),
        thousands(r.connections_requested as f64),
        r.ramp_secs,
        map(&r.connect_errors),
        r.nodes.join(", ")
    );
    out.push_str(
        "| phase | subscribers | sent ok | answered/s | delivered | expected | deliveries/s | p50 ms | p99 ms | \
         max ms | tallies | tally p99 ms | gaps | resyncs | closes | server CPU % | server RSS MiB | loadgen CPU % | \
         machine CPU % (softirq) |\n",
    );
    out.push_str("| --- |");
    out.push_str(&" ---: |".repeat(13));
    out.push_str(" --- | ---: | ---: | ---: | ---: |\n");
    for p in &r.phases {
        let cpu: Vec<String> = p.server.iter().map(|s| format!("{:.0}", s.cpu_percent)).collect();
        let rss: Vec<String> = p
            .server
            .iter()
            .map(|s| format!("{:.0}", s.rss_kib as f64 / 1024.0))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {} | {:.1} | {} | {} | {} | {} | {} | {:.0} | \
             {:.0} ({:.0}) |",
            p.name,
            thousands(p.subscribers as f64),
            thousands(p.sent_ok as f64),
            p.achieved_rate,
            thousands(p.delivered as f64),
            thousands(p.expected as f64),
            thousands(p.deliveries_per_sec),
            p.latency.p50_ms,
            p.latency.p99_ms,
            p.latency.max_ms,
            thousands(p.tallies as f64),
            p.tally_latency.p99_ms,
            p.gaps,
            p.resyncs,
            map(&p.closes),
            cpu.join("/"),
            rss.join("/"),
            p.loadgen_cpu_percent,
            p.machine_cpu_percent,
            p.softirq_percent,
        );
    }
    for p in &r.phases {
        if !p.send_failed.is_empty() || !p.errors.is_empty() || p.unreadable > 0 {
            let _ = writeln!(
                out,
                "\n{}: send failures {}; error frames {}; unreadable frames {}",
                p.name,
                map(&p.send_failed),
                map(&p.errors),
                p.unreadable
            );
        }
    }
    if !r.abuse.is_empty() {
        out.push_str("\n| abuser | attempts | expected | observed | error frames | met |\n");
        out.push_str("| --- | ---: | --- | --- | --- | --- |\n");
        for a in &r.abuse {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                a.kind,
                a.attempts,
                a.expected,
                map(&a.outcomes),
                map(&a.errors),
                if a.met { "yes" } else { "no" }
            );
        }
    }
    for n in &r.notes {
        let _ = writeln!(out, "\nNote: {n}");
    }
    out
}

/// Inputs of the benchmark table.
pub struct Bench<'a> {
    /// The single-node run (idle, broadcasts, abuse), if it ran.
    pub single: Option<&'a Report>,
    /// The server pid of the single-node run.
    pub single_pid: Option<u32>,
    /// Every process of the cluster run.
    pub cluster: &'a [Report],
    /// Redis CPU seconds (user + sys) over the cluster run's storm, from `INFO cpu`.
    pub redis_cpu_secs: Option<f64>,
    /// Seconds that Redis figure spans.
    pub redis_span_secs: Option<f64>,
}

struct Row {
    run: String,
    measure: String,
    value: String,
    goal: String,
    met: Option<bool>,
}

fn merged(phases: &[&PhaseReport]) -> (Quantiles, Quantiles) {
    let mut lat = histogram();
    let mut tally = histogram();
    for p in phases {
        let _ = lat.add(p.latency_buckets.to_histogram());
        let _ = tally.add(p.tally_buckets.to_histogram());
    }
    (Quantiles::of(&lat), Quantiles::of(&tally))
}

/// The table of every run, goal and verdict (markdown).
pub fn bench_table(b: &Bench<'_>) -> String {
    let mut rows: Vec<Row> = Vec::new();
    let row = |run: &str, measure: &str, value: String, goal: &str, met: Option<bool>| Row {
        run: run.to_owned(),
        measure: measure.to_owned(),
        value,
        goal: goal.to_owned(),
        met,
    };
    if let Some(s) = b.single {
        let conns = thousands(s.connected as f64);
        let run = format!("idle, {conns} conns, 1 node");
        if let Some(pid) = b.single_pid {
            if let Some(kib) = s.rss_per_conn_kib(pid, Some("idle")) {
                rows.push(row(
                    &run,
                    "server RSS per connection, idle",
                    format!("{kib:.1} KiB"),
                    "≤ 16 KiB",
                    Some(kib <= 16.0),
                ));
            }
            if let Some(kib) = s.rss_per_conn_kib(pid, None) {
                rows.push(row(
                    &run,
                    "server RSS per connection, after the broadcasts",
                    format!("{kib:.1} KiB"),
                    "≤ 20 KiB",
                    Some(kib <= 20.0),
                ));
            }
        }
        if let Some(idle) = s.phases.iter().find(|p| p.kind == "idle")
            && let Some(cpu) = idle.server.first()
        {
            rows.push(row(
                &run,
                "server CPU, idle",
                format!("{:.1}% of a core", cpu.cpu_percent),
                "report",
                None,
            ));
        }
        for p in s.phases.iter().filter(|p| p.kind == "broadcast") {
            let run = format!(
                "broadcast {}/s, {} subscribers",
                p.rate,
                thousands(p.subscribers as f64)
            );
            let all = p.expected > 0 && p.delivered == p.expected;
            rows.push(row(
                &run,
                "delivered / expected",
                format!(
                    "{} / {}",
                    thousands(p.delivered as f64),
                    thousands(p.expected as f64)
                ),
                "all",
                Some(all),
            ));
            rows.push(row(
                &run,
                "ideas posted: answered/s, answer p99 from intended send",
                format!("{:.1}/s, {:.0} ms", p.achieved_rate, p.send_latency.p99_ms),
                "report",
                None,
            ));
            // The goal is for 50 events/s to 19,000 subscribers; a smaller run cannot offer 500,000/s.
            let throughput_goal = p.rate >= 50.0 && p.rate * p.subscribers as f64 >= 500_000.0;
            rows.push(row(
                &run,
                "deliveries/s",
                thousands(p.deliveries_per_sec),
                if throughput_goal { "≥ 500,000" } else { "report" },
                throughput_goal.then_some(p.deliveries_per_sec >= 500_000.0),
            ));
            if p.frames > 0 {
                rows.push(row(
                    &run,
                    "frames read/s, events per frame; machine CPU per frame",
                    format!(
                        "{}/s, {:.2}; {:.1} µs",
                        thousands(p.frames_per_sec),
                        p.messages as f64 / p.frames as f64,
                        p.machine_us_per_frame
                    ),
                    "report",
                    None,
                ));
            }
            let p99_goal = p.rate == 10.0;
            rows.push(row(
                &run,
                "latency p50 / p99 / max",
                format!(
                    "{:.0} / {:.0} / {:.0} ms",
                    p.latency.p50_ms, p.latency.p99_ms, p.latency.max_ms
                ),
                if p99_goal { "p99 ≤ 200 ms" } else { "report" },
                p99_goal.then_some(p.latency.p99_ms <= 200.0),
            ));
            rows.push(row(
                &run,
                "gaps / resyncs / closes",
                format!("{} / {} / {}", p.gaps, p.resyncs, p.closes.values().sum::<u64>()),
                "0 gaps",
                Some(p.gaps == 0 && p.resyncs == 0),
            ));
            if let Some(cpu) = p.server.first() {
                let value = format!(
                    "{:.0}% / {:.0}% of a core; machine {:.0}% of {}00% ({:.0}% softirq)",
                    cpu.cpu_percent,
                    p.loadgen_cpu_percent,
                    p.machine_cpu_percent,
                    cores(),
                    p.softirq_percent
                );
                rows.push(row(
                    &run,
                    "CPU: server / loadgen; whole machine",
                    value,
                    "report",
                    None,
                ));
            }
        }
        let off = s.phases.iter().find(|p| p.kind == "abuse-off");
        let on = s.phases.iter().find(|p| p.kind == "abuse-on");
        if let (Some(off), Some(on)) = (off, on) {
            let run = format!(
                "abuse, broadcast {}/s to {} clients",
                on.rate,
                thousands(on.subscribers as f64)
            );
            let ratio = if off.latency.p99_ms > 0.0 {
                on.latency.p99_ms / off.latency.p99_ms
            } else {
                f64::INFINITY
            };
            rows.push(row(
                &run,
                "normal clients' p99 without / with abusers",
                format!(
                    "{:.0} / {:.0} ms ({ratio:.2}×)",
                    off.latency.p99_ms, on.latency.p99_ms
                ),
                "≤ 2×",
                Some(ratio <= 2.0),
            ));
            rows.push(row(
                &run,
                "normal clients' gaps / delivered / expected",
                format!(
                    "{} / {} / {}",
                    on.gaps,
                    thousands(on.delivered as f64),
                    thousands(on.expected as f64)
                ),
                "0 gaps, all",
                Some(on.gaps == 0 && on.delivered == on.expected),
            ));
            for a in &s.abuse {
                rows.push(row(
                    &run,
                    &format!("abuser: {} ({} attempts)", a.kind, a.attempts),
                    map(&a.outcomes),
                    &a.expected,
                    Some(a.met),
                ));
            }
        }
    }
    if !b.cluster.is_empty() {
        let conns: u64 = b.cluster.iter().map(|r| r.connected).sum();
        let asked: usize = b.cluster.iter().map(|r| r.connections_requested).sum();
        let nodes: std::collections::BTreeSet<&String> =
            b.cluster.iter().flat_map(|r| r.nodes.iter()).collect();
        let run = format!(
            "cluster, {} nodes, {} conns",
            nodes.len(),
            thousands(conns as f64)
        );
        rows.push(row(
            &run,
            "connected / asked",
            format!("{} / {}", thousands(conns as f64), thousands(asked as f64)),
            "all",
            Some(conns as usize == asked),
        ));
        let votes: Vec<&PhaseReport> = b
            .cluster
            .iter()
            .flat_map(|r| r.phases.iter().filter(|p| p.kind == "votes"))
            .collect();
        if !votes.is_empty() {
            let (_, tally) = merged(&votes);
            let sent: u64 = votes.iter().map(|p| p.sent).sum();
            let ok: u64 = votes.iter().map(|p| p.sent_ok).sum();
            let rate = votes.first().map(|p| p.rate).unwrap_or(0.0);
            let failed: BTreeMap<String, u64> =
                votes
                    .iter()
                    .flat_map(|p| p.send_failed.clone())
                    .fold(BTreeMap::new(), |mut m, (k, v)| {
                        *m.entry(k).or_default() += v;
                        m
                    });
            rows.push(row(
                &run,
                &format!("votes at {rate}/s: acknowledged / sent"),
                format!(
                    "{} / {} (failed: {})",
                    thousands(ok as f64),
                    thousands(sent as f64),
                    map(&failed)
                ),
                "all",
                Some(ok == sent && sent > 0),
            ));
            let send_p99 = votes
                .iter()
                .filter(|p| p.sent > 0)
                .map(|p| p.send_latency.p99_ms)
                .fold(0.0, f64::max);
            rows.push(row(
                &run,
                "vote answer p99 (from intended send)",
                format!("{send_p99:.0} ms"),
                "report",
                None,
            ));
            let tallies: u64 = votes.iter().map(|p| p.tallies).sum();
            rows.push(row(
                &run,
                "tally delivery p50 / p99 / max (vote's intended send → count seen)",
                format!(
                    "{:.0} / {:.0} / {:.0} ms ({} tallies)",
                    tally.p50_ms,
                    tally.p99_ms,
                    tally.max_ms,
                    thousands(tallies as f64)
                ),
                "p99 < 1 s",
                Some(tally.count > 0 && tally.p99_ms < 1000.0),
            ));
            // Every process shares one timeline and one machine: frames add up, the machine is one.
            let frames_per_sec: f64 = votes.iter().map(|p| p.frames_per_sec).sum();
            if let Some(first) = votes.first()
                && frames_per_sec > 0.0
            {
                rows.push(row(
                    &run,
                    "frames read/s (every load generator); machine CPU per frame",
                    format!(
                        "{}/s; {:.1} µs ({:.0}% of {}00%)",
                        thousands(frames_per_sec),
                        machine_us_per_frame(first.machine_cpu_percent, frames_per_sec),
                        first.machine_cpu_percent,
                        cores()
                    ),
                    "report",
                    None,
                ));
            }
            let cpu: Vec<String> = votes
                .iter()
                .flat_map(|p| p.server.iter().map(|s| format!("{:.0}", s.cpu_percent)))
                .collect();
            rows.push(row(
                &run,
                "nodes' CPU during the storm",
                format!("{}% of a core", cpu.join(", ")),
                "report",
                None,
            ));
        }
        if let (Some(secs), Some(span)) = (b.redis_cpu_secs, b.redis_span_secs) {
            rows.push(row(
                &run,
                "Redis CPU over the storm",
                format!(
                    "{secs:.2} s in {span:.0} s ({:.0}% of a core)",
                    secs / span.max(1e-9) * 100.0
                ),
                "report",
                None,
            ));
        }
    }
    let mut out = String::from("| run | measure | value | goal | met |\n| --- | --- | --- | --- | --- |\n");
    for r in rows {
        let met = match r.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.run, r.measure, r.value, r.goal, met
        );
    }
    out
}

/// The database behind a node of the vote benchmark, which sets its CPU goals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: SQLite and the memory broker.
    Sqlite,
    /// PostgreSQL (on this machine, so its CPU can be read), with either broker.
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Votes per second acknowledged that a node should sustain, on either backend.
pub const GOAL_ACKED_PER_SEC: f64 = 10_000.0;
/// jamd CPU per acknowledged vote, µs: on SQLite (which runs inside jamd), and on PostgreSQL.
pub const GOAL_JAMD_US_SQLITE: f64 = 100.0;
pub const GOAL_JAMD_US_POSTGRES: f64 = 60.0;
/// PostgreSQL's CPU (all its processes) per acknowledged vote, µs.
pub const GOAL_POSTGRES_US: f64 = 80.0;

/// One row of the vote benchmark: one run's vote storm, through HTTP against one node.
#[derive(Debug, Clone)]
pub struct VoteRow {
    pub backend: Backend,
    pub offered: f64,
    pub acked: u64,
    pub acked_per_sec: f64,
    pub refused_per_sec: f64,
    /// Other non-2xx answers and failed requests, per second.
    pub errors_per_sec: f64,
    pub not_sent: u64,
    /// CPU per acknowledged vote, µs: jamd's, and all PostgreSQL processes' (None on SQLite).
    pub jamd_us: Option<f64>,
    pub postgres_us: Option<f64>,
    pub ok_latency: Quantiles,
    pub refused_latency: Quantiles,
    pub tally: Quantiles,
    /// Share of (vote, probe connection) pairs whose tally never came by the row's end.
    pub tally_unseen_share: f64,
    pub voters: usize,
    pub connected: u64,
    pub connections_requested: usize,
}

/// CPU seconds per event in µs; none without events.
fn us_per(cpu_secs: f64, n: u64) -> Option<f64> {
    (n > 0).then(|| cpu_secs * 1e6 / n as f64)
}

/// The row of a run's vote storm (none if it had no storm). The node is the run's first server
/// pid; PostgreSQL's CPU is that of the command `postgres` (`run --cpu-of postgres`).
pub fn vote_row(backend: Backend, r: &Report) -> Option<VoteRow> {
    let p = r.phases.iter().find(|p| p.kind == "votes")?;
    let refused = p.refused;
    let failed: u64 = p.send_failed.values().sum();
    let errors = failed.saturating_sub(refused + p.not_sent);
    let per_sec = |n: u64| crate::drive::per_sec(n, p.answer_span_secs);
    let postgres = p.commands.iter().find(|c| c.command == "postgres");
    let pairs = p.tally_ack_latency.count + p.tally_ack_unseen;
    Some(VoteRow {
        backend,
        offered: p.rate,
        acked: p.sent_ok,
        acked_per_sec: per_sec(p.sent_ok),
        refused_per_sec: per_sec(refused),
        errors_per_sec: per_sec(errors),
        not_sent: p.not_sent,
        jamd_us: p.server.first().and_then(|s| us_per(s.cpu_secs, p.sent_ok)),
        postgres_us: match backend {
            Backend::Sqlite => None,
            Backend::Postgres => postgres.and_then(|c| us_per(c.cpu_secs, p.sent_ok)),
        },
        ok_latency: p.ok_latency.clone(),
        refused_latency: p.refused_latency.clone(),
        tally: p.tally_ack_latency.clone(),
        tally_unseen_share: if pairs > 0 {
            p.tally_ack_unseen as f64 / pairs as f64
        } else {
            0.0
        },
        voters: r.voters,
        connected: r.connected,
        connections_requested: r.connections_requested,
    })
}

/// The offered rates of the rows: `times` × what the probe run acknowledged per second, rounded to
/// tens (at least 10/s).
pub fn offered_rates(probe: &VoteRow, times: &[f64]) -> Vec<f64> {
    times
        .iter()
        .map(|t| ((probe.acked_per_sec * t / 10.0).round() * 10.0).max(10.0))
        .collect()
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

/// The goals of one backend, from its rows: the best acknowledged rate, and the CPU per vote at the
/// lowest offered rate (1× what the node sustains; above it, refusals and queues add their cost).
pub fn vote_goals(rows: &[VoteRow]) -> Vec<String> {
    let mut out = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let mine: Vec<&VoteRow> = rows.iter().filter(|r| r.backend == backend).collect();
        let Some(best) = mine
            .iter()
            .max_by(|a, b| a.acked_per_sec.total_cmp(&b.acked_per_sec))
        else {
            continue;
        };
        let name = backend.name();
        out.push(format!(
            "- {name}: ≥ {} votes/s acknowledged: {}/s (best row, {}/s offered): {}",
            thousands(GOAL_ACKED_PER_SEC),
            thousands(best.acked_per_sec),
            thousands(best.offered),
            verdict(best.acked_per_sec >= GOAL_ACKED_PER_SEC)
        ));
        let Some(base) = mine.iter().min_by(|a, b| a.offered.total_cmp(&b.offered)) else {
            continue;
        };
        let at = format!("at {}/s offered", thousands(base.offered));
        let mut cpu_goal = |what: &str, value: Option<f64>, goal: f64| {
            out.push(match value {
                Some(us) => format!(
                    "- {name}: ≤ {goal:.0} µs {what} CPU per vote: {us:.0} µs ({at}): {}",
                    verdict(us <= goal)
                ),
                None => {
                    format!("- {name}: ≤ {goal:.0} µs {what} CPU per vote: not measured ({at}): **missed**")
                }
            });
        };
        match backend {
            Backend::Sqlite => cpu_goal("jamd", base.jamd_us, GOAL_JAMD_US_SQLITE),
            Backend::Postgres => {
                cpu_goal("jamd", base.jamd_us, GOAL_JAMD_US_POSTGRES);
                cpu_goal("PostgreSQL", base.postgres_us, GOAL_POSTGRES_US);
            }
        }
    }
    out
}

/// The vote benchmark's table (markdown), one row per run, then the goals.
pub fn vote_table(rows: &[VoteRow]) -> String {
    let mut out = String::from(
        "| backend | offered/s | acknowledged/s | refused/s (503) | errors/s | not sent | jamd µs/vote | \
         PostgreSQL µs/vote | answer p50 / p99 ms | refused p50 / p99 ms | tally p99 ms | voters |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let us = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}"));
    let ms = |q: &Quantiles| {
        if q.count == 0 {
            "-".to_owned()
        } else {
            format!("{:.1} / {:.1}", q.p50_ms, q.p99_ms)
        }
    };
    for r in rows {
        let tally = match (r.tally.count, r.tally_unseen_share) {
            (0, _) => "-".to_owned(),
            (_, share) if share > 0.0 => {
                format!("{:.0} ({:.1}% never shown)", r.tally.p99_ms, share * 100.0)
            }
            _ => format!("{:.0}", r.tally.p99_ms),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.backend.name(),
            thousands(r.offered),
            thousands(r.acked_per_sec),
            thousands(r.refused_per_sec),
            thousands(r.errors_per_sec),
            thousands(r.not_sent as f64),
            us(r.jamd_us),
            match r.backend {
                Backend::Sqlite => "-".to_owned(),
                Backend::Postgres => us(r.postgres_us),
            },
            ms(&r.ok_latency),
            ms(&r.refused_latency),
            tally,
            thousands(r.voters as f64),
        );
    }
    for r in rows {
        if r.connected < r.connections_requested as u64 {
            let _ = writeln!(
                out,
                "\nNote: {} at {}/s: {} of {} connections opened.",
                r.backend.name(),
                thousands(r.offered),
                thousands(r.connected as f64),
                thousands(r.connections_requested as f64)
            );
        }
    }
    out.push('\n');
    for line in vote_goals(rows) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(1234567.0), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(0.0), "0");
    }

    fn storm(rate: f64, ok: u64, refused: u64, not_sent: u64, jamd_secs: f64, pg_secs: f64) -> Report {
        let mut send_failed = BTreeMap::new();
        send_failed.insert("HTTP 503".to_owned(), refused);
        send_failed.insert(crate::drive::NOT_SENT.to_owned(), not_sent);
        send_failed.insert("HTTP 500".to_owned(), 10);
        Report {
            connected: 1000,
            connections_requested: 1000,
            voters: 2000,
            phases: vec![PhaseReport {
                kind: "votes".into(),
                rate,
                sent_ok: ok,
                refused,
                not_sent,
                send_failed,
                answer_span_secs: 10.0,
                server: vec![crate::run::ServerUse {
                    pid: 1,
                    cpu_percent: 0.0,
                    rss_kib: 0,
                    cpu_secs: jamd_secs,
                }],
                commands: vec![crate::run::CommandUse {
                    command: "postgres".into(),
                    cpu_secs: pg_secs,
                    processes: 5,
                }],
                tally_ack_latency: Quantiles {
                    count: 90,
                    p50_ms: 300.0,
                    p99_ms: 700.0,
                    max_ms: 800.0,
                },
                tally_ack_unseen: 10,
                ..PhaseReport::default()
            }],
            ..Report::default()
        }
    }

    #[test]
    fn a_vote_row_divides_cpu_by_acknowledged_votes_and_counts_by_the_answer_span() {
        // 50,000 votes acknowledged in 10 s with 4 s of jamd and 3 s of PostgreSQL: 80 and 60 µs each.
        let r = vote_row(Backend::Postgres, &storm(8000.0, 50_000, 20_000, 500, 4.0, 3.0)).unwrap();
        assert_eq!(r.acked_per_sec, 5000.0);
        assert_eq!(r.refused_per_sec, 2000.0);
        // Only the 500s are errors: refusals and requests never sent are counted apart.
        assert_eq!(r.errors_per_sec, 1.0);
        assert_eq!(r.jamd_us, Some(80.0));
        assert_eq!(r.postgres_us, Some(60.0));
        assert_eq!(r.tally_unseen_share, 0.1);
        let sqlite = vote_row(Backend::Sqlite, &storm(8000.0, 50_000, 0, 0, 4.0, 3.0)).unwrap();
        assert_eq!(
            sqlite.postgres_us, None,
            "PostgreSQL idling beside SQLite is not counted"
        );
        let none = vote_row(Backend::Sqlite, &storm(8000.0, 0, 0, 0, 4.0, 3.0)).unwrap();
        assert_eq!(none.jamd_us, None);
        assert!(vote_row(Backend::Sqlite, &Report::default()).is_none());
    }

    #[test]
    fn rows_are_offered_at_multiples_of_what_the_probe_acknowledged() {
        let probe = vote_row(Backend::Sqlite, &storm(40_000.0, 31_234, 0, 0, 1.0, 0.0)).unwrap();
        assert_eq!(
            offered_rates(&probe, &[1.0, 2.0, 4.0]),
            vec![3120.0, 6250.0, 12490.0]
        );
        let dead = vote_row(Backend::Sqlite, &storm(40_000.0, 0, 0, 0, 1.0, 0.0)).unwrap();
        assert_eq!(offered_rates(&dead, &[1.0]), vec![10.0]);
    }

    #[test]
    fn goals_take_the_best_rate_and_the_cpu_at_the_lowest_offered_rate() {
        let rows = [
            // 1×: 11,000/s with 50 µs + 70 µs; 4×: fewer acknowledged, dearer.
            vote_row(Backend::Postgres, &storm(11_000.0, 110_000, 0, 0, 5.5, 7.7)).unwrap(),
            vote_row(Backend::Postgres, &storm(44_000.0, 90_000, 300_000, 0, 9.0, 9.0)).unwrap(),
            vote_row(Backend::Sqlite, &storm(3_000.0, 30_000, 0, 0, 6.0, 0.0)).unwrap(),
        ];
        let goals = vote_goals(&rows);
        assert_eq!(goals.len(), 5, "{goals:#?}");
        assert!(goals[0].starts_with("- SQLite: ≥ 10,000") && goals[0].ends_with("**missed**"));
        assert!(
            goals[1].contains("200 µs") && goals[1].ends_with("**missed**"),
            "{}",
            goals[1]
        );
        assert!(
            goals[2].contains("11,000/s (best row, 11,000/s offered): met"),
            "{}",
            goals[2]
        );
        assert!(goals[3].contains("jamd CPU per vote: 50 µs") && goals[3].ends_with(": met"));
        assert!(goals[4].contains("PostgreSQL CPU per vote: 70 µs") && goals[4].ends_with(": met"));
        let table = vote_table(&rows);
        assert_eq!(
            table.lines().filter(|l| l.starts_with("| PostgreSQL |")).count(),
            2
        );
        assert!(
            table.contains("| SQLite | 3,000 | 3,000 | 0 | 1 | 0 | 200 | - |"),
            "{table}"
        );
    }
}
