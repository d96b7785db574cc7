import { toolBatchMs, toolLatencyMs } from "./cost-model.js";
import type { DisabledOptimizations } from "./planning-problem.js";
import type { ProblemIndex } from "./problem-index.js";
import { poolBoundMs } from "./tool-price.js";

/**
 * The tool side of continuous time, shared by the list scheduler (which
 * prices every plan) and the MILP (whose constraints are the same numbers):
 * what an LLM operator waits for before it may start, what it waits for after
 * its LLM parents, and what runs after it. A tool operator takes its mean
 * latency (pipelined: each query's call follows its input) or, without
 * pipelining, its whole batch in waves of its pool's concurrency.
 */
export interface TimingTables {
  /** Per tool operator: its duration. */
  readonly toolMs: readonly number[];
  /** Per tool operator: its duration plus the longest chain of tool parents before it (its earliest end). */
  readonly toolHeadMs: readonly number[];
  /** Per LLM operator: the earliest start its tool parents allow (longest tool chain into it). */
  readonly releaseMs: readonly number[];
  /** Per LLM operator: LLM successors (direct, or through tools only) and the longest tool time between. */
  readonly successors: readonly (readonly TimingEdge[])[];
  /** Per LLM operator: the same edges seen from the successor. */
  readonly predecessors: readonly (readonly TimingEdge[])[];
  /** Per LLM operator: the longest chain of tools after it (its results are complete that much later). */
  readonly tailMs: readonly number[];
  /** The longest tool chain from the start (every tool's earliest end): a bound on the makespan. */
  readonly toolChainMs: number;
  /** The busiest pool's total busy time: a bound on the makespan. */
  readonly poolBoundMs: number;
}

/** An edge between LLM operators: `operator` is the other end, `gapMs` the tool time between. */
export interface TimingEdge {
  readonly operator: number;
  readonly gapMs: number;
}

const tablesMemo = new WeakMap<ProblemIndex, Map<boolean, TimingTables>>();

/** The timing tables of a problem (memoized per problem and pipelining setting). */
export function timingTables(index: ProblemIndex, disabled: DisabledOptimizations): TimingTables {
  let byPipelining = tablesMemo.get(index);
  if (!byPipelining) {
    byPipelining = new Map();
    tablesMemo.set(index, byPipelining);
  }
  const known = byPipelining.get(disabled.pipelining);
  if (known) return known;
  const tables = computeTimingTables(index, disabled);
  byPipelining.set(disabled.pipelining, tables);
  return tables;
}

function computeTimingTables(index: ProblemIndex, disabled: DisabledOptimizations): TimingTables {
  const toolMs = index.tools.map((tool, position) =>
    disabled.pipelining
      ? toolBatchMs(tool.statistics, index.toolConcurrency[position]!, disabled)
      : toolLatencyMs(tool.statistics),
  );
  // Tools are in topological order, so parents come before children.
  const toolHeadMs: number[] = [];
  for (let tool = 0; tool < index.tools.length; tool++) {
    let longest = 0;
    for (const parent of index.toolToolParents[tool]!) longest = Math.max(longest, toolHeadMs[parent]!);
    toolHeadMs.push(toolMs[tool]! + longest);
  }
  const toolTailMs: number[] = new Array(index.tools.length).fill(0);
  for (let tool = index.tools.length - 1; tool >= 0; tool--) {
    let longest = 0;
    for (const child of index.toolToolChildren[tool]!) longest = Math.max(longest, toolTailMs[child]!);
    toolTailMs[tool] = toolMs[tool]! + longest;
  }
  const releaseMs = index.llm.map((_, operator) => {
    let release = 0;
    for (const tool of index.llmToolParents[operator]!) release = Math.max(release, toolHeadMs[tool]!);
    return release;
  });
  const tailMs = index.llm.map((_, operator) => {
    let tail = 0;
    for (const tool of index.llmToolChildren[operator]!) tail = Math.max(tail, toolTailMs[tool]!);
    return tail;
  });
  const successors = index.llm.map((_, operator) =>
    index.llmSuccessors[operator]!.map((edge) => ({
      operator: edge.operator,
      gapMs: longestToolPath(index, operator, edge.operator, toolMs),
    })),
  );
  const predecessors: TimingEdge[][] = index.llm.map(() => []);
  successors.forEach((edges, operator) => {
    for (const edge of edges) predecessors[edge.operator]!.push({ operator, gapMs: edge.gapMs });
  });
  return {
    toolMs,
    toolHeadMs,
    releaseMs,
    successors,
    predecessors,
    tailMs,
    toolChainMs: Math.max(0, ...toolHeadMs),
    poolBoundMs: poolBoundMs(index, disabled),
  };
}

/** The longest path of tools between two LLM operators (0 for a direct edge without tools). */
function longestToolPath(index: ProblemIndex, from: number, to: number, toolMs: readonly number[]): number {
  const target = index.llm[to]!;
  const memo = new Map<number, number>();
  // Longest path from a tool down to `to` through tools only; -Infinity when it does not lead there.
  const down = (tool: number): number => {
    const known = memo.get(tool);
    if (known !== undefined) return known;
    let best = target.parents.includes(index.tools[tool]!.id) ? 0 : Number.NEGATIVE_INFINITY;
    for (const child of index.toolToolChildren[tool]!) best = Math.max(best, down(child));
    const value = Number.isFinite(best) ? best + toolMs[tool]! : best;
    memo.set(tool, value);
    return value;
  };
  let longest = target.parents.includes(index.llm[from]!.id) ? 0 : Number.NEGATIVE_INFINITY;
  for (const tool of index.llmToolChildren[from]!) longest = Math.max(longest, down(tool));
  return Number.isFinite(longest) ? longest : 0;
}
