//! `just bench-votes`: sustained votes/s and latency of the batched vote writer against the
//! one-transaction-per-vote baseline, on SQLite and PostgreSQL, at several numbers of concurrent
//! voters.
//!
//! ```text
//! cargo run --release -p jam-store --example bench_votes -- [options]
//!   --seconds S          measured time per run (default 10)
//!   --concurrency LIST   concurrent voters, comma-separated (default 1,10,100,1000)
//!   --postgres URL       also run on this PostgreSQL database (migrated; a new jam is seeded)
//!   --no-sqlite          skip SQLite
//!   --participants N     participants in the jam (default 10000; at least the largest concurrency)
//!   --ideas N            ideas in the jam (default 500)
//!   --pool N             database pool size for both methods (default 16, as config/default.toml)
//!   --batch-max N        writer batch_max (default 512)
//!   --linger-us N        writer batch_linger_us (default 0)
//!   --writers N          concurrent batches on PostgreSQL (default 4; SQLite always 1)
//!   --only METHOD        run only `writer` or only `baseline` (e.g. for profiling)
//! ```
//! With `JAM_TEST_DATABASE_URL` set (and no `--postgres`), PostgreSQL runs on a fresh database
//! created and dropped through `jam_testkit::services`.
//!
//! Each run: C tasks, each casting votes in a closed loop (send, wait for the answer, send the next)
//! for the measured time. A vote is counted when it is acknowledged, i.e. committed. Task `t` votes
//! only as the participants `p ≡ t (mod C)`, so each (participant, idea) pair is voted by one task
//! in order, and the test knows what must be stored: after each backend's runs every stored vote is
//! compared with the last acknowledged vote of its pair, and every idea's counters with a recount.
//!
//! Methods: `writer` is [`VoteWriter`] (group commit); `baseline` is `votes::cast`, one transaction
//! per vote doing the same work (`INSERT … ON CONFLICT`, read the old vote under lock, update the
//! vote and the idea's counters, read the counts back).

use std::collections::HashMap;
use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jam_domain::VoteValue;
use jam_store::DbSettings;
use jam_store::entity::{ideas, votes};
use jam_store::vote_writer::{VoteWriter, VoteWriterSettings};
use jam_testkit::Seed;
use jam_testkit::services;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

#[derive(Clone, Debug)]
struct Options {
    seconds: f64,
    concurrency: Vec<usize>,
    postgres: Option<String>,
    sqlite: bool,
    participants: usize,
    ideas: usize,
    pool: u32,
    batch_max: usize,
    linger_us: u64,
    writers: usize,
    methods: Vec<Method>,
}

fn options() -> Res<Options> {
    let mut o = Options {
        seconds: 10.0,
        concurrency: vec![1, 10, 100, 1000],
        postgres: None,
        sqlite: true,
        participants: 10_000,
        ideas: 500,
        pool: 16,
        batch_max: 512,
        linger_us: 0,
        writers: 4,
        methods: vec![Method::Baseline, Method::Writer],
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => o.seconds = value()?.parse()?,
            "--concurrency" => {
                o.concurrency = value()?
                    .split(',')
                    .map(|c| c.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "--postgres" => o.postgres = Some(value()?),
            "--no-sqlite" => o.sqlite = false,
            "--participants" => o.participants = value()?.parse()?,
            "--ideas" => o.ideas = value()?.parse()?,
            "--pool" => o.pool = value()?.parse()?,
            "--batch-max" => o.batch_max = value()?.parse()?,
            "--linger-us" => o.linger_us = value()?.parse()?,
            "--writers" => o.writers = value()?.parse()?,
            "--only" => {
                o.methods = match value()?.as_str() {
                    "writer" => vec![Method::Writer],
                    "baseline" => vec![Method::Baseline],
                    other => return Err(format!("--only writer|baseline, not {other}").into()),
                }
            }
            "-h" | "--help" => {
                println!("see the top of crates/jam-store/examples/bench_votes.rs");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let most = o.concurrency.iter().copied().max().unwrap_or(1);
    if o.participants < most || o.ideas == 0 || o.concurrency.contains(&0) {
        return Err("need participants >= concurrency, ideas >= 1, concurrency >= 1".into());
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> Res<()> {
    let o = options()?;
    println!(
        "bench_votes: {} s per run, voters {:?}, {} participants × {} ideas, pool {}, batch_max {}, linger {} µs, PostgreSQL writers {}, {} cores",
        o.seconds,
        o.concurrency,
        o.participants,
        o.ideas,
        o.pool,
        o.batch_max,
        o.linger_us,
        o.writers,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    let mut rows = Vec::new();
    if o.sqlite {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        rows.extend(bench_backend("SQLite", &url, &o).await?);
    }
    let (pg_url, fresh) = match &o.postgres {
        Some(url) => (Some(url.clone()), false),
        None if std::env::var(services::DATABASE_URL_VAR).is_ok() => (
            services::fresh_postgres_url_for("the PostgreSQL vote benchmark").await,
            true,
        ),
        None => {
            eprintln!(
                "PostgreSQL skipped: pass --postgres URL or set {}",
                services::DATABASE_URL_VAR
            );
            (None, false)
        }
    };
    if let Some(url) = pg_url {
        let result = bench_backend("PostgreSQL", &url, &o).await;
        if fresh {
            services::drop_database(&url).await;
        }
        rows.extend(result?);
    }
    print_table(&rows);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Method {
    Baseline,
    Writer,
}

struct Row {
    backend: &'static str,
    voters: usize,
    method: Method,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    mean_batch: Option<f64>,
}

async fn bench_backend(backend: &'static str, url: &str, o: &Options) -> Res<Vec<Row>> {
    let db = jam_store::connect(&DbSettings {
        url: url.to_owned(),
        max_connections: o.pool,
        min_connections: o.pool,
        connect_timeout: Duration::from_secs(60),
        sqlite_busy_timeout: Duration::from_millis(5000),
    })
    .await?;
    jam_store::migrate(&db).await?;
    // A live jam with one open session, written directly.
    let jam = Arc::new(Seed::inserted(&db, o.participants, o.ideas).await?);
    let writer = VoteWriter::start(
        db.clone(),
        VoteWriterSettings {
            batch_max: o.batch_max,
            batch_linger: Duration::from_micros(o.linger_us),
            queue_capacity: 8192.max(2 * o.concurrency.iter().copied().max().unwrap_or(1)),
            writers: o.writers,
            // The writer's own capacity is measured: no budget refuses a vote.
            wait_budget: Duration::ZERO,
        },
    );
    let mut model: HashMap<(u32, u32), i16> = HashMap::new();
    let mut rows = Vec::new();
    for &voters in &o.concurrency {
        for &method in &o.methods {
            let before = writer.counts();
            let run = run(&db, &writer, &jam, method, voters, o.seconds).await?;
            let after = writer.counts();
            let mean_batch = (method == Method::Writer && after.batches > before.batches)
                .then(|| (after.votes - before.votes) as f64 / (after.batches - before.batches) as f64);
            let row = Row {
                backend,
                voters,
                method,
                per_second: run.acknowledged as f64 / o.seconds,
                p50_ms: percentile(&run.latencies_us, 0.50),
                p99_ms: percentile(&run.latencies_us, 0.99),
                errors: run.errors,
                mean_batch,
            };
            eprintln!(
                "{backend:<10} {voters:>5} {:<8} {:>9.0} votes/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}{}  (load {})",
                format!("{method:?}").to_lowercase(),
                row.per_second,
                row.p50_ms,
                row.p99_ms,
                row.errors,
                mean_batch.map_or(String::new(), |b| format!("  mean batch {b:.1}")),
                load_average(),
            );
            rows.push(row);
            model.extend(run.finals);
        }
    }
    writer.shutdown().await;
    verify(&db, &jam, &model).await?;
    db.close().await?;
    Ok(rows)
}

struct Run {
    acknowledged: u64,
    errors: u64,
    latencies_us: Vec<u32>,
    finals: HashMap<(u32, u32), i16>,
}

async fn run(
    db: &DatabaseConnection,
    writer: &VoteWriter,
    jam: &Arc<Seed>,
    method: Method,
    voters: usize,
    seconds: f64,
) -> Res<Run> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..voters)
        .map(|t| {
            let (db, writer, jam) = (db.clone(), writer.clone(), jam.clone());
            tokio::spawn(async move {
                // Seeded per task and per run (the clock), so no run replays another's votes.
                let mut rng = Lcg((t as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ epoch_nanos());
                let mine: Vec<usize> = (t..jam.participants.len()).step_by(voters).collect();
                let mut out = Run {
                    acknowledged: 0,
                    errors: 0,
                    latencies_us: Vec::new(),
                    finals: HashMap::new(),
                };
                while Instant::now() < deadline {
                    let (p, i) = (mine[rng.below(mine.len())], rng.below(jam.ideas.len()));
                    let value = [VoteValue::Up, VoteValue::Down, VoteValue::Retract][rng.below(3)];
                    let vote = jam.vote(p, i, value.as_i16());
                    let sent = Instant::now();
                    let result = match method {
                        Method::Baseline => jam_store::votes::cast(&db, vote).await,
                        Method::Writer => writer.cast(vote).await,
                    };
                    let done = Instant::now();
                    match result {
                        Ok(_) => {
                            out.finals.insert((p as u32, i as u32), value.as_i16());
                            if done <= deadline {
                                out.acknowledged += 1;
                                out.latencies_us
                                    .push(u32::try_from((done - sent).as_micros()).unwrap_or(u32::MAX));
                            }
                        }
                        Err(err) => {
                            if out.errors == 0 {
                                eprintln!("  voter {t}: {err}");
                            }
                            out.errors += 1;
                        }
                    }
                }
                out
            })
        })
        .collect();
    let mut total = Run {
        acknowledged: 0,
        errors: 0,
        latencies_us: Vec::new(),
        finals: HashMap::new(),
    };
    for task in tasks {
        let r = task.await?;
        total.acknowledged += r.acknowledged;
        total.errors += r.errors;
        total.latencies_us.extend(r.latencies_us);
        total.finals.extend(r.finals);
    }
    total.latencies_us.sort_unstable();
    Ok(total)
}

fn percentile(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted_us.len() as f64 * q).ceil() as usize).clamp(1, sorted_us.len()) - 1;
    f64::from(sorted_us[at]) / 1000.0
}

/// Every acknowledged vote is stored (the last one of each pair), nothing else is, and every
/// idea's counters equal a recount of its rows.
async fn verify(db: &DatabaseConnection, jam: &Seed, model: &HashMap<(u32, u32), i16>) -> Res<()> {
    let person: HashMap<Uuid, u32> = jam
        .participants
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id, i as u32))
        .collect();
    let idea: HashMap<Uuid, u32> = jam
        .ideas
        .iter()
        .enumerate()
        .map(|(i, idea)| (idea.id, i as u32))
        .collect();
    let stored: Vec<(Uuid, Uuid, i16)> = votes::Entity::find()
        .select_only()
        .columns([
            votes::Column::IdeaId,
            votes::Column::ParticipantId,
            votes::Column::Value,
        ])
        .filter(votes::Column::JamId.eq(jam.jam.id))
        .into_tuple()
        .all(db)
        .await?;
    let mut recount: HashMap<Uuid, (i32, i32, i32)> = HashMap::new();
    let mut mismatches = 0usize;
    for &(idea_id, participant_id, value) in &stored {
        let key = (person[&participant_id], idea[&idea_id]);
        if model.get(&key) != Some(&value) {
            mismatches += 1;
        }
        let c = recount.entry(idea_id).or_default();
        *c = (
            c.0 + i32::from(value == 1),
            c.1 + i32::from(value == -1),
            c.2 + i32::from(value != 0),
        );
    }
    let counters: Vec<(Uuid, i32, i32, i32)> = ideas::Entity::find()
        .select_only()
        .columns([
            ideas::Column::Id,
            ideas::Column::Up,
            ideas::Column::Down,
            ideas::Column::Voters,
        ])
        .filter(ideas::Column::JamId.eq(jam.jam.id))
        .into_tuple()
        .all(db)
        .await?;
    let wrong_counters = counters
        .iter()
        .filter(|(id, u, d, v)| recount.get(id).copied().unwrap_or_default() != (*u, *d, *v))
        .count();
    println!(
        "verified: {} stored votes, {} acknowledged pairs, {} mismatching votes, {} ideas with wrong counters",
        stored.len(),
        model.len(),
        mismatches + model.len().abs_diff(stored.len()),
        wrong_counters,
    );
    if mismatches > 0 || stored.len() != model.len() || wrong_counters > 0 {
        return Err("the stored votes do not match the acknowledged ones".into());
    }
    Ok(())
}

fn print_table(rows: &[Row]) {
    println!();
    println!("| backend | voters | method | votes/s | p50 ms | p99 ms | vs baseline | errors | mean batch |");
    println!("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in rows {
        let baseline = rows
            .iter()
            .find(|b| b.backend == row.backend && b.voters == row.voters && b.method == Method::Baseline)
            .map_or(f64::NAN, |b| b.per_second);
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.1}× | {} | {} |",
            row.backend,
            row.voters,
            format!("{:?}", row.method).to_lowercase(),
            row.per_second,
            row.p50_ms,
            row.p99_ms,
            row.per_second / baseline,
            row.errors,
            row.mean_batch.map_or("–".to_owned(), |b| format!("{b:.1}")),
        );
    }
}

/// The 1-minute load average, to spot runs disturbed by other work on the machine.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn epoch_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A small generator (no dependency needed for picking voters, ideas and values).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}
