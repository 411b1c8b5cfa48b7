//! Small file-system building blocks for the embedded adapters and the audit spool:
//! crash-safe writes (temp file + fsync + rename + directory fsync) and an exclusive
//! lock file that serialises writers across processes.

use faceid_core::ports::StoreError;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Maps an I/O error to a store error; the path says where it happened.
pub(crate) fn io_err(path: &Path, e: io::Error) -> StoreError {
    StoreError::Other(format!("{}: {e}", path.display()))
}

/// Creates `dir` (and parents).
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))
}

/// A temp file name next to `target`. Names starting with `.` never collide with stored
/// names (user ids, image key segments and hex keys cannot start with a dot).
fn temp_path(target: &Path) -> PathBuf {
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()))
}

/// fsyncs a directory so a rename or unlink inside it survives a power cut.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_err(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn write_temp(target: &Path, bytes: &[u8]) -> Result<PathBuf, StoreError> {
    let tmp = temp_path(target);
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(&tmp, e));
    }
    Ok(tmp)
}

/// Replaces `target` with `bytes` atomically: readers see the old or the new content,
/// never a torn file, and after return the new content is durable.
pub(crate) fn atomic_write(target: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = write_temp(target, bytes)?;
    if let Err(e) = std::fs::rename(&tmp, target) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(target, e));
    }
    sync_dir(target.parent().unwrap_or_else(|| Path::new(".")))
}

/// Like [`atomic_write`] but never replaces an existing file: returns `Ok(false)` when
/// `target` exists. A hard link is the atomic "create if absent" on POSIX file systems.
pub(crate) fn atomic_create(target: &Path, bytes: &[u8]) -> Result<bool, StoreError> {
    let tmp = write_temp(target, bytes)?;
    let linked = std::fs::hard_link(&tmp, target);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(target.parent().unwrap_or_else(|| Path::new(".")))?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_err(target, e)),
    }
}

/// Reads a file; `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path, e)),
    }
}

/// Removes a file; `false` when it did not exist.
pub(crate) fn remove_optional(path: &Path) -> Result<bool, StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(path, e)),
    }
}

/// A lock file. [`LockFile::lock`] holds an exclusive advisory lock (`flock`) until the
/// guard drops, so two processes sharing a data directory (e.g. `faceid serve` and a
/// `faceid users` run) never interleave read-modify-write cycles. Callers also serialise
/// threads of one process with a mutex: one open file description is shared by them.
#[derive(Debug)]
pub(crate) struct LockFile {
    file: File,
    path: PathBuf,
}

pub(crate) struct LockGuard<'a> {
    #[cfg_attr(not(unix), allow(dead_code))]
    file: &'a File,
}

impl LockFile {
    pub(crate) fn open(path: PathBuf) -> Result<Self, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        Ok(Self { file, path })
    }

    pub(crate) fn lock(&self) -> Result<LockGuard<'_>, StoreError> {
        #[cfg(unix)]
        rustix::fs::flock(&self.file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io_err(&self.path, e.into()))?;
        Ok(LockGuard { file: &self.file })
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = rustix::fs::flock(self.file, rustix::fs::FlockOperation::Unlock);
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Parses lower- or upper-case hex; `None` on anything else.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    let pairs = s.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|p| {
            let digit = |b: u8| (b as char).to_digit(16);
            Some((digit(p[0])? * 16 + digit(p[1])?) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_create_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        assert!(atomic_create(&p, b"one").unwrap());
        assert!(!atomic_create(&p, b"two").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        atomic_write(&p, b"three").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"three");
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(unhex("00abFF"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("é1"), None);
    }
}
