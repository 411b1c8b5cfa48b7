//! Ports: one small trait per kind of storage the service needs. Adapters live in
//! `faceid-storage` (embedded files, DynamoDB, S3, MongoDB).

use crate::audit::{AuditEvent, AuditQuery};
use crate::domain::{Challenge, ChallengeId, Template, UserId};
use crate::replay::FrameDigest;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A storage failure. `Unavailable` is retryable (throttling, network) and maps to 503.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("storage error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One user and how many faces they have enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSummary {
    pub user_id: UserId,
    pub faces: usize,
}

#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// Stores a template unless the user has `max_per_user` already, checked and written
    /// in one atomic step (so concurrent enrollments cannot overshoot the limit). A template
    /// with the same user and face id changes nothing: re-delivered events are no-ops.
    async fn put_template_within(
        &self,
        template: &Template,
        max_per_user: usize,
    ) -> StoreResult<PutTemplate>;
    /// Stores a template with no limit on the user's count (tools and tests). Returns
    /// `false` when it existed already.
    async fn put_template(&self, template: &Template) -> StoreResult<bool> {
        Ok(self.put_template_within(template, usize::MAX).await? == PutTemplate::Stored)
    }
    async fn user_templates(&self, user: &UserId) -> StoreResult<Vec<Template>>;
    async fn all_templates(&self) -> StoreResult<Vec<Template>>;
    async fn list_users(&self) -> StoreResult<Vec<UserSummary>>;
    /// Removes every template of the user; returns how many there were.
    async fn delete_user(&self, user: &UserId) -> StoreResult<usize>;
    /// Changes whenever a template is added or removed, so cached galleries know when
    /// they are stale.
    async fn gallery_version(&self) -> StoreResult<u64>;
}

/// What a bounded template put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutTemplate {
    Stored,
    /// The same user and face id was stored before; nothing changed.
    Exists,
    /// The user has the maximum number of templates; nothing changed.
    UserFull,
}

/// What happened when a challenge was redeemed.
#[derive(Debug, Clone, PartialEq)]
pub enum Redeemed {
    Fresh(Challenge),
    AlreadyUsed,
    Unknown,
}

#[async_trait]
pub trait ChallengeStore: Send + Sync {
    async fn put_challenge(&self, challenge: &Challenge) -> StoreResult<()>;
    /// Atomically marks the challenge used and returns it; a second call for the same id
    /// returns `AlreadyUsed`. Expiry is checked by the caller.
    async fn redeem_challenge(&self, id: &ChallengeId) -> StoreResult<Redeemed>;
}

/// A failure counter for lockout (per user or per client address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureCounter {
    pub count: u32,
    #[serde(with = "time::serde::timestamp")]
    pub window_start: OffsetDateTime,
    #[serde(with = "time::serde::timestamp::option")]
    pub locked_until: Option<OffsetDateTime>,
    /// Locks imposed within the escalation memory, and when the last one began.
    #[serde(default)]
    pub lockouts: u32,
    #[serde(default, with = "time::serde::timestamp::option")]
    pub last_locked_at: Option<OffsetDateTime>,
}

#[async_trait]
pub trait CounterStore: Send + Sync {
    /// The counter and an opaque version for compare-and-set.
    async fn load_counter(&self, key: &str) -> StoreResult<Option<(FailureCounter, u64)>>;
    /// Writes the counter if its version is still `expected` (`None` = must not exist).
    /// Returns `false` on a lost race. `expires_at` lets the backend drop it (TTL).
    async fn store_counter(
        &self,
        key: &str,
        counter: &FailureCounter,
        expected: Option<u64>,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool>;
    async fn delete_counter(&self, key: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait ImageStore: Send + Sync {
    async fn put_image(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> StoreResult<()>;
    async fn get_image(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Deletes one object; deleting a missing one is not an error.
    async fn delete_image(&self, key: &str) -> StoreResult<()>;
    /// Deletes every object under `prefix`; returns how many.
    async fn delete_prefix(&self, prefix: &str) -> StoreResult<usize>;
    /// A URL the client can PUT the photo to once, valid for `ttl`.
    async fn presign_put(&self, key: &str, ttl: std::time::Duration) -> StoreResult<PresignedPut>;
}

/// A presigned upload: the URL and the headers the PUT must carry (they are signed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedPut {
    pub url: String,
    /// Lower-case names. Always `if-none-match: *`: the store refuses a PUT onto an
    /// existing object, so a used URL cannot replace the photo that was enrolled.
    pub headers: Vec<(String, String)>,
}

impl PresignedPut {
    /// The headers every adapter signs: the photo's type and create-only.
    pub fn required_headers() -> Vec<(String, String)> {
        vec![
            ("content-type".into(), "image/jpeg".into()),
            ("if-none-match".into(), "*".into()),
        ]
    }
}

#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends one event. Implementations must be idempotent on `event.event_id`.
    async fn append(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Newest first.
    async fn query(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>>;
}

/// Per-user session versions. Every session token carries the version current when it
/// was issued (`sv`); a token whose `sv` differs from the stored one is revoked. Bumping
/// the version is therefore "log out everywhere". The version must outlive the user's
/// templates: if it were deleted with them, it would restart at 0 and revive old tokens.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// The user's current version; 0 for a user never bumped.
    async fn session_version(&self, user: &UserId) -> StoreResult<u64>;
    /// Increments the version atomically and returns the new one.
    async fn bump_session_version(&self, user: &UserId) -> StoreResult<u64>;
}

/// How long after its URL expired an upload grant can still be taken, and a used one is
/// still recognised. The URL itself refuses a late PUT (S3 checks the signature's
/// expiry), but the PUT's event can arrive late: Lambda retries asynchronous events for
/// up to 6 hours. Expiry alone must not delete a photo uploaded in time.
pub const UPLOAD_GRANT_GRACE: time::Duration = time::Duration::hours(24);

/// What happened when an upload grant was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantTaken {
    /// This caller took it for this upload: enroll it.
    Fresh,
    /// Taken before for the same upload (same object version): a re-delivered event, or
    /// Lambda's retry after a failure. Enroll again; the template is idempotent, so this
    /// never makes a second one, and a retry after a transient error loses nothing.
    SameUpload,
    /// Taken before for another upload: the URL was used twice. Refused.
    OtherUpload,
    /// Never granted, past [`UPLOAD_GRANT_GRACE`], or revoked (the user was deleted):
    /// the upload is refused.
    Missing,
}

/// Single-use grants for presigned uploads (`POST /v1/uploads`): the bucket trigger
/// enrolls an `enroll/{user}/{upload_id}.jpg` object only against its grant, so a PUT
/// after the user was deleted, or an object written by anyone else, stores nothing.
#[async_trait]
pub trait UploadGrants: Send + Sync {
    /// Records a grant for one upload whose URL is valid until `expires_at`.
    async fn put_grant(
        &self,
        user: &UserId,
        upload_id: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Atomically binds the grant to `version` (the object's ETag): exactly one version
    /// ever gets `Fresh`; that same version later gets `SameUpload`, any other
    /// `OtherUpload`.
    async fn take_grant(
        &self,
        user: &UserId,
        upload_id: &str,
        version: &str,
    ) -> StoreResult<GrantTaken>;
    /// Removes every grant of the user (used ones too); returns how many.
    async fn revoke_user_grants(&self, user: &UserId) -> StoreResult<usize>;
}

/// The frames of accepted logins, remembered per user so they cannot log in again
/// (`replay`).
#[async_trait]
pub trait SeenFrames: Send + Sync {
    /// Records `digests` (distinct) for `user` until `expires_at`, unless one of them is
    /// recorded already and unexpired — checked and written in one atomic step, all or
    /// none, so two replays racing each other cannot both get through. Returns `false`
    /// (nothing recorded) when a frame was seen before.
    async fn claim_frames(
        &self,
        user: &UserId,
        digests: &[FrameDigest],
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Forgets every frame of the user (deletion); returns how many.
    async fn forget_frames(&self, user: &UserId) -> StoreResult<usize>;
}
