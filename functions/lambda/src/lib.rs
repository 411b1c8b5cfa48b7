//! Lambda glue shared by the two functions (`enroll`, `authenticate`): API Gateway events
//! checked before `lambda_http` converts them, and start-up failures reported to Lambda.

mod apigw;
mod init;

pub use apigw::{respond, ApiEvent};
pub use init::report_init_error;
