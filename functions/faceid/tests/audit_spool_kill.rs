//! The audit spool across a killed process: `faceid serve` answers requests while MongoDB
//! is down (their events are spooled to disk), is killed with SIGKILL before it can
//! deliver them, and a new process on the same spool directory delivers each event
//! exactly once after MongoDB is back. This is the "instance killed between spool and
//! delivery" case where the spool's storage survives the process (a server's disk, a
//! warm Lambda execution environment's /tmp); see the README for where it does not.

#[path = "../../../shared/storage/tests/common/servers.rs"]
mod servers;

use base64::Engine;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN: &str = "spool-test-admin-token-0123456789";
/// Requests sent while MongoDB is down; each writes one audit event.
const REQUESTS: u64 = 5;

fn spawn_server(port: u16, data: &Path, mongo_uri: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_faceid"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("FACEID_DATA_DIR", data)
        .env("FACEID_MONGODB_URI", mongo_uri)
        .env("FACEID_ADMIN_TOKEN", ADMIN)
        .env("FACEID_REQUIRE_LIVENESS", "false")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("faceid binary starts")
}

async fn wait_healthy(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{url}/healthz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("faceid serve did not become healthy at {url}");
}

async fn audit_documents(uri: &str) -> u64 {
    let Ok(client) = mongodb::Client::with_uri_str(uri).await else {
        return 0;
    };
    client
        .database("FaceAuthDB")
        .collection::<mongodb::bson::Document>("AuthLogs")
        .count_documents(mongodb::bson::doc! {})
        .await
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spooled_events_survive_a_killed_process_and_are_delivered_once() {
    let mut mongo = servers::OwnedMongo::start();
    let uri = mongo.uri();
    mongo.stop();
    let data = tempfile::tempdir().expect("tempdir");
    let port = servers::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    // MongoDB is down: enrollments of a photo without a face are refused (422) and
    // audited, through the spool.
    let mut server = spawn_server(port, data.path(), &uri);
    wait_healthy(&http, &url).await;
    let photo = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/images/pypi/coffee.png"),
    )
    .expect("fixture");
    let body = serde_json::json!({
        "images": [base64::engine::general_purpose::STANDARD.encode(&photo)]
    });
    for _ in 0..REQUESTS {
        let r = http
            .post(format!("{url}/v1/users/nobody/faces"))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status().as_u16(), 422, "a photo without a face");
    }
    // Killed before any delivery could happen (MongoDB is still down).
    server.kill().expect("SIGKILL");
    let _ = server.wait();

    mongo.restart();
    assert_eq!(audit_documents(&uri).await, 0, "nothing delivered yet");
    let mut server = spawn_server(port, data.path(), &uri);
    wait_healthy(&http, &url).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while audit_documents(&uri).await < REQUESTS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // One more flush period: a second delivery would show up as a duplicate.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let delivered = audit_documents(&uri).await;
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(
        delivered, REQUESTS,
        "every spooled event delivered, exactly once"
    );
}
