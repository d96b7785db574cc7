/**
 * The static model deployment of the `naive` baseline. The naive strategy
 * places models on executors by expected load (`@halo/optimizer`), one model
 * per executor where there are enough of them and several on one otherwise —
 * right for accelerators that hold one model. When every executor can hold
 * every model of the workflow at once (the llama.cpp stand-ins on a CPU), a
 * competent deployment serves every model from every executor and sends each
 * call to the least busy one: that is what `replicateModels` makes of the plan.
 */
import type { ExecutionPlan, PlanStep } from "@halo/optimizer";

/** What an executor reports of its memory (`Info`). */
export interface ExecutorMemory {
  readonly memoryBudgetBytes: number;
  readonly models: readonly { readonly name: string; readonly memoryBytes: number }[];
}

/** Whether an executor can keep every one of `models` loaded at once. */
export function holdsAllModels(memory: ExecutorMemory, models: readonly string[]): boolean {
  let total = 0;
  for (const model of models) {
    const descriptor = memory.models.find((entry) => entry.name === model);
    if (!descriptor || descriptor.memoryBytes <= 0) return false;
    total += descriptor.memoryBytes;
  }
  return memory.memoryBudgetBytes > 0 && total <= memory.memoryBudgetBytes;
}

/**
 * The plan with every LLM operator on every worker (its first step copied to
 * each worker, its requests split evenly), in the original order. Only the
 * placement changes; the per-query runtime sends each call to the planned
 * worker of its operator with the fewest calls in flight.
 */
export function replicateModels(plan: ExecutionPlan): ExecutionPlan {
  const seen = new Set<string>();
  const workers = plan.workers.map((worker) => worker.id);
  const epochs = plan.epochs.map((epoch) => {
    const steps: PlanStep[] = [];
    for (const step of epoch.steps) {
      if (seen.has(step.operator)) continue;
      seen.add(step.operator);
      const total = plan.epochs
        .flatMap((other) => other.steps)
        .filter((other) => other.operator === step.operator)
        .reduce((sum, other) => sum + other.queries, 0);
      workers.forEach((worker, index) => {
        const queries = Math.floor(total / workers.length) + (index < total % workers.length ? 1 : 0);
        steps.push({ ...step, worker, queries, migrateFrom: undefined });
      });
    }
    return { ...epoch, steps: steps.map(({ migrateFrom: _dropped, ...rest }) => rest) };
  });
  return { ...plan, epochs: epochs.filter((epoch) => epoch.steps.length > 0) };
}

/**
 * The static deployment of a plan as a LangGraph user runs it: per model, the
 * workers that serve it (those its operators are planned on), in worker order.
 * A model the plan does not place is served by every worker.
 */
export function modelWorkers(plan: ExecutionPlan, models: readonly string[]): Map<string, string[]> {
  const order = plan.workers.map((worker) => worker.id);
  const placed = new Map<string, Set<string>>();
  for (const step of plan.epochs.flatMap((epoch) => epoch.steps)) {
    let workers = placed.get(step.model);
    if (!workers) {
      workers = new Set();
      placed.set(step.model, workers);
    }
    workers.add(step.worker);
  }
  return new Map(
    models.map((model) => {
      const workers = placed.get(model);
      return [model, workers ? order.filter((worker) => workers.has(worker)) : [...order]];
    }),
  );
}
