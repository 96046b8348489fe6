#![allow(clippy::unwrap_used, clippy::expect_used)]
//! SQLite: an idea write refused by a foreign key leaves its connection as clean as it found it.
//!
//! The search index's triggers write to FTS5. When the statement that fired them then fails its
//! foreign key check, SQLite 3.51's FTS5 keeps a read of the database open on that connection: its
//! next write, after any other connection has written, fails with SQLITE_BUSY_SNAPSHOT ("database is
//! locked", code 517) and its reads see the old snapshot. The triggers only run when every row the
//! idea points at exists (`m20261210_000004_search`), so the failing statement never reaches FTS5.
//!
//! Two pools of one connection each stand for two pooled connections, so each step is known to run
//! on the connection the test means.

use std::time::Duration;

use jam_domain::terms;
use jam_store::entity::{ideas, staff};
use jam_store::search::{self, Filter, Order, Statuses};
use jam_store::{DbSettings, is_foreign_key_violation};
use jam_testkit::rows;
use jam_testkit::{With, insert};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, IntoActiveModel, PaginatorTrait};
use uuid::Uuid;

async fn one_connection(url: &str) -> DatabaseConnection {
    jam_store::connect(&DbSettings {
        url: url.to_owned(),
        max_connections: 1,
        min_connections: 1,
        connect_timeout: Duration::from_secs(30),
        sqlite_busy_timeout: Duration::from_secs(30),
    })
    .await
    .unwrap()
}

/// After `fail` (a refused idea write on `a`) and a write on `b`, `a` writes and reads the newest data.
async fn check_connection_stays_usable(name: &str, fail: impl AsyncFn(&DatabaseConnection, &ideas::Model)) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("jam.db").display());
    let a = one_connection(&url).await;
    jam_store::migrate(&a).await.unwrap();
    let b = one_connection(&url).await;
    let jam = rows::jam();
    insert(&a, &jam).await.unwrap();
    let audience = rows::audience(&jam);
    insert(&a, &audience).await.unwrap();
    let session = rows::session(&jam);
    insert(&a, &session).await.unwrap();
    let author = rows::participant(&audience);
    insert(&a, &author).await.unwrap();
    let idea = rows::idea(&session, &author);
    insert(&a, &idea).await.unwrap();

    fail(&a, &idea).await;
    insert(&b, &rows::staff()).await.unwrap();
    insert(&a, &rows::staff())
        .await
        .unwrap_or_else(|e| panic!("{name}: the next write on the same connection: {e}"));
    assert_eq!(
        staff::Entity::find().count(&a).await.unwrap(),
        2,
        "{name}: the connection reads the other connection's write"
    );
    // The index still answers for the idea that was written, and only for it.
    let filter = Filter {
        jam_id: jam.id,
        session_id: None,
        tag_key: None,
        audience_id: None,
        statuses: Statuses::Any,
    };
    let found = search::search(
        &a,
        &terms::query(&idea.title),
        &filter,
        Order::Relevance,
        None,
        10,
    )
    .await
    .unwrap();
    let ids: Vec<Uuid> = found.items.iter().map(|hit| hit.id).collect();
    assert_eq!(ids, [idea.id], "{name}: the search finds the idea");
}

#[tokio::test]
async fn an_idea_insert_refused_by_a_foreign_key_leaves_the_connection_usable() {
    check_connection_stays_usable("insert into an unknown session", async |a, idea| {
        let orphan = idea.clone().with(|i| {
            i.id = Uuid::now_v7();
            i.session_id = Uuid::now_v7();
        });
        let err = insert(a, &orphan).await.unwrap_err();
        assert!(is_foreign_key_violation(&err), "{err}");
    })
    .await;
}

#[tokio::test]
async fn a_merge_into_an_unknown_idea_refused_by_a_foreign_key_leaves_the_connection_usable() {
    check_connection_stays_usable("merge into an unknown idea", async |a, idea| {
        let mut merge = idea.clone().into_active_model();
        merge.status = Set(jam_domain::ItemStatus::Merged);
        merge.merged_into = Set(Some(Uuid::now_v7()));
        let err = ideas::Entity::update(merge).exec(a).await.unwrap_err();
        assert!(is_foreign_key_violation(&err), "{err}");
    })
    .await;
}
