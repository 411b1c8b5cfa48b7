//! Converts dlib's `.dat` networks (the ResNet face descriptor and the MMOD face detector)
//! to ONNX files that tract runs. See `models/README.md` for the input conventions.

pub mod convert;
pub mod onnx;

use anyhow::{bail, Context};
use faceid_dlib_format::net::{Input, Loss, Network};
use sha2::{Digest, Sha256};

use convert::{convert, InputMode, Options};
use onnx::Dim;

/// File names inside `models/`.
pub const RESNET_ONNX: &str = "dlib_face_recognition_resnet_model_v1.onnx";
pub const MMOD_ONNX: &str = "mmod_human_face_detector.onnx";

pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The recognition network: input `chip` = raw RGB 0..255 as f32 `[1,3,150,150]` (NCHW);
/// the graph subtracts dlib's per-channel means and divides by 256. Output `descriptor`
/// `[1,128]` (not normalised, exactly dlib's output).
pub fn resnet_onnx(dat: &[u8]) -> anyhow::Result<Vec<u8>> {
    let net = Network::parse_resnet_v1(dat).context("parsing the ResNet .dat")?;
    let Input::RgbImageSized { mean, nr, nc } = net.input else {
        bail!("unexpected input layer {:?}", net.input);
    };
    let (margin, dist_thresh) = match net.loss {
        Loss::Metric {
            margin,
            dist_thresh,
        } => (margin, dist_thresh),
        Loss::Mmod(_) => bail!("not a metric network"),
    };
    let opts = Options {
        graph_name: "dlib_face_recognition_resnet_model_v1",
        input_name: "chip",
        input_dims: [
            Dim::Fixed(1),
            Dim::Fixed(3),
            Dim::Fixed(nr as i64),
            Dim::Fixed(nc as i64),
        ],
        input_mode: InputMode::RawRgb { mean },
        output_name: "descriptor",
        output_dims: vec![Dim::Fixed(1), Dim::Fixed(128)],
        fold_affine: true,
        doc: format!(
            "dlib_face_recognition_resnet_model_v1 (Davis King, CC0/public domain), converted \
             from dlib's .dat (sha256 {}). Input `chip`: raw RGB 0..255 as f32 NCHW [1,3,{nr},{nc}]; \
             the graph computes (v - mean)/256 with means R {} G {} B {}. Output `descriptor`: [1,128].",
            sha256_hex(dat),
            mean[0],
            mean[1],
            mean[2]
        ),
        metadata: vec![
            ("source_sha256", sha256_hex(dat)),
            ("input_mean_rgb", format!("{} {} {}", mean[0], mean[1], mean[2])),
            ("input_scale", "1/256".into()),
            ("loss_metric_margin", margin.to_string()),
            ("loss_metric_distance_threshold", dist_thresh.to_string()),
        ],
    };
    Ok(onnx::encode(&convert(&net, &opts)?))
}

/// The MMOD detector: input `image` = the *normalised* tiled pyramid,
/// (v − mean)/256 per channel, f32 `[1,3,H,W]` with dynamic H, W; output `scores`
/// `[1,1,H',W']` with H' = ((H−5)/2+1 −5)/2+1 … (three 5×5 stride-2 convolutions).
pub fn mmod_onnx(dat: &[u8]) -> anyhow::Result<Vec<u8>> {
    let net = Network::parse_mmod_human_face(dat).context("parsing the MMOD .dat")?;
    let Input::RgbImagePyramid {
        mean,
        pyramid_padding,
        pyramid_outer_padding,
    } = net.input
    else {
        bail!("unexpected input layer {:?}", net.input);
    };
    let Loss::Mmod(mmod) = &net.loss else {
        bail!("not an MMOD network");
    };
    let windows = mmod
        .detector_windows
        .iter()
        .map(|w| format!("{}x{}:{}", w.width, w.height, w.label))
        .collect::<Vec<_>>()
        .join(",");
    let opts = Options {
        graph_name: "mmod_human_face_detector",
        input_name: "image",
        input_dims: [
            Dim::Fixed(1),
            Dim::Fixed(3),
            Dim::Named("height"),
            Dim::Named("width"),
        ],
        input_mode: InputMode::Normalised,
        output_name: "scores",
        output_dims: vec![
            Dim::Fixed(1),
            Dim::Fixed(1),
            Dim::Named("out_height"),
            Dim::Named("out_width"),
        ],
        fold_affine: true,
        doc: format!(
            "mmod_human_face_detector (Davis King, CC0/public domain), converted from dlib's .dat \
             (sha256 {}). Input `image`: f32 NCHW [1,3,H,W] already normalised as \
             (v - mean)/256 with means R {} G {} B {} (the tiled pyramid is built on the \
             normalised values). Output `scores`: [1,1,H',W'] detection scores.",
            sha256_hex(dat),
            mean[0],
            mean[1],
            mean[2]
        ),
        metadata: vec![
            ("source_sha256", sha256_hex(dat)),
            (
                "input_mean_rgb",
                format!("{} {} {}", mean[0], mean[1], mean[2]),
            ),
            ("input_scale", "1/256".into()),
            ("pyramid_padding", pyramid_padding.to_string()),
            ("pyramid_outer_padding", pyramid_outer_padding.to_string()),
            ("detector_windows", windows),
            (
                "overlaps_nms",
                format!(
                    "{} {}",
                    mmod.overlaps_nms.iou_thresh, mmod.overlaps_nms.percent_covered_thresh
                ),
            ),
            (
                "overlaps_ignore",
                format!(
                    "{} {}",
                    mmod.overlaps_ignore.iou_thresh, mmod.overlaps_ignore.percent_covered_thresh
                ),
            ),
        ],
    };
    Ok(onnx::encode(&convert(&net, &opts)?))
}
