//! dlib's HOG sliding-window detector (`object_detector<scan_fhog_pyramid<pyramid_down<6>>>`),
//! i.e. `dlib.get_frontal_face_detector()` as face_recognition runs it, with dlib's exact
//! numbers: same boxes, same scores bit for bit (every float operation is done in dlib's
//! order, including the different orders of its SIMD and scalar code paths), same order.
//! Verified on 115 images × upsample 0/1 with Pillow-decoded pixels: no difference.
//!
//! Pipeline (dlib sources in brackets):
//! 1. upsample the image `upsample` times with `pyramid_up` (python binding
//!    `run_detector_with_upscale1`);
//! 2. build the fHOG pyramid: `pyramid_down<6>` levels while the level rectangle stays at
//!    least the minimum layer size (`create_fhog_pyramid`), 31-plane fHOG per level
//!    ([`fhog`]);
//! 3. per filter, correlate with its SVD-separable filter bank ([`filterbank`], [`filter`]),
//!    keep windows scoring `>= threshold + adjust` (`detect_from_fhog_pyramid`);
//! 4. sort all windows by score and greedily drop those overlapping a kept one
//!    (`object_detector::operator()`, `test_box_overlap`);
//! 5. map boxes back through the upsampling (`pyramid_down<2>::rect_down`).

mod fhog;
mod filter;
mod filterbank;

use crate::pyramid::{
    pyramid_up_size, resize_bilinear_rgb_threads, DRect, PyramidDown2, PyramidDown6, PyramidMapping,
};
use crate::{BoxOverlap, Detection, Rect};
use faceid_dlib_format::hog_detector::{FhogScannerConfig, HogDetectorModel};
use fhog::{extract_fhog, Fhog, NUM_PLANES};
use filter::{filter_full_add, filter_separable_add, Area, Scratch};
use filterbank::FilterBank;
use image::RgbImage;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

/// dlib's serialized `get_frontal_face_detector()` (Boost licence), extracted from
/// `dlib/image_processing/frontal_face_detector.h` by
/// `cargo run -p faceid-dlib-format --example extract_frontal_face_detector`.
pub const FRONTAL_FACE_DETECTOR_DAT: &[u8] =
    include_bytes!("../../../../models/frontal_face_detector.dat");

/// Errors building a detector.
#[derive(Debug, thiserror::Error)]
pub enum HogError {
    #[error("invalid detector file: {0}")]
    Format(#[from] faceid_dlib_format::Error),
    #[error("filter {0}: SVD did not converge")]
    Svd(usize),
}

/// One filter of the detector: its filter bank and detection threshold.
#[derive(Debug, Clone)]
struct Filter {
    bank: FilterBank,
    thresh: f64,
}

/// A loaded HOG detector.
#[derive(Debug, Clone)]
pub struct HogDetector {
    config: FhogScannerConfig,
    overlap: BoxOverlap,
    filters: Vec<Filter>,
    /// fHOG window (filter) size in cells.
    fhog_w: usize,
    fhog_h: usize,
    /// Upper bound on worker threads (0 = one per available core).
    max_threads: usize,
}

impl HogDetector {
    /// Loads a serialized `object_detector<scan_fhog_pyramid<pyramid_down<6>>>`.
    pub fn from_bytes(data: &[u8]) -> Result<Self, HogError> {
        let model = HogDetectorModel::parse(data)?;
        let (w, h) = model.scanner.fhog_window_size();
        let (fhog_w, fhog_h) = (w as usize, h as usize);
        let dims = model.scanner.num_dimensions();
        let filters = model
            .weights
            .iter()
            .enumerate()
            .map(|(i, wv)| {
                let bank =
                    FilterBank::build(&wv[..dims], fhog_w, fhog_h).ok_or(HogError::Svd(i))?;
                Ok(Filter {
                    bank,
                    thresh: wv[dims],
                })
            })
            .collect::<Result<Vec<_>, HogError>>()?;
        // Build the process-wide orientation table now rather than in the first request.
        fhog::orientation_bins();
        Ok(Self {
            config: model.scanner,
            overlap: BoxOverlap {
                iou_thresh: model.iou_thresh,
                percent_covered_thresh: model.percent_covered_thresh,
            },
            filters,
            fhog_w,
            fhog_h,
            max_threads: 0,
        })
    }

    /// Limits the worker threads one detection may use (0, the default, means one per
    /// available core). A server handling concurrent requests may prefer 1.
    pub fn with_max_threads(mut self, max_threads: usize) -> Self {
        self.max_threads = max_threads;
        self
    }

    fn threads_for(&self, tasks: usize) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cap = if self.max_threads == 0 {
            cores
        } else {
            self.max_threads
        };
        cap.min(cores).min(tasks).max(1)
    }

    /// dlib's `get_frontal_face_detector()` (5 filters: front, left, right, front rotated
    /// left, front rotated right).
    pub fn frontal_face() -> Result<Self, HogError> {
        Self::from_bytes(FRONTAL_FACE_DETECTOR_DAT)
    }

    /// Number of filters (`num_detectors()`); [`Detection::filter_index`] indexes them.
    pub fn num_filters(&self) -> usize {
        self.filters.len()
    }

    /// Detection window size in pixels (`detection_window_width/height`).
    pub fn window_size(&self) -> (u32, u32) {
        (self.config.window_width, self.config.window_height)
    }

    /// dlib `detector.run(img, upsample, adjust_threshold)` on an RGB image: boxes in the
    /// input image's coordinates, scores (`detection_confidence`), filter indices, sorted
    /// by decreasing score. `adjust_threshold = 0.0` gives `detector(img, upsample)`, i.e.
    /// face_recognition's `face_locations(img, upsample, "hog")` (before it clips boxes).
    pub fn detect(&self, img: &RgbImage, upsample: u32, adjust_threshold: f64) -> Vec<Detection> {
        self.detect_many(img, upsample, &[adjust_threshold])
            .pop()
            .unwrap_or_default()
    }

    /// [`detect`](Self::detect) for several `adjust_threshold`s at the cost of one: the
    /// features and filter responses are shared, each threshold gets its own selection
    /// and non-max suppression (results identical to separate calls).
    pub fn detect_many(
        &self,
        img: &RgbImage,
        upsample: u32,
        adjust_thresholds: &[f64],
    ) -> Vec<Vec<Detection>> {
        let mut results = if upsample == 0 {
            self.detect_level0(img, adjust_thresholds)
        } else {
            let threads = self.threads_for(usize::MAX);
            let pyramid_up = |img: &RgbImage| {
                let (w, h) = pyramid_up_size(img.width(), img.height());
                resize_bilinear_rgb_threads(img, w, h, threads)
            };
            let mut up = pyramid_up(img);
            for _ in 1..upsample {
                up = pyramid_up(&up);
            }
            self.detect_level0(&up, adjust_thresholds)
        };
        if upsample > 0 {
            for d in results.iter_mut().flatten() {
                d.rect = PyramidDown2
                    .rect_down(DRect::from(d.rect), upsample)
                    .to_rect();
            }
        }
        results
    }

    /// `object_detector::operator()(img, dets, adjust_threshold)` without upsampling, for
    /// each threshold adjustment.
    fn detect_level0(&self, img: &RgbImage, adjusts: &[f64]) -> Vec<Vec<Detection>> {
        let Some(min_adjust) = adjusts.iter().copied().reduce(f64::min) else {
            return Vec::new();
        };
        // Task 0 makes the `pyramid_down<6>` images of levels 1.. one after the other;
        // task `1 + l` extracts level `l`'s fHOG and scans it with every filter (waiting
        // for its image if needed). Level 0 (the input, ~30 % of all work) starts at once
        // beside the resize chain, and the levels are handed out biggest first, so two
        // threads stay busy without a barrier between the stages.
        let levels = self.num_levels(img);
        let chain = LevelImages::new(levels.saturating_sub(1));
        let cell = self.config.cell_size as usize;
        let per_level = parallel_map(levels + 1, self.threads_for(levels + 1), |t| {
            let Some(level) = t.checked_sub(1) else {
                chain.produce(img);
                return Vec::new();
            };
            let level_img = match level.checked_sub(1) {
                None => img,
                Some(i) => match chain.wait(i) {
                    Some(im) => im,
                    // The resize panicked; its worker re-raises the panic.
                    None => return Vec::new(),
                },
            };
            let feats = extract_fhog(level_img, cell, self.fhog_h, self.fhog_w);
            let mut scratch = Scratch::default();
            let mut saliency = Vec::new();
            self.filters
                .iter()
                .map(|f| {
                    let mut dets = Vec::new();
                    self.scan_level(
                        f,
                        &feats,
                        level as u32,
                        f.thresh + min_adjust,
                        &mut scratch,
                        &mut saliency,
                        &mut dets,
                    );
                    dets
                })
                .collect::<Vec<_>>()
        });
        // Per filter: every window scoring >= thresh + min_adjust in dlib's scan order
        // (level, row, column), then sorted by decreasing score. dlib sorts each filter's
        // windows, then (several filters) all of them again; std::sort is unstable, so
        // equal scores may come out in another order in dlib (ties are rare: scores are
        // sums of float products).
        let mut windows: Vec<Vec<(f32, Rect)>> = vec![Vec::new(); self.filters.len()];
        for level in per_level {
            for (w, dets) in windows.iter_mut().zip(level) {
                w.extend(dets);
            }
        }
        for w in &mut windows {
            w.sort_by(|a, b| b.0.total_cmp(&a.0));
        }
        adjusts
            .iter()
            .map(|&adjust| {
                let mut all: Vec<Detection> = Vec::new();
                for (index, (f, w)) in self.filters.iter().zip(&windows).enumerate() {
                    // Same comparison as dlib: float score against the double threshold.
                    let t = f.thresh + adjust;
                    all.extend(w.iter().filter(|(s, _)| *s as f64 >= t).map(|&(s, rect)| {
                        Detection {
                            rect,
                            score: s as f64 - f.thresh,
                            filter_index: index,
                        }
                    }));
                }
                if self.filters.len() > 1 {
                    all.sort_by(|a, b| b.score.total_cmp(&a.score));
                }
                let mut kept: Vec<Detection> = Vec::new();
                for d in all {
                    if kept
                        .iter()
                        .all(|k| !self.overlap.overlaps(&k.rect, &d.rect))
                    {
                        kept.push(d);
                    }
                }
                kept
            })
            .collect()
    }

    /// `create_fhog_pyramid`: number of levels from repeated `rect_down` of the image
    /// rectangle (level 0 is the image itself).
    fn num_levels(&self, img: &RgbImage) -> usize {
        let c = &self.config;
        let mut rect = Rect::new(0, 0, img.width() as i64 - 1, img.height() as i64 - 1);
        let mut levels = 0u32;
        loop {
            rect = PyramidDown6.rect_down(DRect::from(rect), 1).to_rect();
            levels += 1;
            if !(rect.width() >= c.min_pyramid_layer_width as i64
                && rect.height() >= c.min_pyramid_layer_height as i64
                && levels < c.max_pyramid_levels)
            {
                break;
            }
        }
        levels as usize
    }

    /// `detect_from_fhog_pyramid` for one level: windows with score `>= thresh`.
    #[allow(clippy::too_many_arguments)]
    fn scan_level(
        &self,
        f: &Filter,
        feats: &Fhog,
        level: u32,
        thresh: f64,
        scratch: &mut Scratch,
        saliency: &mut Vec<f32>,
        dets: &mut Vec<(f32, Rect)>,
    ) {
        if feats.is_empty() {
            return;
        }
        let (nr, nc) = (feats.nr, feats.nc);
        let bank = &f.bank;
        let Some(area) = Area::new(nr, nc, self.fhog_w, self.fhog_h) else {
            return;
        };
        saliency.clear();
        saliency.resize(nr * nc, 0.0);
        if bank.use_full_filters() {
            for p in 0..NUM_PLANES {
                let filt = &bank.full[p * self.fhog_w * self.fhog_h..][..self.fhog_w * self.fhog_h];
                filter_full_add(feats.plane(p), nc, area, filt, self.fhog_w, saliency);
            }
        } else {
            if bank.num_separable() == 0 {
                // dlib: an all-zero saliency image and an empty area.
                return;
            }
            for (p, terms) in bank.separable.iter().enumerate() {
                for t in terms {
                    filter_separable_add(
                        feats.plane(p),
                        nc,
                        area,
                        &t.row,
                        &t.col,
                        scratch,
                        saliency,
                    );
                }
            }
        }
        let cell = self.config.cell_size as i64;
        let (box_w, box_h) = (
            self.fhog_w as i64 - 2 * self.config.padding as i64,
            self.fhog_h as i64 - 2 * self.config.padding as i64,
        );
        for r in area.first_row..area.last_row {
            for c in area.first_col..area.last_col {
                let s = saliency[r * nc + c];
                if s as f64 >= thresh {
                    let fhog_rect = centered_rect(c as i64, r as i64, box_w, box_h);
                    let img_rect =
                        fhog_to_image(fhog_rect, cell, self.fhog_h as i64, self.fhog_w as i64);
                    let rect = PyramidDown6.rect_up(DRect::from(img_rect), level).to_rect();
                    dets.push((s, rect));
                }
            }
        }
    }
}

/// dlib `centered_rect(point(x, y), w, h)`.
fn centered_rect(x: i64, y: i64, w: i64, h: i64) -> Rect {
    let left = x - w / 2;
    let top = y - h / 2;
    Rect::new(left, top, left + w - 1, top + h - 1)
}

/// dlib `fhog_to_image(rect, cell_size, filter_rows_padding, filter_cols_padding)`.
fn fhog_to_image(r: Rect, cell: i64, rows_pad: i64, cols_pad: i64) -> Rect {
    let map = |x: i64, pad: i64| {
        let p = (x + 1 - (pad - 1) / 2) * cell + 1;
        p + if p >= 0 { cell / 2 } else { -(cell / 2) }
    };
    Rect::new(
        map(r.left, cols_pad),
        map(r.top, rows_pad),
        map(r.right, cols_pad),
        map(r.bottom, rows_pad),
    )
}

/// The `pyramid_down<6>` images of pyramid levels 1.., made in order by one worker
/// ([`produce`](Self::produce)) while other workers wait for the one they need.
struct LevelImages {
    slots: Vec<OnceLock<RgbImage>>,
    /// Set once the producer has stopped (finished, or unwound from a panic).
    stopped: Mutex<bool>,
    changed: Condvar,
}

impl LevelImages {
    fn new(n: usize) -> Self {
        Self {
            slots: (0..n).map(|_| OnceLock::new()).collect(),
            stopped: Mutex::new(false),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, bool> {
        // The flag stays meaningful even if a holder panicked.
        self.stopped.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Downsamples `first` into each slot in turn, waking waiters after each image.
    fn produce(&self, first: &RgbImage) {
        /// Wakes the waiters for good even if a resize panics, so none waits forever.
        struct Stop<'a>(&'a LevelImages);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                *self.0.lock() = true;
                self.0.changed.notify_all();
            }
        }
        let _stop = Stop(self);
        let mut prev = first;
        for slot in &self.slots {
            let (w, h) = PyramidDown6::output_size(prev.width(), prev.height());
            // One thread: the other workers are busy with the levels already made.
            let img = slot.get_or_init(|| resize_bilinear_rgb_threads(prev, w, h, 1));
            // Taking the lock orders this wake-up after any waiter's check of the slot.
            let _guard = self.lock();
            self.changed.notify_all();
            prev = img;
        }
    }

    /// The image of slot `i` once made; `None` if the producer stopped without it.
    fn wait(&self, i: usize) -> Option<&RgbImage> {
        let slot = self.slots.get(i)?;
        let mut stopped = self.lock();
        loop {
            if let Some(img) = slot.get() {
                return Some(img);
            }
            if *stopped {
                return None;
            }
            stopped = self
                .changed
                .wait(stopped)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// `f(0..n)` on up to `threads` scoped threads (work-stealing by an atomic counter), results
/// in index order.
fn parallel_map<T: Send>(n: usize, threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    if threads <= 1 || n <= 1 {
        return (0..n).map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        out.push((i, f(i)));
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| match w.join() {
                Ok(v) => v,
                // A worker only panics if `f` does; re-raise it here.
                Err(e) => std::panic::resume_unwind(e),
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, v)| v).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by a dlib program for `get_frontal_face_detector()`:
    /// `build_fhog_filterbank(get_w(i))` → `num_separable_filters()`, the threshold
    /// `get_w(i)(3100)`, and the first row/column filter taps of plane 0 (signs included:
    /// our SVD is a port of dlib's, so even the arbitrary signs agree).
    #[test]
    #[allow(clippy::excessive_precision)] // dlib's printed digits, verbatim
    fn filter_banks_match_dlib() {
        let d = HogDetector::frontal_face().unwrap();
        let want: [(usize, f64, f32, f32); 5] = [
            (61, 3.2744957766996508, 0.1012206, -0.29568404),
            (58, 3.9868216360740241, 0.0594052859, 0.0115389945),
            (54, 3.8959356750348184, 0.00872260332, 0.249933138),
            (66, 3.5148690352596796, -0.104900979, 0.0813248381),
            (66, 3.5580290258303688, -0.121149436, 0.0651976392),
        ];
        assert_eq!(d.filters.len(), 5);
        for (f, &(nsep, thresh, r0, c0)) in d.filters.iter().zip(&want) {
            assert_eq!(f.bank.num_separable(), nsep);
            assert!(!f.bank.use_full_filters());
            assert_eq!(f.thresh, thresh);
            let first = &f.bank.separable[0][0];
            assert!(
                (first.row[0] - r0).abs() <= 1e-7,
                "{} vs {r0}",
                first.row[0]
            );
            assert!(
                (first.col[0] - c0).abs() <= 1e-7,
                "{} vs {c0}",
                first.col[0]
            );
        }
        assert_eq!(d.overlap.iou_thresh, 0.33008212188056446);
        assert_eq!(d.overlap.percent_covered_thresh, 0.78857142857142859);
    }

    #[test]
    fn tiny_and_empty_images_give_no_detections() {
        let d = HogDetector::frontal_face().unwrap();
        for (w, h) in [(0, 0), (1, 1), (7, 300), (30, 30), (79, 79)] {
            let img = RgbImage::new(w, h);
            assert!(d.detect(&img, 0, -1.0).is_empty());
            assert!(d.detect(&img, 1, -1.0).is_empty());
        }
    }

    #[test]
    fn overlap_test_uses_the_bounding_box() {
        let d = HogDetector::frontal_face().unwrap();
        let a = Rect::new(0, 0, 99, 99);
        // Intersection 50x100 = 5000; bounding box 150x100 = 15000 → 1/3 > 0.330.
        assert!(d.overlap.overlaps(&a, &Rect::new(50, 0, 149, 99)));
        // Intersection 40x100 = 4000; bounding box 160x100 → 0.25, covered 0.4.
        assert!(!d.overlap.overlaps(&a, &Rect::new(60, 0, 159, 99)));
        assert!(!d.overlap.overlaps(&a, &Rect::new(100, 0, 199, 99)));
    }
}
