/**
 * The `langgraph` peer's batch in a child process of its own, so that
 * LangGraph's CPU (supersteps, channel updates, callbacks, the OpenAI HTTP
 * client) runs on its own event loop, neither slowed by nor slowing the
 * harness's — as a LangGraph user's application runs apart from the servers
 * it calls. The parent sends one job (structured clone over the IPC channel)
 * and gets the query records, counters and the child's own CPU figures back.
 */
import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CompiledWorkflow, QueryContext } from "@halo/ir";
import type { LanggraphCounters, LanggraphQueryRecord } from "./langgraph-translator.js";

/** What the peer process runs: one `graph.batch` over the queries. */
export interface LanggraphPeerJob {
  /** The workflow as it runs (HTTP latencies in wall time). */
  readonly workflow: CompiledWorkflow;
  readonly queries: readonly QueryContext[];
  /** Per model, the OpenAI base URLs (`http://…/v1`) of the executors serving it. */
  readonly endpoints: ReadonlyMap<string, readonly string[]>;
  /** Per OpenAI base URL, the executor's gRPC address and the models to load there as the run starts. */
  readonly loads: readonly {
    readonly baseUrl: string;
    readonly address: string;
    readonly models: readonly string[];
  }[];
  /** The SQL target: a DuckDB file or a PostgreSQL URL. */
  readonly sqlTarget: string;
  readonly sqlConnections: number;
  readonly maxConcurrency: number;
}

/** What the peer process reports (times on its own clock, from the batch's start). */
export interface LanggraphPeerOutput {
  /** One per query, in the order of `job.queries`. */
  readonly records: readonly LanggraphQueryRecord[];
  readonly counters: LanggraphCounters;
  /** Requests sent to each OpenAI base URL. */
  readonly requestsTo: Readonly<Record<string, number>>;
  readonly makespanMs: number;
  /** The peer process's own CPU during the batch. */
  readonly runtime: {
    readonly mainThreadCpuMs?: number;
    readonly eventLoopBusyMs: number;
    readonly cpuMs: number;
    readonly peakRssBytes: number;
  };
}

/** Messages of the peer process to its parent. */
export type LanggraphPeerMessage =
  | { readonly type: "result"; readonly output: LanggraphPeerOutput }
  | { readonly type: "error"; readonly message: string };

/** The compiled entry point (the harness runs from `dist/`; its sources are TypeScript). */
function mainScript(): string {
  const compiled = fileURLToPath(new URL("./langgraph-peer-main.js", import.meta.url));
  if (existsSync(compiled)) return compiled;
  return fileURLToPath(new URL("../dist/harness/langgraph-peer-main.js", import.meta.url));
}

/** Runs `job` in a new peer process and returns its output; the process is gone when this settles. */
export async function runLanggraphPeer(job: LanggraphPeerJob): Promise<LanggraphPeerOutput> {
  const child = fork(mainScript(), [], {
    serialization: "advanced",
    stdio: ["ignore", "ignore", "pipe", "ipc"],
    // The parent's loader hooks (vitest's) do not apply to the compiled child.
    execArgv: [],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  try {
    return await new Promise<LanggraphPeerOutput>((resolve, reject) => {
      child.once("message", (message: LanggraphPeerMessage) => {
        if (message.type === "result") resolve(message.output);
        else reject(new Error(`langgraph peer: ${message.message}`));
      });
      child.once("exit", (code, signal) => {
        reject(
          new Error(
            `langgraph peer: the process exited before reporting (${signal ?? `code ${code}`}): ${stderr.trim()}`,
          ),
        );
      });
      child.once("error", reject);
      child.send(job);
    });
  } finally {
    await stopChild(child);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
