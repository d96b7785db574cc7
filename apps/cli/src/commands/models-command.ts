import {
  countParameters,
  ensureSynthesizedModel,
  formatParameterCount,
  listCachedModels,
  modelCacheDirectory,
  parseParameterCount,
  planArchitecture,
  resolveHaloHome,
  type SynthesisSpec,
  type SynthesizedWeightFormat,
  smallestParameterCount,
  standInModels,
  standInParameterCount,
  synthesizedModelFileName,
  synthesizedWeightFormats,
  synthesizeModel,
} from "@halo/engine-llamacpp";
import type { Command } from "commander";
import { InvalidInputError } from "../cli-error.js";
import type { CommandIo } from "../io.js";
import type { RegisterCommand } from "./index.js";

interface SynthOptions {
  readonly params?: string;
  readonly seed: string;
  readonly format: string;
  readonly out?: string;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Millions with two decimals: exact counts like 2146624 are hard to read. */
function millions(parameterCount: number): string {
  return `${(parameterCount / 1e6).toFixed(2)}M`;
}

function describeShape(spec: SynthesisSpec): string {
  const architecture = planArchitecture(spec.parameterCount);
  return `${millions(countParameters(architecture))} parameters, ${architecture.embeddingLength} wide × ${architecture.blockCount} blocks, ${spec.format}, seed ${spec.seed}`;
}

/** Turns the flags of `halo models synth` into a spec; bad flags are invalid input naming the flag. */
export function synthesisSpecFromFlags(name: string, options: SynthOptions): SynthesisSpec {
  if (name.trim() === "") throw new InvalidInputError("models synth: <name> must not be empty");
  let parameterCount: number | undefined;
  if (options.params !== undefined) {
    parameterCount = parseParameterCount(options.params);
    if (parameterCount === undefined) {
      throw new InvalidInputError(
        `--params: expected a parameter count such as 14M or 1.5B (got "${options.params}")`,
      );
    }
  } else {
    parameterCount = standInParameterCount(name);
    if (parameterCount === undefined) {
      throw new InvalidInputError(
        `models synth: "${name}" is not a known stand-in and carries no parameter count (like -7B); pass --params`,
      );
    }
  }
  try {
    planArchitecture(parameterCount);
  } catch (error) {
    throw new InvalidInputError(`--params: ${(error as Error).message}`);
  }
  if (!/^\d+$/.test(options.seed) || !Number.isSafeInteger(Number(options.seed))) {
    throw new InvalidInputError(`--seed: expected a non-negative integer (got "${options.seed}")`);
  }
  if (!(synthesizedWeightFormats as readonly string[]).includes(options.format)) {
    throw new InvalidInputError(
      `--format: expected one of ${synthesizedWeightFormats.join(", ")} (got "${options.format}")`,
    );
  }
  return {
    name,
    parameterCount,
    seed: Number(options.seed),
    format: options.format as SynthesizedWeightFormat,
  };
}

async function runSynth(name: string, options: SynthOptions, io: CommandIo): Promise<void> {
  const spec = synthesisSpecFromFlags(name, options);
  const startedMs = performance.now();
  if (options.out !== undefined) {
    const model = await synthesizeModel(spec, options.out);
    io.stdout(
      `synthesized ${name} (${describeShape(spec)}) → ${model.path} (${megabytes(model.fileBytes)}) in ${Math.round(performance.now() - startedMs)} ms\n`,
    );
    return;
  }
  const cached = await ensureSynthesizedModel(spec, resolveHaloHome());
  if (cached.created) {
    io.stdout(
      `synthesized ${name} (${describeShape(spec)}) → ${cached.path} (${megabytes(cached.synthesized?.fileBytes ?? 0)}) in ${Math.round(performance.now() - startedMs)} ms\n`,
    );
  } else {
    io.stdout(`cached ${name} (${describeShape(spec)}) → ${cached.path}\n`);
  }
}

async function runList(io: CommandIo): Promise<void> {
  const haloHome = resolveHaloHome();
  const cached = await listCachedModels(haloHome);
  const cachedNames = new Set(cached.map((entry) => entry.fileName));
  const rows = standInModels.map((model) => {
    const spec: SynthesisSpec = {
      name: model.name,
      parameterCount: model.parameterCount,
      seed: 1,
      format: "q8_0",
    };
    const architecture = planArchitecture(model.parameterCount);
    return [
      model.name,
      formatParameterCount(model.parameterCount),
      millions(countParameters(architecture)),
      `${architecture.embeddingLength}×${architecture.blockCount}`,
      `${architecture.headCount}/${architecture.headCountKv}`,
      cachedNames.has(synthesizedModelFileName(spec)) ? "yes" : "no",
    ];
  });
  const header = ["model", "stand-in", "parameters", "width×blocks", "heads/kv", "cached (seed 1, q8_0)"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]) =>
    `${cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ")}`.trimEnd();
  io.stdout(`${line(header)}\n${rows.map(line).join("\n")}\n`);
  io.stdout(
    `\nOther names with a parameter count (…-7B) get a stand-in of that many millions (at least ${formatParameterCount(smallestParameterCount)}).\n`,
  );
  io.stdout(`\nmodel cache: ${modelCacheDirectory(haloHome)}\n`);
  if (cached.length === 0) {
    io.stdout("  (empty: models are synthesized on first use or with `halo models synth <name>`)\n");
    return;
  }
  for (const entry of cached) io.stdout(`  ${entry.fileName}  ${megabytes(entry.bytes)}\n`);
}

/** `halo models`: the synthesized stand-in models (list, synth). */
export const registerModelsCommand: RegisterCommand = (program: Command, io: CommandIo) => {
  const models = program
    .command("models")
    .description("Synthesized stand-in models (GGUF, LLaMA architecture, seeded random weights)");
  models
    .command("list")
    .description(
      "Show the stand-in table and the models cached in $HALO_HOME/models (default ~/.halo/models)",
    )
    .action(async () => runList(io));
  models
    .command("synth")
    .description("Synthesize a stand-in model into the cache (or --out file)")
    .argument(
      "<name>",
      "model name, e.g. Qwen/Qwen3-14B or any name with a parameter count like org/model-7B",
    )
    .option("--params <count>", "parameter count such as 14M (default: the stand-in size of <name>)")
    .option("--seed <n>", "seed of the random weights", "1")
    .option("--format <format>", `weight format: ${synthesizedWeightFormats.join(" or ")}`, "q8_0")
    .option("--out <file>", "write to this file instead of the cache")
    .action(async (name: string, options: SynthOptions) => runSynth(name, options, io));
};
