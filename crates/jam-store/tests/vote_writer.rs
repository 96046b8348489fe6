#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The batched vote writer on both backends: many concurrent voters with changes and retractions
//! leave every idea's counters equal to a recount of the vote rows and to the test's own model;
//! votes of one participant inside one batch apply in arrival order; two writers (two nodes) on one
//! database stay exact; a bad vote fails alone; a full queue refuses at once; shutdown drains.
//!
//! Batches are made deterministic without sleeping: votes submitted before the writer's task runs
//! wait in its queue, and the task's first batch takes all of them.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::join_all;
use jam_domain::IdeaId;
use jam_store::StoreError;
use jam_store::entity::{ideas, votes};
use jam_store::is_foreign_key_violation;
use jam_store::vote_writer::{VoteWriter, VoteWriterSettings};
use jam_store::votes::VoteOutcome;
use jam_testkit::{Seed, TestDb};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Databases and fixtures

async fn sqlite() -> TestDb {
    TestDb::sqlite_migrated().await
}

async fn postgres() -> Option<TestDb> {
    TestDb::postgres_migrated("PostgreSQL vote writer tests").await
}

/// A live jam with one open session, `people` participants and `idea_count` ideas.
async fn seed(db: &DatabaseConnection, people: usize, idea_count: usize) -> Seed {
    Seed::inserted(db, people, idea_count).await.unwrap()
}

fn writer_settings() -> VoteWriterSettings {
    VoteWriterSettings {
        batch_max: 512,
        batch_linger: Duration::ZERO,
        queue_capacity: 100_000,
        writers: 4,
        // Only a full queue refuses here; the budget has its own test beside the writer.
        wait_budget: Duration::ZERO,
    }
}

/// (up, down, voters) of one idea, as stored on the idea.
async fn counters(db: &DatabaseConnection, idea: Uuid) -> (i32, i32, i32) {
    let row = ideas::Entity::find_by_id(idea).one(db).await.unwrap().unwrap();
    (row.up, row.down, row.voters)
}

/// (up, down, voters) of one idea, counted from its vote rows.
async fn recount(db: &DatabaseConnection, idea: Uuid) -> (i32, i32, i32) {
    let values: Vec<i16> = votes::Entity::find()
        .select_only()
        .column(votes::Column::Value)
        .filter(votes::Column::IdeaId.eq(idea))
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    model_counts(values.into_iter())
}

fn model_counts(values: impl Iterator<Item = i16>) -> (i32, i32, i32) {
    values.fold((0, 0, 0), |(u, d, v), value| {
        (
            u + i32::from(value == 1),
            d + i32::from(value == -1),
            v + i32::from(value != 0),
        )
    })
}

/// Every idea's counters equal a recount of its rows and, when given, the model's final votes.
async fn assert_exact(db: &DatabaseConnection, jam: &Seed, model: Option<&HashMap<(usize, usize), i16>>) {
    for (i, idea) in jam.ideas.iter().enumerate() {
        let idea = idea.id;
        let stored = counters(db, idea).await;
        assert_eq!(
            stored,
            recount(db, idea).await,
            "idea {i}: counters differ from a recount"
        );
        if let Some(model) = model {
            let expected = model_counts(model.iter().filter(|((_, j), _)| *j == i).map(|(_, &v)| v));
            assert_eq!(stored, expected, "idea {i}: counters differ from the model");
        }
    }
}

/// A small deterministic generator, so a failing run can be repeated.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One participant's script: a vote on every idea in a shuffled order, then changes, retractions
/// and repeats on random ideas. Returns each vote with the value the participant had before it.
fn script(participant: usize, idea_count: usize, extra: usize) -> Vec<(usize, i16)> {
    let mut rng = Lcg(participant as u64 * 7919 + 17);
    let mut order: Vec<usize> = (0..idea_count).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let value = |rng: &mut Lcg| [1, -1, 0][rng.below(3)];
    let mut steps: Vec<(usize, i16)> = order
        .into_iter()
        .map(|idea| (idea, if idea % 2 == 0 { 1 } else { -1 }))
        .collect();
    for _ in 0..extra {
        let idea = rng.below(idea_count);
        steps.push((idea, value(&mut rng)));
    }
    steps
}

/// Every participant runs its script concurrently with all others, each vote through
/// `writers[(participant + step) % writers.len()]`, awaiting each answer before its next vote.
/// Checks every answer's value and previous vote; returns the final votes.
async fn run_scripts(writers: &[VoteWriter], jam: &Seed, extra: usize) -> HashMap<(usize, usize), i16> {
    let idea_count = jam.ideas.len();
    let voters = (0..jam.participants.len()).map(|p| async move {
        let mut mine: HashMap<usize, i16> = HashMap::new();
        for (step, (idea, value)) in script(p, idea_count, extra).into_iter().enumerate() {
            let writer = &writers[(p + step) % writers.len()];
            let outcome = writer.cast(jam.vote(p, idea, value)).await.unwrap();
            let before = mine.insert(idea, value).unwrap_or(0);
            assert_eq!(
                (outcome.value, outcome.previous),
                (value, before),
                "participant {p}, step {step}"
            );
            assert_eq!(outcome.idea_id, jam.ideas[idea].id);
            let n = jam.participants.len() as i32;
            assert!(
                (0..=n).contains(&outcome.up)
                    && (0..=n).contains(&outcome.down)
                    && outcome.voters == outcome.up + outcome.down,
                "participant {p}, step {step}: impossible counts {outcome:?}"
            );
        }
        mine.into_iter().map(move |(idea, v)| ((p, idea), v))
    });
    join_all(voters).await.into_iter().flatten().collect()
}

// ---------------------------------------------------------------------------------------------
// Checks, each run on both backends

/// 200 participants × 20 ideas, each voting on every idea then changing, retracting and
/// repeating, all at once: 8,000 votes.
async fn check_concurrent_voters_are_each_counted_once(t: &TestDb) {
    let jam = seed(&t.db, 200, 20).await;
    let writer = VoteWriter::start(t.db.clone(), writer_settings());
    let model = run_scripts(std::slice::from_ref(&writer), &jam, 20).await;
    assert_exact(&t.db, &jam, Some(&model)).await;
    let counts = writer.counts();
    assert_eq!(counts.votes, 200 * 40);
    assert_eq!(counts.failed_votes, 0);
    assert_eq!(counts.retries, 0, "concurrent batches never deadlock: {counts:?}");
    assert!(
        counts.batches < counts.votes / 4,
        "concurrent votes share batches: {counts:?}"
    );
    writer.shutdown().await;
}

async fn check_votes_of_one_participant_in_one_batch_apply_in_arrival_order(t: &TestDb) {
    let jam = seed(&t.db, 3, 2).await;
    // Participant 1 already voted +1 on idea 0 before the batch.
    jam_store::votes::cast(&t.db, jam.vote(1, 0, 1)).await.unwrap();

    let (writer, task) = VoteWriter::new(t.db.clone(), writer_settings());
    let script = [
        (0, 0, 1),
        (0, 0, -1),
        (1, 0, -1),
        (0, 0, 0),
        (2, 0, 1),
        (0, 0, 1),
        (1, 0, 0),
        (0, 1, 1),
        (0, 0, -1),
        (1, 0, 1),
        (2, 1, -1),
    ];
    let answers: Vec<_> = script
        .iter()
        .map(|&(p, i, v)| writer.submit(jam.vote(p, i, v)).unwrap())
        .collect();
    tokio::spawn(task.run());
    let outcomes: Vec<VoteOutcome> = join_all(answers).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(writer.counts().batches, 1, "one batch took every vote");

    // Idea 0 ends with participant 0: -1, participant 1: +1, participant 2: +1.
    assert_eq!(counters(&t.db, jam.ideas[0].id).await, (2, 1, 3));
    assert_eq!(counters(&t.db, jam.ideas[1].id).await, (1, 1, 2));
    assert_exact(&t.db, &jam, None).await;
    let previous: Vec<(i16, i16)> = outcomes.iter().map(|o| (o.value, o.previous)).collect();
    assert_eq!(
        previous,
        [
            (1, 0),
            (-1, 1),
            (-1, 1),
            (0, -1),
            (1, 0),
            (1, 0),
            (0, -1),
            (1, 0),
            (-1, 1),
            (1, 0),
            (-1, 0)
        ],
        "each answer names the vote it replaced, in arrival order"
    );
    for (o, &(_, i, _)) in outcomes.iter().zip(&script) {
        let expected = if i == 0 { (2, 1, 3) } else { (1, 1, 2) };
        assert_eq!(
            (o.up, o.down, o.voters),
            expected,
            "answers carry the counts after the batch"
        );
    }
    let stored: Vec<(Uuid, i16)> = votes::Entity::find()
        .select_only()
        .column(votes::Column::ParticipantId)
        .column(votes::Column::Value)
        .filter(votes::Column::IdeaId.eq(jam.ideas[0].id))
        .into_tuple()
        .all(&t.db)
        .await
        .unwrap();
    let by_participant: HashMap<Uuid, i16> = stored.into_iter().collect();
    assert_eq!(by_participant[&jam.participants[0].id], -1, "the last vote wins");
    writer.shutdown().await;
}

async fn votes_rev(db: &DatabaseConnection, idea: Uuid) -> i64 {
    ideas::Entity::find_by_id(idea)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .votes_rev
}

/// `votes_rev`, the tally's leaf-cache key, moves with every change to an idea's non-zero vote set on
/// every write path (batch, single vote, merge), also when the counters net out, and only then.
async fn check_votes_rev_moves_whenever_an_ideas_vote_set_changes(t: &TestDb) {
    let jam = seed(&t.db, 3, 3).await;
    let (a, b) = (jam.ideas[0].id, jam.ideas[1].id);
    assert_eq!(votes_rev(&t.db, a).await, 0);
    jam_store::vote_writer::write_batch(&t.db, &[jam.vote(0, 0, 1)])
        .await
        .unwrap();
    assert_eq!(votes_rev(&t.db, a).await, 1, "a new vote");
    jam_store::vote_writer::write_batch(&t.db, &[jam.vote(0, 0, 1)])
        .await
        .unwrap();
    assert_eq!(
        votes_rev(&t.db, a).await,
        1,
        "the same vote again changes nothing"
    );
    // One voter retracts as another votes: the counters net out, the vote set does not.
    jam_store::vote_writer::write_batch(&t.db, &[jam.vote(1, 0, 1), jam.vote(0, 0, 0)])
        .await
        .unwrap();
    assert_eq!(counters(&t.db, a).await, (1, 0, 1));
    assert_eq!(votes_rev(&t.db, a).await, 2, "a batch that nets out");
    jam_store::votes::cast(&t.db, jam.vote(2, 0, -1)).await.unwrap();
    assert_eq!(votes_rev(&t.db, a).await, 3, "a single vote");
    jam_store::vote_writer::write_batch(&t.db, &[jam.vote(2, 1, 0)])
        .await
        .unwrap();
    assert_eq!(votes_rev(&t.db, b).await, 0, "a retraction of nothing");

    let txn = jam_store::write::begin_write(&t.db).await.unwrap();
    jam_store::moderation::merge(&txn, a, b, chrono::Utc::now())
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(votes_rev(&t.db, a).await, 4, "the merged idea's votes left");
    assert_eq!(votes_rev(&t.db, b).await, 1, "the target's votes arrived");
    assert_exact(&t.db, &jam, None).await;
}

/// Two pools on one database (two nodes), one writer each, the same participants and ideas.
async fn check_two_writers_on_one_database_stay_exact(t: &TestDb) {
    let jam = seed(&t.db, 100, 8).await;
    let other = t.second_pool().await;
    let writers = [
        VoteWriter::start(t.db.clone(), writer_settings()),
        VoteWriter::start(other.clone(), writer_settings()),
    ];
    // Each participant alternates writers between its (sequential) votes: the model holds.
    let model = run_scripts(&writers, &jam, 16).await;
    assert_exact(&t.db, &jam, Some(&model)).await;

    // Then the same participant votes through both nodes at the same instant, also on ideas
    // where it has no row yet in the second jam: who wins is a race, but counts stay exact.
    let fresh = seed(&t.db, 60, 6).await;
    for round in 0..3i16 {
        let pairs = (0..fresh.participants.len()).flat_map(|p| (0..fresh.ideas.len()).map(move |i| (p, i)));
        let sent = pairs.flat_map(|(p, i)| {
            let a = [1, -1, 0][(p + i + round as usize) % 3];
            let b = [-1, 0, 1][(p * 7 + i + round as usize) % 3];
            [
                writers[0].cast(fresh.vote(p, i, a)),
                writers[1].cast(fresh.vote(p, i, b)),
            ]
        });
        for outcome in join_all(sent).await {
            outcome.unwrap();
        }
        assert_exact(&t.db, &fresh, None).await;
    }
    for w in &writers {
        w.shutdown().await;
        let counts = w.counts();
        assert_eq!(
            (counts.retries, counts.failed_votes),
            (0, 0),
            "no deadlock, no failure: {counts:?}"
        );
    }
    other.close().await.unwrap();
}

async fn check_a_vote_for_a_missing_idea_fails_alone(t: &TestDb) {
    let jam = seed(&t.db, 4, 2).await;
    let (writer, task) = VoteWriter::new(t.db.clone(), writer_settings());
    let mut ghost = jam.vote(0, 0, 1);
    ghost.idea_id = IdeaId::new();
    let answers = vec![
        writer.submit(jam.vote(0, 0, 1)).unwrap(),
        writer.submit(jam.vote(1, 0, -1)).unwrap(),
        writer.submit(ghost).unwrap(),
        writer.submit(jam.vote(2, 1, 1)).unwrap(),
        writer.submit(jam.vote(0, 0, -1)).unwrap(),
    ];
    tokio::spawn(task.run());
    let results = join_all(answers).await;
    for (i, r) in results.iter().enumerate() {
        if i == 2 {
            match r {
                Err(StoreError::Db(err)) => assert!(is_foreign_key_violation(err), "{err:?}"),
                other => panic!("the ghost vote must fail with a foreign key violation: {other:?}"),
            }
        } else {
            assert!(r.is_ok(), "vote {i} must succeed: {r:?}");
        }
    }
    assert_eq!(
        counters(&t.db, jam.ideas[0].id).await,
        (0, 2, 2),
        "the last vote of participant 0 wins"
    );
    assert_eq!(counters(&t.db, jam.ideas[1].id).await, (1, 0, 1));
    assert_exact(&t.db, &jam, None).await;
    let counts = writer.counts();
    assert_eq!(
        (
            counts.batches,
            counts.split_batches,
            counts.failed_votes,
            counts.votes
        ),
        (1, 1, 1, 4)
    );
    writer.shutdown().await;
}

/// A moderator hid idea 1 after the votes' requests were checked: its votes fail alone, with
/// `IdeaClosed`, both inside a batch and on their own, and its counters do not move.
async fn check_votes_for_an_idea_hidden_meanwhile_fail_alone(t: &TestDb) {
    let jam = seed(&t.db, 4, 2).await;
    jam_store::entity::ideas::Entity::update_many()
        .col_expr(
            jam_store::entity::ideas::Column::Status,
            jam_store::sea_orm::sea_query::Expr::value(jam_domain::ItemStatus::Hidden),
        )
        .filter(jam_store::entity::ideas::Column::Id.eq(jam.ideas[1].id))
        .exec(&t.db)
        .await
        .unwrap();
    let before = counters(&t.db, jam.ideas[1].id).await;
    let (writer, task) = VoteWriter::new(t.db.clone(), writer_settings());
    let answers = vec![
        writer.submit(jam.vote(0, 0, 1)).unwrap(),
        writer.submit(jam.vote(1, 1, 1)).unwrap(),
        writer.submit(jam.vote(2, 0, -1)).unwrap(),
    ];
    tokio::spawn(task.run());
    let results = join_all(answers).await;
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(
        matches!(results[1], Err(StoreError::IdeaClosed)),
        "{:?}",
        results[1]
    );
    let alone = writer.submit(jam.vote(3, 1, -1)).unwrap().await;
    assert!(matches!(alone, Err(StoreError::IdeaClosed)), "{alone:?}");
    assert_eq!(counters(&t.db, jam.ideas[1].id).await, before);
    assert_eq!(counters(&t.db, jam.ideas[0].id).await, (1, 1, 2));
    writer.shutdown().await;
}

async fn check_a_full_queue_refuses_at_once_and_shutdown_drains(t: &TestDb) {
    let jam = seed(&t.db, 4, 1).await;
    let (writer, task) = VoteWriter::new(
        t.db.clone(),
        VoteWriterSettings {
            queue_capacity: 3,
            ..writer_settings()
        },
    );
    let queued: Vec<_> = (0..3)
        .map(|p| writer.submit(jam.vote(p, 0, 1)).unwrap())
        .collect();
    let refused = writer.submit(jam.vote(3, 0, 1)).err().unwrap();
    assert!(matches!(refused, StoreError::Overloaded), "{refused:?}");
    assert!(refused.is_unavailable(), "a full queue is a 503, not a 500");
    assert_eq!(writer.counts().refused, 1);

    // Shut down as the task starts: what was queued is still written and answered.
    let running = tokio::spawn(task.run());
    writer.shutdown().await;
    for outcome in join_all(queued).await {
        outcome.unwrap();
    }
    running.await.unwrap();
    assert_eq!(counters(&t.db, jam.ideas[0].id).await, (3, 0, 3));
    let late = writer.cast(jam.vote(3, 0, 1)).await.err().unwrap();
    assert!(matches!(late, StoreError::WriterStopped), "{late:?}");
}

// ---------------------------------------------------------------------------------------------
// Both backends

macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let t = super::sqlite().await;
                    super::$check(&t).await;
                    t.finish().await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let Some(t) = super::postgres().await else { return };
                    super::$check(&t).await;
                    t.finish().await;
                }
            )*
        }
    };
}

on_both_backends!(
    check_concurrent_voters_are_each_counted_once,
    check_votes_of_one_participant_in_one_batch_apply_in_arrival_order,
    check_two_writers_on_one_database_stay_exact,
    check_a_vote_for_a_missing_idea_fails_alone,
    check_votes_for_an_idea_hidden_meanwhile_fail_alone,
    check_a_full_queue_refuses_at_once_and_shutdown_drains,
    check_votes_rev_moves_whenever_an_ideas_vote_set_changes,
);
