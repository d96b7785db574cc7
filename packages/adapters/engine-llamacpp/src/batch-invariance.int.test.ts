import type { GenerateItem } from "@halo/executor";
import { collectBatch } from "@halo/executor/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlamaCppEngine } from "./llamacpp-engine.js";
import { testHaloHome } from "./test-models.js";

// The 14M stand-in: deep enough that a different split of a prompt into decode calls
// changes its greedy output (before prompts were prefilled one at a time, 13 of these 16
// items decoded differently in a batch than alone). Greedy outputs must not depend on the
// batch: the runtime's output-equivalence guarantee rests on it.
const model = "Qwen/Qwen3-14B";
const prefix =
  "### System\nYou are a market analyst. Use the most valuable open orders of the customer segment " +
  "(segment_orders) and the revenue by nation of the region (nation_volume) to answer user_query in one sentence.\n\n### User\n";
const words =
  "revenue order nation region segment building asia europe africa america supplier part brass copper".split(
    " ",
  );
// Prompts of different lengths whose uncached parts together exceed one llama.cpp decode
// batch (512 tokens), so packing them into shared decode calls would split some of them.
const items: GenerateItem[] = Array.from({ length: 16 }, (_, index) => ({
  id: `q${index}`,
  prompt: `user_query: ${Array.from({ length: 8 + ((index * 7) % 30) }, (_, word) => words[(index * 13 + word * 7) % words.length]).join(" ")} ${1990 + index}\ntpch_params: {"region":"R${index}","year":${1990 + index},"segment":"S${index % 5}"}\n\n### Assistant\n`,
  maxTokens: 16,
  temperature: 0,
  topP: 1,
  seed: 0,
}));

let engine: LlamaCppEngine;

beforeAll(async () => {
  engine = new LlamaCppEngine({ threads: 1, haloHome: await testHaloHome(), automaticPrefixReuse: false });
  await engine.doLoadModel({ model });
});

afterAll(async () => {
  await engine?.close();
});

describe("LlamaCppEngine batch invariance", () => {
  it("decodes every item of a full batch exactly as it decodes that item alone", async () => {
    const sharedPrefix = { key: "analyst", text: prefix };
    const batch = await collectBatch(engine, { model, sharedPrefix, items });
    expect(batch.batch.promptTokens - batch.batch.cachedTokens).toBeGreaterThan(512);
    for (const item of items) {
      const alone = await collectBatch(engine, { model, sharedPrefix, items: [item] });
      expect(alone.finished.get(item.id)!.text).toBe(batch.finished.get(item.id)!.text);
    }
    const subset = await collectBatch(engine, { model, sharedPrefix, items: items.slice(5, 9) });
    for (const [id, result] of subset.finished) expect(result.text).toBe(batch.finished.get(id)!.text);
    expect(new Set([...batch.finished.values()].map((result) => result.text)).size).toBeGreaterThan(8);
  });
});
