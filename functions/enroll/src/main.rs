//! The enroll Lambda function. State is built once per instance and shared by every
//! invocation.

use faceid_lambda::{reported, ApiRouter};
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let started = reported(faceid_wiring::start(|_| {}).await).await?;
    let state = started.service.state;
    let router = ApiRouter::new(faceid_api::enroll_routes(&state).with_state(state.clone()));
    lambda_runtime::run(service_fn(|event: LambdaEvent<enroll::EnrollEvent>| {
        let (state, router) = (&state, &router);
        async move { enroll::handle(state, router, event).await }
    }))
    .await
}
