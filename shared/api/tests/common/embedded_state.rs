//! An `AppState` on embedded stores, for the in-process property tests of the request
//! bodies (shared/api/tests/http_bodies.rs) and of the enroll events
//! (functions/enroll/tests/s3_events.rs), and for the fuzz targets (tests/fuzz): one
//! place that knows how the stores and a test configuration are put together.

#![allow(dead_code)]

use faceid_api::{ApiConfig, AppState, Limits, Stores};
use faceid_core::face::{AnalyzeError, DetectorKind, FaceAnalyzer, FaceObservation, ImageAnalysis};
use faceid_core::replay::FrameDigest;
use faceid_core::token::{SessionKey, TokenSigner};
use faceid_core::{ChallengeSteps, Descriptor};
use faceid_storage::{EmbeddedConfig, EmbeddedStores};
use std::path::Path;
use std::sync::Arc;

/// The first bytes of every PNG file.
pub const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A 400×400 image with one large, sharp, frontal face of `descriptor`: passes every
/// enrollment quality check. Each call is a new capture (its own frame digest), as a
/// camera's frames are.
pub fn one_frontal_face(descriptor: Descriptor) -> ImageAnalysis {
    static CAPTURES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let capture = CAPTURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ImageAnalysis {
        width: 400,
        height: 400,
        faces: vec![FaceObservation {
            rect: [100, 100, 299, 299],
            score: 2.0,
            landmarks: [
                [250.0, 160.0],
                [230.0, 160.0],
                [150.0, 160.0],
                [170.0, 160.0],
                [200.0, 230.0],
            ],
            descriptor,
            sharpness: 800.0,
            skin_rgb: [180.0, 130.0, 110.0],
            tones: None,
            patch: None,
        }],
        border_rgb: [120.0, 120.0, 125.0],
        border_clipped: 0.0,
        digest: FrameDigest::of_pixels(400, 400, &capture.to_le_bytes()),
    }
}

/// A face analyzer for tests of what comes before it: anything that starts like a PNG is
/// an image without faces, anything else a bad image.
pub struct StubAnalyzer;

impl FaceAnalyzer for StubAnalyzer {
    fn analyze(&self, image: &[u8], _: DetectorKind) -> Result<ImageAnalysis, AnalyzeError> {
        if image.starts_with(PNG_SIGNATURE) {
            Ok(ImageAnalysis {
                width: 64,
                height: 48,
                faces: vec![],
                border_rgb: [0.0; 3],
                border_clipped: 0.0,
                digest: FrameDigest::of_pixels(64, 48, image),
            })
        } else {
            Err(AnalyzeError::Input("unsupported image format".into()))
        }
    }
    fn model_id(&self) -> &str {
        "stub"
    }
}

/// Embedded stores in `dir` (upload URLs point nowhere).
pub fn open_stores(dir: &Path) -> EmbeddedStores {
    EmbeddedStores::open(&EmbeddedConfig {
        data_dir: dir.to_path_buf(),
        public_base_url: "http://127.0.0.1:1".into(),
        upload_signing_key: b"test upload key".to_vec(),
    })
    .expect("embedded stores open")
}

/// The admin token of the test configurations.
pub const TEST_ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A session-token signer with a fixed test key.
pub fn test_tokens() -> TokenSigner {
    TokenSigner::new(&[7; 32], "faceid", "faceid-web", time::Duration::hours(1))
        .expect("32-byte key")
}

/// The service's defaults with this admin token and token signer; tests override fields
/// with `ApiConfig { limits: …, ..test_config(…) }`.
pub fn test_config(admin_token: &str, tokens: TokenSigner) -> ApiConfig {
    ApiConfig {
        policy: Default::default(),
        admin_token: Some(admin_token.into()),
        tokens: SessionKey::Signing(tokens),
        step_up_max_age: faceid_api::STEP_UP_MAX_AGE,
        limits: Limits::default(),
        challenge_ttl: time::Duration::seconds(60),
        require_liveness: true,
        detector: DetectorKind::Hog,
        quality: Default::default(),
        liveness: Default::default(),
        answer_window: Some(Default::default()),
        challenge_steps: ChallengeSteps::TurnsAndNods,
        refuse_seen_frames: true,
        lockout: Default::default(),
        trust_forwarded_for: false,
        trust_request_id: false,
        cors_origin: None,
        upload_ttl: std::time::Duration::from_secs(600),
    }
}

/// Every port served by the embedded stores.
pub fn state_on(
    e: &EmbeddedStores,
    analyzer: Arc<dyn FaceAnalyzer>,
    config: ApiConfig,
) -> AppState {
    let stores = Stores {
        templates: e.store.clone(),
        challenges: e.store.clone(),
        counters: e.store.clone(),
        sessions: e.store.clone(),
        upload_grants: e.store.clone(),
        seen_frames: e.store.clone(),
        images: e.images.clone(),
        audit: e.audit.clone(),
    };
    AppState::new(analyzer, stores, config)
}

/// Sends every request at once (each on its own task) and returns the statuses in order:
/// the attacker's race, with none of the requests seeing another's outcome first.
pub async fn send_all(
    router: &axum::Router,
    requests: Vec<axum::http::Request<axum::body::Body>>,
) -> Vec<axum::http::StatusCode> {
    use tower::ServiceExt;
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|req| tokio::spawn(router.clone().oneshot(req)))
        .collect();
    let mut statuses = Vec::with_capacity(tasks.len());
    for t in tasks {
        statuses.push(t.await.expect("task").expect("infallible").status());
    }
    statuses
}

/// How many of `statuses` are `status`.
pub fn count(statuses: &[axum::http::StatusCode], status: axum::http::StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}
