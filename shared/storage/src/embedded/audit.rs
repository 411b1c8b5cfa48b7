//! The embedded audit log: one JSON line per event in `audit/events.jsonl`, appended and
//! fsynced under the area lock. Each process keeps a mirror of the file in memory and
//! reads only the bytes other writers appended since its last look, so an append stays
//! O(1) and idempotency on `event_id` holds across processes.
//!
//! A crash in the middle of an append leaves a torn last line without a newline; it is
//! ignored when reading and cut off before the next append.

use super::area::Area;
use crate::fsutil::io_err;
use faceid_core::audit::{AuditEvent, AuditQuery};
use faceid_core::ports::{AuditLog, StoreError, StoreResult};
use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Mirror {
    /// Bytes of the file consumed so far (always just after a `\n`).
    offset: u64,
    events: Vec<AuditEvent>,
    ids: HashSet<uuid::Uuid>,
}

impl Mirror {
    /// Reads what was appended since `offset`. Returns whether a torn tail follows.
    fn catch_up(&mut self, path: &Path) -> StoreResult<bool> {
        let mut file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                *self = Mirror::default();
                return Ok(false);
            }
            Err(e) => return Err(io_err(path, e)),
        };
        let len = file.metadata().map_err(|e| io_err(path, e))?.len();
        if len < self.offset {
            // Replaced or truncated by hand: start over.
            *self = Mirror::default();
        }
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| io_err(path, e))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf).map_err(|e| io_err(path, e))?;
        let complete = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for line in buf[..complete].split(|&b| b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<AuditEvent>(line) {
                Ok(e) => {
                    if self.ids.insert(e.event_id) {
                        self.events.push(e);
                    }
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "skipping a corrupt audit line")
                }
            }
        }
        self.offset += complete as u64;
        Ok(complete < buf.len())
    }
}

/// [`AuditLog`] over a local JSON-lines file.
#[derive(Debug)]
pub struct FileAuditLog {
    area: Arc<Area>,
    mirror: Arc<Mutex<Mirror>>,
}

fn log_path(root: &Path) -> PathBuf {
    root.join("events.jsonl")
}

impl FileAuditLog {
    /// Opens (creating) the log in `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> StoreResult<Self> {
        Ok(Self {
            area: Area::open(dir.into())?,
            mirror: Arc::new(Mutex::new(Mirror::default())),
        })
    }

    /// The file the events are in.
    pub fn path(&self) -> PathBuf {
        log_path(self.area.dir())
    }
}

#[async_trait::async_trait]
impl AuditLog for FileAuditLog {
    async fn append(&self, event: &AuditEvent) -> StoreResult<()> {
        let mut line = serde_json::to_vec(event).map_err(|e| StoreError::Other(e.to_string()))?;
        line.push(b'\n');
        let event = event.clone();
        let mirror = Arc::clone(&self.mirror);
        self.area
            .run(move |root| {
                let path = log_path(root);
                let mut m = mirror.lock().unwrap_or_else(|p| p.into_inner());
                let torn = m.catch_up(&path)?;
                if m.ids.contains(&event.event_id) {
                    return Ok(());
                }
                let mut file = OpenOptions::new()
                    .create(true)
                    .write(true)
                    .truncate(false)
                    .open(&path)
                    .map_err(|e| io_err(&path, e))?;
                if torn {
                    file.set_len(m.offset).map_err(|e| io_err(&path, e))?;
                }
                file.seek(SeekFrom::Start(m.offset))
                    .and_then(|_| file.write_all(&line))
                    .and_then(|_| file.sync_data())
                    .map_err(|e| io_err(&path, e))?;
                m.offset += line.len() as u64;
                m.ids.insert(event.event_id);
                m.events.push(event);
                Ok(())
            })
            .await
    }

    async fn query(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        let query = query.clone();
        let mirror = Arc::clone(&self.mirror);
        self.area
            .run(move |root| {
                let mut m = mirror.lock().unwrap_or_else(|p| p.into_inner());
                m.catch_up(&log_path(root))?;
                Ok(newest_first(m.events.iter(), &query))
            })
            .await
    }
}

/// Filters, sorts newest first (ties: later appended first) and limits.
pub(crate) fn newest_first<'a>(
    events: impl DoubleEndedIterator<Item = &'a AuditEvent>,
    query: &AuditQuery,
) -> Vec<AuditEvent> {
    let mut hits: Vec<&AuditEvent> = events.rev().filter(|e| query.matches(e)).collect();
    // Stable sort keeps the reverse append order among equal timestamps.
    hits.sort_by_key(|e| std::cmp::Reverse(e.at));
    hits.into_iter()
        .take(query.capped_limit())
        .cloned()
        .collect()
}
