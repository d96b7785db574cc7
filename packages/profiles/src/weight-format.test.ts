import { describe, expect, it } from "vitest";
import { H100_SIMULATED_PROFILE } from "./builtin-profiles.js";
import { deriveModelProfile } from "./derive-profile.js";
import {
  isKnownWeightFormat,
  weightBytesPerParameter,
  weightBytesPerParameterFromName,
} from "./weight-format.js";

describe("weight formats", () => {
  it("reads bytes per parameter from quantization first, then dtype", () => {
    expect(weightBytesPerParameter({ quantization: "awq", dtype: "float16" })).toBeCloseTo(0.5625);
    expect(weightBytesPerParameter({ quantization: "GPTQ" })).toBeCloseTo(0.5625);
    expect(weightBytesPerParameter({ quantization: "fp8" })).toBe(1);
    expect(weightBytesPerParameter({ quantization: "int8" })).toBe(1);
    expect(weightBytesPerParameter({ dtype: "bfloat16" })).toBe(2);
    expect(weightBytesPerParameter({ dtype: "fp16" })).toBe(2);
    expect(weightBytesPerParameter({ dtype: "auto" })).toBeUndefined();
    expect(weightBytesPerParameter({})).toBeUndefined();
    expect(isKnownWeightFormat("awq", "quantization")).toBe(true);
    expect(isKnownWeightFormat("mystery", "quantization")).toBe(false);
    expect(isKnownWeightFormat("auto", "dtype")).toBe(true);
  });

  it("reads a quantization suffix in a model name", () => {
    expect(weightBytesPerParameterFromName("kosbu/Llama-3.3-70B-Instruct-AWQ")).toBeCloseTo(0.5625);
    expect(weightBytesPerParameterFromName("Qwen/Qwen3-32B-FP8")).toBe(1);
    expect(weightBytesPerParameterFromName("Qwen/Qwen3-32B")).toBeUndefined();
    // "awq" inside a word is not a suffix.
    expect(weightBytesPerParameterFromName("acme/hawqish-7B")).toBeUndefined();
  });

  it("sizes derived models by their weight format, and scales load time with the bytes", () => {
    const plain = deriveModelProfile(H100_SIMULATED_PROFILE, "acme/Llama-3.3-70B-Instruct")!;
    const awq = deriveModelProfile(H100_SIMULATED_PROFILE, "acme/Llama-3.3-70B-Instruct", {
      weightBytesPerParameter: weightBytesPerParameter({ quantization: "awq" }),
    })!;
    expect(plain.weightsBytes).toBeGreaterThan(H100_SIMULATED_PROFILE.memoryBytes);
    expect(awq.weightsBytes).toBeCloseTo(70e9 * 0.5625);
    expect(awq.weightsBytes).toBeLessThan(H100_SIMULATED_PROFILE.memoryBytes);
    expect(awq.loadMs).toBeLessThan(plain.loadMs);
    expect(awq.prefill).toEqual(plain.prefill);
  });
});
