//! Request extractors whose failures are our JSON errors, not axum's plain text.

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use base64::Engine;
use faceid_core::UserId;
use serde::de::DeserializeOwned;

/// JSON body. Size is limited by the router's body limit (413); syntax and shape errors
/// are 400 with serde's message.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::bad_request(
                "unsupported_media_type",
                "send Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge("request body is too large".into())
                } else {
                    ApiError::bad_request("bad_body", e.body_text())
                }
            })?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| ApiError::bad_request("malformed_json", format!("invalid JSON body: {e}")))
    }
}

/// The `{user_id}` path segment, validated.
pub struct UserPath(pub UserId);

impl<S: Send + Sync> FromRequestParts<S> for UserPath {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::bad_request("bad_path", e.body_text()))?;
        UserId::parse(&raw)
            .map(UserPath)
            .map_err(|e| ApiError::bad_request("bad_user_id", e.0))
    }
}

/// Decodes a base64 image (standard alphabet, optional `data:image/...;base64,` prefix).
pub fn decode_image_b64(s: &str, index: usize, max_bytes: usize) -> Result<Vec<u8>, ApiError> {
    let payload = match s.find(";base64,") {
        Some(i) if s.starts_with("data:") => &s[i + 8..],
        _ => s,
    };
    // Base64 is 4/3 the size of the bytes: refuse before decoding.
    if payload.len() / 4 * 3 > max_bytes + 3 {
        return Err(ApiError::PayloadTooLarge(format!(
            "image {index} is larger than {max_bytes} bytes"
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload.trim())
        .map_err(|e| {
            ApiError::bad_request(
                "bad_base64",
                format!("image {index} is not valid base64: {e}"),
            )
        })?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "bad_image",
            format!("image {index} is empty"),
        ));
    }
    Ok(bytes)
}
