/**
 * Where a run departed from its plan, counted from the run's own events:
 * work a worker took from another's plan (work stealing), model loads beyond
 * the plan's, the preloads the plan priced and those the runtime did, and
 * Generate items run on a worker beyond its planned share of an operator.
 * Departures are allowed (they avoid idling, survive lost executors); this
 * makes them visible beside the plan's estimate.
 */
import type { ExecutionPlan } from "@halo/optimizer";
import type { RuntimeEvent } from "./runtime-events.js";

/** A run's departures from its plan (`RunSummary.deviations`). */
export interface PlanDeviations {
  /** Generate calls (and their items) a worker ran for an operator the plan put on other workers. */
  readonly stolen: { readonly batches: number; readonly items: number };
  /**
   * Model loads that happened (already-loaded models excluded), by reason:
   * `preload` — planned, loaded before any call of the model was ready;
   * `planned` — planned, loaded on demand; `unplanned` — beyond the plan's
   * loads of that model on that worker (failover, a switch back and forth).
   */
  readonly modelLoads: { readonly planned: number; readonly preload: number; readonly unplanned: number };
  /** Loads the plan's worker timelines make (each change of model on a worker, the first model included). */
  readonly plannedModelLoads: number;
  /** Preloads the plan priced, and preloads the runtime did (loads before any call of the model was ready). */
  readonly preloads: { readonly planned: number; readonly done: number };
  /** Generate items answered (dispatched, less those a failed call left unanswered), and the plan's count of them (its estimate of distinct requests). */
  readonly items: { readonly run: number; readonly planned: number };
  /**
   * Items run off their planned split: per operator and worker, the items
   * beyond the plan's share there (stolen items included), summed.
   */
  readonly offSplitItems: number;
}

/** Counts a run's departures from `plan` from its events (`observe` each one, then `summary`). */
export class PlanDeviationTracker {
  /** Per `worker\u0000model`, the loads the plan makes. */
  private readonly plannedLoads = new Map<string, number>();
  /** Per `operator\u0000worker`, the items the plan runs there. */
  private readonly plannedItems = new Map<string, number>();
  private readonly plannedPreloads: number;
  private readonly loadsSeen = new Map<string, number>();
  private readonly itemsRun = new Map<string, number>();
  /** Batches dispatched and not finished yet, and those of them that were stolen. */
  private readonly openBatches = new Set<string>();
  private readonly stolen = new Set<string>();
  private stolenCalls = 0;
  private stolenItems = 0;
  private loads = { planned: 0, preload: 0, unplanned: 0 };
  private preloadsDone = 0;

  constructor(plan: ExecutionPlan) {
    const current = new Map<string, string>();
    const load = (worker: string, model: string) => {
      if (current.get(worker) === model) return;
      current.set(worker, model);
      const key = `${worker}\u0000${model}`;
      this.plannedLoads.set(key, (this.plannedLoads.get(key) ?? 0) + 1);
    };
    let preloads = 0;
    for (const epoch of plan.epochs) {
      for (const step of epoch.steps) {
        load(step.worker, step.model);
        const key = `${step.operator}\u0000${step.worker}`;
        this.plannedItems.set(key, (this.plannedItems.get(key) ?? 0) + step.queries);
      }
      // A preload loads the model of a later step: it takes effect after this epoch's steps.
      for (const preload of epoch.preloads) {
        load(preload.worker, preload.model);
        preloads += 1;
      }
    }
    this.plannedPreloads = preloads;
  }

  observe(event: RuntimeEvent): void {
    switch (event.type) {
      case "model-load": {
        if (event.alreadyLoaded) return;
        const key = `${event.worker}\u0000${event.model}`;
        const seen = (this.loadsSeen.get(key) ?? 0) + 1;
        this.loadsSeen.set(key, seen);
        if (event.reason === "preload") this.preloadsDone += 1;
        if (seen > (this.plannedLoads.get(key) ?? 0)) this.loads.unplanned += 1;
        else if (event.reason === "preload") this.loads.preload += 1;
        else this.loads.planned += 1;
        return;
      }
      case "batch-dispatched": {
        // Counted when dispatched: the summary may be taken before the last call's batch-finished.
        this.openBatches.add(event.batchId);
        if (event.stolen) {
          this.stolen.add(event.batchId);
          this.stolenCalls += 1;
          this.stolenItems += event.items;
        }
        this.addItems(event.operator, event.worker, event.items);
        return;
      }
      case "batch-finished": {
        if (!this.openBatches.delete(event.batchId)) return;
        const stolen = this.stolen.delete(event.batchId);
        // Items left unanswered (failed, or requeued after a failed call) do not count here.
        const unanswered = Math.max(0, event.items - event.answeredItems);
        if (stolen) this.stolenItems -= unanswered;
        this.addItems(event.operator, event.worker, -unanswered);
        return;
      }
      default:
        return;
    }
  }

  private addItems(operator: string, worker: string, items: number): void {
    const key = `${operator}\u0000${worker}`;
    this.itemsRun.set(key, (this.itemsRun.get(key) ?? 0) + items);
  }

  summary(): PlanDeviations {
    let run = 0;
    let offSplit = 0;
    for (const [key, items] of this.itemsRun) {
      run += items;
      offSplit += Math.max(0, items - (this.plannedItems.get(key) ?? 0));
    }
    let planned = 0;
    for (const items of this.plannedItems.values()) planned += items;
    let plannedModelLoads = 0;
    for (const loads of this.plannedLoads.values()) plannedModelLoads += loads;
    return {
      stolen: { batches: this.stolenCalls, items: this.stolenItems },
      modelLoads: { ...this.loads },
      plannedModelLoads,
      preloads: { planned: this.plannedPreloads, done: this.preloadsDone },
      items: { run, planned },
      offSplitItems: offSplit,
    };
  }
}
