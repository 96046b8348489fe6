//! Quick polls (issue 18): a facilitator asks a session; each participant answers once while the
//! poll is open by the file clock; the results reach the session's subscribers live; bad input is
//! refused clearly and loses nothing already answered.

use chrono::Duration;
use serde_json::{Value, json};

use crate::fixtures::*;
use crate::support::*;
use crate::ws::{LiveClient, event_kind};

fn poll_body(closes_in_minutes: i64) -> Value {
    json!({
        "question": "Which day for the town hall?",
        "options": ["Monday", "Wednesday", "Friday"],
        "closes_at": (t0() + Duration::minutes(closes_in_minutes)).to_rfc3339(),
    })
}

#[actix_rt::test]
async fn participants_answer_a_poll_once_and_everyone_sees_the_results_live_until_it_closes() {
    let jam = live_jam(Deployment::sqlite(t0()), "polls").await;
    let base = jam.node.base.clone();
    let code = &jam.codes[0].1;
    let ada = join(&base, &jam.slug, code, "Ada").await;
    let bob = join(&base, &jam.slug, code, "Bob").await;
    let cy = join(&base, &jam.slug, code, "Cy").await;
    let mut live = LiveClient::connect(&cy).await;
    let topic = format!("session:{}", jam.open);
    assert_eq!(live.subscribe(&topic, None).await["type"], "subscribed");

    let r = jam
        .fac
        .post(&format!("/api/v1/sessions/{}/polls", jam.open), poll_body(30))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let poll = id(&r.body);
    assert_eq!(r.body["state"], "open");
    assert_eq!(r.body["counts"], json!([0, 0, 0]));
    let created = live
        .recv_until(|m| m["type"] == "event" && event_kind(m) == "poll.created")
        .await;
    assert_eq!(created["event"]["poll"]["id"], poll.as_str());

    let answer = format!("/api/v1/polls/{poll}/answer");
    let r = ada.post(&answer, json!({ "option": 1 })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["counts"], json!([0, 1, 0]));
    assert_eq!(r.body["my_answer"], 1);
    let updated = live
        .recv_until(|m| m["type"] == "event" && event_kind(m) == "poll.updated")
        .await;
    assert_eq!(updated["event"]["poll"]["counts"], json!([0, 1, 0]));
    assert!(updated["event"]["poll"].get("my_answer").is_none(), "{updated}");

    // One answer per participant: a second is refused and the first stands.
    ada.post(&answer, json!({ "option": 2 }))
        .await
        .assert_problem(409);
    // Bad options are refused without changing anything.
    for bad in [
        json!({ "option": 3 }),
        json!({ "option": -1 }),
        json!({ "option": "Monday" }),
    ] {
        bob.post(&answer, bad).await.assert_problem(422);
    }
    let r = bob.post(&answer, json!({ "option": 1 })).await;
    assert_eq!(r.body["counts"], json!([0, 2, 0]), "{}", r.body);
    assert_eq!(r.body["answers"], 2);

    // Listed for the session's members, each with their own answer.
    let listed = cy.get(&format!("/api/v1/sessions/{}/polls", jam.open)).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["items"][0]["counts"], json!([0, 2, 0]));
    assert!(listed.body["items"][0].get("my_answer").is_none());
    let listed = ada.get(&format!("/api/v1/sessions/{}/polls", jam.open)).await;
    assert_eq!(listed.body["items"][0]["my_answer"], 1);

    // At its closing time by the server's clock the poll takes no more answers.
    jam.d.set_clock(t0() + Duration::minutes(30));
    let late = cy.post(&answer, json!({ "option": 0 })).await;
    late.assert_problem(409);
    let listed = cy.get(&format!("/api/v1/sessions/{}/polls", jam.open)).await;
    assert_eq!(listed.body["items"][0]["state"], "closed");
    assert_eq!(listed.body["items"][0]["counts"], json!([0, 2, 0]));
}

#[actix_rt::test]
async fn a_poll_needs_two_to_six_options_a_question_and_a_closing_time_ahead() {
    let jam = live_jam(Deployment::sqlite(t0()), "polls-bad").await;
    let path = format!("/api/v1/sessions/{}/polls", jam.open);
    let mut one = poll_body(10);
    one["options"] = json!(["Only"]);
    let mut seven = poll_body(10);
    seven["options"] = json!(["1", "2", "3", "4", "5", "6", "7"]);
    let mut blank = poll_body(10);
    blank["question"] = json!("");
    let mut multi = poll_body(10);
    multi["options"] = json!(["a\nb", "c"]);
    let past = poll_body(0);
    let mut long = poll_body(10);
    long["options"] = json!(["x".repeat(101), "y"]);
    for (body, field) in [
        (one, "options"),
        (seven, "options"),
        (blank, "question"),
        (multi, "options[0]"),
        (past, "closes_at"),
        (long, "options[0]"),
    ] {
        let r = jam.fac.post(&path, body).await;
        r.assert_problem(422);
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
    }
    let mut six = poll_body(10);
    six["options"] = json!(["1", "2", "3", "4", "5", "6"]);
    assert_eq!(jam.fac.post(&path, six).await.status, 201);
    // Participants and executives do not ask polls.
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    ada.post(&path, poll_body(10)).await.assert_problem(403);
    Client::as_new_staff(&jam.node.base, "executive")
        .await
        .post(&path, poll_body(10))
        .await
        .assert_problem(403);
    // Staff do not answer.
    let listed = ada.get(&path).await;
    let poll = listed.body["items"][0]["id"].as_str().unwrap().to_owned();
    jam.fac
        .post(&format!("/api/v1/polls/{poll}/answer"), json!({ "option": 0 }))
        .await
        .assert_problem(403);
    ada.post(
        &format!("/api/v1/polls/{}/answer", uuid::Uuid::now_v7()),
        json!({ "option": 0 }),
    )
    .await
    .assert_problem(404);
}
