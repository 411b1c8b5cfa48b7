//! The enroll function's event handling: API Gateway HTTP requests go to the enroll
//! router; S3 `ObjectCreated` notifications enroll the uploaded photos.

use aws_lambda_events::event::s3::S3Event;
use faceid_api::AppState;
use lambda_http::request::LambdaRequest;
use lambda_http::Adapter;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use tower::Service;

/// Everything the enroll function is invoked with: an S3 notification (it has
/// `Records`) or an API Gateway request.
#[derive(Debug)]
pub enum EnrollEvent {
    S3(S3Event),
    Http(Box<LambdaRequest>),
    /// An HTTP event `lambda_http` would panic on (found by the `s3_event` fuzz target:
    /// a `host` header that is not a URI authority); answered with a 400.
    MalformedHttp(String),
}

/// Why `lambda_http` could not turn this event into a request, if we can tell up front:
/// it panics (instead of returning an error) on a `host` header that is not a URI
/// authority and on a body flagged base64 that is not base64 (both found by fuzzing;
/// API Gateway itself never sends either).
fn malformed_http(v: &serde_json::Value) -> Option<String> {
    use base64::Engine;
    let host = v
        .get("headers")
        .and_then(|h| h.get("host"))
        .and_then(|h| h.as_str());
    if let Some(host) = host {
        if let Err(e) = host.parse::<lambda_http::http::uri::Authority>() {
            return Some(format!("host header is not a valid authority: {e}"));
        }
    }
    let flagged = v.get("isBase64Encoded").and_then(|b| b.as_bool()) == Some(true);
    if let (true, Some(body)) = (flagged, v.get("body").and_then(|b| b.as_str())) {
        if base64::engine::general_purpose::STANDARD
            .decode(body)
            .is_err()
        {
            return Some("body is flagged base64 but is not base64".into());
        }
    }
    None
}

impl<'de> Deserialize<'de> for EnrollEvent {
    // Not `#[serde(untagged)]`: `LambdaRequest` does not deserialize from serde's
    // buffered content, only from a real value.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = serde_json::Value::deserialize(d)?;
        if v.get("Records").is_some() {
            serde_json::from_value(v)
                .map(EnrollEvent::S3)
                .map_err(D::Error::custom)
        } else if let Some(problem) = malformed_http(&v) {
            Ok(EnrollEvent::MalformedHttp(problem))
        } else {
            serde_json::from_value(v)
                .map(|r| EnrollEvent::Http(Box::new(r)))
                .map_err(D::Error::custom)
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum EnrollOutput {
    /// The API Gateway response (`lambda_http`'s response type, serialised).
    Http(serde_json::Value),
    S3 {
        outcomes: Vec<faceid_api::enroll::UploadOutcome>,
    },
}

/// Handles one invocation.
pub async fn handle(
    state: &AppState,
    router: &axum::Router,
    event: LambdaEvent<EnrollEvent>,
) -> Result<EnrollOutput, lambda_runtime::Error> {
    let LambdaEvent { payload, context } = event;
    match payload {
        EnrollEvent::S3(s3) => {
            // An error here makes Lambda retry the event; enrollment is idempotent.
            let outcomes = faceid_api::enroll::handle_s3_event(state, s3)
                .await
                .map_err(|e| e.to_string())?;
            for o in &outcomes {
                tracing::info!(key = %o.key, outcome = o.outcome, reason = ?o.reason, "S3 upload processed");
            }
            Ok(EnrollOutput::S3 { outcomes })
        }
        EnrollEvent::MalformedHttp(problem) => {
            tracing::warn!(%problem, "malformed API Gateway event");
            let body = serde_json::json!({"error": {"code": "bad_request", "message": problem}});
            Ok(EnrollOutput::Http(serde_json::json!({
                "statusCode": 400,
                "headers": {"content-type": "application/json"},
                "body": body.to_string(),
                "isBase64Encoded": false,
            })))
        }
        EnrollEvent::Http(req) => {
            let mut adapter = Adapter::from(router.clone());
            let resp = adapter.call(LambdaEvent::new(*req, context)).await?;
            Ok(EnrollOutput::Http(serde_json::to_value(resp)?))
        }
    }
}
