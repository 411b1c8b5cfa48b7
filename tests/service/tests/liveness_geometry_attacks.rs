//! The turn check against flat and 2-D attacks, measured: APCER per species (attacks
//! accepted / trials) next to BPCER on genuine renders made the same way.
//!
//! Every trial is a fresh challenge drawn as the server draws them by default
//! (left–right–left or right–left–right; with `FACEID_SUITE_NODS=1` one of the 72 with
//! an up or down, as `FACEID_CHALLENGE_NODS=true` draws them; random screen colours). The
//! attacker knows the steps and makes the page's 13 frames to fake them as well as the
//! species allows; the frames are lit by the challenge's colours where the species physically
//! would be (a print held in front of the screen reflects its light as a face does), run
//! through a simulated webcam, JPEG-encoded and analysed by the real pipeline, then judged
//! by the shipped `LivenessPolicy` and `LightPolicy`. Two columns:
//! - *turn check*: the frames lit as a face is (the attacker's best case: this is what
//!   frames injected through a virtual camera could look like);
//! - *as presented*: prints in front of the screen (lit like a face), warps and animations
//!   on a second screen (the page's light falls on it evenly, see liveness_attacks.rs).
//!
//! Seeded: every run measures the same. `FACEID_ATTACK_ONLY=0,4` runs only those species
//! (indices into `SPECIES`), `FACEID_ATTACK_TRIALS` sets the trials per subject (10). The figures are in the README's Liveness section.

use faceid_core::capture::CapturePlan;
use faceid_core::face::{DetectorKind, FaceAnalyzer, FaceObservation};
use faceid_core::liveness::LivenessPolicy;
use faceid_core::screen_light::{FrameColour, Light, LightPolicy, LightReport, PoseGroup};
use faceid_core::ChallengeSteps;
use faceid_core::Turn;
use faceid_embedding::pipeline::{border_rgb, lower_face_tones, skin_rgb};
use faceid_service_tests::{framed_face, pipeline, ATTACK_SUBJECTS};
use faceid_testkit::{
    Bend, BentPrint, Camera, HeadModel, HeadPose, Homography, Landmarks5, PrintPose, ScreenLight,
    ThinPlate,
};
use image::RgbImage;
use rand::{rngs::StdRng, Rng, SeedableRng};

/// One trial's frames, each with where the face's landmarks are (for lighting it).
type Frames = Vec<(RgbImage, Landmarks5)>;

struct Subject {
    photo: RgbImage,
    landmarks: Landmarks5,
    head: HeadModel,
}

/// Where a frame of the page's plan stands: straight ahead, or `amount` (0–1) of the way
/// into the asked turn or nod.
#[derive(Clone, Copy)]
enum Pose {
    Straight,
    Turned(Turn, f64),
}

/// The page's plan (`CapturePlan`, 16 frames at most): frontal, then per step its turned
/// frames and a frontal one. With 3 per step the first comes 900 ms after the prompt,
/// the head two thirds of the way there; with 2 (four steps) they come at 1.3 and 1.7 s.
fn plan(steps: &[Turn]) -> Vec<Pose> {
    let per_step = CapturePlan::new(steps.len(), 0, 16).turned_per_step;
    let amounts: &[f64] = match per_step {
        3 => &[0.67, 1.0, 1.0],
        2 => &[1.0, 1.0],
        _ => &[1.0],
    };
    let mut out = vec![Pose::Straight];
    for &t in steps {
        out.extend(amounts.iter().map(|&a| Pose::Turned(t, a)));
        out.push(Pose::Straight);
    }
    out
}

/// The sign of the server's measure for a step: yaw for a turn (Turn::Left: nose toward
/// the image's right), pitch for a nod (Turn::Up: positive, the testkit's looking up).
fn sign(t: Turn) -> f64 {
    match t {
        Turn::Left | Turn::Up => 1.0,
        Turn::Right | Turn::Down => -1.0,
    }
}

/// The head pose of a genuine frame `amount` of the way into step `t`.
fn head_pose(t: Turn, amount: f64, yaw: f64, nod: f64) -> HeadPose {
    if t.is_vertical() {
        HeadPose::pitch(sign(t) * amount * nod)
    } else {
        HeadPose::yaw(sign(t) * amount * yaw)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Presented {
    /// A face or a print in front of the page's screen: lit like a face.
    InFrontOfTheScreen,
    /// Shown on another screen held to the camera: the page's light falls on it evenly.
    OnAScreen,
}

struct Species {
    name: &'static str,
    genuine: bool,
    presented: Presented,
    /// Attacks accepted as presented that the test tolerates: 0 for every species today
    /// (kept per species so that a known limit can be written down as a measured figure).
    max_accepted: usize,
    /// Makes one trial's frames (and where the face's landmarks are in each, for lighting).
    make: fn(&Subject, &[Pose], &mut StdRng) -> Frames,
}

fn genuine(s: &Subject, plan: &[Pose], rng: &mut StdRng) -> Frames {
    let amplitude = rng.gen_range(25.0..40.0);
    let nod = rng.gen_range(NOD_DEG.0..NOD_DEG.1);
    plan.iter()
        .map(|p| {
            let pose = match *p {
                Pose::Straight => HeadPose::default(),
                Pose::Turned(t, a) => head_pose(t, a, amplitude, nod),
            };
            (
                s.head.render_pose(&s.photo, pose),
                s.head.project_landmarks_pose(&s.landmarks, pose),
            )
        })
        .collect()
}

/// How far genuine renders nod up or down, degrees: the rendered face's descriptor drifts
/// faster with a nod than with a turn (0.30–0.39 from the straight frame at 15° up, up to
/// 0.62 at 25°, against the same-person bound 0.5), so 15–22°.
const NOD_DEG: (f64, f64) = (15.0, 22.0);

/// Small hand movement: a few pixels, a degree or two, a percent of scale.
fn jitter(s: &Subject, rng: &mut StdRng) -> Homography {
    let (sin, cos) = rng.gen_range(-2.0f64..2.0).to_radians().sin_cos();
    let k = rng.gen_range(0.98..1.02);
    Homography::affine(
        [[k * cos, -k * sin], [k * sin, k * cos]],
        s.landmarks.eye_mid(),
        [rng.gen_range(-4.0..4.0), rng.gen_range(-4.0..4.0)],
    )
}

fn warped(s: &Subject, h: &Homography) -> (RgbImage, Landmarks5) {
    (h.render(&s.photo), h.project_landmarks(&s.landmarks))
}

fn still_photo(s: &Subject, plan: &[Pose], rng: &mut StdRng) -> Frames {
    plan.iter().map(|_| warped(s, &jitter(s, rng))).collect()
}

/// The pose among `candidates` (each with where it puts the landmarks) that fakes the
/// asked step best by the server's own measures, as an attacker with a landmark detector
/// would pick it: for a turn, the nose's offset and the far eye's foreshortening (in yaw
/// units, 1.6 per unit as on a head), whichever is the weaker; for a nod, the change of
/// the nose's drop below the eyes.
fn best_for<T: Copy>(s: &Subject, turn: Turn, candidates: &[(T, Landmarks5)]) -> T {
    let base = s.landmarks.eye_width_log_ratio();
    let drop = s.landmarks.nose_drop();
    let score = |l: &Landmarks5| {
        if turn.is_vertical() {
            // Up: a shorter drop (sign +1); down: a longer one.
            return sign(turn) * (1.0 - l.nose_drop() / drop);
        }
        let nose = sign(turn) * l.yaw_ratio();
        let eyes = sign(turn) * (l.eye_width_log_ratio() - base) / 1.6;
        nose.min(eyes)
    };
    candidates
        .iter()
        .max_by(|a, b| score(&a.1).total_cmp(&score(&b.1)))
        .expect("candidates")
        .0
}

/// A print turned (and tilted) near or far from the camera; `max_roll` > 0 also rolls it
/// in its plane, which shears the face and moves the nose off the eye midpoint. For a nod
/// it is tilted back or forward 20–45° (whichever fakes the asked way better).
fn print(s: &Subject, plan: &[Pose], rng: &mut StdRng, max_roll: f64) -> Frames {
    let yaw = rng.gen_range(30.0..60.0);
    let distance = [450.0, 700.0, 3000.0][rng.gen_range(0..3)];
    let pitch = rng.gen_range(-10.0..10.0);
    let tilt = rng.gen_range(20.0..45.0);
    let roll = rng.gen_range(max_roll * 0.25..=max_roll);
    let pivot = s.landmarks.eye_mid();
    plan.iter()
        .map(|p| match *p {
            Pose::Straight => warped(s, &jitter(s, rng)),
            Pose::Turned(t, a) if t.is_vertical() => {
                let candidates: Vec<(Homography, Landmarks5)> = [1.0, -1.0]
                    .iter()
                    .map(|ps| {
                        let pose = PrintPose {
                            roll_deg: 0.0,
                            yaw_deg: 0.0,
                            pitch_deg: ps * a * tilt,
                            distance,
                        };
                        let h = Homography::print(pose, pivot);
                        (h, h.project_landmarks(&s.landmarks))
                    })
                    .collect();
                warped(s, &best_for(s, t, &candidates))
            }
            Pose::Turned(t, a) => {
                let candidates: Vec<(Homography, Landmarks5)> =
                    [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)]
                        .iter()
                        .map(|(ys, rs)| {
                            let pose = PrintPose {
                                roll_deg: rs * a * roll,
                                yaw_deg: ys * a * yaw,
                                pitch_deg: a * pitch,
                                distance,
                            };
                            let h = Homography::print(pose, pivot);
                            (h, h.project_landmarks(&s.landmarks))
                        })
                        .collect();
                warped(s, &best_for(s, t, &candidates))
            }
        })
        .collect()
}

/// A print bent around a line through the nose (`bend` with its axis `axis_deg` from
/// vertical), convex like a face, held straight with hand jitter, then turned 25–55° (and
/// tilted) near or far, whichever way fakes the asked turn better; for a nod, tilted back
/// or forward 20–45°.
fn bent(s: &Subject, plan: &[Pose], rng: &mut StdRng, bend: Bend, axis_deg: f64) -> Frames {
    let yaw = rng.gen_range(25.0..55.0);
    let distance = [450.0, 700.0, 3000.0][rng.gen_range(0..3)];
    let pitch = rng.gen_range(-10.0..10.0);
    let tilt = rng.gen_range(20.0..45.0);
    let pivot = [s.landmarks.eye_mid()[0], s.landmarks.0[4][1]];
    let held = |yaw_deg: f64, pitch_deg: f64, roll_deg: f64| BentPrint {
        bend,
        axis_deg,
        pose: PrintPose {
            roll_deg,
            yaw_deg,
            pitch_deg,
            distance,
        },
        pivot,
    };
    let frame = |b: BentPrint| (b.render(&s.photo), b.project_landmarks(&s.landmarks));
    plan.iter()
        .map(|p| match *p {
            Pose::Straight => frame(held(
                rng.gen_range(-2.0..2.0),
                rng.gen_range(-2.0..2.0),
                rng.gen_range(-2.0..2.0),
            )),
            Pose::Turned(t, a) => {
                let candidates: Vec<(BentPrint, Landmarks5)> = [1.0, -1.0]
                    .iter()
                    .map(|sign| {
                        let b = if t.is_vertical() {
                            held(0.0, sign * a * tilt, 0.0)
                        } else {
                            held(sign * a * yaw, a * pitch, 0.0)
                        };
                        (b, b.project_landmarks(&s.landmarks))
                    })
                    .collect();
                frame(best_for(s, t, &candidates))
            }
        })
        .collect()
}

/// Around a cylinder (radius 0.7–1.6 eye distances: a face is about 1.3, a tighter bend
/// moves the nose more) with a vertical axis through the nose.
fn bent_print(s: &Subject, plan: &[Pose], rng: &mut StdRng) -> Frames {
    let radius = rng.gen_range(0.7..1.6) * s.landmarks.eye_distance();
    bent(s, plan, rng, Bend::Cylinder { radius }, 0.0)
}

/// The same cylinder with its axis tilted 10–45° either way from vertical.
fn bent_tilted(s: &Subject, plan: &[Pose], rng: &mut StdRng) -> Frames {
    let radius = rng.gen_range(0.7..1.6) * s.landmarks.eye_distance();
    let axis = rng.gen_range(10.0..45.0) * if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
    bent(s, plan, rng, Bend::Cylinder { radius }, axis)
}

/// The same cylinder around a horizontal line through the nose.
fn bent_across(s: &Subject, plan: &[Pose], rng: &mut StdRng) -> Frames {
    let radius = rng.gen_range(0.7..1.6) * s.landmarks.eye_distance();
    bent(s, plan, rng, Bend::Cylinder { radius }, 90.0)
}

/// Folded along the nose line into a V, each half turned back 15–40°.
fn folded(s: &Subject, plan: &[Pose], rng: &mut StdRng) -> Frames {
    let angle_deg = rng.gen_range(15.0..40.0);
    bent(s, plan, rng, Bend::Fold { angle_deg }, 0.0)
}

fn print_straight(s: &Subject, plan: &[Pose], rng: &mut StdRng) -> Frames {
    print(s, plan, rng, 0.0)
}

fn print_rolled(s: &Subject, plan: &[Pose], rng: &mut StdRng) -> Frames {
    print(s, plan, rng, 45.0)
}

/// A shear about the eye line that moves the nose sideways by the asked yaw, sometimes
/// with the face narrowed as a turn would (and a roll); for a nod, the face squashed or
/// stretched below the eye line by the asked change of the nose's drop.
fn affine_warp(s: &Subject, plan: &[Pose], rng: &mut StdRng) -> Frames {
    let target = rng.gen_range(0.15..0.35);
    let nod = rng.gen_range(0.15..0.3);
    let narrow = rng.gen_bool(0.5);
    let roll = rng.gen_range(-20.0f64..20.0).to_radians();
    let pivot = s.landmarks.eye_mid();
    plan.iter()
        .map(|p| match *p {
            Pose::Straight => warped(s, &jitter(s, rng)),
            Pose::Turned(t, a) if t.is_vertical() => {
                // Up (sign +1) shortens the drop.
                let k = 1.0 - sign(t) * a * nod;
                warped(
                    s,
                    &Homography::affine([[1.0, 0.0], [0.0, k]], pivot, [0.0, 0.0]),
                )
            }
            Pose::Turned(t, a) => {
                let want = sign(t) * a * target;
                let c = if narrow {
                    (1.0 - (2.0 * want).powi(2)).max(0.5).sqrt()
                } else {
                    1.0
                };
                let (sin, cos) = (a * roll).sin_cos();
                let at = |k: f64| {
                    let m = [[c, k], [0.0, 1.0]];
                    let r = [[cos, -sin], [sin, cos]];
                    let rm = [
                        [
                            r[0][0] * m[0][0] + r[0][1] * m[1][0],
                            r[0][0] * m[0][1] + r[0][1] * m[1][1],
                        ],
                        [
                            r[1][0] * m[0][0] + r[1][1] * m[1][0],
                            r[1][0] * m[0][1] + r[1][1] * m[1][1],
                        ],
                    ];
                    Homography::affine(rm, pivot, [0.0, 0.0])
                };
                // The yaw measure is linear in the shear for a fixed narrowing.
                let y0 = at(0.0).project_landmarks(&s.landmarks).yaw_ratio();
                let y1 = at(1.0).project_landmarks(&s.landmarks).yaw_ratio();
                let k = (want - y0) / (y1 - y0);
                warped(s, &at(k))
            }
        })
        .collect()
}

/// One photo animated in 2-D: a thin-plate spline moves the landmarks to where a turned
/// or nodding head's would be (no 3-D model of the face).
fn spline_animation(s: &Subject, plan: &[Pose], rng: &mut StdRng) -> Frames {
    let amplitude = rng.gen_range(25.0..40.0);
    let nod = rng.gen_range(NOD_DEG.0..NOD_DEG.1);
    plan.iter()
        .map(|p| match *p {
            Pose::Straight => warped(s, &jitter(s, rng)),
            Pose::Turned(t, a) => {
                let to = s
                    .head
                    .project_landmarks_pose(&s.landmarks, head_pose(t, a, amplitude, nod));
                let tps = ThinPlate::new(&s.landmarks, &to, 2.2).expect("spline fits");
                (tps.render(&s.photo), to)
            }
        })
        .collect()
}

/// The spline animation, its background painted light grey to white (205–255) around the
/// head: a bright screen background that the camera clips under the page's light, all of
/// it or some pixels, so that it follows the colours less than the face (white: not at
/// all) — what the border bounds of the light check are for.
fn spline_on_white(s: &Subject, plan: &[Pose], rng: &mut StdRng) -> Frames {
    let level: u8 = rng.gen_range(205..=255);
    spline_animation(s, plan, rng)
        .into_iter()
        .map(|(mut frame, lm)| {
            let centre = lm.eye_mid();
            let radius = 2.2 * lm.eye_distance();
            for (x, y, p) in frame.enumerate_pixels_mut() {
                let (dx, dy) = (f64::from(x) - centre[0], f64::from(y) - centre[1]);
                if dx.hypot(dy * 0.75) > radius {
                    p.0 = [level; 3];
                }
            }
            (frame, lm)
        })
        .collect()
}

const SPECIES: [Species; 11] = [
    Species {
        name: "genuine head turn (rendered, 25–40°)",
        genuine: true,
        presented: Presented::InFrontOfTheScreen,
        max_accepted: 0,
        make: genuine,
    },
    Species {
        name: "still photo held to the camera",
        genuine: false,
        presented: Presented::InFrontOfTheScreen,
        max_accepted: 0,
        make: still_photo,
    },
    Species {
        name: "flat print turned 30–60° and tilted, 450/700/3000 px away",
        genuine: false,
        presented: Presented::InFrontOfTheScreen,
        max_accepted: 0,
        make: print_straight,
    },
    Species {
        name: "flat print rolled 11–45° and turned, 450/700/3000 px away",
        genuine: false,
        presented: Presented::InFrontOfTheScreen,
        max_accepted: 0,
        make: print_rolled,
    },
    Species {
        name: "print bent like a face (radius 0.7–1.6 eye distances), turned 25–55°",
        genuine: false,
        presented: Presented::InFrontOfTheScreen,
        // 35/50 passed every check before the ruled-surface check (README, Security).
        max_accepted: 0,
        make: bent_print,
    },
    Species {
        name: "2-D affine/shear warps of one photo",
        genuine: false,
        presented: Presented::OnAScreen,
        max_accepted: 0,
        make: affine_warp,
    },
    Species {
        name: "one photo animated by a landmark-driven spline",
        genuine: false,
        presented: Presented::OnAScreen,
        max_accepted: 0,
        make: spline_animation,
    },
    Species {
        name: "print bent like a face, axis tilted 10–45°, turned 25–55°",
        genuine: false,
        presented: Presented::InFrontOfTheScreen,
        max_accepted: 0,
        make: bent_tilted,
    },
    Species {
        name: "print bent around a horizontal line through the nose, turned 25–55°",
        genuine: false,
        presented: Presented::InFrontOfTheScreen,
        max_accepted: 0,
        make: bent_across,
    },
    Species {
        name: "print folded along the nose line (V, 15–40° a side), turned 25–55°",
        genuine: false,
        presented: Presented::InFrontOfTheScreen,
        max_accepted: 0,
        make: folded,
    },
    Species {
        name: "one photo animated by a spline, background light grey to white (205–255)",
        genuine: false,
        presented: Presented::OnAScreen,
        max_accepted: 0,
        make: spline_on_white,
    },
];

/// One frame's (planned step and how far into it, yaw, eye-width log ratio, eye-line
/// angle, nose drop, eye-corner drop).
type FrameGeometry = ((char, f64), f64, f64, f64, f64, f64);

struct Outcome {
    turn_check: bool,
    as_presented: bool,
    failure: String,
    /// Per frame with a face: (planned step and how far into it, yaw, eye-width log ratio,
    /// eye-line angle in degrees, the nose's drop below the eye line and the inner eye
    /// corners' below the outer ones, in eye distances), for study (`FACEID_ATTACK_DUMP`).
    geometry: Vec<FrameGeometry>,
    /// The parallax measure, where the turn check got that far.
    parallax: Option<f64>,
    /// The challenge's steps, and for each whether the check saw it on the frames
    /// planned for it (a turn on one of them, a nod on `min_pitch_frames`).
    steps: Vec<Turn>,
    registered: Vec<bool>,
    /// The bend along the straightest lines, where the checks before it passed.
    ruled_bend: Option<f64>,
    /// The screen-light check on the frames as presented.
    light: LightReport,
}

fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(img)
        .expect("encode");
    out.into_inner()
}

fn trial(s: &Subject, species: &Species, seed: u64) -> Outcome {
    let mut rng = StdRng::seed_from_u64(seed);
    let kind = match std::env::var("FACEID_SUITE_NODS").as_deref() {
        Ok("1") => ChallengeSteps::TurnsAndNods,
        _ => ChallengeSteps::default(),
    };
    let sequences = kind.sequences();
    let steps = sequences[rng.gen_range(0..sequences.len())].clone();
    // The light phase's still frames (the species presented facing the camera), then the
    // steps' (as the page sends them). The steps' frames and colours are drawn as before
    // the light phase existed, the phase's from a generator of their own (ending on
    // another colour than the steps' first), and each frame's camera noise is seeded by
    // its place among the steps' or the phase's frames: the steps' frames are made, lit
    // and seen exactly as before, so what the phase changes is the phase's doing.
    let phase = LightPolicy::default().phase_frames;
    let mut phase_rng = StdRng::seed_from_u64(seed ^ 0x00c0_ffee);
    let turn_poses = plan(&steps);
    let mut frames = (species.make)(s, &vec![Pose::Straight; phase], &mut phase_rng);
    frames.extend((species.make)(s, &turn_poses, &mut rng));
    let mut poses = vec![Pose::Straight; phase];
    poses.extend(turn_poses);
    let turn_lights = Light::random_sequence_with(&mut rng, frames.len() - phase);
    let phase_lights = loop {
        let l = Light::random_sequence_with(&mut phase_rng, phase);
        if l.last() != turn_lights.first() {
            break l;
        }
    };
    let asked: Vec<Light> = phase_lights.into_iter().chain(turn_lights).collect();
    let face_light = ScreenLight {
        strength: 0.15,
        ..ScreenLight::default()
    };
    let camera = Camera {
        gain_jitter: 0.05,
        noise: 3.0,
    };
    let p = pipeline();
    let liveness = LivenessPolicy::default();
    let mut faces: Vec<Vec<FaceObservation>> = vec![];
    let mut lit_as_face = vec![];
    let mut lit_as_presented = vec![];
    for (i, ((frame, lm), light)) in frames.iter().zip(&asked).enumerate() {
        let noise = match i.checked_sub(phase) {
            Some(step_frame) => step_frame as u64,
            None => (1 << 32) + i as u64,
        };
        let seed = seed.wrapping_mul(31).wrapping_add(noise);
        let seen = camera.expose(&face_light.apply(frame, lm, light.rgb()), seed);
        let analysis = p.analyze(&jpeg(&seen), DetectorKind::Hog).expect("analyze");
        let main = liveness.main_face(&analysis.faces);
        let as_face = main.map(|f| FrameColour::of(&analysis, f, PoseGroup::Pose(None)));
        lit_as_face.push(as_face);
        lit_as_presented.push(
            main.zip(as_face)
                .map(|(f, as_face)| match species.presented {
                    Presented::InFrontOfTheScreen => as_face,
                    Presented::OnAScreen => {
                        let even = ScreenLight {
                            background: 1.0,
                            ..face_light
                        };
                        let shown = camera.expose(&even.apply(frame, lm, light.rgb()), seed);
                        let (border, border_clipped) = border_rgb(&shown);
                        FrameColour {
                            face: skin_rgb(&shown, f.rect),
                            border,
                            border_clipped,
                            tones: lower_face_tones(&shown, &f.landmarks),
                            group: PoseGroup::Pose(None),
                            at: f.eye_position(),
                        }
                    }
                }),
        );
        faces.push(analysis.faces);
    }
    let geometry = faces
        .iter()
        .zip(&poses)
        .filter_map(|(f, p)| {
            let planned = match *p {
                Pose::Straight => (' ', 0.0),
                Pose::Turned(t, a) => (kind_letter(t), a),
            };
            liveness.main_face(f).map(|m| {
                let (l, r) = Landmarks5(m.landmarks).eyes();
                let roll = (r[1] - l[1]).atan2(r[0] - l[0]).to_degrees();
                (
                    planned,
                    m.yaw(),
                    m.eye_width_log_ratio(),
                    roll,
                    m.nose_drop(),
                    m.eye_corner_drop(),
                )
            })
        })
        .collect();
    let turn = liveness.evaluate_phased(&steps, phase, &faces);
    // Which asked steps the check saw on their own frames: a turn on one of them, a nod
    // on `min_pitch_frames` in a row.
    let mut registered = vec![false; steps.len()];
    let (mut step, mut run, mut prev_turned) = (0usize, 0usize, false);
    for (planned, seen) in poses[phase..].iter().zip(&turn.poses) {
        let Pose::Turned(t, _) = planned else {
            step += usize::from(prev_turned);
            prev_turned = false;
            run = 0;
            continue;
        };
        prev_turned = true;
        run = if *seen == Some(*t) { run + 1 } else { 0 };
        let needed = if t.is_vertical() {
            liveness.min_pitch_frames
        } else {
            1
        };
        if run >= needed {
            registered[step] = true;
        }
    }
    // The light is judged within the light phase and each pose the turn check read (as
    // `authenticate` does).
    let groups = PoseGroup::of_login(phase, &turn.poses);
    for colours in [&mut lit_as_face, &mut lit_as_presented] {
        for (c, group) in colours.iter_mut().zip(&groups) {
            if let Some(c) = c {
                c.group = *group;
            }
        }
    }
    let light = LightPolicy::default();
    let light_face = light.evaluate(&asked, &lit_as_face);
    let light_presented = light.evaluate(&asked, &lit_as_presented);
    let failure = match (turn.failure, light_presented.failure) {
        (Some(f), _) => f.code().to_string(),
        (None, Some(f)) => f.code().to_string(),
        (None, None) => String::new(),
    };
    Outcome {
        turn_check: turn.passed && light_face.failure.is_none(),
        as_presented: turn.passed && light_presented.failure.is_none(),
        failure,
        geometry,
        parallax: turn.parallax,
        ruled_bend: turn.ruled_bend,
        steps,
        registered,
        light: light_presented,
    }
}

fn kind_letter(t: Turn) -> char {
    match t {
        Turn::Left => 'L',
        Turn::Right => 'R',
        Turn::Up => 'U',
        Turn::Down => 'D',
    }
}

#[test]
fn flat_and_2d_attacks_apcer_per_species() {
    let subjects: Vec<Subject> = ATTACK_SUBJECTS
        .iter()
        .map(|(image, reference)| {
            let (photo, landmarks) = framed_face(image, reference);
            let head = HeadModel::new(&landmarks, Default::default()).expect("head model");
            Subject {
                photo,
                landmarks,
                head,
            }
        })
        .collect();
    let trials_per_subject: u64 = std::env::var("FACEID_ATTACK_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10); // 50 per species in CI
    let only: Option<Vec<usize>> = std::env::var("FACEID_ATTACK_ONLY")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect());
    let chosen = |k: &usize| only.as_ref().is_none_or(|o| o.contains(k));
    let jobs: Vec<(usize, usize, u64)> = (0..SPECIES.len())
        .filter(|k| chosen(k))
        .flat_map(|k| {
            (0..subjects.len()).flat_map(move |j| (0..trials_per_subject).map(move |t| (k, j, t)))
        })
        .collect();
    // Two workers: the CI machine has two cores.
    let results: Vec<(usize, Outcome)> = std::thread::scope(|scope| {
        let chunks: Vec<_> = jobs.chunks(jobs.len().div_ceil(2)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let subjects = &subjects;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|&(k, j, t)| {
                            let seed = 20261203 + (k as u64) * 1_000_003 + (j as u64) * 1009 + t;
                            (k, trial(&subjects[j], &SPECIES[k], seed))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    if let Ok(path) = std::env::var("FACEID_ATTACK_DUMP") {
        let mut csv = String::from(
            "species,trial,steps,failure,planned,amount,yaw,eye_width_log_ratio,roll,nose_drop,eye_corner_drop\n",
        );
        for (n, (k, o)) in results.iter().enumerate() {
            let steps: String = o.steps.iter().map(|t| kind_letter(*t)).collect();
            let failure = &o.failure;
            for ((p, a), y, l, r, d, c) in &o.geometry {
                csv.push_str(&format!(
                    "{k},{n},{steps},{failure},{p},{a},{y},{l},{r},{d},{c}\n"
                ));
            }
        }
        std::fs::write(path, csv).expect("dump");
    }
    println!("turn check vs flat and 2-D attacks ({trials_per_subject} trials per subject):");
    let mut table = vec![];
    for (k, s) in SPECIES.iter().enumerate().filter(|(k, _)| chosen(k)) {
        let mine: Vec<&Outcome> = results
            .iter()
            .filter(|(i, _)| *i == k)
            .map(|(_, o)| o)
            .collect();
        let n = mine.len();
        let turn = mine.iter().filter(|o| o.turn_check).count();
        let presented = mine.iter().filter(|o| o.as_presented).count();
        let mut reasons: Vec<String> = mine
            .iter()
            .map(|o| o.failure.clone())
            .filter(|f| !f.is_empty())
            .collect();
        reasons.sort();
        reasons.dedup();
        for (label, digits, values) in [
            (
                "parallax",
                4,
                mine.iter().filter_map(|o| o.parallax).collect::<Vec<f64>>(),
            ),
            (
                "ruled bend",
                5,
                mine.iter().filter_map(|o| o.ruled_bend).collect(),
            ),
            (
                "light correlation",
                3,
                mine.iter().map(|o| o.light.correlation).collect(),
            ),
            (
                "light response",
                4,
                mine.iter().map(|o| o.light.response).collect(),
            ),
            (
                "light border share",
                3,
                mine.iter()
                    .map(|o| {
                        let on_face = o.light.response + o.light.border_response;
                        o.light.border_response / on_face.abs().max(1e-9)
                    })
                    .collect(),
            ),
            (
                "light border clipped",
                3,
                mine.iter()
                    .map(|o| f64::from(o.light.border_clipped))
                    .collect(),
            ),
        ] {
            let mut v = values;
            v.sort_by(f64::total_cmp);
            let q = |p: f64| {
                v.get(((v.len().max(1) - 1) as f64 * p) as usize)
                    .map_or("-".to_string(), |x| format!("{x:.digits$}"))
            };
            println!(
                "    {label} over {} trials: min {} p5 {} median {} p95 {} max {}",
                v.len(),
                q(0.0),
                q(0.05),
                q(0.5),
                q(0.95),
                q(1.0)
            );
        }
        let rate = if s.genuine { "BPCER" } else { "APCER" };
        let (tc, ap) = if s.genuine {
            (n - turn, n - presented)
        } else {
            (turn, presented)
        };
        println!(
            "  {rate} turn check {tc:>3}/{n}, as presented {ap:>3}/{n}  {}  (refusals: {})",
            s.name,
            reasons.join(", ")
        );
        // By what the challenge asked: trials with a down step, with an up step; and how
        // often each kind of step was seen on its frames.
        let with = |t: Turn| {
            let asked: Vec<&&Outcome> = mine.iter().filter(|o| o.steps.contains(&t)).collect();
            let ok = asked.iter().filter(|o| o.as_presented).count();
            format!("{ok}/{}", asked.len())
        };
        let seen = |t: Turn| {
            let (mut asked, mut ok) = (0, 0);
            for o in &mine {
                for (step, r) in o.steps.iter().zip(&o.registered) {
                    if *step == t {
                        asked += 1;
                        ok += usize::from(*r);
                    }
                }
            }
            format!("{ok}/{asked}")
        };
        println!(
            "    accepted as presented: with an up step {}, with a down step {}; steps seen on their frames: left {}, right {}, up {}, down {}",
            with(Turn::Up),
            with(Turn::Down),
            seen(Turn::Left),
            seen(Turn::Right),
            seen(Turn::Up),
            seen(Turn::Down)
        );
        table.push((s, n, presented));
    }
    for (s, n, presented) in table {
        assert!(n >= 50, "{}: {n} trials", s.name);
        if s.genuine {
            // The goal, 95 %; measured 48/50 on the shipped challenges (README, Security).
            assert!(
                presented * 100 >= n * 95,
                "{}: only {presented} of {n} genuine accepted",
                s.name
            );
        } else {
            assert!(
                presented <= s.max_accepted,
                "{}: {presented} of {n} attacks accepted as presented",
                s.name
            );
        }
    }
}
