//! dlib `float_spatially_filter_image_separable(in, out, row, col, scratch, add_to=true)`
//! and `spatially_filter_image(in, out, filter, 1, false, add_to=true)` for float images,
//! with dlib's summation orders, so that scores are bit-identical.
//!
//! dlib handles each row in blocks of 8 columns with SIMD code — three interleaved
//! accumulators over taps `n ≡ 0, 1, 2 (mod 3)`, leftover taps into the first, then
//! `t0 + (t1 + t2)` — and finishes the row with a plain left-to-right scalar sum. Both
//! orders are reproduced per column. The SIMD-ordered columns are computed in blocks whose
//! accumulators stay in registers across all taps (the block width is chosen per
//! instruction set); the lanes are independent outputs, so neither the block width nor
//! the vector width changes any result (Rust never fuses a multiply and an add).

/// Reusable buffers for [`filter_separable_add`]: the row-filtered plane, and a padded
/// copy of a row's last inputs.
#[derive(Default)]
pub(crate) struct Scratch {
    rows: Vec<f32>,
    pad: Vec<f32>,
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

/// dlib's three SIMD accumulators for `B` adjacent outputs.
struct Acc<const B: usize>([[f32; B]; 3]);

impl<const B: usize> Acc<B> {
    #[inline(always)]
    fn new() -> Self {
        Self([[0.0; B]; 3])
    }

    /// Adds `Σ_n src(n)[j] · taps[n]` in dlib's order: taps `3k, 3k+1, 3k+2` into the three
    /// accumulators, leftover taps into the first.
    #[inline(always)]
    fn add_taps<'a>(&mut self, taps: &[f32], src: impl Fn(usize) -> &'a [f32; B]) {
        let [a1, a2, a3] = &mut self.0;
        let len = taps.len();
        let mut n = 0;
        while n + 2 < len {
            let (s1, s2, s3) = (src(n), src(n + 1), src(n + 2));
            let (f1, f2, f3) = (taps[n], taps[n + 1], taps[n + 2]);
            for j in 0..B {
                a1[j] += s1[j] * f1;
                a2[j] += s2[j] * f2;
                a3[j] += s3[j] * f3;
            }
            n += 3;
        }
        while n < len {
            let (s, f) = (src(n), taps[n]);
            for j in 0..B {
                a1[j] += s[j] * f;
            }
            n += 1;
        }
    }

    /// dlib's `t0 + (t1 + t2)`.
    #[inline(always)]
    fn total(&self) -> [f32; B] {
        let [a1, a2, a3] = &self.0;
        std::array::from_fn(|j| a1[j] + (a2[j] + a3[j]))
    }
}

/// `B` outputs of dlib's scalar loop: `Σ_n src(n)[j] · taps[n]` summed left to right.
#[inline(always)]
fn scalar_block<'a, const B: usize>(taps: &[f32], src: impl Fn(usize) -> &'a [f32; B]) -> [f32; B] {
    let mut t = [0.0f32; B];
    for (n, &f) in taps.iter().enumerate() {
        let s = src(n);
        for j in 0..B {
            t[j] += s[j] * f;
        }
    }
    t
}

/// `B` elements of `v` from `at` (bounds-checked once).
#[inline(always)]
fn block<const B: usize>(v: &[f32], at: usize) -> &[f32; B] {
    v[at..at + B]
        .first_chunk()
        .expect("slice of length B has a first chunk of length B")
}

/// The SIMD-ordered span `0..span` (a multiple of 8) as blocks: `(offset, wide)`, where
/// wide blocks have `W` columns and the rest 8.
#[inline(always)]
fn blocks<const W: usize>(span: usize) -> impl Iterator<Item = (usize, bool)> {
    let wide = span / W;
    let narrow = (span - wide * W) / 8;
    (0..wide)
        .map(|i| (i * W, true))
        .chain((0..narrow).map(move |i| (wide * W + i * 8, false)))
}

/// `B` SIMD-ordered outputs of a 1-D filter: `Σ_n src[at + n·stride + j] · taps[n]`.
#[inline(always)]
fn filter_block<const B: usize>(src: &[f32], at: usize, stride: usize, taps: &[f32]) -> [f32; B] {
    // One bounds check for the whole window instead of one per tap (this is the hot loop).
    let end = at + (taps.len().max(1) - 1) * stride + B;
    let window = &src[at..end];
    let mut acc = Acc::<B>::new();
    acc.add_taps(taps, |n| {
        debug_assert!(n < taps.len());
        // SAFETY: `add_taps` only asks for taps `n < taps.len()`, and for those
        // `n·stride + B <= (taps.len() - 1)·stride + B = window.len()`, so the `B` floats
        // from `n·stride` are inside `window` (an `[f32; B]` has the alignment of `f32`).
        unsafe { &*window.as_ptr().add(n * stride).cast::<[f32; B]>() }
    });
    acc.total()
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
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return unsafe { separable_avx512(input, nc, area, row, col, scratch, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { separable_avx2(input, nc, area, row, col, scratch, out) };
        }
    }
    separable_impl::<8>(input, nc, area, row, col, scratch, out)
}

/// [`separable_impl`] compiled for AVX-512: blocks of 4 × 16 lanes (12 accumulator
/// registers of 32).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn separable_avx512(
    input: &[f32],
    nc: usize,
    area: Area,
    row: &[f32],
    col: &[f32],
    scratch: &mut Scratch,
    out: &mut [f32],
) {
    separable_impl::<64>(input, nc, area, row, col, scratch, out)
}

/// [`separable_impl`] compiled for AVX2: blocks of 3 × 8 lanes (9 accumulator registers
/// of 16).
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
    separable_impl::<24>(input, nc, area, row, col, scratch, out)
}

#[inline(always)]
fn separable_impl<const W: usize>(
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
    let tail = last_col - simd_end;
    let Scratch { rows, pad } = scratch;
    // 8 spare values: the last row's scalar block of the column pass reads past its end.
    rows.resize(nr * nc + 8, 0.0);
    pad.clear();
    pad.resize(8 + row.len(), 0.0);

    // Row filter, every row: rows[r][c] = Σ_n input[r][c - first_col + n] · row[n].
    for r in 0..nr {
        let inr = &input[r * nc..(r + 1) * nc];
        let dst = &mut rows[r * nc..(r + 1) * nc];
        if inr.iter().all(|&v| v == 0.0) {
            // The fHOG padding rows: every sum of ±0 products, started at +0, is +0.
            dst[first_col..last_col].fill(0.0);
            continue;
        }
        for (x, wide) in blocks::<W>(span) {
            let d = &mut dst[first_col + x..];
            if wide {
                d[..W].copy_from_slice(&filter_block::<W>(inr, x, 1, row));
            } else {
                d[..8].copy_from_slice(&filter_block::<8>(inr, x, 1, row));
            }
        }
        if tail > 0 {
            // The scalar columns, 8 at a time from a zero-padded copy of their inputs.
            let start = simd_end - first_col;
            pad[..nc - start].copy_from_slice(&inr[start..]);
            let t = scalar_block::<8>(row, |n| block(pad, n));
            dst[simd_end..last_col].copy_from_slice(&t[..tail]);
        }
    }

    // Column filter on valid rows, added to the output.
    let rows = &*rows;
    for r in first_row..last_row {
        let base = (r - first_row) * nc + first_col;
        let dst = &mut out[r * nc..(r + 1) * nc];
        for (x, wide) in blocks::<W>(span) {
            let d = &mut dst[first_col + x..];
            if wide {
                add_to(&mut d[..W], &filter_block::<W>(rows, base + x, nc, col));
            } else {
                add_to(&mut d[..8], &filter_block::<8>(rows, base + x, nc, col));
            }
        }
        if tail > 0 {
            // Lanes past `last_col` read the next row or the padding and are dropped.
            let at = base + simd_end - first_col;
            let t = scalar_block::<8>(col, |m| block(rows, at + m * nc));
            add_to(&mut dst[simd_end..last_col], &t[..tail]);
        }
    }
}

#[inline(always)]
fn add_to(dst: &mut [f32], v: &[f32]) {
    for (d, &t) in dst.iter_mut().zip(v) {
        *d += t;
    }
}

/// dlib `spatially_filter_image(in, out, filter, 1, false, add_to=true)` for float images
/// (the non-separable path, used when a filter bank has too many separable terms; not the
/// case for the face detector, so it is not specialised for speed): per output, the three
/// SIMD accumulators run over all filter rows before being summed.
pub(crate) fn filter_full_add(
    input: &[f32],
    nc: usize,
    area: Area,
    filter: &[f32],
    fw: usize,
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
    for r in first_row..last_row {
        let dst = &mut out[r * nc..(r + 1) * nc];
        let top = r - first_row;
        for x in (0..span).step_by(8) {
            let mut acc = Acc::<8>::new();
            for m in 0..fh {
                let src = &input[(top + m) * nc..];
                acc.add_taps(&filter[m * fw..(m + 1) * fw], |n| block(src, x + n));
            }
            add_to(&mut dst[first_col + x..][..8], &acc.total());
        }
        for c in simd_end..last_col {
            let mut t = 0.0f32;
            for m in 0..fh {
                for n in 0..fw {
                    t += input[(top + m) * nc + c - first_col + n] * filter[m * fw + n];
                }
            }
            dst[c] += t;
        }
    }
}
