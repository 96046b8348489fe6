//! Shared fixtures of the black-box tests: a live jam with sessions, participants joining with
//! invite codes, ideas, votes, and a direct database handle for recounts.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jam_store::DbSettings;
use serde_json::{Value, json};

use crate::support::*;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).single().unwrap()
}

/// A live jam (`t0` to `t0 + 3d`) with an open session (`t0` to `t0 + 1d`) and a later one.
pub struct Live {
    // Field order is drop order: stop the node before its folder goes.
    pub node: Node,
    pub d: Deployment,
    pub fac: Client,
    pub slug: String,
    pub jam_id: String,
    pub open: String,
    pub later: String,
    /// (audience name, invite code) in the jam's order.
    pub codes: Vec<(String, String)>,
}

pub async fn live_jam(d: Deployment, slug: &str) -> Live {
    d.create_admin();
    let node = d.start().await;
    let fac = Client::as_new_staff(&node.base, "facilitator").await;
    let (slug, jam_id, codes) = create_jam(&fac, slug).await;
    let open = add_session(&fac, &slug, "Cities", 0, 24).await;
    let later = add_session(&fac, &slug, "Energy", 48, 72).await;
    let r = fac
        .post(&format!("/api/v1/jams/{slug}/schedule"), json!({}))
        .await;
    assert_eq!(r.body["state"], "live", "{}", r.body);
    assert_eq!(r.body["sessions"][0]["state"], "open", "{}", r.body);
    Live {
        node,
        d,
        fac,
        slug,
        jam_id,
        open,
        later,
        codes,
    }
}

pub async fn create_jam(fac: &Client, slug: &str) -> (String, String, Vec<(String, String)>) {
    let mut body = jam_body(slug, t0(), t0() + Duration::days(3));
    // Invite codes are unique across jams; the shared body fixes one.
    body["audiences"][1]["invite_code"] = json!(format!("client-{slug}"));
    let r = fac.post("/api/v1/jams", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let codes = r.body["audiences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["invite_code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (slug.to_owned(), r.body["id"].as_str().unwrap().to_owned(), codes)
}

pub async fn add_session(fac: &Client, slug: &str, title: &str, from_h: i64, to_h: i64) -> String {
    let r = fac
        .post(
            &format!("/api/v1/jams/{slug}/sessions"),
            json!({ "title": title, "opens_at": t0() + Duration::hours(from_h), "closes_at": t0() + Duration::hours(to_h) }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

pub async fn join(base: &str, slug: &str, code: &str, name: &str) -> Client {
    let mut c = Client::new(base);
    let r = c
        .post_keep(
            &format!("/api/v1/jams/{slug}/join"),
            json!({ "invite_code": code, "display_name": name, "accept_guidelines": true }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(c.cookie().is_some(), "joining signs in");
    c
}

pub async fn post_idea(c: &Client, session: &str, title: &str, body: &str, tags: Value) -> Value {
    let r = c
        .post(
            &format!("/api/v1/sessions/{session}/ideas"),
            json!({ "title": title, "body": body, "tags": tags }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

pub async fn vote(c: &Client, idea: &str, value: i64) -> Reply {
    c.send_json(
        awc::http::Method::PUT,
        &format!("/api/v1/ideas/{idea}/vote"),
        json!({ "value": value }),
    )
    .await
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

pub fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(id).collect()
}

pub async fn open_db(d: &Deployment) -> sea_orm::DatabaseConnection {
    jam_store::connect(&DbSettings {
        url: d.database_url.clone(),
        max_connections: 2,
        min_connections: 1,
        connect_timeout: StdDuration::from_secs(10),
        sqlite_busy_timeout: StdDuration::from_secs(5),
    })
    .await
    .unwrap()
}
