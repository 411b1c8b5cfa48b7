//! `faceid serve`: every API route, the local upload route, the OpenAPI description and
//! the web page, on one socket.

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::{Path as AxPath, Query, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};
use faceid_api::{ApiError, AppState};
use faceid_storage::LocalImageStore;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

/// The OpenAPI description of every route (`infra/openapi.json`).
pub const OPENAPI: &str = include_str!("../../../infra/openapi.json");

#[derive(Clone)]
struct LocalUploads {
    state: AppState,
    images: Arc<LocalImageStore>,
}

#[derive(Deserialize)]
struct UploadQuery {
    expires: i64,
    sig: String,
}

/// `PUT /v1/local-uploads/{key}`: the local stand-in for a presigned S3 PUT followed by
/// the bucket notification.
async fn local_upload(
    State(up): State<LocalUploads>,
    AxPath(key): AxPath<String>,
    query: Result<Query<UploadQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) =
        query.map_err(|_| ApiError::bad_request("bad_upload_url", "missing expires/sig"))?;
    up.images
        .verify_presigned(&key, q.expires, &q.sig)
        .map_err(|e| ApiError::Forbidden(format!("upload URL rejected: {e}")))?;
    if body.is_empty() {
        return Err(ApiError::bad_request("empty_body", "the upload is empty"));
    }
    let etag = format!("{:x}", fnv1a_128(&body));
    if !up.images.put_new_image(&key, body.to_vec()).await? {
        return Err(ApiError::Conflict {
            code: faceid_api::enroll::UPLOAD_URL_REUSED,
            message: "this upload URL was used already; ask for a new one".into(),
        });
    }
    let outcome = faceid_api::enroll::enroll_stored_photo(&up.state, "local", &key, &etag).await?;
    Ok((StatusCode::OK, Json(outcome)))
}

/// FNV-1a, 128-bit: the local stand-in for S3's ETag, which only needs to tell two
/// uploads apart (not a cryptographic digest; the grant check does not rely on one).
fn fnv1a_128(bytes: &[u8]) -> u128 {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for &b in bytes {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    h
}

/// Static files for page requests; API-looking requests keep JSON errors.
async fn web_or_json_404(files: ServeDir, req: axum::extract::Request) -> axum::response::Response {
    use tower::ServiceExt;
    let page_request = matches!(*req.method(), Method::GET | Method::HEAD)
        && !req.uri().path().starts_with("/v1/");
    if !page_request {
        return ApiError::NotFound("no such route".into()).into_response();
    }
    match files.oneshot(req).await {
        Ok(resp) => resp.into_response(),
        Err(e) => ApiError::Internal(e.to_string()).into_response(),
    }
}

fn web_dir(arg: Option<PathBuf>) -> PathBuf {
    arg.unwrap_or_else(|| {
        let local = PathBuf::from("web");
        if local.join("index.html").exists() {
            local
        } else {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web"))
        }
    })
}

/// Builds the whole local app (also used by the tests).
pub fn app(state: AppState, local_images: Option<Arc<LocalImageStore>>, web: PathBuf) -> Router {
    let mut router = faceid_api::all_routes(&state)
        .route(
            "/openapi.json",
            get(|| async { ([("content-type", "application/json")], OPENAPI) }),
        )
        .with_state(state.clone());
    if let Some(images) = local_images {
        let uploads = Router::new()
            .route("/v1/local-uploads/{*key}", put(local_upload))
            .with_state(LocalUploads {
                state: state.clone(),
                images,
            });
        router = router.merge(uploads);
    }
    let files = ServeDir::new(web).append_index_html_on_directories(true);
    let router = router
        .fallback(move |req: axum::extract::Request| web_or_json_404(files.clone(), req))
        .layer(axum::middleware::from_fn(
            crate::unread_body::close_if_body_unread,
        ));
    match state
        .config
        .cors_origin
        .as_deref()
        .and_then(|o| HeaderValue::from_str(o).ok())
    {
        Some(origin) => router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::exact(origin))
                .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
                .allow_headers([
                    axum::http::header::AUTHORIZATION,
                    axum::http::header::CONTENT_TYPE,
                ]),
        ),
        None => router,
    }
}

pub async fn run(addr: SocketAddr, web: Option<PathBuf>) -> Result<()> {
    let started = std::time::Instant::now();
    let faceid_wiring::Started { settings, service } = faceid_wiring::start(|s| {
        if std::env::var_os("FACEID_PUBLIC_URL").is_none() {
            s.public_url = format!("http://{addr}");
        }
    })
    .await?;
    let app = app(service.state, service.local_images, web_dir(web));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(
        %addr,
        ready_ms = started.elapsed().as_millis() as u64,
        data_dir = %settings.data_dir.display(),
        "faceid serving on http://{addr}"
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    if let Some(flusher) = service.audit_flusher {
        flusher.shutdown().await;
    }
    Ok(())
}
