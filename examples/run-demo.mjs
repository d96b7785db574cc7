#!/usr/bin/env node
// `npm run demo`: the example batch end to end on the embedded defaults.
// 1. Generates the small TPC-H database on first use (.halo/demo/tpch.duckdb).
// 2. Runs examples/tpch-diamond.yaml over examples/queries.jsonl with `halo run`:
//    two local llama.cpp executors, one thread each, synthesized stand-in models.
// 3. Shows a few answers (gibberish: the stand-ins have random weights).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const halo = join(root, "apps", "cli", "dist", "bin.js");
const demo = join(root, ".halo", "demo");
const database = join(demo, "tpch.duckdb");
const results = join(demo, "results.jsonl");

function run(args) {
  const status = spawnSync(process.execPath, [halo, ...args], { cwd: root, stdio: "inherit" }).status;
  if (status !== 0) {
    console.error(`[demo] halo ${args[0]} failed with exit code ${status}`);
    process.exit(status ?? 1);
  }
}

mkdirSync(demo, { recursive: true });
if (!existsSync(database)) {
  // Written under another name and renamed, so an interrupted generation never leaves a partial database.
  const partial = `${database}.partial`;
  rmSync(partial, { force: true });
  run(["datasets", "gen", "tpch", "--scale", "0.01", "--out", partial]);
  renameSync(partial, database);
}
const started = performance.now();
run([
  "run",
  join("examples", "tpch-diamond.yaml"),
  "--queries",
  join("examples", "queries.jsonl"),
  "--db",
  database,
  "--out",
  results,
]);
const records = readFileSync(results, "utf8")
  .trim()
  .split("\n")
  .map((line) => JSON.parse(line));
console.log("\nsample answers (random-weight stand-in models, so the text is gibberish):");
for (const record of records.slice(0, 3))
  console.log(`  ${record.id}: ${JSON.stringify(record.outputs.answer ?? record.error)}`);
console.log(
  `\n[demo] halo run took ${((performance.now() - started) / 1000).toFixed(1)} s (executors, profile on first use, run)`,
);
