//! Face analyses off the async runtime, at most `AppState::analysis_slots` at once.

use crate::error::ApiError;
use crate::state::AppState;
use faceid_core::face::{AnalyzeError, DetectorKind, ImageAnalysis};

/// Analyses each image on the blocking pool, keeping per-image errors. At most
/// `state.analysis_slots` images are analysed at once across all requests; the rest wait
/// here, on the async side, holding only their encoded bytes.
pub async fn analyze_each(
    state: &AppState,
    images: Vec<Vec<u8>>,
    detector: DetectorKind,
) -> Result<Vec<Result<ImageAnalysis, AnalyzeError>>, ApiError> {
    let mut tasks = Vec::with_capacity(images.len());
    for bytes in images {
        let slot = state
            .analysis_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ApiError::Internal(format!("analysis slots closed: {e}")))?;
        let analyzer = state.analyzer.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            let _slot = slot;
            analyzer.analyze(&bytes, detector)
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(
            t.await
                .map_err(|e| ApiError::Internal(format!("analysis task failed: {e}")))?,
        );
    }
    Ok(out)
}
