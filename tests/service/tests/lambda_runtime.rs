//! The real `enroll` and `authenticate` binaries, run as AWS Lambda runs a
//! `provided.al2023` function: a child process with Lambda's environment, polling the
//! Lambda Runtime API for events. The Runtime API is a small emulator in this file; the
//! functions' stores are moto_server (DynamoDB, S3, SSM) and nx-27017 (MongoDB), reached
//! with the variables `infra/template.yaml` sets (secrets from SSM parameters) plus the
//! emulator endpoint.
//!
//! The binaries are the ones cargo builds into the target directory; scripts/test.sh
//! builds them before the tests (`cargo build -p enroll -p authenticate`).

#[path = "../../../shared/storage/tests/common/servers.rs"]
mod servers;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use faceid_core::capture::CapturePlan;
use faceid_core::ports::{ChallengeStore, TemplateStore};
use faceid_core::screen_light::Light;
use faceid_core::{Challenge, ChallengeId, Turn, UserId};
use faceid_service_tests::lambda::{
    apigw, http_parts, put_upload, run_suffix, s3_event, wait_until, MotoBackends, TEST_TOKEN_SEED,
};
use faceid_service_tests::{b64, fixture, framed_face, ADMIN_TOKEN};
use faceid_testkit::{HeadModel, HeadPose, ScreenLight};
use mongodb::bson::{doc, Document};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

/// Longest wait for one invocation, start-up (model loading) included.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);
/// The template's `Timeout`: what the deadline header says.
const FUNCTION_TIMEOUT_MS: u64 = 29_000;

// ---------------------------------------------------------------------------------------
// Lambda Runtime API emulator (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)
// ---------------------------------------------------------------------------------------

/// How an invocation ended, as the function reported it.
#[derive(Debug)]
enum Outcome {
    /// `POST /invocation/{id}/response`: the handler's JSON answer.
    Response(Value),
    /// `POST /invocation/{id}/error`: `{errorType, errorMessage}`.
    Error(Value),
}

struct Queued {
    request_id: String,
    event: Value,
    done: oneshot::Sender<Outcome>,
}

/// One function's Runtime API: `next` hands out queued events one at a time (long poll),
/// `response` / `error` complete them, `init/error` records a failed start.
struct RuntimeApi {
    function_arn: String,
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<Value>>,
}

async fn next(State(api): State<Arc<RuntimeApi>>) -> Response {
    let Some(q) = api.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    api.in_flight
        .lock()
        .unwrap()
        .insert(q.request_id.clone(), q.done);
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let headers = [
        ("Lambda-Runtime-Aws-Request-Id", q.request_id.clone()),
        (
            "Lambda-Runtime-Deadline-Ms",
            (now_ms + FUNCTION_TIMEOUT_MS).to_string(),
        ),
        (
            "Lambda-Runtime-Invoked-Function-Arn",
            api.function_arn.clone(),
        ),
        (
            "Lambda-Runtime-Trace-Id",
            format!("Root=1-{:08x}-{};Sampled=0", now_ms / 1000, q.request_id),
        ),
    ];
    (headers, axum::Json(q.event)).into_response()
}

fn complete(
    api: &RuntimeApi,
    id: &str,
    outcome: impl FnOnce(Value) -> Outcome,
    body: &[u8],
) -> StatusCode {
    let Some(done) = api.in_flight.lock().unwrap().remove(id) else {
        return StatusCode::BAD_REQUEST; // unknown or already answered request id
    };
    let value =
        serde_json::from_slice(body).unwrap_or_else(|_| json!(String::from_utf8_lossy(body)));
    let _ = done.send(outcome(value));
    StatusCode::ACCEPTED
}

async fn response(
    State(api): State<Arc<RuntimeApi>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    complete(&api, &id, Outcome::Response, &body)
}

async fn error(
    State(api): State<Arc<RuntimeApi>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let kind = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    complete(
        &api,
        &id,
        |mut v| {
            v["errorTypeHeader"] = json!(kind);
            Outcome::Error(v)
        },
        &body,
    )
}

async fn init_error(State(api): State<Arc<RuntimeApi>>, body: Bytes) -> StatusCode {
    let v = serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body)));
    *api.init_error.lock().unwrap() = Some(v);
    StatusCode::ACCEPTED
}

/// Serves a Runtime API on a random loopback port; returns its `host:port` and the
/// sender that queues events.
async fn start_runtime_api(
    function_name: &str,
) -> (String, Arc<RuntimeApi>, mpsc::UnboundedSender<Queued>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let api = Arc::new(RuntimeApi {
        function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
        queue: tokio::sync::Mutex::new(rx),
        in_flight: Mutex::default(),
        init_error: Mutex::default(),
    });
    let base = "/2018-06-01/runtime";
    let app = axum::Router::new()
        .route(&format!("{base}/invocation/next"), get(next))
        .route(
            &format!("{base}/invocation/{{id}}/response"),
            post(response),
        )
        .route(&format!("{base}/invocation/{{id}}/error"), post(error))
        .route(&format!("{base}/init/error"), post(init_error))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, api, tx)
}

// ---------------------------------------------------------------------------------------
// A function process under that API
// ---------------------------------------------------------------------------------------

/// `target/<profile>/<name>`, next to this test's `target/<profile>/deps/` directory.
/// Fails if it is missing, or older than a source file it was built from (the list
/// cargo writes beside it, `<name>.d`): this test would then run stale code.
fn function_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("test executable in target/<profile>/deps");
    let bin = profile_dir.join(name);
    let build = "run `cargo build -p enroll -p authenticate` (scripts/test.sh does) with the same CARGO_TARGET_DIR";
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing: {build}", bin.display()));
    let dep_info = std::fs::read_to_string(bin.with_extension("d"))
        .unwrap_or_else(|e| panic!("{}.d: {e}: {build}", bin.display()));
    let sources = dep_info.split_once(": ").map_or("", |(_, s)| s);
    for source in sources.split_whitespace() {
        let changed = std::fs::metadata(source).and_then(|m| m.modified());
        assert!(
            changed.is_ok_and(|t| t <= built),
            "{} is older than {source}, or that file is gone: {build}",
            bin.display()
        );
    }
    bin
}

/// A Lambda function process and its Runtime API.
struct Function {
    name: &'static str,
    api: Arc<RuntimeApi>,
    events: mpsc::UnboundedSender<Queued>,
    child: tokio::process::Child,
    stdout: PathBuf,
    stderr: PathBuf,
    invocations: u32,
    /// The `Lambda-Runtime-Aws-Request-Id` of the latest invocation.
    last_request_id: String,
}

impl Function {
    /// Starts `binary` as Lambda would: an environment of Lambda's own variables plus
    /// the function's (`vars`), nothing inherited from this process, in `task_root`.
    async fn start(
        name: &'static str,
        task_root: &std::path::Path,
        logs: &std::path::Path,
        vars: &[(&str, &str)],
    ) -> Self {
        let (addr, api, events) = start_runtime_api(name).await;
        let stdout = logs.join(format!("{name}.stdout"));
        let stderr = logs.join(format!("{name}.stderr"));
        let mut cmd = tokio::process::Command::new(function_binary(name));
        cmd.env_clear()
            .current_dir(task_root)
            .envs([
                ("AWS_LAMBDA_RUNTIME_API", addr.as_str()),
                ("AWS_LAMBDA_FUNCTION_NAME", name),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769"),
                ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
                ("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{name}")),
                (
                    "AWS_LAMBDA_LOG_STREAM_NAME",
                    "2026/11/25/[$LATEST]0123456789abcdef",
                ),
                ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
                ("_HANDLER", "bootstrap"),
                ("LAMBDA_TASK_ROOT", &task_root.to_string_lossy()),
                ("TZ", ":UTC"),
                ("LANG", "en_US.UTF-8"),
                ("PATH", "/usr/local/bin:/usr/bin:/bin"),
                // The execution role's temporary credentials; moto accepts any.
                ("AWS_REGION", "us-east-1"),
                ("AWS_DEFAULT_REGION", "us-east-1"),
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
                ("AWS_SESSION_TOKEN", "testing"),
            ])
            .envs(vars.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self {
            name,
            api,
            events,
            child,
            stdout,
            stderr,
            invocations: 0,
            last_request_id: String::new(),
        }
    }

    fn logs(&self) -> String {
        let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        let tail = |s: String| s[s.len().saturating_sub(4000)..].to_owned();
        format!(
            "--- {} stdout:\n{}\n--- stderr:\n{}",
            self.name,
            tail(read(&self.stdout)),
            tail(read(&self.stderr))
        )
    }

    /// Delivers one event and waits for the function's answer.
    async fn invoke(&mut self, event: Value) -> Outcome {
        self.invocations += 1;
        let request_id = format!("{}-{:04}", run_suffix(), self.invocations);
        let (done, answer) = oneshot::channel();
        self.last_request_id = request_id.clone();
        self.events
            .send(Queued {
                request_id,
                event,
                done,
            })
            .unwrap();
        tokio::select! {
            outcome = answer => outcome.expect("runtime API dropped the invocation"),
            status = self.child.wait() => panic!(
                "{} exited ({status:?}) instead of answering; init error: {:?}\n{}",
                self.name, self.api.init_error.lock().unwrap(), self.logs()
            ),
            _ = tokio::time::sleep(INVOKE_TIMEOUT) => panic!(
                "{} did not answer within {INVOKE_TIMEOUT:?}\n{}", self.name, self.logs()
            ),
        }
    }

    /// Invokes with an API Gateway event; the HTTP status and JSON body.
    async fn http(&mut self, event: Value) -> (u16, Value) {
        match self.invoke(event).await {
            Outcome::Response(v) => http_parts(v),
            Outcome::Error(e) => {
                panic!("{} failed the invocation: {e}\n{}", self.name, self.logs())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------

/// Frames of `obama.jpg` turning its head and nodding as `steps` asks after `phase` still
/// frames (the light phase), frame `i` lit by `lights[i]` (what the web page records for a
/// challenge; the same synthesis as the liveness tests).
fn head_turn_frames(steps: &Value, lights: &Value, phase: usize) -> Vec<String> {
    // The light phase and the front, then each move to its peak and back (yaw +: the
    // person's left; pitch +: looking up).
    let mut poses = vec![HeadPose::default(); phase + 1];
    for step in steps.as_array().expect("steps") {
        let [a, b] = match step.as_str() {
            Some("left") => [HeadPose::yaw(20.0), HeadPose::yaw(36.0)],
            Some("right") => [HeadPose::yaw(-20.0), HeadPose::yaw(-30.0)],
            Some("up") => [HeadPose::pitch(15.0), HeadPose::pitch(17.0)],
            _ => panic!("unexpected challenge step {step}"),
        };
        poses.extend([a, b, HeadPose::default()]);
    }
    let lights: Vec<Light> = lights
        .as_array()
        .expect("the challenge carries screen-light colours")
        .iter()
        .map(|l| Light::parse(l.as_str().unwrap()).expect("a known colour"))
        .collect();
    let (photo, landmarks) = framed_face("face_recognition/obama.jpg", "obama.json");
    let head = HeadModel::new(&landmarks, Default::default()).unwrap();
    poses
        .iter()
        .zip(&lights)
        .map(|(&pose, light)| {
            let frame = head.render_pose(&photo, pose);
            let face = head.project_landmarks_pose(&landmarks, pose);
            let lit = ScreenLight::default().apply(&frame, &face, light.rgb());
            let mut jpeg = std::io::Cursor::new(Vec::new());
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
                .encode_image(&lit)
                .unwrap();
            b64(&jpeg.into_inner())
        })
        .collect()
}

async fn put_ssm(ssm: &aws_sdk_ssm::Client, name: &str, value: &str) {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap_or_else(|e| panic!("moto SSM put {name}: {e:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_binaries_under_the_lambda_runtime_api() {
    let started = Instant::now();
    let endpoint = servers::moto_endpoint().to_owned();
    let mongo_uri = servers::mongo_uri().to_owned();
    let aws = MotoBackends::create(&endpoint).await;
    let suffix = run_suffix();
    let (alice, bob) = (format!("alice-{suffix}"), format!("bob-{suffix}"));

    // The template's secrets, as SSM SecureString parameters (moto serves SSM too).
    let sdk = faceid_storage::load_sdk_config(&faceid_storage::AwsSettings {
        endpoint_url: Some(endpoint.clone()),
        ..Default::default()
    })
    .await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let param = |what: &str| format!("/faceid-{suffix}/{what}");
    put_ssm(&ssm, &param("admin-token"), ADMIN_TOKEN).await;
    put_ssm(&ssm, &param("token-key"), TEST_TOKEN_SEED).await;
    put_ssm(&ssm, &param("mongodb-uri"), &mongo_uri).await;
    let public_key = faceid_wiring::public_key_of(TEST_TOKEN_SEED).unwrap();

    let dir = tempfile::tempdir().unwrap();
    // The functions' read-only /var/task: nothing may be written there.
    let task_root = dir.path().join("task");
    std::fs::create_dir(&task_root).unwrap();
    let (enroll_spool, auth_spool) = (
        dir.path().join("enroll-spool"),
        dir.path().join("auth-spool"),
    );
    let (enroll_spool, auth_spool) = (enroll_spool.to_string_lossy(), auth_spool.to_string_lossy());
    let (admin_param, key_param, mongo_param) = (
        param("admin-token"),
        param("token-key"),
        param("mongodb-uri"),
    );
    // infra/template.yaml's Globals; FACEID_SPOOL_DIR is /tmp/faceid-spool there, one per
    // function here; FACEID_AWS_ENDPOINT points the SDK at moto (not set when deployed).
    let globals = [
        ("RUST_LOG", "info"),
        ("FACEID_TABLE", aws.table.as_str()),
        ("FACEID_BUCKET", aws.bucket.as_str()),
        ("FACEID_MONGODB_URI_SSM", mongo_param.as_str()),
        ("FACEID_CORS_ORIGIN", "https://login.example.com"),
        ("FACEID_TRUST_FORWARDED_FOR", "true"),
        ("FACEID_AWS_ENDPOINT", endpoint.as_str()),
    ];
    let mut enroll_vars = globals.to_vec();
    enroll_vars.extend([
        ("FACEID_ADMIN_TOKEN_SSM", admin_param.as_str()),
        ("FACEID_TOKEN_PUBLIC_KEY", public_key.as_str()),
        ("FACEID_SPOOL_DIR", &enroll_spool),
    ]);
    let mut auth_vars = globals.to_vec();
    auth_vars.extend([
        ("FACEID_TOKEN_KEY_SSM", key_param.as_str()),
        ("FACEID_SPOOL_DIR", &auth_spool),
    ]);
    let mut enroll = Function::start("enroll", &task_root, dir.path(), &enroll_vars).await;
    let mut authenticate =
        Function::start("authenticate", &task_root, dir.path(), &auth_vars).await;

    // Enroll through API Gateway: two photos for alice.
    let body = json!({"images": [b64(&fixture("face_recognition/obama.jpg")), b64(&fixture("face_recognition/obama2.jpg"))]});
    let (st, r) = enroll
        .http(apigw(
            "POST",
            &format!("/v1/users/{alice}/faces"),
            Some(body),
            Some(ADMIN_TOKEN),
        ))
        .await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["faces"].as_array().map(Vec::len), Some(2), "{r}");
    let alice_id = UserId::parse(&alice).unwrap();
    assert_eq!(aws.dynamo.user_templates(&alice_id).await.unwrap().len(), 2);
    let photos = aws
        .s3
        .client()
        .list_objects_v2()
        .bucket(&aws.bucket)
        .prefix(format!("photos/{alice}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(photos.key_count(), Some(2), "{photos:?}");

    // Enroll through S3: a presigned upload for bob, then its ObjectCreated event.
    let (st, up) = enroll
        .http(apigw(
            "POST",
            "/v1/uploads",
            Some(json!({"user_id": bob})),
            Some(ADMIN_TOKEN),
        ))
        .await;
    assert_eq!(st, 201, "{up}");
    let key = up["key"].as_str().expect("key").to_owned();
    let etag = put_upload(&up, fixture("face_recognition/biden.jpg")).await;
    let Outcome::Response(out) = enroll.invoke(s3_event(&aws.bucket, &key, &etag)).await else {
        panic!("S3 event failed\n{}", enroll.logs());
    };
    assert_eq!(out["outcomes"][0]["outcome"], "success", "{out}");
    let s3_request_id = enroll.last_request_id.clone();
    let bob_id = UserId::parse(&bob).unwrap();
    assert_eq!(aws.dynamo.user_templates(&bob_id).await.unwrap().len(), 1);

    // An event the function cannot read is reported on /error, and the process goes on.
    let failed = enroll.invoke(json!({"Records": "not a list"})).await;
    assert!(
        matches!(&failed, Outcome::Error(e) if e["errorMessage"].as_str().is_some_and(|m| m.contains("deserialize"))),
        "{failed:?}"
    );

    // Log in: a challenge, then head-turn frames lit by its colours, 1:1 against alice.
    // (One without a nod down: the testkit's head looking down is seen by dlib's landmarks
    // less than a real one; ask again until it comes, 1 in 3.)
    let mut c = Value::Null;
    for _ in 0..100 {
        let (st, next) = authenticate
            .http(apigw("POST", "/v1/challenge", None, None))
            .await;
        assert_eq!(st, 201, "{next}");
        c = next;
        if !c["steps"].as_array().unwrap().contains(&json!("down")) {
            break;
        }
    }
    // The page answers once its frames are taken, 13–16 s after the challenge: rather
    // than wait, the stored challenge's issue time is moved back by that span.
    let steps: Vec<Turn> = serde_json::from_value(c["steps"].clone()).unwrap();
    let phase = c["light_phase_frames"].as_u64().unwrap() as usize;
    let max_frames = c["max_frames"].as_u64().unwrap() as usize;
    let span = CapturePlan::new(steps.len(), phase, max_frames).capture_span();
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    let stored = Challenge {
        id: ChallengeId::parse(c["challenge_id"].as_str().unwrap()).unwrap(),
        steps,
        lights: serde_json::from_value(c["lights"].clone()).unwrap(),
        issued_at: time::OffsetDateTime::now_utc() - span,
        expires_at: time::OffsetDateTime::parse(c["expires_at"].as_str().unwrap(), rfc3339)
            .unwrap(),
    };
    aws.dynamo.put_challenge(&stored).await.unwrap();
    let mut login = apigw(
        "POST",
        "/v1/authenticate",
        Some(json!({
            "challenge_id": c["challenge_id"],
            "user_id": alice,
            "frames": head_turn_frames(&c["steps"], &c["lights"], phase),
        })),
        None,
    );
    login["headers"]["x-request-id"] = json!("chosen-by-the-caller");
    let (st, r) = authenticate.http(login.clone()).await;
    assert_eq!(
        (st, &r["authenticated"], &r["user_id"]),
        (200, &json!(true), &json!(alice)),
        "{r}"
    );
    let login_request_id = authenticate.last_request_id.clone();
    let token = r["token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .expect("a session token")
        .to_owned();
    // The same request again: the challenge is single-use.
    let (st, r) = authenticate.http(login).await;
    assert_eq!((st, &r["reason"]), (401, &json!("challenge_used")), "{r}");

    // The session works on both functions: the authenticate one signed it with the key
    // from SSM, the enroll one verifies it with the public key alone.
    let (st, r) = authenticate
        .http(apigw("GET", "/v1/session", None, Some(&token)))
        .await;
    assert_eq!(
        (st, &r["valid"], &r["user_id"]),
        (200, &json!(true), &json!(alice)),
        "{r}"
    );
    let (st, r) = enroll
        .http(apigw(
            "POST",
            "/v1/uploads",
            Some(json!({"user_id": alice})),
            Some(&token),
        ))
        .await;
    assert_eq!(
        st, 201,
        "own session must be accepted by the enroll function: {r}"
    );

    // The audit log in MongoDB (the URI came from SSM): one event per outcome above.
    let client = mongodb::Client::with_uri_str(&mongo_uri).await.unwrap();
    let audit = client
        .database("FaceAuthDB")
        .collection::<Document>("AuthLogs");
    let expected = [
        doc! {"event": "enroll", "user_id": &alice, "outcome": "success"},
        doc! {"event": "enroll_s3", "user_id": &bob, "outcome": "success"},
        // Under Lambda's request id, whatever x-request-id the caller sent.
        doc! {"event": "authenticate", "user_id": &alice, "outcome": "success",
        "request_id": &login_request_id},
        doc! {"event": "authenticate", "outcome": "rejected", "reason": "challenge_used"},
    ];
    let all_there = || async {
        for filter in &expected {
            if audit.count_documents(filter.clone()).await.unwrap_or(0) == 0 {
                return false;
            }
        }
        true
    };
    wait_until(all_there).await;
    for filter in &expected {
        assert!(
            audit.find_one(filter.clone()).await.unwrap().is_some(),
            "no audit event {filter} in MongoDB\n{}\n{}",
            enroll.logs(),
            authenticate.logs()
        );
    }

    // Lambda's conventions: structured (JSON) logs on stdout, each under the request id
    // the Runtime API gave its invocation; nothing written into the task root.
    let mut lines = Vec::new();
    for f in [&enroll, &authenticate] {
        let out = std::fs::read_to_string(&f.stdout).unwrap();
        for line in out.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|_| panic!("{}: a log line that is not JSON: {line}", f.name));
            assert!(v.get("level").is_some(), "{}: {line}", f.name);
            lines.push(v);
        }
        assert!(f.api.init_error.lock().unwrap().is_none(), "{}", f.logs());
    }
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "S3 upload processed"
                && l["span"]["requestId"] == s3_request_id.as_str()),
        "no log line of the S3 invocation under its request id {s3_request_id}\n{}",
        enroll.logs()
    );
    let written: Vec<_> = std::fs::read_dir(&task_root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        written.is_empty(),
        "the functions wrote into their task root: {written:?}"
    );
    eprintln!("lambda_runtime: {:?}", started.elapsed());
}

/// A bad setting stops the function at start, before it asks for an event, with a
/// message naming the variable (Lambda shows it as the init failure).
#[tokio::test]
async fn a_bad_setting_stops_the_function_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Function::start(
        "authenticate",
        dir.path(),
        dir.path(),
        &[("FACEID_DETECTOR", "sift")],
    )
    .await;
    let status = tokio::time::timeout(Duration::from_secs(60), f.child.wait())
        .await
        .expect("the function must exit")
        .unwrap();
    assert!(!status.success());
    let logs = f.logs();
    assert!(logs.contains("FACEID_DETECTOR"), "{logs}");
    // Lambda learns why: the reason is posted to /init/error, not just printed.
    let reported = f.api.init_error.lock().unwrap().clone();
    let message = reported.as_ref().and_then(|v| v["errorMessage"].as_str());
    assert!(
        message.is_some_and(|m| m.contains("FACEID_DETECTOR")),
        "{reported:?}\n{logs}"
    );
}
