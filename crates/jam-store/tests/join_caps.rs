#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The per-address join cap in the database (`jam_store::join_caps`): slots taken at once never
//! pass the cap, a rolled-back join gives its slot back, each jam, address and day counts alone,
//! and a hit cap is recorded once. On SQLite (a pool of connections, like a node); the black-box
//! ballot test runs the same path on PostgreSQL through the server.

use chrono::{NaiveDate, TimeZone, Utc};
use jam_store::join_caps::{JoinKey, caps_hit, mark_capped, take_slot};
use jam_testkit::{TestDb, With, insert, rows};
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

/// A migrated SQLite database of its own, with a pool of connections like a node's; the `TestDb`
/// keeps its folder alive.
async fn sqlite() -> (TestDb, DatabaseConnection) {
    let t = TestDb::sqlite_migrated().await;
    let db = t.db.clone();
    (t, db)
}

async fn jam(db: &DatabaseConnection, slug: &str) -> Uuid {
    let jam = rows::jam().with(|j| j.slug = slug.into());
    insert(db, &jam).await.unwrap();
    jam.id
}

fn key(jam_id: Uuid, address: &str, day: u32) -> JoinKey {
    JoinKey {
        jam_id,
        address_key: address.into(),
        day: NaiveDate::from_ymd_opt(2027, 3, day).unwrap(),
    }
}

#[tokio::test]
async fn slots_taken_at_once_never_pass_the_cap_and_a_rollback_gives_one_back() {
    let (_dir, db) = sqlite().await;
    let jam_id = jam(&db, "at-once").await;
    let k = key(jam_id, "203.0.113.7/32", 1);
    let tasks = (0..30).map(|_| {
        let (db, k) = (db.clone(), k.clone());
        tokio::spawn(async move {
            let txn = db.begin().await.unwrap();
            let taken = take_slot(&txn, &k, 5).await.unwrap();
            txn.commit().await.unwrap();
            taken
        })
    });
    let mut taken = 0;
    for t in tasks {
        taken += usize::from(t.await.unwrap());
    }
    assert_eq!(taken, 5);

    // A join that fails after taking its slot (rolled back) leaves the count where it was.
    let k2 = key(jam_id, "203.0.113.8/32", 1);
    let txn = db.begin().await.unwrap();
    assert!(take_slot(&txn, &k2, 1).await.unwrap());
    txn.rollback().await.unwrap();
    assert!(
        take_slot(&db, &k2, 1).await.unwrap(),
        "the rolled-back slot is free again"
    );
    assert!(!take_slot(&db, &k2, 1).await.unwrap());
}

#[tokio::test]
async fn each_jam_address_and_day_counts_alone_and_a_hit_cap_is_recorded_once() {
    let (_dir, db) = sqlite().await;
    let (one, two) = (jam(&db, "one").await, jam(&db, "two").await);
    let k = key(one, "2001:db8:1:2::/64", 1);
    assert!(take_slot(&db, &k, 2).await.unwrap());
    assert!(take_slot(&db, &k, 2).await.unwrap());
    assert!(!take_slot(&db, &k, 2).await.unwrap());
    assert!(
        take_slot(&db, &key(two, "2001:db8:1:2::/64", 1), 2)
            .await
            .unwrap()
    );
    assert!(
        take_slot(&db, &key(one, "2001:db8:1:3::/64", 1), 2)
            .await
            .unwrap()
    );
    assert!(
        take_slot(&db, &key(one, "2001:db8:1:2::/64", 2), 2)
            .await
            .unwrap()
    );
    assert!(
        !take_slot(&db, &key(one, "198.51.100.1/32", 1), 0).await.unwrap(),
        "a cap of 0 admits nobody"
    );

    assert!(caps_hit(&db, one, 10).await.unwrap().is_empty());
    let at = Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap();
    assert!(
        mark_capped(&db, &k, at).await.unwrap(),
        "the first refusal is recorded"
    );
    assert!(!mark_capped(&db, &k, at).await.unwrap(), "later ones are not");
    let hit = caps_hit(&db, one, 10).await.unwrap();
    assert_eq!(hit.len(), 1);
    assert_eq!(
        (hit[0].address_key.as_str(), hit[0].joins, hit[0].capped_at),
        ("2001:db8:1:2::/64", 2, Some(at))
    );
    assert!(caps_hit(&db, two, 10).await.unwrap().is_empty());
}
