//! dlib `float_spatially_filter_image_separable(in, out, row, col, scratch, add_to=true)`
//! with dlib's summation order, so that scores are bit-identical.
//!
//! dlib handles each row in blocks of 8 columns with SIMD code — three interleaved
//! accumulators over taps `n ≡ 0, 1, 2 (mod 3)`, leftover taps into the first, then
//! `t0 + (t1 + t2)` — and finishes the row with a plain left-to-right scalar sum. Both
//! orders are reproduced per column; the loops below run across columns, which is what
//! lets the compiler vectorise them without changing any single sum.

/// Reusable buffers for [`filter_separable_add`].
#[derive(Default)]
pub(crate) struct Scratch {
    rows: Vec<f32>,
    a1: Vec<f32>,
    a2: Vec<f32>,
    a3: Vec<f32>,
}

/// The area of valid outputs (dlib's `non_border` rectangle), inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Area {
    pub first_row: usize,
    pub first_col: usize,
    /// Exclusive ends.
    pub last_row: usize,
    pub last_col: usize,
}

impl Area {
    pub fn new(nr: usize, nc: usize, row_len: usize, col_len: usize) -> Option<Self> {
        let first_row = col_len / 2;
        let first_col = row_len / 2;
        let last_row = nr.checked_sub((col_len - 1) / 2)?;
        let last_col = nc.checked_sub((row_len - 1) / 2)?;
        (first_row < last_row && first_col < last_col).then_some(Self {
            first_row,
            first_col,
            last_row,
            last_col,
        })
    }

    /// End (exclusive) of the columns dlib filters with its 8-wide SIMD loop.
    fn simd_end(&self) -> usize {
        let mut c = self.first_col as isize;
        while c < self.last_col as isize - 7 {
            c += 8;
        }
        c as usize
    }
}

/// One filtered row in dlib order: `out[i] (+)= Σ_n src(n)[i] · f[n]` for the `span`
/// SIMD-ordered outputs, where `src(n)` is the input shifted by tap `n`.
#[inline(always)]
fn simd_order_sum<'a>(
    span: usize,
    taps: &[f32],
    src: impl Fn(usize) -> &'a [f32],
    a1: &mut [f32],
    a2: &mut [f32],
    a3: &mut [f32],
) {
    let (a1, a2, a3) = (&mut a1[..span], &mut a2[..span], &mut a3[..span]);
    a1.fill(0.0);
    a2.fill(0.0);
    a3.fill(0.0);
    let len = taps.len();
    let mut n = 0;
    while n + 2 < len {
        let (s1, s2, s3) = (&src(n)[..span], &src(n + 1)[..span], &src(n + 2)[..span]);
        let (f1, f2, f3) = (taps[n], taps[n + 1], taps[n + 2]);
        for i in 0..span {
            a1[i] += s1[i] * f1;
            a2[i] += s2[i] * f2;
            a3[i] += s3[i] * f3;
        }
        n += 3;
    }
    while n < len {
        let s = &src(n)[..span];
        let f = taps[n];
        for i in 0..span {
            a1[i] += s[i] * f;
        }
        n += 1;
    }
    for i in 0..span {
        a1[i] += a2[i] + a3[i];
    }
}

/// Adds the separable filtering of `input` (`nr × nc`) by `row` (along x) and `col`
/// (along y) to `out` inside `area`.
pub(crate) fn filter_separable_add(
    input: &[f32],
    nc: usize,
    area: Area,
    row: &[f32],
    col: &[f32],
    scratch: &mut Scratch,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { separable_avx2(input, nc, area, row, col, scratch, out) };
    }
    separable_impl(input, nc, area, row, col, scratch, out)
}

/// The same code compiled for AVX2 (8-wide floats). Vector width changes nothing in the
/// results: every output is still the same sequence of IEEE operations (Rust never fuses
/// multiply and add).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn separable_avx2(
    input: &[f32],
    nc: usize,
    area: Area,
    row: &[f32],
    col: &[f32],
    scratch: &mut Scratch,
    out: &mut [f32],
) {
    separable_impl(input, nc, area, row, col, scratch, out)
}

#[inline(always)]
fn separable_impl(
    input: &[f32],
    nc: usize,
    area: Area,
    row: &[f32],
    col: &[f32],
    scratch: &mut Scratch,
    out: &mut [f32],
) {
    let nr = input.len() / nc;
    let Area {
        first_row,
        first_col,
        last_row,
        last_col,
    } = area;
    let simd_end = area.simd_end();
    let span = simd_end - first_col;
    let Scratch { rows, a1, a2, a3 } = scratch;
    rows.resize(nr * nc, 0.0);
    for v in [&mut *a1, &mut *a2, &mut *a3] {
        v.resize(span.max(1), 0.0);
    }

    // Row filter, every row: rows[r][c] = Σ_n input[r][c - first_col + n] · row[n].
    for r in 0..nr {
        let inr = &input[r * nc..(r + 1) * nc];
        simd_order_sum(span, row, |n| &inr[n..], a1, a2, a3);
        let dst = &mut rows[r * nc..(r + 1) * nc];
        dst[first_col..simd_end].copy_from_slice(&a1[..span]);
        for c in simd_end..last_col {
            let mut t = 0.0f32;
            for (n, &f) in row.iter().enumerate() {
                t += inr[c - first_col + n] * f;
            }
            dst[c] = t;
        }
    }

    // Column filter on valid rows, added to the output.
    let rows = &*rows;
    for r in first_row..last_row {
        let base = r - first_row;
        simd_order_sum(
            span,
            col,
            |m| &rows[(base + m) * nc + first_col..],
            a1,
            a2,
            a3,
        );
        let dst = &mut out[r * nc..(r + 1) * nc];
        for (d, &t) in dst[first_col..simd_end].iter_mut().zip(a1.iter()) {
            *d += t;
        }
        for c in simd_end..last_col {
            let mut t = 0.0f32;
            for (m, &f) in col.iter().enumerate() {
                t += rows[(base + m) * nc + c] * f;
            }
            dst[c] += t;
        }
    }
}

/// dlib `spatially_filter_image(in, out, filter, 1, false, add_to=true)` for float images
/// (the non-separable path, used when a filter bank has too many separable terms; not the
/// case for the face detector, so it is left unvectorised-by-hand).
pub(crate) fn filter_full_add(
    input: &[f32],
    nc: usize,
    area: Area,
    filter: &[f32],
    fw: usize,
    scratch: &mut Scratch,
    out: &mut [f32],
) {
    let fh = filter.len() / fw;
    let Area {
        first_row,
        first_col,
        last_row,
        last_col,
    } = area;
    let simd_end = area.simd_end();
    let span = simd_end - first_col;
    let Scratch { a1, a2, a3, .. } = scratch;
    for v in [&mut *a1, &mut *a2, &mut *a3] {
        v.resize(span.max(1), 0.0);
    }
    for r in first_row..last_row {
        let (a1, a2, a3) = (&mut a1[..span], &mut a2[..span], &mut a3[..span]);
        a1.fill(0.0);
        a2.fill(0.0);
        a3.fill(0.0);
        for m in 0..fh {
            let src = &input[(r - first_row + m) * nc..];
            let taps = &filter[m * fw..(m + 1) * fw];
            let mut n = 0;
            while n + 2 < fw {
                for i in 0..span {
                    a1[i] += src[i + n] * taps[n];
                    a2[i] += src[i + n + 1] * taps[n + 1];
                    a3[i] += src[i + n + 2] * taps[n + 2];
                }
                n += 3;
            }
            while n < fw {
                for i in 0..span {
                    a1[i] += src[i + n] * taps[n];
                }
                n += 1;
            }
        }
        let dst = &mut out[r * nc..(r + 1) * nc];
        for i in 0..span {
            dst[first_col + i] += a1[i] + (a2[i] + a3[i]);
        }
        for c in simd_end..last_col {
            let mut t = 0.0f32;
            for m in 0..fh {
                for n in 0..fw {
                    t += input[(r - first_row + m) * nc + c - first_col + n] * filter[m * fw + n];
                }
            }
            dst[c] += t;
        }
    }
}
