//! The liveness decision's false-reject rate on the genuine sequences we have: 2.5-D head
//! turns synthesized from every committed frontal photo with a face big enough, at several
//! turn amplitudes, run through the real pipeline and `LivenessPolicy` (no HTTP). Also the
//! flat-sheet attack at the same amplitudes (its false-accept rate). Prints the figures.

use faceid_core::face::{DetectorKind, FaceAnalyzer};
use faceid_core::liveness::LivenessPolicy;
use faceid_core::Turn;
use faceid_service_tests::{framed_face, pipeline};
use faceid_testkit::{HeadModel, SheetWarp};

fn jpeg(img: &image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(img)
        .unwrap();
    out.into_inner()
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
    let amplitudes = [(25.0, 22.0), (30.0, 26.0), (36.0, 30.0), (42.0, 36.0)];
    let policy = LivenessPolicy::default();
    let sweep = [0.06, 0.08, 0.10, 0.12, 0.15];
    let mut sweep_counts = vec![(0usize, 0usize); sweep.len()]; // (genuine rejected, sheets accepted)
    let p = pipeline();
    let (mut genuine, mut rejected, mut sheets, mut sheet_accepted) = (0, 0, 0, 0);
    for (image, reference) in subjects {
        let (photo, lm) = framed_face(image, reference);
        let head = HeadModel::new(&lm, Default::default()).unwrap();
        let sheet = SheetWarp::around_face(&lm, 640.0);
        for (left, right) in amplitudes {
            let yaws = [0.0, left * 0.6, left, 0.0, -right * 0.6, -right, 0.0];
            let analyze = |frames: Vec<image::RgbImage>| -> Vec<_> {
                frames
                    .iter()
                    .map(|f| {
                        p.analyze(&jpeg(f), DetectorKind::Hog)
                            .expect("analyze")
                            .faces
                    })
                    .collect()
            };
            let turned = analyze(yaws.iter().map(|&y| head.render(&photo, y)).collect());
            let flat = analyze(yaws.iter().map(|&y| sheet.render(&photo, y)).collect());
            for (t, counts) in sweep.iter().zip(&mut sweep_counts) {
                let at = LivenessPolicy {
                    turn_yaw: *t,
                    ..policy
                };
                counts.0 += usize::from(!at.evaluate(&[Turn::Left, Turn::Right], &turned).passed);
                counts.1 += usize::from(at.evaluate(&[Turn::Left, Turn::Right], &flat).passed);
            }
            let r = policy.evaluate(&[Turn::Left, Turn::Right], &turned);
            genuine += 1;
            if !r.passed {
                rejected += 1;
                eprintln!(
                    "genuine rejected: {image} ±{left}/{right}°: {:?} (yaw {:.3}..{:.3})",
                    r.failure, r.min_yaw, r.max_yaw
                );
            }
            let r = policy.evaluate(&[Turn::Left, Turn::Right], &flat);
            sheets += 1;
            if r.passed {
                sheet_accepted += 1;
                eprintln!(
                    "sheet accepted: {image} ±{left}°: yaw {:.3}..{:.3}",
                    r.min_yaw, r.max_yaw
                );
            } else {
                eprintln!(
                    "sheet refused: {image} ±{left}°: {:?}, yaw {:.3}..{:.3}",
                    r.failure, r.min_yaw, r.max_yaw
                );
            }
        }
    }
    for (t, (rej, acc)) in sweep.iter().zip(&sweep_counts) {
        eprintln!("turn threshold {t:.2}: genuine rejected {rej}/{genuine}, sheets accepted {acc}/{sheets}");
    }
    let frr = rejected as f64 / genuine as f64;
    let far = sheet_accepted as f64 / sheets as f64;
    eprintln!(
        "liveness: genuine sequences {genuine}, false rejects {rejected} (FRR {:.1} %); sheet attacks {sheets}, accepted {sheet_accepted} ({:.1} %)",
        frr * 100.0,
        far * 100.0
    );
    assert_eq!(
        sheet_accepted, 0,
        "a flat photo turned like a sheet must never pass"
    );
    assert!(frr <= 0.25, "false-reject rate {frr}");
}
