//! Debugging aid: runs an ONNX model with tract on a raw little-endian f32 NCHW input and
//! writes the raw f32 output, to compare with dlib's own forward pass.
//!
//! `cargo run -p faceid-model-converter --example run_onnx -- <model.onnx> <in.f32> <H> <W> <out.f32>`

use anyhow::Context;
use tract_onnx::prelude::*;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, input, h, w, output] = args.as_slice() else {
        anyhow::bail!("usage: run_onnx <model.onnx> <in.f32> <H> <W> <out.f32>");
    };
    let (h, w): (usize, usize) = (h.parse()?, w.parse()?);
    let bytes = std::fs::read(input).context("reading input")?;
    let data: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let t0 = std::time::Instant::now();
    let decoded = tract_onnx::onnx()
        .model_for_path(model)?
        .with_input_fact(0, f32::fact([1, 3, h, w]).into())?;
    let td = std::time::Instant::now();
    let plan = decoded.into_optimized()?.into_runnable()?;
    let t1 = std::time::Instant::now();
    eprintln!("decode {:?}, optimise {:?}", td - t0, t1 - td);
    let x = tract_ndarray::Array4::from_shape_vec((1, 3, h, w), data)?;
    let out = plan.run(tvec!(Tensor::from(x).into()))?;
    let t2 = std::time::Instant::now();
    let o = out[0].to_plain_array_view::<f32>()?;
    eprintln!(
        "output shape {:?}; load {:?}, run {:?}",
        o.shape(),
        t1 - t0,
        t2 - t1
    );
    let raw: Vec<u8> = o.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(output, raw)?;
    Ok(())
}
