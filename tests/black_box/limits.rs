//! Rate limits seen from outside: going over answers 429 with Retry-After, loses nothing already
//! accepted, and the budget comes back as the clock moves.

use chrono::Duration;
use serde_json::json;

use crate::fixtures::*;
use crate::support::*;

fn retry_after(r: &Reply) -> i64 {
    r.headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[actix_rt::test]
async fn a_participant_over_the_idea_and_comment_limits_gets_429_and_keeps_what_was_accepted() {
    let mut d = Deployment::sqlite(t0());
    d.extra_env
        .push(("JAM__RATE_LIMITS__IDEAS__COUNT".into(), "2".into()));
    d.extra_env
        .push(("JAM__RATE_LIMITS__IDEAS__WINDOW_SECS".into(), "3600".into()));
    d.extra_env
        .push(("JAM__RATE_LIMITS__COMMENTS__COUNT".into(), "1".into()));
    let jam = live_jam(d, "limits").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let first = id(&post_idea(&ada, &jam.open, "One", "1", json!([])).await);
    post_idea(&ada, &jam.open, "Two", "2", json!([])).await;
    let third = ada
        .post(
            &format!("/api/v1/sessions/{}/ideas", jam.open),
            json!({ "title": "Three", "body": "3" }),
        )
        .await;
    third.assert_problem(429);
    assert!(
        (1..=1800).contains(&retry_after(&third)),
        "{}",
        retry_after(&third)
    );
    // Another participant has a budget of their own.
    let bob = join(&jam.node.base, &jam.slug, &jam.codes[1].1, "Bob").await;
    post_idea(&bob, &jam.open, "Bob's", "b", json!([])).await;

    let c = ada
        .post(
            &format!("/api/v1/ideas/{first}/comments"),
            json!({ "body": "first" }),
        )
        .await;
    assert_eq!(c.status, 201);
    ada.post(
        &format!("/api/v1/ideas/{first}/comments"),
        json!({ "body": "second" }),
    )
    .await
    .assert_problem(429);

    let page = ada
        .get(&format!("/api/v1/sessions/{}/ideas?sort=new", jam.open))
        .await;
    assert_eq!(ids(&page.body).len(), 3, "the two accepted ideas and Bob's stay");

    jam.d.set_clock(t0() + Duration::seconds(retry_after(&third)));
    post_idea(&ada, &jam.open, "Three", "3", json!([])).await;
}

#[actix_rt::test]
async fn joining_is_limited_per_address() {
    let mut d = Deployment::sqlite(t0());
    d.extra_env
        .push(("JAM__RATE_LIMITS__JOIN__COUNT".into(), "2".into()));
    let jam = live_jam(d, "join-limit").await;
    join(&jam.node.base, &jam.slug, &jam.codes[0].1, "One").await;
    join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Two").await;
    let r = Client::new(&jam.node.base)
        .post(
            &format!("/api/v1/jams/{}/join", jam.slug),
            json!({ "invite_code": jam.codes[0].1, "display_name": "Three", "accept_guidelines": true }),
        )
        .await;
    r.assert_problem(429);
}

#[actix_rt::test]
async fn a_participant_over_the_vote_limit_gets_429_and_keeps_the_votes_already_counted() {
    let mut d = Deployment::sqlite(t0());
    d.extra_env
        .push(("JAM__RATE_LIMITS__VOTES__COUNT".into(), "2".into()));
    d.extra_env
        .push(("JAM__RATE_LIMITS__VOTES__WINDOW_SECS".into(), "60".into()));
    let jam = live_jam(d, "vote-limit").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let bob = join(&jam.node.base, &jam.slug, &jam.codes[1].1, "Bob").await;
    let idea = id(&post_idea(&ada, &jam.open, "Vote on me", "v", json!([])).await);
    assert_eq!(vote(&bob, &idea, 1).await.status, 200);
    assert_eq!(vote(&bob, &idea, -1).await.status, 200);
    let over = vote(&bob, &idea, 1).await;
    over.assert_problem(429);
    assert!((1..=60).contains(&retry_after(&over)), "{}", retry_after(&over));
    // The refused vote changed nothing; the accepted ones stand.
    let seen = ada.get(&format!("/api/v1/ideas/{idea}")).await;
    assert_eq!((&seen.body["up"], &seen.body["down"]), (&json!(0), &json!(1)));
    // Another participant has a budget of their own, and Bob's comes back with time.
    assert_eq!(vote(&ada, &idea, 1).await.status, 200);
    jam.d.set_clock(t0() + Duration::seconds(retry_after(&over)));
    assert_eq!(vote(&bob, &idea, 1).await.status, 200);
}
