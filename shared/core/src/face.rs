//! What the face pipeline reports about an image, and the enrollment quality gate.

use crate::domain::Descriptor;
use serde::Serialize;

/// One face found in an image.
#[derive(Debug, Clone)]
pub struct FaceObservation {
    /// Detector box `[left, top, right, bottom]` (dlib convention, inclusive).
    pub rect: [i64; 4],
    pub score: f64,
    /// dlib 5-point order: 0–1 one eye (image left side is part 2–3), 4 nose tip — see `yaw`.
    pub landmarks: [[f64; 2]; 5],
    pub descriptor: Descriptor,
    /// Variance of the Laplacian of the grey 150×150 aligned chip (higher = sharper).
    pub sharpness: f32,
    /// Mean RGB of the middle of the box (eyes, nose, cheeks): the skin the screen's
    /// light falls on (`screen_light`).
    pub skin_rgb: [f32; 3],
    /// The lower face's dark and bright tones (`screen_light::FaceTones`); `None` where
    /// that part of the face is outside the image.
    pub tones: Option<crate::screen_light::FaceTones>,
    /// Grey patch of the face aligned by the eyes, for the parallax check
    /// (`parallax`); `None` where the pipeline could not place one. Never logged.
    pub patch: Option<crate::parallax::FacePatch>,
}

/// The eye line of [`FaceObservation::eye_line`]: its midpoint, its vector from the
/// left eye to the right one, and that vector's squared length.
struct EyeLine {
    mid: [f64; 2],
    axis: [f64; 2],
    d2: f64,
}

impl FaceObservation {
    pub fn width(&self) -> i64 {
        self.rect[2] - self.rect[0] + 1
    }
    pub fn area(&self) -> i64 {
        self.width() * (self.rect[3] - self.rect[1] + 1)
    }
    /// Head yaw estimated from the 5 landmarks: the nose tip's offset from the eyes'
    /// midpoint along the eye axis, in units of the eye distance. About 0 for a frontal
    /// face; positive when the nose points to the image's right (the person turned to
    /// *their* left, in an unmirrored camera frame).
    pub fn yaw(&self) -> f64 {
        let Some(EyeLine { mid, axis, d2 }) = self.eye_line() else {
            return 0.0;
        };
        let nose = self.landmarks[4];
        let off = [nose[0] - mid[0], nose[1] - mid[1]];
        (off[0] * axis[0] + off[1] * axis[1]) / d2
    }

    /// Where the face is: its eyes' midpoint (x, y) and their distance, in pixels
    /// (`None` when the eyes coincide).
    pub fn eye_position(&self) -> Option<[f64; 3]> {
        let EyeLine { mid, d2, .. } = self.eye_line()?;
        Some([mid[0], mid[1], d2.sqrt()])
    }

    /// The line through the two eye centres, oriented from the eye on the image's left
    /// to the one on its right (the frame the yaw and pitch measures are taken in);
    /// `None` when the eyes coincide.
    fn eye_line(&self) -> Option<EyeLine> {
        let [a0, a1, b0, b1, _] = self.landmarks;
        let eye_a = [(a0[0] + a1[0]) / 2.0, (a0[1] + a1[1]) / 2.0];
        let eye_b = [(b0[0] + b1[0]) / 2.0, (b0[1] + b1[1]) / 2.0];
        let (l, r) = if eye_a[0] <= eye_b[0] {
            (eye_a, eye_b)
        } else {
            (eye_b, eye_a)
        };
        let axis = [r[0] - l[0], r[1] - l[1]];
        let d2 = axis[0] * axis[0] + axis[1] * axis[1];
        (d2 >= 1e-12).then(|| EyeLine {
            mid: [(l[0] + r[0]) / 2.0, (l[1] + r[1]) / 2.0],
            axis,
            d2,
        })
    }
    /// Head pitch from the 5 landmarks: the nose's drop below the line through the eye
    /// centres (perpendicular to it), in eye distances; about 0.6 for a face looking at
    /// the camera. The nose stands in front of the eyes, so looking up lifts it toward the
    /// eye line and shortens the drop, looking down lengthens it (less, for the same
    /// angle: the cosine shortens what the sine adds). A roll leaves it alone (measured
    /// across the eye line); a turn lengthens it on an ideal head, as the eye distance it
    /// is measured in foreshortens (see `LivenessPolicy::classify_pose`).
    pub fn nose_drop(&self) -> f64 {
        let Some(EyeLine { mid, axis, d2 }) = self.eye_line() else {
            return 0.0;
        };
        let nose = self.landmarks[4];
        (axis[0] * (nose[1] - mid[1]) - axis[1] * (nose[0] - mid[0])) / d2
    }
    /// The other pitch cue of the 5 landmarks: how far each eye's inner corner sits below
    /// its outer one (perpendicular to the eye line, mean of the two eyes), in eye
    /// distances. The inner corners stand in front of the outer ones, so looking down
    /// lowers them against the outer corners and looking up raises them, as for the nose;
    /// a roll moves both eyes' corners alike and is measured away (relative to the eye
    /// line). dlib's 5 points: 0–1 and 2–3 are each eye's outer then inner corner.
    pub fn eye_corner_drop(&self) -> f64 {
        let [a0, a1, b0, b1, _] = self.landmarks;
        let Some(EyeLine { axis, d2, .. }) = self.eye_line() else {
            return 0.0;
        };
        // Below the eye line: the component perpendicular to it (image y down).
        let below = |inner: [f64; 2], outer: [f64; 2]| {
            axis[0] * (inner[1] - outer[1]) - axis[1] * (inner[0] - outer[0])
        };
        (below(a1, a0) + below(b1, b0)) / 2.0 / d2
    }
    /// How much wider the eye on the image's left looks than the one on its right,
    /// `ln(width_left / width_right)` (an eye's width: between its two corner points).
    /// A head's outer eye corners sit behind the inner ones, so turning it foreshortens
    /// the far eye more than the near one and this follows the yaw; on a flat photo any
    /// affine view (a print turned, rolled or sheared) keeps the ratio of the two widths.
    pub fn eye_width_log_ratio(&self) -> f64 {
        let [a0, a1, b0, b1, _] = self.landmarks;
        let width = |p: [f64; 2], q: [f64; 2]| (p[0] - q[0]).hypot(p[1] - q[1]).max(1e-6);
        let (wa, wb) = (width(a0, a1), width(b0, b1));
        if a0[0] + a1[0] <= b0[0] + b1[0] {
            (wa / wb).ln()
        } else {
            (wb / wa).ln()
        }
    }
    /// Eye distance relative to the box width: about 0.3–0.5 for a real face.
    pub fn eye_distance_ratio(&self) -> f64 {
        let [a0, a1, b0, b1, _] = self.landmarks;
        let dx = (a0[0] + a1[0] - b0[0] - b1[0]) / 2.0;
        let dy = (a0[1] + a1[1] - b0[1] - b1[1]) / 2.0;
        (dx * dx + dy * dy).sqrt() / self.width().max(1) as f64
    }
}

/// Everything the pipeline found in one image.
#[derive(Debug, Clone)]
pub struct ImageAnalysis {
    pub width: u32,
    pub height: u32,
    /// Sorted by box area, largest first.
    pub faces: Vec<FaceObservation>,
    /// Mean RGB of the frame's top band and the upper halves of its side bands: mostly
    /// background, far from the screen (`screen_light`).
    pub border_rgb: [f32; 3],
    /// The fraction of those pixels clipped (left out of `border_rgb`).
    pub border_clipped: f32,
    /// The decoded pixels' digest: an accepted login's frames may not log in again
    /// (`replay`).
    pub digest: crate::replay::FrameDigest,
}

/// Why an image could not be analysed. `Input` errors are the client's fault (4xx).
#[derive(Debug, Clone, thiserror::Error)]
pub enum AnalyzeError {
    #[error("{0}")]
    Input(String),
    #[error("image too large: {0}")]
    TooLarge(String),
    #[error("face pipeline failure: {0}")]
    Internal(String),
}

/// Which detector to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DetectorKind {
    /// dlib's HOG frontal face detector (face_recognition's default), upsample 1.
    #[default]
    Hog,
    /// dlib's MMOD CNN detector: more accurate, seconds per megapixel on a CPU.
    Cnn,
}

/// The face pipeline as the service sees it: bytes in, faces with descriptors out.
/// CPU-bound: call it from a blocking thread.
pub trait FaceAnalyzer: Send + Sync {
    fn analyze(&self, image: &[u8], detector: DetectorKind) -> Result<ImageAnalysis, AnalyzeError>;
    /// Identifies the model that produced the descriptors (stored with each template).
    fn model_id(&self) -> &str;
}

/// Limits an enrollment photo must meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityPolicy {
    pub min_face_px: i64,
    pub min_sharpness: f32,
    pub max_abs_yaw: f64,
}

impl Default for QualityPolicy {
    fn default() -> Self {
        Self {
            min_face_px: 80,
            min_sharpness: 20.0,
            max_abs_yaw: 0.25,
        }
    }
}

/// Why a photo was rejected for enrollment (also used for login frames).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityRejection {
    NoFace,
    SeveralFaces,
    FaceTooSmall,
    FaceTooBlurred,
    FaceTurnedTooFar,
    ImplausibleLandmarks,
}

impl QualityRejection {
    /// The machine-readable reason (the serde name).
    pub fn code(self) -> &'static str {
        match self {
            Self::NoFace => "no_face",
            Self::SeveralFaces => "several_faces",
            Self::FaceTooSmall => "face_too_small",
            Self::FaceTooBlurred => "face_too_blurred",
            Self::FaceTurnedTooFar => "face_turned_too_far",
            Self::ImplausibleLandmarks => "implausible_landmarks",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::NoFace => "No face was found in the photo.",
            Self::SeveralFaces => {
                "More than one face is in the photo; only the person enrolling may be in it."
            }
            Self::FaceTooSmall => "The face is too small; move closer to the camera.",
            Self::FaceTooBlurred => {
                "The photo is too blurred; hold still and make sure the face is in focus."
            }
            Self::FaceTurnedTooFar => "The face is turned too far; look straight at the camera.",
            Self::ImplausibleLandmarks => "The face could not be measured reliably.",
        }
    }
}

impl QualityPolicy {
    /// The single face of an enrollment photo, or why the photo is not usable.
    pub fn check<'a>(
        &self,
        analysis: &'a ImageAnalysis,
    ) -> Result<&'a FaceObservation, QualityRejection> {
        let face = match analysis.faces.as_slice() {
            [] => return Err(QualityRejection::NoFace),
            [one] => one,
            _ => return Err(QualityRejection::SeveralFaces),
        };
        self.check_face(face)?;
        if face.yaw().abs() > self.max_abs_yaw {
            return Err(QualityRejection::FaceTurnedTooFar);
        }
        Ok(face)
    }

    /// Size, landmark and sharpness checks that also apply to turned login frames.
    pub fn check_face(&self, face: &FaceObservation) -> Result<(), QualityRejection> {
        if face.width() < self.min_face_px {
            return Err(QualityRejection::FaceTooSmall);
        }
        let ratio = face.eye_distance_ratio();
        if !(0.15..=0.8).contains(&ratio) {
            return Err(QualityRejection::ImplausibleLandmarks);
        }
        if face.sharpness < self.min_sharpness {
            return Err(QualityRejection::FaceTooBlurred);
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::DESCRIPTOR_LEN;

    /// A synthetic observation: eyes 40 px apart around (100, 100), nose shifted by `yaw`.
    /// A face turned as a head turns: the nose `yaw` eye distances off the eye midpoint,
    /// and the far eye foreshortened (eye-width log ratio 1.6 × yaw, as measured on the
    /// testkit's renders).
    pub fn face(yaw: f64, width: i64, sharpness: f32) -> FaceObservation {
        turned(yaw, 1.6, width, sharpness)
    }

    /// A face looking up (`pitch` < 0) or down (`pitch` > 0): the nose's drop below the
    /// eyes `1 + pitch` times the frontal face's (`face(0.0, …)`: 25 px for eyes 40 px
    /// apart), with the nose `yaw` eye distances off the eye midpoint.
    pub fn nodded(yaw: f64, pitch: f64, width: i64, sharpness: f32) -> FaceObservation {
        let mut f = turned(yaw, 1.6, width, sharpness);
        f.landmarks[4][1] = 100.0 + 25.0 * (1.0 + pitch);
        f
    }

    /// `face` with the eye widths' log ratio `foreshortening × yaw` (0: a flat photo).
    pub fn turned(yaw: f64, foreshortening: f64, width: i64, sharpness: f32) -> FaceObservation {
        let half = foreshortening * yaw / 2.0;
        let (left_outer, right_outer) = (85.0 - 10.0 * half.exp(), 115.0 + 10.0 * (-half).exp());
        let mid = (left_outer + 85.0 + 115.0 + right_outer) / 4.0;
        let eyes = (115.0 + right_outer - 85.0 - left_outer) / 2.0;
        FaceObservation {
            rect: [50, 50, 50 + width - 1, 50 + width - 1],
            score: 1.0,
            landmarks: [
                [right_outer, 100.0],
                [115.0, 100.0],
                [left_outer, 100.0],
                [85.0, 100.0],
                [mid + yaw * eyes, 125.0],
            ],
            descriptor: Descriptor([0.0; DESCRIPTOR_LEN]),
            sharpness,
            skin_rgb: [180.0, 130.0, 110.0],
            tones: None,
            patch: None,
        }
    }

    #[test]
    fn yaw_follows_the_nose() {
        assert!(face(0.0, 100, 50.0).yaw().abs() < 1e-9);
        assert!((face(0.3, 100, 50.0).yaw() - 0.3).abs() < 1e-9);
        assert!((face(-0.2, 100, 50.0).yaw() + 0.2).abs() < 1e-9);
    }

    #[test]
    fn the_nose_drop_follows_a_nod_not_a_roll() {
        let f = face(0.0, 100, 50.0);
        assert!((f.nose_drop() - 25.0 / 40.0).abs() < 1e-9);
        assert!((nodded(0.0, -0.2, 100, 50.0).nose_drop() / f.nose_drop() - 0.8).abs() < 1e-9);
        assert!((nodded(0.0, 0.1, 100, 50.0).nose_drop() / f.nose_drop() - 1.1).abs() < 1e-9);
        // Inner eye corners lowered by 2 px against the outer ones (eyes 40 px apart).
        let mut down = face(0.0, 100, 50.0);
        down.landmarks[1][1] += 2.0;
        down.landmarks[3][1] += 2.0;
        assert!(face(0.0, 100, 50.0).eye_corner_drop().abs() < 1e-9);
        assert!((down.eye_corner_drop() - 0.05).abs() < 1e-9);
        // Rolled by 30° about the eye midpoint: the same drop (and yaw).
        let (sin, cos) = 30f64.to_radians().sin_cos();
        let mut rolled = nodded(0.1, -0.2, 100, 50.0);
        for p in &mut rolled.landmarks {
            let (x, y) = (p[0] - 100.0, p[1] - 100.0);
            *p = [100.0 + x * cos - y * sin, 100.0 + x * sin + y * cos];
        }
        let plain = nodded(0.1, -0.2, 100, 50.0);
        assert!((rolled.nose_drop() - plain.nose_drop()).abs() < 1e-9);
        assert!((rolled.eye_corner_drop() - plain.eye_corner_drop()).abs() < 1e-9);
        assert!((rolled.yaw() - plain.yaw()).abs() < 1e-9);
    }

    #[test]
    fn the_far_eye_narrows_with_the_turn() {
        assert!(face(0.0, 100, 50.0).eye_width_log_ratio().abs() < 1e-9);
        // Nose to the image's right: the eye on the right is the far one, narrower.
        assert!((face(0.2, 100, 50.0).eye_width_log_ratio() - 0.32).abs() < 1e-9);
        assert!((turned(0.2, 0.0, 100, 50.0).eye_width_log_ratio()).abs() < 1e-9);
        assert!((face(0.3, 100, 50.0).yaw() - 0.3).abs() < 1e-9);
    }

    #[test]
    fn quality_gate_names_the_problem() {
        let p = QualityPolicy::default();
        let one = |f| ImageAnalysis {
            width: 640,
            height: 480,
            faces: vec![f],
            border_rgb: [0.0; 3],
            border_clipped: 0.0,
            digest: crate::replay::FrameDigest([0; 16]),
        };
        assert!(p.check(&one(face(0.0, 100, 50.0))).is_ok());
        assert_eq!(
            p.check(&one(face(0.0, 60, 50.0))).unwrap_err(),
            QualityRejection::FaceTooSmall
        );
        assert_eq!(
            p.check(&one(face(0.0, 100, 5.0))).unwrap_err(),
            QualityRejection::FaceTooBlurred
        );
        assert_eq!(
            p.check(&one(face(0.4, 100, 50.0))).unwrap_err(),
            QualityRejection::FaceTurnedTooFar
        );
        assert_eq!(
            p.check(&one(face(0.0, 400, 50.0))).unwrap_err(),
            QualityRejection::ImplausibleLandmarks
        );
        let none = ImageAnalysis {
            width: 1,
            height: 1,
            faces: vec![],
            border_rgb: [0.0; 3],
            border_clipped: 0.0,
            digest: crate::replay::FrameDigest([0; 16]),
        };
        assert_eq!(p.check(&none).unwrap_err(), QualityRejection::NoFace);
        let two = ImageAnalysis {
            width: 1,
            height: 1,
            faces: vec![face(0.0, 100, 50.0), face(0.0, 100, 50.0)],
            border_rgb: [0.0; 3],
            border_clipped: 0.0,
            digest: crate::replay::FrameDigest([0; 16]),
        };
        assert_eq!(p.check(&two).unwrap_err(), QualityRejection::SeveralFaces);
        for r in [
            QualityRejection::NoFace,
            QualityRejection::FaceTooBlurred,
            QualityRejection::ImplausibleLandmarks,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.code());
        }
    }
}
