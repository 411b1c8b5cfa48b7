//! The audit spool under injected faults: an inner log that fails, hangs, or fails
//! half-way through a flush. The inner log is a real `FileAuditLog` behind a small
//! fault-injecting wrapper (the only mock in these tests).

mod common;

use common::{event, now_ms};
use faceid_core::audit::{AuditEvent, AuditQuery};
use faceid_core::ports::{AuditLog, StoreError, StoreResult};
use faceid_storage::{FileAuditLog, SpoolConfig, SpooledAuditLog};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Up,
    Fail,
    Hang,
}

/// Fault injection around a real log: `Fail` errors, `Hang` never answers, `Up` works.
/// `fail_after` lets exactly that many appends through before failing.
struct Faulty {
    inner: FileAuditLog,
    mode: std::sync::Mutex<Mode>,
    fail_after: std::sync::Mutex<Option<usize>>,
    appends: AtomicUsize,
}

impl Faulty {
    fn new(dir: &std::path::Path) -> Arc<Self> {
        Arc::new(Self {
            inner: FileAuditLog::open(dir).unwrap(),
            mode: std::sync::Mutex::new(Mode::Up),
            fail_after: std::sync::Mutex::new(None),
            appends: AtomicUsize::new(0),
        })
    }
    fn set(&self, m: Mode) {
        *self.mode.lock().unwrap() = m;
    }
    async fn stored(&self) -> Vec<AuditEvent> {
        let mut v = self
            .inner
            .query(&AuditQuery {
                limit: 500,
                ..Default::default()
            })
            .await
            .unwrap();
        v.reverse();
        v
    }
}

#[async_trait::async_trait]
impl AuditLog for Faulty {
    async fn append(&self, e: &AuditEvent) -> StoreResult<()> {
        let mode = *self.mode.lock().unwrap();
        {
            let mut budget = self.fail_after.lock().unwrap();
            if let Some(n) = budget.as_mut() {
                if *n == 0 {
                    return Err(StoreError::Unavailable("injected: budget spent".into()));
                }
                *n -= 1;
            }
        }
        match mode {
            Mode::Up => {
                self.appends.fetch_add(1, Ordering::SeqCst);
                self.inner.append(e).await
            }
            Mode::Fail => Err(StoreError::Unavailable("injected failure".into())),
            Mode::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
        }
    }
    async fn query(&self, q: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        self.inner.query(q).await
    }
}

fn config(dir: &std::path::Path) -> SpoolConfig {
    SpoolConfig {
        dir: dir.to_path_buf(),
        append_timeout: Duration::from_millis(300),
        backoff: Duration::from_secs(30),
    }
}

fn events(n: usize) -> Vec<AuditEvent> {
    let t0 = now_ms();
    (0..n)
        .map(|i| {
            event(
                "authenticate",
                Some("alice"),
                "success",
                t0 + time::Duration::milliseconds(i as i64),
            )
        })
        .collect()
}

#[tokio::test]
async fn failing_log_spools_every_event_and_flush_delivers_them_in_order_once() {
    let dir = tempfile::tempdir().unwrap();
    let inner = Faulty::new(&dir.path().join("inner"));
    let log = SpooledAuditLog::with_shared(Arc::clone(&inner), config(&dir.path().join("spool")))
        .unwrap();
    inner.set(Mode::Fail);
    let evs = events(25);
    for e in &evs {
        log.append(e)
            .await
            .expect("a failed log write never fails the request");
    }
    assert_eq!(log.pending().await.unwrap(), evs);
    assert!(inner.stored().await.is_empty());

    // While down, a flush delivers nothing and keeps everything.
    let r = log.flush_now().await.unwrap();
    assert_eq!((r.delivered, r.remaining), (0, 25));

    // Queries include not-yet-delivered events.
    let q = AuditQuery {
        limit: 5,
        ..Default::default()
    };
    let newest: Vec<_> = evs.iter().rev().take(5).cloned().collect();
    assert_eq!(log.query(&q).await.unwrap(), newest);

    inner.set(Mode::Up);
    let r = log.flush_now().await.unwrap();
    assert_eq!((r.delivered, r.remaining), (25, 0));
    assert_eq!(inner.stored().await, evs, "all delivered, in order");
    assert!(log.pending().await.unwrap().is_empty());
    assert_eq!(inner.appends.load(Ordering::SeqCst), 25);

    let r = log.flush_now().await.unwrap();
    assert_eq!(
        (r.delivered, r.remaining),
        (0, 0),
        "a second flush adds nothing"
    );
    assert_eq!(inner.appends.load(Ordering::SeqCst), 25);

    // Healthy again: appends go straight through (after the back-off is cleared).
    // Stamped after the batch (which runs up to 24 ms ahead of the clock), since the
    // log lists events by time.
    let last = evs.last().map(|e| e.at).unwrap_or_else(now_ms);
    let e = event(
        "authenticate",
        Some("bob"),
        "success",
        last + time::Duration::milliseconds(1),
    );
    log.append(&e).await.unwrap();
    assert!(log.pending().await.unwrap().is_empty());
    assert_eq!(inner.stored().await.last(), Some(&e));
}

#[tokio::test]
async fn a_hanging_log_costs_one_timeout_then_appends_go_to_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let inner = Faulty::new(&dir.path().join("inner"));
    let log = SpooledAuditLog::with_shared(Arc::clone(&inner), config(&dir.path().join("spool")))
        .unwrap();
    inner.set(Mode::Hang);
    let evs = events(10);
    let start = Instant::now();
    log.append(&evs[0]).await.unwrap();
    let first = start.elapsed();
    assert!(
        first >= Duration::from_millis(300) && first < Duration::from_secs(3),
        "{first:?}"
    );
    let start = Instant::now();
    for e in &evs[1..] {
        log.append(e).await.unwrap();
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "back-off skips the dead log: {:?}",
        start.elapsed()
    );
    assert_eq!(log.pending().await.unwrap(), evs);
}

#[tokio::test]
async fn a_flush_interrupted_half_way_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let inner = Faulty::new(&dir.path().join("inner"));
    let log = SpooledAuditLog::with_shared(Arc::clone(&inner), config(&dir.path().join("spool")))
        .unwrap();
    inner.set(Mode::Fail);
    let evs = events(10);
    for e in &evs {
        log.append(e).await.unwrap();
    }
    inner.set(Mode::Up);
    *inner.fail_after.lock().unwrap() = Some(4);
    let r = log.flush_now().await.unwrap();
    assert_eq!((r.delivered, r.remaining), (4, 6));
    assert_eq!(
        log.pending().await.unwrap(),
        evs[4..].to_vec(),
        "the undelivered rest, in order"
    );
    *inner.fail_after.lock().unwrap() = None;
    let r = log.flush_now().await.unwrap();
    assert_eq!((r.delivered, r.remaining), (6, 0));
    assert_eq!(inner.stored().await, evs);

    // A crash after delivery but before removal means redelivery: the spool line comes
    // back, and the idempotent inner log still holds each event once.
    let line = serde_json::to_string(&evs[2]).unwrap() + "\n";
    std::fs::write(log.spool_path(), line).unwrap();
    let r = log.flush_now().await.unwrap();
    assert_eq!((r.delivered, r.remaining), (1, 0));
    assert_eq!(inner.stored().await, evs);
}

#[tokio::test]
async fn spooled_events_survive_a_restart_and_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("spool");
    let evs = events(5);
    {
        let inner = Faulty::new(&dir.path().join("inner"));
        inner.set(Mode::Fail);
        let log = SpooledAuditLog::with_shared(inner, config(&spool_dir)).unwrap();
        for e in &evs[..4] {
            log.append(e).await.unwrap();
        }
        // The process dies mid-append: half a line at the end.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(log.spool_path())
            .unwrap();
        std::io::Write::write_all(&mut f, br#"{"event_id":"0f0e","at":"#).unwrap();
    }
    // A new process with a failing log appends one more event, then recovers.
    let inner = Faulty::new(&dir.path().join("inner"));
    inner.set(Mode::Fail);
    let log = SpooledAuditLog::with_shared(Arc::clone(&inner), config(&spool_dir)).unwrap();
    assert_eq!(log.pending().await.unwrap(), evs[..4].to_vec());
    log.append(&evs[4]).await.unwrap();
    assert_eq!(log.pending().await.unwrap(), evs);
    inner.set(Mode::Up);
    let r = log.flush_now().await.unwrap();
    assert_eq!((r.delivered, r.remaining), (5, 0));
    assert_eq!(inner.stored().await, evs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_flusher_delivers_once_the_log_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let inner = Faulty::new(&dir.path().join("inner"));
    let log = Arc::new(
        SpooledAuditLog::with_shared(Arc::clone(&inner), config(&dir.path().join("spool")))
            .unwrap(),
    );
    let flusher = log.spawn_flusher(Duration::from_millis(50));
    inner.set(Mode::Fail);
    let evs = events(8);
    for e in &evs {
        log.append(e).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        log.pending().await.unwrap().len(),
        8,
        "nothing delivered while down"
    );
    inner.set(Mode::Up);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log.pending().await.unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the flusher did not deliver the backlog"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    flusher.shutdown().await;
    assert_eq!(inner.stored().await, evs);
}
