//! Model load time, per model and for the whole pipeline, in this process: the part of
//! a cold start spent parsing and optimising the four models (bytes already in memory,
//! as they are in the binaries, which compile them in with `include_bytes!`).

use crate::stats::median;
use anyhow::{Context, Result};
use faceid_embedding::descriptor::DescriptorModel;
use faceid_embedding::mmod::{MmodConfig, MmodDetector};
use faceid_embedding::pipeline::{HOG_FILE, MMOD_FILE, RESNET_FILE, SHAPE_FILE};
use faceid_embedding::{FacePipeline, ModelBytes};
use faceid_vision::hog::HogDetector;
use faceid_vision::shape::ShapePredictor;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

#[derive(Debug, Serialize)]
pub struct ModelTime {
    pub model: &'static str,
    pub file_mib: f64,
    /// Median over the runs.
    pub median_ms: f64,
    pub runs_ms: Vec<f64>,
}

fn time<T, E: std::error::Error + Send + Sync + 'static>(
    f: impl Fn() -> Result<T, E>,
    runs: usize,
) -> Result<Vec<f64>> {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            let model = f()?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            drop(model);
            Ok(ms)
        })
        .collect()
}

pub fn measure(dir: &Path, runs: usize) -> Result<Vec<ModelTime>> {
    let read = |name: &str| {
        std::fs::read(dir.join(name)).with_context(|| dir.join(name).display().to_string())
    };
    let (resnet, mmod, shape, hog) = (
        read(RESNET_FILE)?,
        read(MMOD_FILE)?,
        read(SHAPE_FILE)?,
        read(HOG_FILE)?,
    );
    let entry = |model, bytes: usize, runs_ms: Vec<f64>| ModelTime {
        model,
        file_mib: bytes as f64 / (1024.0 * 1024.0),
        median_ms: median(&runs_ms).unwrap_or(f64::NAN),
        runs_ms,
    };
    let all = ModelBytes {
        resnet_onnx: &resnet,
        mmod_onnx: &mmod,
        shape_predictor_dat: &shape,
        hog_detector_dat: &hog,
    };
    Ok(vec![
        entry(
            "ResNet descriptor (tract: ONNX → optimised plan)",
            resnet.len(),
            time(|| DescriptorModel::from_bytes(&resnet), runs)?,
        ),
        entry(
            "MMOD CNN detector (tract)",
            mmod.len(),
            time(
                || MmodDetector::from_onnx_bytes(&mmod, MmodConfig::default()),
                runs,
            )?,
        ),
        entry(
            "5-point shape predictor (dlib .dat)",
            shape.len(),
            time(|| ShapePredictor::from_bytes(&shape), runs)?,
        ),
        entry(
            "HOG detector (dlib .dat)",
            hog.len(),
            time(|| HogDetector::from_bytes(&hog), runs)?,
        ),
        entry(
            "whole pipeline (FacePipeline::from_bytes)",
            resnet.len() + mmod.len() + shape.len() + hog.len(),
            time(|| FacePipeline::from_bytes(&all), runs)?,
        ),
    ])
}
