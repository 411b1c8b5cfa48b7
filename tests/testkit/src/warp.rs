//! Flat and 2-D attacks on the turn check, beyond [`crate::SheetWarp`]'s straight turn:
//! a printed photo held at any pose in front of a pinhole camera (a homography: rolled in
//! its plane, turned, tilted, near or far), affine/shear warps of one photo, and a
//! landmark-driven thin-plate-spline animation (how 2-D "talking photo" tools move a face).
//! Each renders by inverse mapping, like the head model.

use crate::landmarks::Landmarks5;
use crate::sampling::bilinear;
use image::RgbImage;

/// The colour around a warped photo: a plain wall.
pub(crate) const WALL: [u8; 3] = [118, 122, 120];

/// A plane-to-image map `p ↦ (H·[p, 1])` in pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography(pub [[f64; 3]; 3]);

/// How a print is held: rolled in its own plane, then turned about the vertical axis and
/// tilted about the horizontal one, at `distance` (pixels of focal length; the camera's
/// focal length is set equal, so the pivot keeps its scale).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrintPose {
    pub roll_deg: f64,
    pub yaw_deg: f64,
    pub pitch_deg: f64,
    pub distance: f64,
}

impl Homography {
    pub const IDENTITY: Self = Self([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);

    /// `[x', y'] = [[a, b], [c, d]]·([x, y] − pivot) + pivot + shift`.
    pub fn affine(m: [[f64; 2]; 2], pivot: [f64; 2], shift: [f64; 2]) -> Self {
        let t = |row: [f64; 2], p: f64, s: f64| p + s - row[0] * pivot[0] - row[1] * pivot[1];
        Self([
            [m[0][0], m[0][1], t(m[0], pivot[0], shift[0])],
            [m[1][0], m[1][1], t(m[1], pivot[1], shift[1])],
            [0.0, 0.0, 1.0],
        ])
    }

    /// A flat print of the photo, held at `pose` with its point `pivot` on the optical
    /// axis' plane (the pivot stays where it is).
    pub fn print(pose: PrintPose, pivot: [f64; 2]) -> Self {
        let (sr, cr) = pose.roll_deg.to_radians().sin_cos();
        let (sy, cy) = pose.yaw_deg.to_radians().sin_cos();
        let (sp, cp) = pose.pitch_deg.to_radians().sin_cos();
        // Rotation of the print's plane: roll (in plane), then yaw (about y), then pitch (about x).
        let roll = [[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]];
        let yaw = [[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]];
        let pitch = [[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]];
        let r = mul(pitch, mul(yaw, roll));
        let f = pose.distance.max(1.0);
        // A plane point q (relative to the pivot) is at R·[q, 0] + [0, 0, f]; the camera
        // images it at pivot + f·(x, y)/z. Columns 1–2 of R, translation f on z.
        let centred = [
            [f * r[0][0], f * r[0][1], 0.0],
            [f * r[1][0], f * r[1][1], 0.0],
            [r[2][0], r[2][1], f],
        ];
        let to_pivot = [
            [1.0, 0.0, -pivot[0]],
            [0.0, 1.0, -pivot[1]],
            [0.0, 0.0, 1.0],
        ];
        let from_pivot = [[1.0, 0.0, pivot[0]], [0.0, 1.0, pivot[1]], [0.0, 0.0, 1.0]];
        Self(mul(from_pivot, mul(centred, to_pivot)))
    }

    pub fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        let h = &self.0;
        let w = h[2][0] * p[0] + h[2][1] * p[1] + h[2][2];
        [
            (h[0][0] * p[0] + h[0][1] * p[1] + h[0][2]) / w,
            (h[1][0] * p[0] + h[1][1] * p[1] + h[1][2]) / w,
        ]
    }

    /// The inverse map (adjugate; `None` if degenerate).
    pub fn inverse(&self) -> Option<Self> {
        let m = &self.0;
        let cof = |r0: usize, r1: usize, c0: usize, c1: usize| {
            m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]
        };
        let adj = [
            [cof(1, 2, 1, 2), -cof(0, 2, 1, 2), cof(0, 1, 1, 2)],
            [-cof(1, 2, 0, 2), cof(0, 2, 0, 2), -cof(0, 1, 0, 2)],
            [cof(1, 2, 0, 1), -cof(0, 2, 0, 1), cof(0, 1, 0, 1)],
        ];
        let det = m[0][0] * adj[0][0] + m[0][1] * adj[1][0] + m[0][2] * adj[2][0];
        (det.abs() > 1e-12).then_some(Self(adj))
    }

    pub fn then(&self, next: &Self) -> Self {
        Self(mul(next.0, self.0))
    }

    pub fn project_landmarks(&self, l: &Landmarks5) -> Landmarks5 {
        l.map(|p| self.apply(p))
    }

    /// The photo seen through the map, a wall around it.
    pub fn render(&self, photo: &RgbImage) -> RgbImage {
        let (w, h) = photo.dimensions();
        let Some(inv) = self.inverse() else {
            return RgbImage::from_pixel(w, h, image::Rgb(WALL));
        };
        let inside = |p: [f64; 2]| {
            p[0] >= -0.5 && p[1] >= -0.5 && p[0] <= f64::from(w) - 0.5 && p[1] <= f64::from(h) - 0.5
        };
        RgbImage::from_fn(w, h, |x, y| {
            let q = [f64::from(x), f64::from(y)];
            // Points behind the camera (w ≤ 0) are not seen.
            let m = &inv.0;
            let behind = m[2][0] * q[0] + m[2][1] * q[1] + m[2][2] <= 0.0;
            let p = inv.apply(q);
            if !behind && inside(p) {
                image::Rgb(bilinear(photo, p[0], p[1]))
            } else {
                image::Rgb(WALL)
            }
        })
    }
}

fn mul(a: [[f64; 3]; 3], b: [[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

/// A thin-plate-spline warp that moves the 5 landmarks to target positions and leaves a
/// ring of anchors around the face in place: the image-space "puppet" animation of one
/// photo (no 3-D model), a second way to animate a profile picture.
#[derive(Debug, Clone)]
pub struct ThinPlate {
    /// Control points in the *output* image and their displacement back to the photo
    /// (the spline is fitted for inverse mapping).
    centres: Vec<[f64; 2]>,
    weights: Vec<[f64; 2]>,
    affine: [[f64; 3]; 2],
}

impl ThinPlate {
    /// Moves `from` (the photo's landmarks) to `to`; 12 anchors on an ellipse of
    /// `anchor_radius` eye distances around the face stay fixed.
    pub fn new(from: &Landmarks5, to: &Landmarks5, anchor_radius: f64) -> Option<Self> {
        let mid = from.eye_mid();
        let r = anchor_radius * from.eye_distance();
        let mut src: Vec<[f64; 2]> = from.0.to_vec();
        let mut dst: Vec<[f64; 2]> = to.0.to_vec();
        for k in 0..12 {
            let a = f64::from(k) * std::f64::consts::TAU / 12.0;
            let p = [mid[0] + r * a.cos(), mid[1] + 0.4 * r + 1.3 * r * a.sin()];
            src.push(p);
            dst.push(p);
        }
        // Fit output → photo: centres at the destinations, values the sources.
        let n = dst.len();
        let size = n + 3;
        let mut a = vec![vec![0.0; size]; size];
        let mut bx = vec![0.0; size];
        let mut by = vec![0.0; size];
        for i in 0..n {
            for j in 0..n {
                a[i][j] = kernel(dst[i], dst[j]);
            }
            let row = [1.0, dst[i][0], dst[i][1]];
            for (k, v) in row.iter().enumerate() {
                a[i][n + k] = *v;
                a[n + k][i] = *v;
            }
            bx[i] = src[i][0];
            by[i] = src[i][1];
        }
        let sx = solve(a.clone(), bx)?;
        let sy = solve(a, by)?;
        Some(Self {
            centres: dst,
            weights: (0..n).map(|i| [sx[i], sy[i]]).collect(),
            affine: [[sx[n], sx[n + 1], sx[n + 2]], [sy[n], sy[n + 1], sy[n + 2]]],
        })
    }

    /// The photo point shown at output point `q`.
    pub fn source_of(&self, q: [f64; 2]) -> [f64; 2] {
        let mut out = [0.0; 2];
        for (k, o) in out.iter_mut().enumerate() {
            let a = self.affine[k];
            *o = a[0] + a[1] * q[0] + a[2] * q[1];
        }
        for (c, w) in self.centres.iter().zip(&self.weights) {
            let u = kernel(q, *c);
            out[0] += w[0] * u;
            out[1] += w[1] * u;
        }
        out
    }

    pub fn render(&self, photo: &RgbImage) -> RgbImage {
        let (w, h) = photo.dimensions();
        RgbImage::from_fn(w, h, |x, y| {
            let p = self.source_of([f64::from(x), f64::from(y)]);
            image::Rgb(bilinear(photo, p[0], p[1]))
        })
    }
}

fn kernel(a: [f64; 2], b: [f64; 2]) -> f64 {
    let r2 = (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2);
    if r2 < 1e-12 {
        0.0
    } else {
        r2 * r2.ln() / 2.0
    }
}

/// Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (done, rest) = a.split_at_mut(col + 1);
        let top = &done[col];
        for (i, r) in rest.iter_mut().enumerate() {
            let f = r[col] / top[col];
            if f != 0.0 {
                for (v, t) in r[col..].iter_mut().zip(&top[col..]) {
                    *v -= f * t;
                }
                b[col + 1 + i] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> Landmarks5 {
        Landmarks5([
            [380.0, 200.0],
            [350.0, 200.0],
            [260.0, 200.0],
            [290.0, 200.0],
            [320.0, 250.0],
        ])
    }

    #[test]
    fn a_print_held_square_on_is_the_identity_and_inverts() {
        let pose = PrintPose {
            roll_deg: 0.0,
            yaw_deg: 0.0,
            pitch_deg: 0.0,
            distance: 640.0,
        };
        let h = Homography::print(pose, [320.0, 240.0]);
        let p = h.apply([100.0, 50.0]);
        assert!((p[0] - 100.0).abs() < 1e-9 && (p[1] - 50.0).abs() < 1e-9);
        let turned = Homography::print(
            PrintPose {
                roll_deg: 30.0,
                yaw_deg: 50.0,
                pitch_deg: 10.0,
                ..pose
            },
            [320.0, 240.0],
        );
        let back = turned.inverse().unwrap().apply(turned.apply([100.0, 50.0]));
        assert!((back[0] - 100.0).abs() < 1e-6 && (back[1] - 50.0).abs() < 1e-6);
    }

    #[test]
    fn a_rolled_print_turned_fakes_a_head_turn_a_straight_one_does_not() {
        let l = face();
        let pivot = l.eye_mid();
        let yaw = |roll| {
            let pose = PrintPose {
                roll_deg: roll,
                yaw_deg: 50.0,
                pitch_deg: 0.0,
                distance: 4000.0,
            };
            Homography::print(pose, pivot)
                .project_landmarks(&l)
                .yaw_ratio()
        };
        assert!(yaw(0.0).abs() < 0.01, "{}", yaw(0.0));
        assert!(yaw(30.0).abs() > 0.15, "{}", yaw(30.0));
    }

    #[test]
    fn the_spline_moves_the_landmarks_to_their_targets() {
        let from = face();
        let to = from.map(|p| [p[0] + 12.0, p[1]]);
        let tps = ThinPlate::new(&from, &to, 2.5).unwrap();
        for (a, b) in from.0.iter().zip(&to.0) {
            let s = tps.source_of(*b);
            assert!((s[0] - a[0]).abs() < 1e-6 && (s[1] - a[1]).abs() < 1e-6);
        }
    }
}
