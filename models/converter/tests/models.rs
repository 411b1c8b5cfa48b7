//! The committed model files: checksums, reproducibility of the conversion, and the MMOD
//! graph's output-size arithmetic (dlib's, see `models/README.md`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use faceid_model_converter::{mmod_onnx, resnet_onnx, sha256_hex, MMOD_ONNX, RESNET_ONNX};
use tract_onnx::prelude::*;

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(name: &str) -> Vec<u8> {
    let p = models_dir().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn sha256sums_match_the_model_files() {
    let sums = String::from_utf8(read("SHA256SUMS")).expect("utf-8");
    let mut listed = BTreeMap::new();
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let (hash, name) = line
            .split_once("  ")
            .unwrap_or_else(|| panic!("bad SHA256SUMS line {line:?}"));
        listed.insert(name.to_owned(), hash.to_owned());
    }
    for (name, hash) in &listed {
        assert_eq!(&sha256_hex(&read(name)), hash, "{name}");
    }
    // Every model file in models/ is listed, and the converter's outputs are among them.
    let on_disk: Vec<String> = std::fs::read_dir(models_dir())
        .expect("models dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".onnx") || n.ends_with(".dat"))
        .collect();
    for name in &on_disk {
        assert!(listed.contains_key(name), "{name} is not in SHA256SUMS");
    }
    for name in [
        RESNET_ONNX,
        MMOD_ONNX,
        "shape_predictor_5_face_landmarks.dat",
    ] {
        assert!(listed.contains_key(name), "{name} missing from SHA256SUMS");
    }
}

type Converter = fn(&[u8]) -> anyhow::Result<Vec<u8>>;

/// With the upstream `.dat` files fetched (`models/fetch.sh`), converting again gives the
/// committed bytes. Skipped silently when `models/upstream/` is absent.
#[test]
fn conversion_reproduces_the_committed_files() {
    let up = models_dir().join("upstream");
    let cases: [(&str, &str, Converter); 2] = [
        (
            "dlib_face_recognition_resnet_model_v1.dat",
            RESNET_ONNX,
            resnet_onnx,
        ),
        ("mmod_human_face_detector.dat", MMOD_ONNX, mmod_onnx),
    ];
    for (dat, onnx, convert) in cases {
        let Ok(dat) = std::fs::read(up.join(dat)) else {
            continue;
        };
        let fresh = convert(&dat).expect("convert");
        assert!(
            fresh == read(onnx),
            "{onnx} differs from a fresh conversion"
        );
    }
}

/// dlib's output size for the detector: three 5×5 stride-2 convolutions without padding,
/// the rest keep the size.
fn dlib_mmod_out(n: usize) -> usize {
    let f = |n: usize| (n - 5) / 2 + 1;
    f(f(f(n)))
}

#[test]
fn mmod_output_size_follows_dlib() {
    let model = tract_onnx::onnx()
        .model_for_path(models_dir().join(MMOD_ONNX))
        .expect("load");
    for (h, w) in [(29, 29), (30, 64), (101, 77), (240, 320)] {
        let plan = model
            .clone()
            .with_input_fact(0, f32::fact([1, 3, h, w]).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .expect("plan");
        let x = Tensor::zero::<f32>(&[1, 3, h, w]).expect("tensor");
        let out = plan.run(tvec!(x.into())).expect("run");
        assert_eq!(
            out[0].shape(),
            [1, 1, dlib_mmod_out(h), dlib_mmod_out(w)],
            "{h}x{w}"
        );
    }
}

#[test]
fn resnet_has_the_documented_interface() {
    let model = tract_onnx::onnx()
        .model_for_path(models_dir().join(RESNET_ONNX))
        .expect("load")
        .into_optimized()
        .expect("optimise");
    let input = model.input_fact(0).expect("input");
    assert_eq!(format!("{:?}", input.shape), "1,3,150,150");
    let output = model.output_fact(0).expect("output");
    assert_eq!(format!("{:?}", output.shape), "1,128");
}

#[test]
fn corrupt_dat_files_are_errors() {
    assert!(resnet_onnx(b"").is_err());
    assert!(mmod_onnx(&[0x01, 0x01, 0x01, 0x00]).is_err());
}
