import type { ModelProfile } from "@halo/profiles";
import {
  type PlannedLlmOperator,
  type PlannedOperator,
  type PlannedToolOperator,
  type PlanningProblem,
  type PlanningWorker,
  validateProblem,
  workerCanServe,
  workerModelProfile,
} from "./planning-problem.js";

/**
 * Lookup tables derived once per problem: LLM operators numbered in a stable
 * topological order (their bit in done-set masks), tool operators and the
 * LLM operators they hang off, worker classes (identical profiles) for
 * symmetry. Strategies and the epoch model share it.
 */
export interface ProblemIndex {
  readonly problem: PlanningProblem;
  /** LLM operators in topological order; the position is the operator's bit. */
  readonly llm: readonly PlannedLlmOperator[];
  readonly llmPosition: ReadonlyMap<string, number>;
  /** Tool operators in topological order. */
  readonly tools: readonly PlannedToolOperator[];
  readonly toolPosition: ReadonlyMap<string, number>;
  /** Per LLM operator: the mask of every LLM ancestor (through any path). */
  readonly llmAncestors: readonly bigint[];
  /** Per LLM operator: LLM operators reachable from it through tool-only paths, with the longest tool latency on the way. */
  readonly llmSuccessors: readonly (readonly {
    readonly operator: number;
    readonly toolLatencyMs: number;
  }[])[];
  /** Per tool operator: the mask of every LLM ancestor. */
  readonly toolLlmAncestors: readonly bigint[];
  /** Per LLM operator: indexes of its direct tool children / tool parents. */
  readonly llmToolChildren: readonly (readonly number[])[];
  readonly llmToolParents: readonly (readonly number[])[];
  /** Per tool operator: indexes of its direct tool children / tool parents. */
  readonly toolToolChildren: readonly (readonly number[])[];
  readonly toolToolParents: readonly (readonly number[])[];
  /** Per LLM operator: true when some LLM child inherits its context. */
  readonly hasInheritingChild: readonly boolean[];
  /** Per worker: a class id; workers of one class have identical profiles. */
  readonly workerClass: readonly number[];
  /** Per worker and LLM operator: the model profile when the worker can serve it (weights fit), else undefined. */
  readonly modelOn: readonly (readonly (ModelProfile | undefined)[])[];
  /** Per worker: the profile of every workflow model it can hold (for preloads). */
  readonly workerModels: readonly ReadonlyMap<string, ModelProfile>[];
  /** Pool concurrency per tool operator. */
  readonly toolConcurrency: readonly number[];
  /** Mask with every LLM operator's bit set. */
  readonly allDone: bigint;
}

/** Validates the problem and builds its index (throws `PlanningError` for a bad problem). */
export function indexProblem(problem: PlanningProblem): ProblemIndex {
  validateProblem(problem);
  const order = topologicalOrder(problem.operators);
  const llm = order.filter((operator): operator is PlannedLlmOperator => operator.kind === "llm");
  const tools = order.filter((operator): operator is PlannedToolOperator => operator.kind !== "llm");
  const llmPosition = new Map(llm.map((operator, position) => [operator.id, position]));
  const toolPosition = new Map(tools.map((operator, position) => [operator.id, position]));
  const byId = new Map(problem.operators.map((operator) => [operator.id, operator]));

  // LLM ancestors of every operator, in topological order.
  const ancestors = new Map<string, bigint>();
  for (const operator of order) {
    let mask = 0n;
    for (const parent of operator.parents) {
      mask |= ancestors.get(parent)!;
      const position = llmPosition.get(parent);
      if (position !== undefined) mask |= 1n << BigInt(position);
    }
    ancestors.set(operator.id, mask);
  }

  const children = new Map<string, string[]>(order.map((operator) => [operator.id, []]));
  for (const operator of order)
    for (const parent of operator.parents) children.get(parent)!.push(operator.id);

  const toolChildrenOf = (id: string) =>
    children
      .get(id)!
      .filter((child) => toolPosition.has(child))
      .map((child) => toolPosition.get(child)!);
  const toolParentsOf = (operator: PlannedOperator) =>
    operator.parents.filter((parent) => toolPosition.has(parent)).map((parent) => toolPosition.get(parent)!);

  const pools = new Map(problem.pools.map((pool) => [pool.name, pool.concurrency]));
  const inheriting = new Set(
    llm.flatMap((operator) =>
      operator.statistics.inheritedContext && operator.statistics.inheritedContext.tokens > 0
        ? [operator.statistics.inheritedContext.from]
        : [],
    ),
  );

  const workerClass = classifyWorkers(problem.workers);
  return {
    problem,
    llm,
    llmPosition,
    tools,
    toolPosition,
    llmAncestors: llm.map((operator) => ancestors.get(operator.id)!),
    llmSuccessors: llm.map((operator) => llmSuccessors(operator.id, byId, children, llmPosition)),
    toolLlmAncestors: tools.map((operator) => ancestors.get(operator.id)!),
    llmToolChildren: llm.map((operator) => toolChildrenOf(operator.id)),
    llmToolParents: llm.map(toolParentsOf),
    toolToolChildren: tools.map((operator) => toolChildrenOf(operator.id)),
    toolToolParents: tools.map(toolParentsOf),
    hasInheritingChild: llm.map((operator) => inheriting.has(operator.id)),
    workerClass,
    modelOn: problem.workers.map((worker) => llm.map((operator) => modelIfServable(worker, operator.model))),
    workerModels: problem.workers.map(
      (worker) =>
        new Map(
          [...new Set(llm.map((operator) => operator.model))].sort().flatMap((model) => {
            const profile = modelIfServable(worker, model);
            return profile ? [[model, profile] as const] : [];
          }),
        ),
    ),
    toolConcurrency: tools.map((operator) => pools.get(operator.pool)!),
    allDone: (1n << BigInt(llm.length)) - 1n,
  };
}

function modelIfServable(worker: PlanningWorker, model: string): ModelProfile | undefined {
  return workerCanServe(worker, model) ? workerModelProfile(worker, model) : undefined;
}

/** Kahn's algorithm, ties broken by the operators' given order, so the result is deterministic. */
function topologicalOrder(operators: readonly PlannedOperator[]): PlannedOperator[] {
  const position = new Map(operators.map((operator, index) => [operator.id, index]));
  const pending = operators.map((operator) => operator.parents.length);
  const children: number[][] = operators.map(() => []);
  operators.forEach((operator, index) => {
    for (const parent of operator.parents) children[position.get(parent)!]!.push(index);
  });
  const ready = operators.flatMap((_, index) => (pending[index] === 0 ? [index] : []));
  const result: PlannedOperator[] = [];
  while (ready.length > 0) {
    ready.sort((left, right) => left - right);
    const next = ready.shift()!;
    result.push(operators[next]!);
    for (const child of children[next]!) {
      pending[child]! -= 1;
      if (pending[child] === 0) ready.push(child);
    }
  }
  return result;
}

/** LLM operators reachable from `id` through tool operators only, with the longest tool latency chain between. */
function llmSuccessors(
  id: string,
  byId: ReadonlyMap<string, PlannedOperator>,
  children: ReadonlyMap<string, readonly string[]>,
  llmPosition: ReadonlyMap<string, number>,
): { operator: number; toolLatencyMs: number }[] {
  const best = new Map<number, number>();
  const walk = (from: string, latencyMs: number) => {
    for (const child of children.get(from)!) {
      const operator = byId.get(child)!;
      if (operator.kind === "llm") {
        const position = llmPosition.get(child)!;
        best.set(position, Math.max(best.get(position) ?? 0, latencyMs));
      } else {
        walk(child, latencyMs + operator.statistics.latencyMeanMs);
      }
    }
  };
  walk(id, 0);
  return [...best.entries()]
    .sort((left, right) => left[0] - right[0])
    .map(([operator, toolLatencyMs]) => ({ operator, toolLatencyMs }));
}

/** Workers with identical profiles share a class (compared by content, so separately loaded copies match). */
function classifyWorkers(workers: readonly PlanningWorker[]): number[] {
  const classes = new Map<string, number>();
  return workers.map((worker) => {
    // Workers restricted to different models are not interchangeable.
    const key = JSON.stringify([
      worker.profile,
      worker.models === undefined ? null : [...worker.models].sort(),
    ]);
    let id = classes.get(key);
    if (id === undefined) {
      id = classes.size;
      classes.set(key, id);
    }
    return id;
  });
}

const BITS: bigint[] = [];

/** The bit of an LLM operator in done-set masks (memoized: the search asks for them constantly). */
export function bit(position: number): bigint {
  let value = BITS[position];
  if (value === undefined) {
    value = 1n << BigInt(position);
    BITS[position] = value;
  }
  return value;
}
