//! The bad-input table: each row is a request a careless or hostile client could send, and the
//! documented problem+json status it must get. None may be a 500.

use awc::http::Method;
use chrono::{Duration, Utc};
use serde_json::json;

use crate::support::*;

enum Who {
    Anonymous,
    Facilitator,
    Executive,
    Expired,
}

struct Case {
    name: &'static str,
    who: Who,
    method: Method,
    path: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    field: Option<&'static str>,
}

fn json_case(
    name: &'static str,
    who: Who,
    method: Method,
    path: &'static str,
    body: serde_json::Value,
    status: u16,
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        who,
        method,
        path,
        content_type: "application/json",
        body: body.to_string().into_bytes(),
        status,
        field,
    }
}

#[actix_rt::test]
async fn every_bad_input_gets_its_documented_problem_status() {
    let now = Utc::now();
    let d = Deployment::sqlite(now);
    d.create_admin();
    let node = d.start().await;
    let fac = Client::as_new_staff(&node.base, "facilitator").await;
    let exec = Client::as_new_staff(&node.base, "executive").await;
    let expired = Client::as_new_staff(&node.base, "facilitator").await;
    let start = now + Duration::hours(2);
    let end = start + Duration::days(3);
    assert_eq!(
        fac.post("/api/v1/jams", jam_body("taken-slug", start, end))
            .await
            .status,
        201
    );

    let good = jam_body("fresh-slug", start, end);
    let with = |key: &str, value: serde_json::Value| {
        let mut b = good.clone();
        b[key] = value;
        b
    };
    let mut huge = good.clone();
    huge["description"] = json!("x".repeat(70_000));
    let cases = vec![
        Case {
            name: "malformed JSON",
            who: Who::Facilitator,
            method: Method::POST,
            path: "/api/v1/jams",
            content_type: "application/json",
            body: b"{\"slug\": ".to_vec(),
            status: 400,
            field: None,
        },
        Case {
            name: "invalid UTF-8",
            who: Who::Facilitator,
            method: Method::POST,
            path: "/api/v1/jams",
            content_type: "application/json",
            body: b"{\"slug\": \"\xff\xfe\"}".to_vec(),
            status: 400,
            field: None,
        },
        Case {
            name: "not JSON at all",
            who: Who::Facilitator,
            method: Method::POST,
            path: "/api/v1/jams",
            content_type: "text/plain",
            body: b"slug=x".to_vec(),
            status: 415,
            field: None,
        },
        json_case(
            "wrong type",
            Who::Facilitator,
            Method::POST,
            "/api/v1/jams",
            with("starts_at", json!(12)),
            422,
            Some("starts_at"),
        ),
        json_case(
            "unknown field",
            Who::Facilitator,
            Method::POST,
            "/api/v1/jams",
            with("colour", json!("red")),
            422,
            None,
        ),
        json_case(
            "body over the limit",
            Who::Facilitator,
            Method::POST,
            "/api/v1/jams",
            huge,
            413,
            None,
        ),
        json_case(
            "inverted dates",
            Who::Facilitator,
            Method::POST,
            "/api/v1/jams",
            with("ends_at", json!(start - Duration::hours(1))),
            422,
            Some("ends_at"),
        ),
        json_case(
            "session outside the jam",
            Who::Facilitator,
            Method::POST,
            "/api/v1/jams/taken-slug/sessions",
            json!({ "title": "Late", "opens_at": end, "closes_at": end + Duration::hours(3) }),
            422,
            Some("opens_at"),
        ),
        json_case(
            "session closing before it opens",
            Who::Facilitator,
            Method::POST,
            "/api/v1/jams/taken-slug/sessions",
            json!({ "title": "Odd", "opens_at": start + Duration::hours(5), "closes_at": start + Duration::hours(4) }),
            422,
            Some("closes_at"),
        ),
        json_case(
            "duplicate slug",
            Who::Facilitator,
            Method::POST,
            "/api/v1/jams",
            jam_body("taken-slug", start, end),
            409,
            None,
        ),
        json_case(
            "bad slug",
            Who::Facilitator,
            Method::POST,
            "/api/v1/jams",
            with("slug", json!("Bad Slug!")),
            422,
            Some("slug"),
        ),
        json_case(
            "title with a NUL byte",
            Who::Facilitator,
            Method::POST,
            "/api/v1/jams",
            with("title", json!("a\u{0}b")),
            422,
            Some("title"),
        ),
        json_case(
            "no audiences",
            Who::Facilitator,
            Method::POST,
            "/api/v1/jams",
            with("audiences", json!([])),
            422,
            Some("audiences"),
        ),
        json_case(
            "negative shortlist",
            Who::Facilitator,
            Method::POST,
            "/api/v1/jams",
            with("shortlist_size", json!(-3)),
            422,
            Some("shortlist_size"),
        ),
        json_case(
            "wrong role",
            Who::Executive,
            Method::POST,
            "/api/v1/jams",
            good.clone(),
            403,
            None,
        ),
        json_case(
            "no cookie",
            Who::Anonymous,
            Method::POST,
            "/api/v1/jams",
            good.clone(),
            401,
            None,
        ),
        json_case(
            "expired sign-in",
            Who::Expired,
            Method::GET,
            "/api/v1/jams",
            json!(null),
            401,
            None,
        ),
        json_case(
            "unknown jam",
            Who::Facilitator,
            Method::GET,
            "/api/v1/jams/no-such-jam",
            json!(null),
            404,
            None,
        ),
        json_case(
            "unknown session",
            Who::Facilitator,
            Method::POST,
            "/api/v1/jams/taken-slug/sessions/not-a-uuid/open",
            json!({}),
            404,
            None,
        ),
        json_case(
            "huge page size",
            Who::Facilitator,
            Method::GET,
            "/api/v1/jams/taken-slug/audit?limit=1000000",
            json!(null),
            422,
            Some("limit"),
        ),
        json_case(
            "negative page size",
            Who::Facilitator,
            Method::GET,
            "/api/v1/jams/taken-slug/audit?limit=-5",
            json!(null),
            422,
            Some("limit"),
        ),
        json_case(
            "garbage cursor",
            Who::Facilitator,
            Method::GET,
            "/api/v1/jams/taken-slug/audit?cursor=%27%3B%20DROP%20TABLE%20jams%3B--",
            json!(null),
            422,
            Some("cursor"),
        ),
        json_case(
            "bad e-mail at login",
            Who::Anonymous,
            Method::POST,
            "/api/v1/auth/login",
            json!({ "email": "nope", "password": "x" }),
            422,
            Some("email"),
        ),
        json_case(
            "announcement too long",
            Who::Facilitator,
            Method::POST,
            "/api/v1/jams/taken-slug/announcements",
            json!({ "text": "y".repeat(2001) }),
            422,
            Some("text"),
        ),
    ];
    assert!(cases.len() >= 12);

    // The expired caller's sign-in ends when the clock passes its lifetime; the others are renewed.
    d.set_clock(now + Duration::hours(13));
    let fac = Client::as_new_staff(&node.base, "facilitator").await;
    let exec_fresh = Client::as_new_staff(&node.base, "executive").await;
    drop(exec);
    let anon = node.client();
    for case in cases {
        let client = match case.who {
            Who::Anonymous => &anon,
            Who::Facilitator => &fac,
            Who::Executive => &exec_fresh,
            Who::Expired => &expired,
        };
        let r = if case.method == Method::GET {
            client.get(case.path).await
        } else {
            client
                .send_raw(
                    case.method.clone(),
                    case.path,
                    case.content_type,
                    case.body.clone(),
                )
                .await
        };
        assert_eq!(r.status.as_u16(), case.status, "{}: {}", case.name, r.body);
        r.assert_problem(case.status);
        if let Some(field) = case.field {
            let fields: Vec<_> = r.body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect();
            assert!(
                fields.iter().any(|f| f == field),
                "{}: expected field {field} in {fields:?}",
                case.name
            );
        }
    }
    // Nothing bad got in, and the server still answers.
    let list = fac.get("/api/v1/jams").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(node.metric("jam_http_responses_5xx_total").await, 0);
}
