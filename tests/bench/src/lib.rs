//! Benchmarks of the face pipeline (against face_recognition, via
//! `reference_timing.py`), of 1:N search, the ROC of the labelled pairs, and the figures
//! in `docs/figures`. Run everything with `scripts/bench.sh`.

pub mod footage;
pub mod footage_light;
pub mod light_phase;
pub mod plots;
pub mod policy;
pub mod replay;
pub mod report;
pub mod roc;
pub mod search;
pub mod stages;
pub mod timing;
