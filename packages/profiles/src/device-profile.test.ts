import { describe, expect, it } from "vitest";
import { H100_SIMULATED_PROFILE } from "./builtin-profiles.js";
import { deriveModelProfile, parameterCountFromName } from "./derive-profile.js";
import {
  decodeMs,
  decodeProfileFor,
  decodeStepMs,
  kvTransferMs,
  ProfileValidationError,
  parseDeviceProfile,
  prefillMs,
  tableStepMs,
} from "./device-profile.js";

const qwen14 = H100_SIMULATED_PROFILE.models["Qwen/Qwen3-14B"]!;
const qwen32 = H100_SIMULATED_PROFILE.models["Qwen/Qwen3-32B"]!;
const oss20 = H100_SIMULATED_PROFILE.models["openai/gpt-oss-20b"]!;

describe("built-in H100 profile", () => {
  it("keeps the models' relative costs", () => {
    expect(qwen14.loadMs).toBe(10_500);
    expect(oss20.loadMs).toBe(15_000);
    expect(qwen32.loadMs).toBe(24_000);
    expect(qwen14.kvBytesPerToken).toBe(163_840);
    expect(qwen32.kvBytesPerToken).toBe(262_144);
    expect(oss20.kvBytesPerToken).toBe(49_152);
    expect(prefillMs(qwen32, 1000)).toBeGreaterThan(prefillMs(qwen14, 1000));
    // The MoE model with 3.6B active parameters prefills fastest.
    expect(prefillMs(oss20, 1000)).toBeLessThan(prefillMs(qwen14, 1000));
  });

  it("gives plausible H100 figures", () => {
    // One 14B decode step at batch 1 is memory-bound: about 14 ms (70 tokens/s).
    expect(decodeStepMs(qwen14, 1, 1000)).toBeGreaterThan(10);
    expect(decodeStepMs(qwen14, 1, 1000)).toBeLessThan(20);
    // Prefill of 1,000 tokens on a 14B model takes tens of milliseconds.
    expect(prefillMs(qwen14, 1000)).toBeGreaterThan(20);
    expect(prefillMs(qwen14, 1000)).toBeLessThan(200);
  });
});

describe("cost arithmetic", () => {
  it("prefill is linear in tokens and free for none", () => {
    expect(prefillMs(qwen14, 0)).toBe(0);
    const one = prefillMs(qwen14, 100);
    const two = prefillMs(qwen14, 200);
    expect(two - one).toBeCloseTo(qwen14.prefill.msPerToken * 100, 9);
  });

  it("decoding in a batch is cheaper than one sequence after another", () => {
    const together = decodeMs(qwen14, 8, 500, 64);
    const apart = 8 * decodeMs(qwen14, 1, 500, 64);
    expect(together).toBeLessThan(apart / 4);
    expect(decodeMs(qwen14, 0, 500, 64)).toBe(0);
    expect(decodeMs(qwen14, 4, 500, 0)).toBe(0);
  });

  it("splits more sequences than the batch limit into waves", () => {
    const limit = qwen14.maxBatchSequences;
    const oneWave = decodeMs(qwen14, limit, 100, 10);
    expect(decodeMs(qwen14, limit * 2, 100, 10)).toBeCloseTo(2 * oneWave, 6);
    expect(decodeMs(qwen14, limit + 1, 100, 10)).toBeGreaterThan(oneWave);
  });

  it("KV transfer grows with tokens", () => {
    expect(kvTransferMs(H100_SIMULATED_PROFILE, qwen14, 0)).toBe(0);
    const small = kvTransferMs(H100_SIMULATED_PROFILE, qwen14, 512);
    const large = kvTransferMs(H100_SIMULATED_PROFILE, qwen14, 4096);
    expect(large).toBeGreaterThan(small);
    // Moving 512 tokens of KV is much cheaper than prefilling them again.
    expect(small).toBeLessThan(prefillMs(qwen14, 512));
  });
});

describe("parseDeviceProfile", () => {
  it("accepts the built-in profile round-tripped through JSON", () => {
    const copy = parseDeviceProfile(JSON.parse(JSON.stringify(H100_SIMULATED_PROFILE)), "copy.json");
    expect(copy).toEqual(H100_SIMULATED_PROFILE);
  });

  it("names the file and path of every problem", () => {
    const broken = JSON.parse(JSON.stringify(H100_SIMULATED_PROFILE));
    broken.models["Qwen/Qwen3-14B"].prefill.msPerToken = -1;
    delete broken.memoryBytes;
    try {
      parseDeviceProfile(broken, "gpu.json");
      expect.unreachable("the profile is invalid");
    } catch (error) {
      expect(error).toBeInstanceOf(ProfileValidationError);
      const issues = (error as ProfileValidationError).issues.join("\n");
      expect(issues).toContain("gpu.json: memoryBytes");
      expect(issues).toContain("gpu.json: models.Qwen/Qwen3-14B.prefill.msPerToken");
    }
    expect(() => parseDeviceProfile(null)).toThrow(/profile: \(root\)/);
  });
});

describe("parameter counts from names", () => {
  it.each([
    ["Qwen/Qwen3-14B", 14e9],
    ["openai/gpt-oss-20b", 20e9],
    ["Qwen/Qwen3-32B", 32e9],
    ["meta-llama/Llama-3.2-3B-Instruct", 3e9],
    ["meta-llama/Llama-3.1-8B-Instruct", 8e9],
    ["halo/tiny-2M", 2e6],
    ["TinyLlama-1.1B", 1.1e9],
  ])("%s has %d parameters", (name, count) => {
    expect(parameterCountFromName(name)).toBeCloseTo(count, 0);
  });

  it("finds none in names without a count", () => {
    expect(parameterCountFromName("gpt-4o")).toBeUndefined();
    expect(parameterCountFromName("my-model")).toBeUndefined();
  });

  it("derives a profile by scaling the closest profiled model", () => {
    const derived = deriveModelProfile(H100_SIMULATED_PROFILE, "meta-llama/Llama-3.1-8B-Instruct")!;
    expect(derived.parameterCount).toBe(8e9);
    expect(derived.loadMs).toBeLessThan(qwen14.loadMs);
    expect(derived.prefill.msPerToken).toBeLessThan(qwen14.prefill.msPerToken);
    const big = deriveModelProfile(H100_SIMULATED_PROFILE, "Qwen/Qwen2.5-72B")!;
    expect(big.weightsBytes).toBeGreaterThan(qwen32.weightsBytes);
    expect(deriveModelProfile(H100_SIMULATED_PROFILE, "gpt-4o")).toBeUndefined();
    expect(deriveModelProfile({ ...H100_SIMULATED_PROFILE, models: {} }, "x-7B")).toBeUndefined();
  });

  it("sizes a model from a quantized reference as 16-bit unless its name or options say otherwise", () => {
    // Only gpt-oss-20b (MXFP4, 13.8 GB for 20.9B parameters) is listed.
    const quantizedOnly = { ...H100_SIMULATED_PROFILE, models: { "openai/gpt-oss-20b": oss20 } };
    expect(deriveModelProfile(quantizedOnly, "Qwen/Qwen3-32B")!.weightsBytes).toBe(2 * 32e9);
    expect(deriveModelProfile(quantizedOnly, "Qwen/Qwen3-32B-AWQ")!.weightsBytes).toBeCloseTo(
      (32e9 * 4.5) / 8,
    );
    expect(
      deriveModelProfile(quantizedOnly, "Qwen/Qwen3-32B", { weightBytesPerParameter: 1 })!.weightsBytes,
    ).toBe(32e9);
    // A 16-bit reference's bytes per parameter carry over, as before.
    const sixteenOnly = { ...H100_SIMULATED_PROFILE, models: { "Qwen/Qwen3-14B": qwen14 } };
    expect(deriveModelProfile(sixteenOnly, "Qwen/Qwen3-32B")!.weightsBytes).toBeCloseTo(2 * 32e9);
  });
});

describe("structured decode (JSON-schema grammar)", () => {
  const structured = {
    stepFixedMs: qwen14.decode.stepFixedMs,
    stepMsPerSequence: 2,
    stepMsPerContextToken: 0,
  };
  const withStructured = { ...qwen14, structuredDecode: structured };

  it("is optional: a version-1 profile without it stays valid, and one with it parses", () => {
    expect(qwen14.structuredDecode).toBeUndefined();
    const document = JSON.parse(JSON.stringify(H100_SIMULATED_PROFILE));
    document.models["Qwen/Qwen3-14B"].structuredDecode = structured;
    const parsed = parseDeviceProfile(document, "cpu.json");
    expect(parsed.profileVersion).toBe(1);
    expect(parsed.models["Qwen/Qwen3-14B"]!.structuredDecode).toEqual(structured);
  });

  it("names the path of a bad structured figure", () => {
    const document = JSON.parse(JSON.stringify(H100_SIMULATED_PROFILE));
    document.models["Qwen/Qwen3-14B"].structuredDecode = { ...structured, stepMsPerSequence: -1 };
    expect(() => parseDeviceProfile(document, "cpu.json")).toThrow(
      /cpu\.json: models\.Qwen\/Qwen3-14B\.structuredDecode\.stepMsPerSequence/,
    );
    document.models["Qwen/Qwen3-14B"].structuredDecode = { ...structured, tokensPerSecond: 5 };
    expect(() => parseDeviceProfile(document, "cpu.json")).toThrow(/structuredDecode/);
  });

  it("prices JSON-constrained output with its own step costs, free output with decode", () => {
    expect(decodeProfileFor(withStructured, false)).toBe(withStructured);
    expect(decodeProfileFor(qwen14, true)).toBe(qwen14);
    const priced = decodeProfileFor(withStructured, true);
    expect(priced.decode).toEqual(structured);
    expect(decodeMs(priced, 8, 500, 64)).toBeGreaterThan(decodeMs(withStructured, 8, 500, 64));
  });

  it("a derived model keeps the reference's grammar overhead, unscaled", () => {
    const device = { ...H100_SIMULATED_PROFILE, models: { "Qwen/Qwen3-14B": withStructured } };
    const derived = deriveModelProfile(device, "meta-llama/Llama-3.1-8B-Instruct")!;
    const overhead = structured.stepMsPerSequence - qwen14.decode.stepMsPerSequence;
    expect(derived.structuredDecode!.stepMsPerSequence).toBeCloseTo(
      derived.decode.stepMsPerSequence + overhead,
      9,
    );
    expect(derived.structuredDecode!.stepFixedMs).toBeCloseTo(derived.decode.stepFixedMs, 9);
    expect(
      deriveModelProfile(H100_SIMULATED_PROFILE, "meta-llama/Llama-3.1-8B-Instruct")!.structuredDecode,
    ).toBeUndefined();
  });
});

describe("measured decode table", () => {
  const table = {
    batches: [1, 4, 16],
    contexts: [100, 1100],
    stepMs: [
      [10, 12],
      [11, 15],
      [20, 40],
    ],
  };
  const tabled = { ...qwen14, decodeTable: table };

  it("reads steps piecewise-linearly by context and batch, flat below the grid, rising beyond it", () => {
    expect(tableStepMs(table, 4, 100)).toBe(11);
    expect(tableStepMs(table, 4, 600)).toBeCloseTo(13, 9);
    expect(tableStepMs(table, 10, 100)).toBeCloseTo(15.5, 9);
    expect(tableStepMs(table, 10, 600)).toBeCloseTo((13 + 30) / 2, 9);
    expect(tableStepMs(table, 1, 0)).toBe(10);
    expect(tableStepMs(table, 0.5, 100)).toBe(10);
    // Beyond the last context and batch the last segments continue.
    expect(tableStepMs(table, 1, 2100)).toBeCloseTo(14, 9);
    expect(tableStepMs(table, 28, 100)).toBeCloseTo(20 + 9 * (12 / 12), 9);
    // A falling last segment (noise) does not make larger batches cheaper.
    const noisy = { ...table, stepMs: [[10], [12], [11]], contexts: [100] };
    expect(tableStepMs(noisy, 64, 100)).toBe(11);
  });

  it("prices decode with the table instead of the linear terms, and adds the grammar's overhead", () => {
    expect(decodeStepMs(tabled, 16, 1100)).toBe(40);
    expect(decodeMs(tabled, 16, 1000, 200)).toBeCloseTo(200 * 40, 6);
    const grammar = {
      stepFixedMs: qwen14.decode.stepFixedMs + 1,
      stepMsPerSequence: qwen14.decode.stepMsPerSequence + 0.5,
      stepMsPerContextToken: qwen14.decode.stepMsPerContextToken,
    };
    const priced = decodeProfileFor({ ...tabled, structuredDecode: grammar }, true);
    expect(decodeStepMs(priced, 16, 1100)).toBeCloseTo(40 + 1 + 0.5 * 16, 9);
    expect(decodeStepMs(priced, 1, 100)).toBeCloseTo(10 + 1 + 0.5, 9);
  });

  it("is optional and validated: shape and order errors name their paths", () => {
    const document = JSON.parse(JSON.stringify(H100_SIMULATED_PROFILE));
    document.models["Qwen/Qwen3-14B"].decodeTable = table;
    expect(parseDeviceProfile(document, "h100.json").models["Qwen/Qwen3-14B"]!.decodeTable).toEqual(table);
    document.models["Qwen/Qwen3-14B"].decodeTable = { ...table, batches: [1, 16, 4] };
    expect(() => parseDeviceProfile(document, "h100.json")).toThrow(
      /h100\.json: models\.Qwen\/Qwen3-14B\.decodeTable\.batches: must be strictly ascending/,
    );
    document.models["Qwen/Qwen3-14B"].decodeTable = { ...table, stepMs: [[10, 12]] };
    expect(() => parseDeviceProfile(document, "h100.json")).toThrow(
      /decodeTable\.stepMs: must have 3 rows of 2/,
    );
  });

  it("a derived model does not inherit the reference's table", () => {
    const device = { ...H100_SIMULATED_PROFILE, models: { "Qwen/Qwen3-14B": tabled } };
    expect(deriveModelProfile(device, "meta-llama/Llama-3.1-8B-Instruct")!.decodeTable).toBeUndefined();
  });
});
