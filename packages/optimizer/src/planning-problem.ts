import type { DeviceProfile, ModelProfile } from "@halo/profiles";

/**
 * What a strategy plans: the operators of one workflow over a batch (with
 * statistics from the estimator), the workers and their device profiles.
 * Plain data; `validateProblem` checks it and `indexProblem` derives the
 * lookup tables the cost model uses.
 */
export interface PlanningProblem {
  /** Workflow name (copied into the plan). */
  readonly workflow: string;
  readonly queryCount: number;
  /** LLM and tool operators (the input operator is not an operator here). Any order; parents must exist. */
  readonly operators: readonly PlannedOperator[];
  readonly workers: readonly PlanningWorker[];
  /** CPU pools the tool operators run on. */
  readonly pools: readonly ToolPool[];
}

/** A worker: an executor serving models as its device profile says. */
export interface PlanningWorker {
  readonly id: string;
  /** Must list every model the worker may serve (the estimator adds derived profiles). */
  readonly profile: DeviceProfile;
  /** Where the executor listens (`host:port`), if known; copied into the plan. */
  readonly address?: string;
  /**
   * When given, the only models this worker may serve; its profile's other
   * models are ignored. A server planning a small run beside running work
   * lists the models an executor holds now, so the plan loads none.
   */
  readonly models?: readonly string[];
}

/** A pool of CPU slots running tool operators (SQL connections, HTTP sockets, processor threads). */
export interface ToolPool {
  readonly name: string;
  /** Tool calls running at once. */
  readonly concurrency: number;
}

/** Statistics of an LLM operator over the batch, produced by the estimator. Token counts are means. */
export interface LlmOperatorStatistics {
  /** Operator instances in the batch before coalescing (one per query, usually). */
  readonly instances: number;
  /** Distinct requests after coalescing identical ones (1 ≤ distinctRequests ≤ instances). */
  readonly distinctRequests: number;
  /** Tokens of the static prefix every request shares (system prompt, constant lead text). */
  readonly sharedPrefixTokens: number;
  /** Identifies the static prefix's KV cache: operators with the same model and key share it. */
  readonly prefixKey: string;
  /** Prompt tokens of one request after the shared prefix (includes `inheritedContext.tokens`). */
  readonly uniquePromptTokens: number;
  /**
   * Of `uniquePromptTokens`, the mean per request that an earlier request of the batch has
   * already prefilled: leading prompt text a subset of the queries shares beyond the static
   * prefix (the same tool result, parameters or article). An engine's prefix cache serves
   * them when requests sharing them are sent together (the runtime's prefix reordering).
   * Absent: 0.
   */
  readonly batchSharedPromptTokens?: number;
  /** Expected generated tokens of one request. */
  readonly outputTokens: number;
  /**
   * The output is constrained by a JSON-schema grammar (structured output): decoding is priced
   * with the model profile's `structuredDecode` when it has one. Absent: free text.
   */
  readonly structuredOutput?: boolean;
  /**
   * Leading tokens of each request equal to the KV of the same query's request
   * of a parent LLM operator (same model): reusable where the parent ran,
   * migratable from there, or recomputed.
   */
  readonly inheritedContext?: { readonly from: string; readonly tokens: number };
}

/** Statistics of a tool operator over the batch. */
export interface ToolOperatorStatistics {
  readonly instances: number;
  readonly distinctRequests: number;
  /** Mean latency of one call. */
  readonly latencyMeanMs: number;
  /** 95th percentile latency of one call (reported; the cost model plans with the mean). */
  readonly latencyP95Ms: number;
}

/** An LLM operator to place on workers. */
export interface PlannedLlmOperator {
  readonly id: string;
  readonly kind: "llm";
  readonly model: string;
  /** Operator ids this one depends on (LLM or tool; the input operator is left out). */
  readonly parents: readonly string[];
  readonly statistics: LlmOperatorStatistics;
}

/** A tool operator (SQL, HTTP, processor) running on a CPU pool. */
export interface PlannedToolOperator {
  readonly id: string;
  readonly kind: "sql" | "http" | "processor";
  readonly parents: readonly string[];
  /** Name of a pool in `PlanningProblem.pools`. */
  readonly pool: string;
  readonly statistics: ToolOperatorStatistics;
}

export type PlannedOperator = PlannedLlmOperator | PlannedToolOperator;

/**
 * Optimizations a plan may turn off (ablations). The cost model prices the
 * plan without them and the plan records them so the runtime disables them too.
 * `batching` (cross-query batching) is off only for the `naive` strategy.
 */
export interface DisabledOptimizations {
  readonly prefixSharing: boolean;
  readonly coalescing: boolean;
  readonly migration: boolean;
  readonly pipelining: boolean;
  readonly batching: boolean;
  /**
   * Micro-batches grouped by shared prompt prefix (the runtime's prefix reuse). The cost
   * model does not price it: it changes which calls share an engine batch, not how many run.
   */
  readonly prefixReordering?: boolean;
  /**
   * Ready calls of one SQL operator run as one query over their parameters (the runtime's
   * `doQueryBatch`). Not priced either: a tool call costs its mean latency whatever it runs with.
   */
  readonly sqlBatching?: boolean;
}

/** Names of the optimizations, as written in plans and on the command line (`--disable prefix-sharing`). */
export const OPTIMIZATION_NAMES = [
  "prefix-sharing",
  "coalescing",
  "migration",
  "pipelining",
  "batching",
  "prefix-reordering",
  "sql-batching",
] as const;
export type OptimizationName = (typeof OPTIMIZATION_NAMES)[number];

const OPTIMIZATION_KEYS: Readonly<Record<OptimizationName, keyof DisabledOptimizations>> = {
  "prefix-sharing": "prefixSharing",
  coalescing: "coalescing",
  migration: "migration",
  pipelining: "pipelining",
  batching: "batching",
  "prefix-reordering": "prefixReordering",
  "sql-batching": "sqlBatching",
};

/** Nothing disabled. */
export const NO_DISABLED_OPTIMIZATIONS: DisabledOptimizations = {
  prefixSharing: false,
  coalescing: false,
  migration: false,
  pipelining: false,
  batching: false,
  prefixReordering: false,
  sqlBatching: false,
};

/** Builds a disabled set from optimization names; throws `PlanningError` naming an unknown one. */
export function disabledOptimizations(names: Iterable<string>): DisabledOptimizations {
  const result: Record<keyof DisabledOptimizations, boolean> = {
    ...NO_DISABLED_OPTIMIZATIONS,
    prefixReordering: false,
    sqlBatching: false,
  };
  for (const name of names) {
    const key = OPTIMIZATION_KEYS[name as OptimizationName];
    if (!key) {
      throw new PlanningError(`unknown optimization "${name}" (known: ${OPTIMIZATION_NAMES.join(", ")})`);
    }
    result[key] = true;
  }
  return result;
}

/** The names of the disabled optimizations, in `OPTIMIZATION_NAMES` order. */
export function disabledOptimizationNames(disabled: DisabledOptimizations): OptimizationName[] {
  return OPTIMIZATION_NAMES.filter((name) => disabled[OPTIMIZATION_KEYS[name]]);
}

/** A planning problem or option that cannot be planned; the message names the operator, model or worker. */
export class PlanningError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlanningError";
  }
}

/**
 * The model profile of `model` on a worker, or undefined when its profile
 * does not list it or its `models` restriction leaves it out.
 */
export function workerModelProfile(worker: PlanningWorker, model: string): ModelProfile | undefined {
  if (worker.models !== undefined && !worker.models.includes(model)) return undefined;
  return Object.hasOwn(worker.profile.models, model) ? worker.profile.models[model] : undefined;
}

/** True when the model's weights fit in the worker's memory. */
export function workerCanServe(worker: PlanningWorker, model: string): boolean {
  const profile = workerModelProfile(worker, model);
  return profile !== undefined && profile.weightsBytes <= worker.profile.memoryBytes;
}

/**
 * Checks a problem and throws `PlanningError` listing every problem: duplicate
 * or unknown ids, cycles, bad statistics, unknown pools, no workers, a model
 * no worker lists or whose weights exceed every worker's memory.
 */
export function validateProblem(problem: PlanningProblem): void {
  const problems: string[] = [];
  if (problem.workers.length === 0) problems.push("no workers: a plan needs at least one worker");
  const workerIds = new Set<string>();
  for (const worker of problem.workers) {
    if (workerIds.has(worker.id)) problems.push(`duplicate worker id "${worker.id}"`);
    workerIds.add(worker.id);
  }
  if (!Number.isInteger(problem.queryCount) || problem.queryCount < 1) {
    problems.push(`query count must be a positive integer, got ${problem.queryCount}`);
  }
  const pools = new Map(problem.pools.map((pool) => [pool.name, pool]));
  for (const pool of problem.pools) {
    if (!Number.isInteger(pool.concurrency) || pool.concurrency < 1) {
      problems.push(`pool "${pool.name}": concurrency must be a positive integer, got ${pool.concurrency}`);
    }
  }
  const byId = new Map<string, PlannedOperator>();
  for (const operator of problem.operators) {
    if (byId.has(operator.id)) problems.push(`duplicate operator id "${operator.id}"`);
    byId.set(operator.id, operator);
  }
  for (const operator of problem.operators) {
    for (const parent of operator.parents) {
      if (!byId.has(parent)) problems.push(`operator "${operator.id}": unknown parent "${parent}"`);
    }
    problems.push(...statisticsProblems(operator, byId));
    if (operator.kind === "llm") {
      if (problem.workers.length > 0) problems.push(...modelProblems(operator, problem.workers));
    } else if (!pools.has(operator.pool)) {
      problems.push(`operator "${operator.id}": unknown pool "${operator.pool}"`);
    }
  }
  const cycle = findCycle(problem.operators, byId);
  if (cycle) problems.push(`dependency cycle: ${cycle.join(" → ")}`);
  if (problems.length > 0) {
    throw new PlanningError(`invalid planning problem:\n  ${problems.join("\n  ")}`);
  }
}

function statisticsProblems(operator: PlannedOperator, byId: ReadonlyMap<string, PlannedOperator>): string[] {
  const problems: string[] = [];
  const where = `operator "${operator.id}"`;
  const { instances, distinctRequests } = operator.statistics;
  if (!Number.isInteger(instances) || instances < 1) {
    problems.push(`${where}: instances must be a positive integer, got ${instances}`);
  }
  if (!Number.isInteger(distinctRequests) || distinctRequests < 1 || distinctRequests > instances) {
    problems.push(`${where}: distinctRequests must be an integer in [1, instances], got ${distinctRequests}`);
  }
  const nonNegative = (name: string, value: number) => {
    if (!Number.isFinite(value) || value < 0) problems.push(`${where}: ${name} must be ≥ 0, got ${value}`);
  };
  if (operator.kind === "llm") {
    const statistics = operator.statistics;
    nonNegative("sharedPrefixTokens", statistics.sharedPrefixTokens);
    nonNegative("uniquePromptTokens", statistics.uniquePromptTokens);
    nonNegative("outputTokens", statistics.outputTokens);
    const shared = statistics.batchSharedPromptTokens;
    if (shared !== undefined && !(shared >= 0 && shared <= statistics.uniquePromptTokens)) {
      problems.push(`${where}: batchSharedPromptTokens must be in [0, uniquePromptTokens], got ${shared}`);
    }
    if (statistics.structuredOutput !== undefined && typeof statistics.structuredOutput !== "boolean") {
      problems.push(
        `${where}: structuredOutput must be a boolean, got ${String(statistics.structuredOutput)}`,
      );
    }
    const inherited = statistics.inheritedContext;
    if (inherited) {
      const parent = byId.get(inherited.from);
      if (!operator.parents.includes(inherited.from) || parent?.kind !== "llm") {
        problems.push(`${where}: inheritedContext.from "${inherited.from}" is not an LLM parent`);
      } else if (parent.model !== operator.model) {
        problems.push(`${where}: inherits context from "${inherited.from}", which runs another model`);
      }
      if (!(inherited.tokens >= 0 && inherited.tokens <= statistics.uniquePromptTokens)) {
        problems.push(`${where}: inheritedContext.tokens must be in [0, uniquePromptTokens]`);
      }
    }
  } else {
    nonNegative("latencyMeanMs", operator.statistics.latencyMeanMs);
    nonNegative("latencyP95Ms", operator.statistics.latencyP95Ms);
  }
  return problems;
}

function modelProblems(operator: PlannedLlmOperator, workers: readonly PlanningWorker[]): string[] {
  const listing = workers.filter((worker) => workerModelProfile(worker, operator.model) !== undefined);
  if (listing.length === 0) {
    return [
      `operator "${operator.id}": no worker profile lists model "${operator.model}" (or every worker's \`models\` leaves it out)`,
    ];
  }
  if (!workers.some((worker) => workerCanServe(worker, operator.model))) {
    const weights = workerModelProfile(listing[0]!, operator.model)!.weightsBytes;
    const largest = Math.max(...workers.map((worker) => worker.profile.memoryBytes));
    return [
      `operator "${operator.id}": model "${operator.model}" needs ${formatGiB(weights)} for its weights, ` +
        `more than any worker's memory (largest ${formatGiB(largest)})`,
    ];
  }
  return [];
}

/** Bytes as GiB with one decimal, for messages. */
export function formatGiB(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function findCycle(
  operators: readonly PlannedOperator[],
  byId: ReadonlyMap<string, PlannedOperator>,
): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const mark = state.get(id);
    if (mark === "done") return undefined;
    if (mark === "visiting") return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, "visiting");
    stack.push(id);
    for (const parent of byId.get(id)?.parents ?? []) {
      if (!byId.has(parent)) continue;
      const cycle = visit(parent);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, "done");
    return undefined;
  };
  for (const operator of operators) {
    const cycle = visit(operator.id);
    if (cycle) return cycle.reverse();
  }
  return undefined;
}
