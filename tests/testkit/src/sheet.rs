//! The attack: the photo as a flat sheet turned about a vertical axis in front of a
//! pinhole camera (a homography). Every point moves, the face narrows and the far side
//! shrinks, but the nose stays (almost exactly) between the eyes — no head turn.

use crate::landmarks::Landmarks5;
use crate::sampling::bilinear;
use image::RgbImage;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SheetWarp {
    /// Pivot of the turn (pixels): the sheet turns about the vertical line through it.
    pub pivot: [f64; 2],
    /// Distance from the camera to the sheet, in pixels of focal length (the camera's focal
    /// length is set equal, so the pivot's scale stays 1). Smaller = stronger perspective.
    pub distance: f64,
}

impl SheetWarp {
    /// A sheet turning about the face's centre, held `distance` (pixels) from the camera.
    pub fn around_face(landmarks: &Landmarks5, distance: f64) -> Self {
        let mid = landmarks.eye_mid();
        let d = landmarks.eye_distance();
        Self {
            pivot: [mid[0], mid[1] + 0.45 * d],
            distance: distance.max(1.0),
        }
    }

    /// Where a point of the flat photo appears with the sheet turned by `yaw_deg`
    /// (positive: the sheet's image-right half moves away from the camera).
    pub fn project(&self, p: [f64; 2], yaw_deg: f64) -> [f64; 2] {
        let (sin, cos) = yaw_deg.to_radians().sin_cos();
        let (x, y) = (p[0] - self.pivot[0], p[1] - self.pivot[1]);
        let depth = self.distance + x * sin;
        let k = self.distance / depth;
        [self.pivot[0] + k * x * cos, self.pivot[1] + k * y]
    }

    /// The inverse of [`SheetWarp::project`]: the photo point seen at `q`.
    pub fn unproject(&self, q: [f64; 2], yaw_deg: f64) -> [f64; 2] {
        let (sin, cos) = yaw_deg.to_radians().sin_cos();
        let (u, v) = (q[0] - self.pivot[0], q[1] - self.pivot[1]);
        let f = self.distance;
        // u (f + x sin) = f x cos  =>  x = u f / (f cos - u sin)
        let x = u * f / (f * cos - u * sin);
        let y = v * (f + x * sin) / f;
        [self.pivot[0] + x, self.pivot[1] + y]
    }

    pub fn project_landmarks(&self, l: &Landmarks5, yaw_deg: f64) -> Landmarks5 {
        l.map(|p| self.project(p, yaw_deg))
    }

    pub fn render(&self, photo: &RgbImage, yaw_deg: f64) -> RgbImage {
        let (w, h) = photo.dimensions();
        let inside = |p: [f64; 2]| {
            p[0] >= -0.5 && p[1] >= -0.5 && p[0] <= f64::from(w) - 0.5 && p[1] <= f64::from(h) - 0.5
        };
        RgbImage::from_fn(w, h, |x, y| {
            let p = self.unproject([f64::from(x), f64::from(y)], yaw_deg);
            // Around the turned sheet: a plain wall.
            if inside(p) {
                image::Rgb(bilinear(photo, p[0], p[1]))
            } else {
                image::Rgb([118, 122, 120])
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::head::{HeadModel, HeadShape};

    fn obama_framed() -> Landmarks5 {
        let json = include_str!("../../fixtures/reference/obama.json");
        let l = Landmarks5::from_json(json, 0).unwrap();
        let f = crate::framing::Framing::default();
        let t = f.transform(&l);
        l.map(|p| t.apply(p))
    }

    #[test]
    fn a_turned_sheet_changes_the_face_but_not_the_nose_offset() {
        let l = obama_framed();
        let sheet = SheetWarp::around_face(&l, 640.0);
        let head = HeadModel::new(&l, HeadShape::default()).unwrap();
        for yaw in [-35.0, -25.0, 25.0, 35.0] {
            let s = sheet.project_landmarks(&l, yaw);
            let h = head.project_landmarks(&l, yaw);
            // The sheet narrows the face visibly...
            assert!(s.eye_distance() < 0.92 * l.eye_distance(), "{yaw}");
            // ...but the yaw measure moves little: well below the 0.12 the check needs. (It
            // moves at all because perspective tilts the eye line, and the measure projects
            // the nose's vertical offset onto it: about 0.07 at 35° on a close sheet.)
            assert!(
                (s.yaw_ratio() - l.yaw_ratio()).abs() < 0.08,
                "{yaw}: {}",
                s.yaw_ratio()
            );
            // while the head turn moves it past the threshold.
            assert!((h.yaw_ratio() - l.yaw_ratio()).abs() > 0.12, "{yaw}");
        }
    }

    #[test]
    fn sheet_yaw_stays_below_the_turn_threshold_at_arms_length() {
        // A sheet at the camera's focal distance or further, turned up to 45°: the yaw
        // measure stays under 0.1. (Much closer and steeper, e.g. half that distance at
        // 45°, it passes 0.12: a limit of the measure worth knowing, see the README.)
        let l = obama_framed();
        for dist in [640.0, 1280.0] {
            let sheet = SheetWarp::around_face(&l, dist);
            for a in [-45.0, -30.0, -15.0, 15.0, 30.0, 45.0] {
                let y = sheet.project_landmarks(&l, a).yaw_ratio();
                assert!(y.abs() < 0.1, "distance {dist}, {a}°: {y}");
            }
        }
    }

    #[test]
    fn unproject_inverts_project() {
        let sheet = SheetWarp {
            pivot: [320.0, 240.0],
            distance: 640.0,
        };
        for p in [[10.0, 20.0], [320.0, 240.0], [600.0, 470.0]] {
            let q = sheet.unproject(sheet.project(p, 30.0), 30.0);
            assert!((q[0] - p[0]).abs() < 1e-9 && (q[1] - p[1]).abs() < 1e-9);
        }
        let img = RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8, y as u8, 7]));
        assert_eq!(sheet.render(&img, 0.0).get_pixel(5, 6).0, [5, 6, 7]);
    }
}
