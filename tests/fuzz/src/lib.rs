//! What the service-level fuzz targets share: the real face pipeline (loaded once), a
//! single-threaded tokio runtime, and `AppState`s on the embedded (file) stores, built the
//! way `faceid_wiring::build_service` builds them for `faceid serve`.
//!
//! The data directory lives under `$FACEID_FUZZ_DATA` (scripts/fuzz.sh points it at a
//! tmpfs folder it removes afterwards), else the system temp dir. Every
//! [`RESET_EVERY`] inputs the stores are reopened on a fresh directory and the old one is
//! deleted, so the challenges and audit events millions of inputs create cannot fill the
//! disk.

#[path = "../../../shared/api/tests/common/embedded_state.rs"]
mod embedded_state;

use embedded_state::{open_stores, state_on, test_config};
use faceid_api::{ApiConfig, AppState, Limits};
use faceid_core::lockout::LockoutPolicy;
use faceid_core::token::TokenSigner;
use faceid_embedding::FacePipeline;
use faceid_vision::decode::DecodeLimits;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

pub const ADMIN_TOKEN: &str = "fuzz-admin-token-0123456789";
/// The user whose session token the targets can send.
pub const SESSION_USER: &str = "alice";
// A 32-byte Ed25519 seed.
const TOKEN_KEY: &[u8] = b"fuzz token seed, exactly 32 b...";
const RESET_EVERY: u64 = 20_000;

/// Body and image limits small enough that libFuzzer's inputs (-max_len) reach them.
pub const LIMITS: Limits = Limits {
    max_body_bytes: 16 << 10,
    max_image_bytes: 8 << 10,
    max_frames: 25,
    max_enroll_images: 10,
};

/// A small 64×48 RGB PNG with no face: decodes, then gets "no face" everywhere.
pub const SMALL_PNG: &[u8] = include_bytes!("../seeds/small.png");

/// The bundled models, with a pixel limit that keeps a mutated header claiming a big
/// image from turning one input into seconds of HOG.
pub fn pipeline() -> Arc<FacePipeline> {
    static P: OnceLock<Arc<FacePipeline>> = OnceLock::new();
    P.get_or_init(|| {
        let limits = DecodeLimits {
            max_pixels: 512 * 512,
            ..DecodeLimits::default()
        };
        Arc::new(
            FacePipeline::bundled()
                .expect("bundled models load")
                .with_limits(limits),
        )
    })
    .clone()
}

pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

fn tokens() -> TokenSigner {
    TokenSigner::new(TOKEN_KEY, "faceid", "faceid-web", time::Duration::hours(1))
        .expect("32-byte key")
}

/// A valid session token for [`SESSION_USER`].
pub fn session_token() -> &'static str {
    static T: OnceLock<String> = OnceLock::new();
    T.get_or_init(|| {
        tokens()
            .issue(SESSION_USER, 0, time::OffsetDateTime::now_utc())
            .0
    })
}

/// One application state: the policy of `faceid serve` with its defaults, except the
/// lockout, which never locks (after five rejected logins every later one would be a
/// 429 and the fuzzer could not reach the analysis again).
pub struct FuzzState {
    pub state: AppState,
    /// `faceid_api::all_routes` on `state`.
    pub all_routes: axum::Router,
    /// `faceid_api::enroll_routes` on `state` (what the enroll Lambda serves).
    pub enroll_routes: faceid_lambda::ApiRouter,
    dir: PathBuf,
}

impl Drop for FuzzState {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn base_dir() -> PathBuf {
    std::env::var_os("FACEID_FUZZ_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

fn build(require_liveness: bool) -> FuzzState {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = base_dir().join(format!(
        "faceid-fuzz-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let config = ApiConfig {
        limits: LIMITS,
        require_liveness,
        lockout: LockoutPolicy {
            max_failures: u32::MAX,
            ..LockoutPolicy::default()
        },
        ..test_config(ADMIN_TOKEN, tokens())
    };
    let state = state_on(&open_stores(&dir), pipeline(), config);
    // Photos the S3 events can point at, each with its upload grant (so events reach
    // the analysis): one that decodes (no face in it) and one that does not.
    runtime().block_on(async {
        for (user, upload_id, bytes) in [
            ("alice", "small", SMALL_PNG),
            ("bob", "corrupt", &SMALL_PNG[..40]),
        ] {
            let user = faceid_core::UserId::parse(user).expect("user");
            let key = faceid_core::keys::upload_key(&user, upload_id);
            state
                .stores
                .images
                .put_image(&key, bytes.to_vec(), "image/jpeg")
                .await
                .expect("seed photo");
            let expires = time::OffsetDateTime::now_utc() + time::Duration::days(1);
            state
                .stores
                .upload_grants
                .put_grant(&user, upload_id, expires)
                .await
                .expect("seed grant");
        }
    });
    FuzzState {
        all_routes: faceid_api::all_routes(&state).with_state(state.clone()),
        enroll_routes: faceid_lambda::ApiRouter::new(
            faceid_api::enroll_routes(&state).with_state(state.clone()),
        ),
        state,
        dir,
    }
}

/// Runs `f` with the state for `require_liveness`, rebuilding it every [`RESET_EVERY`] calls.
pub fn with_state<R>(require_liveness: bool, f: impl FnOnce(&FuzzState) -> R) -> R {
    static STATES: Mutex<[Option<(u64, Arc<FuzzState>)>; 2]> = Mutex::new([None, None]);
    let s = {
        let mut states = STATES.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut states[usize::from(require_liveness)];
        match slot {
            Some((n, s)) if *n < RESET_EVERY => {
                *n += 1;
                s.clone()
            }
            _ => {
                // Dropping the old state deletes its directory.
                *slot = None;
                let s = Arc::new(build(require_liveness));
                *slot = Some((1, s.clone()));
                s
            }
        }
    };
    f(&s)
}
