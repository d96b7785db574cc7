import { describe, expect, it } from "vitest";
import { createSeededRandom } from "./index.js";

describe("createSeededRandom", () => {
  it("repeats its sequence for a seed and differs between seeds", () => {
    const first = createSeededRandom("seed-a");
    const again = createSeededRandom("seed-a");
    const other = createSeededRandom("seed-b");
    const sequence = Array.from({ length: 5 }, () => first());
    expect(Array.from({ length: 5 }, () => again())).toEqual(sequence);
    expect(Array.from({ length: 5 }, () => other())).not.toEqual(sequence);
  });

  it("draws uniformly from [0, 1)", () => {
    const random = createSeededRandom("");
    const values = Array.from({ length: 50_000 }, () => random());
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    const buckets = new Array<number>(10).fill(0);
    for (const value of values) buckets[Math.floor(value * 10)]! += 1;
    for (const count of buckets) expect(Math.abs(count / 5000 - 1)).toBeLessThan(0.06);
  });
});
