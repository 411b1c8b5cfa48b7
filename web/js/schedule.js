// The capture timeline of a login attempt: when each prompt appears and when each frame is
// taken. Pure data, no DOM, so the end-to-end test can build a matching fake-camera video
// from the same numbers (tests/e2e imports this file).
//
// Times are milliseconds after the plan starts (t = 0): once the challenge has arrived, and
// no sooner than CAMERA_SETTLE_MS after the camera started:
//
//   0 ........ READY_MS        "Look straight at the camera" (3-2-1 countdown)
//   READY_MS - (n - k) * PHASE_SPACING_MS   the light phase: still frame k of n (front)
//   READY_MS                   frame: frontal
//   then for each step i, starting at P = READY_MS + LEAD_MS + i * (TURN_MS + CENTER_MS):
//     P                        prompt "Turn your head to your left/right", "… look up/down"
//     P + TURN_CAPTURE_MS[k]   frame: turned (2–3 frames, the first after a reaction time)
//     P + TURN_MS              prompt "Face the camera again"
//     P + TURN_MS + CENTER_CAPTURE_MS   frame: frontal
//
// Screen light: frame k is taken while the screen shows the challenge's colour k
// (lights[k]). Colour k comes on halfway between frames k-1 and k (LIGHT_LEAD_MS before
// the first frame) and goes when colour k+1 comes (LIGHT_LEAD_MS after the last frame, the
// screen returns to normal): each frame sits in the middle of its colour, so a camera a
// few hundred ms late still sees the right one.
//
// The light phase (the challenge's light_phase_frames, 9 by default, 0 with the light check
// off) holds the face still while the screen takes a colour per frame, 360 ms apart: 2.8
// colour changes a second (the page promises at most three), and those frames carry the
// light check where a turn's shading and a small face's drift would drown a faint light.
// Its frames are sent first; the steps' frames take the colours after them.
//
// A challenge has 3 or 4 steps (left, right, up, down). Three steps: 13 frames for the
// steps over 13.6 s; four: 17 frames would exceed the server's 16 (max_frames of the
// challenge), so 2 turned frames per step (the later two), 13 frames over 16.8 s. With a
// smaller budget the plan takes fewer turned frames per step, then drops the frontal
// frames between steps.
//
// The server holds the answer to this plan (faceid_core::capture, the Rust twin of these
// numbers, checked against this file by its tests): it must arrive no sooner after the
// challenge was issued than the first-to-last frame span (minus 1 s), and no later than
// the whole plan plus 15 s (liveness_too_fast / liveness_too_slow). So the page fetches
// the challenge only once the camera is open, and starts the plan when it has arrived (its
// colours are needed from the start).

// The plan starts no sooner than this after the camera starts delivering video (if the
// challenge has arrived by then): a webcam settles its exposure and white balance in its
// first second, which would move the light phase's colours.
export const CAMERA_SETTLE_MS = 1000;
export const READY_MS = 3600;
export const LEAD_MS = 400;
export const TURN_MS = 2000;
export const CENTER_MS = 1200;
export const TURN_CAPTURE_MS = [900, 1300, 1700];
export const CENTER_CAPTURE_MS = 800;
export const LIGHT_LEAD_MS = 300;
export const PHASE_SPACING_MS = 360;
// The countdown holds this many: the first colour comes on LIGHT_LEAD_MS after t = 0.
export const MAX_PHASE_FRAMES = Math.floor(READY_MS / PHASE_SPACING_MS) - 1;

/**
 * @param {string[]} steps e.g. ["left", "up", "right"]
 * @param {{minFrames?: number, maxFrames?: number, phaseFrames?: number}} [limits]
 *   `maxFrames`: the most frames for the steps; `phaseFrames`: the light phase's.
 * @returns {{events: Array<{t: number, kind: "prompt"|"capture"|"light", pose: "front"|"left"|"right"|"up"|"down", step: number, frame?: number, phase?: boolean}>, totalMs: number, frames: number}}
 *   `step` is the index of the step (-1 before the first one); a prompt with pose "front"
 *   asks to face the camera. A "light" event switches the screen to the colour of frame
 *   `frame` (-1: back to normal). A capture with `phase` is a light phase's frame.
 *   `frames` counts every frame, the phase's included.
 */
export function planCapture(steps, limits = {}) {
  const n = steps.length;
  const maxFrames = Math.max(1, limits.maxFrames ?? 16);
  const phaseFrames = Math.min(Math.max(0, limits.phaseFrames ?? 0), MAX_PHASE_FRAMES);
  let turnFrames = TURN_CAPTURE_MS.length;
  let centerFrames = true;
  const count = () => 1 + n * (turnFrames + (centerFrames ? 1 : 0));
  while (count() > maxFrames && turnFrames > 1) turnFrames -= 1;
  if (count() > maxFrames) centerFrames = false;

  const events = [{ t: 0, kind: "prompt", pose: "front", step: -1 }];
  for (let k = phaseFrames; k > 0; k--) {
    events.push({ t: READY_MS - k * PHASE_SPACING_MS, kind: "capture", pose: "front", step: -1, phase: true });
  }
  events.push({ t: READY_MS, kind: "capture", pose: "front", step: -1 });
  // With fewer frames, keep the latest ones: the head is surely turned by then.
  const turnTimes = TURN_CAPTURE_MS.slice(TURN_CAPTURE_MS.length - turnFrames);
  steps.forEach((pose, i) => {
    const p = READY_MS + LEAD_MS + i * (TURN_MS + CENTER_MS);
    events.push({ t: p, kind: "prompt", pose, step: i });
    for (const dt of turnTimes) events.push({ t: p + dt, kind: "capture", pose, step: i });
    events.push({ t: p + TURN_MS, kind: "prompt", pose: "front", step: i });
    if (centerFrames) {
      events.push({ t: p + TURN_MS + CENTER_CAPTURE_MS, kind: "capture", pose: "front", step: i });
    }
  });
  const totalMs = READY_MS + LEAD_MS + n * (TURN_MS + CENTER_MS);
  const captures = events.filter((e) => e.kind === "capture");
  captures.forEach((e, k) => {
    const t = k === 0 ? e.t - LIGHT_LEAD_MS : (captures[k - 1].t + e.t) / 2;
    events.push({ t, kind: "light", pose: e.pose, step: e.step, frame: k });
  });
  const last = captures.at(-1);
  events.push({ t: last.t + LIGHT_LEAD_MS, kind: "light", pose: "front", step: last.step, frame: -1 });
  // Stable: at equal times the original order (prompt before capture) stays.
  events.sort((a, b) => a.t - b.t);
  return { events, totalMs, frames: captures.length };
}
