//! Geometry types shared by detectors, the shape predictor and the chip extractor.

/// A dlib `rectangle`: inclusive bounds, may extend past the image edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    pub left: i64,
    pub top: i64,
    pub right: i64,
    pub bottom: i64,
}

impl Rect {
    pub fn new(left: i64, top: i64, right: i64, bottom: i64) -> Self {
        Self {
            left,
            top,
            right,
            bottom,
        }
    }
    /// dlib's `width()`: `right - left + 1` (0 for an empty rectangle).
    pub fn width(&self) -> i64 {
        if self.right < self.left {
            0
        } else {
            self.right - self.left + 1
        }
    }
    pub fn height(&self) -> i64 {
        if self.bottom < self.top {
            0
        } else {
            self.bottom - self.top + 1
        }
    }
    pub fn area(&self) -> i64 {
        self.width() * self.height()
    }
    pub fn intersect(&self, other: &Rect) -> Rect {
        Rect::new(
            self.left.max(other.left),
            self.top.max(other.top),
            self.right.min(other.right),
            self.bottom.min(other.bottom),
        )
    }
    /// dlib `rectangle + rectangle`: the smallest box containing both (an empty box
    /// is ignored).
    pub fn bounding_box(&self, other: &Rect) -> Rect {
        let empty = |r: &Rect| r.left > r.right || r.top > r.bottom;
        match (empty(self), empty(other)) {
            (true, _) => *other,
            (_, true) => *self,
            _ => Rect::new(
                self.left.min(other.left),
                self.top.min(other.top),
                self.right.max(other.right),
                self.bottom.max(other.bottom),
            ),
        }
    }
    /// Plain intersection over union (the parity tests' measure of "the same box";
    /// dlib's non-maximum suppression uses [`BoxOverlap`] instead).
    pub fn iou(&self, other: &Rect) -> f64 {
        let inter = self.intersect(other).area() as f64;
        let union = (self.area() + other.area()) as f64 - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
}

/// dlib `test_box_overlap`, the non-maximum suppression of both detectors: two boxes
/// overlap when the intersection over the area of their *bounding box* (not their
/// union) exceeds `iou_thresh`, or when the intersection covers more than
/// `percent_covered_thresh` of either box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxOverlap {
    pub iou_thresh: f64,
    pub percent_covered_thresh: f64,
}

impl BoxOverlap {
    pub fn overlaps(&self, a: &Rect, b: &Rect) -> bool {
        let inner = a.intersect(b).area() as f64;
        if inner == 0.0 {
            return false;
        }
        let outer = a.bounding_box(b).area() as f64;
        inner / outer > self.iou_thresh
            || inner / a.area() as f64 > self.percent_covered_thresh
            || inner / b.area() as f64 > self.percent_covered_thresh
    }
}

/// An integer pixel position (dlib `point`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Point {
    pub x: i64,
    pub y: i64,
}

/// A detector hit: the box and the detector's score (HOG: SVM score, CNN: confidence).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub rect: Rect,
    pub score: f64,
    /// HOG only: which of the detector's filters fired (dlib `weight_index`).
    pub filter_index: usize,
}
