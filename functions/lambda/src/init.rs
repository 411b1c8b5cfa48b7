//! Start-up failures, reported where Lambda looks for them.
//!
//! `lambda_runtime::run` reports only errors of its own loop; a function that fails
//! before it (a bad setting, an unreadable SSM parameter) would just exit, and Lambda
//! would show "Runtime exited" with no reason. The Runtime API's `/init/error` takes the
//! reason, so the console and the caller's `FunctionError` name it.

use lambda_runtime_api_client::{body::Body, build_request, Client};
use serde_json::json;

/// Reports `err` to `/init/error` when running under a Lambda runtime API
/// (`AWS_LAMBDA_RUNTIME_API` set), then hands it back for `main` to return.
pub async fn report_init_error<E: std::fmt::Display>(err: E) -> E {
    let Some(api) = std::env::var("AWS_LAMBDA_RUNTIME_API").ok() else {
        return err;
    };
    if let Err(problem) = post(&api, &err.to_string()).await {
        tracing::error!(%problem, "could not report the start-up failure to /init/error");
    }
    err
}

/// `result`, its error reported to `/init/error` first: a function's start-up is
/// `reported(start().await).await?`.
pub async fn reported<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, E> {
    match result {
        Ok(value) => Ok(value),
        Err(e) => Err(report_init_error(e).await),
    }
}

async fn post(api: &str, message: &str) -> Result<(), lambda_runtime_api_client::BoxError> {
    let client = Client::builder()
        .with_endpoint(format!("http://{api}").parse()?)
        .build()?;
    let body = json!({"errorType": "Runtime.InitError", "errorMessage": message});
    let req = build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header("lambda-runtime-function-error-type", "Runtime.InitError")
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&body)?))?;
    let resp = client.call(req).await?;
    if !resp.status().is_success() {
        return Err(format!("/init/error answered {}", resp.status()).into());
    }
    Ok(())
}
