//! Per-stage timings of the face pipeline (model load, detectors, landmarks, chip,
//! descriptor, end to end), with the same stage names as `reference_timing.py` so the
//! two can be put side by side.
//!
//! Decode is timed on its own and is *excluded* from every stage except `end_to_end`,
//! which starts from the file's bytes (decode + HOG upsample 1 + landmarks + chip +
//! descriptor per face), in both implementations.

use anyhow::{Context, Result};
use faceid_core::face::DetectorKind;
use faceid_embedding::descriptor::{DescriptorModel, CHIP_SIZE};
use faceid_embedding::mmod::{MmodConfig, MmodDetector};
use faceid_embedding::pipeline::{HOG_FILE, MMOD_FILE, RESNET_FILE, SHAPE_FILE};
use faceid_embedding::FacePipeline;
use faceid_vision::chip::{extract_image_chip, get_face_chip_details};
use faceid_vision::hog::HogDetector;
use faceid_vision::shape::ShapePredictor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::timing::{measure, try_measure, Stats};

/// face_recognition's chip padding.
const PADDING: f64 = 0.25;

/// How many runs each kind of stage gets.
#[derive(Debug, Clone, Copy)]
pub struct Runs {
    pub warmup: usize,
    /// Fast stages (decode, HOG, landmarks, chip, descriptor, end to end).
    pub fast: usize,
    /// Model loads and the CNN detector (hundreds of ms to seconds each).
    pub slow: usize,
}

/// Timings of one image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageTiming {
    pub image: String,
    pub width: u32,
    pub height: u32,
    /// Faces found by HOG upsample 1 (the end-to-end detector).
    pub faces: usize,
    pub stages: BTreeMap<String, Stats>,
}

/// Times loading each model from bytes already in memory, and the whole pipeline from
/// the files (`FacePipeline::load_dir`, page cache warm).
pub fn bench_model_load(models: &Path, runs: Runs) -> Result<BTreeMap<String, Stats>> {
    let read = |f: &str| {
        let p = models.join(f);
        std::fs::read(&p).with_context(|| format!("reading {}", p.display()))
    };
    let (hog, shape, resnet, mmod) = (
        read(HOG_FILE)?,
        read(SHAPE_FILE)?,
        read(RESNET_FILE)?,
        read(MMOD_FILE)?,
    );
    let mut out = BTreeMap::new();
    let w = runs.warmup.min(1);
    out.insert(
        "load_hog".into(),
        try_measure(w, runs.slow, || HogDetector::from_bytes(&hog))?,
    );
    out.insert(
        "load_shape".into(),
        try_measure(w, runs.slow, || ShapePredictor::from_bytes(&shape))?,
    );
    out.insert(
        "load_resnet".into(),
        try_measure(w, runs.slow, || DescriptorModel::from_bytes(&resnet))?,
    );
    // Parses the graph only; tract plans the network per input size on the first
    // detection (see `cnn_up0_first_call`).
    out.insert(
        "load_mmod".into(),
        try_measure(w, runs.slow, || {
            MmodDetector::from_onnx_bytes(&mmod, MmodConfig::default())
        })?,
    );
    out.insert(
        "load_pipeline".into(),
        try_measure(w, runs.slow, || FacePipeline::load_dir(models))?,
    );
    Ok(out)
}

/// The separately loaded models, so each stage can be timed alone.
pub struct Models {
    pub pipeline: FacePipeline,
    pub hog: HogDetector,
    pub hog_1thread: HogDetector,
    pub shape: ShapePredictor,
    pub descriptor: DescriptorModel,
    pub mmod_bytes: Vec<u8>,
    pub mmod: MmodDetector,
}

impl Models {
    pub fn load(models: &Path) -> Result<Self> {
        let read = |f: &str| {
            let p = models.join(f);
            std::fs::read(&p).with_context(|| format!("reading {}", p.display()))
        };
        let hog = HogDetector::from_bytes(&read(HOG_FILE)?)?;
        let mmod_bytes = read(MMOD_FILE)?;
        Ok(Self {
            pipeline: FacePipeline::load_dir(models)?,
            hog_1thread: hog.clone().with_max_threads(1),
            hog,
            shape: ShapePredictor::from_bytes(&read(SHAPE_FILE)?)?,
            descriptor: DescriptorModel::from_bytes(&read(RESNET_FILE)?)?,
            mmod: MmodDetector::from_onnx_bytes(&mmod_bytes, MmodConfig::default())?,
            mmod_bytes,
        })
    }
}

/// The CNN detector costs seconds per megapixel in dlib: only images up to this size
/// get a CNN timing.
pub const CNN_MAX_PIXELS: u64 = 1_000_000;

/// Times every stage on one image file.
pub fn bench_image(m: &Models, path: &Path, label: &str, runs: Runs) -> Result<ImageTiming> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let img = m.pipeline.decode(&bytes)?;
    let (warm, fast, slow) = (runs.warmup, runs.fast, runs.slow);
    let mut st = BTreeMap::new();
    st.insert(
        "decode".to_string(),
        try_measure(warm, fast, || m.pipeline.decode(&bytes))?,
    );
    st.insert(
        "hog_up0".into(),
        measure(warm, fast, || m.hog.detect(&img, 0, 0.0)),
    );
    st.insert(
        "hog_up1".into(),
        measure(warm, fast, || m.hog.detect(&img, 1, 0.0)),
    );
    st.insert(
        "hog_up1_1thread".into(),
        measure(warm, fast, || m.hog_1thread.detect(&img, 1, 0.0)),
    );
    if u64::from(img.width()) * u64::from(img.height()) <= CNN_MAX_PIXELS {
        // A fresh detector each time: parse + plan for this size + run, what the first
        // CNN request of a process pays.
        st.insert(
            "cnn_up0_first_call".into(),
            try_measure(0, slow.min(3), || {
                MmodDetector::from_onnx_bytes(&m.mmod_bytes, MmodConfig::default())
                    .and_then(|d| d.detect(&img, 0))
            })?,
        );
        st.insert(
            "cnn_up0".into(),
            try_measure(warm.max(1), slow, || m.mmod.detect(&img, 0))?,
        );
    }
    let dets = m.hog.detect(&img, 1, 0.0);
    if let Some(first) = dets.first() {
        let rect = first.rect;
        st.insert(
            "landmarks".into(),
            measure(warm, fast, || m.shape.predict(&img, rect)),
        );
        let parts = m.shape.predict(&img, rect);
        st.insert(
            "chip".into(),
            measure(warm, fast, || {
                extract_image_chip(&img, &get_face_chip_details(&parts, CHIP_SIZE, PADDING))
            }),
        );
        let chip = extract_image_chip(&img, &get_face_chip_details(&parts, CHIP_SIZE, PADDING));
        st.insert(
            "descriptor".into(),
            try_measure(warm, fast, || m.descriptor.compute(&chip))?,
        );
    }
    st.insert(
        "end_to_end".into(),
        try_measure(warm, fast, || end_to_end(&m.pipeline, &bytes))?,
    );
    Ok(ImageTiming {
        image: label.to_string(),
        width: img.width(),
        height: img.height(),
        faces: dets.len(),
        stages: st,
    })
}

/// Bytes → descriptors of every face: what face_recognition's
/// `face_encodings(img, face_locations(img, 1, "hog"))` does after `load_image_file`.
pub fn end_to_end(
    p: &FacePipeline,
    bytes: &[u8],
) -> Result<Vec<faceid_embedding::descriptor::Descriptor>> {
    let img = p.decode(bytes)?;
    let faces = p.analyze_image(&img, DetectorKind::Hog, 1)?;
    Ok(faces.into_iter().map(|f| f.descriptor).collect())
}

/// Peak RSS after loading the pipeline and running one frame end to end, in a process
/// that has done nothing else (the `rss` subcommand).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RssResult {
    pub image: String,
    pub faces: usize,
    pub peak_rss_mib: Option<f64>,
    pub after_load_mib: Option<f64>,
}

pub fn rss_one_frame(models: &Path, image: &Path) -> Result<RssResult> {
    let p = FacePipeline::load_dir(models)?;
    let after_load = crate::timing::peak_rss_mib();
    let bytes = std::fs::read(image).with_context(|| format!("reading {}", image.display()))?;
    let faces = end_to_end(&p, &bytes)?.len();
    Ok(RssResult {
        image: image.display().to_string(),
        faces,
        peak_rss_mib: crate::timing::peak_rss_mib(),
        after_load_mib: after_load,
    })
}

/// The workspace root, from this crate's location (tests/bench).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
