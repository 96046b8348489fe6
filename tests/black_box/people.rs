//! People, seen from outside: voiding a participant (their votes leave the counts and the live
//! tally within a tick, what their flags hid comes back, their posts wait for review, their
//! sign-ins end, and `jamd tally verify` still passes, before and after publishing) on SQLite and on
//! PostgreSQL with Redis across two nodes; flags that count only from established participants and
//! the jam's `auto_hide`; staff accounts disabled, demoted and given new passwords, with their
//! sign-ins ended at once (401 on the next request, 4001 on the open live socket, measured).

use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use serde_json::{Value, json};

use crate::cluster::redis_url;
use crate::fixtures::*;
use crate::support::*;
use crate::tally::{Tallies, api_counts, await_tallies};
use crate::ws::*;

async fn flag(c: &Client, idea: &str, reason: &str) -> Reply {
    c.post(
        &format!("/api/v1/ideas/{idea}/flags"),
        json!({ "reason": reason }),
    )
    .await
}

async fn void(c: &Client, slug: &str, participant: &str, reason: &str) -> Reply {
    c.post(
        &format!("/api/v1/jams/{slug}/participants/{participant}/void"),
        json!({ "reason": reason }),
    )
    .await
}

async fn me(c: &Client) -> String {
    let r = c.get("/api/v1/me").await;
    assert_eq!(r.status, 200, "{}", r.body);
    id(&r.body)
}

async fn status_of(c: &Client, idea: &str) -> Value {
    let r = c.get(&format!("/api/v1/ideas/{idea}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["status"].clone()
}

/// The close code of a live connection, waiting at most `within`; panics on anything but a close.
async fn close_code(live: &mut LiveClient, within: StdDuration) -> Option<u16> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_else(|| panic!("not closed within {within:?}"));
        match live.next_within(left).await {
            Some(Ok(_)) => {}
            Some(Err(code)) => return code,
            None => panic!("not closed within {within:?}"),
        }
    }
}

/// One scenario, on one node (`second` false) or across two nodes sharing the broker: the void goes
/// through the first, the watcher and the voided participant's socket are on the last.
async fn a_voided_participant_stops_counting(d: Deployment, slug: &str, second: bool, label: &str) {
    let jam = live_jam(d, slug).await;
    let other = if second { Some(jam.d.start().await) } else { None };
    let far_base = other.as_ref().map_or(jam.node.base.clone(), |n| n.base.clone());
    let base = jam.node.base.clone();
    let code = &jam.codes[0].1;
    let ada = join(&base, &jam.slug, code, "Ada").await;
    let bob = join(&base, &jam.slug, code, "Bob").await;
    let cat = join(&base, &jam.slug, code, "Cat").await;
    let tom = join(&base, &jam.slug, code, "Tom").await;
    let tom_id = me(&tom).await;

    let flagged = id(&post_idea(&ada, &jam.open, "Bike lanes", "Everywhere", json!([])).await);
    let voted = id(&post_idea(&ada, &jam.open, "Night buses", "Hourly", json!([])).await);
    let other_idea = id(&post_idea(&bob, &jam.open, "Tram", "Extend", json!([])).await);
    let toms = id(&post_idea(&tom, &jam.open, "Buy my stuff", "Spam", json!([])).await);
    for (who, idea, value) in [
        (&bob, &voted, 1),
        (&cat, &voted, -1),
        (&tom, &voted, 1),
        (&tom, &other_idea, -1),
        (&ada, &toms, 1),
    ] {
        assert_eq!(vote(who, idea, value).await.status, 200);
    }
    for who in [&bob, &cat, &tom] {
        assert_eq!(flag(who, &flagged, "Off topic").await.status, 201);
    }
    assert_eq!(
        status_of(&jam.fac, &flagged).await,
        "hidden",
        "three flags hid it"
    );

    // A watcher on the far node, and Tom's own socket there.
    let watcher = {
        let mut c = Client::new(&far_base);
        c.set_cookie(jam.fac.cookie().map(str::to_owned));
        c
    };
    let mut live = LiveClient::connect(&watcher).await;
    let topic = format!("session:{}", jam.open);
    assert_eq!(live.subscribe(&topic, None).await["type"], "subscribed");
    let mut tom_far = Client::new(&far_base);
    tom_far.set_cookie(tom.cookie().map(str::to_owned));
    assert_eq!(
        tom_far.get("/api/v1/me").await.status,
        200,
        "cached on the far node"
    );
    let mut tom_live = LiveClient::connect(&tom_far).await;
    assert_eq!(tom_live.subscribe(&topic, None).await["type"], "subscribed");
    let ideas = vec![voted.clone(), other_idea.clone()];
    let mut tallies = Tallies::default();
    let before = api_counts(&jam.fac, &ideas).await;
    assert_eq!(before[&voted], (2, 1));

    let started = Instant::now();
    let r = void(&jam.fac, &jam.slug, &tom_id, "One person, four accounts").await;
    let answered = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["already_voided"], false);
    assert_eq!(r.body["results_frozen"], false);
    assert_eq!(r.body["votes_removed"], 2);
    assert_eq!(r.body["flags_removed"], 1);
    assert_eq!(r.body["ideas_recounted"], 2);
    assert_eq!(r.body["items_shown_again"], 1);
    assert_eq!(r.body["posts_hidden"], 1);
    assert_eq!(r.body["sign_ins_ended"], 1);

    // Sign-ins: refused on both nodes at once; the far socket closes with 4001.
    tom.get("/api/v1/me").await.assert_problem(401);
    tom_far.get("/api/v1/me").await.assert_problem(401);
    assert_eq!(
        close_code(&mut tom_live, StdDuration::from_secs(1)).await,
        Some(4001)
    );
    let closed_after = started.elapsed();

    // Counts: the database's at once, the live tally within a tick.
    let want = api_counts(&jam.fac, &ideas).await;
    assert_eq!(want[&voted], (1, 1), "Tom's up-vote is gone");
    assert_eq!(want[&other_idea], (0, 0), "and his down-vote");
    await_tallies(&mut live, &mut tallies, &topic, &want, StdDuration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("tallies {:?} never reached {want:?}", tallies.latest));
    // From the request, so the socket's close and the API reads in between count against it.
    let lag = started.elapsed();
    println!(
        "void ({label}): answered in {answered:?}; voided socket closed 4001 {closed_after:?} after the request; \
         live tally equal to the database {lag:?} after the request (tally tick 500 ms)"
    );
    assert!(lag < StdDuration::from_millis(1500), "lag {lag:?}");

    // What his flag hid is visible again; his own post waits for review.
    assert_eq!(status_of(&cat, &flagged).await, "visible");
    assert_eq!(status_of(&jam.fac, &toms).await, "hidden");
    let queue = jam
        .fac
        .get(&format!("/api/v1/jams/{}/moderation", jam.slug))
        .await;
    assert!(ids(&queue.body).contains(&toms), "{}", queue.body);
    // The flagged idea keeps its two other flags in the queue.
    let queued = queue.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == flagged.as_str())
        .unwrap_or_else(|| panic!("{}", queue.body));
    assert_eq!(queued["flags"], 2);

    // Idempotent: a second void changes nothing and is not audited again.
    let again = void(&jam.fac, &jam.slug, &tom_id, "Again").await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["already_voided"], true);
    assert_eq!(again.body["votes_removed"], 0);
    assert_eq!(again.body["voided_at"], r.body["voided_at"]);
    let audit = jam
        .fac
        .get(&format!("/api/v1/jams/{}/audit?limit=200", jam.slug))
        .await;
    let voids: Vec<&Value> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "participant.voided")
        .collect();
    assert_eq!(voids.len(), 1, "{}", audit.body);
    assert_eq!(voids[0]["detail"]["reason"], "One person, four accounts");

    // The list shows him voided, with no votes standing, and the three joins from this address.
    let list = jam
        .fac
        .get(&format!("/api/v1/jams/{}/participants?q=to", jam.slug))
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(ids(&list.body), vec![tom_id.clone()]);
    let row = &list.body["items"][0];
    assert!(row["voided_at"].is_string(), "{row}");
    assert_eq!(row["votes"], 0);
    assert_eq!(row["ideas"], 1);
    assert_eq!(row["flags"], 0);
    assert_eq!(row["audience"], jam.codes[0].0.as_str());
    assert!(row["joins_from_address"].as_u64().unwrap() >= 4, "{row}");

    // Close, publish, verify; voiding after publishing keeps the shortlist frozen and verifiable.
    let closed = jam
        .fac
        .post(&format!("/api/v1/jams/{}/close", jam.slug), json!({}))
        .await;
    assert_eq!(closed.status, 200, "{}", closed.body);
    let published = jam
        .fac
        .post(&format!("/api/v1/jams/{}/shortlist/publish", jam.slug), json!({}))
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    let (ok, out) = jam.d.run(&["tally", "verify", "--jam", &jam.slug], None);
    assert!(ok && out.contains("verified"), "{out}");
    let bob_id = me(&bob).await;
    let late = void(&jam.fac, &jam.slug, &bob_id, "Found later").await;
    assert_eq!(late.status, 200, "{}", late.body);
    assert_eq!(late.body["results_frozen"], true);
    assert_eq!(late.body["votes_removed"], 0);
    bob.get("/api/v1/me").await.assert_problem(401);
    let (ok, out) = jam.d.run(&["tally", "verify", "--jam", &jam.slug], None);
    assert!(
        ok && out.contains("verified"),
        "after a void of a published jam: {out}"
    );
    assert_eq!(jam.node.metric("jam_http_responses_5xx_total").await, 0);
}

#[actix_rt::test]
async fn a_voided_participant_stops_counting_on_sqlite() {
    a_voided_participant_stops_counting(Deployment::sqlite(t0()), "void-sqlite", false, "sqlite, 1 node")
        .await;
}

#[actix_rt::test]
async fn a_voided_participant_stops_counting_across_two_nodes_on_postgresql_and_redis() {
    let Some(redis) = redis_url() else { return };
    let Some(mut d) = Deployment::postgres(t0()).await else {
        return;
    };
    d.extra_env.push(("JAM__BROKER__KIND".into(), "redis".into()));
    d.extra_env.push(("JAM__BROKER__REDIS_URL".into(), redis));
    a_voided_participant_stops_counting(d, "void-pg", true, "postgresql + redis, 2 nodes").await;
}

#[actix_rt::test]
async fn only_established_participants_flags_hide_and_auto_hide_off_only_queues() {
    let mut d = Deployment::sqlite(t0());
    d.extra_env
        .push(("JAM__MODERATION__FLAG_MIN_AGE_MINUTES".into(), "30".into()));
    let jam = live_jam(d, "flag-age").await;
    let base = jam.node.base.clone();
    let code = &jam.codes[0].1;
    let ada = join(&base, &jam.slug, code, "Ada").await;
    let old: Vec<Client> = [
        join(&base, &jam.slug, code, "Old 1").await,
        join(&base, &jam.slug, code, "Old 2").await,
        join(&base, &jam.slug, code, "Old 3").await,
    ]
    .into();
    let idea = id(&post_idea(&ada, &jam.open, "Parks", "More", json!([])).await);
    let quiet = id(&post_idea(&ada, &jam.open, "Benches", "More", json!([])).await);

    // Three fresh identities: recorded and queued, hidden nothing.
    for n in 0..3 {
        let fresh = join(&base, &jam.slug, code, &format!("Fresh {n}")).await;
        assert_eq!(flag(&fresh, &idea, "Spam").await.status, 201);
    }
    assert_eq!(status_of(&jam.fac, &idea).await, "visible");
    let queue = jam
        .fac
        .get(&format!("/api/v1/jams/{}/moderation", jam.slug))
        .await;
    assert_eq!(ids(&queue.body), vec![idea.clone()], "{}", queue.body);
    assert_eq!(queue.body["items"][0]["flags"], 3);

    // Half an hour later the first three are established: two of their flags do not hide yet, the
    // third does.
    jam.d.set_clock(t0() + Duration::minutes(31));
    assert_eq!(flag(&old[0], &idea, "Spam").await.status, 201);
    assert_eq!(flag(&old[1], &idea, "Spam").await.status, 201);
    assert_eq!(status_of(&jam.fac, &idea).await, "visible", "2 counting flags");
    assert_eq!(flag(&old[2], &idea, "Spam").await.status, 201);
    assert_eq!(status_of(&jam.fac, &idea).await, "hidden", "3 counting flags");

    // auto_hide off: the same three established flags only queue the item.
    let r = jam
        .fac
        .patch(
            &format!("/api/v1/jams/{}", jam.slug),
            json!({ "auto_hide": false }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["auto_hide"], false);
    for c in &old {
        assert_eq!(flag(c, &quiet, "Spam").await.status, 201);
    }
    assert_eq!(status_of(&jam.fac, &quiet).await, "visible");
    let queue = jam
        .fac
        .get(&format!("/api/v1/jams/{}/moderation", jam.slug))
        .await;
    assert!(ids(&queue.body).contains(&quiet), "{}", queue.body);
    // Set at creation too.
    let mut body = jam_body("flag-age-off", t0(), t0() + Duration::days(3));
    body["audiences"][1]["invite_code"] = json!("client-flag-age-off");
    body["auto_hide"] = json!(false);
    let created = jam.fac.post("/api/v1/jams", body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["auto_hide"], false);
}

/// The e-mail of a staff account, from the admin's list.
async fn email_of(admin: &Client, id: &str) -> String {
    let list = admin.get("/api/v1/staff").await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {}", list.body))["email"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[actix_rt::test]
async fn a_disabled_facilitator_is_signed_out_at_once_and_the_last_admin_stays() {
    let jam = live_jam(Deployment::sqlite(t0()), "staff-off").await;
    let base = jam.node.base.clone();
    let admin = Client::as_admin(&base).await;
    let admin_id = me(&admin).await;
    let fac_id = me(&jam.fac).await;
    let email = email_of(&admin, &fac_id).await;
    let mut second = Client::new(&base);
    assert_eq!(second.login(&email, ADMIN_PASSWORD).await.status, 200);

    let listed = admin.get("/api/v1/staff").await;
    let row = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == fac_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["role"], "facilitator");
    assert_eq!(row["disabled"], false);
    assert!(row["last_sign_in_at"].is_string(), "{row}");
    jam.fac.get("/api/v1/staff").await.assert_problem(403);

    let mut live = LiveClient::connect(&jam.fac).await;
    let topic = format!("jam:{}", jam.jam_id);
    assert_eq!(live.subscribe(&topic, None).await["type"], "subscribed");
    assert_eq!(jam.fac.get("/api/v1/me").await.status, 200, "cached");

    let started = Instant::now();
    let r = admin
        .patch(&format!("/api/v1/staff/{fac_id}"), json!({ "disabled": true }))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["disabled"], true);
    jam.fac.get("/api/v1/me").await.assert_problem(401);
    second.get("/api/v1/me").await.assert_problem(401);
    let refused = started.elapsed();
    let code = close_code(&mut live, StdDuration::from_secs(1)).await;
    let closed = started.elapsed();
    println!(
        "staff disable: cookies 401 {refused:?} after the request was sent; live socket closed with \
         {code:?} {closed:?} after it"
    );
    assert_eq!(code, Some(4001));
    assert!(closed < StdDuration::from_secs(1), "{closed:?}");

    let mut again = Client::new(&base);
    again.login(&email, ADMIN_PASSWORD).await.assert_problem(403);
    let r = admin
        .patch(&format!("/api/v1/staff/{fac_id}"), json!({ "disabled": false }))
        .await;
    assert_eq!(r.body["disabled"], false, "{}", r.body);
    assert_eq!(again.login(&email, ADMIN_PASSWORD).await.status, 200);

    // The only admin cannot disable or demote itself; with a second admin it can be demoted.
    admin
        .patch(&format!("/api/v1/staff/{admin_id}"), json!({ "disabled": true }))
        .await
        .assert_problem(409);
    admin
        .patch(
            &format!("/api/v1/staff/{admin_id}"),
            json!({ "role": "facilitator" }),
        )
        .await
        .assert_problem(409);
    admin
        .patch(&format!("/api/v1/staff/{fac_id}"), json!({ "role": "boss" }))
        .await
        .assert_problem(422);
    let r = admin
        .patch(&format!("/api/v1/staff/{fac_id}"), json!({ "role": "admin" }))
        .await;
    assert_eq!(r.body["role"], "admin", "{}", r.body);
    again.get("/api/v1/me").await.assert_problem(401);
    let mut promoted = Client::new(&base);
    assert_eq!(promoted.login(&email, ADMIN_PASSWORD).await.status, 200);
    let r = promoted
        .patch(
            &format!("/api/v1/staff/{admin_id}"),
            json!({ "role": "executive" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    admin.get("/api/v1/me").await.assert_problem(401);
    assert_eq!(jam.node.metric("jam_http_responses_5xx_total").await, 0);
}

#[actix_rt::test]
async fn a_password_change_ends_the_other_sign_ins_and_an_admin_reset_ends_them_all() {
    let mut d = Deployment::sqlite(t0());
    d.extra_env
        .push(("JAM__AUTH__PASSWORD_MIN_CHARS".into(), "16".into()));
    d.create_admin();
    let node = d.start().await;
    let admin = Client::as_admin(&node.base).await;
    let fac = Client::as_new_staff(&node.base, "facilitator").await;
    let fac_id = me(&fac).await;
    let email = email_of(&admin, &fac_id).await;
    let mut other = Client::new(&node.base);
    assert_eq!(other.login(&email, ADMIN_PASSWORD).await.status, 200);
    let path = format!("/api/v1/staff/{fac_id}/password");

    fac.post(&path, json!({ "new_password": "a new long password" }))
        .await
        .assert_problem(422);
    fac.post(
        &path,
        json!({ "current_password": "wrong password here", "new_password": "a new long password" }),
    )
    .await
    .assert_problem(422);
    let short = fac
        .post(
            &path,
            json!({ "current_password": ADMIN_PASSWORD, "new_password": "fifteen chars!!" }),
        )
        .await;
    short.assert_problem(422);
    assert!(short.body.to_string().contains("16 to 256"), "{}", short.body);
    let r = fac
        .post(
            &path,
            json!({ "current_password": ADMIN_PASSWORD, "new_password": "a new long password" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["sign_ins_ended"], 1);
    assert_eq!(fac.get("/api/v1/me").await.status, 200, "the caller's own stays");
    other.get("/api/v1/me").await.assert_problem(401);

    // Someone else's password: admins only, and a reset ends every sign-in.
    let exec = Client::as_new_staff(&node.base, "executive").await;
    exec.post(&path, json!({ "new_password": "an executive's choice" }))
        .await
        .assert_problem(403);
    let r = admin
        .post(&path, json!({ "new_password": "reset by the admin!" }))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["sign_ins_ended"], 1);
    fac.get("/api/v1/me").await.assert_problem(401);
    let mut back = Client::new(&node.base);
    back.login(&email, "a new long password")
        .await
        .assert_problem(401);
    assert_eq!(back.login(&email, "reset by the admin!").await.status, 200);
}

#[actix_rt::test]
async fn the_command_line_disables_enables_and_resets_a_staff_account() {
    let mut d = Deployment::sqlite(t0());
    // The CLI's notice goes through the broker; with the memory broker each node reads sign-ins
    // afresh instead (no cache), so the change shows on the next request.
    d.extra_env.push(("JAM__AUTH__CACHE_SECS".into(), "0".into()));
    d.create_admin();
    let node = d.start().await;
    let admin = Client::as_admin(&node.base).await;
    let fac = Client::as_new_staff(&node.base, "facilitator").await;
    let email = email_of(&admin, &me(&fac).await).await;

    let (ok, out) = d.run(&["admin", "disable", "--email", &email], None);
    assert!(ok, "{out}");
    assert!(
        out.contains("disabled") && out.contains("1 sign-ins ended"),
        "{out}"
    );
    fac.get("/api/v1/me").await.assert_problem(401);
    let mut again = Client::new(&node.base);
    again.login(&email, ADMIN_PASSWORD).await.assert_problem(403);
    let (ok, out) = d.run(&["admin", "disable", "--email", ADMIN_EMAIL], None);
    assert!(!ok && out.contains("last active admin"), "{out}");

    let (ok, out) = d.run(&["admin", "enable", "--email", &email], None);
    assert!(ok, "{out}");
    let (ok, out) = d.run(
        &["admin", "reset-password", "--email", &email],
        Some("a password from the cli\n"),
    );
    assert!(ok, "{out}");
    again.login(&email, ADMIN_PASSWORD).await.assert_problem(401);
    assert_eq!(again.login(&email, "a password from the cli").await.status, 200);
    let (ok, out) = d.run(&["admin", "enable", "--email", "nobody@example.org"], None);
    assert!(!ok && out.contains("no staff account"), "{out}");
}

#[actix_rt::test]
async fn signing_out_closes_the_sign_ins_live_connections_at_once() {
    let jam = live_jam(Deployment::sqlite(t0()), "sign-out-live").await;
    let base = jam.node.base.clone();
    let ada = join(&base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let eve = join(&base, &jam.slug, &jam.codes[0].1, "Eve").await;
    let topic = format!("jam:{}", jam.jam_id);
    let mut ada_live = LiveClient::connect(&ada).await;
    assert_eq!(ada_live.subscribe(&topic, None).await["type"], "subscribed");
    let mut eve_live = LiveClient::connect(&eve).await;
    assert_eq!(eve_live.subscribe(&topic, None).await["type"], "subscribed");

    let started = Instant::now();
    assert_eq!(ada.post("/api/v1/auth/logout", json!({})).await.status, 204);
    let code = close_code(&mut ada_live, StdDuration::from_secs(1)).await;
    println!(
        "sign-out: live socket closed with {code:?} {:?} after the request",
        started.elapsed()
    );
    assert_eq!(code, Some(4001));
    ada.get("/api/v1/me").await.assert_problem(401);
    // Another participant's connection stays open and live.
    let r = jam
        .fac
        .post(
            &format!("/api/v1/jams/{}/announcements", jam.slug),
            json!({ "text": "Still here?" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let m = eve_live.recv_until(|m| event_kind(m) == "announcement").await;
    assert_eq!(m["event"]["text"], "Still here?", "{m}");
}
