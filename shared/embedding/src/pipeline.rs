//! The whole face pipeline, bytes to descriptors: decode → detect → 5-point landmarks →
//! aligned 150×150 chip → 128-D descriptor. Load once per process; `Send + Sync`.

use crate::descriptor::{Descriptor, DescriptorModel, ModelError, CHIP_SIZE};
use crate::mmod::{MmodConfig, MmodDetector, MmodError};
use faceid_core::face::{AnalyzeError, DetectorKind, FaceAnalyzer, FaceObservation, ImageAnalysis};
use faceid_core::parallax::FacePatch;
use faceid_core::replay::FrameDigest;
use faceid_core::screen_light::FaceTones;
use faceid_vision::chip::{extract_image_chip, get_face_chip_details};
use faceid_vision::decode::{decode_image, DecodeError, DecodeLimits};
use faceid_vision::hog::{HogDetector, HogError};
use faceid_vision::shape::{ShapePredictor, ShapePredictorError};
use faceid_vision::{Detection, Point, Rect};
use image::RgbImage;
use std::path::Path;

/// Identifies the descriptor model in stored templates.
pub const MODEL_ID: &str = "dlib_face_recognition_resnet_model_v1";

/// dlib's chip padding used by face_recognition.
const CHIP_PADDING: f64 = 0.25;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("cannot read model file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("descriptor model: {0}")]
    Descriptor(#[from] ModelError),
    #[error("CNN detector: {0}")]
    Mmod(#[from] MmodError),
    #[error("HOG detector: {0}")]
    Hog(#[from] HogError),
    #[error("shape predictor: {0}")]
    Shape(#[from] ShapePredictorError),
    #[error("image: {0}")]
    Decode(#[from] DecodeError),
}

/// The model files the pipeline needs, as bytes.
pub struct ModelBytes<'a> {
    pub resnet_onnx: &'a [u8],
    pub mmod_onnx: &'a [u8],
    pub shape_predictor_dat: &'a [u8],
    pub hog_detector_dat: &'a [u8],
}

/// File names in `models/`.
pub const RESNET_FILE: &str = "dlib_face_recognition_resnet_model_v1.onnx";
pub const MMOD_FILE: &str = "mmod_human_face_detector.onnx";
pub const SHAPE_FILE: &str = "shape_predictor_5_face_landmarks.dat";
pub const HOG_FILE: &str = "frontal_face_detector.dat";

/// One face found by the pipeline.
#[derive(Debug, Clone)]
pub struct Face {
    pub detection: Detection,
    pub landmarks: [Point; 5],
    pub descriptor: Descriptor,
    pub sharpness: f32,
}

pub struct FacePipeline {
    hog: HogDetector,
    mmod: MmodDetector,
    shapes: ShapePredictor,
    descriptor: DescriptorModel,
    limits: DecodeLimits,
    /// HOG upsampling used by the service (`FaceAnalyzer`): 0 finds faces from about
    /// 80 px, the enrollment minimum, at a quarter of the cost of upsample 1.
    service_hog_upsample: u32,
}

impl std::fmt::Debug for FacePipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FacePipeline")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl FacePipeline {
    pub fn from_bytes(models: &ModelBytes<'_>) -> Result<Self, PipelineError> {
        Ok(Self {
            hog: HogDetector::from_bytes(models.hog_detector_dat)?,
            mmod: MmodDetector::from_onnx_bytes(models.mmod_onnx, MmodConfig::default())?,
            shapes: ShapePredictor::from_bytes(models.shape_predictor_dat)?,
            descriptor: DescriptorModel::from_bytes(models.resnet_onnx)?,
            limits: DecodeLimits::default(),
            service_hog_upsample: 0,
        })
    }

    /// Loads the four model files from a directory (the repository's `models/`).
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, PipelineError> {
        let read = |name: &str| {
            let path = dir.as_ref().join(name);
            std::fs::read(&path).map_err(|source| PipelineError::Io {
                path: path.display().to_string(),
                source,
            })
        };
        let (resnet, mmod, shape, hog) = (
            read(RESNET_FILE)?,
            read(MMOD_FILE)?,
            read(SHAPE_FILE)?,
            read(HOG_FILE)?,
        );
        Self::from_bytes(&ModelBytes {
            resnet_onnx: &resnet,
            mmod_onnx: &mmod,
            shape_predictor_dat: &shape,
            hog_detector_dat: &hog,
        })
    }

    /// The models compiled into the binary (feature `bundled-models`), so a Lambda zip
    /// or the `faceid` binary needs no model files beside it.
    #[cfg(feature = "bundled-models")]
    pub fn bundled() -> Result<Self, PipelineError> {
        macro_rules! model {
            ($f:literal) => {
                include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/", $f))
            };
        }
        Self::from_bytes(&ModelBytes {
            resnet_onnx: model!("dlib_face_recognition_resnet_model_v1.onnx"),
            mmod_onnx: model!("mmod_human_face_detector.onnx"),
            shape_predictor_dat: model!("shape_predictor_5_face_landmarks.dat"),
            hog_detector_dat: model!("frontal_face_detector.dat"),
        })
    }

    pub fn with_limits(mut self, limits: DecodeLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn decode(&self, bytes: &[u8]) -> Result<RgbImage, DecodeError> {
        decode_image(bytes, &self.limits)
    }

    /// Faces as face_recognition finds them: HOG (`face_locations(img, upsample, "hog")`,
    /// threshold 0) or the CNN (`"cnn"`).
    pub fn detect(
        &self,
        img: &RgbImage,
        detector: DetectorKind,
        upsample: u32,
    ) -> Result<Vec<Detection>, PipelineError> {
        Ok(match detector {
            DetectorKind::Hog => self.hog.detect(img, upsample, 0.0),
            DetectorKind::Cnn => self.mmod.detect(img, upsample)?,
        })
    }

    /// Landmarks, chip and descriptor of one detected face.
    pub fn describe(&self, img: &RgbImage, detection: Detection) -> Result<Face, PipelineError> {
        let landmarks = self.shapes.predict(img, detection.rect);
        let details = get_face_chip_details(&landmarks, CHIP_SIZE, CHIP_PADDING);
        let chip = extract_image_chip(img, &details);
        let descriptor = self.descriptor.compute(&chip)?;
        Ok(Face {
            detection,
            landmarks,
            descriptor,
            sharpness: sharpness(&chip),
        })
    }

    /// Every face in the image, largest box first.
    pub fn analyze_image(
        &self,
        img: &RgbImage,
        detector: DetectorKind,
        upsample: u32,
    ) -> Result<Vec<Face>, PipelineError> {
        let mut dets = self.detect(img, detector, upsample)?;
        dets.sort_by_key(|d| std::cmp::Reverse(d.rect.area()));
        dets.into_iter().map(|d| self.describe(img, d)).collect()
    }
}

/// Variance of the 4-neighbour Laplacian of the grey chip: low for blurred faces.
pub fn sharpness(chip: &RgbImage) -> f32 {
    let (w, h) = (chip.width() as usize, chip.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let grey: Vec<f32> = chip
        .as_raw()
        .chunks_exact(3)
        .map(|p| (f32::from(p[0]) + f32::from(p[1]) + f32::from(p[2])) / 3.0)
        .collect();
    let (mut sum, mut sum_sq, mut n) = (0f64, 0f64, 0f64);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = y * w + x;
            let l = grey[i - 1] + grey[i + 1] + grey[i - w] + grey[i + w] - 4.0 * grey[i];
            sum += f64::from(l);
            sum_sq += f64::from(l) * f64::from(l);
            n += 1.0;
        }
    }
    let mean = sum / n;
    (sum_sq / n - mean * mean) as f32
}

fn observation(img: &RgbImage, face: &Face) -> FaceObservation {
    let Rect {
        left,
        top,
        right,
        bottom,
    } = face.detection.rect;
    let landmarks = face.landmarks.map(|p| [p.x as f64, p.y as f64]);
    FaceObservation {
        rect: [left, top, right, bottom],
        score: face.detection.score,
        landmarks,
        descriptor: face.descriptor.clone(),
        sharpness: face.sharpness,
        skin_rgb: skin_rgb(img, [left, top, right, bottom]),
        tones: lower_face_tones(img, &landmarks),
        patch: FacePatch::sample(&landmarks, |x, y| grey_at(img, x, y)),
    }
}

/// Bilinear grey level (mean of R, G, B) at a real-valued point, clamped to the image.
fn grey_at(img: &RgbImage, x: f64, y: f64) -> f32 {
    let (w, h) = (img.width() as f64, img.height() as f64);
    let (x, y) = (x.clamp(0.0, w - 1.0), y.clamp(0.0, h - 1.0));
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = ((x - x0) as f32, (y - y0) as f32);
    let (x0, y0) = (x0 as u32, y0 as u32);
    let (x1, y1) = (
        (x0 + 1).min(img.width() - 1),
        (y0 + 1).min(img.height() - 1),
    );
    let g = |x, y| {
        let p = img.get_pixel(x, y).0;
        (f32::from(p[0]) + f32::from(p[1]) + f32::from(p[2])) / 3.0
    };
    let top = g(x0, y0) * (1.0 - fx) + g(x1, y0) * fx;
    let bottom = g(x0, y1) * (1.0 - fx) + g(x1, y1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// Mean RGB of the middle of a face box (half its width, three fifths of its height):
/// eyes, nose and cheeks, what the screen's light falls on.
pub fn skin_rgb(img: &RgbImage, [left, top, right, bottom]: [i64; 4]) -> [f32; 3] {
    let (w, h) = (right - left + 1, bottom - top + 1);
    mean_rgb(
        img,
        &[[left + w / 4, top + h / 5, right - w / 4, bottom - h / 5]],
    )
}

/// The lower face's tones ([`FaceTones`]): below the nose tip (from 0.1 to 0.9 eye
/// distances under it), 0.6 eye distances either side of the eyes' midpoint; the mean
/// colour of its darkest 15 % of pixels (by the sum of channels) and of its brighter half.
/// Away from the eyes, where glasses reflect the screen's light.
pub fn lower_face_tones(img: &RgbImage, landmarks: &[[f64; 2]; 5]) -> Option<FaceTones> {
    let eye = |a: usize, b: usize| {
        [
            (landmarks[a][0] + landmarks[b][0]) / 2.0,
            (landmarks[a][1] + landmarks[b][1]) / 2.0,
        ]
    };
    let (one, other, nose) = (eye(0, 1), eye(2, 3), landmarks[4]);
    let eyes = (other[0] - one[0]).hypot(other[1] - one[1]);
    let mid = (one[0] + other[0]) / 2.0;
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    let (left, right) = ((mid - 0.6 * eyes).max(0.0), (mid + 0.6 * eyes).min(w - 1.0));
    let (top, bottom) = (
        (nose[1] + 0.1 * eyes).max(0.0),
        (nose[1] + 0.9 * eyes).min(h - 1.0),
    );
    if !(eyes.is_finite() && right > left && bottom > top) {
        return None;
    }
    let mut pixels: Vec<[u8; 3]> = Vec::new();
    for y in top as u32..=bottom as u32 {
        for x in left as u32..=right as u32 {
            pixels.push(img.get_pixel(x, y).0);
        }
    }
    pixels.sort_unstable_by_key(|p| p.iter().map(|&v| u32::from(v)).sum::<u32>());
    let mean = |v: &[[u8; 3]]| -> [f32; 3] {
        std::array::from_fn(|k| {
            (v.iter().map(|p| f64::from(p[k])).sum::<f64>() / v.len().max(1) as f64) as f32
        })
    };
    let dark = (pixels.len() * 15 / 100).max(1);
    Some(FaceTones {
        dark: mean(&pixels[..dark]),
        bright: mean(&pixels[pixels.len() / 2..]),
    })
}

/// A pixel with a channel at or above this level the camera may have clipped: it cannot
/// show whether the screen's light reached it.
pub const CLIPPED_LEVEL: u8 = 250;

/// Mean RGB of the frame's top eighth, and its left and right eighths down to half
/// height (mostly background), over the pixels not clipped; and the fraction clipped.
/// Clipped pixels are left out because they cannot follow the screen's colours whatever
/// they show: a white screen background would pass for a far wall.
pub fn border_rgb(img: &RgbImage) -> ([f32; 3], f32) {
    let (w, h) = (i64::from(img.width()), i64::from(img.height()));
    let rects = [
        [0, 0, w - 1, h / 8],
        [0, h / 8 + 1, w / 8, h / 2],
        [w - 1 - w / 8, h / 8 + 1, w - 1, h / 2],
    ];
    let (mean, kept, all) = mean_rgb_where(img, &rects, |p| p.iter().all(|&v| v < CLIPPED_LEVEL));
    (mean, 1.0 - kept as f32 / all.max(1) as f32)
}

/// Mean RGB over inclusive rectangles `[left, top, right, bottom]`, clipped to the image.
fn mean_rgb(img: &RgbImage, rects: &[[i64; 4]]) -> [f32; 3] {
    mean_rgb_where(img, rects, |_| true).0
}

/// Mean RGB of the pixels `keep` accepts, over inclusive rectangles clipped to the image;
/// with how many it kept and how many there were.
fn mean_rgb_where(
    img: &RgbImage,
    rects: &[[i64; 4]],
    keep: impl Fn(&[u8; 3]) -> bool,
) -> ([f32; 3], u64, u64) {
    let (w, h) = (i64::from(img.width()), i64::from(img.height()));
    let (mut sum, mut n, mut all) = ([0u64; 3], 0u64, 0u64);
    for &[l, t, r, b] in rects {
        for y in t.max(0)..=b.min(h - 1) {
            for x in l.max(0)..=r.min(w - 1) {
                let p = img.get_pixel(x as u32, y as u32).0;
                all += 1;
                if !keep(&p) {
                    continue;
                }
                for (s, v) in sum.iter_mut().zip(p) {
                    *s += u64::from(v);
                }
                n += 1;
            }
        }
    }
    (sum.map(|s| (s as f64 / n.max(1) as f64) as f32), n, all)
}

impl FaceAnalyzer for FacePipeline {
    fn analyze(&self, bytes: &[u8], detector: DetectorKind) -> Result<ImageAnalysis, AnalyzeError> {
        let img = self.decode(bytes).map_err(|e| match e {
            DecodeError::TooManyBytes { .. }
            | DecodeError::TooManyPixels { .. }
            | DecodeError::MemoryLimit(_) => AnalyzeError::TooLarge(e.to_string()),
            other => AnalyzeError::Input(other.to_string()),
        })?;
        let upsample = match detector {
            DetectorKind::Hog => self.service_hog_upsample,
            DetectorKind::Cnn => 0,
        };
        let faces = self
            .analyze_image(&img, detector, upsample)
            .map_err(|e| AnalyzeError::Internal(e.to_string()))?;
        let (border_rgb, border_clipped) = border_rgb(&img);
        Ok(ImageAnalysis {
            width: img.width(),
            height: img.height(),
            faces: faces.iter().map(|f| observation(&img, f)).collect(),
            border_rgb,
            border_clipped,
            digest: FrameDigest::of_pixels(img.width(), img.height(), img.as_raw()),
        })
    }

    fn model_id(&self) -> &str {
        MODEL_ID
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_border_leaves_out_what_the_camera_clipped() {
        // Left half white, as a window or a white screen background; right half grey.
        let img = RgbImage::from_fn(160, 120, |x, _| {
            if x < 80 {
                image::Rgb([255, 252, 250])
            } else {
                image::Rgb([100, 110, 120])
            }
        });
        let (rgb, clipped) = border_rgb(&img);
        assert_eq!(rgb, [100.0, 110.0, 120.0]);
        assert!((clipped - 0.5).abs() < 0.02, "{clipped}");
        // A channel just under the level counts as seen.
        let (rgb, clipped) = border_rgb(&RgbImage::from_pixel(40, 40, image::Rgb([249, 60, 60])));
        assert_eq!((rgb, clipped), ([249.0, 60.0, 60.0], 0.0));
    }

    #[test]
    fn the_lower_face_tones_are_its_dark_features_and_its_skin() {
        // Eyes at (80, 60) and (120, 60), nose tip at (100, 80): the lower face spans
        // x 76–124, y 84–116. Skin there, with a dark mouth line (a tenth of the region)
        // and, outside it, dark eyes and a white background that must not count.
        let img = RgbImage::from_fn(200, 200, |x, y| match (x, y) {
            (76..=124, 100..=104) => image::Rgb([60, 40, 35]),
            (70..=130, 84..=120) => image::Rgb([190, 140, 120]),
            (70..=130, 55..=65) => image::Rgb([20, 20, 20]),
            _ => image::Rgb([255, 255, 255]),
        });
        let landmarks = [
            [75.0, 60.0],
            [85.0, 60.0],
            [125.0, 60.0],
            [115.0, 60.0],
            [100.0, 80.0],
        ];
        let t = lower_face_tones(&img, &landmarks).expect("inside the image");
        assert_eq!(t.bright, [190.0, 140.0, 120.0]);
        // The darkest 15 %: the mouth line (about 15 % of the pixels) and little skin.
        assert!(
            t.dark
                .iter()
                .zip([60.0, 40.0, 35.0])
                .all(|(d, m)| (d - m).abs() < 15.0),
            "{t:?}"
        );
        // A face whose lower part is off the picture has none.
        let off = landmarks.map(|[x, y]| [x, y + 300.0]);
        assert_eq!(lower_face_tones(&img, &off), None);
    }

    #[test]
    fn sharpness_drops_with_blur() {
        let sharp = RgbImage::from_fn(150, 150, |x, y| {
            if (x / 3 + y / 3) % 2 == 0 {
                image::Rgb([255; 3])
            } else {
                image::Rgb([0; 3])
            }
        });
        let flat = RgbImage::from_pixel(150, 150, image::Rgb([128; 3]));
        assert!(sharpness(&sharp) > 1000.0);
        assert_eq!(sharpness(&flat), 0.0);
    }
}
