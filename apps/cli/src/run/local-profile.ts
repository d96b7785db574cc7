/**
 * The device profile `halo run` plans local llama.cpp sidecars with: measured
 * once by a quick `halo profile` against the sidecars just started (a few
 * seconds per model) and cached in `$HALO_HOME/profiles/`, keyed by the
 * engine, its threads, its context size, the host's CPU, the stand-ins' synthesis
 * recipe and the model map. Models the cached profile lacks (or has without a
 * structured decode figure, measured since) are measured and added. Delete
 * the file (or pass `--profile`) to measure again, e.g. after measuring on a
 * busy machine.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { resolveHaloHome, synthesisFormatVersion } from "@halo/engine-llamacpp";
import { type DeviceProfile, parseDeviceProfile } from "@halo/profiles";
import { createExecutorClient } from "@halo/protocol";
import { measureDeviceProfile } from "@halo/runtime";
import { localSetupDigest } from "./local-models.js";

/** Options of `localDeviceProfile`. */
export interface LocalProfileOptions {
  readonly addresses: readonly string[];
  readonly threads: number;
  readonly modelsPath?: string;
  readonly models: readonly string[];
  /** The sidecars' `--context-size`: it sets the context the profile records, so it keys the cache. */
  readonly contextSize?: number;
  readonly onProgress: (message: string) => void;
}

/** Where the profile of this setup is cached. */
export async function localProfilePath(
  threads: number,
  modelsPath: string | undefined,
  contextSize?: number,
): Promise<string> {
  // The synthesis recipe decides the stand-ins' shapes: a new recipe needs a new profile.
  const cpu = `${cpus()[0]?.model ?? "cpu"} × ${cpus().length}, stand-ins v${synthesisFormatVersion}`;
  const digest = await localSetupDigest(modelsPath, cpu);
  // The context is part of the profile (the longest prompt a worker takes), so it names the file.
  const context = contextSize === undefined ? "" : `-ctx${contextSize}`;
  return join(resolveHaloHome(), "profiles", `llamacpp-${threads}t${context}-${digest}.json`);
}

/** The cached profile, completed by measuring the models it lacks. */
export async function localDeviceProfile(
  options: LocalProfileOptions,
): Promise<{ profile: DeviceProfile; path: string; measured: readonly string[] }> {
  const path = await localProfilePath(options.threads, options.modelsPath, options.contextSize);
  let cached: DeviceProfile | undefined;
  try {
    cached = parseDeviceProfile(JSON.parse(await readFile(path, "utf8")), path);
  } catch {
    // Missing or unreadable: measured again below.
  }
  // A model profiled before structured (JSON-schema) decode was measured is measured again.
  const missing = options.models.filter(
    (model) =>
      !cached || !Object.hasOwn(cached.models, model) || cached.models[model]!.structuredDecode === undefined,
  );
  if (cached && missing.length === 0) return { profile: cached, path, measured: [] };
  options.onProgress(`measuring a device profile of ${missing.join(", ")} (first use; cached in ${path})`);
  const clients = options.addresses.map((address) => createExecutorClient(address));
  try {
    const { profile } = await measureDeviceProfile(clients, {
      models: missing,
      quick: true,
      device: `llama.cpp CPU, ${options.threads} thread${options.threads === 1 ? "" : "s"} per executor (${cpus()[0]?.model ?? "cpu"})`,
      onProgress: options.onProgress,
    });
    const merged: DeviceProfile = cached
      ? { ...profile, models: { ...cached.models, ...profile.models } }
      : profile;
    await mkdir(join(resolveHaloHome(), "profiles"), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(merged, null, 2)}\n`);
    await rename(temporary, path);
    return { profile: merged, path, measured: missing };
  } finally {
    for (const client of clients) client.close();
  }
}
