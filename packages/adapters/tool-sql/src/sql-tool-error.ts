/**
 * What went wrong in a SQL tool call, so the runtime can record it in that query's result
 * (and decide whether a retry can help: `unreachable` and `timeout` may, the others will not;
 * `connection-lost` comes after the tool's own retries on fresh connections).
 */
export type SqlToolErrorCode =
  /** The SQL text could not be scanned (unterminated literal, positional `$1` parameter, …). */
  | "invalid-sql"
  /** The SQL uses a `:name` parameter the request does not provide. */
  | "missing-parameter"
  /** A parameter value does not fit its declared type, or the declared type is unknown. */
  | "invalid-parameter"
  /** The DuckDB file does not exist. */
  | "not-found"
  /** The database could not be opened or connected to. */
  | "unreachable"
  /** The connection (or the DuckDB database) was lost during the statement, on every attempt. */
  | "connection-lost"
  /** The statement ran longer than the statement timeout. */
  | "timeout"
  /** The caller aborted the call. */
  | "aborted"
  /** The tool was closed before or during the call. */
  | "closed"
  /** The database rejected or failed the statement. */
  | "query-failed";

/** An error of a SQL tool call; the message names the database and, when relevant, the parameter. */
export class SqlToolError extends Error {
  override readonly name = "SqlToolError";
  readonly code: SqlToolErrorCode;

  constructor(code: SqlToolErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The message of anything thrown, for wrapping driver errors into readable ones. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The error of a call its caller aborted. */
export function abortedError(description: string): SqlToolError {
  return new SqlToolError("aborted", `${description}: the query was aborted by the caller`);
}
