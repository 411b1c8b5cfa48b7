//! The MMOD CNN detector against dlib's reference outputs
//! (`face_recognition.face_locations(img, up, "cnn")` / `cnn_face_detection_model_v1`).
//!
//! Committed fixtures always run; `../shared/testdata` runs too when present. Images above
//! `FACEID_MMOD_MAX_MPX` megapixels (default 1.5, measured after upsampling) are skipped
//! because the CNN costs seconds per megapixel on a CPU.

use std::path::{Path, PathBuf};

use faceid_embedding::mmod::{DetectOptions, MmodConfig, MmodDetector};
use faceid_vision::{Detection, Rect};
use serde::Deserialize;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn detector() -> MmodDetector {
    let p = root().join("models/mmod_human_face_detector.onnx");
    MmodDetector::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[derive(Deserialize)]
struct Reference {
    image: String,
    width: u32,
    height: u32,
    cnn: std::collections::BTreeMap<String, CnnRun>,
}

#[derive(Deserialize)]
struct CnnRun {
    faces: Vec<CnnFace>,
}

#[derive(Deserialize)]
struct CnnFace {
    ltrb: [i64; 4],
    confidence: f64,
}

#[derive(Default, Debug)]
struct Stats {
    images: usize,
    skipped: Vec<String>,
    boxes: usize,
    min_iou: f64,
    identical_boxes: usize,
    max_conf_diff: f64,
    sum_conf_diff: f64,
    failures: Vec<String>,
}

fn max_mpx() -> f64 {
    std::env::var("FACEID_MMOD_MAX_MPX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.5)
}

fn iou(a: &Rect, b: &Rect) -> f64 {
    a.iou(b)
}

/// Compares one run: same number of boxes, each dlib box matched (in dlib's order) to an
/// unused detection with IoU ≥ 0.95 and confidence within 1e-3.
fn compare(name: &str, got: &[Detection], want: &[CnnFace], stats: &mut Stats) {
    if got.len() != want.len() {
        stats.failures.push(format!(
            "{name}: {} boxes, dlib {}: got {:?} want {:?}",
            got.len(),
            want.len(),
            got.iter().map(|d| (d.rect, d.score)).collect::<Vec<_>>(),
            want.iter()
                .map(|f| (f.ltrb, f.confidence))
                .collect::<Vec<_>>()
        ));
        return;
    }
    let mut used = vec![false; got.len()];
    for w in want {
        let wr = Rect::new(w.ltrb[0], w.ltrb[1], w.ltrb[2], w.ltrb[3]);
        let best = got
            .iter()
            .enumerate()
            .filter(|(i, _)| !used[*i])
            .map(|(i, d)| (i, iou(&d.rect, &wr)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let Some((i, v)) = best else {
            stats.failures.push(format!("{name}: no match for {wr:?}"));
            continue;
        };
        used[i] = true;
        let d = &got[i];
        let cd = (d.score - w.confidence).abs();
        stats.boxes += 1;
        stats.min_iou = stats.min_iou.min(v);
        stats.identical_boxes += usize::from(d.rect == wr);
        stats.max_conf_diff = stats.max_conf_diff.max(cd);
        stats.sum_conf_diff += cd;
        if v < 0.95 || cd > 1e-3 {
            stats.failures.push(format!(
                "{name}: box {:?} vs dlib {wr:?} (IoU {v:.4}), confidence {} vs {}",
                d.rect, d.score, w.confidence
            ));
        }
    }
}

fn run_reference_dir(det: &MmodDetector, dir: &Path, ups: &[u32]) -> Stats {
    let mut stats = Stats {
        min_iou: 1.0,
        ..Stats::default()
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("reference"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name().is_some_and(|n| n != "manifest.json")
        })
        .collect();
    files.sort();
    let limit = max_mpx();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("reference json");
        let r: Reference = serde_json::from_str(&text).expect("reference schema");
        for &up in ups {
            let Some(run) = r.cnn.get(&format!("upsample_{up}")) else {
                continue;
            };
            let scale = 4f64.powi(up as i32);
            let mpx = f64::from(r.width) * f64::from(r.height) * scale / 1e6;
            let name = format!("{} up{up}", r.image);
            if mpx > limit {
                stats.skipped.push(format!("{name} ({mpx:.1} Mpx)"));
                continue;
            }
            let img = decode(&dir.join(&r.image));
            let t = std::time::Instant::now();
            let got = det.detect(&img, up).expect("detect");
            eprintln!(
                "{name}: {} faces in {:.2} s ({mpx:.2} Mpx)",
                got.len(),
                t.elapsed().as_secs_f64()
            );
            stats.images += 1;
            compare(&name, &got, &run.faces, &mut stats);
        }
    }
    stats
}

/// Prints the statistics; fails on any count mismatch, and on box/confidence mismatches
/// beyond `allowed_box_failures` of the compared boxes.
fn report(what: &str, s: &Stats, allowed_box_failures: f64) {
    eprintln!(
        "{what}: {} runs, {} boxes ({} identical), min IoU {:.4}, confidence diff max {:.2e} mean {:.2e}; skipped {:?}",
        s.images,
        s.boxes,
        s.identical_boxes,
        s.min_iou,
        s.max_conf_diff,
        s.sum_conf_diff / s.boxes.max(1) as f64,
        s.skipped
    );
    let count_failures: Vec<&String> = s
        .failures
        .iter()
        .filter(|f| f.contains(" boxes, dlib "))
        .collect();
    assert!(
        count_failures.is_empty(),
        "{what}:\n{}",
        s.failures.join("\n")
    );
    let allowed = (s.boxes as f64 * allowed_box_failures).floor() as usize;
    assert!(
        s.failures.len() <= allowed,
        "{what}:\n{}",
        s.failures.join("\n")
    );
    if !s.failures.is_empty() {
        eprintln!("{what}: tolerated:\n{}", s.failures.join("\n"));
    }
}

#[test]
fn mmod_committed_fixtures_match_dlib() {
    let det = detector();
    let s = run_reference_dir(&det, &root().join("tests/fixtures"), &[0, 1]);
    // These decode identically enough (PNGs exactly) that every box must match.
    report("committed fixtures", &s, 0.0);
    assert!(s.boxes > 0, "no CNN box was compared");
}

#[test]
fn mmod_shared_testdata_match_dlib() {
    let dir = root().join("../shared/testdata");
    if !dir.join("reference").is_dir() {
        return;
    }
    let det = detector();
    let s = run_reference_dir(&det, &dir, &[0, 1]);
    // JPEGs decode with libjpeg-turbo as in Pillow, so every box must match.
    report("shared testdata", &s, 0.0);
}

#[test]
fn mmod_config_matches_dat() {
    // The upstream .dat is not committed (models/upstream is git-ignored): check when present.
    let p = root().join("models/upstream/mmod_human_face_detector.dat");
    let Ok(bytes) = std::fs::read(&p) else {
        return;
    };
    let cfg = MmodConfig::from_dlib_dat(&bytes).expect("parse .dat");
    assert_eq!(cfg, MmodConfig::default());
}

#[test]
fn mmod_empty_and_tiny_images() {
    let det = detector();
    let empty = image::RgbImage::new(0, 0);
    assert!(det.detect(&empty, 0).expect("empty").is_empty());
    let tiny = image::RgbImage::from_pixel(3, 2, image::Rgb([120, 110, 100]));
    assert!(det.detect(&tiny, 0).expect("tiny").is_empty());
    assert!(det.detect(&tiny, 1).expect("tiny up").is_empty());
}

#[test]
fn mmod_fast_path_finds_large_faces() {
    // obama-480p.jpg (854×480) has one large face. Skipping pyramid levels must still find
    // it with a box close to dlib's (reference upsample 0).
    let det = detector();
    let dir = root().join("tests/fixtures");
    let text = std::fs::read_to_string(dir.join("reference/obama-480p.json")).expect("json");
    let r: Reference = serde_json::from_str(&text).expect("schema");
    let want = &r.cnn["upsample_0"].faces;
    assert_eq!(want.len(), 1);
    let w = want[0].ltrb;
    let side = (w[2] - w[0] + 1) as u32;
    let img = decode(&dir.join(&r.image));
    let opts = DetectOptions::for_min_face(side * 9 / 10);
    assert!(opts.skip_levels > 0);
    let got = det.detect_with(&img, opts).expect("detect");
    assert_eq!(got.len(), 1, "{got:?}");
    let wr = Rect::new(w[0], w[1], w[2], w[3]);
    assert!(got[0].rect.iou(&wr) > 0.8, "{:?} vs {wr:?}", got[0].rect);
}

#[test]
fn mmod_detector_is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<MmodDetector>();
}

/// The product's decoder (libjpeg-turbo for JPEG, as Pillow), without EXIF rotation like
/// the reference.
fn decode(path: &std::path::Path) -> image::RgbImage {
    use faceid_vision::decode::{decode_image, DecodeLimits};
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let limits = DecodeLimits {
        max_bytes: 100 << 20,
        max_pixels: 100_000_000,
        apply_exif_orientation: false,
    };
    decode_image(&bytes, &limits).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
