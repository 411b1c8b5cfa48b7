//! `faceid embed` and `faceid compare`.

use crate::DetectorArg;
use anyhow::{bail, Context, Result};
use faceid_core::face::DetectorKind;
use faceid_embedding::descriptor::Descriptor;
use faceid_embedding::{Face, FacePipeline};
use serde_json::json;
use std::io::Write;
use std::path::Path;

fn detector_kind(d: DetectorArg) -> DetectorKind {
    match d {
        DetectorArg::Fast => DetectorKind::Hog,
        DetectorArg::Cnn => DetectorKind::Cnn,
    }
}

fn face_json(f: &Face) -> serde_json::Value {
    let r = f.detection.rect;
    json!({
        "box": [r.left, r.top, r.right, r.bottom],
        "score": f.detection.score,
        "landmarks": f.landmarks.iter().map(|p| [p.x, p.y]).collect::<Vec<_>>(),
        "descriptor": f.descriptor.0.to_vec(),
    })
}

fn embed_one(
    p: &FacePipeline,
    path: &Path,
    kind: DetectorKind,
    upsample: u32,
) -> serde_json::Value {
    let shown = path.display().to_string();
    let result = std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| p.decode(&bytes).map_err(|e| e.to_string()))
        .and_then(|img| {
            p.analyze_image(&img, kind, upsample)
                .map(|faces| (img.width(), img.height(), faces))
                .map_err(|e| e.to_string())
        });
    match result {
        Ok((w, h, faces)) => {
            json!({"path": shown, "width": w, "height": h, "faces": faces.iter().map(face_json).collect::<Vec<_>>()})
        }
        Err(e) => json!({"path": shown, "error": e}),
    }
}

pub fn embed(
    detector: DetectorArg,
    upsample: Option<u32>,
    images: &[std::path::PathBuf],
) -> Result<()> {
    let pipeline = FacePipeline::bundled().context("loading models")?;
    let kind = detector_kind(detector);
    let upsample = upsample.unwrap_or(if kind == DetectorKind::Hog { 1 } else { 0 });
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for path in images {
        writeln!(out, "{}", embed_one(&pipeline, path, kind, upsample))?;
    }
    Ok(())
}

pub fn compare(a: &Path, b: &Path, threshold: f32) -> Result<()> {
    let pipeline = FacePipeline::bundled().context("loading models")?;
    let largest = |path: &Path| -> Result<Descriptor> {
        let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
        let img = pipeline
            .decode(&bytes)
            .with_context(|| path.display().to_string())?;
        let faces = pipeline.analyze_image(&img, DetectorKind::Hog, 1)?;
        match faces.first() {
            Some(f) => Ok(f.descriptor.clone()),
            None => bail!("no face found in {}", path.display()),
        }
    };
    let (da, db) = (largest(a)?, largest(b)?);
    let distance = da.distance(&db);
    let same = distance <= threshold;
    println!(
        "{}",
        json!({"distance": distance, "threshold": threshold, "same_person": same})
    );
    Ok(())
}
