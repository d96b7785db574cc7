import { describe, expect, it } from "vitest";
import { fromHalfFloatBits, toHalfFloatBits } from "./half-float.js";

describe("toHalfFloatBits", () => {
  it("encodes exact values", () => {
    expect(toHalfFloatBits(0)).toBe(0x0000);
    expect(toHalfFloatBits(-0)).toBe(0x8000);
    expect(toHalfFloatBits(1)).toBe(0x3c00);
    expect(toHalfFloatBits(-2)).toBe(0xc000);
    expect(toHalfFloatBits(0.5)).toBe(0x3800);
    expect(toHalfFloatBits(65504)).toBe(0x7bff);
  });

  it("saturates to infinity and keeps NaN", () => {
    expect(toHalfFloatBits(1e6)).toBe(0x7c00);
    expect(toHalfFloatBits(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    expect(Number.isNaN(fromHalfFloatBits(toHalfFloatBits(Number.NaN)))).toBe(true);
  });

  it("encodes subnormals and flushes what is too small", () => {
    expect(toHalfFloatBits(2 ** -24)).toBe(0x0001);
    expect(toHalfFloatBits(2 ** -15)).toBe(0x0200);
    expect(toHalfFloatBits(2 ** -30)).toBe(0x0000);
  });

  it("rounds to nearest, ties to even", () => {
    // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): ties to the even mantissa (1).
    expect(toHalfFloatBits(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3 × 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
    expect(toHalfFloatBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toHalfFloatBits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
  });

  it("round-trips within half precision", () => {
    for (const value of [0.1, -0.02, 3.3, 1234.5, 6e-5, -7.5e-7]) {
      const back = fromHalfFloatBits(toHalfFloatBits(value));
      expect(Math.abs(back - value)).toBeLessThanOrEqual(Math.max(Math.abs(value) * 2 ** -11, 2 ** -25));
    }
    expect(fromHalfFloatBits(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(fromHalfFloatBits(0x0001)).toBe(2 ** -24);
  });
});
