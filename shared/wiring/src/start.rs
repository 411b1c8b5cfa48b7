//! The one start-up sequence of every entry point (the two Lambda functions, `faceid
//! serve`, the admin subcommands): allocator tuning, logs, settings, models, stores.

use crate::settings::{ConfigError, Settings};
use crate::wiring::{build_service, Service};
use faceid_embedding::{FacePipeline, PipelineError};
use std::sync::Arc;

/// A started process: the settings it runs with and the service built from them.
pub struct Started {
    pub settings: Settings,
    pub service: Service,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("loading the face models: {0}")]
    Models(#[from] PipelineError),
}

/// Starts a process. `adjust` changes the settings read from the environment before
/// anything is built from them (the admin CLI's one-off token, `serve`'s public URL).
pub async fn start(adjust: impl FnOnce(&mut Settings)) -> Result<Started, StartError> {
    crate::limit_malloc_arenas();
    crate::init_tracing();
    let mut settings = Settings::from_env()?;
    adjust(&mut settings);
    let pipeline = FacePipeline::bundled()?;
    let service = build_service(&settings, Arc::new(pipeline)).await?;
    Ok(Started { settings, service })
}
