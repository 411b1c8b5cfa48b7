//! Challenge–response liveness: the head must turn (left, right) and nod (up, down) the
//! asked ways, in the asked order.
//!
//! A photo held to the camera (even tilted or bent, or warped in perspective) keeps the
//! nose where it is relative to the eyes; a real head turning does not. This is what the
//! check measures, through the yaw (the nose's offset along the eye line) and the pitch
//! (its drop below the eye line) estimated from the 5 landmarks. It does not stop a
//! replayed video of the right person making the right turns, or a 3-D mask (README).

use crate::capture::CapturePlan;
use crate::domain::Turn;
use crate::face::FaceObservation;
use crate::parallax::Track;
use serde::Serialize;

/// Weight of the eye corners' cue in the pitch measure (see `LivenessPolicy::pitches`).
/// The inner corners stand about 0.2 eye distances in front of the outer ones, the nose's
/// base about 0.33 in front of the eye centres, 0.6 below them: for the same nod the
/// corners move about 0.2·sin φ, the drop's ratio about 0.33·sin φ / 0.6, so 2 weighs them
/// alike. Genuine renders looking down 20–30° (dlib's landmarks follow a rendered nose
/// looking down poorly): nose alone +0.01…+0.09, with the corners +0.09…+0.21; real clips
/// (`faceid-bench footage`, frames looking up or down) move both the same way.
pub const EYE_CORNER_WEIGHT: f64 = 2.0;

/// Thresholds of the liveness decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LivenessPolicy {
    /// How far the yaw (see [`FaceObservation::yaw`]) must move from the sequence's
    /// straight-ahead value (the median over the frames) for a frame to count as turned.
    /// Relative, because people's neutral pose and landmark asymmetry give a frontal face
    /// a yaw of up to ±0.1.
    pub turn_yaw: f64,
    /// How far below the straight-ahead frames' value the pitch (`pitches`: the nose's
    /// drop below the eyes, relative, plus the eye corners' cue) must go for a frame to count as looking up. Genuine renders
    /// (testkit, dlib's landmarks, 6 faces): a nod up of 10° reads −0.10…−0.16, 15°
    /// −0.16…−0.20, 20° −0.22…−0.27. Real webcam clips (`faceid-bench footage`): frames
    /// where the person looked up reach −0.2 and beyond; the straight frames of the
    /// steadiest clip stay above −0.06 (5th percentile, within 13 s windows).
    pub turn_up: f64,
    /// How far above it the pitch must go to count as looking down. Looking down moves
    /// it less than looking up (the cosine takes back part of what the nose's depth adds,
    /// and dlib's landmarks follow a rendered nose looking down poorly): renders 10°
    /// +0.03…+0.08, 15° +0.06…+0.14, 20° +0.09…+0.16, 25° +0.09…+0.21; real clips looking
    /// down reach +0.2. A turn lengthens the nose's drop too on an ideal head (the eye
    /// distance it is measured in foreshortens by cos θ): a frame must clear this plus
    /// that allowance (`sqrt(1 + (yaw / 0.33)²) − 1`) to count as down.
    pub turn_down: f64,
    /// When a frame is past both the yaw and a pitch threshold, it counts as a nod only
    /// if its pitch is this many times further past its threshold (relative) than its yaw:
    /// a turned head's drop moves too (renders: up to 1.9 times as far past the down
    /// threshold as past the yaw one at 36–42°), while a nod barely moves the yaw
    /// (renders: |yaw| ≤ 0.04 up to 30°).
    pub pitch_dominance: f64,
    /// A nod counts only over this many consecutive frames: the page takes 2–3 frames per
    /// step, and the drop drifts more than the yaw between steps (real clips: straight
    /// frames within 13 s of each other differ by more than 0.06 in 8–25 % of frames), so
    /// one frontal frame that drifted does not read as an extra step.
    pub min_pitch_frames: usize,
    /// Frames without a face (a turn too far for the detector) tolerated, as a fraction.
    pub max_faceless_fraction: f64,
    /// A face narrower than this fraction of the largest one in its frame is a bystander
    /// far behind the person (not a second person logging in): ignored. Two faces of
    /// comparable size are refused (`face_count_in_frame`).
    pub bystander_width: f64,
    /// Largest descriptor distance between two straight-ahead frames, and between a
    /// turned frame and the nearest straight-ahead one (see `one_person`).
    pub same_person_distance: f32,
    /// Least slope of the eye-width log ratio ([`FaceObservation::eye_width_log_ratio`])
    /// against the yaw over the turned frames. A head's far eye foreshortens more than its
    /// near one (the outer corners sit behind the inner ones); a flat photo seen at any
    /// angle, rolled or sheared keeps the ratio, so its "turn" has a slope near 0.
    pub min_eye_foreshortening: f64,
    /// Least parallax ([`crate::parallax::residual`], eye distances) between the
    /// straight-ahead frame and the turned ones, median over the turned frames: the motion
    /// no single homography explains. A photo in any pose, rolled, near a wide-angle lens
    /// or warped in 2-D moves as one plane (about 0); a head does not. 0 turns it off.
    /// 0.02: flat prints and 2-D warps measured at most 0.012 (the geometry attack suite),
    /// genuine renders at least 0.039 and real webcam head turns at least 0.038
    /// (`faceid-bench footage`): about twice away from each.
    pub min_parallax: f64,
    /// Least bend along the face's straightest lines ([`crate::ruled::bend`], eye
    /// distances): the parallax along the eye line, fitted with one curvature along lines of
    /// one direction for the whole login, in the direction where that bend is least. A
    /// print bent in any way without stretching (around a cylinder, a tilted or horizontal
    /// axis, folded) is straight along its rulings (about 0); a head is curved along every
    /// direction. 0 turns it off. 0.0047: bent prints (four ways, the geometry attack
    /// suite) measured at most 0.0046 — tracking noise counts as bend —, genuine renders at
    /// least 0.0059, real webcam head turns at least 0.0032 (`faceid-bench footage`: 7 of
    /// 800 logins below 0.0047). Narrow margins on both sides (README, Security).
    pub min_ruled_bend: f64,
    /// Below this landmark motion (pixels, summed over the sequence) the frames are a still image.
    pub min_motion_px: f64,
    pub min_frames: usize,
    pub max_frames: usize,
    /// The screen-light check that binds the frames to the challenge; `None` turns it
    /// off (`FACEID_SCREEN_LIGHT=false`, for cameras that cannot see the screen's light).
    pub screen_light: Option<crate::screen_light::LightPolicy>,
}

impl Default for LivenessPolicy {
    fn default() -> Self {
        Self {
            turn_yaw: 0.10,
            turn_up: 0.10,
            turn_down: 0.08,
            pitch_dominance: 2.0,
            min_pitch_frames: 2,
            max_faceless_fraction: 0.34,
            bystander_width: 0.5,
            same_person_distance: 0.5,
            min_eye_foreshortening: 0.2,
            min_parallax: 0.02,
            min_ruled_bend: 0.0047,
            min_motion_px: 2.0,
            min_frames: 3,
            max_frames: 16,
            screen_light: Some(Default::default()),
        }
    }
}

/// Why a frame sequence is not accepted as live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LivenessFailure {
    TooFewFrames,
    TooManyFrames,
    /// A frame had several faces, or too many frames had none.
    FaceCountInFrame,
    DifferentPeople,
    /// The frames are (nearly) identical: a still image.
    NoMotion,
    /// The face moved but the head never turned as asked (e.g. a photo warped or tilted).
    NoHeadTurn,
    WrongTurnOrder,
    /// The nose moved as asked but the eyes did not foreshorten as a turning head's do:
    /// a flat photo turned, rolled or warped.
    FlatFace,
    /// The face moved as one flat surface (every point by one homography): a photo.
    NoParallax,
    /// The face moved as a sheet bent without stretching (straight along some lines): a
    /// bent print.
    RuledSurface,
}

impl LivenessFailure {
    /// The machine-readable reason (the serde name).
    pub fn code(self) -> &'static str {
        match self {
            Self::TooFewFrames => "too_few_frames",
            Self::TooManyFrames => "too_many_frames",
            Self::FaceCountInFrame => "face_count_in_frame",
            Self::DifferentPeople => "different_people",
            Self::NoMotion => "no_motion",
            Self::NoHeadTurn => "no_head_turn",
            Self::WrongTurnOrder => "wrong_turn_order",
            Self::FlatFace => "flat_face",
            Self::NoParallax => "no_parallax",
            Self::RuledSurface => "ruled_surface",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::TooFewFrames => "Not enough frames were sent for the liveness check.",
            Self::TooManyFrames => "Too many frames were sent.",
            Self::FaceCountInFrame => "Exactly one face must be visible in every frame.",
            Self::DifferentPeople => "The frames show different people.",
            Self::NoMotion => "The face did not move; turn your head as asked.",
            Self::NoHeadTurn => "The head did not turn as asked.",
            Self::WrongTurnOrder => "The head turns did not follow the order asked.",
            Self::FlatFace => "The turn looked like a flat picture, not a head.",
            Self::NoParallax => "The face moved like a flat picture, not a head.",
            Self::RuledSurface => "The face moved like a bent picture, not a head.",
        }
    }
}

/// What the check saw, for the response and the audit log (no biometrics).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LivenessReport {
    pub passed: bool,
    pub frames: usize,
    /// Turns seen, in order, after collapsing repeats.
    pub turns_seen: Vec<Turn>,
    /// Each frame as the check saw it, in the order sent: `null` straight ahead (or no
    /// face), else the turn or nod.
    pub poses: Vec<Option<Turn>>,
    /// Largest and smallest yaw relative to the straight-ahead (median) value.
    pub max_yaw: f64,
    pub min_yaw: f64,
    /// Largest and smallest pitch relative to the straight-ahead frames (negative:
    /// looking up).
    pub max_pitch: f64,
    pub min_pitch: f64,
    /// Slope of the eye-width log ratio against the yaw over the turned frames.
    pub eye_foreshortening: f64,
    /// Median parallax over the turned frames (`None`: not measurable, too few points
    /// tracked).
    pub parallax: Option<f64>,
    /// Bend along the face's straightest lines over the turned frames (`None`: not
    /// measurable, or not reached).
    pub ruled_bend: Option<f64>,
    /// Still frames of the light phase sent before the turn frames (not in `frames` or
    /// `poses`).
    pub phase_frames: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<LivenessFailure>,
}

impl LivenessPolicy {
    /// Checks one face per frame against the asked steps. `frames[i]` are the faces found
    /// in frame `i`.
    pub fn evaluate<F: AsRef<[FaceObservation]>>(
        &self,
        steps: &[Turn],
        frames: &[F],
    ) -> LivenessReport {
        let mut report = LivenessReport {
            passed: false,
            frames: frames.len(),
            turns_seen: vec![],
            poses: vec![],
            max_yaw: 0.0,
            min_yaw: 0.0,
            max_pitch: 0.0,
            min_pitch: 0.0,
            eye_foreshortening: 0.0,
            parallax: None,
            ruled_bend: None,
            phase_frames: 0,
            failure: None,
        };
        let fail = |mut r: LivenessReport, f| {
            r.failure = Some(f);
            r
        };
        if frames.len() < self.min_frames.max(steps.len()) {
            return fail(report, LivenessFailure::TooFewFrames);
        }
        if frames.len() > self.max_frames {
            return fail(report, LivenessFailure::TooManyFrames);
        }
        let mut faces = Vec::with_capacity(frames.len());
        let mut positions = Vec::with_capacity(frames.len());
        for (i, f) in frames.iter().map(AsRef::as_ref).enumerate() {
            match (self.main_face(f), f.is_empty()) {
                (Some(one), _) => {
                    faces.push(one);
                    positions.push(i);
                }
                (None, true) => {}
                (None, false) => return fail(report, LivenessFailure::FaceCountInFrame),
            }
        }
        let faceless = frames.len() - faces.len();
        if faces.len() < self.min_frames.max(steps.len())
            || faceless as f64 > self.max_faceless_fraction * frames.len() as f64
        {
            return fail(report, LivenessFailure::FaceCountInFrame);
        }
        let mut yaws: Vec<f64> = faces.iter().map(|f| f.yaw()).collect();
        let frontal: Vec<f64> = CapturePlan::frontal_positions(steps.len(), frames.len())
            .map(|at| {
                yaws.iter()
                    .zip(&positions)
                    .filter(|(_, i)| at.contains(i))
                    .map(|(y, _)| *y)
                    .collect()
            })
            .unwrap_or_default();
        let straight = self.straight_yaw(&yaws, frontal);
        for y in &mut yaws {
            *y -= straight;
        }
        let pitches = self.pitches(&faces, &yaws);
        let nods = steps.iter().any(|t| t.is_vertical());
        let poses = self.poses(&yaws, &pitches, nods);
        let mut seen = poses.iter();
        report.poses = frames
            .iter()
            .map(|f| match self.main_face(f.as_ref()) {
                Some(_) => seen.next().copied().flatten(),
                None => None,
            })
            .collect();
        if !self.one_person(&faces, &poses) {
            return fail(report, LivenessFailure::DifferentPeople);
        }
        report.max_yaw = yaws.iter().cloned().fold(f64::MIN, f64::max);
        report.min_yaw = yaws.iter().cloned().fold(f64::MAX, f64::min);
        report.max_pitch = pitches.iter().cloned().fold(f64::MIN, f64::max);
        report.min_pitch = pitches.iter().cloned().fold(f64::MAX, f64::min);
        for t in poses.iter().flatten() {
            if report.turns_seen.last() != Some(t) {
                report.turns_seen.push(*t);
            }
        }
        let motion: f64 = faces
            .windows(2)
            .map(|w| {
                w[0].landmarks
                    .iter()
                    .zip(&w[1].landmarks)
                    .map(|(a, b)| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt())
                    .sum::<f64>()
            })
            .sum();
        if report.turns_seen.is_empty() {
            let failure = if motion < self.min_motion_px {
                LivenessFailure::NoMotion
            } else {
                LivenessFailure::NoHeadTurn
            };
            return fail(report, failure);
        }
        if report.turns_seen != steps {
            let all_seen = steps.iter().all(|s| report.turns_seen.contains(s));
            let failure = if all_seen {
                LivenessFailure::WrongTurnOrder
            } else {
                LivenessFailure::NoHeadTurn
            };
            return fail(report, failure);
        }
        report.eye_foreshortening = self.eye_foreshortening(&faces, &yaws);
        if report.eye_foreshortening < self.min_eye_foreshortening {
            return fail(report, LivenessFailure::FlatFace);
        }
        let tracked = self.turned_tracks(&faces, &yaws, &poses);
        report.parallax = Self::parallax(&tracked);
        if self.min_parallax > 0.0 && report.parallax.is_none_or(|p| p < self.min_parallax) {
            return fail(report, LivenessFailure::NoParallax);
        }
        if self.min_ruled_bend > 0.0 {
            report.ruled_bend = Self::ruled_bend(&tracked);
            if report.ruled_bend.is_none_or(|b| b < self.min_ruled_bend) {
                return fail(report, LivenessFailure::RuledSurface);
            }
        }
        report.passed = true;
        report
    }

    /// [`Self::evaluate`] on a login whose first `phase` frames are the light phase's
    /// still frames (the page's countdown, [`crate::capture::CapturePlan`]) and the rest
    /// the steps'. The head turns are judged on the steps' frames alone; the still frames
    /// must show the same person ([`Self::still_frames_fail`]), as every frame must.
    pub fn evaluate_phased<F: AsRef<[FaceObservation]>>(
        &self,
        steps: &[Turn],
        phase: usize,
        frames: &[F],
    ) -> LivenessReport {
        let split = phase.min(frames.len());
        let (still, turns) = frames.split_at(split);
        let mut report = self.evaluate(steps, turns);
        report.phase_frames = still.len();
        if report.failure.is_none() {
            report.failure = if still.len() < phase {
                Some(LivenessFailure::TooFewFrames)
            } else {
                self.still_frames_fail(still, turns, &report.poses)
            };
            report.passed = report.failure.is_none();
        }
        report
    }

    /// Why the still frames do not show the person of the turn frames, if they do not:
    /// several faces of comparable size in one (`FaceCountInFrame`), more of them without
    /// a face than [`Self::max_faceless_fraction`] (likewise), or a face farther than
    /// [`Self::same_person_distance`] from every straight-ahead face of the turns
    /// (`DifferentPeople`): the light phase cannot be another person's, or a photo's lit
    /// in place of the face that turns. `poses`: the turn frames' as `evaluate` read them.
    fn still_frames_fail<F: AsRef<[FaceObservation]>>(
        &self,
        still: &[F],
        turns: &[F],
        poses: &[Option<Turn>],
    ) -> Option<LivenessFailure> {
        let straight: Vec<&FaceObservation> = turns
            .iter()
            .zip(poses)
            .filter(|(_, p)| p.is_none())
            .filter_map(|(f, _)| self.main_face(f.as_ref()))
            .collect();
        let mut faceless = 0;
        for f in still.iter().map(AsRef::as_ref) {
            match (self.main_face(f), f.is_empty()) {
                (Some(one), _) => {
                    let near = |s: &&FaceObservation| {
                        one.descriptor.distance(&s.descriptor) <= self.same_person_distance
                    };
                    if !straight.iter().any(near) {
                        return Some(LivenessFailure::DifferentPeople);
                    }
                }
                (None, true) => faceless += 1,
                (None, false) => return Some(LivenessFailure::FaceCountInFrame),
            }
        }
        (faceless as f64 > self.max_faceless_fraction * still.len() as f64)
            .then_some(LivenessFailure::FaceCountInFrame)
    }

    /// The frames show one person. The straight-ahead frames (comparable poses) must be
    /// linked: each within [`Self::same_person_distance`] of another, all connected to
    /// the first; each turned or nodding frame must be within it of the nearest
    /// straight-ahead one (a nod moves the descriptor as a turn does).
    /// Comparing every frame with the first let one blurred first frame refuse genuine
    /// logins, and a turned face's descriptor drifts from a straight one's (real webcam
    /// clips: up to 11 % of genuine logins refused by the old rule, none by this one).
    /// Another person's frames spliced in still need one of theirs within the bound of
    /// one of the victim's straight frames (stranger pair FAR at 0.5: 0.38 %, README),
    /// besides the decision policy binding every frame to the enrolled templates.
    fn one_person(&self, faces: &[&FaceObservation], poses: &[Option<Turn>]) -> bool {
        let (straight, turned): (Vec<_>, Vec<_>) =
            faces.iter().zip(poses).partition(|(_, p)| p.is_none());
        let near = |a: &FaceObservation, b: &FaceObservation| {
            a.descriptor.distance(&b.descriptor) <= self.same_person_distance
        };
        // Grow the set linked to the first straight frame until it stops growing.
        let mut linked = vec![false; straight.len()];
        let mut frontier: Vec<usize> = (0..straight.len().min(1)).collect();
        while let Some(i) = frontier.pop() {
            linked[i] = true;
            for j in 0..straight.len() {
                if !linked[j] && !frontier.contains(&j) && near(straight[i].0, straight[j].0) {
                    frontier.push(j);
                }
            }
        }
        !straight.is_empty()
            && linked.iter().all(|l| *l)
            && turned
                .iter()
                .all(|(t, _)| straight.iter().any(|(s, _)| near(t, s)))
    }

    /// Least-squares slope (through the origin) of the eye-width log ratio against the
    /// yaw over the turned frames, both relative to the straight-ahead frames.
    fn eye_foreshortening(&self, faces: &[&FaceObservation], yaws: &[f64]) -> f64 {
        let ratios: Vec<f64> = faces.iter().map(|f| f.eye_width_log_ratio()).collect();
        let mut straight: Vec<f64> = ratios
            .iter()
            .zip(yaws)
            .filter(|(_, y)| self.classify(**y).is_none())
            .map(|(r, _)| *r)
            .collect();
        straight.sort_by(f64::total_cmp);
        let Some(&base) = straight.get(straight.len() / 2) else {
            return 0.0;
        };
        let (mut xy, mut xx) = (0.0, 0.0);
        for (r, y) in ratios.iter().zip(yaws) {
            if self.classify(*y).is_some() {
                xy += y * (r - base);
                xx += y * y;
            }
        }
        if xx > 0.0 {
            xy / xx
        } else {
            0.0
        }
    }

    /// Each turned frame's grid, tracked from the straight-ahead frame nearest the middle
    /// (a frame neither turned nor nodding, least yaw), with its yaw: what the parallax
    /// and the ruled-surface checks measure. Empty if there is no such frame or nothing
    /// could be tracked. Nodding frames are not measured: both thresholds are calibrated
    /// on turns (renders, prints, real clips).
    fn turned_tracks(
        &self,
        faces: &[&FaceObservation],
        yaws: &[f64],
        poses: &[Option<Turn>],
    ) -> Vec<(f64, Vec<Track>)> {
        let straight = faces
            .iter()
            .zip(yaws)
            .zip(poses)
            .filter(|(_, p)| p.is_none())
            .map(|(fy, _)| fy)
            .min_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .and_then(|(f, _)| f.patch.as_ref());
        let Some(straight) = straight else {
            return vec![];
        };
        faces
            .iter()
            .zip(yaws)
            .filter(|(_, y)| self.classify(**y).is_some())
            .filter_map(|(f, y)| Some((*y, crate::parallax::tracks(straight, f.patch.as_ref()?)?)))
            .collect()
    }

    /// Median over the turned frames of [`crate::parallax::residual`]; `None` with fewer
    /// than two measured.
    fn parallax(tracked: &[(f64, Vec<Track>)]) -> Option<f64> {
        let mut values: Vec<f64> = tracked
            .iter()
            .filter_map(|(_, t)| crate::parallax::residual(t))
            .collect();
        if values.len() < 2 {
            return None;
        }
        values.sort_by(f64::total_cmp);
        Some(values[values.len() / 2])
    }

    /// [`crate::ruled::bend`] over the turned frames; `None` if not measurable.
    fn ruled_bend(tracked: &[(f64, Vec<Track>)]) -> Option<f64> {
        let frames: Vec<Vec<crate::ruled::Parallax>> = tracked
            .iter()
            .filter_map(|(y, t)| crate::ruled::parallax_of(t, *y))
            .collect();
        crate::ruled::bend(&frames)
    }

    /// The face logging in: the largest of the frame, if every other face is a
    /// bystander (narrower than `bystander_width` of it). `None` without a face, or with
    /// two faces of comparable size.
    pub fn main_face<'a>(&self, faces: &'a [FaceObservation]) -> Option<&'a FaceObservation> {
        let largest = faces.iter().max_by_key(|f| f.area())?;
        let others_far = faces
            .iter()
            .filter(|f| !std::ptr::eq(*f, largest))
            .all(|f| (f.width() as f64) < self.bystander_width * largest.width() as f64);
        others_far.then_some(largest)
    }

    fn classify(&self, yaw: f64) -> Option<Turn> {
        if yaw >= self.turn_yaw {
            Some(Turn::Left)
        } else if yaw <= -self.turn_yaw {
            Some(Turn::Right)
        } else {
            None
        }
    }

    /// The straight-ahead yaw: the median of the frames the page's plan took straight
    /// ahead (`frontal`), when at least two of them show the face. Otherwise the median
    /// over the frames, then the median of the frames within half the turn threshold of
    /// it. The plan's frames first, because the frames alone can mislead: a turn past
    /// what the detector finds loses its frames, and the median of the rest then sits on
    /// the other turn's (right–left–right: six of thirteen frames turned right); and the
    /// plain median leans toward a side the challenge turns to more often (left–right–left:
    /// the straight frame furthest left, so a shallow left turn reads short).
    fn straight_yaw(&self, yaws: &[f64], frontal: Vec<f64>) -> f64 {
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied()
        };
        if frontal.len() >= 2 {
            let mut v = frontal;
            v.sort_by(f64::total_cmp);
            let n = v.len();
            return (v[(n - 1) / 2] + v[n / 2]) / 2.0;
        }
        let Some(first) = median(yaws.to_vec()) else {
            return 0.0;
        };
        let near: Vec<f64> = yaws
            .iter()
            .copied()
            .filter(|y| (y - first).abs() <= self.turn_yaw / 2.0)
            .collect();
        median(near).unwrap_or(first)
    }

    /// Each frame's pitch relative to the straight-ahead frames: the relative change of
    /// the nose's drop below the eyes ([`FaceObservation::nose_drop`]) plus
    /// [`EYE_CORNER_WEIGHT`] times the change of the inner eye corners' drop below the
    /// outer ones ([`FaceObservation::eye_corner_drop`], eye distances): the two things in
    /// front of the eye line that a nod moves up or down. The straight-ahead values are
    /// the medians over the frames not turned past the yaw threshold (a turn moves the
    /// nose's drop too). Negative: looking up.
    fn pitches(&self, faces: &[&FaceObservation], yaws: &[f64]) -> Vec<f64> {
        let level = |measure: fn(&FaceObservation) -> f64| {
            let mut v: Vec<f64> = faces
                .iter()
                .zip(yaws)
                .filter(|(_, y)| self.classify(**y).is_none())
                .map(|(f, _)| measure(f))
                .collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied()
        };
        match (
            level(FaceObservation::nose_drop),
            level(FaceObservation::eye_corner_drop),
        ) {
            (Some(nose), Some(corners)) if nose > 1e-6 => faces
                .iter()
                .map(|f| {
                    f.nose_drop() / nose - 1.0 + EYE_CORNER_WEIGHT * (f.eye_corner_drop() - corners)
                })
                .collect(),
            _ => vec![0.0; faces.len()],
        }
    }

    /// Each frame as straight (`None`), turned left/right or nodding up/down: the dominant
    /// of yaw and pitch (see [`Self::classify_pose`]), a nod counting only over
    /// [`Self::min_pitch_frames`] consecutive frames (a shorter run is straight). Without
    /// `nods` asked, frames are read by their yaw alone, as before nods existed: a head
    /// that drifts up or down while asked only to turn is not refused for it.
    fn poses(&self, yaws: &[f64], pitches: &[f64], nods: bool) -> Vec<Option<Turn>> {
        let mut poses: Vec<Option<Turn>> = yaws
            .iter()
            .zip(pitches)
            .map(|(&y, &p)| match nods {
                true => self.classify_pose(y, p),
                false => self.classify(y),
            })
            .collect();
        let mut start = 0;
        while start < poses.len() {
            let run = poses[start..]
                .iter()
                .take_while(|p| **p == poses[start])
                .count();
            if poses[start].is_some_and(Turn::is_vertical) && run < self.min_pitch_frames {
                poses[start..start + run].fill(None);
            }
            start += run;
        }
        poses
    }

    /// One frame's pose from its yaw and pitch (both relative to the straight-ahead
    /// frames): whichever is past its threshold; when both are, the yaw unless the pitch
    /// is [`Self::pitch_dominance`] times further past its own.
    pub fn classify_pose(&self, yaw: f64, pitch: f64) -> Option<Turn> {
        let sideways = yaw.abs() / self.turn_yaw;
        let (nod, vertical) = if pitch < 0.0 {
            (-pitch / self.turn_up, Turn::Up)
        } else {
            // An ideal head's drop lengthens by 1/cos θ when it turns (the eye distance
            // foreshortens), θ from the yaw through a nose a third of the eye distance in
            // front of the eyes: not a nod.
            let turn = (1.0 + (yaw / 0.33).powi(2)).sqrt() - 1.0;
            ((pitch - turn).max(0.0) / self.turn_down, Turn::Down)
        };
        if nod >= 1.0 && (sideways < 1.0 || nod >= self.pitch_dominance * sideways) {
            Some(vertical)
        } else {
            self.classify(yaw)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::tests::{face, nodded, turned};

    /// The shipped policy without the parallax and ruled-surface checks: these synthetic
    /// faces have landmarks but no pixels (parallax is tested on pixels in `parallax`, the
    /// bend on tracked points in `ruled`).
    fn turn_policy() -> LivenessPolicy {
        LivenessPolicy {
            min_parallax: 0.0,
            min_ruled_bend: 0.0,
            ..LivenessPolicy::default()
        }
    }

    #[test]
    fn an_unmeasurable_parallax_fails_closed() {
        let r = LivenessPolicy::default().evaluate(
            &[Turn::Left, Turn::Right],
            &seq(&[0.0, 0.2, 0.25, 0.0, -0.2, 0.0]),
        );
        assert_eq!(r.failure, Some(LivenessFailure::NoParallax), "{r:?}");
        assert_eq!(r.parallax, None);
    }

    #[test]
    fn an_unmeasurable_ruled_bend_fails_closed() {
        let p = LivenessPolicy {
            min_parallax: 0.0,
            ..LivenessPolicy::default()
        };
        let r = p.evaluate(
            &[Turn::Left, Turn::Right],
            &seq(&[0.0, 0.2, 0.25, 0.0, -0.2, 0.0]),
        );
        assert_eq!(r.failure, Some(LivenessFailure::RuledSurface), "{r:?}");
        assert_eq!(r.ruled_bend, None);
        assert_eq!(LivenessFailure::RuledSurface.code(), "ruled_surface");
    }

    fn seq(yaws: &[f64]) -> Vec<Vec<FaceObservation>> {
        yaws.iter().map(|&y| vec![face(y, 120, 50.0)]).collect()
    }

    #[test]
    fn genuine_turns_in_order_pass() {
        let p = turn_policy();
        let r = p.evaluate(
            &[Turn::Left, Turn::Right],
            &seq(&[0.0, 0.2, 0.25, 0.0, -0.2, 0.0]),
        );
        assert!(r.passed, "{r:?}");
        assert_eq!(r.turns_seen, vec![Turn::Left, Turn::Right]);
    }

    #[test]
    fn turns_are_measured_from_the_straight_ahead_pose() {
        // A person whose frontal yaw reads +0.1: turning right to 0.0 is a right turn.
        let p = turn_policy();
        let r = p.evaluate(
            &[Turn::Left, Turn::Right],
            &seq(&[0.1, 0.25, 0.1, -0.05, 0.1]),
        );
        assert!(r.passed, "{r:?}");
        // One faceless frame (turned too far for the detector) is tolerated.
        let mut frames = seq(&[0.0, 0.2, 0.25, 0.0, -0.2, 0.0]);
        frames[2].clear();
        assert!(p.evaluate(&[Turn::Left, Turn::Right], &frames).passed);
    }

    #[test]
    fn a_turn_without_eye_foreshortening_is_a_flat_picture() {
        let p = turn_policy();
        let lr = [Turn::Left, Turn::Right];
        let yaws = [0.0, 0.2, 0.25, 0.0, -0.2, 0.0];
        let with = |k: f64| -> Vec<Vec<FaceObservation>> {
            yaws.iter()
                .map(|&y| vec![turned(y, k, 120, 50.0)])
                .collect()
        };
        // A sheared or rolled print: the nose moves, the eye widths keep their ratio.
        let r = p.evaluate(&lr, &with(0.0));
        assert_eq!(r.failure, Some(LivenessFailure::FlatFace), "{r:?}");
        assert!(r.eye_foreshortening.abs() < 1e-6);
        // Foreshortening the wrong way round (the near eye narrower) is no head either.
        assert_eq!(
            p.evaluate(&lr, &with(-1.6)).failure,
            Some(LivenessFailure::FlatFace)
        );
        let r = p.evaluate(&lr, &with(1.0));
        assert!(r.passed, "{r:?}");
        assert!((r.eye_foreshortening - 1.0).abs() < 0.05, "{r:?}");
    }

    #[test]
    fn turned_frames_are_compared_with_the_nearest_straight_one() {
        let p = turn_policy();
        let lr = [Turn::Left, Turn::Right];
        // Descriptor coordinate 0 set per frame: distances are differences of it.
        let with = |d: &[f32]| {
            let mut frames = seq(&[0.0, 0.2, 0.0, -0.2, 0.0]);
            for (f, v) in frames.iter_mut().zip(d) {
                f[0].descriptor.0[0] = *v;
            }
            frames
        };
        // The first frame is off (0.4 from the next straight one, 0.8 from the turned
        // ones): each turned frame is near a later straight frame, so one person.
        let r = p.evaluate(&lr, &with(&[-0.4, 0.4, 0.0, 0.4, 0.0]));
        assert!(r.passed, "{r:?}");
        // A turned frame far from every straight one: another person's head turn.
        let r = p.evaluate(&lr, &with(&[0.0, 0.0, 0.0, 0.6, 0.0]));
        assert_eq!(r.failure, Some(LivenessFailure::DifferentPeople));
        // The attacker's own straight frame near their turned ones does not link to the
        // victim's straight frames.
        let r = p.evaluate(&lr, &with(&[0.0, 0.6, 0.6, 0.6, 0.0]));
        assert_eq!(r.failure, Some(LivenessFailure::DifferentPeople));
        // Straight frames linked through a middle one (0.4 + 0.4) are one person.
        let r = p.evaluate(&lr, &with(&[0.0, 0.4, 0.4, 0.4, 0.8]));
        assert!(r.passed, "{r:?}");
    }

    #[test]
    fn the_light_phase_must_show_the_person_who_turns() {
        let p = turn_policy();
        let lr = [Turn::Left, Turn::Right];
        let turns = seq(&[0.0, 0.2, 0.25, 0.0, -0.2, 0.0]);
        // Still frames (descriptor coordinate 0 set per frame), then the turns.
        let login = |still: &[f32]| {
            let mut frames: Vec<Vec<FaceObservation>> = still
                .iter()
                .map(|&d| {
                    let mut f = face(0.0, 120, 50.0);
                    f.descriptor.0[0] = d;
                    vec![f]
                })
                .collect();
            frames.extend(turns.iter().cloned());
            frames
        };
        let r = p.evaluate_phased(&lr, 4, &login(&[0.1, 0.0, 0.2, 0.4]));
        assert!(r.passed, "{r:?}");
        assert_eq!((r.phase_frames, r.frames, r.poses.len()), (4, 6, 6));
        // Another person lit in the phase (0.6 from every straight frame of the turns).
        let r = p.evaluate_phased(&lr, 4, &login(&[0.0, 0.0, 0.6, 0.0]));
        assert_eq!(r.failure, Some(LivenessFailure::DifferentPeople), "{r:?}");
        // Two comparable faces in a still frame; too many without a face.
        let mut two = login(&[0.0; 4]);
        two[1].push(face(0.0, 110, 50.0));
        let r = p.evaluate_phased(&lr, 4, &two);
        assert_eq!(r.failure, Some(LivenessFailure::FaceCountInFrame), "{r:?}");
        let mut empty = login(&[0.0; 4]);
        empty[0].clear();
        empty[3].clear();
        let r = p.evaluate_phased(&lr, 4, &empty);
        assert_eq!(r.failure, Some(LivenessFailure::FaceCountInFrame), "{r:?}");
        // The phase left out: its frames are taken from the turns, which come up short.
        let r = p.evaluate_phased(&lr, 4, &turns);
        assert!(!r.passed, "{r:?}");
        let r = p.evaluate_phased(&lr, 4, &turns[..3]);
        assert_eq!(r.failure, Some(LivenessFailure::TooFewFrames), "{r:?}");
    }

    #[test]
    fn a_small_face_far_behind_is_a_bystander_not_a_second_person() {
        let p = turn_policy();
        let mut frames = seq(&[0.0, 0.2, 0.25, 0.0, -0.2, 0.0]);
        // Someone passing far behind: a third of the person's width, in every frame.
        for f in &mut frames {
            f.push(face(0.0, 40, 50.0));
        }
        let r = p.evaluate(&[Turn::Left, Turn::Right], &frames);
        assert!(r.passed, "{r:?}");
        assert_eq!(p.main_face(&frames[0]).map(|f| f.width()), Some(120));
    }

    /// Frames of (yaw, pitch): pitch is the nose drop's relative change (− up, + down).
    fn poses(p: &[(f64, f64)]) -> Vec<Vec<FaceObservation>> {
        p.iter()
            .map(|&(y, pitch)| vec![nodded(y, pitch, 120, 50.0)])
            .collect()
    }

    const S: (f64, f64) = (0.0, 0.0);
    const L: (f64, f64) = (0.2, 0.0);
    const R: (f64, f64) = (-0.2, 0.0);
    const U: (f64, f64) = (0.0, -0.2);
    const D: (f64, f64) = (0.0, 0.12);

    #[test]
    fn a_side_turned_to_twice_does_not_move_the_straight_reference() {
        // Left–right–left, the page's 13 frames: 6 turned left (2 of them partly), 3
        // right, 4 straight that wander by ±0.02. The plain median is the straight frame
        // furthest left (+0.02), against which the full left turns (0.115) read 0.095,
        // short of the threshold; the plan's frontal frames' middle is 0.005.
        let p = turn_policy();
        let yaws = [
            -0.02, 0.09, 0.115, 0.115, 0.0, -0.07, -0.2, -0.2, 0.01, 0.09, 0.115, 0.115, 0.02,
        ];
        let r = p.evaluate(&[Turn::Left, Turn::Right, Turn::Left], &seq(&yaws));
        assert!(r.passed, "{r:?}");
        assert!((r.max_yaw - 0.11).abs() < 1e-9, "{r:?}");
    }

    #[test]
    fn a_turn_too_far_for_the_detector_does_not_move_the_straight_reference() {
        // Right–left–right, the page's 13 frames; the left turn went past what the
        // detector finds in two of its frames. Of the eleven left, six are turned right,
        // so their median is a right-turned one (-0.18): against it the straight frames
        // read as turned left and the right turns as straight.
        let p = turn_policy();
        let mut frames = seq(&[
            0.0, -0.18, -0.27, -0.24, 0.0, 0.124, 0.3, 0.3, 0.0, -0.18, -0.25, -0.25, -0.01,
        ]);
        frames[6].clear();
        frames[7].clear();
        let rlr = [Turn::Right, Turn::Left, Turn::Right];
        let r = p.evaluate(&rlr, &frames);
        assert!(r.passed, "{r:?}");
        assert_eq!(r.turns_seen, rlr);
    }

    #[test]
    fn a_turn_only_challenge_reads_the_yaw_alone() {
        use Turn::*;
        let p = turn_policy();
        // Looking down between the turns: no step when only turns were asked...
        let frames = poses(&[S, L, L, S, D, D, S, R, R, S, L, L, S]);
        let r = p.evaluate(&[Left, Right, Left], &frames);
        assert!(r.passed, "{r:?}");
        assert_eq!(r.turns_seen, vec![Left, Right, Left]);
        // ...and a step out of order when nods were (the same frames).
        let r = p.evaluate(&[Left, Up, Right, Left], &frames);
        assert_eq!(r.failure, Some(LivenessFailure::NoHeadTurn), "{r:?}");
    }

    #[test]
    fn nods_up_and_down_are_steps_in_the_asked_order() {
        use Turn::*;
        let p = turn_policy();
        let r = p.evaluate(
            &[Left, Up, Right, Down],
            &poses(&[S, L, L, S, U, U, S, R, R, S, D, D, S]),
        );
        assert!(r.passed, "{r:?}");
        assert_eq!(r.turns_seen, vec![Left, Up, Right, Down]);
        assert!(
            (r.min_pitch + 0.2).abs() < 0.02 && (r.max_pitch - 0.12).abs() < 0.02,
            "{r:?}"
        );
        // The same frames, the nods the other way round: the order is wrong.
        let r = p.evaluate(
            &[Left, Down, Right, Up],
            &poses(&[S, L, L, S, U, U, S, R, R, S, D, D, S]),
        );
        assert_eq!(r.failure, Some(LivenessFailure::WrongTurnOrder), "{r:?}");
        // Up asked, but the head only turned: no head turn as asked.
        let r = p.evaluate(&[Left, Up, Right], &poses(&[S, L, L, S, S, S, S, R, R, S]));
        assert_eq!(r.failure, Some(LivenessFailure::NoHeadTurn), "{r:?}");
        // Nods alone are seen in order, but the eye-foreshortening check measures on
        // turned frames (which is why every challenge asks for both turns).
        let r = p.evaluate(&[Up, Down, Up], &poses(&[S, U, U, S, D, D, S, U, U, S]));
        assert_eq!(r.turns_seen, vec![Up, Down, Up]);
        assert_eq!(r.failure, Some(LivenessFailure::FlatFace), "{r:?}");
        let r = p.evaluate(&[Left, Up, Right], &poses(&[S, U, U, S, D, D, S]));
        assert_eq!(r.failure, Some(LivenessFailure::NoHeadTurn), "{r:?}");
    }

    #[test]
    fn a_nod_is_measured_from_the_straight_frames_and_needs_two_frames() {
        use Turn::*;
        let p = turn_policy();
        // Someone whose straight-ahead drop reads 10 % long: the reference is theirs.
        let long = |(y, pitch): (f64, f64)| (y, (1.0 + pitch) * 1.1 - 1.0);
        let frames: Vec<_> = [S, L, L, S, U, U, S, R, R, S]
            .into_iter()
            .map(long)
            .collect();
        assert!(p.evaluate(&[Left, Up, Right], &poses(&frames)).passed);
        // One straight frame that drifted down between steps is no extra step...
        let drift = (0.0, 0.12);
        let r = p.evaluate(
            &[Left, Up, Right],
            &poses(&[S, L, L, drift, U, U, S, R, R, S]),
        );
        assert!(r.passed, "{r:?}");
        // ...and one nodding frame is no nod.
        let r = p.evaluate(&[Left, Up, Right], &poses(&[S, L, L, S, U, S, S, R, R, S]));
        assert_eq!(r.failure, Some(LivenessFailure::NoHeadTurn), "{r:?}");
        // Short of the thresholds: no nod.
        let r = p.evaluate(
            &[Left, Up, Right],
            &poses(&[S, L, L, S, (0.0, -0.08), (0.0, -0.08), S, R, R, S]),
        );
        assert_eq!(r.failure, Some(LivenessFailure::NoHeadTurn), "{r:?}");
    }

    #[test]
    fn the_eye_corners_count_toward_a_nod() {
        use Turn::*;
        let p = turn_policy();
        // Inner corners 4 px below the outer ones (eyes 40 px apart: 0.1, weighted 2),
        // the nose where it was: a nod down (the eye centres sink 2 px, so the nose's
        // drop reads 8 % shorter: +0.2 − 0.08).
        let corners_down = |mut f: Vec<Vec<FaceObservation>>, at: &[usize]| {
            for &i in at {
                f[i][0].landmarks[1][1] += 4.0;
                f[i][0].landmarks[3][1] += 4.0;
            }
            f
        };
        let frames = corners_down(poses(&[S, L, L, S, S, S, S, R, R, S]), &[4, 5]);
        let r = p.evaluate(&[Left, Down, Right], &frames);
        assert!(r.passed, "{r:?}");
        assert!((r.max_pitch - 0.12).abs() < 0.01, "{r:?}");
        // Without them, the same frames show no nod.
        let r = p.evaluate(
            &[Left, Down, Right],
            &poses(&[S, L, L, S, S, S, S, R, R, S]),
        );
        assert_eq!(r.failure, Some(LivenessFailure::NoHeadTurn), "{r:?}");
    }

    #[test]
    fn classification_takes_the_dominant_of_yaw_and_pitch() {
        let p = LivenessPolicy::default();
        assert_eq!(p.classify_pose(0.0, 0.0), None);
        assert_eq!(p.classify_pose(0.15, 0.0), Some(Turn::Left));
        assert_eq!(p.classify_pose(-0.15, 0.0), Some(Turn::Right));
        assert_eq!(p.classify_pose(0.0, -0.15), Some(Turn::Up));
        assert_eq!(p.classify_pose(0.0, 0.08), Some(Turn::Down));
        // A nod with a little yaw is a nod.
        assert_eq!(p.classify_pose(0.07, -0.15), Some(Turn::Up));
        // Past both thresholds: the yaw, unless the pitch is twice as far past its own.
        assert_eq!(p.classify_pose(0.15, -0.15), Some(Turn::Left));
        assert_eq!(p.classify_pose(0.12, -0.30), Some(Turn::Up));
        // A turn lengthens an ideal head's drop by 1/cos θ: a rendered 36° turn (yaw
        // 0.25, drop +0.26) is a turn, and a partly turned frame (yaw 0.09, drop +0.07)
        // is no nod down.
        assert_eq!(p.classify_pose(0.25, 0.26), Some(Turn::Left));
        assert_eq!(p.classify_pose(0.09, 0.07), None);
        assert_eq!(p.classify_pose(0.09, 0.14), Some(Turn::Down));
    }

    #[test]
    fn each_failure_has_its_reason() {
        let p = turn_policy();
        let lr = [Turn::Left, Turn::Right];
        let reason = |frames: &[Vec<FaceObservation>]| p.evaluate(&lr, frames).failure;
        for f in [
            LivenessFailure::NoMotion,
            LivenessFailure::WrongTurnOrder,
            LivenessFailure::FaceCountInFrame,
        ] {
            assert_eq!(serde_json::to_value(f).unwrap(), f.code());
        }
        assert_eq!(
            reason(&seq(&[0.0, 0.0])),
            Some(LivenessFailure::TooFewFrames)
        );
        assert_eq!(reason(&seq(&[0.01; 5])), Some(LivenessFailure::NoMotion));
        assert_eq!(
            reason(&seq(&[0.0, 0.05, -0.05, 0.05, 0.0])),
            Some(LivenessFailure::NoHeadTurn)
        );
        assert_eq!(
            reason(&seq(&[0.0, -0.2, 0.0, 0.2, 0.0])),
            Some(LivenessFailure::WrongTurnOrder)
        );
        assert_eq!(
            reason(&seq(&[0.0, 0.2, 0.0, 0.0])),
            Some(LivenessFailure::NoHeadTurn)
        );
        let mut mixed = seq(&[0.0, 0.2, 0.0, -0.2]);
        mixed[2][0].descriptor.0[0] = 1.0;
        assert_eq!(reason(&mixed), Some(LivenessFailure::DifferentPeople));
        let mut two = seq(&[0.0, 0.2, 0.0, -0.2]);
        two[1].push(face(0.0, 120, 50.0));
        assert_eq!(reason(&two), Some(LivenessFailure::FaceCountInFrame));
        // Comparable size (80 % as wide): still a second person.
        let mut near = seq(&[0.0, 0.2, 0.0, -0.2]);
        near[1].push(face(0.0, 96, 50.0));
        assert_eq!(reason(&near), Some(LivenessFailure::FaceCountInFrame));
        let mut empty = seq(&[0.0, 0.2, 0.0, -0.2, 0.0, 0.0]);
        empty[0].clear();
        empty[2].clear();
        empty[4].clear();
        assert_eq!(reason(&empty), Some(LivenessFailure::FaceCountInFrame));
        assert_eq!(
            reason(&seq(&[0.0; 17])),
            Some(LivenessFailure::TooManyFrames)
        );
    }
}
