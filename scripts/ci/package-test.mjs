#!/usr/bin/env node
// The packaging test: do the public packages work outside the workspace?
// 1. Packs every public package with pnpm (so `workspace:*` becomes the real version; prepack adds LICENSE).
// 2. Installs the tarballs with plain npm into a fresh folder under the OS temp dir (third-party
//    dependencies come from the npm registry; node-llama-cpp's GPU and other-platform builds are
//    overridden with an empty local package, as the workspace's pnpm `ignoredOptionalDependencies` does).
// 3. Runs there: a plan with a strategy defined in the consumer's script (@halo/ir + @halo/optimizer),
//    a small batch with @halo/runtime on an @halo/engine-sim executor it starts, `npx halo --help`,
//    `halo validate`, `tsc --noEmit` on a consumer .ts file, and every README snippet marked
//    `<!-- package-test: run -->` (the fenced block after the marker) of each installed package, as an
//    ES module in an empty folder of its own: what a user following the README would run.
// Needs the packages built (`npm test` bootstraps first). `--keep` keeps the temp folder.
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pnpmCommand } from "../pnpm.mjs";
import { publicPackages } from "../workspace-packages.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const fixtures = join(dirname(fileURLToPath(import.meta.url)), "package-test");
const keep = process.argv.includes("--keep");
const started = performance.now();
const timings = [];

function step(name, action) {
  const stepStarted = performance.now();
  console.log(`[package-test] ${name}`);
  const result = action();
  timings.push(`${name}: ${((performance.now() - stepStarted) / 1000).toFixed(1)} s`);
  return result;
}

function run(command, args, options) {
  const result = spawnSync(command, args, {
    encoding: "utf8",
    ...options,
    env: { ...process.env, ...options.env },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n").slice(-40).join("\n");
    throw new Error(`${command} ${args.join(" ")} (in ${options.cwd}) exited ${result.status}:\n${output}`);
  }
  return result.stdout ?? "";
}

/** The code of each fenced block that follows a `<!-- package-test: run -->` line. */
function markedSnippets(markdown) {
  const snippets = [];
  const pattern = /^<!-- package-test: run -->\s*\n```[a-z]*\n([\s\S]*?)^```/gm;
  for (const match of markdown.matchAll(pattern)) snippets.push(match[1]);
  return snippets;
}

const consumer = mkdtempSync(join(tmpdir(), "halo-package-test-"));
const tarballs = join(consumer, "tarballs");
mkdirSync(tarballs);
try {
  const packages = publicPackages();
  const pnpm = pnpmCommand();
  step(`pack ${packages.length} public packages`, () => {
    // One recursive pnpm call: each package's prepack/postpack runs, workspace:* is rewritten.
    const filters = packages.flatMap(({ manifest }) => ["--filter", manifest.name]);
    run(pnpm.command, [...pnpm.prefix, "-r", ...filters, "pack", "--pack-destination", tarballs], {
      cwd: root,
    });
  });
  const files = readdirSync(tarballs).filter((name) => name.endsWith(".tgz"));
  if (files.length !== packages.length)
    throw new Error(`expected ${packages.length} tarballs, got ${files.join(", ")}`);

  step("install the tarballs with npm", () => {
    const dependencies = {};
    for (const { manifest } of packages) {
      const file = files.find(
        (name) => name === `${manifest.name.replace("@", "").replace("/", "-")}-${manifest.version}.tgz`,
      );
      if (!file) throw new Error(`no tarball for ${manifest.name}`);
      dependencies[manifest.name] = `file:tarballs/${file}`;
    }
    // The workspace's pins for the consumer's own tooling.
    const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    dependencies["@types/node"] = rootManifest.devDependencies["@types/node"];
    // node-llama-cpp lists every platform's and GPU's build as optional; keep only the CPU one (as the workspace does).
    const workspaceYaml = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
    const ignored = [...workspaceYaml.matchAll(/^\s+-\s+"(@node-llama-cpp\/[^"]+)"/gm)].map(
      (match) => match[1],
    );
    mkdirSync(join(consumer, "empty-optional"));
    writeFileSync(
      join(consumer, "empty-optional", "package.json"),
      '{"name":"empty-optional","version":"1.0.0"}\n',
    );
    const overrides = Object.fromEntries(ignored.map((name) => [name, "file:./empty-optional"]));
    writeFileSync(
      join(consumer, "package.json"),
      `${JSON.stringify({ name: "halo-consumer", private: true, type: "module", dependencies, overrides }, null, 2)}\n`,
    );
    // Install scripts off, as in the workspace (pnpm skips dependency build scripts; prebuilt binaries suffice).
    run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], {
      cwd: consumer,
    });
    if (existsSync(join(consumer, "node_modules", "@node-llama-cpp", "linux-x64-cuda", "bin"))) {
      throw new Error("the CUDA build of node-llama-cpp was installed");
    }
  });

  for (const name of readdirSync(fixtures)) cpSync(join(fixtures, name), join(consumer, name));
  step("plan with a strategy defined by the consumer (@halo/ir + @halo/optimizer)", () => {
    const output = run(process.execPath, ["plan-with-strategy.mjs"], { cwd: consumer });
    if (!output.includes("one-at-a-time")) throw new Error(`plan output lacks the strategy:\n${output}`);
    console.log(output.trim().split("\n").slice(0, 4).join("\n"));
  });
  step("run a batch with @halo/runtime on an @halo/engine-sim executor", () => {
    console.log(run(process.execPath, ["run-batch-on-sim.mjs"], { cwd: consumer }).trim());
  });
  step("npx halo --help; halo validate", () => {
    const help = run("npx", ["--no-install", "halo", "--help"], { cwd: consumer });
    if (!help.includes("Usage: halo")) throw new Error(`unexpected help:\n${help}`);
    const validate = run("npx", ["--no-install", "halo", "validate", "workflow.yaml"], { cwd: consumer });
    console.log(validate.trim().split("\n")[0]);
  });
  step("tsc --noEmit on a consumer .ts file", () => {
    writeFileSync(
      join(consumer, "tsconfig.json"),
      `${JSON.stringify({ compilerOptions: { strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", noEmit: true, types: ["node"] }, files: ["consumer.ts"] }, null, 2)}\n`,
    );
    // The workspace's TypeScript (the pinned version), resolving types from the consumer's node_modules.
    run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], {
      cwd: consumer,
    });
  });
  step("README snippets marked <!-- package-test: run -->, each in an empty folder", () => {
    const ran = [];
    for (const { manifest } of packages) {
      const readme = join(consumer, "node_modules", ...manifest.name.split("/"), "README.md");
      if (!existsSync(readme)) continue;
      markedSnippets(readFileSync(readme, "utf8")).forEach((code, index) => {
        const label = `${manifest.name} README snippet ${index + 1}`;
        const folder = join(consumer, "snippets", `${manifest.name.replace(/^@halo\//, "")}-${index + 1}`);
        mkdirSync(folder, { recursive: true });
        writeFileSync(join(folder, "snippet.mjs"), code);
        try {
          run(process.execPath, ["snippet.mjs"], { cwd: folder, env: { HALO_HOME: join(folder, ".halo") } });
        } catch (error) {
          throw new Error(`${label}: ${error.message}`);
        }
        ran.push(label.replace(" README snippet", ""));
      });
    }
    if (ran.length === 0) throw new Error("no README has a snippet marked <!-- package-test: run -->");
    console.log(`ran ${ran.length} snippets: ${ran.join(", ")}`);
  });
  console.log(
    `[package-test] ok in ${((performance.now() - started) / 1000).toFixed(1)} s (${timings.join("; ")})`,
  );
} catch (error) {
  console.error(`[package-test] FAILED: ${error.message}`);
  if (!keep) console.error(`[package-test] rerun with --keep to inspect the consumer folder`);
  process.exitCode = 1;
} finally {
  if (keep) console.log(`[package-test] consumer folder kept: ${consumer}`);
  else rmSync(consumer, { recursive: true, force: true });
}
