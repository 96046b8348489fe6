//! The exposure method (issue 17), seen from outside: a late idea liked by the one participant who
//! saw it outranks an early one that four saw and two liked (Wilson over votes alone ranks them the
//! other way), the shortlist and the XLSX Method sheet carry the fairness report, the digest covers
//! the impressions, and `jamd tally verify` fails once an impression row is removed behind the
//! server's back. Time is the deployment's file clock.

use std::io::Cursor;

use calamine::{Reader, Xlsx, open_workbook_from_rs};
use chrono::Duration;
use jam_store::entity::impressions;
use jam_store::sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::*;
use crate::results::download;
use crate::support::*;

/// The Wilson lower bound (95%), written out independently of `jam-domain`.
fn wilson(up: f64, down: f64) -> f64 {
    let n = up + down;
    let z: f64 = 1.959_963_984_540_054;
    let p = up / n;
    (p + z * z / (2.0 * n) - z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt()) / (1.0 + z * z / n)
}

async fn exposure_ranks_by_votes_over_views_and_verify_covers_impressions(mut d: Deployment, slug: &str) {
    // The replay spans four days; the facilitator's sign-in (12 h by default) must outlast it.
    d.extra_env
        .push(("JAM__AUTH__STAFF_SESSION_HOURS".into(), "240".into()));
    let jam = live_jam(d, slug).await;
    let base = jam.node.base.clone();
    let r = jam
        .fac
        .patch(
            &format!("/api/v1/jams/{slug}"),
            json!({ "voting": { "method": "exposure" }, "shortlist_size": 2 }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["voting"]["method"], "exposure");
    let mut people = Vec::new();
    for name in ["p0", "p1", "p2", "p3"] {
        let c = join(&base, slug, &jam.codes[0].1, name).await;
        let me: Uuid = c.get("/api/v1/me").await.body["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        people.push((c, me));
    }
    let early = id(&post_idea(&people[0].0, &jam.open, "Early", "Posted first.", json!([])).await);
    jam.d.set_clock(t0() + Duration::hours(20));
    let late = id(&post_idea(&people[1].0, &jam.open, "Late", "Posted last.", json!([])).await);
    for (c, _) in &people {
        let r = c
            .post(
                &format!("/api/v1/jams/{slug}/impressions"),
                json!({ "idea_ids": [early] }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = people[2]
        .0
        .post(
            &format!("/api/v1/jams/{slug}/impressions"),
            json!({ "idea_ids": [late] }),
        )
        .await;
    assert_eq!(r.body["recorded"], 1, "{}", r.body);
    for idea in [&early, &late] {
        assert_eq!(vote(&people[2].0, idea, 1).await.status, 200);
    }
    assert_eq!(vote(&people[3].0, &early, 1).await.status, 200);

    // Draft: Late (1 of 1 who saw it) above Early (2 of 4).
    let path = format!("/api/v1/jams/{slug}/shortlist");
    let draft = jam.fac.get(&path).await;
    assert_eq!(draft.status, 200, "{}", draft.body);
    assert_eq!(draft.body["method"], "exposure");
    let titles: Vec<&str> = draft.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["idea"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Late", "Early"], "{}", draft.body);
    let score = |i: usize| draft.body["items"][i]["score"].as_f64().unwrap();
    assert!((score(0) - wilson(1.0, 0.0)).abs() < 1e-12, "{}", draft.body);
    assert!((score(1) - wilson(2.0, 2.0)).abs() < 1e-12, "{}", draft.body);
    // The fairness report, one line per method: ρ(rank, post time) is +1 where the earlier idea
    // ranks first (Wilson) and −1 where the later one does (exposure).
    let rho = |method: &str| {
        draft.body["fairness"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["method"] == method)
            .and_then(|l| l["rank_post_time"].as_f64())
            .unwrap()
    };
    assert_eq!(
        draft.body["fairness"].as_array().unwrap().len(),
        4,
        "{}",
        draft.body
    );
    assert_eq!(rho("wilson"), 1.0, "the earlier idea ranks first: {}", draft.body);
    assert_eq!(
        rho("exposure"),
        -1.0,
        "the later idea ranks first: {}",
        draft.body
    );
    // Deterministic, and the impressions are in it: a new one moves the digest.
    let digest = draft.body["digest"].as_str().unwrap().to_owned();
    assert_eq!(jam.fac.get(&path).await.body["digest"], digest.as_str());
    people[3]
        .0
        .post(
            &format!("/api/v1/jams/{slug}/impressions"),
            json!({ "idea_ids": [late] }),
        )
        .await;
    let moved = jam.fac.get(&path).await.body["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(moved, digest, "a new impression changes an exposure digest");
    // p3 likes it too: Late, 2 of 2, stays first.
    assert_eq!(vote(&people[3].0, &late, 1).await.status, 200);

    // Closed and published; the Method sheet shows the method and the fairness report.
    jam.d.set_clock(t0() + Duration::days(4));
    let published = jam
        .fac
        .post(&format!("/api/v1/jams/{slug}/shortlist/publish"), json!({}))
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    assert_eq!(published.body["fairness"].as_array().unwrap().len(), 4);
    let (status, _, _, body) = download(&jam.fac, &format!("/api/v1/jams/{slug}/results.xlsx")).await;
    assert_eq!(status, 200);
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(body)).unwrap();
    let sheet = workbook.worksheet_range("Method").unwrap();
    let cells: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert!(
        cells.iter().any(|r| r[0] == "method" && r[1] == "exposure"),
        "{cells:?}"
    );
    let fairness = cells
        .iter()
        .position(|r| r[0] == "fairness")
        .expect("a fairness section");
    let lines: Vec<(String, String)> = cells[fairness + 2..]
        .iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(lines.len(), 4, "{cells:?}");
    assert!(lines.contains(&("exposure".into(), "-1".into())), "{lines:?}");
    assert!(lines.contains(&("wilson".into(), "1".into())), "{lines:?}");

    // Verify: passes as published; fails once an impression row goes behind the server's back.
    let (ok, out) = jam.d.run(&["tally", "verify", "--jam", slug], None);
    assert!(ok, "{out}");
    let db = open_db(&jam.d).await;
    let gone = impressions::Entity::delete_many()
        .filter(impressions::Column::IdeaId.eq(early.parse::<Uuid>().unwrap()))
        .filter(impressions::Column::ParticipantId.eq(people[0].1))
        .exec(&db)
        .await
        .unwrap();
    assert_eq!(gone.rows_affected, 1);
    let (ok, out) = jam.d.run(&["tally", "verify", "--jam", slug], None);
    assert!(!ok, "{out}");
    assert!(out.contains("digest: published"), "{out}");
}

#[actix_rt::test]
async fn exposure_ranks_by_votes_over_views_and_verify_covers_impressions_on_sqlite() {
    exposure_ranks_by_votes_over_views_and_verify_covers_impressions(Deployment::sqlite(t0()), "expo-lite")
        .await;
}

#[actix_rt::test]
async fn exposure_ranks_by_votes_over_views_and_verify_covers_impressions_on_postgresql() {
    let Some(d) = Deployment::postgres(t0()).await else {
        return;
    };
    exposure_ranks_by_votes_over_views_and_verify_covers_impressions(d, "expo-pg").await;
}
