import {
  type DeviceProfile,
  type ModelProfile,
  PROFILE_VERSION,
  parseDeviceProfile,
} from "./device-profile.js";

/**
 * Built-in profile of a simulated NVIDIA H100 SXM5 80GB serving the three
 * models of the paper's workloads. The figures are derived, not measured:
 * - H100 SXM5: 80 GB HBM3 at 3.35 TB/s, 989 TFLOPS dense BF16, NVLink 4 at
 *   900 GB/s both directions (NVIDIA H100 Tensor Core GPU data sheet).
 * - Model shapes from each model's published config.json (layers, KV heads,
 *   head dim) and model card (parameter counts; gpt-oss-20b: 20.9B total,
 *   3.6B active, MXFP4 MoE weights that fit in 16 GB).
 * - Load (switch) time 0.75 s per billion nominal parameters, the figure of
 *   the Halo paper's prototype cost model (Shen et al. 2025).
 * - Prefill is compute-bound (2 FLOPs per active parameter per token at 50%
 *   MFU for dense models, 30% for MoE); a decode step reads the weights once
 *   (80% of HBM bandwidth) plus each sequence's KV cache, and costs each
 *   sequence its compute; 3 ms fixed step overhead; 256 sequences at most
 *   (vLLM's default max_num_seqs).
 */
const H100 = {
  memoryBytes: 80 * 1024 ** 3,
  hbmBytesPerSecond: 3.35e12,
  bf16FlopsPerSecond: 989e12,
  /** Half of NVLink 4's 900 GB/s (one direction), at 70% efficiency. */
  transferBytesPerSecond: 450e9 * 0.7,
} as const;

interface ModelShape {
  readonly nominalBillions: number;
  readonly parameterCount: number;
  readonly activeParameterCount: number;
  readonly weightsBytes: number;
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly modelFlopsUtilization: number;
}

const SHAPES: Readonly<Record<string, ModelShape>> = {
  "Qwen/Qwen3-14B": {
    nominalBillions: 14,
    parameterCount: 14.8e9,
    activeParameterCount: 14.8e9,
    weightsBytes: 2 * 14.8e9,
    layers: 40,
    kvHeads: 8,
    headDim: 128,
    modelFlopsUtilization: 0.5,
  },
  "openai/gpt-oss-20b": {
    nominalBillions: 20,
    parameterCount: 20.9e9,
    activeParameterCount: 3.6e9,
    weightsBytes: 13.8e9,
    layers: 24,
    kvHeads: 8,
    headDim: 64,
    modelFlopsUtilization: 0.3,
  },
  "Qwen/Qwen3-32B": {
    nominalBillions: 32,
    parameterCount: 32.8e9,
    activeParameterCount: 32.8e9,
    weightsBytes: 2 * 32.8e9,
    layers: 64,
    kvHeads: 8,
    headDim: 128,
    modelFlopsUtilization: 0.5,
  },
};

const STEP_OVERHEAD_MS = 3;
const MAX_BATCH_SEQUENCES = 256;
const CONTEXT_LENGTH = 32_768;
/** Seconds of load time per billion nominal parameters (the paper prototype's switch cost). */
const LOAD_SECONDS_PER_BILLION = 0.75;

function h100ModelProfile(shape: ModelShape): ModelProfile {
  const effectiveBandwidth = H100.hbmBytesPerSecond * 0.8;
  const tokenFlops = 2 * shape.activeParameterCount;
  const msPerTokenCompute = (tokenFlops / (H100.bf16FlopsPerSecond * shape.modelFlopsUtilization)) * 1000;
  // K and V, 2 bytes each (BF16), for every layer and KV head.
  const kvBytesPerToken = 2 * shape.layers * shape.kvHeads * shape.headDim * 2;
  return {
    parameterCount: shape.parameterCount,
    weightsBytes: shape.weightsBytes,
    loadMs: LOAD_SECONDS_PER_BILLION * shape.nominalBillions * 1000,
    kvBytesPerToken,
    contextLength: CONTEXT_LENGTH,
    maxBatchSequences: MAX_BATCH_SEQUENCES,
    prefill: { fixedMs: 5, msPerToken: msPerTokenCompute },
    decode: {
      stepFixedMs: STEP_OVERHEAD_MS + (shape.weightsBytes / effectiveBandwidth) * 1000,
      stepMsPerSequence: msPerTokenCompute,
      stepMsPerContextToken: (kvBytesPerToken / effectiveBandwidth) * 1000,
    },
  };
}

/** The simulated H100 profile for Qwen3-14B, gpt-oss-20b and Qwen3-32B (the default profile). */
export const H100_SIMULATED_PROFILE: DeviceProfile = parseDeviceProfile(
  {
    profileVersion: PROFILE_VERSION,
    device: "H100-SXM5-80GB (simulated)",
    source:
      "Derived from the NVIDIA H100 data sheet (3.35 TB/s HBM3, 989 TFLOPS BF16, NVLink 4), the models' config.json " +
      "shapes and model cards, and the 0.75 s/B switch cost of the Halo paper's prototype; see builtin-profiles.ts",
    memoryBytes: H100.memoryBytes,
    transferBytesPerSecond: H100.transferBytesPerSecond,
    transferFixedMs: 1,
    models: Object.fromEntries(
      Object.entries(SHAPES).map(([name, shape]) => [name, h100ModelProfile(shape)]),
    ),
  },
  "builtin:h100",
);

/** Built-in profiles by name (`--profile builtin:h100`). */
export const BUILTIN_PROFILES: Readonly<Record<string, DeviceProfile>> = {
  "builtin:h100": H100_SIMULATED_PROFILE,
};
