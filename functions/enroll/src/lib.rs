//! The enroll function's event handling: API Gateway HTTP requests go to the enroll
//! router; S3 `ObjectCreated` notifications enroll the uploaded photos.

use aws_lambda_events::event::s3::S3Event;
use faceid_api::AppState;
use faceid_lambda::{respond, ApiEvent, ApiRouter};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};

pub mod s3;

/// Everything the enroll function is invoked with: an S3 notification (it has
/// `Records`) or an API Gateway request.
#[derive(Debug)]
pub enum EnrollEvent {
    S3(S3Event),
    Http(ApiEvent),
}

impl<'de> Deserialize<'de> for EnrollEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = serde_json::Value::deserialize(d)?;
        if v.get("Records").is_some() {
            serde_json::from_value(v)
                .map(EnrollEvent::S3)
                .map_err(D::Error::custom)
        } else {
            ApiEvent::from_value(v)
                .map(EnrollEvent::Http)
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
    router: &ApiRouter,
    event: LambdaEvent<EnrollEvent>,
) -> Result<EnrollOutput, lambda_runtime::Error> {
    let LambdaEvent { payload, context } = event;
    match payload {
        EnrollEvent::S3(event) => {
            // An error here makes Lambda retry the event; enrollment is idempotent.
            let outcomes = s3::handle_s3_event(state, event)
                .await
                .map_err(|e| e.to_string())?;
            for o in &outcomes {
                tracing::info!(key = %o.key, outcome = o.outcome, reason = o.reason.as_deref(), "S3 upload processed");
            }
            Ok(EnrollOutput::S3 { outcomes })
        }
        EnrollEvent::Http(req) => Ok(EnrollOutput::Http(respond(router, req, context).await?)),
    }
}
