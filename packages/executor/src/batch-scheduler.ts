import { setTimeout as delay } from "node:timers/promises";
import type { BatchFigures, ExecutorEvent } from "@halo/protocol";
import { type BatchLimits, isBatchFull, planBatch } from "./batch-planner.js";
import type { EngineLock } from "./engine-lock.js";
import {
  EngineError,
  type EngineV1,
  type GenerateEvent,
  type GenerateItem,
  type SharedPrefix,
} from "./engine-v1.js";

/** How the sidecar merges concurrent Generate calls into engine batches. */
export interface BatchingOptions {
  /**
   * While several calls are open and the last arrived less than this long
   * ago, wait this long for more before dispatching (default 3 ms). A lone
   * call is dispatched at once.
   */
  readonly windowMs?: number;
  /** Longest total wait for more calls before a batch is dispatched (default 10 ms). */
  readonly maxCollectMs?: number;
  /** Cap below the engine's `maxSequences` (default: the engine's). */
  readonly maxSequences?: number;
  /** Cap below the engine's `maxBatchTokens` (default: the engine's). */
  readonly maxBatchTokens?: number;
  /**
   * Merge calls of one model whatever their shared prefixes, each item
   * carrying its own (default false; set from the engine's `mixedPrefixes`).
   */
  readonly mixedPrefixes?: boolean;
}

/** A Generate call as the scheduler receives it (already validated). */
export interface ScheduledCallInput {
  readonly model: string;
  readonly sharedPrefix?: SharedPrefix;
  readonly items: readonly GenerateItem[];
  readonly streamTokens: boolean;
}

/** Where a call's results go: events (the last one is `batch-finished`), or one failure. */
export interface CallSink {
  event(event: ExecutorEvent): void;
  /** The call failed as a whole (its status is derived from the error). */
  fail(error: unknown): void;
}

/** Counters of the scheduler (reported by Stats). */
export interface SchedulerStats {
  readonly queuedCalls: number;
  readonly queuedItems: number;
  readonly generateCalls: number;
  readonly engineBatches: number;
  readonly mergedBatches: number;
}

interface PendingCall {
  readonly id: number;
  readonly input: ScheduledCallInput;
  readonly groupKey: string;
  readonly prefixText: string;
  readonly items: readonly GenerateItem[];
  readonly arrivedAt: number;
  readonly sink: CallSink;
  readonly figures: { -readonly [K in keyof BatchFigures]: BatchFigures[K] };
  next: number;
  outstanding: number;
  /** Cancelled by the client, failed or completed: no more output. */
  closed: boolean;
  cancelled: boolean;
}

interface BatchEntry {
  readonly call: PendingCall;
  readonly item: GenerateItem;
}

interface EngineBatch {
  readonly model: string;
  readonly sharedPrefix?: SharedPrefix;
  readonly entries: readonly BatchEntry[];
}

/** Engine errors that depend on the composition of a batch: splitting it can help. */
const COMPOSITION_ERRORS: ReadonlySet<string> = new Set(["over-limits"]);

/**
 * Adaptive batching over one engine: queued Generate calls with the same
 * model and shared-prefix key are merged into engine batches (within the
 * engine's limits), one engine call at a time through the engine lock. A bad
 * batch is split so that one call's bad input never fails another call.
 */
export class BatchScheduler {
  private readonly calls: PendingCall[] = [];
  /** Sub-batches of a failed batch, run before new work and never merged again. */
  private readonly retries: EngineBatch[] = [];
  private readonly windowMs: number;
  private readonly maxCollectMs: number;
  private readonly mixedPrefixes: boolean;
  private nextCallId = 1;
  private pumping = false;
  private lastArrivalAt = Number.NEGATIVE_INFINITY;
  /** Calls submitted and not yet completed, failed or cancelled. */
  private openCalls = 0;
  private running:
    | { readonly calls: ReadonlySet<PendingCall>; readonly controller: AbortController }
    | undefined;
  private idleWaiters: (() => void)[] = [];
  private counters = { generateCalls: 0, engineBatches: 0, mergedBatches: 0 };

  constructor(
    private readonly engine: EngineV1,
    private readonly lock: EngineLock,
    private readonly limits: BatchLimits,
    options: BatchingOptions,
    /** Called (under the engine lock) after a batch used a shared prefix. */
    private readonly afterPrefixUse: (key: string) => Promise<void>,
  ) {
    this.windowMs = options.windowMs ?? 3;
    this.maxCollectMs = options.maxCollectMs ?? 10;
    this.mixedPrefixes = options.mixedPrefixes ?? false;
  }

  get stats(): SchedulerStats {
    const queued = this.calls.filter((call) => !call.closed && call.next < call.items.length);
    return {
      queuedCalls: queued.length,
      queuedItems: queued.reduce((total, call) => total + call.items.length - call.next, 0),
      ...this.counters,
    };
  }

  /** Shared-prefix keys that queued calls will use (kept from eviction when possible). */
  queuedPrefixKeys(): Set<string> {
    const keys = new Set<string>();
    for (const call of this.calls) {
      if (!call.closed && call.input.sharedPrefix) keys.add(call.input.sharedPrefix.key);
    }
    for (const batch of this.retries) if (batch.sharedPrefix) keys.add(batch.sharedPrefix.key);
    return keys;
  }

  /** Queues a call; returns its cancel function (no output is sent after it). */
  submit(input: ScheduledCallInput, sink: CallSink): () => void {
    const now = performance.now();
    this.lastArrivalAt = now;
    this.counters.generateCalls++;
    const call: PendingCall = {
      id: this.nextCallId++,
      input,
      groupKey: this.mixedPrefixes ? input.model : `${input.model}\u0000${input.sharedPrefix?.key ?? ""}`,
      prefixText: input.sharedPrefix?.text ?? "",
      items: input.items,
      arrivedAt: now,
      sink,
      figures: {
        items: input.items.length,
        promptTokens: 0,
        cachedTokens: 0,
        generatedTokens: 0,
        prefillMs: 0,
        decodeMs: 0,
        queueMs: 0,
        loadMs: 0,
        engineBatches: 0,
        largestBatchSize: 0,
        prefixPrefilledTokens: 0,
        wallMs: 0,
      },
      next: 0,
      outstanding: input.items.length,
      closed: false,
      cancelled: false,
    };
    this.calls.push(call);
    this.openCalls++;
    void this.pump();
    return () => this.cancel(call);
  }

  /** Resolves when no call is queued or running. */
  whenIdle(): Promise<void> {
    if (!this.pumping && this.calls.length === 0 && this.retries.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private cancel(call: PendingCall): void {
    if (call.closed) return;
    this.close(call);
    call.cancelled = true;
    call.next = call.items.length;
    this.prune();
    // Stop the engine only when nobody else waits for the running batch.
    if (this.running?.calls.has(call) && [...this.running.calls].every((other) => other.closed)) {
      this.running.controller.abort();
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.retries.length > 0 || this.calls.some((call) => call.next < call.items.length)) {
        if (this.retries.length === 0) await this.collect();
        await this.lock.run(async () => {
          const batch = this.retries.shift() ?? this.plan();
          if (batch) await this.execute(batch);
        });
      }
    } finally {
      this.pumping = false;
      if (this.calls.length === 0 && this.retries.length === 0) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      } else {
        void this.pump();
      }
    }
  }

  /**
   * Waits while calls keep arriving and the next batch is not full yet
   * (bounded by maxCollectMs). A lone open call never waits: a client that
   * sends one call after another must not pay the window on every call.
   */
  private async collect(): Promise<void> {
    const startedAt = performance.now();
    while (
      this.openCalls >= 2 &&
      performance.now() - this.lastArrivalAt < this.windowMs &&
      performance.now() - startedAt < this.maxCollectMs &&
      !isBatchFull(this.calls, this.limits)
    ) {
      await delay(this.windowMs);
    }
  }

  private plan(): EngineBatch | undefined {
    const slices = planBatch(this.calls, this.limits);
    if (slices.length === 0) return undefined;
    const entries: BatchEntry[] = [];
    for (const slice of slices) {
      const call = this.calls[slice.callIndex]!;
      for (const item of call.items.slice(slice.start, slice.end)) entries.push({ call, item });
      call.next = slice.end;
    }
    const head = entries[0]!.call;
    this.prune();
    const prefixKey = head.input.sharedPrefix?.key;
    if (entries.every((entry) => entry.call.input.sharedPrefix?.key === prefixKey)) {
      return { model: head.input.model, sharedPrefix: head.input.sharedPrefix, entries };
    }
    // Calls with different prefixes (mixedPrefixes): each item carries its call's prefix.
    return {
      model: head.input.model,
      entries: entries.map((entry) =>
        entry.call.input.sharedPrefix
          ? { call: entry.call, item: { ...entry.item, sharedPrefix: entry.call.input.sharedPrefix } }
          : entry,
      ),
    };
  }

  /** Drops fully dispatched or closed calls from the queue (they complete through their batches). */
  private prune(): void {
    for (let index = this.calls.length - 1; index >= 0; index--) {
      const call = this.calls[index]!;
      if (call.closed || call.next >= call.items.length) this.calls.splice(index, 1);
    }
  }

  private async execute(batch: EngineBatch): Promise<void> {
    const entries = batch.entries.filter((entry) => !entry.call.closed);
    if (entries.length === 0) return;
    const calls = new Set(entries.map((entry) => entry.call));
    const startedAt = performance.now();
    this.counters.engineBatches++;
    if (calls.size > 1) this.counters.mergedBatches++;
    const queueMs = new Map<BatchEntry, number>();
    for (const entry of entries) {
      const waited = startedAt - entry.call.arrivedAt;
      queueMs.set(entry, waited);
      entry.call.figures.queueMs = Math.max(entry.call.figures.queueMs, waited);
    }

    const controller = new AbortController();
    this.running = { calls, controller };
    const pending = new Map(entries.map((entry) => [entry.item.id, entry]));
    let emitted = false;
    try {
      const load = await this.engine.doLoadModel({ model: batch.model, signal: controller.signal });
      if (!load.alreadyLoaded) for (const call of calls) call.figures.loadMs += load.loadMs;
      const events = this.engine.doGenerate({
        model: batch.model,
        sharedPrefix: batch.sharedPrefix,
        items: entries.map((entry) => entry.item),
        signal: controller.signal,
      });
      for await (const event of events) {
        emitted = true;
        this.route(event, pending, queueMs, calls);
      }
    } catch (error) {
      if (!emitted && this.splitAfter(error, batch, entries, calls)) return;
      for (const call of calls) this.failCall(call, error);
    } finally {
      this.running = undefined;
    }
    for (const entry of pending.values()) {
      this.itemFailed(
        entry,
        "internal",
        `the engine ended the batch without a result for item "${entry.item.id}"`,
      );
    }
    for (const call of calls) this.completeIfDone(call);
    const usedKeys = new Set(
      [...calls].flatMap((call) => (call.input.sharedPrefix ? [call.input.sharedPrefix.key] : [])),
    );
    for (const key of usedKeys) await this.afterPrefixUse(key);
  }

  /**
   * Re-queues the parts of a batch the engine rejected before any output:
   * halves on a composition error (one item left: that item fails), one
   * batch per call for other bad input of a merged batch. False when the
   * error belongs to the whole (single-call) batch.
   */
  private splitAfter(
    error: unknown,
    batch: EngineBatch,
    entries: readonly BatchEntry[],
    calls: ReadonlySet<PendingCall>,
  ): boolean {
    if (!(error instanceof EngineError)) return false;
    const subBatch = (part: readonly BatchEntry[]): EngineBatch => ({ ...batch, entries: part });
    if (COMPOSITION_ERRORS.has(error.code)) {
      if (entries.length === 1) {
        this.itemFailed(entries[0]!, error.code, error.message);
        this.completeIfDone(entries[0]!.call);
        return true;
      }
      const middle = Math.ceil(entries.length / 2);
      this.retries.unshift(subBatch(entries.slice(0, middle)), subBatch(entries.slice(middle)));
      return true;
    }
    if (calls.size > 1) {
      this.retries.unshift(
        ...[...calls].map((call) => subBatch(entries.filter((entry) => entry.call === call))),
      );
      return true;
    }
    return false;
  }

  private route(
    event: GenerateEvent,
    pending: Map<string, BatchEntry>,
    queueMs: ReadonlyMap<BatchEntry, number>,
    calls: ReadonlySet<PendingCall>,
  ): void {
    if (event.type === "batch-finished") {
      for (const call of calls) {
        call.figures.engineBatches++;
        call.figures.prefillMs += event.figures.prefillMs;
        call.figures.decodeMs += event.figures.decodeMs;
        call.figures.prefixPrefilledTokens += event.figures.prefixPrefilledTokens;
        call.figures.largestBatchSize = Math.max(call.figures.largestBatchSize, event.figures.batchSize);
      }
      return;
    }
    const entry = pending.get(event.itemId);
    if (!entry) return;
    const call = entry.call;
    if (event.type === "token") {
      if (call.input.streamTokens && !call.closed) call.sink.event(event);
      return;
    }
    pending.delete(event.itemId);
    if (event.type === "item-failed") {
      this.itemFailed(entry, event.code, event.message);
      return;
    }
    call.outstanding--;
    call.figures.promptTokens += event.figures.promptTokens;
    call.figures.cachedTokens += event.figures.cachedTokens;
    call.figures.generatedTokens += event.figures.generatedTokens;
    if (!call.closed) {
      call.sink.event({
        type: "item-finished",
        itemId: event.itemId,
        text: event.text,
        finishReason: event.finishReason,
        figures: { ...event.figures, queueMs: queueMs.get(entry) ?? 0 },
      });
    }
  }

  private itemFailed(entry: BatchEntry, code: EngineError["code"], message: string): void {
    entry.call.outstanding--;
    if (!entry.call.closed)
      entry.call.sink.event({ type: "item-failed", itemId: entry.item.id, code, message });
  }

  private completeIfDone(call: PendingCall): void {
    if (call.closed || call.next < call.items.length || call.outstanding > 0) return;
    if (this.retries.some((batch) => batch.entries.some((entry) => entry.call === call))) return;
    this.close(call);
    call.figures.wallMs = performance.now() - call.arrivedAt;
    call.sink.event({ type: "batch-finished", figures: { ...call.figures } });
  }

  private failCall(call: PendingCall, error: unknown): void {
    if (call.closed) return;
    this.close(call);
    call.next = call.items.length;
    this.prune();
    call.sink.fail(error);
  }

  private close(call: PendingCall): void {
    call.closed = true;
    this.openCalls--;
  }
}
