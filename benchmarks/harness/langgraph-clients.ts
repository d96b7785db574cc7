/**
 * The clients the `langgraph` peer's nodes call, as a LangGraph user would
 * wire them: `ChatOpenAI` against each model's OpenAI-compatible endpoints
 * (a request goes to the endpoint of its model with the fewest requests in
 * flight), DuckDB through `@duckdb/node-api` or PostgreSQL through `pg` with a
 * small connection pool, and the data API through `fetch`. SQL rows are
 * converted to JSON as `@halo/tool-sql` converts them, and padded HTTP calls
 * wait the same seeded latency as `@halo/tool-http`'s, so that prompts — and
 * with greedy decoding outputs — are the same as in every other system.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  VARCHAR,
} from "@duckdb/node-api";
import type { JsonValue, LlmOperator, OperatorRequest } from "@halo/ir";
import { createSeededRandom, samplePaddedLatencyMs } from "@halo/tool-http";
import {
  buildPositionalStatement,
  type CoercedParameter,
  duckDbValueToJson,
  postgresTextParser,
  rowObjects,
} from "@halo/tool-sql/internal";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import pg from "pg";
import type { ChatRequest, ChatUsage, LanggraphCalls } from "./langgraph-translator.js";

/** Where each model is served: the OpenAI base URLs (`http://host:port/v1`) of the executors serving it. */
export type ModelEndpoints = ReadonlyMap<string, readonly string[]>;

/** Options of the chat client. */
export interface ChatClientOptions {
  readonly endpoints: ModelEndpoints;
  /** Longest wait for one completion (default 30 minutes: a call may queue behind a whole batch). */
  readonly timeoutMs?: number;
  /** Retries of a failed request (ChatOpenAI's own, default 2). */
  readonly maxRetries?: number;
  /** Per base URL, when its server is ready (its models loaded): requests wait for it. */
  readonly ready?: ReadonlyMap<string, Promise<void>>;
}

interface Endpoint {
  readonly baseUrl: string;
  inFlight: number;
  /** Requests sent so far. */
  sent: number;
  /** One ChatOpenAI per operator: its sampling and length settings are the operator's. */
  readonly models: Map<string, ChatOpenAI>;
}

/** `LanggraphCalls.chat` over ChatOpenAI instances, one per operator and endpoint. */
export class ChatClient {
  readonly #endpoints = new Map<string, Endpoint[]>();
  readonly #options: ChatClientOptions;

  constructor(options: ChatClientOptions) {
    this.#options = options;
    for (const [model, urls] of options.endpoints) {
      this.#endpoints.set(
        model,
        urls.map((baseUrl) => ({ baseUrl, inFlight: 0, sent: 0, models: new Map() })),
      );
    }
  }

  /** One chat completion on the least busy endpoint of the request's model. */
  async chat(request: ChatRequest, operator: LlmOperator): Promise<{ text: string; usage?: ChatUsage }> {
    const candidates = this.#endpoints.get(request.model);
    if (!candidates || candidates.length === 0) throw new Error(`no endpoint serves ${request.model}`);
    let endpoint = candidates[0]!;
    for (const candidate of candidates) if (candidate.inFlight < endpoint.inFlight) endpoint = candidate;
    let model = endpoint.models.get(operator.id);
    if (!model) {
      model = new ChatOpenAI({
        model: request.model,
        temperature: request.temperature,
        topP: request.topP,
        maxTokens: request.maxTokens,
        apiKey: "unused",
        maxRetries: this.#options.maxRetries ?? 2,
        timeout: this.#options.timeoutMs ?? 1_800_000,
        configuration: { baseURL: endpoint.baseUrl },
      });
      endpoint.models.set(operator.id, model);
    }
    endpoint.inFlight += 1;
    endpoint.sent += 1;
    try {
      await this.#options.ready?.get(endpoint.baseUrl);
      const message = await model.invoke(
        [new SystemMessage(request.system), new HumanMessage(request.user)],
        {
          seed: request.seed,
          // `json_object` with the schema beside it (llama-server's and vLLM's form; the executor's
          // endpoint enforces it as a grammar). With `json_schema` ChatOpenAI would parse the reply
          // itself and throw when the model stops at max_tokens ("length limit was reached"); the
          // other systems take the text as it is, and `parseLlmOutput` reads it the same way here.
          ...(request.jsonSchema
            ? {
                response_format: { type: "json_object", schema: request.jsonSchema } as {
                  type: "json_object";
                },
              }
            : {}),
        },
      );
      const text = typeof message.content === "string" ? message.content : JSON.stringify(message.content);
      const usage = message.usage_metadata;
      return {
        text,
        ...(usage
          ? {
              usage: {
                promptTokens: usage.input_tokens,
                cachedPromptTokens: usage.input_token_details?.cache_read ?? 0,
                completionTokens: usage.output_tokens,
              },
            }
          : {}),
      };
    } finally {
      endpoint.inFlight -= 1;
    }
  }

  /** Requests sent to one base URL so far. */
  requestsTo(baseUrl: string): number {
    let sent = 0;
    for (const endpoints of this.#endpoints.values())
      for (const endpoint of endpoints) if (endpoint.baseUrl === baseUrl) sent += endpoint.sent;
    return sent;
  }
}

type SqlRequest = Extract<OperatorRequest, { kind: "sql" }>;
type HttpRequest = Extract<OperatorRequest, { kind: "http" }>;

/** A SQL client of the peer: DuckDB file (read-only) or PostgreSQL URL. */
export interface PeerSqlClient {
  query(request: SqlRequest): Promise<JsonValue>;
  close(): Promise<void>;
}

/** DuckDB through `@duckdb/node-api`: a few connections, statements prepared once per connection. */
export class DuckDbPeerClient implements PeerSqlClient {
  readonly #instance: Promise<DuckDBInstance>;
  readonly #idle: DuckDBConnection[] = [];
  readonly #waiting: ((connection: DuckDBConnection) => void)[] = [];
  readonly #prepared = new WeakMap<DuckDBConnection, Map<string, DuckDBPreparedStatement>>();
  #opened = 0;

  constructor(
    path: string,
    private readonly connections: number,
  ) {
    this.#instance = DuckDBInstance.create(path, { access_mode: "READ_ONLY" });
  }

  async query(request: SqlRequest): Promise<JsonValue> {
    const statement = buildPositionalStatement(request, "duckdb");
    const connection = await this.#acquire();
    try {
      let cache = this.#prepared.get(connection);
      if (!cache) {
        cache = new Map();
        this.#prepared.set(connection, cache);
      }
      let prepared = cache.get(statement.sql);
      if (!prepared) {
        prepared = await connection.prepare(statement.sql);
        cache.set(statement.sql, prepared);
      }
      statement.parameters.forEach((parameter, index) => {
        bindDuckDb(prepared!, index + 1, parameter);
      });
      const reader = await prepared.runAndReadAll();
      const types = reader.columnTypes();
      const rows = reader
        .getRows()
        .map((row) => row.map((value, index) => duckDbValueToJson(value, types[index]!)));
      return rowObjects(reader.columnNames(), rows) as JsonValue;
    } finally {
      this.#release(connection);
    }
  }

  async close(): Promise<void> {
    (await this.#instance).closeSync();
  }

  async #acquire(): Promise<DuckDBConnection> {
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#opened < this.connections) {
      this.#opened += 1;
      try {
        return await (await this.#instance).connect();
      } catch (error) {
        // No connection was opened: free its slot, or a retry would wait for it forever.
        this.#opened -= 1;
        throw error;
      }
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(connection: DuckDBConnection): void {
    const next = this.#waiting.shift();
    if (next) next(connection);
    else this.#idle.push(connection);
  }
}

function bindDuckDb(statement: DuckDBPreparedStatement, position: number, parameter: CoercedParameter): void {
  const { value } = parameter;
  if (value === null) statement.bindNull(position);
  else if (parameter.type === "integer" || parameter.type === "bigint")
    statement.bindValue(position, value as bigint, BIGINT);
  else if (parameter.type === "double") statement.bindValue(position, value as number, DOUBLE);
  else if (parameter.type === "boolean") statement.bindValue(position, value as boolean, BOOLEAN);
  else if (parameter.type !== undefined) statement.bindValue(position, value as string, VARCHAR);
  // The workloads declare every parameter's type; an undeclared one binds as text.
  else statement.bindValue(position, typeof value === "string" ? value : JSON.stringify(value), VARCHAR);
}

/** PostgreSQL through a `pg` pool, values parsed as `@halo/tool-sql` parses them. */
export class PostgresPeerClient implements PeerSqlClient {
  readonly #pool: pg.Pool;

  constructor(url: string, connections: number) {
    this.#pool = new pg.Pool({
      connectionString: url,
      max: connections,
      types: {
        getTypeParser: ((oid: number) => postgresTextParser(oid)) as pg.CustomTypesConfig["getTypeParser"],
      },
    });
    this.#pool.on("error", () => {});
  }

  async query(request: SqlRequest): Promise<JsonValue> {
    const statement = buildPositionalStatement(request, "postgres");
    const result = await this.#pool.query({
      text: statement.sql,
      values: statement.parameters.map(({ value }) => (typeof value === "bigint" ? value.toString() : value)),
      rowMode: "array",
    });
    return rowObjects(
      result.fields.map((field) => field.name),
      result.rows as JsonValue[][],
    ) as JsonValue;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/**
 * An HTTP node's call through `fetch`: parameters in the query string, JSON
 * back; padded mode waits until the seeded latency has passed, sleep mode
 * sends nothing (the same bodies as `@halo/tool-http`'s).
 */
export async function fetchJson(request: HttpRequest, seed: string): Promise<JsonValue> {
  const startMs = performance.now();
  const { latency } = request;
  if (latency.mode === "sleep") {
    await sleep(latency.ms);
    return {
      skipped: true,
      mode: "sleep",
      method: request.method.trim().toUpperCase(),
      url: request.url,
      params: { ...request.params },
      sleptMs: latency.ms,
    };
  }
  const targetMs =
    latency.mode === "padded" ? samplePaddedLatencyMs(latency.meanMs, createSeededRandom(seed)) : 0;
  const url = new URL(request.url);
  for (const [name, value] of Object.entries(request.params)) url.searchParams.append(name, value);
  const response = await fetch(url, {
    method: request.method.toUpperCase(),
    headers: { accept: "application/json", ...request.headers },
    ...(request.body === undefined ? {} : { body: request.body }),
    signal: AbortSignal.timeout(latency.timeoutMs),
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`${request.method} ${url.pathname}: HTTP ${response.status}: ${text.slice(0, 200)}`);
  const body = JSON.parse(text) as JsonValue;
  const remainingMs = targetMs - (performance.now() - startMs);
  if (remainingMs > 0) await sleep(remainingMs);
  return body;
}

/** The calls of a translated graph over these clients. */
export function peerCalls(chat: ChatClient, sql: PeerSqlClient): LanggraphCalls {
  return {
    chat: (request, operator) => chat.chat(request, operator),
    sql: (request) => sql.query(request),
    http: (request, seed) => fetchJson(request, seed),
  };
}
