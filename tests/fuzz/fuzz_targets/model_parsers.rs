//! Every model-file parser on the same bytes: the dlib-format readers (HOG detector,
//! shape predictor, the two DNN schemas) and the vision
//! crate's constructors on top of them (`HogDetector::from_bytes` builds the separable
//! filter banks with an SVD; `ShapePredictor::from_bytes` checks the part count).
//!
//! Each parser rejects a foreign header in a few bytes, so running all of them costs
//! little and lets one corpus (the real model files) serve them all.
//! Property: no panic, no unbounded allocation (libFuzzer's -rss_limit_mb / -malloc_limit_mb).
#![no_main]

use faceid_dlib_format::shape_predictor::parse_shape_predictor;
use faceid_dlib_format::{hog_detector::HogDetectorModel, net::Network};
use faceid_vision::{hog::HogDetector, shape::ShapePredictor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if HogDetectorModel::parse(data).is_ok() {
        // Only then is the (costlier) filter-bank construction worth running.
        let _ = HogDetector::from_bytes(data);
    }
    if let Ok(m) = parse_shape_predictor(data) {
        // The invariants the predictor indexes by without checks.
        let parts = m.num_parts();
        for c in &m.cascades {
            assert_eq!(c.anchor_idx.len(), c.deltas.len());
            assert!(c.anchor_idx.iter().all(|&a| (a as usize) < parts));
            for t in &c.trees {
                assert_eq!(t.leaf_values.len(), t.num_leaves() * 2 * parts);
                for s in &t.splits {
                    assert!(
                        (s.idx1 as usize) < c.deltas.len() && (s.idx2 as usize) < c.deltas.len()
                    );
                }
            }
        }
        let _ = ShapePredictor::from_bytes(data);
    }
    let _ = Network::parse_resnet_v1(data);
    let _ = Network::parse_mmod_human_face(data);
});
