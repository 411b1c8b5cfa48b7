//! dlib `extract_fhog_features` (Felzenszwalb HOG, 31 planes) for RGB images, reproducing
//! dlib's floating-point operation order so that the features are bit-identical.
//!
//! dlib processes each pixel row in blocks of 8 columns with SIMD code and finishes the row
//! with scalar code; the two paths differ in two observable ways, both reproduced here:
//! - channel choice on ties: the SIMD path picks the *later* channel when two channels have
//!   the same gradient magnitude, the scalar path the earlier one;
//! - histogram weights: SIMD computes `vy · (vx · |g|)`, scalar `(vy · vx) · |g|`.
//!
//! The orientation bin of a gradient depends only on its two integer components, so it is
//! read from a table built once with dlib's float dot products ([`orientation_bins`]).

use image::RgbImage;

/// The nine orientation unit vectors, as `f32` (dlib `directions[9]`).
const DIRECTIONS: [(f32, f32); 9] = [
    (1.0000, 0.0000),
    (0.9397, 0.3420),
    (0.7660, 0.6428),
    (0.500, 0.8660),
    (0.1736, 0.9848),
    (-0.1736, 0.9848),
    (-0.5000, 0.8660),
    (-0.7660, 0.6428),
    (-0.9397, 0.3420),
];

pub(crate) const NUM_PLANES: usize = 31;

/// 31 feature planes of `nr × nc` values, plane-major then row-major. The planes include
/// the zero border dlib adds for the filter padding.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fhog {
    pub nr: usize,
    pub nc: usize,
    pub data: Vec<f32>,
}

impl Fhog {
    pub fn plane(&self, p: usize) -> &[f32] {
        let n = self.nr * self.nc;
        &self.data[p * n..(p + 1) * n]
    }
    pub fn is_empty(&self) -> bool {
        self.nr == 0 || self.nc == 0
    }
}

/// Gradient of the channel with the largest squared magnitude at interior pixels
/// `x ∈ [x0 + 1, x0 + key_out.len()]` of a row, from planar channel rows (`above`, `here`,
/// `below`, each `[r, g, b]`), as its [`gradient_key`] and squared length. `later_wins`
/// selects dlib's SIMD tie rule (the *later* channel wins ties: `rlen > glen ? red :
/// green`, then `tlen > blen ? t : blue`), else its scalar rule (the earlier channel
/// wins). Branch-free so that it vectorises.
#[inline(always)]
fn row_gradients(
    above: [&[u8]; 3],
    here: [&[u8]; 3],
    below: [&[u8]; 3],
    x0: usize,
    later_wins: bool,
    key_out: &mut [u32],
    len_out: &mut [f32],
) {
    let n = key_out.len();
    let grad = |k: usize, x: usize| {
        let gx = here[k][x + 1] as i32 - here[k][x - 1] as i32;
        let gy = below[k][x] as i32 - above[k][x] as i32;
        (gx, gy, gx * gx + gy * gy)
    };
    for i in 0..n {
        let x = x0 + i + 1;
        let (rx, ry, rl) = grad(0, x);
        let (gx, gy, gl) = grad(1, x);
        let (bx, by, bl) = grad(2, x);
        let (tx, ty, tl, take_b) = if later_wins {
            let c = rl > gl;
            let (tx, ty, tl) = if c { (rx, ry, rl) } else { (gx, gy, gl) };
            (tx, ty, tl, tl <= bl)
        } else {
            let c = gl > rl;
            let (tx, ty, tl) = if c { (gx, gy, gl) } else { (rx, ry, rl) };
            (tx, ty, tl, bl > tl)
        };
        let (x_, y_, l_) = if take_b { (bx, by, bl) } else { (tx, ty, tl) };
        key_out[i] = gradient_key(x_, y_);
        len_out[i] = l_ as f32;
    }
}

/// Gradients are differences of bytes: each component is in `-255..=255`.
const GRAD_SPAN: usize = 511;

/// Index of the gradient `(x, y)` in [`orientation_bins`].
#[inline(always)]
fn gradient_key(x: i32, y: i32) -> u32 {
    ((y + 255) * GRAD_SPAN as i32 + (x + 255)) as u32
}

/// dlib's orientation bin (0..18) of the gradient `(x, y)`: the direction with the largest
/// dot product, `x·d0 + y·d1` in float, ties to the earlier direction, `+dot` before
/// `-dot`, and bin 0 when no dot product is positive.
fn orientation_bin(x: f32, y: f32) -> u8 {
    let mut best_dot = 0.0f32;
    let mut best_o = 0u8;
    for (o, &(d0, d1)) in DIRECTIONS.iter().enumerate() {
        let dot = x * d0 + y * d1;
        if dot > best_dot {
            best_dot = dot;
            best_o = o as u8;
        }
        if -dot > best_dot {
            best_dot = -dot;
            best_o = o as u8 + 9;
        }
    }
    best_o
}

/// [`orientation_bin`] of every possible gradient, by [`gradient_key`] (255 KiB, built once
/// per process): a table lookup replaces the 18 dot products per pixel.
pub(crate) fn orientation_bins() -> &'static [u8] {
    static BINS: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BINS.get_or_init(|| {
        let mut t = vec![0u8; GRAD_SPAN * GRAD_SPAN];
        for y in -255..=255 {
            for x in -255..=255 {
                t[gradient_key(x, y) as usize] = orientation_bin(x as f32, y as f32);
            }
        }
        t
    })
}

/// dlib `extract_fhog_features(img, hog, cell_size, filter_rows_padding,
/// filter_cols_padding)` for an RGB image (`cell_size > 1`).
pub(crate) fn extract_fhog(
    img: &RgbImage,
    cell_size: usize,
    filter_rows_padding: usize,
    filter_cols_padding: usize,
) -> Fhog {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe {
            extract_fhog_avx2(img, cell_size, filter_rows_padding, filter_cols_padding)
        };
    }
    extract_fhog_impl(img, cell_size, filter_rows_padding, filter_cols_padding)
}

/// [`extract_fhog_impl`] compiled for AVX2; vector width does not change any result.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn extract_fhog_avx2(
    img: &RgbImage,
    cell_size: usize,
    filter_rows_padding: usize,
    filter_cols_padding: usize,
) -> Fhog {
    extract_fhog_impl(img, cell_size, filter_rows_padding, filter_cols_padding)
}

#[inline(always)]
fn extract_fhog_impl(
    img: &RgbImage,
    cell_size: usize,
    filter_rows_padding: usize,
    filter_cols_padding: usize,
) -> Fhog {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let cs = cell_size as f32;
    let cells_nr = (h as f32 / cs + 0.5) as usize;
    let cells_nc = (w as f32 / cs + 0.5) as usize;
    if cells_nr == 0 || cells_nc == 0 || cells_nr <= 2 || cells_nc <= 2 {
        // dlib: hog.clear(), then 31 empty planes.
        return Fhog::default();
    }
    let hog_nr = cells_nr - 2;
    let hog_nc = cells_nc - 2;

    // hist[(r * hist_nc + c) * 18 + o], (cells_nr + 2) × (cells_nc + 2) cells.
    let hist_nc = cells_nc + 2;
    let mut hist = vec![0.0f32; (cells_nr + 2) * hist_nc * 18];

    // Planar copies of the channels, so that the gradient loop reads contiguous bytes.
    let px = img.as_raw();
    let mut planes = [vec![0u8; w * h], vec![0u8; w * h], vec![0u8; w * h]];
    for (i, p) in px.chunks_exact(3).enumerate() {
        planes[0][i] = p[0];
        planes[1][i] = p[1];
        planes[2][i] = p[2];
    }
    let chan_row = |y: usize| -> [&[u8]; 3] {
        [
            &planes[0][y * w..(y + 1) * w],
            &planes[1][y * w..(y + 1) * w],
            &planes[2][y * w..(y + 1) * w],
        ]
    };
    let visible_nr = (cells_nr * cell_size).min(h) - 1;
    let visible_nc = (cells_nc * cell_size).min(w) - 1;
    // Columns [1, simd_end) are dlib's 8-wide SIMD blocks, the rest its scalar loop.
    let mut simd_end = 1usize;
    while simd_end + 7 < visible_nc {
        simd_end += 8;
    }
    let n = visible_nc.saturating_sub(1);
    let mut keys = vec![0u32; n];
    let mut len = vec![0.0f32; n];
    let mut mag = vec![0.0f32; n];
    let bins = orientation_bins();
    // Per column: histogram cell and the two horizontal weights (independent of the row).
    let cols: Vec<(usize, f32, f32)> = (1..visible_nc)
        .map(|x| {
            if x < simd_end {
                let xp = (x as f32 + 0.5) / cs + 0.5;
                let ixp = xp as usize; // truncation, xp > 0
                let vx0 = xp - ixp as f32;
                (ixp, vx0, 1.0f32 - vx0)
            } else {
                let xp = ((x as f64 + 0.5) / cell_size as f64 - 0.5) as f32;
                let ixp = xp.floor() as isize;
                let vx0 = xp - ixp as f32;
                ((ixp + 1) as usize, vx0, (1.0 - vx0 as f64) as f32)
            }
        })
        .collect();
    for y in 1..visible_nr {
        let yp = ((y as f64 + 0.5) / cs as f64 - 0.5) as f32;
        let iyp = yp.floor() as isize;
        let vy0 = yp - iyp as f32;
        let vy1 = (1.0 - vy0 as f64) as f32;
        let row0 = (iyp + 1) as usize * hist_nc;
        let row1 = row0 + hist_nc;
        let (above, here, below) = (chan_row(y - 1), chan_row(y), chan_row(y + 1));
        let split = (simd_end - 1).min(n);
        row_gradients(
            above,
            here,
            below,
            0,
            true,
            &mut keys[..split],
            &mut len[..split],
        );
        row_gradients(
            above,
            here,
            below,
            split,
            false,
            &mut keys[split..],
            &mut len[split..],
        );
        for (m, &l) in mag.iter_mut().zip(&len) {
            *m = l.sqrt();
        }
        for (i, &(ixp, vx0, vx1)) in cols.iter().enumerate() {
            let o = usize::from(bins[keys[i] as usize]);
            let v = mag[i];
            // SIMD blocks weight as vy·(vx·|g|), the scalar tail as (vy·vx)·|g|.
            let (w11, w01, w10, w00) = if i + 1 < simd_end {
                let (a, b) = (vx1 * v, vx0 * v);
                (vy1 * a, vy0 * a, vy1 * b, vy0 * b)
            } else {
                (vy1 * vx1 * v, vy0 * vx1 * v, vy1 * vx0 * v, vy0 * vx0 * v)
            };
            hist[(row0 + ixp) * 18 + o] += w11;
            hist[(row1 + ixp) * 18 + o] += w01;
            hist[(row0 + ixp + 1) * 18 + o] += w10;
            hist[(row1 + ixp + 1) * 18 + o] += w00;
        }
    }

    // Gradient energy per cell.
    let mut norm = vec![0.0f32; cells_nr * cells_nc];
    for r in 0..cells_nr {
        for c in 0..cells_nc {
            let hc = &hist[((r + 1) * hist_nc + c + 1) * 18..][..18];
            let mut n = 0.0f32;
            for o in 0..9 {
                let s = hc[o] + hc[o + 9];
                n += s * s;
            }
            norm[r * cells_nc + c] = n;
        }
    }

    let out_nr = hog_nr + filter_rows_padding - 1;
    let out_nc = hog_nc + filter_cols_padding - 1;
    let plane = out_nr * out_nc;
    let mut data = vec![0.0f32; plane * NUM_PLANES];
    let pr = (filter_rows_padding - 1) / 2;
    let pc = (filter_cols_padding - 1) / 2;
    let eps = 0.0001f32;
    let nm = |r: usize, c: usize| norm[r * cells_nc + c];
    for y in 0..hog_nr {
        let yy = y + pr;
        for x in 0..hog_nc {
            let xx = x + pc;
            // Four normalisation blocks (the simd4f lanes), summed left to right.
            let z1 = [nm(y + 1, x + 1), nm(y, x + 1), nm(y + 1, x), nm(y, x)];
            let z2 = [
                nm(y + 1, x + 2),
                nm(y, x + 2),
                nm(y + 1, x + 1),
                nm(y, x + 1),
            ];
            let z3 = [
                nm(y + 2, x + 1),
                nm(y + 1, x + 1),
                nm(y + 2, x),
                nm(y + 1, x),
            ];
            let z4 = [
                nm(y + 2, x + 2),
                nm(y + 1, x + 2),
                nm(y + 2, x + 1),
                nm(y + 1, x + 1),
            ];
            let mut nn = [0.0f32; 4];
            let mut n = [0.0f32; 4];
            for k in 0..4 {
                nn[k] = 0.2f32 * (z1[k] + z2[k] + z3[k] + z4[k] + eps).sqrt();
                n[k] = 0.1f32 / nn[k];
            }
            let hc = &hist[((y + 2) * hist_nc + x + 2) * 18..][..18];
            let at = yy * out_nc + xx;
            // h = min(v, nn) · n per lane (_mm_min_ps returns the second operand on ties).
            let lanes = |v: f32| -> [f32; 4] {
                let mut o = [0.0f32; 4];
                for k in 0..4 {
                    o[k] = (if v < nn[k] { v } else { nn[k] }) * n[k];
                }
                o
            };
            // dlib sum(simd4f) = _mm_dp_ps with ones: (a0 + a1) + (a2 + a3).
            let sum = |a: [f32; 4]| (a[0] + a[1]) + (a[2] + a[3]);
            let mut t = [0.0f32; 4];
            for o in (0..18).step_by(3) {
                let h0 = lanes(hc[o]);
                let h1 = lanes(hc[o + 1]);
                let h2 = lanes(hc[o + 2]);
                data[o * plane + at] = sum(h0);
                data[(o + 1) * plane + at] = sum(h1);
                data[(o + 2) * plane + at] = sum(h2);
                for k in 0..4 {
                    t[k] += (h0[k] + h1[k]) + h2[k];
                }
            }
            for o in 0..9 {
                let h = lanes(hc[o] + hc[o + 9]);
                data[(o + 18) * plane + at] = sum(h);
            }
            let scale = (2.0 * 0.2357f64) as f32;
            for k in 0..4 {
                data[(27 + k) * plane + at] = t[k] * scale;
            }
        }
    }
    Fhog {
        nr: out_nr,
        nc: out_nc,
        data,
    }
}
