/**
 * The Processor: executes an execution plan for a batch of queries over a pool
 * of executor sidecars (gRPC) and injected tools, appending one result record
 * per query to a sink and reporting progress as events.
 */
import type { CompiledWorkflow, QueryContext } from "@halo/ir";
import type { ExecutionPlan } from "@halo/optimizer";
import { createExecutorClient, type ExecutorClient, type ExecutorClientOptions } from "@halo/protocol";
import { BatchRun, type GenerateDeadline, type RejectedQuery } from "./batch-run.js";
import { ExecutorWorker } from "./executor-worker.js";
import { OpenRun } from "./open-run.js";
import { MemoryResultSink, type ResultSink } from "./result-sink.js";
import { DEFAULT_RETRY_POLICY, isTransientToolError, type RetryPolicy } from "./retry-policy.js";
import type { RunSummary } from "./run-summary.js";
import { EventStream, type RuntimeEvent } from "./runtime-events.js";
import { DEFAULT_TOOL_CONCURRENCY, type RuntimeTools, type ToolConcurrency } from "./tool-runner.js";

/** Default of `ProcessorOptions.executorTimeoutMs`. */
export const DEFAULT_EXECUTOR_TIMEOUT_MS = 10_000;

/** Default of `ProcessorOptions.generateDeadline`. */
// Generous: a frozen executor is the liveness probe's job; the deadline only bounds a live executor
// that never finishes, and retrying a call that was merely slow (a loaded CPU) wastes its work.
export const DEFAULT_GENERATE_DEADLINE: GenerateDeadline = { factor: 20, floorMs: 120_000 };

/** Tuning of a Processor; every field has a default. */
export interface ProcessorOptions {
  /** Retries of transient executor and tool failures (default: 3 attempts, 100 ms backoff doubling to 2 s). */
  readonly retry?: Partial<RetryPolicy>;
  /** Which tool errors are transient (default `isTransientToolError`). */
  readonly isTransientToolError?: (error: unknown) => boolean;
  /** CPU pool slots (default SQL 4, HTTP 64; processors run inline). */
  readonly toolConcurrency?: Partial<ToolConcurrency>;
  /** Per-query mode: queries in flight at once (default 64). */
  readonly queryConcurrency?: number;
  /** Batched mode: longest wait for more ready calls before a partial micro-batch (default 50 ms). */
  readonly gatherWindowMs?: number;
  /** Batched mode: an idle worker may take same-model work planned on another worker (default true). */
  readonly workStealing?: boolean;
  /**
   * Batched mode: epochs are barriers — no step of an epoch starts before every
   * LLM operator of the earlier epochs has finished for every query (default
   * false: epochs are priorities). The `opwise` baseline (operator at a time) runs with it.
   */
  readonly epochBarriers?: boolean;
  /**
   * Batched mode: preloads (default true) — an idle worker loads the model of
   * its next planned step before any call of it is ready (while the calls'
   * tools run), and each worker loads its first model as the run starts: the
   * plan's `preloads`. Off (the `halo-no-preload` ablation), a worker loads a
   * model only for calls that are ready.
   */
  readonly preloading?: boolean;
  /** Deadline of the health probe that decides whether a failing executor is lost (default 3 s). */
  readonly healthTimeoutMs?: number;
  /**
   * An executor with calls in flight that answers no health probe for this
   * long is lost: its calls are cancelled and requeued on the others (default 10 s).
   */
  readonly executorTimeoutMs?: number;
  /**
   * Generate deadlines: max(floorMs, factor × the plan's estimate of the call)
   * (default factor 20, floor 120 s). A deadline hit is a transient failure, retried.
   */
  readonly generateDeadline?: Partial<GenerateDeadline>;
  /** How long to wait for each executor to answer before the run starts (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Options of the clients the Processor creates for executor addresses. */
  readonly clientOptions?: ExecutorClientOptions;
  /** Called with every event (in addition to `events()` subscribers). */
  readonly onEvent?: (event: RuntimeEvent) => void;
}

/** What a Processor executes, where, and with which tools. */
export interface ProcessorConfig {
  readonly workflow: CompiledWorkflow;
  readonly plan: ExecutionPlan;
  /**
   * One executor per plan worker: `host:port` addresses (the Processor owns
   * their clients) or clients (the caller owns them). They are bound to the
   * plan's workers by address when the plan names every worker's address
   * among them, else in order.
   */
  readonly executors: readonly string[] | readonly ExecutorClient[];
  readonly tools?: RuntimeTools;
  readonly options?: ProcessorOptions;
}

/** Options of one run. */
export interface RunOptions {
  /** Where records go (default: kept in memory). A resumed sink's finished queries are skipped. */
  readonly sink?: ResultSink;
  /** Aborting stops the run: unfinished queries get no record, so a resumed run redoes them. */
  readonly signal?: AbortSignal;
  /**
   * Queries failed before planning (e.g. `findOversizedPrompts` of `@halo/optimizer`): each gets a
   * failed record with this operator and message and never runs; the plan need not include them.
   */
  readonly rejected?: readonly RejectedQuery[];
}

/** The configuration does not fit together (plan vs workflow, executors, tools); lists every problem. */
export class ProcessorConfigurationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`cannot execute the plan:\n  ${problems.join("\n  ")}`);
    this.name = "ProcessorConfigurationError";
  }
}

/** An executor did not answer before the run started. */
export class ExecutorUnavailableError extends Error {
  constructor(
    readonly address: string,
    cause: unknown,
  ) {
    super(`executor ${address} is not reachable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "ExecutorUnavailableError";
  }
}

export class Processor {
  private readonly events$: EventStream;
  private readonly options: ProcessorOptions;
  private started = false;

  constructor(private readonly config: ProcessorConfig) {
    this.options = config.options ?? {};
    const problems = configurationProblems(config);
    if (problems.length > 0) throw new ProcessorConfigurationError(problems);
    this.events$ = new EventStream(this.options.onEvent);
  }

  /** The events of the run from now on; the iterable ends when the run ends. Subscribe before `run`. */
  events(): AsyncIterable<RuntimeEvent> {
    return this.events$.subscribe();
  }

  /**
   * Runs the batch: connects to the executors (an unreachable one is an
   * `ExecutorUnavailableError` before any work), then executes every query
   * not already in the sink. Resolves with the summary; rejects only when the
   * sink fails. A Processor runs once.
   */
  async run(queries: readonly QueryContext[], options: RunOptions = {}): Promise<RunSummary> {
    if (this.started) throw new Error("a Processor runs once; create another for another batch");
    this.started = true;
    return this.execute(queries, options);
  }

  /**
   * Starts an open run: queries are admitted with `add` at any time into the
   * running work (their calls join the same dispatcher queues, and identical
   * calls coalesce across adds) until `close`; `finished` resolves with the
   * summary once every admitted query has its record. A Processor runs once.
   */
  open(options: RunOptions = {}): OpenRun {
    if (this.started) throw new Error("a Processor runs once; create another for another batch");
    this.started = true;
    return new OpenRun((queries, attach) => this.execute(queries, options, attach));
  }

  private async execute(
    queries: readonly QueryContext[],
    options: RunOptions,
    attach?: (run: BatchRun) => readonly QueryContext[],
  ): Promise<RunSummary> {
    const duplicate = firstDuplicate(queries.map((query) => query.id));
    if (duplicate !== undefined) {
      this.events$.close();
      throw new ProcessorConfigurationError([`query id "${duplicate}" appears more than once`]);
    }
    const { clients, owned } = this.clients();
    try {
      const workers = bindWorkers(this.config.plan, clients);
      const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
      await Promise.all(
        workers.map(async (worker) => {
          try {
            await worker.initialize(timeoutMs);
          } catch (error) {
            throw new ExecutorUnavailableError(worker.address, error);
          }
        }),
      );
      const run = new BatchRun({
        workflow: this.config.workflow,
        plan: this.config.plan,
        workers,
        tools: this.config.tools ?? {},
        retry: { ...DEFAULT_RETRY_POLICY, ...this.options.retry },
        isTransientToolError: this.options.isTransientToolError ?? isTransientToolError,
        toolConcurrency: { ...DEFAULT_TOOL_CONCURRENCY, ...this.options.toolConcurrency },
        healthTimeoutMs: this.options.healthTimeoutMs ?? 3_000,
        executorTimeoutMs: this.options.executorTimeoutMs ?? DEFAULT_EXECUTOR_TIMEOUT_MS,
        generateDeadline: { ...DEFAULT_GENERATE_DEADLINE, ...this.options.generateDeadline },
        gatherWindowMs: this.options.gatherWindowMs ?? 50,
        workStealing: this.options.workStealing ?? true,
        epochBarriers: this.options.epochBarriers ?? false,
        preloading: this.options.preloading ?? true,
        queryConcurrency: this.options.queryConcurrency ?? 64,
        events: this.events$,
        sink: options.sink ?? new MemoryResultSink(),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (!attach) return await run.execute(queries, options.rejected);
      run.openAdmission();
      const finished = run.execute(queries, options.rejected);
      // Queries added while the executors were connecting join now, behind those the run started with.
      const waiting = attach(run);
      if (waiting.length > 0) run.admitMore(waiting);
      return await finished;
    } finally {
      if (owned) for (const client of clients) client.close();
      this.events$.close();
    }
  }

  private clients(): { clients: ExecutorClient[]; owned: boolean } {
    const executors = this.config.executors;
    if (executors.every((executor) => typeof executor === "string")) {
      return {
        clients: (executors as readonly string[]).map((address) =>
          createExecutorClient(address, this.options.clientOptions),
        ),
        owned: true,
      };
    }
    return { clients: [...(executors as readonly ExecutorClient[])], owned: false };
  }
}

function firstDuplicate(ids: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) return id;
    seen.add(id);
  }
  return undefined;
}

/** Binds plan workers to executors: by address when the plan names them all, else in order. */
function bindWorkers(plan: ExecutionPlan, clients: readonly ExecutorClient[]): ExecutorWorker[] {
  const byAddress = new Map(clients.map((client) => [client.address, client]));
  const allNamed = plan.workers.every(
    (worker) => worker.address !== undefined && byAddress.has(worker.address),
  );
  return plan.workers.map(
    (worker, index) =>
      new ExecutorWorker(worker.id, allNamed ? byAddress.get(worker.address!)! : clients[index]!),
  );
}

/** Every reason the plan cannot run for this workflow with these executors and tools. */
function configurationProblems(config: ProcessorConfig): string[] {
  const { workflow, plan } = config;
  const problems: string[] = [];
  if (plan.workflow !== workflow.name) {
    problems.push(`the plan is for workflow "${plan.workflow}", not "${workflow.name}"`);
  }
  const executors = config.executors.length;
  if (executors < plan.workers.length) {
    problems.push(`the plan has ${plan.workers.length} workers but ${executors} executor(s) were given`);
  }
  const workerIds = new Set(plan.workers.map((worker) => worker.id));
  const operators = new Map(workflow.operators.map((operator) => [operator.id, operator]));
  const planned = new Set<string>();
  for (const epoch of plan.epochs) {
    for (const step of epoch.steps) {
      const where = `plan epoch ${epoch.index}, step ${step.operator}`;
      const operator = operators.get(step.operator);
      if (!operator) problems.push(`${where}: the workflow has no operator "${step.operator}"`);
      else if (operator.kind !== "llm") problems.push(`${where}: "${step.operator}" is not an LLM operator`);
      else if (operator.model !== step.model) {
        problems.push(`${where}: model "${step.model}" differs from the workflow's "${operator.model}"`);
      }
      if (!workerIds.has(step.worker)) problems.push(`${where}: unknown worker "${step.worker}"`);
      planned.add(step.operator);
    }
  }
  for (const operator of workflow.operators) {
    if (operator.kind === "llm" && !planned.has(operator.id)) {
      problems.push(`LLM operator "${operator.id}" is not planned on any worker`);
    }
  }
  const tools = config.tools ?? {};
  const needs = (kind: "sql" | "http") => workflow.operators.filter((operator) => operator.kind === kind);
  const sqlOperators = needs("sql");
  if (sqlOperators.length > 0 && !tools.sql) {
    problems.push(`the workflow runs SQL (${sqlOperators[0]!.id}, …) but no SQL tool was given`);
  }
  const httpOperators = needs("http");
  if (httpOperators.length > 0 && !tools.http) {
    problems.push(`the workflow calls HTTP (${httpOperators[0]!.id}, …) but no HTTP tool was given`);
  }
  return problems;
}
