//! Two runners sharing one database and one broker, stepping at the same controlled times, record
//! and publish every transition exactly once, in order, and a runner that starts late catches up.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use jam_broker::{Broker, BrokerSink, MemoryBroker, Published};
use jam_domain::ManualClock;
use jam_orchestrator::{Handle, Orchestrator, OrchestratorConfig};
use jam_store::sea_orm::DatabaseConnection;
use jam_testkit::{TestDb, With, rows};
use uuid::Uuid;

#[derive(Default)]
struct Recorder(Mutex<Vec<Published>>);

impl BrokerSink for Recorder {
    fn deliver(&self, event: Published) {
        self.0.lock().unwrap().push(event);
    }
    fn broadcast(&self, _topic: Arc<str>, _payload: bytes::Bytes) {}
    fn reconnected(&self) {}
}

fn h(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).single().unwrap() + chrono::Duration::hours(hours)
}

/// A migrated SQLite database of its own; the value keeps its folder.
async fn database() -> (TestDb, DatabaseConnection) {
    let t = TestDb::sqlite_migrated().await;
    let db = t.db.clone();
    (t, db)
}

/// A jam scheduled at h(0), live from h(1) to h(10), with one session open from h(2) to h(5).
async fn seed(db: &DatabaseConnection) -> (Uuid, Uuid) {
    let jam = rows::jam().with(|j| {
        (j.starts_at, j.ends_at, j.scheduled_at) = (h(1), h(10), Some(h(0)));
        (j.created_at, j.updated_at) = (h(0), h(0));
    });
    jam_store::jams::insert(db, jam.clone(), vec![]).await.unwrap();
    let session = rows::session(&jam).with(|s| {
        (s.opens_at, s.closes_at) = (h(2), h(5));
        (s.created_at, s.updated_at) = (h(0), h(0));
    });
    jam_store::jams::insert_session(db, session.clone())
        .await
        .unwrap();
    (jam.id, session.id)
}

fn runner(
    db: &DatabaseConnection,
    broker: &Arc<MemoryBroker>,
    clock: &ManualClock,
    node: &str,
) -> Orchestrator {
    Orchestrator::new(
        db.clone(),
        broker.clone(),
        Arc::new(clock.clone()),
        OrchestratorConfig {
            node_id: node.into(),
            tick: Duration::from_millis(50),
            claim_timeout: Duration::from_secs(30),
        },
        Handle::default(),
    )
}

fn kinds(events: &[Published], topic: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| &*e.topic == topic)
        .map(|e| {
            let v: serde_json::Value = serde_json::from_slice(&e.payload).unwrap();
            format!("{}:{}", v["kind"].as_str().unwrap(), v["state"].as_str().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn racing_runners_record_and_publish_each_transition_once() {
    let (_dir, db) = database().await;
    let (jam_id, session_id) = seed(&db).await;
    let broker = Arc::new(MemoryBroker::new(Default::default()));
    let recorder = Arc::new(Recorder::default());
    broker.set_sink(recorder.clone());
    let (jam_topic, session_topic) = (format!("jam:{jam_id}"), format!("session:{session_id}"));
    broker.subscribe(&jam_topic).await.unwrap();
    broker.subscribe(&session_topic).await.unwrap();

    let clock = ManualClock::new(h(0));
    let (a, b) = (
        runner(&db, &broker, &clock, "a"),
        runner(&db, &broker, &clock, "b"),
    );
    let mut recorded = 0;
    let mut published = 0;
    for hour in [0, 1, 2, 3, 5, 9, 10, 11] {
        clock.set(h(hour));
        let (ra, rb) = tokio::join!(a.step(), b.step());
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        recorded += ra.recorded + rb.recorded;
        published += ra.published + rb.published;
    }
    // jam: scheduled, live, closed; session: open, closed.
    assert_eq!(recorded, 5);
    assert_eq!(published, 5);
    let events = recorder.0.lock().unwrap().clone();
    assert_eq!(
        kinds(&events, &jam_topic),
        [
            "jam.state:scheduled",
            "jam.state:live",
            "session.opened:open",
            "session.closed:closed",
            "jam.state:closed"
        ]
    );
    assert_eq!(
        kinds(&events, &session_topic),
        ["session.opened:open", "session.closed:closed"]
    );
    let offsets: Vec<u64> = events
        .iter()
        .filter(|e| *e.topic == *jam_topic)
        .map(|e| e.offset)
        .collect();
    assert_eq!(offsets, [1, 2, 3, 4, 5]);
    let rows = jam_store::schedule::transitions_of(&db, jam_id).await.unwrap();
    assert!(rows.iter().all(|r| r.published_at.is_some()));
}

#[tokio::test]
async fn a_runner_that_starts_late_records_what_it_missed_in_order() {
    let (_dir, db) = database().await;
    let (jam_id, session_id) = seed(&db).await;
    let broker = Arc::new(MemoryBroker::new(Default::default()));
    let clock = ManualClock::new(h(7));
    let report = runner(&db, &broker, &clock, "late").step().await.unwrap();
    assert_eq!(report.recorded, 4, "scheduled, live, opened, closed");
    assert_eq!(report.published, 4);
    let rows = jam_store::schedule::transitions_of(&db, jam_id).await.unwrap();
    let seen: Vec<_> = rows
        .iter()
        .map(|r| (r.subject_id, r.to_state.as_str(), r.at))
        .collect();
    assert_eq!(
        seen,
        [
            (jam_id, "scheduled", h(0)),
            (jam_id, "live", h(1)),
            (session_id, "open", h(2)),
            (session_id, "closed", h(5))
        ]
    );
    let again = runner(&db, &broker, &clock, "late").step().await.unwrap();
    assert_eq!((again.recorded, again.published), (0, 0));
}

#[tokio::test]
async fn a_claim_left_by_a_dead_node_is_published_after_the_claim_timeout() {
    let (_dir, db) = database().await;
    seed(&db).await;
    let clock = ManualClock::new(h(0));
    jam_orchestrator::record_for_tests(&db, h(0)).await;
    // A node claims the transition and dies before publishing it.
    let claimed =
        jam_store::schedule::claim_unpublished(&db, "dead", h(0), h(0) - chrono::Duration::seconds(30), 10)
            .await
            .unwrap();
    assert_eq!(claimed.len(), 1);
    let broker = Arc::new(MemoryBroker::new(Default::default()));
    let live = runner(&db, &broker, &clock, "live");
    assert_eq!(
        live.step().await.unwrap().published,
        0,
        "the claim is still fresh"
    );
    clock.set(h(0) + chrono::Duration::seconds(31));
    assert_eq!(
        live.step().await.unwrap().published,
        1,
        "the stale claim is taken over"
    );
}

#[tokio::test]
async fn transitions_due_at_the_same_time_list_the_jam_first_whoever_recorded_them_first() {
    use jam_store::schedule::{NewTransition, SubjectKind};
    let (_dir, db) = database().await;
    let (jam_id, session_id) = seed(&db).await;
    let due = |kind, subject_id, from: &str, to: &str| NewTransition {
        jam_id,
        subject_kind: kind,
        subject_id,
        seq: 1,
        from_state: from.into(),
        to_state: to.into(),
        at: h(1),
        manual: false,
    };
    // Another node recorded the session's opening a moment before this one recorded the jam going live.
    let session = due(SubjectKind::Session, session_id, "pending", "open");
    let jam = due(SubjectKind::Jam, jam_id, "scheduled", "live");
    assert_eq!(
        jam_store::schedule::record(&db, vec![session], h(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        jam_store::schedule::record(&db, vec![jam], h(1)).await.unwrap(),
        1
    );
    let rows = jam_store::schedule::transitions_of(&db, jam_id).await.unwrap();
    let seen: Vec<_> = rows.iter().map(|r| (r.subject_id, r.to_state.as_str())).collect();
    assert_eq!(seen, [(jam_id, "live"), (session_id, "open")]);
}
