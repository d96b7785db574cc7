/**
 * Ground-truth device profiles: what engine-sim charges when it plays a real
 * accelerator the planner does not see into. Unlike a `DeviceProfile` (linear
 * cost models the planner reads), a ground truth is a roofline — a step costs
 * the larger of its compute and its memory traffic — with a KV cache of
 * finite capacity, vLLM's batching limits and MoE weight reads that grow with
 * the batch. The planner never receives one: it plans from a profile
 * `halo profile` measures against the simulated executors.
 */
import { ACCELERATORS, MODELS, type ModelSpec, SERVING } from "./ground-truth-devices.js";

/** Version of the ground-truth document (changes whenever figures or formulas change). */
export const GROUND_TRUTH_VERSION = 1 as const;

/** One model on one ground-truth device. */
export interface GroundTruthModel {
  readonly parameterCount: number;
  readonly activeParameterCount: number;
  readonly weightsBytes: number;
  /** MoE: expert weight bytes (read in the share of experts a step's tokens route to). */
  readonly expertWeightsBytes: number;
  readonly experts: number;
  readonly expertsPerToken: number;
  readonly loadMs: number;
  /** KV bytes per token of the full-attention layers (K and V, BF16). */
  readonly kvBytesPerToken: number;
  readonly contextLength: number;
  readonly layers: number;
  readonly attentionHeads: number;
  readonly headDim: number;
  /** Share of peak BF16 throughput reached on matrix multiplications. */
  readonly flopsUtilization: number;
}

/** A simulated accelerator's hidden truth (JSON; `truthVersion` versions it). */
export interface GroundTruthDevice {
  readonly truthVersion: typeof GROUND_TRUTH_VERSION;
  /** Short name (`h100`). */
  readonly id: string;
  readonly device: string;
  readonly source: string;
  readonly memoryBytes: number;
  readonly memoryBytesPerSecond: number;
  readonly bf16FlopsPerSecond: number;
  readonly bandwidthUtilization: number;
  readonly stepOverheadMs: number;
  /** vLLM's gpu_memory_utilization: the share of memory the engine takes. */
  readonly gpuMemoryUtilization: number;
  /** Activations, CUDA graphs and other non-KV memory besides the weights. */
  readonly activationReserveBytes: number;
  readonly kvBlockTokens: number;
  /** vLLM max_num_seqs: most sequences running at once. */
  readonly maxNumSeqs: number;
  /** vLLM max_num_batched_tokens: most tokens one step processes (chunked prefill). */
  readonly maxNumBatchedTokens: number;
  readonly transferBytesPerSecond: number;
  readonly transferFixedMs: number;
  readonly models: Readonly<Record<string, GroundTruthModel>>;
}

/** The work of one engine step (a continuous-batching iteration). */
export interface StepWork {
  /** Sequences decoding one token each. */
  readonly decodeSequences: number;
  /** Σ over decoding sequences of the tokens of context each attends to. */
  readonly decodeContextTokens: number;
  /** Prompt tokens prefilled in this step (chunks of one or more sequences). */
  readonly prefillTokens: number;
  /** Σ over prefilled tokens of the tokens each attends to (its position). */
  readonly prefillAttentionTokens: number;
}

/** Short names of the ground-truth devices (`h100`, `a100`, `l40s`). */
export const GROUND_TRUTH_DEVICE_IDS: readonly string[] = Object.keys(ACCELERATORS);

/** Thrown for an unknown ground-truth device name. */
export class UnknownGroundTruthDeviceError extends Error {
  constructor(readonly id: string) {
    super(`unknown ground-truth device "${id}" (known: ${GROUND_TRUTH_DEVICE_IDS.join(", ")})`);
    this.name = "UnknownGroundTruthDeviceError";
  }
}

function truthModel(spec: ModelSpec): GroundTruthModel {
  return {
    parameterCount: spec.parameterCount,
    activeParameterCount: spec.activeParameterCount,
    weightsBytes: spec.weightsBytes,
    expertWeightsBytes: spec.experts?.weightsBytes ?? 0,
    experts: spec.experts?.count ?? 0,
    expertsPerToken: spec.experts?.perToken ?? 0,
    loadMs: SERVING.loadSecondsPerBillion * spec.nominalBillions * 1000,
    // K and V for every full-attention layer and KV head.
    kvBytesPerToken: 2 * spec.fullAttentionLayers * spec.kvHeads * spec.headDim * SERVING.kvBytesPerElement,
    contextLength: spec.contextLength,
    layers: spec.layers,
    attentionHeads: spec.attentionHeads,
    headDim: spec.headDim,
    flopsUtilization: spec.experts ? SERVING.moeFlopsUtilization : SERVING.denseFlopsUtilization,
  };
}

/** The ground truth of a device by short name (`h100`, `a100`, `l40s`; case-insensitive). */
export function groundTruthDevice(id: string): GroundTruthDevice {
  const accelerator = ACCELERATORS[id.toLowerCase()];
  if (!accelerator) throw new UnknownGroundTruthDeviceError(id);
  return {
    truthVersion: GROUND_TRUTH_VERSION,
    id: accelerator.id,
    device: `${accelerator.name} (simulated ground truth)`,
    source:
      "roofline from the vendor data sheet, the models' config.json and model cards, and vLLM's serving defaults; " +
      "see @halo/profiles README, Ground truth",
    memoryBytes: accelerator.memoryBytes,
    memoryBytesPerSecond: accelerator.memoryBytesPerSecond,
    bf16FlopsPerSecond: accelerator.bf16FlopsPerSecond,
    bandwidthUtilization: SERVING.bandwidthUtilization,
    stepOverheadMs: SERVING.stepOverheadMs,
    gpuMemoryUtilization: SERVING.gpuMemoryUtilization,
    activationReserveBytes: SERVING.activationReserveBytes,
    kvBlockTokens: SERVING.kvBlockTokens,
    maxNumSeqs: accelerator.maxNumSeqs,
    maxNumBatchedTokens: accelerator.maxNumBatchedTokens,
    transferBytesPerSecond: accelerator.interconnectBytesPerSecond * SERVING.transferUtilization,
    transferFixedMs: SERVING.transferFixedMs,
    models: Object.fromEntries(Object.entries(MODELS).map(([name, spec]) => [name, truthModel(spec)])),
  };
}

/** Memory the engine may fill with weights and KV: memory × gpu_memory_utilization − the activation reserve. */
export function engineMemoryBytes(device: GroundTruthDevice): number {
  return device.memoryBytes * device.gpuMemoryUtilization - device.activationReserveBytes;
}

/** KV cache capacity in tokens (whole blocks) with `loadedWeightsBytes` of weights resident. */
export function kvCapacityTokens(
  device: GroundTruthDevice,
  model: GroundTruthModel,
  loadedWeightsBytes: number = model.weightsBytes,
): number {
  const free = Math.max(0, engineMemoryBytes(device) - loadedWeightsBytes);
  const blocks = Math.floor(free / (model.kvBytesPerToken * device.kvBlockTokens));
  return blocks * device.kvBlockTokens;
}

/** Sequences of `tokensPerSequence` tokens resident at once: KV capacity in whole blocks, at most max_num_seqs. */
export function maxResidentSequences(
  device: GroundTruthDevice,
  model: GroundTruthModel,
  tokensPerSequence: number,
  loadedWeightsBytes: number = model.weightsBytes,
): number {
  const blocksPerSequence = Math.max(1, Math.ceil(tokensPerSequence / device.kvBlockTokens));
  const blocks = kvCapacityTokens(device, model, loadedWeightsBytes) / device.kvBlockTokens;
  return Math.min(device.maxNumSeqs, Math.floor(blocks / blocksPerSequence));
}

/**
 * Weight bytes one step reads: all of a dense model's; of an MoE model the
 * non-expert weights plus the experts its tokens route to (each of `tokens`
 * picks `expertsPerToken` of `experts`, uniformly: a share 1 − (1 − k/E)^tokens is touched).
 */
export function weightBytesRead(model: GroundTruthModel, tokens: number): number {
  if (model.experts <= 0) return model.weightsBytes;
  const untouched = (1 - model.expertsPerToken / model.experts) ** Math.max(1, tokens);
  return model.weightsBytes - model.expertWeightsBytes + model.expertWeightsBytes * (1 - untouched);
}

/**
 * Time of one engine step (ms): fixed overhead plus the larger of its compute
 * (2 FLOPs per active parameter per token, plus attention: 4 × layers × heads ×
 * head dim per token of context) at the model's FLOPs utilization, and its
 * memory traffic (weights read once, plus each token's KV context) at the
 * device's bandwidth utilization.
 */
export function truthStepMs(device: GroundTruthDevice, model: GroundTruthModel, work: StepWork): number {
  const tokens = work.decodeSequences + work.prefillTokens;
  if (tokens <= 0) return 0;
  const attentionFlopsPerContextToken = 4 * model.layers * model.attentionHeads * model.headDim;
  const flops =
    2 * model.activeParameterCount * tokens +
    attentionFlopsPerContextToken * (work.decodeContextTokens + work.prefillAttentionTokens);
  const computeMs = (flops / (device.bf16FlopsPerSecond * model.flopsUtilization)) * 1000;
  const bytes =
    weightBytesRead(model, tokens) + model.kvBytesPerToken * (work.decodeContextTokens + work.prefillTokens);
  const memoryMs = (bytes / (device.memoryBytesPerSecond * device.bandwidthUtilization)) * 1000;
  return device.stepOverheadMs + Math.max(computeMs, memoryMs);
}

/** Time to move the KV of `tokens` tokens to another device. */
export function truthTransferMs(device: GroundTruthDevice, model: GroundTruthModel, tokens: number): number {
  if (tokens <= 0) return 0;
  return device.transferFixedMs + ((tokens * model.kvBytesPerToken) / device.transferBytesPerSecond) * 1000;
}
