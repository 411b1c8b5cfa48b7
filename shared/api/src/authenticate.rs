//! `POST /v1/challenge`, `POST /v1/authenticate`.

use crate::analysis::analyze_each;
use crate::audit::{record, Timer};
use crate::auth::{ClientAddr, RequestId};
use crate::error::ApiError;
use crate::extract::{decode_image_b64, ApiJson};
use crate::sessions::issue_session;
use crate::state::ApiConfig;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use faceid_core::audit::AuditEvent;
use faceid_core::face::{FaceObservation, ImageAnalysis};
use faceid_core::lockout::{LockoutKey, Outcome, Reservation};
use faceid_core::matching::Gallery;
use faceid_core::policy::Refusal;
use faceid_core::ports::Redeemed;
use faceid_core::replay;
use faceid_core::screen_light::{FrameColour, Light, LightPolicy, PoseGroup};
use faceid_core::{Challenge, ChallengeId, Descriptor, Turn, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::borrow::Cow;
use time::OffsetDateTime;

#[derive(Serialize)]
pub struct ChallengeResponse {
    pub challenge_id: ChallengeId,
    pub steps: Vec<Turn>,
    /// The screen colour to show while taking each frame (frame `i` under `lights[i]`);
    /// empty when the screen-light check is off.
    pub lights: Vec<Light>,
    /// Still frames to take (and send first) in the countdown, each under its colour:
    /// `lights[..light_phase_frames]`; the steps' frames take the colours after them.
    pub light_phase_frames: usize,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub min_frames: usize,
    /// The most frames for the steps (the light phase's come on top).
    pub max_frames: usize,
}

pub async fn create_challenge(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<ChallengeResponse>), ApiError> {
    let challenge = Challenge::of_kind(
        state.config.challenge_steps,
        state.clock.now(),
        state.config.challenge_ttl,
    );
    state.stores.challenges.put_challenge(&challenge).await?;
    let liveness = &state.config.liveness;
    let max_frames = state.config.frame_budget();
    let light_phase_frames = state.config.phase_frames();
    let lights = match liveness.screen_light {
        Some(_) => (challenge.lights.iter())
            .take(light_phase_frames + max_frames)
            .copied()
            .collect(),
        None => vec![],
    };
    Ok((
        StatusCode::CREATED,
        Json(ChallengeResponse {
            challenge_id: challenge.id,
            steps: challenge.steps,
            lights,
            light_phase_frames,
            expires_at: challenge.expires_at,
            min_frames: liveness.min_frames,
            max_frames,
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

pub async fn authenticate(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    RequestId(request_id): RequestId,
    ApiJson(req): ApiJson<AuthenticateRequest>,
) -> Result<Response, ApiError> {
    // Receipt: the request and its frames are in (the answer window is measured to here,
    // before any work on them).
    let received_at = state.clock.now();
    let timer = Timer::start(request_id);
    let login = Login::parse(&state.config, req, received_at)?;
    let mut attempt = Attempt::new(&state, &timer, client, login.user.clone());
    let ended = attempt.run(login).await;
    attempt.finish(ended).await
}

/// A validated request: nothing has been charged or stored yet.
struct Login {
    user: Option<UserId>,
    challenge: Option<ChallengeId>,
    frames: Vec<Vec<u8>>,
    /// When the server had the request (the challenge clock).
    received_at: OffsetDateTime,
}

impl Login {
    fn parse(
        cfg: &ApiConfig,
        req: AuthenticateRequest,
        received_at: OffsetDateTime,
    ) -> Result<Self, ApiError> {
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
        let challenge = req
            .challenge_id
            .as_deref()
            .map(ChallengeId::parse)
            .transpose()
            .map_err(|e| ApiError::bad_request("bad_challenge_id", e.0))?;
        if cfg.require_liveness && challenge.is_none() {
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
        Ok(Login {
            user,
            challenge,
            frames,
            received_at,
        })
    }
}

/// How a login ended before a token: a refusal the client may see (reason code and
/// message), with the lockout outcome it settles to; or an error response.
enum Stop {
    Refused {
        reason: Cow<'static, str>,
        message: &'static str,
        outcome: Outcome,
        /// The audit log's reason when it says more than the client's (e.g.
        /// `frame_mismatch`, which a client must not tell apart from `no_match`).
        audit_reason: Option<&'static str>,
    },
    Locked(i64),
    Error(ApiError),
}

impl From<ApiError> for Stop {
    fn from(e: ApiError) -> Self {
        Stop::Error(e)
    }
}

impl From<faceid_core::ports::StoreError> for Stop {
    fn from(e: faceid_core::ports::StoreError) -> Self {
        Stop::Error(e.into())
    }
}

impl Stop {
    fn refused(
        reason: impl Into<Cow<'static, str>>,
        message: &'static str,
        outcome: Outcome,
    ) -> Self {
        Stop::Refused {
            reason: reason.into(),
            message,
            outcome,
            audit_reason: None,
        }
    }
}

/// One login attempt through its steps: parse → reserve → redeem challenge → analyse →
/// liveness → match → frames not seen before → issue. It carries the audit event and the
/// lockout reservations, which [`Attempt::finish`] settles and records whatever the ending.
struct Attempt<'a> {
    state: &'a AppState,
    timer: &'a Timer,
    event: AuditEvent,
    client: String,
    claimed: Option<UserId>,
    /// Reserved lockout keys and whether each is a user's.
    reserved: Vec<(Reservation, bool)>,
    /// From the challenge's issue to the request's receipt (the audit event's
    /// `liveness.answer_ms`).
    answer_ms: Option<i64>,
}

impl<'a> Attempt<'a> {
    fn new(state: &'a AppState, timer: &'a Timer, client: String, claimed: Option<UserId>) -> Self {
        let mut event = AuditEvent::new("authenticate", "rejected");
        event.user_id = claimed.as_ref().map(|u| u.to_string());
        event.client = Some(client.clone());
        Attempt {
            state,
            timer,
            event,
            client,
            claimed,
            reserved: Vec::new(),
            answer_ms: None,
        }
    }

    async fn run(&mut self, login: Login) -> Result<Response, Stop> {
        let gallery = self
            .state
            .gallery
            .get(self.state.stores.templates.as_ref())
            .await?;
        self.check_identification_allowed(&gallery)?;
        self.reserve(LockoutKey::network(&self.client), false)
            .await?;
        if let Some(u) = self.claimed.clone() {
            self.reserve(LockoutKey::user(&u), true).await?;
        }
        let challenge = self
            .redeem_challenge(login.challenge, login.received_at)
            .await?;
        let analyses = self.analyse(login.frames).await?;
        let descriptors = self.check_liveness(challenge.as_ref(), &analyses)?;
        let user = self.match_faces(&gallery, &descriptors).await?;
        if challenge.is_some() && self.state.config.refuse_seen_frames {
            self.claim_frames(&user, &analyses).await?;
        }
        self.issue(&user).await
    }

    /// 1:N on a gallery too large for its stated FAR is refused before any work.
    fn check_identification_allowed(&self, gallery: &Gallery) -> Result<(), Stop> {
        let policy = &self.state.config.policy;
        if self.claimed.is_none() && !policy.identification_allowed(gallery.len()) {
            let r = Refusal::IdentificationUnavailable;
            return Err(Stop::refused(r.code(), r.message(), Outcome::NotAttempted));
        }
        Ok(())
    }

    /// Charges the key before any face work, so parallel requests cannot pass a lock.
    async fn reserve(&mut self, key: LockoutKey, is_user: bool) -> Result<(), Stop> {
        let cfg = &self.state.config;
        let now = OffsetDateTime::now_utc();
        match cfg
            .lockout
            .reserve(self.state.stores.counters.as_ref(), key, now)
            .await
        {
            Ok(r) => {
                self.reserved.push((r, is_user));
                Ok(())
            }
            Err(Ok(wait)) => Err(Stop::Locked(wait.whole_seconds().max(1))),
            Err(Err(e)) => Err(Stop::Error(e.into())),
        }
    }

    /// The challenge is consumed whatever the outcome: single use. An answer received
    /// sooner than the page can take its frames, or later than its plan and slack, is
    /// refused before any face work (`liveness_too_fast`, `liveness_too_slow`).
    async fn redeem_challenge(
        &mut self,
        id: Option<ChallengeId>,
        received_at: OffsetDateTime,
    ) -> Result<Option<Challenge>, Stop> {
        let Some(id) = id else { return Ok(None) };
        let refused = |reason, message| Err(Stop::refused(reason, message, Outcome::NotAttempted));
        let state = self.state;
        let cfg = &state.config;
        match state.stores.challenges.redeem_challenge(&id).await? {
            Redeemed::Fresh(c) if c.is_expired(received_at) => refused(
                "challenge_expired",
                "The challenge has expired; start again.",
            ),
            Redeemed::Fresh(c) => {
                let answer_ms = (received_at - c.issued_at).whole_milliseconds() as i64;
                self.answer_ms = Some(answer_ms);
                let timing = cfg
                    .answer_window
                    .map(|w| w.check(c.issued_at, received_at, &cfg.capture_plan(c.steps.len())));
                match timing {
                    Some(Err(f)) => {
                        self.event.liveness = Some(json!({ "answer_ms": answer_ms }));
                        Err(Stop::refused(
                            format!("liveness_{}", f.code()),
                            f.message(),
                            Outcome::NotAttempted,
                        ))
                    }
                    _ => Ok(Some(c)),
                }
            }
            Redeemed::AlreadyUsed => refused(
                "challenge_used",
                "This challenge was already used; start again.",
            ),
            Redeemed::Unknown => refused("challenge_unknown", "Unknown challenge; start again."),
        }
    }

    /// The faces of every frame. A frame that is not a usable image ends the attempt
    /// with its 4xx, as a request that did no face work.
    async fn analyse(&mut self, frames: Vec<Vec<u8>>) -> Result<Vec<ImageAnalysis>, Stop> {
        let analyses = analyze_each(self.state, frames, self.state.config.detector).await?;
        let mut out = Vec::with_capacity(analyses.len());
        for (i, a) in analyses.into_iter().enumerate() {
            match a {
                Ok(a) => out.push(a),
                Err(e) => {
                    let e = match ApiError::from(e) {
                        ApiError::BadRequest { code, message } => {
                            ApiError::bad_request(code, format!("frame {i}: {message}"))
                        }
                        other => other,
                    };
                    self.settle(Outcome::NotAttempted).await;
                    return Err(Stop::Error(e));
                }
            }
        }
        Ok(out)
    }

    /// Liveness over the frames, then the descriptors the decision uses: every frame's
    /// one face (identity is checked on the very frames that showed the turns).
    fn check_liveness(
        &mut self,
        challenge: Option<&Challenge>,
        analyses: &[ImageAnalysis],
    ) -> Result<Vec<Descriptor>, Stop> {
        let faces: Vec<&[FaceObservation]> = analyses.iter().map(|a| a.faces.as_slice()).collect();
        let liveness = &self.state.config.liveness;
        if let Some(c) = challenge {
            let phase = self.state.config.phase_frames();
            let report = liveness.evaluate_phased(&c.steps, phase, &faces);
            self.event.liveness = serde_json::to_value(&report).ok();
            if let (Some(v), Some(ms)) = (self.event.liveness.as_mut(), self.answer_ms) {
                v["answer_ms"] = json!(ms);
            }
            if let Some(f) = report.failure {
                return Err(Stop::refused(
                    format!("liveness_{}", f.code()),
                    f.message(),
                    Outcome::Failed,
                ));
            }
            if let Some(light) = &liveness.screen_light {
                let groups = PoseGroup::of_login(report.phase_frames, &report.poses);
                self.check_screen_light(light, c, analyses, &groups)?;
            }
        }
        // The person's face in each frame (bystanders far behind are not matched).
        let single: Vec<Descriptor> = faces
            .iter()
            .filter_map(|f| liveness.main_face(f).map(|one| one.descriptor.clone()))
            .collect();
        if !single.is_empty() {
            return Ok(single);
        }
        Err(if faces.iter().all(|f| f.is_empty()) {
            Stop::refused(
                "no_face",
                "No face was found; face the camera in good light.",
                Outcome::Failed,
            )
        } else {
            Stop::refused(
                "several_faces",
                "More than one face is visible; only the person logging in may be in view.",
                Outcome::Failed,
            )
        })
    }

    /// The frames were lit by this challenge's colours (a recording of another login,
    /// or a replay on a screen, was not). `groups`: each frame's (the light phase's, then
    /// the steps' frames by their pose as the liveness check read it).
    fn check_screen_light(
        &mut self,
        policy: &LightPolicy,
        challenge: &Challenge,
        analyses: &[ImageAnalysis],
        groups: &[PoseGroup],
    ) -> Result<(), Stop> {
        let liveness = &self.state.config.liveness;
        let colours: Vec<Option<FrameColour>> = analyses
            .iter()
            .zip(groups)
            .map(|(a, &group)| {
                liveness
                    .main_face(&a.faces)
                    .map(|one| FrameColour::of(a, one, group))
            })
            .collect();
        let report = policy.evaluate(&challenge.lights, &colours);
        if let Some(liveness) = self.event.liveness.as_mut() {
            liveness["screen_light"] = serde_json::to_value(report).unwrap_or_default();
        }
        match report.failure {
            None => Ok(()),
            Some(f) => Err(Stop::refused(
                format!("liveness_{}", f.code()),
                f.message(),
                Outcome::Failed,
            )),
        }
    }

    /// The decision policy: 1:1 for a claimed user, else 1:N. A 1:N attempt also counts
    /// against the nearest person, who must not be locked.
    async fn match_faces(
        &mut self,
        gallery: &Gallery,
        frames: &[Descriptor],
    ) -> Result<UserId, Stop> {
        let policy = &self.state.config.policy;
        let decision = match &self.claimed {
            Some(u) => policy.verify(gallery, u, frames),
            None => policy.identify(gallery, frames),
        };
        self.event.distance = decision.score.as_ref().map(|s| s.median);
        self.event.threshold = Some(match &self.claimed {
            Some(_) => policy.verify_distance,
            None => policy.identify_distance,
        });
        if self.claimed.is_none() {
            if let Some(nearest) = &decision.user_id {
                self.event.user_id = Some(nearest.to_string());
                self.reserve(LockoutKey::user(nearest), true).await?;
            }
        }
        match (decision.refusal, decision.user_id) {
            (None, Some(user)) => Ok(user),
            (refusal, _) => {
                let refusal = refusal.unwrap_or(Refusal::NoMatch);
                // Only "not recognised" reaches the client: which rule refused is an
                // oracle for an attacker tuning their presentation.
                let client = match refusal {
                    Refusal::IdentificationUnavailable => refusal,
                    _ => Refusal::NoMatch,
                };
                Err(Stop::Refused {
                    reason: client.code().into(),
                    message: client.message(),
                    outcome: Outcome::Failed,
                    audit_reason: Some(refusal.code()),
                })
            }
        }
    }

    /// None of the frames was part of an accepted login of this user before; they are
    /// recorded now, in the same atomic step, so a captured login cannot be sent again.
    async fn claim_frames(
        &mut self,
        user: &UserId,
        analyses: &[ImageAnalysis],
    ) -> Result<(), Stop> {
        let digests = replay::distinct(analyses.iter().map(|a| a.digest));
        let expires_at = OffsetDateTime::now_utc() + replay::SEEN_FRAMES_TTL;
        let seen = self.state.stores.seen_frames.as_ref();
        if seen.claim_frames(user, &digests, expires_at).await? {
            return Ok(());
        }
        Err(Stop::refused(
            "liveness_frames_seen",
            "These frames were sent before; log in with the camera.",
            Outcome::Failed,
        ))
    }

    async fn issue(&mut self, user: &UserId) -> Result<Response, Stop> {
        let now = OffsetDateTime::now_utc();
        let (token, claims) = issue_session(self.state, user, now).await?;
        self.settle(Outcome::Success).await;
        self.event.outcome = "success".into();
        self.event.user_id = Some(user.to_string());
        Ok((
            StatusCode::OK,
            Json(json!({
                "authenticated": true,
                "user_id": user,
                "token": token,
                "expires_at": claims.exp,
                "message": format!("Welcome back, {user}!"),
            })),
        )
            .into_response())
    }

    /// Settles every reservation once (a failed settle leaves the charge: fail closed).
    async fn settle(&mut self, outcome: Outcome) {
        let lockout = &self.state.config.lockout;
        for (r, is_user) in std::mem::take(&mut self.reserved) {
            let counters = self.state.stores.counters.as_ref();
            if let Err(e) = lockout.settle(counters, &r, outcome, is_user).await {
                tracing::warn!(error = %e, "lockout counter not settled; the charge stays");
            }
        }
    }

    /// Settles what is left, records the audit event and answers.
    async fn finish(mut self, ended: Result<Response, Stop>) -> Result<Response, ApiError> {
        let result = match ended {
            Ok(resp) => Ok(resp),
            Err(Stop::Refused {
                reason,
                message,
                outcome,
                audit_reason,
            }) => {
                self.settle(outcome).await;
                self.event.reason =
                    Some(audit_reason.map_or_else(|| reason.to_string(), str::to_owned));
                let body = json!({"authenticated": false, "reason": reason, "message": message});
                Ok((StatusCode::UNAUTHORIZED, Json(body)).into_response())
            }
            Err(Stop::Locked(retry_after_secs)) => {
                self.settle(Outcome::NotAttempted).await;
                self.event.outcome = "locked_out".into();
                Err(ApiError::TooManyRequests { retry_after_secs })
            }
            Err(Stop::Error(e)) => {
                // Charges stay on errors after face work (a storage failure must not
                // become a free retry); input errors were refunded where they arose.
                self.settle(Outcome::Failed).await;
                self.event.outcome = match e {
                    ApiError::Unavailable(_) | ApiError::Internal(_) => "error".into(),
                    _ => "rejected".into(),
                };
                self.event.reason = Some(e.code().to_owned());
                Err(e)
            }
        };
        record(self.state, self.event, self.timer).await;
        result
    }
}
