//! Sign-in state lives in the database (a hashed token per sign-in), so any node can serve any
//! request and signing out anywhere signs out everywhere. The cookie holds the token; the database
//! holds only its SHA-256, so a leaked database does not leak sessions.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use chrono::{DateTime, Utc};
use jam_domain::{JamId, Principal};
use jam_store::audit::Actor;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// A signed-in caller: who, and which sign-in (for sign-out).
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub display_name: String,
    pub session_id: String,
}

impl Caller {
    /// 403 unless a facilitator or an admin.
    pub fn require_runs_jams(&self) -> Result<(), ApiError> {
        if self.principal.runs_jams() {
            Ok(())
        } else {
            Err(ApiError::staff_only())
        }
    }

    /// 403 unless staff of any role.
    pub fn require_staff(&self) -> Result<(), ApiError> {
        if self.principal.is_staff() {
            Ok(())
        } else {
            Err(ApiError::staff_only())
        }
    }

    /// 403 unless an admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.principal.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("this needs an admin".into()))
        }
    }

    /// How the audit log names this caller.
    pub fn actor(&self) -> Actor {
        match self.principal {
            Principal::Staff { id, .. } => Actor::Staff(id.0),
            Principal::Participant { id, .. } => Actor::Participant(id.0),
        }
    }

    /// 404 (not 403) for a jam the caller may not see, so its existence does not leak.
    pub fn require_member(&self, jam: JamId) -> Result<(), ApiError> {
        if self.principal.is_member_of(jam) {
            Ok(())
        } else {
            Err(ApiError::not_found("jam"))
        }
    }
}

/// Required sign-in: 401 without a valid, unexpired session cookie.
impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let lookup = MaybeCaller::lookup(req);
        Box::pin(async move { lookup.await?.0.ok_or(ApiError::Unauthorized) })
    }
}

/// Optional sign-in, for routes anyone may call.
pub struct MaybeCaller(pub Option<Caller>);

impl MaybeCaller {
    fn lookup(req: &HttpRequest) -> impl Future<Output = Result<MaybeCaller, ApiError>> + 'static {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = state
            .as_ref()
            .and_then(|s| req.cookie(&s.settings.auth.cookie_name))
            .map(|c| c.value().to_owned());
        async move {
            let (Some(state), Some(token)) = (state, token) else {
                return Ok(MaybeCaller(None));
            };
            let session_id = token_hash(&token);
            let now = state.clock.now();
            let found = match state.signins.get(&session_id, now) {
                Some(cached) => Some(cached),
                None => {
                    let found = jam_store::auth::principal_for(&state.db, &session_id, now).await?;
                    if let Some(signed_in) = &found {
                        state.signins.put(&session_id, signed_in, now);
                    }
                    found
                }
            };
            Ok(MaybeCaller(found.map(|p| Caller {
                principal: p.principal,
                display_name: p.display_name,
                session_id,
            })))
        }
    }
}

impl FromRequest for MaybeCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(Self::lookup(req))
    }
}

/// A fresh random token for a cookie (256 bits, hex).
pub fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// What the database stores for a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The session cookie for a new sign-in.
pub fn session_cookie(state: &AppState, token: String, expires_at: DateTime<Utc>) -> Cookie<'static> {
    let max_age = (expires_at - state.clock.now()).num_seconds().max(0);
    Cookie::build(state.settings.auth.cookie_name.clone(), token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.server.secure_cookies)
        .max_age(CookieDuration::seconds(max_age))
        .finish()
}

/// A cookie that tells the browser to forget the session.
pub fn cleared_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = Cookie::build(state.settings.auth.cookie_name.clone(), "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.server.secure_cookies)
        .finish();
    cookie.make_removal();
    cookie
}

/// argon2id with the crate's recommended parameters (19 MiB, 2 passes), on the hashing pool
/// (503 with Retry-After when it is full).
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    crate::hashing::run(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await?
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing failed: {e}")))
}

/// Checks a password against a stored hash, on the hashing pool (503 with Retry-After when it is
/// full). With no stored hash (unknown e-mail) it still spends the same work, so response times do
/// not reveal which accounts exist.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    crate::hashing::run(move || {
        let Some(stored) = stored else {
            let salt = SaltString::generate(&mut OsRng);
            let _ = Argon2::default().hash_password(password.as_bytes(), &salt);
            return false;
        };
        PasswordHash::new(&stored)
            .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
}

/// Password rules for staff accounts: `min` (`auth.password_min_chars`) to 256 characters.
pub fn check_password(password: &str, min: usize) -> Result<(), ApiError> {
    check_password_field("password", password, min)
}

/// [`check_password`] for a field of another name.
pub fn check_password_field(field: &str, password: &str, min: usize) -> Result<(), ApiError> {
    let len = password.chars().count();
    if !(min..=256).contains(&len) {
        return Err(ApiError::invalid(
            field,
            format!("must be {min} to 256 characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[actix_web::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse battery".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong horse battery".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!verify_password("anything".into(), None).await.unwrap());
    }

    #[test]
    fn tokens_are_random_and_stored_only_as_hashes() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }
}
