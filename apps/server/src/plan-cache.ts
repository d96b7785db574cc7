/**
 * Plans of mini-batches and batch chunks, reused across runs of the same
 * workflow version and shape: the key is the workflow, its version, and the
 * batch size rounded up to a power of two (and, for online mini-batches, the
 * models the executors hold: see `restrictToResidency`). Planning is bounded by a time
 * limit, and a cache hit costs nothing, so steady online traffic plans each
 * (workflow, size class) once.
 *
 * The cache learns from the runs: what each finished run of a workflow version measured
 * (`RunSummary.observed`: output lengths, prompt sizes, cache hits, tool times) is added up,
 * and plans are made from those statistics instead of the estimator's defaults. They are
 * replanned when the queries measured reach the next power of two (1, 2, 4, … queries), so
 * the statistics sharpen while a workflow's traffic grows and each size class is replanned a
 * logarithmic number of times.
 */
import type { CompiledWorkflow, JsonObject, QueryContext } from "@halo/ir";
import {
  type ExecutionPlan,
  mergeObservedStatistics,
  type ObservedStatistics,
  type PlanningWorker,
  parseObservedStatistics,
  planBatch,
} from "@halo/optimizer";
import type { ResidencyRestriction } from "./residency-binding.js";

/** How plans are made. */
export interface PlanCacheOptions {
  readonly workers: readonly PlanningWorker[];
  readonly strategy: string;
  /** Wall-clock limit of one search (the strategy's safety net). */
  readonly timeLimitMs: number;
  /** Plans kept (least recently used dropped first). */
  readonly capacity: number;
  /**
   * Where learned statistics survive restarts (the server store): read once per workflow version
   * before its first plan, written after each run adds to them. Failures are reported, never fatal.
   */
  readonly statisticsStore?: {
    get(workflow: string, version: number): Promise<JsonObject | undefined>;
    put(workflow: string, version: number, statistics: JsonObject): Promise<void>;
  };
  /** How long a read of stored statistics may take before planning goes on without it (default 5 s). */
  readonly statisticsTimeoutMs?: number;
  /** Reports a statistics store failure (default: ignored). */
  readonly log?: (message: string) => void;
}

const STATISTICS_TIMEOUT_MS = 5_000;

/** The size class of a run of `count` queries. */
export function sizeClass(count: number): number {
  let size = 1;
  while (size < count) size *= 2;
  return size;
}

/**
 * The generation plans made from `observed` are keyed by: it grows by one each time the queries
 * measured reach the next power of two (0 without statistics).
 */
export function statisticsGeneration(observed: ObservedStatistics | undefined): number {
  return observed && observed.queries >= 1 ? Math.floor(Math.log2(observed.queries)) + 1 : 0;
}

export class PlanCache {
  private readonly plans = new Map<string, Promise<ExecutionPlan>>();
  /** Per workflow version, what its runs measured, added up. */
  private readonly learned = new Map<string, ObservedStatistics>();
  /** Per workflow version, the read of its stored statistics (done once). */
  private readonly loads = new Map<string, Promise<void>>();
  hits = 0;
  misses = 0;

  constructor(private readonly options: PlanCacheOptions) {}

  /**
   * Adds what a finished run of `workflow` (version `version`) measured to what later plans use,
   * and stores the sum. Resolves when it is stored (a store failure is logged).
   */
  async observe(workflow: string, version: number, observed: ObservedStatistics | undefined): Promise<void> {
    if (!observed || observed.queries <= 0 || observed.workflow !== workflow) return;
    await this.loadStored(workflow, version);
    const key = `${workflow}\u0000${version}`;
    const known = this.learned.get(key);
    const merged = known ? mergeObservedStatistics(known, observed) : observed;
    this.learned.set(key, merged);
    await this.options.statisticsStore
      ?.put(workflow, version, merged as unknown as JsonObject)
      .catch((error: unknown) =>
        this.options.log?.(`cannot store the statistics of workflow "${workflow}": ${errorText(error)}`),
      );
  }

  /** Reads the stored statistics of a workflow version once (before its first plan or observation). */
  private loadStored(workflow: string, version: number): Promise<void> {
    const key = `${workflow}\u0000${version}`;
    const store = this.options.statisticsStore;
    if (!store) return Promise.resolve();
    let load = this.loads.get(key);
    if (!load) {
      // A store that stops answering must not hold planning up: after the timeout, plan without it.
      const timeoutMs = this.options.statisticsTimeoutMs ?? STATISTICS_TIMEOUT_MS;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      });
      load = Promise.race([store.get(workflow, version), timeout]).then(
        (stored) => {
          if (stored === undefined || this.learned.has(key)) return;
          this.learned.set(
            key,
            parseObservedStatistics(stored, `stored statistics of workflow "${workflow}"`),
          );
        },
        (error: unknown) =>
          this.options.log?.(`cannot read the statistics of workflow "${workflow}": ${errorText(error)}`),
      );
      // A stored value that does not parse is reported and left out (the next run replaces it).
      load = load
        .catch((error: unknown) => this.options.log?.(errorText(error)))
        .finally(() => clearTimeout(timer));
      this.loads.set(key, load);
    }
    return load;
  }

  /** The statistics plans of `workflow` (version `version`) are made from, if any run measured them. */
  statisticsOf(workflow: string, version: number): ObservedStatistics | undefined {
    return this.learned.get(`${workflow}\u0000${version}`);
  }

  /**
   * The plan for `queries` of `workflow` (version `version`), made once per
   * size class (and per residency restriction, when one is given).
   */
  async planFor(
    workflow: CompiledWorkflow,
    version: number,
    queries: readonly QueryContext[],
    restriction?: ResidencyRestriction,
  ): Promise<ExecutionPlan> {
    await this.loadStored(workflow.name, version);
    const learned = this.learned.get(`${workflow.name}\u0000${version}`);
    const key = `${workflow.name}\u0000${version}\u0000${sizeClass(queries.length)}\u0000${restriction?.key ?? ""}\u0000${statisticsGeneration(learned)}`;
    const cached = this.plans.get(key);
    if (cached) {
      this.hits += 1;
      // Refresh its place in the LRU order.
      this.plans.delete(key);
      this.plans.set(key, cached);
      return cached;
    }
    this.misses += 1;
    const planned = planBatch({
      workflow,
      queries,
      workers: restriction?.key ? restriction.workers : this.options.workers,
      strategy: this.options.strategy,
      timeLimitMs: this.options.timeLimitMs,
      ...(learned ? { observed: learned } : {}),
    }).then((result) => result.plan);
    this.plans.set(key, planned);
    // A failed plan is not cached: the next run tries again (and reports its own error).
    planned.catch(() => this.plans.delete(key));
    while (this.plans.size > this.options.capacity) {
      const oldest = this.plans.keys().next().value as string;
      this.plans.delete(oldest);
    }
    return planned;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
