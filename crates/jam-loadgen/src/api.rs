//! The HTTP side of the public API that the load needs: staff sign-in, a jam with one open session,
//! participants joining with the invite code, ideas and votes.

use std::net::{Ipv4Addr, SocketAddr};

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Error;
use crate::http::{HttpConn, Response};

/// One browser: a keep-alive connection, a cookie, and the Origin that state-changing requests need.
pub struct Api {
    conn: HttpConn,
    origin: String,
    cookie: Option<String>,
}

impl Api {
    pub fn new(addr: SocketAddr, source: Option<Ipv4Addr>, origin: &str) -> Self {
        Api {
            conn: HttpConn::new(addr, source),
            origin: origin.to_owned(),
            cookie: None,
        }
    }

    pub fn with_cookie(mut self, cookie: &str) -> Self {
        self.cookie = Some(cookie.to_owned());
        self
    }

    pub fn set_cookie(&mut self, cookie: &str) {
        self.cookie = Some(cookie.to_owned());
    }

    /// Forgets the cookie: the next request is a new browser's.
    pub fn clear_cookie(&mut self) {
        self.cookie = None;
    }

    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    pub async fn send(&mut self, method: &str, path: &str, body: Option<&Value>) -> Result<Response, Error> {
        let body = body.map(|b| b.to_string().into_bytes());
        let mut headers = vec![("origin", self.origin.as_str())];
        if let Some(cookie) = &self.cookie {
            headers.push(("cookie", cookie.as_str()));
        }
        let path = format!("/api/v1{path}");
        let response = self
            .conn
            .request(method, &path, &headers, body.as_deref())
            .await?;
        if let Some(set) = &response.set_cookie {
            self.cookie = (!set.ends_with('=')).then(|| set.clone());
        }
        Ok(response)
    }

    /// Sends and insists on `expected`; returns the JSON body.
    pub async fn expect(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        expected: u16,
    ) -> Result<Value, Error> {
        let response = self.send(method, path, body).await?;
        if response.status != expected {
            return Err(Error::Refused {
                what: format!("{method} {path}"),
                status: response.status,
                body: String::from_utf8_lossy(&response.body)
                    .chars()
                    .take(500)
                    .collect(),
            });
        }
        Ok(response.json())
    }
}

/// What every load-generator process of one benchmark shares: the jam, its open session, the invite
/// code, and the ideas votes go to. Written by `setup`, read by `run --fixture`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fixture {
    pub slug: String,
    pub jam_id: String,
    pub session_id: String,
    pub invite_code: String,
    /// Ideas of the session that the vote storm votes on, in schedule order.
    pub vote_ideas: Vec<String>,
}

fn str_field(v: &Value, pointer: &str) -> Result<String, Error> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::Protocol(format!("no `{pointer}` in {v}")))
}

/// Signs in as staff, creates a live jam with one open session, and posts `vote_ideas` ideas.
pub async fn setup(
    addr: SocketAddr,
    origin: &str,
    email: &str,
    password: &str,
    vote_ideas: usize,
) -> Result<Fixture, Error> {
    let mut staff = Api::new(addr, None, origin);
    staff
        .expect(
            "POST",
            "/auth/login",
            Some(&json!({ "email": email, "password": password })),
            200,
        )
        .await?;
    let now = Utc::now();
    let slug = format!("bench-{}", now.timestamp_millis());
    let jam = staff
        .expect(
            "POST",
            "/jams",
            Some(&json!({
                "slug": slug,
                "title": "Load test",
                "description": "Created by jam-loadgen.",
                "guidelines": "Be kind.",
                "starts_at": now - Duration::minutes(1),
                "ends_at": now + Duration::days(3),
                "audiences": [{ "name": "employee", "invite_code": format!("{slug}-code") }],
            })),
            201,
        )
        .await?;
    let jam_id = str_field(&jam, "/id")?;
    let invite_code = str_field(&jam, "/audiences/0/invite_code")?;
    let session = staff
        .expect(
            "POST",
            &format!("/jams/{slug}/sessions"),
            Some(&json!({
                "title": "Load",
                "opens_at": now - Duration::minutes(1),
                "closes_at": now + Duration::days(2),
            })),
            201,
        )
        .await?;
    let session_id = str_field(&session, "/id")?;
    let scheduled = staff
        .expect("POST", &format!("/jams/{slug}/schedule"), Some(&json!({})), 200)
        .await?;
    if scheduled["sessions"][0]["state"] != "open" {
        return Err(Error::Protocol(format!("the session did not open: {scheduled}")));
    }

    let mut ideas = Vec::with_capacity(vote_ideas);
    if vote_ideas > 0 {
        let mut author = join(addr, None, origin, &slug, &invite_code, "Idea author").await?;
        for i in 0..vote_ideas {
            let idea = author
                .expect(
                    "POST",
                    &format!("/sessions/{session_id}/ideas"),
                    Some(&json!({ "title": format!("Vote target {i}"), "body": "Vote for me." })),
                    201,
                )
                .await?;
            ideas.push(str_field(&idea, "/id")?);
        }
    }
    Ok(Fixture {
        slug,
        jam_id,
        session_id,
        invite_code,
        vote_ideas: ideas,
    })
}

/// Joins the jam as a new participant; the returned client holds the participant's cookie.
pub async fn join(
    addr: SocketAddr,
    source: Option<Ipv4Addr>,
    origin: &str,
    slug: &str,
    code: &str,
    name: &str,
) -> Result<Api, Error> {
    let mut api = Api::new(addr, source, origin);
    api.expect(
        "POST",
        &format!("/jams/{slug}/join"),
        Some(&json!({ "invite_code": code, "display_name": name, "accept_guidelines": true })),
        201,
    )
    .await?;
    if api.cookie().is_none() {
        return Err(Error::Protocol("joining set no cookie".into()));
    }
    Ok(api)
}
