//! OpenID Connect sign-in against one provider (`[oidc]`), with the `openidconnect` crate:
//! authorization code flow with PKCE (S256), a fresh `state` and `nonce` per sign-in, and the ID
//! token's signature checked against the provider's published keys, its issuer, audience, expiry
//! (by jamd's clock) and nonce.
//!
//! - The provider's metadata (discovery) is read once and kept. When an ID token is signed with a
//!   key the kept copy does not list (the provider rotated its keys), the metadata and keys are read
//!   again, at most once per [`REFRESH_AFTER`] by jamd's clock, and the token checked once more.
//! - HTTP to the provider goes through `awc` (actix's client, with rustls for https issuers), so
//!   jamd carries no second HTTP stack.
//! - The claim mappings ([`place_participant`], [`staff_role`]) are pure functions of the settings
//!   and the token's claims.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jam_domain::{Clock, Role};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::settings::OidcSettings;

/// The shortest time between two readings of the provider's metadata for unknown keys.
pub const REFRESH_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// The largest response read from the provider.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Every claim of the ID token beyond the standard ones (`groups`, `roles`, …), for the mappings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    pub claims: HashMap<String, Value>,
}

impl AdditionalClaims for OtherClaims {}

type IdFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type OidcTokenResponse = StandardTokenResponse<IdFields, CoreTokenType>;
type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    OidcTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why a sign-in through the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider cannot be reached or answered wrongly: {0}")]
    Unreachable(String),
    #[error("the identity provider did not accept the sign-in: {0}")]
    Refused(String),
    #[error("the ID token was refused: {0}")]
    BadToken(String),
}

/// A sign-in on its way to the provider: where to send the browser, and what the callback checks.
pub struct Started {
    pub url: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The person the provider vouched for, from a verified ID token.
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    /// Every claim beyond the standard ones.
    pub claims: HashMap<String, Value>,
}

struct Kept {
    metadata: CoreProviderMetadata,
    read_at: chrono::DateTime<chrono::Utc>,
}

pub struct Oidc {
    settings: OidcSettings,
    redirect: String,
    clock: Arc<dyn Clock>,
    /// The provider's metadata and keys as last read; None until the first sign-in. Held only to
    /// read or replace it, never across an await.
    kept: Mutex<Option<Kept>>,
}

thread_local! {
    /// One client (and connection pool) per worker thread: awc's client is not `Send`.
    static HTTP: awc::Client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .disable_redirects()
        .finish();
}

/// The provider's HTTP requests through awc.
async fn http(request: openidconnect::HttpRequest) -> Result<openidconnect::HttpResponse, HttpError> {
    let client = HTTP.with(Clone::clone);
    let (parts, body) = request.into_parts();
    let method = awc::http::Method::from_bytes(parts.method.as_str().as_bytes())
        .map_err(|e| HttpError(e.to_string()))?;
    // One connection per request: sign-ins are rare, and a kept connection the provider has
    // already closed would fail the request.
    let mut req = client
        .request(method, parts.uri.to_string())
        .insert_header((awc::http::header::CONNECTION, "close"));
    for (name, value) in &parts.headers {
        // awc writes its own Content-Length (and Host); a second one makes servers drop the request.
        if name != openidconnect::http::header::CONTENT_LENGTH && name != openidconnect::http::header::HOST {
            req = req.insert_header((name.as_str(), value.as_bytes()));
        }
    }
    let mut res = req.send_body(body).await.map_err(|e| HttpError(e.to_string()))?;
    let bytes = res
        .body()
        .limit(MAX_RESPONSE_BYTES)
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    let mut out = openidconnect::http::Response::builder().status(res.status().as_u16());
    for (name, value) in res.headers() {
        out = out.header(name.as_str(), value.as_bytes());
    }
    out.body(bytes.to_vec()).map_err(|e| HttpError(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

impl Oidc {
    /// `public_origin` is where browsers reach jamd; the provider sends them back to its callback.
    pub fn new(settings: OidcSettings, public_origin: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            settings,
            redirect: format!("{public_origin}/api/v1/auth/oidc/callback"),
            clock,
            kept: Mutex::new(None),
        }
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The redirect URI to register at the provider.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect
    }

    /// The kept metadata, or freshly read when there is none or `refresh` asks for it (at most once
    /// per [`REFRESH_AFTER`]). The second value says whether it was read now.
    async fn metadata(&self, refresh: bool) -> Result<(CoreProviderMetadata, bool), OidcError> {
        {
            let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(k) = kept.as_ref()
                && (!refresh || self.clock.now() - k.read_at < REFRESH_AFTER)
            {
                return Ok((k.metadata.clone(), false));
            }
        }
        let issuer = IssuerUrl::new(self.settings.issuer_url.clone())
            .map_err(|e| OidcError::Unreachable(format!("issuer_url: {e}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| OidcError::Unreachable(error_chain(&e)))?;
        *self.kept.lock().unwrap_or_else(PoisonError::into_inner) = Some(Kept {
            metadata: metadata.clone(),
            read_at: self.clock.now(),
        });
        Ok((metadata, true))
    }

    fn client(&self, metadata: CoreProviderMetadata) -> Result<OidcClient, OidcError> {
        let redirect =
            RedirectUrl::new(self.redirect.clone()).map_err(|e| OidcError::Unreachable(e.to_string()))?;
        let secret = self.settings.client_secret.expose();
        Ok(OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            (!secret.is_empty()).then(|| ClientSecret::new(secret.to_owned())),
        )
        .set_redirect_uri(redirect))
    }

    /// The provider's authorization URL for a new sign-in with this `state`, with a fresh nonce and
    /// PKCE pair.
    pub async fn start(&self, state: String) -> Result<Started, OidcError> {
        let (metadata, _) = self.metadata(false).await?;
        let client = self.client(metadata)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            Nonce::new_random,
        );
        for scope in self.settings.scopes.split_whitespace().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.to_owned()));
        }
        let (url, _, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Started {
            url: url.to_string(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code (with the PKCE verifier) for tokens and verifies the ID token: signature
    /// against the provider's keys (read again once for a key it does not know), issuer, audience,
    /// expiry by jamd's clock, issue time not in the future, and the nonce.
    pub async fn finish(
        &self,
        code: String,
        pkce_verifier: String,
        nonce: String,
    ) -> Result<Identity, OidcError> {
        let (metadata, _) = self.metadata(false).await?;
        let client = self.client(metadata)?;
        let token = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::Unreachable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(&http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(_) => OidcError::Refused(error_chain(&e)),
                _ => OidcError::Unreachable(error_chain(&e)),
            })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| OidcError::Refused("no ID token in the token response".into()))?;
        let nonce = Nonce::new(nonce);
        let verify = |client: &OidcClient| -> Result<Identity, openidconnect::ClaimsVerificationError> {
            let clock = self.clock.clone();
            let now = clock.now();
            let verifier = client
                .id_token_verifier()
                .set_time_fn(move || clock.now())
                .set_issue_time_verifier_fn(move |iat| {
                    if iat > now + chrono::Duration::seconds(60) {
                        Err(format!("ID token issued in the future ({iat}, now {now})"))
                    } else {
                        Ok(())
                    }
                });
            let claims = id_token.claims(&verifier, &nonce)?;
            Ok(Identity {
                issuer: claims.issuer().as_str().to_owned(),
                subject: claims.subject().as_str().to_owned(),
                name: claims
                    .name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.as_str().to_owned())
                    .or_else(|| claims.preferred_username().map(|u| u.as_str().to_owned())),
                email: claims.email().map(|e| e.as_str().to_owned()),
                email_verified: claims.email_verified(),
                claims: claims.additional_claims().claims.clone(),
            })
        };
        match verify(&client) {
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) => {
                // The provider may have rotated its keys since they were read: read them again.
                let (metadata, fresh) = self.metadata(true).await?;
                if !fresh {
                    return Err(OidcError::BadToken(
                        "signed with a key the provider does not publish".into(),
                    ));
                }
                verify(&self.client(metadata)?).map_err(|e| OidcError::BadToken(error_chain(&e)))
            }
            other => other.map_err(|e| OidcError::BadToken(error_chain(&e))),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A claim's values: a string is one value, a list of strings (or numbers, booleans) is several.
pub fn claim_values(claims: &HashMap<String, Value>, claim: &str) -> Vec<String> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match claims.get(claim) {
        Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
        Some(v) => scalar(v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The audience a participant signs in to: with no `audience_claim`, the one asked for (or the
/// default); otherwise one that a value of the claim maps to, which must be the one asked for when
/// one is. `Err` says why not, for the person.
pub fn place_participant(
    settings: &OidcSettings,
    claims: &HashMap<String, Value>,
    asked: Option<&str>,
) -> Result<String, String> {
    let default = (!settings.default_audience.is_empty()).then(|| settings.default_audience.clone());
    if settings.audience_claim.is_empty() {
        return asked
            .map(str::to_owned)
            .or(default)
            .ok_or_else(|| "the sign-in link names no audience and no default audience is set".into());
    }
    let values = claim_values(claims, &settings.audience_claim);
    let mapped: Vec<&str> = settings
        .audience_map
        .iter()
        .filter(|m| values.contains(&m.value))
        .map(|m| m.audience.as_str())
        .collect();
    match asked {
        Some(asked) if mapped.contains(&asked) => Ok(asked.to_owned()),
        Some(asked) if mapped.is_empty() && default.as_deref() == Some(asked) => Ok(asked.to_owned()),
        Some(asked) => Err(format!(
            "your organisation's sign-in does not place you in the audience `{asked}`"
        )),
        None => mapped
            .first()
            .map(|a| (*a).to_owned())
            .or(default)
            .ok_or_else(|| {
                format!(
                    "your organisation's sign-in places you in no audience (claim `{}`)",
                    settings.audience_claim
                )
            }),
    }
}

/// A staff member's role: the highest role any value of `role_claim` maps to. `Err` when none does.
pub fn staff_role(settings: &OidcSettings, claims: &HashMap<String, Value>) -> Result<Role, String> {
    let values = claim_values(claims, &settings.role_claim);
    let rank = |r: Role| match r {
        Role::Admin => 3,
        Role::Facilitator => 2,
        Role::Executive => 1,
    };
    settings
        .role_map
        .iter()
        .filter(|m| values.contains(&m.value))
        .map(|m| m.role)
        .max_by_key(|r| rank(*r))
        .ok_or_else(|| {
            format!(
                "your organisation's sign-in gives you no staff role (claim `{}`)",
                settings.role_claim
            )
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::settings::{AudienceMapping, RoleMapping, Secret};

    fn settings(audience_claim: &str, default_audience: &str) -> OidcSettings {
        OidcSettings {
            enabled: true,
            issuer_url: "https://id.example.org".into(),
            client_id: "openjam".into(),
            client_secret: Secret::new(""),
            scopes: "profile".into(),
            audience_claim: audience_claim.into(),
            audience_map: vec![
                AudienceMapping {
                    value: "Staff".into(),
                    audience: "employee".into(),
                },
                AudienceMapping {
                    value: "partners".into(),
                    audience: "client".into(),
                },
            ],
            default_audience: default_audience.into(),
            staff: true,
            role_claim: "roles".into(),
            role_map: vec![
                RoleMapping {
                    value: "jam-readers".into(),
                    role: Role::Executive,
                },
                RoleMapping {
                    value: "jam-admins".into(),
                    role: Role::Admin,
                },
                RoleMapping {
                    value: "jam-hosts".into(),
                    role: Role::Facilitator,
                },
            ],
            password_login: true,
            login_minutes: 10,
        }
    }

    fn claims(v: Value) -> HashMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_audience_table_holds() {
        // (audience_claim, default, claims, asked) → audience or refusal
        type Case<'a> = (&'a str, &'a str, Value, Option<&'a str>, Result<&'a str, &'a str>);
        let cases: &[Case] = &[
            ("", "", json!({}), Some("employee"), Ok("employee")),
            ("", "family", json!({}), None, Ok("family")),
            ("", "", json!({}), None, Err("names no audience")),
            (
                "groups",
                "",
                json!({"groups": ["Staff"]}),
                Some("employee"),
                Ok("employee"),
            ),
            ("groups", "", json!({"groups": "partners"}), None, Ok("client")),
            (
                "groups",
                "",
                json!({"groups": ["x", "partners", "Staff"]}),
                None,
                Ok("employee"),
            ),
            (
                "groups",
                "",
                json!({"groups": ["staff"]}),
                Some("employee"),
                Err("does not place you"),
            ),
            (
                "groups",
                "",
                json!({"groups": ["partners"]}),
                Some("employee"),
                Err("does not place you"),
            ),
            ("groups", "", json!({}), None, Err("places you in no audience")),
            ("groups", "family", json!({"groups": []}), None, Ok("family")),
            (
                "groups",
                "family",
                json!({"groups": ["nobody"]}),
                Some("family"),
                Ok("family"),
            ),
        ];
        for (claim, default, c, asked, want) in cases {
            let got = place_participant(&settings(claim, default), &claims(c.clone()), *asked);
            match (want, &got) {
                (Ok(w), Ok(g)) => assert_eq!(w, g, "{claim} {c} {asked:?}"),
                (Err(w), Err(g)) => assert!(g.contains(w), "{g}"),
                _ => panic!("{claim} {c} {asked:?}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn the_role_table_holds_and_the_highest_role_wins() {
        let s = settings("", "");
        let cases: &[(Value, Option<Role>)] = &[
            (json!({"roles": "jam-readers"}), Some(Role::Executive)),
            (
                json!({"roles": ["jam-readers", "jam-hosts"]}),
                Some(Role::Facilitator),
            ),
            (
                json!({"roles": ["jam-hosts", "jam-admins", "x"]}),
                Some(Role::Admin),
            ),
            (json!({"roles": ["JAM-ADMINS"]}), None),
            (json!({"roles": []}), None),
            (json!({"groups": ["jam-admins"]}), None),
        ];
        for (c, want) in cases {
            assert_eq!(staff_role(&s, &claims(c.clone())).ok(), *want, "{c}");
        }
    }
}
