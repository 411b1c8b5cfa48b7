//! Writing audit events from handlers.

use crate::state::AppState;
use faceid_core::audit::AuditEvent;
use std::time::Instant;

pub struct Timer(Instant);

impl Timer {
    pub fn start() -> Self {
        Self(Instant::now())
    }
    pub fn ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1e3
    }
}

/// Appends the event. The audit port is spooled (see `faceid-storage`), so a failure here
/// means even the local spool failed: log it loudly, never fail the request for it.
pub async fn record(state: &AppState, mut event: AuditEvent, timer: &Timer) {
    event.latency_ms = Some(timer.ms());
    if let Err(e) = state.stores.audit.append(&event).await {
        tracing::error!(error = %e, event_id = %event.event_id, event = %event.event, "audit event could not be recorded");
    }
}
