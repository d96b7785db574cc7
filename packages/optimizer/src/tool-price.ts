import { toolBatchMs, toolLatencyMs, toolPoolWorkMs } from "./cost-model.js";
import type { DisabledOptimizations } from "./planning-problem.js";
import { bit, type ProblemIndex } from "./problem-index.js";
import type { PricedShard, PricedTool } from "./search-state.js";

/** Tool timing in the epoch model: which tools an epoch unlocks, their chains, pool time and offsets. */

/** Tool operators whose LLM ancestors are all done by the end of the epoch and were not all done before it. */
function toolsRunIn(index: ProblemIndex, done: bigint, after: bigint): boolean[] {
  return index.toolLlmAncestors.map((ancestors) => {
    const runnableAfter = (ancestors & ~after) === 0n;
    if (!runnableAfter) return false;
    return done === 0n || (ancestors & ~done) !== 0n;
  });
}

/** The tools an epoch unlocks (depends only on the done set before and after it). */
export interface ToolPrice {
  readonly runs: readonly boolean[];
  /** Tail tool chain per LLM operator of the epoch. */
  readonly tailOf: (operator: number) => number;
  readonly chainDown: (tool: number) => number;
  readonly chainUp: (tool: number) => number;
  readonly tools: readonly PricedTool[];
  readonly initialPoolBusy: ReadonlyMap<string, number>;
  readonly unlockedPoolBusy: ReadonlyMap<string, number>;
  readonly initialToolsMs: number;
}

function toolCostMs(index: ProblemIndex, tool: number, disabled: DisabledOptimizations): number {
  const statistics = index.tools[tool]!.statistics;
  return disabled.pipelining
    ? toolBatchMs(statistics, index.toolConcurrency[tool]!, disabled)
    : toolLatencyMs(statistics);
}

export function priceTools(
  index: ProblemIndex,
  done: bigint,
  after: bigint,
  disabled: DisabledOptimizations,
): ToolPrice {
  const runs = toolsRunIn(index, done, after);
  // Longest tool chains: downward from a tool through tools of this epoch, upward for the first epoch's input tools.
  const downMemo = new Map<number, number>();
  const chainDown = (tool: number): number => {
    const known = downMemo.get(tool);
    if (known !== undefined) return known;
    let longest = 0;
    for (const child of index.toolToolChildren[tool]!) {
      if (runs[child]) longest = Math.max(longest, chainDown(child));
    }
    const value = toolCostMs(index, tool, disabled) + longest;
    downMemo.set(tool, value);
    return value;
  };
  const upMemo = new Map<number, number>();
  const chainUp = (tool: number): number => {
    const known = upMemo.get(tool);
    if (known !== undefined) return known;
    let longest = 0;
    for (const parent of index.toolToolParents[tool]!) longest = Math.max(longest, chainUp(parent));
    const value = toolCostMs(index, tool, disabled) + longest;
    upMemo.set(tool, value);
    return value;
  };
  const tailOf = (operator: number) => {
    let tailMs = 0;
    for (const tool of index.llmToolChildren[operator]!)
      if (runs[tool]) tailMs = Math.max(tailMs, chainDown(tool));
    return tailMs;
  };
  const initialPoolBusy = new Map<string, number>();
  const unlockedPoolBusy = new Map<string, number>();
  const tools: PricedTool[] = [];
  let initialToolsMs = 0;
  for (let tool = 0; tool < index.tools.length; tool++) {
    if (!runs[tool]) continue;
    const operator = index.tools[tool]!;
    const workMs = toolPoolWorkMs(operator.statistics, index.toolConcurrency[tool]!, disabled);
    const initial = index.toolLlmAncestors[tool] === 0n;
    const busy = initial ? initialPoolBusy : unlockedPoolBusy;
    busy.set(operator.pool, (busy.get(operator.pool) ?? 0) + workMs);
    if (initial) initialToolsMs = Math.max(initialToolsMs, chainUp(tool));
    tools.push({ tool, startOffsetMs: 0, workMs, endOffsetMs: 0 });
  }
  return { runs, tailOf, chainDown, chainUp, tools, initialPoolBusy, unlockedPoolBusy, initialToolsMs };
}

/** Start and end of each tool of the epoch, relative to its start (for plans). */
export function toolTimings(
  index: ProblemIndex,
  toolPrice: ToolPrice,
  shards: readonly PricedShard[],
  costMs: number,
  disabled: DisabledOptimizations,
): PricedTool[] {
  return toolPrice.tools.map((tool) => {
    if (index.toolLlmAncestors[tool.tool] === 0n) {
      return { ...tool, startOffsetMs: 0, endOffsetMs: toolPrice.chainUp(tool.tool) };
    }
    const ancestors = index.toolLlmAncestors[tool.tool]!;
    let startOffsetMs = disabled.pipelining ? 0 : Number.POSITIVE_INFINITY;
    let lastParentEndMs = 0;
    for (const shard of shards) {
      const endMs = shard.fillMs + shard.cost.totalMs;
      if (disabled.pipelining) {
        startOffsetMs = Math.max(startOffsetMs, endMs);
      } else if ((ancestors & bit(shard.operator)) !== 0n) {
        startOffsetMs = Math.min(startOffsetMs, shard.fillMs);
        lastParentEndMs = Math.max(lastParentEndMs, endMs);
      }
    }
    if (!Number.isFinite(startOffsetMs)) startOffsetMs = 0;
    const endOffsetMs = Math.max(startOffsetMs, lastParentEndMs) + toolPrice.chainDown(tool.tool);
    return { ...tool, startOffsetMs, endOffsetMs: Math.min(costMs, endOffsetMs) };
  });
}

/**
 * The busiest CPU pool's total time over the batch: with pipelining, tools
 * overlap inference, so this bounds the makespan as a whole (makespan =
 * max(Σ epochs, pool bound)); without it the epochs' tool phases already pay it.
 */
export function poolBoundMs(index: ProblemIndex, disabled: DisabledOptimizations): number {
  const busy = new Map<string, number>();
  index.tools.forEach((operator, tool) => {
    const workMs = toolPoolWorkMs(operator.statistics, index.toolConcurrency[tool]!, disabled);
    busy.set(operator.pool, (busy.get(operator.pool) ?? 0) + workMs);
  });
  return Math.max(0, ...busy.values());
}
