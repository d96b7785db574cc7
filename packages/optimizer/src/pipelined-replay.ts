import { decodeMs, decodeProfileFor, type ModelProfile } from "@halo/profiles";
import type { ListSchedule } from "./list-schedule.js";
import type { DisabledOptimizations } from "./planning-problem.js";
import { PriorityQueue } from "./priority-queue.js";
import type { ProblemIndex } from "./problem-index.js";
import { keptLoaded } from "./search-state.js";
import { timingTables } from "./timing-tables.js";

/**
 * A plan replayed at micro-batch granularity, the way the runtime executes it
 * (`@halo/runtime`'s batched dispatcher), to estimate its makespan.
 *
 * The list scheduler prices each step as a unit: a step starts once its
 * parents' steps have ended. The runtime does not wait: an operator's calls
 * become ready one query at a time, as their parents' calls finish and the
 * tools between them return, and a worker runs whatever of its planned work
 * is ready in micro-batches. On a chain of operators spread over workers the
 * two differ by the whole overlap, which is why step-level estimates
 * overstated runs by up to 1.7× at 1,000 queries.
 *
 * The replay follows the dispatcher's policy with the plan's numbers, and
 * nothing the planner does not know:
 * - each worker holds one model and runs its own steps in plan order: the
 *   first step of the held model with a full micro-batch (the step's batch
 *   size) ready, or all its remaining calls ready; a partial micro-batch goes
 *   once its oldest call has waited `gatherWindowMs`, and meanwhile the worker
 *   holds on to that step;
 * - when nothing of the held model can run and its first unfinished step
 *   needs another model, it loads that model (at the start: its first step's);
 * - an operator's calls are one queue shared by the workers it is planned on
 *   (the plan's per-worker shares are not enforced, as at run time); a call
 *   is ready once the same fraction of every LLM parent has finished, plus
 *   the tool time between (mean latencies, pipelined), and not before its
 *   input tools' chain;
 * - a micro-batch of `q` calls costs its share of the step's prefill and
 *   migration plus the decode of `q` sequences (the cost model's decode).
 * Work stealing and loads beside a resident model are not modelled. The
 * makespan is the last micro-batch's end plus the tools after it, at least
 * the tool bounds.
 */

/** Options of the replay. */
export interface ReplayOptions {
  /** The runtime's wait for a full micro-batch before it sends a partial one (default 50 ms, the runtime's default). */
  readonly gatherWindowMs?: number;
}

interface StepEntry {
  readonly operator: number;
  readonly model: string;
  readonly batch: number;
  /** Prefill and migration per call. */
  readonly perCallMs: number;
  /** Decode time of a micro-batch of `q` sequences. */
  readonly decodeMs: (q: number) => number;
}

interface OperatorFlow {
  /** Calls of the operator over the plan. */
  readonly calls: number;
  taken: number;
  /** Finished micro-batches' ends (ascending), and the calls finished by each end. */
  readonly ends: number[];
  readonly cumulative: number[];
}

const MAX_EVENTS = 5_000_000;

/** The replayed makespan of a priced schedule, or undefined when the replay cannot finish it (a bug). */
export function replayMakespanMs(
  index: ProblemIndex,
  schedule: ListSchedule,
  disabled: DisabledOptimizations,
  options: ReplayOptions = {},
): number | undefined {
  const gatherMs = options.gatherWindowMs ?? 50;
  const tables = timingTables(index, disabled);
  const workers = index.problem.workers;
  const sequences: StepEntry[][] = workers.map(() => []);
  const calls = index.llm.map(() => 0);
  for (const epoch of schedule.epochs) {
    for (const { shard } of epoch.shards) {
      if (shard.requests <= 0) continue;
      calls[shard.operator]! += shard.requests;
      sequences[shard.worker]!.push(stepEntry(index, shard, disabled));
    }
  }
  const flows: OperatorFlow[] = calls.map((count) => ({ calls: count, taken: 0, ends: [], cumulative: [] }));

  /** Calls of `operator` finished by `atMs`. */
  const doneBy = (operator: number, atMs: number): number => {
    const flow = flows[operator]!;
    const after = firstAtLeast(flow.ends, atMs, true);
    return after === 0 ? 0 : flow.cumulative[after - 1]!;
  };
  /** When the `count`-th call of `operator` finished (Infinity while it has not). */
  const timeOfCount = (operator: number, count: number): number => {
    if (count <= 0) return 0;
    const flow = flows[operator]!;
    const position = firstAtLeast(flow.cumulative, count);
    return position < flow.ends.length ? flow.ends[position]! : Number.POSITIVE_INFINITY;
  };
  /** Calls of `operator` ready at `atMs` (taken or not). */
  const readyAt = (operator: number, atMs: number): number => {
    const total = flows[operator]!.calls;
    if (atMs < tables.releaseMs[operator]!) return 0;
    let fraction = 1;
    for (const edge of tables.predecessors[operator]!) {
      const parent = flows[edge.operator]!;
      if (parent.calls === 0) continue;
      fraction = Math.min(fraction, doneBy(edge.operator, atMs - edge.gapMs) / parent.calls);
    }
    return Math.min(total, Math.floor(fraction * total + 1e-9));
  };
  /** When the `count`-th call of `operator` became ready. */
  const readySince = (operator: number, count: number): number => {
    const total = flows[operator]!.calls;
    let since = tables.releaseMs[operator]!;
    for (const edge of tables.predecessors[operator]!) {
      const parent = flows[edge.operator]!;
      if (parent.calls === 0) continue;
      since = Math.max(
        since,
        timeOfCount(edge.operator, Math.ceil((count * parent.calls) / total - 1e-9)) + edge.gapMs,
      );
    }
    return since;
  };

  const events = new PriorityQueue<number>((left, right) => left - right);
  const freeMs = workers.map(() => 0);
  const held: (string | undefined)[] = workers.map(() => undefined);
  // Other models each worker still has loaded (executors that keep several), least recently used first.
  const alsoLoaded: string[][] = workers.map(() => []);
  events.push(0);
  for (let operator = 0; operator < index.llm.length; operator++) events.push(tables.releaseMs[operator]!);
  let makespanMs = Math.max(tables.poolBoundMs, tables.toolChainMs);

  /** A micro-batch of `count` calls of `operator` ends at `endMs`: kept in end order, with running counts. */
  const record = (operator: number, endMs: number, count: number): void => {
    const flow = flows[operator]!;
    const position = firstAtLeast(flow.ends, endMs, true);
    flow.ends.splice(position, 0, endMs);
    flow.cumulative.splice(position, 0, (position === 0 ? 0 : flow.cumulative[position - 1]!) + count);
    for (let later = position + 1; later < flow.cumulative.length; later++) flow.cumulative[later]! += count;
    events.push(endMs);
    for (const edge of tables.successors[operator]!) events.push(endMs + edge.gapMs);
    makespanMs = Math.max(makespanMs, endMs + tables.tailMs[operator]!);
  };

  const exhausted = (operator: number): boolean => flows[operator]!.taken >= flows[operator]!.calls;
  const decide = (worker: number, nowMs: number): void => {
    for (const entry of sequences[worker]!) {
      if (entry.model !== held[worker] || exhausted(entry.operator)) continue;
      const flow = flows[entry.operator]!;
      const ready = readyAt(entry.operator, nowMs);
      const available = ready - flow.taken;
      if (available <= 0) continue;
      let count = 0;
      if (available >= entry.batch || ready >= flow.calls) count = Math.min(entry.batch, available);
      else {
        const deadlineMs = readySince(entry.operator, flow.taken + 1) + gatherMs;
        if (nowMs + 1e-9 < deadlineMs) {
          events.push(deadlineMs);
          return; // holding the model for this step, as the runtime does
        }
        count = available;
      }
      flow.taken += count;
      const endMs = nowMs + entry.perCallMs * count + entry.decodeMs(count);
      freeMs[worker] = endMs;
      record(entry.operator, endMs, count);
      return;
    }
    const next = sequences[worker]!.find((entry) => !exhausted(entry.operator));
    if (next && next.model !== held[worker]) {
      const loaded = alsoLoaded[worker]!.includes(next.model);
      const previous = held[worker];
      alsoLoaded[worker] = keptLoaded(
        index,
        worker,
        previous === undefined ? alsoLoaded[worker]! : [...alsoLoaded[worker]!, previous],
        next.model,
      );
      held[worker] = next.model;
      freeMs[worker] = nowMs + (loaded ? 0 : loadMsOf(index, next.operator, worker));
      events.push(freeMs[worker]!);
    }
  };

  let handled = 0;
  let previousMs = -1;
  for (let nowMs = events.pop(); nowMs !== undefined; nowMs = events.pop()) {
    if (nowMs === previousMs) continue;
    previousMs = nowMs;
    if (++handled > MAX_EVENTS) return undefined;
    for (let worker = 0; worker < workers.length; worker++) {
      if (freeMs[worker]! <= nowMs + 1e-9) decide(worker, nowMs);
    }
  }
  if (flows.some((_, operator) => !exhausted(operator))) return undefined;
  return makespanMs;
}

/**
 * The first position of ascending `values` holding at least `target` (above it when `strictly`),
 * or `values.length`.
 */
function firstAtLeast(values: readonly number[], target: number, strictly = false): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    const value = values[middle]!;
    if (strictly ? value <= target : value < target) low = middle + 1;
    else high = middle;
  }
  return low;
}

function stepEntry(
  index: ProblemIndex,
  shard: ListSchedule["epochs"][number]["shards"][number]["shard"],
  disabled: DisabledOptimizations,
): StepEntry {
  const operator = index.llm[shard.operator]!;
  const statistics = operator.statistics;
  const model = index.modelOn[shard.worker]![shard.operator]!;
  const cost = shard.cost;
  const batch = disabled.batching ? 1 : Math.max(1, cost.batchSize);
  const decoding = decodeProfileFor(model, statistics.structuredOutput === true);
  const limited: ModelProfile =
    batch === decoding.maxBatchSequences ? decoding : { ...decoding, maxBatchSequences: batch };
  const contextTokens = statistics.sharedPrefixTokens + statistics.uniquePromptTokens;
  return {
    operator: shard.operator,
    model: operator.model,
    batch,
    perCallMs: (cost.prefillMs + cost.migrateMs) / shard.requests,
    decodeMs: (q) => decodeMs(limited, q, contextTokens, statistics.outputTokens),
  };
}

function loadMsOf(index: ProblemIndex, operator: number, worker: number): number {
  if (index.problem.workers[worker]!.profile.capabilities?.modelLoading === false) return 0;
  return index.modelOn[worker]![operator]!.loadMs;
}
