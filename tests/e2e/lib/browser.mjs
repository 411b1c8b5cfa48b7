// Debian Chromium with a fake camera playing a .y4m file, via playwright-core.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, requireFile } from "./paths.mjs";

/**
 * @param {{video: string, viewport?: {width: number, height: number}}} opts
 * @returns {Promise<{context: import("playwright-core").BrowserContext, page: import("playwright-core").Page, close: () => Promise<void>}>}
 */
export async function launchWithCamera({ video, viewport = { width: 1280, height: 900 } }) {
  requireFile(CHROMIUM, "apt-get install -y chromium (or set CHROMIUM_BIN)");
  // A fresh profile each time (launchPersistentContext owns --user-data-dir).
  const profile = mkdtempSync(path.join(os.tmpdir(), "faceid-e2e-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      `--use-file-for-fake-video-capture=${video}`,
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, close };
}

/**
 * Makes the page's challenge request come back with `want` as its steps: the test asks
 * the real server again (each answer is a new, valid challenge) until the random order
 * matches the video. The server is not changed for the test.
 */
export async function pinChallengeOrder(page, want, maxTries = 60) {
  const seen = [];
  await page.route("**/v1/challenge", async (route) => {
    for (let i = 0; i < maxTries; i++) {
      const response = await route.fetch();
      const body = await response.json();
      seen.push(body.steps);
      if (JSON.stringify(body.steps) === JSON.stringify(want)) {
        await route.fulfill({ response, json: body });
        return;
      }
    }
    await route.abort("failed");
  });
  return seen;
}
