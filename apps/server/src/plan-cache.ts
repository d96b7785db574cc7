/**
 * Plans of mini-batches and batch chunks, reused across runs of the same
 * workflow version and shape: the key is the workflow, its version, and the
 * batch size rounded up to a power of two (and, for online mini-batches, the
 * models the executors hold: see `restrictToResidency`). Planning is bounded by a time
 * limit, and a cache hit costs nothing, so steady online traffic plans each
 * (workflow, size class) once.
 */
import type { CompiledWorkflow, QueryContext } from "@halo/ir";
import { type ExecutionPlan, type PlanningWorker, planBatch } from "@halo/optimizer";
import type { ResidencyRestriction } from "./residency-binding.js";

/** How plans are made. */
export interface PlanCacheOptions {
  readonly workers: readonly PlanningWorker[];
  readonly strategy: string;
  /** Wall-clock limit of one search (the strategy's safety net). */
  readonly timeLimitMs: number;
  /** Plans kept (least recently used dropped first). */
  readonly capacity: number;
}

/** The size class of a run of `count` queries. */
export function sizeClass(count: number): number {
  let size = 1;
  while (size < count) size *= 2;
  return size;
}

export class PlanCache {
  private readonly plans = new Map<string, Promise<ExecutionPlan>>();
  hits = 0;
  misses = 0;

  constructor(private readonly options: PlanCacheOptions) {}

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
    const key = `${workflow.name}\u0000${version}\u0000${sizeClass(queries.length)}\u0000${restriction?.key ?? ""}`;
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
