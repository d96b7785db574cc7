import { describe, expect, it } from "vitest";
import { nonNegativeLeastSquares } from "./least-squares.js";

describe("nonNegativeLeastSquares", () => {
  it("recovers an exact linear model", () => {
    const rows = [1, 2, 4, 8, 16].map((x) => [1, x]);
    const targets = rows.map(([, x]) => 3 + 0.5 * x!);
    const [intercept, slope] = nonNegativeLeastSquares(rows, targets);
    expect(intercept).toBeCloseTo(3, 9);
    expect(slope).toBeCloseTo(0.5, 9);
  });

  it("fits three terms (decode step model: fixed + batch + batch × context)", () => {
    const rows: number[][] = [];
    const targets: number[] = [];
    for (const batch of [1, 4, 8]) {
      for (const context of [32, 256]) {
        rows.push([1, batch, batch * context]);
        targets.push(0.8 + batch * (0.9 + 0.002 * context));
      }
    }
    const [fixed, perSequence, perContext] = nonNegativeLeastSquares(rows, targets);
    expect(fixed).toBeCloseTo(0.8, 6);
    expect(perSequence).toBeCloseTo(0.9, 6);
    expect(perContext).toBeCloseTo(0.002, 8);
  });

  it("pins a coefficient that would be negative at zero and refits the rest", () => {
    // y = 2x - 1 over these points: the unconstrained intercept is negative.
    const rows = [1, 2, 3].map((x) => [1, x]);
    const [intercept, slope] = nonNegativeLeastSquares(rows, [1, 3, 5]);
    expect(intercept).toBe(0);
    expect(slope).toBeCloseTo((1 + 6 + 15) / 14, 9);
  });

  it("returns zeros without data and rejects mismatched inputs", () => {
    expect(nonNegativeLeastSquares([], [])).toEqual([]);
    expect(() => nonNegativeLeastSquares([[1]], [])).toThrow(/differ in length/);
  });
});
