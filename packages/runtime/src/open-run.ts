/**
 * An open run (`Processor.open`): one execution plan whose run keeps taking
 * queries. `add` admits queries into the running work at any time — their
 * LLM calls join the same per-operator queues, so they share micro-batches
 * with the queries already in flight, and identical deterministic calls
 * coalesce across adds (a call still running is joined, a finished one is
 * reused). `close` stops admission; `finished` resolves with the run's
 * summary once every admitted query has its record.
 *
 * The server's continuous online admission runs on this: no barrier between
 * arrivals, unlike a mini-batch per time window.
 */
import type { QueryContext } from "@halo/ir";
import type { BatchRun } from "./batch-run.js";
import type { RunSummary } from "./run-summary.js";

/** `add` after `close`, after the run ended, or with a query id the run has seen. */
export class OpenRunClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OpenRunClosedError";
  }
}

/** Starts the underlying run; `attach` is called once the run admits queries and returns those added meanwhile. */
export type OpenRunStarter = (
  initial: readonly QueryContext[],
  attach: (run: BatchRun) => readonly QueryContext[],
) => Promise<RunSummary>;

export class OpenRun {
  /** Resolves with the summary when the run ends (after `close`, or an abort); rejects when it cannot start. */
  readonly finished: Promise<RunSummary>;
  private run: BatchRun | undefined;
  /** Queries added before the executors answered (the run has not started yet). */
  private waiting: QueryContext[] = [];
  private readonly ids = new Set<string>();
  private closed = false;
  private ended = false;
  private added = 0;

  constructor(start: OpenRunStarter) {
    this.finished = start([], (run) => {
      this.run = run;
      const waiting = this.waiting;
      this.waiting = [];
      if (this.closed) queueMicrotask(() => run.closeAdmission());
      return waiting;
    }).finally(() => {
      this.ended = true;
    });
    // A caller that never awaits `finished` must not see an unhandled rejection.
    this.finished.catch(() => undefined);
  }

  /** Queries admitted so far. */
  get admitted(): number {
    return this.added;
  }

  /** True until `close` (or the end of the run). */
  get open(): boolean {
    return !this.closed && !this.ended && (this.run?.admitting ?? true);
  }

  /**
   * Admits queries into the running work. Throws `OpenRunClosedError` after
   * `close`, once the run has ended (aborted, executors lost), or for a query
   * id this run has seen (nothing of the call is admitted then).
   */
  add(queries: readonly QueryContext[]): void {
    if (!this.open) throw new OpenRunClosedError("the open run takes no more queries");
    const fresh = new Set<string>();
    for (const query of queries) {
      if (this.ids.has(query.id) || fresh.has(query.id)) {
        throw new OpenRunClosedError(`query id "${query.id}" was already admitted to this run`);
      }
      fresh.add(query.id);
    }
    for (const id of fresh) this.ids.add(id);
    this.added += queries.length;
    if (this.run === undefined) {
      this.waiting.push(...queries);
      return;
    }
    if (!this.run.admitMore(queries)) throw new OpenRunClosedError("the open run takes no more queries");
  }

  /** Stops admission: the run finishes the queries it has and ends. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.run?.closeAdmission();
  }
}
