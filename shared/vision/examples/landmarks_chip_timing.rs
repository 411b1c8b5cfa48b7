//! Times the 5-point landmarks and the 150x150 chip per face on a fixture image.
//!
//! cargo run --release -p faceid-vision --example landmarks_chip_timing -- \
//!     [image left top right bottom] [iterations]
//!
//! Default: obama-480p.jpg with its reference HOG box. The model is read from
//! `models/` or `$FACEID_SHAPE_PREDICTOR`.

use std::time::Instant;

use faceid_vision::chip::{
    extract_image_chip, get_face_chip_details, FACE_CHIP_PADDING, FACE_CHIP_SIZE,
};
use faceid_vision::decode::{decode_image, DecodeLimits};
use faceid_vision::shape::ShapePredictor;
use faceid_vision::Rect;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let args: Vec<String> = std::env::args().collect();
    let image = args.get(1).cloned().unwrap_or(format!(
        "{root}/tests/fixtures/images/face_recognition/obama-480p.jpg"
    ));
    let model = std::env::var("FACEID_SHAPE_PREDICTOR").unwrap_or(format!(
        "{root}/models/shape_predictor_5_face_landmarks.dat"
    ));
    let ltrb: Vec<i64> = args
        .iter()
        .skip(2)
        .take(4)
        .filter_map(|s| s.parse().ok())
        .collect();
    let rect = match ltrb[..] {
        [l, t, r, b] => Rect::new(l, t, r, b),
        // obama-480p.jpg's reference `rect_ltrb`.
        _ => Rect::new(390, 68, 497, 175),
    };
    let iterations: u32 = args.get(6).and_then(|s| s.parse().ok()).unwrap_or(500);

    let t = Instant::now();
    let sp = ShapePredictor::load(&model)?;
    println!("model load: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);

    let bytes = std::fs::read(&image)?;
    let t = Instant::now();
    let img = decode_image(&bytes, &DecodeLimits::default())?;
    println!(
        "decode {}x{}: {:.2} ms",
        img.width(),
        img.height(),
        t.elapsed().as_secs_f64() * 1e3
    );

    let t = Instant::now();
    let mut parts = sp.predict(&img, rect);
    for _ in 1..iterations {
        parts = std::hint::black_box(sp.predict(&img, std::hint::black_box(rect)));
    }
    let landmarks = t.elapsed().as_secs_f64() / f64::from(iterations);

    let details = get_face_chip_details(&parts, FACE_CHIP_SIZE, FACE_CHIP_PADDING);
    let t = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(extract_image_chip(&img, std::hint::black_box(&details)));
    }
    let chip = t.elapsed().as_secs_f64() / f64::from(iterations);
    println!(
        "landmarks: {:.1} µs/face, chip extraction: {:.1} µs/face",
        landmarks * 1e6,
        chip * 1e6
    );
    Ok(())
}
