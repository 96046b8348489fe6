//! The jam's mood (issue 16), seen from outside: posts carry their sentiment, the mood series
//! shows a planted turn in the right bucket, and the negative-mood alert fires exactly once on the
//! staff topic. Time is the deployment's file clock: the replay moves it, never sleeps.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::fixtures::*;
use crate::support::*;
use crate::ws::{LiveClient, event_kind};

const NEGATIVE: [&str; 3] = [
    "This process is terrible, broken and frustrating.",
    "I hate how slow and useless these tools are.",
    "C'est nul et mauvais, vraiment décevant et pénible.",
];
const POSITIVE: [&str; 3] = [
    "Great idea, I love how simple and helpful this is!",
    "Excellent plan, this would make our work so much better.",
    "Une idée excellente et magnifique, vraiment formidable.",
];

/// Twenty hours of a jam, four posts (three ideas, one comment) every ten minutes: negative for
/// the first ten hours, positive after. The series turns in bucket 60 (10 h) and the alert fires
/// once, in the first hour, and re-arms after the turn.
#[actix_rt::test]
async fn a_planted_negative_first_ten_hours_turns_in_its_bucket_and_alerts_staff_once() {
    let mut d = Deployment::sqlite(t0());
    d.extra_env.extend([
        ("JAM__PULSE__ALERT_TICK_MS".into(), "20".into()),
        // The replay spans 20 hours; the facilitator's sign-in (12 h by default) must outlast it.
        ("JAM__AUTH__STAFF_SESSION_HOURS".into(), "48".into()),
        ("JAM__RATE_LIMITS__IDEAS__COUNT".into(), "100000".into()),
        ("JAM__RATE_LIMITS__COMMENTS__COUNT".into(), "100000".into()),
    ]);
    let jam = live_jam(d, "mood-jam").await;
    let base = jam.node.base.clone();
    let people = [
        join(&base, &jam.slug, &jam.codes[0].1, "Ada").await,
        join(&base, &jam.slug, &jam.codes[1].1, "Bea").await,
        join(&base, &jam.slug, &jam.codes[0].1, "Cy").await,
    ];

    // Participants may not read the staff topic or the mood.
    let staff_topic = format!("staff:{}", jam.jam_id);
    let mut theirs = LiveClient::connect(&people[0]).await;
    let refused = theirs.subscribe(&staff_topic, None).await;
    assert_eq!(refused["type"], "error", "{refused}");
    people[0]
        .get(&format!("/api/v1/jams/{}/mood", jam.slug))
        .await
        .assert_problem(403);

    let step = |k: i64| t0() + Duration::minutes(10 * k + 1);
    for k in 0..120 {
        jam.d.set_clock(step(k));
        let texts = if k < 60 { NEGATIVE } else { POSITIVE };
        let mut first = String::new();
        for (i, person) in people.iter().enumerate() {
            let idea = post_idea(
                person,
                &jam.open,
                &format!("Step {k} idea {i}"),
                texts[i],
                json!([]),
            )
            .await;
            if i == 0 {
                first = id(&idea);
                let expected = if k < 60 { "negative" } else { "positive" };
                assert_eq!(idea["sentiment"], expected, "{idea}");
                let score = idea["sentiment_score"].as_f64().unwrap();
                assert!((-1.0..=1.0).contains(&score), "{idea}");
            }
        }
        let comment = people[1]
            .post(
                &format!("/api/v1/ideas/{first}/comments"),
                json!({ "body": texts[1] }),
            )
            .await;
        assert_eq!(comment.status, 201, "{}", comment.body);
        assert!(comment.body["sentiment"].is_string(), "{}", comment.body);
    }

    // Past the last post; the alert has evaluated every minute up to the last complete one.
    let end = t0() + Duration::hours(20) + Duration::minutes(10);
    jam.d.set_clock(end);
    let mood_path = format!("/api/v1/jams/{}/mood?bucket_minutes=10", jam.slug);
    let done = end - Duration::minutes(1);
    let mood = eventually(StdDuration::from_secs(60), || async {
        let r = jam.fac.get(&mood_path).await;
        let at = r.body["alert"]["evaluated_until"]
            .as_str()
            .and_then(|s| s.parse::<DateTime<Utc>>().ok());
        (r.status == 200 && at >= Some(done)).then_some(r)
    })
    .await;
    let Some(mood) = mood else {
        let last = jam.fac.get(&mood_path).await;
        let logs = jam.node.logs.lock().unwrap().clone();
        let mood: Vec<&String> = logs.iter().filter(|l| l.contains("mood")).collect();
        panic!(
            "the alert never evaluated up to {done}: {} {}; jamd said: {mood:?}",
            last.status, last.body["alert"]
        )
    };

    let buckets = mood.body["buckets"].as_array().unwrap();
    let count = |b: &serde_json::Value, label: &str| b[label].as_u64().unwrap();
    assert_eq!(count(&buckets[0], "negative"), 4, "{}", buckets[0]);
    let total: u64 = buckets
        .iter()
        .map(|b| count(b, "negative") + count(b, "neutral") + count(b, "positive"))
        .sum();
    assert_eq!(total, 480);
    let crossover = buckets
        .iter()
        .position(|b| count(b, "positive") > count(b, "negative"))
        .expect("the mood turns");
    println!(
        "mood crossover at bucket {crossover} (planted: 60), {}",
        buckets[crossover]
    );
    assert!(
        crossover.abs_diff(60) <= 1,
        "crossover in bucket {crossover}, planted in 60"
    );
    let alert = &mood.body["alert"];
    assert_eq!(alert["fired"], 1, "{alert}");
    assert_eq!(alert["active"], false, "re-armed after the turn: {alert}");
    assert_eq!(
        mood.body["most_negative"][0]["sentiment_score"]
            .as_f64()
            .map(|s| s < 0.0),
        Some(true)
    );
    assert_eq!(
        mood.body["most_positive"][0]["sentiment_score"]
            .as_f64()
            .map(|s| s > 0.0),
        Some(true)
    );

    // The drill-down into the last bucket finds only positive ideas.
    // The series runs to the clock's bucket (20:10, empty); the last posts are in 19:50's.
    let last = buckets.iter().rev().find(|b| count(b, "positive") > 0).unwrap()["start"]
        .as_str()
        .unwrap()
        .to_owned();
    let from = (last.parse::<DateTime<Utc>>().unwrap() - Duration::minutes(10)).to_rfc3339();
    let drill = jam
        .fac
        .get(&format!(
            "/api/v1/jams/{}/mood?from={}&to={}",
            jam.slug,
            urlencode(&from),
            urlencode(&last)
        ))
        .await;
    assert_eq!(drill.status, 200, "{}", drill.body);
    assert_eq!(
        drill.body["most_negative"].as_array().unwrap().len(),
        0,
        "{}",
        drill.body
    );
    assert_eq!(
        drill.body["most_positive"].as_array().unwrap().len(),
        3,
        "{}",
        drill.body
    );

    // Exactly one event was ever published on the staff topic: the alert, in the first hour.
    let mut staff = LiveClient::connect(&jam.fac).await;
    let subscribed = staff.subscribe(&staff_topic, None).await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    assert_eq!(
        subscribed["offset"], 1,
        "one event on the staff topic: {subscribed}"
    );
    let epoch = subscribed["epoch"].as_str().unwrap().to_owned();
    let mut replay = LiveClient::connect(&jam.fac).await;
    let (events, _) = replay.resume(&staff_topic, 0, &epoch).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(event_kind(&events[0]), "mood.alert", "{}", events[0]);
    let fired_at: DateTime<Utc> = events[0]["event"]["at"].as_str().unwrap().parse().unwrap();
    assert!(fired_at < t0() + Duration::hours(1), "fired at {fired_at}");
    assert!(events[0]["event"]["negative_share"].as_f64().unwrap() > 0.5);
}

#[actix_rt::test]
async fn the_mood_refuses_bad_buckets_sessions_and_windows_with_problems() {
    let jam = live_jam(Deployment::sqlite(t0()), "mood-input").await;
    let path = |q: &str| format!("/api/v1/jams/{}/mood?{q}", jam.slug);
    for q in [
        "bucket_minutes=0",
        "bucket_minutes=1441",
        "session=not-a-uuid",
        "session=00000000-0000-0000-0000-000000000000",
        "from=yesterday",
        "from=2027-03-02T00:00:00Z&to=2027-03-01T00:00:00Z",
        "limit=0",
    ] {
        let r = jam.fac.get(&path(q)).await;
        r.assert_problem(422);
    }
    let r = jam.fac.get(&path(&format!("session={}", jam.open))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["buckets"].as_array().unwrap().len(), 0, "no posts yet");
    assert_eq!(r.body["alert"]["active"], false);
    assert_eq!(r.body["alert"]["threshold"], 0.5);
    assert_eq!(r.body["alert"]["window_minutes"], 30);
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}
