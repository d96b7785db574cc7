/**
 * What `halo bench` records of one system's run besides the runtime's own
 * summary: query admission and finish times (from events) and, from the
 * result records, per-operator timelines and the share of query time spent in
 * tools alone. The event handler only counts, so that observing costs the
 * measured runtime next to nothing.
 */
import type { CompiledWorkflow } from "@halo/ir";
import type { QueryResultRecord, RuntimeEvent } from "@halo/runtime";
import type { OperatorTimeline } from "./bench-result.js";

/** Per worker: Generate calls dispatched and their items. */
export interface DispatchCounts {
  calls: number;
  items: number;
}

/** Collects the events of one run. */
export class RunObserver {
  readonly queryStartMs = new Map<string, number>();
  readonly queryEndMs = new Map<string, number>();
  readonly dispatches = new Map<string, DispatchCounts>();

  /** The Processor's `onEvent`. */
  readonly onEvent = (event: RuntimeEvent): void => {
    switch (event.type) {
      case "query-started":
        this.queryStartMs.set(event.queryId, event.atMs);
        break;
      case "query-finished":
        this.queryEndMs.set(event.queryId, event.atMs);
        break;
      case "batch-dispatched": {
        let counts = this.dispatches.get(event.worker);
        if (!counts) {
          counts = { calls: 0, items: 0 };
          this.dispatches.set(event.worker, counts);
        }
        counts.calls += 1;
        counts.items += event.items;
        break;
      }
    }
  };
}

/** Figures derived from the records of a run. */
export interface RecordFigures {
  readonly toolShare: number;
  /** Mean admission → record time (wall ms). */
  readonly meanQueryLatencyMs: number;
  readonly operators: readonly OperatorTimeline[];
}

type Interval = readonly [number, number];

/** Disjoint, sorted union of intervals. */
export function unionOf(intervals: readonly Interval[]): Interval[] {
  const sorted = intervals.filter(([start, end]) => end > start).sort((left, right) => left[0] - right[0]);
  const union: [number, number][] = [];
  for (const [start, end] of sorted) {
    const last = union[union.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else union.push([start, end]);
  }
  return union;
}

/** Total length of `covered` (a disjoint sorted union) outside `excluded` (another one). */
export function lengthOutside(covered: readonly Interval[], excluded: readonly Interval[]): number {
  let total = 0;
  let index = 0;
  for (const [start, end] of covered) {
    let cursor = start;
    while (index < excluded.length && excluded[index]![1] <= cursor) index += 1;
    for (let next = index; next < excluded.length && excluded[next]![0] < end; next++) {
      const [excludedStart, excludedEnd] = excluded[next]!;
      if (excludedStart > cursor) total += excludedStart - cursor;
      cursor = Math.max(cursor, excludedEnd);
      if (cursor >= end) break;
    }
    if (cursor < end) total += end - cursor;
  }
  return total;
}

/** Tool share, query latency and operator timelines of a run's records. */
export function analyzeRecords(
  workflow: CompiledWorkflow,
  records: readonly QueryResultRecord[],
  observer: RunObserver,
): RecordFigures {
  const kinds = new Map(workflow.operators.map((operator) => [operator.id, operator.kind]));
  let toolOnlyMs = 0;
  let latencyMs = 0;
  let timed = 0;
  const perOperator = new Map<string, { instances: number; first: number; last: number; totalMs: number }>();
  for (const record of records) {
    const tools: Interval[] = [];
    const llm: Interval[] = [];
    for (const [operator, timing] of Object.entries(record.operators)) {
      const interval: Interval = [timing.startMs, timing.endMs];
      if (kinds.get(operator) === "llm") llm.push(interval);
      else tools.push(interval);
      let figures = perOperator.get(operator);
      if (!figures) {
        figures = { instances: 0, first: Number.POSITIVE_INFINITY, last: 0, totalMs: 0 };
        perOperator.set(operator, figures);
      }
      figures.instances += 1;
      figures.first = Math.min(figures.first, timing.startMs);
      figures.last = Math.max(figures.last, timing.endMs);
      figures.totalMs += timing.endMs - timing.startMs;
    }
    const startMs = observer.queryStartMs.get(record.id);
    const endMs = observer.queryEndMs.get(record.id);
    if (startMs === undefined || endMs === undefined) continue;
    timed += 1;
    latencyMs += endMs - startMs;
    toolOnlyMs += lengthOutside(unionOf(tools), unionOf(llm));
  }
  const operators: OperatorTimeline[] = workflow.operators
    .filter((operator) => perOperator.has(operator.id))
    .map((operator) => {
      const figures = perOperator.get(operator.id)!;
      return {
        operator: operator.id,
        kind: operator.kind,
        instances: figures.instances,
        firstStartMs: round(figures.first),
        lastEndMs: round(figures.last),
        meanMs: round(figures.totalMs / figures.instances),
      };
    });
  return {
    toolShare: latencyMs > 0 ? toolOnlyMs / latencyMs : 0,
    meanQueryLatencyMs: timed > 0 ? latencyMs / timed : 0,
    operators,
  };
}

/** Rounds to 0.1 (figures in result files need no more). */
export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
