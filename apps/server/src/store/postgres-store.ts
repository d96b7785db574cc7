/**
 * The PostgreSQL store (`--store postgres://…`): the same tables and
 * semantics as the SQLite store, through a `pg` pool. Writes that must go
 * together (a chunk of queries, a chunk of results with their counts) run in
 * one transaction.
 */
import type { JsonObject, QueryContext } from "@halo/ir";
import type { QueryResultRecord } from "@halo/runtime";
import pg from "pg";
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

/** The PostgreSQL implementation of `ServerStore`; create it with `PostgresStore.open`. */
export class PostgresStore implements ServerStore {
  readonly kind = "postgres";

  private constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
  ) {}

  /** Connects, creates the tables when missing; rejects naming the server when it is unreachable. */
  static async open(url: string, location: string): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, max: 8, connectionTimeoutMillis: 10_000 });
    // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
    pool.on("error", () => undefined);
    try {
      for (const statement of SCHEMA_STATEMENTS) await pool.query(statement);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return new PostgresStore(pool, location);
  }

  private async transaction(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await work(client);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async putWorkflow(workflow: StoredWorkflow): Promise<void> {
    await this.pool.query(
      `INSERT INTO workflows (name, source, format, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE SET source = excluded.source, format = excluded.format,
         updated_at = excluded.updated_at`,
      [workflow.name, workflow.source, workflow.format, workflow.createdAt, workflow.updatedAt],
    );
  }

  async getWorkflow(name: string): Promise<StoredWorkflow | undefined> {
    const { rows } = await this.pool.query<WorkflowRow>("SELECT * FROM workflows WHERE name = $1", [name]);
    return rows[0] && workflowFromRow(rows[0]);
  }

  async putWorkflowStatistics(workflow: string, version: number, statistics: JsonObject): Promise<void> {
    await this.pool.query(
      `INSERT INTO workflow_statistics (workflow, version, statistics) VALUES ($1, $2, $3)
       ON CONFLICT (workflow, version) DO UPDATE SET statistics = excluded.statistics`,
      [workflow, version, JSON.stringify(statistics)],
    );
  }

  async getWorkflowStatistics(workflow: string, version: number): Promise<JsonObject | undefined> {
    const { rows } = await this.pool.query<{ statistics: string }>(
      "SELECT statistics FROM workflow_statistics WHERE workflow = $1 AND version = $2",
      [workflow, version],
    );
    return rows[0] && (JSON.parse(rows[0].statistics) as JsonObject);
  }

  async listWorkflows(): Promise<StoredWorkflow[]> {
    const { rows } = await this.pool.query<WorkflowRow>("SELECT * FROM workflows ORDER BY name");
    return rows.map(workflowFromRow);
  }

  async createBatch(batch: {
    id: string;
    workflow: string;
    inputFormat: string;
    metadata: JsonObject;
    createdAt: number;
  }): Promise<void> {
    await this.pool.query(
      `INSERT INTO batches (id, workflow, status, input_format, metadata, created_at)
       VALUES ($1, $2, 'validating', $3, $4, $5)`,
      [batch.id, batch.workflow, batch.inputFormat, JSON.stringify(batch.metadata), batch.createdAt],
    );
  }

  async appendBatchQueries(
    batchId: string,
    firstSeq: number,
    queries: readonly QueryContext[],
  ): Promise<void> {
    if (queries.length === 0) return;
    await this.transaction(async (client) => {
      // One multi-row INSERT per chunk: a round trip per query would dominate large uploads.
      await client.query(
        `INSERT INTO batch_queries (batch_id, seq, query_id, context)
         SELECT $1, s, q, c FROM unnest($2::bigint[], $3::text[], $4::text[]) AS t(s, q, c)`,
        [
          batchId,
          queries.map((_, index) => firstSeq + index),
          queries.map((query) => query.id),
          queries.map((query) => JSON.stringify(query.context)),
        ],
      );
    });
  }

  async deleteBatchQueries(batchId: string): Promise<void> {
    await this.pool.query("DELETE FROM batch_queries WHERE batch_id = $1", [batchId]);
  }

  async setBatchStatus(batchId: string, change: BatchStatusChange): Promise<void> {
    const column = STATUS_TIME_COLUMN[change.status];
    const values: unknown[] = [change.status];
    const sets = ["status = $1"];
    const add = (name: string, value: unknown) => {
      values.push(value);
      sets.push(`${name} = $${values.length}`);
    };
    if (column) add(column, change.atSeconds);
    if (change.total !== undefined) add("total", change.total);
    if (change.errors !== undefined) add("errors", JSON.stringify(change.errors));
    values.push(batchId);
    await this.pool.query(`UPDATE batches SET ${sets.join(", ")} WHERE id = $${values.length}`, values);
  }

  async getBatch(id: string): Promise<BatchJob | undefined> {
    const { rows } = await this.pool.query<BatchRow>("SELECT * FROM batches WHERE id = $1", [id]);
    return rows[0] && batchFromRow(rows[0]);
  }

  async listBatches(limit: number): Promise<BatchJob[]> {
    const { rows } = await this.pool.query<BatchRow>(
      "SELECT * FROM batches ORDER BY created_at DESC, id DESC LIMIT $1",
      [limit],
    );
    return rows.map(batchFromRow);
  }

  async unfinishedBatches(): Promise<BatchJob[]> {
    const { rows } = await this.pool.query<BatchRow>(
      `SELECT * FROM batches WHERE status NOT IN ('completed', 'failed', 'cancelled') ORDER BY created_at, id`,
    );
    return rows.map(batchFromRow);
  }

  async pendingBatchQueries(batchId: string, limit: number): Promise<QueryContext[]> {
    const { rows } = await this.pool.query<{ query_id: string; context: string }>(
      `SELECT query_id, context FROM batch_queries WHERE batch_id = $1 AND result IS NULL ORDER BY seq LIMIT $2`,
      [batchId, limit],
    );
    return rows.map((row) => ({ id: row.query_id, context: JSON.parse(row.context) as JsonObject }));
  }

  async recordBatchResults(batchId: string, records: readonly QueryResultRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.transaction(async (client) => {
      const { rows } = await client.query<{ ok: boolean }>(
        `UPDATE batch_queries AS b SET result = t.r, ok = t.o
         FROM unnest($2::text[], $3::text[], $4::boolean[]) AS t(q, r, o)
         WHERE b.batch_id = $1 AND b.query_id = t.q AND b.result IS NULL
         RETURNING b.ok`,
        [
          batchId,
          records.map((record) => record.id),
          records.map((record) => recordJson(record)),
          records.map((record) => record.ok),
        ],
      );
      const completed = rows.filter((row) => row.ok).length;
      await client.query(
        "UPDATE batches SET completed = completed + $1, failed = failed + $2 WHERE id = $3",
        [completed, rows.length - completed, batchId],
      );
    });
  }

  async batchResults(
    batchId: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ seq: number; record: QueryResultRecord }[]> {
    const { rows } = await this.pool.query<{ seq: string; result: string }>(
      `SELECT seq, result FROM batch_queries WHERE batch_id = $1 AND seq > $2 AND result IS NOT NULL
       ORDER BY seq LIMIT $3`,
      [batchId, afterSeq, limit],
    );
    return rows.map((row) => ({ seq: Number(row.seq), record: JSON.parse(row.result) as QueryResultRecord }));
  }

  async createOnlineQuery(query: {
    id: string;
    workflow: string;
    context: JsonObject;
    createdAt: number;
  }): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO online_queries (id, workflow, context, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO NOTHING`,
      [query.id, query.workflow, JSON.stringify(query.context), query.createdAt],
    );
    return rowCount === 1;
  }

  async finishOnlineQuery(id: string, record: QueryResultRecord, finishedAt: number): Promise<void> {
    await this.pool.query(
      "UPDATE online_queries SET result = $1, finished_at = $2 WHERE id = $3 AND result IS NULL",
      [recordJson(record), finishedAt, id],
    );
  }

  async getOnlineQuery(id: string): Promise<OnlineQuery | undefined> {
    const { rows } = await this.pool.query<OnlineQueryRow>("SELECT * FROM online_queries WHERE id = $1", [
      id,
    ]);
    return rows[0] && onlineQueryFromRow(rows[0]);
  }

  async unfinishedOnlineQueries(): Promise<OnlineQuery[]> {
    const { rows } = await this.pool.query<OnlineQueryRow>(
      "SELECT * FROM online_queries WHERE result IS NULL ORDER BY created_at, id",
    );
    return rows.map(onlineQueryFromRow);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
