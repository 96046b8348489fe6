//! E-mailing personal invites through SMTP (`[smtp]`, with `lettre`).
//!
//! Sending happens after the issuing request has answered, on a background task, so a slow or
//! unreachable mail server never holds the facilitator's request: each message gets
//! `smtp.timeout_secs` (connect, TLS, send), one after the other on one connection pool, and its
//! outcome is written to the invite (`sent`, or `failed` with the reason), which the audience's
//! invite list shows. With no `smtp.host`, nothing is sent and invites stay `pending`.
//!
//! The message is in English and French (a jam has no language of its own), with the link built
//! from `server.public_origin`.

use std::time::Duration;

use jam_domain::MailStatus;
use jam_store::JamFull;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::routes::invites::Issued;
use crate::settings::{SmtpSettings, SmtpTls};
use crate::state::AppState;

/// One invite to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub invite_id: Uuid,
    pub to: String,
    pub link: String,
}

/// The subject and plain-text body of an invite to `title`.
pub fn invite_text(title: &str, link: &str) -> (String, String) {
    let subject = format!("Invitation: {title} / Invitation : {title}");
    let body = format!(
        "You are invited to take part in \"{title}\".\n\
         Open this personal link to join (it works once, for you only):\n\n{link}\n\n\
         ---\n\n\
         Vous êtes invité·e à participer à « {title} ».\n\
         Ouvrez ce lien personnel pour rejoindre (il ne sert qu'une fois, pour vous seul·e) :\n\n{link}\n"
    );
    (subject, body)
}

fn transport(smtp: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let builder = match smtp.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        SmtpTls::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host).map_err(|e| e.to_string())?
        }
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host).map_err(|e| e.to_string())?,
    };
    let mut builder = builder
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(smtp.timeout_secs)));
    if !smtp.username.is_empty() {
        builder = builder.credentials(Credentials::new(
            smtp.username.clone(),
            smtp.password.expose().to_owned(),
        ));
    }
    Ok(builder.build())
}

/// Sends one message; the error as text for the invite list.
async fn send_one(
    mailer: &AsyncSmtpTransport<Tokio1Executor>,
    smtp: &SmtpSettings,
    title: &str,
    out: &Outgoing,
) -> Result<(), String> {
    let from: Mailbox = smtp.from.parse().map_err(|e| format!("smtp.from: {e}"))?;
    let to: Mailbox = out.to.parse().map_err(|e| format!("address: {e}"))?;
    let (subject, body) = invite_text(title, &out.link);
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| e.to_string())?;
    let limit = Duration::from_secs(smtp.timeout_secs);
    match tokio::time::timeout(limit, mailer.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer from the SMTP server within {} s",
            smtp.timeout_secs
        )),
    }
}

/// Sends every message and records each outcome on its invite. Returns how many were sent.
pub async fn deliver(
    db: &DatabaseConnection,
    smtp: &SmtpSettings,
    title: &str,
    batch: Vec<Outgoing>,
) -> usize {
    let mailer = match transport(smtp) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(error = %e, "SMTP transport not usable");
            for out in &batch {
                record(db, out.invite_id, MailStatus::Failed, Some(e.clone())).await;
            }
            None
        }
    };
    let Some(mailer) = mailer else { return 0 };
    let mut sent = 0;
    for out in &batch {
        match send_one(&mailer, smtp, title, out).await {
            Ok(()) => {
                sent += 1;
                record(db, out.invite_id, MailStatus::Sent, None).await;
            }
            Err(e) => {
                tracing::warn!(invite = %out.invite_id, error = %e, "invite e-mail failed");
                record(db, out.invite_id, MailStatus::Failed, Some(e)).await;
            }
        }
    }
    sent
}

async fn record(db: &DatabaseConnection, id: Uuid, status: MailStatus, error: Option<String>) {
    if let Err(e) = jam_store::invites::set_mail(db, id, status, error).await {
        tracing::warn!(invite = %id, error = %e, "could not record an invite's e-mail status");
    }
}

/// The issued invites bound to addresses, as messages to send.
pub fn outgoing(issued: &[Issued]) -> Vec<Outgoing> {
    issued
        .iter()
        .filter_map(|i| {
            i.row.email.as_ref().map(|to| Outgoing {
                invite_id: i.row.id,
                to: to.clone(),
                link: i.link.clone(),
            })
        })
        .collect()
}

/// Starts sending the invites bound to addresses on a background task (when SMTP is configured).
pub fn send_invites(state: &AppState, jam: &JamFull, issued: &[Issued]) {
    let smtp = state.settings.smtp.clone();
    let batch = outgoing(issued);
    if smtp.host.is_empty() || batch.is_empty() {
        return;
    }
    let db = state.db.clone();
    let title = jam.jam.title.clone();
    tokio::spawn(async move {
        deliver(&db, &smtp, &title, batch).await;
    });
}
