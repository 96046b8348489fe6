//! `jam-loadgen`: see the crate documentation (`lib.rs`) and `jam-loadgen --help`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use jam_loadgen::net::Sources;
use jam_loadgen::report::{self, Backend, Bench};
use jam_loadgen::{Fixture, Options, Report};

/// glibc malloc was 11% of this process at 50 events/s (one allocation per frame received).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "jam-loadgen",
    about = "Load for the OpenJam live hub, through the public protocol only"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates a live jam with an open session (and vote targets) and prints its fixture as JSON.
    Setup {
        #[command(flatten)]
        server: Server,
        /// Ideas to create for the vote storm.
        #[arg(long, default_value_t = 0)]
        vote_ideas: usize,
    },
    /// Opens connections, runs the phases, prints a markdown summary and writes the JSON report.
    Run(Box<RunArgs>),
    /// Prints the benchmark table (markdown) from run reports.
    Table {
        /// The single-node run's report.
        #[arg(long)]
        single: Option<PathBuf>,
        /// The single-node server's pid (for RSS per connection).
        #[arg(long)]
        single_pid: Option<u32>,
        /// Every cluster process's report.
        #[arg(long, num_args = 1.., value_delimiter = ',')]
        cluster: Vec<PathBuf>,
        /// Redis CPU seconds (user + sys, from INFO cpu) over the storm, and the seconds spanned.
        #[arg(long)]
        redis_cpu_secs: Option<f64>,
        #[arg(long)]
        redis_span_secs: Option<f64>,
    },
    /// Prints the vote benchmark's table (markdown) and its goals from run reports with a vote
    /// storm, one run per row (`scripts/bench-vote-http.sh`).
    VoteTable {
        /// Runs against a node on SQLite, in row order (comma-separated).
        #[arg(long, value_delimiter = ',')]
        sqlite: Vec<PathBuf>,
        /// Runs against a node on PostgreSQL (run with `--cpu-of postgres`).
        #[arg(long, value_delimiter = ',')]
        postgres: Vec<PathBuf>,
    },
    /// The join benchmark (`scripts/bench-join.sh`): code joins, then invite redemptions, each a
    /// fresh browser, by closed-loop clients; writes its rows as JSON.
    JoinBench {
        #[command(flatten)]
        server: Server,
        /// The backend the node runs on, for the table.
        #[arg(long)]
        backend: String,
        /// Code joins (0 skips the phase).
        #[arg(long, default_value_t = 20_000)]
        joins: usize,
        /// Invites issued and redeemed (0 skips the phase).
        #[arg(long, default_value_t = 20_000)]
        invites: usize,
        /// Most invites per issuing request (the node's `limits.invites_per_request`).
        #[arg(long, default_value_t = 5000)]
        invites_per_request: usize,
        /// Concurrent clients.
        #[arg(long, default_value_t = 100)]
        clients: usize,
        /// Source addresses 127.0.0.FIRST… the clients are spread over.
        #[arg(long, default_value_t = 2)]
        source_first: u8,
        #[arg(long, default_value_t = 100)]
        source_count: u8,
        /// Where to write the rows (JSON).
        #[arg(long)]
        json: PathBuf,
    },
    /// The siege benchmark (`scripts/bench-siege.sh`): a quiet phase, slowloris, and a login flood
    /// against one node, each with a probe voting and checking health; prints the table.
    SiegeBench {
        #[command(flatten)]
        server: Server,
        /// The node's pid (for its RSS).
        #[arg(long)]
        pid: Option<u32>,
        /// Seconds per phase.
        #[arg(long, default_value_t = 30)]
        secs: u64,
        /// Slowloris connections.
        #[arg(long, default_value_t = 1000)]
        sockets: usize,
        /// Seconds between two bytes of a slow body.
        #[arg(long, default_value_t = 5)]
        byte_every_secs: u64,
        /// Concurrent sign-ins of the login flood.
        #[arg(long, default_value_t = 500)]
        logins: usize,
        /// Source addresses 127.0.0.FIRST… the attackers are spread over.
        #[arg(long, default_value_t = 2)]
        source_first: u8,
        #[arg(long, default_value_t = 100)]
        source_count: u8,
        /// Where to write the rows (JSON).
        #[arg(long)]
        json: PathBuf,
    },
    /// Prints the join benchmark's table (markdown) from `join-bench` outputs.
    JoinTable {
        #[arg(long, required = true, value_delimiter = ',')]
        reports: Vec<PathBuf>,
    },
    /// Prints the offered rates (comma-separated) at multiples of what a probe run's vote storm
    /// had acknowledged per second: the node's sustained rate when the probe offered more.
    VoteRates {
        /// The probe run's report.
        #[arg(long)]
        probe: PathBuf,
        /// Multiples (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
        times: Vec<f64>,
    },
}

#[derive(clap::Args)]
struct Server {
    /// jamd nodes (host:port, comma-separated); connections go round robin, set-up to the first.
    #[arg(long, required = true, value_delimiter = ',')]
    nodes: Vec<SocketAddr>,
    /// The Origin the server accepts (its `server.public_origin`).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    origin: String,
    /// A staff account allowed to create jams (facilitator or admin).
    #[arg(long, default_value = "admin@example.org")]
    email: String,
    /// Its password; read from JAM_LOADGEN_PASSWORD when not given.
    #[arg(
        long,
        env = "JAM_LOADGEN_PASSWORD",
        hide_env_values = true,
        default_value = ""
    )]
    password: String,
}

#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    server: Server,
    /// A name for this process in reports.
    #[arg(long, default_value = "loadgen")]
    label: String,
    /// A fixture written by `setup` (several processes share one); without it the run sets up its own.
    #[arg(long)]
    fixture: Option<PathBuf>,
    /// Nodes the driver's HTTP requests (ideas, votes) go to, round robin; default: --nodes.
    #[arg(long, value_delimiter = ',')]
    drive_nodes: Vec<SocketAddr>,
    /// Vote-target ideas to create when setting up here.
    #[arg(long, default_value_t = 0)]
    vote_ideas: usize,
    /// Live connections to open (at most 19,500 per process).
    #[arg(long, default_value_t = 100)]
    connections: usize,
    /// Participants whose cookies the connections share.
    #[arg(long, default_value_t = 20)]
    participants: usize,
    /// Source addresses 127.0.0.FIRST… to spread connections over (0 = let the kernel choose).
    #[arg(long, default_value_t = 2)]
    source_first: u8,
    #[arg(long, default_value_t = 40)]
    source_count: u8,
    /// Connections being opened at once.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// tungstenite read buffer per connection, bytes.
    #[arg(long, default_value_t = 4096)]
    read_buffer: usize,
    /// Start of the phases, Unix ms (several processes use the same); default: right after the ramp.
    #[arg(long)]
    start_at_ms: Option<u64>,
    /// A file to read the start from (Unix ms), once it exists; see the bench script.
    #[arg(long)]
    start_file: Option<PathBuf>,
    /// Seconds of the idle phase.
    #[arg(long, default_value_t = 5.0)]
    idle_secs: f64,
    /// Events per second of each broadcast phase (comma-separated; empty for none).
    #[arg(long, value_delimiter = ',')]
    event_rates: Vec<f64>,
    /// Seconds of load per phase, then seconds of drain.
    #[arg(long, default_value_t = 20.0)]
    phase_secs: f64,
    #[arg(long, default_value_t = 5.0)]
    drain_secs: f64,
    /// Without --start-at-ms: up to this many more seconds for a phase's backlog to arrive.
    #[arg(long, default_value_t = 60.0)]
    drain_max_secs: f64,
    /// Votes per second of the vote storm (0: none).
    #[arg(long, default_value_t = 0.0)]
    vote_rate: f64,
    /// Events per second of the abuse pair of phases (0: none).
    #[arg(long, default_value_t = 0.0)]
    abuse_rate: f64,
    /// Seconds of load of each abuse phase [default: --phase-secs].
    #[arg(long)]
    abuse_secs: Option<f64>,
    /// This process sends the events and votes (exactly one process of a run should).
    #[arg(long, default_value_t = false)]
    drive: bool,
    /// HTTP connections of the drivers.
    #[arg(long, default_value_t = 128)]
    http_clients: usize,
    /// Server pids to sample (RSS, CPU) from /proc.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// Commands whose processes' CPU is totalled per phase, as /proc names them (e.g. postgres).
    #[arg(long, value_delimiter = ',')]
    cpu_of: Vec<String>,
    /// Hard limit on the whole run, seconds.
    #[arg(long, default_value_t = 600.0)]
    max_secs: f64,
    /// Every Nth connection parses tally counts for latency (the others only count them).
    #[arg(long, default_value_t = 10)]
    probe_every: usize,
    /// Where to write the JSON report.
    #[arg(long)]
    json: Option<PathBuf>,
    /// No progress lines.
    #[arg(long, default_value_t = false)]
    quiet: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Setup { server, vote_ideas } => {
            let first = *server.nodes.first().context("no node")?;
            let fixture = runtime.block_on(jam_loadgen::api::setup(
                first,
                &server.origin,
                &server.email,
                &server.password,
                vote_ideas,
            ))?;
            println!("{}", serde_json::to_string_pretty(&fixture)?);
        }
        Command::JoinBench {
            server,
            backend,
            joins,
            invites,
            invites_per_request,
            clients,
            source_first,
            source_count,
            json,
        } => {
            let opts = jam_loadgen::joins::JoinOptions {
                addr: *server.nodes.first().context("no node")?,
                origin: server.origin,
                email: server.email,
                password: server.password,
                backend,
                joins,
                invites,
                invites_per_request,
                clients,
                sources: Sources {
                    first: source_first,
                    count: source_count,
                },
            };
            let rows = runtime.block_on(jam_loadgen::joins::run(&opts))?;
            print!("{}", jam_loadgen::joins::table(&rows));
            std::fs::write(&json, serde_json::to_vec_pretty(&rows)?)
                .with_context(|| format!("writing {}", json.display()))?;
        }
        Command::SiegeBench {
            server,
            pid,
            secs,
            sockets,
            byte_every_secs,
            logins,
            source_first,
            source_count,
            json,
        } => {
            let opts = jam_loadgen::siege::SiegeOptions {
                addr: *server.nodes.first().context("no node")?,
                origin: server.origin,
                email: server.email,
                password: server.password,
                pid,
                secs,
                sockets,
                byte_every: std::time::Duration::from_secs(byte_every_secs.max(1)),
                logins,
                sources: Sources {
                    first: source_first,
                    count: source_count,
                },
            };
            let rows = runtime.block_on(jam_loadgen::siege::run(&opts))?;
            print!("{}", jam_loadgen::siege::table(&rows));
            std::fs::write(&json, serde_json::to_vec_pretty(&rows)?)
                .with_context(|| format!("writing {}", json.display()))?;
        }
        Command::JoinTable { reports } => {
            let mut rows = Vec::new();
            for path in &reports {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                let mut part: Vec<jam_loadgen::joins::PhaseRow> =
                    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
                rows.append(&mut part);
            }
            print!("{}", jam_loadgen::joins::table(&rows));
        }
        Command::Run(args) => {
            let fixture = match &args.fixture {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    Some(
                        serde_json::from_str::<Fixture>(&text)
                            .with_context(|| format!("parsing {}", path.display()))?,
                    )
                }
                None => None,
            };
            let opts = Options {
                label: args.label,
                nodes: args.server.nodes,
                drive_nodes: args.drive_nodes,
                origin: args.server.origin,
                staff_email: args.server.email,
                staff_password: args.server.password,
                fixture,
                vote_ideas: args.vote_ideas,
                connections: args.connections,
                participants: args.participants,
                sources: Sources {
                    first: args.source_first,
                    count: args.source_count,
                },
                connect_concurrency: args.connect_concurrency,
                read_buffer: args.read_buffer,
                start_at_unix_ms: args.start_at_ms,
                start_file: args.start_file,
                idle_secs: args.idle_secs,
                event_rates: args.event_rates,
                phase_secs: args.phase_secs,
                drain_secs: args.drain_secs,
                drain_max_secs: args.drain_max_secs,
                vote_rate: args.vote_rate,
                abuse_rate: args.abuse_rate,
                abuse_secs: args.abuse_secs.unwrap_or(args.phase_secs),
                drive: args.drive,
                http_clients: args.http_clients,
                server_pids: args.server_pid,
                cpu_of: args.cpu_of,
                max_secs: args.max_secs,
                probe_every: args.probe_every,
                progress: !args.quiet,
            };
            let report = runtime.block_on(jam_loadgen::run(opts))?;
            if let Some(path) = &args.json {
                std::fs::write(path, serde_json::to_string_pretty(&report)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            println!("{}", report::summary(&report));
        }
        Command::Table {
            single,
            single_pid,
            cluster,
            redis_cpu_secs,
            redis_span_secs,
        } => {
            let single = single.as_deref().map(read_report).transpose()?;
            let cluster = cluster
                .iter()
                .map(|p| read_report(p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let table = report::bench_table(&Bench {
                single: single.as_ref(),
                single_pid,
                cluster: &cluster,
                redis_cpu_secs,
                redis_span_secs,
            });
            println!("{table}");
        }
        Command::VoteTable { sqlite, postgres } => {
            let mut rows = Vec::new();
            for (backend, paths) in [(Backend::Sqlite, &sqlite), (Backend::Postgres, &postgres)] {
                for path in paths {
                    let row = report::vote_row(backend, &read_report(path)?)
                        .with_context(|| format!("{}: no vote storm", path.display()))?;
                    rows.push(row);
                }
            }
            println!("{}", report::vote_table(&rows));
        }
        Command::VoteRates { probe, times } => {
            // The backend does not change the rate; the row only reads the storm's counts.
            let row = report::vote_row(Backend::Sqlite, &read_report(&probe)?)
                .with_context(|| format!("{}: no vote storm", probe.display()))?;
            let rates: Vec<String> = report::offered_rates(&row, &times)
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect();
            println!("{}", rates.join(","));
        }
    }
    // Listener tasks still closing must not hold the process open.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    Ok(())
}

fn read_report(path: &std::path::Path) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}
