//! Invoking the Lambda functions in-process with raw events (API Gateway v2 and S3
//! fixtures from JSON files), as the Lambda runtime would.

use crate::{b64, repo};
use faceid_lambda::{respond, ApiEvent, ApiRouter};
use lambda_http::{Context, LambdaEvent};
use serde_json::{json, Value};
use std::time::Duration;

pub fn fixture_json(name: &str) -> Value {
    let p = repo().join("tests/service/fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).expect("fixture")).expect("fixture JSON")
}

/// An API Gateway v2 (HTTP API) event from the fixture, for one request.
pub fn apigw(method: &str, path: &str, body: Option<Value>, bearer: Option<&str>) -> Value {
    let mut ev = fixture_json("apigw_v2_request.json");
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    ev["rawPath"] = json!(raw_path);
    ev["rawQueryString"] = json!(query);
    ev["requestContext"]["http"]["method"] = json!(method);
    ev["requestContext"]["http"]["path"] = json!(raw_path);
    ev["body"] = body.map(|b| json!(b.to_string())).unwrap_or(Value::Null);
    if let Some(t) = bearer {
        ev["headers"]["authorization"] = json!(format!("Bearer {t}"));
    }
    ev
}

pub fn s3_event(bucket: &str, key: &str, etag: &str) -> Value {
    let mut ev = fixture_json("s3_object_created.json");
    let obj = &mut ev["Records"][0]["s3"];
    obj["bucket"]["name"] = json!(bucket);
    obj["bucket"]["arn"] = json!(format!("arn:aws:s3:::{bucket}"));
    obj["object"]["key"] = json!(key);
    obj["object"]["eTag"] = json!(etag);
    ev
}

/// base64 of the 32-byte test seed "0123456789abcdef0123456789abcdef".
pub const TEST_TOKEN_SEED: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

pub struct Functions {
    /// The enroll function's state (the authenticate function's may differ: its own key).
    pub state: faceid_api::AppState,
    pub enroll_router: ApiRouter,
    pub auth_router: ApiRouter,
}

impl Functions {
    /// Invokes the enroll function with a raw event; returns (status, body) for HTTP
    /// events, (0, outcomes) for S3 events.
    pub async fn enroll(&self, event: Value) -> (u16, Value) {
        let ev: enroll::EnrollEvent = serde_json::from_value(event).expect("event deserializes");
        let out = enroll::handle(
            &self.state,
            &self.enroll_router,
            LambdaEvent::new(ev, Context::default()),
        )
        .await
        .expect("handler");
        let v = serde_json::to_value(out).unwrap();
        http_parts(v)
    }

    pub async fn authenticate(&self, event: Value) -> (u16, Value) {
        http_parts(self.authenticate_response(event).await)
    }

    /// The authenticate function's whole API Gateway response (status, headers, body),
    /// read and answered as `functions/authenticate` does.
    pub async fn authenticate_response(&self, event: Value) -> Value {
        let event: ApiEvent = serde_json::from_value(event).expect("event deserializes");
        respond(&self.auth_router, event, Context::default())
            .await
            .expect("handler")
    }
}

pub fn http_parts(v: Value) -> (u16, Value) {
    match v.get("statusCode").and_then(Value::as_u64) {
        Some(status) => {
            let body = v["body"]
                .as_str()
                .map(|b| serde_json::from_str(b).unwrap_or(json!(b)))
                .unwrap_or(Value::Null);
            (status as u16, body)
        }
        None => (0, v),
    }
}

pub fn login(frame: &[u8], user: Option<&str>) -> Value {
    let mut body = json!({"frames": [b64(frame)]});
    if let Some(u) = user {
        body["user_id"] = json!(u);
    }
    apigw("POST", "/v1/authenticate", Some(body), None)
}

impl Functions {
    /// A presigned upload as the page makes it: `POST /v1/uploads` (admin), then the PUT
    /// to the URL. Returns the object's key and the ETag S3 gave it, for its event.
    pub async fn upload(&self, user: &str, photo: Vec<u8>) -> (String, String) {
        let (st, up) = self.upload_url(user).await;
        assert_eq!(st, 201, "{up}");
        let key = up["key"].as_str().expect("key").to_owned();
        (key, put_upload(&up, photo).await)
    }

    /// `POST /v1/uploads` for `user` with the admin token.
    pub async fn upload_url(&self, user: &str) -> (u16, Value) {
        let body = json!({ "user_id": user });
        self.enroll(apigw(
            "POST",
            "/v1/uploads",
            Some(body),
            Some(crate::ADMIN_TOKEN),
        ))
        .await
    }

    /// Both functions' routers over one service state.
    pub fn new(state: faceid_api::AppState) -> Self {
        Self::separate(state.clone(), state)
    }

    /// Each function on its own state, as deployed (the enroll function verify-only).
    pub fn separate(enroll: faceid_api::AppState, authenticate: faceid_api::AppState) -> Self {
        Self {
            enroll_router: ApiRouter::new(
                faceid_api::enroll_routes(&enroll).with_state(enroll.clone()),
            ),
            auth_router: ApiRouter::new(
                faceid_api::authenticate_routes(&authenticate).with_state(authenticate),
            ),
            state: enroll,
        }
    }
}

/// PUTs `photo` to the presigned URL of a `POST /v1/uploads` answer; returns the ETag.
pub async fn put_upload(upload: &Value, photo: Vec<u8>) -> String {
    let put = put_upload_status(upload, photo).await;
    assert!(put.status().is_success(), "presigned PUT: {}", put.status());
    put.headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("S3 answers a PUT with an ETag")
        .to_owned()
}

/// PUTs `photo` to the presigned URL with the headers the answer lists (as a client must).
pub async fn put_upload_status(upload: &Value, photo: Vec<u8>) -> reqwest::Response {
    let url = upload["upload_url"].as_str().expect("upload_url");
    let mut put = reqwest::Client::new().put(url).body(photo);
    for (k, v) in upload["headers"].as_object().expect("headers") {
        put = put.header(k, v.as_str().expect("header value"));
    }
    put.send().await.expect("presigned PUT")
}

pub async fn wait_until<F, Fut>(mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..150 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A name suffix unique within this machine's test runs: clock, process and a counter
/// (test binaries share one moto server, so their tables and buckets must not collide).
pub fn run_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{nanos:x}-{:x}-{:x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh DynamoDB table and S3 bucket on moto, named uniquely for this run; the test
/// reads and writes them directly through these clients.
pub struct MotoBackends {
    pub dynamo: faceid_storage::DynamoStore,
    pub s3: faceid_storage::S3ImageStore,
    pub table: String,
    pub bucket: String,
}

impl MotoBackends {
    pub async fn create(moto_endpoint: &str) -> Self {
        // Static test credentials for the SDK's default chain (moto accepts any).
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_REGION", "us-east-1");
        let suffix = run_suffix();
        let (table, bucket) = (format!("faces-{suffix}"), format!("photos-{suffix}"));
        let sdk = faceid_storage::load_sdk_config(&faceid_storage::AwsSettings {
            endpoint_url: Some(moto_endpoint.to_owned()),
            ..Default::default()
        })
        .await;
        let dynamo = faceid_storage::DynamoStore::new(&sdk, table.clone());
        dynamo.create_table_if_missing().await.expect("table");
        let s3 = faceid_storage::S3ImageStore::new(&sdk, bucket.clone());
        s3.create_bucket_if_missing().await.expect("bucket");
        Self {
            dynamo,
            s3,
            table,
            bucket,
        }
    }

    /// The functions' settings on these backends, reached at `endpoint` (moto, or a proxy
    /// in front of it), with local files in `data_dir` and `extra` variables.
    pub fn settings(
        &self,
        endpoint: &str,
        data_dir: &str,
        extra: &[(&str, &str)],
    ) -> faceid_wiring::Settings {
        self.settings_with_key(
            endpoint,
            data_dir,
            ("FACEID_TOKEN_KEY", TEST_TOKEN_SEED),
            extra,
        )
    }

    /// The enroll function's settings as deployed: the session public key only.
    pub fn enroll_settings(
        &self,
        endpoint: &str,
        data_dir: &str,
        extra: &[(&str, &str)],
    ) -> faceid_wiring::Settings {
        let public = faceid_wiring::public_key_of(TEST_TOKEN_SEED).expect("test seed");
        self.settings_with_key(
            endpoint,
            data_dir,
            ("FACEID_TOKEN_PUBLIC_KEY", &public),
            extra,
        )
    }

    fn settings_with_key(
        &self,
        endpoint: &str,
        data_dir: &str,
        key: (&str, &str),
        extra: &[(&str, &str)],
    ) -> faceid_wiring::Settings {
        let mut vars = vec![
            ("FACEID_TABLE", self.table.as_str()),
            ("FACEID_BUCKET", self.bucket.as_str()),
            ("FACEID_AWS_ENDPOINT", endpoint),
            ("FACEID_DATA_DIR", data_dir),
            key,
            ("FACEID_ADMIN_TOKEN", crate::ADMIN_TOKEN),
            ("FACEID_REQUIRE_LIVENESS", "false"),
            ("FACEID_TRUST_FORWARDED_FOR", "true"),
        ];
        vars.extend_from_slice(extra);
        crate::settings(&vars)
    }
}
