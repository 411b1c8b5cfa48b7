//! Why the replay guard (`faceid_core::replay`) is an exact digest and not a perceptual
//! print: on real footage, a print that survives what an attacker does to a captured
//! frame (re-encode, rescale, brighten, add noise, mirror) also matches new captures of
//! the same person.
//!
//! The print measured is the best of those tried: the eye-aligned grey face patch
//! (the parallax check's) averaged over 8×8-pixel cells, mean-removed and normalised;
//! distance = 1 − correlation, the nearer of the print and its mirror. Genuine pairs are
//! frames of one clip at least [`MIN_GAP`] frames apart (same session), and frames of two
//! clips (another session when the clips show the same person: see the descriptor
//! distance).

use anyhow::{Context, Result};
use faceid_core::face::{DetectorKind, FaceAnalyzer};
use faceid_core::liveness::LivenessPolicy;
use faceid_core::parallax::{PATCH_HEIGHT, PATCH_WIDTH};
use faceid_core::Descriptor;
use image::{ImageFormat, RgbImage};
use serde::Serialize;
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// One second at the clips' 30 frames per second.
pub const MIN_GAP: usize = 30;
/// Every how many frames a frame is taken, and replayed.
const STRIDE: usize = 3;
const REPLAY_STRIDE: usize = 15;
const CELL: usize = 8;

#[derive(Debug, Serialize)]
pub struct PrintReport {
    /// Per clip: same-session pairs and the attacker's transforms.
    pub clips: Vec<ClipPrints>,
    /// Per pair of clips: the median descriptor distance (same person below 0.4) and the
    /// print distances.
    pub across: Vec<AcrossClips>,
}

#[derive(Debug, Serialize)]
pub struct ClipPrints {
    pub clip: String,
    pub frames: usize,
    /// Pairs at least [`MIN_GAP`] frames apart: count, then min, 0.1 %, 1 %, median.
    pub same_session: Quantiles,
    pub replays: Vec<(&'static str, Quantiles)>,
}

#[derive(Debug, Serialize)]
pub struct AcrossClips {
    pub clips: [String; 2],
    pub descriptor_median: f32,
    pub prints: Quantiles,
}

/// `n` distances: the smallest, the 0.1 %, 1 %, 50 % and 90 % quantiles and the largest.
#[derive(Debug, Serialize)]
pub struct Quantiles {
    pub n: usize,
    pub min: f32,
    pub q001: f32,
    pub q01: f32,
    pub median: f32,
    pub q90: f32,
    pub max: f32,
}

impl Quantiles {
    fn of(mut v: Vec<f32>) -> Self {
        v.sort_by(f32::total_cmp);
        let q = |p: f64| {
            v.get(((v.len().max(1) - 1) as f64 * p) as usize)
                .copied()
                .unwrap_or(f32::NAN)
        };
        Self {
            n: v.len(),
            min: q(0.0),
            q001: q(0.001),
            q01: q(0.01),
            median: q(0.5),
            q90: q(0.9),
            max: q(1.0),
        }
    }
}

type Transform = fn(&RgbImage) -> RgbImage;

const TRANSFORMS: [(&str, Transform); 6] = [
    ("jpeg q50", |i| jpeg(i, 50)),
    ("scale 0.75, jpeg q85", |i| scaled(i, 3, 4)),
    ("scale 1.3, jpeg q85", |i| scaled(i, 13, 10)),
    ("contrast 0.8 + 30, jpeg q90", |i| {
        let mut o = i.clone();
        o.pixels_mut()
            .for_each(|p| p.0 = p.0.map(|v| (f32::from(v) * 0.8 + 30.0) as u8));
        jpeg(&o, 90)
    }),
    ("noise ±8, jpeg q85", |i| {
        let mut o = i.clone();
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        o.pixels_mut().for_each(|p| {
            p.0 = p.0.map(|v| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (i32::from(v) + (s % 17) as i32 - 8).clamp(0, 255) as u8
            })
        });
        jpeg(&o, 85)
    }),
    ("mirrored, jpeg q90", |i| {
        jpeg(&image::imageops::flip_horizontal(i), 90)
    }),
];

fn scaled(img: &RgbImage, num: u32, den: u32) -> RgbImage {
    let (w, h) = (img.width() * num / den, img.height() * num / den);
    let filter = image::imageops::FilterType::CatmullRom;
    jpeg(&image::imageops::resize(img, w, h, filter), 85)
}

fn jpeg(img: &RgbImage, quality: u8) -> RgbImage {
    let mut buf = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality);
    img.write_with_encoder(enc).expect("encoding to memory");
    image::load_from_memory(&buf)
        .expect("decoding our own JPEG")
        .to_rgb8()
}

fn png(img: &RgbImage) -> Vec<u8> {
    let mut buf = Cursor::new(Vec::new());
    img.write_to(&mut buf, ImageFormat::Png)
        .expect("encoding to memory");
    buf.into_inner()
}

/// A frame's print and its mirror's.
struct Print {
    cells: Vec<f32>,
    mirrored: Vec<f32>,
}

impl Print {
    fn of(pixels: &[f32]) -> Self {
        Self {
            cells: cells(pixels, false),
            mirrored: cells(pixels, true),
        }
    }

    /// What a guard holding `self` would see of `new`: the nearer of it and its mirror.
    fn distance(&self, new: &Print) -> f32 {
        let d = |a: &[f32], b: &[f32]| 1.0 - a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        d(&self.cells, &new.cells).min(d(&self.cells, &new.mirrored))
    }
}

/// Cell means, mean removed, unit length.
fn cells(pixels: &[f32], mirror: bool) -> Vec<f32> {
    let (cols, rows) = (PATCH_WIDTH / CELL, PATCH_HEIGHT / CELL);
    let mut out = vec![0f32; cols * rows];
    for (i, p) in pixels.iter().enumerate() {
        let (x, y) = (i % PATCH_WIDTH, i / PATCH_WIDTH);
        let x = if mirror { PATCH_WIDTH - 1 - x } else { x };
        if x / CELL < cols && y / CELL < rows {
            out[(y / CELL) * cols + x / CELL] += p;
        }
    }
    let mean = out.iter().sum::<f32>() / out.len() as f32;
    out.iter_mut().for_each(|v| *v -= mean);
    let norm = out.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
    out.iter_mut().for_each(|v| *v /= norm);
    out
}

/// The main face's print and descriptor, if the image has one.
fn face(analyzer: &dyn FaceAnalyzer, bytes: &[u8]) -> Result<Option<(Print, Descriptor)>> {
    let a = analyzer
        .analyze(bytes, DetectorKind::Hog)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(LivenessPolicy::default()
        .main_face(&a.faces)
        .and_then(|f| Some((Print::of(f.patch.as_ref()?.pixels()), f.descriptor.clone()))))
}

struct Clip {
    name: String,
    /// Frame index, print, descriptor.
    frames: Vec<(usize, Print, Descriptor)>,
    replays: Vec<(&'static str, Quantiles)>,
}

pub fn run(analyzer: &dyn FaceAnalyzer, dir: &Path) -> Result<PrintReport> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("frames").is_dir())
        .collect();
    dirs.sort();
    let clips = dirs
        .iter()
        .map(|d| read_clip(analyzer, d))
        .collect::<Result<Vec<_>>>()?;
    let mut across = vec![];
    for (i, a) in clips.iter().enumerate() {
        for b in &clips[i + 1..] {
            let mut desc = vec![];
            let mut prints = vec![];
            for (_, pa, da) in &a.frames {
                for (_, pb, db) in &b.frames {
                    desc.push(da.distance(db));
                    prints.push(pa.distance(pb));
                }
            }
            across.push(AcrossClips {
                clips: [a.name.clone(), b.name.clone()],
                descriptor_median: Quantiles::of(desc).median,
                prints: Quantiles::of(prints),
            });
        }
    }
    let clips = clips
        .into_iter()
        .map(|c| {
            let mut same = vec![];
            for (k, (i, p, _)) in c.frames.iter().enumerate() {
                for (j, q, _) in &c.frames[k + 1..] {
                    if j - i >= MIN_GAP {
                        same.push(p.distance(q));
                    }
                }
            }
            ClipPrints {
                clip: c.name,
                frames: c.frames.len(),
                same_session: Quantiles::of(same),
                replays: c.replays,
            }
        })
        .collect();
    Ok(PrintReport { clips, across })
}

fn read_clip(analyzer: &dyn FaceAnalyzer, dir: &Path) -> Result<Clip> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("frames"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut frames = vec![];
    let mut replays: Vec<Vec<f32>> = vec![vec![]; TRANSFORMS.len()];
    for (i, f) in files.iter().enumerate().step_by(STRIDE) {
        let bytes = std::fs::read(f)?;
        let Some((print, descriptor)) = face(analyzer, &bytes)? else {
            continue;
        };
        if i % REPLAY_STRIDE == 0 {
            let img = image::load_from_memory(&bytes)?.to_rgb8();
            for (k, (_, t)) in TRANSFORMS.iter().enumerate() {
                if let Some((q, _)) = face(analyzer, &png(&t(&img)))? {
                    replays[k].push(print.distance(&q));
                }
            }
        }
        frames.push((i, print, descriptor));
    }
    Ok(Clip {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        frames,
        replays: TRANSFORMS
            .iter()
            .zip(replays)
            .map(|((name, _), d)| (*name, Quantiles::of(d)))
            .collect(),
    })
}
