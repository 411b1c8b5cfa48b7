//! The HTTP API in-process: `faceid_api::all_routes` (every route of both functions) on
//! embedded stores and the real face pipeline, driven with `tower::ServiceExt::oneshot`.
//!
//! Input layout: byte 0 = flags (bits 0-2 route, bits 3-4 credentials, bit 5 a wrong
//! Content-Type, bit 6 liveness not required), then a path parameter / query string up to
//! the first `\n`, then the request body.
//!
//! Property: no panic; every answer is JSON and below 500. A 4xx carries
//! `{"error": {"code": ...}}`, except the login refusal (401 `{"authenticated": false}`).
#![no_main]

use axum::body::Body;
use axum::http::{header, Method, Request};
use faceid_fuzz::{runtime, session_token, with_state, ADMIN_TOKEN};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

/// Percent-encodes everything but unreserved characters (and `keep`), so any bytes make a
/// valid URI and reach the router's own path/query parsing.
fn encode(raw: &[u8], keep: &[u8]) -> String {
    let mut s = String::with_capacity(raw.len() * 3);
    for &b in raw {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (param, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) if i <= 256 => (&rest[..i], &rest[i + 1..]),
        _ => (&b""[..], rest),
    };
    let segment = encode(param, b"");
    let (method, uri) = match flags & 7 {
        0 => (Method::POST, "/v1/authenticate".to_string()),
        1 => (Method::POST, "/v1/challenge".to_string()),
        2 => (Method::POST, format!("/v1/users/{segment}/faces")),
        3 => (Method::POST, "/v1/uploads".to_string()),
        4 => (Method::GET, "/v1/users".to_string()),
        5 => (Method::DELETE, format!("/v1/users/{segment}")),
        6 => (Method::GET, format!("/v1/audit?{}", encode(param, b"&=:+"))),
        _ => (Method::GET, "/v1/session".to_string()),
    };
    let mut req = Request::builder().method(method).uri(&uri);
    match (flags >> 3) & 3 {
        0 => {}
        1 => req = req.header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}")),
        2 => req = req.header(header::AUTHORIZATION, format!("Bearer {}", session_token())),
        _ => req = req.header(header::AUTHORIZATION, "Bearer not.a.token"),
    }
    let content_type = if flags & 0x20 == 0 {
        "application/json"
    } else {
        "text/plain"
    };
    let req = req
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_vec()))
        .expect("valid request");
    let require_liveness = flags & 0x40 == 0;
    let (status, bytes) = with_state(require_liveness, |s| {
        let app = s.all_routes.clone();
        runtime().block_on(async move {
            let resp = app.oneshot(req).await.expect("infallible");
            let status = resp.status();
            let bytes = resp.into_body().collect().await.expect("body").to_bytes();
            (status, bytes)
        })
    });
    assert!(
        status.as_u16() < 500,
        "{uri}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    let json: serde_json::Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: {status}: not JSON ({e}): {bytes:?}"));
    if status.is_client_error() {
        let coded = json["error"]["code"].is_string();
        let refused_login = status == 401 && json["authenticated"] == false;
        assert!(coded || refused_login, "{uri}: {status}: {json}");
    }
});
