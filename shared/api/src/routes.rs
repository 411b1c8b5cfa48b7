//! Routers: one per Lambda function, and the union for the local server.

use crate::error::ApiError;
use crate::state::AppState;
use crate::{admin, authenticate, enroll};
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::Router;

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

async fn method_not_allowed() -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = serde_json::json!({"error": {"code": "method_not_allowed", "message": "method not allowed on this route"}});
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

fn finish(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    router
        .route("/healthz", get(admin::healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes))
}

fn authenticate_paths() -> Router<AppState> {
    Router::new()
        .route("/v1/challenge", post(authenticate::create_challenge))
        .route("/v1/authenticate", post(authenticate::authenticate))
        .route("/v1/session", get(authenticate::session))
}

fn enroll_paths() -> Router<AppState> {
    Router::new()
        .route("/v1/users/{user_id}/faces", post(enroll::add_faces))
        .route("/v1/uploads", post(enroll::create_upload))
        .route("/v1/users", get(admin::list_users))
        .route("/v1/users/{user_id}", delete(admin::delete_user))
        .route("/v1/audit", get(admin::audit))
}

/// Routes of the authenticate function.
pub fn authenticate_routes(state: &AppState) -> Router<AppState> {
    finish(authenticate_paths(), state)
}

/// Routes of the enroll function (enrollment and administration).
pub fn enroll_routes(state: &AppState) -> Router<AppState> {
    finish(enroll_paths(), state)
}

/// Every route (the local server adds the web page and local uploads on top).
pub fn all_routes(state: &AppState) -> Router<AppState> {
    finish(authenticate_paths().merge(enroll_paths()), state)
}
