//! The liveness decision's false-reject rate on the genuine sequences we have: 2.5-D head
//! turns and nods synthesized from every committed frontal photo with a face big enough,
//! at several amplitudes, run through the real pipeline and `LivenessPolicy` (no HTTP),
//! for a challenge with a nod up and one with a nod down. Also the flat-sheet attack
//! (its false-accept rate). Prints the figures, per kind of step and swept over the
//! thresholds.

use faceid_core::face::{DetectorKind, FaceAnalyzer, FaceObservation};
use faceid_core::liveness::LivenessPolicy;
use faceid_core::Turn;
use faceid_service_tests::{framed_face, pipeline};
use faceid_testkit::{HeadModel, HeadPose, SheetWarp};

fn jpeg(img: &image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(img)
        .unwrap();
    out.into_inner()
}

/// The page's 13 frames for three steps: frontal, then each step's three frames (the
/// first 60 % of the way there) and a frontal one.
fn plan(steps: &[Turn], yaw: (f64, f64), nod: f64) -> Vec<HeadPose> {
    let mut out = vec![HeadPose::default()];
    for &t in steps {
        let full = match t {
            Turn::Left => HeadPose::yaw(yaw.0),
            Turn::Right => HeadPose::yaw(-yaw.1),
            Turn::Up => HeadPose::pitch(nod),
            Turn::Down => HeadPose::pitch(-nod),
        };
        let part = HeadPose {
            yaw_deg: full.yaw_deg * 0.6,
            pitch_deg: full.pitch_deg * 0.6,
        };
        out.extend([part, full, full, HeadPose::default()]);
    }
    out
}

#[test]
fn false_reject_rate_on_synthetic_genuine_sequences() {
    let subjects = [
        ("face_recognition/obama.jpg", "obama.json"),
        ("face_recognition/obama3.jpg", "obama3.json"),
        ("face_recognition/obama_small.jpg", "obama_small.json"),
        ("face_recognition/obama-720p.jpg", "obama-720p.json"),
        (
            "dlib/Tom_Cruise_avp_2014_4.jpg",
            "Tom_Cruise_avp_2014_4.json",
        ),
        ("pypi/astronaut.png", "astronaut.json"),
    ];
    // Turn amplitudes (left, right) and the nod with them, degrees. Nods stop at 22°:
    // further, the rendered face's descriptor drifts past the same-person bound (at 25°,
    // 4 of 12 renders were refused `different_people`), a limit of the testkit's head
    // model, not of the check.
    let amplitudes = [
        ((25.0, 22.0), 15.0),
        ((30.0, 26.0), 20.0),
        ((36.0, 30.0), 22.0),
        ((42.0, 36.0), 20.0),
    ];
    let challenges = [
        [Turn::Left, Turn::Up, Turn::Right],
        [Turn::Right, Turn::Down, Turn::Left],
    ];
    let policy = LivenessPolicy::default();
    let yaw_sweep = [0.06, 0.08, 0.10, 0.12, 0.15];
    let up_sweep = [0.06, 0.08, 0.10, 0.12, 0.15];
    let down_sweep = [0.05, 0.06, 0.08, 0.10, 0.12];
    let p = pipeline();
    let analyze = |frames: Vec<image::RgbImage>| -> Vec<Vec<FaceObservation>> {
        frames
            .iter()
            .map(|f| {
                p.analyze(&jpeg(f), DetectorKind::Hog)
                    .expect("analyze")
                    .faces
            })
            .collect()
    };
    // (challenge index, genuine frames) and the sheets' frames.
    let mut genuine: Vec<(usize, String, Vec<Vec<FaceObservation>>)> = vec![];
    let mut sheets: Vec<(String, Vec<Vec<FaceObservation>>)> = vec![];
    for (image, reference) in subjects {
        let (photo, lm) = framed_face(image, reference);
        let head = HeadModel::new(&lm, Default::default()).unwrap();
        let sheet = SheetWarp::around_face(&lm, 640.0);
        for (yaw, nod) in amplitudes {
            for (k, steps) in challenges.iter().enumerate() {
                let poses = plan(steps, yaw, nod);
                let frames = poses.iter().map(|&p| head.render_pose(&photo, p)).collect();
                let label = format!("{image} ±{}/{}°, nod {nod}°", yaw.0, yaw.1);
                genuine.push((k, label, analyze(frames)));
            }
            // A sheet turned as asked; tilting it is no nod (the nod frames stay flat).
            let poses = plan(&challenges[0], yaw, nod);
            let frames = poses
                .iter()
                .map(|p| sheet.render(&photo, p.yaw_deg))
                .collect();
            sheets.push((format!("{image} ±{}°", yaw.0), analyze(frames)));
        }
    }

    let refused = |policy: &LivenessPolicy, k: Option<usize>| {
        genuine
            .iter()
            .filter(|(c, _, _)| k.is_none_or(|k| k == *c))
            .filter(|(c, _, f)| !policy.evaluate(&challenges[*c], f).passed)
            .count()
    };
    let mut failed_sheets = 0;
    for (label, frames) in &sheets {
        let r = policy.evaluate(&challenges[0], frames);
        if r.passed {
            failed_sheets += 1;
            eprintln!("sheet accepted: {label}");
        }
    }
    let (mut up_refused, mut down_refused) = (0, 0);
    for (k, label, frames) in &genuine {
        let r = policy.evaluate(&challenges[*k], frames);
        if !r.passed {
            *if *k == 0 {
                &mut up_refused
            } else {
                &mut down_refused
            } += 1;
            eprintln!(
                "genuine refused: {:?} {label}: {:?} (seen {:?}; yaw {:.3}..{:.3}, pitch {:.3}..{:.3})",
                challenges[*k], r.failure, r.turns_seen, r.min_yaw, r.max_yaw, r.min_pitch, r.max_pitch
            );
        }
    }
    let per = genuine.len() / 2;
    for t in yaw_sweep {
        let at = LivenessPolicy {
            turn_yaw: t,
            ..policy
        };
        let sheets_in = sheets
            .iter()
            .filter(|(_, f)| at.evaluate(&challenges[0], f).passed)
            .count();
        eprintln!(
            "turn threshold {t:.2}: genuine refused {}/{}, sheets accepted {sheets_in}/{}",
            refused(&at, None),
            genuine.len(),
            sheets.len()
        );
    }
    for t in up_sweep {
        let at = LivenessPolicy {
            turn_up: t,
            ..policy
        };
        eprintln!(
            "up threshold {t:.2}: genuine refused {}/{per} (challenges with a nod up)",
            refused(&at, Some(0))
        );
    }
    for t in down_sweep {
        let at = LivenessPolicy {
            turn_down: t,
            ..policy
        };
        eprintln!(
            "down threshold {t:.2}: genuine refused {}/{per} (challenges with a nod down)",
            refused(&at, Some(1))
        );
    }
    eprintln!(
        "liveness: genuine {} sequences, refused with a nod up {up_refused}/{per}, with a nod down {down_refused}/{per}; sheet attacks accepted {failed_sheets}/{}",
        genuine.len(),
        sheets.len()
    );
    assert_eq!(
        failed_sheets, 0,
        "a flat photo turned like a sheet must never pass"
    );
    // Turns and nods up: the renders pass (goal ≥ 95 %). Nods down are reported, bounded
    // where measured (README: dlib's landmarks follow the rendered head looking down less
    // than a real one's).
    assert!(up_refused * 20 <= per, "nod up: {up_refused}/{per} refused");
    assert!(
        down_refused * 4 <= per,
        "nod down: {down_refused}/{per} refused"
    );
}
