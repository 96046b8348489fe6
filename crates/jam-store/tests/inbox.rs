//! The inbox's storage on SQLite and (when configured) PostgreSQL: a page merges a participant's
//! notifications with the jam's announcements newest first; unread counts follow one read mark that
//! only moves forward; follows are one row per participant and idea; the names a mention resolves
//! against are matched by prefix whatever the case, with `%` and `_` taken literally.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use jam_store::inbox::{self, Entry};
use jam_testkit::{Seed, TestDb, With, insert, rows};
use uuid::Uuid;

async fn inbox_pages_and_unread_counts_hold(t: TestDb) {
    let db = &t.db;
    let mut seed = Seed::new(3, 2);
    for (p, name) in seed.participants.iter_mut().zip(["Ada", "Éloïse", "adam_50%"]) {
        *p = p.clone().with(|p| p.display_name = name.to_owned());
    }
    seed.insert(db).await.unwrap();
    let (ada, elo) = (&seed.participants[0], &seed.participants[1]);
    let idea = &seed.ideas[0];

    // Two notifications for Ada, one for Éloïse, and two announcements in between.
    let n1 = rows::notification(idea, ada);
    inbox::insert(db, std::slice::from_ref(&n1)).await.unwrap();
    let a1 = rows::announcement(&seed.jam);
    insert(db, &a1).await.unwrap();
    let n2 = rows::notification(idea, ada);
    let other = rows::notification(idea, elo);
    inbox::insert(db, &[n2.clone(), other]).await.unwrap();
    let a2 = rows::announcement(&seed.jam);
    insert(db, &a2).await.unwrap();

    let page = inbox::page(db, ada.id, seed.jam.id, None, 10).await.unwrap();
    let got: Vec<Uuid> = page.iter().map(Entry::id).collect();
    assert_eq!(got, [a2.id, n2.id, a1.id, n1.id]);
    assert!(matches!(page[0], Entry::Announcement(_)));
    let older = inbox::page(db, ada.id, seed.jam.id, Some(n2.id), 2)
        .await
        .unwrap();
    assert_eq!(older.iter().map(Entry::id).collect::<Vec<_>>(), [a1.id, n1.id]);
    assert_eq!(inbox::unread(db, ada.id, seed.jam.id, None).await.unwrap(), 4);
    assert_eq!(inbox::unread(db, elo.id, seed.jam.id, None).await.unwrap(), 3);

    // The mark moves forward only.
    assert_eq!(inbox::read_until(db, ada.id).await.unwrap(), None);
    inbox::mark_read(db, ada.id, a1.id, rows::now()).await.unwrap();
    assert_eq!(inbox::read_until(db, ada.id).await.unwrap(), Some(a1.id));
    inbox::mark_read(db, ada.id, n1.id, rows::now()).await.unwrap();
    assert_eq!(inbox::read_until(db, ada.id).await.unwrap(), Some(a1.id));
    assert_eq!(
        inbox::unread(db, ada.id, seed.jam.id, Some(a1.id)).await.unwrap(),
        2
    );
    inbox::mark_read(db, ada.id, a2.id, rows::now()).await.unwrap();
    assert_eq!(inbox::read_until(db, ada.id).await.unwrap(), Some(a2.id));
    assert_eq!(
        inbox::unread(db, ada.id, seed.jam.id, Some(a2.id)).await.unwrap(),
        0
    );

    // Following twice is one row; unfollowing removes it.
    inbox::follow(db, idea.id, elo.id, rows::now()).await.unwrap();
    inbox::follow(db, idea.id, elo.id, rows::now()).await.unwrap();
    inbox::follow(db, idea.id, ada.id, rows::now()).await.unwrap();
    assert_eq!(inbox::followers(db, idea.id).await.unwrap(), [elo.id, ada.id]);
    assert!(inbox::is_following(db, idea.id, elo.id).await.unwrap());
    inbox::unfollow(db, idea.id, elo.id).await.unwrap();
    assert!(!inbox::is_following(db, idea.id, elo.id).await.unwrap());
    assert_eq!(inbox::followers(db, idea.id).await.unwrap(), [ada.id]);

    // Names by prefix, any case, accents included; wildcards are literal.
    let names = |prefixes: &[&str]| {
        let prefixes: Vec<String> = prefixes.iter().map(|p| (*p).to_owned()).collect();
        async move {
            inbox::names_starting(db, seed.jam.id, &prefixes, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|(_, name)| name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names(&["ad"]).await, ["Ada", "adam_50%"]);
    assert_eq!(names(&["éloïse"]).await, ["Éloïse"]);
    assert_eq!(names(&["ADAM_5"]).await, ["adam_50%"]);
    assert!(names(&["a%"]).await.is_empty());
    assert!(names(&["ada_"]).await.is_empty());
    assert_eq!(names(&["x", "élo"]).await, ["Éloïse"]);
    t.finish().await;
}

#[tokio::test]
async fn the_inbox_store_holds_on_sqlite() {
    inbox_pages_and_unread_counts_hold(TestDb::sqlite_migrated().await).await;
}

#[tokio::test]
async fn the_inbox_store_holds_on_postgres() {
    if let Some(t) = TestDb::postgres_migrated("the inbox on PostgreSQL").await {
        inbox_pages_and_unread_counts_hold(t).await;
    }
}
