//! Who is calling: the admin (bearer token compared in constant time) or a user holding
//! a valid session token.

use crate::error::ApiError;
use crate::sessions::verify_session;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use faceid_core::token::secrets_equal;
use faceid_core::UserId;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    Admin,
    User {
        user: UserId,
        /// Unix seconds of the face login the session came from.
        auth_time: i64,
    },
}

impl Caller {
    /// Admin, or the user themself.
    pub fn may_act_for(&self, user: &UserId) -> Result<(), ApiError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::User { user: u, .. } if u == user => Ok(()),
            Caller::User { .. } => Err(ApiError::Forbidden(
                "a session may only act on its own account".into(),
            )),
        }
    }

    /// Admin, or a session whose face login is at most `max_age` old. Changes that
    /// widen or remove access (new faces, uploads, deleting the account) need a fresh
    /// login, so a stolen session cannot enroll the thief's face.
    pub fn require_step_up(&self, max_age: time::Duration) -> Result<(), ApiError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::User { auth_time, .. } => {
                let age = OffsetDateTime::now_utc().unix_timestamp() - auth_time;
                if age <= max_age.whole_seconds() {
                    Ok(())
                } else {
                    Err(ApiError::StepUpRequired)
                }
            }
        }
    }

    /// [`Self::may_act_for`] and [`Self::require_step_up`] together, for account changes.
    pub fn may_change(&self, user: &UserId, max_age: time::Duration) -> Result<(), ApiError> {
        self.may_act_for(user)?;
        self.require_step_up(max_age)
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::User { .. } => Err(ApiError::Forbidden(
                "this route needs the admin token".into(),
            )),
        }
    }
}

pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::unauthorized(
                "missing_token",
                "send Authorization: Bearer <admin or session token>",
            )
        })?;
        if let Some(admin) = &state.config.admin_token {
            if secrets_equal(token.as_bytes(), admin.as_bytes()) {
                return Ok(Caller::Admin);
            }
        }
        let (user, claims) = verify_session(state, token, OffsetDateTime::now_utc()).await?;
        Ok(Caller::User {
            user,
            auth_time: claims.auth_time,
        })
    }
}

/// The client's address for lockout counting.
pub fn client_addr(parts: &Parts, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for {
        if let Some(last) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            return last.to_owned();
        }
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Extractor for the client address.
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(ClientAddr(client_addr(
            parts,
            state.config.trust_forwarded_for,
        )))
    }
}

/// The request's id (`x-request-id`, set by the router's request-id layer).
pub struct RequestId(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestId(
            parts
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(128).collect()),
        ))
    }
}
