//! The screen-light check against attack species, measured: APCER per species (attacks
//! accepted / trials) and BPCER on genuine sequences by lighting condition.
//!
//! Each subject's head turn and nod (the page's 22-frame sequence for three steps: the
//! light phase's 9 still frames, then 13 for left, up, right) is rendered from
//! one public-domain photo and analysed once by the real pipeline (boxes, landmarks);
//! each trial then lights those frames as the species would be lit, runs them through a
//! simulated webcam (exposure hunting, sensor noise), measures the face's, the border's and
//! the lower face's tones' colours with the pipeline's own functions, and asks `LightPolicy` (the shipped thresholds)
//! whether they follow a fresh challenge's colours. Seeded: every run measures the same.
//!
//! What is *not* here: flat prints and warps (the turn check's job, tests/service/tests/
//! liveness_frr.rs — a print near the screen reflects its light like a face does), and
//! frames rendered for this very challenge and injected (nothing here can stop those).

use faceid_core::face::{DetectorKind, FaceAnalyzer};
use faceid_core::liveness::LivenessPolicy;
use faceid_core::screen_light::{FrameColour, Light, LightPolicy, LightReport, PoseGroup};
use faceid_core::Turn;
use faceid_embedding::pipeline::{border_rgb, lower_face_tones, skin_rgb};
use faceid_service_tests::{framed_face, pipeline, ATTACK_SUBJECTS};
use faceid_testkit::{glass_reflection, Camera, HeadModel, HeadPose, Landmarks5, ScreenLight};
use image::RgbImage;
use rand::{rngs::StdRng, Rng, SeedableRng};

/// A subject's rendered turn: each frame, its projected landmarks and the detected box.
struct Turning {
    frames: Vec<(RgbImage, Landmarks5, Option<[i64; 4]>)>,
    /// Each frame's group: the light phase's, or its pose as the shipped turn check reads
    /// it (the light is judged within each group, as `authenticate` does).
    poses: Vec<PoseGroup>,
}

fn turning(image: &str, reference: &str) -> Turning {
    let (photo, lm) = framed_face(image, reference);
    let head = HeadModel::new(&lm, Default::default()).unwrap();
    let p = pipeline();
    // The page's plan for three steps: the light phase's still frames, frontal, then each
    // step's 3 frames (the first on the way there) and a frontal one.
    let (s, l, u, r) = (
        HeadPose::default(),
        HeadPose::yaw,
        HeadPose::pitch,
        |d: f64| HeadPose::yaw(-d),
    );
    let phase = LightPolicy::default().phase_frames;
    let turns = [
        s,
        l(20.0),
        l(30.0),
        l(30.0),
        s,
        u(13.0),
        u(20.0),
        u(20.0),
        s,
        r(20.0),
        r(28.0),
        r(28.0),
        s,
    ];
    let (frames, faces): (Vec<_>, Vec<_>) = std::iter::repeat_n(&s, phase)
        .chain(&turns)
        .map(|&y| {
            let frame = head.render_pose(&photo, y);
            let mut png = std::io::Cursor::new(Vec::new());
            frame.write_to(&mut png, image::ImageFormat::Png).unwrap();
            let faces = p.analyze(png.get_ref(), DetectorKind::Hog).unwrap().faces;
            let rect = match faces.as_slice() {
                [one] => Some(one.rect),
                _ => None,
            };
            ((frame, head.project_landmarks_pose(&lm, y), rect), faces)
        })
        .unzip();
    let read = LivenessPolicy::default().evaluate_phased(
        &[Turn::Left, Turn::Up, Turn::Right],
        phase,
        &faces,
    );
    Turning {
        frames,
        poses: PoseGroup::of_login(phase, &read.poses),
    }
}

/// How the frames of one trial were lit.
#[derive(Clone, Copy)]
enum Lit {
    /// By these colours, through the screen's light on a real face.
    Face(ScreenLight),
    /// Not at all (a video made before the challenge existed).
    Unlit,
    /// A recording lit by its own colours, shown on a screen that the page's light then
    /// falls on evenly (face and background alike).
    OnAScreen,
    /// A video made before the challenge, shown on a screen whose glass (or matte
    /// coating) reflects the page's colours: light *added* to the picture, the same on
    /// face and background. The attacker darkens the face (to 0.5–1 of its level) and
    /// paints the background bright (180–245 grey) in half the trials, so the added light
    /// changes the face's colour more than the background's; reflected 1–8 % of the
    /// page's full colour (in light, as much as the picture's white sends). Drawn per
    /// trial from its seed. `in_view`: the screen held inside the camera's view, just
    /// covering the head, the room around it (a far wall, lit by the page as the room
    /// behind a real face is) as the border.
    OnGlass { in_view: bool },
    /// A recording of an accepted login (lit by its own colours) shown on a glossy
    /// screen as a display shows it: its own tone curve and black level, moiré where its
    /// pixel grid beats with the camera's, and its glass reflecting the page's colours
    /// (1–8 %, added in light). Drawn per trial from its seed.
    ReplayOnGlossyScreen,
    /// The person's picture held up to the screen through the countdown (lit by the
    /// page's colours as a face is: a matte print reflects diffusely, in proportion to its
    /// albedo), then a video made before the challenge for the turns (unlit).
    PictureThenVideo,
}

/// `frame` as a screen shows it under the page's colour `rgb` ([`Lit::OnGlass`]).
fn on_glass(frame: &RgbImage, lm: &Landmarks5, rgb: [u8; 3], seed: u64, in_view: bool) -> RgbImage {
    let mut rng = StdRng::seed_from_u64(seed);
    let face_gain = rng.gen_range(0.5..1.0);
    let background = rng.gen_bool(0.5).then(|| rng.gen_range(180.0..245.0));
    let reflected = rng.gen_range(0.01..0.08);
    let (centre, radius) = (lm.eye_mid(), 2.2 * lm.eye_distance());
    let room = ScreenLight {
        strength: 0.3,
        ..ScreenLight::default()
    };
    let mut out = frame.clone();
    for (x, y, p) in out.enumerate_pixels_mut() {
        let (dx, dy) = (f64::from(x) - centre[0], f64::from(y) - centre[1]);
        let head = dx.hypot(dy * 0.75) <= radius;
        for (v, c) in p.0.iter_mut().zip(rgb) {
            if in_view && !head {
                // The room around the screen: a far wall taking the page's light.
                *v = room.on_background(*v, c);
                continue;
            }
            let shown = match (head, background) {
                (true, _) => f64::from(*v) * face_gain,
                (false, Some(level)) => level,
                (false, None) => f64::from(*v),
            };
            *v = glass_reflection(shown, c, reflected)
                .round()
                .clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// `frame` (a recording, its own light baked in) as a display shows it under the page's
/// colour `rgb` ([`Lit::ReplayOnGlossyScreen`]).
fn on_a_glossy_screen(frame: &RgbImage, rgb: [u8; 3], seed: u64) -> RgbImage {
    let mut rng = StdRng::seed_from_u64(seed);
    // The display's tone curve against sRGB's, its black level and contrast.
    let (curve, black, contrast) = (
        rng.gen_range(0.8..1.25),
        rng.gen_range(2.0..14.0),
        rng.gen_range(0.85..1.0),
    );
    // Moiré: a beat between the two pixel grids, a few grey levels over a few pixels.
    let (amplitude, period, angle, phase) = (
        rng.gen_range(2.0..8.0),
        rng.gen_range(3.0..10.0),
        rng.gen_range(0.0..std::f64::consts::PI),
        rng.gen_range(0.0..std::f64::consts::TAU),
    );
    let reflected = rng.gen_range(0.01..0.08);
    // Tables, as the display's own are: what it shows for each value it is sent (8 bits),
    // and what the camera then sees of each shown value with the glass's reflection added.
    let tone: [f64; 256] =
        std::array::from_fn(|v| black + contrast * 255.0 * (v as f64 / 255.0).powf(curve));
    let seen: [[u8; 256]; 3] = std::array::from_fn(|k| {
        std::array::from_fn(|v| {
            glass_reflection(v as f64, rgb[k], reflected)
                .round()
                .clamp(0.0, 255.0) as u8
        })
    });
    let mut out = frame.clone();
    for (x, y, p) in out.enumerate_pixels_mut() {
        let along = f64::from(x) * angle.cos() + f64::from(y) * angle.sin();
        let beat = amplitude * (std::f64::consts::TAU * along / period + phase).sin();
        for (k, v) in p.0.iter_mut().enumerate() {
            let shown = (tone[usize::from(*v)] + beat).round().clamp(0.0, 255.0) as usize;
            *v = seen[k][shown];
        }
    }
    out
}

fn colours(
    t: &Turning,
    lit: Lit,
    recorded: &[Light],
    shown: &[Light],
    camera: Camera,
    seed: u64,
) -> Vec<Option<FrameColour>> {
    t.frames
        .iter()
        .zip(&t.poses)
        .enumerate()
        .map(|(i, ((frame, lm, rect), &group))| {
            let rect = (*rect)?;
            let lit_frame = match lit {
                Lit::Face(light) => light.apply(frame, lm, recorded[i].rgb()),
                Lit::Unlit => frame.clone(),
                Lit::OnAScreen => {
                    let baked = ScreenLight::default().apply(frame, lm, recorded[i].rgb());
                    let even = ScreenLight {
                        background: 1.0,
                        ..ScreenLight::default()
                    };
                    even.apply(&baked, lm, shown[i].rgb())
                }
                // One screen for the whole login: its settings drawn from the trial's seed.
                Lit::OnGlass { in_view } => on_glass(frame, lm, shown[i].rgb(), seed, in_view),
                Lit::ReplayOnGlossyScreen => {
                    let recording = ScreenLight::default().apply(frame, lm, recorded[i].rgb());
                    on_a_glossy_screen(&recording, shown[i].rgb(), seed)
                }
                Lit::PictureThenVideo => match group {
                    PoseGroup::Phase(_) => ScreenLight::default().apply(frame, lm, shown[i].rgb()),
                    PoseGroup::Pose(_) => frame.clone(),
                },
            };
            let seen = camera.expose(&lit_frame, seed.wrapping_add(i as u64));
            let (border, border_clipped) = border_rgb(&seen);
            Some(FrameColour {
                face: skin_rgb(&seen, rect),
                tones: lower_face_tones(&seen, &lm.0),
                border,
                border_clipped,
                group,
                at: Some({
                    let (m, d) = (lm.eye_mid(), lm.eye_distance());
                    [m[0], m[1], d]
                }),
            })
        })
        .collect()
}

/// The ranges over trials of the border's response to the colours as a share of the
/// face's (bound: `LightPolicy::max_border_share`), of the lower face's dark-tone share
/// of the light (`max_dark_share`) and of the turns' own correlation.
#[derive(Default)]
struct Shares {
    border: Vec<f64>,
    dark: Vec<f64>,
    /// The correlation over the turns' frames alone (bound: `min_turns_correlation`).
    turns: Vec<f64>,
}

impl Shares {
    fn add(&mut self, r: &LightReport) {
        let on_face = (r.response + r.border_response).abs().max(1e-9);
        self.border.push(r.border_response / on_face);
        self.dark.push(r.dark_share);
        self.turns.push(r.turns_correlation);
    }
}

impl std::fmt::Display for Shares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let range = |v: &[f64]| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{lo:.2}–{hi:.2}")
        };
        write!(
            f,
            "border share {}, dark-tone share {}, turns' correlation {}",
            range(&self.border),
            range(&self.dark),
            range(&self.turns)
        )
    }
}

struct Species {
    name: &'static str,
    genuine: bool,
    lit: Lit,
    /// The frames carry the recording's colours, not the challenge's.
    replayed: bool,
}

#[test]
fn screen_light_apcer_per_species_and_bpcer_by_condition() {
    let turns: Vec<Turning> = ATTACK_SUBJECTS.iter().map(|(i, r)| turning(i, r)).collect();
    let light = |strength| {
        Lit::Face(ScreenLight {
            strength,
            ..ScreenLight::default()
        })
    };
    let species = [
        Species {
            name: "genuine, dim room (screen 0.30 of ambient)",
            genuine: true,
            lit: light(0.30),
            replayed: false,
        },
        Species {
            name: "genuine, office (0.15)",
            genuine: true,
            lit: light(0.15),
            replayed: false,
        },
        Species {
            name: "genuine, bright room (0.08)",
            genuine: true,
            lit: light(0.08),
            replayed: false,
        },
        Species {
            name: "genuine, daylight (0.04)",
            genuine: true,
            lit: light(0.04),
            replayed: false,
        },
        Species {
            name: "genuine, direct sunlight (0.02)",
            genuine: true,
            lit: light(0.02),
            replayed: false,
        },
        Species {
            name: "replay of an accepted login to a new challenge",
            genuine: false,
            lit: light(0.30),
            replayed: true,
        },
        Species {
            name: "video made before the challenge (recording, one-photo animation)",
            genuine: false,
            lit: Lit::Unlit,
            replayed: true,
        },
        Species {
            name: "recorded login re-displayed on a screen",
            genuine: false,
            lit: Lit::OnAScreen,
            replayed: true,
        },
        Species {
            name:
                "video made before the challenge, on a screen whose glass reflects the page's light",
            genuine: false,
            lit: Lit::OnGlass { in_view: false },
            replayed: true,
        },
        Species {
            name: "the same, the screen held inside the view with the room around it",
            genuine: false,
            lit: Lit::OnGlass { in_view: true },
            replayed: true,
        },
        Species {
            name: "the person's picture lit through the countdown, then a video made before for the turns",
            genuine: false,
            lit: Lit::PictureThenVideo,
            replayed: false,
        },
        // Added last, so that the species before it keep their draws (and figures).
        Species {
            name: "recorded login re-displayed on a glossy screen (tone curve, black level, moiré, reflection)",
            genuine: false,
            lit: Lit::ReplayOnGlossyScreen,
            replayed: true,
        },
    ];
    let camera = Camera {
        gain_jitter: 0.05,
        noise: 3.0,
    };
    let policy = LightPolicy::default();
    let trials_per_subject = 12; // 60 per species
    let mut rng = StdRng::seed_from_u64(20261203);
    let mut table = vec![];
    for (k, s) in species.iter().enumerate() {
        let (mut accepted, mut trials) = (0, 0);
        // What the policy without the turns' own bound would have accepted.
        let mut accepted_before = 0;
        let before = LightPolicy {
            min_turns_correlation: f64::NEG_INFINITY,
            ..policy
        };
        let mut refusals = std::collections::BTreeMap::<&str, usize>::new();
        let mut shares = Shares::default();
        for (j, t) in turns.iter().enumerate() {
            for trial in 0..trials_per_subject {
                let asked = Light::random_sequence_with(&mut rng, t.frames.len());
                let recorded = if s.replayed {
                    Light::random_sequence_with(&mut rng, t.frames.len())
                } else {
                    asked.clone()
                };
                let seed = (k * 10_000 + j * 100 + trial) as u64;
                let c = colours(t, s.lit, &recorded, &asked, camera, seed);
                trials += 1;
                let report = policy.evaluate(&asked, &c);
                accepted_before += usize::from(before.evaluate(&asked, &c).failure.is_none());
                shares.add(&report);
                match report.failure {
                    None => accepted += 1,
                    Some(f) => *refusals.entry(f.code()).or_default() += 1,
                }
            }
        }
        table.push((s, accepted, trials, refusals, shares, accepted_before));
    }
    println!("screen light, {policy:?}, camera {camera:?}:");
    for (s, accepted, trials, refusals, shares, before) in &table {
        let name = s.name;
        if s.genuine {
            println!(
                "  BPCER {:>3}/{trials}  {name}  {refusals:?}",
                trials - accepted
            );
        } else {
            println!("  APCER {accepted:>3}/{trials}  {name}  {refusals:?}");
        }
        println!("        {shares}; without the turns' own bound {before} accepted");
    }
    for (s, accepted, trials, ..) in &table {
        assert!(*trials >= 50, "{}: {trials} trials", s.name);
        if !s.genuine {
            assert_eq!(
                *accepted, 0,
                "{}: {accepted} of {trials} attacks accepted",
                s.name
            );
        }
    }
    // The turns' own bound is what keeps the picture-then-video species out.
    let picture = table
        .iter()
        .find(|t| matches!(t.0.lit, Lit::PictureThenVideo))
        .expect("species");
    assert!(picture.5 > 0, "without the turns' bound none passed");
    // The goal (1 − BPCER ≥ 95 %) where the screen's light is at least a sixth of the room's.
    for (s, accepted, trials, ..) in table.iter().take(2) {
        assert!(
            *accepted * 100 >= trials * 95,
            "{}: only {accepted} of {trials} genuine accepted",
            s.name
        );
    }
}
