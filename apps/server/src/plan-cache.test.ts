import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadWorkflowText } from "@halo/ir";
import type { ObservedStatistics } from "@halo/optimizer";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import { PlanCache, type PlanCacheOptions } from "./plan-cache.js";
import { SqliteStore } from "./store/sqlite-store.js";
import { TWO_STEP_YAML } from "./test-fixtures.js";

const loaded = loadWorkflowText(TWO_STEP_YAML, { file: "two-step.yaml" });
if (!loaded.ok) throw new Error("the two-step fixture compiles");
const workflow = loaded.workflow;
const queries = Array.from({ length: 8 }, (_, index) => ({
  id: `q${index}`,
  context: { user_query: `q ${index}` },
}));

function cache(extra: Partial<PlanCacheOptions> = {}): PlanCache {
  return new PlanCache({
    workers: [{ id: "worker-0", profile: H100_SIMULATED_PROFILE }],
    strategy: "dp",
    timeLimitMs: 2_000,
    capacity: 16,
    ...extra,
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
    await plans.observe("two-step", 1, run(3, 8));
    const warm = await draftOutput(plans);
    expect(warm).toBeGreaterThan(cold);
    expect(plans.misses).toBe(2);
    expect(plans.statisticsOf("two-step", 1)?.operators.draft).toMatchObject({
      items: 3,
      generatedTokens: 24,
    });

    // One more query measured (4 in all): the next power of two, so replanned from the sum.
    await plans.observe("two-step", 1, run(1, 8));
    await draftOutput(plans);
    expect(plans.misses).toBe(3);
    // Two more (6 in all, below 8): the plan stays.
    await plans.observe("two-step", 1, run(2, 8));
    await draftOutput(plans);
    expect(plans.misses).toBe(3);
    expect(plans.statisticsOf("two-step", 1)).toMatchObject({ queries: 6 });
  });

  it("keeps statistics per workflow version and ignores another workflow's or empty ones", async () => {
    const plans = cache();
    await plans.observe("two-step", 1, { ...run(4, 8), workflow: "other" });
    await plans.observe("two-step", 1, run(0, 8));
    await plans.observe("two-step", 1, undefined);
    expect(plans.statisticsOf("two-step", 1)).toBeUndefined();
    await plans.observe("two-step", 2, run(4, 8));
    expect(plans.statisticsOf("two-step", 1)).toBeUndefined();
    expect(plans.statisticsOf("two-step", 2)?.queries).toBe(4);
  });

  it("keeps what it learned in the server store across a restart, and survives a store that fails", async () => {
    const directory = await mkdtemp(join(tmpdir(), "halo-plan-cache-"));
    try {
      const path = join(directory, "server.sqlite");
      const storeOf = (store: SqliteStore) => ({
        get: store.getWorkflowStatistics.bind(store),
        put: store.putWorkflowStatistics.bind(store),
      });
      const first = new SqliteStore(path);
      const before = cache({ statisticsStore: storeOf(first) });
      const cold = await draftOutput(before);
      await before.observe("two-step", 1, run(3, 8));
      await first.close();

      // A restarted server plans from the stored statistics before any new run.
      const second = new SqliteStore(path);
      const after = cache({ statisticsStore: storeOf(second) });
      expect(await draftOutput(after)).toBeGreaterThan(cold);
      expect(after.statisticsOf("two-step", 1)?.queries).toBe(3);
      await after.observe("two-step", 1, run(1, 8));
      expect(await second.getWorkflowStatistics("two-step", 1)).toMatchObject({ queries: 4 });
      await second.close();

      // A store that fails (or holds something else) is reported; planning goes on from the defaults.
      const messages: string[] = [];
      const failing = cache({
        statisticsStore: {
          get: async () => ({ not: "statistics" }),
          put: async () => {
            throw new Error("disk full");
          },
        },
        log: (message) => messages.push(message),
      });
      expect(await draftOutput(failing)).toBe(cold);
      await failing.observe("two-step", 1, run(3, 8));
      expect(failing.statisticsOf("two-step", 1)?.queries).toBe(3);
      expect(messages).toHaveLength(2);
      expect(messages[0]).toMatch(/stored statistics of workflow "two-step"/);
      expect(messages[1]).toBe('cannot store the statistics of workflow "two-step": disk full');

      // A store that never answers holds no plan up: after its timeout the cache plans without it.
      const frozenMessages: string[] = [];
      const frozen = cache({
        statisticsStore: { get: () => new Promise(() => undefined), put: () => new Promise(() => undefined) },
        statisticsTimeoutMs: 50,
        log: (message) => frozenMessages.push(message),
      });
      expect(await draftOutput(frozen)).toBe(cold);
      expect(frozenMessages).toEqual([
        'cannot read the statistics of workflow "two-step": no answer in 50 ms',
      ]);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
