//! FaceID's HTTP API as axum routers. The Lambda functions run these routers through
//! `lambda_http`; `faceid serve` runs them on a local socket. Handlers are thin: parse,
//! call the pipeline and the ports, map errors in one place (`error.rs`).

pub mod admin;
pub mod analysis;
pub mod audit;
pub mod auth;
pub mod authenticate;
pub mod enroll;
pub mod error;
pub mod extract;
pub mod routes;
pub mod sessions;
pub mod state;

pub use error::ApiError;
pub use routes::{
    all_routes, authenticate_routes, enroll_routes, function_route_tables, route_table,
    PlatformRequestId,
};
pub use state::{ApiConfig, AppState, Clock, Limits, Stores, STEP_UP_MAX_AGE};
