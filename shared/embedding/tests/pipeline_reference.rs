//! The whole pipeline from image bytes against face_recognition/dlib: for every reference
//! image, HOG (upsample 1) boxes, landmarks and descriptors (L2 ≤ 0.01 required; exact
//! decoding makes it ~1e-6); and the labelled pairs' same/different decisions at 0.6.
//!
//! Committed fixtures always run; `../shared/testdata` runs too when present.

use faceid_core::face::DetectorKind;
use faceid_embedding::descriptor::Descriptor;
use faceid_embedding::FacePipeline;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const MAX_L2: f32 = 0.01;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn pipeline() -> &'static FacePipeline {
    static P: OnceLock<FacePipeline> = OnceLock::new();
    P.get_or_init(|| FacePipeline::load_dir(root().join("models")).expect("models load"))
}

fn sets() -> Vec<PathBuf> {
    let mut v = vec![root().join("tests/fixtures")];
    let shared = root().join("../shared/testdata");
    if shared.join("reference").is_dir() {
        v.push(shared);
    }
    v
}

/// Our faces for one image: (box ltrb, landmarks, descriptor), in detector order.
type Faces = Vec<([i64; 4], Vec<[i64; 2]>, Descriptor)>;

fn analyze(path: &Path) -> Option<Faces> {
    let bytes = std::fs::read(path).ok()?;
    let p = pipeline();
    let img = p.decode(&bytes).ok()?;
    let dets = p.detect(&img, DetectorKind::Hog, 1).expect("detect");
    Some(
        dets.into_iter()
            .map(|d| {
                let f = p.describe(&img, d).expect("describe");
                let r = f.detection.rect;
                (
                    [r.left, r.top, r.right, r.bottom],
                    f.landmarks.iter().map(|p| [p.x, p.y]).collect(),
                    f.descriptor,
                )
            })
            .collect(),
    )
}

fn descriptor(v: &Value) -> Descriptor {
    let mut d = [0f32; 128];
    for (o, x) in d.iter_mut().zip(v.as_array().expect("descriptor array")) {
        *o = x.as_f64().expect("number") as f32;
    }
    Descriptor(d)
}

#[test]
fn bytes_to_descriptors_match_dlib() {
    for set in sets() {
        let (mut images, mut faces, mut max_l2, mut skipped) = (0, 0, 0f32, vec![]);
        let mut refs: Vec<_> = std::fs::read_dir(set.join("reference"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        refs.sort();
        for json in refs
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("manifest.json"))
        {
            let r: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
            let image = set.join(r["image"].as_str().unwrap());
            let Some(ours) = analyze(&image) else {
                // Only the shared set's img47.jpg (a WebP file named .jpg) is undecodable.
                skipped.push(image.display().to_string());
                continue;
            };
            images += 1;
            let want = r["faces"].as_array().unwrap();
            assert_eq!(ours.len(), want.len(), "{}: face count", image.display());
            for (i, (got, w)) in ours.iter().zip(want).enumerate() {
                let rect: Vec<i64> = w["rect_ltrb"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap())
                    .collect();
                assert_eq!(got.0.to_vec(), rect, "{} face {i}: box", image.display());
                let lm: Vec<[i64; 2]> = w["landmarks_5"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| [p[0].as_i64().unwrap(), p[1].as_i64().unwrap()])
                    .collect();
                assert_eq!(got.1, lm, "{} face {i}: landmarks", image.display());
                let l2 = got.2.distance(&descriptor(&w["descriptor"]));
                assert!(
                    l2 <= MAX_L2,
                    "{} face {i}: descriptor L2 {l2}",
                    image.display()
                );
                max_l2 = max_l2.max(l2);
                faces += 1;
            }
        }
        eprintln!("{}: {images} images, {faces} faces, max descriptor L2 {max_l2:e}; undecodable: {skipped:?}", set.display());
        assert!(images > 0 && faces > 0);
        assert!(
            skipped.len() <= 1,
            "unexpected decode failures: {skipped:?}"
        );
    }
}

#[test]
fn labelled_pairs_get_the_reference_decisions() {
    for set in sets() {
        let tsv = std::fs::read_to_string(set.join("pairs.tsv")).expect("pairs.tsv");
        let mut cache: HashMap<String, Option<Descriptor>> = HashMap::new();
        let (mut pairs, mut same_decisions, mut correct, mut max_dd, mut skipped) =
            (0, 0, 0, 0f32, 0);
        for line in tsv.lines().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            let [a, b, same, anchor] = cols[..] else {
                panic!("bad row {line}")
            };
            let mut first = |rel: &str| {
                cache
                    .entry(rel.to_owned())
                    .or_insert_with(|| {
                        analyze(&set.join(rel)).and_then(|f| f.first().map(|x| x.2.clone()))
                    })
                    .clone()
            };
            let (Some(da), Some(db)) = (first(a), first(b)) else {
                // The service takes JPEG and PNG only; the shared set has one WebP file
                // named .jpg (img47). Anything else without a face is a failure.
                let is_webp = |rel: &str| {
                    std::fs::read(set.join(rel)).is_ok_and(|b| b.len() > 12 && &b[8..12] == b"WEBP")
                };
                assert!(is_webp(a) || is_webp(b), "no face in {a} or {b}");
                skipped += 1;
                continue;
            };
            let d = da.distance(&db);
            let anchor: f32 = anchor.parse().unwrap();
            max_dd = max_dd.max((d - anchor).abs());
            pairs += 1;
            same_decisions += usize::from((d <= 0.6) == (anchor <= 0.6));
            correct += usize::from((d <= 0.6) == (same == "1"));
        }
        eprintln!(
            "{}: {pairs} pairs, {same_decisions} same decisions as dlib at 0.6, {correct} correct labels, max |distance − dlib's| {max_dd:e}; {skipped} pairs with a WebP image skipped",
            set.display()
        );
        assert_eq!(same_decisions, pairs, "every pair must get dlib's decision");
        assert!(max_dd < 1e-3);
    }
}
