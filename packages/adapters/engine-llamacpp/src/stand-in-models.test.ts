import { describe, expect, it } from "vitest";
import {
  countParameters,
  formatParameterCount,
  parseParameterCount,
  planArchitecture,
  standInContextLength,
  standInModels,
  standInParameterCount,
  synthesizedContextLength,
} from "./stand-in-models.js";

describe("parseParameterCount", () => {
  it("reads counts with and without a unit", () => {
    expect(parseParameterCount("14M")).toBe(14_000_000);
    expect(parseParameterCount("1.5b")).toBe(1_500_000_000);
    expect(parseParameterCount(" 500K ")).toBe(500_000);
    expect(parseParameterCount("2000000")).toBe(2_000_000);
  });

  it("rejects what is not a count", () => {
    for (const text of ["", "M", "14X", "-3M", "0", "1e6", "fourteen"]) {
      expect(parseParameterCount(text)).toBeUndefined();
    }
  });
});

describe("formatParameterCount", () => {
  it("formats compactly", () => {
    expect(formatParameterCount(14_000_000)).toBe("14M");
    expect(formatParameterCount(2_500_000)).toBe("2.5M");
    expect(formatParameterCount(800_000)).toBe("800K");
    expect(formatParameterCount(1_500_000_000)).toBe("1.5B");
    expect(formatParameterCount(1_234_567)).toBe("1234567");
    expect(formatParameterCount(7)).toBe("7");
  });
});

describe("standInParameterCount", () => {
  it("maps the named models to a thousandth of their size", () => {
    expect(standInParameterCount("Qwen/Qwen3-14B")).toBe(14_000_000);
    expect(standInParameterCount("openai/gpt-oss-20b")).toBe(20_000_000);
    expect(standInParameterCount("Qwen/Qwen3-32B")).toBe(32_000_000);
    expect(standInParameterCount("halo/tiny")).toBe(2_000_000);
  });

  it("reads the count in other names", () => {
    expect(standInParameterCount("meta-llama/Llama-2-7b-chat-hf")).toBe(7_000_000);
    expect(standInParameterCount("Qwen/Qwen3-30B-A3B")).toBe(30_000_000);
    expect(standInParameterCount("mistralai/Mixtral-8x7B-v0.1")).toBe(56_000_000);
    expect(standInParameterCount("x/model-2.5B")).toBe(2_500_000);
  });

  it("raises counts below the smallest stand-in and refuses names without a count", () => {
    expect(standInParameterCount("Qwen/Qwen2.5-0.5B")).toBe(2_000_000);
    expect(standInParameterCount("gpt-4o")).toBeUndefined();
    expect(standInParameterCount("my-model")).toBeUndefined();
    expect(standInParameterCount("abc7b")).toBeUndefined();
  });
});

describe("planArchitecture", () => {
  it("fits stand-ins within 8% of their target and keeps their order", () => {
    let previous = 0;
    for (const model of standInModels) {
      const architecture = planArchitecture(model.parameterCount);
      const actual = countParameters(architecture);
      expect(Math.abs(actual - model.parameterCount) / model.parameterCount).toBeLessThan(0.08);
      expect(actual).toBeGreaterThan(previous);
      previous = actual;
      expect(architecture.contextLength).toBeGreaterThanOrEqual(2048);
      expect(architecture.vocabularySize).toBe(32000);
      expect(architecture.headCount * architecture.headDimension).toBe(architecture.embeddingLength);
      expect(architecture.headCount % architecture.headCountKv).toBe(0);
      expect(architecture.embeddingLength % 32).toBe(0);
    }
  });

  it("fits arbitrary sizes from 2M to 2B", () => {
    for (const target of [7e6, 50e6, 120e6, 405e6, 2e9]) {
      const architecture = planArchitecture(target);
      expect(Math.abs(countParameters(architecture) - target) / target).toBeLessThan(0.03);
    }
    // Below ~5M the embedding alone moves in steps of 1M (32 more width), so fits are coarser.
    expect(Math.abs(countParameters(planArchitecture(3e6)) - 3e6) / 3e6).toBeLessThan(0.1);
  });

  it("uses a narrow embedding for the tiny model", () => {
    expect(planArchitecture(2_000_000)).toMatchObject({ embeddingLength: 64, blockCount: 2 });
  });

  it("rejects sizes out of range", () => {
    expect(() => planArchitecture(1_000_000)).toThrow(/at least 2M/);
    expect(() => planArchitecture(3e9)).toThrow(/at most 2B/);
    expect(() => planArchitecture(Number.NaN)).toThrow(RangeError);
  });
});

describe("standInContextLength", () => {
  it("rounds up to a multiple of 4096, at least 4096", () => {
    expect(standInContextLength(1)).toBe(4096);
    expect(standInContextLength(4096)).toBe(4096);
    expect(standInContextLength(4097)).toBe(8192);
    expect(standInContextLength(20_002)).toBe(20_480);
    expect(standInContextLength(32_768)).toBe(32_768);
    expect(standInContextLength(131_072)).toBe(131_072);
  });

  it("refuses what no stand-in can hold", () => {
    expect(() => standInContextLength(131_073)).toThrow(/at most 131072 tokens \(got 131073\)/);
    expect(() => standInContextLength(0)).toThrow(/positive integer/);
    expect(() => standInContextLength(5000.5)).toThrow(/positive integer/);
  });
});

describe("planArchitecture with a context", () => {
  it("changes only the context, never the shape", () => {
    const standard = planArchitecture(14_000_000);
    expect(standard.contextLength).toBe(synthesizedContextLength);
    expect(planArchitecture(14_000_000, 32_768)).toEqual({ ...standard, contextLength: 32_768 });
  });

  it("takes only the rounded lengths", () => {
    expect(() => planArchitecture(14_000_000, 5000)).toThrow(
      /multiple of 4096 in 4096\.\.131072 \(got 5000\)/,
    );
    expect(() => planArchitecture(14_000_000, 2048)).toThrow(/multiple of 4096/);
    expect(() => planArchitecture(14_000_000, 262_144)).toThrow(/at most 131072/);
  });
});
