//! Enrollment: `POST /v1/users/{user_id}/faces`, `POST /v1/uploads`, and photos that
//! arrive in the bucket (S3 `ObjectCreated` events, or the local server's upload route).

use crate::analysis::analyze_each;
use crate::audit::{record, Timer};
use crate::auth::{Caller, RequestId};
use crate::error::ApiError;
use crate::extract::{decode_image_b64, ApiJson, UserPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use faceid_core::audit::AuditEvent;
use faceid_core::face::{FaceObservation, ImageAnalysis};
use faceid_core::keys::{self, parse_upload_key, photo_key};
use faceid_core::ports::{GrantTaken, PutTemplate};
use faceid_core::{FaceId, Source, Template, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddFacesRequest {
    pub images: Vec<String>,
}

#[derive(Serialize)]
pub struct Quality {
    pub face_px: i64,
    pub sharpness: f32,
    pub yaw: f64,
    pub detector_score: f64,
}

impl Quality {
    fn of(f: &FaceObservation) -> Self {
        Self {
            face_px: f.width(),
            sharpness: f.sharpness,
            yaw: f.yaw(),
            detector_score: f.score,
        }
    }
}

/// Outcome of checking one photo.
enum Checked<'a> {
    Accepted(&'a FaceObservation),
    Rejected { code: &'static str, message: String },
}

fn check_photo<'a>(
    state: &AppState,
    analysis: &'a Result<ImageAnalysis, faceid_core::face::AnalyzeError>,
) -> Checked<'a> {
    match analysis {
        Err(e) => Checked::Rejected {
            code: "bad_image",
            message: e.to_string(),
        },
        Ok(a) => match state.config.quality.check(a) {
            Ok(face) => Checked::Accepted(face),
            Err(r) => Checked::Rejected {
                code: r.code(),
                message: r.message().to_owned(),
            },
        },
    }
}

/// Stores the photo, then its template within the user's template limit.
async fn store_face(
    state: &AppState,
    template: &Template,
    bytes: Vec<u8>,
) -> Result<PutTemplate, ApiError> {
    // Photo first: a template never points at a photo that does not exist.
    let key = photo_key(&template.user_id, &template.face_id);
    state
        .stores
        .images
        .put_image(&key, bytes, "image/jpeg")
        .await?;
    let put = put_within_limit(state, template).await?;
    if put == PutTemplate::UserFull {
        // Lost a race for the user's last place: no template, so no photo either.
        state.stores.images.delete_image(&key).await?;
    }
    Ok(put)
}

/// Stores a template unless the user is full; the store checks the count and writes in
/// one atomic step, so concurrent enrollments cannot overshoot the limit that
/// [`check_face_limit`] tests before the (slow) face analysis.
async fn put_within_limit(state: &AppState, template: &Template) -> Result<PutTemplate, ApiError> {
    let max = state.config.policy.max_templates_per_user;
    Ok(state
        .stores
        .templates
        .put_template_within(template, max)
        .await?)
}

/// The 409 for a user who has the most faces the policy allows.
fn face_limit_reached(user: &UserId, max: usize) -> ApiError {
    ApiError::Conflict {
        code: FACE_LIMIT,
        message: format!(
            "{user} has the most faces allowed ({max}). Delete the user \
             (DELETE /v1/users/{user}) to enroll other photos"
        ),
    }
}

/// Records an `enroll` event that ends the request early.
async fn audit_enroll(
    state: &AppState,
    user: &UserId,
    outcome: &str,
    reason: String,
    timer: &Timer,
) {
    let mut ev = AuditEvent::new("enroll", outcome);
    ev.user_id = Some(user.to_string());
    ev.reason = Some(reason);
    record(state, ev, timer).await;
}

/// Code of a refusal for want of room: the user has the most faces the policy allows.
pub const FACE_LIMIT: &str = "face_limit";

/// Refuses `new` faces (ids the user does not have yet) that would take the user past
/// the policy's template limit: each template is one more chance for a stranger to
/// match (README, "Decision policy"). Faces already enrolled never count twice, so a
/// retried request still succeeds.
async fn check_face_limit(
    state: &AppState,
    user: &UserId,
    new: impl IntoIterator<Item = FaceId>,
) -> Result<(), ApiError> {
    let max = state.config.policy.max_templates_per_user;
    let have: std::collections::BTreeSet<FaceId> = state
        .stores
        .templates
        .user_templates(user)
        .await?
        .into_iter()
        .map(|t| t.face_id)
        .collect();
    let new: std::collections::BTreeSet<FaceId> =
        new.into_iter().filter(|id| !have.contains(id)).collect();
    if have.len() + new.len() > max {
        return Err(ApiError::Conflict {
            code: FACE_LIMIT,
            message: format!(
                "{user} has {} of at most {max} faces; this would add {}. Delete the user \
                 (DELETE /v1/users/{user}) to enroll other photos",
                have.len(),
                new.len()
            ),
        });
    }
    Ok(())
}

pub async fn add_faces(
    State(state): State<AppState>,
    caller: Caller,
    RequestId(request_id): RequestId,
    UserPath(user): UserPath,
    ApiJson(req): ApiJson<AddFacesRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let timer = Timer::start(request_id);
    caller.may_change(&user, state.config.step_up_max_age)?;
    let limits = state.config.limits;
    if req.images.is_empty() {
        return Err(ApiError::bad_request(
            "no_images",
            "send at least one image",
        ));
    }
    if req.images.len() > limits.max_enroll_images {
        return Err(ApiError::bad_request(
            "too_many_images",
            format!("send at most {} images", limits.max_enroll_images),
        ));
    }
    let images = req
        .images
        .iter()
        .enumerate()
        .map(|(i, s)| decode_image_b64(s, i, limits.max_image_bytes))
        .collect::<Result<Vec<_>, _>>()?;
    let analyses = analyze_each(&state, images.clone(), state.config.detector).await?;
    // Only photos that will be enrolled count (a photo without a face takes no room);
    // checked before anything is stored.
    let checked: Vec<Checked> = analyses.iter().map(|a| check_photo(&state, a)).collect();
    let usable = checked
        .iter()
        .zip(&images)
        .filter(|(c, _)| matches!(c, Checked::Accepted(_)))
        .map(|(_, b)| FaceId::of_api_photo(&user, b));
    if let Err(e) = check_face_limit(&state, &user, usable).await {
        let outcome = match e {
            ApiError::Conflict { .. } => "rejected",
            _ => "error",
        };
        audit_enroll(&state, &user, outcome, e.to_string(), &timer).await;
        return Err(e);
    }
    let mut accepted = vec![];
    let mut rejected = vec![];
    for (i, (checked, bytes)) in checked.into_iter().zip(images).enumerate() {
        match checked {
            Checked::Rejected { code, message } => {
                rejected.push(json!({"index": i, "reason": code, "message": message}))
            }
            Checked::Accepted(face) => {
                // Derived from the photo's bytes: a client retrying after a 503 (or two
                // concurrent uploads of one photo) stores one template, not two.
                let face_id = FaceId::of_api_photo(&user, &bytes);
                let template = Template {
                    user_id: user.clone(),
                    face_id,
                    descriptor: face.descriptor.clone(),
                    model_id: state.analyzer.model_id().to_owned(),
                    source: Source::Api,
                    created_at: OffsetDateTime::now_utc(),
                };
                let created = match store_face(&state, &template, bytes).await {
                    Ok(PutTemplate::Stored) => true,
                    Ok(PutTemplate::Exists) => false,
                    Ok(PutTemplate::UserFull) => {
                        // A concurrent enrollment took the last place after the check
                        // above. Faces stored so far stay.
                        let e =
                            face_limit_reached(&user, state.config.policy.max_templates_per_user);
                        audit_enroll(&state, &user, "rejected", e.to_string(), &timer).await;
                        return Err(e);
                    }
                    Err(e) => {
                        // Faces stored so far stay (they are valid); the failure is
                        // audited, and a retry with the same photos is a no-op for them.
                        let reason =
                            format!("storage failed after {} stored photo(s)", accepted.len());
                        audit_enroll(&state, &user, "error", reason, &timer).await;
                        return Err(e);
                    }
                };
                accepted.push(json!({
                    "index": i,
                    "face_id": face_id,
                    "duplicate": !created,
                    "quality": Quality::of(face),
                }));
            }
        }
    }
    let mut ev = AuditEvent::new(
        "enroll",
        if accepted.is_empty() {
            "rejected"
        } else {
            "success"
        },
    );
    ev.user_id = Some(user.to_string());
    if !rejected.is_empty() {
        ev.reason = Some(format!(
            "{} of {} photos rejected",
            rejected.len(),
            rejected.len() + accepted.len()
        ));
    }
    record(&state, ev, &timer).await;
    if accepted.is_empty() {
        return Err(ApiError::Unprocessable {
            code: "no_usable_photo",
            message: "none of the photos can be enrolled".into(),
            details: json!({"rejected": rejected}),
        });
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"user_id": user, "faces": accepted, "rejected": rejected})),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    pub user_id: String,
}

/// `POST /v1/uploads`: a presigned PUT for `enroll/{user}/{uuid}.jpg`; the upload then
/// enrolls through the bucket notification, once, against the grant recorded here.
pub async fn create_upload(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<UploadRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let user =
        UserId::parse(&req.user_id).map_err(|e| ApiError::bad_request("bad_user_id", e.0))?;
    caller.may_change(&user, state.config.step_up_max_age)?;
    // No URL for an upload that could only be refused: the upload is one face more.
    check_face_limit(&state, &user, [FaceId::random()]).await?;
    let upload_id = uuid::Uuid::new_v4().to_string();
    let key = keys::upload_key(&user, &upload_id);
    let ttl = state.config.upload_ttl;
    let expires_at = OffsetDateTime::now_utc() + ttl;
    // The grant before the URL: no URL exists whose upload would be refused.
    state
        .stores
        .upload_grants
        .put_grant(&user, &upload_id, expires_at)
        .await?;
    let put = state.stores.images.presign_put(&key, ttl).await?;
    let headers: serde_json::Map<String, serde_json::Value> = put
        .headers
        .into_iter()
        .map(|(k, v)| (k, v.into()))
        .collect();
    let expires_at = expires_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"upload_url": put.url, "method": "PUT", "headers": headers, "key": key,
                    "content_type": "image/jpeg", "expires_at": expires_at}),
        ),
    ))
}

/// Reason of an upload refused for want of a grant.
pub const NO_UPLOAD_GRANT: &str = "no_upload_grant";
/// Reason of a second, different object PUT through one upload URL.
pub const UPLOAD_URL_REUSED: &str = "upload_url_reused";

/// What became of one uploaded photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UploadOutcome {
    pub key: String,
    pub outcome: &'static str,
    pub reason: Option<String>,
    pub face_id: Option<FaceId>,
}

/// Enrolls an uploaded photo, once, if its upload was granted (`POST /v1/uploads`).
///
/// The grant is bound to the object's ETag on first sight:
/// - fresh, or taken before by this same object (a re-delivered event, or Lambda's
///   retry after a failure here): enrolled; the face id derives from bucket + key +
///   etag, so a second pass writes nothing new and a retry loses nothing;
/// - taken by another object (the URL was PUT twice): refused, `upload_url_reused`;
/// - no grant (never issued, long expired, or revoked when the user was deleted): the
///   object is deleted and the refusal audited, `no_upload_grant`; no template.
pub async fn enroll_stored_photo(
    state: &AppState,
    bucket: &str,
    key: &str,
    etag: &str,
) -> Result<UploadOutcome, ApiError> {
    let timer = Timer::start(Some(format!("s3:{bucket}/{key}#{etag}")));
    let mut ev = AuditEvent::new("enroll_s3", "rejected");
    let mut outcome = UploadOutcome {
        key: key.to_owned(),
        outcome: "rejected",
        reason: None,
        face_id: None,
    };
    let upload = match parse_upload_key(key) {
        Ok(u) => u,
        Err(reason) => {
            ev.reason = Some(reason.clone());
            record(state, ev, &timer).await;
            outcome.reason = Some(reason);
            return Ok(outcome);
        }
    };
    let user = upload.user;
    ev.user_id = Some(user.to_string());
    let taken = state
        .stores
        .upload_grants
        .take_grant(&user, &upload.upload_id, etag)
        .await?;
    match taken {
        GrantTaken::Fresh | GrantTaken::SameUpload => {}
        GrantTaken::OtherUpload => {
            outcome.reason = Some(UPLOAD_URL_REUSED.into());
            ev.reason = outcome.reason.clone();
            record(state, ev, &timer).await;
            return Ok(outcome);
        }
        GrantTaken::Missing => {
            state.stores.images.delete_image(key).await?;
            outcome.reason = Some(NO_UPLOAD_GRANT.into());
            ev.reason = outcome.reason.clone();
            record(state, ev, &timer).await;
            return Ok(outcome);
        }
    }
    let face_id = FaceId::derived_from(&format!("{bucket}/{key}/{etag}"));
    if let Err(e) = check_face_limit(state, &user, [face_id]).await {
        // Not enrolled, so not kept: the refusal is in the audit log.
        state.stores.images.delete_image(key).await?;
        outcome.reason = Some(e.code().into());
        ev.reason = Some(e.to_string());
        record(state, ev, &timer).await;
        return Ok(outcome);
    }
    let Some(bytes) = state.stores.images.get_image(key).await? else {
        ev.reason = Some("object not found".into());
        record(state, ev, &timer).await;
        outcome.reason = Some("object not found".into());
        return Ok(outcome);
    };
    if bytes.len() > state.config.limits.max_image_bytes {
        outcome.reason = Some("photo is too large".into());
    } else {
        let analyses = analyze_each(state, vec![bytes], state.config.detector).await?;
        match check_photo(state, &analyses[0]) {
            Checked::Rejected { code, message } => {
                outcome.reason = Some(format!("{code}: {message}"))
            }
            Checked::Accepted(face) => {
                let template = Template {
                    user_id: user.clone(),
                    face_id,
                    descriptor: face.descriptor.clone(),
                    model_id: state.analyzer.model_id().to_owned(),
                    source: Source::S3 {
                        bucket: bucket.into(),
                        key: key.into(),
                        etag: etag.into(),
                    },
                    created_at: OffsetDateTime::now_utc(),
                };
                match put_within_limit(state, &template).await? {
                    PutTemplate::Stored => outcome.outcome = "success",
                    PutTemplate::Exists => outcome.outcome = "duplicate",
                    PutTemplate::UserFull => {
                        state.stores.images.delete_image(key).await?;
                        outcome.reason = Some(FACE_LIMIT.into());
                    }
                }
                if outcome.outcome != "rejected" {
                    outcome.face_id = Some(face_id);
                }
            }
        }
    }
    ev.outcome = outcome.outcome.into();
    ev.reason = outcome.reason.clone();
    record(state, ev, &timer).await;
    Ok(outcome)
}
