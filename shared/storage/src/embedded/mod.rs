//! Embedded storage: every port under one data directory, no cloud account needed.
//!
//! ```text
//! <data>/templates/users/<user>/<face_id>.json   one file per enrolled face
//! <data>/templates/version                        gallery version
//! <data>/challenges/<id>.json                     single-use challenges
//! <data>/counters/<sha256(key)>.json              lockout counters
//! <data>/sessions/<sha256(user)>.json             session versions (revocation)
//! <data>/grants/<user>/<upload_id>.json           single-use upload grants
//! <data>/seen/<user>.json                         frames of accepted logins (replay)
//! <data>/audit/events.jsonl                       audit log
//! <data>/images/<key>                             photos
//! ```
//!
//! Every write is a temp file + fsync + rename (crash-safe). Read-modify-write cycles
//! (idempotent put, single-use redeem, counter compare-and-set) run under a per-area
//! lock: a mutex inside the process and a `flock`ed `.lock` file across processes.

mod area;
mod audit;
mod grants;
mod images;
mod seen;
mod sessions;
mod shortlived;
mod templates;

pub(crate) use audit::newest_first;
pub use audit::FileAuditLog;
pub use images::LocalImageStore;

use faceid_core::ports::{
    ChallengeStore, CounterStore, FailureCounter, GrantTaken, PutTemplate, Redeemed, SeenFrames,
    SessionStore, StoreResult, TemplateStore, UploadGrants, UserSummary,
};
use faceid_core::replay::FrameDigest;
use faceid_core::{Challenge, ChallengeId, Template, UserId};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;

/// Default data directory (`FACEID_DATA_DIR` overrides it).
pub const DEFAULT_DATA_DIR: &str = "./data";

/// Templates, challenges, failure counters, session versions, upload grants and seen
/// frames on local files.
#[derive(Debug)]
pub struct EmbeddedStore {
    templates: templates::Templates,
    challenges: shortlived::Challenges,
    counters: shortlived::Counters,
    sessions: sessions::Sessions,
    grants: grants::Grants,
    seen: seen::Seen,
}

impl EmbeddedStore {
    /// Opens (creating) the store under `data_dir`.
    pub fn open(data_dir: impl AsRef<Path>) -> StoreResult<Self> {
        let d = data_dir.as_ref();
        Ok(Self {
            templates: templates::Templates::open(d.join("templates"))?,
            challenges: shortlived::Challenges::open(d.join("challenges"))?,
            counters: shortlived::Counters::open(d.join("counters"))?,
            sessions: sessions::Sessions::open(d.join("sessions"))?,
            grants: grants::Grants::open(d.join("grants"))?,
            seen: seen::Seen::open(d.join("seen"))?,
        })
    }
}

#[async_trait::async_trait]
impl TemplateStore for EmbeddedStore {
    async fn put_template_within(
        &self,
        template: &Template,
        max_per_user: usize,
    ) -> StoreResult<PutTemplate> {
        self.templates.put(template, max_per_user).await
    }
    async fn user_templates(&self, user: &UserId) -> StoreResult<Vec<Template>> {
        self.templates.user_templates(user).await
    }
    async fn all_templates(&self) -> StoreResult<Vec<Template>> {
        Ok(self.templates.all().await?.as_ref().clone())
    }
    async fn list_users(&self) -> StoreResult<Vec<UserSummary>> {
        self.templates.list_users().await
    }
    async fn delete_user(&self, user: &UserId) -> StoreResult<usize> {
        self.templates.delete_user(user).await
    }
    async fn gallery_version(&self) -> StoreResult<u64> {
        self.templates.version().await
    }
}

#[async_trait::async_trait]
impl ChallengeStore for EmbeddedStore {
    async fn put_challenge(&self, challenge: &Challenge) -> StoreResult<()> {
        self.challenges.put(challenge).await
    }
    async fn redeem_challenge(&self, id: &ChallengeId) -> StoreResult<Redeemed> {
        self.challenges.redeem(id).await
    }
}

#[async_trait::async_trait]
impl CounterStore for EmbeddedStore {
    async fn load_counter(&self, key: &str) -> StoreResult<Option<(FailureCounter, u64)>> {
        self.counters.load(key).await
    }
    async fn store_counter(
        &self,
        key: &str,
        counter: &FailureCounter,
        expected: Option<u64>,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.counters
            .store(key, counter, expected, expires_at)
            .await
    }
    async fn delete_counter(&self, key: &str) -> StoreResult<()> {
        self.counters.delete(key).await
    }
}

#[async_trait::async_trait]
impl SessionStore for EmbeddedStore {
    async fn session_version(&self, user: &UserId) -> StoreResult<u64> {
        self.sessions.version(user).await
    }
    async fn bump_session_version(&self, user: &UserId) -> StoreResult<u64> {
        self.sessions.bump(user).await
    }
}

#[async_trait::async_trait]
impl UploadGrants for EmbeddedStore {
    async fn put_grant(
        &self,
        user: &UserId,
        upload_id: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.grants.put(user, upload_id, expires_at).await
    }
    async fn take_grant(
        &self,
        user: &UserId,
        upload_id: &str,
        version: &str,
    ) -> StoreResult<GrantTaken> {
        self.grants.take(user, upload_id, version).await
    }
    async fn revoke_user_grants(&self, user: &UserId) -> StoreResult<usize> {
        self.grants.revoke_user(user).await
    }
}

#[async_trait::async_trait]
impl SeenFrames for EmbeddedStore {
    async fn claim_frames(
        &self,
        user: &UserId,
        digests: &[FrameDigest],
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.seen.claim(user, digests, expires_at).await
    }
    async fn forget_frames(&self, user: &UserId) -> StoreResult<usize> {
        self.seen.forget(user).await
    }
}

/// What the embedded stores need.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// `FACEID_DATA_DIR`, default [`DEFAULT_DATA_DIR`].
    pub data_dir: PathBuf,
    /// Base URL of the local server for presigned uploads, e.g. `http://127.0.0.1:8080`.
    pub public_base_url: String,
    /// Secret that signs upload URLs (e.g. derived from the token secret).
    pub upload_signing_key: Vec<u8>,
}

/// The embedded adapters, opened together on one data directory.
#[derive(Debug, Clone)]
pub struct EmbeddedStores {
    /// Implements `TemplateStore`, `ChallengeStore`, `CounterStore`, `SessionStore`,
    /// `UploadGrants` and `SeenFrames`.
    pub store: Arc<EmbeddedStore>,
    pub images: Arc<LocalImageStore>,
    pub audit: Arc<FileAuditLog>,
}

impl EmbeddedStores {
    pub fn open(config: &EmbeddedConfig) -> StoreResult<Self> {
        let d = &config.data_dir;
        Ok(Self {
            store: Arc::new(EmbeddedStore::open(d)?),
            images: Arc::new(LocalImageStore::open(
                d.join("images"),
                &config.public_base_url,
                config.upload_signing_key.clone(),
            )?),
            audit: Arc::new(FileAuditLog::open(d.join("audit"))?),
        })
    }
}
