/**
 * Measures a device profile (`@halo/profiles` DeviceProfile) from live
 * executors: per model the load time, prefill time at several prompt lengths,
 * decode step time at several batch sizes and contexts (fitted by
 * non-negative least squares to the profile's linear cost models), decode steps
 * under a JSON-schema grammar (structured output, fitted as free decode plus a
 * grammar overhead), and the KV transfer between executors (export → import) at
 * two prefix sizes. Engines that batch widely (a serving engine: more than 16 sequences at
 * once) also get decode steps measured on a grid of batch sizes up to their limit and
 * contexts up to thousands of tokens (`decodeTable`), because their step cost is not linear
 * in the batch: the linear fit of small batches prices large ones wrongly.
 */
import {
  type DecodeCost,
  type DecodeTable,
  type DeviceProfile,
  decodeStepMs,
  type ModelProfile,
  PROFILE_VERSION,
} from "@halo/profiles";
import type { ExecutorClient, InfoResponse } from "@halo/protocol";
import { nonNegativeLeastSquares } from "./least-squares.js";

/** Options of `measureDeviceProfile`. */
export interface ProfileMeasurementOptions {
  /** Model names to measure (each must be servable by the executors). */
  readonly models: readonly string[];
  /** Fewer and shorter measurements on the first executor only (a few seconds per model). */
  readonly quick?: boolean;
  /** The profile's device name (default: the engine, its threads and the executors). */
  readonly device?: string;
  readonly onProgress?: (message: string) => void;
  readonly signal?: AbortSignal;
}

/** One timed observation, for the fits and for reporting. */
export interface ProfileSample {
  readonly model: string;
  readonly kind: "prefill" | "decode" | "structured-decode" | "decode-grid" | "load" | "transfer";
  readonly executor: string;
  /** Prefill: tokens. Decode, structured decode and the decode grid: batch size. Transfer: bytes. */
  readonly size: number;
  /** Decode, structured decode and the decode grid: mean context tokens per sequence. */
  readonly context?: number;
  /** Decode grid: the column (nominal context) the sample belongs to. */
  readonly column?: number;
  /**
   * Decode grid: sequences running per decode step on average (fewer than `size` when some
   * answers end before `max_tokens`, as a model's do).
   */
  readonly meanBatch?: number;
  readonly ms: number;
}

/** A measured profile and the samples it was fitted to. */
export interface MeasuredProfile {
  readonly profile: DeviceProfile;
  readonly samples: readonly ProfileSample[];
}

const WORDS = (
  "order revenue nation region segment supplier part customer market price discount quantity " +
  "shipment priority clerk comment date total balance account brass copper steel tin nickel"
).split(" ");

let textCounter = 0;

/** A text of about `tokens` tokens whose start differs from every other one (nothing is served from cache). */
function uniqueText(tokens: number): string {
  textCounter += 1;
  const words: string[] = [`sample ${textCounter} ${Math.random().toString(36).slice(2, 8)}:`];
  // About 1.3 tokens per word with this vocabulary.
  for (let index = 0; words.length * 1.3 < tokens; index++) {
    words.push(WORDS[(index * 7 + textCounter * 3) % WORDS.length]!);
  }
  return words.join(" ");
}

interface GenerateFigures {
  readonly promptTokens: number;
  readonly cachedTokens: number;
  readonly prefillMs: number;
  readonly decodeMs: number;
  readonly largestGenerated: number;
  readonly totalGenerated: number;
}

/**
 * The JSON schema structured decode is measured with: the shape `@halo/ir` gives an LLM
 * operator with several outputs (required string properties, nothing else).
 */
const STRUCTURED_SCHEMA = JSON.stringify({
  type: "object",
  properties: { answer: { type: "string" }, detail: { type: "string" } },
  required: ["answer", "detail"],
  additionalProperties: false,
});

async function timedGenerate(
  client: ExecutorClient,
  model: string,
  prompts: readonly string[],
  maxTokens: number,
  signal: AbortSignal | undefined,
  sharedPrefix?: { readonly key: string; readonly text: string },
  jsonSchema?: string,
): Promise<GenerateFigures> {
  let promptTokens = 0;
  let cachedTokens = 0;
  let prefillMs = 0;
  let decodeMs = 0;
  let largestGenerated = 0;
  let totalGenerated = 0;
  const items = prompts.map((prompt, index) => ({
    id: `p${index}`,
    prompt,
    maxTokens,
    temperature: 0,
    ...(jsonSchema === undefined ? {} : { jsonSchema }),
  }));
  for await (const event of client.generate(
    { model, items, ...(sharedPrefix ? { sharedPrefix } : {}) },
    signal ? { signal } : {},
  )) {
    if (event.type === "item-failed") {
      throw new Error(`executor ${client.address}: ${model}: ${event.code}: ${event.message}`);
    }
    if (event.type === "item-finished") {
      promptTokens += event.figures.promptTokens;
      cachedTokens += event.figures.cachedTokens;
      prefillMs = Math.max(prefillMs, event.figures.prefillMs);
      largestGenerated = Math.max(largestGenerated, event.figures.generatedTokens);
      totalGenerated += event.figures.generatedTokens;
    }
    if (event.type === "batch-finished") decodeMs = event.figures.decodeMs;
  }
  return { promptTokens, cachedTokens, prefillMs, decodeMs, largestGenerated, totalGenerated };
}

/**
 * Measures every model on the executors (sequentially: measurements must not
 * compete for the same cores) and fits the profile. Throws when an executor
 * cannot serve a model.
 */
export async function measureDeviceProfile(
  clients: readonly ExecutorClient[],
  options: ProfileMeasurementOptions,
): Promise<MeasuredProfile> {
  if (clients.length === 0) throw new Error("measuring a profile needs at least one executor");
  if (options.models.length === 0) throw new Error("measuring a profile needs at least one model");
  const signal = options.signal;
  const quick = options.quick ?? false;
  const measured = quick ? clients.slice(0, 1) : clients;
  const infos: InfoResponse[] = [];
  for (const client of clients) infos.push(await client.info(signal ? { signal } : {}));
  const samples: ProfileSample[] = [];
  const models: Record<string, ModelProfile> = {};
  for (const model of options.models) {
    for (const [index, client] of measured.entries()) {
      options.onProgress?.(`measuring ${model} on ${client.address}`);
      samples.push(...(await measureModel(client, infos[index]!, model, quick, signal, options.onProgress)));
    }
    models[model] = fitModel(model, infos[0]!, samples);
  }
  const info = infos[0]!;
  // The weakest executor decides: a capability counts only when every executor has it.
  const capabilities = {
    kvTransfer: infos.every((entry) => entry.capabilities?.kvTransfer ?? true),
    prefixPinning: infos.every((entry) => entry.capabilities?.prefixPinning ?? true),
    modelLoading: infos.every((entry) => entry.capabilities?.modelLoading ?? true),
  };
  const maxLoadedModels = Math.min(...infos.map((entry) => entry.capabilities?.maxLoadedModels || 1));
  let transfer = { bytesPerSecond: 1, fixedMs: 0 };
  if (capabilities.kvTransfer) {
    options.onProgress?.("measuring KV transfer");
    const transferSamples = await measureTransfer(clients, options.models[0]!, quick, signal);
    samples.push(...transferSamples);
    transfer = fitTransfer(transferSamples);
  }
  // Without KV transfer nothing is measured: 1 B/s (required by the schema) makes any planner
  // that ignores `capabilities` price migration as hopeless.
  const loadSamples = samples.filter((sample) => sample.kind === "load");
  // A model that was already loaded everywhere gets the load time per byte of the others.
  for (const [name, profile] of Object.entries(models)) {
    if (loadSamples.some((sample) => sample.model === name)) continue;
    const perByte = loadSamples.length
      ? median(
          loadSamples.map(
            (sample) => sample.ms / Math.max(1, models[sample.model]?.weightsBytes ?? profile.weightsBytes),
          ),
        )
      : undefined;
    models[name] = { ...profile, loadMs: perByte === undefined ? 1_000 : perByte * profile.weightsBytes };
  }
  const device =
    options.device ??
    `${info.engine} executor, ${info.threads} thread${info.threads === 1 ? "" : "s"} (${clients.length} measured at ${clients.map((client) => client.address).join(", ")})`;
  return {
    profile: {
      profileVersion: PROFILE_VERSION,
      device,
      source: `measured by halo profile on ${new Date().toISOString().slice(0, 10)} (${quick ? "quick" : "full"}: ${samples.length} samples)`,
      memoryBytes: Math.min(...infos.map((entry) => entry.memoryBudgetBytes)),
      transferBytesPerSecond: transfer.bytesPerSecond,
      transferFixedMs: transfer.fixedMs,
      models,
      ...(Object.values(capabilities).every(Boolean) && maxLoadedModels === 1
        ? {}
        : { capabilities: { ...capabilities, ...(maxLoadedModels > 1 ? { maxLoadedModels } : {}) } }),
    },
    samples,
  };
}

async function measureModel(
  client: ExecutorClient,
  info: InfoResponse,
  model: string,
  quick: boolean,
  signal: AbortSignal | undefined,
  onProgress?: (message: string) => void,
): Promise<ProfileSample[]> {
  const samples: ProfileSample[] = [];
  const executor = client.address;
  const load = await client.loadModel(model, signal ? { signal } : {});
  if (!load.alreadyLoaded) samples.push({ model, kind: "load", executor, size: 1, ms: load.loadMs });
  const descriptor = (await client.info(signal ? { signal } : {})).models.find(
    (entry) => entry.name === model,
  );
  const contextLength = descriptor?.contextLength ?? 2048;
  const room = Math.max(64, contextLength - 64);
  // Warm-up: the first call of a model pays one-time costs (buffers, grammar tables).
  await timedGenerate(client, model, [uniqueText(16)], 2, signal);
  const prefillLengths = (quick ? [32, 160, 400] : [16, 64, 128, 256, 512, 1024]).filter(
    (tokens) => tokens < room,
  );
  for (const tokens of prefillLengths) {
    const figures = await timedGenerate(client, model, [uniqueText(tokens)], 1, signal);
    samples.push({
      model,
      kind: "prefill",
      executor,
      size: figures.promptTokens - figures.cachedTokens,
      ms: figures.prefillMs,
    });
  }
  const maxSequences = Math.max(1, info.maxSequences);
  const batches = [
    ...new Set((quick ? [1, 4, 8] : [1, 2, 4, 8, 16]).map((size) => Math.min(size, maxSequences))),
  ];
  const contexts = (quick ? [32, 256] : [32, 256, 768]).filter((tokens) => tokens + 32 < room);
  const maxTokens = quick ? 8 : 16;
  const decodeSample = async (
    kind: "decode" | "structured-decode",
    batch: number,
    context: number,
  ): Promise<ProfileSample | undefined> => {
    const prompts = Array.from({ length: batch }, () => uniqueText(context));
    const schema = kind === "structured-decode" ? STRUCTURED_SCHEMA : undefined;
    const figures = await timedGenerate(client, model, prompts, maxTokens, signal, undefined, schema);
    const steps = figures.largestGenerated - 1;
    if (steps < 1 || figures.decodeMs <= 0) return undefined;
    return {
      model,
      kind,
      executor,
      size: batch,
      context: figures.promptTokens / batch + steps / 2,
      ms: figures.decodeMs / steps,
    };
  };
  for (const context of contexts) {
    for (const batch of batches) {
      const sample = await decodeSample("decode", batch, context);
      if (sample) samples.push(sample);
    }
  }
  if (maxSequences > WIDE_BATCH) {
    samples.push(...(await measureDecodeGrid(client, info, model, room, quick, signal, onProgress)));
  }
  // Structured output: the same batches under a JSON-schema grammar (at the shortest context
  // when quick: the grammar's cost is per sequence and step, the context's is decode's own).
  // An executor that cannot constrain output gets no structured figure (priced as free decode).
  try {
    await timedGenerate(client, model, [uniqueText(16)], 2, signal, undefined, STRUCTURED_SCHEMA);
    for (const context of quick ? contexts.slice(0, 1) : contexts) {
      for (const batch of batches) {
        const sample = await decodeSample("structured-decode", batch, context);
        if (sample) samples.push(sample);
      }
    }
  } catch (error) {
    if (signal?.aborted) throw error;
    onProgress?.(`${model}: structured (JSON-schema) decode not measured: ${(error as Error).message}`);
  }
  return samples;
}

/** Engines admitting more sequences than this get the decode grid. */
const WIDE_BATCH = 16;

/**
 * Decode steps on a grid: batch sizes in powers of 4 up to the engine's limit, contexts from
 * 128 to 4,096 tokens (8,192 in a full profile), each sequence a shared prefix of the context's
 * length (prefilled once, so a large batch at a long context costs one prefill) plus a few
 * tokens of its own. Points beyond the engine's batch limit (`maxBatchTokens`, every sequence's
 * whole context counted) or whose KV would not fit (80 % of the memory beside the weights) are
 * skipped; the cost model bounds its batches by the KV capacity anyway.
 */
async function measureDecodeGrid(
  client: ExecutorClient,
  info: InfoResponse,
  model: string,
  room: number,
  quick: boolean,
  signal: AbortSignal | undefined,
  onProgress?: (message: string) => void,
): Promise<ProfileSample[]> {
  const descriptor = info.models.find((entry) => entry.name === model);
  const kvBytesPerToken = descriptor?.kvBytesPerToken ?? 0;
  const freeBytes = info.memoryBudgetBytes - (descriptor?.memoryBytes ?? 0);
  const capacity = kvBytesPerToken > 0 ? (0.8 * freeBytes) / kvBytesPerToken : Number.POSITIVE_INFINITY;
  const batchTokens = info.maxBatchTokens > 0 ? info.maxBatchTokens : Number.POSITIVE_INFINITY;
  const maxTokens = quick ? 8 : 16;
  const suffixTokens = 8;
  const batches: number[] = [];
  for (let batch = 1; batch < info.maxSequences; batch *= quick ? 4 : 2) batches.push(batch);
  batches.push(info.maxSequences);
  const contexts = (quick ? [128, 1024, 4096] : [128, 512, 2048, 8192]).filter(
    (tokens) => tokens + suffixTokens + maxTokens < room,
  );
  onProgress?.(`${model}: decode grid, batches ${batches.join("/")}, contexts ${contexts.join("/")}`);
  const samples: ProfileSample[] = [];
  for (const context of contexts) {
    for (const batch of batches) {
      // The engine's batch limit counts every sequence's whole context; its KV holds the shared
      // prefix once.
      const perSequence = suffixTokens + maxTokens + 2;
      if (batch * (context + perSequence) > batchTokens || context + batch * perSequence > capacity) break;
      const key = `halo-profile-grid-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      const prompts = Array.from({ length: batch }, () => uniqueText(suffixTokens));
      const figures = await timedGenerate(client, model, prompts, maxTokens, signal, {
        key,
        text: uniqueText(context),
      });
      await client.dropKv(key).catch(() => undefined);
      const steps = figures.largestGenerated - 1;
      if (steps < 1 || figures.decodeMs <= 0) continue;
      samples.push({
        model,
        kind: "decode-grid",
        executor: client.address,
        size: batch,
        context: figures.promptTokens / batch + steps / 2,
        column: context,
        // Each answer's first token comes with the prefill; the rest are decode steps.
        meanBatch: Math.min(batch, Math.max(1, (figures.totalGenerated - batch) / steps)),
        ms: figures.decodeMs / steps,
      });
    }
  }
  return samples;
}

/**
 * The decode table of grid samples (median per point; the context of a column and the batch of
 * a row are their samples' means: a row's sequences running per step, as measured). A point the grid skipped (its KV would not fit) continues its row with the context
 * slope of the row above, scaled by the batch (a step reads every sequence's context); step
 * costs never fall as the batch grows. Undefined with fewer than two batch sizes.
 */
export function fitDecodeTable(
  samples: readonly Pick<ProfileSample, "size" | "context" | "column" | "meanBatch" | "ms">[],
): DecodeTable | undefined {
  const rows = [...new Set(samples.map((sample) => sample.size))].sort((a, b) => a - b);
  const columns = [...new Set(samples.map((sample) => sample.column ?? 0))].sort((a, b) => a - b);
  if (rows.length < 2 || columns.length === 0) return undefined;
  const contexts = columns.map((column) =>
    mean(
      samples.filter((sample) => (sample.column ?? 0) === column).map((sample) => sample.context ?? column),
    ),
  );
  const batches = rows.map((row) =>
    mean(samples.filter((sample) => sample.size === row).map((sample) => sample.meanBatch ?? row)),
  );
  const ascending = (values: readonly number[]) =>
    values.every((value, index) => index === 0 || value > values[index - 1]!);
  if (!ascending(contexts) || !ascending(batches)) return undefined;
  const stepMs: number[][] = [];
  for (const [row, batch] of batches.entries()) {
    const values: number[] = [];
    for (const [index, column] of columns.entries()) {
      const here = samples.filter((sample) => sample.size === rows[row] && (sample.column ?? 0) === column);
      let value: number;
      if (here.length > 0) {
        value = median(here.map((sample) => sample.ms));
      } else if (index > 0 && row > 0) {
        const above = stepMs[row - 1]!;
        const slope = (above[index]! - above[index - 1]!) / (contexts[index]! - contexts[index - 1]!);
        value =
          values[index - 1]! +
          Math.max(0, slope) * (batch / batches[row - 1]!) * (contexts[index]! - contexts[index - 1]!);
      } else {
        return undefined;
      }
      values.push(row > 0 ? Math.max(value, stepMs[row - 1]![index]!) : value);
    }
    stepMs.push(values);
  }
  return { batches, contexts, stepMs };
}

function fitModel(model: string, info: InfoResponse, samples: readonly ProfileSample[]): ModelProfile {
  const descriptor = info.models.find((entry) => entry.name === model);
  const prefill = samples.filter((sample) => sample.model === model && sample.kind === "prefill");
  const decode = samples.filter((sample) => sample.model === model && sample.kind === "decode");
  const load = samples.filter((sample) => sample.model === model && sample.kind === "load");
  const [prefillFixed = 0, prefillPerToken = 0] = nonNegativeLeastSquares(
    prefill.map((sample) => [1, sample.size]),
    prefill.map((sample) => sample.ms),
  );
  const [stepFixed = 0, perSequence = 0, perContext = 0] = nonNegativeLeastSquares(
    decode.map((sample) => [1, sample.size, sample.size * (sample.context ?? 0)]),
    decode.map((sample) => sample.ms),
  );
  const parameterCount = descriptor?.parameterCount ?? 1;
  const decodeCost = {
    stepFixedMs: stepFixed,
    stepMsPerSequence: perSequence,
    stepMsPerContextToken: perContext,
  };
  const structured = samples.filter(
    (sample) => sample.model === model && sample.kind === "structured-decode",
  );
  const decodeTable = fitDecodeTable(
    samples.filter((sample) => sample.model === model && sample.kind === "decode-grid"),
  );
  return {
    parameterCount: Math.max(1, parameterCount),
    weightsBytes: Math.max(1, descriptor?.memoryBytes ?? parameterCount),
    loadMs: load.length > 0 ? median(load.map((sample) => sample.ms)) : 0,
    kvBytesPerToken: Math.max(1, descriptor?.kvBytesPerToken ?? 1),
    contextLength: Math.max(1, descriptor?.contextLength ?? 2048),
    maxBatchSequences: Math.max(1, info.maxSequences),
    // The schema wants a positive marginal cost: a fit of zero means "too small to measure".
    prefill: { fixedMs: prefillFixed, msPerToken: Math.max(prefillPerToken, 1e-6) },
    decode: decodeCost,
    ...(structured.length > 0 ? { structuredDecode: fitStructuredDecode(decodeCost, structured) } : {}),
    ...(decodeTable ? { decodeTable } : {}),
  };
}

/**
 * Structured decode step costs: free decode plus the grammar's overhead, fitted (non-negative,
 * so never cheaper than free decode) to what the structured samples took beyond free decode's
 * prediction, as a fixed and a per-sequence cost per step.
 */
export function fitStructuredDecode(
  decode: DecodeCost,
  samples: readonly Pick<ProfileSample, "size" | "context" | "ms">[],
): DecodeCost {
  const [extraFixed = 0, extraPerSequence = 0] = nonNegativeLeastSquares(
    samples.map((sample) => [1, sample.size]),
    samples.map(
      (sample) => sample.ms - decodeStepMs({ decode } as ModelProfile, sample.size, sample.context ?? 0),
    ),
  );
  return {
    stepFixedMs: decode.stepFixedMs + extraFixed,
    stepMsPerSequence: decode.stepMsPerSequence + extraPerSequence,
    stepMsPerContextToken: decode.stepMsPerContextToken,
  };
}

/**
 * Caches a prefix on the first executor, exports it and imports it into the
 * second one (or back into the first under another key), at two sizes.
 */
async function measureTransfer(
  clients: readonly ExecutorClient[],
  model: string,
  quick: boolean,
  signal: AbortSignal | undefined,
): Promise<ProfileSample[]> {
  const source = clients[0]!;
  const target = clients[1] ?? clients[0]!;
  const samples: ProfileSample[] = [];
  // An import loads the model when needed: load it first so that the load is not timed.
  await target.loadModel(model, signal ? { signal } : {});
  for (const tokens of quick ? [64, 320] : [64, 320, 960]) {
    const key = `halo-profile-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const copy = `${key}-copy`;
    await timedGenerate(source, model, ["x"], 1, signal, { key, text: uniqueText(tokens) });
    const startedMs = performance.now();
    let bytes = 0;
    const chunks: Uint8Array[] = [];
    for await (const chunk of source.exportKv(key, signal ? { signal } : {})) {
      bytes += chunk.byteLength;
      chunks.push(chunk);
    }
    await target.importKv(target === source ? copy : key, model, chunks, signal ? { signal } : {});
    samples.push({
      model,
      kind: "transfer",
      executor: `${source.address}→${target.address}`,
      size: bytes,
      ms: performance.now() - startedMs,
    });
    await source.dropKv(key).catch(() => undefined);
    await target.dropKv(target === source ? copy : key).catch(() => undefined);
  }
  return samples;
}

function fitTransfer(samples: readonly ProfileSample[]): { bytesPerSecond: number; fixedMs: number } {
  const [fixedMs = 0, msPerByte = 0] = nonNegativeLeastSquares(
    samples.map((sample) => [1, sample.size]),
    samples.map((sample) => sample.ms),
  );
  // No measurable per-byte cost: report the fastest observed rate rather than infinity.
  const bytesPerSecond =
    msPerByte > 0
      ? 1000 / msPerByte
      : Math.max(...samples.map((sample) => (sample.size * 1000) / Math.max(sample.ms, 1e-3)), 1);
  return { bytesPerSecond, fixedMs };
}

function mean(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0) / Math.max(1, values.length);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
