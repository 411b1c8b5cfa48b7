//! Start-up wiring shared by the FaceID binaries (`enroll`, `authenticate`, `faceid`):
//! typed settings from the environment, the face pipeline, the storage backends.

pub mod settings;

pub use settings::{ConfigError, Env, SecretSource, Settings, TemplateBackend};
pub mod wiring;

pub use wiring::{build_service, public_key_of, Service};
mod start;
pub use start::{start, StartError, Started};

/// Caps glibc's malloc arenas at two. glibc gives each thread that meets a busy arena a
/// new one (up to 8 per core) and keeps what is freed in it: a frame's decoded image and
/// feature pyramid (~5 MiB), freed on whichever blocking thread analysed it, stayed
/// resident in up to 16 arenas, and `faceid serve` grew to 753 MiB over a 10-minute soak.
/// Face analyses run at most one per core (`AppState::analysis_slots`), so two arenas
/// cost little contention. Call first thing in `main`.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; M_ARENA_MAX takes a count.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Structured logs: JSON in Lambda (CloudWatch), human-readable on stderr locally.
/// `RUST_LOG` filters. A second call keeps the first subscriber.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        let _ = builder.json().without_time().try_init();
    } else {
        let _ = builder.with_writer(std::io::stderr).try_init();
    }
}
