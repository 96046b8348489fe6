//! One person, one voice: a shared invite code cannot be used to mint voters. A browser that is
//! already signed in to a jam gets its participant back; new participants per client address, jam
//! and UTC day are capped in the database (so every node and every restart count the same), the
//! cap is shown to facilitators, and refused joiners have no identity to vote with. Guessing codes
//! on the welcome page is rate-limited, and custom codes are long enough not to be guessed.

use chrono::{Duration, NaiveTime};
use futures_util::future::join_all;
use serde_json::json;

use crate::fixtures::*;
use crate::support::*;

const CAP: usize = 5;
const JOINS: usize = 60;

fn retry_after(r: &Reply) -> i64 {
    r.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {}", r.body))
}

/// A deployment whose join cap is `CAP`, while the per-address join rate stays out of the way.
fn capped(mut d: Deployment) -> Deployment {
    d.extra_env
        .push(("JAM__LIMITS__JOINS_PER_ADDRESS_PER_DAY".into(), CAP.to_string()));
    d.extra_env
        .push(("JAM__RATE_LIMITS__JOIN__COUNT".into(), "100000".into()));
    d
}

/// 60 browsers (fresh cookie jars) join at once from one address with the shared code.
async fn sixty_joins_from_one_address_mint_at_most_the_cap(d: Deployment, slug: &str) {
    let jam = live_jam(capped(d), slug).await;
    let code = jam.codes[0].1.clone();
    let path = format!("/api/v1/jams/{}/join", jam.slug);
    let attempts = (0..JOINS).map(|i| {
        let (base, path, code) = (jam.node.base.clone(), path.clone(), code.clone());
        async move {
            let mut c = Client::new(&base);
            let r = c
                .post_keep(
                    &path,
                    json!({ "invite_code": code, "display_name": format!("Voter {i}"), "accept_guidelines": true }),
                )
                .await;
            (c, r)
        }
    });
    let results = join_all(attempts).await;

    // Exactly the cap got in, each with its own id and a sign-in; everyone else got 429.
    let midnight = (t0().date_naive() + Duration::days(1))
        .and_time(NaiveTime::MIN)
        .and_utc();
    let until_tomorrow = (midnight - t0()).num_seconds();
    let (mut admitted, mut refused) = (Vec::new(), Vec::new());
    for (c, r) in results {
        match r.status.as_u16() {
            201 => {
                assert!(c.cookie().is_some(), "a new participant is signed in");
                admitted.push((c, id(&r.body)));
            }
            429 => {
                r.assert_problem(429);
                assert_eq!(
                    retry_after(&r),
                    until_tomorrow,
                    "the day window opens at UTC midnight"
                );
                assert!(c.cookie().is_none(), "a refused join signs nobody in");
                refused.push(c);
            }
            other => panic!("join answered {other}: {}", r.body),
        }
    }
    assert_eq!(admitted.len(), CAP, "the cap admits exactly {CAP} of {JOINS}");
    assert_eq!(refused.len(), JOINS - CAP);
    let mut distinct: Vec<&String> = admitted.iter().map(|(_, id)| id).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), CAP, "each admitted join is its own participant");

    // The staff API counts the same participants.
    let stats = jam.fac.get(&format!("/api/v1/jams/{}/stats", jam.slug)).await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    assert_eq!(stats.body["participants"], json!(CAP), "{}", stats.body);

    // Joining again with a held sign-in gives the same participant back (200), even at the cap,
    // and keeps that sign-in.
    let (mut held, held_id) = admitted.pop().unwrap();
    let before = held.cookie().map(str::to_owned);
    let again = held
        .post_keep(
            &path,
            json!({ "invite_code": code, "display_name": "Someone else", "accept_guidelines": true }),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(id(&again.body), held_id);
    assert_eq!(held.cookie().map(str::to_owned), before, "the sign-in stays");
    let me = held.get("/api/v1/me").await;
    assert_eq!((me.status.as_u16(), id(&me.body)), (200, held_id.clone()));
    let stats = jam.fac.get(&format!("/api/v1/jams/{}/stats", jam.slug)).await;
    assert_eq!(stats.body["participants"], json!(CAP), "a re-join mints nobody");

    // The refused identities do not exist, so they cannot vote.
    let idea = id(&post_idea(&held, &jam.open, "Shared bikes", "Everywhere", json!([])).await);
    vote(&refused[0], &idea, 1).await.assert_problem(401);
    let counted = vote(&admitted[0].0, &idea, 1).await;
    assert_eq!(counted.status, 200, "{}", counted.body);
    assert_eq!(counted.body["up"], json!(1));

    // Facilitators see the cap on the dashboard, and the audit log records it once.
    let caps = stats.body["join_caps_hit"].as_array().unwrap().clone();
    assert_eq!(caps.len(), 1, "{}", stats.body);
    assert_eq!(caps[0]["address_key"], "127.0.0.1/32");
    assert_eq!(caps[0]["joins"], json!(CAP));
    assert_eq!(caps[0]["day"], "2027-03-01");
    let audit = jam
        .fac
        .get(&format!("/api/v1/jams/{}/audit?limit=200", jam.slug))
        .await;
    let capped: Vec<_> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "join.capped")
        .collect();
    assert_eq!(capped.len(), 1, "once per jam, address and day: {}", audit.body);
    assert_eq!(capped[0]["detail"]["address_key"], "127.0.0.1/32");

    // Executives see that the cap was hit, not the address.
    let exec = Client::as_new_staff(&jam.node.base, "executive").await;
    let seen = exec.get(&format!("/api/v1/jams/{}/stats", jam.slug)).await;
    assert_eq!(
        seen.body["join_caps_hit"][0]["address_key"],
        json!(null),
        "{}",
        seen.body
    );
    assert_eq!(seen.body["join_caps_hit"][0]["joins"], json!(CAP));

    // Once the day window turns, the address may bring new people again.
    jam.d.set_clock(midnight);
    let r = Client::new(&jam.node.base)
        .post(
            &path,
            json!({ "invite_code": code, "display_name": "Tomorrow", "accept_guidelines": true }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[actix_rt::test]
async fn sixty_joins_with_a_shared_code_from_one_address_make_at_most_the_cap_of_voters_on_sqlite() {
    sixty_joins_from_one_address_mint_at_most_the_cap(Deployment::sqlite(t0()), "ballot").await;
}

#[actix_rt::test]
async fn sixty_joins_with_a_shared_code_from_one_address_make_at_most_the_cap_of_voters_on_postgresql() {
    let Some(d) = Deployment::postgres(t0()).await else {
        return;
    };
    sixty_joins_from_one_address_mint_at_most_the_cap(d, "ballot-pg").await;
}

#[actix_rt::test]
async fn the_join_cap_counts_per_jam_and_survives_a_restart() {
    let d = capped(Deployment::sqlite(t0()));
    d.create_admin();
    let node = d.start().await;
    let fac = Client::as_new_staff(&node.base, "facilitator").await;
    let (one, _, one_codes) = create_jam(&fac, "cap-one").await;
    let (two, _, two_codes) = create_jam(&fac, "cap-two").await;
    for slug in [&one, &two] {
        add_session(&fac, slug, "Cities", 0, 24).await;
        let r = fac
            .post(&format!("/api/v1/jams/{slug}/schedule"), json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for i in 0..CAP {
        join(&node.base, &one, &one_codes[0].1, &format!("One {i}")).await;
    }
    let body =
        |code: &str| json!({ "invite_code": code, "display_name": "Extra", "accept_guidelines": true });
    let path = |slug: &str| format!("/api/v1/jams/{slug}/join");
    node.client()
        .post(&path(&one), body(&one_codes[1].1))
        .await
        .assert_problem(429);
    // Another jam has a cap of its own.
    join(&node.base, &two, &two_codes[0].1, "Two").await;

    // The count is in the database: a restarted node still refuses.
    node.stop();
    let node = d.start().await;
    node.client()
        .post(&path(&one), body(&one_codes[0].1))
        .await
        .assert_problem(429);
}

#[actix_rt::test]
async fn welcome_lookups_are_limited_per_address_and_jam() {
    let mut d = Deployment::sqlite(t0());
    d.extra_env
        .push(("JAM__RATE_LIMITS__WELCOME__COUNT".into(), "3".into()));
    d.extra_env
        .push(("JAM__RATE_LIMITS__WELCOME__WINDOW_SECS".into(), "60".into()));
    let jam = live_jam(d, "guess").await;
    let (_, _, other_codes) = create_jam(&jam.fac, "guess-two").await;
    add_session(&jam.fac, "guess-two", "Cities", 0, 24).await;
    let r = jam.fac.post("/api/v1/jams/guess-two/schedule", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let anon = jam.node.client();
    let welcome = |slug: &str, code: &str| format!("/api/v1/jams/{slug}/welcome?code={code}");
    for guess in ["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"] {
        anon.get(&welcome(&jam.slug, guess)).await.assert_problem(403);
    }
    // Over the limit even the right code waits: a guesser gains nothing by guessing faster.
    let over = anon.get(&welcome(&jam.slug, &jam.codes[0].1)).await;
    over.assert_problem(429);
    let wait = retry_after(&over);
    assert!((1..=60).contains(&wait), "{wait}");
    // Another jam has its own budget.
    let r = anon.get(&welcome("guess-two", &other_codes[0].1)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The budget comes back with time.
    jam.d.set_clock(t0() + Duration::seconds(wait));
    let r = anon.get(&welcome(&jam.slug, &jam.codes[0].1)).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[actix_rt::test]
async fn a_custom_invite_code_shorter_than_ten_characters_is_refused() {
    let d = Deployment::sqlite(t0());
    d.create_admin();
    let node = d.start().await;
    let fac = Client::as_new_staff(&node.base, "facilitator").await;
    let mut body = jam_body("short-code", t0(), t0() + Duration::days(1));
    body["audiences"][1]["invite_code"] = json!("abc-12345");
    let r = fac.post("/api/v1/jams", body.clone()).await;
    r.assert_problem(422);
    assert_eq!(
        r.body["errors"][0]["field"], "audiences[1].invite_code",
        "{}",
        r.body
    );
    body["audiences"][1]["invite_code"] = json!("abc-123456");
    let r = fac.post("/api/v1/jams", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Generated codes are long enough too.
    for a in r.body["audiences"].as_array().unwrap() {
        assert!(a["invite_code"].as_str().unwrap().len() >= 10, "{a}");
    }
}
