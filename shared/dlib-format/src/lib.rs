//! Reader for dlib's binary serialization format (see `../shared/docs/dlib-models.md`).
//!
//! Every reader here works on untrusted bytes: lengths are checked against what is left
//! in the input before anything is allocated, and every failure is a typed [`Error`].

pub mod compress;
pub mod hog_detector;
pub mod net;
mod reader;
pub mod shape_predictor;

pub use reader::{Error, Reader, Result, Tensor};
