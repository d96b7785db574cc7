import { toolCallCount, toolPoolWorkMs } from "./cost-model.js";
import { applyEpoch } from "./epoch-pricing.js";
import {
  type ExecutionPlan,
  PLAN_VERSION,
  type PlanCpuOperator,
  type PlanEpoch,
  type PlanStep,
} from "./execution-plan.js";
import { listSchedule } from "./list-schedule.js";
import { replayMakespanMs } from "./pipelined-replay.js";
import { type DisabledOptimizations, disabledOptimizationNames, PlanningError } from "./planning-problem.js";
import type { ProblemIndex } from "./problem-index.js";
import { type EpochSchedule, initialState, isPreload } from "./search-state.js";
import type { SearchReport, SolverReport } from "./strategies/planning-strategy.js";
import { poolBoundMs } from "./tool-price.js";

/** What the wrapper knows about a strategy run besides its schedule. */
export interface PlanMetadata {
  readonly strategy: string;
  readonly solveMs: number;
  readonly disabled: DisabledOptimizations;
  readonly lowerBoundMs: number;
  readonly warnings: readonly string[];
  readonly solver?: SolverReport;
  readonly search?: SearchReport;
}

/**
 * Prices a schedule and writes it as an execution plan: the epoch model
 * prices every step (load, prefill, migration, decode), the list scheduler
 * places it in continuous time (epochs are priorities, not barriers: a step
 * starts once its worker is free and its inputs exist; `list-schedule.ts`),
 * and the makespan is the last end (at least the busiest pool's time). Epoch
 * windows span their own steps and preloads; tool operators are listed with
 * the epoch that unlocks them. `epochMakespanMs` keeps the epoch model's
 * barrier figure. Throws `PlanningError` when an epoch is not allowed or work
 * is left undone.
 */
export function buildExecutionPlan(
  index: ProblemIndex,
  schedule: EpochSchedule,
  metadata: PlanMetadata,
): ExecutionPlan {
  const { problem } = index;
  const disabled = metadata.disabled;
  const workerIds = problem.workers.map((worker) => worker.id);
  checkSchedule(index, schedule, metadata);
  const timed = listSchedule(index, schedule, disabled);
  if (!timed) {
    throw new PlanningError(`${metadata.strategy}: the schedule cannot be priced; this is a bug`);
  }
  const pipelinedMs = replayMakespanMs(index, timed, disabled);
  const epochs: PlanEpoch[] = [];
  const cpuOperators: PlanCpuOperator[] = [];
  let modelLoads = 0;
  const toolEpoch = new Map<number, number>();
  timed.epochs.forEach((epoch, epochIndex) => {
    const steps: PlanStep[] = epoch.shards.map(({ shard, startMs, endMs }) => {
      const cost = shard.cost;
      if (cost.loadMs > 0) modelLoads += 1;
      const kv =
        cost.prefixKv === "migrate" || cost.contextKv === "migrate"
          ? "migrate"
          : cost.prefixKv === "reuse" || cost.contextKv === "reuse"
            ? "reuse"
            : "recompute";
      return {
        operator: index.llm[shard.operator]!.id,
        worker: workerIds[shard.worker]!,
        model: index.llm[shard.operator]!.model,
        queries: shard.requests,
        batchSize: cost.batchSize,
        waves: cost.waves,
        kv,
        ...(shard.migrateFrom === undefined ? {} : { migrateFrom: workerIds[shard.migrateFrom]! }),
        prefixKv: cost.prefixKv,
        contextKv: cost.contextKv,
        prefilledTokens: cost.prefilledTokens,
        reusedTokens: cost.reusedTokens,
        migratedTokens: cost.migratedTokens,
        residentKvBytes: shard.residentKvBytes,
        batchKvBytes: cost.batchKvBytes,
        estimate: {
          loadMs: cost.loadMs,
          prefillMs: cost.prefillMs,
          decodeMs: cost.decodeMs,
          migrateMs: cost.migrateMs,
          totalMs: cost.totalMs,
          startMs,
          endMs,
        },
      };
    });
    for (const tool of epoch.outcome.tools) toolEpoch.set(tool.tool, epochIndex);
    const preloads = epoch.preloads.map((preload) => ({
      worker: workerIds[preload.worker]!,
      model: preload.model,
      loadMs: preload.endMs - preload.startMs,
      startMs: preload.startMs,
      endMs: preload.endMs,
    }));
    modelLoads += preloads.length;
    const spans = [...steps.map((step) => step.estimate), ...preloads];
    epochs.push({
      index: epochIndex,
      startMs: Math.min(...spans.map((span) => span.startMs)),
      endMs: Math.max(...spans.map((span) => span.endMs)),
      steps,
      preloads,
    });
  });
  index.tools.forEach((operator, tool) => {
    const times = timed.tools[tool]!;
    cpuOperators.push({
      operator: operator.id,
      kind: operator.kind,
      pool: operator.pool,
      epoch: toolEpoch.get(tool) ?? 0,
      calls: toolCallCount(operator.statistics, disabled),
      latencyMeanMs: operator.statistics.latencyMeanMs,
      latencyP95Ms: operator.statistics.latencyP95Ms,
      workMs: toolPoolWorkMs(operator.statistics, index.toolConcurrency[tool]!, disabled),
      startMs: times.startMs,
      endMs: times.endMs,
    });
  });
  return {
    planVersion: PLAN_VERSION,
    workflow: problem.workflow,
    queryCount: problem.queryCount,
    strategy: metadata.strategy,
    solveMs: metadata.solveMs,
    disabledOptimizations: disabledOptimizationNames(disabled),
    workers: problem.workers.map((worker) => ({
      id: worker.id,
      device: worker.profile.device,
      memoryBytes: worker.profile.memoryBytes,
      ...(worker.address === undefined ? {} : { address: worker.address }),
    })),
    epochs,
    cpuOperators,
    estimatedMakespanMs: timed.makespanMs,
    ...(pipelinedMs === undefined ? {} : { pipelinedMakespanMs: pipelinedMs }),
    epochMakespanMs: timed.epochMakespanMs,
    toolPoolBoundMs: poolBoundMs(index, disabled),
    lowerBoundMs: metadata.lowerBoundMs,
    modelLoads,
    ...(metadata.solver ? { solver: metadata.solver } : {}),
    ...(metadata.search ? { search: metadata.search } : {}),
    warnings: [...metadata.warnings],
  };
}

/** Throws `PlanningError` naming the first epoch that is not allowed, or the operators left unplanned. */
function checkSchedule(index: ProblemIndex, schedule: EpochSchedule, metadata: PlanMetadata): void {
  let state = initialState(index);
  schedule.forEach((epoch, epochIndex) => {
    const applied = applyEpoch(index, state, epoch, metadata.disabled);
    if (!applied) {
      const operators = epoch.map((assignment) =>
        isPreload(assignment)
          ? `preload ${assignment.preload}`
          : (index.llm[assignment.operator]?.id ?? `#${assignment.operator}`),
      );
      throw new PlanningError(
        `${metadata.strategy}: epoch ${epochIndex} (${operators.join(", ")}) is not allowed: an operator is not ready, ` +
          "already done, or placed twice, or a worker is used twice or cannot hold the model",
      );
    }
    state = applied.next;
  });
  if (state.done !== index.allDone) {
    const missing = index.llm.filter((_, position) => (state.done & (1n << BigInt(position))) === 0n);
    throw new PlanningError(
      `${metadata.strategy}: the schedule leaves LLM operators unplanned: ${missing.map((operator) => operator.id).join(", ")}`,
    );
  }
}
