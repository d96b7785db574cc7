import type { GenerateItem } from "@halo/executor";
import { collectBatch, expectEngineError } from "@halo/executor/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeKvEnvelope, encodeKvEnvelope } from "./kv-envelope.js";
import { LlamaCppEngine } from "./llamacpp-engine.js";
import { parseModelMap } from "./model-map.js";
import { parseSequenceState } from "./sequence-state.js";
import { testHaloHome, tinyModelPath } from "./test-models.js";

const model = "halo/tiny";

function item(id: string, prompt: string, overrides: Partial<GenerateItem> = {}): GenerateItem {
  return { id, prompt, maxTokens: 12, temperature: 0, topP: 1, seed: 1, ...overrides };
}

async function bytesOf(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

async function* chunksOf(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += 1000) yield bytes.subarray(offset, offset + 1000);
}

const prefix =
  "You answer questions about databases. Keep answers short. Use the schema below.\n" +
  "TABLE orders(id INTEGER, customer TEXT, total DECIMAL, placed DATE)\n";
const questions = [
  "Q: How many orders are there?",
  "Q: Which customer spent the most?",
  "Q: What was the total in May?",
  "Q: List the orders placed today.",
];

let engine: LlamaCppEngine;
let haloHome: string;

beforeAll(async () => {
  haloHome = await testHaloHome();
  engine = new LlamaCppEngine({ threads: 1, contextSize: 512, maxSequences: 4, haloHome });
  await engine.doLoadModel({ model });
});

afterAll(async () => {
  await engine?.close();
});

describe("LlamaCppEngine generation", () => {
  it("decodes a batch as each item alone would, token for token", async () => {
    const batched = await collectBatch(engine, {
      model,
      items: questions.map((q, index) => item(`q${index}`, q)),
    });
    for (const [index, question] of questions.entries()) {
      const alone = await collectBatch(engine, { model, items: [item(`q${index}`, question)] });
      expect(alone.finished.get(`q${index}`)!.text).toBe(batched.finished.get(`q${index}`)!.text);
    }
    const texts = new Set([...batched.finished.values()].map((result) => result.text));
    expect(texts.size).toBeGreaterThan(1);
  });

  it("gives a shared prefix the same output as the prefix written into the prompt", async () => {
    const plain = new LlamaCppEngine({
      threads: 1,
      contextSize: 512,
      maxSequences: 4,
      haloHome,
      automaticPrefixReuse: false,
    });
    try {
      const inline = await collectBatch(plain, {
        model,
        items: questions.map((q, index) => item(`q${index}`, prefix + q)),
      });
      expect(inline.batch.cachedTokens).toBe(0);
      const shared = await collectBatch(plain, {
        model,
        sharedPrefix: { key: "schema", text: prefix },
        items: questions.map((q, index) => item(`q${index}`, q)),
      });
      for (const [id, result] of inline.finished) expect(shared.finished.get(id)!.text).toBe(result.text);
      // Evaluated once for the batch, then served from cache to every item.
      expect(shared.batch.prefixPrefilledTokens).toBeGreaterThan(20);
      for (const [id, result] of shared.finished) {
        expect(result.figures.cachedTokens).toBeGreaterThanOrEqual(shared.batch.prefixPrefilledTokens);
        expect(result.figures.promptTokens).toBe(inline.finished.get(id)!.figures.promptTokens);
      }
      const again = await collectBatch(plain, {
        model,
        sharedPrefix: { key: "schema", text: prefix },
        items: [item("q1", questions[1]!)],
      });
      expect(again.batch.prefixPrefilledTokens).toBe(0);
      expect(again.finished.get("q1")!.text).toBe(inline.finished.get("q1")!.text);
    } finally {
      await plain.close();
    }
  });

  it("reuses what a sequence still holds when automatic prefix reuse is on", async () => {
    const prompt = `${prefix}Q: automatic reuse?`;
    await collectBatch(engine, { model, items: [item("first", prompt)] });
    const second = await collectBatch(engine, { model, items: [item("second", prompt)] });
    const figures = second.finished.get("second")!.figures;
    expect(figures.cachedTokens).toBe(figures.promptTokens - 1);
  });

  it("stops at maxTokens with finishReason length, and samples reproducibly with a seed", async () => {
    const result = await collectBatch(engine, { model, items: [item("short", "Count:", { maxTokens: 3 })] });
    expect(result.finished.get("short")).toMatchObject({
      finishReason: "length",
      figures: { generatedTokens: 3 },
    });
    const sampled = (seed: number) =>
      collectBatch(engine, {
        model,
        items: [item("s", "Once upon a time", { temperature: 0.9, topP: 0.95, seed, maxTokens: 16 })],
      }).then((batch) => batch.finished.get("s")!.text);
    expect(await sampled(11)).toBe(await sampled(11));
    const variants = new Set([await sampled(1), await sampled(2), await sampled(3)]);
    expect(variants.size).toBeGreaterThan(1);
  });

  it("stops a JSON-schema item as soon as the JSON is complete", async () => {
    const schema = JSON.stringify({
      type: "object",
      properties: {
        ok: { type: "boolean" },
        names: { type: "array", items: { type: "string", maxLength: 8 }, maxItems: 2 },
      },
      required: ["ok", "names"],
      additionalProperties: false,
    });
    const result = await collectBatch(engine, {
      model,
      items: [
        item("json", "Reply in JSON.", { jsonSchema: schema, maxTokens: 120 }),
        item("free", "Reply freely."),
      ],
    });
    const output = result.finished.get("json")!;
    expect(output.finishReason).toBe("stop");
    const parsed = JSON.parse(output.text) as { ok: boolean; names: string[] };
    expect(typeof parsed.ok).toBe("boolean");
    expect(Array.isArray(parsed.names)).toBe(true);
    expect(output.text.trim()).toBe(output.text);
  });
});

describe("LlamaCppEngine KV migration", () => {
  it("moves a prefix to an engine with another sequence count and continues identically", async () => {
    const sharedPrefix = { key: "migrate", text: prefix };
    const source = await collectBatch(engine, { model, sharedPrefix, items: [item("m", questions[2]!)] });
    const exported = await bytesOf(engine.doExportKv({ key: "migrate" }));
    const { header, payload } = decodeKvEnvelope(exported);
    const cached = (await engine.doStats()).kvEntries.find((entry) => entry.key === "migrate")!;
    expect(header).toMatchObject({ model, tokens: cached.tokens });
    expect(parseSequenceState(payload).streamCount).toBe(1);

    const target = new LlamaCppEngine({ threads: 1, contextSize: 512, maxSequences: 2, haloHome });
    try {
      const entry = await target.doImportKv({ key: "migrate", model, chunks: chunksOf(exported) });
      expect(entry).toMatchObject({ key: "migrate", model, tokens: header.tokens });
      const continued = await collectBatch(target, {
        model,
        sharedPrefix,
        items: [item("m", questions[2]!)],
      });
      expect(continued.batch.prefixPrefilledTokens).toBe(0);
      expect(continued.finished.get("m")!.figures.cachedTokens).toBeGreaterThanOrEqual(header.tokens);
      expect(continued.finished.get("m")!.text).toBe(source.finished.get("m")!.text);
      // And back again: an export of the import is accepted by the source.
      const roundTrip = await bytesOf(target.doExportKv({ key: "migrate" }));
      expect(
        (await engine.doImportKv({ key: "migrate-back", model, chunks: chunksOf(roundTrip) })).tokens,
      ).toBe(header.tokens);
    } finally {
      await target.close();
    }
  });

  it("rejects KV of the same name but other weights, and a well-sealed but malformed state", async () => {
    await collectBatch(engine, {
      model,
      sharedPrefix: { key: "foreign", text: prefix },
      items: [item("f", "Hi")],
    });
    const exported = await bytesOf(engine.doExportKv({ key: "foreign" }));
    const reseeded = new LlamaCppEngine({
      threads: 1,
      contextSize: 512,
      maxSequences: 2,
      haloHome,
      modelMap: parseModelMap(`models:\n  "${model}": { synth: { params: 2M, seed: 5 } }\n`, "inline", "/"),
    });
    try {
      await expectEngineError(
        () => reseeded.doImportKv({ key: "foreign", model, chunks: chunksOf(exported) }),
        "invalid-kv",
        "other weights",
      );
    } finally {
      await reseeded.close();
    }

    const { header, payload } = decodeKvEnvelope(exported);
    const layout = parseSequenceState(payload);
    // Valid checksum, broken KV layout: the first layer's key type becomes garbage.
    const cellCount = new DataView(payload.buffer, payload.byteOffset).getUint32(layout.blockOffset, true);
    const metaBytes = cellCount * 12;
    const broken = Uint8Array.from(payload);
    const typeOffset = layout.blockOffset + 4 + metaBytes + 8;
    broken[typeOffset] = 0x7f;
    const sealed = encodeKvEnvelope(
      { model, modelFingerprint: header.modelFingerprint, tokens: header.tokens },
      broken,
    );
    await expectEngineError(
      () => engine.doImportKv({ key: "broken", model, chunks: chunksOf(sealed) }),
      "invalid-kv",
      "llama.cpp rejected",
    );
    // Too many tokens for the context is refused before llama.cpp sees it.
    const oversized = encodeKvEnvelope(
      { model, modelFingerprint: header.modelFingerprint, tokens: 600 },
      payload,
    );
    await expectEngineError(
      () => engine.doImportKv({ key: "big", model, chunks: chunksOf(oversized) }),
      "invalid-kv",
    );
    const after = await collectBatch(engine, { model, items: [item("alive", "Still serving?")] });
    expect(after.finished.has("alive")).toBe(true);
    expect((await engine.doStats()).kvEntries.map((entry) => entry.key)).not.toContain("broken");
  });
});

describe("LlamaCppEngine models", () => {
  it("serves GGUF files named by the model map and lists map entries and stand-ins", async () => {
    const mapped = new LlamaCppEngine({
      threads: 1,
      contextSize: 256,
      maxSequences: 1,
      haloHome,
      modelMap: { models: new Map([["local/file-model", { kind: "gguf", path: await tinyModelPath() }]]) },
    });
    try {
      const info = await mapped.doInfo();
      const names = info.models.map((descriptor) => descriptor.name);
      expect(names).toEqual(
        expect.arrayContaining(["local/file-model", "halo/tiny", "Qwen/Qwen3-14B", "Qwen/Qwen3-32B"]),
      );
      const described = info.models.find((descriptor) => descriptor.name === "local/file-model")!;
      expect(described).toMatchObject({ contextLength: 256, loaded: false, kvBytesPerToken: 2 * 2 * 32 * 2 });
      expect(described.parameterCount).toBe(2_146_624);
      expect(await mapped.describeModel("org/other-7B")).toMatchObject({
        loaded: false,
        parameterCount: 6_873_120,
      });
      await expectEngineError(() => mapped.describeModel("gpt-4o"), "unknown-model", "gpt-4o");
      const result = await collectBatch(mapped, { model: "local/file-model", items: [item("x", "Hello")] });
      expect(result.finished.get("x")!.figures.generatedTokens).toBeGreaterThan(0);
      expect(
        (await mapped.doInfo()).models.find((descriptor) => descriptor.name === "local/file-model")!.loaded,
      ).toBe(true);
    } finally {
      await mapped.close();
    }
  });

  it("unloads the least recently used model to stay under the memory budget", async () => {
    const probe = new LlamaCppEngine({ threads: 1, contextSize: 256, maxSequences: 1, haloHome });
    const tinyBytes = (await probe.doInfo()).models.find(
      (descriptor) => descriptor.name === model,
    )!.memoryBytes;
    await probe.close();
    const small = new LlamaCppEngine({
      threads: 1,
      contextSize: 256,
      maxSequences: 1,
      haloHome,
      memoryBudgetBytes: Math.floor(tinyBytes * 1.5),
      modelMap: parseModelMap('models:\n  "halo/other": { synth: { params: 2M, seed: 3 } }\n', "inline", "/"),
    });
    try {
      await small.doLoadModel({ model });
      await collectBatch(small, { model, sharedPrefix: { key: "p", text: prefix }, items: [item("a", "x")] });
      const switched = await small.doLoadModel({ model: "halo/other" });
      expect(switched.unloaded).toEqual([model]);
      // A prefix lives as long as its model.
      expect((await small.doStats()).kvEntries).toEqual([]);
      expect((await small.doStats()).loadedModels).toEqual(["halo/other"]);
      await expectEngineError(
        () => small.doLoadModel({ model: "Qwen/Qwen3-32B" }),
        "over-limits",
        "memory budget",
      );
    } finally {
      await small.close();
    }
  });

  it("refuses use after close and bad options", async () => {
    const closed = new LlamaCppEngine({ threads: 1, haloHome });
    await closed.close();
    await expectEngineError(() => closed.doLoadModel({ model }), "internal", "closed");
    expect(() => new LlamaCppEngine({ threads: 0 })).toThrow(/threads/);
    expect(() => new LlamaCppEngine({ threads: 1, contextSize: 8 })).toThrow(/contextSize/);
    expect(() => new LlamaCppEngine({ threads: 1, maxSequences: 0 })).toThrow(/maxSequences/);
    expect(() => new LlamaCppEngine({ threads: 1, memoryBudgetBytes: -1 })).toThrow(/memoryBudgetBytes/);
  });
});
