/**
 * The durable result sink: one JSON record per line, appended in order,
 * flushed to disk periodically (fdatasync) and on close. Opened with
 * `resume`, it keeps the records already there (the Processor skips their
 * queries) and cuts off a torn last line left by a process that died while
 * writing it, so a resumed run ends with exactly one record per query. With
 * `retryFailed` too, failed records are not skipped: their queries run again,
 * the new records are appended, and on close the file is rewritten with one
 * record per query, the latest winning (temporary file + rename, so a crash
 * leaves either the old file or the new one; a crash before that leaves both
 * records, and the next resume keeps the later one).
 */
import { type FileHandle, open, readFile, rename, rm, truncate } from "node:fs/promises";
import type { QueryResultRecord, ResultSink } from "./result-sink.js";

/** Options of `JsonlResultSink.open`. */
export interface JsonlResultSinkOptions {
  /** Keep the records already in the file and skip their queries (default false: start a new file). */
  readonly resume?: boolean;
  /** With `resume`: queries whose record failed run again; their new record replaces the old one. */
  readonly retryFailed?: boolean;
  /** Longest time an appended record waits for fdatasync (default 500 ms). */
  readonly fsyncIntervalMs?: number;
}

/** A results file that cannot be resumed: the message names the file and line. */
export class ResultFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResultFileError";
  }
}

/** What `open` found in an existing file when resuming. */
export interface ResumedResults {
  /** One record per query (a record that replaced an earlier failed one of its query wins). */
  readonly records: readonly QueryResultRecord[];
  /** Bytes of a torn last line that were cut off (0 when the file ended cleanly). */
  readonly truncatedBytes: number;
}

export class JsonlResultSink implements ResultSink {
  private readonly ids: Set<string>;
  private readonly resumedIds: ReadonlySet<string>;
  private tail: Promise<void> = Promise.resolve();
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private failure: unknown;
  private closed = false;
  /** The file holds more than one record of some query: rewrite it on close. */
  private compact: boolean;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly resumed: ResumedResults & { readonly lines: number },
    fsyncIntervalMs: number,
    retryFailed: boolean,
  ) {
    this.ids = new Set(
      resumed.records.filter((record) => record.ok || !retryFailed).map((record) => record.id),
    );
    this.resumedIds = new Set(resumed.records.map((record) => record.id));
    this.compact = resumed.lines > resumed.records.length;
    this.timer = setInterval(() => this.flushSoon(), fsyncIntervalMs);
    this.timer.unref();
  }

  /** Opens (creating or, without `resume`, emptying) a JSONL results file. */
  static async open(path: string, options: JsonlResultSinkOptions = {}): Promise<JsonlResultSink> {
    const fsyncIntervalMs = options.fsyncIntervalMs ?? 500;
    const resumed = options.resume
      ? await recoverResultLines(path)
      : { records: [], truncatedBytes: 0, lines: 0 };
    const handle = await open(path, options.resume ? "a" : "w");
    return new JsonlResultSink(
      path,
      handle,
      resumed,
      fsyncIntervalMs,
      options.resume === true && options.retryFailed === true,
    );
  }

  /** Failed records kept from the resumed file whose queries are skipped (resume without retryFailed). */
  get keptFailed(): number {
    return this.resumed.records.filter((record) => !record.ok && this.ids.has(record.id)).length;
  }

  get finishedIds(): ReadonlySet<string> {
    return this.ids;
  }

  /** Appends one record; resolves once it is written (not necessarily synced). */
  append(record: QueryResultRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`results file ${this.path} is closed`));
    if (this.ids.has(record.id)) {
      return Promise.reject(
        new Error(`results file ${this.path} already has a record of query "${record.id}"`),
      );
    }
    this.ids.add(record.id);
    if (this.resumedIds.has(record.id)) this.compact = true;
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`, "utf8");
    this.tail = this.tail.then(async () => {
      if (this.failure) throw this.failure;
      try {
        let offset = 0;
        while (offset < bytes.length) {
          const { bytesWritten } = await this.handle.write(bytes, offset, bytes.length - offset);
          offset += bytesWritten;
        }
        this.dirty = true;
      } catch (error) {
        this.failure = error;
        throw error;
      }
    });
    return this.tail;
  }

  /** Waits for pending writes and syncs them to disk. */
  async flush(): Promise<void> {
    await this.tail;
    if (this.dirty) {
      this.dirty = false;
      await this.handle.datasync();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      await this.flush();
    } catch (error) {
      // A write that failed was reported to its appender already; closing must not report it twice.
      if (error !== this.failure) throw error;
      this.compact = false;
    } finally {
      await this.handle.close();
    }
    if (this.compact) await rewriteLatest(this.path);
  }

  private flushSoon(): void {
    if (!this.dirty || this.closed) return;
    this.flush().catch((error: unknown) => {
      this.failure ??= error;
    });
  }
}

/**
 * Reads the records of a results file for resuming, cutting off a torn last
 * line (no newline at the end, from a write interrupted by a crash). A
 * complete line that is not a record is an error naming the line. A missing
 * file holds no records.
 */
export async function recoverResults(path: string): Promise<ResumedResults> {
  const { records, truncatedBytes } = await recoverResultLines(path);
  return { records, truncatedBytes };
}

async function recoverResultLines(path: string): Promise<ResumedResults & { readonly lines: number }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      return { records: [], truncatedBytes: 0, lines: 0 };
    throw error;
  }
  const end = text.lastIndexOf("\n") + 1;
  const { records, lines } = parseResultLines(text.slice(0, end), path);
  const truncatedBytes = Buffer.byteLength(text.slice(end), "utf8");
  if (truncatedBytes > 0) await truncate(path, Buffer.byteLength(text.slice(0, end), "utf8"));
  return { records, truncatedBytes, lines };
}

/** Rewrites a results file with one record per query (the latest), atomically: temporary file + rename. */
async function rewriteLatest(path: string): Promise<void> {
  const text = await readFile(path, "utf8");
  const { records } = parseResultLines(text.slice(0, text.lastIndexOf("\n") + 1), path);
  const temporary = `${path}.${process.pid}.tmp`;
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(records.map((record) => `${JSON.stringify(record)}\n`).join(""), "utf8");
    await handle.datasync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
}

/** Reads every record of a results file (a torn last line is ignored, not cut). */
export async function readResultRecords(path: string): Promise<QueryResultRecord[]> {
  const text = await readFile(path, "utf8");
  return parseResultLines(text.slice(0, text.lastIndexOf("\n") + 1), path).records;
}

/**
 * The records of complete lines, one per query: a later record replaces an
 * earlier failed one of its query (a retry), in the later one's position; a
 * second record after an ok one is an error naming the line.
 */
function parseResultLines(text: string, path: string): { records: QueryResultRecord[]; lines: number } {
  const latest = new Map<string, { record: QueryResultRecord; line: number }>();
  let lines = 0;
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new ResultFileError(`${path}:${index + 1}: not JSON (${(error as Error).message})`);
    }
    if (!isResultRecord(value)) {
      throw new ResultFileError(
        `${path}:${index + 1}: not a result record (expected {id, ok, outputs, operators})`,
      );
    }
    lines += 1;
    const earlier = latest.get(value.id);
    if (earlier?.record.ok)
      throw new ResultFileError(`${path}:${index + 1}: a second record of query "${value.id}"`);
    latest.set(value.id, { record: value, line: index });
  });
  const records = [...latest.values()]
    .sort((left, right) => left.line - right.line)
    .map((entry) => entry.record);
  return { records, lines };
}

function isResultRecord(value: unknown): value is QueryResultRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.id === "string" &&
    typeof record.ok === "boolean" &&
    typeof record.outputs === "object" &&
    record.outputs !== null &&
    typeof record.operators === "object" &&
    record.operators !== null
  );
}
