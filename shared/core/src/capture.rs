//! The web page's capture plan, as the server needs it: when the frames of a challenge
//! are taken, so an answer can be held to the time a camera needs to take them.
//!
//! The plan itself is `web/js/schedule.js` (`planCapture`); this is its Rust twin for the
//! numbers the server enforces. The constants below are the page's, checked against
//! schedule.js by a unit test (here) and the whole plan against the page's own function by
//! `tests/service/tests/capture_plan.rs` (it runs schedule.js in node).
//!
//! Times are milliseconds after the page's plan starts (its camera is open and the
//! challenge has arrived): a countdown of `READY_MS`, during which the light phase's still
//! frames are taken (`PHASE_SPACING_MS` apart, the last one `PHASE_SPACING_MS` before the
//! countdown ends), the first (frontal) frame, then per step a prompt, the turned frames at
//! `TURN_CAPTURE_MS` after it, "face the camera again" at `TURN_MS` and a frontal frame
//! `CENTER_CAPTURE_MS` later; `CENTER_MS` until the next step.

use time::{Duration, OffsetDateTime};

pub const READY_MS: u64 = 3600;
/// Between the light phase's frames: each frame has its own colour, so the screen changes
/// colour 2.8 times a second, within the page's promise of at most three (WCAG 2.3.1).
pub const PHASE_SPACING_MS: u64 = 360;
/// The most still frames the countdown holds: the first one `PHASE_SPACING_MS` after the
/// plan starts (its colour comes on `LIGHT_LEAD_MS` = 300 ms before it).
pub const MAX_PHASE_FRAMES: usize = (READY_MS / PHASE_SPACING_MS) as usize - 1;
pub const LEAD_MS: u64 = 400;
pub const TURN_MS: u64 = 2000;
pub const CENTER_MS: u64 = 1200;
pub const TURN_CAPTURE_MS: [u64; 3] = [900, 1300, 1700];
pub const CENTER_CAPTURE_MS: u64 = 800;

/// The page's layout: a frontal frame, then per step its turned frames and, when
/// `frontal_between`, a frontal one.
fn frame_count(steps: usize, turned: usize, frontal_between: bool) -> usize {
    1 + steps * (turned + usize::from(frontal_between))
}

/// What the page's plan does for a challenge of some number of steps under a frame budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapturePlan {
    /// Still frames of the light phase, taken (and sent) first.
    pub phase_frames: usize,
    /// Frames of the steps (the first frontal one, the turned ones, the frontal ones
    /// between), sent after the phase's.
    pub frames: usize,
    /// Turned frames per step.
    pub turned_per_step: usize,
    /// Whether a frontal frame follows each step (dropped first when the budget is small).
    pub frontal_between: bool,
    /// When the first and the last frame are taken.
    pub first_capture_ms: u64,
    pub last_capture_ms: u64,
    /// The whole plan, prompts included.
    pub total_ms: u64,
}

impl CapturePlan {
    /// The plan for `steps` steps with at most `max_frames` frames for them (as
    /// `planCapture`: fewer turned frames per step first, keeping the latest, then no
    /// frontal frames between steps), after a light phase of `phase_frames` still frames
    /// (at most [`MAX_PHASE_FRAMES`]).
    pub fn new(steps: usize, phase_frames: usize, max_frames: usize) -> Self {
        let max_frames = max_frames.max(1);
        let phase_frames = phase_frames.min(MAX_PHASE_FRAMES);
        let mut turned = TURN_CAPTURE_MS.len();
        let mut frontal = true;
        let count = |turned: usize, frontal: bool| frame_count(steps, turned, frontal);
        while count(turned, frontal) > max_frames && turned > 1 {
            turned -= 1;
        }
        if count(turned, frontal) > max_frames {
            frontal = false;
        }
        let step_start = |i: usize| READY_MS + LEAD_MS + i as u64 * (TURN_MS + CENTER_MS);
        let last_capture_ms = match steps.checked_sub(1) {
            None => READY_MS,
            Some(last) if frontal => step_start(last) + TURN_MS + CENTER_CAPTURE_MS,
            Some(last) => step_start(last) + TURN_CAPTURE_MS[TURN_CAPTURE_MS.len() - 1],
        };
        Self {
            phase_frames,
            frames: count(turned, frontal),
            turned_per_step: turned,
            frontal_between: frontal,
            first_capture_ms: READY_MS - phase_frames as u64 * PHASE_SPACING_MS,
            last_capture_ms,
            total_ms: step_start(steps),
        }
    }

    /// Which of `frames` frames the page took straight ahead for `steps` steps — the
    /// first, and the one after each step's turned frames — when that many frames is
    /// what its plan takes for some number of turned frames per step, each step followed
    /// by a frontal frame. `None` otherwise (not the page's layout).
    pub fn frontal_positions(steps: usize, frames: usize) -> Option<Vec<usize>> {
        (1..=TURN_CAPTURE_MS.len())
            .find(|&turned| frame_count(steps, turned, true) == frames)
            .map(|turned| (0..=steps).map(|i| i * (turned + 1)).collect())
    }

    /// Every frame sent: the light phase's, then the steps'.
    pub fn total_frames(&self) -> usize {
        self.phase_frames + self.frames
    }

    /// From the first frame to the last: the least time any camera needs for them.
    pub fn capture_span(&self) -> Duration {
        Duration::milliseconds((self.last_capture_ms - self.first_capture_ms) as i64)
    }

    pub fn total(&self) -> Duration {
        Duration::milliseconds(self.total_ms as i64)
    }
}

/// How soon and how late after its challenge was issued an answer is taken. Both times
/// are the server's own (issue and receipt), so no client clock is involved; the slacks
/// cover what lies between: the network, the upload, a slow page, and the clocks of two
/// server instances (one issues, another may redeem; NTP keeps them within milliseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnswerWindow {
    /// An answer may come this much sooner than the plan's capture span (first frame to
    /// last). The page takes its first frame only after the challenge has arrived (the
    /// challenge is fetched before the countdown) and its timers never fire early, so a genuine answer
    /// never comes sooner than the span: the slack is for the server clocks.
    pub fast_slack: Duration,
    /// An answer may come this much later than the whole plan takes: the challenge's
    /// round trip (the countdown starts when the challenge has arrived), encoding, the
    /// upload of 22 frames (about 1–1.5 MB: 8–12 s at 1 Mbit/s), a page slowed by a busy
    /// phone.
    pub slow_slack: Duration,
}

impl Default for AnswerWindow {
    fn default() -> Self {
        Self {
            fast_slack: Duration::seconds(1),
            slow_slack: Duration::seconds(15),
        }
    }
}

/// Why an answer's timing is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimingFailure {
    /// Sooner than a camera can take the plan's frames after the challenge was issued:
    /// frames made before, or without, a camera following the plan.
    TooFast,
    /// Later than the plan and its slack: time spent on something other than the camera
    /// (e.g. rendering frames for this challenge).
    TooSlow,
}

impl TimingFailure {
    /// The machine-readable reason, without the `liveness_` prefix the API adds.
    pub fn code(self) -> &'static str {
        match self {
            Self::TooFast => "too_fast",
            Self::TooSlow => "too_slow",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::TooFast => "The answer came sooner than the pictures can be taken.",
            Self::TooSlow => "The answer came too long after the check started; start again.",
        }
    }
}

impl AnswerWindow {
    /// The earliest and latest receipt, after the issue, of an answer to a challenge the
    /// page takes with `plan`.
    pub fn bounds(&self, plan: &CapturePlan) -> (Duration, Duration) {
        (
            (plan.capture_span() - self.fast_slack).max(Duration::ZERO),
            plan.total() + self.slow_slack,
        )
    }

    /// Checks an answer received at `received_at` to a challenge issued at `issued_at`.
    pub fn check(
        &self,
        issued_at: OffsetDateTime,
        received_at: OffsetDateTime,
        plan: &CapturePlan,
    ) -> Result<(), TimingFailure> {
        let (earliest, latest) = self.bounds(plan);
        let elapsed = received_at - issued_at;
        if elapsed < earliest {
            Err(TimingFailure::TooFast)
        } else if elapsed > latest {
            Err(TimingFailure::TooSlow)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_match_the_page_for_the_challenges_the_server_issues() {
        // 3 steps: frontal + 3 × (3 turned + frontal) = 13 frames, the last frontal one
        // at 3600 + 400 + 2 × 3200 + 2000 + 800 = 13,200 ms of 13,600.
        let p = CapturePlan::new(3, 0, 16);
        assert_eq!(
            (p.frames, p.turned_per_step, p.frontal_between),
            (13, 3, true)
        );
        assert_eq!(
            (p.first_capture_ms, p.last_capture_ms, p.total_ms),
            (3600, 13_200, 13_600)
        );
        // The light phase's 9 frames come first, 360 ms apart from 360 ms on: 22 frames.
        let p = CapturePlan::new(3, 9, 16);
        assert_eq!((p.phase_frames, p.frames, p.total_frames()), (9, 13, 22));
        assert_eq!(
            (p.first_capture_ms, p.last_capture_ms, p.total_ms),
            (360, 13_200, 13_600)
        );
        // No more than the countdown holds.
        assert_eq!(MAX_PHASE_FRAMES, 9);
        assert_eq!(CapturePlan::new(3, 12, 16).phase_frames, 9);
        // 4 steps: 17 frames would be too many; 2 turned per step: 13 frames over 16.8 s.
        let p = CapturePlan::new(4, 9, 16);
        assert_eq!(
            (p.frames, p.turned_per_step, p.frontal_between),
            (13, 2, true)
        );
        assert_eq!((p.last_capture_ms, p.total_ms), (16_400, 16_800));
        // A small budget drops the frontal frames between steps: the last frame is then a
        // turned one.
        let p = CapturePlan::new(4, 0, 8);
        assert_eq!(
            (p.frames, p.turned_per_step, p.frontal_between),
            (5, 1, false)
        );
        assert_eq!(p.last_capture_ms, 4000 + 3 * 3200 + 1700);
    }

    #[test]
    fn the_frontal_frames_are_where_the_plan_takes_them() {
        // Left–right–left: straight, three left, straight, three right, straight, ...
        assert_eq!(
            CapturePlan::frontal_positions(3, 13),
            Some(vec![0, 4, 8, 12])
        );
        assert_eq!(CapturePlan::frontal_positions(2, 9), Some(vec![0, 4, 8]));
        // Four steps of two turned frames (the budget of 16).
        let p = CapturePlan::new(4, 9, 16);
        assert_eq!(
            CapturePlan::frontal_positions(4, p.frames),
            Some(vec![0, 3, 6, 9, 12])
        );
        // Not the page's layout: frames missing, or no frontal frames between steps.
        assert_eq!(CapturePlan::frontal_positions(3, 12), None);
        assert_eq!(
            CapturePlan::frontal_positions(4, CapturePlan::new(4, 0, 8).frames),
            None
        );
    }

    #[test]
    fn answers_are_held_to_the_plan_and_its_slack() {
        let w = AnswerWindow::default();
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let at = |ms: i64| t0 + Duration::milliseconds(ms);
        // 3 steps and the light phase: frames span 12.84 s, the plan takes 13.6 s.
        let three = CapturePlan::new(3, 9, 16);
        assert_eq!(
            w.bounds(&three),
            (
                Duration::milliseconds(11_840),
                Duration::milliseconds(28_600)
            )
        );
        assert_eq!(w.check(t0, at(15_000), &three), Ok(()));
        assert_eq!(w.check(t0, at(11_840), &three), Ok(()));
        assert_eq!(w.check(t0, at(28_600), &three), Ok(()));
        assert_eq!(w.check(t0, at(11_839), &three), Err(TimingFailure::TooFast));
        assert_eq!(w.check(t0, at(28_601), &three), Err(TimingFailure::TooSlow));
        // Frames sent at once, or an answer at the challenge's 60 s expiry.
        let four = CapturePlan::new(4, 9, 16);
        assert_eq!(w.check(t0, at(300), &four), Err(TimingFailure::TooFast));
        assert_eq!(w.check(t0, at(59_000), &four), Err(TimingFailure::TooSlow));
        // 4 steps: 16.04 s of frames, 16.8 s of plan.
        assert_eq!(w.check(t0, at(15_039), &four), Err(TimingFailure::TooFast));
        assert_eq!(w.check(t0, at(31_800), &four), Ok(()));
        // Without the light phase the frames start at the countdown's end: 9.6 s.
        let unlit = CapturePlan::new(3, 0, 16);
        assert_eq!(w.bounds(&unlit).0, Duration::milliseconds(8_600));
        // A receipt before the issue (a server clock behind another's) is too fast.
        assert_eq!(w.check(t0, at(-5), &three), Err(TimingFailure::TooFast));
        assert_eq!(TimingFailure::TooSlow.code(), "too_slow");
        assert_eq!(TimingFailure::TooFast.code(), "too_fast");
    }

    /// The page's constants (`export const NAME = …;` in web/js/schedule.js) are these.
    #[test]
    fn the_constants_are_the_pages() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/js/schedule.js");
        let js = std::fs::read_to_string(path).expect("web/js/schedule.js");
        let value = |name: &str| -> String {
            let prefix = format!("export const {name} = ");
            let line = js
                .lines()
                .find_map(|l| l.trim().strip_prefix(&prefix))
                .unwrap_or_else(|| panic!("schedule.js has no `export const {name}`"));
            line.trim_end_matches(';').trim().to_owned()
        };
        for (name, ours) in [
            ("READY_MS", READY_MS),
            ("LEAD_MS", LEAD_MS),
            ("TURN_MS", TURN_MS),
            ("CENTER_MS", CENTER_MS),
            ("CENTER_CAPTURE_MS", CENTER_CAPTURE_MS),
            ("PHASE_SPACING_MS", PHASE_SPACING_MS),
        ] {
            assert_eq!(value(name), ours.to_string(), "{name}");
        }
        let theirs: Vec<u64> = value("TURN_CAPTURE_MS")
            .trim_matches(['[', ']'])
            .split(',')
            .map(|v| v.trim().parse().expect("a number"))
            .collect();
        assert_eq!(theirs, TURN_CAPTURE_MS);
    }
}
