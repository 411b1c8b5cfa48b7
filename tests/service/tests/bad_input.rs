//! Bad input on every route gets a 4xx with a JSON error, never a 5xx or a panic.

use faceid_service_tests::{b64, LocalServer, ADMIN_TOKEN};
use serde_json::{json, Value};

struct Case {
    method: &'static str,
    path: &'static str,
    body: Option<Vec<u8>>,
    content_type: &'static str,
    auth: bool,
    expect: u16,
}

fn case(
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    auth: bool,
    expect: u16,
) -> Case {
    Case {
        method,
        path,
        body: body.map(|b| b.to_string().into_bytes()),
        content_type: "application/json",
        auth,
        expect,
    }
}

fn raw(method: &'static str, path: &'static str, body: &[u8], auth: bool, expect: u16) -> Case {
    Case {
        method,
        path,
        body: Some(body.to_vec()),
        content_type: "application/json",
        auth,
        expect,
    }
}

#[tokio::test]
async fn every_route_answers_bad_input_with_a_json_4xx() {
    let s = LocalServer::start(&[("FACEID_MAX_BODY_BYTES", "2000000")]).await;
    let png_header_30k = {
        // A valid PNG signature + IHDR claiming 30000×30000: must be refused before decoding.
        let mut v = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        v.extend_from_slice(&30000u32.to_be_bytes());
        v.extend_from_slice(&30000u32.to_be_bytes());
        v.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        v
    };
    let truncated_jpeg =
        faceid_service_tests::fixture("face_recognition/obama.jpg")[..2000].to_vec();
    let big = vec![b'a'; 3_000_000];
    let challenge_id = "00000000-0000-4000-8000-000000000000";
    let cases = vec![
        // /v1/authenticate
        raw("POST", "/v1/authenticate", b"{not json", false, 400),
        case("POST", "/v1/authenticate", Some(json!({})), false, 400),
        case(
            "POST",
            "/v1/authenticate",
            Some(json!({"frames": []})),
            false,
            400,
        ),
        case(
            "POST",
            "/v1/authenticate",
            Some(json!({"frames": ["x"]})),
            false,
            400,
        ), // no challenge
        case(
            "POST",
            "/v1/authenticate",
            Some(json!({"challenge_id": "nope", "frames": ["eA=="]})),
            false,
            400,
        ),
        case(
            "POST",
            "/v1/authenticate",
            Some(json!({"challenge_id": challenge_id, "frames": ["%%%"]})),
            false,
            400,
        ),
        case(
            "POST",
            "/v1/authenticate",
            Some(json!({"challenge_id": challenge_id, "user_id": "../x", "frames": ["eA=="]})),
            false,
            400,
        ),
        case(
            "POST",
            "/v1/authenticate",
            Some(json!({"challenge_id": challenge_id, "frames": vec!["eA=="; 40]})),
            false,
            400,
        ),
        case(
            "POST",
            "/v1/authenticate",
            Some(json!({"challenge_id": challenge_id, "frames": ["eA=="], "extra": 1})),
            false,
            400,
        ),
        raw("POST", "/v1/authenticate", &big, false, 413),
        // Deeply nested JSON is refused by the parser's depth limit, not by the stack.
        raw(
            "POST",
            "/v1/authenticate",
            format!("{{\"frames\": {}{}}}", "[".repeat(5000), "]".repeat(5000)).as_bytes(),
            false,
            400,
        ),
        // Unknown challenge: a well-formed request, refused as 401.
        case(
            "POST",
            "/v1/authenticate",
            Some(json!({"challenge_id": challenge_id, "frames": [b64(b"hello")]})),
            false,
            401,
        ),
        // /v1/challenge
        case("GET", "/v1/challenge", None, false, 405),
        // /v1/users/{id}/faces
        case(
            "POST",
            "/v1/users/alice/faces",
            Some(json!({"images": ["eA=="]})),
            false,
            401,
        ),
        case(
            "POST",
            "/v1/users/alice/faces",
            Some(json!({"images": []})),
            true,
            400,
        ),
        case(
            "POST",
            "/v1/users/alice/faces",
            Some(json!({"imgs": []})),
            true,
            400,
        ),
        case(
            "POST",
            "/v1/users/bad%20id/faces",
            Some(json!({"images": ["eA=="]})),
            true,
            400,
        ),
        case(
            "POST",
            "/v1/users/alice/faces",
            Some(json!({"images": ["not base64!"]})),
            true,
            400,
        ),
        case(
            "POST",
            "/v1/users/alice/faces",
            Some(json!({"images": [b64(b"plain text, not an image")]})),
            true,
            422,
        ),
        case(
            "POST",
            "/v1/users/alice/faces",
            Some(json!({"images": [b64(&png_header_30k)]})),
            true,
            422,
        ),
        case(
            "POST",
            "/v1/users/alice/faces",
            Some(json!({"images": [b64(&truncated_jpeg)]})),
            true,
            422,
        ),
        case("GET", "/v1/users/alice/faces", None, true, 405),
        // /v1/uploads
        case(
            "POST",
            "/v1/uploads",
            Some(json!({"user_id": "alice"})),
            false,
            401,
        ),
        case(
            "POST",
            "/v1/uploads",
            Some(json!({"user_id": ""})),
            true,
            400,
        ),
        case("POST", "/v1/uploads", Some(json!({})), true, 400),
        // admin routes
        case("GET", "/v1/users", None, false, 401),
        case("DELETE", "/v1/users/nobody", None, true, 404),
        case("DELETE", "/v1/users/.hidden", None, true, 400),
        case("DELETE", "/v1/users/..", None, true, 404),
        case("GET", "/v1/audit?limit=abc", None, true, 400),
        case("GET", "/v1/session", None, false, 401),
        case(
            "PUT",
            "/v1/local-uploads/enroll/alice/x.jpg?expires=1&sig=abc",
            None,
            false,
            403,
        ),
        case("GET", "/v1/nothing-here", None, false, 404),
    ];
    for c in cases {
        let url = format!("{}{}", s.url, c.path);
        let mut rb = s.http.request(c.method.parse().unwrap(), &url);
        if let Some(b) = c.body {
            rb = rb.header("content-type", c.content_type).body(b);
        }
        if c.auth {
            rb = rb.bearer_auth(ADMIN_TOKEN);
        }
        let r = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} {}: {e}", c.method, c.path));
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        assert_eq!(
            status, c.expect,
            "{} {} -> {status}: {text}",
            c.method, c.path
        );
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{} {}: not JSON: {text}", c.method, c.path));
        assert!(
            v["error"]["code"].is_string() || v["reason"].is_string(),
            "{} {}: {text}",
            c.method,
            c.path
        );
    }
    // Wrong content type.
    let r = s.post("/v1/challenge").send().await.unwrap();
    assert_eq!(r.status(), 201, "challenge needs no body");
    let r = s
        .post("/v1/authenticate")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
