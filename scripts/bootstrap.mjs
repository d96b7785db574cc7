#!/usr/bin/env node
// First step of `npm run demo` and `npm test`: pinned pnpm, dependencies, build.
// Safe to run repeatedly: pnpm and turbo skip what is already up to date.
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runPnpm } from "./pnpm.mjs";

// better-sqlite3 (the server's store) compiles with node-gyp when no prebuilt binary can be
// fetched (offline); point node-gyp at this Node's own headers instead of downloading them.
const nodePrefix = dirname(dirname(process.execPath));
// biome-ignore lint/suspicious/noUndeclaredEnvVars: read by node-gyp under pnpm install, not by a turbo task
if (!process.env.npm_config_nodedir && existsSync(join(nodePrefix, "include", "node", "node.h"))) {
  process.env.npm_config_nodedir = nodePrefix;
}

const frozen = process.env.CI ? ["--frozen-lockfile"] : [];
const steps = [
  ["install", "--reporter=append-only", ...frozen],
  ["exec", "turbo", "run", "build", "--output-logs=errors-only"],
];
/**
 * better-sqlite3's native module: pnpm may skip its install script, and its prebuilt download
 * cannot work offline, so compile it once with the node-gyp npm bundles (about 2–4 min).
 */
function ensureBetterSqlite() {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const link = join(root, "apps", "server", "node_modules", "better-sqlite3");
  if (!existsSync(link)) return 0;
  const directory = realpathSync(link);
  if (existsSync(join(directory, "build", "Release", "better_sqlite3.node"))) return 0;
  console.error("[halo] compiling better-sqlite3 (no prebuilt binary offline; one time)");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  return (
    spawnSync(npm, ["run", "build-release"], { cwd: directory, stdio: "inherit", env: process.env }).status ??
    1
  );
}

for (const [index, step] of steps.entries()) {
  const status = runPnpm(step);
  if (status !== 0) {
    console.error(`[halo] 'pnpm ${step.join(" ")}' failed with exit code ${status}`);
    process.exit(status);
  }
  if (index === 0) {
    const built = ensureBetterSqlite();
    if (built !== 0) {
      console.error(`[halo] compiling better-sqlite3 failed with exit code ${built}`);
      process.exit(built);
    }
  }
}
