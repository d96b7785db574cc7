/**
 * One system of `halo bench` on one workload: plan the batch for the
 * executors, execute it with the Processor, and measure — makespan, tokens,
 * calls, executor utilization (from the executors' Stats), the runtime
 * process's own work (event-loop busy time, CPU time, peak RSS), tool share
 * and per-operator timelines.
 */
import { performance } from "node:perf_hooks";
import { type CompiledWorkflow, canonicalJson, type QueryContext, withPromptLayout } from "@halo/ir";
import {
  type ExecutionPlan,
  type ObservedStatistics,
  type PlanningWorker,
  planBatch,
  scaleObservedTimes,
} from "@halo/optimizer";
import type { DeviceProfile } from "@halo/profiles";
import { createExecutorClient, type StatsResponse } from "@halo/protocol";
import { MemoryResultSink, Processor, type RuntimeTools } from "@halo/runtime";
import type { BenchSettings, ExecutorFigures, SystemResult } from "./bench-result.js";
import type { BenchSystem } from "./bench-systems.js";
import { mainThreadCpuMs } from "./main-thread-cpu.js";
import { analyzeRecords, RunObserver, round } from "./run-observer.js";
import { holdsAllModels, replicateModels } from "./static-deployment.js";

/** Everything one system's run needs. */
export interface SystemRunInput {
  readonly system: BenchSystem;
  /** The workflow as it runs: HTTP latencies in wall time (device time × time scale). */
  readonly workflow: CompiledWorkflow;
  /** The workflow as the planner sees it: HTTP latencies in device time, like the profile (default `workflow`). */
  readonly planningWorkflow?: CompiledWorkflow;
  readonly queries: readonly QueryContext[];
  /** Executors in their initial state (just started). */
  readonly addresses: readonly string[];
  readonly profile: DeviceProfile;
  /** Per executor, when they differ (default: `profile` for every one). */
  readonly workerProfiles?: readonly DeviceProfile[];
  /** Per executor, the models it serves (default: every model; planners place none elsewhere). */
  readonly workerModels?: readonly (readonly string[])[];
  readonly tools: RuntimeTools;
  readonly settings: BenchSettings;
  /** Per query id, naive's canonical `{ok, outputs}` (absent: not compared). */
  readonly naiveOutputs?: ReadonlyMap<string, string>;
  /** Per-query systems: queries in flight of this run (default 64). */
  readonly queriesInFlight?: number;
  /** A swept system's setting, recorded in the result. */
  readonly sweepSetting?: string;
  /** Statistics an earlier run measured, to plan from (`BenchSystem.observedStatistics`). */
  readonly observed?: ObservedStatistics;
}

/** A system's result and its outputs (for the comparison with naive). */
export interface SystemRunOutput {
  readonly result: SystemResult;
  /** Per query id, canonical `{ok, outputs}`. */
  readonly outputs: Map<string, string>;
  readonly plan: ExecutionPlan;
  /** What the run measured per operator, tool times in device time (`RunSummary.observed`). */
  readonly observed?: ObservedStatistics;
}

/** Plans and runs one system; throws when the run cannot start (executors unreachable, bad plan). */
export async function runSystem(input: SystemRunInput): Promise<SystemRunOutput> {
  const { system, queries, settings } = input;
  const promptLayout = system.promptLayout ?? settings.promptLayout;
  const laidOut = (compiled: CompiledWorkflow) =>
    promptLayout === undefined ? compiled : withPromptLayout(compiled, promptLayout);
  const workflow = laidOut(input.workflow);
  const models = [
    ...new Set(workflow.operators.flatMap((operator) => (operator.kind === "llm" ? [operator.model] : []))),
  ];
  const workers: PlanningWorker[] = input.addresses.map((address, index) => ({
    id: `worker-${index}`,
    profile: input.workerProfiles?.[index] ?? input.profile,
    ...(input.workerModels?.[index] === undefined ? {} : { models: input.workerModels[index] }),
    address,
  }));
  const planningStartedMs = performance.now();
  const { plan: planned } = await planBatch({
    workflow: input.planningWorkflow ? laidOut(input.planningWorkflow) : workflow,
    queries,
    workers,
    strategy: system.strategy,
    disabled: system.disabled,
    ...(system.splitOperators === undefined ? {} : { splitOperators: system.splitOperators }),
    pools: [
      { name: "sql", concurrency: settings.toolConcurrency.sql },
      { name: "http", concurrency: settings.toolConcurrency.http },
      { name: "processor", concurrency: 2 },
    ],
    ...(input.observed === undefined ? {} : { observed: input.observed }),
  });
  const plannerMs = performance.now() - planningStartedMs;

  let plan = planned;
  let deployment: string | undefined;
  if (system.strategy === "naive") {
    const replicate = await everyExecutorHoldsAll(input.addresses, models);
    deployment = replicate ? "replicated" : "planned";
    if (replicate) plan = replicateModels(planned);
  }

  const observer = new RunObserver();
  const sink = new MemoryResultSink();
  const processor = new Processor({
    workflow,
    plan,
    executors: input.addresses,
    tools: input.tools,
    options: {
      toolConcurrency: settings.toolConcurrency,
      queryConcurrency: input.queriesInFlight ?? 64,
      gatherWindowMs: settings.gatherWindowMs * settings.timeScale,
      epochBarriers: system.epochBarriers,
      ...(system.preloading === undefined ? {} : { preloading: system.preloading }),
      onEvent: observer.onEvent,
    },
  });

  const rss = new RssSampler();
  const cpuBefore = process.cpuUsage();
  const mainThreadBefore = mainThreadCpuMs();
  const loopBefore = performance.eventLoopUtilization();
  const summary = await processor.run(queries, { sink });
  const loop = performance.eventLoopUtilization(loopBefore);
  const mainThreadAfter = mainThreadCpuMs();
  const cpu = process.cpuUsage(cpuBefore);
  const peakRssBytes = rss.stop();
  const mainThreadMs =
    mainThreadBefore === undefined || mainThreadAfter === undefined
      ? undefined
      : mainThreadAfter - mainThreadBefore;
  // The runtime's own work: its main thread's CPU time (event-loop busy time where /proc is missing).
  const overheadMs = mainThreadMs ?? loop.active;

  const stats = await Promise.all(input.addresses.map((address) => executorStats(address)));
  // The cost model's device time (loads, prefill, decode, migrations) over every step, against the
  // executors' own busy time: the plan's pricing of the LLM work alone, whatever the tools took.
  const estimatedPrefilledTokens = planned.epochs
    .flatMap((epoch) => epoch.steps)
    .reduce((total, step) => total + step.prefilledTokens, 0);
  const estimatedBusyMs = planned.epochs
    .flatMap((epoch) => epoch.steps)
    .reduce(
      (total, step) =>
        total +
        step.estimate.loadMs +
        step.estimate.prefillMs +
        step.estimate.decodeMs +
        step.estimate.migrateMs,
      0,
    );
  const actualBusyMs = stats.reduce((total, figures) => total + figures.busyMs, 0);
  const deviceMakespanMs = summary.makespanMs / settings.timeScale;
  const executors: ExecutorFigures[] = summary.workers.map((worker, index) => {
    const figures = stats[index]!;
    const dispatched = observer.dispatches.get(worker.id) ?? { calls: 0, items: 0 };
    const engineBatches = figures.sidecar?.engineBatches ?? 0;
    return {
      id: worker.id,
      busyMs: round(figures.busyMs),
      utilization: round(deviceMakespanMs > 0 ? figures.busyMs / deviceMakespanMs : 0, 3),
      modelLoads: figures.modelLoads,
      calls: dispatched.calls,
      items: dispatched.items,
      engineBatches,
      meanEngineBatchItems: round(engineBatches > 0 ? dispatched.items / engineBatches : 0, 2),
    };
  });

  const outputs = new Map<string, string>();
  for (const record of sink.records) {
    outputs.set(record.id, canonicalJson({ ok: record.ok, outputs: record.outputs }));
  }
  const figures = analyzeRecords(workflow, sink.records, observer);
  const generateCalls = executors.reduce((total, executor) => total + executor.calls, 0);
  const items = executors.reduce((total, executor) => total + executor.items, 0);
  const finished = summary.queries.ok + summary.queries.failed;

  const result: SystemResult = {
    system: system.name,
    description: system.description,
    strategy: summary.strategy,
    disabledOptimizations: summary.disabledOptimizations,
    mode: summary.mode,
    epochBarriers: system.epochBarriers,
    ...(promptLayout === undefined ? {} : { promptLayout }),
    ...(input.sweepSetting === undefined || input.queriesInFlight === undefined
      ? {}
      : { sweep: { setting: input.sweepSetting, queriesInFlight: input.queriesInFlight, best: false } }),
    ...(deployment === undefined ? {} : { deployment }),
    queries: { ok: summary.queries.ok, failed: summary.queries.failed },
    makespanMs: round(summary.makespanMs),
    deviceMakespanMs: round(deviceMakespanMs),
    queriesPerSecond: round(deviceMakespanMs > 0 ? (finished * 1000) / deviceMakespanMs : 0, 3),
    tokens: summary.tokens,
    llm: {
      instances: summary.llm.instances,
      calls: summary.llm.calls,
      coalesced: summary.llm.coalesced,
      cached: summary.llm.cached,
      generateCalls,
      meanCallItems: round(generateCalls > 0 ? items / generateCalls : 0, 2),
    },
    tools: {
      instances: summary.tools.instances,
      calls: summary.tools.calls,
      failed: summary.tools.failed,
      ...(summary.tools.sqlBatches ? { sqlBatches: summary.tools.sqlBatches } : {}),
      ...(summary.tools.sqlBatchedCalls ? { sqlBatchedCalls: summary.tools.sqlBatchedCalls } : {}),
    },
    modelLoads: summary.modelLoads,
    migrations: summary.migrations,
    executors,
    executorUtilization: round(
      executors.reduce((total, executor) => total + executor.utilization, 0) / Math.max(1, executors.length),
      3,
    ),
    plannerMs: round(plannerMs),
    solveMs: round(planned.solveMs),
    plan: {
      estimatedMakespanMs: round(planned.estimatedMakespanMs),
      ...(planned.pipelinedMakespanMs === undefined
        ? {}
        : { pipelinedMakespanMs: round(planned.pipelinedMakespanMs) }),
      lowerBoundMs: round(planned.lowerBoundMs),
      modelLoads: planned.modelLoads,
      estimatedDeviceBusyMs: round(estimatedBusyMs),
      estimatedPrefilledTokens: Math.round(estimatedPrefilledTokens),
    },
    lowerBoundRatio: round(planned.lowerBoundMs > 0 ? deviceMakespanMs / planned.lowerBoundMs : 0, 3),
    busyEstimateRatio: round(estimatedBusyMs > 0 ? actualBusyMs / estimatedBusyMs : 0, 3),
    estimateRatio: round(
      planned.estimatedMakespanMs > 0 ? deviceMakespanMs / planned.estimatedMakespanMs : 0,
      3,
    ),
    ...(planned.pipelinedMakespanMs
      ? { pipelinedEstimateRatio: round(deviceMakespanMs / planned.pipelinedMakespanMs, 3) }
      : {}),
    deviations: summary.deviations,
    toolShare: round(figures.toolShare, 3),
    meanQueryLatencyMs: round(figures.meanQueryLatencyMs / settings.timeScale),
    ...(input.naiveOutputs ? { outputsVsNaive: compareOutputs(outputs, input.naiveOutputs) } : {}),
    runtime: {
      ...(mainThreadMs === undefined ? {} : { mainThreadCpuMs: round(mainThreadMs) }),
      eventLoopBusyMs: round(loop.active),
      overheadShare: round(summary.makespanMs > 0 ? overheadMs / summary.makespanMs : 0, 4),
      cpuMs: round((cpu.user + cpu.system) / 1000),
      peakRssBytes,
    },
    operators: figures.operators,
  };
  return {
    result,
    outputs,
    plan,
    ...(summary.observed ? { observed: scaleObservedTimes(summary.observed, 1 / settings.timeScale) } : {}),
  };
}

/** Query by query, whether `{ok, outputs}` equal naive's. */
export function compareOutputs(
  outputs: ReadonlyMap<string, string>,
  naive: ReadonlyMap<string, string>,
): NonNullable<SystemResult["outputsVsNaive"]> {
  let equal = 0;
  const differing: string[] = [];
  for (const [id, expected] of naive) {
    if (outputs.get(id) === expected) equal += 1;
    else differing.push(id);
  }
  for (const id of outputs.keys()) if (!naive.has(id)) differing.push(id);
  return {
    equal,
    different: differing.length,
    allEqual: differing.length === 0,
    examples: differing.slice(0, 5),
  };
}

/** Whether every executor can keep every one of `models` loaded at once (then each serves all of them). */
export async function everyExecutorHoldsAll(
  addresses: readonly string[],
  models: readonly string[],
): Promise<boolean> {
  const answers = await Promise.all(
    addresses.map(async (address) => {
      const client = createExecutorClient(address);
      try {
        return await client.info({ deadlineMs: 10_000 });
      } finally {
        client.close();
      }
    }),
  );
  return answers.every((info) =>
    holdsAllModels(
      {
        memoryBudgetBytes: info.memoryBudgetBytes,
        models: info.models.map((model) => ({ name: model.name, memoryBytes: model.memoryBytes })),
      },
      models,
    ),
  );
}

/** An executor's Stats. */
export async function executorStats(address: string): Promise<StatsResponse> {
  const client = createExecutorClient(address);
  try {
    return await client.stats({ deadlineMs: 10_000 });
  } finally {
    client.close();
  }
}

/** Samples the process's resident set size while a run lasts. */
export class RssSampler {
  private peak = process.memoryUsage.rss();
  private readonly timer = setInterval(() => this.sample(), 250);

  constructor() {
    this.timer.unref();
  }

  private sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }

  /** Stops sampling; the peak in bytes. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}
