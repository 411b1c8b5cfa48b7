//! The 2.5-D head turn: a depth for every pixel from a simple face shape, a rotation about
//! the head's vertical axis, and re-projection by inverse mapping.
//!
//! Model coordinates are in eye distances `d`, origin at the eye midpoint, x to the
//! image's right, y down, z toward the camera. The head is an ellipsoid; a nose ridge runs
//! from between the eyes to the nose landmark, whose height is set so that the nose sits
//! `nose_depth · d` in front of the eyes (about a third, as on a real face). Turning by
//! `θ` moves every point by `(z + c)·sin θ` sideways (`c` = depth of the rotation axis
//! behind the face), so the nose moves further than the eyes: the nose-offset measure the
//! liveness check uses changes by about `nose_depth · tan θ`.
//! The projection is orthographic (a webcam at arm's length is close to it for a head).
//! Outside the head the turn fades out so the background stays still.

use crate::landmarks::Landmarks5;
use crate::sampling::bilinear;
use image::RgbImage;

/// Proportions of the face shape, in eye distances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadShape {
    pub half_width: f64,
    pub half_height: f64,
    /// How far below the eye line the head ellipse is centred.
    pub center_below_eyes: f64,
    /// Depth of the ellipsoid (and of the rotation axis) behind the front of the face.
    pub depth: f64,
    /// How far the nose landmark is in front of the eyes.
    pub nose_depth: f64,
    /// Width (standard deviation) of the nose ridge.
    pub nose_width: f64,
    /// Beyond the head ellipse the turn fades to nothing over this fraction of its radius.
    pub falloff: f64,
}

impl Default for HeadShape {
    fn default() -> Self {
        Self {
            half_width: 1.25,
            half_height: 1.8,
            center_below_eyes: 0.45,
            depth: 1.25,
            nose_depth: 1.0 / 3.0,
            nose_width: 0.16,
            falloff: 0.35,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HeadError {
    #[error("the eyes are not level (roll {0:.1}°): frame the photo with `Framing` first")]
    NotLevel(f64),
    #[error("the nose landmark is not below the eyes")]
    NoseNotBelowEyes,
}

/// A face ready to be turned.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadModel {
    shape: HeadShape,
    /// Eye midpoint (pixels) and eye distance (pixels).
    mid: [f64; 2],
    d: f64,
    /// Nose landmark and eye centres in model units.
    nose: [f64; 2],
    eyes: [[f64; 2]; 2],
    /// Height of the nose ridge at the nose landmark (model units).
    nose_height: f64,
}

impl HeadModel {
    /// Builds the model from the 5 landmarks of a photo whose eyes are level.
    pub fn new(landmarks: &Landmarks5, shape: HeadShape) -> Result<Self, HeadError> {
        let (l, r) = landmarks.eyes();
        let roll = (r[1] - l[1]).atan2(r[0] - l[0]).to_degrees();
        if roll.abs() > 3.0 {
            return Err(HeadError::NotLevel(roll));
        }
        let mid = landmarks.eye_mid();
        let d = landmarks.eye_distance();
        let to_model = |p: [f64; 2]| [(p[0] - mid[0]) / d, (p[1] - mid[1]) / d];
        let nose = to_model(landmarks.nose());
        if nose[1] < 0.2 {
            return Err(HeadError::NoseNotBelowEyes);
        }
        let mut m = Self {
            shape,
            mid,
            d,
            nose,
            eyes: [to_model(l), to_model(r)],
            nose_height: 0.0,
        };
        // The ridge's height enters the depth linearly: solve for the nose-to-eyes depth.
        let eye_ell = (m.ellipsoid(m.eyes[0]) + m.ellipsoid(m.eyes[1])) / 2.0;
        let eye_ridge = (m.ridge(m.eyes[0]) + m.ridge(m.eyes[1])) / 2.0;
        let nose_ell = m.ellipsoid(nose);
        m.nose_height = (shape.nose_depth + eye_ell - nose_ell) / (m.ridge(nose) - eye_ridge);
        Ok(m)
    }

    fn ellipse_radius2(&self, p: [f64; 2]) -> f64 {
        let s = &self.shape;
        (p[0] / s.half_width).powi(2) + ((p[1] - s.center_below_eyes) / s.half_height).powi(2)
    }

    /// Depth of the ellipsoid's surface, 0 at its front, `-depth` at its rim.
    fn ellipsoid(&self, p: [f64; 2]) -> f64 {
        let r2 = self.ellipse_radius2(p);
        self.shape.depth * ((1.0 - r2).max(0.0).sqrt() - 1.0)
    }

    /// The nose ridge's profile, 1 at the nose landmark: rising from the bridge between the
    /// eyes to the nose, dropping quickly below it (upper lip) and above the eyes.
    fn ridge(&self, p: [f64; 2]) -> f64 {
        let [xn, yn] = self.nose;
        let y = p[1];
        let along = if y < 0.0 {
            0.4 * (-0.5 * (y / 0.15).powi(2)).exp()
        } else if y <= yn {
            0.4 + 0.6 * y / yn
        } else {
            (-0.5 * ((y - yn) / 0.12).powi(2)).exp()
        };
        let x0 = xn * (y / yn).clamp(0.0, 1.0);
        along * (-0.5 * ((p[0] - x0) / self.shape.nose_width).powi(2)).exp()
    }

    /// Depth of the face at a model point (toward the camera positive).
    pub fn depth(&self, p: [f64; 2]) -> f64 {
        self.ellipsoid(p) + self.nose_height * self.ridge(p)
    }

    /// How much of the turn a point takes: 1 on the head, fading to 0 outside it.
    fn weight(&self, p: [f64; 2]) -> f64 {
        let r = self.ellipse_radius2(p).sqrt();
        let t = ((r - 1.0) / self.shape.falloff).clamp(0.0, 1.0);
        1.0 - t * t * (3.0 - 2.0 * t)
    }

    /// Turned position (model x) and depth (for occlusion) of a model point.
    fn turn(&self, p: [f64; 2], yaw_deg: f64) -> (f64, f64) {
        let (sin, cos) = yaw_deg.to_radians().sin_cos();
        let c = self.shape.depth;
        let z = self.depth(p);
        let x_turned = p[0] * cos + (z + c) * sin;
        let z_turned = -p[0] * sin + (z + c) * cos - c;
        let w = self.weight(p);
        // Background (w = 0) stays in place and behind everything on the head.
        (
            p[0] + w * (x_turned - p[0]),
            w * z_turned + (1.0 - w) * (-3.0 * c),
        )
    }

    /// Where a point of the frontal photo (pixels) appears after turning the head by
    /// `yaw_deg` (positive: the person turns to *their* left, the nose moves to the image's
    /// right).
    pub fn project(&self, p: [f64; 2], yaw_deg: f64) -> [f64; 2] {
        let m = [(p[0] - self.mid[0]) / self.d, (p[1] - self.mid[1]) / self.d];
        let (x, _) = self.turn(m, yaw_deg);
        [self.mid[0] + x * self.d, p[1]]
    }

    /// All 5 landmarks after the turn.
    pub fn project_landmarks(&self, l: &Landmarks5, yaw_deg: f64) -> Landmarks5 {
        l.map(|p| self.project(p, yaw_deg))
    }

    /// For output row `y` of a `width`-pixel image: the source x of every output pixel.
    /// Each pair of neighbouring source pixels spans an interval of output positions;
    /// where intervals overlap (the nose hiding the far cheek) the one nearest the camera
    /// wins. Pixels no interval reaches keep their own position.
    pub fn inverse_row(&self, y: f64, width: u32, yaw_deg: f64) -> Vec<f64> {
        let n = width as usize;
        let mut src: Vec<f64> = (0..n).map(|x| x as f64).collect();
        let mut zbuf = vec![f64::NEG_INFINITY; n];
        let my = (y - self.mid[1]) / self.d;
        let fwd: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let (x, z) = self.turn([(i as f64 - self.mid[0]) / self.d, my], yaw_deg);
                (self.mid[0] + x * self.d, z)
            })
            .collect();
        for i in 0..n.saturating_sub(1) {
            let ((f0, z0), (f1, z1)) = (fwd[i], fwd[i + 1]);
            let (lo, hi) = (f0.min(f1), f0.max(f1));
            let first = lo.ceil().max(0.0) as usize;
            let last = hi.floor().min(n as f64 - 1.0);
            if last < 0.0 {
                continue;
            }
            for xo in first..=(last as usize) {
                let span = f1 - f0;
                let t = if span.abs() < 1e-12 {
                    0.0
                } else {
                    (xo as f64 - f0) / span
                };
                let z = z0 + t * (z1 - z0);
                if z > zbuf[xo] {
                    zbuf[xo] = z;
                    src[xo] = i as f64 + t;
                }
            }
        }
        src
    }

    /// The photo with the head turned by `yaw_deg`.
    pub fn render(&self, photo: &RgbImage, yaw_deg: f64) -> RgbImage {
        let (w, h) = photo.dimensions();
        let mut out = RgbImage::new(w, h);
        for y in 0..h {
            let src = self.inverse_row(f64::from(y), w, yaw_deg);
            for (x, sx) in src.iter().enumerate() {
                out.put_pixel(x as u32, y, image::Rgb(bilinear(photo, *sx, f64::from(y))));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::Framing;

    fn obama() -> (RgbImage, Landmarks5) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");
        let photo = image::open(format!("{dir}/images/face_recognition/obama.jpg"))
            .unwrap()
            .to_rgb8();
        let json = std::fs::read_to_string(format!("{dir}/reference/obama.json")).unwrap();
        let l = Landmarks5::from_json(&json, 0).unwrap();
        Framing::default().apply(&photo, &l)
    }

    #[test]
    fn turning_moves_the_nose_relative_to_the_eyes() {
        let (_, l) = obama();
        let m = HeadModel::new(&l, HeadShape::default()).unwrap();
        let base = l.yaw_ratio();
        let at = |deg: f64| m.project_landmarks(&l, deg).yaw_ratio() - base;
        assert!(at(0.0).abs() < 1e-9);
        // The check counts |yaw| >= 0.12 as turned; a 25° turn must clear it.
        assert!(at(25.0) >= 0.14, "left 25°: {}", at(25.0));
        assert!(at(-25.0) <= -0.14, "right 25°: {}", at(-25.0));
        // Close to the model's intent, nose_depth · tan θ.
        let expect = (25f64).to_radians().tan() / 3.0;
        assert!((at(25.0) - expect).abs() < 0.02, "{} vs {expect}", at(25.0));
        // Monotone in the angle.
        let ys: Vec<f64> = (-30..=30).step_by(5).map(|a| at(f64::from(a))).collect();
        assert!(ys.windows(2).all(|w| w[1] > w[0]), "{ys:?}");
        // The nose moves toward the image's right for a left turn (positive yaw).
        assert!(m.project(l.nose(), 25.0)[0] > l.nose()[0] + 10.0);
    }

    #[test]
    fn the_rendered_image_agrees_with_the_projection() {
        let (photo, l) = obama();
        let m = HeadModel::new(&l, HeadShape::default()).unwrap();
        for yaw in [-25.0, 25.0] {
            for (i, p) in l.0.iter().enumerate() {
                let q = m.project(*p, yaw);
                let row = m.inverse_row(p[1], photo.width(), yaw);
                let xo = q[0].round() as usize;
                // The output pixel at the projected landmark samples the landmark itself.
                let back = row[xo] + (q[0] - xo as f64) * (row[xo + 1] - row[xo]);
                assert!(
                    (back - p[0]).abs() < 1.0,
                    "yaw {yaw}, point {i}: {back} vs {}",
                    p[0]
                );
            }
        }
        // No turn, no change; far from the head, the background stays put.
        assert_eq!(m.render(&photo, 0.0), photo);
        let turned = m.render(&photo, 25.0);
        assert_eq!(turned.get_pixel(2, 2), photo.get_pixel(2, 2));
        assert_ne!(turned, photo);
    }

    #[test]
    fn refuses_tilted_faces() {
        let l = Landmarks5([
            [185.0, 142.0],
            [175.0, 138.0],
            [95.0, 98.0],
            [105.0, 102.0],
            [130.0, 170.0],
        ]);
        assert!(matches!(
            HeadModel::new(&l, HeadShape::default()),
            Err(HeadError::NotLevel(_))
        ));
    }
}
