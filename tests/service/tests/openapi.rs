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

/// API Gateway routes in the SAM template, per function: `(function, method, path)` from
/// each `Type: HttpApi` event line under the function's resource.
fn template_routes() -> BTreeSet<(String, String, String)> {
    let text = std::fs::read_to_string(faceid_service_tests::repo().join("infra/template.yaml"))
        .expect("infra/template.yaml");
    let mut resource = String::new();
    let mut routes = BTreeSet::new();
    for line in text.lines() {
        // Resources are the keys indented by two spaces.
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
            if !name.starts_with(' ') {
                resource = name.to_owned();
            }
        }
        if !line.contains("Type: HttpApi") {
            continue;
        }
        let field = |key: &str| {
            let rest = line[line.find(key).expect(key) + key.len()..].trim_start();
            // A quoted value may hold braces ("/v1/users/{user_id}").
            match rest.strip_prefix('"') {
                Some(quoted) => quoted[..quoted.find('"').expect("closing quote")].to_owned(),
                None => rest[..rest.find([',', '}']).unwrap_or(rest.len())]
                    .trim()
                    .to_owned(),
            }
        };
        routes.insert((resource.clone(), field("Method:"), field("Path:")));
    }
    routes
}

#[test]
fn the_deployment_template_routes_each_function_exactly_its_paths() {
    let (enroll, authenticate) = faceid_api::function_route_tables();
    let mut expected: BTreeSet<(String, String, String)> = BTreeSet::new();
    for (function, table) in [
        ("EnrollFunction", enroll),
        ("AuthenticateFunction", authenticate),
    ] {
        for (method, path) in table {
            expected.insert((function.to_owned(), method.to_owned(), path.to_owned()));
        }
    }
    expected.insert((
        "AuthenticateFunction".into(),
        "GET".into(),
        "/healthz".into(),
    ));
    assert_eq!(
        template_routes(),
        expected,
        "infra/template.yaml routes a path to the wrong function, or misses one"
    );
}
