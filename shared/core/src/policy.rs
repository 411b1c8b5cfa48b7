//! The accept/reject decision: which person a login's frames show, if any.
//!
//! Every number that lets a face in lives here, calibrated to a stated false-accept rate
//! (README, "Decision policy"; `faceid-bench policy` measures them). A login has several
//! live frames; each is compared with the person's enrolled templates (nearest one):
//! - the login's score is the upper median of those per-frame distances (robust to a
//!   blurred or turned frame, and not the lucky minimum an impostor could fish for);
//! - every frame must also lie within [`DecisionPolicy::frame_distance`] of the same
//!   person, so the frames that pass liveness are the claimed person's (identity bound to
//!   liveness: another person's head turns spliced between the victim's photos fail).
//!
//! 1:N (no user id) compares with everyone: the per-login false-accept rate grows with the
//! number of templates, so it uses a stricter distance, needs a margin to the next person,
//! and is refused outright above [`DecisionPolicy::max_identify_templates`].

use crate::domain::{Descriptor, UserId};
use crate::matching::Gallery;
use serde::Serialize;

/// The thresholds. `Default` is the shipped policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecisionPolicy {
    /// 1:1: largest accepted login score (upper median over frames of the distance to the
    /// person's nearest template).
    pub verify_distance: f32,
    /// 1:1 and 1:N: largest distance of any single frame to the person's nearest template.
    pub frame_distance: f32,
    /// 1:N: largest accepted login score.
    pub identify_distance: f32,
    /// 1:N: the next person's score must be at least this much larger than the best one's.
    pub identify_margin: f32,
    /// 1:N is refused (`identification_unavailable`) when more templates are enrolled
    /// (people × their photos): each is a chance for a stranger to match.
    pub max_identify_templates: usize,
    /// Enrolment refuses more templates per person: each one is another chance for a
    /// stranger to fall within the threshold (per-login FAR ≈ templates × pair FAR).
    pub max_templates_per_user: usize,
}

impl Default for DecisionPolicy {
    fn default() -> Self {
        CALIBRATED
    }
}

/// The shipped thresholds (see the module docs and README, "Decision policy").
/// Calibrated on half of the stranger fixture (`faceid-bench policy`; README, "Decision
/// policy"): per-attempt 1:1 FAR ≤ 1e-4 with the most templates a person may enrol, and
/// per-login 1:N FAR ≤ 1e-4 at the largest gallery 1:N runs on (95 % upper bounds).
pub const CALIBRATED: DecisionPolicy = DecisionPolicy {
    // Pair FAR ≤ 2.3e-5 (95 % bound); × 4 templates = 9.0e-5 per attempt.
    verify_distance: 0.38,
    // Pair FAR 2 %: a frame of a random other person fails the binding 98 % of the time,
    // while a genuine turned face (whose descriptor drifts) still passes.
    frame_distance: 0.55,
    // Pair FAR ≤ 4.2e-6 (95 % bound); × 20 templates = 8.4e-5 per login.
    identify_distance: 0.34,
    identify_margin: 0.05,
    max_identify_templates: 20,
    max_templates_per_user: 4,
};

/// Why a login's faces were not accepted (the response's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// No enrolled person is close enough.
    NoMatch,
    /// The login's score matches, but some frame shows someone else.
    FrameMismatch,
    /// 1:N: two people are about equally close.
    Ambiguous,
    /// 1:N: too many people enrolled for identification at the stated FAR.
    IdentificationUnavailable,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::NoMatch => "no_match",
            Self::FrameMismatch => "frame_mismatch",
            Self::Ambiguous => "ambiguous",
            Self::IdentificationUnavailable => "identification_unavailable",
        }
    }
    pub fn message(self) -> &'static str {
        match self {
            Self::NoMatch | Self::FrameMismatch => "Face not recognized.",
            Self::Ambiguous => "Face not recognized with certainty; enter your user id.",
            Self::IdentificationUnavailable => {
                "Login without a user id is not available here; enter your user id."
            }
        }
    }
}

/// How one person's templates compare with a login's frames.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// Upper median over frames of the distance to the nearest template.
    pub median: f32,
    /// Largest of the per-frame distances.
    pub worst: f32,
}

impl Score {
    /// `per_frame`: each frame's distance to the person's nearest template (not empty).
    pub fn of(per_frame: &[f32]) -> Option<Self> {
        let mut d = per_frame.to_vec();
        d.sort_by(f32::total_cmp);
        Some(Score {
            median: *d.get(d.len() / 2)?,
            worst: *d.last()?,
        })
    }
}

/// The decision, with the figures for the audit log (never for the client).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub user_id: Option<UserId>,
    pub score: Option<Score>,
    /// 1:N: the next person's median score.
    pub runner_up: Option<f32>,
    pub refusal: Option<Refusal>,
}

impl DecisionPolicy {
    /// Whether 1:N may run on a gallery of `templates` (checked before any face work).
    pub fn identification_allowed(&self, templates: usize) -> bool {
        templates <= self.max_identify_templates
    }

    /// 1:1: do the frames show `user`?
    pub fn verify(&self, gallery: &Gallery, user: &UserId, frames: &[Descriptor]) -> Decision {
        let score = gallery.score_of(user, frames);
        let refusal = match &score {
            None => Some(Refusal::NoMatch),
            Some(s) if s.median > self.verify_distance => Some(Refusal::NoMatch),
            Some(s) if s.worst > self.frame_distance => Some(Refusal::FrameMismatch),
            Some(_) => None,
        };
        Decision {
            user_id: Some(user.clone()),
            score,
            runner_up: None,
            refusal,
        }
    }

    /// 1:N: which enrolled person, if any, do the frames show?
    pub fn identify(&self, gallery: &Gallery, frames: &[Descriptor]) -> Decision {
        if !self.identification_allowed(gallery.len()) {
            return Decision {
                user_id: None,
                score: None,
                runner_up: None,
                refusal: Some(Refusal::IdentificationUnavailable),
            };
        }
        let mut scores = gallery.scores(frames);
        scores.sort_by(|a, b| a.1.median.total_cmp(&b.1.median));
        let mut ranked = scores.into_iter();
        let Some((user, score)) = ranked.next() else {
            return Decision {
                user_id: None,
                score: None,
                runner_up: None,
                refusal: Some(Refusal::NoMatch),
            };
        };
        let runner_up = ranked.next().map(|(_, s)| s.median);
        let refusal = if score.median > self.identify_distance {
            Some(Refusal::NoMatch)
        } else if score.worst > self.frame_distance {
            Some(Refusal::FrameMismatch)
        } else if runner_up.is_some_and(|r| r - score.median < self.identify_margin) {
            Some(Refusal::Ambiguous)
        } else {
            None
        };
        Decision {
            // The nearest person is named even on refusal: lockout charges them.
            user_id: Some(user),
            score: Some(score),
            runner_up,
            refusal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FaceId;

    fn unit(axis: usize, scale: f32) -> Descriptor {
        let mut d = [0.0; crate::DESCRIPTOR_LEN];
        d[axis] = scale;
        Descriptor(d)
    }
    fn user(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }
    /// A point at distance `r` from `unit(axis, 1.0)` along another axis.
    fn near(axis: usize, r: f32) -> Descriptor {
        let mut d = unit(axis, 1.0);
        d.0[(axis + 64) % crate::DESCRIPTOR_LEN] = r;
        d
    }

    fn gallery() -> Gallery {
        let mut g = Gallery::new();
        g.push(user("alice"), FaceId::random(), &unit(0, 1.0));
        g.push(user("alice"), FaceId::random(), &unit(1, 1.0));
        g.push(user("bob"), FaceId::random(), &unit(2, 1.0));
        g
    }

    #[test]
    fn median_is_the_upper_middle_and_worst_the_largest() {
        let s = Score::of(&[0.5, 0.1, 0.3, 0.2]).unwrap();
        assert_eq!((s.median, s.worst), (0.3, 0.5));
        assert_eq!(Score::of(&[]), None);
    }

    #[test]
    fn verify_uses_the_nearest_template_per_frame() {
        let p = CALIBRATED;
        let frames = [near(0, 0.2), near(1, 0.3), near(0, 0.25)];
        let d = p.verify(&gallery(), &user("alice"), &frames);
        assert_eq!(d.refusal, None);
        assert_eq!(d.score.unwrap().median, 0.25);
        // The same frames claimed for bob: far from his template.
        let d = p.verify(&gallery(), &user("bob"), &frames);
        assert_eq!(d.refusal, Some(Refusal::NoMatch));
        // Unknown user: no templates, no match.
        let d = p.verify(&gallery(), &user("carol"), &frames);
        assert_eq!(d.refusal, Some(Refusal::NoMatch));
    }

    #[test]
    fn one_frame_of_someone_else_refuses_a_matching_login() {
        let p = CALIBRATED;
        let frames = [near(0, 0.1), near(0, 0.1), near(0, 0.1), near(2, 0.1)];
        let d = p.verify(&gallery(), &user("alice"), &frames);
        assert_eq!(d.refusal, Some(Refusal::FrameMismatch));
    }

    #[test]
    fn identify_names_the_nearest_person_only_with_a_margin() {
        let p = CALIBRATED;
        let d = p.identify(&gallery(), &[near(2, 0.1), near(2, 0.2)]);
        assert_eq!((d.user_id.clone(), d.refusal), (Some(user("bob")), None));
        // Two people enrolled with (nearly) the same face: neither is named.
        let mut twins = gallery();
        twins.push(user("carol"), FaceId::random(), &near(2, 0.01));
        let d = p.identify(&twins, &[near(2, 0.1)]);
        assert_eq!(d.refusal, Some(Refusal::Ambiguous));
        // Looser than the 1:N distance but within the 1:1 one: refused by 1:N.
        let d = p.identify(&gallery(), &[near(2, 0.36)]);
        assert_eq!(d.refusal, Some(Refusal::NoMatch));
        assert_eq!(
            p.verify(&gallery(), &user("bob"), &[near(2, 0.36)]).refusal,
            None
        );
    }

    #[test]
    fn identify_is_refused_above_the_gallery_limit() {
        let p = DecisionPolicy {
            max_identify_templates: 2,
            ..CALIBRATED
        };
        let d = p.identify(&gallery(), &[near(2, 0.1)]);
        assert_eq!(d.refusal, Some(Refusal::IdentificationUnavailable));
        assert_eq!(d.user_id, None);
    }
}
