//! Routers: one per Lambda function, and the union for the local server.

use crate::error::ApiError;
use crate::state::AppState;
use crate::{admin, authenticate, enroll, sessions};
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
    use tower_http::request_id::PropagateRequestIdLayer;
    router
        .route("/healthz", get(admin::healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(log_response),
        )
        // Every request gets our id, echoed in the response, carried by its log span and
        // written to its audit event. Outermost, so the trace layer's span already sees it.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(axum::middleware::map_request_with_state(
            state.clone(),
            assign_request_id,
        ))
}

/// A request id the platform assigned (Lambda's), put in the request's extensions by
/// the glue around the router, so that log lines, audit event and platform logs share it.
#[derive(Clone, Debug)]
pub struct PlatformRequestId(pub String);

/// Sets `x-request-id`: the platform's id, else the caller's when the configuration
/// trusts it (`trust_request_id`), else a fresh UUID. Otherwise a caller's own is
/// replaced: an id a client chooses must not land in the audit log as ours.
async fn assign_request_id(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
) -> axum::extract::Request {
    use axum::http::HeaderValue;
    let platform = req
        .extensions()
        .get::<PlatformRequestId>()
        .and_then(|id| HeaderValue::from_str(&id.0).ok());
    let trusted_caller = || {
        let caller = req.headers().get("x-request-id")?;
        let usable = caller.len() <= 128 && caller.as_bytes().iter().all(|b| b.is_ascii_graphic());
        (state.config.trust_request_id && usable).then(|| caller.clone())
    };
    let id = platform.or_else(trusted_caller).unwrap_or_else(|| {
        let uuid = uuid::Uuid::new_v4().to_string();
        HeaderValue::from_str(&uuid).expect("a UUID is a header value")
    });
    req.headers_mut().insert("x-request-id", id);
    req
}

/// The request's span: method, path and request id (set by the layer outside).
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
}

/// One line per request inside its span: its status and time, and the server-side
/// fault an `ApiError` handed out of the handler (the client got only a generic message).
fn log_response(
    resp: &axum::http::Response<axum::body::Body>,
    latency: std::time::Duration,
    _: &tracing::Span,
) {
    let (status, ms) = (resp.status().as_u16(), latency.as_millis() as u64);
    match resp.extensions().get::<crate::error::ServerFault>() {
        Some(f) if f.internal => tracing::error!(detail = %f.detail, status, ms, "internal error"),
        Some(f) => tracing::warn!(detail = %f.detail, status, ms, "dependency unavailable"),
        None => tracing::info!(status, ms, "answered"),
    }
}

/// A router that also records its (method, path) pairs, so the OpenAPI description can
/// be checked against what is really served.
struct Routes {
    router: Router<AppState>,
    table: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            table: vec![],
        }
    }
    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        handler: axum::routing::MethodRouter<AppState>,
    ) -> Self {
        self.router = self.router.route(path, handler);
        self.table.push((method, path));
        self
    }
    fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }
}

fn authenticate_paths() -> Routes {
    Routes::new()
        .add(
            "POST",
            "/v1/challenge",
            post(authenticate::create_challenge),
        )
        .add("POST", "/v1/authenticate", post(authenticate::authenticate))
        .add("GET", "/v1/session", get(sessions::session))
        .add(
            "DELETE",
            "/v1/sessions",
            delete(sessions::logout_everywhere),
        )
        .add("GET", "/.well-known/jwks.json", get(sessions::jwks))
}

fn enroll_paths() -> Routes {
    Routes::new()
        .add("POST", "/v1/users/{user_id}/faces", post(enroll::add_faces))
        .add("POST", "/v1/uploads", post(enroll::create_upload))
        .add("GET", "/v1/users", get(admin::list_users))
        .add("DELETE", "/v1/users/{user_id}", delete(admin::delete_user))
        .add(
            "DELETE",
            "/v1/users/{user_id}/sessions",
            delete(sessions::revoke_user_sessions),
        )
        .add("GET", "/v1/audit", get(admin::audit))
}

/// (method, path) pairs.
pub type RouteTable = Vec<(&'static str, &'static str)>;

/// Every (method, path) the API serves (plus `GET /healthz`), for the OpenAPI check.
pub fn route_table() -> RouteTable {
    let mut t = authenticate_paths().merge(enroll_paths()).table;
    t.push(("GET", "/healthz"));
    t
}

/// The (method, path) pairs each function serves, for checking the deployment template:
/// `(enroll, authenticate)`.
pub fn function_route_tables() -> (RouteTable, RouteTable) {
    (enroll_paths().table, authenticate_paths().table)
}

/// Routes of the authenticate function.
pub fn authenticate_routes(state: &AppState) -> Router<AppState> {
    finish(authenticate_paths().router, state)
}

/// Routes of the enroll function (enrollment and administration).
pub fn enroll_routes(state: &AppState) -> Router<AppState> {
    finish(enroll_paths().router, state)
}

/// Every route (the local server adds the web page and local uploads on top).
pub fn all_routes(state: &AppState) -> Router<AppState> {
    finish(authenticate_paths().merge(enroll_paths()).router, state)
}
