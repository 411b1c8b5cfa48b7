// FaceID web page: the "Log in" (liveness challenge) and "Enroll" (photos) flows.
// Plain modules, no build step. Panels expose their state in `data-state` (and a refused
// login its `data-reason`) so tests and styles can follow along.

import * as api from "./api.js";
import { openCamera, stopCamera, captureJpeg, fileToJpeg } from "./camera.js";
import { CAMERA_SETTLE_MS, planCapture, READY_MS } from "./schedule.js";
import * as words from "./messages.js";

const $ = (id) => document.getElementById(id);
const USER_RE = /^[A-Za-z0-9_@][A-Za-z0-9._@-]{0,63}$/;
const SESSION_KEY = "faceid.session";
const MAX_PHOTOS = 5;

const canvas = $("capture-canvas");

function announce(text) {
  // Re-set so repeated messages are announced again.
  $("status").textContent = "";
  setTimeout(() => ($("status").textContent = text), 50);
}

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const id = setTimeout(resolve, Math.max(0, ms));
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(id);
        reject(signal.reason);
      },
      { once: true },
    );
  });

function formatTime(value) {
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// ───────────── session (kept in sessionStorage: gone when the tab closes) ─────────────

let session = null;

function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
    if (s?.token && s?.userId) return s;
  } catch {
    /* storage unavailable or corrupt: no session */
  }
  return null;
}

function setSession(s) {
  try {
    if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
    else sessionStorage.removeItem(SESSION_KEY);
  } catch {
    /* private mode: the session lives in memory only */
  }
  showSession(s);
}

function showSession(s) {
  session = s;
  $("whoami").hidden = !s;
  $("whoami-user").textContent = s?.userId ?? "";
  $("auth-choices").hidden = !s;
  $("enroll-token-hint").hidden = Boolean(s);
  $("auth-session-user").textContent = s?.userId ?? "";
  if (s && !$("enroll-user").value) $("enroll-user").value = s.userId;
  syncAuthChoice();
}

function logout() {
  setSession(null);
  showLoginIntro();
  announce("You are logged out.");
}

// ───────────── tabs ─────────────

const tabs = [$("tab-login"), $("tab-enroll")];

function selectTab(tab, focus = false) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute("aria-controls")).hidden = !on;
  }
  if (tab !== tabs[0]) cancelLogin();
  if (tab !== tabs[1]) closeEnrollCamera();
  if (focus) tab.focus();
}

tabs.forEach((t, i) => {
  t.addEventListener("click", () => selectTab(t));
  t.addEventListener("keydown", (e) => {
    const k = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
    if (k) {
      e.preventDefault();
      selectTab(tabs[(i + k + tabs.length) % tabs.length], true);
    } else if (e.key === "Home" || e.key === "End") {
      e.preventDefault();
      selectTab(tabs[e.key === "Home" ? 0 : tabs.length - 1], true);
    }
  });
});

// ───────────── Log in ─────────────

const loginPanel = $("panel-login");
let loginRun = null; // AbortController of the attempt in progress
let lockedUntil = 0; // Date.now() until which the server asked us to wait (429)

function setLoginState(state, reason) {
  loginPanel.dataset.state = state;
  if (reason) loginPanel.dataset.reason = reason;
  else delete loginPanel.dataset.reason;
}

function showLoginIntro() {
  $("login-intro").hidden = false;
  $("login-stage").hidden = true;
  $("login-result").hidden = true;
  setLoginState("idle");
}

function validateUser(input, errorEl, required) {
  const v = input.value.trim();
  let problem = "";
  if (!v && required) problem = "Enter a user name.";
  else if (v && !USER_RE.test(v)) problem = "Use 1 to 64 letters, digits and . _ - @, not starting with . or -.";
  errorEl.textContent = problem;
  errorEl.hidden = !problem;
  input.setAttribute("aria-invalid", String(Boolean(problem)));
  if (problem) input.focus();
  return problem ? null : v;
}

// What each step asks: the prompt while it runs, its short label, and its arrow (left and
// right are the person's own: the preview is a mirror).
const STEPS = {
  left: { prompt: "Turn your head to your left", label: "Turn left", spoken: "turn to your left", arrow: "←" },
  right: { prompt: "Turn your head to your right", label: "Turn right", spoken: "turn to your right", arrow: "→" },
  up: { prompt: "Tilt your head back and look up", label: "Look up", spoken: "look up", arrow: "↑" },
  down: { prompt: "Tilt your head forward and look down", label: "Look down", spoken: "look down", arrow: "↓" },
};

function renderSteps(steps) {
  const list = $("login-steps");
  list.replaceChildren(
    ...steps.map((s, i) => {
      const li = document.createElement("li");
      li.className = "step";
      li.dataset.pose = s;
      li.innerHTML = `<span class="arrow" aria-hidden="true">${STEPS[s]?.arrow ?? ""}</span><span class="label"></span>`;
      li.querySelector(".label").textContent = STEPS[s]?.label ?? s;
      li.setAttribute("aria-label", `Step ${i + 1} of ${steps.length}: ${STEPS[s]?.spoken ?? s}`);
      return li;
    }),
  );
}

function markStep(index, state) {
  const li = $("login-steps").children[index];
  if (!li) return;
  li.dataset.state = state;
  if (state === "active") li.setAttribute("aria-current", "step");
  else li.removeAttribute("aria-current");
}

function setPrompt(text, pose) {
  $("login-prompt").textContent = text;
  const cue = $("login-cue");
  cue.textContent = STEPS[pose]?.arrow ?? "";
  cue.dataset.pose = pose ?? "";
}

function setProgress(fraction) {
  const pct = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  const bar = $("login-progress");
  bar.setAttribute("aria-valuenow", String(pct));
  bar.querySelector(".bar").style.width = `${pct}%`;
}

function showLoginResult({ ok, title, text, details, reason, state }) {
  const result = $("login-result");
  $("login-intro").hidden = true;
  $("login-stage").hidden = true;
  result.hidden = false;
  result.dataset.kind = ok ? "success" : "failure";
  $("login-result-title").textContent = title;
  $("login-result-text").textContent = text;
  const dl = $("login-result-details");
  dl.replaceChildren();
  for (const [k, v] of details ?? []) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  }
  dl.hidden = !details?.length;
  $("login-retry").hidden = ok;
  $("login-add-photos").hidden = !ok;
  $("login-logout").hidden = !ok;
  setLoginState(state ?? (ok ? "success" : "failure"), reason);
  result.focus();
  announce(`${title}. ${text}`);
}

function showLoggedIn(s, message) {
  showLoginResult({
    ok: true,
    title: message || `Welcome back, ${s.userId}!`,
    text: `You are logged in as ${s.userId}.`,
    details: [
      ...(s.expiresAt ? [["Session valid until", formatTime(s.expiresAt)]] : []),
    ],
  });
}

function showLockout(seconds) {
  lockedUntil = Date.now() + seconds * 1000;
  const retry = $("login-retry");
  const tick = () => {
    const left = Math.ceil((lockedUntil - Date.now()) / 1000);
    if (left > 0) {
      retry.disabled = true;
      retry.textContent = `Try again in ${left} s`;
      setTimeout(tick, 1000);
    } else {
      retry.disabled = false;
      retry.textContent = "Try again";
    }
  };
  tick();
}

function cancelLogin() {
  if (loginRun) loginRun.abort(new DOMException("cancelled", "AbortError"));
}

// The challenge's screen colours (challenge.lights[k] while frame k is taken).
const LIGHT_RGB = {
  red: "#ff0000",
  green: "#00ff00",
  blue: "#0000ff",
  yellow: "#ffff00",
  cyan: "#00ffff",
  magenta: "#ff00ff",
};
function showLight(name) {
  const el = $("screen-light");
  const rgb = name ? LIGHT_RGB[name] : undefined;
  el.hidden = !rgb;
  document.body.classList.toggle("lit", Boolean(rgb));
  if (rgb) el.style.background = rgb;
}

async function runLogin(userId) {
  const run = new AbortController();
  loginRun = run;
  const { signal } = run;
  const video = $("login-video");
  let stream = null;
  const onHidden = () => {
    if (document.hidden) run.abort(Object.assign(new Error("hidden"), { name: "PageHidden" }));
  };
  document.addEventListener("visibilitychange", onHidden);

  $("login-intro").hidden = true;
  $("login-result").hidden = true;
  $("login-stage").hidden = false;
  $("login-steps").replaceChildren();
  setProgress(0);
  setPrompt("Starting the camera…");
  setLoginState("starting");

  try {
    // The camera first (a permission prompt can take any time), then the challenge, then
    // the plan: the server holds the answer to the capture plan's time from the moment it
    // issues the challenge, and the countdown's light phase needs its colours. The
    // timeline is anchored at the challenge's arrival (or the camera's settling, if later)
    // so prompts, colours and captures follow the same clock.
    let cam;
    try {
      cam = await openCamera(video);
    } catch (e) {
      throw Object.assign(new Error("camera"), { name: "CameraError", cause: e });
    }
    stream = cam.stream;
    if (signal.aborted) throw signal.reason;
    setLoginState("ready");
    setPrompt("Look straight at the camera…", "front");
    const res = await api.createChallenge(signal);
    if (res.status !== 201 || !Array.isArray(res.data?.steps)) {
      throw Object.assign(new Error("challenge"), { name: "ApiAnswer", res });
    }
    const challenge = res.data;
    renderSteps(challenge.steps);
    const plan = planCapture(challenge.steps, {
      minFrames: challenge.min_frames,
      maxFrames: challenge.max_frames,
      phaseFrames: challenge.light_phase_frames,
    });
    const lights = Array.isArray(challenge.lights) ? challenge.lights : [];
    const t0 = Math.max(cam.startedAt + CAMERA_SETTLE_MS, performance.now());
    // 3-2-1 over the countdown, while its still frames are taken.
    const countdown = (async () => {
      for (let s = 3; s > 0; s--) {
        await sleep(t0 + READY_MS - (s * READY_MS) / 3 - performance.now(), signal);
        setPrompt(`Look straight at the camera… ${s}`, "front");
      }
    })();
    countdown.catch(() => {}); // an abort ends the plan's loop below as well
    setLoginState("running");
    const frames = [];
    for (const ev of plan.events) {
      await sleep(t0 + ev.t - performance.now(), signal);
      if (ev.kind === "light") {
        showLight(lights[ev.frame]);
      } else if (ev.kind === "prompt") {
        if (ev.pose === "front") {
          // Before the first step the countdown (above) prompts.
          if (ev.step >= 0) {
            markStep(ev.step, "done");
            setPrompt("Good. Now face the camera again.", "front");
          }
        } else {
          markStep(ev.step, "active");
          setPrompt(STEPS[ev.pose]?.prompt ?? `Move your head: ${ev.pose}`, ev.pose);
        }
      } else {
        const jpeg = captureJpeg(video, canvas);
        // Frame k must be sent as the k-th, or it is judged against another colour.
        if (!jpeg) throw Object.assign(new Error("camera"), { name: "CameraError", cause: new Error("no frame") });
        frames.push(jpeg);
      }
      setProgress(ev.t / plan.totalMs);
    }
    showLight(null);
    stopCamera(stream, video);
    stream = null;
    setProgress(1);
    setPrompt("Checking…");
    setLoginState("checking");

    const answer = await api.authenticate({ challengeId: challenge.challenge_id, userId, frames }, signal);
    const d = answer.data;
    if (answer.status === 200 && d?.authenticated && d.token) {
      const s = {
        token: d.token,
        userId: d.user_id,
        expiresAt: d.expires_at,
      };
      setSession(s);
      showLoggedIn(s, d.message);
    } else if (answer.status === 401 && d && d.authenticated === false) {
      const w = words.loginRefusal(d.reason, d.message, { userId });
      showLoginResult({ ok: false, ...w, reason: d.reason });
    } else {
      throw Object.assign(new Error("authenticate"), { name: "ApiAnswer", res: answer });
    }
  } catch (e) {
    const err = e?.name === "CameraError" ? e.cause : e;
    if (err?.name === "AbortError" && err.message === "cancelled") {
      showLoginIntro();
      announce("Cancelled.");
    } else if (err?.name === "PageHidden") {
      showLoginResult({
        ok: false,
        title: "The check was interrupted",
        text: "The page went to the background. Keep it open until the check finishes, then start again.",
        reason: "interrupted",
      });
    } else if (e?.name === "CameraError") {
      showLoginResult({ ok: false, ...words.cameraError(err), reason: `camera_${err?.name ?? "error"}` });
    } else if (err instanceof api.NetworkError) {
      showLoginResult({ ok: false, ...words.NETWORK, reason: "network" });
    } else if (err?.name === "ApiAnswer") {
      const { status, data, retryAfter } = err.res;
      showLoginResult({
        ok: false,
        ...words.apiError(status, data, { retryAfter }),
        reason: data?.error?.code ?? `http_${status}`,
      });
      if (status === 429) showLockout(retryAfter ?? 60);
    } else {
      console.error(err);
      showLoginResult({ ok: false, title: "Something went wrong", text: "Please try again.", reason: "error" });
    }
  } finally {
    showLight(null);
    stopCamera(stream, video);
    document.removeEventListener("visibilitychange", onHidden);
    if (loginRun === run) loginRun = null;
  }
}

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  if (loginRun) return;
  if (Date.now() < lockedUntil) {
    const wait = (lockedUntil - Date.now()) / 1000;
    showLoginResult({ ok: false, ...words.apiError(429, null, { retryAfter: wait }), reason: "too_many_attempts" });
    showLockout(wait);
    return;
  }
  const user = validateUser($("login-user"), $("login-user-error"), false);
  if (user === null) return;
  runLogin(user || null);
});
$("login-cancel").addEventListener("click", cancelLogin);
$("login-retry").addEventListener("click", () => {
  if (Date.now() < lockedUntil) return;
  showLoginIntro();
  $("login-start").focus();
});
$("login-logout").addEventListener("click", logout);
$("logout-top").addEventListener("click", logout);
$("login-add-photos").addEventListener("click", () => {
  if (session) $("enroll-user").value = session.userId;
  $("auth-session").checked = true;
  syncAuthChoice();
  selectTab(tabs[1], true);
});

// ───────────── Enroll ─────────────

const enrollPanel = $("panel-enroll");
let enrollStream = null;
let shots = []; // {id, jpeg, url, result?: {ok, text}}
let shotSeq = 0;
let busyEnroll = false;

function syncAuthChoice() {
  const useSession = Boolean(session) && $("auth-session").checked;
  if (!session && $("auth-session").checked) $("auth-admin").checked = true;
  $("admin-token-field").hidden = useSession;
}
for (const r of document.querySelectorAll('input[name="auth"]')) r.addEventListener("change", syncAuthChoice);

function renderShots() {
  const list = $("enroll-shots");
  list.replaceChildren(
    ...shots.map((s, i) => {
      const li = document.createElement("li");
      li.className = "shot";
      if (s.result) li.dataset.result = s.result.ok ? "accepted" : "rejected";
      const img = document.createElement("img");
      img.src = s.url;
      img.alt = `Photo ${i + 1}`;
      const caption = document.createElement("p");
      caption.className = "shot-note";
      caption.textContent = s.result ? s.result.text : `Photo ${i + 1}`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "remove";
      remove.textContent = "×";
      remove.setAttribute("aria-label", `Remove photo ${i + 1}`);
      remove.addEventListener("click", () => {
        shots = shots.filter((x) => x !== s);
        renderShots();
        $("enroll-submit").focus();
      });
      li.append(img, caption, remove);
      return li;
    }),
  );
  const n = shots.length;
  $("shots-count").textContent = `(${n} of ${MAX_PHOTOS})`;
  $("enroll-empty").hidden = n > 0;
  // Photos already answered (enrolled, or rejected: retake those) are not sent again.
  const pending = shots.filter((s) => !s.result).length;
  $("enroll-submit").disabled = busyEnroll || pending === 0;
  $("enroll-submit").textContent = pending ? `Enroll ${pending} photo${pending === 1 ? "" : "s"}` : "Enroll photos";
  $("enroll-snap").disabled = !enrollStream || n >= MAX_PHOTOS || busyEnroll;
}

function addShot(jpeg) {
  if (!jpeg || shots.length >= MAX_PHOTOS) return false;
  shots.push({ id: ++shotSeq, jpeg, url: `data:image/jpeg;base64,${jpeg}` });
  renderShots();
  return true;
}

function showEnrollResult(kind, title, text) {
  const r = $("enroll-result");
  r.hidden = !title;
  r.dataset.kind = kind;
  $("enroll-result-title").textContent = title ?? "";
  $("enroll-result-text").textContent = text ?? "";
  if (title) {
    r.focus();
    announce(`${title}. ${text ?? ""}`);
  }
}

async function openEnrollCamera() {
  const video = $("enroll-video");
  try {
    const cam = await openCamera(video);
    enrollStream = cam.stream;
    $("enroll-camera-off").hidden = true;
    $("enroll-camera").textContent = "Stop camera";
    enrollPanel.dataset.camera = "on";
    showEnrollResult();
  } catch (e) {
    const w = words.cameraError(e);
    showEnrollResult("failure", w.title, `${w.text} You can still choose photo files instead.`);
  }
  renderShots();
}

function closeEnrollCamera() {
  stopCamera(enrollStream, $("enroll-video"));
  enrollStream = null;
  $("enroll-camera-off").hidden = false;
  $("enroll-camera").textContent = "Start camera";
  enrollPanel.dataset.camera = "off";
  renderShots();
}

$("enroll-camera").addEventListener("click", () => (enrollStream ? closeEnrollCamera() : openEnrollCamera()));

$("enroll-snap").addEventListener("click", async () => {
  const snap = $("enroll-snap");
  snap.disabled = true;
  try {
    if ($("enroll-timer").checked) {
      const cd = $("enroll-countdown");
      for (let s = 3; s > 0; s--) {
        cd.textContent = String(s);
        announce(String(s));
        await sleep(1000);
      }
      cd.textContent = "";
    }
    if (!enrollStream) return;
    if (addShot(captureJpeg($("enroll-video"), canvas))) announce(`Photo ${shots.length} taken.`);
  } finally {
    renderShots();
  }
});

$("enroll-files").addEventListener("change", async (e) => {
  const files = [...e.target.files];
  e.target.value = "";
  let unreadable = 0;
  for (const f of files) {
    if (shots.length >= MAX_PHOTOS) break;
    try {
      addShot(await fileToJpeg(f, canvas));
    } catch {
      unreadable += 1;
    }
  }
  if (unreadable) {
    showEnrollResult("failure", "Some files couldn't be opened", `${unreadable} file(s) are not photos this browser can read.`);
  }
  announce(`${shots.length} photo${shots.length === 1 ? "" : "s"} ready.`);
});

$("enroll-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (busyEnroll) return;
  const user = validateUser($("enroll-user"), $("enroll-user-error"), true);
  if (!user) return;
  const useSession = Boolean(session) && $("auth-session").checked;
  const token = useSession ? session.token : $("enroll-token").value.trim();
  const tokenError = $("enroll-token-error");
  tokenError.hidden = Boolean(token);
  tokenError.textContent = token ? "" : "Enter the admin token (or log in first to add photos to your own profile).";
  if (!token) {
    $("enroll-token").focus();
    return;
  }
  const pending = shots.filter((s) => !s.result);
  if (!pending.length) return;

  busyEnroll = true;
  enrollPanel.dataset.state = "sending";
  $("enroll-submit").textContent = "Sending…";
  $("enroll-submit").disabled = true;
  showEnrollResult();
  try {
    const res = await api.addFaces(user, pending.map((s) => s.jpeg), token);
    const d = res.data;
    const rejected = res.status === 201 ? d?.rejected : d?.error?.details?.rejected;
    for (const r of rejected ?? []) {
      const s = pending[r.index];
      if (s) s.result = { ok: false, text: words.PHOTO_REASONS[r.reason] ?? r.message ?? "This photo can't be used." };
    }
    if (res.status === 201) {
      for (const f of d?.faces ?? []) {
        const s = pending[f.index];
        if (s) s.result = { ok: true, text: "Enrolled ✓" };
      }
      const ok = d?.faces?.length ?? 0;
      const bad = rejected?.length ?? 0;
      enrollPanel.dataset.state = bad ? "partial" : "success";
      showEnrollResult(
        bad ? "partial" : "success",
        `${ok} photo${ok === 1 ? "" : "s"} enrolled for ${user}`,
        bad
          ? `${bad} photo${bad === 1 ? " was" : "s were"} not usable — see the reason under each. ${user} can log in now.`
          : `${user} can log in now.`,
      );
    } else {
      const w = words.apiError(res.status, d, { retryAfter: res.retryAfter });
      enrollPanel.dataset.state = "failure";
      showEnrollResult("failure", w.title, w.text);
    }
  } catch (err) {
    enrollPanel.dataset.state = "failure";
    if (err instanceof api.NetworkError) showEnrollResult("failure", words.NETWORK.title, words.NETWORK.text);
    else {
      console.error(err);
      showEnrollResult("failure", "Something went wrong", "Please try again.");
    }
  } finally {
    busyEnroll = false;
    renderShots();
  }
});

// ───────────── start-up ─────────────

async function restoreSession() {
  const saved = loadSession();
  if (!saved) return;
  showSession(saved);
  showLoggedIn(saved);
  try {
    const res = await api.session(saved.token);
    if (res.status === 200 && res.data?.valid) return;
    if (res.status === 401) {
      setSession(null);
      showLoginIntro();
      announce("Your session has expired. Please log in again.");
    }
  } catch {
    // Offline: keep showing the stored session; the server decides when it is used.
  }
}

showSession(null);
renderShots();
restoreSession();
