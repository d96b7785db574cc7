import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import type { RunSummary } from "@halo/runtime";
import { createTestSchema, startTestPostgres, type TestPostgres } from "@halo/tool-sql/test";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";

// Real processes: the built CLI (`dist/bin.js`, run `pnpm build` first — turbo's test task
// does), simulated executors in their own processes, DuckDB and a real PostgreSQL.
const BIN = fileURLToPath(new URL("../../dist/bin.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const EXAMPLE = join(ROOT, "examples", "tpch-diamond.yaml");
const QUERIES = join(ROOT, "examples", "queries.jsonl");
const QUERY_COUNT = 38;

// Generous: each test spawns several runs, and a loaded 2-core machine makes each take tens of seconds.
vi.setConfig({ testTimeout: 300_000 });

let directory: string;
let database: string;
let postgres: TestPostgres;
let postgresUrl: string;
let dropSchema: () => Promise<void>;
const children: ChildProcess[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-run-int-"));
  database = join(directory, "tpch.duckdb");
  expectOk(halo(["datasets", "gen", "tpch", "--scale", "0.01", "--out", database]));
  postgres = await startTestPostgres();
  const schema = await createTestSchema(postgres.url);
  postgresUrl = schema.url;
  dropSchema = schema.drop;
  expectOk(halo(["datasets", "load", "--db", database, "--postgres", postgresUrl]));
}, 300_000);

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

afterAll(async () => {
  await dropSchema?.();
  await postgres?.stop();
  await rm(directory, { recursive: true, force: true });
}, 300_000);

function halo(args: readonly string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
}

function expectOk(result: ReturnType<typeof halo>): void {
  if (result.status !== 0) throw new Error(`halo exited ${result.status}: ${result.stderr}`);
}

interface ResultRecord {
  readonly id: string;
  readonly ok: boolean;
  readonly outputs: Record<string, unknown>;
  readonly operators: Record<string, { startMs: number; endMs: number; worker?: string }>;
  readonly error?: { operator: string; message: string };
}

async function records(path: string): Promise<ResultRecord[]> {
  const text = await readFile(path, "utf8");
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as ResultRecord);
}

const outputsById = (list: readonly ResultRecord[]) =>
  new Map(list.map((record) => [record.id, record.outputs]));

/**
 * The simulated executors of `--engine sim` replaying the built-in profile: fast, deterministic, the
 * same text for the same prompt. (Without --profile they play hidden ground-truth devices: below.)
 */
const simRun = (out: string, db: string, ...extra: string[]) => [
  "run",
  EXAMPLE,
  "--queries",
  QUERIES,
  "--engine",
  "sim",
  "--time-scale",
  "0.001",
  "--db",
  db,
  "--out",
  out,
  ...(extra.includes("--profile") ? [] : ["--profile", "builtin:h100"]),
  ...extra,
];

let reference: Map<string, unknown>;

describe("halo run on local simulated executors", () => {
  it("runs the example over DuckDB and over PostgreSQL (Parquet out) with the same answers", async () => {
    const jsonl = join(directory, "duckdb.jsonl");
    const summaryPath = join(directory, "duckdb-summary.json");
    const duckdbRun = halo(simRun(jsonl, database, "--summary", summaryPath));
    expectOk(duckdbRun);
    expect(duckdbRun.stdout).toContain(`halo run tpch-diamond: ${QUERY_COUNT} ok, 0 failed`);
    expect(duckdbRun.stderr).toContain("starting 2 local sim executor(s)");
    const fromDuckdb = await records(jsonl);
    expect(fromDuckdb).toHaveLength(QUERY_COUNT);
    expect(fromDuckdb.every((record) => record.ok && typeof record.outputs.answer === "string")).toBe(true);
    const summary = JSON.parse(await readFile(summaryPath, "utf8")) as RunSummary;
    expect(summary.queries.ok).toBe(QUERY_COUNT);
    expect(summary.tools.coalesced).toBeGreaterThan(0);
    reference = outputsById(fromDuckdb);
    // What the run measured plans the next batch: no operator's prompt size is guessed from its template.
    expect(Object.keys(summary.observed?.operators ?? {}).length).toBeGreaterThan(3);
    const cold = halo(["plan", EXAMPLE, "--queries", "20", "--workers", "2"]);
    expectOk(cold);
    expect(cold.stderr).toContain("prompts depend on run-time outputs");
    const warm = halo(["plan", EXAMPLE, "--queries", "20", "--workers", "2", "--statistics", summaryPath]);
    expectOk(warm);
    expect(warm.stderr).not.toContain("prompts depend on run-time outputs");

    const parquet = join(directory, "postgres.parquet");
    expectOk(halo(simRun(parquet, postgresUrl)));
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    const rows = (
      await connection.runAndReadAll(
        `SELECT id, ok, CAST(outputs AS VARCHAR) FROM read_parquet('${parquet.replaceAll("'", "''")}') ORDER BY id`,
      )
    ).getRows();
    connection.closeSync();
    instance.closeSync();
    expect(rows).toHaveLength(QUERY_COUNT);
    for (const [id, ok, outputs] of rows) {
      expect(ok).toBe(true);
      expect(JSON.parse(String(outputs))).toEqual(reference.get(String(id)));
    }
  });
});

/** Starts `halo executor serve --engine sim` and resolves with its address once it listens. */
async function startExecutor(timeScale: string): Promise<{ address: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [BIN, "executor", "serve", "--engine", "sim", "--time-scale", timeScale, "--port", "0"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("executor did not listen within 30 s")), 30_000);
    lines.on("line", (line) => {
      const event = JSON.parse(line) as { event: string; address: string };
      if (event.event === "listening") {
        clearTimeout(timer);
        resolve(event.address);
      }
    });
  });
  return { address, child };
}

/** Spawns `halo` and collects its output; `exited` resolves with the exit code or signal. */
function spawnHalo(args: readonly string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function lineCount(path: string): Promise<number> {
  if (!existsSync(path)) return 0;
  return (await readFile(path, "utf8")).split("\n").filter((line) => line.trim() !== "").length;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `halo run` of the example on simulated `devices` (fast clock); `--devices` is the 7th argument. */
function simDevicesArgs(devices: string, ...extra: string[]): string[] {
  return [
    ...["run", EXAMPLE, "--queries", QUERIES, "--engine", "sim", "--devices", devices],
    ...["--time-scale", "0.001", "--db", database, ...extra],
  ];
}

function runHalo(args: readonly string[], home: string) {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, HALO_HOME: home },
    encoding: "utf8",
    timeout: 240_000,
  });
}

describe("halo run on simulated devices with a hidden ground truth", () => {
  it("plans from profiles measured against the devices, one per worker, and reports estimate vs actual", async () => {
    const out = join(directory, "devices.jsonl");
    const summaryPath = join(directory, "devices-summary.json");
    const home = join(directory, "devices-home");
    const args = simDevicesArgs("h100:1,a100:1", "--out", out, "--summary", summaryPath);
    const run = runHalo(args, home);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain("measuring a profile of the simulated h100 with halo profile");
    expect(run.stderr).toContain("measuring a profile of the simulated a100 with halo profile");
    expect(run.stderr).toContain(
      "starting h100:1,a100:1 simulated device(s) (ground truth hidden from the planner)",
    );
    expect(run.stderr).toMatch(
      /planning with the measured profiles .*sim-h100-[0-9a-f]{16}\.json, .*sim-a100-[0-9a-f]{16}\.json/,
    );
    expect(run.stdout).toContain(`halo run tpch-diamond: ${QUERY_COUNT} ok, 0 failed`);
    expect(run.stdout).toMatch(
      /estimate vs actual: device makespan .* \(wall ÷ time scale 0\.001\); actual ÷ estimate \d/,
    );
    const summary = JSON.parse(await readFile(summaryPath, "utf8")) as RunSummary & {
      estimateVsActual: { actualOverEstimate: number; deviceMakespanMs: number };
    };
    expect(summary.estimateVsActual.actualOverEstimate).toBeGreaterThan(0);
    expect(summary.estimateVsActual.deviceMakespanMs).toBeCloseTo(summary.makespanMs / 0.001, -1);
    // The second run finds both measured profiles in the cache.
    const again = runHalo([...args, "--overwrite"], home);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toContain("measuring a profile");
    // A bad device list is invalid input naming it.
    const bad = spawnSync(process.execPath, [BIN, ...args.slice(0, 7), "h100:2,tpu:1"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--devices: "tpu:1": unknown device "tpu"');
  }, 600_000);

  it("serves on each device the models it can hold: Qwen3-32B only on the H100 of an H100 + L40S pair", async () => {
    const home = join(directory, "l40s-home");
    const planPath = join(directory, "l40s-plan.json");
    const out = join(directory, "l40s.jsonl");
    const run = runHalo(simDevicesArgs("h100:1,l40s:1", "--out", out, "--plan-out", planPath), home);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`halo run tpch-diamond: ${QUERY_COUNT} ok, 0 failed`);
    const plan = JSON.parse(await readFile(planPath, "utf8")) as {
      workers: { id: string; device: string }[];
      epochs: { steps: { worker: string; model: string }[] }[];
    };
    const l40s = plan.workers.filter((worker) => /L40S/i.test(worker.device)).map((worker) => worker.id);
    expect(l40s).toHaveLength(1);
    const steps = plan.epochs.flatMap((epoch) => epoch.steps);
    expect(steps.some((step) => step.model === "Qwen/Qwen3-32B")).toBe(true);
    for (const step of steps.filter((step) => step.model === "Qwen/Qwen3-32B")) {
      expect(l40s).not.toContain(step.worker);
    }
    // A model no device can hold is invalid input naming it.
    const none = runHalo(simDevicesArgs("l40s:2", "--out", join(directory, "l40s-none.jsonl")), home);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain("--devices: no device can hold Qwen/Qwen3-32B");
  }, 600_000);
});

describe("halo run faults", () => {
  it("an executor SIGKILLed mid-batch: the batch completes on the other, every query exactly once", async () => {
    // Slower simulated devices (time scale 0.05): the batch runs for seconds.
    const first = await startExecutor("0.05");
    const second = await startExecutor("0.05");
    const out = join(directory, "killed-executor.jsonl");
    const summaryPath = join(directory, "killed-executor-summary.json");
    const run = spawnHalo([
      "run",
      EXAMPLE,
      "--queries",
      QUERIES,
      "--db",
      database,
      "--executors",
      `${first.address},${second.address}`,
      "--profile",
      "builtin:h100",
      "--out",
      out,
      "--summary",
      summaryPath,
    ]);
    await waitFor(() => run.stderr().includes(`${QUERY_COUNT} queries, strategy dp`), "the run to start");
    await new Promise((resolve) => setTimeout(resolve, 300));
    second.child.kill("SIGKILL");
    const { code } = await run.exited;
    expect(code, run.stderr()).toBe(0);
    expect(run.stderr()).toContain("executor worker-1");
    const written = await records(out);
    expect(written).toHaveLength(QUERY_COUNT);
    expect(new Set(written.map((record) => record.id)).size).toBe(QUERY_COUNT);
    expect(written.every((record) => record.ok)).toBe(true);
    const summary = JSON.parse(await readFile(summaryPath, "utf8")) as RunSummary;
    expect(summary.executorsLost).toEqual(["worker-1"]);
    expect(outputsById(written)).toEqual(reference);
  });

  it("halo run SIGKILLed mid-batch leaves no executor behind; --resume completes it with the same answers", async () => {
    // A device with cheap loads and slow decoding in batches of 4: results arrive over seconds.
    const profile = join(directory, "slow-device.json");
    await writeFile(
      profile,
      JSON.stringify({
        profileVersion: 1,
        device: "slow test device",
        source: "made up for the resume test",
        memoryBytes: 1e12,
        transferBytesPerSecond: 1e9,
        transferFixedMs: 1,
        models: {
          "test/Slow-14B": {
            parameterCount: 14e9,
            weightsBytes: 28e9,
            loadMs: 20,
            kvBytesPerToken: 1e5,
            contextLength: 8192,
            maxBatchSequences: 4,
            prefill: { fixedMs: 1, msPerToken: 0.01 },
            decode: { stepFixedMs: 15, stepMsPerSequence: 0.1, stepMsPerContextToken: 0 },
          },
        },
      }),
    );
    const out = join(directory, "interrupted.jsonl");
    const slow = (...extra: string[]) =>
      simRun(out, database, "--profile", profile, ...extra).map((flag) => (flag === "0.001" ? "1" : flag));
    const run = spawnHalo(slow());
    await waitFor(async () => (await lineCount(out)) >= 3, "the first results");
    run.child.kill("SIGKILL");
    await run.exited;
    const pids = [...run.stderr().matchAll(/\(pid (\d+)\)/g)].map((match) => Number(match[1]));
    expect(pids).toHaveLength(2);
    // The local executors notice their parent is gone (their stdin closes) and exit.
    await waitFor(() => pids.every((pid) => !alive(pid)), "the local executors to exit", 20_000);
    const before = await lineCount(out);
    expect(before).toBeLessThan(QUERY_COUNT);
    const resumed = halo(slow("--resume"));
    expectOk(resumed);
    expect(resumed.stderr).toMatch(/already done, skipped/);
    const written = await records(out);
    expect(written).toHaveLength(QUERY_COUNT);
    expect(new Set(written.map((record) => record.id)).size).toBe(QUERY_COUNT);
    expect(outputsById(written)).toEqual(reference);
    const again = halo(slow("--resume"));
    expectOk(again);
    expect(again.stdout).toContain(`all ${QUERY_COUNT} queries already have results`);
  });
});
