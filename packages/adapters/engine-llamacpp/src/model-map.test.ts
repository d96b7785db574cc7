import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loadModelMap,
  ModelMapError,
  parseModelMap,
  resolveModelSource,
  standInContextFor,
  standInSource,
} from "./model-map.js";

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-model-map-"));
  await writeFile(join(directory, "real.gguf"), "GGUF");
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function issuesOf(action: () => unknown): string[] {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ModelMapError);
    return [...(error as ModelMapError).issues];
  }
  throw new Error("expected a ModelMapError");
}

describe("parseModelMap", () => {
  it("reads gguf and synth entries with defaults", () => {
    const map = parseModelMap(
      [
        "models:",
        '  "Qwen/Qwen3-14B": { synth: { params: 14M, seed: 3, format: f16 } }',
        '  "Qwen/Qwen3-32B": { synth: {} }',
        '  "local/model": { synth: { params: 5000000 } }',
        '  "org/real": { gguf: weights/real.gguf }',
      ].join("\n"),
      "models.yaml",
      "/deploy",
    );
    expect(map.models.get("Qwen/Qwen3-14B")).toEqual({
      kind: "synthesized",
      spec: { name: "Qwen/Qwen3-14B", parameterCount: 14_000_000, seed: 3, format: "f16" },
    });
    expect(map.models.get("Qwen/Qwen3-32B")).toEqual({
      kind: "synthesized",
      spec: { name: "Qwen/Qwen3-32B", parameterCount: 32_000_000, seed: 1, format: "q8_0" },
    });
    expect(map.models.get("local/model")).toMatchObject({ spec: { parameterCount: 5_000_000 } });
    expect(map.models.get("org/real")).toEqual({ kind: "gguf", path: "/deploy/weights/real.gguf" });
  });

  it("names the file and YAML path of every problem", () => {
    const issues = issuesOf(() =>
      parseModelMap(
        [
          "models:",
          '  "a/b": { synth: { params: lots } }',
          '  "c/d": { synth: { format: q4_0 } }',
          '  "e/f": { gguf: x.gguf, synth: {} }',
          '  "g/h": { wrong: 1 }',
        ].join("\n"),
        "deploy/models.yaml",
        "/deploy",
      ),
    );
    expect(issues.some((issue) => issue.startsWith('deploy/models.yaml: models["c/d"].synth.format:'))).toBe(
      true,
    );
    expect(issues.some((issue) => issue.startsWith('deploy/models.yaml: models["e/f"]:'))).toBe(true);
    expect(issues.some((issue) => issue.startsWith('deploy/models.yaml: models["g/h"]:'))).toBe(true);
  });

  it("checks parameter counts after the schema", () => {
    const issues = issuesOf(() =>
      parseModelMap(
        [
          "models:",
          '  "a/b": { synth: { params: lots } }',
          '  "custom": { synth: {} }',
          '  "x/y": { synth: { params: 1K } }',
        ].join("\n"),
        "m.yaml",
        "/",
      ),
    );
    expect(issues).toEqual([
      'm.yaml: models["a/b"].synth.params: expected a parameter count such as 14M or 1.5B (got "lots")',
      'm.yaml: models.custom.synth.params: required, since the name "custom" carries no parameter count',
      'm.yaml: models["x/y"].synth.params: a synthesized model needs at least 2M parameters (got 1000)',
    ]);
  });

  it("reads synth.context, rounded up to a multiple of 4096", () => {
    const map = parseModelMap(
      [
        "models:",
        '  "Qwen/Qwen3-14B": { synth: { context: 32768 } }',
        '  "Qwen/Qwen3-32B": { synth: { context: 20000 } }',
        '  "openai/gpt-oss-20b": { synth: { context: 100 } }',
      ].join("\n"),
      "m.yaml",
      "/",
    );
    expect(map.models.get("Qwen/Qwen3-14B")).toMatchObject({ spec: { contextLength: 32_768 } });
    expect(map.models.get("Qwen/Qwen3-32B")).toMatchObject({ spec: { contextLength: 20_480 } });
    expect(map.models.get("openai/gpt-oss-20b")).toMatchObject({ spec: { contextLength: 4096 } });
  });

  it("names a bad synth.context by its YAML path", () => {
    const issues = issuesOf(() =>
      parseModelMap(
        [
          "models:",
          '  "a/b-7B": { synth: { context: 200000 } }',
          '  "c/d-7B": { synth: { context: 1.5 } }',
          '  "e/f-7B": { synth: { context: "long" } }',
        ].join("\n"),
        "m.yaml",
        "/",
      ),
    );
    expect(issues.some((issue) => issue.startsWith('m.yaml: models["c/d-7B"].synth.context:'))).toBe(true);
    expect(issues.some((issue) => issue.startsWith('m.yaml: models["e/f-7B"].synth.context:'))).toBe(true);
    // Range problems are checked after the schema, like parameter counts.
    expect(
      issuesOf(() => parseModelMap('models:\n  "a/b-7B": { synth: { context: 200000 } }\n', "m.yaml", "/")),
    ).toEqual([
      'm.yaml: models["a/b-7B"].synth.context: a synthesized model\'s context can be at most 131072 tokens (got 200000)',
    ]);
  });

  it("reports YAML syntax errors and a missing models key", () => {
    expect(issuesOf(() => parseModelMap("models: [unclosed", "bad.yaml", "/"))[0]).toMatch(/^bad\.yaml: /);
    expect(issuesOf(() => parseModelMap("other: 1", "m.yaml", "/"))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^m\.yaml: models: /)]),
    );
  });
});

describe("loadModelMap", () => {
  it("resolves GGUF paths against the map file and checks they exist", async () => {
    const path = join(directory, "models.yaml");
    await writeFile(path, 'models:\n  "org/real": { gguf: real.gguf }\n');
    const map = await loadModelMap(path);
    expect(map.sourcePath).toBe(path);
    expect(map.models.get("org/real")).toEqual({ kind: "gguf", path: join(directory, "real.gguf") });

    const missing = join(directory, "missing.yaml");
    await writeFile(missing, 'models:\n  "org/gone": { gguf: gone.gguf }\n');
    await expect(loadModelMap(missing)).rejects.toThrow(/models\["org\/gone"\]\.gguf: file not found/);
  });

  it("names a map file that cannot be read", async () => {
    await expect(loadModelMap(join(directory, "nope.yaml"))).rejects.toThrow(/nope\.yaml: file not found/);
  });
});

describe("resolveModelSource", () => {
  it("prefers the map, then the stand-in, else nothing", () => {
    const map = parseModelMap('models:\n  "Qwen/Qwen3-14B": { synth: { seed: 9 } }\n', "m.yaml", "/");
    expect(resolveModelSource("Qwen/Qwen3-14B", map)).toMatchObject({ spec: { seed: 9 } });
    expect(resolveModelSource("Qwen/Qwen3-32B", map)).toEqual(standInSource("Qwen/Qwen3-32B"));
    expect(resolveModelSource("meta/Llama-3-8B")).toMatchObject({
      spec: { parameterCount: 8_000_000, seed: 1 },
    });
    expect(resolveModelSource("gpt-4o", map)).toBeUndefined();
  });

  it("gives stand-ins a context that holds the engine's context size", () => {
    expect(standInContextFor(undefined)).toBeUndefined();
    expect(standInContextFor(2048)).toBeUndefined();
    expect(standInContextFor(4096)).toBeUndefined();
    expect(standInContextFor(4097)).toBe(8192);
    expect(standInContextFor(32_768)).toBe(32_768);
    expect(standInContextFor(1_000_000)).toBe(131_072);

    expect(resolveModelSource("Qwen/Qwen3-32B", undefined, 2048)).toEqual(standInSource("Qwen/Qwen3-32B"));
    expect(resolveModelSource("Qwen/Qwen3-32B", undefined, 30_000)).toMatchObject({
      kind: "synthesized",
      spec: { name: "Qwen/Qwen3-32B", parameterCount: 32_000_000, contextLength: 32_768 },
    });
    expect(standInSource("Qwen/Qwen3-32B", 30_000)).toEqual(
      resolveModelSource("Qwen/Qwen3-32B", undefined, 30_000),
    );
  });

  it("extends map stand-ins without a context, keeps an entry's own context and leaves GGUF files alone", () => {
    const map = parseModelMap(
      [
        "models:",
        '  "Qwen/Qwen3-14B": { synth: { seed: 9 } }',
        '  "Qwen/Qwen3-32B": { synth: { context: 8192 } }',
        '  "org/real": { gguf: real.gguf }',
      ].join("\n"),
      "m.yaml",
      "/deploy",
    );
    expect(resolveModelSource("Qwen/Qwen3-14B", map, 32_768)).toMatchObject({
      spec: { seed: 9, contextLength: 32_768 },
    });
    expect(resolveModelSource("Qwen/Qwen3-32B", map, 32_768)).toMatchObject({
      spec: { contextLength: 8192 },
    });
    expect(resolveModelSource("org/real", map, 32_768)).toEqual({ kind: "gguf", path: "/deploy/real.gguf" });
    // The map itself is not changed.
    expect(map.models.get("Qwen/Qwen3-14B")).not.toHaveProperty("spec.contextLength");
  });
});
