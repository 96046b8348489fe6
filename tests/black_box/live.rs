//! The live connection through a real jamd: cookie and Origin checks, events from writes and from
//! the schedule runner, permission per topic, replay with `since`, and 1001 on shutdown.

use chrono::Duration;
use serde_json::json;

use crate::fixtures::*;
use crate::support::*;
use crate::ws::*;

#[actix_rt::test]
async fn writes_and_the_schedule_reach_subscribers_live() {
    let jam = live_jam(Deployment::sqlite(t0()), "live-jam").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let bob = join(&jam.node.base, &jam.slug, &jam.codes[1].1, "Bob").await;

    let mut live = LiveClient::connect(&bob).await;
    let jam_topic = format!("jam:{}", jam.jam_id);
    let session_topic = format!("session:{}", jam.open);
    let subscribed = live.subscribe(&session_topic, None).await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    assert_eq!(live.subscribe(&jam_topic, None).await["type"], "subscribed");

    let idea = post_idea(&ada, &jam.open, "Live idea", "Seen at once", json!([])).await;
    let created = live
        .recv_until(|m| m["topic"] == session_topic && event_kind(m) == "idea.created")
        .await;
    assert_eq!(created["event"]["idea"]["id"], idea["id"], "{created}");
    let first_offset = created["offset"].as_u64().unwrap();

    let r = jam
        .fac
        .post(
            &format!("/api/v1/jams/{}/announcements", jam.slug),
            json!({ "text": "Coffee at 3" }),
        )
        .await;
    assert_eq!(r.status, 201);
    let announced = live.recv_until(|m| event_kind(m) == "announcement").await;
    assert_eq!(announced["event"]["text"], "Coffee at 3");
    assert_eq!(announced["topic"], jam_topic);

    // The schedule runner closes the session when the clock passes closes_at. Its `session.opened`
    // may land after the idea on a busy machine (its first tick races the post): every event of the
    // topic since the idea is kept, and their offsets must increase by exactly one.
    jam.d.set_clock(t0() + Duration::hours(24));
    let mut since_idea = vec![created.clone()];
    loop {
        let m = live
            .recv_until(|m| m["topic"] == session_topic && m["type"] == "event")
            .await;
        let closed = event_kind(&m) == "session.closed";
        since_idea.push(m);
        if closed {
            break;
        }
    }
    let offsets: Vec<u64> = since_idea.iter().map(|m| m["offset"].as_u64().unwrap()).collect();
    let consecutive: Vec<u64> = (first_offset..first_offset + offsets.len() as u64).collect();
    assert_eq!(
        offsets, consecutive,
        "offsets of a topic increase by one: {since_idea:?}"
    );
    let last_offset = *offsets.last().unwrap();

    // A reconnect with `since` gets exactly what it missed, in order.
    let epoch = subscribed["epoch"].as_str().unwrap().to_owned();
    drop(live);
    let mut again = LiveClient::connect(&bob).await;
    let (replayed, now_at) = again.resume(&session_topic, first_offset - 1, &epoch).await;
    assert_eq!(replayed, since_idea, "the replay is what was seen live");
    assert_eq!(now_at["type"], "subscribed");
    assert_eq!(now_at["offset"].as_u64().unwrap(), last_offset);
}

#[actix_rt::test]
async fn the_live_endpoint_checks_the_cookie_the_origin_and_each_topic() {
    let jam = live_jam(Deployment::sqlite(t0()), "live-guard").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    assert_eq!(
        LiveClient::try_connect(&Client::new(&jam.node.base), Some(ORIGIN))
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        LiveClient::try_connect(&ada, Some("https://evil.example"))
            .await
            .err(),
        Some(403)
    );
    assert_eq!(LiveClient::try_connect(&ada, None).await.err(), Some(403));

    let (other, other_id, other_codes) = create_jam(&jam.fac, "live-other").await;
    let _ = (other, other_codes);
    let mut live = LiveClient::connect(&ada).await;
    let refused = live.subscribe(&format!("jam:{other_id}"), None).await;
    assert_eq!(refused["type"], "error", "{refused}");
    live.send(json!({ "type": "ping", "id": 7 })).await;
    let pong = live.recv_until(|m| m["type"] == "pong").await;
    assert_eq!(
        pong["id"], 7,
        "the connection stays open after a refused subscription"
    );
}

#[actix_rt::test]
async fn shutting_down_closes_live_connections_with_1001() {
    let jam = live_jam(Deployment::sqlite(t0()), "live-bye").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let mut live = LiveClient::connect(&ada).await;
    live.subscribe(&format!("jam:{}", jam.jam_id), None).await;
    let Live { node, d, .. } = jam;
    let stopper = std::thread::spawn(move || node.stop());
    let code = loop {
        match live.next().await {
            Ok(_) => continue,
            Err(code) => break code,
        }
    };
    assert_eq!(code, Some(1001));
    assert!(stopper.join().unwrap().success());
    drop(d);
}
