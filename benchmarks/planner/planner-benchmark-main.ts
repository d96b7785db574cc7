import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultPlannerBenchmarkConfig, runPlannerBenchmark } from "./planner-benchmark.js";
import { writePlannerReport } from "./planner-report.js";

// `pnpm --filter @halo/benchmarks bench:planner [--random=N]`: measures the
// planner (optimality vs the MILP, planning time at scale) and writes
// results/planner.json and the README section.
const benchmarksRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const randomFlag = process.argv.find((argument) => argument.startsWith("--random="));
const randomInstances = randomFlag
  ? Number(randomFlag.slice("--random=".length))
  : defaultPlannerBenchmarkConfig.randomInstances;
if (!Number.isSafeInteger(randomInstances) || randomInstances < 0) {
  process.stderr.write(`bench:planner: --random must be a non-negative integer (got ${randomFlag})\n`);
  process.exit(2);
}
const command = `pnpm --filter @halo/benchmarks bench:planner${randomFlag ? ` ${randomFlag}` : ""}`;
const results = await runPlannerBenchmark(
  { ...defaultPlannerBenchmarkConfig, randomInstances },
  command,
  (line) => process.stdout.write(`${line}\n`),
);
await mkdir(join(benchmarksRoot, "results"), { recursive: true });
await writePlannerReport(results, {
  resultsJson: join(benchmarksRoot, "results", "planner.json"),
  readme: join(benchmarksRoot, "README.md"),
});
process.stdout.write(`${JSON.stringify(results.summary)}\n`);
