import type { GenerateItem } from "./engine-v1.js";

/** Limits of one engine batch. */
export interface BatchLimits {
  readonly maxSequences: number;
  readonly maxBatchTokens: number;
}

/** What the planner needs to know of a queued Generate call. */
export interface QueuedCallView {
  /** Calls share an engine batch only when their group keys are equal (same model and prefix key). */
  readonly groupKey: string;
  readonly prefixText: string;
  readonly items: readonly GenerateItem[];
  /** Index of the first item not yet handed to the engine. */
  readonly next: number;
}

/** Items `[start, end)` of the call at `callIndex` go into the batch. */
export interface PlannedSlice {
  readonly callIndex: number;
  readonly start: number;
  readonly end: number;
}

/**
 * Characters per token assumed when estimating: fewer than real tokenizers
 * average (~4), so the estimate errs high and batches rarely exceed the
 * engine's token limit (when they do, the sidecar splits them).
 */
const ESTIMATE_CHARACTERS_PER_TOKEN = 3;

/** Upper estimate of the tokens an item occupies in a batch: prefix + prompt + generation. */
export function estimateItemTokens(prefixText: string, item: GenerateItem): number {
  return (
    Math.ceil(prefixText.length / ESTIMATE_CHARACTERS_PER_TOKEN) +
    Math.ceil(item.prompt.length / ESTIMATE_CHARACTERS_PER_TOKEN) +
    item.maxTokens
  );
}

/**
 * Chooses the next engine batch: the oldest call with work decides the group
 * (model + shared-prefix key); its items and those of later calls of the same
 * group are taken in arrival order until the sequence or token limit. Item
 * ids must be unique in a batch, so a call whose ids collide with items
 * already taken waits for the next batch. The first item is always taken.
 */
export function planBatch(calls: readonly QueuedCallView[], limits: BatchLimits): PlannedSlice[] {
  const headIndex = calls.findIndex((call) => call.next < call.items.length);
  if (headIndex < 0) return [];
  const groupKey = calls[headIndex]!.groupKey;
  const slices: PlannedSlice[] = [];
  const ids = new Set<string>();
  let sequences = 0;
  let tokens = 0;
  for (let callIndex = headIndex; callIndex < calls.length; callIndex++) {
    const call = calls[callIndex]!;
    if (call.groupKey !== groupKey || call.next >= call.items.length) continue;
    const remaining = call.items.slice(call.next);
    if (remaining.some((item) => ids.has(item.id))) continue;
    let end = call.next;
    for (const item of remaining) {
      const itemTokens = estimateItemTokens(call.prefixText, item);
      const first = sequences === 0;
      if (!first && (sequences + 1 > limits.maxSequences || tokens + itemTokens > limits.maxBatchTokens))
        break;
      sequences++;
      tokens += itemTokens;
      ids.add(item.id);
      end++;
    }
    if (end > call.next) slices.push({ callIndex, start: call.next, end });
    if (end < call.items.length) break;
  }
  return slices;
}

/** Whether the batch `planBatch` would return is already full (no reason to wait for more calls). */
export function isBatchFull(calls: readonly QueuedCallView[], limits: BatchLimits): boolean {
  const slices = planBatch(calls, limits);
  const sequences = slices.reduce((total, slice) => total + slice.end - slice.start, 0);
  if (sequences >= limits.maxSequences) return true;
  // A call cut short means a limit stopped the batch.
  return slices.some((slice) => slice.end < calls[slice.callIndex]!.items.length);
}
