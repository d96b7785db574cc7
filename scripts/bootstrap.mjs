#!/usr/bin/env node
// First step of `npm run demo` and `npm test`: pinned pnpm, dependencies, build.
// Safe to run repeatedly: pnpm and turbo skip what is already up to date.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
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
for (const step of steps) {
  const status = runPnpm(step);
  if (status !== 0) {
    console.error(`[halo] 'pnpm ${step.join(" ")}' failed with exit code ${status}`);
    process.exit(status);
  }
}
