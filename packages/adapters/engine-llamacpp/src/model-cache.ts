import { createHash } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  type SynthesisSpec,
  type SynthesizedModel,
  synthesisFormatVersion,
  synthesizeModel,
} from "./model-synthesizer.js";
import { formatParameterCount, synthesizedContextLength } from "./stand-in-models.js";

/** Halo's home folder: `HALO_HOME`, else `~/.halo`. */
export function resolveHaloHome(environment: NodeJS.ProcessEnv = process.env): string {
  const configured = environment["HALO_HOME"];
  return configured !== undefined && configured.trim() !== "" ? configured : join(homedir(), ".halo");
}

/** Folder of synthesized models inside a Halo home. */
export function modelCacheDirectory(haloHome: string): string {
  return join(haloHome, "models");
}

/**
 * File name of a synthesized model: name, size, seed, format, context (when not the
 * default 4096) and recipe version, so a changed recipe or context never reuses stale
 * files. A short hash of the name is added when
 * making it file-safe lost information (two names must not share a file).
 */
export function synthesizedModelFileName(spec: SynthesisSpec): string {
  const safeName = spec.name.replaceAll("/", "--").replace(/[^A-Za-z0-9._-]/g, "_");
  const lossless = /^[A-Za-z0-9._/-]+$/.test(spec.name) && !spec.name.includes("--");
  const nameHash = lossless ? "" : `-${createHash("sha256").update(spec.name).digest("hex").slice(0, 8)}`;
  const template =
    spec.chatTemplate === undefined
      ? ""
      : `-chat${createHash("sha256").update(spec.chatTemplate).digest("hex").slice(0, 8)}`;
  // The default context keeps the names files had before contexts were configurable.
  const context =
    spec.contextLength === undefined || spec.contextLength === synthesizedContextLength
      ? ""
      : `-ctx${spec.contextLength}`;
  return `${safeName}${nameHash}-${formatParameterCount(spec.parameterCount)}-seed${spec.seed}-${spec.format}${context}${template}-v${synthesisFormatVersion}.gguf`;
}

/** A synthesized model resolved to its cache file. */
export interface CachedModelFile {
  readonly path: string;
  /** True when this call wrote the file (first use). */
  readonly created: boolean;
  readonly synthesized?: SynthesizedModel;
}

const inFlight = new Map<string, Promise<CachedModelFile>>();

/**
 * The cache file of `spec`, synthesized on first use. Concurrent calls in one process
 * share the work; concurrent processes may both write, but each renames a complete
 * file into place (identical bytes), so readers never see a partial model.
 */
export async function ensureSynthesizedModel(
  spec: SynthesisSpec,
  haloHome: string,
): Promise<CachedModelFile> {
  const path = join(modelCacheDirectory(haloHome), synthesizedModelFileName(spec));
  const pending = inFlight.get(path);
  if (pending) return pending;
  const work = (async (): Promise<CachedModelFile> => {
    if (await isFile(path)) return { path, created: false };
    const synthesized = await synthesizeModel(spec, path);
    return { path, created: true, synthesized };
  })();
  inFlight.set(path, work);
  try {
    return await work;
  } finally {
    inFlight.delete(path);
  }
}

/** A file in the model cache. */
export interface CacheEntry {
  readonly fileName: string;
  readonly path: string;
  readonly bytes: number;
}

/** The synthesized models present in a Halo home's cache (no temporary files). */
export async function listCachedModels(haloHome: string): Promise<CacheEntry[]> {
  const directory = modelCacheDirectory(haloHome);
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const entries: CacheEntry[] = [];
  for (const fileName of names.filter((name) => name.endsWith(".gguf")).sort()) {
    const path = join(directory, fileName);
    const info = await stat(path);
    if (info.isFile()) entries.push({ fileName, path, bytes: info.size });
  }
  return entries;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
