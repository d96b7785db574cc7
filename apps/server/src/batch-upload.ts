/**
 * A batch job's query file, streamed from the request body into the store:
 * JSONL line by line; CSV and Parquet spooled to a temporary file and read
 * back by DuckDB chunk by chunk. Queries are checked as `halo run` checks a
 * query file (every input field of the workflow present, ids unique) and
 * written in transactions of `STORE_CHUNK` queries, so memory stays bounded
 * whatever the file's size (only the ids are kept, to find duplicates).
 */
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { CompiledWorkflow, JsonObject, QueryContext } from "@halo/ir";
import type { BatchError, ServerStore } from "./store/server-store.js";

/** Formats of a batch job's input file. */
export const UPLOAD_FORMATS = ["jsonl", "csv", "parquet"] as const;
export type UploadFormat = (typeof UPLOAD_FORMATS)[number];

/** The request body went past the byte limit. */
export class BodyTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`the request body is larger than ${limitBytes} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** Where and how much to ingest. */
export interface UploadOptions {
  readonly store: ServerStore;
  readonly batchId: string;
  readonly workflow: CompiledWorkflow;
  readonly format: UploadFormat;
  readonly body: ReadableStream<Uint8Array>;
  readonly maxBytes: number;
  readonly maxQueries: number;
  /** Directory for CSV/Parquet spool files. */
  readonly spoolDirectory: string;
}

/** What ingestion found: the number of queries stored, or the problems (none stored then). */
export type UploadResult =
  | { readonly ok: true; readonly total: number }
  | { readonly ok: false; readonly errors: readonly BatchError[] };

const STORE_CHUNK = 500;
const MAX_ERRORS = 50;

/** Streams the body into the store (see the module comment). Throws `BodyTooLargeError`. */
export async function ingestBatchUpload(options: UploadOptions): Promise<UploadResult> {
  const checker = new QueryChecker(options);
  if (options.format === "jsonl") {
    let lineNumber = 0;
    for await (const line of lines(limited(options.body, options.maxBytes))) {
      lineNumber += 1;
      if (line.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        checker.error({
          code: "invalid-json",
          message: `not JSON: ${(error as Error).message}`,
          line: lineNumber,
        });
        continue;
      }
      await checker.add(value, lineNumber);
    }
  } else {
    await mkdir(options.spoolDirectory, { recursive: true });
    const spool = join(options.spoolDirectory, `${options.batchId}.${options.format}`);
    try {
      await spoolTo(limited(options.body, options.maxBytes), spool);
      await readWithDuckDb(spool, options.format, checker);
    } finally {
      await rm(spool, { force: true });
    }
  }
  return checker.finish();
}

class QueryChecker {
  private readonly errors: BatchError[] = [];
  private readonly ids = new Set<string>();
  private pending: QueryContext[] = [];
  private stored = 0;
  private records = 0;

  constructor(private readonly options: UploadOptions) {}

  error(error: BatchError): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(error);
  }

  async add(value: unknown, line: number): Promise<void> {
    this.records += 1;
    if (this.records > this.options.maxQueries) {
      if (this.records === this.options.maxQueries + 1) {
        this.error({
          code: "too-many-queries",
          message: `more than ${this.options.maxQueries} queries`,
          line,
        });
      }
      return;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.error({ code: "invalid-query", message: "a query must be a JSON object", line });
      return;
    }
    const record = value as JsonObject;
    const context = contextOf(record);
    for (const field of this.options.workflow.inputFields) {
      if (!Object.hasOwn(context, field)) {
        this.error({
          code: "missing-input-field",
          message: `record ${this.records} does not provide the input field "${field}"`,
          line,
          param: field,
        });
      }
    }
    const rawId = record["id"];
    const id =
      typeof rawId === "string" && rawId.length > 0
        ? rawId
        : typeof rawId === "number"
          ? String(rawId)
          : `q${String(this.records).padStart(5, "0")}`;
    if (this.ids.has(id)) {
      this.error({ code: "duplicate-query-id", message: `duplicate query id "${id}"`, line, param: "id" });
      return;
    }
    this.ids.add(id);
    if (this.errors.length > 0) return;
    this.pending.push({ id, context });
    if (this.pending.length >= STORE_CHUNK) await this.flush();
  }

  private async flush(): Promise<void> {
    const chunk = this.pending;
    this.pending = [];
    if (chunk.length === 0) return;
    await this.options.store.appendBatchQueries(this.options.batchId, this.stored, chunk);
    this.stored += chunk.length;
  }

  async finish(): Promise<UploadResult> {
    if (this.records === 0 && this.errors.length === 0) {
      this.error({ code: "invalid-query-file", message: "the file has no queries" });
    }
    if (this.errors.length > 0) {
      await this.options.store.deleteBatchQueries(this.options.batchId);
      return { ok: false, errors: this.errors };
    }
    await this.flush();
    return { ok: true, total: this.stored };
  }
}

/** `{"id", "context": {…}}` records carry their context nested, as `halo datasets queries` writes them. */
function contextOf(values: JsonObject): JsonObject {
  const nested = values["context"];
  const onlyIdAndContext = Object.keys(values).every((key) => key === "id" || key === "context");
  return onlyIdAndContext && typeof nested === "object" && nested !== null && !Array.isArray(nested)
    ? (nested as JsonObject)
    : values;
}

async function* limited(body: ReadableStream<Uint8Array>, maxBytes: number): AsyncGenerator<Uint8Array> {
  let total = 0;
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      total += value.byteLength;
      if (total > maxBytes) throw new BodyTooLargeError(maxBytes);
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

async function* lines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of chunks) {
    rest += decoder.decode(chunk, { stream: true });
    let newline = rest.indexOf("\n");
    while (newline >= 0) {
      yield rest.slice(0, newline).replace(/\r$/, "");
      rest = rest.slice(newline + 1);
      newline = rest.indexOf("\n");
    }
  }
  rest += decoder.decode();
  if (rest.length > 0) yield rest;
}

async function spoolTo(chunks: AsyncIterable<Uint8Array>, path: string): Promise<void> {
  const file = createWriteStream(path);
  try {
    for await (const chunk of chunks) {
      if (!file.write(chunk)) await new Promise<void>((resolve) => file.once("drain", () => resolve()));
    }
  } finally {
    await new Promise<void>((resolve, reject) =>
      file.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
}

async function readWithDuckDb(path: string, format: "csv" | "parquet", checker: QueryChecker): Promise<void> {
  const literal = `'${path.replaceAll("'", "''")}'`;
  const source =
    format === "csv" ? `read_csv(${literal}, header = true, all_varchar = true)` : `read_parquet(${literal})`;
  const instance = await DuckDBInstance.create(":memory:");
  try {
    const connection = await instance.connect();
    try {
      let result: Awaited<ReturnType<typeof connection.stream>>;
      try {
        result = await connection.stream(`SELECT CAST(to_json(t) AS VARCHAR) FROM ${source} AS t`);
      } catch (error) {
        checker.error({
          code: "invalid-query-file",
          message: `cannot read the ${format} file: ${(error as Error).message}`,
        });
        return;
      }
      // CSV rows start on line 2 (after the header); Parquet rows are numbered from 1.
      let row = format === "csv" ? 1 : 0;
      while (true) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        for (const [text] of chunk.getRows()) {
          row += 1;
          await checker.add(JSON.parse(String(text)), row);
        }
      }
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}
