// Fake-camera videos that follow the page's own capture plan (web/js/schedule.js).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT, TESTKIT_BIN, requireFile } from "./paths.mjs";

/** The page's schedule module, loaded as-is (it has no imports and no DOM). */
export async function loadPagePlan() {
  const src = readFileSync(path.join(ROOT, "web/js/schedule.js"), "utf8");
  return import(`data:text/javascript;base64,${Buffer.from(src).toString("base64")}`);
}

/**
 * A head-pose timeline for `steps` whose poses cover the page's captures with a margin.
 * Video time 0 = the moment the page opens the camera (Chromium starts the file then);
 * the page's plan starts CAMERA_SETTLE_MS later, the challenge having arrived by then (the
 * tests pin it in the browser). The light phase's `phaseFrames` still frames (the
 * challenge's `light_phase_frames`) are frontal, lit like the rest. "left" is the person's own left, a
 * positive yaw for the testkit (the nose moves to the image's right); "up" a positive
 * pitch (segments `0/PITCH`).
 *
 * Each pose is fully reached `marginMs` before the step's first capture and held until
 * `marginMs` after its last; the head then returns to frontal. `yawDeg` is one angle, or
 * `{left, right}` for a face that is not quite frontal; `pitchDeg` likewise `{up, down}`.
 */
export function videoSchedule(
  plan,
  steps,
  { yawDeg = 28, pitchDeg = 25, marginMs = 600, rampMs = 300, tailMs = 6000, lights, phaseFrames = 0 } = {},
) {
  const yaw = typeof yawDeg === "number" ? { left: yawDeg, right: yawDeg } : yawDeg;
  const pitch = typeof pitchDeg === "number" ? { up: pitchDeg, down: pitchDeg } : pitchDeg;
  const pose = { left: `${yaw.left}`, right: `${-yaw.right}`, up: `0/${pitch.up}`, down: `0/${-pitch.down}` };
  const { events: planned, totalMs } = plan.planCapture(steps, { phaseFrames });
  // In video time.
  const events = planned.map((e) => ({ ...e, t: e.t + plan.CAMERA_SETTLE_MS }));
  const segments = [];
  let t = 0;
  const push = (p, until) => {
    if (until - t < 1) throw new Error(`schedule overlap at ${t} ms`);
    segments.push(`${p}:${Math.round(until - t)}ms`);
    t = until;
  };
  steps.forEach((step, i) => {
    if (!pose[step]) throw new Error(`no pose for step ${step}`);
    const caps = events.filter((e) => e.kind === "capture" && e.step === i && e.pose === step).map((e) => e.t);
    const start = Math.min(...caps) - marginMs - rampMs;
    const end = Math.max(...caps) + marginMs;
    push(0, start);
    push(pose[step], end);
  });
  push(0, plan.CAMERA_SETTLE_MS + totalMs + tailMs);
  const out = { schedule: segments.join(","), ramp: `${rampMs}ms` };
  if (lights) out.lights = lightTimeline(events, lights);
  return out;
}

/**
 * The screen colours the page shows, as the testkit's `--lights` timeline
 * ("none:2700ms,red:600ms,…"): the face in the video is lit by what the page would show
 * at that moment, as a real camera in front of the screen would see it.
 */
export function lightTimeline(events, lights) {
  const parts = [];
  let t = 0;
  let colour = "none";
  for (const e of events.filter((x) => x.kind === "light")) {
    if (e.t > t) parts.push(`${colour}:${Math.round(e.t - t)}ms`);
    t = e.t;
    colour = e.frame >= 0 ? lights[e.frame] : "none";
    if (e.frame >= 0 && !colour) throw new Error(`the challenge has no colour for frame ${e.frame}`);
  }
  parts.push(`${colour}:60s`);
  return parts.join(",");
}

/** Writes a .y4m with the testkit; returns the testkit's JSON summary. */
export function makeVideo({ image, landmarks, schedule, ramp, lights, out, fps = 10, motion = "head" }) {
  requireFile(TESTKIT_BIN, "build it first (cargo build -p faceid-testkit) or set FACEID_TESTKIT_BIN");
  const stdout = execFileSync(
    TESTKIT_BIN,
    [
      "make-video",
      "--image", image,
      "--landmarks-from", landmarks,
      "--schedule", schedule,
      "--ramp", ramp,
      "--fps", String(fps),
      "--motion", motion,
      ...(lights ? ["--lights", lights] : []),
      "--out", out,
    ],
    { encoding: "utf8", maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout);
}
