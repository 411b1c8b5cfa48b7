//! dlib's 5-point face landmark predictor (`shape_predictor::operator()` in
//! `dlib/image_processing/shape_predictor.h`), reproduced operation for operation:
//! float shape arithmetic, double transforms, `floor(v + 0.5)` pixel rounding, feature
//! pixels as the integer mean `(r + g + b) / 3` and 0 outside the image.

use std::path::Path;

use faceid_dlib_format::shape_predictor::{parse_shape_predictor, ShapePredictorModel};
use image::RgbImage;

use crate::transform::{
    find_affine_transform, find_similarity_transform, round_point, AffineTransform, DPoint,
};
use crate::{Point, Rect};

/// Number of landmarks of the model this pipeline uses (`shape_predictor_5_face_landmarks`).
pub const NUM_PARTS: usize = 5;

/// Largest model file [`ShapePredictor::load`] reads (the real one is 9.2 MB).
const MAX_MODEL_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ShapePredictorError {
    #[error("cannot read the shape predictor file: {0}")]
    Io(#[from] std::io::Error),
    #[error("shape predictor file is {0} bytes, larger than allowed")]
    TooLarge(u64),
    #[error("invalid shape predictor file: {0}")]
    Format(#[from] faceid_dlib_format::Error),
    #[error("the model predicts {0} landmarks, expected {NUM_PARTS}")]
    WrongPartCount(usize),
}

/// A loaded 5-point landmark predictor.
#[derive(Debug, Clone)]
pub struct ShapePredictor {
    model: ShapePredictorModel,
    /// The mean shape as points, the `from` side of every cascade's similarity fit.
    initial_points: Vec<DPoint>,
}

impl ShapePredictor {
    /// Parses the bytes of a dlib `shape_predictor` file with 5 landmarks.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ShapePredictorError> {
        let model = parse_shape_predictor(bytes)?;
        if model.num_parts() != NUM_PARTS {
            return Err(ShapePredictorError::WrongPartCount(model.num_parts()));
        }
        let initial_points = points_f64(&model.initial_shape);
        Ok(Self {
            model,
            initial_points,
        })
    }

    /// Reads and parses a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ShapePredictorError> {
        let len = std::fs::metadata(path.as_ref())?.len();
        if len > MAX_MODEL_BYTES {
            return Err(ShapePredictorError::TooLarge(len));
        }
        Self::from_bytes(&std::fs::read(path)?)
    }

    /// The 5 landmarks of the face in `rect`, in dlib's part order (0-1: one eye's outer
    /// and inner corner, 2-3: the other eye's, 4: below the nose), as dlib's
    /// `full_object_detection` holds them.
    ///
    /// `rect` may extend past the image; pixels outside read as 0 like in dlib.
    pub fn predict(&self, img: &RgbImage, rect: Rect) -> [Point; NUM_PARTS] {
        let tform_to_img = unnormalizing_tform(rect);
        let mut shape = self.model.initial_shape.clone();
        let mut features: Vec<f32> = Vec::new();
        for cascade in &self.model.cascades {
            self.extract_feature_pixel_values(
                img,
                &tform_to_img,
                &shape,
                &cascade.anchor_idx,
                &cascade.deltas,
                &mut features,
            );
            let len = shape.len();
            for tree in &cascade.trees {
                // Walk the complete binary tree: left child 2i+1 when the pixel difference
                // exceeds the threshold. The parser checked every index.
                let mut i = 0usize;
                while i < tree.splits.len() {
                    let s = &tree.splits[i];
                    i = if features[s.idx1 as usize] - features[s.idx2 as usize] > s.thresh {
                        2 * i + 1
                    } else {
                        2 * i + 2
                    };
                }
                let leaf = i - tree.splits.len();
                let values = &tree.leaf_values[leaf * len..(leaf + 1) * len];
                for (v, d) in shape.iter_mut().zip(values) {
                    *v += *d;
                }
            }
        }
        let mut parts = [Point::default(); NUM_PARTS];
        for (i, part) in parts.iter_mut().enumerate() {
            let p = tform_to_img.apply([shape[2 * i] as f64, shape[2 * i + 1] as f64]);
            let [x, y] = round_point(p);
            *part = Point { x, y };
        }
        parts
    }

    /// dlib `impl::extract_feature_pixel_values`.
    fn extract_feature_pixel_values(
        &self,
        img: &RgbImage,
        tform_to_img: &AffineTransform,
        shape: &[f32],
        anchor_idx: &[u32],
        deltas: &[[f32; 2]],
        out: &mut Vec<f32>,
    ) {
        // find_tform_between_shapes(initial, current), then matrix_cast<float>.
        let t = find_similarity_transform(&self.initial_points, &points_f64(shape));
        let m = [
            [t.m[0][0] as f32, t.m[0][1] as f32],
            [t.m[1][0] as f32, t.m[1][1] as f32],
        ];
        let (w, h) = (i64::from(img.width()), i64::from(img.height()));
        let raw = img.as_raw();
        out.clear();
        out.extend(anchor_idx.iter().zip(deltas).map(|(&a, d)| {
            let a = a as usize;
            // float arithmetic, as dlib computes `tform*delta + location(shape, a)`.
            let x = m[0][0] * d[0] + m[0][1] * d[1] + shape[2 * a];
            let y = m[1][0] * d[0] + m[1][1] * d[1] + shape[2 * a + 1];
            let [px, py] = round_point(tform_to_img.apply([x as f64, y as f64]));
            if px >= 0 && py >= 0 && px < w && py < h {
                let o = (py as usize * w as usize + px as usize) * 3;
                let sum = u32::from(raw[o]) + u32::from(raw[o + 1]) + u32::from(raw[o + 2]);
                (sum / 3) as f32
            } else {
                0.0
            }
        }));
    }
}

fn points_f64(shape: &[f32]) -> Vec<DPoint> {
    shape
        .chunks_exact(2)
        .map(|p| [p[0] as f64, p[1] as f64])
        .collect()
}

/// dlib `impl::unnormalizing_tform`: maps (0,0) to the box's top-left corner and (1,1) to
/// its bottom-right one (through the SVD pseudo-inverse, like dlib, so the last bits match).
fn unnormalizing_tform(rect: Rect) -> AffineTransform {
    // dlib stores the corners as vector<float,2>.
    let f = |v: i64| v as f32 as f64;
    let to = [
        [f(rect.left), f(rect.top)],
        [f(rect.right), f(rect.top)],
        [f(rect.right), f(rect.bottom)],
    ];
    let from = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]];
    find_affine_transform(&from, &to)
}
