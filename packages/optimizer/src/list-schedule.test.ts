import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import { llmShardCost } from "./cost-model.js";
import { listSchedule, scheduleCostMs } from "./list-schedule.js";
import {
  NO_DISABLED_OPTIMIZATIONS,
  type PlannedLlmOperator,
  type PlannedToolOperator,
  type PlanningProblem,
} from "./planning-problem.js";
import { indexProblem } from "./problem-index.js";
import { runStrategy } from "./run-strategy.js";
import { identicalWorkers, plannedLlmOperator, SYNTHETIC_POOLS } from "./test/index.js";

const SMALL = "Qwen/Qwen3-14B";
const LARGE = "Qwen/Qwen3-32B";

function llm(id: string, model: string, parents: string[], requests: number): PlannedLlmOperator {
  return plannedLlmOperator(id, model, parents, requests, { prefix: 200, prompt: 300, output: 80 });
}

function http(id: string, parents: string[], latencyMs: number): PlannedToolOperator {
  return {
    id,
    kind: "http",
    parents,
    pool: "http",
    statistics: {
      instances: 100,
      distinctRequests: 100,
      latencyMeanMs: latencyMs,
      latencyP95Ms: 2 * latencyMs,
    },
  };
}

/** The cost model's price of a whole operator on a fresh worker (load included) or a warm one. */
function priceMs(operator: PlannedLlmOperator, loaded: boolean): number {
  const model = H100_SIMULATED_PROFILE.models[operator.model]!;
  const residency = {
    modelLoaded: loaded,
    prefixResident: false,
    inheritedLocalRequests: 0,
    inheritedRemoteRequests: 0,
  };
  const cost = llmShardCost(
    H100_SIMULATED_PROFILE,
    model,
    operator.statistics,
    operator.statistics.distinctRequests,
    residency,
    0,
    NO_DISABLED_OPTIMIZATIONS,
  )!;
  return cost.totalMs;
}

describe("listSchedule (continuous time)", () => {
  const first = llm("first", SMALL, [], 100);
  const lookup = http("lookup", ["first"], 3_000);
  const second = llm("second", SMALL, ["lookup"], 100);
  const other = llm("other", LARGE, [], 100);
  const problem: PlanningProblem = {
    workflow: "chain",
    queryCount: 100,
    operators: [first, lookup, second, other],
    workers: identicalWorkers(2),
    pools: SYNTHETIC_POOLS,
  };
  const index = indexProblem(problem);
  const at = (id: string) => index.llmPosition.get(id)!;

  it("starts a step once its worker is free and its inputs exist; tools run between", () => {
    const schedule = [
      [
        { operator: at("first"), workers: [0] },
        { operator: at("other"), workers: [1] },
      ],
      [{ operator: at("second"), workers: [0] }],
    ];
    const timed = listSchedule(index, schedule, NO_DISABLED_OPTIMIZATIONS)!;
    const [firstShard, otherShard] = timed.epochs[0]!.shards;
    const secondShard = timed.epochs[1]!.shards[0]!;
    // Both load at 0 and run at once.
    expect(firstShard!.startMs).toBe(0);
    expect(firstShard!.endMs).toBeCloseTo(priceMs(first, false), 6);
    expect(otherShard!.startMs).toBe(0);
    expect(otherShard!.endMs).toBeCloseTo(priceMs(other, false), 6);
    // `second` waits for `first` and the 3 s lookup, not for the slower `other`: epochs are not barriers.
    expect(otherShard!.endMs).toBeGreaterThan(firstShard!.endMs + 3_000);
    expect(secondShard.startMs).toBeCloseTo(firstShard!.endMs + 3_000, 6);
    expect(secondShard.endMs - secondShard.startMs).toBeCloseTo(priceMs(second, true), 6);
    const lookupTimes = timed.tools[index.toolPosition.get("lookup")!]!;
    expect(lookupTimes.startMs).toBeCloseTo(firstShard!.endMs, 6);
    expect(lookupTimes.endMs).toBeCloseTo(firstShard!.endMs + 3_000, 6);
    expect(timed.makespanMs).toBeCloseTo(Math.max(secondShard.endMs, otherShard!.endMs), 6);
    // The epoch model makes the first epoch last as long as `other`.
    expect(timed.epochMakespanMs).toBeCloseTo(
      otherShard!.endMs + (secondShard.endMs - secondShard.startMs),
      6,
    );
    expect(scheduleCostMs(index, schedule, NO_DISABLED_OPTIMIZATIONS)).toBeCloseTo(timed.makespanMs, 6);
  });

  it("loads a worker's next model right after its previous step, while the inputs are still coming", () => {
    // `second` on the other worker: that worker loads at 0, so only the inputs hold `second` back.
    const timed = listSchedule(
      index,
      [
        [{ operator: at("first"), workers: [0] }],
        [{ operator: at("second"), workers: [1] }],
        [{ operator: at("other"), workers: [0] }],
      ],
      NO_DISABLED_OPTIMIZATIONS,
    )!;
    const firstShard = timed.epochs[0]!.shards[0]!;
    const secondShard = timed.epochs[1]!.shards[0]!;
    const otherShard = timed.epochs[2]!.shards[0]!;
    const secondLoadMs = secondShard.shard.cost.loadMs;
    expect(secondLoadMs).toBeGreaterThan(0);
    expect(secondShard.startMs + secondLoadMs).toBeCloseTo(firstShard.endMs + 3_000, 6);
    // `other` needs no input: it follows `first` on its worker (with a switch to its model).
    expect(otherShard.startMs).toBeCloseTo(firstShard.endMs, 6);
    expect(otherShard.shard.cost.loadMs).toBeGreaterThan(0);
  });

  it("is what plans report, with the barrier figure beside it", async () => {
    const plan = await runStrategy(problem, { strategy: "greedy" });
    const greedy = plan.epochs.flatMap((epoch) => epoch.steps);
    expect(greedy.every((step) => step.estimate.endMs - step.estimate.startMs > 0)).toBe(true);
    expect(plan.estimatedMakespanMs).toBeLessThanOrEqual(plan.epochMakespanMs! + 1e-6);
    const dp = await runStrategy(problem, { strategy: "dp" });
    expect(dp.estimatedMakespanMs).toBeLessThanOrEqual(plan.estimatedMakespanMs + 1e-6);
    expect(dp.search?.proven).toBe(true);
  });
});
