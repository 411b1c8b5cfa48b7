//! Shared state: the face analyzer, the stores, the policy; built once at start-up.

use crate::error::ApiError;
use faceid_core::capture::{AnswerWindow, CapturePlan, MAX_PHASE_FRAMES};
use faceid_core::face::{DetectorKind, FaceAnalyzer, QualityPolicy};
use faceid_core::liveness::LivenessPolicy;
use faceid_core::lockout::LockoutPolicy;
use faceid_core::matching::Gallery;
use faceid_core::policy::DecisionPolicy;
use faceid_core::ports::{
    AuditLog, ChallengeStore, CounterStore, ImageStore, SeenFrames, SessionStore, TemplateStore,
    UploadGrants,
};
use faceid_core::token::SessionKey;
use faceid_core::ChallengeSteps;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::{RwLock, Semaphore};

/// The storage ports.
#[derive(Clone)]
pub struct Stores {
    pub templates: Arc<dyn TemplateStore>,
    pub challenges: Arc<dyn ChallengeStore>,
    pub counters: Arc<dyn CounterStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub upload_grants: Arc<dyn UploadGrants>,
    pub seen_frames: Arc<dyn SeenFrames>,
    pub images: Arc<dyn ImageStore>,
    pub audit: Arc<dyn AuditLog>,
}

/// Default of [`ApiConfig::step_up_max_age`]: five minutes.
pub const STEP_UP_MAX_AGE: time::Duration = time::Duration::seconds(300);

/// Request limits (bad input gets a 4xx long before it costs CPU).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_image_bytes: usize,
    pub max_frames: usize,
    pub max_enroll_images: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 24 << 20,
            max_image_bytes: 10 << 20,
            // The light phase's 9 and the steps' 16.
            max_frames: 25,
            max_enroll_images: 10,
        }
    }
}

/// Policy and secrets, parsed once from the environment by the binaries.
#[derive(Clone)]
pub struct ApiConfig {
    /// Who the frames show: thresholds calibrated to stated FARs.
    pub policy: DecisionPolicy,
    /// Admin bearer token (`FACEID_ADMIN_TOKEN`); `None` disables admin routes.
    pub admin_token: Option<String>,
    /// The session key: signing in the authenticate function and the local server,
    /// public only in the enroll function.
    pub tokens: SessionKey,
    /// How old a session's face login may be for account changes (adding faces,
    /// uploads, deleting the user); older sessions get 403 `step_up_required`.
    pub step_up_max_age: time::Duration,
    pub limits: Limits,
    pub challenge_ttl: time::Duration,
    /// When false, `/v1/authenticate` accepts a single frame without a challenge
    /// (the original app's behaviour; not recommended).
    pub require_liveness: bool,
    pub detector: DetectorKind,
    pub quality: QualityPolicy,
    pub liveness: LivenessPolicy,
    /// How soon and how late after its challenge an answer is taken (the page's capture
    /// plan and slack); `None` takes any time up to the challenge's expiry
    /// (`FACEID_CHALLENGE_TIMING=false`, for load tests that answer at once).
    pub answer_window: Option<AnswerWindow>,
    /// Which steps a challenge asks for (`FACEID_CHALLENGE_NODS`).
    pub challenge_steps: ChallengeSteps,
    /// Refuse a login (with a challenge) whose frames an accepted login of the same user
    /// sent before (`faceid_core::replay`).
    pub refuse_seen_frames: bool,
    pub lockout: LockoutPolicy,
    /// Trust the last `X-Forwarded-For` entry as the client address (behind API Gateway).
    pub trust_forwarded_for: bool,
    /// Keep a caller's `x-request-id` (a proxy's, for its logs) instead of assigning our
    /// own. Off by default: an id a client chooses would land in the audit log as ours.
    /// Lambda's request id is used when there is one, whatever this says.
    pub trust_request_id: bool,
    /// Origin allowed by CORS (the web page's), e.g. `https://login.example.com`.
    pub cors_origin: Option<String>,
    /// How long a presigned upload URL (and its upload grant) stays valid.
    pub upload_ttl: std::time::Duration,
}

impl ApiConfig {
    /// The light phase's still frames a login sends first (0 with the screen-light check
    /// off).
    pub fn phase_frames(&self) -> usize {
        self.liveness
            .screen_light
            .map_or(0, |l| l.phase_frames.min(MAX_PHASE_FRAMES))
    }

    /// The most frames a login may send for the steps of a challenge, after the light
    /// phase's: the page plans its capture for this budget (`max_frames` of the
    /// challenge).
    pub fn frame_budget(&self) -> usize {
        self.limits
            .max_frames
            .saturating_sub(self.phase_frames())
            .min(self.liveness.max_frames)
    }

    /// The page's capture plan for a challenge of `steps` steps: the answer window
    /// follows it.
    pub fn capture_plan(&self, steps: usize) -> CapturePlan {
        CapturePlan::new(steps, self.phase_frames(), self.frame_budget())
    }
}

/// The time the challenge handlers read (issue, receipt, expiry): the system clock, which
/// a test can move forward instead of sleeping. Nothing else reads it (lockout windows,
/// tokens and retention keep the system clock).
#[derive(Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
            + time::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every clone of it) forward by `by`.
    pub fn advance(&self, by: time::Duration) {
        self.offset_ms
            .fetch_add(by.whole_milliseconds() as i64, Ordering::Relaxed);
    }
}

/// Cached 1:N gallery, rebuilt when the store's gallery version changes, so a deleted
/// user can never be matched from a stale cache.
#[derive(Default)]
pub struct GalleryCache {
    inner: RwLock<Option<(u64, Arc<Gallery>)>>,
}

impl GalleryCache {
    pub async fn get(&self, templates: &dyn TemplateStore) -> Result<Arc<Gallery>, ApiError> {
        let version = templates.gallery_version().await?;
        if let Some((v, g)) = self.inner.read().await.as_ref() {
            if *v == version {
                return Ok(g.clone());
            }
        }
        let all = templates.all_templates().await?;
        let mut gallery = Gallery::with_capacity(all.len());
        for t in &all {
            gallery.push(t.user_id.clone(), t.face_id, &t.descriptor);
        }
        let gallery = Arc::new(gallery);
        *self.inner.write().await = Some((version, gallery.clone()));
        Ok(gallery)
    }
}

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub analyzer: Arc<dyn FaceAnalyzer>,
    pub stores: Stores,
    pub config: Arc<ApiConfig>,
    pub gallery: Arc<GalleryCache>,
    /// Caps the images analysed at once (one per core): each one holds a decoded,
    /// upsampled image and its feature pyramid (~5 MiB), so an unbounded blocking pool
    /// would grow memory with the number of requests in flight, not the work done.
    pub analysis_slots: Arc<Semaphore>,
    /// The challenge clock (see [`Clock`]).
    pub clock: Clock,
}

impl AppState {
    pub fn new(analyzer: Arc<dyn FaceAnalyzer>, stores: Stores, config: ApiConfig) -> Self {
        Self {
            analyzer,
            stores,
            config: Arc::new(config),
            gallery: Arc::new(GalleryCache::default()),
            analysis_slots: Arc::new(Semaphore::new(analysis_concurrency())),
            clock: Clock::default(),
        }
    }
}

/// One analysis per available core (at least one).
fn analysis_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
