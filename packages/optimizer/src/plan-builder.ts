import { toolBatchMs, toolCallCount, toolLatencyMs, toolPoolWorkMs } from "./cost-model.js";
import { type EpochSchedule, evaluateEpoch, initialState, isPreload, poolBoundMs } from "./epoch-model.js";
import {
  type ExecutionPlan,
  PLAN_VERSION,
  type PlanCpuOperator,
  type PlanEpoch,
  type PlanStep,
} from "./execution-plan.js";
import { type DisabledOptimizations, disabledOptimizationNames, PlanningError } from "./planning-problem.js";
import type { ProblemIndex } from "./problem-index.js";
import type { SearchReport, SolverReport } from "./strategies/planning-strategy.js";

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
 * Prices a schedule with the epoch model and writes it as an execution plan:
 * per-step estimates with start and end times, tool operators with their
 * epoch and pool time, the makespan (sum of epochs) and the model loads.
 * Throws `PlanningError` when an epoch is not allowed or work is left undone.
 */
export function buildExecutionPlan(
  index: ProblemIndex,
  schedule: EpochSchedule,
  metadata: PlanMetadata,
): ExecutionPlan {
  const { problem } = index;
  const disabled = metadata.disabled;
  const workerIds = problem.workers.map((worker) => worker.id);
  const epochs: PlanEpoch[] = [];
  const cpuOperators: PlanCpuOperator[] = [];
  let state = initialState(index);
  let clockMs = 0;
  let modelLoads = 0;
  schedule.forEach((epoch, epochIndex) => {
    const outcome = evaluateEpoch(index, state, epoch, disabled);
    if (!outcome) {
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
    const steps: PlanStep[] = outcome.shards.map((shard) => {
      const cost = shard.cost;
      const startMs = clockMs + shard.fillMs;
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
          endMs: startMs + cost.totalMs,
        },
      };
    });
    for (const tool of outcome.tools) {
      const operator = index.tools[tool.tool]!;
      cpuOperators.push({
        operator: operator.id,
        kind: operator.kind,
        pool: operator.pool,
        epoch: epochIndex,
        calls: toolCallCount(operator.statistics, disabled),
        latencyMeanMs: operator.statistics.latencyMeanMs,
        latencyP95Ms: operator.statistics.latencyP95Ms,
        workMs: tool.workMs,
        startMs: clockMs + tool.startOffsetMs,
        endMs: clockMs + tool.endOffsetMs,
      });
    }
    const preloads = outcome.preloads.map((preload) => ({
      worker: workerIds[preload.worker]!,
      model: preload.model,
      loadMs: preload.loadMs,
      startMs: clockMs,
      endMs: clockMs + preload.loadMs,
    }));
    modelLoads += preloads.length;
    epochs.push({ index: epochIndex, startMs: clockMs, endMs: clockMs + outcome.costMs, steps, preloads });
    clockMs += outcome.costMs;
    state = outcome.next;
  });
  if (state.done !== index.allDone) {
    const missing = index.llm.filter((_, position) => (state.done & (1n << BigInt(position))) === 0n);
    throw new PlanningError(
      `${metadata.strategy}: the schedule leaves LLM operators unplanned: ${missing.map((operator) => operator.id).join(", ")}`,
    );
  }
  if (index.llm.length === 0) clockMs = toolOnlyPlan(index, disabled, cpuOperators);
  const toolPoolBoundMs = poolBoundMs(index, disabled);
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
    estimatedMakespanMs: Math.max(clockMs, toolPoolBoundMs),
    toolPoolBoundMs,
    lowerBoundMs: metadata.lowerBoundMs,
    modelLoads,
    ...(metadata.solver ? { solver: metadata.solver } : {}),
    ...(metadata.search ? { search: metadata.search } : {}),
    warnings: [...metadata.warnings],
  };
}

/** A workflow without LLM operators: its tools alone, chained by latency (or by phases) and bounded by pool time. */
function toolOnlyPlan(
  index: ProblemIndex,
  disabled: DisabledOptimizations,
  cpuOperators: PlanCpuOperator[],
): number {
  const endMs: number[] = [];
  const poolBusy = new Map<string, number>();
  index.tools.forEach((operator, tool) => {
    const concurrency = index.toolConcurrency[tool]!;
    const ownMs = disabled.pipelining
      ? toolBatchMs(operator.statistics, concurrency, disabled)
      : toolLatencyMs(operator.statistics);
    const startMs = Math.max(0, ...index.toolToolParents[tool]!.map((parent) => endMs[parent]!));
    endMs.push(startMs + ownMs);
    const workMs = toolPoolWorkMs(operator.statistics, concurrency, disabled);
    poolBusy.set(operator.pool, (poolBusy.get(operator.pool) ?? 0) + workMs);
    cpuOperators.push({
      operator: operator.id,
      kind: operator.kind,
      pool: operator.pool,
      epoch: 0,
      calls: toolCallCount(operator.statistics, disabled),
      latencyMeanMs: operator.statistics.latencyMeanMs,
      latencyP95Ms: operator.statistics.latencyP95Ms,
      workMs,
      startMs,
      endMs: startMs + ownMs,
    });
  });
  return Math.max(0, ...endMs, ...poolBusy.values());
}
