#!/usr/bin/env node
// First step of `npm run demo` and `npm test`: pinned pnpm, dependencies, build.
// Safe to run repeatedly: pnpm and turbo skip what is already up to date.
import { runPnpm } from "./pnpm.mjs";

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
