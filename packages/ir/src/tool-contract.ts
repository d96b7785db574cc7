/**
 * Contracts of tool backends (SQL, HTTP). Adapters in `packages/adapters/tool-*`
 * implement them; the runtime calls them with requests rendered by the IR.
 * Versioned like every pluggable backend (`specificationVersion`).
 */
import type { HttpLatency, JsonValue } from "./types.js";

/** A SQL statement with `:name` parameters to bind (never spliced into the text). */
export interface SqlToolRequest {
  readonly sql: string;
  readonly parameters: Readonly<Record<string, JsonValue>>;
  /** Declared types (`int`, `numeric`, `text`, `date`, …) used to coerce parameter values. */
  readonly parameterTypes: Readonly<Record<string, string>>;
}

export interface SqlToolResult {
  /** Rows as JSON objects: BigInt → number (or string beyond 2^53), dates → ISO strings. */
  readonly rows: readonly Readonly<Record<string, JsonValue>>[];
  readonly rowCount: number;
  readonly elapsedMs: number;
}

/** One call's outcome in a batch: its result, or the error the call alone would throw. */
export type SqlToolOutcome =
  | { readonly ok: true; readonly result: SqlToolResult }
  | { readonly ok: false; readonly error: unknown };

export interface SqlToolV1 {
  readonly specificationVersion: "v1";
  readonly dialect: "duckdb" | "postgres";
  /** Connects and checks the database is reachable; throws an error naming the database otherwise. */
  doCheck(): Promise<void>;
  doQuery(request: SqlToolRequest, options?: { readonly signal?: AbortSignal }): Promise<SqlToolResult>;
  /**
   * Optional: runs calls of one statement together (e.g. as one query over a table of their
   * parameters). One outcome per request, in order, each exactly what `doQuery` alone returns or
   * throws. A tool without it is called once per request.
   */
  doQueryBatch?(
    requests: readonly SqlToolRequest[],
    options?: { readonly signal?: AbortSignal },
  ): Promise<readonly SqlToolOutcome[]>;
  close(): Promise<void>;
}

export interface HttpToolRequest {
  readonly url: string;
  readonly method: string;
  readonly params: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly latency: HttpLatency;
  /** Seeds the Gamma padding of `padded` latency so reruns wait the same. */
  readonly seed?: string;
}

export interface HttpToolResult {
  readonly status: number;
  /** Parsed JSON object; `sleep` mode returns a small object describing the skipped call. */
  readonly body: JsonValue;
  /** Wall time of the call including padding or sleep. */
  readonly elapsedMs: number;
}

export interface HttpToolV1 {
  readonly specificationVersion: "v1";
  doCall(request: HttpToolRequest, options?: { readonly signal?: AbortSignal }): Promise<HttpToolResult>;
  close(): Promise<void>;
}
