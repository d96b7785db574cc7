import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadWorkflowFile } from "@halo/ir";
import { type PlanningStrategy, parseExecutionPlan, planBatch, syntheticQueries } from "@halo/optimizer";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./main.js";
import { isStrategyModulePath } from "./strategy-module.js";
import { recordingIo } from "./test-io.js";

const repository = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const workflowPath = join(repository, "examples", "tpch-diamond.yaml");
const examplePath = join(repository, "examples", "strategies", "model-affinity-strategy.mjs");
const scratch = mkdtempSync(join(tmpdir(), "halo-strategy-"));

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

async function run(...argv: string[]) {
  const io = recordingIo();
  const code = await runCli(argv, io);
  return { code, out: io.out(), err: io.err() };
}

describe("--strategy <module>", () => {
  it("tells module paths from registered names", () => {
    expect(isStrategyModulePath("./my-strategy.js")).toBe(true);
    expect(isStrategyModulePath("/abs/strategy.mjs")).toBe(true);
    expect(isStrategyModulePath("strategies/x.ts")).toBe(true);
    expect(isStrategyModulePath("dp")).toBe(false);
    expect(isStrategyModulePath("rr-topo")).toBe(false);
  });

  it("halo plan loads the example strategy module, registers it and plans with it", async () => {
    const result = await run(
      "plan",
      workflowPath,
      "--queries",
      "20",
      "--workers",
      "3",
      "--strategy",
      examplePath,
    );
    expect(result.err).toContain("strategy model-affinity");
    expect(result.code).toBe(0);
    const plan = parseExecutionPlan(JSON.parse(result.out), "stdout");
    expect(plan.strategy).toBe("model-affinity");
    expect(plan.estimatedMakespanMs).toBeGreaterThanOrEqual(plan.lowerBoundMs);
  });

  it("rejects a missing module and one that breaks the contract with exit 2, naming the file", async () => {
    const missing = await run(
      "plan",
      workflowPath,
      "--queries",
      "5",
      "--workers",
      "2",
      "--strategy",
      "./no-such-strategy.mjs",
    );
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("no-such-strategy.mjs does not exist");
    const bad = join(scratch, "bad-strategy.mjs");
    writeFileSync(bad, 'export default { name: "bad", description: "no version", plan() {} };\n');
    const result = await run("plan", workflowPath, "--queries", "5", "--workers", "2", "--strategy", bad);
    expect(result.code).toBe(2);
    expect(result.err).toContain("bad-strategy.mjs: not a planning strategy");
    expect(result.err).toContain('specificationVersion must be "v1"');
  });

  it("the same module plans through the API (planBatch with the strategy object)", async () => {
    const strategy = (await import(pathToFileURL(examplePath).href)).default as PlanningStrategy;
    const loaded = await loadWorkflowFile(workflowPath);
    if (!loaded.ok) throw new Error("the example workflow does not load");
    const workflow = loaded.workflow;
    const planned = await planBatch({
      workflow,
      queries: syntheticQueries(workflow, 20),
      workers: [
        { id: "a", profile: H100_SIMULATED_PROFILE },
        { id: "b", profile: H100_SIMULATED_PROFILE },
      ],
      strategy,
    });
    expect(planned.plan.strategy).toBe("model-affinity");
    // Every LLM operator of the workflow is in the plan exactly once.
    const steps = planned.plan.epochs.flatMap((epoch) => epoch.steps.map((step) => step.operator));
    expect(new Set(steps).size).toBe(steps.length);
    expect(steps.length).toBeGreaterThan(0);
  });
});
