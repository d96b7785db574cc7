/**
 * Public figures behind the ground-truth profiles (`ground-truth.ts`): the
 * accelerators' data-sheet numbers, the models' shapes from their
 * config.json and model cards, and vLLM's serving defaults. Every figure's
 * source is listed in the package README ("Ground truth").
 */

const GiB = 1024 ** 3;

/** One accelerator as its data sheet and vLLM's defaults describe it. */
export interface AcceleratorSpec {
  /** Short name used on the command line (`--devices h100:2`). */
  readonly id: string;
  readonly name: string;
  /** Device memory (bytes). */
  readonly memoryBytes: number;
  /** Peak memory bandwidth (bytes/s). */
  readonly memoryBytesPerSecond: number;
  /** Peak dense BF16 tensor throughput (FLOP/s, without sparsity). */
  readonly bf16FlopsPerSecond: number;
  /** One direction of the link KV moves over to another device (bytes/s). */
  readonly interconnectBytesPerSecond: number;
  /** vLLM's default `max_num_seqs` on this device (OpenAI server). */
  readonly maxNumSeqs: number;
  /** vLLM's default `max_num_batched_tokens` on this device (OpenAI server, chunked prefill). */
  readonly maxNumBatchedTokens: number;
}

/**
 * vLLM `EngineArgs.get_batch_defaults` (vllm/engine/arg_utils.py): devices
 * with ≥ 70 GiB that are not an A100 get max_num_seqs 1024 and
 * max_num_batched_tokens 8192 (OpenAI server); every other GPU 256 and 2048.
 */
export const ACCELERATORS: Readonly<Record<string, AcceleratorSpec>> = {
  h100: {
    id: "h100",
    name: "H100-SXM5-80GB",
    memoryBytes: 80 * GiB,
    memoryBytesPerSecond: 3.35e12,
    bf16FlopsPerSecond: 989e12,
    // NVLink 4: 900 GB/s both directions.
    interconnectBytesPerSecond: 450e9,
    maxNumSeqs: 1024,
    maxNumBatchedTokens: 8192,
  },
  a100: {
    id: "a100",
    name: "A100-SXM4-80GB",
    memoryBytes: 80 * GiB,
    memoryBytesPerSecond: 2.039e12,
    bf16FlopsPerSecond: 312e12,
    // NVLink 3: 600 GB/s both directions.
    interconnectBytesPerSecond: 300e9,
    maxNumSeqs: 256,
    maxNumBatchedTokens: 2048,
  },
  l40s: {
    id: "l40s",
    name: "L40S-48GB",
    memoryBytes: 48 * GiB,
    memoryBytesPerSecond: 864e9,
    bf16FlopsPerSecond: 362.05e12,
    // No NVLink: PCIe Gen4 x16, 64 GB/s both directions.
    interconnectBytesPerSecond: 32e9,
    maxNumSeqs: 256,
    maxNumBatchedTokens: 2048,
  },
};

/** One model's shape, from its config.json and model card. */
export interface ModelSpec {
  /** Nominal size in the name (billions), for the load time. */
  readonly nominalBillions: number;
  readonly parameterCount: number;
  /** Parameters used per token (all of them for dense models). */
  readonly activeParameterCount: number;
  /** Bytes of the weights as served (BF16 dense; MXFP4 experts for gpt-oss). */
  readonly weightsBytes: number;
  /** MoE: bytes of the expert weights among `weightsBytes`, the expert count and experts per token. */
  readonly experts?: {
    readonly weightsBytes: number;
    readonly count: number;
    readonly perToken: number;
  };
  readonly layers: number;
  /** Layers with full attention (the others use a sliding window, whose KV stays small). */
  readonly fullAttentionLayers: number;
  readonly attentionHeads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Native context length (model card). */
  readonly contextLength: number;
}

export const MODELS: Readonly<Record<string, ModelSpec>> = {
  "Qwen/Qwen3-14B": {
    nominalBillions: 14,
    parameterCount: 14.8e9,
    activeParameterCount: 14.8e9,
    weightsBytes: 2 * 14.8e9,
    layers: 40,
    fullAttentionLayers: 40,
    attentionHeads: 40,
    kvHeads: 8,
    headDim: 128,
    contextLength: 32_768,
  },
  "openai/gpt-oss-20b": {
    nominalBillions: 20,
    parameterCount: 20.9e9,
    activeParameterCount: 3.6e9,
    // 19.1B MoE parameters in MXFP4 (4.25 bits each), the other 1.8B in BF16.
    weightsBytes: 19.1e9 * (4.25 / 8) + 1.8e9 * 2,
    experts: { weightsBytes: 19.1e9 * (4.25 / 8), count: 32, perToken: 4 },
    layers: 24,
    // Alternating full and 128-token sliding-window attention.
    fullAttentionLayers: 12,
    attentionHeads: 64,
    kvHeads: 8,
    headDim: 64,
    contextLength: 131_072,
  },
  "Qwen/Qwen3-32B": {
    nominalBillions: 32,
    parameterCount: 32.8e9,
    activeParameterCount: 32.8e9,
    weightsBytes: 2 * 32.8e9,
    layers: 64,
    fullAttentionLayers: 64,
    attentionHeads: 64,
    kvHeads: 8,
    headDim: 128,
    contextLength: 32_768,
  },
};

/**
 * Serving assumptions shared by every device (README "Ground truth"):
 * vLLM's default gpu_memory_utilization 0.9, a reserve for activations and
 * CUDA graphs, 16-token KV blocks, BF16 KV, model-FLOPs utilization, the share
 * of peak bandwidth reached, the per-step overhead and the load time.
 */
export const SERVING = {
  gpuMemoryUtilization: 0.9,
  activationReserveBytes: 2 * GiB,
  kvBlockTokens: 16,
  kvBytesPerElement: 2,
  denseFlopsUtilization: 0.5,
  moeFlopsUtilization: 0.3,
  bandwidthUtilization: 0.8,
  stepOverheadMs: 3,
  /** The Halo paper prototype's switch cost: 0.75 s per billion nominal parameters. */
  loadSecondsPerBillion: 0.75,
  /** KV export/import fixed cost (connection, serialization). */
  transferFixedMs: 1,
  /** Share of the link a KV transfer reaches. */
  transferUtilization: 0.7,
} as const;
