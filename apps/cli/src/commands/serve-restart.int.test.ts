/**
 * Durability, end to end with real processes: `halo serve` (the built CLI)
 * is SIGKILLed in the middle of two batch jobs and started again on the same
 * store; both batches resume and finish with exactly one result per query,
 * equal to an uninterrupted run of the same queries.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { SimEngine } from "@halo/engine-sim";
import { createExecutorServer, type ExecutorServerHandle } from "@halo/executor";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../../dist/bin.js", import.meta.url));

const WORKFLOW = `graph:
  name: restart-flow
  nodes:
    - { id: question, type: input, outputs: [user_query] }
    - id: draft
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 16
      temperature: 0
      system_prompt: "Draft a short answer."
      inputs: [user_query]
      outputs: [draft]
    - id: review
      type: inference
      model: Qwen/Qwen3-32B
      max_tokens: 16
      temperature: 0
      system_prompt: "Review the draft."
      inputs: [draft]
      outputs: [review]
  edges:
    - { from: question, to: draft }
    - { from: draft, to: review }
`;

interface RunningServer {
  readonly child: ChildProcess;
  readonly url: string;
  readonly resumed: { batches: number; queries: number };
}

function startServer(home: string, executors: readonly string[]): Promise<RunningServer> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      "serve",
      "--executors",
      executors.join(","),
      "--profile",
      "builtin:h100",
      "--port",
      "0",
      "--chunk-size",
      "24",
    ],
    { env: { ...process.env, HALO_HOME: home }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`halo serve did not start: ${stderr}`)), 90_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const event = JSON.parse(line) as { event: string; url: string; resumed: RunningServer["resumed"] };
      if (event.event === "listening") {
        clearTimeout(timer);
        resolve({ child, url: event.url, resumed: event.resumed });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`halo serve exited (${code}): ${stderr}`));
    });
  });
}

async function createBatch(url: string, prefix: string, count: number): Promise<string> {
  const body = Array.from({ length: count }, (_, index) =>
    JSON.stringify({ id: `${prefix}-${index}`, user_query: `question ${index % 11} of ${prefix}` }),
  ).join("\n");
  const response = await fetch(`${url}/v1/batches?workflow=restart-flow`, { method: "POST", body });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

interface BatchState {
  status: string;
  request_counts: { total: number; completed: number; failed: number };
}

async function batchState(url: string, id: string): Promise<BatchState> {
  return (await (await fetch(`${url}/v1/batches/${id}`)).json()) as BatchState;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function results(url: string, id: string): Promise<{ id: string; ok: boolean; outputs: unknown }[]> {
  const text = await (await fetch(`${url}/v1/batches/${id}/results`)).text();
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { id: string; ok: boolean; outputs: unknown });
}

describe("halo serve survives a SIGKILL in the middle of batch jobs", () => {
  // In-process sidecars (real gRPC on loopback): killing the server's process leaves them running.
  const executors: ExecutorServerHandle[] = [];
  let addresses: string[] = [];
  let home: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "halo-serve-restart-"));
    // A slow enough clock that the kill lands while both batches still have work left.
    for (let index = 0; index < 2; index++) {
      executors.push(
        await createExecutorServer({
          engine: new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.02 }),
        }),
      );
    }
    addresses = executors.map((executor) => executor.address);
  }, 300_000);

  afterAll(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await Promise.all(executors.map((executor) => executor.close(100).catch(() => undefined)));
    await rm(home, { recursive: true, force: true });
  });

  it("resumes every batch with no query lost or duplicated and the same results", async () => {
    const first = await startServer(home, addresses);
    children.push(first.child);
    const register = await fetch(`${first.url}/v1/workflows`, { method: "POST", body: WORKFLOW });
    expect(register.status).toBe(201);
    const total = 240;
    const batchA = await createBatch(first.url, "a", total);
    const batchB = await createBatch(first.url, "b", total);
    await waitUntil(
      async () => (await batchState(first.url, batchA)).request_counts.completed >= 24,
      120_000,
      "some results of the first batch",
    );
    const beforeKill = await batchState(first.url, batchA);
    const exited = new Promise((resolve) => first.child.once("exit", resolve));
    first.child.kill("SIGKILL");
    await exited;
    expect(beforeKill.status).toBe("in_progress");
    expect(beforeKill.request_counts.completed).toBeLessThan(total);

    const second = await startServer(home, addresses);
    children.push(second.child);
    expect(second.resumed.batches).toBe(2);
    for (const id of [batchA, batchB]) {
      await waitUntil(
        async () => (await batchState(second.url, id)).status === "completed",
        180_000,
        `batch ${id}`,
      );
      const state = await batchState(second.url, id);
      expect(state.request_counts).toEqual({ total, completed: total, failed: 0 });
    }
    const resumedA = await results(second.url, batchA);
    expect(resumedA.map((record) => record.id)).toEqual(
      Array.from({ length: total }, (_, index) => `a-${index}`),
    );
    const resumedB = await results(second.url, batchB);
    expect(new Set(resumedB.map((record) => record.id)).size).toBe(total);

    // The same queries, uninterrupted, on the restarted server: the same outputs query by query.
    const reference = await createBatch(second.url, "a", total);
    await waitUntil(
      async () => (await batchState(second.url, reference)).status === "completed",
      180_000,
      "the reference batch",
    );
    const uninterrupted = await results(second.url, reference);
    expect(resumedA.map((record) => [record.id, record.ok, record.outputs])).toEqual(
      uninterrupted.map((record) => [record.id, record.ok, record.outputs]),
    );
    second.child.kill("SIGTERM");
    await new Promise((resolve) => second.child.once("exit", resolve));
  }, 600_000);
});
