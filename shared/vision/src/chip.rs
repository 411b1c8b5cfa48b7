//! dlib's aligned face chip: `get_face_chip_details(shape, 150, 0.25)` and
//! `extract_image_chip(s)` (`dlib/image_transforms/interpolation.h`), bit-exact.
//!
//! For a face much larger than the chip, dlib first shrinks a crop around it with its 2×
//! pyramid (`pyramid_down<2>`, [1 4 6 4 1]/16 separable filter) until the chip is close to
//! the box size, then samples with bilinear interpolation and truncates to `u8`.

use image::RgbImage;

use crate::transform::{
    find_affine_transform, find_similarity_transform, floor, rotate_point, DPoint,
};
use crate::Point;

/// Chip size and padding used by face_recognition / dlib's face descriptor.
pub const FACE_CHIP_SIZE: u32 = 150;
pub const FACE_CHIP_PADDING: f64 = 0.25;

/// Guard against endless pyramid loops on non-finite rectangles (dlib would spin forever);
/// a finite double rectangle is below one pixel after ~1100 halvings, real faces need < 10.
const MAX_PYRAMID_DEPTH: usize = 64;

/// dlib `drectangle`: inclusive double bounds; empty when `left > right` or `top > bottom`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DRect {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl DRect {
    pub fn is_empty(&self) -> bool {
        self.top > self.bottom || self.left > self.right
    }
    pub fn width(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.right - self.left + 1.0
        }
    }
    pub fn height(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.bottom - self.top + 1.0
        }
    }
    pub fn area(&self) -> f64 {
        self.width() * self.height()
    }
    pub fn center(&self) -> DPoint {
        [
            (self.left + self.right) / 2.0,
            (self.top + self.bottom) / 2.0,
        ]
    }
    fn tl(&self) -> DPoint {
        [self.left, self.top]
    }
    fn tr(&self) -> DPoint {
        [self.right, self.top]
    }
    fn bl(&self) -> DPoint {
        [self.left, self.bottom]
    }
    fn br(&self) -> DPoint {
        [self.right, self.bottom]
    }
    /// The union with a point (dlib `drectangle += point`).
    fn add_point(self, p: DPoint) -> DRect {
        let pr = DRect {
            left: p[0],
            top: p[1],
            right: p[0],
            bottom: p[1],
        };
        if self.is_empty() {
            return pr;
        }
        DRect {
            left: self.left.min(p[0]),
            top: self.top.min(p[1]),
            right: self.right.max(p[0]),
            bottom: self.bottom.max(p[1]),
        }
    }
    /// An empty rectangle (dlib's default `drectangle`).
    fn empty() -> DRect {
        DRect {
            left: 0.0,
            top: 0.0,
            right: -1.0,
            bottom: -1.0,
        }
    }
}

/// Where and how to cut a chip (dlib `chip_details`): the box in the image, its rotation
/// around its centre in radians, and the output size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChipDetails {
    pub rect: DRect,
    pub angle: f64,
    pub rows: u32,
    pub cols: u32,
}

/// dlib `get_face_chip_details(det, size, padding)` for a 5-point shape.
pub fn get_face_chip_details(parts: &[Point; 5], size: u32, padding: f64) -> ChipDetails {
    // dlib's 5-point template (eye corners, nose), in the unit square of the face.
    const TEMPLATE: [DPoint; 5] = [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ];
    // `(padding + p) / (2*padding + 1)` is a dlib matrix expression, and dlib divides a
    // matrix by a scalar as a multiplication by the reciprocal.
    let inv = 1.0 / (2.0 * padding + 1.0);
    let sz = f64::from(size);
    let from: Vec<DPoint> = TEMPLATE
        .iter()
        .map(|p| [(p[0] + padding) * inv * sz, (p[1] + padding) * inv * sz])
        .collect();
    let to: Vec<DPoint> = parts.iter().map(|p| [p.x as f64, p.y as f64]).collect();
    chip_details_from_points(&from, &to, size, size)
}

/// dlib's `chip_details(chip_points, img_points, dims)` constructor.
fn chip_details_from_points(
    chip_points: &[DPoint],
    img_points: &[DPoint],
    rows: u32,
    cols: u32,
) -> ChipDetails {
    let tform = find_similarity_transform(chip_points, img_points);
    // get_m() * (1, 0)
    let p = [
        tform.m[0][0] * 1.0 + tform.m[0][1] * 0.0,
        tform.m[1][0] * 1.0 + tform.m[1][1] * 0.0,
    ];
    let angle = p[1].atan2(p[0]);
    let scale = (p[0] * p[0] + p[1] * p[1]).sqrt();
    let center = tform.apply([f64::from(cols) / 2.0, f64::from(rows) / 2.0]);
    // centered_drect(center, cols*scale, rows*scale)
    let w = f64::from(cols) * scale - 1.0;
    let h = f64::from(rows) * scale - 1.0;
    ChipDetails {
        rect: DRect {
            left: center[0] - w / 2.0,
            top: center[1] - h / 2.0,
            right: center[0] + w / 2.0,
            bottom: center[1] + h / 2.0,
        },
        angle,
        rows,
        cols,
    }
}

/// dlib `extract_image_chip(img, details, chip)` with bilinear interpolation.
pub fn extract_image_chip(img: &RgbImage, details: &ChipDetails) -> RgbImage {
    extract_image_chips(img, std::slice::from_ref(details))
        .pop()
        .unwrap_or_default()
}

/// dlib `extract_image_chips(img, details, chips)`: all chips share one pyramid built
/// over the union of their neighbourhoods, so a chip can differ (slightly) from the same
/// chip extracted alone. dlib's `compute_face_descriptor` extracts all faces of an
/// image this way; `get_face_chip` (the reference PNGs) one at a time.
pub fn extract_image_chips(img: &RgbImage, details: &[ChipDetails]) -> Vec<RgbImage> {
    let full = View::of(img);
    // How deep the pyramid must go, and which part of the image it must cover.
    let mut max_depth = 0usize;
    let mut bbox = IRect::empty();
    for d in details {
        let size = f64::from(d.rows) * f64::from(d.cols);
        let mut depth = 0usize;
        let mut grow = 2.0f64;
        let mut rect = rect_down(d.rect);
        while rect.area() > size && depth < MAX_PYRAMID_DEPTH {
            rect = rect_down(rect);
            depth += 1;
            // Each level halves the image; keep a border of 2 pixels per level.
            grow = grow * 2.0 + 2.0;
        }
        let cent = d.rect.center();
        let mut rot = DRect::empty();
        for corner in [d.rect.tl(), d.rect.tr(), d.rect.bl(), d.rect.br()] {
            rot = rot.add_point(rotate_point(cent, corner, d.angle));
        }
        let grown = DRect {
            left: rot.left - grow,
            top: rot.top - grow,
            right: rot.right + grow,
            bottom: rot.bottom + grow,
        };
        let clipped = DRect {
            left: grown.left.max(0.0),
            top: grown.top.max(0.0),
            right: grown.right.min(f64::from(img.width()) - 1.0),
            bottom: grown.bottom.min(f64::from(img.height()) - 1.0),
        };
        bbox = bbox.union(IRect::from_drect(clipped));
        max_depth = max_depth.max(depth);
    }

    let sub = full.sub(bbox);
    let mut levels: Vec<Rgb> = Vec::with_capacity(max_depth);
    for _ in 0..max_depth {
        let next = match levels.last() {
            None => pyramid_down2(&sub),
            Some(prev) => pyramid_down2(&prev.view()),
        };
        levels.push(next);
    }

    details
        .iter()
        .map(|d| {
            let size = f64::from(d.rows) * f64::from(d.cols);
            if d.angle == 0.0
                && f64::from(d.rows) == d.rect.height()
                && f64::from(d.cols) == d.rect.width()
            {
                return basic_extract(&full, IRect::from_drect(d.rect));
            }
            // Which pyramid level to sample from, and the box in that level's pixels.
            let mut level: isize = -1;
            let mut rect = DRect {
                left: d.rect.left - bbox.left as f64,
                top: d.rect.top - bbox.top as f64,
                right: d.rect.right - bbox.left as f64,
                bottom: d.rect.bottom - bbox.top as f64,
            };
            while rect_down(rect).area() > size && (level + 1) < max_depth as isize {
                level += 1;
                rect = rect_down(rect);
            }
            let (cols, rows) = (f64::from(d.cols), f64::from(d.rows));
            let from = [[0.0, 0.0], [cols - 1.0, 0.0], [0.0, rows - 1.0]];
            let c = rect.center();
            let to = [
                rotate_point(c, rect.tl(), d.angle),
                rotate_point(c, rect.tr(), d.angle),
                rotate_point(c, rect.bl(), d.angle),
            ];
            let trns = find_affine_transform(&from, &to);
            let src = if level < 0 {
                sub
            } else {
                levels[level as usize].view()
            };
            // Pixels that cannot be interpolated stay black (dlib's black_background).
            let mut buf = vec![0u8; d.cols as usize * d.rows as usize * 3];
            for (y, row) in buf.chunks_exact_mut(d.cols as usize * 3).enumerate() {
                for (x, px) in row.chunks_exact_mut(3).enumerate() {
                    let p = trns.apply([x as f64, y as f64]);
                    if let Some(rgb) = bilinear(&src, p) {
                        px.copy_from_slice(&rgb);
                    }
                }
            }
            RgbImage::from_raw(d.cols, d.rows, buf).unwrap_or_default()
        })
        .collect()
}

/// dlib `interpolate_bilinear` on an RGB image: `None` when a neighbour is outside.
fn bilinear(img: &View<'_>, p: DPoint) -> Option<[u8; 3]> {
    let (fx, fy) = (floor(p[0]), floor(p[1]));
    // NaN and huge coordinates fail the range checks below.
    if !(fx >= 0.0 && fy >= 0.0 && fx + 1.0 < img.width as f64 && fy + 1.0 < img.height as f64) {
        return None;
    }
    let (left, top) = (fx as usize, fy as usize);
    let lr = p[0] - fx;
    let tb = p[1] - fy;
    // The 2x2 neighbourhood: two 6-byte runs on consecutive rows.
    let o = (img.y0 + top) * img.stride + (img.x0 + left) * 3;
    let (row0, row1) = (
        &img.data[o..o + 6],
        &img.data[o + img.stride..o + img.stride + 6],
    );
    let mut out = [0u8; 3];
    for (ch, o) in out.iter_mut().enumerate() {
        let (tl, tr) = (f64::from(row0[ch]), f64::from(row0[ch + 3]));
        let (bl, br) = (f64::from(row1[ch]), f64::from(row1[ch + 3]));
        let v = (1.0 - tb) * ((1.0 - lr) * tl + lr * tr) + tb * ((1.0 - lr) * bl + lr * br);
        // static_cast<unsigned char>: truncation (v is within [0, 255] up to rounding).
        *o = v as u8;
    }
    Some(out)
}

/// dlib `impl::basic_extract_image_chip`: a plain copy, zero outside the image.
fn basic_extract(img: &View<'_>, loc: IRect) -> RgbImage {
    let (w, h) = (loc.width(), loc.height());
    let (Ok(w32), Ok(h32)) = (u32::try_from(w), u32::try_from(h)) else {
        return RgbImage::default();
    };
    let mut chip = RgbImage::new(w32, h32);
    for (x, y, px) in chip.enumerate_pixels_mut() {
        let (ix, iy) = (loc.left + i64::from(x), loc.top + i64::from(y));
        if ix >= 0 && iy >= 0 && (ix as usize) < img.width && (iy as usize) < img.height {
            px.0 = img.pixel(ix as usize, iy as usize);
        }
    }
    chip
}

/// `pyramid_down<2>::rect_down`: `p/2 - (1.25, 0.75)` on both corners.
fn rect_down(r: DRect) -> DRect {
    let down = |p: DPoint| [p[0] / 2.0 - 1.25, p[1] / 2.0 - 0.75];
    let (a, b) = (down(r.tl()), down(r.br()));
    DRect {
        left: a[0].min(b[0]),
        top: a[1].min(b[1]),
        right: a[0].max(b[0]),
        bottom: a[1].max(b[1]),
    }
}

/// dlib `pyramid_down<2>` for RGB images: [1 4 6 4 1] horizontally on every row, taking
/// every other column, then vertically on every other row, `/256` with truncation.
/// Output is `((h-3)/2) x ((w-3)/2)`; images of 8 pixels or less in a dimension give an
/// empty image.
pub fn pyramid_down2_rgb(img: &RgbImage) -> RgbImage {
    let out = pyramid_down2(&View::of(img));
    RgbImage::from_raw(out.width as u32, out.height as u32, out.data).unwrap_or_default()
}

fn pyramid_down2(img: &View<'_>) -> Rgb {
    if img.height <= 8 || img.width <= 8 {
        return Rgb::default();
    }
    let tw = (img.width - 3) / 2;
    let (ow, oh) = (tw, (img.height - 3) / 2);
    // Row filter, u16 per channel as dlib's rgbptype (max 16*255 fits).
    let mut temp = vec![0u16; img.height * tw * 3];
    for r in 0..img.height {
        let row = img.row(r);
        let trow = &mut temp[r * tw * 3..(r + 1) * tw * 3];
        for c in 0..tw {
            let o = 2 * c * 3;
            for ch in 0..3 {
                let p = |k: usize| u16::from(row[o + k * 3 + ch]);
                trow[c * 3 + ch] = p(0) + p(1) * 4 + p(2) * 6 + p(3) * 4 + p(4);
            }
        }
    }
    // Column filter on rows 2, 4, … (while r < h - 2).
    let mut out = vec![0u8; oh * ow * 3];
    let stride = tw * 3;
    for dr in 0..oh {
        let r = 2 + 2 * dr;
        for i in 0..stride {
            // u16 wrapping like dlib's uint16 sums; the maximum, 65280, does not overflow.
            let v = temp[(r - 2) * stride + i]
                .wrapping_add(temp[(r - 1) * stride + i].wrapping_mul(4))
                .wrapping_add(temp[r * stride + i].wrapping_mul(6))
                .wrapping_add(temp[(r + 1) * stride + i].wrapping_mul(4))
                .wrapping_add(temp[(r + 2) * stride + i]);
            out[dr * stride + i] = (v / 256) as u8;
        }
    }
    Rgb {
        width: ow,
        height: oh,
        data: out,
    }
}

/// An owned RGB8 buffer (a pyramid level).
#[derive(Debug, Clone, Default)]
struct Rgb {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl Rgb {
    fn view(&self) -> View<'_> {
        View {
            data: &self.data,
            stride: self.width * 3,
            x0: 0,
            y0: 0,
            width: self.width,
            height: self.height,
        }
    }
}

/// A rectangular window of an RGB8 buffer (dlib `sub_image`).
#[derive(Debug, Clone, Copy)]
struct View<'a> {
    data: &'a [u8],
    stride: usize,
    x0: usize,
    y0: usize,
    width: usize,
    height: usize,
}

impl<'a> View<'a> {
    fn of(img: &'a RgbImage) -> Self {
        View {
            data: img.as_raw(),
            stride: img.width() as usize * 3,
            x0: 0,
            y0: 0,
            width: img.width() as usize,
            height: img.height() as usize,
        }
    }
    /// The part of this view inside `r` (clipped; empty when `r` is).
    fn sub(&self, r: IRect) -> View<'a> {
        let clip = r.intersect(IRect {
            left: 0,
            top: 0,
            right: self.width as i64 - 1,
            bottom: self.height as i64 - 1,
        });
        if clip.is_empty() {
            return View {
                width: 0,
                height: 0,
                ..*self
            };
        }
        View {
            x0: self.x0 + clip.left as usize,
            y0: self.y0 + clip.top as usize,
            width: clip.width() as usize,
            height: clip.height() as usize,
            ..*self
        }
    }
    fn row(&self, r: usize) -> &'a [u8] {
        let start = (self.y0 + r) * self.stride + self.x0 * 3;
        &self.data[start..start + self.width * 3]
    }
    fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let o = (self.y0 + y) * self.stride + (self.x0 + x) * 3;
        [self.data[o], self.data[o + 1], self.data[o + 2]]
    }
}

/// dlib `rectangle` arithmetic for the pyramid's crop box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IRect {
    left: i64,
    top: i64,
    right: i64,
    bottom: i64,
}

impl IRect {
    fn empty() -> Self {
        IRect {
            left: 0,
            top: 0,
            right: -1,
            bottom: -1,
        }
    }
    /// dlib's `drectangle → rectangle`: `lround` of each side.
    fn from_drect(r: DRect) -> Self {
        // f64::round rounds half away from zero like lround; `as` saturates on overflow.
        IRect {
            left: r.left.round() as i64,
            top: r.top.round() as i64,
            right: r.right.round() as i64,
            bottom: r.bottom.round() as i64,
        }
    }
    fn is_empty(&self) -> bool {
        self.top > self.bottom || self.left > self.right
    }
    fn width(&self) -> i64 {
        if self.is_empty() {
            0
        } else {
            self.right - self.left + 1
        }
    }
    fn height(&self) -> i64 {
        if self.is_empty() {
            0
        } else {
            self.bottom - self.top + 1
        }
    }
    fn union(self, o: IRect) -> IRect {
        if o.is_empty() {
            return self;
        }
        if self.is_empty() {
            return o;
        }
        IRect {
            left: self.left.min(o.left),
            top: self.top.min(o.top),
            right: self.right.max(o.right),
            bottom: self.bottom.max(o.bottom),
        }
    }
    fn intersect(self, o: IRect) -> IRect {
        IRect {
            left: self.left.max(o.left),
            top: self.top.max(o.top),
            right: self.right.min(o.right),
            bottom: self.bottom.min(o.bottom),
        }
    }
}
