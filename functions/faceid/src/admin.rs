//! The original helper scripts as subcommands: they run the same handlers in-process,
//! against whatever storage the environment configures, as the admin.

use anyhow::{bail, Context, Result};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use faceid_wiring::SecretSource;
use serde_json::{json, Value};
use std::path::PathBuf;
use tower::ServiceExt;

struct Local {
    router: axum::Router,
    admin: String,
    state: faceid_api::AppState,
}

async fn local() -> Result<Local> {
    // A one-off admin token for this process only.
    let admin = format!("cli-{}", uuid_like());
    let token = SecretSource::Value(admin.clone());
    let service = faceid_wiring::start(|s| s.admin_token = Some(token))
        .await?
        .service;
    let router = faceid_api::all_routes(&service.state).with_state(service.state.clone());
    Ok(Local {
        router,
        admin,
        state: service.state,
    })
}

fn uuid_like() -> String {
    format!("{:032x}", rand::random::<u128>())
}

async fn call(
    l: &Local,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> Result<(StatusCode, Value)> {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {}", l.admin));
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(serde_json::to_vec(&v)?)
        }
        None => Body::empty(),
    };
    let resp = l.router.clone().oneshot(req.body(body)?).await?;
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

fn print(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

pub async fn enroll(user: &str, images: &[PathBuf]) -> Result<()> {
    let l = local().await?;
    let encoded = images
        .iter()
        .map(|p| {
            std::fs::read(p)
                .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
                .with_context(|| p.display().to_string())
        })
        .collect::<Result<Vec<_>>>()?;
    let (status, body) = call(
        &l,
        "POST",
        &format!("/v1/users/{user}/faces"),
        Some(json!({"images": encoded})),
    )
    .await?;
    print(&body);
    if !status.is_success() {
        bail!("enrollment failed ({status})");
    }
    Ok(())
}

pub async fn users() -> Result<()> {
    let l = local().await?;
    let (status, body) = call(&l, "GET", "/v1/users", None).await?;
    print(&body);
    if !status.is_success() {
        bail!("listing users failed ({status})");
    }
    Ok(())
}

pub async fn delete(user: &str) -> Result<()> {
    let l = local().await?;
    let (status, body) = call(&l, "DELETE", &format!("/v1/users/{user}"), None).await?;
    print(&body);
    if !status.is_success() {
        bail!("delete failed ({status})");
    }
    Ok(())
}

/// Matches the face of one image against the gallery (no liveness: not a login).
pub async fn authenticate(image: &std::path::Path, user: Option<&str>) -> Result<()> {
    let l = local().await?;
    let bytes = std::fs::read(image).with_context(|| image.display().to_string())?;
    let state = l.state.clone();
    let detector = state.config.detector;
    let analysis =
        tokio::task::spawn_blocking(move || state.analyzer.analyze(&bytes, detector)).await??;
    let Some(face) = analysis.faces.first() else {
        bail!("no face found in {}", image.display())
    };
    let gallery = l
        .state
        .gallery
        .get(l.state.stores.templates.as_ref())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // The service's own decision policy on one frame (an operator's tool: it prints the
    // figures a login response never shows).
    let policy = &l.state.config.policy;
    let frames = [face.descriptor.clone()];
    let decision = match user {
        Some(u) => policy.verify(
            &gallery,
            &faceid_core::UserId::parse(u).map_err(|e| anyhow::anyhow!(e.0))?,
            &frames,
        ),
        None => policy.identify(&gallery, &frames),
    };
    print(&json!({
        "match": decision.refusal.is_none(),
        "user_id": decision.user_id,
        "reason": decision.refusal.map(|r| r.code()),
        "distance": decision.score.as_ref().map(|s| s.median),
        "runner_up_distance": decision.runner_up,
        "verify_distance": policy.verify_distance,
        "identify_distance": policy.identify_distance,
    }));
    Ok(())
}
