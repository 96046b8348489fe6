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
