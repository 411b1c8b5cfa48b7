//! The screen's light on a face: what a camera sees when the page fills the screen with
//! a colour a few tens of centimetres from the person.
//!
//! Diffuse reflection: each pixel's colour is its albedo times the light falling on it,
//! ambient plus screen. Relative to the ambient level already in the photo, a lit pixel is
//! `p · (1 + s · w · c)`, with `c` the screen colour (0–1 per channel), `s` the screen's
//! irradiance relative to the ambient light at the face, and `w` how much of it reaches
//! the pixel: 1 on the face and neck, falling off around it, `background` far behind.
//! A bright room is a small `s`.

use crate::Landmarks5;
use image::RgbImage;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScreenLight {
    /// Screen irradiance at the face relative to the ambient light (0.3: a dim room and a
    /// bright screen at arm's length; 0.05: daylight).
    pub strength: f64,
    /// Fraction of the face's share that reaches the background (inverse square: a wall
    /// 1.5 m behind a face at 0.4 m gets about 0.07).
    pub background: f64,
}

impl Default for ScreenLight {
    fn default() -> Self {
        Self {
            strength: 0.25,
            background: 0.07,
        }
    }
}

impl ScreenLight {
    /// `frame` lit by the screen colour `rgb`, the face located by its landmarks.
    pub fn apply(&self, frame: &RgbImage, face: &Landmarks5, rgb: [u8; 3]) -> RgbImage {
        let centre = {
            let (m, n) = (face.eye_mid(), face.nose());
            [m[0], (m[1] + n[1]) / 2.0]
        };
        // The head: about 2.6 eye distances wide and 3.6 tall around the eyes–nose centre.
        let (rx, ry) = (1.3 * face.eye_distance(), 1.8 * face.eye_distance());
        let colour = rgb.map(|c| f64::from(c) / 255.0);
        let mut out = frame.clone();
        for (x, y, p) in out.enumerate_pixels_mut() {
            let dx = (f64::from(x) - centre[0]) / rx;
            let dy = (f64::from(y) - centre[1]) / ry;
            let r = (dx * dx + dy * dy).sqrt();
            // 1 inside the head, a smooth fall to the background level by 1.6 radii.
            let near = if r <= 1.0 {
                1.0
            } else {
                (1.0 - (r - 1.0) / 0.6).clamp(0.0, 1.0).powi(2)
            };
            let w = self.background + (1.0 - self.background) * near;
            for (v, c) in p.0.iter_mut().zip(colour) {
                *v = self.lit(*v, c, w);
            }
        }
        out
    }

    /// A value far behind the head (a wall the room's `background` share reaches) under
    /// the screen's colour channel `c` (0–255).
    pub fn on_background(&self, v: u8, c: u8) -> u8 {
        self.lit(v, f64::from(c) / 255.0, self.background)
    }

    /// `v` lit by the colour channel `c` (0–1), `w` of the screen's light reaching it.
    fn lit(&self, v: u8, c: f64, w: f64) -> u8 {
        let lit = f64::from(v) * (1.0 + self.strength * w * c);
        lit.round().clamp(0.0, 255.0) as u8
    }
}

/// Camera and canvas values encode light as about its 1/2.2 power (sRGB).
pub const SRGB_GAMMA: f64 = 2.2;

/// A screen's glass reflecting the page's light onto the picture it shows: `reflected`
/// of the page's colour channel `c` (0–255) added to a shown value `v` (0–255) *in
/// light* — decoded, added, encoded again — as the camera sees the sum. Unlike a face's
/// diffuse reflection it does not scale with what is shown: the same light on dark and
/// bright parts alike.
pub fn glass_reflection(v: f64, c: u8, reflected: f64) -> f64 {
    let light = (v / 255.0).powf(SRGB_GAMMA) + reflected * f64::from(c) / 255.0;
    255.0 * light.powf(1.0 / SRGB_GAMMA)
}

/// What a webcam adds: a global gain (auto exposure hunting, ±`gain_jitter`) and sensor
/// noise (uniform, ±`noise` grey levels), from a seed so runs repeat.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    pub gain_jitter: f64,
    pub noise: f64,
}

impl Camera {
    pub fn expose(&self, frame: &RgbImage, seed: u64) -> RgbImage {
        // xorshift64*: deterministic, no dependency.
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        };
        let gain = 1.0 + self.gain_jitter * (2.0 * next() - 1.0);
        let mut out = frame.clone();
        for p in out.pixels_mut() {
            for v in p.0.iter_mut() {
                let seen = f64::from(*v) * gain + self.noise * (2.0 * next() - 1.0);
                *v = seen.round().clamp(0.0, 255.0) as u8;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_face_takes_the_colour_and_the_corners_barely() {
        let frame = RgbImage::from_pixel(200, 200, image::Rgb([100, 100, 100]));
        let face = Landmarks5([
            [120.0, 90.0],
            [110.0, 90.0],
            [80.0, 90.0],
            [90.0, 90.0],
            [100.0, 110.0],
        ]);
        let lit = ScreenLight::default().apply(&frame, &face, [255, 0, 0]);
        assert_eq!(lit.get_pixel(100, 100).0, [125, 100, 100]);
        assert_eq!(lit.get_pixel(0, 0).0, [102, 100, 100]);
    }
}
