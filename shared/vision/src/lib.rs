//! Image side of the face pipeline, re-implemented in Rust to match dlib's numbers.
//!
//! Coordinates follow dlib: `x` right, `y` down, rectangles inclusive on all sides.

mod geometry;

pub use geometry::{Detection, Point, Rect};
