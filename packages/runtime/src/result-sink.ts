import type { JsonObject } from "@halo/ir";

/** When and where one operator of a query ran. Times are ms since the run started. */
export interface OperatorTiming {
  readonly startMs: number;
  readonly endMs: number;
  /** The worker that ran the LLM call (absent for tools). */
  readonly worker?: string;
  /** Served by an identical call that had already finished earlier in the run. */
  readonly cached?: true;
  /** Served by an identical call that was queued or running when this instance became ready. */
  readonly coalesced?: true;
}

/** The result of one query: exactly one record per finished query. */
export interface QueryResultRecord {
  readonly id: string;
  readonly ok: boolean;
  /** The end operators' outputs, merged in workflow order (empty when the query failed). */
  readonly outputs: JsonObject;
  /** Every operator that finished for this query (the input operator excluded). */
  readonly operators: Readonly<Record<string, OperatorTiming>>;
  /** Why the query failed: the operator and the message. */
  readonly error?: { readonly operator: string; readonly message: string };
}

/** Where a Processor appends results. Appends are awaited in order; `close` flushes. */
export interface ResultSink {
  append(record: QueryResultRecord): Promise<void>;
  /** Ids of queries already recorded (a resumed sink); the Processor skips them. */
  readonly finishedIds?: ReadonlySet<string>;
  close(): Promise<void>;
}

/** Keeps records in memory (tests, embedding). */
export class MemoryResultSink implements ResultSink {
  readonly records: QueryResultRecord[] = [];

  constructor(readonly finishedIds: ReadonlySet<string> = new Set()) {}

  async append(record: QueryResultRecord): Promise<void> {
    this.records.push(record);
  }

  async close(): Promise<void> {}
}
