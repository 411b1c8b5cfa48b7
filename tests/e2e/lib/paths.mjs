// Where things are: the repository, the binaries under test, the browser, the output folder.
import path from "node:path";
import { existsSync } from "node:fs";

export const ROOT = path.resolve(import.meta.dirname, "../../..");
export const FIXTURES = path.join(ROOT, "tests/fixtures");
const target = process.env.CARGO_TARGET_DIR || path.join(ROOT, "target");

/** `faceid` binary: $FACEID_BIN, else $CARGO_TARGET_DIR/debug/faceid. Built by the caller. */
export const FACEID_BIN = process.env.FACEID_BIN || path.join(target, "debug/faceid");
/** `faceid-testkit` binary: $FACEID_TESTKIT_BIN, else next to faceid. */
export const TESTKIT_BIN =
  process.env.FACEID_TESTKIT_BIN || path.join(path.dirname(FACEID_BIN), "faceid-testkit");
/** Debian's Chromium (never a downloaded browser). */
export const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
/** Screenshots and logs. */
export const OUT_DIR = process.env.FACEID_E2E_OUT || path.join(ROOT, "target/e2e");

export function requireFile(file, hint) {
  if (!existsSync(file)) throw new Error(`${file} not found: ${hint}`);
  return file;
}
