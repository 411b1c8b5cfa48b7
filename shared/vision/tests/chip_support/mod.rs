//! Shared helpers of the landmark and chip reference tests: locate the fixtures, the
//! optional full test set and the model; read the reference JSON.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use faceid_vision::decode::{decode_image, DecodeError, DecodeLimits};
use image::RgbImage;
use serde_json::Value;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Reference sets to check: the committed fixtures (always) and `../shared/testdata`
/// when it is present.
pub fn reference_sets() -> Vec<PathBuf> {
    let root = workspace_root();
    let fixtures = root.join("tests/fixtures");
    assert!(
        fixtures.join("reference").is_dir(),
        "missing committed fixtures at {}",
        fixtures.display()
    );
    let mut sets = vec![fixtures];
    let shared = root.join("../shared/testdata");
    if shared.join("reference").is_dir() {
        sets.push(shared);
    }
    sets
}

/// The 5-point model: `$FACEID_SHAPE_PREDICTOR` or the committed `models/` copy (see
/// the models README for where it comes from).
pub fn shape_predictor_path() -> PathBuf {
    if let Ok(p) = std::env::var("FACEID_SHAPE_PREDICTOR") {
        return PathBuf::from(p);
    }
    let p = workspace_root().join("models/shape_predictor_5_face_landmarks.dat");
    assert!(
        p.is_file(),
        "shape predictor model not found at {} (set FACEID_SHAPE_PREDICTOR)",
        p.display()
    );
    p
}

pub struct RefImage {
    pub set: PathBuf,
    pub stem: String,
    pub json: Value,
}

impl RefImage {
    /// Decodes the image as the reference did (no EXIF rotation); `None` for the formats
    /// we do not accept (the shared set has one WebP file named `.jpg`).
    pub fn decode(&self) -> Option<RgbImage> {
        let rel = self.json["image"].as_str().expect("image path");
        let bytes = std::fs::read(self.set.join(rel)).expect("read image");
        let limits = DecodeLimits {
            apply_exif_orientation: false,
            max_pixels: 100_000_000,
            max_bytes: 100 << 20,
        };
        let img = match decode_image(&bytes, &limits) {
            Ok(img) => img,
            Err(DecodeError::UnsupportedFormat) => {
                eprintln!("{}: skipped, not JPEG/PNG", self.stem);
                return None;
            }
            Err(e) => panic!("{}: {e}", self.stem),
        };
        assert_eq!(
            (img.width() as u64, img.height() as u64),
            (
                self.json["width"].as_u64().unwrap(),
                self.json["height"].as_u64().unwrap()
            ),
            "{}: decoded size differs from the reference",
            self.stem
        );
        Some(img)
    }

    /// PNG decoding is exact, so everything downstream must match dlib bit for bit; JPEG
    /// decoders differ from Pillow's libjpeg-turbo (see the decode module docs).
    pub fn is_png(&self) -> bool {
        self.json["image"]
            .as_str()
            .is_some_and(|p| p.ends_with(".png"))
    }

    pub fn faces(&self) -> &[Value] {
        self.json["faces"]
            .as_array()
            .map(|v| v.as_slice())
            .unwrap_or(&[])
    }
}

/// All reference images of a set that have at least one face.
pub fn reference_images(set: &Path) -> Vec<RefImage> {
    let dir = set.join("reference");
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("reference dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| p.file_stem().is_some_and(|s| s != "manifest"))
        .collect();
    entries.sort();
    for path in entries {
        let json: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if json["faces"].as_array().is_some_and(|f| !f.is_empty()) {
            out.push(RefImage {
                set: set.to_path_buf(),
                stem: path.file_stem().unwrap().to_string_lossy().into_owned(),
                json,
            });
        }
    }
    out
}

pub fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

pub fn rect(v: &Value) -> faceid_vision::Rect {
    let r = ints(v);
    faceid_vision::Rect::new(r[0], r[1], r[2], r[3])
}

pub fn landmarks(v: &Value) -> [faceid_vision::Point; 5] {
    let pts = v.as_array().unwrap();
    std::array::from_fn(|i| {
        let p = ints(&pts[i]);
        faceid_vision::Point { x: p[0], y: p[1] }
    })
}
