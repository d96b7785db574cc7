import { describe, expect, it } from "vitest";
import {
  engineMemoryBytes,
  GROUND_TRUTH_DEVICE_IDS,
  groundTruthDevice,
  kvCapacityTokens,
  maxResidentSequences,
  truthStepMs,
  UnknownGroundTruthDeviceError,
  weightBytesRead,
} from "./ground-truth.js";

const GiB = 1024 ** 3;
const h100 = groundTruthDevice("h100");
const a100 = groundTruthDevice("A100");
const l40s = groundTruthDevice("l40s");
const decode = (sequences: number, context: number) => ({
  decodeSequences: sequences,
  decodeContextTokens: sequences * context,
  prefillTokens: 0,
  prefillAttentionTokens: 0,
});

describe("ground-truth devices", () => {
  it("knows the three devices and refuses others by name", () => {
    expect(GROUND_TRUTH_DEVICE_IDS).toEqual(["h100", "a100", "l40s"]);
    expect(() => groundTruthDevice("tpu")).toThrow(UnknownGroundTruthDeviceError);
    expect(() => groundTruthDevice("tpu")).toThrow(/"tpu".*h100, a100, l40s/);
  });

  it("takes vLLM's batching defaults per device (1024 sequences on H100, 256 on A100 and L40S)", () => {
    expect([h100.maxNumSeqs, a100.maxNumSeqs, l40s.maxNumSeqs]).toEqual([1024, 256, 256]);
    expect([h100.maxNumBatchedTokens, a100.maxNumBatchedTokens]).toEqual([8192, 2048]);
  });

  it("sizes the KV cache as vLLM does: memory × 0.9 − activations − weights, in 16-token blocks", () => {
    const qwen14 = h100.models["Qwen/Qwen3-14B"]!;
    expect(qwen14.kvBytesPerToken).toBe(2 * 40 * 8 * 128 * 2);
    expect(engineMemoryBytes(h100)).toBeCloseTo(80 * GiB * 0.9 - 2 * GiB, 0);
    const capacity = kvCapacityTokens(h100, qwen14);
    expect(capacity % 16).toBe(0);
    expect(capacity * qwen14.kvBytesPerToken).toBeLessThanOrEqual(
      engineMemoryBytes(h100) - qwen14.weightsBytes,
    );
    // Qwen3-32B leaves little KV on 80 GiB: about 36k tokens, 59 sequences of 600 tokens.
    const qwen32 = h100.models["Qwen/Qwen3-32B"]!;
    expect(kvCapacityTokens(h100, qwen32)).toBeGreaterThan(30_000);
    expect(kvCapacityTokens(h100, qwen32)).toBeLessThan(40_000);
    expect(maxResidentSequences(h100, qwen32, 600)).toBe(Math.floor(kvCapacityTokens(h100, qwen32) / 608));
    // The MoE model's small KV: max_num_seqs binds, not memory.
    expect(maxResidentSequences(h100, h100.models["openai/gpt-oss-20b"]!, 600)).toBe(1024);
    // A second model resident shrinks the KV of the first.
    const both = qwen14.weightsBytes + h100.models["openai/gpt-oss-20b"]!.weightsBytes;
    expect(kvCapacityTokens(h100, qwen14, both)).toBeLessThan(capacity);
    // Qwen3-32B in BF16 does not fit an L40S at all.
    expect(kvCapacityTokens(l40s, l40s.models["Qwen/Qwen3-32B"]!)).toBe(0);
  });

  it("prices steps as a roofline: decode memory-bound at small batches, compute-bound prefill", () => {
    const qwen14 = h100.models["Qwen/Qwen3-14B"]!;
    const one = truthStepMs(h100, qwen14, decode(1, 500));
    // One sequence reads the weights once: ~29.6 GB at 80 % of 3.35 TB/s ≈ 11 ms, plus 3 ms overhead.
    expect(one).toBeGreaterThan(13);
    expect(one).toBeLessThan(16);
    // 64 sequences cost far less than 64 × one (the weights are read once per step).
    expect(truthStepMs(h100, qwen14, decode(64, 500))).toBeLessThan(2 * one);
    // The A100 and the L40S are slower on the same work.
    expect(truthStepMs(a100, a100.models["Qwen/Qwen3-14B"]!, decode(64, 500))).toBeGreaterThan(
      truthStepMs(h100, qwen14, decode(64, 500)),
    );
    const prefill = truthStepMs(h100, qwen14, {
      decodeSequences: 0,
      decodeContextTokens: 0,
      prefillTokens: 8192,
      prefillAttentionTokens: 8192 * 256,
    });
    // 2 × 14.8e9 × 8192 FLOPs at 50 % of 989 TFLOPS ≈ 490 ms.
    expect(prefill).toBeGreaterThan(450);
    expect(prefill).toBeLessThan(560);
  });

  it("reads more MoE experts as the batch grows, all of them at large batches", () => {
    const oss = h100.models["openai/gpt-oss-20b"]!;
    expect(weightBytesRead(oss, 1)).toBeLessThan(oss.weightsBytes / 2);
    expect(weightBytesRead(oss, 8)).toBeGreaterThan(weightBytesRead(oss, 1));
    expect(weightBytesRead(oss, 512)).toBeCloseTo(oss.weightsBytes, -3);
    const dense = h100.models["Qwen/Qwen3-14B"]!;
    expect(weightBytesRead(dense, 1)).toBe(dense.weightsBytes);
  });
});
