//! Runs the CPU-heavy face pipeline off the async runtime.

use crate::error::ApiError;
use crate::state::AppState;
use faceid_core::face::{AnalyzeError, DetectorKind, ImageAnalysis};

/// Analyses each image on the blocking pool (in parallel), keeping per-image errors.
pub async fn analyze_each(
    state: &AppState,
    images: Vec<Vec<u8>>,
    detector: DetectorKind,
) -> Result<Vec<Result<ImageAnalysis, AnalyzeError>>, ApiError> {
    let tasks: Vec<_> = images
        .into_iter()
        .map(|bytes| {
            let analyzer = state.analyzer.clone();
            tokio::task::spawn_blocking(move || analyzer.analyze(&bytes, detector))
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(
            t.await
                .map_err(|e| ApiError::Internal(format!("analysis task failed: {e}")))?,
        );
    }
    Ok(out)
}
