//! Screen-light liveness: the challenge binds the frames to *this* login.
//!
//! The server picks a random colour per frame; the page fills the screen with it while it
//! takes that frame. A face a few tens of centimetres from the screen reflects the colour
//! (diffusely, in proportion to its albedo); the far background barely does. So the
//! face's chromaticity, relative to the frame's border, must follow this challenge's
//! sequence. A recording of another login (or any video made before the challenge was
//! issued) carries another sequence and fails, and so does a video or photo replayed on a
//! screen, where the whole picture shifts alike.
//!
//! Measured relative to the border, so a camera's automatic white balance or exposure,
//! which moves the whole frame, cancels out. What it does not stop: frames rendered for
//! this very challenge and injected in place of the camera (README, Security).

use rand::Rng;
use serde::{Deserialize, Serialize};

/// A screen colour the page shows while it takes one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    Red,
    Green,
    Blue,
    Yellow,
    Cyan,
    Magenta,
}

impl Light {
    pub const ALL: [Light; 6] = [
        Light::Red,
        Light::Green,
        Light::Blue,
        Light::Yellow,
        Light::Cyan,
        Light::Magenta,
    ];

    /// The colour as sRGB (0–255), what the page paints.
    pub fn rgb(self) -> [u8; 3] {
        match self {
            Light::Red => [255, 0, 0],
            Light::Green => [0, 255, 0],
            Light::Blue => [0, 0, 255],
            Light::Yellow => [255, 255, 0],
            Light::Cyan => [0, 255, 255],
            Light::Magenta => [255, 0, 255],
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Light::Red => "red",
            Light::Green => "green",
            Light::Blue => "blue",
            Light::Yellow => "yellow",
            Light::Cyan => "cyan",
            Light::Magenta => "magenta",
        }
    }

    pub fn parse(s: &str) -> Option<Light> {
        Light::ALL.into_iter().find(|l| l.code() == s)
    }

    /// `n` random colours, no two neighbours alike (each frame differs from the last).
    pub fn random_sequence(n: usize) -> Vec<Light> {
        Self::random_sequence_with(&mut rand::thread_rng(), n)
    }

    /// [`random_sequence`](Self::random_sequence) from a given generator (reproducible runs).
    pub fn random_sequence_with(rng: &mut impl Rng, n: usize) -> Vec<Light> {
        let mut out: Vec<Light> = Vec::with_capacity(n);
        while out.len() < n {
            let l = Light::ALL[rng.gen_range(0..Light::ALL.len())];
            if out.last() != Some(&l) {
                out.push(l);
            }
        }
        out
    }

    fn chroma(self) -> [f64; 3] {
        chroma(self.rgb().map(f32::from))
    }
}

/// `rgb / (r + g + b)`: colour without brightness (exposure changes drop out).
fn chroma(rgb: [f32; 3]) -> [f64; 3] {
    let sum = f64::from(rgb[0] + rgb[1] + rgb[2]).max(1e-6);
    rgb.map(|c| f64::from(c) / sum)
}

/// Colour measured in one frame: the face's skin and the frame's border.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameColour {
    pub face: [f32; 3],
    pub border: [f32; 3],
}

/// Thresholds of the screen-light check (README, "Liveness").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LightPolicy {
    /// Least correlation between the face's colour shifts (relative to the border) and
    /// the shown colours' shifts, over the frames.
    pub min_correlation: f64,
    /// Least reflection: chromaticity shift of the face per unit shift of the screen
    /// colour. Below it the light is too weak to tell (bright room, dim screen).
    pub min_response: f64,
    /// Frames with a face needed to judge.
    pub min_frames: usize,
}

impl Default for LightPolicy {
    fn default() -> Self {
        Self {
            min_correlation: 0.8,
            min_response: 0.01,
            min_frames: 7,
        }
    }
}

/// Why the colours do not show this challenge's light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LightFailure {
    /// Too few frames with a face, or more frames than colours.
    TooFewLitFrames,
    /// The face's colour did not follow the screen's: another session's frames, a
    /// replay on a screen, or a photo.
    LightMismatch,
    /// It followed, but too faintly to be sure (bright ambient light, dim screen).
    LightTooWeak,
}

impl LightFailure {
    pub fn code(self) -> &'static str {
        match self {
            Self::TooFewLitFrames => "too_few_lit_frames",
            Self::LightMismatch => "light_mismatch",
            Self::LightTooWeak => "light_too_weak",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::TooFewLitFrames => "Keep your face in view while the screen changes colour.",
            Self::LightMismatch => {
                "The pictures do not match this check: look at the screen while it changes \
                 colour (in a bright room, turn the brightness up), then start again."
            }
            Self::LightTooWeak => {
                "The screen's light did not reach your face: turn the brightness up, \
                 come closer, or move out of direct light."
            }
        }
    }
}

/// What the check measured (for the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LightReport {
    pub frames: usize,
    pub correlation: f64,
    pub response: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<LightFailure>,
}

impl LightPolicy {
    /// `frames[i]` is frame `i`'s colour (`None`: no single face), taken under
    /// `lights[i]`.
    pub fn evaluate(&self, lights: &[Light], frames: &[Option<FrameColour>]) -> LightReport {
        let mut report = LightReport {
            frames: 0,
            correlation: 0.0,
            response: 0.0,
            failure: None,
        };
        if frames.len() > lights.len() {
            report.failure = Some(LightFailure::TooFewLitFrames);
            return report;
        }
        // Face relative to border (d), and the light shown (e), per lit frame.
        let (d, e): (Vec<[f64; 3]>, Vec<[f64; 3]>) = frames
            .iter()
            .zip(lights)
            .filter_map(|(f, l)| {
                let f = f.as_ref()?;
                let (face, border) = (chroma(f.face), chroma(f.border));
                Some((std::array::from_fn(|c| face[c] - border[c]), l.chroma()))
            })
            .unzip();
        report.frames = d.len();
        if d.len() < self.min_frames {
            report.failure = Some(LightFailure::TooFewLitFrames);
            return report;
        }
        let (d, e) = (centred(&d), centred(&e));
        let dot = |a: &[[f64; 3]], b: &[[f64; 3]]| -> f64 {
            a.iter()
                .zip(b)
                .map(|(x, y)| x[0] * y[0] + x[1] * y[1] + x[2] * y[2])
                .sum()
        };
        let (de, dd, ee) = (dot(&d, &e), dot(&d, &d), dot(&e, &e));
        if ee <= 0.0 {
            report.failure = Some(LightFailure::TooFewLitFrames);
            return report;
        }
        report.correlation = if dd > 0.0 { de / (dd * ee).sqrt() } else { 0.0 };
        report.response = de / ee;
        report.failure = if report.correlation < self.min_correlation {
            Some(LightFailure::LightMismatch)
        } else if report.response < self.min_response {
            Some(LightFailure::LightTooWeak)
        } else {
            None
        };
        report
    }
}

fn centred(v: &[[f64; 3]]) -> Vec<[f64; 3]> {
    let n = v.len().max(1) as f64;
    let mean: [f64; 3] = std::array::from_fn(|c| v.iter().map(|x| x[c]).sum::<f64>() / n);
    v.iter()
        .map(|x| std::array::from_fn(|c| x[c] - mean[c]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKIN: [f32; 3] = [180.0, 130.0, 110.0];
    const WALL: [f32; 3] = [120.0, 120.0, 125.0];

    /// Diffuse reflection: the skin's albedo times (ambient + strength × screen colour).
    fn lit(lights: &[Light], strength: f32) -> Vec<Option<FrameColour>> {
        lights
            .iter()
            .map(|l| {
                let s = l.rgb().map(|c| f32::from(c) / 255.0);
                Some(FrameColour {
                    face: std::array::from_fn(|c| SKIN[c] * (1.0 + strength * s[c])),
                    border: WALL,
                })
            })
            .collect()
    }

    #[test]
    fn a_face_lit_by_this_challenge_passes() {
        let lights = Light::random_sequence(9);
        let r = LightPolicy::default().evaluate(&lights, &lit(&lights, 0.15));
        assert_eq!(r.failure, None, "{r:?}");
        assert!(r.correlation > 0.85, "{r:?}");
    }

    #[test]
    fn sequences_change_colour_every_frame() {
        let s = Light::random_sequence(50);
        assert!(s.windows(2).all(|w| w[0] != w[1]));
        assert_eq!(Light::parse("magenta"), Some(Light::Magenta));
        assert_eq!(
            serde_json::to_value(Light::Cyan).unwrap(),
            Light::Cyan.code()
        );
    }

    #[test]
    fn another_sessions_light_is_refused_nearly_always() {
        // The recording was lit by its own challenge; the server asks for a new one.
        let policy = LightPolicy::default();
        let trials = 2000;
        let accepted = (0..trials)
            .filter(|_| {
                let recorded = Light::random_sequence(9);
                let asked = Light::random_sequence(9);
                policy
                    .evaluate(&asked, &lit(&recorded, 0.15))
                    .failure
                    .is_none()
            })
            .count();
        assert!(accepted * 100 < trials, "{accepted} of {trials}");
    }

    #[test]
    fn uniform_shifts_and_weak_light_are_refused() {
        let lights = Light::random_sequence(9);
        let policy = LightPolicy::default();
        // A screen replay: face and border change alike.
        let replay: Vec<_> = lit(&lights, 0.15)
            .into_iter()
            .map(|f| {
                f.map(|f| FrameColour {
                    border: f.face,
                    ..f
                })
            })
            .collect();
        assert_eq!(
            policy.evaluate(&lights, &replay).failure,
            Some(LightFailure::LightMismatch)
        );
        // No light at all (a photo, or the page's colours never shown).
        assert_eq!(
            policy.evaluate(&lights, &lit(&lights, 0.0)).failure,
            Some(LightFailure::LightMismatch)
        );
        assert_eq!(
            policy.evaluate(&lights, &lit(&lights, 0.02)).failure,
            Some(LightFailure::LightTooWeak)
        );
        assert_eq!(
            policy
                .evaluate(&lights[..3], &lit(&lights[..3], 0.15))
                .failure,
            Some(LightFailure::TooFewLitFrames)
        );
    }
}
