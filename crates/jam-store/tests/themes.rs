//! Themes storage: the job's reads (visible ideas' texts, the previous run, the ideas' state), a run
//! saved atomically (a jam's themes and assignments replaced, other jams untouched, a failing run
//! leaving the previous one whole), a theme's ideas in pages, labels, and the activity per theme in
//! two windows; on SQLite and (when configured) PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use jam_domain::{ItemStatus, VoteValue};
use jam_store::themes::{self, IdeasState, NewTheme, Run};
use jam_testkit::rows::{self, now};
use jam_testkit::{Seed, TestDb, With, insert};
use uuid::Uuid;

async fn a_run_replaces_the_jams_themes_in_one_go(t: TestDb) {
    let db = &t.db;
    let mut seed = Seed::new(2, 6);
    seed.ideas[0].body = "Longer body".into();
    seed.ideas[5].status = ItemStatus::Hidden;
    seed.insert(db).await.unwrap();
    let other = Seed::inserted(db, 1, 2).await.unwrap();
    let ids: Vec<Uuid> = seed.ideas.iter().map(|i| i.id).collect();

    // The texts: visible ideas only, title and body, in id order.
    let texts = themes::idea_texts(db, seed.jam.id).await.unwrap();
    assert_eq!(texts.len(), 5, "the hidden idea is left out");
    assert_eq!(texts[0].id, ids[0]);
    assert_eq!(texts[0].text, "Idea 0\n\nLonger body");
    assert!(texts.windows(2).all(|w| w[0].id < w[1].id));

    // The state counts every idea and remembers the latest change.
    let states = themes::ideas_states(db).await.unwrap();
    let state = states[&seed.jam.id];
    assert_eq!(state.ideas, 6);
    assert_eq!(state.updated_at, Some(seed.ideas[0].updated_at));
    assert_eq!(states[&other.jam.id].ideas, 2);
    assert!(themes::last_run(db, seed.jam.id).await.unwrap().is_none());

    let run_at = now();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let first = Run {
        jam_id: seed.jam.id,
        run_at,
        read: state,
        themes: vec![
            NewTheme {
                id: a,
                label: vec!["canteen".into(), "menu".into(), "lunch".into()],
                ideas: vec![ids[0], ids[1], ids[2]],
            },
            NewTheme {
                id: b,
                label: vec!["bike".into(), "parking".into(), "shower".into()],
                ideas: vec![ids[3], ids[4]],
            },
        ],
    };
    themes::save_run(db, &first).await.unwrap();
    let other_run = Run {
        jam_id: other.jam.id,
        run_at,
        read: IdeasState::default(),
        themes: vec![NewTheme {
            id: Uuid::now_v7(),
            label: vec!["x".into()],
            ideas: vec![other.ideas[0].id],
        }],
    };
    themes::save_run(db, &other_run).await.unwrap();

    let listed = themes::list(db, seed.jam.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        [a, b],
        "largest first"
    );
    assert_eq!(listed[0].size, 3);
    assert_eq!(listed[0].terms(), ["canteen", "menu", "lunch"]);
    assert_eq!(listed[0].run_at, run_at);
    let members = themes::members(db, seed.jam.id).await.unwrap();
    let mut expect = vec![(a, vec![ids[0], ids[1], ids[2]]), (b, vec![ids[3], ids[4]])];
    expect.sort();
    assert_eq!(
        members
            .iter()
            .map(|m| (m.theme_id, m.ideas.clone()))
            .collect::<Vec<_>>(),
        expect
    );
    let run = themes::last_run(db, seed.jam.id).await.unwrap().unwrap();
    assert_eq!(
        (run.run_at, run.ideas, run.ideas_updated_at),
        (run_at, 6, state.updated_at)
    );
    let labels = themes::labels_of_jam(db, seed.jam.id).await.unwrap();
    assert_eq!(labels[&ids[4]], "bike, parking, shower");
    assert!(!labels.contains_key(&ids[5]));

    // A second run: `a` continues with one idea more, `b` is gone, `c` is new.
    let c = Uuid::now_v7();
    let later = run_at + Duration::minutes(5);
    let second = Run {
        jam_id: seed.jam.id,
        run_at: later,
        read: IdeasState {
            ideas: 6,
            updated_at: Some(later),
        },
        themes: vec![
            NewTheme {
                id: a,
                label: vec!["canteen".into(), "food".into(), "lunch".into()],
                ideas: vec![ids[0], ids[1], ids[2], ids[3]],
            },
            NewTheme {
                id: c,
                label: vec!["remote".into(), "home".into(), "office".into()],
                ideas: vec![ids[4]],
            },
        ],
    };
    themes::save_run(db, &second).await.unwrap();
    let listed = themes::list(db, seed.jam.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|t| (t.id, t.size)).collect::<Vec<_>>(),
        [(a, 4), (c, 1)]
    );
    assert!(listed.iter().all(|t| t.run_at == later));
    let of = themes::of_ideas(db, ids.clone()).await.unwrap();
    assert_eq!(of[&ids[3]], a);
    assert_eq!(of[&ids[4]], c);
    assert_eq!(of.len(), 5);
    assert_eq!(
        themes::last_run(db, seed.jam.id).await.unwrap().unwrap().run_at,
        later
    );
    assert_eq!(
        themes::list(db, other.jam.id).await.unwrap().len(),
        1,
        "another jam's run is untouched"
    );

    // A run that fails half-way (an unknown idea) leaves the previous run whole.
    let broken = Run {
        jam_id: seed.jam.id,
        run_at: later + Duration::minutes(5),
        read: IdeasState::default(),
        themes: vec![NewTheme {
            id: Uuid::now_v7(),
            label: vec!["lost".into()],
            ideas: vec![ids[0], Uuid::now_v7()],
        }],
    };
    assert!(themes::save_run(db, &broken).await.is_err());
    let listed = themes::list(db, seed.jam.id).await.unwrap();
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), [a, c]);
    assert_eq!(themes::of_ideas(db, ids.clone()).await.unwrap().len(), 5);
    assert_eq!(
        themes::last_run(db, seed.jam.id).await.unwrap().unwrap().run_at,
        later
    );
    t.finish().await;
}

async fn a_themes_ideas_page_and_its_activity_counts_by_window(t: TestDb) {
    let db = &t.db;
    let mut seed = Seed::new(3, 7);
    let t0 = now();
    // Ideas 0..2 an hour and a half ago, 3..5 ten minutes ago; idea 6 is in no theme.
    for (i, idea) in seed.ideas.iter_mut().enumerate() {
        idea.created_at = if i < 3 {
            t0 - Duration::minutes(90)
        } else {
            t0 - Duration::minutes(10)
        };
    }
    seed.ideas[4].status = ItemStatus::Hidden;
    seed.insert(db).await.unwrap();
    let ids: Vec<Uuid> = seed.ideas.iter().map(|i| i.id).collect();
    let theme = Uuid::now_v7();
    themes::save_run(
        db,
        &Run {
            jam_id: seed.jam.id,
            run_at: t0,
            read: IdeasState::default(),
            themes: vec![NewTheme {
                id: theme,
                label: vec!["a".into(), "b".into(), "c".into()],
                ideas: ids[..6].to_vec(),
            }],
        },
    )
    .await
    .unwrap();

    // Pages of two, newest first; participants' pages leave the hidden idea out.
    let (page, next) = themes::ideas_page(db, theme, false, None, 2).await.unwrap();
    assert_eq!(page.iter().map(|i| i.id).collect::<Vec<_>>(), [ids[5], ids[3]]);
    let (page2, next2) = themes::ideas_page(db, theme, false, next, 2).await.unwrap();
    assert_eq!(page2.iter().map(|i| i.id).collect::<Vec<_>>(), [ids[2], ids[1]]);
    let (page3, next3) = themes::ideas_page(db, theme, false, next2, 2).await.unwrap();
    assert_eq!(page3.iter().map(|i| i.id).collect::<Vec<_>>(), [ids[0]]);
    assert_eq!(next3, None);
    let (all, _) = themes::ideas_page(db, theme, true, None, 10).await.unwrap();
    assert_eq!(all.len(), 6, "staff pages hold every status");

    // Comments and votes: two in the window before, three in the recent one; a retracted vote
    // counts for nothing.
    let p = &seed.participants;
    let old = |m: i64| t0 - Duration::minutes(m);
    insert(
        db,
        &rows::comment(&seed.ideas[0], &p[0]).with(|c| c.created_at = old(70)),
    )
    .await
    .unwrap();
    insert(
        db,
        &rows::comment(&seed.ideas[3], &p[0]).with(|c| c.created_at = old(5)),
    )
    .await
    .unwrap();
    insert(
        db,
        &rows::comment(&seed.ideas[6], &p[0]).with(|c| c.created_at = old(5)),
    )
    .await
    .unwrap();
    insert(
        db,
        &rows::vote(&seed.ideas[1], &p[1], VoteValue::Up).with(|v| v.updated_at = old(100)),
    )
    .await
    .unwrap();
    insert(
        db,
        &rows::vote(&seed.ideas[3], &p[1], VoteValue::Up).with(|v| v.updated_at = old(2)),
    )
    .await
    .unwrap();
    insert(
        db,
        &rows::vote(&seed.ideas[3], &p[2], VoteValue::Down).with(|v| v.updated_at = old(3)),
    )
    .await
    .unwrap();
    insert(
        db,
        &rows::vote(&seed.ideas[5], &p[2], VoteValue::Up)
            .with(|v| v.updated_at = old(1))
            .with(|v| v.value = 0),
    )
    .await
    .unwrap();

    let activity = themes::activity(
        db,
        seed.jam.id,
        t0 - Duration::hours(2),
        t0 - Duration::hours(1),
        t0,
    )
    .await
    .unwrap();
    let a = activity[&theme];
    assert_eq!(
        a.ideas,
        [3, 3],
        "a hidden idea still counts; an idea in no theme does not"
    );
    assert_eq!(a.comments, [1, 1]);
    assert_eq!(a.votes, [1, 2]);
    assert_eq!(activity.len(), 1);
    t.finish().await;
}

#[tokio::test]
async fn a_run_replaces_the_jams_themes_in_one_go_on_sqlite() {
    a_run_replaces_the_jams_themes_in_one_go(TestDb::sqlite_migrated().await).await;
}

#[tokio::test]
async fn a_run_replaces_the_jams_themes_in_one_go_on_postgres() {
    if let Some(t) = TestDb::postgres_migrated("themes storage on PostgreSQL").await {
        a_run_replaces_the_jams_themes_in_one_go(t).await;
    }
}

#[tokio::test]
async fn a_themes_ideas_page_and_activity_on_sqlite() {
    a_themes_ideas_page_and_its_activity_counts_by_window(TestDb::sqlite_migrated().await).await;
}

#[tokio::test]
async fn a_themes_ideas_page_and_activity_on_postgres() {
    if let Some(t) = TestDb::postgres_migrated("themes storage on PostgreSQL").await {
        a_themes_ideas_page_and_its_activity_counts_by_window(t).await;
    }
}
