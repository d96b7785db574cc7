import { describe, expect, it } from "vitest";
import { SeededRandom } from "./seeded-random.js";

describe("SeededRandom", () => {
  it("gives the same stream for the same label and another for another label", () => {
    const first = new SeededRandom("model\u0000blk.0.attn_q.weight");
    const second = new SeededRandom("model\u0000blk.0.attn_q.weight");
    const other = new SeededRandom("model\u0000blk.0.attn_k.weight");
    const a = Array.from({ length: 16 }, () => first.nextUint32());
    const b = Array.from({ length: 16 }, () => second.nextUint32());
    const c = Array.from({ length: 16 }, () => other.nextUint32());
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    for (const value of a) {
      expect(Number.isInteger(value)).toBe(true);
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(2 ** 32);
    }
  });

  it("fills bytes from successive words, little-endian, including a partial last word", () => {
    const words = new SeededRandom("x");
    const expectedWords = [words.nextUint32(), words.nextUint32()];
    const bytes = new Uint8Array(7);
    new SeededRandom("x").fillBytes(bytes);
    const expected = [0, 1, 2, 3, 4, 5, 6].map(
      (index) => (expectedWords[Math.floor(index / 4)]! >>> ((index % 4) * 8)) & 0xff,
    );
    expect(Array.from(bytes)).toEqual(expected);
  });

  it("spreads bytes roughly uniformly", () => {
    const bytes = new Uint8Array(256 * 400);
    new SeededRandom("uniformity").fillBytes(bytes);
    const counts = new Array<number>(256).fill(0);
    for (const byte of bytes) counts[byte]! += 1;
    expect(Math.min(...counts)).toBeGreaterThan(300);
    expect(Math.max(...counts)).toBeLessThan(500);
  });
});
