//! A print bent around a vertical axis, convex toward the camera like a face, then held
//! at a pose ([`PrintPose`]) in front of a pinhole camera. Unlike a flat print it is not a
//! plane: its middle (the nose) stands in front of its sides (the eyes, the cheeks), so
//! turning it moves the nose off the eye midpoint and foreshortens the far eye as a head
//! does, only less. Renders by casting each output pixel's ray onto the cylinder.

use crate::landmarks::Landmarks5;
use crate::sampling::bilinear;
use crate::warp::{PrintPose, WALL};
use image::RgbImage;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BentPrint {
    /// Radius of the bend, photo pixels (a face is about 1.3 eye distances).
    pub radius: f64,
    pub pose: PrintPose,
    /// The photo point on the optical axis' plane (stays where it is, as for the flat
    /// print), and on the bend's apex line.
    pub pivot: [f64; 2],
}

type V3 = [f64; 3];

fn mat_vec(m: &[[f64; 3]; 3], v: V3) -> V3 {
    [0, 1, 2].map(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
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

    /// Where the photo point `p` is seen.
    pub fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        let (u, v) = (p[0] - self.pivot[0], p[1] - self.pivot[1]);
        let r = self.radius;
        let a = u / r;
        // On the bent sheet: the apex line at depth 0, the sides bending away.
        let local = [r * a.sin(), v, r * (1.0 - a.cos())];
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
        // Into the sheet's frame: the transpose (inverse) of the rotation.
        let rt = [0, 1, 2].map(|i| [rot[0][i], rot[1][i], rot[2][i]]);
        let o = mat_vec(&rt, [0.0, 0.0, -f]);
        let d = mat_vec(
            &rt,
            [(q[0] - self.pivot[0]) / f, (q[1] - self.pivot[1]) / f, 1.0],
        );
        // Cylinder x² + (z − r)² = r² about the axis x = 0, z = r.
        let r = self.radius;
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
        (angle.abs() < std::f64::consts::FRAC_PI_2)
            .then(|| [self.pivot[0] + r * angle, self.pivot[1] + hit[1]])
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

    fn print(radius: f64, yaw: f64, roll: f64) -> BentPrint {
        BentPrint {
            radius,
            pose: PrintPose {
                roll_deg: roll,
                yaw_deg: yaw,
                pitch_deg: 5.0,
                distance: 700.0,
            },
            pivot: [320.0, 240.0],
        }
    }

    #[test]
    fn the_ray_cast_inverts_the_forward_map() {
        for b in [
            print(120.0, 0.0, 0.0),
            print(90.0, 35.0, 10.0),
            print(200.0, -50.0, -20.0),
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
                    "{p:?} -> {back:?}"
                );
            }
        }
    }

    #[test]
    fn a_flatter_bend_approaches_the_flat_print() {
        let flat = crate::warp::Homography::print(print(1.0, 30.0, 0.0).pose, [320.0, 240.0]);
        let bent = print(1e7, 30.0, 0.0);
        for p in [[280.0, 200.0], [365.0, 300.0]] {
            let (a, b) = (flat.apply(p), bent.apply(p));
            assert!((a[0] - b[0]).hypot(a[1] - b[1]) < 1e-3, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn turned_the_apex_moves_across_the_sides() {
        // The apex (u = 0) is in front of points at ±40 px: turning moves it toward the
        // side the print turns to, relative to their midpoint.
        let b = print(60.0, 30.0, 0.0);
        let (l, m, r) = (
            b.apply([280.0, 240.0]),
            b.apply([320.0, 240.0]),
            b.apply([360.0, 240.0]),
        );
        let off = m[0] - (l[0] + r[0]) / 2.0;
        assert!(off.abs() > 2.0, "apex offset {off}");
    }
}
