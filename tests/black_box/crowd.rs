//! A crowd, end to end (issue 3's acceptance): 200 participants in 3 audiences join, post 500 ideas
//! and 2,000 comments, and cast 20,000 votes concurrently, including changes and retractions. Every
//! idea's counts must equal the test's own model, a recount of the vote rows in SQL, and the stored
//! counters: no vote lost or counted twice.

use std::collections::HashMap;
use std::time::Instant;

use futures_util::StreamExt;
use futures_util::future::join_all;
use jam_store::sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::fixtures::*;
use crate::support::*;

const PARTICIPANTS: usize = 200;
const IDEAS: usize = 500;
const COMMENTS: usize = 2_000;
const VOTES_EACH: usize = 100; // 20,000 in all

/// xorshift64*: reproducible choices without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % below
    }
}

async fn crowd(d: Deployment) {
    let jam = live_jam(d, "crowd").await;
    let base = jam.node.base.clone();

    let started = Instant::now();
    let people: Vec<Client> = join_all((0..PARTICIPANTS).map(|i| {
        let code = jam.codes[i % 3].1.clone();
        let (base, slug) = (base.clone(), jam.slug.clone());
        async move { join(&base, &slug, &code, &format!("Person {i}")).await }
    }))
    .await;

    let ideas: Vec<String> = futures_util::stream::iter(0..IDEAS)
        .map(|i| {
            let p = &people[i % PARTICIPANTS];
            let session = jam.open.clone();
            async move {
                id(&post_idea(
                    p,
                    &session,
                    &format!("Idea {i}"),
                    "Body",
                    json!([format!("t{}", i % 7)]),
                )
                .await)
            }
        })
        .buffered(32)
        .collect()
        .await;

    let statuses: Vec<u16> = futures_util::stream::iter(0..COMMENTS)
        .map(|i| {
            let p = &people[(i * 7) % PARTICIPANTS];
            let idea = &ideas[i % IDEAS];
            async move {
                p.post(
                    &format!("/api/v1/ideas/{idea}/comments"),
                    json!({ "body": format!("Comment {i}") }),
                )
                .await
                .status
                .as_u16()
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 201), "every comment accepted");

    // Each participant votes in order (so the model knows the final value of every pair); all 200
    // participants at once. A quarter of the votes revisit an earlier idea: changes and retractions.
    let mut plans: Vec<Vec<(usize, i64)>> = Vec::new();
    let mut model: HashMap<(usize, usize), i64> = HashMap::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for p in 0..PARTICIPANTS {
        let mut plan = Vec::with_capacity(VOTES_EACH);
        for _ in 0..VOTES_EACH {
            let idea = match plan.last() {
                Some(&(prev, _)) if rng.next(4) == 0 => prev,
                _ => rng.next(IDEAS),
            };
            let value = [1, 1, -1, 0][rng.next(4)];
            plan.push((idea, value));
            model.insert((p, idea), value);
        }
        plans.push(plan);
    }
    let vote_started = Instant::now();
    let failures: Vec<String> = join_all(plans.iter().enumerate().map(|(p, plan)| {
        let client = &people[p];
        let ideas = &ideas;
        async move {
            let mut failed = Vec::new();
            for &(idea, value) in plan {
                let r = vote(client, &ideas[idea], value).await;
                if r.status != 200 || r.body["my_vote"] != value {
                    failed.push(format!(
                        "participant {p} idea {idea} value {value}: {} {}",
                        r.status, r.body
                    ));
                }
            }
            failed
        }
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    assert!(
        failures.is_empty(),
        "{} votes failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    let vote_secs = vote_started.elapsed().as_secs_f64();
    eprintln!(
        "crowd: {} votes in {vote_secs:.1} s ({:.0} votes/s through HTTP, debug build); whole test {:.1} s",
        PARTICIPANTS * VOTES_EACH,
        (PARTICIPANTS * VOTES_EACH) as f64 / vote_secs,
        started.elapsed().as_secs_f64()
    );

    // The model's counts per idea.
    let mut expected = vec![(0i64, 0i64); IDEAS];
    for (&(_, idea), &value) in &model {
        match value {
            1 => expected[idea].0 += 1,
            -1 => expected[idea].1 += 1,
            _ => {}
        }
    }
    // A recount from the vote rows, and the stored counters, in SQL.
    let db = open_db(&jam.d).await;
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT i.id AS id, i.up AS up, i.down AS down, \
               (SELECT COUNT(*) FROM votes v WHERE v.idea_id = i.id AND v.value = 1) AS recount_up, \
               (SELECT COUNT(*) FROM votes v WHERE v.idea_id = i.id AND v.value = -1) AS recount_down \
             FROM ideas i",
        ))
        .await
        .unwrap();
    let by_id: HashMap<uuid::Uuid, (i64, i64, i64, i64)> = rows
        .iter()
        .map(|r| {
            let n = |c: &str| {
                r.try_get::<i64>("", c)
                    .or_else(|_| r.try_get::<i32>("", c).map(i64::from))
                    .unwrap()
            };
            (
                r.try_get::<uuid::Uuid>("", "id").unwrap(),
                (n("up"), n("down"), n("recount_up"), n("recount_down")),
            )
        })
        .collect();
    assert_eq!(by_id.len(), IDEAS);
    let viewer = &people[0];
    let mut total = (0, 0);
    for (i, idea) in ideas.iter().enumerate() {
        let (up, down) = expected[i];
        let (stored_up, stored_down, recount_up, recount_down) = by_id[&idea.parse::<uuid::Uuid>().unwrap()];
        assert_eq!(
            (recount_up, recount_down),
            (up, down),
            "idea {i}: SQL recount vs model"
        );
        assert_eq!(
            (stored_up, stored_down),
            (up, down),
            "idea {i}: stored counters vs model"
        );
        total = (total.0 + up, total.1 + down);
        if i % 50 == 0 {
            let r = viewer.get(&format!("/api/v1/ideas/{idea}")).await;
            assert_eq!(
                (r.body["up"].as_i64().unwrap(), r.body["down"].as_i64().unwrap()),
                (up, down),
                "idea {i} over HTTP"
            );
        }
    }
    assert!(total.0 > 0 && total.1 > 0, "the plan votes both ways");
    // Every acknowledged vote went through the batched writer, in fewer transactions than votes.
    let written = jam.node.metric("jam_votes_written_total").await;
    let commits = jam.node.metric("jam_vote_commits_total").await;
    assert_eq!(written, (PARTICIPANTS * VOTES_EACH) as u64);
    assert!(
        commits < written,
        "{commits} commits for {written} votes: batching"
    );
    eprintln!("crowd: {written} votes in {commits} commits");
    assert!(model.values().any(|v| *v == 0), "the plan retracts some votes");
}

#[actix_rt::test]
async fn a_crowd_of_200_casts_20000_votes_and_every_count_is_exact_on_sqlite() {
    crowd(crowd_deployment(Deployment::sqlite(t0()))).await;
}

#[actix_rt::test]
async fn a_crowd_of_200_casts_20000_votes_and_every_count_is_exact_on_postgresql() {
    let Some(d) = Deployment::postgres(t0()).await else {
        return;
    };
    crowd(crowd_deployment(d)).await;
}

fn crowd_deployment(mut d: Deployment) -> Deployment {
    for (key, value) in [
        ("JAM__RATE_LIMITS__VOTES__COUNT", "100000"),
        ("JAM__RATE_LIMITS__IDEAS__COUNT", "100000"),
        ("JAM__RATE_LIMITS__COMMENTS__COUNT", "100000"),
        ("JAM__DATABASE__MAX_CONNECTIONS", "16"),
        // Every vote must land for the counts to be checked: no wait budget, so a machine busy with
        // other tests queues votes instead of refusing them with 503 (the budget has its own tests
        // in jam-store's vote writer).
        ("JAM__VOTES__WAIT_BUDGET_MS", "0"),
    ] {
        d.extra_env.push((key.into(), value.into()));
    }
    d
}
