//! Frames of accepted logins: `seen/<user>.json`, the digests of a user's frames with
//! their expiry. A claim reads, checks and rewrites the file under the area lock, so it
//! is atomic; expired digests are dropped on the user's next claim.

use super::area::Area;
use crate::fsutil::{atomic_write, read_optional, remove_optional};
use faceid_core::ports::{StoreError, StoreResult};
use faceid_core::replay::FrameDigest;
use faceid_core::UserId;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;

/// Digest (hex) → expiry (epoch seconds).
type Record = BTreeMap<String, i64>;

#[derive(Debug)]
pub(crate) struct Seen {
    area: Arc<Area>,
}

fn seen_path(root: &Path, user: &UserId) -> PathBuf {
    root.join(format!("{}.json", user.as_str()))
}

fn read_record(path: &Path) -> StoreResult<Record> {
    match read_optional(path)? {
        None => Ok(Record::new()),
        Some(b) => serde_json::from_slice(&b)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display()))),
    }
}

impl Seen {
    pub(crate) fn open(dir: PathBuf) -> StoreResult<Self> {
        Ok(Self {
            area: Area::open(dir)?,
        })
    }

    pub(crate) async fn claim(
        &self,
        user: &UserId,
        digests: &[FrameDigest],
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let user = user.clone();
        let digests: Vec<String> = digests.iter().map(|d| d.to_hex()).collect();
        self.area
            .run(move |root| {
                let path = seen_path(root, &user);
                let now = OffsetDateTime::now_utc().unix_timestamp();
                let mut record = read_record(&path)?;
                record.retain(|_, expiry| *expiry > now);
                if digests.iter().any(|d| record.contains_key(d)) {
                    return Ok(false);
                }
                let expiry = expires_at.unix_timestamp();
                record.extend(digests.into_iter().map(|d| (d, expiry)));
                let bytes =
                    serde_json::to_vec(&record).map_err(|e| StoreError::Other(e.to_string()))?;
                atomic_write(&path, &bytes)?;
                Ok(true)
            })
            .await
    }

    pub(crate) async fn forget(&self, user: &UserId) -> StoreResult<usize> {
        let user = user.clone();
        self.area
            .run(move |root| {
                let path = seen_path(root, &user);
                let count = read_record(&path).map(|r| r.len()).unwrap_or(0);
                remove_optional(&path)?;
                Ok(count)
            })
            .await
    }
}
