//! The schedule runner, seen from outside: a 3-day jam with 4 staggered sessions, time moved by the
//! file clock, nodes restarted in the middle. Every transition must be recorded once, at its time,
//! published once, and appear within 1 s (real time) of the clock reaching it.

use std::collections::BTreeMap;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, TimeZone, Utc};
use jam_store::DbSettings;
use serde_json::json;
use uuid::Uuid;

use crate::support::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).single().unwrap()
}

fn h(hours: i64) -> DateTime<Utc> {
    t0() + Duration::hours(hours)
}

/// (subject, to_state, at) as recorded.
type Transition = (String, String, DateTime<Utc>);

async fn recorded(
    db: &sea_orm::DatabaseConnection,
    jam_id: Uuid,
    names: &BTreeMap<Uuid, String>,
) -> Vec<(Transition, bool)> {
    jam_store::schedule::transitions_of(db, jam_id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| {
            (
                (names[&t.subject_id].clone(), t.to_state, t.at),
                t.published_at.is_some(),
            )
        })
        .collect()
}

/// Runs the scenario on `nodes` processes sharing the deployment's database; restarts them midway.
async fn three_day_jam_runs_itself(d: Deployment, nodes: usize) {
    d.create_admin();
    let mut running = Vec::new();
    for _ in 0..nodes {
        running.push(d.start().await);
    }
    let fac = Client::as_admin(&running[0].base).await;
    let r = fac
        .post("/api/v1/jams", jam_body("three-days", h(1), h(73)))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let jam_id: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    let mut names = BTreeMap::from([(jam_id, "jam".to_owned())]);
    for (i, (open, close)) in [(1, 25), (12, 36), (30, 50), (48, 73)].into_iter().enumerate() {
        let s = fac
            .post(
                "/api/v1/jams/three-days/sessions",
                json!({ "title": format!("S{}", i + 1), "opens_at": h(open), "closes_at": h(close) }),
            )
            .await;
        assert_eq!(s.status, 201, "{}", s.body);
        names.insert(
            s.body["id"].as_str().unwrap().parse().unwrap(),
            format!("S{}", i + 1),
        );
    }
    assert_eq!(
        fac.post("/api/v1/jams/three-days/schedule", json!({})).await.body["state"],
        "scheduled"
    );

    let db = jam_store::connect(&DbSettings {
        url: d.database_url.clone(),
        max_connections: 2,
        min_connections: 1,
        connect_timeout: StdDuration::from_secs(10),
        sqlite_busy_timeout: StdDuration::from_secs(5),
    })
    .await
    .unwrap();

    let mut expected: Vec<Transition> = vec![("jam".into(), "scheduled".into(), h(0))];
    let mut published_before_restart = 0;
    // (clock hour, transitions due at it); the runner must catch up on 36 and 48 after the restart.
    let steps: Vec<(i64, Vec<(&str, &str)>)> = vec![
        (1, vec![("jam", "live"), ("S1", "open")]),
        (12, vec![("S2", "open")]),
        (25, vec![("S1", "closed")]),
        (30, vec![("S3", "open")]),
        (36, vec![("S2", "closed")]),
        (48, vec![("S4", "open")]),
        (50, vec![("S3", "closed")]),
        (73, vec![("jam", "closed"), ("S4", "closed")]),
    ];
    let mut slowest = StdDuration::ZERO;
    for (hour, due) in steps {
        if hour == 48 {
            continue; // reached while the nodes were down, checked with the restart
        }
        expected.extend(
            due.iter()
                .map(|(s, st)| ((*s).to_owned(), (*st).to_owned(), h(hour))),
        );
        if hour == 36 {
            // Stop every node between transitions; time passes 36 and 48 while nobody runs.
            // The first node crashes (SIGKILL); any others stop gracefully.
            for (i, node) in running.drain(..).enumerate() {
                published_before_restart += node.metric("jam_transitions_published_total").await;
                if i == 0 && nodes > 1 {
                    node.kill();
                } else {
                    assert!(node.stop().success());
                }
            }
            d.set_clock(h(48));
            for _ in 0..nodes {
                running.push(d.start().await);
            }
            let want = expected.len() + 1; // 36 and 48, missed while down
            expected.push(("S4".into(), "open".into(), h(48)));
            let all = eventually(StdDuration::from_secs(10), || async {
                let got = recorded(&db, jam_id, &names).await;
                (got.len() >= want && got.iter().all(|(_, p)| *p)).then_some(got)
            })
            .await
            .expect("the restarted runner publishes what it missed");
            assert_eq!(all.into_iter().map(|(t, _)| t).collect::<Vec<_>>(), expected);
            continue;
        }
        let started = Instant::now();
        d.set_clock(h(hour));
        let want = expected.len();
        let got = eventually(StdDuration::from_secs(5), || async {
            let got = recorded(&db, jam_id, &names).await;
            (got.len() >= want && got.iter().all(|(_, p)| *p)).then_some(got)
        })
        .await
        .unwrap_or_else(|| panic!("transitions at hour {hour} did not appear"));
        slowest = slowest.max(started.elapsed());
        assert_eq!(
            got.into_iter().map(|(t, _)| t).collect::<Vec<_>>(),
            expected,
            "at hour {hour}"
        );
    }
    assert!(
        slowest < StdDuration::from_secs(1),
        "slowest transition took {slowest:?}"
    );
    eprintln!(
        "schedule scenario ({nodes} node(s)): slowest transition recorded and published {slowest:?} after its time"
    );

    // Nothing more appears later, and every transition was published exactly once across nodes.
    d.set_clock(h(200));
    let mut published_after = 0;
    for node in &running {
        // A full pass at the new time has run when the step counter moves; wait on published instead.
        published_after += node.metric("jam_transitions_published_total").await;
    }
    let final_rows = recorded(&db, jam_id, &names).await;
    assert_eq!(final_rows.len(), expected.len());
    assert_eq!(
        published_before_restart + published_after,
        expected.len() as u64,
        "published exactly once"
    );

    // The audit log shows each transition once, as the system.
    let fac = Client::as_admin(&running[0].base).await;
    let audit = fac.get("/api/v1/jams/three-days/audit?limit=200").await;
    let system = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_kind"] == "system")
        .count();
    assert_eq!(system, expected.len());
}

#[actix_rt::test]
async fn a_three_day_jam_opens_and_closes_its_sessions_on_time_across_a_restart() {
    three_day_jam_runs_itself(Deployment::sqlite(t0()), 1).await;
}

#[actix_rt::test]
async fn two_nodes_on_postgresql_record_each_transition_once() {
    let Some(d) = Deployment::postgres(t0()).await else {
        return;
    };
    three_day_jam_runs_itself(d, 2).await;
}
