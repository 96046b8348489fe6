//! Live tallies (`DESIGN.md` §3): votes are coalesced into one `tally` message per session per tick,
//! and a subscriber's counts equal the database's within 2 s of the last vote. Single node on
//! SQLite here; `cluster.rs` checks three nodes on PostgreSQL and Redis.

use std::collections::HashMap;
use std::time::{Duration as StdDuration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::fixtures::*;
use crate::support::*;
use crate::ws::*;

/// Counts `(up, down)` per idea id.
pub type Counts = HashMap<String, (u64, u64)>;

/// What one live connection learned from `tally` messages.
#[derive(Default)]
pub struct Tallies {
    /// Topic → idea → the last counts received.
    pub latest: HashMap<String, Counts>,
    /// Topic → every tally message, in order of arrival.
    pub messages: HashMap<String, Vec<Value>>,
}

impl Tallies {
    /// Takes in one message; checks a tally's shape (`{id, up, down, score}` per idea, score the
    /// Wilson lower bound the API answers too).
    pub fn absorb(&mut self, m: &Value) {
        if m["type"] != "tally" {
            return;
        }
        let topic = m["topic"].as_str().unwrap().to_owned();
        let latest = self.latest.entry(topic.clone()).or_default();
        for idea in m["ideas"].as_array().unwrap_or_else(|| panic!("no ideas in {m}")) {
            let (up, down) = (idea["up"].as_u64().unwrap(), idea["down"].as_u64().unwrap());
            let score = idea["score"].as_f64().unwrap();
            let expected = jam_domain::ranking::wilson_lower_bound(up, down);
            assert!((score - expected).abs() < 1e-12, "{m}");
            latest.insert(idea["id"].as_str().unwrap().to_owned(), (up, down));
        }
        self.messages.entry(topic).or_default().push(m.clone());
    }

    /// True when the last counts received on `topic` equal `want` for every idea in it.
    pub fn matches(&self, topic: &str, want: &Counts) -> bool {
        let latest = self.latest.get(topic);
        want.iter()
            .all(|(id, counts)| latest.and_then(|l| l.get(id)) == Some(counts))
    }

    pub fn count(&self, topic: &str) -> usize {
        self.messages.get(topic).map_or(0, Vec::len)
    }
}

/// Reads `live` (absorbing tallies) until `topic`'s tallies equal `want`; the time that took, or
/// `None` after `within`.
pub async fn await_tallies(
    live: &mut LiveClient,
    tallies: &mut Tallies,
    topic: &str,
    want: &Counts,
    within: StdDuration,
) -> Option<StdDuration> {
    let started = Instant::now();
    let deadline = started + within;
    loop {
        if tallies.matches(topic, want) {
            return Some(started.elapsed());
        }
        let left = deadline.checked_duration_since(Instant::now())?;
        match live.next_within(left).await? {
            Ok(m) => tallies.absorb(&m),
            Err(code) => panic!("live connection closed with {code:?}"),
        }
    }
}

/// Reads whatever arrives within `wait`, absorbing tallies.
pub async fn drain(live: &mut LiveClient, tallies: &mut Tallies, wait: StdDuration) {
    while let Some(Ok(m)) = live.next_within(wait).await {
        tallies.absorb(&m);
    }
}

/// The counts the API answers for each idea (the database's).
pub async fn api_counts(c: &Client, ideas: &[String]) -> Counts {
    let mut counts = Counts::new();
    for idea in ideas {
        let r = c.get(&format!("/api/v1/ideas/{idea}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        counts.insert(
            idea.clone(),
            (r.body["up"].as_u64().unwrap(), r.body["down"].as_u64().unwrap()),
        );
    }
    counts
}

/// Rows of the tally's change log still waiting to be published: none once a tick has gone by
/// without votes.
pub async fn queued_changes(db: &sea_orm::DatabaseConnection) -> i64 {
    use sea_orm::ConnectionTrait;
    let backend = db.get_database_backend();
    let sql = "SELECT COUNT(*) AS n FROM tally_dirty";
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(backend, sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

/// Every voter votes on every idea at once (values spread over +1, -1 and 0); returns the votes
/// cast.
pub async fn vote_burst(voters: &[Client], ideas: &[String], round: usize) -> usize {
    let mut calls = Vec::new();
    for (v, voter) in voters.iter().enumerate() {
        for (i, idea) in ideas.iter().enumerate() {
            let value = match (v + i + round) % 4 {
                0 | 1 => 1,
                2 => -1,
                _ => 0,
            };
            calls.push(async move {
                let r = vote(voter, idea, value).await;
                assert_eq!(r.status, 200, "{}", r.body);
            });
        }
    }
    let n = calls.len();
    join_all(calls).await;
    n
}

#[actix_rt::test]
async fn a_burst_of_votes_reaches_subscribers_as_few_tally_messages_with_the_database_counts() {
    let jam = live_jam(Deployment::sqlite(t0()), "tally-burst").await;
    let base = jam.node.base.clone();
    let author = join(&base, &jam.slug, &jam.codes[0].1, "Author").await;
    let mut ideas = Vec::new();
    for n in 0..3 {
        ideas.push(id(&post_idea(
            &author,
            &jam.open,
            &format!("Idea {n}"),
            "Vote on me",
            json!([]),
        )
        .await));
    }
    let mut voters = Vec::new();
    for n in 0..12 {
        voters.push(join(&base, &jam.slug, &jam.codes[n % 3].1, &format!("Voter {n}")).await);
    }
    let watcher = join(&base, &jam.slug, &jam.codes[1].1, "Watcher").await;
    let mut live = LiveClient::connect(&watcher).await;
    let session_topic = format!("session:{}", jam.open);
    let idea_topic = format!("idea:{}", ideas[0]);
    assert_eq!(live.subscribe(&session_topic, None).await["type"], "subscribed");
    assert_eq!(live.subscribe(&idea_topic, None).await["type"], "subscribed");

    let mut votes = vote_burst(&voters, &ideas, 0).await;
    votes += vote_burst(&voters[..6], &ideas, 1).await;
    let want = api_counts(&watcher, &ideas).await;
    let mut tallies = Tallies::default();
    let lag = await_tallies(
        &mut live,
        &mut tallies,
        &session_topic,
        &want,
        StdDuration::from_secs(5),
    )
    .await
    .unwrap_or_else(|| panic!("tallies {:?} never reached {want:?}", tallies.latest));
    // Whatever else is on its way (nothing new should be).
    drain(&mut live, &mut tallies, StdDuration::from_millis(1200)).await;
    assert!(
        tallies.matches(&session_topic, &want),
        "a later tally disagrees: {:?}",
        tallies.latest
    );
    assert_eq!(
        tallies.count(&idea_topic),
        0,
        "the idea's own topic carries no tally: its page reads its session's, so each change reaches it once"
    );
    let messages = tallies.count(&session_topic);
    assert_eq!(
        queued_changes(&open_db(&jam.d).await).await,
        0,
        "published changes leave the queue"
    );
    println!(
        "tally (sqlite, 1 node): {votes} votes -> {messages} tally messages on the session topic; \
         counts equal the API {lag:?} after the last vote answered"
    );
    assert!(lag < StdDuration::from_secs(2), "lag {lag:?}");
    assert!(
        messages < votes / 4,
        "votes are coalesced: {messages} tally messages for {votes} votes"
    );
    for m in &tallies.messages[&session_topic] {
        for idea in m["ideas"].as_array().unwrap() {
            assert!(ideas.iter().any(|i| idea["id"] == *i), "{m}");
        }
    }
}
