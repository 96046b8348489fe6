use chrono::{Duration, Utc};
use serde_json::json;

use crate::support::*;

#[actix_rt::test]
async fn the_first_admin_comes_from_the_cli_and_can_sign_in_and_out() {
    let d = Deployment::sqlite(Utc::now());
    d.create_admin();
    let node = d.start().await;
    let mut c = node.client();
    c.login(ADMIN_EMAIL, "wrong password entirely")
        .await
        .assert_problem(401);
    assert!(c.cookie().is_none());

    let r = c
        .post_keep(
            "/api/v1/auth/login",
            json!({ "email": "ADMIN@example.org", "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let set_cookie = r
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let me = c.get("/api/v1/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["kind"], "staff");
    assert_eq!(me.body["role"], "admin");

    let cookie = c.cookie().map(str::to_owned);
    let r = c.post_keep("/api/v1/auth/logout", json!({})).await;
    assert_eq!(r.status, 204);
    // The old cookie is dead everywhere, not just forgotten by this browser.
    c.set_cookie(cookie);
    c.get("/api/v1/me").await.assert_problem(401);
}

#[actix_rt::test]
async fn admins_create_staff_and_only_admins_may() {
    let d = Deployment::sqlite(Utc::now());
    d.create_admin();
    let node = d.start().await;
    let admin = Client::as_admin(&node.base).await;
    let body = json!({ "email": "fac@example.org", "display_name": "Fa Cilitator", "role": "facilitator", "password": ADMIN_PASSWORD });
    let r = admin.post("/api/v1/staff", body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["role"], "facilitator");
    assert!(r.body.get("password_hash").is_none());
    admin.post("/api/v1/staff", body).await.assert_problem(409);

    let mut fac = node.client();
    assert_eq!(
        fac.post_keep(
            "/api/v1/auth/login",
            json!({ "email": "fac@example.org", "password": ADMIN_PASSWORD })
        )
        .await
        .status,
        200
    );
    let r = fac
        .post("/api/v1/staff", json!({ "email": "x@example.org", "display_name": "X", "role": "admin", "password": ADMIN_PASSWORD }))
        .await;
    r.assert_problem(403);
    let weak = admin
        .post("/api/v1/staff", json!({ "email": "weak@example.org", "display_name": "W", "role": "executive", "password": "short" }))
        .await;
    weak.assert_problem(422);
    assert_eq!(weak.body["errors"][0]["field"], "password");
}

#[actix_rt::test]
async fn a_sign_in_works_on_every_node_sharing_the_database() {
    let d = Deployment::sqlite(Utc::now());
    d.create_admin();
    let (a, b) = (d.start().await, d.start().await);
    let mut on_a = a.client();
    assert_eq!(
        on_a.post_keep(
            "/api/v1/auth/login",
            json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD })
        )
        .await
        .status,
        200
    );
    let mut on_b = b.client();
    on_b.set_cookie(on_a.cookie().map(str::to_owned));
    assert_eq!(on_b.get("/api/v1/me").await.status, 200);
}

#[actix_rt::test]
async fn a_sign_in_expires() {
    let now = Utc::now();
    let d = Deployment::sqlite(now);
    d.create_admin();
    let node = d.start().await;
    let c = Client::as_admin(&node.base).await;
    assert_eq!(c.get("/api/v1/me").await.status, 200);
    d.set_clock(now + Duration::hours(13));
    c.get("/api/v1/me").await.assert_problem(401);
}

#[actix_rt::test]
async fn admin_create_refuses_a_short_password() {
    let d = Deployment::sqlite(Utc::now());
    let (ok, out) = d.run(
        &["admin", "create", "--email", "a@example.org", "--role", "admin"],
        Some("short\n"),
    );
    assert!(!ok);
    assert!(out.contains("12 to 256"), "{out}");
}

#[actix_rt::test]
async fn too_many_sign_in_attempts_from_one_address_get_429_with_retry_after() {
    let now = Utc::now();
    let mut d = Deployment::sqlite(now);
    d.extra_env
        .push(("JAM__RATE_LIMITS__LOGIN__COUNT".into(), "3".into()));
    d.create_admin();
    let node = d.start().await;
    let mut c = node.client();
    for _ in 0..3 {
        c.login(ADMIN_EMAIL, "not the password at all")
            .await
            .assert_problem(401);
    }
    let r = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    r.assert_problem(429);
    let retry: u64 = r
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry), "retry after {retry}");
    d.set_clock(now + Duration::seconds(retry as i64));
    assert_eq!(c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 200);
}
