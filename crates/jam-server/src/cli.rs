//! The `jamd` command line: `serve` (the default), `migrate`, `admin create`, `tally verify`.

use std::io::BufRead as _;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use jam_domain::Role;
use jam_domain::text::{DisplayName, Email};
use jam_store::audit::Actor;

use crate::settings::Settings;
use crate::startup::{Application, connect_db};
use crate::{auth, routes, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "jamd",
    version,
    about = "OpenJam server: run a live, time-boxed ideas jam"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API, the live hub and the web app (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage staff accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Check published results.
    Tally {
        #[command(subcommand)]
        command: TallyCommand,
    },
}

#[derive(Debug, Subcommand)]
enum TallyCommand {
    /// Recompute a jam's published shortlist from the database and compare it with the snapshot:
    /// prints "verified" and exits 0 when digest and items match, else prints the differences and
    /// exits non-zero.
    Verify {
        /// The jam's slug.
        #[arg(long)]
        jam: String,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a staff account. The password comes from JAM_ADMIN_PASSWORD or the first line of stdin.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["admin", "facilitator", "executive"])]
        role: String,
        /// Shown to others; defaults to the part of the e-mail before the @.
        #[arg(long)]
        name: Option<String>,
    },
}

/// Runs the command line; the process exit code is 0 on success.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load()?;
    telemetry::init(&settings.log);
    actix_web::rt::System::new().block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => Application::build(settings).await?.run_until_stopped().await,
            Command::Migrate => {
                let db = connect_db(&settings).await?;
                jam_store::migrate(&db).await.context("migrating")?;
                println!("migrations applied");
                Ok(())
            }
            Command::Admin {
                command: AdminCommand::Create { email, role, name },
            } => admin_create(&settings, &email, &role, name.as_deref()).await,
            Command::Tally {
                command: TallyCommand::Verify { jam },
            } => tally_verify(&settings, &jam).await,
        }
    })
}

async fn admin_create(
    settings: &Settings,
    email: &str,
    role: &str,
    name: Option<&str>,
) -> anyhow::Result<()> {
    let email = Email::parse("email", email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let role: Role = role.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let default_name = email.as_str().split('@').next().unwrap_or("admin").to_owned();
    let name =
        DisplayName::parse("name", name.unwrap_or(&default_name)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let password = match std::env::var("JAM_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if auth::check_password(&password).is_err() {
        bail!("the password must be 12 to 256 characters");
    }
    let db = connect_db(settings).await?;
    if settings.database.migrate_on_start {
        jam_store::migrate(&db).await.context("migrating")?;
    }
    let hash = auth::hash_password(password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let view = routes::auth::create_account(&db, chrono::Utc::now(), email, name, role, hash, Actor::System)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("created {} {} ({})", view.role, view.email, view.id);
    Ok(())
}

/// `jamd tally verify --jam SLUG`: the ranking of publishing recomputed from every vote row (no stored
/// counter, no cached digest leaf: `jam_tally::Source::VoteRows`), in one snapshot transaction, with
/// the snapshot's method and size.
async fn tally_verify(settings: &Settings, slug: &str) -> anyhow::Result<()> {
    let db = connect_db(settings).await?;
    let jam = jam_store::jams::by_slug(&db, slug)
        .await?
        .with_context(|| format!("no jam {slug:?}"))?;
    let txn = jam_store::tally::begin_snapshot(&db).await?;
    let verification = jam_tally::verify(&txn, &jam, chrono::Utc::now())
        .await
        .with_context(|| format!("verifying {slug}"))?;
    txn.rollback().await.context("ending the read")?;
    let published = &verification.published;
    if verification.verified() {
        println!(
            "verified: {slug} published {} by {}, digest {} ({} votes, {} ideas on the shortlist)",
            published.published_at.to_rfc3339(),
            published.shortlist.method,
            published.shortlist.digest,
            verification.votes,
            published.shortlist.items.len()
        );
        return Ok(());
    }
    println!("NOT verified: the database no longer gives the published shortlist of {slug}");
    for line in &verification.differences {
        println!("  {line}");
    }
    bail!(
        "{} difference(s) between the published shortlist and the database",
        verification.differences.len()
    )
}
