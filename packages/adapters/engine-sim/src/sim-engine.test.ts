import { collectBatch, expectEngineError } from "@halo/executor/test";
import { H100_SIMULATED_PROFILE, prefillMs } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import { approximateTokenCount } from "./approximate-tokenizer.js";
import { decodeKvPayload, encodeKvPayload, InvalidKvPayloadError } from "./kv-payload.js";
import { parseJsonSchema, pseudoJson, pseudoText } from "./pseudo-text.js";
import { SimEngine } from "./sim-engine.js";

const MODEL = "Qwen/Qwen3-14B";
const engine = (options: Partial<ConstructorParameters<typeof SimEngine>[0]> = {}) =>
  new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.001, ...options });
const item = (id: string, prompt: string, overrides = {}) => ({
  id,
  prompt,
  maxTokens: 16,
  temperature: 0,
  topP: 1,
  seed: 1,
  ...overrides,
});

describe("SimEngine", () => {
  it("waits the profile's time × the time scale and reports the unscaled time", async () => {
    const sim = engine({ timeScale: 0.01 });
    const startedAt = performance.now();
    const result = await sim.doLoadModel({ model: MODEL });
    const wallMs = performance.now() - startedAt;
    const loadMs = H100_SIMULATED_PROFILE.models[MODEL]!.loadMs;
    expect(result.loadMs).toBe(loadMs);
    // A lower bound only: the wall clock may run late on a busy machine, never early.
    expect(wallMs).toBeGreaterThanOrEqual(loadMs * 0.01 - 1);
  });

  it("prices prefill with the profile and serves a cached prefix without prefill", async () => {
    const sim = engine();
    const prefix = { key: "p", text: "x".repeat(400) };
    const first = await collectBatch(sim, {
      model: MODEL,
      sharedPrefix: prefix,
      items: [item("a", "y".repeat(40))],
    });
    const model = H100_SIMULATED_PROFILE.models[MODEL]!;
    expect(first.batch.prefillMs).toBeCloseTo(prefillMs(model, 100 + 10));
    expect(first.batch.prefixPrefilledTokens).toBe(100);
    const second = await collectBatch(sim, {
      model: MODEL,
      sharedPrefix: prefix,
      items: [item("b", "y".repeat(40))],
    });
    expect(second.batch.prefillMs).toBeCloseTo(prefillMs(model, 10));
    expect(second.batch.cachedTokens).toBe(100);
    // The same key with another text is another prefix: prefilled again.
    const changed = await collectBatch(sim, {
      model: MODEL,
      sharedPrefix: { key: "p", text: "z".repeat(400) },
      items: [item("c", "y")],
    });
    expect(changed.batch.prefixPrefilledTokens).toBe(100);
  });

  it("answers a prompt the same whether part of it comes as a shared prefix or not", async () => {
    const sim = engine();
    const text = async (request: Omit<Parameters<typeof collectBatch>[1], "model">) =>
      (await collectBatch(sim, { model: MODEL, ...request })).finished.get("a")!.text;
    const whole = await text({ items: [item("a", "You are terse. Name a color.")] });
    expect(
      await text({
        sharedPrefix: { key: "s", text: "You are terse. " },
        items: [item("a", "Name a color.")],
      }),
    ).toBe(whole);
    expect(await text({ items: [item("a", "You are terse. Name a colour.")] })).not.toBe(whole);
  });

  it("samples by seed when temperature > 0 and ignores the seed when greedy", async () => {
    const sim = engine();
    const text = async (overrides: object) =>
      (
        await collectBatch(sim, {
          model: MODEL,
          items: [item("a", "Tell me a story.", { maxTokens: 48, ...overrides })],
        })
      ).finished.get("a")!.text;
    expect(await text({ seed: 1 })).toBe(await text({ seed: 2 }));
    const sampled = await Promise.all([1, 2, 3, 4].map((seed) => text({ temperature: 0.8, seed })));
    expect(new Set(sampled).size).toBeGreaterThan(1);
    expect(await text({ temperature: 0.8, seed: 3 })).toBe(sampled[2]);
  });

  it("unloads least recently used models to fit its memory budget and drops their prefixes", async () => {
    const sim = engine();
    await collectBatch(sim, {
      model: MODEL,
      sharedPrefix: { key: "k", text: "hello" },
      items: [item("a", "x")],
    });
    expect((await sim.doLoadModel({ model: "openai/gpt-oss-20b" })).unloaded).toEqual([]);
    const big = await sim.doLoadModel({ model: "Qwen/Qwen3-32B" });
    // 14B + 20b + 32B weigh 109 GB; dropping the least recently used 14B leaves 79 GB of 80 GiB.
    expect(big.unloaded).toEqual([MODEL]);
    const stats = await sim.doStats();
    expect(stats.loadedModels).toEqual(["openai/gpt-oss-20b", "Qwen/Qwen3-32B"]);
    expect(stats.kvEntries).toEqual([]);
  });

  it("keeps at most maxLoadedModels loaded, even when more would fit in memory", async () => {
    const sim = engine({ maxLoadedModels: 1 });
    await sim.doLoadModel({ model: MODEL });
    // 14B and 20b fit in 80 GiB together; one model per device unloads the first.
    expect((await sim.doLoadModel({ model: "openai/gpt-oss-20b" })).unloaded).toEqual([MODEL]);
    expect((await sim.doStats()).loadedModels).toEqual(["openai/gpt-oss-20b"]);
    expect(() => engine({ maxLoadedModels: 0 })).toThrow(/maxLoadedModels/);
  });

  it("refuses a model larger than its memory and checks its options", async () => {
    await expectEngineError(
      () => engine({ memoryBudgetBytes: 1e9 }).doLoadModel({ model: MODEL }),
      "over-limits",
      MODEL,
    );
    expect(() => engine({ timeScale: -1 })).toThrow(/timeScale/);
    expect(() => engine({ models: { mystery: "mystery" } })).toThrow(/mystery/);
  });

  it("serves names mapped to profile entries or derived from their size", async () => {
    const sim = engine({ models: { "tiny/Stand-In-1B": "tiny/Stand-In-1B", alias: MODEL } });
    const info = await sim.doInfo();
    expect(info.models.map((model) => model.name)).toEqual(["tiny/Stand-In-1B", "alias"]);
    expect(info.models[0]!.parameterCount).toBe(1e9);
    expect(info.models[1]!.parameterCount).toBe(H100_SIMULATED_PROFILE.models[MODEL]!.parameterCount);
  });

  it("refuses a batch over its token budget and works after close only to say it is closed", async () => {
    const sim = engine({ maxBatchTokens: 50 });
    await expectEngineError(
      () => collectBatch(sim, { model: MODEL, items: [item("a", "x".repeat(400))] }),
      "over-limits",
      "maxBatchTokens 50",
    );
    await sim.close();
    await expectEngineError(() => sim.doInfo(), "internal", "closed");
  });

  it("rejects KV of the right model whose size does not match its tokens", async () => {
    const sim = engine();
    const bytes = encodeKvPayload({ model: MODEL, tokens: 10, textDigest: "d", bodyBytes: 3 });
    await expectEngineError(
      () =>
        sim.doImportKv({ key: "k", model: MODEL, chunks: [bytes] as unknown as AsyncIterable<Uint8Array> }),
      "invalid-kv",
      "do not match",
    );
  });
});

describe("simulated tokens and text", () => {
  it("counts about four characters per token", () => {
    expect(approximateTokenCount("")).toBe(0);
    expect(approximateTokenCount("abcd")).toBe(1);
    expect(approximateTokenCount("abcde")).toBe(2);
  });

  it("truncates greedy text at max tokens without changing it", () => {
    const long = pseudoText(42, 1_000);
    const short = pseudoText(42, 3);
    expect(short.tokens).toEqual(long.tokens.slice(0, 3));
    expect(short.finishReason).toBe(long.tokens.length > 3 ? "length" : "stop");
    expect(long.finishReason).toBe("stop");
  });

  it("emits JSON that follows object, string, number, integer, boolean, array, enum, const and null schemas", () => {
    const schema = {
      type: "object",
      properties: {
        name: { type: "string", minLength: 3, maxLength: 10 },
        score: { type: "number", minimum: 1, maximum: 2 },
        count: { type: "integer", minimum: 5, maximum: 9 },
        ok: { type: "boolean" },
        tags: { type: "array", items: { type: "string" }, minItems: 2, maxItems: 2 },
        colour: { enum: ["red", "blue"] },
        version: { const: 3 },
        note: { type: ["null", "string"] },
        nothing: { type: "null" },
        nested: { properties: { inner: { anyOf: [{ type: "integer" }] } } },
      },
    };
    const output = pseudoJson(7, schema, 500);
    expect(output.finishReason).toBe("stop");
    const value = JSON.parse(output.tokens.join("")) as Record<string, unknown>;
    expect((value.name as string).length).toBeGreaterThanOrEqual(3);
    expect((value.name as string).length).toBeLessThanOrEqual(10);
    expect(value.score as number).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(value.count)).toBe(true);
    expect(typeof value.ok).toBe("boolean");
    expect(value.tags).toHaveLength(2);
    expect(["red", "blue"]).toContain(value.colour);
    expect(value.version).toBe(3);
    expect(typeof value.note).toBe("string");
    expect(value.nothing).toBeNull();
    expect(Number.isInteger((value.nested as { inner: unknown }).inner)).toBe(true);
  });

  it("shortens strings to fit max tokens, and cuts the JSON when even that cannot fit", () => {
    const schema = { type: "object", properties: { a: { type: "string" }, b: { type: "string" } } };
    const fitted = pseudoJson(1, schema, 8);
    expect(fitted.finishReason).toBe("stop");
    expect(() => JSON.parse(fitted.tokens.join(""))).not.toThrow();
    const cut = pseudoJson(1, schema, 2);
    expect(cut).toMatchObject({ finishReason: "length" });
    expect(cut.tokens).toHaveLength(2);
  });

  it("accepts only JSON objects as schemas", () => {
    expect(() => parseJsonSchema("{")).toThrow(/not valid JSON/);
    expect(() => parseJsonSchema("[1]")).toThrow(/JSON object/);
    expect(parseJsonSchema('{"type":"string"}')).toEqual({ type: "string" });
  });
});

describe("simulated KV payload", () => {
  const header = { model: MODEL, tokens: 12, textDigest: "abc", bodyBytes: 64 };

  it("round-trips its header and detects every kind of damage", () => {
    const bytes = encodeKvPayload(header);
    expect(decodeKvPayload(bytes)).toEqual(header);
    expect(encodeKvPayload(header)).toEqual(bytes);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
    expect(() => decodeKvPayload(flipped)).toThrow(/checksum/);
    expect(() => decodeKvPayload(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/);
    expect(() => decodeKvPayload(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/padded/);
    expect(() => decodeKvPayload(bytes.subarray(0, 5))).toThrow(InvalidKvPayloadError);
    const badMagic = Buffer.from(bytes);
    badMagic[0] = 0;
    expect(() => decodeKvPayload(badMagic)).toThrow(/magic/);
    const badHeader = Buffer.from(bytes);
    badHeader[15] = 0x7b;
    expect(() => decodeKvPayload(badHeader)).toThrow(/header|checksum/);
  });
});
