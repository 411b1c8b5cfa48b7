//! dlib's 5 face landmarks (two corners of each eye, then the base of the nose), and the
//! yaw measure the server's liveness check uses.

use serde_json::Value;

/// Five landmark points in image pixels, in dlib's order: 0–1 the eye on the image's
/// right, 2–3 the eye on the image's left (for an upright face), 4 the nose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Landmarks5(pub [[f64; 2]; 5]);

#[derive(Debug, thiserror::Error)]
pub enum LandmarksError {
    #[error("landmarks JSON is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("landmarks JSON: {0}")]
    Shape(String),
    #[error("the eyes are on top of each other (eye distance {0:.2} px)")]
    Degenerate(f64),
}

impl Landmarks5 {
    /// Reads either a reference JSON (`faces[face].landmarks_5`, the format of
    /// `tests/fixtures/reference/*.json`) or a bare `[[x, y] × 5]` array.
    pub fn from_json(text: &str, face: usize) -> Result<Self, LandmarksError> {
        let v: Value = serde_json::from_str(text)?;
        let points = if v.is_array() {
            &v
        } else {
            let faces = v
                .get("faces")
                .and_then(Value::as_array)
                .ok_or_else(|| LandmarksError::Shape("no `faces` array".into()))?;
            faces
                .get(face)
                .ok_or_else(|| {
                    LandmarksError::Shape(format!(
                        "face {face} asked, {} face(s) in the file",
                        faces.len()
                    ))
                })?
                .get("landmarks_5")
                .ok_or_else(|| LandmarksError::Shape(format!("face {face} has no landmarks_5")))?
        };
        let arr = points
            .as_array()
            .filter(|a| a.len() == 5)
            .ok_or_else(|| LandmarksError::Shape("landmarks_5 must hold 5 points".into()))?;
        let mut out = [[0.0; 2]; 5];
        for (i, p) in arr.iter().enumerate() {
            let xy = p
                .as_array()
                .filter(|a| a.len() == 2)
                .and_then(|a| Some([a[0].as_f64()?, a[1].as_f64()?]))
                .ok_or_else(|| LandmarksError::Shape(format!("point {i} is not [x, y]")))?;
            out[i] = xy;
        }
        let l = Self(out);
        let d = l.eye_distance();
        if d.is_nan() || d <= 1.0 {
            return Err(LandmarksError::Degenerate(d));
        }
        Ok(l)
    }

    /// Centres of the two eyes, the one on the image's left first.
    pub fn eyes(&self) -> ([f64; 2], [f64; 2]) {
        let [a0, a1, b0, b1, _] = self.0;
        let a = [(a0[0] + a1[0]) / 2.0, (a0[1] + a1[1]) / 2.0];
        let b = [(b0[0] + b1[0]) / 2.0, (b0[1] + b1[1]) / 2.0];
        if a[0] <= b[0] {
            (a, b)
        } else {
            (b, a)
        }
    }

    pub fn eye_mid(&self) -> [f64; 2] {
        let (l, r) = self.eyes();
        [(l[0] + r[0]) / 2.0, (l[1] + r[1]) / 2.0]
    }

    pub fn eye_distance(&self) -> f64 {
        let (l, r) = self.eyes();
        (r[0] - l[0]).hypot(r[1] - l[1])
    }

    pub fn nose(&self) -> [f64; 2] {
        self.0[4]
    }

    /// The eye axis, from the eye on the image's left to the one on its right, and its
    /// squared length; `None` when the eyes coincide (both measures below read 0 then).
    fn eye_axis(&self) -> Option<([f64; 2], f64)> {
        let (l, r) = self.eyes();
        let axis = [r[0] - l[0], r[1] - l[1]];
        let d2 = axis[0] * axis[0] + axis[1] * axis[1];
        (d2 >= 1e-12).then_some((axis, d2))
    }

    /// The server's yaw measure (a copy of `FaceObservation::yaw` in faceid-core, kept
    /// here so the testkit does not depend on the service): the nose's offset from the eye
    /// midpoint along the eye axis, in eye distances. Positive when the nose is toward the
    /// image's right, i.e. the person turned to *their* left in an unmirrored frame.
    pub fn yaw_ratio(&self) -> f64 {
        let Some((axis, d2)) = self.eye_axis() else {
            return 0.0;
        };
        let mid = self.eye_mid();
        let n = self.nose();
        ((n[0] - mid[0]) * axis[0] + (n[1] - mid[1]) * axis[1]) / d2
    }

    /// The server's pitch measure (a copy of `FaceObservation::nose_drop`): the nose's
    /// distance below the line through the eye centres, in eye distances. Looking up
    /// shortens it, looking down lengthens it.
    pub fn nose_drop(&self) -> f64 {
        let Some((axis, d2)) = self.eye_axis() else {
            return 0.0;
        };
        let mid = self.eye_mid();
        let n = self.nose();
        (axis[0] * (n[1] - mid[1]) - axis[1] * (n[0] - mid[0])) / d2
    }

    /// The server's eye-foreshortening measure (a copy of
    /// `FaceObservation::eye_width_log_ratio`): `ln(width of the image-left eye / width of
    /// the image-right eye)`.
    pub fn eye_width_log_ratio(&self) -> f64 {
        let [a0, a1, b0, b1, _] = self.0;
        let width = |p: [f64; 2], q: [f64; 2]| (p[0] - q[0]).hypot(p[1] - q[1]).max(1e-6);
        let (wa, wb) = (width(a0, a1), width(b0, b1));
        if a0[0] + a1[0] <= b0[0] + b1[0] {
            (wa / wb).ln()
        } else {
            (wb / wa).ln()
        }
    }

    /// Each point mapped through `f`.
    pub fn map(&self, mut f: impl FnMut([f64; 2]) -> [f64; 2]) -> Self {
        let mut out = self.0;
        for p in &mut out {
            *p = f(*p);
        }
        Self(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBAMA: &str = include_str!("../../fixtures/reference/obama.json");

    #[test]
    fn reads_reference_json_and_bare_arrays() {
        let l = Landmarks5::from_json(OBAMA, 0).unwrap();
        assert_eq!(l.0[4], [496.0, 295.0]);
        assert_eq!(l.eyes().0, [443.5, 216.5]);
        let bare = Landmarks5::from_json("[[1,0],[3,0],[-3,0],[-1,0],[0.5,2]]", 0).unwrap();
        assert!((bare.yaw_ratio() - 0.5 / 4.0).abs() < 1e-12);
        assert!(Landmarks5::from_json(OBAMA, 1).is_err());
        assert!(Landmarks5::from_json("[[1,2]]", 0).is_err());
        assert!(Landmarks5::from_json("[[0,0],[0,0],[0,0],[0,0],[0,0]]", 0).is_err());
        assert!(Landmarks5::from_json("{", 0).is_err());
    }

    #[test]
    fn yaw_sign_follows_the_nose() {
        // Obama's reference photo is frontal: the nose sits under the eye midpoint.
        let l = Landmarks5::from_json(OBAMA, 0).unwrap();
        assert!(l.yaw_ratio().abs() < 0.01, "{}", l.yaw_ratio());
        let mut moved = l;
        moved.0[4][0] += 0.2 * l.eye_distance();
        // The eye axis is within a degree of horizontal: the shift is almost all along it.
        assert!((moved.yaw_ratio() - l.yaw_ratio() - 0.2).abs() < 1e-3);
    }
}
