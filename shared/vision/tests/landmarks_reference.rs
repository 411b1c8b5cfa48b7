//! 5-point landmarks against dlib's reference output: for every reference face, run the
//! predictor on the reference HOG box (decoding the image with our decoder) and compare
//! with `landmarks_5`.
//!
//! The predictor is bit-exact to dlib, and JPEGs decode with libjpeg-turbo as in Pillow, so
//! every landmark must be identical (the brief allows 1 px; we hold the stricter line).

mod chip_support;

use chip_support::*;
use faceid_vision::shape::ShapePredictor;

#[test]
fn landmarks_match_dlib() {
    let sp = ShapePredictor::load(shape_predictor_path()).expect("load model");
    for set in reference_sets() {
        let (mut faces, mut exact, mut max_err, mut png_faces) = (0usize, 0usize, 0i64, 0usize);
        let mut worst = String::new();
        let mut histogram = [0usize; 8];
        for r in reference_images(&set) {
            let Some(img) = r.decode() else { continue };
            for (i, face) in r.faces().iter().enumerate() {
                let rect = rect(&face["rect_ltrb"]);
                let got = sp.predict(&img, rect);
                let want = landmarks(&face["landmarks_5"]);
                let err = got
                    .iter()
                    .zip(&want)
                    .map(|(g, w)| (g.x - w.x).abs().max((g.y - w.y).abs()))
                    .max()
                    .unwrap_or(0);
                faces += 1;
                exact += usize::from(err == 0);
                histogram[(err as usize).min(7)] += 1;
                png_faces += usize::from(r.is_png());
                assert_eq!(
                    got, want,
                    "{} face {i}: landmarks must equal dlib's",
                    r.stem
                );
                if err > max_err {
                    max_err = err;
                    worst = format!("{} face {i} (box width {})", r.stem, rect.width());
                }
            }
        }
        eprintln!(
            "{}: {faces} faces ({png_faces} from PNG), {exact} exact, max error {max_err} px at {worst}; \
             faces by max error 0..7+ px: {histogram:?}",
            set.display()
        );
        assert!(
            faces > 0 && png_faces > 0,
            "no reference faces in {}",
            set.display()
        );
    }
}
