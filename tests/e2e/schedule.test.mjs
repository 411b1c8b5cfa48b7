// The page's capture plan (web/js/schedule.js) against the server's limits; no browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadPagePlan, videoSchedule } from "./lib/video.mjs";

const plan = await loadPagePlan();
const STEP_SETS = [["left", "right"], ["right", "left"], ["left", "right", "left"], ["right", "left", "right"]];

test("every challenge the server can issue fits its frame limits", () => {
  for (const steps of STEP_SETS) {
    for (const maxFrames of [4, 8, 16]) {
      const p = plan.planCapture(steps, { minFrames: 3, maxFrames });
      assert.ok(p.frames >= 3 && p.frames <= maxFrames, `${steps} max ${maxFrames}: ${p.frames}`);
      const turned = p.events.filter((e) => e.kind === "capture" && e.pose !== "front");
      // At least one turned frame per step, each in its own step's turn phase.
      for (const [i, pose] of steps.entries()) {
        assert.ok(turned.some((e) => e.step === i && e.pose === pose), `${steps}: step ${i} has no frame`);
      }
    }
  }
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

test("the e2e video holds each turn over all of its frames with a margin", () => {
  const steps = ["left", "right"];
  const { events } = plan.planCapture(steps);
  const { schedule, ramp } = videoSchedule(plan, steps, { yawDeg: 30, marginMs: 600, rampMs: 300 });
  // Rebuild the yaw at time t from the "yaw:ms" segments (holds after a ramp).
  const segs = schedule.split(",").map((s) => s.split(":")).map(([y, d]) => [Number(y), Number.parseFloat(d)]);
  const rampMs = Number.parseFloat(ramp);
  const fullyAt = (t) => {
    let start = 0;
    for (const [yaw, dur] of segs) {
      if (t < start + dur) return t >= start + rampMs ? yaw : null;
      start += dur;
    }
    return segs.at(-1)[0];
  };
  for (const e of events.filter((x) => x.kind === "capture" && x.pose !== "front")) {
    const want = e.pose === "left" ? 30 : -30;
    for (const dt of [-590, 0, 590]) assert.equal(fullyAt(e.t + dt), want, `${e.pose} frame at ${e.t}${dt >= 0 ? "+" : ""}${dt} ms`);
  }
});
