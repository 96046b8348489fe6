//! Hardening seen from outside (issue 15): HTTP methods, headers and cookies, cheap denial of
//! service (slow bodies, login floods, sockets per sign-in), operations endpoints, small leaks.

use awc::http::Method;
use chrono::Utc;

use crate::support::*;

#[actix_rt::test]
async fn every_get_answers_head_and_a_known_path_with_another_method_gets_405_with_allow() {
    let d = Deployment::sqlite(Utc::now());
    let node = d.start().await;
    let c = node.client();
    for path in ["/", "/healthz", "/api/v1/openapi.json", "/console", "/js/main.js"] {
        let head = c.send_raw(Method::HEAD, path, "text/plain", Vec::new()).await;
        assert_eq!(head.status, 200, "HEAD {path}");
        assert_eq!(head.body, "", "HEAD {path} has no body");
    }
    // Without a sign-in HEAD answers as GET does.
    let head = c
        .send_raw(Method::HEAD, "/api/v1/me", "text/plain", Vec::new())
        .await;
    assert_eq!(head.status, 401);

    let trace = Method::from_bytes(b"TRACE").unwrap();
    let query = Method::from_bytes(b"QUERY").unwrap();
    for (method, path, allow) in [
        (Method::DELETE, "/api/v1/ideas/x/vote", "PUT"),
        (trace.clone(), "/api/v1/jams/some-jam", "GET, HEAD, PATCH"),
        (query, "/api/v1/jams", "POST, GET, HEAD"),
        (Method::POST, "/api/v1/openapi.json", "GET, HEAD"),
        (Method::PUT, "/healthz", "GET, HEAD"),
        (trace, "/", "GET, HEAD"),
        (Method::POST, "/js/main.js", "GET, HEAD"),
    ] {
        let r = c
            .send_raw(method.clone(), path, "application/json", b"{}".to_vec())
            .await;
        r.assert_problem(405);
        let got = r.headers.get("allow").unwrap().to_str().unwrap();
        let mut got: Vec<&str> = got.split(", ").collect();
        let mut want: Vec<&str> = allow.split(", ").collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{method} {path}");
    }
    // An unknown path stays 404 whatever the method.
    for method in [Method::GET, Method::POST] {
        let r = c
            .send_raw(
                method,
                "/api/v1/no-such-thing",
                "application/json",
                b"{}".to_vec(),
            )
            .await;
        r.assert_problem(404);
    }
    c.send_raw(
        Method::POST,
        "/no-such-file.txt",
        "application/json",
        b"{}".to_vec(),
    )
    .await
    .assert_problem(404);
}

#[actix_rt::test]
async fn api_answers_are_not_cached_or_sniffed_and_every_answer_keeps_its_referrer_to_itself() {
    let d = Deployment::sqlite(Utc::now());
    d.create_admin();
    let node = d.start().await;
    let admin = Client::as_admin(&node.base).await;
    for path in ["/api/v1/me", "/api/v1/jams", "/api/v1/no-such-thing"] {
        let r = admin.get(path).await;
        assert_eq!(r.headers.get("cache-control").unwrap(), "no-store", "{path}");
        assert_eq!(
            r.headers.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert_eq!(r.headers.get("referrer-policy").unwrap(), "same-origin", "{path}");
        assert!(
            r.headers.get("strict-transport-security").is_none(),
            "plain http: no HSTS"
        );
    }
    let r = admin.get("/healthz").await;
    assert_eq!(r.headers.get("referrer-policy").unwrap(), "same-origin");
}

#[actix_rt::test]
async fn over_https_the_cookie_is_host_only_and_secure_and_hsts_is_sent() {
    let mut d = Deployment::sqlite(Utc::now());
    d.extra_env.push((
        "JAM__SERVER__PUBLIC_ORIGIN".into(),
        "https://jam.example.org".into(),
    ));
    // Refused at start-up: an https origin with cookies that would also travel over plain http.
    let (ok, out) = d.run(&["serve"], None);
    assert!(!ok && out.contains("server.secure_cookies"), "{out}");
    d.extra_env
        .push(("JAM__SERVER__SECURE_COOKIES".into(), "true".into()));
    d.create_admin();
    let node = d.start().await;
    let mut c = node.client();
    c.origin = Some("https://jam.example.org".into());
    let r = c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let set = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(set.starts_with("__Host-jam_session="), "{set}");
    assert!(
        set.contains("Secure") && set.contains("Path=/") && !set.contains("Domain"),
        "{set}"
    );
    assert_eq!(
        r.headers.get("strict-transport-security").unwrap(),
        "max-age=31536000"
    );
    assert_eq!(c.get("/api/v1/me").await.status, 200, "the cookie signs in");
}

#[actix_rt::test]
async fn a_signed_in_request_that_changes_something_needs_origin_or_same_origin_fetch_metadata() {
    let d = Deployment::sqlite(Utc::now());
    d.create_admin();
    let node = d.start().await;
    let admin = Client::as_admin(&node.base).await;
    let cookie = admin.cookie().unwrap().to_owned();
    let body = serde_json::json!({ "email": "x@example.org", "display_name": "X", "role": "executive", "password": ADMIN_PASSWORD });
    let http = awc::Client::new();
    let url = format!("{}/api/v1/staff", node.base);
    for (name, value) in [
        ("x-nothing", "1"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let mut res = http
            .post(&url)
            .insert_header(("cookie", cookie.clone()))
            .insert_header((name, value))
            .send_json(&body)
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{name}: {value}");
        let text = res.body().await.unwrap();
        assert!(String::from_utf8_lossy(&text).contains("Origin"), "{text:?}");
    }
    let res = http
        .post(&url)
        .insert_header(("cookie", cookie.clone()))
        .insert_header(("origin", "http://127.0.0.1:8080"))
        .send_json(&body)
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "the public origin passes");
    // Without a cookie there is nothing to ride: sign-in works from a script.
    let res = http
        .post(format!("{}/api/v1/auth/login", node.base))
        .send_json(&serde_json::json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[actix_rt::test]
async fn a_body_that_trickles_in_gets_408_and_connections_per_address_are_capped() {
    use std::io::{Read, Write};
    let mut d = Deployment::sqlite(Utc::now());
    d.extra_env
        .push(("JAM__SERVER__BODY_TIMEOUT_SECS".into(), "1".into()));
    d.create_admin();
    let node = d.start().await;
    let addr = node.base.trim_start_matches("http://").to_owned();
    let started = std::time::Instant::now();
    let status = actix_rt::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            .unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 408"), "{status}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    // The cap: a second node with two connections per address.
    let mut d = Deployment::sqlite(Utc::now());
    d.extra_env
        .push(("JAM__SERVER__MAX_CONNECTIONS_PER_ADDRESS".into(), "2".into()));
    let node = d.start().await;
    let addr = node.base.trim_start_matches("http://").to_owned();
    let answers = actix_rt::task::spawn_blocking(move || {
        let mut held = Vec::new();
        let mut answers = Vec::new();
        for _ in 0..3 {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut buf = [0u8; 512];
            let n = s.read(&mut buf).unwrap();
            answers.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            held.push(s);
        }
        drop(held);
        answers
    })
    .await
    .unwrap();
    assert!(answers[0].starts_with("HTTP/1.1 200") && answers[1].starts_with("HTTP/1.1 200"));
    assert!(answers[2].starts_with("HTTP/1.1 503"), "{}", answers[2]);
    assert!(answers[2].to_ascii_lowercase().contains("connection: close"));
    // The held connections closed: their slots are free again.
    let ok = eventually(std::time::Duration::from_secs(5), || async {
        (node.client().get("/healthz").await.status == 200).then_some(())
    })
    .await;
    assert!(ok.is_some());
}

#[actix_rt::test]
async fn new_connections_per_address_are_rate_limited() {
    use std::io::{Read, Write};
    let mut d = Deployment::sqlite(Utc::now());
    d.extra_env
        .push(("JAM__RATE_LIMITS__CONNECTIONS__COUNT".into(), "3".into()));
    d.extra_env
        .push(("JAM__RATE_LIMITS__CONNECTIONS__WINDOW_SECS".into(), "3600".into()));
    let node = d.start().await;
    let addr = node.base.trim_start_matches("http://").to_owned();
    let answers = actix_rt::task::spawn_blocking(move || {
        (0..4)
            .map(|_| {
                let mut s = std::net::TcpStream::connect(&addr).unwrap();
                s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .unwrap();
                let mut text = String::new();
                s.read_to_string(&mut text).unwrap();
                text
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert!(
        answers[..3].iter().all(|a| a.starts_with("HTTP/1.1 200")),
        "{answers:?}"
    );
    assert!(answers[3].starts_with("HTTP/1.1 429"), "{}", answers[3]);
    assert!(answers[3].to_ascii_lowercase().contains("retry-after"));
}

#[actix_rt::test]
async fn metrics_answer_loopback_the_token_or_the_operations_listener_and_nobody_else() {
    let mut d = Deployment::sqlite(Utc::now());
    // The test client comes from 127.0.0.1; as a trusted proxy it forwards a remote client.
    d.extra_env
        .push(("JAM__SERVER__TRUSTED_PROXIES".into(), "127.0.0.1/32".into()));
    d.extra_env
        .push(("JAM__SERVER__METRICS_TOKEN".into(), "s3cret-metrics-token".into()));
    d.extra_env
        .push(("JAM__SERVER__OPS_BIND".into(), "127.0.0.1:0".into()));
    let node = d.start().await;
    let mut remote = node.client();
    remote.forwarded_for = Some("203.0.113.9".into());
    remote.get("/metrics").await.assert_problem(404);
    assert_eq!(remote.get("/healthz").await.status, 200);
    let http = awc::Client::new();
    let with = |token: &'static str| {
        http.get(format!("{}/metrics", node.base))
            .insert_header(("x-forwarded-for", "203.0.113.9"))
            .insert_header(("authorization", format!("Bearer {token}")))
    };
    assert_eq!(with("s3cret-metrics-token").send().await.unwrap().status(), 200);
    assert_eq!(with("s3cret-metrics-tokeN").send().await.unwrap().status(), 404);
    assert_eq!(node.client().get("/metrics").await.status, 200, "loopback itself");

    let ops_port = {
        let logs = node.logs.lock().unwrap();
        logs.iter()
            .find_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                v["fields"]["ops_port"].as_u64()
            })
            .expect("the operations listener logs its port")
    };
    let ops = Client::new(&format!("http://127.0.0.1:{ops_port}"));
    let mut ops_remote = Client::new(&format!("http://127.0.0.1:{ops_port}"));
    ops_remote.forwarded_for = Some("203.0.113.9".into());
    assert_eq!(ops_remote.get("/metrics").await.status, 200);
    assert_eq!(ops.get("/readyz").await.status, 200);
    ops.get("/api/v1/openapi.json").await.assert_problem(404);
    ops.get("/").await.assert_problem(404);
}

#[actix_rt::test]
async fn a_login_flood_beyond_the_hashing_pool_gets_503_with_retry_after_and_no_other_failure() {
    let mut d = Deployment::sqlite(Utc::now());
    d.extra_env
        .push(("JAM__AUTH__HASH_CONCURRENCY".into(), "1".into()));
    d.extra_env
        .push(("JAM__AUTH__LOGIN_FAILURES_FREE".into(), "100000".into()));
    d.create_admin();
    let node = d.start().await;
    let logins = (0..40).map(|i| {
        let mut c = node.client();
        async move {
            let password = if i % 2 == 0 {
                ADMIN_PASSWORD
            } else {
                "wrong password here"
            };
            c.login(ADMIN_EMAIL, password).await
        }
    });
    let answers = futures_util::future::join_all(logins).await;
    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    for r in &answers {
        *by_status.entry(r.status.as_u16()).or_default() += 1;
        if r.status == 503 {
            r.assert_problem(503);
            assert_eq!(r.headers.get("retry-after").unwrap(), "1");
        }
    }
    assert!(by_status.get(&503).copied().unwrap_or(0) > 0, "{by_status:?}");
    assert!(
        by_status.keys().all(|s| [200, 401, 503].contains(s)),
        "{by_status:?}"
    );
    // Once the flood has passed, a sign-in goes through.
    let mut c = node.client();
    assert_eq!(c.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 200);
}

#[actix_rt::test]
async fn a_web_dir_serves_only_the_apps_file_types_and_nothing_outside_it() {
    let mut d = Deployment::sqlite(Utc::now());
    let web = d.dir.path().join("web");
    std::fs::create_dir_all(web.join("js")).unwrap();
    std::fs::write(web.join("index.html"), "<!doctype html><title>jam</title>").unwrap();
    std::fs::write(web.join("js/app.js"), "export {}").unwrap();
    std::fs::write(web.join("openjam.db"), "SQLite format 3 with password hashes").unwrap();
    std::fs::write(web.join("production.toml"), "secret = 1").unwrap();
    std::fs::write(d.dir.path().join("outside.txt"), "not the app's").unwrap();
    std::os::unix::fs::symlink(d.dir.path().join("outside.txt"), web.join("linked.txt")).unwrap();
    d.extra_env
        .push(("JAM__SERVER__WEB_DIR".into(), web.display().to_string()));
    let node = d.start().await;
    let c = node.client();
    assert_eq!(c.get_text("/").await.0, 200);
    assert_eq!(c.get_text("/js/app.js").await.0, 200);
    for path in ["/openjam.db", "/production.toml", "/linked.txt", "/jam.db"] {
        c.get(path).await.assert_problem(404);
    }
}

#[actix_rt::test]
async fn a_one_line_text_with_a_direction_override_or_a_zero_width_space_is_refused() {
    let d = Deployment::sqlite(Utc::now());
    d.create_admin();
    let node = d.start().await;
    let admin = Client::as_admin(&node.base).await;
    for name in ["Ada\u{202E}nimda", "Ad\u{200B}a"] {
        let r = admin
            .post("/api/v1/staff", serde_json::json!({ "email": "x@example.org", "display_name": name, "role": "executive", "password": ADMIN_PASSWORD }))
            .await;
        r.assert_problem(422);
        assert_eq!(r.body["errors"][0]["field"], "display_name", "{}", r.body);
    }
}

#[actix_rt::test]
async fn executives_see_jams_without_their_invite_codes() {
    let d = Deployment::sqlite(Utc::now());
    d.create_admin();
    let node = d.start().await;
    let fac = Client::as_new_staff(&node.base, "facilitator").await;
    let now = Utc::now();
    let r = fac
        .post(
            "/api/v1/jams",
            jam_body("exec-view", now, now + chrono::Duration::days(3)),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["audiences"][1]["invite_code"].is_string());
    let exec = Client::as_new_staff(&node.base, "executive").await;
    for path in ["/api/v1/jams/exec-view", "/api/v1/jams"] {
        let r = exec.get(path).await;
        assert_eq!(r.status, 200);
        let text = r.body.to_string();
        assert!(
            !text.contains("client-code-2026") && !text.contains("join_path\":\"/j/"),
            "{path}: {text}"
        );
    }
}

#[test]
fn password_bearing_requests_do_not_show_the_password_in_debug_output() {
    let login: jam_protocol::api::LoginRequest =
        serde_json::from_str(r#"{"email":"a@example.org","password":"hunter2hunter2"}"#).unwrap();
    let staff: jam_protocol::api::CreateStaffRequest = serde_json::from_str(
        r#"{"email":"a@example.org","display_name":"A","role":"admin","password":"hunter2hunter2"}"#,
    )
    .unwrap();
    for shown in [format!("{login:?}"), format!("{staff:?}")] {
        assert!(
            !shown.contains("hunter2") && shown.contains("a@example.org"),
            "{shown}"
        );
    }
}

#[actix_rt::test]
async fn one_sign_in_holds_at_most_its_share_of_live_sockets_then_gets_1013() {
    use crate::ws::LiveClient;
    let mut d = Deployment::sqlite(Utc::now());
    d.extra_env
        .push(("JAM__LIVE__MAX_CONNECTIONS_PER_SIGN_IN".into(), "2".into()));
    d.extra_env
        .push(("JAM__SERVER__PUBLIC_ORIGIN".into(), crate::ws::ORIGIN.into()));
    d.create_admin();
    let node = d.start().await;
    let admin = Client::as_admin(&node.base).await;
    let mut first = LiveClient::connect(&admin).await;
    let _second = LiveClient::connect(&admin).await;
    let mut third = LiveClient::connect(&admin).await;
    assert_eq!(third.next().await, Err(Some(1013)));
    // The others stay, and another sign-in has its own share.
    first.send(serde_json::json!({ "type": "ping", "id": "p" })).await;
    assert_eq!(first.next().await.unwrap()["type"], "pong");
    let other = Client::as_admin(&node.base).await;
    let mut theirs = LiveClient::connect(&other).await;
    theirs
        .send(serde_json::json!({ "type": "ping", "id": "q" }))
        .await;
    assert_eq!(theirs.next().await.unwrap()["type"], "pong");
    // A seat comes back when a socket closes.
    drop(first);
    let again = eventually(std::time::Duration::from_secs(10), || async {
        let mut c = LiveClient::connect(&admin).await;
        c.send(serde_json::json!({ "type": "ping", "id": "r" })).await;
        c.next().await.ok().filter(|m| m["type"] == "pong")
    })
    .await;
    assert!(again.is_some());
}

/// The probes `/metrics` counts so far.
async fn ready_probes(c: &Client) -> u64 {
    let (status, text) = c.get_text("/metrics").await;
    assert_eq!(status, 200);
    text.lines()
        .find_map(|l| l.strip_prefix("jam_ready_probes_total "))
        .unwrap_or_else(|| panic!("no jam_ready_probes_total in\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

#[actix_rt::test]
async fn a_burst_of_readiness_checks_shares_one_probe() {
    let d = Deployment::sqlite(Utc::now());
    let node = d.start().await;
    let c = node.client();
    let before = ready_probes(&c).await;
    let started = std::time::Instant::now();
    let answers = futures_util::future::join_all((0..200).map(|_| async { c.get("/readyz").await })).await;
    let took = started.elapsed();
    for r in &answers {
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["status"], "ready");
    }
    let probes = ready_probes(&c).await - before;
    // One probe per second of the burst at most (each answer is reused for a second).
    let allowed = took.as_secs() + 1;
    assert!(
        (1..=allowed).contains(&probes),
        "{probes} probes for 200 checks in {took:?}"
    );
}
