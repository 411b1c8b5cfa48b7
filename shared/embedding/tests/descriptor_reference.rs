//! The descriptor network against dlib's reference descriptors: for every reference chip
//! (`chips/<stem>_<i>.png`, dlib's own 150×150 chip), the descriptor must be within L2 1e-4
//! of `faces[i].descriptor` in `<stem>.json` (dlib 20.0.1's
//! `compute_face_descriptor(img, shape)`).
//!
//! Committed fixtures always run; `../shared/testdata` runs too when present.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use faceid_embedding::descriptor::{Descriptor, DescriptorModel, DESCRIPTOR_LEN};
use serde::Deserialize;

const MAX_L2: f32 = 1e-4;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn model() -> &'static DescriptorModel {
    static MODEL: OnceLock<DescriptorModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let p = root().join("models/dlib_face_recognition_resnet_model_v1.onnx");
        let t = std::time::Instant::now();
        let m = DescriptorModel::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        eprintln!("descriptor model loaded in {:?}", t.elapsed());
        m
    })
}

#[derive(Deserialize)]
struct Reference {
    faces: Vec<Face>,
}

#[derive(Deserialize)]
struct Face {
    chip: Chip,
    descriptor: Vec<f32>,
}

#[derive(Deserialize)]
struct Chip {
    file: String,
}

struct Stats {
    count: usize,
    max: f32,
    sum: f64,
    worst: String,
}

/// Compares every face of every `*.json` in `reference_dir`; returns the statistics.
fn check_dir(reference_dir: &Path) -> Stats {
    let mut stats = Stats {
        count: 0,
        max: 0.0,
        sum: 0.0,
        worst: String::new(),
    };
    let mut failures = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(reference_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", reference_dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| p.file_name().is_some_and(|n| n != "manifest.json"))
        .collect();
    entries.sort();
    for json in entries {
        let text = std::fs::read_to_string(&json).expect("read json");
        let reference: Reference =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", json.display()));
        for face in reference.faces {
            let chip_path = reference_dir.join(&face.chip.file);
            let chip = image::open(&chip_path)
                .unwrap_or_else(|e| panic!("{}: {e}", chip_path.display()))
                .to_rgb8();
            let got = model().compute(&chip).expect("compute");
            let want = Descriptor(
                face.descriptor
                    .as_slice()
                    .try_into()
                    .unwrap_or_else(|_| panic!("{}: descriptor length", json.display())),
            );
            assert_eq!(want.0.len(), DESCRIPTOR_LEN);
            let d = got.distance(&want);
            stats.count += 1;
            stats.sum += f64::from(d);
            if d > stats.max {
                stats.max = d;
                stats.worst = face.chip.file.clone();
            }
            if d.is_nan() || d > MAX_L2 {
                failures.push(format!("{}: L2 {d}", face.chip.file));
            }
        }
    }
    eprintln!(
        "{}: {} descriptors, L2 vs dlib max {:.3e} ({}), mean {:.3e}",
        reference_dir.display(),
        stats.count,
        stats.max,
        stats.worst,
        stats.sum / stats.count.max(1) as f64
    );
    assert!(failures.is_empty(), "descriptors off: {failures:#?}");
    stats
}

#[test]
fn committed_reference_chips_match_dlib() {
    let dir = root().join("tests/fixtures/reference");
    let stats = check_dir(&dir);
    // Every committed chip has its JSON entry, so all of them were compared.
    let chips = std::fs::read_dir(dir.join("chips"))
        .expect("chips dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count();
    assert!(stats.count > 0);
    assert_eq!(stats.count, chips, "every committed chip is compared");
}

#[test]
fn shared_testdata_chips_match_dlib() {
    let dir = root().join("../shared/testdata/reference");
    if !dir.is_dir() {
        return; // the full set is optional (not in the repository)
    }
    let stats = check_dir(&dir);
    assert!(stats.count > 0);
}

#[test]
fn wrong_chip_size_is_an_error() {
    let chip = image::RgbImage::new(149, 150);
    assert!(model().compute(&chip).is_err());
}
