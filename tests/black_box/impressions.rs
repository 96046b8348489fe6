//! Impressions (issue 17), seen from outside: a participant's report is stored once per idea
//! whatever how often it is repeated, ids that are no idea of the jam are dropped and counted, a
//! report over the cap or empty is a 422 that stores nothing, the count is shown to staff only, and
//! the stored counters always equal the rows. On SQLite and PostgreSQL.

use chrono::Duration;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::fixtures::*;
use crate::support::*;

async fn report(c: &Client, slug: &str, ids: &[&str]) -> Reply {
    c.post(
        &format!("/api/v1/jams/{slug}/impressions"),
        json!({ "idea_ids": ids }),
    )
    .await
}

/// (`COUNT(*)` of impressions, `SUM(ideas.impressions)`).
async fn rows_and_counters(d: &Deployment) -> (i64, i64) {
    let db = open_db(d).await;
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT (SELECT COUNT(*) FROM impressions) AS n_rows, \
               (SELECT CAST(COALESCE(SUM(impressions), 0) AS BIGINT) FROM ideas) AS n_counted",
        ))
        .await
        .unwrap()
        .unwrap();
    let n = |c: &str| {
        row.try_get::<i64>("", c)
            .or_else(|_| row.try_get::<i32>("", c).map(i64::from))
            .unwrap()
    };
    (n("n_rows"), n("n_counted"))
}

async fn impressions_are_stored_once_per_participant_and_idea(mut d: Deployment, slug: &str, backend: &str) {
    d.extra_env.push(("JAM__IMPRESSIONS__MAX_IDS".into(), "4".into()));
    let jam = live_jam(d, slug).await;
    let base = jam.node.base.clone();
    let ada = join(&base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let bea = join(&base, &jam.slug, &jam.codes[1].1, "Bea").await;
    let bikes = id(&post_idea(&ada, &jam.open, "Shared bikes", "Everywhere.", json!([])).await);
    let trees = id(&post_idea(&bea, &jam.open, "More trees", "Shade.", json!([])).await);
    // An idea of another jam, and an id that names nothing.
    let (other_slug, _, other_codes) = create_jam(&jam.fac, &format!("{slug}-other")).await;
    let other_session = add_session(&jam.fac, &other_slug, "Elsewhere", 0, 24).await;
    jam.fac
        .post(&format!("/api/v1/jams/{other_slug}/schedule"), json!({}))
        .await;
    let cy = join(&base, &other_slug, &other_codes[0].1, "Cy").await;
    let foreign = id(&post_idea(&cy, &other_session, "Elsewhere", "Not here.", json!([])).await);
    let unknown = uuid::Uuid::now_v7().to_string();

    // Repeats within one report count once; strangers are dropped and counted.
    let r = report(&ada, &jam.slug, &[&bikes, &trees, &bikes, &foreign]).await;
    assert_eq!(r.status, 200, "{backend}: {}", r.body);
    assert_eq!(
        r.body,
        json!({ "recorded": 2, "repeated": 0, "ignored": 1 }),
        "{backend}"
    );
    let r = report(&ada, &jam.slug, &[&bikes, &unknown]).await;
    assert_eq!(
        r.body,
        json!({ "recorded": 0, "repeated": 1, "ignored": 1 }),
        "{backend}"
    );
    let r = report(&bea, &jam.slug, &[&bikes]).await;
    assert_eq!(
        r.body,
        json!({ "recorded": 1, "repeated": 0, "ignored": 0 }),
        "{backend}"
    );

    // Over the cap, empty, or malformed: a 422 naming the field, and nothing stored.
    let five: Vec<String> = (0..5).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let five: Vec<&str> = five.iter().map(String::as_str).collect();
    let mut over = five.clone();
    over[0] = &trees;
    let r = report(&bea, &jam.slug, &over).await;
    r.assert_problem(422);
    assert_eq!(r.body["errors"][0]["field"], "idea_ids", "{backend}");
    report(&bea, &jam.slug, &[]).await.assert_problem(422);
    let r = bea
        .post(
            &format!("/api/v1/jams/{}/impressions", jam.slug),
            json!({ "idea_ids": ["not-an-id"] }),
        )
        .await;
    r.assert_problem(422);
    // Staff read but do not see ideas as participants do; another jam's participant cannot see it.
    report(&jam.fac, &jam.slug, &[&bikes]).await.assert_problem(403);
    report(&cy, &jam.slug, &[&bikes]).await.assert_problem(404);
    assert_eq!(rows_and_counters(&jam.d).await, (3, 3), "{backend}");

    // The count is for staff: in lists and on the idea page; participants never see it.
    let staff_idea = jam.fac.get(&format!("/api/v1/ideas/{bikes}")).await;
    assert_eq!(
        staff_idea.body["impressions"], 2,
        "{backend}: {}",
        staff_idea.body
    );
    let staff_list = jam
        .fac
        .get(&format!("/api/v1/sessions/{}/ideas?sort=new", jam.open))
        .await;
    let counts: Vec<_> = staff_list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["title"].as_str().unwrap().to_owned(), i["impressions"].clone()))
        .collect();
    assert_eq!(
        counts,
        [
            ("More trees".to_owned(), json!(1)),
            ("Shared bikes".to_owned(), json!(2))
        ],
        "{backend}"
    );
    let theirs = ada.get(&format!("/api/v1/ideas/{bikes}")).await;
    assert!(
        theirs.body.get("impressions").is_none(),
        "{backend}: {}",
        theirs.body
    );
    let theirs = ada.get(&format!("/api/v1/sessions/{}/ideas", jam.open)).await;
    assert!(
        theirs.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.get("impressions").is_none()),
        "{backend}: {}",
        theirs.body
    );

    // A closed jam's exposure is frozen.
    jam.d.set_clock(t0() + Duration::days(4));
    report(&bea, &jam.slug, &[&trees]).await.assert_problem(409);
    assert_eq!(rows_and_counters(&jam.d).await, (3, 3), "{backend}");
}

#[actix_rt::test]
async fn impressions_are_stored_once_per_participant_and_idea_on_sqlite() {
    impressions_are_stored_once_per_participant_and_idea(Deployment::sqlite(t0()), "seen-lite", "sqlite")
        .await;
}

#[actix_rt::test]
async fn impressions_are_stored_once_per_participant_and_idea_on_postgresql() {
    let Some(d) = Deployment::postgres(t0()).await else {
        return;
    };
    impressions_are_stored_once_per_participant_and_idea(d, "seen-pg", "postgresql").await;
}
