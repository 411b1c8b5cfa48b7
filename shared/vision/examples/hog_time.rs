//! Times the HOG detector and its resize stage on one image (single- or multi-thread):
//!
//! ```text
//! cargo run --release -p faceid-vision --example hog_time -- IMAGE [UPSAMPLE] [THREADS] [RUNS]
//! ```
//! Prints the median and minimum wall time of `detect` and of the image pyramid alone.
use std::time::Instant;

use faceid_vision::hog::HogDetector;
use faceid_vision::pyramid::{pyramid_down_6, pyramid_up};

fn median_min(mut t: Vec<f64>) -> (f64, f64) {
    t.sort_by(f64::total_cmp);
    (t[t.len() / 2], t[0])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: hog_time IMAGE [UPSAMPLE] [THREADS] [RUNS]")?;
    let upsample: u32 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let threads: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let runs: usize = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(21);
    let img = image::open(path)?.to_rgb8();
    let det = HogDetector::frontal_face()?.with_max_threads(threads);
    let mut n = 0;
    let mut total = Vec::new();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        n = det.detect(&img, upsample, 0.0).len();
        total.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mut pyr = Vec::new();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let mut level = img.clone();
        for _ in 0..upsample {
            level = pyramid_up(&level);
        }
        while level.width() >= 80 && level.height() >= 80 {
            level = pyramid_down_6(&level);
        }
        pyr.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (tm, tn) = median_min(total);
    let (pm, pn) = median_min(pyr);
    println!(
        "{}x{} up{upsample} threads {threads}: detect median {tm:.2} ms (min {tn:.2}), \
         resize/pyramid median {pm:.2} ms (min {pn:.2}), {n} faces, {runs} runs",
        img.width(),
        img.height()
    );
    Ok(())
}
