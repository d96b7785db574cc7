import { llmRequestCount, llmShardCost, toolBatchMs, toolLatencyMs } from "../cost-model.js";
import type { Epoch, EpochAssignment } from "../epoch-model.js";
import { initialState, poolBoundMs } from "../epoch-model.js";
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
      const base = { modelLoaded: true, prefixResident: false, inheritedLocalRequests: 0 };
      const away = llmShardCost(
        device,
        model,
        statistics,
        requests,
        { ...base, inheritedRemoteRequests: requests },
        0,
        disabled,
      );
      const here = llmShardCost(
        device,
        model,
        statistics,
        requests,
        { ...base, inheritedLocalRequests: requests, inheritedRemoteRequests: 0 },
        0,
        disabled,
      );
      duration[operator]![worker] = away?.totalMs ?? 0;
      saving[operator]![worker] = away && here ? Math.max(0, away.totalMs - here.totalMs) : 0;
      loadMs[operator]![worker] = model.loadMs;
    }
  }
  const toolMs = (tool: number) => {
    const statistics = index.tools[tool]!.statistics;
    return disabled.pipelining
      ? toolBatchMs(statistics, index.toolConcurrency[tool]!, disabled)
      : toolLatencyMs(statistics);
  };
  const { releaseMs, tailMs, gaps, toolChainMs } = toolTimes(index, toolMs);

  const poolBound = poolBoundMs(index, disabled);
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
      if (usesY) binaries.push(y);
    }
  }
  // Symmetry breaking: with identical workers, the first operator may as well run on the first worker.
  if (new Set(index.workerClass).size === 1 && capable[0]!.includes(0)) {
    constraints.push({ name: "symmetry", terms: [term(x(0, 0), 1)], lower: 1, upper: 1 });
  }
  return { model: { objective: [term("C", 1)], constraints, bounds, binaries }, capable };
}

/**
 * Tool timings for the MILP: release of each LLM operator (its input tools),
 * the tool time between an LLM operator and each LLM successor, the tail of
 * tools after it, and the longest chain of input-only tools.
 */
function toolTimes(index: ProblemIndex, toolMs: (tool: number) => number) {
  const head: number[] = [];
  for (let tool = 0; tool < index.tools.length; tool++) {
    const parents = index.toolToolParents[tool]!;
    head.push(toolMs(tool) + Math.max(0, ...parents.map((parent) => head[parent]!)));
  }
  const tail: number[] = new Array(index.tools.length).fill(0);
  for (let tool = index.tools.length - 1; tool >= 0; tool--) {
    const children = index.toolToolChildren[tool]!;
    tail[tool] = toolMs(tool) + Math.max(0, ...children.map((child) => tail[child]!));
  }
  const releaseMs = index.llm.map((_, operator) =>
    Math.max(
      0,
      ...index.llmToolParents[operator]!.filter((tool) => index.toolLlmAncestors[tool] === 0n).map(
        (tool) => head[tool]!,
      ),
    ),
  );
  const tailMs = index.llm.map((_, operator) =>
    Math.max(0, ...index.llmToolChildren[operator]!.map((tool) => tail[tool]!)),
  );
  // Tool time between operator and successor: the longest tool path, priced like the epoch model's chains.
  const gaps = index.llm.map((_, operator) =>
    index.llmSuccessors[operator]!.map((edge) => ({
      successor: edge.operator,
      gapMs: longestToolPath(index, operator, edge.operator, toolMs),
    })),
  );
  const toolChainMs = Math.max(
    0,
    ...index.tools.flatMap((_, tool) => (index.toolLlmAncestors[tool] === 0n ? [head[tool]!] : [])),
  );
  return { releaseMs, tailMs, gaps, toolChainMs };
}

function longestToolPath(
  index: ProblemIndex,
  from: number,
  to: number,
  toolMs: (tool: number) => number,
): number {
  const memo = new Map<number, number>();
  // Longest path from a tool down to `to` through tools only; -Infinity when it does not lead there.
  const down = (tool: number): number => {
    const known = memo.get(tool);
    if (known !== undefined) return known;
    let best = Number.NEGATIVE_INFINITY;
    const id = index.tools[tool]!.id;
    if (index.llm[to]!.parents.includes(id)) best = 0;
    for (const child of index.toolToolChildren[tool]!) best = Math.max(best, down(child));
    const value = Number.isFinite(best) ? best + toolMs(tool) : best;
    memo.set(tool, value);
    return value;
  };
  let longest = index.llm[to]!.parents.includes(index.llm[from]!.id) ? 0 : Number.NEGATIVE_INFINITY;
  for (const tool of index.llmToolChildren[from]!) longest = Math.max(longest, down(tool));
  return Number.isFinite(longest) ? longest : 0;
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
