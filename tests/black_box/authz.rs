//! The authorization matrix: every route against anonymous, a participant of this jam, a
//! participant of another jam, a facilitator, an executive and an admin. A cell is either the exact
//! refusal (401, 403, 404) or `Pass`: the request got past authorization (any other status below
//! 500; 409 or 422 from state or validation still means "allowed").

use awc::http::Method;
use chrono::Duration;
use serde_json::{Value, json};

use crate::fixtures::*;
use crate::support::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell {
    Pass,
    Is(u16),
}
use Cell::{Is, Pass};

/// Columns: anonymous, participant here, participant elsewhere, facilitator, executive, admin.
type Row = (Method, String, Value, [Cell; 6]);

const ROLES: [&str; 6] = [
    "anonymous",
    "participant",
    "other participant",
    "facilitator",
    "executive",
    "admin",
];

#[actix_rt::test]
async fn every_route_admits_exactly_the_roles_the_spec_names() {
    let jam = live_jam(Deployment::sqlite(t0()), "authz-a").await;
    let base = jam.node.base.clone();
    let fac = &jam.fac;
    // Another live jam with its own participant.
    let (other_slug, _, other_codes) = create_jam(fac, "authz-b").await;
    add_session(fac, &other_slug, "Elsewhere", 0, 24).await;
    assert_eq!(
        fac.post(&format!("/api/v1/jams/{other_slug}/schedule"), json!({}))
            .await
            .status,
        200
    );
    let participant = join(&base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let other = join(&base, &other_slug, &other_codes[0].1, "Bob").await;
    let admin = Client::as_admin(&base).await;
    let exec = Client::as_new_staff(&base, "executive").await;
    let anon = Client::new(&base);
    // For the people rows: a staff account and a participant that no column signs in as.
    let spare = admin
        .post(
            "/api/v1/staff",
            json!({ "email": "spare@example.org", "display_name": "Spare", "role": "executive", "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(spare.status, 201, "{}", spare.body);
    let spare = id(&spare.body);
    let sock = join(&base, &jam.slug, &jam.codes[0].1, "Sock").await;
    let sock = id(&sock.get("/api/v1/me").await.body);

    let idea = id(&post_idea(&participant, &jam.open, "Shared bikes", "Everywhere.", json!([])).await);
    let comment = participant
        .post(
            &format!("/api/v1/ideas/{idea}/comments"),
            json!({ "body": "Yes" }),
        )
        .await;
    assert_eq!(comment.status, 201, "{}", comment.body);
    let comment_id = id(&comment.body);
    let second = id(&post_idea(
        &participant,
        &jam.open,
        "Shared bikes again",
        "A duplicate.",
        json!([]),
    )
    .await);
    let (slug, open, later, code) = (&jam.slug, &jam.open, &jam.later, &jam.codes[0].1);
    // A theme of the jam, as the re-clustering job saves one (it needs more ideas than these).
    let theme = uuid::Uuid::now_v7();
    jam_store::themes::save_run(
        &open_db(&jam.d).await,
        &jam_store::themes::Run {
            jam_id: jam.jam_id.parse().unwrap(),
            run_at: t0(),
            read: jam_store::themes::IdeasState::default(),
            themes: vec![jam_store::themes::NewTheme {
                id: theme,
                label: vec!["shared".into(), "bikes".into(), "everywhere".into()],
                ideas: vec![idea.parse().unwrap(), second.parse().unwrap()],
            }],
        },
    )
    .await
    .unwrap();
    // An unused invite of the family audience to revoke (its code is rotated there too, so the
    // employee code the other rows use keeps working).
    let family = format!("/api/v1/jams/{slug}/audiences/family");
    let issued = fac
        .post(&format!("{family}/invites"), json!({ "count": 1 }))
        .await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let listed = fac.get(&format!("{family}/invites")).await;
    let invite = listed.body["items"][0]["id"].as_str().unwrap().to_owned();

    const STAFF_RUNS: [Cell; 6] = [Is(401), Is(403), Is(403), Pass, Is(403), Pass];
    const STAFF_READS: [Cell; 6] = [Is(401), Is(403), Is(403), Pass, Pass, Pass];
    const MEMBERS_READ: [Cell; 6] = [Is(401), Pass, Is(404), Pass, Pass, Pass];
    const PARTICIPANT_WRITES: [Cell; 6] = [Is(401), Pass, Is(404), Is(403), Is(403), Is(403)];
    const ANYONE: [Cell; 6] = [Pass; 6];
    // The inbox is each participant's own (any jam's); staff have none.
    const INBOX_OWNERS: [Cell; 6] = [Is(401), Pass, Pass, Is(403), Is(403), Is(403)];
    const ADMINS: [Cell; 6] = [Is(401), Is(403), Is(403), Is(403), Is(403), Pass];
    // Flags: the author's own item is a 409 (still past authorization), staff are refused.
    const FLAGGERS: [Cell; 6] = [Is(401), Pass, Is(404), Is(403), Is(403), Is(403)];
    let t = |h: i64| t0() + Duration::hours(h);
    let poll = fac
        .post(
            &format!("/api/v1/sessions/{open}/polls"),
            json!({ "question": "Lunch?", "options": ["Yes", "No"], "closes_at": t(1) }),
        )
        .await;
    assert_eq!(poll.status, 201, "{}", poll.body);
    let poll = id(&poll.body);
    // Asking a poll: the session must be readable (404 otherwise), then facilitators and admins only.
    const POLL_ASKERS: [Cell; 6] = [Is(401), Is(403), Is(404), Pass, Is(403), Pass];
    let rows: Vec<Row> = vec![
        (
            Method::GET,
            "/api/v1/me".into(),
            Value::Null,
            [Is(401), Pass, Pass, Pass, Pass, Pass],
        ),
        (
            Method::POST,
            "/api/v1/staff".into(),
            json!({ "email": "new@example.org", "display_name": "N", "role": "executive", "password": ADMIN_PASSWORD }),
            [Is(401), Is(403), Is(403), Is(403), Is(403), Pass],
        ),
        (
            Method::POST,
            "/api/v1/jams".into(),
            jam_body("authz-new", t(1), t(30)),
            STAFF_RUNS,
        ),
        (Method::GET, "/api/v1/jams".into(), Value::Null, STAFF_READS),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}"),
            Value::Null,
            MEMBERS_READ,
        ),
        (
            Method::PATCH,
            format!("/api/v1/jams/{slug}"),
            json!({ "title": "Renamed" }),
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("/api/v1/jams/{slug}/schedule"),
            json!({}),
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("/api/v1/jams/{slug}/sessions"),
            json!({ "title": "More", "opens_at": t(30), "closes_at": t(40) }),
            STAFF_RUNS,
        ),
        (
            Method::PATCH,
            format!("/api/v1/jams/{slug}/sessions/{later}"),
            json!({ "title": "Energy!" }),
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("/api/v1/jams/{slug}/sessions/{later}/open"),
            json!({}),
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("/api/v1/jams/{slug}/sessions/{later}/close"),
            json!({}),
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("/api/v1/jams/{slug}/announcements"),
            json!({ "text": "Hello" }),
            STAFF_RUNS,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/announcements"),
            Value::Null,
            MEMBERS_READ,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/audit"),
            Value::Null,
            STAFF_RUNS,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/stats"),
            Value::Null,
            STAFF_READS,
        ),
        (
            Method::PATCH,
            family.clone(),
            json!({ "admission": "code" }),
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("{family}/rotate-code"),
            json!({}),
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("{family}/invites"),
            json!({ "count": 1 }),
            STAFF_RUNS,
        ),
        (Method::GET, format!("{family}/invites"), Value::Null, STAFF_RUNS),
        (
            Method::POST,
            format!("{family}/invites/{invite}/revoke"),
            json!({}),
            STAFF_RUNS,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/welcome?code={code}"),
            Value::Null,
            ANYONE,
        ),
        (
            Method::POST,
            format!("/api/v1/jams/{slug}/join"),
            json!({ "invite_code": code, "display_name": "Joiner", "accept_guidelines": true }),
            ANYONE,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/search?q=bikes"),
            Value::Null,
            MEMBERS_READ,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/themes"),
            Value::Null,
            MEMBERS_READ,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/themes/{theme}/ideas"),
            Value::Null,
            MEMBERS_READ,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/duplicates"),
            Value::Null,
            STAFF_RUNS,
        ),
        (
            Method::GET,
            format!("/api/v1/sessions/{open}/tags"),
            Value::Null,
            MEMBERS_READ,
        ),
        (
            Method::GET,
            format!("/api/v1/sessions/{open}/similar?title=bikes"),
            Value::Null,
            MEMBERS_READ,
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{open}/ideas"),
            json!({ "title": "Another", "body": "Idea" }),
            PARTICIPANT_WRITES,
        ),
        (
            Method::GET,
            format!("/api/v1/sessions/{open}/ideas"),
            Value::Null,
            MEMBERS_READ,
        ),
        (
            Method::GET,
            format!("/api/v1/ideas/{idea}"),
            Value::Null,
            MEMBERS_READ,
        ),
        (
            Method::PATCH,
            format!("/api/v1/ideas/{idea}"),
            json!({ "body": "Everywhere, now." }),
            PARTICIPANT_WRITES,
        ),
        (
            Method::POST,
            format!("/api/v1/ideas/{idea}/comments"),
            json!({ "body": "Agreed" }),
            PARTICIPANT_WRITES,
        ),
        (
            Method::GET,
            format!("/api/v1/ideas/{idea}/comments"),
            Value::Null,
            MEMBERS_READ,
        ),
        (
            Method::PUT,
            format!("/api/v1/ideas/{idea}/vote"),
            json!({ "value": 1 }),
            PARTICIPANT_WRITES,
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{open}/polls"),
            json!({ "question": "Coffee?", "options": ["Yes", "No"], "closes_at": t(2) }),
            POLL_ASKERS,
        ),
        (
            Method::GET,
            format!("/api/v1/sessions/{open}/polls"),
            Value::Null,
            MEMBERS_READ,
        ),
        (
            Method::POST,
            format!("/api/v1/polls/{poll}/answer"),
            json!({ "option": 0 }),
            PARTICIPANT_WRITES,
        ),
        (
            Method::PUT,
            format!("/api/v1/ideas/{idea}/follow"),
            Value::Null,
            PARTICIPANT_WRITES,
        ),
        (
            Method::DELETE,
            format!("/api/v1/ideas/{idea}/follow"),
            Value::Null,
            PARTICIPANT_WRITES,
        ),
        (
            Method::GET,
            "/api/v1/me/notifications".into(),
            Value::Null,
            INBOX_OWNERS,
        ),
        (
            Method::POST,
            "/api/v1/me/notifications/read".into(),
            json!({}),
            INBOX_OWNERS,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/mentions?q=Ad"),
            Value::Null,
            MEMBERS_READ,
        ),
        (
            Method::POST,
            format!("/api/v1/jams/{slug}/impressions"),
            json!({ "idea_ids": [idea] }),
            PARTICIPANT_WRITES,
        ),
        (
            Method::POST,
            format!("/api/v1/ideas/{idea}/flags"),
            json!({ "reason": "Off topic" }),
            FLAGGERS,
        ),
        (
            Method::POST,
            format!("/api/v1/comments/{comment_id}/flags"),
            json!({ "reason": "Rude" }),
            FLAGGERS,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/moderation"),
            Value::Null,
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("/api/v1/ideas/{idea}/hide"),
            json!({}),
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("/api/v1/ideas/{idea}/restore"),
            json!({}),
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("/api/v1/comments/{comment_id}/hide"),
            json!({}),
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("/api/v1/comments/{comment_id}/restore"),
            json!({}),
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("/api/v1/comments/{comment_id}/remove"),
            json!({}),
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("/api/v1/ideas/{second}/merge"),
            json!({ "into": idea }),
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("/api/v1/ideas/{idea}/remove"),
            json!({}),
            STAFF_RUNS,
        ),
        // Results: the shortlist is the staff's until published (the jam here is live, so a draft).
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/shortlist"),
            Value::Null,
            [Is(401), Is(403), Is(404), Pass, Pass, Pass],
        ),
        (
            Method::POST,
            format!("/api/v1/jams/{slug}/shortlist/curate"),
            json!({ "pin": [second] }),
            STAFF_RUNS,
        ),
        (
            Method::POST,
            format!("/api/v1/jams/{slug}/shortlist/publish"),
            json!({}),
            STAFF_RUNS,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/results.csv"),
            Value::Null,
            STAFF_READS,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/results.xlsx"),
            Value::Null,
            STAFF_READS,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/results.json"),
            Value::Null,
            STAFF_READS,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/mood?bucket_minutes=60"),
            Value::Null,
            STAFF_READS,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/mood?session={}", jam.open),
            Value::Null,
            STAFF_READS,
        ),
        // People: staff accounts are the admins'; a password is the account's own or an admin's.
        (Method::GET, "/api/v1/staff".into(), Value::Null, ADMINS),
        (
            Method::PATCH,
            format!("/api/v1/staff/{spare}"),
            json!({ "disabled": false }),
            ADMINS,
        ),
        (
            Method::POST,
            format!("/api/v1/staff/{spare}/password"),
            json!({ "new_password": "a long enough password" }),
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/jams/{slug}/participants?q=a"),
            Value::Null,
            STAFF_READS,
        ),
        (
            Method::POST,
            format!("/api/v1/jams/{slug}/participants/{sock}/void"),
            json!({ "reason": "Sock puppet" }),
            STAFF_RUNS,
        ),
        (Method::GET, "/api/v1/openapi.json".into(), Value::Null, ANYONE),
        // Organisation sign-in: anyone may ask what is offered; start and callback are for anyone
        // too, and answer 404 for everyone in this deployment, which does not enable `oidc`
        // (tests/black_box/oidc.rs covers them with a provider).
        (Method::GET, "/api/v1/auth/oidc".into(), Value::Null, ANYONE),
        (
            Method::GET,
            format!("/api/v1/auth/oidc/start?jam={slug}"),
            Value::Null,
            [Is(404); 6],
        ),
        (
            Method::GET,
            "/api/v1/auth/oidc/callback?state=s&code=c".into(),
            Value::Null,
            [Is(404); 6],
        ),
        // Destructive rows last: closing the jam ends every write above.
        (
            Method::POST,
            format!("/api/v1/jams/{slug}/close"),
            json!({}),
            STAFF_RUNS,
        ),
    ];

    let callers = [&anon, &participant, &other, fac, &exec, &admin];
    let mut failures = Vec::new();
    for (method, path, body, cells) in &rows {
        for (who, (caller, expected)) in callers.iter().zip(cells).enumerate() {
            let r = if *method == Method::GET {
                caller.get(path).await
            } else {
                caller.send_json(method.clone(), path, body.clone()).await
            };
            let status = r.status.as_u16();
            let ok = match expected {
                Is(code) => status == *code && r.content_type == "application/problem+json",
                Pass => status < 500 && ![401, 403, 404].contains(&status),
            };
            if !ok {
                failures.push(format!(
                    "{method} {path} as {}: got {status}, expected {expected:?}: {}",
                    ROLES[who], r.body
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(jam.node.metric("jam_http_responses_5xx_total").await, 0);
}
