//! Themes and hot topics (issue 16), seen from outside: ideas on four topics form themes at the
//! re-clustering job's next run; members read them (with label terms, size, hot score, trend, run
//! time) and page through a theme's ideas with cursors; participants see visible ideas only; the
//! hot score and trend follow the activity of the last window; a new idea joins its theme at the
//! next run; the results carry each idea's theme label. Time is the deployment's file clock: the job
//! runs a jam at most once per `pulse.themes_every_secs` of that clock, so the test moves it.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::fixtures::*;
use crate::support::*;
use crate::ws::*;

/// Four topics; ideas reuse their topic's words so the topics separate.
const TOPICS: [[&str; 5]; 4] = [
    ["canteen", "lunch", "menu", "vegetarian", "queue"],
    ["bicycle", "parking", "shower", "racks", "commute"],
    ["meeting", "agenda", "minutes", "rooms", "shorter"],
    ["printer", "toner", "scanner", "paper", "cartridge"],
];

fn text(topic: usize, i: usize) -> (String, String) {
    let w = TOPICS[topic];
    (
        format!("{} {} {}", w[i % 5], w[(i + 1) % 5], w[(i + 2) % 5]),
        format!(
            "More {} and {}, better {} for all.",
            w[(i + 3) % 5],
            w[(i + 4) % 5],
            w[i % 5]
        ),
    )
}

fn is_bikes(theme: &Value) -> bool {
    theme["label"].as_array().unwrap().iter().any(|t| {
        TOPICS[1]
            .iter()
            .any(|w| t.as_str().unwrap().to_lowercase().starts_with(&w[..5]))
    })
}

/// Waits until the themes were computed at `run_at` (the job's run at that file-clock time).
async fn themes_at(c: &Client, slug: &str, run_at: DateTime<Utc>) -> Value {
    let path = format!("/api/v1/jams/{slug}/themes");
    let found = eventually(StdDuration::from_secs(30), || async {
        let r = c.get(&path).await;
        let at = r.body["run_at"]
            .as_str()
            .and_then(|s| s.parse::<DateTime<Utc>>().ok());
        (r.status == 200 && at == Some(run_at)).then_some(r.body)
    })
    .await;
    found.unwrap_or_else(|| panic!("GET {path} never showed a run at {run_at}"))
}

#[actix_rt::test]
async fn ideas_form_themes_that_members_read_with_their_heat_and_page_through() {
    let mut d = Deployment::sqlite(t0());
    d.extra_env.extend([
        ("JAM__PULSE__THEMES_EVERY_SECS".into(), "1".into()),
        ("JAM__RATE_LIMITS__IDEAS__COUNT".into(), "100000".into()),
    ]);
    let jam = live_jam(d, "themes-jam").await;
    let base = jam.node.base.clone();
    let people = [
        join(&base, &jam.slug, &jam.codes[0].1, "Ada").await,
        join(&base, &jam.slug, &jam.codes[1].1, "Bea").await,
        join(&base, &jam.slug, &jam.codes[0].1, "Cy").await,
    ];
    let list = format!("/api/v1/jams/{}/themes", jam.slug);

    // Before any idea: no themes, no run.
    let empty = people[0].get(&list).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(empty.body["themes"], json!([]));
    assert_eq!(empty.body["run_at"], Value::Null);
    assert_eq!(empty.body["window_minutes"], 60);

    // Forty ideas at t0 + 1 min, then the clock moves on: the job's next run takes them all.
    jam.d.set_clock(t0() + Duration::minutes(1));
    let mut bike_ideas = Vec::new();
    for i in 0..10 {
        for topic in 0..4 {
            let (title, body) = text(topic, i);
            let idea = post_idea(&people[(i + topic) % 3], &jam.open, &title, &body, json!([])).await;
            if topic == 1 {
                bike_ideas.push(id(&idea));
            }
        }
    }
    // A lobby open on the jam's topic hears of the run.
    let mut lobby = LiveClient::connect(&people[1]).await;
    let jam_topic = format!("jam:{}", jam.jam_id);
    assert_eq!(lobby.subscribe(&jam_topic, None).await["type"], "subscribed");
    let first_run = t0() + Duration::minutes(2);
    jam.d.set_clock(first_run);
    let view = themes_at(&people[0], &jam.slug, first_run).await;
    let themes = view["themes"].as_array().unwrap();
    assert!(themes.len() >= 3, "{view}");
    let bikes = themes
        .iter()
        .find(|t| is_bikes(t))
        .unwrap_or_else(|| panic!("{view}"))
        .clone();
    let bikes_id = id(&bikes);
    let told = lobby
        .recv_until(|m| {
            m["type"] == "event"
                && m["event"]["kind"] == "themes.updated"
                && m["event"]["run_at"] == view["run_at"]
        })
        .await;
    assert_eq!(told["event"]["jam_id"], jam.jam_id.as_str());
    assert_eq!(told["event"]["themes"], themes.len());
    let label = bikes["label"].as_array().unwrap();
    assert!((1..=5).contains(&label.len()), "{bikes}");
    assert!(bikes["size"].as_u64().unwrap() >= 8, "{bikes}");
    assert_eq!(
        bikes["run_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        first_run
    );
    // Every idea was posted within the window (the last hour): each theme is hot, and rising
    // from nothing before.
    for theme in themes {
        assert!(
            theme["hot_score"].as_u64().unwrap() >= 3 * theme["size"].as_u64().unwrap(),
            "{theme}"
        );
        assert_eq!(theme["previous_score"], 0, "{theme}");
        assert_eq!(theme["trend"], "rising", "{theme}");
    }

    // The theme's ideas: pages of three, newest first, through every one, no repeats.
    let ideas_path = format!("/api/v1/jams/{}/themes/{bikes_id}/ideas", jam.slug);
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor.as_ref().map_or(String::new(), |c| format!("&cursor={c}"));
        let page = people[1].get(&format!("{ideas_path}?limit=3{q}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(ids(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len() as u64, bikes["size"].as_u64().unwrap());
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted, "newest first (v7 ids)");
    let in_bikes = seen.iter().filter(|i| bike_ideas.contains(i)).count();
    assert!(
        in_bikes * 10 >= seen.len() * 8,
        "{in_bikes} of {} are bike ideas",
        seen.len()
    );

    // Refusals: bad cursor and limit, unknown theme, a theme id that is no id; outsiders get 404.
    people[0]
        .get(&format!("{ideas_path}?cursor=nope"))
        .await
        .assert_problem(422);
    people[0]
        .get(&format!("{ideas_path}?limit=0"))
        .await
        .assert_problem(422);
    people[0]
        .get(&format!(
            "/api/v1/jams/{}/themes/{}/ideas",
            jam.slug,
            uuid::Uuid::now_v7()
        ))
        .await
        .assert_problem(404);
    people[0]
        .get(&format!("/api/v1/jams/{}/themes/not-an-id/ideas", jam.slug))
        .await
        .assert_problem(404);
    Client::new(&base).get(&list).await.assert_problem(401);

    // A hidden idea leaves the participants' pages and stays in the staff's.
    let hidden = &seen[0];
    let r = jam
        .fac
        .post(&format!("/api/v1/ideas/{hidden}/hide"), json!({}))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let theirs = ids(&people[1].get(&format!("{ideas_path}?limit=100")).await.body);
    assert!(!theirs.contains(hidden));
    let staff = ids(&jam.fac.get(&format!("{ideas_path}?limit=100")).await.body);
    assert!(staff.contains(hidden));

    // Two and a half hours on, the first posts are out of both windows. A new bike idea, a reply
    // and votes on the bikes' theme make it the hottest and rising; the others stay at nothing.
    let later = first_run + Duration::minutes(150);
    jam.d.set_clock(later);
    let (title, body) = (
        "bicycle racks and a shower",
        "Secure bicycle parking for the commute.",
    );
    let new_idea = id(&post_idea(&people[0], &jam.open, title, body, json!([])).await);
    for person in &people {
        for idea in &seen[1..4] {
            assert!(vote(person, idea, 1).await.status.is_success());
        }
    }
    let comment = people[2]
        .post(
            &format!("/api/v1/ideas/{}/comments", seen[1]),
            json!({ "body": "Yes please" }),
        )
        .await;
    assert_eq!(comment.status, 201, "{}", comment.body);
    let second_run = later + Duration::minutes(1);
    jam.d.set_clock(second_run);
    let view = themes_at(&people[0], &jam.slug, second_run).await;
    let themes = view["themes"].as_array().unwrap();
    let hottest = &themes[0];
    assert_eq!(
        id(hottest),
        bikes_id,
        "the bikes' theme keeps its id and is hottest: {view}"
    );
    assert_eq!(
        hottest["activity"],
        json!({ "ideas": 1, "comments": 1, "votes": 9 }),
        "{hottest}"
    );
    assert_eq!(hottest["hot_score"], 3 + 2 + 9);
    assert_eq!(hottest["trend"], "rising", "{hottest}");
    for theme in &themes[1..] {
        assert_eq!(theme["hot_score"], 0, "{theme}");
        assert_eq!(theme["trend"], "steady", "{theme}");
    }
    // The new idea got its theme by this run.
    let first_page = ids(&people[0].get(&format!("{ideas_path}?limit=1")).await.body);
    assert_eq!(first_page, std::slice::from_ref(&new_idea));

    // The results carry each idea's theme label.
    let results = jam
        .fac
        .get(&format!("/api/v1/jams/{}/results.json", jam.slug))
        .await;
    assert_eq!(results.status, 200, "{}", results.body);
    let label_text = hottest["label"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(", ");
    let item = results.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["idea"]["id"] == json!(new_idea))
        .unwrap()
        .clone();
    assert_eq!(item["idea"]["theme"], json!(label_text), "{item}");
}
