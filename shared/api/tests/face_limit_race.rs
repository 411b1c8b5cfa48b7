//! The enrollment race: eight different photos for one user sent at once. Each request
//! checks the user's room after its face analysis; if that check were the only guard,
//! all eight would pass it before any of them stored. The store checks and writes the
//! count in one step, so exactly `max_templates_per_user` are enrolled.

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
use faceid_core::face::{AnalyzeError, DetectorKind, FaceAnalyzer, ImageAnalysis};
use faceid_core::{Descriptor, UserId};
use serde_json::json;
use std::sync::{Arc, Barrier};

const REQUESTS: usize = 8;

/// Every photo shows a face; no analysis finishes before all `REQUESTS` have started,
/// so every request reaches the room check together.
struct TogetherAnalyser(Barrier);

impl FaceAnalyzer for TogetherAnalyser {
    fn analyze(&self, bytes: &[u8], _: DetectorKind) -> Result<ImageAnalysis, AnalyzeError> {
        self.0.wait();
        let phase = 0.3 + f32::from(bytes[bytes.len() - 1]) / 10.0;
        Ok(one_frontal_face(Descriptor(std::array::from_fn(|i| {
            ((i as f32 + 1.0) * phase).sin() / 4.0
        }))))
    }
    fn model_id(&self) -> &str {
        "together-stub"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_enrollments_never_exceed_the_face_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let analyser = Arc::new(TogetherAnalyser(Barrier::new(REQUESTS)));
    let config = test_config(TEST_ADMIN_TOKEN, test_tokens());
    let max = config.policy.max_templates_per_user;
    assert!(max < REQUESTS);
    let mut state = state_on(&open_stores(dir.path()), analyser, config);
    // Room for every request's analysis at once (the default is one per core), or the
    // barrier would wait for ever.
    state.analysis_slots = Arc::new(tokio::sync::Semaphore::new(REQUESTS));
    let router = faceid_api::all_routes(&state).with_state(state.clone());

    let requests: Vec<_> = (0..REQUESTS as u8)
        .map(|i| {
            // A different photo each: distinct face ids, so none is a duplicate.
            let photo = STANDARD.encode([PNG_SIGNATURE, &[0u8; 31][..], &[i][..]].concat());
            Request::builder()
                .method(Method::POST)
                .uri("/v1/users/carol/faces")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {TEST_ADMIN_TOKEN}"))
                .body(Body::from(json!({"images": [photo]}).to_string()))
                .expect("request")
        })
        .collect();
    let statuses = send_all(&router, requests).await;
    let created = count(&statuses, StatusCode::CREATED);
    let full = count(&statuses, StatusCode::CONFLICT);
    assert_eq!((created, full), (max, REQUESTS - max), "{statuses:?}");
    let carol = UserId::parse("carol").expect("user id");
    let stored = state.stores.templates.user_templates(&carol).await;
    assert_eq!(stored.expect("templates").len(), max);
}
