import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestPostgres, type TestPostgres, withClient } from "@halo/tool-sql/test";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

// Chaos through the real CLI: `halo run` as a child process (local simulated executors, real
// gRPC) over a real PostgreSQL cluster of this file's own, which the tests cut connections of
// and restart while the run goes on. Run `pnpm build` first (turbo's test task does).
const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const QUERY_COUNT = 40;
/** Generous: a clean run takes about 15 s on a loaded 2-core machine, most of it starting executors. */
const RUN_BOUND_MS = 120_000;

// Every query runs one SQL statement slow enough (pg_sleep) to be caught in flight, then one
// LLM call on its rows; the tag makes every statement and prompt distinct (nothing coalesces).
const WORKFLOW = `
graph:
  name: chaos-postgres
  nodes:
    - id: user_input
      type: input
      outputs: [user_query]
    - id: analyst
      type: inference
      engine: vllm
      model: Qwen/Qwen3-14B
      max_tokens: 8
      system_prompt: |
        Count the rows (rows) for user_query in one short sentence.
      prompt: "Question: {{ user_query }}"
      inputs: [user_query]
      outputs: [answer]
      db_queries:
        - name: rows
          sql: |
            SELECT :tag AS tag, count(*) AS n FROM generate_series(1, 10), pg_sleep(0.3)
          parameters:
            tag: "{{ user_query }}"
          param_types:
            tag: text
  edges:
    - from: user_input
      to: analyst
`;

interface ResultRecord {
  readonly id: string;
  readonly ok: boolean;
  readonly outputs: Record<string, unknown>;
  readonly error?: { readonly operator: string; readonly message: string };
}

let server: TestPostgres;
let directory: string;
let workflowPath: string;
let queriesPath: string;
let clean: Map<string, Record<string, unknown>>;
let cleanMs: number;
const children: ChildProcess[] = [];

/** `halo run` of the chaos workflow on fast simulated executors, over the test cluster. */
const runArgs = (out: string): string[] => [
  "run",
  workflowPath,
  "--queries",
  queriesPath,
  "--engine",
  "sim",
  "--time-scale",
  "0.001",
  "--db",
  server.url,
  "--out",
  out,
];

/** Spawns `halo`; `exited` resolves with its exit code or signal, `running()` says whether it still runs. */
function spawnHalo(args: readonly string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  let running = true;
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      running = false;
      resolve({ code, signal });
    }),
  );
  return { exited, running: () => running, stdout: () => stdout, stderr: () => stderr };
}

async function records(path: string): Promise<ResultRecord[]> {
  if (!existsSync(path)) return [];
  return (await readFile(path, "utf8"))
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as ResultRecord);
}

/** Records written so far (a line still being written is not counted). */
async function completeLines(path: string): Promise<number> {
  if (!existsSync(path)) return 0;
  return (await readFile(path, "utf8")).split("\n").length - 1;
}

/** Backends of the run (application_name `halo`) sleeping inside the workflow's statement. */
async function sleepingBackends(): Promise<number[]> {
  const result = await withClient(server.url, (client) =>
    client.query(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'halo' AND state = 'active' AND query LIKE '%pg_sleep%'",
    ),
  );
  return result.rows.map((row) => (row as { pid: number }).pid);
}

/** The runtime's own retries of tool calls, from the run's summary (the SQL tool's retries are inside it). */
const runtimeRetries = (stdout: string): string => /retries (\d+)/.exec(stdout)?.[1] ?? "?";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What every chaos run must show: it ended by itself, printed its summary, and wrote one record per query. */
function expectOrderlyEnd(
  run: ReturnType<typeof spawnHalo>,
  ended: { code: number | null; signal: NodeJS.Signals | null },
  written: readonly ResultRecord[],
): { ok: number; failed: number } {
  const output = `${run.stdout()}\n${run.stderr()}`;
  expect(ended.signal, output).toBeNull();
  // 0 when every query ended ok, 3 (once exit codes are split) when some failed; 1 is a crash.
  expect([0, 3], output).toContain(ended.code);
  expect(output).not.toMatch(/Unhandled 'error' event|unexpected error/i);
  const summary = /halo run chaos-postgres: (\d+) ok, (\d+) failed of (\d+) queries/.exec(run.stdout());
  expect(summary, output).not.toBeNull();
  expect(Number(summary![3])).toBe(QUERY_COUNT);
  expect(written).toHaveLength(QUERY_COUNT);
  expect(new Set(written.map((record) => record.id)).size).toBe(QUERY_COUNT);
  for (const record of written) {
    if (record.ok) expect(record.outputs).toEqual(clean.get(record.id));
  }
  return { ok: Number(summary![1]), failed: Number(summary![2]) };
}

beforeAll(async () => {
  server = await startTestPostgres({ ownCluster: true });
  directory = await mkdtemp(join(tmpdir(), "halo-chaos-postgres-"));
  workflowPath = join(directory, "chaos-postgres.yaml");
  queriesPath = join(directory, "queries.jsonl");
  await writeFile(workflowPath, WORKFLOW);
  await writeFile(
    queriesPath,
    Array.from({ length: QUERY_COUNT }, (_, index) =>
      JSON.stringify({ id: `q${String(index + 1).padStart(2, "0")}`, user_query: `query ${index + 1}` }),
    ).join("\n"),
  );
  const out = join(directory, "clean.jsonl");
  const cleanStartMs = performance.now();
  const run = spawnHalo(runArgs(out));
  const ended = await run.exited;
  cleanMs = performance.now() - cleanStartMs;
  if (ended.code !== 0) throw new Error(`the clean run exited ${ended.code}: ${run.stderr()}`);
  const written = await records(out);
  if (written.length !== QUERY_COUNT || !written.every((record) => record.ok)) {
    throw new Error(`the clean run did not answer every query: ${run.stdout()}`);
  }
  clean = new Map(written.map((record) => [record.id, record.outputs]));
}, 300_000);

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

afterAll(async () => {
  await server?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
}, 300_000);

describe("halo run over PostgreSQL under faults", () => {
  it("backends terminated mid-statement: those statements are retried; a query fails only when every attempt was cut, naming the cause", async () => {
    const out = join(directory, "terminated.jsonl");
    const startMs = performance.now();
    const run = spawnHalo(runArgs(out));
    // Cut six statements in flight, one backend at a time, as an operator or a failover would.
    const terminated = new Set<number>();
    while (run.running() && terminated.size < 6) {
      const fresh = (await sleepingBackends()).filter((pid) => !terminated.has(pid));
      const victim = fresh[0];
      if (victim !== undefined) {
        await withClient(server.url, (client) => client.query("SELECT pg_terminate_backend($1)", [victim]));
        terminated.add(victim);
      }
      await pause(150);
    }
    const ended = await run.exited;
    const elapsedMs = performance.now() - startMs;
    const written = await records(out);
    const { ok, failed } = expectOrderlyEnd(run, ended, written);
    console.info(
      `chaos: ${terminated.size} backends terminated mid-statement → ${ok} ok, ${failed} failed of ${QUERY_COUNT}, ` +
        `exit ${ended.code}, runtime retries ${runtimeRetries(run.stdout())}, ` +
        `run ${(elapsedMs / 1000).toFixed(1)} s (clean ${(cleanMs / 1000).toFixed(1)} s)`,
    );
    expect(terminated.size).toBeGreaterThan(0);
    // A statement fails only if every one of its attempts was cut, and then says so.
    expect(failed).toBeLessThanOrEqual(terminated.size);
    for (const record of written.filter((each) => !each.ok)) {
      expect(record.error?.message).toMatch(
        /PostgreSQL halo@127\.0\.0\.1:\d+\/halo_test: the connection was lost during the statement: terminating connection due to administrator command/,
      );
    }
    expect(elapsedMs).toBeLessThan(RUN_BOUND_MS);
  }, 300_000);

  it("PostgreSQL restarted mid-run: statements the outage catches are retried or fail naming it; the pool recovers", async () => {
    const out = join(directory, "restarted.jsonl");
    const startMs = performance.now();
    const run = spawnHalo(runArgs(out));
    while ((await sleepingBackends()).length === 0) {
      if (!run.running()) throw new Error(`the run ended before any statement was caught: ${run.stderr()}`);
      await pause(50);
    }
    const stopMs = performance.now();
    // When the first failed record appears: how long the outage took to reach a query's result.
    let firstFailureMs: number | undefined;
    const watching = (async () => {
      while (run.running() && firstFailureMs === undefined) {
        if ((await readFile(out, "utf8").catch(() => "")).includes('"ok":false'))
          firstFailureMs = performance.now();
        else await pause(20);
      }
    })();
    await server.stopServer();
    const stoppedMs = performance.now();
    await server.startServer();
    const restartedMs = performance.now();
    const answeredBeforeRestart = await completeLines(out);
    const ended = await run.exited;
    await watching;
    const elapsedMs = performance.now() - startMs;
    const written = await records(out);
    const { ok, failed } = expectOrderlyEnd(run, ended, written);
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.info(
      `chaos: PostgreSQL stopped in ${seconds(stoppedMs - stopMs)}, back after ${seconds(restartedMs - stopMs)}; ` +
        `first failed record ${firstFailureMs === undefined ? "none" : `${seconds(firstFailureMs - stopMs)} after the stop`}; ` +
        `${ok} ok, ${failed} failed of ${QUERY_COUNT} (${answeredBeforeRestart} answered before the restart), ` +
        `exit ${ended.code}, runtime retries ${runtimeRetries(run.stdout())}, run ${seconds(elapsedMs)} (clean ${seconds(cleanMs)})`,
    );
    for (const record of written.filter((each) => !each.ok)) {
      expect(record.error?.message).toMatch(
        /PostgreSQL halo@127\.0\.0\.1:\d+\/halo_test: (cannot connect: |the connection was lost during the statement: )/,
      );
    }
    // The pool recovered: queries answered after the server was back include good ones.
    expect(answeredBeforeRestart).toBeLessThan(QUERY_COUNT);
    expect(written.slice(answeredBeforeRestart).some((record) => record.ok)).toBe(true);
    expect(ok).toBeGreaterThan(0);
    expect(elapsedMs).toBeLessThan(RUN_BOUND_MS);
  }, 300_000);
});
