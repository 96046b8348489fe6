//! Admission per audience and personal invites (issue 14 items 1, 3, 4): an audience admits by its
//! shared code, by one-time personal invites, or by single sign-on, set at creation and changed
//! until the jam closes; a shared code of an `invite` or `sso` audience admits nobody. Invites are
//! issued as CSV (the links shown once), redeemed once (the redeeming browser gets its participant
//! back, any other 409), listed without tokens, revoked while unused, and e-mailed through a real
//! SMTP server (aiosmtpd, started here; skipped loudly without it, mandatory with
//! `JAM_TEST_REQUIRE_SERVICES=1`). Rotating a code stops the old one at once.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::fixtures::*;
use crate::support::*;

fn join_body(code: &str, name: &str) -> Value {
    json!({ "invite_code": code, "display_name": name, "accept_guidelines": true })
}

fn redeem_body(token: &str, name: &str) -> Value {
    json!({ "invite_token": token, "display_name": name, "accept_guidelines": true })
}

/// The (email, link) rows of an issued CSV, and the token of each link.
fn csv_rows(r: &Reply) -> Vec<(String, String, String)> {
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.content_type.starts_with("text/csv"), "{}", r.content_type);
    let text = r.body.as_str().unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("email,link"));
    lines
        .map(|l| {
            let (email, link) = l.split_once(',').unwrap();
            let token = link.split_once("?invite=").unwrap().1.to_owned();
            (email.to_owned(), link.to_owned(), token)
        })
        .collect()
}

async fn audit_actions(fac: &Client, slug: &str) -> Vec<String> {
    let r = fac.get(&format!("/api/v1/jams/{slug}/audit?limit=200")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[actix_rt::test]
async fn admission_is_set_at_creation_and_a_shared_code_of_an_invite_or_sso_audience_admits_nobody() {
    let d = Deployment::sqlite(t0());
    d.create_admin();
    let node = d.start().await;
    let fac = Client::as_new_staff(&node.base, "facilitator").await;
    let mut body = jam_body("admit", t0(), t0() + chrono::Duration::days(3));
    body["audiences"][0]["admission"] = json!("invite");
    body["audiences"][2]["admission"] = json!("sso");
    let r = fac.post("/api/v1/jams", body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let modes: Vec<&str> = r.body["audiences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["admission"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["invite", "code", "sso"]);
    let codes: Vec<String> = r.body["audiences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["invite_code"].as_str().unwrap().to_owned())
        .collect();
    add_session(&fac, "admit", "Cities", 0, 24).await;
    let r = fac.post("/api/v1/jams/admit/schedule", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // An unknown mode is a clear 422.
    let mut bad = jam_body("admit-bad", t0(), t0() + chrono::Duration::days(3));
    bad["audiences"][0]["admission"] = json!("magic");
    fac.post("/api/v1/jams", bad).await.assert_problem(422);

    let anon = node.client();
    let r = anon
        .post("/api/v1/jams/admit/join", join_body(&codes[0], "Ann"))
        .await;
    r.assert_problem(403);
    assert!(
        r.body["detail"].as_str().unwrap().contains("personal invite"),
        "{}",
        r.body
    );
    let r = anon
        .post("/api/v1/jams/admit/join", join_body(&codes[2], "Ann"))
        .await;
    r.assert_problem(403);
    assert!(
        r.body["detail"].as_str().unwrap().contains("organisation"),
        "{}",
        r.body
    );
    anon.get(&format!("/api/v1/jams/admit/welcome?code={}", codes[0]))
        .await
        .assert_problem(403);
    let r = anon
        .post("/api/v1/jams/admit/join", join_body(&codes[1], "Ann"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Changed by a facilitator (audited): the code works again for the employee audience.
    let path = "/api/v1/jams/admit/audiences/employee";
    let r = fac.patch(path, json!({ "admission": "code" })).await;
    assert_eq!(
        (r.status.as_u16(), r.body["admission"].clone()),
        (200, json!("code")),
        "{}",
        r.body
    );
    let r = anon
        .post("/api/v1/jams/admit/join", join_body(&codes[0], "Bea"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        audit_actions(&fac, "admit")
            .await
            .contains(&"audience.admission_changed".to_owned())
    );
    fac.patch(path, json!({ "admission": "nope" }))
        .await
        .assert_problem(422);
    fac.patch(
        "/api/v1/jams/admit/audiences/nobody",
        json!({ "admission": "code" }),
    )
    .await
    .assert_problem(404);
    // Closed: no more changes.
    let r = fac.post("/api/v1/jams/admit/close", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    fac.patch(path, json!({ "admission": "invite" }))
        .await
        .assert_problem(409);
}

#[actix_rt::test]
async fn an_invite_is_redeemed_once_given_back_to_its_browser_refused_to_others_and_revocable() {
    let mut d = Deployment::sqlite(t0());
    // A cap of 1 per address: invites do not count against it.
    d.extra_env
        .push(("JAM__LIMITS__JOINS_PER_ADDRESS_PER_DAY".into(), "1".into()));
    let jam = live_jam(d, "invited").await;
    let audiences = format!("/api/v1/jams/{}/audiences/employee", jam.slug);
    let r = jam.fac.patch(&audiences, json!({ "admission": "invite" })).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let issued = jam
        .fac
        .post(&format!("{audiences}/invites"), json!({ "count": 4 }))
        .await;
    let rows = csv_rows(&issued);
    assert_eq!(rows.len(), 4);
    for (email, link, token) in &rows {
        assert!(email.is_empty());
        assert!(link.contains("/j/invited/join?invite="), "{link}");
        assert!(token.len() >= 32, "at least 128 bits: {token}");
    }
    let mut tokens: Vec<&String> = rows.iter().map(|r| &r.2).collect();
    tokens.dedup();
    assert_eq!(tokens.len(), 4);

    let path = format!("/api/v1/jams/{}/join", jam.slug);
    // The welcome page knows the invite's audience.
    let anon = jam.node.client();
    let w = anon
        .get(&format!("/api/v1/jams/{}/welcome?invite={}", jam.slug, rows[0].2))
        .await;
    assert_eq!(
        (w.status.as_u16(), w.body["audience"].clone()),
        (200, json!("employee")),
        "{}",
        w.body
    );

    let mut a = jam.node.client();
    let first = a.post_keep(&path, redeem_body(&rows[0].2, "Ann")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["audience"], "employee");
    let ann = id(&first.body);
    // The browser that redeemed it gets its participant back.
    let again = a.post_keep(&path, redeem_body(&rows[0].2, "Ann again")).await;
    assert_eq!((again.status.as_u16(), id(&again.body)), (200, ann.clone()));
    // Any other browser: 409.
    let mut b = jam.node.client();
    let r = b.post_keep(&path, redeem_body(&rows[0].2, "Mallory")).await;
    r.assert_problem(409);
    assert!(
        r.body["detail"].as_str().unwrap().contains("already used"),
        "{}",
        r.body
    );
    assert!(b.cookie().is_none());

    // More invites from the same address pass the per-address cap (1): each is one person.
    for (i, row) in rows[1..3].iter().enumerate() {
        let mut c = jam.node.client();
        let r = c.post_keep(&path, redeem_body(&row.2, &format!("P{i}"))).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // An unknown token is refused clearly.
    jam.node
        .client()
        .post(&path, redeem_body("f00d", "Eve"))
        .await
        .assert_problem(403);

    // The list: counts, states, no tokens.
    let list = jam.fac.get(&format!("{audiences}/invites")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(
        (
            list.body["total"].clone(),
            list.body["used"].clone(),
            list.body["unused"].clone()
        ),
        (json!(4), json!(3), json!(1))
    );
    let text = list.body.to_string();
    for (_, _, token) in &rows {
        assert!(!text.contains(token.as_str()), "no token in the list");
    }
    let items = list.body["items"].as_array().unwrap();
    let used = items.iter().find(|i| i["participant_id"] == json!(ann)).unwrap();
    let unused = items.iter().find(|i| i["state"] == "unused").unwrap();

    // Revoke: only unused ones; a revoked link admits nobody.
    let revoke = |inv: &Value| format!("{audiences}/invites/{}/revoke", inv["id"].as_str().unwrap());
    jam.fac.post(&revoke(used), json!({})).await.assert_problem(409);
    let r = jam.fac.post(&revoke(unused), json!({})).await;
    assert_eq!(
        (r.status.as_u16(), r.body["state"].clone()),
        (200, json!("revoked")),
        "{}",
        r.body
    );
    let r = jam
        .node
        .client()
        .post(&path, redeem_body(&rows[3].2, "Late"))
        .await;
    r.assert_problem(403);
    assert!(
        r.body["detail"].as_str().unwrap().contains("revoked"),
        "{}",
        r.body
    );
    let actions = audit_actions(&jam.fac, &jam.slug).await;
    for action in ["invites.issued", "invite.revoked", "audience.admission_changed"] {
        assert!(actions.contains(&action.to_owned()), "{action} in {actions:?}");
    }

    // Bad requests are clear problems (422, the field named).
    let invites = format!("{audiences}/invites");
    for bad in [
        json!({}),
        json!({ "count": 0 }),
        json!({ "count": 1, "emails": ["a@example.org"] }),
        json!({ "emails": ["not-an-address"] }),
        json!({ "emails": ["a@example.org", "A@example.org"] }),
    ] {
        jam.fac.post(&invites, bad).await.assert_problem(422);
    }
    // Participants and other staff roles may not issue or list.
    a.post(&invites, json!({ "count": 1 })).await.assert_problem(403);
    a.get(&invites).await.assert_problem(403);
}

#[actix_rt::test]
async fn rotating_a_code_stops_the_old_one_at_once_on_every_node() {
    let jam = live_jam(Deployment::sqlite(t0()), "rotate").await;
    let second = jam.d.start().await;
    let old = jam.codes[0].1.clone();
    let path = format!("/api/v1/jams/{}/join", jam.slug);
    // Both nodes have read (and keep) the audiences with the old code.
    for base in [&jam.node.base, &second.base] {
        let r = Client::new(base).post(&path, join_body(&old, "Early")).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = jam
        .fac
        .post(
            &format!("/api/v1/jams/{}/audiences/employee/rotate-code", jam.slug),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new = r.body["invite_code"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(new.len() >= 10);
    assert_eq!(r.body["join_path"], json!(format!("/j/{}?code={new}", jam.slug)));
    for base in [&jam.node.base, &second.base] {
        Client::new(base)
            .post(&path, join_body(&old, "Late"))
            .await
            .assert_problem(403);
        Client::new(base)
            .get(&format!("/api/v1/jams/{}/welcome?code={old}", jam.slug))
            .await
            .assert_problem(403);
        let r = Client::new(base).post(&path, join_body(&new, "Late")).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    assert!(
        audit_actions(&jam.fac, &jam.slug)
            .await
            .contains(&"audience.code_rotated".to_owned())
    );
}

/// aiosmtpd on a free port, writing each accepted message as JSON into a folder.
struct SmtpSink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp_sink() -> Option<SmtpSink> {
    let importable = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !importable {
        jam_testkit::services::skip_or_fail(
            "invite e-mail tests against a real SMTP server",
            "up aiosmtpd: pip install 'aiosmtpd>=1.4,<2'",
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/black_box/smtp_sink.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "aiosmtpd did not start");
    Some(SmtpSink { child, port, dir })
}

fn received(sink: &SmtpSink) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(sink.dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

#[actix_rt::test]
async fn invites_bound_to_addresses_are_emailed_through_smtp_and_the_mailed_link_redeems() {
    let Some(sink) = smtp_sink() else { return };
    let mut d = Deployment::sqlite(t0());
    for (k, v) in [
        ("JAM__SMTP__HOST", "127.0.0.1".to_owned()),
        ("JAM__SMTP__PORT", sink.port.to_string()),
        ("JAM__SMTP__FROM", "OpenJam <jam@example.org>".to_owned()),
        ("JAM__SMTP__TLS", "none".to_owned()),
        ("JAM__SMTP__TIMEOUT_SECS", "10".to_owned()),
    ] {
        d.extra_env.push((k.into(), v));
    }
    let jam = live_jam(d, "mailed").await;
    let audiences = format!("/api/v1/jams/{}/audiences/client", jam.slug);
    let r = jam.fac.patch(&audiences, json!({ "admission": "invite" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let emails = ["ada@example.org", "bob@example.com"];
    let rows = csv_rows(
        &jam.fac
            .post(&format!("{audiences}/invites"), json!({ "emails": emails }))
            .await,
    );
    assert_eq!(rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), emails);

    // Sent after the answer: wait for both invites to say so in the list.
    let list = eventually(Duration::from_secs(20), || async {
        let l = jam.fac.get(&format!("{audiences}/invites")).await;
        let sent = l.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["mail_status"] == "sent")
            .count();
        (sent == 2).then_some(l.body)
    })
    .await
    .expect("both invites marked sent");
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["mail_error"].is_null())
    );

    let messages = received(&sink);
    assert_eq!(messages.len(), 2, "{messages:?}");
    for (email, link, _) in &rows {
        let m = messages
            .iter()
            .find(|m| m["rcpt_tos"] == json!([email]))
            .unwrap_or_else(|| panic!("a message to {email}: {messages:?}"));
        assert_eq!(m["mail_from"], "jam@example.org");
        let body = m["body"].as_str().unwrap();
        assert!(body.contains(link.as_str()), "the link in {body}");
        assert!(
            body.contains("Innovation Jam") && body.contains("Vous êtes invité"),
            "{body}"
        );
    }
    // The mailed link redeems.
    let body = messages[0]["body"].as_str().unwrap();
    let token = body
        .split("?invite=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let mut c = jam.node.client();
    let r = c
        .post_keep(
            &format!("/api/v1/jams/{}/join", jam.slug),
            redeem_body(token, "Ada"),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["audience"].clone()),
        (201, json!("client")),
        "{}",
        r.body
    );
}

#[actix_rt::test]
async fn an_unreachable_smtp_server_is_recorded_as_failed_in_the_list() {
    let mut d = Deployment::sqlite(t0());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (k, v) in [
        ("JAM__SMTP__HOST", "127.0.0.1".to_owned()),
        ("JAM__SMTP__PORT", port.to_string()),
        ("JAM__SMTP__FROM", "jam@example.org".to_owned()),
        ("JAM__SMTP__TLS", "none".to_owned()),
        ("JAM__SMTP__TIMEOUT_SECS", "5".to_owned()),
    ] {
        d.extra_env.push((k.into(), v));
    }
    let jam = live_jam(d, "nomail").await;
    let invites = format!("/api/v1/jams/{}/audiences/employee/invites", jam.slug);
    let rows = csv_rows(
        &jam.fac
            .post(&invites, json!({ "emails": ["ada@example.org"] }))
            .await,
    );
    assert_eq!(rows.len(), 1);
    let item = eventually(Duration::from_secs(20), || async {
        let l = jam.fac.get(&invites).await;
        let i = l.body["items"][0].clone();
        (i["mail_status"] == "failed").then_some(i)
    })
    .await
    .expect("the invite marked failed");
    assert!(
        item["mail_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{item}"
    );
}

#[actix_rt::test]
async fn an_operator_issues_invites_from_the_command_line_and_each_link_admits_once() {
    let jam = live_jam(Deployment::sqlite(t0()), "cli-invites").await;
    let audience = format!("/api/v1/jams/{}/audiences/employee", jam.slug);
    let r = jam.fac.patch(&audience, json!({ "admission": "invite" })).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let (ok, out) = jam.d.run(
        &[
            "invites",
            "issue",
            "--jam",
            &jam.slug,
            "--audience",
            "employee",
            "--count",
            "2",
        ],
        None,
    );
    assert!(ok, "jamd invites issue failed: {out}");
    let tokens: Vec<String> = out
        .lines()
        .filter_map(|l| {
            l.split_once("/join?invite=")
                .map(|(_, token)| token.trim().to_owned())
        })
        .collect();
    assert_eq!(tokens.len(), 2, "two links on stdout: {out}");
    assert_ne!(tokens[0], tokens[1]);

    // The list counts them, and each admits one browser.
    let list = jam.fac.get(&format!("{audience}/invites")).await;
    assert_eq!(
        (list.body["total"].as_u64(), list.body["unused"].as_u64()),
        (Some(2), Some(2)),
        "{}",
        list.body
    );
    let path = format!("/api/v1/jams/{}/join", jam.slug);
    let mut a = jam.node.client();
    let r = a.post_keep(&path, redeem_body(&tokens[0], "From the CLI")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut b = jam.node.client();
    b.post_keep(&path, redeem_body(&tokens[0], "Second browser"))
        .await
        .assert_problem(409);

    // A wrong audience or jam is a clear failure, and issues nothing.
    let (ok, out) = jam.d.run(
        &[
            "invites",
            "issue",
            "--jam",
            &jam.slug,
            "--audience",
            "nobody",
            "--count",
            "1",
        ],
        None,
    );
    assert!(!ok && out.contains("nobody"), "unknown audience: {out}");
    let (ok, out) = jam.d.run(
        &[
            "invites",
            "issue",
            "--jam",
            "no-such-jam",
            "--audience",
            "employee",
            "--count",
            "1",
        ],
        None,
    );
    assert!(!ok && out.contains("no-such-jam"), "unknown jam: {out}");
    let list = jam.fac.get(&format!("{audience}/invites")).await;
    assert_eq!(list.body["total"].as_u64(), Some(2), "{}", list.body);
}
