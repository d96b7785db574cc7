#!/usr/bin/env node
// Runs the pinned pnpm (package.json "packageManager") without needing it on PATH:
// uses a matching global pnpm when there is one, otherwise installs that exact
// version once into .tools/ with npm (a fresh machine has only Node and npm).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const version = String(manifest.packageManager).replace(/^pnpm@/, "");

function globalPnpmMatches() {
  try {
    const found = execFileSync("pnpm", ["--version"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    return found.trim() === version;
  } catch {
    return false;
  }
}

function localPnpm() {
  const toolsDir = join(root, ".tools");
  const entry = join(toolsDir, "node_modules", "pnpm", "bin", "pnpm.cjs");
  const installed = join(toolsDir, "node_modules", "pnpm", "package.json");
  const current = existsSync(installed) ? JSON.parse(readFileSync(installed, "utf8")).version : undefined;
  if (current !== version) {
    console.error(`[halo] installing pnpm ${version} into .tools/ (one time)`);
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const result = spawnSync(
      npm,
      [
        "install",
        "--prefix",
        toolsDir,
        "--no-save",
        "--no-package-lock",
        "--no-audit",
        "--no-fund",
        `pnpm@${version}`,
      ],
      { stdio: "inherit" },
    );
    if (result.status !== 0) {
      console.error(`[halo] could not install pnpm ${version} with npm`);
      process.exit(result.status ?? 1);
    }
  }
  return entry;
}

export function pnpmCommand() {
  if (globalPnpmMatches()) return { command: "pnpm", prefix: [], binDir: undefined };
  const entry = localPnpm();
  return { command: process.execPath, prefix: [entry], binDir: join(root, ".tools", "node_modules", ".bin") };
}

export function runPnpm(args, options = {}) {
  const { command, prefix, binDir } = pnpmCommand();
  // turbo looks pnpm up on PATH, so the local copy's bin folder goes first.
  const path = binDir ? `${binDir}${delimiter}${process.env.PATH ?? ""}` : process.env.PATH;
  const env = { ...process.env, PATH: path, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" };
  const result = spawnSync(command, [...prefix, ...args], { stdio: "inherit", cwd: root, env, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exit(runPnpm(process.argv.slice(2)));
}
