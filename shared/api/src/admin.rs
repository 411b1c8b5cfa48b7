//! Admin and account routes: list users, delete a user, read the audit log, health.

use crate::audit::{record, Timer};
use crate::auth::{Caller, RequestId};
use crate::error::ApiError;
use crate::extract::UserPath;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use faceid_core::audit::{AuditEvent, AuditQuery};
use faceid_core::keys;
use faceid_core::lockout::LockoutKey;
use serde_json::json;

pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require_admin()?;
    let users = state.stores.templates.list_users().await?;
    Ok(Json(json!({"users": users})))
}

/// Revokes the user's sessions and upload grants, then removes their templates, photos,
/// the digests of their login frames and their lockout counter. The audit log keeps the
/// event (no biometrics in it).
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    RequestId(request_id): RequestId,
    UserPath(user): UserPath,
) -> Result<Json<serde_json::Value>, ApiError> {
    let timer = Timer::start(request_id);
    caller.may_change(&user, state.config.step_up_max_age)?;
    // Revoke first: if a later step fails, no session outlives the request.
    state.stores.sessions.bump_session_version(&user).await?;
    // Grants next: an upload URL issued before this call can no longer enroll a photo,
    // whenever its PUT lands (before or after the deletes below, its object is refused).
    state.stores.upload_grants.revoke_user_grants(&user).await?;
    let templates = state.stores.templates.delete_user(&user).await?;
    // Both prefixes: API-enrolled photos and presigned uploads (faceid_core::keys).
    let mut photos = 0;
    for prefix in keys::user_prefixes(&user) {
        photos += state.stores.images.delete_prefix(&prefix).await?;
    }
    state.stores.seen_frames.forget_frames(&user).await?;
    state
        .stores
        .counters
        .delete_counter(LockoutKey::user(&user).as_str())
        .await?;
    if templates == 0 && photos == 0 {
        return Err(ApiError::NotFound(format!(
            "user {user} has no enrolled faces"
        )));
    }
    let mut ev = AuditEvent::new("delete_user", "success");
    ev.user_id = Some(user.to_string());
    record(&state, ev, &timer).await;
    Ok(Json(
        json!({"user_id": user, "deleted_faces": templates, "deleted_photos": photos}),
    ))
}

pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require_admin()?;
    let Query(mut q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    q.limit = q.capped_limit();
    let events = state.stores.audit.query(&q).await?;
    let next_before = if events.len() == q.limit {
        events.last().map(|e| e.at)
    } else {
        None
    };
    let next = next_before.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    Ok(Json(json!({"events": events, "next_before": next})))
}

pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    match state.stores.templates.gallery_version().await {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "model": state.analyzer.model_id()})),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: template store unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "degraded", "templates": "unavailable"})),
            )
        }
    }
}
