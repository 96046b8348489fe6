//! The inbox (issue 18): a reply reaches the idea's author live on `me:{participant}` within a
//! second and again through offset replay after a reconnect (SQLite with the memory broker, and
//! PostgreSQL with Redis across two nodes); who hears of what (replies, mentions, followers,
//! moderation decisions, the shortlist, announcements); unread counts and marking read; following;
//! the `@name` picker; and who may use each.

use std::time::{Duration as StdDuration, Instant};

use awc::http::Method;
use chrono::Duration;
use serde_json::{Value, json};

use crate::cluster::{on, redis_url};
use crate::fixtures::*;
use crate::support::*;
use crate::ws::{LiveClient, event_kind};

/// How long a notification may take to arrive live (the acceptance bound).
const LIVE_WITHIN: StdDuration = StdDuration::from_secs(1);

async fn my_id(c: &Client) -> String {
    id(&c.get("/api/v1/me").await.body)
}

async fn comment(c: &Client, idea: &str, body: &str, parent: Option<&str>) -> String {
    let mut req = json!({ "body": body });
    if let Some(parent) = parent {
        req["parent_id"] = json!(parent);
    }
    let r = c.post(&format!("/api/v1/ideas/{idea}/comments"), req).await;
    assert_eq!(r.status, 201, "{}", r.body);
    id(&r.body)
}

async fn inbox(c: &Client) -> Value {
    let r = c.get("/api/v1/me/notifications").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// `(kind, actor)` of each entry, newest first.
fn kinds(inbox: &Value) -> Vec<(String, String)> {
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().unwrap().to_owned(),
                n["actor"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The acceptance path on any deployment: Ada (on `a`) hears of Bob's reply (on `b`) live within a
/// second, misses a second reply while disconnected, and gets it by replay on reconnecting.
async fn a_reply_reaches_the_author_live_and_after_a_reconnect(
    a: &Node,
    b: &Node,
    fac: &Client,
    slug: &str,
    session: &str,
    code: &str,
) {
    let ada = join(&a.base, slug, code, "Ada").await;
    let bob = join(&b.base, slug, code, "Bob").await;
    let ada_id = my_id(&ada).await;
    let topic = format!("me:{ada_id}");
    let idea = id(&post_idea(&ada, session, "Night buses", "Run them all night.", json!([])).await);

    // Nobody else may read Ada's inbox topic.
    for other in [&bob, fac] {
        let mut live = LiveClient::connect(&on(a, other)).await;
        let refused = live.subscribe(&topic, None).await;
        assert_eq!(refused["type"], "error", "{refused}");
    }

    let mut live = LiveClient::connect(&ada).await;
    let subscribed = live.subscribe(&topic, None).await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    let start = subscribed["offset"].as_u64().unwrap();
    let epoch = subscribed["epoch"].as_str().unwrap().to_owned();

    let sent = Instant::now();
    let first = comment(&bob, &idea, "Yes, and on weekends.", None).await;
    let event = live
        .recv_until(|m| m["topic"] == topic.as_str() && m["type"] == "event")
        .await;
    let took = sent.elapsed();
    eprintln!("inbox: a reply reached its idea's author live in {took:?}");
    assert!(took < LIVE_WITHIN, "took {took:?}");
    assert_eq!(event_kind(&event), "notification", "{event}");
    assert_eq!(event["offset"], start + 1, "{event}");
    let n = &event["event"]["notification"];
    assert_eq!(n["kind"], "reply", "{n}");
    assert_eq!(n["idea_id"], idea.as_str());
    assert_eq!(n["comment_id"], first.as_str());
    assert_eq!(n["actor"], "Bob");
    assert_eq!(n["idea_title"], "Night buses");
    assert_eq!(n["text"], "Yes, and on weekends.");
    assert_eq!(n["read"], false);

    // Disconnected, Ada misses the next reply; on reconnecting (to the other node) with her
    // offset she gets exactly it.
    drop(live);
    let second = comment(&bob, &idea, "Also trams?", None).await;
    let mut again = LiveClient::connect(&on(b, &ada)).await;
    let (replayed, subscribed) = again.resume(&topic, start + 1, &epoch).await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    assert_eq!(replayed.len(), 1, "{replayed:?}");
    assert_eq!(replayed[0]["offset"], start + 2, "{}", replayed[0]);
    assert_eq!(
        replayed[0]["event"]["notification"]["comment_id"],
        second.as_str()
    );
    assert_eq!(subscribed["offset"], start + 2, "{subscribed}");

    // The inbox holds both, unread, newest first; the durable copy matches what went live.
    let page = inbox(&ada).await;
    assert_eq!(page["unread"], 2, "{page}");
    assert_eq!(
        kinds(&page),
        [("reply".into(), "Bob".into()), ("reply".into(), "Bob".into())]
    );
    assert_eq!(page["items"][1]["id"], n["id"]);
    // Bob wrote them and hears nothing.
    assert_eq!(inbox(&bob).await["unread"], 0);
}

#[actix_rt::test]
async fn a_reply_reaches_the_authors_inbox_live_and_through_replay_on_sqlite() {
    let jam = live_jam(Deployment::sqlite(t0()), "inbox-live").await;
    a_reply_reaches_the_author_live_and_after_a_reconnect(
        &jam.node,
        &jam.node,
        &jam.fac,
        &jam.slug,
        &jam.open,
        &jam.codes[0].1,
    )
    .await;
}

#[actix_rt::test]
async fn a_reply_reaches_the_authors_inbox_live_and_through_replay_across_nodes_on_postgresql_and_redis() {
    let Some(redis) = redis_url() else { return };
    let Some(mut d) = Deployment::postgres(t0()).await else {
        return;
    };
    d.extra_env.push(("JAM__BROKER__KIND".into(), "redis".into()));
    d.extra_env.push(("JAM__BROKER__REDIS_URL".into(), redis));
    d.create_admin();
    let a = d.start().await;
    let b = d.start().await;
    let fac = Client::as_new_staff(&a.base, "facilitator").await;
    let (slug, _, codes) = create_jam(&fac, "inbox-cluster").await;
    let session = add_session(&fac, &slug, "Cities", 0, 24).await;
    let r = fac
        .post(&format!("/api/v1/jams/{slug}/schedule"), json!({}))
        .await;
    assert_eq!(r.body["state"], "live", "{}", r.body);
    a_reply_reaches_the_author_live_and_after_a_reconnect(&a, &b, &fac, &slug, &session, &codes[0].1).await;
}

#[actix_rt::test]
async fn each_person_hears_once_of_what_concerns_them_and_reads_it_down_to_zero() {
    let jam = live_jam(Deployment::sqlite(t0()), "inbox-who").await;
    let base = jam.node.base.clone();
    let code = &jam.codes[0].1;
    let ada = join(&base, &jam.slug, code, "Ada").await;
    let bob = join(&base, &jam.slug, code, "Bob").await;
    let cy = join(&base, &jam.slug, code, "Cy").await;
    let dan = join(&base, &jam.slug, code, "Dan Brown").await;
    let (other, _, other_codes) = create_jam(&jam.fac, "inbox-elsewhere").await;
    let stranger = join(&base, &other, &other_codes[0].1, "Dan Brownie").await;
    let idea = id(&post_idea(&ada, &jam.open, "Night buses", "Run them all night.", json!([])).await);

    // Following: the author follows from the start; Cy follows by hand.
    let follow = format!("/api/v1/ideas/{idea}/follow");
    assert_eq!(
        ada.get(&format!("/api/v1/ideas/{idea}")).await.body["following"],
        true
    );
    assert_eq!(
        cy.get(&format!("/api/v1/ideas/{idea}")).await.body["following"],
        false
    );
    let r = cy.send_json(Method::PUT, &follow, Value::Null).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({ "idea_id": idea, "following": true }));
    // Twice is the same.
    assert_eq!(cy.send_json(Method::PUT, &follow, Value::Null).await.status, 200);
    assert_eq!(
        cy.get(&format!("/api/v1/ideas/{idea}")).await.body["following"],
        true
    );

    // Bob's comment: Ada hears a reply, Dan a mention (his full name, any case), Cy of activity.
    let c1 = comment(
        &bob,
        &idea,
        "Ask @dan brown, he drives one. Not @Dan Brownie.",
        None,
    )
    .await;
    assert_eq!(kinds(&inbox(&ada).await), [("reply".into(), "Bob".into())]);
    let dans = inbox(&dan).await;
    assert_eq!(kinds(&dans), [("mention".into(), "Bob".into())]);
    assert_eq!(dans["items"][0]["comment_id"], c1.as_str());
    assert_eq!(kinds(&inbox(&cy).await), [("follow".into(), "Bob".into())]);
    assert_eq!(inbox(&bob).await["unread"], 0);
    assert_eq!(
        inbox(&stranger).await["unread"],
        0,
        "another jam's participant is never mentioned"
    );

    // A reply to Cy's comment reaches Cy as a reply; once Cy unfollows, only replies reach Cy.
    let c2 = comment(&cy, &idea, "Night trams too.", None).await;
    comment(&bob, &idea, "Good point.", Some(&c2)).await;
    assert_eq!(kinds(&inbox(&cy).await)[0], ("reply".into(), "Bob".into()));
    let r = cy.send_json(Method::DELETE, &follow, Value::Null).await;
    assert_eq!(r.body["following"], false, "{}", r.body);
    let before = inbox(&cy).await["unread"].clone();
    comment(&bob, &idea, "Anyone else?", None).await;
    assert_eq!(inbox(&cy).await["unread"], before);

    // A mention in a new idea.
    post_idea(&bob, &jam.open, "Ask Ada", "@Ada knows the routes.", json!([])).await;
    assert_eq!(kinds(&inbox(&ada).await)[0], ("mention".into(), "Bob".into()));

    // Moderation decisions on Ada's idea reach Ada.
    for (path, kind) in [("hide", "idea_hidden"), ("restore", "idea_restored")] {
        let r = jam
            .fac
            .post(&format!("/api/v1/ideas/{idea}/{path}"), json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let page = inbox(&ada).await;
        assert_eq!(page["items"][0]["kind"], kind, "{page}");
        assert_eq!(page["items"][0]["idea_id"], idea.as_str());
        assert!(
            page["items"][0]["actor"].is_null(),
            "a decision names no facilitator"
        );
    }
    let dup = id(&post_idea(&ada, &jam.open, "All-night buses", "Again.", json!([])).await);
    let r = jam
        .fac
        .post(&format!("/api/v1/ideas/{dup}/merge"), json!({ "into": idea }))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(inbox(&ada).await["items"][0]["kind"], "idea_merged");

    // Announcements are in every inbox of the jam without a row per participant.
    let r = jam
        .fac
        .post(
            &format!("/api/v1/jams/{}/announcements", jam.slug),
            json!({ "text": "Last day!" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let page = inbox(&ada).await;
    assert_eq!(page["items"][0]["kind"], "announcement", "{page}");
    assert_eq!(page["items"][0]["text"], "Last day!");
    assert_eq!(inbox(&dan).await["items"][0]["kind"], "announcement");
    assert_eq!(inbox(&stranger).await["unread"], 0);

    // Ada has four replies on her idea (every comment on it), a mention, hidden, restored, merged
    // and the announcement: nine, all unread.
    let page = inbox(&ada).await;
    assert_eq!(page["unread"], 9, "{page}");
    assert_eq!(
        kinds(&page).iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        [
            "announcement",
            "idea_merged",
            "idea_restored",
            "idea_hidden",
            "mention",
            "reply",
            "reply",
            "reply",
            "reply"
        ]
    );
    // Pages of two, newest first, with cursors; together they are the whole inbox.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/me/notifications?limit=2&cursor={c}"),
            None => "/api/v1/me/notifications?limit=2".into(),
        };
        let r = ada.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.body);
        seen.extend(ids(&r.body));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids(&page));

    // Everything up to an entry is read: marking the fourth newest leaves the three newer unread.
    let fourth = page["items"][3]["id"].as_str().unwrap();
    let r = ada
        .post("/api/v1/me/notifications/read", json!({ "up_to": fourth }))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["unread"], 3, "{}", r.body);
    let page = inbox(&ada).await;
    let read: Vec<bool> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["read"].as_bool().unwrap())
        .collect();
    assert_eq!(read, [false, false, false, true, true, true, true, true, true]);
    // An older mark never makes entries unread again.
    let oldest = page["items"][8]["id"].as_str().unwrap();
    let r = ada
        .post("/api/v1/me/notifications/read", json!({ "up_to": oldest }))
        .await;
    assert_eq!(r.body["unread"], 3, "{}", r.body);
    let r = ada.post("/api/v1/me/notifications/read", json!({})).await;
    assert_eq!(r.body["unread"], 0, "{}", r.body);

    // The shortlist, once published, reaches the authors on it (the jam closed by the clock; past
    // the staff sign-in's 12 hours, so a facilitator signs in again).
    jam.d.set_clock(t0() + Duration::days(3) + Duration::hours(1));
    let fac = Client::as_new_staff(&base, "facilitator").await;
    let r = fac
        .post(&format!("/api/v1/jams/{}/shortlist/publish", jam.slug), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let page = inbox(&ada).await;
    assert_eq!(page["items"][0]["kind"], "idea_shortlisted", "{page}");
    assert_eq!(page["unread"], 1, "{page}");
}

#[actix_rt::test]
async fn the_mention_picker_offers_the_jams_participants_by_name_prefix() {
    let jam = live_jam(Deployment::sqlite(t0()), "inbox-pick").await;
    let base = jam.node.base.clone();
    let code = &jam.codes[0].1;
    let ada = join(&base, &jam.slug, code, "Ada").await;
    join(&base, &jam.slug, code, "Éloïse").await;
    join(&base, &jam.slug, code, "adam_50%").await;
    let (other, _, other_codes) = create_jam(&jam.fac, "inbox-pick-b").await;
    join(&base, &other, &other_codes[0].1, "Adaline").await;
    let pick = |q: &str| {
        let ada = &ada;
        let path = format!("/api/v1/jams/{}/mentions?q={}", jam.slug, urlencode(q));
        async move {
            let r = ada.get(&path).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["display_name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(pick("ad").await, ["Ada", "adam_50%"]);
    assert_eq!(pick("ADAM_").await, ["adam_50%"]);
    // `%` and `_` match themselves only.
    assert!(pick("a%").await.is_empty());
    assert_eq!(pick("éloï").await, ["Éloïse"]);
    assert!(pick("").await.is_empty());
    ada.get(&format!(
        "/api/v1/jams/{}/mentions?q={}",
        jam.slug,
        "x".repeat(201)
    ))
    .await
    .assert_problem(422);
    ada.get(&format!("/api/v1/jams/{other}/mentions?q=ad"))
        .await
        .assert_problem(404);
}

#[actix_rt::test]
async fn the_inbox_refuses_staff_strangers_and_bad_input_clearly() {
    let jam = live_jam(Deployment::sqlite(t0()), "inbox-refuse").await;
    let base = jam.node.base.clone();
    let ada = join(&base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let idea = id(&post_idea(&ada, &jam.open, "Night buses", "All night.", json!([])).await);
    Client::new(&base)
        .get("/api/v1/me/notifications")
        .await
        .assert_problem(401);
    jam.fac.get("/api/v1/me/notifications").await.assert_problem(403);
    jam.fac
        .send_json(Method::PUT, &format!("/api/v1/ideas/{idea}/follow"), Value::Null)
        .await
        .assert_problem(403);
    ada.send_json(
        Method::PUT,
        &format!("/api/v1/ideas/{}/follow", uuid::Uuid::now_v7()),
        Value::Null,
    )
    .await
    .assert_problem(404);
    ada.get("/api/v1/me/notifications?cursor=nope")
        .await
        .assert_problem(422);
    ada.get("/api/v1/me/notifications?limit=0")
        .await
        .assert_problem(422);
    ada.post("/api/v1/me/notifications/read", json!({ "up_to": "nope" }))
        .await
        .assert_problem(422);
    ada.post("/api/v1/me/notifications/read", json!({ "everything": true }))
        .await
        .assert_problem(422);
    // Nothing was lost: the inbox still answers.
    assert_eq!(inbox(&ada).await["unread"], 0);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}
