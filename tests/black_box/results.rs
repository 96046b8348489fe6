//! Results, seen from outside: the draft shortlist ranked by hand-computed Wilson scores, curation,
//! publishing, the three downloads read back, `jamd tally verify` before and after a vote row is
//! altered in the database, and who may do what. Time is the deployment's file clock: the jam is
//! closed by moving it past `ends_at`, never by sleeping.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use chrono::Duration;
use jam_store::entity::votes;
use jam_store::sea_orm::sea_query::Expr;
use jam_store::sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use jam_tally::{Curation, DigestBuilder, Exclusion, Method, Params, Vote};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::*;
use crate::support::*;

/// The Wilson lower bound (95%), written out independently of `jam-domain`.
fn wilson(up: u64, down: u64) -> f64 {
    let n = (up + down) as f64;
    if up == 0 {
        return 0.0;
    }
    let z: f64 = 1.959_963_984_540_054;
    let p = up as f64 / n;
    (p + z * z / (2.0 * n) - z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt()) / (1.0 + z * z / n)
}

/// A closed jam with known votes:
///
/// | idea | votes (e = employee, c = client, f = family)     | after moderation               |
/// |------|---------------------------------------------------|--------------------------------|
/// | A    | e1 e2 c1 c2 f1 +                                  | 5 up                           |
/// | B    | e1 c1 f1 +, e2 −                                  | + f2 from M: 4 up, 1 down      |
/// | C    | e2 c2 f2 e1 +, c1 −                               | 4 up, 1 down (ties with B)     |
/// | D    | f1 +                                              | one vote                       |
/// | E    | e1 c2 +, f2 −                                     | 2 up, 1 down                   |
/// | H    | all six +                                         | hidden: never ranks            |
/// | M    | c1 f2 e2 +                                        | merged into B (c1, e2 kept)    |
///
/// Wilson order: A, B, C (B posted earlier breaks the tie), E, D.
struct Fixture {
    jam: Live,
    /// Title → idea id.
    ideas: BTreeMap<&'static str, String>,
    /// Name → signed-in participant and their id.
    people: BTreeMap<&'static str, (Client, Uuid)>,
    /// The vote rows the database should hold: (idea, participant) → value.
    votes: BTreeMap<(Uuid, Uuid), i8>,
}

async fn closed_jam(d: Deployment, slug: &str) -> Fixture {
    let jam = live_jam(d, slug).await;
    let base = jam.node.base.clone();
    let r = jam
        .fac
        .patch(&format!("/api/v1/jams/{slug}"), json!({ "shortlist_size": 3 }))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let mut people = BTreeMap::new();
    for (name, audience) in [("e1", 0), ("e2", 0), ("c1", 1), ("c2", 1), ("f1", 2), ("f2", 2)] {
        let c = join(&base, slug, &jam.codes[audience].1, name).await;
        let me = c.get("/api/v1/me").await;
        let id: Uuid = me.body["id"].as_str().unwrap().parse().unwrap();
        people.insert(name, (c, id));
    }

    let mut ideas = BTreeMap::new();
    for (i, (title, author)) in [
        ("A", "e1"),
        ("B", "c1"),
        ("C", "f1"),
        ("D", "e2"),
        ("E", "c2"),
        ("H", "f2"),
        ("M", "e1"),
    ]
    .into_iter()
    .enumerate()
    {
        jam.d.set_clock(t0() + Duration::minutes(i as i64 + 1));
        let idea = post_idea(
            &people[author].0,
            &jam.open,
            &format!("Idea {title}"),
            "Details.",
            json!([]),
        )
        .await;
        ideas.insert(title, id(&idea));
    }

    let ballots: [(&str, &[(&str, i64)]); 7] = [
        ("A", &[("e1", 1), ("e2", 1), ("c1", 1), ("c2", 1), ("f1", 1)]),
        ("B", &[("e1", 1), ("c1", 1), ("f1", 1), ("e2", -1)]),
        ("C", &[("e2", 1), ("c2", 1), ("f2", 1), ("e1", 1), ("c1", -1)]),
        ("D", &[("f1", 1)]),
        ("E", &[("e1", 1), ("c2", 1), ("f2", -1)]),
        (
            "H",
            &[("e1", 1), ("e2", 1), ("c1", 1), ("c2", 1), ("f1", 1), ("f2", 1)],
        ),
        ("M", &[("c1", 1), ("f2", 1), ("e2", 1)]),
    ];
    let mut model = BTreeMap::new();
    for (title, ballot) in ballots {
        for (who, value) in ballot {
            let r = vote(&people[who].0, &ideas[title], *value).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let key = (ideas[title].parse::<Uuid>().unwrap(), people[who].1);
            model.insert(key, *value as i8);
        }
    }
    // A retracted vote is stored as 0 and counts nowhere.
    assert_eq!(vote(&people["f2"].0, &ideas["D"], 1).await.status, 200);
    assert_eq!(vote(&people["f2"].0, &ideas["D"], 0).await.status, 200);

    let r = people["c1"]
        .0
        .post(
            &format!("/api/v1/ideas/{}/comments", ideas["A"]),
            json!({ "body": "Love it" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let r = jam
        .fac
        .post(&format!("/api/v1/ideas/{}/hide", ideas["H"]), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = jam
        .fac
        .post(
            &format!("/api/v1/ideas/{}/merge", ideas["M"]),
            json!({ "into": ideas["B"] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["votes_moved"].as_u64(), r.body["votes_kept"].as_u64()),
        (Some(1), Some(2))
    );
    // The merge as the model sees it: f2's vote moves to B, c1's and e2's stay on B as they were.
    let (m, b) = (
        ideas["M"].parse::<Uuid>().unwrap(),
        ideas["B"].parse::<Uuid>().unwrap(),
    );
    model.retain(|(idea, _), _| *idea != m);
    model.insert((b, people["f2"].1), 1);

    Fixture {
        jam,
        ideas,
        people,
        votes: model,
    }
}

impl Fixture {
    fn title_of(&self, idea_id: &str) -> &'static str {
        self.ideas
            .iter()
            .find(|(_, id)| id.as_str() == idea_id)
            .map(|(t, _)| *t)
            .unwrap_or("?")
    }

    fn titles(&self, items: &Value) -> String {
        items
            .as_array()
            .unwrap()
            .iter()
            .map(|i| self.title_of(i["idea"]["id"].as_str().unwrap()))
            .collect()
    }

    /// The digest computed here from the modelled vote rows, for a Wilson top 3, and how many votes
    /// it covers.
    fn model_digest(&self, curation: &Curation) -> (String, u64) {
        let mut builder = DigestBuilder::new(&Params {
            method: Method::Wilson,
            shortlist_size: 3,
        });
        for (&(idea_id, participant_id), &value) in &self.votes {
            builder
                .push(Vote {
                    idea_id,
                    participant_id,
                    value,
                })
                .unwrap();
        }
        let counted = builder.votes_counted();
        (builder.finish(curation).unwrap().to_string(), counted)
    }

    /// [`Fixture::model_digest`] of the fixture as [`closed_jam`] leaves it.
    fn expected_digest(&self, curation: &Curation) -> String {
        let (digest, counted) = self.model_digest(curation);
        assert_eq!(counted, 25, "5 + 5 + 5 + 1 + 3 + 6 (hidden H keeps its votes)");
        digest
    }

    /// Records a vote in the model as the server stores it (a retraction counts nowhere).
    fn model_vote(&mut self, title: &str, who: &str, value: i8) {
        let key = (self.ideas[title].parse().unwrap(), self.people[who].1);
        if value == 0 {
            self.votes.remove(&key);
        } else {
            self.votes.insert(key, value);
        }
    }

    fn exclusion(&self, title: &str, reason: &str) -> Exclusion {
        Exclusion {
            idea_id: self.ideas[title].parse().unwrap(),
            reason: reason.into(),
            by: String::new(),
            at: t0(),
        }
    }
}

/// Downloads a file with the client's cookie: (status, content type, content disposition, bytes).
pub(crate) async fn download(c: &Client, path: &str) -> (u16, String, String, Vec<u8>) {
    let mut req = awc::Client::new().get(format!("{}{path}", c.base()));
    if let Some(cookie) = c.cookie() {
        req = req.insert_header(("cookie", cookie.to_owned()));
    }
    let mut res = req.send().await.unwrap();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let body = res.body().limit(64 * 1024 * 1024).await.unwrap().to_vec();
    (res.status().as_u16(), content_type, disposition, body)
}

async fn results_are_ranked_curated_published_exported_and_verified(d: Deployment, slug: &str) {
    let mut f = closed_jam(d, slug).await;
    let shortlist_path = format!("/api/v1/jams/{slug}/shortlist");
    let curate_path = format!("/api/v1/jams/{slug}/shortlist/curate");
    let publish_path = format!("/api/v1/jams/{slug}/shortlist/publish");

    // Still live: staff see a draft, participants do not see it yet, it cannot be published.
    f.people["e1"].0.get(&shortlist_path).await.assert_problem(403);
    f.jam.fac.post(&publish_path, json!({})).await.assert_problem(409);

    // Closed by the clock (past the staff sign-in's 12 hours: sign in again).
    f.jam.d.set_clock(t0() + Duration::days(3) + Duration::hours(1));
    f.jam.fac = Client::as_new_staff(&f.jam.node.base, "facilitator").await;
    let fac = &f.jam.fac;
    let participant = &f.people["e1"].0;
    let draft = fac.get(&shortlist_path).await;
    assert_eq!(draft.status, 200, "{}", draft.body);
    assert_eq!(draft.body["state"], "draft");
    assert_eq!(draft.body["method"], "wilson");
    assert_eq!(draft.body["shortlist_size"], 3);
    assert!(draft.body["published_at"].is_null());
    assert_eq!(f.titles(&draft.body["items"]), "ABC", "{}", draft.body);
    assert_eq!(draft.body["digest"], f.expected_digest(&Curation::default()));
    let expected: [(&str, u64, u64); 3] = [("A", 5, 0), ("B", 4, 1), ("C", 4, 1)];
    for (i, (item, (title, up, down))) in draft.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .zip(expected)
        .enumerate()
    {
        assert_eq!(item["rank"], i + 1);
        assert_eq!(item["method_rank"], i + 1);
        assert_eq!(item["idea"]["title"], format!("Idea {title}"));
        assert_eq!(
            (item["up"].as_u64(), item["down"].as_u64()),
            (Some(up), Some(down))
        );
        assert_eq!(item["voters"], up + down);
        let score = item["score"].as_f64().unwrap();
        assert!((score - wilson(up, down)).abs() < 1e-12, "{title}: {score}");
    }
    let a = &draft.body["items"][0];
    assert_eq!(a["idea"]["author"], "e1");
    assert_eq!(a["comments"], 1);
    assert_eq!(
        a["by_audience"],
        json!({ "employee": { "up": 2, "down": 0 }, "client": { "up": 2, "down": 0 }, "family": { "up": 1, "down": 0 } })
    );
    assert!(
        wilson(2, 1) > wilson(1, 0),
        "E (2 up, 1 down) outranks D (one vote)"
    );

    // Curation: checks first.
    let r = fac
        .post(
            &curate_path,
            json!({ "exclude": [{ "idea_id": Uuid::now_v7(), "reason": "x" }] }),
        )
        .await;
    r.assert_problem(422);
    assert_eq!(r.body["errors"][0]["field"], "exclude[0].idea_id");
    let r = fac
        .post(
            &curate_path,
            json!({ "exclude": [{ "idea_id": f.ideas["B"], "reason": "" }, { "idea_id": f.ideas["C"], "reason": "x".repeat(501) }] }),
        )
        .await;
    r.assert_problem(422);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["exclude[0].reason", "exclude[1].reason"]);
    fac.post(&curate_path, json!({})).await.assert_problem(422);
    fac.post(
        &curate_path,
        json!({ "pin": [f.ideas["D"]], "clear": [f.ideas["D"]] }),
    )
    .await
    .assert_problem(422);

    // Exclude B, pin D: the list is A, C, then D in place of the weakest idea above the cut.
    let r = fac
        .post(
            &curate_path,
            json!({ "exclude": [{ "idea_id": f.ideas["B"], "reason": "duplicate of C" }], "pin": [f.ideas["D"]] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["excluded"][0]["idea_id"], f.ideas["B"].as_str());
    assert_eq!(r.body["excluded"][0]["reason"], "duplicate of C");
    assert_eq!(r.body["excluded"][0]["by"], "facilitator");
    assert_eq!(r.body["pinned"][0]["idea_id"], f.ideas["D"].as_str());
    let draft = fac.get(&shortlist_path).await;
    assert_eq!(f.titles(&draft.body["items"]), "ACD", "{}", draft.body);
    let d = &draft.body["items"][2];
    assert_eq!(
        (
            d["rank"].as_u64(),
            d["method_rank"].as_u64(),
            d["pinned"].as_bool()
        ),
        (Some(3), Some(5), Some(true))
    );
    // Clearing the pin gives E its place back; pinning again takes it.
    let r = fac.post(&curate_path, json!({ "clear": [f.ideas["D"]] })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["pinned"], json!([]));
    assert_eq!(f.titles(&fac.get(&shortlist_path).await.body["items"]), "ACE");
    assert_eq!(
        fac.post(&curate_path, json!({ "pin": [f.ideas["D"]] }))
            .await
            .status,
        200
    );
    let draft = fac.get(&shortlist_path).await;
    assert_eq!(f.titles(&draft.body["items"]), "ACD");
    let curation = Curation {
        excluded: vec![f.exclusion("B", "duplicate of C")],
        pinned: vec![f.ideas["D"].parse().unwrap()],
    };
    let digest = f.expected_digest(&curation);
    assert_eq!(draft.body["digest"], digest.as_str());

    // Publish: frozen, readable by participants, no more changes.
    let published = fac.post(&publish_path, json!({})).await;
    assert_eq!(published.status, 200, "{}", published.body);
    assert_eq!(published.body["state"], "published");
    assert_eq!(published.body["digest"], digest.as_str());
    assert_eq!(f.titles(&published.body["items"]), "ACD");
    assert!(published.body["published_at"].is_string());
    let seen = participant.get(&shortlist_path).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.body["state"], "published");
    assert_eq!(seen.body["items"], published.body["items"]);
    assert_eq!(seen.body["digest"], digest.as_str());
    assert_eq!(seen.body["computed_at"], published.body["computed_at"]);
    fac.post(&curate_path, json!({ "pin": [f.ideas["E"]] }))
        .await
        .assert_problem(409);
    fac.post(&publish_path, json!({})).await.assert_problem(409);
    assert_eq!(
        fac.get(&format!("/api/v1/jams/{slug}")).await.body["state"],
        "published"
    );
    let audit = fac.get(&format!("/api/v1/jams/{slug}/audit?limit=200")).await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.iter().filter(|a| **a == "shortlist.curated").count(), 3);
    assert!(actions.contains(&"shortlist.published"), "{actions:?}");

    // The dashboard's hourly buckets, on this backend: everything happened in the first hour.
    let stats = fac.get(&format!("/api/v1/jams/{slug}/stats")).await;
    assert_eq!(
        stats.body["per_hour"],
        json!({ "2027-03-01T00:00:00Z": { "ideas": 7, "comments": 1, "votes": 25 } })
    );

    // The downloads: JSON, CSV and XLSX agree, row for row.
    let exec = Client::as_new_staff(f.jam.node.base.as_str(), "executive").await;
    let (status, content_type, disposition, body) =
        download(&exec, &format!("/api/v1/jams/{slug}/results.json")).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/json");
    assert!(
        disposition.starts_with("attachment") && disposition.contains(&format!("{slug}-results.json")),
        "{disposition}"
    );
    let results: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(results["state"], "published");
    assert_eq!(results["digest"], digest.as_str());
    assert_eq!(results["method"], "wilson");
    assert_eq!(results["audiences"], json!(["employee", "client", "family"]));
    let items = results["items"].as_array().unwrap();
    let order: String = items
        .iter()
        .map(|i| f.title_of(i["idea"]["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        order, "ABCED",
        "every visible idea, hidden H and merged M left out"
    );
    assert_eq!(f.titles(&results["shortlist"]), "ACD");
    assert_eq!(items[1]["excluded_reason"], "duplicate of C");

    let (status, content_type, disposition, body) =
        download(&exec, &format!("/api/v1/jams/{slug}/results.csv")).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert!(
        disposition.contains(&format!("{slug}-results.csv")),
        "{disposition}"
    );
    let text = body
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .expect("a UTF-8 BOM");
    let mut reader = csv::Reader::from_reader(text);
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), items.len());
    for (row, item) in rows.iter().zip(items) {
        assert_eq!(&row[col("idea_id")], item["idea"]["id"].as_str().unwrap());
        assert_eq!(&row[col("rank")], item["rank"].to_string());
        for field in ["up", "down", "voters", "comments"] {
            assert_eq!(&row[col(field)], item[field].to_string(), "{field}");
        }
        for audience in ["employee", "client", "family"] {
            let counts = &item["by_audience"][audience];
            let n = |v: &Value| v.as_u64().unwrap_or(0).to_string();
            assert_eq!(row[col(&format!("up ({audience})"))], n(&counts["up"]));
            assert_eq!(row[col(&format!("down ({audience})"))], n(&counts["down"]));
        }
        assert_eq!(&row[col("digest")], digest.as_str());
        assert_eq!(&row[col("method")], "wilson");
    }

    let (status, content_type, disposition, body) =
        download(&exec, &format!("/api/v1/jams/{slug}/results.xlsx")).await;
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        disposition.contains(&format!("{slug}-results.xlsx")),
        "{disposition}"
    );
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(body)).unwrap();
    let sheet = workbook.worksheet_range("Shortlist").unwrap();
    let mut sheet_rows = sheet.rows();
    let header: Vec<String> = sheet_rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(&header[..4], ["position", "rank", "pinned", "idea_id"]);
    let first = sheet_rows.next().unwrap();
    let top = &results["shortlist"][0];
    assert_eq!(first[0], Data::Float(1.0));
    assert_eq!(
        first[3],
        Data::String(top["idea"]["id"].as_str().unwrap().to_owned())
    );
    assert_eq!(first[4], Data::String("Idea A".into()));
    assert_eq!(first[7], Data::Float(top["score"].as_f64().unwrap()));
    assert_eq!(first[8], Data::Float(5.0));

    // Verification: passes as published, fails once a vote row is altered behind the server's back.
    let (ok, out) = f.jam.d.run(&["tally", "verify", "--jam", slug], None);
    assert!(ok, "{out}");
    assert!(out.contains("verified"), "{out}");
    assert!(out.contains(&digest), "{out}");
    let db = open_db(&f.jam.d).await;
    let changed = votes::Entity::update_many()
        .col_expr(
            votes::Column::Value,
            jam_store::sea_orm::sea_query::ExprTrait::mul(Expr::col(votes::Column::Value), -1),
        )
        .filter(votes::Column::IdeaId.eq(f.ideas["A"].parse::<Uuid>().unwrap()))
        .filter(votes::Column::ParticipantId.eq(f.people["e1"].1))
        .exec(&db)
        .await
        .unwrap();
    assert_eq!(changed.rows_affected, 1);
    let (ok, out) = f.jam.d.run(&["tally", "verify", "--jam", slug], None);
    assert!(!ok, "{out}");
    assert!(out.contains("digest: published"), "{out}");
    assert!(out.contains(&digest), "{out}");
    assert!(
        out.contains("up 5 → 4"),
        "the changed idea and field are named: {out}"
    );
    assert_eq!(f.jam.node.metric("jam_http_responses_5xx_total").await, 0);
}

#[actix_rt::test]
async fn a_closed_jams_shortlist_is_ranked_curated_published_exported_and_verified_on_sqlite() {
    results_are_ranked_curated_published_exported_and_verified(Deployment::sqlite(t0()), "results-jam").await;
}

#[actix_rt::test]
async fn a_closed_jams_shortlist_is_ranked_curated_published_exported_and_verified_on_postgres() {
    let Some(d) = Deployment::postgres(t0()).await else {
        return;
    };
    results_are_ranked_curated_published_exported_and_verified(d, "results-pg").await;
}

async fn draft_digest(fac: &Client, path: &str) -> String {
    let r = fac.get(path).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["digest"].as_str().unwrap().to_owned()
}

/// The draft's digest is built from per-idea leaves cached between requests; every later write to the
/// votes (a changed vote, a retraction, a new vote, a merge) must move it exactly as the vote rows
/// moved, as a digest computed here from the modelled rows says.
async fn the_cached_digest_follows_every_change_to_the_votes(d: Deployment, slug: &str) {
    let mut f = closed_jam(d, slug).await;
    let path = format!("/api/v1/jams/{slug}/shortlist");
    let first = draft_digest(&f.jam.fac, &path).await;
    assert_eq!(first, f.expected_digest(&Curation::default()), "cold");
    assert_eq!(
        draft_digest(&f.jam.fac, &path).await,
        first,
        "warm: every leaf from the cache"
    );

    let mut previous = first;
    for (title, who, value) in [("A", "e2", -1), ("A", "e1", 0), ("E", "f2", 1), ("D", "c1", 1)] {
        let r = vote(&f.people[who].0, &f.ideas[title], value).await;
        assert_eq!(r.status, 200, "{}", r.body);
        f.model_vote(title, who, value as i8);
        let now = draft_digest(&f.jam.fac, &path).await;
        assert_eq!(
            now,
            f.model_digest(&Curation::default()).0,
            "after {who} voted {value} on {title}"
        );
        assert_ne!(now, previous, "after {who} voted {value} on {title}");
        previous = now;
    }

    // E into A: e1's (retracted on A) and f2's votes move, c2's vote on A stands.
    let r = f
        .jam
        .fac
        .post(
            &format!("/api/v1/ideas/{}/merge", f.ideas["E"]),
            json!({ "into": f.ideas["A"] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["votes_moved"].as_u64(), r.body["votes_kept"].as_u64()),
        (Some(2), Some(1))
    );
    let (e, a): (Uuid, Uuid) = (f.ideas["E"].parse().unwrap(), f.ideas["A"].parse().unwrap());
    let carried: Vec<(Uuid, i8)> = f
        .votes
        .iter()
        .filter(|((idea, _), _)| *idea == e)
        .map(|((_, who), value)| (*who, *value))
        .collect();
    f.votes.retain(|(idea, _), _| *idea != e);
    for (who, value) in carried {
        f.votes.entry((a, who)).or_insert(value);
    }
    let (digest, counted) = f.model_digest(&Curation::default());
    assert_eq!(draft_digest(&f.jam.fac, &path).await, digest, "after the merge");
    assert_eq!(
        counted, 24,
        "25, minus e1's on A, plus c1's on D, minus c2's on E (kept on A)"
    );
    assert_eq!(f.jam.node.metric("jam_http_responses_5xx_total").await, 0);
}

#[actix_rt::test]
async fn the_cached_digest_follows_every_change_to_the_votes_on_sqlite() {
    the_cached_digest_follows_every_change_to_the_votes(Deployment::sqlite(t0()), "leaves-jam").await;
}

#[actix_rt::test]
async fn the_cached_digest_follows_every_change_to_the_votes_on_postgres() {
    let Some(d) = Deployment::postgres(t0()).await else {
        return;
    };
    the_cached_digest_follows_every_change_to_the_votes(d, "leaves-pg").await;
}

#[actix_rt::test]
async fn results_are_for_staff_and_the_shortlist_for_participants_only_once_published() {
    let f = closed_jam(Deployment::sqlite(t0()), "results-roles").await;
    let slug = "results-roles";
    let base = f.jam.node.base.clone();
    let exec = Client::as_new_staff(&base, "executive").await;
    let participant = &f.people["c1"].0;
    let anon = Client::new(&base);

    // Downloads: executives, facilitators and admins; a draft while unpublished.
    for ext in ["csv", "xlsx", "json"] {
        let path = format!("/api/v1/jams/{slug}/results.{ext}");
        assert_eq!(download(&exec, &path).await.0, 200, "{path}");
        assert_eq!(download(&f.jam.fac, &path).await.0, 200, "{path}");
        participant.get(&path).await.assert_problem(403);
        anon.get(&path).await.assert_problem(401);
    }
    let (_, _, _, body) = download(&exec, &format!("/api/v1/jams/{slug}/results.json")).await;
    let draft: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(draft["state"], "draft");
    assert_eq!(draft["items"].as_array().unwrap().len(), 5);

    // The shortlist: any staff member reads the draft; executives do not curate or publish.
    assert_eq!(
        exec.get(&format!("/api/v1/jams/{slug}/shortlist")).await.status,
        200
    );
    exec.post(
        &format!("/api/v1/jams/{slug}/shortlist/curate"),
        json!({ "pin": [f.ideas["E"]] }),
    )
    .await
    .assert_problem(403);
    participant
        .post(
            &format!("/api/v1/jams/{slug}/shortlist/curate"),
            json!({ "pin": [f.ideas["E"]] }),
        )
        .await
        .assert_problem(403);
    exec.post(&format!("/api/v1/jams/{slug}/shortlist/publish"), json!({}))
        .await
        .assert_problem(403);
    participant
        .get(&format!("/api/v1/jams/{slug}/shortlist"))
        .await
        .assert_problem(403);

    // An idea of another jam cannot be curated here.
    let (other, _, other_codes) = create_jam(&f.jam.fac, "results-other").await;
    let open = add_session(&f.jam.fac, &other, "Elsewhere", 0, 24).await;
    let r = f
        .jam
        .fac
        .post(&format!("/api/v1/jams/{other}/schedule"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let outsider = join(&base, &other, &other_codes[0].1, "Olga").await;
    let foreign = id(&post_idea(&outsider, &open, "Elsewhere idea", "Not here.", json!([])).await);
    let r = f
        .jam
        .fac
        .post(
            &format!("/api/v1/jams/{slug}/shortlist/curate"),
            json!({ "pin": [foreign] }),
        )
        .await;
    r.assert_problem(422);
    assert_eq!(r.body["errors"][0]["field"], "pin[0]");
    assert_eq!(r.body["errors"][0]["message"], "is not an idea of this jam");
    // A participant of the other jam does not learn this jam's shortlist exists.
    outsider
        .get(&format!("/api/v1/jams/{slug}/shortlist"))
        .await
        .assert_problem(404);
}

#[actix_rt::test]
async fn stats_count_ideas_comments_and_votes_per_hour_and_per_session() {
    let f = closed_jam(Deployment::sqlite(t0()), "results-stats").await;
    let stats = f.jam.fac.get("/api/v1/jams/results-stats/stats").await;
    assert_eq!(
        stats.status,
        200,
        "{} {:?}",
        stats.body,
        f.jam
            .node
            .logs
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("ERROR"))
            .collect::<Vec<_>>()
    );
    // Everything happened in the jam's first hour (the clock moved a minute per idea).
    let per_hour = stats.body["per_hour"].as_object().unwrap();
    assert_eq!(per_hour.len(), 1, "{}", stats.body);
    let hour = &per_hour["2027-03-01T00:00:00Z"];
    // 7 ideas; 1 comment; non-zero vote rows after the merge: 25 (the retracted one is 0).
    assert_eq!(hour, &json!({ "ideas": 7, "comments": 1, "votes": 25 }));
    let per_session = stats.body["per_session"].as_array().unwrap();
    assert_eq!(per_session.len(), 2);
    assert_eq!(per_session[0]["session_id"], f.jam.open.as_str());
    assert_eq!(per_session[0]["title"], "Cities");
    assert_eq!(
        (
            &per_session[0]["ideas"],
            &per_session[0]["comments"],
            &per_session[0]["votes"]
        ),
        (&json!(7), &json!(1), &json!(25))
    );
    assert_eq!(per_session[1]["ideas"], 0);
}
