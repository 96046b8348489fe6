//! Identity: staff sign-in and sign-out, `GET /me`, creating staff accounts.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use jam_domain::text::{DisplayName, Email};
use jam_domain::{Principal, Role};
use jam_protocol::api::{CreateStaffRequest, LoginRequest, Me, PrincipalKind, StaffView};
use jam_store::audit::{Actor, NewAudit};
use jam_store::auth::Subject;

use crate::auth::{self, Caller};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::metrics::Metrics;
use crate::rate_limit::Action;
use crate::state::{AppState, client_ip};

pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<HttpResponse> {
    if !state.settings.oidc.password_login {
        return Err(ApiError::Forbidden(
            "staff sign in with their organisation account here; password sign-in is off".into(),
        ));
    }
    state.limit(Action::Login, &client_ip(&req), state.settings.rate_limits.login)?;
    if body.password.len() > 1024 {
        return Err(ApiError::invalid("password", "is too long"));
    }
    let email = Email::parse("email", &body.email)?;
    // Per account, whether or not it exists (the answers must not tell): see `login_backoff`.
    state
        .login_backoff
        .check(email.as_str(), state.clock.now())
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    let account = jam_store::staff::by_email(&state.db, email.as_str()).await?;
    let ok = auth::verify_password(body.password, account.as_ref().map(|a| a.password_hash.clone())).await?;
    let Some(account) = account.filter(|_| ok) else {
        Metrics::inc(&state.metrics.login_failures);
        state.login_backoff.failed(email.as_str(), state.clock.now());
        return Err(ApiError::Unauthorized);
    };
    if account.disabled_at.is_some() {
        return Err(ApiError::Forbidden("this staff account is disabled".into()));
    }
    state.login_backoff.succeeded(email.as_str());
    let role: Role = account
        .role
        .parse()
        .map_err(|e: String| ApiError::Internal(anyhow::anyhow!(e)))?;
    let now = state.clock.now();
    let expires_at = now + Duration::hours(state.settings.auth.staff_session_hours);
    let token = auth::new_token()?;
    jam_store::auth::create(
        &state.db,
        &auth::token_hash(&token),
        Subject::Staff(account.id),
        now,
        expires_at,
    )
    .await?;
    jam_store::staff::signed_in(&state.db, account.id, now).await?;
    Metrics::inc(&state.metrics.logins);
    let me = Me {
        kind: PrincipalKind::Staff,
        id: account.id,
        display_name: account.display_name,
        role: Some(role),
        jam_id: None,
        audience: None,
    };
    Ok(HttpResponse::Ok()
        .cookie(auth::session_cookie(&state, token, expires_at))
        .json(me))
}

pub async fn logout(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    jam_store::auth::delete(&state.db, &caller.session_id).await?;
    // Its live connections close too (4001), on every node: a signed-out tab must not keep
    // receiving the jam.
    state
        .signins
        .end(
            state.broker.as_ref(),
            &state.hub,
            std::slice::from_ref(&caller.session_id),
        )
        .await;
    Ok(HttpResponse::NoContent()
        .cookie(auth::cleared_cookie(&state))
        .finish())
}

pub async fn me(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let me = match caller.principal {
        Principal::Staff { id, role } => Me {
            kind: PrincipalKind::Staff,
            id: id.0,
            display_name: caller.display_name,
            role: Some(role),
            jam_id: None,
            audience: None,
        },
        Principal::Participant {
            id,
            jam_id,
            audience_id,
        } => {
            let audience = jam_store::jams::audience_name(&state.db, audience_id.0).await?;
            Me {
                kind: PrincipalKind::Participant,
                id: id.0,
                display_name: caller.display_name,
                role: None,
                jam_id: Some(jam_id.0),
                audience,
            }
        }
    };
    Ok(HttpResponse::Ok().json(me))
}

pub async fn create_staff(
    state: web::Data<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateStaffRequest>,
) -> ApiResult<HttpResponse> {
    caller.require_admin()?;
    let mut errors = Vec::new();
    let email = Email::parse("email", &body.email)
        .map_err(|e| errors.push(e))
        .ok();
    let name = DisplayName::parse("display_name", &body.display_name)
        .map_err(|e| errors.push(e))
        .ok();
    if let Err(ApiError::Invalid(mut e)) =
        auth::check_password(&body.password, state.settings.auth.password_min_chars)
    {
        errors.append(&mut e);
    }
    let (Some(email), Some(name), true) = (email, name, errors.is_empty()) else {
        return Err(ApiError::Invalid(errors));
    };
    let hash = auth::hash_password(body.password).await?;
    let view = create_account(
        &state.db,
        state.clock.now(),
        email,
        name,
        body.role,
        hash,
        caller.actor(),
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Creates a staff account and audits it; shared by `POST /staff` and `jamd admin create`.
pub async fn create_account(
    db: &sea_orm::DatabaseConnection,
    now: chrono::DateTime<chrono::Utc>,
    email: Email,
    name: DisplayName,
    role: Role,
    password_hash: String,
    actor: Actor,
) -> ApiResult<StaffView> {
    let txn = jam_store::write::begin_write(db).await?;
    let account = jam_store::staff::insert(
        &txn,
        jam_store::staff::NewStaff {
            email: email.as_str(),
            display_name: name.as_str(),
            role: role.as_str(),
            password_hash,
            now,
        },
    )
    .await
    .map_err(|e| match e {
        jam_store::StoreError::Duplicate => {
            ApiError::Conflict("a staff account with this e-mail exists".into())
        }
        other => other.into(),
    })?;
    jam_store::audit::record(
        &txn,
        NewAudit {
            jam_id: None,
            actor,
            action: "staff.created".into(),
            subject_kind: "staff",
            subject_id: Some(account.id),
            detail: serde_json::json!({ "email": account.email, "role": account.role }),
            at: now,
        },
    )
    .await?;
    txn.commit().await.map_err(jam_store::StoreError::from)?;
    Ok(StaffView {
        id: account.id,
        email: account.email,
        display_name: account.display_name,
        role,
        created_at: account.created_at,
    })
}
