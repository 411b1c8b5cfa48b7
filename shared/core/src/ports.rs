//! Ports: one small trait per kind of storage the service needs. Adapters live in
//! `faceid-storage` (embedded files, DynamoDB, S3, MongoDB).

use crate::audit::{AuditEvent, AuditQuery};
use crate::domain::{Challenge, ChallengeId, Template, UserId};
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
    /// Stores a template. Returns `false` (and changes nothing) when a template with the
    /// same user and face id exists already: re-delivered events are no-ops.
    async fn put_template(&self, template: &Template) -> StoreResult<bool>;
    async fn user_templates(&self, user: &UserId) -> StoreResult<Vec<Template>>;
    async fn all_templates(&self) -> StoreResult<Vec<Template>>;
    async fn list_users(&self) -> StoreResult<Vec<UserSummary>>;
    /// Removes every template of the user; returns how many there were.
    async fn delete_user(&self, user: &UserId) -> StoreResult<usize>;
    /// Changes whenever a template is added or removed, so cached galleries know when
    /// they are stale.
    async fn gallery_version(&self) -> StoreResult<u64>;
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
    /// A URL the client can PUT the photo to, valid for `ttl`.
    async fn presign_put(&self, key: &str, ttl: std::time::Duration) -> StoreResult<String>;
}

#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends one event. Implementations must be idempotent on `event.event_id`.
    async fn append(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Newest first.
    async fn query(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>>;
}

/// What happened when an upload grant was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantTaken {
    /// This caller took it: enroll the upload.
    Fresh,
    /// Taken before (a re-delivered or concurrent event for the same upload): do
    /// nothing, the first taker enrolls it. Used grants are kept, not deleted, exactly
    /// so that a redelivery is told apart from an upload nobody granted.
    AlreadyUsed,
    /// Never granted, expired, or revoked (the user was deleted): the upload is refused.
    Missing,
}

/// Single-use grants for presigned uploads (`POST /v1/uploads`): the bucket trigger
/// enrolls an `enroll/{user}/{upload_id}.jpg` object only against a fresh grant, so a
/// PUT after the user was deleted, or an object written by anyone else, stores nothing.
#[async_trait]
pub trait UploadGrants: Send + Sync {
    /// Records a grant for one upload, valid until `expires_at`.
    async fn put_grant(
        &self,
        user: &UserId,
        upload_id: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Atomically marks the grant used: exactly one caller gets `Fresh`. An expired
    /// grant is `Missing`.
    async fn take_grant(&self, user: &UserId, upload_id: &str) -> StoreResult<GrantTaken>;
    /// Removes every grant of the user (used ones too); returns how many.
    async fn revoke_user_grants(&self, user: &UserId) -> StoreResult<usize>;
}
