//! Face models run by tract: the 128-D dlib ResNet descriptor and the MMOD CNN detector.

pub mod descriptor;
pub mod mmod;
pub mod pipeline;

pub use pipeline::{Face, FacePipeline, ModelBytes, PipelineError, MODEL_ID};
