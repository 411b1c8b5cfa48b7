//! Seeded byte mutations of valid inputs, shared by the property tests that stand in for
//! the cargo-fuzz targets in every test run (image decoding, HTTP bodies, enroll events,
//! model files). Edits stay close to real inputs — overwrite a byte, flip a bit, insert,
//! delete, copy a run elsewhere, truncate — which reaches much deeper into a parser than
//! random bytes do.
//!
//! ```
//! use faceid_mutate::Mutations;
//! use proptest::prelude::*;
//!
//! let json = Mutations::new().favouring(b"{}[]\":,");
//! proptest!(|(edits in json.edits(1..8))| {
//!     let _mutated: Vec<u8> = json.apply(br#"{"a": [1, 2]}"#, &edits);
//! });
//! ```

use proptest::prelude::*;
use proptest::sample::Index;
use std::ops::Range;

/// Where an edit applies: a position in the whole input, or (`head`) in its first
/// [`Mutations::head`] bytes.
#[derive(Debug, Clone)]
pub struct Pos {
    head: bool,
    at: Index,
}

/// One edit of an input.
#[derive(Debug, Clone)]
pub enum Edit {
    Set(Pos, u8),
    /// Flips bit `n` (0..8) of a byte.
    Flip(Pos, u8),
    Insert(Pos, u8),
    Delete(Pos),
    /// Copies a run of up to `n` bytes from the first position to the second (duplicates
    /// keys, brackets, base64 runs, length fields).
    Splice(Pos, Pos, u8),
    Truncate(Pos),
}

/// How edits are drawn. The default draws any byte at any position.
#[derive(Debug, Clone, Default)]
pub struct Mutations {
    favoured: Vec<u8>,
    head: usize,
}

impl Mutations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Half of the written bytes come from `bytes` (e.g. the bytes that matter to JSON),
    /// more often than chance would pick them.
    pub fn favouring(mut self, bytes: &[u8]) -> Self {
        self.favoured = bytes.to_vec();
        self
    }

    /// Half of the positions fall in the first `n` bytes: a binary file's header and
    /// counts are where an edit changes the parse, not deep inside its float data.
    pub fn head(mut self, n: usize) -> Self {
        self.head = n;
        self
    }

    fn byte(&self) -> BoxedStrategy<u8> {
        if self.favoured.is_empty() {
            any::<u8>().boxed()
        } else {
            prop_oneof![any::<u8>(), proptest::sample::select(self.favoured.clone())].boxed()
        }
    }

    fn pos(&self) -> BoxedStrategy<Pos> {
        let head = if self.head == 0 {
            Just(false).boxed()
        } else {
            any::<bool>().boxed()
        };
        (head, any::<Index>())
            .prop_map(|(head, at)| Pos { head, at })
            .boxed()
    }

    /// One edit.
    pub fn edit(&self) -> impl Strategy<Value = Edit> {
        let (pos, byte) = (self.pos(), self.byte());
        prop_oneof![
            (pos.clone(), byte.clone()).prop_map(|(p, b)| Edit::Set(p, b)),
            (pos.clone(), 0u8..8).prop_map(|(p, n)| Edit::Flip(p, n)),
            (pos.clone(), byte).prop_map(|(p, b)| Edit::Insert(p, b)),
            pos.clone().prop_map(Edit::Delete),
            (pos.clone(), pos.clone(), 1u8..64).prop_map(|(a, b, n)| Edit::Splice(a, b, n)),
            pos.prop_map(Edit::Truncate),
        ]
    }

    /// A list of `count` edits.
    pub fn edits(&self, count: Range<usize>) -> impl Strategy<Value = Vec<Edit>> {
        proptest::collection::vec(self.edit(), count)
    }

    /// `seed` with the edits applied in order. Positions are taken relative to the input's
    /// length at each step, so every edit applies (edits of an empty input that need a
    /// byte are skipped).
    pub fn apply(&self, seed: &[u8], edits: &[Edit]) -> Vec<u8> {
        let mut d = seed.to_vec();
        // An insertion point: 0..=len.
        let gap = |d: &Vec<u8>, p: &Pos| {
            let n = if p.head {
                d.len().min(self.head)
            } else {
                d.len()
            };
            p.at.index(n.max(1)).min(d.len())
        };
        // An existing byte: 0..len (only called when d is not empty).
        let byte_at = |d: &Vec<u8>, p: &Pos| gap(d, p).min(d.len() - 1);
        for e in edits {
            match e {
                Edit::Set(p, b) if !d.is_empty() => {
                    let i = byte_at(&d, p);
                    d[i] = *b;
                }
                Edit::Flip(p, bit) if !d.is_empty() => {
                    let i = byte_at(&d, p);
                    d[i] ^= 1 << (bit % 8);
                }
                Edit::Insert(p, b) => {
                    let i = gap(&d, p);
                    d.insert(i, *b);
                }
                Edit::Delete(p) if !d.is_empty() => {
                    let i = byte_at(&d, p);
                    d.remove(i);
                }
                Edit::Splice(from, to, n) => {
                    let a = gap(&d, from);
                    let run = d[a..(a + usize::from(*n)).min(d.len())].to_vec();
                    let b = gap(&d, to);
                    d.splice(b..b, run);
                }
                Edit::Truncate(p) => {
                    let i = gap(&d, p);
                    d.truncate(i);
                }
                _ => {}
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngSeed, TestRunner};

    fn runner() -> TestRunner {
        TestRunner::new(Config {
            cases: 500,
            failure_persistence: None,
            rng_seed: RngSeed::Fixed(7),
            ..Config::default()
        })
    }

    #[test]
    fn edits_apply_to_any_input_including_empty_ones() {
        let m = Mutations::new().head(4);
        for seed in [&b""[..], b"x", b"0123456789abcdef"] {
            runner()
                .run(&m.edits(1..12), |edits| {
                    let out = m.apply(seed, &edits);
                    // Each edit grows the input by at most 64 bytes.
                    prop_assert!(out.len() <= seed.len() + 64 * edits.len());
                    Ok(())
                })
                .unwrap();
        }
    }

    #[test]
    fn head_positions_stay_in_the_head() {
        let m = Mutations::new().head(4);
        let seed = vec![0u8; 1000];
        let edit = Edit::Set(
            Pos {
                head: true,
                at: any::<Index>().new_tree(&mut runner()).unwrap().current(),
            },
            1,
        );
        let out = m.apply(&seed, &[edit]);
        let changed: Vec<usize> = (0..out.len()).filter(|&i| out[i] != 0).collect();
        assert_eq!(changed.len(), 1);
        assert!(changed[0] < 4, "{changed:?}");
    }

    #[test]
    fn favoured_bytes_are_drawn_about_half_of_the_time() {
        let m = Mutations::new().favouring(b"{");
        let mut r = runner();
        let (mut set, mut braces) = (0, 0);
        for _ in 0..2000 {
            if let Edit::Set(_, b) = m.edit().new_tree(&mut r).unwrap().current() {
                set += 1;
                braces += usize::from(b == b'{');
            }
        }
        // 1/2 from the favoured set plus 1/512 by chance.
        let share = braces as f64 / set as f64;
        assert!((0.4..0.6).contains(&share), "{braces}/{set}");
    }
}
