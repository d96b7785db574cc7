/**
 * DuckDB out of process: a `DuckDbSqlTool` in a child process, called over IPC.
 * The database's work — executing statements and turning their rows into
 * JSON — leaves the caller's event loop (in process, part of every statement
 * runs on the calling thread), and a database that crashes or freezes takes
 * only its child with it.
 */
import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { SqlToolOutcome, SqlToolRequest, SqlToolResult, SqlToolV1 } from "@halo/ir";
import { resolveConnectionRetry, withConnectionRetry } from "./connection-retry.js";
import type { ChildMessage, ParentMessage } from "./duckdb-process-protocol.js";
import { DuckDbSqlTool, type DuckDbSqlToolOptions } from "./duckdb-sql-tool.js";
import { raceAbort } from "./race-abort.js";
import { querySqlBatch } from "./sql-batch.js";
import { abortedError, SqlToolError } from "./sql-tool-error.js";

/** Options of the child's `DuckDbSqlTool`, and how long the child may take to start. */
export interface DuckDbProcessSqlToolOptions extends DuckDbSqlToolOptions {
  /** The child must be ready within this (default 30 000 ms), else the call fails `unreachable`. */
  readonly startTimeoutMs?: number;
  /**
   * How much longer than the statement timeout a call may go unanswered before the child
   * counts as frozen and is stopped (default 10 000 ms).
   */
  readonly watchdogGraceMs?: number;
}

const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/**
 * The child's entry: next to this file once built; under the test runner the sources run from
 * `src/` and the child runs the built entry (tests depend on the package's build).
 */
function childEntry(): string {
  const built = fileURLToPath(new URL("./duckdb-process-main.js", import.meta.url));
  if (existsSync(built)) return built;
  return fileURLToPath(new URL("../dist/duckdb-process-main.js", import.meta.url));
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: SqlToolError) => void;
  readonly timer: NodeJS.Timeout;
}

/** A started child: its process and its calls waiting for an answer. */
interface Child {
  readonly process: ChildProcess;
  readonly pending: Map<number, Pending>;
  /** Set once it is gone (exited, killed, or its channel closed). */
  gone: boolean;
}

/** A failure of the child itself (crash, freeze): the statement may run again on a new child. */
class ChildLostError extends SqlToolError {}

/**
 * `SqlToolV1` over DuckDB in a child process. Calls, errors and options are
 * those of `DuckDbSqlTool` (it runs in the child). The child starts on first
 * use; when it exits or stops answering (no answer within the statement
 * timeout plus 10 s) it is stopped, the calls it held fail `connection-lost`
 * (after the retries, on a new child), and the next call starts a new one.
 */
export class DuckDbProcessSqlTool implements SqlToolV1 {
  readonly specificationVersion = "v1";
  readonly dialect = "duckdb";
  readonly description: string;
  readonly #options: DuckDbSqlToolOptions;
  readonly #startTimeoutMs: number;
  readonly #watchdogMs: number;
  readonly #retry;
  /** The child starting or running (cleared when it is lost); `#current` once it is ready. */
  #child: Promise<Child> | undefined;
  #current: Child | undefined;
  #nextId = 1;
  #closed = false;

  constructor(options: DuckDbProcessSqlToolOptions) {
    const { startTimeoutMs = 30_000, watchdogGraceMs = 10_000, ...tool } = options;
    // The child's tool checks the same options; checked here too, so bad ones fail at once.
    new DuckDbSqlTool(tool);
    for (const [name, value] of Object.entries({ startTimeoutMs, watchdogGraceMs })) {
      if (!Number.isInteger(value) || value <= 0) {
        throw new Error(`DuckDbProcessSqlTool: ${name} must be a positive integer, got ${value}`);
      }
    }
    this.#options = tool;
    this.#startTimeoutMs = startTimeoutMs;
    this.#watchdogMs = (tool.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS) + watchdogGraceMs;
    this.#retry = resolveConnectionRetry(tool.retry, "DuckDbProcessSqlTool");
    this.description = `DuckDB ${tool.path}`;
  }

  /** The running child's process id (undefined before the first call and after it went away). */
  get pid(): number | undefined {
    return this.#current?.process.pid;
  }

  async doCheck(): Promise<void> {
    await this.#withRetry(undefined, (signal) => this.#call({ op: "check", id: 0 }, signal));
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
    const signal = options?.signal;
    const work = this.#withRetry(signal, (attemptSignal) =>
      this.#call({ op: "query", id: 0, request }, attemptSignal),
    );
    return raceAbort(work, signal, () => abortedError(this.description)) as Promise<SqlToolResult>;
  }

  async doPrepare(request: Pick<SqlToolRequest, "sql" | "parameterTypes">): Promise<void> {
    await this.#withRetry(undefined, (signal) => this.#call({ op: "prepare", id: 0, request }, signal));
  }

  /** Closes the child's database (statements in flight finish first) and ends the child. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const child = await this.#child?.catch(() => undefined);
    if (!child || child.gone) return;
    try {
      await this.#send(child, { op: "close", id: 0 });
    } catch {
      // It went away meanwhile, or did not answer in time (then it was stopped).
    }
    await new Promise<void>((resolve) => {
      if (child.gone) resolve();
      else child.process.once("exit", () => resolve());
    });
  }

  #withRetry<T>(
    signal: AbortSignal | undefined,
    call: (signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    return withConnectionRetry(
      async () => {
        try {
          return { ok: true, value: await call(signal) };
        } catch (error) {
          const failure = error as SqlToolError;
          // The child's own tool already retried lost connections; a lost child is retried here.
          return { ok: false, error: failure, retryable: failure instanceof ChildLostError };
        }
      },
      { retry: this.#retry, description: this.description, signal, isClosed: () => this.#closed },
    );
  }

  async #call(message: ParentMessage, signal: AbortSignal | undefined): Promise<unknown> {
    if (this.#closed) throw new SqlToolError("closed", `${this.description}: the SQL tool is closed`);
    if (signal?.aborted) throw abortedError(this.description);
    const child = await this.#started();
    const id = this.#nextId++;
    const onAbort = (): void => {
      if (!child.gone) child.process.send({ op: "abort", id } satisfies ParentMessage, () => undefined);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await this.#send(child, { ...message, id });
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Sends a call and waits for its answer; a child that does not answer in time is stopped. */
  #send(child: Child, message: ParentMessage): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (child.gone) {
        reject(new ChildLostError("connection-lost", `${this.description}: the DuckDB process is gone`));
        return;
      }
      const timer = setTimeout(() => {
        this.#lose(
          child,
          `the DuckDB process did not answer within ${this.#watchdogMs} ms (the statement timeout and its grace); it was stopped`,
        );
        child.process.kill("SIGKILL");
      }, this.#watchdogMs);
      child.pending.set(message.id, { resolve, reject, timer });
      if (child.pending.size === 1) refChild(child, true);
      // A send that fails means the child is going away: its exit fails this call with the rest.
      child.process.send(message, (error: Error | null) => {
        if (error) child.process.kill("SIGKILL");
      });
    });
  }

  /** The running child, started (and ready) if there is none. */
  #started(): Promise<Child> {
    this.#child ??= this.#start().catch((error: unknown) => {
      this.#child = undefined;
      throw error;
    });
    return this.#child;
  }

  #start(): Promise<Child> {
    const process = fork(childEntry(), [JSON.stringify(this.#options)], {
      // JSON: rows are JSON values already, and it costs the caller half the CPU of "advanced" per call.
      serialization: "json",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      // Not the parent's flags (a profiler, an inspector): the child is a plain database process.
      execArgv: [],
    });
    const child: Child = { process, pending: new Map(), gone: false };
    return new Promise<Child>((resolve, reject) => {
      const timer = setTimeout(() => {
        process.kill("SIGKILL");
        reject(
          new SqlToolError(
            "unreachable",
            `${this.description}: the DuckDB process did not start within ${this.#startTimeoutMs} ms`,
          ),
        );
      }, this.#startTimeoutMs);
      process.on("message", (message: ChildMessage) => {
        if (message.id === 0) {
          clearTimeout(timer);
          refChild(child, false);
          this.#current = child;
          resolve(child);
          return;
        }
        const pending = child.pending.get(message.id);
        if (!pending) return;
        child.pending.delete(message.id);
        clearTimeout(pending.timer);
        if (child.pending.size === 0) refChild(child, false);
        if (message.ok) pending.resolve(message.value);
        else pending.reject(new SqlToolError(message.code, message.message));
      });
      process.on("error", (error) => {
        clearTimeout(timer);
        reject(
          new SqlToolError(
            "unreachable",
            `${this.description}: cannot start the DuckDB process: ${error.message}`,
          ),
        );
        // A broken channel (EPIPE: the child died under a send): make sure it is gone; its exit
        // fails the calls it held, naming how it ended. One that never started fails them here.
        if (process.pid === undefined) this.#lose(child, `the DuckDB process failed: ${error.message}`);
        else process.kill("SIGKILL");
      });
      process.on("exit", (code, signal) => {
        clearTimeout(timer);
        const how = signal === null ? `with code ${code}` : `on ${signal}`;
        this.#lose(child, `the DuckDB process exited ${how}`);
        reject(
          new SqlToolError(
            "unreachable",
            `${this.description}: the DuckDB process exited ${how} while starting`,
          ),
        );
      });
    });
  }

  /** Marks a child gone: its pending calls fail (retryable), and the next call starts a new child. */
  #lose(child: Child, reason: string): void {
    if (child.gone) return;
    child.gone = true;
    if (this.#current === child) {
      this.#current = undefined;
      this.#child = undefined;
    }
    for (const pending of child.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new ChildLostError("connection-lost", `${this.description}: ${reason}`));
    }
    child.pending.clear();
  }
}

/** A child with calls in flight keeps the caller's process alive; an idle one does not. */
function refChild(child: Child, referenced: boolean): void {
  const channel = child.process.channel as { ref(): void; unref(): void } | null | undefined;
  if (referenced) {
    child.process.ref();
    channel?.ref();
  } else {
    child.process.unref();
    channel?.unref();
  }
}
