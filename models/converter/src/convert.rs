//! dlib layer list → ONNX graph, following dlib's forward pass exactly (`dlib/dnn/*.h`,
//! `dlib/cuda/cpu_dlib.cpp`).

use std::collections::HashMap;

use faceid_dlib_format::net::{Affine, Conv, FullyConnected, Layer, Network, Pool, PoolKind};
use tract_onnx::pb::ModelProto;

use crate::onnx::{int, ints, Dim, Graph};

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("layer {index}: {what}")]
    Unsupported { index: usize, what: String },
    #[error("layer {index}: input {h}x{w} is smaller than the {k_h}x{k_w} window")]
    TooSmall {
        index: usize,
        h: usize,
        w: usize,
        k_h: usize,
        k_w: usize,
    },
}

/// What the graph input holds.
#[derive(Debug, Clone, Copy)]
pub enum InputMode {
    /// Raw RGB values 0..255 (as f32, NCHW); the graph subtracts `mean` per channel and
    /// divides by 256, as dlib's `input_rgb_image*::to_tensor` does.
    RawRgb { mean: [f32; 3] },
    /// Already normalised by the caller: (v − mean) / 256.
    Normalised,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub graph_name: &'static str,
    pub input_name: &'static str,
    /// `[1, 3, H, W]`; fixed H, W let `add_prev` pad mismatched shapes statically.
    pub input_dims: [Dim; 4],
    pub input_mode: InputMode,
    pub output_name: &'static str,
    pub output_dims: Vec<Dim>,
    /// Fold an `affine`/`bn_con` that directly follows a convolution into its weights
    /// (exact in real arithmetic; changes float rounding in the last bits only).
    pub fold_affine: bool,
    pub doc: String,
    pub metadata: Vec<(&'static str, String)>,
}

/// A graph value with its (per-sample) shape; H and W are `None` when dynamic.
#[derive(Debug, Clone)]
struct Value {
    name: String,
    c: usize,
    h: Option<usize>,
    w: Option<usize>,
    /// True once flattened by an fc layer (then `c` is the vector length).
    flat: bool,
}

pub fn convert(net: &Network, opts: &Options) -> Result<ModelProto, ConvertError> {
    let mut g = Graph::new(opts.graph_name);
    let fixed = |d: &Dim| match d {
        Dim::Fixed(v) => usize::try_from(*v).ok(),
        Dim::Named(_) => None,
    };
    let input = g.input(opts.input_name, &opts.input_dims);
    let mut cur = Value {
        name: input,
        c: 3,
        h: fixed(&opts.input_dims[2]),
        w: fixed(&opts.input_dims[3]),
        flat: false,
    };
    if let InputMode::RawRgb { mean } = opts.input_mode {
        // dlib: (pixel − mean) / 256.0, i.e. a float subtraction then an exact scaling.
        let m = g.constant("mean", &[1, 3, 1, 1], &mean);
        let s = g.constant("scale", &[1], &[1.0 / 256.0]);
        let centred = g.node("Sub", &[&cur.name, &m], vec![], None);
        cur.name = g.node("Mul", &[&centred, &s], vec![], None);
    }

    let mut tags: HashMap<u32, Value> = HashMap::new();
    let n = net.layers.len();
    let mut i = 0;
    while i < n {
        let last = i + 1 == n;
        let output = if last { Some(opts.output_name) } else { None };
        match &net.layers[i] {
            Layer::Con(conv) => {
                // A following affine layer (or batch norm) folds into the weights.
                let next = net.layers.get(i + 1);
                let folded = match next {
                    Some(Layer::Affine(a)) if opts.fold_affine && !conv.relu => Some(a.clone()),
                    Some(Layer::BnCon(bn)) if opts.fold_affine && !conv.relu => {
                        Some(bn.to_affine())
                    }
                    _ => None,
                };
                let output = if folded.is_some() && i + 2 == n {
                    Some(opts.output_name)
                } else {
                    output
                };
                cur = conv_node(&mut g, i, &cur, conv, folded.as_ref(), output)?;
                if folded.is_some() {
                    i += 1;
                }
            }
            Layer::Affine(a) => cur = affine_node(&mut g, i, &cur, a, output)?,
            Layer::BnCon(bn) => cur = affine_node(&mut g, i, &cur, &bn.to_affine(), output)?,
            Layer::Relu => cur.name = g.node("Relu", &[&cur.name], vec![], output),
            Layer::Identity => {
                if last {
                    cur.name = g.node("Identity", &[&cur.name], vec![], output);
                }
            }
            Layer::Pool(p) => cur = pool_node(&mut g, i, &cur, p, output)?,
            Layer::Tag(id) => {
                tags.insert(*id, cur.clone());
            }
            Layer::Skip(id) => {
                cur = tags.get(id).cloned().ok_or(ConvertError::Unsupported {
                    index: i,
                    what: format!("skip{id} without a tag{id} below it"),
                })?;
            }
            Layer::AddPrev { tag } => {
                let other = tags.get(tag).cloned().ok_or(ConvertError::Unsupported {
                    index: i,
                    what: format!("add_prev{tag} without a tag{tag} below it"),
                })?;
                cur = add_prev_node(&mut g, i, &cur, &other, output)?;
            }
            Layer::Fc(fc) => cur = fc_node(&mut g, i, &cur, fc, output)?,
        }
        i += 1;
    }
    if cur.name != opts.output_name {
        g.node("Identity", &[&cur.name], vec![], Some(opts.output_name));
    }
    g.output(opts.output_name, &opts.output_dims);
    Ok(g.into_model(&opts.doc, &opts.metadata))
}

/// dlib's output size for a window over `len` with padding and stride.
fn out_len(len: usize, pad: usize, k: usize, stride: usize) -> Option<usize> {
    (len + 2 * pad).checked_sub(k).map(|d| d / stride + 1)
}

fn out_hw(
    index: usize,
    v: &Value,
    k: (usize, usize),
    s: (usize, usize),
    p: (usize, usize),
) -> Result<(Option<usize>, Option<usize>), ConvertError> {
    let too_small = || ConvertError::TooSmall {
        index,
        h: v.h.unwrap_or(0),
        w: v.w.unwrap_or(0),
        k_h: k.0,
        k_w: k.1,
    };
    let h = match v.h {
        Some(h) => Some(out_len(h, p.0, k.0, s.0).ok_or_else(too_small)?),
        None => None,
    };
    let w = match v.w {
        Some(w) => Some(out_len(w, p.1, k.1, s.1).ok_or_else(too_small)?),
        None => None,
    };
    Ok((h, w))
}

fn conv_node(
    g: &mut Graph,
    index: usize,
    v: &Value,
    conv: &Conv,
    affine: Option<&Affine>,
    output: Option<&str>,
) -> Result<Value, ConvertError> {
    if v.flat || conv.num_inputs != v.c {
        return Err(ConvertError::Unsupported {
            index,
            what: format!("conv expects {} channels, gets {}", conv.num_inputs, v.c),
        });
    }
    let per_filter = conv.num_inputs * conv.nr * conv.nc;
    let mut weights = conv.filters.clone();
    let mut biases = conv
        .biases
        .clone()
        .unwrap_or_else(|| vec![0.0; conv.num_filters]);
    if let Some(a) = affine {
        if a.fc_mode || a.gamma.len() != conv.num_filters {
            return Err(ConvertError::Unsupported {
                index,
                what: "affine after conv is not per channel".into(),
            });
        }
        // gamma·(w∗x + b) + beta = (gamma·w)∗x + (gamma·b + beta), computed in f64.
        for (o, chunk) in weights.chunks_mut(per_filter).enumerate() {
            let gamma = f64::from(a.gamma[o]);
            for w in chunk {
                *w = (f64::from(*w) * gamma) as f32;
            }
            biases[o] = (f64::from(biases[o]) * gamma + f64::from(a.beta[o])) as f32;
        }
    }
    let w = g.constant(
        "conv_w",
        &[conv.num_filters, conv.num_inputs, conv.nr, conv.nc],
        &weights,
    );
    let b = g.constant("conv_b", &[conv.num_filters], &biases);
    let (h, wd) = out_hw(
        index,
        v,
        (conv.nr, conv.nc),
        (conv.stride_y, conv.stride_x),
        (conv.padding_y, conv.padding_x),
    )?;
    let attrs = vec![
        ints("kernel_shape", &[conv.nr as i64, conv.nc as i64]),
        ints("strides", &[conv.stride_y as i64, conv.stride_x as i64]),
        ints(
            "pads",
            &[
                conv.padding_y as i64,
                conv.padding_x as i64,
                conv.padding_y as i64,
                conv.padding_x as i64,
            ],
        ),
    ];
    let conv_out = if conv.relu { None } else { output };
    let mut name = g.node("Conv", &[&v.name, &w, &b], attrs, conv_out);
    if conv.relu {
        name = g.node("Relu", &[&name], vec![], output);
    }
    Ok(Value {
        name,
        c: conv.num_filters,
        h,
        w: wd,
        flat: false,
    })
}

fn affine_node(
    g: &mut Graph,
    index: usize,
    v: &Value,
    a: &Affine,
    output: Option<&str>,
) -> Result<Value, ConvertError> {
    let shape = if v.flat {
        vec![1, v.c]
    } else {
        vec![1, v.c, 1, 1]
    };
    if a.gamma.len() != v.c || (a.fc_mode && !v.flat) {
        return Err(ConvertError::Unsupported {
            index,
            what: format!("affine of {} values over {} channels", a.gamma.len(), v.c),
        });
    }
    let gamma = g.constant("affine_g", &shape, &a.gamma);
    let beta = g.constant("affine_b", &shape, &a.beta);
    let scaled = g.node("Mul", &[&v.name, &gamma], vec![], None);
    let name = g.node("Add", &[&scaled, &beta], vec![], output);
    Ok(Value { name, ..v.clone() })
}

fn pool_node(
    g: &mut Graph,
    index: usize,
    v: &Value,
    p: &Pool,
    output: Option<&str>,
) -> Result<Value, ConvertError> {
    if p.nr == 0 && p.nc == 0 {
        // avg_pool_everything / max_pool_everything: one window over the whole plane.
        let op = match p.kind {
            PoolKind::Avg => "GlobalAveragePool",
            PoolKind::Max => "GlobalMaxPool",
        };
        let name = g.node(op, &[&v.name], vec![], output);
        return Ok(Value {
            name,
            h: Some(1),
            w: Some(1),
            ..v.clone()
        });
    }
    if p.nr == 0 || p.nc == 0 || p.padding_y >= p.nr || p.padding_x >= p.nc {
        return Err(ConvertError::Unsupported {
            index,
            what: format!(
                "pool window {}x{} padding {}x{}",
                p.nr, p.nc, p.padding_y, p.padding_x
            ),
        });
    }
    let (h, w) = out_hw(
        index,
        v,
        (p.nr, p.nc),
        (p.stride_y, p.stride_x),
        (p.padding_y, p.padding_x),
    )?;
    // dlib averages/maxes over the part of each window inside the image (`subm_clipped`):
    // ONNX's defaults (count_include_pad = 0, padding ignored by MaxPool) match.
    let op = match p.kind {
        PoolKind::Avg => "AveragePool",
        PoolKind::Max => "MaxPool",
    };
    let mut attrs = vec![
        ints("kernel_shape", &[p.nr as i64, p.nc as i64]),
        ints("strides", &[p.stride_y as i64, p.stride_x as i64]),
        ints(
            "pads",
            &[
                p.padding_y as i64,
                p.padding_x as i64,
                p.padding_y as i64,
                p.padding_x as i64,
            ],
        ),
    ];
    if p.kind == PoolKind::Avg {
        attrs.push(int("count_include_pad", 0));
    }
    let name = g.node(op, &[&v.name], attrs, output);
    Ok(Value {
        name,
        h,
        w,
        ..v.clone()
    })
}

/// dlib's `add_prev`: the output has the larger size in every dimension and each input is
/// zero-extended at the end (`tt::add` with mismatched shapes, cpu_dlib.cpp).
fn add_prev_node(
    g: &mut Graph,
    index: usize,
    a: &Value,
    b: &Value,
    output: Option<&str>,
) -> Result<Value, ConvertError> {
    let same = a.c == b.c && a.h == b.h && a.w == b.w && a.flat == b.flat;
    if same {
        let name = g.node("Add", &[&a.name, &b.name], vec![], output);
        return Ok(Value { name, ..a.clone() });
    }
    let (Some(ah), Some(aw), Some(bh), Some(bw)) = (a.h, a.w, b.h, b.w) else {
        return Err(ConvertError::Unsupported {
            index,
            what: "add_prev of differently shaped tensors needs static shapes".into(),
        });
    };
    if a.flat || b.flat {
        return Err(ConvertError::Unsupported {
            index,
            what: "add_prev after fc".into(),
        });
    }
    let (c, h, w) = (a.c.max(b.c), ah.max(bh), aw.max(bw));
    let pad = |g: &mut Graph, v: &Value, vh: usize, vw: usize| -> String {
        if (v.c, vh, vw) == (c, h, w) {
            return v.name.clone();
        }
        let pads = g.constant_i64(
            "pads",
            &[
                0,
                0,
                0,
                0,
                0,
                (c - v.c) as i64,
                (h - vh) as i64,
                (w - vw) as i64,
            ],
        );
        g.node("Pad", &[&v.name, &pads], vec![], None)
    };
    let pa = pad(g, a, ah, aw);
    let pb = pad(g, b, bh, bw);
    let name = g.node("Add", &[&pa, &pb], vec![], output);
    Ok(Value {
        name,
        c,
        h: Some(h),
        w: Some(w),
        flat: false,
    })
}

fn fc_node(
    g: &mut Graph,
    index: usize,
    v: &Value,
    fc: &FullyConnected,
    output: Option<&str>,
) -> Result<Value, ConvertError> {
    let len = if v.flat {
        Some(v.c)
    } else {
        v.h.zip(v.w).map(|(h, w)| v.c * h * w)
    };
    if len != Some(fc.num_inputs) {
        return Err(ConvertError::Unsupported {
            index,
            what: format!("fc with {} inputs on {len:?} values", fc.num_inputs),
        });
    }
    // dlib flattens each sample in k, r, c order (= ONNX Flatten axis 1), then x·W.
    let flat = if v.flat {
        v.name.clone()
    } else {
        g.node("Flatten", &[&v.name], vec![int("axis", 1)], None)
    };
    let w = g.constant("fc_w", &[fc.num_inputs, fc.num_outputs], &fc.weights);
    let name = match &fc.biases {
        None => g.node("MatMul", &[&flat, &w], vec![], output),
        Some(b) => {
            let b = g.constant("fc_b", &[1, fc.num_outputs], b);
            let prod = g.node("MatMul", &[&flat, &w], vec![], None);
            g.node("Add", &[&prod, &b], vec![], output)
        }
    };
    Ok(Value {
        name,
        c: fc.num_outputs,
        h: None,
        w: None,
        flat: true,
    })
}
