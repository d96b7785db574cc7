import { decodeMs, H100_SIMULATED_PROFILE } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import { listSchedule } from "./list-schedule.js";
import { replayMakespanMs } from "./pipelined-replay.js";
import {
  NO_DISABLED_OPTIMIZATIONS,
  type PlannedLlmOperator,
  type PlanningProblem,
} from "./planning-problem.js";
import { indexProblem } from "./problem-index.js";
import { runStrategy } from "./run-strategy.js";
import { identicalWorkers, plannedLlmOperator, SYNTHETIC_POOLS } from "./test/index.js";

const MODEL = "Qwen/Qwen3-14B";
const OTHER = "Qwen/Qwen3-32B";

function llm(id: string, model: string, parents: string[], requests: number): PlannedLlmOperator {
  return plannedLlmOperator(id, model, parents, requests, { prefix: 100, prompt: 2_000, output: 200 });
}

/** A chain of two operators over `requests` queries on two H100s. */
function chain(requests: number, models: readonly [string, string] = [MODEL, MODEL]) {
  const problem: PlanningProblem = {
    workflow: "chain",
    queryCount: requests,
    operators: [llm("first", models[0], [], requests), llm("second", models[1], ["first"], requests)],
    workers: identicalWorkers(2),
    pools: SYNTHETIC_POOLS,
  };
  return indexProblem(problem);
}

/** The chain's list schedule with `first` on one worker and `second` on another (or the same). */
function scheduleOn(index: ReturnType<typeof chain>, workers: readonly [number, number]) {
  return listSchedule(
    index,
    [[{ operator: 0, workers: [workers[0]] }], [{ operator: 1, workers: [workers[1]] }]],
    NO_DISABLED_OPTIMIZATIONS,
  )!;
}

describe("replayMakespanMs (micro-batches flow between operators)", () => {
  it("overlaps a child on another worker with its parent: far below the step-level figure, above each step", () => {
    const index = chain(2_000);
    const timed = scheduleOn(index, [0, 1]);
    const [first] = timed.epochs[0]!.shards;
    const [second] = timed.epochs[1]!.shards;
    // The parent runs in several waves, so the child has micro-batches to start on early.
    expect(first!.shard.cost.waves).toBeGreaterThan(2);
    const replayed = replayMakespanMs(index, timed, NO_DISABLED_OPTIMIZATIONS)!;
    // Step-level: the child computes after the whole parent (its model loads meanwhile).
    expect(second!.startMs + second!.shard.cost.loadMs).toBeGreaterThanOrEqual(first!.endMs);
    expect(replayed).toBeLessThan(0.8 * timed.makespanMs);
    // Neither step can be shorter than its own work, and the child's last micro-batch follows the parent's last.
    expect(replayed).toBeGreaterThan(first!.endMs);
    expect(replayed).toBeGreaterThan(second!.endMs - second!.startMs);
  });

  it("equals the step-level figure when one worker runs the chain (nothing to overlap)", () => {
    const index = chain(2_000);
    const timed = scheduleOn(index, [0, 0]);
    const replayed = replayMakespanMs(index, timed, NO_DISABLED_OPTIMIZATIONS)!;
    // The same waves in the same order; only the spreading of a step's prefill over its waves differs.
    expect(Math.abs(replayed - timed.makespanMs) / timed.makespanMs).toBeLessThan(0.01);
  });

  it("equals the step-level figure across workers when each step is one micro-batch", () => {
    // 10 requests: one wave; the child on another worker waits for the whole parent.
    const index = chain(10, [MODEL, OTHER]);
    const timed = scheduleOn(index, [0, 1]);
    const replayed = replayMakespanMs(index, timed, NO_DISABLED_OPTIMIZATIONS)!;
    expect(replayed).toBeCloseTo(timed.makespanMs, 3);
    const model = H100_SIMULATED_PROFILE.models[OTHER]!;
    // The child's decode is that of 10 sequences, as the cost model has it.
    expect(timed.epochs[1]!.shards[0]!.shard.cost.decodeMs).toBeCloseTo(decodeMs(model, 10, 2_100, 200), 6);
  });

  it("is in every plan beside the step-level estimate, never above it on a split chain", async () => {
    const index = chain(2_000);
    const plan = await runStrategy(index.problem, { strategy: "dp" });
    expect(plan.pipelinedMakespanMs).toBeDefined();
    expect(plan.pipelinedMakespanMs!).toBeLessThanOrEqual(plan.estimatedMakespanMs + 1e-6);
    // At least the device work spread over both workers (micro-batches regroup across a split's shards,
    // so a little less than the shards' own waves).
    const busyMs = plan.epochs
      .flatMap((epoch) => epoch.steps)
      .reduce((total, step) => total + step.estimate.totalMs - step.estimate.loadMs, 0);
    expect(plan.pipelinedMakespanMs!).toBeGreaterThanOrEqual((0.97 * busyMs) / 2);
  });
});
