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
 * Answers the page's challenge request with `challenge`, one the test obtained from the
 * real server beforehand (valid and unused), so the fake camera's video can be lit by its
 * colours — as the page's screen would light a real face.
 */
export async function pinChallenge(page, challenge) {
  await page.route("**/v1/challenge", (route) => route.fulfill({ status: 201, json: challenge }));
}
