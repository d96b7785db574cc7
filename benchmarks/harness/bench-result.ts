/**
 * The result file of one workload (`results/<workload>.json`,
 * `results/sim-<workload>.json`): every compared system on the same
 * executors, data and queries, plus where and how it was measured.
 */

import type { PlanDeviations } from "@halo/runtime";

/**
 * Result file format version. 2: the per-query systems are swept over
 * queries in flight (one entry per setting, `sweep`), ratios are against the
 * best setting, and the `langgraph` peer. Files of version 1 are read too.
 */
export const BENCH_RESULT_VERSION = 2;

/** Result file versions the reports read. */
export const READABLE_BENCH_RESULT_VERSIONS: readonly number[] = [1, 2];

/** The engines `halo bench` runs on. */
export type BenchEngine = "llamacpp" | "sim";

/** The machine a result was measured on. */
export interface BenchMachine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  /** 1, 5 and 15 minute load averages when the workload started (other jobs share the machine). */
  readonly loadAverage: readonly number[];
}

/** The settings every system of a result ran with. */
export interface BenchSettings {
  readonly engine: BenchEngine;
  readonly queries: number;
  readonly executors: number;
  /** Engine threads per executor. */
  readonly threads: number;
  /** Wall time per device time (sim; 1 for llama.cpp). */
  readonly timeScale: number;
  /** Multiplies the workloads' HTTP latency means (3 s / 6 s). */
  readonly latencyScale: number;
  /** HTTP operators: padded (real request + latency), live, or sleep (no request). */
  readonly http: "padded" | "live" | "sleep";
  readonly dbBackend: "duckdb" | "postgres";
  readonly datasetScale: number;
  readonly seed: number;
  /** Version 1 files: the one queries-in-flight setting of `naive`. */
  readonly queryConcurrency?: number;
  /** The queries-in-flight sweep of `naive` and of `langgraph`, as given (`16,64,256,all`). */
  readonly naiveConcurrency?: string;
  readonly langgraphConcurrency?: string;
  readonly toolConcurrency: { readonly sql: number; readonly http: number };
  /** Longest wait for a fuller micro-batch, in device ms (wall ms × timeScale at run time). */
  readonly gatherWindowMs: number;
  /** `--prompt-layout`: the layout forced on systems that do not force their own (absent: each workflow's). */
  readonly promptLayout?: "shared-first" | "declared";
  /** Where the planners' device profile came from. */
  readonly profile: string;
  /** sim with a hidden ground truth: the simulated devices (`h100:2,a100:2`) and the per-batch noise σ. */
  readonly devices?: string;
  readonly noise?: number;
  /**
   * sim: models each simulated device keeps loaded at once, weights permitting (`--models-per-device`;
   * absent: 1, one serving engine per GPU). The planners' profile declares it too.
   */
  readonly modelsPerDevice?: number;
  /** How executors were reset between systems. */
  readonly executorReset: string;
}

/** Figures of one LLM or tool operator over the batch (ms since the run started). */
export interface OperatorTimeline {
  readonly operator: string;
  readonly kind: string;
  readonly instances: number;
  readonly firstStartMs: number;
  readonly lastEndMs: number;
  /** Mean of end − start over instances (an LLM instance starts when its call is dispatched). */
  readonly meanMs: number;
}

/** One executor's figures over a system's run. */
export interface ExecutorFigures {
  readonly id: string;
  /** Engine busy time (device ms), from the executor's Stats. */
  readonly busyMs: number;
  /** busyMs ÷ device makespan. */
  readonly utilization: number;
  readonly modelLoads: number;
  /** Generate calls the runtime sent it and their items. */
  readonly calls: number;
  readonly items: number;
  /** Engine batches (the executor merges concurrent calls) and the items per engine batch. */
  readonly engineBatches: number;
  readonly meanEngineBatchItems: number;
}

/** The measured run of one system. */
export interface SystemResult {
  readonly system: string;
  readonly description: string;
  readonly strategy: string;
  readonly disabledOptimizations: readonly string[];
  readonly mode: string;
  readonly epochBarriers: boolean;
  /** The prompt layout the run forced (absent: each LLM operator's own, shared-first in the graph dialect). */
  readonly promptLayout?: "shared-first" | "declared";
  /** A swept system's setting: queries in flight (`setting` as given), and whether it was the sweep's best. */
  readonly sweep?: { readonly setting: string; readonly queriesInFlight: number; readonly best: boolean };
  /** Naive and langgraph: how models were placed (`replicated`: every executor serves every model; `planned`: the naive strategy's placement). */
  readonly deployment?: string;
  readonly queries: { readonly ok: number; readonly failed: number };
  /** Wall time from the first dispatch to the last record. */
  readonly makespanMs: number;
  /** makespanMs ÷ timeScale: the makespan on the simulated device (= makespanMs on llama.cpp). */
  readonly deviceMakespanMs: number;
  /** Queries per second of device time. */
  readonly queriesPerSecond: number;
  readonly tokens: {
    readonly prompt: number;
    readonly prefilled: number;
    readonly cached: number;
    readonly generated: number;
  };
  readonly llm: {
    readonly instances: number;
    readonly calls: number;
    readonly coalesced: number;
    readonly cached: number;
    /** Generate calls sent and the mean items per call. */
    readonly generateCalls: number;
    readonly meanCallItems: number;
  };
  readonly tools: {
    readonly instances: number;
    readonly calls: number;
    readonly failed: number;
    /** `doQueryBatch` calls given several calls (`sql-batching`), and those calls (absent: none); the tool runs them as one query or alone. */
    readonly sqlBatches?: number;
    readonly sqlBatchedCalls?: number;
  };
  readonly modelLoads: number;
  readonly migrations: { readonly attempted: number; readonly succeeded: number; readonly bytes: number };
  readonly executors: readonly ExecutorFigures[];
  /** Mean executor utilization. */
  readonly executorUtilization: number;
  /** Estimation + strategy, wall ms; and the strategy's own solve time. */
  readonly plannerMs: number;
  readonly solveMs: number;
  readonly plan: {
    readonly estimatedMakespanMs: number;
    /** The plan replayed at micro-batch granularity (`ExecutionPlan.pipelinedMakespanMs`; absent in older files). */
    readonly pipelinedMakespanMs?: number;
    readonly lowerBoundMs: number;
    readonly modelLoads: number;
    /** Σ over the plan's steps of the estimated load, prefill, decode and migration time (absent in older files). */
    readonly estimatedDeviceBusyMs?: number;
    /** Σ over the plan's steps of the tokens it prices as prefilled (absent in older files). */
    readonly estimatedPrefilledTokens?: number;
  };
  /** deviceMakespanMs ÷ the plan's lower bound. */
  readonly lowerBoundRatio: number;
  /** deviceMakespanMs ÷ the plan's estimated makespan (1: the plan priced the run exactly; absent in older files). */
  readonly estimateRatio?: number;
  /** deviceMakespanMs ÷ the plan's replayed (pipelined) makespan (absent in older files). */
  readonly pipelinedEstimateRatio?: number;
  /** Where the run departed from its plan (`RunSummary.deviations`; absent for langgraph and older files). */
  readonly deviations?: PlanDeviations;
  /** Σ executor busy time ÷ the plan's estimated device busy time: the cost model on the LLM work alone (absent in older files). */
  readonly busyEstimateRatio?: number;
  /**
   * Share of query time spent in tools alone: Σ over queries of the time a
   * tool of the query ran while none of its LLM calls did, ÷ Σ query latency.
   */
  readonly toolShare: number;
  /** Mean query latency (admission → record), device ms. */
  readonly meanQueryLatencyMs: number;
  /** Outputs compared with naive's, query by query (absent when naive did not run). */
  readonly outputsVsNaive?: {
    readonly equal: number;
    readonly different: number;
    readonly allEqual: boolean;
    /** Ids of a few differing queries. */
    readonly examples: readonly string[];
  };
  /** The runtime process during the run (planning excluded). */
  readonly runtime: {
    /**
     * CPU time of the main thread, which runs everything of the runtime (dependency tracking,
     * rendering, request keys, dispatch, gRPC, events) and the client side of the tools (HTTP
     * client, the IPC to DuckDB's child process — or DuckDB's bindings, in process); DuckDB's
     * query threads excluded. Linux only.
     */
    readonly mainThreadCpuMs?: number;
    /**
     * Event-loop busy time (wall): the same work plus time the thread was runnable but
     * waited for a CPU, or blocked inside a synchronous native call.
     */
    readonly eventLoopBusyMs: number;
    /** The runtime's overhead: mainThreadCpuMs (else eventLoopBusyMs) ÷ makespanMs, both wall time. */
    readonly overheadShare: number;
    /** CPU time of the whole process (user + system): DuckDB's threads when it runs in process, not its child process. */
    readonly cpuMs: number;
    /** Largest resident set size sampled during the run (bytes). */
    readonly peakRssBytes: number;
  };
  readonly operators: readonly OperatorTimeline[];
  /** The first failed query's error, when queries failed (langgraph). */
  readonly firstError?: string;
  /** Device makespan of naive's best setting ÷ this system's (absent when naive did not run). */
  readonly speedupVsNaive?: number;
  readonly speedupVsOpwise?: number;
  /** Device makespan of langgraph's best setting ÷ this system's (absent when langgraph did not run). */
  readonly speedupVsLanggraph?: number;
}

/** One result file. */
export interface WorkloadBenchResult {
  readonly resultVersion: 1 | typeof BENCH_RESULT_VERSION;
  readonly workload: {
    readonly id: string;
    readonly name: string;
    readonly shape: string;
    readonly llmOperators: number;
    readonly toolOperators: number;
  };
  /** Label of the run set (`--tag`), e.g. `scale`; absent for the main results. */
  readonly tag?: string;
  readonly engine: BenchEngine;
  readonly date: string;
  /** The source revision measured: git commit, `+changes` when the working tree differed from it. */
  readonly revision?: string;
  readonly commandLine: string;
  readonly machine: BenchMachine;
  readonly settings: BenchSettings;
  readonly dataset: { readonly name: string; readonly scale: number; readonly seed: number };
  readonly systems: readonly SystemResult[];
}

/** The result file name of a workload: `<workload>.json`, `sim-<workload>.json`, with the tag before the workload. */
export function benchResultFileName(engine: BenchEngine, workload: string, tag?: string): string {
  return `${engine === "sim" ? "sim-" : ""}${tag ? `${tag}-` : ""}${workload}.json`;
}

/** Result files of one engine and tag. */
export interface BenchRunSet {
  /** `llamacpp`, `sim`, `sim-scale`, …: names the set in reports. */
  readonly key: string;
  readonly engine: string;
  readonly tag?: string;
  readonly results: readonly WorkloadBenchResult[];
}
