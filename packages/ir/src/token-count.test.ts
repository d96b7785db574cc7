import { describe, expect, it } from "vitest";
import { countTokens, decodeTokens, encodeTokens } from "./token-count.js";

describe("countTokens", () => {
  it("tokenizes with the 32000-token vocabulary, without BOS", () => {
    const ids = encodeTokens("region=ASIA segment=BUILDING year=1994");
    expect(ids.length).toBeGreaterThan(5);
    expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 32000)).toBe(true);
    expect(ids[0]).not.toBe(1);
    expect(decodeTokens(ids)).toBe("region=ASIA segment=BUILDING year=1994");
    expect(countTokens("region=ASIA segment=BUILDING year=1994")).toBe(ids.length);
  });

  it("counts nothing for empty text and grows with text", () => {
    expect(countTokens("")).toBe(0);
    expect(countTokens("hello world ".repeat(20))).toBeGreaterThan(countTokens("hello world"));
    expect(countTokens("Hello")).toBe(1);
  });
});
