//! The labelled pairs: our distance for each pair (first HOG upsample-1 face of each
//! image, as the reference `pairs.tsv` was made), the reference's `anchor_distance`,
//! error rates at fixed thresholds and the ROC curve.

use anyhow::{bail, Context, Result};
use faceid_core::face::DetectorKind;
use faceid_embedding::FacePipeline;
use faceid_vision::decode::DecodeLimits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The threshold face_recognition users know.
pub const THRESHOLD: f64 = 0.6;

/// One labelled pair with both distances (`None`: no face in one of the images).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pair {
    pub img_a: String,
    pub img_b: String,
    pub same: bool,
    pub reference: Option<f64>,
    pub ours: Option<f64>,
}

/// Reads `pairs.tsv` (`img_a img_b same anchor_distance`, header first; `NA` distances).
pub fn read_pairs(tsv: &str) -> Result<Vec<Pair>> {
    let mut out = Vec::new();
    for (n, line) in tsv.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 4 {
            bail!("pairs line {}: expected 4 fields, got {}", n + 1, f.len());
        }
        let same = match f[2] {
            "1" => true,
            "0" => false,
            other => bail!("pairs line {}: same = {other:?}", n + 1),
        };
        out.push(Pair {
            img_a: f[0].to_string(),
            img_b: f[1].to_string(),
            same,
            reference: f[3].parse().ok(),
            ours: None,
        });
    }
    Ok(out)
}

/// Fills `ours` for every pair: images relative to `root`, decoded as the reference
/// loaded them (no EXIF rotation), first HOG upsample-1 face. Images we refuse to decode
/// (e.g. WebP files named `.jpg`: the service accepts JPEG and PNG only) count as "no
/// face"; their paths and errors are returned.
pub fn compute_ours(p: &FacePipeline, root: &Path, pairs: &mut [Pair]) -> Result<Vec<String>> {
    let mut refused = Vec::new();
    // With `..Default::default()`, so new fields of the limits keep compiling.
    #[allow(clippy::needless_update)]
    let limits = DecodeLimits {
        apply_exif_orientation: false,
        max_bytes: 64 << 20,
        max_pixels: 100_000_000,
        ..DecodeLimits::default()
    };
    let mut cache: BTreeMap<String, Option<faceid_embedding::descriptor::Descriptor>> =
        BTreeMap::new();
    for pair in pairs.iter_mut() {
        for img in [&pair.img_a, &pair.img_b] {
            if !cache.contains_key(img) {
                let path: PathBuf = root.join(img);
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let image = match faceid_vision::decode::decode_image(&bytes, &limits) {
                    Ok(i) => i,
                    Err(e) => {
                        refused.push(format!("{img}: {e}"));
                        cache.insert(img.clone(), None);
                        continue;
                    }
                };
                // Detector order (best score first), not by area: the reference took
                // `faces[0]` of the HOG detections in dlib's order.
                let dets = p.detect(&image, DetectorKind::Hog, 1)?;
                let d = match dets.first() {
                    Some(det) => Some(p.describe(&image, *det)?.descriptor),
                    None => None,
                };
                cache.insert(img.clone(), d);
            }
        }
        pair.ours = match (&cache[&pair.img_a], &cache[&pair.img_b]) {
            (Some(a), Some(b)) => Some(
                a.0.iter()
                    .zip(&b.0)
                    .map(|(x, y)| f64::from(x - y).powi(2))
                    .sum::<f64>()
                    .sqrt(),
            ),
            _ => None,
        };
    }
    Ok(refused)
}

/// Error rates at one threshold ("same" when distance <= threshold, as
/// face_recognition's `compare_faces`), over pairs that have a distance.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Rates {
    pub threshold: f64,
    /// Different-person pairs accepted / different-person pairs.
    pub far: f64,
    /// Same-person pairs rejected / same-person pairs.
    pub frr: f64,
    pub false_accepts: usize,
    pub false_rejects: usize,
    pub genuine: usize,
    pub impostor: usize,
}

pub fn rates(scored: &[(bool, f64)], threshold: f64) -> Rates {
    let genuine = scored.iter().filter(|(s, _)| *s).count();
    let impostor = scored.len() - genuine;
    let false_accepts = scored.iter().filter(|(s, d)| !s && *d <= threshold).count();
    let false_rejects = scored.iter().filter(|(s, d)| *s && *d > threshold).count();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Rates {
        threshold,
        far: ratio(false_accepts, impostor),
        frr: ratio(false_rejects, genuine),
        false_accepts,
        false_rejects,
        genuine,
        impostor,
    }
}

/// ROC points (FAR, TAR) for every distinct threshold, from accepting nothing to
/// accepting everything.
pub fn roc_curve(scored: &[(bool, f64)]) -> Vec<(f64, f64)> {
    let mut ts: Vec<f64> = scored.iter().map(|x| x.1).collect();
    ts.sort_by(f64::total_cmp);
    ts.dedup();
    let mut pts = vec![(0.0, 0.0)];
    for t in ts {
        let r = rates(scored, t);
        pts.push((r.far, 1.0 - r.frr));
    }
    pts
}

/// Area under the ROC curve (trapezoids).
pub fn auc(curve: &[(f64, f64)]) -> f64 {
    curve
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
        .sum()
}

/// Summary of one pair set.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RocSummary {
    pub source: String,
    pub pairs: usize,
    /// Pairs where one implementation found a face and the other not, or neither did.
    pub missing_ours: usize,
    pub missing_reference: usize,
    pub ours: Vec<Rates>,
    pub reference: Vec<Rates>,
    pub auc_ours: f64,
    pub auc_reference: f64,
    /// Pairs whose same/different decision at 0.6 differs between us and the reference,
    /// counting a pair scored by one side only as differing.
    pub decisions_differ_at_0_6: usize,
    /// The same, among the `both_scored` pairs both sides scored.
    pub decisions_differ_both_scored: usize,
    pub both_scored: usize,
    pub max_abs_distance_diff: f64,
    pub mean_abs_distance_diff: f64,
}

pub fn summarize(source: &str, pairs: &[Pair]) -> RocSummary {
    let ours: Vec<(bool, f64)> = pairs
        .iter()
        .filter_map(|p| p.ours.map(|d| (p.same, d)))
        .collect();
    let refs: Vec<(bool, f64)> = pairs
        .iter()
        .filter_map(|p| p.reference.map(|d| (p.same, d)))
        .collect();
    let both: Vec<(f64, f64)> = pairs
        .iter()
        .filter_map(|p| Some((p.ours?, p.reference?)))
        .collect();
    let diffs: Vec<f64> = both.iter().map(|(a, b)| (a - b).abs()).collect();
    let differ_both = both
        .iter()
        .filter(|(a, b)| (*a <= THRESHOLD) != (*b <= THRESHOLD))
        .count();
    RocSummary {
        source: source.to_string(),
        pairs: pairs.len(),
        missing_ours: pairs.len() - ours.len(),
        missing_reference: pairs.len() - refs.len(),
        ours: [0.5, THRESHOLD].iter().map(|t| rates(&ours, *t)).collect(),
        reference: [0.5, THRESHOLD].iter().map(|t| rates(&refs, *t)).collect(),
        auc_ours: auc(&roc_curve(&ours)),
        auc_reference: auc(&roc_curve(&refs)),
        decisions_differ_at_0_6: differ_both
            + pairs
                .iter()
                .filter(|p| p.ours.is_some() != p.reference.is_some())
                .count(),
        decisions_differ_both_scored: differ_both,
        both_scored: both.len(),
        max_abs_distance_diff: diffs.iter().copied().fold(0.0, f64::max),
        mean_abs_distance_diff: if diffs.is_empty() {
            0.0
        } else {
            diffs.iter().sum::<f64>() / diffs.len() as f64
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_auc_of_a_small_set() {
        let s = [
            (true, 0.3),
            (true, 0.55),
            (true, 0.7),
            (false, 0.5),
            (false, 0.8),
        ];
        let r = rates(&s, 0.6);
        assert_eq!((r.false_accepts, r.false_rejects), (1, 1));
        assert_eq!((r.genuine, r.impostor), (3, 2));
        assert!((r.far - 0.5).abs() < 1e-12 && (r.frr - 1.0 / 3.0).abs() < 1e-12);
        let perfect = [(true, 0.1), (false, 0.9)];
        assert!((auc(&roc_curve(&perfect)) - 1.0).abs() < 1e-12);
        let c = roc_curve(&s);
        assert_eq!(c.first(), Some(&(0.0, 0.0)));
        assert_eq!(c.last(), Some(&(1.0, 1.0)));
    }

    #[test]
    fn reads_the_committed_pairs() {
        let p = crate::stages::workspace_root().join("tests/fixtures/pairs.tsv");
        let pairs = read_pairs(&std::fs::read_to_string(p).unwrap()).unwrap();
        assert_eq!(pairs.len(), 55);
        assert!(pairs.iter().any(|p| p.same) && pairs.iter().any(|p| !p.same));
        assert!(read_pairs("h\na\tb\t2\t0.1\n").is_err());
    }
}
