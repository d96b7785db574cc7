/**
 * Entry point of the `langgraph` peer process (see `langgraph-peer-process.ts`):
 * receives one job over the IPC channel, translates the workflow into a
 * LangGraph.js graph over ChatOpenAI and the SQL/HTTP clients, runs
 * `graph.batch` with the job's `maxConcurrency`, and sends the query records,
 * counters and its own CPU figures back. It exits when done, and when its
 * parent goes away (the IPC channel closes).
 */
import { performance } from "node:perf_hooks";
import { createExecutorClient } from "@halo/protocol";
import {
  ChatClient,
  DuckDbPeerClient,
  type PeerSqlClient,
  PostgresPeerClient,
  peerCalls,
} from "./langgraph-clients.js";
import type {
  LanggraphPeerJob,
  LanggraphPeerMessage,
  LanggraphPeerOutput,
} from "./langgraph-peer-process.js";
import { translateWorkflow } from "./langgraph-translator.js";
import { mainThreadCpuMs } from "./main-thread-cpu.js";
import { RssSampler } from "./run-system.js";

async function run(job: LanggraphPeerJob): Promise<LanggraphPeerOutput> {
  const { workflow, queries } = job;
  const sql: PeerSqlClient = /^postgres(ql)?:\/\//.test(job.sqlTarget)
    ? new PostgresPeerClient(job.sqlTarget, job.sqlConnections)
    : new DuckDbPeerClient(job.sqlTarget, job.sqlConnections);
  const runStartMs = performance.now();
  const nowMs = () => performance.now() - runStartMs;
  // The servers load their models as the run starts (naive's executors do the same); calls wait for them.
  const ready = new Map<string, Promise<void>>();
  for (const { baseUrl, address, models } of job.loads) {
    const load = (async () => {
      const client = createExecutorClient(address);
      try {
        for (const model of models) await client.loadModel(model);
      } finally {
        client.close();
      }
    })();
    // A failed load fails the requests that wait for it; nothing else awaits the promise.
    load.catch(() => undefined);
    ready.set(baseUrl, load);
  }
  const chat = new ChatClient({ endpoints: job.endpoints, ready });
  const translated = translateWorkflow(workflow, peerCalls(chat, sql), { nowMs });

  const rss = new RssSampler();
  const cpuBefore = process.cpuUsage();
  const mainThreadBefore = mainThreadCpuMs();
  const loopBefore = performance.eventLoopUtilization();
  let results: unknown[];
  try {
    results = await translated.graph.batch(
      translated.inputsOf(queries),
      { maxConcurrency: job.maxConcurrency, recursionLimit: workflow.operators.length + 10 },
      { returnExceptions: true },
    );
  } finally {
    await sql.close();
  }
  const makespanMs = nowMs();
  const loop = performance.eventLoopUtilization(loopBefore);
  const mainThreadAfter = mainThreadCpuMs();
  const cpu = process.cpuUsage(cpuBefore);
  const peakRssBytes = rss.stop();
  const requestsTo: Record<string, number> = {};
  for (const { baseUrl } of job.loads) requestsTo[baseUrl] = chat.requestsTo(baseUrl);
  return {
    records: queries.map((query, index) => translated.recordOf(query, results[index])),
    counters: { ...translated.counters },
    requestsTo,
    makespanMs,
    runtime: {
      ...(mainThreadBefore === undefined || mainThreadAfter === undefined
        ? {}
        : { mainThreadCpuMs: mainThreadAfter - mainThreadBefore }),
      eventLoopBusyMs: loop.active,
      cpuMs: (cpu.user + cpu.system) / 1000,
      peakRssBytes,
    },
  };
}

function reply(message: LanggraphPeerMessage): void {
  process.send!(message, () => process.exit(0));
}

if (!process.send) {
  process.stderr.write("langgraph peer: start it with an IPC channel (see langgraph-peer-process.ts)\n");
  process.exit(2);
}
// The parent is gone: nothing would read the result.
process.on("disconnect", () => process.exit(1));
process.once("message", (job: LanggraphPeerJob) => {
  run(job).then(
    (output) => reply({ type: "result", output }),
    (error: unknown) =>
      reply({
        type: "error",
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }),
  );
});
