//! Wall-clock measurement: warm-up runs, then the median, 90th percentile and minimum of
//! N timed runs. No statistics beyond that: on a shared 2-core machine the median is
//! the robust figure, the minimum shows what the code can do when nothing interferes.

use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Summary of timed runs, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub median_ms: f64,
    pub p90_ms: f64,
    pub min_ms: f64,
    pub runs: usize,
}

impl Stats {
    /// Summarises samples in milliseconds; `None` when there are none.
    pub fn from_samples(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        // Nearest-rank percentile: the smallest sample with at least 90 % at or below it.
        let p90 = s[((0.9 * n as f64).ceil() as usize).clamp(1, n) - 1];
        Some(Self {
            median_ms: median,
            p90_ms: p90,
            min_ms: s[0],
            runs: n,
        })
    }
}

/// Runs `f` `warmup` times untimed, then `runs` times timed (at least once).
/// The closure's result goes through `black_box` so the work is not optimised away.
pub fn measure<T>(warmup: usize, runs: usize, mut f: impl FnMut() -> T) -> Stats {
    for _ in 0..warmup {
        std::hint::black_box(f());
    }
    let runs = runs.max(1);
    let samples: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    // Cannot be empty: runs >= 1.
    Stats::from_samples(&samples).unwrap_or(Stats {
        median_ms: f64::NAN,
        p90_ms: f64::NAN,
        min_ms: f64::NAN,
        runs: 0,
    })
}

/// Like [`measure`] for fallible work: the first error stops the measurement.
pub fn try_measure<T, E>(
    warmup: usize,
    runs: usize,
    mut f: impl FnMut() -> Result<T, E>,
) -> Result<Stats, E> {
    for _ in 0..warmup {
        std::hint::black_box(f()?);
    }
    let mut samples = Vec::with_capacity(runs.max(1));
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        std::hint::black_box(f()?);
        samples.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(Stats::from_samples(&samples).unwrap_or(Stats {
        median_ms: f64::NAN,
        p90_ms: f64::NAN,
        min_ms: f64::NAN,
        runs: 0,
    }))
}

/// Peak resident set size of this process in MiB (`VmHWM` in `/proc/self/status`);
/// `None` where that file does not exist (not Linux).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_known_samples() {
        let s = Stats::from_samples(&[5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 6.0, 7.0, 8.0, 9.0]).unwrap();
        assert_eq!(s.median_ms, 5.5);
        assert_eq!(s.p90_ms, 9.0);
        assert_eq!(s.min_ms, 1.0);
        assert_eq!(s.runs, 10);
        let one = Stats::from_samples(&[2.5]).unwrap();
        assert_eq!((one.median_ms, one.p90_ms, one.min_ms), (2.5, 2.5, 2.5));
        assert!(Stats::from_samples(&[]).is_none());
    }

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = peak_rss_mib().unwrap();
            assert!(rss > 0.5 && rss < 100_000.0, "{rss}");
        }
    }
}
