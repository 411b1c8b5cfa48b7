//! dlib `shape_predictor` files (`dlib/image_processing/shape_predictor.h`), e.g.
//! `shape_predictor_5_face_landmarks.dat`.
//!
//! Layout (dlib `serialize(shape_predictor)`):
//! - `int` version, must be 1;
//! - `matrix<float,0,1>` initial (mean) shape: x0 y0 x1 y1 … in the face box's unit square;
//! - `vector<vector<regression_tree>>` forests, one per cascade; a tree is
//!   `vector<split_feature{ulong idx1, ulong idx2, float thresh}>` then
//!   `vector<matrix<float,0,1>>` leaf values (one shape delta per leaf);
//! - `vector<vector<ulong>>` anchor_idx and `vector<vector<vector<float,2>>>` deltas: per
//!   cascade, each feature pixel as (nearest mean-shape landmark, offset from it).
//!
//! Everything is validated here so the predictor can index without checks failing:
//! split indices are below the cascade's pixel count, anchors below the landmark count,
//! every leaf has the shape's length and every tree has `splits + 1` leaves.

use crate::reader::{Error, Reader, Result};

/// One split node: go left when `pixel[idx1] - pixel[idx2] > thresh`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitFeature {
    pub idx1: u32,
    pub idx2: u32,
    pub thresh: f32,
}

/// A complete binary regression tree stored breadth-first (children of node `i` are
/// `2i+1` and `2i+2`), as dlib does.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionTree {
    pub splits: Vec<SplitFeature>,
    /// `splits.len() + 1` leaves, each `shape_len` floats, leaf after leaf.
    pub leaf_values: Vec<f32>,
}

impl RegressionTree {
    pub fn num_leaves(&self) -> usize {
        self.splits.len() + 1
    }
}

/// One cascade level: its trees and the feature pixels they read.
#[derive(Debug, Clone, PartialEq)]
pub struct Cascade {
    pub trees: Vec<RegressionTree>,
    /// For each feature pixel, the landmark it is anchored to.
    pub anchor_idx: Vec<u32>,
    /// For each feature pixel, its offset from that landmark in the mean shape.
    pub deltas: Vec<[f32; 2]>,
}

/// A parsed dlib shape predictor.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapePredictorModel {
    /// `2 * num_parts` floats: x0, y0, x1, y1, …
    pub initial_shape: Vec<f32>,
    pub cascades: Vec<Cascade>,
}

impl ShapePredictorModel {
    pub fn num_parts(&self) -> usize {
        self.initial_shape.len() / 2
    }
}

/// Upper bounds far above any real model, so a corrupt file fails fast instead of
/// allocating (the byte-count checks of `Reader::len` bound the rest).
const MAX_PARTS: usize = 1 << 12;
const MAX_TREE_DEPTH_SPLITS: usize = (1 << 16) - 1;

/// Parses a whole shape predictor file.
pub fn parse_shape_predictor(data: &[u8]) -> Result<ShapePredictorModel> {
    let mut r = Reader::new(data);
    let offset = r.offset();
    let version = r.int()?;
    if version != 1 {
        return Err(Error::Unexpected {
            offset,
            what: format!("shape_predictor version {version}, expected 1"),
        });
    }
    let initial_shape = float_column(&mut r, "initial_shape")?;
    if initial_shape.is_empty()
        || initial_shape.len() % 2 != 0
        || initial_shape.len() > 2 * MAX_PARTS
    {
        return Err(r.unexpected(format!(
            "initial_shape has {} values, expected a positive even count",
            initial_shape.len()
        )));
    }
    let shape_len = initial_shape.len();
    let num_parts = shape_len / 2;

    // A tree takes at least two counts (2 bytes each) and one leaf.
    let num_cascades = r.len(4)?;
    let mut forests = Vec::with_capacity(num_cascades);
    for _ in 0..num_cascades {
        let num_trees = r.len(4)?;
        let mut trees = Vec::with_capacity(num_trees);
        for _ in 0..num_trees {
            trees.push(regression_tree(&mut r, shape_len)?);
        }
        forests.push(trees);
    }

    let n = r.len(2)?;
    if n != num_cascades {
        return Err(r.unexpected(format!("{n} anchor_idx lists for {num_cascades} cascades")));
    }
    let mut anchors = Vec::with_capacity(n);
    for _ in 0..n {
        let count = r.len(2)?;
        let mut list = Vec::with_capacity(count);
        for _ in 0..count {
            let offset = r.offset();
            let a: u32 = r.int_as("anchor index")?;
            if a as usize >= num_parts {
                return Err(Error::Unexpected {
                    offset,
                    what: format!("anchor index {a} >= {num_parts} parts"),
                });
            }
            list.push(a);
        }
        anchors.push(list);
    }

    let n = r.len(2)?;
    if n != num_cascades {
        return Err(r.unexpected(format!("{n} delta lists for {num_cascades} cascades")));
    }
    let mut cascades = Vec::with_capacity(n);
    for (trees, anchor_idx) in forests.into_iter().zip(anchors) {
        // Each delta is two floats of at least 4 bytes.
        let count = r.len(8)?;
        if count != anchor_idx.len() {
            return Err(r.unexpected(format!("{count} deltas for {} anchors", anchor_idx.len())));
        }
        let mut deltas = Vec::with_capacity(count);
        for _ in 0..count {
            deltas.push([r.f32()?, r.f32()?]);
        }
        for tree in &trees {
            for s in &tree.splits {
                if s.idx1 as usize >= count || s.idx2 as usize >= count {
                    return Err(r.unexpected(format!(
                        "split reads feature pixel {}/{} of {count}",
                        s.idx1, s.idx2
                    )));
                }
            }
        }
        cascades.push(Cascade {
            trees,
            anchor_idx,
            deltas,
        });
    }
    Ok(ShapePredictorModel {
        initial_shape,
        cascades,
    })
}

fn regression_tree(r: &mut Reader<'_>, shape_len: usize) -> Result<RegressionTree> {
    // A split is three compact numbers and a float: at least 2 + 2 + 4 bytes.
    let num_splits = r.len(8)?;
    if num_splits > MAX_TREE_DEPTH_SPLITS {
        return Err(r.unexpected(format!("tree with {num_splits} splits")));
    }
    let mut splits = Vec::with_capacity(num_splits);
    for _ in 0..num_splits {
        splits.push(SplitFeature {
            idx1: r.int_as("split idx1")?,
            idx2: r.int_as("split idx2")?,
            thresh: r.f32()?,
        });
    }
    let num_leaves = r.len(4)?;
    if num_leaves != num_splits + 1 {
        return Err(r.unexpected(format!(
            "tree with {num_splits} splits has {num_leaves} leaves"
        )));
    }
    let mut leaf_values = Vec::with_capacity(num_leaves * shape_len);
    for _ in 0..num_leaves {
        let leaf = float_column(r, "leaf value")?;
        if leaf.len() != shape_len {
            return Err(r.unexpected(format!(
                "leaf of {} values for a shape of {shape_len}",
                leaf.len()
            )));
        }
        leaf_values.extend_from_slice(&leaf);
    }
    Ok(RegressionTree {
        splits,
        leaf_values,
    })
}

/// A `matrix<float,0,1>`.
fn float_column(r: &mut Reader<'_>, what: &str) -> Result<Vec<f32>> {
    let offset = r.offset();
    let (rows, cols, values) = r.matrix()?;
    if cols != 1 && !(rows == 0 && cols == 0) {
        return Err(Error::Unexpected {
            offset,
            what: format!("{what}: {rows}x{cols} matrix, expected a column"),
        });
    }
    Ok(values.into_iter().map(|v| v as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compact-int encoding of a small non-negative/negative integer.
    fn int(v: i64) -> Vec<u8> {
        let mag = v.unsigned_abs();
        let mut bytes: Vec<u8> = mag.to_le_bytes().to_vec();
        while bytes.len() > 1 && *bytes.last().unwrap() == 0 {
            bytes.pop();
        }
        let mut out = vec![bytes.len() as u8 | if v < 0 { 0x80 } else { 0 }];
        out.extend(bytes);
        out
    }
    /// A float k/2 as mantissa k, exponent -1.
    fn half(k: i64) -> Vec<u8> {
        let mut out = int(k);
        out.extend(int(-1));
        out
    }

    /// A 1-cascade, 1-tree (1 split) predictor with 1 part and 2 feature pixels.
    fn tiny(split_idx2: i64, leaves: usize) -> Vec<u8> {
        let mut d = int(1);
        d.extend(int(-2));
        d.extend(int(-1));
        d.extend(half(1));
        d.extend(half(1)); // initial shape (0.5, 0.5)
        d.extend(int(1)); // cascades
        d.extend(int(1)); // trees
        d.extend(int(1)); // splits
        d.extend(int(0));
        d.extend(int(split_idx2));
        d.extend(half(3));
        d.extend(int(leaves as i64));
        for k in 0..leaves {
            d.extend(int(-2));
            d.extend(int(-1));
            d.extend(half(k as i64));
            d.extend(half(-(k as i64)));
        }
        d.extend(int(1));
        d.extend(int(2));
        d.extend(int(0));
        d.extend(int(0)); // anchors
        d.extend(int(1));
        d.extend(int(2));
        for k in 0..4 {
            d.extend(half(k));
        }
        d
    }

    #[test]
    fn parses_a_tiny_model() {
        let m = parse_shape_predictor(&tiny(1, 2)).unwrap();
        assert_eq!(m.initial_shape, vec![0.5, 0.5]);
        assert_eq!(m.cascades.len(), 1);
        let c = &m.cascades[0];
        assert_eq!(c.trees[0].splits[0].thresh, 1.5);
        assert_eq!(c.trees[0].leaf_values, vec![0.0, 0.0, 0.5, -0.5]);
        assert_eq!(c.deltas, vec![[0.0, 0.5], [1.0, 1.5]]);
    }

    #[test]
    fn rejects_inconsistent_models() {
        assert!(parse_shape_predictor(&tiny(2, 2)).is_err()); // split index out of range
        assert!(parse_shape_predictor(&tiny(1, 3)).is_err()); // wrong leaf count
        let good = tiny(1, 2);
        for cut in 0..good.len() {
            assert!(parse_shape_predictor(&good[..cut]).is_err());
        }
    }
}
