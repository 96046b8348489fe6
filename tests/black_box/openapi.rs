//! `/api/v1/openapi.json` documents every route the server registers, and every documented route
//! is really served.

use chrono::Utc;

use crate::support::*;

#[actix_rt::test]
async fn the_openapi_document_lists_every_registered_route_and_each_is_served() {
    let d = Deployment::sqlite(Utc::now());
    let node = d.start().await;
    let c = node.client();
    let doc = c.get("/api/v1/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    let paths = doc.body["paths"].as_object().unwrap();

    let table = jam_server::routes::docs();
    assert!(table.len() >= 37, "the table has {} routes", table.len());
    let mut documented = 0;
    for route in &table {
        let op = &paths[&format!("/api/v1{}", route.path)][route.method];
        assert!(
            op.is_object(),
            "{} {} is registered but missing from the document",
            route.method,
            route.path
        );
        assert!(
            op["responses"][route.status.to_string()].is_object(),
            "{} {}",
            route.method,
            route.path
        );
        if route.request.is_some() {
            assert!(op["requestBody"]["content"]["application/json"]["schema"].is_object());
        }
        documented += 1;
    }
    let operations: usize = paths.values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(
        operations, documented,
        "the document has no operation the table lacks"
    );
    // Every $ref points at a schema that exists.
    let text = doc.body.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(
            doc.body["components"]["schemas"][name].is_object(),
            "dangling $ref {name}"
        );
    }

    // Each documented route is served: with made-up ids it may be refused, but never "no such route".
    for route in &table {
        let path = route
            .path
            .split('/')
            .map(|s| {
                if s.starts_with('{') {
                    "01890000-0000-7000-8000-000000000000"
                } else {
                    s
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let method = route.method.to_uppercase().parse().unwrap();
        let r = c
            .send_raw(
                method,
                &format!("/api/v1{path}"),
                "application/json",
                b"{}".to_vec(),
            )
            .await;
        assert_ne!(
            r.body["detail"], "no such route",
            "{} {} is documented but not served",
            route.method, route.path
        );
    }
}
