/**
 * The embedded store: one SQLite file (better-sqlite3) in WAL mode with
 * `synchronous = FULL`, so a write that returned survives a SIGKILL or a power
 * loss. SQLite was chosen over DuckDB and PGlite because the server's load is
 * many small transactional writes (one per finished chunk of queries) from one
 * process, which SQLite does best, and better-sqlite3 is synchronous and small.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { JsonObject, QueryContext } from "@halo/ir";
import type { QueryResultRecord } from "@halo/runtime";
import Database from "better-sqlite3";
import type {
  BatchJob,
  BatchStatusChange,
  OnlineQuery,
  ServerStore,
  StoredWorkflow,
} from "./server-store.js";
import { recordJson } from "./server-store.js";
import {
  type BatchRow,
  batchFromRow,
  type OnlineQueryRow,
  onlineQueryFromRow,
  SCHEMA_STATEMENTS,
  STATUS_TIME_COLUMN,
  type WorkflowRow,
  workflowFromRow,
} from "./store-schema.js";

/** The SQLite implementation of `ServerStore`. */
export class SqliteStore implements ServerStore {
  readonly kind = "sqlite";
  private readonly db: Database.Database;

  /** Opens (creating it and its directory when missing) the database file at `path`. */
  constructor(readonly location: string) {
    if (location !== ":memory:") mkdirSync(dirname(location), { recursive: true });
    this.db = new Database(location);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    for (const statement of SCHEMA_STATEMENTS) this.db.exec(statement);
  }

  async putWorkflow(workflow: StoredWorkflow): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO workflows (name, source, format, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET source = excluded.source, format = excluded.format,
           updated_at = excluded.updated_at`,
      )
      .run(workflow.name, workflow.source, workflow.format, workflow.createdAt, workflow.updatedAt);
  }

  async getWorkflow(name: string): Promise<StoredWorkflow | undefined> {
    const row = this.db.prepare("SELECT * FROM workflows WHERE name = ?").get(name) as
      | WorkflowRow
      | undefined;
    return row && workflowFromRow(row);
  }

  async putWorkflowStatistics(workflow: string, version: number, statistics: JsonObject): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO workflow_statistics (workflow, version, statistics) VALUES (?, ?, ?)
         ON CONFLICT (workflow, version) DO UPDATE SET statistics = excluded.statistics`,
      )
      .run(workflow, version, JSON.stringify(statistics));
  }

  async getWorkflowStatistics(workflow: string, version: number): Promise<JsonObject | undefined> {
    const row = this.db
      .prepare("SELECT statistics FROM workflow_statistics WHERE workflow = ? AND version = ?")
      .get(workflow, version) as { statistics: string } | undefined;
    return row && (JSON.parse(row.statistics) as JsonObject);
  }

  async listWorkflows(): Promise<StoredWorkflow[]> {
    const rows = this.db.prepare("SELECT * FROM workflows ORDER BY name").all() as WorkflowRow[];
    return rows.map(workflowFromRow);
  }

  async createBatch(batch: {
    id: string;
    workflow: string;
    inputFormat: string;
    metadata: JsonObject;
    createdAt: number;
  }): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO batches (id, workflow, status, input_format, metadata, created_at)
         VALUES (?, ?, 'validating', ?, ?, ?)`,
      )
      .run(batch.id, batch.workflow, batch.inputFormat, JSON.stringify(batch.metadata), batch.createdAt);
  }

  async appendBatchQueries(
    batchId: string,
    firstSeq: number,
    queries: readonly QueryContext[],
  ): Promise<void> {
    const insert = this.db.prepare(
      "INSERT INTO batch_queries (batch_id, seq, query_id, context) VALUES (?, ?, ?, ?)",
    );
    this.db.transaction(() => {
      queries.forEach((query, index) => {
        insert.run(batchId, firstSeq + index, query.id, JSON.stringify(query.context));
      });
    })();
  }

  async deleteBatchQueries(batchId: string): Promise<void> {
    this.db.prepare("DELETE FROM batch_queries WHERE batch_id = ?").run(batchId);
  }

  async setBatchStatus(batchId: string, change: BatchStatusChange): Promise<void> {
    const column = STATUS_TIME_COLUMN[change.status];
    const sets = ["status = ?"];
    const values: unknown[] = [change.status];
    if (column) {
      sets.push(`${column} = ?`);
      values.push(change.atSeconds);
    }
    if (change.total !== undefined) {
      sets.push("total = ?");
      values.push(change.total);
    }
    if (change.errors !== undefined) {
      sets.push("errors = ?");
      values.push(JSON.stringify(change.errors));
    }
    this.db.prepare(`UPDATE batches SET ${sets.join(", ")} WHERE id = ?`).run(...values, batchId);
  }

  async getBatch(id: string): Promise<BatchJob | undefined> {
    const row = this.db.prepare("SELECT * FROM batches WHERE id = ?").get(id) as BatchRow | undefined;
    return row && batchFromRow(row);
  }

  async listBatches(limit: number): Promise<BatchJob[]> {
    const rows = this.db
      .prepare("SELECT * FROM batches ORDER BY created_at DESC, id DESC LIMIT ?")
      .all(limit) as BatchRow[];
    return rows.map(batchFromRow);
  }

  async unfinishedBatches(): Promise<BatchJob[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM batches WHERE status NOT IN ('completed', 'failed', 'cancelled')
         ORDER BY created_at, id`,
      )
      .all() as BatchRow[];
    return rows.map(batchFromRow);
  }

  async pendingBatchQueries(batchId: string, limit: number): Promise<QueryContext[]> {
    const rows = this.db
      .prepare(
        `SELECT query_id, context FROM batch_queries WHERE batch_id = ? AND result IS NULL
         ORDER BY seq LIMIT ?`,
      )
      .all(batchId, limit) as { query_id: string; context: string }[];
    return rows.map((row) => ({ id: row.query_id, context: JSON.parse(row.context) as JsonObject }));
  }

  async recordBatchResults(batchId: string, records: readonly QueryResultRecord[]): Promise<void> {
    const update = this.db.prepare(
      "UPDATE batch_queries SET result = ?, ok = ? WHERE batch_id = ? AND query_id = ? AND result IS NULL",
    );
    const count = this.db.prepare(
      "UPDATE batches SET completed = completed + ?, failed = failed + ? WHERE id = ?",
    );
    this.db.transaction(() => {
      let completed = 0;
      let failed = 0;
      for (const record of records) {
        const changed = update.run(recordJson(record), record.ok ? 1 : 0, batchId, record.id).changes;
        if (changed === 0) continue;
        if (record.ok) completed += 1;
        else failed += 1;
      }
      count.run(completed, failed, batchId);
    })();
  }

  async batchResults(
    batchId: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ seq: number; record: QueryResultRecord }[]> {
    const rows = this.db
      .prepare(
        `SELECT seq, result FROM batch_queries WHERE batch_id = ? AND seq > ? AND result IS NOT NULL
         ORDER BY seq LIMIT ?`,
      )
      .all(batchId, afterSeq, limit) as { seq: number; result: string }[];
    return rows.map((row) => ({ seq: Number(row.seq), record: JSON.parse(row.result) as QueryResultRecord }));
  }

  async createOnlineQuery(query: {
    id: string;
    workflow: string;
    context: JsonObject;
    createdAt: number;
  }): Promise<boolean> {
    const changed = this.db
      .prepare(
        `INSERT INTO online_queries (id, workflow, context, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING`,
      )
      .run(query.id, query.workflow, JSON.stringify(query.context), query.createdAt).changes;
    return changed === 1;
  }

  async finishOnlineQuery(id: string, record: QueryResultRecord, finishedAt: number): Promise<void> {
    this.db
      .prepare("UPDATE online_queries SET result = ?, finished_at = ? WHERE id = ? AND result IS NULL")
      .run(recordJson(record), finishedAt, id);
  }

  async getOnlineQuery(id: string): Promise<OnlineQuery | undefined> {
    const row = this.db.prepare("SELECT * FROM online_queries WHERE id = ?").get(id) as
      | OnlineQueryRow
      | undefined;
    return row && onlineQueryFromRow(row);
  }

  async unfinishedOnlineQueries(): Promise<OnlineQuery[]> {
    const rows = this.db
      .prepare("SELECT * FROM online_queries WHERE result IS NULL ORDER BY created_at, id")
      .all() as OnlineQueryRow[];
    return rows.map(onlineQueryFromRow);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
