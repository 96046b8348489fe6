use chrono::{Duration, Utc};
use serde_json::json;

use crate::support::*;

#[actix_rt::test]
async fn a_facilitator_creates_a_jam_with_sessions_and_every_step_is_audited() {
    let now = Utc::now();
    let d = Deployment::sqlite(now);
    d.create_admin();
    let node = d.start().await;
    let fac = Client::as_new_staff(&node.base, "facilitator").await;
    let start = now + Duration::hours(1);
    let r = fac
        .post(
            "/api/v1/jams",
            jam_body("ideas-2026", start, start + Duration::days(3)),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["state"], "draft");
    assert_eq!(r.body["voting"]["method"], "wilson");
    assert_eq!(r.body["shortlist_size"], 10);
    let audiences = r.body["audiences"].as_array().unwrap();
    assert_eq!(audiences.len(), 3);
    assert_eq!(audiences[1]["invite_code"], "client-code-2026");
    assert!(
        audiences[0]["invite_code"].as_str().unwrap().len() >= 6,
        "generated codes"
    );
    assert_eq!(audiences[1]["join_path"], "/j/ideas-2026?code=client-code-2026");

    let s = fac
        .post(
            "/api/v1/jams/ideas-2026/sessions",
            json!({ "title": "Cities", "opens_at": start, "closes_at": start + Duration::days(1) }),
        )
        .await;
    assert_eq!(s.status, 201, "{}", s.body);
    assert_eq!(s.body["state"], "scheduled");
    let sid = s.body["id"].as_str().unwrap().to_owned();
    let r = fac
        .patch(
            &format!("/api/v1/jams/ideas-2026/sessions/{sid}"),
            json!({ "title": "Smarter cities" }),
        )
        .await;
    assert_eq!(r.body["title"], "Smarter cities");

    let r = fac.post("/api/v1/jams/ideas-2026/schedule", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "scheduled");
    fac.post("/api/v1/jams/ideas-2026/schedule", json!({}))
        .await
        .assert_problem(409);

    let r = fac
        .patch(
            "/api/v1/jams/ideas-2026",
            json!({ "ends_at": start + Duration::days(4), "title": "Innovation Jam 2026" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["title"], "Innovation Jam 2026");

    let r = fac
        .post(
            "/api/v1/jams/ideas-2026/announcements",
            json!({ "text": "Welcome!" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let got = fac.get("/api/v1/jams/ideas-2026").await;
    assert_eq!(got.body["sessions"].as_array().unwrap().len(), 1);
    assert!(got.body["now"].is_string());

    let audit = fac.get("/api/v1/jams/ideas-2026/audit").await;
    assert_eq!(audit.status, 200);
    let actions: Vec<_> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for expected in [
        "jam.created",
        "session.created",
        "session.updated",
        "jam.scheduled",
        "jam.updated",
        "announcement.sent",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} missing from {actions:?}"
        );
    }
    let list = fac.get("/api/v1/jams").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

#[actix_rt::test]
async fn sessions_open_and_close_by_hand_only_while_the_jam_is_live() {
    let now = Utc::now();
    let d = Deployment::sqlite(now);
    d.create_admin();
    let node = d.start().await;
    let fac = Client::as_new_staff(&node.base, "facilitator").await;
    fac.post("/api/v1/jams", jam_body("by-hand", now, now + Duration::days(3)))
        .await;
    let s = fac
        .post("/api/v1/jams/by-hand/sessions", json!({ "title": "Later", "opens_at": now + Duration::days(1), "closes_at": now + Duration::days(2) }))
        .await;
    let sid = s.body["id"].as_str().unwrap().to_owned();
    fac.post(&format!("/api/v1/jams/by-hand/sessions/{sid}/open"), json!({}))
        .await
        .assert_problem(409);
    assert_eq!(
        fac.post("/api/v1/jams/by-hand/schedule", json!({})).await.body["state"],
        "live"
    );
    let r = fac
        .post(&format!("/api/v1/jams/by-hand/sessions/{sid}/open"), json!({}))
        .await;
    assert_eq!(r.body["state"], "open", "{}", r.body);
    let r = fac
        .post(&format!("/api/v1/jams/by-hand/sessions/{sid}/close"), json!({}))
        .await;
    assert_eq!(r.body["state"], "closed");
    let r = fac.post("/api/v1/jams/by-hand/close", json!({})).await;
    assert_eq!(r.body["state"], "closed");
    assert_eq!(r.body["sessions"][0]["state"], "closed");
}

#[actix_rt::test]
async fn executives_read_but_do_not_run_jams() {
    let now = Utc::now();
    let d = Deployment::sqlite(now);
    d.create_admin();
    let node = d.start().await;
    let admin = Client::as_admin(&node.base).await;
    assert_eq!(
        admin
            .post("/api/v1/jams", jam_body("exec-jam", now, now + Duration::days(1)))
            .await
            .status,
        201
    );
    let exec = Client::as_new_staff(&node.base, "executive").await;
    assert_eq!(exec.get("/api/v1/jams/exec-jam").await.status, 200);
    assert_eq!(exec.get("/api/v1/jams/exec-jam/stats").await.status, 200);
    exec.post("/api/v1/jams", jam_body("exec-own", now, now + Duration::days(1)))
        .await
        .assert_problem(403);
    exec.post("/api/v1/jams/exec-jam/schedule", json!({}))
        .await
        .assert_problem(403);
    exec.get("/api/v1/jams/exec-jam/audit").await.assert_problem(403);
    exec.post("/api/v1/jams/exec-jam/announcements", json!({ "text": "hi" }))
        .await
        .assert_problem(403);
}

#[actix_rt::test]
async fn state_changing_requests_from_another_origin_are_refused() {
    let now = Utc::now();
    let d = Deployment::sqlite(now);
    d.create_admin();
    let node = d.start().await;
    let mut admin = Client::as_admin(&node.base).await;
    admin.origin = Some("https://evil.example".into());
    admin
        .post("/api/v1/jams", jam_body("csrf-jam", now, now + Duration::days(1)))
        .await
        .assert_problem(403);
    admin.origin = Some("http://127.0.0.1:8080".into());
    assert_eq!(
        admin
            .post("/api/v1/jams", jam_body("csrf-jam", now, now + Duration::days(1)))
            .await
            .status,
        201
    );
}
