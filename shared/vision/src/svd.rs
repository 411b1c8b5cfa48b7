//! dlib's `svd4` (no LAPACK build): the Golub–Reinsch SVD translated from the Algol of the
//! "Handbook for Automatic Computation, vol. II", operation for operation, so that the
//! separable filters built from it round to the same `f32` values as in dlib.

/// The SVD `a = u · diag(q) · vᵀ` of an `m × n` row-major matrix with `m >= n`
/// (`u` is `m × n`, "skinny"; `v` is `n × n`).
pub(crate) struct Svd {
    pub u: Vec<f64>,
    pub q: Vec<f64>,
    pub v: Vec<f64>,
}

/// Port of `svd4(SVD_SKINNY_U, true, a, u, q, v)`. Returns `None` if the iteration did
/// not converge (dlib returns an error code and leaves partial results; we refuse them).
pub(crate) fn svd4_skinny(a: &[f64], m: usize, n: usize) -> Option<Svd> {
    if m < n || a.len() != m * n || n == 0 {
        return None;
    }
    let eps0 = f64::EPSILON;
    let tol = f64::MIN_POSITIVE / eps0;
    // u is m x n (skinny); index u(i, j) = u[i*n + j].
    let mut u = a.to_vec();
    let mut v = vec![0.0f64; n * n];
    let mut q = vec![0.0f64; n];
    let mut e = vec![0.0f64; n];
    let un = n; // u.nc()
    macro_rules! u {
        ($i:expr, $j:expr) => {
            u[($i) * un + ($j)]
        };
    }
    macro_rules! v {
        ($i:expr, $j:expr) => {
            v[($i) * n + ($j)]
        };
    }

    // Householder's reduction to bidiagonal form.
    let (mut g, mut x) = (0.0f64, 0.0f64);
    let mut l = 0usize;
    let (mut f, mut h, mut s);
    for i in 0..n {
        e[i] = g;
        s = 0.0;
        l = i + 1;
        for j in i..m {
            s += u!(j, i) * u!(j, i);
        }
        if s < tol {
            g = 0.0;
        } else {
            f = u!(i, i);
            g = if f < 0.0 { s.sqrt() } else { -s.sqrt() };
            h = f * g - s;
            u!(i, i) = f - g;
            for j in l..n {
                s = 0.0;
                for k in i..m {
                    s += u!(k, i) * u!(k, j);
                }
                f = s / h;
                for k in i..m {
                    u!(k, j) += f * u!(k, i);
                }
            }
        }
        q[i] = g;
        s = 0.0;
        for j in l..n {
            s += u!(i, j) * u!(i, j);
        }
        if s < tol {
            g = 0.0;
        } else {
            f = u!(i, i + 1);
            g = if f < 0.0 { s.sqrt() } else { -s.sqrt() };
            h = f * g - s;
            u!(i, i + 1) = f - g;
            for j in l..n {
                e[j] = u!(i, j) / h;
            }
            for j in l..m {
                s = 0.0;
                for k in l..n {
                    s += u!(j, k) * u!(i, k);
                }
                for k in l..n {
                    u!(j, k) += s * e[k];
                }
            }
        }
        let y = q[i].abs() + e[i].abs();
        if y > x {
            x = y;
        }
    }

    // Accumulation of right-hand transformations.
    for i in (0..n).rev() {
        if g != 0.0 {
            h = u!(i, i + 1) * g;
            for j in l..n {
                v!(j, i) = u!(i, j) / h;
            }
            for j in l..n {
                s = 0.0;
                for k in l..n {
                    s += u!(i, k) * v!(k, j);
                }
                for k in l..n {
                    v!(k, j) += s * v!(k, i);
                }
            }
        }
        for j in l..n {
            v!(i, j) = 0.0;
            v!(j, i) = 0.0;
        }
        v!(i, i) = 1.0;
        g = e[i];
        l = i;
    }

    // Accumulation of left-hand transformations (skinny u: u.nr() = m, u.nc() = n, so the
    // identity-padding loop over rows n..m touches no column).
    for i in (0..n).rev() {
        l = i + 1;
        g = q[i];
        for j in l..un {
            u!(i, j) = 0.0;
        }
        if g != 0.0 {
            h = u!(i, i) * g;
            for j in l..un {
                s = 0.0;
                for k in l..m {
                    s += u!(k, i) * u!(k, j);
                }
                f = s / h;
                for k in i..m {
                    u!(k, j) += f * u!(k, i);
                }
            }
            for j in i..m {
                u!(j, i) /= g;
            }
        } else {
            for j in i..m {
                u!(j, i) = 0.0;
            }
        }
        u!(i, i) += 1.0;
    }

    // Diagonalization of the bidiagonal form.
    let eps = eps0 * x;
    let (mut c, mut y, mut z);
    for k in (0..n).rev() {
        let mut iter = 0;
        loop {
            // test_f_splitting
            let mut l = k;
            let mut cancel = false;
            loop {
                if e[l].abs() <= eps {
                    break;
                }
                // e[0] is always 0, so l > 0 here (dlib would read q(-1) otherwise).
                if l == 0 {
                    break;
                }
                if q[l - 1].abs() <= eps {
                    cancel = true;
                    break;
                }
                l -= 1;
            }
            if cancel {
                // cancellation of e(l) if l > 0
                c = 0.0;
                s = 1.0;
                let l1 = l - 1;
                for i in l..=k {
                    f = s * e[i];
                    e[i] *= c;
                    if f.abs() <= eps {
                        break;
                    }
                    g = q[i];
                    h = (f * f + g * g).sqrt();
                    q[i] = h;
                    c = g / h;
                    s = -f / h;
                    for j in 0..m {
                        y = u!(j, l1);
                        z = u!(j, i);
                        u!(j, l1) = y * c + z * s;
                        u!(j, i) = -y * s + z * c;
                    }
                }
            }
            // test_f_convergence
            z = q[k];
            if l == k {
                // convergence
                if z < 0.0 {
                    q[k] = -z;
                    for j in 0..n {
                        v!(j, k) = -v!(j, k);
                    }
                }
                break;
            }
            iter += 1;
            if iter > 300 {
                return None;
            }
            // shift from bottom 2x2 minor
            x = q[l];
            y = q[k - 1];
            g = e[k - 1];
            h = e[k];
            f = ((y - z) * (y + z) + (g - h) * (g + h)) / (2.0 * h * y);
            g = (f * f + 1.0).sqrt();
            f = ((x - z) * (x + z) + h * (y / (if f < 0.0 { f - g } else { f + g }) - h)) / x;

            // next QR transformation
            c = 1.0;
            s = 1.0;
            for i in (l + 1)..=k {
                g = e[i];
                y = q[i];
                h = s * g;
                g *= c;
                z = (f * f + h * h).sqrt();
                e[i - 1] = z;
                c = f / z;
                s = h / z;
                f = x * c + g * s;
                g = -x * s + g * c;
                h = y * s;
                y *= c;
                for j in 0..n {
                    x = v!(j, i - 1);
                    z = v!(j, i);
                    v!(j, i - 1) = x * c + z * s;
                    v!(j, i) = -x * s + z * c;
                }
                z = (f * f + h * h).sqrt();
                q[i - 1] = z;
                if z != 0.0 {
                    c = f / z;
                    s = h / z;
                }
                f = c * g + s * y;
                x = -s * g + c * y;
                for j in 0..m {
                    y = u!(j, i - 1);
                    z = u!(j, i);
                    u!(j, i - 1) = y * c + z * s;
                    u!(j, i) = -y * s + z * c;
                }
            }
            e[l] = 0.0;
            e[k] = f;
            q[k] = x;
        }
    }
    Some(Svd { u, q, v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconstructs_the_matrix() {
        let (m, n) = (5, 4);
        let a: Vec<f64> = (0..m * n)
            .map(|i| ((i * 37 % 11) as f64 - 5.0) * 0.3 + (i as f64).sin())
            .collect();
        let svd = svd4_skinny(&a, m, n).unwrap();
        for r in 0..m {
            for c in 0..n {
                let v: f64 = (0..n)
                    .map(|k| svd.u[r * n + k] * svd.q[k] * svd.v[c * n + k])
                    .sum();
                assert!((v - a[r * n + c]).abs() < 1e-12, "{r},{c}: {v}");
            }
        }
        assert!(svd.q.iter().all(|&s| s >= 0.0));
    }
}
