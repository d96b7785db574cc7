/**
 * The PostgreSQL SQL tool: a `pg` pool; every query runs in its own READ ONLY transaction
 * with a local statement timeout, through the extended protocol (one statement, bound values).
 */
import { performance } from "node:perf_hooks";
import type { JsonValue, SqlToolOutcome, SqlToolRequest, SqlToolResult, SqlToolV1 } from "@halo/ir";
import pg from "pg";
import {
  type AttemptOutcome,
  type ConnectionRetryOptions,
  resolveConnectionRetry,
  withConnectionRetry,
} from "./connection-retry.js";
import type { CoercedParameter } from "./parameter-types.js";
import { postgresTextParser } from "./postgres-result-values.js";
import { raceAbort } from "./race-abort.js";
import { rowObjects } from "./result-values.js";
import { querySqlBatch } from "./sql-batch.js";
import { buildPositionalStatement } from "./sql-statement.js";
import { abortedError, describeError, SqlToolError } from "./sql-tool-error.js";

/** How to reach the server and how hard to use it. */
export interface PostgresSqlToolOptions {
  /** `postgres://user:password@host:port/database?…` (libpq URL; `?host=/socket/dir` works too). */
  readonly url: string;
  /** Connections in the pool (default 4). */
  readonly poolSize?: number;
  /** `statement_timeout` of every query (default 30 000 ms). */
  readonly statementTimeoutMs?: number;
  /** Giving up on connecting after this long (default 5 000 ms), so an unreachable server never hangs a run. */
  readonly connectionTimeoutMs?: number;
  /** Idle connections close after this long (default 10 000 ms). */
  readonly idleTimeoutMs?: number;
  /** `application_name` the server shows in `pg_stat_activity` (default `halo`). */
  readonly applicationName?: string;
  /** Retries of a statement whose connection was lost, on a fresh connection (default 3 attempts, 100 ms → 1 s). */
  readonly retry?: ConnectionRetryOptions;
}

// One round trip opens the transaction and pins the settings the result parsers rely on.
const transactionSettings = (statementTimeoutMs: number): string =>
  "BEGIN READ ONLY; " +
  `SET LOCAL statement_timeout = ${statementTimeoutMs}; ` +
  "SET LOCAL DateStyle = 'ISO, MDY'; SET LOCAL IntervalStyle = 'postgres'; " +
  "SET LOCAL extra_float_digits = 1; SET LOCAL bytea_output = 'hex'";

const QUERY_CANCELED = "57014";
/**
 * SQLSTATEs of a backend going away or not there yet: 57P01 admin_shutdown
 * (`pg_terminate_backend`, a fast shutdown), 57P02 crash_shutdown, 57P03 cannot_connect_now
 * (starting up, shutting down), 57P05 idle_session_timeout, and class 08 (connection exception).
 */
const CONNECTION_SQLSTATE = /^(57P0[1235]|08[0-9A-Z]{3})$/;
/** Socket errors of a connection that broke or could not be made. */
const CONNECTION_ERRNOS = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "ENOTCONN",
]);
/** What `pg` rejects a query with when the client-side read guard fires (`query_timeout`). */
const READ_TIMEOUT_MESSAGE = "Query read timeout";

/**
 * `SqlToolV1` over PostgreSQL. `doCheck()` connects once and names `user@host:port/database`
 * (never the password) when the server cannot be reached within the connection timeout.
 *
 * Faults: every pooled connection has an `'error'` listener from the moment it is made, so a
 * backend that goes away (terminated, server stopped) never becomes an unhandled error event.
 * A statement whose connection was lost is run again on a fresh connection (see `retry`);
 * broken connections leave the pool, so it recovers by itself when the server is back.
 */
export class PostgresSqlTool implements SqlToolV1 {
  readonly specificationVersion = "v1";
  readonly dialect = "postgres";
  /** `PostgreSQL user@host:port/database`: how errors name this database (no password). */
  readonly description: string;
  readonly #url: string;
  readonly #statementTimeoutMs: number;
  readonly #connectionTimeoutMs: number;
  readonly #readTimeoutMs: number;
  readonly #retry: Required<ConnectionRetryOptions>;
  readonly #pool: pg.Pool;
  #closed = false;

  constructor(options: PostgresSqlToolOptions) {
    const {
      url,
      poolSize = 4,
      statementTimeoutMs = 30_000,
      connectionTimeoutMs = 5_000,
      idleTimeoutMs = 10_000,
      applicationName = "halo",
    } = options;
    this.description = `PostgreSQL ${describePostgresUrl(url)}`;
    for (const [name, value] of Object.entries({
      poolSize,
      statementTimeoutMs,
      connectionTimeoutMs,
      idleTimeoutMs,
    })) {
      if (!Number.isInteger(value) || value <= 0) {
        throw new Error(
          `PostgresSqlTool (${this.description}): ${name} must be a positive integer, got ${value}`,
        );
      }
    }
    this.#retry = resolveConnectionRetry(options.retry, `PostgresSqlTool (${this.description})`);
    this.#url = url;
    this.#statementTimeoutMs = statementTimeoutMs;
    this.#connectionTimeoutMs = connectionTimeoutMs;
    // The server ends a statement at statement_timeout; this client-side guard only catches a
    // server that stopped answering altogether (frozen, or a dead peer that sent no reset).
    this.#readTimeoutMs = statementTimeoutMs + connectionTimeoutMs;
    this.#pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: connectionTimeoutMs,
      idleTimeoutMillis: idleTimeoutMs,
      query_timeout: this.#readTimeoutMs,
      keepAlive: true,
      application_name: applicationName,
      allowExitOnIdle: true,
      types: {
        getTypeParser: ((oid: number) => postgresTextParser(oid)) as pg.CustomTypesConfig["getTypeParser"],
      },
    });
    // An idle connection dropped by the server: the pool has already discarded it.
    this.#pool.on("error", ignoreConnectionError);
    // pg-pool listens to a client's errors only while it sits idle; a checked-out client whose
    // backend goes away emits 'error' itself, which would end the process without a listener.
    // Its statement fails through its own promise, and the broken client is discarded on release.
    this.#pool.on("connect", (client) => {
      client.on("error", ignoreConnectionError);
    });
  }

  async doCheck(): Promise<void> {
    if (this.#closed) throw this.#closedError();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw this.#connectError(error);
    }
    try {
      await client.query("SELECT 1");
      client.release();
    } catch (error) {
      client.release(true);
      throw new SqlToolError("unreachable", `${this.description}: ${describeError(error)}`, { cause: error });
    }
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
    const statement = buildPositionalStatement(request, "postgres");
    const signal = options?.signal;
    const query: pg.QueryArrayConfig & { queryMode: "extended" } = {
      text: statement.sql,
      values: statement.parameters.map(toDriverValue),
      rowMode: "array",
      // Extended protocol even without parameters: it refuses several statements in one text.
      queryMode: "extended",
    };
    // The connection of the current attempt, whose statement an abort cancels.
    let current: pg.PoolClient | undefined;
    const run = async (): Promise<SqlToolResult> => {
      const result = await withConnectionRetry(
        () =>
          this.#attempt(query, signal, (client) => {
            current = client;
          }),
        { retry: this.#retry, description: this.description, signal, isClosed: () => this.#closed },
      );
      const rows = result.rows as JsonValue[][];
      return {
        rows: rowObjects(
          result.fields.map((field) => field.name),
          rows,
        ),
        rowCount: rows.length,
        elapsedMs: performance.now() - startMs,
      };
    };
    return raceAbort(run(), signal, () => {
      // `processID` is set by pg's Client from the server's BackendKeyData but missing from its types.
      this.#cancelBackend((current as (pg.PoolClient & { processID?: number }) | undefined)?.processID);
      return abortedError(this.description);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  /** One try of a statement on a pooled connection; says whether a fresh connection may succeed. */
  async #attempt(
    query: pg.QueryArrayConfig,
    signal: AbortSignal | undefined,
    onClient: (client: pg.PoolClient) => void,
  ): Promise<AttemptOutcome<pg.QueryArrayResult>> {
    if (this.#closed) return { ok: false, error: this.#closedError(), retryable: false };
    if (signal?.aborted) return { ok: false, error: abortedError(this.description), retryable: false };
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      // Refused or cut off while connecting (server down, starting, stopping) fails fast: worth
      // another try. A connection timeout already waited its full bound: not retried here.
      return {
        ok: false,
        error: this.#connectError(error),
        retryable: isConnectionFailure(error) && !isConnectTimeout(error),
      };
    }
    onClient(client);
    try {
      await client.query(transactionSettings(this.#statementTimeoutMs));
      const result = await client.query(query);
      await client.query("COMMIT");
      client.release();
      return { ok: true, value: result };
    } catch (error) {
      const lost = isConnectionFailure(error);
      // A lost or unanswering connection is not reused (nor asked to roll back: it would wait again).
      const healthy =
        !lost &&
        !isReadTimeout(error) &&
        (await client.query("ROLLBACK").then(
          () => true,
          () => false,
        ));
      client.release(healthy ? undefined : true);
      if (lost) {
        return {
          ok: false,
          error: new SqlToolError(
            "connection-lost",
            `${this.description}: the connection was lost during the statement: ${describeError(error)}`,
            { cause: error },
          ),
          retryable: true,
        };
      }
      return { ok: false, error: this.#queryError(error, signal), retryable: false };
    }
  }

  #connectError(error: unknown): SqlToolError {
    const reason = isConnectTimeout(error)
      ? `cannot connect within ${this.#connectionTimeoutMs} ms`
      : `cannot connect: ${describeConnectError(error)}`;
    return new SqlToolError("unreachable", `${this.description}: ${reason}`, { cause: error });
  }

  #closedError(): SqlToolError {
    return new SqlToolError("closed", `${this.description}: the SQL tool is closed`);
  }

  #queryError(error: unknown, signal: AbortSignal | undefined): SqlToolError {
    const code = (error as { code?: unknown }).code;
    if (code === QUERY_CANCELED && signal?.aborted) return abortedError(this.description);
    if (code === QUERY_CANCELED) {
      return new SqlToolError(
        "timeout",
        `${this.description}: the statement ran longer than the statement timeout of ${this.#statementTimeoutMs} ms`,
        { cause: error },
      );
    }
    if (isReadTimeout(error)) {
      return new SqlToolError(
        "timeout",
        `${this.description}: the server did not answer within ${this.#readTimeoutMs} ms`,
        { cause: error },
      );
    }
    return new SqlToolError("query-failed", `${this.description}: ${describeError(error)}`, { cause: error });
  }

  /** Asks the server to cancel the statement of backend `processId`, on a separate connection. */
  #cancelBackend(processId: number | undefined): void {
    if (processId === undefined) return;
    const canceller = new pg.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: this.#connectionTimeoutMs,
    });
    canceller.on("error", ignoreConnectionError);
    canceller
      .connect()
      .then(() => canceller.query("SELECT pg_cancel_backend($1)", [processId]))
      .catch(() => undefined)
      .finally(() => canceller.end().catch(() => undefined));
  }
}

/** Whether `error` says the connection broke or could not be made (as opposed to the statement failing). */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof AggregateError) return error.errors.some(isConnectionFailure);
  if (typeof error !== "object" || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === "string" && (CONNECTION_SQLSTATE.test(code) || CONNECTION_ERRNOS.has(code)))
    return true;
  // pg's own wording for a socket that ended, or a client that already saw its connection fail.
  return (
    typeof message === "string" &&
    (message.startsWith("Connection terminated") || message.includes("is not queryable"))
  );
}

/** pg-pool's error when connecting took longer than `connectionTimeoutMillis`. */
function isConnectTimeout(error: unknown): boolean {
  return error instanceof Error && error.message.includes("connection timeout");
}

function isReadTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === READ_TIMEOUT_MESSAGE;
}

function ignoreConnectionError(): void {}

/** `user@host:port/database` of a PostgreSQL URL, without the password. */
export function describePostgresUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(
      "PostgresSqlTool: the url is not a valid postgres:// URL (not shown: it may hold a password)",
    );
  }
  const host = parsed.searchParams.get("host") ?? (parsed.hostname || "localhost");
  const port = parsed.searchParams.get("port") ?? (parsed.port || "5432");
  const user = decodeURIComponent(parsed.username) || parsed.searchParams.get("user") || "(default user)";
  const database = decodeURIComponent(parsed.pathname.slice(1)) || parsed.searchParams.get("dbname") || user;
  return `${user}@${host}:${port}/${database}`;
}

/** The value `pg` sends for `$n`; declared ones go as text the SQL casts, undeclared objects as JSON. */
function toDriverValue(parameter: CoercedParameter): unknown {
  const { value } = parameter;
  if (value === null) return null;
  if (typeof value === "bigint") return value.toString();
  if (parameter.type === undefined && typeof value === "object" && !Array.isArray(value)) {
    return JSON.stringify(value);
  }
  return value;
}

function describeConnectError(error: unknown): string {
  const message = describeError(error);
  const code = (error as { code?: unknown }).code;
  // Node's connection errors can have an empty message (AggregateError of IPv4/IPv6 attempts).
  return message.length > 0 ? message : typeof code === "string" ? code : "connection failed";
}
