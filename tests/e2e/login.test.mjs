// End to end through the real server and a real browser: the web page logs a person in
// with a head-turn-and-nod video on Chromium's fake camera (lit by the challenge's screen
// colours),
// refuses that recording replayed to a new challenge, refuses another person, and reports
// enrollment photo by photo. Screenshots go to target/e2e/ (FACEID_E2E_OUT).
//
// Needs the `faceid` and `faceid-testkit` binaries (FACEID_BIN / FACEID_TESTKIT_BIN, default
// $CARGO_TARGET_DIR/debug/…) and Debian's chromium. Run with tests/e2e/run.sh.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { FIXTURES, OUT_DIR } from "./lib/paths.mjs";
import { startServer } from "./lib/server.mjs";
import { loadPagePlan, makeVideo, videoSchedule } from "./lib/video.mjs";
import { launchWithCamera, pinChallenge } from "./lib/browser.mjs";

// One of the server's 72 sequences with nods (FACEID_CHALLENGE_NODS=true, set by
// lib/server.mjs; it draws them at random and the test asks until it gets this one). Up rather than down: the testkit's rendered head looking down is seen by
// dlib's landmarks less than a real one (README, Security).
const STEPS = ["left", "up", "right"];
const TURN_THRESHOLD = 0.1; // faceid-core LivenessPolicy::turn_yaw
const UP_THRESHOLD = 0.1; // faceid-core LivenessPolicy::turn_up (nose drop, relative)
const img = (p) => path.join(FIXTURES, "images", p);
const ref = (name) => path.join(FIXTURES, "reference", `${name}.json`);
const b64 = (file) => readFileSync(file).toString("base64");

let server;
let tmp;
let plan;
const videos = {};
// The angles are where dlib's 5-point landmarks clearly register the synthetic turn on
// these photos (about 0.17–0.22 against the 0.12 threshold; measured with `faceid embed`).
// biden.jpg is not used: his photo already looks to his left, and a synthetic right turn
// of it does not register as one.
const YAW_DEG = { left: 36, right: 30 };
// 17° up: the nose's drop shortens by about a fifth on the projected landmarks, and the
// rendered face stays within the same-person bound of its straight frames (person B's
// render drifts to 0.50 at 20°, 0.62 at 25°).
const PITCH_DEG = { up: 17, down: 25 };
const PEOPLE = {
  // Person A (enrolled) and person B (not enrolled: dlib's example photo).
  a: { image: img("face_recognition/obama.jpg"), landmarks: ref("obama") },
  b: { image: img("dlib/Tom_Cruise_avp_2014_4.jpg"), landmarks: ref("Tom_Cruise_avp_2014_4") },
};

/** A fresh challenge from the real server whose (random) turn order is STEPS. */
async function challengeWithSteps() {
  for (let i = 0; i < 2000; i++) {
    const res = await fetch(`${server.base}/v1/challenge`, { method: "POST" });
    const body = await res.json();
    assert.equal(res.status, 201, JSON.stringify(body));
    if (JSON.stringify(body.steps) === JSON.stringify(STEPS)) return { ...body, fetchedAt: Date.now() };
  }
  throw new Error(`no challenge with steps ${STEPS}`);
}

/** A head-turn video of `who` whose face is lit by `challenge`'s colours at the page's times. */
function videoFor(who, challenge, name) {
  const v = videoSchedule(plan, STEPS, {
    yawDeg: YAW_DEG,
    pitchDeg: PITCH_DEG,
    lights: challenge.lights,
    phaseFrames: challenge.light_phase_frames,
  });
  const out = path.join(tmp, `${name}.y4m`);
  checkTurns(makeVideo({ ...PEOPLE[who], ...v, out }), name);
  writeFileSync(path.join(OUT_DIR, `${name}-video.json`), JSON.stringify({ ...v, challenge_id: challenge.challenge_id }, null, 2));
  return out;
}

function checkTurns(summary, label) {
  // The testkit reports the server's measures on the projected reference landmarks:
  // every turned segment must clear the threshold comfortably, or the test is not fair.
  for (const s of summary.segments.filter((x) => x.yaw_deg !== 0)) {
    assert.ok(
      Math.abs(s.yaw_ratio) >= TURN_THRESHOLD + 0.03 && Math.sign(s.yaw_ratio) === Math.sign(s.yaw_deg),
      `${label}: a ${s.yaw_deg}° turn only reaches yaw ${s.yaw_ratio}`,
    );
  }
  for (const s of summary.segments.filter((x) => x.pitch_deg > 0)) {
    assert.ok(
      s.nose_drop_change <= -(UP_THRESHOLD + 0.05),
      `${label}: a ${s.pitch_deg}° nod up only shortens the nose's drop by ${s.nose_drop_change}`,
    );
  }
}

before(async () => {
  mkdirSync(OUT_DIR, { recursive: true });
  tmp = mkdtempSync(path.join(os.tmpdir(), "faceid-e2e-"));
  plan = await loadPagePlan();

  server = await startServer({ logFile: path.join(OUT_DIR, "faceid-serve.log") });

  const res = await fetch(`${server.base}/v1/users/obama/faces`, {
    method: "POST",
    headers: { Authorization: `Bearer ${server.adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      images: [b64(img("face_recognition/obama.jpg")), b64(img("face_recognition/obama2.jpg"))],
    }),
  });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  assert.equal(body.faces.length, 2, JSON.stringify(body));
});

after(async () => {
  await server?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/**
 * Runs the login flow on the page; returns the final state, reason and texts. The page is
 * loaded first; then `prepare()` gets the challenge (and makes the video for it, which
 * Chromium opens only when the page asks for the camera), and Start is pressed: the
 * server holds the answer to the capture plan's time from the challenge's issue
 * (11.8–28.6 s for three steps), so the browser's start-up stays out of it.
 */
async function loginThroughPage(page, { prepare, promptShot, name }) {
  await page.goto(`${server.base}/`);
  await page.screenshot({ path: path.join(OUT_DIR, `${name}-start.png`) });
  const challenge = await prepare();
  const { fetchedAt: _, ...issued } = challenge;
  await pinChallenge(page, issued);
  // Keep what the server saw (its liveness report) for diagnosis; the token stays out.
  const onResponse = async (res) => {
    if (!res.url().endsWith("/v1/authenticate")) return;
    const body = await res.json().catch(() => null);
    if (body) delete body.token;
    // How long after the challenge was issued the answer came back (the server holds it to
    // the capture plan: 11.8–28.6 s for three steps).
    const afterChallengeMs = Date.now() - challenge.fetchedAt;
    writeFileSync(
      path.join(OUT_DIR, `${name}-answer.json`),
      JSON.stringify({ status: res.status(), afterChallengeMs, body }, null, 2),
    );
  };
  page.on("response", onResponse);
  await page.getByRole("button", { name: "Start" }).click();
  if (promptShot) {
    // The countdown, while the light phase's still frames are taken under its colours.
    await page.getByText("Look straight at the camera… 2").waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(OUT_DIR, promptShot.replace(".png", "-countdown.png")) });
    await page.getByText("Turn your head to your left").waitFor({ timeout: 30_000 });
    await page.waitForTimeout(900); // the turned video frames are on screen by now
    await page.screenshot({ path: path.join(OUT_DIR, promptShot) });
    await page.getByText("Tilt your head back and look up").waitFor({ timeout: 30_000 });
    await page.waitForTimeout(900);
    await page.screenshot({ path: path.join(OUT_DIR, promptShot.replace(".png", "-up.png")) });
  }
  const panel = page.locator('#panel-login:is([data-state="success"], [data-state="failure"])');
  await panel.waitFor({ timeout: 120_000 });
  page.off("response", onResponse);
  // What the server measured (the audit event's liveness report: turns, parallax, bend,
  // the light's correlation), for diagnosis.
  const audit = await fetch(`${server.base}/v1/audit?event=authenticate&limit=1`, {
    headers: { Authorization: `Bearer ${server.adminToken}` },
  });
  writeFileSync(path.join(OUT_DIR, `${name}-audit.json`), JSON.stringify(await audit.json(), null, 2));
  return {
    state: await panel.getAttribute("data-state"),
    reason: await panel.getAttribute("data-reason"),
    title: await page.locator("#login-result-title").innerText(),
    text: await page.locator("#login-result-text").innerText(),
  };
}

/**
 * `loginThroughPage`, once more with a fresh challenge (its own colours, a new video) if
 * the first try was refused as a bent picture: the synthetic renders' bend along their
 * straightest lines measures 0.0055–0.008 in this test against the threshold of 0.0047
 * (the ruled-surface check's narrow margin, README), and moves with the challenge's
 * colours, so about one login in ten falls under it. What a person does on the page: "Try
 * again". The refusal is recorded (`<name>-retried.json`); a second one fails the test.
 */
async function loginAllowingOneRetry(page, opts) {
  const first = await loginThroughPage(page, opts);
  if (first.reason !== "liveness_ruled_surface") return first;
  writeFileSync(path.join(OUT_DIR, `${opts.name}-retried.json`), JSON.stringify(first, null, 2));
  return loginThroughPage(page, opts);
}

test("the enrolled person's head turn logs in, and the token is a valid session", async () => {
  videos.a = path.join(tmp, "a-obama.y4m");
  const { page, close } = await launchWithCamera({ video: videos.a });
  try {
    const prepare = async () => {
      const challenge = await challengeWithSteps();
      videoFor("a", challenge, "a-obama");
      return challenge;
    };
    const r = await loginAllowingOneRetry(page, { prepare, promptShot: "login-prompt.png", name: "login-a" });
    await page.screenshot({ path: path.join(OUT_DIR, "login-success.png") });
    assert.equal(r.state, "success", `refused: ${r.reason} — ${r.title}: ${r.text}`);
    assert.match(r.text, /logged in as obama/);
    assert.equal(await page.locator("#whoami-user").innerText(), "obama");

    const saved = await page.evaluate(() => JSON.parse(sessionStorage.getItem("faceid.session")));
    assert.equal(saved.userId, "obama");
    const res = await fetch(`${server.base}/v1/session`, { headers: { Authorization: `Bearer ${saved.token}` } });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.valid, true);
    assert.equal(body.user_id, "obama");

    // The session survives a reload (checked again with the server)...
    await page.reload();
    await page.locator('#panel-login[data-state="success"]').waitFor();
    assert.equal(await page.locator("#whoami-user").innerText(), "obama");
    // ...and lets the person add a photo to their own profile, without the admin token.
    await page.getByRole("button", { name: "Add photos to my profile" }).click();
    const enroll = page.locator("#panel-enroll");
    assert.equal(await enroll.getByLabel("User name").inputValue(), "obama");
    assert.equal(await enroll.getByRole("radio", { name: /My session \(obama\)/ }).isChecked(), true);
    await page.locator("#enroll-files").setInputFiles([img("face_recognition/obama3.jpg")]);
    await page.getByRole("button", { name: "Enroll 1 photo" }).click();
    await page.locator('#panel-enroll[data-state="success"]').waitFor({ timeout: 60_000 });
    assert.match(await page.locator("#enroll-result-title").innerText(), /1 photo enrolled for obama/);
    await page.screenshot({ path: path.join(OUT_DIR, "enroll-with-session.png"), fullPage: true });
  } finally {
    await close();
  }
});

test("that login's recording, replayed to a new challenge, is refused", async () => {
  assert.ok(videos.a, "needs the first test's video");
  // Same person, same turns in the same order (the attacker re-requested until they
  // matched): only the screen colours differ, and the recording carries the old ones.
  const { page, close } = await launchWithCamera({ video: videos.a });
  try {
    const r = await loginThroughPage(page, { prepare: challengeWithSteps, name: "login-replay" });
    await page.screenshot({ path: path.join(OUT_DIR, "login-replay-refused.png"), fullPage: true });
    assert.equal(r.state, "failure");
    assert.equal(r.reason, "liveness_light_mismatch", `${r.title}: ${r.text}`);
    assert.equal(r.title, "The pictures don't match this check");
  } finally {
    await close();
  }
});

test("another person's head turn is refused with a clear message (phone width)", async () => {
  videos.b = path.join(tmp, "b-cruise.y4m");
  const { page, close } = await launchWithCamera({ video: videos.b, viewport: { width: 390, height: 844 } });
  try {
    const prepare = async () => {
      const challenge = await challengeWithSteps();
      videoFor("b", challenge, "b-cruise");
      return challenge;
    };
    const r = await loginAllowingOneRetry(page, { prepare, name: "login-b", promptShot: "login-prompt-phone.png" });
    await page.screenshot({ path: path.join(OUT_DIR, "login-refused-phone.png"), fullPage: true });
    assert.equal(r.state, "failure");
    // Liveness passes (a synthetic head turn), the face does not match anyone enrolled.
    assert.equal(r.reason, "no_match", `${r.title}: ${r.text}`);
    assert.equal(r.title, "We couldn't recognise you");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("faceid.session")), null);
  } finally {
    await close();
  }
});

test("the enroll page reports each photo in words", async () => {
  const { page, close } = await launchWithCamera({ video: videos.a });
  try {
    await page.goto(`${server.base}/`);
    await page.getByRole("tab", { name: "Enroll" }).click();
    const enroll = page.locator("#panel-enroll");
    await enroll.getByLabel("User name").fill("obama");
    await enroll.getByLabel("Admin token", { exact: true }).fill(server.adminToken);
    await page.locator("#enroll-files").setInputFiles([
      img("face_recognition/obama3.jpg"),
      img("face_recognition/two_people.jpg"),
      img("pypi/coffee.png"),
    ]);
    await page.getByRole("button", { name: "Enroll 3 photos" }).click();
    const panel = page.locator('#panel-enroll:is([data-state="partial"], [data-state="success"], [data-state="failure"])');
    await panel.waitFor({ timeout: 120_000 });
    await page.screenshot({ path: path.join(OUT_DIR, "enroll-result.png"), fullPage: true });
    assert.equal(await panel.getAttribute("data-state"), "partial");
    const notes = await page.locator("#enroll-shots .shot-note").allInnerTexts();
    assert.deepEqual(notes, [
      "Enrolled ✓",
      "More than one face is in this photo — only the person enrolling may be in it.",
      "No face was found in this photo.",
    ]);
    assert.match(await page.locator("#enroll-result-title").innerText(), /1 photo enrolled for obama/);
  } finally {
    await close();
  }
});
