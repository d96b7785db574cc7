import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { RunSummary } from "@halo/runtime";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

// The chaos suite: real processes (the built CLI, `halo executor serve --engine sim` sidecars), real
// signals (SIGSTOP, SIGCONT, SIGKILL, SIGTERM) and a real HTTP server on 127.0.0.1 that fails on
// purpose. Each case checks one record per query, the unaffected queries' outputs against a clean
// run, the affected ones' messages, the exit code, and that the run ends within a generous bound.
// (SIGKILL of an executor and of `halo run` + `--resume`: run-command.int.test.ts.)
const BIN = fileURLToPath(new URL("../../dist/bin.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
/** Generous: the machine may be loaded; no assertion here is about speed. */
const RUN_BOUND_MS = 180_000;

let directory: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-chaos-"));
});

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  }
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

interface ResultRecord {
  readonly id: string;
  readonly ok: boolean;
  readonly outputs: Record<string, unknown>;
  readonly error?: { operator: string; message: string };
}

async function records(path: string): Promise<ResultRecord[]> {
  return (await readFile(path, "utf8"))
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as ResultRecord);
}

function expectOneRecordPerQuery(written: readonly ResultRecord[], ids: readonly string[]): void {
  expect(written.map((record) => record.id).sort()).toEqual([...ids].sort());
}

/** Spawns `halo`; `exited` resolves with the exit code (or signal) and the wall time. */
function spawnHalo(args: readonly string[]) {
  const startedMs = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  const watchers: { pattern: RegExp; resolve: (atMs: number) => void }[] = [];
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const watcher of [...watchers]) {
      if (watcher.pattern.test(stderr)) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve(Date.now());
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; wallMs: number }>(
    (resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal, wallMs: Date.now() - startedMs })),
  );
  /** Resolves with the time stderr first matched `pattern` (event-driven, no polling). */
  const stderrMatch = (pattern: RegExp) =>
    new Promise<number>((resolve, reject) => {
      if (pattern.test(stderr)) return resolve(Date.now());
      watchers.push({ pattern, resolve });
      void exited.then(() => reject(new Error(`halo exited before stderr matched ${pattern}:\n${stderr}`)));
    });
  return { child, exited, stderrMatch, stdout: () => stdout, stderr: () => stderr };
}

async function runHalo(args: readonly string[]) {
  const run = spawnHalo(args);
  const { code, wallMs } = await run.exited;
  return { code, wallMs, stdout: run.stdout(), stderr: run.stderr() };
}

/** Starts `halo executor serve --engine sim` and resolves with its address once it listens. */
async function startExecutor(timeScale: string): Promise<{ address: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [BIN, "executor", "serve", "--engine", "sim", "--time-scale", timeScale, "--port", "0"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the executor exited with ${code}`)));
    lines.on("line", (line) => {
      const event = JSON.parse(line) as { event: string; address: string };
      if (event.event === "listening") resolve(event.address);
    });
  });
  return { address, child };
}

/** A chain of two LLM calls per query: a batch that keeps both executors busy for seconds at time scale 0.05. */
const CHAIN_YAML = `
graph:
  name: chain
  nodes:
    - { id: question, type: input, outputs: [topic] }
    - { id: draft, type: inference, model: Qwen/Qwen3-14B, max_tokens: 48, system_prompt: Draft an answer., inputs: [topic], outputs: [draft] }
    - { id: review, type: inference, model: Qwen/Qwen3-14B, max_tokens: 48, system_prompt: Review the draft., inputs: [topic, draft], outputs: [review] }
  edges:
    - { from: question, to: draft }
    - { from: draft, to: review, mapping: { topic: "{{ topic }}", draft: "{{ draft }}" } }
`;

const CHAIN_QUERIES = Array.from({ length: 48 }, (_, index) => ({
  id: `q${index}`,
  topic: `topic number ${index}`,
}));

async function writeChain(): Promise<{ workflow: string; queries: string }> {
  const workflow = join(directory, "chain.yaml");
  const queries = join(directory, "chain-queries.jsonl");
  await writeFile(workflow, CHAIN_YAML);
  await writeFile(queries, CHAIN_QUERIES.map((query) => JSON.stringify(query)).join("\n"));
  return { workflow, queries };
}

const chainRun = (
  files: { workflow: string; queries: string },
  executors: readonly string[],
  out: string,
  ...extra: string[]
) => [
  "run",
  files.workflow,
  "--queries",
  files.queries,
  "--executors",
  executors.join(","),
  "--profile",
  "builtin:h100",
  "--out",
  out,
  ...extra,
];

describe("chaos: executors", () => {
  let files: { workflow: string; queries: string };
  let reference: Map<string, unknown>;

  beforeAll(async () => {
    files = await writeChain();
    const executor = await startExecutor("0.05");
    const clean = await runHalo(chainRun(files, [executor.address], join(directory, "chain-clean.jsonl")));
    expect(clean.code, clean.stderr).toBe(0);
    reference = new Map((await records(join(directory, "chain-clean.jsonl"))).map((r) => [r.id, r.outputs]));
    executor.child.kill("SIGKILL");
  }, RUN_BOUND_MS);

  it(
    "an executor SIGSTOPped mid-batch is lost within --executor-timeout; SIGCONT later; every query ok once",
    async () => {
      const first = await startExecutor("0.05");
      const second = await startExecutor("0.05");
      const out = join(directory, "sigstop.jsonl");
      const summaryPath = join(directory, "sigstop-summary.json");
      const run = spawnHalo(
        chainRun(
          files,
          [first.address, second.address],
          out,
          "--executor-timeout",
          "5",
          "--summary",
          summaryPath,
        ),
      );
      await run.stderrMatch(/48 queries, strategy/);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const stoppedAtMs = Date.now();
      second.child.kill("SIGSTOP");
      const lostAtMs = await run.stderrMatch(/executor worker-1 \(.*\) lost: .*stopped answering/);
      second.child.kill("SIGCONT");
      const { code, wallMs } = await run.exited;
      console.info(
        `chaos SIGSTOP: lost ${lostAtMs - stoppedAtMs} ms after SIGSTOP (timeout 5 s); run ${wallMs} ms`,
      );
      expect(code, run.stderr()).toBe(0);
      expect(wallMs).toBeLessThan(RUN_BOUND_MS);
      const written = await records(out);
      expectOneRecordPerQuery(
        written,
        CHAIN_QUERIES.map((query) => query.id),
      );
      expect(written.every((record) => record.ok)).toBe(true);
      for (const record of written) expect(record.outputs).toEqual(reference.get(record.id));
      const summary = JSON.parse(await readFile(summaryPath, "utf8")) as RunSummary;
      expect(summary.executorsLost).toEqual(["worker-1"]);
    },
    RUN_BOUND_MS,
  );

  it(
    "the only executor SIGSTOPped: every unfinished query fails naming the cause, exit 3",
    async () => {
      const only = await startExecutor("0.05");
      const out = join(directory, "sigstop-only.jsonl");
      const run = spawnHalo(chainRun(files, [only.address], out, "--executor-timeout", "5"));
      await run.stderrMatch(/48 queries, strategy/);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const stoppedAtMs = Date.now();
      only.child.kill("SIGSTOP");
      const lostAtMs = await run.stderrMatch(/executor worker-0 \(.*\) lost/);
      const { code, wallMs } = await run.exited;
      console.info(
        `chaos SIGSTOP (only executor): lost ${lostAtMs - stoppedAtMs} ms after SIGSTOP; run ${wallMs} ms`,
      );
      expect(code, run.stderr()).toBe(3);
      expect(run.stderr()).toMatch(/queries failed/);
      const written = await records(out);
      expectOneRecordPerQuery(
        written,
        CHAIN_QUERIES.map((query) => query.id),
      );
      const failed = written.filter((record) => !record.ok);
      console.info(`chaos SIGSTOP (only executor): ${failed.length} of ${written.length} queries failed`);
      expect(failed.length).toBeGreaterThan(0);
      for (const record of failed)
        expect(record.error!.message).toMatch(/every executor is lost.*stopped answering/);
      for (const record of written.filter((entry) => entry.ok))
        expect(record.outputs).toEqual(reference.get(record.id));
    },
    RUN_BOUND_MS,
  );

  it(
    "an executor SIGKILLed mid-batch: its calls move to the other, every query ok once",
    async () => {
      const first = await startExecutor("0.05");
      const second = await startExecutor("0.05");
      const out = join(directory, "sigkill.jsonl");
      const run = spawnHalo(chainRun(files, [first.address, second.address], out));
      await run.stderrMatch(/48 queries, strategy/);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const killedAtMs = Date.now();
      second.child.kill("SIGKILL");
      const lostAtMs = await run.stderrMatch(/executor worker-1 \(.*\) lost/);
      const { code, wallMs } = await run.exited;
      console.info(`chaos SIGKILL: lost ${lostAtMs - killedAtMs} ms after SIGKILL; run ${wallMs} ms`);
      expect(code, run.stderr()).toBe(0);
      const written = await records(out);
      expectOneRecordPerQuery(
        written,
        CHAIN_QUERIES.map((query) => query.id),
      );
      for (const record of written) expect(record.outputs).toEqual(reference.get(record.id));
    },
    RUN_BOUND_MS,
  );

  it(
    "halo run SIGTERMed exits 143; --resume completes it with the same answers",
    async () => {
      const executor = await startExecutor("0.05");
      const out = join(directory, "sigterm.jsonl");
      const run = spawnHalo(chainRun(files, [executor.address], out));
      await run.stderrMatch(/48 queries, strategy/);
      await new Promise((resolve) => setTimeout(resolve, 500));
      run.child.kill("SIGTERM");
      const { code } = await run.exited;
      expect(code, run.stderr()).toBe(143);
      expect(run.stderr()).toMatch(/rerun with --resume/);
      const again = await runHalo(chainRun(files, [executor.address], out));
      expect(again.code, "an existing --out without --resume is refused").toBe(2);
      expect(again.stderr).toMatch(/already exists: --resume to complete it, --overwrite to replace it/);
      const resumed = await runHalo(chainRun(files, [executor.address], out, "--resume"));
      expect(resumed.code, resumed.stderr).toBe(0);
      const written = await records(out);
      expectOneRecordPerQuery(
        written,
        CHAIN_QUERIES.map((query) => query.id),
      );
      for (const record of written) expect(record.outputs).toEqual(reference.get(record.id));
    },
    RUN_BOUND_MS,
  );

  it(
    "one query too long for any worker fails alone with prompt-too-long; the rest run",
    async () => {
      const executor = await startExecutor("0.01");
      const queries = join(directory, "oversized-queries.jsonl");
      const oversized = { id: "huge", topic: "word ".repeat(200_000) };
      await writeFile(
        queries,
        [...CHAIN_QUERIES.slice(0, 6), oversized].map((query) => JSON.stringify(query)).join("\n"),
      );
      const out = join(directory, "oversized.jsonl");
      const result = await runHalo(
        chainRun({ ...files, queries }, [executor.address], out, "--strategy", "greedy"),
      );
      expect(result.code, result.stderr).toBe(3);
      const written = await records(out);
      expectOneRecordPerQuery(written, [...CHAIN_QUERIES.slice(0, 6).map((query) => query.id), "huge"]);
      const huge = written.find((record) => record.id === "huge")!;
      expect(huge).toMatchObject({ ok: false, error: { operator: "draft" } });
      expect(huge.error!.message).toMatch(/^prompt-too-long: /);
      for (const record of written.filter((entry) => entry.id !== "huge")) {
        expect(record.ok).toBe(true);
        expect(record.outputs).toEqual(reference.get(record.id));
      }
    },
    RUN_BOUND_MS,
  );
});

describe("chaos: HTTP tools", () => {
  let server: Server;
  let port: number;
  let healthy = true;
  const topics = ["good-1", "broken-1", "good-2", "hang-1", "good-3", "close-1", "good-4"];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const topic = new URL(request.url ?? "/", "http://localhost").searchParams.get("topic") ?? "";
      if (!healthy && topic.startsWith("broken")) {
        response
          .writeHead(500, { "content-type": "application/json" })
          .end('{"error":"report store is down"}');
      } else if (!healthy && topic.startsWith("hang")) {
        // Never answers; the socket is closed when the caller gives up.
      } else if (!healthy && topic.startsWith("close")) {
        request.socket.destroy();
      } else {
        response
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ topic, length: topic.length }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it(
    "HTTP 500, a hang and a dropped connection fail only their queries; --resume --retry-failed heals them",
    async () => {
      const workflow = join(directory, "reports.yaml");
      await writeFile(
        workflow,
        `
graph:
  name: reports
  nodes:
    - { id: question, type: input, outputs: [topic] }
    - { id: report, type: http, url: "http://127.0.0.1:${port}/report", params: { topic: "{{ topic }}" }, timeout_ms: 500, inputs: [topic], outputs: [report] }
    - { id: summary, type: inference, model: Qwen/Qwen3-14B, max_tokens: 16, system_prompt: Summarize the report., inputs: [topic, report], outputs: [summary] }
  edges:
    - { from: question, to: report }
    - { from: report, to: summary, mapping: { topic: "{{ topic }}", report: "{{ report }}" } }
`,
      );
      const queries = join(directory, "reports.jsonl");
      await writeFile(
        queries,
        topics.map((topic, index) => JSON.stringify({ id: `r${index}`, topic })).join("\n"),
      );
      const executor = await startExecutor("0.001");
      const args = (out: string, ...extra: string[]) =>
        chainRun({ workflow, queries }, [executor.address], out, ...extra);
      const ids = topics.map((_, index) => `r${index}`);

      healthy = true;
      const clean = await runHalo(args(join(directory, "reports-clean.jsonl")));
      expect(clean.code, clean.stderr).toBe(0);
      const reference = new Map(
        (await records(join(directory, "reports-clean.jsonl"))).map((r) => [r.id, r.outputs]),
      );

      healthy = false;
      const out = join(directory, "reports.jsonl.out.jsonl");
      const faulty = await runHalo(args(out));
      console.info(`chaos HTTP 500/hang/close: run ${faulty.wallMs} ms`);
      expect(faulty.code, faulty.stderr).toBe(3);
      expect(faulty.wallMs).toBeLessThan(RUN_BOUND_MS);
      expect(faulty.stderr).toMatch(/3 of 7 queries failed/);
      const written = await records(out);
      expectOneRecordPerQuery(written, ids);
      const byTopic = new Map(written.map((record) => [topics[Number(record.id.slice(1))]!, record]));
      expect(byTopic.get("broken-1")!.error!.message).toMatch(/500/);
      expect(byTopic.get("hang-1")!.error!.message).toMatch(/timed out|timeout/i);
      expect(byTopic.get("close-1")!.error!.message).toMatch(/socket|closed|reset|network|terminated/i);
      for (const topic of ["broken-1", "hang-1", "close-1"])
        expect(byTopic.get(topic)).toMatchObject({ ok: false, error: { operator: "report" } });
      for (const record of written.filter((entry) => entry.ok))
        expect(record.outputs).toEqual(reference.get(record.id));
      expect(written.filter((record) => record.ok)).toHaveLength(4);

      // Plain --resume keeps the failed records and says so; --retry-failed reruns them once the API is back.
      const kept = await runHalo(args(out, "--resume"));
      expect(kept.code).toBe(3);
      expect(kept.stderr).toMatch(/kept 3 failed record/);
      healthy = true;
      const retried = await runHalo(args(out, "--resume", "--retry-failed"));
      expect(retried.code, retried.stderr).toBe(0);
      const healed = await records(out);
      expectOneRecordPerQuery(healed, ids);
      for (const record of healed) {
        expect(record.ok).toBe(true);
        expect(record.outputs).toEqual(reference.get(record.id));
      }
    },
    RUN_BOUND_MS,
  );
});
