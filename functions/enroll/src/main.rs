//! The enroll Lambda function. State is built once per instance and shared by every
//! invocation.

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
    let router = faceid_api::enroll_routes(&state).with_state(state.clone());
    lambda_runtime::run(service_fn(|event: LambdaEvent<enroll::EnrollEvent>| {
        let (state, router) = (&state, &router);
        async move { enroll::handle(state, router, event).await }
    }))
    .await
}
