use chrono::Utc;

use crate::support::*;

#[actix_rt::test]
async fn a_fresh_server_is_healthy_and_ready_on_sqlite_and_the_memory_broker() {
    let d = Deployment::sqlite(Utc::now());
    let node = d.start().await;
    let c = node.client();
    let r = c.get("/healthz").await;
    assert_eq!(r.status, 200);
    let r = c.get("/readyz").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["database"], "sqlite");
    assert_eq!(r.body["broker"], "memory");
    let (status, metrics) = c.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("# TYPE jam_http_requests_total counter"),
        "{metrics}"
    );
    assert!(metrics.contains("jam_transitions_published_total"), "{metrics}");
}

#[actix_rt::test]
async fn the_web_app_is_served_with_a_strict_content_security_policy() {
    let d = Deployment::sqlite(Utc::now());
    let node = d.start().await;
    let r = node.client().get("/").await;
    assert_eq!(r.status, 200);
    let csp = r
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
}

#[actix_rt::test]
async fn unknown_routes_answer_problem_json_404() {
    let d = Deployment::sqlite(Utc::now());
    let node = d.start().await;
    node.client()
        .get("/api/v1/nothing-here")
        .await
        .assert_problem(404);
}

#[actix_rt::test]
async fn sigterm_stops_the_server_cleanly() {
    let d = Deployment::sqlite(Utc::now());
    let node = d.start().await;
    assert_eq!(node.client().get("/healthz").await.status, 200);
    let status = node.stop();
    assert!(status.success(), "exit status {status:?}");
}

#[actix_rt::test]
async fn an_invalid_setting_stops_start_up_naming_the_key() {
    let mut d = Deployment::sqlite(Utc::now());
    d.extra_env.push(("JAM__SERVER__WORKERS".into(), "lots".into()));
    let (ok, out) = d.run(&["migrate"], None);
    assert!(!ok);
    assert!(out.contains("server.workers"), "{out}");
}
