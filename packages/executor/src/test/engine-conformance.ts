import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BatchFigures,
  type EngineCapabilities,
  EngineError,
  type EngineErrorCode,
  type EngineInfo,
  type EngineV1,
  engineCapabilities,
  type GenerateEvent,
  type GenerateItem,
  type GenerateOptions,
  type ItemFigures,
} from "../engine-v1.js";

/** How to run the conformance suite against one engine. */
export interface EngineConformanceOptions {
  /** Creates the engine under test; called once, closed after the suite. */
  readonly createEngine: () => EngineV1 | Promise<EngineV1>;
  /** At least two model names the engine serves; the first one is used by most specs. */
  readonly models: readonly [string, string, ...string[]];
  /** A model name the engine does not know (default `halo-conformance/no-such-model`). */
  readonly unknownModel?: string;
  /** Tokens per item in most specs (default 8). */
  readonly maxTokens?: number;
  /** Token budget of the JSON-schema spec (default 96). */
  readonly jsonMaxTokens?: number;
  /** Items of the batching spec (default min(6, maxSequences)). */
  readonly batchItems?: number;
  /** Timeout of each spec (default 120 s). */
  readonly timeoutMs?: number;
  /**
   * For engines without prefix pinning: the server behind the engine caches prompt prefixes
   * and reports cached tokens, so a repeated prefix must come back as cached tokens.
   */
  readonly serverPrefixCache?: boolean;
}

/** The JSON schema of the structured-output spec; strings are bounded so any model can close them. */
export const CONFORMANCE_JSON_SCHEMA = {
  type: "object",
  properties: {
    answer: { type: "string", maxLength: 12 },
    valid: { type: "boolean" },
  },
  required: ["answer", "valid"],
  additionalProperties: false,
} as const;

/** Everything one doGenerate call produced, checked for well-formedness. */
export interface CollectedBatch {
  readonly events: readonly GenerateEvent[];
  readonly finished: ReadonlyMap<
    string,
    { readonly text: string; readonly finishReason: "stop" | "length"; readonly figures: ItemFigures }
  >;
  readonly failed: ReadonlyMap<string, { readonly code: EngineErrorCode; readonly message: string }>;
  readonly batch: BatchFigures;
}

/**
 * Runs one doGenerate call and checks the event protocol every engine must
 * follow: one `item-finished` or `item-failed` per item, token events that
 * concatenate to the finished text, figures that add up, `batch-finished` last.
 */
export async function collectBatch(engine: EngineV1, options: GenerateOptions): Promise<CollectedBatch> {
  const events: GenerateEvent[] = [];
  for await (const event of engine.doGenerate(options)) events.push(event);
  const streamed = new Map<string, string>();
  const finished = new Map<string, { text: string; finishReason: "stop" | "length"; figures: ItemFigures }>();
  const failed = new Map<string, { code: EngineErrorCode; message: string }>();
  const ids = new Set(options.items.map((item) => item.id));
  let batch: BatchFigures | undefined;
  for (const [index, event] of events.entries()) {
    expect(batch, "no event may follow batch-finished").toBeUndefined();
    if (event.type === "batch-finished") {
      batch = event.figures;
      expect(index).toBe(events.length - 1);
      continue;
    }
    expect(ids.has(event.itemId), `event for unknown item ${event.itemId}`).toBe(true);
    expect(
      finished.has(event.itemId) || failed.has(event.itemId),
      `event after the end of ${event.itemId}`,
    ).toBe(false);
    if (event.type === "token") streamed.set(event.itemId, (streamed.get(event.itemId) ?? "") + event.text);
    else if (event.type === "item-finished") finished.set(event.itemId, event);
    else failed.set(event.itemId, { code: event.code, message: event.message });
  }
  expect(batch, "the last event is batch-finished").toBeDefined();
  expect(finished.size + failed.size).toBe(options.items.length);
  for (const item of options.items) {
    const result = finished.get(item.id);
    if (!result) continue;
    if (streamed.has(item.id)) expect(streamed.get(item.id)).toBe(result.text);
    expect(result.figures.generatedTokens).toBeGreaterThanOrEqual(1);
    expect(result.figures.generatedTokens).toBeLessThanOrEqual(item.maxTokens);
    if (result.finishReason === "length") expect(result.figures.generatedTokens).toBe(item.maxTokens);
    expect(result.figures.promptTokens).toBeGreaterThan(0);
    expect(result.figures.cachedTokens).toBeLessThanOrEqual(result.figures.promptTokens);
    expect(result.figures.prefillMs).toBeGreaterThanOrEqual(0);
    expect(result.figures.decodeMs).toBeGreaterThanOrEqual(0);
  }
  const sum = (pick: (figures: ItemFigures) => number) =>
    [...finished.values()].reduce((total, result) => total + pick(result.figures), 0);
  expect(batch!.batchSize).toBe(options.items.length);
  expect(batch!.generatedTokens).toBe(sum((figures) => figures.generatedTokens));
  expect(batch!.promptTokens).toBe(sum((figures) => figures.promptTokens));
  expect(batch!.cachedTokens).toBe(sum((figures) => figures.cachedTokens));
  return { events, finished, failed, batch: batch! };
}

/** Expects `action` to fail with an EngineError of `code` whose message contains every `mentions`. */
export async function expectEngineError(
  action: () => Promise<unknown>,
  code: EngineErrorCode,
  ...mentions: string[]
): Promise<EngineError> {
  const error = await action().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, `expected an EngineError with code ${code}`).toBeInstanceOf(EngineError);
  const engineError = error as EngineError;
  expect(engineError.code).toBe(code);
  for (const mention of mentions) expect(engineError.message).toContain(mention);
  return engineError;
}

async function drain(iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable) {
    // Consuming is the point: errors surface while iterating.
  }
}

async function concatenate(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

async function* chunked(bytes: Uint8Array, size = 64 * 1024): AsyncIterable<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

const QUESTIONS = [
  "What is the capital of France?",
  "Name a prime number larger than ten.",
  "Which planet is closest to the sun?",
  "Translate the word house into German.",
  "How many legs does a spider have?",
  "What colour is the sky on a clear day?",
  "Who wrote the play Hamlet?",
  "What is the boiling point of water?",
];

const PREFIX_TEXT =
  "You are a careful assistant that answers questions about geography, science and literature. " +
  "Answer in one short sentence, state facts plainly and never invent sources. " +
  "The user asks one question at a time; each question follows this instruction.";

/**
 * The specs follow the engine's declared capabilities (`EngineInfo.capabilities`): an engine
 * without KV transfer must reject export/import with `unsupported`, one without prefix pinning
 * lists no KV entries, one without model loading keeps every model loaded.
 *
 * One shared spec per EngineV1 method, run against any engine (and, through a
 * client-backed adapter, against a live executor). Call it at the top level of
 * a `*.test.ts` file: `describeEngineConformance("sim", { createEngine, models })`.
 */
export function describeEngineConformance(name: string, options: EngineConformanceOptions): void {
  const [model, otherModel] = options.models;
  const unknownModel = options.unknownModel ?? "halo-conformance/no-such-model";
  const maxTokens = options.maxTokens ?? 8;
  const timeout = options.timeoutMs ?? 120_000;
  // A fresh key per run: engines may outlive a suite (a remote executor).
  const run = `${process.pid}-${Date.now().toString(36)}`;
  let engine: EngineV1;
  let info: EngineInfo;
  let capabilities: EngineCapabilities;

  const item = (id: string, prompt: string, overrides: Partial<GenerateItem> = {}): GenerateItem => ({
    id,
    prompt,
    maxTokens,
    temperature: 0,
    topP: 1,
    seed: 7,
    ...overrides,
  });

  describe(`EngineV1 conformance: ${name}`, () => {
    beforeAll(async () => {
      engine = await options.createEngine();
      info = await engine.doInfo();
      capabilities = engineCapabilities(info);
      await engine.doLoadModel({ model });
    }, timeout);

    afterAll(async () => {
      await engine?.close();
    }, timeout);

    describe("doInfo", () => {
      it(
        "describes the engine, its models and its limits",
        () => {
          expect(engine.specificationVersion).toBe("v1");
          expect(engine.engineName.length).toBeGreaterThan(0);
          expect(info.engine.length).toBeGreaterThan(0);
          expect(info.threads).toBeGreaterThanOrEqual(1);
          expect(info.maxSequences).toBeGreaterThanOrEqual(1);
          expect(info.maxBatchTokens).toBeGreaterThanOrEqual(1);
          expect(info.memoryBudgetBytes).toBeGreaterThan(0);
          expect(["grammar", "server", "prompt"]).toContain(capabilities.structuredOutput);
          const names = info.models.map((descriptor) => descriptor.name);
          expect(new Set(names).size).toBe(names.length);
          for (const wanted of options.models) {
            const descriptor = info.models.find((candidate) => candidate.name === wanted);
            expect(descriptor, `model ${wanted} listed`).toBeDefined();
            expect(descriptor!.contextLength).toBeGreaterThan(0);
            expect(descriptor!.kvBytesPerToken).toBeGreaterThan(0);
            expect(descriptor!.memoryBytes).toBeGreaterThan(0);
            expect(descriptor!.parameterCount).toBeGreaterThan(0);
          }
        },
        timeout,
      );
    });

    describe("doLoadModel", () => {
      it(
        "reports a loaded model as already loaded",
        async () => {
          const result = await engine.doLoadModel({ model });
          expect(result.model).toBe(model);
          expect(result.alreadyLoaded).toBe(true);
          expect(result.unloaded).toEqual([]);
          const described = (await engine.doInfo()).models.find((descriptor) => descriptor.name === model);
          expect(described?.loaded).toBe(true);
          expect((await engine.doStats()).loadedModels).toContain(model);
        },
        timeout,
      );

      it(
        "switches models and back, unloading what memory requires",
        async () => {
          const loadsBefore = (await engine.doStats()).modelLoads;
          const switched = await engine.doLoadModel({ model: otherModel });
          expect(switched.model).toBe(otherModel);
          if (!capabilities.modelLoading) {
            // The server keeps every model loaded: nothing to load, nothing unloaded.
            expect(switched.unloaded).toEqual([]);
            expect((await engine.doInfo()).models.every((descriptor) => descriptor.loaded)).toBe(true);
            expect((await engine.doLoadModel({ model })).model).toBe(model);
            return;
          }
          expect(switched.alreadyLoaded).toBe(false);
          expect(switched.loadMs).toBeGreaterThan(0);
          const afterSwitch = await engine.doInfo();
          expect(afterSwitch.models.find((descriptor) => descriptor.name === otherModel)?.loaded).toBe(true);
          for (const unloaded of switched.unloaded) {
            expect(afterSwitch.models.find((descriptor) => descriptor.name === unloaded)?.loaded).toBe(false);
          }
          const loadedBytes = afterSwitch.models
            .filter((descriptor) => descriptor.loaded)
            .reduce((total, descriptor) => total + descriptor.memoryBytes, 0);
          expect(loadedBytes).toBeLessThanOrEqual(afterSwitch.memoryBudgetBytes);
          const back = await engine.doLoadModel({ model });
          expect(back.model).toBe(model);
          const stats = await engine.doStats();
          expect(stats.loadedModels).toContain(model);
          expect(stats.modelLoads).toBeGreaterThanOrEqual(loadsBefore + 1);
        },
        timeout,
      );

      it(
        "rejects an unknown model with unknown-model, naming it",
        async () => {
          await expectEngineError(
            () => engine.doLoadModel({ model: unknownModel }),
            "unknown-model",
            unknownModel,
          );
          await expectEngineError(
            () => drain(engine.doGenerate({ model: unknownModel, items: [item("x", QUESTIONS[0]!)] })),
            "unknown-model",
            unknownModel,
          );
        },
        timeout,
      );
    });

    describe("doGenerate", () => {
      it(
        "decodes many items in one batch",
        async () => {
          const count = Math.min(options.batchItems ?? 6, info.maxSequences, QUESTIONS.length);
          const items = QUESTIONS.slice(0, count).map((question, index) => item(`item-${index}`, question));
          const result = await collectBatch(engine, { model, items });
          expect(result.failed.size).toBe(0);
          expect(result.batch.batchSize).toBe(count);
          expect(result.events.some((event) => event.type === "token")).toBe(true);
          expect(result.batch.promptTokens).toBeGreaterThan(0);
        },
        timeout,
      );

      it(
        "is deterministic when greedy, alone and inside a batch",
        async () => {
          const probe = item("probe", QUESTIONS[2]!);
          const alone = await collectBatch(engine, { model, items: [probe] });
          const again = await collectBatch(engine, { model, items: [probe] });
          const batched = await collectBatch(engine, {
            model,
            items: [item("other-1", QUESTIONS[5]!), probe, item("other-2", QUESTIONS[6]!)].slice(
              0,
              Math.max(1, Math.min(3, info.maxSequences)),
            ),
          });
          const text = alone.finished.get("probe")!.text;
          expect(again.finished.get("probe")!.text).toBe(text);
          if (batched.finished.has("probe")) expect(batched.finished.get("probe")!.text).toBe(text);
        },
        timeout,
      );

      it(
        "reuses a shared prefix across calls (cached tokens on the second call)",
        async () => {
          const sharedPrefix = { key: `conformance-prefix-${run}`, text: PREFIX_TEXT };
          if (!capabilities.prefixPinning) {
            // Reuse is the server's: no pinned entry; cached tokens only where the server caches.
            // Prompts as workflows render them (a system section, then the user's), which chat
            // servers receive as a system message followed by a user message.
            const chatPrefix = { key: sharedPrefix.key, text: `### System\n${PREFIX_TEXT}\n\n### User\n` };
            const ask = (id: string, question: string) => item(id, `${question}\n\n### Assistant\n`);
            const first = await collectBatch(engine, {
              model,
              sharedPrefix: chatPrefix,
              items: [ask("a", QUESTIONS[0]!)],
            });
            const second = await collectBatch(engine, {
              model,
              sharedPrefix: chatPrefix,
              items: [ask("c", QUESTIONS[3]!)],
            });
            expect(first.failed.size + second.failed.size).toBe(0);
            expect(second.batch.prefixPrefilledTokens).toBe(0);
            if (options.serverPrefixCache) expect(second.batch.cachedTokens).toBeGreaterThan(0);
            expect((await engine.doStats()).kvEntries).toEqual([]);
            return;
          }
          const first = await collectBatch(engine, {
            model,
            sharedPrefix,
            items: [item("a", QUESTIONS[0]!), item("b", QUESTIONS[1]!)].slice(0, info.maxSequences),
          });
          expect(first.failed.size).toBe(0);
          expect(first.batch.prefixPrefilledTokens).toBeGreaterThan(0);
          const second = await collectBatch(engine, {
            model,
            sharedPrefix,
            items: [item("c", QUESTIONS[3]!), item("d", QUESTIONS[4]!)].slice(0, info.maxSequences),
          });
          expect(second.failed.size).toBe(0);
          expect(second.batch.prefixPrefilledTokens).toBe(0);
          expect(second.batch.cachedTokens).toBeGreaterThan(0);
          for (const result of second.finished.values()) {
            expect(result.figures.cachedTokens).toBeGreaterThanOrEqual(first.batch.prefixPrefilledTokens);
          }
          const entry = (await engine.doStats()).kvEntries.find(
            (candidate) => candidate.key === sharedPrefix.key,
          );
          expect(entry).toMatchObject({ key: sharedPrefix.key, model });
          expect(entry!.tokens).toBeGreaterThan(0);
          expect(entry!.bytes).toBeGreaterThan(0);
        },
        timeout,
      );

      it(
        "follows a JSON schema",
        async () => {
          const result = await collectBatch(engine, {
            model,
            items: [
              item("json", "Answer in JSON: is Paris the capital of France?", {
                maxTokens: options.jsonMaxTokens ?? 96,
                jsonSchema: JSON.stringify(CONFORMANCE_JSON_SCHEMA),
              }),
            ],
          });
          const output = result.finished.get("json");
          expect(output, "the JSON item finished").toBeDefined();
          // Enforced only by an instruction in the prompt: the engine cannot promise valid JSON.
          if (capabilities.structuredOutput === "prompt") return;
          const parsed = JSON.parse(output!.text) as Record<string, unknown>;
          expect(typeof parsed.answer).toBe("string");
          expect((parsed.answer as string).length).toBeLessThanOrEqual(12);
          expect(typeof parsed.valid).toBe("boolean");
          expect(Object.keys(parsed).sort()).toEqual(["answer", "valid"]);
        },
        timeout,
      );

      it(
        "fails an item whose prompt is too long, and only that item",
        async () => {
          const contextLength = Math.max(
            ...info.models
              .filter((descriptor) => descriptor.name === model)
              .map((descriptor) => descriptor.contextLength),
          );
          const items = [item("too-long", "word ".repeat(contextLength + 64)), item("fine", QUESTIONS[0]!)];
          const result = await collectBatch(engine, {
            model,
            items: items.slice(0, Math.max(1, info.maxSequences)),
          });
          expect(result.failed.get("too-long")?.code).toBe("prompt-too-long");
          expect(result.failed.get("too-long")?.message).toContain("too-long");
          if (info.maxSequences > 1) expect(result.finished.has("fine")).toBe(true);
        },
        timeout,
      );

      it(
        "fails an item whose JSON schema is invalid, and only that item",
        async () => {
          const items = [
            item("bad-schema", QUESTIONS[1]!, { jsonSchema: "{not json" }),
            item("fine", QUESTIONS[2]!),
          ];
          const result = await collectBatch(engine, {
            model,
            items: items.slice(0, Math.max(1, info.maxSequences)),
          });
          expect(result.failed.get("bad-schema")?.code).toBe("invalid-json-schema");
          expect(result.failed.get("bad-schema")?.message).toContain("bad-schema");
          if (info.maxSequences > 1) expect(result.finished.has("fine")).toBe(true);
        },
        timeout,
      );

      it(
        "rejects a batch over its sequence limit before any event",
        async () => {
          const items = Array.from({ length: info.maxSequences + 1 }, (_, index) =>
            item(`over-${index}`, "Hi."),
          );
          const events: GenerateEvent[] = [];
          await expectEngineError(
            async () => {
              for await (const event of engine.doGenerate({ model, items })) events.push(event);
            },
            "over-limits",
            String(info.maxSequences),
          );
          expect(events).toEqual([]);
        },
        timeout,
      );

      it(
        "keeps serving after bad input",
        async () => {
          const result = await collectBatch(engine, { model, items: [item("after", QUESTIONS[7]!)] });
          expect(result.finished.has("after")).toBe(true);
        },
        timeout,
      );
    });

    describe("doExportKv / doImportKv without KV transfer", () => {
      it(
        "rejects export and import with unsupported when the engine declares no KV transfer",
        async () => {
          if (capabilities.kvTransfer) return;
          const key = `conformance-unsupported-${run}`;
          await expectEngineError(() => drain(engine.doExportKv({ key })), "unsupported");
          await expectEngineError(
            () => engine.doImportKv({ key, model, chunks: chunked(new Uint8Array(16)) }),
            "unsupported",
          );
        },
        timeout,
      );
    });

    describe("doExportKv / doImportKv", () => {
      const key = `conformance-migrate-${run}`;
      let exported: Uint8Array;
      let originalText: string;

      beforeAll(async () => {
        if (!capabilities.kvTransfer) return;
        const result = await collectBatch(engine, {
          model,
          sharedPrefix: { key, text: PREFIX_TEXT },
          items: [item("before", QUESTIONS[4]!)],
        });
        originalText = result.finished.get("before")!.text;
        exported = await concatenate(engine.doExportKv({ key }));
      }, timeout);

      it(
        "round-trips a cached prefix: exported bytes imported after a drop serve the next call",
        async () => {
          if (!capabilities.kvTransfer) return;
          expect(exported.length).toBeGreaterThan(0);
          const tokens = (await engine.doStats()).kvEntries.find((entry) => entry.key === key)!.tokens;
          expect((await engine.doDropKv({ key })).dropped).toBe(true);
          const entry = await engine.doImportKv({ key, model, chunks: chunked(exported, 4096) });
          expect(entry).toMatchObject({ key, model, tokens });
          expect(entry.bytes).toBeGreaterThan(0);
          const after = await collectBatch(engine, {
            model,
            sharedPrefix: { key, text: PREFIX_TEXT },
            items: [item("before", QUESTIONS[4]!)],
          });
          expect(after.batch.prefixPrefilledTokens).toBe(0);
          expect(after.finished.get("before")!.figures.cachedTokens).toBeGreaterThanOrEqual(tokens);
          expect(after.finished.get("before")!.text).toBe(originalText);
        },
        timeout,
      );

      it(
        "rejects corrupted and truncated bytes with invalid-kv",
        async () => {
          if (!capabilities.kvTransfer) return;
          const corrupted = Uint8Array.from(exported);
          const middle = Math.floor(corrupted.length / 2);
          corrupted[middle] = corrupted[middle]! ^ 0xff;
          await expectEngineError(
            () => engine.doImportKv({ key: `${key}-corrupted`, model, chunks: chunked(corrupted) }),
            "invalid-kv",
          );
          await expectEngineError(
            () =>
              engine.doImportKv({
                key: `${key}-truncated`,
                model,
                chunks: chunked(exported.subarray(0, middle)),
              }),
            "invalid-kv",
          );
          await expectEngineError(
            () => engine.doImportKv({ key: `${key}-empty`, model, chunks: chunked(new Uint8Array(0)) }),
            "invalid-kv",
          );
          const keys = (await engine.doStats()).kvEntries.map((entry) => entry.key);
          expect(keys).not.toContain(`${key}-corrupted`);
          expect(keys).not.toContain(`${key}-truncated`);
        },
        timeout,
      );

      it(
        "fails to export a key that holds nothing with not-found",
        async () => {
          if (!capabilities.kvTransfer) return;
          await expectEngineError(
            () => drain(engine.doExportKv({ key: `${key}-absent` })),
            "not-found",
            `${key}-absent`,
          );
        },
        timeout,
      );

      it(
        "rejects bytes exported from another model with invalid-kv",
        async () => {
          if (!capabilities.kvTransfer) return;
          await engine.doLoadModel({ model: otherModel });
          try {
            await expectEngineError(
              () =>
                engine.doImportKv({
                  key: `${key}-other-model`,
                  model: otherModel,
                  chunks: chunked(exported),
                }),
              "invalid-kv",
            );
          } finally {
            await engine.doLoadModel({ model });
          }
        },
        timeout,
      );
    });

    describe("doDropKv", () => {
      it(
        "drops a cached prefix once, freeing its bytes",
        async () => {
          const key = `conformance-drop-${run}`;
          if (!capabilities.prefixPinning) {
            // Nothing is pinned, so nothing is dropped.
            expect(await engine.doDropKv({ key })).toEqual({ dropped: false, freedBytes: 0 });
            return;
          }
          await collectBatch(engine, {
            model,
            sharedPrefix: { key, text: PREFIX_TEXT },
            items: [item("x", "Hi.")],
          });
          const dropped = await engine.doDropKv({ key });
          expect(dropped.dropped).toBe(true);
          expect(dropped.freedBytes).toBeGreaterThan(0);
          expect((await engine.doStats()).kvEntries.map((entry) => entry.key)).not.toContain(key);
          expect(await engine.doDropKv({ key })).toEqual({ dropped: false, freedBytes: 0 });
        },
        timeout,
      );
    });

    describe("doStats", () => {
      it(
        "counts tokens and busy time, and sums the KV bytes of its entries",
        async () => {
          const before = await engine.doStats();
          const result = await collectBatch(engine, { model, items: [item("count", QUESTIONS[6]!)] });
          const after = await engine.doStats();
          expect(after.promptTokens - before.promptTokens).toBe(result.batch.promptTokens);
          expect(after.generatedTokens - before.generatedTokens).toBe(result.batch.generatedTokens);
          expect(after.cachedTokens - before.cachedTokens).toBe(result.batch.cachedTokens);
          expect(after.busyMs).toBeGreaterThan(before.busyMs);
          expect(after.kvBytes).toBe(after.kvEntries.reduce((total, entry) => total + entry.bytes, 0));
          expect(after.loadedModels).toContain(model);
        },
        timeout,
      );
    });
  });
}
