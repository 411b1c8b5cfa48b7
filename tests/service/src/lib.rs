//! Shared helpers for the service tests: fixtures, the face pipeline (loaded once per
//! test binary), an in-process local server on a random port.

use base64::Engine;
use faceid_embedding::FacePipeline;
use faceid_wiring::{build_service, Env, Settings};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// Repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A committed fixture image's bytes, e.g. `face_recognition/obama.jpg`.
pub fn fixture(rel: &str) -> Vec<u8> {
    let p = repo().join("tests/fixtures/images").join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Crops a fixture to a rectangle and re-encodes it as PNG (e.g. one face of two_people.jpg).
pub fn crop_png(rel: &str, x: u32, y: u32, w: u32, h: u32) -> Vec<u8> {
    let img = image::load_from_memory(&fixture(rel))
        .expect("fixture decodes")
        .to_rgb8();
    let part = image::imageops::crop_imm(&img, x, y, w, h).to_image();
    let mut out = std::io::Cursor::new(Vec::new());
    part.write_to(&mut out, image::ImageFormat::Png)
        .expect("png encodes");
    out.into_inner()
}

/// A distinct photo of one face: 700×700 crops of `biden.jpg`, shifted by `n` pixels
/// (different bytes and descriptors, same person).
pub fn biden_variant(n: u32) -> Vec<u8> {
    crop_png(
        "face_recognition/biden.jpg",
        250 + n * 3,
        80 + n * 2,
        700,
        700,
    )
}

/// The face pipeline, loaded once per test binary.
/// A committed photo and its reference landmarks, framed as the liveness tests' webcam
/// sees it (640×480, eyes 80 px apart): what the testkit turns into head-turn frames.
pub fn framed_face(image: &str, reference: &str) -> (image::RgbImage, faceid_testkit::Landmarks5) {
    let photo = image::load_from_memory(&fixture(image))
        .expect("fixture decodes")
        .to_rgb8();
    let text = std::fs::read_to_string(repo().join("tests/fixtures/reference").join(reference))
        .expect("reference landmarks");
    let lm = faceid_testkit::Landmarks5::from_json(&text, 0).expect("landmarks parse");
    faceid_testkit::Framing {
        eye_distance_px: 80.0,
        ..faceid_testkit::Framing::default()
    }
    .apply(&photo, &lm)
}

/// The public-domain faces the liveness attack suites turn, print and animate: each
/// committed photo with a face big enough to frame at 80 px between the eyes.
pub const ATTACK_SUBJECTS: [(&str, &str); 5] = [
    ("face_recognition/obama.jpg", "obama.json"),
    ("face_recognition/obama3.jpg", "obama3.json"),
    ("face_recognition/obama-720p.jpg", "obama-720p.json"),
    (
        "dlib/Tom_Cruise_avp_2014_4.jpg",
        "Tom_Cruise_avp_2014_4.json",
    ),
    ("pypi/astronaut.png", "astronaut.json"),
];

pub fn pipeline() -> Arc<FacePipeline> {
    static P: OnceLock<Arc<FacePipeline>> = OnceLock::new();
    P.get_or_init(|| Arc::new(FacePipeline::bundled().expect("models load")))
        .clone()
}

/// Settings from a variable map (no process environment involved).
pub fn settings(vars: &[(&str, &str)]) -> Settings {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(Env(move |k| map.get(k).cloned())).expect("valid test settings")
}

/// A running local server (`faceid serve`'s app) on embedded storage in a temp dir.
pub struct LocalServer {
    pub url: String,
    pub http: reqwest::Client,
    pub data: tempfile::TempDir,
    pub state: faceid_api::AppState,
}

impl LocalServer {
    pub async fn start(extra: &[(&str, &str)]) -> Self {
        // Server-side errors show up in the failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn")
            .try_init();
        let data = tempfile::tempdir().expect("tempdir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let url = format!("http://{addr}");
        let dir = data.path().to_string_lossy().to_string();
        let mut vars = vec![
            ("FACEID_DATA_DIR", dir.as_str()),
            ("FACEID_ADMIN_TOKEN", ADMIN_TOKEN),
            ("FACEID_PUBLIC_URL", url.as_str()),
        ];
        vars.extend_from_slice(extra);
        let s = settings(&vars);
        let service = build_service(&s, pipeline()).await.expect("service builds");
        let state = service.state.clone();
        let app = faceid::serve::app(service.state, service.local_images, repo().join("web"));
        tokio::spawn(async move {
            axum_serve(listener, app).await;
        });
        Self {
            url,
            http: reqwest::Client::new(),
            data,
            state,
        }
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.url))
    }
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.url))
    }
    pub fn admin(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.bearer_auth(ADMIN_TOKEN)
    }

    /// `GET /v1/users` with the admin token: `{"users": [{user_id, faces}…]}`.
    pub async fn users(&self) -> serde_json::Value {
        self.admin(self.get("/v1/users"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json body")
    }

    /// `DELETE /v1/users/{user}` with the admin token; returns the status.
    pub async fn delete_user(&self, user: &str) -> u16 {
        self.admin(self.http.delete(format!("{}/v1/users/{user}", self.url)))
            .send()
            .await
            .expect("request")
            .status()
            .as_u16()
    }

    /// Enrolls images for a user with the admin token; returns (status, body).
    pub async fn enroll(&self, user: &str, images: &[Vec<u8>]) -> (u16, serde_json::Value) {
        let body = serde_json::json!({"images": images.iter().map(|i| b64(i)).collect::<Vec<_>>()});
        let r = self
            .admin(self.post(&format!("/v1/users/{user}/faces")))
            .json(&body)
            .send()
            .await
            .expect("request");
        (
            r.status().as_u16(),
            r.json().await.unwrap_or(serde_json::Value::Null),
        )
    }
}

async fn axum_serve(listener: tokio::net::TcpListener, app: axum::Router) {
    let _ = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await;
}

pub mod fault_proxy;
pub mod lambda;
