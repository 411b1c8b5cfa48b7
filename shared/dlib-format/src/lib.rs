//! Reader for dlib's binary serialization format (see `../shared/docs/dlib-models.md`).
//!
//! Every reader here works on untrusted bytes: lengths are checked against what is left
//! in the input before anything is allocated, and every failure is a typed [`Error`].

mod reader;

pub use reader::{Error, Reader, Result, Tensor};
