import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SynthesisSpec, synthesizeModel, validateSynthesisSpec } from "./model-synthesizer.js";
import { countParameters, planArchitecture } from "./stand-in-models.js";

const tinySpec: SynthesisSpec = { name: "halo/tiny", parameterCount: 2_000_000, seed: 1, format: "q8_0" };

// SHA-256 of the tiny model at synthesis format version 2. When the recipe changes on
// purpose, bump `synthesisFormatVersion` (cache file names) and update this hash.
const tinyQ8Sha256 = "b3bcba8443850969ccbf81d5b994415dcf3c93b65ea73ea05f398ff1ed5c2779";

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-synth-"));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

describe("synthesizeModel", () => {
  it("is byte-for-byte reproducible from name, size, seed and format", async () => {
    const first = await synthesizeModel(tinySpec, join(directory, "a.gguf"));
    const second = await synthesizeModel(tinySpec, join(directory, "b.gguf"));
    expect(await sha256(first.path)).toBe(await sha256(second.path));
    expect(await sha256(first.path)).toBe(tinyQ8Sha256);
    expect(first.parameterCount).toBe(countParameters(planArchitecture(2_000_000)));
  });

  it("changes with the seed, the name and the format", async () => {
    const base = await sha256((await synthesizeModel(tinySpec, join(directory, "base.gguf"))).path);
    const reseeded = await synthesizeModel({ ...tinySpec, seed: 2 }, join(directory, "seed2.gguf"));
    const renamed = await synthesizeModel(
      { ...tinySpec, name: "halo/tiny-2" },
      join(directory, "renamed.gguf"),
    );
    const f16 = await synthesizeModel({ ...tinySpec, format: "f16" }, join(directory, "f16.gguf"));
    const hashes = new Set([
      base,
      await sha256(reseeded.path),
      await sha256(renamed.path),
      await sha256(f16.path),
    ]);
    expect(hashes.size).toBe(4);
    expect(f16.fileBytes).toBeGreaterThan(reseeded.fileBytes);
  });

  it("writes a longer context into the metadata and nothing else: the weights stay the same", async () => {
    const model = await synthesizeModel({ ...tinySpec, contextLength: 32_768 }, join(directory, "ctx.gguf"));
    const standard = await synthesizeModel(tinySpec, join(directory, "ctx-standard.gguf"));
    const [long, short] = await Promise.all(
      [model.path, standard.path].map((path) =>
        readGgufFileInfo(path, { sourceType: "filesystem", logWarnings: false }),
      ),
    );
    const contextOf = (info: typeof long) =>
      (info!.metadata as unknown as Record<string, Record<string, unknown>>)["llama"]!["context_length"];
    expect(contextOf(long)).toBe(32_768);
    expect(contextOf(short)).toBe(4096);
    expect(model.architecture).toEqual({ ...standard.architecture, contextLength: 32_768 });
    // Same tensors, byte for byte: only the header's context differs.
    const tail = async (path: string, bytes: number) => (await readFile(path)).subarray(-bytes);
    const tensorBytes = model.fileBytes - 1_000_000;
    expect(Buffer.compare(await tail(model.path, tensorBytes), await tail(standard.path, tensorBytes))).toBe(
      0,
    );
    expect(model.fileBytes).toBe(standard.fileBytes);
  });

  it("writes the LLaMA metadata and tensors llama.cpp needs", async () => {
    const model = await synthesizeModel(tinySpec, join(directory, "meta.gguf"));
    const info = await readGgufFileInfo(model.path, { sourceType: "filesystem", logWarnings: false });
    const metadata = info.metadata as unknown as Record<string, Record<string, unknown>>;
    const llama = metadata["llama"]!;
    expect(metadata["general"]).toMatchObject({ architecture: "llama", name: "halo/tiny", file_type: 7 });
    expect(llama["embedding_length"]).toBe(model.architecture.embeddingLength);
    expect(llama["block_count"]).toBe(model.architecture.blockCount);
    expect(llama["context_length"]).toBeGreaterThanOrEqual(2048);
    const tokenizer = metadata["tokenizer"]!["ggml"] as Record<string, unknown>;
    expect(tokenizer["model"]).toBe("llama");
    expect((tokenizer["tokens"] as string[]).length).toBe(32000);
    expect((tokenizer["token_type"] as number[]).slice(0, 4)).toEqual([2, 3, 3, 6]);
    const tensors = info.tensorInfo ?? [];
    const elements = tensors.reduce(
      (sum, tensor) => sum + tensor.dimensions.reduce((product: number, value) => product * Number(value), 1),
      0,
    );
    expect(elements).toBe(model.parameterCount);
    const names = tensors.map((tensor) => tensor.name);
    expect(names).toContain("token_embd.weight");
    expect(names).toContain("blk.1.ffn_down.weight");
    expect(names).not.toContain("output.weight");
  });

  it("leaves no temporary file behind, even when it fails", async () => {
    const failing = join(directory, "failing");
    await expect(
      synthesizeModel({ ...tinySpec, parameterCount: 5 }, join(failing, "x.gguf")),
    ).rejects.toThrow(RangeError);
    const listed = await readdir(directory);
    expect(listed.filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });
});

describe("validateSynthesisSpec", () => {
  it("names the bad field", () => {
    expect(() => validateSynthesisSpec({ ...tinySpec, name: " " })).toThrow(/model name/);
    expect(() => validateSynthesisSpec({ ...tinySpec, seed: -1 })).toThrow(/seed/);
    expect(() => validateSynthesisSpec({ ...tinySpec, seed: 1.5 })).toThrow(/seed/);
    expect(() => validateSynthesisSpec({ ...tinySpec, format: "q4_0" as "q8_0" })).toThrow(/format/);
    expect(() => validateSynthesisSpec({ ...tinySpec, parameterCount: 10 })).toThrow(/at least/);
    expect(() => validateSynthesisSpec({ ...tinySpec, contextLength: 5000 })).toThrow(/^contextLength: /);
    expect(() => validateSynthesisSpec({ ...tinySpec, contextLength: 262_144 })).toThrow(/contextLength/);
    expect(() => validateSynthesisSpec({ ...tinySpec, contextLength: 32_768 })).not.toThrow();
  });
});
