/**
 * The PostgreSQL SQL tool: a `pg` pool; every query runs in its own READ ONLY transaction
 * with a local statement timeout, through the extended protocol (one statement, bound values).
 */
import { performance } from "node:perf_hooks";
import type { JsonValue, SqlToolRequest, SqlToolResult, SqlToolV1 } from "@halo/ir";
import pg from "pg";
import type { CoercedParameter } from "./parameter-types.js";
import { postgresTextParser } from "./postgres-result-values.js";
import { raceAbort } from "./race-abort.js";
import { rowObjects } from "./result-values.js";
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
}

// One round trip opens the transaction and pins the settings the result parsers rely on.
const transactionSettings = (statementTimeoutMs: number): string =>
  "BEGIN READ ONLY; " +
  `SET LOCAL statement_timeout = ${statementTimeoutMs}; ` +
  "SET LOCAL DateStyle = 'ISO, MDY'; SET LOCAL IntervalStyle = 'postgres'; " +
  "SET LOCAL extra_float_digits = 1; SET LOCAL bytea_output = 'hex'";

const QUERY_CANCELED = "57014";

/**
 * `SqlToolV1` over PostgreSQL. `doCheck()` connects once and names `user@host:port/database`
 * (never the password) when the server cannot be reached within the connection timeout.
 */
export class PostgresSqlTool implements SqlToolV1 {
  readonly specificationVersion = "v1";
  readonly dialect = "postgres";
  /** `PostgreSQL user@host:port/database`: how errors name this database (no password). */
  readonly description: string;
  readonly #url: string;
  readonly #statementTimeoutMs: number;
  readonly #connectionTimeoutMs: number;
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
    this.#url = url;
    this.#statementTimeoutMs = statementTimeoutMs;
    this.#connectionTimeoutMs = connectionTimeoutMs;
    this.#pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: connectionTimeoutMs,
      idleTimeoutMillis: idleTimeoutMs,
      application_name: applicationName,
      allowExitOnIdle: true,
      types: {
        getTypeParser: ((oid: number) => postgresTextParser(oid)) as pg.CustomTypesConfig["getTypeParser"],
      },
    });
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    this.#pool.on("error", () => {});
  }

  async doCheck(): Promise<void> {
    const client = await this.#connect(undefined);
    try {
      await client.query("SELECT 1");
      client.release();
    } catch (error) {
      client.release(true);
      throw new SqlToolError("unreachable", `${this.description}: ${describeError(error)}`, { cause: error });
    }
  }

  async doQuery(
    request: SqlToolRequest,
    options?: { readonly signal?: AbortSignal },
  ): Promise<SqlToolResult> {
    const startMs = performance.now();
    const statement = buildPositionalStatement(request, "postgres");
    const signal = options?.signal;
    const client = await this.#connect(signal);
    const query: pg.QueryArrayConfig & { queryMode: "extended" } = {
      text: statement.sql,
      values: statement.parameters.map(toDriverValue),
      rowMode: "array",
      // Extended protocol even without parameters: it refuses several statements in one text.
      queryMode: "extended",
    };
    const run = async (): Promise<SqlToolResult> => {
      let result: pg.QueryArrayResult;
      try {
        await client.query(transactionSettings(this.#statementTimeoutMs));
        result = await client.query(query);
        await client.query("COMMIT");
      } catch (error) {
        const healthy = await client.query("ROLLBACK").then(
          () => true,
          () => false,
        );
        client.release(healthy ? undefined : true);
        throw this.#queryError(error, signal);
      }
      client.release();
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
      this.#cancelBackend((client as pg.PoolClient & { processID?: number }).processID);
      return abortedError(this.description);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  async #connect(signal: AbortSignal | undefined): Promise<pg.PoolClient> {
    if (this.#closed) throw new SqlToolError("closed", `${this.description}: the SQL tool is closed`);
    if (signal?.aborted) throw abortedError(this.description);
    try {
      return await this.#pool.connect();
    } catch (error) {
      // Refused is an answer that came at once: saying "within N ms" would send the user hunting a timeout.
      const refused = (error as { code?: unknown }).code === "ECONNREFUSED";
      throw new SqlToolError(
        "unreachable",
        refused
          ? `${this.description}: connection refused (${describeConnectError(error)})`
          : `${this.description}: cannot connect within ${this.#connectionTimeoutMs} ms: ${describeConnectError(error)}`,
        { cause: error },
      );
    }
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
    return new SqlToolError("query-failed", `${this.description}: ${describeError(error)}`, { cause: error });
  }

  /** Asks the server to cancel the statement of backend `processId`, on a separate connection. */
  #cancelBackend(processId: number | undefined): void {
    if (processId === undefined) return;
    const canceller = new pg.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: this.#connectionTimeoutMs,
    });
    canceller.on("error", () => {});
    canceller
      .connect()
      .then(() => canceller.query("SELECT pg_cancel_backend($1)", [processId]))
      .catch(() => undefined)
      .finally(() => canceller.end().catch(() => undefined));
  }
}

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
