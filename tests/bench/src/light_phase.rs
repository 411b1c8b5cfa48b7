//! A design study, not the shipped check: the screen light judged over a *still light
//! phase* — the person facing the screen for a couple of seconds while it shows a fresh
//! colour every few camera frames — instead of over the head turn's frames.
//!
//! Why: on real clips the face's colour wanders with the head's movement far more than it
//! does between frames a fraction of a second apart (`faceid-bench footage-light`'s
//! small-face clips: face minus border moves by about 0.013 between neighbouring frames
//! and 0.05–0.08 over half a second), so the turn frames, 0.4–3 s apart, carry more
//! wander than a daylight screen's signal. Frames close together, of a still face, carry
//! little; and more frames let a lower correlation tell this challenge's colours from a
//! recording's at the same chance of a replay passing.
//!
//! Each genuine trial takes `frames` frames `spacing` apart from one run of the clip where
//! the person faces the camera (relative yaw within `max_yaw` on consecutive frames),
//! lights them with a fresh colour sequence by the same physical model, webcam model and
//! JPEG as `footage-light`, analyses them with the real pipeline, and judges them with the
//! shipped `LightPolicy` — every bound as shipped but the least correlation, set where
//! random sequence pairs of this length pass at `chance` per attempt. Attacks: the same
//! frames lit by another sequence, and unlit.

use crate::footage_light::{
    capture, chance_reports, load_frames, Clip, Condition, Tally, Verdict, REPLAY_STRENGTH,
};
use anyhow::Result;
use faceid_core::face::{DetectorKind, FaceAnalyzer};
use faceid_core::liveness::LivenessPolicy;
use faceid_core::screen_light::{FrameColour, Light, LightPolicy, PoseGroup};
use faceid_testkit::ScreenLight;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct Options {
    /// Frames in the light phase (one colour each).
    pub frames: usize,
    /// Clip frames between two of the phase's (3: 120 ms at 25 fps).
    pub spacing: usize,
    /// Most relative yaw of a frame of the phase (the person faces the screen).
    pub max_yaw: f64,
    pub trials: usize,
    pub attack_trials: usize,
    pub conditions: Vec<(&'static str, f64)>,
    pub seed: u64,
    /// Chance per attempt at which random pairs of sequences may pass: sets the least
    /// correlation.
    pub chance: f64,
    /// Random pairs drawn to set it.
    pub chance_pairs: usize,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub frames: usize,
    pub spacing: usize,
    pub max_yaw: f64,
    pub seed: u64,
    /// The least correlation used, and the chance it was set at.
    pub min_correlation: f64,
    pub chance: f64,
    pub chance_pairs: usize,
    pub clips: Vec<ClipReport>,
}

#[derive(Debug, Serialize)]
pub struct ClipReport {
    pub clip: String,
    /// Runs of facing frames long enough for a phase.
    pub runs: usize,
    pub genuine: Vec<Condition>,
    pub replay_to_new_challenge: Tally,
    pub unlit: Tally,
}

/// The least correlation at which `pairs` random sequence pairs of colours, the frames
/// posed as `poses`, pass at most `chance` of the time (the other bounds as shipped).
pub fn threshold(poses: &[PoseGroup], pairs: usize, seed: u64, chance: f64) -> f64 {
    let shipped = LightPolicy::default();
    let mut c: Vec<f64> = chance_reports(pairs, seed, poses)
        .into_iter()
        .filter(|r| r.response >= shipped.min_response)
        .map(|r| r.correlation)
        .collect();
    c.sort_by(|a, b| b.total_cmp(a));
    let allowed = (chance * pairs as f64) as usize;
    // Just above the first pair that must not pass.
    c.get(allowed).map_or(shipped.min_correlation, |v| v + 1e-9)
}

pub fn run(
    analyzer: &dyn FaceAnalyzer,
    dir: &Path,
    clips: &[String],
    opts: &Options,
) -> Result<Report> {
    let min_correlation = threshold(
        &vec![PoseGroup::Phase(0); opts.frames],
        opts.chance_pairs,
        opts.seed,
        opts.chance,
    );
    eprintln!(
        "{} frames: least correlation {min_correlation:.3} (chance {} per attempt)",
        opts.frames, opts.chance
    );
    // The phase judged alone: there are no turns' frames to hold to a bound of their own.
    let policy = LightPolicy {
        min_correlation,
        min_turns_correlation: f64::NEG_INFINITY,
        ..LightPolicy::default()
    };
    Ok(Report {
        frames: opts.frames,
        spacing: opts.spacing,
        max_yaw: opts.max_yaw,
        seed: opts.seed,
        min_correlation,
        chance: opts.chance,
        chance_pairs: opts.chance_pairs,
        clips: clips
            .iter()
            .map(|c| run_clip(analyzer, &dir.join(c), &policy, opts))
            .collect::<Result<_>>()?,
    })
}

fn run_clip(
    analyzer: &dyn FaceAnalyzer,
    dir: &Path,
    light: &LightPolicy,
    opts: &Options,
) -> Result<ClipReport> {
    let liveness = LivenessPolicy::default();
    let clip = Clip::load(analyzer, dir, &liveness)?;
    let span = (opts.frames - 1) * opts.spacing + 1;
    let runs = clip.facing_runs(opts.max_yaw, span);
    eprintln!(
        "{}: {} runs of {} facing frames",
        clip.name,
        runs.len(),
        span
    );
    let mut report = ClipReport {
        clip: clip.name.clone(),
        runs: runs.len(),
        genuine: Condition::untallied(&opts.conditions),
        replay_to_new_challenge: Tally::default(),
        unlit: Tally::default(),
    };
    if runs.is_empty() {
        return Ok(report);
    }
    let seed = clip.name.bytes().fold(opts.seed, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut rng = StdRng::seed_from_u64(seed);
    for t in 0..opts.trials.max(opts.attack_trials) {
        let run = &runs[rng.gen_range(0..runs.len())];
        let start = rng.gen_range(0..=run.len() - span);
        let seq: Vec<usize> = (0..opts.frames)
            .map(|k| run[start + k * opts.spacing])
            .collect();
        let frames = load_frames(&clip, &seq)?;
        let asked = Light::random_sequence_with(&mut rng, opts.frames);
        let recorded = Light::random_sequence_with(&mut rng, opts.frames);
        let judged = |lit: Option<(f64, &[Light])>, rng: &mut StdRng| -> Result<Verdict> {
            let colours = frames
                .iter()
                .enumerate()
                .map(|(i, (img, lm))| {
                    let screen = lit.map(|(strength, l)| {
                        let s = ScreenLight {
                            strength,
                            ..ScreenLight::default()
                        };
                        (s, l[i])
                    });
                    let jpeg = capture(img, lm, screen, rng.gen())?;
                    let a = analyzer
                        .analyze(&jpeg, DetectorKind::Hog)
                        .map_err(|e| anyhow::anyhow!("analysing a lit frame: {e}"))?;
                    Ok(liveness
                        .main_face(&a.faces)
                        .map(|one| FrameColour::of(&a, one, PoseGroup::Phase(0))))
                })
                .collect::<Result<Vec<_>>>()?;
            let r = light.evaluate(&asked, &colours);
            Ok(Verdict {
                failure: r.failure.map(|f| f.code()),
                liveness_passed: true,
                light: Some(r),
                colour_spread: None,
                parts: [Some(r.correlation), None],
            })
        };
        if t < opts.trials {
            for c in &mut report.genuine {
                let v = judged(Some((c.strength, &asked)), &mut rng)?;
                c.genuine.add(&v);
            }
        }
        if t < opts.attack_trials {
            let v = judged(Some((REPLAY_STRENGTH, &recorded)), &mut rng)?;
            report.replay_to_new_challenge.add(&v);
            let v = judged(None, &mut rng)?;
            report.unlit.add(&v);
        }
    }
    for c in &mut report.genuine {
        c.genuine.finish(&liveness);
    }
    report.replay_to_new_challenge.finish(&liveness);
    report.unlit.finish(&liveness);
    Ok(report)
}

/// The report as a Markdown table: accepted per clip and condition, and the attacks.
pub fn table(r: &Report) -> String {
    let mut out = format!(
        "light phase: {} frames {} apart, least correlation {:.3} (chance {} per attempt)\n\n| clip | runs |",
        r.frames, r.spacing, r.min_correlation, r.chance
    );
    if let Some(first) = r.clips.first() {
        for c in &first.genuine {
            out.push_str(&format!(" {} ({:.2}) |", c.condition, c.strength));
        }
    }
    out.push_str(" replay to a new challenge | unlit |\n");
    for c in &r.clips {
        out.push_str(&format!("| {} | {} |", c.clip, c.runs));
        let tally = |t: &Tally| {
            let why: Vec<String> = t
                .refusals
                .iter()
                .map(|(k, v)| format!("{v} `{k}`"))
                .collect();
            format!(
                " {}/{} accepted (corr median {:.2}; {}) |",
                t.accepted,
                t.trials,
                t.correlation_min_p5_median_max[2],
                why.join(", ")
            )
        };
        for g in &c.genuine {
            out.push_str(&tally(&g.genuine));
        }
        out.push_str(&tally(&c.replay_to_new_challenge));
        out.push_str(&tally(&c.unlit));
        out.push('\n');
    }
    out
}
