//! Frames a photo like a webcam would: a fixed output size, the eyes level, at a chosen
//! eye distance and position. Levelling the eyes lets the head synthesizer turn the head
//! about the image's vertical axis.

use crate::landmarks::Landmarks5;
use crate::sampling::bilinear;
use image::RgbImage;

/// Where the face goes in the output frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Framing {
    pub width: u32,
    pub height: u32,
    /// Distance between the eye centres in the output, pixels. 80 px on a 640-pixel-wide
    /// frame is a face about 200 px wide: a person about an arm's length from a laptop.
    pub eye_distance_px: f64,
    /// Eye midpoint as fractions of the width and height.
    pub eye_mid_at: [f64; 2],
}

impl Default for Framing {
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            eye_distance_px: 80.0,
            eye_mid_at: [0.5, 0.42],
        }
    }
}

/// A similarity transform (rotation + uniform scale + shift) `p' = s R p + t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// `s cos a`, `s sin a`.
    pub c: f64,
    pub s: f64,
    pub t: [f64; 2],
}

impl Similarity {
    pub fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        [
            self.c * p[0] - self.s * p[1] + self.t[0],
            self.s * p[0] + self.c * p[1] + self.t[1],
        ]
    }
    pub fn inverse(&self) -> Self {
        let k = self.c * self.c + self.s * self.s;
        let (c, s) = (self.c / k, -self.s / k);
        let t = [
            -(c * self.t[0] - s * self.t[1]),
            -(s * self.t[0] + c * self.t[1]),
        ];
        Self { c, s, t }
    }
}

impl Framing {
    /// The transform from the photo to the output frame.
    pub fn transform(&self, landmarks: &Landmarks5) -> Similarity {
        let (l, r) = landmarks.eyes();
        let d = landmarks.eye_distance().max(1e-9);
        let scale = self.eye_distance_px / d;
        // Rotate the eye axis onto +x.
        let (cos, sin) = ((r[0] - l[0]) / d, (r[1] - l[1]) / d);
        let c = scale * cos;
        let s = -scale * sin;
        let mid = landmarks.eye_mid();
        let target = [
            self.eye_mid_at[0] * f64::from(self.width),
            self.eye_mid_at[1] * f64::from(self.height),
        ];
        let rotated = [c * mid[0] - s * mid[1], s * mid[0] + c * mid[1]];
        Similarity {
            c,
            s,
            t: [target[0] - rotated[0], target[1] - rotated[1]],
        }
    }

    /// The framed photo and its landmarks in the new frame.
    pub fn apply(&self, photo: &RgbImage, landmarks: &Landmarks5) -> (RgbImage, Landmarks5) {
        let fwd = self.transform(landmarks);
        let inv = fwd.inverse();
        let out = RgbImage::from_fn(self.width, self.height, |x, y| {
            let p = inv.apply([f64::from(x), f64::from(y)]);
            image::Rgb(bilinear(photo, p[0], p[1]))
        });
        (out, landmarks.map(|p| fwd.apply(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_the_eyes_at_the_asked_distance_and_place() {
        // A tilted face: eye centres (100, 100) and (180, 140).
        let l = Landmarks5([
            [185.0, 142.0],
            [175.0, 138.0],
            [95.0, 98.0],
            [105.0, 102.0],
            [130.0, 170.0],
        ]);
        let f = Framing::default();
        let (img, out) = f.apply(&RgbImage::new(300, 300), &l);
        assert_eq!(img.dimensions(), (640, 480));
        let (el, er) = out.eyes();
        assert!((el[1] - er[1]).abs() < 1e-9);
        assert!((out.eye_distance() - 80.0).abs() < 1e-9);
        let mid = out.eye_mid();
        assert!((mid[0] - 320.0).abs() < 1e-9 && (mid[1] - 0.42 * 480.0).abs() < 1e-9);
        // A similarity keeps the yaw measure.
        assert!((out.yaw_ratio() - l.yaw_ratio()).abs() < 1e-9);
        let t = f.transform(&l);
        let back = t.inverse().apply(t.apply([12.0, -7.0]));
        assert!((back[0] - 12.0).abs() < 1e-9 && (back[1] + 7.0).abs() < 1e-9);
    }
}
