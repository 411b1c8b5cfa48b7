//! dlib `scan_fhog_pyramid::build_fhog_filterbank`: each of the 31 `h × w` filter planes is
//! split by SVD into rank-one (row filter, column filter) pairs, dropping singular values
//! below `max(1e-4, 0.001·σ_max)`. Detection then runs the separable pairs.

use crate::svd::svd4_skinny;
use faceid_dlib_format::hog_detector::FHOG_PLANES;

/// One rank-one term of a filter plane: `col ⊗ row`, both scaled by `√σ`, in `f32`
/// exactly as dlib casts them.
#[derive(Debug, Clone)]
pub(crate) struct SeparableFilter {
    pub row: Vec<f32>,
    pub col: Vec<f32>,
}

/// The filters of one weight vector.
#[derive(Debug, Clone)]
pub(crate) struct FilterBank {
    pub width: usize,
    pub height: usize,
    /// The full filters (`matrix_cast<float>` of the weights), plane-major, row-major.
    pub full: Vec<f32>,
    /// Per plane, the separable terms in decreasing singular-value order.
    pub separable: Vec<Vec<SeparableFilter>>,
}

impl FilterBank {
    /// Builds the bank from the `width·height·31` weights (plane-major, row-major).
    /// Returns `None` if an SVD fails to converge.
    pub fn build(weights: &[f64], width: usize, height: usize) -> Option<Self> {
        let size = width * height;
        if weights.len() < size * FHOG_PLANES || width == 0 || height == 0 {
            return None;
        }
        let full = weights[..size * FHOG_PLANES]
            .iter()
            .map(|&w| w as f32)
            .collect();
        let mut separable = Vec::with_capacity(FHOG_PLANES);
        for plane in 0..FHOG_PLANES {
            let f = &weights[plane * size..(plane + 1) * size];
            separable.push(separate(f, width, height)?);
        }
        Some(Self {
            width,
            height,
            full,
            separable,
        })
    }

    /// dlib `num_separable_filters()`.
    pub fn num_separable(&self) -> usize {
        self.separable.iter().map(Vec::len).sum()
    }

    /// dlib `apply_filters_to_fhog` uses the full filters when the separable form would
    /// cost more: `num_separable > planes · min(nr, nc) / 3`.
    pub fn use_full_filters(&self) -> bool {
        self.num_separable() as f64 > (FHOG_PLANES * self.height.min(self.width)) as f64 / 3.0
    }
}

/// `svd3(f, u, w, v)`, `rsort_columns`, `round_zeros`, then `u_j·√w_j` / `v_j·√w_j`.
fn separate(f: &[f64], width: usize, height: usize) -> Option<Vec<SeparableFilter>> {
    // svd3 takes the SVD of f when rows >= cols, else of fᵀ with u and v swapped.
    let (u, w, v, n_u, n_v) = if height >= width {
        let s = svd4_skinny(f, height, width)?;
        (s.u, s.q, s.v, height, width)
    } else {
        let mut t = vec![0.0; f.len()];
        for r in 0..height {
            for c in 0..width {
                t[c * height + r] = f[r * width + c];
            }
        }
        // svd4(SVD_FULL_U, true, trans(m), v, w, u): u (height × height) comes out as the
        // "v" of fᵀ; singular values beyond min(h, w) are padded with zeros and dropped.
        let s = svd4_skinny(&t, width, height)?;
        (s.v, s.q, s.u, height, width)
    };
    let k = w.len();
    // Column j of u: u[r*k + j] (u is n_u × k); of v: v[c*k + j] (v is n_v × k).
    let mut order: Vec<usize> = (0..k).collect();
    // rsort_columns: decreasing singular value (dlib's std::sort is not stable; ties between
    // distinct non-zero singular values do not occur for real filters).
    order.sort_by(|&a, &b| w[b].total_cmp(&w[a]));
    let max_w = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let thresh = f64::max(1e-4, max_w * 0.001);
    let mut out = Vec::new();
    for &j in &order {
        let s = w[j];
        if !(s >= thresh || s <= -thresh) {
            continue;
        }
        let scale = s.sqrt();
        let col = (0..n_u).map(|r| (u[r * k + j] * scale) as f32).collect();
        let row = (0..n_v).map(|c| (v[c * k + j] * scale) as f32).collect();
        out.push(SeparableFilter { row, col });
    }
    Some(out)
}
