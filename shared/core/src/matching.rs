//! Matching probes against enrolled templates: 1:1 (one user's faces) and 1:N (everyone).

use crate::domain::{squared_distance, Descriptor, FaceId, UserId, DESCRIPTOR_LEN};
use crate::policy::Score;
use serde::Serialize;
use std::collections::HashMap;

/// The best template found for a probe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    pub user_id: UserId,
    #[serde(skip)]
    pub face_id: FaceId,
    pub distance: f32,
}

/// All templates as one contiguous row-major `f32` matrix, so a 1:N search is a single
/// linear scan that the compiler vectorises. Exact: same answer as a naive loop.
#[derive(Debug, Clone, Default)]
pub struct Gallery {
    rows: Vec<[f32; DESCRIPTOR_LEN]>,
    owners: Vec<(UserId, FaceId)>,
    /// `row_user[i]` indexes `users`: the person of row `i`.
    row_user: Vec<usize>,
    users: Vec<UserId>,
    user_index: HashMap<UserId, usize>,
}

impl Gallery {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with_capacity(n: usize) -> Self {
        Self {
            rows: Vec::with_capacity(n),
            owners: Vec::with_capacity(n),
            row_user: Vec::with_capacity(n),
            ..Self::default()
        }
    }
    pub fn push(&mut self, user: UserId, face: FaceId, d: &Descriptor) {
        let next = self.users.len();
        let u = *self.user_index.entry(user.clone()).or_insert(next);
        if u == next {
            self.users.push(user.clone());
        }
        self.rows.push(d.0);
        self.owners.push((user, face));
        self.row_user.push(u);
    }
    /// How many different people are enrolled.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Each person's [`Score`] for a login's frames (no frames: empty).
    pub fn scores(&self, frames: &[Descriptor]) -> Vec<(UserId, Score)> {
        // nearest[u][f]: squared distance of frame f to person u's nearest template.
        let mut nearest = vec![vec![f32::MAX; frames.len()]; self.users.len()];
        for (row, &u) in self.rows.iter().zip(&self.row_user) {
            for (best, frame) in nearest[u].iter_mut().zip(frames) {
                *best = best.min(squared_distance(row, &frame.0));
            }
        }
        self.users
            .iter()
            .zip(nearest)
            .filter_map(|(user, d)| {
                let d: Vec<f32> = d.into_iter().map(f32::sqrt).collect();
                Score::of(&d).map(|s| (user.clone(), s))
            })
            .collect()
    }

    /// One person's [`Score`]; `None` if they have no templates or there are no frames.
    pub fn score_of(&self, user: &UserId, frames: &[Descriptor]) -> Option<Score> {
        let u = *self.user_index.get(user)?;
        let per_frame: Vec<f32> = frames
            .iter()
            .map(|f| {
                self.rows
                    .iter()
                    .zip(&self.row_user)
                    .filter(|(_, &owner)| owner == u)
                    .map(|(row, _)| squared_distance(row, &f.0))
                    .fold(f32::MAX, f32::min)
                    .sqrt()
            })
            .collect();
        Score::of(&per_frame)
    }
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The nearest template to `probe` over the whole gallery (ties: the first enrolled).
    pub fn nearest(&self, probe: &Descriptor) -> Option<Match> {
        let mut best: Option<(usize, f32)> = None;
        for (i, row) in self.rows.iter().enumerate() {
            let d = squared_distance(row, &probe.0);
            if best.is_none_or(|(_, b)| d < b) {
                best = Some((i, d));
            }
        }
        best.map(|(i, d)| Match {
            user_id: self.owners[i].0.clone(),
            face_id: self.owners[i].1,
            distance: d.sqrt(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn desc(seed: u64) -> Descriptor {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Descriptor(std::array::from_fn(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        }))
    }

    proptest! {
        #[test]
        fn nearest_equals_naive_search(n in 1usize..300, probe_seed in any::<u64>()) {
            let mut g = Gallery::new();
            let users: Vec<UserId> = (0..n).map(|i| UserId::parse(&format!("u{}", i % 37)).unwrap()).collect();
            let descs: Vec<Descriptor> = (0..n).map(|i| desc(i as u64)).collect();
            for (u, d) in users.iter().zip(&descs) {
                g.push(u.clone(), FaceId::random(), d);
            }
            let probe = desc(probe_seed);
            let naive = descs.iter().enumerate()
                .map(|(i, d)| (i, d.distance(&probe)))
                .fold((0, f32::MAX), |b, c| if c.1 < b.1 { c } else { b });
            let m = g.nearest(&probe).unwrap();
            prop_assert_eq!(&m.user_id, &users[naive.0]);
            prop_assert!((m.distance - naive.1).abs() < 1e-5);
            let u = &users[0];
            let naive_u = descs.iter().zip(&users).filter(|(_, x)| *x == u)
                .map(|(d, _)| d.distance(&probe)).fold(f32::MAX, f32::min);
            let score_u = g.score_of(u, std::slice::from_ref(&probe)).unwrap();
            prop_assert!((score_u.median - naive_u).abs() < 1e-5);
        }
    }
}
