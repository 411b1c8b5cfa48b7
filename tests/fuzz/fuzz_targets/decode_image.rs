//! `faceid_vision::decode::decode_image`, the service's only path from untrusted bytes to
//! pixels, with the limits the face pipeline uses (pixel limit lowered so headers that
//! claim big images stay cheap to decode).
//!
//! Property: never panics (libfuzzer-sys aborts on any panic, even one the function's own
//! `catch_unwind` would turn into `DecodeError::Corrupt`, so decoder panics are seen
//! too); a decoded image respects the pixel limit and has `w * h * 3` bytes.
#![no_main]

use faceid_vision::decode::{decode_image, DecodeLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    // The service's settings (EXIF orientation applied), but 1 megapixel.
    let limits = DecodeLimits {
        max_pixels: 1 << 20,
        ..DecodeLimits::default()
    };
    if let Ok(img) = decode_image(bytes, &limits) {
        let (w, h) = (u64::from(img.width()), u64::from(img.height()));
        assert!(w > 0 && h > 0 && w * h <= limits.max_pixels);
        assert_eq!(img.as_raw().len() as u64, w * h * 3);
    }
});
