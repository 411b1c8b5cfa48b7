//! Writing audit events from handlers.

use crate::state::AppState;
use faceid_core::audit::AuditEvent;
use std::time::Instant;

/// When a request started and its id: both go into the request's audit event.
pub struct Timer {
    started: Instant,
    request_id: Option<String>,
}

impl Timer {
    pub fn start(request_id: Option<String>) -> Self {
        Self {
            started: Instant::now(),
            request_id,
        }
    }
    pub fn ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1e3
    }
}

/// Appends the event. The audit port is spooled (see `faceid-storage`), so a failure here
/// means even the local spool failed: log it loudly, never fail the request for it.
pub async fn record(state: &AppState, mut event: AuditEvent, timer: &Timer) {
    event.latency_ms = Some(timer.ms());
    if event.request_id.is_none() {
        event.request_id = timer.request_id.clone();
    }
    if let Err(e) = state.stores.audit.append(&event).await {
        tracing::error!(error = %e, event_id = %event.event_id, event = %event.event, "audit event could not be recorded");
    }
}
