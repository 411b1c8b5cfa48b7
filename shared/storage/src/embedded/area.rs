//! A directory whose contents are changed only under one lock: a mutex for the threads of
//! this process and a `flock`ed lock file for other processes. All work runs on tokio's
//! blocking pool so file I/O never stalls the async executor.

use crate::fsutil::{ensure_dir, LockFile};
use faceid_core::ports::{StoreError, StoreResult};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub(crate) struct Area {
    dir: PathBuf,
    lock: Mutex<LockFile>,
}

impl Area {
    pub(crate) fn open(dir: PathBuf) -> StoreResult<Arc<Self>> {
        ensure_dir(&dir)?;
        let lock = LockFile::open(dir.join(".lock"))?;
        Ok(Arc::new(Self {
            dir,
            lock: Mutex::new(lock),
        }))
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `f` holding the area's lock (blocking; call from the blocking pool).
    pub(crate) fn locked<T>(&self, f: impl FnOnce(&Path) -> StoreResult<T>) -> StoreResult<T> {
        // A panic in another holder leaves the files consistent (every write is atomic),
        // so a poisoned mutex is safe to reuse.
        let file = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let _guard = file.lock()?;
        f(&self.dir)
    }

    /// Runs `f` under the lock on the blocking pool.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Path) -> StoreResult<T> + Send + 'static,
    {
        let area = Arc::clone(self);
        blocking(move || area.locked(f)).await
    }
}

/// Runs blocking work on tokio's blocking pool.
pub(crate) async fn blocking<T, F>(f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Other(format!("storage task failed: {e}")))?
}
