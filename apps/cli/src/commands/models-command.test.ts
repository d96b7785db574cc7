import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../main.js";
import { recordingIo as capture } from "../test-io.js";

let haloHome: string;
const previousHome = process.env["HALO_HOME"];

beforeAll(async () => {
  haloHome = await mkdtemp(join(tmpdir(), "halo-cli-models-"));
  process.env["HALO_HOME"] = haloHome;
});

afterAll(async () => {
  if (previousHome === undefined) delete process.env["HALO_HOME"];
  else process.env["HALO_HOME"] = previousHome;
  await rm(haloHome, { recursive: true, force: true });
});

describe("halo models", () => {
  it("synthesizes a stand-in into the cache once, then reports it cached", async () => {
    const io = capture();
    expect(await runCli(["models", "synth", "halo/tiny"], io)).toBe(0);
    const path = join(haloHome, "models", "halo--tiny-2M-seed1-q8_0-v2.gguf");
    expect(io.out()).toContain(
      `synthesized halo/tiny (2.15M parameters, 64 wide × 2 blocks, q8_0, seed 1) → ${path}`,
    );
    expect((await stat(path)).size).toBeGreaterThan(2_000_000);

    const again = capture();
    expect(await runCli(["models", "synth", "halo/tiny"], again)).toBe(0);
    expect(again.out()).toContain(`cached halo/tiny`);
  });

  it("writes to --out with explicit size, seed and format", async () => {
    const io = capture();
    const out = join(haloHome, "custom.gguf");
    expect(
      await runCli(
        ["models", "synth", "my-model", "--params", "3M", "--seed", "7", "--format", "f16", "--out", out],
        io,
      ),
    ).toBe(0);
    expect(io.out()).toContain("f16, seed 7");
    expect((await stat(out)).size).toBeGreaterThan(6_000_000);
  });

  it("lists the stand-in table and the cache", async () => {
    const io = capture();
    expect(await runCli(["models", "list"], io)).toBe(0);
    const text = io.out();
    for (const name of ["halo/tiny", "Qwen/Qwen3-14B", "openai/gpt-oss-20b", "Qwen/Qwen3-32B"])
      expect(text).toContain(name);
    expect(text).toMatch(/halo\/tiny\s+2M\s+2\.15M\s+64×2\s+2\/1\s+yes/);
    expect(text).toMatch(/Qwen\/Qwen3-32B\s+32M\s+\S+\s+384×12\s+6\/1\s+no/);
    expect(text).toContain("halo--tiny-2M-seed1-q8_0-v2.gguf");
  });

  it("rejects bad flags with exit 2 and names the flag", async () => {
    const cases: [string[], RegExp][] = [
      [["models", "synth", "gpt-4o"], /carries no parameter count.*--params/],
      [["models", "synth", "x", "--params", "lots"], /--params: expected a parameter count/],
      [["models", "synth", "x", "--params", "10K"], /--params: a synthesized model needs at least 2M/],
      [["models", "synth", "halo/tiny", "--seed", "-1"], /--seed: expected a non-negative integer/],
      [["models", "synth", "halo/tiny", "--format", "q4_0"], /--format: expected one of q8_0, f16/],
    ];
    for (const [argv, message] of cases) {
      const io = capture();
      expect(await runCli(argv, io)).toBe(2);
      expect(io.err()).toMatch(message);
    }
  });
});
