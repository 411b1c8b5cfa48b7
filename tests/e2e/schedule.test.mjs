// The page's capture plan (web/js/schedule.js) against the server's limits and answer
// window; no browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadPagePlan, videoSchedule } from "./lib/video.mjs";

const plan = await loadPagePlan();

// Every sequence the server issues (faceid_core::ChallengeSteps::sequences): 3 or 4
// steps, left and right among them, no step twice in a row; with nods
// (FACEID_CHALLENGE_NODS=true) up or down among them too, without none and 3 steps.
const KINDS = ["left", "right", "up", "down"];
function challengeSequences(nods) {
  const out = [];
  const grow = (seq) => {
    if (seq.length >= 3) {
      const nodded = seq.includes("up") || seq.includes("down");
      const kind = nods ? nodded : !nodded && seq.length === 3;
      if (seq.includes("left") && seq.includes("right") && kind) out.push(seq);
    }
    if (seq.length === 4) return;
    for (const k of KINDS) if (seq.at(-1) !== k) grow([...seq, k]);
  };
  grow([]);
  return out;
}
const WITH_NODS = challengeSequences(true);
const TURNS_ONLY = challengeSequences(false);
const STEP_SETS = [...TURNS_ONLY, ...WITH_NODS];

test("the server's 2 turn-only and 72 nodding challenge sequences", () => {
  assert.equal(WITH_NODS.length, 72);
  assert.equal(WITH_NODS.filter((s) => s.length === 3).length, 12);
  assert.deepEqual(TURNS_ONLY.map((s) => s.join(",")).sort(), ["left,right,left", "right,left,right"]);
});

test("every challenge fits the frame budgets the server allows, two frames a step", () => {
  // FACEID_MAX_FRAMES may not go below 13 (shared/wiring settings).
  for (const steps of STEP_SETS) {
    for (const maxFrames of [13, 14, 16]) {
      const p = plan.planCapture(steps, { minFrames: 3, maxFrames });
      assert.ok(p.frames >= 3 && p.frames <= maxFrames, `${steps} max ${maxFrames}: ${p.frames}`);
      const turned = p.events.filter((e) => e.kind === "capture" && e.pose !== "front");
      // At least two frames per step (a nod counts over two in a row), each in its own
      // step's phase.
      for (const [i, pose] of steps.entries()) {
        const mine = turned.filter((e) => e.step === i && e.pose === pose);
        assert.ok(mine.length >= 2, `${steps} max ${maxFrames}: step ${i} has ${mine.length} frames`);
      }
    }
  }
});

test("the plan takes the time the server's answer window is built on", () => {
  // faceid_core::capture::CapturePlan (its unit test asserts the same figures): the span
  // from the first frame to the last, and the whole plan, for the default budget of 16,
  // with the light phase's 9 frames (the default) and without (the light check off).
  const expected = {
    9: { 3: { frames: 22, span: 12840, total: 13600 }, 4: { frames: 22, span: 16040, total: 16800 } },
    0: { 3: { frames: 13, span: 9600, total: 13600 }, 4: { frames: 13, span: 12800, total: 16800 } },
  };
  for (const phaseFrames of [9, 0]) {
    for (const steps of STEP_SETS) {
      const { events, totalMs, frames } = plan.planCapture(steps, { maxFrames: 16, phaseFrames });
      const caps = events.filter((e) => e.kind === "capture").map((e) => e.t);
      const want = expected[phaseFrames][steps.length];
      assert.deepEqual(
        { frames, span: Math.max(...caps) - Math.min(...caps), total: totalMs },
        want,
        `${steps} phase ${phaseFrames}`,
      );
    }
  }
});

test("the light phase: still frames first, each in the middle of its colour, at most three changes a second", () => {
  for (const steps of STEP_SETS) {
    const { events } = plan.planCapture(steps, { maxFrames: 16, phaseFrames: 9 });
    const caps = events.filter((e) => e.kind === "capture");
    const phase = caps.filter((e) => e.phase);
    assert.equal(phase.length, 9);
    // The phase's frames are the first ones, frontal, before the first step's prompt.
    assert.deepEqual(caps.slice(0, 9), phase);
    const firstStep = events.find((e) => e.kind === "prompt" && e.step === 0);
    assert.ok(phase.every((e) => e.pose === "front" && e.t < firstStep.t));
    // Frame k is taken under colour k, at least 150 ms after it came on and before the next.
    const lights = events.filter((e) => e.kind === "light");
    caps.forEach((c, k) => {
      const on = lights.find((l) => l.frame === k);
      const next = lights.find((l) => l.t > on.t);
      assert.ok(c.t - on.t >= 150 && next.t - c.t >= 150, `frame ${k} at ${c.t}: colour ${on.t}–${next.t}`);
    });
    // No second holds more than three changes of colour (WCAG 2.3.1), the page's promise.
    const times = lights.map((l) => l.t);
    assert.ok(times[0] >= 0);
    for (let i = 3; i < times.length; i++) {
      assert.ok(times[i] - times[i - 3] > 1000, `${steps}: four changes within ${times[i] - times[i - 3]} ms`);
    }
  }
  assert.equal(plan.MAX_PHASE_FRAMES, 9);
  assert.equal(plan.planCapture(["left", "right", "left"], { phaseFrames: 30 }).frames, 22);
});

test("frames come in time order, each turn after its prompt and before the next", () => {
  for (const steps of STEP_SETS) {
    const { events, totalMs } = plan.planCapture(steps);
    const times = events.map((e) => e.t);
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
    assert.ok(Math.max(...times) <= totalMs);
    for (const e of events.filter((x) => x.kind === "capture" && x.pose !== "front")) {
      const prompt = events.find((x) => x.kind === "prompt" && x.step === e.step && x.pose === e.pose);
      const back = events.find((x) => x.kind === "prompt" && x.step === e.step && x.pose === "front");
      // Time to react before the first turned frame; none after "face the camera again".
      assert.ok(e.t - prompt.t >= 700 && e.t < back.t, JSON.stringify(e));
    }
  }
});

test("the e2e video holds each pose over all of its frames with a margin", () => {
  for (const steps of [["left", "up", "right"], ["right", "down", "left", "up"]]) {
    const { events } = plan.planCapture(steps, { phaseFrames: 9 });
    const { schedule, ramp } = videoSchedule(plan, steps, {
      yawDeg: 30,
      pitchDeg: 25,
      marginMs: 600,
      rampMs: 300,
      phaseFrames: 9,
    });
    // Rebuild the pose at time t from the "yaw[/pitch]:ms" segments (holds after a ramp).
    const segs = schedule
      .split(",")
      .map((s) => s.split(":"))
      .map(([pose, d]) => [pose, Number.parseFloat(d)]);
    const rampMs = Number.parseFloat(ramp);
    const fullyAt = (t) => {
      let start = 0;
      for (const [pose, dur] of segs) {
        if (t < start + dur) return t >= start + rampMs ? pose : null;
        start += dur;
      }
      return segs.at(-1)[0];
    };
    const want = { left: "30", right: "-30", up: "0/25", down: "0/-25" };
    // The video starts with the camera, the plan CAMERA_SETTLE_MS later.
    const at = (e) => e.t + plan.CAMERA_SETTLE_MS;
    for (const e of events.filter((x) => x.kind === "capture" && x.pose !== "front")) {
      for (const dt of [-590, 0, 590]) {
        assert.equal(fullyAt(at(e) + dt), want[e.pose], `${steps}: ${e.pose} frame at ${e.t}${dt >= 0 ? "+" : ""}${dt} ms`);
      }
    }
    // The light phase's frames face the camera, held.
    for (const e of events.filter((x) => x.kind === "capture" && x.phase)) {
      assert.equal(fullyAt(at(e)), "0", `${steps}: phase frame at ${e.t}`);
    }
  }
});
