//! An audience's admission: its mode (`code`, `invite`, `sso`), personal invites (issue as CSV,
//! list, revoke, redeem on join) and rotating its shared code. Facilitators and admins only, each
//! change audited; redemption is part of `POST /jams/{slug}/join` (see `participation::join`).
//!
//! A personal invite's token is 256 random bits; only its SHA-256 is stored, so the links exist
//! only in the CSV answer (and the e-mails, when SMTP is configured).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use jam_domain::lifecycle::JamState;
use jam_domain::text::Email;
use jam_domain::{Admission, Principal};
use jam_protocol::api::{
    AudienceView, InviteList, InviteState, InviteView, IssueInvitesRequest, PatchAudienceRequest, RotatedCode,
};
use jam_store::JamFull;
use jam_store::audit::{Actor, NewAudit};
use jam_store::entity::{audiences, invites};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::access::{jam_by_slug, store_err};
use crate::auth::{self, Caller};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::validate::Check;

/// The jam and the named audience, for a facilitator or an admin.
async fn load(
    state: &AppState,
    caller: &Caller,
    slug: &str,
    name: &str,
) -> ApiResult<(JamFull, audiences::Model)> {
    caller.require_runs_jams()?;
    let jam = jam_by_slug(state, slug).await?;
    let audience = audience_named(&jam, name)?.clone();
    Ok((jam, audience))
}

pub fn audience_named<'a>(jam: &'a JamFull, name: &str) -> ApiResult<&'a audiences::Model> {
    jam.audiences
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| ApiError::not_found("audience"))
}

fn ended(jam: &JamFull, now: DateTime<Utc>) -> bool {
    matches!(jam.state(now), JamState::Closed | JamState::Published)
}

fn audit(
    jam: &JamFull,
    actor: Actor,
    action: &str,
    audience: &audiences::Model,
    detail: serde_json::Value,
    at: DateTime<Utc>,
) -> NewAudit {
    NewAudit {
        jam_id: Some(jam.jam.id),
        actor,
        action: action.into(),
        subject_kind: "audience",
        subject_id: Some(audience.id),
        detail,
        at,
    }
}

/// The link a personal invite's holder opens: the web app's join page with the token.
pub fn invite_link(public_origin: &str, slug: &str, token: &str) -> String {
    format!("{public_origin}/j/{slug}/join?invite={token}")
}

/// One invite issued now: its row (stored), the address and the link (shown once).
pub struct Issued {
    pub row: invites::Model,
    pub link: String,
}

/// What to issue: `count` anonymous invites, or one per address.
pub enum IssueSpec {
    Count(usize),
    Emails(Vec<String>),
}

/// Checks an issue request: a count of 1 to `max`, or 1 to `max` valid distinct addresses.
pub fn issue_spec(body: IssueInvitesRequest, max: usize) -> ApiResult<IssueSpec> {
    let mut check = Check::default();
    let spec = match (body.count, body.emails) {
        (Some(n), None) => {
            if n == 0 || n as usize > max {
                check.fail("count", &format!("must be 1 to {max}"));
            }
            IssueSpec::Count(n as usize)
        }
        (None, Some(emails)) => {
            if emails.is_empty() || emails.len() > max {
                check.fail("emails", &format!("give 1 to {max} addresses"));
            }
            let mut seen = std::collections::HashSet::new();
            let mut kept = Vec::new();
            for (i, raw) in emails.iter().enumerate() {
                let field = format!("emails[{i}]");
                match Email::parse(&field, raw.trim()) {
                    Ok(email) => {
                        let email = email.as_str().to_owned();
                        if !seen.insert(email.to_lowercase()) {
                            check.fail(&field, "is given twice");
                        }
                        kept.push(email);
                    }
                    Err(e) => check.0.push(e),
                }
            }
            IssueSpec::Emails(kept)
        }
        _ => {
            check.fail("count", "give either count or emails");
            IssueSpec::Count(0)
        }
    };
    check.done()?;
    Ok(spec)
}

/// Issues invites to `audience` in one transaction with its audit entry; the links are in the
/// answer only.
pub async fn issue(
    db: &DatabaseConnection,
    public_origin: &str,
    jam: &JamFull,
    audience: &audiences::Model,
    spec: IssueSpec,
    actor: Actor,
    now: DateTime<Utc>,
) -> ApiResult<Vec<Issued>> {
    let emails: Vec<Option<String>> = match spec {
        IssueSpec::Count(n) => vec![None; n],
        IssueSpec::Emails(list) => list.into_iter().map(Some).collect(),
    };
    let created_by = match actor {
        Actor::Staff(id) => Some(id),
        _ => None,
    };
    let mut issued = Vec::with_capacity(emails.len());
    for email in emails {
        let token = auth::new_token()?;
        let row = invites::Model::issued(audience, auth::token_hash(&token), email, created_by, now);
        issued.push(Issued {
            link: invite_link(public_origin, &jam.jam.slug, &token),
            row,
        });
    }
    let txn = jam_store::write::begin_write(db).await?;
    jam_store::invites::insert_many(&txn, issued.iter().map(|i| i.row.clone()).collect()).await?;
    let bound = issued.iter().filter(|i| i.row.email.is_some()).count();
    jam_store::audit::record(
        &txn,
        audit(
            jam,
            actor,
            "invites.issued",
            audience,
            serde_json::json!({ "audience": audience.name, "count": issued.len(), "emails": bound }),
            now,
        ),
    )
    .await?;
    txn.commit().await.map_err(store_err)?;
    Ok(issued)
}

/// The CSV of issued invites: a header, then `email,link` per invite (RFC 4180).
pub fn invites_csv(issued: &[Issued]) -> ApiResult<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ApiError::Internal(e.into());
    out.write_record(["email", "link"]).map_err(fail)?;
    for i in issued {
        out.write_record([i.row.email.as_deref().unwrap_or_default(), i.link.as_str()])
            .map_err(fail)?;
    }
    out.into_inner()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))
}

pub async fn patch_audience(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    ApiJson(body): ApiJson<PatchAudienceRequest>,
) -> ApiResult<HttpResponse> {
    let (slug, name) = path.into_inner();
    let (jam, audience) = load(&state, &caller, &slug, &name).await?;
    let now = state.clock.now();
    if ended(&jam, now) {
        return Err(ApiError::Conflict(
            "this jam has ended; its audiences can no longer change".into(),
        ));
    }
    if body.admission != audience.admission {
        let txn = jam_store::write::begin_write(&state.db).await?;
        jam_store::invites::set_admission(&txn, audience.id, body.admission).await?;
        jam_store::audit::record(
            &txn,
            audit(
                &jam,
                caller.actor(),
                "audience.admission_changed",
                &audience,
                serde_json::json!({ "audience": audience.name, "from": audience.admission, "to": body.admission }),
                now,
            ),
        )
        .await?;
        txn.commit().await.map_err(store_err)?;
    }
    Ok(HttpResponse::Ok().json(AudienceView {
        name: audience.name.clone(),
        invite_code: Some(audience.invite_code.clone()),
        join_path: Some(format!("/j/{}?code={}", jam.jam.slug, audience.invite_code)),
        admission: body.admission,
    }))
}

pub async fn issue_invites(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    ApiJson(body): ApiJson<IssueInvitesRequest>,
) -> ApiResult<HttpResponse> {
    let (slug, name) = path.into_inner();
    let (jam, audience) = load(&state, &caller, &slug, &name).await?;
    let spec = issue_spec(body, state.settings.limits.invites_per_request)?;
    let now = state.clock.now();
    if ended(&jam, now) {
        return Err(ApiError::Conflict(
            "this jam has ended; it takes no new participants".into(),
        ));
    }
    let origin = &state.settings.server.public_origin;
    let issued = issue(&state.db, origin, &jam, &audience, spec, caller.actor(), now).await?;
    crate::mail::send_invites(&state, &jam, &issued);
    let csv = invites_csv(&issued)?;
    Ok(HttpResponse::Created()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"invites-{}-{}.csv\"",
                jam.jam.slug, audience.position
            ),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(csv))
}

fn invite_view(i: &invites::Model) -> InviteView {
    let state = if i.redeemed_at.is_some() {
        InviteState::Used
    } else if i.revoked_at.is_some() {
        InviteState::Revoked
    } else {
        InviteState::Unused
    };
    InviteView {
        id: i.id,
        state,
        email: i.email.clone(),
        created_at: i.created_at,
        redeemed_at: i.redeemed_at,
        revoked_at: i.revoked_at,
        participant_id: i.participant_id,
        mail_status: i.mail_status,
        mail_error: i.mail_error.clone(),
    }
}

pub async fn list_invites(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (slug, name) = path.into_inner();
    let (_, audience) = load(&state, &caller, &slug, &name).await?;
    let rows = jam_store::invites::of_audience(&state.db, audience.id).await?;
    let items: Vec<InviteView> = rows.iter().map(invite_view).collect();
    let n = |s: InviteState| items.iter().filter(|i| i.state == s).count() as u64;
    Ok(HttpResponse::Ok().json(InviteList {
        audience: audience.name.clone(),
        admission: audience.admission,
        total: items.len() as u64,
        used: n(InviteState::Used),
        unused: n(InviteState::Unused),
        revoked: n(InviteState::Revoked),
        items,
    }))
}

pub async fn revoke_invite(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String, String)>,
) -> ApiResult<HttpResponse> {
    let (slug, name, id) = path.into_inner();
    let (jam, audience) = load(&state, &caller, &slug, &name).await?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("invite"))?;
    let now = state.clock.now();
    let txn = jam_store::write::begin_write(&state.db).await?;
    if !jam_store::invites::revoke(&txn, audience.id, id, now).await? {
        let rows = jam_store::invites::of_audience(&txn, audience.id).await?;
        return Err(match rows.iter().find(|i| i.id == id) {
            None => ApiError::not_found("invite"),
            Some(i) if i.redeemed_at.is_some() => ApiError::Conflict("this invite was already used".into()),
            Some(_) => ApiError::Conflict("this invite is already revoked".into()),
        });
    }
    jam_store::audit::record(
        &txn,
        audit(
            &jam,
            caller.actor(),
            "invite.revoked",
            &audience,
            serde_json::json!({ "audience": audience.name, "invite": id }),
            now,
        ),
    )
    .await?;
    txn.commit().await.map_err(store_err)?;
    let rows = jam_store::invites::of_audience(&state.db, audience.id).await?;
    let view = rows
        .iter()
        .find(|i| i.id == id)
        .map(invite_view)
        .ok_or_else(|| ApiError::not_found("invite"))?;
    Ok(HttpResponse::Ok().json(view))
}

pub async fn rotate_code(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (slug, name) = path.into_inner();
    let (jam, audience) = load(&state, &caller, &slug, &name).await?;
    let now = state.clock.now();
    let code = auth::new_token()?[..20].to_owned();
    let txn = jam_store::write::begin_write(&state.db).await?;
    jam_store::invites::set_code(&txn, audience.id, &code).await?;
    // The old code itself stays out of the log: it may still be circulating.
    jam_store::audit::record(
        &txn,
        audit(
            &jam,
            caller.actor(),
            "audience.code_rotated",
            &audience,
            serde_json::json!({ "audience": audience.name }),
            now,
        ),
    )
    .await?;
    txn.commit().await.map_err(store_err)?;
    Ok(HttpResponse::Ok().json(RotatedCode {
        audience: audience.name.clone(),
        join_path: format!("/j/{}?code={}", jam.jam.slug, code),
        invite_code: code,
    }))
}

/// How a join request is admitted: the audience's shared code, or a personal invite.
pub enum Admit {
    Code(audiences::Model),
    Invite(audiences::Model, invites::Model),
}

impl Admit {
    pub fn audience(&self) -> &audiences::Model {
        match self {
            Admit::Code(a) | Admit::Invite(a, _) => a,
        }
    }
}

/// The audience a join is for: by personal invite token, or by shared code (refused for `invite`
/// and `sso` audiences).
pub async fn admit(state: &AppState, jam: &JamFull, code: &str, token: Option<&str>) -> ApiResult<Admit> {
    if let Some(token) = token {
        let invalid = || ApiError::Forbidden("this invite link is not valid for this jam".into());
        let invite = jam_store::invites::by_token_hash(&state.db, &auth::token_hash(token))
            .await?
            .filter(|i| i.jam_id == jam.jam.id)
            .ok_or_else(invalid)?;
        if invite.revoked_at.is_some() {
            return Err(ApiError::Forbidden("this invite was revoked".into()));
        }
        let audience = jam
            .audiences
            .iter()
            .find(|a| a.id == invite.audience_id)
            .ok_or_else(invalid)?;
        if audience.admission == Admission::Sso {
            return Err(ApiError::Forbidden(
                "this audience signs in with its organisation account, not invites".into(),
            ));
        }
        return Ok(Admit::Invite(audience.clone(), invite));
    }
    let audience = jam
        .audiences
        .iter()
        .find(|a| !code.is_empty() && a.invite_code == code)
        .ok_or_else(|| ApiError::Forbidden("this invite code does not open this jam".into()))?;
    match audience.admission {
        Admission::Code => Ok(Admit::Code(audience.clone())),
        Admission::Invite => Err(ApiError::Forbidden(
            "this audience joins with personal invite links only; the shared code no longer admits anyone"
                .into(),
        )),
        Admission::Sso => Err(ApiError::Forbidden(
            "this audience signs in with its organisation account; the shared code no longer admits anyone"
                .into(),
        )),
    }
}

/// For a used invite: the browser that redeemed it (holding that participant's sign-in) gets it
/// back; any other gets 409.
pub fn check_redeemed(invite: &invites::Model, held: Option<&Principal>) -> ApiResult<()> {
    match invite.participant_id {
        None if invite.redeemed_at.is_none() => Ok(()),
        Some(pid) if held.is_some_and(|p| matches!(p, Principal::Participant { id, .. } if id.0 == pid)) => {
            Ok(())
        }
        _ => Err(ApiError::Conflict("this invite was already used".into())),
    }
}

/// `jamd invites issue`: issues invites to a jam's audience from the command line (actor: system),
/// prints the CSV to stdout, and e-mails those bound to addresses when SMTP is configured (here,
/// before returning, so the process waits for the sends; each has `smtp.timeout_secs`).
pub async fn cli_issue(
    settings: &crate::settings::Settings,
    slug: &str,
    audience: &str,
    count: Option<u32>,
    emails_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let emails = match emails_file {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let list: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect();
            Some(list)
        }
        None => None,
    };
    let spec = issue_spec(
        IssueInvitesRequest { count, emails },
        settings.limits.invites_per_request,
    )
    .map_err(cli_error)?;
    let db = crate::startup::connect_db(settings).await?;
    let clock = crate::clock::from_settings(&settings.clock);
    let jam = jam_store::jams::by_slug(&db, slug)
        .await?
        .with_context(|| format!("no jam {slug:?}"))?;
    let aud = audience_named(&jam, audience)
        .map_err(|_| anyhow::anyhow!("jam {slug:?} has no audience {audience:?}"))?
        .clone();
    let now = clock.now();
    if ended(&jam, now) {
        anyhow::bail!("jam {slug:?} has ended; it takes no new participants");
    }
    let issued = issue(
        &db,
        &settings.server.public_origin,
        &jam,
        &aud,
        spec,
        Actor::System,
        now,
    )
    .await
    .map_err(cli_error)?;
    let csv = invites_csv(&issued).map_err(cli_error)?;
    std::io::Write::write_all(&mut std::io::stdout(), &csv)?;
    let batch = crate::mail::outgoing(&issued);
    if !settings.smtp.host.is_empty() && !batch.is_empty() {
        let total = batch.len();
        let sent = crate::mail::deliver(&db, &settings.smtp, &jam.jam.title, batch).await;
        eprintln!("e-mailed {sent} of {total} invites");
    }
    Ok(())
}

/// A route's error as a command-line message (each invalid field named).
fn cli_error(e: ApiError) -> anyhow::Error {
    match e {
        ApiError::Invalid(fields) => anyhow::anyhow!(
            "{}",
            fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        ApiError::Internal(e) => e,
        other => anyhow::anyhow!("{other}"),
    }
}
