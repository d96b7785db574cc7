import { loadWorkflowText } from "@halo/ir";
import type { ObservedStatistics } from "@halo/optimizer";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import { PlanCache } from "./plan-cache.js";
import { TWO_STEP_YAML } from "./test-fixtures.js";

const loaded = loadWorkflowText(TWO_STEP_YAML, { file: "two-step.yaml" });
if (!loaded.ok) throw new Error("the two-step fixture compiles");
const workflow = loaded.workflow;
const queries = Array.from({ length: 8 }, (_, index) => ({
  id: `q${index}`,
  context: { user_query: `q ${index}` },
}));

function cache(): PlanCache {
  return new PlanCache({
    workers: [{ id: "worker-0", profile: H100_SIMULATED_PROFILE }],
    strategy: "dp",
    timeLimitMs: 2_000,
    capacity: 16,
  });
}

function run(queryCount: number, generatedPerItem: number): ObservedStatistics {
  return {
    statisticsVersion: 1,
    workflow: "two-step",
    queries: queryCount,
    operators: {
      draft: {
        kind: "llm",
        items: queryCount,
        promptTokens: 40 * queryCount,
        cachedTokens: 0,
        generatedTokens: generatedPerItem * queryCount,
      },
    },
  };
}

const draftOutput = async (plans: PlanCache) => {
  const plan = await plans.planFor(workflow, 1, queries);
  return plan.epochs.flatMap((epoch) => epoch.steps).find((step) => step.operator === "draft")!.estimate
    .decodeMs;
};

describe("PlanCache", () => {
  it("plans from what finished runs measured, replanning when the queries measured double", async () => {
    const plans = cache();
    const cold = await draftOutput(plans);
    expect(await draftOutput(plans)).toBe(cold);
    expect([plans.hits, plans.misses]).toEqual([1, 1]);

    // A run measured 8 tokens per draft (the default assumes 4, half of max_tokens): replanned once.
    plans.observe("two-step", 1, run(3, 8));
    const warm = await draftOutput(plans);
    expect(warm).toBeGreaterThan(cold);
    expect(plans.misses).toBe(2);
    expect(plans.statisticsOf("two-step", 1)?.operators.draft).toMatchObject({
      items: 3,
      generatedTokens: 24,
    });

    // One more query measured (4 in all): the next power of two, so replanned from the sum.
    plans.observe("two-step", 1, run(1, 8));
    await draftOutput(plans);
    expect(plans.misses).toBe(3);
    // Two more (6 in all, below 8): the plan stays.
    plans.observe("two-step", 1, run(2, 8));
    await draftOutput(plans);
    expect(plans.misses).toBe(3);
    expect(plans.statisticsOf("two-step", 1)).toMatchObject({ queries: 6 });
  });

  it("keeps statistics per workflow version and ignores another workflow's or empty ones", async () => {
    const plans = cache();
    plans.observe("two-step", 1, { ...run(4, 8), workflow: "other" });
    plans.observe("two-step", 1, run(0, 8));
    plans.observe("two-step", 1, undefined);
    expect(plans.statisticsOf("two-step", 1)).toBeUndefined();
    plans.observe("two-step", 2, run(4, 8));
    expect(plans.statisticsOf("two-step", 1)).toBeUndefined();
    expect(plans.statisticsOf("two-step", 2)?.queries).toBe(4);
  });
});
