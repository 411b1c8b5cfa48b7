//! A serialized `object_detector<scan_fhog_pyramid<pyramid_down<6>>>` (dlib's HOG detector,
//! e.g. `get_frontal_face_detector()`, saved as `models/frontal_face_detector.dat`).
//!
//! Layout (dlib `object_detector.h`, `scan_fhog_pyramid.h`, `box_overlap_testing.h`):
//! `int version = 2`, the scanner (`int version = 1`, the feature extractor (nothing), the
//! cached feature pyramid `feats` (normally empty), `cell_size`, `padding`, window width and
//! height, max pyramid levels, min pyramid layer width and height, the nuclear-norm strength
//! (double) and the number of dimensions), the overlap tester (IoU and percent-covered
//! thresholds, doubles), then the number of weight vectors and each `matrix<double,0,1>`.
//! Each weight vector holds `num_dimensions` filter weights plus the detection threshold.
//!
//! Only the raw numbers are parsed here; the separable filter bank dlib derives from them
//! is built by `faceid_vision::hog`.

use crate::reader::{Error, Reader, Result};

/// The `scan_fhog_pyramid` configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct FhogScannerConfig {
    pub cell_size: u32,
    pub padding: u32,
    pub window_width: u32,
    pub window_height: u32,
    pub max_pyramid_levels: u32,
    pub min_pyramid_layer_width: u32,
    pub min_pyramid_layer_height: u32,
    pub nuclear_norm_regularization_strength: f64,
}

/// fHOG has 31 feature planes (`default_fhog_feature_extractor::get_num_planes`).
pub const FHOG_PLANES: usize = 31;

impl FhogScannerConfig {
    /// dlib `compute_fhog_window_size`: the filter size in fHOG cells, `(width, height)`.
    pub fn fhog_window_size(&self) -> (u32, u32) {
        // centered_rect(point(0,0), w, h), mapped through image_to_fhog(rect, cell, 1, 1)
        // and grown by `padding` cells on each side.
        let c = self.cell_size as i64;
        let side = |len: u32| {
            let lo = -(len as i64) / 2;
            let hi = lo + len as i64 - 1;
            // image_to_fhog: (p - 1) / cell - 1 (C++ division truncates toward zero).
            let to_fhog = |p: i64| (p - 1) / c - 1;
            (to_fhog(hi) - to_fhog(lo) + 1 + 2 * self.padding as i64).max(0) as u32
        };
        (side(self.window_width), side(self.window_height))
    }

    /// `get_num_dimensions()`: 31 planes × filter area.
    pub fn num_dimensions(&self) -> usize {
        let (w, h) = self.fhog_window_size();
        w as usize * h as usize * FHOG_PLANES
    }
}

/// A parsed HOG object detector.
#[derive(Debug, Clone, PartialEq)]
pub struct HogDetectorModel {
    pub scanner: FhogScannerConfig,
    /// `test_box_overlap` thresholds used by the non-max suppression.
    pub iou_thresh: f64,
    pub percent_covered_thresh: f64,
    /// One weight vector per filter: `num_dimensions` weights (plane-major, then row-major
    /// within the `height × width` filter), then the detection threshold.
    pub weights: Vec<Vec<f64>>,
}

impl HogDetectorModel {
    /// Parses the bytes of a serialized `object_detector<scan_fhog_pyramid<...>>`.
    pub fn parse(data: &[u8]) -> Result<Self> {
        let mut r = Reader::new(data);
        let version = r.int()?;
        if version != 2 {
            return Err(r.unexpected(format!("object_detector version {version} (want 2)")));
        }
        let scanner = parse_scanner(&mut r)?;
        let iou_thresh = r.f64()?;
        let percent_covered_thresh = r.f64()?;
        if !(0.0..=1.0).contains(&iou_thresh) || !(0.0..=1.0).contains(&percent_covered_thresh) {
            return Err(r.unexpected("overlap thresholds outside [0, 1]"));
        }
        let dims = scanner.num_dimensions();
        // Each weight vector has at least dims+1 values of >= 2 bytes each.
        let count = r.len(2 * (dims + 1))?;
        if count == 0 {
            return Err(r.unexpected("detector has no weight vectors"));
        }
        let mut weights = Vec::with_capacity(count);
        for _ in 0..count {
            let offset = r.offset();
            let (nr, nc, w) = r.matrix()?;
            if nc != 1 || nr != dims + 1 || w.iter().any(|v| !v.is_finite()) {
                return Err(Error::Unexpected {
                    offset,
                    what: format!("weight vector {nr}x{nc} (want {}x1, finite)", dims + 1),
                });
            }
            weights.push(w);
        }
        if !r.is_empty() {
            return Err(r.unexpected(format!("{} trailing bytes", r.remaining())));
        }
        Ok(Self {
            scanner,
            iou_thresh,
            percent_covered_thresh,
            weights,
        })
    }
}

fn parse_scanner(r: &mut Reader) -> Result<FhogScannerConfig> {
    let version = r.int()?;
    if version != 1 {
        return Err(r.unexpected(format!("scan_fhog_pyramid version {version} (want 1)")));
    }
    // default_fhog_feature_extractor serializes nothing. Then the cached feature pyramid:
    // array<array<array2d<float>>> (max_size, size, elements); skipped if present.
    let _max_size = r.int()?;
    let levels = r.len(2)?;
    for _ in 0..levels {
        let _max_size = r.int()?;
        let planes = r.len(2)?;
        for _ in 0..planes {
            r.matrix()?;
        }
    }
    let small = |r: &mut Reader, what: &'static str, lo: i64, hi: i64| -> Result<u32> {
        let offset = r.offset();
        let v = r.int()?;
        if v < lo || v > hi {
            return Err(Error::OutOfRange {
                offset,
                what,
                value: v as i128,
            });
        }
        Ok(v as u32)
    };
    let cell_size = small(r, "cell_size", 1, 256)?;
    let padding = small(r, "padding", 0, 64)?;
    let window_width = small(r, "window width", 1, 4096)?;
    let window_height = small(r, "window height", 1, 4096)?;
    let max_pyramid_levels = small(r, "max pyramid levels", 1, i64::from(u32::MAX))?;
    let min_pyramid_layer_width = small(r, "min pyramid layer width", 1, 1 << 20)?;
    let min_pyramid_layer_height = small(r, "min pyramid layer height", 1, 1 << 20)?;
    let nuclear_norm_regularization_strength = r.f64()?;
    let config = FhogScannerConfig {
        cell_size,
        padding,
        window_width,
        window_height,
        max_pyramid_levels,
        min_pyramid_layer_width,
        min_pyramid_layer_height,
        nuclear_norm_regularization_strength,
    };
    let offset = r.offset();
    let dims = r.int()?;
    if dims != config.num_dimensions() as i64 {
        return Err(Error::Unexpected {
            offset,
            what: format!(
                "scanner dimensions {dims}, expected {}",
                config.num_dimensions()
            ),
        });
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_size_of_the_face_detector() {
        let c = FhogScannerConfig {
            cell_size: 8,
            padding: 0,
            window_width: 80,
            window_height: 80,
            max_pyramid_levels: 1000,
            min_pyramid_layer_width: 64,
            min_pyramid_layer_height: 64,
            nuclear_norm_regularization_strength: 0.0,
        };
        assert_eq!(c.fhog_window_size(), (10, 10));
        assert_eq!(c.num_dimensions(), 3100);
    }

    /// The committed detector (byte-identical to `dlib.get_frontal_face_detector().save()`):
    /// values as dlib reports them (`num_detectors`, `detection_window_width`, the overlap
    /// tester and thresholds printed by a dlib program).
    #[test]
    fn parses_dlib_frontal_face_detector() {
        let data = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../models/frontal_face_detector.dat"),
        )
        .unwrap();
        let m = HogDetectorModel::parse(&data).unwrap();
        assert_eq!(m.weights.len(), 5);
        assert_eq!(m.scanner.window_width, 80);
        assert_eq!(m.scanner.window_height, 80);
        assert_eq!(m.scanner.cell_size, 8);
        assert_eq!(m.scanner.padding, 0);
        assert_eq!(m.scanner.fhog_window_size(), (10, 10));
        assert!(m.weights.iter().all(|w| w.len() == 3101));
        // Every strict prefix must fail cleanly.
        for cut in [1, 10, 100, data.len() / 2, data.len() - 1] {
            assert!(HogDetectorModel::parse(&data[..cut]).is_err());
        }
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert!(HogDetectorModel::parse(&[]).is_err());
        assert!(HogDetectorModel::parse(&[0x01, 0x02, 0x01, 0x01]).is_err());
    }
}
