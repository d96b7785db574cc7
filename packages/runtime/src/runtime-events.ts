/**
 * What a Processor reports while it runs: a discriminated union of typed
 * events (times in ms since the run started), delivered to `onEvent` and to
 * every `events()` subscriber. The CLI's progress display is built from them.
 */
import type { RunSummary } from "./run-summary.js";

/** How LLM work is dispatched: plan-adherent micro-batches, or one request per call (the `naive` baseline). */
export type ExecutionMode = "batched" | "per-query";

/** Why a worker loaded a model. */
export type ModelLoadReason = "preload" | "switch" | "failover" | "per-query-placement";

export type RuntimeEvent =
  | {
      readonly type: "run-started";
      readonly atMs: number;
      readonly workflow: string;
      readonly strategy: string;
      readonly mode: ExecutionMode;
      /** Queries this run executes (after skipping those already in the sink). */
      readonly queries: number;
      readonly skipped: number;
      readonly workers: readonly { readonly id: string; readonly address: string }[];
      readonly disabledOptimizations: readonly string[];
    }
  | { readonly type: "query-started"; readonly atMs: number; readonly queryId: string }
  | {
      readonly type: "query-finished";
      readonly atMs: number;
      readonly queryId: string;
      readonly ok: boolean;
      readonly error?: { readonly operator: string; readonly message: string };
    }
  | {
      readonly type: "batch-dispatched";
      readonly atMs: number;
      readonly batchId: string;
      readonly operator: string;
      readonly worker: string;
      readonly model: string;
      /** Generate items (distinct requests) in the call. */
      readonly items: number;
      /** Operator instances the items serve (items plus coalesced consumers). */
      readonly instances: number;
      /** True when the operator was planned on another worker (work taken to avoid idling). */
      readonly stolen: boolean;
    }
  | {
      readonly type: "batch-finished";
      readonly atMs: number;
      readonly batchId: string;
      readonly operator: string;
      readonly worker: string;
      readonly model: string;
      readonly items: number;
      /** Items that got an answer (the rest failed, or go back to the queue after a failed call). */
      readonly answeredItems: number;
      readonly failedItems: number;
      readonly promptTokens: number;
      readonly cachedTokens: number;
      readonly generatedTokens: number;
      readonly prefixPrefilledTokens: number;
      readonly wallMs: number;
      /** Set when the call failed as a whole (its unfinished items were retried, moved or failed). */
      readonly error?: string;
    }
  | {
      readonly type: "model-load";
      readonly atMs: number;
      readonly worker: string;
      readonly model: string;
      readonly reason: ModelLoadReason;
      readonly loadMs: number;
      readonly alreadyLoaded: boolean;
      readonly unloaded: readonly string[];
    }
  | {
      readonly type: "kv-migration";
      readonly atMs: number;
      readonly operator: string;
      readonly from: string;
      readonly to: string;
      readonly key: string;
      readonly ok: boolean;
      readonly bytes: number;
      readonly ms: number;
      /** Why the KV was recomputed instead (the source lacked it, a transfer failed). */
      readonly fallback?: string;
    }
  | {
      readonly type: "executor-lost";
      readonly atMs: number;
      readonly worker: string;
      readonly address: string;
      readonly reason: string;
      /** LLM calls that were running there and went back to the queue. */
      readonly requeuedCalls: number;
      /** Operators whose planned work moved to another worker. */
      readonly reassigned: readonly { readonly operator: string; readonly to: string }[];
    }
  | {
      readonly type: "model-unavailable";
      readonly atMs: number;
      readonly worker: string;
      readonly model: string;
      readonly message: string;
      /** Operators whose planned work moved to another worker. */
      readonly reassigned: readonly { readonly operator: string; readonly to: string }[];
      /** Operators no live worker can serve: their queries fail with `message`. */
      readonly failedOperators: readonly string[];
    }
  | {
      readonly type: "retry";
      readonly atMs: number;
      readonly scope: "generate" | "load-model" | "sql" | "http";
      readonly operator?: string;
      readonly worker?: string;
      readonly attempt: number;
      readonly delayMs: number;
      readonly message: string;
    }
  | { readonly type: "run-finished"; readonly atMs: number; readonly summary: RunSummary };

/** Fans events out to subscribers; each subscriber gets every event published after it subscribed. */
export class EventStream {
  private readonly subscribers = new Set<EventSubscriber>();
  private closed = false;

  constructor(private readonly listener?: (event: RuntimeEvent) => void) {}

  publish(event: RuntimeEvent): void {
    if (this.closed) return;
    try {
      this.listener?.(event);
    } catch {
      // A listener's bug must not stop the run; subscribers still get the event.
    }
    for (const subscriber of this.subscribers) subscriber.push(event);
  }

  /** An iterable of the events from now on; it ends when the stream closes. */
  subscribe(): AsyncIterable<RuntimeEvent> {
    const subscriber = new EventSubscriber(() => this.subscribers.delete(subscriber));
    if (this.closed) subscriber.end();
    else this.subscribers.add(subscriber);
    return subscriber;
  }

  /** Ends every subscription (after the events already published). */
  close(): void {
    this.closed = true;
    for (const subscriber of this.subscribers) subscriber.end();
    this.subscribers.clear();
  }
}

class EventSubscriber implements AsyncIterable<RuntimeEvent> {
  private readonly buffer: RuntimeEvent[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  constructor(private readonly unsubscribe: () => void) {}

  push(event: RuntimeEvent): void {
    this.buffer.push(event);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RuntimeEvent> {
    try {
      while (true) {
        const next = this.buffer.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
      }
    } finally {
      this.unsubscribe();
    }
  }
}
