import {
  type BatchFigures,
  EngineError,
  type GenerateEvent,
  type GenerateItem,
  type GenerateOptions,
  type ItemFigures,
} from "@halo/executor";
import {
  type LlamaContextSequence,
  type LlamaGrammar,
  LlamaGrammarEvaluationState,
  type Token,
} from "node-llama-cpp";
import { AsyncEventQueue } from "./async-event-queue.js";
import type { GrammarCache } from "./grammar-cache.js";
import { InvalidJsonSchemaError } from "./json-schema-text.js";
import type { KvStateStore } from "./kv-state-store.js";
import type { LoadedModel } from "./model-lifecycle.js";
import { promptTokens, stablePrefixTokens } from "./prompt-tokens.js";
import { StepBarrier } from "./step-barrier.js";

interface PreparedItem {
  readonly item: GenerateItem;
  readonly tokens: readonly Token[];
  readonly grammar?: LlamaGrammar;
}

type Assignment = PreparedItem & { readonly sequence: LlamaContextSequence };

function nowMs(): number {
  return performance.now();
}

/**
 * Decodes one batch on a loaded model: tokenizes and checks the items, puts cached KV in
 * place (shared prefix, automatic reuse), prefills each prompt alone, then decodes all
 * items in lockstep, one token of every active sequence per llama.cpp decode call.
 */
export class BatchDecoder {
  constructor(
    private readonly maxSequences: number,
    private readonly automaticPrefixReuse: boolean,
    private readonly kv: KvStateStore,
    private readonly grammars: GrammarCache,
  ) {}

  /** The batch's events, ending with `batch-finished`; `startedAt` is when the batch got the engine. */
  async *run(
    loaded: LoadedModel,
    options: GenerateOptions,
    startedAt: number,
  ): AsyncGenerator<GenerateEvent> {
    const prefixText = options.sharedPrefix?.text ?? "";
    const failures: GenerateEvent[] = [];
    const prepared: PreparedItem[] = [];
    for (const item of options.items) {
      const failure = (code: "prompt-too-long" | "invalid-json-schema" | "over-limits", message: string) =>
        failures.push({
          type: "item-failed",
          itemId: item.id,
          code,
          message: `item "${item.id}": ${message}`,
        });
      if (!Number.isInteger(item.maxTokens) || item.maxTokens < 1) {
        failure("over-limits", `maxTokens must be a positive integer (got ${item.maxTokens})`);
        continue;
      }
      const tokens = promptTokens(loaded, prefixText + item.prompt);
      if (tokens.length + item.maxTokens > loaded.contextLength) {
        failure(
          "prompt-too-long",
          `a prompt of ${tokens.length} tokens plus ${item.maxTokens} to generate exceeds the context of ${loaded.contextLength} tokens`,
        );
        continue;
      }
      let grammar: LlamaGrammar | undefined;
      if (item.jsonSchema !== undefined) {
        try {
          grammar = await this.grammars.grammarFor(item.jsonSchema);
        } catch (error) {
          const reason = error instanceof InvalidJsonSchemaError ? error.message : (error as Error).message;
          failure("invalid-json-schema", `invalid JSON schema: ${reason}`);
          continue;
        }
      }
      prepared.push(grammar ? { item, tokens, grammar } : { item, tokens });
    }
    const batchTokens = prepared.reduce(
      (total, entry) => total + entry.tokens.length + entry.item.maxTokens,
      0,
    );
    if (batchTokens > this.maxSequences * loaded.contextLength) {
      throw new EngineError(
        "over-limits",
        `a batch of ${batchTokens} prompt and generated tokens exceeds ${this.maxSequences * loaded.contextLength}`,
      );
    }
    yield* failures;

    const prefixEntry = options.sharedPrefix
      ? await this.kv.ensurePrefix(loaded, options.sharedPrefix.key, stablePrefixTokens(loaded, prefixText))
      : undefined;
    const prefixPrefilledTokens = prefixEntry?.prefilledTokens ?? 0;

    // Each item gets the free sequence already holding most of its prompt.
    const free = new Set(loaded.sequences);
    const assignments: Assignment[] = prepared.map((entry) => {
      let best: LlamaContextSequence | undefined;
      let bestHeld = -1;
      for (const sequence of free) {
        const held = this.automaticPrefixReuse
          ? sequence.compareContextTokens(entry.tokens as Token[]).firstDifferentIndex
          : 0;
        if (held > bestHeld) {
          best = sequence;
          bestHeld = held;
        }
      }
      free.delete(best!);
      return { ...entry, sequence: best! };
    });

    // Put every sequence in place (cached KV in, stale tail out) before decoding starts together.
    const starts: number[] = [];
    for (const assignment of assignments) {
      starts.push(await this.kv.prepareSequence(assignment.sequence, assignment.tokens, prefixEntry?.entry));
    }
    // Prefill each prompt alone, in one pass from where its cached KV ends up to its last token
    // (evaluated by the first decode step, together with the other sequences). llama.cpp's
    // results for a token depend on how its prompt was split into decode calls, and packing
    // several prompts into shared decode calls splits them wherever the batch fills up: with
    // one split per prompt, an item's output no longer depends on the rest of its batch.
    const prefillMs: number[] = [];
    for (const [index, assignment] of assignments.entries()) {
      options.signal?.throwIfAborted();
      const prefillStartedAt = nowMs();
      const last = assignment.tokens.length - 1;
      if (last > starts[index]!) {
        await assignment.sequence.evaluateWithoutGeneratingNewTokens(
          assignment.tokens.slice(starts[index]!, last) as Token[],
        );
      }
      prefillMs.push(nowMs() - prefillStartedAt);
    }

    const queue = new AsyncEventQueue<GenerateEvent>();
    const results: (ItemFigures | undefined)[] = new Array(assignments.length);
    const firstTokenAt: number[] = [];
    const decodeStartedAt = nowMs();
    const barrier = new StepBarrier(assignments.length);
    const tasks = assignments.map(async (assignment, index) => {
      try {
        results[index] = await decodeItem(
          loaded,
          assignment,
          { cachedTokens: starts[index]!, prefillMs: prefillMs[index]! },
          queue,
          options.signal,
          barrier,
          (at) => firstTokenAt.push(at),
        );
      } catch (error) {
        if (options.signal?.aborted) throw error;
        // llama.cpp failing one sequence must not take the others down with it.
        queue.push({
          type: "item-failed",
          itemId: assignment.item.id,
          code: "internal",
          message: `item "${assignment.item.id}": ${(error as Error).message}`,
        });
        await assignment.sequence.clearHistory().catch(() => undefined);
      }
    });
    const all = Promise.allSettled(tasks).then((settled) => {
      queue.end();
      return settled;
    });
    yield* queue.drain();
    const settled = await all;
    const failed = settled.find((outcome) => outcome.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;

    const finished = results.filter((figures): figures is ItemFigures => figures !== undefined);
    const sum = (pick: (figures: ItemFigures) => number) =>
      finished.reduce((total, figures) => total + pick(figures), 0);
    const allStartedAt = firstTokenAt.length > 0 ? Math.max(...firstTokenAt) : decodeStartedAt;
    const figures: BatchFigures = {
      batchSize: options.items.length,
      prefixPrefilledTokens,
      promptTokens: sum((item) => item.promptTokens),
      cachedTokens: sum((item) => item.cachedTokens),
      generatedTokens: sum((item) => item.generatedTokens),
      prefillMs: allStartedAt - startedAt,
      decodeMs: nowMs() - allStartedAt,
    };
    yield { type: "batch-finished", figures };
  }
}

/** Decodes one item in its sequence, a token per barrier step, streaming its text. */
async function decodeItem(
  loaded: LoadedModel,
  assignment: Assignment,
  prepared: { readonly cachedTokens: number; readonly prefillMs: number },
  queue: AsyncEventQueue<GenerateEvent>,
  signal: AbortSignal | undefined,
  barrier: StepBarrier,
  onFirstToken: (at: number) => void,
): Promise<ItemFigures> {
  const { item, tokens, sequence, grammar } = assignment;
  const { model } = loaded;
  const meterBefore = sequence.tokenMeter.getState();
  const startedAt = nowMs();
  let firstTokenAt: number | undefined;
  const generated: Token[] = [];
  const promptTail = tokens.slice(-4) as Token[];
  let emitted = "";
  let finishReason: "stop" | "length" = "stop";
  // Everything but the last prompt token is in the KV already (cached or prefilled alone).
  const iterator = sequence.evaluate(tokens.slice(tokens.length - 1) as Token[], {
    temperature: item.temperature,
    topP: item.topP,
    seed: item.seed,
    ...(grammar ? { grammarEvaluationState: new LlamaGrammarEvaluationState({ model, grammar }) } : {}),
  });
  try {
    for await (const token of iterator) {
      if (firstTokenAt === undefined) {
        firstTokenAt = nowMs();
        onFirstToken(firstTokenAt);
      }
      generated.push(token);
      const text = model.detokenize(generated, false, promptTail);
      // Hold back text that ends inside a multi-byte character.
      if (text.startsWith(emitted) && !text.endsWith("\uFFFD") && text.length > emitted.length) {
        queue.push({ type: "token", itemId: item.id, text: text.slice(emitted.length) });
        emitted = text;
      }
      if (generated.length >= item.maxTokens) {
        finishReason = "length";
        break;
      }
      if (grammar && isCompleteJson(text)) break;
      if (signal?.aborted) break;
      await barrier.arrive();
    }
  } finally {
    barrier.leave();
  }
  signal?.throwIfAborted();
  const finalText = model.detokenize(generated, false, promptTail);
  if (finalText.startsWith(emitted) && finalText.length > emitted.length) {
    queue.push({ type: "token", itemId: item.id, text: finalText.slice(emitted.length) });
    emitted = finalText;
  }
  // The meter counts every generated token fed back, and an end-of-generation token.
  const meter = sequence.tokenMeter.diff(meterBefore);
  const endedAt = nowMs();
  const figures: ItemFigures = {
    promptTokens: tokens.length,
    cachedTokens: prepared.cachedTokens,
    generatedTokens: meter.usedOutputTokens,
    prefillMs: prepared.prefillMs + (firstTokenAt ?? endedAt) - startedAt,
    decodeMs: endedAt - (firstTokenAt ?? endedAt),
  };
  queue.push({ type: "item-finished", itemId: item.id, text: emitted, finishReason, figures });
  return figures;
}

/** Whether a grammar-constrained output is a whole JSON object or array (only whitespace could follow). */
function isCompleteJson(text: string): boolean {
  const trimmed = text.trim();
  if (!trimmed.endsWith("}") && !trimmed.endsWith("]")) return false;
  try {
    JSON.parse(trimmed);
    return true;
  } catch {
    return false;
  }
}
