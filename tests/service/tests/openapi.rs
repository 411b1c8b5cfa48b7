//! The OpenAPI description (`infra/openapi.json`, served at `/openapi.json`) and the
//! routes really served must agree.

use faceid_service_tests::LocalServer;
use serde_json::Value;
use std::collections::BTreeSet;

#[tokio::test]
async fn openapi_describes_exactly_the_served_routes() {
    let s = LocalServer::start(&[]).await;
    let spec: Value = s
        .get("/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let described: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = faceid_api::route_table()
        .into_iter()
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    assert_eq!(
        described, served,
        "infra/openapi.json and the router disagree"
    );

    // And each described route really answers (not the generic 404/405).
    for (method, path) in &served {
        let url = format!("{}{}", s.url, path.replace("{user_id}", "someone"));
        let r = s
            .http
            .request(method.parse().unwrap(), &url)
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let code = body["error"]["code"].as_str().unwrap_or("");
        assert!(
            code != "method_not_allowed"
                && !(code == "not_found" && body["error"]["message"] == "no such route"),
            "{method} {path}: {body}"
        );
    }
}
