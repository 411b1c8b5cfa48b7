//! 1:N search over synthetic galleries: time per probe of `Gallery::nearest`, checked
//! against a naive loop on the same data.

use faceid_core::matching::{Gallery, Match};
use faceid_core::{Descriptor, FaceId, UserId, DESCRIPTOR_LEN};
use serde::{Deserialize, Serialize};
use std::time::Instant;

use crate::timing::Stats;

/// SplitMix64: a tiny deterministic generator, so every run benches the same data.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-0.5, 0.5).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

/// A random descriptor scaled to unit length, like dlib's (whose norms are close to 1).
pub fn random_descriptor(rng: &mut SplitMix64) -> Descriptor {
    let mut d: [f32; DESCRIPTOR_LEN] = std::array::from_fn(|_| rng.next_f32());
    let norm = d
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::MIN_POSITIVE);
    d.iter_mut().for_each(|x| *x /= norm);
    Descriptor(d)
}

/// A synthetic gallery and, row by row, what it holds, for the naive search.
pub struct Synthetic {
    pub gallery: Gallery,
    pub rows: Vec<Descriptor>,
    pub faces: Vec<FaceId>,
}

/// A gallery of `n` random templates, ten per user (a user enrolls several faces).
pub fn synthetic_gallery(n: usize, seed: u64) -> Synthetic {
    let mut rng = SplitMix64::new(seed);
    let mut gallery = Gallery::with_capacity(n);
    let mut rows = Vec::with_capacity(n);
    let mut faces = Vec::with_capacity(n);
    let mut user: Option<UserId> = None;
    for i in 0..n {
        if i % 10 == 0 {
            user = UserId::parse(&format!("user{}", i / 10)).ok();
        }
        let d = random_descriptor(&mut rng);
        // Not random: the ids must not depend on the OS generator between runs.
        let face = FaceId::derived_from(&format!("bench-{seed}-{i}"));
        if let Some(u) = &user {
            gallery.push(u.clone(), face, &d);
        }
        rows.push(d);
        faces.push(face);
    }
    Synthetic {
        gallery,
        rows,
        faces,
    }
}

/// The obvious search: every row, plain sequential sum in f64, first minimum wins.
/// Returns the row index and the distance.
pub fn naive_nearest(rows: &[Descriptor], probe: &Descriptor) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for (i, r) in rows.iter().enumerate() {
        let mut s = 0f64;
        for (a, b) in r.0.iter().zip(&probe.0) {
            let d = f64::from(*a) - f64::from(*b);
            s += d * d;
        }
        if best.is_none_or(|(_, b)| s < b) {
            best = Some((i, s));
        }
    }
    best.map(|(i, s)| (i, s.sqrt()))
}

/// A probe near row `target` (a genuine user: template plus small noise), or a fresh
/// random one when `target` is `None` (an impostor).
pub fn probe_near(rows: &[Descriptor], target: Option<usize>, rng: &mut SplitMix64) -> Descriptor {
    match target.and_then(|t| rows.get(t)) {
        Some(r) => Descriptor(std::array::from_fn(|k| r.0[k] + 0.02 * rng.next_f32())),
        None => random_descriptor(rng),
    }
}

/// Timing and correctness of one gallery size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResult {
    pub gallery_size: usize,
    pub probes: usize,
    pub per_probe: Stats,
    /// Probes whose answer was compared with the naive loop, and how many differed
    /// (the user, or the distance by more than 1e-5).
    pub checked: usize,
    pub mismatches: usize,
    /// Memory held by the template matrix, MiB.
    pub matrix_mib: f64,
}

/// Benches `Gallery::nearest` on a gallery of `n`: probes for at least `budget_s`
/// seconds (at least `min_probes`), half genuine, half impostors; `check` of them are
/// also searched naively.
pub fn bench_size(n: usize, min_probes: usize, budget_s: f64, check: usize) -> SearchResult {
    let Synthetic {
        gallery,
        rows,
        faces,
    } = synthetic_gallery(n, 0xFACE_1D00 ^ n as u64);
    let mut rng = SplitMix64::new(42);
    let mut samples = Vec::new();
    let mut mismatches = 0;
    let mut checked = 0;
    // Warm-up: brings the matrix into cache/TLB as far as it fits.
    std::hint::black_box(gallery.nearest(&random_descriptor(&mut rng)));
    let started = Instant::now();
    let mut i = 0usize;
    while samples.len() < min_probes.max(1)
        || (started.elapsed().as_secs_f64() < budget_s && samples.len() < 100_000)
    {
        let target = (i & 1 == 0).then(|| (rng.next_u64() % n.max(1) as u64) as usize);
        let probe = probe_near(&rows, target, &mut rng);
        let t = Instant::now();
        let m = std::hint::black_box(gallery.nearest(&probe));
        samples.push(t.elapsed().as_secs_f64() * 1e3);
        if checked < check {
            checked += 1;
            if !agrees(&rows, &faces, &probe, m.as_ref()) {
                mismatches += 1;
            }
        }
        i += 1;
    }
    SearchResult {
        gallery_size: n,
        probes: samples.len(),
        per_probe: Stats::from_samples(&samples).unwrap_or(Stats {
            median_ms: f64::NAN,
            p90_ms: f64::NAN,
            min_ms: f64::NAN,
            runs: 0,
        }),
        checked,
        mismatches,
        matrix_mib: (n * DESCRIPTOR_LEN * 4) as f64 / (1024.0 * 1024.0),
    }
}

/// Whether the gallery's answer is the naive loop's: the same row (face id) and the
/// same distance within 1e-5 (f32 sums in another order against the naive f64 sum).
pub fn agrees(
    rows: &[Descriptor],
    faces: &[FaceId],
    probe: &Descriptor,
    m: Option<&Match>,
) -> bool {
    match (naive_nearest(rows, probe), m) {
        (None, None) => true,
        (Some((i, d)), Some(m)) => {
            faces.get(i) == Some(&m.face_id) && (f64::from(m.distance) - d).abs() <= 1e-5
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_centred() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let xs: Vec<f32> = (0..10_000).map(|_| a.next_f32()).collect();
        assert!(xs
            .iter()
            .zip((0..10_000).map(|_| b.next_f32()))
            .all(|(x, y)| *x == y));
        assert!(xs.iter().all(|x| (-0.5..0.5).contains(x)));
        let mean = xs.iter().sum::<f32>() / xs.len() as f32;
        assert!(mean.abs() < 0.02, "{mean}");
    }

    #[test]
    fn naive_finds_the_planted_row() {
        let rows = synthetic_gallery(500, 1).rows;
        let mut rng = SplitMix64::new(3);
        let probe = probe_near(&rows, Some(123), &mut rng);
        assert_eq!(naive_nearest(&rows, &probe).map(|x| x.0), Some(123));
        assert!(naive_nearest(&[], &probe).is_none());
    }
}
