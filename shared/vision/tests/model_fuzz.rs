//! Seeded, bounded property tests of the model constructors on top of the dlib-format
//! parsers (CI side of the `model_parsers` cargo-fuzz target in tests/fuzz): mutated and
//! truncated model files give a typed error or a usable model, never a panic.

use faceid_mutate::Mutations;
use faceid_vision::hog::HogDetector;
use faceid_vision::shape::ShapePredictor;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use std::path::Path;
use std::sync::OnceLock;

fn model(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../models")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn hog_seed() -> &'static [u8] {
    static D: OnceLock<Vec<u8>> = OnceLock::new();
    D.get_or_init(|| model("frontal_face_detector.dat"))
}

/// The shape predictor's first 256 KiB: its header, mean shape and first trees (the
/// whole 9 MB file costs too much to copy per case in a debug build).
fn shape_seed() -> &'static [u8] {
    static D: OnceLock<Vec<u8>> = OnceLock::new();
    D.get_or_init(|| model("shape_predictor_5_face_landmarks.dat")[..256 << 10].to_vec())
}

/// Edits of a model file; half of the positions among the first 512 bytes, where the
/// counts and sizes are.
fn mutations() -> Mutations {
    Mutations::new().head(512)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 150,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x5eed_0fb0),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_hog_detector_never_panics(
        edits in mutations().edits(1..6),
    ) {
        let data = mutations().apply(hog_seed(), &edits);
        if let Ok(d) = HogDetector::from_bytes(&data) {
            // A model that loads must also run.
            let img = image::RgbImage::new(90, 90);
            let _ = d.detect(&img, 0, 0.0);
        }
    }

    #[test]
    fn mutated_shape_predictor_never_panics(
        edits in mutations().edits(1..6),
    ) {
        let _ = ShapePredictor::from_bytes(&mutations().apply(shape_seed(), &edits));
    }
}

#[test]
fn truncated_models_are_errors() {
    for cut in [0, 1, 7, 100, 4096, 100_000] {
        assert!(HogDetector::from_bytes(&hog_seed()[..cut]).is_err());
        assert!(ShapePredictor::from_bytes(&shape_seed()[..cut]).is_err());
    }
}
