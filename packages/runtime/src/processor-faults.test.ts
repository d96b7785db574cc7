import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { HttpTool } from "@halo/tool-http";
import { createSqlTool } from "@halo/tool-sql";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Processor } from "./processor.js";
import { MemoryResultSink } from "./result-sink.js";
import type { RuntimeEvent } from "./runtime-events.js";
import {
  compileWorkflow,
  DIAMOND_YAML,
  diamondQueries,
  planFor,
  type SidecarProcess,
  type SimExecutors,
  startSidecarProcess,
  startSimExecutors,
} from "./test-fixtures.js";

const sql = createSqlTool(":memory:");
const processes: SidecarProcess[] = [];

afterEach(() => {
  for (const sidecar of processes.splice(0))
    if (sidecar.child.exitCode === null) sidecar.child.kill("SIGKILL");
});

afterAll(async () => {
  await sql.close();
});

describe("a lost executor", () => {
  it("SIGKILLed mid-batch: its work moves to the other executor, every query finishes exactly once", async () => {
    const workflow = compileWorkflow(DIAMOND_YAML);
    const queries = diamondQueries(40);
    const http = new HttpTool({ allowHosts: [] });
    try {
      // Reference: an uninterrupted run on two sidecars.
      const reference = await runOnProcesses(workflow, queries, http, undefined);
      expect(reference.summary.queries.ok).toBe(40);
      // Kill the worker the moment it is handed its first micro-batch.
      const faulty = await runOnProcesses(workflow, queries, http, "worker-1");
      expect(faulty.summary.executorsLost).toEqual(["worker-1"]);
      expect(faulty.records).toHaveLength(40);
      expect(new Set(faulty.records.map((record) => record.id)).size).toBe(40);
      expect(faulty.records.every((record) => record.ok)).toBe(true);
      const lost = faulty.events.find((event) => event.type === "executor-lost");
      expect(lost).toMatchObject({ worker: "worker-1" });
      expect((lost as Extract<RuntimeEvent, { type: "executor-lost" }>).requeuedCalls).toBeGreaterThan(0);
      const byId = new Map(reference.records.map((record) => [record.id, record.outputs]));
      for (const record of faulty.records) expect(record.outputs).toEqual(byId.get(record.id));
      // Every LLM operator that ran after the loss ran on the survivor.
      const lostAt = lost!.atMs;
      for (const record of faulty.records) {
        for (const timing of Object.values(record.operators)) {
          if (timing.worker && timing.startMs > lostAt) expect(timing.worker).toBe("worker-0");
        }
      }
    } finally {
      await http.close();
    }
  });
});

describe("a frozen executor", () => {
  it("SIGSTOPped mid-batch: declared lost by the health probe, its calls requeued, every query ok once", async () => {
    const workflow = compileWorkflow(DIAMOND_YAML);
    const queries = diamondQueries(40);
    const http = new HttpTool({ allowHosts: [] });
    try {
      const reference = await runOnProcesses(workflow, queries, http, undefined);
      // A frozen process keeps its sockets open: only a probe that goes unanswered reveals it.
      const frozen = await runOnProcesses(workflow, queries, http, "worker-1", "SIGSTOP", 4_000);
      frozen.sidecars[1]!.child.kill("SIGCONT");
      expect(frozen.summary.executorsLost).toEqual(["worker-1"]);
      const lost = frozen.events.find((event) => event.type === "executor-lost") as
        | Extract<RuntimeEvent, { type: "executor-lost" }>
        | undefined;
      expect(lost?.reason).toMatch(/stopped answering/);
      expect(lost!.requeuedCalls).toBeGreaterThan(0);
      expect(frozen.records).toHaveLength(40);
      expect(new Set(frozen.records.map((record) => record.id)).size).toBe(40);
      expect(frozen.records.every((record) => record.ok)).toBe(true);
      const byId = new Map(reference.records.map((record) => [record.id, record.outputs]));
      for (const record of frozen.records) expect(record.outputs).toEqual(byId.get(record.id));
    } finally {
      await http.close();
    }
  }, 300_000);
});

describe("executor failures without failover", () => {
  it("losing the only executor fails every query with one record each", async () => {
    const workflow = compileWorkflow(DIAMOND_YAML);
    const queries = diamondQueries(10);
    const http = new HttpTool({ allowHosts: [] });
    const sidecar = await startSidecarProcess();
    processes.push(sidecar);
    try {
      const plan = await planFor(workflow, queries, [sidecar.address]);
      let killed = false;
      const processor = new Processor({
        workflow,
        plan,
        executors: [sidecar.address],
        tools: { sql, http },
        options: {
          healthTimeoutMs: 500,
          onEvent: (event) => {
            if (!killed && event.type === "batch-dispatched") {
              killed = true;
              sidecar.child.kill("SIGKILL");
            }
          },
        },
      });
      const sink = new MemoryResultSink();
      const summary = await processor.run(queries, { sink });
      expect(summary.queries).toMatchObject({ ok: 0, failed: 10, unfinished: 0 });
      expect(new Set(sink.records.map((record) => record.id)).size).toBe(10);
      for (const record of sink.records) expect(record.error?.message).toMatch(/every executor is lost/);
    } finally {
      await http.close();
    }
  });

  it("a Generate call past its deadline (derived from the plan) is retried with backoff, then fails its queries", async () => {
    const executors = await startSimExecutors(1, { timeScale: 0.05 });
    const chain = compileWorkflow(`
graph:
  name: slow
  nodes:
    - { id: question, type: input, outputs: [text] }
    - { id: answer, type: inference, model: Qwen/Qwen3-32B, max_tokens: 64, system_prompt: Answer., inputs: [text], outputs: [answer] }
  edges:
    - { from: question, to: answer }
`);
    const queries = [{ id: "q1", context: { text: "a question" } }];
    try {
      const plan = await planFor(chain, queries, executors.addresses);
      const events: RuntimeEvent[] = [];
      const processor = new Processor({
        workflow: chain,
        plan,
        executors: executors.addresses,
        options: {
          retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 20 },
          // No Generate call can finish within 1 ms (the simulated engine's answers may be as short as
          // 3 tokens, so a deadline near the decode time would make the test depend on the pseudo-text).
          generateDeadline: { factor: 0, floorMs: 1 },
          onEvent: (event) => events.push(event),
        },
      });
      const sink = new MemoryResultSink();
      const summary = await processor.run(queries, { sink });
      expect(summary.queries.failed).toBe(1);
      expect(sink.records[0]!.error).toMatchObject({ operator: "answer" });
      expect(sink.records[0]!.error!.message).toMatch(/DEADLINE_EXCEEDED/);
      expect(events.filter((event) => event.type === "retry" && event.scope === "generate")).toHaveLength(1);
      expect(summary.executorsLost).toEqual([]);
    } finally {
      await executors.close();
    }
  });
});

describe("a model an executor cannot load", () => {
  const widget = compileWorkflow(`
graph:
  name: widgets
  nodes:
    - { id: question, type: input, outputs: [text] }
    - { id: answer, type: inference, model: acme/Widget-7B, max_tokens: 8, system_prompt: Answer., inputs: [text], outputs: [answer] }
  edges:
    - { from: question, to: answer }
`);
  const queries = Array.from({ length: 8 }, (_, index) => ({
    id: `q${index}`,
    context: { text: `question ${index}` },
  }));
  const served = { "acme/Widget-7B": "acme/Widget-7B" };

  for (const strategy of ["dp", "naive"]) {
    it(`${strategy}: moves to the executor that can serve it; fails every query when none can`, async () => {
      const mixed = await startSimExecutors(2, { models: [undefined, served] });
      const none = await startSimExecutors(2);
      try {
        const events: RuntimeEvent[] = [];
        const run = async (executors: SimExecutors) => {
          const plan = await planFor(widget, queries, executors.addresses, strategy);
          const processor = new Processor({
            workflow: widget,
            plan,
            executors: executors.addresses,
            options: { onEvent: (event) => events.push(event) },
          });
          const sink = new MemoryResultSink();
          return { summary: await processor.run(queries, { sink }), records: sink.records };
        };
        const ok = await run(mixed);
        expect(ok.summary.queries.ok).toBe(8);
        for (const record of ok.records) expect(record.operators.answer?.worker).toBe("worker-1");
        const failed = await run(none);
        expect(failed.summary.queries).toMatchObject({ ok: 0, failed: 8 });
        for (const record of failed.records) {
          expect(record.error).toMatchObject({ operator: "answer" });
          expect(record.error!.message).toMatch(/cannot load acme\/Widget-7B/);
        }
        if (strategy === "dp") expect(events.some((event) => event.type === "model-unavailable")).toBe(true);
      } finally {
        await mixed.close();
        await none.close();
      }
    });
  }
});

async function runOnProcesses(
  workflow: ReturnType<typeof compileWorkflow>,
  queries: ReturnType<typeof diamondQueries>,
  http: HttpTool,
  victim: string | undefined,
  fault: "SIGKILL" | "SIGSTOP" = "SIGKILL",
  executorTimeoutMs?: number,
) {
  const sidecars = [await startSidecarProcess(), await startSidecarProcess()];
  processes.push(...sidecars);
  const addresses = sidecars.map((sidecar) => sidecar.address);
  const plan = await planFor(workflow, queries, addresses);
  const events: RuntimeEvent[] = [];
  let killed = false;
  const processor = new Processor({
    workflow,
    plan,
    executors: addresses,
    tools: { sql, http },
    options: {
      healthTimeoutMs: 1_000,
      ...(executorTimeoutMs === undefined ? {} : { executorTimeoutMs }),
      onEvent: (event) => {
        events.push(event);
        if (!killed && event.type === "batch-dispatched" && event.worker === victim) {
          killed = true;
          sidecars[Number(victim!.slice("worker-".length))]!.child.kill(fault);
        }
      },
    },
  });
  const sink = new MemoryResultSink();
  const summary = await processor.run(queries, { sink });
  return { summary, records: sink.records, events, sidecars };
}

/** A workflow whose HTTP report decides each query's fate: 500, a timeout, a 503 that heals, or a good answer. */
const REPORT_YAML = (port: number) => `
graph:
  name: reports
  nodes:
    - { id: question, type: input, outputs: [topic] }
    - id: report
      type: http
      url: http://127.0.0.1:${port}/report
      params: { topic: "{{ topic }}" }
      timeout_ms: 300
      inputs: [topic]
      outputs: [report]
    - id: summary
      type: inference
      model: Qwen/Qwen3-14B
      max_tokens: 8
      system_prompt: Summarize the report.
      inputs: [topic, report]
      outputs: [summary]
  edges:
    - { from: question, to: report }
    - { from: report, to: summary, mapping: { topic: "{{ topic }}", report: "{{ report }}" } }
`;

describe("failing tools", () => {
  let server: Server;
  let port: number;
  let executors: SimExecutors;
  const seen = new Map<string, number>();

  beforeAll(async () => {
    executors = await startSimExecutors(1);
    server = createServer((request, response) => {
      const topic = new URL(request.url ?? "/", "http://localhost").searchParams.get("topic") ?? "";
      const count = (seen.get(topic) ?? 0) + 1;
      seen.set(topic, count);
      if (topic.startsWith("broken")) {
        response
          .writeHead(500, { "content-type": "application/json" })
          .end('{"error":"report store is down"}');
      } else if (topic.startsWith("slow")) {
        // Answers after the caller's 300 ms timeout (the timer is cleared when the socket closes).
        const timer = setTimeout(() => response.end("{}"), 2_000);
        response.on("close", () => clearTimeout(timer));
      } else if (topic.startsWith("flaky") && count === 1) {
        response.writeHead(503).end("try again");
      } else {
        response
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ topic, rows: count }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await executors.close();
  });

  it("fails only the queries whose HTTP call answered 500 or timed out; a 503 is retried", async () => {
    const workflow = compileWorkflow(REPORT_YAML(port));
    const topics = ["good-1", "broken-1", "good-2", "slow-1", "flaky-1", "good-3"];
    const queries = topics.map((topic, index) => ({ id: `q${index}`, context: { topic } }));
    const plan = await planFor(workflow, queries, executors.addresses);
    const http = new HttpTool({ allowHosts: [`127.0.0.1:${port}`] });
    const events: RuntimeEvent[] = [];
    try {
      const processor = new Processor({
        workflow,
        plan,
        executors: executors.addresses,
        tools: { http },
        options: {
          retry: { initialBackoffMs: 20, maxBackoffMs: 50 },
          onEvent: (event) => events.push(event),
        },
      });
      const sink = new MemoryResultSink();
      const summary = await processor.run(queries, { sink });
      expect(summary.queries).toMatchObject({ ok: 4, failed: 2 });
      const byTopic = new Map(sink.records.map((record) => [topics[Number(record.id.slice(1))]!, record]));
      expect(byTopic.get("broken-1")).toMatchObject({
        ok: false,
        outputs: {},
        error: { operator: "report" },
      });
      expect(byTopic.get("broken-1")!.error!.message).toMatch(/500/);
      expect(byTopic.get("slow-1")).toMatchObject({ ok: false, error: { operator: "report" } });
      expect(byTopic.get("slow-1")!.error!.message).toMatch(/timed out|timeout/i);
      for (const topic of ["good-1", "good-2", "good-3", "flaky-1"]) {
        expect(byTopic.get(topic)).toMatchObject({ ok: true });
        expect(Object.keys(byTopic.get(topic)!.outputs)).toEqual(["summary"]);
      }
      // A 500 is an answer (not retried); a timeout and a 503 are retried.
      expect(seen.get("broken-1")).toBe(1);
      expect(seen.get("slow-1")).toBe(3);
      expect(seen.get("flaky-1")).toBe(2);
      const retried = events.filter((event) => event.type === "retry").map((event) => event.scope);
      expect(retried).toContain("http");
    } finally {
      await http.close();
    }
  });
});
