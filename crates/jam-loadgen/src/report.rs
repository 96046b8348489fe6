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

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(1234567.0), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(0.0), "0");
    }
}
