//! Session tokens end to end through the real router on embedded stores: revocation
//! (user deletion, logout everywhere, admin revoke), step-up for account changes, and a
//! relying party verifying a token with nothing but the published JWKS.

#[path = "common/embedded_state.rs"]
mod embedded_state;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use embedded_state::{
    one_frontal_face, open_stores, state_on, test_config, test_tokens, PNG_SIGNATURE,
    TEST_ADMIN_TOKEN,
};
use faceid_api::sessions::issue_session;
use faceid_api::AppState;
use faceid_core::face::{AnalyzeError, DetectorKind, FaceAnalyzer, ImageAnalysis};
use faceid_core::token::{TokenSigner, TokenVerifier};
use faceid_core::{Descriptor, UserId};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use time::OffsetDateTime;
use tower::ServiceExt;

/// Every PNG holds one large, sharp, frontal face (the same descriptor each time).
struct OneFace;

impl FaceAnalyzer for OneFace {
    fn analyze(&self, image: &[u8], _: DetectorKind) -> Result<ImageAnalysis, AnalyzeError> {
        if !image.starts_with(PNG_SIGNATURE) {
            return Err(AnalyzeError::Input("unsupported image format".into()));
        }
        let d: [f32; 128] = std::array::from_fn(|i| ((i as f32 + 1.0) * 0.37).sin() / 4.0);
        Ok(one_frontal_face(Descriptor(d)))
    }
    fn model_id(&self) -> &str {
        "one-face-stub"
    }
}

struct Fixture {
    router: axum::Router,
    state: AppState,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let embedded = open_stores(dir.path());
    let state = state_on(
        &embedded,
        Arc::new(OneFace),
        test_config(TEST_ADMIN_TOKEN, test_tokens()),
    );
    Fixture {
        router: faceid_api::all_routes(&state).with_state(state.clone()),
        state,
        _dir: dir,
    }
}

impl Fixture {
    /// `GET /v1/session` with `token` answers 401 `token_revoked`.
    async fn assert_revoked(&self, token: &str) {
        let (status, v) = self
            .send(Method::GET, "/v1/session", Some(token), Value::Null)
            .await;
        assert_eq!(
            (status, &v["error"]["code"]),
            (StatusCode::UNAUTHORIZED, &json!("token_revoked")),
            "{v}"
        );
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        bearer: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        (status, v)
    }

    /// A session for `user` as the login route issues it (at the user's current session
    /// version), whose face login happened `age` ago.
    async fn session(&self, user: &str, age: time::Duration) -> String {
        let user = UserId::parse(user).expect("valid user id");
        issue_session(&self.state, &user, OffsetDateTime::now_utc() - age)
            .await
            .expect("issued")
            .0
    }

    async fn enroll_as_admin(&self, user: &str) {
        let (status, v) = self.add_face(user, TEST_ADMIN_TOKEN).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
    }

    async fn add_face(&self, user: &str, bearer: &str) -> (StatusCode, Value) {
        let img = STANDARD.encode([PNG_SIGNATURE, &[0u8; 32][..]].concat());
        self.send(
            Method::POST,
            &format!("/v1/users/{user}/faces"),
            Some(bearer),
            json!({"images": [img]}),
        )
        .await
    }
}

fn fresh() -> time::Duration {
    time::Duration::seconds(5)
}

#[tokio::test]
async fn a_deleted_users_token_is_revoked() {
    let f = fixture();
    f.enroll_as_admin("alice").await;
    let tok = f.session("alice", fresh()).await;
    let (status, v) = f
        .send(Method::GET, "/v1/session", Some(&tok), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["user_id"], "alice");

    let (status, v) = f
        .send(
            Method::DELETE,
            "/v1/users/alice",
            Some(TEST_ADMIN_TOKEN),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    for (method, uri) in [
        (Method::GET, "/v1/session"),
        (Method::DELETE, "/v1/sessions"),
    ] {
        let (status, v) = f.send(method, uri, Some(&tok), Value::Null).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {v}");
        assert_eq!(v["error"]["code"], "token_revoked", "{uri}");
    }
    // Re-enrolling the same user id does not bring the old token back.
    f.enroll_as_admin("alice").await;
    f.assert_revoked(&tok).await;
}

#[tokio::test]
async fn logout_everywhere_revokes_every_session_of_the_caller_only() {
    let f = fixture();
    let a1 = f.session("alice", fresh()).await;
    let a2 = f.session("alice", fresh()).await;
    let bob = f.session("bob", fresh()).await;
    let (status, _) = f
        .send(Method::DELETE, "/v1/sessions", Some(&a1), Value::Null)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for tok in [&a1, &a2] {
        f.assert_revoked(tok).await;
    }
    let (status, _) = f
        .send(Method::GET, "/v1/session", Some(&bob), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    // The admin token has no sessions of its own.
    let (status, _) = f
        .send(
            Method::DELETE,
            "/v1/sessions",
            Some(TEST_ADMIN_TOKEN),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admin_revokes_a_users_sessions() {
    let f = fixture();
    let tok = f.session("carol", fresh()).await;
    let (status, _) = f
        .send(
            Method::DELETE,
            "/v1/users/carol/sessions",
            Some(&tok),
            Value::Null,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a session cannot use the admin route"
    );
    let (status, _) = f
        .send(
            Method::DELETE,
            "/v1/users/carol/sessions",
            Some(TEST_ADMIN_TOKEN),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    f.assert_revoked(&tok).await;
}

#[tokio::test]
async fn account_changes_need_a_recent_face_login() {
    let f = fixture();
    f.enroll_as_admin("dave").await;
    let old = f.session("dave", time::Duration::minutes(6)).await;
    let (status, v) = f.add_face("dave", &old).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"]["code"], "step_up_required");
    assert_eq!(v["error"]["message"], "log in again to do this");
    let (status, v) = f
        .send(
            Method::POST,
            "/v1/uploads",
            Some(&old),
            json!({"user_id": "dave"}),
        )
        .await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (StatusCode::FORBIDDEN, &json!("step_up_required"))
    );
    let (status, v) = f
        .send(Method::DELETE, "/v1/users/dave", Some(&old), Value::Null)
        .await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (StatusCode::FORBIDDEN, &json!("step_up_required"))
    );
    // Reading needs no step-up.
    let (status, _) = f
        .send(Method::GET, "/v1/session", Some(&old), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);

    let new = f.session("dave", fresh()).await;
    let (status, v) = f.add_face("dave", &new).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, v) = f
        .send(
            Method::POST,
            "/v1/uploads",
            Some(&new),
            json!({"user_id": "dave"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    // The old session may still log out everywhere (which also ends the new one).
    let (status, _) = f
        .send(Method::DELETE, "/v1/sessions", Some(&old), Value::Null)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = f
        .send(Method::GET, "/v1/session", Some(&new), Value::Null)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_jwks_alone_verifies_a_token_the_service_issued() {
    let f = fixture();
    let tok = f.session("erin", fresh()).await;
    let (status, jwks) = f
        .send(Method::GET, "/.well-known/jwks.json", None, Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    let x = URL_SAFE_NO_PAD
        .decode(key["x"].as_str().expect("x"))
        .expect("base64url");
    let verifier = TokenVerifier::from_public_bytes(&x, "faceid", "faceid-web").expect("key");
    assert_eq!(key["kid"].as_str(), Some(verifier.kid()));
    let claims = verifier
        .verify(&tok, OffsetDateTime::now_utc())
        .expect("verifies");
    assert_eq!(claims.sub, "erin");
    // And nothing else: a token from another key does not.
    let other =
        TokenSigner::new(&[9; 32], "faceid", "faceid-web", time::Duration::hours(1)).expect("seed");
    let forged = other.issue("erin", 0, OffsetDateTime::now_utc()).0;
    assert!(verifier.verify(&forged, OffsetDateTime::now_utc()).is_err());
}

/// The 1:1 FAR holds for at most `max_templates_per_user` templates: a fifth face is
/// refused (409 `face_limit`) on every path, while re-posting an enrolled photo (a
/// client's retry) still succeeds.
#[tokio::test]
async fn a_fifth_face_is_refused_on_every_enrollment_path() {
    let f = fixture();
    let max = f.state.config.policy.max_templates_per_user;
    let photo = |i: u8| STANDARD.encode([PNG_SIGNATURE, &[i; 32][..]].concat());
    let post = |i: u8| {
        f.send(
            Method::POST,
            "/v1/users/dana/faces",
            Some(TEST_ADMIN_TOKEN),
            json!({ "images": [photo(i)] }),
        )
    };
    for i in 0..max as u8 {
        let (status, v) = post(i).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
    }
    let (status, v) = post(0).await;
    assert_eq!(
        (status, &v["faces"][0]["duplicate"]),
        (StatusCode::CREATED, &json!(true)),
        "{v}"
    );
    let (status, v) = post(max as u8).await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (StatusCode::CONFLICT, &json!("face_limit")),
        "{v}"
    );
    let (status, v) = f
        .send(
            Method::POST,
            "/v1/uploads",
            Some(TEST_ADMIN_TOKEN),
            json!({ "user_id": "dana" }),
        )
        .await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (StatusCode::CONFLICT, &json!("face_limit")),
        "{v}"
    );
    let dana = UserId::parse("dana").expect("user id");
    let stored = f
        .state
        .stores
        .templates
        .user_templates(&dana)
        .await
        .expect("store");
    assert_eq!(stored.len(), max);
}
