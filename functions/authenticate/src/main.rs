//! The authenticate Lambda function: the authenticate router behind API Gateway.
//! Models load once per instance, before the first request.

use faceid_lambda::{reported, respond, ApiEvent, ApiRouter};
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let started = reported(faceid_wiring::start(|_| {}).await).await?;
    let state = started.service.state;
    let app = ApiRouter::new(faceid_api::authenticate_routes(&state).with_state(state));
    // Events are read as `ApiEvent` (checked) rather than by `lambda_http::run`, which
    // would panic on a few malformed events outside the runtime's panic guard.
    lambda_runtime::run(service_fn(|event: LambdaEvent<ApiEvent>| {
        let app = &app;
        async move { respond(app, event.payload, event.context).await }
    }))
    .await
}
