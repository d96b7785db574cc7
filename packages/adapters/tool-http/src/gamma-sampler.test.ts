import { sfc32 as createSeededRandom } from "@halo/seeded-random";
import { describe, expect, it } from "vitest";
import { PADDED_LATENCY_SHAPE, sampleGamma, samplePaddedLatencyMs } from "./gamma-sampler.js";

function moments(values: readonly number[]): { mean: number; variance: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
  return { mean, variance };
}

// Fixed seeds make these exact, repeatable computations, not timing or luck: with 40 000 draws the
// standard error of the mean is 0.25% of the mean (k = 4), so a 1.5% bound is six standard errors.
const DRAWS = 40_000;

describe("sampleGamma", () => {
  it("has mean k·θ and variance k·θ² for the padded shape", () => {
    const random = createSeededRandom("gamma-moments");
    const meanMs = 3000;
    const values = Array.from({ length: DRAWS }, () => samplePaddedLatencyMs(meanMs, random));
    const { mean, variance } = moments(values);
    const scale = meanMs / PADDED_LATENCY_SHAPE;
    expect(mean / meanMs).toBeCloseTo(1, 1);
    expect(Math.abs(mean / meanMs - 1)).toBeLessThan(0.015);
    expect(Math.abs(variance / (PADDED_LATENCY_SHAPE * scale * scale) - 1)).toBeLessThan(0.05);
    expect(Math.min(...values)).toBeGreaterThan(0);
  });

  it("matches the moments for shapes below and above 1", () => {
    for (const [shape, scale] of [
      [0.5, 2],
      [1, 10],
      [9, 0.5],
    ] as const) {
      const random = createSeededRandom(`gamma-${shape}`);
      const { mean, variance } = moments(
        Array.from({ length: DRAWS }, () => sampleGamma(shape, scale, random)),
      );
      expect(Math.abs(mean / (shape * scale) - 1)).toBeLessThan(0.03);
      expect(Math.abs(variance / (shape * scale * scale) - 1)).toBeLessThan(0.08);
    }
  });

  it("is the same for the same seed and differs between seeds", () => {
    const draw = (seed: string): number => samplePaddedLatencyMs(6000, createSeededRandom(seed));
    expect(draw("query-17")).toBe(draw("query-17"));
    expect(draw("query-17")).not.toBe(draw("query-18"));
  });

  it("returns 0 for a zero mean and rejects invalid parameters", () => {
    expect(samplePaddedLatencyMs(0, createSeededRandom("zero"))).toBe(0);
    expect(() => sampleGamma(0, 1, Math.random)).toThrow(/shape > 0/);
    expect(() => sampleGamma(2, -1, Math.random)).toThrow(/scale >= 0/);
    expect(() => sampleGamma(Number.NaN, 1, Math.random)).toThrow();
  });

  it("never feeds a zero uniform into a logarithm", () => {
    const values = [0, 0, 0.3, 0.7, 0.5, 0.2, 0.9, 0.4, 0.6, 0.1];
    let index = 0;
    const stubbornSource = (): number => values[index++ % values.length]!;
    expect(Number.isFinite(sampleGamma(4, 1, stubbornSource))).toBe(true);
    expect(Number.isFinite(sampleGamma(0.5, 1, stubbornSource))).toBe(true);
  });
});
