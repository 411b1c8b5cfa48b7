//! Session versions: `sessions/<sha256(user)>.json`, one small file per user that was
//! ever logged out everywhere. Never swept and not removed with the user's templates: a
//! lost version would restart at 0 and revive tokens issued before the bump.

use super::area::Area;
use crate::fsutil::{atomic_write, hex, read_optional};
use faceid_core::ports::{StoreError, StoreResult};
use faceid_core::UserId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Serialize, Deserialize)]
struct SessionRecord {
    user: String,
    version: u64,
}

#[derive(Debug)]
pub(crate) struct Sessions {
    area: Arc<Area>,
}

fn session_path(root: &Path, user: &UserId) -> PathBuf {
    root.join(format!(
        "{}.json",
        hex(&Sha256::digest(user.as_str().as_bytes()))
    ))
}

fn read_version(root: &Path, user: &UserId) -> StoreResult<u64> {
    let path = session_path(root, user);
    let Some(bytes) = read_optional(&path)? else {
        return Ok(0);
    };
    let record: SessionRecord = serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display())))?;
    if record.user != user.as_str() {
        return Err(StoreError::Corrupt(format!(
            "{}: belongs to another user",
            path.display()
        )));
    }
    Ok(record.version)
}

impl Sessions {
    pub(crate) fn open(dir: PathBuf) -> StoreResult<Self> {
        Ok(Self {
            area: Area::open(dir)?,
        })
    }

    pub(crate) async fn version(&self, user: &UserId) -> StoreResult<u64> {
        let user = user.clone();
        self.area.run(move |root| read_version(root, &user)).await
    }

    pub(crate) async fn bump(&self, user: &UserId) -> StoreResult<u64> {
        let user = user.clone();
        self.area
            .run(move |root| {
                // Read and write under the area lock: concurrent bumps never collapse.
                let version = read_version(root, &user)? + 1;
                let record = SessionRecord {
                    user: user.as_str().to_owned(),
                    version,
                };
                let bytes =
                    serde_json::to_vec(&record).map_err(|e| StoreError::Other(e.to_string()))?;
                atomic_write(&session_path(root, &user), &bytes)?;
                Ok(version)
            })
            .await
    }
}
