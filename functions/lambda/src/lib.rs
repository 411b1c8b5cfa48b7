//! Lambda glue shared by the two functions (`enroll`, `authenticate`): API Gateway events
//! checked before `lambda_http` converts them, the router that gives each request
//! Lambda's request id, and start-up failures reported to Lambda.

mod apigw;
mod init;

pub use apigw::{respond, ApiEvent, ApiRouter};
pub use init::{report_init_error, reported};
