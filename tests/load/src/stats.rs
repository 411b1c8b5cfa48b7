//! Latency summaries: nearest-rank percentiles over the recorded samples (no histogram
//! buckets, so a p99 over 200 requests is the 198th slowest request, not an interpolation).

use serde::Serialize;
use std::time::Duration;

/// Percentiles and extremes of a set of durations, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub mean_ms: f64,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The `p`-th percentile (0 < p ≤ 100) by the nearest-rank method of sorted samples.
pub fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !(p > 0.0 && p <= 100.0) {
        return None;
    }
    // rank = ceil(p/100 · n), 1-based.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

impl Summary {
    /// `None` when there is no sample.
    pub fn of(samples: &[Duration]) -> Option<Self> {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let count = ms.len();
        let first = *ms.first()?;
        let last = *ms.last()?;
        Some(Self {
            count,
            mean_ms: ms.iter().sum::<f64>() / count as f64,
            min_ms: first,
            p50_ms: nearest_rank(&ms, 50.0)?,
            p90_ms: nearest_rank(&ms, 90.0)?,
            p99_ms: nearest_rank(&ms, 99.0)?,
            max_ms: last,
        })
    }
}

/// Median of a few measurements (the middle one; the lower middle for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len().checked_sub(1)? / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_matches_the_textbook_definition() {
        // The worked example of the nearest-rank method: 15, 20, 35, 40, 50.
        let v = [15.0, 20.0, 35.0, 40.0, 50.0];
        assert_eq!(nearest_rank(&v, 5.0), Some(15.0));
        assert_eq!(nearest_rank(&v, 30.0), Some(20.0));
        assert_eq!(nearest_rank(&v, 40.0), Some(20.0));
        assert_eq!(nearest_rank(&v, 50.0), Some(35.0));
        assert_eq!(nearest_rank(&v, 100.0), Some(50.0));
        assert_eq!(nearest_rank(&v, 0.0), None);
        assert_eq!(nearest_rank(&[], 50.0), None);
    }

    #[test]
    fn p99_of_200_samples_is_the_198th() {
        let samples: Vec<Duration> = (1..=200).map(Duration::from_millis).collect();
        let s = Summary::of(&samples).unwrap();
        assert_eq!(s.count, 200);
        assert_eq!(s.p50_ms, 100.0);
        assert_eq!(s.p90_ms, 180.0);
        assert_eq!(s.p99_ms, 198.0);
        assert_eq!((s.min_ms, s.max_ms), (1.0, 200.0));
        assert!((s.mean_ms - 100.5).abs() < 1e-9);
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.0));
        assert_eq!(median(&[]), None);
    }
}
