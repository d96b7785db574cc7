/**
 * Tool calls (SQL, HTTP, processors) on CPU pools with bounded concurrency:
 * SQL and HTTP calls wait for a slot of their pool, processors run inline
 * (they are pure and cheap). Identical coalescable calls run once: the first
 * caller's promise serves every later one (`coalesced` while it runs,
 * `cached` after). Transient failures are retried with backoff.
 */
import type {
  CompiledWorkflow,
  HttpToolV1,
  JsonObject,
  JsonValue,
  OperatorRequest,
  ProcessorOperator,
  SqlToolOutcome,
  SqlToolRequest,
  SqlToolV1,
  ToolOperator,
} from "@halo/ir";
import { runProcessor, toolOutputs } from "@halo/ir/internal";
import { ConcurrencyPool } from "./concurrency-pool.js";
import { type RetryPolicy, withRetries } from "./retry-policy.js";
import type { RuntimeEvent } from "./runtime-events.js";

/** The tools a Processor runs with (injected: the runtime depends on no adapter). */
export interface RuntimeTools {
  readonly sql?: SqlToolV1;
  readonly http?: HttpToolV1;
}

/** Slots of the CPU pools. */
export interface ToolConcurrency {
  /** SQL statements running at once (default 4). */
  readonly sql: number;
  /** HTTP calls in flight at once (default 64). */
  readonly http: number;
}

export const DEFAULT_TOOL_CONCURRENCY: ToolConcurrency = { sql: 4, http: 64 };

/** The outputs of one tool instance and how it was served. */
export interface ToolOutcome {
  readonly outputs: JsonObject;
  readonly startMs: number;
  readonly endMs: number;
  readonly served: "ran" | "coalesced" | "cached";
}

/** Counters of tool work. */
export interface ToolFigures {
  instances: number;
  calls: number;
  /** `doQueryBatch` calls given several calls, and those calls (the tool runs them as one query or alone). */
  sqlBatches: number;
  sqlBatchedCalls: number;
  coalesced: number;
  cached: number;
  failed: number;
  retries: number;
}

/** Most calls of one SQL operator a batch takes from its queue. */
export const MAX_SQL_BATCH_CALLS = 256;

/** A SQL call waiting for its operator's next batch. */
interface QueuedSql {
  readonly request: SqlToolRequest;
  readonly resolve: (value: { readonly result: JsonValue; readonly startMs: number }) => void;
  readonly reject: (error: unknown) => void;
  /** Taken by a batch (its own pool slot then has nothing left to do). */
  taken: boolean;
}

interface SharedCall {
  readonly promise: Promise<{ readonly result: JsonValue; readonly startMs: number }>;
  settled: boolean;
}

/** Options of the tool runner. */
export interface ToolRunnerOptions {
  readonly tools: RuntimeTools;
  readonly concurrency: ToolConcurrency;
  readonly retry: RetryPolicy;
  readonly isTransient: (error: unknown) => boolean;
  readonly coalescing: boolean;
  /**
   * Calls of one SQL operator waiting for a slot run together, as one query over their
   * parameters, when the SQL tool offers `doQueryBatch` (at most `MAX_SQL_BATCH_CALLS` at once).
   */
  readonly sqlBatching?: boolean;
  readonly signal: AbortSignal;
  readonly nowMs: () => number;
  readonly publish: (event: RuntimeEvent) => void;
}

/**
 * The pool priority of each tool operator: the plan priority (`PlanSchedule.priorityOf`, lower first) of the
 * earliest LLM step it feeds, directly or through other tools. A saturated pool then serves the calls the
 * plan needs first before those of later steps, so pipelining never starves the step the workers run now.
 * Tools that feed no LLM operator come last (`Infinity`).
 */
export function toolPriorities(
  workflow: CompiledWorkflow,
  llmPriority: (operator: string) => number,
): Map<string, number> {
  const byId = new Map(workflow.operators.map((operator) => [operator.id, operator]));
  const memo = new Map<string, number>();
  const feeds = (id: string): number => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    let best = Number.POSITIVE_INFINITY;
    for (const child of byId.get(id)?.children ?? []) {
      const operator = byId.get(child);
      if (!operator) continue;
      best = Math.min(best, operator.kind === "llm" ? llmPriority(child) : feeds(child));
    }
    memo.set(id, best);
    return best;
  };
  const priorities = new Map<string, number>();
  for (const operator of workflow.operators) {
    if (operator.kind === "sql" || operator.kind === "http" || operator.kind === "processor")
      priorities.set(operator.id, feeds(operator.id));
  }
  return priorities;
}

export class ToolRunner {
  readonly figures: ToolFigures = {
    instances: 0,
    calls: 0,
    sqlBatches: 0,
    sqlBatchedCalls: 0,
    coalesced: 0,
    cached: 0,
    failed: 0,
    retries: 0,
  };
  /** Per tool operator, the calls it ran and the pool time they took (`RunSummary.observed`). */
  readonly observed = new Map<string, { calls: number; busyMs: number }>();
  /** Per SQL operator, its calls waiting for a batch (`sqlBatching`). */
  private readonly sqlQueues = new Map<string, QueuedSql[]>();
  private readonly sqlPool: ConcurrencyPool;
  private readonly httpPool: ConcurrencyPool;
  private readonly shared = new Map<string, SharedCall>();

  constructor(private readonly options: ToolRunnerOptions) {
    this.sqlPool = new ConcurrencyPool("sql", options.concurrency.sql);
    this.httpPool = new ConcurrencyPool("http", options.concurrency.http);
  }

  /**
   * Runs one tool instance. `key` is its canonical request key, `coalescable`
   * whether identical requests may share it; `seed` makes padded HTTP latency
   * repeatable; `priority` orders it in its pool's queue (lower first: see
   * `toolPriorities`). Rejects with the tool's error (after retries).
   */
  async run(
    operator: ToolOperator,
    request: OperatorRequest,
    key: string,
    coalescable: boolean,
    seed: string,
    priority = 0,
  ): Promise<ToolOutcome> {
    this.figures.instances += 1;
    const share = coalescable && this.options.coalescing;
    let served: ToolOutcome["served"] = "ran";
    let call = share ? this.shared.get(key) : undefined;
    if (call) {
      served = call.settled ? "cached" : "coalesced";
      if (served === "cached") this.figures.cached += 1;
      else this.figures.coalesced += 1;
    } else {
      this.figures.calls += 1;
      const entry: SharedCall = { promise: this.execute(operator, request, seed, priority), settled: false };
      entry.promise.then(
        () => {
          entry.settled = true;
        },
        () => {
          entry.settled = true;
        },
      );
      call = entry;
      if (share) this.shared.set(key, entry);
    }
    const joinedMs = this.options.nowMs();
    try {
      const { result, startMs } = await call.promise;
      return {
        // A processor's result already maps its declared outputs (`runProcessor`); SQL rows and HTTP bodies do not.
        outputs: operator.kind === "processor" ? (result as JsonObject) : toolOutputs(operator, result),
        startMs: served === "ran" ? startMs : joinedMs,
        endMs: this.options.nowMs(),
        served,
      };
    } catch (error) {
      if (served === "ran") this.figures.failed += 1;
      throw error;
    }
  }

  private async execute(
    operator: ToolOperator,
    request: OperatorRequest,
    seed: string,
    priority: number,
  ): Promise<{ readonly result: JsonValue; readonly startMs: number }> {
    if (request.kind === "processor") {
      const startMs = this.options.nowMs();
      try {
        return { result: runProcessor(operator as ProcessorOperator, request.inputs), startMs };
      } finally {
        this.observe(operator, 1, startMs);
      }
    }
    if (request.kind === "sql" && this.options.sqlBatching && this.options.tools.sql?.doQueryBatch)
      return this.executeSqlBatched(operator, request, priority);
    const pool = request.kind === "sql" ? this.sqlPool : this.httpPool;
    return pool.run(async () => {
      const startMs = this.options.nowMs();
      try {
        const result = await this.withToolRetries(operator, request.kind === "sql" ? "sql" : "http", () =>
          this.callTool(operator, request, seed),
        );
        return { result, startMs };
      } finally {
        this.observe(operator, 1, startMs);
      }
    }, priority);
  }

  /** Counts `calls` calls of `operator` that held a pool slot from `startMs` until now. */
  private observe(operator: ToolOperator, calls: number, startMs: number): void {
    const seen = this.observed.get(operator.id) ?? { calls: 0, busyMs: 0 };
    seen.calls += calls;
    seen.busyMs += this.options.nowMs() - startMs;
    this.observed.set(operator.id, seen);
  }

  /**
   * Queues a SQL call with the others of its operator. Each call still waits for a pool slot
   * of its own; the first of them to get one takes every call queued by then (up to
   * `MAX_SQL_BATCH_CALLS`) into one `doQueryBatch`, and the slots of the calls it took pass.
   * So an idle pool runs a call alone, and a busy one batches what piled up behind it.
   */
  private executeSqlBatched(
    operator: ToolOperator,
    request: Extract<OperatorRequest, { kind: "sql" }>,
    priority: number,
  ): Promise<{ readonly result: JsonValue; readonly startMs: number }> {
    return new Promise((resolve, reject) => {
      let queue = this.sqlQueues.get(operator.id);
      if (!queue) {
        queue = [];
        this.sqlQueues.set(operator.id, queue);
      }
      const call: QueuedSql = { request: sqlRequestOf(request), resolve, reject, taken: false };
      queue.push(call);
      void this.sqlPool.run(async () => {
        if (call.taken) return;
        const batch = queue.splice(0, MAX_SQL_BATCH_CALLS);
        for (const each of batch) each.taken = true;
        // Whatever goes wrong, no call of the batch is left waiting (settled calls ignore it).
        const startMs = this.options.nowMs();
        await this.runSqlBatch(operator, batch).catch((error: unknown) => {
          for (const each of batch) each.reject(error);
        });
        this.observe(operator, batch.length, startMs);
      }, priority);
    });
  }

  /** Runs a batch's calls as one `doQueryBatch`; a call failing transiently is retried alone. */
  private async runSqlBatch(operator: ToolOperator, batch: readonly QueuedSql[]): Promise<void> {
    const tool = this.options.tools.sql!;
    const startMs = this.options.nowMs();
    if (batch.length > 1) {
      this.figures.sqlBatches += 1;
      this.figures.sqlBatchedCalls += batch.length;
    }
    let outcomes: readonly SqlToolOutcome[];
    try {
      outcomes = await tool.doQueryBatch!(
        batch.map((call) => call.request),
        { signal: this.options.signal },
      );
      if (outcomes.length !== batch.length)
        throw new Error(
          `the SQL tool answered ${outcomes.length} outcomes for a batch of ${batch.length} calls`,
        );
    } catch (error) {
      for (const call of batch) call.reject(error);
      return;
    }
    const retried: Promise<void>[] = [];
    batch.forEach((call, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) call.resolve({ result: outcome.result.rows as JsonValue, startMs });
      else if (!this.options.isTransient(outcome.error) || this.options.signal.aborted)
        call.reject(outcome.error);
      else {
        // The first attempt failed transiently: the usual retries, for this call alone.
        this.recordRetry(operator, "sql", 1, 0, outcome.error);
        retried.push(
          this.withToolRetries(operator, "sql", () => this.querySql(operator, call.request)).then(
            (result) => call.resolve({ result, startMs }),
            call.reject,
          ),
        );
      }
    });
    await Promise.all(retried);
  }

  private withToolRetries(
    operator: ToolOperator,
    scope: "sql" | "http",
    attempt: () => Promise<JsonValue>,
  ): Promise<JsonValue> {
    return withRetries(attempt, {
      policy: this.options.retry,
      isTransient: this.options.isTransient,
      signal: this.options.signal,
      onRetry: (tries, delayMs, error) => this.recordRetry(operator, scope, tries, delayMs, error),
    });
  }

  private recordRetry(
    operator: ToolOperator,
    scope: "sql" | "http",
    attempt: number,
    delayMs: number,
    error: unknown,
  ): void {
    this.figures.retries += 1;
    this.options.publish({
      type: "retry",
      atMs: this.options.nowMs(),
      scope,
      operator: operator.id,
      attempt,
      delayMs,
      message: error instanceof Error ? error.message : String(error),
    });
  }

  private async querySql(operator: ToolOperator, request: SqlToolRequest): Promise<JsonValue> {
    const tool = this.options.tools.sql;
    if (!tool) throw new Error(`operator "${operator.id}" runs SQL but no SQL tool is configured`);
    const { rows } = await tool.doQuery(request, { signal: this.options.signal });
    return rows as JsonValue;
  }

  private async callTool(operator: ToolOperator, request: OperatorRequest, seed: string): Promise<JsonValue> {
    const signal = this.options.signal;
    if (request.kind === "sql") return this.querySql(operator, sqlRequestOf(request));
    if (request.kind === "http") {
      const tool = this.options.tools.http;
      if (!tool) throw new Error(`operator "${operator.id}" calls HTTP but no HTTP tool is configured`);
      const { body } = await tool.doCall(
        {
          url: request.url,
          method: request.method,
          params: request.params,
          headers: request.headers,
          ...(request.body === undefined ? {} : { body: request.body }),
          latency: request.latency,
          seed,
        },
        { signal },
      );
      return body;
    }
    throw new Error(`operator "${operator.id}" is not a SQL or HTTP tool`);
  }
}

/** The SQL tool's request for a rendered SQL operator request. */
function sqlRequestOf(request: Extract<OperatorRequest, { kind: "sql" }>): SqlToolRequest {
  return { sql: request.sql, parameters: request.parameters, parameterTypes: request.parameterTypes };
}
