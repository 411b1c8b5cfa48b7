//! Aligned chips against dlib's reference: chip details from the reference landmarks
//! (`get_face_chip_details(shape, 150, 0.25)`) and the extracted 150x150 chip against
//! the reference PNG (`dlib.get_face_chip`), decoding the image with our decoder.
//!
//! Chip details depend only on the landmarks and must match dlib to the last bit. Chip
//! pixels are bit-exact to dlib on identical input pixels, so PNG images must give the
//! reference chip exactly; on JPEG images the decoder difference (zune-jpeg vs Pillow's
//! libjpeg-turbo) leaves up to a few grey levels (measured: max 4, mean < 0.3 per chip).

mod chip_support;

use chip_support::*;
use faceid_vision::chip::{
    extract_image_chip, get_face_chip_details, FACE_CHIP_PADDING, FACE_CHIP_SIZE,
};

#[test]
fn chip_details_match_dlib() {
    for set in reference_sets() {
        let (mut n, mut bit_exact, mut max_diff) = (0usize, 0usize, 0f64);
        for r in reference_images(&set) {
            for (i, face) in r.faces().iter().enumerate() {
                let d = get_face_chip_details(
                    &landmarks(&face["landmarks_5"]),
                    FACE_CHIP_SIZE,
                    FACE_CHIP_PADDING,
                );
                let want = floats(&face["chip"]["details_rect_ltrb"]);
                let want_angle = face["chip"]["details_angle"].as_f64().unwrap();
                let got = [
                    d.rect.left,
                    d.rect.top,
                    d.rect.right,
                    d.rect.bottom,
                    d.angle,
                ];
                let wanted = [want[0], want[1], want[2], want[3], want_angle];
                let diff = got
                    .iter()
                    .zip(&wanted)
                    .map(|(g, w)| (g - w).abs())
                    .fold(0.0, f64::max);
                assert_eq!(
                    got, wanted,
                    "{} face {i}: chip details not bit-exact",
                    r.stem
                );
                assert!(
                    diff <= 1e-6,
                    "{} face {i}: details {got:?} vs {wanted:?}",
                    r.stem
                );
                assert_eq!((d.rows, d.cols), (150, 150));
                n += 1;
                bit_exact += usize::from(got == wanted);
                max_diff = max_diff.max(diff);
            }
        }
        eprintln!(
            "{}: {n} chip details, {bit_exact} bit-exact, max diff {max_diff:e}",
            set.display()
        );
        assert!(n > 0);
    }
}

#[test]
fn chips_match_dlib_pixels() {
    for set in reference_sets() {
        let (mut n, mut exact, mut max_abs, mut sum_abs, mut count) =
            (0usize, 0usize, 0u8, 0u64, 0u64);
        let mut worst_mean = (0f64, String::new());
        for r in reference_images(&set) {
            let Some(img) = r.decode() else { continue };
            for (i, face) in r.faces().iter().enumerate() {
                let d = get_face_chip_details(
                    &landmarks(&face["landmarks_5"]),
                    FACE_CHIP_SIZE,
                    FACE_CHIP_PADDING,
                );
                let chip = extract_image_chip(&img, &d);
                let file = set
                    .join("reference")
                    .join(face["chip"]["file"].as_str().unwrap());
                let want = image::open(&file).expect("reference chip").to_rgb8();
                assert_eq!(chip.dimensions(), want.dimensions());
                let diffs: Vec<u8> = chip
                    .as_raw()
                    .iter()
                    .zip(want.as_raw())
                    .map(|(a, b)| a.abs_diff(*b))
                    .collect();
                let face_max = diffs.iter().copied().max().unwrap_or(0);
                let face_sum: u64 = diffs.iter().map(|&d| u64::from(d)).sum();
                let face_mean = face_sum as f64 / diffs.len() as f64;
                if r.is_png() {
                    assert_eq!(
                        face_max, 0,
                        "{} face {i}: PNG chip must be bit-exact",
                        r.stem
                    );
                }
                if face_max == 0 {
                    exact += 1;
                } else {
                    eprintln!(
                        "{} face {i}: max diff {face_max}, mean {face_mean:.4}, {} values differ",
                        r.stem,
                        diffs.iter().filter(|&&d| d != 0).count()
                    );
                }
                if face_mean > worst_mean.0 {
                    worst_mean = (face_mean, format!("{} face {i}", r.stem));
                }
                n += 1;
                max_abs = max_abs.max(face_max);
                sum_abs += face_sum;
                count += diffs.len() as u64;
            }
        }
        let mean = sum_abs as f64 / count.max(1) as f64;
        eprintln!(
            "{}: {n} chips, {exact} bit-exact, max abs diff {max_abs}, mean abs diff {mean:.5}, worst chip mean {:.4} ({})",
            set.display(),
            worst_mean.0,
            worst_mean.1
        );
        assert!(n > 0);
        // libjpeg-turbo decoding + dlib's exact resampling: every chip is bit-identical.
        assert_eq!(max_abs, 0, "chip pixels differ by up to {max_abs}");
        assert!(
            worst_mean.0 <= 0.5,
            "chip mean diff {} at {}",
            worst_mean.0,
            worst_mean.1
        );
    }
}
