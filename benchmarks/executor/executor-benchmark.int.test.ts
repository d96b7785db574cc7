import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultExecutorBenchmarkConfig, runExecutorBenchmark } from "./executor-benchmark.js";

// A small run of the whole benchmark (tiny models, short texts, one repeat) through real
// sidecar processes: it checks the measurements run and report consistent figures.
// Timing targets are not asserted here; they belong to the full benchmark run.
let haloHome: string;
const previousHome = process.env["HALO_HOME"];

beforeAll(async () => {
  haloHome = await mkdtemp(join(tmpdir(), "halo-bench-home-"));
  process.env["HALO_HOME"] = haloHome;
});

afterAll(async () => {
  if (previousHome === undefined) delete process.env["HALO_HOME"];
  else process.env["HALO_HOME"] = previousHome;
  await rm(haloHome, { recursive: true, force: true });
});

describe("runExecutorBenchmark", () => {
  it("measures batching, prefix sharing, migration and model switches on tiny models", async () => {
    const lines: string[] = [];
    const results = await runExecutorBenchmark(
      {
        ...defaultExecutorBenchmarkConfig,
        model: "halo/tiny",
        switchModels: ["halo/tiny", "halo/tiny-alt-2B"],
        contextSize: 512,
        maxSequences: 4,
        repeats: 1,
        batchSizes: [1, 2],
        batchMaxTokens: 4,
        prefixPrompts: 6,
        prefixTokens: 64,
        prefixMaxTokens: 2,
        migrationTokens: [64, 128],
      },
      "test",
      (line) => lines.push(line),
    );
    expect(results.batching.rows.map((row) => row.batchSize)).toEqual([1, 2]);
    for (const row of results.batching.rows) {
      expect(row.batchedTokensPerSecond).toBeGreaterThan(0);
      expect(row.sequentialTokensPerSecond).toBeGreaterThan(0);
      expect(row.batchedTokensPerCpuSecond).toBeGreaterThan(0);
      expect(row.batchedSamples.every((cost) => cost.cpuMs > 0 && cost.wallMs > 0)).toBe(true);
      expect(row.generatedTokens).toBeGreaterThan(0);
    }
    expect(results.prefixSharing.prefixTokens).toBeGreaterThanOrEqual(60);
    expect(results.prefixSharing.prefilledTokensWithSharing).toBeLessThan(
      results.prefixSharing.prefilledTokensWithoutSharing,
    );
    expect(results.migration.rows.map((row) => row.contextTokens)).toEqual([64, 128]);
    for (const row of results.migration.rows) {
      expect(row.kvBytes).toBeGreaterThan(0);
      expect(row.sameOutput).toBe(true);
      expect(row.migrateMs).toBeGreaterThan(0);
      expect(row.migrateCpuMs).toBeGreaterThan(0);
      expect(row.reprefillMs).toBeGreaterThan(0);
    }
    expect(results.migration.rows[1]!.kvBytes).toBeGreaterThan(results.migration.rows[0]!.kvBytes);
    expect(results.modelSwitch.rows.map((row) => row.model)).toEqual(["halo/tiny", "halo/tiny-alt-2B"]);
    for (const row of results.modelSwitch.rows) {
      expect(row.samples.length).toBe(1);
      expect(row.loadMs).toBeGreaterThan(0);
    }
    expect(lines.some((line) => line.startsWith("migration:"))).toBe(true);
  });
});
