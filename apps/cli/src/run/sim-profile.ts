/**
 * Simulated devices with a hidden ground truth (`--engine sim --devices
 * h100:2,a100:2`): the sidecars replay each device's ground truth
 * (`@halo/profiles` `groundTruthDevice`), and the planner gets what
 * `halo profile` measures against such a sidecar — never the truth itself —
 * as on a real cluster. Measured profiles are cached in
 * `$HALO_HOME/profiles/sim-<device>-<digest>.json`, keyed by the truth, the
 * models, the noise and the profiler; delete the file to measure again.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { resolveHaloHome } from "@halo/engine-llamacpp";
import {
  type DeviceProfile,
  engineMemoryBytes,
  GROUND_TRUTH_DEVICE_IDS,
  type GroundTruthDevice,
  groundTruthDevice,
  parseDeviceProfile,
} from "@halo/profiles";
import { createExecutorClient } from "@halo/protocol";
import { measureDeviceProfile } from "@halo/runtime";
import { InvalidInputError } from "../cli-error.js";
import { type LocalExecutorOptions, type LocalExecutors, startLocalExecutors } from "./local-executors.js";

/** One group of `--devices`: a ground-truth device and how many of it. */
export interface DeviceGroup {
  readonly device: string;
  readonly count: number;
}

/** Bumped when the measurement changes: cached profiles of other versions are measured again. */
const SIM_PROFILE_VERSION = 2;
const MAX_DEVICES = 64;

/** Parses `h100:2,a100:2` (a bare `h100` is one); bad specs are invalid input naming the part. */
export function parseDevices(spec: string, flag = "--devices"): DeviceGroup[] {
  const parts = spec
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  if (parts.length === 0) {
    throw new InvalidInputError(`${flag}: expected device:count,… (e.g. h100:2,a100:2), got "${spec}"`);
  }
  const groups: DeviceGroup[] = [];
  for (const part of parts) {
    const match = /^([A-Za-z0-9]+)(?::(\d+))?$/.exec(part);
    if (!match) {
      throw new InvalidInputError(`${flag}: "${part}" is not device:count (e.g. h100:2)`);
    }
    const device = match[1]!.toLowerCase();
    if (!GROUND_TRUTH_DEVICE_IDS.includes(device)) {
      throw new InvalidInputError(
        `${flag}: "${part}": unknown device "${match[1]}" (known: ${GROUND_TRUTH_DEVICE_IDS.join(", ")})`,
      );
    }
    const count = match[2] === undefined ? 1 : Number(match[2]);
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new InvalidInputError(`${flag}: "${part}": the count must be an integer >= 1`);
    }
    const existing = groups.findIndex((group) => group.device === device);
    if (existing >= 0) groups[existing] = { device, count: groups[existing]!.count + count };
    else groups.push({ device, count });
  }
  const total = deviceCount(groups);
  if (total > MAX_DEVICES) {
    throw new InvalidInputError(`${flag}: "${spec}" names ${total} devices; at most ${MAX_DEVICES}`);
  }
  return groups;
}

/** Devices in all groups. */
export function deviceCount(groups: readonly DeviceGroup[]): number {
  return groups.reduce((total, group) => total + group.count, 0);
}

/** The normal form of a device list (`h100:2,a100:2`). */
export function formatDevices(groups: readonly DeviceGroup[]): string {
  return groups.map((group) => `${group.device}:${group.count}`).join(",");
}

/** Each executor's device, in executor order (groups in the order given). */
export function executorDevices(groups: readonly DeviceGroup[]): string[] {
  return groups.flatMap((group) => Array.from({ length: group.count }, () => group.device));
}

/** The models of `models` whose weights fit the device's memory for weights and KV, in the given order. */
export function modelsDeviceHolds(device: string, models: readonly string[]): string[] {
  const truth = groundTruthDevice(device);
  return models.filter((model) => {
    const entry = truth.models[model];
    return entry !== undefined && entry.weightsBytes <= engineMemoryBytes(truth);
  });
}

/**
 * Checks that the devices can serve the models — every device knows every
 * model, every model fits on some device, every device holds some model — and
 * returns, per executor (`executorDevices` order), the models it serves. A
 * device too small for a model (Qwen3-32B in BF16 on an L40S) serves the
 * others: its executor does not list that model, its measured profile does not
 * either, and planning workers restricted to these lists never get it.
 */
export function checkDevicesHoldModels(
  groups: readonly DeviceGroup[],
  models: readonly string[],
): string[][] {
  const held = groups.map((group) => {
    const truth = groundTruthDevice(group.device);
    const unknown = models.find((model) => !truth.models[model]);
    if (unknown !== undefined) {
      throw new InvalidInputError(
        `--devices: the simulated ${group.device} knows no model "${unknown}" (it has ${Object.keys(truth.models).join(", ")})`,
      );
    }
    const holds = modelsDeviceHolds(group.device, models);
    if (holds.length === 0) {
      throw new InvalidInputError(
        `--devices: ${group.device} can hold none of the models (${models.join(", ")}): ` +
          `${(engineMemoryBytes(truth) / 1e9).toFixed(1)} GB for weights and KV`,
      );
    }
    return holds;
  });
  const homeless = models.find((model) => !held.some((holds) => holds.includes(model)));
  if (homeless !== undefined) {
    const weights = groundTruthDevice(groups[0]!.device).models[homeless]!.weightsBytes;
    const memories = groups.map(
      (group) =>
        `${group.device} has ${(engineMemoryBytes(groundTruthDevice(group.device)) / 1e9).toFixed(1)} GB for weights and KV`,
    );
    throw new InvalidInputError(
      `--devices: no device can hold ${homeless}: ${(weights / 1e9).toFixed(1)} GB of weights; ${memories.join(", ")}`,
    );
  }
  return groups.flatMap((group, index) => Array.from({ length: group.count }, () => held[index]!));
}

/** How the simulated executors run (besides their device). */
export type SimExecutorOptions = Omit<
  LocalExecutorOptions,
  "count" | "engine" | "truth" | "profile" | "noiseSeed"
> & {
  readonly noise: number;
  readonly noiseSeed: number;
};

/**
 * Starts one sidecar per device, in the groups' order, each replaying its
 * device's ground truth with its own noise seed (seed + executor index).
 * If one fails to start, the others are stopped.
 */
export async function startSimDevices(
  groups: readonly DeviceGroup[],
  options: SimExecutorOptions,
): Promise<LocalExecutors> {
  const devices = executorDevices(groups);
  const started = await Promise.allSettled(
    devices.map((device, index) =>
      startLocalExecutors({
        ...options,
        count: 1,
        engine: "sim",
        truth: device,
        noiseSeed: options.noiseSeed + index,
        // A device serves the models it can hold (checkDevicesHoldModels leaves each model one).
        ...(options.serve === undefined ? {} : { serve: modelsDeviceHolds(device, options.serve) }),
      }),
    ),
  );
  const running = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const stop = async (graceMs?: number) => {
    await Promise.all(running.map((executors) => executors.stop(graceMs)));
  };
  const failure = started.find((result) => result.status === "rejected");
  if (failure) {
    await stop(1_000);
    throw (failure as PromiseRejectedResult).reason;
  }
  return {
    addresses: running.flatMap((executors) => executors.addresses),
    ...(options.openai
      ? { openaiBaseUrls: running.flatMap((executors) => executors.openaiBaseUrls ?? []) }
      : {}),
    pids: running.flatMap((executors) => executors.pids),
    stop,
  };
}

/** Where the measured profile of a device, models and noise is cached. */
export function simProfilePath(truth: GroundTruthDevice, models: readonly string[], noise: number): string {
  const digest = createHash("sha256")
    .update(JSON.stringify({ version: SIM_PROFILE_VERSION, truth, models: [...models].sort(), noise }))
    .digest("hex")
    .slice(0, 16);
  return join(resolveHaloHome(), "profiles", `sim-${truth.id}-${digest}.json`);
}

/** Options of `measuredSimProfiles`. */
export interface SimProfileOptions {
  readonly models: readonly string[];
  readonly noise: number;
  readonly noiseSeed: number;
  readonly onProgress: (message: string) => void;
}

/**
 * The planning profile of each device of the groups: cached, or measured by
 * `halo profile` (full measurement) against a sidecar of that device started
 * for it, on an unscaled clock (time scale 0: figures are device time).
 */
export async function measuredSimProfiles(
  groups: readonly DeviceGroup[],
  options: SimProfileOptions,
): Promise<Map<string, { readonly profile: DeviceProfile; readonly path: string }>> {
  const profiles = new Map<string, { profile: DeviceProfile; path: string }>();
  for (const { device } of groups) {
    if (profiles.has(device)) continue;
    const truth = groundTruthDevice(device);
    // Only the models the device can hold: its profile lists no other, so none is planned there.
    const models = modelsDeviceHolds(device, options.models);
    const path = simProfilePath(truth, models, options.noise);
    let cached: DeviceProfile | undefined;
    try {
      cached = parseDeviceProfile(JSON.parse(await readFile(path, "utf8")), path);
    } catch {
      // Missing or unreadable: measured below.
    }
    if (cached) {
      profiles.set(device, { profile: cached, path });
      continue;
    }
    options.onProgress(
      `measuring a profile of the simulated ${device} with halo profile (cached in ${path})`,
    );
    const executors = await startLocalExecutors({
      count: 1,
      engine: "sim",
      threads: 1,
      truth: device,
      timeScale: 0,
      noise: options.noise,
      noiseSeed: options.noiseSeed,
      serve: models,
      maxLoadedModels: 1,
    });
    const clients = executors.addresses.map((address) => createExecutorClient(address));
    try {
      const { profile } = await measureDeviceProfile(clients, {
        models,
        device: `${truth.device.replace(" (simulated ground truth)", "")} (simulated; measured by halo profile)`,
        onProgress: options.onProgress,
      });
      await mkdir(join(resolveHaloHome(), "profiles"), { recursive: true });
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(profile, null, 2)}\n`);
      await rename(temporary, path);
      profiles.set(device, { profile, path });
    } finally {
      for (const client of clients) client.close();
      await executors.stop();
    }
  }
  return profiles;
}
