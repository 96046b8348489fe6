//! OpenID Connect sign-in ("Sign in with your organisation"): `GET /auth/oidc` (what this
//! deployment offers), `GET /auth/oidc/start` (off to the provider) and `GET /auth/oidc/callback`
//! (back from it).
//!
//! A sign-in is bound to the browser that started it twice over: its `state` is stored (hashed,
//! with the nonce and PKCE verifier, for `oidc.login_minutes`) in the database, where the callback
//! takes it once, and it is also in a short-lived HttpOnly cookie scoped to the callback, which must
//! match the `state` the provider sends back. A participant is one per (jam, issuer, subject), so
//! signing in again from any browser gives the same participant; staff are one account per
//! (issuer, subject) with the role the claim mapping gives at each sign-in.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use jam_domain::lifecycle::JamState;
use jam_domain::text::{DisplayName, Email};
use jam_domain::{Admission, Role};
use jam_protocol::api::SignInOptions;
use jam_store::StoreError;
use jam_store::audit::{Actor, NewAudit};
use jam_store::auth::Subject;
use jam_store::entity::{audiences, oidc_logins, participants};
use serde::Deserialize;
use uuid::Uuid;

use super::access::{jam_by_id, jam_by_slug, store_err};
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::oidc::{Identity, Oidc, OidcError, place_participant, staff_role};
use crate::state::AppState;

/// The cookie that binds a sign-in under way to its browser.
const STATE_COOKIE: &str = "jam_oidc_state";
/// Its path: sent back only to the callback.
const CALLBACK_PATH: &str = "/api/v1/auth/oidc/callback";
/// What an account created by a provider sign-in has instead of a password hash: never a valid
/// hash, so such an account cannot sign in with a password.
const NO_PASSWORD: &str = "!oidc";

fn oidc(state: &AppState) -> ApiResult<&Oidc> {
    state
        .oidc
        .as_deref()
        .ok_or_else(|| ApiError::NotFound("sign-in with an organisation account is not configured".into()))
}

impl From<OidcError> for ApiError {
    fn from(e: OidcError) -> Self {
        match e {
            OidcError::Unreachable(_) => {
                tracing::warn!(error = %e, "OpenID provider");
                ApiError::Unavailable {
                    detail: e.to_string(),
                    retry_after_secs: 5,
                }
            }
            OidcError::Refused(_) | OidcError::BadToken(_) => ApiError::Forbidden(e.to_string()),
        }
    }
}

pub async fn options(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let o = &state.settings.oidc;
    Ok(HttpResponse::Ok().json(SignInOptions {
        organisation_participants: o.enabled,
        organisation_staff: o.enabled && o.staff,
        password: o.password_login,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartQuery {
    /// The jam to join; absent for a staff sign-in.
    pub jam: Option<String>,
    /// The audience to join, by name; absent to let the claim mapping choose.
    pub audience: Option<String>,
}

/// Whether an audience admits people through the provider.
fn admits_sso(audience: &audiences::Model) -> bool {
    audience.admission == Admission::Sso
}

pub async fn start(state: web::Data<AppState>, query: web::Query<StartQuery>) -> ApiResult<HttpResponse> {
    let oidc = oidc(&state)?;
    let now = state.clock.now();
    let query = query.into_inner();
    let jam_id = match &query.jam {
        Some(slug) => {
            let jam = jam_by_slug(&state, slug).await?;
            if matches!(jam.state(now), JamState::Closed | JamState::Published) {
                return Err(ApiError::Conflict(
                    "this jam has ended; it takes no new participants".into(),
                ));
            }
            if let Some(name) = &query.audience {
                let audience = jam
                    .audiences
                    .iter()
                    .find(|a| &a.name == name)
                    .ok_or_else(|| ApiError::not_found("audience"))?;
                if !admits_sso(audience) {
                    return Err(ApiError::Forbidden(format!(
                        "the audience `{name}` is not joined by signing in with an organisation account"
                    )));
                }
            }
            Some(jam.jam.id)
        }
        None if query.audience.is_some() => {
            return Err(ApiError::invalid(
                "audience",
                "needs `jam`: an audience belongs to a jam",
            ));
        }
        None if !oidc.settings().staff => {
            return Err(ApiError::Forbidden(
                "staff do not sign in with an organisation account here".into(),
            ));
        }
        None => None,
    };
    let state_token = auth::new_token()?;
    let started = oidc.start(state_token.clone()).await?;
    let expires_at = now + Duration::minutes(oidc.settings().login_minutes);
    jam_store::oidc::start_login(
        &state.db,
        oidc_logins::Model {
            state_hash: auth::token_hash(&state_token),
            nonce: started.nonce,
            pkce_verifier: started.pkce_verifier,
            jam_id,
            audience: query.audience,
            created_at: now,
            expires_at,
        },
    )
    .await?;
    let cookie = Cookie::build(STATE_COOKIE, state_token)
        .path(CALLBACK_PATH)
        .http_only(true)
        // Lax: the provider's redirect back is a top-level GET navigation, which Lax cookies follow.
        .same_site(SameSite::Lax)
        .secure(state.settings.server.secure_cookies)
        .max_age(CookieDuration::minutes(oidc.settings().login_minutes))
        .finish();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, started.url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie)
        .finish())
}

/// What the provider sends back; providers add parameters of their own (`iss`, `session_state`),
/// so unknown ones are ignored.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

fn bad_state(why: &str) -> ApiError {
    ApiError::Forbidden(format!(
        "this sign-in cannot be finished: {why}; start again from the sign-in button"
    ))
}

pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<CallbackQuery>,
) -> ApiResult<HttpResponse> {
    let oidc = oidc(&state)?;
    let query = query.into_inner();
    let now = state.clock.now();
    let returned = query
        .state
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad_state("the provider sent no state"))?;
    let held = req.cookie(STATE_COOKIE).map(|c| c.value().to_owned());
    if held.as_deref() != Some(returned.as_str()) {
        return Err(bad_state("its state does not match the one this browser started"));
    }
    let login = jam_store::oidc::take_login(&state.db, &auth::token_hash(&returned), now)
        .await?
        .ok_or_else(|| bad_state("its state is unknown, used already or expired"))?;
    if let Some(error) = query.error {
        let detail = query.error_description.unwrap_or_default();
        return Err(ApiError::Forbidden(format!(
            "the identity provider did not sign you in: {error} {detail}"
        )));
    }
    let code = query
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::invalid("code", "the provider sent no authorization code"))?;
    let identity = oidc.finish(code, login.pkce_verifier, login.nonce).await?;
    let (mut response, expires_at, token) = match login.jam_id {
        Some(jam_id) => {
            participant_sign_in(&state, oidc, jam_id, login.audience.as_deref(), &identity).await?
        }
        None => staff_sign_in(&state, oidc, &identity).await?,
    };
    let mut cleared = Cookie::build(STATE_COOKIE, "").path(CALLBACK_PATH).finish();
    cleared.make_removal();
    Ok(response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cleared)
        .cookie(auth::session_cookie(&state, token, expires_at))
        .finish())
}

/// A display name from the provider's `name` (or `preferred_username`), cut to what a display
/// name may hold; "Participant" when it gives none that fits.
fn display_name(identity: &Identity) -> String {
    identity
        .name
        .as_deref()
        .map(|n| n.trim().chars().take(DisplayName::BOUNDS.max).collect::<String>())
        .and_then(|n| DisplayName::parse("name", &n).ok())
        .map_or_else(|| "Participant".to_owned(), DisplayName::into_string)
}

async fn participant_sign_in(
    state: &AppState,
    oidc: &Oidc,
    jam_id: Uuid,
    asked: Option<&str>,
    identity: &Identity,
) -> ApiResult<(
    actix_web::HttpResponseBuilder,
    chrono::DateTime<chrono::Utc>,
    String,
)> {
    let jam = jam_by_id(state, jam_id, "jam").await?;
    let now = state.clock.now();
    let expires_at = now + Duration::hours(state.settings.auth.participant_session_hours);
    let token = auth::new_token()?;
    let to_jam = format!("/j/{}", jam.jam.slug);
    let participant =
        match jam_store::oidc::participant_for(&state.db, jam_id, &identity.issuer, &identity.subject).await?
        {
            Some(p) => p,
            None => {
                if matches!(jam.state(now), JamState::Closed | JamState::Published) {
                    return Err(ApiError::Conflict(
                        "this jam has ended; it takes no new participants".into(),
                    ));
                }
                let name = place_participant(oidc.settings(), &identity.claims, asked)
                    .map_err(ApiError::Forbidden)?;
                let audience = jam
                    .audiences
                    .iter()
                    .find(|a| a.name == name)
                    .ok_or_else(|| ApiError::Forbidden(format!("this jam has no audience `{name}`")))?;
                if !admits_sso(audience) {
                    return Err(ApiError::Forbidden(format!(
                        "the audience `{name}` is not joined by signing in with an organisation account"
                    )));
                }
                let participant = participants::Model::joined(audience, display_name(identity), None, now);
                match join(state, &participant, &audience.name, identity).await {
                    Ok(()) => participant,
                    // Another sign-in of the same person got there first: theirs is this person's voice.
                    Err(ApiError::Conflict(_)) => jam_store::oidc::participant_for(
                        &state.db,
                        jam_id,
                        &identity.issuer,
                        &identity.subject,
                    )
                    .await?
                    .ok_or_else(|| ApiError::Conflict("sign-in raced with another; try again".into()))?,
                    Err(e) => return Err(e),
                }
            }
        };
    jam_store::auth::create(
        &state.db,
        &auth::token_hash(&token),
        Subject::Participant(participant.id),
        now,
        expires_at,
    )
    .await?;
    let mut response = HttpResponse::SeeOther();
    response.insert_header((header::LOCATION, to_jam));
    Ok((response, expires_at, token))
}

/// Inserts the participant bound to the identity, audited, in one transaction; `Conflict` when the
/// identity is bound already.
async fn join(
    state: &AppState,
    participant: &participants::Model,
    audience: &str,
    identity: &Identity,
) -> ApiResult<()> {
    let now = participant.created_at;
    let txn = jam_store::write::begin_write(&state.db).await?;
    jam_store::participants::insert(&txn, participant.clone()).await?;
    match jam_store::oidc::bind_participant(&txn, &identity.issuer, &identity.subject, participant, now).await
    {
        Err(StoreError::Duplicate) => return Err(ApiError::Conflict("bound already".into())),
        other => other?,
    }
    jam_store::audit::record(
        &txn,
        NewAudit {
            jam_id: Some(participant.jam_id),
            actor: Actor::Participant(participant.id),
            action: "participant.joined".into(),
            subject_kind: "participant",
            subject_id: Some(participant.id),
            detail: serde_json::json!({
                "audience": audience,
                "display_name": participant.display_name,
                "via": "oidc",
                "issuer": identity.issuer,
            }),
            at: now,
        },
    )
    .await?;
    txn.commit().await.map_err(store_err)?;
    Ok(())
}

async fn staff_sign_in(
    state: &AppState,
    oidc: &Oidc,
    identity: &Identity,
) -> ApiResult<(
    actix_web::HttpResponseBuilder,
    chrono::DateTime<chrono::Utc>,
    String,
)> {
    if !oidc.settings().staff {
        return Err(ApiError::Forbidden(
            "staff do not sign in with an organisation account here".into(),
        ));
    }
    let role = staff_role(oidc.settings(), &identity.claims).map_err(ApiError::Forbidden)?;
    let name = display_name(identity);
    let now = state.clock.now();
    let account = match jam_store::oidc::staff_for(&state.db, &identity.issuer, &identity.subject).await? {
        Some(account) => {
            if account.role != role.as_str() || account.display_name != name {
                update_staff(state, account.id, role, &name, identity).await?;
            }
            account.id
        }
        None => create_staff(state, role, name, identity).await?,
    };
    let expires_at = now + Duration::hours(state.settings.auth.staff_session_hours);
    let token = auth::new_token()?;
    jam_store::auth::create(
        &state.db,
        &auth::token_hash(&token),
        Subject::Staff(account),
        now,
        expires_at,
    )
    .await?;
    Metrics::inc(&state.metrics.logins);
    let mut response = HttpResponse::SeeOther();
    response.insert_header((header::LOCATION, "/console"));
    Ok((response, expires_at, token))
}

async fn update_staff(
    state: &AppState,
    id: Uuid,
    role: Role,
    name: &str,
    identity: &Identity,
) -> ApiResult<()> {
    let txn = jam_store::write::begin_write(&state.db).await?;
    jam_store::oidc::update_staff(&txn, id, role.as_str(), name).await?;
    jam_store::audit::record(
        &txn,
        NewAudit {
            jam_id: None,
            actor: Actor::System,
            action: "staff.updated".into(),
            subject_kind: "staff",
            subject_id: Some(id),
            detail: serde_json::json!({ "role": role, "via": "oidc", "issuer": identity.issuer }),
            at: state.clock.now(),
        },
    )
    .await?;
    txn.commit().await.map_err(store_err)?;
    Ok(())
}

/// A new staff account for this identity: its e-mail from the provider (which must give one), no
/// password, the mapped role. An existing account with that e-mail is not taken over.
async fn create_staff(state: &AppState, role: Role, name: String, identity: &Identity) -> ApiResult<Uuid> {
    let email = identity
        .email
        .as_deref()
        .and_then(|e| Email::parse("email", e).ok())
        .ok_or_else(|| {
            ApiError::Forbidden("the identity provider gave no e-mail address for a staff account".into())
        })?;
    let now = state.clock.now();
    let txn = jam_store::write::begin_write(&state.db).await?;
    let account = jam_store::staff::insert(
        &txn,
        jam_store::staff::NewStaff {
            email: email.as_str(),
            display_name: &name,
            role: role.as_str(),
            password_hash: NO_PASSWORD.to_owned(),
            now,
        },
    )
    .await
    .map_err(|e| match e {
        StoreError::Duplicate => ApiError::Conflict(format!(
            "a staff account with the e-mail {} exists already and is not linked to this organisation sign-in",
            email.as_str()
        )),
        other => other.into(),
    })?;
    match jam_store::oidc::bind_staff(&txn, &identity.issuer, &identity.subject, account.id, now).await {
        Err(StoreError::Duplicate) => {
            return Err(ApiError::Conflict("sign-in raced with another; try again".into()));
        }
        other => other?,
    }
    jam_store::audit::record(
        &txn,
        NewAudit {
            jam_id: None,
            actor: Actor::System,
            action: "staff.created".into(),
            subject_kind: "staff",
            subject_id: Some(account.id),
            detail: serde_json::json!({
                "email": account.email,
                "role": role,
                "via": "oidc",
                "issuer": identity.issuer,
            }),
            at: now,
        },
    )
    .await?;
    txn.commit().await.map_err(store_err)?;
    Ok(account.id)
}
