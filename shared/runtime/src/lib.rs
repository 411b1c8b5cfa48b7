//! Start-up wiring shared by the FaceID binaries (`enroll`, `authenticate`, `faceid`):
//! typed settings from the environment, the face pipeline, the storage backends.

pub mod settings;

pub use settings::{ConfigError, Env, SecretSource, Settings, TemplateBackend};
pub mod wiring;

pub use wiring::{build_service, Service};

/// Structured logs: JSON in Lambda (CloudWatch), human-readable locally. `RUST_LOG` filters.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        builder.json().without_time().init();
    } else {
        builder.init();
    }
}
