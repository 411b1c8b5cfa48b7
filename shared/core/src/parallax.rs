//! Parallax: does the face move as one flat surface (a photo) or as a solid head?
//!
//! Every view of a flat picture — held straight, turned, rolled, near a wide-angle lens,
//! or warped by any 2-D projective map — is the same picture mapped by one homography.
//! A head is not flat: when it turns, the nose crosses the cheeks and the sides of the face
//! slide behind, so no single homography carries a straight-ahead view onto a turned one.
//! We track a grid of points over the inner face between a straight frame and each turned
//! frame (patch matching on grey face patches aligned by the eyes), fit the homography
//! that best explains the motion, and measure what it leaves unexplained.
//!
//! The patch is a grey image of the face only (no descriptor can be computed from it, but
//! it is still a face image: it lives in memory for one request and is never logged).

/// Eye distance in a patch, pixels.
pub const PATCH_EYE_DISTANCE: f64 = 40.0;
pub const PATCH_WIDTH: usize = 96;
pub const PATCH_HEIGHT: usize = 112;
/// Where the midpoint of the eyes sits in a patch.
const PATCH_EYE_MID: [f64; 2] = [48.0, 36.0];

/// Half size of the square template matched around each tracked point.
const TEMPLATE_RADIUS: i64 = 4;
/// How far (pixels) from the landmarks' affine prediction a point is searched for.
const SEARCH_RADIUS: i64 = 5;
/// How far from the first homography's prediction a point is searched for again.
const REFINE_RADIUS: i64 = 3;
/// Grid of tracked points, in patch pixels relative to the eye midpoint: the inner face
/// from just above the eyes to the mouth, three quarters of an eye distance either side —
/// inside the face at every pose the page asks for, so no background is tracked (a print's
/// background does not move with it and would look like depth).
const GRID_X: (i64, i64) = (-30, 30);
const GRID_Y: (i64, i64) = (-12, 48);
const GRID_STEP: usize = 5;
/// A template flatter than this (grey-level standard deviation) cannot be located.
const MIN_TEMPLATE_STD: f64 = 3.0;
/// Matches below this normalised cross-correlation are dropped.
const MIN_MATCH_SCORE: f64 = 0.8;
/// Fewer matches than this: no measure.
const MIN_MATCHES: usize = 24;
/// The share of the worst-explained points whose motion is reported (see [`residual`]).
const RESIDUAL_QUANTILE: f64 = 0.75;

/// A grey face patch aligned by the eyes, with the 5 landmarks in its coordinates.
#[derive(Clone, PartialEq)]
pub struct FacePatch {
    pixels: Vec<f32>,
    landmarks: [[f64; 2]; 5],
}

impl std::fmt::Debug for FacePatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print face pixels.
        f.write_str("FacePatch { .. }")
    }
}

/// The similarity taking image coordinates to patch coordinates: `p' = s·R·(p − mid) + c`.
#[derive(Debug, Clone, Copy)]
struct Placement {
    mid: [f64; 2],
    cos: f64,
    sin: f64,
    scale: f64,
}

impl Placement {
    fn of(landmarks: &[[f64; 2]; 5]) -> Option<Self> {
        let [a0, a1, b0, b1, _] = *landmarks;
        let a = [(a0[0] + a1[0]) / 2.0, (a0[1] + a1[1]) / 2.0];
        let b = [(b0[0] + b1[0]) / 2.0, (b0[1] + b1[1]) / 2.0];
        let (l, r) = if a[0] <= b[0] { (a, b) } else { (b, a) };
        let v = [r[0] - l[0], r[1] - l[1]];
        let d = v[0].hypot(v[1]);
        if !d.is_finite() || d < 4.0 {
            return None;
        }
        Some(Self {
            mid: [(l[0] + r[0]) / 2.0, (l[1] + r[1]) / 2.0],
            cos: v[0] / d,
            sin: v[1] / d,
            scale: PATCH_EYE_DISTANCE / d,
        })
    }

    fn to_patch(self, p: [f64; 2]) -> [f64; 2] {
        let (x, y) = (p[0] - self.mid[0], p[1] - self.mid[1]);
        [
            PATCH_EYE_MID[0] + self.scale * (self.cos * x + self.sin * y),
            PATCH_EYE_MID[1] + self.scale * (-self.sin * x + self.cos * y),
        ]
    }

    fn to_image(self, q: [f64; 2]) -> [f64; 2] {
        let (x, y) = (
            (q[0] - PATCH_EYE_MID[0]) / self.scale,
            (q[1] - PATCH_EYE_MID[1]) / self.scale,
        );
        [
            self.mid[0] + self.cos * x - self.sin * y,
            self.mid[1] + self.sin * x + self.cos * y,
        ]
    }
}

impl FacePatch {
    /// Samples the patch of the face with these landmarks; `grey(x, y)` is the image's grey
    /// level at a real-valued point (bilinear, clamped at the border). `None` if the eyes
    /// are too close together to place a patch.
    pub fn sample(landmarks: &[[f64; 2]; 5], grey: impl Fn(f64, f64) -> f32) -> Option<Self> {
        let place = Placement::of(landmarks)?;
        let mut pixels = Vec::with_capacity(PATCH_WIDTH * PATCH_HEIGHT);
        for y in 0..PATCH_HEIGHT {
            for x in 0..PATCH_WIDTH {
                let p = place.to_image([x as f64, y as f64]);
                pixels.push(grey(p[0], p[1]));
            }
        }
        Some(Self {
            pixels,
            landmarks: landmarks.map(|p| place.to_patch(p)),
        })
    }

    /// Grey levels, row by row (`PATCH_WIDTH` × `PATCH_HEIGHT`). Public for the replay
    /// print measurement (`faceid-bench replay-prints`).
    pub fn pixels(&self) -> &[f32] {
        &self.pixels
    }

    /// This patch seen through `from`: each pixel `q` takes the grey level at `from(q)`
    /// (bilinear, clamped at the border).
    fn mapped(&self, from: impl Fn([f64; 2]) -> [f64; 2]) -> Self {
        let mut pixels = Vec::with_capacity(PATCH_WIDTH * PATCH_HEIGHT);
        for y in 0..PATCH_HEIGHT {
            for x in 0..PATCH_WIDTH {
                let p = from([x as f64, y as f64]);
                pixels.push(self.bilinear(p));
            }
        }
        Self {
            pixels,
            landmarks: self.landmarks,
        }
    }

    fn bilinear(&self, [x, y]: [f64; 2]) -> f32 {
        let x = x.clamp(0.0, (PATCH_WIDTH - 1) as f64);
        let y = y.clamp(0.0, (PATCH_HEIGHT - 1) as f64);
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = ((x - x0) as f32, (y - y0) as f32);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let (x1, y1) = (
            (x0 + 1).min(PATCH_WIDTH as i64 - 1),
            (y0 + 1).min(PATCH_HEIGHT as i64 - 1),
        );
        let top = self.at(x0, y0) * (1.0 - fx) + self.at(x1, y0) * fx;
        let bottom = self.at(x0, y1) * (1.0 - fx) + self.at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    fn at(&self, x: i64, y: i64) -> f32 {
        self.pixels[y as usize * PATCH_WIDTH + x as usize]
    }
}

/// How much of the face's motion from the straight frame to a turned one ([`tracks`]) no
/// single homography explains: the [`RESIDUAL_QUANTILE`] quantile of the tracked points'
/// distances from where the best-fitting homography puts them, in eye distances. About 0
/// for a photo in any pose; a head's turn leaves the nose and the sides of the face off
/// the plane. `None` if no homography fits.
pub fn residual(tracks: &[Track]) -> Option<f64> {
    let h = Homography::fit_tracks(tracks)?;
    let mut errors: Vec<f64> = tracks
        .iter()
        .map(|t| {
            let m = h.apply(t.from);
            (m[0] - t.to[0]).hypot(m[1] - t.to[1])
        })
        .collect();
    errors.sort_by(f64::total_cmp);
    let i = ((errors.len() as f64 * RESIDUAL_QUANTILE) as usize).min(errors.len() - 1);
    Some(errors[i] / PATCH_EYE_DISTANCE)
}

/// One grid point tracked from the straight patch to the turned one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Track {
    /// Row and column of the grid point.
    pub cell: (usize, usize),
    /// Where it is in the straight patch (the grid point, to the rounding of the search).
    pub from: [f64; 2],
    /// Where it was found in the turned patch.
    pub to: [f64; 2],
}

/// The grid tracked from `straight` to `turned`, refined against a first homography;
/// `None` if too few points were found.
pub fn tracks(straight: &FacePatch, turned: &FacePatch) -> Option<Vec<Track>> {
    let first = track(straight, turned);
    if first.len() < MIN_MATCHES {
        return None;
    }
    // The first matches compare square templates with a foreshortened view of them, which
    // blurs where a steeply turned photo's points are found. Seen through the first fit,
    // a photo's straight view lines up with its turned view again: matching that against
    // the turned view locates a plane's points to a fraction of a pixel, while a head's
    // nose and sides stay off the plane.
    let rough = Homography::fit(&first)?;
    let matches = retrack(straight, turned, &rough)?;
    (matches.len() >= MIN_MATCHES).then_some(matches)
}

/// Grid points of `a` and where they are found in `b`, looking near where `h` puts them
/// with templates cut from `a` mapped by `h`.
fn retrack(a: &FacePatch, b: &FacePatch, h: &Homography) -> Option<Vec<Track>> {
    let back = h.inverse()?;
    let warped = a.mapped(|q| back.apply(q));
    let reach = TEMPLATE_RADIUS + REFINE_RADIUS + 1;
    let mut out = vec![];
    for (cell, p) in cells() {
        let q = h.apply(p);
        let at = (q[0].round() as i64, q[1].round() as i64);
        if !inside(at, reach) {
            continue;
        }
        // Where the rounded point came from in `a`: the pair must name the same point.
        let from = back.apply([at.0 as f64, at.1 as f64]);
        if let Some(found) = locate(&warped, at, b, at, REFINE_RADIUS) {
            out.push(Track {
                cell,
                from,
                to: found,
            });
        }
    }
    Some(out)
}

/// The tracked grid, in patch pixels.
fn grid() -> impl Iterator<Item = [f64; 2]> {
    cells().map(|(_, p)| p)
}

/// The tracked grid with each point's (row, column).
fn cells() -> impl Iterator<Item = ((usize, usize), [f64; 2])> {
    let rows = (GRID_Y.1 - GRID_Y.0) as usize / GRID_STEP + 1;
    let cols = (GRID_X.1 - GRID_X.0) as usize / GRID_STEP + 1;
    (0..rows).flat_map(move |row| (0..cols).map(move |col| ((row, col), cell_point((row, col)))))
}

/// Where the grid point of `(row, column)` is in a patch.
pub(crate) fn cell_point((row, col): (usize, usize)) -> [f64; 2] {
    [
        PATCH_EYE_MID[0] + (GRID_X.0 + (col * GRID_STEP) as i64) as f64,
        PATCH_EYE_MID[1] + (GRID_Y.0 + (row * GRID_STEP) as i64) as f64,
    ]
}

/// The middle of the tracked grid, in a patch.
pub(crate) const GRID_MIDDLE: [f64; 2] = [
    PATCH_EYE_MID[0] + (GRID_X.0 + GRID_X.1) as f64 / 2.0,
    PATCH_EYE_MID[1] + (GRID_Y.0 + GRID_Y.1) as f64 / 2.0,
];

/// The grid's pitch, in eye distances.
pub(crate) const GRID_PITCH: f64 = GRID_STEP as f64 / PATCH_EYE_DISTANCE;

/// Whether a template and its search `reach` around `(x, y)` lie inside a patch.
fn inside((x, y): (i64, i64), reach: i64) -> bool {
    x >= reach && y >= reach && x < PATCH_WIDTH as i64 - reach && y < PATCH_HEIGHT as i64 - reach
}

/// Grid points of `a` and where they are found in `b`, looking near where the
/// landmarks' affine map puts them.
fn track(a: &FacePatch, b: &FacePatch) -> Vec<([f64; 2], [f64; 2])> {
    let Some(guess) = Affine::fit(&a.landmarks, &b.landmarks) else {
        return vec![];
    };
    let reach = TEMPLATE_RADIUS + SEARCH_RADIUS + 1;
    let mut out = vec![];
    for p in grid() {
        let at = (p[0] as i64, p[1] as i64);
        let q = guess.apply(p);
        let near = (q[0].round() as i64, q[1].round() as i64);
        if !inside(at, reach) || !inside(near, reach) {
            continue;
        }
        if let Some(found) = locate(a, at, b, near, SEARCH_RADIUS) {
            out.push((p, found));
        }
    }
    out
}

/// Grey levels of the template around `(x, y)`, zero-mean and unit-norm; `None` if flat.
fn template(p: &FacePatch, (x, y): (i64, i64)) -> Option<Vec<f64>> {
    let mut v = Vec::with_capacity(((2 * TEMPLATE_RADIUS + 1) as usize).pow(2));
    for dy in -TEMPLATE_RADIUS..=TEMPLATE_RADIUS {
        for dx in -TEMPLATE_RADIUS..=TEMPLATE_RADIUS {
            v.push(f64::from(p.at(x + dx, y + dy)));
        }
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let ss: f64 = v.iter().map(|g| (g - mean).powi(2)).sum();
    if (ss / n).sqrt() < MIN_TEMPLATE_STD {
        return None;
    }
    let norm = ss.sqrt();
    Some(v.into_iter().map(|g| (g - mean) / norm).collect())
}

/// Where `a`'s template around `at` is found in `b` near `near`, to a sub-pixel, by
/// normalised cross-correlation (insensitive to the light's gain and offset, which the
/// page's screen colours change between frames).
fn locate(
    a: &FacePatch,
    at: (i64, i64),
    b: &FacePatch,
    near: (i64, i64),
    radius: i64,
) -> Option<[f64; 2]> {
    let t = template(a, at)?;
    let side = (2 * radius + 1) as usize;
    let mut scores = vec![f64::NEG_INFINITY; side * side];
    for (i, oy) in (-radius..=radius).enumerate() {
        for (j, ox) in (-radius..=radius).enumerate() {
            if let Some(w) = template(b, (near.0 + ox, near.1 + oy)) {
                scores[i * side + j] = t.iter().zip(&w).map(|(p, q)| p * q).sum();
            }
        }
    }
    let (best, &score) = scores
        .iter()
        .enumerate()
        .max_by(|x, y| x.1.total_cmp(y.1))?;
    if score < MIN_MATCH_SCORE {
        return None;
    }
    let (i, j) = (best / side, best % side);
    // A peak on the search window's edge may lie beyond it: not located.
    if i == 0 || j == 0 || i == side - 1 || j == side - 1 {
        return None;
    }
    let peak = |lo: f64, hi: f64| {
        let curve = lo - 2.0 * score + hi;
        // A flat neighbour (no score) leaves the integer peak.
        if lo.is_finite() && hi.is_finite() && curve < 0.0 {
            (0.5 * (lo - hi) / curve).clamp(-0.5, 0.5)
        } else {
            0.0
        }
    };
    let dx = peak(scores[best - 1], scores[best + 1]);
    let dy = peak(scores[best - side], scores[best + side]);
    Some([
        (near.0 - radius + j as i64) as f64 + dx,
        (near.1 - radius + i as i64) as f64 + dy,
    ])
}

/// Solves `m·x = v` (Gaussian elimination with partial pivoting); `None` if singular.
pub(crate) fn solve<const N: usize>(mut m: [[f64; N]; N], mut v: [f64; N]) -> Option<[f64; N]> {
    for c in 0..N {
        let p = (c..N).max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))?;
        if m[p][c].abs() < 1e-12 {
            return None;
        }
        m.swap(c, p);
        v.swap(c, p);
        let pivot = m[c];
        for r in c + 1..N {
            let f = m[r][c] / pivot[c];
            for (x, y) in m[r][c..].iter_mut().zip(&pivot[c..]) {
                *x -= f * y;
            }
            v[r] -= f * v[c];
        }
    }
    let mut x = [0.0; N];
    for c in (0..N).rev() {
        let s: f64 = (c + 1..N).map(|k| m[c][k] * x[k]).sum();
        x[c] = (v[c] - s) / m[c][c];
    }
    Some(x)
}

/// Least-squares affine map between the landmarks: where to look for each grid point.
struct Affine([[f64; 3]; 2]);

impl Affine {
    fn fit(from: &[[f64; 2]; 5], to: &[[f64; 2]; 5]) -> Option<Self> {
        let mut m = [[0.0; 3]; 3];
        let (mut vx, mut vy) = ([0.0; 3], [0.0; 3]);
        for (p, q) in from.iter().zip(to) {
            let row = [p[0], p[1], 1.0];
            for i in 0..3 {
                for j in 0..3 {
                    m[i][j] += row[i] * row[j];
                }
                vx[i] += row[i] * q[0];
                vy[i] += row[i] * q[1];
            }
        }
        Some(Self([solve(m, vx)?, solve(m, vy)?]))
    }

    fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        let [a, b] = self.0;
        [
            a[0] * p[0] + a[1] * p[1] + a[2],
            b[0] * p[0] + b[1] * p[1] + b[2],
        ]
    }
}

/// A plane-to-plane projective map, fitted by least squares on points normalised to the
/// patch's centre and scale (Hartley's conditioning).
pub(crate) struct Homography {
    h: [f64; 8],
}

const NORM_CENTRE: [f64; 2] = [48.0, 56.0];
const NORM_SCALE: f64 = 1.0 / 32.0;

fn normalised(p: [f64; 2]) -> [f64; 2] {
    [
        (p[0] - NORM_CENTRE[0]) * NORM_SCALE,
        (p[1] - NORM_CENTRE[1]) * NORM_SCALE,
    ]
}

impl Homography {
    pub(crate) fn fit(pairs: &[([f64; 2], [f64; 2])]) -> Option<Self> {
        let mut m = [[0.0; 8]; 8];
        let mut v = [0.0; 8];
        for (p, q) in pairs {
            let ([x, y], [u, w]) = (normalised(*p), normalised(*q));
            for (row, rhs) in [
                ([x, y, 1.0, 0.0, 0.0, 0.0, -x * u, -y * u], u),
                ([0.0, 0.0, 0.0, x, y, 1.0, -x * w, -y * w], w),
            ] {
                for i in 0..8 {
                    for j in 0..8 {
                        m[i][j] += row[i] * row[j];
                    }
                    v[i] += row[i] * rhs;
                }
            }
        }
        Some(Self { h: solve(m, v)? })
    }

    /// The inverse map (the adjugate of the 3×3 matrix); `None` if singular.
    fn inverse(&self) -> Option<Self> {
        let h = &self.h;
        let m = [[h[0], h[1], h[2]], [h[3], h[4], h[5]], [h[6], h[7], 1.0]];
        let c = |r: usize, k: usize| {
            let (r0, r1) = ((r + 1) % 3, (r + 2) % 3);
            let (k0, k1) = ((k + 1) % 3, (k + 2) % 3);
            m[r0][k0] * m[r1][k1] - m[r0][k1] * m[r1][k0]
        };
        // adj[i][j] = cofactor(j, i); scale so the last entry is 1.
        let last = c(2, 2);
        if last.abs() < 1e-12 {
            return None;
        }
        let a = |i: usize, j: usize| c(j, i) / last;
        Some(Self {
            h: [
                a(0, 0),
                a(0, 1),
                a(0, 2),
                a(1, 0),
                a(1, 1),
                a(1, 2),
                a(2, 0),
                a(2, 1),
            ],
        })
    }

    /// The homography carrying tracked points from where they were to where they were
    /// found.
    pub(crate) fn fit_tracks(tracks: &[Track]) -> Option<Self> {
        let pairs: Vec<([f64; 2], [f64; 2])> = tracks.iter().map(|t| (t.from, t.to)).collect();
        Self::fit(&pairs)
    }

    pub(crate) fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        let [x, y] = normalised(p);
        let h = &self.h;
        let d = h[6] * x + h[7] * y + 1.0;
        let (u, w) = (
            (h[0] * x + h[1] * y + h[2]) / d,
            (h[3] * x + h[4] * y + h[5]) / d,
        );
        [
            u / NORM_SCALE + NORM_CENTRE[0],
            w / NORM_SCALE + NORM_CENTRE[1],
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth, textured synthetic "photo" (sum of sines): locally unique enough to track.
    fn photo(x: f64, y: f64) -> f32 {
        let v = 128.0
            + 40.0 * (x * 0.31 + y * 0.07).sin()
            + 35.0 * (y * 0.23 - x * 0.11).sin()
            + 25.0 * ((x + 2.0 * y) * 0.17).cos();
        v as f32
    }

    const FRONT: [[f64; 2]; 5] = [
        [240.0, 200.0],
        [220.0, 200.0],
        [160.0, 200.0],
        [180.0, 200.0],
        [200.0, 250.0],
    ];

    /// A projective map of the image plane (a photo seen at an angle, rolled, near).
    fn tilt(p: [f64; 2]) -> [f64; 2] {
        let (x, y) = (p[0] - 200.0, p[1] - 220.0);
        let d = 1.0 + 0.0012 * x - 0.0004 * y;
        [
            200.0 + (0.9 * x + 0.15 * y) / d + 6.0,
            220.0 + (-0.1 * x + 0.95 * y) / d - 3.0,
        ]
    }

    fn inverse(f: impl Fn([f64; 2]) -> [f64; 2], q: [f64; 2]) -> [f64; 2] {
        // Newton on a smooth map with a numerical Jacobian: enough for a test.
        let mut p = q;
        for _ in 0..30 {
            let r = f(p);
            let e = [r[0] - q[0], r[1] - q[1]];
            let h = 1e-4;
            let fx = f([p[0] + h, p[1]]);
            let fy = f([p[0], p[1] + h]);
            let j = [
                [(fx[0] - r[0]) / h, (fy[0] - r[0]) / h],
                [(fx[1] - r[1]) / h, (fy[1] - r[1]) / h],
            ];
            let det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
            p[0] -= (j[1][1] * e[0] - j[0][1] * e[1]) / det;
            p[1] -= (-j[1][0] * e[0] + j[0][0] * e[1]) / det;
        }
        p
    }

    fn view(map: impl Fn([f64; 2]) -> [f64; 2] + Copy) -> FacePatch {
        let lm = FRONT.map(map);
        FacePatch::sample(&lm, |x, y| {
            let p = inverse(map, [x, y]);
            photo(p[0], p[1])
        })
        .expect("patch")
    }

    #[test]
    fn a_photo_in_any_projective_pose_leaves_no_residual() {
        let straight = view(|p| p);
        let r = residual(&tracks(&straight, &view(tilt)).expect("tracked")).expect("fits");
        assert!(r < 0.01, "residual {r}");
    }

    #[test]
    fn a_surface_with_depth_leaves_a_residual() {
        // A bump (a "nose") in front of the plane, seen after a sideways turn: points
        // move by their depth times the turn.
        let turn = |p: [f64; 2]| {
            let (x, y) = (p[0] - 200.0, p[1] - 225.0);
            let depth = 30.0 * (-(x * x + y * y) / (2.0 * 25.0f64.powi(2))).exp();
            [p[0] + 0.35 * depth, p[1]]
        };
        let r = residual(&tracks(&view(|p| p), &view(turn)).expect("tracked")).expect("fits");
        assert!(r > 0.03, "residual {r}");
    }

    #[test]
    fn a_homography_and_its_inverse_cancel() {
        let pairs: Vec<_> = grid().map(|p| (p, tilt(p))).collect();
        let h = Homography::fit(&pairs).expect("fit");
        let back = h.inverse().expect("inverse");
        for p in grid() {
            let r = back.apply(h.apply(p));
            assert!((r[0] - p[0]).hypot(r[1] - p[1]) < 1e-9, "{p:?} -> {r:?}");
        }
    }

    #[test]
    fn an_untextured_face_gives_no_measure() {
        let flat = FacePatch::sample(&FRONT, |_, _| 100.0).expect("patch");
        assert_eq!(tracks(&flat, &flat), None);
    }

    #[test]
    fn eyes_on_top_of_each_other_place_no_patch() {
        let mut lm = FRONT;
        lm[0] = lm[2];
        lm[1] = lm[3];
        assert!(FacePatch::sample(&lm, photo).is_none());
    }
}
