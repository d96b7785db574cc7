/**
 * The `langgraph` system of `halo bench` on one workload and one
 * queries-in-flight setting: the workflow translated into a LangGraph.js
 * graph, run with `graph.batch(inputs, {maxConcurrency})` against the
 * executors' OpenAI endpoints under naive's static deployment (one executor
 * per model where the executors hold one model each, every executor for every
 * model where they hold all), and measured like the other systems. The batch
 * runs in a child process (`langgraph-peer-process.ts`), so its CPU figures
 * are LangGraph's own.
 */
import { performance } from "node:perf_hooks";
import { type CompiledWorkflow, canonicalJson, type QueryContext } from "@halo/ir";
import { type PlanningWorker, planBatch } from "@halo/optimizer";
import type { DeviceProfile } from "@halo/profiles";
import type { QueryResultRecord } from "@halo/runtime";
import type { BenchSettings, ExecutorFigures, SystemResult } from "./bench-result.js";
import type { BenchSystem } from "./bench-systems.js";
import { runLanggraphPeer } from "./langgraph-peer-process.js";
import { widestStep } from "./langgraph-translator.js";
import { analyzeRecords, RunObserver, round } from "./run-observer.js";
import { compareOutputs, everyExecutorHoldsAll, executorStats } from "./run-system.js";
import { modelWorkers } from "./static-deployment.js";

/** Everything one langgraph run needs. */
export interface LanggraphRunInput {
  readonly system: BenchSystem;
  /** The workflow as it runs (HTTP latencies in wall time). */
  readonly workflow: CompiledWorkflow;
  /** The workflow as the deployment planner sees it (device time). */
  readonly planningWorkflow?: CompiledWorkflow;
  readonly queries: readonly QueryContext[];
  /** The executors' gRPC addresses (deployment, Stats) and OpenAI base URLs (`http://…/v1`), in the same order. */
  readonly addresses: readonly string[];
  readonly openaiBaseUrls: readonly string[];
  readonly profile: DeviceProfile;
  /** The SQL target: a DuckDB file or a PostgreSQL URL. */
  readonly sqlTarget: string;
  readonly settings: BenchSettings;
  readonly queriesInFlight: number;
  readonly sweepSetting: string;
  readonly naiveOutputs?: ReadonlyMap<string, string>;
}

/** Runs the langgraph system once; throws when it cannot start. */
export async function runLanggraph(
  input: LanggraphRunInput,
): Promise<{ result: SystemResult; outputs: Map<string, string> }> {
  const { workflow, queries, settings } = input;
  if (input.openaiBaseUrls.length !== input.addresses.length) {
    throw new Error(
      "langgraph: every executor needs its OpenAI endpoint (executors started without --openai-port)",
    );
  }
  // LangGraph.js applies maxConcurrency to each superstep too and ends a run early when a step has more
  // nodes than that (see widestStep): a smaller setting is raised to the widest step.
  const maxConcurrency = Math.max(input.queriesInFlight, widestStep(workflow));
  const models = [
    ...new Set(workflow.operators.flatMap((operator) => (operator.kind === "llm" ? [operator.model] : []))),
  ];
  // The deployment: naive's placement of models on executors, or every model everywhere when they fit.
  const planningStartedMs = performance.now();
  const workers: PlanningWorker[] = input.addresses.map((address, index) => ({
    id: `worker-${index}`,
    profile: input.profile,
    address,
  }));
  const { plan } = await planBatch({
    workflow: input.planningWorkflow ?? workflow,
    queries,
    workers,
    strategy: "naive",
    disabled: [],
  });
  const plannerMs = performance.now() - planningStartedMs;
  const replicated = await everyExecutorHoldsAll(input.addresses, models);
  const placement = replicated
    ? new Map(models.map((model) => [model, workers.map((worker) => worker.id)]))
    : modelWorkers(plan, models);
  const indexOf = (workerId: string) => workers.findIndex((worker) => worker.id === workerId);
  const endpoints = new Map(
    [...placement].map(([model, ids]) => [model, ids.map((id) => input.openaiBaseUrls[indexOf(id)]!)]),
  );

  // Per executor (OpenAI base URL), the models it loads as the run starts, in placement order.
  const loads = new Map<string, { baseUrl: string; address: string; models: string[] }>();
  for (const [model, ids] of placement) {
    for (const id of ids) {
      const index = indexOf(id);
      const baseUrl = input.openaiBaseUrls[index]!;
      let entry = loads.get(baseUrl);
      if (!entry) {
        entry = { baseUrl, address: input.addresses[index]!, models: [] };
        loads.set(baseUrl, entry);
      }
      entry.models.push(model);
    }
  }
  // The batch runs in a process of its own (LangGraph's CPU apart from the harness's event loop).
  const peer = await runLanggraphPeer({
    workflow,
    queries,
    endpoints,
    loads: [...loads.values()],
    sqlTarget: input.sqlTarget,
    sqlConnections: settings.toolConcurrency.sql,
    maxConcurrency,
  });
  const { makespanMs } = peer;
  const overheadMs = peer.runtime.mainThreadCpuMs ?? peer.runtime.eventLoopBusyMs;

  const observer = new RunObserver();
  const records: QueryResultRecord[] = [];
  const outputs = new Map<string, string>();
  let ok = 0;
  let failed = 0;
  let toolInstances = 0;
  queries.forEach((query, index) => {
    const record = peer.records[index]!;
    if (record.ok) ok += 1;
    else failed += 1;
    if (record.startMs !== undefined) observer.queryStartMs.set(query.id, record.startMs);
    if (record.endMs !== undefined) observer.queryEndMs.set(query.id, record.endMs);
    records.push({
      id: record.id,
      ok: record.ok,
      outputs: record.outputs,
      operators: record.operators,
      ...(record.error === undefined ? {} : { error: { operator: "", message: record.error } }),
    });
    outputs.set(query.id, canonicalJson({ ok: record.ok, outputs: record.outputs }));
    if (record.ok)
      toolInstances += workflow.operators.filter(
        (operator) => operator.kind !== "input" && operator.kind !== "llm",
      ).length;
  });
  const firstError = records.find((record) => record.error !== undefined)?.error?.message;

  const stats = await Promise.all(input.addresses.map((address) => executorStats(address)));
  const deviceMakespanMs = makespanMs / settings.timeScale;
  const executors: ExecutorFigures[] = stats.map((figures, index) => {
    const sent = peer.requestsTo[input.openaiBaseUrls[index]!] ?? 0;
    const engineBatches = figures.sidecar?.engineBatches ?? 0;
    return {
      id: workers[index]!.id,
      busyMs: round(figures.busyMs),
      utilization: round(deviceMakespanMs > 0 ? figures.busyMs / deviceMakespanMs : 0, 3),
      modelLoads: figures.modelLoads,
      calls: sent,
      items: sent,
      engineBatches,
      meanEngineBatchItems: round(engineBatches > 0 ? sent / engineBatches : 0, 2),
    };
  });
  const figures = analyzeRecords(workflow, records, observer);
  const { counters } = peer;
  const finished = ok + failed;

  const result: SystemResult = {
    system: input.system.name,
    description: input.system.description,
    strategy: "langgraph",
    disabledOptimizations: [],
    mode: "per-query (LangGraph graph.batch)",
    epochBarriers: false,
    sweep: { setting: input.sweepSetting, queriesInFlight: input.queriesInFlight, best: false },
    deployment: replicated ? "replicated" : "planned",
    queries: { ok, failed },
    makespanMs: round(makespanMs),
    deviceMakespanMs: round(deviceMakespanMs),
    queriesPerSecond: round(deviceMakespanMs > 0 ? (finished * 1000) / deviceMakespanMs : 0, 3),
    tokens: {
      prompt: counters.promptTokens,
      prefilled: counters.promptTokens - counters.cachedPromptTokens,
      cached: counters.cachedPromptTokens,
      generated: counters.completionTokens,
    },
    llm: {
      instances: counters.llmCalls,
      calls: counters.llmCalls,
      coalesced: 0,
      cached: 0,
      generateCalls: counters.llmCalls,
      meanCallItems: counters.llmCalls > 0 ? 1 : 0,
    },
    // Tool nodes served from LangGraph's node cache did not run: instances − calls.
    tools: { instances: toolInstances, calls: counters.toolCalls, failed: 0 },
    modelLoads: executors.reduce((total, executor) => total + executor.modelLoads, 0),
    migrations: { attempted: 0, succeeded: 0, bytes: 0 },
    executors,
    executorUtilization: round(
      executors.reduce((total, executor) => total + executor.utilization, 0) / Math.max(1, executors.length),
      3,
    ),
    plannerMs: round(plannerMs),
    solveMs: round(plan.solveMs),
    plan: {
      estimatedMakespanMs: round(plan.estimatedMakespanMs),
      lowerBoundMs: round(plan.lowerBoundMs),
      modelLoads: plan.modelLoads,
    },
    lowerBoundRatio: round(plan.lowerBoundMs > 0 ? deviceMakespanMs / plan.lowerBoundMs : 0, 3),
    toolShare: round(figures.toolShare, 3),
    meanQueryLatencyMs: round(figures.meanQueryLatencyMs / settings.timeScale),
    ...(input.naiveOutputs ? { outputsVsNaive: compareOutputs(outputs, input.naiveOutputs) } : {}),
    // The peer process's own CPU: LangGraph's, not the harness's.
    runtime: {
      ...(peer.runtime.mainThreadCpuMs === undefined
        ? {}
        : { mainThreadCpuMs: round(peer.runtime.mainThreadCpuMs) }),
      eventLoopBusyMs: round(peer.runtime.eventLoopBusyMs),
      overheadShare: round(makespanMs > 0 ? overheadMs / makespanMs : 0, 4),
      cpuMs: round(peer.runtime.cpuMs),
      peakRssBytes: peer.runtime.peakRssBytes,
    },
    operators: figures.operators,
    ...(firstError === undefined ? {} : { firstError }),
  };
  return { result, outputs };
}
