//! Seeded, bounded property tests of the model-file parsers (the CI side of the
//! `model_parsers` cargo-fuzz target in tests/fuzz): mutated and truncated model files
//! never panic, and whatever parses satisfies the invariants the predictor and detector
//! index by without checks.
//!
//! Seeds: a tiny valid 5-part shape predictor built here, the committed HOG detector and
//! shape predictor (`models/`), and dlib's MMOD network when `models/upstream/` holds it.

use faceid_dlib_format::hog_detector::HogDetectorModel;
use faceid_dlib_format::net::Network;
use faceid_dlib_format::shape_predictor::{parse_shape_predictor, ShapePredictorModel};
use faceid_mutate::Mutations;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use std::path::Path;

fn models() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"))
}

/// Compact-int encoding.
fn int(v: i64) -> Vec<u8> {
    let mut bytes = v.unsigned_abs().to_le_bytes().to_vec();
    while bytes.len() > 1 && bytes.last() == Some(&0) {
        bytes.pop();
    }
    let mut out = vec![bytes.len() as u8 | if v < 0 { 0x80 } else { 0 }];
    out.extend(bytes);
    out
}

/// A float k/4 (mantissa k, exponent -2).
fn quarter(k: i64) -> Vec<u8> {
    let mut out = int(k);
    out.extend(int(-2));
    out
}

fn column(values: &[i64]) -> Vec<u8> {
    let mut d = int(-(values.len() as i64));
    d.extend(int(-1));
    for &v in values {
        d.extend(quarter(v));
    }
    d
}

/// A valid 5-part predictor: 2 cascades of 2 depth-2 trees over 4 feature pixels.
fn tiny_predictor() -> Vec<u8> {
    let mut d = int(1);
    d.extend(column(&[1, 1, 2, 1, 2, 2, 3, 2, 2, 3]));
    d.extend(int(2));
    for c in 0..2i64 {
        d.extend(int(2));
        for t in 0..2i64 {
            d.extend(int(3));
            for s in 0..3i64 {
                d.extend(int((s + t) % 4));
                d.extend(int((s + c + 1) % 4));
                d.extend(quarter(s - 1));
            }
            d.extend(int(4));
            for leaf in 0..4i64 {
                d.extend(column(&[leaf - t; 10]));
            }
        }
    }
    d.extend(int(2));
    for _ in 0..2 {
        d.extend(int(4));
        for a in 0..4 {
            d.extend(int(a));
        }
    }
    d.extend(int(2));
    for c in 0..2i64 {
        d.extend(int(4));
        for k in 0..8 {
            d.extend(quarter(k - c));
        }
    }
    d
}

fn check_predictor(m: &ShapePredictorModel) {
    let parts = m.num_parts();
    assert!(parts > 0 && m.initial_shape.len() == 2 * parts);
    for c in &m.cascades {
        assert_eq!(c.anchor_idx.len(), c.deltas.len());
        assert!(c.anchor_idx.iter().all(|&a| (a as usize) < parts));
        for t in &c.trees {
            assert_eq!(t.leaf_values.len(), t.num_leaves() * 2 * parts);
            for s in &t.splits {
                assert!((s.idx1 as usize) < c.deltas.len());
                assert!((s.idx2 as usize) < c.deltas.len());
            }
        }
    }
}

fn check_hog(m: &HogDetectorModel) {
    let dims = m.scanner.num_dimensions();
    assert!(!m.weights.is_empty());
    assert!(m.weights.iter().all(|w| w.len() == dims + 1));
    assert!((0.0..=1.0).contains(&m.iou_thresh));
}

/// Every parser on the same bytes, as the fuzz target does.
fn parse_all(data: &[u8]) {
    if let Ok(m) = parse_shape_predictor(data) {
        check_predictor(&m);
    }
    if let Ok(m) = HogDetectorModel::parse(data) {
        check_hog(&m);
    }
    let _ = Network::parse_resnet_v1(data);
    let _ = Network::parse_mmod_human_face(data);
}

/// Edits of a seed; half of the positions among the first 512 bytes: the headers and
/// counts are where a changed byte changes the parse, not deep inside float data.
fn mutations() -> Mutations {
    Mutations::new().head(512)
}

/// A fixed-seed runner: the same cases on every run, so a failure reproduces.
fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x5eed_d11b),
        ..Config::default()
    })
}

fn fuzz_seed(seed: &[u8], cases: u32) {
    let m = mutations();
    runner(cases)
        .run(&m.edits(1..8), |edits| {
            parse_all(&m.apply(seed, &edits));
            Ok(())
        })
        .unwrap();
}

/// Regression (found by `mutated_tiny_predictor_never_panics`): a matrix whose
/// rows × cols fits `usize` but whose byte estimate (× 2) does not overflowed while
/// building the `Eof` error.
#[test]
fn huge_matrix_sizes_are_an_error_not_an_overflow() {
    // shape_predictor version 1, then a 2^62 × 2 "new format" (negated) matrix.
    let mut data = int(1);
    data.extend(int(-(1 << 62)));
    data.extend(int(-2));
    data.extend([0u8; 16]);
    assert!(matches!(
        parse_shape_predictor(&data),
        Err(faceid_dlib_format::Error::Eof { .. })
    ));
    let mut r = faceid_dlib_format::Reader::new(&data[2..]);
    assert!(r.matrix().is_err());
}

#[test]
fn tiny_predictor_is_valid() {
    let m = parse_shape_predictor(&tiny_predictor()).unwrap();
    assert_eq!(m.num_parts(), 5);
    assert_eq!(m.cascades.len(), 2);
    check_predictor(&m);
}

#[test]
fn mutated_tiny_predictor_never_panics() {
    fuzz_seed(&tiny_predictor(), 2000);
}

#[test]
fn mutated_hog_detector_never_panics() {
    let data = std::fs::read(models().join("frontal_face_detector.dat")).unwrap();
    fuzz_seed(&data, 300);
}

#[test]
fn mutated_shape_predictor_never_panics() {
    // 9 MB: only the first 64 KiB (header, initial shape, the first trees) is mutated and
    // parsed, which is where the counts and indices are.
    let data = std::fs::read(models().join("shape_predictor_5_face_landmarks.dat")).unwrap();
    fuzz_seed(&data[..64 << 10], 300);
}

#[test]
fn mutated_mmod_network_never_panics() {
    // dlib's original network file is not committed (models/fetch.sh downloads it).
    let Ok(data) = std::fs::read(models().join("upstream/mmod_human_face_detector.dat")) else {
        return;
    };
    assert!(Network::parse_mmod_human_face(&data).is_ok());
    fuzz_seed(&data, 200);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x5eed_d11b),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_all(&data);
    }
}
