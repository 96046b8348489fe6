//! The `jamd` command line: `serve` (the default), `migrate`, `admin create`.

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
