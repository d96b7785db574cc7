/**
 * Row shapes shared by the SQLite and PostgreSQL stores, and their conversion
 * to the store's types. JSON columns hold text in both databases so the two
 * implementations read and write the same values.
 */
import type { JsonObject } from "@halo/ir";
import type { QueryResultRecord } from "@halo/runtime";
import type { BatchError, BatchJob, BatchStatus, OnlineQuery, StoredWorkflow } from "./server-store.js";

/** A `batches` row. */
export interface BatchRow {
  id: string;
  workflow: string;
  status: string;
  input_format: string;
  total: number | string;
  completed: number | string;
  failed: number | string;
  errors: string;
  metadata: string;
  created_at: number | string;
  in_progress_at: number | string | null;
  finalizing_at: number | string | null;
  completed_at: number | string | null;
  failed_at: number | string | null;
  cancelling_at: number | string | null;
  cancelled_at: number | string | null;
}

/** A `workflows` row. */
export interface WorkflowRow {
  name: string;
  source: string;
  format: string;
  created_at: number | string;
  updated_at: number | string;
}

/** An `online_queries` row. */
export interface OnlineQueryRow {
  id: string;
  workflow: string;
  context: string;
  created_at: number | string;
  finished_at: number | string | null;
  result: string | null;
}

/** The column set when a batch reaches `status` (its timestamp column). */
export const STATUS_TIME_COLUMN: Readonly<Record<BatchStatus, string | undefined>> = {
  validating: undefined,
  in_progress: "in_progress_at",
  finalizing: "finalizing_at",
  completed: "completed_at",
  failed: "failed_at",
  cancelling: "cancelling_at",
  cancelled: "cancelled_at",
};

const optionalNumber = (value: number | string | null): number | undefined =>
  value === null ? undefined : Number(value);

export function batchFromRow(row: BatchRow): BatchJob {
  const times = {
    inProgressAt: optionalNumber(row.in_progress_at),
    finalizingAt: optionalNumber(row.finalizing_at),
    completedAt: optionalNumber(row.completed_at),
    failedAt: optionalNumber(row.failed_at),
    cancellingAt: optionalNumber(row.cancelling_at),
    cancelledAt: optionalNumber(row.cancelled_at),
  };
  return {
    id: row.id,
    workflow: row.workflow,
    status: row.status as BatchStatus,
    inputFormat: row.input_format,
    requestCounts: { total: Number(row.total), completed: Number(row.completed), failed: Number(row.failed) },
    errors: JSON.parse(row.errors) as BatchError[],
    metadata: JSON.parse(row.metadata) as JsonObject,
    createdAt: Number(row.created_at),
    ...Object.fromEntries(Object.entries(times).filter(([, value]) => value !== undefined)),
  };
}

export function workflowFromRow(row: WorkflowRow): StoredWorkflow {
  return {
    name: row.name,
    source: row.source,
    format: row.format === "json" ? "json" : "yaml",
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function onlineQueryFromRow(row: OnlineQueryRow): OnlineQuery {
  const result = row.result === null ? undefined : (JSON.parse(row.result) as QueryResultRecord);
  return {
    id: row.id,
    workflow: row.workflow,
    status: result === undefined ? "queued" : result.ok ? "completed" : "failed",
    context: JSON.parse(row.context) as JsonObject,
    createdAt: Number(row.created_at),
    ...(row.finished_at === null ? {} : { finishedAt: Number(row.finished_at) }),
    ...(result === undefined ? {} : { result }),
  };
}

/** The schema, in SQL both databases accept (timestamps are seconds since the epoch). */
export const SCHEMA_STATEMENTS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS workflows (
     name TEXT PRIMARY KEY, source TEXT NOT NULL, format TEXT NOT NULL,
     created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS batches (
     id TEXT PRIMARY KEY, workflow TEXT NOT NULL, status TEXT NOT NULL, input_format TEXT NOT NULL,
     total BIGINT NOT NULL DEFAULT 0, completed BIGINT NOT NULL DEFAULT 0, failed BIGINT NOT NULL DEFAULT 0,
     errors TEXT NOT NULL DEFAULT '[]', metadata TEXT NOT NULL DEFAULT '{}', created_at BIGINT NOT NULL,
     in_progress_at BIGINT, finalizing_at BIGINT, completed_at BIGINT, failed_at BIGINT,
     cancelling_at BIGINT, cancelled_at BIGINT)`,
  `CREATE TABLE IF NOT EXISTS batch_queries (
     batch_id TEXT NOT NULL, seq BIGINT NOT NULL, query_id TEXT NOT NULL, context TEXT NOT NULL,
     result TEXT, ok BOOLEAN,
     PRIMARY KEY (batch_id, seq), UNIQUE (batch_id, query_id))`,
  `CREATE INDEX IF NOT EXISTS batch_queries_pending ON batch_queries (batch_id, seq) WHERE result IS NULL`,
  `CREATE TABLE IF NOT EXISTS online_queries (
     id TEXT PRIMARY KEY, workflow TEXT NOT NULL, context TEXT NOT NULL, created_at BIGINT NOT NULL,
     finished_at BIGINT, result TEXT)`,
  `CREATE INDEX IF NOT EXISTS online_queries_pending ON online_queries (created_at) WHERE result IS NULL`,
  `CREATE TABLE IF NOT EXISTS workflow_statistics (
     workflow TEXT NOT NULL, version BIGINT NOT NULL, statistics TEXT NOT NULL,
     PRIMARY KEY (workflow, version))`,
];
