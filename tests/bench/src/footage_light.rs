//! The screen-light check on *real* head-turn footage, with the screen's light simulated:
//! genuine acceptance per clip and ambient condition under the whole shipped policy (the
//! screen-light check on), and the attacks that check is meant to stop, on the same frames.
//!
//! The clips (`faceid-bench footage`'s, not committed) were filmed without a colour-changing
//! screen. Each trial builds a login of the shipped challenge from a clip's frames — three
//! alternating turns, the first side at random: straight, three turned, straight, three
//! turned the other way, straight, three turned the first way again, straight (13 frames;
//! `--turns 2`: 9, as `footage` does) — draws a fresh challenge colour sequence, and lights each real frame with its colour
//! by the same physical model as the rendered attack suites (testkit [`ScreenLight`]: diffuse
//! reflection `p · (1 + s·w·c)` over the head located by the frame's own landmarks, 7 % of it
//! on the background), at the attack suite's ambient levels. Then, as the renders: the webcam
//! model ([`Camera`]: ±5 % exposure hunting, ±3 grey levels of noise), JPEG q90, the real
//! pipeline on the bytes, and the shipped [`LivenessPolicy`] followed by its `LightPolicy`,
//! in the service's order (`shared/api/src/authenticate.rs`).
//!
//! Attacks on the same real frames: lit by *another* challenge's colours (a recording of a
//! login replayed to a new challenge whose turns happen to match), and not lit at all (a video
//! made before the challenge was issued). Both must be refused (`light_mismatch`).
//!
//! What this shows: real motion, real landmark jitter, real exposure drift and compression of
//! those clips under the light check. What it does not: the light itself is simulated (a real
//! camera's auto white balance reacting to the colours, glasses, dark skin under weak light,
//! a real screen's falloff are not in these clips).

use anyhow::{Context, Result};
use faceid_core::face::{DetectorKind, FaceAnalyzer, FaceObservation};
use faceid_core::liveness::LivenessPolicy;
use faceid_core::screen_light::{
    log_colour, FrameColour, Light, LightPolicy, LightReport, PoseGroup,
};
use faceid_core::Turn;
use faceid_testkit::{Camera, Landmarks5, ScreenLight};
use image::RgbImage;
use rand::seq::SliceRandom;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The ambient conditions of the rendered attack suite (`liveness_attacks.rs`): the
/// screen's irradiance at the face relative to the room's.
pub const CONDITIONS: [(&str, f64); 5] = [
    ("dim room", 0.30),
    ("office", 0.15),
    ("bright room", 0.08),
    ("daylight", 0.04),
    ("direct sunlight", 0.02),
];

/// The clips of the README's real-footage table.
pub const CLIPS: [&str; 4] = ["cap12_edit", "cap13_edit2", "capture4", "capture5"];

/// The webcam model of the rendered suites.
pub const CAMERA: Camera = Camera {
    gain_jitter: 0.05,
    noise: 3.0,
};

/// A recorded login was lit in the dimmest room (the strongest light, the clearest
/// sequence), as in the rendered suite's replay species.
pub const REPLAY_STRENGTH: f64 = 0.30;

/// Correlation thresholds swept (the rest of the policy as shipped).
pub const CORRELATION_SWEEP: [f64; 6] = [0.6, 0.7, 0.75, 0.8, 0.85, 0.9];
/// Response thresholds swept (the rest of the policy as shipped).
pub const RESPONSE_SWEEP: [f64; 6] = [0.01, 0.015, 0.02, 0.027, 0.035, 0.045];

/// A clip's frames where the pipeline found the person's face, and the frames the page's
/// plan can use: straight (relative yaw within 0.05), turned past the policy's threshold
/// either way (the same rule as `footage`).
pub struct Clip {
    pub name: String,
    pub files: usize,
    /// Each usable frame, in the clip's order.
    pub faces: Vec<ClipFrame>,
    /// Indices into `faces`, in the clip's order.
    pub straight: Vec<usize>,
    pub left: Vec<usize>,
    pub right: Vec<usize>,
    /// The median yaw of its faces: the person's straight ahead, what the pools' yaws are
    /// relative to.
    pub neutral_yaw: f64,
}

/// A frame of a clip with the person's face.
pub struct ClipFrame {
    pub file: PathBuf,
    /// Its position among the clip's files.
    pub frame: usize,
    /// As found unlit (its landmarks say where the screen's light falls).
    pub face: FaceObservation,
    /// The frame's border colour, unlit (`ImageAnalysis::border_rgb`).
    pub border: [f32; 3],
}

impl Clip {
    /// Analyses every frame of `dir/frames` (PNG or JPEG, in name order) once.
    pub fn load(analyzer: &dyn FaceAnalyzer, dir: &Path, policy: &LivenessPolicy) -> Result<Self> {
        let mut files: Vec<_> = std::fs::read_dir(dir.join("frames"))
            .with_context(|| format!("reading {}", dir.join("frames").display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        let mut faces = vec![];
        for (frame, f) in files.iter().enumerate() {
            let bytes = std::fs::read(f)?;
            let analysis = analyzer
                .analyze(&bytes, DetectorKind::Hog)
                .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
            if let Some(main) = policy.main_face(&analysis.faces) {
                faces.push(ClipFrame {
                    file: f.clone(),
                    frame,
                    face: main.clone(),
                    border: analysis.border_rgb,
                });
            }
        }
        let mut yaws: Vec<f64> = faces.iter().map(|f| f.face.yaw()).collect();
        yaws.sort_by(f64::total_cmp);
        let neutral = yaws.get(yaws.len() / 2).copied().unwrap_or(0.0);
        let pool = |keep: &dyn Fn(f64) -> bool| -> Vec<usize> {
            (0..faces.len())
                .filter(|&i| keep(faces[i].face.yaw() - neutral))
                .collect()
        };
        Ok(Self {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            files: files.len(),
            straight: pool(&|y| y.abs() < 0.05),
            left: pool(&|y| y >= policy.turn_yaw),
            right: pool(&|y| y <= -policy.turn_yaw),
            neutral_yaw: neutral,
            faces,
        })
    }

    /// Runs of at least `len` consecutive clip frames facing the camera (relative yaw
    /// within `max_yaw`), as indices into `faces`.
    pub fn facing_runs(&self, max_yaw: f64, len: usize) -> Vec<Vec<usize>> {
        let mut runs: Vec<Vec<usize>> = vec![];
        let mut run: Vec<usize> = vec![];
        for (i, f) in self.faces.iter().enumerate() {
            let facing = (f.face.yaw() - self.neutral_yaw).abs() < max_yaw;
            let follows = run
                .last()
                .is_some_and(|&j| self.faces[j].frame + 1 == f.frame);
            // A run ends at a frame turned away or missing (empty runs are dropped below).
            if !(facing && follows) {
                runs.push(std::mem::take(&mut run));
            }
            if facing {
                run.push(i);
            }
        }
        runs.push(run);
        runs.retain(|r| r.len() >= len);
        runs
    }

    /// The phase windows (`offsets` into a run of `runs`, as indices into `faces`) where
    /// the eyes' midpoint stays within `within` eye distances of the first frame's.
    pub fn still_windows(
        &self,
        runs: &[Vec<usize>],
        offsets: &[usize],
        within: f64,
    ) -> Vec<Vec<usize>> {
        let span = offsets.last().map_or(0, |&o| o + 1);
        let at = |i: usize| Landmarks5(self.faces[i].face.landmarks);
        runs.iter()
            .flat_map(|run| {
                (0..=run.len().saturating_sub(span))
                    .map(move |first| offsets.iter().map(|o| run[first + o]).collect())
            })
            .filter(|seq: &Vec<usize>| {
                let first = at(seq[0]);
                let (mid, eyes) = (first.eye_mid(), first.eye_distance());
                seq.iter().all(|&i| {
                    let m = at(i).eye_mid();
                    (m[0] - mid[0]).hypot(m[1] - mid[1]) <= within * eyes
                })
            })
            .collect()
    }

    /// Frames of each kind (straight, left, right) a login of `turns` alternating turns
    /// takes: a straight frame before, between and after the turns, three per turn, and
    /// the side turned twice in a three-turn login may be either.
    fn needed(turns: usize) -> [usize; 3] {
        let per_side = 3 * turns.div_ceil(2);
        [turns + 1, per_side, per_side]
    }

    /// Enough frames of each kind to assemble logins of `turns` turns.
    pub fn usable(&self, turns: usize) -> bool {
        let pools = [&self.straight, &self.left, &self.right];
        pools
            .iter()
            .zip(Self::needed(turns))
            .all(|(p, n)| p.len() >= n)
    }

    /// The pools' entries among the clip's frames `start..start + len`.
    fn within(&self, start: usize, len: usize) -> [&[usize]; 3] {
        [&self.straight, &self.left, &self.right].map(|pool| {
            let from = pool.partition_point(|&i| self.faces[i].frame < start);
            let to = pool.partition_point(|&i| self.faces[i].frame < start + len);
            &pool[from..to]
        })
    }

    /// First frames of the windows of `len` frames that hold enough frames of each kind
    /// for a login of `turns` turns.
    pub fn window_starts(&self, len: usize, turns: usize) -> Vec<usize> {
        (0..=self.files.saturating_sub(len))
            .filter(|&s| {
                self.within(s, len)
                    .iter()
                    .zip(Self::needed(turns))
                    .all(|(p, n)| p.len() >= n)
            })
            .collect()
    }

    /// One login's plan: the asked turns (`turns` of them, alternating, the first side at
    /// random) and the frames (indices into `faces`) in the page's order — straight, three
    /// turned, straight, ... — drawn from the whole clip, or from one window of
    /// `(len, starts)` ([`Self::window_starts`]); no frame twice.
    fn draw(
        &self,
        rng: &mut StdRng,
        turns: usize,
        window: Option<(usize, &[usize])>,
    ) -> (Vec<Turn>, Vec<usize>) {
        let first = if rng.gen_bool(0.5) {
            [Turn::Left, Turn::Right]
        } else {
            [Turn::Right, Turn::Left]
        };
        let steps: Vec<Turn> = (0..turns).map(|i| first[i % 2]).collect();
        let [straight, left, right] = match window {
            Some((len, starts)) => self.within(starts[rng.gen_range(0..starts.len())], len),
            None => [&self.straight[..], &self.left[..], &self.right[..]],
        };
        let per_side = |t: Turn| 3 * steps.iter().filter(|&&s| s == t).count();
        let mut lefts: Vec<usize> = left
            .choose_multiple(rng, per_side(Turn::Left))
            .copied()
            .collect();
        let mut rights: Vec<usize> = right
            .choose_multiple(rng, per_side(Turn::Right))
            .copied()
            .collect();
        let mut straights: Vec<usize> = straight.choose_multiple(rng, turns + 1).copied().collect();
        let mut seq = vec![straights.pop().unwrap_or_default()];
        for &t in &steps {
            let pool = if t == Turn::Left {
                &mut lefts
            } else {
                &mut rights
            };
            seq.extend(pool.drain(..3.min(pool.len())));
            seq.push(straights.pop().unwrap_or_default());
        }
        (steps, seq)
    }
}

/// The clip's frames `seq` (indices into `faces`) decoded, with their landmarks.
pub fn load_frames(clip: &Clip, seq: &[usize]) -> Result<Vec<(RgbImage, Landmarks5)>> {
    seq.iter()
        .map(|&i| {
            let f = &clip.faces[i];
            let img = image::open(&f.file)
                .with_context(|| format!("{}", f.file.display()))?
                .to_rgb8();
            Ok((img, Landmarks5(f.face.landmarks)))
        })
        .collect()
}

/// One frame as the page would send it: lit by `light` (none: as filmed), seen by the
/// webcam model, JPEG-encoded.
pub fn capture(
    frame: &RgbImage,
    face: &Landmarks5,
    light: Option<(ScreenLight, Light)>,
    seed: u64,
) -> Result<Vec<u8>> {
    let lit = match light {
        Some((screen, colour)) => screen.apply(frame, face, colour.rgb()),
        None => frame.clone(),
    };
    let seen = CAMERA.expose(&lit, seed);
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&seen)?;
    Ok(out.into_inner())
}

/// A login's light-phase frames as sent (JPEG) and the light check's group of each.
#[derive(Clone, Copy, Default)]
pub struct PhaseFrames<'a> {
    pub jpegs: &'a [Vec<u8>],
    pub groups: &'a [PoseGroup],
}

/// The shipped policy's answer to one login, reached as the service reaches it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The first refusal's code (`no_head_turn`, `light_mismatch`, …); `None`: accepted.
    pub failure: Option<&'static str>,
    /// The turn, same-person, foreshortening and parallax checks passed.
    pub liveness_passed: bool,
    /// The screen-light check's measures (also where the liveness check refused first).
    pub light: Option<LightReport>,
    /// How much the face-minus-border chromaticity moves between the frames (RMS about
    /// its mean over the frames with a face): the screen's light where there is one, and
    /// whatever else moves it — pose, exposure, white balance — where there is none.
    pub colour_spread: Option<f64>,
    /// The light check's correlation over the light phase's frames alone, and over the
    /// turns' alone (`None`: too few frames with a face).
    pub parts: [Option<f64>; 2],
}

/// Analyses the frames (JPEG bytes) with the real pipeline and judges them against the
/// challenge's turns and colours: the liveness checks first, then the screen light, as
/// `authenticate` does (the colours within the light phase and each pose the liveness
/// check read; `by_pose` false: over the whole login, as before, for comparison).
///
/// `phase`: the still frames of the light phase sent before the turns ([`Countdown`];
/// none: empty), bound to the person of the turn frames and judged with them in their
/// groups; `lights` then holds the phase's colours first.
pub fn judge(
    analyzer: &dyn FaceAnalyzer,
    policy: &LivenessPolicy,
    steps: &[Turn],
    lights: &[Light],
    frames: &[Vec<u8>],
    phase: PhaseFrames,
    by_pose: bool,
) -> Result<Verdict> {
    let PhaseFrames {
        jpegs: phase,
        groups: phase_groups,
    } = phase;
    anyhow::ensure!(phase_groups.len() == phase.len(), "a group per phase frame");
    let analyse = |frames: &[Vec<u8>]| {
        frames
            .iter()
            .map(|f| analyzer.analyze(f, DetectorKind::Hog))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("analysing a lit frame: {e}"))
    };
    let mut analyses = analyse(phase)?;
    analyses.extend(analyse(frames)?);
    let faces: Vec<&[FaceObservation]> = analyses.iter().map(|a| a.faces.as_slice()).collect();
    let liveness = policy.evaluate_phased(steps, phase.len(), &faces);
    // Frames past the poses read (a refusal before they were all read) count as straight.
    let groups = phase_groups
        .iter()
        .copied()
        .chain(liveness.poses.iter().map(|&p| PoseGroup::Pose(p)))
        .chain(std::iter::repeat(PoseGroup::Pose(None)));
    let colours: Vec<Option<FrameColour>> = analyses
        .iter()
        .zip(groups)
        .map(|(a, group)| {
            let group = if by_pose {
                group
            } else {
                PoseGroup::Pose(None)
            };
            policy
                .main_face(&a.faces)
                .map(|one| FrameColour::of(a, one, group))
        })
        .collect();
    let light = policy.screen_light.map(|l| l.evaluate(lights, &colours));
    // The same check on the phase's frames alone (the turns' alone the check reports
    // itself): where the light shows, and where the login's wander is.
    let phase_alone = policy.screen_light.and_then(|l| {
        let only: Vec<Option<FrameColour>> = colours
            .iter()
            .enumerate()
            .map(|(i, c)| c.filter(|_| i < phase.len()))
            .collect();
        let r = LightPolicy { min_frames: 2, ..l }.evaluate(lights, &only);
        (r.frames >= 2).then_some(r.correlation)
    });
    let parts = [phase_alone, light.map(|l| l.turns_correlation)];
    let chroma = |c: [f32; 3]| {
        let sum = f64::from(c[0] + c[1] + c[2]).max(1e-6);
        c.map(|v| f64::from(v) / sum)
    };
    let d: Vec<[f64; 3]> = colours
        .iter()
        .flatten()
        .map(|c| {
            let (f, b) = (chroma(c.face), chroma(c.border));
            [f[0] - b[0], f[1] - b[1], f[2] - b[2]]
        })
        .collect();
    let colour_spread = (!d.is_empty()).then(|| {
        let n = d.len() as f64;
        let mean: [f64; 3] = std::array::from_fn(|k| d.iter().map(|x| x[k]).sum::<f64>() / n);
        let ss: f64 = d
            .iter()
            .map(|x| (0..3).map(|k| (x[k] - mean[k]).powi(2)).sum::<f64>())
            .sum();
        (ss / n).sqrt()
    });
    let failure = match (liveness.failure, light.and_then(|l| l.failure)) {
        (Some(f), _) => Some(f.code()),
        (None, Some(f)) => Some(f.code()),
        (None, None) => None,
    };
    Ok(Verdict {
        failure,
        liveness_passed: liveness.passed,
        light,
        colour_spread,
        parts,
    })
}

/// Logins judged and what became of them.
#[derive(Debug, Default, Serialize)]
pub struct Tally {
    pub trials: usize,
    pub accepted: usize,
    pub refusals: BTreeMap<String, usize>,
    /// Over the logins that passed the liveness checks (reached the light check with ≥ 7
    /// lit frames): how many, the light measures' min / 5th percentile / median / max, and
    /// how many would be accepted at each swept threshold.
    pub reached_light: usize,
    pub correlation_min_p5_median_max: [f64; 4],
    pub response_min_p5_median_max: [f64; 4],
    pub accepted_at_correlation: Vec<(f64, usize)>,
    pub accepted_at_response: Vec<(f64, usize)>,
    /// ... and at each of [`TURNS_SWEEP`] as the turns' own bound (the rest as shipped).
    pub accepted_at_turns_correlation: Vec<(f64, usize)>,
    /// [`Verdict::colour_spread`] over all the logins: median and 95th percentile.
    pub colour_spread_median_p95: [f64; 2],
    /// [`Verdict::parts`] over the logins that passed the liveness checks: the
    /// correlation of the light phase's frames alone, and of the turns' alone (min, 5th
    /// percentile, median each).
    pub phase_turns_correlation_min_p5_median: [[f64; 3]; 2],
    #[serde(skip)]
    parts: [Vec<f64>; 2],
    /// The lower face's dark-tone share of the light (`LightReport::dark_share`) over
    /// the logins that reached the light check: median, 95th percentile, max.
    pub dark_share_median_p95_max: [f64; 3],
    #[serde(skip)]
    dark_shares: Vec<f64>,
    #[serde(skip)]
    measures: Vec<(f64, f64, f64)>,
    #[serde(skip)]
    spreads: Vec<f64>,
}

impl Tally {
    pub(crate) fn add(&mut self, v: &Verdict) {
        self.trials += 1;
        match v.failure {
            None => self.accepted += 1,
            Some(code) => *self.refusals.entry(code.to_string()).or_default() += 1,
        }
        self.spreads.extend(v.colour_spread);
        if let (true, Some(l)) = (v.liveness_passed, v.light) {
            if l.frames >= faceid_core::screen_light::LightPolicy::default().min_frames {
                self.measures
                    .push((l.correlation, l.response, l.turns_correlation));
                for (all, p) in self.parts.iter_mut().zip(v.parts) {
                    all.extend(p);
                }
                self.dark_shares.push(l.dark_share);
            }
        }
    }

    pub(crate) fn finish(&mut self, policy: &LivenessPolicy) {
        let shipped = policy.screen_light.unwrap_or_default();
        let m = &self.measures;
        self.reached_light = m.len();
        let spread = |mut v: Vec<f64>| -> [f64; 4] {
            if v.is_empty() {
                return [0.0; 4];
            }
            v.sort_by(f64::total_cmp);
            let q = |p: f64| v[((v.len() - 1) as f64 * p) as usize];
            [q(0.0), q(0.05), q(0.5), q(1.0)]
        };
        self.correlation_min_p5_median_max = spread(m.iter().map(|x| x.0).collect());
        self.response_min_p5_median_max = spread(m.iter().map(|x| x.1).collect());
        let mut dark = self.dark_shares.clone();
        dark.sort_by(f64::total_cmp);
        if !dark.is_empty() {
            let q = |p: f64| dark[((dark.len() - 1) as f64 * p) as usize];
            self.dark_share_median_p95_max = [q(0.5), q(0.95), q(1.0)];
        }
        self.phase_turns_correlation_min_p5_median = self.parts.clone().map(|v| {
            let [min, p5, median, _] = spread(v);
            [min, p5, median]
        });
        let mut spreads = self.spreads.clone();
        spreads.sort_by(f64::total_cmp);
        if !spreads.is_empty() {
            let q = |p: f64| spreads[((spreads.len() - 1) as f64 * p) as usize];
            self.colour_spread_median_p95 = [q(0.5), q(0.95)];
        }
        let passing = |c: f64, r: f64, t: f64| {
            m.iter()
                .filter(|x| x.0 >= c && x.1 >= r && x.2 >= t)
                .count()
        };
        let (c, r, t) = (
            shipped.min_correlation,
            shipped.min_response,
            shipped.min_turns_correlation,
        );
        self.accepted_at_correlation = CORRELATION_SWEEP
            .iter()
            .map(|&c| (c, passing(c, r, t)))
            .collect();
        self.accepted_at_response = RESPONSE_SWEEP
            .iter()
            .map(|&r| (r, passing(c, r, t)))
            .collect();
        self.accepted_at_turns_correlation =
            TURNS_SWEEP.iter().map(|&t| (t, passing(c, r, t))).collect();
    }
}

#[derive(Debug, Serialize)]
pub struct Condition {
    pub condition: &'static str,
    /// Screen irradiance at the face relative to the ambient light.
    pub strength: f64,
    pub genuine: Tally,
}

impl Condition {
    /// One empty tally per `(name, strength)`.
    pub fn untallied(conditions: &[(&'static str, f64)]) -> Vec<Self> {
        conditions
            .iter()
            .map(|&(condition, strength)| Self {
                condition,
                strength,
                genuine: Tally::default(),
            })
            .collect()
    }
}

#[derive(Debug, Serialize)]
pub struct ClipReport {
    pub clip: String,
    pub files: usize,
    pub faces: usize,
    pub straight: usize,
    pub turned_left: usize,
    pub turned_right: usize,
    /// Genuine logins per ambient condition (BPCER = trials − accepted).
    pub genuine: Vec<Condition>,
    /// The same frames lit by another challenge's colours, judged against a new one
    /// (APCER = accepted).
    pub replay_to_new_challenge: Tally,
    /// The same frames unlit (a video made before the challenge), judged against it.
    pub unlit: Tally,
    /// Each login's frames were drawn from one window of this many consecutive frames
    /// (`None`: from the whole clip, as `footage` draws them), among this many windows
    /// that hold three frames of each kind.
    pub window_frames: Option<usize>,
    pub window_starts: usize,
    /// The least correlation the light check used (the shipped one, or for another light
    /// phase the one where random sequences pass once in 100,000).
    pub min_correlation: f64,
    /// Runs of facing frames long enough for the light phase.
    pub countdown_runs: usize,
    /// Where the phase is taken only from a head held still ([`Countdown::still`]): how
    /// many of the runs' phase windows qualify.
    pub countdown_still_windows: Option<usize>,
    /// Wall-clock seconds for this clip (frame analysis and trials).
    pub seconds: f64,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Genuine logins per condition.
    pub trials: usize,
    /// Logins per attack.
    pub attack_trials: usize,
    /// Screen strengths to light the genuine logins at (default: [`CONDITIONS`]).
    pub conditions: Vec<(&'static str, f64)>,
    pub seed: u64,
    /// Draw each login's frames from one window of this many consecutive frames (a real
    /// three-turn login's 13 frames span 9.6 s: 240 frames at 25 fps; a two-turn one's
    /// 6.4 s, 160); `None`: from the whole clip.
    pub window: Option<usize>,
    /// Judge the light over the whole login, not within each pose (the check before
    /// 2026-12-06), for comparison.
    pub light_over_the_login: bool,
    /// Turns per login: 3, the shipped challenge's (13 frames); 2, as `footage` (9).
    pub turns: usize,
    /// The still light phase during the page's countdown before the turns (the shipped
    /// one: [`Countdown::shipped`]; `None`: none, the protocol before 2026-12-07).
    pub countdown: Option<Countdown>,
}

/// A still light phase before the turns: `frames` of the person facing the camera, every
/// `spacing` clip frames, each lit by a colour of its own, judged with the turn frames as
/// a group of their own. Other than the shipped phase, the least correlation is set where
/// random colour sequences of the whole login pass once in 100,000 attempts.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Countdown {
    pub frames: usize,
    pub spacing: usize,
    /// Random sequence pairs drawn to set the least correlation.
    pub chance_pairs: usize,
    /// Frames taken in pairs across each colour change instead (`frames / 2` changes,
    /// `spacing` apart): the colour's last frame, then `lag` clip frames later the next
    /// colour's first; each pair judged as a group of its own. `None`: evenly spaced,
    /// one colour per frame, all judged as one group.
    pub pair_lag: Option<usize>,
    /// Take the phase only where the head held still as the countdown asks: its eyes'
    /// midpoint within this many eye distances of the first frame's in every frame of it.
    /// `None`: any run facing the camera (the head may move across the room).
    pub still: Option<f64>,
}

impl Countdown {
    /// The page's: `LightPolicy::phase_frames` frames `PHASE_SPACING_MS` apart, in clip
    /// frames of 40 ms (25 fps: 9).
    pub fn shipped() -> Self {
        Self {
            frames: faceid_core::screen_light::LightPolicy::default().phase_frames,
            spacing: (faceid_core::capture::PHASE_SPACING_MS / 40) as usize,
            chance_pairs: 1_000_000,
            pair_lag: None,
            still: None,
        }
    }

    /// Each frame's clip frame, counted from the phase's first.
    fn offsets(&self) -> Vec<usize> {
        match self.pair_lag {
            None => (0..self.frames).map(|k| k * self.spacing).collect(),
            Some(lag) => (0..self.frames)
                .map(|k| (k / 2) * self.spacing + (k % 2) * lag)
                .collect(),
        }
    }

    /// Clip frames from the phase's first to its last.
    fn span(&self) -> usize {
        self.offsets().last().map_or(0, |&o| o + 1)
    }

    /// The light check's groups of the phase's frames.
    pub fn groups(&self) -> Vec<PoseGroup> {
        match self.pair_lag {
            None => vec![PoseGroup::Phase(0); self.frames],
            // Each pair straddling a colour change a group of its own.
            Some(_) => (0..self.frames)
                .map(|k| PoseGroup::Phase(u8::try_from(k / 2).unwrap_or(u8::MAX)))
                .collect(),
        }
    }
}

/// Random colours for frames grouped as `groups`: each unlike the last, except that the
/// colour holds across a boundary between two of the light phase's pairs (the second frame
/// of a pair and the first of the next are the same colour's). The fresh colours are one
/// [`Light::random_sequence_with`] draw.
pub fn lights_for(rng: &mut StdRng, groups: &[PoseGroup]) -> Vec<Light> {
    let held: Vec<bool> =
        std::iter::once(false)
            .chain(groups.windows(2).map(
                |w| matches!((w[0], w[1]), (PoseGroup::Phase(a), PoseGroup::Phase(b)) if a != b),
            ))
            .collect();
    let fresh = held.iter().filter(|&&h| !h).count();
    let mut colours = Light::random_sequence_with(rng, fresh).into_iter();
    let mut out: Vec<Light> = Vec::with_capacity(groups.len());
    for h in held {
        let next = match (h, out.last()) {
            (true, Some(&last)) => Some(last),
            _ => colours.next(),
        };
        out.extend(next);
    }
    out
}

/// Colours drawn per login for the turn frames (13 used): the challenge's count when these
/// figures were first measured, kept so that a seed draws the same logins and colours
/// whatever the challenge's count is now (the light phase's come from a generator of their
/// own): runs with and without a light phase are then a paired comparison.
const TURN_LIGHTS_DRAWN: usize = 16;

/// Most relative yaw of a countdown frame (facing the screen).
const PHASE_MAX_YAW: f64 = 0.08;

impl Default for Options {
    fn default() -> Self {
        Self {
            trials: 100,
            attack_trials: 100,
            conditions: CONDITIONS.to_vec(),
            seed: 20261206,
            window: None,
            light_over_the_login: false,
            turns: 3,
            countdown: Some(Countdown::shipped()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub trials: usize,
    pub attack_trials: usize,
    pub seed: u64,
    pub window_frames: Option<usize>,
    /// Turns per login (13 frames for three, 9 for two).
    pub turns: usize,
    pub countdown: Option<Countdown>,
    pub clips: Vec<ClipReport>,
    /// What each swept correlation threshold costs against replays where the trials are
    /// too few to tell: the fraction of random pairs of challenges' colours (a recording
    /// lit by one, judged against the other, the face's shift exactly the recording's
    /// colours) that pass at it, the response and the turns' own thresholds as shipped.
    /// Per attempt, for the shipped challenge (three turns, 13 frames, after this run's
    /// light phase).
    pub chance_replay_at_correlation: Vec<(f64, f64)>,
    /// The same for two-turn logins of 9 frames (after the light phase).
    pub chance_replay_two_turns: Vec<(f64, f64)>,
    pub chance_pairs: usize,
}

/// Each clip named, from `dir/<clip>/frames`.
pub fn run(
    analyzer: &dyn FaceAnalyzer,
    dir: &Path,
    clips: &[String],
    opts: &Options,
) -> Result<Report> {
    let chance_pairs = 1_000_000;
    // The shipped challenge (left–right–left, 13 frames) and the two-turn logins here (9).
    let chance_poses = |turns: usize| -> Vec<PoseGroup> {
        let steps = [Turn::Left, Turn::Right, Turn::Left];
        let poses = login_groups(opts.countdown, &steps[..turns]);
        match opts.light_over_the_login {
            true => vec![PoseGroup::Pose(None); poses.len()],
            false => poses,
        }
    };
    Ok(Report {
        trials: opts.trials,
        attack_trials: opts.attack_trials,
        seed: opts.seed,
        window_frames: opts.window,
        turns: opts.turns,
        countdown: opts.countdown,
        clips: clips
            .iter()
            .map(|c| run_clip(analyzer, &dir.join(c), opts))
            .collect::<Result<_>>()?,
        chance_replay_at_correlation: chance_replay(chance_pairs, opts.seed, &chance_poses(3)),
        chance_replay_two_turns: chance_replay(chance_pairs, opts.seed, &chance_poses(2)),
        chance_pairs,
    })
}

/// The poses of the page's frames for a challenge's turns (`CapturePlan`: straight, then
/// per step its turned frames and a straight one): 13 frames for three turns, 9 for two.
pub fn page_poses(steps: &[Turn]) -> Vec<Option<Turn>> {
    let per_step = faceid_core::capture::CapturePlan::new(steps.len(), 0, 16).turned_per_step;
    let mut out = vec![None];
    for &t in steps {
        out.extend(std::iter::repeat_n(Some(t), per_step));
        out.push(None);
    }
    out
}

/// The light check's groups of a login's frames: the light phase's, then the page's
/// frames for `steps` by pose.
pub fn login_groups(phase: Option<Countdown>, steps: &[Turn]) -> Vec<PoseGroup> {
    let mut groups = phase.map_or(vec![], |c| c.groups());
    groups.extend(page_poses(steps).into_iter().map(PoseGroup::Pose));
    groups
}

/// The fraction of `pairs` random challenge pairs whose colours pass each other's light
/// check at each [`CORRELATION_SWEEP`] threshold (see [`Report`]), the frames grouped as
/// `poses` (all `Pose(None)`: judged over the whole login).
pub fn chance_replay(pairs: usize, seed: u64, poses: &[PoseGroup]) -> Vec<(f64, f64)> {
    let shipped = faceid_core::screen_light::LightPolicy::default();
    let reports = chance_reports(pairs, seed, poses);
    CORRELATION_SWEEP
        .iter()
        .map(|&c| {
            let n = reports
                .iter()
                .filter(|r| passes_at(r, c, shipped.min_turns_correlation))
                .count();
            (c, n as f64 / pairs as f64)
        })
        .collect()
}

/// Whether a chance replay's report passes the light check with the whole login's bound
/// at `login` and the turns' own at `turns`, the response's as shipped.
fn passes_at(r: &LightReport, login: f64, turns: f64) -> bool {
    r.correlation >= login
        && r.turns_correlation >= turns
        && r.response >= LightPolicy::default().min_response
}

/// The shipped light check's measures of `pairs` random challenge pairs: a face lit by
/// one sequence's colours (a recording: exactly its colours, no noise) judged against
/// another's, the frames grouped as `poses`.
pub fn chance_reports(pairs: usize, seed: u64, poses: &[PoseGroup]) -> Vec<LightReport> {
    reports_lit(pairs, seed, poses, false)
}

/// [`chance_reports`], except that the light phase's frames are lit by the challenge's own
/// colours (`phase_asked`): a picture of the person held up for the countdown, then a
/// recording for the turns.
pub fn reports_lit(
    pairs: usize,
    seed: u64,
    poses: &[PoseGroup],
    phase_asked: bool,
) -> Vec<LightReport> {
    const SKIN: [f32; 3] = [180.0, 130.0, 110.0];
    const WALL: [f32; 3] = [120.0, 120.0, 125.0];
    let shipped = faceid_core::screen_light::LightPolicy::default();
    let mut rng = StdRng::seed_from_u64(seed);
    (0..pairs)
        .map(|_| {
            let recorded = lights_for(&mut rng, poses);
            let asked = lights_for(&mut rng, poses);
            let colours: Vec<Option<FrameColour>> = recorded
                .iter()
                .zip(&asked)
                .zip(poses)
                .map(|((&recorded, &asked), &group)| {
                    let l = match group {
                        PoseGroup::Phase(_) if phase_asked => asked,
                        _ => recorded,
                    };
                    let c = l.rgb().map(|v| f32::from(v) / 255.0);
                    Some(FrameColour {
                        face: std::array::from_fn(|k| SKIN[k] * (1.0 + 0.3 * c[k])),
                        border: WALL,
                        border_clipped: 0.0,
                        // Chance matches are about the colours: the tones' bound is not swept.
                        tones: None,
                        group,
                        // Where a recording's face is has nothing to do with this
                        // challenge's colours.
                        at: Some([
                            rng.gen_range(300.0..340.0),
                            rng.gen_range(220.0..260.0),
                            rng.gen_range(60.0..70.0),
                        ]),
                    })
                })
                .collect();
            shipped.evaluate(&asked, &colours)
        })
        .collect()
}

/// Chance replays of one kind of challenge ([`chance_by_sequence`]).
#[derive(Debug, Serialize)]
pub struct KindChance {
    pub kind: &'static str,
    /// What was replayed: the whole login, or the turns only after a light phase lit by
    /// this challenge's colours.
    pub replayed: &'static str,
    pub sequences: usize,
    /// Frames per login, the light phase's included (the most over the sequences).
    pub frames: usize,
    pub pairs_per_sequence: usize,
    /// Over the kind's sequences (a challenge draws each equally often, so `mean` is the
    /// chance per attempt): the fraction of random colour pairs that pass at the shipped
    /// bounds.
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// The mean with the turns' bound ([`LightPolicy::min_turns_correlation`]) at each
    /// of [`TURNS_SWEEP`] instead, the rest as shipped.
    pub mean_at_turns_correlation: Vec<(f64, f64)>,
    /// The mean with the whole login's bound ([`LightPolicy::min_correlation`]) at each
    /// of [`LOGIN_SWEEP`] instead, the rest as shipped.
    pub mean_at_correlation: Vec<(f64, f64)>,
}

/// Turns' correlation bounds swept by [`chance_by_sequence`].
pub const TURNS_SWEEP: [f64; 9] = [0.0, 0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.75, 0.8];

/// One challenge sequence's chance replay: as shipped, then at each bound of
/// [`TURNS_SWEEP`], then of [`LOGIN_SWEEP`].
type SequenceRates = (f64, Vec<f64>, Vec<f64>);

/// Whole-login correlation bounds swept by [`chance_by_sequence`].
pub const LOGIN_SWEEP: [f64; 7] = [0.7, 0.72, 0.74, 0.75, 0.76, 0.78, 0.8];

/// The chance replay per attempt ([`chance_reports`]) at the shipped bounds, for every
/// challenge sequence of each kind (turns only; turns and nods), the frames of each
/// grouped as the page takes them: the light phase, then per step its turned frames
/// (fewer with four steps, [`page_poses`]) and a straight one.
pub fn chance_by_sequence(pairs: usize, seed: u64) -> Vec<KindChance> {
    use faceid_core::domain::ChallengeSteps;
    let shipped = LightPolicy::default();
    let (login, turns) = (shipped.min_correlation, shipped.min_turns_correlation);
    let mut out = vec![];
    for (kind, steps) in [
        ("turns", ChallengeSteps::Turns),
        ("turns and nods", ChallengeSteps::TurnsAndNods),
    ] {
        for (replayed, phase_asked) in [("whole login", false), ("turns only", true)] {
            let sequences = steps.sequences();
            let mut frames = 0;
            // Per sequence: the fraction passing as shipped, then at each swept bound of
            // the turns', then of the whole login's.
            let rates: Vec<SequenceRates> = sequences
                .iter()
                .map(|seq| {
                    let groups = login_groups(Some(Countdown::shipped()), seq);
                    frames = frames.max(groups.len());
                    let reports = reports_lit(pairs, seed, &groups, phase_asked);
                    let rate = |login: f64, turns: f64| {
                        let n = reports
                            .iter()
                            .filter(|r| passes_at(r, login, turns))
                            .count();
                        n as f64 / pairs as f64
                    };
                    (
                        rate(login, turns),
                        TURNS_SWEEP.iter().map(|&t| rate(login, t)).collect(),
                        LOGIN_SWEEP.iter().map(|&c| rate(c, turns)).collect(),
                    )
                })
                .collect();
            let n = rates.len().max(1) as f64;
            let mean = |swept: &[f64], of: &dyn Fn(&SequenceRates) -> &[f64]| {
                swept
                    .iter()
                    .enumerate()
                    .map(|(k, &b)| (b, rates.iter().map(|r| of(r)[k]).sum::<f64>() / n))
                    .collect()
            };
            out.push(KindChance {
                kind,
                replayed,
                sequences: sequences.len(),
                frames,
                pairs_per_sequence: pairs,
                mean: rates.iter().map(|r| r.0).sum::<f64>() / n,
                min: rates.iter().map(|r| r.0).fold(f64::INFINITY, f64::min),
                max: rates.iter().map(|r| r.0).fold(0.0, f64::max),
                mean_at_turns_correlation: mean(&TURNS_SWEEP, &|r| &r.1),
                mean_at_correlation: mean(&LOGIN_SWEEP, &|r| &r.2),
            });
        }
    }
    out
}

/// Deterministic per clip (its name seeds the draws), whatever other clips run.
fn clip_seed(name: &str, seed: u64) -> u64 {
    name.bytes().fold(seed ^ 0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub fn run_clip(analyzer: &dyn FaceAnalyzer, dir: &Path, opts: &Options) -> Result<ClipReport> {
    let start = std::time::Instant::now();
    let mut policy = LivenessPolicy::default();
    anyhow::ensure!(policy.screen_light.is_some(), "the shipped policy lights");
    // Another light phase than the page's (or none) gets the bound where random
    // sequences of its frames pass as rarely as the shipped bound lets them.
    let shipped = Countdown::shipped();
    let study = opts.countdown.map(|c| (c.frames, c.spacing, c.pair_lag))
        != Some((shipped.frames, shipped.spacing, shipped.pair_lag));
    if let (true, Some(light)) = (study, policy.screen_light.as_mut()) {
        let steps: Vec<Turn> = (0..opts.turns)
            .map(|i| [Turn::Left, Turn::Right][i % 2])
            .collect();
        let pairs = opts.countdown.unwrap_or(shipped).chance_pairs;
        let groups = login_groups(opts.countdown, &steps);
        light.min_correlation = crate::light_phase::threshold(&groups, pairs, opts.seed, 1e-5);
    }
    let clip = Clip::load(analyzer, dir, &policy)?;
    eprintln!(
        "{}: {} frames, {} with a face ({} straight, {} left, {} right), {:.0} s",
        clip.name,
        clip.files,
        clip.faces.len(),
        clip.straight.len(),
        clip.left.len(),
        clip.right.len(),
        start.elapsed().as_secs_f64()
    );
    let mut report = ClipReport {
        clip: clip.name.clone(),
        files: clip.files,
        faces: clip.faces.len(),
        straight: clip.straight.len(),
        turned_left: clip.left.len(),
        turned_right: clip.right.len(),
        genuine: Condition::untallied(&opts.conditions),
        replay_to_new_challenge: Tally::default(),
        unlit: Tally::default(),
        window_frames: opts.window,
        window_starts: 0,
        min_correlation: 0.0,
        countdown_runs: 0,
        countdown_still_windows: None,
        seconds: 0.0,
    };
    let starts = opts
        .window
        .map(|w| clip.window_starts(w, opts.turns))
        .unwrap_or_default();
    report.window_starts = starts.len();
    report.min_correlation = policy.screen_light.unwrap_or_default().min_correlation;
    let runs = opts
        .countdown
        .map_or(vec![], |c| clip.facing_runs(PHASE_MAX_YAW, c.span()));
    report.countdown_runs = runs.len();
    let still_windows = opts
        .countdown
        .and_then(|c| Some(clip.still_windows(&runs, &c.offsets(), c.still?)));
    report.countdown_still_windows = still_windows.as_ref().map(Vec::len);
    if !clip.usable(opts.turns)
        || (opts.window.is_some() && starts.is_empty())
        || (opts.countdown.is_some() && runs.is_empty())
        || still_windows.as_ref().is_some_and(Vec::is_empty)
    {
        eprintln!(
            "{}: too few straight, turned or facing frames, skipped",
            clip.name
        );
        return Ok(report);
    }
    let mut rng = StdRng::seed_from_u64(clip_seed(&clip.name, opts.seed));
    // The countdown's draws from a generator of their own, so the turn frames and their
    // colours are the same draws as without it (a paired comparison).
    let mut phase_rng = StdRng::seed_from_u64(clip_seed(&clip.name, opts.seed ^ 0x00c0_ffee));
    let screen = |strength| ScreenLight {
        strength,
        ..ScreenLight::default()
    };
    for t in 0..opts.trials.max(opts.attack_trials) {
        let (steps, seq) = clip.draw(&mut rng, opts.turns, opts.window.map(|w| (w, &starts[..])));
        let frames = load_frames(&clip, &seq)?;
        // The challenge's colours, and another's (the recording's) for the replay.
        let asked = Light::random_sequence_with(&mut rng, TURN_LIGHTS_DRAWN);
        let recorded = Light::random_sequence_with(&mut rng, TURN_LIGHTS_DRAWN);
        // The countdown's frames and colours (none without the study).
        let (phase_frames, phase_asked, phase_recorded) = match opts.countdown {
            None => (vec![], vec![], vec![]),
            Some(c) => {
                let seq: Vec<usize> = match &still_windows {
                    Some(w) => w[phase_rng.gen_range(0..w.len())].clone(),
                    None => {
                        let run = &runs[phase_rng.gen_range(0..runs.len())];
                        let first = phase_rng.gen_range(0..=run.len() - c.span());
                        c.offsets().iter().map(|o| run[first + o]).collect()
                    }
                };
                (
                    load_frames(&clip, &seq)?,
                    lights_for(&mut phase_rng, &c.groups()),
                    lights_for(&mut phase_rng, &c.groups()),
                )
            }
        };
        let lit = |frames: &[(RgbImage, Landmarks5)],
                   light: Option<(f64, &[Light])>,
                   rng: &mut StdRng|
         -> Result<Vec<Vec<u8>>> {
            frames
                .iter()
                .enumerate()
                .map(|(i, (img, lm))| {
                    capture(img, lm, light.map(|(s, l)| (screen(s), l[i])), rng.gen())
                })
                .collect()
        };
        let lights: Vec<Light> = phase_asked.iter().chain(&asked).copied().collect();
        let phase_groups = opts.countdown.map_or(vec![], |c| c.groups());
        let judged = |jpegs: &[Vec<u8>], phase: &[Vec<u8>]| {
            judge(
                analyzer,
                &policy,
                &steps,
                &lights,
                jpegs,
                PhaseFrames {
                    jpegs: phase,
                    groups: &phase_groups,
                },
                !opts.light_over_the_login,
            )
        };
        if t < opts.trials {
            for c in &mut report.genuine {
                let jpegs = lit(&frames, Some((c.strength, &asked)), &mut rng)?;
                let phase = lit(
                    &phase_frames,
                    Some((c.strength, &phase_asked)),
                    &mut phase_rng,
                )?;
                c.genuine.add(&judged(&jpegs, &phase)?);
            }
        }
        if t < opts.attack_trials {
            let jpegs = lit(&frames, Some((REPLAY_STRENGTH, &recorded)), &mut rng)?;
            let phase = lit(
                &phase_frames,
                Some((REPLAY_STRENGTH, &phase_recorded)),
                &mut phase_rng,
            )?;
            report.replay_to_new_challenge.add(&judged(&jpegs, &phase)?);
            let jpegs = lit(&frames, None, &mut rng)?;
            let phase = lit(&phase_frames, None, &mut phase_rng)?;
            report.unlit.add(&judged(&jpegs, &phase)?);
        }
        if (t + 1) % 10 == 0 {
            eprintln!(
                "{}: {} logins, {:.0} s",
                clip.name,
                t + 1,
                start.elapsed().as_secs_f64()
            );
        }
    }
    for c in &mut report.genuine {
        c.genuine.finish(&policy);
    }
    report.replay_to_new_challenge.finish(&policy);
    report.unlit.finish(&policy);
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// The reports as Markdown tables (BPCER per clip × condition, APCER per clip).
pub fn table(report: &Report) -> String {
    let reports = &report.clips;
    let reasons = |t: &Tally| -> String {
        t.refusals
            .iter()
            .map(|(k, v)| format!("{v} `{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = match report.window_frames {
        None => "logins drawn from the whole clip\n\n".to_string(),
        Some(w) => format!("logins drawn from one window of {w} consecutive frames\n\n"),
    };
    if let Some(first) = reports.first() {
        out.push_str("| clip |");
        for c in &first.genuine {
            out.push_str(&format!(" {} ({:.2}) |", c.condition, c.strength));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(first.genuine.len()));
        out.push('\n');
    }
    for r in reports {
        out.push_str(&format!("| {} |", r.clip));
        for c in &r.genuine {
            let g = &c.genuine;
            let why = reasons(g);
            out.push_str(&format!(
                " BPCER {}/{}{} |",
                g.trials - g.accepted,
                g.trials,
                if why.is_empty() {
                    String::new()
                } else {
                    format!(" ({why})")
                }
            ));
        }
        out.push('\n');
    }
    out.push_str("\n| clip | replay to a new challenge | unlit (made before) |\n|---|---|---|\n");
    for r in reports {
        let a = |t: &Tally| {
            format!(
                "APCER {}/{} ({}; correlation max {:.2})",
                t.accepted,
                t.trials,
                reasons(t),
                t.correlation_min_p5_median_max[3]
            )
        };
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            r.clip,
            a(&r.replay_to_new_challenge),
            a(&r.unlit)
        ));
    }
    out.push_str("\nlight measures of the logins that passed the liveness checks (correlation / response min, p5, median; face-minus-border colour spread median, p95; dark-tone share median, p95, max; correlation of the light phase's frames alone and of the turns' alone, min, p5, median):\n");
    for r in reports {
        let m = |t: &Tally| {
            let (c, s, v, d, p) = (
                t.correlation_min_p5_median_max,
                t.response_min_p5_median_max,
                t.colour_spread_median_p95,
                t.dark_share_median_p95_max,
                t.phase_turns_correlation_min_p5_median,
            );
            format!(
                "{}: corr {:.2}/{:.2}/{:.2} resp {:.3}/{:.3}/{:.3} spread {:.3}/{:.3} dark {:.2}/{:.2}/{:.2} phase corr {:.2}/{:.2}/{:.2} turns corr {:.2}/{:.2}/{:.2}",
                t.reached_light, c[0], c[1], c[2], s[0], s[1], s[2], v[0], v[1], d[0], d[1], d[2],
                p[0][0], p[0][1], p[0][2], p[1][0], p[1][1], p[1][2]
            )
        };
        out.push_str(&format!("{}\n", r.clip));
        for c in &r.genuine {
            out.push_str(&format!("  genuine {:.2}  {}\n", c.strength, m(&c.genuine)));
            let sweep = |v: &[(f64, usize)]| {
                v.iter()
                    .map(|(t, n)| format!("{t}:{n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            out.push_str(&format!(
                "    accepted at correlation {}; at response {}; at the turns' correlation {}\n",
                sweep(&c.genuine.accepted_at_correlation),
                sweep(&c.genuine.accepted_at_response),
                sweep(&c.genuine.accepted_at_turns_correlation)
            ));
        }
        out.push_str(&format!(
            "  replay        {}\n",
            m(&r.replay_to_new_challenge)
        ));
        out.push_str(&format!("  unlit         {}\n", m(&r.unlit)));
    }
    out.push_str(&format!(
        "chance replay per attempt ({} pairs): {}\n",
        report.chance_pairs,
        report
            .chance_replay_at_correlation
            .iter()
            .map(|(c, f)| format!("{c}: {f:.5}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out
}

/// How far a clip's face colour (face minus border, [`FrameColour`]'s centred log-ratios,
/// as the light check reads it) wanders unlit between two frames `lag` frames apart: the
/// RMS over channels and frame pairs of the change, over √2 (one frame's share).
#[derive(Debug, Serialize)]
pub struct Wander {
    pub clip: String,
    pub frames_with_a_face: usize,
    /// Median eye distance in pixels.
    pub eye_distance: f64,
    /// `None` where the clip has no two frames that far apart.
    pub by_lag: Vec<(usize, Option<f64>)>,
    /// The same over the frame pairs where the head held still: its eyes' midpoint moved
    /// at most [`STILL_MOVE`] eye distances (a person looking at the screen through a
    /// countdown), with the share of the lag's pairs that did.
    pub still_by_lag: Vec<(usize, Option<f64>, f64)>,
}

/// Most the eyes' midpoint moves, in eye distances, between two frames of a head held
/// still ([`Wander::still_by_lag`]): about a centimetre.
pub const STILL_MOVE: f64 = 0.15;

/// Lags [`Wander`] is measured at, in clip frames.
pub const WANDER_LAGS: [usize; 7] = [1, 2, 3, 4, 8, 16, 32];

/// Where a frame's eyes are: their midpoint and their distance.
type EyesAt = ([f64; 2], f64);

/// [`Wander`] of the clip at `dir`, every frame analysed unlit.
pub fn wander(analyzer: &dyn FaceAnalyzer, dir: &Path) -> Result<Wander> {
    let policy = LivenessPolicy::default();
    let clip = Clip::load(analyzer, dir, &policy)?;
    // Per frame: face minus border, and where the eyes are (midpoint, distance).
    let mut by_frame = BTreeMap::new();
    let mut eyes = vec![];
    for f in &clip.faces {
        let (face, border) = (log_colour(f.face.skin_rgb), log_colour(f.border));
        let lm = Landmarks5(f.face.landmarks);
        let at = (lm.eye_mid(), lm.eye_distance());
        by_frame.insert(f.frame, ([0, 1, 2].map(|k| face[k] - border[k]), at));
        eyes.push(lm.eye_distance());
    }
    eyes.sort_by(f64::total_cmp);
    // RMS per frame over the pairs `lag` apart that `keep` takes, and the share it took.
    let rms = |lag: usize, keep: &dyn Fn(&EyesAt, &EyesAt) -> bool| {
        let (mut ss, mut n, mut all) = (0.0, 0usize, 0usize);
        for (frame, (d, a)) in &by_frame {
            if let Some((e, b)) = by_frame.get(&(frame + lag)) {
                all += 1;
                if keep(a, b) {
                    ss += (0..3).map(|k| (e[k] - d[k]).powi(2)).sum::<f64>();
                    n += 1;
                }
            }
        }
        let share = n as f64 / all.max(1) as f64;
        ((n > 0).then(|| (ss / n as f64 / 2.0).sqrt()), share)
    };
    let still =
        |(a, da): &EyesAt, (b, _): &EyesAt| (a[0] - b[0]).hypot(a[1] - b[1]) <= STILL_MOVE * da;
    Ok(Wander {
        clip: clip.name,
        frames_with_a_face: clip.faces.len(),
        eye_distance: eyes.get(eyes.len() / 2).copied().unwrap_or(0.0),
        by_lag: WANDER_LAGS
            .iter()
            .map(|&lag| (lag, rms(lag, &|_, _| true).0))
            .collect(),
        still_by_lag: WANDER_LAGS
            .iter()
            .map(|&lag| {
                let (v, share) = rms(lag, &still);
                (lag, v, share)
            })
            .collect(),
    })
}
