/**
 * The server's durable state behind one interface with two implementations
 * (SQLite under `$HALO_HOME`, PostgreSQL with `--store postgres://…`):
 * registered workflows, batch jobs with their queries and results, and online
 * queries. A result is written once per (batch, query) — a second write of the
 * same query is ignored — so a restarted server that reruns unfinished work
 * never duplicates a record.
 */
import type { JsonObject, QueryContext } from "@halo/ir";
import type { QueryResultRecord } from "@halo/runtime";

/** A registered workflow: its source text as the user sent it (compiled again on load). */
export interface StoredWorkflow {
  readonly name: string;
  readonly source: string;
  /** `yaml` or `json`: how `source` parses. */
  readonly format: "yaml" | "json";
  /** Seconds since the epoch (the OpenAI Batch API's unit). */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** States of a batch job, as in the OpenAI Batch API. */
export type BatchStatus =
  | "validating"
  | "in_progress"
  | "finalizing"
  | "completed"
  | "failed"
  | "cancelling"
  | "cancelled";

/** Statuses a batch never leaves. */
export const TERMINAL_BATCH_STATUSES: ReadonlySet<BatchStatus> = new Set([
  "completed",
  "failed",
  "cancelled",
]);

/** One problem of a failed batch's input (line and field when known). */
export interface BatchError {
  readonly code: string;
  readonly message: string;
  readonly line?: number;
  readonly param?: string;
}

/** A batch job. Times are seconds since the epoch; absent until the state is reached. */
export interface BatchJob {
  readonly id: string;
  readonly workflow: string;
  readonly status: BatchStatus;
  /** `jsonl`, `csv` or `parquet`: the uploaded file's format. */
  readonly inputFormat: string;
  readonly requestCounts: { readonly total: number; readonly completed: number; readonly failed: number };
  readonly errors: readonly BatchError[];
  readonly metadata: JsonObject;
  readonly createdAt: number;
  readonly inProgressAt?: number;
  readonly finalizingAt?: number;
  readonly completedAt?: number;
  readonly failedAt?: number;
  readonly cancellingAt?: number;
  readonly cancelledAt?: number;
}

/** What may change with a status change. */
export interface BatchStatusChange {
  readonly status: BatchStatus;
  readonly atSeconds: number;
  readonly total?: number;
  readonly errors?: readonly BatchError[];
}

/** States of an online query. */
export type OnlineQueryStatus = "queued" | "running" | "completed" | "failed";

/** An online query and, once finished, its record. */
export interface OnlineQuery {
  readonly id: string;
  readonly workflow: string;
  readonly status: OnlineQueryStatus;
  readonly context: JsonObject;
  readonly createdAt: number;
  readonly finishedAt?: number;
  readonly result?: QueryResultRecord;
}

/** The durable state of a server (see the module comment). Every method may be called concurrently. */
export interface ServerStore {
  /** `sqlite` or `postgres`. */
  readonly kind: string;
  /** Where the data lives (a file path or a URL without its password), for logs. */
  readonly location: string;

  putWorkflow(workflow: StoredWorkflow): Promise<void>;
  getWorkflow(name: string): Promise<StoredWorkflow | undefined>;
  listWorkflows(): Promise<StoredWorkflow[]>;

  /** Replaces what the runs of a workflow version measured (`ObservedStatistics` JSON), which plans learn from. */
  putWorkflowStatistics(workflow: string, version: number, statistics: JsonObject): Promise<void>;
  /** The statistics of a workflow version as stored (unvalidated JSON), if any. */
  getWorkflowStatistics(workflow: string, version: number): Promise<JsonObject | undefined>;

  /** Creates a batch in `validating` with no queries yet. */
  createBatch(batch: {
    readonly id: string;
    readonly workflow: string;
    readonly inputFormat: string;
    readonly metadata: JsonObject;
    readonly createdAt: number;
  }): Promise<void>;
  /** Appends queries (in one transaction) at positions `firstSeq`, `firstSeq + 1`, …. */
  appendBatchQueries(batchId: string, firstSeq: number, queries: readonly QueryContext[]): Promise<void>;
  /** Drops a batch's queries (an upload that failed validation keeps none). */
  deleteBatchQueries(batchId: string): Promise<void>;
  setBatchStatus(batchId: string, change: BatchStatusChange): Promise<void>;
  getBatch(id: string): Promise<BatchJob | undefined>;
  /** Newest first. */
  listBatches(limit: number): Promise<BatchJob[]>;
  /** Batches that were not finished (any non-terminal status), oldest first. */
  unfinishedBatches(): Promise<BatchJob[]>;
  /** Up to `limit` queries of the batch without a result, in upload order. */
  pendingBatchQueries(batchId: string, limit: number): Promise<QueryContext[]>;
  /**
   * Records results (one transaction) and counts them into the batch's
   * request counts; a query that already has a result keeps the first one.
   */
  recordBatchResults(batchId: string, records: readonly QueryResultRecord[]): Promise<void>;
  /** Results in upload order from position `afterSeq` (exclusive); with their positions. */
  batchResults(
    batchId: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ seq: number; record: QueryResultRecord }[]>;

  /** Stores a new online query as `queued`; false when the id exists already. */
  createOnlineQuery(query: {
    readonly id: string;
    readonly workflow: string;
    readonly context: JsonObject;
    readonly createdAt: number;
  }): Promise<boolean>;
  /** Records an online query's result (a second write is ignored). */
  finishOnlineQuery(id: string, record: QueryResultRecord, finishedAt: number): Promise<void>;
  getOnlineQuery(id: string): Promise<OnlineQuery | undefined>;
  /** Online queries without a result, oldest first (a restarted server runs them). */
  unfinishedOnlineQueries(): Promise<OnlineQuery[]>;

  close(): Promise<void>;
}

/** Serializes a result record for the store (the same JSON as a `halo run` results line). */
export function recordJson(record: QueryResultRecord): string {
  return JSON.stringify(record);
}
