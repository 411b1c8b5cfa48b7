//! The enroll Lambda function. State is built once per instance and shared by every
//! invocation.

use faceid_lambda::report_init_error;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let state = match faceid_wiring::start(|_| {}).await {
        Ok(started) => started.service.state,
        Err(e) => return Err(report_init_error(e).await.into()),
    };
    let router = faceid_api::enroll_routes(&state).with_state(state.clone());
    lambda_runtime::run(service_fn(|event: LambdaEvent<enroll::EnrollEvent>| {
        let (state, router) = (&state, &router);
        async move { enroll::handle(state, router, event).await }
    }))
    .await
}
