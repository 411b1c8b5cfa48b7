// Temporary parity tool: decode every reference image with our decoder, dump raw RGB,
// our landmarks (from the reference rect) and our chips (from reference landmarks).
use faceid_vision::chip::*;
use faceid_vision::decode::*;
use faceid_vision::shape::ShapePredictor;
use faceid_vision::{Point, Rect};
use std::io::Write;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (set, out) = (&args[1], &args[2]);
    std::fs::create_dir_all(out).unwrap();
    let sp =
        ShapePredictor::load("/work/main/models/upstream/shape_predictor_5_face_landmarks.dat")
            .unwrap();
    let mut lf = std::fs::File::create(format!("{out}/landmarks.txt")).unwrap();
    let mut entries: Vec<_> = std::fs::read_dir(format!("{set}/reference"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().map_or(false, |e| e == "json") && !p.ends_with("manifest.json"))
        .collect();
    entries.sort();
    for p in entries {
        let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        let faces = j["faces"].as_array().unwrap();
        if faces.is_empty() {
            continue;
        }
        let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
        let bytes = std::fs::read(format!("{set}/{}", j["image"].as_str().unwrap())).unwrap();
        let lim = DecodeLimits {
            apply_exif_orientation: false,
            max_pixels: 1 << 40,
            max_bytes: 1 << 30,
        };
        let img = match decode_image(&bytes, &lim) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("{stem}: {e}");
                continue;
            }
        };
        std::fs::write(format!("{out}/{stem}.rgb"), img.as_raw()).unwrap();
        for (i, f) in faces.iter().enumerate() {
            let r: Vec<i64> = f["rect_ltrb"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            let got = sp.predict(&img, Rect::new(r[0], r[1], r[2], r[3]));
            write!(lf, "{stem} {i}").unwrap();
            for p in got {
                write!(lf, " {} {}", p.x, p.y).unwrap();
            }
            writeln!(lf).unwrap();
            let lm: Vec<Point> = f["landmarks_5"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| Point {
                    x: p[0].as_i64().unwrap(),
                    y: p[1].as_i64().unwrap(),
                })
                .collect();
            let d = get_face_chip_details(&[lm[0], lm[1], lm[2], lm[3], lm[4]], 150, 0.25);
            let chip = extract_image_chip(&img, &d);
            std::fs::write(format!("{out}/{stem}_{i}.rgb"), chip.as_raw()).unwrap();
        }
    }
}
