//! One load-generator process's run: set up (or read) the jam, join participants, open and subscribe
//! the connections, then the phases on a fixed timeline from the start time (so that several
//! processes started with the same `--start-at` run the same phases at the same moments):
//! idle, one broadcast phase per event rate, the vote storm, and the abuse pair (without and with
//! abusers). Each phase is `phase_secs` of load then `drain_secs` for deliveries to arrive.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::Error;
use crate::abuse::{self, AbuseReport, Abuser};
use crate::api::{self, Api, Fixture};
use crate::drive::{self, Driven, instant_at};
use crate::live::{self, Shared, Target, VotePlan};
use crate::net::{self, Sources};
use crate::stats::{
    self, Buckets, CLK_TCK, Counts, MachineSample, ProcSample, Quantiles, Stats, now_unix_ns,
};

/// Connections one process may open: the file descriptor limit is 20,000 and cannot be raised
/// (`DESIGN.md` §8); the rest is headroom for HTTP clients and the runtime.
pub const MAX_CONNECTIONS: usize = 19_500;

/// Everything a run needs. See `jam-loadgen run --help` for each option.
#[derive(Debug, Clone)]
pub struct Options {
    pub label: String,
    pub nodes: Vec<SocketAddr>,
    /// Nodes the drivers' HTTP requests go to, round robin (empty: `nodes`).
    pub drive_nodes: Vec<SocketAddr>,
    pub origin: String,
    pub staff_email: String,
    pub staff_password: String,
    pub fixture: Option<Fixture>,
    pub vote_ideas: usize,
    pub connections: usize,
    pub participants: usize,
    pub sources: Sources,
    pub connect_concurrency: usize,
    pub read_buffer: usize,
    pub start_at_unix_ms: Option<u64>,
    /// A file that will hold the start (Unix ms), written once every process has ramped; read after
    /// this process's ramp (and printing `ramp done`). Overrides `start_at_unix_ms`.
    pub start_file: Option<std::path::PathBuf>,
    pub idle_secs: f64,
    pub event_rates: Vec<f64>,
    pub phase_secs: f64,
    pub drain_secs: f64,
    /// Single-process runs: how much longer a phase may wait for its backlog after `drain_secs`.
    pub drain_max_secs: f64,
    pub vote_rate: f64,
    pub abuse_rate: f64,
    /// Seconds of load of each abuse phase (longer than a broadcast phase, so that the client that
    /// never reads fills its socket and then its queue at the abuse rate).
    pub abuse_secs: f64,
    pub drive: bool,
    pub http_clients: usize,
    pub server_pids: Vec<u32>,
    /// Commands (as `/proc/PID/stat` names them, e.g. `postgres`) whose processes' CPU is totalled
    /// per phase, for servers made of many processes.
    pub cpu_of: Vec<String>,
    pub max_secs: f64,
    pub probe_every: usize,
    pub progress: bool,
}

/// A server process over one phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerUse {
    pub pid: u32,
    pub cpu_percent: f64,
    pub rss_kib: u64,
    /// CPU seconds (user + system) over the phase.
    #[serde(default)]
    pub cpu_secs: f64,
}

/// Every process of one command over one phase (see `Options::cpu_of`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CommandUse {
    pub command: String,
    /// CPU seconds (user + system) of all of them over the phase.
    pub cpu_secs: f64,
    /// Processes running at the phase end.
    pub processes: u64,
}

/// One phase of the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PhaseReport {
    pub name: String,
    /// `idle`, `broadcast`, `votes`, `abuse-off`, `abuse-on`.
    pub kind: String,
    /// Events or votes per second sent by the driver (0 when idle).
    pub rate: f64,
    pub secs: f64,
    /// Connections listening when the phase began.
    pub subscribers: u64,
    /// What the driver sent (only the driving process sends).
    pub sent: u64,
    pub sent_ok: u64,
    pub send_failed: BTreeMap<String, u64>,
    pub send_latency: Quantiles,
    /// Requests the server answered per second (below `rate` when it could not keep up).
    pub achieved_rate: f64,
    /// Seconds from the first request's intended time to the last answer (what `achieved_rate`
    /// divides by).
    #[serde(default)]
    pub answer_span_secs: f64,
    /// Answers 503 (refused as over the server's budget), and requests never sent because no HTTP
    /// client was free before the phase ended.
    #[serde(default)]
    pub refused: u64,
    #[serde(default)]
    pub not_sent: u64,
    /// From the intended send to the answer, of the 2xx answers and of the 503 answers.
    #[serde(default)]
    pub ok_latency: Quantiles,
    #[serde(default)]
    pub refused_latency: Quantiles,
    /// Votes only: from each acknowledgement to the first tally on a probe connection that shows a
    /// count including it (`stats::ack_to_tally`), over every (vote, probe connection) pair; the
    /// pairs never shown by the phase end; the probe connections that showed tallies.
    #[serde(default)]
    pub tally_ack_latency: Quantiles,
    #[serde(default)]
    pub tally_ack_unseen: u64,
    #[serde(default)]
    pub tally_ack_connections: u64,
    /// Driver events every subscriber should have got: `sent_ok × subscribers` (driving process).
    pub expected: u64,
    pub delivered: u64,
    /// Delivered driver events per second, from the phase start to the last delivery.
    pub deliveries_per_sec: f64,
    pub latency: Quantiles,
    pub latency_buckets: Buckets,
    pub tallies: u64,
    pub tally_latency: Quantiles,
    pub tally_buckets: Buckets,
    pub messages: u64,
    pub frames: u64,
    pub bytes: u64,
    pub gaps: u64,
    pub missing: u64,
    pub duplicates: u64,
    pub resyncs: u64,
    pub unreadable: u64,
    pub errors: BTreeMap<String, u64>,
    pub closes: BTreeMap<u16, u64>,
    pub server: Vec<ServerUse>,
    /// Processes of `Options::cpu_of` over the phase.
    #[serde(default)]
    pub commands: Vec<CommandUse>,
    /// This load generator's own CPU over the phase, in percent of one core.
    pub loadgen_cpu_percent: f64,
    /// The whole machine's busy time over the phase, in percent of one core (every core counts:
    /// 200 is a 2-core machine with nothing left).
    #[serde(default)]
    pub machine_cpu_percent: f64,
    /// Of which softirq work (loopback TCP's receive path, counted in no process), percent of one core.
    #[serde(default)]
    pub softirq_percent: f64,
    /// Frames this process read per second over the measured window. A frame is one write by the
    /// server and one read here, whatever it carries: the unit of the hub's cost per recipient.
    #[serde(default)]
    pub frames_per_sec: f64,
    /// The whole machine's CPU time per frame read, in µs (meaningful when this process is the only
    /// reader, as in the single-node runs).
    #[serde(default)]
    pub machine_us_per_frame: f64,
}

/// The whole run of one process.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub label: String,
    pub nodes: Vec<String>,
    pub connections_requested: usize,
    pub connected: u64,
    pub connect_errors: BTreeMap<String, u64>,
    pub ramp_secs: f64,
    pub participants: usize,
    /// Participants who cast the vote storm: the listeners, and more when the storm needed more
    /// (voter, idea) pairs than they have (0 when this process does not drive votes).
    #[serde(default)]
    pub voters: usize,
    /// Server RSS before connecting, per pid.
    pub server_base: Vec<ServerUse>,
    pub phases: Vec<PhaseReport>,
    pub abuse: Vec<AbuseReport>,
    /// Server RSS at the end, after every phase's traffic.
    pub server_end: Vec<ServerUse>,
    pub notes: Vec<String>,
}

impl Report {
    /// Server RSS per connection of `pid` in KiB at the end of the phase `kind` (or at the end of
    /// the run for `None`), over this process's connections.
    pub fn rss_per_conn_kib(&self, pid: u32, phase: Option<&str>) -> Option<f64> {
        let base = self.server_base.iter().find(|s| s.pid == pid)?.rss_kib as f64;
        let at = match phase {
            Some(kind) => self
                .phases
                .iter()
                .find(|p| p.kind == kind)?
                .server
                .iter()
                .find(|s| s.pid == pid)?,
            None => self.server_end.iter().find(|s| s.pid == pid)?,
        };
        (self.connected > 0).then(|| (at.rss_kib as f64 - base) / self.connected as f64)
    }
}

/// Samples of the server processes and, last, of this process (which `use_since` leaves out and
/// `own_cpu` reads), with the machine's and those of the commands' processes.
struct Samples {
    procs: Vec<(u32, ProcSample)>,
    machine: Option<MachineSample>,
    commands: Vec<(String, BTreeMap<u32, u64>)>,
}

fn sample_all(opts: &Options) -> Samples {
    let me = std::process::id();
    Samples {
        procs: opts
            .server_pids
            .iter()
            .chain(std::iter::once(&me))
            .filter_map(|&pid| ProcSample::read(pid).map(|s| (pid, s)))
            .collect(),
        machine: MachineSample::read(),
        commands: opts
            .cpu_of
            .iter()
            .map(|c| (c.clone(), stats::command_cpu_ticks(c)))
            .collect(),
    }
}

fn use_since(before: &Samples, after: &Samples) -> Vec<ServerUse> {
    let me = std::process::id();
    after
        .procs
        .iter()
        .filter(|(pid, _)| *pid != me)
        .map(|(pid, now)| {
            let then = before.procs.iter().find(|(p, _)| p == pid).map(|(_, then)| then);
            ServerUse {
                pid: *pid,
                cpu_percent: then.map_or(0.0, |then| now.cpu_percent_since(then)),
                rss_kib: now.rss_kib,
                cpu_secs: then.map_or(0.0, |then| {
                    now.cpu_ticks.saturating_sub(then.cpu_ticks) as f64 / CLK_TCK
                }),
            }
        })
        .collect()
}

/// Fills the phase's CPU and memory figures from samples taken at its start and end.
fn measure(phase: &mut PhaseReport, before: &Samples, after: &Samples) {
    phase.server = use_since(before, after);
    phase.commands = after
        .commands
        .iter()
        .map(|(command, now)| {
            let then = before.commands.iter().find(|(c, _)| c == command).map(|(_, t)| t);
            CommandUse {
                command: command.clone(),
                cpu_secs: then.map_or(0.0, |then| stats::cpu_secs_between(then, now)),
                processes: now.len() as u64,
            }
        })
        .collect();
    let me = std::process::id();
    let own = |s: &Samples| s.procs.iter().find(|(p, _)| *p == me).map(|(_, s)| *s);
    if let (Some(b), Some(a)) = (own(before), own(after)) {
        phase.loadgen_cpu_percent = a.cpu_percent_since(&b);
    }
    if let (Some(b), Some(a)) = (before.machine, after.machine) {
        (phase.machine_cpu_percent, phase.softirq_percent) = a.percent_since(&b);
        let window_secs = a.at_unix_ns.saturating_sub(b.at_unix_ns) as f64 / 1e9;
        (phase.frames_per_sec, phase.machine_us_per_frame) =
            per_frame(phase.frames, window_secs, phase.machine_cpu_percent);
    }
}

/// (frames/s, machine µs per frame) of `frames` read over `secs` with the machine `busy_percent`
/// busy (percent of one core); zeros when there is nothing to divide by.
fn per_frame(frames: u64, secs: f64, busy_percent: f64) -> (f64, f64) {
    if frames == 0 || secs <= 0.0 {
        return (0.0, 0.0);
    }
    let per_sec = frames as f64 / secs;
    (per_sec, machine_us_per_frame(busy_percent, per_sec))
}

/// The machine's CPU time per frame in µs, with the machine `busy_percent` busy (percent of one
/// core) while `frames_per_sec` were read; zero without frames.
pub fn machine_us_per_frame(busy_percent: f64, frames_per_sec: f64) -> f64 {
    if frames_per_sec > 0.0 {
        busy_percent / 100.0 * 1e6 / frames_per_sec
    } else {
        0.0
    }
}

/// Runs the whole scenario and returns its report (also when the time limit cut it short).
pub async fn run(opts: Options) -> Result<Report, Error> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(opts.max_secs);
    check_limits(&opts)?;
    let first = *opts
        .nodes
        .first()
        .ok_or_else(|| Error::Config("no node given".into()))?;
    let fixture = match &opts.fixture {
        Some(f) => f.clone(),
        None => {
            let ideas = if opts.abuse_rate > 0.0 {
                opts.vote_ideas.max(250)
            } else {
                opts.vote_ideas
            };
            api::setup(
                first,
                &opts.origin,
                &opts.staff_email,
                &opts.staff_password,
                ideas,
            )
            .await?
        }
    };
    let mut report = Report {
        label: opts.label.clone(),
        nodes: opts.nodes.iter().map(ToString::to_string).collect(),
        connections_requested: opts.connections,
        participants: opts.participants,
        ..Report::default()
    };

    // Participants: their cookies are shared by the connections (the server allows one sign-in on
    // many sockets, as with many tabs).
    let cookies = join_many(&opts, &fixture, opts.participants.max(1), "listener").await?;
    let vote_count = (opts.vote_rate * opts.phase_secs).round() as u64;
    // The listeners vote first; more participants join when the storm needs more (voter, idea)
    // pairs than they have, since each pair votes once.
    let voters = if opts.drive && vote_count > 0 {
        let per_voter = fixture.vote_ideas.len().max(1) as u64;
        let needed = vote_count.div_ceil(per_voter) as usize;
        let more = needed.saturating_sub(cookies.len());
        let mut voters = cookies.clone();
        voters.extend(join_many(&opts, &fixture, more, "voter").await?);
        voters
    } else {
        Vec::new()
    };
    report.voters = voters.len();

    let base = sample_all(&opts);
    report.server_base = use_since(&base, &base);

    // Connections.
    let shared = Arc::new(Shared {
        stats: Stats::default(),
        open: AtomicU64::new(0),
        plan: std::sync::OnceLock::new(),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let topic: Arc<str> = format!("session:{}", fixture.session_id).into();
    let ramp = ramp(&opts, &cookies, &topic, &shared, &stop_rx, deadline).await;
    report.connected = ramp.connected;
    report.connect_errors = ramp.errors;
    report.ramp_secs = ramp.secs;
    let mut listeners = ramp.listeners;

    // The timeline.
    let start_at_ms = match &opts.start_file {
        Some(path) => Some(wait_for_start(path, deadline).await?),
        None => opts.start_at_unix_ms,
    };
    let t0 = match start_at_ms {
        Some(ms) => {
            if ms * 1_000_000 < now_unix_ns() {
                report
                    .notes
                    .push("the ramp ended after --start-at: phases started late".into());
            }
            // Kept even when late, so that every process's timeline (and vote plan) stays aligned.
            ms * 1_000_000
        }
        None => now_unix_ns() + 500_000_000,
    };
    let secs_ns = |s: f64| (s * 1e9) as u64;
    let mut at = t0;

    // Idle.
    tokio::time::sleep_until(instant_at(at)).await;
    shared.stats.take();
    let before = sample_all(&opts);
    at += secs_ns(opts.idle_secs);
    tokio::time::sleep_until(instant_at(at)).await;
    let idle = shared.stats.take();
    let mut phase = phase_report("idle", "idle", 0.0, opts.idle_secs, &shared, &idle, t0);
    let after = sample_all(&opts);
    measure(&mut phase, &before, &after);
    report.phases.push(phase);

    let drive_nodes = if opts.drive_nodes.is_empty() {
        &opts.nodes
    } else {
        &opts.drive_nodes
    };
    let driver_apis = |n: usize| -> Vec<Api> {
        (0..n.max(1))
            .map(|i| {
                let node = drive_nodes[i % drive_nodes.len()];
                let api = Api::new(node, opts.sources.pick(i), &opts.origin);
                match cookies.get(i % cookies.len().max(1)) {
                    Some(c) => api.with_cookie(c),
                    None => api,
                }
            })
            .collect()
    };

    // Broadcasts.
    let mut seq = 0;
    for &rate in &opts.event_rates {
        if Instant::now() >= deadline {
            report
                .notes
                .push(format!("time limit: broadcast at {rate}/s not run"));
            break;
        }
        let (phase, next) = event_phase(
            &opts,
            &fixture,
            &shared,
            driver_apis(opts.http_clients.min(64)),
            (format!("broadcast {rate}/s"), "broadcast"),
            (rate, opts.phase_secs),
            at,
            seq,
            None,
        )
        .await;
        seq += phase.sent;
        at = next;
        report.phases.push(phase);
    }

    // The vote storm.
    if opts.vote_rate > 0.0 && Instant::now() < deadline {
        let plan = VotePlan {
            start_unix_ns: at,
            rate: opts.vote_rate,
            total: vote_count,
            index: fixture
                .vote_ideas
                .iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), i))
                .collect(),
            keep_seen: opts.drive,
        };
        let _ = shared.plan.set(plan);
        shared.stats.take();
        let subscribers = shared.open.load(Ordering::Relaxed);
        let before = sample_all(&opts);
        let storm_start = at;
        let driven = if opts.drive {
            Some(
                drive::votes(
                    driver_apis(opts.http_clients),
                    Arc::new(voters),
                    Arc::new(fixture.vote_ideas.clone()),
                    (at, at + secs_ns(opts.phase_secs + opts.drain_secs)),
                    opts.vote_rate,
                    vote_count,
                )
                .await,
            )
        } else {
            None
        };
        at += secs_ns(opts.phase_secs + opts.drain_secs);
        // Alone (no shared timeline), votes answered late because the node was behind still get
        // their drain, so that their tallies can arrive before the counts are taken.
        if opts.start_at_unix_ms.is_none()
            && opts.start_file.is_none()
            && let Some(d) = &driven
        {
            at = at.max(d.last_answer_ns + secs_ns(opts.drain_secs));
        }
        tokio::time::sleep_until(instant_at(at)).await;
        let counts = shared.stats.take();
        let mut phase = phase_report(
            &format!("votes {}/s", opts.vote_rate),
            "votes",
            opts.vote_rate,
            opts.phase_secs,
            &shared,
            &counts,
            storm_start,
        );
        phase.subscribers = subscribers;
        if let Some(d) = driven {
            apply_driven(&mut phase, &d, false);
            let joined = stats::ack_to_tally(&d.acks, &counts.tally_seen);
            phase.tally_ack_latency = Quantiles::of(&joined.latency);
            phase.tally_ack_unseen = joined.unseen;
            phase.tally_ack_connections = joined.connections;
        }
        let after = sample_all(&opts);
        measure(&mut phase, &before, &after);
        report.phases.push(phase);
    }

    // Abuse: the same broadcast without, then with, abusive clients.
    if opts.abuse_rate > 0.0 && Instant::now() < deadline {
        let rate = opts.abuse_rate;
        let (phase, next) = event_phase(
            &opts,
            &fixture,
            &shared,
            driver_apis(opts.http_clients.min(64)),
            (format!("broadcast {rate}/s, no abusers"), "abuse-off"),
            (rate, opts.abuse_secs),
            at,
            seq,
            None,
        )
        .await;
        seq += phase.sent;
        at = next;
        report.phases.push(phase);
        let abusers = abusers(&opts, &fixture, &cookies);
        let (phase, next) = event_phase(
            &opts,
            &fixture,
            &shared,
            driver_apis(opts.http_clients.min(64)),
            (format!("broadcast {rate}/s, with abusers"), "abuse-on"),
            (rate, opts.abuse_secs),
            at,
            seq,
            Some((abusers, &mut report.abuse)),
        )
        .await;
        at = next;
        report.phases.push(phase);
    }
    let _ = at;

    report.server_end = use_since(&base, &sample_all(&opts));
    // Stop listening; connections close in the background, bounded.
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while listeners.join_next().await.is_some() {}
    })
    .await;
    listeners.abort_all();
    if Instant::now() >= deadline {
        report
            .notes
            .push(format!("stopped by the time limit of {} s", opts.max_secs));
    }
    Ok(report)
}

/// Waits for the start file (written by whoever runs the processes, once all have ramped).
async fn wait_for_start(path: &std::path::Path, deadline: Instant) -> Result<u64, Error> {
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(ms) = text.trim().parse::<u64>()
        {
            return Ok(ms);
        }
        if Instant::now() >= deadline {
            return Err(Error::Config(format!(
                "no start time in {} before the time limit",
                path.display()
            )));
        }
        // Polling a file another process writes once; a tenth of a second is precise enough here.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn check_limits(opts: &Options) -> Result<(), Error> {
    if opts.connections > MAX_CONNECTIONS {
        return Err(Error::Config(format!(
            "{} connections asked; one process holds at most {MAX_CONNECTIONS} (run several)",
            opts.connections
        )));
    }
    if let Some(limit) = net::open_files_limit() {
        let needed = (opts.connections + opts.http_clients + opts.participants + 200) as u64;
        if needed > limit {
            return Err(Error::Config(format!(
                "{} connections need about {needed} file descriptors; the limit is {limit}",
                opts.connections
            )));
        }
    }
    if opts.nodes.is_empty() {
        return Err(Error::Config("no node given".into()));
    }
    Ok(())
}

/// Joins `n` participants (a few at a time, spread over the nodes); returns their cookies.
async fn join_many(opts: &Options, fixture: &Fixture, n: usize, who: &str) -> Result<Vec<String>, Error> {
    let limit = Arc::new(Semaphore::new(8));
    let mut tasks = JoinSet::new();
    let pid = std::process::id();
    for i in 0..n {
        let limit = limit.clone();
        let node = opts.nodes[i % opts.nodes.len()];
        let source = opts.sources.pick(i);
        let origin = opts.origin.clone();
        let (slug, code) = (fixture.slug.clone(), fixture.invite_code.clone());
        let name = format!("{who} {pid}-{i}");
        tasks.spawn(async move {
            let _permit = limit.acquire().await;
            let api = api::join(node, source, &origin, &slug, &code, &name).await?;
            Ok::<_, Error>(api.cookie().unwrap_or_default().to_owned())
        });
    }
    let mut cookies = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        cookies.push(done.map_err(|e| Error::Protocol(format!("join task: {e}")))??);
    }
    Ok(cookies)
}

struct Ramp {
    connected: u64,
    errors: BTreeMap<String, u64>,
    secs: f64,
    listeners: JoinSet<()>,
}

/// Opens and subscribes every connection, `connect_concurrency` at a time, printing progress.
async fn ramp(
    opts: &Options,
    cookies: &[String],
    topic: &Arc<str>,
    shared: &Arc<Shared>,
    stop: &watch::Receiver<bool>,
    deadline: Instant,
) -> Ramp {
    let start = Instant::now();
    let limit = Arc::new(Semaphore::new(opts.connect_concurrency.max(1)));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Result<(), String>>();
    let mut listeners = JoinSet::new();
    let mut errors = BTreeMap::new();
    let mut connected = 0u64;
    let mut finished = 0usize;
    let mut next_progress = start + Duration::from_secs(1);
    let mut launched = 0usize;
    while finished < opts.connections {
        // Launch what the concurrency limit allows.
        while launched < opts.connections {
            let Ok(permit) = limit.clone().try_acquire_owned() else {
                break;
            };
            let i = launched;
            launched += 1;
            let target = Target {
                addr: opts.nodes[i % opts.nodes.len()],
                origin: opts.origin.clone(),
                cookie: cookies.get(i % cookies.len().max(1)).cloned().unwrap_or_default(),
                read_buffer: opts.read_buffer,
            };
            let source = opts.sources.pick(i);
            let (topic, shared, stop, done) = (topic.clone(), shared.clone(), stop.clone(), done_tx.clone());
            let probe = opts.probe_every <= 1 || i.is_multiple_of(opts.probe_every);
            listeners.spawn(async move {
                let opened = async {
                    let mut ws = live::open(&target, source, None).await?;
                    let offset = live::subscribe(&mut ws, &topic).await?;
                    Ok::<_, Error>((ws, offset))
                }
                .await;
                drop(permit);
                match opened {
                    Ok((ws, offset)) => {
                        let _ = done.send(Ok(()));
                        live::listen(ws, i, topic, offset, probe, shared, stop).await;
                    }
                    Err(e) => {
                        let _ = done.send(Err(e.kind()));
                    }
                }
            });
        }
        let wait = tokio::time::timeout_at(next_progress.min(deadline), done_rx.recv()).await;
        match wait {
            Ok(Some(Ok(()))) => {
                connected += 1;
                finished += 1;
            }
            Ok(Some(Err(kind))) => {
                *errors.entry(kind).or_default() += 1;
                finished += 1;
            }
            Ok(None) => break,
            Err(_) => {}
        }
        if Instant::now() >= deadline {
            *errors.entry("time limit".into()).or_default() += (opts.connections - finished) as u64;
            break;
        }
        if Instant::now() >= next_progress {
            next_progress += Duration::from_secs(1);
            if opts.progress {
                let secs = start.elapsed().as_secs_f64();
                eprintln!(
                    "[{}] ramp {connected}/{} connected, {} failed, {:.0}/s, {} listening",
                    opts.label,
                    opts.connections,
                    finished as u64 - connected,
                    connected as f64 / secs.max(1e-3),
                    shared.open.load(Ordering::Relaxed),
                );
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    // Printed even when quiet: a script waits for this line before it sets the start.
    {
        eprintln!(
            "[{}] ramp done: {connected}/{} connected in {secs:.1} s, errors {errors:?}",
            opts.label, opts.connections
        );
    }
    Ramp {
        connected,
        errors,
        secs,
        listeners,
    }
}

/// The abusers of the abuse phase, one of each kind.
fn abusers(opts: &Options, fixture: &Fixture, cookies: &[String]) -> Vec<Abuser> {
    let mut topics = vec![
        format!("jam:{}", fixture.jam_id),
        format!("session:{}", fixture.session_id),
    ];
    topics.extend(fixture.vote_ideas.iter().map(|id| format!("idea:{id}")));
    abuse::Kind::ALL
        .iter()
        .enumerate()
        .map(|(i, &kind)| Abuser {
            kind,
            target: Target {
                addr: opts.nodes[i % opts.nodes.len()],
                origin: opts.origin.clone(),
                cookie: cookies.get(i % cookies.len().max(1)).cloned().unwrap_or_default(),
                read_buffer: opts.read_buffer,
            },
            // Abusers come from their own address, apart from the normal clients.
            source: Some(std::net::Ipv4Addr::new(127, 0, 0, 250)),
            session_topic: format!("session:{}", fixture.session_id),
            topics: topics.clone(),
        })
        .collect()
}

/// One broadcast phase starting at `at` (Unix ns): the driver posts `rate × phase_secs` ideas, then
/// the drain. Returns the phase and the start of the next.
#[allow(clippy::too_many_arguments)]
async fn event_phase(
    opts: &Options,
    fixture: &Fixture,
    shared: &Arc<Shared>,
    apis: Vec<Api>,
    (name, kind): (String, &str),
    (rate, secs): (f64, f64),
    at: u64,
    first_seq: u64,
    abuse: Option<(Vec<Abuser>, &mut Vec<AbuseReport>)>,
) -> (PhaseReport, u64) {
    let end = at + ((secs + opts.drain_secs) * 1e9) as u64;
    tokio::time::sleep_until(instant_at(at)).await;
    shared.stats.take();
    let subscribers = shared.open.load(Ordering::Relaxed);
    let before = sample_all(opts);
    let (abusers, abuse_out) = match abuse {
        Some((a, out)) => (a, Some(out)),
        None => (Vec::new(), None),
    };
    let abuse_until = instant_at(at + (secs * 1e9) as u64);
    let abuse_tasks: Vec<_> = abusers
        .into_iter()
        .map(|a| tokio::spawn(a.run(abuse_until)))
        .collect();
    let count = (rate * secs).round() as u64;
    let driven = if opts.drive && count > 0 {
        let window = (at, end);
        Some(drive::ideas(apis, fixture.session_id.clone(), window, rate, count, first_seq).await)
    } else {
        None
    };
    tokio::time::sleep_until(instant_at(end)).await;
    // Alone (no shared timeline), a phase waits for its backlog to arrive, up to `drain_max_secs`
    // more, so the next phase starts clean; what never arrives shows as delivered < expected.
    let mut end = end;
    if opts.start_at_unix_ms.is_none()
        && let Some(d) = &driven
    {
        let expected = d.ok * subscribers;
        let give_up = end + (opts.drain_max_secs * 1e9) as u64;
        while shared.stats.delivered() < expected && now_unix_ns() < give_up {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        end = end.max(now_unix_ns());
    }
    let counts = shared.stats.take();
    let mut phase = phase_report(&name, kind, rate, secs, shared, &counts, at);
    phase.subscribers = subscribers;
    if let Some(d) = &driven {
        apply_driven(&mut phase, d, true);
    }
    let after = sample_all(opts);
    measure(&mut phase, &before, &after);
    if let Some(out) = abuse_out {
        for task in abuse_tasks {
            if let Ok(r) = task.await {
                out.push(r);
            }
        }
    }
    (phase, end)
}

fn apply_driven(phase: &mut PhaseReport, d: &Driven, events: bool) {
    phase.sent = d.sent;
    phase.sent_ok = d.ok;
    phase.send_failed = d.failed.clone();
    phase.send_latency = Quantiles::of(&d.latency);
    phase.achieved_rate = d.achieved_rate();
    phase.answer_span_secs = d.answer_span_secs();
    phase.refused = d.refused;
    phase.not_sent = d.failed.get(drive::NOT_SENT).copied().unwrap_or(0);
    phase.ok_latency = Quantiles::of(&d.ok_latency);
    phase.refused_latency = Quantiles::of(&d.refused_latency);
    if events {
        phase.expected = d.ok * phase.subscribers;
    }
}

fn phase_report(
    name: &str,
    kind: &str,
    rate: f64,
    secs: f64,
    shared: &Shared,
    c: &Counts,
    start_ns: u64,
) -> PhaseReport {
    let span = c.last_delivery_ns.saturating_sub(start_ns) as f64 / 1e9;
    PhaseReport {
        name: name.to_owned(),
        kind: kind.to_owned(),
        rate,
        secs,
        subscribers: shared.open.load(Ordering::Relaxed),
        delivered: c.delivered,
        deliveries_per_sec: if span > 0.0 {
            c.delivered as f64 / span
        } else {
            0.0
        },
        latency: Quantiles::of(&c.latency),
        latency_buckets: Buckets::of(&c.latency),
        tallies: c.tallies,
        tally_latency: Quantiles::of(&c.tally_latency),
        tally_buckets: Buckets::of(&c.tally_latency),
        messages: c.messages,
        frames: c.frames,
        bytes: c.bytes,
        gaps: c.gaps,
        missing: c.missing,
        duplicates: c.duplicates,
        resyncs: c.resyncs,
        unreadable: c.unreadable,
        errors: c.errors.clone(),
        closes: c.closes.clone(),
        ..PhaseReport::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_per_frame_divides_the_machine_by_the_frames() {
        // 100,000 frames/s with the machine at 150% of a core: 1.5 s of CPU per 100,000 frames.
        let (per_sec, us) = per_frame(2_000_000, 20.0, 150.0);
        assert_eq!(per_sec, 100_000.0);
        assert!((us - 15.0).abs() < 1e-9, "{us}");
        assert_eq!(per_frame(0, 20.0, 150.0), (0.0, 0.0));
        assert_eq!(per_frame(10, 0.0, 150.0), (0.0, 0.0));
    }
}
