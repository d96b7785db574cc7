import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { DuckDBConnection, DuckDBValue, Json } from "@duckdb/node-api";
import type { DatasetName } from "../datasets/dataset-definition.js";
import { DATASETS } from "../datasets/dataset-registry.js";
import { listTables, openDuckDbFile, readDatasetInfo } from "../datasets/duckdb-file.js";
import {
  DATA_API_ENDPOINTS,
  type DataApiEndpoint,
  type EndpointAnswer,
  type SqlRunner,
} from "./data-api-endpoints.js";
import { type JsonRow, jsonRows } from "./json-rows.js";
import { ParameterError, type ParameterValues, parseParameters } from "./request-parameters.js";

/** Where to serve which database. */
export interface DataApiOptions {
  /** A DuckDB file written by `generateDataset` (opened read-only). */
  readonly dbPath: string;
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
  readonly [field: string]: Json | undefined;
}

/**
 * Starts the reference data API: the JSON endpoints the workloads' HTTP nodes
 * call, answered from a generated DuckDB file with bound parameters. It
 * serves the contract of the prototype's data API (mlsys-io/Halo_demo
 * `scripts/mock_api.py`): its paths, parameters, defaults, row fields and
 * ordering; the earlier parameter names stay as aliases. Answers are
 * `{endpoint, report?, params, rowcount, rows}`; bad parameters get 400 with
 * `{error, parameter}`, unknown paths 404, datasets not in the file 503.
 */
export async function startDataApi(options: DataApiOptions): Promise<DataApi> {
  const file = await openDuckDbFile(options.dbPath, { readOnly: true });
  let datasets: DatasetName[];
  try {
    datasets = await availableDatasets(file.connection);
  } catch (error) {
    file.close();
    throw error;
  }
  const cache = new AnswerCache(options.cacheEntries ?? 10_000);
  const running = new Set<Promise<unknown>>();
  const run: SqlRunner = async (sql, values) => {
    // A connection per statement: connecting costs well under a millisecond and lets queries run in parallel.
    const connection = await file.instance.connect();
    try {
      return jsonRows(await connection.runAndReadAll(sql, values as Record<string, DuckDBValue>));
    } finally {
      connection.closeSync();
    }
  };
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
        error: `dataset ${endpoint.dataset} is not in ${options.dbPath}; generate it with: halo datasets gen ${endpoint.dataset} --out ${options.dbPath}`,
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
    file.close();
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
        file.close();
      })();
      return closing;
    },
  };
}

/** Datasets recorded in the file whose tables are all present. */
async function availableDatasets(connection: DuckDBConnection): Promise<DatasetName[]> {
  const tables = await listTables(connection);
  return (await readDatasetInfo(connection))
    .map((info) => info.dataset)
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
