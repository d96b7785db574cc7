import {
  type DeviceProfile,
  decodeMs,
  decodeProfileFor,
  kvTransferMs,
  type ModelProfile,
} from "@halo/profiles";
import type {
  DisabledOptimizations,
  LlmOperatorStatistics,
  ToolOperatorStatistics,
} from "./planning-problem.js";

/**
 * The cost model: arithmetic only. Residency facts (is the model loaded, is a
 * prefix's KV here or elsewhere) are decided by the epoch model; statistics
 * come from the estimator; device figures from `@halo/profiles`.
 */

/** What happened to a piece of KV cache a step needed. */
export type KvAction = "reuse" | "migrate" | "recompute";

/** Where the KV a shard needs can come from, as seen at the start of its epoch. */
export interface ShardResidency {
  /** The worker has the operator's model loaded. */
  readonly modelLoaded: boolean;
  /** The shared prefix's KV is resident on this worker. */
  readonly prefixResident: boolean;
  /** Time to migrate the prefix KV from another worker holding it; undefined when none does. */
  readonly prefixMigrateMs?: number;
  /** Requests whose inherited context is resident on this worker. */
  readonly inheritedLocalRequests: number;
  /** Requests whose inherited context is resident on other workers (migratable). */
  readonly inheritedRemoteRequests: number;
}

/** The priced work of one operator's requests on one worker. */
export interface ShardCost {
  readonly loadMs: number;
  readonly prefillMs: number;
  readonly migrateMs: number;
  readonly decodeMs: number;
  readonly totalMs: number;
  /** Sequences per engine batch (memory-limited) and how many batches run. */
  readonly batchSize: number;
  readonly waves: number;
  readonly prefixKv: KvAction;
  readonly contextKv: KvAction;
  readonly prefilledTokens: number;
  readonly reusedTokens: number;
  readonly migratedTokens: number;
  /** Bytes of KV the running batch holds at once. */
  readonly batchKvBytes: number;
}

/** Requests an LLM operator issues over the batch: distinct ones when coalescing, else every instance. */
export function llmRequestCount(statistics: LlmOperatorStatistics, disabled: DisabledOptimizations): number {
  return disabled.coalescing ? statistics.instances : statistics.distinctRequests;
}

/** Calls a tool operator makes over the batch. */
export function toolCallCount(statistics: ToolOperatorStatistics, disabled: DisabledOptimizations): number {
  return disabled.coalescing ? statistics.instances : statistics.distinctRequests;
}

/**
 * Per-request prompt tokens after the static prefix that an earlier request of the batch has
 * prefilled (`batchSharedPromptTokens`), which the engine's prefix cache serves: none when
 * prefix sharing or the runtime's prefix reordering (which sends such requests together) is off.
 */
export function batchSharedTokens(
  statistics: LlmOperatorStatistics,
  disabled: DisabledOptimizations,
): number {
  if (disabled.prefixSharing || disabled.prefixReordering === true) return 0;
  // Inherited context is priced on its own (reused, migrated or recomputed); only the rest can be shared.
  const ownTokens = statistics.uniquePromptTokens - (statistics.inheritedContext?.tokens ?? 0);
  return Math.min(statistics.batchSharedPromptTokens ?? 0, ownTokens);
}

/** Tokens of KV one sequence of the operator holds at its end (prefix + prompt + output). */
export function sequenceTokens(statistics: LlmOperatorStatistics): number {
  return statistics.sharedPrefixTokens + statistics.uniquePromptTokens + statistics.outputTokens;
}

/**
 * KV tokens `batch` sequences of the operator hold at once. With prefix sharing the shared
 * prefix's KV is held once for the batch (engines share its blocks or cells between the
 * sequences: paged attention, llama.cpp's sequence copies); without it every sequence holds it.
 */
export function batchKvTokens(
  statistics: LlmOperatorStatistics,
  batch: number,
  disabled: DisabledOptimizations,
): number {
  if (batch <= 0) return 0;
  if (disabled.prefixSharing || statistics.sharedPrefixTokens <= 0) {
    return batch * Math.max(1, sequenceTokens(statistics));
  }
  const own = Math.max(1, statistics.uniquePromptTokens + statistics.outputTokens);
  return statistics.sharedPrefixTokens + batch * own;
}

/**
 * Sequences per engine batch: the model's limit, lowered so the batch's KV fits
 * beside the weights and `residentKvBytes`; 0 when not even one sequence fits.
 * A shared prefix counts once (`batchKvTokens`), not at all when `prefixResident` (it is
 * already among the resident bytes).
 */
export function effectiveBatchSize(
  device: DeviceProfile,
  model: ModelProfile,
  statistics: LlmOperatorStatistics,
  residentKvBytes: number,
  disabled: DisabledOptimizations,
  prefixResident = false,
): number {
  if (disabled.batching) return model.weightsBytes + residentKvBytes < device.memoryBytes ? 1 : 0;
  const free = device.memoryBytes - model.weightsBytes - residentKvBytes;
  const perSequence = batchKvTokens(statistics, 2, disabled) - batchKvTokens(statistics, 1, disabled);
  const prefixTokens = prefixResident ? 0 : batchKvTokens(statistics, 1, disabled) - perSequence;
  const fits = Math.floor(
    (free - prefixTokens * model.kvBytesPerToken) / (perSequence * model.kvBytesPerToken),
  );
  return Math.max(0, Math.min(model.maxBatchSequences, fits));
}

/** Splits `requests` over `shards` workers as evenly as possible (earlier shards take the remainder). */
export function splitRequests(requests: number, shards: number): number[] {
  const base = Math.floor(requests / shards);
  const remainder = requests - base * shards;
  return Array.from({ length: shards }, (_, index) => base + (index < remainder ? 1 : 0));
}

/**
 * Prices `requests` requests of an LLM operator on one worker:
 * load (if the model is not loaded) + prefill (shared prefix once unless
 * reused or migrated; unique tokens per request, minus inherited context that
 * is reused or migrated) + min(migrate, recompute) for KV held elsewhere +
 * batched decode in waves of `batchSize` sequences. Returns undefined when not
 * even one sequence fits in memory.
 */
export function llmShardCost(
  device: DeviceProfile,
  model: ModelProfile,
  statistics: LlmOperatorStatistics,
  requests: number,
  residency: ShardResidency,
  residentKvBytes: number,
  disabled: DisabledOptimizations,
): ShardCost | undefined {
  const batchSize = effectiveBatchSize(
    device,
    model,
    statistics,
    residentKvBytes,
    disabled,
    residency.prefixResident,
  );
  if (batchSize === 0) return undefined;
  const waves = requests === 0 ? 0 : Math.ceil(requests / batchSize);
  const prefixTokens = statistics.sharedPrefixTokens;
  const inheritedTokens = statistics.inheritedContext?.tokens ?? 0;
  // What the engine cannot do is never priced: without KV transfer no migration; without
  // prefix pinning a prefix (or a parent's context) cached earlier may be gone, so each step
  // prefills its prefix once (its requests arrive together, so a server cache serves the rest);
  // models on a server stay loaded.
  const capabilities = device.capabilities;
  const migration = !disabled.migration && capabilities?.kvTransfer !== false;
  const pinned = capabilities?.prefixPinning !== false;
  const loadMs = residency.modelLoaded || capabilities?.modelLoading === false ? 0 : model.loadMs;

  let prefixPrefillMs = 0;
  let migrateMs = 0;
  let prefilledTokens = 0;
  let reusedTokens = 0;
  let migratedTokens = 0;
  let prefixKv: KvAction = "recompute";
  let perRequestPrefixTokens = 0;
  if (disabled.prefixSharing) {
    perRequestPrefixTokens = prefixTokens;
  } else if (prefixTokens > 0) {
    if (residency.prefixResident && pinned) {
      prefixKv = "reuse";
      reusedTokens += prefixTokens;
    } else {
      const recomputeMs = model.prefill.fixedMs + model.prefill.msPerToken * prefixTokens;
      const migrate = migration ? residency.prefixMigrateMs : undefined;
      if (migrate !== undefined && migrate < recomputeMs) {
        prefixKv = "migrate";
        migrateMs += migrate;
        migratedTokens += prefixTokens;
      } else {
        prefixPrefillMs = recomputeMs;
        prefilledTokens += prefixTokens;
      }
    }
  }

  // Inherited context: reuse where the parent ran, migrate or recompute the rest.
  let contextKv: KvAction = "recompute";
  let recomputedInheritedRequests = requests;
  if (inheritedTokens > 0 && !disabled.prefixSharing) {
    const local = pinned ? Math.min(requests, residency.inheritedLocalRequests) : 0;
    const remote = migration ? Math.min(requests - local, residency.inheritedRemoteRequests) : 0;
    recomputedInheritedRequests = requests - local;
    reusedTokens += local * inheritedTokens;
    if (local > 0) contextKv = "reuse";
    if (remote > 0) {
      const transferMs = kvTransferMs(device, model, remote * inheritedTokens);
      const recomputeMs = model.prefill.msPerToken * remote * inheritedTokens;
      if (transferMs < recomputeMs) {
        migrateMs += transferMs;
        migratedTokens += remote * inheritedTokens;
        recomputedInheritedRequests -= remote;
        contextKv = "migrate";
      }
    }
  }

  const promptTokensPerRequest =
    perRequestPrefixTokens +
    statistics.uniquePromptTokens -
    inheritedTokens -
    batchSharedTokens(statistics, disabled);
  const uniqueTokens = requests * promptTokensPerRequest + recomputedInheritedRequests * inheritedTokens;
  prefilledTokens += uniqueTokens;
  const prefillCalls = disabled.batching ? requests : waves;
  const uniquePrefillMs =
    uniqueTokens > 0 ? prefillCalls * model.prefill.fixedMs + model.prefill.msPerToken * uniqueTokens : 0;

  const decode = shardDecodeMs(model, statistics, requests, batchSize, disabled);
  const prefillMs = prefixPrefillMs + uniquePrefillMs;
  return {
    loadMs,
    prefillMs,
    migrateMs,
    decodeMs: decode,
    totalMs: loadMs + prefillMs + migrateMs + decode,
    batchSize: Math.min(batchSize, Math.max(1, requests)),
    waves,
    prefixKv,
    contextKv,
    prefilledTokens,
    reusedTokens,
    migratedTokens,
    batchKvBytes: batchKvTokens(statistics, Math.min(batchSize, requests), disabled) * model.kvBytesPerToken,
  };
}

/** Decode time of `requests` requests of an LLM operator in engine batches of at most `batchSize` sequences. */
export function shardDecodeMs(
  model: ModelProfile,
  statistics: LlmOperatorStatistics,
  requests: number,
  batchSize: number,
  disabled: DisabledOptimizations,
): number {
  const contextTokens = statistics.sharedPrefixTokens + statistics.uniquePromptTokens;
  // JSON-schema-constrained output decodes with the profile's structured step costs, when it has them.
  const decoding = decodeProfileFor(model, statistics.structuredOutput === true);
  if (disabled.batching) return requests * decodeMs(decoding, 1, contextTokens, statistics.outputTokens);
  const limited =
    batchSize === decoding.maxBatchSequences ? decoding : { ...decoding, maxBatchSequences: batchSize };
  return decodeMs(limited, requests, contextTokens, statistics.outputTokens);
}

/**
 * The least decode time of `requests` requests over every engine batch limit up to `maxBatch`
 * (measured step tables need not make the largest batch the cheapest): a lower bound on
 * `llmShardCost(…).decodeMs` whatever else is resident.
 */
export function leastShardDecodeMs(
  model: ModelProfile,
  statistics: LlmOperatorStatistics,
  requests: number,
  maxBatch: number,
  disabled: DisabledOptimizations,
): number {
  if (requests <= 0 || maxBatch <= 0) return 0;
  let least = Number.POSITIVE_INFINITY;
  for (let batch = Math.min(maxBatch, requests); batch >= 1; batch--) {
    least = Math.min(least, shardDecodeMs(model, statistics, requests, batch, disabled));
    if (disabled.batching) break;
  }
  return least;
}

/** Bytes of the shared prefix's KV cache. */
export function prefixKvBytes(model: ModelProfile, statistics: LlmOperatorStatistics): number {
  return statistics.sharedPrefixTokens * model.kvBytesPerToken;
}

/** Bytes of the per-request KV an operator leaves for children that inherit it (prompt + output after the prefix). */
export function contextKvBytes(
  model: ModelProfile,
  statistics: LlmOperatorStatistics,
  requests: number,
): number {
  return requests * (statistics.uniquePromptTokens + statistics.outputTokens) * model.kvBytesPerToken;
}

/**
 * The share of a step's context KV (`contextBytes`) a worker still holds after
 * the step: what fits beside the weights and the resident prefixes (its KV
 * store evicts the oldest requests first), 0 when nothing does.
 */
export function retainedContextFraction(
  memoryBytes: number,
  model: ModelProfile,
  residentPrefixBytes: number,
  contextBytes: number,
): number {
  const free = memoryBytes - model.weightsBytes - residentPrefixBytes;
  if (contextBytes <= 0 || free <= 0) return 0;
  return Math.min(1, free / contextBytes);
}

/** Latency of one tool call: what one query waits for it (the pipeline fill). */
export function toolLatencyMs(statistics: ToolOperatorStatistics): number {
  return statistics.latencyMeanMs;
}

/** Busy time of a pool running every call of a tool operator, calls spread over `concurrency` slots. */
export function toolPoolWorkMs(
  statistics: ToolOperatorStatistics,
  concurrency: number,
  disabled: DisabledOptimizations,
): number {
  return (toolCallCount(statistics, disabled) * statistics.latencyMeanMs) / concurrency;
}

/** Time to run every call of a tool operator as one barrier phase, in waves of `concurrency` calls. */
export function toolBatchMs(
  statistics: ToolOperatorStatistics,
  concurrency: number,
  disabled: DisabledOptimizations,
): number {
  return Math.ceil(toolCallCount(statistics, disabled) / concurrency) * statistics.latencyMeanMs;
}
