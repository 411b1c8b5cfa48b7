//! Every error the API returns, mapped to a status code in one place.
//! Body: `{"error": {"code": "...", "message": "..."}}` (plus optional details).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use faceid_core::face::AnalyzeError;
use faceid_core::ports::StoreError;
use serde_json::json;

/// What went wrong on our side, for the log: carried out of the handler in the
/// response's extensions and written by the request's trace layer (`routes::finish`),
/// inside the request's span with its id. The client sees only a generic message.
#[derive(Debug, Clone)]
pub struct ServerFault {
    /// `true`: a bug or a broken invariant (500); `false`: a dependency was down (503).
    pub internal: bool,
    pub detail: String,
}

/// `Retry-After` of a 503.
const UNAVAILABLE_RETRY_AFTER_SECS: i64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    #[error("{0}")]
    Forbidden(String),
    /// A session older than the step-up window tried an account change.
    #[error("log in again to do this")]
    StepUpRequired,
    #[error("{0}")]
    NotFound(String),
    /// The request is valid but the resource's state refuses it (e.g. a face limit).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{message}")]
    Unprocessable {
        code: &'static str,
        message: String,
        details: serde_json::Value,
    },
    #[error("too many failed attempts; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: i64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }
    /// The machine-readable code of the error body, e.g. `unavailable`.
    pub fn code(&self) -> &'static str {
        self.status_and_code().1
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            Self::Unauthorized { code, .. } => (StatusCode::UNAUTHORIZED, code),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::StepUpRequired => (StatusCode::FORBIDDEN, "step_up_required"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        // Internal details go to the log (through `ServerFault`), not to the client.
        let (message, fault) = match &self {
            Self::Internal(detail) => (
                "internal error".to_string(),
                Some(ServerFault {
                    internal: true,
                    detail: detail.clone(),
                }),
            ),
            Self::Unavailable(detail) => (
                "a storage service is unavailable; retry shortly".to_string(),
                Some(ServerFault {
                    internal: false,
                    detail: detail.clone(),
                }),
            ),
            other => (other.to_string(), None),
        };
        let mut body = json!({"error": {"code": code, "message": message}});
        if let Self::Unprocessable { details, .. } = &self {
            body["error"]["details"] = details.clone();
        }
        if let Self::TooManyRequests { retry_after_secs } = &self {
            body["error"]["retry_after"] = json!(retry_after_secs);
        }
        let mut resp = (status, axum::Json(body)).into_response();
        if let Some(fault) = fault {
            resp.extensions_mut().insert(fault);
        }
        let retry_after = match self {
            Self::TooManyRequests { retry_after_secs } => Some(retry_after_secs.max(1)),
            // The storage calls were already retried with backoff; ask the client to wait
            // a little before trying again.
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(v) = retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => Self::Unavailable(m),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<AnalyzeError> for ApiError {
    fn from(e: AnalyzeError) -> Self {
        match e {
            AnalyzeError::Input(m) => Self::bad_request("bad_image", m),
            AnalyzeError::TooLarge(m) => Self::PayloadTooLarge(m),
            AnalyzeError::Internal(m) => Self::Internal(m),
        }
    }
}

#[cfg(test)]
mod fault_tests {
    use super::*;

    #[test]
    fn internal_details_travel_to_the_log_not_to_the_client() {
        let resp = ApiError::Internal("table users#x is corrupt".into()).into_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let fault = resp
            .extensions()
            .get::<ServerFault>()
            .expect("fault for the log");
        assert!(fault.internal && fault.detail.contains("corrupt"));
        let resp = ApiError::Unavailable("DynamoDB timed out".into()).into_response();
        assert!(
            !resp
                .extensions()
                .get::<ServerFault>()
                .expect("fault")
                .internal
        );
        let resp = ApiError::bad_request("bad_image", "not an image").into_response();
        assert!(resp.extensions().get::<ServerFault>().is_none());
    }
}
