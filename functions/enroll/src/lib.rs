//! The enroll function's event handling: API Gateway HTTP requests go to the enroll
//! router; S3 `ObjectCreated` notifications enroll the uploaded photos.

use aws_lambda_events::event::s3::S3Event;
use faceid_api::AppState;
use lambda_http::request::LambdaRequest;
use lambda_http::Adapter;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use tower::Service;

/// Everything the enroll function is invoked with. S3 events are tried first: an HTTP
/// event never has `Records`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum EnrollEvent {
    S3(S3Event),
    Http(Box<LambdaRequest>),
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
        EnrollEvent::Http(req) => {
            let mut adapter = Adapter::from(router.clone());
            let resp = adapter.call(LambdaEvent::new(*req, context)).await?;
            Ok(EnrollOutput::Http(serde_json::to_value(resp)?))
        }
    }
}
