import { collectBatch } from "@halo/executor/test";
import { groundTruthDevice, kvCapacityTokens } from "@halo/profiles";
import { describe, expect, it } from "vitest";
import { naturalOutputTokens } from "./device-costs.js";
import { SimEngine } from "./sim-engine.js";

const H100 = groundTruthDevice("h100");
const truthEngine = (options: Partial<ConstructorParameters<typeof SimEngine>[0]> = {}) =>
  new SimEngine({ truth: H100, timeScale: 0, ...options });
const item = (id: string, prompt: string, maxTokens = 32) => ({
  id,
  prompt,
  maxTokens,
  temperature: 0,
  topP: 1,
  seed: 1,
});
const items = (count: number, characters: number, maxTokens = 32) =>
  Array.from({ length: count }, (_, index) =>
    item(`q${index}`, `question ${index}: ${"x".repeat(characters)}`, maxTokens),
  );

describe("SimEngine with a ground truth", () => {
  it("takes exactly one of profile and truth", () => {
    expect(() => new SimEngine({})).toThrow(/either a profile or a ground truth/);
  });

  it("reports vLLM's limits and the engine memory, not a planning profile", async () => {
    const info = await truthEngine().doInfo();
    expect(info.maxSequences).toBe(1024);
    expect(info.version).toContain("H100-SXM5-80GB (simulated ground truth)");
    const a100 = await new SimEngine({ truth: groundTruthDevice("a100"), timeScale: 0 }).doInfo();
    expect(a100.maxSequences).toBe(256);
  });

  it("gives the same figures for the same noise seed, others for another seed, none without noise", async () => {
    const figures = async (noiseSeed: number, noise = 0.03) => {
      const sim = truthEngine({ noise, noiseSeed });
      const results = [];
      for (let batch = 0; batch < 3; batch++) {
        results.push((await collectBatch(sim, { model: "Qwen/Qwen3-14B", items: items(8, 400) })).batch);
      }
      return results.map((batch) => batch.prefillMs + batch.decodeMs);
    };
    const seven = await figures(7);
    expect(await figures(7)).toEqual(seven);
    expect(await figures(8)).not.toEqual(seven);
    const quiet = await figures(7, 0);
    // ~3 % noise: every batch within 15 % of the noiseless time, and not all equal to it.
    for (const [index, ms] of seven.entries()) expect(Math.abs(ms / quiet[index]! - 1)).toBeLessThan(0.15);
    expect(seven.some((ms, index) => ms !== quiet[index])).toBe(true);
  });

  it("varies output lengths around max_tokens, the same for the same prompt", async () => {
    const sim = truthEngine();
    const batch = await collectBatch(sim, { model: "openai/gpt-oss-20b", items: items(200, 40, 40) });
    const lengths = [...batch.finished.values()].map((result) => result.figures.generatedTokens);
    const capped = lengths.filter((length) => length === 40).length;
    expect(Math.max(...lengths)).toBe(40);
    expect(Math.min(...lengths)).toBeLessThan(30);
    expect(capped).toBeGreaterThan(20);
    expect(capped).toBeLessThan(120);
    const again = await collectBatch(truthEngine(), {
      model: "openai/gpt-oss-20b",
      items: items(200, 40, 40),
    });
    expect([...again.finished.values()].map((result) => result.text)).toEqual(
      [...batch.finished.values()].map((result) => result.text),
    );
    expect(naturalOutputTokens(5, 40)).toBe(naturalOutputTokens(5, 40));
  });

  it("queues and preempts when Qwen3-32B's KV cache is full: a big batch costs more than its share", async () => {
    const qwen32 = H100.models["Qwen/Qwen3-32B"]!;
    expect(kvCapacityTokens(H100, qwen32)).toBeLessThan(40_000);
    const perItemMs = async (count: number) => {
      const sim = truthEngine();
      const batch = await collectBatch(sim, { model: "Qwen/Qwen3-32B", items: items(count, 2400, 64) });
      expect(batch.finished.size).toBe(count);
      return { ms: (batch.batch.prefillMs + batch.batch.decodeMs) / count, preemptions: sim.preemptions };
    };
    // 40 sequences of ~660 tokens fit (~26k tokens); 400 do not (~264k): they queue.
    const small = await perItemMs(40);
    const large = await perItemMs(400);
    expect(small.preemptions).toBe(0);
    // Admitted at their prompt's size, the 400 outgrow the cache as they decode: some are preempted.
    expect(large.preemptions).toBeGreaterThan(0);
    // Batching still helps, but far less than 10× more sequences would on an unbounded cache.
    expect(large.ms).toBeGreaterThan(small.ms * 0.5);
  });

  it("fails an item whose prompt cannot fit the KV cache, and serves the rest", async () => {
    const qwen32 = H100.models["Qwen/Qwen3-32B"]!;
    // Room for 10,000 tokens of KV beside the weights.
    const sim = truthEngine({ memoryBudgetBytes: qwen32.weightsBytes + 10_000 * qwen32.kvBytesPerToken });
    const huge = item("huge", "y".repeat(4 * 12_000), 16);
    const batch = await collectBatch(sim, { model: "Qwen/Qwen3-32B", items: [huge, ...items(2, 40)] });
    expect(batch.failed.get("huge")?.code).toBe("over-limits");
    expect(batch.failed.get("huge")?.message).toMatch(/need more KV than the 10000 tokens/);
    expect(batch.finished.size).toBe(2);
  });
});
