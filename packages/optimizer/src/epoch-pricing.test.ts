import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import { applyEpoch } from "./epoch-pricing.js";
import { NO_DISABLED_OPTIMIZATIONS, type PlanningProblem } from "./planning-problem.js";
import { indexProblem } from "./problem-index.js";
import { initialState } from "./search-state.js";
import { identicalWorkers } from "./test/synthetic-problems.js";

const MODEL = "Qwen/Qwen3-14B";
const INHERITED_TOKENS = 400;

/** A parent whose 1,000 contexts (1,000 tokens each) do not all fit beside the weights, and a child inheriting them. */
function parentAndChild(): PlanningProblem {
  const statistics = {
    instances: 1000,
    distinctRequests: 1000,
    sharedPrefixTokens: 200,
    uniquePromptTokens: 800,
    outputTokens: 200,
  };
  return {
    workflow: "context-split",
    queryCount: 1000,
    operators: [
      { id: "parent", kind: "llm", model: MODEL, parents: [], statistics: { ...statistics, prefixKey: "p" } },
      {
        id: "child",
        kind: "llm",
        model: MODEL,
        parents: ["parent"],
        statistics: {
          ...statistics,
          prefixKey: "c",
          inheritedContext: { from: "parent", tokens: INHERITED_TOKENS },
        },
      },
    ],
    workers: identicalWorkers(2, H100_SIMULATED_PROFILE),
    pools: [],
  };
}

describe("epoch pricing of inherited context", () => {
  it("migrates to a split child only the contexts the holder's own shard does not reuse", () => {
    const index = indexProblem(parentAndChild());
    const disabled = NO_DISABLED_OPTIMIZATIONS;
    const afterParent = applyEpoch(index, initialState(index), [{ operator: 0, workers: [0] }], disabled);
    const held = afterParent!.next.workers[0]!.contexts.find((context) => context.operator === 0);
    // Memory keeps only part of the parent's contexts (the case where double counting shows).
    expect(held!.share).toBeGreaterThan(0.1);
    expect(held!.share).toBeLessThan(0.5);
    const heldRequests = held!.share * 1000;
    const child = applyEpoch(index, afterParent!.next, [{ operator: 1, workers: [0, 1] }], disabled);
    const shards = child!.shards;
    expect(shards).toHaveLength(2);
    const local = shards.find((shard) => shard.worker === 0)!;
    const remote = shards.find((shard) => shard.worker === 1)!;
    expect(local.cost.contextKv).toBe("reuse");
    // Every held context serves one request: reused + migrated ≤ held (here the local shard takes them all).
    const servedRequests = (local.cost.reusedTokens + remote.cost.migratedTokens) / INHERITED_TOKENS;
    expect(servedRequests).toBeLessThanOrEqual(heldRequests + 1e-6);
    expect(remote.cost.contextKv).toBe("recompute");
    expect(remote.cost.migratedTokens).toBe(0);
  });
});
