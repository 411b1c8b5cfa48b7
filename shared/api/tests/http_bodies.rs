//! Seeded, bounded property tests of the HTTP request bodies (CI side of the
//! `http_bodies` cargo-fuzz target in tests/fuzz): the real router (`all_routes`) on
//! embedded stores, driven in-process with mutated valid bodies, arbitrary JSON values
//! and arbitrary path segments.
//!
//! Property: every answer is JSON (or an empty 204) and below 500; a 4xx carries `{"error": {"code"}}`
//! (the login refusal, 401 `{"authenticated": false}`, is the one exception).
//!
//! The face analyzer is a stub (PNG signature → an image without faces, anything else →
//! a bad image): what is tested here is the parsing and validation in front of it; the
//! fuzz target runs the real pipeline.

#[path = "common/embedded_state.rs"]
mod embedded_state;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine;
use faceid_api::{ApiConfig, Limits};
use faceid_core::lockout::LockoutPolicy;
use faceid_mutate::Mutations;
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::RngSeed;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

use embedded_state::{
    open_stores, state_on, test_config, test_tokens, StubAnalyzer, PNG_SIGNATURE as PNG,
    TEST_ADMIN_TOKEN,
};

const ADMIN: &str = TEST_ADMIN_TOKEN;
struct Fixture {
    routers: [axum::Router; 2],
    session: String,
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let embedded = open_stores(dir.path());
        let tokens = test_tokens();
        let session = tokens.issue("alice", 0, time::OffsetDateTime::now_utc()).0;
        let router = |require_liveness: bool| {
            let config = ApiConfig {
                // Small limits, so generated bodies reach them.
                limits: Limits {
                    max_body_bytes: 4096,
                    max_image_bytes: 1024,
                    max_frames: 4,
                    max_enroll_images: 3,
                },
                require_liveness,
                // Never locks, so every case reaches the analysis.
                lockout: LockoutPolicy {
                    max_failures: u32::MAX,
                    ..LockoutPolicy::default()
                },
                ..test_config(ADMIN, tokens.clone())
            };
            let state = state_on(&embedded, Arc::new(StubAnalyzer), config);
            faceid_api::all_routes(&state).with_state(state)
        };
        Fixture {
            routers: [router(false), router(true)],
            session,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            _dir: dir,
        }
    })
}

#[derive(Debug, Clone, Copy)]
enum Auth {
    None,
    Admin,
    Session,
    Garbage,
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        Just(Auth::Admin),
        Just(Auth::Session),
        Just(Auth::Garbage)
    ]
}

/// Sends one request and checks the property; returns the status and JSON body.
fn send(
    method: Method,
    uri: &str,
    auth: Auth,
    json_type: bool,
    liveness: bool,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let f = fixture();
    let mut req = Request::builder().method(method).uri(uri);
    let bearer = match auth {
        Auth::None => None,
        Auth::Admin => Some(ADMIN.to_string()),
        Auth::Session => Some(f.session.clone()),
        Auth::Garbage => Some("a.b.c".to_string()),
    };
    if let Some(t) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let ct = if json_type {
        "application/json"
    } else {
        "text/plain"
    };
    let req = req
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body))
        .expect("request");
    let router = f.routers[usize::from(liveness)].clone();
    let (status, bytes) = f.rt.block_on(async move {
        let resp = router.oneshot(req).await.expect("infallible");
        let status = resp.status();
        (
            status,
            resp.into_body().collect().await.expect("body").to_bytes(),
        )
    });
    assert!(
        status.as_u16() < 500,
        "{uri}: {status}: {}",
        String::from_utf8_lossy(&bytes)
    );
    // 204 (logout, revoke) is the one answer without a body.
    if status == StatusCode::NO_CONTENT && bytes.is_empty() {
        return (status, Value::Null);
    }
    let v: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: {status}: not JSON ({e}): {bytes:?}"));
    if status.is_client_error() {
        let coded = v["error"]["code"].is_string();
        let refused_login = status == StatusCode::UNAUTHORIZED && v["authenticated"] == false;
        assert!(coded || refused_login, "{uri}: {status}: {v}");
    }
    (status, v)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn png() -> Vec<u8> {
    let mut v = PNG.to_vec();
    v.extend_from_slice(&[0; 24]);
    v
}

/// Valid bodies of the three JSON routes, the seeds of the mutations.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let frame = b64(&png());
    vec![
        (
            "/v1/authenticate",
            json!({"challenge_id": "00000000-0000-4000-8000-000000000000", "user_id": "alice", "frames": [frame, frame, frame]}).to_string().into_bytes(),
        ),
        (
            "/v1/authenticate",
            json!({"frames": [format!("data:image/png;base64,{frame}")]}).to_string().into_bytes(),
        ),
        (
            "/v1/users/alice/faces",
            json!({"images": [frame]}).to_string().into_bytes(),
        ),
        (
            "/v1/uploads",
            json!({"user_id": "alice"}).to_string().into_bytes(),
        ),
    ]
}

/// Edits of a body, writing the bytes that matter to JSON and base64 more often than
/// chance would pick them.
fn mutations() -> Mutations {
    Mutations::new().favouring(b"{}[]\":,\\0-9eE+-/=.ntf ")
}

/// Arbitrary JSON, shallow and small (deep nesting is a test of its own below).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        ".{0,24}".prop_map(Value::String),
        Just(json!(b64(&png()))),
        Just(json!("alice")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("frames".to_string()),
                    Just("images".to_string()),
                    Just("user_id".to_string()),
                    Just("challenge_id".to_string()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x5eed_0a11),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn mutated_valid_bodies_get_json_4xx_or_2xx(
        which in any::<Index>(),
        edits in mutations().edits(1..8),
        auth in auth(),
        json_type in prop::bool::weighted(0.9),
        liveness in any::<bool>(),
    ) {
        let seeds = seeds();
        let (uri, body) = &seeds[which.index(seeds.len())];
        send(Method::POST, uri, auth, json_type, liveness, mutations().apply(body, &edits));
    }

    #[test]
    fn arbitrary_json_bodies_get_json_4xx_or_2xx(
        route in 0usize..3,
        body in json_value(),
        auth in auth(),
        liveness in any::<bool>(),
    ) {
        let uri = ["/v1/authenticate", "/v1/users/alice/faces", "/v1/uploads"][route];
        send(Method::POST, uri, auth, true, liveness, body.to_string().into_bytes());
    }

    #[test]
    fn arbitrary_user_path_segments_get_json_4xx_or_2xx(
        segment in proptest::collection::vec(any::<u8>(), 0..80),
        delete in any::<bool>(),
    ) {
        let enc: String = segment
            .iter()
            .map(|&b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        let (method, uri, body) = if delete {
            (Method::DELETE, format!("/v1/users/{enc}"), vec![])
        } else {
            (Method::POST, format!("/v1/users/{enc}/faces"), json!({"images": [b64(&png())]}).to_string().into_bytes())
        };
        let (status, v) = send(method, &uri, Auth::Admin, true, true, body);
        // A refused id is refused as an id, whatever the route.
        let valid = std::str::from_utf8(&segment)
            .ok()
            .is_some_and(|s| faceid_core::UserId::parse(s).is_ok());
        if !valid && !segment.is_empty() {
            prop_assert_eq!(status, StatusCode::BAD_REQUEST, "{}", v);
        }
    }

    #[test]
    fn audit_queries_get_json_4xx_or_2xx(query in "[a-z_=&:+%0-9TZ.-]{0,60}") {
        send(Method::GET, &format!("/v1/audit?{query}"), Auth::Admin, true, true, vec![]);
    }
}

#[test]
fn deeply_nested_and_oversized_bodies_are_4xx() {
    let deep = format!("{}{}", "[".repeat(1500), "]".repeat(1500));
    let (s, _) = send(
        Method::POST,
        "/v1/authenticate",
        Auth::None,
        true,
        true,
        deep.into_bytes(),
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let big = format!(r#"{{"frames": ["{}"]}}"#, "A".repeat(8000));
    let (s, _) = send(
        Method::POST,
        "/v1/authenticate",
        Auth::None,
        true,
        false,
        big.into_bytes(),
    );
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
}
