//! Audit events: one per request outcome. Never descriptors or images.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Unique; used as the MongoDB `_id` so a retried delivery is not stored twice.
    pub event_id: uuid::Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// e.g. `authenticate`, `enroll`, `enroll_s3`, `delete_user`, `challenge`.
    pub event: String,
    pub user_id: Option<String>,
    /// `success`, `rejected`, `error`, `locked_out`.
    pub outcome: String,
    pub reason: Option<String>,
    pub distance: Option<f32>,
    pub threshold: Option<f32>,
    pub liveness: Option<serde_json::Value>,
    pub request_id: Option<String>,
    pub client: Option<String>,
    pub latency_ms: Option<f64>,
}

impl AuditEvent {
    pub fn new(event: &str, outcome: &str) -> Self {
        Self {
            event_id: uuid::Uuid::new_v4(),
            at: OffsetDateTime::now_utc(),
            event: event.to_owned(),
            user_id: None,
            outcome: outcome.to_owned(),
            reason: None,
            distance: None,
            threshold: None,
            liveness: None,
            request_id: None,
            client: None,
            latency_ms: None,
        }
    }
}

/// Filter and page for `GET /v1/audit`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AuditQuery {
    pub user_id: Option<String>,
    pub outcome: Option<String>,
    pub event: Option<String>,
    /// Only events strictly older than this (the previous page's last `at`).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub before: Option<OffsetDateTime>,
    #[serde(default = "default_limit")]
    pub limit: usize,
}

fn default_limit() -> usize {
    50
}

impl AuditQuery {
    pub fn matches(&self, e: &AuditEvent) -> bool {
        self.user_id
            .as_ref()
            .is_none_or(|u| e.user_id.as_ref() == Some(u))
            && self.outcome.as_ref().is_none_or(|o| &e.outcome == o)
            && self.event.as_ref().is_none_or(|v| &e.event == v)
            && self.before.is_none_or(|b| e.at < b)
    }
    pub fn capped_limit(&self) -> usize {
        self.limit.clamp(1, 500)
    }
}
