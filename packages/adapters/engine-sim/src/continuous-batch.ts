/**
 * A vLLM-style continuous-batching scheduler over one engine batch, step by
 * step: at most `maxSequences` sequences run at once and their KV (in
 * blocks) must fit the cache; a step processes at most `maxStepTokens`
 * tokens (one per decoding sequence, the rest prefill chunks). Requests that
 * do not fit wait; a running sequence that needs a block when none is free
 * preempts the most recently admitted one, whose KV is dropped and
 * recomputed (prompt and the tokens it generated) when it is admitted again.
 * Pure: the engine prices each step and replays it.
 */
import type { StepWork } from "@halo/profiles";

/** One sequence of the batch. */
export interface BatchSequence {
  /** Its own prompt tokens to prefill (after the shared prefix, whose KV is counted once). */
  readonly promptTokens: number;
  /** Tokens of the shared prefix before it (attended to, not stored again). */
  readonly contextOffset: number;
  /** Tokens it generates. */
  readonly outputTokens: number;
}

/** The engine's limits for the batch. */
export interface ContinuousBatchLimits {
  readonly maxSequences: number;
  readonly maxStepTokens: number;
  /** KV cache capacity in tokens (whole blocks). */
  readonly kvCapacityTokens: number;
  readonly blockTokens: number;
  /** KV tokens held by shared prefixes for the whole batch (cached or prefilled first). */
  readonly pinnedTokens: number;
  /** Shared-prefix tokens to prefill before any sequence starts (0 when cached). */
  readonly prefixPrefillTokens: number;
}

/** One step of the schedule. */
export interface ScheduledStep {
  readonly work: StepWork;
  /** Sequences (indices) that produced a token in this step. */
  readonly emitted: readonly number[];
  /** Sequences preempted before this step (their KV dropped, to be recomputed). */
  readonly preempted: readonly number[];
  /** Sequences waiting for room after this step. */
  readonly waiting: number;
  /** Sequences running (holding KV) after this step. */
  readonly running: number;
}

/** Thrown when a sequence can never fit the KV cache (the caller fails such items first). */
export class KvCapacityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KvCapacityError";
  }
}

interface SequenceState {
  readonly index: number;
  /** Tokens whose KV is in the cache. */
  computed: number;
  /** Tokens allocated in blocks. */
  allocated: number;
  generated: number;
}

/** Blocks of `tokens` tokens, in tokens. */
function blocksOf(tokens: number, blockTokens: number): number {
  return Math.ceil(tokens / blockTokens) * blockTokens;
}

/** KV tokens a sequence needs to finish: its prompt and output in whole blocks. */
export function sequenceKvTokens(sequence: BatchSequence, blockTokens: number): number {
  return blocksOf(sequence.promptTokens + sequence.outputTokens, blockTokens);
}

/** The steps of a batch, in order, until every sequence has finished. */
export function* scheduleContinuousBatch(
  sequences: readonly BatchSequence[],
  limits: ContinuousBatchLimits,
): Generator<ScheduledStep> {
  const { blockTokens, maxSequences, maxStepTokens } = limits;
  if (maxStepTokens < 1 || maxSequences < 1) throw new RangeError("a step needs room for a token");
  let free = limits.kvCapacityTokens - blocksOf(limits.pinnedTokens, blockTokens);
  if (free < 0) throw new KvCapacityError("the shared prefixes alone exceed the KV cache");
  for (const [index, sequence] of sequences.entries()) {
    if (sequenceKvTokens(sequence, blockTokens) > free) {
      throw new KvCapacityError(`sequence ${index} needs more KV than the cache holds`);
    }
  }
  let prefixLeft = limits.prefixPrefillTokens;
  let prefixDone = 0;
  const waiting: SequenceState[] = sequences.map((_, index) => ({
    index,
    computed: 0,
    allocated: 0,
    generated: 0,
  }));
  // Admission order: the last one is preempted first.
  const running: SequenceState[] = [];
  // A sequence with nothing to generate finishes when admitted, without a step of its own.
  const known = (state: SequenceState) => sequences[state.index]!.promptTokens + state.generated;

  while (waiting.length > 0 || running.length > 0 || prefixLeft > 0) {
    let budget = maxStepTokens;
    let decodeSequences = 0;
    let decodeContextTokens = 0;
    let prefillTokens = 0;
    let prefillAttentionTokens = 0;
    const emitted: number[] = [];
    const preempted: number[] = [];
    const processed: { state: SequenceState; tokens: number }[] = [];

    if (prefixLeft > 0) {
      const chunk = Math.min(budget, prefixLeft);
      prefillTokens += chunk;
      prefillAttentionTokens += chunk * (prefixDone + chunk / 2);
      prefixDone += chunk;
      prefixLeft -= chunk;
      budget -= chunk;
    }
    if (prefixLeft === 0) {
      // Running sequences first, in admission order; each grows its blocks or preempts the latest.
      for (let position = 0; position < running.length && budget > 0; position++) {
        const state = running[position]!;
        const tokens = Math.min(budget, known(state) - state.computed);
        const needed = blocksOf(state.computed + tokens, blockTokens) - state.allocated;
        while (needed > free && running.length > position + 1) {
          const victim = running.pop()!;
          free += victim.allocated;
          victim.allocated = 0;
          victim.computed = 0;
          waiting.unshift(victim);
          preempted.push(victim.index);
        }
        if (needed > free) {
          // Only this one is left to preempt: it waits for room (the others finish first).
          running.splice(position, 1);
          free += state.allocated;
          state.allocated = 0;
          state.computed = 0;
          waiting.unshift(state);
          preempted.push(state.index);
          position--;
          continue;
        }
        free -= needed;
        state.allocated += needed;
        processed.push({ state, tokens });
        budget -= tokens;
      }
      // Then waiting sequences, first come first served, while sequences, tokens and blocks allow.
      while (waiting.length > 0 && running.length < maxSequences && budget > 0) {
        const state = waiting[0]!;
        const reserve = blocksOf(known(state), blockTokens);
        if (reserve > free) break;
        waiting.shift();
        free -= reserve;
        state.allocated = reserve;
        running.push(state);
        const tokens = Math.min(budget, known(state) - state.computed);
        processed.push({ state, tokens });
        budget -= tokens;
      }
      if (processed.length === 0 && waiting.length > 0 && running.length === 0) {
        throw new KvCapacityError("no sequence fits the KV cache");
      }
    }

    for (const { state, tokens } of processed) {
      const sequence = sequences[state.index]!;
      const position = sequence.contextOffset + state.computed;
      const isDecode = known(state) - state.computed === 1 && state.generated > 0;
      if (isDecode) {
        decodeSequences += 1;
        decodeContextTokens += position + 1;
      } else {
        prefillTokens += tokens;
        prefillAttentionTokens += tokens * (position + tokens / 2);
      }
      state.computed += tokens;
      if (state.computed === known(state)) {
        // The whole known sequence is in the cache: the step samples its next token.
        if (state.generated < sequence.outputTokens) {
          state.generated += 1;
          emitted.push(state.index);
        }
        if (state.generated >= sequence.outputTokens) {
          running.splice(running.indexOf(state), 1);
          free += state.allocated;
          state.allocated = 0;
        }
      }
    }
    yield {
      work: { decodeSequences, decodeContextTokens, prefillTokens, prefillAttentionTokens },
      emitted,
      preempted,
      waiting: waiting.length,
      running: running.length,
    };
  }
}
