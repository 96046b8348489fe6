//! Behind a load balancer: per-address limits key on the client the trusted proxy saw, never on a
//! header an untrusted peer sends; and a per-account sign-in backoff that treats unknown addresses like
//! known ones.

use chrono::Duration;
use serde_json::json;

use crate::fixtures::*;
use crate::support::*;

/// A join of `jam` as a fresh browser that a proxy reports as `forwarded_for`.
async fn join_from(jam: &Live, forwarded_for: &str, name: &str) -> Reply {
    let mut c = Client::new(&jam.node.base);
    c.forwarded_for = Some(forwarded_for.to_owned());
    c.post_keep(
        &format!("/api/v1/jams/{}/join", jam.slug),
        json!({ "invite_code": jam.codes[0].1, "display_name": name, "accept_guidelines": true }),
    )
    .await
}

fn capped_at_two(d: &mut Deployment) {
    d.extra_env
        .push(("JAM__LIMITS__JOINS_PER_ADDRESS_PER_DAY".into(), "2".into()));
}

#[actix_rt::test]
async fn behind_a_trusted_proxy_the_join_cap_keys_on_the_forwarded_client() {
    let mut d = Deployment::sqlite(t0());
    capped_at_two(&mut d);
    d.extra_env.push((
        "JAM__SERVER__TRUSTED_PROXIES".into(),
        "10.0.0.0/8, 127.0.0.1/32".into(),
    ));
    let jam = live_jam(d, "proxied").await;
    for name in ["A1", "A2"] {
        assert_eq!(join_from(&jam, "198.51.100.1", name).await.status, 201);
    }
    join_from(&jam, "198.51.100.1", "A3").await.assert_problem(429);
    // Another client behind the same balancer has its own cap.
    assert_eq!(join_from(&jam, "198.51.100.2", "B1").await.status, 201);
    // A client that forges a hop on the left is still keyed by what the proxy appended.
    join_from(&jam, "203.0.113.50, 198.51.100.1", "A4")
        .await
        .assert_problem(429);
    // Two trusted proxies in a row: the walk passes the inner one.
    join_from(&jam, "198.51.100.1, 10.1.2.3", "A5")
        .await
        .assert_problem(429);
    // The same /64 of IPv6 is one client.
    assert_eq!(join_from(&jam, "2001:db8:7:7::1", "C1").await.status, 201);
    assert_eq!(join_from(&jam, "2001:db8:7:7::2", "C2").await.status, 201);
    join_from(&jam, "2001:db8:7:7:ffff::3", "C3")
        .await
        .assert_problem(429);
}

#[actix_rt::test]
async fn without_trusted_proxies_a_forwarded_header_changes_nothing() {
    let mut d = Deployment::sqlite(t0());
    capped_at_two(&mut d);
    let jam = live_jam(d, "direct").await;
    assert_eq!(join_from(&jam, "198.51.100.1", "A1").await.status, 201);
    assert_eq!(join_from(&jam, "198.51.100.2", "A2").await.status, 201);
    // Every "client" is the TCP peer, whatever it claims.
    join_from(&jam, "198.51.100.3", "A3").await.assert_problem(429);
}

fn retry_after(r: &Reply) -> Option<i64> {
    r.headers.get("retry-after")?.to_str().ok()?.parse().ok()
}

#[actix_rt::test]
async fn failed_sign_ins_back_off_per_account_alike_for_known_and_unknown_addresses() {
    let mut d = Deployment::sqlite(t0());
    for (k, v) in [
        ("JAM__AUTH__LOGIN_FAILURES_FREE", "2"),
        ("JAM__AUTH__LOGIN_BACKOFF_SECS", "30"),
        ("JAM__AUTH__LOGIN_BACKOFF_MAX_SECS", "600"),
        // The per-address limit stays out of the way: this is about the account.
        ("JAM__RATE_LIMITS__LOGIN__COUNT", "1000"),
    ] {
        d.extra_env.push((k.into(), v.into()));
    }
    d.create_admin();
    let node = d.start().await;
    let mut seen = Vec::new();
    for email in [ADMIN_EMAIL, "nobody@example.org"] {
        let mut c = Client::new(&node.base);
        let mut answers = Vec::new();
        for _ in 0..3 {
            let r = c.login(email, "wrong password").await;
            answers.push((r.status.as_u16(), retry_after(&r)));
        }
        // Waiting now: even the right password is not checked.
        let r = c.login(email, ADMIN_PASSWORD).await;
        r.assert_problem(429);
        answers.push((r.status.as_u16(), retry_after(&r)));
        seen.push(answers);
    }
    assert_eq!(
        seen[0],
        vec![(401, None), (401, None), (401, None), (429, Some(30))],
        "two free failures, the third starts a 30 s wait"
    );
    assert_eq!(seen[0], seen[1], "an unknown address answers exactly alike");
    // Another account is not held up by these.
    let mut other = Client::new(&node.base);
    assert_eq!(other.login("someone@example.org", "x").await.status, 401);

    d.set_clock(t0() + Duration::seconds(31));
    let mut admin = Client::new(&node.base);
    let r = admin.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status, 200, "the wait is over: {}", r.body);
    // The success cleared the failures: two free ones again.
    for _ in 0..2 {
        assert_eq!(admin.login(ADMIN_EMAIL, "wrong").await.status, 401);
    }
}
