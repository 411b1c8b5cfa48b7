//! Ruled surface: does the face bend like a sheet of paper, or is it curved like a head?
//!
//! Paper bends but does not stretch. However a print is curved — around a cylinder through
//! the nose line, around a tilted or a horizontal axis, folded into a V, rolled into a cone —
//! it is a developable surface: through each of its points runs a straight line of the
//! sheet (a ruling) that stays straight in space. Along a straight line in space, the depth
//! off any plane changes linearly, and so, seen from the camera, does the motion a turn
//! gives a point beyond what a plane's homography explains (the parallax of
//! [`crate::parallax`]: depth times the turn), even under full perspective. A face is
//! curved both ways: the nose stands out from the bridge and the upper lip as well as from
//! the cheeks, the brows from the eye sockets, so along no direction is its parallax
//! linear.
//!
//! What is measured, on the grid tracked from the straight frame to each turned frame: the
//! parallax along the eye line (the direction a head turning left or right moves depth in),
//! signed so that a point in front of the plane moves positive; then, for each direction
//! of lines through the grid (every 10°), how much of that parallax a bend along the lines
//! explains beyond a straight line per line — one curvature for the whole grid, varying
//! smoothly (quadratically) across the lines, so that the nose's bump and the eye sockets'
//! dip do not cancel. The measure is that bend's size (root mean square over the points,
//! eye distances), in the direction where it is smallest, with one direction for the whole
//! login (a print's rulings are fixed in the sheet, so every turned frame is straight along
//! the same lines): the median over the turned frames in each direction, then the least
//! over the directions. About 0 for a bent print, larger for a head.
//!
//! Limits: tracking noise counts as bend, so a noisier view of a print measures higher;
//! and a sheet that changes its bend between the straight and the turned frames is not one
//! developable surface seen twice (README, Security).

use crate::parallax::{self, Homography, Track, PATCH_EYE_DISTANCE};
use std::collections::BTreeMap;

/// Line directions tried, evenly over half a turn (every 10°).
const DIRECTIONS: usize = 18;
/// A line is used with at least this many tracked points...
const MIN_LINE_POINTS: usize = 5;
/// ...spanning at least this much along it (eye distances).
const MIN_LINE_SPAN: f64 = 0.5;
/// Fewer points on usable lines: no measure in that direction for that frame.
const MIN_POINTS: usize = 40;
/// A direction is measured when this many turned frames measure it.
const MIN_FRAMES: usize = 2;

/// One tracked point: where it is in the straight frame (eye distances from the middle of
/// the grid, x along the eye line, y down) and its parallax along the eye line (eye
/// distances, positive in front of the plane).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parallax {
    pub at: [f64; 2],
    pub along_eyes: f64,
}

/// The parallax along the eye line of a grid tracked from the straight frame to a turned
/// one ([`parallax::tracks`]); `toward` is the sign of the turn (the yaw measure's: +1
/// when the nose moved toward the image's right). `None` if no homography fits.
pub fn parallax_of(tracks: &[Track], toward: f64) -> Option<Vec<Parallax>> {
    let h = Homography::fit_tracks(tracks)?;
    let mid = parallax::GRID_MIDDLE;
    let unit = |p: [f64; 2]| {
        [
            (p[0] - mid[0]) / PATCH_EYE_DISTANCE,
            (p[1] - mid[1]) / PATCH_EYE_DISTANCE,
        ]
    };
    // A tracked point starts within a pixel of its grid point: move its match by the
    // homography's local derivative to where the grid point itself went, so that the
    // points of a line of the grid are on a line.
    let points: Vec<([f64; 2], [f64; 2])> = tracks
        .iter()
        .map(|t| {
            let g = parallax::cell_point(t.cell);
            let (dx, dy) = (g[0] - t.from[0], g[1] - t.from[1]);
            let e = 1e-3;
            let m = h.apply(t.from);
            let mx = h.apply([t.from[0] + e, t.from[1]]);
            let my = h.apply([t.from[0], t.from[1] + e]);
            let to = [
                t.to[0] + ((mx[0] - m[0]) * dx + (my[0] - m[0]) * dy) / e,
                t.to[1] + ((mx[1] - m[1]) * dx + (my[1] - m[1]) * dy) / e,
            ];
            (unit(g), unit(to))
        })
        .collect();
    // The plane's homography, from the motion across the eye line (which a turn to the
    // side does not give depth): w = (h3·x + h4·y + h5) / (h6·x + h7·y + 1).
    let mut m = [[0.0; 5]; 5];
    let mut v = [0.0; 5];
    for ([x, y], [_, w]) in &points {
        let row = [*x, *y, 1.0, -x * w, -y * w];
        accumulate(&mut m, &mut v, &row, *w);
    }
    let [_, _, _, h6, h7] = parallax::solve(m, v)?;
    // Its motion along the eye line, u = (h0·x + h1·y + h2) / (h6·x + h7·y + 1): the rest
    // is parallax.
    let mut m = [[0.0; 3]; 3];
    let mut v = [0.0; 3];
    for ([x, y], [u, _]) in &points {
        let d = h6 * x + h7 * y + 1.0;
        accumulate(&mut m, &mut v, &[x / d, y / d, 1.0 / d], *u);
    }
    let [h0, h1, h2] = parallax::solve(m, v)?;
    let sign = if toward < 0.0 { -1.0 } else { 1.0 };
    Some(
        points
            .iter()
            .map(|([x, y], [u, _])| {
                let d = h6 * x + h7 * y + 1.0;
                Parallax {
                    at: [*x, *y],
                    along_eyes: sign * (u - (h0 * x + h1 * y + h2) / d),
                }
            })
            .collect(),
    )
}

/// Adds `row` (with right-hand side `rhs`) to least-squares normal equations.
fn accumulate<const N: usize>(m: &mut [[f64; N]; N], v: &mut [f64; N], row: &[f64; N], rhs: f64) {
    for i in 0..N {
        for j in 0..N {
            m[i][j] += row[i] * row[j];
        }
        v[i] += row[i] * rhs;
    }
}

/// How much the parallax bends along the lines at `theta` (radians from vertical) beyond
/// a straight line per line: root mean square over the points of the fitted bend, eye
/// distances. `None` if too few points lie on usable lines.
fn bend_along(points: &[Parallax], theta: f64) -> Option<f64> {
    let (sin, cos) = theta.sin_cos();
    // `s` across the lines, `t` along them.
    let across = |p: [f64; 2]| p[0] * cos + p[1] * sin;
    let along = |p: [f64; 2]| -p[0] * sin + p[1] * cos;
    // Lines spaced so that each grid row or column (or diagonal) is one line.
    let pitch = parallax::GRID_PITCH * cos.abs().max(sin.abs());
    let mut lines: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (i, p) in points.iter().enumerate() {
        lines
            .entry((across(p.at) / pitch).round() as i64)
            .or_default()
            .push(i);
    }
    // Per line, a straight line in `t` (and the small spread across it) is allowed; the
    // bend is one curvature in `t`, varying quadratically across the lines:
    // t²·(k0 + k1·s + k2·s²). What the bend explains beyond the straight lines is found
    // by removing each line's straight part from the parallax and from the bend's terms
    // (Frisch–Waugh), then fitting the three terms.
    let mut normal = [[0.0; 3]; 3];
    let mut rhs = [0.0; 3];
    let mut used = 0;
    for (id, idx) in &lines {
        if idx.len() < MIN_LINE_POINTS {
            continue;
        }
        let ts: Vec<f64> = idx.iter().map(|&i| along(points[i].at)).collect();
        let (lo, hi) = ts
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), t| (l.min(*t), h.max(*t)));
        if hi - lo < MIN_LINE_SPAN {
            continue;
        }
        let ss: Vec<f64> = idx.iter().map(|&i| across(points[i].at)).collect();
        let offset: Vec<f64> = ss.iter().map(|s| s - *id as f64 * pitch).collect();
        let basis = orthonormal(&[vec![1.0; idx.len()], ts.clone(), offset]);
        let remove = |v: Vec<f64>| -> Vec<f64> {
            let mut v = v;
            for b in &basis {
                let c: f64 = b.iter().zip(&v).map(|(x, y)| x * y).sum();
                for (x, y) in v.iter_mut().zip(b) {
                    *x -= c * y;
                }
            }
            v
        };
        let d = remove(idx.iter().map(|&i| points[i].along_eyes).collect());
        let terms: Vec<Vec<f64>> = (0..3)
            .map(|j| remove(ts.iter().zip(&ss).map(|(t, s)| t * t * s.powi(j)).collect()))
            .collect();
        for a in 0..3 {
            for b in 0..3 {
                normal[a][b] += dot(&terms[a], &terms[b]);
            }
            rhs[a] += dot(&terms[a], &d);
        }
        used += idx.len();
    }
    if used < MIN_POINTS {
        return None;
    }
    let k = parallax::solve(normal, rhs)?;
    let explained: f64 = k.iter().zip(&rhs).map(|(k, r)| k * r).sum();
    Some((explained.max(0.0) / used as f64).sqrt())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// An orthonormal basis of the span of `columns` (Gram–Schmidt; a column already in the
/// span of the earlier ones, e.g. a constant offset, is dropped).
fn orthonormal(columns: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut basis: Vec<Vec<f64>> = vec![];
    for c in columns {
        let scale = dot(c, c).sqrt();
        let mut v = c.clone();
        for b in &basis {
            let k = dot(b, &v);
            for (x, y) in v.iter_mut().zip(b) {
                *x -= k * y;
            }
        }
        let n = dot(&v, &v).sqrt();
        if n > 1e-9 * scale.max(1e-12) && n > 1e-12 {
            basis.push(v.into_iter().map(|x| x / n).collect());
        }
    }
    basis
}

/// The bend left along the straightest direction of the face, over a login's turned
/// frames (each frame's [`Parallax`] points): in each direction of lines the median over
/// the frames that measure it, then the least over the directions (eye distances). About
/// 0 for a sheet bent in any way without stretching; `None` if no direction could be
/// measured on at least two frames.
pub fn bend(frames: &[Vec<Parallax>]) -> Option<f64> {
    (0..DIRECTIONS)
        .filter_map(|k| {
            let theta = std::f64::consts::PI * k as f64 / DIRECTIONS as f64;
            let mut values: Vec<f64> = frames.iter().filter_map(|f| bend_along(f, theta)).collect();
            if values.len() < MIN_FRAMES {
                return None;
            }
            values.sort_by(f64::total_cmp);
            let n = values.len();
            Some((values[(n - 1) / 2] + values[n / 2]) / 2.0)
        })
        .min_by(f64::total_cmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grid's points (eye distances from its middle), as the tracker lays them out.
    fn grid() -> Vec<[f64; 2]> {
        (0..13)
            .flat_map(|r| {
                (0..13).map(move |c| {
                    let p = parallax::cell_point((r, c));
                    let m = parallax::GRID_MIDDLE;
                    [
                        (p[0] - m[0]) / PATCH_EYE_DISTANCE,
                        (p[1] - m[1]) / PATCH_EYE_DISTANCE,
                    ]
                })
            })
            .collect()
    }

    /// A small deterministic jitter (tracking noise), in eye distances.
    fn noise(i: usize, amplitude: f64) -> f64 {
        let x = ((i as f64 + 1.0) * 12.9898).sin() * 43758.5453;
        amplitude * 2.0 * (x - x.floor() - 0.5)
    }

    /// Tracks of a surface with depth `z(x, y)` (eye distances, toward the camera) turned by
    /// `yaw` degrees about a vertical axis, seen in perspective from `distance` eye
    /// distances: each grid point of the straight view is followed to the turned view.
    fn turned(z: impl Fn(f64, f64) -> f64, yaw: f64, distance: f64, jitter: f64) -> Vec<Track> {
        let (sin, cos) = yaw.to_radians().sin_cos();
        let mid = parallax::GRID_MIDDLE;
        // The straight view is the surface seen head-on; find the surface point seen at
        // each grid point (fixed point: x = X·f / (f − z)).
        let project = |x: f64, y: f64, z: f64| {
            // Turn, then perspective from `distance` in front of the surface's plane.
            let (xt, zt) = (x * cos + z * sin, -x * sin + z * cos);
            let f = distance / (distance - zt);
            [xt * f, y * f]
        };
        grid()
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let (mut x, mut y) = (g[0], g[1]);
                for _ in 0..50 {
                    let f = (distance - z(x, y)) / distance;
                    x = g[0] * f;
                    y = g[1] * f;
                }
                let q = project(x, y, z(x, y));
                let cell = (i / 13, i % 13);
                let from = parallax::cell_point(cell);
                Track {
                    cell,
                    from,
                    to: [
                        mid[0] + (q[0] + noise(2 * i, jitter)) * PATCH_EYE_DISTANCE,
                        mid[1] + (q[1] + noise(2 * i + 1, jitter)) * PATCH_EYE_DISTANCE,
                    ],
                }
            })
            .collect()
    }

    fn login(z: impl Fn(f64, f64) -> f64 + Copy, distance: f64, jitter: f64) -> Option<f64> {
        let frames: Vec<Vec<Parallax>> = [25.0, -25.0, 35.0, -35.0]
            .iter()
            .map(|&yaw: &f64| {
                parallax_of(&turned(z, yaw, distance, jitter), yaw.signum()).expect("fits")
            })
            .collect();
        bend(&frames)
    }

    /// A print bent around a cylinder of radius `r` whose axis lies at `axis` degrees from
    /// vertical through `(0, y0)`: depth off the apex line, by the distance across it.
    fn cylinder(r: f64, axis: f64, y0: f64) -> impl Fn(f64, f64) -> f64 + Copy {
        let (s, c) = axis.to_radians().sin_cos();
        move |x, y| {
            let across = (x * c + (y - y0) * s).clamp(-0.99 * r, 0.99 * r);
            -(r - (r * r - across * across).sqrt())
        }
    }

    /// A head-like surface: an ellipsoid, a nose standing out of it, eye sockets in it.
    fn face(x: f64, y: f64) -> f64 {
        let ellipsoid = -x * x / 2.5 - (y - 0.1).powi(2) / 5.0;
        let bump = |cx: f64, cy: f64, sx: f64, sy: f64| {
            (-0.5 * (((x - cx) / sx).powi(2) + ((y - cy) / sy).powi(2))).exp()
        };
        ellipsoid + 0.3 * bump(0.0, 0.15, 0.15, 0.3)
            - 0.08 * bump(-0.5, -0.45, 0.18, 0.12)
            - 0.08 * bump(0.5, -0.45, 0.18, 0.12)
    }

    #[test]
    fn a_flat_print_has_no_bend() {
        let b = login(|_, _| 0.0, 6.0, 0.0).expect("measured");
        assert!(b < 1e-4, "{b}");
    }

    #[test]
    fn bent_prints_are_ruled_whatever_their_axis() {
        // Around the nose line, tilted 25°, horizontal; near (6 eye distances: a webcam at
        // arm's length with a wide lens) and far.
        for (z, name) in [
            (cylinder(0.8, 0.0, 0.0), "vertical"),
            (cylinder(0.8, 25.0, 0.1), "tilted"),
            (cylinder(1.0, 90.0, 0.15), "horizontal"),
        ] {
            for distance in [6.0, 40.0] {
                let b = login(z, distance, 0.0).expect("measured");
                assert!(b < 0.0015, "{name} at {distance}: {b}");
            }
        }
        // Folded into a V along the nose line.
        let fold = |x: f64, _: f64| -0.5 * x.abs();
        let b = login(fold, 6.0, 0.0).expect("measured");
        assert!(b < 0.0015, "fold: {b}");
    }

    #[test]
    fn a_face_is_curved_along_every_direction() {
        for distance in [6.0, 40.0] {
            let b = login(face, distance, 0.0).expect("measured");
            assert!(b > 0.006, "at {distance}: {b}");
            // Tracking noise of 0.01 eye distances does not hide it.
            let noisy = login(face, distance, 0.01).expect("measured");
            assert!(noisy > 0.006, "noisy at {distance}: {noisy}");
        }
    }

    #[test]
    fn too_few_tracked_points_give_no_measure() {
        let few: Vec<Track> = turned(face, 25.0, 6.0, 0.0).into_iter().take(30).collect();
        assert_eq!(parallax_of(&few[..3], 1.0), None);
        let frames = vec![parallax_of(&few, 1.0).expect("fits"); 3];
        assert_eq!(bend(&frames), None);
        let one = vec![parallax_of(&turned(face, 25.0, 6.0, 0.0), 1.0).expect("fits")];
        assert_eq!(bend(&one), None, "one frame is not enough");
    }
}
