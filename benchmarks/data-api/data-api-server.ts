import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { JsonValue } from "@halo/ir";
import { createSqlTool } from "@halo/tool-sql";
import { type DatasetName, isDatasetName } from "../datasets/dataset-definition.js";
import { DatasetInputError } from "../datasets/dataset-input-error.js";
import { DATASET_INFO_TABLE, DATASETS } from "../datasets/dataset-registry.js";
import { redactPostgresUrl } from "../datasets/postgres-loader.js";
import {
  DATA_API_ENDPOINTS,
  type DataApiEndpoint,
  type EndpointAnswer,
  type SqlRunner,
} from "./data-api-endpoints.js";
import type { JsonRow } from "./json-rows.js";
import { ParameterError, type ParameterValues, parseParameters } from "./request-parameters.js";

/** Where to serve which database. */
export interface DataApiOptions {
  /**
   * A DuckDB file written by `generateDataset`, or a `postgres://` URL of a database
   * `loadIntoPostgres` filled; read-only either way.
   */
  readonly dbPath: string;
  /** Statements run at once (default 8). */
  readonly maxConnections?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 8765; 0 picks a free port. */
  readonly port?: number;
  /** Answers kept in memory, by endpoint and parameters (default 10,000; 0 disables). The data never changes. */
  readonly cacheEntries?: number;
  /** Receives one line per unexpected server error (default: ignored). */
  readonly onError?: (message: string) => void;
}

/** A running data API. */
export interface DataApi {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  /** The datasets whose endpoints answer (others answer 503). */
  readonly datasets: readonly DatasetName[];
  /** Stops accepting requests, waits for running queries, closes the database. */
  close(): Promise<void>;
}

/**
 * The answer of every endpoint, as the prototype's data API answers: the TPC-H
 * reports add `report`, the category endpoint `pages_scanned`.
 */
export interface DataApiAnswer {
  readonly endpoint: string;
  readonly report?: string;
  /** The parameters as read, under their contract names (an alias is answered under the name it stands for). */
  readonly params: ParameterValues;
  readonly rowcount: number;
  readonly rows: JsonRow[];
  /** `pages_scanned` of the category endpoint. */
  readonly [field: string]: JsonValue | undefined;
}

/**
 * Starts the reference data API: the JSON endpoints the workloads' HTTP nodes
 * call, answered from a generated DuckDB file or its PostgreSQL copy with
 * bound parameters (through `@halo/tool-sql`: read-only, statement timeout). It
 * serves the contract of the prototype's data API (mlsys-io/Halo_demo
 * `scripts/mock_api.py`): its paths, parameters, defaults, row fields and
 * ordering; the earlier parameter names stay as aliases. Answers are
 * `{endpoint, report?, params, rowcount, rows}`; bad parameters get 400 with
 * `{error, parameter}`, unknown paths 404, datasets not in the file 503.
 */
export async function startDataApi(options: DataApiOptions): Promise<DataApi> {
  const postgres = POSTGRES_URL.test(options.dbPath);
  if (!postgres && !existsSync(options.dbPath))
    throw new DatasetInputError(`database file ${options.dbPath} does not exist`);
  const where = postgres ? redactPostgresUrl(options.dbPath) : options.dbPath;
  const connections = options.maxConnections ?? 8;
  const sql = createSqlTool(options.dbPath, { maxConnections: connections, poolSize: connections });
  const run: SqlRunner = async (text, values) => {
    const parameterTypes = Object.fromEntries(
      Object.entries(values).map(([name, value]) => [name, typeof value === "number" ? "bigint" : "text"]),
    );
    return (await sql.doQuery({ sql: text, parameters: values, parameterTypes })).rows as JsonRow[];
  };
  let datasets: DatasetName[];
  try {
    await sql.doCheck();
    datasets = await availableDatasets(run);
  } catch (error) {
    await sql.close();
    throw error;
  }
  const cache = new AnswerCache(options.cacheEntries ?? 10_000);
  const running = new Set<Promise<unknown>>();
  const endpoints = new Map(DATA_API_ENDPOINTS.map((endpoint) => [endpoint.path, endpoint]));

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("allow", "GET, HEAD");
      return sendJson(response, 405, { error: `method ${request.method} not allowed; use GET` });
    }
    if (url.pathname === "/" || url.pathname === "/health") {
      return sendJson(response, 200, {
        status: "ok",
        datasets,
        endpoints: DATA_API_ENDPOINTS.map(({ path, dataset, description, parameters }) => ({
          path,
          dataset,
          description,
          parameters: parameters.map((parameter) => parameter.name),
          aliases: Object.fromEntries(
            parameters.flatMap((parameter) =>
              (parameter.aliases ?? []).map((alias) => [alias, parameter.name]),
            ),
          ),
        })),
      });
    }
    const endpoint = endpoints.get(url.pathname);
    if (!endpoint) {
      return sendJson(response, 404, {
        error: `unknown path ${url.pathname}; endpoints: ${[...endpoints.keys()].join(", ")}`,
      });
    }
    if (!datasets.includes(endpoint.dataset)) {
      return sendJson(response, 503, {
        error: postgres
          ? `dataset ${endpoint.dataset} is not in ${where}; load it with: halo datasets load --db <file> --postgres <url>`
          : `dataset ${endpoint.dataset} is not in ${where}; generate it with: halo datasets gen ${endpoint.dataset} --out ${where}`,
      });
    }
    let params: ParameterValues;
    try {
      params = parseParameters(endpoint.parameters, url.searchParams);
    } catch (error) {
      if (error instanceof ParameterError) {
        return sendJson(response, 400, { error: error.message, parameter: error.parameter });
      }
      throw error;
    }
    const { rows, fields } = await cache.get(endpoint, params, () => endpoint.answer(params, run));
    const answer: DataApiAnswer = {
      endpoint: endpoint.path,
      ...(endpoint.report === undefined ? {} : { report: endpoint.report }),
      params,
      ...fields,
      rowcount: rows.length,
      rows,
    };
    sendJson(response, 200, answer);
  };

  const server = createServer((request, response) => {
    const work = handle(request, response).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      options.onError?.(`data API error on ${request.url}: ${message}`);
      if (!response.headersSent) sendJson(response, 500, { error: message });
      else response.destroy();
    });
    running.add(work);
    void work.finally(() => running.delete(work));
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 8765, options.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await sql.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    datasets,
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.allSettled([...running]);
        server.closeAllConnections();
        await stopped;
        await sql.close();
      })();
      return closing;
    },
  };
}

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/** Datasets recorded in the database (`halo_datasets`) whose tables are all present. */
async function availableDatasets(run: SqlRunner): Promise<DatasetName[]> {
  // current_schema() is `main` in a DuckDB file and the search path's first schema in PostgreSQL.
  const tables = new Set(
    (
      await run("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()", {})
    ).map((row) => String(row.table_name)),
  );
  if (!tables.has(DATASET_INFO_TABLE.name)) return [];
  return (await run(`SELECT DISTINCT dataset FROM ${DATASET_INFO_TABLE.name} ORDER BY dataset`, {}))
    .map((row) => String(row.dataset))
    .filter(isDatasetName)
    .filter((dataset) => DATASETS[dataset].tables.every((table) => tables.has(table.name)));
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  response.end(response.req.method === "HEAD" ? undefined : text);
}

/**
 * Answers by endpoint and parameters, least recently used evicted first.
 * Concurrent requests for the same answer share one query; a failed query is
 * not kept.
 */
class AnswerCache {
  private readonly entries = new Map<string, Promise<EndpointAnswer>>();

  constructor(private readonly capacity: number) {}

  get(
    endpoint: DataApiEndpoint,
    params: ParameterValues,
    compute: () => Promise<EndpointAnswer>,
  ): Promise<EndpointAnswer> {
    if (this.capacity <= 0) return compute();
    const key = `${endpoint.path}?${JSON.stringify(Object.entries(params).sort(([a], [b]) => a.localeCompare(b)))}`;
    const cached = this.entries.get(key);
    if (cached) {
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached;
    }
    const pending = compute();
    this.entries.set(key, pending);
    pending.catch(() => this.entries.delete(key));
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return pending;
  }
}
