//! Image side of the face pipeline, re-implemented in Rust to match dlib's numbers.
//!
//! Coordinates follow dlib: `x` right, `y` down, rectangles inclusive on all sides.

pub mod chip;
pub mod decode;
mod geometry;
pub mod hog;
pub mod pyramid;
pub mod shape;
mod svd;
pub mod transform;

pub use geometry::{BoxOverlap, Detection, Point, Rect};
