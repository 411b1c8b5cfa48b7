//! The 128-D face descriptor: dlib's `dlib_face_recognition_resnet_model_v1`, converted to
//! ONNX by `faceid-model-converter` (`models/dlib_face_recognition_resnet_model_v1.onnx`)
//! and run by tract.
//!
//! The graph takes the raw RGB chip (0..255 as f32, NCHW) and does dlib's input
//! normalisation itself, so this module only lays the pixels out (see `models/README.md`).

use std::path::Path;
use std::sync::Arc;

use image::RgbImage;
use tract_onnx::prelude::*;

/// Side of the aligned face chip the network takes (dlib `input_rgb_image_sized<150>`).
pub const CHIP_SIZE: u32 = 150;
/// The descriptor type is the domain's (one definition, in `faceid-core`): 128 values
/// exactly as dlib outputs them, not L2-normalised.
pub use faceid_core::{Descriptor, DESCRIPTOR_LEN};

/// Errors of loading or running the descriptor network.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// tract could not load, optimise or run the model (message keeps tract's context).
    #[error("descriptor model: {0}")]
    Model(String),
    #[error("face chip must be {CHIP_SIZE}x{CHIP_SIZE}, got {width}x{height}")]
    ChipSize { width: u32, height: u32 },
    #[error("unexpected descriptor model output shape {0:?}")]
    OutputShape(Vec<usize>),
}

fn model_err(e: impl std::fmt::Display) -> ModelError {
    ModelError::Model(format!("{e:#}"))
}

type Plan = Arc<TypedRunnableModel>;

/// The loaded, optimised network. Load once and share: it is `Send + Sync`, holds no
/// mutable state, and [`DescriptorModel::compute`] may run from many threads at once.
#[derive(Clone)]
pub struct DescriptorModel {
    plan: Plan,
}

impl std::fmt::Debug for DescriptorModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DescriptorModel").finish_non_exhaustive()
    }
}

impl DescriptorModel {
    /// Loads `dlib_face_recognition_resnet_model_v1.onnx`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ModelError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Loads the model from the ONNX bytes. The input shape is fixed to `[1,3,150,150]`
    /// before optimisation, so tract plans every layer for that one shape.
    pub fn from_bytes(onnx: &[u8]) -> Result<Self, ModelError> {
        let size = CHIP_SIZE as usize;
        let plan = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(onnx))
            .and_then(|m| m.with_input_fact(0, f32::fact([1, 3, size, size]).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(model_err)?;
        Ok(Self { plan })
    }

    /// The descriptor of one aligned 150×150 RGB face chip (dlib `get_face_chip`).
    pub fn compute(&self, chip: &RgbImage) -> Result<Descriptor, ModelError> {
        let (width, height) = chip.dimensions();
        if (width, height) != (CHIP_SIZE, CHIP_SIZE) {
            return Err(ModelError::ChipSize { width, height });
        }
        let out = self
            .plan
            .run(tvec!(chip_tensor(chip)?.into()))
            .map_err(model_err)?;
        let view = out
            .first()
            .ok_or_else(|| ModelError::OutputShape(vec![]))?
            .to_plain_array_view::<f32>()
            .map_err(model_err)?;
        if view.shape() != [1, DESCRIPTOR_LEN] {
            return Err(ModelError::OutputShape(view.shape().to_vec()));
        }
        let mut descriptor = [0f32; DESCRIPTOR_LEN];
        for (d, v) in descriptor.iter_mut().zip(view.iter()) {
            *d = *v;
        }
        Ok(Descriptor(descriptor))
    }
}

/// Interleaved RGB bytes → planar f32 `[1,3,H,W]` with the raw 0..255 values.
fn chip_tensor(chip: &RgbImage) -> Result<Tensor, ModelError> {
    let (w, h) = (chip.width() as usize, chip.height() as usize);
    let plane = w * h;
    let mut data = vec![0f32; 3 * plane];
    for (i, px) in chip.as_raw().chunks_exact(3).enumerate() {
        data[i] = f32::from(px[0]);
        data[plane + i] = f32::from(px[1]);
        data[2 * plane + i] = f32::from(px[2]);
    }
    Tensor::from_shape(&[1, 3, h, w], &data).map_err(model_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<DescriptorModel>();
    }

    #[test]
    fn chip_layout_is_planar_rgb() {
        let chip = RgbImage::from_fn(2, 1, |x, _| image::Rgb([x as u8, 10 + x as u8, 20]));
        let t = chip_tensor(&chip).expect("tensor");
        let v = t.to_plain_array_view::<f32>().expect("f32");
        assert_eq!(v.shape(), [1, 3, 1, 2]);
        assert_eq!(
            v.iter().copied().collect::<Vec<_>>(),
            [0.0, 1.0, 10.0, 11.0, 20.0, 20.0]
        );
    }

    #[test]
    fn garbage_model_bytes_are_an_error() {
        assert!(matches!(
            DescriptorModel::from_bytes(b"not an onnx file"),
            Err(ModelError::Model(_))
        ));
    }
}
