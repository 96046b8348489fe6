//! Search and similar ideas (issue 16), seen from outside, on SQLite and PostgreSQL: English and
//! French stemming with accents folded, relevance order, facets (session, tag, audience; status for
//! staff only), keyset pages through every result, hidden ideas kept from participants, the word
//! limit, the rate limit, a session's top tags, similar ideas and likely duplicates.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::fixtures::*;
use crate::support::*;

/// `q` percent-encoded, byte by byte.
fn enc(q: &str) -> String {
    q.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// Every page of a search, following `next_cursor`, with `limit` per page.
async fn all_pages(c: &Client, slug: &str, query: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut path = format!("/api/v1/jams/{slug}/search?{query}&limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = c.get(&path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let page = ids(&r.body);
        assert!(page.len() <= limit);
        out.extend(page);
        match r.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return out,
        }
    }
    panic!("more than 100 pages");
}

fn with_room(mut d: Deployment) -> Deployment {
    for (k, v) in [
        ("JAM__RATE_LIMITS__IDEAS__COUNT", "1000"),
        ("JAM__SEARCH__RATE__COUNT", "1000"),
        ("JAM__SEARCH__SIMILAR_RATE__COUNT", "1000"),
    ] {
        d.extra_env.push((k.into(), v.into()));
    }
    d
}

async fn search_behaves(d: Deployment) {
    let jam = live_jam(with_room(d), "pulse-search").await;
    let base = jam.node.base.clone();
    let ada = join(&base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let bob = join(&base, &jam.slug, &jam.codes[1].1, "Bob").await;
    let post = async |who: &Client, title: &str, body: &str, tags: Value| -> String {
        id(&post_idea(who, &jam.open, title, body, tags).await)
    };
    let run = post(&ada, "Running club", "We meet every week at noon", json!([])).await;
    let ecole = post(
        &bob,
        "Une école ouverte",
        "Ouvrir l'ecole le samedi",
        json!(["Éducation"]),
    )
    .await;
    let solar = post(
        &ada,
        "Solar roofs",
        "Solar panels on every roof, solar everywhere",
        json!(["Green Energy"]),
    )
    .await;
    let lights = post(
        &bob,
        "Brighter car parks",
        "Lamps along the paths, some of them solar, and wider lanes",
        json!(["green-energy"]),
    )
    .await;
    let search = async |who: &Client, query: &str| -> Vec<String> {
        let r = who
            .get(&format!("/api/v1/jams/{}/search?{query}", jam.slug))
            .await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        ids(&r.body)
    };
    let q = |text: &str| format!("q={}", enc(text));

    // Stemming: English inflections, French plurals and accents (typed with or without them).
    assert_eq!(search(&bob, &q("runs")).await, vec![run.clone()]);
    assert_eq!(search(&bob, &q("RUNNING")).await, vec![run.clone()]);
    for w in ["écoles", "ecoles", "École", "ecole"] {
        assert_eq!(search(&ada, &q(w)).await, vec![ecole.clone()], "{w}");
    }
    assert_eq!(
        search(&ada, &q("education")).await,
        vec![ecole.clone()],
        "tag words"
    );
    assert_eq!(
        search(&ada, &q("solar lanes")).await,
        vec![lights.clone()],
        "every word"
    );
    assert_eq!(search(&ada, &q("nothing-like-this")).await, Vec::<String>::new());

    // Relevance: the idea with the word in its title, often, comes first; `new` is newest first.
    assert_eq!(
        search(&ada, &q("solar")).await,
        vec![solar.clone(), lights.clone()]
    );
    assert_eq!(
        search(&ada, &format!("{}&sort=new", q("solar"))).await,
        vec![lights.clone(), solar.clone()]
    );

    // Facets: tag (any spelling of it), audience, session.
    let tagged = search(&ada, &format!("{}&tag={}", q("solar"), enc("GREEN energy"))).await;
    assert_eq!(tagged.len(), 2);
    assert_eq!(
        search(&ada, &format!("{}&tag=education", q("solar"))).await,
        Vec::<String>::new()
    );
    let audience = enc(&jam.codes[1].0);
    assert_eq!(
        search(&ada, &format!("{}&audience={audience}", q("solar"))).await,
        vec![lights.clone()]
    );
    assert_eq!(
        search(&ada, &format!("{}&session={}", q("solar"), jam.later)).await,
        Vec::<String>::new()
    );
    assert_eq!(
        search(&ada, &format!("{}&session={}", q("solar"), jam.open))
            .await
            .len(),
        2
    );
    ada.get(&format!(
        "/api/v1/jams/{}/search?{}&session=00000000-0000-0000-0000-000000000000",
        jam.slug,
        q("solar")
    ))
    .await
    .assert_problem(422);

    // The session's top tags: spellings of one tag counted together.
    let tags = ada.get(&format!("/api/v1/sessions/{}/tags", jam.open)).await;
    assert_eq!(tags.status, 200, "{}", tags.body);
    assert_eq!(tags.body["items"][0]["key"], "greenenergy");
    assert_eq!(tags.body["items"][0]["count"], 2);
    assert_eq!(tags.body["items"][1]["key"], "education");

    // Hidden ideas: never found by participants (their author included); staff filter by status.
    let r = jam
        .fac
        .post(&format!("/api/v1/ideas/{lights}/hide"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(search(&ada, &q("solar")).await, vec![solar.clone()]);
    assert_eq!(search(&bob, &q("solar")).await, vec![solar.clone()], "its author");
    assert_eq!(
        search(&jam.fac, &q("solar")).await.len(),
        2,
        "staff see every status"
    );
    assert_eq!(
        search(&jam.fac, &format!("{}&status=hidden", q("solar"))).await,
        vec![lights.clone()]
    );
    bob.get(&format!(
        "/api/v1/jams/{}/search?{}&status=hidden",
        jam.slug,
        q("solar")
    ))
    .await
    .assert_problem(403);
    jam.fac
        .get(&format!(
            "/api/v1/jams/{}/search?{}&status=gone",
            jam.slug,
            q("solar")
        ))
        .await
        .assert_problem(422);

    // The word limit: 8 words pass, 9 answer 422; a query of common words only answers 422.
    assert_eq!(
        ada.get(&format!(
            "/api/v1/jams/{}/search?{}",
            jam.slug,
            q("a b c d e f g solar")
        ))
        .await
        .status,
        200
    );
    let r = ada
        .get(&format!(
            "/api/v1/jams/{}/search?{}",
            jam.slug,
            q("a b c d e f g h solar")
        ))
        .await;
    r.assert_problem(422);
    assert!(r.body.to_string().contains("at most 8 words"), "{}", r.body);
    ada.get(&format!("/api/v1/jams/{}/search?{}", jam.slug, q("the and")))
        .await
        .assert_problem(422);
    ada.get(&format!("/api/v1/jams/{}/search?q=solar&cursor=zz", jam.slug))
        .await
        .assert_problem(422);

    // Paging through every result, in both orders: each idea once, none left out.
    let mut lanterns = BTreeSet::new();
    for i in 0..23 {
        let who = if i % 2 == 0 { &ada } else { &bob };
        let body = "lantern ".repeat(1 + i % 4);
        lanterns.insert(post(who, &format!("Paper lantern {i}"), &body, json!([])).await);
    }
    for sort in ["relevance", "new"] {
        let got = all_pages(&bob, &jam.slug, &format!("q=lanterns&sort={sort}"), 5).await;
        assert_eq!(got.len(), 23, "{sort}: no idea twice");
        assert_eq!(
            got.into_iter().collect::<BTreeSet<_>>(),
            lanterns,
            "{sort}: none left out"
        );
    }
}

#[actix_rt::test]
async fn search_stems_english_and_french_ranks_filters_and_pages_through_every_result() {
    search_behaves(Deployment::sqlite(t0())).await;
}

#[actix_rt::test]
async fn search_behaves_the_same_on_postgresql() {
    let Some(d) = Deployment::postgres(t0()).await else {
        return;
    };
    search_behaves(d).await;
}

async fn similar_behaves(d: Deployment) {
    let jam = live_jam(with_room(d), "pulse-similar").await;
    let base = jam.node.base.clone();
    let ada = join(&base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let planted = id(&post_idea(
        &ada,
        &jam.open,
        "Free coffee in every kitchen",
        "Install a coffee machine in each office kitchen, free for everyone",
        json!([]),
    )
    .await);
    for (t, b) in [
        ("Bike parking", "Covered racks for bicycles near the entrance"),
        ("Quiet rooms", "Rooms without phones for focused work"),
        ("Coffee with the CEO", "A monthly open meeting"),
    ] {
        post_idea(&ada, &jam.open, t, b, json!([])).await;
    }
    let similar = async |title: &str, body: &str| -> Value {
        let r = ada
            .get(&format!(
                "/api/v1/sessions/{}/similar?title={}&body={}",
                jam.open,
                enc(title),
                enc(body)
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    };
    let found = similar(
        "Free coffee machines in kitchens",
        "a coffee machine in the kitchen",
    )
    .await;
    assert_eq!(found["items"][0]["idea"]["id"], planted.as_str(), "{found}");
    let score = found["items"][0]["score"].as_f64().unwrap();
    assert!(score > 0.5 && score <= 1.0, "{score}");
    assert!(found["items"].as_array().unwrap().len() <= 5);
    let unrelated = similar("Solar roofs", "panels on the roofs").await;
    assert_eq!(unrelated["items"], json!([]));
    ada.get(&format!("/api/v1/sessions/{}/similar", jam.open))
        .await
        .assert_problem(422);

    // The facilitators' likely duplicates: the planted pair, once.
    let dup = id(&post_idea(
        &ada,
        &jam.open,
        "Free coffee in every kitchen!",
        "Coffee machine in each office kitchen, free for all",
        json!([]),
    )
    .await);
    let r = jam
        .fac
        .get(&format!("/api/v1/jams/{}/duplicates", jam.slug))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let pairs = r.body["items"].as_array().unwrap();
    assert_eq!(pairs.len(), 1, "{}", r.body);
    assert_eq!(pairs[0]["idea"]["id"], dup.as_str());
    assert_eq!(pairs[0]["other"]["id"], planted.as_str());
    ada.get(&format!("/api/v1/jams/{}/duplicates", jam.slug))
        .await
        .assert_problem(403);

    // A hidden idea is never offered as similar.
    let r = jam
        .fac
        .post(&format!("/api/v1/ideas/{planted}/hide"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let found = similar(
        "Free coffee machines in kitchens",
        "a coffee machine in the kitchen",
    )
    .await;
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["idea"]["id"] != planted.as_str()),
        "{found}"
    );
}

#[actix_rt::test]
async fn similar_ideas_find_a_planted_duplicate_and_staff_see_the_pair() {
    similar_behaves(Deployment::sqlite(t0())).await;
}

#[actix_rt::test]
async fn similar_ideas_behave_the_same_on_postgresql() {
    let Some(d) = Deployment::postgres(t0()).await else {
        return;
    };
    similar_behaves(d).await;
}

#[actix_rt::test]
async fn searching_past_the_rate_limit_answers_429_with_retry_after() {
    let mut d = Deployment::sqlite(t0());
    d.extra_env.push(("JAM__SEARCH__RATE__COUNT".into(), "3".into()));
    d.extra_env
        .push(("JAM__SEARCH__RATE__WINDOW_SECS".into(), "60".into()));
    d.extra_env
        .push(("JAM__SEARCH__SIMILAR_RATE__COUNT".into(), "1".into()));
    let jam = live_jam(d, "pulse-limit").await;
    let ada = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Ada").await;
    let path = format!("/api/v1/jams/{}/search?q=bikes", jam.slug);
    for _ in 0..3 {
        assert_eq!(ada.get(&path).await.status, 200);
    }
    let r = ada.get(&path).await;
    r.assert_problem(429);
    assert!(r.headers.get("retry-after").is_some());
    // Another person has a budget of their own.
    let bob = join(&jam.node.base, &jam.slug, &jam.codes[0].1, "Bob").await;
    assert_eq!(bob.get(&path).await.status, 200);
    let similar = format!("/api/v1/sessions/{}/similar?title=bikes", jam.open);
    assert_eq!(ada.get(&similar).await.status, 200);
    ada.get(&similar).await.assert_problem(429);
}
