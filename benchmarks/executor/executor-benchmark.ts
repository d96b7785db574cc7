import { cpus, loadavg, totalmem } from "node:os";
import {
  ensureSynthesizedModel,
  LlamaCppEngine,
  resolveHaloHome,
  resolveModelSource,
} from "@halo/engine-llamacpp";
import type { ExecutorClient, GenerateInput } from "@halo/protocol";
import { questionPrompts, textOfTokens } from "./benchmark-text.js";
import { type SidecarProcess, startSidecarProcess } from "./sidecar-process.js";

/** What the executor benchmark measures and how hard. */
export interface ExecutorBenchmarkConfig {
  /** The model of the batching, prefix-sharing and migration measurements. */
  readonly model: string;
  /** Models whose load time is measured. */
  readonly switchModels: readonly string[];
  /** llama.cpp threads of each sidecar. */
  readonly threads: number;
  readonly contextSize: number;
  readonly maxSequences: number;
  /** Times each measurement is repeated; medians are reported. */
  readonly repeats: number;
  readonly batchSizes: readonly number[];
  readonly batchMaxTokens: number;
  readonly prefixPrompts: number;
  readonly prefixTokens: number;
  readonly prefixMaxTokens: number;
  readonly migrationTokens: readonly number[];
}

/** The full-size measurement of the brief: the ~32M stand-in, one thread per sidecar. */
export const defaultExecutorBenchmarkConfig: ExecutorBenchmarkConfig = {
  model: "Qwen/Qwen3-32B",
  switchModels: ["halo/tiny", "Qwen/Qwen3-14B", "openai/gpt-oss-20b", "Qwen/Qwen3-32B"],
  threads: 1,
  contextSize: 2048,
  maxSequences: 16,
  repeats: 3,
  batchSizes: [1, 4, 8, 16],
  batchMaxTokens: 64,
  prefixPrompts: 64,
  prefixTokens: 512,
  prefixMaxTokens: 8,
  migrationTokens: [256, 512, 1024],
};

/** What a measured run cost: wall-clock time and CPU time of the sidecar processes involved. */
export interface Cost {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/**
 * One batch size: generated tokens per second in one batch and one sequence after
 * another, per wall-clock second and per CPU-second of the sidecar (the latter is
 * unaffected by time spent waiting for a CPU that other work on the machine holds).
 */
export interface BatchingRow {
  readonly batchSize: number;
  readonly generatedTokens: number;
  readonly batchedTokensPerSecond: number;
  readonly sequentialTokensPerSecond: number;
  /** batched ÷ sequential, from the medians. */
  readonly speedup: number;
  readonly batchedTokensPerCpuSecond: number;
  readonly sequentialTokensPerCpuSecond: number;
  readonly cpuSpeedup: number;
  readonly batchedSamples: readonly Cost[];
  readonly sequentialSamples: readonly Cost[];
}

export interface PrefixSharingResult {
  readonly prompts: number;
  /** Tokens of the shared prefix as cached by the engine. */
  readonly prefixTokens: number;
  readonly withSharingMs: number;
  readonly withoutSharingMs: number;
  /** without ÷ with, from the medians. */
  readonly speedup: number;
  readonly withSharingCpuMs: number;
  readonly withoutSharingCpuMs: number;
  readonly cpuSpeedup: number;
  /** Prompt tokens prefilled (not served from cache) with sharing, the prefix's own evaluation included. */
  readonly prefilledTokensWithSharing: number;
  readonly prefilledTokensWithoutSharing: number;
  readonly withSamples: readonly Cost[];
  readonly withoutSamples: readonly Cost[];
}

/** One context size: moving its KV from sidecar A to B, against B prefilling it again. */
export interface MigrationRow {
  readonly contextTokens: number;
  readonly kvBytes: number;
  /** ExportKv from A streamed into ImportKv on B. */
  readonly migrateMs: number;
  /** Generate on B (one token) using the migrated KV. */
  readonly afterMigrateMs: number;
  /** The same Generate on B prefilling the context itself. */
  readonly reprefillMs: number;
  /** What prefilling the context costs B: reprefill − afterMigrate (the calls differ only in that). */
  readonly contextPrefillMs: number;
  /** contextPrefill ÷ migrate: moving the KV against computing it again. */
  readonly speedup: number;
  /** reprefill ÷ (migrate + afterMigrate): time to B's first token, end to end. */
  readonly endToEndSpeedup: number;
  /** CPU time of both sidecars while migrating, and of B prefilling the context. */
  readonly migrateCpuMs: number;
  readonly contextPrefillCpuMs: number;
  readonly cpuSpeedup: number;
  /** Whether B answered the same with migrated KV as with its own prefill. */
  readonly sameOutput: boolean;
}

export interface ModelSwitchRow {
  readonly model: string;
  readonly parameterCount: number;
  readonly weightsBytes: number;
  /** Median LoadModel time reported by the engine (another model was loaded before, and unloaded). */
  readonly loadMs: number;
  readonly samples: readonly number[];
}

/** A target and whether the wall-clock and the CPU-time ratios reach it. */
export interface TargetVerdict {
  readonly target: string;
  readonly met: boolean;
  readonly metOnCpuTime: boolean;
}

export interface ExecutorBenchmarkResults {
  readonly date: string;
  readonly command: string;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly totalMemoryBytes: number;
    readonly node: string;
    readonly platform: string;
    /** 1-minute load average when the run started: other work competing for the CPUs. */
    readonly loadAverage: number;
  };
  readonly config: ExecutorBenchmarkConfig;
  readonly batching: { readonly rows: readonly BatchingRow[] } & TargetVerdict;
  readonly prefixSharing: PrefixSharingResult & TargetVerdict;
  readonly migration: { readonly rows: readonly MigrationRow[] } & TargetVerdict;
  readonly modelSwitch: { readonly rows: readonly ModelSwitchRow[] };
}

/** Median of samples (the mean of the middle two for an even count). */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface GenerateOutcome {
  readonly wallMs: number;
  readonly generatedTokens: number;
  readonly promptTokens: number;
  readonly cachedTokens: number;
  readonly prefixPrefilledTokens: number;
  readonly texts: ReadonlyMap<string, string>;
}

/** Runs one Generate call to the end; any failed item fails the measurement. */
async function generate(client: ExecutorClient, input: GenerateInput): Promise<GenerateOutcome> {
  const startedAt = performance.now();
  let generatedTokens = 0;
  let promptTokens = 0;
  let cachedTokens = 0;
  let prefixPrefilledTokens = 0;
  const texts = new Map<string, string>();
  for await (const event of client.generate(input)) {
    if (event.type === "item-failed")
      throw new Error(`item ${event.itemId} failed: ${event.code}: ${event.message}`);
    if (event.type === "item-finished") {
      generatedTokens += event.figures.generatedTokens;
      promptTokens += event.figures.promptTokens;
      cachedTokens += event.figures.cachedTokens;
      texts.set(event.itemId, event.text);
    }
    if (event.type === "batch-finished") prefixPrefilledTokens += event.figures.prefixPrefilledTokens;
  }
  return {
    wallMs: performance.now() - startedAt,
    generatedTokens,
    promptTokens,
    cachedTokens,
    prefixPrefilledTokens,
    texts,
  };
}

function items(prompts: readonly string[], maxTokens: number) {
  return prompts.map((prompt, index) => ({ id: `i${index}`, prompt, maxTokens, temperature: 0, seed: 1 }));
}

/** Runs `action`, measuring wall-clock time and the CPU time `sidecars` spent meanwhile. */
async function measured<T>(
  sidecars: readonly SidecarProcess[],
  action: () => Promise<T>,
): Promise<{ readonly result: T; readonly cost: Cost }> {
  const cpuBefore = await Promise.all(sidecars.map((sidecar) => sidecar.cpuMs()));
  const startedAt = performance.now();
  const result = await action();
  const wallMs = performance.now() - startedAt;
  const cpuAfter = await Promise.all(sidecars.map((sidecar) => sidecar.cpuMs()));
  const cpuMs = cpuAfter.reduce((total, value, index) => total + value - cpuBefore[index]!, 0);
  return { result, cost: { wallMs, cpuMs } };
}

const medianOf = (costs: readonly Cost[], pick: (cost: Cost) => number) => median(costs.map(pick));

async function measureBatching(
  sidecar: SidecarProcess,
  config: ExecutorBenchmarkConfig,
  log: (line: string) => void,
): Promise<BatchingRow[]> {
  const { client } = sidecar;
  const batched = new Map<number, Cost[]>();
  const sequential = new Map<number, Cost[]>();
  const generatedOf = new Map<number, number>();
  // Warm-up: first decodes page in weights and size llama.cpp's buffers.
  await generate(client, { model: config.model, items: items(questionPrompts(2), 4) });
  for (let repeat = 0; repeat < config.repeats; repeat += 1) {
    for (const batchSize of config.batchSizes) {
      const prompts = questionPrompts(batchSize);
      const runBatched = async () => {
        const { result, cost } = await measured([sidecar], () =>
          generate(client, { model: config.model, items: items(prompts, config.batchMaxTokens) }),
        );
        batched.set(batchSize, [...(batched.get(batchSize) ?? []), cost]);
        generatedOf.set(batchSize, result.generatedTokens);
      };
      const runSequential = async () => {
        const { cost } = await measured([sidecar], async () => {
          for (const prompt of prompts) {
            await generate(client, { model: config.model, items: items([prompt], config.batchMaxTokens) });
          }
        });
        sequential.set(batchSize, [...(sequential.get(batchSize) ?? []), cost]);
      };
      // Alternate which mode runs first so drifting machine load does not favour one.
      if (repeat % 2 === 0) {
        await runBatched();
        await runSequential();
      } else {
        await runSequential();
        await runBatched();
      }
      const last = (costs: Cost[] | undefined) => costs!.at(-1)!;
      log(
        `batching: batch ${batchSize} repeat ${repeat + 1}: batched ${last(batched.get(batchSize)).wallMs.toFixed(0)} ms ` +
          `(${last(batched.get(batchSize)).cpuMs.toFixed(0)} cpu-ms), one after another ${last(sequential.get(batchSize)).wallMs.toFixed(0)} ms ` +
          `(${last(sequential.get(batchSize)).cpuMs.toFixed(0)} cpu-ms)`,
      );
    }
  }
  return config.batchSizes.map((batchSize) => {
    // Greedy decoding generates the same tokens both ways.
    const tokens = generatedOf.get(batchSize)!;
    const batchedCosts = batched.get(batchSize)!;
    const sequentialCosts = sequential.get(batchSize)!;
    const perSecond = (ms: number) => (tokens / ms) * 1000;
    const batchedTokensPerSecond = perSecond(medianOf(batchedCosts, (cost) => cost.wallMs));
    const sequentialTokensPerSecond = perSecond(medianOf(sequentialCosts, (cost) => cost.wallMs));
    const batchedTokensPerCpuSecond = perSecond(medianOf(batchedCosts, (cost) => cost.cpuMs));
    const sequentialTokensPerCpuSecond = perSecond(medianOf(sequentialCosts, (cost) => cost.cpuMs));
    return {
      batchSize,
      generatedTokens: tokens,
      batchedTokensPerSecond,
      sequentialTokensPerSecond,
      speedup: batchedTokensPerSecond / sequentialTokensPerSecond,
      batchedTokensPerCpuSecond,
      sequentialTokensPerCpuSecond,
      cpuSpeedup: batchedTokensPerCpuSecond / sequentialTokensPerCpuSecond,
      batchedSamples: batchedCosts,
      sequentialSamples: sequentialCosts,
    };
  });
}

async function measurePrefixSharing(
  sidecar: SidecarProcess,
  config: ExecutorBenchmarkConfig,
  log: (line: string) => void,
): Promise<PrefixSharingResult> {
  const { client } = sidecar;
  const prefix = `${textOfTokens(config.prefixTokens)}\n`;
  const suffixes = questionPrompts(config.prefixPrompts);
  const withSamples: Cost[] = [];
  const withoutSamples: Cost[] = [];
  let prefixTokens = 0;
  let prefilledWith = 0;
  let prefilledWithout = 0;
  for (let repeat = 0; repeat < config.repeats; repeat += 1) {
    const key = `bench-prefix-${repeat}`;
    const runWith = async () => {
      const { result, cost } = await measured([sidecar], () =>
        generate(client, {
          model: config.model,
          sharedPrefix: { key, text: prefix },
          items: items(suffixes, config.prefixMaxTokens),
        }),
      );
      withSamples.push(cost);
      prefilledWith = result.promptTokens - result.cachedTokens + result.prefixPrefilledTokens;
      const stats = await client.stats();
      prefixTokens = stats.kvEntries.find((entry) => entry.key === key)?.tokens ?? prefixTokens;
      await client.dropKv(key);
    };
    const runWithout = async () => {
      const { result, cost } = await measured([sidecar], () =>
        generate(client, {
          model: config.model,
          items: items(
            suffixes.map((suffix) => prefix + suffix),
            config.prefixMaxTokens,
          ),
        }),
      );
      withoutSamples.push(cost);
      prefilledWithout = result.promptTokens - result.cachedTokens;
    };
    if (repeat % 2 === 0) {
      await runWith();
      await runWithout();
    } else {
      await runWithout();
      await runWith();
    }
    log(
      `prefix sharing: repeat ${repeat + 1}: ${withSamples.at(-1)!.wallMs.toFixed(0)} ms with, ${withoutSamples.at(-1)!.wallMs.toFixed(0)} ms without`,
    );
  }
  const withSharingMs = medianOf(withSamples, (cost) => cost.wallMs);
  const withoutSharingMs = medianOf(withoutSamples, (cost) => cost.wallMs);
  const withSharingCpuMs = medianOf(withSamples, (cost) => cost.cpuMs);
  const withoutSharingCpuMs = medianOf(withoutSamples, (cost) => cost.cpuMs);
  return {
    prompts: config.prefixPrompts,
    prefixTokens,
    withSharingMs,
    withoutSharingMs,
    speedup: withoutSharingMs / withSharingMs,
    withSharingCpuMs,
    withoutSharingCpuMs,
    cpuSpeedup: withoutSharingCpuMs / withSharingCpuMs,
    prefilledTokensWithSharing: prefilledWith,
    prefilledTokensWithoutSharing: prefilledWithout,
    withSamples,
    withoutSamples,
  };
}

async function measureMigration(
  source: SidecarProcess,
  target: SidecarProcess,
  config: ExecutorBenchmarkConfig,
  log: (line: string) => void,
): Promise<MigrationRow[]> {
  const rows: MigrationRow[] = [];
  const question = [
    { id: "q", prompt: "\nQuestion: which region sold the most? Answer:", maxTokens: 1, temperature: 0 },
  ];
  // Warm-up: the first transfers pay for JIT compilation and connection set-up.
  const warmUpText = textOfTokens(config.migrationTokens[0] ?? 64, 1);
  await generate(source.client, {
    model: config.model,
    sharedPrefix: { key: "bench-warm-up", text: warmUpText },
    items: question,
  });
  await target.client.importKv("bench-warm-up", config.model, source.client.exportKv("bench-warm-up"));
  await source.client.dropKv("bench-warm-up");
  await target.client.dropKv("bench-warm-up");
  for (const contextTokens of config.migrationTokens) {
    // One word more than the context: the engine keeps the last word of a prefix out of its cached KV.
    const text = textOfTokens(contextTokens, contextTokens);
    const migrate: Cost[] = [];
    const after: Cost[] = [];
    const reprefill: Cost[] = [];
    let kvBytes = 0;
    let sameOutput = true;
    for (let repeat = 0; repeat < config.repeats; repeat += 1) {
      const key = `bench-migrate-${contextTokens}-${repeat}`;
      await generate(source.client, { model: config.model, sharedPrefix: { key, text }, items: question });
      let bytes = 0;
      const counted = async function* (chunks: AsyncIterable<Uint8Array>) {
        for await (const chunk of chunks) {
          bytes += chunk.byteLength;
          yield chunk;
        }
      };
      const moved = await measured([source, target], () =>
        target.client.importKv(key, config.model, counted(source.client.exportKv(key))),
      );
      migrate.push(moved.cost);
      kvBytes = bytes;
      const migrated = await measured([target], () =>
        generate(target.client, { model: config.model, sharedPrefix: { key, text }, items: question }),
      );
      if (migrated.result.prefixPrefilledTokens !== 0)
        throw new Error(`the migrated prefix ${key} was prefilled again`);
      after.push(migrated.cost);
      const freshKey = `${key}-reprefill`;
      const prefilled = await measured([target], () =>
        generate(target.client, {
          model: config.model,
          sharedPrefix: { key: freshKey, text },
          items: question,
        }),
      );
      reprefill.push(prefilled.cost);
      sameOutput &&= migrated.result.texts.get("q") === prefilled.result.texts.get("q");
      for (const [client, dropped] of [
        [source.client, key],
        [target.client, key],
        [target.client, freshKey],
      ] as const) {
        await client.dropKv(dropped);
      }
      log(
        `migration: ${contextTokens} tokens repeat ${repeat + 1}: migrate ${moved.cost.wallMs.toFixed(1)} ms + ${migrated.cost.wallMs.toFixed(1)} ms vs re-prefill ${prefilled.cost.wallMs.toFixed(1)} ms`,
      );
    }
    const migrateMs = medianOf(migrate, (cost) => cost.wallMs);
    const afterMigrateMs = medianOf(after, (cost) => cost.wallMs);
    const reprefillMs = medianOf(reprefill, (cost) => cost.wallMs);
    const contextPrefillMs = reprefillMs - afterMigrateMs;
    const migrateCpuMs = medianOf(migrate, (cost) => cost.cpuMs);
    const contextPrefillCpuMs =
      medianOf(reprefill, (cost) => cost.cpuMs) - medianOf(after, (cost) => cost.cpuMs);
    rows.push({
      contextTokens,
      kvBytes,
      migrateMs,
      afterMigrateMs,
      reprefillMs,
      contextPrefillMs,
      speedup: contextPrefillMs / migrateMs,
      endToEndSpeedup: reprefillMs / (migrateMs + afterMigrateMs),
      migrateCpuMs,
      contextPrefillCpuMs,
      cpuSpeedup: contextPrefillCpuMs / migrateCpuMs,
      sameOutput,
    });
  }
  return rows;
}

async function measureModelSwitch(
  config: ExecutorBenchmarkConfig,
  log: (line: string) => void,
): Promise<ModelSwitchRow[]> {
  const haloHome = resolveHaloHome();
  // Synthesize first: model synthesis is a first-use cost, not a switch.
  for (const model of config.switchModels) {
    const source = resolveModelSource(model);
    if (source?.kind === "synthesized") await ensureSynthesizedModel(source.spec, haloHome);
  }
  const probe = new LlamaCppEngine({
    threads: config.threads,
    contextSize: config.contextSize,
    maxSequences: config.maxSequences,
  });
  const described = [];
  for (const model of config.switchModels) described.push(await probe.describeModel(model));
  await probe.close();
  // A budget for one model at a time, so every load is a switch (the previous model is unloaded).
  const budget = Math.ceil(Math.max(...described.map((descriptor) => descriptor.memoryBytes)) * 1.3);
  const sidecar = await startSidecarProcess({
    threads: config.threads,
    contextSize: config.contextSize,
    maxSequences: config.maxSequences,
    automaticPrefixReuse: false,
    memoryBudgetBytes: budget,
    models: config.switchModels,
  });
  try {
    const samples = new Map<string, number[]>();
    for (let repeat = 0; repeat < config.repeats + 1; repeat += 1) {
      for (const model of config.switchModels) {
        const result = await sidecar.client.loadModel(model);
        // The first round only warms the page cache with every model file.
        if (repeat > 0 && !result.alreadyLoaded)
          samples.set(model, [...(samples.get(model) ?? []), result.loadMs]);
      }
    }
    return described.map((descriptor) => {
      const loads = samples.get(descriptor.name) ?? [];
      log(`model switch: ${descriptor.name}: ${loads.map((ms) => ms.toFixed(0)).join(", ")} ms`);
      return {
        model: descriptor.name,
        parameterCount: descriptor.parameterCount,
        weightsBytes:
          descriptor.memoryBytes -
          descriptor.kvBytesPerToken * descriptor.contextLength * config.maxSequences,
        loadMs: median(loads),
        samples: loads,
      };
    });
  } finally {
    await sidecar.stop();
  }
}

/** Runs every executor measurement; sidecars are separate processes talking real gRPC. */
export async function runExecutorBenchmark(
  config: ExecutorBenchmarkConfig,
  command: string,
  log: (line: string) => void,
): Promise<ExecutorBenchmarkResults> {
  const sidecarOptions = {
    threads: config.threads,
    contextSize: config.contextSize,
    maxSequences: config.maxSequences,
    // Without automatic reuse only explicit shared prefixes and imports serve cached KV.
    automaticPrefixReuse: false,
  };
  const date = new Date().toISOString();
  const loadAverage = loadavg()[0] ?? 0;
  const source = await startSidecarProcess(sidecarOptions);
  let batchingRows: BatchingRow[];
  let prefixSharing: PrefixSharingResult;
  let migrationRows: MigrationRow[];
  try {
    await source.client.loadModel(config.model);
    batchingRows = await measureBatching(source, config, log);
    prefixSharing = await measurePrefixSharing(source, config, log);
    const target = await startSidecarProcess(sidecarOptions);
    try {
      await target.client.loadModel(config.model);
      migrationRows = await measureMigration(source, target, config, log);
    } finally {
      await target.stop();
    }
  } finally {
    await source.stop();
  }
  const modelSwitchRows = await measureModelSwitch(config, log);
  const batchEight = batchingRows.find((row) => row.batchSize === 8);
  const migration512 = migrationRows.find((row) => row.contextTokens === 512);
  return {
    date,
    command,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      totalMemoryBytes: totalmem(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      loadAverage,
    },
    config,
    batching: {
      rows: batchingRows,
      target: "batched ≥ 1.5× sequential tokens/s at batch 8",
      met: batchEight !== undefined && batchEight.speedup >= 1.5,
      metOnCpuTime: batchEight !== undefined && batchEight.cpuSpeedup >= 1.5,
    },
    prefixSharing: {
      ...prefixSharing,
      target: "≥ 4× faster with prefix sharing",
      met: prefixSharing.speedup >= 4,
      metOnCpuTime: prefixSharing.cpuSpeedup >= 4,
    },
    migration: {
      rows: migrationRows,
      target: "export + import ≥ 5× faster than re-prefilling at 512 tokens",
      met: migration512 !== undefined && migration512.speedup >= 5,
      metOnCpuTime: migration512 !== undefined && migration512.cpuSpeedup >= 5,
    },
    modelSwitch: { rows: modelSwitchRows },
  };
}
