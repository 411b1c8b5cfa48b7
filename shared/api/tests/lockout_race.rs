//! The attacker's race: many wrong logins for one user sent at once, so that none sees
//! another's failure. Attempts are reserved atomically before any face work, so at most
//! `max_failures` of them ever reach the face analyser.

#[path = "common/embedded_state.rs"]
mod embedded_state;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use embedded_state::{
    count, one_frontal_face, open_stores, send_all, state_on, test_config, test_tokens,
    PNG_SIGNATURE, TEST_ADMIN_TOKEN,
};
use faceid_api::ApiConfig;
use faceid_core::face::{AnalyzeError, DetectorKind, FaceAnalyzer, ImageAnalysis};
use faceid_core::{Descriptor, FaceId, Source, Template, UserId};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const MODEL: &str = "stranger-stub";

/// Every image shows the same stranger; counts how often it was asked.
#[derive(Default)]
struct CountingStranger(AtomicUsize);

fn descriptor(phase: f32) -> Descriptor {
    Descriptor(std::array::from_fn(|i| {
        ((i as f32 + 1.0) * phase).sin() / 4.0
    }))
}

impl FaceAnalyzer for CountingStranger {
    fn analyze(&self, _: &[u8], _: DetectorKind) -> Result<ImageAnalysis, AnalyzeError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(one_frontal_face(descriptor(0.91)))
    }
    fn model_id(&self) -> &str {
        MODEL
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_wrong_logins_reach_the_analyser_at_most_five_times() {
    let dir = tempfile::tempdir().expect("tempdir");
    let analyser = Arc::new(CountingStranger::default());
    let config = ApiConfig {
        // One frame, no challenge: the cheapest login an attacker can send.
        require_liveness: false,
        trust_forwarded_for: true,
        ..test_config(TEST_ADMIN_TOKEN, test_tokens())
    };
    let max_failures = config.lockout.max_failures as usize;
    let state = state_on(&open_stores(dir.path()), analyser.clone(), config);
    let victim = UserId::parse("victim").expect("user id");
    let template = Template {
        user_id: victim.clone(),
        face_id: FaceId::derived_from("victim-photo"),
        descriptor: descriptor(0.37),
        model_id: MODEL.into(),
        source: Source::Api,
        created_at: time::OffsetDateTime::now_utc(),
    };
    state
        .stores
        .templates
        .put_template(&template)
        .await
        .expect("enrolled");
    let router = faceid_api::all_routes(&state).with_state(state.clone());

    let frame = STANDARD.encode([PNG_SIGNATURE, &[0u8; 32][..]].concat());
    let body = json!({"user_id": "victim", "frames": [frame]}).to_string();
    let requests: Vec<_> = (0..20u8)
        .map(|i| {
            // Each from its own address: only the per-user count can stop them.
            Request::builder()
                .method(Method::POST)
                .uri("/v1/authenticate")
                .header(header::CONTENT_TYPE, "application/json")
                .header("x-forwarded-for", format!("198.51.100.{i}"))
                .body(Body::from(body.clone()))
                .expect("request")
        })
        .collect();
    let statuses = send_all(&router, requests).await;
    let refused = count(&statuses, StatusCode::UNAUTHORIZED);
    let locked = count(&statuses, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        (refused, locked),
        (max_failures, 20 - max_failures),
        "{statuses:?}"
    );
    assert_eq!(analyser.0.load(Ordering::SeqCst), max_failures);
}
