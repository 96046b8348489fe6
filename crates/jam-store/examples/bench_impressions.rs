//! `just bench-impressions`: sustained impressions/s through the impression writer
//! (`jam_store::impressions`, group commit) on SQLite and PostgreSQL, and a check that every
//! impression submitted is accounted for.
//!
//! ```text
//! cargo run --release -p jam-store --example bench_impressions -- [options]
//!   --seconds S          measured time (default 10)
//!   --reporters N        concurrent reporting browsers (default 200)
//!   --report N           ideas per report (default 20, as a browser's batch every 5 s)
//!   --participants N     participants in the jam (default 10000)
//!   --ideas N            ideas in the jam (default 2000)
//!   --postgres URL       also run on this PostgreSQL database (migrated; a new jam is seeded)
//!   --no-sqlite          skip SQLite
//! ```
//! With `JAM_TEST_DATABASE_URL` set (and no `--postgres`), PostgreSQL runs on a fresh database
//! created and dropped through `jam_testkit::services`.
//!
//! Each reporter sends reports in a closed loop (send, wait for the answer, send the next) for the
//! measured time, each from a random participant of its own (participants `p ≡ t (mod N)`) naming
//! `report` random ideas, so some impressions repeat. An impression counts as acknowledged when its
//! report's batch has committed. Accounting, checked after the run and printed:
//! - the writer's counters: `submitted = recorded + repeated + failed + refused`;
//! - the reporters' own sum of the new impressions each answer announced equals `recorded`;
//! - the database: `COUNT(*)` of `impressions` equals `recorded`, and `SUM(ideas.impressions)`
//!   equals `COUNT(*)`.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jam_store::DbSettings;
use jam_store::impressions::{ImpressionWriter, ImpressionWriterSettings};
use jam_testkit::{Seed, services};
use sea_orm::{ConnectionTrait, Statement};

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

#[derive(Clone, Debug)]
struct Options {
    seconds: f64,
    reporters: usize,
    report: usize,
    participants: usize,
    ideas: usize,
    postgres: Option<String>,
    sqlite: bool,
}

fn options() -> Res<Options> {
    let mut o = Options {
        seconds: 10.0,
        reporters: 200,
        report: 20,
        participants: 10_000,
        ideas: 2_000,
        postgres: None,
        sqlite: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => o.seconds = value()?.parse()?,
            "--reporters" => o.reporters = value()?.parse()?,
            "--report" => o.report = value()?.parse()?,
            "--participants" => o.participants = value()?.parse()?,
            "--ideas" => o.ideas = value()?.parse()?,
            "--postgres" => o.postgres = Some(value()?),
            "--no-sqlite" => o.sqlite = false,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    if o.reporters == 0 || o.participants < o.reporters || o.ideas < o.report || o.report == 0 {
        return Err("need reporters ≤ participants and 1 ≤ report ≤ ideas".into());
    }
    Ok(o)
}

struct Row {
    backend: &'static str,
    acknowledged: u64,
    per_second: f64,
    recorded: u64,
    repeated: u64,
    failed: u64,
    refused: u64,
    commits: u64,
    stored: u64,
    counters: u64,
    load: String,
}

#[tokio::main]
async fn main() -> Res<()> {
    let o = options()?;
    eprintln!(
        "bench_impressions: {} s, {} reporters × {} ideas per report, {} participants × {} ideas",
        o.seconds, o.reporters, o.report, o.participants, o.ideas
    );
    let mut rows = Vec::new();
    if o.sqlite {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        rows.push(bench_backend("SQLite", &url, &o).await?);
    }
    let (pg_url, fresh) = match &o.postgres {
        Some(url) => (Some(url.clone()), false),
        None if std::env::var(services::DATABASE_URL_VAR).is_ok() => (
            services::fresh_postgres_url_for("the PostgreSQL impression benchmark").await,
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
        rows.push(result?);
    }
    println!(
        "| Backend | Impressions acknowledged/s | Acknowledged | Recorded (new) | Repeated | Failed | Refused | Commits | Rows stored | SUM(ideas.impressions) | Load |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.backend,
            r.per_second,
            r.acknowledged,
            r.recorded,
            r.repeated,
            r.failed,
            r.refused,
            r.commits,
            r.stored,
            r.counters,
            r.load
        );
    }
    Ok(())
}

async fn bench_backend(backend: &'static str, url: &str, o: &Options) -> Res<Row> {
    let db = jam_store::connect(&DbSettings {
        url: url.to_owned(),
        max_connections: 16,
        min_connections: 16,
        connect_timeout: Duration::from_secs(60),
        sqlite_busy_timeout: Duration::from_millis(5000),
    })
    .await?;
    jam_store::migrate(&db).await?;
    let jam = Arc::new(Seed::inserted(&db, o.participants, o.ideas).await?);
    let writer = ImpressionWriter::start(
        db.clone(),
        ImpressionWriterSettings {
            queue_capacity: 2 * o.reporters,
            ..ImpressionWriterSettings::default()
        },
    );
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(o.seconds);
    let tasks: Vec<_> = (0..o.reporters)
        .map(|t| {
            let (writer, jam, o) = (writer.clone(), jam.clone(), o.clone());
            tokio::spawn(async move {
                let mut rng = Lcg((t as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let mine: Vec<usize> = (t..jam.participants.len()).step_by(o.reporters).collect();
                let (mut acknowledged, mut announced, mut errors) = (0u64, 0u64, 0u64);
                while Instant::now() < deadline {
                    let participant = jam.participants[mine[rng.below(mine.len())]].id;
                    let ideas: Vec<_> = (0..o.report)
                        .map(|_| jam.ideas[rng.below(jam.ideas.len())].id)
                        .collect();
                    let unique = {
                        let mut u = ideas.clone();
                        u.sort_unstable();
                        u.dedup();
                        u.len() as u64
                    };
                    match writer.submit(participant, ideas) {
                        Ok(answer) => match answer.await {
                            Ok(new) => {
                                announced += new;
                                if Instant::now() <= deadline {
                                    acknowledged += unique;
                                }
                            }
                            Err(err) => {
                                if errors == 0 {
                                    eprintln!("  reporter {t}: {err}");
                                }
                                errors += 1;
                            }
                        },
                        Err(_) => errors += 1,
                    }
                }
                (acknowledged, announced, errors)
            })
        })
        .collect();
    let (mut acknowledged, mut announced, mut errors) = (0, 0, 0);
    for task in tasks {
        let (a, n, e) = task.await?;
        acknowledged += a;
        announced += n;
        errors += e;
    }
    let counts = writer.counts();
    let scalar = |sql: &str| {
        let db = db.clone();
        let sql = sql.to_owned();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await?
                .ok_or("no row")?;
            Res::<u64>::Ok(u64::try_from(row.try_get_by_index::<i64>(0)?).unwrap_or(0))
        }
    };
    let stored = scalar("SELECT COUNT(*) FROM impressions").await?;
    let counters = scalar("SELECT CAST(COALESCE(SUM(impressions), 0) AS BIGINT) FROM ideas").await?;
    let accounted = counts.recorded + counts.repeated + counts.failed + counts.refused;
    eprintln!(
        "{backend}: submitted {} = recorded {} + repeated {} + failed {} + refused {} ({}); answers announced {announced} new; rows {stored}; counters {counters}; {errors} reports refused or failed",
        counts.submitted,
        counts.recorded,
        counts.repeated,
        counts.failed,
        counts.refused,
        if accounted == counts.submitted {
            "every one accounted for"
        } else {
            "MISMATCH"
        },
    );
    if accounted != counts.submitted
        || announced != counts.recorded
        || stored != counts.recorded
        || counters != stored
    {
        return Err(format!("{backend}: impressions not accounted for").into());
    }
    drop(writer);
    db.close().await?;
    Ok(Row {
        backend,
        acknowledged,
        per_second: acknowledged as f64 / o.seconds,
        recorded: counts.recorded,
        repeated: counts.repeated,
        failed: counts.failed,
        refused: counts.refused,
        commits: counts.commits,
        stored,
        counters,
        load: load_average(),
    })
}

/// The 1-minute load average, to spot runs disturbed by other work on the machine.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// A small generator (no dependency needed for picking participants and ideas).
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
