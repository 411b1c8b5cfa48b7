//! dlib's point transforms (`geometry/point_transforms.h`), bit-for-bit.
//!
//! The landmarks and the chips depend on the *exact* doubles these produce: a pixel
//! coordinate rounded with `floor(x + 0.5)` or a bilinear weight truncated to `u8` flips
//! when the last bit of a transform changes. So `find_affine_transform` goes through
//! dlib's pseudo-inverse (its own SVD, `svd4` in `matrix/matrix_la.h`, as the reference
//! build has no LAPACK) and every sum keeps dlib's operand order. Rust never contracts
//! `a * b + c` into an FMA, and the reference build (`-mavx`, no `-mfma`) does not either.

/// A 2-D point in double precision (dlib `dpoint`).
pub type DPoint = [f64; 2];

/// dlib `point_transform_affine`: `p ↦ m·p + b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AffineTransform {
    pub m: [[f64; 2]; 2],
    pub b: [f64; 2],
}

impl AffineTransform {
    pub fn apply(&self, p: DPoint) -> DPoint {
        [
            self.m[0][0] * p[0] + self.m[0][1] * p[1] + self.b[0],
            self.m[1][0] * p[0] + self.m[1][1] * p[1] + self.b[1],
        ]
    }
}

/// Rotates `p` around `center` by `angle` radians (dlib `rotate_point` / `point_rotator`).
pub fn rotate_point(center: DPoint, p: DPoint, angle: f64) -> DPoint {
    let (sin, cos) = (angle.sin(), angle.cos());
    let (x, y) = (p[0] - center[0], p[1] - center[1]);
    [cos * x - sin * y + center[0], sin * x + cos * y + center[1]]
}

/// `v.floor()`, without a libm call on x86-64 builds lacking SSE4.1 (the hot loops of the
/// landmarks and the chip call it tens of thousands of times per face). Exact: for
/// |v| < 2^52 the truncation to an integer is exact, and larger values (and NaN) take
/// the library path.
#[inline]
pub(crate) fn floor(v: f64) -> f64 {
    if v.abs() < 4_503_599_627_370_496.0 {
        let t = v as i64 as f64;
        let t = if t > v { t - 1.0 } else { t };
        // The sign of v, so that floor(-0.0) stays -0.0.
        t.copysign(v)
    } else {
        v.floor()
    }
}

/// dlib's `vector<double,2>` → `point` conversion, `floor(v + 0.5)`. Values a `long`
/// cannot hold (and NaN) become `i64::MIN`, as x86's conversion does, which lands
/// outside any image.
pub fn round_point(p: DPoint) -> [i64; 2] {
    // [-2^63, 2^63): the doubles that convert to an i64 without overflow.
    let range = (i64::MIN as f64)..-(i64::MIN as f64);
    let conv = |v: f64| {
        let r = floor(v + 0.5);
        if range.contains(&r) {
            r as i64
        } else {
            i64::MIN
        }
    };
    [conv(p[0]), conv(p[1])]
}

/// Least-squares affine map `from → to` (dlib `find_affine_transform`: `Q · pinv(P)`).
///
/// Needs at least 3 point pairs; with fewer (or mismatched lengths) returns the identity,
/// which callers never hit since they pass fixed corner triples.
pub fn find_affine_transform(from: &[DPoint], to: &[DPoint]) -> AffineTransform {
    let n = from.len();
    if n < 3 || to.len() != n {
        return AffineTransform {
            m: [[1.0, 0.0], [0.0, 1.0]],
            b: [0.0, 0.0],
        };
    }
    let mut p = Mat::zeros(3, n);
    for (i, f) in from.iter().enumerate() {
        p.set(0, i, f[0]);
        p.set(1, i, f[1]);
        p.set(2, i, 1.0);
    }
    let pinv = pinv(&p); // n x 3
    let mut m = [[0.0f64; 3]; 2];
    for (r, row) in m.iter_mut().enumerate() {
        for (c, out) in row.iter_mut().enumerate() {
            let mut acc = to[0][r] * pinv.get(0, c);
            for (i, t) in to.iter().enumerate().skip(1) {
                acc += t[r] * pinv.get(i, c);
            }
            *out = acc;
        }
    }
    AffineTransform {
        m: [[m[0][0], m[0][1]], [m[1][0], m[1][1]]],
        b: [m[0][2], m[1][2]],
    }
}

/// Least-squares similarity (rotation, uniform scale, translation) `from → to`, Umeyama's
/// method exactly as dlib's `find_similarity_transform` computes it.
#[allow(clippy::needless_range_loop)] // index loops mirror dlib's code
pub fn find_similarity_transform(from: &[DPoint], to: &[DPoint]) -> AffineTransform {
    let n = from.len();
    if n == 0 || to.len() != n {
        return AffineTransform {
            m: [[1.0, 0.0], [0.0, 1.0]],
            b: [0.0, 0.0],
        };
    }
    let nf = n as f64;
    let (mut mean_from, mut mean_to) = ([0.0f64; 2], [0.0f64; 2]);
    for (f, t) in from.iter().zip(to) {
        mean_from[0] += f[0];
        mean_from[1] += f[1];
        mean_to[0] += t[0];
        mean_to[1] += t[1];
    }
    for v in mean_from.iter_mut().chain(mean_to.iter_mut()) {
        *v /= nf;
    }
    let mut sigma_from = 0.0f64;
    let mut cov = [[0.0f64; 2]; 2];
    for (f, t) in from.iter().zip(to) {
        let df = [f[0] - mean_from[0], f[1] - mean_from[1]];
        let dt = [t[0] - mean_to[0], t[1] - mean_to[1]];
        sigma_from += df[0] * df[0] + df[1] * df[1];
        for r in 0..2 {
            for c in 0..2 {
                cov[r][c] += dt[r] * df[c];
            }
        }
    }
    sigma_from /= nf;
    // dlib divides matrices by a scalar as a multiplication by its reciprocal.
    let inv_n = 1.0 / nf;
    for v in cov.iter_mut().flatten() {
        *v *= inv_n;
    }

    let mut a = Mat::zeros(2, 2);
    for r in 0..2 {
        for c in 0..2 {
            a.set(r, c, cov[r][c]);
        }
    }
    let (u, d, v) = svd4(&a);
    let det2 = |m: &Mat| m.get(0, 0) * m.get(1, 1) - m.get(0, 1) * m.get(1, 0);
    let det_cov = cov[0][0] * cov[1][1] - cov[0][1] * cov[1][0];
    let mut s = [1.0f64, 1.0];
    if det_cov < 0.0 || (det_cov == 0.0 && det2(&u) * det2(&v) < 0.0) {
        if d[1] < d[0] {
            s[1] = -1.0;
        } else {
            s[0] = -1.0;
        }
    }
    // r = u * diag(s) * trans(v); multiplying by exactly 1, -1 and 0 loses nothing, so
    // (u*s) can be formed directly.
    let us = [
        [u.get(0, 0) * s[0], u.get(0, 1) * s[1]],
        [u.get(1, 0) * s[0], u.get(1, 1) * s[1]],
    ];
    let mut r = [[0.0f64; 2]; 2];
    for (i, row) in r.iter_mut().enumerate() {
        for (j, out) in row.iter_mut().enumerate() {
            *out = us[i][0] * v.get(j, 0) + us[i][1] * v.get(j, 1);
        }
    }
    let mut c = 1.0;
    if sigma_from != 0.0 {
        // trace(d*s) = 0 + d0*s0 + d1*s1 (dlib's sum starts from zero).
        c = 1.0 / sigma_from * (0.0 + d[0] * s[0] + d[1] * s[1]);
    }
    let cr = [[r[0][0] * c, r[0][1] * c], [r[1][0] * c, r[1][1] * c]];
    // dlib rewrites `(c*r)*mean_from` as `(r*mean_from)*c` (scalars are pulled out of
    // matrix products), which rounds differently from scaling r first.
    let t = [
        mean_to[0] - (r[0][0] * mean_from[0] + r[0][1] * mean_from[1]) * c,
        mean_to[1] - (r[1][0] * mean_from[0] + r[1][1] * mean_from[1]) * c,
    ];
    AffineTransform { m: cr, b: t }
}

/// Small dense row-major matrix for the SVD below.
#[derive(Debug, Clone)]
struct Mat {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Mat {
    fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }
    fn get(&self, r: usize, c: usize) -> f64 {
        self.data[r * self.cols + c]
    }
    fn set(&mut self, r: usize, c: usize, v: f64) {
        self.data[r * self.cols + c] = v;
    }
    fn transpose(&self) -> Mat {
        let mut t = Mat::zeros(self.cols, self.rows);
        for r in 0..self.rows {
            for c in 0..self.cols {
                t.set(c, r, self.get(r, c));
            }
        }
        t
    }
}

/// dlib `pinv(m)` (tol = 0): the SVD-based pseudo-inverse of `pinv_helper`.
fn pinv(m: &Mat) -> Mat {
    if m.cols > m.rows {
        pinv_helper(&m.transpose()).transpose()
    } else {
        pinv_helper(m)
    }
}

#[allow(clippy::needless_range_loop)] // index loops mirror dlib's code
fn pinv_helper(m: &Mat) -> Mat {
    if m.cols == 0 || m.rows == 0 {
        return Mat::zeros(m.cols, m.rows);
    }
    let (u, w, v) = svd4(m);
    // dlib's max() compares magnitudes.
    let max_w = w
        .iter()
        .copied()
        .fold(w[0], |acc, x| if x.abs() > acc.abs() { x } else { acc });
    let eps = f64::EPSILON * (m.rows.max(m.cols) as f64) * max_w;
    let rw: Vec<f64> = w
        .iter()
        .map(|&x| {
            let x = if x >= eps || x <= -eps { x } else { 0.0 };
            if x != 0.0 {
                1.0 / x
            } else {
                0.0
            }
        })
        .collect();
    // (v * diag(rw)) * trans(u), the scaled matrix evaluated first as dlib's tmp() does.
    let n = m.cols;
    let mut out = Mat::zeros(n, m.rows);
    for i in 0..n {
        for j in 0..m.rows {
            let mut acc = v.get(i, 0) * rw[0] * u.get(j, 0);
            for k in 1..n {
                acc += v.get(i, k) * rw[k] * u.get(j, k);
            }
            out.set(i, j, acc);
        }
    }
    out
}

/// dlib's `svd4(SVD_SKINNY_U, true, a, u, q, v)`: the one port in this crate
/// ([`crate::svd`], shared with the HOG filter bank). Requires `a.rows >= a.cols`; returns
/// `u` (rows x cols), `q` (cols), `v` (cols x cols). If the iteration does not converge
/// (dlib flags an error and keeps partial results) zeros are returned, as for a bad shape.
fn svd4(a: &Mat) -> (Mat, Vec<f64>, Mat) {
    let (m, n) = (a.rows, a.cols);
    match crate::svd::svd4_skinny(&a.data, m, n) {
        Some(s) => (
            Mat {
                rows: m,
                cols: n,
                data: s.u,
            },
            s.q,
            Mat {
                rows: n,
                cols: n,
                data: s.v,
            },
        ),
        None => (a.clone(), vec![0.0; n], Mat::zeros(n, n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_floor_matches_floor() {
        for v in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            2.999_999_999,
            -2.000_000_001,
            1e15 + 0.5,
            -1e15 - 0.5,
            4.6e15,
            -4.6e15,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(floor(v).to_bits(), v.floor().to_bits(), "{v}");
        }
        assert!(floor(f64::NAN).is_nan());
    }

    #[test]
    fn affine_maps_corners() {
        let from = [[0.0, 0.0], [149.0, 0.0], [0.0, 149.0]];
        let to = [[10.0, 20.0], [310.0, 20.0], [10.0, 320.0]];
        let t = find_affine_transform(&from, &to);
        for (f, t_) in from.iter().zip(&to) {
            let p = t.apply(*f);
            assert!((p[0] - t_[0]).abs() < 1e-9 && (p[1] - t_[1]).abs() < 1e-9);
        }
    }

    #[test]
    fn similarity_recovers_rotation_and_scale() {
        let (a, sc) = (0.3f64, 2.5f64);
        let from = [[0.0, 0.0], [10.0, 0.0], [0.0, 7.0], [4.0, 9.0], [3.0, -2.0]];
        let to: Vec<DPoint> = from
            .iter()
            .map(|p| {
                [
                    sc * (a.cos() * p[0] - a.sin() * p[1]) + 5.0,
                    sc * (a.sin() * p[0] + a.cos() * p[1]) - 3.0,
                ]
            })
            .collect();
        let t = find_similarity_transform(&from, &to);
        assert!((t.m[0][0] - sc * a.cos()).abs() < 1e-12);
        assert!((t.m[1][0] - sc * a.sin()).abs() < 1e-12);
        assert!((t.b[0] - 5.0).abs() < 1e-12 && (t.b[1] + 3.0).abs() < 1e-12);
    }
}
