//! The authenticate Lambda function: the authenticate router behind API Gateway.
//! Models load once per instance, before the first request.

use faceid_api::lambda_event::{respond, ApiEvent};
use faceid_embedding::FacePipeline;
use faceid_runtime::{build_service, init_tracing, Settings};
use lambda_runtime::{service_fn, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    faceid_runtime::limit_malloc_arenas();
    init_tracing();
    let settings = Settings::from_env()?;
    let pipeline = FacePipeline::bundled()?;
    let service = build_service(&settings, Arc::new(pipeline)).await?;
    let state = service.state;
    let app = faceid_api::authenticate_routes(&state).with_state(state);
    // Events are read as `ApiEvent` (checked) rather than by `lambda_http::run`, which
    // would panic on a few malformed events outside the runtime's panic guard.
    lambda_runtime::run(service_fn(|event: LambdaEvent<ApiEvent>| {
        let app = &app;
        async move { respond(app, event.payload, event.context).await }
    }))
    .await
}
