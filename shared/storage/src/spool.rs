//! [`SpooledAuditLog`]: an audit log that never fails a request and never loses an event.
//!
//! `append` tries the inner log (MongoDB) with a short timeout. If that fails, the event
//! goes to a local spool file (JSON lines, fsynced) and `append` returns `Ok`. While the
//! inner log is known to be down, appends go straight to the spool for a while so every
//! request does not pay the timeout. A flusher redelivers spooled events in order and
//! removes them only after the inner log accepted them; the inner log is idempotent on
//! `event_id`, so a crash between delivery and removal causes a harmless redelivery:
//! nothing is lost, nothing is stored twice.

use crate::embedded::newest_first;
use crate::fsutil::{atomic_write, ensure_dir, io_err, LockFile};
use faceid_core::audit::{AuditEvent, AuditQuery};
use faceid_core::ports::{AuditLog, StoreError, StoreResult};
use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Where Lambda functions keep their spool (the only writable directory there).
pub const LAMBDA_SPOOL_DIR: &str = "/tmp/faceid-spool";

/// Spool settings.
#[derive(Debug, Clone)]
pub struct SpoolConfig {
    pub dir: PathBuf,
    /// How long `append` waits for the inner log before spooling.
    pub append_timeout: Duration,
    /// After a failure, appends skip the inner log for this long (the flusher keeps
    /// probing it).
    pub backoff: Duration,
}

impl SpoolConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            append_timeout: Duration::from_millis(1500),
            backoff: Duration::from_secs(15),
        }
    }
}

/// What one flush did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushReport {
    pub delivered: usize,
    pub remaining: usize,
}

/// The spool file. Appends add complete lines; a flush rewrites the file without the
/// delivered prefix. Both hold the lock (mutex + `flock`).
#[derive(Debug)]
struct SpoolFile {
    path: PathBuf,
    lock: Mutex<LockFile>,
}

/// Parses spool bytes: complete lines only (a torn tail from a crash mid-append is
/// left for the next append to cut off). Unparsable lines are returned separately.
fn parse_lines(bytes: &[u8]) -> (Vec<AuditEvent>, Vec<Vec<u8>>, usize) {
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut events = Vec::new();
    let mut bad = Vec::new();
    for line in bytes[..complete].split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<AuditEvent>(line) {
            Ok(e) => events.push(e),
            Err(_) => bad.push(line.to_vec()),
        }
    }
    (events, bad, complete)
}

impl SpoolFile {
    fn open(dir: &Path) -> StoreResult<Self> {
        ensure_dir(dir)?;
        Ok(Self {
            path: dir.join("audit-spool.jsonl"),
            lock: Mutex::new(LockFile::open(dir.join(".lock"))?),
        })
    }

    fn locked<T>(&self, f: impl FnOnce() -> StoreResult<T>) -> StoreResult<T> {
        let lock = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let _guard = lock.lock()?;
        f()
    }

    fn read(&self) -> StoreResult<Vec<u8>> {
        Ok(crate::fsutil::read_optional(&self.path)?.unwrap_or_default())
    }

    fn append(&self, event: &AuditEvent) -> StoreResult<()> {
        let mut line = serde_json::to_vec(event).map_err(|e| StoreError::Other(e.to_string()))?;
        line.push(b'\n');
        self.locked(|| {
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| io_err(&self.path, e))?;
            let len = f.metadata().map_err(|e| io_err(&self.path, e))?.len();
            if len > 0 {
                // Cut a torn tail left by a crash, so this line starts on its own.
                let bytes = self.read()?;
                if bytes.last() != Some(&b'\n') {
                    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                    f.set_len(keep as u64).map_err(|e| io_err(&self.path, e))?;
                }
            }
            f.write_all(&line)
                .and_then(|_| f.sync_data())
                .map_err(|e| io_err(&self.path, e))
        })
    }

    fn events(&self) -> StoreResult<Vec<AuditEvent>> {
        self.locked(|| Ok(parse_lines(&self.read()?).0))
    }

    /// Removes the first `delivered` events (the ones a flush just delivered; appends
    /// only add at the end, so they are still the prefix). Corrupt lines move to
    /// `audit-spool.bad` for a human to look at.
    fn remove_delivered(&self, delivered: &HashSet<uuid::Uuid>) -> StoreResult<usize> {
        self.locked(|| {
            let bytes = self.read()?;
            let (events, bad, complete) = parse_lines(&bytes);
            if !bad.is_empty() {
                let bad_path = self.path.with_extension("bad");
                let mut f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&bad_path)
                    .map_err(|e| io_err(&bad_path, e))?;
                for line in &bad {
                    f.write_all(line)
                        .and_then(|_| f.write_all(b"\n"))
                        .map_err(|e| io_err(&bad_path, e))?;
                }
                f.sync_data().map_err(|e| io_err(&bad_path, e))?;
                tracing::error!(count = bad.len(), path = %bad_path.display(), "moved unreadable spooled audit lines aside");
            }
            let mut rest = Vec::new();
            let mut remaining = 0;
            for e in events.iter().filter(|e| !delivered.contains(&e.event_id)) {
                rest.extend(serde_json::to_vec(e).map_err(|e| StoreError::Other(e.to_string()))?);
                rest.push(b'\n');
                remaining += 1;
            }
            // Keep a torn tail (an append in progress cannot exist: we hold the lock;
            // it is crash debris the next append cuts off).
            rest.extend_from_slice(&bytes[complete..]);
            atomic_write(&self.path, &rest)?;
            Ok(remaining)
        })
    }
}

/// Runs blocking spool I/O off the async executor.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Other(format!("spool task failed: {e}")))?
}

/// The decorator (see the module docs).
pub struct SpooledAuditLog<A> {
    inner: Arc<A>,
    spool: Arc<SpoolFile>,
    config: SpoolConfig,
    /// Appends skip the inner log until then.
    down_until: Mutex<Option<Instant>>,
    /// One flush at a time.
    flushing: tokio::sync::Mutex<()>,
    /// Wakes the flusher when the inner log answers again.
    wake: Notify,
    /// The spool may hold events (set when spooling, cleared by an emptying flush).
    maybe_pending: AtomicBool,
}

impl<A> std::fmt::Debug for SpooledAuditLog<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpooledAuditLog")
            .field("spool", &self.spool.path)
            .finish_non_exhaustive()
    }
}

impl<A: AuditLog + 'static> SpooledAuditLog<A> {
    pub fn new(inner: A, config: SpoolConfig) -> StoreResult<Self> {
        Self::with_shared(Arc::new(inner), config)
    }

    pub fn with_shared(inner: Arc<A>, config: SpoolConfig) -> StoreResult<Self> {
        Ok(Self {
            inner,
            spool: Arc::new(SpoolFile::open(&config.dir)?),
            config,
            down_until: Mutex::new(None),
            flushing: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            // A previous process may have left events behind.
            maybe_pending: AtomicBool::new(true),
        })
    }

    pub fn inner(&self) -> &A {
        &self.inner
    }

    /// Path of the spool file.
    pub fn spool_path(&self) -> &Path {
        &self.spool.path
    }

    /// Events waiting in the spool, oldest first.
    pub async fn pending(&self) -> StoreResult<Vec<AuditEvent>> {
        let spool = Arc::clone(&self.spool);
        blocking(move || spool.events()).await
    }

    fn inner_is_down(&self) -> bool {
        let d = self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        d.is_some_and(|t| Instant::now() < t)
    }

    fn mark(&self, up: bool) {
        let mut d = self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        *d = if up {
            None
        } else {
            Some(Instant::now() + self.config.backoff)
        };
    }

    async fn try_inner(&self, event: &AuditEvent) -> StoreResult<()> {
        match tokio::time::timeout(self.config.append_timeout, self.inner.append(event)).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Unavailable("audit log append timed out".into())),
        }
    }

    /// Delivers spooled events in order until the first failure; removes the delivered
    /// ones from the spool afterwards.
    pub async fn flush_now(&self) -> StoreResult<FlushReport> {
        let _one = self.flushing.lock().await;
        let events = self.pending().await?;
        if events.is_empty() {
            self.maybe_pending.store(false, Ordering::Relaxed);
            return Ok(FlushReport::default());
        }
        let mut delivered = HashSet::new();
        let mut failure = None;
        for e in &events {
            match self.try_inner(e).await {
                Ok(()) => {
                    delivered.insert(e.event_id);
                }
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
        }
        self.mark(failure.is_none());
        let remaining = if delivered.is_empty() {
            events.len()
        } else {
            let spool = Arc::clone(&self.spool);
            let ids = delivered.clone();
            blocking(move || spool.remove_delivered(&ids)).await?
        };
        if remaining == 0 {
            self.maybe_pending.store(false, Ordering::Relaxed);
        }
        if let Some(err) = failure {
            tracing::warn!(error = %err, delivered = delivered.len(), remaining, "audit spool flush stopped");
        }
        Ok(FlushReport {
            delivered: delivered.len(),
            remaining,
        })
    }

    /// Starts a background task that flushes every `interval` (and soon after the inner
    /// log answers again). The task holds only a weak reference: it ends when the log
    /// is dropped or [`FlusherHandle::shutdown`] is called.
    pub fn spawn_flusher(self: &Arc<Self>, interval: Duration) -> FlusherHandle {
        let weak = Arc::downgrade(self);
        let stop = Arc::new(Notify::new());
        let stop_rx = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            loop {
                let Some(log) = weak.upgrade() else { return };
                tokio::select! {
                    _ = stop_rx.notified() => return,
                    _ = tokio::time::sleep(interval) => {}
                    _ = log.wake.notified() => {}
                }
                if let Err(e) = log.flush_now().await {
                    tracing::warn!(error = %e, "audit spool flush failed");
                }
            }
        });
        FlusherHandle { task, stop }
    }
}

/// Handle of the background flusher.
#[derive(Debug)]
pub struct FlusherHandle {
    task: tokio::task::JoinHandle<()>,
    stop: Arc<Notify>,
}

impl FlusherHandle {
    /// Stops the task (after a flush in progress). Call [`SpooledAuditLog::flush_now`]
    /// afterwards for a last delivery attempt at shutdown.
    pub async fn shutdown(self) {
        self.stop.notify_one();
        let _ = self.task.await;
    }
}

#[async_trait::async_trait]
impl<A: AuditLog + 'static> AuditLog for SpooledAuditLog<A> {
    async fn append(&self, event: &AuditEvent) -> StoreResult<()> {
        if !self.inner_is_down() {
            match self.try_inner(event).await {
                Ok(()) => {
                    if self.maybe_pending.load(Ordering::Relaxed) {
                        // The inner log is back: deliver the backlog soon.
                        self.wake.notify_one();
                    }
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(error = %e, event_id = %event.event_id, "audit log unavailable; spooling the event");
                    self.mark(false);
                }
            }
        }
        self.maybe_pending.store(true, Ordering::Relaxed);
        // A copy in the process log (CloudWatch in Lambda), where it outlives an instance
        // recycled before the spool is delivered. Events hold no face data.
        if let Ok(json) = serde_json::to_string(event) {
            tracing::warn!(target: "faceid::audit_spooled", event = %json, "audit event spooled");
        }
        let spool = Arc::clone(&self.spool);
        let event = event.clone();
        // Only a failing local disk gets here as an error: then the caller logs it.
        blocking(move || spool.append(&event)).await
    }

    async fn query(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        let delivered = self.inner.query(query).await?;
        let pending = self.pending().await?;
        if pending.is_empty() {
            return Ok(delivered);
        }
        // Merge not-yet-delivered events so the log reads complete while MongoDB is down.
        let seen: HashSet<uuid::Uuid> = delivered.iter().map(|e| e.event_id).collect();
        let merged: Vec<AuditEvent> = delivered
            .iter()
            .rev()
            .chain(pending.iter().filter(|e| !seen.contains(&e.event_id)))
            .cloned()
            .collect();
        Ok(newest_first(merged.iter(), query))
    }
}
