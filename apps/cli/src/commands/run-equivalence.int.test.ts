import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RunSummary } from "@halo/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Output equivalence on real llama.cpp (the example workflow, its 38 queries, two local
// executors with one thread each, the synthesized stand-ins): Halo's dp plan — micro-batches
// across queries, coalescing, shared prefixes, model placement — must answer every query
// exactly as per-query execution (the naive strategy) does, token for token.
const BIN = fileURLToPath(new URL("../../dist/bin.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

let directory: string;
let database: string;
let environment: NodeJS.ProcessEnv;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-equivalence-"));
  database = join(directory, "tpch.duckdb");
  // HALO_HOME when set (models and the measured profile shared across runs), else a fresh one.
  environment = { ...process.env, HALO_HOME: process.env.HALO_HOME ?? join(directory, "halo-home") };
  const generated = halo(["datasets", "gen", "tpch", "--scale", "0.01", "--out", database]);
  expect(generated.status, generated.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function halo(args: readonly string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: environment,
    timeout: 600_000,
  });
}

async function runExample(strategy: string) {
  const out = join(directory, `${strategy}.jsonl`);
  const summaryPath = join(directory, `${strategy}-summary.json`);
  const result = halo([
    "run",
    join("examples", "tpch-diamond.yaml"),
    "--queries",
    join("examples", "queries.jsonl"),
    "--db",
    database,
    "--strategy",
    strategy,
    "--out",
    out,
    "--summary",
    summaryPath,
  ]);
  expect(result.status, result.stderr).toBe(0);
  const records = (await readFile(out, "utf8"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { id: string; ok: boolean; outputs: Record<string, unknown> });
  const summary = JSON.parse(await readFile(summaryPath, "utf8")) as RunSummary;
  return { records, summary };
}

describe("output equivalence on llama.cpp", () => {
  it("the dp plan answers every query of the example exactly as per-query execution does", async () => {
    const halo = await runExample("dp");
    const naive = await runExample("naive");
    expect(halo.summary.mode).toBe("batched");
    expect(naive.summary.mode).toBe("per-query");
    // The optimizations were really at work: fewer calls, larger batches.
    expect(halo.summary.llm.calls).toBeLessThan(naive.summary.llm.calls);
    expect(halo.summary.llm.batches).toBeLessThan(naive.summary.llm.batches);
    expect(halo.records).toHaveLength(38);
    expect(naive.records).toHaveLength(38);
    const naiveById = new Map(naive.records.map((record) => [record.id, record]));
    for (const record of halo.records) {
      expect(record.ok).toBe(true);
      expect(record.outputs, record.id).toEqual(naiveById.get(record.id)?.outputs);
    }
    // Greedy gibberish still differs between queries: the comparison is not vacuous.
    expect(new Set(halo.records.map((record) => JSON.stringify(record.outputs))).size).toBeGreaterThan(20);
  }, 600_000);
});
