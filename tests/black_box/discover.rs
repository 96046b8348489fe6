//! The discover view and hidden counts (issue 17), seen from outside: `sort=discover` gives a
//! participant the ideas they have not seen first, then the least seen, in a shuffle of their own
//! that holds still between calls and pages; with `hide_counts_until_voted` a participant reads no
//! count of an idea (nor an order by its votes) until they vote on it.

use serde_json::{Value, json};

use crate::fixtures::*;
use crate::support::*;

async fn discover(c: &Client, session: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/sessions/{session}/ideas?sort=discover&limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = c.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.body);
        out.extend(ids(&r.body));
        match r.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return out,
        }
    }
}

async fn seen(c: &Client, slug: &str, ideas: &[&String]) {
    let r = c
        .post(
            &format!("/api/v1/jams/{slug}/impressions"),
            json!({ "idea_ids": ideas }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn unseen_first_then_least_seen_in_a_stable_shuffle_per_participant(d: Deployment, slug: &str) {
    let jam = live_jam(d, slug).await;
    let base = jam.node.base.clone();
    let ada = join(&base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let bea = join(&base, &jam.slug, &jam.codes[0].1, "Bea").await;
    let cy = join(&base, &jam.slug, &jam.codes[1].1, "Cy").await;
    let mut ideas = Vec::new();
    for n in 0..10 {
        ideas.push(id(&post_idea(
            &ada,
            &jam.open,
            &format!("Idea {n}"),
            "Text.",
            json!([]),
        )
        .await));
    }
    // Bea saw ideas 0 and 1, Cy saw 0: for Bea, 0 is the most seen of what she saw.
    seen(&bea, &jam.slug, &[&ideas[0], &ideas[1]]).await;
    seen(&cy, &jam.slug, &[&ideas[0]]).await;
    // Bea voted on 2 without her browser reporting it: a vote means she saw it.
    assert_eq!(vote(&bea, &ideas[2], 1).await.status, 200);

    let order = discover(&bea, &jam.open, 50).await;
    assert_eq!(order.len(), 10, "{order:?}");
    let tail: Vec<&String> = order[7..].iter().collect();
    // Seen last, least seen first: 2 (voted, no impression), 1 (one), 0 (two).
    assert_eq!(tail, [&ideas[2], &ideas[1], &ideas[0]], "{order:?}");
    // The same order again, and page by page.
    assert_eq!(discover(&bea, &jam.open, 50).await, order);
    assert_eq!(discover(&bea, &jam.open, 3).await, order);
    // Cy's order: the seven nobody saw first as for Bea, but in a shuffle of his own.
    let his = discover(&cy, &jam.open, 50).await;
    assert_eq!(his.last(), Some(&ideas[0]), "{his:?}");
    let his_unseen: Vec<&String> = his.iter().filter(|i| order[..7].contains(i)).collect();
    let hers_unseen: Vec<&String> = order[..7].iter().collect();
    assert_ne!(his_unseen, hers_unseen, "two participants share one shuffle");
    // Staff: least seen first.
    let staff = discover(&jam.fac, &jam.open, 50).await;
    assert_eq!(staff.last(), Some(&ideas[0]), "{staff:?}");
    assert_eq!(staff[8], ideas[1], "{staff:?}");
    // A cursor of another sort is refused.
    jam.fac
        .get(&format!(
            "/api/v1/sessions/{}/ideas?sort=discover&cursor=n.0",
            jam.open
        ))
        .await
        .assert_problem(422);
}

#[actix_rt::test]
async fn discover_gives_unseen_then_least_seen_in_a_stable_shuffle_per_participant_on_sqlite() {
    unseen_first_then_least_seen_in_a_stable_shuffle_per_participant(Deployment::sqlite(t0()), "disc-lite")
        .await;
}

#[actix_rt::test]
async fn discover_gives_unseen_then_least_seen_in_a_stable_shuffle_per_participant_on_postgresql() {
    let Some(d) = Deployment::postgres(t0()).await else {
        return;
    };
    unseen_first_then_least_seen_in_a_stable_shuffle_per_participant(d, "disc-pg").await;
}

fn counts(v: &Value) -> (Value, Value, Value, bool) {
    (
        v["up"].clone(),
        v["down"].clone(),
        v["score"].clone(),
        v["counts_hidden"].as_bool().unwrap_or(false),
    )
}

#[actix_rt::test]
async fn with_hide_counts_until_voted_a_participant_reads_no_count_before_voting() {
    let jam = live_jam(Deployment::sqlite(t0()), "hidden-counts").await;
    let base = jam.node.base.clone();
    let r = jam
        .fac
        .patch(
            &format!("/api/v1/jams/{}", jam.slug),
            json!({ "hide_counts_until_voted": true }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["hide_counts_until_voted"], true);
    let ada = join(&base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let bea = join(&base, &jam.slug, &jam.codes[0].1, "Bea").await;
    let cy = join(&base, &jam.slug, &jam.codes[1].1, "Cy").await;
    let first = id(&post_idea(&ada, &jam.open, "First", "Text.", json!([])).await);
    let popular = id(&post_idea(&ada, &jam.open, "Popular", "Text.", json!([])).await);
    let last = id(&post_idea(&ada, &jam.open, "Last", "Text.", json!([])).await);
    assert_eq!(vote(&bea, &popular, 1).await.status, 200);
    assert_eq!(vote(&ada, &popular, 1).await.status, 200);

    let hidden = (json!(0), json!(0), json!(0.0), true);
    // Cy has not voted: no counts on the idea page or in any list, and top is the newest first.
    let page = cy.get(&format!("/api/v1/ideas/{popular}")).await;
    assert_eq!(counts(&page.body), hidden, "{}", page.body);
    for sort in ["hot", "top", "new", "discover"] {
        let list = cy
            .get(&format!("/api/v1/sessions/{}/ideas?sort={sort}", jam.open))
            .await;
        for item in list.body["items"].as_array().unwrap() {
            assert_eq!(counts(item), hidden, "{sort}: {item}");
        }
        if sort != "discover" {
            assert_eq!(
                ids(&list.body),
                [last.clone(), popular.clone(), first.clone()],
                "{sort}"
            );
        }
    }
    // Bea voted: she sees the counts of that idea only.
    let theirs = bea.get(&format!("/api/v1/ideas/{popular}")).await;
    assert_eq!(theirs.body["up"], 2, "{}", theirs.body);
    assert!(theirs.body.get("counts_hidden").is_none(), "{}", theirs.body);
    let other = bea.get(&format!("/api/v1/ideas/{first}")).await;
    assert_eq!(counts(&other.body), hidden, "{}", other.body);
    // Staff always see them, and their top is by votes.
    let staff = jam
        .fac
        .get(&format!("/api/v1/sessions/{}/ideas?sort=top", jam.open))
        .await;
    assert_eq!(ids(&staff.body)[0], popular, "{}", staff.body);
    assert_eq!(staff.body["items"][0]["up"], 2);
    // Cy votes: the answer and the idea page show the counts; retracting hides them again.
    let voted = vote(&cy, &popular, -1).await;
    assert_eq!(
        (voted.body["up"].clone(), voted.body["down"].clone()),
        (json!(2), json!(1)),
        "{}",
        voted.body
    );
    let page = cy.get(&format!("/api/v1/ideas/{popular}")).await;
    assert_eq!(page.body["down"], 1, "{}", page.body);
    let retracted = vote(&cy, &popular, 0).await;
    assert_eq!(retracted.body["counts_hidden"], true, "{}", retracted.body);
    assert_eq!(retracted.body["up"], 0, "{}", retracted.body);

    // Off again: everyone sees the counts.
    jam.fac
        .patch(
            &format!("/api/v1/jams/{}", jam.slug),
            json!({ "hide_counts_until_voted": false }),
        )
        .await;
    let page = cy.get(&format!("/api/v1/ideas/{popular}")).await;
    assert_eq!(page.body["up"], 2, "{}", page.body);
}
