import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultExecutorBenchmarkConfig, runExecutorBenchmark } from "./executor-benchmark.js";
import { writeExecutorReport } from "./executor-report.js";

// `pnpm --filter @halo/benchmarks bench:executor [--repeats N]`: measures the
// llama.cpp executor and writes results/executor.json and the README section.
const benchmarksRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const repeatsFlag = process.argv.find((argument) => argument.startsWith("--repeats="));
const repeats = repeatsFlag
  ? Number(repeatsFlag.slice("--repeats=".length))
  : defaultExecutorBenchmarkConfig.repeats;
if (!Number.isSafeInteger(repeats) || repeats < 1) {
  process.stderr.write(`bench:executor: --repeats must be a positive integer (got ${repeatsFlag})\n`);
  process.exit(2);
}
const command = `pnpm --filter @halo/benchmarks bench:executor${repeatsFlag ? ` ${repeatsFlag}` : ""}`;
const results = await runExecutorBenchmark({ ...defaultExecutorBenchmarkConfig, repeats }, command, (line) =>
  process.stdout.write(`${line}\n`),
);
await mkdir(join(benchmarksRoot, "results"), { recursive: true });
await writeExecutorReport(results, {
  resultsJson: join(benchmarksRoot, "results", "executor.json"),
  readme: join(benchmarksRoot, "README.md"),
});
process.stdout.write(
  `${JSON.stringify({ batching: results.batching.met, prefixSharing: results.prefixSharing.met, migration: results.migration.met })}\n`,
);
