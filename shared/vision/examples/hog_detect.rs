//! Runs the HOG face detector on an image and prints the detections and timings:
//!
//! ```text
//! cargo run --release -p faceid-vision --example hog_detect -- IMAGE [UPSAMPLE] [ADJUST] [REPEATS]
//! ```
use std::time::Instant;

use faceid_vision::hog::HogDetector;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: hog_detect IMAGE [UPSAMPLE] [ADJUST] [REPEATS]")?;
    let upsample: u32 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let adjust: f64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(0.0);
    let repeats: usize = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let img = image::open(path)?.to_rgb8();
    let det = HogDetector::frontal_face()?;
    let mut times = Vec::new();
    let mut dets = Vec::new();
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        dets = det.detect(&img, upsample, adjust);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    for d in &dets {
        println!(
            "{} {} {} {} {:.17} {}",
            d.rect.left, d.rect.top, d.rect.right, d.rect.bottom, d.score, d.filter_index
        );
    }
    times.sort_by(f64::total_cmp);
    eprintln!(
        "{}x{} upsample {upsample}: median {:.2} ms, min {:.2} ms over {} runs",
        img.width(),
        img.height(),
        times[times.len() / 2],
        times[0],
        times.len()
    );
    Ok(())
}
