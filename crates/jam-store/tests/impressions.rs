//! The impression writer: stored once per (participant, idea), counted on the idea in the same
//! transaction, every impression submitted accounted for; on SQLite and (when configured) PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use jam_store::impressions::{self, ImpressionCounts, ImpressionWriter, ImpressionWriterSettings};
use jam_testkit::{Seed, TestDb};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use uuid::Uuid;

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn each_report_counts_once_per_participant_and_idea(t: TestDb) {
    let db = &t.db;
    let seed = Seed::inserted(db, 3, 4).await.unwrap();
    // Nothing queued is written until the task drains it; a small batch_max splits the reports
    // over several transactions.
    let writer = ImpressionWriter::start(
        db.clone(),
        ImpressionWriterSettings {
            batch_max: 3,
            queue_capacity: 16,
        },
    );
    let (alice, bob) = (seed.participants[0].id, seed.participants[1].id);
    let idea = |i: usize| seed.ideas[i].id;

    let first = writer.submit(alice, vec![idea(0), idea(1), idea(1)]).unwrap();
    let again = writer.submit(alice, vec![idea(1), idea(2)]).unwrap();
    let other = writer.submit(bob, vec![idea(1)]).unwrap();
    assert_eq!(first.await.unwrap(), 2, "idea 1 named twice counts once");
    assert_eq!(again.await.unwrap(), 1, "idea 1 was already seen by alice");
    assert_eq!(other.await.unwrap(), 1);

    let counts = impressions::counts(db, &[idea(0), idea(1), idea(2), idea(3)])
        .await
        .unwrap();
    assert_eq!(
        [idea(0), idea(1), idea(2), idea(3)].map(|i| counts[&i]),
        [1, 2, 1, 0]
    );
    assert_eq!(scalar(db, "SELECT COUNT(*) FROM impressions").await, 4);
    assert_eq!(
        scalar(db, "SELECT CAST(SUM(impressions) AS BIGINT) FROM ideas").await,
        4
    );
    assert_eq!(
        writer.counts(),
        ImpressionCounts {
            submitted: 5,
            recorded: 4,
            repeated: 1,
            failed: 0,
            refused: 0,
            commits: writer.counts().commits,
        }
    );
    assert!(writer.counts().commits >= 1);
}

async fn a_report_naming_an_unknown_idea_fails_alone(t: TestDb) {
    let db = &t.db;
    let seed = Seed::inserted(db, 2, 2).await.unwrap();
    let writer = ImpressionWriter::start(db.clone(), ImpressionWriterSettings::default());
    let bad = writer
        .submit(seed.participants[0].id, vec![Uuid::now_v7()])
        .unwrap();
    let good = writer
        .submit(seed.participants[1].id, vec![seed.ideas[0].id])
        .unwrap();
    assert!(bad.await.is_err(), "a foreign key refuses the unknown idea");
    assert_eq!(good.await.unwrap(), 1);
    let c = writer.counts();
    assert_eq!((c.submitted, c.recorded, c.failed), (2, 1, 1));
    assert_eq!(scalar(db, "SELECT COUNT(*) FROM impressions").await, 1);
}

#[tokio::test]
async fn impressions_count_once_per_participant_and_idea_on_sqlite() {
    each_report_counts_once_per_participant_and_idea(TestDb::sqlite_migrated().await).await;
}

#[tokio::test]
async fn impressions_count_once_per_participant_and_idea_on_postgres() {
    if let Some(t) = TestDb::postgres_migrated("the impression writer on PostgreSQL").await {
        each_report_counts_once_per_participant_and_idea(t).await;
    }
}

#[tokio::test]
async fn a_bad_report_fails_alone_on_sqlite() {
    a_report_naming_an_unknown_idea_fails_alone(TestDb::sqlite_migrated().await).await;
}

#[tokio::test]
async fn a_bad_report_fails_alone_on_postgres() {
    if let Some(t) = TestDb::postgres_migrated("the impression writer on PostgreSQL").await {
        a_report_naming_an_unknown_idea_fails_alone(t).await;
    }
}
