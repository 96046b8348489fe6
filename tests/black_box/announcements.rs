//! Announcement history: what facilitators announced stays readable by whoever arrives later, newest
//! first and paged, to the jam's members only.

use serde_json::json;

use crate::fixtures::*;
use crate::support::*;

#[actix_rt::test]
async fn a_late_participant_reads_every_announcement_newest_first_page_by_page() {
    let jam = live_jam(Deployment::sqlite(t0()), "heard").await;
    let base = jam.node.base.clone();
    let texts = ["Welcome!", "Session 2 opens at noon", "Last hour: vote!"];
    for text in texts {
        let r = jam
            .fac
            .post(
                &format!("/api/v1/jams/{}/announcements", jam.slug),
                json!({ "text": text }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // Another jam's announcement never shows here.
    let (other, _, _) = create_jam(&jam.fac, "elsewhere").await;
    let r = jam
        .fac
        .post(
            &format!("/api/v1/jams/{other}/announcements"),
            json!({ "text": "Not for them" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Joins after all of them were sent.
    let late = join(&base, &jam.slug, &jam.codes[0].1, "Late").await;
    let path = format!("/api/v1/jams/{}/announcements", jam.slug);
    let first = late.get(&format!("{path}?limit=2")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let shown = |page: &serde_json::Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        shown(&first.body),
        ["Last hour: vote!", "Session 2 opens at noon"]
    );
    assert_eq!(first.body["items"][0]["jam_id"], jam.jam_id.as_str());
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = late.get(&format!("{path}?limit=2&cursor={cursor}")).await;
    assert_eq!(shown(&second.body), ["Welcome!"]);
    assert!(second.body["next_cursor"].is_null(), "{}", second.body);
    // The default page holds all three.
    assert_eq!(shown(&late.get(&path).await.body).len(), 3);

    // Bad paging is a clear error; outsiders get nothing.
    late.get(&format!("{path}?cursor=nope")).await.assert_problem(422);
    late.get(&format!("{path}?limit=0")).await.assert_problem(422);
    Client::new(&base).get(&path).await.assert_problem(401);
}
