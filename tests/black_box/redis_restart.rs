//! Redis restarted under a running cluster (issue 4: "after Redis is restarted every client either
//! replays exactly or gets `resync`, and the state it then refetches equals the database").
//!
//! Two `jamd` nodes on PostgreSQL and a `redis-server` of this test's own (a free port, no
//! persistence), which the test kills with SIGKILL and starts again on the same port: every key is
//! lost, as after a crash of a Redis without persistence. The shared Redis of the other tests is
//! never touched.
//!
//! Runs when `JAM_TEST_DATABASE_URL` is set and `redis-server` is on `PATH` (skipped with a
//! `SKIPPED:` line otherwise; mandatory with `JAM_TEST_REQUIRE_SERVICES=1`).

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use jam_store::entity::{comments, ideas};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cluster::{comment, db_counts, on};
use crate::fixtures::*;
use crate::support::*;
use crate::tally::*;
use crate::ws::*;

/// How long a node may take to notice the outage, or to reconnect after it (its pub/sub backoff is
/// capped at 5 s) and tell its clients.
const RECOVERY: StdDuration = StdDuration::from_secs(30);

// ---------------------------------------------------------------------------------------------------------
// A redis-server of the test's own.

fn redis_server_on_path() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// One `redis-server` child process, killed when dropped.
struct OwnRedis {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts on a free port (trying another if the port was taken meanwhile).
    fn start(dir: &Path) -> OwnRedis {
        for _ in 0..5 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut redis = OwnRedis {
                port,
                dir: dir.to_owned(),
                child: None,
            };
            if redis.spawn() {
                return redis;
            }
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    /// Spawns the server on `self.port` and waits until it answers; false when it exited first
    /// (the port was taken).
    fn spawn(&mut self) -> bool {
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let deadline = Instant::now() + StdDuration::from_secs(10);
        loop {
            if self.answers() {
                self.child = Some(child);
                return true;
            }
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("redis-server on port {} did not answer within 10 s", self.port);
            }
            std::thread::sleep(StdDuration::from_millis(20));
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// True when the server answers `PING` with `PONG` (not, e.g., `LOADING`).
    fn answers(&self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let Ok(stream) = TcpStream::connect_timeout(&addr, StdDuration::from_millis(500)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(StdDuration::from_secs(1)));
        let Ok(mut writer) = stream.try_clone() else {
            return false;
        };
        if writer.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
            return false;
        }
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).is_ok() && line.trim_end() == "+PONG"
    }

    /// SIGKILL: the server dies with every key it held.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        assert!(!self.answers(), "redis-server still answers after SIGKILL");
    }

    /// Starts the server again on the same port, empty.
    fn restart(&mut self) {
        assert!(self.child.is_none(), "restart after kill");
        assert!(
            self.spawn(),
            "redis-server could not start again on port {}",
            self.port
        );
    }

    fn command(&self, args: &[&str]) -> String {
        crate::cluster::redis_command(&self.url(), args)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// A live client that files what it receives by topic.

/// One browser tab holding topics: what it has been sent per topic, in order, and its tallies.
struct Watcher {
    name: String,
    live: LiveClient,
    /// Topic → `(last offset, epoch)` the client holds.
    at: HashMap<String, (u64, String)>,
    /// Topic → events, resyncs, subscribed replies and errors received and not yet looked at.
    inbox: HashMap<String, VecDeque<Value>>,
    tallies: Tallies,
}

impl Watcher {
    async fn connect(name: &str, who: &Client) -> Watcher {
        Watcher {
            name: name.to_owned(),
            live: LiveClient::connect(who).await,
            at: HashMap::new(),
            inbox: HashMap::new(),
            tallies: Tallies::default(),
        }
    }

    /// The next message of `topic` (event, resync, subscribed or error), reading and filing the
    /// others; panics after `within`.
    async fn next_on(&mut self, topic: &str, within: StdDuration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            if let Some(m) = self.inbox.get_mut(topic).and_then(VecDeque::pop_front) {
                return m;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let m = match self.live.next_within(left).await {
                Some(Ok(m)) => m,
                Some(Err(code)) => panic!("{}: live connection closed with {code:?}", self.name),
                None => panic!("{}: nothing on {topic} within {within:?}", self.name),
            };
            match m["type"].as_str() {
                Some("tally") => self.tallies.absorb(&m),
                Some("presence") | Some("pong") => {}
                _ => {
                    let to = m["topic"].as_str().unwrap_or_default().to_owned();
                    self.inbox.entry(to).or_default().push_back(m);
                }
            }
        }
    }

    /// Subscribes without `since` and records where the topic stands.
    async fn subscribe(&mut self, topic: &str) -> (u64, String) {
        self.live
            .send(json!({ "type": "subscribe", "topic": topic }))
            .await;
        let m = self.next_on(topic, WAIT).await;
        assert_eq!(m["type"], "subscribed", "{}: {m}", self.name);
        let at = (
            m["offset"].as_u64().unwrap(),
            m["epoch"].as_str().unwrap().to_owned(),
        );
        self.at.insert(topic.to_owned(), at.clone());
        at
    }

    /// The next event of `topic`, which must be the one right after the last offset held.
    async fn next_event(&mut self, topic: &str) -> Value {
        let m = self.next_on(topic, WAIT).await;
        assert_eq!(m["type"], "event", "{}: {m}", self.name);
        let at = self.at.get_mut(topic).unwrap();
        assert_eq!(
            m["offset"].as_u64(),
            Some(at.0 + 1),
            "{}: offsets of {topic} increase by exactly one: {m}",
            self.name
        );
        at.0 += 1;
        m
    }

    /// The next event of `topic` of this kind; events of other kinds before it (the schedule runner's
    /// transitions, published on its own tick) must keep the offsets consecutive too.
    async fn next_event_of(&mut self, topic: &str, kind: &str) -> Value {
        loop {
            let m = self.next_event(topic).await;
            if event_kind(&m) == kind {
                return m;
            }
        }
    }

    /// Reads `topic` until its `resync`: whatever events come before it must continue the client's
    /// sequence exactly (an exact replay); the resync's reason.
    async fn until_resync(&mut self, topic: &str) -> String {
        loop {
            let m = self.next_on(topic, RECOVERY).await;
            match m["type"].as_str() {
                Some("resync") => {
                    self.at.remove(topic);
                    return m["reason"].as_str().unwrap_or_default().to_owned();
                }
                Some("event") => {
                    let at = self.at.get_mut(topic).unwrap();
                    assert_eq!(
                        m["offset"].as_u64(),
                        Some(at.0 + 1),
                        "{}: an event before the resync skips offsets: {m}",
                        self.name
                    );
                    at.0 += 1;
                }
                _ => panic!("{}: expected an event or a resync on {topic}: {m}", self.name),
            }
        }
    }
}

/// Both nodes name the same epoch for every topic, and the same offset for `quiet` (a topic only the
/// test publishes to; the schedule runner may publish on the others between two subscribes).
fn assert_same_positions(watchers: &[Watcher], quiet: &str) {
    for w in watchers {
        for (topic, (offset, epoch)) in &w.at {
            let (first_offset, first_epoch) = &watchers[0].at[topic];
            assert_eq!(epoch, first_epoch, "{}: the epoch of {topic}", w.name);
            if topic == quiet {
                assert_eq!(offset, first_offset, "{}: the offset of {topic}", w.name);
            }
        }
    }
}

fn comment_id(m: &Value) -> &str {
    assert_eq!(event_kind(m), "comment.created", "{m}");
    m["event"]["comment"]["id"].as_str().unwrap()
}

fn idea_id(m: &Value) -> &str {
    assert_eq!(event_kind(m), "idea.created", "{m}");
    m["event"]["idea"]["id"].as_str().unwrap()
}

/// The idea's comments as the API lists them and as the database holds them, both sorted.
async fn comments_api_and_db(
    c: &Client,
    db: &sea_orm::DatabaseConnection,
    idea: &str,
) -> (Vec<String>, Vec<String>) {
    let page = c.get(&format!("/api/v1/ideas/{idea}/comments?limit=100")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut fetched = ids(&page.body);
    let mut stored: Vec<String> = comments::Entity::find()
        .filter(comments::Column::IdeaId.eq(idea.parse::<Uuid>().unwrap()))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id.to_string())
        .collect();
    fetched.sort();
    stored.sort();
    (fetched, stored)
}

/// The session's ideas with their counts, as the API lists them and as the database holds them.
async fn ideas_api_and_db(c: &Client, db: &sea_orm::DatabaseConnection, session: &str) -> (Counts, Counts) {
    let page = c
        .get(&format!("/api/v1/sessions/{session}/ideas?limit=100"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let fetched: Counts = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (id(i), (i["up"].as_u64().unwrap(), i["down"].as_u64().unwrap())))
        .collect();
    let stored: Counts = ideas::Entity::find()
        .filter(ideas::Column::SessionId.eq(session.parse::<Uuid>().unwrap()))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.id.to_string(), (i.up as u64, i.down as u64)))
        .collect();
    (fetched, stored)
}

async fn readyz(node: &Node) -> u16 {
    node.client().get("/readyz").await.status.as_u16()
}

#[actix_rt::test]
async fn after_redis_restarts_every_client_resyncs_and_refetches_the_database_state() {
    if !redis_server_on_path() {
        let line = "SKIPPED: the Redis restart test (install redis-server)";
        assert!(
            !jam_testkit::services::services_required(),
            "{line}, but JAM_TEST_REQUIRE_SERVICES=1 requires it"
        );
        eprintln!("\n{line}\n");
        return;
    }
    let Some(mut d) = Deployment::postgres(t0()).await else {
        return;
    };
    let mut redis = OwnRedis::start(d.dir.path());
    d.extra_env.push(("JAM__BROKER__KIND".into(), "redis".into()));
    d.extra_env.push(("JAM__BROKER__REDIS_URL".into(), redis.url()));
    d.create_admin();
    let a = d.start().await;
    let b = d.start().await;
    let db = open_db(&d).await;

    let fac = Client::as_new_staff(&a.base, "facilitator").await;
    let (slug, jam_id, codes) = create_jam(&fac, "redis-restart").await;
    let session = add_session(&fac, &slug, "Cities", 0, 24).await;
    let r = fac
        .post(&format!("/api/v1/jams/{slug}/schedule"), json!({}))
        .await;
    assert_eq!(r.body["state"], "live", "{}", r.body);
    let code = |n: usize| codes[n % codes.len()].1.clone();
    let ada = join(&a.base, &slug, &code(0), "Ada").await;
    let idea = id(&post_idea(&ada, &session, "Kept", "Survives the restart", json!([])).await);
    let (jam_topic, session_topic, idea_topic) = (
        format!("jam:{jam_id}"),
        format!("session:{session}"),
        format!("idea:{idea}"),
    );
    let topics = [&jam_topic, &session_topic, &idea_topic];

    // 1. Before the restart: Bob (on A) and Cy (on B) hold the jam's, the session's and the idea's
    // topics and see every event with consecutive offsets; Dan (on B) holds the idea's topic and
    // leaves, remembering where he was.
    let bob = join(&a.base, &slug, &code(1), "Bob").await;
    let cy = join(&b.base, &slug, &code(2), "Cy").await;
    let dan = join(&b.base, &slug, &code(0), "Dan").await;
    let mut watchers = vec![
        Watcher::connect("Bob on A", &bob).await,
        Watcher::connect("Cy on B", &cy).await,
    ];
    for w in &mut watchers {
        for topic in topics {
            w.subscribe(topic).await;
        }
    }
    let old_epochs: HashMap<String, String> = topics
        .iter()
        .map(|t| (t.to_string(), watchers[0].at[*t].1.clone()))
        .collect();
    assert_same_positions(&watchers, &idea_topic);
    let mut dan_b = Watcher::connect("Dan on B", &dan).await;
    dan_b.subscribe(&idea_topic).await;

    let before = [comment(&ada, &idea, 1).await, comment(&ada, &idea, 2).await];
    let second = id(&post_idea(&ada, &session, "Second", "Also kept", json!([])).await);
    for w in watchers.iter_mut().chain([&mut dan_b]) {
        for c in &before {
            assert_eq!(comment_id(&w.next_event(&idea_topic).await), c);
        }
    }
    for w in &mut watchers {
        for topic in [&session_topic, &jam_topic] {
            let m = w.next_event_of(topic, "idea.created").await;
            assert_eq!(idea_id(&m), second);
        }
    }
    let dan_at = dan_b.at[&idea_topic].clone();
    drop(dan_b);

    // 2. Redis dies (SIGKILL, no persistence: every key is gone). Both nodes notice (`/readyz`).
    // Writes go on: the database is the truth, only their live push is lost.
    redis.kill();
    for node in [&a, &b] {
        let noticed = eventually(RECOVERY, || async { (readyz(node).await == 503).then_some(()) }).await;
        assert!(
            noticed.is_some(),
            "{}: /readyz still ready without Redis",
            node.base
        );
    }
    let during = comment(&ada, &idea, 3).await;
    let voters: Vec<Client> = {
        let mut v = Vec::new();
        for n in 0..4 {
            let node = [&a, &b][n % 2];
            v.push(join(&node.base, &slug, &code(n), &format!("Voter {n}")).await);
        }
        v
    };
    let outage_votes = vote_burst(&voters[..2], &[idea.clone(), second.clone()], 0).await;

    // 3. Redis comes back empty on the same port. Every client gets a `resync` for every topic it
    // holds (events before it, if any, would have to continue its offsets exactly).
    redis.restart();
    let started = Instant::now();
    for w in &mut watchers {
        for topic in topics {
            let reason = w.until_resync(topic).await;
            println!("{}: resync on {topic} ({reason})", w.name);
        }
    }
    let resynced_after = started.elapsed();
    for node in [&a, &b] {
        let ready = eventually(RECOVERY, || async { (readyz(node).await == 200).then_some(()) }).await;
        assert!(
            ready.is_some(),
            "{}: /readyz not ready after Redis is back",
            node.base
        );
    }

    // 4. Each client refetches over HTTP from its own node: the database's state, including the
    // comment and the votes of the outage. Then it subscribes again, in a new epoch.
    for (w, who) in [(0, &bob), (1, &cy)] {
        let (fetched, stored) = comments_api_and_db(who, &db, &idea).await;
        assert_eq!(fetched, stored, "{}: the refetched thread", watchers[w].name);
        assert_eq!(stored.len(), 3);
        assert!(stored.contains(&during), "the outage's comment is stored");
        let (fetched, stored) = ideas_api_and_db(who, &db, &session).await;
        assert_eq!(
            fetched, stored,
            "{}: the refetched ideas and counts",
            watchers[w].name
        );
        for topic in topics {
            let (_, epoch) = watchers[w].subscribe(topic).await;
            assert_ne!(
                epoch, old_epochs[topic],
                "{}: {topic} is in a new epoch after the data loss",
                watchers[w].name
            );
        }
    }
    assert_same_positions(&watchers, &idea_topic);

    // 5. Events after the restart reach both nodes with consecutive offsets in the new epoch.
    let new_epoch = watchers[0].at[&idea_topic].1.clone();
    let new_start = watchers[0].at[&idea_topic].0;
    let after = [comment(&ada, &idea, 4).await, comment(&ada, &idea, 5).await];
    for w in &mut watchers {
        for c in &after {
            assert_eq!(comment_id(&w.next_event(&idea_topic).await), c);
        }
    }

    // 6. Dan comes back on the other node with his offset of the lost epoch: `resync`, then the
    // new epoch; a client resuming within the new epoch gets exactly the events after the restart.
    let mut dan_a = LiveClient::connect(&on(&a, &dan)).await;
    let (replay, subscribed) = dan_a.resume(&idea_topic, dan_at.0, &dan_at.1).await;
    assert!(
        replay.len() == 1 && replay[0]["type"] == "resync",
        "a `since` of the lost epoch gets resync: {replay:?}"
    );
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    assert_eq!(subscribed["epoch"], new_epoch.as_str(), "{subscribed}");
    assert_eq!(subscribed["offset"], new_start + 2, "{subscribed}");
    let mut dan_b = LiveClient::connect(&dan).await;
    let (replay, subscribed) = dan_b.resume(&idea_topic, new_start, &new_epoch).await;
    let replayed: Vec<(u64, &str)> = replay
        .iter()
        .map(|m| (m["offset"].as_u64().unwrap(), comment_id(m)))
        .collect();
    assert_eq!(
        replayed,
        [
            (new_start + 1, after[0].as_str()),
            (new_start + 2, after[1].as_str())
        ],
        "the new epoch's history holds exactly the events after the restart"
    );
    assert_eq!(subscribed["offset"], new_start + 2, "{subscribed}");

    // 7. Tallies after the outage: votes through both nodes (each one changes its idea's counts)
    // reach both watchers as the database's counts. They are broadcasts: the restarted Redis holds
    // the event topics' keys and no key of a tally topic.
    let ideas = vec![idea.clone(), second.clone()];
    let votes = vote_burst(&voters[2..], &ideas, 0).await;
    let want = db_counts(&db, &ideas).await;
    for w in &mut watchers {
        let deadline = Instant::now() + StdDuration::from_secs(10);
        while !w.tallies.matches(&session_topic, &want) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "{}: tallies {:?} never reached {want:?}",
                w.name,
                w.tallies.latest.get(&session_topic)
            );
            match w.live.next_within(left).await {
                Some(Ok(m)) => w.tallies.absorb(&m),
                Some(Err(code)) => panic!("{}: closed with {code:?}", w.name),
                None => {}
            }
        }
    }
    assert_eq!(
        redis.command(&["EXISTS", &format!("jam:b:{{{idea_topic}}}:hist")]),
        ":1",
        "the idea's history is in the restarted Redis"
    );
    assert_eq!(
        redis.command(&["KEYS", "jam:b:{tally:*"]),
        "*0",
        "tally messages write no key"
    );
    println!(
        "redis restart: {outage_votes} votes and 1 comment during the outage; every client resynced \
         {resynced_after:?} after Redis was back; {votes} votes after it reached both nodes' tallies"
    );
    drop((a, b));
}
