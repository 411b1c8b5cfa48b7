//! Bilinear sampling with clamped edges (pixels outside the image repeat the border, so
//! warps never show black corners that a face detector might react to).

use image::RgbImage;

/// The colour at real coordinates `(x, y)` (pixel centres at integers).
pub fn bilinear(img: &RgbImage, x: f64, y: f64) -> [u8; 3] {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return [0, 0, 0];
    }
    let max_x = f64::from(w - 1);
    let max_y = f64::from(h - 1);
    let x = if x.is_finite() {
        x.clamp(0.0, max_x)
    } else {
        0.0
    };
    let y = if y.is_finite() {
        y.clamp(0.0, max_y)
    } else {
        0.0
    };
    let x0 = x.floor();
    let y0 = y.floor();
    let fx = x - x0;
    let fy = y - y0;
    // Clamped above: the casts are in range.
    let (x0, y0) = (x0 as u32, y0 as u32);
    let x1 = (x0 + 1).min(w - 1);
    let y1 = (y0 + 1).min(h - 1);
    let p = |xx, yy| img.get_pixel(xx, yy).0;
    let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    let mut out = [0u8; 3];
    for k in 0..3 {
        let top = f64::from(a[k]) * (1.0 - fx) + f64::from(b[k]) * fx;
        let bottom = f64::from(c[k]) * (1.0 - fx) + f64::from(d[k]) * fx;
        out[k] = (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_between_pixels_and_clamps_outside() {
        let mut img = RgbImage::new(2, 1);
        img.put_pixel(0, 0, image::Rgb([0, 100, 200]));
        img.put_pixel(1, 0, image::Rgb([100, 200, 0]));
        assert_eq!(bilinear(&img, 0.5, 0.0), [50, 150, 100]);
        assert_eq!(bilinear(&img, -3.0, 7.0), [0, 100, 200]);
        assert_eq!(bilinear(&img, 9.0, 0.0), [100, 200, 0]);
        assert_eq!(bilinear(&img, f64::NAN, 0.0), [0, 100, 200]);
    }
}
