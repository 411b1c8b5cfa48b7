//! The spool in front of a real MongoDB-wire server that really goes away: nx-27017 is
//! killed by PID while events are appended, started again on the same port, and the
//! spool is flushed. Exactly the spooled events arrive, each once.

mod common;

use common::{event, now_ms, servers::OwnedMongo};
use faceid_core::audit::AuditQuery;
use faceid_core::ports::AuditLog;
use faceid_storage::mongo::{MongoAuditConfig, MongoAuditLog};
use faceid_storage::{SpoolConfig, SpooledAuditLog};
use mongodb::bson::doc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const N: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_written_while_mongo_is_down_arrive_exactly_once_after_restart() {
    let mut server = OwnedMongo::start();
    let mut config = MongoAuditConfig::new(server.uri());
    config.server_selection_timeout = Duration::from_millis(800);
    config.connect_timeout = Duration::from_millis(800);
    config.collection = format!("AuthLogs_{}", uuid::Uuid::new_v4().simple());
    let mongo = Arc::new(MongoAuditLog::connect(&config).await.unwrap());
    let spool_dir = tempfile::tempdir().unwrap();
    let log = SpooledAuditLog::with_shared(
        Arc::clone(&mongo),
        SpoolConfig {
            dir: spool_dir.path().to_path_buf(),
            append_timeout: Duration::from_secs(2),
            backoff: Duration::from_secs(30),
        },
    )
    .unwrap();
    let count = || async { mongo.collection().count_documents(doc! {}).await.unwrap() };

    // Up: appends go straight to MongoDB.
    let warmup = event("challenge", None, "success", now_ms());
    log.append(&warmup).await.unwrap();
    assert_eq!(count().await, 1);
    assert!(log.pending().await.unwrap().is_empty());

    // Down (the in-memory server loses its data too): every append still succeeds.
    let pid = server.pid().expect("running");
    server.stop();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", server.port)).is_err(),
        "nx-27017 (pid {pid}) still answers after being killed"
    );
    let t0 = now_ms();
    let evs: Vec<_> = (0..N)
        .map(|i| {
            event(
                "authenticate",
                Some("alice"),
                if i % 4 == 0 { "rejected" } else { "success" },
                t0 + time::Duration::milliseconds(i as i64),
            )
        })
        .collect();
    let start = Instant::now();
    for e in &evs {
        log.append(e)
            .await
            .expect("a failed log write never fails the request");
    }
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "appends while down took {:?}",
        start.elapsed()
    );
    assert_eq!(log.pending().await.unwrap(), evs, "all spooled, in order");
    let r = log.flush_now().await.unwrap();
    assert_eq!((r.delivered, r.remaining), (0, N));

    // Back on the same port; the driver reconnects on its own.
    server.restart();
    let mut delivered = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = log.flush_now().await.unwrap();
        delivered += r.delivered;
        if r.remaining == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "spool not delivered after restart: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(delivered, N);
    assert_eq!(
        count().await,
        N as u64,
        "exactly the spooled events arrived"
    );

    let r = log.flush_now().await.unwrap();
    assert_eq!((r.delivered, r.remaining), (0, 0));
    assert_eq!(count().await, N as u64, "a second flush adds nothing");

    // Redelivery after a crash between delivery and spool cleanup: still N documents.
    let again: String = evs[..3]
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    std::fs::write(log.spool_path(), again).unwrap();
    let r = log.flush_now().await.unwrap();
    assert_eq!((r.delivered, r.remaining), (3, 0));
    assert_eq!(count().await, N as u64);

    // What arrived is what was written.
    let got = log
        .query(&AuditQuery {
            user_id: Some("alice".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let want: Vec<_> = evs.iter().rev().cloned().collect();
    assert_eq!(got, want);
}
