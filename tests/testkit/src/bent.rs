//! A print bent without stretching — the only way paper bends (a developable surface) —
//! convex toward the camera like a face, then held at a pose ([`PrintPose`]) in front of a
//! pinhole camera. Unlike a flat print it is not a plane: its middle (the nose) stands in
//! front of its sides (the eyes, the cheeks), so turning it moves the nose off the eye
//! midpoint and foreshortens the far eye as a head does, only less. Two bends ([`Bend`]):
//! around a cylinder, or folded along a line into a V; either axis runs through the pivot,
//! vertical in the photo or tilted. Renders by casting each output pixel's ray onto the
//! bent sheet.

use crate::landmarks::Landmarks5;
use crate::sampling::bilinear;
use crate::warp::{PrintPose, WALL};
use image::RgbImage;

/// How the sheet is bent around its axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bend {
    /// Around a cylinder of this radius (photo pixels; a face is about 1.3 eye distances).
    Cylinder { radius: f64 },
    /// Folded along the axis, each half turned back by this angle (degrees): a V, ridge
    /// toward the camera.
    Fold { angle_deg: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BentPrint {
    pub bend: Bend,
    /// The bend's axis in the photo, degrees from vertical (positive: its lower end toward
    /// the image's left).
    pub axis_deg: f64,
    pub pose: PrintPose,
    /// The photo point on the optical axis' plane (stays where it is, as for the flat
    /// print), and on the bend's axis (the ridge).
    pub pivot: [f64; 2],
}

type V3 = [f64; 3];

fn mat_vec(m: &[[f64; 3]; 3], v: V3) -> V3 {
    [0, 1, 2].map(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
}

fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

impl BentPrint {
    /// The print's rotation: roll (about the view axis), then yaw (about y), then pitch.
    fn rotation(&self) -> [[f64; 3]; 3] {
        let (sr, cr) = self.pose.roll_deg.to_radians().sin_cos();
        let (sy, cy) = self.pose.yaw_deg.to_radians().sin_cos();
        let (sp, cp) = self.pose.pitch_deg.to_radians().sin_cos();
        let roll = [[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]];
        let yaw = [[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]];
        let pitch = [[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]];
        let mul = |a: [[f64; 3]; 3], b: [[f64; 3]; 3]| {
            let mut out = [[0.0; 3]; 3];
            for (i, row) in out.iter_mut().enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
                }
            }
            out
        };
        mul(pitch, mul(yaw, roll))
    }

    fn focal(&self) -> f64 {
        self.pose.distance.max(1.0)
    }

    /// The axis' direction `a` and its normal `n` in the photo (`n` is `a` turned a
    /// quarter: `(n, a)` is a rotation of `(x, y)`).
    fn axes(&self) -> ([f64; 2], [f64; 2]) {
        let (s, c) = self.axis_deg.to_radians().sin_cos();
        ([-s, c], [c, s])
    }

    /// A photo point (relative to the pivot) on the bent sheet, in the sheet's frame
    /// (before the pose): the ridge at depth 0, the sides bending away (+z).
    fn bent(&self, u: f64, v: f64) -> V3 {
        let (a, n) = self.axes();
        // Across the axis and along it.
        let (across, along) = (u * n[0] + v * n[1], u * a[0] + v * a[1]);
        let (x, z) = match self.bend {
            Bend::Cylinder { radius: r } => {
                let t = across / r;
                (r * t.sin(), r * (1.0 - t.cos()))
            }
            Bend::Fold { angle_deg } => {
                let (sb, cb) = angle_deg.to_radians().sin_cos();
                (across * cb, across.abs() * sb)
            }
        };
        [x * n[0] + along * a[0], x * n[1] + along * a[1], z]
    }

    /// Where the photo point `p` is seen.
    pub fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        let local = self.bent(p[0] - self.pivot[0], p[1] - self.pivot[1]);
        let w = mat_vec(&self.rotation(), local);
        let f = self.focal();
        let z = w[2] + f;
        [self.pivot[0] + f * w[0] / z, self.pivot[1] + f * w[1] / z]
    }

    /// The photo point seen at output pixel `q`: the ray's first hit on the front of the
    /// bent sheet, or `None`.
    fn source_of(&self, q: [f64; 2]) -> Option<[f64; 2]> {
        let f = self.focal();
        let rot = self.rotation();
        // Into the sheet's frame (the transpose, inverse, of the rotation), then into the
        // axis' frame: x across the axis, y along it.
        let rt = [0, 1, 2].map(|i| [rot[0][i], rot[1][i], rot[2][i]]);
        let (a, n) = self.axes();
        let to_axis = |v: V3| [v[0] * n[0] + v[1] * n[1], v[0] * a[0] + v[1] * a[1], v[2]];
        let o = to_axis(mat_vec(&rt, [0.0, 0.0, -f]));
        let d = to_axis(mat_vec(
            &rt,
            [(q[0] - self.pivot[0]) / f, (q[1] - self.pivot[1]) / f, 1.0],
        ));
        let (across, along) = match self.bend {
            Bend::Cylinder { radius: r } => {
                // Cylinder x² + (z − r)² = r² about the line x = 0, z = r.
                let (oz, dz) = (o[2] - r, d[2]);
                let qa = d[0] * d[0] + dz * dz;
                let qb = 2.0 * (o[0] * d[0] + oz * dz);
                let qc = o[0] * o[0] + oz * oz - r * r;
                let disc = qb * qb - 4.0 * qa * qc;
                if qa < 1e-12 || disc < 0.0 {
                    return None;
                }
                let t = (-qb - disc.sqrt()) / (2.0 * qa);
                if t <= 0.0 {
                    return None;
                }
                let hit = [o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2]];
                let angle = hit[0].atan2(r - hit[2]);
                // The front half only: a sheet bent further would be seen from behind.
                if angle.abs() >= std::f64::consts::FRAC_PI_2 {
                    return None;
                }
                (r * angle, hit[1])
            }
            Bend::Fold { angle_deg } => {
                let (sb, cb) = angle_deg.to_radians().sin_cos();
                // Half s (+1: x > 0) lies in the plane s·x·sin β − z·cos β = 0; its normal
                // (s·sin β, 0, −cos β) faces the camera. The nearest half hit from the front.
                [1.0, -1.0]
                    .into_iter()
                    .filter_map(|s: f64| {
                        let normal = [s * sb, 0.0, -cb];
                        let (num, den) = (-dot(normal, o), dot(normal, d));
                        if den >= -1e-12 {
                            return None;
                        }
                        let t = num / den;
                        let hit = [o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2]];
                        (t > 0.0 && s * hit[0] >= 0.0).then_some((t, hit[0] / cb, hit[1]))
                    })
                    .min_by(|x, y| x.0.total_cmp(&y.0))
                    .map(|(_, across, along)| (across, along))?
            }
        };
        Some([
            self.pivot[0] + across * n[0] + along * a[0],
            self.pivot[1] + across * n[1] + along * a[1],
        ])
    }

    pub fn project_landmarks(&self, l: &Landmarks5) -> Landmarks5 {
        l.map(|p| self.apply(p))
    }

    /// The bent print seen by the camera, a wall around it.
    pub fn render(&self, photo: &RgbImage) -> RgbImage {
        let (w, h) = photo.dimensions();
        let inside = |p: [f64; 2]| {
            p[0] >= -0.5 && p[1] >= -0.5 && p[0] <= f64::from(w) - 0.5 && p[1] <= f64::from(h) - 0.5
        };
        RgbImage::from_fn(w, h, |x, y| {
            match self.source_of([f64::from(x), f64::from(y)]) {
                Some(p) if inside(p) => image::Rgb(bilinear(photo, p[0], p[1])),
                _ => image::Rgb(WALL),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(bend: Bend, axis_deg: f64, yaw: f64, roll: f64) -> BentPrint {
        BentPrint {
            bend,
            axis_deg,
            pose: PrintPose {
                roll_deg: roll,
                yaw_deg: yaw,
                pitch_deg: 5.0,
                distance: 700.0,
            },
            pivot: [320.0, 240.0],
        }
    }

    fn print(radius: f64, yaw: f64, roll: f64) -> BentPrint {
        held(Bend::Cylinder { radius }, 0.0, yaw, roll)
    }

    #[test]
    fn the_ray_cast_inverts_the_forward_map() {
        for b in [
            print(120.0, 0.0, 0.0),
            print(90.0, 35.0, 10.0),
            print(200.0, -50.0, -20.0),
            held(Bend::Cylinder { radius: 90.0 }, 30.0, 35.0, 0.0),
            held(Bend::Cylinder { radius: 90.0 }, -90.0, -30.0, 5.0),
            held(Bend::Fold { angle_deg: 25.0 }, 0.0, 35.0, 0.0),
            held(Bend::Fold { angle_deg: 40.0 }, 20.0, -30.0, 10.0),
        ] {
            for p in [
                [320.0, 240.0],
                [280.0, 200.0],
                [365.0, 300.0],
                [300.0, 260.0],
            ] {
                let q = b.apply(p);
                let back = b.source_of(q).expect("seen");
                assert!(
                    (back[0] - p[0]).hypot(back[1] - p[1]) < 1e-6,
                    "{b:?}: {p:?} -> {back:?}"
                );
            }
        }
    }

    #[test]
    fn a_flatter_bend_approaches_the_flat_print() {
        let flat = crate::warp::Homography::print(print(1.0, 30.0, 0.0).pose, [320.0, 240.0]);
        for bent in [
            print(1e7, 30.0, 0.0),
            held(Bend::Cylinder { radius: 1e7 }, 40.0, 30.0, 0.0),
            held(Bend::Fold { angle_deg: 0.0 }, 25.0, 30.0, 0.0),
        ] {
            for p in [[280.0, 200.0], [365.0, 300.0]] {
                let (a, b) = (flat.apply(p), bent.apply(p));
                assert!((a[0] - b[0]).hypot(a[1] - b[1]) < 1e-3, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn turned_the_apex_moves_across_the_sides() {
        // The apex (u = 0) is in front of points at ±40 px: turning moves it toward the
        // side the print turns to, relative to their midpoint. So does a fold's ridge.
        for b in [
            print(60.0, 30.0, 0.0),
            held(Bend::Fold { angle_deg: 30.0 }, 0.0, 30.0, 0.0),
            held(Bend::Cylinder { radius: 60.0 }, 25.0, 30.0, 0.0),
        ] {
            let (l, m, r) = (
                b.apply([280.0, 240.0]),
                b.apply([320.0, 240.0]),
                b.apply([360.0, 240.0]),
            );
            let off = m[0] - (l[0] + r[0]) / 2.0;
            assert!(off.abs() > 2.0, "{b:?}: apex offset {off}");
        }
    }

    #[test]
    fn points_along_the_axis_stay_on_a_line_in_any_pose() {
        // A ruling of the bent sheet is a straight line in space: seen in any pose, under
        // perspective, it is a straight line in the image.
        for b in [
            held(Bend::Cylinder { radius: 80.0 }, 20.0, 40.0, 0.0),
            held(Bend::Fold { angle_deg: 35.0 }, -30.0, -45.0, 5.0),
        ] {
            let (a, n) = b.axes();
            let at = |along: f64| {
                b.apply([
                    b.pivot[0] + 30.0 * n[0] + along * a[0],
                    b.pivot[1] + 30.0 * n[1] + along * a[1],
                ])
            };
            let (p, q, r) = (at(-60.0), at(10.0), at(70.0));
            let cross = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]);
            let off = cross / (r[0] - p[0]).hypot(r[1] - p[1]);
            assert!(off.abs() < 1e-6, "{b:?}: {off}");
        }
    }
}
