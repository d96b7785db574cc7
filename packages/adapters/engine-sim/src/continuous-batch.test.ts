import { describe, expect, it } from "vitest";
import {
  type BatchSequence,
  type ContinuousBatchLimits,
  KvCapacityError,
  type ScheduledStep,
  scheduleContinuousBatch,
} from "./continuous-batch.js";

const limits = (overrides: Partial<ContinuousBatchLimits> = {}): ContinuousBatchLimits => ({
  maxSequences: 1024,
  maxStepTokens: 8192,
  kvCapacityTokens: 1_000_000,
  blockTokens: 16,
  pinnedTokens: 0,
  prefixPrefillTokens: 0,
  ...overrides,
});
const sequences = (count: number, promptTokens: number, outputTokens: number): BatchSequence[] =>
  Array.from({ length: count }, () => ({ promptTokens, contextOffset: 0, outputTokens }));
const run = (list: readonly BatchSequence[], options: ContinuousBatchLimits): ScheduledStep[] => [
  ...scheduleContinuousBatch(list, options),
];
const emittedPer = (steps: readonly ScheduledStep[], count: number) => {
  const tokens = Array.from({ length: count }, () => 0);
  for (const step of steps) for (const index of step.emitted) tokens[index]! += 1;
  return tokens;
};

describe("scheduleContinuousBatch", () => {
  it("prefills everything in one step when it fits, then decodes one token per sequence per step", () => {
    const steps = run(sequences(4, 100, 5), limits());
    expect(steps).toHaveLength(5);
    expect(steps[0]!.work.prefillTokens).toBe(400);
    expect(steps[0]!.emitted).toEqual([0, 1, 2, 3]);
    expect(steps[1]!.work).toMatchObject({ decodeSequences: 4, prefillTokens: 0 });
    expect(steps[1]!.work.decodeContextTokens).toBe(4 * 101);
    expect(emittedPer(steps, 4)).toEqual([5, 5, 5, 5]);
    expect(steps.every((step) => step.preempted.length === 0)).toBe(true);
  });

  it("chunks prefill at max_num_batched_tokens and runs at most max_num_seqs at once", () => {
    const steps = run(sequences(10, 1000, 3), limits({ maxStepTokens: 2048, maxSequences: 4 }));
    expect(Math.max(...steps.map((step) => step.work.prefillTokens + step.work.decodeSequences))).toBe(2048);
    expect(Math.max(...steps.map((step) => step.running))).toBeLessThanOrEqual(4);
    expect(emittedPer(steps, 10)).toEqual(Array.from({ length: 10 }, () => 3));
  });

  it("queues what the KV cache cannot hold and admits it as sequences finish", () => {
    // Each sequence needs 112 + 16 tokens of blocks at most; 4 fit in 512 tokens.
    const steps = run(sequences(8, 100, 10), limits({ kvCapacityTokens: 512 }));
    expect(steps[0]!.running).toBe(4);
    expect(steps[0]!.waiting).toBe(4);
    expect(emittedPer(steps, 8)).toEqual(Array.from({ length: 8 }, () => 10));
    // Twice the steps of a cache that holds all eight.
    const roomy = run(sequences(8, 100, 10), limits());
    expect(steps.length).toBeGreaterThanOrEqual(2 * roomy.length - 1);
  });

  it("preempts the most recently admitted sequence when a running one outgrows the cache, and recomputes it", () => {
    // Prompts of 16 tokens (one block each) all fit at admission; growing to 48 tokens they do not.
    const steps = run(sequences(6, 16, 32), limits({ kvCapacityTokens: 6 * 16 + 32 }));
    const preempted = steps.flatMap((step) => step.preempted);
    expect(preempted.length).toBeGreaterThan(0);
    // The latest admitted go first.
    expect(preempted[0]).toBe(5);
    // Every sequence still produces all its tokens, once.
    expect(emittedPer(steps, 6)).toEqual(Array.from({ length: 6 }, () => 32));
    // A recomputed sequence prefills its prompt and the tokens it had generated.
    const prefilled = steps.reduce((total, step) => total + step.work.prefillTokens, 0);
    expect(prefilled).toBeGreaterThan(6 * 16);
  });

  it("prefills an uncached shared prefix first and keeps its KV for the whole batch", () => {
    const steps = run(
      [
        { promptTokens: 10, contextOffset: 300, outputTokens: 2 },
        { promptTokens: 10, contextOffset: 300, outputTokens: 2 },
      ],
      limits({ pinnedTokens: 300, prefixPrefillTokens: 300, maxStepTokens: 256 }),
    );
    expect(steps[0]!.work.prefillTokens).toBe(256);
    expect(steps[0]!.emitted).toEqual([]);
    expect(steps[1]!.work.prefillTokens).toBe(44 + 20);
    expect(emittedPer(steps, 2)).toEqual([2, 2]);
  });

  it("refuses a sequence that can never fit", () => {
    expect(() => run(sequences(1, 1000, 10), limits({ kvCapacityTokens: 512 }))).toThrow(KvCapacityError);
  });
});
