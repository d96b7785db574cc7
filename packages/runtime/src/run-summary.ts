import type { ObservedStatistics } from "@halo/optimizer";
import type { PlanDeviations } from "./plan-deviations.js";
import type { ExecutionMode } from "./runtime-events.js";

/** Per-worker figures in a run summary. */
export interface WorkerSummary {
  readonly id: string;
  readonly address: string;
  readonly alive: boolean;
  /** Generate calls and the items they answered. */
  readonly batches: number;
  readonly items: number;
  /** Wall time with a Generate call or a model load running (calls overlap in per-query mode). */
  readonly busyMs: number;
  readonly modelLoads: number;
  readonly loadMs: number;
}

/** What a run did, for the CLI's summary and for benchmarks. */
export interface RunSummary {
  readonly workflow: string;
  readonly strategy: string;
  readonly mode: ExecutionMode;
  readonly disabledOptimizations: readonly string[];
  readonly queries: {
    /** Queries given to `run` (skipped ones included). */
    readonly total: number;
    readonly ok: number;
    readonly failed: number;
    /** Already in the sink (resume). */
    readonly skipped: number;
    /** Neither finished nor skipped (an aborted run). */
    readonly unfinished: number;
  };
  readonly aborted: boolean;
  /** Wall time of the run, from the first dispatch to the last record. */
  readonly makespanMs: number;
  /** Finished queries (ok or failed) per second of makespan. */
  readonly queriesPerSecond: number;
  readonly tokens: {
    /** Prompt tokens of the executed LLM calls. */
    readonly prompt: number;
    /** Of those, served from cached KV (shared prefixes, earlier sequences) … */
    readonly cached: number;
    /** … and prefilled. */
    readonly prefilled: number;
    readonly generated: number;
  };
  readonly llm: {
    /** Operator instances (one per query and LLM operator that became ready). */
    readonly instances: number;
    /** Distinct calls sent to executors. */
    readonly calls: number;
    /** Instances served by an identical call in flight … */
    readonly coalesced: number;
    /** … or already finished. */
    readonly cached: number;
    readonly batches: number;
    readonly failedItems: number;
  };
  readonly tools: {
    readonly instances: number;
    readonly calls: number;
    readonly coalesced: number;
    readonly cached: number;
    readonly failed: number;
    /** `doQueryBatch` calls given several calls (`sql-batching`), and those calls (the tool runs them as one query or alone). */
    readonly sqlBatches?: number;
    readonly sqlBatchedCalls?: number;
  };
  readonly modelLoads: number;
  readonly migrations: { readonly attempted: number; readonly succeeded: number; readonly bytes: number };
  readonly retries: number;
  readonly executorsLost: readonly string[];
  /** The plan's prediction, to compare with what happened. */
  readonly plan: {
    readonly estimatedMakespanMs: number;
    /** The plan replayed micro-batch by micro-batch (`ExecutionPlan.pipelinedMakespanMs`), when it has one. */
    readonly pipelinedMakespanMs?: number;
    readonly lowerBoundMs: number;
    readonly modelLoads: number;
  };
  /** Where the run departed from the plan: work stealing, unplanned model loads, preloads, off-split items. */
  readonly deviations: PlanDeviations;
  readonly workers: readonly WorkerSummary[];
  /**
   * What the run measured per operator (output and prompt tokens, cache hits, tool call times):
   * `halo plan|run --statistics <summary>` plans the next batch of the workflow from it.
   */
  readonly observed?: ObservedStatistics;
}
