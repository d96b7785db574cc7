/**
 * The models local llama.cpp sidecars will serve: every model the workflow
 * names must resolve (model map entry or stand-in), and synthesized stand-ins
 * are written once here, before the sidecars start, so that two sidecars never
 * synthesize the same file at the same time.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  ensureSynthesizedModel,
  loadModelMap,
  type ModelMap,
  ModelMapError,
  resolveHaloHome,
  resolveModelSource,
} from "@halo/engine-llamacpp";
import { InvalidInputError } from "../cli-error.js";

/** Reads `--models` (if any); invalid maps are invalid input naming the flag. */
export async function readModelMap(modelsPath: string | undefined): Promise<ModelMap | undefined> {
  if (modelsPath === undefined) return undefined;
  try {
    return await loadModelMap(modelsPath);
  } catch (error) {
    if (error instanceof ModelMapError) throw new InvalidInputError(`--models: ${error.message}`);
    throw new InvalidInputError(`--models: cannot read ${modelsPath}: ${(error as Error).message}`);
  }
}

/**
 * Checks every model resolves and synthesizes the missing stand-ins (with a trained
 * context that holds `contextSize`, as the sidecars will ask for); `onSynthesize`
 * reports each one written.
 */
export async function prepareLocalModels(
  models: readonly string[],
  modelMap: ModelMap | undefined,
  onSynthesize: (model: string) => void,
  contextSize?: number,
): Promise<void> {
  const unknown = models.filter((model) => resolveModelSource(model, modelMap, contextSize) === undefined);
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `no model serves ${unknown.map((model) => `"${model}"`).join(", ")}: not in the model map (--models) and no parameter count in the name (like -7B)`,
    );
  }
  const haloHome = resolveHaloHome();
  for (const model of models) {
    const source = resolveModelSource(model, modelMap, contextSize)!;
    if (source.kind !== "synthesized") continue;
    onSynthesize(model);
    await ensureSynthesizedModel(source.spec, haloHome);
  }
}

/** A digest of what decides local costs: the model map's content (sizes, files) and the host's CPU. */
export async function localSetupDigest(modelsPath: string | undefined, cpu: string): Promise<string> {
  const hash = createHash("sha256").update(cpu);
  if (modelsPath !== undefined) hash.update(await readFile(modelsPath));
  return hash.digest("hex").slice(0, 12);
}
