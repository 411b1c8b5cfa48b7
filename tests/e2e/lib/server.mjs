// Starts the real `faceid serve` on a free port with a throw-away data dir.
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { FACEID_BIN, ROOT, requireFile } from "./paths.mjs";

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * @param {{logFile: string, readyTimeoutMs?: number}} opts
 * @returns {Promise<{base: string, adminToken: string, stop: () => Promise<void>}>}
 */
export async function startServer({ logFile, readyTimeoutMs = 180_000 }) {
  requireFile(FACEID_BIN, "build it first (cargo build -p faceid) or set FACEID_BIN");
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "faceid-e2e-data-"));
  const adminToken = randomBytes(24).toString("hex");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = createWriteStream(logFile);
  const child = spawn(FACEID_BIN, ["serve", "--addr", `127.0.0.1:${port}`], {
    cwd: ROOT, // serves ./web
    env: {
      ...process.env,
      FACEID_DATA_DIR: dataDir,
      FACEID_ADMIN_TOKEN: adminToken,
      // The page's up/down prompts are part of what this test covers (nods are off by default).
      FACEID_CHALLENGE_NODS: "true",
      RUST_LOG: process.env.RUST_LOG || "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on("exit", (code, signal) => (exited = { code, signal }));

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited) throw new Error(`faceid serve exited early (${JSON.stringify(exited)}); see ${logFile}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`faceid serve not ready after ${readyTimeoutMs} ms; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  const stop = async () => {
    if (!exited) {
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT"); // graceful: flushes the audit spool
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await gone;
      clearTimeout(timer);
    }
    log.end();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { base, adminToken, stop };
}
