//! The authenticate Lambda function: the authenticate router run by `lambda_http`.
//! Models load once per instance, before the first request.

use faceid_embedding::FacePipeline;
use faceid_runtime::{build_service, init_tracing, Settings};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_tracing();
    let settings = Settings::from_env()?;
    let pipeline = FacePipeline::bundled()?;
    let service = build_service(&settings, Arc::new(pipeline)).await?;
    let state = service.state;
    let app = faceid_api::authenticate_routes(&state).with_state(state);
    lambda_http::run(app).await
}
