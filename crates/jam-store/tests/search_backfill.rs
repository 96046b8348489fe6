//! The search migration (`m20261210_000004_search`) indexes ideas that existed before it: their
//! `search_text` (the old lower-cased form) is rewritten as analysed terms and indexed, on SQLite and
//! PostgreSQL alike.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use jam_domain::terms;
use jam_migrations::{Migrator, MigratorTrait};
use jam_store::search::{self, Filter, Order, Statuses};
use jam_testkit::{Seed, TestDb};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// Migrations from the search one on (undone and applied again).
fn from_search() -> u32 {
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let at = names
        .iter()
        .position(|n| n == "m20261210_000004_search")
        .expect("the search migration is registered");
    u32::try_from(names.len() - at).unwrap()
}

async fn found(db: &DatabaseConnection, seed: &Seed, q: &str) -> usize {
    let filter = Filter {
        jam_id: seed.jam.id,
        session_id: None,
        tag_key: None,
        audience_id: None,
        statuses: Statuses::Any,
    };
    search::search(db, &terms::query(q), &filter, Order::Relevance, None, 50)
        .await
        .unwrap()
        .items
        .len()
}

async fn check_existing_ideas_are_indexed_by_the_migration(test_db: TestDb) {
    let db = &test_db.db;
    let mut seed = Seed::new(1, 0);
    let author = seed.participants[0].id;
    for (title, body) in [
        ("Nouvelles écoles", "Ouvrir les écoles le samedi"),
        ("Running club", "Weekly runs"),
    ] {
        seed.ideas.push(jam_store::entity::ideas::Model::posted(
            &seed.session,
            author,
            title.into(),
            body.into(),
            &[],
            seed.jam.created_at,
        ));
    }
    seed.insert(db).await.unwrap();
    assert_eq!(found(db, &seed, "ecole").await, 1, "indexed when posted");

    // Back to the schema before search, with the old form of search_text.
    Migrator::down(db, Some(from_search())).await.unwrap();
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        "UPDATE ideas SET search_text = lower(title || ' ' || body)",
    ))
    .await
    .unwrap();
    jam_store::migrate(db).await.unwrap();

    assert_eq!(found(db, &seed, "écoles").await, 1, "French, accents folded");
    assert_eq!(found(db, &seed, "runs").await, 1, "English stems");
    assert_eq!(found(db, &seed, "running samedi").await, 0, "every word");
    test_db.finish().await;
}

#[tokio::test]
async fn existing_ideas_are_indexed_by_the_search_migration_on_sqlite() {
    check_existing_ideas_are_indexed_by_the_migration(TestDb::sqlite_migrated().await).await;
}

#[tokio::test]
async fn existing_ideas_are_indexed_by_the_search_migration_on_postgresql() {
    let Some(db) = TestDb::postgres_migrated("search_backfill").await else {
        return;
    };
    check_existing_ideas_are_indexed_by_the_migration(db).await;
}
