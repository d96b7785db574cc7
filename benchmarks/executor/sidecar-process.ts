import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createExecutorClient, type ExecutorClient } from "@halo/protocol";
import { type SidecarOptions, sidecarArguments } from "./sidecar-arguments.js";

/** An executor sidecar running in its own process, and a gRPC client of it. */
export interface SidecarProcess {
  readonly address: string;
  readonly pid: number;
  readonly client: ExecutorClient;
  /** CPU time the sidecar process has used so far (all its threads), in ms. */
  cpuMs(): Promise<number>;
  /** Closes the client, asks the sidecar to drain and waits for it to exit. */
  stop(): Promise<void>;
}

const here = fileURLToPath(import.meta.url);
// Run from source (tests), the compiled entry is in dist/; compiled, it sits beside this file.
const sidecarEntry = here.endsWith(".ts")
  ? join(dirname(here), "..", "dist", "executor", "sidecar-main.js")
  : join(dirname(here), "sidecar-main.js");

/** Starts a sidecar process (the compiled `sidecar-main.js` beside this file) and connects to it. */
export async function startSidecarProcess(options: SidecarOptions): Promise<SidecarProcess> {
  const child: ChildProcess = spawn(process.execPath, [sidecarEntry, ...sidecarArguments(options)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`the sidecar process exited with code ${code} before it was ready`);
  });
  const replies: ((line: string) => void)[] = [];
  let onReady: ((line: string) => void) | undefined;
  const ready = new Promise<{ address: string; pid: number }>((resolve, reject) => {
    onReady = (line) => {
      try {
        resolve(JSON.parse(line) as { address: string; pid: number });
      } catch (error) {
        reject(error);
      }
    };
  });
  // The first line announces the address; each later line answers one "cpu" request, in order.
  lines.on("line", (line) => {
    if (onReady) {
      const first = onReady;
      onReady = undefined;
      first(line);
      return;
    }
    replies.shift()?.(line);
  });
  const started = await Promise.race([ready, exited]);
  exited.catch(() => undefined);
  // A large HTTP/2 receive window: KV exports are megabytes, and the default 64 KiB window
  // costs a round trip per chunk.
  const client = createExecutorClient(started.address, {
    channelOptions: { "grpc-node.flow_control_window": 16 * 1024 * 1024 },
  });
  await client.waitForReady(30_000);
  return {
    address: started.address,
    pid: started.pid,
    client,
    cpuMs() {
      return new Promise<number>((resolve, reject) => {
        replies.push((line) => {
          try {
            resolve((JSON.parse(line) as { cpuMs: number }).cpuMs);
          } catch (error) {
            reject(error);
          }
        });
        child.stdin!.write("cpu\n");
      });
    },
    async stop() {
      client.close();
      if (child.exitCode !== null) return;
      const gone = once(child, "exit");
      child.stdin?.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
