#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The fixtures themselves, on both backends: every builder's row is accepted by the schema as it
//! is and reads back equal, and a seed bigger than one statement writes every row once.

use jam_domain::VoteValue;
use jam_store::entity::{ideas, participants, tally_leaves, votes};
use jam_testkit::{Seed, TestDb, With, insert, rows};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, ModelTrait, PaginatorTrait, QueryFilter};

/// Inserts `row` and reads it back by its primary key.
async fn round_trip<M>(db: &DatabaseConnection, row: &M)
where
    M: ModelTrait + Clone + PartialEq + std::fmt::Debug,
    M::Entity: EntityTrait<Model = M>,
    <M::Entity as EntityTrait>::ActiveModel: From<M> + sea_orm::ActiveModelTrait<Entity = M::Entity>,
{
    insert(db, row).await.unwrap();
    let all = M::Entity::find().all(db).await.unwrap();
    assert!(all.contains(row), "{row:?} not read back from {all:?}");
}

async fn check_every_builder_makes_a_row_the_schema_accepts(db: &DatabaseConnection) {
    let staff = rows::staff();
    round_trip(db, &staff).await;
    let jam = rows::jam().with(|j| j.created_by = Some(staff.id));
    insert(db, &jam).await.unwrap();
    let audience = rows::audience(&jam);
    round_trip(db, &audience).await;
    let session = rows::session(&jam);
    round_trip(db, &session).await;
    let participant = rows::participant(&audience);
    round_trip(db, &participant).await;
    let idea = rows::idea(&session, &participant);
    round_trip(db, &idea).await;
    round_trip(db, &rows::comment(&idea, &participant)).await;
    round_trip(db, &rows::vote(&idea, &participant, VoteValue::Up)).await;
    round_trip(db, &rows::flag(&idea, &participant)).await;
    round_trip(db, &rows::announcement(&jam)).await;
    round_trip(db, &rows::staff_sign_in(&staff)).await;
    round_trip(db, &rows::participant_sign_in(&participant)).await;
    round_trip(db, &rows::audit(&jam)).await;
    round_trip(db, &rows::transition(&jam)).await;
    round_trip(db, &rows::curation(&idea)).await;
    round_trip(db, &rows::snapshot(&jam)).await;
    round_trip(db, &rows::tally_leaf(&idea)).await;
    // Two of each builder never collide on a unique column.
    insert(db, &rows::staff()).await.unwrap();
    insert(db, &rows::jam()).await.unwrap();
    insert(db, &rows::audience(&jam).with(|a| a.name = "client".into()))
        .await
        .unwrap();
    insert(db, &rows::participant_sign_in(&participant))
        .await
        .unwrap();
    assert_eq!(
        tally_leaves::Entity::find().count(db).await.unwrap(),
        1,
        "one leaf"
    );
}

async fn check_a_seed_larger_than_a_statement_writes_every_row_once(db: &DatabaseConnection) {
    let seed = Seed::inserted(db, 3_000, 1_200).await.unwrap();
    let count_participants = participants::Entity::find()
        .filter(participants::Column::JamId.eq(seed.jam.id))
        .count(db)
        .await
        .unwrap();
    let count_ideas = ideas::Entity::find()
        .filter(ideas::Column::JamId.eq(seed.jam.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!((count_participants, count_ideas), (3_000, 1_200));
    let last = ideas::Entity::find_by_id(seed.ideas[1_199].id)
        .one(db)
        .await
        .unwrap();
    assert_eq!(last.as_ref(), Some(&seed.ideas[1_199]));

    // Its votes are accepted as they are.
    jam_store::votes::cast(db, seed.vote(2_999, 1_199, -1))
        .await
        .unwrap();
    let stored = votes::Entity::find_by_id((seed.ideas[1_199].id, seed.participants[2_999].id))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.value, stored.audience_id), (-1, seed.audience().id));
}

macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let t = jam_testkit::TestDb::sqlite_migrated().await;
                    super::$check(&t.db).await;
                    t.finish().await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let Some(t) = jam_testkit::TestDb::postgres_migrated("PostgreSQL testkit tests").await
                    else {
                        return;
                    };
                    super::$check(&t.db).await;
                    t.finish().await;
                }
            )*
        }
    };
}

on_both_backends!(
    check_every_builder_makes_a_row_the_schema_accepts,
    check_a_seed_larger_than_a_statement_writes_every_row_once,
);

#[tokio::test]
async fn a_postgres_test_database_is_dropped_by_finish() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let Some(t) = TestDb::postgres("PostgreSQL testkit tests").await else {
        return;
    };
    assert!(t.is_postgres());
    let name = t.url.rsplit('/').next().unwrap().to_owned();
    assert!(name.starts_with(jam_testkit::services::DATABASE_PREFIX), "{name}");
    t.finish().await;
    let server = std::env::var(jam_testkit::services::DATABASE_URL_VAR).unwrap();
    let admin = jam_store::connect(&jam_testkit::db::settings(&server, 1))
        .await
        .unwrap();
    let left = admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT datname FROM pg_database WHERE datname = $1",
            [name.clone().into()],
        ))
        .await
        .unwrap();
    assert!(left.is_none(), "{name} is still there");
    admin.close().await.unwrap();
}
