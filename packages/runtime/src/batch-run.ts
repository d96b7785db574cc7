/**
 * One run of a Processor: per-query dependency tracking over the workflow's
 * DAG. When an instance's parents have finished, its inputs are rendered
 * (`operatorInputs` over the parents' scopes) and its request is built; tools
 * go to the tool runner, LLM requests to the dispatcher (identical
 * deterministic ones join one call). Every finished query — ok or failed — is
 * appended to the sink exactly once.
 */
import { setMaxListeners } from "node:events";
import type {
  CompiledWorkflow,
  JsonObject,
  LlmOperator,
  Operator,
  QueryContext,
  ToolOperator,
} from "@halo/ir";
import {
  inputScope,
  isCoalescable,
  operatorInputs,
  operatorScope,
  parseLlmOutput,
  renderOperatorRequest,
  requestKey,
} from "@halo/ir/internal";
import {
  type ExecutionPlan,
  OBSERVED_STATISTICS_VERSION,
  type ObservedOperatorStatistics,
} from "@halo/optimizer";
import type { BatchFigures } from "@halo/protocol";
import { BatchedDispatcher } from "./batched-dispatcher.js";
import type { ExecutorWorker } from "./executor-worker.js";
import { LivenessMonitor } from "./liveness-monitor.js";
import type { LlmCall, LlmRequest } from "./llm-call.js";
import { errorMessage, type LlmDispatcher, type LlmHost } from "./llm-dispatcher.js";
import { PerQueryDispatcher } from "./per-query-dispatcher.js";
import { PlanDeviationTracker } from "./plan-deviations.js";
import { PlanSchedule } from "./plan-schedule.js";
import { QueryRun } from "./query-run.js";
import type { OperatorTiming, QueryResultRecord, ResultSink } from "./result-sink.js";
import type { RetryPolicy } from "./retry-policy.js";
import type { RunSummary } from "./run-summary.js";
import type { EventStream, ExecutionMode, RuntimeEvent } from "./runtime-events.js";
import { type RuntimeTools, type ToolConcurrency, ToolRunner, toolPriorities } from "./tool-runner.js";

/** How long a finished run waits for its open Generate calls to report their figures. */
const CALL_SETTLE_MS = 2_000;
/** Everything one run needs (checked by the Processor). */
export interface BatchRunSetup {
  readonly workflow: CompiledWorkflow;
  readonly plan: ExecutionPlan;
  readonly workers: readonly ExecutorWorker[];
  readonly tools: RuntimeTools;
  readonly retry: RetryPolicy;
  readonly isTransientToolError: (error: unknown) => boolean;
  readonly toolConcurrency: ToolConcurrency;
  readonly healthTimeoutMs: number;
  /** An executor with calls in flight that answers no health probe for this long is lost. */
  readonly executorTimeoutMs: number;
  /** Generate deadline = max(floorMs, factor × the plan's estimate of the call). */
  readonly generateDeadline: GenerateDeadline;
  readonly gatherWindowMs: number;
  readonly workStealing: boolean;
  readonly epochBarriers: boolean;
  readonly preloading: boolean;
  readonly queryConcurrency: number;
  readonly events: EventStream;
  readonly sink: ResultSink;
  readonly signal?: AbortSignal;
}

/** The result sink failed (disk full, say): the run stops; records already appended stay. */
export class ResultWriteError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ResultWriteError";
  }
}

/** A query failed before planning (its prompt fits no worker, say): it gets a failed record and never runs. */
export interface RejectedQuery {
  readonly queryId: string;
  /** The operator the failure is reported on. */
  readonly operator: string;
  readonly message: string;
}

/** How Generate deadlines derive from the plan's estimate of each call. */
export interface GenerateDeadline {
  /** Multiplies the estimate: estimates are means of a cost model, and the machine may be loaded. */
  readonly factor: number;
  /** Shortest deadline, for calls the plan prices at almost nothing. */
  readonly floorMs: number;
}

interface Counters {
  ok: number;
  failed: number;
  llmInstances: number;
  llmCalls: number;
  llmCoalesced: number;
  llmCached: number;
  batches: number;
  failedItems: number;
  promptTokens: number;
  cachedTokens: number;
  generatedTokens: number;
  modelLoads: number;
  migrationsAttempted: number;
  migrationsSucceeded: number;
  migratedBytes: number;
  retries: number;
}

export class BatchRun implements LlmHost {
  readonly schedule: PlanSchedule;
  readonly workers: readonly ExecutorWorker[];
  readonly retry: RetryPolicy;
  readonly healthTimeoutMs: number;
  readonly prefixSharing: boolean;
  readonly migration: boolean;
  readonly mode: ExecutionMode;
  private readonly coalescing: boolean;
  private readonly pipelining: boolean;
  private readonly controller = new AbortController();
  private readonly originMs = performance.now();
  private readonly workflow: CompiledWorkflow;
  private readonly operators = new Map<string, Operator>();
  private readonly dispatcher: LlmDispatcher;
  private readonly liveness: LivenessMonitor;
  private readonly tools: ToolRunner;
  /** Per tool operator, its pool priority: the plan priority of the earliest LLM step it feeds. */
  private readonly toolPriority: ReadonlyMap<string, number>;
  private readonly notReadyCounts = new Map<string, number>();
  private readonly llmCalls = new Map<string, LlmCall>();
  /** Pipelining off: tool instances held until every query's instance of their operator is ready. */
  private readonly deferredTools = new Map<string, (() => void)[]>();
  private readonly runs = new Map<string, QueryRun>();
  private readonly pending: QueryContext[] = [];
  private readonly executorsLost: string[] = [];
  private readonly deviations: PlanDeviationTracker;
  /** Per LLM operator, what its Generate calls measured (`RunSummary.observed`). */
  private readonly observedLlm = new Map<string, Extract<ObservedOperatorStatistics, { kind: "llm" }>>();
  private readonly counters: Counters = {
    ok: 0,
    failed: 0,
    llmInstances: 0,
    llmCalls: 0,
    llmCoalesced: 0,
    llmCached: 0,
    batches: 0,
    failedItems: 0,
    promptTokens: 0,
    cachedTokens: 0,
    generatedTokens: 0,
    modelLoads: 0,
    migrationsAttempted: 0,
    migrationsSucceeded: 0,
    migratedBytes: 0,
    retries: 0,
  };
  private callCounter = 0;
  /** Set when every executor is lost: nothing more is admitted. */
  private lostAll: string | undefined;
  private active = 0;
  private toRun = 0;
  private finishedCount = 0;
  private sinkChain: Promise<void> = Promise.resolve();
  private fatal: unknown;
  private settle: (() => void) | undefined;
  /** Open admission (`OpenRun`): more queries may come (`admitMore`) until `closeAdmission`. */
  private admissionOpen = false;
  private addedQueries = 0;

  constructor(private readonly setup: BatchRunSetup) {
    // Every call in flight listens to the run's signal: thousands of listeners are expected.
    setMaxListeners(0, this.controller.signal);
    this.workflow = setup.workflow;
    for (const operator of setup.workflow.operators) this.operators.set(operator.id, operator);
    this.schedule = new PlanSchedule(setup.plan);
    this.deviations = new PlanDeviationTracker(setup.plan);
    this.workers = setup.workers;
    this.retry = setup.retry;
    this.healthTimeoutMs = setup.healthTimeoutMs;
    const disabled = new Set<string>(setup.plan.disabledOptimizations);
    this.mode = disabled.has("batching") ? "per-query" : "batched";
    this.prefixSharing = !disabled.has("prefix-sharing");
    this.coalescing = !disabled.has("coalescing") && this.mode === "batched";
    this.migration = !disabled.has("migration");
    // Per-query execution is pipelined by nature; a barrier across queries would deadlock its admission window.
    this.pipelining = !disabled.has("pipelining") || this.mode === "per-query";
    this.dispatcher =
      this.mode === "per-query"
        ? new PerQueryDispatcher(this)
        : new BatchedDispatcher(this, {
            gatherWindowMs: setup.gatherWindowMs,
            workStealing: setup.workStealing,
            epochBarriers: setup.epochBarriers,
            preloading: setup.preloading,
            prefixReordering: !disabled.has("prefix-reordering"),
          });
    this.liveness = new LivenessMonitor({
      workers: setup.workers,
      executorTimeoutMs: setup.executorTimeoutMs,
      onUnresponsive: (worker, reason) => this.dispatcher.declareLost(worker, reason),
    });
    this.toolPriority = toolPriorities(setup.workflow, (operator) => this.schedule.priorityOf(operator));
    this.tools = new ToolRunner({
      tools: setup.tools,
      concurrency: setup.toolConcurrency,
      retry: setup.retry,
      isTransient: setup.isTransientToolError,
      coalescing: this.coalescing,
      // Batching SQL calls across queries is cross-query batching: not in per-query execution.
      sqlBatching: !disabled.has("sql-batching") && this.mode === "batched",
      signal: this.controller.signal,
      nowMs: () => this.nowMs(),
      publish: (event) => this.publish(event),
    });
    if (setup.signal) {
      if (setup.signal.aborted) this.controller.abort(setup.signal.reason);
      else setup.signal.addEventListener("abort", () => this.abort(setup.signal?.reason), { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  nowMs(): number {
    return performance.now() - this.originMs;
  }

  publish(event: RuntimeEvent): void {
    switch (event.type) {
      case "model-load":
        if (!event.alreadyLoaded) this.counters.modelLoads += 1;
        break;
      case "kv-migration":
        this.counters.migrationsAttempted += 1;
        if (event.ok) {
          this.counters.migrationsSucceeded += 1;
          this.counters.migratedBytes += event.bytes;
        }
        break;
      case "retry":
        this.counters.retries += 1;
        break;
      case "executor-lost":
        this.executorsLost.push(event.worker);
        break;
    }
    this.deviations.observe(event);
    this.setup.events.publish(event);
  }

  /** Runs the queries (those already in the sink are skipped) and resolves with the summary. */
  async execute(
    queries: readonly QueryContext[],
    rejected: readonly RejectedQuery[] = [],
  ): Promise<RunSummary> {
    const finishedIds = this.setup.sink.finishedIds ?? new Set<string>();
    const unfinished = queries.filter((query) => !finishedIds.has(query.id));
    const skipped = queries.length - unfinished.length;
    const rejectedById = new Map(rejected.map((entry) => [entry.queryId, entry]));
    const todo = unfinished.filter((query) => !rejectedById.has(query.id));
    const refused = unfinished.filter((query) => rejectedById.has(query.id));
    this.toRun = unfinished.length;
    for (const operator of this.workflow.operators) {
      if (operator.kind !== "input") this.notReadyCounts.set(operator.id, unfinished.length);
    }
    this.publish({
      type: "run-started",
      atMs: this.nowMs(),
      workflow: this.workflow.name,
      strategy: this.setup.plan.strategy,
      mode: this.mode,
      queries: todo.length,
      skipped,
      workers: this.workers.map((worker) => ({ id: worker.id, address: worker.address })),
      disabledOptimizations: this.setup.plan.disabledOptimizations,
    });
    const startedMs = this.nowMs();
    let settleMs = 0;
    const done = new Promise<void>((resolve) => {
      this.settle = resolve;
    });
    // Queries rejected before planning get their failed record first; they never run.
    for (const query of refused) {
      const { operator, message } = rejectedById.get(query.id)!;
      this.active += 1;
      const run = new QueryRun(query, this.workflow, this.nowMs());
      this.publish({ type: "query-started", atMs: this.nowMs(), queryId: query.id });
      this.fail(run, operator, message);
    }
    if ((todo.length > 0 || this.admissionOpen) && !this.signal.aborted) {
      this.liveness.start();
      // Queries start while the executors load their first models: tools run meanwhile.
      const starting = this.dispatcher.start();
      this.pending.push(...todo);
      this.admit();
      this.dispatcher.pump();
      await starting;
      await done;
      // Every query has its record; the last Generate streams end with their figures (bounded wait,
      // not part of the makespan).
      const settleStartedMs = this.nowMs();
      await this.dispatcher.settled(CALL_SETTLE_MS);
      settleMs = this.nowMs() - settleStartedMs;
    }
    this.dispatcher.stop();
    this.liveness.stop();
    await this.sinkChain;
    const makespanMs = this.nowMs() - startedMs - settleMs;
    if (this.fatal !== undefined) throw this.fatal;
    const summary = this.summary(queries.length + this.addedQueries, skipped, makespanMs);
    this.publish({ type: "run-finished", atMs: this.nowMs(), summary });
    return summary;
  }

  /** Keeps the run going after its queries have finished until `closeAdmission` (call before `execute`). */
  openAdmission(): void {
    this.admissionOpen = true;
  }

  /** An open run takes more queries into the running work (see `open-run.ts`); false once closed or aborted. */
  admitMore(queries: readonly QueryContext[]): boolean {
    if (!this.admissionOpen || this.signal.aborted) return false;
    this.addedQueries += queries.length;
    this.toRun += queries.length;
    for (const operator of this.workflow.operators) {
      if (operator.kind !== "input") {
        this.notReadyCounts.set(operator.id, (this.notReadyCounts.get(operator.id) ?? 0) + queries.length);
      }
    }
    this.pending.push(...queries);
    if (this.lostAll !== undefined) this.allWorkersLost(this.lostAll);
    else this.admit();
    this.dispatcher.pump();
    return true;
  }

  /** No more queries come: the run ends when those admitted have finished. */
  closeAdmission(): void {
    if (!this.admissionOpen) return;
    this.admissionOpen = false;
    if (this.finishedCount >= this.toRun) this.settle?.();
  }

  /** True while an open run may take more queries. */
  get admitting(): boolean {
    return this.admissionOpen && !this.signal.aborted;
  }

  /** Stops the run: nothing new is dispatched, calls in flight are cancelled, unfinished queries get no record. */
  abort(reason?: unknown): void {
    if (this.controller.signal.aborted) return;
    this.controller.abort(reason);
    this.dispatcher.stop();
    this.liveness.stop();
    this.settle?.();
  }

  generateDeadlineMs(operator: string, items: number, worker: ExecutorWorker): number {
    // Per-query mode: the executor batches this call with the others in flight to it.
    const queued = this.mode === "per-query" ? Math.max(items, worker.inFlight) : items;
    const { factor, floorMs } = this.setup.generateDeadline;
    return Math.max(floorMs, Math.ceil(factor * this.schedule.estimatedCallMs(operator, queued)));
  }

  notReady(operator: string): number {
    return this.notReadyCounts.get(operator) ?? 0;
  }

  // ---- queries ----

  private admit(): void {
    if (this.lostAll !== undefined) return;
    const limit = this.mode === "per-query" ? this.setup.queryConcurrency : Number.POSITIVE_INFINITY;
    while (this.active < limit && this.pending.length > 0 && !this.signal.aborted) {
      const query = this.pending.shift()!;
      this.active += 1;
      this.start(query);
    }
  }

  private start(query: QueryContext): void {
    const run = new QueryRun(query, this.workflow, this.nowMs());
    this.runs.set(query.id, run);
    this.publish({ type: "query-started", atMs: this.nowMs(), queryId: query.id });
    const scope = inputScope(this.workflow, query.context);
    run.scopes.set(this.workflow.inputOperator, scope);
    run.outputs.set(this.workflow.inputOperator, scope);
    for (const operator of this.workflow.operators) {
      if (run.finished) return;
      if (operator.kind !== "input" && run.waitingParents.get(operator.id) === 0) this.ready(run, operator);
    }
  }

  private ready(run: QueryRun, operator: Operator): void {
    if (run.finished || run.readyOperators.has(operator.id)) return;
    run.readyOperators.add(operator.id);
    let inputs: JsonObject;
    let request: ReturnType<typeof renderOperatorRequest>;
    try {
      inputs = operatorInputs(this.workflow, operator.id, run.scopes);
      request = renderOperatorRequest(operator, inputs);
    } catch (error) {
      this.decrementNotReady(operator.id);
      this.fail(run, operator.id, `cannot render the request: ${errorMessage(error)}`);
      return;
    }
    run.inputs.set(operator.id, inputs);
    if (operator.kind === "llm") {
      this.submitLlm(run, operator, request as LlmRequest);
      this.decrementNotReady(operator.id);
    } else if (operator.kind !== "input") {
      this.startTool(run, operator, request);
      this.decrementNotReady(operator.id);
    }
  }

  private decrementNotReady(operator: string): void {
    const count = (this.notReadyCounts.get(operator) ?? 0) - 1;
    this.notReadyCounts.set(operator, Math.max(0, count));
    if (count <= 0) {
      const deferred = this.deferredTools.get(operator);
      if (deferred) {
        this.deferredTools.delete(operator);
        for (const go of deferred) go();
      }
    }
    this.dispatcher.pump();
  }

  private complete(run: QueryRun, operatorId: string, outputs: JsonObject, timing: OperatorTiming): void {
    if (run.finished || this.signal.aborted) return;
    run.outputs.set(operatorId, outputs);
    run.scopes.set(operatorId, operatorScope(run.inputs.get(operatorId) ?? {}, outputs));
    (run.timings as Record<string, OperatorTiming>)[operatorId] = timing;
    run.remaining -= 1;
    for (const childId of this.operators.get(operatorId)!.children) {
      const waiting = (run.waitingParents.get(childId) ?? 0) - 1;
      run.waitingParents.set(childId, waiting);
      if (waiting === 0) this.ready(run, this.operators.get(childId)!);
      if (run.finished) return;
    }
    if (run.remaining === 0) this.finish(run);
  }

  private fail(run: QueryRun, operatorId: string, message: string): void {
    // After an abort, unfinished queries get no record (a resumed run redoes them).
    if (run.finished || this.signal.aborted) return;
    run.failure = { operator: operatorId, message };
    this.finish(run);
  }

  private finish(run: QueryRun): void {
    run.finished = true;
    const ok = run.failure === undefined;
    const outputs: JsonObject = {};
    if (ok) for (const end of this.workflow.endOperators) Object.assign(outputs, run.outputs.get(end) ?? {});
    const record: QueryResultRecord = {
      id: run.id,
      ok,
      outputs,
      operators: run.timings,
      ...(run.failure ? { error: run.failure } : {}),
    };
    if (ok) this.counters.ok += 1;
    else this.counters.failed += 1;
    this.sinkChain = this.sinkChain
      .then(() => this.setup.sink.append(record))
      .catch((error: unknown) => {
        this.fatal ??= new ResultWriteError(
          `cannot write the result of query "${run.id}": ${errorMessage(error)}`,
          {
            cause: error,
          },
        );
        this.abort(this.fatal);
      });
    this.publish({
      type: "query-finished",
      atMs: this.nowMs(),
      queryId: run.id,
      ok,
      ...(run.failure ? { error: run.failure } : {}),
    });
    this.runs.delete(run.id);
    // Instances that will never become ready no longer hold back barriers or planned workers.
    for (const operator of this.workflow.operators) {
      if (operator.kind === "input" || run.readyOperators.has(operator.id)) continue;
      run.readyOperators.add(operator.id);
      this.decrementNotReady(operator.id);
    }
    this.active -= 1;
    this.finishedCount += 1;
    this.admit();
    if (this.finishedCount >= this.toRun && !this.admissionOpen) this.settle?.();
  }

  // ---- tools ----

  private startTool(
    run: QueryRun,
    operator: ToolOperator,
    request: ReturnType<typeof renderOperatorRequest>,
  ): void {
    const coalescable = isCoalescable(operator, request);
    // The canonical key (a hash of the whole request) only where identical calls may share one.
    const key = coalescable ? requestKey(request) : `${run.id}/${operator.id}`;
    const seed = coalescable ? latencySeedOf(request, key) : key;
    const go = () => {
      if (run.finished || this.signal.aborted) return;
      const priority = this.toolPriority.get(operator.id) ?? 0;
      this.tools.run(operator, request, key, coalescable, seed, priority).then(
        (outcome) =>
          this.complete(run, operator.id, outcome.outputs, {
            startMs: outcome.startMs,
            endMs: outcome.endMs,
            ...(outcome.served === "cached" ? { cached: true } : {}),
            ...(outcome.served === "coalesced" ? { coalesced: true } : {}),
          }),
        (error: unknown) => {
          if (!this.signal.aborted) this.fail(run, operator.id, errorMessage(error));
        },
      );
    };
    // This instance is counted ready only after this method returns, hence the `> 1`.
    if (!this.pipelining && this.notReady(operator.id) > 1) {
      const deferred = this.deferredTools.get(operator.id) ?? [];
      deferred.push(go);
      this.deferredTools.set(operator.id, deferred);
    } else {
      go();
    }
  }

  // ---- LLM calls (LlmHost) ----

  private submitLlm(run: QueryRun, operator: LlmOperator, request: LlmRequest): void {
    this.counters.llmInstances += 1;
    const nowMs = this.nowMs();
    const key = this.coalescing && isCoalescable(operator, request) ? requestKey(request) : undefined;
    const existing = key === undefined ? undefined : this.llmCalls.get(key);
    if (existing?.state === "done") {
      this.counters.llmCached += 1;
      this.complete(run, operator.id, parseLlmOutput(operator, existing.text ?? ""), {
        startMs: nowMs,
        endMs: nowMs,
        ...(existing.worker === undefined ? {} : { worker: existing.worker }),
        cached: true,
      });
      return;
    }
    if (existing && (existing.state === "queued" || existing.state === "running")) {
      this.counters.llmCoalesced += 1;
      existing.consumers.push({ run, operator, joinedMs: nowMs, coalesced: true });
      return;
    }
    this.callCounter += 1;
    const call: LlmCall = {
      id: `c${this.callCounter}`,
      key,
      operator,
      request,
      consumers: [{ run, operator, joinedMs: nowMs, coalesced: false }],
      readyMs: nowMs,
      attempts: 0,
      state: "queued",
    };
    if (key !== undefined) this.llmCalls.set(key, call);
    this.counters.llmCalls += 1;
    this.dispatcher.submit(call);
  }

  completeCall(call: LlmCall, text: string, worker: ExecutorWorker): void {
    call.state = "done";
    call.text = text;
    call.worker = worker.id;
    const endMs = this.nowMs();
    for (const consumer of call.consumers) {
      if (consumer.run.finished) continue;
      this.complete(consumer.run, consumer.operator.id, parseLlmOutput(consumer.operator, text), {
        startMs: consumer.coalesced ? consumer.joinedMs : (call.startedMs ?? consumer.joinedMs),
        endMs,
        worker: worker.id,
        ...(consumer.coalesced ? { coalesced: true } : {}),
      });
    }
  }

  failCall(call: LlmCall, message: string): void {
    call.state = "failed";
    this.dropCall(call);
    for (const consumer of call.consumers) this.fail(consumer.run, consumer.operator.id, message);
  }

  dropCall(call: LlmCall): void {
    if (call.key !== undefined && this.llmCalls.get(call.key) === call) this.llmCalls.delete(call.key);
  }

  recordBatch(
    _worker: ExecutorWorker,
    operator: string,
    figures: BatchFigures,
    failedItems: number,
    answeredItems: number,
  ): void {
    const seen = this.observedLlm.get(operator) ?? {
      kind: "llm" as const,
      items: 0,
      promptTokens: 0,
      cachedTokens: 0,
      generatedTokens: 0,
    };
    seen.items += answeredItems;
    seen.promptTokens += figures.promptTokens;
    seen.cachedTokens += figures.cachedTokens;
    seen.generatedTokens += figures.generatedTokens;
    this.observedLlm.set(operator, seen);
    this.counters.batches += 1;
    this.counters.failedItems += failedItems;
    this.counters.promptTokens += figures.promptTokens;
    this.counters.cachedTokens += figures.cachedTokens;
    this.counters.generatedTokens += figures.generatedTokens;
  }

  allWorkersLost(reason: string): void {
    this.lostAll = reason;
    const firstLlm = this.workflow.operators.find((operator) => operator.kind === "llm")?.id ?? "(executors)";
    for (const run of [...this.runs.values()]) {
      const waiting =
        this.workflow.operators.find((operator) => operator.kind === "llm" && !run.outputs.has(operator.id))
          ?.id ?? firstLlm;
      this.fail(run, waiting, reason);
    }
    // Queries not admitted yet (per-query mode) fail too: every query gets its one record.
    while (this.pending.length > 0) {
      const query = this.pending.shift()!;
      this.active += 1;
      const run = new QueryRun(query, this.workflow, this.nowMs());
      this.publish({ type: "query-started", atMs: this.nowMs(), queryId: query.id });
      this.fail(run, firstLlm, reason);
    }
  }

  private summary(total: number, skipped: number, makespanMs: number): RunSummary {
    const counters = this.counters;
    const finished = counters.ok + counters.failed;
    return {
      workflow: this.workflow.name,
      strategy: this.setup.plan.strategy,
      mode: this.mode,
      disabledOptimizations: this.setup.plan.disabledOptimizations,
      queries: {
        total,
        ok: counters.ok,
        failed: counters.failed,
        skipped,
        unfinished: total - skipped - finished,
      },
      aborted: this.signal.aborted,
      makespanMs,
      queriesPerSecond: makespanMs > 0 ? (finished * 1000) / makespanMs : 0,
      tokens: {
        prompt: counters.promptTokens,
        cached: counters.cachedTokens,
        prefilled: counters.promptTokens - counters.cachedTokens,
        generated: counters.generatedTokens,
      },
      llm: {
        instances: counters.llmInstances,
        calls: counters.llmCalls,
        coalesced: counters.llmCoalesced,
        cached: counters.llmCached,
        batches: counters.batches,
        failedItems: counters.failedItems,
      },
      tools: {
        instances: this.tools.figures.instances,
        calls: this.tools.figures.calls,
        coalesced: this.tools.figures.coalesced,
        cached: this.tools.figures.cached,
        failed: this.tools.figures.failed,
        sqlBatches: this.tools.figures.sqlBatches,
        sqlBatchedCalls: this.tools.figures.sqlBatchedCalls,
      },
      modelLoads: counters.modelLoads,
      migrations: {
        attempted: counters.migrationsAttempted,
        succeeded: counters.migrationsSucceeded,
        bytes: counters.migratedBytes,
      },
      retries: counters.retries,
      executorsLost: [...this.executorsLost],
      plan: {
        estimatedMakespanMs: this.setup.plan.estimatedMakespanMs,
        ...(this.setup.plan.pipelinedMakespanMs === undefined
          ? {}
          : { pipelinedMakespanMs: this.setup.plan.pipelinedMakespanMs }),
        lowerBoundMs: this.setup.plan.lowerBoundMs,
        modelLoads: this.setup.plan.modelLoads,
      },
      deviations: this.deviations.summary(),
      workers: this.workers.map((worker) => ({
        id: worker.id,
        address: worker.address,
        alive: worker.alive,
        batches: worker.figures.batches,
        items: worker.figures.items,
        busyMs: worker.figures.busyMs,
        modelLoads: worker.figures.modelLoads,
        loadMs: worker.figures.loadMs,
      })),
      observed: {
        statisticsVersion: OBSERVED_STATISTICS_VERSION,
        workflow: this.workflow.name,
        queries: total - skipped,
        operators: Object.fromEntries([
          ...[...this.observedLlm].map(([id, seen]) => [id, { ...seen }] as const),
          ...[...this.tools.observed].map(([id, seen]) => [id, { kind: "tool" as const, ...seen }] as const),
        ]),
      },
    };
  }
}

/**
 * The seed of a coalescable tool call's padded latency: its request key, with
 * an HTTP URL reduced to its path and query, so that the same request draws
 * the same latency whichever host and port serve it (a benchmark starts its
 * data API on a new port for every system it compares).
 */
export function latencySeedOf(request: ReturnType<typeof renderOperatorRequest>, key: string): string {
  if (request.kind !== "http") return key;
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return key;
  }
  return requestKey({ ...request, url: `${url.pathname}${url.search}` });
}
