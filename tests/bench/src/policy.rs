//! `faceid-bench policy`: the shipped decision policy's false-accept and false-reject
//! rates, and 1:N stranger acceptance against gallery size, from descriptor fixtures in the
//! repo (`tests/fixtures/descriptors`, see its README):
//! - strangers: `bioguide` — one official portrait per member of the US Congress (5,706
//!   people), split in two halves by row parity: pair rates on each half, 1:N galleries
//!   from the first half probed with the second;
//! - same person: `labelled` — dlib's own descriptors of the team's labelled images
//!   (14 people with 2–10 photos: 185 same-person pairs).

use anyhow::{bail, Context, Result};
use faceid_core::matching::Gallery;
use faceid_core::policy::{DecisionPolicy, CALIBRATED};
use faceid_core::{Descriptor, FaceId, UserId, DESCRIPTOR_LEN};
use serde::Serialize;
use std::path::Path;

/// One descriptor and whose it is.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub person: String,
    pub descriptor: Descriptor,
}

/// Reads `<stem>.f32le` (128 little-endian f32 per row) and `<stem>.tsv` (header, then one
/// row per descriptor; the person is column `person_column`).
pub fn load(dir: &Path, stem: &str, person_column: usize) -> Result<Vec<Labelled>> {
    let bin = std::fs::read(dir.join(format!("{stem}.f32le")))
        .with_context(|| format!("reading {stem}.f32le in {}", dir.display()))?;
    let tsv = std::fs::read_to_string(dir.join(format!("{stem}.tsv")))
        .with_context(|| format!("reading {stem}.tsv in {}", dir.display()))?;
    let rows: Vec<&str> = tsv.lines().skip(1).filter(|l| !l.is_empty()).collect();
    let width = DESCRIPTOR_LEN * 4;
    if bin.len() != rows.len() * width {
        bail!(
            "{stem}: {} descriptors for {} rows",
            bin.len() / width,
            rows.len()
        );
    }
    rows.iter()
        .zip(bin.chunks_exact(width))
        .map(|(row, bytes)| {
            let person = row
                .split('\t')
                .nth(person_column)
                .with_context(|| format!("{stem}: short row {row:?}"))?;
            Ok(Labelled {
                person: person.to_string(),
                descriptor: Descriptor::from_le_bytes(bytes).map_err(|e| anyhow::anyhow!(e.0))?,
            })
        })
        .collect()
}

/// The fixtures folder of the repo.
pub fn fixtures() -> std::path::PathBuf {
    crate::stages::workspace_root().join("tests/fixtures/descriptors")
}

/// The strangers, split in (calibration, held-out) halves by row parity.
pub fn strangers() -> Result<(Vec<Labelled>, Vec<Labelled>)> {
    let all = load(&fixtures(), "bioguide", 0)?;
    let (a, b): (Vec<_>, Vec<_>) = all.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
    Ok((
        a.into_iter().map(|x| x.1).collect(),
        b.into_iter().map(|x| x.1).collect(),
    ))
}

pub fn same_person_set() -> Result<Vec<Labelled>> {
    load(&fixtures(), "labelled", 1)
}

/// Sorted distances of every pair of different people within `set`.
pub fn impostor_distances(set: &[Labelled]) -> Vec<f32> {
    let mut out = Vec::with_capacity(set.len() * set.len().saturating_sub(1) / 2);
    for (i, a) in set.iter().enumerate() {
        for b in &set[i + 1..] {
            if a.person != b.person {
                out.push(a.descriptor.distance(&b.descriptor));
            }
        }
    }
    out.sort_by(f32::total_cmp);
    out
}

/// Sorted distances of every pair of photos of the same person.
pub fn genuine_distances(set: &[Labelled]) -> Vec<f32> {
    let mut out = Vec::new();
    for (i, a) in set.iter().enumerate() {
        for b in &set[i + 1..] {
            if a.person == b.person {
                out.push(a.descriptor.distance(&b.descriptor));
            }
        }
    }
    out.sort_by(f32::total_cmp);
    out
}

/// How many of the sorted `d` are ≤ `t`.
pub fn at_most(d: &[f32], t: f32) -> usize {
    d.partition_point(|&x| x <= t)
}

/// A rate with its trial count and a 95 % upper bound (Wilson score interval; for 0
/// events it is ≈ 3.8 / trials).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rate {
    pub events: usize,
    pub trials: usize,
    pub rate: f64,
    pub upper95: f64,
}

impl Rate {
    pub fn new(events: usize, trials: usize) -> Self {
        let n = trials.max(1) as f64;
        let p = events as f64 / n;
        let z = 1.96f64;
        let centre = p + z * z / (2.0 * n);
        let spread = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
        Rate {
            events,
            trials,
            rate: p,
            upper95: ((centre + spread) / (1.0 + z * z / n)).min(1.0),
        }
    }
}

/// Same-person refusals when `k` photos are enrolled and one other photo logs in: for each
/// person with more than `k` photos, each photo in turn is the probe and the first `k`
/// others (in fixture order) the templates.
pub fn false_rejects_with_templates(set: &[Labelled], k: usize, t: f32) -> Rate {
    let mut by_person: std::collections::BTreeMap<&str, Vec<&Descriptor>> = Default::default();
    for l in set {
        by_person.entry(&l.person).or_default().push(&l.descriptor);
    }
    let (mut refused, mut trials) = (0, 0);
    for photos in by_person.values().filter(|p| p.len() > k) {
        for (i, probe) in photos.iter().enumerate() {
            let nearest = photos
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .take(k)
                .map(|(_, t)| t.distance(probe))
                .fold(f32::MAX, f32::min);
            trials += 1;
            refused += usize::from(nearest > t);
        }
    }
    Rate::new(refused, trials)
}

/// A gallery of the first `n` people of `set`, one template each.
pub fn gallery_of(set: &[Labelled], n: usize) -> Gallery {
    let mut g = Gallery::with_capacity(n);
    for l in &set[..n.min(set.len())] {
        if let Ok(u) = UserId::parse(&format!("p{}", l.person)) {
            g.push(u, FaceId::derived_from(&l.person), &l.descriptor);
        }
    }
    g
}

/// Strangers (`probes`, none of them enrolled) that `policy` logs in as somebody of
/// `gallery` by 1:N, one frame each.
pub fn strangers_identified(
    policy: &DecisionPolicy,
    gallery: &Gallery,
    probes: &[Labelled],
) -> Rate {
    let accepted = probes
        .iter()
        .filter(|p| {
            policy
                .identify(gallery, std::slice::from_ref(&p.descriptor))
                .refusal
                .is_none()
        })
        .count();
    Rate::new(accepted, probes.len())
}

/// The 1:N stranger-acceptance model beyond the measured sizes: each template is an
/// independent chance `pair_far` to fall within the threshold, so a login is accepted with
/// 1 − (1 − pair_far)^templates (the margin rule only lowers it).
pub fn modelled_identification_far(pair_far: f64, templates: usize) -> f64 {
    1.0 - (1.0 - pair_far).powf(templates as f64)
}

#[derive(Debug, Serialize)]
pub struct ThresholdRow {
    pub threshold: f32,
    pub far_calibration: Rate,
    pub far_held_out: Rate,
    pub frr_one_photo: Rate,
    pub frr_best_of_templates: Rate,
}

#[derive(Debug, Serialize)]
pub struct GalleryRow {
    pub templates: usize,
    /// Measured: held-out strangers accepted by the shipped 1:N rule (gallery limit lifted).
    pub measured_shipped: Option<Rate>,
    /// Measured: accepted by the old rule (nearest template ≤ 0.6).
    pub measured_old_0_6: Option<Rate>,
    /// Modelled from the pair FAR at the 1:N distance.
    pub modelled_shipped: f64,
    pub modelled_old_0_6: f64,
    /// Whether the shipped policy runs 1:N at this size.
    pub identification_allowed: bool,
}

#[derive(Debug, Serialize)]
pub struct PolicyReport {
    pub policy: String,
    pub strangers: usize,
    pub impostor_pairs_per_half: (usize, usize),
    pub same_person_pairs: usize,
    pub thresholds: Vec<ThresholdRow>,
    /// Per-attempt 1:1 FAR bound at the shipped verify distance with the most templates a
    /// person may enrol: templates × pair FAR (95 % upper bound, held-out half).
    pub verify_far_per_attempt_upper95: f64,
    pub verify_frr_one_photo: Rate,
    pub verify_frr_best_of_templates: Rate,
    pub identify_pair_far_held_out: Rate,
    pub galleries: Vec<GalleryRow>,
    /// The 1:1 trade-off by templates per person: (templates, threshold, per-attempt FAR
    /// bound from the calibration half, FRR best of the templates).
    pub template_sweep: Vec<(usize, f32, f64, Rate)>,
}

/// Measured gallery sizes (templates) and the extrapolated ones.
pub const GALLERY_SIZES: [usize; 9] = [10, 30, 100, 300, 1000, 2853, 10_000, 30_000, 100_000];

pub fn report(policy: &DecisionPolicy) -> Result<PolicyReport> {
    let (calibration, held_out) = strangers()?;
    let same = same_person_set()?;
    let imp_a = impostor_distances(&calibration);
    let imp_b = impostor_distances(&held_out);
    let genuine = genuine_distances(&same);
    let k = policy.max_templates_per_user;
    let far = |d: &[f32], t: f32| Rate::new(at_most(d, t), d.len());
    let frr = |t: f32| Rate::new(genuine.len() - at_most(&genuine, t), genuine.len());
    let thresholds = (30..=60)
        .map(|c| {
            let t = c as f32 / 100.0;
            ThresholdRow {
                threshold: t,
                far_calibration: far(&imp_a, t),
                far_held_out: far(&imp_b, t),
                frr_one_photo: frr(t),
                frr_best_of_templates: false_rejects_with_templates(&same, k, t),
            }
        })
        .collect();
    let verify_far = far(&imp_b, policy.verify_distance);
    let identify_far = far(&imp_b, policy.identify_distance);
    let old_far = far(&imp_b, 0.6).rate;
    let unlimited = DecisionPolicy {
        max_identify_templates: usize::MAX,
        ..*policy
    };
    let old = DecisionPolicy {
        identify_distance: 0.6,
        frame_distance: 0.6,
        identify_margin: 0.0,
        ..unlimited
    };
    let galleries = GALLERY_SIZES
        .iter()
        .map(|&n| {
            let measured = n <= calibration.len();
            let g = gallery_of(&calibration, n);
            GalleryRow {
                templates: n,
                measured_shipped: measured.then(|| strangers_identified(&unlimited, &g, &held_out)),
                measured_old_0_6: measured.then(|| strangers_identified(&old, &g, &held_out)),
                modelled_shipped: modelled_identification_far(identify_far.rate, n),
                modelled_old_0_6: modelled_identification_far(old_far, n),
                identification_allowed: policy.identification_allowed(n),
            }
        })
        .collect();
    Ok(PolicyReport {
        policy: format!("{policy:?}"),
        strangers: calibration.len() + held_out.len(),
        impostor_pairs_per_half: (imp_a.len(), imp_b.len()),
        same_person_pairs: genuine.len(),
        thresholds,
        verify_far_per_attempt_upper95: (k as f64 * verify_far.upper95).min(1.0),
        verify_frr_one_photo: frr(policy.verify_distance),
        verify_frr_best_of_templates: false_rejects_with_templates(
            &same,
            k,
            policy.verify_distance,
        ),
        identify_pair_far_held_out: identify_far,
        galleries,
        template_sweep: (1..=5)
            .flat_map(|k| (34..=46).map(move |c| (k, c as f32 / 100.0)))
            .map(|(k, t)| {
                let bound = (k as f64 * far(&imp_a, t).upper95).min(1.0);
                (k, t, bound, false_rejects_with_templates(&same, k, t))
            })
            .collect(),
    })
}

/// The shipped policy's report.
pub fn shipped() -> Result<PolicyReport> {
    report(&CALIBRATED)
}
