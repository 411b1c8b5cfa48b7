//! Whose request id a request is filed under: the id travels to the response, the log span
//! and the audit event, so a client must not be able to choose it unless the operator
//! says its proxy sets it (`trust_request_id`); the platform's (Lambda's) always wins.

#[path = "common/embedded_state.rs"]
mod embedded_state;

use axum::body::Body;
use axum::http::Request;
use embedded_state::{open_stores, state_on, test_config, test_tokens, StubAnalyzer};
use faceid_api::{ApiConfig, PlatformRequestId};
use std::sync::Arc;
use tower::ServiceExt;

/// The response's `x-request-id` for `/healthz` sent with `caller` (and the platform's id,
/// if any), on a router that trusts callers' ids or not.
async fn id_of(trust: bool, caller: Option<&str>, platform: Option<&str>) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ApiConfig {
        trust_request_id: trust,
        ..test_config("admin-token-for-ids", test_tokens())
    };
    let state = state_on(&open_stores(dir.path()), Arc::new(StubAnalyzer), config);
    let router = faceid_api::all_routes(&state).with_state(state);
    let mut req = Request::get("/healthz");
    if let Some(id) = caller {
        req = req.header("x-request-id", id);
    }
    let mut req = req.body(Body::empty()).expect("request");
    if let Some(id) = platform {
        req.extensions_mut().insert(PlatformRequestId(id.into()));
    }
    let res = router.oneshot(req).await.expect("infallible");
    res.headers()["x-request-id"]
        .to_str()
        .expect("ASCII id")
        .to_owned()
}

fn is_uuid(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok()
}

#[tokio::test]
async fn a_caller_cannot_choose_its_request_id_by_default() {
    let id = id_of(false, Some("trace-me-42"), None).await;
    assert!(is_uuid(&id), "{id}");
    let (a, b) = (
        id_of(false, None, None).await,
        id_of(false, None, None).await,
    );
    assert!(is_uuid(&a) && is_uuid(&b) && a != b, "{a} {b}");
}

#[tokio::test]
async fn a_trusted_proxy_id_is_kept_when_usable() {
    assert_eq!(id_of(true, Some("trace-me-42"), None).await, "trace-me-42");
    // Too long, or not visible ASCII: replaced, not truncated or escaped.
    for bad in ["x".repeat(129), "two words".into(), "tab\there".into()] {
        let id = id_of(true, Some(&bad), None).await;
        assert!(is_uuid(&id), "{bad:?} -> {id}");
    }
    assert_eq!(
        id_of(true, Some(&"x".repeat(128)), None).await,
        "x".repeat(128)
    );
}

#[tokio::test]
async fn the_platform_id_wins_over_any_caller() {
    for trust in [false, true] {
        let id = id_of(trust, Some("forged"), Some("lambda-req-1")).await;
        assert_eq!(id, "lambda-req-1", "trust {trust}");
    }
}
