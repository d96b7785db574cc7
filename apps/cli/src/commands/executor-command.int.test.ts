import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createExecutorClient, type ExecutorCallError, type ExecutorEvent, GrpcStatus } from "@halo/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

// Real child processes running the built CLI (`dist/bin.js`): what a runtime
// or an operator starts. Run `pnpm build` first (turbo's test task does).
const BIN = fileURLToPath(new URL("../../dist/bin.js", import.meta.url));
const MODEL = "slow/Model-1B";

let directory: string;
let profilePath: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-executor-process-"));
  profilePath = join(directory, "slow-profile.json");
  // A device whose decode steps take 40 ms (at time scale 1): a batch streams for about two seconds.
  await writeFile(
    profilePath,
    JSON.stringify({
      profileVersion: 1,
      device: "slow test device",
      source: "made up for process tests",
      memoryBytes: 1e10,
      transferBytesPerSecond: 1e9,
      transferFixedMs: 1,
      models: {
        [MODEL]: {
          parameterCount: 1e9,
          weightsBytes: 2e9,
          loadMs: 10,
          kvBytesPerToken: 1000,
          contextLength: 4096,
          maxBatchSequences: 16,
          prefill: { fixedMs: 1, msPerToken: 0.01 },
          decode: { stepFixedMs: 40, stepMsPerSequence: 0, stepMsPerContextToken: 0 },
        },
      },
    }),
  );
});

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Flags of the simulated executor most tests start (its slow profile is written in beforeAll). */
const simFlags = () => ["--engine", "sim", "--profile", profilePath, "--time-scale", "1"];

/** Starts `halo executor serve` and resolves once it printed its listening line. */
async function startExecutor(flags: readonly string[] = simFlags()) {
  const child = spawn(process.execPath, [BIN, "executor", "serve", "--port", "0", ...flags], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, HALO_HOME: join(directory, "halo-home") },
  });
  children.push(child);
  const lines: string[] = [];
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const reader = createInterface({ input: child.stdout! });
  reader.on("line", (line) => lines.push(line));
  const listening = await new Promise<{ address: string }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line after 20 s; stderr: ${stderr}`)),
      20_000,
    );
    reader.on("line", (line) => {
      const event = JSON.parse(line) as { event: string; address: string };
      if (event.event === "listening") {
        clearTimeout(timer);
        resolve(event);
      }
    });
    child.once("exit", (code) => reject(new Error(`executor exited with ${code}; stderr: ${stderr}`)));
  });
  return { child, address: listening.address, lines, stderr: () => stderr };
}

const items = Array.from({ length: 8 }, (_, index) => ({
  id: `q${index}`,
  prompt: `Question ${index}: which supplier ships the most parts to region ${index}?`,
  maxTokens: 48,
}));

/** Iterates a Generate call, calling `onFirstToken` once; resolves to all events or rejects. */
async function generateUntil(
  client: ReturnType<typeof createExecutorClient>,
  onFirstToken: () => void,
  deadlineMs: number,
): Promise<ExecutorEvent[]> {
  const events: ExecutorEvent[] = [];
  for await (const event of client.generate({ model: MODEL, items, streamTokens: true }, { deadlineMs })) {
    if (event.type === "token" && !events.some((seen) => seen.type === "token")) onFirstToken();
    events.push(event);
  }
  return events;
}

describe("halo executor serve (child process)", () => {
  it("answers Info and health, drains a running Generate on SIGTERM and exits 0", async () => {
    const executor = await startExecutor();
    const client = createExecutorClient(executor.address);
    const info = await client.info();
    expect(info.engine).toBe("sim");
    expect(info.models.map((model) => model.name)).toEqual([MODEL]);
    await expect(client.health()).resolves.toBe("serving");
    const exited = once(executor.child, "exit");
    const events = await generateUntil(client, () => executor.child.kill("SIGTERM"), 30_000);
    expect(events.at(-1)?.type).toBe("batch-finished");
    expect(events.filter((event) => event.type === "item-finished")).toHaveLength(items.length);
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(executor.lines.map((line) => (JSON.parse(line) as { event: string }).event)).toEqual([
      "listening",
      "draining",
      "stopped",
    ]);
    client.close();
  });

  it("gives the client of a SIGKILLed executor UNAVAILABLE within its deadline, never a hang", async () => {
    const executor = await startExecutor();
    const client = createExecutorClient(executor.address, { retry: { initialBackoffMs: 20 } });
    let killedAt = 0;
    const error = await generateUntil(
      client,
      () => {
        killedAt = performance.now();
        executor.child.kill("SIGKILL");
      },
      30_000,
    ).then(
      () => undefined,
      (caught: unknown) => caught as ExecutorCallError,
    );
    expect(killedAt).toBeGreaterThan(0);
    expect(error?.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(performance.now() - killedAt).toBeLessThan(5_000);
    // Later calls fail fast too, retries included.
    const startedAt = performance.now();
    const next = await client.info({ deadlineMs: 3_000 }).then(
      () => undefined,
      (caught: unknown) => caught as ExecutorCallError,
    );
    expect(next?.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(performance.now() - startedAt).toBeLessThan(3_500);
    client.close();
  });

  it("serves the llama.cpp engine (imported on demand) with a model map of synthesized models", async () => {
    const modelMapPath = join(directory, "models.yaml");
    await writeFile(modelMapPath, 'models:\n  "halo/tiny-cli": {synth: {params: 2M, seed: 1}}\n');
    const executor = await startExecutor([
      "--engine",
      "llamacpp",
      "--threads",
      "1",
      "--models",
      modelMapPath,
    ]);
    const client = createExecutorClient(executor.address);
    const info = await client.info();
    expect(info.engine).toContain("llama");
    expect(info.models.map((model) => model.name)).toContain("halo/tiny-cli");
    const events: ExecutorEvent[] = [];
    for await (const event of client.generate({
      model: "halo/tiny-cli",
      items: [{ id: "a", prompt: "Hello", maxTokens: 4 }],
    })) {
      events.push(event);
    }
    expect(events.map((event) => event.type)).toEqual(["item-finished", "batch-finished"]);
    const exited = once(executor.child, "exit");
    executor.child.kill("SIGTERM");
    expect((await exited)[0]).toBe(0);
    client.close();
  }, 300_000);
});
