//! The `jamd` command line: `serve` (the default), `migrate`, `admin create | disable | enable |
//! reset-password`, `tally verify`.

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
    /// Personal invites to an audience.
    Invites {
        #[command(subcommand)]
        command: InvitesCommand,
    },
    /// Check published results.
    Tally {
        #[command(subcommand)]
        command: TallyCommand,
    },
}

#[derive(Debug, Subcommand)]
enum InvitesCommand {
    /// Issue one-time invite links and print them as CSV (email,link) on stdout; the links are
    /// not stored (only their hashes) and never shown again. With --emails and [smtp] configured,
    /// each address is also sent its link.
    Issue {
        /// The jam's slug.
        #[arg(long)]
        jam: String,
        /// The audience's name.
        #[arg(long)]
        audience: String,
        /// How many anonymous invites.
        #[arg(long, conflicts_with = "emails", required_unless_present = "emails")]
        count: Option<u32>,
        /// A file with one e-mail address per line (blank lines and # comments skipped).
        #[arg(long)]
        emails: Option<std::path::PathBuf>,
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
    /// Disable a staff account: it cannot sign in, and its sign-ins end on every node (through the
    /// broker; with the memory broker, nodes notice within `auth.cache_secs` and the live ping).
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled staff account again.
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Set a staff account's password (from JAM_ADMIN_PASSWORD or the first line of stdin) and end
    /// its sign-ins.
    ResetPassword {
        #[arg(long)]
        email: String,
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
            Command::Admin {
                command: AdminCommand::Disable { email },
            } => admin_change(&settings, &email, Change::Disable).await,
            Command::Admin {
                command: AdminCommand::Enable { email },
            } => admin_change(&settings, &email, Change::Enable).await,
            Command::Admin {
                command: AdminCommand::ResetPassword { email },
            } => admin_change(&settings, &email, Change::Password).await,
            Command::Tally {
                command: TallyCommand::Verify { jam },
            } => tally_verify(&settings, &jam).await,
            Command::Invites {
                command:
                    InvitesCommand::Issue {
                        jam,
                        audience,
                        count,
                        emails,
                    },
            } => routes::invites::cli_issue(&settings, &jam, &audience, count, emails.as_deref()).await,
        }
    })
}

/// The new password from JAM_ADMIN_PASSWORD or the first line of stdin, checked.
fn read_password(settings: &Settings) -> anyhow::Result<String> {
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
    let min = settings.auth.password_min_chars;
    if auth::check_password(&password, min).is_err() {
        bail!("the password must be {min} to 256 characters");
    }
    Ok(password)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Disable,
    Enable,
    Password,
}

/// `jamd admin disable | enable | reset-password`: the change and its audit entry in one
/// transaction, then the account's sign-ins end on every node through the broker.
async fn admin_change(settings: &Settings, email: &str, change: Change) -> anyhow::Result<()> {
    use jam_store::staff::StaffChange;
    let email = Email::parse("email", email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let password = match change {
        Change::Password => Some(read_password(settings)?),
        _ => None,
    };
    let db = connect_db(settings).await?;
    if settings.database.migrate_on_start {
        jam_store::migrate(&db).await.context("migrating")?;
    }
    let Some(account) = jam_store::staff::by_email(&db, email.as_str()).await? else {
        bail!("no staff account has the e-mail {}", email.as_str());
    };
    let password_hash = match password {
        Some(p) => Some(auth::hash_password(p).await.map_err(|e| anyhow::anyhow!("{e}"))?),
        None => None,
    };
    let now = chrono::Utc::now();
    let txn = jam_store::write::begin_write(&db).await?;
    if change == Change::Disable
        && account.role == Role::Admin.as_str()
        && account.disabled_at.is_none()
        && jam_store::staff::active_admins(&txn).await? <= 1
    {
        bail!(
            "{} is the last active admin: it cannot be disabled",
            account.email
        );
    }
    let (action, staff_change) = match change {
        Change::Disable => (
            "staff.updated",
            StaffChange {
                disabled_at: Some(Some(account.disabled_at.unwrap_or(now))),
                ..Default::default()
            },
        ),
        Change::Enable => (
            "staff.updated",
            StaffChange {
                disabled_at: Some(None),
                ..Default::default()
            },
        ),
        Change::Password => (
            "staff.password_changed",
            StaffChange {
                password_hash,
                ..Default::default()
            },
        ),
    };
    jam_store::staff::update(&txn, account.id, staff_change).await?;
    let ended = match change {
        Change::Enable => Vec::new(),
        Change::Disable | Change::Password => jam_store::auth::end_staff(&txn, account.id, None).await?,
    };
    jam_store::audit::record(
        &txn,
        jam_store::audit::NewAudit {
            jam_id: None,
            actor: Actor::System,
            action: action.into(),
            subject_kind: "staff",
            subject_id: Some(account.id),
            detail: serde_json::json!({
                "email": account.email,
                "by": "cli",
                "disabled": match change {
                    Change::Disable => true,
                    Change::Enable => false,
                    Change::Password => account.disabled_at.is_some(),
                },
                "sign_ins_ended": ended.len(),
            }),
            at: now,
        },
    )
    .await?;
    txn.commit().await.context("saving the change")?;
    if !ended.is_empty() {
        let broker = crate::startup::connect_broker(settings).await?;
        if let Err(error) = broker
            .broadcast(crate::signins::SIGNED_OUT, bytes::Bytes::from(ended.join("\n")))
            .await
        {
            eprintln!(
                "warning: the nodes were not told at once ({error}); they notice within auth.cache_secs"
            );
        }
    }
    let done = match change {
        Change::Disable => "disabled",
        Change::Enable => "enabled",
        Change::Password => "password reset for",
    };
    println!("{done} {} ({} sign-ins ended)", account.email, ended.len());
    Ok(())
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
    let password = read_password(settings)?;
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
