//! Session tokens as a resource: issuing them (after a face login), checking them against
//! the user's session version, publishing the public key, and revoking them.
//!
//! `GET /v1/session`, `GET /.well-known/jwks.json`, `DELETE /v1/sessions` (log out
//! everywhere) and `DELETE /v1/users/{user_id}/sessions` (admin).

use crate::auth::{bearer, Caller};
use crate::error::ApiError;
use crate::extract::UserPath;
use crate::state::AppState;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use faceid_core::token::Claims;
use faceid_core::UserId;
use serde_json::json;
use time::OffsetDateTime;

/// Issues a session for `user`, who has just logged in with their face, at the user's
/// current session version (so a later bump revokes it).
pub async fn issue_session(
    state: &AppState,
    user: &UserId,
    now: OffsetDateTime,
) -> Result<(String, Claims), ApiError> {
    let signer = state.config.tokens.signer().ok_or_else(|| {
        ApiError::Internal("this function holds only the public session key".into())
    })?;
    let sv = state.stores.sessions.session_version(user).await?;
    Ok(signer.issue(user.as_str(), sv, now))
}

/// Verifies `token` (signature, expiry, audience) and that it has not been revoked.
pub async fn verify_session(
    state: &AppState,
    token: &str,
    now: OffsetDateTime,
) -> Result<(UserId, Claims), ApiError> {
    let claims = state
        .config
        .tokens
        .verify(token, now)
        .map_err(|e| ApiError::unauthorized("invalid_token", e.to_string()))?;
    let user = UserId::parse(&claims.sub)
        .map_err(|_| ApiError::unauthorized("invalid_token", "bad subject"))?;
    // One consistent read per request: revocation takes effect immediately, not when
    // the token expires.
    let current = state.stores.sessions.session_version(&user).await?;
    if claims.sv != current {
        return Err(ApiError::unauthorized(
            "token_revoked",
            "this session was revoked; log in again",
        ));
    }
    Ok((user, claims))
}

/// `GET /v1/session`: verifies a session token (for web apps that received one).
pub async fn session(
    State(state): State<AppState>,
    parts: Parts,
) -> Result<Json<serde_json::Value>, ApiError> {
    let token = bearer(&parts).ok_or_else(|| {
        ApiError::unauthorized(
            "missing_token",
            "send Authorization: Bearer <session token>",
        )
    })?;
    let (_, claims) = verify_session(&state, token, OffsetDateTime::now_utc()).await?;
    Ok(Json(json!({
        "valid": true,
        "user_id": claims.sub,
        "expires_at": claims.exp,
        "auth_time": claims.auth_time,
        "issuer": claims.iss,
        "audience": claims.aud,
    })))
}

/// `GET /.well-known/jwks.json`: the public key relying parties verify sessions with.
pub async fn jwks(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.config.tokens.verifier().jwks())
}

/// `DELETE /v1/sessions`: the caller's own "log out everywhere". No step-up: ending
/// sessions can only reduce access.
pub async fn logout_everywhere(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    let Caller::User { user, .. } = caller else {
        return Err(ApiError::Forbidden(
            "the admin token has no sessions; use DELETE /v1/users/{user_id}/sessions".into(),
        ));
    };
    state.stores.sessions.bump_session_version(&user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/users/{user_id}/sessions` (admin): revokes every session of the user.
pub async fn revoke_user_sessions(
    State(state): State<AppState>,
    caller: Caller,
    UserPath(user): UserPath,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    state.stores.sessions.bump_session_version(&user).await?;
    Ok(StatusCode::NO_CONTENT)
}
