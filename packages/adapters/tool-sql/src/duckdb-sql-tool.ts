/**
 * The default SQL tool: DuckDB in process (`@duckdb/node-api`), over a database file
 * (read-only unless asked otherwise) or an in-memory database.
 */
import { stat } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  INTEGER,
  LIST,
  VARCHAR,
} from "@duckdb/node-api";
import type { JsonValue, SqlToolOutcome, SqlToolRequest, SqlToolResult, SqlToolV1 } from "@halo/ir";
import { ConnectionPool } from "./connection-pool.js";
import {
  type AttemptOutcome,
  type ConnectionRetryOptions,
  resolveConnectionRetry,
  withConnectionRetry,
} from "./connection-retry.js";
import { duckDbValueToJson } from "./duckdb-result-values.js";
import { parseNamedParameters } from "./named-parameters.js";
import type { CoercedParameter } from "./parameter-types.js";
import { raceAbort } from "./race-abort.js";
import { rowObjects } from "./result-values.js";
import { querySqlBatch } from "./sql-batch.js";
import { buildPositionalStatement, type PositionalStatement } from "./sql-statement.js";
import { abortedError, describeError, SqlToolError } from "./sql-tool-error.js";

/** Where and how to open the DuckDB database. */
export interface DuckDbSqlToolOptions {
  /** A DuckDB database file (must exist), or `:memory:` for an empty in-memory database. */
  readonly path: string;
  /** Open the file read-only (default `true`); an in-memory database is always writable. */
  readonly readOnly?: boolean;
  /** DuckDB worker threads for the database (default: DuckDB's own, the number of cores). */
  readonly threads?: number;
  /** Connections running queries concurrently (default 4). */
  readonly maxConnections?: number;
  /** A statement running longer is interrupted with a `timeout` error (default 30 000 ms). */
  readonly statementTimeoutMs?: number;
  /** Retries of a statement whose database became unusable, on the reopened database (default 3 attempts, 100 ms → 1 s). */
  readonly retry?: ConnectionRetryOptions;
}

const MEMORY_PATH = ":memory:";
/** Prepared statements kept per connection (least recently used dropped first). */
const PREPARED_CACHE_SIZE = 64;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** An opened database: its instance and the pool of connections to it. */
interface OpenDatabase {
  readonly instance: DuckDBInstance;
  readonly pool: ConnectionPool<DuckDBConnection>;
}

/** How much a failed statement broke: nothing, its connection, or the whole opened database. */
type FailureScope = "statement" | "connection" | "database";

/**
 * `SqlToolV1` over DuckDB. The database opens on first use (`doCheck()` opens it eagerly and
 * reports a missing file by its path); queries run on a small pool of connections.
 *
 * Faults: a statement that finds the database unusable (an I/O error on a file overwritten or
 * truncated under it, a database DuckDB invalidated, a closed instance) fails alone; the
 * database is closed and reopened for the next attempt (see `retry`). A connection whose
 * statement was interrupted, or that stopped working, is replaced, and its prepared
 * statements go with it.
 */
export class DuckDbSqlTool implements SqlToolV1 {
  readonly specificationVersion = "v1";
  readonly dialect = "duckdb";
  /** `DuckDB <path>`: how errors name this database. */
  readonly description: string;
  readonly #options: Required<Omit<DuckDbSqlToolOptions, "threads" | "retry">> & {
    readonly threads?: number;
  };
  readonly #retry: Required<ConnectionRetryOptions>;
  #database: Promise<OpenDatabase> | undefined;
  readonly #running = new Set<Promise<unknown>>();
  /**
   * Prepared statements by SQL text, per connection: a workflow runs the same few
   * statements thousands of times, and preparing one costs as much as running it.
   */
  readonly #prepared = new WeakMap<DuckDBConnection, Map<string, DuckDBPreparedStatement>>();
  #closed = false;

  constructor(options: DuckDbSqlToolOptions) {
    const { path, readOnly = true, maxConnections = 4, statementTimeoutMs = 30_000, threads } = options;
    if (path.trim().length === 0) throw new Error("DuckDbSqlTool: path must be a file path or ':memory:'");
    requirePositiveInteger("maxConnections", maxConnections);
    requirePositiveInteger("statementTimeoutMs", statementTimeoutMs);
    if (threads !== undefined) requirePositiveInteger("threads", threads);
    this.#options = { path, readOnly, maxConnections, statementTimeoutMs, ...(threads ? { threads } : {}) };
    this.#retry = resolveConnectionRetry(options.retry, "DuckDbSqlTool");
    this.description = `DuckDB ${path}`;
  }

  async doCheck(): Promise<void> {
    await this.#withConnection(undefined, async (connection) => {
      await connection.run("SELECT 1");
    });
  }

  /** Calls of one statement as one query over their parameters where it can (`sql-batch.ts`), else one by one. */
  doQueryBatch(
    requests: readonly SqlToolRequest[],
    options?: { readonly signal?: AbortSignal },
  ): Promise<SqlToolOutcome[]> {
    return querySqlBatch(this, requests, options);
  }

  async doQuery(
    request: SqlToolRequest,
    options?: { readonly signal?: AbortSignal },
  ): Promise<SqlToolResult> {
    const startMs = performance.now();
    const statement = buildPositionalStatement(request, "duckdb");
    const signal = options?.signal;
    const work = withConnectionRetry(
      async (): Promise<AttemptOutcome<SqlToolResult>> => {
        try {
          const value = await this.#withConnection(signal, (connection) =>
            this.#runStatement(connection, statement, signal, startMs),
          );
          return { ok: true, value };
        } catch (error) {
          const failure = error as SqlToolError;
          return { ok: false, error: failure, retryable: failure.code === "connection-lost" };
        }
      },
      { retry: this.#retry, description: this.description, signal, isClosed: () => this.#closed },
    );
    // The statement is interrupted on abort too; the connection returns to the pool once it has stopped.
    return raceAbort(work, signal, () => abortedError(this.description));
  }

  /**
   * Prepares a statement without running it (parse, bind, plan against the
   * database's schema), so a statement DuckDB cannot run — a PostgreSQL-only
   * function or operator, a missing table — is found before any work starts.
   * Throws `SqlToolError` (`query-failed`, with DuckDB's message) otherwise.
   */
  async doPrepare(request: Pick<SqlToolRequest, "sql" | "parameterTypes">): Promise<void> {
    const names = parseNamedParameters(request.sql).parameterNames;
    const statement = buildPositionalStatement(
      { ...request, parameters: Object.fromEntries(names.map((name) => [name, null])) },
      "duckdb",
    );
    await this.#withConnection(undefined, async (connection) => {
      let prepared: DuckDBPreparedStatement;
      try {
        prepared = await connection.prepare(statement.sql);
      } catch (error) {
        throw new SqlToolError("query-failed", `${this.description}: ${describeError(error)}`, {
          cause: error,
        });
      }
      prepared.destroySync();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const database = await this.#database?.catch(() => undefined);
    database?.pool.close();
    // Queries in flight finish (or fail) before the database goes away under them.
    await Promise.allSettled([...this.#running]);
    await database?.pool.drained();
    database?.instance.closeSync();
  }

  async #runStatement(
    connection: DuckDBConnection,
    statement: PositionalStatement,
    signal: AbortSignal | undefined,
    startMs: number,
  ): Promise<SqlToolResult> {
    const prepared = await this.#prepare(connection, statement.sql);
    try {
      statement.parameters.forEach((parameter, index) => {
        bindParameter(prepared, index + 1, parameter);
      });
      const reader = await this.#interruptible(connection, signal, () => prepared.runAndReadAll());
      const types = reader.columnTypes();
      const rows = reader
        .getRows()
        .map((row) => row.map((value, index) => duckDbValueToJson(value, types[index]!)));
      return {
        rows: rowObjects(reader.columnNames(), rows),
        rowCount: rows.length,
        elapsedMs: performance.now() - startMs,
      };
    } catch (error) {
      // A statement that failed (bad binding, interrupted) is not reused.
      const cache = this.#prepared.get(connection);
      if (cache?.get(statement.sql) === prepared) {
        cache.delete(statement.sql);
        prepared.destroySync();
      }
      throw error;
    }
  }

  /** The connection's prepared statement of `sql`, prepared now if it has none. */
  async #prepare(connection: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
    let cache = this.#prepared.get(connection);
    if (!cache) {
      cache = new Map();
      this.#prepared.set(connection, cache);
    }
    const cached = cache.get(sql);
    if (cached) {
      // Most recently used last.
      cache.delete(sql);
      cache.set(sql, cached);
      return cached;
    }
    let prepared: DuckDBPreparedStatement;
    try {
      prepared = await connection.prepare(sql);
    } catch (error) {
      throw new SqlToolError("query-failed", `${this.description}: ${describeError(error)}`, {
        cause: error,
      });
    }
    cache.set(sql, prepared);
    if (cache.size > PREPARED_CACHE_SIZE) {
      const [oldestSql, oldest] = cache.entries().next().value!;
      cache.delete(oldestSql);
      oldest.destroySync();
    }
    return prepared;
  }

  /**
   * Runs `work` on a pooled connection, opening the database first if needed. A failure that
   * broke the connection or the database replaces it (the next call reopens), and comes out
   * as a `connection-lost` error naming the cause.
   */
  async #withConnection<T>(
    signal: AbortSignal | undefined,
    work: (connection: DuckDBConnection) => Promise<T>,
  ): Promise<T> {
    if (this.#closed) throw new SqlToolError("closed", `${this.description}: the SQL tool is closed`);
    if (signal?.aborted) throw abortedError(this.description);
    // Tracked from the start, so close() waits for calls that are still opening or acquiring.
    const running = (async () => {
      const opening = this.#openDatabase();
      const database = await opening;
      let connection: DuckDBConnection;
      try {
        connection = await database.pool.acquire(signal);
      } catch (error) {
        if (error instanceof SqlToolError) throw error;
        // The database would not give a new connection (closed, invalidated): reopen it.
        this.#discardDatabase(opening, database);
        throw new SqlToolError(
          "connection-lost",
          `${this.description}: cannot make a connection; the database is reopened: ${describeError(error)}`,
          { cause: error },
        );
      }
      let scope: FailureScope | undefined;
      try {
        return await work(connection);
      } catch (error) {
        scope = failureScope(error);
        if (error instanceof InterruptedError) throw error.reported;
        throw this.#scopedError(error, scope);
      } finally {
        if (scope === undefined || scope === "statement") database.pool.release(connection);
        else database.pool.discard(connection);
        if (scope === "database") this.#discardDatabase(opening, database);
      }
    })();
    this.#running.add(running);
    try {
      return await running;
    } finally {
      this.#running.delete(running);
    }
  }

  /** The error a failed statement reports: `connection-lost` when it broke its connection or the database. */
  #scopedError(error: unknown, scope: FailureScope): unknown {
    if (scope === "statement") return error;
    const cause = error instanceof SqlToolError && error.cause !== undefined ? error.cause : error;
    const what =
      scope === "database"
        ? "the database became unusable during the statement; it is reopened for the next one"
        : "the connection became unusable during the statement; a new one is made for the next one";
    return new SqlToolError("connection-lost", `${this.description}: ${what}: ${describeError(cause)}`, {
      cause,
    });
  }

  /**
   * Closes an opened database that became unusable, so the next call opens the file afresh.
   * Only once: statements failing together on it find it already discarded.
   */
  #discardDatabase(opening: Promise<OpenDatabase>, database: OpenDatabase): void {
    if (this.#database !== opening) return;
    this.#database = undefined;
    // Callers still waiting for (or about to ask) its connections try again on the reopened database.
    database.pool.close(
      new SqlToolError("connection-lost", `${this.description}: the database was reopened meanwhile`),
    );
    // Closing a DuckDB instance while a statement runs on one of its connections crashes the
    // process (seen: segfaults), so it closes once its last connection is gone.
    void database.pool.drained().then(() => database.instance.closeSync());
  }

  /** Runs `query`, interrupting it on abort or after the statement timeout, with errors naming which. */
  async #interruptible<T>(
    connection: DuckDBConnection,
    signal: AbortSignal | undefined,
    query: () => Promise<T>,
  ): Promise<T> {
    // The signal may have fired while the connection was being made or the statement prepared.
    if (signal?.aborted) throw abortedError(this.description);
    let interruptedBy: "timeout" | "aborted" | undefined;
    const interrupt = (reason: "timeout" | "aborted"): void => {
      interruptedBy ??= reason;
      connection.interrupt();
    };
    const onAbort = (): void => interrupt("aborted");
    const timer = setTimeout(() => interrupt("timeout"), this.#options.statementTimeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await query();
    } catch (error) {
      if (interruptedBy === "aborted") throw new InterruptedError(abortedError(this.description));
      if (interruptedBy === "timeout") {
        throw new InterruptedError(
          new SqlToolError(
            "timeout",
            `${this.description}: the statement ran longer than the statement timeout of ` +
              `${this.#options.statementTimeoutMs} ms and was interrupted`,
            { cause: error },
          ),
        );
      }
      throw new SqlToolError("query-failed", `${this.description}: ${describeError(error)}`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  #openDatabase(): Promise<OpenDatabase> {
    this.#database ??= this.#open().catch((error: unknown) => {
      this.#database = undefined;
      throw error;
    });
    return this.#database;
  }

  async #open(): Promise<OpenDatabase> {
    const instance = await this.#openInstance();
    const pool = new ConnectionPool<DuckDBConnection>({
      maxSize: this.#options.maxConnections,
      create: () => instance.connect(),
      // A connection's prepared statements die with it.
      destroy: (connection) => {
        for (const prepared of this.#prepared.get(connection)?.values() ?? []) prepared.destroySync();
        this.#prepared.delete(connection);
        connection.closeSync();
      },
      description: this.description,
    });
    return { instance, pool };
  }

  async #openInstance(): Promise<DuckDBInstance> {
    const { path, readOnly, threads } = this.#options;
    const inMemory = path === MEMORY_PATH;
    if (!inMemory) {
      // Checked here so a typo fails clearly instead of DuckDB creating an empty database.
      const file = await stat(path).catch(() => undefined);
      if (file === undefined) {
        throw new SqlToolError("not-found", `${this.description}: the database file does not exist`);
      }
      if (!file.isFile()) throw new SqlToolError("not-found", `${this.description}: not a file`);
    }
    const settings: Record<string, string> = {};
    if (!inMemory) settings["access_mode"] = readOnly ? "READ_ONLY" : "READ_WRITE";
    if (threads !== undefined) settings["threads"] = String(threads);
    try {
      return await DuckDBInstance.create(path, settings);
    } catch (error) {
      throw new SqlToolError(
        "unreachable",
        `${this.description}: cannot open the database: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
  }
}

/**
 * A statement interrupted by its timeout or its caller: the error to report, and a mark
 * that its connection is replaced rather than reused (an interrupt may land after the
 * statement ended and hit the connection's next one).
 */
class InterruptedError extends Error {
  constructor(readonly reported: SqlToolError) {
    super(reported.message);
  }
}

/**
 * DuckDB's words for a failure beyond the statement: the database file failing under it
 * (`IO Error`), a database DuckDB invalidated after a fatal or internal error, a closed instance.
 */
const DATABASE_FAILURE = /^(IO|FATAL|INTERNAL) Error|has been invalidated|instance closed/;
/** A connection that was closed under its statement. */
const CONNECTION_FAILURE = /connection disconnected|connection closed|^Failed to execute prepared statement$/;

/** How much a failed statement broke, from the driver's error. */
function failureScope(error: unknown): FailureScope {
  if (error instanceof InterruptedError) return "connection";
  const cause = error instanceof SqlToolError && error.cause !== undefined ? error.cause : error;
  if (error instanceof SqlToolError && error.code !== "query-failed") return "statement";
  const message = describeError(cause);
  if (DATABASE_FAILURE.test(message)) return "database";
  if (CONNECTION_FAILURE.test(message)) return "connection";
  return "statement";
}

/** Binds one coerced parameter; the SQL casts declared ones, so text binds are parsed by DuckDB itself. */
function bindParameter(
  statement: DuckDBPreparedStatement,
  position: number,
  parameter: CoercedParameter,
): void {
  const { value } = parameter;
  if (value === null) {
    statement.bindNull(position);
    return;
  }
  switch (parameter.type) {
    case "integer":
    case "bigint":
      statement.bindValue(position, parameter.value as bigint, BIGINT);
      return;
    case "double":
      statement.bindValue(position, parameter.value as number, DOUBLE);
      return;
    case "boolean":
      statement.bindValue(position, parameter.value as boolean, BOOLEAN);
      return;
    case "numeric":
    case "text":
    case "date":
    case "timestamp":
    case "json":
      statement.bindValue(position, parameter.value as string, VARCHAR);
      return;
    case undefined:
      bindUndeclared(statement, position, parameter.value);
      return;
  }
}

/** An undeclared parameter binds by its JSON type; arrays of one scalar type become lists, objects JSON text. */
function bindUndeclared(statement: DuckDBPreparedStatement, position: number, value: JsonValue): void {
  if (value === null) statement.bindNull(position);
  else if (typeof value === "boolean") statement.bindValue(position, value, BOOLEAN);
  else if (typeof value === "number") {
    if (Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) {
      statement.bindValue(position, value, INTEGER);
    } else if (Number.isSafeInteger(value)) statement.bindValue(position, BigInt(value), BIGINT);
    else statement.bindValue(position, value, DOUBLE);
  } else if (typeof value === "string") statement.bindValue(position, value, VARCHAR);
  else if (Array.isArray(value)) {
    const items = value.filter((item) => item !== null);
    if (items.every((item) => typeof item === "string")) {
      statement.bindList(position, value as (string | null)[], LIST(VARCHAR));
    } else if (items.every((item) => typeof item === "boolean")) {
      statement.bindList(position, value as (boolean | null)[], LIST(BOOLEAN));
    } else if (items.every((item) => Number.isSafeInteger(item))) {
      const integers = value.map((item) => (item === null ? null : BigInt(item as number)));
      statement.bindList(position, integers, LIST(BIGINT));
    } else if (items.every((item) => typeof item === "number")) {
      statement.bindList(position, value as (number | null)[], LIST(DOUBLE));
    } else statement.bindValue(position, JSON.stringify(value), VARCHAR);
  } else statement.bindValue(position, JSON.stringify(value), VARCHAR);
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`DuckDbSqlTool: ${name} must be a positive integer, got ${value}`);
  }
}
