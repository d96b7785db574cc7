import { describe, expect, it } from "vitest";
import { SeededRandom } from "./seeded-random.js";

const draw = (random: SeededRandom, count: number) =>
  Array.from({ length: count }, () => random.nextUint32());

describe("SeededRandom", () => {
  it("repeats a stream for the same parts and differs for other parts", () => {
    expect(draw(new SeededRandom("tpch", 1, "orders"), 50)).toEqual(
      draw(new SeededRandom("tpch", 1, "orders"), 50),
    );
    expect(draw(new SeededRandom("tpch", 2, "orders"), 50)).not.toEqual(
      draw(new SeededRandom("tpch", 1, "orders"), 50),
    );
    expect(draw(new SeededRandom("tpch", 1, "part"), 50)).not.toEqual(
      draw(new SeededRandom("tpch", 1, "orders"), 50),
    );
  });

  it("draws integers within inclusive bounds, reaching both ends", () => {
    const random = new SeededRandom("bounds");
    const seen = new Set<number>();
    for (let index = 0; index < 2_000; index++) {
      const value = random.integer(3, 7);
      expect(value).toBeGreaterThanOrEqual(3);
      expect(value).toBeLessThanOrEqual(7);
      seen.add(value);
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6, 7]);
  });

  it("samples distinct elements and spreads floats over [0, 1)", () => {
    const random = new SeededRandom("sample");
    const sample = random.sample([1, 2, 3, 4, 5, 6, 7, 8], 5);
    expect(new Set(sample).size).toBe(5);
    const values = Array.from({ length: 10_000 }, () => random.next());
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(mean).toBeGreaterThan(0.47);
    expect(mean).toBeLessThan(0.53);
  });

  it("keeps normal draws within the clamp and near the mean", () => {
    const random = new SeededRandom("normal");
    const values = Array.from({ length: 5_000 }, () => random.normal(6, 1, 1, 10));
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(Math.min(...values)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...values)).toBeLessThanOrEqual(10);
    expect(Math.abs(mean - 6)).toBeLessThan(0.1);
  });

  it("rejects picking from an empty list", () => {
    expect(() => new SeededRandom("empty").pick([])).toThrow(/non-empty/);
  });
});
