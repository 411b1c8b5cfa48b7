//! API Gateway events for the Lambda functions, checked before `lambda_http` sees them.
//!
//! `lambda_http` / `aws_lambda_events` turn an event into an `http::Request` with a few
//! `expect`s: a `host` header or `domainName` that does not make a URI, a body flagged
//! base64 that is not base64 (found by the `s3_event` fuzz target). API Gateway never
//! sends such events, but a panic would make the invocation fail (a 502 for the
//! client, a stack trace in the log) instead of a clear 400. [`ApiEvent`] names the
//! known cases up front; [`respond`] turns any other panic of that conversion into a 400.

use axum::extract::Request;
use base64::Engine;
use faceid_api::PlatformRequestId;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::Service;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde::Deserialize;
use serde_json::{json, Value};

/// An API Gateway request, or the reason `lambda_http` could not take it.
#[derive(Debug)]
pub enum ApiEvent {
    Request(Box<LambdaRequest>),
    Malformed(String),
}

impl ApiEvent {
    pub fn from_value(v: Value) -> Result<Self, serde_json::Error> {
        match malformed(&v) {
            Some(problem) => Ok(Self::Malformed(problem)),
            None => serde_json::from_value(v).map(|r| Self::Request(Box::new(r))),
        }
    }
}

impl<'de> Deserialize<'de> for ApiEvent {
    // Not derived: `LambdaRequest` deserialises only from a real value.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        Self::from_value(Value::deserialize(d)?).map_err(D::Error::custom)
    }
}

fn malformed(v: &Value) -> Option<String> {
    let host = v
        .get("headers")
        .and_then(|h| h.get("host"))
        .and_then(Value::as_str);
    if let Some(host) = host {
        if let Err(e) = host.parse::<http::uri::Authority>() {
            return Some(format!("host header is not a valid authority: {e}"));
        }
    }
    let flagged = v.get("isBase64Encoded").and_then(Value::as_bool) == Some(true);
    if let (true, Some(body)) = (flagged, v.get("body").and_then(Value::as_str)) {
        if base64::engine::general_purpose::STANDARD
            .decode(body)
            .is_err()
        {
            return Some("body is flagged base64 but is not base64".into());
        }
    }
    None
}

/// A function's router, ready for API Gateway events: every request carries Lambda's
/// request id as [`PlatformRequestId`], which the router's request-id layer makes its
/// `x-request-id`: the id its log lines carry (`span.requestId`) and its audit event
/// records, so one id finds both. The layer is added once, here, not per invocation.
#[derive(Clone)]
pub struct ApiRouter(axum::Router);

impl ApiRouter {
    pub fn new(router: axum::Router) -> Self {
        Self(router.layer(axum::middleware::map_request(lambda_request_id)))
    }
}

/// `lambda_http` puts the invocation's `Context` in the request's extensions.
async fn lambda_request_id(mut req: Request) -> Request {
    if let Some(ctx) = req.extensions().get::<Context>() {
        let id = PlatformRequestId(ctx.request_id.clone());
        req.extensions_mut().insert(id);
    }
    req
}

/// Runs the request through `router`; the API Gateway response as JSON.
pub async fn respond(
    router: &ApiRouter,
    event: ApiEvent,
    context: Context,
) -> Result<Value, lambda_http::Error> {
    let problem = match event {
        ApiEvent::Request(req) => {
            let mut adapter = Adapter::from(router.0.clone());
            // `call` converts the event synchronously, before any handler runs (the
            // handlers run when the returned future is polled, outside this guard).
            let converted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                adapter.call(LambdaEvent::new(*req, context))
            }));
            match converted {
                Ok(response) => return Ok(serde_json::to_value(response.await?)?),
                Err(_) => "the event cannot be read as an HTTP request".to_owned(),
            }
        }
        ApiEvent::Malformed(problem) => problem,
    };
    tracing::warn!(%problem, "malformed API Gateway event");
    let body = json!({"error": {"code": "bad_request", "message": problem}});
    Ok(json!({
        "statusCode": 400,
        "headers": {"content-type": "application/json"},
        "body": body.to_string(),
        "isBase64Encoded": false,
    }))
}
