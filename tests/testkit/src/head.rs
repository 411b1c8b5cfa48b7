//! The 2.5-D head turn: a depth for every pixel from a simple face shape, a rotation about
//! the head's vertical axis (yaw) and/or its horizontal axis (pitch: looking up or down),
//! and re-projection by inverse mapping.
//!
//! Model coordinates are in eye distances `d`, origin at the eye midpoint, x to the
//! image's right, y down, z toward the camera. The head is an ellipsoid; a nose ridge runs
//! from between the eyes to the nose landmark, whose height is set so that the nose sits
//! `nose_depth · d` in front of the eyes (about a third, as on a real face). Turning by
//! `θ` moves every point by `(z + c)·sin θ` sideways (`c` = depth of the rotation axis
//! behind the face), so the nose moves further than the eyes: the nose-offset measure the
//! liveness check uses changes by about `nose_depth · tan θ`.
//! Pitching by `φ` about a horizontal axis through the head ellipsoid's centre moves every
//! point vertically, `(y − y_c)·cos φ − (z + c)·sin φ`: looking up (φ > 0) lifts the nose,
//! which stands in front of the eyes, toward the eye line, so the nose's drop below the
//! eyes shortens (by `y_n·(1 − cos φ) + nose_depth · sin φ`); looking down lengthens it,
//! but less (the cosine shortens what the sine adds), and the eye distance stays.
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
        self.turn_at(p[0], self.depth(p), self.weight(p), yaw_deg)
    }

    /// The yaw turn of a point at model x `x` and depth `z` that takes `w` of the turn.
    fn turn_at(&self, x: f64, z: f64, w: f64, yaw_deg: f64) -> (f64, f64) {
        let (sin, cos) = yaw_deg.to_radians().sin_cos();
        let c = self.shape.depth;
        let x_turned = x * cos + (z + c) * sin;
        let z_turned = -x * sin + (z + c) * cos - c;
        // Background (w = 0) stays in place and behind everything on the head.
        (
            x + w * (x_turned - x),
            w * z_turned + (1.0 - w) * (-3.0 * c),
        )
    }

    /// Pitched position (model y) and depth of a model point at depth `z`: a rotation
    /// about the horizontal axis through the head ellipsoid's centre (`center_below_eyes`
    /// below the eyes, `depth` behind the face). Positive `pitch_deg`: the person looks
    /// up (the front of the face rises).
    fn nod(&self, p: [f64; 2], z: f64, pitch_deg: f64) -> (f64, f64) {
        let (sin, cos) = pitch_deg.to_radians().sin_cos();
        let c = self.shape.depth;
        let yc = self.shape.center_below_eyes;
        let (y, depth) = (p[1] - yc, z + c);
        let y_turned = yc + y * cos - depth * sin;
        let z_turned = y * sin + depth * cos - c;
        let w = self.weight(p);
        (
            p[1] + w * (y_turned - p[1]),
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

    /// Where a point of the frontal photo appears with the head in `pose`: pitched first,
    /// then turned. A pose without pitch is exactly [`Self::project`].
    pub fn project_pose(&self, p: [f64; 2], pose: HeadPose) -> [f64; 2] {
        if pose.pitch_deg == 0.0 {
            return self.project(p, pose.yaw_deg);
        }
        let m = [(p[0] - self.mid[0]) / self.d, (p[1] - self.mid[1]) / self.d];
        let (y, z) = self.nod(m, self.depth(m), pose.pitch_deg);
        let (x, _) = self.turn_at(m[0], z, self.weight(m), pose.yaw_deg);
        [self.mid[0] + x * self.d, self.mid[1] + y * self.d]
    }

    /// All 5 landmarks with the head in `pose`.
    pub fn project_landmarks_pose(&self, l: &Landmarks5, pose: HeadPose) -> Landmarks5 {
        l.map(|p| self.project_pose(p, pose))
    }

    /// For output row `y` of a `width`-pixel image: the source x of every output pixel.
    /// Each pair of neighbouring source pixels spans an interval of output positions;
    /// where intervals overlap (the nose hiding the far cheek) the one nearest the camera
    /// wins. Pixels no interval reaches keep their own position.
    pub fn inverse_row(&self, y: f64, width: u32, yaw_deg: f64) -> Vec<f64> {
        let n = width as usize;
        let my = (y - self.mid[1]) / self.d;
        let fwd: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let (x, z) = self.turn([(i as f64 - self.mid[0]) / self.d, my], yaw_deg);
                (self.mid[0] + x * self.d, z)
            })
            .collect();
        inverse_line(&fwd).0
    }

    /// For output column `x` of a `height`-pixel image pitched by `pitch_deg`: the source
    /// y of every output pixel and the depth of the surface seen there (as
    /// [`Self::inverse_row`], along the column).
    fn inverse_column(&self, x: f64, height: u32, pitch_deg: f64) -> (Vec<f64>, Vec<f64>) {
        let mx = (x - self.mid[0]) / self.d;
        let model = |i: usize| [mx, (i as f64 - self.mid[1]) / self.d];
        let fwd: Vec<(f64, f64)> = (0..height as usize)
            .map(|i| {
                let p = model(i);
                let (y, z) = self.nod(p, self.depth(p), pitch_deg);
                (self.mid[1] + y * self.d, z)
            })
            .collect();
        let (src, mut zbuf) = inverse_line(&fwd);
        for (i, z) in zbuf.iter_mut().enumerate() {
            if !z.is_finite() {
                // Unreached: the pixel keeps its own place and, roughly, its own depth.
                let p = model(i);
                *z = self.nod(p, self.depth(p), pitch_deg).1;
            }
        }
        (src, zbuf)
    }

    /// The photo with the head in `pose`: pitched (each column re-projected), then turned
    /// (each row of the pitched image, with the pitched surface's depth). Without pitch
    /// this is exactly [`Self::render`].
    pub fn render_pose(&self, photo: &RgbImage, pose: HeadPose) -> RgbImage {
        if pose.pitch_deg == 0.0 {
            return self.render(photo, pose.yaw_deg);
        }
        let (w, h) = photo.dimensions();
        let (wu, hu) = (w as usize, h as usize);
        // Per output pixel of the pitched image: source y and surface depth.
        let mut src_y = vec![0.0; wu * hu];
        let mut depth = vec![0.0; wu * hu];
        for x in 0..wu {
            let (src, z) = self.inverse_column(x as f64, h, pose.pitch_deg);
            for y in 0..hu {
                src_y[y * wu + x] = src[y];
                depth[y * wu + x] = z[y];
            }
        }
        let mut pitched = RgbImage::new(w, h);
        for y in 0..hu {
            for x in 0..wu {
                let px = bilinear(photo, x as f64, src_y[y * wu + x]);
                pitched.put_pixel(x as u32, y as u32, image::Rgb(px));
            }
        }
        if pose.yaw_deg == 0.0 {
            return pitched;
        }
        let mut out = RgbImage::new(w, h);
        for y in 0..hu {
            let fwd: Vec<(f64, f64)> = (0..wu)
                .map(|i| {
                    // The point of the frontal face seen here, for its share of the turn.
                    let m = [
                        (i as f64 - self.mid[0]) / self.d,
                        (src_y[y * wu + i] - self.mid[1]) / self.d,
                    ];
                    let (x, z) =
                        self.turn_at(m[0], depth[y * wu + i], self.weight(m), pose.yaw_deg);
                    (self.mid[0] + x * self.d, z)
                })
                .collect();
            let (src, _) = inverse_line(&fwd);
            for (x, sx) in src.iter().enumerate() {
                let px = bilinear(&pitched, *sx, y as f64);
                out.put_pixel(x as u32, y as u32, image::Rgb(px));
            }
        }
        out
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

/// A head pose, in degrees. `yaw_deg` positive: the person turns to *their* left (the nose
/// moves to the image's right); `pitch_deg` positive: the person looks up (the nose rises
/// toward the eye line).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HeadPose {
    pub yaw_deg: f64,
    pub pitch_deg: f64,
}

impl HeadPose {
    pub fn yaw(yaw_deg: f64) -> Self {
        Self {
            yaw_deg,
            pitch_deg: 0.0,
        }
    }
    pub fn pitch(pitch_deg: f64) -> Self {
        Self {
            yaw_deg: 0.0,
            pitch_deg,
        }
    }
}

/// Inverse mapping along one line of pixels: `fwd[i]` is where source pixel `i` lands and
/// its depth. Each pair of neighbouring source pixels spans an interval of output
/// positions; where intervals overlap the one nearest the camera wins. Returns the source
/// coordinate of every output pixel (its own where no interval reaches it) and the depth
/// seen there (`-inf` where none).
fn inverse_line(fwd: &[(f64, f64)]) -> (Vec<f64>, Vec<f64>) {
    let n = fwd.len();
    let mut src: Vec<f64> = (0..n).map(|x| x as f64).collect();
    let mut zbuf = vec![f64::NEG_INFINITY; n];
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
    (src, zbuf)
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
    fn looking_up_shortens_the_nose_drop_and_looking_down_lengthens_it() {
        let (_, l) = obama();
        let m = HeadModel::new(&l, HeadShape::default()).unwrap();
        let base = l.nose_drop();
        let at = |deg: f64| {
            let p = m.project_landmarks_pose(&l, HeadPose::pitch(deg));
            (
                p.nose_drop() / base - 1.0,
                p.yaw_ratio() - l.yaw_ratio(),
                p.eye_distance(),
            )
        };
        let (up, up_yaw, up_eyes) = at(25.0);
        let (down, down_yaw, down_eyes) = at(-25.0);
        // The nose stands a third of the eye distance in front of the eyes: looking up
        // brings it toward the eye line, looking down takes it away (less: the cosine).
        assert!(up < -0.2, "up 25°: {up}");
        assert!(down > 0.05 && down < -up, "down 25°: {down}");
        // A nod is no turn: the nose stays under the eye midpoint (up to the photo's
        // small roll, which the yaw measure projects the nose's rise onto), the eyes keep
        // their distance.
        assert!(
            up_yaw.abs() < 0.01 && down_yaw.abs() < 0.01,
            "{up_yaw} {down_yaw}"
        );
        assert!((up_eyes / l.eye_distance() - 1.0).abs() < 1e-3, "{up_eyes}");
        assert!(
            (down_eyes / l.eye_distance() - 1.0).abs() < 1e-3,
            "{down_eyes}"
        );
        // Monotone from looking up 30° to looking down 25° (further down, the cosine
        // starts to win and the drop shortens again).
        let drops: Vec<f64> = (-6..=5).map(|k| at(-5.0 * f64::from(k)).0).collect();
        assert!(drops.windows(2).all(|w| w[1] > w[0]), "{drops:?}");
        // No pitch: exactly the yaw projection.
        for yaw in [0.0, 25.0, -30.0] {
            assert_eq!(
                m.project_landmarks_pose(&l, HeadPose::yaw(yaw)),
                m.project_landmarks(&l, yaw)
            );
        }
    }

    #[test]
    fn the_pitched_image_agrees_with_the_projection() {
        let (photo, l) = obama();
        let m = HeadModel::new(&l, HeadShape::default()).unwrap();
        for pitch in [-20.0, 20.0] {
            for (i, p) in l.0.iter().enumerate() {
                let q = m.project_pose(*p, HeadPose::pitch(pitch));
                assert!(
                    (q[0] - p[0]).abs() < 1e-9,
                    "a nod moves points up or down only"
                );
                let (col, _) = m.inverse_column(p[0], photo.height(), pitch);
                let yo = q[1].round() as usize;
                let back = col[yo] + (q[1] - yo as f64) * (col[yo + 1] - col[yo]);
                assert!(
                    (back - p[1]).abs() < 1.0,
                    "pitch {pitch}, point {i}: {back} vs {}",
                    p[1]
                );
            }
        }
        // Without pitch, the yaw renderer's own output, bit for bit.
        assert_eq!(
            m.render_pose(&photo, HeadPose::yaw(25.0)),
            m.render(&photo, 25.0)
        );
        let up = m.render_pose(&photo, HeadPose::pitch(20.0));
        assert_eq!(
            up.get_pixel(2, 2),
            photo.get_pixel(2, 2),
            "background stays"
        );
        assert_ne!(up, photo);
        // Pitched and turned: the nose lands where the projection says (it is the
        // nearest surface there, so its colour is the nose's, not the cheek's).
        let both = HeadPose {
            yaw_deg: 20.0,
            pitch_deg: 15.0,
        };
        let q = m.project_pose(l.nose(), both);
        let turned = m.render_pose(&photo, both);
        let near = |a: &image::Rgb<u8>, b: &image::Rgb<u8>| {
            a.0.iter()
                .zip(b.0)
                .all(|(x, y)| (i32::from(*x) - i32::from(y)).abs() <= 40)
        };
        let at =
            |img: &RgbImage, p: [f64; 2]| *img.get_pixel(p[0].round() as u32, p[1].round() as u32);
        assert!(near(&at(&turned, q), &at(&photo, l.nose())));
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
