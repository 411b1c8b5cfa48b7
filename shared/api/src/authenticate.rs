//! `POST /v1/challenge`, `POST /v1/authenticate`.

use crate::audit::{record, Timer};
use crate::auth::{ClientAddr, RequestId};
use crate::error::ApiError;
use crate::extract::{decode_image_b64, ApiJson};
use crate::pipeline::analyze_each;
use crate::sessions::issue_session;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use faceid_core::audit::AuditEvent;
use faceid_core::liveness::LivenessReport;
use faceid_core::ports::Redeemed;
use faceid_core::{Challenge, ChallengeId, Turn, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

#[derive(Serialize)]
pub struct ChallengeResponse {
    pub challenge_id: ChallengeId,
    pub steps: Vec<Turn>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub min_frames: usize,
    pub max_frames: usize,
}

pub async fn create_challenge(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<ChallengeResponse>), ApiError> {
    let challenge = Challenge::new(OffsetDateTime::now_utc(), state.config.challenge_ttl);
    state.stores.challenges.put_challenge(&challenge).await?;
    Ok((
        StatusCode::CREATED,
        Json(ChallengeResponse {
            challenge_id: challenge.id,
            steps: challenge.steps,
            expires_at: challenge.expires_at,
            min_frames: state.config.liveness.min_frames,
            max_frames: state
                .config
                .limits
                .max_frames
                .min(state.config.liveness.max_frames),
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthenticateRequest {
    pub challenge_id: Option<String>,
    pub user_id: Option<String>,
    pub frames: Vec<String>,
}

/// Why a login attempt was refused (the `reason` field).
fn rejected(reason: &str, message: &str, extra: serde_json::Value) -> Response {
    let mut body = json!({"authenticated": false, "reason": reason, "message": message});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

pub async fn authenticate(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    RequestId(request_id): RequestId,
    ApiJson(req): ApiJson<AuthenticateRequest>,
) -> Result<Response, ApiError> {
    let timer = Timer::start(request_id);
    let user = req.user_id.clone();
    let result = decide(&state, client.clone(), &timer, req).await;
    // Every decision path records its own event; a storage failure (503) or an internal
    // error interrupts it before that, so record one here: the audit trail has an entry
    // for every login attempt that got past input validation.
    if let Err(e @ (ApiError::Unavailable(_) | ApiError::Internal(_))) = &result {
        let mut ev = AuditEvent::new("authenticate", "error");
        ev.user_id = user;
        ev.client = Some(client);
        ev.reason = Some(e.code().to_owned());
        record(&state, ev, &timer).await;
    }
    result
}

async fn decide(
    state: &AppState,
    client: String,
    timer: &Timer,
    req: AuthenticateRequest,
) -> Result<Response, ApiError> {
    let cfg = &state.config;
    let user = req
        .user_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(UserId::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("bad_user_id", e.0))?;
    if req.frames.is_empty() {
        return Err(ApiError::bad_request(
            "no_frames",
            "send at least one frame",
        ));
    }
    if req.frames.len() > cfg.limits.max_frames {
        return Err(ApiError::bad_request(
            "too_many_frames",
            format!("send at most {} frames", cfg.limits.max_frames),
        ));
    }
    let challenge_id = req
        .challenge_id
        .as_deref()
        .map(ChallengeId::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("bad_challenge_id", e.0))?;
    if cfg.require_liveness && challenge_id.is_none() {
        return Err(ApiError::bad_request(
            "challenge_required",
            "POST /v1/challenge first and send its challenge_id",
        ));
    }
    let frames = req
        .frames
        .iter()
        .enumerate()
        .map(|(i, f)| decode_image_b64(f, i, cfg.limits.max_image_bytes))
        .collect::<Result<Vec<_>, _>>()?;

    // Lockout is checked before any expensive work.
    let now = OffsetDateTime::now_utc();
    let keys: Vec<String> = user
        .iter()
        .map(|u| format!("user#{u}"))
        .chain(std::iter::once(format!("addr#{client}")))
        .collect();
    for key in &keys {
        if let Some(wait) = cfg
            .lockout
            .check(state.stores.counters.as_ref(), key, now)
            .await?
        {
            let mut ev = AuditEvent::new("authenticate", "locked_out");
            ev.user_id = user.as_ref().map(|u| u.to_string());
            ev.client = Some(client.clone());
            record(state, ev, timer).await;
            return Err(ApiError::TooManyRequests {
                retry_after_secs: wait.whole_seconds().max(1),
            });
        }
    }

    let mut event = AuditEvent::new("authenticate", "rejected");
    event.user_id = user.as_ref().map(|u| u.to_string());
    event.client = Some(client.clone());
    event.threshold = Some(cfg.threshold);

    // The challenge is consumed whatever the outcome: single use.
    let challenge = match challenge_id {
        None => None,
        Some(id) => match state.stores.challenges.redeem_challenge(&id).await? {
            Redeemed::Fresh(c) if c.is_expired(now) => {
                return finish_rejected(
                    state,
                    event,
                    &keys,
                    "challenge_expired",
                    "The challenge has expired; start again.",
                    json!({}),
                    timer,
                )
                .await
            }
            Redeemed::Fresh(c) => Some(c),
            Redeemed::AlreadyUsed => {
                return finish_rejected(
                    state,
                    event,
                    &keys,
                    "challenge_used",
                    "This challenge was already used; start again.",
                    json!({}),
                    timer,
                )
                .await
            }
            Redeemed::Unknown => {
                return finish_rejected(
                    state,
                    event,
                    &keys,
                    "challenge_unknown",
                    "Unknown challenge; start again.",
                    json!({}),
                    timer,
                )
                .await
            }
        },
    };

    let analyses = analyze_each(state, frames, cfg.detector).await?;
    let mut faces_per_frame = Vec::with_capacity(analyses.len());
    for (i, a) in analyses.into_iter().enumerate() {
        let a = a.map_err(|e| match ApiError::from(e) {
            ApiError::BadRequest { code, message } => {
                ApiError::bad_request(code, format!("frame {i}: {message}"))
            }
            other => other,
        })?;
        faces_per_frame.push(a.faces);
    }

    let liveness: Option<LivenessReport> = challenge
        .as_ref()
        .map(|c| cfg.liveness.evaluate(&c.steps, &faces_per_frame));
    event.liveness = liveness.as_ref().and_then(|l| serde_json::to_value(l).ok());
    if let Some(l) = &liveness {
        if let Some(f) = l.failure {
            let reason = f.code();
            let extra = json!({"liveness": l});
            return finish_rejected(
                state,
                event,
                &keys,
                &format!("liveness_{reason}"),
                f.message(),
                extra,
                timer,
            )
            .await;
        }
    }
    // The probe: the most frontal single face.
    let probe = faces_per_frame
        .iter()
        .filter(|f| f.len() == 1)
        .map(|f| &f[0])
        .min_by(|a, b| a.yaw().abs().total_cmp(&b.yaw().abs()));
    let Some(probe) = probe else {
        let (reason, msg) = if faces_per_frame.iter().all(|f| f.is_empty()) {
            (
                "no_face",
                "No face was found; face the camera in good light.",
            )
        } else {
            (
                "several_faces",
                "More than one face is visible; only the person logging in may be in view.",
            )
        };
        return finish_rejected(state, event, &keys, reason, msg, json!({}), timer).await;
    };

    let gallery = state.gallery.get(state.stores.templates.as_ref()).await?;
    let best = match &user {
        Some(u) => gallery.nearest_of(u, &probe.descriptor),
        None => gallery.nearest(&probe.descriptor),
    };
    let nearest_distance = best.as_ref().map(|m| m.distance);
    let Some(best) = best.filter(|m| m.distance <= cfg.threshold) else {
        event.distance = nearest_distance;
        return finish_rejected(
            state,
            event,
            &keys,
            "no_match",
            "Face not recognized.",
            json!({"threshold": cfg.threshold}),
            timer,
        )
        .await;
    };

    let (token, claims) = issue_session(state, &best.user_id, OffsetDateTime::now_utc()).await?;
    for key in keys
        .iter()
        .chain(std::iter::once(&format!("user#{}", best.user_id)))
    {
        state.stores.counters.delete_counter(key).await?;
    }
    event.outcome = "success".into();
    event.user_id = Some(best.user_id.to_string());
    event.distance = Some(best.distance);
    record(state, event, timer).await;
    Ok((
        StatusCode::OK,
        Json(json!({
            "authenticated": true,
            "user_id": best.user_id,
            "distance": best.distance,
            "threshold": cfg.threshold,
            "token": token,
            "expires_at": claims.exp,
            "liveness": liveness,
            "message": format!("Welcome back, {}!", best.user_id),
        })),
    )
        .into_response())
}

#[allow(clippy::too_many_arguments)]
async fn finish_rejected(
    state: &AppState,
    mut event: AuditEvent,
    keys: &[String],
    reason: &str,
    message: &str,
    extra: serde_json::Value,
    timer: &Timer,
) -> Result<Response, ApiError> {
    let now = OffsetDateTime::now_utc();
    for key in keys {
        state
            .config
            .lockout
            .record_failure(state.stores.counters.as_ref(), key, now)
            .await?;
    }
    event.reason = Some(reason.to_owned());
    record(state, event, timer).await;
    Ok(rejected(reason, message, extra))
}
