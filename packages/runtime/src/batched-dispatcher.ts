/**
 * Plan-adherent dispatch of LLM calls in micro-batches. Each operator has a
 * queue of ready calls; each worker runs one Generate call (or model load, or
 * KV migration) at a time and, when idle, picks its next work:
 *
 * 1. ready calls of its own planned steps whose model it holds, in plan order
 *    (a worker keeps its model while same-model work is ready); then ready
 *    calls of steps whose model the executor still holds beside it (no load);
 * 2. otherwise, when its highest-priority unfinished step needs another model,
 *    it loads that model now — a preload when no call is ready yet. A step is
 *    unfinished while any live query's instance of it is not ready or queued.
 *    When the held model's planned work is still coming (waiting on tools)
 *    and nothing of it is ready, the worker loads the model of a later step
 *    of its own that has a full micro-batch ready (or all its remaining calls):
 *    work conserving, where idling for slow tools would cost more than a load;
 * 3. otherwise (nothing ready that it may run without a switch) it takes
 *    ready calls of an operator planned on other workers when the operator
 *    uses the model it holds and none of that operator's planned workers is
 *    idle with that model — work stealing that avoids idling, never a switch.
 *
 * Epochs are priorities, not barriers: a step starts on whatever calls are
 * ready. A micro-batch takes up to the plan's batch size, capped by the
 * executor's sequence and token limits (and lowered when the executor had to
 * split a call); a partial batch waits up to `gatherWindowMs` for more calls
 * while instances of the operator are still on their way. With prefix
 * reordering, the oldest ready call is taken with the ready calls sharing the
 * most leading prompt lines with it (`prefix-reuse.ts`), never waiting for more.
 *
 * With `epochBarriers` (the operator-at-a-time baseline) a step waits until
 * every LLM operator of the earlier epochs has finished for every query: no
 * call of it queued, running or still to come.
 */

import { CallQueue } from "./call-queue.js";
import type { ExecutorWorker } from "./executor-worker.js";
import { estimatedCallTokens, generateItemOf, type LlmCall } from "./llm-call.js";
import { DispatcherBase, errorMessage, type LlmHost } from "./llm-dispatcher.js";
import type { PlannedStep } from "./plan-schedule.js";
import { selectPrefixGroup } from "./prefix-reuse.js";

/** Options of the batched dispatcher. */
export interface BatchedDispatcherOptions {
  /** Longest wait for more ready calls before dispatching a partial micro-batch (default 50 ms). */
  readonly gatherWindowMs: number;
  /** Step 3 of the policy: idle workers take same-model work planned elsewhere (default true). */
  readonly workStealing: boolean;
  /** Epochs are barriers, not priorities (default false). */
  readonly epochBarriers: boolean;
  /**
   * Step 2's preloads (default true): a worker loads its next planned model
   * before any call of it is ready, and its first model as the run starts.
   * Off, a worker loads a model only for calls that are ready.
   */
  readonly preloading: boolean;
  /**
   * Micro-batches grouped by shared leading prompt lines (`prefix-reuse.ts`); off: oldest
   * ready calls first, in queue order (default true).
   */
  readonly prefixReordering?: boolean;
}

/** Ready calls a grouped micro-batch chooses from: this many times its size, at least 64, at most 512. */
function lookAhead(cap: number): number {
  return Math.min(512, Math.max(64, cap * 4));
}

export class BatchedDispatcher extends DispatcherBase {
  private readonly queues = new Map<string, CallQueue>();
  /** Per worker and operator, the most sequences one call may carry after the executor split a call. */
  private readonly adaptiveCaps = new Map<string, number>();
  /** KV migrations done (or tried) per worker and prefix key. */
  private readonly migrated = new Set<string>();
  /** Worker and model pairs whose load failed for good (`worker\u0000model`). */
  private readonly unservable = new Set<string>();
  /** Operators no live worker can serve, with the reason their calls fail. */
  private readonly failedOperators = new Map<string, string>();
  /** Calls of each operator inside a running Generate call. */
  private readonly runningCalls = new Map<string, number>();
  private pumping = false;
  private pumpAgain = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAtMs = Number.POSITIVE_INFINITY;

  constructor(
    host: LlmHost,
    private readonly options: BatchedDispatcherOptions,
  ) {
    super(host);
  }

  /** Each worker loads the model of its first planned step. */
  async start(): Promise<void> {
    if (!this.options.preloading) return;
    await Promise.all(
      this.liveWorkers().map(async (worker) => {
        const first = this.host.schedule.stepsOf(worker.id)[0];
        if (!first || worker.currentModel === first.model) return;
        worker.busy = true;
        try {
          await this.loadModel(worker, first.model, "preload");
        } catch (error) {
          await this.onLoadFailure(worker, first.model, error);
        } finally {
          worker.busy = false;
          // Queries are admitted while the first models load: their calls may be waiting.
          this.pump();
        }
      }),
    );
  }

  submit(call: LlmCall): void {
    if (this.liveWorkers().length === 0) {
      this.host.failCall(call, "no live executor is left");
      return;
    }
    const failure = this.failedOperators.get(call.operator.id);
    if (failure !== undefined) {
      this.host.failCall(call, failure);
      return;
    }
    this.queueOf(call.operator.id).push(call);
    this.pump();
  }

  override stop(): void {
    super.stop();
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
  }

  /** Dispatches work to idle workers; safe to call from anywhere, any number of times. */
  pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        const idle = () =>
          this.liveWorkers().filter((worker) => !worker.busy && this.host.nowMs() >= worker.backoffUntilMs);
        for (const worker of idle()) this.planWork(worker);
        if (this.options.workStealing) for (const worker of idle()) this.stealWork(worker);
      } while (this.pumpAgain && !this.stopped);
      // A timer may fire before a worker's backoff has ended (Node measures timers from a cached loop
      // time): wake again when the earliest backoff ends, or that worker would never be pumped again.
      const nowMs = this.host.nowMs();
      let backoffEndMs = Number.POSITIVE_INFINITY;
      for (const worker of this.liveWorkers())
        if (!worker.busy && worker.backoffUntilMs > nowMs)
          backoffEndMs = Math.min(backoffEndMs, worker.backoffUntilMs);
      if (backoffEndMs < Number.POSITIVE_INFINITY && !this.stopped) this.wakeAt(backoffEndMs);
    } finally {
      this.pumping = false;
    }
  }

  private queueOf(operator: string): CallQueue {
    let queue = this.queues.get(operator);
    if (!queue) {
      queue = new CallQueue((call) => {
        call.state = "dropped";
        this.host.dropCall(call);
      });
      this.queues.set(operator, queue);
    }
    return queue;
  }

  /** No live instance of the operator is waiting: every one is dispatched, running or finished. */
  private exhausted(operator: string): boolean {
    return this.host.notReady(operator) === 0 && this.queueOf(operator).peek() === undefined;
  }

  /** With epoch barriers: the epoch whose steps may run now (the earliest with an unfinished operator). */
  private openEpoch(): number {
    if (!this.options.epochBarriers) return Number.POSITIVE_INFINITY;
    let open = Number.POSITIVE_INFINITY;
    for (const worker of this.liveWorkers()) {
      for (const step of this.host.schedule.stepsOf(worker.id)) {
        if (step.epoch >= open) continue;
        if (!this.exhausted(step.operator) || (this.runningCalls.get(step.operator) ?? 0) > 0)
          open = step.epoch;
      }
    }
    return open;
  }

  /** With epoch barriers: the earliest epoch the operator is planned in. */
  private epochOf(operator: string): number {
    let epoch = Number.POSITIVE_INFINITY;
    for (const worker of this.liveWorkers()) {
      const step = this.host.schedule.stepFor(worker.id, operator);
      if (step && step.epoch < epoch) epoch = step.epoch;
    }
    return epoch;
  }

  /**
   * Steps 1 and 2 of the policy: own ready work on the held model (or on a
   * model the executor still holds, which costs no load), else switch to the
   * next planned model — or, while the held model's planned work is still on
   * its way (its inputs wait on tools), to a model whose planned work has a
   * full micro-batch ready or is ready to the last call: idling until slow
   * tools return would cost more than the load.
   */
  private planWork(worker: ExecutorWorker): void {
    const openEpoch = this.openEpoch();
    const remaining = this.host.schedule
      .stepsOf(worker.id)
      .filter((step) => step.epoch <= openEpoch && !this.exhausted(step.operator));
    if (remaining.length === 0) return;
    for (const step of remaining) {
      if (step.model !== worker.currentModel) continue;
      if (this.dispatch(worker, step, false)) return;
    }
    for (const step of remaining) {
      if (step.model === worker.currentModel || !worker.loadedModels.has(step.model)) continue;
      if (this.dispatch(worker, step, false)) return;
    }
    const target = remaining[0]!;
    if (target.model !== worker.currentModel) {
      if (this.options.preloading) this.switchModel(worker, target);
      else {
        // No preloads: load the model of the first step with a call ready, if any.
        const ready = remaining.find(
          (step) => step.model !== worker.currentModel && this.queueOf(step.operator).peek() !== undefined,
        );
        if (ready) this.switchModel(worker, ready);
      }
      return;
    }
    const worthSwitching = remaining.find(
      (step) => step.model !== worker.currentModel && this.readyToRun(worker, step),
    );
    if (worthSwitching) this.switchModel(worker, worthSwitching);
  }

  /** A full micro-batch of the step is ready, or every call of it still to run is. */
  private readyToRun(worker: ExecutorWorker, step: PlannedStep): boolean {
    const queue = this.queueOf(step.operator);
    if (queue.peek() === undefined) return false;
    return queue.length >= this.sequenceCap(worker, step) || this.host.notReady(step.operator) === 0;
  }

  /** Step 3: ready work planned elsewhere on the model this worker holds, when no planned worker is idle on it. */
  private stealWork(worker: ExecutorWorker): void {
    if (worker.busy || worker.currentModel === undefined) return;
    const openEpoch = this.openEpoch();
    const own = this.host.schedule.stepsOf(worker.id);
    const target = own.find((step) => step.epoch <= openEpoch && !this.exhausted(step.operator));
    if (target && target.model !== worker.currentModel) return;
    for (const operator of this.host.schedule.operators()) {
      if (this.host.schedule.workersOf(operator).has(worker.id)) continue;
      if (this.options.epochBarriers && this.epochOf(operator) > openEpoch) continue;
      const head = this.queueOf(operator).peek();
      if (!head || head.operator.model !== worker.currentModel) continue;
      const plannedIdle = this.liveWorkers().some(
        (other) =>
          other !== worker &&
          !other.busy &&
          other.currentModel === worker.currentModel &&
          this.host.schedule.workersOf(operator).has(other.id),
      );
      if (plannedIdle) continue;
      const step: PlannedStep = {
        operator,
        model: worker.currentModel,
        worker: worker.id,
        epoch: Number.POSITIVE_INFINITY,
        priority: this.host.schedule.priorityOf(operator),
        batchSize: worker.maxSequences,
        prefixKv: "recompute",
      };
      if (this.dispatch(worker, step, true)) return;
    }
  }

  /** The most calls one Generate call of `step` may carry on `worker`. */
  private sequenceCap(worker: ExecutorWorker, step: PlannedStep): number {
    const adaptive = this.adaptiveCaps.get(`${worker.id}\u0000${step.operator}`) ?? Number.POSITIVE_INFINITY;
    return Math.max(1, Math.min(step.batchSize, worker.maxSequences, adaptive));
  }

  /** Starts a micro-batch of `step` on `worker` if calls are ready (or the gather window has passed). */
  private dispatch(worker: ExecutorWorker, step: PlannedStep, stolen: boolean): boolean {
    const queue = this.queueOf(step.operator);
    const head = queue.peek();
    if (!head) return false;
    const cap = this.sequenceCap(worker, step);
    if (queue.length < cap && this.host.notReady(step.operator) > 0) {
      const waitUntilMs = head.readyMs + this.options.gatherWindowMs;
      if (this.host.nowMs() < waitUntilMs) {
        this.wakeAt(waitUntilMs);
        // Holding the model for this step: do not move on to other work meanwhile.
        return !stolen;
      }
    }
    const calls: LlmCall[] = [];
    if (this.options.prefixReordering ?? true) {
      const window: LlmCall[] = [];
      for (let next = queue.shift(); next; next = window.length < lookAhead(cap) ? queue.shift() : undefined)
        window.push(next);
      const { batch, rest } = selectPrefixGroup(window, {
        cap,
        promptOf: (call) => call.request.suffix,
        fits: (taken, next) =>
          taken.reduce((total, call) => total + estimatedCallTokens(call), 0) + estimatedCallTokens(next) <=
          worker.maxBatchTokens,
      });
      queue.requeueFront(rest);
      calls.push(...batch);
    } else {
      let tokens = 0;
      for (let next = queue.peek(); next && calls.length < cap; next = queue.peek()) {
        const nextTokens = estimatedCallTokens(next);
        if (calls.length > 0 && tokens + nextTokens > worker.maxBatchTokens) break;
        queue.shift();
        calls.push(next);
        tokens += nextTokens;
      }
    }
    worker.busy = true;
    this.runningCalls.set(step.operator, (this.runningCalls.get(step.operator) ?? 0) + calls.length);
    this.runBatch(worker, step, calls, stolen)
      .catch((error: unknown) => {
        // runBatch settles its calls itself; an error here is a bug, reported on each call.
        for (const call of calls) if (call.state === "running") this.host.failCall(call, errorMessage(error));
      })
      .finally(() => {
        this.runningCalls.set(step.operator, (this.runningCalls.get(step.operator) ?? 0) - calls.length);
        worker.busy = false;
        this.pump();
      });
    return true;
  }

  private wakeAt(atMs: number): void {
    if (atMs >= this.wakeAtMs && this.wakeTimer) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAtMs = atMs;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wakeAtMs = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, atMs - this.host.nowMs()) + 1,
    );
  }

  private switchModel(worker: ExecutorWorker, step: PlannedStep): void {
    worker.busy = true;
    // A preload: no call of the step is ready yet (the load overlaps the tools its inputs wait on).
    const reason =
      step.reassignedFrom !== undefined
        ? "failover"
        : this.queueOf(step.operator).peek() === undefined
          ? "preload"
          : "switch";
    this.loadModel(worker, step.model, reason)
      .catch((error: unknown) => this.onLoadFailure(worker, step.model, error))
      .finally(() => {
        worker.busy = false;
        this.pump();
      });
  }

  /**
   * A model load failed. The executor no longer answering: it is lost. A
   * transient failure: the calls wait for the worker's backoff. Otherwise the
   * executor cannot serve the model: its steps of that model move to workers
   * that may (the operators no worker can serve fail their queries).
   */
  private async onLoadFailure(
    worker: ExecutorWorker,
    model: string,
    error: unknown,
    calls: readonly LlmCall[] = [],
  ): Promise<void> {
    const outcome = await this.classifyFailure(worker, error);
    if (outcome === "aborted") return;
    for (const call of calls) call.state = "queued";
    if (outcome === "lost") {
      this.markLost(worker, errorMessage(error), calls.length);
      this.requeue(worker, [...calls], 0);
      return;
    }
    if (outcome === "retry") {
      this.requeue(worker, [...calls], this.host.retry.maxBackoffMs);
      return;
    }
    this.requeue(worker, [...calls], 0);
    const message = `executor ${worker.address} cannot load ${model}: ${errorMessage(error)}`;
    this.unservable.add(`${worker.id}\u0000${model}`);
    const candidates = this.liveWorkers().filter(
      (other) => other !== worker && !this.unservable.has(`${other.id}\u0000${model}`),
    );
    const { moves, stranded } = this.host.schedule.reassignModel(
      worker.id,
      model,
      candidates.map((candidate) => ({ id: candidate.id, currentModel: candidate.currentModel })),
    );
    for (const operator of stranded) {
      this.failedOperators.set(operator, message);
      for (const call of this.queueOf(operator).drain()) this.host.failCall(call, message);
    }
    this.host.publish({
      type: "model-unavailable",
      atMs: this.host.nowMs(),
      worker: worker.id,
      model,
      message,
      reassigned: moves,
      failedOperators: stranded,
    });
  }

  private async runBatch(
    worker: ExecutorWorker,
    step: PlannedStep,
    calls: readonly LlmCall[],
    stolen: boolean,
  ): Promise<void> {
    const operator = calls[0]!.operator;
    const model = operator.model;
    if (worker.currentModel !== model || !worker.loadedModels.has(model)) {
      try {
        await this.loadModel(worker, model, step.reassignedFrom !== undefined ? "failover" : "switch");
      } catch (error) {
        await this.onLoadFailure(worker, model, error, calls);
        return;
      }
    }
    const request = calls[0]!.request;
    const sharePrefix = this.host.prefixSharing && request.prefix.length > 0;
    if (sharePrefix && step.prefixKv === "migrate" && step.migrateFrom !== undefined) {
      await this.migratePrefix(worker, step, request.prefixKey, model);
    }
    const { unfinished, error, figures } = await this.generate(
      worker,
      calls,
      {
        model,
        ...(sharePrefix ? { sharedPrefix: { key: request.prefixKey, text: request.prefix } } : {}),
        items: calls.map((call) => generateItemOf(call, sharePrefix)),
      },
      operator.id,
      stolen,
    );
    if (figures && figures.engineBatches > 1 && figures.largestBatchSize < calls.length) {
      // The executor had to split the call (its token limit): send smaller calls from now on.
      this.adaptiveCaps.set(`${worker.id}\u0000${step.operator}`, Math.max(1, figures.largestBatchSize));
    }
    if (error === undefined) return;
    await this.settleFailure(worker, unfinished, error, (requeued, delayMs) =>
      this.requeue(worker, requeued, delayMs),
    );
  }

  /** Puts calls back at the front of their queue; after a transient failure the worker waits `delayMs` first. */
  private requeue(worker: ExecutorWorker, calls: LlmCall[], delayMs: number): void {
    const byOperator = new Map<string, LlmCall[]>();
    for (const call of calls)
      byOperator.set(call.operator.id, [...(byOperator.get(call.operator.id) ?? []), call]);
    for (const [operator, list] of byOperator) this.queueOf(operator).requeueFront(list);
    if (delayMs > 0) {
      worker.backoffUntilMs = this.host.nowMs() + delayMs;
      this.wakeAt(worker.backoffUntilMs);
    }
  }

  /**
   * Moves the static prefix's KV from the worker the plan names (export →
   * import) before the step's first batch here; when the source does not hold
   * it or the transfer fails, the executor recomputes it (reported as a fallback).
   */
  private async migratePrefix(
    worker: ExecutorWorker,
    step: PlannedStep,
    key: string,
    model: string,
  ): Promise<void> {
    const marker = `${worker.id}\u0000${key}`;
    if (this.migrated.has(marker) || worker.residentPrefixes.has(key) || !this.host.migration) return;
    this.migrated.add(marker);
    const source = this.host.workers.find((candidate) => candidate.id === step.migrateFrom);
    const startedMs = this.host.nowMs();
    const report = (ok: boolean, bytes: number, fallback?: string) =>
      this.host.publish({
        type: "kv-migration",
        atMs: this.host.nowMs(),
        operator: step.operator,
        from: step.migrateFrom!,
        to: worker.id,
        key,
        ok,
        bytes,
        ms: this.host.nowMs() - startedMs,
        ...(fallback === undefined ? {} : { fallback }),
      });
    if (!source?.alive) {
      report(false, 0, `source worker ${step.migrateFrom} is not available; recomputing`);
      return;
    }
    let bytes = 0;
    try {
      const chunks = source.client.exportKv(key, { signal: source.callSignal(this.host.signal) });
      const counted = (async function* () {
        for await (const chunk of chunks) {
          bytes += chunk.byteLength;
          yield chunk;
        }
      })();
      await worker.client.importKv(key, model, counted, { signal: worker.callSignal(this.host.signal) });
      worker.residentPrefixes.add(key);
      report(true, bytes);
    } catch (error) {
      report(false, bytes, `${errorMessage(error)}; recomputing`);
    }
  }
}
