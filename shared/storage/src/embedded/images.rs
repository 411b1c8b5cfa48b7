//! Images as files under `<dir>/images/<key>`. Keys are validated (see [`crate::keys`])
//! so they can never leave the directory. Writes are atomic renames, so concurrent
//! readers see a whole image or none and no lock is needed.

use super::area::blocking;
use crate::fsutil::{
    atomic_create, atomic_write, ensure_dir, io_err, read_optional, remove_optional,
};
use crate::keys::{validate_key, validate_prefix, PresignError, UploadSigner, MAX_IMAGE_BYTES};
use faceid_core::ports::{ImageStore, PresignedPut, StoreError, StoreResult};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// [`ImageStore`] on a local directory; uploads go through the local server's
/// `PUT /v1/local-uploads/{key}?expires=..&sig=..` route.
#[derive(Debug, Clone)]
pub struct LocalImageStore {
    root: PathBuf,
    public_base_url: String,
    signer: UploadSigner,
}

fn bad_key(e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(e.to_string())
}

impl LocalImageStore {
    /// `root`: the images directory. `public_base_url`: how clients reach the local
    /// server (e.g. `http://127.0.0.1:8080`). `signing_key`: secret for upload URLs.
    pub fn open(
        root: impl Into<PathBuf>,
        public_base_url: &str,
        signing_key: impl Into<Vec<u8>>,
    ) -> StoreResult<Self> {
        let root = root.into();
        ensure_dir(&root)?;
        Ok(Self {
            root,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            signer: UploadSigner::new(signing_key),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stores an upload only if nothing is at `key` yet (the local stand-in for S3's
    /// `If-None-Match: *`): `Ok(false)` when the URL was used before.
    pub async fn put_new_image(&self, key: &str, bytes: Vec<u8>) -> StoreResult<bool> {
        let path = self.path_of(key)?;
        blocking(move || write_in_dir(&path, &bytes, atomic_create)).await
    }

    /// Checks a presigned upload (for the route handler): key shape, expiry, signature.
    /// `expires` and `sig` are the URL's query parameters.
    pub fn verify_presigned(&self, key: &str, expires: i64, sig: &str) -> Result<(), PresignError> {
        self.signer
            .verify(key, expires, sig, OffsetDateTime::now_utc())
    }

    fn path_of(&self, key: &str) -> StoreResult<PathBuf> {
        validate_key(key).map_err(bad_key)?;
        Ok(self.root.join(key))
    }
}

/// Every stored key under `dir` (relative to `root`), skipping temp files.
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> StoreResult<()> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(dir, e)),
    };
    for entry in rd {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let name = entry.file_name();
        if name.to_str().is_none_or(|n| n.starts_with('.')) {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| io_err(&path, e))?;
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() {
            if let Some(key) = path.strip_prefix(root).ok().and_then(|p| p.to_str()) {
                out.push((key.replace(std::path::MAIN_SEPARATOR, "/"), path.clone()));
            }
        }
    }
    Ok(())
}

/// Removes now-empty directories from `dir` up to (not including) `root`.
fn prune_empty_dirs(root: &Path, dir: &Path) {
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d == root || !d.starts_with(root) || std::fs::remove_dir(d).is_err() {
            break;
        }
        cur = d.parent();
    }
}

/// Writes `bytes` to `path` with `write`, creating its directory. A concurrent
/// `delete_prefix` may prune the fresh, still empty directory before the temp file lands
/// in it: recreate it and try once more.
fn write_in_dir<T>(
    path: &Path,
    bytes: &[u8],
    write: fn(&Path, &[u8]) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    ensure_dir(parent)?;
    write(path, bytes).or_else(|_| {
        ensure_dir(parent)?;
        write(path, bytes)
    })
}

#[async_trait::async_trait]
impl ImageStore for LocalImageStore {
    async fn put_image(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> StoreResult<()> {
        let path = self.path_of(key)?;
        blocking(move || write_in_dir(&path, &bytes, atomic_write)).await
    }

    async fn get_image(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let path = self.path_of(key)?;
        blocking(move || {
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => return Ok(None),
                Ok(m) if m.len() > MAX_IMAGE_BYTES => {
                    return Err(StoreError::Other(format!(
                        "image is larger than {MAX_IMAGE_BYTES} bytes"
                    )))
                }
                _ => {}
            }
            read_optional(&path)
        })
        .await
    }

    async fn delete_image(&self, key: &str) -> StoreResult<()> {
        let path = self.path_of(key)?;
        let root = self.root.clone();
        blocking(move || {
            if remove_optional(&path)? {
                if let Some(parent) = path.parent() {
                    prune_empty_dirs(&root, parent);
                }
            }
            Ok(())
        })
        .await
    }

    async fn delete_prefix(&self, prefix: &str) -> StoreResult<usize> {
        validate_prefix(prefix).map_err(bad_key)?;
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        blocking(move || {
            // S3 prefixes are plain string prefixes: walk the deepest whole directory
            // the prefix names, then filter by the string.
            let dir_part = prefix.rfind('/').map_or("", |i| &prefix[..i]);
            let start = if dir_part.is_empty() {
                root.clone()
            } else {
                root.join(dir_part)
            };
            let mut found = Vec::new();
            walk(&root, &start, &mut found)?;
            let mut removed = 0;
            for (key, path) in found {
                if key.starts_with(&prefix) && remove_optional(&path)? {
                    removed += 1;
                    if let Some(parent) = path.parent() {
                        prune_empty_dirs(&root, parent);
                    }
                }
            }
            Ok(removed)
        })
        .await
    }

    async fn presign_put(&self, key: &str, ttl: std::time::Duration) -> StoreResult<PresignedPut> {
        validate_key(key).map_err(bad_key)?;
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let expires = OffsetDateTime::now_utc()
            .unix_timestamp()
            .saturating_add(ttl.max(1));
        let sig = self.signer.sign(key, expires);
        Ok(PresignedPut {
            url: format!(
                "{}/v1/local-uploads/{key}?expires={expires}&sig={sig}",
                self.public_base_url
            ),
            headers: PresignedPut::required_headers(),
        })
    }
}
