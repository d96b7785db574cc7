import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { groundTruthDevice, H100_SIMULATED_PROFILE } from "@halo/profiles";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../cli-error.js";
import {
  checkDevicesHoldModels,
  deviceCount,
  executorDevices,
  formatDevices,
  measuredSimProfiles,
  modelsDeviceHolds,
  parseDevices,
  simProfilePath,
} from "./sim-profile.js";

let directory: string;
const previousHome = process.env["HALO_HOME"];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-sim-profile-"));
  process.env["HALO_HOME"] = directory;
});

afterAll(async () => {
  if (previousHome === undefined) delete process.env["HALO_HOME"];
  else process.env["HALO_HOME"] = previousHome;
  await rm(directory, { recursive: true, force: true });
});

const MODELS = ["Qwen/Qwen3-14B", "openai/gpt-oss-20b", "Qwen/Qwen3-32B"];

describe("--devices", () => {
  it("parses device:count lists in order, merging repeats; a bare device is one", () => {
    const groups = parseDevices("h100:2, A100:2,l40s,h100:1");
    expect(groups).toEqual([
      { device: "h100", count: 3 },
      { device: "a100", count: 2 },
      { device: "l40s", count: 1 },
    ]);
    expect(deviceCount(groups)).toBe(6);
    expect(formatDevices(groups)).toBe("h100:3,a100:2,l40s:1");
    expect(executorDevices(parseDevices("h100:2,a100:1"))).toEqual(["h100", "h100", "a100"]);
  });

  it.each([
    ["", "expected device:count"],
    ["tpu:2", '"tpu:2": unknown device "tpu" (known: h100, a100, l40s)'],
    ["h100:0", '"h100:0": the count must be an integer >= 1'],
    ["h100:-1", '"h100:-1" is not device:count'],
    ["h100:2:3", '"h100:2:3" is not device:count'],
    ["h100:65", "names 65 devices; at most 64"],
  ])("refuses %j as invalid input naming the part", (spec, message) => {
    expect(() => parseDevices(spec)).toThrow(InvalidInputError);
    expect(() => parseDevices(spec)).toThrow(message);
  });

  it("lets a device serve the models it holds, and refuses a model no device holds, naming it", () => {
    expect(() => checkDevicesHoldModels(parseDevices("h100:2,a100:1"), MODELS)).not.toThrow();
    // An L40S cannot hold Qwen3-32B in BF16: mixed with an H100 it serves the other models.
    expect(checkDevicesHoldModels(parseDevices("h100:1,l40s:2"), MODELS)).toEqual([
      MODELS,
      MODELS.slice(0, 2),
      MODELS.slice(0, 2),
    ]);
    expect(modelsDeviceHolds("l40s", MODELS)).toEqual(MODELS.filter((model) => model !== "Qwen/Qwen3-32B"));
    expect(modelsDeviceHolds("h100", MODELS)).toEqual(MODELS);
    expect(() => checkDevicesHoldModels(parseDevices("l40s:2"), MODELS)).toThrow(
      /no device can hold Qwen\/Qwen3-32B: 65\.6 GB of weights; l40s has 44\.2 GB for weights and KV/,
    );
    expect(() => checkDevicesHoldModels(parseDevices("l40s:1"), ["Qwen/Qwen3-32B"])).toThrow(
      /l40s can hold none of the models \(Qwen\/Qwen3-32B\)/,
    );
    expect(() => checkDevicesHoldModels(parseDevices("h100"), ["Qwen/Qwen3-8B"])).toThrow(
      /knows no model "Qwen\/Qwen3-8B"/,
    );
  });
});

describe("planning profiles of simulated devices", () => {
  it("keys the cache by the hidden truth, the models and the noise", () => {
    const h100 = groundTruthDevice("h100");
    const path = simProfilePath(h100, MODELS, 0.03);
    expect(path).toMatch(/profiles[/\\]sim-h100-[0-9a-f]{16}\.json$/);
    expect(simProfilePath(h100, [...MODELS].reverse(), 0.03)).toBe(path);
    expect(simProfilePath(h100, MODELS, 0)).not.toBe(path);
    expect(simProfilePath(h100, MODELS.slice(0, 2), 0.03)).not.toBe(path);
    expect(simProfilePath(groundTruthDevice("a100"), MODELS, 0.03)).not.toBe(path);
  });

  it("hands the planner the cached measured profile, never the ground truth", async () => {
    const h100 = groundTruthDevice("h100");
    const path = simProfilePath(h100, MODELS, 0.03);
    await mkdir(join(directory, "profiles"), { recursive: true });
    // A stand-in for what halo profile measured earlier: the planner gets exactly this file's profile.
    const measured = {
      ...H100_SIMULATED_PROFILE,
      device: "H100-SXM5-80GB (simulated; measured by halo profile)",
    };
    await writeFile(path, JSON.stringify(measured));
    const messages: string[] = [];
    const profiles = await measuredSimProfiles(parseDevices("h100:2"), {
      models: MODELS,
      noise: 0.03,
      noiseSeed: 1,
      onProgress: (message) => messages.push(message),
    });
    expect(messages).toEqual([]);
    const profile = profiles.get("h100")!.profile;
    expect(profile).toEqual(measured);
    expect(profiles.get("h100")!.path).toBe(path);
    // A device profile (linear costs), not the truth's roofline document.
    expect(profile).not.toHaveProperty("truthVersion");
    expect(profile).not.toHaveProperty("maxNumBatchedTokens");
  });
});
