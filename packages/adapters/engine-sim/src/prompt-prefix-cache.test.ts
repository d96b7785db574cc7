import { collectBatch } from "@halo/executor/test";
import { H100_SIMULATED_PROFILE, prefillMs } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import { PromptPrefixCache } from "./prompt-prefix-cache.js";
import { SimEngine } from "./sim-engine.js";

const MODEL = "Qwen/Qwen3-14B";
const item = (id: string, prompt: string) => ({ id, prompt, maxTokens: 4, temperature: 0, topP: 1, seed: 1 });
const line = (name: string, chars: number) => `${name}: ${"v".repeat(chars - name.length - 3)}\n`;

describe("the prompt prefix cache", () => {
  it("reuses whole leading lines within a scope, and nothing after the first new line", () => {
    const cache = new PromptPrefixCache(10_000);
    const shared = line("rows", 400);
    expect(cache.lookupAndInsert("s", `${shared}q: 1\n`)).toBe(0);
    expect(cache.lookupAndInsert("s", `${shared}q: 2\n`)).toBe(100);
    // Another scope (another model or shared prefix): nothing is shared.
    expect(cache.lookupAndInsert("t", `${shared}q: 2\n`)).toBe(0);
    // A line after a differing one is not reused even when its text was seen.
    expect(cache.lookupAndInsert("s", `q: 1\n${shared}`)).toBe(0);
    // A partial last line is never reused.
    expect(cache.lookupAndInsert("s", shared.slice(0, 200))).toBe(0);
  });

  it("evicts the least recently used lines beyond its capacity", () => {
    const cache = new PromptPrefixCache(150);
    cache.lookupAndInsert("s", line("a", 400));
    cache.lookupAndInsert("s", line("b", 400));
    expect(cache.size).toBeLessThanOrEqual(150);
    expect(cache.lookupAndInsert("s", line("b", 400))).toBe(100);
    expect(cache.lookupAndInsert("s", line("a", 400))).toBe(0);
  });
});

describe("engine-sim's prefix accounting", () => {
  const prefix = { key: "p", text: "x".repeat(400) };
  const shared = line("rows", 800);
  const items = ["1", "2", "3", "4"].map((id) => item(id, `${shared}question: ${id}\n`));

  it("prefills a cold prefix that several items of one batch share once, and caches it for the next batch", async () => {
    const sim = new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0 });
    const first = await collectBatch(sim, { model: MODEL, sharedPrefix: prefix, items });
    const itemTokens = Math.ceil(`${shared}question: 1\n`.length / 4);
    // 100 prefix tokens once; the 200 tokens of the shared line once; each item's own line.
    expect(first.batch.promptTokens).toBe(4 * (100 + itemTokens));
    // The prefix is read from the cache by the 3 items after the first, and so is the shared line.
    expect(first.batch.cachedTokens).toBe(3 * 100 + 3 * 200);
    const prefilled = 100 + 4 * itemTokens - 3 * 200;
    // What the batch reports as prompt − cached is what it prefilled.
    expect(first.batch.promptTokens - first.batch.cachedTokens).toBe(prefilled);
    expect(first.batch.prefillMs).toBeCloseTo(prefillMs(H100_SIMULATED_PROFILE.models[MODEL]!, prefilled));
    const second = await collectBatch(sim, {
      model: MODEL,
      sharedPrefix: prefix,
      items: [item("5", `${shared}question: 5\n`)],
    });
    expect(second.batch.cachedTokens).toBe(100 + 200);
  });

  it("charges per item with the cache off, and prompts sent whole are priced as before", async () => {
    const off = new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0, promptPrefixCache: false });
    // Without the automatic cache the items' own lines are prefilled per item; the declared
    // prefix is still prefilled once for the batch (3 of its 4 items read it).
    expect((await collectBatch(off, { model: MODEL, sharedPrefix: prefix, items })).batch.cachedTokens).toBe(
      3 * 100,
    );
    const whole = new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0 });
    const batch = await collectBatch(whole, {
      model: MODEL,
      items: items.map((entry) => ({ ...entry, prompt: prefix.text + entry.prompt })),
    });
    expect(batch.batch.cachedTokens).toBe(0);
  });

  it("does not change the generated text", async () => {
    const on = new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0 });
    const off = new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0, promptPrefixCache: false });
    const a = await collectBatch(on, { model: MODEL, sharedPrefix: prefix, items });
    const b = await collectBatch(off, { model: MODEL, sharedPrefix: prefix, items });
    const texts = (batch: typeof a) => [...batch.finished].map(([id, entry]) => [id, entry.text]);
    expect(texts(a)).toEqual(texts(b));
  });
});
