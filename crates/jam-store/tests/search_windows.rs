//! Relevance search ranks windows of matches (`jam_store::search::Window`) and similar ideas look
//! for a draft's rarest terms, on SQLite and PostgreSQL alike. Windows are a handful of ideas here
//! (`search_windowed`), so a few dozen ideas cross several of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use jam_domain::{ItemStatus, terms};
use jam_store::entity::{ideas, sessions};
use jam_store::search::{self, Filter, Order, SearchCursor, SimilarParams, Statuses};
use jam_testkit::{Seed, TestDb, rows, seed};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use uuid::Uuid;

/// Relevance windows in these tests: far fewer than the ideas of a common word.
const WINDOW: u64 = 4;

fn idea(
    seed: &Seed,
    session: &sessions::Model,
    i: usize,
    title: &str,
    body: &str,
    tags: &[&str],
) -> ideas::Model {
    let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
    let author = seed.participants[i % seed.participants.len()].id;
    ideas::Model::posted(
        session,
        author,
        title.into(),
        body.into(),
        &tags,
        seed.jam.created_at,
    )
}

fn everyone(seed: &Seed) -> Filter {
    Filter {
        jam_id: seed.jam.id,
        session_id: None,
        tag_key: None,
        audience_id: None,
        statuses: Statuses::Only(ItemStatus::Visible),
    }
}

/// Every page of a relevance search, `limit` per page, following the cursors.
async fn all_pages(db: &DatabaseConnection, q: &str, filter: &Filter, limit: u64) -> Vec<Uuid> {
    let query = terms::query(q);
    let mut out = Vec::new();
    let mut after: Option<SearchCursor> = None;
    for _ in 0..1000 {
        let page = search::search_windowed(db, &query, filter, Order::Relevance, after, limit, WINDOW)
            .await
            .unwrap();
        assert!(page.items.len() as u64 <= limit);
        out.extend(page.items.iter().map(|i| i.id));
        match page.next {
            Some(next) => {
                assert_eq!(page.items.len() as u64, limit, "only the last page is short");
                // The cursor travels as text, as it does through the API.
                after = Some(SearchCursor::parse(Order::Relevance, &next.encode()).unwrap());
            }
            None => return out,
        }
    }
    panic!("paging did not end");
}

/// 60 ideas about solar energy in two sessions (some hidden, some tagged), and one about a
/// telescope among them.
struct Corpus {
    seed: Seed,
    other: sessions::Model,
    ideas: Vec<ideas::Model>,
    telescope: Uuid,
}

async fn corpus(db: &DatabaseConnection) -> Corpus {
    let seed = Seed::new(3, 0);
    let other = rows::session(&seed.jam);
    let mut ideas = Vec::new();
    let mut telescope = Uuid::nil();
    for i in 0..60 {
        let session = if i % 3 == 0 { &other } else { &seed.session };
        let solar = "solar ".repeat(1 + i % 4);
        let tags: &[&str] = if i % 5 == 0 { &["Green energy"] } else { &[] };
        let telescope_here = i == 23;
        let body = if telescope_here {
            format!("{solar} panels for the energy of the building and a telescope on the roof")
        } else {
            format!("{solar} panels for the energy of the building")
        };
        let mut row = idea(&seed, session, i, &format!("Energy idea {i}"), &body, tags);
        if i % 7 == 0 {
            row.status = ItemStatus::Hidden;
        }
        if telescope_here {
            telescope = row.id;
        }
        ideas.push(row);
    }
    seed.insert(db).await.unwrap();
    seed::insert(db, &other).await.unwrap();
    seed::insert_all(db, &ideas).await.unwrap();
    Corpus {
        seed,
        other,
        ideas,
        telescope,
    }
}

/// The ids of the corpus's ideas that `keep` accepts.
fn expected(c: &Corpus, keep: impl Fn(&ideas::Model) -> bool) -> HashSet<Uuid> {
    c.ideas.iter().filter(|i| keep(i)).map(|i| i.id).collect()
}

/// Paging a relevance search that crosses windows returns every result exactly once, with the
/// filters exact.
async fn check_relevance_pages_cross_windows_and_return_every_result_once(test_db: TestDb) {
    let db = &test_db.db;
    let c = corpus(db).await;
    let visible = |i: &ideas::Model| i.status == ItemStatus::Visible;

    let cases: Vec<(Filter, HashSet<Uuid>)> = vec![
        (everyone(&c.seed), expected(&c, visible)),
        (
            Filter {
                session_id: Some(c.other.id),
                ..everyone(&c.seed)
            },
            expected(&c, |i| visible(i) && i.session_id == c.other.id),
        ),
        (
            Filter {
                tag_key: terms::tag_key("green-Energy"),
                ..everyone(&c.seed)
            },
            expected(&c, |i| visible(i) && i.tags != "[]"),
        ),
        (
            Filter {
                statuses: Statuses::Any,
                ..everyone(&c.seed)
            },
            expected(&c, |_| true),
        ),
        (
            Filter {
                audience_id: Some(c.seed.audience().id),
                ..everyone(&c.seed)
            },
            expected(&c, visible),
        ),
    ];
    for (n, (filter, want)) in cases.iter().enumerate() {
        assert!(want.len() as u64 > 2 * WINDOW, "case {n} crosses windows");
        for limit in [1, 5, 20] {
            let got = all_pages(db, "solar", filter, limit).await;
            let unique: HashSet<Uuid> = got.iter().copied().collect();
            assert_eq!(
                unique.len(),
                got.len(),
                "case {n}, limit {limit}: no result twice"
            );
            assert_eq!(&unique, want, "case {n}, limit {limit}: every result");
        }
    }
    // An audience no author belongs to matches nothing, in every window.
    let nobody = Filter {
        audience_id: Some(Uuid::now_v7()),
        ..everyone(&c.seed)
    };
    assert!(all_pages(db, "solar", &nobody, 5).await.is_empty());
    test_db.finish().await;
}

/// Within its window, a relevance page is best first: the newest window's best match leads, even
/// though an older idea scores as well.
async fn check_a_window_is_ranked_best_first(test_db: TestDb) {
    let db = &test_db.db;
    let seed = Seed::new(2, 0);
    let mut rows = Vec::new();
    for i in 0..30 {
        let title = if i == 27 { "Solar solar roof" } else { "A roof" };
        rows.push(idea(&seed, &seed.session, i, title, "solar panels", &[]));
    }
    seed.insert(db).await.unwrap();
    seed::insert_all(db, &rows).await.unwrap();
    let page = search::search_windowed(
        db,
        &terms::query("solar"),
        &everyone(&seed),
        Order::Relevance,
        None,
        3,
        WINDOW,
    )
    .await
    .unwrap();
    assert_eq!(page.items[0].id, rows[27].id, "the title match leads its window");
    let newest: HashSet<Uuid> = rows[30 - WINDOW as usize..].iter().map(|i| i.id).collect();
    assert!(
        page.items.iter().all(|i| newest.contains(&i.id)),
        "the first page comes from the newest window"
    );
    test_db.finish().await;
}

/// A rare word finds its one idea among many common ones, alone or with a common word.
async fn check_a_rare_word_finds_its_one_idea(test_db: TestDb) {
    let db = &test_db.db;
    let c = corpus(db).await;
    for q in ["telescope", "telescopes solar", "energy telescope"] {
        let page = search::search_windowed(
            db,
            &terms::query(q),
            &everyone(&c.seed),
            Order::Relevance,
            None,
            20,
            WINDOW,
        )
        .await
        .unwrap();
        let ids: Vec<Uuid> = page.items.iter().map(|i| i.id).collect();
        assert_eq!(ids, vec![c.telescope], "{q}");
        assert!(page.next.is_none(), "{q}: one page");
    }
    test_db.finish().await;
}

/// A draft that opens with more common words than similar ideas look up still finds the idea it
/// duplicates, by its rare words further on.
async fn check_similar_ideas_find_the_original_by_its_rare_words(test_db: TestDb) {
    let db = &test_db.db;
    let seed = Seed::new(3, 0);
    let common = "energy team office meeting budget coffee lunch printer laptop network software \
                  hardware schedule calendar holiday family";
    let mut rows = Vec::new();
    for i in 0..80 {
        rows.push(idea(
            &seed,
            &seed.session,
            i,
            "Energy team office meeting",
            &format!("{common} number {i}"),
            &[],
        ));
    }
    let original = idea(
        &seed,
        &seed.session,
        80,
        "Energy team office meeting",
        &format!("{common} with a telescope satellite orbit and a microscope"),
        &[],
    );
    rows.insert(40, original.clone());
    seed.insert(db).await.unwrap();
    seed::insert_all(db, &rows).await.unwrap();
    if test_db.is_postgres() {
        // What autovacuum does after many writes: counts each term's share of ideas.
        db.execute_raw(Statement::from_string(db.get_database_backend(), "ANALYZE ideas"))
            .await
            .unwrap();
    }
    let draft = terms::stored_text(
        "Energy team meeting",
        &format!("{common} telescope satellite orbit microscope"),
        &[],
    );
    let parts = terms::parse_stored(&draft);
    let mut distinct: Vec<&str> = Vec::new();
    for t in parts.title.iter().chain(parts.body.iter()) {
        if !distinct.contains(t) {
            distinct.push(t);
        }
    }
    let first_rare = distinct.iter().position(|t| t.starts_with("telescop")).unwrap();
    assert!(
        first_rare >= 12,
        "more common words than similar ideas look for come before the rare ones"
    );
    let found = search::similar(
        db,
        seed.jam.id,
        seed.session.id,
        &draft,
        None,
        SimilarParams {
            min_score: 0.3,
            limit: 5,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        found.first().map(|s| s.idea.id),
        Some(original.id),
        "the original is the most similar: {:?}",
        found.iter().map(|s| (&s.idea.body, s.score)).collect::<Vec<_>>()
    );
    test_db.finish().await;
}

#[tokio::test]
async fn relevance_pages_cross_windows_and_return_every_result_once_on_sqlite() {
    check_relevance_pages_cross_windows_and_return_every_result_once(TestDb::sqlite_migrated().await).await;
}

#[tokio::test]
async fn relevance_pages_cross_windows_and_return_every_result_once_on_postgresql() {
    let Some(db) = TestDb::postgres_migrated("search_windows_pages").await else {
        return;
    };
    check_relevance_pages_cross_windows_and_return_every_result_once(db).await;
}

#[tokio::test]
async fn a_window_is_ranked_best_first_on_sqlite() {
    check_a_window_is_ranked_best_first(TestDb::sqlite_migrated().await).await;
}

#[tokio::test]
async fn a_window_is_ranked_best_first_on_postgresql() {
    let Some(db) = TestDb::postgres_migrated("search_windows_rank").await else {
        return;
    };
    check_a_window_is_ranked_best_first(db).await;
}

#[tokio::test]
async fn a_rare_word_finds_its_one_idea_among_common_ones_on_sqlite() {
    check_a_rare_word_finds_its_one_idea(TestDb::sqlite_migrated().await).await;
}

#[tokio::test]
async fn a_rare_word_finds_its_one_idea_among_common_ones_on_postgresql() {
    let Some(db) = TestDb::postgres_migrated("search_windows_rare").await else {
        return;
    };
    check_a_rare_word_finds_its_one_idea(db).await;
}

#[tokio::test]
async fn similar_ideas_find_the_original_by_its_rare_words_on_sqlite() {
    check_similar_ideas_find_the_original_by_its_rare_words(TestDb::sqlite_migrated().await).await;
}

#[tokio::test]
async fn similar_ideas_find_the_original_by_its_rare_words_on_postgresql() {
    let Some(db) = TestDb::postgres_migrated("search_windows_similar").await else {
        return;
    };
    check_similar_ideas_find_the_original_by_its_rare_words(db).await;
}
