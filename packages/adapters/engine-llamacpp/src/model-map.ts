import { readFile, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { type SynthesisSpec, synthesizedWeightFormats } from "./model-synthesizer.js";
import {
  maxSynthesizedContextLength,
  parseParameterCount,
  planArchitecture,
  standInContextLength,
  standInParameterCount,
  synthesizedContextLength,
} from "./stand-in-models.js";

/** Where the weights of one model name come from. */
export type ModelSource =
  | {
      readonly kind: "gguf";
      readonly path: string;
      /** `auto` (default): render prompts with the file's chat template when it has one; `none`: raw text. */
      readonly chatTemplate?: "auto" | "none";
    }
  | { readonly kind: "synthesized"; readonly spec: SynthesisSpec };

/** Which GGUF (a file, or a synthesized stand-in) serves each model name. */
export interface ModelMap {
  /** The YAML file the map was read from, when it came from one. */
  readonly sourcePath?: string;
  readonly models: ReadonlyMap<string, ModelSource>;
}

/** Seed of stand-ins that no model map configures. */
export const defaultSynthesisSeed = 1;

/** An invalid model map; `issues` name the file and the YAML path of each problem. */
export class ModelMapError extends Error {
  constructor(
    message: string,
    readonly issues: readonly string[],
  ) {
    super(message);
    this.name = "ModelMapError";
  }
}

const synthesisSchema = z
  .object({
    params: z.union([z.string(), z.number()]).optional(),
    seed: z.number().int().nonnegative().optional(),
    format: z.enum(synthesizedWeightFormats).optional(),
    context: z.number().int("must be an integer number of tokens").positive().optional(),
  })
  .strict();

// One object with optional keys (not a union) so errors point at the exact key.
const entrySchema = z
  .object({
    gguf: z.string().min(1, "must name a GGUF file").optional(),
    chatTemplate: z.enum(["auto", "none"]).optional(),
    synth: synthesisSchema.optional(),
  })
  .strict()
  .refine((entry) => (entry.gguf === undefined) !== (entry.synth === undefined), {
    message: "needs exactly one of `gguf: <file>` or `synth: {params, seed, format, context}`",
  })
  .refine((entry) => entry.chatTemplate === undefined || entry.gguf !== undefined, {
    message: "chatTemplate applies to `gguf` files only (stand-ins have no template)",
    path: ["chatTemplate"],
  });

const modelMapSchema = z
  .object({ models: z.record(z.string().min(1, "model names must not be empty"), entrySchema) })
  .strict();

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(root)";
  return path
    .map((segment, index) => {
      if (typeof segment === "number") return `[${segment}]`;
      const text = String(segment);
      const plain = /^[A-Za-z_][A-Za-z0-9_]*$/.test(text);
      if (plain) return index === 0 ? text : `.${text}`;
      return `[${JSON.stringify(text)}]`;
    })
    .join("");
}

/**
 * The trained context a stand-in needs so that sequences of `contextSize` tokens fit:
 * undefined (the default 4096) up to 4096, else rounded up to a multiple of 4096 and
 * capped at 131072 (the engine caps sequences at the model's context beyond that).
 */
export function standInContextFor(contextSize: number | undefined): number | undefined {
  if (contextSize === undefined || contextSize <= synthesizedContextLength) return undefined;
  return standInContextLength(Math.min(contextSize, maxSynthesizedContextLength));
}

/**
 * The stand-in served for `name` when no map entry configures it; `contextSize` (the
 * engine's tokens per sequence) makes its trained context at least that long.
 */
export function standInSource(name: string, contextSize?: number): ModelSource | undefined {
  const parameterCount = standInParameterCount(name);
  if (parameterCount === undefined) return undefined;
  const contextLength = standInContextFor(contextSize);
  return {
    kind: "synthesized",
    spec: {
      name,
      parameterCount,
      seed: defaultSynthesisSeed,
      format: "q8_0",
      ...(contextLength === undefined ? {} : { contextLength }),
    },
  };
}

/**
 * The source of `name`: its map entry, else the synthesized stand-in; undefined when
 * neither exists. With `contextSize`, a synthesized model whose entry sets no
 * `synth.context` is synthesized with a context that holds it (`standInContextFor`);
 * an entry's own `context` is kept as written.
 */
export function resolveModelSource(
  name: string,
  modelMap?: ModelMap,
  contextSize?: number,
): ModelSource | undefined {
  const entry = modelMap?.models.get(name);
  if (entry === undefined) return standInSource(name, contextSize);
  if (entry.kind !== "synthesized" || entry.spec.contextLength !== undefined) return entry;
  const contextLength = standInContextFor(contextSize);
  return contextLength === undefined
    ? entry
    : { kind: "synthesized", spec: { ...entry.spec, contextLength } };
}

/**
 * Parses and validates a model map document:
 * `models: { "<name>": { gguf: <path relative to the map file> } | { synth: { params, seed, format, context } } }`.
 * `where` names the file in error messages; relative GGUF paths resolve against `baseDirectory`.
 */
export function parseModelMap(text: string, where: string, baseDirectory: string): ModelMap {
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    const issues = document.errors.map((error) => `${where}: ${error.message.split("\n")[0]}`);
    throw new ModelMapError(`invalid model map ${where}:\n  ${issues.join("\n  ")}`, issues);
  }
  const result = modelMapSchema.safeParse(document.toJS());
  if (!result.success) {
    const issues = result.error.issues.map(
      (issue) => `${where}: ${formatPath(issue.path)}: ${issue.message}`,
    );
    throw new ModelMapError(`invalid model map ${where}:\n  ${issues.join("\n  ")}`, issues);
  }
  const issues: string[] = [];
  const models = new Map<string, ModelSource>();
  for (const [name, entry] of Object.entries(result.data.models)) {
    if (entry.gguf !== undefined) {
      models.set(name, {
        kind: "gguf",
        path: resolve(baseDirectory, entry.gguf),
        ...(entry.chatTemplate ? { chatTemplate: entry.chatTemplate } : {}),
      });
      continue;
    }
    const synth = entry.synth ?? {};
    const path = formatPath(["models", name, "synth"]);
    const requested = synth.params;
    const parameterCount =
      requested === undefined
        ? standInParameterCount(name)
        : typeof requested === "number"
          ? requested
          : parseParameterCount(requested);
    if (parameterCount === undefined) {
      issues.push(
        requested === undefined
          ? `${where}: ${path}.params: required, since the name "${name}" carries no parameter count`
          : `${where}: ${path}.params: expected a parameter count such as 14M or 1.5B (got ${JSON.stringify(requested)})`,
      );
      continue;
    }
    try {
      planArchitecture(parameterCount);
    } catch (error) {
      issues.push(`${where}: ${path}.params: ${(error as Error).message}`);
      continue;
    }
    let contextLength: number | undefined;
    if (synth.context !== undefined) {
      try {
        contextLength = standInContextLength(synth.context);
      } catch (error) {
        issues.push(`${where}: ${path}.context: ${(error as Error).message}`);
        continue;
      }
    }
    models.set(name, {
      kind: "synthesized",
      spec: {
        name,
        parameterCount,
        seed: synth.seed ?? defaultSynthesisSeed,
        format: synth.format ?? "q8_0",
        ...(contextLength === undefined ? {} : { contextLength }),
      },
    });
  }
  if (issues.length > 0)
    throw new ModelMapError(`invalid model map ${where}:\n  ${issues.join("\n  ")}`, issues);
  return { models };
}

/** Reads a model map YAML file; GGUF paths are relative to it and must exist. */
export async function loadModelMap(path: string): Promise<ModelMap> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message;
    throw new ModelMapError(`cannot read model map ${path}: ${reason}`, [`${path}: ${reason}`]);
  }
  const parsed = parseModelMap(text, path, dirname(resolve(path)));
  const issues: string[] = [];
  for (const [name, source] of parsed.models) {
    if (source.kind !== "gguf") continue;
    const isFile = await stat(source.path).then(
      (info) => info.isFile(),
      () => false,
    );
    if (!isFile)
      issues.push(`${path}: ${formatPath(["models", name, "gguf"])}: file not found: ${source.path}`);
  }
  if (issues.length > 0)
    throw new ModelMapError(`invalid model map ${path}:\n  ${issues.join("\n  ")}`, issues);
  return { sourcePath: resolve(path), models: parsed.models };
}
