//! Untrusted image bytes → RGB8, with size limits checked before the pixels are decoded.
//!
//! The colour conversion follows what the reference pipeline sees: `face_recognition`'s
//! `load_image_file` is Pillow `Image.open(..).convert("RGB")`:
//! - greyscale (1/2/4/8-bit, with or without alpha) is replicated into R, G and B;
//! - palette images are expanded through the palette;
//! - alpha is dropped, never composited over a background;
//! - 16-bit RGB/RGBA/LA samples keep their high byte (`v >> 8`), as Pillow's `RGB;16B`
//!   raw modes do (checked with Pillow 13.0.0).
//!
//! Deliberate deviations from Pillow, for a login service:
//! - 16-bit *greyscale without alpha*: Pillow opens it as mode `I;16` and `convert("RGB")`
//!   saturates every value above 255 to white, so nearly the whole picture turns white.
//!   We take the high byte like every other 16-bit type.
//! - EXIF orientation: `load_image_file` ignores it; we apply it by default (phone photos),
//!   see [`DecodeLimits::apply_exif_orientation`]. Set it to `false` for reference parity.
//! - JPEGs are decoded by libjpeg-turbo (through `mozjpeg`, default settings: integer
//!   IDCT, fancy upsampling), the decoder inside Pillow: the pixels are bit-identical to
//!   the reference's, so detectors, landmarks and chips see exactly what dlib saw.
//!   CMYK/YCCK JPEGs, which libjpeg cannot turn into RGB, go through the `image` crate's
//!   decoder (zune-jpeg), whose formula differs slightly from Pillow's.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

/// What [`decode_image`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted encoded size in bytes.
    pub max_bytes: usize,
    /// Largest accepted `width × height` (read from the header, before decoding).
    pub max_pixels: u64,
    /// Rotate/flip the picture as its EXIF orientation tag says. The reference pipeline
    /// (`face_recognition.load_image_file`) does not; the fixtures have no rotated image.
    pub apply_exif_orientation: bool,
}

impl DecodeLimits {
    /// 10 MiB of encoded data.
    pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;
    /// 20 megapixels.
    pub const DEFAULT_MAX_PIXELS: u64 = 20_000_000;
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_pixels: Self::DEFAULT_MAX_PIXELS,
            apply_exif_orientation: true,
        }
    }
}

/// Why an input could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("empty input")]
    Empty,
    #[error("input is {len} bytes, more than the limit of {max}")]
    TooManyBytes { len: usize, max: usize },
    #[error("image is {width}x{height} pixels, more than the limit of {max}")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("image has a zero dimension ({width}x{height})")]
    ZeroSize { width: u32, height: u32 },
    #[error("unsupported image format (only JPEG and PNG are accepted)")]
    UnsupportedFormat,
    #[error("the decoder needed more memory than allowed: {0}")]
    MemoryLimit(String),
    #[error("corrupt image: {0}")]
    Corrupt(String),
}

/// Decodes JPEG or PNG bytes to 8-bit RGB (see the module docs for the conversion rules).
///
/// Checks, in order: non-empty, byte limit, format sniffed from the content (not a file
/// name), header dimensions against the pixel limit, and only then decodes, with the
/// decoder's own allocation limit set as a second line of defence.
pub fn decode_image(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(DecodeError::TooManyBytes {
            len: bytes.len(),
            max: limits.max_bytes,
        });
    }
    // zune-jpeg and png are fuzzed, but a panic here would take down a request handler
    // on attacker-controlled bytes; turn any into a typed error.
    std::panic::catch_unwind(|| decode_checked(bytes, limits))
        .unwrap_or_else(|_| Err(DecodeError::Corrupt("decoder panicked".into())))
}

fn decode_checked(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, DecodeError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    let format = match reader.format() {
        Some(f @ (ImageFormat::Jpeg | ImageFormat::Png)) => f,
        _ => return Err(DecodeError::UnsupportedFormat),
    };
    // Only the header is parsed here.
    let mut decoder = reader.into_decoder().map_err(map_image_error)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(DecodeError::ZeroSize { width, height });
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(DecodeError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    let mut decoder_limits = image::Limits::default();
    // The largest decoded buffer is RGBA16 (8 bytes a pixel); allow the same again for
    // decoder scratch space.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(16).max(1 << 20));
    decoder
        .set_limits(decoder_limits)
        .map_err(map_image_error)?;
    let orientation = if limits.apply_exif_orientation {
        // A broken EXIF block should not reject an otherwise good picture.
        decoder.orientation().ok()
    } else {
        None
    };
    let libjpeg = if format == ImageFormat::Jpeg {
        decode_jpeg_libjpeg(bytes, width, height)?
    } else {
        None
    };
    let rgb = match libjpeg {
        Some(rgb) => rgb,
        None => to_rgb8_like_pillow(DynamicImage::from_decoder(decoder).map_err(map_image_error)?),
    };
    Ok(match orientation {
        Some(o) => {
            let mut d = DynamicImage::ImageRgb8(rgb);
            d.apply_orientation(o);
            d.into_rgb8()
        }
        None => rgb,
    })
}

/// libjpeg-turbo decode to RGB; `Ok(None)` for colour spaces it cannot convert (CMYK).
/// The header was already checked against the pixel limit.
fn decode_jpeg_libjpeg(
    bytes: &[u8],
    width: u32,
    height: u32,
) -> Result<Option<RgbImage>, DecodeError> {
    use mozjpeg::ColorSpace;
    let corrupt = |e: std::io::Error| DecodeError::Corrupt(e.to_string());
    let d = mozjpeg::Decompress::new_mem(bytes).map_err(corrupt)?;
    if matches!(d.color_space(), ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK) {
        return Ok(None);
    }
    let mut started = d.rgb().map_err(corrupt)?;
    if (started.width() as u64, started.height() as u64) != (u64::from(width), u64::from(height)) {
        return Err(DecodeError::Corrupt(
            "JPEG size differs between decoders".into(),
        ));
    }
    let rows: Vec<[u8; 3]> = started.read_scanlines().map_err(corrupt)?;
    // A truncated file still yields rows (libjpeg pads with grey); `finish` reports it.
    started.finish().map_err(corrupt)?;
    let buf: Vec<u8> = rows.into_iter().flatten().collect();
    RgbImage::from_raw(width, height, buf)
        .map(Some)
        .ok_or_else(|| DecodeError::Corrupt("JPEG ended early".into()))
}

fn map_image_error(e: image::ImageError) -> DecodeError {
    use image::error::ImageError as E;
    match e {
        E::Unsupported(_) => DecodeError::UnsupportedFormat,
        E::Limits(l) => DecodeError::MemoryLimit(l.to_string()),
        other => DecodeError::Corrupt(other.to_string()),
    }
}

/// Pillow's `convert("RGB")` for the colour types the JPEG and PNG decoders produce.
fn to_rgb8_like_pillow(image: DynamicImage) -> RgbImage {
    let (w, h) = (image.width(), image.height());
    let expand = |samples: &[u8], channels: usize, grey: bool| -> Vec<u8> {
        let mut out = Vec::with_capacity(samples.len() / channels * 3);
        for px in samples.chunks_exact(channels) {
            if grey {
                out.extend_from_slice(&[px[0], px[0], px[0]]);
            } else {
                out.extend_from_slice(&px[..3]);
            }
        }
        out
    };
    let high_bytes =
        |samples: &[u16]| -> Vec<u8> { samples.iter().map(|&v| (v >> 8) as u8).collect() };
    let buf = match image {
        DynamicImage::ImageRgb8(img) => return img,
        DynamicImage::ImageRgba8(img) => expand(img.as_raw(), 4, false),
        DynamicImage::ImageLuma8(img) => expand(img.as_raw(), 1, true),
        DynamicImage::ImageLumaA8(img) => expand(img.as_raw(), 2, true),
        DynamicImage::ImageRgb16(img) => high_bytes(img.as_raw()),
        DynamicImage::ImageRgba16(img) => expand(&high_bytes(img.as_raw()), 4, false),
        DynamicImage::ImageLuma16(img) => expand(&high_bytes(img.as_raw()), 1, true),
        DynamicImage::ImageLumaA16(img) => expand(&high_bytes(img.as_raw()), 2, true),
        // Float images come from neither JPEG nor PNG; keep the crate's conversion.
        other => return other.into_rgb8(),
    };
    // The buffer length is w*h*3 by construction, so this cannot fail; fall back to a
    // black image rather than panicking if it ever did.
    RgbImage::from_raw(w, h, buf).unwrap_or_else(|| RgbImage::new(w, h))
}
