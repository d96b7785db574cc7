import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureSynthesizedModel } from "./model-cache.js";
import type { SynthesisSpec } from "./model-synthesizer.js";

/** The tiny stand-in every engine test uses. */
export const tinyModelSpec: SynthesisSpec = {
  name: "halo/tiny",
  parameterCount: 2_000_000,
  seed: 1,
  format: "q8_0",
};

let testHome: Promise<string> | undefined;

/** A Halo home for tests: `HALO_HOME` when set (shared cache across runs), else a fresh temporary folder. */
export function testHaloHome(): Promise<string> {
  testHome ??= process.env["HALO_HOME"]
    ? Promise.resolve(process.env["HALO_HOME"])
    : mkdtemp(join(tmpdir(), "halo-test-home-"));
  return testHome;
}

/** Path of the tiny model, synthesized on first use. */
export async function tinyModelPath(): Promise<string> {
  return (await ensureSynthesizedModel(tinyModelSpec, await testHaloHome())).path;
}
