/**
 * What the two LLM dispatchers (plan-adherent batches, per-query calls) share:
 * the host interface they run against and the handling of a failed executor
 * call — a health probe decides whether the executor is lost (its work moves)
 * or the call is retried or failed.
 */
import type { BatchFigures, ExecutorEvent, GenerateInput } from "@halo/protocol";
import type { ExecutorWorker } from "./executor-worker.js";
import type { LlmCall } from "./llm-call.js";
import type { PlanSchedule } from "./plan-schedule.js";
import { backoffDelayMs, isTransientExecutorError, type RetryPolicy } from "./retry-policy.js";
import type { ModelLoadReason, RuntimeEvent } from "./runtime-events.js";

/** The run as a dispatcher sees it. */
export interface LlmHost {
  readonly workers: readonly ExecutorWorker[];
  readonly schedule: PlanSchedule;
  readonly retry: RetryPolicy;
  /** Deadline of the health probe after a failed call. */
  readonly healthTimeoutMs: number;
  /** Deadline of a Generate call of `items` calls of `operator` on `worker`, from the plan's estimate. */
  generateDeadlineMs(operator: string, items: number, worker: ExecutorWorker): number;
  /** Send the static prefix as a shared prefix (the executor caches its KV). */
  readonly prefixSharing: boolean;
  readonly migration: boolean;
  readonly signal: AbortSignal;
  nowMs(): number;
  publish(event: RuntimeEvent): void;
  /** Live queries whose instance of `operator` is not ready yet. */
  notReady(operator: string): number;
  completeCall(call: LlmCall, text: string, worker: ExecutorWorker): void;
  failCall(call: LlmCall, message: string): void;
  /** The call has no live consumer left: forget it (a later identical request makes a new one). */
  dropCall(call: LlmCall): void;
  /** A Generate call of `operator` ended with `figures`; `answeredItems` of its items got an answer. */
  recordBatch(
    worker: ExecutorWorker,
    operator: string,
    figures: BatchFigures,
    failedItems: number,
    answeredItems: number,
  ): void;
  /** No executor is left: fail the queries still running. */
  allWorkersLost(reason: string): void;
}

/** Dispatches LLM calls to executors. */
export interface LlmDispatcher {
  /** Loads the first models (before queries are admitted). */
  start(): Promise<void>;
  submit(call: LlmCall): void;
  /** Readiness or liveness changed: dispatch what can run now. */
  pump(): void;
  /** The worker stopped answering: it is lost, its calls in flight are cancelled and requeued. */
  declareLost(worker: ExecutorWorker, reason: string): void;
  stop(): void;
  /**
   * Resolves when no Generate call is open, or after `timeoutMs`. A call's items can all be
   * answered (and their queries finished) before its stream ends with the batch's figures.
   */
  settled(timeoutMs: number): Promise<void>;
}

/** What to do after an executor call failed. */
export type FailureOutcome = "lost" | "retry" | "fail" | "aborted";

/** Shared plumbing of the dispatchers. */
export abstract class DispatcherBase implements LlmDispatcher {
  protected stopped = false;
  private batchCounter = 0;
  private openCalls = 0;
  private readonly waiters = new Set<() => void>();

  constructor(protected readonly host: LlmHost) {}

  settled(timeoutMs: number): Promise<void> {
    if (this.openCalls === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  abstract start(): Promise<void>;
  abstract submit(call: LlmCall): void;
  abstract pump(): void;

  stop(): void {
    this.stopped = true;
  }

  declareLost(worker: ExecutorWorker, reason: string): void {
    if (!worker.alive || this.stopped) return;
    this.markLost(worker, reason, worker.runningItems);
    // The cancelled calls settle as "lost" (the worker is no longer alive) and go back to the queues.
    worker.cancelCalls(reason);
    this.pump();
  }

  protected liveWorkers(): ExecutorWorker[] {
    return this.host.workers.filter((worker) => worker.alive);
  }

  protected nextBatchId(): string {
    this.batchCounter += 1;
    return `b${this.batchCounter}`;
  }

  /**
   * After a call to `worker` failed: aborted runs stop; an executor that no
   * longer answers its health check is lost; a healthy one retries transient
   * failures and fails the rest.
   */
  protected async classifyFailure(worker: ExecutorWorker, error: unknown): Promise<FailureOutcome> {
    if (this.host.signal.aborted || this.stopped) return "aborted";
    if (!worker.alive) return "lost";
    if (!(await worker.probeHealth(this.host.healthTimeoutMs))) return "lost";
    return isTransientExecutorError(error, this.host.retry) ? "retry" : "fail";
  }

  /**
   * Marks a worker lost (once), moves its planned steps to the live workers
   * and reports it; with no live worker left, the run's queries fail.
   */
  protected markLost(worker: ExecutorWorker, reason: string, requeuedCalls: number): void {
    if (!worker.alive) return;
    worker.alive = false;
    worker.busy = false;
    const live = this.liveWorkers();
    const reassigned = this.host.schedule.reassign(
      worker.id,
      live.map((candidate) => ({ id: candidate.id, currentModel: candidate.currentModel })),
    );
    this.host.publish({
      type: "executor-lost",
      atMs: this.host.nowMs(),
      worker: worker.id,
      address: worker.address,
      reason,
      requeuedCalls,
      reassigned,
    });
    if (live.length === 0)
      this.host.allWorkersLost(`every executor is lost (last: ${worker.address}: ${reason})`);
  }

  /** Loads `model` on `worker` (retrying transient failures), reporting the load. */
  protected async loadModel(worker: ExecutorWorker, model: string, reason: ModelLoadReason): Promise<void> {
    const startedMs = this.host.nowMs();
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await worker.loadModel(model, this.host.signal);
        if (!response.alreadyLoaded) worker.figures.busyMs += this.host.nowMs() - startedMs;
        this.host.publish({
          type: "model-load",
          atMs: this.host.nowMs(),
          worker: worker.id,
          model,
          reason,
          loadMs: response.loadMs,
          alreadyLoaded: response.alreadyLoaded,
          unloaded: response.unloaded,
        });
        return;
      } catch (error) {
        if (attempt >= this.host.retry.maxAttempts || !isTransientExecutorError(error, this.host.retry)) {
          throw error;
        }
        const delayMs = backoffDelayMs(this.host.retry, attempt);
        this.host.publish({
          type: "retry",
          atMs: this.host.nowMs(),
          scope: "load-model",
          worker: worker.id,
          attempt,
          delayMs,
          message: errorMessage(error),
        });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  /**
   * Runs one Generate call and hands each item's outcome to the host. Returns
   * the calls that got no outcome (the call failed midway) and the error.
   */
  protected async generate(
    worker: ExecutorWorker,
    calls: readonly LlmCall[],
    input: GenerateInput,
    operator: string,
    stolen: boolean,
  ): Promise<{ readonly unfinished: LlmCall[]; readonly error?: unknown; readonly figures?: BatchFigures }> {
    this.openCalls += 1;
    try {
      return await this.generateCall(worker, calls, input, operator, stolen);
    } finally {
      this.openCalls -= 1;
      if (this.openCalls === 0) for (const waiter of [...this.waiters]) waiter();
    }
  }

  private async generateCall(
    worker: ExecutorWorker,
    calls: readonly LlmCall[],
    input: GenerateInput,
    operator: string,
    stolen: boolean,
  ): Promise<{ readonly unfinished: LlmCall[]; readonly error?: unknown; readonly figures?: BatchFigures }> {
    const batchId = this.nextBatchId();
    const byId = new Map(calls.map((call) => [call.id, call]));
    const startedMs = this.host.nowMs();
    for (const call of calls) {
      call.state = "running";
      call.startedMs = startedMs;
    }
    const instances = calls.reduce((total, call) => total + call.consumers.length, 0);
    this.host.publish({
      type: "batch-dispatched",
      atMs: startedMs,
      batchId,
      operator,
      worker: worker.id,
      model: input.model,
      items: calls.length,
      instances,
      stolen,
    });
    let failedItems = 0;
    let figures: BatchFigures | undefined;
    let failure: unknown;
    const deadlineMs = this.host.generateDeadlineMs(operator, calls.length, worker);
    worker.activeCalls += 1;
    worker.runningItems += calls.length;
    try {
      for await (const event of worker.client.generate(input, {
        signal: worker.callSignal(this.host.signal),
        deadlineMs,
      })) {
        worker.lastHeardMs = performance.now();
        this.onGenerateEvent(event, byId, worker, () => {
          failedItems += 1;
        });
        if (event.type === "batch-finished") figures = event.figures;
      }
    } catch (error) {
      failure = error;
    } finally {
      worker.activeCalls -= 1;
      worker.runningItems -= calls.length;
    }
    const wallMs = this.host.nowMs() - startedMs;
    worker.figures.busyMs += wallMs;
    worker.figures.batches += 1;
    worker.figures.items += calls.length - byId.size;
    const answeredItems = calls.length - byId.size - failedItems;
    if (figures) this.host.recordBatch(worker, operator, figures, failedItems, answeredItems);
    this.host.publish({
      type: "batch-finished",
      atMs: this.host.nowMs(),
      batchId,
      operator,
      worker: worker.id,
      model: input.model,
      items: calls.length,
      answeredItems,
      failedItems,
      promptTokens: figures?.promptTokens ?? 0,
      cachedTokens: figures?.cachedTokens ?? 0,
      generatedTokens: figures?.generatedTokens ?? 0,
      prefixPrefilledTokens: figures?.prefixPrefilledTokens ?? 0,
      wallMs,
      ...(failure === undefined ? {} : { error: errorMessage(failure) }),
    });
    if (input.sharedPrefix && failure === undefined) worker.residentPrefixes.add(input.sharedPrefix.key);
    const unfinished = [...byId.values()];
    if (failure === undefined && unfinished.length > 0) {
      failure = new Error(`executor ${worker.address} ended the Generate call without answering every item`);
    }
    return {
      unfinished,
      ...(failure === undefined ? {} : { error: failure }),
      ...(figures === undefined ? {} : { figures }),
    };
  }

  private onGenerateEvent(
    event: ExecutorEvent,
    byId: Map<string, LlmCall>,
    worker: ExecutorWorker,
    onFailedItem: () => void,
  ): void {
    if (event.type === "item-finished") {
      const call = byId.get(event.itemId);
      if (!call) return;
      byId.delete(event.itemId);
      this.host.completeCall(call, event.text, worker);
    } else if (event.type === "item-failed") {
      const call = byId.get(event.itemId);
      if (!call) return;
      byId.delete(event.itemId);
      onFailedItem();
      this.host.failCall(call, `${event.code}: ${event.message}`);
    }
  }

  /**
   * Settles calls left unfinished by a failed Generate call: requeued when the
   * executor is lost (without counting an attempt: the executor failed, not
   * the request) or for a retry of a transient failure (with backoff), failed
   * otherwise. `requeue` puts calls back for dispatch.
   */
  protected async settleFailure(
    worker: ExecutorWorker,
    unfinished: readonly LlmCall[],
    error: unknown,
    requeue: (calls: LlmCall[], delayMs: number) => void,
  ): Promise<void> {
    const outcome = await this.classifyFailure(worker, error);
    const message = errorMessage(error);
    if (outcome === "aborted") return;
    if (outcome === "lost") {
      for (const call of unfinished) call.state = "queued";
      this.markLost(worker, message, unfinished.length);
      requeue([...unfinished], 0);
      return;
    }
    if (outcome === "fail") {
      for (const call of unfinished) this.host.failCall(call, message);
      return;
    }
    const retried: LlmCall[] = [];
    for (const call of unfinished) {
      call.attempts += 1;
      if (call.attempts >= this.host.retry.maxAttempts) this.host.failCall(call, message);
      else {
        call.state = "queued";
        retried.push(call);
      }
    }
    if (retried.length === 0) return;
    const delayMs = backoffDelayMs(this.host.retry, Math.max(...retried.map((call) => call.attempts)));
    this.host.publish({
      type: "retry",
      atMs: this.host.nowMs(),
      scope: "generate",
      operator: retried[0]!.operator.id,
      worker: worker.id,
      attempt: Math.max(...retried.map((call) => call.attempts)),
      delayMs,
      message,
    });
    requeue(retried, delayMs);
  }
}

/** The message of any thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
