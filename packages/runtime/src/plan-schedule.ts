/**
 * The plan as the runtime follows it: per worker, its LLM steps in priority
 * order (epoch, then position in the epoch); per operator, the workers it is
 * planned on. Epochs are priorities, not barriers. When a worker is lost, its
 * steps move to the remaining workers.
 */
import type { ExecutionPlan } from "@halo/optimizer";

/** One LLM operator planned on one worker. */
export interface PlannedStep {
  readonly operator: string;
  readonly model: string;
  readonly worker: string;
  readonly epoch: number;
  /** Global order of the step in the plan (lower first). */
  readonly priority: number;
  /** Sequences per engine batch the plan priced. */
  readonly batchSize: number;
  /** Where the static prefix's KV comes from: migrate from `migrateFrom`, reuse, or recompute. */
  readonly prefixKv: "reuse" | "migrate" | "recompute";
  readonly migrateFrom?: string;
  /** Set when the step was moved here from a lost worker. */
  readonly reassignedFrom?: string;
}

/** A live worker as reassignment sees it. */
export interface ReassignmentCandidate {
  readonly id: string;
  readonly currentModel: string | undefined;
}

export class PlanSchedule {
  private readonly byWorker = new Map<string, PlannedStep[]>();
  private readonly byOperator = new Map<string, Set<string>>();
  private readonly priorities = new Map<string, number>();
  /** Per operator, the plan's longest estimate of one engine batch (a wave) and its batch size. */
  private readonly waveEstimates = new Map<string, { readonly waveMs: number; readonly batchSize: number }>();

  constructor(plan: ExecutionPlan) {
    for (const worker of plan.workers) this.byWorker.set(worker.id, []);
    let priority = 0;
    for (const epoch of plan.epochs) {
      for (const step of epoch.steps) {
        const { prefillMs, decodeMs, migrateMs } = step.estimate;
        const waveMs = (prefillMs + decodeMs + migrateMs) / Math.max(1, step.waves);
        const known = this.waveEstimates.get(step.operator);
        if (!known || waveMs > known.waveMs)
          this.waveEstimates.set(step.operator, { waveMs, batchSize: step.batchSize });
        const steps = this.byWorker.get(step.worker);
        if (!steps) continue;
        // A worker planned twice for one operator keeps its first (highest-priority) step.
        if (steps.some((existing) => existing.operator === step.operator)) continue;
        this.add({
          operator: step.operator,
          model: step.model,
          worker: step.worker,
          epoch: epoch.index,
          priority,
          batchSize: step.batchSize,
          prefixKv: step.prefixKv,
          ...(step.migrateFrom === undefined ? {} : { migrateFrom: step.migrateFrom }),
        });
        priority += 1;
      }
    }
  }

  /**
   * The plan's estimate of running `items` calls of `operator` in one Generate
   * call: one engine batch's estimate per `batchSize` items (0 when the plan
   * does not list the operator).
   */
  estimatedCallMs(operator: string, items: number): number {
    const estimate = this.waveEstimates.get(operator);
    if (!estimate) return 0;
    return estimate.waveMs * Math.max(1, Math.ceil(items / Math.max(1, estimate.batchSize)));
  }

  /** The worker's steps, highest priority first. */
  stepsOf(worker: string): readonly PlannedStep[] {
    return this.byWorker.get(worker) ?? [];
  }

  /** Workers the operator is planned on. */
  workersOf(operator: string): ReadonlySet<string> {
    return this.byOperator.get(operator) ?? new Set();
  }

  stepFor(worker: string, operator: string): PlannedStep | undefined {
    return this.byWorker.get(worker)?.find((step) => step.operator === operator);
  }

  /** The operator's best priority (operators the plan does not list come last). */
  priorityOf(operator: string): number {
    return this.priorities.get(operator) ?? Number.POSITIVE_INFINITY;
  }

  /** Operators in priority order. */
  operators(): string[] {
    return [...this.priorities.keys()].sort((left, right) => this.priorityOf(left) - this.priorityOf(right));
  }

  /**
   * Moves the steps of a lost worker: an operator also planned on a live
   * worker stays there; otherwise its step goes to the live worker holding its
   * model, else one planned to load it anyway, else the one with the fewest
   * steps. Returns where each operator went.
   */
  reassign(
    lost: string,
    candidates: readonly ReassignmentCandidate[],
  ): { readonly operator: string; readonly to: string }[] {
    return this.moveSteps(lost, () => true, candidates);
  }

  /**
   * Moves a worker's steps of one model elsewhere (the worker cannot load it),
   * like `reassign`. Operators with nowhere to go are returned in `stranded`.
   */
  reassignModel(
    worker: string,
    model: string,
    candidates: readonly ReassignmentCandidate[],
  ): { readonly moves: { readonly operator: string; readonly to: string }[]; readonly stranded: string[] } {
    const operators = this.stepsOf(worker)
      .filter((step) => step.model === model)
      .map((step) => step.operator);
    const moves = this.moveSteps(worker, (step) => step.model === model, candidates);
    return { moves, stranded: operators.filter((operator) => this.workersOf(operator).size === 0) };
  }

  private moveSteps(
    from: string,
    which: (step: PlannedStep) => boolean,
    candidates: readonly ReassignmentCandidate[],
  ): { readonly operator: string; readonly to: string }[] {
    const all = this.byWorker.get(from) ?? [];
    const steps = all.filter(which);
    this.byWorker.set(
      from,
      all.filter((step) => !which(step)),
    );
    const moves: { operator: string; to: string }[] = [];
    for (const step of steps) {
      const workers = this.byOperator.get(step.operator)!;
      workers.delete(from);
      const live = candidates.filter((candidate) => workers.has(candidate.id));
      if (live.length > 0 || candidates.length === 0) continue;
      const target =
        candidates.find((candidate) => candidate.currentModel === step.model) ??
        candidates.find((candidate) =>
          this.stepsOf(candidate.id).some((other) => other.model === step.model),
        ) ??
        [...candidates].sort(
          (left, right) =>
            this.stepsOf(left.id).length - this.stepsOf(right.id).length || left.id.localeCompare(right.id),
        )[0]!;
      const { migrateFrom: _dropped, ...rest } = step;
      this.add({ ...rest, worker: target.id, prefixKv: "recompute", reassignedFrom: from });
      moves.push({ operator: step.operator, to: target.id });
    }
    return moves;
  }

  private add(step: PlannedStep): void {
    const steps = this.byWorker.get(step.worker);
    if (!steps) return;
    steps.push(step);
    steps.sort((left, right) => left.priority - right.priority);
    let workers = this.byOperator.get(step.operator);
    if (!workers) {
      workers = new Set();
      this.byOperator.set(step.operator, workers);
    }
    workers.add(step.worker);
    this.priorities.set(step.operator, Math.min(this.priorityOf(step.operator), step.priority));
  }
}
