//! Participation, seen from outside: joining with invite codes, ideas and their feeds, comments,
//! votes under concurrency, who may do what, text round trips, cursor stability and search.
//! Time is the deployment's file clock, frozen at `t0()` unless a test moves it.

use std::collections::{BTreeSet, HashMap};

use chrono::Duration;
use futures_util::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::*;
use crate::support::*;

#[actix_rt::test]
async fn participants_join_with_their_audiences_code_and_see_themselves_as_participants() {
    let jam = live_jam(Deployment::sqlite(t0()), "join-jam").await;
    let base = jam.node.base.clone();
    for (audience, code) in &jam.codes {
        let welcome = Client::new(&base)
            .get(&format!("/api/v1/jams/join-jam/welcome?code={code}"))
            .await;
        assert_eq!(welcome.status, 200, "{}", welcome.body);
        assert_eq!(welcome.body["audience"], audience.as_str());
        assert_eq!(welcome.body["guidelines"], "Be kind. Build on others' ideas.");
        assert_eq!(welcome.body["state"], "live");
        assert_eq!(welcome.body["sessions"].as_array().unwrap().len(), 2);
        assert_eq!(welcome.body["sessions"][0]["title"], "Cities");
        assert!(welcome.body["audiences"].is_null(), "no codes leak to visitors");

        let c = join(&base, "join-jam", code, &format!("  {audience} person  ")).await;
        let me = c.get("/api/v1/me").await;
        assert_eq!(me.status, 200);
        assert_eq!(me.body["kind"], "participant");
        assert_eq!(me.body["audience"], audience.as_str());
        assert_eq!(me.body["jam_id"], jam.jam_id.as_str());
        assert_eq!(me.body["display_name"], format!("{audience} person"), "trimmed");
        assert_eq!(c.get("/api/v1/jams/join-jam").await.status, 200);
    }

    let anon = Client::new(&base);
    anon.get("/api/v1/jams/join-jam/welcome?code=not-a-real-code")
        .await
        .assert_problem(403);
    anon.get("/api/v1/jams/join-jam/welcome")
        .await
        .assert_problem(403);
    anon.post(
        "/api/v1/jams/join-jam/join",
        json!({ "invite_code": "not-a-real-code", "display_name": "Eve", "accept_guidelines": true }),
    )
    .await
    .assert_problem(403);
    let r = anon
        .post(
            "/api/v1/jams/join-jam/join",
            json!({ "invite_code": jam.codes[0].1, "display_name": "  ", "accept_guidelines": false }),
        )
        .await;
    r.assert_problem(422);
    let fields: BTreeSet<_> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from(["accept_guidelines".to_owned(), "display_name".to_owned()])
    );

    // A code of another jam does not open this one.
    let (_, _, other_codes) = create_jam(&jam.fac, "other-jam").await;
    anon.get(&format!(
        "/api/v1/jams/join-jam/welcome?code={}",
        other_codes[0].1
    ))
    .await
    .assert_problem(403);

    let audit = jam.fac.get("/api/v1/jams/join-jam/audit?limit=200").await;
    let joined = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "participant.joined" && e["actor_kind"] == "participant")
        .count();
    assert_eq!(joined, 3);
}

#[actix_rt::test]
async fn joining_works_before_the_jam_is_live_but_not_after_it_closed() {
    let d = Deployment::sqlite(t0() - Duration::days(1));
    d.create_admin();
    let node = d.start().await;
    let fac = Client::as_new_staff(&node.base, "facilitator").await;
    let (slug, _, codes) = create_jam(&fac, "early-jam").await;
    let session = add_session(&fac, &slug, "Cities", 0, 24).await;
    assert_eq!(
        fac.post(&format!("/api/v1/jams/{slug}/schedule"), json!({}))
            .await
            .body["state"],
        "scheduled"
    );
    let c = join(&node.base, &slug, &codes[1].1, "Early Bird").await;
    let welcome = c
        .get(&format!("/api/v1/jams/{slug}/welcome?code={}", codes[1].1))
        .await;
    assert_eq!(welcome.body["state"], "scheduled");
    assert_eq!(welcome.body["sessions"][0]["state"], "scheduled");
    // Reading is fine, writing waits for the session to open.
    c.post(
        &format!("/api/v1/sessions/{session}/ideas"),
        json!({ "title": "Too early", "body": "x" }),
    )
    .await
    .assert_problem(409);

    fac.post(&format!("/api/v1/jams/{slug}/close"), json!({})).await;
    Client::new(&node.base)
        .post(
            &format!("/api/v1/jams/{slug}/join"),
            json!({ "invite_code": codes[1].1, "display_name": "Late", "accept_guidelines": true }),
        )
        .await
        .assert_problem(409);
}

#[actix_rt::test]
async fn an_idea_posted_in_an_open_session_is_listed_under_new_top_and_hot() {
    let jam = live_jam(Deployment::sqlite(t0()), "ideas-jam").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[1].1, "Ada").await;
    let idea = post_idea(
        &ada,
        &jam.open,
        "Bike lanes everywhere",
        "Protected lanes on every main road.",
        json!(["Mobility", "mobility", "cities"]),
    )
    .await;
    assert_eq!(idea["title"], "Bike lanes everywhere");
    assert_eq!(idea["session_id"], jam.open.as_str());
    assert_eq!(idea["author"]["display_name"], "Ada");
    assert_eq!(idea["author"]["audience"], "client");
    assert_eq!(
        idea["tags"],
        json!(["Mobility", "cities"]),
        "case-insensitive repeats dropped"
    );
    assert_eq!(idea["status"], "visible");
    assert_eq!(
        (
            idea["up"].as_u64(),
            idea["down"].as_u64(),
            idea["comments"].as_u64()
        ),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(idea["score"], 0.0);
    assert_eq!(idea["my_vote"], 0);
    let idea_id = id(&idea);

    for sort in ["new", "top", "hot"] {
        let page = ada
            .get(&format!("/api/v1/sessions/{}/ideas?sort={sort}", jam.open))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(ids(&page.body), vec![idea_id.clone()], "{sort}");
        assert!(page.body["next_cursor"].is_null());
    }
    let got = jam.fac.get(&format!("/api/v1/ideas/{idea_id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["body"], "Protected lanes on every main road.");
    // The other session is empty, and a bad sort or limit is a 422.
    assert_eq!(
        ids(&ada
            .get(&format!("/api/v1/sessions/{}/ideas", jam.later))
            .await
            .body),
        Vec::<String>::new()
    );
    for q in [
        "sort=best",
        "limit=0",
        "limit=100000",
        "limit=-5",
        "cursor=garbage",
    ] {
        ada.get(&format!("/api/v1/sessions/{}/ideas?{q}", jam.open))
            .await
            .assert_problem(422);
    }
    // Field checks report every bad field at once.
    let r = ada
        .post(
            &format!("/api/v1/sessions/{}/ideas", jam.open),
            json!({ "title": "two\nlines", "body": "", "tags": ["a", "b", "c", "d", "e", "f"] }),
        )
        .await;
    r.assert_problem(422);
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 3, "{}", r.body);
    let r = ada
        .post(
            &format!("/api/v1/sessions/{}/ideas", jam.open),
            json!({ "title": "x".repeat(201), "body": "ok", "tags": ["x".repeat(33)] }),
        )
        .await;
    r.assert_problem(422);
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 2, "{}", r.body);
}

#[actix_rt::test]
async fn the_author_edits_an_idea_within_the_window_and_nobody_else_may() {
    let jam = live_jam(Deployment::sqlite(t0()), "edit-jam").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let bob = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Bob").await;
    let idea = id(&post_idea(&ada, &jam.open, "Tram", "A tram line.", json!([])).await);
    jam.d.set_clock(t0() + Duration::minutes(14));
    let r = ada
        .patch(
            &format!("/api/v1/ideas/{idea}"),
            json!({ "title": "Night tram", "tags": ["transit"] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["title"], "Night tram");
    assert_eq!(r.body["body"], "A tram line.", "untouched fields stay");
    assert_eq!(r.body["tags"], json!(["transit"]));
    assert!(r.body["edited_at"].is_string());
    let found = ada
        .get(&format!("/api/v1/jams/{}/search?q=night%20transit", jam.slug))
        .await;
    assert_eq!(ids(&found.body), vec![idea.clone()], "search sees the edit");

    bob.patch(&format!("/api/v1/ideas/{idea}"), json!({ "title": "Mine now" }))
        .await
        .assert_problem(403);
    jam.fac
        .patch(&format!("/api/v1/ideas/{idea}"), json!({ "title": "Staff" }))
        .await
        .assert_problem(403);
    jam.d.set_clock(t0() + Duration::minutes(16));
    ada.patch(&format!("/api/v1/ideas/{idea}"), json!({ "title": "Too late" }))
        .await
        .assert_problem(409);
    assert_eq!(
        ada.get(&format!("/api/v1/ideas/{idea}")).await.body["title"],
        "Night tram"
    );
}

#[actix_rt::test]
async fn writes_after_closes_at_get_409_even_with_the_orchestrator_stopped() {
    let mut d = Deployment::sqlite(t0());
    d.extra_env
        .push(("JAM__ORCHESTRATOR__ENABLED".into(), "false".into()));
    let jam = live_jam(d, "closing-jam").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let r = ada
        .post(
            &format!("/api/v1/sessions/{}/ideas", jam.later),
            json!({ "title": "Early", "body": "not yet" }),
        )
        .await;
    r.assert_problem(409);
    assert_eq!(r.body["detail"], "session is not open");
    let idea = id(&post_idea(&ada, &jam.open, "In time", "yes", json!([])).await);
    assert_eq!(vote(&ada, &idea, 1).await.status, 200);

    // One second past closes_at, with no runner to announce it.
    jam.d.set_clock(t0() + Duration::hours(24) + Duration::seconds(1));
    ada.post(
        &format!("/api/v1/sessions/{}/ideas", jam.open),
        json!({ "title": "Late", "body": "no" }),
    )
    .await
    .assert_problem(409);
    vote(&ada, &idea, -1).await.assert_problem(409);
    vote(&ada, &idea, 0).await.assert_problem(409);
    ada.post(
        &format!("/api/v1/ideas/{idea}/comments"),
        json!({ "body": "late" }),
    )
    .await
    .assert_problem(409);
    let got = ada.get(&format!("/api/v1/ideas/{idea}")).await;
    assert_eq!(
        (got.body["up"].as_u64(), got.body["my_vote"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(got.body["comments"], 0);
}

#[actix_rt::test]
async fn a_vote_a_change_a_retraction_and_a_repeat_each_leave_the_right_counts() {
    let jam = live_jam(Deployment::sqlite(t0()), "vote-jam").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let bob = join(&jam.node.base, &jam.slug, &jam.codes[1].1, "Bob").await;
    let idea = id(&post_idea(&ada, &jam.open, "Solar", "roofs", json!([])).await);

    let steps: [(&Client, i64, (u64, u64), i64); 8] = [
        (&ada, 1, (1, 0), 1),
        (&ada, 1, (1, 0), 1),   // repeated: idempotent
        (&ada, -1, (0, 1), -1), // changed
        (&bob, 1, (1, 1), 1),
        (&ada, 0, (1, 0), 0), // retracted
        (&ada, 0, (1, 0), 0), // retracted again
        (&bob, -1, (0, 1), -1),
        (&ada, 1, (1, 1), 1), // back after a retraction
    ];
    for (i, (who, value, (up, down), mine)) in steps.into_iter().enumerate() {
        let r = vote(who, &idea, value).await;
        assert_eq!(r.status, 200, "step {i}: {}", r.body);
        assert_eq!(r.body["idea_id"], idea.as_str());
        assert_eq!(
            (
                r.body["up"].as_u64(),
                r.body["down"].as_u64(),
                r.body["my_vote"].as_i64()
            ),
            (Some(up), Some(down), Some(mine)),
            "step {i}"
        );
        assert!(r.body["score"].as_f64().unwrap() >= 0.0);
    }
    let seen = |v: Value| (v["up"].as_u64(), v["down"].as_u64(), v["my_vote"].as_i64());
    assert_eq!(
        seen(ada.get(&format!("/api/v1/ideas/{idea}")).await.body),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(
        seen(bob.get(&format!("/api/v1/ideas/{idea}")).await.body),
        (Some(1), Some(1), Some(-1))
    );
    let listed = bob
        .get(&format!("/api/v1/sessions/{}/ideas?sort=top", jam.open))
        .await;
    assert_eq!(listed.body["items"][0]["my_vote"], -1);
    for bad in [
        json!({ "value": 2 }),
        json!({ "value": -2 }),
        json!({ "value": "1" }),
        json!({}),
    ] {
        ada.send_json(awc::http::Method::PUT, &format!("/api/v1/ideas/{idea}/vote"), bad)
            .await
            .assert_problem(422);
    }
    vote(&jam.fac, &idea, 1).await.assert_problem(403);
    vote(&Client::new(&jam.node.base), &idea, 1)
        .await
        .assert_problem(401);
    vote(&ada, &Uuid::now_v7().to_string(), 1)
        .await
        .assert_problem(404);
}

/// 50 participants vote on one idea at once, then change, retract or repeat at once; the counts
/// must equal the test's own model and a recount of the vote rows.
async fn fifty_concurrent_voters_are_each_counted_once(d: Deployment) {
    let jam = live_jam(d, "crowd-jam").await;
    let base = jam.node.base.clone();
    let author = join(&base, &jam.slug, &jam.codes[0].1, "Author").await;
    let idea = id(&post_idea(&author, &jam.open, "Popular", "idea", json!([])).await);
    let mut voters = Vec::new();
    for i in 0..50 {
        let (_, code) = &jam.codes[i % jam.codes.len()];
        voters.push(join(&base, &jam.slug, code, &format!("Voter {i}")).await);
    }
    fn first(i: usize) -> i64 {
        if i.is_multiple_of(3) { -1 } else { 1 }
    }
    fn second(i: usize) -> i64 {
        match i % 5 {
            0 => 0,         // retract
            1 => -first(i), // change
            _ => first(i),  // repeat
        }
    }
    let mut model: HashMap<usize, i64> = HashMap::new();
    for round in [first as fn(usize) -> i64, second] {
        let replies = join_all(voters.iter().enumerate().map(|(i, c)| vote(c, &idea, round(i)))).await;
        for (i, r) in replies.iter().enumerate() {
            assert_eq!(r.status, 200, "voter {i}: {}", r.body);
            assert_eq!(r.body["my_vote"], round(i));
            model.insert(i, round(i));
        }
    }
    let up = model.values().filter(|v| **v == 1).count() as u64;
    let down = model.values().filter(|v| **v == -1).count() as u64;
    assert!(up > 0 && down > 0);
    let got = author.get(&format!("/api/v1/ideas/{idea}")).await;
    assert_eq!(
        (got.body["up"].as_u64(), got.body["down"].as_u64()),
        (Some(up), Some(down)),
        "the API's counts equal the model"
    );
    let db = open_db(&jam.d).await;
    let idea_id: Uuid = idea.parse().unwrap();
    assert_eq!(
        jam_store::votes::recount(&db, idea_id).await.unwrap(),
        (up, down),
        "a recount of the rows equals the model"
    );
    let row = jam_store::ideas::by_id(&db, idea_id).await.unwrap().unwrap();
    assert_eq!(
        (row.up as u64, row.down as u64, row.voters as u64),
        (up, down, up + down)
    );
}

/// 51 people join from one address (the test's); the per-IP join limit is for crowds of
/// strangers, not for this.
fn many_joins(mut d: Deployment) -> Deployment {
    d.extra_env
        .push(("JAM__RATE_LIMITS__JOIN__COUNT".into(), "1000".into()));
    d
}

#[actix_rt::test]
async fn fifty_participants_voting_at_once_on_sqlite_are_each_counted_once() {
    fifty_concurrent_voters_are_each_counted_once(many_joins(Deployment::sqlite(t0()))).await;
}

#[actix_rt::test]
async fn fifty_participants_voting_at_once_on_postgresql_are_each_counted_once() {
    let Some(d) = Deployment::postgres(t0()).await else {
        return;
    };
    fifty_concurrent_voters_are_each_counted_once(many_joins(d)).await;
}

#[actix_rt::test]
async fn comments_thread_within_one_idea_and_a_parent_from_another_idea_is_refused() {
    let jam = live_jam(Deployment::sqlite(t0()), "thread-jam").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let bob = join(&jam.node.base, &jam.slug, &jam.codes[2].1, "Bob").await;
    let first = id(&post_idea(&ada, &jam.open, "One", "first", json!([])).await);
    let second = id(&post_idea(&ada, &jam.open, "Two", "second", json!([])).await);

    let c1 = bob
        .post(
            &format!("/api/v1/ideas/{first}/comments"),
            json!({ "body": "Love it" }),
        )
        .await;
    assert_eq!(c1.status, 201, "{}", c1.body);
    assert!(c1.body["parent_id"].is_null());
    assert_eq!(c1.body["author"]["audience"], "family");
    let c1 = id(&c1.body);
    let reply = ada
        .post(
            &format!("/api/v1/ideas/{first}/comments"),
            json!({ "body": "Thanks!", "parent_id": c1 }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["parent_id"], c1.as_str());

    for parent in [c1.clone(), Uuid::now_v7().to_string()] {
        let r = ada
            .post(
                &format!("/api/v1/ideas/{second}/comments"),
                json!({ "body": "Wrong thread", "parent_id": parent }),
            )
            .await;
        r.assert_problem(422);
        assert_eq!(r.body["errors"][0]["field"], "parent_id");
    }
    ada.post(
        &format!("/api/v1/ideas/{first}/comments"),
        json!({ "body": " \n " }),
    )
    .await
    .assert_problem(422);
    jam.fac
        .post(
            &format!("/api/v1/ideas/{first}/comments"),
            json!({ "body": "staff" }),
        )
        .await
        .assert_problem(403);

    for i in 0..3 {
        bob.post(
            &format!("/api/v1/ideas/{first}/comments"),
            json!({ "body": format!("more {i}") }),
        )
        .await;
    }
    let page1 = jam
        .fac
        .get(&format!("/api/v1/ideas/{first}/comments?limit=3"))
        .await;
    assert_eq!(page1.status, 200, "{}", page1.body);
    let bodies = |p: &Value| -> Vec<String> {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["body"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        bodies(&page1.body),
        vec!["Love it", "Thanks!", "more 0"],
        "oldest first"
    );
    let cursor = page1.body["next_cursor"].as_str().unwrap();
    let page2 = bob
        .get(&format!("/api/v1/ideas/{first}/comments?limit=3&cursor={cursor}"))
        .await;
    assert_eq!(bodies(&page2.body), vec!["more 1", "more 2"]);
    assert!(page2.body["next_cursor"].is_null());
    assert_eq!(
        ada.get(&format!("/api/v1/ideas/{first}")).await.body["comments"],
        5
    );
    assert_eq!(
        ada.get(&format!("/api/v1/ideas/{second}")).await.body["comments"],
        0
    );
}

#[actix_rt::test]
async fn participants_of_another_jam_get_404_and_staff_read_but_do_not_post() {
    let jam = live_jam(Deployment::sqlite(t0()), "home-jam").await;
    let base = jam.node.base.clone();
    let ada = join(&base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let idea = id(&post_idea(&ada, &jam.open, "Mine", "here", json!([])).await);

    let (_, _, codes) = create_jam(&jam.fac, "away-jam").await;
    jam.fac
        .post(
            "/api/v1/jams/away-jam/sessions",
            json!({ "title": "S", "opens_at": t0(), "closes_at": t0() + Duration::hours(24) }),
        )
        .await;
    jam.fac.post("/api/v1/jams/away-jam/schedule", json!({})).await;
    let stranger = join(&base, "away-jam", &codes[0].1, "Stranger").await;
    stranger
        .get(&format!("/api/v1/ideas/{idea}"))
        .await
        .assert_problem(404);
    stranger
        .get(&format!("/api/v1/sessions/{}/ideas", jam.open))
        .await
        .assert_problem(404);
    vote(&stranger, &idea, 1).await.assert_problem(404);
    stranger
        .post(&format!("/api/v1/ideas/{idea}/comments"), json!({ "body": "hi" }))
        .await
        .assert_problem(404);
    stranger
        .get(&format!("/api/v1/ideas/{idea}/comments"))
        .await
        .assert_problem(404);
    stranger
        .post(
            &format!("/api/v1/sessions/{}/ideas", jam.open),
            json!({ "title": "x", "body": "y" }),
        )
        .await
        .assert_problem(404);
    stranger
        .get("/api/v1/jams/home-jam/search?q=mine")
        .await
        .assert_problem(404);

    let exec = Client::as_new_staff(&base, "executive").await;
    assert_eq!(exec.get(&format!("/api/v1/ideas/{idea}")).await.status, 200);
    assert_eq!(
        ids(&exec
            .get(&format!("/api/v1/sessions/{}/ideas", jam.open))
            .await
            .body),
        vec![idea.clone()]
    );
    assert_eq!(
        exec.get(&format!("/api/v1/ideas/{idea}")).await.body["my_vote"],
        0
    );
    for staff in [&exec, &jam.fac] {
        staff
            .post(
                &format!("/api/v1/sessions/{}/ideas", jam.open),
                json!({ "title": "x", "body": "y" }),
            )
            .await
            .assert_problem(403);
        vote(staff, &idea, 1).await.assert_problem(403);
    }
    let anon = Client::new(&base);
    anon.get(&format!("/api/v1/ideas/{idea}"))
        .await
        .assert_problem(401);
    anon.post(
        &format!("/api/v1/sessions/{}/ideas", jam.open),
        json!({ "title": "x", "body": "y" }),
    )
    .await
    .assert_problem(401);
}

#[actix_rt::test]
async fn script_sql_and_emoji_text_round_trips_byte_for_byte() {
    let jam = live_jam(Deployment::sqlite(t0()), "text-jam").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Zoë 🎨 <b>O'Hara</b>").await;
    let title = "<script>alert('x')</script> Robert'); DROP TABLE ideas;-- 🎉";
    let body = "Line 1\r\nLine 2\twith tab\n\n  <img src=x onerror=alert(1)>  \n\"quoted\" \\ back\\slash 100% _under_ 👩‍👩‍👧";
    let tags = json!(["🚀", "O'Reilly", "50%_off", "<i>"]);
    let idea = post_idea(&ada, &jam.open, title, body, tags.clone()).await;
    assert_eq!(idea["author"]["display_name"], "Zoë 🎨 <b>O'Hara</b>");
    let id = id(&idea);
    for got in [
        idea.clone(),
        ada.get(&format!("/api/v1/ideas/{id}")).await.body,
        ada.get(&format!("/api/v1/sessions/{}/ideas?sort=new", jam.open))
            .await
            .body["items"][0]
            .clone(),
    ] {
        assert_eq!(got["title"], title);
        assert_eq!(got["body"], body);
        assert_eq!(got["tags"], tags);
    }
    let comment = "'; DELETE FROM votes; -- <script>🙂</script>\r\n";
    let r = ada
        .post(
            &format!("/api/v1/ideas/{id}/comments"),
            json!({ "body": comment }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let thread = ada.get(&format!("/api/v1/ideas/{id}/comments")).await;
    assert_eq!(thread.body["items"][0]["body"], comment);
    // NUL and other control characters are refused, not stripped.
    ada.post(
        &format!("/api/v1/sessions/{}/ideas", jam.open),
        json!({ "title": "nul\u{0}byte", "body": "x" }),
    )
    .await
    .assert_problem(422);
}

/// Walks every page of a feed, running `between` after the first; asserts no id shows twice.
/// Returns the ids in order and the number of pages.
async fn walk(
    c: &Client,
    session: &str,
    sort: &str,
    limit: usize,
    between: impl AsyncFnOnce(),
) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    let mut between = Some(between);
    loop {
        let mut path = format!("/api/v1/sessions/{session}/ideas?sort={sort}&limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = c.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(ids(&page.body));
        pages += 1;
        if let Some(f) = between.take() {
            f().await;
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 100);
    }
    let unique: BTreeSet<_> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "no idea shows twice in {sort}: {seen:?}"
    );
    (seen, pages)
}

#[actix_rt::test]
async fn pages_of_25_ideas_by_10_stay_stable_while_new_ideas_arrive() {
    let jam = live_jam(Deployment::sqlite(t0()), "pages-jam").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let bob = join(&jam.node.base, &jam.slug, &jam.codes[1].1, "Bob").await;
    // Five authors, so a per-participant posting limit never shapes this test.
    let mut authors = Vec::new();
    for a in 0..5 {
        authors.push(join(&jam.node.base, &jam.slug, &jam.codes[2].1, &format!("Author {a}")).await);
    }
    let mut posted = Vec::new();
    for i in 0..25 {
        let by = &authors[i % authors.len()];
        posted.push(id(&post_idea(
            by,
            &jam.open,
            &format!("Idea {i}"),
            "body",
            json!([]),
        )
        .await));
    }
    // Some votes, so top and hot are not just posting order.
    for (i, idea) in posted.iter().enumerate().step_by(4) {
        vote(&ada, idea, if i % 8 == 0 { 1 } else { -1 }).await;
        vote(&bob, idea, 1).await;
    }
    let originals: BTreeSet<String> = posted.iter().cloned().collect();

    let (newest_first, pages) = walk(&ada, &jam.open, "new", 10, async || {
        post_idea(&bob, &jam.open, "Arrived mid-way (new)", "b", json!([])).await;
    })
    .await;
    assert_eq!(pages, 3);
    assert_eq!(
        newest_first.iter().cloned().collect::<BTreeSet<_>>(),
        originals,
        "none missing, none extra"
    );
    let mut reversed = posted.clone();
    reversed.reverse();
    assert_eq!(newest_first, reversed, "newest first");

    for sort in ["top", "hot"] {
        let before: BTreeSet<String> = walk(&ada, &jam.open, sort, 200, async || {})
            .await
            .0
            .into_iter()
            .collect();
        let (got, _) = walk(&ada, &jam.open, sort, 10, async || {
            post_idea(
                &bob,
                &jam.open,
                &format!("Arrived mid-way ({sort})"),
                "b",
                json!([]),
            )
            .await;
        })
        .await;
        assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), before, "{sort}");
    }
    let top = ada
        .get(&format!("/api/v1/sessions/{}/ideas?sort=top&limit=1", jam.open))
        .await;
    assert_eq!(
        ids(&top.body),
        vec![posted[24].clone()],
        "2 up, newest of the ties"
    );
    let cursor = top.body["next_cursor"].as_str().unwrap().to_owned();
    ada.get(&format!(
        "/api/v1/sessions/{}/ideas?sort=new&cursor={cursor}",
        jam.open
    ))
    .await
    .assert_problem(422);
}

async fn search_treats_words_and_punctuation_alike(d: Deployment) {
    let jam = live_jam(d, "search-jam").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let solar = id(&post_idea(
        &ada,
        &jam.open,
        "Solar roofs",
        "Cheap PANELS for everyone",
        json!(["Energy"]),
    )
    .await);
    let bottles = id(&post_idea(
        &ada,
        &jam.open,
        "100% recycled",
        "bottles_and cans, C:\\bins",
        json!(["Waste"]),
    )
    .await);
    let cars = id(&post_idea(&ada, &jam.open, "Solar cars", "drive on sunlight", json!([])).await);
    let search = async |q: &str| -> BTreeSet<String> {
        let q = q.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
        let r = ada.get(&format!("/api/v1/jams/{}/search?q={q}", jam.slug)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        ids(&r.body).into_iter().collect()
    };
    let set = |v: &[&String]| v.iter().map(|s| (*s).clone()).collect::<BTreeSet<_>>();
    assert_eq!(search("solar").await, set(&[&solar, &cars]));
    assert_eq!(
        search("SOLAR panels").await,
        set(&[&solar]),
        "every word, any case"
    );
    assert_eq!(search("energy").await, set(&[&solar]), "tags");
    assert_eq!(search("waste bottles").await, set(&[&bottles]), "tags and body");
    assert_eq!(search("sunlight").await, set(&[&cars]), "body");
    // Punctuation separates words and is never a wildcard.
    assert_eq!(search("100%").await, set(&[&bottles]));
    assert_eq!(search("\\bins").await, set(&[&bottles]));
    assert_eq!(search("s_lar").await, set(&[]));
    assert_eq!(search("%solar").await, set(&[&solar, &cars]));
    assert_eq!(search("nothing-like-this").await, set(&[]));
    for q in ["", "%25", "_", "%5C"] {
        ada.get(&format!("/api/v1/jams/{}/search?q={q}", jam.slug))
            .await
            .assert_problem(422);
    }
    let staff = jam
        .fac
        .get(&format!("/api/v1/jams/{}/search?q=solar", jam.slug))
        .await;
    assert_eq!(ids(&staff.body).len(), 2);
}

#[actix_rt::test]
async fn search_finds_words_in_title_body_and_tags_and_punctuation_only_separates_them() {
    search_treats_words_and_punctuation_alike(Deployment::sqlite(t0())).await;
}

#[actix_rt::test]
async fn search_answers_the_same_on_postgresql() {
    let Some(d) = Deployment::postgres(t0()).await else {
        return;
    };
    search_treats_words_and_punctuation_alike(d).await;
}
