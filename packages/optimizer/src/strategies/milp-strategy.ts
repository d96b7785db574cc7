import { contextKvBytes, llmRequestCount, llmShardCost, retainedContextFraction } from "../cost-model.js";
import { lowerBoundTables, remainingLowerBound } from "../lower-bound.js";
import {
  type LinearConstraint,
  type LinearTerm,
  type MilpModel,
  solveWithGlpk,
  solveWithHighs,
} from "../milp-solvers.js";
import type { DisabledOptimizations } from "../planning-problem.js";
import { bit, type ProblemIndex } from "../problem-index.js";
import type { Epoch, EpochAssignment } from "../search-state.js";
import { initialState } from "../search-state.js";
import { timingTables } from "../timing-tables.js";
import { greedyStrategy } from "./greedy-strategy.js";
import type { PlanningStrategy, StrategyOptions, StrategyResult } from "./planning-strategy.js";

/** Default MILP time limit. */
export const DEFAULT_MILP_TIME_LIMIT_MS = 30_000;

/**
 * `milp` (oracle): a continuous-time makespan MILP over the same per-operator
 * costs. Each LLM operator runs whole on one worker (x[o,w]); start times
 * S[o]; durations D[o] = Σ p[o,w]·x[o,w] − inherited-context savings when
 * parent and child share a worker; precedences with the tool latency between
 * operators; on a shared worker one of each pair goes first (binary y, big-M)
 * with the model load as sequence-dependent setup; every operator starts after
 * its model's first load; C ≥ S + D + tail tools; minimize C.
 *
 * Differences from the epoch model (documented, so DP vs MILP is read
 * right): no epoch barriers (the MILP can only be faster there), no request
 * splitting across workers (it can only be slower there), shared prefixes are
 * prefilled in every operator (no cross-operator prefix reuse), a child's
 * inherited context counts as reused whenever it shares its parent's worker,
 * and pool throughput enters only as a global bound. The solution is turned
 * into epochs (operators by start time) and priced by the epoch model like
 * every strategy; the solver's own objective and gap are reported beside.
 */
export const milpStrategy: PlanningStrategy = {
  specificationVersion: "v1",
  name: "milp",
  description: "continuous-time makespan MILP oracle (glpk.js or HiGHS), time-limited, reports the gap",
  plan(index, options) {
    return solveMilp(index, options);
  },
};

interface MilpInstance {
  readonly model: MilpModel;
  /** Worker candidates per LLM operator. */
  readonly capable: readonly (readonly number[])[];
}

async function solveMilp(index: ProblemIndex, options: StrategyOptions): Promise<StrategyResult> {
  const solver = options.solver ?? "glpk";
  const timeLimitMs = options.timeLimitMs ?? DEFAULT_MILP_TIME_LIMIT_MS;
  const warnings: string[] = [];
  if (index.llm.length === 0) {
    return {
      schedule: [],
      warnings,
      solver: {
        solver,
        status: "optimal",
        objectiveMs: 0,
        bestBoundMs: 0,
        gap: 0,
        variables: 0,
        constraints: 0,
        solveMs: 0,
      },
    };
  }
  const instance = buildMilp(index, options.disabled);
  const solve = solver === "highs" ? solveWithHighs : solveWithGlpk;
  const solution = await solve(instance.model, { timeLimitMs, relativeGap: options.relativeGap ?? 0 });
  const variables = new Set(
    instance.model.constraints.flatMap((constraint) => constraint.terms.map((term) => term.variable)),
  ).size;
  const combinatorialBound = remainingLowerBound(
    index,
    lowerBoundTables(index, options.disabled),
    initialState(index),
  );
  const base = {
    solver,
    variables,
    constraints: instance.model.constraints.length,
    solveMs: solution.solveMs,
  };
  if (solution.status === "no-solution" || solution.objective === undefined) {
    warnings.push(
      `milp: ${solver} found no solution within ${timeLimitMs} ms; the plan comes from the greedy strategy instead`,
    );
    const fallback = (await greedyStrategy.plan(index, {
      ...options,
      splitOperators: false,
    })) as StrategyResult;
    return { schedule: fallback.schedule, warnings, solver: { ...base, status: "no-solution" } };
  }
  const objectiveMs = solution.objective;
  const bestBoundMs =
    solution.status === "optimal"
      ? objectiveMs
      : Math.min(objectiveMs, Math.max(solution.bestBound ?? 0, combinatorialBound));
  const gap = objectiveMs > 0 ? Math.max(0, (objectiveMs - bestBoundMs) / objectiveMs) : 0;
  if (solution.status === "feasible") {
    warnings.push(
      `milp: ${solver} stopped at the ${timeLimitMs} ms limit with a gap of ${(gap * 100).toFixed(1)}%`,
    );
  }
  return {
    schedule: epochsFromSolution(index, instance, solution.values),
    warnings,
    solver: { ...base, status: solution.status, objectiveMs, bestBoundMs, gap },
  };
}

/** Builds the MILP (variable names: x_o_w, z_o_w, y_a_b, S_o, D_o, C). */
export function buildMilp(index: ProblemIndex, disabled: DisabledOptimizations): MilpInstance {
  const workers = index.problem.workers;
  const operatorCount = index.llm.length;
  const capable = index.llm.map((_, operator) =>
    workers.flatMap((_, worker) => (index.modelOn[worker]![operator] ? [worker] : [])),
  );
  // Per operator and worker: duration with the model loaded and KV recomputed (or migrated), and with the parent's context here.
  const duration: number[][] = [];
  const saving: number[][] = [];
  const loadMs: number[][] = [];
  for (let operator = 0; operator < operatorCount; operator++) {
    const statistics = index.llm[operator]!.statistics;
    const requests = llmRequestCount(statistics, disabled);
    duration.push([]);
    saving.push([]);
    loadMs.push([]);
    for (let worker = 0; worker < workers.length; worker++) {
      const model = index.modelOn[worker]![operator];
      if (!model) continue;
      const device = workers[worker]!.profile;
      // The parent's context KV its worker still holds (as the epoch model keeps it): reused on that
      // worker, migrated to another one; the rest is recomputed.
      const inheritedRequests = requests * retainedParentContext(index, operator, worker, disabled);
      const base = { modelLoaded: true, prefixResident: false, inheritedLocalRequests: 0 };
      const away = llmShardCost(
        device,
        model,
        statistics,
        requests,
        { ...base, inheritedRemoteRequests: inheritedRequests },
        0,
        disabled,
      );
      const here = llmShardCost(
        device,
        model,
        statistics,
        requests,
        { ...base, inheritedLocalRequests: inheritedRequests, inheritedRemoteRequests: 0 },
        0,
        disabled,
      );
      duration[operator]![worker] = away?.totalMs ?? 0;
      saving[operator]![worker] = away && here ? Math.max(0, away.totalMs - here.totalMs) : 0;
      loadMs[operator]![worker] = model.loadMs;
    }
  }
  // Tool times between, before and after LLM operators: the list scheduler's (the same continuous time).
  const timing = timingTables(index, disabled);
  const releaseMs = timing.releaseMs;
  const tailMs = timing.tailMs;
  const gaps = timing.successors.map((edges) =>
    edges.map((edge) => ({ successor: edge.operator, gapMs: edge.gapMs })),
  );
  const toolChainMs = timing.toolChainMs;

  const poolBound = timing.poolBoundMs;
  // Longer than any sensible schedule: everything one after another, plus the tools' own bound.
  let horizon = Math.max(0, ...releaseMs) + toolChainMs + poolBound;
  for (let operator = 0; operator < operatorCount; operator++) {
    let longest = 0;
    for (const worker of capable[operator]!) {
      longest = Math.max(longest, duration[operator]![worker]! + loadMs[operator]![worker]!);
    }
    const gap = Math.max(tailMs[operator]!, ...gaps[operator]!.map((edge) => edge.gapMs));
    horizon += longest + gap;
  }
  const bigM = Math.ceil(horizon + 1);

  const constraints: LinearConstraint[] = [];
  const bounds = new Map<string, { lower: number; upper: number }>();
  const binaries: string[] = [];
  const x = (operator: number, worker: number) => `x_${operator}_${worker}`;
  const S = (operator: number) => `S_${operator}`;
  const D = (operator: number) => `D_${operator}`;
  const term = (variable: string, coefficient: number): LinearTerm => ({ variable, coefficient });
  bounds.set("C", { lower: 0, upper: bigM });
  const reuses: { child: number; parent: number; worker: number }[] = [];
  const orderVariables = new Set<string>();

  for (let operator = 0; operator < operatorCount; operator++) {
    bounds.set(S(operator), { lower: releaseMs[operator]!, upper: bigM });
    bounds.set(D(operator), { lower: 0, upper: bigM });
    for (const worker of capable[operator]!) binaries.push(x(operator, worker));
    constraints.push({
      name: `assign_${operator}`,
      terms: capable[operator]!.map((worker) => term(x(operator, worker), 1)),
      lower: 1,
      upper: 1,
    });
    // D = Σ p·x − Σ saving·z, with z ≤ x(child) and z ≤ x(parent) on the same worker.
    const durationTerms = [term(D(operator), 1)];
    for (const worker of capable[operator]!)
      durationTerms.push(term(x(operator, worker), -duration[operator]![worker]!));
    const inherited = index.llm[operator]!.statistics.inheritedContext;
    const parent = inherited ? index.llmPosition.get(inherited.from) : undefined;
    if (parent !== undefined && !disabled.prefixSharing) {
      for (const worker of capable[operator]!) {
        const save = saving[operator]![worker]!;
        if (save <= 0 || index.modelOn[worker]![parent] === undefined) continue;
        const z = `z_${operator}_${worker}`;
        binaries.push(z);
        reuses.push({ child: operator, parent, worker });
        durationTerms.push(term(z, save));
        constraints.push({
          name: `zx_${operator}_${worker}`,
          terms: [term(z, 1), term(x(operator, worker), -1)],
          upper: 0,
        });
        constraints.push({
          name: `zp_${operator}_${worker}`,
          terms: [term(z, 1), term(x(parent, worker), -1)],
          upper: 0,
        });
      }
    }
    constraints.push({ name: `duration_${operator}`, terms: durationTerms, lower: 0, upper: 0 });
    // The first operator on a worker waits for its model's load.
    for (const worker of capable[operator]!) {
      constraints.push({
        name: `load_${operator}_${worker}`,
        terms: [term(S(operator), 1), term(x(operator, worker), -loadMs[operator]![worker]!)],
        lower: 0,
      });
    }
    for (const edge of gaps[operator]!) {
      constraints.push({
        name: `precedence_${operator}_${edge.successor}`,
        terms: [term(S(edge.successor), 1), term(S(operator), -1), term(D(operator), -1)],
        lower: edge.gapMs,
      });
    }
    constraints.push({
      name: `makespan_${operator}`,
      terms: [term("C", 1), term(S(operator), -1), term(D(operator), -1)],
      lower: tailMs[operator]!,
    });
  }
  constraints.push({ name: "tools", terms: [term("C", 1)], lower: Math.max(poolBound, toolChainMs) });

  // Disjunctions: two operators on one worker run one after the other, with a load between different models.
  for (let first = 0; first < operatorCount; first++) {
    for (let second = first + 1; second < operatorCount; second++) {
      const ordered = (index.llmAncestors[second]! & bit(first)) !== 0n;
      const y = `y_${first}_${second}`;
      let usesY = false;
      for (const worker of capable[first]!) {
        if (!capable[second]!.includes(worker)) continue;
        const sameModel = index.llm[first]!.model === index.llm[second]!.model;
        const setupFirstToSecond = sameModel ? 0 : loadMs[second]![worker]!;
        const setupSecondToFirst = sameModel ? 0 : loadMs[first]![worker]!;
        const both = [term(x(first, worker), -bigM), term(x(second, worker), -bigM)];
        if (ordered) {
          constraints.push({
            name: `order_${first}_${second}_${worker}`,
            terms: [term(S(second), 1), term(S(first), -1), term(D(first), -1), ...both],
            lower: setupFirstToSecond - 2 * bigM,
          });
          continue;
        }
        usesY = true;
        constraints.push({
          name: `before_${first}_${second}_${worker}`,
          terms: [term(S(second), 1), term(S(first), -1), term(D(first), -1), ...both, term(y, -bigM)],
          lower: setupFirstToSecond - 3 * bigM,
        });
        constraints.push({
          name: `after_${first}_${second}_${worker}`,
          terms: [term(S(first), 1), term(S(second), -1), term(D(second), -1), ...both, term(y, bigM)],
          lower: setupSecondToFirst - 2 * bigM,
        });
      }
      if (usesY) {
        binaries.push(y);
        orderVariables.add(y);
      }
    }
  }
  // A context KV is held while the worker keeps its model (the epoch model drops it at a switch): no
  // operator of another model may run on the worker between the parent and a child that reuses it there.
  const before = (first: number, second: number): { terms: LinearTerm[]; constant: number } | undefined => {
    if (first < second) {
      if ((index.llmAncestors[second]! & bit(first)) !== 0n) return { terms: [], constant: 1 };
      const y = `y_${first}_${second}`;
      return orderVariables.has(y) ? { terms: [term(y, 1)], constant: 0 } : undefined;
    }
    if ((index.llmAncestors[first]! & bit(second)) !== 0n) return undefined;
    const y = `y_${second}_${first}`;
    return orderVariables.has(y) ? { terms: [term(y, -1)], constant: 1 } : undefined;
  };
  for (const { child, parent, worker } of reuses) {
    for (let other = 0; other < operatorCount; other++) {
      if (other === child || other === parent || index.llm[other]!.model === index.llm[child]!.model)
        continue;
      if (!capable[other]!.includes(worker)) continue;
      const afterParent = before(parent, other);
      const beforeChild = before(other, child);
      if (!afterParent || !beforeChild) continue;
      constraints.push({
        name: `held_${child}_${worker}_${other}`,
        terms: [
          term(`z_${child}_${worker}`, 1),
          term(x(other, worker), 1),
          ...afterParent.terms,
          ...beforeChild.terms,
        ],
        upper: 3 - afterParent.constant - beforeChild.constant,
      });
    }
  }
  // Symmetry breaking: with identical workers, the first operator may as well run on the first worker.
  if (new Set(index.workerClass).size === 1 && capable[0]!.includes(0)) {
    constraints.push({ name: "symmetry", terms: [term(x(0, 0), 1)], lower: 1, upper: 1 });
  }
  return { model: { objective: [term("C", 1)], constraints, bounds, binaries }, capable };
}

/**
 * The share of an operator's inherited context its parent leaves on `worker`
 * (the parent run whole there): what fits beside the weights and the parent's
 * prefix (`retainedContextFraction`); 0 without an inherited context.
 */
function retainedParentContext(
  index: ProblemIndex,
  operator: number,
  worker: number,
  disabled: DisabledOptimizations,
): number {
  const inherited = index.llm[operator]!.statistics.inheritedContext;
  const parent = inherited ? index.llmPosition.get(inherited.from) : undefined;
  if (parent === undefined || disabled.prefixSharing) return 0;
  const model = index.modelOn[worker]![parent];
  if (!model) return 0;
  const statistics = index.llm[parent]!.statistics;
  const contextBytes = contextKvBytes(model, statistics, llmRequestCount(statistics, disabled));
  const prefixBytes = statistics.sharedPrefixTokens * model.kvBytesPerToken;
  return retainedContextFraction(
    index.problem.workers[worker]!.profile.memoryBytes,
    model,
    prefixBytes,
    contextBytes,
  );
}

/** Operators by start time, packed into epochs: a new one when a parent or the worker is already in the current one. */
function epochsFromSolution(
  index: ProblemIndex,
  instance: MilpInstance,
  values: ReadonlyMap<string, number>,
): Epoch[] {
  const placed = index.llm.map((_, operator) => {
    let worker = instance.capable[operator]![0]!;
    let best = -1;
    for (const candidate of instance.capable[operator]!) {
      const value = values.get(`x_${operator}_${candidate}`) ?? 0;
      if (value > best) {
        best = value;
        worker = candidate;
      }
    }
    return { operator, worker, startMs: values.get(`S_${operator}`) ?? 0 };
  });
  placed.sort((left, right) => left.startMs - right.startMs || left.operator - right.operator);
  const epochs: Epoch[] = [];
  let current: EpochAssignment[] = [];
  let currentMask = 0n;
  for (const { operator, worker } of placed) {
    const blocked =
      (index.llmAncestors[operator]! & currentMask) !== 0n ||
      current.some((assignment) => assignment.workers.includes(worker));
    if (blocked) {
      epochs.push(current);
      current = [];
      currentMask = 0n;
    }
    current.push({ operator, workers: [worker] });
    currentMask |= bit(operator);
  }
  if (current.length > 0) epochs.push(current);
  return epochs;
}
