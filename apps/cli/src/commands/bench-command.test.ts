import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../main.js";
import { recordingIo } from "../test-io.js";
import { type BenchFlags, benchOptionsFromFlags } from "./bench-command.js";

// `halo bench` end to end on engine-sim: real sidecar processes on loopback
// gRPC, the data API in its own process, DuckDB, one small workload.
let directory: string;
let haloHome: string;
const previousHome = process.env["HALO_HOME"];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-bench-"));
  haloHome = join(directory, "halo-home");
  process.env["HALO_HOME"] = haloHome;
});

afterAll(async () => {
  if (previousHome === undefined) delete process.env["HALO_HOME"];
  else process.env["HALO_HOME"] = previousHome;
  await rm(directory, { recursive: true, force: true });
});

describe("halo bench: bad input", () => {
  it.each([
    [["--engine", "gpu"], "--engine: expected llamacpp or sim"],
    [["--systems", "naive,turbo"], '--systems: unknown system "turbo"'],
    [
      ["--systems", "naive,halo-observed"],
      '--systems: "halo-observed" plans from what the halo run measured: add halo to the systems',
    ],
    [["--workload", "w9"], '--workload: unknown workload "w9"'],
    [["--queries", "0"], "--queries: expected a number of queries >= 1"],
    [["--engine", "sim", "--time-scale", "2"], "--time-scale: expected a number in (0, 1]"],
    [["--db-backend", "postgres"], "--db-backend postgres: give the server with --postgres-url"],
    [["--http", "slow"], "--http: expected padded or live or sleep"],
    [["--engine", "sim", "--models", "m.yaml"], "--models: only the llamacpp engine"],
    [["--tag", "Big Run"], "--tag: expected lowercase letters"],
    [["--prompt-layout", "last"], '--prompt-layout: expected shared-first or declared (got "last")'],
    [
      ["--naive-concurrency", "16,0"],
      '--naive-concurrency: expected queries in flight (an integer >= 1) or all (got "0")',
    ],
    [["--langgraph-concurrency", "many"], "--langgraph-concurrency: expected queries in flight"],
    [
      ["--engine", "sim", "--devices", "tpu:2"],
      '--devices: "tpu:2": unknown device "tpu" (known: h100, a100, l40s)',
    ],
    [["--engine", "sim", "--devices", "h100:0"], '--devices: "h100:0": the count must be an integer >= 1'],
    [["--engine", "sim", "--devices", "h100:two"], '--devices: "h100:two" is not device:count'],
    [["--devices", "h100:2"], "--devices: only the sim engine simulates devices"],
    [
      ["--engine", "sim", "--devices", "h100:2", "--local", "3"],
      "--local 3 and --devices h100:2 (2 devices) disagree",
    ],
    [["--engine", "sim", "--noise", "-1"], "--noise: expected a number in [0, 1)"],
    [["--models-per-device", "2"], "--models-per-device: only the sim engine simulates devices"],
    [["--engine", "sim", "--models-per-device", "0"], "--models-per-device: expected an integer >= 1"],
  ])("rejects %j with exit 2 before any work", async (flags, message) => {
    const io = recordingIo();
    const saved = process.env["HALO_BENCH_POSTGRES_URL"];
    delete process.env["HALO_BENCH_POSTGRES_URL"];
    try {
      expect(await runCli(["bench", ...flags, "--results-dir", join(directory, "none")], io)).toBe(2);
    } finally {
      if (saved !== undefined) process.env["HALO_BENCH_POSTGRES_URL"] = saved;
    }
    expect(io.err()).toContain(message);
  });
});

const examplePath = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "..",
  "examples",
  "strategies",
  "model-affinity-strategy.mjs",
);

const defaults: BenchFlags = {
  workload: "w5",
  queries: "8",
  systems: "naive,halo",
  engine: "sim",
  threads: "1",
  latencyScale: "1",
  timeScale: "0.1",
  dbBackend: "duckdb",
  http: "padded",
  datasetScale: "0.01",
  seed: "1",
  naiveConcurrency: "16,64,256,all",
  langgraphConcurrency: "16,64,256,all",
  sqlConcurrency: "4",
  httpConcurrency: "1024",
  gatherWindowMs: "50",
};

describe("halo bench --models-per-device and --plans-dir", () => {
  it("records two models per device in the settings and the command line, and passes the plans folder on", () => {
    const options = benchOptionsFromFlags({ ...defaults, modelsPerDevice: "2", plansDir: "plans" });
    expect(options.settings.modelsPerDevice).toBe(2);
    expect(options.commandLine).toContain("--models-per-device 2");
    expect(options.plansDirectory).toBe("plans");
    const plain = benchOptionsFromFlags(defaults);
    expect(plain.settings.modelsPerDevice).toBeUndefined();
    expect(plain.plansDirectory).toBeUndefined();
  });
});

describe("halo bench --strategy", () => {
  it("adds the strategy as one more system after the chosen ones, and records the flag", () => {
    const options = benchOptionsFromFlags({ ...defaults, strategy: "./mine.mjs" }, "model-affinity");
    expect(options.systems.map((system) => system.name)).toEqual(["naive", "halo", "model-affinity"]);
    expect(options.systems[2]).toMatchObject({
      strategy: "model-affinity",
      disabled: [],
      epochBarriers: false,
      runner: "processor",
    });
    expect(options.commandLine).toContain("--strategy ./mine.mjs");
    expect(benchOptionsFromFlags(defaults).systems.map((system) => system.name)).toEqual(["naive", "halo"]);
  });

  it.each([
    [["--strategy", "./no-such-strategy.mjs"], "--strategy: module"],
    [["--strategy", "no-such-strategy"], "--strategy: "],
    [["--strategy", "naive"], '--strategy: "naive" is already a compared system'],
    [["--strategy", examplePath, "--online"], "--strategy: the online benchmark"],
  ])("rejects %j with exit 2 before any work", async (flags, message) => {
    const io = recordingIo();
    expect(
      await runCli(["bench", "--engine", "sim", ...flags, "--results-dir", join(directory, "none")], io),
    ).toBe(2);
    expect(io.err()).toContain(message);
  });
});
