//! Moderation, seen from outside: flags and the hide threshold (3 by default), the facilitators'
//! queue and decisions with their audit entries, and merging a duplicate idea with its votes
//! carried over once per voter (checked against a recount of the rows in the database).

use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::*;
use crate::support::*;

async fn flag(c: &Client, kind: &str, id: &str, reason: &str) -> Reply {
    c.post(
        &format!("/api/v1/{kind}s/{id}/flags"),
        json!({ "reason": reason }),
    )
    .await
}

async fn decide(c: &Client, kind: &str, id: &str, decision: &str) -> Reply {
    c.post(&format!("/api/v1/{kind}s/{id}/{decision}"), json!({}))
        .await
}

async fn comment(c: &Client, idea: &str, body: &str) -> String {
    let r = c
        .post(&format!("/api/v1/ideas/{idea}/comments"), json!({ "body": body }))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    id(&r.body)
}

/// The jam's audit entries about ideas and comments, oldest first: (action, actor kind, subject).
async fn moderation_audit(jam: &Live) -> Vec<(String, String, String)> {
    let r = jam
        .fac
        .get(&format!("/api/v1/jams/{}/audit?limit=200", jam.slug))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["subject_kind"] == "idea" || e["subject_kind"] == "comment")
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor_kind"].as_str().unwrap().to_owned(),
                e["subject_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn listed(c: &Client, session: &str) -> Vec<String> {
    ids(&c
        .get(&format!("/api/v1/sessions/{session}/ideas?sort=new"))
        .await
        .body)
}

async fn thread(c: &Client, idea: &str) -> Vec<String> {
    ids(&c.get(&format!("/api/v1/ideas/{idea}/comments")).await.body)
}

/// The idea's status as `c` sees it, or the error status.
async fn status(c: &Client, idea: &str) -> String {
    let r = c.get(&format!("/api/v1/ideas/{idea}")).await;
    if r.status == 200 {
        r.body["status"].as_str().unwrap().to_owned()
    } else {
        r.status.as_u16().to_string()
    }
}

async fn merge(c: &Client, from: &str, body: Value) -> Reply {
    c.post(&format!("/api/v1/ideas/{from}/merge"), body).await
}

fn entry(action: &str, actor: &str, subject: &str) -> (String, String, String) {
    (action.to_owned(), actor.to_owned(), subject.to_owned())
}

#[actix_rt::test]
async fn three_distinct_flags_hide_an_idea_from_everyone_but_staff_and_its_author() {
    let jam = live_jam(Deployment::sqlite(t0()), "flag-jam").await;
    let base = jam.node.base.clone();
    let code = &jam.codes[0].1;
    let ada = join(&base, &jam.slug, code, "Ada").await;
    let [bob, cat, dan, eve] = [
        join(&base, &jam.slug, code, "Bob").await,
        join(&base, &jam.slug, code, "Cat").await,
        join(&base, &jam.slug, code, "Dan").await,
        join(&base, &jam.slug, code, "Eve").await,
    ];
    let idea = id(&post_idea(&ada, &jam.open, "Rude title", "Rude body", json!(["x"])).await);

    let r = flag(&bob, "idea", &idea, "Insulting.\nSecond line.").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["target_kind"], "idea");
    assert_eq!(r.body["target_id"], idea.as_str());
    assert_eq!(r.body["reason"], "Insulting.\nSecond line.");
    // The same person again: refused, and it does not count.
    flag(&bob, "idea", &idea, "Still insulting")
        .await
        .assert_problem(409);
    // The author cannot flag their own idea; staff do not flag at all.
    flag(&ada, "idea", &idea, "Mine").await.assert_problem(409);
    flag(&jam.fac, "idea", &idea, "Staff").await.assert_problem(403);
    // A participant of another jam does not see it.
    let (other_slug, _, other_codes) = create_jam(&jam.fac, "flag-other").await;
    let stranger = join(&base, &other_slug, &other_codes[0].1, "Stranger").await;
    flag(&stranger, "idea", &idea, "Spam").await.assert_problem(404);

    assert_eq!(flag(&cat, "idea", &idea, "Spam").await.status, 201);
    assert_eq!(
        eve.get(&format!("/api/v1/ideas/{idea}")).await.body["status"],
        "visible",
        "two distinct flags hide nothing"
    );
    assert_eq!(listed(&eve, &jam.open).await, vec![idea.clone()]);

    assert_eq!(flag(&dan, "idea", &idea, "Off topic").await.status, 201);
    assert_eq!(
        listed(&eve, &jam.open).await,
        Vec::<String>::new(),
        "gone from others' lists"
    );
    eve.get(&format!("/api/v1/ideas/{idea}"))
        .await
        .assert_problem(404);
    let found = eve.get(&format!("/api/v1/jams/{}/search?q=rude", jam.slug)).await;
    assert_eq!(ids(&found.body), Vec::<String>::new(), "and from search");
    flag(&eve, "idea", &idea, "Too late").await.assert_problem(404);
    vote(&eve, &idea, 1).await.assert_problem(404);

    for (who, c) in [("author", &ada), ("facilitator", &jam.fac)] {
        let got = c.get(&format!("/api/v1/ideas/{idea}")).await;
        assert_eq!(got.status, 200, "{who}: {}", got.body);
        assert_eq!(got.body["status"], "hidden", "{who}");
        assert_eq!(got.body["title"], "Rude title", "{who}");
        assert_eq!(listed(c, &jam.open).await, vec![idea.clone()], "{who}");
    }
    assert_eq!(
        moderation_audit(&jam).await,
        vec![entry("idea.hidden", "system", &idea)]
    );
}

#[actix_rt::test]
async fn flagged_comments_are_hidden_from_the_thread_except_for_staff_and_their_author() {
    let jam = live_jam(Deployment::sqlite(t0()), "comment-flag-jam").await;
    let base = jam.node.base.clone();
    let code = &jam.codes[1].1;
    let ada = join(&base, &jam.slug, code, "Ada").await;
    let flaggers = [
        join(&base, &jam.slug, code, "Bob").await,
        join(&base, &jam.slug, code, "Cat").await,
        join(&base, &jam.slug, code, "Dan").await,
    ];
    let eve = join(&base, &jam.slug, code, "Eve").await;
    let idea = id(&post_idea(&eve, &jam.open, "Parks", "More parks.", json!([])).await);
    let rude = comment(&ada, &idea, "A rude reply").await;
    let kind = comment(&eve, &idea, "A kind reply").await;

    flag(&ada, "comment", &rude, "Mine").await.assert_problem(409);
    for (i, c) in flaggers.iter().enumerate() {
        let r = flag(c, "comment", &rude, "Rude").await;
        assert_eq!(r.status, 201, "flag {i}: {}", r.body);
        assert_eq!(r.body["target_kind"], "comment");
        if i == 0 {
            // A repeat is refused and does not count towards the threshold.
            flag(c, "comment", &rude, "Again").await.assert_problem(409);
            assert_eq!(thread(&eve, &idea).await, vec![rude.clone(), kind.clone()]);
        }
    }
    // Once hidden, even those who flagged it no longer see it.
    flag(&flaggers[0], "comment", &rude, "Again")
        .await
        .assert_problem(404);
    assert_eq!(
        thread(&eve, &idea).await,
        vec![kind.clone()],
        "hidden from others"
    );
    flag(&eve, "comment", &rude, "Rude").await.assert_problem(404);
    for c in [&ada, &jam.fac] {
        let got = c.get(&format!("/api/v1/ideas/{idea}/comments")).await;
        assert_eq!(ids(&got.body), vec![rude.clone(), kind.clone()]);
        assert_eq!(got.body["items"][0]["status"], "hidden");
    }
    assert_eq!(
        moderation_audit(&jam).await,
        vec![entry("comment.hidden", "system", &rude)]
    );
}

#[actix_rt::test]
async fn the_moderation_queue_shows_undecided_items_to_facilitators_and_admins_only() {
    let jam = live_jam(Deployment::sqlite(t0()), "queue-jam").await;
    let base = jam.node.base.clone();
    let code = &jam.codes[2].1;
    let ada = join(&base, &jam.slug, code, "Ada").await;
    let flaggers = [
        join(&base, &jam.slug, code, "Bob").await,
        join(&base, &jam.slug, code, "Cat").await,
        join(&base, &jam.slug, code, "Dan").await,
    ];
    let quiet = id(&post_idea(&ada, &jam.open, "Quiet", "Nobody minds.", json!([])).await);
    let flagged = id(&post_idea(&ada, &jam.open, "Loud", "Somebody minds.", json!([])).await);
    let reply = comment(&ada, &quiet, "Shouting").await;
    assert_eq!(
        flag(&flaggers[0], "idea", &flagged, "Off topic").await.status,
        201
    );
    for (i, c) in flaggers.iter().enumerate() {
        let r = flag(c, "comment", &reply, &format!("reason {i}")).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let path = format!("/api/v1/jams/{}/moderation", jam.slug);

    ada.get(&path).await.assert_problem(403);
    Client::as_new_staff(&base, "executive")
        .await
        .get(&path)
        .await
        .assert_problem(403);
    Client::new(&base).get(&path).await.assert_problem(401);
    assert_eq!(Client::as_admin(&base).await.get(&path).await.status, 200);
    jam.fac
        .get("/api/v1/jams/no-such-jam/moderation")
        .await
        .assert_problem(404);

    let r = jam.fac.get(&path).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        ids(&r.body),
        vec![flagged.clone(), reply.clone()],
        "oldest first; the quiet idea is absent"
    );
    assert!(r.body["next_cursor"].is_null());
    let idea_item = &r.body["items"][0];
    assert_eq!(idea_item["kind"], "idea");
    assert_eq!(idea_item["status"], "visible");
    assert_eq!(idea_item["title"], "Loud");
    assert_eq!(idea_item["author"]["display_name"], "Ada");
    assert_eq!(idea_item["session_id"], jam.open.as_str());
    assert_eq!(
        (idea_item["flags"].as_u64(), idea_item["flags_total"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(idea_item["reasons"][0]["reason"], "Off topic");
    assert_eq!(idea_item["reasons"][0]["by"]["display_name"], "Bob");
    let comment_item = &r.body["items"][1];
    assert_eq!(comment_item["kind"], "comment");
    assert_eq!(comment_item["idea_id"], quiet.as_str());
    assert_eq!(comment_item["session_id"], jam.open.as_str());
    assert_eq!(comment_item["status"], "hidden");
    assert_eq!(comment_item["body"], "Shouting");
    assert!(comment_item.get("title").is_none());
    assert_eq!(comment_item["flags"], 3);
    let reasons: Vec<&str> = comment_item["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, vec!["reason 2", "reason 1", "reason 0"], "newest first");

    // Pages of one, by cursor.
    let first = jam.fac.get(&format!("{path}?limit=1")).await;
    assert_eq!(ids(&first.body), vec![flagged.clone()]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = jam.fac.get(&format!("{path}?limit=1&cursor={cursor}")).await;
    assert_eq!(ids(&second.body), vec![reply.clone()]);
    assert!(second.body["next_cursor"].is_null());
    for q in ["limit=0", "limit=100000", "cursor=nope", "sort=new"] {
        jam.fac.get(&format!("{path}?{q}")).await.assert_problem(422);
    }

    // A decision takes an item off the queue.
    assert_eq!(decide(&jam.fac, "comment", &reply, "hide").await.status, 200);
    assert_eq!(ids(&jam.fac.get(&path).await.body), vec![flagged.clone()]);
    assert_eq!(decide(&jam.fac, "idea", &flagged, "restore").await.status, 200);
    assert_eq!(ids(&jam.fac.get(&path).await.body), Vec::<String>::new());
}

#[actix_rt::test]
async fn facilitators_hide_restore_and_remove_and_every_change_is_audited() {
    let jam = live_jam(Deployment::sqlite(t0()), "decide-jam").await;
    let base = jam.node.base.clone();
    let code = &jam.codes[0].1;
    let ada = join(&base, &jam.slug, code, "Ada").await;
    let others = [
        join(&base, &jam.slug, code, "Bob").await,
        join(&base, &jam.slug, code, "Cat").await,
        join(&base, &jam.slug, code, "Dan").await,
        join(&base, &jam.slug, code, "Eve").await,
        join(&base, &jam.slug, code, "Fay").await,
        join(&base, &jam.slug, code, "Gus").await,
    ];
    let reader = join(&base, &jam.slug, code, "Reader").await;
    let idea = id(&post_idea(&ada, &jam.open, "Borderline", "Hm.", json!([])).await);
    let reply = comment(&ada, &idea, "Borderline reply").await;
    for c in &others[..3] {
        assert_eq!(flag(c, "idea", &idea, "Borderline").await.status, 201);
    }
    assert_eq!(status(&reader, &idea).await, "404");

    // Only facilitators and admins decide.
    decide(&ada, "idea", &idea, "restore").await.assert_problem(403);
    decide(
        &Client::as_new_staff(&base, "executive").await,
        "idea",
        &idea,
        "restore",
    )
    .await
    .assert_problem(403);

    let r = decide(&jam.fac, "idea", &idea, "restore").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "visible");
    assert_eq!(r.body["title"], "Borderline");
    assert_eq!(status(&reader, &idea).await, "visible");
    // Restored means reviewed: the earlier flags no longer count, two new ones do not hide it.
    for c in &others[3..5] {
        assert_eq!(flag(c, "idea", &idea, "Still borderline").await.status, 201);
    }
    assert_eq!(status(&reader, &idea).await, "visible");
    let queue = jam
        .fac
        .get(&format!("/api/v1/jams/{}/moderation", jam.slug))
        .await;
    assert_eq!(ids(&queue.body), vec![idea.clone()]);
    assert_eq!(
        (
            queue.body["items"][0]["flags"].as_u64(),
            queue.body["items"][0]["flags_total"].as_u64()
        ),
        (Some(2), Some(5))
    );
    // A third new flag does.
    assert_eq!(flag(&others[5], "idea", &idea, "Enough").await.status, 201);
    assert_eq!(status(&reader, &idea).await, "404");
    assert_eq!(status(&ada, &idea).await, "hidden");

    let r = decide(&jam.fac, "idea", &idea, "hide").await;
    assert_eq!((r.status.as_u16(), &r.body["status"]), (200, &json!("hidden")));
    let r = decide(&jam.fac, "idea", &idea, "remove").await;
    assert_eq!((r.status.as_u16(), &r.body["status"]), (200, &json!("removed")));
    assert_eq!(status(&reader, &idea).await, "404");
    assert_eq!(
        status(&ada, &idea).await,
        "removed",
        "the author still sees their own"
    );
    flag(&others[0], "idea", &idea, "x").await.assert_problem(404);
    let r = decide(&jam.fac, "idea", &idea, "restore").await;
    assert_eq!((r.status.as_u16(), &r.body["status"]), (200, &json!("visible")));
    // Repeating a decision that changes nothing writes nothing.
    assert_eq!(decide(&jam.fac, "idea", &idea, "restore").await.status, 200);

    for (decision, expected) in [("hide", "hidden"), ("remove", "removed"), ("restore", "visible")] {
        let r = decide(&jam.fac, "comment", &reply, decision).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["status"], expected);
        assert_eq!(r.body["id"], reply.as_str());
    }
    decide(&ada, "comment", &reply, "hide").await.assert_problem(403);

    assert_eq!(
        moderation_audit(&jam).await,
        vec![
            entry("idea.hidden", "system", &idea),
            entry("idea.restored", "staff", &idea),
            entry("idea.hidden", "system", &idea),
            entry("idea.hidden", "staff", &idea),
            entry("idea.removed", "staff", &idea),
            entry("idea.restored", "staff", &idea),
            entry("comment.hidden", "staff", &reply),
            entry("comment.removed", "staff", &reply),
            entry("comment.restored", "staff", &reply),
        ]
    );
}

/// Two ideas and seven voters, one per case of the carry-over rule; the target's counts after the
/// merge are checked through the API and against a recount of the vote rows.
async fn a_merge_carries_each_vote_once(d: Deployment) {
    let jam = live_jam(d, "merge-jam").await;
    let base = jam.node.base.clone();
    let code = &jam.codes[0].1;
    let author = join(&base, &jam.slug, code, "Author").await;
    let mut v = Vec::new();
    for i in 1..=7 {
        v.push(join(&base, &jam.slug, code, &format!("Voter {i}")).await);
    }
    let source = id(&post_idea(&author, &jam.open, "Bike lanes", "Duplicate.", json!([])).await);
    let target = id(&post_idea(&author, &jam.open, "Cycle paths", "Original.", json!([])).await);
    let on_source = comment(&v[0], &source, "Comments stay where they were").await;
    let votes: [(usize, &str, i64); 11] = [
        (0, &source, 1),  // v1: only on the source, +1 → carried
        (1, &source, -1), // v2: only on the source, -1 → carried
        (2, &target, 1),  // v3: only on the target → stays
        (3, &source, 1),  // v4: same on both → target's kept
        (3, &target, 1),
        (4, &source, 1), // v5: opposite on both → target's kept
        (4, &target, -1),
        (5, &source, -1), // v6: retracted on the target → the source's carries
        (5, &target, 1),
        (6, &source, 1), // v7: retracted on the source → nothing to carry
        (6, &source, 0),
    ];
    for (who, idea, value) in votes {
        assert_eq!(vote(&v[who], idea, value).await.status, 200);
    }
    assert_eq!(vote(&v[5], &target, 0).await.status, 200);
    let counts = |r: &Reply| (r.body["up"].as_u64(), r.body["down"].as_u64());
    assert_eq!(
        counts(&author.get(&format!("/api/v1/ideas/{source}")).await),
        (Some(3), Some(2))
    );
    assert_eq!(
        counts(&author.get(&format!("/api/v1/ideas/{target}")).await),
        (Some(2), Some(1))
    );

    // Refusals first: nothing may change.
    merge(&v[0], &source, json!({ "into": target }))
        .await
        .assert_problem(403);
    merge(&jam.fac, &source, json!({ "into": source }))
        .await
        .assert_problem(422);
    merge(&jam.fac, &source, json!({ "into": Uuid::now_v7() }))
        .await
        .assert_problem(422);
    merge(&jam.fac, &source, json!({ "into": "not-a-uuid" }))
        .await
        .assert_problem(422);
    merge(&jam.fac, &source, json!({ "into": target, "votes": "all" }))
        .await
        .assert_problem(422);
    merge(&jam.fac, "not-a-uuid", json!({ "into": target }))
        .await
        .assert_problem(404);
    merge(&jam.fac, &Uuid::now_v7().to_string(), json!({ "into": target }))
        .await
        .assert_problem(404);
    // Into an idea of another jam.
    let (other_slug, _, other_codes) = create_jam(&jam.fac, "merge-other").await;
    let other_session = add_session(&jam.fac, &other_slug, "Elsewhere", 0, 24).await;
    assert_eq!(
        jam.fac
            .post(&format!("/api/v1/jams/{other_slug}/schedule"), json!({}))
            .await
            .status,
        200
    );
    let stranger = join(&base, &other_slug, &other_codes[0].1, "Stranger").await;
    let elsewhere = id(&post_idea(&stranger, &other_session, "Elsewhere", "x", json!([])).await);
    merge(&jam.fac, &source, json!({ "into": elsewhere }))
        .await
        .assert_problem(422);
    assert_eq!(
        counts(&author.get(&format!("/api/v1/ideas/{target}")).await),
        (Some(2), Some(1))
    );

    let r = merge(&jam.fac, &source, json!({ "into": target })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["votes_moved"].as_u64(), r.body["votes_kept"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(r.body["source"]["status"], "merged");
    assert_eq!(r.body["source"]["merged_into"], target.as_str());
    assert_eq!(r.body["into"]["id"], target.as_str());
    assert_eq!(
        (r.body["into"]["up"].as_u64(), r.body["into"]["down"].as_u64()),
        (Some(3), Some(3))
    );

    // Each voter's vote on the target now.
    let expected_mine = [1, -1, 1, 1, -1, -1, 0];
    for (i, mine) in expected_mine.into_iter().enumerate() {
        let got = v[i].get(&format!("/api/v1/ideas/{target}")).await;
        assert_eq!(got.body["my_vote"], mine, "voter {}", i + 1);
    }
    let got = author.get(&format!("/api/v1/ideas/{source}")).await;
    assert_eq!(got.status, 200, "a merged idea still answers by id");
    assert_eq!(got.body["status"], "merged");
    assert_eq!(got.body["merged_into"], target.as_str());
    assert_eq!(counts(&got), (Some(0), Some(0)), "the duplicate no longer counts");
    assert_eq!(got.body["comments"], 1);
    assert_eq!(
        ids(&author.get(&format!("/api/v1/ideas/{source}/comments")).await.body),
        vec![on_source]
    );
    assert_eq!(
        author.get(&format!("/api/v1/ideas/{target}")).await.body["comments"],
        0
    );
    let listed = ids(&author
        .get(&format!("/api/v1/sessions/{}/ideas?sort=top", jam.open))
        .await
        .body);
    assert_eq!(listed, vec![target.clone()], "the duplicate leaves the feed");

    let db = open_db(&jam.d).await;
    let (s, t): (Uuid, Uuid) = (source.parse().unwrap(), target.parse().unwrap());
    assert_eq!(jam_store::votes::recount(&db, t).await.unwrap(), (3, 3));
    assert_eq!(jam_store::votes::recount(&db, s).await.unwrap(), (0, 0));
    let row = jam_store::ideas::by_id(&db, t).await.unwrap().unwrap();
    assert_eq!((row.up, row.down, row.voters), (3, 3, 6));
    let row = jam_store::ideas::by_id(&db, s).await.unwrap().unwrap();
    assert_eq!((row.up, row.down, row.voters), (0, 0, 0));
    assert_eq!(
        (row.status, row.merged_into),
        (jam_domain::ItemStatus::Merged, Some(t))
    );

    // A merged idea is final: no votes, no second merge, no merge into it, no decisions.
    vote(&v[0], &source, 1).await.assert_problem(409);
    merge(&jam.fac, &source, json!({ "into": target }))
        .await
        .assert_problem(409);
    merge(&jam.fac, &target, json!({ "into": source }))
        .await
        .assert_problem(409);
    decide(&jam.fac, "idea", &source, "hide")
        .await
        .assert_problem(409);

    let audit = jam
        .fac
        .get(&format!("/api/v1/jams/{}/audit?limit=200", jam.slug))
        .await;
    let merged: Vec<&Value> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "idea.merged")
        .collect();
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0]["subject_id"], source.as_str());
    assert_eq!(merged[0]["actor_kind"], "staff");
    let detail = &merged[0]["detail"];
    assert_eq!(detail["into"], target.as_str());
    assert_eq!(
        (detail["votes_moved"].as_u64(), detail["votes_kept"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(
        detail["source_before"],
        json!({ "up": 3, "down": 2, "voters": 5 })
    );
    assert_eq!(detail["into_after"], json!({ "up": 3, "down": 3, "voters": 6 }));
}

#[actix_rt::test]
async fn a_merge_carries_each_voters_vote_to_the_target_at_most_once() {
    a_merge_carries_each_vote_once(Deployment::sqlite(t0())).await;
}

#[actix_rt::test]
async fn a_merge_carries_each_voters_vote_once_on_postgresql() {
    let Some(d) = Deployment::postgres(t0()).await else {
        return;
    };
    a_merge_carries_each_vote_once(d).await;
}

#[actix_rt::test]
async fn bad_flags_and_unknown_or_malformed_ids_get_the_documented_errors() {
    let jam = live_jam(Deployment::sqlite(t0()), "flag-bad-jam").await;
    let base = jam.node.base.clone();
    let ada = join(&base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let bob = join(&base, &jam.slug, &jam.codes[0].1, "Bob").await;
    let idea = id(&post_idea(&ada, &jam.open, "Fine", "Fine.", json!([])).await);

    let r = flag(&bob, "idea", &idea, &"x".repeat(501)).await;
    r.assert_problem(422);
    assert_eq!(r.body["errors"][0]["field"], "reason");
    flag(&bob, "idea", &idea, "").await.assert_problem(422);
    flag(&bob, "idea", &idea, "nul\u{0}byte")
        .await
        .assert_problem(422);
    bob.post(
        &format!("/api/v1/ideas/{idea}/flags"),
        json!({ "reason": "x", "severity": 9 }),
    )
    .await
    .assert_problem(422);
    bob.post(&format!("/api/v1/ideas/{idea}/flags"), json!({}))
        .await
        .assert_problem(422);
    // Nothing above counted: a 500-character reason is still this participant's first flag.
    let long = "é".repeat(500);
    let r = flag(&bob, "idea", &idea, &long).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["reason"], long.as_str(), "round-trips");

    for kind in ["idea", "comment"] {
        flag(&bob, kind, "not-a-uuid", "x").await.assert_problem(404);
        flag(&bob, kind, &Uuid::now_v7().to_string(), "x")
            .await
            .assert_problem(404);
        for decision in ["hide", "restore", "remove"] {
            decide(&jam.fac, kind, "not-a-uuid", decision)
                .await
                .assert_problem(404);
            decide(&jam.fac, kind, &Uuid::now_v7().to_string(), decision)
                .await
                .assert_problem(404);
        }
    }
    Client::new(&base)
        .post(&format!("/api/v1/ideas/{idea}/flags"), json!({ "reason": "x" }))
        .await
        .assert_problem(401);
}

#[actix_rt::test]
async fn the_edit_of_a_hidden_idea_reaches_no_other_participant_live() {
    let jam = live_jam(Deployment::sqlite(t0()), "hidden-edit").await;
    let base = jam.node.base.clone();
    let code = &jam.codes[0].1;
    let ada = join(&base, &jam.slug, code, "Ada").await;
    let eve = join(&base, &jam.slug, code, "Eve").await;
    let idea = id(&post_idea(&ada, &jam.open, "Rude title", "Rude body", json!([])).await);
    assert_eq!(decide(&jam.fac, "idea", &idea, "hide").await.status, 200);

    let mut live = crate::ws::LiveClient::connect(&eve).await;
    let session = format!("session:{}", jam.open);
    let idea_topic = format!("idea:{idea}");
    assert_eq!(live.subscribe(&session, None).await["type"], "subscribed");
    // Whether or not Eve may follow the hidden idea's own topic, nothing of the edit arrives there.
    live.subscribe(&idea_topic, None).await;

    let r = ada
        .patch(
            &format!("/api/v1/ideas/{idea}"),
            json!({ "title": "Secret new title" }),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["title"].as_str()),
        (200, Some("Secret new title")),
        "{}",
        r.body
    );
    // A later visible idea marks the end: everything Eve got before it is checked.
    let marker = id(&post_idea(&ada, &jam.open, "Marker idea", "After the edit", json!([])).await);
    loop {
        let m = live.recv().await;
        assert!(!m.to_string().contains("Secret new title"), "leaked to Eve: {m}");
        if crate::ws::event_kind(&m) == "idea.created" && m["event"]["idea"]["id"] == marker.as_str() {
            break;
        }
    }
    // Staff still read the new text.
    let staff_view = jam.fac.get(&format!("/api/v1/ideas/{idea}")).await;
    assert_eq!(
        staff_view.body["title"], "Secret new title",
        "{}",
        staff_view.body
    );
}
