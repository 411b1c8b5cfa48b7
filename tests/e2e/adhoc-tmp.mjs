import { startServer } from "./lib/server.mjs";
import { chromium } from "playwright-core";
import { mkdtempSync } from "node:fs";
const OUT = "/tmp/h6/shots"; 
import { mkdirSync } from "node:fs"; mkdirSync(OUT, { recursive: true });
const server = await startServer({ logFile: "/tmp/h6/adhoc-serve.log" });
const launch = async (args) => chromium.launchPersistentContext(mkdtempSync("/tmp/h6/prof-"), { executablePath: "/usr/bin/chromium", headless: true, viewport: { width: 900, height: 800 }, args: ["--no-sandbox", "--disable-gpu", ...args] });
try {
  // 1. no camera at all
  let ctx = await launch(["--use-fake-ui-for-media-stream"]);
  let page = ctx.pages()[0];
  await page.goto(server.base + "/");
  await page.getByRole("button", { name: "Start" }).click();
  await page.locator('#panel-login[data-state="failure"]').waitFor({ timeout: 20000 });
  console.log("nocam:", await page.locator("#panel-login").getAttribute("data-reason"), await page.locator("#login-result-title").innerText());
  await page.screenshot({ path: OUT + "/nocam.png" });
  await ctx.close();
  // 2. denied
  ctx = await launch(["--use-fake-device-for-media-stream", "--deny-permission-prompts"]);
  page = ctx.pages()[0];
  await page.goto(server.base + "/");
  await page.getByRole("button", { name: "Start" }).click();
  await page.locator('#panel-login[data-state="failure"]').waitFor({ timeout: 20000 });
  console.log("denied:", await page.locator("#panel-login").getAttribute("data-reason"), await page.locator("#login-result-title").innerText());
  await ctx.close();
  // 3. 429 and network error via routes
  ctx = await launch(["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]);
  page = ctx.pages()[0];
  await page.route("**/v1/authenticate", (r) => r.fulfill({ status: 429, headers: { "Retry-After": "75" }, json: { error: { code: "too_many_attempts", message: "x", retry_after: 75 } } }));
  await page.goto(server.base + "/");
  await page.getByRole("button", { name: "Start" }).click();
  await page.locator('#panel-login[data-state="failure"]').waitFor({ timeout: 40000 });
  console.log("429:", await page.locator("#login-result-text").innerText(), "|", await page.locator("#login-retry").innerText(), await page.locator("#login-retry").isDisabled());
  await page.screenshot({ path: OUT + "/429.png" });
  await page.unroute("**/v1/authenticate");
  await page.route("**/v1/challenge", (r) => r.abort("failed"));
  await page.reload();
  await page.getByRole("button", { name: "Start" }).click();
  await page.locator('#panel-login[data-state="failure"]').waitFor({ timeout: 40000 });
  console.log("net:", await page.locator("#login-result-title").innerText());
  // 4. the real server with the fake pattern camera: no face -> liveness failure
  await page.unroute("**/v1/challenge");
  await page.reload();
  await page.getByRole("button", { name: "Start" }).click();
  await page.locator('#panel-login[data-state="failure"]').waitFor({ timeout: 60000 });
  console.log("pattern:", await page.locator("#panel-login").getAttribute("data-reason"), await page.locator("#login-result-title").innerText());
  // 5. keyboard: tabs with arrows
  await page.reload();
  await page.locator("#tab-login").focus();
  await page.keyboard.press("ArrowRight");
  console.log("tab:", await page.evaluate(() => document.activeElement.id), await page.locator("#panel-enroll").isVisible());
  await page.getByRole("button", { name: "Start camera" }).click();
  await page.locator('#panel-enroll[data-camera="on"]').waitFor();
  await page.getByRole("button", { name: "Take photo" }).click();
  await page.waitForTimeout(300);
  await page.screenshot({ path: OUT + "/enroll-camera.png", fullPage: true });
  await page.getByRole("button", { name: "Enroll 1 photo" }).click();
  console.log("user err:", await page.locator("#enroll-user-error").innerText());
  await page.locator("#enroll-user").fill("bob");
  await page.getByRole("button", { name: "Enroll 1 photo" }).click();
  await page.locator("#enroll-token-error").waitFor();
  console.log("token err:", await page.locator("#enroll-token-error").innerText());
  await page.locator("#enroll-user").fill("bob");
  await page.locator("#enroll-token").fill("wrong-token-wrong-token");
  await page.getByRole("button", { name: "Enroll 1 photo" }).click();
  await page.locator('#panel-enroll[data-state="failure"]').waitFor();
  console.log("bad token:", await page.locator("#enroll-result-title").innerText());
  await page.locator("#enroll-token").fill(server.adminToken);
  await page.getByRole("button", { name: "Enroll 1 photo" }).click();
  await page.locator('.shot[data-result]').waitFor();
  console.log("pattern photo:", await page.locator("#enroll-result-title").innerText(), await page.locator("#enroll-shots .shot-note").allInnerTexts());
  await page.screenshot({ path: OUT + "/enroll-camera-result.png", fullPage: true });
  await ctx.close();
} finally {
  await server.stop();
}
