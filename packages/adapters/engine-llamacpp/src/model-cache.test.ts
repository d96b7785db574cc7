import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ensureSynthesizedModel,
  listCachedModels,
  modelCacheDirectory,
  resolveHaloHome,
  synthesizedModelFileName,
} from "./model-cache.js";
import type { SynthesisSpec } from "./model-synthesizer.js";

const tinySpec: SynthesisSpec = { name: "halo/tiny", parameterCount: 2_000_000, seed: 1, format: "q8_0" };

let haloHome: string;

beforeAll(async () => {
  haloHome = await mkdtemp(join(tmpdir(), "halo-home-"));
});

afterAll(async () => {
  await rm(haloHome, { recursive: true, force: true });
});

describe("resolveHaloHome", () => {
  it("uses HALO_HOME, else ~/.halo", () => {
    expect(resolveHaloHome({ HALO_HOME: "/srv/halo" })).toBe("/srv/halo");
    expect(resolveHaloHome({ HALO_HOME: "  " })).toBe(join(homedir(), ".halo"));
    expect(resolveHaloHome({})).toBe(join(homedir(), ".halo"));
    expect(modelCacheDirectory("/srv/halo")).toBe(join("/srv/halo", "models"));
  });
});

describe("synthesizedModelFileName", () => {
  it("names name, size, seed, format and recipe version", () => {
    expect(synthesizedModelFileName(tinySpec)).toBe("halo--tiny-2M-seed1-q8_0-v2.gguf");
    expect(
      synthesizedModelFileName({ name: "Qwen/Qwen3-14B", parameterCount: 14e6, seed: 7, format: "f16" }),
    ).toBe("Qwen--Qwen3-14B-14M-seed7-f16-v2.gguf");
  });

  it("names a context other than the default, so files of another context are never reused", () => {
    expect(synthesizedModelFileName({ ...tinySpec, contextLength: 32_768 })).toBe(
      "halo--tiny-2M-seed1-q8_0-ctx32768-v2.gguf",
    );
    expect(synthesizedModelFileName({ ...tinySpec, contextLength: 4096 })).toBe(
      synthesizedModelFileName(tinySpec),
    );
  });

  it("adds a hash of the name when making it file-safe lost information", () => {
    const spaced = synthesizedModelFileName({ ...tinySpec, name: "my model" });
    const underscored = synthesizedModelFileName({ ...tinySpec, name: "my_model" });
    expect(spaced).toMatch(/^my_model-[0-9a-f]{8}-2M-seed1-q8_0-v2\.gguf$/);
    expect(underscored).toBe("my_model-2M-seed1-q8_0-v2.gguf");
    expect(synthesizedModelFileName({ ...tinySpec, name: "a--b" })).not.toBe(
      synthesizedModelFileName({ ...tinySpec, name: "a/b" }),
    );
  });
});

describe("ensureSynthesizedModel", () => {
  it("synthesizes on first use, once even for concurrent callers, and reuses the file after", async () => {
    const [first, second] = await Promise.all([
      ensureSynthesizedModel(tinySpec, haloHome),
      ensureSynthesizedModel(tinySpec, haloHome),
    ]);
    expect(first.path).toBe(join(haloHome, "models", "halo--tiny-2M-seed1-q8_0-v2.gguf"));
    expect(second).toBe(first);
    expect(first.created).toBe(true);
    const again = await ensureSynthesizedModel(tinySpec, haloHome);
    expect(again).toEqual({ path: first.path, created: false });
    expect((await readdir(join(haloHome, "models"))).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("lists cached models and ignores temporary files", async () => {
    await ensureSynthesizedModel(tinySpec, haloHome);
    await writeFile(join(haloHome, "models", "halo--tiny-2M-seed9-q8_0-v2.gguf.123.abcd.tmp"), "partial");
    const listed = await listCachedModels(haloHome);
    expect(listed.map((entry) => entry.fileName)).toEqual(["halo--tiny-2M-seed1-q8_0-v2.gguf"]);
    expect(listed[0]!.bytes).toBeGreaterThan(2_000_000);
    expect(await listCachedModels(join(haloHome, "missing"))).toEqual([]);
  });
});
