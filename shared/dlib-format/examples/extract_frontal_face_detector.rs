//! Regenerates `models/frontal_face_detector.dat` (dlib's serialized HOG frontal face
//! detector) from the base64 + `compress_stream::kernel_1ea` text in dlib's
//! `dlib/image_processing/frontal_face_detector.h`:
//!
//! ```text
//! cargo run -p faceid-dlib-format --example extract_frontal_face_detector -- \
//!     <dlib>/dlib/image_processing/frontal_face_detector.h models/frontal_face_detector.dat
//! ```
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: {} <frontal_face_detector.h> <out.dat>", args[0]);
        return ExitCode::from(2);
    }
    let result = std::fs::read_to_string(&args[1])
        .map_err(|e| e.to_string())
        .and_then(|src| {
            let compressed = faceid_dlib_format::compress::base64_from_cpp_source(&src)
                .map_err(|e| e.to_string())?;
            let raw = faceid_dlib_format::compress::decompress_kernel_1ea(&compressed)
                .map_err(|e| e.to_string())?;
            // Parse it once so a bad extraction is caught here, not at run time.
            faceid_dlib_format::hog_detector::HogDetectorModel::parse(&raw)
                .map_err(|e| e.to_string())?;
            std::fs::write(&args[2], &raw).map_err(|e| e.to_string())?;
            Ok(raw.len())
        });
    match result {
        Ok(n) => {
            println!("wrote {n} bytes to {}", args[2]);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
