//! The bad-input corpus against the participation routes: each request gets its documented 4xx,
//! nothing already accepted is harmed, and accepted text round-trips byte for byte.

use awc::http::Method;
use serde_json::json;

use crate::fixtures::*;
use crate::support::*;

#[actix_rt::test]
async fn hostile_and_careless_input_to_participation_routes_gets_its_documented_status() {
    let jam = live_jam(Deployment::sqlite(t0()), "corpus").await;
    let base = jam.node.base.clone();
    let ada = join(&base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let idea = post_idea(&ada, &jam.open, "Baseline", "Kept safe", json!(["safe"])).await;
    let idea_id = id(&idea);
    // Another jam with its own idea: its ids must be unknown here.
    let (other_slug, _, other_codes) = create_jam(&jam.fac, "corpus-other").await;
    let other_session = add_session(&jam.fac, &other_slug, "Elsewhere", 0, 24).await;
    jam.fac
        .post(&format!("/api/v1/jams/{other_slug}/schedule"), json!({}))
        .await;
    let bob = join(&base, &other_slug, &other_codes[0].1, "Bob").await;
    let foreign = id(&post_idea(&bob, &other_session, "Foreign", "Theirs", json!([])).await);

    let ideas = format!("/api/v1/sessions/{}/ideas", jam.open);
    let one_mb = json!({ "title": "Big", "body": "x".repeat(1 << 20) })
        .to_string()
        .into_bytes();
    let cases: Vec<(&str, Method, String, Vec<u8>, u16)> = vec![
        ("1 MB body", Method::POST, ideas.clone(), one_mb, 413),
        (
            "invalid UTF-8",
            Method::POST,
            ideas.clone(),
            b"{\"title\":\"\xc3\x28\",\"body\":\"b\"}".to_vec(),
            400,
        ),
        (
            "truncated JSON",
            Method::POST,
            ideas.clone(),
            b"{\"title\":\"a\",".to_vec(),
            400,
        ),
        (
            "NUL in a title",
            Method::POST,
            ideas.clone(),
            json!({ "title": "a\u{0}b", "body": "b" })
                .to_string()
                .into_bytes(),
            422,
        ),
        (
            "unknown field",
            Method::POST,
            ideas.clone(),
            json!({ "title": "a", "body": "b", "admin": true })
                .to_string()
                .into_bytes(),
            422,
        ),
        (
            "title too long",
            Method::POST,
            ideas.clone(),
            json!({ "title": "t".repeat(201), "body": "b" })
                .to_string()
                .into_bytes(),
            422,
        ),
        (
            "too many tags",
            Method::POST,
            ideas.clone(),
            json!({ "title": "a", "body": "b", "tags": ["1","2","3","4","5","6"] })
                .to_string()
                .into_bytes(),
            422,
        ),
        (
            "tags not a list",
            Method::POST,
            ideas.clone(),
            json!({ "title": "a", "body": "b", "tags": "x" })
                .to_string()
                .into_bytes(),
            422,
        ),
        (
            "vote of 2",
            Method::PUT,
            format!("/api/v1/ideas/{idea_id}/vote"),
            json!({ "value": 2 }).to_string().into_bytes(),
            422,
        ),
        (
            "vote as text",
            Method::PUT,
            format!("/api/v1/ideas/{idea_id}/vote"),
            json!({ "value": "1" }).to_string().into_bytes(),
            422,
        ),
        (
            "vote on another jam's idea",
            Method::PUT,
            format!("/api/v1/ideas/{foreign}/vote"),
            json!({ "value": 1 }).to_string().into_bytes(),
            404,
        ),
        (
            "comment on another jam's idea",
            Method::POST,
            format!("/api/v1/ideas/{foreign}/comments"),
            json!({ "body": "hi" }).to_string().into_bytes(),
            404,
        ),
        (
            "idea in another jam's session",
            Method::POST,
            format!("/api/v1/sessions/{other_session}/ideas"),
            json!({ "title": "a", "body": "b" }).to_string().into_bytes(),
            404,
        ),
        (
            "malformed idea id",
            Method::PUT,
            "/api/v1/ideas/not-a-uuid/vote".into(),
            json!({ "value": 1 }).to_string().into_bytes(),
            404,
        ),
        (
            "empty comment",
            Method::POST,
            format!("/api/v1/ideas/{idea_id}/comments"),
            json!({ "body": "" }).to_string().into_bytes(),
            422,
        ),
        (
            "join without accepting",
            Method::POST,
            format!("/api/v1/jams/{}/join", jam.slug),
            json!({ "invite_code": jam.codes[0].1, "display_name": "X", "accept_guidelines": false })
                .to_string()
                .into_bytes(),
            422,
        ),
        (
            "join with a control character",
            Method::POST,
            format!("/api/v1/jams/{}/join", jam.slug),
            json!({ "invite_code": jam.codes[0].1, "display_name": "X\u{7}", "accept_guidelines": true })
                .to_string()
                .into_bytes(),
            422,
        ),
        (
            "join with another jam's code",
            Method::POST,
            format!("/api/v1/jams/{}/join", jam.slug),
            json!({ "invite_code": other_codes[0].1, "display_name": "X", "accept_guidelines": true })
                .to_string()
                .into_bytes(),
            403,
        ),
    ];
    for (name, method, path, body, status) in cases {
        let r = ada.send_raw(method, &path, "application/json", body).await;
        assert_eq!(r.status.as_u16(), status, "{name}: {}", r.body);
        r.assert_problem(status);
    }
    for (name, path, status) in [
        ("huge page size", format!("{ideas}?limit=100000000"), 422),
        ("negative page size", format!("{ideas}?limit=-1"), 422),
        ("page size not a number", format!("{ideas}?limit=ten"), 422),
        ("unknown sort", format!("{ideas}?sort=random"), 422),
        ("forged cursor", format!("{ideas}?cursor=%27%20OR%201%3D1--"), 422),
        ("another jam's idea", format!("/api/v1/ideas/{foreign}"), 404),
    ] {
        let r = ada.get(&path).await;
        assert_eq!(r.status.as_u16(), status, "{name}: {}", r.body);
        r.assert_problem(status);
    }

    // Text that is accepted comes back exactly as sent.
    let tricky = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "'; DROP TABLE ideas; --",
        "Robert'); DELETE FROM votes WHERE ('1'='1",
        "emoji 🎉 and RTL \u{202e}txet",
        "  leading and trailing spaces  ",
        "line one\nline two\r\n\ttabbed",
        "100% _literal_ \\backslash\\",
    ];
    for text in tricky {
        // A title is one line, which refuses direction overrides (`hardening.rs` checks the 422);
        // the body keeps them.
        let title = text.replace(['\n', '\r', '\t'], " ").replace('\u{202e}', "");
        let created = post_idea(&ada, &jam.open, &title, text, json!([])).await;
        let fetched = ada.get(&format!("/api/v1/ideas/{}", id(&created))).await;
        assert_eq!(fetched.body["title"], title.as_str());
        assert_eq!(fetched.body["body"], text);
        let c = ada
            .post(
                &format!("/api/v1/ideas/{}/comments", id(&created)),
                json!({ "body": text }),
            )
            .await;
        assert_eq!(c.status, 201, "{}", c.body);
        assert_eq!(c.body["body"], text);
    }

    // Nothing accepted before was harmed, and nothing failed inside.
    let kept = ada.get(&format!("/api/v1/ideas/{idea_id}")).await;
    assert_eq!(
        (kept.body["title"].as_str(), kept.body["body"].as_str()),
        (Some("Baseline"), Some("Kept safe"))
    );
    assert_eq!(jam.node.metric("jam_http_responses_5xx_total").await, 0);
}
