//! What the connections measure, gathered in shards (a connection locks its shard once per frame),
//! and samples of the server process from `/proc`.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

const SHARDS: usize = 32;
/// Latencies are recorded in microseconds, from 1 µs to one hour, at 2 significant figures (a
/// histogram is then a few KiB, so every shard and phase can have its own).
const MAX_MICROS: u64 = 3_600_000_000;

pub fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

pub fn histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, MAX_MICROS, 2) {
        Ok(h) => h,
        // Constant bounds that hdrhistogram accepts (low >= 1, high >= 2 * low, sigfig <= 5).
        Err(e) => unreachable!("histogram bounds: {e:?}"),
    }
}

/// One shard's counts since the last `take`.
#[derive(Debug, Clone)]
pub struct Counts {
    /// End-to-end latency of delivered driver events, from their intended send time.
    pub latency: Histogram<u64>,
    /// From the intended send time of the vote that made a count to its arrival in a `tally`.
    pub tally_latency: Histogram<u64>,
    pub frames: u64,
    pub bytes: u64,
    /// Messages of any type.
    pub messages: u64,
    /// `event` messages.
    pub events: u64,
    /// Driver events (with a marker) delivered.
    pub delivered: u64,
    pub tallies: u64,
    /// Times a topic's offsets jumped, and the offsets skipped.
    pub gaps: u64,
    pub missing: u64,
    /// Offsets seen again or going backwards.
    pub duplicates: u64,
    pub resyncs: u64,
    /// `error` messages, by code.
    pub errors: BTreeMap<String, u64>,
    /// Connections closed by the server, by close code (0: dropped without a close frame).
    pub closes: BTreeMap<u16, u64>,
    /// Frames that were not the live protocol's JSON.
    pub unreadable: u64,
    pub last_delivery_ns: u64,
    /// Counts shown by `tally` frames on probe connections, when the vote plan asks for them.
    pub tally_seen: Vec<Seen>,
}

impl Default for Counts {
    fn default() -> Self {
        Counts {
            latency: histogram(),
            tally_latency: histogram(),
            frames: 0,
            bytes: 0,
            messages: 0,
            events: 0,
            delivered: 0,
            tallies: 0,
            gaps: 0,
            missing: 0,
            duplicates: 0,
            resyncs: 0,
            errors: BTreeMap::new(),
            closes: BTreeMap::new(),
            unreadable: 0,
            last_delivery_ns: 0,
            tally_seen: Vec::new(),
        }
    }
}

impl Counts {
    pub fn merge(&mut self, other: &Counts) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.tally_latency.add(&other.tally_latency);
        self.frames += other.frames;
        self.bytes += other.bytes;
        self.messages += other.messages;
        self.events += other.events;
        self.delivered += other.delivered;
        self.tallies += other.tallies;
        self.gaps += other.gaps;
        self.missing += other.missing;
        self.duplicates += other.duplicates;
        self.resyncs += other.resyncs;
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.closes {
            *self.closes.entry(*k).or_default() += v;
        }
        self.unreadable += other.unreadable;
        self.last_delivery_ns = self.last_delivery_ns.max(other.last_delivery_ns);
        self.tally_seen.extend_from_slice(&other.tally_seen);
    }

    pub fn record_latency_ns(hist: &mut Histogram<u64>, ns: u64) {
        let micros = (ns / 1000).clamp(1, MAX_MICROS);
        let _ = hist.record(micros);
    }
}

/// Every connection's counts, in shards.
pub struct Stats {
    shards: Vec<Mutex<Counts>>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            shards: (0..SHARDS).map(|_| Mutex::new(Counts::default())).collect(),
        }
    }
}

impl Stats {
    pub fn shard(&self, i: usize) -> MutexGuard<'_, Counts> {
        // A poisoned shard still holds valid counts (every update is a plain add).
        self.shards[i % SHARDS]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Driver events delivered since the last `take`, without taking them.
    pub fn delivered(&self) -> u64 {
        (0..SHARDS).map(|i| self.shard(i).delivered).sum()
    }

    /// Everything counted since the last call, and starts afresh.
    pub fn take(&self) -> Counts {
        let mut total = Counts::default();
        for i in 0..SHARDS {
            let taken = std::mem::take(&mut *self.shard(i));
            total.merge(&taken);
        }
        total
    }
}

/// A histogram as (value µs, count) pairs, so that several processes' runs can be merged exactly.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Buckets(pub Vec<(u64, u64)>);

impl Buckets {
    pub fn of(h: &Histogram<u64>) -> Self {
        Buckets(
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        )
    }

    pub fn to_histogram(&self) -> Histogram<u64> {
        let mut h = histogram();
        for &(value, count) in &self.0 {
            let _ = h.record_n(value.clamp(1, MAX_MICROS), count);
        }
        h
    }
}

/// Quantiles in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Quantiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Quantiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Quantiles::default();
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        Quantiles {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

/// A server process at one moment: resident memory and CPU time used so far.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct ProcSample {
    pub rss_kib: u64,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    pub at_unix_ns: u64,
}

/// The whole machine's CPU time from `/proc/stat` (every core), in clock ticks. Loopback TCP's
/// receive path runs as softirq work that no process's own time counts, so a phase's process figures
/// can leave the machine looking idle when it is not; this says how busy it was.
#[derive(Debug, Clone, Copy)]
pub struct MachineSample {
    /// Ticks not idle and not waiting on I/O.
    pub busy: u64,
    pub softirq: u64,
    pub total: u64,
    pub at_unix_ns: u64,
}

impl MachineSample {
    pub fn read() -> Option<MachineSample> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        Self::parse(stat.lines().next()?)
    }

    /// The `cpu` line: user nice system idle iowait irq softirq steal [guest guest_nice], where the
    /// guest times are already inside user and nice.
    fn parse(line: &str) -> Option<MachineSample> {
        let mut fields = line.split_whitespace();
        if fields.next()? != "cpu" {
            return None;
        }
        let ticks: Vec<u64> = fields.take(8).map(|f| f.parse().ok()).collect::<Option<_>>()?;
        let [user, nice, system, idle, iowait, irq, softirq, steal] = ticks[..] else {
            return None;
        };
        let total = user + nice + system + idle + iowait + irq + softirq + steal;
        Some(MachineSample {
            busy: total - idle - iowait,
            softirq,
            total,
            at_unix_ns: now_unix_ns(),
        })
    }

    /// (busy, softirq) between two samples, in percent of one core (200 = two cores fully busy).
    pub fn percent_since(&self, earlier: &MachineSample) -> (f64, f64) {
        let secs = (self.at_unix_ns.saturating_sub(earlier.at_unix_ns)) as f64 / 1e9;
        if secs <= 0.0 {
            return (0.0, 0.0);
        }
        let per_core = |ticks: u64| ticks as f64 / CLK_TCK / secs * 100.0;
        (
            per_core(self.busy.saturating_sub(earlier.busy)),
            per_core(self.softirq.saturating_sub(earlier.softirq)),
        )
    }
}

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`; 100 on Linux for x86 and arm).
pub const CLK_TCK: f64 = 100.0;

impl ProcSample {
    pub fn read(pid: u32) -> Option<ProcSample> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (_, cpu_ticks) = parse_stat(&stat)?;
        Some(ProcSample {
            rss_kib,
            cpu_ticks,
            at_unix_ns: now_unix_ns(),
        })
    }

    /// CPU use between two samples, in percent of one core.
    pub fn cpu_percent_since(&self, earlier: &ProcSample) -> f64 {
        let secs = (self.at_unix_ns.saturating_sub(earlier.at_unix_ns)) as f64 / 1e9;
        if secs <= 0.0 {
            return 0.0;
        }
        (self.cpu_ticks.saturating_sub(earlier.cpu_ticks)) as f64 / CLK_TCK / secs * 100.0
    }
}

/// `(command name, utime + stime in clock ticks)` from the text of `/proc/PID/stat`.
fn parse_stat(stat: &str) -> Option<(&str, u64)> {
    // The name sits in parentheses and may itself hold spaces and parentheses: it ends at the last `)`.
    let (head, after) = stat.rsplit_once(')')?;
    let (_, comm) = head.split_once('(')?;
    // After the name come the state (field 3) …, utime (field 14) and stime (field 15).
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

/// CPU time so far of every process named `comm` (as `/proc/PID/stat` names it, e.g. `postgres`
/// for the server and each of its backends), in clock ticks by pid.
pub fn command_cpu_ticks(comm: &str) -> BTreeMap<u32, u64> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return BTreeMap::new();
    };
    dir.filter_map(|entry| {
        let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        // A process may end between the listing and the read: it is then left out.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (name, ticks) = parse_stat(&stat)?;
        (name == comm).then_some((pid, ticks))
    })
    .collect()
}

/// CPU seconds the processes used between two `command_cpu_ticks` samples. A process that started
/// meanwhile counts whole; one that ended meanwhile is lost (its last ticks cannot be read), so
/// long-lived processes (a connection pool's backends) are what this measures well.
pub fn cpu_secs_between(before: &BTreeMap<u32, u64>, after: &BTreeMap<u32, u64>) -> f64 {
    let ticks: u64 = after
        .iter()
        .map(|(pid, now)| now.saturating_sub(before.get(pid).copied().unwrap_or(0)))
        .sum();
    ticks as f64 / CLK_TCK
}

/// One acknowledged vote: its idea (index in the storm's list), the idea's `up` count that the
/// answer reported (read after the vote committed, so it includes the vote), and when the answer
/// came (Unix ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    pub idea: u32,
    pub up: u64,
    pub at_ns: u64,
}

/// One idea's `up` count as a `tally` frame showed it on one connection, and when (Unix ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub connection: u32,
    pub idea: u32,
    pub up: u64,
    pub at_ns: u64,
}

/// From acknowledgement to live tally: for each acknowledged vote and each connection that showed
/// tallies, the time from the acknowledgement to the first `tally` frame on that connection whose
/// count for the vote's idea reached the count the acknowledgement reported.
#[derive(Debug, Clone)]
pub struct AckToTally {
    /// One entry per (vote, connection) pair seen; a tally that came before the acknowledgement
    /// counts as the smallest value (the count was out before the voter heard back).
    pub latency: Histogram<u64>,
    /// (vote, connection) pairs whose count that connection never showed.
    pub unseen: u64,
    /// Connections that showed at least one tally.
    pub connections: u64,
}

/// Joins acknowledgements with tallies seen (see `AckToTally`). Exact only while counts can only
/// grow (every vote a fresh +1, as in the storm): then a count at or past the acknowledged one was
/// read after the vote committed, so it includes the vote.
pub fn ack_to_tally(acks: &[Ack], seen: &[Seen]) -> AckToTally {
    let mut by_idea: BTreeMap<u32, Vec<&Ack>> = BTreeMap::new();
    for a in acks {
        by_idea.entry(a.idea).or_default().push(a);
    }
    for list in by_idea.values_mut() {
        list.sort_by_key(|a| (a.up, a.at_ns));
    }
    let mut seen: Vec<&Seen> = seen.iter().collect();
    seen.sort_by_key(|s| (s.connection, s.idea, s.at_ns));
    let mut out = AckToTally {
        latency: histogram(),
        unseen: 0,
        connections: 0,
    };
    for per_connection in seen.chunk_by(|a, b| a.connection == b.connection) {
        out.connections += 1;
        let mut shown = per_connection.chunk_by(|a, b| a.idea == b.idea).peekable();
        for (idea, votes) in &by_idea {
            // Ideas this connection never showed a count for: every vote on them is unseen.
            while shown.next_if(|t| t[0].idea < *idea).is_some() {}
            let Some(tallies) = shown.next_if(|t| t[0].idea == *idea) else {
                out.unseen += votes.len() as u64;
                continue;
            };
            // Votes in rising count, tallies in arrival: one pass, keeping the highest count shown
            // so far (a later frame never undoes a count, but the highest is what includes a vote).
            let mut t = 0;
            let mut highest = 0;
            for vote in votes {
                while highest < vote.up && t < tallies.len() {
                    highest = highest.max(tallies[t].up);
                    t += 1;
                }
                // The frame that first reached the count is the last one passed: the frames before
                // it stayed below an earlier vote's count, which is at most this one's.
                match t.checked_sub(1).map(|i| tallies[i]) {
                    Some(frame) if highest >= vote.up => {
                        Counts::record_latency_ns(&mut out.latency, frame.at_ns.saturating_sub(vote.at_ns))
                    }
                    _ => out.unseen += 1,
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn buckets_round_trip_quantiles() {
        let mut h = histogram();
        for v in 1..=1000 {
            h.record(v * 100).unwrap();
        }
        let back = Buckets::of(&h).to_histogram();
        assert_eq!(back.len(), h.len());
        assert_eq!(back.value_at_quantile(0.99), h.value_at_quantile(0.99));
    }

    #[test]
    fn the_machine_line_counts_busy_and_softirq_time() {
        let a = MachineSample::parse("cpu  100 5 50 1000 20 3 7 0 0 0").unwrap();
        assert_eq!((a.busy, a.softirq, a.total), (165, 7, 1185));
        let b = MachineSample {
            busy: a.busy + 150,
            softirq: a.softirq + 40,
            total: a.total + 200,
            at_unix_ns: a.at_unix_ns + 1_000_000_000,
        };
        // 150 busy ticks in one second on CLK_TCK 100: one and a half cores.
        assert_eq!(b.percent_since(&a), (150.0, 40.0));
        assert!(MachineSample::parse("cpu0 1 2 3 4 5 6 7 8").is_none());
        assert!(MachineSample::parse("cpu 1 2 3").is_none());
        assert!(MachineSample::read().is_some(), "this machine has /proc/stat");
    }

    #[test]
    fn this_process_can_be_sampled_and_its_cpu_counts() {
        let before = ProcSample::read(std::process::id()).unwrap();
        assert!(before.rss_kib > 0);
        // Busy for a while on another thread: the process's ticks must grow.
        std::thread::spawn(|| {
            let start = std::time::Instant::now();
            let mut x = 0u64;
            while start.elapsed() < std::time::Duration::from_millis(300) {
                x = x.wrapping_mul(31).wrapping_add(7);
            }
            std::hint::black_box(x);
        })
        .join()
        .unwrap();
        let after = ProcSample::read(std::process::id()).unwrap();
        assert!(after.cpu_ticks > before.cpu_ticks, "{before:?} {after:?}");
        assert!(after.cpu_percent_since(&before) > 0.0);
    }

    #[test]
    fn a_stat_line_gives_the_name_and_user_plus_system_ticks() {
        let line = "2238 (postgres) S 2237 2238 2238 0 -1 4194368 601 0 1 0 6 15 0 0 20 0 1 0 3533";
        assert_eq!(parse_stat(line), Some(("postgres", 21)));
        // A name with spaces and parentheses ends at the last `)`.
        let odd = "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 100 250 0 0 20 0 1 0 9";
        assert_eq!(parse_stat(odd), Some(("a (b) c", 350)));
        assert_eq!(parse_stat("7 (short) R 1 2"), None);
    }

    #[test]
    fn processes_are_found_by_name_and_their_cpu_is_summed_per_pid() {
        let own = std::fs::read_to_string("/proc/self/stat").unwrap();
        let (name, _) = parse_stat(&own).unwrap();
        let found = command_cpu_ticks(name);
        assert!(found.contains_key(&std::process::id()), "{name}: {found:?}");
        assert!(command_cpu_ticks("no such command, surely").is_empty());

        let before = BTreeMap::from([(1, 100), (2, 50), (3, 70)]);
        // 1 used 30 ticks, 2 ended (lost), 4 started and used 20: 50 ticks, half a second.
        let after = BTreeMap::from([(1, 130), (3, 70), (4, 20)]);
        assert_eq!(cpu_secs_between(&before, &after), 0.5);
    }

    #[test]
    fn each_acknowledged_vote_is_timed_to_the_first_tally_showing_its_count() {
        let ack = |idea, up, at_ns| Ack { idea, up, at_ns };
        let seen = |connection, idea, up, at_ns| Seen {
            connection,
            idea,
            up,
            at_ns,
        };
        let acks = [
            ack(0, 1, 1_000_000),
            ack(0, 2, 2_000_000),
            ack(0, 3, 3_000_000),
            ack(1, 1, 1_000_000),
        ];
        let tallies = [
            // Connection 7 shows idea 0 at 2 after 5 ms, then at 3 after 10 ms; idea 1 never.
            seen(7, 0, 3, 10_000_000),
            seen(7, 0, 2, 5_000_000),
            // Connection 9 shows idea 0 at 3 before the third answer came, and idea 1 at 1.
            seen(9, 0, 3, 2_500_000),
            seen(9, 1, 1, 1_500_000),
        ];
        let r = ack_to_tally(&acks, &tallies);
        assert_eq!(r.connections, 2);
        // Connection 7: idea 1's vote is unseen. Connection 9 saw everything.
        assert_eq!(r.unseen, 1);
        let micros: Vec<u64> = r
            .latency
            .iter_recorded()
            .flat_map(|v| std::iter::repeat_n(v.value_iterated_to(), v.count_at_value() as usize))
            .collect();
        // Connection 7: 4 ms, 3 ms, 7 ms; connection 9: 1.5 ms, 0.5 ms, none (1 µs), 0.5 ms.
        let mut expected = vec![4000, 3000, 7000, 1500, 500, 1, 500];
        expected.sort_unstable();
        assert_eq!(micros.len(), expected.len());
        for (got, want) in micros.iter().zip(&expected) {
            // The histogram keeps 2 significant figures.
            assert!(got.abs_diff(*want) <= want / 50 + 1, "{micros:?} vs {expected:?}");
        }
    }

    #[test]
    fn a_count_never_reached_leaves_the_vote_unseen() {
        let acks = [Ack {
            idea: 0,
            up: 5,
            at_ns: 0,
        }];
        let seen = [Seen {
            connection: 1,
            idea: 0,
            up: 4,
            at_ns: 1,
        }];
        let r = ack_to_tally(&acks, &seen);
        assert_eq!((r.unseen, r.latency.len(), r.connections), (1, 0, 1));
        assert_eq!(ack_to_tally(&acks, &[]).connections, 0);
    }
}
