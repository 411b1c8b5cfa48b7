//! A small seeded generator (SplitMix64) for the soak's choices: the run prints its seed,
//! and each worker draws from its own stream, so a run's sequence of decisions can be
//! replayed. No dependency: the statistical quality needed here is modest.

/// SplitMix64 (Steele, Lea & Flood 2014; the seeding generator of xoshiro).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The stream of worker `index` of a run seeded with `seed`.
    pub fn for_worker(seed: u64, index: usize) -> Self {
        let mut mix = Self::new(seed ^ (index as u64).wrapping_mul(0xA076_1D64_78BD_642F));
        Self::new(mix.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift: no modulo bias worth mentioning); 0 when n is 0.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.below(items.len()))
        }
    }

    /// An index drawn with probability proportional to its weight (None if all are 0).
    pub fn weighted(&mut self, weights: &[u32]) -> Option<usize> {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        if total == 0 {
            return None;
        }
        let mut r = ((u128::from(self.next_u64()) * u128::from(total)) >> 64) as u64;
        for (i, &w) in weights.iter().enumerate() {
            if r < u64::from(w) {
                return Some(i);
            }
            r -= u64::from(w);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_splitmix64_sequence() {
        // The reference implementation (Vigna's splitmix64.c) seeded with 0.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn weights_are_respected_and_streams_reproducible() {
        let mut r = Rng::new(42);
        let mut counts = [0usize; 3];
        for _ in 0..30_000 {
            counts[r.weighted(&[1, 0, 2]).unwrap()] += 1;
        }
        assert_eq!(counts[1], 0);
        let ratio = counts[2] as f64 / counts[0] as f64;
        assert!((1.9..2.1).contains(&ratio), "{counts:?}");
        assert_eq!(r.weighted(&[0, 0]), None);
        assert!(r.pick::<u8>(&[]).is_none());
        let a: Vec<u64> = (0..4)
            .map({
                let mut w = Rng::for_worker(7, 1);
                move |_| w.next_u64()
            })
            .collect();
        let mut w = Rng::for_worker(7, 1);
        assert_eq!(a, (0..4).map(|_| w.next_u64()).collect::<Vec<_>>());
        assert_ne!(
            Rng::for_worker(7, 0).next_u64(),
            Rng::for_worker(7, 1).next_u64()
        );
    }
}
