// The plan-side gap: dp's estimated makespan ÷ its lower bound on W1–W6, with and without per-worker
// query splits, on 4 × builtin:h100 and the bench's settings (HTTP sleep, latency scale 1, SQL 4, HTTP 1024).
// Deterministic (no run). From the repository root, after a build:
//   node benchmarks/results/runtime-truth/plan-gap.mjs 1000 > benchmarks/results/runtime-truth/plan-gap.md
import { planBatch } from "@halo/optimizer";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { benchDatasetPath, ensureBenchDataset } from "../../dist/harness/bench-dataset.js";
import { loadWorkload } from "../../dist/workloads/load-workload.js";
import { withHttpMode } from "../../dist/workloads/with-http-mode.js";
import { WORKLOADS } from "../../dist/workloads/workload-registry.js";

const queryCount = Number(process.argv[2] ?? 1000);
console.log(`dp plans of ${queryCount} queries on 4 × builtin:h100 (HTTP sleep, latency scale 1, SQL 4, HTTP 1024)\n`);
console.log("| workload | plan | estimate s | lower bound s | estimate ÷ LB | model loads | preloads | split operators |");
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const workload of WORKLOADS) {
  await ensureBenchDataset({ dataset: workload.dataset, scale: 0.01, seed: 1 });
  const path = benchDatasetPath({ dataset: workload.dataset, scale: 0.01, seed: 1 });
  const queries = (await workload.generateQueries(queryCount, 1, path)).map((r) => ({ id: r.id, context: r.context }));
  const workflow = withHttpMode(await loadWorkload(workload), { mode: "sleep", latencyScale: 1 });
  for (const split of [true, false]) {
    const { plan } = await planBatch({
      workflow,
      queries,
      strategy: "dp",
      disabled: [],
      splitOperators: split,
      workers: [0, 1, 2, 3].map((index) => ({ id: `worker-${index}`, profile: H100_SIMULATED_PROFILE })),
      pools: [
        { name: "sql", concurrency: 4 },
        { name: "http", concurrency: 1024 },
        { name: "processor", concurrency: 2 },
      ],
    });
    const stepsPerOperator = new Map();
    for (const step of plan.epochs.flatMap((epoch) => epoch.steps))
      stepsPerOperator.set(step.operator, (stepsPerOperator.get(step.operator) ?? 0) + 1);
    const splitOperators = [...stepsPerOperator.values()].filter((count) => count > 1).length;
    const preloads = plan.epochs.reduce((total, epoch) => total + epoch.preloads.length, 0);
    const seconds = (ms) => (ms / 1000).toFixed(1);
    console.log(
      `| ${workload.id} | ${split ? "dp" : "dp, no split"} | ${seconds(plan.estimatedMakespanMs)} | ${seconds(plan.lowerBoundMs)} | ${(plan.estimatedMakespanMs / plan.lowerBoundMs).toFixed(2)} | ${plan.modelLoads} | ${preloads} | ${splitOperators} of ${stepsPerOperator.size} |`,
    );
  }
}
