import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tensorByteLength, writeGguf } from "./gguf-writer.js";

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-gguf-writer-"));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("tensorByteLength", () => {
  it("sizes f32, f16 and q8_0 tensors", () => {
    expect(tensorByteLength("f32", [10])).toBe(40);
    expect(tensorByteLength("f16", [32, 3])).toBe(192);
    expect(tensorByteLength("q8_0", [64, 2])).toBe(4 * 34);
  });

  it("rejects a q8_0 row that is not whole blocks", () => {
    expect(() => tensorByteLength("q8_0", [48, 2])).toThrow(/multiple of 32/);
  });
});

describe("writeGguf", () => {
  it("writes a file that node-llama-cpp's GGUF reader parses back", async () => {
    const path = join(directory, "small.gguf");
    const size = await writeGguf(path, {
      metadata: [
        ["general.architecture", { type: "string", value: "llama" }],
        ["test.count", { type: "uint32", value: 7 }],
        ["test.offset", { type: "int32", value: -3 }],
        ["test.scale", { type: "float32", value: 0.5 }],
        ["test.flag", { type: "bool", value: true }],
        ["test.words", { type: "string-array", value: ["a", "▁b", "<0x0A>"] }],
        ["test.scores", { type: "float32-array", value: new Float32Array([0, -1.5]) }],
        ["test.types", { type: "int32-array", value: new Int32Array([1, 6]) }],
      ],
      tensors: [
        { name: "a.weight", dimensions: [3], type: "f32", produceData: () => new Uint8Array(12).fill(1) },
        {
          name: "b.weight",
          dimensions: [32, 2],
          type: "q8_0",
          produceData: () => new Uint8Array(68).fill(2),
        },
      ],
    });
    const bytes = await readFile(path);
    expect(bytes.length).toBe(size);
    const info = await readGgufFileInfo(path, { sourceType: "filesystem", logWarnings: false });
    expect(info.version).toBe(3);
    const metadata = info.metadata as unknown as Record<string, Record<string, unknown>>;
    expect(metadata["general"]!["architecture"]).toBe("llama");
    expect(metadata["general"]!["alignment"]).toBe(32);
    expect(metadata["test"]).toMatchObject({ count: 7, offset: -3, scale: 0.5, flag: true });
    expect(metadata["test"]!["words"]).toEqual(["a", "▁b", "<0x0A>"]);
    expect(metadata["test"]!["scores"]).toEqual([0, -1.5]);
    expect(metadata["test"]!["types"]).toEqual([1, 6]);
    expect(
      info.tensorInfo?.map((tensor) => [tensor.name, tensor.dimensions.map(Number), tensor.ggmlType]),
    ).toEqual([
      ["a.weight", [3], 0],
      ["b.weight", [32, 2], 8],
    ]);
    // Tensor data starts aligned, each tensor at an aligned offset.
    const [first, second] = info.tensorInfo!;
    expect(Number(first!.offset) % 32).toBe(0);
    expect(Number(second!.offset)).toBe(32);
    expect(bytes[bytes.length - 1]).toBe(0);
  });

  it("refuses a tensor whose data has the wrong size", async () => {
    await expect(
      writeGguf(join(directory, "bad.gguf"), {
        metadata: [],
        tensors: [{ name: "x", dimensions: [4], type: "f32", produceData: () => new Uint8Array(3) }],
      }),
    ).rejects.toThrow(/tensor x: produced 3 bytes, expected 16/);
  });
});
