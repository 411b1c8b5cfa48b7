//! Upload grants: `grants/<user>/<upload_id>.json`, one file per presigned upload. A
//! directory per user makes revoking a user's grants one directory removal. Taking a
//! grant binds it to the object's version (read-check-write under the area lock, like a
//! challenge redeem); grants are swept once they are [`UPLOAD_GRANT_GRACE`] past expiry.

use super::area::Area;
use super::shortlived::Sweeper;
use crate::fsutil::{atomic_write, io_err, read_optional};
use faceid_core::keys::valid_upload_id;
use faceid_core::ports::{GrantTaken, StoreError, StoreResult, UPLOAD_GRANT_GRACE};
use faceid_core::UserId;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;

#[derive(Serialize, Deserialize)]
struct GrantRecord {
    #[serde(with = "time::serde::timestamp")]
    expires_at: OffsetDateTime,
    /// The object version (ETag) that took the grant.
    taken_by: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Grants {
    area: Arc<Area>,
    sweeper: Sweeper,
}

fn grant_path(root: &Path, user: &UserId, upload_id: &str) -> StoreResult<PathBuf> {
    // The id becomes a file name: refuse anything that is not a plain name.
    if !valid_upload_id(upload_id) {
        return Err(StoreError::Other(format!(
            "invalid upload id {upload_id:?}"
        )));
    }
    Ok(root.join(user.as_str()).join(format!("{upload_id}.json")))
}

fn read_grant(path: &Path) -> StoreResult<Option<GrantRecord>> {
    read_optional(path)?
        .map(|b| {
            serde_json::from_slice(&b)
                .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display())))
        })
        .transpose()
}

fn write_grant(path: &Path, record: &GrantRecord) -> StoreResult<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    }
    let bytes = serde_json::to_vec(record).map_err(|e| StoreError::Other(e.to_string()))?;
    atomic_write(path, &bytes)
}

/// Removes grant files past their grace period (and unreadable ones), best effort.
fn sweep(root: &Path, now: OffsetDateTime) {
    let Ok(users) = std::fs::read_dir(root) else {
        return;
    };
    for user in users.flatten().filter(|e| e.path().is_dir()) {
        let Ok(files) = std::fs::read_dir(user.path()) else {
            continue;
        };
        for file in files.flatten() {
            let path = file.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let gone = match read_grant(&path) {
                Ok(Some(r)) => r.expires_at + UPLOAD_GRANT_GRACE < now,
                Ok(None) => false,
                Err(_) => true,
            };
            if gone {
                let _ = std::fs::remove_file(&path);
            }
        }
        // Succeeds only once the directory is empty.
        let _ = std::fs::remove_dir(user.path());
    }
}

impl Grants {
    pub(crate) fn open(dir: PathBuf) -> StoreResult<Self> {
        Ok(Self {
            area: Area::open(dir)?,
            sweeper: Sweeper::default(),
        })
    }

    pub(crate) async fn put(
        &self,
        user: &UserId,
        upload_id: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let user = user.clone();
        let upload_id = upload_id.to_owned();
        let sweep_now = self.sweeper.due();
        self.area
            .run(move |root| {
                if sweep_now {
                    sweep(root, OffsetDateTime::now_utc());
                }
                let record = GrantRecord {
                    expires_at,
                    taken_by: None,
                };
                write_grant(&grant_path(root, &user, &upload_id)?, &record)
            })
            .await
    }

    pub(crate) async fn take(
        &self,
        user: &UserId,
        upload_id: &str,
        version: &str,
    ) -> StoreResult<GrantTaken> {
        let user = user.clone();
        let upload_id = upload_id.to_owned();
        let version = version.to_owned();
        self.area
            .run(move |root| {
                let path = grant_path(root, &user, &upload_id)?;
                let Some(mut record) = read_grant(&path)? else {
                    return Ok(GrantTaken::Missing);
                };
                if record.expires_at + UPLOAD_GRANT_GRACE <= OffsetDateTime::now_utc() {
                    return Ok(GrantTaken::Missing);
                }
                match &record.taken_by {
                    Some(v) if *v == version => Ok(GrantTaken::SameUpload),
                    Some(_) => Ok(GrantTaken::OtherUpload),
                    None => {
                        // Atomic: the area lock is held from the read to the write.
                        record.taken_by = Some(version);
                        write_grant(&path, &record)?;
                        Ok(GrantTaken::Fresh)
                    }
                }
            })
            .await
    }

    pub(crate) async fn revoke_user(&self, user: &UserId) -> StoreResult<usize> {
        let user = user.clone();
        self.area
            .run(move |root| {
                let dir = root.join(user.as_str());
                let count = match std::fs::read_dir(&dir) {
                    Ok(rd) => rd
                        .flatten()
                        .filter(|e| e.path().extension().and_then(|x| x.to_str()) == Some("json"))
                        .count(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
                    Err(e) => return Err(io_err(&dir, e)),
                };
                match std::fs::remove_dir_all(&dir) {
                    Ok(()) => Ok(count),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
                    Err(e) => Err(io_err(&dir, e)),
                }
            })
            .await
    }
}
