//! Templates as one JSON file per face: `templates/users/<user>/<face_id>.json`, plus a
//! `templates/version` file bumped on every change. One file per face keeps a put O(1)
//! and crash-safe (create-if-absent via a hard link); the full gallery is read from disk
//! only when the version changed since the last read.

use super::area::Area;
use crate::fsutil::{
    atomic_create, atomic_write, io_err, read_optional, remove_optional, sync_dir,
};
use base64::Engine as _;
use faceid_core::ports::{PutTemplate, StoreError, StoreResult, UserSummary};
use faceid_core::{Descriptor, FaceId, Source, Template, UserId};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

#[derive(Serialize, Deserialize)]
struct TemplateRecord {
    user_id: UserId,
    face_id: FaceId,
    /// Base64 of 128 little-endian f32 values: exact, unlike decimal text.
    descriptor: String,
    model_id: String,
    source: Source,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl TemplateRecord {
    fn from_template(t: &Template) -> Self {
        Self {
            user_id: t.user_id.clone(),
            face_id: t.face_id,
            descriptor: base64::engine::general_purpose::STANDARD
                .encode(t.descriptor.to_le_bytes()),
            model_id: t.model_id.clone(),
            source: t.source.clone(),
            created_at: t.created_at,
        }
    }

    fn into_template(self, path: &Path) -> StoreResult<Template> {
        let corrupt = |what: String| StoreError::Corrupt(format!("{}: {what}", path.display()));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.descriptor)
            .map_err(|e| corrupt(e.to_string()))?;
        let descriptor = Descriptor::from_le_bytes(&bytes).map_err(|e| corrupt(e.0))?;
        Ok(Template {
            user_id: self.user_id,
            face_id: self.face_id,
            descriptor,
            model_id: self.model_id,
            source: self.source,
            created_at: self.created_at,
        })
    }
}

/// The template part of the embedded store.
#[derive(Debug)]
pub(crate) struct Templates {
    area: Arc<Area>,
    /// `(version, all templates)` as last read by this process.
    cache: Mutex<Option<(u64, Arc<Vec<Template>>)>>,
}

fn users_dir(root: &Path) -> PathBuf {
    root.join("users")
}

fn version_path(root: &Path) -> PathBuf {
    root.join("version")
}

fn read_version(root: &Path) -> StoreResult<u64> {
    let path = version_path(root);
    match read_optional(&path)? {
        None => Ok(0),
        Some(b) => std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("{}: not a number", path.display()))),
    }
}

fn bump_version(root: &Path) -> StoreResult<u64> {
    let next = read_version(root)?.wrapping_add(1);
    atomic_write(&version_path(root), next.to_string().as_bytes())?;
    Ok(next)
}

/// Lists a directory's entries that are ours (skips dot files: locks and temp files).
fn entries(dir: &Path) -> StoreResult<Vec<(String, PathBuf)>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir, e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        if let Some(name) = entry.file_name().to_str() {
            if !name.starts_with('.') {
                out.push((name.to_owned(), entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn read_user(user_dir: &Path) -> StoreResult<Vec<Template>> {
    let mut out = Vec::new();
    for (name, path) in entries(user_dir)? {
        if !name.ends_with(".json") {
            continue;
        }
        // A file may vanish between listing and reading only if another process deleted
        // the user outside the lock; treat it as gone.
        let Some(bytes) = read_optional(&path)? else {
            continue;
        };
        let record: TemplateRecord = serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display())))?;
        out.push(record.into_template(&path)?);
    }
    out.sort_by_key(|t| (t.created_at, t.face_id));
    Ok(out)
}

fn read_all(root: &Path) -> StoreResult<Vec<Template>> {
    let mut all = Vec::new();
    for (_, path) in entries(&users_dir(root))? {
        all.extend(read_user(&path)?);
    }
    Ok(all)
}

impl Templates {
    pub(crate) fn open(dir: PathBuf) -> StoreResult<Self> {
        Ok(Self {
            area: Area::open(dir)?,
            cache: Mutex::new(None),
        })
    }

    pub(crate) async fn put(&self, t: &Template, max_per_user: usize) -> StoreResult<PutTemplate> {
        let record = serde_json::to_vec_pretty(&TemplateRecord::from_template(t))
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let user = t.user_id.as_str().to_owned();
        let face = t.face_id.to_string();
        self.area
            .run(move |root| {
                let dir = users_dir(root).join(&user);
                if !dir.exists() {
                    std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
                    sync_dir(&users_dir(root))?;
                }
                let path = dir.join(format!("{face}.json"));
                if path.exists() {
                    return Ok(PutTemplate::Exists);
                }
                // Counted under the area's lock: no other put can slip in between.
                let have = entries(&dir)?
                    .iter()
                    .filter(|(name, _)| name.ends_with(".json"))
                    .count();
                if have >= max_per_user {
                    return Ok(PutTemplate::UserFull);
                }
                if !atomic_create(&path, &record)? {
                    return Ok(PutTemplate::Exists);
                }
                bump_version(root)?;
                Ok(PutTemplate::Stored)
            })
            .await
    }

    pub(crate) async fn user_templates(&self, user: &UserId) -> StoreResult<Vec<Template>> {
        let user = user.as_str().to_owned();
        self.area
            .run(move |root| read_user(&users_dir(root).join(user)))
            .await
    }

    pub(crate) async fn all(&self) -> StoreResult<Arc<Vec<Template>>> {
        let version = self.version().await?;
        if let Some((v, all)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            if *v == version {
                return Ok(Arc::clone(all));
            }
        }
        // Version and contents are read under one lock so they belong together.
        let (version, all) = self
            .area
            .run(|root| Ok((read_version(root)?, Arc::new(read_all(root)?))))
            .await?;
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((version, Arc::clone(&all)));
        Ok(all)
    }

    pub(crate) async fn list_users(&self) -> StoreResult<Vec<UserSummary>> {
        let all = self.all().await?;
        let mut out: Vec<UserSummary> = Vec::new();
        // `read_all` returns users in name order, each user's faces together.
        for t in all.iter() {
            match out.last_mut() {
                Some(last) if last.user_id == t.user_id => last.faces += 1,
                _ => out.push(UserSummary {
                    user_id: t.user_id.clone(),
                    faces: 1,
                }),
            }
        }
        Ok(out)
    }

    pub(crate) async fn delete_user(&self, user: &UserId) -> StoreResult<usize> {
        let user = user.as_str().to_owned();
        self.area
            .run(move |root| {
                let dir = users_dir(root).join(&user);
                let mut removed = 0;
                for (name, path) in entries(&dir)? {
                    if remove_optional(&path)? && name.ends_with(".json") {
                        removed += 1;
                    }
                }
                match std::fs::remove_dir_all(&dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err(&dir, e)),
                }
                // No users directory yet (nothing ever enrolled): nothing to make durable.
                if users_dir(root).is_dir() {
                    sync_dir(&users_dir(root))?;
                }
                // Bumped even when nothing was found: a retry after a crash between the
                // deletes and the bump must still invalidate other processes' caches.
                bump_version(root)?;
                Ok(removed)
            })
            .await
    }

    pub(crate) async fn version(&self) -> StoreResult<u64> {
        self.area.run(read_version).await
    }
}
