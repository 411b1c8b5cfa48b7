//! dlib's image pyramids and bilinear resize, bit-exact.
//!
//! Sources (dlib 20.0.1): `image_transforms/image_pyramid.h` (`pyramid_down<N>`,
//! `pyramid_down_2_1`, tiled pyramids), `image_transforms/interpolation.h` (`resize_image`
//! with `interpolate_bilinear`, `pyramid_up`).
//!
//! Exactness notes:
//! - dlib's bilinear `resize_image` for RGB and for same-type grayscale images walks each row
//!   four columns at a time in SSE **single precision** (`simd4f`), accumulating the column
//!   position in float and truncating (`_mm_cvttps_epi32`) to u8; the last group of columns
//!   (where the right neighbour would leave the image) is done in double precision. Both are
//!   reproduced here operation by operation (Rust never fuses a multiply and an add, and
//!   dlib is built without FMA), which is what makes the outputs identical to dlib's.
//! - `pyramid_down<6>` on an image is that resize to `floor(5·n/6)` per side.
//! - `pyramid_up(img)` is dlib's `pyramid_up` with `pyramid_down<2>`: the output size comes
//!   from `pyramid_down<2>::rect_up` of the image rectangle, i.e. `2·h + 1` rows and
//!   `2·w + 2` columns, followed by the same bilinear resize.

use image::RgbImage;

use crate::{Point, Rect};

/// A dlib `dpoint` (`vector<double,2>`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DPoint {
    pub x: f64,
    pub y: f64,
}

impl DPoint {
    pub fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }

    /// dlib's `vector<double,2>` → `point` conversion: `floor(v + 0.5)` per coordinate.
    pub fn to_point(self) -> Point {
        Point {
            x: (self.x + 0.5).floor() as i64,
            y: (self.y + 0.5).floor() as i64,
        }
    }
}

impl From<Point> for DPoint {
    fn from(p: Point) -> Self {
        Self::new(p.x as f64, p.y as f64)
    }
}

/// A dlib `drectangle`: corners in double precision.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DRect {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl DRect {
    pub fn new(left: f64, top: f64, right: f64, bottom: f64) -> Self {
        Self {
            left,
            top,
            right,
            bottom,
        }
    }

    pub fn from_corners(tl: DPoint, br: DPoint) -> Self {
        Self::new(tl.x, tl.y, br.x, br.y)
    }

    pub fn tl(&self) -> DPoint {
        DPoint::new(self.left, self.top)
    }

    pub fn br(&self) -> DPoint {
        DPoint::new(self.right, self.bottom)
    }

    /// dlib `center(drectangle)`: `(tl + br) / 2`.
    pub fn center(&self) -> DPoint {
        DPoint::new(
            (self.left + self.right) / 2.0,
            (self.top + self.bottom) / 2.0,
        )
    }

    /// dlib `centered_drect(p, width, height)`.
    pub fn centered(p: DPoint, width: f64, height: f64) -> Self {
        let w = width - 1.0;
        let h = height - 1.0;
        Self::new(p.x - w / 2.0, p.y - h / 2.0, p.x + w / 2.0, p.y + h / 2.0)
    }

    /// dlib's `drectangle` → `rectangle` conversion: `std::lround` of each side
    /// (halves round away from zero, as `f64::round` does).
    pub fn to_rect(&self) -> Rect {
        Rect::new(
            self.left.round() as i64,
            self.top.round() as i64,
            self.right.round() as i64,
            self.bottom.round() as i64,
        )
    }
}

impl From<Rect> for DRect {
    fn from(r: Rect) -> Self {
        Self::new(r.left as f64, r.top as f64, r.right as f64, r.bottom as f64)
    }
}

/// The coordinate mappings of a dlib pyramid type (`point_down`/`point_up` and friends).
pub trait PyramidMapping {
    /// Maps a point of a level to the next smaller level.
    fn point_down(&self, p: DPoint) -> DPoint;
    /// Maps a point of a level to the next bigger level.
    fn point_up(&self, p: DPoint) -> DPoint;

    /// `point_down` applied `levels` times (dlib iterates, it does not use a closed form).
    fn point_down_n(&self, p: DPoint, levels: u32) -> DPoint {
        (0..levels).fold(p, |p, _| self.point_down(p))
    }

    fn point_up_n(&self, p: DPoint, levels: u32) -> DPoint {
        (0..levels).fold(p, |p, _| self.point_up(p))
    }

    fn rect_down(&self, r: DRect, levels: u32) -> DRect {
        DRect::from_corners(
            self.point_down_n(r.tl(), levels),
            self.point_down_n(r.br(), levels),
        )
    }

    fn rect_up(&self, r: DRect, levels: u32) -> DRect {
        DRect::from_corners(
            self.point_up_n(r.tl(), levels),
            self.point_up_n(r.br(), levels),
        )
    }
}

/// dlib `pyramid_down<6>`: each level is 5/6 of the previous one.
#[derive(Debug, Clone, Copy, Default)]
pub struct PyramidDown6;

impl PyramidDown6 {
    /// dlib `pyramid_rate(pyramid_down<6>)`.
    pub const RATE: f64 = 5.0 / 6.0;

    /// Output size of one level (`find_pyramid_down_output_image_size`, and equally the
    /// integer `(5·n)/6` of `pyramid_down<6>::operator()`): `floor(5·n/6)` per side.
    pub fn output_size(width: u32, height: u32) -> (u32, u32) {
        (down6_len(width), down6_len(height))
    }
}

fn down6_len(n: u32) -> u32 {
    // (N-1)*n/N in integers; u64 so that no u32 input overflows.
    ((u64::from(n) * 5) / 6) as u32
}

impl PyramidMapping for PyramidDown6 {
    fn point_down(&self, p: DPoint) -> DPoint {
        // dlib: (p - 0.3)*ratio with ratio = (N-1.0)/N.
        let ratio = 5.0 / 6.0;
        DPoint::new((p.x - 0.3) * ratio, (p.y - 0.3) * ratio)
    }

    fn point_up(&self, p: DPoint) -> DPoint {
        // dlib: p*ratio + 0.3 with ratio = N/(N-1.0).
        let ratio = 6.0 / 5.0;
        DPoint::new(p.x * ratio + 0.3, p.y * ratio + 0.3)
    }
}

/// dlib `pyramid_down<2>` (`impl::pyramid_down_2_1`) coordinate mapping. Used by
/// `pyramid_up` and by dlib's detectors to map boxes found on an upsampled image back.
#[derive(Debug, Clone, Copy, Default)]
pub struct PyramidDown2;

impl PyramidMapping for PyramidDown2 {
    fn point_down(&self, p: DPoint) -> DPoint {
        DPoint::new(p.x / 2.0 - 1.25, p.y / 2.0 - 0.75)
    }

    fn point_up(&self, p: DPoint) -> DPoint {
        DPoint::new((p.x + 1.25) * 2.0, (p.y + 0.75) * 2.0)
    }
}

/// dlib `pyramid_down<6>` applied to an RGB image (`pyr(in, out)`).
pub fn pyramid_down_6(img: &RgbImage) -> RgbImage {
    let (w, h) = PyramidDown6::output_size(img.width(), img.height());
    resize_bilinear_rgb(img, w, h)
}

/// Size of dlib's `pyramid_up(img)` output for a `width`×`height` input: `(2w+2, 2h+1)`, or
/// `(0, 0)` for an empty input.
pub fn pyramid_up_size(width: u32, height: u32) -> (u32, u32) {
    if width == 0 || height == 0 {
        return (0, 0);
    }
    let r = Rect::new(0, 0, i64::from(width) - 1, i64::from(height) - 1);
    let up = PyramidDown2.rect_up(DRect::from(r), 1).to_rect();
    // uprect.right()+1 columns, uprect.bottom()+1 rows (dlib sets the size from the
    // bottom-right corner, not from width()).
    let w = u32::try_from(up.right + 1).unwrap_or(0);
    let h = u32::try_from(up.bottom + 1).unwrap_or(0);
    (w, h)
}

/// dlib `pyramid_up(img)` (default `pyramid_down<2>`, bilinear) on an RGB image.
pub fn pyramid_up(img: &RgbImage) -> RgbImage {
    let (w, h) = pyramid_up_size(img.width(), img.height());
    resize_bilinear_rgb(img, w, h)
}

/// Per-column sampling plan of one dlib bilinear resize. It only depends on the widths:
/// dlib recomputes the same column positions for every row.
struct ColumnPlan {
    /// Columns handled by dlib's 4-wide float loop: left index, single-precision fraction
    /// and `1 - fraction`.
    simd: Vec<(usize, f32, f32)>,
    /// Remaining columns, handled in double precision: left, right, fraction.
    tail: Vec<(usize, usize, f64)>,
}

impl ColumnPlan {
    fn new(in_w: usize, out_w: usize) -> Self {
        let x_scale = (in_w as f64 - 1.0) / (out_w.saturating_sub(1).max(1)) as f64;
        let mut simd = Vec::with_capacity(out_w);
        // The 4-wide loop: positions start at float(-4s + i·s) and each step adds
        // float(4s), all in single precision.
        let x = -4.0 * x_scale;
        let mut fx = [
            x as f32,
            (x + x_scale) as f32,
            (x + 2.0 * x_scale) as f32,
            (x + 3.0 * x_scale) as f32,
        ];
        let step = (4.0 * x_scale) as f32;
        let mut c = 0usize;
        while c < out_w {
            let mut left = [0i64; 4];
            for (l, f) in left.iter_mut().zip(fx.iter_mut()) {
                *f += step;
                // _mm_cvttps_epi32: truncation toward zero.
                *l = f.trunc() as i64;
            }
            // dlib leaves the loop as soon as the last lane's right neighbour is outside.
            if left[3] + 1 >= in_w as i64 {
                break;
            }
            for lane in 0..4 {
                if c + lane < out_w {
                    let lr = fx[lane] - left[lane] as f32;
                    let l = left[lane].max(0) as usize;
                    simd.push((l.min(in_w - 1), lr, 1.0 - lr));
                }
            }
            c += 4;
        }
        let c = simd.len();
        let mut tail = Vec::with_capacity(out_w - c);
        let mut x = -x_scale + c as f64 * x_scale;
        for _ in c..out_w {
            x += x_scale;
            let left = x.floor();
            let frac = x - left;
            let left = (left.max(0.0) as usize).min(in_w - 1);
            let right = (left + 1).min(in_w - 1);
            tail.push((left, right, frac));
        }
        Self { simd, tail }
    }
}

/// Per-row sampling of one dlib bilinear resize: top and bottom source rows and the
/// vertical fraction (double; accumulated in double exactly as dlib does).
fn row_plan(in_h: usize, out_h: usize) -> Vec<(usize, usize, f64)> {
    let y_scale = (in_h as f64 - 1.0) / (out_h.saturating_sub(1).max(1)) as f64;
    let mut y = -y_scale;
    (0..out_h)
        .map(|_| {
            y += y_scale;
            let top = y.floor();
            let frac = y - top;
            let top = (top.max(0.0) as usize).min(in_h - 1);
            let bottom = (top + 1).min(in_h - 1);
            (top, bottom, frac)
        })
        .collect()
}

/// dlib `resize_image(in, out)` (bilinear) for RGB images, to `out_w`×`out_h`.
pub fn resize_bilinear_rgb(src: &RgbImage, out_w: u32, out_h: u32) -> RgbImage {
    resize_bilinear_rgb_threads(src, out_w, out_h, 1)
}

/// [`resize_bilinear_rgb`] on up to `threads` threads (bands of output rows; each output
/// row is computed the same way whatever the split). Small images use one thread.
pub(crate) fn resize_bilinear_rgb_threads(
    src: &RgbImage,
    out_w: u32,
    out_h: u32,
    threads: usize,
) -> RgbImage {
    let mut out = RgbImage::new(out_w, out_h);
    let (in_w, in_h) = (src.width() as usize, src.height() as usize);
    if in_w == 0 || in_h == 0 || out_w == 0 || out_h == 0 {
        return out;
    }
    let (ow, oh) = (out_w as usize, out_h as usize);
    // Below ~100k output pixels a thread costs more than it saves.
    let threads = threads.clamp(1, (ow * oh / 100_000).max(1)).min(oh);
    let band = oh.div_ceil(threads);
    let o: &mut [u8] = &mut out;
    if threads == 1 {
        resize_rgb_rows(src, ow, oh, 0, o);
    } else {
        std::thread::scope(|scope| {
            for (i, chunk) in o.chunks_mut(band * ow * 3).enumerate() {
                scope.spawn(move || resize_rgb_rows(src, ow, oh, i * band, chunk));
            }
        });
    }
    out
}

/// Output rows `first_row..` (as many as `out` holds) of an `ow`×`oh` resize of `src`.
fn resize_rgb_rows(src: &RgbImage, ow: usize, oh: usize, first_row: usize, out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { resize_rgb_avx2(src, ow, oh, first_row, out) };
    }
    resize_rgb_impl(src, ow, oh, first_row, out)
}

/// [`resize_rgb_impl`] compiled for AVX2; the vector width changes no result.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn resize_rgb_avx2(src: &RgbImage, ow: usize, oh: usize, first_row: usize, out: &mut [u8]) {
    resize_rgb_impl(src, ow, oh, first_row, out)
}

/// Source row `y` of dlib's 4-wide loop gathered per output sample (`3·column + channel`):
/// the left and right neighbours' bytes. A source row serves several output rows (as top,
/// then as bottom), so it is gathered once. One pixel is moved as one 4-byte word (the
/// fourth byte is overwritten by the next pixel, or is the spare last byte).
struct GatheredRow {
    y: usize,
    left: Vec<u8>,
    right: Vec<u8>,
}

impl GatheredRow {
    fn new(pixels: usize) -> Self {
        Self {
            y: usize::MAX,
            left: vec![0; pixels * 3 + 1],
            right: vec![0; pixels * 3 + 1],
        }
    }

    /// `img` is the whole image from the start of row `y`; `offsets` are the byte offsets
    /// of the left neighbours within the row (the right ones are 3 bytes further).
    #[inline(always)]
    fn fill(&mut self, y: usize, img: &[u8], offsets: &[u32]) {
        self.y = y;
        let word = |o: usize| match img.get(o..o + 4) {
            Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            // Last pixel of the image: no byte after it.
            None => u32::from_le_bytes([img[o], img[o + 1], img[o + 2], 0]),
        };
        let (left, right) = (&mut self.left, &mut self.right);
        for (c, &o) in offsets.iter().enumerate() {
            let o = o as usize;
            left[c * 3..c * 3 + 4].copy_from_slice(&word(o).to_le_bytes());
            right[c * 3..c * 3 + 4].copy_from_slice(&word(o + 3).to_le_bytes());
        }
    }
}

#[inline(always)]
fn resize_rgb_impl(src: &RgbImage, ow: usize, oh: usize, first_row: usize, out: &mut [u8]) {
    let (in_w, in_h) = (src.width() as usize, src.height() as usize);
    let cols = ColumnPlan::new(in_w, ow);
    let rows = row_plan(in_h, oh);
    // dlib's 4-wide columns: byte offset of the left neighbour in a source row, and the
    // fraction and 1 - fraction per output sample. dlib's SIMD path reads the right
    // neighbour at left + 1 without clamping; the plan only contains columns where that
    // is inside the row.
    let px = cols.simd.len();
    let n = px * 3;
    let offsets: Vec<u32> = cols.simd.iter().map(|&(l, _, _)| (l * 3) as u32).collect();
    let lr: Vec<f32> = cols.simd.iter().flat_map(|&(_, f, _)| [f; 3]).collect();
    let inv_lr: Vec<f32> = cols.simd.iter().flat_map(|&(_, _, f)| [f; 3]).collect();
    let (lr, inv_lr) = (&lr[..n], &inv_lr[..n]);
    let mut top_g = GatheredRow::new(px);
    let mut bottom_g = GatheredRow::new(px);
    let s = src.as_raw();
    let row_len = in_w * 3;
    let bands = out.chunks_exact_mut(ow * 3);
    for (orow, &(top, bottom, tb)) in bands.zip(&rows[first_row..]) {
        // Rows advance monotonically: the previous bottom row is usually the new top.
        if top_g.y != top {
            if bottom_g.y == top {
                std::mem::swap(&mut top_g, &mut bottom_g);
            } else {
                top_g.fill(top, &s[top * row_len..], &offsets);
            }
        }
        if bottom_g.y != bottom {
            bottom_g.fill(bottom, &s[bottom * row_len..], &offsets);
        }
        let f_tb = tb as f32;
        let f_inv_tb = (1.0 - tb) as f32;
        let (tl, tr) = (&top_g.left[..n], &top_g.right[..n]);
        let (bl, br) = (&bottom_g.left[..n], &bottom_g.right[..n]);
        for (i, dst) in orow[..n].iter_mut().enumerate() {
            let tlf = f_inv_tb * inv_lr[i];
            let trf = f_inv_tb * lr[i];
            let blf = f_tb * inv_lr[i];
            let brf = f_tb * lr[i];
            let v = tlf * f32::from(tl[i])
                + trf * f32::from(tr[i])
                + blf * f32::from(bl[i])
                + brf * f32::from(br[i]);
            // _mm_cvttps_epi32, then the low byte (as dlib's static_cast<unsigned char>).
            // SAFETY: v is finite and far inside the i32 range: four bytes times weights
            // that are products of a vertical factor in [0, 1] and a horizontal one in
            // (-1, 2) (in practice v is a weighted mean of bytes, in 0..256).
            *dst = unsafe { v.to_int_unchecked::<i32>() } as u8;
        }
        let (trow, brow) = (
            &s[top * row_len..(top + 1) * row_len],
            &s[bottom * row_len..(bottom + 1) * row_len],
        );
        for (i, &(left, right, lr)) in cols.tail.iter().enumerate() {
            let c = px + i;
            for ch in 0..3 {
                let tl = f64::from(trow[left * 3 + ch]);
                let tr = f64::from(trow[right * 3 + ch]);
                let bl = f64::from(brow[left * 3 + ch]);
                let br = f64::from(brow[right * 3 + ch]);
                let v = (1.0 - tb) * ((1.0 - lr) * tl + lr * tr) + tb * ((1.0 - lr) * bl + lr * br);
                // vector_to_pixel: static_cast<unsigned char>(double), a truncation.
                orow[c * 3 + ch] = v as u8;
            }
        }
    }
}

/// A rectangular window into a row-major `f32` buffer (a dlib `sub_image` of a tensor
/// channel): `offset` of the top-left element, `stride` elements per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaneWindow {
    pub offset: usize,
    pub stride: usize,
    pub width: usize,
    pub height: usize,
}

impl PlaneWindow {
    fn fits(&self, len: usize) -> bool {
        if self.width == 0 || self.height == 0 {
            return true;
        }
        self.width <= self.stride
            && (self.height - 1)
                .checked_mul(self.stride)
                .and_then(|v| v.checked_add(self.offset))
                .and_then(|v| v.checked_add(self.width))
                .is_some_and(|end| end <= len)
    }
}

/// dlib `resize_image(src, dst)` (bilinear) for single-channel `float` images, where both
/// images are windows of the same buffer (as in dlib's `tt::resize_bilinear` building a
/// tiled pyramid inside a tensor). The windows must not overlap.
///
/// Returns `false` (and writes nothing) when a window does not fit in `buf`.
pub fn resize_bilinear_f32_within(buf: &mut [f32], src: PlaneWindow, dst: PlaneWindow) -> bool {
    if !src.fits(buf.len()) || !dst.fits(buf.len()) {
        return false;
    }
    if src.width == 0 || src.height == 0 || dst.width == 0 || dst.height == 0 {
        return true;
    }
    let cols = ColumnPlan::new(src.width, dst.width);
    let rows = row_plan(src.height, dst.height);
    for (r, &(top, bottom, tb)) in rows.iter().enumerate() {
        let t0 = src.offset + top * src.stride;
        let b0 = src.offset + bottom * src.stride;
        let o0 = dst.offset + r * dst.stride;
        let f_tb = tb as f32;
        let f_inv_tb = (1.0 - tb) as f32;
        for (c, &(left, lr, inv_lr)) in cols.simd.iter().enumerate() {
            let right = left + 1;
            let tlf = f_inv_tb * inv_lr;
            let trf = f_inv_tb * lr;
            let blf = f_tb * inv_lr;
            let brf = f_tb * lr;
            let v = tlf * buf[t0 + left]
                + trf * buf[t0 + right]
                + blf * buf[b0 + left]
                + brf * buf[b0 + right];
            buf[o0 + c] = v;
        }
        let base = cols.simd.len();
        for (i, &(left, right, lr)) in cols.tail.iter().enumerate() {
            // dlib's scalar tail for float images: `const float lr_frac`, float corner
            // values, the two horizontal mixes in float, the vertical mix in double.
            let lr = lr as f32;
            let top_mix = (1.0 - lr) * buf[t0 + left] + lr * buf[t0 + right];
            let bottom_mix = (1.0 - lr) * buf[b0 + left] + lr * buf[b0 + right];
            let v = (1.0 - tb) * f64::from(top_mix) + tb * f64::from(bottom_mix);
            buf[o0 + base + i] = v as f32;
        }
    }
    true
}

/// Layout of a dlib tiled pyramid (`impl::compute_tiled_image_pyramid_details`): where
/// each level sits in the tiled image, and the tiled image's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TiledPyramid {
    /// Level rectangles inside the tiled image; index 0 is the full-size image.
    pub rects: Vec<Rect>,
    pub width: usize,
    pub height: usize,
}

impl TiledPyramid {
    /// dlib `compute_tiled_image_pyramid_details` for `pyramid_down<6>` (levels down to a
    /// height of 5 px).
    pub fn down6(width: usize, height: usize, padding: usize, outer_padding: usize) -> Self {
        let (nr, nc) = (height as i64, width as i64);
        let padding = padding as i64;
        let outer_padding = outer_padding as i64;
        if nr * nc == 0 {
            return Self {
                rects: Vec::new(),
                width: 0,
                height: 0,
            };
        }
        const MIN_HEIGHT: i64 = 5;
        let size_rect = |c: i64, r: i64| Rect::new(0, 0, c - 1, r - 1);
        let mut rects = vec![size_rect(nc, nr)];
        let (mut r, mut c) = (nr, nc);
        loop {
            r = r * 5 / 6;
            c = c * 5 / 6;
            if r * c == 0 || r < MIN_HEIGHT {
                break;
            }
            rects.push(size_rect(c, r));
        }

        let mut total_height: i64 = rects.iter().map(|r| r.height() + padding).sum();
        total_height -= padding * 2;
        let mut height_acc: i64 = 0;
        let mut prev_width: i64 = 0;
        let (w0, h0) = (rects[0].width(), rects[0].height());
        for r in &rects {
            // The first column goes down until the next level fits next to the previous
            // one and the column is at least half of the total height.
            if r.width() <= w0 - prev_width - padding
                && (height_acc - h0) * 2 >= (total_height - h0)
            {
                break;
            }
            height_acc += r.height() + padding;
            prev_width = r.width();
        }
        height_acc -= padding;

        let out_w = w0 + outer_padding * 2;
        let out_h = height_acc + outer_padding * 2;

        let mut y = outer_padding;
        let mut i = 0usize;
        while y < height_acc + outer_padding && i < rects.len() {
            let rr = rects[i];
            rects[i] = translate(rr, outer_padding, y);
            y += rr.height() + padding;
            i += 1;
        }
        y -= padding;
        while i < rects.len() {
            // Second column: right-aligned, going back up from the bottom.
            let p1 = (outer_padding + w0 - 1, y - 1);
            let br = (rects[i].right, rects[i].bottom);
            let p2 = (p1.0 - br.0, p1.1 - br.1);
            // dlib rectangle(p1, p2) takes min/max of the two corners.
            let rect = Rect::new(
                p1.0.min(p2.0),
                p1.1.min(p2.1),
                p1.0.max(p2.0),
                p1.1.max(p2.1),
            );
            if !is_empty(&rects[0].intersect(&rect)) {
                break;
            }
            rects[i] = rect;
            y -= rects[i].height() + padding;
            i += 1;
        }
        rects.truncate(i);
        Self {
            rects,
            width: out_w.max(0) as usize,
            height: out_h.max(0) as usize,
        }
    }

    /// dlib `tiled_pyramid_to_image<pyramid_down<6>>(rects, r)`: maps a rectangle in the
    /// tiled image back to the original image, through the level nearest to its centre.
    pub fn to_image(&self, r: DRect) -> DRect {
        let Some(level) = self.nearest_rect(r.center().to_point()) else {
            return r;
        };
        let origin = &self.rects[level];
        let (ox, oy) = (origin.left as f64, origin.top as f64);
        let local = DRect::new(r.left - ox, r.top - oy, r.right - ox, r.bottom - oy);
        PyramidDown6.rect_up(local, level as u32)
    }

    /// dlib `image_to_tiled_pyramid<pyramid_down<6>>(rects, scale, r)`.
    pub fn from_image(&self, scale: f64, r: DRect) -> DRect {
        if self.rects.is_empty() {
            return r;
        }
        let iter = ((scale.ln() / PyramidDown6::RATE.ln()).round() as i64)
            .clamp(0, self.rects.len() as i64 - 1) as usize;
        let o = &self.rects[iter];
        let tl = PyramidDown6.point_down_n(r.tl(), iter as u32);
        let br = PyramidDown6.point_down_n(r.br(), iter as u32);
        DRect::new(
            o.left as f64 + tl.x,
            o.top as f64 + tl.y,
            o.left as f64 + br.x,
            o.top as f64 + br.y,
        )
    }

    /// dlib `nearest_rect`: the first rectangle containing `p`, else the nearest one.
    fn nearest_rect(&self, p: Point) -> Option<usize> {
        let mut best = None;
        let mut best_dist = f64::INFINITY;
        for (i, r) in self.rects.iter().enumerate() {
            if p.x >= r.left && p.x <= r.right && p.y >= r.top && p.y <= r.bottom {
                return Some(i);
            }
            let nx = p.x.clamp(r.left, r.right.max(r.left));
            let ny = p.y.clamp(r.top, r.bottom.max(r.top));
            let (dx, dy) = ((nx - p.x) as f64, (ny - p.y) as f64);
            let dist = (dx * dx + dy * dy).sqrt();
            if dist < best_dist {
                best_dist = dist;
                best = Some(i);
            }
        }
        best
    }
}

fn translate(r: Rect, dx: i64, dy: i64) -> Rect {
    Rect::new(r.left + dx, r.top + dy, r.right + dx, r.bottom + dy)
}

fn is_empty(r: &Rect) -> bool {
    r.left > r.right || r.top > r.bottom
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_plan_identity_when_same_width() {
        let p = ColumnPlan::new(9, 9);
        // 9 columns: groups 0..4 (right of lane 3 = 4 < 9) and 4..8 (right 8 < 9), then the
        // group starting at 8 breaks (right 12 >= 9): column 8 goes to the tail.
        assert_eq!(p.simd.len(), 8);
        assert_eq!(p.tail.len(), 1);
        for (i, &(l, lr, _)) in p.simd.iter().enumerate() {
            assert_eq!((l, lr), (i, 0.0));
        }
        assert_eq!(p.tail[0], (8, 8, 0.0));
    }
}
