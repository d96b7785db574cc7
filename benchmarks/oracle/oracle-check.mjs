// The MILP oracle (HiGHS) on each workload's 1,000-query batch, planned from the statistics a bench run
// observed: dp's estimate, the plan's combinatorial lower bound and the oracle's bound over dp's plan space.
// Usage (after `pnpm build` and a `halo bench --engine sim ... --plans-dir <dir>` run that wrote
// `<dir>/sim-<tag>-<workload>-halo.observed.json`):
//   node benchmarks/oracle/oracle-check.mjs <measured sim-h100 profile .json> <plans dir> <tag> w1 w2 ...
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseObservedStatistics, planBatch } from "@halo/optimizer";
import { parseDeviceProfile } from "@halo/profiles";
import { ensureBenchDataset } from "../dist/harness/bench-dataset.js";
import { loadWorkload } from "../dist/workloads/load-workload.js";
import { withHttpMode } from "../dist/workloads/with-http-mode.js";
import { findWorkload } from "../dist/workloads/workload-registry.js";

const [profilePath, plansDirectory, tag, ...ids] = process.argv.slice(2);
if (!profilePath || !plansDirectory || !tag || ids.length === 0) {
  console.error("usage: oracle-check.mjs <profile.json> <plans dir> <tag> <workload>...");
  process.exit(2);
}
const profile = parseDeviceProfile(JSON.parse(readFileSync(profilePath, "utf8")), profilePath);
for (const id of ids) {
  const workload = findWorkload(id);
  const dataset = await ensureBenchDataset({ dataset: workload.dataset, scale: 0.01, seed: 1 });
  // As `halo bench` plans it: padded HTTP at latency scale 1, SQL 4 slots, HTTP 1024.
  const workflow = withHttpMode(await loadWorkload(workload), {
    baseUrl: "http://127.0.0.1:8765",
    mode: "padded",
    latencyScale: 1,
  });
  const queries = (await workload.generateQueries(1000, 1, dataset.path)).map((query) => ({
    id: query.id,
    context: query.context,
  }));
  const observedPath = join(plansDirectory, `sim-${tag}-${id}-halo.observed.json`);
  const observed = parseObservedStatistics(JSON.parse(readFileSync(observedPath, "utf8")), observedPath);
  const common = {
    workflow,
    queries,
    workers: [0, 1, 2, 3].map((index) => ({ id: `worker-${index}`, profile })),
    observed,
    pools: [
      { name: "sql", concurrency: 4 },
      { name: "http", concurrency: 1024 },
      { name: "processor", concurrency: 2 },
    ],
  };
  const { plan: dp } = await planBatch({ ...common, strategy: "dp" });
  const { plan: milp } = await planBatch({
    ...common,
    strategy: "milp",
    solver: "highs",
    timeLimitMs: 60_000,
  });
  const s = (ms) => (ms / 1000).toFixed(1);
  console.log(
    `${id}: dp ${s(dp.estimatedMakespanMs)} s (replayed ${s(dp.pipelinedMakespanMs)} s), combinatorial bound ${s(dp.lowerBoundMs)} s;`,
    `oracle ${milp.solver.status}, bound ${s(milp.solver.bestBoundMs)} s, best plan ${s(milp.solver.incumbentMs)} s (${milp.solver.incumbent}),`,
    `gap ${(milp.solver.gap * 100).toFixed(2)} %, ${Math.round(milp.solver.solveMs)} ms`,
  );
}
