//! `just bench-tally`: time and peak memory of the tally's real code paths on a big jam, on SQLite
//! and PostgreSQL: computing the shortlist (`jam_tally::count` inside a snapshot transaction, `rank`
//! and the shortlisted texts, as the server's shortlist route does), verifying, and streaming each
//! export (`write_csv`, `write_xlsx`, `write_json` to a temporary file, as the download routes do).
//!
//! ```text
//! cargo run --release -p jam-tally --example bench_tally -- [options]
//!   --sizes LIST          ideas per jam, comma-separated (default 1000,10000,100000)
//!   --votes-per-idea N    mean votes per idea (default 50; each idea gets 0..=2N)
//!   --participants N      participants, spread over 3 audiences (default 20000)
//!   --postgres URL        run PostgreSQL on this (migrated) database; a new jam per size
//!   --skip-postgres       SQLite only
//!   --skip-sqlite         PostgreSQL only
//! ```
//! Without `--postgres`, PostgreSQL runs on a fresh database per size created (and dropped) through
//! `jam_testkit::services` from `JAM_TEST_DATABASE_URL`; SQLite on a temporary file per size.
//!
//! Seeding (not measured) writes the rows directly with multi-row INSERTs in large transactions
//! (SQLite with `synchronous=OFF` and foreign keys off on the seeding connection only; PostgreSQL
//! with foreign-key triggers off for the seeding session when allowed), then runs `ANALYZE`
//! (`VACUUM ANALYZE` on PostgreSQL), as a database that has been live for a while would be.
//!
//! Measuring: every step runs in a fresh child process (this binary re-run with `--step`), which
//! opens its own pool with the shipped settings (`jam_store::connect`) and reports its wall time and
//! its peak resident memory (`VmHWM` of `/proc/self/status`), so one step's peak cannot hide another's.
//! - `shortlist-cold`: the shortlist route's path on a jam no tally has read yet: snapshot
//!   transaction + `count` (the ideas' counters, and every idea's digest leaf computed from its votes,
//!   since none is cached) + `rank` + the shortlisted ideas' texts, then the leaves are cached. Once
//!   per jam.
//! - `shortlist`: the same right after, as every later request finds it: all leaves cached.
//! - `shortlist-1%`: the same after the votes of 1% of the ideas changed (their `votes_rev` bumped,
//!   as the vote writer does), so their leaves are recomputed from their vote rows.
//! - `verify`: the audit path of `jamd tally verify` (`Source::VoteRows`): every vote row read and
//!   hashed, no counter and no cache.
//! - `csv`, `xlsx`, `json`: a whole download as the route does it: count + rank, then the ranked ideas'
//!   texts read 500 at a time (two chunks queued) and streamed through a 64 KiB `BufWriter` into a
//!   temporary file. The peak is the whole process's: flat memory shows as a peak that does not grow
//!   with the number of ideas beyond the ranking's fixed ~100 bytes per idea.

use std::error::Error;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use jam_domain::{ItemStatus, VoteValue};
use jam_store::DbSettings;
use jam_store::entity::ideas;
use jam_store::sea_orm::sea_query::{Expr, ExprTrait};
use jam_store::sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use jam_store::tally::{CurationAction, NewCuration};
use jam_tally::{ExportHeader, Format, ShortlistState, Source};
use jam_testkit::{Seed, With, insert_all, rows, services};
use uuid::Uuid;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Vote rows per seeding transaction.
const ROWS_PER_TXN: usize = 250_000;
/// Steps measured per backend and size, in order (see the module docs).
const STEPS: [&str; 7] = [
    "shortlist-cold",
    "shortlist",
    "shortlist-1%",
    "verify",
    "csv",
    "xlsx",
    "json",
];

#[derive(Clone, Debug)]
struct Options {
    sizes: Vec<usize>,
    votes_per_idea: usize,
    participants: usize,
    postgres: Option<String>,
    sqlite: bool,
    pg: bool,
}

fn options(args: &[String]) -> Res<Options> {
    let mut o = Options {
        sizes: vec![1_000, 10_000, 100_000],
        votes_per_idea: 50,
        participants: 20_000,
        postgres: None,
        sqlite: true,
        pg: true,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().cloned().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--sizes" => {
                o.sizes = value()?
                    .split(',')
                    .map(|s| s.trim().replace('_', "").parse())
                    .collect::<Result<_, _>>()?
            }
            "--votes-per-idea" => o.votes_per_idea = value()?.parse()?,
            "--participants" => o.participants = value()?.parse()?,
            "--postgres" => o.postgres = Some(value()?),
            "--skip-postgres" => o.pg = false,
            "--skip-sqlite" => o.sqlite = false,
            "-h" | "--help" => {
                println!("see the top of crates/jam-tally/examples/bench_tally.rs");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if o.participants < 2 * o.votes_per_idea + 1 || o.sizes.contains(&0) {
        return Err("need participants > 2 × votes-per-idea and sizes >= 1".into());
    }
    Ok(o)
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if args.first().map(String::as_str) == Some("--step") {
        return runtime.block_on(child(&args[1..]));
    }
    let o = options(&args)?;
    runtime.block_on(parent(&o))
}

// ---------------------------------------------------------------------------------------------
// Parent: seed, run each step in a child, print the table.

struct Row {
    backend: &'static str,
    ideas: usize,
    votes: u64,
    step: &'static str,
    report: Report,
}

async fn parent(o: &Options) -> Res<()> {
    println!(
        "bench_tally: sizes {:?}, {} votes per idea on average, {} participants, {} cores, load {}",
        o.sizes,
        o.votes_per_idea,
        o.participants,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average(),
    );
    let mut rows = Vec::new();
    if o.sqlite {
        for &size in &o.sizes {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            rows.extend(bench_one("SQLite", &url, size, o).await?);
        }
    }
    if o.pg {
        for &size in &o.sizes {
            let (url, fresh) = match &o.postgres {
                Some(url) => (Some(url.clone()), false),
                None if std::env::var(services::DATABASE_URL_VAR).is_ok() => (
                    services::fresh_postgres_url_for("the PostgreSQL tally benchmark").await,
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
            let Some(url) = url else { break };
            let result = bench_one("PostgreSQL", &url, size, o).await;
            if fresh {
                services::drop_database(&url).await;
            }
            rows.extend(result?);
        }
    }
    print_table(&rows);
    Ok(())
}

async fn bench_one(backend: &'static str, url: &str, size: usize, o: &Options) -> Res<Vec<Row>> {
    let started = Instant::now();
    let seeded = seed_database(url, size, o).await?;
    eprintln!(
        "{backend}: seeded {size} ideas, {} vote rows ({} non-zero) in {:.1} s (load {})",
        seeded.rows,
        seeded.non_zero,
        started.elapsed().as_secs_f64(),
        load_average()
    );
    let mut rows = Vec::new();
    for step in STEPS {
        if step == "shortlist-1%" {
            touch_one_percent(url, seeded.jam_id).await?;
        }
        let report = run_child(step, url, seeded.jam_id)?;
        eprintln!(
            "{backend:<10} {size:>7} {step:<9} {:>8.3} s  peak {:>7.1} MiB  {}  (load {})",
            report.seconds,
            report.peak_mib,
            report.notes,
            load_average()
        );
        rows.push(Row {
            backend,
            ideas: size,
            votes: seeded.non_zero,
            step,
            report,
        });
    }
    Ok(rows)
}

/// Bumps the `votes_rev` of every 100th idea (by id), as a vote on each would.
async fn touch_one_percent(url: &str, jam_id: Uuid) -> Res<()> {
    let db = jam_store::connect(&settings(url, 1)).await?;
    let ids: Vec<Uuid> = ideas::Entity::find()
        .select_only()
        .column(ideas::Column::Id)
        .filter(ideas::Column::JamId.eq(jam_id))
        .order_by_asc(ideas::Column::Id)
        .into_tuple()
        .all(&db)
        .await?;
    let touched: Vec<Uuid> = ids.into_iter().step_by(100).collect();
    for chunk in touched.chunks(500) {
        ideas::Entity::update_many()
            .col_expr(ideas::Column::VotesRev, Expr::col(ideas::Column::VotesRev).add(1))
            .filter(ideas::Column::Id.is_in(chunk.iter().copied()))
            .exec(&db)
            .await?;
    }
    db.close().await?;
    Ok(())
}

/// The pool settings every connection of the benchmark uses (the shipped ones but the size).
fn settings(url: &str, max_connections: u32) -> DbSettings {
    DbSettings {
        url: url.to_owned(),
        max_connections,
        min_connections: 1,
        connect_timeout: Duration::from_secs(60),
        sqlite_busy_timeout: Duration::from_secs(5),
    }
}

fn run_child(step: &str, url: &str, jam_id: Uuid) -> Res<Report> {
    let out = Command::new(std::env::current_exe()?)
        .args(["--step", step, url, &jam_id.to_string()])
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "step {step} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let stdout = String::from_utf8(out.stdout)?;
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("REPORT "))
        .ok_or_else(|| format!("step {step} printed no report: {stdout}"))?;
    Ok(serde_json::from_str(line)?)
}

fn print_table(rows: &[Row]) {
    println!();
    println!("| backend | ideas | votes | step | seconds | peak MiB | notes |");
    println!("| --- | ---: | ---: | --- | ---: | ---: | --- |");
    for row in rows {
        println!(
            "| {} | {} | {} | {} | {:.3} | {:.1} | {} |",
            row.backend,
            thousands(row.ideas as u64),
            thousands(row.votes),
            row.step,
            row.report.seconds,
            row.report.peak_mib,
            row.report.notes,
        );
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Seeding.

struct Seeded {
    jam_id: Uuid,
    rows: u64,
    non_zero: u64,
}

async fn seed_database(url: &str, size: usize, o: &Options) -> Res<Seeded> {
    // One connection, so the seeding-only settings below apply to every statement.
    let db = jam_store::connect(&settings(url, 1)).await?;
    jam_store::migrate(&db).await?;
    let backend = db.get_database_backend();
    match backend {
        DbBackend::Sqlite => {
            db.execute_unprepared("PRAGMA synchronous=OFF").await?;
            db.execute_unprepared("PRAGMA foreign_keys=OFF").await?;
        }
        _ => {
            // Skips the per-row foreign-key checks (needs a superuser; the rows are consistent by
            // construction). Without the right, seeding is only slower.
            if db
                .execute_unprepared("SET session_replication_role = replica")
                .await
                .is_err()
            {
                eprintln!("PostgreSQL: cannot turn foreign-key triggers off; seeding with them");
            }
        }
    }
    let seeded = seed(&db, size, o).await?;
    match backend {
        DbBackend::Sqlite => {
            db.execute_unprepared("ANALYZE").await?;
            db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await?;
        }
        _ => {
            db.execute_unprepared("SET session_replication_role = DEFAULT")
                .await
                .ok();
            db.execute_unprepared("VACUUM ANALYZE").await?;
        }
    }
    db.close().await?;
    Ok(seeded)
}

/// A closed jam with 3 audiences, `o.participants` participants, one session and `size` ideas
/// (1 in 100 hidden, so it does not rank), each with 0..=2×`votes_per_idea` votes from distinct
/// random participants (about 70% +1 on average, varying per idea, 3% retracted), two exclusions and
/// one pin.
async fn seed(db: &DatabaseConnection, size: usize, o: &Options) -> Res<Seeded> {
    let t = Utc::now();
    let starts = t - chrono::Duration::hours(73);
    let ends = t - chrono::Duration::hours(1);
    let mut rng = Lcg(0x005e_ed0f_7a11 ^ size as u64);
    let mut jam = Seed::new(o.participants, 0);
    let j = &mut jam.jam;
    j.title = "Tally benchmark".into();
    (j.starts_at, j.ends_at, j.created_at, j.updated_at) = (starts, ends, starts, starts);
    (j.scheduled_at, j.closed_at) = (Some(starts), Some(ends));
    let s = &mut jam.session;
    s.title = "The future of work".into();
    (s.opens_at, s.closes_at, s.created_at, s.updated_at) = (starts, ends, starts, starts);
    for (position, name) in [(1, "client"), (2, "family")] {
        let audience = rows::audience(&jam.jam).with(|a| {
            a.name = name.into();
            a.position = position;
        });
        jam.audiences.push(audience);
    }
    // Participants: ids in increasing order, audience by index (60% employees, 30% clients, 10% families).
    for (i, p) in jam.participants.iter_mut().enumerate() {
        let audience = match i % 10 {
            0..=5 => 0,
            6..=8 => 1,
            _ => 2,
        };
        p.audience_id = jam.audiences[audience].id;
        p.display_name = format!("Participant {i}");
        (p.accepted_guidelines_at, p.created_at) = (starts, starts);
    }
    let txn = db.begin().await?;
    jam.insert(&txn).await?;
    txn.commit().await?;

    // Ideas with their votes, a chunk of ideas per transaction. Ids increase, so the votes go in
    // primary-key order.
    let people = &jam.participants;
    let idea_ids: Vec<Uuid> = (0..size).map(|_| Uuid::now_v7()).collect();
    let (mut rows, mut non_zero) = (0u64, 0u64);
    let ideas_per_txn = (ROWS_PER_TXN / o.votes_per_idea.max(1)).max(1);
    for (c, chunk) in idea_ids.chunks(ideas_per_txn).enumerate() {
        let txn = db.begin().await?;
        let mut idea_rows = Vec::with_capacity(chunk.len());
        let mut vote_rows = Vec::with_capacity(chunk.len() * o.votes_per_idea * 2);
        for (i, &id) in chunk.iter().enumerate() {
            let n = c * ideas_per_txn + i;
            let k = rng.below(2 * o.votes_per_idea + 1);
            let mut voters: Vec<usize> = Vec::with_capacity(k);
            while voters.len() < k {
                let p = rng.below(people.len());
                if !voters.contains(&p) {
                    voters.push(p);
                }
            }
            voters.sort_unstable_by_key(|&p| people[p].id);
            let support = 40 + rng.below(55); // % of +1 among this idea's votes
            let cast: Vec<(usize, VoteValue)> = voters
                .into_iter()
                .map(|p| {
                    let roll = rng.below(100);
                    let value = if roll < 3 {
                        VoteValue::Retract
                    } else if roll < 3 + support * 97 / 100 {
                        VoteValue::Up
                    } else {
                        VoteValue::Down
                    };
                    (p, value)
                })
                .collect();
            let up = cast.iter().filter(|(_, v)| *v == VoteValue::Up).count() as i32;
            let down = cast.iter().filter(|(_, v)| *v == VoteValue::Down).count() as i32;
            rows += k as u64;
            non_zero += (up + down) as u64;
            let created = starts + chrono::Duration::milliseconds((n as i64 * 2_591) % 259_200_000);
            let author = &people[rng.below(people.len())];
            let comments = rng.below(12) as i32;
            let title = format!("Idea {n}: let teams choose their own tools and share what works");
            let idea = ideas::Model::posted(&jam.session, author.id, title, String::new(), &[], created)
                .with(|idea| {
                    idea.id = id;
                    idea.status = if n % 100 == 99 {
                        ItemStatus::Hidden
                    } else {
                        ItemStatus::Visible
                    };
                    (idea.up, idea.down, idea.voters, idea.comments) = (up, down, up + down, comments);
                });
            vote_rows.extend(cast.into_iter().map(|(p, value)| {
                rows::vote(&idea, &people[p], value).with(|v| (v.created_at, v.updated_at) = (starts, starts))
            }));
            idea_rows.push(idea);
        }
        insert_all(&txn, &idea_rows).await?;
        insert_all(&txn, &vote_rows).await?;
        txn.commit().await?;
        if c % 4 == 3 {
            eprintln!("  … {} / {size} ideas, {rows} votes", (c + 1) * ideas_per_txn);
        }
    }
    // Curation: exclude two ideas, pin one.
    let decisions = [
        (0, CurationAction::Exclude, "Duplicate of an earlier idea"),
        (size / 2, CurationAction::Exclude, "Out of scope"),
        (size / 3, CurationAction::Pin, ""),
    ]
    .map(|(i, action, reason)| NewCuration {
        idea_id: idea_ids[i.min(size - 1)],
        action,
        reason: reason.into(),
    });
    jam_store::tally::record_curation(db, jam.jam.id, None, &decisions, ends).await?;
    Ok(Seeded {
        jam_id: jam.jam.id,
        rows,
        non_zero,
    })
}

// ---------------------------------------------------------------------------------------------
// Child: one measured step.

#[derive(serde::Serialize, serde::Deserialize)]
struct Report {
    seconds: f64,
    peak_mib: f64,
    notes: String,
}

async fn child(args: &[String]) -> Res<()> {
    let [step, url, jam_id] = args else {
        return Err("--step STEP URL JAM_ID".into());
    };
    let jam_id: Uuid = jam_id.parse()?;
    let db = jam_store::connect(&settings(url, 2)).await?;
    let jam = jam_store::jams::by_id(&db, jam_id).await?.ok_or("no such jam")?;
    let params = jam_tally::params_of(&jam.jam)?;

    if step == "verify" {
        // The audit path: every vote row, no counter, no cache.
        let started = Instant::now();
        let txn = jam_store::tally::begin_snapshot(&db).await?;
        let tally = jam_tally::tally(&txn, &jam, params, Utc::now(), Source::VoteRows).await?;
        txn.rollback().await?;
        return report(Report {
            seconds: started.elapsed().as_secs_f64(),
            peak_mib: mib(status_kib("VmHWM:")),
            notes: format!(
                "{} votes read and hashed, {}…",
                tally.votes,
                &tally.digest.to_string()[..12]
            ),
        });
    }

    // The shortlist route's path: count in a snapshot transaction, rank off the async threads, read
    // the shortlisted ideas' texts, then cache the leaves that had to be recomputed.
    let started = Instant::now();
    let txn = jam_store::tally::begin_snapshot(&db).await?;
    let counted = jam_tally::count(&txn, jam_id, params, Source::Stored).await?;
    let count_s = started.elapsed().as_secs_f64();
    let computed_at = Utc::now();
    let ranked = tokio::task::spawn_blocking(move || counted.rank(computed_at)).await?;
    let rank_s = started.elapsed().as_secs_f64() - count_s;
    let recomputed = ranked.fresh_leaves.len();
    jam_tally::keep_leaves(&db, &ranked.fresh_leaves).await?;
    if step.starts_with("shortlist") {
        let tally = ranked.into_tally(&txn, &jam).await?;
        txn.rollback().await?;
        let shortlist = tally.shortlist(ShortlistState::Draft);
        return report(Report {
            seconds: started.elapsed().as_secs_f64(),
            peak_mib: mib(status_kib("VmHWM:")),
            notes: format!(
                "count {count_s:.3} s ({recomputed} leaves recomputed) + rank {rank_s:.3} s; {} ranked, {} on the list, digest {}…",
                tally.ranking.slots.len(),
                shortlist.items.len(),
                &tally.digest.to_string()[..12]
            ),
        });
    }

    // An export, as the download route streams it: the ranked ideas' texts a chunk at a time from a
    // task that owns the snapshot, written by a blocking thread into a temporary file.
    let header = ExportHeader::new(
        &ranked.ranking,
        jam_id,
        jam.jam.title.clone(),
        ShortlistState::Draft,
        ranked.digest,
        jam.audiences.iter().map(|a| a.name.clone()).collect(),
    );
    let path: PathBuf = std::env::temp_dir().join(format!("bench-tally-{}.{step}", Uuid::new_v4().simple()));
    let format = match step.as_str() {
        "csv" => Format::Csv,
        "json" => Format::Json,
        "xlsx" => Format::Xlsx,
        other => return Err(format!("unknown step {other}").into()),
    };
    let file = std::fs::File::create(&path)?;
    let (_, written) = jam_tally::export(txn, jam, ranked.ranking, header, format, file).await?;
    let seconds = started.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&path)?.len();
    std::fs::remove_file(&path)?;
    report(Report {
        seconds,
        peak_mib: mib(status_kib("VmHWM:")),
        notes: format!(
            "{written} rows, {:.1} MiB file; count {count_s:.3} s + rank {rank_s:.3} s, the rest reading texts and writing",
            bytes as f64 / 1_048_576.0,
        ),
    })
}

fn report(r: Report) -> Res<()> {
    println!("REPORT {}", serde_json::to_string(&r)?);
    Ok(())
}

/// A `kB` line of `/proc/self/status` (0 where there is none).
fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The 1-minute load average, to spot runs disturbed by other work on the machine.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// A small generator (no dependency needed for picking voters and values).
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
